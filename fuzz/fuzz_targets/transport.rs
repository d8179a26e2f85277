//! The MMIO transport and the per-GT logic against a hostile simulated GuC.
//!
//! The input is a script. Its first bytes set up one `MockGuc` (GT kind, offered VF ABI,
//! provisioning) and one `Gt` (platform, discrete, graphics IP, a small `MailboxConfig`); the
//! rest is a list of operations: inject a fault (garbage replies with arbitrary dwords, BUSY /
//! RETRY streaks of any length, FAILURE with any code and hint, no reply, FLR clear, a migration
//! before the request), run `Gt::bootstrap` / `reset` / `handshake` / `query_config` /
//! `resfix_start` / `resfix_done` or a raw `send_recv`, or act on the mock (migrate, pause,
//! resume, restore, move or stop the virtual clock, change the offered version).
//!
//! Checked after every operation: no panic (in the crate or the mock); the call returned within a
//! fixed budget of register reads (the virtual clock makes every timeout instant, so an
//! unbounded poll or retry loop shows up as a budget overrun rather than a hang); errors are the
//! crate's typed errors and format; a successful bootstrap negotiated a version the VF may accept;
//! a successful configuration query left a validated configuration (and, when the mock was never
//! told to lie, exactly the mock's provisioning); a failed query changed nothing.
#![no_main]

use std::time::Duration;
use libfuzzer_sys::fuzz_target;
use xe_sriov_vf::gt::{Gt, GtInfo, PlatformClass, VfError};
use xe_sriov_vf::mailbox::{MailboxConfig, MailboxError};
use xe_sriov_vf::mock::{Fault, MockGuc, Provisioning, Trigger};
use xe_sriov_vf::wire::action::{code, MmioMessage};
use xe_sriov_vf::wire::regs::GtKind;
use xe_sriov_vf::wire::{GucError, Marker, Version};

/// At most this many operations per input.
const MAX_OPS: usize = 48;
/// Register reads one operation may take. With the configuration below (10 µs relax step by
/// default, 50 µs reply timeout, 200 µs BUSY timeout, 16 stalled polls, at most 4 RETRY resends,
/// at most 2 resends of a lost reply; a pause reads no register) one wait polls at most 21
/// times, one attempt (posting read, reply wait, BUSY wait, 3 data reads) reads at most ~46
/// registers, and a transaction makes at most 5 + 2 attempts: ~330 reads. The longest
/// operations are 10 VF_RESETs + MATCH_VERSION, or a recovery pass of up to 8 queries +
/// RESFIX_START + RESFIX_DONE: ~3,700 reads. Correct code stays below this budget; an unbounded
/// poll or retry loop overruns it.
const READ_BUDGET: u64 = 5_000;

const SZ_4K: u64 = 4 << 10;

/// Reads the script; past its end every read is 0.
struct Script<'a> {
    data: &'a [u8],
}

impl Script<'_> {
    fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }
    fn u32(&mut self) -> u32 {
        u32::from(self.u16()) | u32::from(self.u16()) << 16
    }
    fn u64(&mut self) -> u64 {
        u64::from(self.u32()) | u64::from(self.u32()) << 32
    }
    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
    /// A count: usually small, sometimes any u32.
    fn count(&mut self) -> u32 {
        match self.u8() {
            b @ 0..=0xEF => u32::from(b % 8),
            _ => self.u32(),
        }
    }
    fn version(&mut self) -> Version {
        const TABLE: [Version; 8] = [
            Version::new(1, 1),
            Version::new(1, 2),
            Version::new(1, 26),
            Version::new(1, 27),
            Version {
                branch: 0,
                major: 1,
                minor: 27,
                patch: 3,
            },
            Version::new(1, 36),
            Version::new(2, 0),
            Version::new(0, 9),
        ];
        match self.u8() {
            b @ 0..=0xF7 => TABLE[usize::from(b) % TABLE.len()],
            _ => Version::from_dword(self.u32()),
        }
    }
    fn action(&mut self) -> u16 {
        const TABLE: [u16; 6] = [
            code::VF_RESET,
            code::MATCH_VERSION,
            code::QUERY_SINGLE_KLV,
            code::RESFIX_START,
            code::RESFIX_DONE,
            code::RELAY_TO_PF,
        ];
        match self.u8() {
            b @ 0..=0xF7 => TABLE[usize::from(b) % TABLE.len()],
            _ => self.u16(),
        }
    }
    fn marker(&mut self) -> Marker {
        Marker::new(u32::from(self.u16() & 0xFFF)).unwrap_or(Marker::from_counter(0))
    }
    fn ggtt_start(&mut self) -> u64 {
        match self.u8() % 4 {
            0 => self.u64(),
            _ => u64::from(self.u32()) * SZ_4K,
        }
    }
    /// A reply dword: biased to GuC-origin headers of every type, KLV lengths and versions.
    fn reply_dword(&mut self) -> u32 {
        match self.u8() % 8 {
            0 => 0xF000_0000 | u32::from(self.u8() % 4),
            1 => 0xF000_0000 | (self.u32() & 0x0FFF_FFFF),
            2 => 0x8000_0000 | (u32::from(self.u8() % 8) << 28) | (self.u32() & 0x0FFF_FFFF),
            3 => self.version().to_dword(),
            4 => u32::from(self.u8()),
            5 => 0xFFFF_FFFF,
            _ => self.u32(),
        }
    }
    fn trigger(&mut self) -> Trigger {
        match self.u8() % 4 {
            0 => Trigger::AnyRequest,
            _ => Trigger::Action(self.action()),
        }
    }
    fn fault(&mut self) -> Fault {
        match self.u8() % 8 {
            0 => Fault::NoReply,
            1 => Fault::FlrClear,
            2 => Fault::Busy {
                count: self.count(),
            },
            3 => Fault::BusyThenSilence {
                count: self.count(),
            },
            4 => Fault::Retry {
                count: self.count(),
            },
            5 => Fault::Failure {
                error: match self.u8() % 4 {
                    0 => GucError::VfMigrated,
                    _ => GucError::from_raw(self.u16()),
                },
                hint: self.u16(),
            },
            6 => {
                let len = 1 + usize::from(self.u8() % 4);
                let mut dw = [0u32; 4];
                for slot in dw.iter_mut().take(len) {
                    *slot = self.reply_dword();
                }
                Fault::Reply(MmioMessage::from_slice(&dw[..len]).expect("1..=4 dwords"))
            }
            _ => Fault::MigrateFirst {
                new_ggtt_start: self.ggtt_start(),
            },
        }
    }
}

/// `XE_FUZZ_TRACE=1` prints each operation and its outcome (for reading a crash input).
fn tracing() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("XE_FUZZ_TRACE").is_some())
}

macro_rules! trace {
    ($($arg:tt)*) => {
        if tracing() {
            eprintln!($($arg)*);
        }
    };
}

fn trace_result<T: core::fmt::Debug, E: core::fmt::Debug>(
    what: &str,
    r: Result<T, E>,
) -> Result<T, E> {
    trace!("{what}: {r:?}");
    r
}

/// Errors a `Gt` operation may legitimately return; the request itself is always well formed.
fn check_error(e: &VfError) {
    assert!(
        !matches!(e, VfError::Mailbox(MailboxError::BadRequestLength(_))),
        "Gt built a request the mailbox refused: {e:?}"
    );
    let _ = format!("{e} {e:?}");
}

fuzz_target!(|data: &[u8]| {
    let mut s = Script { data };

    // ---- set-up
    let setup = s.u8();
    let kind = if setup & 1 == 0 {
        GtKind::Primary
    } else {
        GtKind::Media
    };
    // Rarely, the VF talks to registers the mock does not map (reads all ones).
    let wrong_regs = s.u8() == 0xFF;
    let vf_kind = match (wrong_regs, kind) {
        (false, k) => k,
        (true, GtKind::Primary) => GtKind::Media,
        (true, GtKind::Media) => GtKind::Primary,
    };
    let offered = s.version();
    let prov = if setup & 2 == 0 {
        Provisioning::integrated()
    } else {
        Provisioning::discrete()
    };
    let info = {
let mut info = GtInfo::new(vf_kind, setup & 8 != 0, [1200, 1255, 1270, 2004][usize::from(setup >> 4) % 4]);
info.tile = xe_sriov_vf::TileId(0);
info.platform = if setup & 4 == 0 {
            PlatformClass::Newer
        } else {
            PlatformClass::TigerLakeToPonteVecchio
        };
info
};
    let config = {
let mut c = MailboxConfig::DEFAULT;
c.reply_timeout = Duration::from_micros(50);
c.busy_timeout = Duration::from_micros(200);
c.max_retries = u32::from(s.u8() % 5);
c.resend_after_flr = setup & 0x40 == 0;
c.stall_polls = 16;
// Kernel 7.1's pauses, scaled like the timeouts: a lost reply waits 100 us before it is sent
// again (up to twice), a RETRY 1 us doubling to 64 us.
c.lost_reply_pause = Duration::from_micros(100);
c.retry_backoff = Duration::from_micros(1);
c.retry_backoff_max = Duration::from_micros(64);
c
};

    trace!("setup: mock {kind:?} offers {offered}, {prov:?}; VF {info:?}, {config:?}");
    let guc = MockGuc::new(kind, offered, prov);
    let mut gt = Gt::new(&guc, info, config);
    // Whether everything the mock answered is the truth (no garbage replies, no provisioning
    // changes beyond the GGTT base, the right registers).
    let mut trusted = !wrong_regs;

    // ---- operations
    for _ in 0..MAX_OPS {
        if s.is_empty() {
            break;
        }
        let before = guc.access_counts();
        let op = s.u8();
        match op % 16 {
            0..=4 => {
                let (trigger, fault) = (s.trigger(), s.fault());
                if matches!(fault, Fault::Reply(_)) {
                    trusted = false;
                }
                let r = guc.inject(trigger, fault);
                trace!("inject {trigger:?} {fault:?}: {r:?}");
            }
            5 => match trace_result("bootstrap", gt.bootstrap()) {
                Ok(v) => {
                    assert_eq!(gt.version(), Some(v));
                    let wanted = info.wanted_vf_abi();
                    assert_eq!(v.major, wanted.major, "accepted another major: {v}");
                    assert!(
                        v.at_least(wanted.major, wanted.minor),
                        "accepted a too old {v}"
                    );
                    if trusted {
                        assert_eq!(guc.negotiated(), Some(v));
                    }
                }
                Err(e) => check_error(&e),
            },
            6 => {
                let old = gt.config().copied();
                match trace_result("query_config", gt.query_config()) {
                    Ok(reported) => {
                        let c = *gt.config().expect("a configuration after a good query");
                        assert_eq!(reported, c);
                        assert!(gt.version().is_some());
                        assert_ne!(c.ggtt_size, 0);
                        assert_eq!(c.ggtt_size % SZ_4K, 0);
                        assert_eq!(c.ggtt_start % SZ_4K, 0);
                        assert_ne!(c.num_contexts, 0);
                        assert_eq!(
                            c.lmem_size.is_some(),
                            info.discrete && vf_kind == GtKind::Primary
                        );
                        assert_ne!(c.lmem_size, Some(0));
                        assert!(c.ggtt_start >= info.wopcm_size());
                        assert!(c.ggtt_size <= xe_sriov_vf::gt::GUC_GGTT_TOP - c.ggtt_start);
                        if let Some(o) = old {
                            assert_eq!(o.ggtt_size, c.ggtt_size);
                            assert_eq!(o.num_contexts, c.num_contexts);
                            assert!(o.num_doorbells == 0 || o.num_doorbells == c.num_doorbells);
                            assert_eq!(o.lmem_size, c.lmem_size);
                        }
                        if trusted {
                            let p = guc.provisioning();
                            assert_eq!(c.ggtt_size, p.ggtt_size);
                            assert_eq!(c.num_contexts, p.num_contexts);
                            assert_eq!(c.num_doorbells, p.num_doorbells);
                            if c.lmem_size.is_some() {
                                assert_eq!(c.lmem_size, p.lmem_size);
                            }
                        }
                    }
                    Err(e) => {
                        check_error(&e);
                        assert_eq!(
                            gt.config().copied(),
                            old,
                            "a failed query changed the configuration"
                        );
                        if gt.version().is_none() {
                            assert_eq!(e, VfError::NotBootstrapped);
                        }
                    }
                }
            }
            7 => {
                let m = s.marker();
                if let Err(e) = trace_result("resfix_start", gt.resfix_start(m)) {
                    check_error(&e);
                    assert_eq!(gt.version().is_none(), e == VfError::NotBootstrapped);
                }
            }
            8 => {
                let m = if s.u8() & 1 == 0 {
                    None
                } else {
                    Some(s.marker())
                };
                if let Err(e) = trace_result("resfix_done", gt.resfix_done(m)) {
                    check_error(&e);
                    assert_eq!(gt.version().is_none(), e == VfError::NotBootstrapped);
                }
            }
            9 => {
                let to = s.ggtt_start();
                trace!("migrate to GGTT {to:#x}");
                guc.migrate(to);
            }
            10 => match s.u8() % 4 {
                0 => {
                    trace!("pause");
                    guc.pause();
                }
                1 => {
                    trace!("resume");
                    guc.resume();
                }
                2 => {
                    let mut p = guc.provisioning();
                    p.ggtt_start = s.ggtt_start();
                    trace!("restore {p:?}");
                    guc.restore(p);
                }
                _ => {
                    // A destination provisioned differently: re-queries must notice.
                    let mut p = guc.provisioning();
                    match s.u8() % 4 {
                        0 => p.ggtt_size = u64::from(s.u32()) * SZ_4K,
                        1 => p.num_contexts = s.u32(),
                        2 => p.lmem_size = if s.u8() & 1 == 0 { None } else { Some(s.u64()) },
                        _ => p.group_scheduling_available = u32::from(s.u8() % 3),
                    }
                    trusted = false;
                    trace!("restore (changed) {p:?}");
                    guc.restore(p);
                }
            },
            11 => {
                let ns = match s.u8() % 4 {
                    0 => u64::MAX,
                    1 => s.u64(),
                    _ => u64::from(s.u32()),
                };
                trace!("advance {ns}");
                guc.advance(Duration::from_nanos(ns));
            }
            12 => {
                let step = [0, 10_000, 25_000, 1_000_000, u64::MAX][usize::from(s.u8()) % 5];
                trace!("relax step {step}");
                guc.set_relax_step(Duration::from_nanos(step));
            }
            13 => match s.u8() % 3 {
                0 => {
                    if let Err(e) = trace_result("reset", gt.reset()) {
                        check_error(&e);
                    }
                }
                1 => match trace_result("handshake", gt.handshake()) {
                    Ok(v) => assert_eq!(gt.version(), Some(v)),
                    Err(e) => check_error(&e),
                },
                _ => {
                    // A whole recovery pass, as the recovery layer drives it.
                    let m = Marker::from_counter(s.u8());
                    let markers = gt.supports_markers();
                    let r = gt
                        .query_config()
                        .and_then(|_| if markers { gt.resfix_start(m) } else { Ok(()) })
                        .and_then(|_| gt.resfix_done(markers.then_some(m)));
                    if let Err(e) = trace_result("recovery pass", r) {
                        check_error(&e);
                    }
                }
            },
            14 => match s.u8() % 2 {
                0 => {
                    let v = s.version();
                    trace!("offer {v}");
                    guc.set_offered(v);
                }
                _ => {
                    trace!("clear faults");
                    guc.clear_faults();
                }
            },
            _ => {
                // A raw transaction of 0..=5 dwords (the mailbox must refuse 0 and 5).
                let len = usize::from(s.u8() % 6);
                let mut dw = [0u32; 5];
                for slot in dw.iter_mut().take(len) {
                    *slot = s.reply_dword();
                }
                match trace_result("send_recv", gt.mailbox().send_recv(&dw[..len])) {
                    Ok(reply) => {
                        assert!((1..=4).contains(&len));
                        assert_eq!(reply.len(), 4);
                        assert_eq!(
                            reply.header() >> 28,
                            0xF,
                            "a non-SUCCESS reply returned as Ok"
                        );
                    }
                    Err(MailboxError::BadRequestLength(n)) => {
                        assert_eq!(n, len);
                        assert!(len == 0 || len > 4);
                    }
                    Err(e) => {
                        assert!((1..=4).contains(&len));
                        let _ = format!("{e} {e:?}");
                    }
                }
            }
        }
        let after = guc.access_counts();
        let reads = after.reads - before.reads;
        trace!(
            "  ({reads} reads, {} doorbells)",
            after.doorbells - before.doorbells
        );
        assert!(
            reads <= READ_BUDGET,
            "operation {op} took {reads} register reads: an unbounded wait"
        );
        if op & 0x30 == 0x30 {
            guc.drain_transcript(|e| {
                let _ = format!("{}", e.line(0));
            });
        }
    }
    let _ = format!(
        "{guc:?} {:?} {:?}",
        guc.state_history(),
        guc.pending_interrupts()
    );
});
