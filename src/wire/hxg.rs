//! The HXG header: dword 0 of every GuC message.
//!
//! | field | bits |
//! |---|---|
//! | ORIGIN | 31 (HOST = 0, GUC = 1) |
//! | TYPE | 30:28 |
//! | REQUEST / EVENT / FAST_REQUEST | 27:16 DATA0, 15:0 ACTION |
//! | NO_RESPONSE_BUSY | 27:0 COUNTER |
//! | NO_RESPONSE_RETRY | 27:0 REASON |
//! | RESPONSE_FAILURE | 27:16 HINT, 15:0 ERROR |
//! | RESPONSE_SUCCESS | 27:0 DATA0 |

use super::{field, mask, GucError, WireError};

const ORIGIN_SHIFT: u32 = 31;
const TYPE_SHIFT: u32 = 28;
/// Width of a request's DATA0 field and of a FAILURE's HINT field.
pub const DATA0_12_BITS: u32 = 12;
/// Width of the 28-bit payload of BUSY, RETRY and SUCCESS.
pub const PAYLOAD_28_BITS: u32 = 28;

/// Which side sent a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Origin {
    /// The host (here: the VF driver).
    Host,
    /// The GuC firmware.
    Guc,
}

/// The HXG message TYPE field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum MsgType {
    /// 0: a request that wants a response.
    Request,
    /// 1: an event, no response.
    Event,
    /// 2: a request whose response is only sent on failure.
    FastRequest,
    /// 3: the GuC is still working on the request; keep waiting.
    NoResponseBusy,
    /// 5: the GuC dropped the request; send it again.
    NoResponseRetry,
    /// 6: the request failed.
    ResponseFailure,
    /// 7: the request succeeded.
    ResponseSuccess,
}

impl MsgType {
    /// Decodes the 3-bit TYPE field; 4 (and anything wider than 3 bits) is not a type.
    ///
    /// # Errors
    ///
    /// [`WireError::UndefinedType`] for 4 and for anything wider than 3 bits.
    pub const fn from_raw(raw: u32) -> Result<MsgType, WireError> {
        Ok(match raw {
            0 => MsgType::Request,
            1 => MsgType::Event,
            2 => MsgType::FastRequest,
            3 => MsgType::NoResponseBusy,
            5 => MsgType::NoResponseRetry,
            6 => MsgType::ResponseFailure,
            7 => MsgType::ResponseSuccess,
            other => return Err(WireError::UndefinedType(other as u8)),
        })
    }

    /// The 3-bit TYPE value.
    #[must_use]
    pub const fn raw(self) -> u32 {
        match self {
            MsgType::Request => 0,
            MsgType::Event => 1,
            MsgType::FastRequest => 2,
            MsgType::NoResponseBusy => 3,
            MsgType::NoResponseRetry => 5,
            MsgType::ResponseFailure => 6,
            MsgType::ResponseSuccess => 7,
        }
    }
}

/// The type-specific content of a header dword.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Message {
    /// A request (DATA0 is 12 bits).
    Request {
        /// ACTION code.
        action: u16,
        /// DATA0, 12 bits.
        data0: u16,
    },
    /// An event (DATA0 is 12 bits).
    Event {
        /// ACTION code.
        action: u16,
        /// DATA0, 12 bits.
        data0: u16,
    },
    /// A fast request (DATA0 is 12 bits).
    FastRequest {
        /// ACTION code.
        action: u16,
        /// DATA0, 12 bits.
        data0: u16,
    },
    /// NO_RESPONSE_BUSY with its 28-bit progress counter.
    Busy {
        /// Progress counter.
        counter: u32,
    },
    /// NO_RESPONSE_RETRY with its 28-bit reason (0 = unspecified).
    Retry {
        /// Reason.
        reason: u32,
    },
    /// RESPONSE_FAILURE.
    Failure {
        /// 12-bit hint.
        hint: u16,
        /// Error code.
        error: GucError,
    },
    /// RESPONSE_SUCCESS with its 28-bit DATA0.
    Success {
        /// DATA0.
        data0: u32,
    },
}

impl Message {
    /// The TYPE of this message.
    #[must_use]
    pub const fn msg_type(&self) -> MsgType {
        match self {
            Message::Request { .. } => MsgType::Request,
            Message::Event { .. } => MsgType::Event,
            Message::FastRequest { .. } => MsgType::FastRequest,
            Message::Busy { .. } => MsgType::NoResponseBusy,
            Message::Retry { .. } => MsgType::NoResponseRetry,
            Message::Failure { .. } => MsgType::ResponseFailure,
            Message::Success { .. } => MsgType::ResponseSuccess,
        }
    }
}

/// A decoded header dword.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Header {
    /// Who sent it.
    pub origin: Origin,
    /// What it is.
    pub message: Message,
}

impl Header {
    /// A host request header.
    #[must_use]
    pub const fn request(action: u16, data0: u16) -> Header {
        Header {
            origin: Origin::Host,
            message: Message::Request { action, data0 },
        }
    }

    /// Decodes any dword. Fails only for the undefined TYPE 4.
    ///
    /// # Errors
    ///
    /// [`WireError::UndefinedType`] for TYPE 4.
    pub const fn decode(dw: u32) -> Result<Header, WireError> {
        let origin = if dw >> ORIGIN_SHIFT == 1 {
            Origin::Guc
        } else {
            Origin::Host
        };
        let msg_type = match MsgType::from_raw(field(dw, 30, TYPE_SHIFT)) {
            Ok(t) => t,
            Err(e) => return Err(e),
        };
        let action = field(dw, 15, 0) as u16;
        let data0_12 = field(dw, 27, 16) as u16;
        let payload = field(dw, 27, 0);
        let message = match msg_type {
            MsgType::Request => Message::Request {
                action,
                data0: data0_12,
            },
            MsgType::Event => Message::Event {
                action,
                data0: data0_12,
            },
            MsgType::FastRequest => Message::FastRequest {
                action,
                data0: data0_12,
            },
            MsgType::NoResponseBusy => Message::Busy { counter: payload },
            MsgType::NoResponseRetry => Message::Retry { reason: payload },
            MsgType::ResponseFailure => Message::Failure {
                hint: data0_12,
                error: GucError::from_raw(action),
            },
            MsgType::ResponseSuccess => Message::Success { data0: payload },
        };
        Ok(Header { origin, message })
    }

    /// Encodes the header, refusing fields wider than their slot.
    ///
    /// # Errors
    ///
    /// [`WireError::FieldOverflow`] for a field wider than its slot (a 12-bit DATA0 or hint, a
    /// 28-bit payload).
    pub const fn encode(&self) -> Result<u32, WireError> {
        let origin = match self.origin {
            Origin::Host => 0,
            Origin::Guc => 1u32 << ORIGIN_SHIFT,
        };
        let ty = self.message.msg_type().raw() << TYPE_SHIFT;
        let body = match self.message {
            Message::Request { action, data0 }
            | Message::Event { action, data0 }
            | Message::FastRequest { action, data0 } => {
                if data0 as u32 > mask(DATA0_12_BITS) {
                    return Err(WireError::FieldOverflow {
                        bits: DATA0_12_BITS as u8,
                        value: data0 as u32,
                    });
                }
                ((data0 as u32) << 16) | action as u32
            }
            Message::Failure { hint, error } => {
                if hint as u32 > mask(DATA0_12_BITS) {
                    return Err(WireError::FieldOverflow {
                        bits: DATA0_12_BITS as u8,
                        value: hint as u32,
                    });
                }
                ((hint as u32) << 16) | error.raw() as u32
            }
            Message::Busy { counter: v }
            | Message::Retry { reason: v }
            | Message::Success { data0: v } => {
                if v > mask(PAYLOAD_28_BITS) {
                    return Err(WireError::FieldOverflow {
                        bits: PAYLOAD_28_BITS as u8,
                        value: v,
                    });
                }
                v
            }
        };
        Ok(origin | ty | body)
    }
}

/// A reply the host may read back from the GuC: the four response-side types, with the origin
/// already checked.
///
/// ```
/// use xe_sriov_vf::wire::hxg::Reply;
/// use xe_sriov_vf::wire::{GucError, WireError};
///
/// assert_eq!(Reply::decode(0xF000_0002), Ok(Reply::Success { data0: 2 }));
/// assert_eq!(
///     Reply::decode(0xE000_0107),
///     Ok(Reply::Failure { hint: 0, error: GucError::VfMigrated })
/// );
/// assert_eq!(Reply::decode(0x7000_0000), Err(WireError::WrongOrigin));
/// assert_eq!(Reply::decode(0xC000_0000), Err(WireError::UndefinedType(4)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Reply {
    /// Still working; keep polling.
    Busy {
        /// Progress counter.
        counter: u32,
    },
    /// The request was dropped; send it again.
    Retry {
        /// Reason (0 = unspecified).
        reason: u32,
    },
    /// The request failed.
    Failure {
        /// 12-bit hint.
        hint: u16,
        /// Error code.
        error: GucError,
    },
    /// The request succeeded.
    Success {
        /// 28-bit DATA0.
        data0: u32,
    },
}

impl Reply {
    /// Decodes a reply header: it must come from the GuC and be BUSY, RETRY, FAILURE or SUCCESS.
    ///
    /// # Errors
    ///
    /// [`WireError::UndefinedType`] for TYPE 4; [`WireError::WrongOrigin`] for a host-origin dword;
    /// [`WireError::UnexpectedType`] for a request or event.
    #[inline(never)]
    pub const fn decode(dw: u32) -> Result<Reply, WireError> {
        // The checks of `Header::decode` and then of the origin and type, in that order, on
        // the fields directly: only the reply types' fields are extracted.
        let msg_type = match MsgType::from_raw(field(dw, 30, TYPE_SHIFT)) {
            Ok(t) => t,
            Err(e) => return Err(e),
        };
        if dw >> ORIGIN_SHIFT != 1 {
            return Err(WireError::WrongOrigin);
        }
        let payload = field(dw, 27, 0);
        match msg_type {
            MsgType::NoResponseBusy => Ok(Reply::Busy { counter: payload }),
            MsgType::NoResponseRetry => Ok(Reply::Retry { reason: payload }),
            MsgType::ResponseFailure => Ok(Reply::Failure {
                hint: field(dw, 27, 16) as u16,
                error: GucError::from_raw(field(dw, 15, 0) as u16),
            }),
            MsgType::ResponseSuccess => Ok(Reply::Success { data0: payload }),
            other => Err(WireError::UnexpectedType(other)),
        }
    }

    /// The TYPE of this reply.
    #[must_use]
    pub const fn msg_type(&self) -> MsgType {
        match self {
            Reply::Busy { .. } => MsgType::NoResponseBusy,
            Reply::Retry { .. } => MsgType::NoResponseRetry,
            Reply::Failure { .. } => MsgType::ResponseFailure,
            Reply::Success { .. } => MsgType::ResponseSuccess,
        }
    }

    /// Encodes this reply as a GuC-origin header dword.
    ///
    /// # Errors
    ///
    /// [`WireError::FieldOverflow`] for a field wider than its slot (a 12-bit hint, a 28-bit
    /// payload).
    pub const fn encode(&self) -> Result<u32, WireError> {
        let message = match *self {
            Reply::Busy { counter } => Message::Busy { counter },
            Reply::Retry { reason } => Message::Retry { reason },
            Reply::Failure { hint, error } => Message::Failure { hint, error },
            Reply::Success { data0 } => Message::Success { data0 },
        };
        Header {
            origin: Origin::Guc,
            message,
        }
        .encode()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abi_sheet_reply_encodings() {
        assert_eq!(Reply::decode(0xF000_0002), Ok(Reply::Success { data0: 2 }));
        assert_eq!(
            Reply::decode(0xE000_0107),
            Ok(Reply::Failure {
                hint: 0,
                error: GucError::VfMigrated
            })
        );
        assert_eq!(Reply::decode(0xB000_0005), Ok(Reply::Busy { counter: 5 }));
        assert_eq!(Reply::decode(0xD000_0003), Ok(Reply::Retry { reason: 3 }));
        assert_eq!(Reply::Success { data0: 2 }.encode(), Ok(0xF000_0002));
        assert_eq!(
            Reply::Failure {
                hint: 0,
                error: GucError::VfMigrated
            }
            .encode(),
            Ok(0xE000_0107)
        );
    }

    #[test]
    fn undefined_type_four_is_an_error() {
        assert_eq!(
            Header::decode(0x4000_0000),
            Err(WireError::UndefinedType(4))
        );
        assert_eq!(
            Header::decode(0xC000_0000),
            Err(WireError::UndefinedType(4))
        );
    }

    #[test]
    fn replies_must_come_from_the_guc() {
        assert_eq!(Reply::decode(0x7000_0000), Err(WireError::WrongOrigin));
        assert_eq!(
            Reply::decode(0x8000_5507),
            Err(WireError::UnexpectedType(MsgType::Request))
        );
        assert_eq!(
            Reply::decode(0x9000_0001),
            Err(WireError::UnexpectedType(MsgType::Event))
        );
    }

    /// `Reply::decode` reads the fields itself: it must answer what `Header::decode` and the
    /// origin and type checks on its result answer, for every origin and TYPE.
    #[test]
    fn reply_decode_agrees_with_header_decode() {
        let via_header = |dw: u32| -> Result<Reply, WireError> {
            let header = Header::decode(dw)?;
            if header.origin != Origin::Guc {
                return Err(WireError::WrongOrigin);
            }
            match header.message {
                Message::Busy { counter } => Ok(Reply::Busy { counter }),
                Message::Retry { reason } => Ok(Reply::Retry { reason }),
                Message::Failure { hint, error } => Ok(Reply::Failure { hint, error }),
                Message::Success { data0 } => Ok(Reply::Success { data0 }),
                other => Err(WireError::UnexpectedType(other.msg_type())),
            }
        };
        for top in 0..16u32 {
            for low in [0, 1, 0x107, 0xF000, 0x0ABC_1234, 0x0FFF_FFFF] {
                let dw = top << 28 | low;
                assert_eq!(Reply::decode(dw), via_header(dw), "{dw:#010x}");
            }
        }
    }

    #[test]
    fn request_fields() {
        let h = Header::decode(0x0001_550F).unwrap();
        assert_eq!(h.origin, Origin::Host);
        assert_eq!(
            h.message,
            Message::Request {
                action: 0x550F,
                data0: 1
            }
        );
        assert_eq!(h.encode(), Ok(0x0001_550F));
    }

    #[test]
    fn overwide_fields_are_refused() {
        assert_eq!(
            Header::request(0x5508, 0x1000).encode(),
            Err(WireError::FieldOverflow {
                bits: 12,
                value: 0x1000
            })
        );
        assert_eq!(
            Reply::Success { data0: 1 << 28 }.encode(),
            Err(WireError::FieldOverflow {
                bits: 28,
                value: 1 << 28
            })
        );
    }
}
