//! `Request::decode` on every prefix (0..=8 dwords) of the input, read as little-endian u32s.
//!
//! Checks: no panic; whatever decodes re-encodes to exactly the same dwords (the decoder is
//! strict, so nothing is lost or normalised); the empty message is a length error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xe_sriov_vf::wire::{Request, WireError};

fuzz_target!(|data: &[u8]| {
    let mut dws = [0u32; 8];
    let mut n = 0;
    for (slot, chunk) in dws.iter_mut().zip(data.chunks_exact(4)) {
        *slot = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        n += 1;
    }
    for len in 0..=n {
        let msg = &dws[..len];
        match Request::decode(msg) {
            Ok(req) => {
                let again = req.encode().unwrap_or_else(|e| {
                    panic!("{req:?} decoded from {msg:x?} does not re-encode: {e:?}")
                });
                assert_eq!(again.as_slice(), msg, "{req:?}");
                assert_eq!(u32::from(req.action()), msg[0] & 0xFFFF);
            }
            Err(e) => {
                if len == 0 {
                    assert!(matches!(e, WireError::BadLength { actual: 0, .. }));
                }
            }
        }
    }
});
