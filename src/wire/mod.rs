//! Wire formats of the GuC VF interface: pure encode/decode, no I/O.
//!
//! Everything here follows one contract, in the spirit of smoltcp's `wire` module: decoding takes
//! any bit pattern (a `u32` or a slice of dwords of any length) and returns either a typed value
//! or a [`WireError`]; it never panics, never indexes out of bounds, never loops on input.
//! Encoding is from typed values that cannot represent an out-of-range field, or is checked and
//! refused with a [`WireError`].
//!
//! - [`hxg`]: the header dword every GuC message starts with.
//! - [`action`]: the VF-to-GuC actions sent over the MMIO mailbox, and their replies.
//! - [`klv`]: key-length-value items and the VF configuration keys.
//! - [`error`]: GuC error codes carried by a FAILURE reply.
//! - [`regs`]: the register map (mailbox scratch and doorbell registers, interrupt vector bits).
//! - [`memirq`]: the memory-based interrupt page (status vectors, source bytes, enable mask) and
//!   the GuC units in it.
//! - [`self_cfg`]: HOST2GUC_SELF_CFG (memirq and CTB addresses) and HOST2GUC_CONTROL_CTB.

pub mod action;
pub mod error;
pub mod hxg;
pub mod klv;
/// Memory-based interrupts: the memirq page layout and the GuC status vectors in it.
pub mod memirq;
pub mod regs;
/// HOST2GUC_SELF_CFG and HOST2GUC_CONTROL_CTB: registering memirq and CT buffers with a GuC.
pub mod self_cfg;

pub use action::{Marker, Request, Version};
pub use error::GucError;
pub use hxg::{Header, Message, Origin};
pub use klv::{KlvHeader, KlvKey};

use core::fmt;

/// Why a dword sequence is not a valid message, or why a value cannot be encoded.
///
/// `Debug` prints action codes, bits, markers and values in hex, as `Display` does.
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum WireError {
    /// The HXG TYPE field holds a value the ABI does not define (4).
    UndefinedType(u8),
    /// The message came from the wrong side (a reply must come from the GuC, a request from the
    /// host).
    WrongOrigin,
    /// The message is of a valid type, but not one allowed here (for example an EVENT where a
    /// reply was expected).
    UnexpectedType(hxg::MsgType),
    /// The action code is not one of the VF actions this crate knows.
    UnknownAction(u16),
    /// A must-be-zero field is not zero: which dword, and the offending bits.
    MustBeZero {
        /// Index of the dword (0 = header).
        dword: u8,
        /// The non-zero bits found where zeros are required.
        bits: u32,
    },
    /// The message is shorter or longer than the action allows.
    BadLength {
        /// Dwords the message must have at least.
        min: u8,
        /// Dwords the message may have at most.
        max: u8,
        /// Dwords it has.
        actual: usize,
    },
    /// A RESFIX marker outside 1..=0xFFF (zero, or too wide for the DATA0 field).
    BadMarker(u32),
    /// A value is too wide for the field it must be encoded into.
    FieldOverflow {
        /// The value's bit width limit.
        bits: u8,
        /// The value.
        value: u32,
    },
    /// A KLV's LEN runs past the end of its stream.
    KlvTruncated {
        /// The KLV's raw key.
        key: u16,
        /// Value dwords its header announces.
        len: u16,
        /// Value dwords left in the stream.
        available: usize,
    },
    /// The output buffer is too small for the encoded message.
    BufferTooSmall {
        /// Dwords needed.
        needed: usize,
    },
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::UndefinedType(t) => write!(f, "undefined HXG message type {t}", t = *t),
            WireError::WrongOrigin => f.write_str("message has the wrong origin"),
            WireError::UnexpectedType(t) => write!(f, "unexpected HXG message type {t:?}", t = *t),
            WireError::UnknownAction(a) => write!(f, "unknown action {a:#06x}", a = *a),
            WireError::MustBeZero { dword, bits } => {
                write!(
                    f,
                    "must-be-zero bits {bits:#010x} set in dword {dword}",
                    bits = *bits,
                    dword = *dword
                )
            }
            WireError::BadLength { min, max, actual } => {
                write!(
                    f,
                    "message of {actual} dwords, expected {min}..={max}",
                    actual = *actual,
                    min = *min,
                    max = *max
                )
            }
            WireError::BadMarker(m) => {
                write!(f, "RESFIX marker {m:#x} out of range 1..=0xfff", m = *m)
            }
            WireError::FieldOverflow { bits, value } => {
                write!(
                    f,
                    "value {value:#x} does not fit in {bits} bits",
                    value = *value,
                    bits = *bits
                )
            }
            WireError::KlvTruncated {
                key,
                len,
                available,
            } => write!(
                f,
                "KLV {key:#06x} announces {len} dwords, {available} left in the stream",
                key = *key,
                len = *len,
                available = *available
            ),
            WireError::BufferTooSmall { needed } => {
                write!(
                    f,
                    "output buffer too small, {needed} dwords needed",
                    needed = *needed
                )
            }
        }
    }
}

impl fmt::Debug for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::fmt::Hex;
        match self {
            WireError::UndefinedType(t) => debug_variant!(f, ["UndefinedType"], t),
            WireError::WrongOrigin => f.write_str("WrongOrigin"),
            WireError::UnexpectedType(t) => debug_variant!(f, ["UnexpectedType"], t),
            WireError::UnknownAction(a) => debug_variant!(f, ["UnknownAction"], &Hex((*a).into())),
            WireError::MustBeZero { dword, bits } => debug_variant!(
                f,
                ["MustBeZero", "dword", "bits"],
                dword,
                &Hex((*bits).into())
            ),
            WireError::BadLength { min, max, actual } => {
                debug_variant!(f, ["BadLength", "min", "max", "actual"], min, max, actual)
            }
            WireError::BadMarker(m) => debug_variant!(f, ["BadMarker"], &Hex((*m).into())),
            WireError::FieldOverflow { bits, value } => debug_variant!(
                f,
                ["FieldOverflow", "bits", "value"],
                bits,
                &Hex((*value).into())
            ),
            WireError::KlvTruncated {
                key,
                len,
                available,
            } => debug_variant!(
                f,
                ["KlvTruncated", "key", "len", "available"],
                &Hex((*key).into()),
                len,
                available
            ),
            WireError::BufferTooSmall { needed } => {
                debug_variant!(f, ["BufferTooSmall", "needed"], needed)
            }
        }
    }
}

impl core::error::Error for WireError {}

/// Extracts bits `hi..=lo` of `value`.
#[inline]
pub(crate) const fn field(value: u32, hi: u32, lo: u32) -> u32 {
    (value >> lo) & mask(hi - lo + 1)
}

/// A mask of the low `width` bits (`width` in 1..=32).
#[inline]
pub(crate) const fn mask(width: u32) -> u32 {
    if width >= 32 {
        u32::MAX
    } else {
        (1u32 << width) - 1
    }
}
