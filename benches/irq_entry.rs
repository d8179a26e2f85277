//! Cost of the interrupt-context entry `Coordinator::signal`, beside a mutex-based baseline doing
//! the same job (`std::sync::Mutex<State>`), in the same run.
//!
//! Run: `cargo bench --bench irq_entry` (short: `-- --warm-up-time 1 --measurement-time 2`).
//!
//! Benchmarks (each as `lockfree` and `mutex`):
//! - `steady_already_pending`: one thread, a pass is already queued, so every call takes the
//!   common path (mark the GT, see `QUEUED`, return `AlreadyPending`).
//! - `cycle_signal_begin_finish`: one thread; each iteration is a whole cycle: `signal` (which
//!   queues), the worker's `take` + `begin` + `finish`. The state word goes through every state.
//! - `two_threads_contended`: ns per `signal` on one thread while a second thread signals the
//!   other GT as fast as it can (steady state, nobody consuming).
//!
//! Note that a mutex is only a baseline here: a real interrupt handler cannot block on a lock that
//! the interrupted worker may hold.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use xe_sriov_vf::coordinator::{Coordinator, GtId, GtSet, Signal, StartPolicy};
use xe_sriov_vf::workqueue::{PollingQueue, WorkQueue};

/// The same coordinator job behind a mutex.
#[derive(Default)]
struct State {
    bits: usize,
    queued: bool,
    running: bool,
    torn_down: bool,
    wedged: bool,
    signalled: usize,
}

struct MutexCoordinator {
    state: Mutex<State>,
    num_gts: u8,
}

impl MutexCoordinator {
    fn new(num_gts: u8) -> Self {
        MutexCoordinator {
            state: Mutex::new(State::default()),
            num_gts,
        }
    }

    fn signal<Q: WorkQueue + ?Sized>(&self, gt: GtId, queue: &Q) -> Signal {
        if gt.0 >= self.num_gts {
            return Signal::InvalidGt;
        }
        let mut s = match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        s.signalled = s.signalled.wrapping_add(1);
        if s.torn_down || s.wedged {
            return Signal::Ignored;
        }
        s.bits |= 1 << gt.0;
        if s.queued {
            return Signal::AlreadyPending;
        }
        s.queued = true;
        drop(s);
        queue.queue();
        Signal::Queued
    }

    fn begin(&self) -> Option<GtSet> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if !s.queued || s.running || s.torn_down || s.wedged {
            return None;
        }
        s.queued = false;
        s.running = true;
        let taken = core::mem::take(&mut s.bits);
        Some(GtSet::from_bits(taken))
    }

    fn finish<Q: WorkQueue + ?Sized>(&self, queue: &Q) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.running = false;
        let again = s.queued && !s.torn_down && !s.wedged;
        drop(s);
        if again {
            queue.queue();
        }
    }
}

/// The interface both implementations share, for the generic bench bodies.
trait Coord: Sync {
    fn sig(&self, gt: GtId, q: &PollingQueue) -> Signal;
    fn beg(&self) -> Option<GtSet>;
    fn fin(&self, q: &PollingQueue);
}

impl Coord for Coordinator {
    #[inline]
    fn sig(&self, gt: GtId, q: &PollingQueue) -> Signal {
        self.signal(gt, q)
    }
    #[inline]
    fn beg(&self) -> Option<GtSet> {
        self.begin()
    }
    #[inline]
    fn fin(&self, q: &PollingQueue) {
        self.finish(q)
    }
}

impl Coord for MutexCoordinator {
    #[inline]
    fn sig(&self, gt: GtId, q: &PollingQueue) -> Signal {
        self.signal(gt, q)
    }
    #[inline]
    fn beg(&self) -> Option<GtSet> {
        self.begin()
    }
    #[inline]
    fn fin(&self, q: &PollingQueue) {
        self.finish(q)
    }
}

fn steady<C: Coord>(c: &mut Criterion, name: &str, coord: &C) {
    let q = PollingQueue::new();
    // Put the coordinator in the steady state: a pass is queued and never runs.
    assert_eq!(coord.sig(GtId(0), &q), Signal::Queued);
    let mut g = c.benchmark_group("signal");
    g.bench_function(format!("{name}/steady_already_pending"), |b| {
        b.iter(|| coord.sig(black_box(GtId(1)), &q))
    });
    g.finish();
}

fn cycle<C: Coord>(c: &mut Criterion, name: &str, coord: &C) {
    let q = PollingQueue::new();
    let mut g = c.benchmark_group("signal");
    g.bench_function(format!("{name}/cycle_signal_begin_finish"), |b| {
        b.iter(|| {
            let s = coord.sig(black_box(GtId(0)), &q);
            if q.take() {
                if let Some(gts) = coord.beg() {
                    black_box(gts);
                    coord.fin(&q);
                }
            }
            s
        })
    });
    g.finish();
}

fn contended<C: Coord>(c: &mut Criterion, name: &str, coord: &C) {
    let q = PollingQueue::new();
    assert_eq!(coord.sig(GtId(0), &q), Signal::Queued);
    let mut g = c.benchmark_group("signal");
    g.bench_function(format!("{name}/two_threads_contended"), |b| {
        b.iter_custom(|iters| {
            let stop = AtomicBool::new(false);
            let started = AtomicBool::new(false);
            std::thread::scope(|s| {
                s.spawn(|| {
                    started.store(true, Ordering::Release);
                    while !stop.load(Ordering::Relaxed) {
                        let _ = black_box(coord.sig(black_box(GtId(1)), &q));
                    }
                });
                while !started.load(Ordering::Acquire) {
                    std::hint::spin_loop();
                }
                let t0 = Instant::now();
                for _ in 0..iters {
                    let _ = black_box(coord.sig(black_box(GtId(0)), &q));
                }
                let elapsed: Duration = t0.elapsed();
                stop.store(true, Ordering::Relaxed);
                elapsed
            })
        })
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    let lockfree = || Coordinator::new(2, StartPolicy::AnyGt).unwrap();
    let mutex = || MutexCoordinator::new(2);
    steady(c, "lockfree", &lockfree());
    steady(c, "mutex", &mutex());
    cycle(c, "lockfree", &lockfree());
    cycle(c, "mutex", &mutex());
    contended(c, "lockfree", &lockfree());
    contended(c, "mutex", &mutex());
}

criterion_group!(irq_entry, benches);
criterion_main!(irq_entry);
