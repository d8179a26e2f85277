//! Kernel 7.1's mailbox pauses seen from a recovery pass, in virtual time on mock GuCs sharing
//! one clock and answering L = 20 us after each doorbell:
//!
//! - a RETRY storm on one GT's GuC (backoff 1 ms doubling to 256 ms before each resend) costs
//!   that GT its pauses and nobody else: in split phase a GT that pauses returns `Pending` from
//!   its poll until its deadline, so the other GTs' steps go on;
//! - two lost replies at one step (an FLR cleared the scratch registers) are sent again 256 ms
//!   apart and the pass recovers; a third loss wedges with `MailboxError::LinkLost`.
#![cfg(all(feature = "mock", feature = "std"))]

use std::time::Duration;

use xe_sriov_vf::coordinator::{GtId, GtSet};
use xe_sriov_vf::gt::{Gt, GtInfo, VfError};
use xe_sriov_vf::mailbox::{MailboxConfig, MailboxError};
use xe_sriov_vf::mock::{Fault, Latency, MockClock, MockGuc, Provisioning, Trigger, VfState};
use xe_sriov_vf::recovery::{NoHooks, PassOutcome, RecoveryConfig, RecoveryError, Step, Vf};
use xe_sriov_vf::tile::TileId;
use xe_sriov_vf::wire::action::code;
use xe_sriov_vf::wire::regs::GtKind;
use xe_sriov_vf::wire::Version;
use xe_sriov_vf::workqueue::TestQueue;

const BASE: u64 = 0x0020_0000;
const TILE_STRIDE: u64 = 0x1000_0000;
const L: Duration = Duration::from_micros(20);
/// Round trips of one GT's recovery (integrated, IP 20.04, VF ABI 1.27): RESFIX_START, six
/// KLVs, RESFIX_DONE.
const ROUND_TRIPS: u32 = 8;
/// RETRY replies in the storm, and the pauses they cost: 1 + 2 + ... + 128 ms.
const STORM: u32 = 8;
const STORM_PAUSES: Duration = Duration::from_millis(255);

type StormVf = Vf<&'static MockGuc, NoHooks, TestQueue, 2>;

/// A bootstrapped 2-GT VF on one shared clock: `layout` gives each GT's tile and kind.
fn vf(layout: [(TileId, GtKind); 2], split: bool) -> (&'static StormVf, [&'static MockGuc; 2]) {
    let clock: &'static MockClock = Box::leak(Box::default());
    let gucs = layout.map(|(tile, kind)| {
        let mut prov = Provisioning::integrated();
        prov.ggtt_start = BASE + u64::from(tile.0) * TILE_STRIDE;
        let guc: &'static MockGuc =
            Box::leak(Box::new(MockGuc::new(kind, Version::new(1, 27), prov)));
        guc.use_clock(clock);
        guc.set_latency(Latency::fixed(L));
        guc
    });
    let gts = [0, 1].map(|i| {
        let (tile, kind) = layout[i];
        Gt::new(
            gucs[i],
            GtInfo::new(kind, false, 2004).on_tile(tile),
            MailboxConfig::DEFAULT,
        )
    });
    let config = RecoveryConfig::DEFAULT
        .with_mmio_irq()
        .with_split_phase(split);
    let vf: &'static StormVf = Box::leak(Box::new(
        Vf::new(gts, NoHooks, TestQueue::new(), config).unwrap(),
    ));
    vf.bootstrap().unwrap();
    (vf, gucs)
}

/// One VM migration with `faults` on gt0's RESFIX_START, the worker run once: its outcome, and
/// the VF and its GuCs.
fn migrate_with(
    layout: [(TileId, GtKind); 2],
    split: bool,
    faults: &[Fault],
) -> (PassOutcome, &'static StormVf, [&'static MockGuc; 2]) {
    let (vf, gucs) = vf(layout, split);
    for &fault in faults {
        gucs[0]
            .inject(Trigger::Action(code::RESFIX_START), fault)
            .unwrap();
    }
    for (i, g) in gucs.iter().enumerate() {
        g.migrate(BASE + u64::from(layout[i].0 .0) * TILE_STRIDE + 0x0100_0000);
    }
    for (i, g) in gucs.iter().enumerate() {
        let _ = vf.handle_guc_interrupt(GtId(i as u8), g.take_interrupts());
    }
    assert!(vf.queue().take());
    (vf.run_worker(), vf, gucs)
}

/// Each GT's blackout and round trips of a recovered migration.
fn blackouts(gucs: [&'static MockGuc; 2]) -> [(Duration, u32); 2] {
    assert!(gucs.iter().all(|g| g.state() == VfState::Running));
    gucs.map(|g| {
        let b = g.blackout().unwrap();
        (b.duration().expect("RESFIX_DONE accepted"), b.round_trips)
    })
}

/// One VM migration with `storm` RETRYs on gt0's RESFIX_START: each GT's blackout and round
/// trips.
fn migrate(layout: [(TileId, GtKind); 2], split: bool, storm: u32) -> [(Duration, u32); 2] {
    let faults: &[Fault] = if storm > 0 {
        &[Fault::Retry { count: storm }]
    } else {
        &[]
    };
    let (outcome, _, gucs) = migrate_with(layout, split, faults);
    assert_eq!(outcome, PassOutcome::Recovered(GtSet::all(2)));
    blackouts(gucs)
}

const TWO_TILES: [(TileId, GtKind); 2] =
    [(TileId(0), GtKind::Primary), (TileId(1), GtKind::Primary)];
const ONE_TILE: [(TileId, GtKind); 2] = [(TileId(0), GtKind::Primary), (TileId(0), GtKind::Media)];

#[test]
fn a_retry_storm_on_gt0_does_not_lengthen_gt1s_blackout_in_split_phase() {
    let one_gt = ROUND_TRIPS * L;
    for layout in [TWO_TILES, ONE_TILE] {
        assert_eq!(migrate(layout, true, 0), [(one_gt, ROUND_TRIPS); 2]);
        let [(gt0, trips0), (gt1, trips1)] = migrate(layout, true, STORM);
        // gt0 pays its pauses and one round trip per RETRY.
        assert_eq!(trips0, ROUND_TRIPS + STORM);
        assert!(gt0 >= STORM_PAUSES + one_gt, "{gt0:?}");
        assert!(
            gt0 < STORM_PAUSES + one_gt + Duration::from_millis(1),
            "{gt0:?}"
        );
        // gt1 does not wait for any of it.
        assert_eq!((gt1, trips1), (one_gt, ROUND_TRIPS), "{layout:?}");
    }
}

#[test]
fn one_gt_after_the_other_gt1_waits_out_gt0s_storm() {
    // The contrast: the sequential schedule runs gt1 after gt0, pauses included.
    let [(gt0, _), (gt1, _)] = migrate(TWO_TILES, false, STORM);
    assert!(gt0 >= STORM_PAUSES, "{gt0:?}");
    assert!(gt1 >= gt0, "{gt0:?} {gt1:?}");
}

#[test]
fn two_lost_replies_at_one_step_recover_after_two_pauses() {
    for split in [true, false] {
        let (outcome, _, gucs) = migrate_with(TWO_TILES, split, &[Fault::FlrClear; 2]);
        assert_eq!(
            outcome,
            PassOutcome::Recovered(GtSet::all(2)),
            "split {split}"
        );
        let [(gt0, trips0), _] = blackouts(gucs);
        // Two 50 ms waits for the lost replies, two 256 ms pauses, then the 8 round trips.
        let lost = Duration::from_millis(2 * 50 + 2 * 256);
        assert_eq!((gt0, trips0), (lost + ROUND_TRIPS * L, ROUND_TRIPS + 2));
    }
}

#[test]
fn a_third_lost_reply_at_one_step_wedges_with_link_lost() {
    for split in [true, false] {
        let (outcome, vf, gucs) = migrate_with(TWO_TILES, split, &[Fault::FlrClear; 3]);
        assert_eq!(
            outcome,
            PassOutcome::Failed(RecoveryError::Gt {
                gt: GtId(0),
                step: Step::ResfixStart,
                error: VfError::Mailbox(MailboxError::LinkLost { losses: 3 }),
            }),
            "split {split}"
        );
        assert!(vf.is_wedged());
        assert_eq!(gucs[0].state(), VfState::ResfixBlocked);
    }
}
