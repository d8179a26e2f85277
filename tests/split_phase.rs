//! The split-phase recovery ([`RecoveryConfig::split_phase`]): one worker with every GT's
//! request in flight at once, on mock GuCs that take virtual time to answer (a shared clock, a
//! turnaround per reply).
//!
//! Checked: each GT sends exactly the requests of the one-at-a-time pass, in the same order,
//! and its hooks run in the per-GT order; the blackout of a 2-GT pass is that of one GT; a BUSY,
//! a VF_MIGRATED, a second VM migration, a timeout or a protocol error on one GT while the other
//! GT's request is in flight ends as the one-at-a-time pass ends it, with the VF's GGTT users
//! (the oracle) where the GuC says the GGTT is, or where the VF says they are once wedged; the
//! PTL ordering still holds the media GT back until its primary GT's RESFIX_DONE.
#![cfg(all(feature = "mock", feature = "std"))]

mod common;

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use common::{Call, DynDevice, RigBuilder, RigVf};
use xe_sriov_vf::coordinator::{GtId, GtSet, Signal};
use xe_sriov_vf::device::{Device, Reg};
use xe_sriov_vf::gt::VfError;
use xe_sriov_vf::mailbox::{MailboxConfig, MailboxError};
use xe_sriov_vf::mock::{Dir, Fault, HookedDevice, Latency, MockGuc, Trigger, VfState};
use xe_sriov_vf::recovery::{PassOutcome, PassReport, RecoveryConfig, RecoveryError, Step};
use xe_sriov_vf::tile::TileId;
use xe_sriov_vf::wire::action::{code, MmioMessage};
use xe_sriov_vf::wire::regs::GtKind;
use xe_sriov_vf::wire::GucError;

const MOVED: u64 = 0x0120_0000;
const MOVED2: u64 = 0x0220_0000;
/// The GuC's turnaround per reply, as on hardware (tens of microseconds).
const L: Duration = Duration::from_micros(20);
/// Mailbox round trips of one recovery of a GT here (integrated, IP 20.04, VF ABI 1.27):
/// RESFIX_START, six KLVs, RESFIX_DONE.
const ROUND_TRIPS: u32 = 8;

/// What happens on a GT's register accesses: the VM-wide migration its `at`-th doorbell
/// (0 = none) lands just before, and a probe of its reads.
#[derive(Default)]
struct Moments {
    doorbells: AtomicU32,
    migrate_at: AtomicU32,
    /// Called with every register read and the value read.
    probe: OnceLock<Probe>,
}

/// What a test runs on a GT's register reads.
type Probe = Box<dyn Fn(Reg, u32) + Send + Sync>;

/// A GT's device: its mock, with `m`'s moments.
fn device(
    guc: &'static MockGuc,
    all: &'static [&'static MockGuc],
    m: &'static Moments,
) -> DynDevice {
    let dev = HookedDevice::new(guc)
        .on_read(move |guc, reg| {
            let v = guc.read32(reg);
            if let Some(probe) = m.probe.get() {
                probe(reg, v);
            }
            v
        })
        .on_write(move |guc, reg, value| {
            if reg == guc.kind().mailbox().doorbell {
                let n = m.doorbells.fetch_add(1, Ordering::SeqCst) + 1;
                if n == m.migrate_at.load(Ordering::SeqCst) {
                    for g in all {
                        g.migrate(MOVED2);
                    }
                }
            }
            guc.write32(reg, value)
        });
    common::leak_dyn(dev)
}

type TestVf = RigVf<2>;

struct Rig {
    vf: &'static TestVf,
    gucs: &'static [&'static MockGuc; 2],
    moments: [&'static Moments; 2],
}

/// A bootstrapped one-tile VF (`layout`: the GTs' kinds), mocks on one clock answering after
/// `L`, `split` or one GT after the other.
fn rig(layout: [GtKind; 2], split: bool, media_after_primary: bool) -> Rig {
    let moments: [&'static Moments; 2] = [0, 1].map(|_| &*Box::leak(Box::default()));
    let r = RigBuilder::new(layout.map(|kind| (TileId(0), kind)))
        .shared_clock()
        .latency(Latency::fixed(L))
        .mailbox(MailboxConfig::default())
        .config(RecoveryConfig::DEFAULT)
        .split_phase(split)
        .media_after_primary(media_after_primary)
        .device(move |i, gucs| device(gucs[i], Box::leak(Box::new(gucs)), moments[i]))
        .mmio();
    let (vf, gucs) = (r.vf, &*Box::leak(Box::new(r.gucs)));
    for g in gucs {
        g.drain_transcript(|_| {});
    }
    Rig { vf, gucs, moments }
}

impl Rig {
    fn migrate(&self, base: u64) {
        for g in self.gucs {
            g.migrate(base);
        }
    }

    /// Passes until nothing is queued, interrupts delivered before each.
    fn drain(&self) -> Vec<PassOutcome> {
        let mut outcomes = Vec::new();
        for _ in 0..16 {
            for (i, g) in self.gucs.iter().enumerate() {
                let intr = g.take_interrupts();
                if !intr.is_empty() {
                    let _ = self.vf.handle_guc_interrupt(GtId(i as u8), intr);
                }
            }
            if !self.vf.queue().take() {
                break;
            }
            outcomes.push(self.vf.run_worker());
        }
        outcomes
    }

    /// Each GT's requests since the last call, as sent.
    fn requests(&self) -> [Vec<MmioMessage>; 2] {
        self.gucs.map(|g| {
            let mut sent = Vec::new();
            g.drain_transcript(|e| {
                if e.dir == Dir::ToGuc {
                    sent.push(e.msg);
                }
            });
            sent
        })
    }

    /// The last migration's blackout per GT and its round trips.
    fn blackout(&self) -> [(Duration, u32); 2] {
        self.gucs.map(|g| {
            let b = g.blackout().unwrap();
            (b.duration().expect("RESFIX_DONE accepted"), b.round_trips)
        })
    }

    /// Recovered: both GuCs running, nothing pending, the GGTT users at the GuC's base.
    fn assert_settled(&self, what: &str) {
        assert!(!self.vf.is_wedged(), "{what}: wedged");
        for (i, g) in self.gucs.iter().enumerate() {
            assert_eq!(g.state(), VfState::Running, "{what}: gt{i}");
            assert!(self.vf.ggtt_valid(GtId(i as u8)), "{what}: gt{i} GGTT");
            assert!(!self.vf.recovery_pending(GtId(i as u8)), "{what}: gt{i}");
        }
        let base = self.gucs[0].provisioning().ggtt_start;
        assert_eq!(
            self.vf.hooks().oracle.check(TileId(0), base),
            Ok(()),
            "{what}"
        );
        assert!(self.vf.coordinator().is_idle(), "{what}");
    }

    /// Wedged once, the GGTT users where the VF says they are.
    fn assert_wedged(&self, what: &str) {
        let h = self.vf.hooks();
        assert!(self.vf.is_wedged(), "{what}");
        assert_eq!(
            (
                h.aborts.load(Ordering::SeqCst),
                h.wedged.load(Ordering::SeqCst)
            ),
            (1, 1),
            "{what}"
        );
        let applied = self.vf.tile_ggtt(TileId(0)).unwrap().applied;
        assert_eq!(h.oracle.check(TileId(0), applied), Ok(()), "{what}");
    }
}

const PAIR: [GtKind; 2] = [GtKind::Primary, GtKind::Media];

#[test]
fn one_worker_overlaps_the_gts_with_the_sequential_requests_and_hook_order() {
    let (seq, split) = (rig(PAIR, false, false), rig(PAIR, true, false));
    for r in [&seq, &split] {
        r.migrate(MOVED);
        assert_eq!(r.drain(), [PassOutcome::Recovered(GtSet::all(2))]);
        r.assert_settled("one migration");
    }
    // Same requests per GT, same hooks per GT in the same order.
    assert_eq!(seq.requests(), split.requests());
    for gt in 0..2 {
        assert_eq!(
            seq.vf.hooks().of(gt),
            ["shutdown", "fixups", "rearm", "kickstart"]
        );
        assert_eq!(split.vf.hooks().of(gt), seq.vf.hooks().of(gt));
    }
    // One after the other, GT1 waits for all of GT0's round trips; overlapped, it does not.
    let one_gt = ROUND_TRIPS * L;
    assert_eq!(
        seq.blackout(),
        [(one_gt, ROUND_TRIPS), (2 * one_gt, ROUND_TRIPS)]
    );
    assert_eq!(split.blackout(), [(one_gt, ROUND_TRIPS); 2]);
}

#[test]
fn busy_on_one_gt_while_the_other_is_in_flight() {
    let r = rig(PAIR, true, false);
    // GT1's RESFIX_START: three BUSY reads; GT1's queries: a slow action, BUSY from 5 us.
    r.gucs[1]
        .inject(
            Trigger::Action(code::RESFIX_START),
            Fault::Busy { count: 3 },
        )
        .unwrap();
    r.gucs[1]
        .set_action_latency(
            code::QUERY_SINGLE_KLV,
            Latency::busy(Duration::from_micros(5), Duration::from_micros(40)),
        )
        .unwrap();
    r.migrate(MOVED);
    assert_eq!(r.drain(), [PassOutcome::Recovered(GtSet::all(2))]);
    r.assert_settled("BUSY on gt1");
    let [(gt0, trips0), (gt1, trips1)] = r.blackout();
    assert_eq!((trips0, trips1), (ROUND_TRIPS, ROUND_TRIPS));
    // GT0 waited for GT1's slower queries at each step; GT1 paid 6 x 40 us for them.
    assert!(gt1 >= 6 * Duration::from_micros(40) + 2 * L, "{gt1:?}");
    assert!(gt0 <= gt1, "{gt0:?} {gt1:?}");
}

#[test]
fn vf_migrated_on_one_gt_requeues_it_alone() {
    let r = rig(PAIR, true, false);
    r.gucs[1]
        .inject(
            Trigger::Action(code::QUERY_SINGLE_KLV),
            Fault::Failure {
                error: GucError::VfMigrated,
                hint: 0,
            },
        )
        .unwrap();
    r.migrate(MOVED);
    let outcomes = r.drain();
    assert_eq!(
        outcomes,
        [
            PassOutcome::Incomplete({
                let mut r = PassReport::default();
                r.recovered = GtSet::single(GtId(0));
                r.requeued = GtSet::single(GtId(1));
                r
            }),
            PassOutcome::Recovered(GtSet::single(GtId(1))),
        ]
    );
    r.assert_settled("VF_MIGRATED on gt1");
    assert_eq!(r.vf.hooks().oracle.moves(TileId(0)), 1);
}

#[test]
fn a_vm_migration_while_both_gts_are_in_flight() {
    // GT1's doorbells after bootstrap (VF_RESET, MATCH_VERSION, 5 KLVs in its bootstrap query
    // plus GMD_ID): the recovery's RESFIX_START is doorbell 9, its first query 10, DONE 16.
    for at in [9, 10, 12, 16] {
        let r = rig(PAIR, true, false);
        r.moments[1].migrate_at.store(at, Ordering::SeqCst);
        r.migrate(MOVED);
        let outcomes = r.drain();
        assert!(outcomes.len() >= 2, "at {at}: {outcomes:?}");
        r.assert_settled(&format!("second migration at gt1 doorbell {at}"));
        assert_eq!(r.gucs[0].provisioning().ggtt_start, MOVED2, "at {at}");
        assert!(r.vf.hooks().oracle.moves(TileId(0)) <= 2, "at {at}");
    }
}

/// Injects `fault` on GT `gt`'s request `action` and runs the recovery: it must fail once, at
/// that GT. Returns the rig and the error.
fn failing_case(gt: usize, action: u16, fault: Fault) -> (Rig, RecoveryError) {
    let r = rig(PAIR, true, false);
    r.gucs[gt].inject(Trigger::Action(action), fault).unwrap();
    r.migrate(MOVED);
    let outcomes = r.drain();
    let [PassOutcome::Failed(error)] = outcomes[..] else {
        panic!("{outcomes:?}");
    };
    r.assert_wedged(&format!("{fault:?} on gt{gt}"));
    (r, error)
}

#[test]
fn a_timeout_on_one_gt_wedges_once_and_keeps_the_ggtt_truth() {
    let (r, error) = failing_case(1, code::RESFIX_DONE, Fault::NoReply);
    assert!(
        matches!(
            error,
            RecoveryError::Gt {
                gt: GtId(1),
                step: Step::ResfixDone,
                error: VfError::Mailbox(MailboxError::Timeout { .. }),
            }
        ),
        "{error:?}"
    );
    // GT0's DONE, in flight beside it, was accepted.
    assert_eq!(r.gucs[0].state(), VfState::Running);
    assert_eq!(r.vf.hooks().of(0).last(), Some(&"kickstart"));
}

#[test]
fn a_protocol_error_on_one_gt_while_the_other_is_in_flight() {
    let garbage = Fault::Reply(MmioMessage::from_slice(&[0xC000_0000]).unwrap());
    let (r, error) = failing_case(0, code::RESFIX_START, garbage);
    assert!(
        matches!(
            error,
            RecoveryError::Gt {
                gt: GtId(0),
                step: Step::ResfixStart,
                error: VfError::Mailbox(MailboxError::Protocol { .. }),
            }
        ),
        "{error:?}"
    );
    // GT1's RESFIX_START was in flight: shut down, nothing after.
    assert_eq!(r.vf.hooks().of(1), ["shutdown"]);
}

#[test]
fn ptl_ordering_holds_the_media_gt_until_the_primary_is_done() {
    for layout in [PAIR, [GtKind::Media, GtKind::Primary]] {
        let (seq, split) = (rig(layout, false, true), rig(layout, true, true));
        let mut passes = Vec::new();
        for r in [&seq, &split] {
            r.migrate(MOVED);
            passes.push(r.drain());
            r.assert_settled("PTL");
        }
        // In split phase the media GT starts in the same pass, once its primary GT's
        // RESFIX_DONE was accepted (one GT after the other, a media GT listed before its
        // primary waits for the next pass).
        assert_eq!(
            passes[1],
            [PassOutcome::Recovered(GtSet::all(2))],
            "{layout:?}"
        );
        let media = layout.iter().position(|k| *k == GtKind::Media).unwrap();
        let primary = 1 - media;
        // The media GT's RESFIX_START comes after the primary GT's accepted DONE.
        for r in [&seq, &split] {
            let calls = r.vf.hooks().log();
            let primary_done = calls
                .iter()
                .position(|c| *c == Call::Kickstart(GtId(primary as u8)))
                .unwrap();
            let media_start = calls
                .iter()
                .position(|c| *c == Call::Shutdown(GtId(media as u8)))
                .unwrap();
            assert!(primary_done < media_start, "{layout:?}: {calls:?}");
        }
        let one_gt = ROUND_TRIPS * L;
        let b = split.blackout();
        assert_eq!(b[primary], (one_gt, ROUND_TRIPS), "{layout:?}");
        assert_eq!(b[media], (2 * one_gt, ROUND_TRIPS), "{layout:?}");
        assert_eq!(seq.requests(), split.requests(), "{layout:?}");
    }
}

/// The split-phase pass publishes the RESFIX_STARTs accepted in one poll round at the end of the
/// round (`started_gts`), so GT0 stays queued while GT1's mailbox is read after GT0's reply. A
/// VM migration whose GT0 interrupt lands exactly there is covered by the run in progress
/// (`AlreadyPending`; one `started` per GT would have queued another run), and the marker
/// protocol still catches it: GT0's RESFIX_DONE is answered VF_MIGRATED and re-queued, and both
/// GTs end running on the second base, the GGTT users moved there, once per change.
#[test]
fn a_report_between_a_start_reply_and_the_end_of_its_poll_round_is_covered() {
    let r = rig(PAIR, true, false);
    let (gucs, vf) = (r.gucs, r.vf);
    let start_seen: &'static AtomicBool = Box::leak(Box::default());
    let fired: &'static AtomicBool = Box::leak(Box::default());
    let signal: &'static Mutex<Option<Signal>> = Box::leak(Box::default());
    let _ = r.moments[0].probe.set(Box::new(move |_, v| {
        // GT0's RESFIX_START answered SUCCESS, read by the VF (the first SUCCESS after the
        // GuC took the marker).
        if v >> 28 == 0xF && gucs[0].marker().is_some() {
            start_seen.store(true, Ordering::SeqCst);
        }
    }));
    let _ = r.moments[1].probe.set(Box::new(move |_, _| {
        if start_seen.load(Ordering::SeqCst) && !fired.swap(true, Ordering::SeqCst) {
            for g in gucs {
                g.migrate(MOVED2);
            }
            let intr = gucs[0].take_interrupts();
            *signal.lock().unwrap() = Some(vf.handle_guc_interrupt(GtId(0), intr));
        }
    }));
    r.migrate(MOVED);
    let outcomes = r.drain();
    assert!(fired.load(Ordering::SeqCst), "the probe never fired");
    assert_eq!(*signal.lock().unwrap(), Some(Signal::AlreadyPending));
    assert!(
        matches!(&outcomes[0], PassOutcome::Incomplete(report) if report.requeued.contains(GtId(0))),
        "{outcomes:?}"
    );
    r.assert_settled("a report inside the poll round");
    assert_eq!(gucs[0].provisioning().ggtt_start, MOVED2);
    assert!(r.vf.hooks().oracle.moves(TileId(0)) <= 2);
}
