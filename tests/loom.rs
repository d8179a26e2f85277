//! Model checks of the migration coordinator with loom: every interleaving (up to the preemption
//! bound) of GT interrupts, a recovery worker, teardown and wedge.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test --release --features mock --test loom`
//! (`LOOM_MAX_PREEMPTIONS` overrides the default bound of 3).
//!
//! The planted bug (`begin()` clears the queued flags of the GTs it takes, instead of each GT's
//! `started()` after its RESFIX_START) must make the `planted_*` model fail:
//! `RUSTFLAGS="--cfg loom --cfg xe_sriov_vf_planted_bug" cargo test --release --features mock --test loom -- planted`
//! exits non-zero.
//!
//! How "no migration is lost" is checked: each GT has a ghost counter standing for the GuC's
//! migration state, bumped *before* the GT's `signal()` (the GuC changes state, then raises the
//! interrupt; a VM migration changes every GT's state, then the interrupts come, in any order).
//! A pass reads the counters of the GTs it took *after* `started()` (the recovery re-queries the
//! GuC after RESFIX_START), and, when the GT completes (no re-queue), records them as covered.
//! After all threads are joined and the queue is drained, every GT's covered count must equal
//! its ghost count: a migration not covered is a GuC left blocking the VF. Under `AllGts` a GT may
//! still wait for the others' reports (a late interrupt for a migration already covered): then
//! `start_now` must bring every GT's GGTT back to valid and its recovery to not pending. A pass
//! follows kernel 7.0's per-GT order: `started` (after RESFIX_START), the re-query, `fixed`, then
//! `done` or a `requeue`.
#![cfg(loom)]

use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use loom::sync::Arc;
use loom::thread;
use xe_sriov_vf::coordinator::{Coordinator, GtId, GtSet, Signal, StartPolicy};
use xe_sriov_vf::workqueue::TestQueue;

const NUM_GTS: usize = 2;

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    if b.preemption_bound.is_none() {
        b.preemption_bound = Some(3);
    }
    b.check(f);
}

/// What a pass does after `begin()`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum PassMode {
    /// Re-query, defer if another recovery is imminent, else complete.
    Normal,
    /// Like `Normal`, and the GuC answers `RESFIX_DONE` with `VF_MIGRATED` when the GT migrated
    /// again since the re-query: the pass requeues that GT instead of completing it.
    GucReplies,
    /// The recovery fails: the pass wedges the device.
    Wedge,
    /// Like `GucReplies`, and the pass takes in the GTs reported while it runs that it does not
    /// hold yet (the split-phase join: `pending_gts`, then each joined GT's sequence), and
    /// before `finish` clears the `WORK` their reports left (`drop_idle_work`).
    Join,
}

struct Harness {
    coord: Coordinator,
    queue: TestQueue,
    mode: PassMode,
    /// Ghost GuC migration count per GT, bumped before each signal.
    migrations: [AtomicUsize; NUM_GTS],
    /// Highest migration count per GT that a completed pass covered.
    covered: [AtomicUsize; NUM_GTS],
    /// Passes between begin() and finish() right now (must never exceed 1).
    in_pass: AtomicUsize,
    /// Successful begin() calls.
    begun: AtomicUsize,
    /// Set once a sticky flag is in and the coordinator went idle: nothing may be queued or
    /// begin after.
    closed: AtomicBool,
    /// Ghost "RESFIX_START sent" per GT: set just before `started()`, cleared at `begin()`.
    start_sent: [AtomicBool; NUM_GTS],
    /// Every migration of the model is a VM migration (every GT's state changes, every GT
    /// reports): then no GT may be left uncovered, whatever the policy.
    vm_wide: bool,
    /// The queue is `polled` (never called): the worker looks at the coordinator itself, and
    /// a pass publishes its GTs' starts at once (`started_gts`), as the split-phase pass does
    /// for replies of one round.
    polled: bool,
}

impl Harness {
    fn new(policy: StartPolicy, mode: PassMode) -> Arc<Self> {
        Arc::new(Harness {
            coord: Coordinator::new(NUM_GTS, policy).unwrap(),
            queue: TestQueue::new(),
            mode,
            migrations: [AtomicUsize::new(0), AtomicUsize::new(0)],
            covered: [AtomicUsize::new(0), AtomicUsize::new(0)],
            in_pass: AtomicUsize::new(0),
            begun: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
            start_sent: [AtomicBool::new(false), AtomicBool::new(false)],
            vm_wide: true,
            polled: false,
        })
    }

    /// A harness with a polled queue (see [`Harness::polled`]) if `polled`.
    fn with_queue(policy: StartPolicy, mode: PassMode, polled: bool) -> Arc<Self> {
        if polled {
            Harness::polled(policy, mode)
        } else {
            Harness::new(policy, mode)
        }
    }

    /// A harness with a polled queue (see [`Harness::polled`]).
    fn polled(policy: StartPolicy, mode: PassMode) -> Arc<Self> {
        let mut h = Harness::new(policy, mode);
        let m = Arc::get_mut(&mut h).unwrap();
        m.queue = TestQueue::new().with_polled(true);
        m.polled = true;
        h
    }

    /// Whether the work item should run: the queue's flag taken, or, polled, always (`begin`
    /// decides).
    fn take(&self) -> bool {
        self.polled || self.queue.take()
    }

    /// Whether a run is due: the queue's flag, or, polled, the coordinator's.
    fn is_due(&self) -> bool {
        if self.polled {
            self.coord.is_queued() && !self.coord.is_torn_down() && !self.coord.is_wedged()
        } else {
            self.queue.is_pending()
        }
    }

    /// A harness whose migrations may hit one GT alone (so `AllGts` may legitimately wait).
    fn per_gt(policy: StartPolicy, mode: PassMode) -> Arc<Self> {
        let mut h = Harness::new(policy, mode);
        Arc::get_mut(&mut h).unwrap().vm_wide = false;
        h
    }

    /// A VM migration: every GT's GuC state changes, then the interrupts arrive in `order`.
    fn migrate_vm(&self, order: [usize; NUM_GTS]) {
        for m in &self.migrations {
            m.fetch_add(1, SeqCst);
        }
        for g in order {
            let s = self.coord.signal(GtId(g as u8), &self.queue);
            assert_ne!(s, Signal::InvalidGt);
        }
    }

    /// GT `g` is migrated: the GuC state changes, then its interrupt handler runs.
    fn migrate(&self, g: usize) -> Signal {
        self.migrations[g].fetch_add(1, SeqCst);
        let s = self.coord.signal(GtId(g as u8), &self.queue);
        assert_ne!(s, Signal::InvalidGt);
        s
    }

    /// One run of the work item: kernel 7.0's per-GT sequence, as the coordinator sees it.
    fn run(&self) {
        let Some(gts) = self.coord.begin() else {
            return;
        };
        assert!(
            !self.closed.load(SeqCst),
            "a pass began after teardown/wedge"
        );
        self.begun.fetch_add(1, SeqCst);
        assert_eq!(self.in_pass.fetch_add(1, SeqCst), 0, "two passes at once");
        if self.mode == PassMode::Wedge && !gts.is_empty() {
            self.coord.wedge();
        } else {
            for s in &self.start_sent {
                s.store(false, SeqCst);
            }
            let mut taken = gts;
            let mut todo = gts;
            while !todo.is_empty() {
                if self.polled {
                    // Every RESFIX_START accepted in one round, published at once.
                    for g in todo.iter() {
                        self.start_sent[g.0 as usize].store(true, SeqCst);
                    }
                    self.coord.started_gts(todo);
                }
                for g in todo.iter() {
                    self.run_gt(g);
                }
                if self.mode != PassMode::Join {
                    break;
                }
                // The join: GTs queued now that the pass does not hold yet.
                todo = GtSet::from_bits(self.coord.pending_gts().bits() & !taken.bits());
                taken = taken.union(todo);
            }
            if self.mode == PassMode::Join && taken != gts {
                let _ = self.coord.drop_idle_work();
            }
        }
        assert_eq!(self.in_pass.fetch_sub(1, SeqCst), 1);
        self.coord.finish(&self.queue);
    }

    /// GT `g`'s sequence inside a pass.
    fn run_gt(&self, g: GtId) {
        let i = g.0 as usize;
        // RESFIX_START, then the GT is no longer queued, then the re-query reads the GuC's
        // state (at least as new as every report absorbed so far).
        if !self.polled {
            self.start_sent[i].store(true, SeqCst);
            self.coord.started(g);
        }
        let seen = self.migrations[i].load(SeqCst);
        self.coord.fixed(g);
        let replies = matches!(self.mode, PassMode::GucReplies | PassMode::Join);
        if replies && self.migrations[i].load(SeqCst) != seen {
            // RESFIX_DONE answered VF_MIGRATED.
            self.coord.requeue(GtSet::single(g), &self.queue);
        } else {
            self.coord.done(g);
            let c = self.covered[i].load(SeqCst);
            self.covered[i].store(c.max(seen), SeqCst);
        }
    }

    /// The worker thread: a bounded number of looks at the queue.
    fn worker(&self, looks: usize) {
        for _ in 0..looks {
            if self.take() {
                self.run();
            }
        }
    }

    /// After every thread is joined: run whatever is still queued, then check liveness.
    fn drain(&self) {
        let mut rounds = 0;
        while self.is_due() && self.take() {
            self.run();
            rounds += 1;
            assert!(rounds <= 8, "the queue never drains");
        }
        assert!(!self.coord.is_running());
        assert!(self.coord.is_idle());
        assert_eq!(self.coord.passes_begun(), self.begun.load(SeqCst));
        let sticky = self.coord.is_torn_down() || self.coord.is_wedged();
        if !sticky {
            assert!(
                !self.coord.is_queued(),
                "QUEUED is set but no run is pending: a pass was lost"
            );
        }
    }

    /// No migration lost (only meaningful without teardown/wedge).
    fn check_nothing_lost(&self) {
        let pending = self.coord.pending_gts();
        let awaited = self.coord.awaiting_reports();
        match self.coord.policy() {
            StartPolicy::AnyGt => assert!(pending.is_empty(), "GT bits {pending:?} left behind"),
            StartPolicy::AllGts => assert!(
                pending.is_empty() || !awaited.is_empty(),
                "GTs {pending:?} pending, none awaited: stranded"
            ),
            other => unreachable!("no model for {other:?}"),
        }
        for g in 0..NUM_GTS {
            let gt = GtId(g as u8);
            if !self.vm_wide && pending.contains(gt) {
                continue; // AllGts: a lone GT migration waits for the other GTs, legitimately.
            }
            assert_eq!(
                self.covered[g].load(SeqCst),
                self.migrations[g].load(SeqCst),
                "migration of GT {g} lost: its GuC blocks the VF with nothing queued ({:?})",
                self.coord
            );
        }
        if !awaited.is_empty() {
            // The embedder's way out of a wait that will not end.
            assert!(self.coord.start_now(&self.queue));
            self.drain();
            assert!(self.coord.pending_gts().is_empty());
        }
        for g in 0..NUM_GTS {
            let gt = GtId(g as u8);
            assert_eq!(
                self.covered[g].load(SeqCst),
                self.migrations[g].load(SeqCst),
                "migration of GT {g} lost"
            );
            assert!(!self.coord.needs_fixes(gt), "GT {g}: GGTT left invalid");
            assert!(
                !self.coord.recovery_pending(gt),
                "GT {g}: recovery left pending"
            );
        }
    }
}

/// One thread per GT, each reporting one migration of its GT.
fn spawn_reporters(h: &Arc<Harness>) -> Vec<thread::JoinHandle<()>> {
    (0..NUM_GTS)
        .map(|g| {
            let h = Arc::clone(h);
            thread::spawn(move || {
                let _ = h.migrate(g);
            })
        })
        .collect()
}

/// A worker thread that runs [`Harness::worker`] with `looks`.
fn spawn_worker(h: &Arc<Harness>, looks: usize) -> thread::JoinHandle<()> {
    let h = Arc::clone(h);
    thread::spawn(move || h.worker(looks))
}

/// (1) Two GTs report at the same time while a worker runs passes.
fn concurrent_signals(policy: StartPolicy, polled: bool) {
    model(move || {
        let h = Harness::with_queue(policy, PassMode::Normal, polled);
        let t = spawn_reporters(&h);
        let w = spawn_worker(&h, 2);
        for t in t {
            t.join().unwrap();
        }
        w.join().unwrap();
        h.drain();
        h.check_nothing_lost();
    });
}

#[test]
fn concurrent_signals_any_gt() {
    concurrent_signals(StartPolicy::AnyGt, false);
}

#[test]
fn concurrent_signals_any_gt_polled() {
    concurrent_signals(StartPolicy::AnyGt, true);
}

#[test]
fn concurrent_signals_all_gts_polled() {
    concurrent_signals(StartPolicy::AllGts, true);
}

#[test]
fn concurrent_signals_all_gts() {
    concurrent_signals(StartPolicy::AllGts, false);
}

/// (1b) `AllGts`: two reports complete the set at once (GT 1's first, GT 0's second) and GT 0
/// reports a third time, racing with the worker: the loser's late `QUEUED` flip may queue a pass
/// while only GT 0 is marked, and that pass must not take the incomplete set.
#[test]
fn all_gts_late_flip() {
    model(|| {
        let h = Harness::per_gt(StartPolicy::AllGts, PassMode::Normal);
        assert_eq!(h.migrate(0), Signal::WaitingForOtherGts);
        let a = {
            let h = h.clone();
            thread::spawn(move || {
                let _ = h.migrate(1);
            })
        };
        let b = {
            let h = h.clone();
            thread::spawn(move || {
                let _ = h.migrate(0);
                let _ = h.migrate(0);
            })
        };
        let w = spawn_worker(&h, 2);
        a.join().unwrap();
        b.join().unwrap();
        w.join().unwrap();
        h.drain();
        h.check_nothing_lost();
    });
}

/// The model the planted bug must fail: a duplicate `SW_INT_0` (no new migration) lands while
/// the pass that covers it has begun but not yet sent the GT's RESFIX_START. Kernel commit
/// "Reset recovery_queued after issuing RESFIX_START": that report causes no second run.
#[test]
fn planted_bug_target_duplicate_report_before_start() {
    model(|| {
        let h = Harness::new(StartPolicy::AnyGt, PassMode::Normal);
        let _ = h.migrate(0);
        let dup = {
            let h = h.clone();
            thread::spawn(move || {
                let _ = h.coord.signal(GtId(0), &h.queue);
                // Read after the report: `false` means the report came before RESFIX_START.
                !h.start_sent[0].load(SeqCst)
            })
        };
        let w = spawn_worker(&h, 1);
        let before_start = dup.join().unwrap();
        w.join().unwrap();
        h.drain();
        h.check_nothing_lost();
        if before_start {
            assert_eq!(
                h.begun.load(SeqCst),
                1,
                "a report before RESFIX_START caused a second run"
            );
        }
    });
}

/// (2) A second VM migration lands at every point of a running pass; its interrupts arrive in
/// `order` (every GT under AllGts, GT `order[0]` alone under AnyGt).
fn second_migration(
    policy: StartPolicy,
    mode: PassMode,
    order: [usize; NUM_GTS],
    looks: usize,
    polled: bool,
) {
    model(move || {
        let h = Harness::with_queue(policy, mode, polled);
        // First migration: every GT reports, a pass is queued.
        h.migrate_vm([0, 1]);
        assert!(h.is_due());
        let w = spawn_worker(&h, looks);
        let s = {
            let h = h.clone();
            thread::spawn(move || {
                if policy == StartPolicy::AllGts {
                    h.migrate_vm(order);
                } else {
                    let _ = h.migrate(order[0]);
                }
            })
        };
        s.join().unwrap();
        w.join().unwrap();
        h.drain();
        h.check_nothing_lost();
    });
}

#[test]
fn second_migration_any_gt() {
    second_migration(StartPolicy::AnyGt, PassMode::Normal, [0, 1], 1, false);
}

#[test]
fn second_migration_all_gts() {
    second_migration(StartPolicy::AllGts, PassMode::Normal, [0, 1], 1, false);
}

#[test]
fn second_migration_guc_replies_any_gt_polled() {
    second_migration(StartPolicy::AnyGt, PassMode::GucReplies, [0, 1], 1, true);
}

#[test]
fn second_migration_guc_replies_all_gts_gt1_first_polled() {
    second_migration(StartPolicy::AllGts, PassMode::GucReplies, [1, 0], 2, true);
}

#[test]
fn second_migration_guc_replies_any_gt() {
    second_migration(StartPolicy::AnyGt, PassMode::GucReplies, [0, 1], 1, false);
}

#[test]
fn second_migration_guc_replies_all_gts() {
    second_migration(StartPolicy::AllGts, PassMode::GucReplies, [0, 1], 1, false);
}

/// The hardening issue's order: a VF_MIGRATED re-queue, and the second migration's interrupts
/// arriving GT 1 first, GT 0 late, possibly after the owed pass began (the worker looks twice).
/// On main 2040d49, and with passes that take only the queued GTs, this stranded GT 0.
#[test]
fn second_migration_guc_replies_all_gts_gt1_first() {
    second_migration(StartPolicy::AllGts, PassMode::GucReplies, [1, 0], 2, false);
}

/// (2b) The split-phase join under `AnyGt`: GT 1 reports while GT 0's pass runs, and the pass
/// takes it in and clears the `WORK` its report left; then a second migration of GT 0 or GT 1
/// (alone, or both with GT 1 first). No report is lost, no run is left owed with nothing queued,
/// and the queue drains.
fn join(second: &'static [usize], polled: bool) {
    model(move || {
        let h = Harness::with_queue(StartPolicy::AnyGt, PassMode::Join, polled);
        let _ = h.migrate(0);
        let w = spawn_worker(&h, 2);
        let r = {
            let h = h.clone();
            thread::spawn(move || {
                let _ = h.migrate(1);
                for &g in second {
                    let _ = h.migrate(g);
                }
            })
        };
        r.join().unwrap();
        w.join().unwrap();
        h.drain();
        h.check_nothing_lost();
    });
}

#[test]
fn join_any_gt() {
    join(&[], false);
}

#[test]
fn join_any_gt_polled() {
    join(&[1], true);
}

#[test]
fn join_any_gt_then_gt0_again() {
    join(&[0], false);
}

#[test]
fn join_any_gt_then_gt1_again() {
    join(&[1], false);
}

/// Waits until idle (loom-friendly spin) and closes the harness: from now on no pass may begin
/// and no queue() call may happen. Returns the queue-call count at closing.
fn close(h: &Harness) -> usize {
    assert!(h.coord.teardown_wait(|| {
        thread::yield_now();
        true
    }));
    h.closed.store(true, SeqCst);
    h.queue.calls()
}

/// (3) Teardown races with GT reports and a running worker.
fn teardown_race(policy: StartPolicy, polled: bool) {
    model(move || {
        let h = Harness::with_queue(policy, PassMode::Normal, polled);
        // Two reporters, so that one can enter and leave `signal` while `teardown_wait` looks
        // at the counters and the other is still on its way to `queue()`.
        let s = spawn_reporters(&h);
        let w = spawn_worker(&h, 1);
        h.coord.teardown();
        let calls = close(&h);
        let begun = h.begun.load(SeqCst);
        // Signals after teardown are ignored.
        assert_eq!(h.migrate(0), Signal::Ignored);
        for s in s {
            s.join().unwrap();
        }
        w.join().unwrap();
        h.drain();
        assert_eq!(h.queue.calls(), calls, "queued after teardown");
        assert_eq!(h.begun.load(SeqCst), begun, "a pass began after teardown");
        assert!(h.coord.begin().is_none());
    });
}

#[test]
fn teardown_race_any_gt() {
    teardown_race(StartPolicy::AnyGt, false);
}

/// A polled queue is never called, and no pass begins after teardown.
#[test]
fn teardown_race_any_gt_polled() {
    teardown_race(StartPolicy::AnyGt, true);
}

#[test]
fn teardown_race_all_gts() {
    teardown_race(StartPolicy::AllGts, false);
}

/// (4) The pass wedges the device while GTs report again.
fn wedge_race(policy: StartPolicy) {
    model(move || {
        let h = Harness::new(policy, PassMode::Wedge);
        for g in 0..NUM_GTS {
            let _ = h.migrate(g);
        }
        let s = {
            let h = h.clone();
            thread::spawn(move || {
                for g in 0..NUM_GTS {
                    let _ = h.migrate(g);
                }
            })
        };
        // The worker: the first pass wedges, then wait for quiescence.
        let w = {
            let h = h.clone();
            thread::spawn(move || {
                h.worker(1);
                assert!(h.coord.is_wedged());
                let calls = close(&h);
                (calls, h.begun.load(SeqCst))
            })
        };
        s.join().unwrap();
        let (calls, begun) = w.join().unwrap();
        h.drain();
        assert_eq!(begun, 1);
        assert_eq!(h.queue.calls(), calls, "queued after wedge");
        assert_eq!(h.begun.load(SeqCst), begun, "a pass began after wedge");
        assert!(!h.coord.wedge(), "wedge() is true only once");
    });
}

#[test]
fn wedge_race_any_gt() {
    wedge_race(StartPolicy::AnyGt);
}

#[test]
fn wedge_race_all_gts() {
    wedge_race(StartPolicy::AllGts);
}

/// The three bytes of a GuC unit's memirq page that the model touches (primary GuC: SW_INT_0
/// at 0x190, GUC2HOST at 0x19F, source at 0x419), as loom atomics; every other byte reads 0.
struct ModelPage {
    sw_int0: loom::sync::atomic::AtomicU8,
    guc2host: loom::sync::atomic::AtomicU8,
    source: loom::sync::atomic::AtomicU8,
}

impl ModelPage {
    fn slot(&self, offset: usize) -> Option<&loom::sync::atomic::AtomicU8> {
        match offset {
            0x190 => Some(&self.sw_int0),
            0x19F => Some(&self.guc2host),
            0x419 => Some(&self.source),
            _ => None,
        }
    }
}

impl xe_sriov_vf::memirq::MemirqPage for ModelPage {
    fn read8(&self, offset: usize) -> u8 {
        self.slot(offset).map_or(0, |b| b.load(SeqCst))
    }
    fn write8(&self, offset: usize, value: u8) {
        if let Some(b) = self.slot(offset) {
            b.store(value, SeqCst);
        }
    }
    fn write32(&self, _offset: usize, _value: u32) {}
    fn full_barrier(&self) {
        loom::sync::atomic::fence(SeqCst);
    }
}

/// (5) memirq: the GuC writes SW_INT_0 (status byte, then source byte) while the tile's handler
/// runs and an observer checks "recovery pending" (the byte peek, then the coordinator, as
/// `Vf::recovery_pending` does): from the GuC's write until the worker's `done`, the observer
/// must never see "not pending" (the clear-after rule), and the migration must be recovered.
#[test]
fn memirq_byte_handler_clear_against_pending_checks() {
    use xe_sriov_vf::memirq::Memirq;
    model(|| {
        let page = ModelPage {
            sw_int0: loom::sync::atomic::AtomicU8::new(0),
            guc2host: loom::sync::atomic::AtomicU8::new(0),
            source: loom::sync::atomic::AtomicU8::new(0),
        };
        let h = Arc::new((
            Harness::new(StartPolicy::AnyGt, PassMode::Normal),
            Memirq::new(page, 0x30_0000, GtId(0), None),
            AtomicBool::new(false), // the GuC wrote the status byte
            AtomicBool::new(false), // the worker is about to call done()
        ));
        let guc = {
            let h = h.clone();
            thread::spawn(move || {
                let page = h.1.page();
                h.0.migrations[0].fetch_add(1, SeqCst);
                xe_sriov_vf::memirq::MemirqPage::write8(page, 0x190, 0xFF);
                h.2.store(true, SeqCst);
                xe_sriov_vf::memirq::MemirqPage::write8(page, 0x419, 0xFF);
            })
        };
        let handler = {
            let h = h.clone();
            thread::spawn(move || {
                h.1.handle(|gt| h.0.coord.signal(gt, &h.0.queue));
            })
        };
        let observer = {
            let h = h.clone();
            thread::spawn(move || {
                if h.2.load(SeqCst) {
                    let pending =
                        h.1.sw_int0_pending(GtId(0)) || h.0.coord.recovery_pending(GtId(0));
                    assert!(
                        pending || h.3.load(SeqCst),
                        "recovery read as not pending after the GuC's write, before done()"
                    );
                }
            })
        };
        // The worker: one look at the queue; `done` is announced first.
        if h.0.queue.take() {
            if let Some(gts) = h.0.coord.begin() {
                h.0.begun.fetch_add(1, SeqCst);
                for g in gts.iter() {
                    h.0.coord.started(g);
                    let seen = h.0.migrations[0].load(SeqCst);
                    h.0.coord.fixed(g);
                    h.3.store(true, SeqCst);
                    h.0.coord.done(g);
                    h.0.covered[0].store(seen, SeqCst);
                }
                h.0.coord.finish(&h.0.queue);
            }
        }
        guc.join().unwrap();
        handler.join().unwrap();
        observer.join().unwrap();
        // The handler may have run before the GuC's write: run it again, as the next MSI would.
        h.1.handle(|gt| h.0.coord.signal(gt, &h.0.queue));
        h.0.drain();
        h.0.check_nothing_lost();
    });
}

/// (6) The readers against the worker: a second report of GT 0 lands while the pass for the
/// first one runs (before or after its RESFIX_START, its fixups or its DONE), and an observer
/// that sees the report done (it happened before the observer's first look) must read GT 0's
/// recovery as pending and its GGTT as needing fixes, until a `done` (a `fixed`) of a run that
/// covers the report: the coordinator's flags come from two words (the state word's `Q`, the
/// pass word's `P` and `F`), and this checks that a reader never falls between them.
#[test]
fn readers_see_a_report_until_a_run_after_it() {
    model(|| {
        let h = Harness::new(StartPolicy::AnyGt, PassMode::Normal);
        let _ = h.migrate(0);
        // (the second report is done, a run covering it announced its fixed, its done)
        let marks = Arc::new((
            AtomicBool::new(false),
            AtomicBool::new(false),
            AtomicBool::new(false),
        ));
        let reporter = {
            let (h, marks) = (h.clone(), marks.clone());
            thread::spawn(move || {
                let _ = h.migrate(0);
                marks.0.store(true, SeqCst);
            })
        };
        let observer = {
            let (h, marks) = (h.clone(), marks.clone());
            thread::spawn(move || {
                if marks.0.load(SeqCst) {
                    let pending = h.coord.recovery_pending(GtId(0));
                    let fixes = h.coord.needs_fixes(GtId(0));
                    assert!(
                        pending || marks.2.load(SeqCst),
                        "a report before the reader read as not pending ({:?})",
                        h.coord
                    );
                    assert!(
                        fixes || marks.1.load(SeqCst),
                        "a report before the reader read as GGTT valid ({:?})",
                        h.coord
                    );
                }
            })
        };
        // The worker: one look at the queue; the pass announces a fixed / done that covers
        // migration 2 (a run that covers it later, in `drain`, comes after the observer).
        if h.queue.take() {
            let gts = h.coord.begin().unwrap();
            h.begun.fetch_add(1, SeqCst);
            for g in gts.iter() {
                h.coord.started(g);
                let seen = h.migrations[0].load(SeqCst);
                if seen >= 2 {
                    marks.1.store(true, SeqCst);
                }
                h.coord.fixed(g);
                if seen >= 2 {
                    marks.2.store(true, SeqCst);
                }
                h.coord.done(g);
                let c = h.covered[0].load(SeqCst);
                h.covered[0].store(c.max(seen), SeqCst);
            }
            h.coord.finish(&h.queue);
        }
        reporter.join().unwrap();
        observer.join().unwrap();
        h.drain();
        h.check_nothing_lost();
    });
}
