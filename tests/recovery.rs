//! The recovery pipeline end to end on the mock GuC: migrations, second migrations at every hold
//! point, the legacy protocol, deferral, wedge, hooks and GGTT validity.
#![cfg(feature = "mock")]

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use xe_sriov_vf::coordinator::{GtId, GtSet, Signal, StartPolicy};
use xe_sriov_vf::gt::{Gt, GtInfo};
use xe_sriov_vf::mailbox::MailboxConfig;
use xe_sriov_vf::mock::{Fault, MockGuc, Provisioning, Trigger, VfState};
use xe_sriov_vf::recovery::{
    HoldPoint, HookError, PassOutcome, RecoveryConfig, RecoveryError, RecoveryHooks, Step, Vf,
};
use xe_sriov_vf::wire::action::code;
use xe_sriov_vf::wire::regs::{GtKind, GucIntr};
use xe_sriov_vf::wire::{GucError, Version};
use xe_sriov_vf::workqueue::TestQueue;

const BASE: u64 = 0x0020_0000;

/// Hooks that record what happened and can land a migration at a hold point.
#[derive(Default)]
struct Recorder {
    pm: AtomicI64,
    pm_max: AtomicI64,
    calls: Mutex<Vec<String>>,
    migrate_at: Mutex<Option<(HoldPoint, u64)>>,
    gucs: Mutex<Vec<&'static MockGuc>>,
    fail_fixups: AtomicBool,
    wedged: AtomicUsize,
    aborts: AtomicUsize,
    last_shift: AtomicI64,
    /// When set, a migration landed by `hold` also delivers its interrupts at once.
    prompt_irq: OnceLock<Box<dyn Fn(GtId) + Send + Sync>>,
}

impl Recorder {
    fn log(&self, s: String) {
        self.calls.lock().unwrap().push(s);
    }
}

impl RecoveryHooks for Recorder {
    fn pm_get(&self) {
        let now = self.pm.fetch_add(1, Ordering::SeqCst) + 1;
        self.pm_max.fetch_max(now, Ordering::SeqCst);
    }
    fn pm_put(&self) {
        self.pm.fetch_sub(1, Ordering::SeqCst);
    }
    fn shutdown(&self, gt: GtId) {
        self.log(format!("shutdown {}", gt.0));
    }
    fn fixups(&self, gt: GtId, shift: i64) -> Result<(), HookError> {
        self.log(format!("fixups {} {shift:#x}", gt.0));
        self.last_shift.store(shift, Ordering::SeqCst);
        if self.fail_fixups.load(Ordering::SeqCst) {
            return Err(HookError(-5));
        }
        Ok(())
    }
    fn rearm(&self, gt: GtId) -> Result<(), HookError> {
        self.log(format!("rearm {}", gt.0));
        Ok(())
    }
    fn kickstart(&self, gt: GtId) {
        self.log(format!("kickstart {}", gt.0));
    }
    fn abort(&self, _error: &RecoveryError) {
        self.aborts.fetch_add(1, Ordering::SeqCst);
    }
    fn wedged(&self, _error: &RecoveryError) {
        self.wedged.fetch_add(1, Ordering::SeqCst);
    }
    fn hold(&self, point: HoldPoint, gt: GtId) {
        let mut m = self.migrate_at.lock().unwrap();
        if let Some((at, ggtt)) = *m {
            if at == point && gt.0 == 0 {
                *m = None;
                for (i, guc) in self.gucs.lock().unwrap().iter().enumerate() {
                    guc.migrate(ggtt);
                    if let Some(signal) = self.prompt_irq.get() {
                        guc.take_interrupts();
                        signal(GtId(i as u8));
                    }
                }
            }
        }
    }
}

type TestVf = Vf<&'static MockGuc, Recorder, TestQueue, 2>;

fn gucs(abi: Version) -> [&'static MockGuc; 2] {
    let p = Provisioning::integrated();
    [
        Box::leak(Box::new(MockGuc::new(GtKind::Primary, abi, p))),
        Box::leak(Box::new(MockGuc::new(GtKind::Media, abi, p))),
    ]
}

fn vf_with(abi: Version, config: RecoveryConfig) -> (TestVf, [&'static MockGuc; 2]) {
    let g = gucs(abi);
    let info = |kind| GtInfo::new(kind, false, 2004);
    let gts = [
        Gt::new(g[0], info(GtKind::Primary), MailboxConfig::default()),
        Gt::new(g[1], info(GtKind::Media), MailboxConfig::default()),
    ];
    let hooks = Recorder::default();
    hooks.gucs.lock().unwrap().extend(g);
    let vf = Vf::new(gts, hooks, TestQueue::new(), config).unwrap();
    vf.bootstrap().unwrap();
    (vf, g)
}

fn vf(abi: Version) -> (TestVf, [&'static MockGuc; 2]) {
    vf_with(abi, RecoveryConfig::default())
}

/// Delivers every pending SW_INT_0 of the mocks to the VF.
fn deliver(vf: &TestVf, g: &[&MockGuc; 2]) {
    for (i, guc) in g.iter().enumerate() {
        let intr = guc.take_interrupts();
        if !intr.is_empty() {
            vf.handle_guc_interrupt(GtId(i as u8), intr);
        }
    }
}

/// Runs worker passes while the queue has work, delivering interrupts in between.
fn drain(vf: &TestVf, g: &[&MockGuc; 2]) -> Vec<PassOutcome> {
    let mut outcomes = Vec::new();
    for _ in 0..32 {
        deliver(vf, g);
        if !vf.queue().take() {
            deliver(vf, g);
            if !vf.queue().take() {
                break;
            }
        }
        outcomes.push(vf.run_worker());
    }
    outcomes
}

fn running(g: &[&MockGuc; 2]) -> bool {
    g.iter().all(|guc| guc.state() == VfState::Running)
}

#[test]
fn one_migration_recovers_both_gts_and_reports_the_shift() {
    let (vf, g) = vf(Version::new(1, 27));
    for guc in g {
        guc.migrate(BASE + 0x10_0000);
    }
    assert!(
        vf.ggtt_valid(GtId(0)),
        "the VF cannot know before the interrupt"
    );
    deliver(&vf, &g);
    assert!(!vf.ggtt_valid(GtId(0)));
    let outcomes = drain(&vf, &g);
    assert_eq!(outcomes, vec![PassOutcome::Recovered(GtSet::all(2))]);
    assert!(running(&g));
    assert!(vf.ggtt_valid(GtId(0)) && vf.ggtt_valid(GtId(1)));
    assert_eq!(vf.last_ggtt_shift(GtId(0)), Some(0x10_0000));
    assert_eq!(vf.hooks().pm.load(Ordering::SeqCst), 0);
    for guc in g {
        assert_eq!(guc.last_migration_done_count(), 1);
    }
    let calls = vf.hooks().calls.lock().unwrap().clone();
    assert_eq!(
        calls,
        [
            "shutdown 0",
            "shutdown 1",
            "fixups 0 0x100000",
            "fixups 1 0x100000",
            "rearm 0",
            "rearm 1",
            "kickstart 0",
            "kickstart 1"
        ]
    );
    let s = vf.stats();
    assert_eq!(
        (s.migrations_signalled, s.recoveries, s.completed),
        (2, 1, 1)
    );
    assert_eq!(s.fixups_completed, 2);
}

const HOLD_POINTS: [HoldPoint; 4] = [
    HoldPoint::BeforeStart,
    HoldPoint::BeforeFixups,
    HoldPoint::BeforeRearm,
    HoldPoint::BeforeDone,
];

/// A first migration, then a second one landing at `point` of the first recovery, its
/// interrupts delivered at once (`prompt`) or only after the pass. Checks what holds either way.
fn second_migration_at(point: HoldPoint, abi: Version, prompt: bool) -> [&'static MockGuc; 2] {
    let (vf, g) = vf(abi);
    let vf: &'static TestVf = Box::leak(Box::new(vf));
    if prompt {
        let _ = vf.hooks().prompt_irq.set(Box::new(move |gt| {
            vf.migrated(gt);
        }));
    }
    for guc in g {
        guc.migrate(BASE + 0x10_0000);
    }
    *vf.hooks().migrate_at.lock().unwrap() = Some((point, BASE + 0x40_0000));
    let outcomes = drain(vf, &g);
    let what = format!("{point:?} ABI {abi} prompt={prompt}: {outcomes:?}");
    assert!(running(&g), "{what}");
    assert!(!vf.is_wedged(), "{what}");
    assert!(outcomes.len() >= 2, "{what}");
    assert_eq!(vf.hooks().pm.load(Ordering::SeqCst), 0, "{what}");
    for i in 0..2u8 {
        assert_eq!(
            vf.with_gt(GtId(i), |gt| gt.config().unwrap().ggtt_start),
            Some(BASE + 0x40_0000),
            "{what}: gt{i} must end on the final GGTT base"
        );
        assert!(vf.ggtt_valid(GtId(i)), "{what}");
    }
    g
}

#[test]
fn second_migration_with_prompt_interrupt_gets_exactly_one_done() {
    for point in HOLD_POINTS {
        for abi in [Version::new(1, 27), Version::new(1, 26)] {
            for guc in second_migration_at(point, abi, true) {
                assert_eq!(guc.last_migration_done_count(), 1, "{point:?} {abi}");
            }
        }
    }
}

#[test]
fn second_migration_with_late_interrupt_still_ends_running_on_the_final_base() {
    // A migration whose interrupt arrives after a pass already recovered from it costs one
    // redundant pass (the GuC cannot tell the VF which migration an interrupt is for); the end
    // state is still right.
    for point in HOLD_POINTS {
        for abi in [Version::new(1, 27), Version::new(1, 26)] {
            for guc in second_migration_at(point, abi, false) {
                assert!(guc.last_migration_done_count() >= 1, "{point:?} {abi}");
            }
        }
    }
}

#[test]
fn vf_migrated_on_done_requeues() {
    let (vf, g) = vf(Version::new(1, 27));
    for guc in g {
        guc.migrate(BASE + 0x10_0000);
    }
    deliver(&vf, &g);
    // The second migration's interrupts are held back: only the marker mismatch tells.
    *vf.hooks().migrate_at.lock().unwrap() = Some((HoldPoint::BeforeDone, BASE));
    assert!(vf.queue().take());
    // The hook migrates both GTs but we do not deliver the interrupts before the pass ends.
    let out = vf.run_worker();
    // gt0 is checked at BeforeDone after the migration: imminent is false (no interrupt
    // delivered), so DONE goes out and is answered VF_MIGRATED.
    assert_eq!(
        out,
        PassOutcome::Requeued {
            recovered: GtSet::empty(),
            requeued: GtSet::all(2)
        }
    );
    assert_eq!(vf.stats().requeued, 1);
    for guc in g {
        guc.take_interrupts();
    }
    let outcomes = drain(&vf, &g);
    assert_eq!(outcomes, vec![PassOutcome::Recovered(GtSet::all(2))]);
    assert!(running(&g));
}

#[test]
fn legacy_protocol_sends_no_start_and_done_without_marker() {
    let (vf, g) = vf(Version::new(1, 26));
    g[0].migrate(BASE + 0x1000);
    g[1].migrate(BASE + 0x1000);
    let mut sent = Vec::new();
    drain(&vf, &g);
    g[0].drain_transcript(|e| sent.push(e.msg.as_slice()[0]));
    assert!(sent.contains(&0x0000_5508), "{sent:x?}");
    assert!(!sent
        .iter()
        .any(|dw| dw & 0xFFFF == code::RESFIX_START as u32));
    assert!(running(&g));
}

#[test]
fn require_markers_refuses_legacy_migration_without_wedging() {
    let (vf, g) = vf_with(
        Version::new(1, 26),
        RecoveryConfig {
            start: StartPolicy::AnyGt,
            require_markers: true,
        },
    );
    g[0].migrate(BASE);
    let outcomes = drain(&vf, &g);
    assert!(matches!(
        outcomes[0],
        PassOutcome::Unsupported { gt: GtId(0), .. }
    ));
    assert!(!vf.is_wedged());
    assert_eq!(g[0].state(), VfState::ResfixBlocked);
    assert_eq!(vf.stats().unsupported, 1);
}

#[test]
fn failures_wedge_exactly_once_and_stop_queueing() {
    let (vf, g) = vf(Version::new(1, 27));
    g[0].inject(
        Trigger::Action(code::RESFIX_DONE),
        Fault::Failure {
            error: GucError::GenericFail,
            hint: 0,
        },
    )
    .unwrap();
    g[0].migrate(BASE);
    g[1].migrate(BASE);
    let outcomes = drain(&vf, &g);
    assert!(matches!(
        outcomes.last(),
        Some(PassOutcome::Failed(RecoveryError::Gt {
            gt: GtId(0),
            step: Step::ResfixDone,
            ..
        }))
    ));
    assert!(vf.is_wedged());
    assert_eq!(vf.hooks().wedged.load(Ordering::SeqCst), 1);
    assert_eq!(vf.hooks().aborts.load(Ordering::SeqCst), 1);
    assert_eq!(vf.hooks().pm.load(Ordering::SeqCst), 0);
    // A wedged device queues nothing more.
    g[0].migrate(BASE + 0x1000);
    assert_eq!(
        vf.handle_guc_interrupt(GtId(0), g[0].take_interrupts()),
        Signal::Ignored
    );
    assert!(!vf.queue().take());
}

#[test]
fn fixups_hook_failure_wedges_and_ggtt_stays_invalid() {
    let (vf, g) = vf(Version::new(1, 27));
    vf.hooks().fail_fixups.store(true, Ordering::SeqCst);
    g[0].migrate(BASE + 0x2000);
    let outcomes = drain(&vf, &g);
    assert!(matches!(
        outcomes[0],
        PassOutcome::Failed(RecoveryError::Hook {
            step: Step::Fixups,
            error: HookError(-5),
            ..
        })
    ));
    assert!(!vf.ggtt_valid(GtId(0)));
    assert!(vf.ggtt_valid(GtId(1)));
}

#[test]
fn other_interrupt_bits_are_ignored_and_bad_gts_rejected() {
    let (vf, _g) = vf(Version::new(1, 27));
    assert_eq!(
        vf.handle_guc_interrupt(GtId(0), GucIntr::GUC2HOST),
        Signal::Ignored
    );
    assert_eq!(vf.migrated(GtId(7)), Signal::InvalidGt);
    assert!(!vf.ggtt_valid(GtId(7)));
    assert_eq!(vf.run_worker(), PassOutcome::NotStarted);
}

#[test]
fn teardown_stops_queueing() {
    let (vf, g) = vf(Version::new(1, 27));
    assert!(vf.teardown(|| false));
    g[0].migrate(BASE);
    assert_eq!(
        vf.handle_guc_interrupt(GtId(0), g[0].take_interrupts()),
        Signal::Ignored
    );
    assert_eq!(vf.run_worker(), PassOutcome::NotStarted);
}
