//! Per-GT VF logic: bootstrap (VF_RESET and the version handshake), the configuration query and
//! its validation, the GGTT shift, and the RESFIX messages, all over the GT's MMIO mailbox.
//!
//! The rules are the Linux `xe` driver's (`xe_gt_sriov_vf.c`):
//!
//! - **Bootstrap**: VF_RESET, sent again up to 10 times while it times out; then MATCH_VERSION
//!   asking for the platform's minimum VF ABI (1.1 on Tiger Lake to Ponte Vecchio, 1.2 on newer
//!   parts). A reply with a newer major than asked is a protocol error, another major is
//!   unsupported (no fallback), an older minor than the minimum is too old. A later handshake
//!   (after a reset) asks for the version in use and must get exactly it back.
//! - **Configuration**, in this order: GGTT_START, GGTT_SIZE, LMEM_SIZE (discrete, primary GT
//!   only), NUM_CONTEXTS, NUM_DOORBELLS, GROUP_SCHEDULING_AVAILABLE (VF ABI 1.26+), GMD_ID
//!   (graphics IP 12.70+), NUM_PAGING_ENGINE_INSTANCES (VF ABI 1.36+). Each reply must carry
//!   exactly the key's length; zero GGTT size, LMEM size or contexts is an error. On a re-query
//!   only the GGTT base may move; a change of anything else is an "unexpected reassignment"
//!   naming the key. The new configuration replaces the old one only once all of it is valid.

use core::fmt;

use crate::device::Device;
use crate::mailbox::{Mailbox, MailboxConfig, MailboxError};
use crate::wire::action::{decode_empty_reply, KlvReply};
use crate::wire::regs::GtKind;
use crate::wire::{KlvKey, Marker, Request, Version, WireError};

/// How many times VF_RESET is sent while it times out (the kernel's
/// `GUC_RESET_VF_STATE_RETRY_MAX`).
pub const VF_RESET_ATTEMPTS: u32 = 10;

/// The first VF ABI with RESFIX_START and RESFIX_DONE markers.
pub const MARKERS_ABI: Version = Version::new(1, 27);

/// Which platform family a GT belongs to: it selects the minimum VF ABI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PlatformClass {
    /// Tiger Lake up to Ponte Vecchio: VF ABI 1.1 is the baseline.
    TigerLakeToPonteVecchio,
    /// Anything newer: VF ABI 1.2 (it has the GMD_ID KLV).
    Newer,
}

impl PlatformClass {
    /// The class of a part with graphics IP `graphics_verx100` (12.70 = 1270): below 12.70 is
    /// Tiger Lake up to Ponte Vecchio (12.60), from 12.70 (Meteor Lake) on is newer.
    pub const fn from_graphics_ip(graphics_verx100: u16) -> PlatformClass {
        if graphics_verx100 < 1270 {
            PlatformClass::TigerLakeToPonteVecchio
        } else {
            PlatformClass::Newer
        }
    }

    /// The minimum VF ABI the kernel accepts on this class.
    pub const fn minimum_vf_abi(self) -> Version {
        match self {
            PlatformClass::TigerLakeToPonteVecchio => Version::new(1, 1),
            PlatformClass::Newer => Version::new(1, 2),
        }
    }
}

/// What the crate must know about a GT to talk to its GuC the way the kernel does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GtInfo {
    /// Primary or media GT (selects the mailbox registers).
    pub kind: GtKind,
    /// Platform family (selects the minimum VF ABI).
    pub platform: PlatformClass,
    /// Discrete part (has local memory: LMEM_SIZE is queried on the primary GT).
    pub discrete: bool,
    /// Graphics IP version times 100 (for example 1270 for 12.70): GMD_ID is queried from 1270.
    pub graphics_verx100: u16,
}

impl GtInfo {
    /// A GT of `kind` on a part with graphics IP `graphics_verx100` (for example 2004 for Lunar
    /// Lake's 20.04), the platform class derived from it.
    pub const fn new(kind: GtKind, discrete: bool, graphics_verx100: u16) -> GtInfo {
        GtInfo {
            kind,
            platform: PlatformClass::from_graphics_ip(graphics_verx100),
            discrete,
            graphics_verx100,
        }
    }

    /// The VF ABI version this GT asks for in its first handshake (the kernel asks for the
    /// minimum; the GuC answers with the version it will speak).
    pub const fn wanted_vf_abi(&self) -> Version {
        self.platform.minimum_vf_abi()
    }
}

/// The VF's provisioning on one GT, as the GuC reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct VfConfig {
    /// GGTT base of this VF (4K-aligned). The one value a migration may change.
    pub ggtt_start: u64,
    /// GGTT size (4K-aligned, never 0).
    pub ggtt_size: u64,
    /// Local memory size (2M-aligned, never 0); only on the primary GT of a discrete part.
    pub lmem_size: Option<u64>,
    /// GuC contexts (never 0).
    pub num_contexts: u32,
    /// GuC doorbells.
    pub num_doorbells: u32,
    /// Whether group scheduling is available (VF ABI 1.26+).
    pub group_scheduling_available: Option<bool>,
    /// GMD_ID (graphics IP 12.70+; `None` where the GuC refused it, as the kernel tolerates).
    pub gmd_id: Option<u32>,
    /// Paging engine instances (VF ABI 1.36+).
    pub num_paging_engine_instances: Option<u32>,
}

/// Why a GT operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
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
    /// A later handshake found another version than the one in use (`-EREMCHG`).
    VersionChanged {
        /// In use.
        previous: Version,
        /// Answered now.
        found: Version,
    },
    /// An operation that needs a completed handshake was called before it.
    NotBootstrapped,
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
    pub const fn is_vf_migrated(&self) -> bool {
        matches!(self, VfError::Mailbox(MailboxError::VfMigrated { .. }))
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
            VfError::Mailbox(e) => write!(f, "{e}"),
            VfError::BadReply { action, error } => {
                write!(f, "malformed reply to action {action:#06x}: {error}")
            }
            VfError::VersionNewerMajor { wanted, found } => {
                write!(f, "GuC answered VF ABI {found} to a request for {wanted}")
            }
            VfError::VersionMajorMismatch { wanted, found } => {
                write!(
                    f,
                    "unsupported VF ABI {found} (wanted major {})",
                    wanted.major
                )
            }
            VfError::VersionTooOld { minimum, found } => {
                write!(f, "VF ABI {found} is older than the minimum {minimum}")
            }
            VfError::VersionChanged { previous, found } => {
                write!(f, "VF ABI changed from {previous} to {found}")
            }
            VfError::NotBootstrapped => f.write_str("GT not bootstrapped"),
            VfError::KlvOverflow { key, len } => {
                write!(f, "{key}: reply length {len} larger than expected")
            }
            VfError::KlvNoData { key, len } => {
                write!(f, "{key}: reply length {len} smaller than expected")
            }
            VfError::ZeroValue { key } => write!(f, "{key}: zero value"),
            VfError::InvalidValue { key, value } => write!(f, "{key}: invalid value {value:#x}"),
            VfError::Reassigned { key, old, new } => {
                write!(f, "unexpected reassignment of {key}: {old:#x} -> {new:#x}")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for VfError {}

const SZ_4K: u64 = 4 << 10;
const SZ_2M: u64 = 2 << 20;

/// One GT of the VF: its mailbox, the negotiated VF ABI and the last good configuration.
///
/// ```
/// # #[cfg(feature = "mock")] {
/// use xe_sriov_vf::gt::{Gt, GtInfo, PlatformClass, VfError};
/// use xe_sriov_vf::mailbox::MailboxConfig;
/// use xe_sriov_vf::mock::{MockGuc, Provisioning};
/// use xe_sriov_vf::wire::{regs::GtKind, KlvKey, Version};
///
/// let guc = MockGuc::new(GtKind::Primary, Version::new(1, 27), Provisioning::discrete());
/// let info = GtInfo {
///     kind: GtKind::Primary,
///     platform: PlatformClass::Newer,
///     discrete: true,
///     graphics_verx100: 2001,
/// };
/// let mut gt = Gt::new(&guc, info, MailboxConfig::default());
/// assert_eq!(gt.bootstrap(), Ok(Version::new(1, 27)));
/// assert_eq!(gt.query_config(), Ok(0)); // first query: no shift
/// assert_eq!(gt.config().unwrap().lmem_size, Some(4 << 30));
///
/// // Migrated: only the GGTT base may move.
/// guc.migrate(0x0200_0000);
/// assert_eq!(gt.query_config(), Ok(0x0100_0000));
///
/// // Anything else moving is refused, naming the key, and the old config is kept.
/// guc.restore(Provisioning { num_contexts: 8, ..Provisioning::discrete() });
/// guc.resume();
/// assert!(matches!(
///     gt.query_config(),
///     Err(VfError::Reassigned { key: KlvKey::NumContexts, old: 1024, new: 8 })
/// ));
/// # }
/// ```
#[derive(Debug)]
pub struct Gt<D> {
    info: GtInfo,
    mailbox: Mailbox<D>,
    version: Option<Version>,
    config: Option<VfConfig>,
    last_ggtt_shift: i64,
}

impl<D: Device> Gt<D> {
    /// A GT reached through `dev`, not yet bootstrapped.
    pub fn new(dev: D, info: GtInfo, mailbox: MailboxConfig) -> Gt<D> {
        Gt {
            info,
            mailbox: Mailbox::new(dev, info.kind.mailbox(), mailbox),
            version: None,
            config: None,
            last_ggtt_shift: 0,
        }
    }

    /// What the GT is.
    pub const fn info(&self) -> &GtInfo {
        &self.info
    }

    /// The device behind the mailbox.
    pub const fn device(&self) -> &D {
        self.mailbox.device()
    }

    /// The mailbox.
    pub fn mailbox(&mut self) -> &mut Mailbox<D> {
        &mut self.mailbox
    }

    /// The negotiated VF ABI version, once bootstrapped.
    pub const fn version(&self) -> Option<Version> {
        self.version
    }

    /// The last configuration that passed validation.
    pub const fn config(&self) -> Option<&VfConfig> {
        self.config.as_ref()
    }

    /// The GGTT shift found by the last configuration query (0 for the first one).
    pub const fn last_ggtt_shift(&self) -> i64 {
        self.last_ggtt_shift
    }

    /// Whether the negotiated VF ABI has RESFIX markers (1.27+).
    pub fn supports_markers(&self) -> bool {
        self.version
            .is_some_and(|v| v.at_least(MARKERS_ABI.major, MARKERS_ABI.minor))
    }

    /// VF_RESET then the version handshake. Returns the negotiated version.
    pub fn bootstrap(&mut self) -> Result<Version, VfError> {
        self.reset()?;
        self.handshake()
    }

    /// VF_RESET, sent again (up to [`VF_RESET_ATTEMPTS`] in all) while it times out.
    pub fn reset(&mut self) -> Result<(), VfError> {
        let mut attempt = 1;
        loop {
            match self.send_empty(Request::VfReset) {
                Err(VfError::Mailbox(MailboxError::Timeout { .. } | MailboxError::BusyTimeout))
                    if attempt < VF_RESET_ATTEMPTS =>
                {
                    attempt += 1;
                }
                Err(e) => {
                    error!("failed to reset GuC VF state: {}", e);
                    return Err(e);
                }
                Ok(()) => return Ok(()),
            }
        }
    }

    /// MATCH_VERSION with the kernel's rules; see the module docs.
    pub fn handshake(&mut self) -> Result<Version, VfError> {
        let previous = self.version;
        let wanted = previous.unwrap_or(self.info.wanted_vf_abi());
        let request = Request::MatchVersion {
            wanted: Version { patch: 0, ..wanted },
        };
        let reply = self.mailbox.send(&request)?;
        let found =
            Version::decode_match_reply(reply.as_slice()).map_err(|error| VfError::BadReply {
                action: request.action(),
                error,
            })?;
        if let Some(previous) = previous {
            if found != previous {
                error!("GuC VF ABI changed from {} to {}", previous, found);
                return Err(VfError::VersionChanged { previous, found });
            }
            return Ok(found);
        }
        if found.major > wanted.major {
            return Err(VfError::VersionNewerMajor { wanted, found });
        }
        if found.major != wanted.major {
            return Err(VfError::VersionMajorMismatch { wanted, found });
        }
        let minimum = self.info.platform.minimum_vf_abi();
        if !found.at_least(minimum.major, minimum.minor) {
            return Err(VfError::VersionTooOld { minimum, found });
        }
        debug!("using GuC VF ABI {}", found);
        self.version = Some(found);
        Ok(found)
    }

    /// Queries the whole configuration in the kernel's order and validates it. On success the new
    /// configuration replaces the old one and the GGTT shift (new base - old base; 0 on the first
    /// query) is returned. On error nothing changes.
    pub fn query_config(&mut self) -> Result<i64, VfError> {
        let version = self.version.ok_or(VfError::NotBootstrapped)?;
        let ggtt_start = self.query_u64(KlvKey::GgttStart)?;
        let ggtt_size = self.query_u64(KlvKey::GgttSize)?;
        let lmem_size = if self.info.discrete && self.info.kind == GtKind::Primary {
            Some(self.query_u64(KlvKey::LmemSize)?)
        } else {
            None
        };
        let num_contexts = self.query_u32(KlvKey::NumContexts)?;
        let num_doorbells = self.query_u32(KlvKey::NumDoorbells)?;
        let group_scheduling_available = if version.at_least(1, 26) {
            let key = KlvKey::GroupSchedulingAvailable;
            match self.query_u32(key)? {
                0 => Some(false),
                1 => Some(true),
                other => {
                    return Err(VfError::InvalidValue {
                        key,
                        value: other.into(),
                    })
                }
            }
        } else {
            None
        };
        let gmd_id = if self.info.graphics_verx100 >= 1270 {
            match self.query_u32(KlvKey::GmdId) {
                Ok(v) => Some(v),
                // The kernel carries on without GMD_ID when the GuC refuses it.
                Err(VfError::Mailbox(MailboxError::Remote { error, .. })) => {
                    warn!("failed to obtain GMD_ID ({})", error.raw());
                    None
                }
                Err(e) => return Err(e),
            }
        } else {
            None
        };
        let num_paging_engine_instances = if version.at_least(1, 36) {
            Some(self.query_u32(KlvKey::NumPagingEngineInstances)?)
        } else {
            None
        };
        let new = VfConfig {
            ggtt_start,
            ggtt_size,
            lmem_size,
            num_contexts,
            num_doorbells,
            group_scheduling_available,
            gmd_id,
            num_paging_engine_instances,
        };
        validate(&new)?;
        let shift = match &self.config {
            Some(old) => {
                check_unchanged(old, &new)?;
                ggtt_shift(old.ggtt_start, new.ggtt_start)?
            }
            None => 0,
        };
        if shift != 0 {
            info!(
                "shifting GGTT base by {} to {:#018x}",
                shift, new.ggtt_start
            );
        }
        self.config = Some(new);
        self.last_ggtt_shift = shift;
        Ok(shift)
    }

    /// VF2GUC_RESFIX_START with `marker` (VF ABI 1.27+).
    pub fn resfix_start(&mut self, marker: Marker) -> Result<(), VfError> {
        self.version.ok_or(VfError::NotBootstrapped)?;
        self.send_empty(Request::ResfixStart { marker })
    }

    /// VF2GUC_RESFIX_DONE: with the marker from RESFIX_START (VF ABI 1.27+), or without one
    /// (legacy). A VF_MIGRATED reply means a second migration: see [`VfError::is_vf_migrated`].
    pub fn resfix_done(&mut self, marker: Option<Marker>) -> Result<(), VfError> {
        self.version.ok_or(VfError::NotBootstrapped)?;
        self.send_empty(Request::ResfixDone { marker })
    }

    fn send_empty(&mut self, request: Request) -> Result<(), VfError> {
        let reply = self.mailbox.send(&request)?;
        decode_empty_reply(reply.as_slice()).map_err(|error| VfError::BadReply {
            action: request.action(),
            error,
        })
    }

    fn query(&mut self, key: KlvKey) -> Result<KlvReply, VfError> {
        let request = Request::QuerySingleKlv { key: key.raw() };
        let reply = self.mailbox.send(&request)?;
        let klv = KlvReply::decode(reply.as_slice()).map_err(|error| VfError::BadReply {
            action: request.action(),
            error,
        })?;
        let expected = key.expected_len().unwrap_or(0);
        if klv.len > expected {
            return Err(VfError::KlvOverflow { key, len: klv.len });
        }
        if klv.len < expected {
            return Err(VfError::KlvNoData { key, len: klv.len });
        }
        Ok(klv)
    }

    fn query_u32(&mut self, key: KlvKey) -> Result<u32, VfError> {
        Ok(self.query(key)?.value[0])
    }

    fn query_u64(&mut self, key: KlvKey) -> Result<u64, VfError> {
        Ok(self.query(key)?.value_u64())
    }
}

fn validate(c: &VfConfig) -> Result<(), VfError> {
    let aligned = |key: KlvKey, value: u64, align: u64| {
        if value.is_multiple_of(align) {
            Ok(())
        } else {
            Err(VfError::InvalidValue { key, value })
        }
    };
    if c.ggtt_size == 0 {
        return Err(VfError::ZeroValue {
            key: KlvKey::GgttSize,
        });
    }
    aligned(KlvKey::GgttStart, c.ggtt_start, SZ_4K)?;
    aligned(KlvKey::GgttSize, c.ggtt_size, SZ_4K)?;
    if c.ggtt_start.checked_add(c.ggtt_size).is_none() || c.ggtt_start > i64::MAX as u64 {
        return Err(VfError::InvalidValue {
            key: KlvKey::GgttStart,
            value: c.ggtt_start,
        });
    }
    if let Some(lmem) = c.lmem_size {
        if lmem == 0 {
            return Err(VfError::ZeroValue {
                key: KlvKey::LmemSize,
            });
        }
        aligned(KlvKey::LmemSize, lmem, SZ_2M)?;
    }
    if c.num_contexts == 0 {
        return Err(VfError::ZeroValue {
            key: KlvKey::NumContexts,
        });
    }
    Ok(())
}

fn check_unchanged(old: &VfConfig, new: &VfConfig) -> Result<(), VfError> {
    let opt = |v: Option<u64>| v.unwrap_or(u64::MAX);
    let flag = |v: Option<bool>| v.map_or(u64::MAX, u64::from);
    let pairs = [
        (KlvKey::GgttSize, old.ggtt_size, new.ggtt_size),
        (KlvKey::LmemSize, opt(old.lmem_size), opt(new.lmem_size)),
        (
            KlvKey::NumContexts,
            old.num_contexts.into(),
            new.num_contexts.into(),
        ),
        (
            KlvKey::NumDoorbells,
            old.num_doorbells.into(),
            new.num_doorbells.into(),
        ),
        (
            KlvKey::GroupSchedulingAvailable,
            flag(old.group_scheduling_available),
            flag(new.group_scheduling_available),
        ),
        (
            KlvKey::NumPagingEngineInstances,
            opt(old.num_paging_engine_instances.map(u64::from)),
            opt(new.num_paging_engine_instances.map(u64::from)),
        ),
    ];
    for (key, old, new) in pairs {
        if old != new {
            error!(
                "unexpected reassignment of {}: {:#x} -> {:#x}",
                key.name(),
                old,
                new
            );
            return Err(VfError::Reassigned { key, old, new });
        }
    }
    Ok(())
}

/// `new - old` as a signed shift; both are below 2^63 after validation, so it is exact.
fn ggtt_shift(old: u64, new: u64) -> Result<i64, VfError> {
    let shift = i128::from(new) - i128::from(old);
    i64::try_from(shift).map_err(|_| VfError::InvalidValue {
        key: KlvKey::GgttStart,
        value: new,
    })
}
