//! Key-length-value items and the VF configuration keys.
//!
//! A KLV is a header dword (KEY 31:16, LEN 15:0, LEN in dwords) followed by LEN value dwords,
//! low dword first.

use core::fmt;

use super::{field, WireError};

/// A KLV header dword.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct KlvHeader {
    /// The key.
    pub key: KlvKey,
    /// Value length in dwords.
    pub len: u16,
}

impl KlvHeader {
    /// Decodes any dword (unknown keys decode as [`KlvKey::Unknown`]).
    #[must_use]
    pub const fn decode(dw: u32) -> KlvHeader {
        KlvHeader {
            key: KlvKey::from_raw(field(dw, 31, 16) as u16),
            len: field(dw, 15, 0) as u16,
        }
    }

    /// Encodes the header dword.
    #[must_use]
    pub const fn encode(&self) -> u32 {
        (self.key.raw() as u32) << 16 | self.len as u32
    }
}

/// A KLV key this crate knows, or the raw value of one it does not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum KlvKey {
    /// 0x0001: the 4K-aligned GGTT base of this VF (may move on migration). 2 dwords.
    GgttStart,
    /// 0x0002: the 4K-aligned GGTT size; never 0. 2 dwords.
    GgttSize,
    /// 0x0003: local memory size, 2M-aligned; discrete parts, primary GT. 2 dwords.
    LmemSize,
    /// 0x0004: number of GuC contexts; never 0 for a VF. 1 dword.
    NumContexts,
    /// 0x0005: bit n = tile n. 1 dword.
    TileMask,
    /// 0x0006: number of doorbells. 1 dword.
    NumDoorbells,
    /// 0x3000: the GMD_ID register value (VF ABI 1.2+, graphics IP 12.70+). 1 dword.
    GmdId,
    /// 0x3001: whether group scheduling is available, 0 or 1 (VF ABI 1.26+). 1 dword.
    GroupSchedulingAvailable,
    /// 0x3003: number of paging engine instances (VF ABI 1.36+). 1 dword.
    NumPagingEngineInstances,
    /// A key this crate does not know, raw.
    Unknown(u16),
}

impl KlvKey {
    /// Decodes a 16-bit key. Total.
    #[must_use]
    pub const fn from_raw(raw: u16) -> KlvKey {
        match raw {
            0x0001 => KlvKey::GgttStart,
            0x0002 => KlvKey::GgttSize,
            0x0003 => KlvKey::LmemSize,
            0x0004 => KlvKey::NumContexts,
            0x0005 => KlvKey::TileMask,
            0x0006 => KlvKey::NumDoorbells,
            0x3000 => KlvKey::GmdId,
            0x3001 => KlvKey::GroupSchedulingAvailable,
            0x3003 => KlvKey::NumPagingEngineInstances,
            other => KlvKey::Unknown(other),
        }
    }

    /// The raw 16-bit key.
    #[must_use]
    pub const fn raw(self) -> u16 {
        match self {
            KlvKey::GgttStart => 0x0001,
            KlvKey::GgttSize => 0x0002,
            KlvKey::LmemSize => 0x0003,
            KlvKey::NumContexts => 0x0004,
            KlvKey::TileMask => 0x0005,
            KlvKey::NumDoorbells => 0x0006,
            KlvKey::GmdId => 0x3000,
            KlvKey::GroupSchedulingAvailable => 0x3001,
            KlvKey::NumPagingEngineInstances => 0x3003,
            KlvKey::Unknown(raw) => raw,
        }
    }

    /// The value length the ABI defines for the key, in dwords; `None` for unknown keys.
    #[must_use]
    pub const fn expected_len(self) -> Option<u16> {
        match self {
            KlvKey::GgttStart | KlvKey::GgttSize | KlvKey::LmemSize => Some(2),
            KlvKey::NumContexts
            | KlvKey::TileMask
            | KlvKey::NumDoorbells
            | KlvKey::GmdId
            | KlvKey::GroupSchedulingAvailable
            | KlvKey::NumPagingEngineInstances => Some(1),
            KlvKey::Unknown(_) => None,
        }
    }

    /// The kernel's name for the key.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            KlvKey::GgttStart => "VF_CFG_GGTT_START",
            KlvKey::GgttSize => "VF_CFG_GGTT_SIZE",
            KlvKey::LmemSize => "VF_CFG_LMEM_SIZE",
            KlvKey::NumContexts => "VF_CFG_NUM_CONTEXTS",
            KlvKey::TileMask => "VF_CFG_TILE_MASK",
            KlvKey::NumDoorbells => "VF_CFG_NUM_DOORBELLS",
            KlvKey::GmdId => "GLOBAL_CFG_GMD_ID",
            KlvKey::GroupSchedulingAvailable => "GLOBAL_CFG_GROUP_SCHEDULING_AVAILABLE",
            KlvKey::NumPagingEngineInstances => "GLOBAL_CFG_NUM_PAGING_ENGINE_INSTANCES",
            KlvKey::Unknown(_) => "unknown KLV key",
        }
    }
}

impl fmt::Display for KlvKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KlvKey::Unknown(raw) => write!(f, "KLV key {raw:#06x}", raw = *raw),
            known => write!(f, "{} ({:#06x})", known.name(), known.raw()),
        }
    }
}

/// One KLV item borrowed from a dword stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Klv<'a> {
    /// The key.
    pub key: KlvKey,
    /// The value dwords (exactly the header's LEN of them).
    pub value: &'a [u32],
}

/// Iterates over a stream of KLVs; yields an error (and then stops) when a header's LEN runs past
/// the end of the stream.
#[derive(Clone, Debug)]
pub struct KlvIter<'a> {
    rest: &'a [u32],
    failed: bool,
}

impl<'a> KlvIter<'a> {
    /// Iterates over `stream`.
    #[must_use]
    pub const fn new(stream: &'a [u32]) -> KlvIter<'a> {
        KlvIter {
            rest: stream,
            failed: false,
        }
    }
}

impl<'a> Iterator for KlvIter<'a> {
    type Item = Result<Klv<'a>, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let (&head, tail) = self.rest.split_first()?;
        let header = KlvHeader::decode(head);
        let len = usize::from(header.len);
        if len > tail.len() {
            self.failed = true;
            return Some(Err(WireError::KlvTruncated {
                key: header.key.raw(),
                len: header.len,
                available: tail.len(),
            }));
        }
        let (value, rest) = tail.split_at(len);
        self.rest = rest;
        Some(Ok(Klv {
            key: header.key,
            value,
        }))
    }
}

/// Encodes one KLV into `out`, returning the dwords written.
///
/// # Errors
///
/// [`WireError::FieldOverflow`] when `value` is longer than the 16-bit LEN can say;
/// [`WireError::BufferTooSmall`] when `out` holds fewer than `value.len() + 1` dwords (nothing is
/// written).
pub fn encode_klv(key: KlvKey, value: &[u32], out: &mut [u32]) -> Result<usize, WireError> {
    let len = u16::try_from(value.len()).map_err(|_| WireError::FieldOverflow {
        bits: 16,
        value: u32::try_from(value.len()).unwrap_or(u32::MAX),
    })?;
    let needed = value.len() + 1;
    if out.len() < needed {
        return Err(WireError::BufferTooSmall { needed });
    }
    out[0] = KlvHeader { key, len }.encode();
    out[1..needed].copy_from_slice(value);
    Ok(needed)
}

/// Encodes a one-dword KLV (`key`, LEN 1, `value`) into `out`, returning the 2 dwords written;
/// [`WireError::BufferTooSmall`] when `out` holds fewer.
///
/// # Errors
///
/// [`WireError::BufferTooSmall`] when `out` holds fewer than 2 dwords.
pub fn encode_klv_u32(key: KlvKey, value: u32, out: &mut [u32]) -> Result<usize, WireError> {
    encode_klv(key, &[value], out)
}

/// Encodes a two-dword KLV (`key`, LEN 2, `value` low dword first) into `out`, returning the 3
/// dwords written; [`WireError::BufferTooSmall`] when `out` holds fewer.
///
/// # Errors
///
/// [`WireError::BufferTooSmall`] when `out` holds fewer than 3 dwords.
pub fn encode_klv_u64(key: KlvKey, value: u64, out: &mut [u32]) -> Result<usize, WireError> {
    encode_klv(key, &[value as u32, (value >> 32) as u32], out)
}

/// How many KLVs `stream` holds, as the kernel's `xe_guc_klv_count` counts them: every dword
/// that starts an item is a header (a zero dword is a KLV with key 0 and length 0), and a
/// header whose LEN runs past the end is an error ([`WireError::KlvTruncated`]; the kernel's
/// `-ENODATA`).
///
/// # Errors
///
/// [`WireError::KlvTruncated`] when a KLV's LEN runs past the end of `stream`.
pub fn klv_count(stream: &[u32]) -> Result<usize, WireError> {
    let mut n = 0;
    for item in KlvIter::new(stream) {
        item?;
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_and_unknown_keys() {
        let h = KlvHeader::decode(0x0001_0002);
        assert_eq!(
            h,
            KlvHeader {
                key: KlvKey::GgttStart,
                len: 2
            }
        );
        assert_eq!(h.encode(), 0x0001_0002);
        assert_eq!(KlvHeader::decode(0xBEEF_0001).key, KlvKey::Unknown(0xBEEF));
        for raw in 0..=u16::MAX {
            assert_eq!(KlvKey::from_raw(raw).raw(), raw);
        }
    }

    #[test]
    fn expected_lengths() {
        assert_eq!(KlvKey::GgttStart.expected_len(), Some(2));
        assert_eq!(KlvKey::LmemSize.expected_len(), Some(2));
        assert_eq!(KlvKey::NumContexts.expected_len(), Some(1));
        assert_eq!(KlvKey::NumPagingEngineInstances.expected_len(), Some(1));
        assert_eq!(KlvKey::Unknown(9).expected_len(), None);
    }

    #[test]
    fn stream() {
        let mut buf = [0u32; 8];
        let n = encode_klv(KlvKey::GgttSize, &[0x1000_0000, 0], &mut buf).unwrap();
        let m = encode_klv(KlvKey::NumContexts, &[64], &mut buf[n..]).unwrap();
        let items: Result<heapless::Vec<Klv<'_>, 4>, _> = KlvIter::new(&buf[..n + m]).collect();
        let items = items.unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].key, KlvKey::GgttSize);
        assert_eq!(items[1].value, &[64]);
        let truncated = [0x0001_0002, 5];
        let mut it = KlvIter::new(&truncated);
        assert_eq!(
            it.next(),
            Some(Err(WireError::KlvTruncated {
                key: 1,
                len: 2,
                available: 1
            }))
        );
        assert_eq!(it.next(), None);
        assert_eq!(
            encode_klv(KlvKey::GgttSize, &[1, 2], &mut [0u32; 2]),
            Err(WireError::BufferTooSmall { needed: 3 })
        );
    }

    /// The kernel's KUnit vectors for its KLV helpers (section 10 of the fact sheet).
    #[test]
    fn kernel_kunit_vectors() {
        let key = KlvKey::from_raw(0xF3DE);
        let mut out = [0u32; 3];
        assert_eq!(encode_klv_u32(key, 0x1234_5678, &mut out), Ok(2));
        assert_eq!(out[..2], [0xF3DE_0001, 0x1234_5678]);
        assert_eq!(
            encode_klv_u32(key, 0x1234_5678, &mut [0u32; 1]),
            Err(WireError::BufferTooSmall { needed: 2 })
        );
        assert_eq!(encode_klv_u64(key, 0x1234_5678_9ABC_DEF0, &mut out), Ok(3));
        assert_eq!(out, [0xF3DE_0002, 0x9ABC_DEF0, 0x1234_5678]);
        assert_eq!(
            encode_klv_u64(key, 0x1234_5678_9ABC_DEF0, &mut [0u32; 2]),
            Err(WireError::BufferTooSmall { needed: 3 })
        );
        assert_eq!(encode_klv_u32(KlvKey::NumContexts, 1234, &mut out), Ok(2));
        assert_eq!(out[..2], [0x0004_0001, 0x0000_04D2]);
        assert_eq!(
            encode_klv_u64(KlvKey::GgttSize, 0x0000_0123_0000_4000, &mut out),
            Ok(3)
        );
        assert_eq!(out, [0x0002_0002, 0x0000_4000, 0x0000_0123]);

        let stream = [
            0xF3DE_0000,
            0xF3DF_0001,
            0x1234_5678,
            0xF3E0_0002,
            0x1234_5678,
            0x1234_5678,
            0xF3E1_0000,
            0x0000_0000,
        ];
        let counts: [Option<usize>; 9] = [
            Some(0),
            Some(1),
            None,
            Some(2),
            None,
            None,
            Some(3),
            Some(4),
            Some(5),
        ];
        for (n, want) in counts.into_iter().enumerate() {
            assert_eq!(klv_count(&stream[..n]).ok(), want, "first {n} dwords");
        }
        // The error names the header that runs past the end.
        assert_eq!(
            klv_count(&stream[..4]),
            Err(WireError::KlvTruncated {
                key: 0xF3E0,
                len: 2,
                available: 0
            })
        );
        // A zero dword is a KLV with key 0 and length 0.
        let zero: heapless::Vec<Klv<'_>, 1> = KlvIter::new(&[0]).map(Result::unwrap).collect();
        assert_eq!(
            zero[..],
            [Klv {
                key: KlvKey::Unknown(0),
                value: &[]
            }]
        );
    }
}
