//! Cost of the interrupt-context entry `Coordinator::signal` and of a whole coordination cycle,
//! beside two baselines doing the same job in the same run. The crate runs twice: **crate**, with
//! the `Polled` queue (the coordinator's `WORK` flag is the queue: what a polling unikernel
//! uses), and **crate_queue**, with a `PollingQueue` (a flag of its own, set by the report that
//! queues and taken by the worker, as every external queue has). The baselines:
//!
//! - **seed**: a line-by-line Rust transliteration of the Linux seed's C path (xe, about 6.13:
//!   `xe_gt_sriov_vf_migrated_event_handler` and `xe_sriov_vf_start_migration_recovery`, the
//!   workqueue's `queue_work` and the worker's side), with `std` atomics;
//!   **seed_x86** is the same with `smp_mb__after_atomic` as the kernel builds it for x86 (no
//!   instruction after a locked `set_bit`), see [`SeedC`];
//! - **mutex**: the coordinator's job (the same per-GT flags and calls) under a
//!   `std::sync::Mutex`.
//!
//! Run: `cargo bench --bench irq_entry` (short: `-- --warm-up-time 1 --measurement-time 3`).
//! It also times the atomic primitives both sides are made of (`primitive/*`), whose relative
//! costs differ by CPU and explain why the ratios do.
//! After the benchmarks it prints a table of the medians (ns per iteration, the median of
//! criterion's 100 measurement samples of each benchmark) and the ratios crate / seed and
//! crate / seed x86 and crate / mutex, all from this one run.
//!
//! Cases (2 GTs, one thread unless said otherwise):
//! - `steady`: a GT reports again and there is nothing to queue. Crate and mutex: GT 1's
//!   recovery is queued and its RESFIX_START not yet sent, so the report is covered
//!   (`AlreadyPending`). Seed: GT 1's bit is already set and GT 0's is not, so the all-bits test
//!   fails at GT 0 and the handler returns: the seed's cheapest path.
//! - `cycle`: one whole migration: every GT reports (the first report queues the worker under
//!   the crate's default `AnyGt`, the last one under the seed's all-GTs rule), the worker takes
//!   the work item and does a pass, and everything is back where it started. Crate and mutex:
//!   `signal` x 2, `take` (nothing to take with `Polled`: `begin` is the take), `begin`,
//!   `started_gts` (both RESFIX_STARTs accepted in one poll round, as the split-phase pass
//!   publishes them), per GT `fixed` + `done`, `finish`. Seed: the
//!   event handler x 2 (the second one clears the mask and queues), the worker clears the work's
//!   PENDING bit as the workqueue does before running it, and the worker function's "another
//!   recovery imminent" checks (after the re-query and before each GT's RESFIX_DONE). Each
//!   iteration is checked to have run exactly one pass.
//! - `contended`: ns per report on one thread while a second thread reports the other GT as
//!   fast as it can. Crate and mutex: both GTs queued (steady). Seed: every pair of reports
//!   completes the mask, so one of them clears it and finds the work already PENDING.
//!
//! What is *not* on any side: MMIO (the mailbox round trips of a real recovery), logging (the
//! seed logs in the handler, the crate does not), and the work queue itself beyond its pending
//! flag: the crate_queue side uses `PollingQueue` (one atomic swap to queue, one to take), the
//! crate side none (`Polled`), and the
//! seed side the work item's PENDING bit (`test_and_set_bit` to queue, the clearing store and
//! barriers of `process_one_work` to take); `queue_work`'s `local_irq_save`, the pool lock and
//! the wake-up are left out, which flatters the seed.
//!
//! A mutex is only a baseline: a real interrupt handler cannot block on a lock that the
//! interrupted worker may hold.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use xe_sriov_vf::coordinator::{Coordinator, GtId, GtSet, Signal, StartPolicy};
use xe_sriov_vf::workqueue::{Polled, PollingQueue, WorkQueue};

/// GTs per device in every case (a BMG-like tile: primary + media).
const GTS: u8 = 2;

/// Criterion's measurement samples per benchmark (its default, fixed so that the table can
/// tell them from the warm-up calls: they are the last `SAMPLES` calls of the routine).
const SAMPLES: usize = 100;

// ---------------------------------------------------------------------------------------------
// The seed's C path, transliterated
// ---------------------------------------------------------------------------------------------

/// Linux `WORK_STRUCT_PENDING_BIT` (bit 0 of `work->data`).
const WORK_STRUCT_PENDING: usize = 1 << 0;

/// The seed's state: `xe->sriov.vf.migration.gt_flags` (one bit per GT) and the `data` word of
/// `xe->sriov.vf.migration.worker` (its PENDING bit).
///
/// `X86 = false` is the transliteration as written: `smp_mb__after_atomic()` is a full barrier,
/// `fence(SeqCst)`. `X86 = true` is what the kernel builds for x86, where a locked `set_bit` is
/// a full barrier already and `smp_mb__after_atomic()` compiles to nothing: the `set_bit` is a
/// SeqCst `fetch_or` and the fence after it is left out (every other line is the same; `smp_mb`
/// stays a fence, as the kernel's x86 `smp_mb` is a locked instruction too).
struct SeedC<const X86: bool> {
    gt_flags: AtomicUsize,
    work_data: AtomicUsize,
    num_gts: u8,
}

impl<const X86: bool> SeedC<X86> {
    fn new(num_gts: u8) -> Self {
        SeedC {
            gt_flags: AtomicUsize::new(0),
            work_data: AtomicUsize::new(0),
            num_gts,
        }
    }

    /// `xe_gt_sriov_vf_migrated_event_handler(gt)`, with `xe_sriov_vf_start_migration_recovery`
    /// and `queue_work` inlined. Returns whether this call queued the worker (`started`).
    #[inline(always)]
    fn migrated_event_handler(&self, gt: u8) -> bool {
        // set_bit(gt->info.id, &xe->sriov.vf.migration.gt_flags): an atomic RMW, unordered;
        // smp_mb__after_atomic(): "if all flags were set, at least one thread will notice".
        if X86 {
            self.gt_flags.fetch_or(1 << gt, Ordering::SeqCst);
        } else {
            self.gt_flags.fetch_or(1 << gt, Ordering::Relaxed);
            fence(Ordering::SeqCst);
        }
        // (xe_gt_sriov_info(gt, "ready for recovery after migration"): not transliterated.)
        // xe_sriov_vf_start_migration_recovery(xe):
        //   if (!vf_ready_to_recovery_on_all_gts(xe)) return;
        //   ... for_each_gt(gt, xe, id) if (!test_bit(id, &gt_flags)) return false;
        // (SeqCst loads in the x86 build: the same `mov`, and with the SeqCst `set_bit` they keep
        // the "at least one notices" guarantee in Rust's memory model too.)
        let test_bit = if X86 {
            Ordering::SeqCst
        } else {
            Ordering::Relaxed
        };
        for id in 0..self.num_gts {
            if self.gt_flags.load(test_bit) & (1 << id) == 0 {
                return false;
            }
        }
        //   WRITE_ONCE(xe->sriov.vf.migration.gt_flags, 0);
        self.gt_flags.store(0, Ordering::Relaxed);
        //   smp_mb(); /* Ensure other threads see that no flags are set now. */
        fence(Ordering::SeqCst);
        //   started = queue_work(xe->sriov.wq, &xe->sriov.vf.migration.worker);
        // queue_work_on: if (!test_and_set_bit(WORK_STRUCT_PENDING_BIT, work_data_bits(work)))
        // (a value-returning atomic: fully ordered) { __queue_work(...); ret = true; }
        self.work_data
            .fetch_or(WORK_STRUCT_PENDING, Ordering::SeqCst)
            & WORK_STRUCT_PENDING
            == 0
        // (drm_info(... "scheduled" / "already in progress"): not transliterated.)
    }

    /// The worker side of one run: the pool finds the item pending, `process_one_work` clears
    /// PENDING (`set_work_pool_and_clear_pending`: `smp_wmb`, `atomic_long_set`, `smp_mb`) and
    /// calls `migration_worker_func`, whose `vf_post_migration_recovery` checks
    /// `vf_post_migration_imminent` after the re-query and, in
    /// `vf_post_migration_notify_resfix_done`, before each GT's RESFIX_DONE. Returns whether it
    /// ran (1) or found nothing pending (0).
    #[inline(always)]
    fn worker_run(&self) -> u64 {
        if self.work_data.load(Ordering::Relaxed) & WORK_STRUCT_PENDING == 0 {
            return 0;
        }
        fence(Ordering::Release);
        self.work_data.store(0, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        // vf_post_migration_requery_guc(xe): MMIO, not on any side.
        if self.imminent() {
            return 1; // "migration recovery deferred"
        }
        for _gt in 0..self.num_gts {
            if self.imminent() {
                return 1; // "another recovery imminent, skipping notifications"
            }
            // xe_gt_sriov_vf_notify_resfix_done(gt): MMIO, not on any side.
        }
        1
    }

    /// `vf_post_migration_imminent`: `gt_flags != 0 || work_pending(worker)`.
    #[inline(always)]
    fn imminent(&self) -> bool {
        self.gt_flags.load(Ordering::Relaxed) != 0
            || self.work_data.load(Ordering::Relaxed) & WORK_STRUCT_PENDING != 0
    }
}

// ---------------------------------------------------------------------------------------------
// The coordinator's job under a mutex
// ---------------------------------------------------------------------------------------------

/// The coordinator's `AnyGt` state: per-GT queued / in progress / needs fixes, the worker
/// queued, a pass running, the sticky flags.
#[derive(Default)]
struct State {
    queued: usize,
    in_progress: usize,
    needs_fixes: usize,
    work: bool,
    running: bool,
    torn_down: bool,
    wedged: bool,
}

/// The same calls with the same meaning as `Coordinator` under `AnyGt`. `queue()` is called
/// with the lock held (it never blocks), so that `teardown` needs no in-flight count.
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

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn signal<Q: WorkQueue + ?Sized>(&self, gt: GtId, queue: &Q) -> Signal {
        if gt.0 >= self.num_gts {
            return Signal::InvalidGt;
        }
        let b = 1 << gt.0;
        let mut s = self.lock();
        if s.torn_down || s.wedged {
            return Signal::Ignored;
        }
        if s.queued & b != 0 {
            return Signal::AlreadyPending;
        }
        s.queued |= b;
        s.in_progress |= b;
        s.needs_fixes |= b;
        if s.work {
            return Signal::AlreadyPending;
        }
        s.work = true;
        queue.queue();
        Signal::Queued
    }

    fn begin(&self) -> Option<GtSet> {
        let mut s = self.lock();
        if !s.work || s.running || s.torn_down || s.wedged {
            return None;
        }
        s.work = false;
        s.running = true;
        Some(GtSet::from_bits(s.queued))
    }

    fn started_gts(&self, gts: GtSet) {
        self.lock().queued &= !gts.bits();
    }

    fn fixed(&self, gt: GtId) -> bool {
        let mut s = self.lock();
        let b = 1 << gt.0;
        let clear = s.queued & b == 0;
        if clear {
            s.needs_fixes &= !b;
        }
        clear
    }

    fn done(&self, gt: GtId) -> bool {
        let mut s = self.lock();
        let b = 1 << gt.0;
        let clear = s.queued & b == 0;
        if clear {
            s.in_progress &= !b;
        }
        clear
    }

    fn finish<Q: WorkQueue + ?Sized>(&self, queue: &Q) {
        let mut s = self.lock();
        s.running = false;
        if s.work && !s.torn_down && !s.wedged {
            queue.queue();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The cases, one body per implementation
// ---------------------------------------------------------------------------------------------

/// One implementation under test (with its queue, if it has one).
trait Subject: Sync {
    /// Prepares the steady state (a pass is queued, nothing to do for GT 1's report).
    fn prepare_steady(&self);
    /// GT `gt` reports (the interrupt entry).
    fn report(&self, gt: u8);
    /// One whole migration (every GT reports, one pass); returns the passes run.
    fn cycle(&self) -> u64;
}

/// The queue a coordinator subject queues its worker on, and how the worker takes the work.
trait BenchQueue: WorkQueue + Sync {
    /// Takes the pending work: `PollingQueue::take`; for `Polled`, nothing to take (the
    /// coordinator's `begin` is the take).
    fn take(&self) -> bool;
}

impl BenchQueue for PollingQueue {
    #[inline(always)]
    fn take(&self) -> bool {
        PollingQueue::take(self)
    }
}

impl BenchQueue for Polled {
    #[inline(always)]
    fn take(&self) -> bool {
        true
    }
}

/// A coordinator (the crate's or the mutex baseline) with its queue.
struct WithQueue<C, Q> {
    coordinator: C,
    queue: Q,
}

/// The coordinator's calls, as the crate and the mutex baseline both have them.
trait CoordinatorCalls: Sync {
    fn signal<Q: WorkQueue>(&self, gt: GtId, q: &Q) -> Signal;
    fn begin(&self) -> Option<GtSet>;
    fn started_gts(&self, gts: GtSet);
    fn fixed(&self, gt: GtId) -> bool;
    fn done(&self, gt: GtId) -> bool;
    fn finish<Q: WorkQueue>(&self, q: &Q);
}

/// Forwards [`CoordinatorCalls`] to the type's own methods of the same names.
macro_rules! coordinator_calls {
    ($t:ty) => {
        impl CoordinatorCalls for $t {
            #[inline(always)]
            fn signal<Q: WorkQueue>(&self, gt: GtId, q: &Q) -> Signal {
                <$t>::signal(self, gt, q)
            }
            #[inline(always)]
            fn begin(&self) -> Option<GtSet> {
                <$t>::begin(self)
            }
            #[inline(always)]
            fn started_gts(&self, gts: GtSet) {
                <$t>::started_gts(self, gts)
            }
            #[inline(always)]
            fn fixed(&self, gt: GtId) -> bool {
                <$t>::fixed(self, gt)
            }
            #[inline(always)]
            fn done(&self, gt: GtId) -> bool {
                <$t>::done(self, gt)
            }
            #[inline(always)]
            fn finish<Q: WorkQueue>(&self, q: &Q) {
                <$t>::finish(self, q)
            }
        }
    };
}
coordinator_calls!(Coordinator);
coordinator_calls!(MutexCoordinator);

impl<C: CoordinatorCalls, Q: BenchQueue> Subject for WithQueue<C, Q> {
    fn prepare_steady(&self) {
        let (c, q) = (&self.coordinator, &self.queue);
        assert_eq!(c.signal(GtId(0), q), Signal::Queued);
        assert_eq!(c.signal(GtId(1), q), Signal::AlreadyPending);
    }
    #[inline(always)]
    fn report(&self, gt: u8) {
        let _ = black_box(self.coordinator.signal(GtId(gt), &self.queue));
    }
    /// What the recovery worker does with the coordinator for one migration of every GT.
    #[inline(always)]
    fn cycle(&self) -> u64 {
        let (c, q) = (&self.coordinator, &self.queue);
        for gt in 0..GTS {
            let _ = black_box(c.signal(GtId(gt), q));
        }
        if !q.take() {
            return 0;
        }
        let Some(gts) = c.begin() else {
            return 0;
        };
        // Both RESFIX_STARTs accepted in one round of the split-phase poll.
        c.started_gts(gts);
        for gt in gts.iter() {
            black_box(c.fixed(gt));
            black_box(c.done(gt));
        }
        c.finish(q);
        1
    }
}

impl<const X86: bool> Subject for SeedC<X86> {
    fn prepare_steady(&self) {
        // GT 1 has reported, GT 0 not: GT 1's next report finds the set incomplete.
        assert!(!self.migrated_event_handler(1));
    }
    #[inline(always)]
    fn report(&self, gt: u8) {
        black_box(self.migrated_event_handler(gt));
    }
    #[inline(always)]
    fn cycle(&self) -> u64 {
        for gt in 0..GTS {
            black_box(self.migrated_event_handler(gt));
        }
        self.worker_run()
    }
}

thread_local! {
    /// Per benchmark id: the ns per iteration of every call of its routine, in call order.
    static SAMPLES_NS: RefCell<BTreeMap<String, Vec<f64>>> = const { RefCell::new(BTreeMap::new()) };
}

fn record(id: &str, elapsed: Duration, iters: u64) {
    let ns = elapsed.as_nanos() as f64 / iters.max(1) as f64;
    SAMPLES_NS.with(|s| s.borrow_mut().entry(id.to_owned()).or_default().push(ns));
}

/// The median of the last [`SAMPLES`] calls (criterion's measurement samples), or `None` when
/// the benchmark did not run in full (filtered out, or `--test` mode).
fn median(id: &str) -> Option<f64> {
    SAMPLES_NS.with(|s| {
        let s = s.borrow();
        let all = s.get(id)?;
        if all.len() < SAMPLES {
            return None;
        }
        let mut v = all[all.len() - SAMPLES..].to_vec();
        v.sort_by(f64::total_cmp);
        Some((v[SAMPLES / 2 - 1] + v[SAMPLES / 2]) / 2.0)
    })
}

const CASES: [&str; 3] = ["steady", "cycle", "contended"];
const SUBJECTS: [&str; 5] = ["crate", "crate_queue", "seed", "seed_x86", "mutex"];

fn steady<S: Subject>(c: &mut Criterion, name: &str, subject: &S) {
    subject.prepare_steady();
    let id = format!("steady/{name}");
    let mut g = c.benchmark_group("irq_entry");
    g.sample_size(SAMPLES);
    g.bench_function(&id, |b| {
        b.iter_custom(|iters| {
            let t0 = Instant::now();
            for _ in 0..iters {
                subject.report(black_box(1));
            }
            let e = t0.elapsed();
            record(&id, e, iters);
            e
        })
    });
    g.finish();
}

fn cycle<S: Subject>(c: &mut Criterion, name: &str, subject: &S) {
    let id = format!("cycle/{name}");
    let mut g = c.benchmark_group("irq_entry");
    g.sample_size(SAMPLES);
    g.bench_function(&id, |b| {
        b.iter_custom(|iters| {
            let mut passes = 0u64;
            let t0 = Instant::now();
            for _ in 0..iters {
                passes += subject.cycle();
            }
            let e = t0.elapsed();
            assert_eq!(
                passes, iters,
                "{id}: an iteration did not run exactly one pass"
            );
            record(&id, e, iters);
            e
        })
    });
    g.finish();
}

fn contended<S: Subject>(c: &mut Criterion, name: &str, subject: &S) {
    subject.prepare_steady();
    let id = format!("contended/{name}");
    let mut g = c.benchmark_group("irq_entry");
    g.sample_size(SAMPLES);
    g.bench_function(&id, |b| {
        b.iter_custom(|iters| {
            let stop = AtomicBool::new(false);
            let started = AtomicBool::new(false);
            let e = std::thread::scope(|s| {
                s.spawn(|| {
                    started.store(true, Ordering::Release);
                    while !stop.load(Ordering::Relaxed) {
                        subject.report(black_box(1));
                    }
                });
                while !started.load(Ordering::Acquire) {
                    std::hint::spin_loop();
                }
                let t0 = Instant::now();
                for _ in 0..iters {
                    subject.report(black_box(0));
                }
                let elapsed = t0.elapsed();
                stop.store(true, Ordering::Relaxed);
                elapsed
            });
            record(&id, e, iters);
            e
        })
    });
    g.finish();
}

/// One cache line holding the word the primitives work on (alone on its line, as the
/// coordinator's state word is in a single-threaded case).
#[repr(align(64))]
struct Line(AtomicUsize);

/// The atomic primitives the two sides are made of, one per iteration on a word of its own:
/// `locked_or` (a `fetch_or` whose result is unused: x86 `lock or`, the seed's `set_bit` and,
/// on the stack, Rust's `fence(SeqCst)`), `locked_or_fence` (the same plus `fence(SeqCst)`:
/// the seed's `set_bit` + `smp_mb__after_atomic`) and `cas` (a load and a `compare_exchange`:
/// x86 `lock cmpxchg`, the crate's reports that change the word and its `begin`). Their costs
/// differ by CPU, and with them the ratios above: the crate's cycle is 3 compare-and-swaps and
/// 2 locked ANDs, the seed's 2 locked ORs, 4 fences and 1 compare-and-swap.
fn primitives(c: &mut Criterion) {
    let line = Line(AtomicUsize::new(0));
    let word = &line.0;
    let mut g = c.benchmark_group("irq_entry");
    g.sample_size(SAMPLES);
    let mut one = |name: &str, op: &dyn Fn()| {
        let id = format!("primitive/{name}");
        g.bench_function(&id, |b| {
            b.iter_custom(|iters| {
                let t0 = Instant::now();
                for _ in 0..iters {
                    op();
                }
                let e = t0.elapsed();
                record(&id, e, iters);
                e
            })
        });
    };
    one("locked_or", &|| {
        black_box(word).fetch_or(black_box(1), Ordering::Relaxed);
    });
    one("locked_or_fence", &|| {
        black_box(word).fetch_or(black_box(1), Ordering::Relaxed);
        fence(Ordering::SeqCst);
    });
    one("cas", &|| {
        let w = black_box(word);
        let cur = w.load(Ordering::Relaxed);
        let _ = black_box(w.compare_exchange(cur, cur ^ 2, Ordering::AcqRel, Ordering::Relaxed));
    });
    g.finish();
}

/// Prints the medians and the ratios of this run.
fn report_table() {
    let rows: Vec<[Option<f64>; 5]> = CASES
        .iter()
        .map(|case| SUBJECTS.map(|s| median(&format!("{case}/{s}"))))
        .collect();
    if rows.iter().flatten().all(Option::is_none) {
        return;
    }
    let ns = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.2} ns"));
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
        _ => "-".to_owned(),
    };
    println!();
    println!("irq_entry: medians of {SAMPLES} criterion samples each, ns per iteration, this run");
    println!(
        "(crate: the coordinator with the `Polled` queue; crate+queue: with a `PollingQueue`)"
    );
    println!(
        "{:<10} {:>10} {:>12} {:>10} {:>10} {:>10} {:>11} {:>15} {:>17} {:>12}",
        "case",
        "crate",
        "crate+queue",
        "seed C",
        "seed x86",
        "mutex",
        "crate/seed",
        "crate/seed x86",
        "crate+queue/seed",
        "crate/mutex"
    );
    for (case, [c, cq, s, x, m]) in CASES.iter().zip(rows) {
        println!(
            "{:<10} {:>10} {:>12} {:>10} {:>10} {:>10} {:>11} {:>15} {:>17} {:>12}",
            case,
            ns(c),
            ns(cq),
            ns(s),
            ns(x),
            ns(m),
            ratio(c, s),
            ratio(c, x),
            ratio(cq, s),
            ratio(c, m)
        );
    }
    let [or, or_fence, cas] =
        ["locked_or", "locked_or_fence", "cas"].map(|p| median(&format!("primitive/{p}")));
    if [or, or_fence, cas].iter().all(Option::is_some) {
        println!(
            "atomic primitives on this CPU: locked OR {}, locked OR + fence {}, compare-and-swap {}; compare-and-swap / locked OR {}",
            ns(or),
            ns(or_fence),
            ns(cas),
            ratio(cas, or)
        );
    }
}

fn benches(c: &mut Criterion) {
    let coordinator = || Coordinator::new(usize::from(GTS), StartPolicy::AnyGt).unwrap();
    let crate_ = || WithQueue {
        coordinator: coordinator(),
        queue: Polled,
    };
    let crate_queue = || WithQueue {
        coordinator: coordinator(),
        queue: PollingQueue::new(),
    };
    let seed = || SeedC::<false>::new(GTS);
    let seed_x86 = || SeedC::<true>::new(GTS);
    let mutex = || WithQueue {
        coordinator: MutexCoordinator::new(GTS),
        queue: PollingQueue::new(),
    };
    // Side by side, case by case, so that the five of a case run close together in time.
    macro_rules! case {
        ($f:ident) => {
            $f(c, "crate", &crate_());
            $f(c, "crate_queue", &crate_queue());
            $f(c, "seed", &seed());
            $f(c, "seed_x86", &seed_x86());
            $f(c, "mutex", &mutex());
        };
    }
    case!(steady);
    case!(cycle);
    case!(contended);
    primitives(c);
    report_table();
}

criterion_group!(irq_entry, benches);
criterion_main!(irq_entry);
