//! The coordinator's unit tests: each flag and hand-back on its own, the RMW counts the docs
//! state, and the polled queue.

use super::*;
use crate::workqueue::TestQueue;

pub(super) fn coord(n: usize, p: StartPolicy) -> Coordinator {
    Coordinator::new(n, p).unwrap()
}

/// `drop_idle_work`: clears the WORK a report left during the pass once that GT was run in
/// it, and only then; never under AllGts, outside a pass or once sticky.
#[test]
fn drop_idle_work_clears_only_work_that_no_queued_gt_owes() {
    let q = TestQueue::new();
    let c = coord(2, StartPolicy::AnyGt);
    assert!(!c.drop_idle_work(), "outside a pass");
    // WORK and no GT queued, outside a pass: a pass took GT1 in and did not clear it.
    assert_eq!(c.signal(GtId(0), &q), Signal::Queued);
    assert!(q.take());
    assert_eq!(c.begin(), Some(GtSet::single(GtId(0))));
    run_gt(&c, GtId(0));
    assert_eq!(c.signal(GtId(1), &q), Signal::Queued);
    run_gt(&c, GtId(1));
    c.finish(&q);
    assert!(c.is_queued() && c.pending_gts().is_empty());
    assert!(!c.drop_idle_work(), "WORK, nothing queued, no pass");
    assert!(q.take());
    assert_eq!(c.begin(), Some(GtSet::empty()));
    c.finish(&q);
    assert_eq!(c.signal(GtId(0), &q), Signal::Queued);
    assert!(!c.drop_idle_work(), "queued, no pass");
    assert!(q.take());
    assert_eq!(c.begin(), Some(GtSet::single(GtId(0))));
    assert!(!c.drop_idle_work(), "no WORK");
    run_gt(&c, GtId(0));
    // GT1 reports during the pass: Q and WORK; the pass takes it in.
    assert_eq!(c.signal(GtId(1), &q), Signal::Queued);
    assert!(!c.drop_idle_work(), "GT1 still queued");
    run_gt(&c, GtId(1));
    // GT0 reported again after its RESFIX_START: owed a run.
    assert_eq!(c.signal(GtId(0), &q), Signal::AlreadyPending);
    assert!(!c.drop_idle_work(), "GT0 queued again");
    assert!(c.is_queued());
    c.finish(&q);
    assert!(q.take());
    assert_eq!(c.begin(), Some(GtSet::single(GtId(0))));
    run_gt(&c, GtId(0));
    assert_eq!(c.signal(GtId(1), &q), Signal::Queued);
    run_gt(&c, GtId(1));
    assert!(c.drop_idle_work());
    assert!(!c.is_queued() && !c.drop_idle_work());
    c.finish(&q);
    assert_eq!(c.begin(), None, "no empty pass follows");
    assert!(c.is_idle() && c.in_progress_gts().is_empty());
    // A report after the clear queues again.
    assert_eq!(c.signal(GtId(1), &q), Signal::Queued);
    assert_eq!(c.begin(), Some(GtSet::single(GtId(1))));
    run_gt(&c, GtId(1));
    c.finish(&q);

    // Sticky: nothing.
    assert_eq!(c.signal(GtId(0), &q), Signal::Queued);
    assert_eq!(c.begin(), Some(GtSet::single(GtId(0))));
    run_gt(&c, GtId(0));
    assert_eq!(c.signal(GtId(1), &q), Signal::Queued);
    run_gt(&c, GtId(1));
    c.teardown();
    assert!(!c.drop_idle_work());
    c.finish(&q);

    // AllGts: WORK owes the device-wide pass.
    let c = coord(2, StartPolicy::AllGts);
    assert_eq!(c.signal(GtId(0), &q), Signal::WaitingForOtherGts);
    assert_eq!(c.signal(GtId(1), &q), Signal::Queued);
    assert_eq!(c.begin(), Some(GtSet::all(2)));
    run_gt(&c, GtId(0));
    run_gt(&c, GtId(1));
    assert_eq!(c.signal(GtId(0), &q), Signal::WaitingForOtherGts);
    assert_eq!(c.signal(GtId(1), &q), Signal::Queued);
    run_gt(&c, GtId(0));
    run_gt(&c, GtId(1));
    assert!(!c.drop_idle_work());
    assert!(c.is_queued());
    c.finish(&q);
}

/// One GT's whole run inside a pass: started, fixed, done.
pub(super) fn run_gt(c: &Coordinator, gt: GtId) -> (bool, bool) {
    c.started(gt);
    (c.fixed(gt), c.done(gt))
}

#[test]
fn size_is_as_documented() {
    // The unit tests' state word also counts its read-modify-writes: one more word.
    let counting = core::mem::size_of::<StateWord>() - core::mem::size_of::<usize>();
    assert_eq!(
        core::mem::size_of::<Coordinator>() - counting,
        6 * core::mem::size_of::<usize>()
    );
    #[cfg(target_pointer_width = "64")]
    assert_eq!(core::mem::size_of::<Coordinator>() - counting, 48);
    #[cfg(target_pointer_width = "64")]
    assert_eq!(MAX_GTS, 13);
}

/// The read-modify-writes each call makes on the state word, as the docs (and the README's
/// performance section) state. `signal`, uncontended: 1 when there is nothing to queue
/// (covered, or marked while the worker is queued), 2 when it queues; its fallback after a
/// failed compare-and-swap: 2 when covered, 3 when it marks or queues, 4 when it completes
/// the AllGts set. The worker: 1 each for `begin`, `started` and `finish`, none for `fixed`
/// and `done` (the pass word takes plain stores).
#[test]
fn read_modify_writes_are_as_documented() {
    let q = TestQueue::new();
    let rmws = |c: &Coordinator, f: &dyn Fn(&Coordinator)| {
        let before = c.state.rmws();
        f(c);
        c.state.rmws() - before
    };

    let c = coord(2, StartPolicy::AnyGt);
    assert_eq!(
        rmws(&c, &|c| assert_eq!(c.signal(GtId(0), &q), Signal::Queued)),
        2
    );
    let again = |c: &Coordinator| assert_eq!(c.signal(GtId(0), &q), Signal::AlreadyPending);
    assert_eq!(rmws(&c, &again), 1);
    assert_eq!(
        rmws(&c, &|c| assert_eq!(
            c.signal(GtId(1), &q),
            Signal::AlreadyPending
        )),
        1
    );
    assert_eq!(rmws(&c, &|c| assert_eq!(c.begin(), Some(GtSet::all(2)))), 1);
    assert_eq!(rmws(&c, &|c| c.started(GtId(0))), 1);
    assert_eq!(rmws(&c, &|c| assert!(c.fixed(GtId(0)))), 0);
    assert_eq!(rmws(&c, &|c| assert!(c.done(GtId(0)))), 0);
    run_gt(&c, GtId(1));
    assert_eq!(rmws(&c, &|c| c.finish(&q)), 1);
    assert!(c.is_idle() && c.pending_gts().is_empty() && c.in_progress_gts().is_empty());

    let c = coord(2, StartPolicy::AllGts);
    let first = |c: &Coordinator| assert_eq!(c.signal(GtId(0), &q), Signal::WaitingForOtherGts);
    assert_eq!(rmws(&c, &first), 1);
    assert_eq!(rmws(&c, &first), 1, "reported already: nothing to write");
    assert_eq!(
        rmws(&c, &|c| assert_eq!(c.signal(GtId(1), &q), Signal::Queued)),
        2
    );
    // Queued already, and counted for the next pass.
    let covered = |c: &Coordinator| assert_eq!(c.signal(GtId(0), &q), Signal::AlreadyPending);
    assert_eq!(rmws(&c, &covered), 1);

    // The fallback, as `signal` takes it when its compare-and-swap fails.
    let c = coord(2, StartPolicy::AnyGt);
    let qr = &q;
    let queued = |gt: u8, want: Signal| {
        move |c: &Coordinator| assert_eq!(c.signal_contended(1 << gt, qr), want)
    };
    assert_eq!(rmws(&c, &queued(0, Signal::Queued)), 3);
    assert_eq!(rmws(&c, &queued(0, Signal::AlreadyPending)), 2);
    assert_eq!(rmws(&c, &queued(1, Signal::AlreadyPending)), 3);
    let c = coord(2, StartPolicy::AllGts);
    assert_eq!(rmws(&c, &queued(0, Signal::WaitingForOtherGts)), 3);
    assert_eq!(rmws(&c, &queued(1, Signal::Queued)), 4);
    assert_eq!(rmws(&c, &queued(1, Signal::AlreadyPending)), 3);
    assert!(c.is_idle() && c.is_queued());

    // A polled queue: no announcement to retire. The queueing report takes 1, its
    // fallback 2; a whole migration of 2 GTs (both report, one pass) 6, against 7.
    let polled = TestQueue::new().with_polled(true);
    for (queue, signal_rmws, fallback_rmws, cycle_rmws) in [(&polled, 1, 2, 6), (&q, 2, 3, 7)] {
        let c = coord(2, StartPolicy::AnyGt);
        let first = |c: &Coordinator| assert_eq!(c.signal(GtId(0), queue), Signal::Queued);
        assert_eq!(rmws(&c, &first), signal_rmws);
        let c = coord(2, StartPolicy::AnyGt);
        let first = |c: &Coordinator| assert_eq!(c.signal_contended(1, queue), Signal::Queued);
        assert_eq!(rmws(&c, &first), fallback_rmws);
        let c = coord(2, StartPolicy::AnyGt);
        let cycle = |c: &Coordinator| {
            assert_eq!(c.signal(GtId(0), queue), Signal::Queued);
            assert_eq!(c.signal(GtId(1), queue), Signal::AlreadyPending);
            let gts = c.begin().unwrap();
            for gt in gts.iter() {
                assert_eq!(run_gt(c, gt), (true, true));
            }
            c.finish(queue);
        };
        assert_eq!(rmws(&c, &cycle), cycle_rmws);
        assert!(c.is_idle() && !c.is_queued());
    }
}

/// The fallback path of `signal` does what the single compare-and-swap does: the same
/// answers and the same state word for every state the word can be in before a report.
#[test]
fn signal_fallback_agrees_with_the_fast_path() {
    for (policy, polled) in [
        (StartPolicy::AnyGt, false),
        (StartPolicy::AllGts, false),
        (StartPolicy::AnyGt, true),
        (StartPolicy::AllGts, true),
    ] {
        let q = TestQueue::new().with_polled(polled);
        // Every combination of Q and R bits of 2 GTs, WORK, RUNNING and the sticky flags.
        for bits in 0..(1usize << 8) {
            let word = (bits & 0b11)
                | r_of((bits >> 2) & 0b11)
                | [0, WORK][(bits >> 4) & 1]
                | [0, RUNNING][(bits >> 5) & 1]
                | [0, WEDGED][(bits >> 6) & 1]
                | [0, TEARDOWN][(bits >> 7) & 1];
            for gt in 0..2u8 {
                let fast = coord(2, policy);
                let slow = coord(2, policy);
                fast.state.fetch_or(word, Ordering::Relaxed);
                slow.state.fetch_or(word, Ordering::Relaxed);
                let a = fast.signal(GtId(gt), &q);
                let b = slow.signal_contended(1 << gt, &q);
                assert_eq!(a, b, "{policy:?} {polled} word {word:#x} GT {gt}");
                let (sa, sb) = (
                    fast.state.load(Ordering::Relaxed),
                    slow.state.load(Ordering::Relaxed),
                );
                assert_eq!(sa, sb, "{policy:?} {polled} word {word:#x} GT {gt}");
            }
        }
        if polled {
            assert_eq!(q.calls(), 0, "a polled queue is never called");
        }
    }
}

/// `started_gts`: every GT of the set started in one read-modify-write (in progress and
/// needs fixes set, queued clear), nothing for an empty set, GTs out of range ignored.
#[test]
fn started_gts_starts_the_set_at_once() {
    let q = TestQueue::new();
    let c = coord(3, StartPolicy::AnyGt);
    for gt in 0..3 {
        let _ = c.signal(GtId(gt), &q);
    }
    assert_eq!(c.begin(), Some(GtSet::all(3)));
    let before = c.state.rmws();
    c.started_gts(GtSet::empty());
    c.started_gts(GtSet::from_bits(1 << 5));
    assert_eq!(c.state.rmws(), before);
    assert_eq!(c.pending_gts(), GtSet::all(3));
    c.started_gts(GtSet::from_bits(0b101 | 1 << 5));
    assert_eq!(c.state.rmws(), before + 1);
    assert_eq!(c.pending_gts(), GtSet::single(GtId(1)));
    assert_eq!(c.in_progress_gts(), GtSet::all(3));
    assert_eq!(c.needs_fixes_gts(), GtSet::all(3));
    // As one `started` per GT: a report from now on queues another run of GT 0.
    assert_eq!(c.signal(GtId(0), &q), Signal::Queued);
    assert!(!c.fixed(GtId(0)) && c.fixed(GtId(2)) && c.done(GtId(2)));
    assert_eq!(c.in_progress_gts(), GtSet::from_bits(0b011));
}

/// A polled queue ([`WorkQueue::polled`]) is never called, by any path that queues the
/// worker; the `WORK` flag alone makes the work due, and no path leaves a signal in flight.
#[test]
fn polled_queue_is_never_called() {
    let q = TestQueue::new().with_polled(true);
    let c = coord(2, StartPolicy::AnyGt);
    assert_eq!(c.begin(), None);
    assert_eq!(c.signal(GtId(0), &q), Signal::Queued);
    assert!(c.is_idle() && c.is_queued());
    assert_eq!(c.signal(GtId(1), &q), Signal::AlreadyPending);
    assert_eq!(c.begin(), Some(GtSet::all(2)));
    assert_eq!(run_gt(&c, GtId(0)), (true, true));
    // GT 0 reported again during the pass: WORK again, for the next look.
    assert_eq!(c.signal(GtId(0), &q), Signal::Queued);
    assert_eq!(run_gt(&c, GtId(1)), (true, true));
    c.finish(&q);
    assert!(c.is_idle() && c.is_queued());
    assert_eq!(c.begin(), Some(GtSet::single(GtId(0))));
    // A hand-back inside the pass and outside one.
    c.started(GtId(0));
    c.requeue(GtSet::single(GtId(0)), &q);
    c.finish(&q);
    assert!(c.is_queued());
    assert_eq!(c.begin(), Some(GtSet::single(GtId(0))));
    c.started(GtId(0));
    c.finish(&q);
    assert!(!c.is_queued());
    c.requeue(GtSet::single(GtId(1)), &q);
    assert!(c.is_queued() && c.is_idle());
    // The fallback.
    let c = coord(2, StartPolicy::AnyGt);
    assert_eq!(c.signal_contended(1, &q), Signal::Queued);
    assert!(c.is_idle() && c.is_queued());
    // AllGts: the completing report, and start_now.
    let c = coord(2, StartPolicy::AllGts);
    assert_eq!(c.signal(GtId(0), &q), Signal::WaitingForOtherGts);
    assert!(c.start_now(&q));
    assert!(c.is_idle() && c.is_queued());
    let c = coord(2, StartPolicy::AllGts);
    assert_eq!(c.signal(GtId(0), &q), Signal::WaitingForOtherGts);
    assert_eq!(c.signal_contended(1 << 1, &q), Signal::Queued);
    assert!(c.is_idle() && c.is_queued());
    assert_eq!(q.calls(), 0);
    // The same sequence with a queue that is called: it is.
    let called = TestQueue::new();
    let c = coord(2, StartPolicy::AnyGt);
    assert_eq!(c.signal(GtId(0), &called), Signal::Queued);
    assert_eq!(c.begin(), Some(GtSet::single(GtId(0))));
    assert_eq!(c.signal(GtId(1), &called), Signal::Queued);
    c.finish(&called);
    assert_eq!(called.calls(), 3);
}

/// A GT reported again after its RESFIX_START is queued, in progress and in need of fixes
/// through both words at once (its `Q` bit and its pass-word flags), and each reader says
/// so; `fixed` and `done` then clear the pass-word flags while `Q` keeps both set.
#[test]
fn flags_from_both_words() {
    let c = coord(2, StartPolicy::AnyGt);
    let q = TestQueue::new();
    let _ = c.signal(GtId(1), &q);
    let _ = c.begin().unwrap();
    c.started(GtId(1));
    assert_eq!(c.pending_gts(), GtSet::empty());
    assert_eq!(c.signal(GtId(1), &q), Signal::Queued);
    let one = GtSet::single(GtId(1));
    assert_eq!(c.pending_gts(), one);
    assert_eq!(c.in_progress_gts(), one);
    assert_eq!(c.needs_fixes_gts(), one);
    assert!(c.recovery_pending(GtId(1)) && c.needs_fixes(GtId(1)));
    assert!(format!("{c:?}").contains("queued: {1}, in_progress: {1}, needs_fixes: {1},"));
    assert!(!c.fixed(GtId(1)) && !c.done(GtId(1)));
    assert_eq!(c.in_progress_gts(), one);
    assert_eq!(c.needs_fixes_gts(), one);
    assert!(c.recovery_pending(GtId(1)) && c.needs_fixes(GtId(1)));
    assert!(!c.recovery_pending(GtId(0)) && !c.needs_fixes(GtId(0)));
    c.finish(&q);
    assert_eq!(c.begin(), Some(one));
    c.started(GtId(1));
    assert!(c.fixed(GtId(1)) && c.done(GtId(1)));
    c.finish(&q);
    assert!(c.in_progress_gts().is_empty() && c.needs_fixes_gts().is_empty());
}

/// Under AllGts a report of a GT whose recovery is queued keeps it queued (and counts it).
#[test]
fn all_gts_covered_report_keeps_the_gt_queued() {
    let c = coord(2, StartPolicy::AllGts);
    let q = TestQueue::new();
    let _ = c.signal(GtId(0), &q);
    let _ = c.signal(GtId(1), &q);
    assert_eq!(c.begin(), Some(GtSet::all(2)));
    assert_eq!(c.signal(GtId(1), &q), Signal::WaitingForOtherGts);
    assert_eq!(c.pending_gts(), GtSet::all(2));
    assert_eq!(c.reported_gts(), GtSet::single(GtId(1)));
    assert!(c.recovery_imminent_for(GtId(1)));
}

/// The pass count wraps inside the pass word without touching the GT flags.
#[test]
fn pass_count_wraps_in_its_bits() {
    let c = coord(2, StartPolicy::AnyGt);
    let q = TestQueue::new();
    let _ = c.signal(GtId(0), &q);
    let _ = c.begin().unwrap();
    c.started(GtId(0));
    c.pass.store(
        c.pass.load(Ordering::Relaxed) | !(PASS_ONE - 1),
        Ordering::Relaxed,
    );
    assert_eq!(c.passes_begun(), usize::MAX >> (2 * MAX_GTS));
    assert!(c.fixed(GtId(0)) && c.done(GtId(0)));
    c.finish(&q);
    let _ = c.signal(GtId(1), &q);
    let _ = c.begin().unwrap();
    assert_eq!(c.passes_begun(), 0);
    assert!(c.in_progress_gts() == GtSet::single(GtId(1)));
    // `started` twice (a legacy-protocol re-run) leaves the flags set.
    c.started(GtId(1));
    c.started(GtId(1));
    assert_eq!(c.needs_fixes_gts(), GtSet::single(GtId(1)));
    assert_eq!(c.in_progress_gts(), GtSet::single(GtId(1)));
}

#[test]
fn gt_limit() {
    assert_eq!(
        Coordinator::new(0, StartPolicy::AnyGt).err(),
        Some(CoordinatorError::NoGts)
    );
    assert_eq!(
        Coordinator::new(MAX_GTS + 1, StartPolicy::AllGts).err(),
        Some(CoordinatorError::TooManyGts {
            requested: MAX_GTS + 1,
            max: MAX_GTS
        })
    );
    let c = coord(MAX_GTS, StartPolicy::AllGts);
    let q = TestQueue::new();
    for g in 0..MAX_GTS - 1 {
        assert_eq!(c.signal(GtId(g as u8), &q), Signal::WaitingForOtherGts);
    }
    assert_eq!(c.signal(GtId(MAX_GTS as u8 - 1), &q), Signal::Queued);
    assert_eq!(c.signal(GtId(MAX_GTS as u8), &q), Signal::InvalidGt);
    assert_eq!(c.signal(GtId(255), &q), Signal::InvalidGt);
    assert_eq!(c.begin(), Some(GtSet::all(MAX_GTS)));
    // The flags of the highest GT do not spill into the flag bits.
    assert_eq!(c.needs_fixes_gts(), GtSet::all(MAX_GTS));
    assert_eq!(c.in_progress_gts(), GtSet::all(MAX_GTS));
    for g in 0..MAX_GTS {
        assert_eq!(run_gt(&c, GtId(g as u8)), (true, true));
    }
    c.finish(&q);
    assert!(c.is_idle() && !c.is_queued());
    assert!(c.needs_fixes_gts().is_empty() && c.in_progress_gts().is_empty());
}

#[test]
fn const_construction() {
    static C: Result<Coordinator, CoordinatorError> = Coordinator::new(2, StartPolicy::AnyGt);
    assert_eq!(C.as_ref().unwrap().num_gts(), 2);
}

#[test]
fn error_display() {
    use std::string::ToString;
    assert!(CoordinatorError::NoGts.to_string().contains("at least one"));
    let e = CoordinatorError::TooManyGts {
        requested: 99,
        max: MAX_GTS,
    };
    assert!(e.to_string().contains("99"));
}

#[test]
fn gtset_ops() {
    let mut s = GtSet::empty();
    assert!(s.is_empty());
    assert!(s.insert(GtId(3)));
    assert!(!s.insert(GtId(3)));
    assert!(!s.insert(GtId(200)));
    assert!(s.insert(GtId(0)));
    assert!(s.contains(GtId(0)) && s.contains(GtId(3)) && !s.contains(GtId(1)));
    assert_eq!(s.len(), 2);
    assert_eq!(s.bits(), 0b1001);
    let v: heapless::Vec<u8, 8> = s.iter().map(|g| g.0).collect();
    assert_eq!(&v[..], &[0, 3]);
    assert!(s.remove(GtId(3)) && !s.remove(GtId(3)));
    assert_eq!(s, GtSet::single(GtId(0)));
    assert_eq!(s.union(GtSet::single(GtId(2))).bits(), 0b101);
    assert_eq!(GtSet::single(GtId(MAX_GTS as u8)), GtSet::empty());
    assert_eq!(GtSet::all(3).bits(), 7);
    assert_eq!(GtSet::all(usize::MAX).len(), MAX_GTS);
    assert_eq!(GtSet::from_bits(usize::MAX).len(), MAX_GTS);
    assert_eq!(
        GtSet::from_bits(usize::MAX).iter().last(),
        Some(GtId(MAX_GTS as u8 - 1))
    );
    assert_eq!(std::format!("{:?}", GtSet::all(2)), "{0, 1}");
}
