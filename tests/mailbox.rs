//! Every branch of the MMIO mailbox transport, on the mock GuC.
#![cfg(feature = "mock")]

use xe_sriov_vf::device::Device;
use xe_sriov_vf::mailbox::{Mailbox, MailboxConfig, MailboxError};
use xe_sriov_vf::mock::{Fault, HookedDevice, MockGuc, Provisioning, Trigger};
use xe_sriov_vf::wire::action::{code, MmioMessage};
use xe_sriov_vf::wire::hxg::MsgType;
use xe_sriov_vf::wire::regs::GtKind;
use xe_sriov_vf::wire::{GucError, Request, Version, WireError};

fn guc() -> MockGuc {
    MockGuc::new(
        GtKind::Primary,
        Version::new(1, 27),
        Provisioning::integrated(),
    )
}

fn mailbox(guc: &MockGuc) -> Mailbox<&MockGuc> {
    Mailbox::new(guc, GtKind::Primary.mailbox(), MailboxConfig::default())
}

const MATCH_1_2: [u32; 2] = [0x0000_5500, 0x0001_0200];

#[test]
fn success_returns_header_and_three_data_dwords() {
    let g = guc();
    let reply = mailbox(&g).send_recv(&MATCH_1_2).unwrap();
    assert_eq!(reply.len(), 4);
    assert_eq!(reply.header(), 0xF000_0000);
    assert_eq!(reply.as_slice()[1], 0x0001_1B00);
}

/// The kernel's register reads for one exchange answered after `polls` polls: the posting read,
/// the polls, the header re-read after the wait (`header = xe_mmio_read32(mmio, reply_reg)`),
/// and the three data registers only when the caller passed a response buffer.
fn kernel_reads(polls: u64, data: bool) -> u64 {
    1 + polls + 1 + if data { 3 } else { 0 }
}

/// Ours: the same without the header re-read (the polled value is the header).
fn our_reads(polls: u64, data: bool) -> u64 {
    1 + polls + if data { 3 } else { 0 }
}

#[test]
fn register_accesses_follow_the_model_and_never_exceed_the_kernels() {
    let g = guc();
    let mut mb = mailbox(&g);
    // (request, reply carries data): MATCH_VERSION and QUERY_SINGLE_KLV read the data
    // registers; VF_RESET, RESFIX_START and RESFIX_DONE are send-only and read none.
    let cases = [
        (
            Request::MatchVersion {
                wanted: Version::new(1, 2),
            },
            true,
        ),
        (Request::QuerySingleKlv { key: 1 }, true),
        (Request::VfReset, false),
    ];
    for (request, data) in cases {
        assert_eq!(request.reply_has_data(), data);
        let len = request.encode().unwrap().len() as u64;
        g.reset_access_counts();
        let reply = mb.send(&request).unwrap();
        assert_eq!(reply.len(), if data { 4 } else { 1 }, "{request:?}");
        let c = g.access_counts();
        assert_eq!(c.writes, len + 1, "{request:?}");
        assert_eq!(c.doorbells, 1);
        assert_eq!(c.reads, our_reads(1, data), "{request:?}");
        assert!(c.reads < kernel_reads(1, data));
        if request == Request::VfReset {
            // Re-handshake so that the next query is answered.
            mb.send(&Request::MatchVersion {
                wanted: Version::new(1, 2),
            })
            .unwrap();
        }
    }
    // A 4-dword request writes all four scratch registers.
    g.reset_access_counts();
    let _ = mb.send_only(&[0x0000_0508, 0x0901_0002, 0x1234_5419, 0]);
    assert_eq!(g.access_counts().writes, 4 + 1);

    // With BUSY: one more read per BUSY poll, nothing else.
    g.inject(Trigger::AnyRequest, Fault::Busy { count: 3 })
        .unwrap();
    g.reset_access_counts();
    mb.send(&Request::VfReset).unwrap();
    let c = g.access_counts();
    assert_eq!(c.writes, 1 + 1);
    assert_eq!(c.reads, our_reads(3 + 1, false));
}

/// A device whose reply lands while the vCPU is away: the first poll sees nothing, the clock
/// then jumps past the deadline, and the reply is there on the next read.
struct LateReply {
    reads: std::sync::atomic::AtomicU32,
    now: std::sync::atomic::AtomicU64,
}

impl Device for LateReply {
    fn read32(&self, reg: xe_sriov_vf::Reg) -> u32 {
        if reg == GtKind::Primary.mailbox().scratch(0) {
            let n = self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if n >= 1 {
                return 0xF000_0000;
            }
            return 0x0000_5507;
        }
        0
    }
    fn write32(&self, _reg: xe_sriov_vf::Reg, _value: u32) {}
    fn now(&self) -> xe_sriov_vf::Instant {
        // 0 at the start of the wait, 60 ms (past the 50 ms deadline) at every later look.
        let t = self
            .now
            .swap(60_000_000, std::sync::atomic::Ordering::SeqCst);
        xe_sriov_vf::Instant(t)
    }
}

#[test]
fn a_reply_that_lands_at_the_deadline_is_not_a_timeout() {
    let dev = LateReply {
        reads: 0.into(),
        now: 0.into(),
    };
    let mut mb = Mailbox::new(&dev, GtKind::Primary.mailbox(), MailboxConfig::default());
    assert_eq!(
        mb.send(&Request::VfReset).map(|r| r.header()),
        Ok(0xF000_0000)
    );
    assert_eq!(dev.reads.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[test]
fn oversized_and_empty_requests_are_refused_before_any_write() {
    let g = guc();
    let mut mb = mailbox(&g);
    g.reset_access_counts();
    assert_eq!(
        mb.send_recv(&[1, 2, 3, 4, 5]),
        Err(MailboxError::BadRequestLength(5))
    );
    assert_eq!(mb.send_recv(&[]), Err(MailboxError::BadRequestLength(0)));
    assert_eq!(g.access_counts().writes, 0);
    assert_eq!(g.access_counts().reads, 0);
}

#[test]
fn no_reply_times_out_after_50ms_of_device_time() {
    let g = guc();
    let mut mb = mailbox(&g);
    g.inject(Trigger::AnyRequest, Fault::NoReply).unwrap();
    let t0 = g.now();
    let err = mb.send_recv(&[0x0000_5507]).unwrap_err();
    assert_eq!(err, MailboxError::Timeout { last: 0x0000_5507 });
    let waited = g.now().nanos_since(t0);
    assert!((50_000_000..50_100_000).contains(&waited), "{waited}");
    assert_eq!(
        g.access_counts().doorbells,
        1,
        "no resend: scratch was not cleared"
    );
}

#[test]
fn flr_cleared_scratch_is_sent_once_more() {
    let g = guc();
    let mut mb = mailbox(&g);
    g.inject(Trigger::AnyRequest, Fault::FlrClear).unwrap();
    mb.send_recv(&[0x0000_5507]).unwrap();
    assert_eq!(g.access_counts().doorbells, 2);

    // Kernel 7.1: up to two resends; the third loss is its own error (7.0 stopped after one
    // resend, with a timeout).
    g.reset_access_counts();
    for _ in 0..3 {
        g.inject(Trigger::AnyRequest, Fault::FlrClear).unwrap();
    }
    assert_eq!(
        mb.send_recv(&[0x0000_5507]),
        Err(MailboxError::LinkLost { losses: 3 })
    );
    assert_eq!(g.access_counts().doorbells, 3);

    // And not at all when configured off: a lost reply is then a plain timeout.
    let cfg = {
        let mut c = MailboxConfig::DEFAULT;
        c.resend_after_flr = false;
        c
    };
    let mut mb = Mailbox::new(&g, GtKind::Primary.mailbox(), cfg);
    g.inject(Trigger::AnyRequest, Fault::FlrClear).unwrap();
    assert_eq!(
        mb.send_recv(&[0x0000_5507]),
        Err(MailboxError::Timeout { last: 0 })
    );
}

/// The virtual times of the doorbells (requests sent) in the mock's transcript.
fn send_times(g: &MockGuc) -> Vec<u64> {
    let mut at = Vec::new();
    g.drain_transcript(|e| {
        if e.dir == xe_sriov_vf::mock::Dir::ToGuc {
            at.push(e.at.0)
        }
    });
    at
}

const MS: u64 = 1_000_000;

#[test]
fn two_lost_replies_are_sent_again_after_256ms_each_like_kernel_7_1() {
    let g = guc();
    let mut mb = mailbox(&g);
    g.drain_transcript(|_| {});
    g.inject(Trigger::AnyRequest, Fault::FlrClear).unwrap();
    g.inject(Trigger::AnyRequest, Fault::FlrClear).unwrap();
    let t0 = g.now().0;
    mb.send_recv(&[0x0000_5507]).unwrap();
    let at = send_times(&g);
    assert_eq!(at.len(), 3, "{at:?}");
    // Each resend comes 50 ms (the lost reply's wait) + 256 ms (the pause) after the one before,
    // to the nanosecond on the mock's 10 us polls: the pause ends at the first poll at or past
    // its deadline.
    for pair in at.windows(2) {
        let gap = pair[1] - pair[0];
        assert_eq!(gap, 306 * MS);
    }
    let total = g.now().0 - t0;
    assert_eq!(total, 612 * MS);
}

#[test]
fn a_third_lost_reply_is_link_lost_after_662ms() {
    let g = guc();
    let mut mb = mailbox(&g);
    for _ in 0..3 {
        g.inject(Trigger::AnyRequest, Fault::FlrClear).unwrap();
    }
    let t0 = g.now().0;
    let err = mb.send_recv(&[0x0000_5507]).unwrap_err();
    assert_eq!(err, MailboxError::LinkLost { losses: 3 });
    assert_ne!(err, MailboxError::Timeout { last: 0 });
    assert!(err.to_string().contains("lost 3 times"), "{err}");
    let total = g.now().0 - t0;
    assert_eq!(total, 662 * MS);
}

#[test]
fn lost_reply_resends_and_pause_are_configurable() {
    // Kernel 7.0's rule: one resend, at once.
    let cfg = {
        let mut c = MailboxConfig::DEFAULT;
        c.lost_reply_resends = 1;
        c.lost_reply_pause = core::time::Duration::ZERO;
        c
    };
    let g = guc();
    let mut mb = Mailbox::new(&g, GtKind::Primary.mailbox(), cfg);
    g.inject(Trigger::AnyRequest, Fault::FlrClear).unwrap();
    let t0 = g.now().0;
    mb.send_recv(&[0x0000_5507]).unwrap();
    let total = g.now().0 - t0;
    assert_eq!(total, 50 * MS, "a zero pause resends at once");
    g.inject(Trigger::AnyRequest, Fault::FlrClear).unwrap();
    g.inject(Trigger::AnyRequest, Fault::FlrClear).unwrap();
    assert_eq!(
        mb.send_recv(&[0x0000_5507]),
        Err(MailboxError::LinkLost { losses: 2 })
    );
}

#[test]
fn retry_backs_off_1ms_doubling_to_256ms_like_kernel_7_1() {
    let g = guc();
    let mut mb = mailbox(&g);
    g.drain_transcript(|_| {});
    g.inject(Trigger::AnyRequest, Fault::Retry { count: 11 })
        .unwrap();
    mb.send_recv(&[0x0000_5507]).unwrap();
    let at = send_times(&g);
    assert_eq!(at.len(), 12, "{at:?}");
    let gaps: Vec<u64> = at.windows(2).map(|w| w[1] - w[0]).collect();
    // The mock answers RETRY at the doorbell; the pause before each resend is the gap.
    let ms = [1, 2, 4, 8, 16, 32, 64, 128, 256, 256, 256].map(|ms| ms * MS);
    assert_eq!(gaps, ms);
}

#[test]
fn retry_backoff_is_configurable() {
    let cfg = {
        let mut c = MailboxConfig::DEFAULT;
        c.retry_backoff = core::time::Duration::from_millis(3);
        c.retry_backoff_max = core::time::Duration::from_millis(10);
        c
    };
    let g = guc();
    let mut mb = Mailbox::new(&g, GtKind::Primary.mailbox(), cfg);
    g.drain_transcript(|_| {});
    g.inject(Trigger::AnyRequest, Fault::Retry { count: 4 })
        .unwrap();
    mb.send_recv(&[0x0000_5507]).unwrap();
    let at = send_times(&g);
    let gaps: Vec<u64> = at.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(gaps, [3, 6, 10, 10].map(|ms| ms * MS));
}

#[test]
fn a_pause_is_pending_without_register_reads() {
    let g = guc();
    let mut mb = mailbox(&g);
    g.inject(Trigger::AnyRequest, Fault::Retry { count: 2 })
        .unwrap();
    let mut t = mb.post(&Request::VfReset).unwrap();
    assert!(!t.is_pausing(), "posted: it waits for the reply");
    // The RETRY is read, and the transaction pauses 1 ms, then 2 ms, before it sends again.
    assert!(mb.poll(&mut t).is_pending());
    for (retries, pause_us) in [(1, 1_000), (2, 2_000)] {
        assert!(t.is_pausing());
        assert_eq!((t.retries(), t.losses()), (retries, 0));
        g.reset_access_counts();
        let mut polls = 0;
        loop {
            let pending = mb.poll(&mut t).is_pending();
            polls += 1;
            if g.access_counts().doorbells == 1 {
                break;
            }
            assert!(pending && t.is_pausing());
            let c = g.access_counts();
            assert_eq!((c.reads, c.writes), (0, 0), "a pause reads no register");
            assert!(polls < 1_000);
            g.advance(core::time::Duration::from_micros(100));
        }
        // Polls at 0, 100, ... us: the one at the deadline sends again.
        assert_eq!(polls, pause_us / 100 + 1);
    }
    let mut polls = 0;
    loop {
        if let core::task::Poll::Ready(r) = mb.poll(&mut t) {
            assert!(r.is_ok());
            break;
        }
        polls += 1;
        assert!(polls < 100);
        g.relax();
    }
    assert_eq!((t.retries(), t.losses()), (2, 0));

    // A lost reply pauses too, and counts.
    g.inject(Trigger::AnyRequest, Fault::FlrClear).unwrap();
    let mut t = mb.post(&Request::VfReset).unwrap();
    assert!(mb.poll(&mut t).is_pending());
    assert!(!t.is_pausing(), "waiting for the reply");
    g.advance(core::time::Duration::from_millis(50));
    assert!(mb.poll(&mut t).is_pending());
    assert!(t.is_pausing());
    assert_eq!((t.retries(), t.losses()), (0, 1));
}

#[test]
fn a_stalled_clock_ends_a_pause_with_an_error() {
    let dev = FrozenClock(guc());
    dev.0
        .inject(Trigger::AnyRequest, Fault::Retry { count: 1 })
        .unwrap();
    let cfg = {
        let mut c = MailboxConfig::DEFAULT;
        c.stall_polls = 100;
        c
    };
    let mut mb = Mailbox::new(&dev, GtKind::Primary.mailbox(), cfg);
    assert_eq!(
        mb.send_recv(&[0x0000_5507]),
        Err(MailboxError::ClockStalled)
    );
    assert_eq!(dev.0.access_counts().doorbells, 1, "never sent again");

    // Exactly `stall_polls` polls of the pause: the first poll reads the RETRY and makes the
    // pause's first reading, each later one another.
    dev.0
        .inject(Trigger::AnyRequest, Fault::Retry { count: 1 })
        .unwrap();
    let mut t = mb.post(&Request::VfReset).unwrap();
    let mut polls = 0;
    let outcome = loop {
        polls += 1;
        if let core::task::Poll::Ready(r) = mb.poll(&mut t) {
            break r;
        }
        assert!(polls < 1_000);
    };
    assert_eq!(outcome, Err(MailboxError::ClockStalled));
    assert_eq!(polls, 100);
}

#[test]
fn busy_keeps_polling_until_the_final_reply() {
    let g = guc();
    let mut mb = mailbox(&g);
    g.inject(Trigger::AnyRequest, Fault::Busy { count: 500 })
        .unwrap();
    assert!(mb.send_recv(&MATCH_1_2).is_ok());
}

#[test]
fn busy_then_silence_is_a_busy_timeout_after_2s() {
    let g = guc();
    let mut mb = mailbox(&g);
    g.inject(Trigger::AnyRequest, Fault::BusyThenSilence { count: 2 })
        .unwrap();
    let t0 = g.now();
    assert_eq!(mb.send_recv(&MATCH_1_2), Err(MailboxError::BusyTimeout));
    let waited = g.now().nanos_since(t0);
    assert!((2_000_000_000..2_001_000_000).contains(&waited), "{waited}");
}

#[test]
fn retry_resends_up_to_the_limit() {
    let g = guc();
    let cfg = {
        let mut c = MailboxConfig::DEFAULT;
        c.max_retries = 3;
        c
    };
    let mut mb = Mailbox::new(&g, GtKind::Primary.mailbox(), cfg);
    g.inject(Trigger::AnyRequest, Fault::Retry { count: 3 })
        .unwrap();
    assert!(mb.send_recv(&[0x0000_5507]).is_ok());
    assert_eq!(g.access_counts().doorbells, 4);

    g.reset_access_counts();
    g.inject(Trigger::AnyRequest, Fault::Retry { count: 4 })
        .unwrap();
    assert_eq!(
        mb.send_recv(&[0x0000_5507]),
        Err(MailboxError::RetryLimit { retries: 3 })
    );
    assert_eq!(g.access_counts().doorbells, 4);
}

#[test]
fn failures_are_decoded_and_vf_migrated_is_its_own_error() {
    let g = guc();
    let mut mb = mailbox(&g);
    g.inject(
        Trigger::AnyRequest,
        Fault::Failure {
            error: GucError::VfMigrated,
            hint: 7,
        },
    )
    .unwrap();
    assert_eq!(
        mb.send_recv(&[0x0000_5507]),
        Err(MailboxError::VfMigrated { hint: 7 })
    );
    g.inject(
        Trigger::AnyRequest,
        Fault::Failure {
            error: GucError::Other(0x1234),
            hint: 0xABC,
        },
    )
    .unwrap();
    assert_eq!(
        mb.send_recv(&[0x0000_5507]),
        Err(MailboxError::Remote {
            error: GucError::Other(0x1234),
            hint: 0xABC
        })
    );
    // A real GuC refusal: an unknown action.
    assert_eq!(
        mb.send_recv(&[0x0000_1234]),
        Err(MailboxError::Remote {
            error: GucError::UnknownAction,
            hint: 0
        })
    );
}

fn garbage(dw: &[u32]) -> Fault {
    Fault::Reply(MmioMessage::from_slice(dw).unwrap())
}

#[test]
fn garbage_replies_are_protocol_errors() {
    let g = guc();
    let mut mb = mailbox(&g);
    // GuC-origin but undefined TYPE 4.
    g.inject(Trigger::AnyRequest, garbage(&[0xC000_0000]))
        .unwrap();
    assert_eq!(
        mb.send_recv(&[0x0000_5507]),
        Err(MailboxError::Protocol {
            header: 0xC000_0000,
            error: WireError::UndefinedType(4)
        })
    );
    // GuC-origin REQUEST and EVENT are not replies.
    for (dw, ty) in [
        (0x8000_5507, MsgType::Request),
        (0x9000_0001, MsgType::Event),
    ] {
        g.inject(Trigger::AnyRequest, garbage(&[dw])).unwrap();
        assert_eq!(
            mb.send_recv(&[0x0000_5507]),
            Err(MailboxError::Protocol {
                header: dw,
                error: WireError::UnexpectedType(ty)
            })
        );
    }
    // A host-origin value never completes the poll: a timeout, not a hang.
    g.inject(Trigger::AnyRequest, garbage(&[0x7000_0000]))
        .unwrap();
    assert!(matches!(
        mb.send_recv(&[0x0000_5507]),
        Err(MailboxError::Timeout { .. })
    ));
}

#[test]
fn retry_after_busy_is_a_protocol_error_like_the_kernel() {
    // After a BUSY the kernel only accepts SUCCESS or FAILURE.
    // Scratch 0 reads BUSY, then RETRY, after each doorbell.
    let after_doorbell = std::cell::Cell::new(0u32);
    let dev = HookedDevice::new(guc())
        .on_read(|guc, reg| {
            let n = after_doorbell.get();
            if reg == GtKind::Primary.mailbox().scratch(0) && n > 0 {
                after_doorbell.set(n + 1);
                return if n == 1 { 0xB000_0001 } else { 0xD000_0000 };
            }
            guc.read32(reg)
        })
        .on_write(|guc, reg, v| {
            if reg == GtKind::Primary.mailbox().doorbell {
                after_doorbell.set(1);
            }
            guc.write32(reg, v)
        });
    let mut mb = Mailbox::new(&dev, GtKind::Primary.mailbox(), MailboxConfig::default());
    assert_eq!(
        mb.send_recv(&[0x0000_5507]),
        Err(MailboxError::Protocol {
            header: 0xD000_0000,
            error: WireError::UnexpectedType(MsgType::NoResponseRetry)
        })
    );
}

/// The mock's registers with a clock that never moves.
struct FrozenClock(MockGuc);

impl Device for FrozenClock {
    fn read32(&self, reg: xe_sriov_vf::device::Reg) -> u32 {
        self.0.read32(reg)
    }
    fn write32(&self, reg: xe_sriov_vf::device::Reg, v: u32) {
        self.0.write32(reg, v)
    }
    fn now(&self) -> xe_sriov_vf::device::Instant {
        xe_sriov_vf::device::Instant(42)
    }
}

#[test]
fn a_stalled_clock_ends_the_wait_with_an_error() {
    let g = guc();
    g.inject(Trigger::AnyRequest, Fault::NoReply).unwrap();
    // A clock stopped at 42 ns, and a plain spin between polls.
    let dev = HookedDevice::new(g)
        .on_now(|_| xe_sriov_vf::device::Instant(42))
        .on_relax(|_| core::hint::spin_loop());
    let cfg = {
        let mut c = MailboxConfig::DEFAULT;
        c.stall_polls = 1000;
        c
    };
    let mut mb = Mailbox::new(&dev, GtKind::Primary.mailbox(), cfg);
    assert_eq!(
        mb.send_recv(&[0x0000_5507]),
        Err(MailboxError::ClockStalled)
    );
}

#[test]
fn typed_send_encodes_the_request() {
    let g = guc();
    let mut mb = mailbox(&g);
    mb.send(&Request::VfReset).unwrap();
    let mut sent = Vec::new();
    g.drain_transcript(|e| sent.push(e.msg.as_slice().to_vec()));
    assert_eq!(sent[0], vec![code::VF_RESET as u32]);
}

#[test]
fn media_gt_uses_its_own_registers() {
    let g = MockGuc::new(
        GtKind::Media,
        Version::new(1, 27),
        Provisioning::integrated(),
    );
    // The primary GT's mailbox is not this GuC's: unmapped registers read all ones, which looks
    // like a GuC SUCCESS with DATA0 0x0fffffff (as on real hardware); the typed reply decoders
    // reject it.
    let mut wrong = Mailbox::new(&g, GtKind::Primary.mailbox(), MailboxConfig::default());
    let reply = wrong.send_recv(&[0x0000_5507]).unwrap();
    assert_eq!(reply.header(), u32::MAX);
    assert_eq!(
        xe_sriov_vf::wire::action::decode_empty_reply(reply.as_slice()),
        Err(WireError::MustBeZero {
            dword: 0,
            bits: 0x0FFF_FFFF
        })
    );
    assert_eq!(g.access_counts().doorbells, 0);
    let mut right = Mailbox::new(&g, GtKind::Media.mailbox(), MailboxConfig::default());
    assert!(right.send_recv(&[0x0000_5507]).is_ok());
}

/// A request in flight (split phase) carries the dwords it was posted with, and says when the
/// GuC answered BUSY and the wait is now for the final reply.
#[test]
fn in_flight_carries_its_request_and_shows_the_busy_wait() {
    use core::task::Poll;
    let g = guc();
    let mut mb = mailbox(&g);
    let mut t = mb.post_raw(&MATCH_1_2, true).unwrap();
    assert_eq!(t.request(), &MATCH_1_2);
    assert!(!t.is_busy(), "nothing seen yet");
    assert!(matches!(mb.poll(&mut t), Poll::Ready(Ok(_))));

    g.inject(Trigger::AnyRequest, Fault::Busy { count: 3 })
        .unwrap();
    let mut t = mb.post(&Request::VfReset).unwrap();
    assert_eq!(t.request(), &[0x0000_5507]);
    assert!(matches!(mb.poll(&mut t), Poll::Pending));
    assert!(t.is_busy(), "BUSY seen: waiting for the final reply");
    let mut polls = 0;
    while mb.poll(&mut t).is_pending() {
        polls += 1;
        assert!(polls < 100, "the BUSY phase never ended");
    }
}
