//! "Every wait is bounded" for any clock an embedder can write: monotonic, stopped, jumping
//! backwards, jittering, wrapping past `u64::MAX`, running backwards. Each shape is run through
//! the `Stopwatch` itself, a mailbox wait on a GuC that never answers, and a wait for a GGTT
//! that does not become valid; every wait must end with the typed answer the `Stopwatch` docs
//! give for that shape, within a bounded number of clock readings (so a mutant that spins fails
//! here fast instead of hanging the suite).
#![cfg(all(feature = "mock", feature = "std"))]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use xe_sriov_vf::coordinator::GtId;
use xe_sriov_vf::device::{Clock, Instant, Stopwatch};
use xe_sriov_vf::gt::{Gt, GtInfo};
use xe_sriov_vf::mailbox::{Mailbox, MailboxConfig, MailboxError};
use xe_sriov_vf::mock::{Fault, HookedDevice, MockGuc, Provisioning, Trigger};
use xe_sriov_vf::recovery::{GgttWait, NoHooks, RecoveryConfig, Vf, GGTT_WAIT_STALL_POLLS};
use xe_sriov_vf::wire::regs::GtKind;
use xe_sriov_vf::wire::Version;
use xe_sriov_vf::workqueue::TestQueue;

const MS: u64 = 1_000_000;

/// What the `n`-th reading of a clock is.
#[derive(Clone, Copy, Debug)]
enum Shape {
    /// 1 ms per reading.
    Monotonic,
    /// Always the same value.
    Stopped,
    /// 1 ms per reading, but the 3rd reading jumps one hour back.
    BackwardsOnce,
    /// Alternates between two values 10 ns apart.
    Jitter,
    /// 1 ms per reading, starting 10 ms before `u64::MAX`.
    Wrapping,
    /// 1 ms less per reading.
    AlwaysBackwards,
}

impl Shape {
    const ALL: [Shape; 6] = [
        Shape::Monotonic,
        Shape::Stopped,
        Shape::BackwardsOnce,
        Shape::Jitter,
        Shape::Wrapping,
        Shape::AlwaysBackwards,
    ];

    fn reading(self, n: u64) -> u64 {
        const T0: u64 = 1 << 50;
        match self {
            Shape::Monotonic => T0 + n * MS,
            Shape::Stopped => T0,
            Shape::BackwardsOnce if n < 3 => T0 + n * MS,
            Shape::BackwardsOnce => T0 - 3_600_000 * MS + n * MS,
            Shape::Jitter => T0 + (n % 2) * 10,
            Shape::Wrapping => (u64::MAX - 10 * MS).wrapping_add(n * MS),
            Shape::AlwaysBackwards => T0 - n * MS,
        }
    }
}

/// A scripted clock that counts its readings.
struct ScriptClock {
    shape: Shape,
    reads: AtomicU64,
}

impl ScriptClock {
    fn new(shape: Shape) -> ScriptClock {
        ScriptClock {
            shape,
            reads: AtomicU64::new(0),
        }
    }
    fn reads(&self) -> u64 {
        self.reads.load(Ordering::SeqCst)
    }
}

impl Clock for ScriptClock {
    fn now(&self) -> Instant {
        let n = self.reads.fetch_add(1, Ordering::SeqCst);
        // Fail fast instead of hanging the suite when a wait does not end.
        assert!(
            n < 4_000_000,
            "{:?}: the wait did not end ({n} readings)",
            self.shape
        );
        Instant(self.shape.reading(n))
    }
    fn relax(&self) {}
}

/// What a wait of `timeout` (ms) with stall bound `stall` ends as, per shape: `true` = timed out,
/// `false` = clock stalled (the table in the `Stopwatch` docs).
fn times_out(shape: Shape) -> bool {
    match shape {
        Shape::Monotonic | Shape::BackwardsOnce | Shape::Wrapping => true,
        Shape::Stopped | Shape::Jitter | Shape::AlwaysBackwards => false,
    }
}

#[test]
fn stopwatch_measures_every_shape_as_documented() {
    for shape in Shape::ALL {
        let mut w = Stopwatch::start(Instant(shape.reading(0)));
        for n in 1..=100 {
            w.observe(Instant(shape.reading(n)));
        }
        let (elapsed, stalled) = (w.elapsed_ns(), w.stalled_polls());
        match shape {
            Shape::Monotonic | Shape::Wrapping => assert_eq!((elapsed, stalled), (100 * MS, 0)),
            Shape::Stopped | Shape::AlwaysBackwards => assert_eq!((elapsed, stalled), (0, 100)),
            // 2 ms before the jump, 97 ms after it; still behind the high-water mark.
            Shape::BackwardsOnce => assert_eq!((elapsed, stalled), (99 * MS, 98)),
            // 10 ns up on every other reading; never a new maximum after the first.
            Shape::Jitter => assert_eq!((elapsed, stalled), (500, 99)),
        }
    }
}

#[test]
fn instant_compares_modulo_2_pow_64() {
    assert_eq!(Instant(5).nanos_since(Instant(u64::MAX - 4)), 10);
    assert_eq!(Instant(5).nanos_since(Instant(6)), 0);
    assert_eq!(Instant(7).nanos_since(Instant(7)), 0);
    assert!(Instant(0).is_after(Instant(u64::MAX)));
    assert!(!Instant(u64::MAX).is_after(Instant(0)));
    assert_eq!(
        Instant(1 << 63).nanos_since(Instant(0)),
        0,
        "half the range is backwards"
    );
    assert_eq!(
        Instant((1 << 63) - 1).nanos_since(Instant(0)),
        (1 << 63) - 1
    );
}

/// One request to a GuC that never answers, with the clock `shape` and stall bound `stall`:
/// the mailbox's answer and how many clock readings it took.
fn silent_request(shape: Shape, stall: u32) -> (Result<(), MailboxError>, u64) {
    let guc = MockGuc::new(
        GtKind::Primary,
        Version::new(1, 27),
        Provisioning::integrated(),
    );
    guc.inject(Trigger::AnyRequest, Fault::NoReply).unwrap();
    // The mock's registers with the scripted clock, and a plain spin between polls.
    let clock = ScriptClock::new(shape);
    let dev = HookedDevice::new(&guc)
        .on_now(|_| clock.now())
        .on_relax(|_| core::hint::spin_loop());
    let cfg = {
        let mut c = MailboxConfig::KERNEL;
        c.stall_polls = stall;
        c.resend_after_flr = false;
        c
    };
    let mut mb = Mailbox::new(&dev, GtKind::Primary.mailbox(), cfg);
    let result = mb.send_recv(&[0x0000_5507]).map(|_| ());
    (result, clock.reads())
}

#[test]
fn mailbox_waits_end_for_every_clock_shape() {
    const STALL: u32 = 1000;
    for shape in Shape::ALL {
        let (result, reads) = silent_request(shape, STALL);
        if times_out(shape) {
            assert!(
                matches!(result, Err(MailboxError::Timeout { .. })),
                "{shape:?}: {result:?}"
            );
            assert!(
                reads <= 60,
                "{shape:?}: 50 ms at 1 ms a reading, took {reads}"
            );
        } else {
            assert_eq!(result, Err(MailboxError::ClockStalled), "{shape:?}");
            assert!(reads <= u64::from(STALL) + 2, "{shape:?}: {reads} readings");
        }
    }
}

#[test]
fn a_stall_bound_of_zero_acts_as_one() {
    // A healthy clock never stalls, whatever the bound.
    let (result, _) = silent_request(Shape::Monotonic, 0);
    assert!(
        matches!(result, Err(MailboxError::Timeout { .. })),
        "{result:?}"
    );
    // And a stopped one stalls after one reading without progress.
    let (result, reads) = silent_request(Shape::Stopped, 0);
    assert_eq!(result, Err(MailboxError::ClockStalled));
    assert!(reads <= 3, "{reads}");
}

#[test]
fn ggtt_waits_end_for_every_clock_shape() {
    let guc = MockGuc::new(
        GtKind::Primary,
        Version::new(1, 27),
        Provisioning::integrated(),
    );
    let gt = Gt::new(
        &guc,
        GtInfo::new(GtKind::Primary, false, 2004),
        MailboxConfig::KERNEL,
    );
    let vf: Vf<&MockGuc, NoHooks, TestQueue, 1> = Vf::new(
        [gt],
        NoHooks,
        TestQueue::new(),
        RecoveryConfig::default().with_mmio_irq(),
    )
    .unwrap();
    vf.bootstrap().unwrap();
    guc.migrate(0x0100_0000);
    let _ = vf.handle_guc_interrupt(GtId(0), guc.take_interrupts());
    assert!(!vf.ggtt_valid(GtId(0)));
    for shape in Shape::ALL {
        for timeout in [50 * MS, u64::MAX] {
            let expect = match (times_out(shape), timeout) {
                // u64::MAX of a clock that runs is for ever: nothing to test.
                (true, u64::MAX) => continue,
                (true, _) => GgttWait::TimedOut,
                (false, _) => GgttWait::ClockStalled,
            };
            let clock = ScriptClock::new(shape);
            let answer = vf.wait_ggtt_valid(GtId(0), &clock, Duration::from_nanos(timeout));
            let reads = clock.reads();
            assert_eq!(answer, expect, "{shape:?}, timeout {timeout}");
            assert!(
                reads <= u64::from(GGTT_WAIT_STALL_POLLS) + 60,
                "{shape:?}: {reads} readings"
            );
        }
    }
    // The answers that can no longer change come at once, whatever the clock.
    assert_eq!(
        vf.wait_ggtt_valid(GtId(3), &ScriptClock::new(Shape::Stopped), Duration::MAX),
        GgttWait::UnknownGt
    );
    assert!(vf.teardown(|| false));
    let clock = ScriptClock::new(Shape::Stopped);
    assert_eq!(
        vf.wait_ggtt_valid(GtId(0), &clock, Duration::MAX),
        GgttWait::TornDown
    );
    assert!(clock.reads() <= 1);
}

/// A contrived clock (from review): back by 3 * 2^61, then to the old maximum plus 2^62, again
/// and again. Every other reading is a new maximum (so no stall) and every step is "backwards"
/// (half the range or more); before the fix the wait measured no time at all and never ended.
#[test]
fn a_clock_that_leaps_back_and_past_its_maximum_still_makes_time() {
    let q = 1u64 << 61;
    let mut w = Stopwatch::start(Instant(0));
    let mut high = 0u64;
    for _ in 0..1000 {
        w.observe(Instant(high.wrapping_sub(3 * q)));
        high = high.wrapping_add(2 * q);
        w.observe(Instant(high));
    }
    assert!(w.elapsed_ns() >= 1000 * 2 * q.min(u64::MAX / 4000), "{w:?}");
}
