//! Why a GT operation failed: [`VfError`], with its `Debug` in hex and its `source()` chain.

use super::*;

/// Why a GT operation failed.
///
/// `Debug` prints addresses and values in hex, as `Display` does.
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum VfError {
    /// The mailbox transaction failed (timeout, FAILURE, VF_MIGRATED, garbage).
    Mailbox(MailboxError),
    /// A SUCCESS reply broke its format (must-be-zero bits, length). The kernel's `-EPROTO`.
    BadReply {
        /// The action whose reply it was.
        action: u16,
        /// What is wrong.
        error: WireError,
    },
    /// The GuC answered a newer major than asked for (`-EPROTO`).
    VersionNewerMajor {
        /// Asked for.
        wanted: Version,
        /// Answered.
        found: Version,
    },
    /// The GuC answered another major; there is no fallback (`-ENOPKG`).
    VersionMajorMismatch {
        /// Asked for.
        wanted: Version,
        /// Answered.
        found: Version,
    },
    /// The GuC's version is older than this platform's minimum (`-ENOKEY`).
    VersionTooOld {
        /// Minimum.
        minimum: Version,
        /// Answered.
        found: Version,
    },
    /// MATCH_VERSION failed (`error`): refused by the GuC ([`MailboxError::Remote`]), or not
    /// answered at all (a timeout, a garbled reply). `guc` is the version it reported when asked
    /// for "any" version right after (`None` when that failed too). `Display` says "refused" only
    /// for a FAILURE reply.
    VersionRefused {
        /// Asked for.
        wanted: Version,
        /// The GuC's version, from the follow-up MATCH_VERSION 0.0.
        guc: Option<Version>,
        /// Why the handshake failed.
        error: MailboxError,
    },
    /// A later handshake found another major.minor.patch than the one in use (`-EREMCHG`).
    VersionChanged {
        /// In use.
        previous: Version,
        /// Answered now.
        found: Version,
    },
    /// An operation that needs a completed handshake was called before it.
    NotBootstrapped,
    /// [`Gt::poll_op`](crate::gt::Gt::poll_op) was called again on an operation that had
    /// answered `Ready`: nothing was sent; post a new operation.
    PolledAfterReady,
    /// The reply's LENGTH is larger than the key's (`-EOVERFLOW`).
    KlvOverflow {
        /// Key.
        key: KlvKey,
        /// Reported length.
        len: u16,
    },
    /// The reply's LENGTH is smaller than the key's (`-ENODATA`).
    KlvNoData {
        /// Key.
        key: KlvKey,
        /// Reported length.
        len: u16,
    },
    /// A value that must not be 0 is 0 (`-ENODATA`).
    ZeroValue {
        /// Key.
        key: KlvKey,
    },
    /// A value breaks the ABI's rules (alignment, range, a flag that is not 0 or 1).
    InvalidValue {
        /// Key.
        key: KlvKey,
        /// The value.
        value: u64,
    },
    /// The GGTT range is outside what the GuC can address (the kernel's `-ERANGE`): base below the
    /// WOPCM size, base above [`GUC_GGTT_TOP`], or `size > GUC_GGTT_TOP - base`.
    GgttRange {
        /// GGTT_START.
        start: u64,
        /// GGTT_SIZE.
        size: u64,
        /// The WOPCM size in force.
        wopcm: u64,
    },
    /// A HOST2GUC_SELF_CFG exchange for `key` was refused or answered wrongly (NUM 0: key not
    /// recognised, the kernel's `-ENOKEY`; NUM above 1: `-EPROTO`). The mailbox's own failures
    /// are [`VfError::Mailbox`].
    SelfCfg {
        /// The key.
        key: SelfCfgKey,
        /// What went wrong.
        error: SelfCfgError,
    },
    /// A HOST2GUC_CONTROL_CTB exchange was answered wrongly.
    ControlCtb(SelfCfgError),
    /// A re-query found a changed value that must not change (`-EREMCHG`).
    Reassigned {
        /// Key.
        key: KlvKey,
        /// Value before.
        old: u64,
        /// Value now.
        new: u64,
    },
}

impl VfError {
    /// Whether the GuC said the VF was migrated (again): the recovery must run once more.
    #[must_use]
    pub const fn is_vf_migrated(&self) -> bool {
        matches!(self, VfError::Mailbox(MailboxError::VfMigrated { .. }))
    }
}

impl fmt::Debug for VfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::fmt::{Hex, Opt};
        match self {
            VfError::Mailbox(e) => debug_variant!(f, ["Mailbox"], e),
            VfError::BadReply { action, error } => debug_variant!(
                f,
                ["BadReply", "action", "error"],
                &Hex((*action).into()),
                error
            ),
            VfError::VersionNewerMajor { wanted, found } => {
                debug_variant!(f, ["VersionNewerMajor", "wanted", "found"], wanted, found)
            }
            VfError::VersionMajorMismatch { wanted, found } => debug_variant!(
                f,
                ["VersionMajorMismatch", "wanted", "found"],
                wanted,
                found
            ),
            VfError::VersionTooOld { minimum, found } => {
                debug_variant!(f, ["VersionTooOld", "minimum", "found"], minimum, found)
            }
            VfError::VersionRefused { wanted, guc, error } => debug_variant!(
                f,
                ["VersionRefused", "wanted", "guc", "error"],
                wanted,
                &Opt(guc.as_ref().map(|v| v as &dyn fmt::Debug)),
                error
            ),
            VfError::VersionChanged { previous, found } => {
                debug_variant!(f, ["VersionChanged", "previous", "found"], previous, found)
            }
            VfError::NotBootstrapped => f.write_str("NotBootstrapped"),
            VfError::PolledAfterReady => f.write_str("PolledAfterReady"),
            VfError::KlvOverflow { key, len } => {
                debug_variant!(f, ["KlvOverflow", "key", "len"], key, len)
            }
            VfError::KlvNoData { key, len } => {
                debug_variant!(f, ["KlvNoData", "key", "len"], key, len)
            }
            VfError::ZeroValue { key } => debug_variant!(f, ["ZeroValue", "key"], key),
            VfError::InvalidValue { key, value } => {
                debug_variant!(f, ["InvalidValue", "key", "value"], key, &Hex(*value))
            }
            VfError::GgttRange { start, size, wopcm } => debug_variant!(
                f,
                ["GgttRange", "start", "size", "wopcm"],
                &Hex(*start),
                &Hex(*size),
                &Hex(*wopcm)
            ),
            VfError::SelfCfg { key, error } => {
                debug_variant!(f, ["SelfCfg", "key", "error"], key, error)
            }
            VfError::ControlCtb(e) => debug_variant!(f, ["ControlCtb"], e),
            VfError::Reassigned { key, old, new } => debug_variant!(
                f,
                ["Reassigned", "key", "old", "new"],
                key,
                &Hex(*old),
                &Hex(*new)
            ),
        }
    }
}

impl From<MailboxError> for VfError {
    fn from(e: MailboxError) -> Self {
        VfError::Mailbox(e)
    }
}

impl fmt::Display for VfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VfError::Mailbox(_) => f.write_str("GuC mailbox exchange failed"),
            VfError::BadReply { action, .. } => {
                write!(
                    f,
                    "malformed reply to action {action:#06x}",
                    action = *action
                )
            }
            VfError::VersionNewerMajor { wanted, found } => {
                write!(
                    f,
                    "GuC answered VF ABI {found} to a request for {wanted}",
                    found = *found,
                    wanted = *wanted
                )
            }
            VfError::VersionMajorMismatch { wanted, found } => {
                write!(
                    f,
                    "unsupported VF ABI {found} (wanted major {})",
                    wanted.major,
                    found = *found
                )
            }
            VfError::VersionTooOld { minimum, found } => {
                write!(
                    f,
                    "VF ABI {found} is older than the minimum {minimum}",
                    found = *found,
                    minimum = *minimum
                )
            }
            VfError::VersionRefused { wanted, guc, error } => {
                // "Refused" only when the GuC said so; a timeout or a garbled reply is a
                // failed handshake (the cause comes through `source()`).
                if matches!(error, MailboxError::Remote { .. }) {
                    write!(f, "GuC refused VF ABI {wanted}", wanted = *wanted)?;
                } else {
                    write!(f, "VF ABI {wanted} handshake failed", wanted = *wanted)?;
                }
                match guc {
                    Some(v) => write!(f, " (it speaks {v})", v = *v),
                    None => Ok(()),
                }
            }
            VfError::VersionChanged { previous, found } => {
                write!(
                    f,
                    "VF ABI changed from {previous} to {found}",
                    previous = *previous,
                    found = *found
                )
            }
            VfError::NotBootstrapped => f.write_str("GT not bootstrapped"),
            VfError::PolledAfterReady => f.write_str("GT operation polled after it answered"),
            VfError::KlvOverflow { key, len } => {
                write!(
                    f,
                    "{key}: reply length {len} larger than expected",
                    key = *key,
                    len = *len
                )
            }
            VfError::KlvNoData { key, len } => {
                write!(
                    f,
                    "{key}: reply length {len} smaller than expected",
                    key = *key,
                    len = *len
                )
            }
            VfError::ZeroValue { key } => write!(f, "{key}: zero value", key = *key),
            VfError::InvalidValue { key, value } => write!(
                f,
                "{key}: invalid value {value:#x}",
                key = *key,
                value = *value
            ),
            VfError::GgttRange { start, size, wopcm } => write!(
                f,
                "GGTT {start:#x}+{size:#x} outside the GuC's range ({wopcm:#x}..{GUC_GGTT_TOP:#x})",
                start = *start,
                size = *size,
                wopcm = *wopcm
            ),
            VfError::Reassigned { key, old, new } => {
                write!(
                    f,
                    "unexpected reassignment of {key}: {old:#x} -> {new:#x}",
                    key = *key,
                    old = *old,
                    new = *new
                )
            }
            VfError::SelfCfg { key, .. } => write!(f, "self-config of {key} failed", key = *key),
            VfError::ControlCtb(_) => f.write_str("CTB control failed"),
        }
    }
}

impl core::error::Error for VfError {
    // Out of line: `Error::cause` calls it, and would inline a copy of it otherwise.
    #[inline(never)]
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            VfError::Mailbox(e) | VfError::VersionRefused { error: e, .. } => Some(e),
            VfError::BadReply { error, .. } => Some(error),
            VfError::SelfCfg { error, .. } | VfError::ControlCtb(error) => Some(error),
            _ => None,
        }
    }
}
