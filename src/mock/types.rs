//! The mock's public value types: VF states, provisioning, faults, counters and the transcript.

use core::fmt;
use core::time::Duration;

use crate::device::Instant;
use crate::wire::action::MmioMessage;
use crate::wire::hxg::{Header, Message, Origin};
use crate::wire::regs::GucIntr;
use crate::wire::GucError;

/// The VF state the GuC keeps, with the kernel's names.
///
/// `VF_READY` -> (handshake) `VF_RUNNING`; a migration walks `VF_READY_PAUSED` ->
/// `VF_RESFIX_PAUSED` -> `VF_RESFIX_BLOCKED`, and RESFIX_DONE returns to `VF_RUNNING`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum VfState {
    /// `VF_READY`: provisioned, reset, no interface version agreed yet.
    Ready,
    /// `VF_READY_PAUSED`: paused by the PF (the VM is frozen).
    ReadyPaused,
    /// `VF_RESFIX_PAUSED`: still paused, the saved image has been loaded.
    ResfixPaused,
    /// `VF_RESFIX_BLOCKED`: resumed after a restore; SW_INT_0 raised, waiting for RESFIX_DONE.
    ResfixBlocked,
    /// `VF_RUNNING`: normal operation.
    Running,
}

impl VfState {
    /// The kernel's name (`VF_READY`, ...).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            VfState::Ready => "VF_READY",
            VfState::ReadyPaused => "VF_READY_PAUSED",
            VfState::ResfixPaused => "VF_RESFIX_PAUSED",
            VfState::ResfixBlocked => "VF_RESFIX_BLOCKED",
            VfState::Running => "VF_RUNNING",
        }
    }

    /// Whether the VM is frozen in this state (a doorbell gets no reply at all).
    #[must_use]
    pub const fn is_paused(self) -> bool {
        matches!(self, VfState::ReadyPaused | VfState::ResfixPaused)
    }
}

impl VfState {
    /// Every state, in a fixed order (the codes of [`VfImage::to_words`]).
    pub const ALL: [VfState; 5] = [
        VfState::Ready,
        VfState::ReadyPaused,
        VfState::ResfixPaused,
        VfState::ResfixBlocked,
        VfState::Running,
    ];

    /// The state with this [`name`](VfState::name), if any.
    pub fn from_name(name: &str) -> Option<VfState> {
        VfState::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// What a GuC keeps about a VF that a live migration carries from the source GuC to the
/// destination ([`MockGuc::save_image`](super::MockGuc::save_image),
/// [`MockGuc::load_image`](super::MockGuc::load_image)): the VF state before the pause, the
/// negotiated VF ABI and the memirq registration. Not carried: the provisioning (the
/// destination PF provisions anew), the RESFIX marker (a restore resets it), the counters.
///
/// [`to_words`](VfImage::to_words) / [`from_words`](VfImage::from_words) give it a fixed
/// binary form, for a GuC in another process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct VfImage {
    /// The VF state before the pause.
    pub state: VfState,
    /// The negotiated VF ABI version.
    pub negotiated: Option<crate::wire::Version>,
    /// MEMIRQ_SOURCE_ADDR as the VF registered it.
    pub memirq_source: Option<u64>,
    /// MEMIRQ_STATUS_ADDR as the VF registered it.
    pub memirq_status: Option<u64>,
}

impl VfImage {
    /// Number of words of [`to_words`](VfImage::to_words).
    pub const WORDS: usize = 7;

    /// The image as words: state code, negotiated flag and version dword, then each memirq
    /// address as a presence flag and the address.
    pub fn to_words(&self) -> [u64; VfImage::WORDS] {
        let code = VfState::ALL
            .iter()
            .position(|s| *s == self.state)
            .unwrap_or(0) as u64;
        let opt = |v: Option<u64>| (u64::from(v.is_some()), v.unwrap_or(0));
        let (n, version) = opt(self.negotiated.map(|v| u64::from(v.to_dword())));
        let (s, source) = opt(self.memirq_source);
        let (t, status) = opt(self.memirq_status);
        [code, n, version, s, source, t, status]
    }

    /// The image back from [`to_words`](VfImage::to_words); `None` for a wrong length, an
    /// unknown state code, a flag other than 0 or 1, or a version dword above 32 bits.
    pub fn from_words(words: &[u64]) -> Option<VfImage> {
        let &[code, n, version, s, source, t, status] = words else {
            return None;
        };
        let opt = |flag: u64, v: u64| match flag {
            0 => Some(None),
            1 => Some(Some(v)),
            _ => None,
        };
        let negotiated = match opt(n, version)? {
            Some(dw) => Some(crate::wire::Version::from_dword(u32::try_from(dw).ok()?)),
            None => None,
        };
        Some(VfImage {
            state: *VfState::ALL.get(usize::try_from(code).ok()?)?,
            negotiated,
            memirq_source: opt(s, source)?,
            memirq_status: opt(t, status)?,
        })
    }
}

impl fmt::Display for VfState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the PF provisioned for this VF on this GT, as the GuC reports it through
/// QUERY_SINGLE_KLV.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct Provisioning {
    /// `VF_CFG_GGTT_START` (4K-aligned); the value a migration moves.
    pub ggtt_start: u64,
    /// `VF_CFG_GGTT_SIZE` (4K-aligned).
    pub ggtt_size: u64,
    /// `VF_CFG_LMEM_SIZE` (2M-aligned); `None` (integrated, or not provisioned on this GT) makes
    /// the key answer `INVALID_KLV_KEY`.
    pub lmem_size: Option<u64>,
    /// `VF_CFG_NUM_CONTEXTS`.
    pub num_contexts: u32,
    /// `VF_CFG_NUM_DOORBELLS`.
    pub num_doorbells: u32,
    /// `VF_CFG_TILE_MASK`.
    pub tile_mask: u32,
    /// `GLOBAL_CFG_GMD_ID` (ARCH 31:22, RELEASE 21:14, REVID 5:0); answered from VF ABI 1.2.
    pub gmd_id: u32,
    /// `GLOBAL_CFG_GROUP_SCHEDULING_AVAILABLE`; answered from VF ABI 1.26.
    pub group_scheduling_available: u32,
    /// `GLOBAL_CFG_NUM_PAGING_ENGINE_INSTANCES`; answered from VF ABI 1.36.
    pub num_paging_engine_instances: u32,
}

/// A GMD_ID register value: ARCH 31:22, RELEASE 21:14, REVID 5:0.
#[must_use]
pub const fn gmd_id(arch: u32, release: u32, revid: u32) -> u32 {
    (arch & 0x3FF) << 22 | (release & 0xFF) << 14 | (revid & 0x3F)
}

impl Provisioning {
    /// The default: [`integrated`](Provisioning::integrated). The struct is
    /// `#[non_exhaustive]`: start from this (or `discrete()`) and assign the fields to change.
    pub const DEFAULT: Provisioning = Provisioning::integrated();

    /// An integrated part (graphics IP 20.04, like Lunar Lake): 1 GiB - 2 MiB of GGTT from
    /// 2 MiB, no local memory, 1024 contexts, 64 doorbells, tile 0.
    #[must_use]
    pub const fn integrated() -> Provisioning {
        Provisioning {
            ggtt_start: 0x0020_0000,
            ggtt_size: 0x3FE0_0000,
            lmem_size: None,
            num_contexts: 1024,
            num_doorbells: 64,
            tile_mask: 0x1,
            gmd_id: gmd_id(20, 4, 0),
            group_scheduling_available: 1,
            num_paging_engine_instances: 1,
        }
    }

    /// A discrete part (graphics IP 20.01, like Battlemage): 1 GiB of GGTT from 16 MiB, 4 GiB of
    /// local memory, 1024 contexts, 64 doorbells, tile 0.
    #[must_use]
    pub const fn discrete() -> Provisioning {
        Provisioning {
            ggtt_start: 0x0100_0000,
            ggtt_size: 0x4000_0000,
            lmem_size: Some(0x1_0000_0000),
            num_contexts: 1024,
            num_doorbells: 64,
            tile_mask: 0x1,
            gmd_id: gmd_id(20, 1, 0),
            group_scheduling_available: 1,
            num_paging_engine_instances: 1,
        }
    }
}

/// Which request an injected [`Fault`] applies to. The first queued fault whose trigger matches
/// a request is consumed by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Trigger {
    /// The next doorbell, whatever the scratch registers hold (even garbage or nothing).
    AnyRequest,
    /// The next doorbell whose dword 0 is a host-origin REQUEST with this ACTION code.
    Action(u16),
}

impl Trigger {
    /// Whether this trigger matches a request (as the GuC received it; empty if nothing was
    /// written before the doorbell).
    #[must_use]
    pub fn matches(&self, request: &[u32]) -> bool {
        match *self {
            Trigger::AnyRequest => true,
            Trigger::Action(want) => match request.first().map(|&dw| Header::decode(dw)) {
                Some(Ok(Header {
                    origin: Origin::Host,
                    message: Message::Request { action, .. },
                })) => action == want,
                _ => false,
            },
        }
    }
}

/// A misbehaviour to inject into the next matching request (see [`Trigger`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Fault {
    /// The GuC drops the request: the scratch registers keep the request, the VF times out.
    /// The request has no effect.
    NoReply,
    /// A function-level reset lands: all four scratch registers read 0 and there is no reply.
    /// The request has no effect (only the mailbox side of an FLR is modelled: the GuC's VF
    /// state is kept).
    FlrClear,
    /// The request is processed at once, but the next `count` reads of scratch 0 return BUSY
    /// with the counter going 1, 2, ..., `count`; the read after that returns the real reply.
    Busy {
        /// BUSY reads before the reply.
        count: u32,
    },
    /// The GuC never finishes: scratch 0 reads BUSY forever (counter 1..=`count` on the first
    /// `count` reads, then stuck), so the VF hits its BUSY timeout. The request has no effect.
    BusyThenSilence {
        /// Reads on which the BUSY counter still moves.
        count: u32,
    },
    /// Answer RETRY to this request and to the next `count - 1` doorbells that carry the very
    /// same dwords, then process it normally. A different request ends the RETRY streak.
    /// `count` 0 is no fault at all.
    Retry {
        /// RETRY answers in a row.
        count: u32,
    },
    /// The GuC starts on the request (BUSY on the next `count` reads of scratch 0, the counter
    /// going 1, 2, ..., `count`), then refuses it: RESPONSE_FAILURE with this error and hint.
    /// No effect. With [`GucError::VfMigrated`] this is a second migration noticed while the
    /// GuC was busy with the request.
    BusyThenFailure {
        /// BUSY reads before the FAILURE.
        count: u32,
        /// The error code.
        error: GucError,
        /// The 12-bit hint.
        hint: u16,
    },
    /// Answer RESPONSE_FAILURE with this error and hint (masked to 12 bits). No effect.
    Failure {
        /// The error code.
        error: GucError,
        /// The 12-bit hint.
        hint: u16,
    },
    /// Answer exactly these dwords, written to scratch 0.. (any garbage: wrong origin, TYPE 4,
    /// short or long replies, odd versions). No effect. A host-origin dword 0 looks to the VF
    /// like no reply at all.
    Reply(MmioMessage),
    /// A whole migration (pause, restore with this GGTT start, resume) lands just before the
    /// request is processed; the request is then processed normally (in `VF_RESFIX_BLOCKED`).
    MigrateFirst {
        /// The GGTT start the destination provisions.
        new_ggtt_start: u64,
    },
}

/// How long the GuC takes over a request, on the mock's virtual clock (see
/// [`MockGuc::set_latency`](super::MockGuc::set_latency)).
///
/// From the doorbell until `turnaround` has passed, scratch 0 reads as the VF wrote it (a
/// host-origin request: no reply yet), or as BUSY from `busy_after` on (a slow action that says
/// it is working on it); then the reply appears. The request's effect on the GuC's state still
/// applies at the doorbell. [`Latency::ZERO`], the default, answers at the doorbell. Spans
/// beyond `u64::MAX` ns count as that.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct Latency {
    /// Virtual time from the doorbell to the reply.
    pub turnaround: Duration,
    /// If set, scratch 0 reads BUSY (counter 0) from this long after the doorbell until the
    /// reply; a span at or past `turnaround` shows no BUSY.
    pub busy_after: Option<Duration>,
}

impl Latency {
    /// No latency: the reply is there at the doorbell.
    pub const ZERO: Latency = Latency {
        turnaround: Duration::ZERO,
        busy_after: None,
    };

    /// A fixed turnaround, no BUSY phase.
    #[must_use]
    pub const fn fixed(turnaround: Duration) -> Latency {
        Latency {
            turnaround,
            busy_after: None,
        }
    }

    /// A slow action: BUSY from `busy_after` after the doorbell, the reply at `turnaround`.
    #[must_use]
    pub const fn busy(busy_after: Duration, turnaround: Duration) -> Latency {
        Latency {
            turnaround,
            busy_after: Some(busy_after),
        }
    }

    /// Whether the reply is there at the doorbell.
    #[must_use]
    pub const fn is_zero(&self) -> bool {
        self.turnaround.is_zero()
    }
}

/// What the last migration cost the VF on this GT, as the GuC saw it (see
/// [`MockGuc::blackout`](super::MockGuc::blackout)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct Blackout {
    /// When the migration raised SW_INT_0 (the resume after the restore).
    pub sw_int0_at: Instant,
    /// When the GuC posted its SUCCESS to the first RESFIX_DONE after it (the doorbell plus
    /// the turnaround); `None` while the VF is still blocked.
    pub done_at: Option<Instant>,
    /// Doorbells (mailbox round trips, resends included) from SW_INT_0 up to and including the
    /// accepted RESFIX_DONE (or so far, while blocked).
    pub round_trips: u32,
}

impl Blackout {
    /// Virtual time from SW_INT_0 to the accepted RESFIX_DONE; `None` while still blocked.
    #[must_use]
    pub fn duration(&self) -> Option<Duration> {
        self.done_at
            .map(|done| done.duration_since(self.sw_int0_at))
    }
}

/// Errors from the mock's control API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum MockError {
    /// The fault queue already holds [`FAULT_QUEUE_LEN`](super::FAULT_QUEUE_LEN) faults.
    QueueFull,
    /// The per-action latency table already holds
    /// [`LATENCY_TABLE_LEN`](super::LATENCY_TABLE_LEN) actions.
    LatencyTableFull,
}

impl fmt::Display for MockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MockError::QueueFull => f.write_str("mock GuC fault queue is full"),
            MockError::LatencyTableFull => f.write_str("mock GuC latency table is full"),
        }
    }
}

impl core::error::Error for MockError {}

/// Register accesses seen through [`Device`](crate::device::Device), mapped or not.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct AccessCounts {
    /// `read32` calls (any offset).
    pub reads: u64,
    /// `write32` calls (any offset, doorbell writes included).
    pub writes: u64,
    /// Writes to this GT's doorbell register.
    pub doorbells: u64,
}

/// Direction (or kind) of a transcript entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Dir {
    /// A request as the GuC received it at the doorbell.
    ToGuc,
    /// A reply (or BUSY / RETRY) as the VF observed it on scratch 0.
    FromGuc,
    /// An interrupt the GuC raised to the VF (the message holds the vector bits).
    Interrupt(GucIntr),
}

/// One line of the mailbox transcript.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct TranscriptEntry {
    /// Virtual time of the event.
    pub at: Instant,
    /// What it is.
    pub dir: Dir,
    /// The dwords: the request (`ToGuc`, the written scratch registers; the stale scratch 0
    /// alone for a doorbell with nothing written), the reply as observed (`FromGuc`: the header
    /// alone for BUSY / RETRY / FAILURE, header plus the data dwords the reply carries for
    /// SUCCESS), or the interrupt vector bits (`Interrupt`).
    pub msg: MmioMessage,
}

impl TranscriptEntry {
    /// An entry (the mock makes them; this is for an embedder's own transcript lines).
    #[must_use]
    pub const fn new(at: Instant, dir: Dir, msg: MmioMessage) -> TranscriptEntry {
        TranscriptEntry { at, dir, msg }
    }

    /// A printable line for GT number `gt`: `gt0 > 0x00005507`, `gt0 < 0xf0000000`,
    /// `gt0 irq SW_INT_0`.
    #[must_use]
    pub fn line(&self, gt: u8) -> TranscriptLine<'_> {
        TranscriptLine { gt, entry: self }
    }
}

/// A transcript entry formatted for one GT number; see [`TranscriptEntry::line`].
#[derive(Clone, Copy, Debug)]
pub struct TranscriptLine<'a> {
    gt: u8,
    entry: &'a TranscriptEntry,
}

impl fmt::Display for TranscriptLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "gt{} ", self.gt)?;
        let arrow = match self.entry.dir {
            Dir::ToGuc => '>',
            Dir::FromGuc => '<',
            Dir::Interrupt(vector) => {
                f.write_str("irq ")?;
                if vector.is_empty() {
                    return f.write_str("0");
                }
                for (i, (name, _)) in vector.iter_names().enumerate() {
                    if i > 0 {
                        f.write_str("|")?;
                    }
                    f.write_str(name)?;
                }
                return Ok(());
            }
        };
        write!(f, "{arrow}")?;
        for dw in self.entry.msg.as_slice() {
            write!(f, " 0x{dw:08x}")?;
        }
        Ok(())
    }
}
