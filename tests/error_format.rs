//! Pins the exact `{:?}`, `{:#?}` and `{}` text (and the `source()` chain) of every variant of
//! the error and outcome types, and of the values nested in them. Their `Debug` impls are
//! hand-written (hex fields) and kept small for `no_std` footprint; whatever shape the code
//! takes, an embedder's logs must read the same.
//!
//! On a mismatch the test prints the whole transcript it produced, with the first line that
//! differs.

use core::error::Error;
use core::fmt::{Debug, Display, Write};

use xe_sriov_vf::coordinator::{GtId, GtSet};
use xe_sriov_vf::mailbox::MailboxError;
use xe_sriov_vf::recovery::{
    BootstrapError, GtAccessError, HoldPoint, HookError, PassOutcome, PassReport, RecoveryError,
    Step, Unsupported,
};
use xe_sriov_vf::tile::{GgttMove, TileGgtt, TileId};
use xe_sriov_vf::wire::hxg::MsgType;
use xe_sriov_vf::wire::self_cfg::{SelfCfgError, SelfCfgKey};
use xe_sriov_vf::wire::{GucError, KlvKey, Version, WireError};
use xe_sriov_vf::VfError;

/// A transcript of formatted values.
#[derive(Default)]
struct Transcript(String);

impl Transcript {
    /// `{:?}` and `{:#?}` of `value`, under `label`.
    fn debug(&mut self, label: &str, value: &dyn Debug) {
        writeln!(self.0, "== {label}").unwrap();
        writeln!(self.0, "{value:?}").unwrap();
        writeln!(self.0, "{value:#?}").unwrap();
    }

    /// `{:?}`, `{:#?}` and `{}` of `value`, under `label`.
    fn both<T: Debug + Display>(&mut self, label: &str, value: &T) {
        self.debug(label, value);
        writeln!(self.0, "{value}").unwrap();
    }

    /// As [`Transcript::both`], then the `Display` of each link of the `source()` chain.
    fn error<T: Error + 'static>(&mut self, label: &str, value: &T) {
        self.both(label, value);
        let mut next = value.source();
        let mut depth = 0;
        while let Some(cause) = next {
            writeln!(self.0, "source: {cause}").unwrap();
            next = cause.source();
            depth += 1;
            assert!(depth <= 8, "{label}: the source chain does not end");
        }
    }
}

fn v(major: u8, minor: u8) -> Version {
    Version::new(major, minor)
}

fn transcript() -> String {
    let mut t = Transcript::default();

    // Every named code (from_raw is checked against the names in src/wire/error.rs), an unnamed
    // one, and a hand-built `Other` holding a named code.
    let mut gucs: Vec<GucError> = [
        0x0A, 0x0B, 0x0D, 0x20, 0x30, 0x40, 0x50, 0x60, 0x103, 0x105, 0x107, 0xF000, 0x1234,
    ]
    .map(GucError::from_raw)
    .to_vec();
    gucs.push(GucError::Other(0x107));
    for e in &gucs {
        t.error("GucError", e);
    }

    for ty in [
        MsgType::Request,
        MsgType::Event,
        MsgType::FastRequest,
        MsgType::NoResponseBusy,
        MsgType::NoResponseRetry,
        MsgType::ResponseFailure,
        MsgType::ResponseSuccess,
    ] {
        t.debug("MsgType", &ty);
    }

    let wires = [
        WireError::UndefinedType(4),
        WireError::WrongOrigin,
        WireError::UnexpectedType(MsgType::Event),
        WireError::UnexpectedType(MsgType::NoResponseRetry),
        WireError::UnknownAction(0x5555),
        WireError::MustBeZero {
            dword: 1,
            bits: 0xf0,
        },
        WireError::BadLength {
            min: 1,
            max: 4,
            actual: 7,
        },
        WireError::BadMarker(0x1000),
        WireError::FieldOverflow {
            bits: 12,
            value: 0x2000,
        },
        WireError::KlvTruncated {
            key: 0x3001,
            len: 2,
            available: 1,
        },
        WireError::BufferTooSmall { needed: 5 },
    ];
    for e in &wires {
        t.error("WireError", e);
    }

    let mailboxes = [
        MailboxError::BadRequestLength(5),
        MailboxError::Timeout { last: 0x8000_0001 },
        MailboxError::Timeout { last: 0 },
        MailboxError::BusyTimeout,
        MailboxError::LinkLost { losses: 3 },
        MailboxError::RetryLimit { retries: 64 },
        MailboxError::VfMigrated { hint: 0x12 },
        MailboxError::Remote {
            error: GucError::InvalidState,
            hint: 0x3,
        },
        MailboxError::Remote {
            error: GucError::Other(0x99),
            hint: 0,
        },
        MailboxError::Protocol {
            header: 0xdead_beef,
            error: WireError::WrongOrigin,
        },
        MailboxError::Protocol {
            header: 0xf000_0000,
            error: WireError::MustBeZero {
                dword: 0,
                bits: 0x7,
            },
        },
        MailboxError::ClockStalled,
    ];
    for e in &mailboxes {
        t.error("MailboxError", e);
    }

    for key in SelfCfgKey::ALL {
        t.both("SelfCfgKey", &key);
    }
    let self_cfgs = [
        SelfCfgError::KeyNotRecognised,
        SelfCfgError::Protocol(2),
        SelfCfgError::Failure {
            hint: 0x10,
            error: GucError::NotSupported,
        },
        SelfCfgError::ValueTooWide {
            key: SelfCfgKey::H2gCtbSize,
            value: 0x1_0000_0000,
        },
        SelfCfgError::UnknownKey(0x0a00),
        SelfCfgError::LenMismatch {
            key: SelfCfgKey::MemirqStatusAddr,
            len: 1,
        },
        SelfCfgError::BadControl(2),
        SelfCfgError::Wire(WireError::BadLength {
            min: 2,
            max: 2,
            actual: 1,
        }),
    ];
    for e in &self_cfgs {
        t.error("SelfCfgError", e);
    }

    for key in [
        KlvKey::GgttStart,
        KlvKey::GgttSize,
        KlvKey::LmemSize,
        KlvKey::NumContexts,
        KlvKey::TileMask,
        KlvKey::NumDoorbells,
        KlvKey::GmdId,
        KlvKey::GroupSchedulingAvailable,
        KlvKey::NumPagingEngineInstances,
        KlvKey::Unknown(0x4242),
    ] {
        t.both("KlvKey", &key);
    }

    let branched = Version {
        branch: 2,
        major: 1,
        minor: 28,
        patch: 3,
    };
    for ver in [v(1, 27), branched, Version::default()] {
        t.both("Version", &ver);
    }
    t.debug("Option<Version>", &Some(v(1, 27)));
    t.debug("Option<Version>", &None::<Version>);

    let vfs = [
        VfError::Mailbox(MailboxError::Timeout { last: 0x1 }),
        VfError::Mailbox(MailboxError::VfMigrated { hint: 0x107 }),
        VfError::BadReply {
            action: 0x5503,
            error: WireError::MustBeZero {
                dword: 1,
                bits: 0x100,
            },
        },
        VfError::VersionNewerMajor {
            wanted: v(1, 27),
            found: v(2, 0),
        },
        VfError::VersionMajorMismatch {
            wanted: v(1, 27),
            found: branched,
        },
        VfError::VersionTooOld {
            minimum: v(1, 2),
            found: v(1, 1),
        },
        VfError::VersionRefused {
            wanted: v(1, 27),
            guc: Some(v(1, 26)),
            error: MailboxError::Remote {
                error: GucError::UnsupportedVersion,
                hint: 0,
            },
        },
        VfError::VersionRefused {
            wanted: v(1, 27),
            guc: None,
            error: MailboxError::Timeout { last: 0xf000_0000 },
        },
        VfError::VersionRefused {
            wanted: branched,
            guc: Some(branched),
            error: MailboxError::Protocol {
                header: 0x1234_5678,
                error: WireError::UndefinedType(4),
            },
        },
        VfError::VersionChanged {
            previous: v(1, 27),
            found: v(1, 28),
        },
        VfError::NotBootstrapped,
        VfError::KlvOverflow {
            key: KlvKey::GgttStart,
            len: 3,
        },
        VfError::KlvNoData {
            key: KlvKey::Unknown(0x77),
            len: 0,
        },
        VfError::ZeroValue {
            key: KlvKey::GgttSize,
        },
        VfError::InvalidValue {
            key: KlvKey::GroupSchedulingAvailable,
            value: 2,
        },
        VfError::GgttRange {
            start: 0x1000,
            size: 0xffff_f000,
            wopcm: 0x60_0000,
        },
        VfError::SelfCfg {
            key: SelfCfgKey::MemirqSourceAddr,
            error: SelfCfgError::Failure {
                hint: 0x1,
                error: GucError::InvalidKlvKey,
            },
        },
        VfError::SelfCfg {
            key: SelfCfgKey::G2hCtbSize,
            error: SelfCfgError::KeyNotRecognised,
        },
        VfError::ControlCtb(SelfCfgError::Protocol(3)),
        VfError::ControlCtb(SelfCfgError::Wire(WireError::WrongOrigin)),
        VfError::Reassigned {
            key: KlvKey::GgttSize,
            old: 0x1000_0000,
            new: 0x2000_0000,
        },
        VfError::PolledAfterReady,
    ];
    for e in &vfs {
        t.error("VfError", e);
    }

    t.error("HookError", &HookError(-22));
    for step in [
        Step::ResfixStart,
        Step::QueryConfig,
        Step::GgttFixup,
        Step::GtFixups,
        Step::Rearm,
        Step::ResfixDone,
    ] {
        t.debug("Step", &step);
    }
    for point in [
        HoldPoint::BeforeStart,
        HoldPoint::BeforeFixups,
        HoldPoint::BeforeRearm,
        HoldPoint::BeforeDone,
    ] {
        t.debug("HoldPoint", &point);
    }
    t.debug("GtId", &GtId(1));
    t.debug("TileId", &TileId(0));
    for set in [
        GtSet::empty(),
        GtSet::single(GtId(3)),
        GtSet::from_bits(0b101),
    ] {
        t.debug("GtSet", &set);
    }
    let ggtt = GgttMove {
        old: 0x1_0000,
        new: 0x20_0000,
    };
    t.both("GgttMove", &ggtt);
    t.debug(
        "TileGgtt",
        &TileGgtt {
            size: 0x1000_0000,
            applied: 0x1_0000,
            reported: 0x20_0000,
            moves: 3,
        },
    );

    let recoveries = [
        RecoveryError::Gt {
            gt: GtId(0),
            step: Step::ResfixStart,
            error: VfError::Mailbox(MailboxError::RetryLimit { retries: 64 }),
        },
        RecoveryError::GgttFixup {
            tile: TileId(0),
            gt: GtId(1),
            ggtt,
            error: HookError(-5),
        },
        RecoveryError::Hook {
            gt: GtId(1),
            step: Step::Rearm,
            error: HookError(-12),
        },
        RecoveryError::RequeueLimit {
            gt: GtId(0),
            requeues: 9,
            step: Step::ResfixDone,
        },
    ];
    for e in &recoveries {
        t.error("RecoveryError", e);
    }

    let bootstraps = [
        BootstrapError::Gt {
            gt: GtId(1),
            error: VfError::VersionRefused {
                wanted: v(1, 27),
                guc: Some(v(1, 26)),
                error: MailboxError::Remote {
                    error: GucError::UnsupportedVersion,
                    hint: 0x2,
                },
            },
        },
        BootstrapError::GgttMismatch {
            tile: TileId(0),
            primary: GtId(0),
            primary_ggtt: (0x1_0000, 0x1000_0000),
            media: GtId(1),
            media_ggtt: (0x2_0000, 0x800_0000),
        },
        BootstrapError::Busy,
        BootstrapError::MemirqMismatch { gt: GtId(1) },
    ];
    for e in &bootstraps {
        t.error("BootstrapError", e);
    }

    for e in [
        GtAccessError::UnknownGt,
        GtAccessError::UnknownTile,
        GtAccessError::Busy,
    ] {
        t.error("GtAccessError", &e);
    }
    for u in [Unsupported::NoMarkers, Unsupported::NoMemirq] {
        t.both("Unsupported", &u);
    }

    let mut report = PassReport::default();
    t.debug("PassReport", &report);
    report.recovered = GtSet::single(GtId(0));
    report.requeued = GtSet::from_bits(0b110);
    report.postponed = GtSet::single(GtId(3));
    t.debug("PassReport", &report);

    let outcomes = [
        PassOutcome::NotStarted,
        PassOutcome::Empty,
        PassOutcome::Recovered(GtSet::from_bits(0b11)),
        PassOutcome::Incomplete(report),
        PassOutcome::Unsupported {
            gt: GtId(1),
            version: Some(v(1, 26)),
            reason: Unsupported::NoMarkers,
        },
        PassOutcome::Unsupported {
            gt: GtId(0),
            version: None,
            reason: Unsupported::NoMemirq,
        },
        PassOutcome::Failed(recoveries[0]),
        PassOutcome::Failed(RecoveryError::Gt {
            gt: GtId(1),
            step: Step::QueryConfig,
            error: vfs[8],
        }),
        PassOutcome::Failed(recoveries[1]),
        PassOutcome::Failed(recoveries[2]),
        PassOutcome::Failed(recoveries[3]),
        PassOutcome::Cancelled,
        PassOutcome::Busy(GtSet::empty()),
    ];
    for o in &outcomes {
        t.debug("PassOutcome", o);
    }
    // Every error nested one level deeper, where the guest prints them: in a `PassOutcome`.
    for e in &vfs {
        t.debug(
            "PassOutcome::Failed(Gt)",
            &PassOutcome::Failed(RecoveryError::Gt {
                gt: GtId(0),
                step: Step::QueryConfig,
                error: *e,
            }),
        );
    }
    t.0
}

#[test]
fn every_variant_formats_as_pinned() {
    let got = transcript();
    if got != EXPECTED {
        let line = got
            .lines()
            .zip(EXPECTED.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| got.lines().count().min(EXPECTED.lines().count()));
        panic!(
            "formatting changed at line {}:\n  got:      {:?}\n  expected: {:?}\n\nfull transcript:\n{got}",
            line + 1,
            got.lines().nth(line),
            EXPECTED.lines().nth(line),
        );
    }
}

const EXPECTED: &str = r#"== GucError
InvalidState
InvalidState
INVALID_STATE (0xa)
== GucError
UnsupportedVersion
UnsupportedVersion
UNSUPPORTED_VERSION (0xb)
== GucError
UnprovisionedVf
UnprovisionedVf
UNPROVISIONED_VF (0xd)
== GucError
NotSupported
NotSupported
NOT_SUPPORTED (0x20)
== GucError
UnknownAction
UnknownAction
UNKNOWN_ACTION (0x30)
== GucError
NoPermission
NoPermission
NO_PERMISSION (0x40)
== GucError
InvalidKlvData
InvalidKlvData
INVALID_KLV_DATA (0x50)
== GucError
InvalidParams
InvalidParams
INVALID_PARAMS (0x60)
== GucError
MalformedKlv
MalformedKlv
MALFORMED_KLV (0x103)
== GucError
InvalidKlvKey
InvalidKlvKey
INVALID_KLV_KEY (0x105)
== GucError
VfMigrated
VfMigrated
VF_MIGRATED (0x107)
== GucError
GenericFail
GenericFail
GENERIC_FAIL (0xf000)
== GucError
Other(4660)
Other(
    4660,
)
GuC error 0x1234
== GucError
Other(263)
Other(
    263,
)
GuC error 0x107
== MsgType
Request
Request
== MsgType
Event
Event
== MsgType
FastRequest
FastRequest
== MsgType
NoResponseBusy
NoResponseBusy
== MsgType
NoResponseRetry
NoResponseRetry
== MsgType
ResponseFailure
ResponseFailure
== MsgType
ResponseSuccess
ResponseSuccess
== WireError
UndefinedType(4)
UndefinedType(
    4,
)
undefined HXG message type 4
== WireError
WrongOrigin
WrongOrigin
message has the wrong origin
== WireError
UnexpectedType(Event)
UnexpectedType(
    Event,
)
unexpected HXG message type Event
== WireError
UnexpectedType(NoResponseRetry)
UnexpectedType(
    NoResponseRetry,
)
unexpected HXG message type NoResponseRetry
== WireError
UnknownAction(0x5555)
UnknownAction(
    0x5555,
)
unknown action 0x5555
== WireError
MustBeZero { dword: 1, bits: 0xf0 }
MustBeZero {
    dword: 1,
    bits: 0xf0,
}
must-be-zero bits 0x000000f0 set in dword 1
== WireError
BadLength { min: 1, max: 4, actual: 7 }
BadLength {
    min: 1,
    max: 4,
    actual: 7,
}
message of 7 dwords, expected 1..=4
== WireError
BadMarker(0x1000)
BadMarker(
    0x1000,
)
RESFIX marker 0x1000 out of range 1..=0xfff
== WireError
FieldOverflow { bits: 12, value: 0x2000 }
FieldOverflow {
    bits: 12,
    value: 0x2000,
}
value 0x2000 does not fit in 12 bits
== WireError
KlvTruncated { key: 0x3001, len: 2, available: 1 }
KlvTruncated {
    key: 0x3001,
    len: 2,
    available: 1,
}
KLV 0x3001 announces 2 dwords, 1 left in the stream
== WireError
BufferTooSmall { needed: 5 }
BufferTooSmall {
    needed: 5,
}
output buffer too small, 5 dwords needed
== MailboxError
BadRequestLength(5)
BadRequestLength(
    5,
)
request of 5 dwords does not fit the MMIO mailbox (1..=4)
== MailboxError
Timeout { last: 0x80000001 }
Timeout {
    last: 0x80000001,
}
no reply from the GuC (scratch 0 = 0x80000001)
== MailboxError
Timeout { last: 0x0 }
Timeout {
    last: 0x0,
}
no reply from the GuC (scratch 0 = 0x00000000)
== MailboxError
BusyTimeout
BusyTimeout
GuC stayed busy past the busy timeout
== MailboxError
LinkLost { losses: 3 }
LinkLost {
    losses: 3,
}
GuC reply lost 3 times (scratch registers cleared)
== MailboxError
RetryLimit { retries: 64 }
RetryLimit {
    retries: 64,
}
GuC asked to retry 64 times; giving up
== MailboxError
VfMigrated { hint: 0x12 }
VfMigrated {
    hint: 0x12,
}
request rejected: VF migrated (hint 0x12)
== MailboxError
Remote { error: InvalidState, hint: 0x3 }
Remote {
    error: InvalidState,
    hint: 0x3,
}
GuC answered FAILURE (hint 0x3)
source: INVALID_STATE (0xa)
== MailboxError
Remote { error: Other(153), hint: 0x0 }
Remote {
    error: Other(
        153,
    ),
    hint: 0x0,
}
GuC answered FAILURE (hint 0x0)
source: GuC error 0x99
== MailboxError
Protocol { header: 0xdeadbeef, error: WrongOrigin }
Protocol {
    header: 0xdeadbeef,
    error: WrongOrigin,
}
unexpected GuC reply 0xdeadbeef
source: message has the wrong origin
== MailboxError
Protocol { header: 0xf0000000, error: MustBeZero { dword: 0, bits: 0x7 } }
Protocol {
    header: 0xf0000000,
    error: MustBeZero {
        dword: 0,
        bits: 0x7,
    },
}
unexpected GuC reply 0xf0000000
source: must-be-zero bits 0x00000007 set in dword 0
== MailboxError
ClockStalled
ClockStalled
device clock does not advance
== SelfCfgKey
MemirqStatusAddr
MemirqStatusAddr
MEMIRQ_STATUS_ADDR (0x0900)
== SelfCfgKey
MemirqSourceAddr
MemirqSourceAddr
MEMIRQ_SOURCE_ADDR (0x0901)
== SelfCfgKey
H2gCtbAddr
H2gCtbAddr
H2G_CTB_ADDR (0x0902)
== SelfCfgKey
H2gCtbDescriptorAddr
H2gCtbDescriptorAddr
H2G_CTB_DESCRIPTOR_ADDR (0x0903)
== SelfCfgKey
H2gCtbSize
H2gCtbSize
H2G_CTB_SIZE (0x0904)
== SelfCfgKey
G2hCtbAddr
G2hCtbAddr
G2H_CTB_ADDR (0x0905)
== SelfCfgKey
G2hCtbDescriptorAddr
G2hCtbDescriptorAddr
G2H_CTB_DESCRIPTOR_ADDR (0x0906)
== SelfCfgKey
G2hCtbSize
G2hCtbSize
G2H_CTB_SIZE (0x0907)
== SelfCfgError
KeyNotRecognised
KeyNotRecognised
GuC did not recognise the self-config key
== SelfCfgError
Protocol(0x2)
Protocol(
    0x2,
)
protocol error: unexpected reply data 0x2
== SelfCfgError
Failure { hint: 0x10, error: NotSupported }
Failure {
    hint: 0x10,
    error: NotSupported,
}
GuC answered FAILURE (hint 0x10)
source: NOT_SUPPORTED (0x20)
== SelfCfgError
ValueTooWide { key: H2gCtbSize, value: 0x100000000 }
ValueTooWide {
    key: H2gCtbSize,
    value: 0x100000000,
}
value 0x100000000 does not fit the 32-bit key H2G_CTB_SIZE (0x0904)
== SelfCfgError
UnknownKey(0xa00)
UnknownKey(
    0xa00,
)
unknown self-config key 0x0a00
== SelfCfgError
LenMismatch { key: MemirqStatusAddr, len: 1 }
LenMismatch {
    key: MemirqStatusAddr,
    len: 1,
}
KLV_LEN 1 for MEMIRQ_STATUS_ADDR (0x0900), which has length 2
== SelfCfgError
BadControl(0x2)
BadControl(
    0x2,
)
CTB CONTROL 0x2 is neither 0 nor 1
== SelfCfgError
Wire(BadLength { min: 2, max: 2, actual: 1 })
Wire(
    BadLength {
        min: 2,
        max: 2,
        actual: 1,
    },
)
malformed message
source: message of 1 dwords, expected 2..=2
== KlvKey
GgttStart
GgttStart
VF_CFG_GGTT_START (0x0001)
== KlvKey
GgttSize
GgttSize
VF_CFG_GGTT_SIZE (0x0002)
== KlvKey
LmemSize
LmemSize
VF_CFG_LMEM_SIZE (0x0003)
== KlvKey
NumContexts
NumContexts
VF_CFG_NUM_CONTEXTS (0x0004)
== KlvKey
TileMask
TileMask
VF_CFG_TILE_MASK (0x0005)
== KlvKey
NumDoorbells
NumDoorbells
VF_CFG_NUM_DOORBELLS (0x0006)
== KlvKey
GmdId
GmdId
GLOBAL_CFG_GMD_ID (0x3000)
== KlvKey
GroupSchedulingAvailable
GroupSchedulingAvailable
GLOBAL_CFG_GROUP_SCHEDULING_AVAILABLE (0x3001)
== KlvKey
NumPagingEngineInstances
NumPagingEngineInstances
GLOBAL_CFG_NUM_PAGING_ENGINE_INSTANCES (0x3003)
== KlvKey
Unknown(16962)
Unknown(
    16962,
)
KLV key 0x4242
== Version
Version { branch: 0, major: 1, minor: 27, patch: 0 }
Version {
    branch: 0,
    major: 1,
    minor: 27,
    patch: 0,
}
1.27.0
== Version
Version { branch: 2, major: 1, minor: 28, patch: 3 }
Version {
    branch: 2,
    major: 1,
    minor: 28,
    patch: 3,
}
2:1.28.3
== Version
Version { branch: 0, major: 0, minor: 0, patch: 0 }
Version {
    branch: 0,
    major: 0,
    minor: 0,
    patch: 0,
}
0.0.0
== Option<Version>
Some(Version { branch: 0, major: 1, minor: 27, patch: 0 })
Some(
    Version {
        branch: 0,
        major: 1,
        minor: 27,
        patch: 0,
    },
)
== Option<Version>
None
None
== VfError
Mailbox(Timeout { last: 0x1 })
Mailbox(
    Timeout {
        last: 0x1,
    },
)
GuC mailbox exchange failed
source: no reply from the GuC (scratch 0 = 0x00000001)
== VfError
Mailbox(VfMigrated { hint: 0x107 })
Mailbox(
    VfMigrated {
        hint: 0x107,
    },
)
GuC mailbox exchange failed
source: request rejected: VF migrated (hint 0x107)
== VfError
BadReply { action: 0x5503, error: MustBeZero { dword: 1, bits: 0x100 } }
BadReply {
    action: 0x5503,
    error: MustBeZero {
        dword: 1,
        bits: 0x100,
    },
}
malformed reply to action 0x5503
source: must-be-zero bits 0x00000100 set in dword 1
== VfError
VersionNewerMajor { wanted: Version { branch: 0, major: 1, minor: 27, patch: 0 }, found: Version { branch: 0, major: 2, minor: 0, patch: 0 } }
VersionNewerMajor {
    wanted: Version {
        branch: 0,
        major: 1,
        minor: 27,
        patch: 0,
    },
    found: Version {
        branch: 0,
        major: 2,
        minor: 0,
        patch: 0,
    },
}
GuC answered VF ABI 2.0.0 to a request for 1.27.0
== VfError
VersionMajorMismatch { wanted: Version { branch: 0, major: 1, minor: 27, patch: 0 }, found: Version { branch: 2, major: 1, minor: 28, patch: 3 } }
VersionMajorMismatch {
    wanted: Version {
        branch: 0,
        major: 1,
        minor: 27,
        patch: 0,
    },
    found: Version {
        branch: 2,
        major: 1,
        minor: 28,
        patch: 3,
    },
}
unsupported VF ABI 2:1.28.3 (wanted major 1)
== VfError
VersionTooOld { minimum: Version { branch: 0, major: 1, minor: 2, patch: 0 }, found: Version { branch: 0, major: 1, minor: 1, patch: 0 } }
VersionTooOld {
    minimum: Version {
        branch: 0,
        major: 1,
        minor: 2,
        patch: 0,
    },
    found: Version {
        branch: 0,
        major: 1,
        minor: 1,
        patch: 0,
    },
}
VF ABI 1.1.0 is older than the minimum 1.2.0
== VfError
VersionRefused { wanted: Version { branch: 0, major: 1, minor: 27, patch: 0 }, guc: Some(Version { branch: 0, major: 1, minor: 26, patch: 0 }), error: Remote { error: UnsupportedVersion, hint: 0x0 } }
VersionRefused {
    wanted: Version {
        branch: 0,
        major: 1,
        minor: 27,
        patch: 0,
    },
    guc: Some(
        Version {
            branch: 0,
            major: 1,
            minor: 26,
            patch: 0,
        },
    ),
    error: Remote {
        error: UnsupportedVersion,
        hint: 0x0,
    },
}
GuC refused VF ABI 1.27.0 (it speaks 1.26.0)
source: GuC answered FAILURE (hint 0x0)
source: UNSUPPORTED_VERSION (0xb)
== VfError
VersionRefused { wanted: Version { branch: 0, major: 1, minor: 27, patch: 0 }, guc: None, error: Timeout { last: 0xf0000000 } }
VersionRefused {
    wanted: Version {
        branch: 0,
        major: 1,
        minor: 27,
        patch: 0,
    },
    guc: None,
    error: Timeout {
        last: 0xf0000000,
    },
}
VF ABI 1.27.0 handshake failed
source: no reply from the GuC (scratch 0 = 0xf0000000)
== VfError
VersionRefused { wanted: Version { branch: 2, major: 1, minor: 28, patch: 3 }, guc: Some(Version { branch: 2, major: 1, minor: 28, patch: 3 }), error: Protocol { header: 0x12345678, error: UndefinedType(4) } }
VersionRefused {
    wanted: Version {
        branch: 2,
        major: 1,
        minor: 28,
        patch: 3,
    },
    guc: Some(
        Version {
            branch: 2,
            major: 1,
            minor: 28,
            patch: 3,
        },
    ),
    error: Protocol {
        header: 0x12345678,
        error: UndefinedType(
            4,
        ),
    },
}
VF ABI 2:1.28.3 handshake failed (it speaks 2:1.28.3)
source: unexpected GuC reply 0x12345678
source: undefined HXG message type 4
== VfError
VersionChanged { previous: Version { branch: 0, major: 1, minor: 27, patch: 0 }, found: Version { branch: 0, major: 1, minor: 28, patch: 0 } }
VersionChanged {
    previous: Version {
        branch: 0,
        major: 1,
        minor: 27,
        patch: 0,
    },
    found: Version {
        branch: 0,
        major: 1,
        minor: 28,
        patch: 0,
    },
}
VF ABI changed from 1.27.0 to 1.28.0
== VfError
NotBootstrapped
NotBootstrapped
GT not bootstrapped
== VfError
KlvOverflow { key: GgttStart, len: 3 }
KlvOverflow {
    key: GgttStart,
    len: 3,
}
VF_CFG_GGTT_START (0x0001): reply length 3 larger than expected
== VfError
KlvNoData { key: Unknown(119), len: 0 }
KlvNoData {
    key: Unknown(
        119,
    ),
    len: 0,
}
KLV key 0x0077: reply length 0 smaller than expected
== VfError
ZeroValue { key: GgttSize }
ZeroValue {
    key: GgttSize,
}
VF_CFG_GGTT_SIZE (0x0002): zero value
== VfError
InvalidValue { key: GroupSchedulingAvailable, value: 0x2 }
InvalidValue {
    key: GroupSchedulingAvailable,
    value: 0x2,
}
GLOBAL_CFG_GROUP_SCHEDULING_AVAILABLE (0x3001): invalid value 0x2
== VfError
GgttRange { start: 0x1000, size: 0xfffff000, wopcm: 0x600000 }
GgttRange {
    start: 0x1000,
    size: 0xfffff000,
    wopcm: 0x600000,
}
GGTT 0x1000+0xfffff000 outside the GuC's range (0x600000..0xfee00000)
== VfError
SelfCfg { key: MemirqSourceAddr, error: Failure { hint: 0x1, error: InvalidKlvKey } }
SelfCfg {
    key: MemirqSourceAddr,
    error: Failure {
        hint: 0x1,
        error: InvalidKlvKey,
    },
}
self-config of MEMIRQ_SOURCE_ADDR (0x0901) failed
source: GuC answered FAILURE (hint 0x1)
source: INVALID_KLV_KEY (0x105)
== VfError
SelfCfg { key: G2hCtbSize, error: KeyNotRecognised }
SelfCfg {
    key: G2hCtbSize,
    error: KeyNotRecognised,
}
self-config of G2H_CTB_SIZE (0x0907) failed
source: GuC did not recognise the self-config key
== VfError
ControlCtb(Protocol(0x3))
ControlCtb(
    Protocol(
        0x3,
    ),
)
CTB control failed
source: protocol error: unexpected reply data 0x3
== VfError
ControlCtb(Wire(WrongOrigin))
ControlCtb(
    Wire(
        WrongOrigin,
    ),
)
CTB control failed
source: malformed message
source: message has the wrong origin
== VfError
Reassigned { key: GgttSize, old: 0x10000000, new: 0x20000000 }
Reassigned {
    key: GgttSize,
    old: 0x10000000,
    new: 0x20000000,
}
unexpected reassignment of VF_CFG_GGTT_SIZE (0x0002): 0x10000000 -> 0x20000000
== VfError
PolledAfterReady
PolledAfterReady
GT operation polled after it answered
== HookError
HookError(-22)
HookError(
    -22,
)
hook error -22
== Step
ResfixStart
ResfixStart
== Step
QueryConfig
QueryConfig
== Step
GgttFixup
GgttFixup
== Step
GtFixups
GtFixups
== Step
Rearm
Rearm
== Step
ResfixDone
ResfixDone
== HoldPoint
BeforeStart
BeforeStart
== HoldPoint
BeforeFixups
BeforeFixups
== HoldPoint
BeforeRearm
BeforeRearm
== HoldPoint
BeforeDone
BeforeDone
== GtId
GtId(1)
GtId(
    1,
)
== TileId
TileId(0)
TileId(
    0,
)
== GtSet
{}
{}
== GtSet
{3}
{
    3,
}
== GtSet
{0, 2}
{
    0,
    2,
}
== GgttMove
GgttMove { old: 0x10000, new: 0x200000 }
GgttMove {
    old: 0x10000,
    new: 0x200000,
}
0x10000 -> 0x200000
== TileGgtt
TileGgtt { size: 0x10000000, applied: 0x10000, reported: 0x200000, moves: 3 }
TileGgtt {
    size: 0x10000000,
    applied: 0x10000,
    reported: 0x200000,
    moves: 3,
}
== RecoveryError
Gt { gt: GtId(0), step: ResfixStart, error: Mailbox(RetryLimit { retries: 64 }) }
Gt {
    gt: GtId(
        0,
    ),
    step: ResfixStart,
    error: Mailbox(
        RetryLimit {
            retries: 64,
        },
    ),
}
GT0: RESFIX_START failed
source: GuC mailbox exchange failed
source: GuC asked to retry 64 times; giving up
== RecoveryError
GgttFixup { tile: TileId(0), gt: GtId(1), ggtt: GgttMove { old: 0x10000, new: 0x200000 }, error: HookError(-5) }
GgttFixup {
    tile: TileId(
        0,
    ),
    gt: GtId(
        1,
    ),
    ggtt: GgttMove {
        old: 0x10000,
        new: 0x200000,
    },
    error: HookError(
        -5,
    ),
}
tile 0 (GT1): GGTT fixup 0x10000 -> 0x200000 failed
source: hook error -5
== RecoveryError
Hook { gt: GtId(1), step: Rearm, error: HookError(-12) }
Hook {
    gt: GtId(
        1,
    ),
    step: Rearm,
    error: HookError(
        -12,
    ),
}
GT1: rearm hook failed
source: hook error -12
== RecoveryError
RequeueLimit { gt: GtId(0), requeues: 9, step: ResfixDone }
RequeueLimit {
    gt: GtId(
        0,
    ),
    requeues: 9,
    step: ResfixDone,
}
GT0: VF_MIGRATED 9 times in a row without a new interrupt (last on RESFIX_DONE)
== BootstrapError
Gt { gt: GtId(1), error: VersionRefused { wanted: Version { branch: 0, major: 1, minor: 27, patch: 0 }, guc: Some(Version { branch: 0, major: 1, minor: 26, patch: 0 }), error: Remote { error: UnsupportedVersion, hint: 0x2 } } }
Gt {
    gt: GtId(
        1,
    ),
    error: VersionRefused {
        wanted: Version {
            branch: 0,
            major: 1,
            minor: 27,
            patch: 0,
        },
        guc: Some(
            Version {
                branch: 0,
                major: 1,
                minor: 26,
                patch: 0,
            },
        ),
        error: Remote {
            error: UnsupportedVersion,
            hint: 0x2,
        },
    },
}
GT1: bootstrap failed
source: GuC refused VF ABI 1.27.0 (it speaks 1.26.0)
source: GuC answered FAILURE (hint 0x2)
source: UNSUPPORTED_VERSION (0xb)
== BootstrapError
GgttMismatch { tile: TileId(0), primary: GtId(0), primary_ggtt: (0x10000, 0x10000000), media: GtId(1), media_ggtt: (0x20000, 0x8000000) }
GgttMismatch {
    tile: TileId(
        0,
    ),
    primary: GtId(
        0,
    ),
    primary_ggtt: (
        0x10000,
        0x10000000,
    ),
    media: GtId(
        1,
    ),
    media_ggtt: (
        0x20000,
        0x8000000,
    ),
}
tile 0: GT0 reports GGTT 0x10000+0x10000000 but GT1 reports 0x20000+0x8000000
== BootstrapError
Busy
Busy
the GTs are busy (a pass or with_gt holds them)
== BootstrapError
MemirqMismatch { gt: GtId(1) }
MemirqMismatch {
    gt: GtId(
        1,
    ),
}
GT1: the memirq pages do not give it the GuC unit of its kind
== GtAccessError
UnknownGt
UnknownGt
no such GT
== GtAccessError
UnknownTile
UnknownTile
no such tile
== GtAccessError
Busy
Busy
the GTs are busy (a recovery pass holds them)
== Unsupported
NoMarkers
NoMarkers
VF ABI below 1.27 (no RESFIX markers)
== Unsupported
NoMemirq
NoMemirq
no memory-based interrupts
== PassReport
PassReport { recovered: {}, requeued: {}, deferred: {}, postponed: {} }
PassReport {
    recovered: {},
    requeued: {},
    deferred: {},
    postponed: {},
}
== PassReport
PassReport { recovered: {0}, requeued: {1, 2}, deferred: {}, postponed: {3} }
PassReport {
    recovered: {
        0,
    },
    requeued: {
        1,
        2,
    },
    deferred: {},
    postponed: {
        3,
    },
}
== PassOutcome
NotStarted
NotStarted
== PassOutcome
Empty
Empty
== PassOutcome
Recovered({0, 1})
Recovered(
    {
        0,
        1,
    },
)
== PassOutcome
Incomplete(PassReport { recovered: {0}, requeued: {1, 2}, deferred: {}, postponed: {3} })
Incomplete(
    PassReport {
        recovered: {
            0,
        },
        requeued: {
            1,
            2,
        },
        deferred: {},
        postponed: {
            3,
        },
    },
)
== PassOutcome
Unsupported { gt: GtId(1), version: Some(Version { branch: 0, major: 1, minor: 26, patch: 0 }), reason: NoMarkers }
Unsupported {
    gt: GtId(
        1,
    ),
    version: Some(
        Version {
            branch: 0,
            major: 1,
            minor: 26,
            patch: 0,
        },
    ),
    reason: NoMarkers,
}
== PassOutcome
Unsupported { gt: GtId(0), version: None, reason: NoMemirq }
Unsupported {
    gt: GtId(
        0,
    ),
    version: None,
    reason: NoMemirq,
}
== PassOutcome
Failed(Gt { gt: GtId(0), step: ResfixStart, error: Mailbox(RetryLimit { retries: 64 }) })
Failed(
    Gt {
        gt: GtId(
            0,
        ),
        step: ResfixStart,
        error: Mailbox(
            RetryLimit {
                retries: 64,
            },
        ),
    },
)
== PassOutcome
Failed(Gt { gt: GtId(1), step: QueryConfig, error: VersionRefused { wanted: Version { branch: 2, major: 1, minor: 28, patch: 3 }, guc: Some(Version { branch: 2, major: 1, minor: 28, patch: 3 }), error: Protocol { header: 0x12345678, error: UndefinedType(4) } } })
Failed(
    Gt {
        gt: GtId(
            1,
        ),
        step: QueryConfig,
        error: VersionRefused {
            wanted: Version {
                branch: 2,
                major: 1,
                minor: 28,
                patch: 3,
            },
            guc: Some(
                Version {
                    branch: 2,
                    major: 1,
                    minor: 28,
                    patch: 3,
                },
            ),
            error: Protocol {
                header: 0x12345678,
                error: UndefinedType(
                    4,
                ),
            },
        },
    },
)
== PassOutcome
Failed(GgttFixup { tile: TileId(0), gt: GtId(1), ggtt: GgttMove { old: 0x10000, new: 0x200000 }, error: HookError(-5) })
Failed(
    GgttFixup {
        tile: TileId(
            0,
        ),
        gt: GtId(
            1,
        ),
        ggtt: GgttMove {
            old: 0x10000,
            new: 0x200000,
        },
        error: HookError(
            -5,
        ),
    },
)
== PassOutcome
Failed(Hook { gt: GtId(1), step: Rearm, error: HookError(-12) })
Failed(
    Hook {
        gt: GtId(
            1,
        ),
        step: Rearm,
        error: HookError(
            -12,
        ),
    },
)
== PassOutcome
Failed(RequeueLimit { gt: GtId(0), requeues: 9, step: ResfixDone })
Failed(
    RequeueLimit {
        gt: GtId(
            0,
        ),
        requeues: 9,
        step: ResfixDone,
    },
)
== PassOutcome
Cancelled
Cancelled
== PassOutcome
Busy({})
Busy(
    {},
)
== PassOutcome::Failed(Gt)
Failed(Gt { gt: GtId(0), step: QueryConfig, error: Mailbox(Timeout { last: 0x1 }) })
Failed(
    Gt {
        gt: GtId(
            0,
        ),
        step: QueryConfig,
        error: Mailbox(
            Timeout {
                last: 0x1,
            },
        ),
    },
)
== PassOutcome::Failed(Gt)
Failed(Gt { gt: GtId(0), step: QueryConfig, error: Mailbox(VfMigrated { hint: 0x107 }) })
Failed(
    Gt {
        gt: GtId(
            0,
        ),
        step: QueryConfig,
        error: Mailbox(
            VfMigrated {
                hint: 0x107,
            },
        ),
    },
)
== PassOutcome::Failed(Gt)
Failed(Gt { gt: GtId(0), step: QueryConfig, error: BadReply { action: 0x5503, error: MustBeZero { dword: 1, bits: 0x100 } } })
Failed(
    Gt {
        gt: GtId(
            0,
        ),
        step: QueryConfig,
        error: BadReply {
            action: 0x5503,
            error: MustBeZero {
                dword: 1,
                bits: 0x100,
            },
        },
    },
)
== PassOutcome::Failed(Gt)
Failed(Gt { gt: GtId(0), step: QueryConfig, error: VersionNewerMajor { wanted: Version { branch: 0, major: 1, minor: 27, patch: 0 }, found: Version { branch: 0, major: 2, minor: 0, patch: 0 } } })
Failed(
    Gt {
        gt: GtId(
            0,
        ),
        step: QueryConfig,
        error: VersionNewerMajor {
            wanted: Version {
                branch: 0,
                major: 1,
                minor: 27,
                patch: 0,
            },
            found: Version {
                branch: 0,
                major: 2,
                minor: 0,
                patch: 0,
            },
        },
    },
)
== PassOutcome::Failed(Gt)
Failed(Gt { gt: GtId(0), step: QueryConfig, error: VersionMajorMismatch { wanted: Version { branch: 0, major: 1, minor: 27, patch: 0 }, found: Version { branch: 2, major: 1, minor: 28, patch: 3 } } })
Failed(
    Gt {
        gt: GtId(
            0,
        ),
        step: QueryConfig,
        error: VersionMajorMismatch {
            wanted: Version {
                branch: 0,
                major: 1,
                minor: 27,
                patch: 0,
            },
            found: Version {
                branch: 2,
                major: 1,
                minor: 28,
                patch: 3,
            },
        },
    },
)
== PassOutcome::Failed(Gt)
Failed(Gt { gt: GtId(0), step: QueryConfig, error: VersionTooOld { minimum: Version { branch: 0, major: 1, minor: 2, patch: 0 }, found: Version { branch: 0, major: 1, minor: 1, patch: 0 } } })
Failed(
    Gt {
        gt: GtId(
            0,
        ),
        step: QueryConfig,
        error: VersionTooOld {
            minimum: Version {
                branch: 0,
                major: 1,
                minor: 2,
                patch: 0,
            },
            found: Version {
                branch: 0,
                major: 1,
                minor: 1,
                patch: 0,
            },
        },
    },
)
== PassOutcome::Failed(Gt)
Failed(Gt { gt: GtId(0), step: QueryConfig, error: VersionRefused { wanted: Version { branch: 0, major: 1, minor: 27, patch: 0 }, guc: Some(Version { branch: 0, major: 1, minor: 26, patch: 0 }), error: Remote { error: UnsupportedVersion, hint: 0x0 } } })
Failed(
    Gt {
        gt: GtId(
            0,
        ),
        step: QueryConfig,
        error: VersionRefused {
            wanted: Version {
                branch: 0,
                major: 1,
                minor: 27,
                patch: 0,
            },
            guc: Some(
                Version {
                    branch: 0,
                    major: 1,
                    minor: 26,
                    patch: 0,
                },
            ),
            error: Remote {
                error: UnsupportedVersion,
                hint: 0x0,
            },
        },
    },
)
== PassOutcome::Failed(Gt)
Failed(Gt { gt: GtId(0), step: QueryConfig, error: VersionRefused { wanted: Version { branch: 0, major: 1, minor: 27, patch: 0 }, guc: None, error: Timeout { last: 0xf0000000 } } })
Failed(
    Gt {
        gt: GtId(
            0,
        ),
        step: QueryConfig,
        error: VersionRefused {
            wanted: Version {
                branch: 0,
                major: 1,
                minor: 27,
                patch: 0,
            },
            guc: None,
            error: Timeout {
                last: 0xf0000000,
            },
        },
    },
)
== PassOutcome::Failed(Gt)
Failed(Gt { gt: GtId(0), step: QueryConfig, error: VersionRefused { wanted: Version { branch: 2, major: 1, minor: 28, patch: 3 }, guc: Some(Version { branch: 2, major: 1, minor: 28, patch: 3 }), error: Protocol { header: 0x12345678, error: UndefinedType(4) } } })
Failed(
    Gt {
        gt: GtId(
            0,
        ),
        step: QueryConfig,
        error: VersionRefused {
            wanted: Version {
                branch: 2,
                major: 1,
                minor: 28,
                patch: 3,
            },
            guc: Some(
                Version {
                    branch: 2,
                    major: 1,
                    minor: 28,
                    patch: 3,
                },
            ),
            error: Protocol {
                header: 0x12345678,
                error: UndefinedType(
                    4,
                ),
            },
        },
    },
)
== PassOutcome::Failed(Gt)
Failed(Gt { gt: GtId(0), step: QueryConfig, error: VersionChanged { previous: Version { branch: 0, major: 1, minor: 27, patch: 0 }, found: Version { branch: 0, major: 1, minor: 28, patch: 0 } } })
Failed(
    Gt {
        gt: GtId(
            0,
        ),
        step: QueryConfig,
        error: VersionChanged {
            previous: Version {
                branch: 0,
                major: 1,
                minor: 27,
                patch: 0,
            },
            found: Version {
                branch: 0,
                major: 1,
                minor: 28,
                patch: 0,
            },
        },
    },
)
== PassOutcome::Failed(Gt)
Failed(Gt { gt: GtId(0), step: QueryConfig, error: NotBootstrapped })
Failed(
    Gt {
        gt: GtId(
            0,
        ),
        step: QueryConfig,
        error: NotBootstrapped,
    },
)
== PassOutcome::Failed(Gt)
Failed(Gt { gt: GtId(0), step: QueryConfig, error: KlvOverflow { key: GgttStart, len: 3 } })
Failed(
    Gt {
        gt: GtId(
            0,
        ),
        step: QueryConfig,
        error: KlvOverflow {
            key: GgttStart,
            len: 3,
        },
    },
)
== PassOutcome::Failed(Gt)
Failed(Gt { gt: GtId(0), step: QueryConfig, error: KlvNoData { key: Unknown(119), len: 0 } })
Failed(
    Gt {
        gt: GtId(
            0,
        ),
        step: QueryConfig,
        error: KlvNoData {
            key: Unknown(
                119,
            ),
            len: 0,
        },
    },
)
== PassOutcome::Failed(Gt)
Failed(Gt { gt: GtId(0), step: QueryConfig, error: ZeroValue { key: GgttSize } })
Failed(
    Gt {
        gt: GtId(
            0,
        ),
        step: QueryConfig,
        error: ZeroValue {
            key: GgttSize,
        },
    },
)
== PassOutcome::Failed(Gt)
Failed(Gt { gt: GtId(0), step: QueryConfig, error: InvalidValue { key: GroupSchedulingAvailable, value: 0x2 } })
Failed(
    Gt {
        gt: GtId(
            0,
        ),
        step: QueryConfig,
        error: InvalidValue {
            key: GroupSchedulingAvailable,
            value: 0x2,
        },
    },
)
== PassOutcome::Failed(Gt)
Failed(Gt { gt: GtId(0), step: QueryConfig, error: GgttRange { start: 0x1000, size: 0xfffff000, wopcm: 0x600000 } })
Failed(
    Gt {
        gt: GtId(
            0,
        ),
        step: QueryConfig,
        error: GgttRange {
            start: 0x1000,
            size: 0xfffff000,
            wopcm: 0x600000,
        },
    },
)
== PassOutcome::Failed(Gt)
Failed(Gt { gt: GtId(0), step: QueryConfig, error: SelfCfg { key: MemirqSourceAddr, error: Failure { hint: 0x1, error: InvalidKlvKey } } })
Failed(
    Gt {
        gt: GtId(
            0,
        ),
        step: QueryConfig,
        error: SelfCfg {
            key: MemirqSourceAddr,
            error: Failure {
                hint: 0x1,
                error: InvalidKlvKey,
            },
        },
    },
)
== PassOutcome::Failed(Gt)
Failed(Gt { gt: GtId(0), step: QueryConfig, error: SelfCfg { key: G2hCtbSize, error: KeyNotRecognised } })
Failed(
    Gt {
        gt: GtId(
            0,
        ),
        step: QueryConfig,
        error: SelfCfg {
            key: G2hCtbSize,
            error: KeyNotRecognised,
        },
    },
)
== PassOutcome::Failed(Gt)
Failed(Gt { gt: GtId(0), step: QueryConfig, error: ControlCtb(Protocol(0x3)) })
Failed(
    Gt {
        gt: GtId(
            0,
        ),
        step: QueryConfig,
        error: ControlCtb(
            Protocol(
                0x3,
            ),
        ),
    },
)
== PassOutcome::Failed(Gt)
Failed(Gt { gt: GtId(0), step: QueryConfig, error: ControlCtb(Wire(WrongOrigin)) })
Failed(
    Gt {
        gt: GtId(
            0,
        ),
        step: QueryConfig,
        error: ControlCtb(
            Wire(
                WrongOrigin,
            ),
        ),
    },
)
== PassOutcome::Failed(Gt)
Failed(Gt { gt: GtId(0), step: QueryConfig, error: Reassigned { key: GgttSize, old: 0x10000000, new: 0x20000000 } })
Failed(
    Gt {
        gt: GtId(
            0,
        ),
        step: QueryConfig,
        error: Reassigned {
            key: GgttSize,
            old: 0x10000000,
            new: 0x20000000,
        },
    },
)
== PassOutcome::Failed(Gt)
Failed(Gt { gt: GtId(0), step: QueryConfig, error: PolledAfterReady })
Failed(
    Gt {
        gt: GtId(
            0,
        ),
        step: QueryConfig,
        error: PolledAfterReady,
    },
)
"#;

/// The GGTT oracle's findings (the mock's, so only with `mock`): addresses in hex.
#[cfg(feature = "mock")]
#[test]
fn oracle_errors_format_as_pinned() {
    use xe_sriov_vf::mock::OracleError;
    let mut t = Transcript::default();
    for e in [
        OracleError::UnknownTile { tile: TileId(2) },
        OracleError::WrongOldBase {
            tile: TileId(0),
            actual: 0x20_0000,
            claimed: 0x1_0000,
        },
        OracleError::NoOpMove {
            tile: TileId(1),
            base: 0x4000_0000,
        },
        OracleError::Misplaced {
            tile: TileId(0),
            node: 2,
            at: 0x1_2000,
            expected: 0x20_2000,
        },
    ] {
        t.error("OracleError", &e);
    }
    assert_eq!(t.0, ORACLE_EXPECTED);
}

#[cfg(feature = "mock")]
const ORACLE_EXPECTED: &str = r#"== OracleError
UnknownTile { tile: TileId(2) }
UnknownTile {
    tile: TileId(
        2,
    ),
}
tile 2 not modelled
== OracleError
WrongOldBase { tile: TileId(0), actual: 0x200000, claimed: 0x10000 }
WrongOldBase {
    tile: TileId(
        0,
    ),
    actual: 0x200000,
    claimed: 0x10000,
}
tile 0: fixup from 0x10000 but the GGTT users are at 0x200000
== OracleError
NoOpMove { tile: TileId(1), base: 0x40000000 }
NoOpMove {
    tile: TileId(
        1,
    ),
    base: 0x40000000,
}
tile 1: fixup that moves nothing (0x40000000)
== OracleError
Misplaced { tile: TileId(0), node: 2, at: 0x12000, expected: 0x202000 }
Misplaced {
    tile: TileId(
        0,
    ),
    node: 2,
    at: 0x12000,
    expected: 0x202000,
}
tile 0: GGTT node 2 at 0x12000, expected 0x202000
"#;
