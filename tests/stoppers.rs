//! The kernel's four debug stoppers (`xe_gt_sriov_vf.c`, Linux 7.3) and what its own migration
//! tests do at each: hold the recovery there, then either migrate the VM again (restore a
//! second snapshot) or pause it and resume it on the same host (no new GuC state, no
//! interrupt). 4 stoppers x 2 = 8 cells, each run on both schedules and checked with the GGTT
//! oracle: every GuC ends running, the VF's GGTT users sit at the GuC's final base, each change
//! of base applied once, no GT kickstarted on a stale GGTT, no duplicate RESFIX_DONE.
//!
//! Also here: where the hold points sit (the stoppers' places), a teardown during the
//! re-query, and the legacy protocol never kickstarting a GT that was reported again
//! (`legacy_never_kickstarts_a_gt_reported_again`).
//!
//! The scene: one tile, GT0 primary and GT1 media, one shared virtual clock, every GuC reply
//! 5 us after its doorbell (so the worker waits, and relaxes, on every request), SW_INT_0 on
//! the register path. The VM migrates from `BASE` to `X1`; a second migration goes to `X2`.
#![cfg(all(feature = "mock", feature = "std"))]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use xe_sriov_vf::coordinator::{GtId, StartPolicy};
use xe_sriov_vf::device::{Device, Instant, Reg};
use xe_sriov_vf::gt::{GpuKind, GraphicsIp, Gt, GtInfo};
use xe_sriov_vf::mailbox::MailboxConfig;
use xe_sriov_vf::mock::{
    pause_resume_vm, GgttOracle, Latency, MockClock, MockGuc, Provisioning, VfState,
};
use xe_sriov_vf::recovery::{HoldPoint, HookError, PassOutcome, RecoveryConfig, RecoveryHooks, Vf};
use xe_sriov_vf::tile::{GgttMove, TileId};
use xe_sriov_vf::wire::action::code;
use xe_sriov_vf::wire::regs::{GtKind, GucIntr};
use xe_sriov_vf::wire::Version;
use xe_sriov_vf::workqueue::TestQueue;

const BASE: u64 = 0x0020_0000;
const X1: u64 = 0x0100_0000;
const X2: u64 = 0x0200_0000;
/// How long a pause-resume keeps the VM stopped (the VF's clock jumps by this much).
const PAUSED_FOR: Duration = Duration::from_millis(100);

type TestVf = Vf<Dev, Hooks, TestQueue, 2>;

/// What the host does while the recovery is held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    /// A second VM migration, both interrupts delivered at once.
    Migrate,
    /// The VM paused and resumed on the same host.
    Pause,
    /// Teardown at the next relax of the worker (the wait that follows).
    TeardownAtNextWait,
    /// A second VM migration at the next relax of the worker (the wait that follows).
    MigrateAtNextWait,
    /// A late SW_INT_0 on every GT, no migration, at the next relax of the worker.
    InterruptAtNextWait,
}

/// The GuCs, the clock, the VF, what the hooks saw.
struct World {
    gucs: [&'static MockGuc; 2],
    vf: OnceLock<&'static TestVf>,
    oracle: GgttOracle<1>,
    events: Mutex<Vec<String>>,
    /// The first time the recovery reaches this point, the host does this.
    cell: Mutex<Option<(HoldPoint, Action)>>,
    teardown_at_next_wait: AtomicBool,
    migrate_at_next_wait: AtomicBool,
    interrupt_at_next_wait: AtomicBool,
    /// Kickstarts of a GT whose tile's GGTT users were not at the GuC's base.
    stale_kickstarts: Mutex<Vec<String>>,
}

impl World {
    fn note(&self, what: String) {
        self.events.lock().unwrap().push(what);
    }

    fn events(&self) -> Vec<String> {
        self.events.lock().unwrap().clone()
    }

    /// The second VM migration: every GuC to `X2`, their interrupts delivered.
    fn migrate_again(&self) {
        self.note("host: migration to X2".into());
        for g in self.gucs {
            g.migrate(X2);
        }
        let vf = self.vf.get().unwrap();
        for (i, g) in self.gucs.iter().enumerate() {
            let _ = vf.handle_guc_interrupt(GtId(i as u8), g.take_interrupts());
        }
    }
}

/// A GT's device: its mock; the requests it sends are noted (by action), and the host acts at
/// a relax when asked to.
struct Dev(&'static World, usize);

impl Device for Dev {
    fn read32(&self, reg: Reg) -> u32 {
        self.0.gucs[self.1].read32(reg)
    }
    fn write32(&self, reg: Reg, v: u32) {
        let guc = self.0.gucs[self.1];
        if reg == guc.kind().mailbox().scratch(0) {
            let name = match (v & 0xFFFF) as u16 {
                code::RESFIX_START => Some("RESFIX_START"),
                code::QUERY_SINGLE_KLV => Some("QUERY"),
                code::RESFIX_DONE => Some("RESFIX_DONE"),
                _ => None,
            };
            if let Some(name) = name {
                self.0.note(format!("gt{} > {name}", self.1));
            }
        }
        guc.write32(reg, v)
    }
    fn now(&self) -> Instant {
        self.0.gucs[self.1].now()
    }
    fn relax(&self) {
        let w = self.0;
        w.gucs[self.1].relax();
        if w.teardown_at_next_wait.swap(false, Ordering::SeqCst) {
            w.note("host: teardown".into());
            let _ = w.vf.get().unwrap().teardown(|| false);
        }
        if w.migrate_at_next_wait.swap(false, Ordering::SeqCst) {
            w.migrate_again();
        }
        if w.interrupt_at_next_wait.swap(false, Ordering::SeqCst) {
            w.note("host: late SW_INT_0".into());
            let vf = w.vf.get().unwrap();
            for i in 0..2 {
                let _ = vf.handle_guc_interrupt(GtId(i), GucIntr::SW_INT_0);
            }
        }
    }
}

/// Notes the per-GT hooks, keeps the oracle, acts at the armed hold point.
struct Hooks(&'static World);

impl RecoveryHooks for Hooks {
    fn shutdown(&self, gt: GtId) {
        self.0.note(format!("gt{} shutdown", gt.0));
    }
    fn ggtt_fixup(&self, tile: TileId, ggtt: GgttMove) -> Result<(), HookError> {
        self.0
            .note(format!("ggtt_fixup {:#x} -> {:#x}", ggtt.old, ggtt.new));
        self.0.oracle.fixup(tile, ggtt)
    }
    fn gt_fixups(&self, gt: GtId) -> Result<(), HookError> {
        self.0.note(format!("gt{} fixups", gt.0));
        Ok(())
    }
    fn rearm(&self, gt: GtId) -> Result<(), HookError> {
        self.0.note(format!("gt{} rearm", gt.0));
        Ok(())
    }
    fn kickstart(&self, gt: GtId) {
        let w = self.0;
        w.note(format!("gt{} kickstart", gt.0));
        let guc_base = w.gucs[usize::from(gt.0)].provisioning().ggtt_start;
        if let Err(e) = w.oracle.check(TileId(0), guc_base) {
            w.stale_kickstarts
                .lock()
                .unwrap()
                .push(format!("gt{}: {e:?}", gt.0));
        }
    }
    fn hold(&self, point: HoldPoint, gt: GtId) {
        let w = self.0;
        w.note(format!("gt{} hold {point:?}", gt.0));
        let action = {
            let mut cell = w.cell.lock().unwrap();
            match *cell {
                Some((at, action)) if at == point => {
                    *cell = None;
                    Some(action)
                }
                _ => None,
            }
        };
        match action {
            Some(Action::Migrate) => w.migrate_again(),
            Some(Action::Pause) => {
                w.note("host: pause, resume".into());
                pause_resume_vm(&w.gucs, PAUSED_FOR);
            }
            Some(Action::TeardownAtNextWait) => {
                w.teardown_at_next_wait.store(true, Ordering::SeqCst)
            }
            Some(Action::MigrateAtNextWait) => w.migrate_at_next_wait.store(true, Ordering::SeqCst),
            Some(Action::InterruptAtNextWait) => {
                w.interrupt_at_next_wait.store(true, Ordering::SeqCst)
            }
            None => {}
        }
    }
}

/// A bootstrapped VF of two GTs on one tile, its GuCs offering `abi`, its GGTT users at `BASE`.
fn world(abi: Version, config: RecoveryConfig) -> &'static World {
    let clock: &'static MockClock = Box::leak(Box::default());
    let gucs = [GtKind::Primary, GtKind::Media].map(|kind| {
        let g: &'static MockGuc = Box::leak(Box::new(MockGuc::new(
            kind,
            abi,
            Provisioning::integrated(),
        )));
        g.use_clock(clock);
        g.set_latency(Latency::fixed(Duration::from_micros(5)));
        g
    });
    let w: &'static World = Box::leak(Box::new(World {
        gucs,
        vf: OnceLock::new(),
        oracle: GgttOracle::new(),
        events: Mutex::new(Vec::new()),
        cell: Mutex::new(None),
        teardown_at_next_wait: AtomicBool::new(false),
        migrate_at_next_wait: AtomicBool::new(false),
        interrupt_at_next_wait: AtomicBool::new(false),
        stale_kickstarts: Mutex::new(Vec::new()),
    }));
    let gts = [0, 1].map(|i| {
        Gt::new(
            Dev(w, i),
            GtInfo::of(gucs[i].kind(), GpuKind::Integrated, GraphicsIp::new(20, 4)),
            MailboxConfig::DEFAULT,
        )
    });
    let vf: &'static TestVf = Box::leak(Box::new(
        Vf::new(gts, Hooks(w), TestQueue::new(), config.with_mmio_irq()).unwrap(),
    ));
    vf.bootstrap().unwrap();
    assert_eq!(gucs[0].provisioning().ggtt_start, BASE);
    w.oracle.place(TileId(0), BASE);
    let _ = w.vf.set(vf);
    w
}

/// The first migration (to `X1`, both interrupts delivered), then passes while work is
/// queued (at most 16).
fn migrate_and_run(w: &'static World) -> Vec<PassOutcome> {
    for g in w.gucs {
        g.migrate(X1);
    }
    let vf = w.vf.get().unwrap();
    for (i, g) in w.gucs.iter().enumerate() {
        let _ = vf.handle_guc_interrupt(GtId(i as u8), g.take_interrupts());
    }
    let mut outcomes = Vec::new();
    while outcomes.len() < 16 && vf.queue().take() {
        outcomes.push(vf.run_worker());
    }
    outcomes
}

/// Everything a recovery must end with, checked with the GGTT oracle; `what` names the run.
fn assert_settled(w: &World, outcomes: &[PassOutcome], what: &str) {
    let vf = w.vf.get().unwrap();
    let events = w.events();
    assert!(
        !outcomes
            .iter()
            .any(|o| matches!(o, PassOutcome::Failed(_) | PassOutcome::Cancelled)),
        "{what}: {outcomes:?}"
    );
    assert!(!vf.queue().is_pending(), "{what}: {outcomes:?}");
    assert!(!vf.is_wedged(), "{what}");
    let base = w.gucs[0].provisioning().ggtt_start;
    for (i, g) in w.gucs.iter().enumerate() {
        assert_eq!(g.state(), VfState::Running, "{what}: gt{i}; {events:?}");
        assert_eq!(g.provisioning().ggtt_start, base, "{what}");
        assert_eq!(g.last_migration_done_count(), 1, "{what}: gt{i}: one DONE");
        let gt = GtId(i as u8);
        assert!(vf.ggtt_valid(gt), "{what}: gt{i}");
        assert!(!vf.recovery_pending(gt), "{what}: gt{i}");
    }
    assert_eq!(
        w.oracle.check(TileId(0), base),
        Ok(()),
        "{what}: {events:?}"
    );
    let ggtt = vf.tile_ggtt(TileId(0)).unwrap();
    assert_eq!((ggtt.applied, ggtt.reported), (base, base), "{what}");
    assert_eq!(
        *w.stale_kickstarts.lock().unwrap(),
        Vec::<String>::new(),
        "{what}: {events:?}"
    );
}

/// The index in `events` of the first `what` at or after `from`.
fn find(events: &[String], from: usize, what: &str) -> usize {
    events[from..]
        .iter()
        .position(|e| e == what)
        .map(|p| p + from)
        .unwrap_or_else(|| panic!("no '{what}' after event {from} in {events:?}"))
}

/// The hold points sit where the kernel's stoppers do (Linux 7.3): RESFIX_START after the
/// shutdown and before RESFIX_START is sent; FIXUPS after RESFIX_START and before the
/// re-query; RESTART_JOBS after the fixups and before the rearm; RESFIX_DONE after the rearm
/// and before RESFIX_DONE. On both schedules, with markers and on the legacy protocol (which
/// sends no RESFIX_START).
#[test]
fn hold_points_sit_at_the_kernels_stoppers() {
    for (abi, legacy) in [(Version::new(1, 27), false), (Version::new(1, 26), true)] {
        for split in [true, false] {
            let mut config = RecoveryConfig::DEFAULT.with_split_phase(split);
            config.legacy = legacy;
            let w = world(abi, config);
            let outcomes = migrate_and_run(w);
            let what = format!("legacy {legacy}, split {split}");
            assert_settled(w, &outcomes, &what);
            let events = w.events();
            for gt in 0..2 {
                let e = |s: &str| format!("gt{gt} {s}");
                let shutdown = find(&events, 0, &e("shutdown"));
                let start = find(&events, shutdown, &e("hold BeforeStart"));
                let fixups = if legacy {
                    find(&events, start, &e("hold BeforeFixups"))
                } else {
                    let sent = find(&events, start, &e("> RESFIX_START"));
                    find(&events, sent, &e("hold BeforeFixups"))
                };
                let query = find(&events, fixups, &e("> QUERY"));
                let gt_fixups = find(&events, query, &e("fixups"));
                let rearm_hold = find(&events, gt_fixups, &e("hold BeforeRearm"));
                let rearm = find(&events, rearm_hold, &e("rearm"));
                let done_hold = find(&events, rearm, &e("hold BeforeDone"));
                let _ = find(&events, done_hold, &e("> RESFIX_DONE"));
                // No query of this GT between RESFIX_START and the FIXUPS stopper.
                assert!(
                    !events[start..fixups].contains(&e("> QUERY")),
                    "{what}: gt{gt}: {events:?}"
                );
            }
        }
    }
}

/// One cell: the recovery held at `point`, the host does `action`; both schedules.
fn cell(point: HoldPoint, action: Action) {
    for split in [true, false] {
        let w = world(
            Version::new(1, 27),
            RecoveryConfig::DEFAULT.with_split_phase(split),
        );
        *w.cell.lock().unwrap() = Some((point, action));
        let outcomes = migrate_and_run(w);
        let what = format!("{point:?} x {action:?}, split {split}");
        assert!(
            w.cell.lock().unwrap().is_none(),
            "{what}: the hold point was reached"
        );
        assert_settled(w, &outcomes, &what);
        let (migrations, base) = match action {
            Action::Migrate => (2, X2),
            _ => (1, X1),
        };
        for g in w.gucs {
            assert_eq!(g.migrations(), migrations, "{what}");
            assert_eq!(g.provisioning().ggtt_start, base, "{what}");
        }
        assert_eq!(w.oracle.base(TileId(0)), Some(base), "{what}");
        if action == Action::Pause {
            // The pause changes nothing the recovery can see: one pass, both GTs recovered.
            assert_eq!(outcomes.len(), 1, "{what}: {outcomes:?}");
            assert!(
                matches!(outcomes[0], PassOutcome::Recovered(_)),
                "{what}: {outcomes:?}"
            );
        }
    }
}

/// One test per cell: `name => (stopper, action)`.
macro_rules! cells {
    ($($name:ident => ($point:ident, $action:ident)),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                cell(HoldPoint::$point, Action::$action);
            }
        )*
    };
}

cells! {
    cell_start_migrate => (BeforeStart, Migrate),
    cell_start_pause => (BeforeStart, Pause),
    cell_fixups_migrate => (BeforeFixups, Migrate),
    cell_fixups_pause => (BeforeFixups, Pause),
    cell_restart_migrate => (BeforeRearm, Migrate),
    cell_restart_pause => (BeforeRearm, Pause),
    cell_done_migrate => (BeforeDone, Migrate),
    cell_done_pause => (BeforeDone, Pause),
}

/// The pause-resume model: nothing of the GuC's state changes, no interrupt, the clock jumps.
#[test]
fn pause_resume_changes_nothing_but_the_clock() {
    let w = world(Version::new(1, 27), RecoveryConfig::DEFAULT);
    let clock_before = w.gucs[0].now();
    let seen = || -> Vec<_> {
        w.gucs
            .iter()
            .map(|g| {
                let v = (g.state(), g.provisioning(), g.marker(), g.negotiated());
                (v, g.migrations(), g.resfix_done_accepted(), g.scratch())
            })
            .collect()
    };
    let before = seen();
    pause_resume_vm(&w.gucs, PAUSED_FOR);
    let after = seen();
    assert_eq!(before, after);
    assert!(w.gucs.iter().all(|g| g.pending_interrupts().is_empty()));
    // One shared clock: moved once, by the pause's length.
    assert_eq!(
        w.gucs[1].now().0 - clock_before.0,
        PAUSED_FOR.as_nanos() as u64
    );
    assert!(w
        .gucs
        .iter()
        .all(|g| g.state_history().contains(&VfState::ReadyPaused)));
}

/// A teardown while the re-query is in flight (after the FIXUPS stopper): the pass is
/// cancelled before any fixup, and the crate still knows where the GGTT users are (applied:
/// the old base) and where they must go (reported: the re-query's base).
#[test]
fn teardown_during_the_requery_keeps_the_ggtt_truth() {
    for split in [true, false] {
        let w = world(
            Version::new(1, 27),
            RecoveryConfig::DEFAULT.with_split_phase(split),
        );
        *w.cell.lock().unwrap() = Some((HoldPoint::BeforeFixups, Action::TeardownAtNextWait));
        let outcomes = migrate_and_run(w);
        assert_eq!(outcomes, [PassOutcome::Cancelled], "split {split}");
        let ggtt = w.vf.get().unwrap().tile_ggtt(TileId(0)).unwrap();
        assert_eq!((ggtt.applied, ggtt.reported), (BASE, X1), "split {split}");
        assert!(ggtt.pending_move().is_some());
        let events = w.events();
        assert!(
            !events.iter().any(|e| e.starts_with("ggtt_fixup")),
            "split {split}: {events:?}"
        );
        assert_eq!(w.oracle.base(TileId(0)), Some(BASE));
    }
}

/// Legacy protocol: a GT reported again while its marker-less RESFIX_DONE is in flight (after
/// the "another recovery imminent" check) is not kickstarted: its GGTT is stale until the next
/// pass, which recovers it. Under both start policies and schedules.
#[test]
fn legacy_never_kickstarts_a_gt_reported_again() {
    for start in [StartPolicy::AnyGt, StartPolicy::AllGts] {
        for split in [true, false] {
            let mut config = RecoveryConfig::DEFAULT.with_split_phase(split);
            config.legacy = true;
            config.start = start;
            let w = world(Version::new(1, 26), config);
            *w.cell.lock().unwrap() = Some((HoldPoint::BeforeDone, Action::MigrateAtNextWait));
            let outcomes = migrate_and_run(w);
            let what = format!("{start:?}, split {split}");
            assert!(
                !w.migrate_at_next_wait.load(Ordering::SeqCst),
                "{what}: the second migration happened"
            );
            assert_settled(w, &outcomes, &what);
            assert_eq!(w.oracle.base(TileId(0)), Some(X2), "{what}");
        }
    }
}

/// With markers, a GT reported again (a late SW_INT_0, no migration) while its RESFIX_DONE is
/// in flight is still kickstarted once the GuC accepted this run's marker (as Linux 7.3: it logs
/// "another recovery imminent" and kickstarts); the queued run follows in the next pass.
#[test]
fn markers_kickstart_a_gt_reported_again_after_its_done_was_accepted() {
    for split in [true, false] {
        let w = world(
            Version::new(1, 27),
            RecoveryConfig::DEFAULT.with_split_phase(split),
        );
        *w.cell.lock().unwrap() = Some((HoldPoint::BeforeDone, Action::InterruptAtNextWait));
        let outcomes = migrate_and_run(w);
        let what = format!("split {split}: {outcomes:?}");
        assert!(matches!(outcomes[0], PassOutcome::Recovered(_)), "{what}");
        assert!(outcomes.len() >= 2, "{what}: the queued run follows");
        let events = w.events();
        let late = find(&events, 0, "host: late SW_INT_0");
        let _ = find(&events, late, "gt0 kickstart");
        assert!(w.gucs.iter().all(|g| g.state() == VfState::Running));
        assert_eq!(w.oracle.check(TileId(0), X1), Ok(()), "{what}");
        assert!(w.stale_kickstarts.lock().unwrap().is_empty(), "{what}");
    }
}

/// The pause-resume model's edges: a GuC already paused stays paused (no resume of a state the
/// host left paused), a GuC listed twice and a shared clock move once, own clocks each move.
#[test]
fn pause_resume_vm_moves_each_clock_once_and_leaves_a_paused_guc_paused() {
    let own = [GtKind::Primary, GtKind::Media].map(|kind| {
        let g: &'static MockGuc = Box::leak(Box::new(MockGuc::new(
            kind,
            Version::new(1, 27),
            Provisioning::integrated(),
        )));
        g
    });
    own[1].pause();
    let t = own.map(|g| g.now().0);
    pause_resume_vm(&[own[0], own[1], own[0]], PAUSED_FOR);
    let d = PAUSED_FOR.as_nanos() as u64;
    assert_eq!(own[0].now().0, t[0] + d, "listed twice, moved once");
    assert_eq!(own[1].now().0, t[1] + d);
    assert_eq!(own[1].state(), VfState::ReadyPaused);
    assert_eq!(own[0].state(), VfState::Ready);
    own[1].resume();
    assert_eq!(own[1].state(), VfState::Ready);
    assert_eq!(own[0].migrations() + own[1].migrations(), 0);
}
