//! A re-query answered before a second migration but finished after the tile's other GT took a
//! newer GGTT_START must not move the tile's shared GGTT back to the older base.
//!
//! In a split-phase pass the two GTs' re-queries overlap: a GT whose later keys answer slowly
//! finishes its query after the other GT's, although its GGTT_START (the first key) was
//! answered before the VM moved again. Taking the base of whichever query finished last moved
//! the tile back to the old base, and, when the other GT had already been kickstarted on the
//! new one, moved the GGTT under a running GT. The tile now keeps the base of the query sent
//! last (each re-query is numbered as it is sent); the stale GT's RESFIX_DONE is refused
//! (`VF_MIGRATED`) and its next run re-queries. One after the other (`split_phase = false`)
//! the queries never overlap; those runs are the contrast.
//!
//! The scene: one tile, GT0 primary (fast replies, 20 us) and GT1 media (slow queries, 40 us a
//! key, a fast RESFIX_START), the VM migrated to X1, then to X2 70 us into the pass. Checked on
//! every run: both GuCs end running, the VF's GGTT users (the oracle) sit at X2, and the moves.
#![cfg(all(feature = "mock", feature = "std"))]

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use common::{Call, DynDevice, RigBuilder, RigVf, TILE_PAIR};
use xe_sriov_vf::coordinator::GtId;
use xe_sriov_vf::device::Device;
use xe_sriov_vf::mailbox::MailboxConfig;
use xe_sriov_vf::mock::{HookedDevice, Latency, MockClock, MockGuc, VfState};
use xe_sriov_vf::recovery::{PassOutcome, RecoveryConfig};
use xe_sriov_vf::tile::TileId;
use xe_sriov_vf::wire::action::code;

const BASE: u64 = 0x0020_0000;
const X1: u64 = 0x0100_0000;
const X2: u64 = 0x0200_0000;

type TestVf = RigVf<2>;

/// The GuCs, the clock, the second migration's time, and what the hooks saw.
struct World {
    clock: &'static MockClock,
    gucs: [&'static MockGuc; 2],
    second_at: AtomicU64,
    second_done: AtomicBool,
    vf: OnceLock<&'static TestVf>,
    events: Mutex<Vec<String>>,
}

impl World {
    fn note(&self, what: String) {
        self.events.lock().unwrap().push(what);
    }
}

/// GT `gt`'s device: its mock, and the second VM migration (both interrupts delivered) once
/// the virtual clock passes its time.
fn device(w: &'static World, gt: usize) -> DynDevice {
    let dev = HookedDevice::new(w.gucs[gt]).on_relax(move |guc| {
        guc.relax();
        if w.clock.now().0 >= w.second_at.load(Ordering::SeqCst)
            && !w.second_done.swap(true, Ordering::SeqCst)
        {
            w.note("second migration".into());
            let vf = w.vf.get().unwrap();
            for g in w.gucs {
                g.migrate(X2);
            }
            for (i, g) in w.gucs.iter().enumerate() {
                let _ = vf.handle_guc_interrupt(GtId(i as u8), g.take_interrupts());
            }
        }
    });
    common::leak_dyn(dev)
}

/// The event a hook call adds to the world's log (the GGTT moves and the per-GT hooks).
fn event(call: &Call) -> Option<String> {
    Some(match *call {
        Call::GgttFixup(_, ggtt) => format!("ggtt_fixup {:#x} -> {:#x}", ggtt.old, ggtt.new),
        Call::GtFixups(gt) => format!("GT{} fixups", gt.0),
        Call::Shutdown(gt) => format!("GT{} shutdown", gt.0),
        Call::Kickstart(gt) => format!("GT{} kickstart", gt.0),
        _ => return None,
    })
}

/// One scene: `late_gt0` hands GT0's first interrupt over only with the second migration's (so
/// GT0 joins the pass after it; else GT0's RESFIX_START is slow instead). Returns the moves and
/// the event log.
fn scene(split: bool, late_gt0: bool) -> (Vec<(u64, u64)>, Vec<String>) {
    let builder = RigBuilder::new(TILE_PAIR)
        .shared_clock()
        .mailbox(MailboxConfig::DEFAULT)
        .config(RecoveryConfig::DEFAULT)
        .split_phase(split);
    let (gucs, clock) = builder.mocks();
    let us = |n| Latency::fixed(Duration::from_micros(n));
    gucs[0].set_latency(us(20));
    if !late_gt0 {
        gucs[0]
            .set_action_latency(code::RESFIX_START, us(80))
            .unwrap();
    }
    gucs[1].set_latency(us(40));
    gucs[1]
        .set_action_latency(code::RESFIX_START, us(20))
        .unwrap();
    let w: &'static World = Box::leak(Box::new(World {
        clock,
        gucs,
        second_at: AtomicU64::new(u64::MAX),
        second_done: AtomicBool::new(false),
        vf: OnceLock::new(),
        events: Mutex::new(Vec::new()),
    }));
    let vf = builder.device(move |i, _| device(w, i)).mmio_on(gucs).vf;
    assert_eq!(vf.hooks().oracle.base(TileId(0)), Some(BASE));
    vf.hooks().on_call(move |call| {
        if let Some(e) = event(call) {
            w.note(e);
        }
    });
    let _ = w.vf.set(vf);
    w.second_at.store(clock.now().0 + 70_000, Ordering::SeqCst);
    for g in gucs {
        g.migrate(X1);
    }
    for (i, g) in gucs.iter().enumerate() {
        if i == 0 && late_gt0 {
            continue; // delivered with the second migration's
        }
        let _ = vf.handle_guc_interrupt(GtId(i as u8), g.take_interrupts());
    }
    let mut outcomes = Vec::new();
    while outcomes.len() < 8 && vf.queue().take() {
        outcomes.push(vf.run_worker());
    }
    let what = format!("split {split}, late GT0 {late_gt0}: {outcomes:?}");
    assert!(w.second_done.load(Ordering::SeqCst), "{what}");
    assert!(gucs.iter().all(|g| g.state() == VfState::Running), "{what}");
    assert!(
        !outcomes.iter().any(|o| matches!(o, PassOutcome::Failed(_))),
        "{what}"
    );
    // The VF's view: its GGTT users where the GuCs now put the GGTT.
    assert_eq!(vf.hooks().oracle.check(TileId(0), X2), Ok(()), "{what}");
    let moves = vf
        .hooks()
        .moves()
        .iter()
        .map(|m| (m.1.old, m.1.new))
        .collect();
    let events = w.events.lock().unwrap().clone();
    (moves, events)
}

/// Whether the tile's GGTT moved while GT0 ran (after its kickstart, before a new shutdown).
fn moved_under_running_gt0(events: &[String]) -> bool {
    let mut running = false;
    for e in events {
        match e.as_str() {
            "GT0 kickstart" => running = true,
            "GT0 shutdown" => running = false,
            e if e.starts_with("ggtt_fixup") && running => return true,
            _ => {}
        }
    }
    false
}

/// GT0 joins after the second migration, recovers on X2 and runs; GT1's query, sent before the
/// second migration, finishes after that: its X1 must not move the tile under the running GT0.
/// (It did: `ggtt_fixup 0x2000000 -> 0x1000000` after `GT0 kickstart`.)
#[test]
fn split_phase_never_moves_the_ggtt_under_a_kickstarted_gt() {
    let (moves, events) = scene(true, true);
    assert!(!moved_under_running_gt0(&events), "{events:#?}");
    assert_eq!(moves, [(BASE, X2)], "{events:#?}");
}

/// No join, GT0's RESFIX_START slow: GT0's query is sent after the second migration, GT1's
/// before it and finishes last. One move, to X2 (it was three: to X2, back to X1, to X2).
#[test]
fn split_phase_never_moves_the_ggtt_back_to_a_stale_base() {
    let (moves, events) = scene(true, false);
    assert_eq!(moves, [(BASE, X2)], "{events:#?}");
}

/// One GT after the other the queries never overlap: the same scenes move the GGTT only
/// forward, and never under a running GT.
#[test]
fn one_after_the_other_the_contrast() {
    for late_gt0 in [false, true] {
        let (moves, events) = scene(false, late_gt0);
        assert!(!moved_under_running_gt0(&events), "{events:#?}");
        assert!(
            !moves.windows(2).any(|m| m[0].1 == X2 && m[1].1 == X1),
            "{moves:x?}"
        );
        assert_eq!(moves.last().map(|m| m.1), Some(X2));
    }
}
