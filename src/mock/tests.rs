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
