//! `KlvIter`, `KlvHeader` and `KlvReply` on the input read as little-endian u32s, and an
//! `encode_klv` round trip.
//!
//! Checks: no panic; the iterator ends, yields at most one item per dword, yields exactly the
//! header's LEN value dwords per item, stops for good after its first error, and without an error
//! the items tile the stream; every dword is a KLV header that re-encodes to itself;
//! `KlvReply::decode` agrees with its definition; `encode_klv` output iterates back to its input;
//! `klv_count` counts exactly the items of an error-free stream and fails otherwise.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xe_sriov_vf::wire::action::KlvReply;
use xe_sriov_vf::wire::klv::{encode_klv, klv_count, KlvIter};
use xe_sriov_vf::wire::{KlvHeader, KlvKey, WireError};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let dws: Vec<u32> = rest
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();

    // KlvIter.
    let mut it = KlvIter::new(&dws);
    let mut items = 0usize;
    let mut consumed = 0usize;
    let mut failed = false;
    for item in it.by_ref() {
        items += 1;
        assert!(items <= dws.len(), "KlvIter yields more items than dwords");
        match item {
            Ok(klv) => {
                let h = KlvHeader::decode(dws[consumed]);
                assert_eq!(klv.key, h.key);
                assert_eq!(klv.value.len(), usize::from(h.len));
                assert_eq!(
                    klv.value,
                    &dws[consumed + 1..consumed + 1 + klv.value.len()]
                );
                consumed += 1 + klv.value.len();
            }
            Err(e) => {
                assert!(matches!(e, WireError::KlvTruncated { .. }), "{e:?}");
                failed = true;
                break;
            }
        }
    }
    assert!(
        it.next().is_none() && it.next().is_none(),
        "KlvIter does not stay ended"
    );
    if !failed {
        assert_eq!(consumed, dws.len());
    }
    // klv_count: the items of an error-free stream, else the iterator's error.
    assert_eq!(klv_count(&dws).ok(), (!failed).then_some(items));

    // KlvHeader / KlvKey.
    for &dw in &dws {
        let h = KlvHeader::decode(dw);
        assert_eq!(h.encode(), dw);
        assert_eq!(KlvKey::from_raw(h.key.raw()), h.key);
        if let Some(len) = h.key.expected_len() {
            assert!(len == 1 || len == 2);
        }
    }

    // KlvReply::decode on the whole stream and on every window of up to 4 dwords.
    for start in 0..dws.len().min(8) {
        for end in start..=dws.len().min(start + 4) {
            let reply = &dws[start..end];
            let ok = reply
                .first()
                .is_some_and(|&h| h >> 28 == 0xF && h & 0x0FFF_0000 == 0);
            match KlvReply::decode(reply) {
                Ok(r) => {
                    assert!(ok, "{reply:x?}");
                    assert_eq!(u32::from(r.len), reply[0] & 0xFFFF);
                    for i in 0..3 {
                        assert_eq!(r.value[i], reply.get(i + 1).copied().unwrap_or(0));
                    }
                    let enc = r.encode().expect("a decoded KLV reply re-encodes");
                    assert_eq!(KlvReply::decode(enc.as_slice()), Ok(r));
                }
                Err(_) => assert!(!ok, "{reply:x?}"),
            }
        }
    }

    // encode_klv round trip, into an output buffer whose size the input picks.
    if let Some((&head, value)) = dws.split_first() {
        let key = KlvKey::from_raw((head >> 16) as u16);
        let mut out = [0u32; 16];
        let out_len = usize::from(mode) % (out.len() + 1);
        match encode_klv(key, value, &mut out[..out_len]) {
            Ok(n) => {
                assert_eq!(n, value.len() + 1);
                let mut it = KlvIter::new(&out[..n]);
                let klv = it.next().expect("one item").expect("a valid item");
                assert_eq!(klv.key, key);
                assert_eq!(klv.value, value);
                assert!(it.next().is_none());
            }
            Err(e) => assert_eq!(
                e,
                WireError::BufferTooSmall {
                    needed: value.len() + 1
                }
            ),
        }
    }
});
