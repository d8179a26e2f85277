//! The SUCCESS-reply decoders on arbitrary slices: `Version::decode_match_reply`,
//! `decode_empty_reply`, `success_data0`, `RelayToPf::decode`, `MmioMessage::from_slice`.
//!
//! The first byte picks the slice length (0..=8), the rest are little-endian u32s. Each decoder
//! is compared with a one-line oracle of what it must accept.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xe_sriov_vf::wire::action::{
    code, decode_empty_reply, success_data0, MmioMessage, RelayToPf, MMIO_MSG_MAX_DWORDS,
};
use xe_sriov_vf::wire::{Version, WireError};

const SUCCESS_0: u32 = 0xF000_0000;

fuzz_target!(|data: &[u8]| {
    let Some((&len, rest)) = data.split_first() else {
        return;
    };
    let mut dws = [0u32; 8];
    let mut n = 0;
    for (slot, c) in dws.iter_mut().zip(rest.chunks_exact(4)) {
        *slot = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        n += 1;
    }
    let msg = &dws[..n.min(usize::from(len) % 9)];

    // success_data0
    match success_data0(msg) {
        Ok(d) => {
            assert_eq!(msg[0] >> 28, 0xF);
            assert_eq!(d, msg[0] & 0x0FFF_FFFF);
        }
        Err(_) => assert!(msg.first().is_none_or(|&h| h >> 28 != 0xF)),
    }

    // decode_empty_reply
    assert_eq!(
        decode_empty_reply(msg).is_ok(),
        msg.first() == Some(&SUCCESS_0),
        "{msg:x?}"
    );

    // Version::decode_match_reply
    let ok = msg.len() >= 2 && msg[0] == SUCCESS_0;
    match Version::decode_match_reply(msg) {
        Ok(v) => {
            assert!(ok, "{msg:x?}");
            assert_eq!(v, Version::from_dword(msg[1]));
            assert_eq!(v.to_dword(), msg[1]);
        }
        Err(_) => assert!(!ok, "{msg:x?}"),
    }

    // RelayToPf::decode
    let ok = msg.len() >= 2 && msg[0] == u32::from(code::RELAY_TO_PF);
    match RelayToPf::decode(msg) {
        Ok((r, payload)) => {
            assert!(ok, "{msg:x?}");
            assert_eq!(r.relay_id, msg[1]);
            assert_eq!(payload, &msg[2..]);
            assert_eq!(&r.encode()[..], &msg[..2]);
        }
        Err(e) => {
            assert!(!ok, "{msg:x?}");
            if msg.len() < 2 {
                assert!(matches!(e, WireError::BadLength { .. }));
            }
        }
    }

    // MmioMessage::from_slice
    match MmioMessage::from_slice(msg) {
        Ok(m) => {
            assert!((1..=MMIO_MSG_MAX_DWORDS).contains(&msg.len()));
            assert_eq!(m.as_slice(), msg);
            assert_eq!(m.header(), msg[0]);
            let _ = format!("{m:?}");
        }
        Err(_) => assert!(msg.is_empty() || msg.len() > MMIO_MSG_MAX_DWORDS),
    }
});
