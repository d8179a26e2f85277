//! Property tests of the memirq layout (`wire::memirq`) and of the self-config / CTB-control
//! messages (`wire::self_cfg`), in the style of `tests/wire_props.rs`: encode -> decode round
//! trips for every typed value, and "decoding is total": every decoder takes any input, never
//! panics, and accepts exactly what a small independent oracle says.
//!
//! The worked values of the ABI sheet (sections 8 and 9) are unit tests in `src/wire`
//! (`memirq::tests::abi_sheet_offsets`, `self_cfg::tests::abi_sheet_self_cfg_encoding`).
//!
//! Cases per property: 512 by default; `PROPTEST_CASES=N cargo test --test wire_memirq`
//! overrides.

use proptest::prelude::*;

use xe_sriov_vf::wire::memirq::{
    self, decode_status, encode_status, GucUnit, PAGE_SIZE, SOURCE_OFFSET, STATUS_BYTES_PER_UNIT,
    UNITS,
};
use xe_sriov_vf::wire::regs::{GtKind, GucIntr};
use xe_sriov_vf::wire::self_cfg::{
    code, decode_control_ctb, decode_control_ctb_reply, decode_self_cfg, decode_self_cfg_reply,
    encode_control_ctb, encode_control_ctb_reply, encode_self_cfg, encode_self_cfg_reply,
    self_cfg_num, CtbControl, SelfCfgError, SelfCfgKey, SelfCfgRequest,
};
use xe_sriov_vf::wire::WireError;

mod props_common;
use props_common::{config, MASK_28, SUCCESS_0};

// ---------------------------------------------------------------- strategies

fn key() -> impl Strategy<Value = SelfCfgKey> {
    proptest::sample::select(SelfCfgKey::ALL.to_vec())
}

/// A value that fits `key`: often small or at the edges of its width.
fn request() -> impl Strategy<Value = SelfCfgRequest> {
    (key(), any::<u64>(), 0u8..4).prop_map(|(key, raw, shape)| {
        let value = match shape {
            0 => raw,
            1 => raw & 0xFFFF_FFFF,
            2 => key.max_value(),
            _ => raw & 0xFFFF,
        };
        let value = if key.len() == 1 {
            value & 0xFFFF_FFFF
        } else {
            value
        };
        SelfCfgRequest::new(key, value).unwrap()
    })
}

fn control() -> impl Strategy<Value = CtbControl> {
    prop_oneof![Just(CtbControl::Enable), Just(CtbControl::Disable)]
}

fn guc_unit() -> impl Strategy<Value = GucUnit> {
    prop_oneof![Just(GucUnit::Primary), Just(GucUnit::Media)]
}

/// A status vector of 0 and 0xFF bytes only.
fn clean_vector() -> impl Strategy<Value = [u8; 16]> {
    any::<u16>().prop_map(|bits| {
        let mut v = [0u8; 16];
        for (b, byte) in v.iter_mut().enumerate() {
            if bits & (1 << b) != 0 {
                *byte = 0xFF;
            }
        }
        v
    })
}

/// A status vector biased towards 0 and 0xFF with arbitrary bytes mixed in.
fn vector() -> impl Strategy<Value = [u8; 16]> {
    let byte = prop_oneof![3 => Just(0u8), 3 => Just(0xFFu8), 2 => any::<u8>()];
    proptest::array::uniform16(byte)
}

/// A dword that is often a plausible header: host REQUESTs of the two actions (DATA0 small,
/// often 0), GuC replies, and arbitrary dwords.
fn header_dword() -> impl Strategy<Value = u32> {
    let actions = proptest::sample::select(vec![code::SELF_CFG, code::CONTROL_CTB, 0x5507, 0x1234]);
    prop_oneof![
        3 => any::<u32>(),
        3 => (actions.clone(), 0u32..3).prop_map(|(a, d)| (d << 16) | u32::from(a)),
        1 => (actions, 0u32..3, any::<bool>(), 0u32..8).prop_map(|(a, d, guc, ty)| {
            (u32::from(guc) << 31) | (ty << 28) | (d << 16) | u32::from(a)
        }),
        2 => (0u32..4).prop_map(|n| SUCCESS_0 | n),
        1 => any::<u32>().prop_map(|b| 0xE000_0000 | (b & MASK_28)),
    ]
}

/// A dword 1 of SELF_CFG: often a real key with a small KLV_LEN.
fn klv_dword() -> impl Strategy<Value = u32> {
    prop_oneof![
        3 => (0x08FFu32..0x0909, 0u32..4).prop_map(|(k, l)| (k << 16) | l),
        1 => any::<u32>(),
    ]
}

/// A message of 0..=6 dwords: a biased header and biased data dwords, or a valid encoding
/// (SELF_CFG or CONTROL_CTB) with dwords dropped or appended.
fn message() -> impl Strategy<Value = Vec<u32>> {
    let data = || prop_oneof![any::<u32>(), 0u32..3];
    prop_oneof![
        1 => Just(Vec::new()),
        4 => (header_dword(), klv_dword(), proptest::collection::vec(data(), 0..4)).prop_map(|(h, k, rest)| {
            let mut msg = vec![h, k];
            msg.extend(rest);
            msg
        }),
        1 => header_dword().prop_map(|h| vec![h]),
        2 => (request(), proptest::collection::vec(data(), 0..2), 0usize..5).prop_map(|(r, extra, keep)| {
            let mut msg = r.encode().as_slice().to_vec();
            msg.truncate(keep.max(1));
            msg.extend(extra);
            msg
        }),
        1 => (control(), proptest::collection::vec(data(), 0..2)).prop_map(|(c, extra)| {
            let mut msg = encode_control_ctb(c).as_slice().to_vec();
            msg.extend(extra);
            msg
        }),
    ]
}

// ---------------------------------------------------------------- oracles

/// Whether `msg` is a well-formed SELF_CFG request, from the ABI table alone.
fn self_cfg_ok(msg: &[u32]) -> bool {
    if msg.len() != 4 || msg[0] != u32::from(code::SELF_CFG) {
        return false;
    }
    let (k, len) = ((msg[1] >> 16) as u16, msg[1] & 0xFFFF);
    let want = match k {
        0x0904 | 0x0907 => 1,
        0x0900..=0x0907 => 2,
        _ => return false,
    };
    len == want && (want == 2 || msg[3] == 0)
}

/// Whether `msg` is a well-formed CONTROL_CTB request.
fn control_ctb_ok(msg: &[u32]) -> bool {
    msg.len() == 2 && msg[0] == u32::from(code::CONTROL_CTB) && msg[1] <= 1
}

// ---------------------------------------------------------------- round trips

proptest! {
    #![proptest_config(config())]

    /// Every request encodes to the 4 dwords of the ABI table and decodes back to itself.
    #[test]
    fn self_cfg_round_trip(req in request()) {
        let msg = req.encode();
        let dw = msg.as_slice();
        prop_assert_eq!(dw.len(), 4);
        prop_assert_eq!(dw[0], 0x0000_0508);
        prop_assert_eq!(dw[1], u32::from(req.key().raw()) << 16 | u32::from(req.key().len()));
        prop_assert_eq!(u64::from(dw[3]) << 32 | u64::from(dw[2]), req.value());
        prop_assert_eq!(decode_self_cfg(dw), Ok(req));
        prop_assert_eq!(encode_self_cfg(req.key(), req.value()), Ok(msg));
    }

    /// `SelfCfgRequest::new` refuses exactly the values wider than the key (never truncates).
    #[test]
    fn self_cfg_width_is_checked(key in key(), value in any::<u64>()) {
        let fits = key.len() == 2 || value <= u64::from(u32::MAX);
        match SelfCfgRequest::new(key, value) {
            Ok(r) => {
                prop_assert!(fits);
                prop_assert_eq!(r.value(), value);
                prop_assert_eq!(r.key(), key);
            }
            Err(e) => {
                prop_assert!(!fits);
                prop_assert_eq!(e, SelfCfgError::ValueTooWide { key, value });
                prop_assert_eq!(encode_self_cfg(key, value), Err(e));
            }
        }
    }

    /// `SelfCfgKey::from_raw` is the inverse of `raw` and knows exactly 0x0900..=0x0907.
    #[test]
    fn self_cfg_key_ids(raw in any::<u16>()) {
        match SelfCfgKey::from_raw(raw) {
            Some(k) => {
                prop_assert!((0x0900..=0x0907).contains(&raw));
                prop_assert_eq!(k.raw(), raw);
            }
            None => prop_assert!(!(0x0900..=0x0907).contains(&raw)),
        }
    }

    /// CONTROL_CTB round trip.
    #[test]
    fn control_ctb_round_trip(c in control()) {
        let msg = encode_control_ctb(c);
        prop_assert_eq!(msg.as_slice(), &[0x0000_4509, c.raw()][..]);
        prop_assert_eq!(decode_control_ctb(msg.as_slice()), Ok(c));
    }

    /// Replies a mock GuC encodes decode to the reply rule.
    #[test]
    fn reply_round_trip(num in 0u32..=MASK_28) {
        let r = encode_self_cfg_reply(num).unwrap();
        prop_assert_eq!(r.as_slice(), &[SUCCESS_0 | num][..]);
        prop_assert_eq!(decode_self_cfg_reply(r.as_slice()), self_cfg_num(num));
        prop_assert_eq!(decode_control_ctb_reply(encode_control_ctb_reply().as_slice()), Ok(()));
    }

    /// The memirq registration requests for any page carry the page plus the unit offsets and
    /// round-trip through the strict decoder.
    #[test]
    fn memirq_registration_round_trip(page in any::<u64>(), guc in guc_unit()) {
        let regs = SelfCfgRequest::memirq_registration(page, guc);
        let unit = u64::from(guc.unit());
        match (page.checked_add(0x400 + unit), page.checked_add(unit * 16)) {
            (Some(source), Some(status)) => {
                let [s, t] = regs.expect("addresses fit");
                prop_assert_eq!(s.key(), SelfCfgKey::MemirqSourceAddr);
                prop_assert_eq!(s.value(), source);
                prop_assert_eq!(t.key(), SelfCfgKey::MemirqStatusAddr);
                prop_assert_eq!(t.value(), status);
                prop_assert_eq!(decode_self_cfg(s.encode().as_slice()), Ok(s));
                prop_assert_eq!(decode_self_cfg(t.encode().as_slice()), Ok(t));
            }
            _ => prop_assert!(regs.is_none()),
        }
    }

    /// A vector of 0 / 0xFF bytes decodes with no garbage and encodes back to itself; any
    /// interrupt set encodes to such a vector and decodes back to itself.
    #[test]
    fn clean_vector_round_trip(v in clean_vector(), bits in any::<u16>()) {
        let s = decode_status(&v);
        prop_assert!(s.is_clean());
        prop_assert_eq!(s.garbage_count(), 0);
        prop_assert_eq!(encode_status(s.intr), v);
        let intr = GucIntr::from_bits_retain(bits);
        let enc = encode_status(intr);
        prop_assert!(enc.iter().all(|&b| b == 0 || b == 0xFF));
        let back = decode_status(&enc);
        prop_assert_eq!(back.intr, intr);
        prop_assert!(back.is_clean());
    }
}

// ---------------------------------------------------------------- totality

proptest! {
    #![proptest_config(config())]

    /// `decode_self_cfg` on any 0..=6 dwords: never panics, accepts exactly what the oracle
    /// accepts, and whatever it accepts re-encodes to exactly the input.
    #[test]
    fn self_cfg_decode_is_total_and_exact(msg in message()) {
        match decode_self_cfg(&msg) {
            Ok(req) => {
                prop_assert!(self_cfg_ok(&msg), "{:x?}", msg);
                let again = req.encode();
                prop_assert_eq!(again.as_slice(), &msg[..]);
            }
            Err(e) => {
                prop_assert!(!self_cfg_ok(&msg), "{:x?}", msg);
                if msg.is_empty() {
                    prop_assert_eq!(e, SelfCfgError::Wire(WireError::BadLength { min: 4, max: 4, actual: 0 }));
                }
                if msg.len() == 4 && msg[0] == 0x0508 && SelfCfgKey::from_raw((msg[1] >> 16) as u16).is_none() {
                    prop_assert_eq!(e, SelfCfgError::UnknownKey((msg[1] >> 16) as u16));
                }
            }
        }
    }

    /// `decode_control_ctb` on any 0..=6 dwords: accepts exactly `[0x4509, 0 | 1]`.
    #[test]
    fn control_ctb_decode_is_total_and_exact(msg in message()) {
        match decode_control_ctb(&msg) {
            Ok(c) => {
                prop_assert!(control_ctb_ok(&msg), "{:x?}", msg);
                let again = encode_control_ctb(c);
                prop_assert_eq!(again.as_slice(), &msg[..]);
            }
            Err(e) => {
                prop_assert!(!control_ctb_ok(&msg), "{:x?}", msg);
                if msg.len() == 2 && msg[0] == 0x4509 {
                    prop_assert_eq!(e, SelfCfgError::BadControl(msg[1]));
                }
            }
        }
    }

    /// Mutations of valid SELF_CFG requests (a bit flipped, a dword dropped or added) either
    /// still decode to something that re-encodes exactly, or are refused.
    #[test]
    fn mutated_self_cfg(req in request(), bit in 0u32..128, extra in any::<u32>(), how in 0u8..3) {
        let mut msg = req.encode().as_slice().to_vec();
        match how {
            0 => msg[(bit / 32) as usize] ^= 1 << (bit % 32),
            1 => { msg.pop(); }
            _ => msg.push(extra),
        }
        match decode_self_cfg(&msg) {
            Ok(back) => {
                let again = back.encode();
                prop_assert_eq!(again.as_slice(), &msg[..]);
            }
            Err(_) => prop_assert!(!self_cfg_ok(&msg)),
        }
    }

    /// The reply decoders: Ok exactly for SUCCESS with NUM 1 (SELF_CFG) or DATA0 0
    /// (CONTROL_CTB), whatever follows; a SUCCESS with another value gives the typed error.
    #[test]
    fn reply_decoders_are_total(msg in message()) {
        let success = msg.first().filter(|&&h| h >> 28 == 0xF).map(|&h| h & MASK_28);
        let sc = decode_self_cfg_reply(&msg);
        prop_assert_eq!(sc.is_ok(), success == Some(1));
        match success {
            Some(0) => prop_assert_eq!(sc, Err(SelfCfgError::KeyNotRecognised)),
            Some(n) if n > 1 => prop_assert_eq!(sc, Err(SelfCfgError::Protocol(n))),
            _ => {}
        }
        let cc = decode_control_ctb_reply(&msg);
        prop_assert_eq!(cc.is_ok(), success == Some(0));
        if let Some(n) = success.filter(|&n| n != 0) {
            prop_assert_eq!(cc, Err(SelfCfgError::Protocol(n)));
        }
        if msg.first().is_some_and(|&h| h >> 28 == 0xE) {
            let failure = matches!(sc, Err(SelfCfgError::Failure { .. }));
            prop_assert!(failure);
        }
        // Every error formats.
        for e in [sc, cc].into_iter().filter_map(Result::err) {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    /// `self_cfg_num` is the reply rule for every NUM.
    #[test]
    fn reply_rule(num in any::<u32>()) {
        match self_cfg_num(num) {
            Ok(()) => prop_assert_eq!(num, 1),
            Err(SelfCfgError::KeyNotRecognised) => prop_assert_eq!(num, 0),
            Err(SelfCfgError::Protocol(n)) => {
                prop_assert!(num > 1);
                prop_assert_eq!(n, num);
            }
            Err(e) => prop_assert!(false, "unexpected {:?}", e),
        }
    }

    /// `decode_status` on any 16 bytes: a bit is set exactly when its byte is non-zero, and is
    /// garbage exactly when its byte is neither 0 nor 0xFF.
    #[test]
    fn status_decode_counts_garbage(v in vector()) {
        let s = decode_status(&v);
        let mut garbage = 0u32;
        for (b, &byte) in v.iter().enumerate() {
            let bit = GucIntr::from_bits_retain(1 << b);
            prop_assert_eq!(s.intr.contains(bit), byte != 0);
            prop_assert_eq!(s.garbage.contains(bit), byte != 0 && byte != 0xFF);
            garbage += u32::from(byte != 0 && byte != 0xFF);
        }
        prop_assert_eq!(s.garbage_count(), garbage);
        prop_assert!(s.intr.contains(s.garbage));
        prop_assert_eq!(memirq::sw_int_0_pending(&v), v[0] != 0);
        prop_assert_eq!(memirq::guc2host_pending(&v), v[15] != 0);
        // Re-encoding normalises: the same bits, no garbage.
        let norm = encode_status(s.intr);
        prop_assert_eq!(decode_status(&norm).intr, s.intr);
        prop_assert!(decode_status(&norm).is_clean());
    }

    /// The layout helpers on any unit and bit: `None` exactly out of range, and otherwise the
    /// offsets of the layout table, all inside their region of the page.
    #[test]
    fn layout_helpers_are_total(unit in any::<u8>(), bit in any::<u8>()) {
        let in_range = unit < UNITS;
        prop_assert_eq!(memirq::status_offset(unit), in_range.then(|| usize::from(unit) * 16));
        prop_assert_eq!(memirq::source_offset(unit), in_range.then(|| 0x400 + usize::from(unit)));
        let byte = memirq::status_byte_offset(unit, bit);
        prop_assert_eq!(byte, (in_range && bit < 16).then(|| usize::from(unit) * 16 + usize::from(bit)));
        if let Some(off) = byte {
            prop_assert!(off < SOURCE_OFFSET);
        }
        if let Some(off) = memirq::source_offset(unit) {
            prop_assert!((SOURCE_OFFSET..memirq::ENABLE_OFFSET).contains(&off));
        }
    }

    /// `status_vector` on any page length and unit: `Some` exactly when the vector fits, and it
    /// is the right 16 bytes.
    #[test]
    fn status_vector_is_total(len in 0usize..=PAGE_SIZE + 16, unit in any::<u8>(), fill in any::<u8>()) {
        let mut page = vec![fill; len];
        for (i, b) in page.iter_mut().enumerate() {
            *b ^= i as u8;
        }
        let fits = unit < UNITS && usize::from(unit) * 16 + STATUS_BYTES_PER_UNIT <= len;
        match memirq::status_vector(&page, unit) {
            Some(v) => {
                prop_assert!(fits);
                let start = usize::from(unit) * 16;
                prop_assert_eq!(&v[..], &page[start..start + 16]);
            }
            None => prop_assert!(!fits),
        }
        if let Some(guc) = GucUnit::from_unit(unit) {
            prop_assert_eq!(guc.status_vector(&page), memirq::status_vector(&page, unit));
            prop_assert_eq!(guc.source_byte(&page), page.get(0x400 + usize::from(unit)).copied());
        }
    }
}

/// The two GuC units, from their GTs, checked exhaustively (not sampled).
#[test]
fn guc_units_of_gts() {
    for (gt, unit) in [(GtKind::Primary, 25u8), (GtKind::Media, 24u8)] {
        let g = GucUnit::for_gt(gt);
        assert_eq!(g.unit(), unit);
        assert_eq!(g.gt(), gt);
        assert_eq!(g.status_offset(), usize::from(unit) * 16);
        assert_eq!(g.source_offset(), 0x400 + usize::from(unit));
        assert_eq!(g.sw_int_0_offset(), usize::from(unit) * 16);
        assert_eq!(g.guc2host_offset(), usize::from(unit) * 16 + 15);
    }
    for unit in 0..=u8::MAX {
        assert_eq!(
            GucUnit::from_unit(unit).map(GucUnit::unit),
            (unit == 24 || unit == 25).then_some(unit)
        );
    }
}

/// Every 16-bit interrupt set round-trips through the byte vector (all 65536, not sampled).
#[test]
fn every_interrupt_set_round_trips() {
    for bits in 0..=u16::MAX {
        let intr = GucIntr::from_bits_retain(bits);
        let s = decode_status(&encode_status(intr));
        assert_eq!(s.intr, intr);
        assert!(s.is_clean());
    }
}
