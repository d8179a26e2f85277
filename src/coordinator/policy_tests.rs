//! The coordinator's unit tests of the start policies and the hand-backs: which reports queue
//! a pass, what a pass owes, wedge and teardown.

use super::tests::{coord, run_gt};
use super::*;
use crate::workqueue::TestQueue;

#[test]
fn any_gt_report_marks_only_its_gt() {
    let c = coord(2, StartPolicy::AnyGt);
    let q = TestQueue::new();
    assert_eq!(c.signal(GtId(0), &q), Signal::Queued);
    assert!(c.recovery_pending(GtId(0)) && c.needs_fixes(GtId(0)));
    assert!(!c.recovery_pending(GtId(1)) && !c.needs_fixes(GtId(1)));
    assert_eq!(c.signal(GtId(0), &q), Signal::AlreadyPending);
    assert_eq!(q.calls(), 1);
    let gts = c.begin().unwrap();
    assert_eq!(gts, GtSet::single(GtId(0)));
    // GT 1 reports while GT 0 recovers: GT 1 is queued for a run of its own, GT 0's run
    // is not touched.
    assert_eq!(c.signal(GtId(1), &q), Signal::Queued);
    assert_eq!(q.calls(), 2);
    assert_eq!(run_gt(&c, GtId(0)), (true, true));
    assert!(!c.recovery_pending(GtId(0)) && !c.needs_fixes(GtId(0)));
    c.finish(&q);
    assert_eq!(q.calls(), 3, "finish re-queues the refused run");
    assert_eq!(c.begin(), Some(GtSet::single(GtId(1))));
    assert_eq!(run_gt(&c, GtId(1)), (true, true));
    c.finish(&q);
    assert!(c.is_idle() && !c.recovery_imminent());
    assert_eq!(c.passes_begun(), 2);
}

#[test]
fn report_before_start_is_absorbed_after_start_runs_again() {
    let c = coord(1, StartPolicy::AnyGt);
    let q = TestQueue::new();
    let gt = GtId(0);
    let _ = c.signal(gt, &q);
    let _ = c.begin().unwrap();
    // Before RESFIX_START: covered by this run.
    assert_eq!(c.signal(gt, &q), Signal::AlreadyPending);
    c.started(gt);
    assert!(!c.recovery_imminent_for(gt));
    // After RESFIX_START: a new run, and the GGTT stays invalid through this run's fixups.
    assert_eq!(c.signal(gt, &q), Signal::Queued);
    assert!(c.recovery_imminent_for(gt));
    assert!(
        !c.fixed(gt),
        "fixups of the older run do not validate the GGTT"
    );
    assert!(c.needs_fixes(gt));
    assert!(!c.done(gt), "another recovery imminent: stays in progress");
    assert!(c.recovery_pending(gt));
    c.finish(&q);
    assert_eq!(c.begin(), Some(GtSet::single(gt)));
    assert_eq!(run_gt(&c, gt), (true, true));
    c.finish(&q);
    assert!(!c.recovery_pending(gt) && !c.needs_fixes(gt));
}

#[test]
fn all_gts_waits_for_every_gt() {
    let c = coord(3, StartPolicy::AllGts);
    let q = TestQueue::new();
    assert_eq!(c.signal(GtId(0), &q), Signal::WaitingForOtherGts);
    assert_eq!(c.signal(GtId(0), &q), Signal::WaitingForOtherGts);
    assert_eq!(c.signal(GtId(2), &q), Signal::WaitingForOtherGts);
    assert!(!c.is_queued() && q.calls() == 0);
    assert!(c.recovery_pending(GtId(0)) && c.needs_fixes(GtId(2)));
    assert_eq!(c.signal(GtId(1), &q), Signal::Queued);
    assert_eq!(c.signal(GtId(1), &q), Signal::AlreadyPending);
    assert_eq!(c.begin(), Some(GtSet::all(3)));
    for g in 0..3 {
        run_gt(&c, GtId(g));
    }
    // A lone report after the pass waits for the others again.
    assert_eq!(c.signal(GtId(2), &q), Signal::WaitingForOtherGts);
    c.finish(&q);
    assert_eq!(q.calls(), 1);
    assert_eq!(c.pending_gts(), GtSet::single(GtId(2)));
}

#[test]
fn all_gts_counts_a_report_its_queued_recovery_covers() {
    // GT 0 is recovered and reported again (a second migration after its RESFIX_START); GT
    // 1's report of that migration lands before GT 1's RESFIX_START, so its recovery covers
    // it, but it still counts: GT 0's re-run is queued.
    let c = coord(2, StartPolicy::AllGts);
    let q = TestQueue::new();
    let _ = c.signal(GtId(0), &q);
    let _ = c.signal(GtId(1), &q);
    assert_eq!(c.begin(), Some(GtSet::all(2)));
    run_gt(&c, GtId(0));
    assert_eq!(c.signal(GtId(0), &q), Signal::WaitingForOtherGts);
    assert_eq!(c.signal(GtId(1), &q), Signal::Queued);
    run_gt(&c, GtId(1));
    c.finish(&q);
    // Device-wide: the pass takes every GT, not only the re-reported one.
    assert_eq!(c.begin(), Some(GtSet::all(2)));
    assert!(c.recovery_pending(GtId(1)) && c.needs_fixes(GtId(1)));
    run_gt(&c, GtId(0));
    run_gt(&c, GtId(1));
    c.finish(&q);
    assert!(c.pending_gts().is_empty() && !c.recovery_pending(GtId(0)));
    assert!(c.in_progress_gts().is_empty() && c.needs_fixes_gts().is_empty());
}

#[test]
fn all_gts_awaiting_reports_and_start_now() {
    let c = coord(3, StartPolicy::AllGts);
    let q = TestQueue::new();
    assert!(c.awaiting_reports().is_empty());
    assert!(!c.start_now(&q), "nothing queued: nothing to start");
    let _ = c.signal(GtId(1), &q);
    assert_eq!(c.awaiting_reports(), GtSet::from_bits(0b101));
    let _ = c.signal(GtId(0), &q);
    assert_eq!(c.awaiting_reports(), GtSet::single(GtId(2)));
    // GT 2's interrupt is lost: the embedder ends the wait.
    assert!(c.start_now(&q));
    assert_eq!(q.calls(), 1);
    assert!(
        c.awaiting_reports().is_empty(),
        "queued: waiting for nobody"
    );
    assert!(!c.start_now(&q), "already queued");
    assert_eq!(c.begin(), Some(GtSet::all(3)), "GT 2 is recovered too");
    assert!(c.awaiting_reports().is_empty(), "running");
    for g in 0..3 {
        assert_eq!(run_gt(&c, GtId(g)), (true, true));
    }
    c.finish(&q);
    assert!(c.pending_gts().is_empty() && c.in_progress_gts().is_empty());
    // Never under AnyGt; never once wedged.
    let any = coord(2, StartPolicy::AnyGt);
    let _ = any.signal(GtId(0), &q);
    assert!(any.awaiting_reports().is_empty());
    let _ = c.signal(GtId(0), &q);
    c.wedge();
    assert!(c.awaiting_reports().is_empty() && !c.start_now(&q));
}

#[test]
fn hand_backs_owe_a_pass_under_all_gts() {
    for kind in 0..3 {
        let c = coord(2, StartPolicy::AllGts);
        let q = TestQueue::new();
        let _ = c.signal(GtId(0), &q);
        let _ = c.signal(GtId(1), &q);
        let _ = c.begin().unwrap();
        run_gt(&c, GtId(0));
        c.started(GtId(1));
        let one = GtSet::single(GtId(1));
        match kind {
            0 => c.requeue(one, &q),
            1 => c.defer(one, &q),
            _ => c.postpone(one, &q),
        }
        assert!(c.is_queued() && c.needs_fixes(GtId(1)) && c.recovery_pending(GtId(1)));
        c.finish(&q);
        assert_eq!(
            c.begin(),
            Some(GtSet::all(2)),
            "kind {kind}: owed, no wait for GT 0; device-wide"
        );
        run_gt(&c, GtId(0));
        run_gt(&c, GtId(1));
        c.finish(&q);
        assert_eq!(c.signal(GtId(0), &q), Signal::WaitingForOtherGts);
        assert_eq!(
            (c.requeues(), c.deferrals()),
            [(1, 0), (0, 1), (0, 0)][kind]
        );
    }
}

#[test]
fn requeue_outside_a_pass_queues_itself() {
    let c = coord(2, StartPolicy::AnyGt);
    let q = TestQueue::new();
    c.requeue(GtSet::single(GtId(0)), &q);
    assert_eq!(q.calls(), 1);
    c.requeue(GtSet::single(GtId(1)), &q);
    assert_eq!(q.calls(), 1, "already queued");
    c.requeue(GtSet::empty(), &q);
    c.requeue(GtSet::from_bits(0b100), &q);
    assert_eq!(c.requeues(), 2);
    assert_eq!(c.begin(), Some(GtSet::all(2)));
    c.finish(&q);
}

#[test]
fn refuse_drops_the_queue_but_keeps_the_gt_blocked() {
    let c = coord(1, StartPolicy::AnyGt);
    let q = TestQueue::new();
    let _ = c.signal(GtId(0), &q);
    let gts = c.begin().unwrap();
    c.refuse(gts);
    c.finish(&q);
    assert!(c.pending_gts().is_empty() && !c.is_queued());
    assert!(c.recovery_pending(GtId(0)) && c.needs_fixes(GtId(0)));
}

#[test]
fn begin_refusals() {
    let c = coord(1, StartPolicy::AnyGt);
    let q = TestQueue::new();
    assert_eq!(c.begin(), None, "spurious run");
    let _ = c.signal(GtId(0), &q);
    assert_eq!(c.begin(), Some(GtSet::single(GtId(0))));
    assert_eq!(c.begin(), None, "nothing queued");
    c.started(GtId(0));
    assert_eq!(c.signal(GtId(0), &q), Signal::Queued);
    assert_eq!(c.begin(), None, "refused while running");
    assert!(c.is_queued());
    c.finish(&q);
    assert_eq!(q.calls(), 3);
}

#[test]
fn wedge_once_and_nothing_after() {
    let c = coord(2, StartPolicy::AnyGt);
    let q = TestQueue::new();
    let _ = c.signal(GtId(0), &q);
    let gts = c.begin().unwrap();
    assert!(c.wedge());
    assert!(!c.wedge());
    assert!(c.is_wedged() && !c.recovery_imminent());
    assert!(
        !c.recovery_pending(GtId(0)),
        "nothing is pending on a wedged device"
    );
    assert!(c.needs_fixes(GtId(0)), "its GGTT never became valid");
    let calls = q.calls();
    assert_eq!(c.signal(GtId(1), &q), Signal::Ignored);
    c.requeue(gts, &q);
    c.defer(gts, &q);
    c.finish(&q);
    assert_eq!(q.calls(), calls);
    assert_eq!(c.begin(), None);
    assert!(c.teardown_wait(|| false));
}

#[test]
fn teardown_stops_everything() {
    for p in [StartPolicy::AnyGt, StartPolicy::AllGts] {
        let c = coord(1, p);
        let q = TestQueue::new();
        let _ = c.signal(GtId(0), &q);
        let gts = c.begin().unwrap();
        c.teardown();
        assert!(c.is_torn_down() && !c.is_idle());
        let mut spins = 0;
        assert!(!c.teardown_wait(|| {
            spins += 1;
            spins < 3
        }));
        assert_eq!(c.signal(GtId(0), &q), Signal::Ignored);
        c.started(GtId(0));
        assert_eq!(c.signal(GtId(0), &q), Signal::Ignored);
        c.postpone(gts, &q);
        c.finish(&q);
        assert!(c.teardown_wait(|| unreachable!()));
        assert_eq!(c.begin(), None);
        assert_eq!(q.calls(), 1);
    }
}

#[test]
fn finish_without_begin_is_harmless() {
    let c = coord(1, StartPolicy::AnyGt);
    let q = TestQueue::new();
    c.finish(&q);
    assert!(c.is_idle());
    assert_eq!(q.calls(), 0);
}

#[test]
fn debug_output() {
    let c = coord(2, StartPolicy::AnyGt);
    let q = TestQueue::new();
    let _ = c.signal(GtId(1), &q);
    let s = std::format!("{c:?}");
    assert!(
        s.contains("queued: {1}") && s.contains("work_queued: true"),
        "{s}"
    );
}
