//! Worked encodings from the ABI sheet and every decoder rule of the self-config messages.

use super::*;

#[test]
fn abi_sheet_self_cfg_encoding() {
    let msg = encode_self_cfg(SelfCfgKey::MemirqSourceAddr, 0x1234_5419).unwrap();
    assert_eq!(
        msg.as_slice(),
        &[0x0000_0508, 0x0901_0002, 0x1234_5419, 0x0000_0000]
    );
    let msg = encode_self_cfg(SelfCfgKey::G2hCtbDescriptorAddr, 0x0000_0001_8000_0000).unwrap();
    assert_eq!(
        msg.as_slice(),
        &[0x0000_0508, 0x0906_0002, 0x8000_0000, 0x0000_0001]
    );
    let msg = encode_self_cfg(SelfCfgKey::H2gCtbSize, 0x1000).unwrap();
    assert_eq!(msg.as_slice(), &[0x0000_0508, 0x0904_0001, 0x1000, 0]);
    // The header is what the hxg layer encodes for a host REQUEST 0x0508 with DATA0 0.
    assert_eq!(Header::request(code::SELF_CFG, 0).encode(), Ok(0x0000_0508));
}

#[test]
fn keys() {
    for (i, k) in SelfCfgKey::ALL.iter().enumerate() {
        assert_eq!(k.raw(), 0x0900 + i as u16);
        assert_eq!(SelfCfgKey::from_raw(k.raw()), Some(*k));
    }
    assert_eq!(SelfCfgKey::from_raw(0x0908), None);
    assert_eq!(SelfCfgKey::from_raw(0x08FF), None);
    let lens: [u16; 8] = SelfCfgKey::ALL.map(SelfCfgKey::len);
    assert_eq!(lens, [2, 2, 2, 2, 1, 2, 2, 1]);
}

#[test]
fn narrow_keys_refuse_wide_values() {
    assert_eq!(
        SelfCfgRequest::new(SelfCfgKey::G2hCtbSize, 1 << 32),
        Err(SelfCfgError::ValueTooWide {
            key: SelfCfgKey::G2hCtbSize,
            value: 1 << 32
        })
    );
    assert!(SelfCfgRequest::new(SelfCfgKey::G2hCtbSize, u64::from(u32::MAX)).is_ok());
    assert!(SelfCfgRequest::new(SelfCfgKey::G2hCtbAddr, u64::MAX).is_ok());
}

#[test]
fn memirq_registration() {
    let [source, status] =
        SelfCfgRequest::memirq_registration(0x1234_5000, GucUnit::Primary).unwrap();
    assert_eq!(
        source.encode().as_slice(),
        &[0x0000_0508, 0x0901_0002, 0x1234_5419, 0]
    );
    assert_eq!(
        status.encode().as_slice(),
        &[0x0000_0508, 0x0900_0002, 0x1234_5190, 0]
    );
    let [source, status] =
        SelfCfgRequest::memirq_registration(0x1_0000_0000, GucUnit::Media).unwrap();
    assert_eq!(source.value(), 0x1_0000_0418);
    assert_eq!(status.value(), 0x1_0000_0180);
    assert_eq!(
        SelfCfgRequest::memirq_registration(u64::MAX, GucUnit::Media),
        None
    );
}

#[test]
fn strict_self_cfg_decoding() {
    let good = [0x0000_0508, 0x0901_0002, 0x1234_5419, 0];
    assert_eq!(decode_self_cfg(&good).map(|r| r.value()), Ok(0x1234_5419));
    assert_eq!(
        decode_self_cfg(&good[..3]),
        Err(SelfCfgError::Wire(WireError::BadLength {
            min: 4,
            max: 4,
            actual: 3
        }))
    );
    assert_eq!(
        decode_self_cfg(&[0x0001_0508, 0x0901_0002, 0, 0]),
        Err(SelfCfgError::Wire(WireError::MustBeZero {
            dword: 0,
            bits: 0x0001_0000
        }))
    );
    assert_eq!(
        decode_self_cfg(&[0x0000_0508, 0x0908_0002, 0, 0]),
        Err(SelfCfgError::UnknownKey(0x0908))
    );
    assert_eq!(
        decode_self_cfg(&[0x0000_0508, 0x0901_0001, 0, 0]),
        Err(SelfCfgError::LenMismatch {
            key: SelfCfgKey::MemirqSourceAddr,
            len: 1
        })
    );
    assert_eq!(
        decode_self_cfg(&[0x0000_0508, 0x0904_0002, 0, 0]),
        Err(SelfCfgError::LenMismatch {
            key: SelfCfgKey::H2gCtbSize,
            len: 2
        })
    );
    assert_eq!(
        decode_self_cfg(&[0x0000_0508, 0x0904_0001, 0x1000, 1]),
        Err(SelfCfgError::Wire(WireError::MustBeZero {
            dword: 3,
            bits: 1
        }))
    );
    assert_eq!(
        decode_self_cfg(&[0x8000_0508, 0x0901_0002, 0, 0]),
        Err(SelfCfgError::Wire(WireError::WrongOrigin))
    );
    assert_eq!(
        decode_self_cfg(&[0x0000_4509, 1]),
        Err(SelfCfgError::Wire(WireError::UnknownAction(0x4509)))
    );
    assert_eq!(
        decode_self_cfg(&[0x1000_0508, 0x0901_0002, 0, 0]),
        Err(SelfCfgError::Wire(WireError::UnexpectedType(
            MsgType::Event
        )))
    );
    assert!(decode_self_cfg(&[]).is_err());
    assert!(decode_self_cfg(&[0x4000_0508, 0, 0, 0]).is_err());
}

#[test]
fn control_ctb() {
    assert_eq!(
        encode_control_ctb(CtbControl::Enable).as_slice(),
        &[0x0000_4509, 1]
    );
    assert_eq!(
        encode_control_ctb(CtbControl::Disable).as_slice(),
        &[0x0000_4509, 0]
    );
    for c in [CtbControl::Enable, CtbControl::Disable] {
        assert_eq!(decode_control_ctb(encode_control_ctb(c).as_slice()), Ok(c));
        assert_eq!(CtbControl::from_raw(c.raw()), Some(c));
    }
    assert_eq!(
        decode_control_ctb(&[0x0000_4509, 2]),
        Err(SelfCfgError::BadControl(2))
    );
    assert_eq!(
        decode_control_ctb(&[0x0000_4509]),
        Err(SelfCfgError::Wire(WireError::BadLength {
            min: 2,
            max: 2,
            actual: 1
        }))
    );
    assert_eq!(
        decode_control_ctb(&[0x0002_4509, 1]),
        Err(SelfCfgError::Wire(WireError::MustBeZero {
            dword: 0,
            bits: 0x0002_0000
        }))
    );
    assert_eq!(
        decode_control_ctb(&[0x0000_0508, 1]),
        Err(SelfCfgError::Wire(WireError::UnknownAction(0x0508)))
    );
}

#[test]
fn replies() {
    assert_eq!(decode_self_cfg_reply(&[0xF000_0001, 0, 0, 0]), Ok(()));
    assert_eq!(
        decode_self_cfg_reply(&[0xF000_0000]),
        Err(SelfCfgError::KeyNotRecognised)
    );
    assert_eq!(
        decode_self_cfg_reply(&[0xF000_0002]),
        Err(SelfCfgError::Protocol(2))
    );
    assert_eq!(
        decode_self_cfg_reply(&[0xE000_0030]),
        Err(SelfCfgError::Failure {
            hint: 0,
            error: GucError::UnknownAction
        })
    );
    assert_eq!(
        decode_self_cfg_reply(&[0xB000_0000]),
        Err(SelfCfgError::Wire(WireError::UnexpectedType(
            MsgType::NoResponseBusy
        )))
    );
    assert!(decode_self_cfg_reply(&[]).is_err());
    assert!(decode_self_cfg_reply(&[0x7000_0001]).is_err());
    assert_eq!(decode_control_ctb_reply(&[0xF000_0000]), Ok(()));
    assert_eq!(
        decode_control_ctb_reply(&[0xF000_0001]),
        Err(SelfCfgError::Protocol(1))
    );
    for num in [0, 1, 2, 0x0FFF_FFFF] {
        let r = encode_self_cfg_reply(num).unwrap();
        assert_eq!(decode_self_cfg_reply(r.as_slice()), self_cfg_num(num));
    }
    assert!(encode_self_cfg_reply(1 << 28).is_err());
    assert_eq!(
        decode_control_ctb_reply(encode_control_ctb_reply().as_slice()),
        Ok(())
    );
}

#[test]
fn errors_format() {
    use core::fmt::Write;
    let errors = [
        SelfCfgError::KeyNotRecognised,
        SelfCfgError::Protocol(2),
        SelfCfgError::Failure {
            hint: 1,
            error: GucError::VfMigrated,
        },
        SelfCfgError::ValueTooWide {
            key: SelfCfgKey::H2gCtbSize,
            value: 1 << 40,
        },
        SelfCfgError::UnknownKey(7),
        SelfCfgError::LenMismatch {
            key: SelfCfgKey::H2gCtbAddr,
            len: 3,
        },
        SelfCfgError::BadControl(9),
        SelfCfgError::Wire(WireError::WrongOrigin),
    ];
    for e in errors {
        let mut s: heapless::String<128> = heapless::String::new();
        write!(s, "{e}").unwrap();
        assert!(!s.is_empty());
        let has_source = core::error::Error::source(&e).is_some();
        assert_eq!(
            has_source,
            matches!(e, SelfCfgError::Wire(_) | SelfCfgError::Failure { .. })
        );
    }
}
