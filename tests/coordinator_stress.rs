//! Stress test of the coordinator with real threads: several "interrupt" threads signal random GTs
//! at random times while a `ThreadQueue` worker runs recovery passes with random durations.
//!
//! Run: `cargo test --features std --test coordinator_stress`.
//!
//! Checks: never two passes at once, and every migration was covered by a pass that completed
//! after it (same ghost-counter scheme as `tests/loom.rs`: a GT's counter is bumped before its
//! `signal()`, a pass reads the counters of the GTs it took after `begin()` and records them when
//! it completes).
#![cfg(feature = "std")]

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use xe_sriov_vf::coordinator::{Coordinator, GtId, Signal, StartPolicy};
use xe_sriov_vf::workqueue::{ThreadQueue, WorkQueue};

const SIGNAL_THREADS: usize = 3;
const SIGNALS_PER_THREAD: usize = 5_000;

/// xorshift64*: small, seedable, good enough for timing jitter.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// A short random pause: mostly a spin, sometimes a yield, rarely a sleep.
    fn jitter(&mut self) {
        match self.below(100) {
            0 => std::thread::sleep(Duration::from_micros(self.below(50))),
            1..=9 => std::thread::yield_now(),
            _ => {
                for _ in 0..self.below(300) {
                    std::hint::spin_loop();
                }
            }
        }
    }
}

/// A `ThreadQueue` that counts the coordinator's `queue()` calls.
struct CountingQueue {
    inner: ThreadQueue,
    calls: AtomicUsize,
}

impl WorkQueue for CountingQueue {
    fn queue(&self) -> bool {
        self.calls.fetch_add(1, SeqCst);
        self.inner.queue()
    }
}

fn counting_queue() -> CountingQueue {
    CountingQueue {
        inner: ThreadQueue::with_park_timeout(Duration::from_millis(1)),
        calls: AtomicUsize::new(0),
    }
}

struct Shared {
    coord: Coordinator,
    queue: CountingQueue,
    migrations: Vec<AtomicUsize>,
    covered: Vec<AtomicUsize>,
    in_pass: AtomicUsize,
    completed: AtomicUsize,
    deferred: AtomicUsize,
}

/// One pass, in kernel 7.0's per-GT order: RESFIX_START (`started`), the re-query (reading the
/// ghost migration count), the fixups (`fixed`), RESFIX_DONE (`done`).
fn pass(s: &Shared, rng: &mut Rng) {
    let Some(gts) = s.coord.begin() else {
        return;
    };
    assert_eq!(s.in_pass.fetch_add(1, SeqCst), 0, "two passes at once");
    for g in gts.iter() {
        let i = g.0 as usize;
        s.coord.started(g);
        let seen = s.migrations[i].load(SeqCst);
        rng.jitter(); // the recovery itself
        s.coord.fixed(g);
        s.coord.done(g);
        s.covered[i].fetch_max(seen, SeqCst);
    }
    if !gts.is_empty() {
        s.completed.fetch_add(1, SeqCst);
    }
    assert_eq!(s.in_pass.fetch_sub(1, SeqCst), 1);
    s.coord.finish(&s.queue);
}

fn stress(num_gts: usize, policy: StartPolicy, seed: u64) {
    let s = Arc::new(Shared {
        coord: Coordinator::new(num_gts, policy).unwrap(),
        queue: counting_queue(),
        migrations: (0..num_gts).map(|_| AtomicUsize::new(0)).collect(),
        covered: (0..num_gts).map(|_| AtomicUsize::new(0)).collect(),
        in_pass: AtomicUsize::new(0),
        completed: AtomicUsize::new(0),
        deferred: AtomicUsize::new(0),
    });
    let worker = {
        let s = Arc::clone(&s);
        std::thread::spawn(move || {
            let mut rng = Rng::new(seed);
            s.queue.inner.serve(|| pass(&s, &mut rng)).unwrap();
        })
    };
    let signal = |s: &Shared, g: usize| {
        s.migrations[g].fetch_add(1, SeqCst);
        let r = s.coord.signal(GtId(g as u8), &s.queue);
        assert!(!matches!(r, Signal::InvalidGt | Signal::Ignored), "{r:?}");
    };
    let signallers: Vec<_> = (0..SIGNAL_THREADS)
        .map(|t| {
            let s = Arc::clone(&s);
            std::thread::spawn(move || {
                let mut rng = Rng::new(seed ^ (t as u64 + 1) << 32);
                for _ in 0..SIGNALS_PER_THREAD {
                    signal(&s, rng.below(num_gts as u64) as usize);
                    rng.jitter();
                }
            })
        })
        .collect();
    for t in signallers {
        t.join().unwrap();
    }
    // Settle: wait until nothing is queued or running. Under AllGts some GTs may still be
    // waiting for the others (legitimately); report a migration on the missing ones, as the
    // hardware would, so that the last pass completes the set.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut completions = 0;
    loop {
        while !(s.coord.is_idle() && !s.coord.is_queued() && !s.queue.inner.is_pending()) {
            assert!(Instant::now() < deadline, "never settled: {:?}", s.coord);
            std::thread::sleep(Duration::from_millis(1));
        }
        let pending = s.coord.pending_gts();
        if pending.is_empty() {
            break;
        }
        assert_eq!(policy, StartPolicy::AllGts, "AnyGt left {pending:?} behind");
        for g in 0..num_gts {
            if !pending.contains(GtId(g as u8)) {
                signal(&s, g);
                completions += 1;
            }
        }
    }
    s.queue.inner.stop();
    worker.join().unwrap();
    let total: usize = s.migrations.iter().map(|m| m.load(SeqCst)).sum();
    assert_eq!(total, SIGNAL_THREADS * SIGNALS_PER_THREAD + completions);
    for g in 0..num_gts {
        assert_eq!(
            s.covered[g].load(SeqCst),
            s.migrations[g].load(SeqCst),
            "GT {g}: a migration was not covered by a later completed pass ({policy:?}, {num_gts} GTs)"
        );
    }
    eprintln!(
        "{policy:?}/{num_gts} GTs: {total} migrations, {} passes begun, {} completed, {} deferred, {} queue() calls",
        s.coord.passes_begun(),
        s.completed.load(SeqCst),
        s.deferred.load(SeqCst),
        s.queue.calls.load(SeqCst)
    );
    assert!(s.completed.load(SeqCst) >= 1);
    assert_eq!(s.coord.deferrals(), s.deferred.load(SeqCst));
    assert!(s.coord.passes_begun() >= s.completed.load(SeqCst));
}

#[test]
fn stress_any_gt_2() {
    stress(2, StartPolicy::AnyGt, 1);
}

#[test]
fn stress_any_gt_4() {
    stress(4, StartPolicy::AnyGt, 2);
}

#[test]
fn stress_all_gts_2() {
    stress(2, StartPolicy::AllGts, 3);
}

#[test]
fn stress_all_gts_3() {
    stress(3, StartPolicy::AllGts, 4);
}

/// Teardown in the middle of the storm: after `teardown_wait`, nothing is queued and no pass runs.
#[test]
fn stress_teardown_mid_storm() {
    let s = Arc::new(Shared {
        coord: Coordinator::new(2, StartPolicy::AnyGt).unwrap(),
        queue: counting_queue(),
        migrations: (0..2).map(|_| AtomicUsize::new(0)).collect(),
        covered: (0..2).map(|_| AtomicUsize::new(0)).collect(),
        in_pass: AtomicUsize::new(0),
        completed: AtomicUsize::new(0),
        deferred: AtomicUsize::new(0),
    });
    let worker = {
        let s = Arc::clone(&s);
        std::thread::spawn(move || {
            let mut rng = Rng::new(7);
            s.queue.inner.serve(|| pass(&s, &mut rng)).unwrap();
        })
    };
    let signallers: Vec<_> = (0..2)
        .map(|t| {
            let s = Arc::clone(&s);
            std::thread::spawn(move || {
                let mut rng = Rng::new(100 + t);
                for _ in 0..SIGNALS_PER_THREAD {
                    let _ = s.coord.signal(GtId(rng.below(2) as u8), &s.queue);
                    rng.jitter();
                }
            })
        })
        .collect();
    while s.coord.passes_begun() < 20 {
        std::thread::yield_now();
    }
    s.coord.teardown();
    let deadline = Instant::now() + Duration::from_secs(5);
    assert!(s.coord.teardown_wait(|| {
        std::thread::yield_now();
        Instant::now() < deadline
    }));
    let passes = s.coord.passes_begun();
    let calls = s.queue.calls.load(SeqCst);
    for t in signallers {
        t.join().unwrap();
    }
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(s.queue.calls.load(SeqCst), calls, "queued after teardown");
    assert_eq!(
        s.coord.passes_begun(),
        passes,
        "a pass began after teardown"
    );
    assert!(!s.coord.is_running());
    s.queue.inner.stop();
    worker.join().unwrap();
    assert_eq!(
        s.coord.passes_begun(),
        passes,
        "a pass began after teardown"
    );
}
