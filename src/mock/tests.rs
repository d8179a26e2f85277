//! Unit tests of the mock's internals and value types.

use super::guc::{Inner, UNMAPPED};
use super::*;
use crate::device::Reg;
use crate::wire::action::MmioMessage;
use crate::wire::regs::{GtKind, PRIMARY_GT};
use crate::wire::Version;

fn inner() -> Inner {
    Inner::new(
        GtKind::Primary,
        Version::new(1, 27),
        Provisioning::integrated(),
    )
}

#[test]
fn trigger_matching() {
    assert!(Trigger::AnyRequest.matches(&[]));
    assert!(Trigger::AnyRequest.matches(&[0xFFFF_FFFF]));
    assert!(Trigger::Action(0x5507).matches(&[0x5507]));
    assert!(Trigger::Action(0x5508).matches(&[0x0001_5508]));
    assert!(!Trigger::Action(0x5507).matches(&[0x5508]));
    assert!(!Trigger::Action(0x5507).matches(&[]));
    // GuC origin, other types, undefined TYPE 4: not a request
    assert!(!Trigger::Action(0x5507).matches(&[0x8000_5507]));
    assert!(!Trigger::Action(0x5507).matches(&[0x1000_5507]));
    assert!(!Trigger::Action(0x5507).matches(&[0x4000_5507]));
}

#[test]
fn transcript_lines() {
    let e = TranscriptEntry {
        at: crate::device::Instant(0),
        dir: Dir::ToGuc,
        msg: MmioMessage::from_slice(&[0x5500, 0x0001_0200]).unwrap(),
    };
    assert_eq!(e.line(0).to_string(), "gt0 > 0x00005500 0x00010200");
    let e = TranscriptEntry {
        dir: Dir::FromGuc,
        msg: MmioMessage::from_slice(&[0xE000_0107]).unwrap(),
        ..e
    };
    assert_eq!(e.line(12).to_string(), "gt12 < 0xe0000107");
    let e = TranscriptEntry {
        dir: Dir::Interrupt(GucIntr::empty()),
        ..e
    };
    assert_eq!(e.line(1).to_string(), "gt1 irq 0");
}

#[test]
fn gmd_id_fields_are_masked() {
    assert_eq!(gmd_id(20, 4, 0), 0x0501_0000);
    assert_eq!(gmd_id(0xFFFF, 0xFFFF, 0xFFFF), 0xFFFF_C03F);
}

#[test]
fn busy_counter_saturates_at_28_bits() {
    let mut g = inner();
    g.inject(
        Trigger::AnyRequest,
        Fault::BusyThenSilence { count: u32::MAX },
    )
    .unwrap();
    g.write(PRIMARY_GT.scratch(0), 0x5507);
    g.write(PRIMARY_GT.doorbell, 0);
    g.force_busy_counter(0x0FFF_FFFE);
    assert_eq!(g.read(PRIMARY_GT.scratch(0)), 0xBFFF_FFFF);
    assert_eq!(g.read(PRIMARY_GT.scratch(0)), 0xBFFF_FFFF);
}

#[test]
fn request_length_follows_the_highest_written_scratch() {
    let mut g = inner();
    for (writes, len) in [(&[0usize][..], 1), (&[1], 2), (&[3, 0], 4), (&[2, 2, 0], 3)] {
        for &i in writes {
            g.write(PRIMARY_GT.scratch(i), 0x5509);
        }
        g.write(PRIMARY_GT.doorbell, 0);
        let mut last = None;
        while let Some(e) = g.pop_transcript() {
            if e.dir == Dir::ToGuc {
                last = Some(e.msg.len());
            }
        }
        assert_eq!(last, Some(len), "writes {writes:?}");
    }
}

#[test]
fn history_keeps_the_newest_and_the_state_before_them() {
    let mut g = inner();
    for _ in 0..20 {
        g.pause();
        g.resume();
    }
    let h = g.history();
    assert_eq!(h.len(), HISTORY_LEN);
    // 40 transitions alternating; the base is the state entered by transition 24
    assert_eq!(h[0], VfState::ReadyPaused);
    assert!(h.windows(2).all(|w| w[0] != w[1]));
    assert_eq!(h.last(), Some(&VfState::Ready));
    g.clear_history();
    assert_eq!(g.history().as_slice(), &[VfState::Ready]);
}

#[test]
fn unmapped_constant() {
    let mut g = inner();
    assert_eq!(g.read(Reg(0x1234)), UNMAPPED);
    assert_eq!(UNMAPPED, 0xFFFF_FFFF);
}

#[test]
fn counters_wrap_instead_of_panicking() {
    let mut g = inner();
    g.force_counts(AccessCounts {
        reads: u64::MAX,
        writes: u64::MAX,
        doorbells: u64::MAX,
    });
    let _ = g.read(PRIMARY_GT.scratch(0));
    g.write(PRIMARY_GT.doorbell, 0);
    assert_eq!(
        g.counts(),
        AccessCounts {
            reads: 0,
            writes: 0,
            doorbells: 0
        }
    );
}

#[test]
fn mock_error_is_displayable() {
    assert!(MockError::QueueFull.to_string().contains("full"));
}

// ---- the latency model ----

use crate::mailbox::{Mailbox, MailboxConfig};
use crate::wire::action::code;
use crate::wire::{Marker, Request};
use core::time::Duration;

fn guc() -> MockGuc {
    MockGuc::new(
        GtKind::Primary,
        Version::new(1, 27),
        Provisioning::integrated(),
    )
}

/// Virtual time and scratch-0 reads one mailbox exchange costs.
fn cost(guc: &MockGuc, request: &Request) -> (u64, u64) {
    let (t0, r0) = (guc.now(), guc.access_counts().reads);
    let mut mb = Mailbox::new(guc, GtKind::Primary.mailbox(), MailboxConfig::default());
    mb.send(request).unwrap();
    (guc.now().nanos_since(t0), guc.access_counts().reads - r0)
}

fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

const VERSION: Request = Request::MatchVersion {
    wanted: Version::new(1, 2),
};

#[test]
fn zero_latency_is_the_default_and_costs_no_time() {
    let g = guc();
    // posting read + one poll + 3 data registers
    assert_eq!(cost(&g, &VERSION), (0, 5));
}

#[test]
fn a_fixed_turnaround_costs_its_time_in_polls() {
    let g = guc();
    g.set_latency(Latency::fixed(us(20)));
    // relax step 10 us: polls at 0, 10 and 20 us, the third sees the reply
    assert_eq!(cost(&g, &VERSION), (20_000, 1 + 3 + 3));
    g.set_relax_step(us(1));
    assert_eq!(cost(&g, &VERSION).0, 20_000);
    // a turnaround between two polls is seen at the next one
    g.set_relax_step(us(15));
    assert_eq!(cost(&g, &VERSION).0, 30_000);
}

#[test]
fn a_per_action_turnaround_replaces_the_default_for_that_action() {
    let g = guc();
    g.set_latency(Latency::fixed(us(20)));
    g.set_action_latency(code::MATCH_VERSION, Latency::fixed(us(50)))
        .unwrap();
    assert_eq!(cost(&g, &VERSION).0, 50_000);
    let klv = Request::QuerySingleKlv {
        key: crate::wire::KlvKey::GgttStart.raw(),
    };
    assert_eq!(cost(&g, &klv).0, 20_000);
    // updating an entry takes no new slot; the table is bounded
    g.set_action_latency(code::MATCH_VERSION, Latency::fixed(us(30)))
        .unwrap();
    assert_eq!(cost(&g, &VERSION).0, 30_000);
    for a in 0..(LATENCY_TABLE_LEN as u16 - 1) {
        g.set_action_latency(0x7000 + a, Latency::ZERO).unwrap();
    }
    assert_eq!(
        g.set_action_latency(0x7FFF, Latency::ZERO),
        Err(MockError::LatencyTableFull)
    );
    assert!(MockError::LatencyTableFull.to_string().contains("latency"));
    // set_latency forgets the per-action entries
    g.set_latency(Latency::fixed(us(10)));
    assert_eq!(cost(&g, &VERSION).0, 10_000);
}

#[test]
fn a_slow_action_shows_busy_then_the_reply() {
    let g = guc();
    g.set_action_latency(code::MATCH_VERSION, Latency::busy(us(10), us(40)))
        .unwrap();
    g.drain_transcript(|_| {});
    assert_eq!(cost(&g, &VERSION).0, 40_000);
    let mut replies = std::vec::Vec::new();
    g.drain_transcript(|e| {
        if e.dir == Dir::FromGuc {
            replies.push((e.at.0, e.msg.header()));
        }
    });
    assert_eq!(replies, [(10_000, 0xB000_0000), (40_000, 0xF000_0000)]);
    // before the BUSY time scratch 0 still holds the request
    let mut raw = inner();
    raw.set_action_latency(code::VF_RESET, Latency::busy(us(10), us(40)))
        .unwrap();
    raw.write(PRIMARY_GT.scratch(0), u32::from(code::VF_RESET));
    raw.write(PRIMARY_GT.doorbell, 0);
    assert_eq!(raw.read(PRIMARY_GT.scratch(0)) >> 31, 0);
    raw.advance(10_000);
    assert_eq!(raw.read(PRIMARY_GT.scratch(0)), 0xB000_0000);
    raw.advance(30_000);
    assert_eq!(raw.read(PRIMARY_GT.scratch(0)) >> 28, 0xF);
}

#[test]
fn a_host_write_abandons_a_reply_in_its_turnaround() {
    let mut g = inner();
    g.set_latency(Latency::fixed(us(20)));
    g.write(PRIMARY_GT.scratch(0), 0x5503); // VF_RESET
    g.write(PRIMARY_GT.doorbell, 0);
    // the state change applies at the doorbell, the reply waits
    assert_eq!(g.read(PRIMARY_GT.scratch(0)), 0x5503);
    g.write(PRIMARY_GT.scratch(0), 0x1234);
    g.advance(50_000);
    assert_eq!(g.read(PRIMARY_GT.scratch(0)), 0x1234);
}

#[test]
fn a_shared_clock_puts_the_mocks_on_one_timeline() {
    static CLOCK: MockClock = MockClock::new();
    let (a, b) = (guc(), guc());
    a.advance(Duration::from_nanos(5)); // forgotten once the shared clock is used
    a.use_clock(&CLOCK);
    b.use_clock(&CLOCK);
    a.set_latency(Latency::fixed(us(20)));
    assert_eq!(cost(&a, &VERSION).0, 20_000);
    assert_eq!(b.now(), a.now());
    b.advance(us(1));
    CLOCK.advance(Duration::from_nanos(1));
    assert_eq!(a.now(), Instant(21_001));
    assert_eq!(CLOCK.now(), a.now());
}

#[test]
fn blackout_runs_from_sw_int0_to_the_accepted_done() {
    let g = guc();
    assert_eq!(g.blackout(), None);
    let mut mb = Mailbox::new(&g, GtKind::Primary.mailbox(), MailboxConfig::default());
    mb.send(&Request::VfReset).unwrap();
    mb.send(&VERSION).unwrap();
    g.set_latency(Latency::fixed(us(20)));
    g.advance(us(1_000));
    g.migrate(0x0100_0000);
    let at = g.now();
    let marker = Marker::from_counter(0);
    mb.send(&Request::ResfixStart { marker }).unwrap();
    let b = g.blackout().unwrap();
    assert_eq!(
        (b.sw_int0_at, b.done_at, b.round_trips, b.duration()),
        (at, None, 1, None)
    );
    // a refused DONE does not end it
    mb.send(&Request::ResfixDone {
        marker: Some(Marker::from_counter(7)),
    })
    .unwrap_err();
    mb.send(&Request::ResfixDone {
        marker: Some(marker),
    })
    .unwrap();
    let b = g.blackout().unwrap();
    assert_eq!((b.duration(), b.round_trips), (Some(us(60)), 3));
    // later traffic changes nothing
    mb.send(&VERSION).unwrap();
    assert_eq!(g.blackout(), Some(b));
    // the next migration starts a new one
    g.migrate(0x0200_0000);
    assert_eq!(g.blackout().unwrap().done_at, None);
}
