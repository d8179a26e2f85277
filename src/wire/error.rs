//! GuC error codes, as carried in the ERROR field of a RESPONSE_FAILURE message.

use core::fmt;

/// A GuC error code. Codes this crate does not know still decode, as [`GucError::Other`], with
/// the raw value kept.
///
/// Equality and hashing go by the wire code, so `Other(0x107) == VfMigrated`: a hand-built
/// `Other` holding a known code is the same error.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum GucError {
    /// 0x0A: the request is not valid in the VF's current state.
    InvalidState,
    /// 0x0B: the requested interface version is not supported.
    UnsupportedVersion,
    /// 0x0D: the VF has not been provisioned.
    UnprovisionedVf,
    /// 0x20: not supported.
    NotSupported,
    /// 0x30: the action code is unknown to the GuC.
    UnknownAction,
    /// 0x40: the VF may not do this.
    NoPermission,
    /// 0x50: invalid KLV data.
    InvalidKlvData,
    /// 0x60: invalid parameters.
    InvalidParams,
    /// 0x103: malformed KLV.
    MalformedKlv,
    /// 0x105: unknown or forbidden KLV key.
    InvalidKlvKey,
    /// 0x107: the VF was migrated (again) since the RESFIX marker was set: the recovery must run
    /// once more.
    VfMigrated,
    /// 0xF000: generic failure.
    GenericFail,
    /// Any other code, raw.
    Other(u16),
}

impl GucError {
    /// Decodes the 16-bit ERROR field. Total: every value decodes.
    #[must_use]
    #[inline(never)]
    pub const fn from_raw(raw: u16) -> GucError {
        match raw {
            0x0A => GucError::InvalidState,
            0x0B => GucError::UnsupportedVersion,
            0x0D => GucError::UnprovisionedVf,
            0x20 => GucError::NotSupported,
            0x30 => GucError::UnknownAction,
            0x40 => GucError::NoPermission,
            0x50 => GucError::InvalidKlvData,
            0x60 => GucError::InvalidParams,
            0x103 => GucError::MalformedKlv,
            0x105 => GucError::InvalidKlvKey,
            0x107 => GucError::VfMigrated,
            0xF000 => GucError::GenericFail,
            other => GucError::Other(other),
        }
    }

    /// The raw 16-bit code.
    #[must_use]
    pub const fn raw(self) -> u16 {
        match self {
            GucError::InvalidState => 0x0A,
            GucError::UnsupportedVersion => 0x0B,
            GucError::UnprovisionedVf => 0x0D,
            GucError::NotSupported => 0x20,
            GucError::UnknownAction => 0x30,
            GucError::NoPermission => 0x40,
            GucError::InvalidKlvData => 0x50,
            GucError::InvalidParams => 0x60,
            GucError::MalformedKlv => 0x103,
            GucError::InvalidKlvKey => 0x105,
            GucError::VfMigrated => 0x107,
            GucError::GenericFail => 0xF000,
            GucError::Other(raw) => raw,
        }
    }
}

impl PartialEq for GucError {
    fn eq(&self, other: &Self) -> bool {
        self.raw() == other.raw()
    }
}

impl Eq for GucError {}

impl core::hash::Hash for GucError {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.raw().hash(state)
    }
}

impl fmt::Display for GucError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            GucError::InvalidState => "INVALID_STATE",
            GucError::UnsupportedVersion => "UNSUPPORTED_VERSION",
            GucError::UnprovisionedVf => "UNPROVISIONED_VF",
            GucError::NotSupported => "NOT_SUPPORTED",
            GucError::UnknownAction => "UNKNOWN_ACTION",
            GucError::NoPermission => "NO_PERMISSION",
            GucError::InvalidKlvData => "INVALID_KLV_DATA",
            GucError::InvalidParams => "INVALID_PARAMS",
            GucError::MalformedKlv => "MALFORMED_KLV",
            GucError::InvalidKlvKey => "INVALID_KLV_KEY",
            GucError::VfMigrated => "VF_MIGRATED",
            GucError::GenericFail => "GENERIC_FAIL",
            GucError::Other(raw) => return write!(f, "GuC error {raw:#x}", raw = *raw),
        };
        write!(f, "{name} ({:#x})", self.raw())
    }
}

impl core::error::Error for GucError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_raw_value_round_trips() {
        for raw in 0..=u16::MAX {
            assert_eq!(GucError::from_raw(raw).raw(), raw);
        }
    }

    #[test]
    fn vf_migrated_is_its_own_code() {
        assert_eq!(GucError::from_raw(0x107), GucError::VfMigrated);
        assert_eq!(GucError::from_raw(0x108), GucError::Other(0x108));
        assert_eq!(GucError::Other(0x107), GucError::VfMigrated);
        assert_ne!(GucError::Other(0x106), GucError::VfMigrated);
    }
}
