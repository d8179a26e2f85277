//! The error types' papercuts (issue 22, item 4): `Debug` prints addresses, register values and
//! hints in hex as `Display` does; a handshake that timed out is not reported as refused; the
//! ids index arrays without a cast.
#![cfg(all(feature = "mock", feature = "std"))]

use xe_sriov_vf::coordinator::GtId;
use xe_sriov_vf::gt::{GpuKind, GraphicsIp, Gt, GtInfo, VfError};
use xe_sriov_vf::mailbox::{MailboxConfig, MailboxError};
use xe_sriov_vf::mock::{Fault, MockGuc, Provisioning, Trigger};
use xe_sriov_vf::recovery::BootstrapError;
use xe_sriov_vf::tile::TileId;
use xe_sriov_vf::wire::action::code;
use xe_sriov_vf::wire::regs::GtKind;
use xe_sriov_vf::wire::{GucError, KlvKey, Version, WireError};

#[test]
fn vf_error_debug_prints_addresses_in_hex() {
    let bad = VfError::BadReply {
        action: code::MATCH_VERSION,
        error: WireError::WrongOrigin,
    };
    assert!(format!("{bad:?}").contains("action: 0x5500"), "{bad:?}");
    let invalid = VfError::InvalidValue {
        key: KlvKey::GgttStart,
        value: 0x1234_5000,
    };
    assert!(
        format!("{invalid:?}").contains("value: 0x12345000"),
        "{invalid:?}"
    );
    let range = VfError::GgttRange {
        start: 0x1000,
        size: 0x20_0000,
        wopcm: 0x40_0000,
    };
    let text = format!("{range:?}");
    assert!(
        text.contains("start: 0x1000")
            && text.contains("size: 0x200000")
            && text.contains("wopcm: 0x400000"),
        "{text}"
    );
    let moved = VfError::Reassigned {
        key: KlvKey::LmemSize,
        old: 0x1_0000_0000,
        new: 0x8000_0000,
    };
    let text = format!("{moved:?}");
    assert!(
        text.contains("old: 0x100000000") && text.contains("new: 0x80000000"),
        "{text}"
    );
    // The variants keep their names and the fields that are not addresses stay decimal.
    let overflow = VfError::KlvOverflow {
        key: KlvKey::NumContexts,
        len: 12,
    };
    assert_eq!(
        format!("{overflow:?}"),
        "KlvOverflow { key: NumContexts, len: 12 }"
    );
    assert_eq!(format!("{:?}", VfError::NotBootstrapped), "NotBootstrapped");
}

#[test]
fn mailbox_error_debug_prints_registers_and_hints_in_hex() {
    assert_eq!(
        format!("{:?}", MailboxError::Timeout { last: 0x8000_5500 }),
        "Timeout { last: 0x80005500 }"
    );
    assert_eq!(
        format!("{:?}", MailboxError::VfMigrated { hint: 0x1ab }),
        "VfMigrated { hint: 0x1ab }"
    );
    let remote = MailboxError::Remote {
        error: GucError::UnsupportedVersion,
        hint: 0x42,
    };
    assert!(format!("{remote:?}").contains("hint: 0x42"), "{remote:?}");
    let protocol = MailboxError::Protocol {
        header: 0xdead_beef,
        error: WireError::WrongOrigin,
    };
    assert!(
        format!("{protocol:?}").contains("header: 0xdeadbeef"),
        "{protocol:?}"
    );
    // Not addresses: decimal, as before.
    assert_eq!(
        format!("{:?}", MailboxError::RetryLimit { retries: 10 }),
        "RetryLimit { retries: 10 }"
    );
    // Nested in a VfError, the hex carries through.
    let nested = VfError::Mailbox(MailboxError::Timeout { last: 0x10 });
    assert_eq!(format!("{nested:?}"), "Mailbox(Timeout { last: 0x10 })");
}

#[test]
fn bootstrap_error_debug_prints_ggtt_ranges_in_hex() {
    let e = BootstrapError::GgttMismatch {
        tile: TileId(0),
        primary: GtId(0),
        primary_ggtt: (0x1000, 0x20_0000),
        media: GtId(1),
        media_ggtt: (0x2000, 0x20_0000),
    };
    let text = format!("{e:?}");
    assert!(
        text.contains("primary_ggtt: (0x1000, 0x200000)")
            && text.contains("media_ggtt: (0x2000, 0x200000)"),
        "{text}"
    );
}

/// A GT of the mock that does not answer MATCH_VERSION at all.
fn silent_handshake() -> VfError {
    let guc = MockGuc::new(
        GtKind::Primary,
        Version::new(1, 27),
        Provisioning::discrete(),
    );
    // Both the MATCH_VERSION asked for and the follow-up "any version" one time out.
    for _ in 0..2 {
        guc.inject(Trigger::Action(code::MATCH_VERSION), Fault::NoReply)
            .unwrap();
    }
    let info = GtInfo::of(GtKind::Primary, GpuKind::Discrete, GraphicsIp::new(20, 1));
    let mut gt = Gt::new(&guc, info, MailboxConfig::default());
    gt.bootstrap().unwrap_err()
}

#[test]
fn a_handshake_timeout_is_not_reported_as_refused() {
    let e = silent_handshake();
    assert!(
        matches!(
            e,
            VfError::VersionRefused {
                error: MailboxError::Timeout { .. },
                ..
            }
        ),
        "{e:?}"
    );
    let text = e.to_string();
    assert!(!text.contains("refused"), "{text}");
    assert!(text.contains("handshake failed"), "{text}");
    // The cause comes through source().
    let cause = core::error::Error::source(&e).expect("the mailbox error");
    assert!(cause.to_string().contains("no reply"), "{cause}");
}

#[test]
fn a_failure_reply_is_still_reported_as_refused() {
    let e = VfError::VersionRefused {
        wanted: Version::new(1, 2),
        guc: Some(Version::new(2, 0)),
        error: MailboxError::Remote {
            error: GucError::UnsupportedVersion,
            hint: 0,
        },
    };
    assert_eq!(e.to_string(), "GuC refused VF ABI 1.2.0 (it speaks 2.0.0)");
}

#[test]
fn ids_index_arrays_in_const_context() {
    const GT: usize = GtId(3).index();
    const TILE: usize = TileId(1).index();
    let per_gt = [10, 11, 12, 13];
    let per_tile = ["t0", "t1"];
    assert_eq!(per_gt[GT], 13);
    assert_eq!(per_tile[TILE], "t1");
    assert_eq!(GtId(0).index(), 0);
    assert_eq!(TileId(12).index(), 12);
}

#[test]
fn wire_and_self_cfg_errors_debug_in_hex_too() {
    use xe_sriov_vf::wire::self_cfg::{SelfCfgError, SelfCfgKey};
    let bits = WireError::MustBeZero {
        dword: 1,
        bits: 0x00ff_0000,
    };
    assert_eq!(
        format!("{bits:?}"),
        "MustBeZero { dword: 1, bits: 0xff0000 }"
    );
    assert_eq!(
        format!("{:?}", WireError::UnknownAction(0x5509)),
        "UnknownAction(0x5509)"
    );
    assert_eq!(
        format!("{:?}", WireError::BadMarker(0x1000)),
        "BadMarker(0x1000)"
    );
    // Lengths stay decimal.
    assert_eq!(
        format!(
            "{:?}",
            WireError::BadLength {
                min: 1,
                max: 4,
                actual: 5
            }
        ),
        "BadLength { min: 1, max: 4, actual: 5 }"
    );
    // Nested: a malformed reply names its action and the offending bits in hex.
    let nested = VfError::BadReply {
        action: code::RESFIX_START,
        error: bits,
    };
    assert!(
        format!("{nested:?}").contains("bits: 0xff0000"),
        "{nested:?}"
    );
    let wide = SelfCfgError::ValueTooWide {
        key: SelfCfgKey::MemirqSourceAddr,
        value: 0x1_0000_0000,
    };
    assert!(
        format!("{wide:?}").contains("value: 0x100000000"),
        "{wide:?}"
    );
    assert_eq!(
        format!(
            "{:?}",
            SelfCfgError::Failure {
                hint: 0x7,
                error: GucError::UnsupportedVersion
            }
        ),
        format!(
            "Failure {{ hint: 0x7, error: {:?} }}",
            GucError::UnsupportedVersion
        )
    );
    assert_eq!(
        format!("{:?}", SelfCfgError::Protocol(0x20)),
        "Protocol(0x20)"
    );
}
