//! `mock::MailboxTap` against the mock's own transcript: a VF bootstrapped, migrated and
//! recovered over devices that feed every register access to a tap records, line for line,
//! what each mock's transcript records (its `irq` lines aside: a tap sees only the mailbox),
//! BUSY counters, RETRYs, failures and timeouts included.

#![cfg(all(feature = "mock", feature = "std"))]

mod common;

use std::sync::Mutex;
use std::time::Duration;

use common::{leak_dyn, RigBuilder};
use xe_sriov_vf::device::{Device, Instant};
use xe_sriov_vf::mock::{Dir, Fault, HookedDevice, Latency, MailboxTap, MockGuc, Trigger};
use xe_sriov_vf::wire::action::code;
use xe_sriov_vf::wire::regs::GtKind;
use xe_sriov_vf::wire::GucError;
use xe_sriov_vf::{GtId, TileId};

/// One GT's tap and the lines it recorded.
struct Tapped {
    tap: MailboxTap,
    lines: Vec<String>,
    resfix_done_accepted: u32,
}

fn tapped(kind: GtKind) -> &'static Mutex<Tapped> {
    Box::leak(Box::new(Mutex::new(Tapped {
        tap: MailboxTap::new(kind.mailbox()),
        lines: Vec::new(),
        resfix_done_accepted: 0,
    })))
}

/// The mock's transcript of GT `gt`, without its interrupt lines.
fn mock_lines(guc: &MockGuc, gt: u8) -> Vec<String> {
    let mut lines = Vec::new();
    guc.drain_transcript(|e| {
        if !matches!(e.dir, Dir::Interrupt(_)) {
            lines.push(e.line(gt).to_string());
        }
    });
    lines
}

/// A 2-GT VF whose devices feed the taps; `faults` injected into GT 0's mock after bootstrap.
fn run(faults: &[(Trigger, Fault)], latency: Option<Latency>) {
    let taps = [tapped(GtKind::Primary), tapped(GtKind::Media)];
    let mut builder =
        RigBuilder::new([(TileId(0), GtKind::Primary), (TileId(0), GtKind::Media)]).shared_clock();
    if let Some(l) = latency {
        builder = builder.latency(l).relax_step(Duration::from_micros(10));
    }
    let rig = builder
        .device(move |i, gucs| {
            let t = taps[i];
            leak_dyn(
                HookedDevice::new(gucs[i])
                    .on_read(move |guc, reg| {
                        let value = guc.read32(reg);
                        let mut t = t.lock().unwrap();
                        let at = guc.now();
                        let regs = guc.kind().mailbox();
                        if let Some(e) = t.tap.read(reg, value, at, |n| guc.read32(regs.scratch(n)))
                        {
                            if e.msg.header() >> 28 == 0xF
                                && t.tap.request_action() == code::RESFIX_DONE
                            {
                                t.resfix_done_accepted += 1;
                            }
                            let line = e.line(i as u8).to_string();
                            t.lines.push(line);
                        }
                        value
                    })
                    .on_write(move |guc, reg, value| {
                        let mut t = t.lock().unwrap();
                        if let Some(e) = t.tap.write(reg, value, guc.now()) {
                            let line = e.line(i as u8).to_string();
                            t.lines.push(line);
                        }
                        drop(t);
                        guc.write32(reg, value)
                    }),
            )
        })
        .mmio();
    for (trigger, fault) in faults {
        rig.gucs[0].inject(*trigger, *fault).unwrap();
    }
    rig.migrate(0x4000_0000);
    let outcomes = rig.drain();
    assert!(!outcomes.is_empty());
    assert!(!rig.vf.is_wedged());
    rig.hooks()
        .oracle
        .check(TileId(0), rig.guc_base(TileId(0)))
        .unwrap();
    for (gt, guc) in rig.gucs.iter().enumerate() {
        let t = taps[gt].lock().unwrap();
        let expected = mock_lines(guc, gt as u8);
        assert!(expected.len() > 8, "gt{gt}: {expected:?}");
        assert_eq!(t.lines, expected, "gt{gt}");
        assert_eq!(t.resfix_done_accepted, guc.resfix_done_accepted(), "gt{gt}");
        assert!(rig.vf.ggtt_valid(GtId(gt as u8)));
    }
}

#[test]
fn the_tap_records_what_the_mock_transcript_records() {
    run(&[], None);
}

#[test]
fn busy_retry_failure_and_lost_replies_are_recorded_as_the_mock_records_them() {
    run(
        &[
            (
                Trigger::Action(code::RESFIX_START),
                Fault::Busy { count: 3 },
            ),
            (
                Trigger::Action(code::QUERY_SINGLE_KLV),
                Fault::Retry { count: 2 },
            ),
            (Trigger::Action(code::QUERY_SINGLE_KLV), Fault::FlrClear),
            (
                Trigger::Action(code::RESFIX_DONE),
                Fault::BusyThenFailure {
                    count: 1,
                    error: GucError::VfMigrated,
                    hint: 0,
                },
            ),
        ],
        None,
    );
}

#[test]
fn a_busy_reply_read_many_times_is_recorded_once() {
    // BUSY from 20 us after the doorbell, the reply at 200 us: the VF reads the same BUSY value
    // on many polls, the mock's transcript records it once, and so must the tap.
    run(
        &[],
        Some(Latency::busy(
            Duration::from_micros(20),
            Duration::from_micros(200),
        )),
    );
}

#[test]
fn a_doorbell_with_nothing_written_resends_the_last_scratch0_seen() {
    let regs = GtKind::Media.mailbox();
    let mut tap = MailboxTap::new(regs);
    let at = Instant(5);
    assert!(tap.write(regs.scratch(0), 0x0000_5503, at).is_none());
    assert_eq!(
        tap.write(regs.doorbell, 0, at).unwrap().line(1).to_string(),
        "gt1 > 0x00005503"
    );
    let failure = tap.read(regs.scratch(0), 0xE000_0060, at, |_| unreachable!());
    assert_eq!(failure.unwrap().line(1).to_string(), "gt1 < 0xe0000060");
    // Nothing written since: the request is the value scratch 0 last showed.
    let again = tap.write(regs.doorbell, 0, at).unwrap();
    assert_eq!(again.line(1).to_string(), "gt1 > 0xe0000060");
    // Reads of other registers, host-origin values and replies with no request in flight are
    // no replies.
    assert!(tap.read(regs.scratch(1), 0xF000_0000, at, |_| 0).is_none());
    assert!(tap.read(regs.scratch(0), 0x0000_5503, at, |_| 0).is_none());
    assert!(tap.write(regs.scratch(0), 1, at).is_none());
    assert!(tap.read(regs.scratch(0), 0xF000_0000, at, |_| 0).is_none());
}
