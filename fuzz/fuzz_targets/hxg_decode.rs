//! `Header::decode` and `Reply::decode` on every dword of the input (little-endian u32s).
//!
//! Checks: no panic; `Header::decode` is Err exactly for TYPE 4 and otherwise re-encodes to the
//! input; `Reply::decode` accepts exactly GuC-origin BUSY / RETRY / FAILURE / SUCCESS and
//! re-encodes to the input; `MsgType::from_raw` agrees with the header decoder.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xe_sriov_vf::wire::hxg::{Header, MsgType, Origin, Reply};
use xe_sriov_vf::wire::WireError;

fuzz_target!(|data: &[u8]| {
    for chunk in data.chunks_exact(4) {
        let dw = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        let ty = (dw >> 28) & 7;
        let guc = dw >> 31 == 1;

        match Header::decode(dw) {
            Err(e) => {
                assert_eq!(ty, 4, "{dw:#010x}");
                assert_eq!(e, WireError::UndefinedType(4));
            }
            Ok(h) => {
                assert_ne!(ty, 4);
                assert_eq!(h.origin == Origin::Guc, guc);
                assert_eq!(h.message.msg_type().raw(), ty);
                assert_eq!(MsgType::from_raw(ty), Ok(h.message.msg_type()));
                assert_eq!(h.encode(), Ok(dw), "{h:?}");
            }
        }

        match Reply::decode(dw) {
            Ok(r) => {
                assert!(guc && matches!(ty, 3 | 5 | 6 | 7), "{dw:#010x} -> {r:?}");
                assert_eq!(r.msg_type().raw(), ty);
                assert_eq!(r.encode(), Ok(dw), "{r:?}");
            }
            Err(WireError::UndefinedType(4)) => assert_eq!(ty, 4),
            Err(WireError::WrongOrigin) => assert!(!guc && ty != 4),
            Err(WireError::UnexpectedType(t)) => {
                assert!(guc && ty <= 2);
                assert_eq!(t.raw(), ty);
            }
            Err(e) => panic!("Reply::decode({dw:#010x}): unexpected error {e:?}"),
        }

        // Any u32 (not just 3-bit values) must be handled by MsgType::from_raw.
        let _ = MsgType::from_raw(dw);
    }
});
