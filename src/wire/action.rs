//! VF-to-GuC actions sent over the MMIO mailbox, and their replies.
//!
//! | action | code | request | SUCCESS reply |
//! |---|---|---|---|
//! | MATCH_VERSION | 0x5500 | dw0 DATA0 0; dw1 BRANCH 31:24, MAJOR 23:16, MINOR 15:8, 7:0 zero | dw0 DATA0 0; dw1 BRANCH, MAJOR, MINOR, PATCH |
//! | VF_RESET | 0x5507 | dw0, DATA0 0 | DATA0 0 |
//! | RESFIX_DONE | 0x5508 | dw0, DATA0 = marker (VF ABI 1.27+) or 0 (legacy) | DATA0 0 |
//! | QUERY_SINGLE_KLV | 0x5509 | dw1: 31:16 zero, KEY 15:0 | dw0 27:16 zero, LENGTH 15:0; dw1..3 value |
//! | RESFIX_START | 0x550F | dw0, DATA0 = marker (VF ABI 1.27+) | DATA0 0 |
//! | RELAY_TO_PF | 0x5103 | dw1 RELAY_ID, then the relay message (over CTB, not MMIO) | |

use core::fmt;

use super::hxg::{Header, Message, Origin};
use super::{field, WireError};

/// Action codes.
pub mod code {
    /// VF2GUC_MATCH_VERSION.
    pub const MATCH_VERSION: u16 = 0x5500;
    /// VF2GUC_VF_RESET.
    pub const VF_RESET: u16 = 0x5507;
    /// VF2GUC_RESFIX_DONE (formerly NOTIFY_RESFIX_DONE).
    pub const RESFIX_DONE: u16 = 0x5508;
    /// VF2GUC_QUERY_SINGLE_KLV.
    pub const QUERY_SINGLE_KLV: u16 = 0x5509;
    /// VF2GUC_RESFIX_START.
    pub const RESFIX_START: u16 = 0x550F;
    /// VF2GUC_RELAY_TO_PF.
    pub const RELAY_TO_PF: u16 = 0x5103;
}

/// The most dwords an MMIO mailbox message can have, either way.
pub const MMIO_MSG_MAX_DWORDS: usize = 4;

/// One MMIO mailbox message: 1 to 4 dwords, header first.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MmioMessage {
    dw: [u32; MMIO_MSG_MAX_DWORDS],
    len: u8,
}

impl MmioMessage {
    /// A message from up to 4 dwords; an empty or longer slice is refused.
    ///
    /// # Errors
    ///
    /// [`WireError::BadLength`] for an empty slice or one longer than 4 dwords.
    #[inline(never)]
    pub fn from_slice(dwords: &[u32]) -> Result<MmioMessage, WireError> {
        if dwords.is_empty() || dwords.len() > MMIO_MSG_MAX_DWORDS {
            return Err(WireError::BadLength {
                min: 1,
                max: MMIO_MSG_MAX_DWORDS as u8,
                actual: dwords.len(),
            });
        }
        let mut dw = [0u32; MMIO_MSG_MAX_DWORDS];
        dw[..dwords.len()].copy_from_slice(dwords);
        Ok(MmioMessage {
            dw,
            len: dwords.len() as u8,
        })
    }

    /// A full four-dword message (header and three data dwords). Total.
    #[must_use]
    pub const fn from_array(dw: [u32; MMIO_MSG_MAX_DWORDS]) -> MmioMessage {
        MmioMessage {
            dw,
            len: MMIO_MSG_MAX_DWORDS as u8,
        }
    }

    /// A one-dword message (a header alone). Total.
    #[must_use]
    pub const fn from_header(header: u32) -> MmioMessage {
        MmioMessage {
            dw: [header, 0, 0, 0],
            len: 1,
        }
    }

    /// The dwords, header first.
    #[must_use]
    pub fn as_slice(&self) -> &[u32] {
        &self.dw[..usize::from(self.len).min(MMIO_MSG_MAX_DWORDS)]
    }

    /// The header dword.
    #[must_use]
    pub const fn header(&self) -> u32 {
        self.dw[0]
    }

    /// Number of dwords (1..=4).
    #[must_use]
    pub const fn len(&self) -> usize {
        self.len as usize
    }

    /// Always false: a message has at least its header.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Debug for MmioMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, dw) in self.as_slice().iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{dw:#010x}")?;
        }
        f.write_str("]")
    }
}

/// A GuC VF interface version.
///
/// Ordered by branch, then major, minor, patch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Version {
    /// Branch (0 = the main branch, or "any" in a request).
    pub branch: u8,
    /// Major (0 in a request = "the latest").
    pub major: u8,
    /// Minor.
    pub minor: u8,
    /// Patch (always 0 in a request).
    pub patch: u8,
}

impl Version {
    /// Version `major.minor` on the main branch, patch 0.
    #[must_use]
    pub const fn new(major: u8, minor: u8) -> Version {
        Version {
            branch: 0,
            major,
            minor,
            patch: 0,
        }
    }

    /// Whether this version is `major.minor` or later within its major (the way the kernel's
    /// `GUC_FIRMWARE_VER >= MAKE_GUC_VER(...)` gates read).
    #[must_use]
    pub const fn at_least(&self, major: u8, minor: u8) -> bool {
        self.major > major || (self.major == major && self.minor >= minor)
    }

    /// The version dword: BRANCH 31:24, MAJOR 23:16, MINOR 15:8, PATCH 7:0.
    #[must_use]
    pub const fn to_dword(self) -> u32 {
        (self.branch as u32) << 24
            | (self.major as u32) << 16
            | (self.minor as u32) << 8
            | self.patch as u32
    }

    /// Splits a version dword.
    #[must_use]
    pub const fn from_dword(dw: u32) -> Version {
        Version {
            branch: field(dw, 31, 24) as u8,
            major: field(dw, 23, 16) as u8,
            minor: field(dw, 15, 8) as u8,
            patch: field(dw, 7, 0) as u8,
        }
    }

    /// Decodes a MATCH_VERSION SUCCESS reply (header + version dword): DATA0 must be 0.
    ///
    /// # Errors
    ///
    /// What [`success_data0`] fails with for a reply that is not a SUCCESS;
    /// [`WireError::MustBeZero`] when DATA0 is not 0; [`WireError::BadLength`] when the version
    /// dword is missing.
    #[inline(never)]
    pub fn decode_match_reply(reply: &[u32]) -> Result<Version, WireError> {
        let data0 = success_data0(reply)?;
        if data0 != 0 {
            return Err(WireError::MustBeZero {
                dword: 0,
                bits: data0,
            });
        }
        match reply.get(1) {
            Some(&dw) => Ok(Version::from_dword(dw)),
            None => Err(WireError::BadLength {
                min: 2,
                max: MMIO_MSG_MAX_DWORDS as u8,
                actual: reply.len(),
            }),
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.branch != 0 {
            write!(f, "{}:", self.branch)?;
        }
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// As `Display`: `1.27.0`, or `2:1.27.0` on a non-zero branch (not the struct's fields).
#[cfg(feature = "defmt")]
impl defmt::Format for Version {
    fn format(&self, f: defmt::Formatter<'_>) {
        if self.branch != 0 {
            defmt::write!(f, "{=u8}:", self.branch);
        }
        defmt::write!(f, "{=u8}.{=u8}.{=u8}", self.major, self.minor, self.patch)
    }
}

/// A RESFIX marker: the value RESFIX_START sets and RESFIX_DONE must repeat (VF ABI 1.27+).
///
/// Never zero; at most 0xFFF (the width of DATA0). The kernel uses `1 + an 8-bit counter`,
/// so 1..=256: see [`Marker::from_counter`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Marker(u16);

impl Marker {
    /// The largest marker DATA0 can carry.
    pub const MAX: u16 = 0xFFF;

    /// A marker from a raw value; 0 and values over 0xFFF are refused.
    ///
    /// # Errors
    ///
    /// [`WireError::BadMarker`] for 0 and for values over [`Marker::MAX`].
    pub const fn new(raw: u32) -> Result<Marker, WireError> {
        if raw == 0 || raw > Marker::MAX as u32 {
            Err(WireError::BadMarker(raw))
        } else {
            Ok(Marker(raw as u16))
        }
    }

    /// The kernel's marker for a recovery counter: `1 + counter`, in 1..=256.
    #[must_use]
    pub const fn from_counter(counter: u8) -> Marker {
        Marker(counter as u16 + 1)
    }

    /// The raw value.
    #[must_use]
    pub const fn get(self) -> u16 {
        self.0
    }
}

/// A VF-to-GuC request sent over the MMIO mailbox.
///
/// ```
/// use xe_sriov_vf::wire::{Marker, Request, Version};
///
/// let msg = Request::MatchVersion { wanted: Version::new(1, 2) }.encode().unwrap();
/// assert_eq!(msg.as_slice(), &[0x0000_5500, 0x0001_0200]);
/// let done = Request::ResfixDone { marker: Some(Marker::from_counter(0)) };
/// assert_eq!(done.encode().unwrap().as_slice(), &[0x0001_5508]);
/// // What the GuC does with it: strict decoding, must-be-zero bits checked.
/// assert_eq!(Request::decode(&[0x0001_5508]), Ok(done));
/// assert!(Request::decode(&[0x0001_5507]).is_err()); // VF_RESET with DATA0 set
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Request {
    /// VF2GUC_VF_RESET.
    VfReset,
    /// VF2GUC_MATCH_VERSION with the wanted version (`patch` must be 0; major 0 means "latest").
    MatchVersion {
        /// Wanted branch/major/minor.
        wanted: Version,
    },
    /// VF2GUC_QUERY_SINGLE_KLV for `key`.
    QuerySingleKlv {
        /// KLV key.
        key: u16,
    },
    /// VF2GUC_RESFIX_START with a marker.
    ResfixStart {
        /// Marker.
        marker: Marker,
    },
    /// VF2GUC_RESFIX_DONE: with the marker (VF ABI 1.27+) or without (legacy, DATA0 0).
    ResfixDone {
        /// Marker, or `None` for the legacy form.
        marker: Option<Marker>,
    },
}

impl Request {
    /// The action code.
    #[must_use]
    pub const fn action(&self) -> u16 {
        match self {
            Request::VfReset => code::VF_RESET,
            Request::MatchVersion { .. } => code::MATCH_VERSION,
            Request::QuerySingleKlv { .. } => code::QUERY_SINGLE_KLV,
            Request::ResfixStart { .. } => code::RESFIX_START,
            Request::ResfixDone { .. } => code::RESFIX_DONE,
        }
    }

    /// Whether the SUCCESS reply carries data the VF reads (MATCH_VERSION's version dword,
    /// QUERY_SINGLE_KLV's value): the kernel reads the data registers only for these.
    #[must_use]
    pub const fn reply_has_data(&self) -> bool {
        matches!(
            self,
            Request::MatchVersion { .. } | Request::QuerySingleKlv { .. }
        )
    }

    /// Encodes the request. Fails only for a MATCH_VERSION whose `patch` is not 0.
    ///
    /// # Errors
    ///
    /// [`WireError::MustBeZero`] for a MATCH_VERSION whose `patch` is not 0.
    #[inline(never)]
    pub fn encode(&self) -> Result<MmioMessage, WireError> {
        let (data0, dw1) = match *self {
            Request::VfReset => (0, None),
            Request::MatchVersion { wanted } => {
                if wanted.patch != 0 {
                    return Err(WireError::MustBeZero {
                        dword: 1,
                        bits: wanted.patch as u32,
                    });
                }
                (0, Some(wanted.to_dword()))
            }
            Request::QuerySingleKlv { key } => (0, Some(key as u32)),
            Request::ResfixStart { marker } => (marker.get(), None),
            Request::ResfixDone { marker } => (marker.map_or(0, Marker::get), None),
        };
        let header = Header::request(self.action(), data0).encode()?;
        match dw1 {
            Some(dw1) => MmioMessage::from_slice(&[header, dw1]),
            None => MmioMessage::from_slice(&[header]),
        }
    }

    /// Decodes a request as the GuC receives it, strictly: host origin, REQUEST type, a known
    /// VF action, the exact length, every must-be-zero field zero.
    ///
    /// # Errors
    ///
    /// [`WireError::BadLength`] for a wrong length; [`WireError::UndefinedType`],
    /// [`WireError::WrongOrigin`] or [`WireError::UnexpectedType`] for a header that is not a host
    /// REQUEST; [`WireError::UnknownAction`] for an action that is not a VF action;
    /// [`WireError::MustBeZero`] for a must-be-zero field set; [`WireError::BadMarker`] for a
    /// RESFIX marker outside 1..=0xFFF.
    pub fn decode(msg: &[u32]) -> Result<Request, WireError> {
        let header = match msg.first() {
            Some(&h) => Header::decode(h)?,
            None => {
                return Err(WireError::BadLength {
                    min: 1,
                    max: MMIO_MSG_MAX_DWORDS as u8,
                    actual: 0,
                })
            }
        };
        if header.origin != Origin::Host {
            return Err(WireError::WrongOrigin);
        }
        let (action, data0) = match header.message {
            Message::Request { action, data0 } => (action, data0),
            other => return Err(WireError::UnexpectedType(other.msg_type())),
        };
        let expect_len = |n: usize| -> Result<(), WireError> {
            if msg.len() == n {
                Ok(())
            } else {
                Err(WireError::BadLength {
                    min: n as u8,
                    max: n as u8,
                    actual: msg.len(),
                })
            }
        };
        let data0_zero = || -> Result<(), WireError> {
            if data0 == 0 {
                Ok(())
            } else {
                Err(WireError::MustBeZero {
                    dword: 0,
                    bits: (data0 as u32) << 16,
                })
            }
        };
        match action {
            code::VF_RESET => {
                expect_len(1)?;
                data0_zero()?;
                Ok(Request::VfReset)
            }
            code::MATCH_VERSION => {
                expect_len(2)?;
                data0_zero()?;
                let wanted = Version::from_dword(msg[1]);
                if wanted.patch != 0 {
                    return Err(WireError::MustBeZero {
                        dword: 1,
                        bits: wanted.patch as u32,
                    });
                }
                Ok(Request::MatchVersion { wanted })
            }
            code::QUERY_SINGLE_KLV => {
                expect_len(2)?;
                data0_zero()?;
                let high = msg[1] & 0xFFFF_0000;
                if high != 0 {
                    return Err(WireError::MustBeZero {
                        dword: 1,
                        bits: high,
                    });
                }
                Ok(Request::QuerySingleKlv { key: msg[1] as u16 })
            }
            code::RESFIX_START => {
                expect_len(1)?;
                Ok(Request::ResfixStart {
                    marker: Marker::new(data0 as u32)?,
                })
            }
            code::RESFIX_DONE => {
                expect_len(1)?;
                let marker = match data0 {
                    0 => None,
                    m => Some(Marker::new(m as u32)?),
                };
                Ok(Request::ResfixDone { marker })
            }
            other => Err(WireError::UnknownAction(other)),
        }
    }
}

/// Extracts DATA0 from a SUCCESS reply (`reply[0]` must be a GuC-origin RESPONSE_SUCCESS).
///
/// # Errors
///
/// [`WireError::BadLength`] for an empty reply; [`WireError::UndefinedType`] or
/// [`WireError::WrongOrigin`] for a header that is not a GuC reply; [`WireError::UnexpectedType`]
/// for BUSY, RETRY or FAILURE (or a request or event).
#[inline(never)]
pub fn success_data0(reply: &[u32]) -> Result<u32, WireError> {
    let first = match reply.first() {
        Some(&h) => h,
        None => {
            return Err(WireError::BadLength {
                min: 1,
                max: MMIO_MSG_MAX_DWORDS as u8,
                actual: 0,
            })
        }
    };
    match super::hxg::Reply::decode(first)? {
        super::hxg::Reply::Success { data0 } => Ok(data0),
        super::hxg::Reply::Busy { .. } => Err(WireError::UnexpectedType(
            super::hxg::MsgType::NoResponseBusy,
        )),
        super::hxg::Reply::Retry { .. } => Err(WireError::UnexpectedType(
            super::hxg::MsgType::NoResponseRetry,
        )),
        super::hxg::Reply::Failure { .. } => Err(WireError::UnexpectedType(
            super::hxg::MsgType::ResponseFailure,
        )),
    }
}

/// Checks a SUCCESS reply that carries nothing (VF_RESET, RESFIX_START, RESFIX_DONE):
/// DATA0 must be 0. Extra dwords (the mailbox always reads all scratch registers) are ignored.
///
/// # Errors
///
/// As [`success_data0`]; [`WireError::MustBeZero`] when DATA0 is not 0.
pub fn decode_empty_reply(reply: &[u32]) -> Result<(), WireError> {
    match success_data0(reply)? {
        0 => Ok(()),
        bits => Err(WireError::MustBeZero { dword: 0, bits }),
    }
}

/// A QUERY_SINGLE_KLV SUCCESS reply: the value length the GuC reported and up to 3 value dwords.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct KlvReply {
    /// LENGTH as the GuC reported it, in dwords (may exceed 3: the caller decides).
    pub len: u16,
    /// Value dwords 0..3 as read (bits 31:0, 63:32, 95:64); missing ones are 0.
    pub value: [u32; 3],
}

impl KlvReply {
    /// Decodes the reply: header bits 27:16 must be 0.
    ///
    /// # Errors
    ///
    /// As [`success_data0`]; [`WireError::MustBeZero`] when header bits 27:16 are set.
    #[inline(never)]
    pub fn decode(reply: &[u32]) -> Result<KlvReply, WireError> {
        let data0 = success_data0(reply)?;
        let high = data0 & 0x0FFF_0000;
        if high != 0 {
            return Err(WireError::MustBeZero {
                dword: 0,
                bits: high,
            });
        }
        let mut value = [0u32; 3];
        for (slot, dw) in value.iter_mut().zip(reply.iter().skip(1)) {
            *slot = *dw;
        }
        Ok(KlvReply {
            len: data0 as u16,
            value,
        })
    }

    /// The reply as the GuC encodes it: header plus three value dwords.
    ///
    /// # Errors
    ///
    /// [`WireError::FieldOverflow`] when `len` is wider than the 28-bit DATA0.
    #[inline(never)]
    pub fn encode(&self) -> Result<MmioMessage, WireError> {
        let header = super::hxg::Reply::Success {
            data0: self.len as u32,
        }
        .encode()?;
        MmioMessage::from_slice(&[header, self.value[0], self.value[1], self.value[2]])
    }

    /// The first two value dwords as a 64-bit value.
    #[must_use]
    pub const fn value_u64(&self) -> u64 {
        (self.value[1] as u64) << 32 | self.value[0] as u64
    }
}

/// The header of VF2GUC_RELAY_TO_PF (sent over the CTB, not the MMIO mailbox): the request
/// header and the RELAY_ID dword; the relay message to the PF follows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RelayToPf {
    /// Identifies the relay transaction; the PF's reply carries it back.
    pub relay_id: u32,
}

impl RelayToPf {
    /// Dwords of the header (request header + RELAY_ID).
    pub const HEADER_DWORDS: usize = 2;

    /// Encodes the two header dwords.
    #[must_use]
    pub const fn encode(&self) -> [u32; 2] {
        // A host REQUEST with DATA0 0 is just the action code.
        [code::RELAY_TO_PF as u32, self.relay_id]
    }

    /// Decodes the header of a relay message and returns it with the relayed payload.
    ///
    /// # Errors
    ///
    /// [`WireError::BadLength`] for fewer than [`HEADER_DWORDS`](RelayToPf::HEADER_DWORDS) dwords;
    /// [`WireError::UndefinedType`], [`WireError::WrongOrigin`] or [`WireError::UnexpectedType`]
    /// for a header that is not a host REQUEST; [`WireError::UnknownAction`] for another action;
    /// [`WireError::MustBeZero`] when DATA0 is not 0.
    pub fn decode(msg: &[u32]) -> Result<(RelayToPf, &[u32]), WireError> {
        if msg.len() < Self::HEADER_DWORDS {
            return Err(WireError::BadLength {
                min: Self::HEADER_DWORDS as u8,
                max: u8::MAX,
                actual: msg.len(),
            });
        }
        let header = Header::decode(msg[0])?;
        if header.origin != Origin::Host {
            return Err(WireError::WrongOrigin);
        }
        match header.message {
            Message::Request {
                action: code::RELAY_TO_PF,
                data0: 0,
            } => Ok((RelayToPf { relay_id: msg[1] }, &msg[2..])),
            Message::Request {
                action: code::RELAY_TO_PF,
                data0,
            } => Err(WireError::MustBeZero {
                dword: 0,
                bits: (data0 as u32) << 16,
            }),
            Message::Request { action, .. } => Err(WireError::UnknownAction(action)),
            other => Err(WireError::UnexpectedType(other.msg_type())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(r: Request) -> MmioMessage {
        r.encode().unwrap()
    }

    #[test]
    fn abi_sheet_request_encodings() {
        assert_eq!(enc(Request::VfReset).as_slice(), &[0x0000_5507]);
        assert_eq!(
            enc(Request::MatchVersion {
                wanted: Version::new(1, 2)
            })
            .as_slice(),
            &[0x0000_5500, 0x0001_0200]
        );
        assert_eq!(
            enc(Request::QuerySingleKlv { key: 0x0001 }).as_slice(),
            &[0x0000_5509, 0x0000_0001]
        );
        let m1 = Marker::new(1).unwrap();
        assert_eq!(
            enc(Request::ResfixStart { marker: m1 }).as_slice(),
            &[0x0001_550F]
        );
        assert_eq!(
            enc(Request::ResfixDone { marker: Some(m1) }).as_slice(),
            &[0x0001_5508]
        );
        assert_eq!(
            enc(Request::ResfixDone { marker: None }).as_slice(),
            &[0x0000_5508]
        );
    }

    #[test]
    fn requests_round_trip() {
        let reqs = [
            Request::VfReset,
            Request::MatchVersion {
                wanted: Version::new(1, 27),
            },
            Request::QuerySingleKlv { key: 0x3001 },
            Request::ResfixStart {
                marker: Marker::from_counter(255),
            },
            Request::ResfixDone { marker: None },
        ];
        for r in reqs {
            assert_eq!(Request::decode(enc(r).as_slice()), Ok(r));
        }
    }

    #[test]
    fn strict_request_decoding() {
        assert_eq!(
            Request::decode(&[0x0001_5507]),
            Err(WireError::MustBeZero {
                dword: 0,
                bits: 0x0001_0000
            })
        );
        assert_eq!(
            Request::decode(&[0x0000_5500, 0x0001_0203]),
            Err(WireError::MustBeZero { dword: 1, bits: 3 })
        );
        assert_eq!(
            Request::decode(&[0x0000_5509, 0x0001_0001]),
            Err(WireError::MustBeZero {
                dword: 1,
                bits: 0x0001_0000
            })
        );
        assert_eq!(
            Request::decode(&[0x0000_550F]),
            Err(WireError::BadMarker(0))
        );
        assert_eq!(
            Request::decode(&[0x0000_5509]),
            Err(WireError::BadLength {
                min: 2,
                max: 2,
                actual: 1
            })
        );
        assert_eq!(
            Request::decode(&[0x0000_1234]),
            Err(WireError::UnknownAction(0x1234))
        );
        assert_eq!(Request::decode(&[0x8000_5507]), Err(WireError::WrongOrigin));
        assert!(Request::decode(&[]).is_err());
    }

    #[test]
    fn markers() {
        assert_eq!(Marker::from_counter(0).get(), 1);
        assert_eq!(Marker::from_counter(255).get(), 256);
        assert_eq!(Marker::new(0), Err(WireError::BadMarker(0)));
        assert_eq!(Marker::new(0x1000), Err(WireError::BadMarker(0x1000)));
        assert_eq!(Marker::new(0xFFF).map(Marker::get), Ok(0xFFF));
    }

    #[test]
    fn match_version_reply() {
        assert_eq!(
            Version::decode_match_reply(&[0xF000_0000, 0x0001_1B03]),
            Ok(Version {
                branch: 0,
                major: 1,
                minor: 27,
                patch: 3
            })
        );
        assert_eq!(
            Version::decode_match_reply(&[0xF000_0001, 0x0001_1B03]),
            Err(WireError::MustBeZero { dword: 0, bits: 1 })
        );
        assert!(Version::decode_match_reply(&[0xF000_0000]).is_err());
        assert!(Version::decode_match_reply(&[0xE000_0107, 0]).is_err());
    }

    #[test]
    fn klv_reply() {
        let r = KlvReply::decode(&[0xF000_0002, 0x1000, 0x2, 0xdead]).unwrap();
        assert_eq!(r.len, 2);
        assert_eq!(r.value_u64(), 0x2_0000_1000);
        assert_eq!(KlvReply::decode(r.encode().unwrap().as_slice()), Ok(r));
        assert_eq!(
            KlvReply::decode(&[0xF001_0002, 0, 0, 0]),
            Err(WireError::MustBeZero {
                dword: 0,
                bits: 0x0001_0000
            })
        );
    }

    #[test]
    fn empty_reply() {
        assert_eq!(decode_empty_reply(&[0xF000_0000, 1, 2, 3]), Ok(()));
        assert_eq!(
            decode_empty_reply(&[0xF000_0004]),
            Err(WireError::MustBeZero { dword: 0, bits: 4 })
        );
    }

    #[test]
    fn relay_to_pf_header() {
        let h = RelayToPf { relay_id: 7 };
        let mut msg = [0u32; 4];
        msg[..2].copy_from_slice(&h.encode());
        msg[2] = 0xAA;
        msg[3] = 0xBB;
        let (d, payload) = RelayToPf::decode(&msg).unwrap();
        assert_eq!(d, h);
        assert_eq!(payload, &[0xAA, 0xBB]);
        assert!(RelayToPf::decode(&[0x5103]).is_err());
        assert!(RelayToPf::decode(&[0x0001_5103, 1]).is_err());
    }

    #[test]
    fn mmio_message_bounds() {
        assert!(MmioMessage::from_slice(&[]).is_err());
        assert!(MmioMessage::from_slice(&[1, 2, 3, 4, 5]).is_err());
        assert_eq!(
            MmioMessage::from_slice(&[1, 2]).unwrap().as_slice(),
            &[1, 2]
        );
    }
}
