//! Property tests of the wire layer (`src/wire`): encode -> decode round trips for every typed
//! value, and "decoding is total": every decoder accepts any bit pattern / any slice, never
//! panics, and answers exactly what the ABI says (checked against small independent oracles).
//!
//! The worked encodings of the ABI sheet (section 2) are already unit tests in `src/wire`
//! (`action::tests::abi_sheet_request_encodings`, `hxg::tests::abi_sheet_reply_encodings`), so
//! they are not repeated here.
//!
//! Cases per property: 512 by default; `PROPTEST_CASES=N cargo test --test wire_props` overrides.

use proptest::prelude::*;

use xe_sriov_vf::wire::action::{
    code, decode_empty_reply, success_data0, KlvReply, MmioMessage, RelayToPf, MMIO_MSG_MAX_DWORDS,
};
use xe_sriov_vf::wire::hxg::{Header, Message, MsgType, Origin, Reply};
use xe_sriov_vf::wire::klv::{encode_klv, KlvIter};
use xe_sriov_vf::wire::{GucError, KlvHeader, KlvKey, Marker, Request, Version, WireError};

mod props_common;
use props_common::{config, MASK_28, SUCCESS_0};

// ---------------------------------------------------------------- strategies

fn marker() -> impl Strategy<Value = Marker> {
    (1u32..=u32::from(Marker::MAX)).prop_map(|m| Marker::new(m).unwrap())
}

/// A request version: any branch/major/minor, patch 0.
fn request_version() -> impl Strategy<Value = Version> {
    (any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(branch, major, minor)| Version {
        branch,
        major,
        minor,
        patch: 0,
    })
}

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        Just(Request::VfReset),
        request_version().prop_map(|wanted| Request::MatchVersion { wanted }),
        any::<u16>().prop_map(|key| Request::QuerySingleKlv { key }),
        marker().prop_map(|marker| Request::ResfixStart { marker }),
        proptest::option::of(marker()).prop_map(|marker| Request::ResfixDone { marker }),
    ]
}

fn known_guc_errors() -> [GucError; 12] {
    [
        GucError::InvalidState,
        GucError::UnsupportedVersion,
        GucError::UnprovisionedVf,
        GucError::NotSupported,
        GucError::UnknownAction,
        GucError::NoPermission,
        GucError::InvalidKlvData,
        GucError::InvalidParams,
        GucError::MalformedKlv,
        GucError::InvalidKlvKey,
        GucError::VfMigrated,
        GucError::GenericFail,
    ]
}

/// A GuC error in canonical form: a named variant, or `Other` with a code no variant names.
fn guc_error() -> impl Strategy<Value = GucError> {
    prop_oneof![
        proptest::sample::select(known_guc_errors().to_vec()),
        any::<u16>().prop_map(GucError::from_raw),
    ]
}

/// A reply with every field in range.
fn reply() -> impl Strategy<Value = Reply> {
    prop_oneof![
        (0..=MASK_28).prop_map(|counter| Reply::Busy { counter }),
        (0..=MASK_28).prop_map(|reason| Reply::Retry { reason }),
        (0u16..=0xFFF, guc_error()).prop_map(|(hint, error)| Reply::Failure { hint, error }),
        (0..=MASK_28).prop_map(|data0| Reply::Success { data0 }),
    ]
}

/// A dword that is often a plausible message header: biased towards GuC replies, the VF action
/// codes and the values the decoders single out, with arbitrary dwords mixed in.
fn header_dword() -> impl Strategy<Value = u32> {
    let actions = proptest::sample::select(vec![
        code::MATCH_VERSION,
        code::VF_RESET,
        code::RESFIX_DONE,
        code::QUERY_SINGLE_KLV,
        code::RESFIX_START,
        code::RELAY_TO_PF,
        0x1234,
    ]);
    prop_oneof![
        3 => any::<u32>(),
        2 => Just(SUCCESS_0),
        1 => (0u32..4).prop_map(|n| SUCCESS_0 | n),
        1 => (0u32..3).prop_map(|n| SUCCESS_0 | (n << 16)),
        // Host REQUESTs of the VF actions (DATA0 small, often 0), then any origin and type.
        3 => (actions.clone(), 0u32..3).prop_map(|(a, d)| (d << 16) | u32::from(a)),
        1 => (actions, 0u32..3, any::<bool>(), 0u32..8).prop_map(|(a, d, guc, ty)| {
            (u32::from(guc) << 31) | (ty << 28) | (d << 16) | u32::from(a)
        }),
        1 => (any::<bool>(), 0u32..8, any::<u32>())
            .prop_map(|(guc, ty, body)| (u32::from(guc) << 31) | (ty << 28) | (body & MASK_28)),
    ]
}

/// A message of at most `max_len` dwords: a biased header dword followed by arbitrary
/// (sometimes small) dwords, or a valid request encoding with arbitrary dwords appended.
fn message(max_len: usize) -> impl Strategy<Value = Vec<u32>> {
    let data = || prop_oneof![any::<u32>(), 0u32..0x4_0000];
    let short = (max_len / 2).max(1);
    prop_oneof![
        1 => Just(Vec::new()),
        4 => (header_dword(), proptest::collection::vec(data(), 0..short)).prop_map(|(h, mut rest)| {
            rest.insert(0, h);
            rest
        }),
        2 => (header_dword(), proptest::collection::vec(data(), 0..max_len)).prop_map(move |(h, mut rest)| {
            rest.insert(0, h);
            rest.truncate(max_len);
            rest
        }),
        2 => (request(), proptest::collection::vec(data(), 0..2)).prop_map(move |(r, extra)| {
            let mut msg = r.encode().unwrap().as_slice().to_vec();
            msg.extend(extra);
            msg.truncate(max_len);
            msg
        }),
        1 => (any::<u32>(), proptest::collection::vec(data(), 0..max_len)).prop_map(move |(id, payload)| {
            let mut msg = RelayToPf { relay_id: id }.encode().to_vec();
            msg.extend(payload);
            msg.truncate(max_len);
            msg
        }),
    ]
}

/// A dword stream for `KlvIter`: headers with small LEN fields mixed with arbitrary dwords.
fn klv_stream() -> impl Strategy<Value = Vec<u32>> {
    let dw = prop_oneof![
        2 => (any::<u16>(), 0u32..4).prop_map(|(key, len)| (u32::from(key) << 16) | len),
        1 => any::<u32>(),
        1 => Just(0u32),
    ];
    proptest::collection::vec(dw, 0..32)
}

// ---------------------------------------------------------------- oracles

/// TYPE field of a dword.
fn ty(dw: u32) -> u32 {
    (dw >> 28) & 7
}

// ---------------------------------------------------------------- round trips

proptest! {
    #![proptest_config(config())]

    #[test]
    fn request_round_trip(req in request()) {
        let msg = req.encode().expect("a well-formed request encodes");
        prop_assert_eq!(msg.as_slice()[0] & 0xFFFF, u32::from(req.action()));
        prop_assert_eq!(Request::decode(msg.as_slice()), Ok(req));
    }

    #[test]
    fn match_version_with_patch_is_refused(v in request_version(), patch in 1u8..) {
        let req = Request::MatchVersion { wanted: Version { patch, ..v } };
        prop_assert_eq!(req.encode(), Err(WireError::MustBeZero { dword: 1, bits: u32::from(patch) }));
    }

    #[test]
    fn reply_round_trip(r in reply()) {
        let dw = r.encode().expect("in-range reply encodes");
        prop_assert_eq!(dw >> 31, 1, "replies carry ORIGIN = GUC");
        prop_assert_eq!(ty(dw), r.msg_type().raw());
        prop_assert_eq!(Reply::decode(dw), Ok(r));
    }

    #[test]
    fn out_of_range_reply_fields_are_refused(v in (MASK_28 + 1).., hint in 0x1000u16.., e in guc_error()) {
        let overflow28 = Err(WireError::FieldOverflow { bits: 28, value: v });
        prop_assert_eq!(Reply::Busy { counter: v }.encode(), overflow28);
        prop_assert_eq!(Reply::Retry { reason: v }.encode(), overflow28);
        prop_assert_eq!(Reply::Success { data0: v }.encode(), overflow28);
        prop_assert_eq!(
            Reply::Failure { hint, error: e }.encode(),
            Err(WireError::FieldOverflow { bits: 12, value: u32::from(hint) })
        );
    }

    #[test]
    fn klv_header_round_trip(key in any::<u16>(), len in any::<u16>(), dw in any::<u32>()) {
        let h = KlvHeader { key: KlvKey::from_raw(key), len };
        prop_assert_eq!(KlvHeader::decode(h.encode()), h);
        prop_assert_eq!(h.key.raw(), key);
        // And the other way: every dword is a header, and re-encodes to itself.
        prop_assert_eq!(KlvHeader::decode(dw).encode(), dw);
    }

    #[test]
    fn klv_reply_round_trip(len in any::<u16>(), value in any::<[u32; 3]>()) {
        let r = KlvReply { len, value };
        let msg = r.encode().expect("a u16 length always fits DATA0");
        prop_assert_eq!(msg.len(), 4);
        prop_assert_eq!(KlvReply::decode(msg.as_slice()), Ok(r));
        prop_assert_eq!(r.value_u64(), u64::from(value[0]) | (u64::from(value[1]) << 32));
    }

    #[test]
    fn version_dword_round_trip(b in any::<u8>(), ma in any::<u8>(), mi in any::<u8>(), p in any::<u8>(), dw in any::<u32>()) {
        let v = Version { branch: b, major: ma, minor: mi, patch: p };
        prop_assert_eq!(Version::from_dword(v.to_dword()), v);
        prop_assert_eq!(Version::from_dword(dw).to_dword(), dw);
    }

    #[test]
    fn guc_error_round_trip(e in guc_error(), raw in any::<u16>()) {
        // Canonical values survive raw -> typed; every raw value survives typed -> raw.
        prop_assert_eq!(GucError::from_raw(e.raw()), e);
        prop_assert_eq!(GucError::from_raw(raw).raw(), raw);
        // A known code never decodes as `Other`.
        if known_guc_errors().iter().any(|k| k.raw() == raw) {
            prop_assert!(!matches!(GucError::from_raw(raw), GucError::Other(_)));
        }
    }

    #[test]
    fn encode_klv_then_iterate(items in proptest::collection::vec(
        (any::<u16>(), proptest::collection::vec(any::<u32>(), 0..4)), 0..6)
    ) {
        let mut buf = [0u32; 32];
        let mut n = 0;
        for (key, value) in &items {
            n += encode_klv(KlvKey::from_raw(*key), value, &mut buf[n..]).unwrap();
        }
        let decoded: Vec<_> = KlvIter::new(&buf[..n]).collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(decoded.len(), items.len());
        for (klv, (key, value)) in decoded.iter().zip(&items) {
            prop_assert_eq!(klv.key.raw(), *key);
            prop_assert_eq!(klv.value, &value[..]);
        }
    }

    #[test]
    fn mmio_message_round_trip(dws in proptest::collection::vec(any::<u32>(), 0..8)) {
        match MmioMessage::from_slice(&dws) {
            Ok(m) => {
                prop_assert!((1..=MMIO_MSG_MAX_DWORDS).contains(&dws.len()));
                prop_assert_eq!(m.as_slice(), &dws[..]);
                prop_assert_eq!(m.len(), dws.len());
                prop_assert_eq!(m.header(), dws[0]);
            }
            Err(e) => {
                prop_assert!(dws.is_empty() || dws.len() > MMIO_MSG_MAX_DWORDS);
                prop_assert_eq!(e, WireError::BadLength { min: 1, max: 4, actual: dws.len() });
            }
        }
    }
}

// ---------------------------------------------------------------- totality

proptest! {
    #![proptest_config(config())]

    /// `Header::decode` is Err exactly for TYPE 4, and otherwise a bijection: re-encoding gives
    /// back the input dword.
    #[test]
    fn header_decode_is_total(dw in any::<u32>()) {
        match Header::decode(dw) {
            Err(e) => {
                prop_assert_eq!(ty(dw), 4);
                prop_assert_eq!(e, WireError::UndefinedType(4));
            }
            Ok(h) => {
                prop_assert_ne!(ty(dw), 4);
                prop_assert_eq!(h.message.msg_type().raw(), ty(dw));
                prop_assert_eq!(h.origin == Origin::Guc, dw >> 31 == 1);
                prop_assert_eq!(h.encode(), Ok(dw));
            }
        }
    }

    /// `Reply::decode` accepts exactly GuC-origin BUSY / RETRY / FAILURE / SUCCESS, and an
    /// accepted reply re-encodes to the input.
    #[test]
    fn reply_decode_is_total(dw in header_dword()) {
        let guc = dw >> 31 == 1;
        let t = ty(dw);
        match Reply::decode(dw) {
            Ok(r) => {
                prop_assert!(guc && matches!(t, 3 | 5 | 6 | 7));
                prop_assert_eq!(r.encode(), Ok(dw));
            }
            Err(WireError::UndefinedType(4)) => prop_assert_eq!(t, 4),
            Err(WireError::WrongOrigin) => prop_assert!(!guc && t != 4),
            Err(WireError::UnexpectedType(m)) => {
                prop_assert!(guc && matches!(t, 0..=2));
                prop_assert_eq!(m.raw(), t);
            }
            Err(other) => prop_assert!(false, "unexpected error {:?} for {:#010x}", other, dw),
        }
    }

    /// `Request::decode` on any 0..8 dwords: never panics, and whatever it accepts re-encodes to
    /// exactly the input (the decoder is strict: no must-be-zero bit, no extra dword, is lost).
    #[test]
    fn request_decode_is_total_and_exact(msg in message(8)) {
        if let Ok(req) = Request::decode(&msg) {
            let again = req.encode().expect("a decoded request re-encodes");
            prop_assert_eq!(again.as_slice(), &msg[..]);
        } else if msg.is_empty() {
            let empty_refused = matches!(Request::decode(&msg), Err(WireError::BadLength { actual: 0, .. }));
            prop_assert!(empty_refused);
        }
    }

    /// Mutations of valid requests (one bit flipped, a dword dropped or added) either still
    /// decode to something that re-encodes exactly, or are refused.
    #[test]
    fn mutated_requests(req in request(), bit in 0u32..64, extra in any::<u32>(), how in 0u8..3) {
        let mut msg = req.encode().unwrap().as_slice().to_vec();
        match how {
            0 => { let i = (bit / 32) as usize % msg.len(); msg[i] ^= 1 << (bit % 32); }
            1 => { msg.pop(); }
            _ => msg.push(extra),
        }
        if let Ok(back) = Request::decode(&msg) {
            let again = back.encode().unwrap();
            prop_assert_eq!(again.as_slice(), &msg[..]);
        }
    }

    /// `KlvIter` over any stream terminates, yields at most one item per dword, stops after its
    /// first error, and when it yields no error the items tile the stream exactly.
    #[test]
    fn klv_iter_is_total(stream in klv_stream()) {
        let mut it = KlvIter::new(&stream);
        let mut items = 0usize;
        let mut consumed = 0usize;
        let mut failed = false;
        // A bound strictly above any legal count: exceeding it means the iterator does not end.
        for item in it.by_ref() {
            items += 1;
            prop_assert!(items <= stream.len(), "more items than dwords: {:?}", stream);
            match item {
                Ok(klv) => {
                    let h = KlvHeader::decode(stream[consumed]);
                    prop_assert_eq!(klv.key, h.key);
                    prop_assert_eq!(klv.value.len(), usize::from(h.len));
                    prop_assert_eq!(klv.value, &stream[consumed + 1..consumed + 1 + klv.value.len()]);
                    consumed += 1 + klv.value.len();
                }
                Err(e) => {
                    let h = KlvHeader::decode(stream[consumed]);
                    prop_assert_eq!(
                        e,
                        WireError::KlvTruncated {
                            key: h.key.raw(),
                            len: h.len,
                            available: stream.len() - consumed - 1,
                        }
                    );
                    failed = true;
                    break;
                }
            }
        }
        prop_assert_eq!(it.next(), None, "an ended (or failed) iterator stays ended");
        prop_assert_eq!(it.next(), None);
        if !failed {
            prop_assert_eq!(consumed, stream.len());
        }
    }

    /// `success_data0` accepts exactly a GuC-origin SUCCESS header.
    #[test]
    fn success_data0_is_total(msg in message(8)) {
        match success_data0(&msg) {
            Ok(d) => {
                prop_assert_eq!(msg[0] >> 28, 0xF);
                prop_assert_eq!(d, msg[0] & MASK_28);
            }
            Err(_) => prop_assert!(msg.first().is_none_or(|&h| h >> 28 != 0xF)),
        }
    }

    /// `KlvReply::decode`: Ok exactly for a SUCCESS header with bits 27:16 clear; the value is the
    /// next three dwords, zero-padded.
    #[test]
    fn klv_reply_decode_is_total(msg in message(8)) {
        let ok = msg.first().is_some_and(|&h| h >> 28 == 0xF && h & 0x0FFF_0000 == 0);
        match KlvReply::decode(&msg) {
            Ok(r) => {
                prop_assert!(ok);
                prop_assert_eq!(u32::from(r.len), msg[0] & 0xFFFF);
                for i in 0..3 {
                    prop_assert_eq!(r.value[i], msg.get(i + 1).copied().unwrap_or(0));
                }
            }
            Err(e) => {
                prop_assert!(!ok);
                if msg.first().is_some_and(|&h| h >> 28 == 0xF) {
                    prop_assert_eq!(e, WireError::MustBeZero { dword: 0, bits: msg[0] & 0x0FFF_0000 });
                }
            }
        }
    }

    /// `Version::decode_match_reply`: Ok exactly for `[0xF0000000, version, ..]`.
    #[test]
    fn match_reply_decode_is_total(msg in message(8)) {
        let ok = msg.len() >= 2 && msg[0] == SUCCESS_0;
        match Version::decode_match_reply(&msg) {
            Ok(v) => {
                prop_assert!(ok);
                prop_assert_eq!(v, Version::from_dword(msg[1]));
            }
            Err(_) => prop_assert!(!ok),
        }
    }

    /// `decode_empty_reply`: Ok exactly when dword 0 is SUCCESS with DATA0 0, whatever follows.
    #[test]
    fn empty_reply_decode_is_total(msg in message(8)) {
        let ok = msg.first() == Some(&SUCCESS_0);
        prop_assert_eq!(decode_empty_reply(&msg).is_ok(), ok);
    }

    /// `RelayToPf::decode`: Ok exactly for a host REQUEST RELAY_TO_PF with DATA0 0 and at least
    /// the RELAY_ID dword; the payload is the rest, and the header re-encodes to the input.
    #[test]
    fn relay_to_pf_decode_is_total(msg in message(8)) {
        let ok = msg.len() >= 2 && msg[0] == u32::from(code::RELAY_TO_PF);
        match RelayToPf::decode(&msg) {
            Ok((r, payload)) => {
                prop_assert!(ok);
                prop_assert_eq!(r.relay_id, msg[1]);
                prop_assert_eq!(payload, &msg[2..]);
                prop_assert_eq!(&r.encode()[..], &msg[..2]);
            }
            Err(e) => {
                prop_assert!(!ok);
                if msg.len() < 2 {
                    let is_bad_length = matches!(e, WireError::BadLength { .. });
                    prop_assert!(is_bad_length);
                }
            }
        }
    }
}

/// The message types the header can carry map one to one onto the 3-bit TYPE values (all eight
/// values checked, not sampled).
#[test]
fn msg_type_raw_values() {
    for raw in 0..8u32 {
        match MsgType::from_raw(raw) {
            Ok(t) => assert_eq!(t.raw(), raw),
            Err(e) => {
                assert_eq!(raw, 4);
                assert_eq!(e, WireError::UndefinedType(4));
            }
        }
    }
    assert_eq!(
        Header::decode(0x0000_5507).map(|h| h.message),
        Ok(Message::Request {
            action: code::VF_RESET,
            data0: 0
        })
    );
}
