//! Tests that close the gaps `cargo mutants` found in src/coordinator.rs, src/recovery.rs,
//! src/mailbox.rs and src/gt.rs (`bash .ci/mutants.sh`). Each test names the mutants it kills;
//! every one fails fast (no test here relies on a timeout to catch a mutant). Mutants that no
//! test can kill are listed, with the reason, in .ci/mutants-reviewed.txt.
#![cfg(all(feature = "mock", feature = "std"))]

mod common;

use common::{Rig, RigBuilder, TILE_PAIR};

use std::sync::atomic::Ordering::SeqCst;
use std::sync::atomic::{AtomicBool, AtomicU32};
use std::sync::Mutex;
use std::time::Duration;

use xe_sriov_vf::coordinator::{Coordinator, GtId, GtSet, Signal, StartPolicy};
use xe_sriov_vf::device::Device;
use xe_sriov_vf::gt::{GpuKind, GraphicsIp, Gt, GtInfo, VfError, VF_RESET_ATTEMPTS};
use xe_sriov_vf::mailbox::{Mailbox, MailboxConfig, MailboxError};
use xe_sriov_vf::mock::{Dir, HookedDevice, MockGuc, Provisioning, VfState};
use xe_sriov_vf::recovery::{
    GtAccessError, HoldPoint, HookError, NoHooks, PassOutcome, PassReport, RecoveryConfig,
    RecoveryError, Step, Unsupported, Vf,
};
use xe_sriov_vf::tile::{GgttMove, TileId};
use xe_sriov_vf::wire::action::code;
use xe_sriov_vf::wire::regs::GtKind;
use xe_sriov_vf::wire::self_cfg::{SelfCfgError, SelfCfgKey};
use xe_sriov_vf::wire::{GucError, KlvKey, Request, Version, WireError};
use xe_sriov_vf::workqueue::{TestQueue, WorkQueue};

// ---------------------------------------------------------------------------------------------
// coordinator.rs
// ---------------------------------------------------------------------------------------------

/// A queue that looks at the coordinator from inside `queue()`, that is while the `signal` (or
/// `finish`, or hand-back) that queues is still in flight.
struct Probe<'a> {
    coordinator: &'a Coordinator,
    /// Per `queue()` call: `is_idle()` and the coordinator's `Debug` output.
    seen: Mutex<Vec<(bool, String)>>,
}

impl<'a> Probe<'a> {
    fn new(coordinator: &'a Coordinator) -> Self {
        Probe {
            coordinator,
            seen: Mutex::new(Vec::new()),
        }
    }
    fn seen(&self) -> Vec<(bool, String)> {
        self.seen.lock().unwrap().clone()
    }
}

impl WorkQueue for Probe<'_> {
    fn queue(&self) -> bool {
        let c = self.coordinator;
        self.seen
            .lock()
            .unwrap()
            .push((c.is_idle(), format!("{c:?}")));
        true
    }
}

fn coord(n: usize, policy: StartPolicy) -> Coordinator {
    Coordinator::new(n, policy).unwrap()
}

/// A signal is in flight (announced in the state word) while it calls `queue()`: the
/// coordinator is not idle then, and its Debug output counts exactly one signal in flight.
/// Kills the IN_FLIGHT_ONE mutants (`<<` -> `>>`, `-` -> `/`: a zero or misplaced unit) and the
/// IN_FLIGHT_MASK one (`delete !`), and the `signals_in_flight` arithmetic of the Debug impl.
#[test]
fn a_signal_is_in_flight_while_it_queues() {
    for policy in [StartPolicy::AnyGt, StartPolicy::AllGts] {
        let c = coord(1, policy);
        let probe = Probe::new(&c);
        assert_eq!(c.signal(GtId(0), &probe), Signal::Queued);
        let seen = probe.seen();
        assert_eq!(seen.len(), 1);
        let (idle, debug) = &seen[0];
        assert!(!idle, "{policy:?}: a signal calling queue() is in flight");
        assert!(debug.contains("signals_in_flight: 1 }"), "{debug}");
        // And retired once it returned.
        assert!(c.is_idle());
        assert!(format!("{c:?}").contains("signals_in_flight: 0 }"));
    }
}

/// The coordinator's Debug output, field by field, in states where every flag and set differs.
/// Kills the Debug impl's mask and shift mutants and the RUNNING constant moved into the
/// in-flight count (`-` -> `+`, `-` -> `/`).
#[test]
fn debug_output_shows_every_field() {
    let c = coord(3, StartPolicy::AnyGt);
    let q = TestQueue::new();
    let fresh = format!("{c:?}");
    assert_eq!(
        fresh,
        "Coordinator { num_gts: 3, policy: AnyGt, queued: {}, in_progress: {}, needs_fixes: {}, \
         work_queued: false, running: false, torn_down: false, wedged: false, \
         signals_in_flight: 0 }"
    );
    for g in 0..3 {
        let _ = c.signal(GtId(g), &q);
    }
    assert!(format!("{c:?}").contains("work_queued: true, running: false"));
    let _ = c.begin().unwrap();
    // GT 0: started, fixed, done. GT 1: started, fixed. GT 2: started only.
    for g in 0..3 {
        c.started(GtId(g));
    }
    assert!(c.fixed(GtId(0)) && c.done(GtId(0)));
    assert!(c.fixed(GtId(1)));
    // GT 1 reported again after its RESFIX_START: queued again (with needs fixes).
    let _ = c.signal(GtId(1), &q);
    assert_eq!(
        format!("{c:?}"),
        "Coordinator { num_gts: 3, policy: AnyGt, queued: {1}, in_progress: {1, 2}, \
         needs_fixes: {1, 2}, work_queued: true, running: true, torn_down: false, \
         wedged: false, signals_in_flight: 0 }"
    );
    assert!(c.done(GtId(2)) && c.fixed(GtId(2)));
    c.finish(&q);
    assert_eq!(
        format!("{c:?}"),
        "Coordinator { num_gts: 3, policy: AnyGt, queued: {1}, in_progress: {1}, \
         needs_fixes: {1}, work_queued: true, running: false, torn_down: false, \
         wedged: false, signals_in_flight: 0 }"
    );
    let _ = c.begin().unwrap();
    c.started(GtId(1));
    assert_eq!(
        format!("{c:?}"),
        "Coordinator { num_gts: 3, policy: AnyGt, queued: {}, in_progress: {1}, \
         needs_fixes: {1}, work_queued: false, running: true, torn_down: false, \
         wedged: false, signals_in_flight: 0 }"
    );
    assert!(c.wedge());
    c.teardown();
    assert!(format!("{c:?}").ends_with(
        "work_queued: false, running: true, torn_down: true, wedged: true, signals_in_flight: 0 }"
    ));
    let t = coord(1, StartPolicy::AllGts);
    t.teardown();
    assert!(format!("{t:?}").ends_with("torn_down: true, wedged: false, signals_in_flight: 0 }"));
    let w = coord(1, StartPolicy::AllGts);
    w.wedge();
    assert!(format!("{w:?}").ends_with("torn_down: false, wedged: true, signals_in_flight: 0 }"));
}

/// `is_running` is true exactly between `begin` and `finish`. Kills `is_running -> false`.
#[test]
fn is_running_between_begin_and_finish() {
    let c = coord(1, StartPolicy::AnyGt);
    let q = TestQueue::new();
    assert!(!c.is_running());
    let _ = c.signal(GtId(0), &q);
    assert!(!c.is_running());
    let _ = c.begin().unwrap();
    assert!(c.is_running());
    c.finish(&q);
    assert!(!c.is_running());
}

/// `Signal::queued` is true for `Queued` alone.
#[test]
fn signal_queued_is_true_for_queued_only() {
    assert!(Signal::Queued.queued());
    for s in [
        Signal::AlreadyPending,
        Signal::WaitingForOtherGts,
        Signal::Ignored,
        Signal::InvalidGt,
    ] {
        assert!(!s.queued(), "{s:?}");
    }
}

/// A union of overlapping sets keeps the common members (`|` -> `^` in `GtSet::union`), and
/// iterating a set ends after its members, fast (the `GtSet::iter` mutants otherwise loop until
/// the test times out).
#[test]
fn gtset_union_overlaps_and_iteration_ends() {
    let a = GtSet::from_bits(0b0110);
    let b = GtSet::from_bits(0b0011);
    assert_eq!(a.union(b), GtSet::from_bits(0b0111));
    assert_eq!(a.union(a), a);
    for bits in [0b1, 0b10, 0b11, 0b1010, 0b1_1111_1111] {
        let set = GtSet::from_bits(bits);
        let members: Vec<u8> = set.iter().take(64).map(|g| g.0).collect();
        let expected: Vec<u8> = (0..13).filter(|n| bits & (1 << n) != 0).collect();
        assert_eq!(members, expected, "{bits:#b}");
    }
}

/// `needs_fixes_gts` and `in_progress_gts` read their own bits, with sets that differ from the
/// queued and in-progress ones (`*` -> `+`, `*` -> `/` in the shift of `needs_fixes_gts`).
#[test]
fn needs_fixes_and_in_progress_sets_are_their_own() {
    let c = coord(3, StartPolicy::AnyGt);
    let q = TestQueue::new();
    for g in 0..3 {
        let _ = c.signal(GtId(g), &q);
    }
    let _ = c.begin().unwrap();
    for g in 0..3 {
        c.started(GtId(g));
    }
    assert!(c.fixed(GtId(0)));
    assert!(c.fixed(GtId(1)) && c.done(GtId(1)));
    // Q = {}, P = {0, 2}, F = {2}.
    assert_eq!(c.pending_gts(), GtSet::empty());
    assert_eq!(c.in_progress_gts(), GtSet::from_bits(0b101));
    assert_eq!(c.needs_fixes_gts(), GtSet::from_bits(0b100));
    c.finish(&q);
}

/// Under AllGts a GT whose report was absorbed by its queued recovery (its `R` bit set) and who
/// reports again after its RESFIX_START finds the set complete and the worker already queued:
/// `AlreadyPending`, not `WaitingForOtherGts` (`|` -> `^` in `(prev | r_of(q)) & all`). And
/// `reported_gts` / `awaiting_reports` read the `R` bits, not the queued ones.
#[test]
fn all_gts_reports_and_the_r_bits() {
    let c = coord(2, StartPolicy::AllGts);
    let q = TestQueue::new();
    assert_eq!(c.reported_gts(), GtSet::empty());
    let _ = c.signal(GtId(0), &q);
    assert_eq!(c.reported_gts(), GtSet::single(GtId(0)));
    let _ = c.signal(GtId(1), &q);
    assert_eq!(c.reported_gts(), GtSet::all(2));
    let _ = c.begin().unwrap();
    assert_eq!(
        c.reported_gts(),
        GtSet::empty(),
        "a pass clears the reports"
    );
    // GT 0 reports before its RESFIX_START (its R bit is set), GT 1 completes the set.
    assert_eq!(c.signal(GtId(0), &q), Signal::WaitingForOtherGts);
    assert_eq!(c.signal(GtId(1), &q), Signal::Queued);
    assert_eq!(c.reported_gts(), GtSet::all(2));
    c.started(GtId(0));
    // GT 0 again, after its RESFIX_START: the set is complete and the worker is queued.
    assert_eq!(c.signal(GtId(0), &q), Signal::AlreadyPending);
    c.started(GtId(1));
    c.finish(&q);

    // R and Q apart: 3 GTs, the R bits {0, 1}, the queued GTs {1}: waiting for GT 2 only.
    let c = coord(3, StartPolicy::AllGts);
    let q = TestQueue::new();
    for g in 0..3 {
        let _ = c.signal(GtId(g), &q);
    }
    let _ = c.begin().unwrap();
    assert_eq!(c.signal(GtId(0), &q), Signal::WaitingForOtherGts);
    for g in 0..3 {
        c.started(GtId(g));
    }
    assert_eq!(c.signal(GtId(1), &q), Signal::WaitingForOtherGts);
    c.finish(&q);
    assert_eq!(c.pending_gts(), GtSet::single(GtId(1)));
    assert_eq!(c.reported_gts(), GtSet::from_bits(0b011));
    assert_eq!(c.awaiting_reports(), GtSet::single(GtId(2)));
}

/// The AllGts pass is device-wide: `begin` marks every GT queued and in progress, also one that
/// did not report (`|` -> `&` before `take` in `begin`). And under AnyGt it keeps every GT's
/// in-progress and needs-fixes flags as they were.
#[test]
fn begin_marks_the_whole_pass() {
    let c = coord(2, StartPolicy::AllGts);
    let q = TestQueue::new();
    let _ = c.signal(GtId(0), &q);
    assert!(c.start_now(&q));
    assert_eq!(c.begin(), Some(GtSet::all(2)));
    assert_eq!(c.pending_gts(), GtSet::all(2));
    assert_eq!(c.in_progress_gts(), GtSet::all(2));
    assert_eq!(c.needs_fixes_gts(), GtSet::all(2));
    assert!(c.recovery_pending(GtId(1)) && c.needs_fixes(GtId(1)));

    let c = coord(2, StartPolicy::AnyGt);
    let _ = c.signal(GtId(0), &q);
    assert_eq!(c.begin(), Some(GtSet::single(GtId(0))));
    assert!(c.recovery_pending(GtId(0)) && c.needs_fixes(GtId(0)));
    assert!(!c.recovery_pending(GtId(1)) && !c.needs_fixes(GtId(1)));
}

/// `refuse` drops the queued flags of the GTs it is given, and no others (`&` -> `|`).
#[test]
fn refuse_touches_only_its_gts() {
    let c = coord(2, StartPolicy::AnyGt);
    let q = TestQueue::new();
    let _ = c.signal(GtId(0), &q);
    let _ = c.signal(GtId(1), &q);
    let gts = c.begin().unwrap();
    assert_eq!(gts, GtSet::all(2));
    c.refuse(GtSet::single(GtId(0)));
    assert_eq!(c.pending_gts(), GtSet::single(GtId(1)));
    c.refuse(GtSet::from_bits(0b100));
    assert_eq!(
        c.pending_gts(),
        GtSet::single(GtId(1)),
        "not a GT of this VF"
    );
    c.started(GtId(1));
    c.finish(&q);
}

/// A hand-back sets every flag of the GTs it hands back, whatever they were: a GT re-queued
/// after its fixups and DONE (its needs-fixes and in-progress flags clear) has both again, and a
/// GT postponed before its RESFIX_START (still queued) stays queued (`|` -> `^` after `cur` in
/// `give_back`).
#[test]
fn hand_backs_set_every_flag() {
    let c = coord(2, StartPolicy::AnyGt);
    let q = TestQueue::new();
    let _ = c.signal(GtId(0), &q);
    let _ = c.signal(GtId(1), &q);
    assert_eq!(c.begin(), Some(GtSet::all(2)));
    c.started(GtId(0));
    assert!(c.fixed(GtId(0)) && c.done(GtId(0)));
    assert!(!c.recovery_pending(GtId(0)) && !c.needs_fixes(GtId(0)));
    c.requeue(GtSet::single(GtId(0)), &q);
    assert!(c.recovery_pending(GtId(0)) && c.needs_fixes(GtId(0)));
    c.postpone(GtSet::single(GtId(1)), &q);
    assert_eq!(c.pending_gts(), GtSet::all(2));
    assert_eq!(c.in_progress_gts(), GtSet::all(2));
    assert_eq!(c.needs_fixes_gts(), GtSet::all(2));
    c.finish(&q);
    assert_eq!(c.begin(), Some(GtSet::all(2)));
}

/// `recovery_imminent`: the worker queued, or (AllGts) a report since the pass began; never
/// once wedged or torn down. Kills `recovery_imminent -> false` and its mask mutants.
#[test]
fn recovery_imminent_rules() {
    // AnyGt: the worker queued.
    let c = coord(2, StartPolicy::AnyGt);
    let q = TestQueue::new();
    assert!(!c.recovery_imminent());
    let _ = c.signal(GtId(0), &q);
    assert!(c.recovery_imminent(), "worker queued");
    let _ = c.begin().unwrap();
    assert!(!c.recovery_imminent(), "the pass took the work");
    c.started(GtId(0));
    let _ = c.signal(GtId(0), &q);
    assert!(c.recovery_imminent());
    c.wedge();
    assert!(!c.recovery_imminent(), "wedged");

    // AllGts: a report since the pass began, without the worker queued.
    let c = coord(2, StartPolicy::AllGts);
    let _ = c.signal(GtId(0), &q);
    let _ = c.signal(GtId(1), &q);
    let _ = c.begin().unwrap();
    assert!(!c.recovery_imminent());
    assert_eq!(c.signal(GtId(1), &q), Signal::WaitingForOtherGts);
    assert!(!c.is_queued());
    assert!(c.recovery_imminent(), "GT 1 reported since the pass began");
    c.teardown();
    assert!(!c.recovery_imminent(), "torn down");
}

/// `teardown_wait` goes on waiting while `relax` returns `true` (`delete !`).
#[test]
fn teardown_wait_waits_while_relax_says_so() {
    let c = coord(1, StartPolicy::AnyGt);
    let q = TestQueue::new();
    let _ = c.signal(GtId(0), &q);
    let _ = c.begin().unwrap();
    c.teardown();
    let mut calls = 0;
    let idle = c.teardown_wait(|| {
        calls += 1;
        if calls == 3 {
            c.finish(&q);
        }
        calls < 10
    });
    assert!(idle);
    assert_eq!(calls, 3);
}

// ---------------------------------------------------------------------------------------------
// mailbox.rs
// ---------------------------------------------------------------------------------------------

fn guc_1_27() -> MockGuc {
    MockGuc::new(
        GtKind::Primary,
        Version::new(1, 27),
        Provisioning::integrated(),
    )
}

/// The posting read after the request writes hits `VF_SW_FLAG(3)`, before the doorbell and
/// the first poll of `VF_SW_FLAG(0)` (`SCRATCH_COUNT - 1` -> `+ 1` or `/ 1`: scratch(4) wraps to
/// scratch 0, a read the GuC may take for a poll).
#[test]
fn the_posting_read_hits_scratch_3() {
    let guc = guc_1_27();
    // Every register read logged, in order.
    let reads = Mutex::new(Vec::new());
    let dev = HookedDevice::new(&guc).on_read(|guc, reg| {
        reads.lock().unwrap().push(reg);
        guc.read32(reg)
    });
    let regs = GtKind::Primary.mailbox();
    let mut mb = Mailbox::new(&dev, regs, MailboxConfig::KERNEL);
    mb.send(&Request::VfReset).unwrap();
    assert_eq!(*reads.lock().unwrap(), [regs.scratch(3), regs.scratch(0)]);
}

/// Every error's message, and which one has a source (`Display` -> `Ok(())`, the `source` arm
/// deleted or replaced with `None`).
#[test]
fn mailbox_errors_display_and_chain() {
    use std::error::Error;
    let cases: [(MailboxError, &str); 7] = [
        (
            MailboxError::BadRequestLength(5),
            "request of 5 dwords does not fit",
        ),
        (
            MailboxError::Timeout { last: 0x5507 },
            "no reply from the GuC (scratch 0 = 0x00005507)",
        ),
        (MailboxError::BusyTimeout, "busy timeout"),
        (
            MailboxError::LinkLost { losses: 3 },
            "GuC reply lost 3 times (scratch registers cleared)",
        ),
        (MailboxError::RetryLimit { retries: 3 }, "retry 3 times"),
        (
            MailboxError::VfMigrated { hint: 0x12 },
            "VF migrated (hint 0x12)",
        ),
        (MailboxError::ClockStalled, "clock does not advance"),
    ];
    for (error, text) in cases {
        assert!(error.to_string().contains(text), "{error:?}: {error}");
        assert!(error.source().is_none(), "{error:?}");
    }
    let remote = MailboxError::Remote {
        error: GucError::InvalidParams,
        hint: 1,
    };
    assert!(remote.to_string().contains("(hint 0x1)"), "{remote}");
    assert_eq!(
        remote.source().map(|s| s.to_string()),
        Some(GucError::InvalidParams.to_string())
    );
    let protocol = MailboxError::Protocol {
        header: 0x1234,
        error: WireError::WrongOrigin,
    };
    assert!(protocol.to_string().contains("0x00001234"), "{protocol}");
    assert_eq!(
        protocol.source().map(|s| s.to_string()),
        Some(WireError::WrongOrigin.to_string())
    );
}

// ---------------------------------------------------------------------------------------------
// gt.rs
// ---------------------------------------------------------------------------------------------

fn primary_gt(guc: &MockGuc) -> Gt<&MockGuc> {
    Gt::new(
        guc,
        GtInfo::of(GtKind::Primary, GpuKind::Integrated, GraphicsIp::new(20, 4)),
        MailboxConfig::KERNEL,
    )
}

/// The MATCH_VERSION requests, as sent.
fn match_requests(guc: &MockGuc) -> Vec<Vec<u32>> {
    let mut sent = Vec::new();
    guc.drain_transcript(|e| {
        let m = e.msg.as_slice();
        if e.dir == Dir::ToGuc && m[0] & 0xFFFF == u32::from(code::MATCH_VERSION) {
            sent.push(m.to_vec());
        }
    });
    sent
}

/// A re-handshake against a GuC whose version has a non-zero patch asks for the version in use
/// with patch 0 (a request's patch must be 0), and accepts the same major.minor.patch back
/// (`delete field patch` in the request).
#[test]
fn a_rehandshake_asks_with_patch_zero() {
    let patched = Version {
        patch: 3,
        ..Version::new(1, 27)
    };
    let guc = MockGuc::new(GtKind::Primary, patched, Provisioning::integrated());
    let mut gt = primary_gt(&guc);
    assert_eq!(gt.bootstrap(), Ok(patched));
    assert_eq!(gt.bootstrap(), Ok(patched), "the same version again");
    assert_eq!(
        match_requests(&guc),
        [
            vec![0x0000_5500, 0x0001_0200],
            vec![0x0000_5500, 0x0001_1B00]
        ]
    );
}

/// A GuC that drops VF_RESET: it is sent exactly VF_RESET_ATTEMPTS times, then the timeout is
/// the answer. The device answers the attempt after that, so a reset loop that does not stop
/// (`attempt < VF_RESET_ATTEMPTS` -> `true`, `+=` -> `*=`) returns `Ok` instead of hanging.
#[test]
fn vf_reset_gives_up_after_its_attempts_fast() {
    let guc = guc_1_27();
    // Quick timeouts: 50 ms of virtual time in 10 polls.
    guc.set_relax_step(Duration::from_nanos(5_000_000));
    let doorbells = AtomicU32::new(0);
    let dev = common::deaf_for(&guc, VF_RESET_ATTEMPTS, &doorbells);
    let mut gt = Gt::new(
        &dev,
        GtInfo::of(GtKind::Primary, GpuKind::Integrated, GraphicsIp::new(20, 4)),
        MailboxConfig::KERNEL,
    );
    assert!(matches!(
        gt.reset(),
        Err(VfError::Mailbox(MailboxError::Timeout { .. }))
    ));
    assert_eq!(doorbells.load(SeqCst), VF_RESET_ATTEMPTS);
    assert_eq!(gt.reset(), Ok(()), "the next reset is answered");
}

/// Which GT errors chain to a cause (`source` -> `None`, an arm deleted).
#[test]
fn gt_errors_chain_their_cause() {
    use std::error::Error;
    let mailbox = MailboxError::BusyTimeout;
    let chained = [
        VfError::Mailbox(mailbox),
        VfError::VersionRefused {
            wanted: Version::new(1, 2),
            guc: None,
            error: mailbox,
        },
    ];
    for e in chained {
        assert_eq!(
            e.source().map(|s| s.to_string()),
            Some(mailbox.to_string()),
            "{e:?}"
        );
    }
    let bad = VfError::BadReply {
        action: code::MATCH_VERSION,
        error: WireError::WrongOrigin,
    };
    assert_eq!(
        bad.source().map(|s| s.to_string()),
        Some(WireError::WrongOrigin.to_string())
    );
    for e in [
        VfError::SelfCfg {
            key: SelfCfgKey::MemirqSourceAddr,
            error: SelfCfgError::KeyNotRecognised,
        },
        VfError::ControlCtb(SelfCfgError::KeyNotRecognised),
    ] {
        assert_eq!(
            e.source().map(|s| s.to_string()),
            Some(SelfCfgError::KeyNotRecognised.to_string()),
            "{e:?}"
        );
    }
    assert!(VfError::NotBootstrapped.source().is_none());
}

/// A GGTT at or above 2^63, or one whose end overflows u64, is a range error, never an
/// arithmetic overflow (the issue's "GGTT starts at or above 2^63" and "start + size overflowing
/// u64" cases), at bootstrap and on a re-query.
#[test]
fn ggtt_ranges_far_out_are_range_errors() {
    for (start, size) in [
        (1u64 << 63, 0x1000u64),
        (u64::MAX - 0xFFF, 0x2000),
        (0xFEE0_0000 - 0x1000, u64::MAX - 0xFFF),
        (0xFEE0_0000, 0x1000),
    ] {
        let prov = {
            let mut c = Provisioning::integrated();
            c.ggtt_start = start;
            c.ggtt_size = size;
            c
        };
        let guc = MockGuc::new(GtKind::Primary, Version::new(1, 27), prov);
        let mut gt = primary_gt(&guc);
        gt.bootstrap().unwrap();
        assert_eq!(
            gt.query_config(),
            Err(VfError::GgttRange {
                start,
                size,
                wopcm: 2 << 20
            }),
            "{start:#x}+{size:#x}"
        );
        // A re-query that moves a good GGTT there (same size) is refused too, and the old one
        // kept.
        let guc = guc_1_27();
        let mut gt = primary_gt(&guc);
        gt.bootstrap().unwrap();
        let good = gt.query_config().unwrap();
        let moved = {
            let mut c = Provisioning::integrated();
            c.ggtt_start = start;
            c
        };
        guc.restore(moved);
        guc.resume();
        assert!(matches!(gt.query_config(), Err(VfError::GgttRange { .. })));
        assert_eq!(gt.config(), Some(&good));
        // With the size changed as well, the kernel's (7.3) first check after GGTT_SIZE finds
        // the reassignment before any range question.
        guc.restore(prov);
        guc.resume();
        assert_eq!(
            gt.query_config(),
            Err(VfError::Reassigned {
                key: KlvKey::GgttSize,
                old: good.ggtt_size,
                new: size
            })
        );
        assert_eq!(gt.config(), Some(&good));
    }
}

// ---------------------------------------------------------------------------------------------
// recovery.rs
// ---------------------------------------------------------------------------------------------

/// A holder that let go of the core queues the worker only when a pass was refused while it
/// held it: `with_gt` while no pass was refused queues nothing (under `AllGts` with a report
/// missing, where a stray `start_now` would queue the device-wide pass at once). Kills
/// `CoreLock::released -> true` in src/recovery/vf.rs (here, not as a unit test, because the
/// mutation group of the recovery files runs only tests/*.rs).
#[test]
fn holders_queue_the_worker_only_for_a_refused_pass() {
    let rig = RigBuilder::new(TILE_PAIR)
        .policy(StartPolicy::AllGts)
        .mmio();
    let vf = rig.vf;
    // GT 0 reported, GT 1 not yet: the pass waits for GT 1 (a `start_now` would start it).
    let _ = vf.migrated(GtId(0));
    assert_eq!(vf.awaiting_reports(), GtSet::single(GtId(1)));
    assert_eq!(vf.with_gt(GtId(0), |_| 7), Ok(7));
    assert_eq!(vf.run_worker(), PassOutcome::NotStarted);
    assert_eq!(vf.awaiting_reports(), GtSet::single(GtId(1)));
    assert_eq!(vf.stats().recoveries, 0);
}

type OneGt<'a> = Vf<&'a MockGuc, NoHooks, TestQueue, 1>;

fn one_gt_vf(guc: &MockGuc) -> OneGt<'_> {
    let vf = Vf::new(
        [primary_gt(guc)],
        NoHooks,
        TestQueue::new(),
        RecoveryConfig::default(),
    )
    .unwrap();
    vf.bootstrap().unwrap();
    vf
}

/// The names and messages of the recovery's types (`Step::name` -> "" or "xyzzy", the
/// `Display` impls -> `Ok(())`), and which errors chain a cause (`source` -> `None`).
#[test]
fn recovery_names_messages_and_causes() {
    use std::error::Error;
    let names = [
        (Step::ResfixStart, "RESFIX_START"),
        (Step::QueryConfig, "config query"),
        (Step::GgttFixup, "GGTT fixup"),
        (Step::GtFixups, "GT fixups"),
        (Step::Rearm, "rearm"),
        (Step::ResfixDone, "RESFIX_DONE"),
    ];
    for (step, name) in names {
        assert_eq!(step.name(), name);
    }
    assert_eq!(HookError(-5).to_string(), "hook error -5");
    assert!(Unsupported::NoMarkers.to_string().contains("1.27"));
    assert!(Unsupported::NoMemirq
        .to_string()
        .contains("memory-based interrupts"));
    assert_eq!(GtAccessError::UnknownGt.to_string(), "no such GT");
    assert!(GtAccessError::Busy.to_string().contains("busy"));

    let vf_error = VfError::NotBootstrapped;
    let gt = RecoveryError::Gt {
        gt: GtId(1),
        step: Step::QueryConfig,
        error: vf_error,
    };
    assert!(gt.to_string().contains("config query"), "{gt}");
    assert_eq!(
        gt.source().map(|s| s.to_string()),
        Some(vf_error.to_string())
    );
    let hook = RecoveryError::Hook {
        gt: GtId(0),
        step: Step::Rearm,
        error: HookError(-7),
    };
    assert_eq!(
        hook.source().map(|s| s.to_string()),
        Some("hook error -7".to_string())
    );
    let fixup = RecoveryError::GgttFixup {
        tile: TileId(0),
        gt: GtId(0),
        ggtt: GgttMove {
            old: 0x20_0000,
            new: 0x40_0000,
        },
        error: HookError(-22),
    };
    assert_eq!(
        fixup.source().map(|s| s.to_string()),
        Some("hook error -22".to_string())
    );
    let limit = RecoveryError::RequeueLimit {
        gt: GtId(0),
        requeues: 9,
        step: Step::ResfixDone,
    };
    assert!(limit.source().is_none());
}

/// The VF's own view of a GT: markers only from VF ABI 1.27 (`GtView::supports_markers` ->
/// `true`); an unknown GT's GGTT is never valid (`<` -> `<=` in `ggtt_valid`); its Debug output
/// (`Debug` -> `Ok(())`).
#[test]
fn gt_views_unknown_gts_and_debug() {
    let legacy = MockGuc::new(
        GtKind::Primary,
        Version::new(1, 26),
        Provisioning::integrated(),
    );
    let vf = one_gt_vf(&legacy);
    let view = vf.gt_view(GtId(0)).unwrap();
    assert_eq!(view.version, Some(Version::new(1, 26)));
    assert!(!view.supports_markers());
    let guc = guc_1_27();
    let vf = one_gt_vf(&guc);
    assert!(vf.gt_view(GtId(0)).unwrap().supports_markers());
    assert!(vf.ggtt_valid(GtId(0)));
    assert!(!vf.ggtt_valid(GtId(1)), "no GT 1");
    assert!(!vf.recovery_pending(GtId(1)));
    let debug = format!("{vf:?}");
    assert!(
        debug.starts_with("Vf { gts: 1, tiles: 1, config: "),
        "{debug}"
    );
    assert!(debug.contains("coordinator: Coordinator {"), "{debug}");
}

/// `Vf::coordinator()`'s view prints as the coordinator itself (`Debug` for `CoordinatorView`
/// -> `Ok(())`).
#[test]
fn the_coordinator_view_prints_as_the_coordinator() {
    let guc = guc_1_27();
    let vf = one_gt_vf(&guc);
    let _ = vf.migrated(GtId(0));
    let view = format!("{:?}", vf.coordinator());
    assert!(
        view.starts_with("Coordinator { num_gts: 1, policy: AnyGt, queued: {0},"),
        "{view}"
    );
    assert!(format!("{vf:?}").contains(&view));
}

/// Legacy protocol under AllGts: a report of another GT since the pass began makes another
/// recovery imminent, so RESFIX_DONE (which has no marker to be refused with) is deferred, with
/// no memirq in sight (`||` -> `&&` in `legacy_imminent`).
#[test]
fn legacy_all_gts_defers_done_on_another_gts_report() {
    let config = {
        let mut c = RecoveryConfig::DEFAULT;
        c.start = StartPolicy::AllGts;
        c.legacy = true;
        c.mmio_irq = true;
        c
    };
    let Rig { vf, gucs, .. } = RigBuilder::new(TILE_PAIR)
        .abi(Version::new(1, 26))
        .config(config)
        .mmio();
    // GT 1's migration reported once, when GT 0 is about to send RESFIX_DONE.
    let fired = AtomicBool::new(false);
    vf.hooks().on_hold(move |point, gt| {
        if point == HoldPoint::BeforeDone && gt == GtId(0) && !fired.swap(true, SeqCst) {
            let _ = vf.migrated(GtId(1));
        }
    });
    for (n, guc) in gucs.iter().enumerate() {
        guc.migrate(0x0100_0000);
        let _ = vf.handle_guc_interrupt(GtId(n as u8), guc.take_interrupts());
    }
    assert!(vf.queue().take());
    assert_eq!(
        vf.run_worker(),
        PassOutcome::Incomplete({
            let mut c = PassReport::default();
            c.deferred = GtSet::all(2);
            c
        })
    );
    assert_eq!(
        gucs[0].resfix_done_accepted(),
        0,
        "GT 0's DONE was deferred"
    );
    assert!(vf.queue().take());
    assert_eq!(vf.run_worker(), PassOutcome::Recovered(GtSet::all(2)));
    assert!(gucs.iter().all(|g| g.state() == VfState::Running));
    assert!(!vf.queue().take());
}
