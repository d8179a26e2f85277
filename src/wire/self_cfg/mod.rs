//! HOST2GUC_SELF_CFG and HOST2GUC_CONTROL_CTB: the MMIO requests with which a VF registers its
//! memirq page and its CT buffers with a GuC, and turns CT communication on or off.
//!
//! Both go over the MMIO mailbox only (kernel `abi/guc_actions_abi.h`, `xe_guc.c`
//! `guc_self_cfg`, `xe_guc_ct.c` `guc_ct_control_toggle`).
//!
//! HOST2GUC_SELF_CFG (action 0x0508), 4 dwords:
//!
//! | dword | bits | field |
//! |---|---|---|
//! | 0 | 31 / 30:28 / 27:16 / 15:0 | ORIGIN HOST, TYPE REQUEST, DATA0 must be 0, ACTION 0x0508 |
//! | 1 | 31:16 / 15:0 | KLV_KEY, KLV_LEN (1 = 32-bit value, 2 = 64-bit value) |
//! | 2 | 31:0 | value bits 31:0 |
//! | 3 | 31:0 | value bits 63:32 (0 when KLV_LEN is 1) |
//!
//! Reply: SUCCESS with DATA0 = NUM: 1 = the KLV was accepted, 0 = the key was not recognised
//! (kernel `-ENOKEY`), more than 1 = protocol error (kernel `-EPROTO`).
//!
//! HOST2GUC_CONTROL_CTB (action 0x4509), 2 dwords: dword 0 as above with ACTION 0x4509 and
//! DATA0 0; dword 1 CONTROL, 0 = disable, 1 = enable. Reply: SUCCESS with DATA0 0 (anything
//! else is a protocol error).
//!
//! The self-config keys ([`SelfCfgKey`](crate::wire::self_cfg::SelfCfgKey), kernel `abi/guc_klvs_abi.h`):
//!
//! | key | id | len |
//! |---|---|---|
//! | MEMIRQ_STATUS_ADDR | 0x0900 | 2 |
//! | MEMIRQ_SOURCE_ADDR | 0x0901 | 2 |
//! | H2G_CTB_ADDR | 0x0902 | 2 |
//! | H2G_CTB_DESCRIPTOR_ADDR | 0x0903 | 2 |
//! | H2G_CTB_SIZE | 0x0904 | 1 (bytes) |
//! | G2H_CTB_ADDR | 0x0905 | 2 |
//! | G2H_CTB_DESCRIPTOR_ADDR | 0x0906 | 2 |
//! | G2H_CTB_SIZE | 0x0907 | 1 (bytes) |
//!
//! Note for the transport: a SELF_CFG reply carries DATA0 = 1 on success, so it must be checked
//! with [`decode_self_cfg_reply`](crate::wire::self_cfg::decode_self_cfg_reply), not with
//! [`decode_empty_reply`](crate::wire::action::decode_empty_reply) (which requires DATA0 0).
//!
//! ```
//! use xe_sriov_vf::wire::self_cfg::{self, SelfCfgError, SelfCfgKey, SelfCfgRequest};
//!
//! let req = SelfCfgRequest::new(SelfCfgKey::MemirqSourceAddr, 0x1234_5419).unwrap();
//! let msg = req.encode();
//! assert_eq!(msg.as_slice(), &[0x0000_0508, 0x0901_0002, 0x1234_5419, 0x0000_0000]);
//! // What the GuC does with it: strict decoding.
//! assert_eq!(self_cfg::decode_self_cfg(msg.as_slice()), Ok(req));
//! // A 32-bit key refuses a 64-bit value instead of truncating it.
//! assert!(SelfCfgRequest::new(SelfCfgKey::H2gCtbSize, 1 << 32).is_err());
//! // The replies.
//! assert_eq!(self_cfg::decode_self_cfg_reply(&[0xF000_0001]), Ok(()));
//! assert_eq!(self_cfg::decode_self_cfg_reply(&[0xF000_0000]), Err(SelfCfgError::KeyNotRecognised));
//! ```

use core::fmt;

use super::action::{MmioMessage, MMIO_MSG_MAX_DWORDS};
use super::hxg::{Header, Message, MsgType, Origin, Reply};
use super::memirq::GucUnit;
use super::{GucError, WireError};

/// Action codes.
pub mod code {
    /// HOST2GUC_SELF_CFG.
    pub const SELF_CFG: u16 = 0x0508;
    /// HOST2GUC_CONTROL_CTB.
    pub const CONTROL_CTB: u16 = 0x4509;
}

/// Dwords of a HOST2GUC_SELF_CFG request.
pub const SELF_CFG_REQUEST_DWORDS: usize = 4;

/// Dwords of a HOST2GUC_CONTROL_CTB request.
pub const CONTROL_CTB_REQUEST_DWORDS: usize = 2;

/// The reply NUM of a self-config KLV the GuC accepted.
pub const SELF_CFG_ACCEPTED: u32 = 1;

/// The reply NUM of a self-config KLV whose key the GuC does not recognise.
pub const SELF_CFG_NOT_RECOGNISED: u32 = 0;

/// A GuC self-config KLV key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SelfCfgKey {
    /// 0x0900: GGTT address of the GuC's memirq status vector (page + unit * 16). 2 dwords.
    MemirqStatusAddr,
    /// 0x0901: GGTT address of the GuC's memirq source byte (page + 0x400 + unit). 2 dwords.
    MemirqSourceAddr,
    /// 0x0902: GGTT address of the H2G CT buffer. 2 dwords.
    H2gCtbAddr,
    /// 0x0903: GGTT address of the H2G CTB descriptor. 2 dwords.
    H2gCtbDescriptorAddr,
    /// 0x0904: size of the H2G CT buffer in bytes (a multiple of 4K). 1 dword.
    H2gCtbSize,
    /// 0x0905: GGTT address of the G2H CT buffer. 2 dwords.
    G2hCtbAddr,
    /// 0x0906: GGTT address of the G2H CTB descriptor. 2 dwords.
    G2hCtbDescriptorAddr,
    /// 0x0907: size of the G2H CT buffer in bytes (a multiple of 4K). 1 dword.
    G2hCtbSize,
}

impl SelfCfgKey {
    /// Every key, in id order.
    pub const ALL: [SelfCfgKey; 8] = [
        SelfCfgKey::MemirqStatusAddr,
        SelfCfgKey::MemirqSourceAddr,
        SelfCfgKey::H2gCtbAddr,
        SelfCfgKey::H2gCtbDescriptorAddr,
        SelfCfgKey::H2gCtbSize,
        SelfCfgKey::G2hCtbAddr,
        SelfCfgKey::G2hCtbDescriptorAddr,
        SelfCfgKey::G2hCtbSize,
    ];

    /// The key with id `raw`, if it is a self-config key.
    #[must_use]
    pub const fn from_raw(raw: u16) -> Option<SelfCfgKey> {
        Some(match raw {
            0x0900 => SelfCfgKey::MemirqStatusAddr,
            0x0901 => SelfCfgKey::MemirqSourceAddr,
            0x0902 => SelfCfgKey::H2gCtbAddr,
            0x0903 => SelfCfgKey::H2gCtbDescriptorAddr,
            0x0904 => SelfCfgKey::H2gCtbSize,
            0x0905 => SelfCfgKey::G2hCtbAddr,
            0x0906 => SelfCfgKey::G2hCtbDescriptorAddr,
            0x0907 => SelfCfgKey::G2hCtbSize,
            _ => return None,
        })
    }

    /// The 16-bit key id.
    #[must_use]
    pub const fn raw(self) -> u16 {
        match self {
            SelfCfgKey::MemirqStatusAddr => 0x0900,
            SelfCfgKey::MemirqSourceAddr => 0x0901,
            SelfCfgKey::H2gCtbAddr => 0x0902,
            SelfCfgKey::H2gCtbDescriptorAddr => 0x0903,
            SelfCfgKey::H2gCtbSize => 0x0904,
            SelfCfgKey::G2hCtbAddr => 0x0905,
            SelfCfgKey::G2hCtbDescriptorAddr => 0x0906,
            SelfCfgKey::G2hCtbSize => 0x0907,
        }
    }

    /// The value length the ABI defines for the key, in dwords: 1 or 2.
    #[allow(clippy::len_without_is_empty)]
    #[must_use]
    pub const fn len(self) -> u16 {
        match self {
            SelfCfgKey::H2gCtbSize | SelfCfgKey::G2hCtbSize => 1,
            _ => 2,
        }
    }

    /// The largest value the key can carry: `u32::MAX` for a 1-dword key, `u64::MAX` otherwise.
    #[must_use]
    pub const fn max_value(self) -> u64 {
        if self.len() == 1 {
            u32::MAX as u64
        } else {
            u64::MAX
        }
    }

    /// The kernel's name for the key (without the `GUC_KLV_SELF_CFG_` prefix and `_KEY` suffix).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            SelfCfgKey::MemirqStatusAddr => "MEMIRQ_STATUS_ADDR",
            SelfCfgKey::MemirqSourceAddr => "MEMIRQ_SOURCE_ADDR",
            SelfCfgKey::H2gCtbAddr => "H2G_CTB_ADDR",
            SelfCfgKey::H2gCtbDescriptorAddr => "H2G_CTB_DESCRIPTOR_ADDR",
            SelfCfgKey::H2gCtbSize => "H2G_CTB_SIZE",
            SelfCfgKey::G2hCtbAddr => "G2H_CTB_ADDR",
            SelfCfgKey::G2hCtbDescriptorAddr => "G2H_CTB_DESCRIPTOR_ADDR",
            SelfCfgKey::G2hCtbSize => "G2H_CTB_SIZE",
        }
    }
}

impl fmt::Display for SelfCfgKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({:#06x})", self.name(), self.raw())
    }
}

/// Why a self-config or CTB-control exchange failed, or why such a message is malformed.
///
/// `Debug` prints reply data, hints, values and raw keys in hex, as `Display` does.
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum SelfCfgError {
    /// SELF_CFG reply NUM 0: the GuC did not recognise the key (kernel `-ENOKEY`).
    KeyNotRecognised,
    /// A SELF_CFG reply NUM above 1, or a non-zero CONTROL_CTB reply DATA0 (kernel `-EPROTO`).
    Protocol(u32),
    /// The GuC answered with RESPONSE_FAILURE (kernel `-ENXIO`).
    Failure {
        /// 12-bit hint.
        hint: u16,
        /// Error code.
        error: GucError,
    },
    /// A 1-dword key was given a value wider than 32 bits (it is refused, not truncated).
    ValueTooWide {
        /// The key.
        key: SelfCfgKey,
        /// The value.
        value: u64,
    },
    /// A SELF_CFG request names a key that is not a self-config key.
    UnknownKey(u16),
    /// A SELF_CFG request's KLV_LEN is not the key's length.
    LenMismatch {
        /// The key.
        key: SelfCfgKey,
        /// KLV_LEN as found.
        len: u16,
    },
    /// A CONTROL_CTB request's CONTROL is neither 0 (disable) nor 1 (enable).
    BadControl(u32),
    /// The message is malformed at the HXG level: wrong origin, type, action or length, a
    /// must-be-zero field set, or a reply of the wrong type (BUSY, RETRY).
    Wire(WireError),
}

impl From<WireError> for SelfCfgError {
    fn from(e: WireError) -> SelfCfgError {
        SelfCfgError::Wire(e)
    }
}

impl fmt::Display for SelfCfgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SelfCfgError::KeyNotRecognised => {
                f.write_str("GuC did not recognise the self-config key")
            }
            SelfCfgError::Protocol(n) => {
                write!(f, "protocol error: unexpected reply data {n:#x}", n = *n)
            }
            SelfCfgError::Failure { hint, .. } => {
                write!(f, "GuC answered FAILURE (hint {hint:#x})", hint = *hint)
            }
            SelfCfgError::ValueTooWide { key, value } => {
                write!(
                    f,
                    "value {value:#x} does not fit the 32-bit key {key}",
                    value = *value,
                    key = *key
                )
            }
            SelfCfgError::UnknownKey(k) => write!(f, "unknown self-config key {k:#06x}", k = *k),
            SelfCfgError::LenMismatch { key, len } => {
                write!(
                    f,
                    "KLV_LEN {len} for {key}, which has length {}",
                    key.len(),
                    len = *len,
                    key = *key
                )
            }
            SelfCfgError::BadControl(c) => {
                write!(f, "CTB CONTROL {c:#x} is neither 0 nor 1", c = *c)
            }
            SelfCfgError::Wire(_) => f.write_str("malformed message"),
        }
    }
}

impl fmt::Debug for SelfCfgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::fmt::Hex;
        match self {
            SelfCfgError::KeyNotRecognised => f.write_str("KeyNotRecognised"),
            SelfCfgError::Protocol(n) => debug_variant!(f, ["Protocol"], &Hex((*n).into())),
            SelfCfgError::Failure { hint, error } => {
                debug_variant!(f, ["Failure", "hint", "error"], &Hex((*hint).into()), error)
            }
            SelfCfgError::ValueTooWide { key, value } => {
                debug_variant!(f, ["ValueTooWide", "key", "value"], key, &Hex(*value))
            }
            SelfCfgError::UnknownKey(k) => debug_variant!(f, ["UnknownKey"], &Hex((*k).into())),
            SelfCfgError::LenMismatch { key, len } => {
                debug_variant!(f, ["LenMismatch", "key", "len"], key, len)
            }
            SelfCfgError::BadControl(c) => debug_variant!(f, ["BadControl"], &Hex((*c).into())),
            SelfCfgError::Wire(e) => debug_variant!(f, ["Wire"], e),
        }
    }
}

impl core::error::Error for SelfCfgError {
    // Out of line: `Error::cause` calls it, and would inline a copy of it otherwise.
    #[inline(never)]
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            SelfCfgError::Wire(e) => Some(e),
            SelfCfgError::Failure { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// A HOST2GUC_SELF_CFG request: a key and a value that fits it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SelfCfgRequest {
    key: SelfCfgKey,
    value: u64,
}

impl SelfCfgRequest {
    /// A request setting `key` to `value`; a value over `u32::MAX` for a 1-dword key is refused
    /// with [`SelfCfgError::ValueTooWide`].
    ///
    /// # Errors
    ///
    /// [`SelfCfgError::ValueTooWide`] when `value` does not fit the key (over `u32::MAX` for a
    /// 1-dword key).
    pub const fn new(key: SelfCfgKey, value: u64) -> Result<SelfCfgRequest, SelfCfgError> {
        if value > key.max_value() {
            Err(SelfCfgError::ValueTooWide { key, value })
        } else {
            Ok(SelfCfgRequest { key, value })
        }
    }

    /// The key.
    #[must_use]
    pub const fn key(&self) -> SelfCfgKey {
        self.key
    }

    /// The value.
    #[must_use]
    pub const fn value(&self) -> u64 {
        self.value
    }

    /// The two requests that register a GuC's memirq slots for a page at GGTT address `page`,
    /// in the kernel's order (`xe_memirq_init_guc`): MEMIRQ_SOURCE_ADDR = `page + 0x400 + unit`,
    /// then MEMIRQ_STATUS_ADDR = `page + unit * 16`. `None` if an address overflows.
    #[must_use]
    pub const fn memirq_registration(page: u64, guc: GucUnit) -> Option<[SelfCfgRequest; 2]> {
        let (source, status) = match (guc.source_addr(page), guc.status_addr(page)) {
            (Some(source), Some(status)) => (source, status),
            _ => return None,
        };
        Some([
            SelfCfgRequest {
                key: SelfCfgKey::MemirqSourceAddr,
                value: source,
            },
            SelfCfgRequest {
                key: SelfCfgKey::MemirqStatusAddr,
                value: status,
            },
        ])
    }

    /// The four request dwords.
    #[must_use]
    pub const fn to_dwords(&self) -> [u32; SELF_CFG_REQUEST_DWORDS] {
        [
            // A host REQUEST with DATA0 0 is just the action code.
            code::SELF_CFG as u32,
            (self.key.raw() as u32) << 16 | self.key.len() as u32,
            self.value as u32,
            (self.value >> 32) as u32,
        ]
    }

    /// Encodes the request. Total: the constructor already refused values too wide for the key.
    #[must_use]
    pub const fn encode(&self) -> MmioMessage {
        MmioMessage::from_array(self.to_dwords())
    }
}

/// Encodes HOST2GUC_SELF_CFG setting `key` to `value`: [`SelfCfgRequest::new`] then
/// [`SelfCfgRequest::encode`].
///
/// # Errors
///
/// [`SelfCfgError::ValueTooWide`], as [`SelfCfgRequest::new`].
pub const fn encode_self_cfg(key: SelfCfgKey, value: u64) -> Result<MmioMessage, SelfCfgError> {
    match SelfCfgRequest::new(key, value) {
        Ok(r) => Ok(r.encode()),
        Err(e) => Err(e),
    }
}

/// CONTROL of HOST2GUC_CONTROL_CTB.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CtbControl {
    /// 0: stop CTB-based communication.
    Disable,
    /// 1: start CTB-based communication.
    Enable,
}

impl CtbControl {
    /// The CONTROL value, if it is 0 or 1.
    #[must_use]
    pub const fn from_raw(raw: u32) -> Option<CtbControl> {
        match raw {
            0 => Some(CtbControl::Disable),
            1 => Some(CtbControl::Enable),
            _ => None,
        }
    }

    /// The CONTROL value: 0 or 1.
    #[must_use]
    pub const fn raw(self) -> u32 {
        match self {
            CtbControl::Disable => 0,
            CtbControl::Enable => 1,
        }
    }

    /// The two request dwords.
    #[must_use]
    pub const fn to_dwords(self) -> [u32; CONTROL_CTB_REQUEST_DWORDS] {
        [code::CONTROL_CTB as u32, self.raw()]
    }
}

/// Encodes HOST2GUC_CONTROL_CTB. Total.
#[must_use]
pub fn encode_control_ctb(control: CtbControl) -> MmioMessage {
    let dwords = control.to_dwords();
    match MmioMessage::from_slice(&dwords) {
        Ok(msg) => msg,
        // `from_slice` refuses only empty slices and slices over 4 dwords: never taken.
        Err(_) => MmioMessage::from_header(dwords[0]),
    }
}

/// Checks dword 0 of a request as the GuC receives it: host origin, REQUEST type, action
/// `action`, exactly `len` dwords, DATA0 zero.
fn check_request(msg: &[u32], action: u16, len: usize) -> Result<(), WireError> {
    let header = match msg.first() {
        Some(&h) => Header::decode(h)?,
        None => {
            return Err(WireError::BadLength {
                min: len as u8,
                max: len as u8,
                actual: 0,
            })
        }
    };
    if header.origin != Origin::Host {
        return Err(WireError::WrongOrigin);
    }
    let (found, data0) = match header.message {
        Message::Request { action, data0 } => (action, data0),
        other => return Err(WireError::UnexpectedType(other.msg_type())),
    };
    if found != action {
        return Err(WireError::UnknownAction(found));
    }
    if msg.len() != len {
        return Err(WireError::BadLength {
            min: len as u8,
            max: len as u8,
            actual: msg.len(),
        });
    }
    if data0 != 0 {
        return Err(WireError::MustBeZero {
            dword: 0,
            bits: (data0 as u32) << 16,
        });
    }
    Ok(())
}

/// Decodes a HOST2GUC_SELF_CFG request as the GuC receives it, strictly: host origin, REQUEST
/// type, action 0x0508, exactly 4 dwords, DATA0 zero, a known key, KLV_LEN equal to the key's
/// length, and dword 3 zero for a 1-dword key. Whatever it accepts re-encodes to the input.
///
/// # Errors
///
/// [`SelfCfgError::Wire`] for a message that is not a well-formed SELF_CFG request (origin, type,
/// action, length, a must-be-zero field set, dword 3 set for a 1-dword key);
/// [`SelfCfgError::UnknownKey`] for a key that is not a self-config key;
/// [`SelfCfgError::LenMismatch`] when KLV_LEN is not the key's length.
pub fn decode_self_cfg(msg: &[u32]) -> Result<SelfCfgRequest, SelfCfgError> {
    check_request(msg, code::SELF_CFG, SELF_CFG_REQUEST_DWORDS)?;
    let [_, klv, lo, hi] = match <[u32; SELF_CFG_REQUEST_DWORDS]>::try_from(msg) {
        Ok(dw) => dw,
        Err(_) => {
            return Err(SelfCfgError::Wire(WireError::BadLength {
                min: SELF_CFG_REQUEST_DWORDS as u8,
                max: SELF_CFG_REQUEST_DWORDS as u8,
                actual: msg.len(),
            }))
        }
    };
    let raw_key = (klv >> 16) as u16;
    let len = klv as u16;
    let key = SelfCfgKey::from_raw(raw_key).ok_or(SelfCfgError::UnknownKey(raw_key))?;
    if len != key.len() {
        return Err(SelfCfgError::LenMismatch { key, len });
    }
    if key.len() == 1 && hi != 0 {
        return Err(SelfCfgError::Wire(WireError::MustBeZero {
            dword: 3,
            bits: hi,
        }));
    }
    SelfCfgRequest::new(key, (hi as u64) << 32 | lo as u64)
}

/// Decodes a HOST2GUC_CONTROL_CTB request as the GuC receives it, strictly: host origin,
/// REQUEST type, action 0x4509, exactly 2 dwords, DATA0 zero, CONTROL 0 or 1.
///
/// # Errors
///
/// [`SelfCfgError::Wire`] for a message that is not a well-formed CONTROL_CTB request (origin,
/// type, action, length, DATA0); [`SelfCfgError::BadControl`] for a CONTROL other than 0 or 1.
pub fn decode_control_ctb(msg: &[u32]) -> Result<CtbControl, SelfCfgError> {
    check_request(msg, code::CONTROL_CTB, CONTROL_CTB_REQUEST_DWORDS)?;
    let control = match msg.get(1) {
        Some(&c) => c,
        None => {
            return Err(SelfCfgError::Wire(WireError::BadLength {
                min: CONTROL_CTB_REQUEST_DWORDS as u8,
                max: CONTROL_CTB_REQUEST_DWORDS as u8,
                actual: msg.len(),
            }))
        }
    };
    CtbControl::from_raw(control).ok_or(SelfCfgError::BadControl(control))
}

/// DATA0 of a SUCCESS reply; a FAILURE becomes [`SelfCfgError::Failure`], anything else a
/// [`SelfCfgError::Wire`] error. Extra dwords (the mailbox reads all scratch registers) are
/// ignored.
fn reply_data0(reply: &[u32]) -> Result<u32, SelfCfgError> {
    let first = match reply.first() {
        Some(&h) => h,
        None => {
            return Err(SelfCfgError::Wire(WireError::BadLength {
                min: 1,
                max: MMIO_MSG_MAX_DWORDS as u8,
                actual: 0,
            }))
        }
    };
    match Reply::decode(first)? {
        Reply::Success { data0 } => Ok(data0),
        Reply::Failure { hint, error } => Err(SelfCfgError::Failure { hint, error }),
        Reply::Busy { .. } => Err(WireError::UnexpectedType(MsgType::NoResponseBusy).into()),
        Reply::Retry { .. } => Err(WireError::UnexpectedType(MsgType::NoResponseRetry).into()),
    }
}

/// The reply rule of HOST2GUC_SELF_CFG for a reply's NUM (DATA0): 1 is success, 0 is
/// [`SelfCfgError::KeyNotRecognised`], anything above 1 is [`SelfCfgError::Protocol`].
///
/// # Errors
///
/// [`SelfCfgError::KeyNotRecognised`] for NUM 0; [`SelfCfgError::Protocol`] for NUM above 1.
pub const fn self_cfg_num(num: u32) -> Result<(), SelfCfgError> {
    match num {
        SELF_CFG_ACCEPTED => Ok(()),
        SELF_CFG_NOT_RECOGNISED => Err(SelfCfgError::KeyNotRecognised),
        n => Err(SelfCfgError::Protocol(n)),
    }
}

/// Decodes the reply to HOST2GUC_SELF_CFG: SUCCESS with NUM 1 is `Ok`; see [`self_cfg_num`].
///
/// # Errors
///
/// [`SelfCfgError::Failure`] for a FAILURE reply; [`SelfCfgError::Wire`] for a reply that is not a
/// SUCCESS (empty, host origin, BUSY, RETRY, undefined type); then as [`self_cfg_num`].
pub fn decode_self_cfg_reply(reply: &[u32]) -> Result<(), SelfCfgError> {
    self_cfg_num(reply_data0(reply)?)
}

/// Decodes the reply to HOST2GUC_CONTROL_CTB: SUCCESS with DATA0 0 is `Ok`, a non-zero DATA0
/// is [`SelfCfgError::Protocol`].
///
/// # Errors
///
/// [`SelfCfgError::Failure`] for a FAILURE reply; [`SelfCfgError::Wire`] for a reply that is not a
/// SUCCESS; [`SelfCfgError::Protocol`] for a non-zero DATA0.
pub fn decode_control_ctb_reply(reply: &[u32]) -> Result<(), SelfCfgError> {
    match reply_data0(reply)? {
        0 => Ok(()),
        n => Err(SelfCfgError::Protocol(n)),
    }
}

/// The SUCCESS reply a GuC sends to HOST2GUC_SELF_CFG with NUM `num` (for a mock GuC); a NUM
/// wider than 28 bits is refused.
///
/// # Errors
///
/// [`WireError::FieldOverflow`] for a NUM wider than 28 bits.
pub fn encode_self_cfg_reply(num: u32) -> Result<MmioMessage, WireError> {
    MmioMessage::from_slice(&[Reply::Success { data0: num }.encode()?])
}

/// The SUCCESS reply a GuC sends to HOST2GUC_CONTROL_CTB (DATA0 0).
#[must_use]
pub const fn encode_control_ctb_reply() -> MmioMessage {
    // GuC origin, RESPONSE_SUCCESS, DATA0 0.
    MmioMessage::from_header(0xF000_0000)
}

#[cfg(test)]
mod tests;
