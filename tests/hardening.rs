//! The hardening issue's attacks that are not about clocks (tests/clocks.rs) or AllGts
//! (tests/fault_matrix.rs, tests/loom.rs): a GuC that answers `VF_MIGRATED` for ever, the runtime
//! PM reference around `abort` and `wedged`, and hooks that read the VF. Each ends with the
//! VF-view oracle checked.
#![cfg(all(feature = "mock", feature = "std"))]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::Duration;

use common::{Call, Rig, RigBuilder, RigVf, SINGLE};
use xe_sriov_vf::coordinator::{GtId, GtSet};
use xe_sriov_vf::mailbox::MailboxConfig;
use xe_sriov_vf::mock::{Fault, HookedDevice, MockGuc, Provisioning, Trigger, VfState};
use xe_sriov_vf::recovery::{
    GtAccessError, HoldPoint, PassOutcome, PassReport, RecoveryConfig, RecoveryError, Step,
};
use xe_sriov_vf::tile::TileId;
use xe_sriov_vf::wire::action::code;
use xe_sriov_vf::wire::regs::GtKind;
use xe_sriov_vf::wire::{GucError, Version};

const BASE: u64 = 0x0020_0000;
const MOVED: u64 = 0x0120_0000;

/// What these tests add to the common recorder: a GuC that answers `VF_MIGRATED` to every
/// RESFIX_DONE while `always_migrated` is set, and a GGTT fixup hook that reads the VF.
#[derive(Default)]
struct Extras {
    always_migrated: AtomicBool,
    /// When set, the GGTT fixup hook reads the VF through its public accessors.
    reader: OnceLock<&'static TestVf>,
    /// What it read: the GT's published GGTT start, the tile's applied base, `with_gt`'s answer.
    seen: Mutex<Vec<Seen>>,
}

/// One read from inside the GGTT fixup hook.
type Seen = (Option<u64>, Option<u64>, Result<(), GtAccessError>);

type TestVf = RigVf<1>;

fn rig(config: RecoveryConfig) -> (&'static TestVf, &'static MockGuc) {
    let (vf, guc, _) = rig_x(config);
    (vf, guc)
}

/// [`rig`] and its [`Extras`], wired to the recorder.
fn rig_x(config: RecoveryConfig) -> (&'static TestVf, &'static MockGuc, &'static Extras) {
    let Rig { vf, gucs, .. } = RigBuilder::new(SINGLE).config(config).mmio();
    let guc = gucs[0];
    let x: &'static Extras = Box::leak(Box::default());
    vf.hooks().on_call(move |call| match *call {
        // Before the oracle moves the users: the hook reads the VF as a driver's would.
        Call::GgttFixup(tile, _) => {
            if let Some(vf) = x.reader.get() {
                let start = vf
                    .gt_view(GtId(0))
                    .and_then(|v| v.config)
                    .map(|c| c.ggtt_start);
                let applied = vf.tile_ggtt(tile).map(|t| t.applied);
                let access = vf.with_gt(GtId(0), |_| ());
                x.seen.lock().unwrap().push((start, applied, access));
            }
        }
        Call::Hold(HoldPoint::BeforeDone, _) if x.always_migrated.load(Ordering::SeqCst) => {
            guc.inject(
                Trigger::Action(code::RESFIX_DONE),
                Fault::Failure {
                    error: GucError::VfMigrated,
                    hint: 0,
                },
            )
            .unwrap();
        }
        _ => {}
    });
    (vf, guc, x)
}

/// Runs passes while work is queued (bounded); delivers no interrupt.
fn run_queued(vf: &TestVf) -> Vec<PassOutcome> {
    let mut passes = Vec::new();
    while vf.queue().take() && passes.len() < 64 {
        passes.push(vf.run_worker());
    }
    passes
}

fn migrate(vf: &TestVf, guc: &MockGuc, base: u64) {
    guc.migrate(base);
    let _ = vf.handle_guc_interrupt(GtId(0), guc.take_interrupts());
}

fn requeued() -> PassOutcome {
    PassOutcome::Incomplete({
        let mut c = PassReport::default();
        c.requeued = GtSet::single(GtId(0));
        c
    })
}

/// On main 2040d49 a GuC answering VF_MIGRATED to every RESFIX_DONE kept the VF re-queueing
/// for ever (10,000 passes, no error). Now the 9th re-queue in a row without an interrupt
/// wedges with a typed error naming the GT, the count and the step.
#[test]
fn endless_vf_migrated_wedges_after_the_requeue_bound() {
    let (vf, guc, x) = rig_x(RecoveryConfig::default());
    x.always_migrated.store(true, Ordering::SeqCst);
    migrate(vf, guc, MOVED);
    let passes = run_queued(vf);
    let limit = RecoveryConfig::DEFAULT_MAX_REQUEUES as usize;
    assert_eq!(passes.len(), limit + 1, "{passes:?}");
    assert!(
        passes[..limit].iter().all(|p| *p == requeued()),
        "{passes:?}"
    );
    assert_eq!(
        passes[limit],
        PassOutcome::Failed(RecoveryError::RequeueLimit {
            gt: GtId(0),
            requeues: limit as u32 + 1,
            step: Step::ResfixDone,
        })
    );
    let h = vf.hooks();
    assert!(vf.is_wedged());
    assert_eq!(h.wedged.load(Ordering::SeqCst), 1);
    assert_eq!(h.pm.load(Ordering::SeqCst), 0, "runtime PM balanced");
    // The VF's memory: moved once, to the GuC's base, whatever the GuC then refused.
    assert_eq!(h.oracle.check(TileId(0), MOVED), Ok(()));
    assert_eq!(h.oracle.moves(TileId(0)), 1);
    assert_eq!(guc.state(), VfState::ResfixBlocked);
    let text = passes[limit].to_string_lossy();
    assert!(text.contains("9 times"), "{text}");
}

/// Each real migration raises SW_INT_0, which starts the count again: a VM migrated while the
/// GuC keeps answering VF_MIGRATED is not wedged early, and recovers once the GuC accepts.
#[test]
fn a_new_interrupt_restarts_the_requeue_count() {
    let config = {
        let mut c = RecoveryConfig::DEFAULT;
        c.max_requeues = 3;
        c
    };
    let (vf, guc, x) = rig_x(config);
    let h = vf.hooks();
    x.always_migrated.store(true, Ordering::SeqCst);
    migrate(vf, guc, MOVED);
    let mut passes = Vec::new();
    for k in 0..3u64 {
        // Three re-queues, then a real migration (with its interrupt) before the fourth.
        for _ in 0..3 {
            assert!(vf.queue().take());
            passes.push(vf.run_worker());
        }
        migrate(vf, guc, MOVED + (k + 1) * 0x0010_0000);
    }
    assert!(passes.iter().all(|p| *p == requeued()), "{passes:?}");
    x.always_migrated.store(false, Ordering::SeqCst);
    guc.clear_faults();
    let rest = run_queued(vf);
    assert_eq!(
        rest.last(),
        Some(&PassOutcome::Recovered(GtSet::single(GtId(0))))
    );
    assert!(!vf.is_wedged());
    assert_eq!(guc.state(), VfState::Running);
    let last = MOVED + 3 * 0x0010_0000;
    assert_eq!(h.oracle.check(TileId(0), last), Ok(()));
    assert_eq!(h.oracle.total_shift(TileId(0)), (last - BASE) as i64);
    assert_eq!(h.pm.load(Ordering::SeqCst), 0);
}

/// `u32::MAX` is "no bound" (kernel 7.0): 100 re-queues in a row and no wedge.
#[test]
fn no_requeue_bound_when_asked() {
    let config = {
        let mut c = RecoveryConfig::DEFAULT;
        c.max_requeues = u32::MAX;
        c
    };
    let (vf, guc, x) = rig_x(config);
    x.always_migrated.store(true, Ordering::SeqCst);
    migrate(vf, guc, MOVED);
    for _ in 0..100 {
        assert!(vf.queue().take());
        assert_eq!(vf.run_worker(), requeued());
    }
    assert!(!vf.is_wedged());
}

/// The kernel releases the runtime-PM reference after the abort: inside `abort` and `wedged`
/// the reference is still held (on main 2040d49 both saw 0).
#[test]
fn runtime_pm_covers_abort_and_wedged() {
    let (vf, guc) = rig(RecoveryConfig::default());
    guc.inject(
        Trigger::Action(code::RESFIX_START),
        Fault::Failure {
            error: GucError::UnknownAction,
            hint: 0,
        },
    )
    .unwrap();
    migrate(vf, guc, MOVED);
    let passes = run_queued(vf);
    assert!(matches!(passes[..], [PassOutcome::Failed(_)]), "{passes:?}");
    let h = vf.hooks();
    assert_eq!(h.pm_at_abort.load(Ordering::SeqCst), 1);
    assert_eq!(h.pm_at_wedge.load(Ordering::SeqCst), 1);
    assert_eq!(h.pm.load(Ordering::SeqCst), 0);
    // Nothing moved: the pass failed before the re-query.
    assert_eq!(h.oracle.check(TileId(0), BASE), Ok(()));
}

/// On main 2040d49 the GT spin lock was held around every hook, so a hook calling `with_gt`
/// (then the only way to read a GT's configuration) spun for ever. Now a hook reads the
/// published views (already showing the new configuration; the applied base still the old one
/// inside the GGTT fixup) and `with_gt` answers `Busy` at once. The pass runs on a thread with a
/// watchdog, so a deadlock fails the test instead of hanging it.
#[test]
fn hooks_read_the_vf_without_deadlock() {
    let (vf, guc, x) = rig_x(RecoveryConfig::default());
    let h = vf.hooks();
    assert!(x.reader.set(vf).is_ok());
    assert_eq!(
        vf.gt_view(GtId(0))
            .and_then(|v| v.config)
            .map(|c| c.ggtt_start),
        Some(BASE)
    );
    assert!(vf.gt_view(GtId(0)).unwrap().supports_markers());
    assert_eq!(vf.with_gt(GtId(0), |g| g.supports_markers()), Ok(true));
    assert_eq!(vf.with_gt(GtId(7), |_| ()), Err(GtAccessError::UnknownGt));
    migrate(vf, guc, MOVED);
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let passes = run_queued(vf);
        let _ = done.send(passes);
    });
    let passes = finished
        .recv_timeout(Duration::from_secs(10))
        .expect("the pass deadlocked on a hook that reads the VF");
    assert_eq!(passes, [PassOutcome::Recovered(GtSet::single(GtId(0)))]);
    assert_eq!(
        *x.seen.lock().unwrap(),
        [(Some(MOVED), Some(BASE), Err(GtAccessError::Busy))]
    );
    assert_eq!(vf.tile_ggtt(TileId(0)).map(|t| t.applied), Some(MOVED));
    assert_eq!(h.oracle.check(TileId(0), MOVED), Ok(()));
    assert_eq!(
        vf.with_gt(GtId(0), |_| ()),
        Ok(()),
        "free again after the pass"
    );
}

trait Lossy {
    fn to_string_lossy(&self) -> String;
}

impl Lossy for PassOutcome {
    fn to_string_lossy(&self) -> String {
        match self {
            PassOutcome::Failed(e) => e.to_string(),
            other => format!("{other:?}"),
        }
    }
}

/// BUSY, then FAILURE: the GuC started on the request, then refused it (on main 2040d49 the
/// mock could not script this and nothing exercised it). The mailbox reports the FAILURE, not
/// a busy timeout; a VF_MIGRATED after BUSY on RESFIX_DONE re-queues like a prompt one.
#[test]
fn busy_then_failure_is_the_failure() {
    use xe_sriov_vf::mailbox::{Mailbox, MailboxError};
    let guc = MockGuc::new(
        GtKind::Primary,
        Version::new(1, 27),
        Provisioning::integrated(),
    );
    guc.set_relax_step(Duration::from_nanos(1_000_000));
    let mut mb = Mailbox::new(&guc, GtKind::Primary.mailbox(), MailboxConfig::KERNEL);
    for (error, want) in [
        (GucError::VfMigrated, MailboxError::VfMigrated { hint: 7 }),
        (
            GucError::GenericFail,
            MailboxError::Remote {
                error: GucError::GenericFail,
                hint: 7,
            },
        ),
    ] {
        guc.inject(
            Trigger::AnyRequest,
            Fault::BusyThenFailure {
                count: 3,
                error,
                hint: 7,
            },
        )
        .unwrap();
        assert_eq!(mb.send_recv(&[0x0000_5503]).map(|_| ()), Err(want));
    }

    let (vf, guc) = rig(RecoveryConfig::default());
    guc.inject(
        Trigger::Action(code::RESFIX_DONE),
        Fault::BusyThenFailure {
            count: 2,
            error: GucError::VfMigrated,
            hint: 0,
        },
    )
    .unwrap();
    migrate(vf, guc, MOVED);
    let passes = run_queued(vf);
    assert_eq!(
        passes,
        [requeued(), PassOutcome::Recovered(GtSet::single(GtId(0)))]
    );
    assert_eq!(guc.state(), VfState::Running);
    assert_eq!(vf.hooks().oracle.check(TileId(0), MOVED), Ok(()));
    assert_eq!(vf.hooks().oracle.moves(TileId(0)), 1);
}

/// A cooperative, single-CPU kernel: the worker's mailbox wait yields (`Device::relax`) and the
/// scheduler runs another task on the same CPU, which asks the VF about its GTs. On main 2040d49
/// `with_gt` spun for ever on the lock the yielded worker held; now every accessor answers at
/// once (`with_gt` and `bootstrap` with `Busy`, the views with the published copies).
#[test]
fn a_task_run_while_the_worker_yields_never_spins() {
    use xe_sriov_vf::device::Device;
    use xe_sriov_vf::recovery::BootstrapError;

    let other_task: &'static OnceLock<Box<dyn Fn() + Send + Sync>> = Box::leak(Box::default());
    let Rig { vf, gucs, .. } = RigBuilder::new(SINGLE)
        // Every reply takes a few polls, so the worker yields inside each exchange.
        .relax_step(Duration::from_nanos(1_000))
        .device(move |_, gucs| {
            common::leak_dyn(HookedDevice::new(gucs[0]).on_relax(move |guc| {
                guc.relax();
                // The scheduler switches to the other task, on this same CPU.
                if let Some(task) = other_task.get() {
                    task();
                }
            }))
        })
        .mmio();
    let guc = gucs[0];
    assert_eq!(vf.hooks().oracle.base(TileId(0)), Some(BASE));
    let answers: &'static Mutex<Vec<String>> = Box::leak(Box::default());
    let _ = other_task.set(Box::new(move || {
        let view = vf
            .gt_view(GtId(0))
            .and_then(|v| v.config)
            .map(|c| c.ggtt_start);
        let tile = vf.tile_ggtt(TileId(0)).map(|t| t.applied);
        let access = vf.with_gt(GtId(0), |_| ());
        let boot = vf.bootstrap();
        answers
            .lock()
            .unwrap()
            .push(format!("{view:x?} {tile:x?} {access:?} {boot:?}"));
    }));
    // Make the GuC slow: each request answered after BUSY, so relax() runs during the pass.
    for _ in 0..4 {
        guc.inject(Trigger::AnyRequest, Fault::Busy { count: 2 })
            .unwrap();
    }
    guc.migrate(MOVED);
    let _ = vf.handle_guc_interrupt(GtId(0), guc.take_interrupts());
    assert!(vf.queue().take());
    assert_eq!(
        vf.run_worker(),
        PassOutcome::Recovered(GtSet::single(GtId(0)))
    );
    let seen = answers.lock().unwrap();
    assert!(!seen.is_empty(), "the worker never yielded");
    assert!(
        seen.iter().all(|s| s.ends_with(&format!(
            "Err({:?}) Err({:?})",
            GtAccessError::Busy,
            BootstrapError::Busy
        ))),
        "{seen:?}"
    );
    assert_eq!(vf.hooks().oracle.check(TileId(0), MOVED), Ok(()));
}

/// The other way round: the worker is scheduled while a task is inside its `with_gt` closure.
/// The pass does not wait for the GTs: it answers `Busy`, stays queued, and the next run
/// recovers.
#[test]
fn a_pass_that_finds_the_gts_held_is_queued_again() {
    let (vf, guc) = rig(RecoveryConfig::default());
    migrate(vf, guc, MOVED);
    // A polling loop scheduled inside the closure ends: the refused pass is not queued again
    // until the holder lets go (no hot loop, no spinning on the GTs).
    let inner = vf
        .with_gt(GtId(0), |_| {
            let mut outcomes = Vec::new();
            while vf.queue().take() {
                outcomes.push(vf.run_worker());
                assert!(outcomes.len() < 4, "hot loop: {outcomes:?}");
            }
            outcomes
        })
        .expect("with_gt");
    assert_eq!(inner, [PassOutcome::Busy(GtSet::single(GtId(0)))]);
    assert!(vf.queue().is_pending(), "queued again once with_gt let go");
    assert!(vf.recovery_pending(GtId(0)) && !vf.ggtt_valid(GtId(0)));
    let passes = run_queued(vf);
    assert_eq!(passes, [PassOutcome::Recovered(GtSet::single(GtId(0)))]);
    assert_eq!(vf.hooks().oracle.check(TileId(0), MOVED), Ok(()));
    assert_eq!(vf.hooks().pm.load(Ordering::SeqCst), 0);
}

/// The legacy protocol under `AllGts`: a report that lands before RESFIX_DONE makes the
/// device-wide "another recovery imminent" true, so the marker-less DONE is skipped (deferred)
/// and the next pass recovers on the newest base. (Kills a mutant of `legacy_imminent` that
/// only counted a report when a memirq byte was set too.)
#[test]
fn legacy_all_gts_defers_done_when_a_report_lands_before_it() {
    let config = {
        let mut c = RecoveryConfig::default();
        c.start = xe_sriov_vf::StartPolicy::AllGts;
        c.legacy = true;
        c
    };
    let Rig { vf, gucs, .. } = RigBuilder::new(SINGLE)
        .abi(Version::new(1, 26))
        .config(config)
        .mmio();
    let guc = gucs[0];
    // Once, before RESFIX_DONE: the VM moves again and its interrupt lands.
    let fired = AtomicBool::new(false);
    vf.hooks().on_hold(move |point, gt| {
        if point == HoldPoint::BeforeDone && !fired.swap(true, Ordering::SeqCst) {
            guc.migrate(MOVED + 0x0010_0000);
            let _ = vf.handle_guc_interrupt(gt, guc.take_interrupts());
        }
    });
    guc.migrate(MOVED);
    let _ = vf.handle_guc_interrupt(GtId(0), guc.take_interrupts());
    let passes = {
        let mut v = Vec::new();
        while vf.queue().take() && v.len() < 8 {
            v.push(vf.run_worker());
        }
        v
    };
    assert!(
        matches!(passes[0], PassOutcome::Incomplete(r) if r.deferred == GtSet::single(GtId(0))),
        "{passes:?}"
    );
    assert_eq!(
        passes.last(),
        Some(&PassOutcome::Recovered(GtSet::single(GtId(0))))
    );
    assert_eq!(guc.state(), VfState::Running);
    let last = MOVED + 0x0010_0000;
    assert_eq!(vf.hooks().oracle.check(TileId(0), last), Ok(()));
    // The read-only view prints the coordinator's state (kills a Debug mutant).
    let text = format!("{:?}", vf.coordinator());
    assert!(
        text.contains("Coordinator") && text.contains("AllGts"),
        "{text}"
    );
}
