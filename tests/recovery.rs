//! The recovery pipeline end to end on the mock GuC, checked from both sides: the GuC's final
//! state, and the VF's own view (the GGTT oracle: where the VF's GGTT users ended up, moved
//! exactly once per change of base).
//!
//! The regression tests named after a bug reproduce what main 2040d49 got wrong (see the
//! CHANGELOG): a deferred pass that lost a GGTT shift, a per-GT shift that moved a tile's shared
//! GGTT twice, one GT's interrupt deferring another GT's recovery, a VF_MIGRATED reply that left
//! the GGTT "valid", GGTT waiters that slept through a wedge.
#![cfg(feature = "mock")]

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use common::{Recorder, Rig, RigBuilder};
use xe_sriov_vf::coordinator::{GtId, GtSet, Signal, StartPolicy};
use xe_sriov_vf::device::{Clock, Instant};
use xe_sriov_vf::gt::{GpuKind, GraphicsIp, Gt, GtInfo, VfError};
use xe_sriov_vf::mailbox::MailboxConfig;
use xe_sriov_vf::mock::{Fault, GgttOracle, MockGuc, OracleError, Provisioning, Trigger, VfState};
use xe_sriov_vf::recovery::{
    BootstrapError, GgttWait, GtAccessError, HoldPoint, HookError, PassOutcome, PassReport,
    RecoveryConfig, RecoveryError, Step, Unsupported, Vf,
};
use xe_sriov_vf::tile::{GgttMove, TileId};
use xe_sriov_vf::wire::action::code;
use xe_sriov_vf::wire::regs::{GtKind, GucIntr};
use xe_sriov_vf::wire::{GucError, Version};
use xe_sriov_vf::workqueue::TestQueue;

const BASE: u64 = 0x0020_0000;
const B: u64 = BASE + 0x10_0000;
const C: u64 = BASE + 0x40_0000;
const MARKERS: Version = Version::new(1, 27);
const LEGACY: Version = Version::new(1, 26);

fn rig_with<const N: usize>(
    layout: [(TileId, GtKind); N],
    abi: Version,
    config: RecoveryConfig,
) -> Rig<N> {
    // These rigs deliver SW_INT_0 from the register vector (tests/memirq.rs has the memirq path).
    RigBuilder::new(layout)
        .abi(abi)
        .config(config)
        .mailbox(MailboxConfig::default())
        .mmio()
}

/// One tile: GT0 primary, GT1 media, sharing one GGTT.
fn tile_pair(abi: Version, config: RecoveryConfig) -> Rig<2> {
    rig_with(
        [(TileId(0), GtKind::Primary), (TileId(0), GtKind::Media)],
        abi,
        config,
    )
}

fn single(abi: Version) -> Rig<1> {
    rig_with(
        [(TileId(0), GtKind::Primary)],
        abi,
        RecoveryConfig::default(),
    )
}

/// What these tests add to the common rig.
impl<const N: usize> Rig<N> {
    fn on_hold(&self, f: impl FnMut(HoldPoint, GtId) + Send + 'static) {
        self.hooks().on_hold(f);
    }

    /// The VF settled correctly: every GuC running, nothing pending, every GGTT valid, and the
    /// VF's GGTT users on every tile exactly at the GuC's current base.
    fn assert_settled(&self, what: &str) {
        let vf = self.vf;
        assert!(!vf.is_wedged(), "{what}: wedged");
        for (n, guc) in self.gucs.iter().enumerate() {
            let gt = GtId(n as u8);
            assert_eq!(guc.state(), VfState::Running, "{what}: gt{n} state");
            assert!(!vf.recovery_pending(gt), "{what}: gt{n} still pending");
            assert!(vf.ggtt_valid(gt), "{what}: gt{n} GGTT not valid");
        }
        for t in 0..vf.topology().num_tiles() {
            let tile = TileId(t as u8);
            let base = self.guc_base(tile);
            assert_eq!(
                self.hooks().oracle.check(tile, base),
                Ok(()),
                "{what}: tile {t}: {:?}",
                self.hooks().calls()
            );
            let ggtt = vf.tile_ggtt(tile).unwrap();
            assert_eq!(
                (ggtt.applied, ggtt.reported),
                (base, base),
                "{what}: tile {t}"
            );
            assert_eq!(
                self.hooks().oracle.total_shift(tile),
                base as i64 - self.tile_base(BASE, tile) as i64,
                "{what}: tile {t}: the moves add up to the GuC's total move"
            );
        }
        assert_eq!(self.hooks().pm.load(Ordering::SeqCst), 0, "{what}: PM");
        assert!(vf.coordinator().is_idle(), "{what}");
    }

    fn ggtt_calls(&self) -> Vec<String> {
        self.hooks()
            .calls()
            .into_iter()
            .filter(|c| c.starts_with("ggtt"))
            .collect()
    }
}

const HOLD_POINTS: [HoldPoint; 4] = [
    HoldPoint::BeforeStart,
    HoldPoint::BeforeFixups,
    HoldPoint::BeforeRearm,
    HoldPoint::BeforeDone,
];

#[test]
fn one_migration_moves_the_shared_ggtt_once_with_the_per_gt_sequence() {
    // One GT after the other (the hook order below); tests/split_phase.rs has the same pass in
    // split phase, the default.
    let rig = tile_pair(MARKERS, RecoveryConfig::DEFAULT.with_split_phase(false));
    rig.migrate(B);
    assert!(
        rig.vf.ggtt_valid(GtId(0)),
        "the VF cannot know before the interrupt"
    );
    rig.deliver();
    assert!(!rig.vf.ggtt_valid(GtId(0)) && !rig.vf.ggtt_valid(GtId(1)));
    assert!(rig.vf.recovery_pending(GtId(0)) && rig.vf.recovery_pending(GtId(1)));
    let outcomes = rig.drain();
    assert_eq!(outcomes, vec![PassOutcome::Recovered(GtSet::all(2))]);
    rig.assert_settled("one migration");
    assert_eq!(
        rig.hooks().calls(),
        [
            "shutdown 0",
            "ggtt tile0 0x200000 -> 0x300000",
            "gt_fixups 0",
            "rearm 0",
            "kickstart 0",
            "shutdown 1",
            "gt_fixups 1",
            "rearm 1",
            "kickstart 1",
        ]
    );
    assert_eq!(rig.hooks().oracle.moves(TileId(0)), 1);
    for guc in rig.gucs {
        assert_eq!(guc.last_migration_done_count(), 1);
    }
    let s = rig.vf.stats();
    assert_eq!(
        (
            s.migrations_signalled,
            s.recoveries,
            s.completed,
            s.ggtt_moves
        ),
        (2, 1, 1, 1)
    );
    assert_eq!(s.fixups_completed, 2);
}

/// Regression (2040d49): a tile's primary and media GT share ONE GGTT; the old per-GT
/// `fixups(gt, shift)` handed both GTs the same shift, so a driver that followed the docs moved
/// the GGTT twice.
#[test]
fn shared_ggtt_moved_once() {
    for base in [B, BASE + 0x2000_0000, BASE + 0x1000] {
        let rig = tile_pair(MARKERS, RecoveryConfig::default());
        rig.migrate(base);
        rig.drain();
        rig.assert_settled("shared GGTT");
        assert_eq!(rig.ggtt_calls().len(), 1, "{:?}", rig.hooks().calls());
        assert_eq!(rig.hooks().oracle.moves(TileId(0)), 1);
    }
}

/// The interrupt-context views (`try_gt_view`, `try_tile_ggtt`) read the copies the worker
/// published, as the waiting readers do: after a recovery, the GGTT where the GuC put it.
#[test]
fn try_views_read_the_published_copies() {
    let rig = tile_pair(MARKERS, RecoveryConfig::default());
    rig.migrate(B);
    rig.drain();
    rig.assert_settled("try views");
    for g in 0..2 {
        let view = rig.vf.try_gt_view(GtId(g)).unwrap();
        assert_eq!(Some(view), rig.vf.gt_view(GtId(g)));
        assert_eq!(view.config.map(|c| c.ggtt_start), Some(B));
    }
    let tile = rig.vf.try_tile_ggtt(TileId(0)).unwrap();
    assert_eq!(Some(tile), rig.vf.tile_ggtt(TileId(0)));
    assert_eq!((tile.applied, tile.reported), (B, B));
    assert_eq!(rig.vf.try_gt_view(GtId(2)), Err(GtAccessError::UnknownGt));
    assert_eq!(
        rig.vf.try_tile_ggtt(TileId(1)),
        Err(GtAccessError::UnknownTile)
    );
}

#[test]
fn a_migration_that_keeps_the_base_runs_gt_fixups_but_no_ggtt_fixup() {
    let rig = tile_pair(MARKERS, RecoveryConfig::default());
    rig.migrate(BASE);
    rig.drain();
    rig.assert_settled("same base");
    assert!(rig.ggtt_calls().is_empty());
    assert_eq!(rig.vf.fixups_completed(), 2);
}

/// Regression (2040d49): one ordinary migration of a 2-GT VF, GT0's SW_INT_0 first, GT1's
/// arriving while GT0 is at each step of its recovery. The old device-wide pass deferred GT0 and
/// lost its shift (fixups `(gt0, 0x0)`, `(gt1, 0x100000)`); GT1's interrupt must not touch GT0's
/// recovery at all. In split phase GT1 joins GT0's pass (the worker run its report queued then
/// finds nothing to begin); one GT after the other, it waits for the next pass.
#[test]
fn gt1_interrupt_at_each_of_gt0_steps_moves_the_ggtt_once() {
    for split in [true, false] {
        for point in HOLD_POINTS {
            let rig = tile_pair(MARKERS, RecoveryConfig::default().with_split_phase(split));
            rig.migrate(B);
            assert_eq!(rig.deliver_gt(0), Some(Signal::Queued));
            rig.on_hold(move |p, gt| {
                if p == point && gt == GtId(0) {
                    assert_eq!(rig.deliver_gt(1), Some(Signal::Queued));
                }
            });
            let outcomes = rig.run_queued();
            let what = format!("split {split}: GT1's interrupt at GT0's {point:?}: {outcomes:?}");
            let expected = if split {
                vec![
                    PassOutcome::Recovered(GtSet::all(2)),
                    PassOutcome::NotStarted,
                ]
            } else {
                vec![
                    PassOutcome::Recovered(GtSet::single(GtId(0))),
                    PassOutcome::Recovered(GtSet::single(GtId(1))),
                ]
            };
            assert_eq!(outcomes, expected, "{what}");
            rig.assert_settled(&what);
            assert_eq!(
                rig.ggtt_calls(),
                ["ggtt tile0 0x200000 -> 0x300000"],
                "{what}"
            );
            assert_eq!(rig.vf.stats().deferred, 0, "{what}");
        }
    }
}

/// Regression (2040d49): a duplicate SW_INT_0 that lands before RESFIX_START made the old pass
/// defer after storing the new base, and the next pass computed shift 0. Now the interrupt is
/// covered by the queued recovery (queued is cleared only after RESFIX_START): no second run.
#[test]
fn duplicate_sw_int_0_before_resfix_start_causes_no_second_run() {
    for abi in [MARKERS, LEGACY] {
        let rig = rig_with([(TileId(0), GtKind::Primary)], abi, {
            let mut c = RecoveryConfig::DEFAULT;
            c.legacy = true;
            c
        });
        rig.migrate(B);
        rig.deliver();
        rig.on_hold(move |p, _| {
            if p == HoldPoint::BeforeStart {
                assert_eq!(rig.vf.migrated(GtId(0)), Signal::AlreadyPending);
            }
        });
        let outcomes = rig.drain();
        assert_eq!(
            outcomes,
            vec![PassOutcome::Recovered(GtSet::single(GtId(0)))]
        );
        rig.assert_settled(&format!("duplicate before start, ABI {abi}"));
        assert_eq!(rig.ggtt_calls(), ["ggtt tile0 0x200000 -> 0x300000"]);
        assert_eq!(rig.gucs[0].last_migration_done_count(), 1);
    }
}

/// Regression (2040d49): a second migration (and its interrupt) before RESFIX_START. The base
/// went A -> B -> C before any fixup could run: one fixup A -> C.
#[test]
fn second_migration_before_resfix_start_is_one_move() {
    let rig = single(MARKERS);
    rig.migrate(B);
    rig.deliver();
    rig.on_hold(move |p, _| {
        if p == HoldPoint::BeforeStart {
            rig.migrate(C);
            rig.deliver();
        }
    });
    let outcomes = rig.drain();
    assert_eq!(
        outcomes,
        vec![PassOutcome::Recovered(GtSet::single(GtId(0)))]
    );
    rig.assert_settled("second migration before start");
    assert_eq!(rig.ggtt_calls(), ["ggtt tile0 0x200000 -> 0x600000"]);
}

/// A second migration at each hold point of GT0's recovery, both GTs, with the interrupts
/// delivered at once or only after the pass, markers and legacy: the GGTT users end at the final
/// base, each fixup starting from where they are.
#[test]
fn second_migration_at_every_hold_point() {
    for abi in [MARKERS, LEGACY] {
        for prompt in [true, false] {
            for point in HOLD_POINTS {
                let rig = tile_pair(abi, {
                    let mut c = RecoveryConfig::DEFAULT;
                    c.legacy = true;
                    c
                });
                rig.migrate(B);
                rig.deliver();
                let done = std::sync::Arc::new(AtomicBool::new(false));
                let d = done.clone();
                rig.on_hold(move |p, gt| {
                    if p == point && gt == GtId(0) && !d.swap(true, Ordering::SeqCst) {
                        rig.migrate(C);
                        if prompt {
                            rig.deliver();
                        }
                    }
                });
                let outcomes = rig.drain();
                let what = format!("{point:?} ABI {abi} prompt={prompt}: {outcomes:?}");
                rig.assert_settled(&what);
                assert!(
                    rig.ggtt_calls().len() <= 2,
                    "{what}: {:?}",
                    rig.ggtt_calls()
                );
                // A late interrupt for a migration a run already recovered from costs one
                // redundant run (the GuC cannot say which migration an interrupt is for).
                if prompt {
                    for guc in rig.gucs {
                        assert_eq!(guc.last_migration_done_count(), 1, "{what}");
                    }
                }
            }
        }
    }
}

/// Regression (2040d49): a VF_MIGRATED reply re-queued the GT but left `ggtt_valid` true while
/// the GGTT had just moved again.
#[test]
fn vf_migrated_invalidates_the_ggtt() {
    let rig = single(MARKERS);
    rig.migrate(B);
    rig.deliver();
    // The second migration lands just before DONE, its interrupt held back: only the marker
    // tells.
    rig.gucs[0]
        .inject(
            Trigger::Action(code::RESFIX_DONE),
            Fault::MigrateFirst { new_ggtt_start: C },
        )
        .unwrap();
    assert!(rig.vf.queue().take());
    let out = rig.vf.run_worker();
    assert_eq!(
        out,
        PassOutcome::Incomplete({
            let mut c = PassReport::default();
            c.requeued = GtSet::single(GtId(0));
            c
        })
    );
    assert!(!rig.vf.ggtt_valid(GtId(0)), "the GGTT moved again");
    assert!(rig.vf.recovery_pending(GtId(0)));
    assert_eq!(rig.vf.stats().requeued, 1);
    rig.gucs[0].take_interrupts();
    assert_eq!(
        rig.drain(),
        vec![PassOutcome::Recovered(GtSet::single(GtId(0)))]
    );
    rig.assert_settled("after VF_MIGRATED");
    assert_eq!(
        rig.ggtt_calls(),
        [
            "ggtt tile0 0x200000 -> 0x300000",
            "ggtt tile0 0x300000 -> 0x600000"
        ]
    );
}

/// A clock whose every look is counted: a waiter that returns at once reads it at most once.
struct CountingClock(AtomicUsize);

impl Clock for CountingClock {
    fn now(&self) -> Instant {
        Instant(self.0.fetch_add(1, Ordering::SeqCst) as u64)
    }
    fn relax(&self) {}
}

/// Regression (2040d49): after a wedge, GGTT waiters blocked until their own timeout.
#[test]
fn wedge_wakes_ggtt_waiters_at_once() {
    let rig = single(MARKERS);
    rig.hooks().fail_gt_fixups.store(true, Ordering::SeqCst);
    rig.migrate(B);
    let outcomes = rig.drain();
    assert!(matches!(
        outcomes[..],
        [PassOutcome::Failed(RecoveryError::Hook {
            step: Step::GtFixups,
            error: HookError(-5),
            ..
        })]
    ));
    assert!(!rig.vf.ggtt_valid(GtId(0)));
    let clock = CountingClock(AtomicUsize::new(0));
    assert_eq!(
        rig.vf.wait_ggtt_valid(GtId(0), &clock, Duration::MAX),
        GgttWait::Wedged
    );
    assert!(clock.0.load(Ordering::SeqCst) <= 1);
    assert_eq!(
        rig.vf.wait_ggtt_valid(GtId(9), &clock, Duration::MAX),
        GgttWait::UnknownGt
    );
}

#[test]
fn ggtt_waiters_see_valid_and_time_out() {
    let rig = single(MARKERS);
    let clock = CountingClock(AtomicUsize::new(0));
    assert_eq!(
        rig.vf
            .wait_ggtt_valid(GtId(0), &clock, Duration::from_nanos(10)),
        GgttWait::Valid
    );
    rig.migrate(B);
    rig.deliver();
    assert_eq!(
        rig.vf
            .wait_ggtt_valid(GtId(0), &clock, Duration::from_nanos(10)),
        GgttWait::TimedOut
    );
    rig.drain();
    assert_eq!(
        rig.vf
            .wait_ggtt_valid(GtId(0), &clock, Duration::from_nanos(10)),
        GgttWait::Valid
    );
    assert!(rig.vf.teardown(|| false));
    rig.migrate(C);
    rig.deliver();
    assert_eq!(
        rig.vf.wait_ggtt_valid(GtId(0), &clock, Duration::MAX),
        GgttWait::Valid,
        "a report after teardown is ignored"
    );
}

/// With markers, RESFIX_DONE is always sent; an interrupt after RESFIX_START keeps the GT "in
/// progress" with its GGTT invalid, and the queued run follows.
#[test]
fn report_after_start_keeps_the_gt_pending_and_runs_again() {
    let rig = single(MARKERS);
    rig.migrate(B);
    rig.deliver();
    let seen = std::sync::Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    rig.on_hold(move |p, gt| {
        if p == HoldPoint::BeforeRearm && s.lock().unwrap().is_empty() {
            // A late duplicate of the same migration.
            assert_eq!(rig.vf.migrated(gt), Signal::Queued);
            s.lock().unwrap().push(());
        }
    });
    assert!(rig.vf.queue().take());
    assert_eq!(
        rig.vf.run_worker(),
        PassOutcome::Recovered(GtSet::single(GtId(0)))
    );
    assert_eq!(rig.gucs[0].state(), VfState::Running, "DONE was sent");
    assert!(
        rig.vf.recovery_pending(GtId(0)),
        "another recovery imminent"
    );
    assert!(!rig.vf.ggtt_valid(GtId(0)));
    let outcomes = rig.drain();
    assert_eq!(
        outcomes,
        vec![PassOutcome::Recovered(GtSet::single(GtId(0)))]
    );
    rig.assert_settled("report after start");
    assert_eq!(rig.ggtt_calls().len(), 1);
}

#[test]
fn recovery_pending_until_done_is_accepted() {
    let rig = single(MARKERS);
    rig.migrate(B);
    rig.deliver();
    let pending_at = std::sync::Arc::new(Mutex::new(Vec::new()));
    let p2 = pending_at.clone();
    rig.on_hold(move |p, gt| {
        p2.lock().unwrap().push((p, rig.vf.recovery_pending(gt)));
    });
    rig.drain();
    assert!(pending_at
        .lock()
        .unwrap()
        .iter()
        .all(|&(_, pending)| pending));
    rig.assert_settled("pending");
}

#[test]
fn legacy_is_refused_by_default_without_wedging() {
    let rig = single(LEGACY);
    rig.migrate(B);
    let outcomes = rig.drain();
    assert!(matches!(
        outcomes[..],
        [PassOutcome::Unsupported {
            gt: GtId(0),
            version: Some(v),
            reason: Unsupported::NoMarkers,
        }] if v == LEGACY
    ));
    assert!(!rig.vf.is_wedged());
    assert_eq!(rig.gucs[0].state(), VfState::ResfixBlocked);
    assert_eq!(rig.vf.stats().unsupported, 1);
    assert!(rig.vf.recovery_pending(GtId(0)), "the VF is still blocked");
    assert!(!rig.vf.ggtt_valid(GtId(0)));
    assert!(rig.ggtt_calls().is_empty());
    assert_eq!(rig.hooks().pm.load(Ordering::SeqCst), 0);
}

#[test]
fn legacy_opt_in_sends_no_start_and_done_without_marker() {
    let rig = rig_with(
        [(TileId(0), GtKind::Primary), (TileId(0), GtKind::Media)],
        LEGACY,
        {
            let mut c = RecoveryConfig::DEFAULT;
            c.legacy = true;
            c
        },
    );
    rig.migrate(B);
    rig.drain();
    let mut sent = Vec::new();
    rig.gucs[0].drain_transcript(|e| sent.push(e.msg.as_slice()[0]));
    assert!(sent.contains(&0x0000_5508), "{sent:x?}");
    assert!(!sent
        .iter()
        .any(|dw| dw & 0xFFFF == code::RESFIX_START as u32));
    rig.assert_settled("legacy");
}

#[test]
fn legacy_defers_done_when_its_gt_is_reported_again() {
    let rig = rig_with([(TileId(0), GtKind::Primary)], LEGACY, {
        let mut c = RecoveryConfig::DEFAULT;
        c.legacy = true;
        c
    });
    rig.migrate(B);
    rig.deliver();
    let once = std::sync::Arc::new(AtomicBool::new(false));
    let o = once.clone();
    rig.on_hold(move |p, _| {
        if p == HoldPoint::BeforeDone && !o.swap(true, Ordering::SeqCst) {
            rig.migrate(C);
            rig.deliver();
        }
    });
    let outcomes = rig.drain();
    assert_eq!(
        outcomes[0],
        PassOutcome::Incomplete({
            let mut c = PassReport::default();
            c.deferred = GtSet::single(GtId(0));
            c
        })
    );
    rig.assert_settled("legacy deferral");
    assert_eq!(rig.gucs[0].last_migration_done_count(), 1);
    assert_eq!(
        rig.ggtt_calls(),
        [
            "ggtt tile0 0x200000 -> 0x300000",
            "ggtt tile0 0x300000 -> 0x600000"
        ]
    );
    assert_eq!(rig.vf.stats().deferred, 1);
}

/// The kernel's `needs_shared_vf_gt_wq` (PTL): with the option, the media GT does not start
/// while the primary GT's recovery is pending, even when the media GT comes first.
#[test]
fn media_after_primary_orders_the_tile() {
    let layout = [(TileId(0), GtKind::Media), (TileId(0), GtKind::Primary)];
    let starts_and_ends = |rig: &Rig<2>| -> Vec<String> {
        rig.hooks()
            .calls()
            .into_iter()
            .filter(|c| c.starts_with("shutdown") || c.starts_with("kickstart"))
            .collect()
    };
    // One GT after the other: the order of the pass's hooks says it all (tests/split_phase.rs
    // checks the ordering in split phase, the default).
    let rig = rig_with(layout, MARKERS, {
        let mut c = RecoveryConfig::DEFAULT;
        c.media_after_primary = true;
        c.split_phase = false;
        c
    });
    rig.migrate(B);
    let outcomes = rig.drain();
    assert_eq!(
        starts_and_ends(&rig),
        ["shutdown 1", "kickstart 1", "shutdown 0", "kickstart 0"]
    );
    assert_eq!(
        outcomes[0],
        PassOutcome::Incomplete({
            let mut c = PassReport::default();
            c.recovered = GtSet::single(GtId(1));
            c.postponed = GtSet::single(GtId(0));
            c
        })
    );
    rig.assert_settled("media after primary");
    assert_eq!(rig.ggtt_calls().len(), 1);

    let rig = rig_with(
        layout,
        MARKERS,
        RecoveryConfig::DEFAULT.with_split_phase(false),
    );
    rig.migrate(B);
    rig.drain();
    assert_eq!(
        starts_and_ends(&rig),
        ["shutdown 0", "kickstart 0", "shutdown 1", "kickstart 1"]
    );
    rig.assert_settled("GT order");
}

#[test]
fn two_tiles_move_independently() {
    let rig = rig_with(
        [
            (TileId(0), GtKind::Primary),
            (TileId(0), GtKind::Media),
            (TileId(1), GtKind::Primary),
            (TileId(1), GtKind::Media),
        ],
        MARKERS,
        RecoveryConfig::default(),
    );
    assert_eq!(rig.vf.topology().num_tiles(), 2);
    rig.migrate(B);
    rig.drain();
    rig.assert_settled("two tiles");
    let mut calls = rig.ggtt_calls();
    calls.sort();
    assert_eq!(
        calls,
        [
            "ggtt tile0 0x200000 -> 0x300000",
            "ggtt tile1 0x8200000 -> 0x8300000"
        ]
    );
}

#[test]
fn tile_fixup_failure_wedges_and_keeps_the_applied_base() {
    let rig = tile_pair(MARKERS, RecoveryConfig::default());
    rig.hooks().oracle.fail_next_fixup(HookError(-12));
    rig.migrate(B);
    let outcomes = rig.drain();
    assert_eq!(
        outcomes,
        vec![PassOutcome::Failed(RecoveryError::GgttFixup {
            tile: TileId(0),
            gt: GtId(0),
            ggtt: GgttMove { old: BASE, new: B },
            error: HookError(-12),
        })]
    );
    let ggtt = rig.vf.tile_ggtt(TileId(0)).unwrap();
    assert_eq!((ggtt.applied, ggtt.reported), (BASE, B));
    assert_eq!(rig.hooks().oracle.base(TileId(0)), Some(BASE));
    assert!(rig.vf.is_wedged());
    assert_eq!(rig.hooks().wedged.load(Ordering::SeqCst), 1);
    // The PM reference covers abort and wedged, and is released after them.
    assert_eq!(rig.hooks().pm_at_abort.load(Ordering::SeqCst), 1);
    assert_eq!(rig.hooks().pm_at_wedge.load(Ordering::SeqCst), 1);
    assert_eq!(rig.hooks().pm.load(Ordering::SeqCst), 0);
}

/// A pass cancelled by teardown before its query, or failing after it, never loses track of
/// where the GGTT users are: the applied base moves only with a fixup that returned Ok. (The
/// FIXUPS stopper sits before the re-query since it follows the kernel's, Linux 7.3; a teardown
/// during the re-query, reported base moved and applied not: tests/stoppers.rs.)
#[test]
fn cancelled_or_failed_pass_keeps_the_ggtt_truth() {
    let rig = single(MARKERS);
    rig.migrate(B);
    rig.deliver();
    rig.on_hold(move |p, _| {
        if p == HoldPoint::BeforeFixups {
            let _ = rig.vf.teardown(|| false);
        }
    });
    assert_eq!(rig.drain(), vec![PassOutcome::Cancelled]);
    let ggtt = rig.vf.tile_ggtt(TileId(0)).unwrap();
    assert_eq!(
        (ggtt.applied, ggtt.reported),
        (BASE, BASE),
        "no re-query yet"
    );
    assert!(ggtt.pending_move().is_none());
    assert!(rig.ggtt_calls().is_empty());

    let rig = single(MARKERS);
    rig.hooks().fail_rearm.store(true, Ordering::SeqCst);
    rig.migrate(B);
    assert!(matches!(
        rig.drain()[..],
        [PassOutcome::Failed(RecoveryError::Hook {
            step: Step::Rearm,
            ..
        })]
    ));
    let ggtt = rig.vf.tile_ggtt(TileId(0)).unwrap();
    assert_eq!(
        (ggtt.applied, ggtt.reported),
        (B, B),
        "the fixup itself returned Ok"
    );
    assert_eq!(rig.hooks().oracle.check(TileId(0), B), Ok(()));
}

#[test]
fn bootstrap_rejects_gts_that_disagree_on_their_tiles_ggtt() {
    let p = Provisioning::integrated();
    let prim: &'static MockGuc = Box::leak(Box::new(MockGuc::new(GtKind::Primary, MARKERS, p)));
    let media: &'static MockGuc = Box::leak(Box::new(MockGuc::new(GtKind::Media, MARKERS, {
        let mut c = p;
        c.ggtt_start = p.ggtt_start + 0x1000;
        c
    })));
    let info = |kind| GtInfo::of(kind, GpuKind::Integrated, GraphicsIp::new(20, 4));
    let gts = [
        Gt::new(prim, info(GtKind::Primary), MailboxConfig::default()),
        Gt::new(media, info(GtKind::Media), MailboxConfig::default()),
    ];
    let vf = Vf::new(
        gts,
        Recorder::default(),
        TestQueue::new(),
        RecoveryConfig::default(),
    )
    .unwrap();
    let err = vf.bootstrap().unwrap_err();
    assert_eq!(
        err,
        BootstrapError::GgttMismatch {
            tile: TileId(0),
            primary: GtId(0),
            primary_ggtt: (p.ggtt_start, p.ggtt_size),
            media: GtId(1),
            media_ggtt: (p.ggtt_start + 0x1000, p.ggtt_size),
        }
    );
    assert!(err.to_string().contains("0x200000") && err.to_string().contains("0x201000"));
}

#[test]
fn bootstrap_errors_name_the_gt_and_chain_their_cause() {
    let rig_guc: &'static MockGuc = Box::leak(Box::new(MockGuc::new(GtKind::Primary, MARKERS, {
        let mut c = Provisioning::integrated();
        c.ggtt_start = 0x1000;
        c
    })));
    let gts = [Gt::new(
        rig_guc,
        GtInfo::of(GtKind::Primary, GpuKind::Integrated, GraphicsIp::new(20, 4)),
        MailboxConfig::default(),
    )];
    let vf = Vf::new(
        gts,
        Recorder::default(),
        TestQueue::new(),
        RecoveryConfig::default(),
    )
    .unwrap();
    let err = vf.bootstrap().unwrap_err();
    assert!(matches!(
        err,
        BootstrapError::Gt {
            gt: GtId(0),
            error: VfError::GgttRange { start: 0x1000, .. }
        }
    ));
    let source = std::error::Error::source(&err).unwrap();
    assert!(source.to_string().contains("outside"), "{source}");
}

#[test]
fn failures_wedge_exactly_once_and_stop_queueing() {
    let rig = tile_pair(MARKERS, RecoveryConfig::default());
    rig.gucs[0]
        .inject(
            Trigger::Action(code::RESFIX_DONE),
            Fault::Failure {
                error: GucError::GenericFail,
                hint: 0,
            },
        )
        .unwrap();
    rig.migrate(B);
    let outcomes = rig.drain();
    assert!(matches!(
        outcomes.last(),
        Some(PassOutcome::Failed(RecoveryError::Gt {
            gt: GtId(0),
            step: Step::ResfixDone,
            ..
        }))
    ));
    assert!(rig.vf.is_wedged());
    assert_eq!(rig.hooks().wedged.load(Ordering::SeqCst), 1);
    assert_eq!(rig.hooks().aborts.load(Ordering::SeqCst), 1);
    assert_eq!(rig.hooks().pm.load(Ordering::SeqCst), 0);
    rig.migrate(C);
    assert_eq!(rig.deliver_gt(0), Some(Signal::Ignored));
    assert!(!rig.vf.queue().take());
    // The GGTT moved once before DONE failed; the oracle agrees with the VF's bookkeeping.
    assert_eq!(rig.hooks().oracle.check(TileId(0), B), Ok(()));
}

#[test]
fn oracle_catches_a_doubled_move() {
    // The oracle is what the recovery tests lean on: show it fails on the bug it exists for.
    let oracle: GgttOracle<1> = GgttOracle::new();
    oracle.place(TileId(0), BASE);
    let mv = GgttMove { old: BASE, new: B };
    oracle.fixup(TileId(0), mv).unwrap();
    // A per-GT shift applied by the media GT too: from the pre-move base, or shifted again.
    assert!(oracle.fixup(TileId(0), mv).is_err());
    assert!(matches!(
        oracle.check(TileId(0), B),
        Err(OracleError::WrongOldBase { .. })
    ));
    // A lost move leaves the users behind.
    let lost: GgttOracle<1> = GgttOracle::new();
    lost.place(TileId(0), BASE);
    assert!(matches!(
        lost.check(TileId(0), B),
        Err(OracleError::Misplaced {
            node: 0,
            at: BASE,
            expected: B,
            ..
        })
    ));
}

#[test]
fn other_interrupt_bits_are_ignored_and_bad_gts_rejected() {
    let rig = tile_pair(MARKERS, RecoveryConfig::default());
    assert_eq!(
        rig.vf.handle_guc_interrupt(GtId(0), GucIntr::GUC2HOST),
        Signal::Ignored
    );
    assert_eq!(rig.vf.migrated(GtId(7)), Signal::InvalidGt);
    assert!(!rig.vf.ggtt_valid(GtId(7)));
    assert!(!rig.vf.recovery_pending(GtId(7)));
    assert_eq!(rig.vf.tile_ggtt(TileId(1)), None);
    assert_eq!(rig.vf.run_worker(), PassOutcome::NotStarted);
}

#[test]
fn teardown_stops_queueing() {
    let rig = single(MARKERS);
    assert!(rig.vf.teardown(|| false));
    rig.migrate(B);
    assert_eq!(rig.deliver_gt(0), Some(Signal::Ignored));
    assert_eq!(rig.vf.run_worker(), PassOutcome::NotStarted);
}

#[test]
fn all_gts_policy_moves_the_shared_ggtt_once() {
    let rig = tile_pair(MARKERS, {
        let mut c = RecoveryConfig::DEFAULT;
        c.start = StartPolicy::AllGts;
        c
    });
    rig.migrate(B);
    assert_eq!(rig.deliver_gt(0), Some(Signal::WaitingForOtherGts));
    assert!(!rig.vf.queue().take());
    assert_eq!(rig.deliver_gt(1), Some(Signal::Queued));
    assert_eq!(rig.drain(), vec![PassOutcome::Recovered(GtSet::all(2))]);
    rig.assert_settled("all GTs");
    assert_eq!(rig.ggtt_calls().len(), 1);
}

/// Kernel 7.0's gate, the default: migration also needs memirq. A VF built with `Vf::new` (SW_INT_0
/// from the register) and the default config refuses migration, typed and counted, not wedged;
/// `RecoveryConfig::mmio_irq` opts in (every other rig here does).
#[test]
fn migration_without_memirq_is_refused_by_default() {
    let guc: &'static MockGuc = Box::leak(Box::new(MockGuc::new(
        GtKind::Primary,
        MARKERS,
        Provisioning::integrated(),
    )));
    let gt = Gt::new(
        guc,
        GtInfo::of(GtKind::Primary, GpuKind::Integrated, GraphicsIp::new(20, 4)),
        MailboxConfig::KERNEL,
    );
    let vf = Vf::new(
        [gt],
        Recorder::default(),
        TestQueue::new(),
        RecoveryConfig::default(),
    )
    .unwrap();
    vf.bootstrap().unwrap();
    guc.migrate(B);
    let _ = vf.handle_guc_interrupt(GtId(0), guc.take_interrupts());
    assert!(vf.queue().take());
    assert_eq!(
        vf.run_worker(),
        PassOutcome::Unsupported {
            gt: GtId(0),
            version: Some(MARKERS),
            reason: Unsupported::NoMemirq,
        }
    );
    assert!(!vf.is_wedged());
    assert_eq!(vf.stats().unsupported, 1);
    assert_eq!(guc.state(), VfState::ResfixBlocked);
    assert!(vf.recovery_pending(GtId(0)) && !vf.ggtt_valid(GtId(0)));
}

#[test]
fn ids_convert_from_usize_without_wrapping() {
    use xe_sriov_vf::{IdOutOfRange, MAX_GTS};
    assert_eq!(GtId::try_from(3usize), Ok(GtId(3)));
    assert_eq!(TileId::try_from(1usize), Ok(TileId(1)));
    assert_eq!(
        GtId::try_from(MAX_GTS),
        Err(IdOutOfRange { index: MAX_GTS })
    );
    assert_eq!(TileId::try_from(256usize), Err(IdOutOfRange { index: 256 }));
    // The bound itself: a VF has at most as many tiles as GTs.
    assert_eq!(
        TileId::try_from(MAX_GTS - 1),
        Ok(TileId((MAX_GTS - 1) as u8))
    );
    assert_eq!(
        TileId::try_from(MAX_GTS),
        Err(IdOutOfRange { index: MAX_GTS })
    );
    assert_eq!(usize::from(GtId(5)), 5);
    assert_eq!(usize::from(TileId(2)), 2);
    assert!(IdOutOfRange { index: 99 }.to_string().contains("99"));
}
