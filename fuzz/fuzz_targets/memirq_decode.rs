//! The memirq and self-config decoders on arbitrary input: `memirq::decode_status`,
//! `status_vector` / `GucUnit::status_vector` / `source_byte` on the input as a page, the layout
//! helpers, `self_cfg::decode_self_cfg` / `decode_control_ctb` / `decode_self_cfg_reply` /
//! `decode_control_ctb_reply` on every prefix (0..=6 dwords) of the input read as little-endian
//! u32s, and `SelfCfgRequest::new` / `memirq_registration` on values taken from the input.
//!
//! Checks: no panic; each decoder accepts exactly what a one-line oracle says; a status vector
//! decodes bit b set exactly when byte b is non-zero, counts the bytes that are neither 0 nor
//! 0xFF, and re-encodes to 0 / 0xFF bytes that decode to the same bits; whatever a request
//! decoder accepts re-encodes to exactly its input; a value too wide for its key is refused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xe_sriov_vf::wire::memirq::{self, decode_status, encode_status, GucUnit, UNITS};
use xe_sriov_vf::wire::regs::GucIntr;
use xe_sriov_vf::wire::self_cfg::{
    decode_control_ctb, decode_control_ctb_reply, decode_self_cfg, decode_self_cfg_reply,
    encode_control_ctb, SelfCfgError, SelfCfgKey, SelfCfgRequest,
};

fuzz_target!(|data: &[u8]| {
    // ---- a status vector: the first 16 bytes, zero-padded.
    let mut vector = [0u8; 16];
    for (slot, &b) in vector.iter_mut().zip(data) {
        *slot = b;
    }
    let s = decode_status(&vector);
    let mut garbage = 0;
    for (b, &byte) in vector.iter().enumerate() {
        let bit = GucIntr::from_bits_retain(1 << b);
        assert_eq!(s.intr.contains(bit), byte != 0, "{vector:x?}");
        assert_eq!(
            s.garbage.contains(bit),
            byte != 0 && byte != 0xFF,
            "{vector:x?}"
        );
        garbage += u32::from(byte != 0 && byte != 0xFF);
    }
    assert_eq!(s.garbage_count(), garbage);
    assert_eq!(memirq::sw_int_0_pending(&vector), vector[0] != 0);
    assert_eq!(memirq::guc2host_pending(&vector), vector[15] != 0);
    let norm = encode_status(s.intr);
    assert!(norm.iter().all(|&b| b == 0 || b == 0xFF));
    let again = decode_status(&norm);
    assert_eq!(again.intr, s.intr);
    assert!(again.is_clean());
    if s.is_clean() {
        assert_eq!(norm, vector, "a clean vector re-encodes to itself");
    }

    // ---- the input as a (possibly short or long) page.
    for unit in [0u8, 23, 24, 25, 26, 63, 64, u8::MAX] {
        let fits = unit < UNITS && usize::from(unit) * 16 + 16 <= data.len();
        match memirq::status_vector(data, unit) {
            Some(v) => {
                assert!(fits);
                let start = usize::from(unit) * 16;
                assert_eq!(&v[..], &data[start..start + 16]);
            }
            None => assert!(!fits),
        }
    }
    for guc in [GucUnit::Primary, GucUnit::Media] {
        assert_eq!(
            guc.status_vector(data),
            memirq::status_vector(data, guc.unit())
        );
        assert_eq!(
            guc.source_byte(data),
            data.get(guc.source_offset()).copied()
        );
    }

    // ---- the layout helpers on a unit and a bit from the input.
    let unit = data.first().copied().unwrap_or(0);
    let bit = data.get(1).copied().unwrap_or(0);
    let in_range = unit < UNITS;
    assert_eq!(
        memirq::status_offset(unit),
        in_range.then(|| usize::from(unit) * 16)
    );
    assert_eq!(
        memirq::source_offset(unit),
        in_range.then(|| 0x400 + usize::from(unit))
    );
    assert_eq!(
        memirq::status_byte_offset(unit, bit),
        (in_range && bit < 16).then(|| usize::from(unit) * 16 + usize::from(bit))
    );

    // ---- SelfCfgRequest::new and memirq_registration on values from the input.
    let mut v = [0u8; 8];
    for (slot, &b) in v.iter_mut().zip(data.iter().skip(2)) {
        *slot = b;
    }
    let value = u64::from_le_bytes(v);
    let key = SelfCfgKey::ALL[usize::from(unit) % SelfCfgKey::ALL.len()];
    match SelfCfgRequest::new(key, value) {
        Ok(r) => {
            assert!(key.len() == 2 || value <= u64::from(u32::MAX));
            assert_eq!(decode_self_cfg(r.encode().as_slice()), Ok(r));
        }
        Err(e) => {
            assert_eq!(key.len(), 1);
            assert!(value > u64::from(u32::MAX));
            assert_eq!(e, SelfCfgError::ValueTooWide { key, value });
        }
    }
    for guc in [GucUnit::Primary, GucUnit::Media] {
        let u = u64::from(guc.unit());
        match SelfCfgRequest::memirq_registration(value, guc) {
            Some([source, status]) => {
                assert_eq!(source.value(), value + 0x400 + u);
                assert_eq!(status.value(), value + u * 16);
                assert_eq!(decode_self_cfg(source.encode().as_slice()), Ok(source));
                assert_eq!(decode_self_cfg(status.encode().as_slice()), Ok(status));
            }
            None => assert!(value.checked_add(0x400 + u).is_none()),
        }
    }

    // ---- the request and reply decoders on every prefix of the input's dwords.
    let mut dws = [0u32; 6];
    let mut n = 0;
    for (slot, c) in dws.iter_mut().zip(data.chunks_exact(4)) {
        *slot = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        n += 1;
    }
    for len in 0..=n {
        let msg = &dws[..len];

        let self_cfg_ok = msg.len() == 4 && msg[0] == 0x0000_0508 && {
            let (k, l) = (msg[1] >> 16, msg[1] & 0xFFFF);
            match k {
                0x0904 | 0x0907 => l == 1 && msg[3] == 0,
                0x0900..=0x0907 => l == 2,
                _ => false,
            }
        };
        match decode_self_cfg(msg) {
            Ok(r) => {
                assert!(self_cfg_ok, "{msg:x?}");
                assert_eq!(r.encode().as_slice(), msg);
                assert_eq!(u32::from(r.key().raw()), msg[1] >> 16);
            }
            Err(e) => {
                assert!(!self_cfg_ok, "{msg:x?}");
                let _ = format!("{e} {e:?}");
            }
        }

        let control_ok = msg.len() == 2 && msg[0] == 0x0000_4509 && msg[1] <= 1;
        match decode_control_ctb(msg) {
            Ok(c) => {
                assert!(control_ok, "{msg:x?}");
                assert_eq!(encode_control_ctb(c).as_slice(), msg);
            }
            Err(e) => {
                assert!(!control_ok, "{msg:x?}");
                let _ = format!("{e} {e:?}");
            }
        }

        let success = msg
            .first()
            .filter(|&&h| h >> 28 == 0xF)
            .map(|&h| h & 0x0FFF_FFFF);
        let sc = decode_self_cfg_reply(msg);
        assert_eq!(sc.is_ok(), success == Some(1), "{msg:x?}");
        match success {
            Some(0) => assert_eq!(sc, Err(SelfCfgError::KeyNotRecognised)),
            Some(num) if num > 1 => assert_eq!(sc, Err(SelfCfgError::Protocol(num))),
            _ => {}
        }
        let cc = decode_control_ctb_reply(msg);
        assert_eq!(cc.is_ok(), success == Some(0), "{msg:x?}");
        if msg.first().is_some_and(|&h| h >> 28 == 0xE) {
            assert!(matches!(sc, Err(SelfCfgError::Failure { .. })));
            assert!(matches!(cc, Err(SelfCfgError::Failure { .. })));
        }
    }
});
