//! Per-GT VF logic: bootstrap (VF_RESET and the version handshake), the configuration query and
//! its validation, and the RESFIX messages, all over the GT's MMIO mailbox.
//!
//! A GT owns one GuC: its mailbox, its negotiated VF ABI, its configuration query and its RESFIX
//! marker. The GGTT the query reports belongs to the GT's *tile* ([`crate::tile`]): a tile's
//! primary and media GT report the same GGTT, and [`Vf`](crate::Vf) moves it once per tile, so
//! nothing here computes a GGTT shift.
//!
//! The rules are the Linux `xe` driver's (`xe_gt_sriov_vf.c` as merged for kernel 7.3; the
//! mailbox under it follows kernel 7.1, see [`crate::mailbox`]):
//!
//! - **Bootstrap**: VF_RESET, sent again up to 10 times while it times out (a lost reply,
//!   [`MailboxError::LinkLost`], ends it at once); then MATCH_VERSION asking for the platform's
//!   minimum VF ABI (1.1 on Tiger Lake to Ponte Vecchio, 1.2 on newer parts). A reply with a
//!   newer major than asked is a protocol error, another major is unsupported (no fallback), an
//!   older minor than the minimum is too old. A later handshake (after a reset) asks for the
//!   version in use and must get the same major.minor.patch back (the branch is not compared);
//!   the reply then becomes the GT's version, as the kernel's `match_version` writes it into
//!   the GT's `guc_version`. After any handshake failure one more MATCH_VERSION asks for "any"
//!   version (0.0), only to learn which version the GuC speaks: it is logged and, where the
//!   failure itself did not carry it, reported in the error ([`VfError::VersionRefused`]).
//! - **Configuration**, in this order, each key's checks right after it (the kernel's order;
//!   the query stops at the first failing key with the kernel's error for it):
//!
//!   | key | checked right after it |
//!   |---|---|
//!   | GGTT_START | (nothing yet) |
//!   | GGTT_SIZE | 0: [`VfError::ZeroValue`] (`-ENODATA`); on a re-query, changed: [`VfError::Reassigned`] (`-EREMCHG`); then ours: start and size 4K-aligned ([`VfError::InvalidValue`]), the GGTT range ([`VfError::GgttRange`]) |
//!   | LMEM_SIZE (discrete, primary GT only) | on a re-query, changed: `Reassigned`; then 0: `ZeroValue`; then ours: 2M-aligned |
//!   | NUM_CONTEXTS | (checked after NUM_DOORBELLS) |
//!   | NUM_DOORBELLS | on a re-query, contexts changed, then doorbells changed: `Reassigned`; then 0 contexts: `ZeroValue` |
//!   | GROUP_SCHEDULING_AVAILABLE (VF ABI 1.26+) | a value above 1: `InvalidValue` (`-EPROTO`) |
//!   | GMD_ID (graphics IP 12.70+) | any failure is logged and the value taken as 0 |
//!   | NUM_PAGING_ENGINE_INSTANCES (VF ABI 1.36+) | (none) |
//!
//!   Each reply must carry exactly the key's length. "Changed" is the kernel's
//!   `old && old != new` rule: NUM_DOORBELLS may change from 0 (a VF provisioned without
//!   doorbells); GGTT_START may change (that is the migration); GROUP_SCHEDULING_AVAILABLE,
//!   GMD_ID and NUM_PAGING_ENGINE_INSTANCES are not compared, the new value is taken.
//!
//! Where the query differs from the kernel's (7.3), deliberately:
//!
//! | what | kernel 7.3 | here |
//! |---|---|---|
//! | GGTT range (`-ERANGE`: base below the WOPCM size [`GtInfo::wopcm_size`], above [`GUC_GGTT_TOP`], or size beyond `GUC_GGTT_TOP - base`) | checked once, at init, after the query | checked right after GGTT_SIZE, at bootstrap and on every re-query: a re-query that moved the GGTT out of range would corrupt memory |
//! | alignment (GGTT_START, GGTT_SIZE 4K; LMEM_SIZE 2M) | not checked | checked right after the key, on every query: a misaligned base cannot be mapped, and the tile's move would misplace every node |
//! | what a failed re-query leaves | the values stored before the failing check (GGTT size, LMEM size, counts) and the GGTT already moved | nothing: the new configuration replaces the old one only once every key passed, and the tile's GGTT moves after the query |

use crate::wire::self_cfg::{
    decode_control_ctb_reply, decode_self_cfg_reply, encode_control_ctb, encode_self_cfg,
    CtbControl, SelfCfgError, SelfCfgKey,
};
use core::fmt;
use core::task::Poll;

use crate::device::Device;
use crate::mailbox::{InFlight, Mailbox, MailboxConfig, MailboxError};
use crate::tile::TileId;
use crate::wire::action::{decode_empty_reply, KlvReply};
use crate::wire::regs::GtKind;
use crate::wire::{KlvKey, Marker, Request, Version, WireError};

/// How many times VF_RESET is sent while it times out (the kernel's
/// `GUC_RESET_VF_STATE_RETRY_MAX`).
pub const VF_RESET_ATTEMPTS: u32 = 10;

/// The first VF ABI with RESFIX_START and RESFIX_DONE markers.
pub const MARKERS_ABI: Version = Version::new(1, 27);

/// The top of the GGTT range the GuC can address (`GUC_GGTT_TOP`): no VF GGTT may reach above it.
pub const GUC_GGTT_TOP: u64 = 0xFEE0_0000;

/// Which platform family a GT belongs to: it selects the minimum VF ABI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum PlatformClass {
    /// Tiger Lake up to Ponte Vecchio: VF ABI 1.1 is the baseline.
    TigerLakeToPonteVecchio,
    /// Anything newer: VF ABI 1.2 (it has the GMD_ID KLV).
    Newer,
}

impl PlatformClass {
    /// The class of a part with graphics IP `graphics_verx100` (12.70 = 1270): below 12.70 is
    /// Tiger Lake up to Ponte Vecchio (12.60), from 12.70 (Meteor Lake) on is newer.
    #[must_use]
    pub const fn from_graphics_ip(graphics_verx100: u16) -> PlatformClass {
        if graphics_verx100 < 1270 {
            PlatformClass::TigerLakeToPonteVecchio
        } else {
            PlatformClass::Newer
        }
    }

    /// The minimum VF ABI the kernel accepts on this class.
    #[must_use]
    pub const fn minimum_vf_abi(self) -> Version {
        match self {
            PlatformClass::TigerLakeToPonteVecchio => Version::new(1, 1),
            PlatformClass::Newer => Version::new(1, 2),
        }
    }
}

/// Whether a GPU is part of the processor or a card of its own (the kernel's `is_dgfx`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum GpuKind {
    /// Part of the processor (Tiger Lake, Alder Lake, Meteor Lake, Arrow Lake, Lunar Lake,
    /// Panther Lake): no local memory.
    Integrated,
    /// A card with its own local memory (DG1, DG2/Alchemist, Ponte Vecchio, Battlemage):
    /// LMEM_SIZE is queried on the primary GT, and the WOPCM is 4 MiB.
    Discrete,
}

impl GpuKind {
    /// Whether this is [`GpuKind::Discrete`].
    #[must_use]
    pub const fn is_discrete(self) -> bool {
        matches!(self, GpuKind::Discrete)
    }
}

/// A graphics IP version, `major.minor` (Lunar Lake's Xe2_LPG is 20.04).
///
/// It is what the kernel calls `graphics_verx100` divided in two: `major * 100 + minor` is
/// [`verx100`](GraphicsIp::verx100). On real hardware it comes from:
///
/// - parts before graphics IP 12.70 (Tiger Lake to Ponte Vecchio): the PCI device id alone,
///   through the kernel's device table (`pciidlist` in `xe_pci.c`): 12.00 Xe_LP (Tiger Lake,
///   Rocket Lake, Alder Lake, Raptor Lake), 12.10 Xe_LP+ (DG1), 12.55 Xe_HPG (DG2, ATS-M),
///   12.60 Xe_HPC (Ponte Vecchio);
/// - parts from 12.70 on: the GMD_ID register (0xd8c; architecture in bits 31:22, release in
///   bits 21:14: [`from_gmd_id`](GraphicsIp::from_gmd_id)). A VF cannot read it: the kernel's
///   VF asks its GuC instead (`read_gmdid` in `xe_pci.c` bootstraps the GuC and queries the
///   GMD_ID KLV). The device table still names the platform, which narrows the IP down to
///   12.70, 12.71 or 12.74 (Meteor Lake and Arrow Lake, one entry of the table), 20.04 (Lunar
///   Lake), 20.01 or 20.02 (Battlemage), 30.00, 30.01 or 30.03 (Panther Lake). Any of a platform's versions bootstraps the
///   same way (the VF ABI asked for and the keys queried depend only on "below 12.70 or not");
///   after bootstrap the exact one is
///   [`VfConfig::gmd_id`] through [`from_gmd_id`](GraphicsIp::from_gmd_id).
///
/// (The kernel's tables in the mainline tree at torvalds/linux 03d85ab3, `xe_pci.c`.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GraphicsIp {
    major: u8,
    minor: u8,
}

impl GraphicsIp {
    /// The first graphics IP with a GMD_ID register (Meteor Lake's 12.70).
    pub const FIRST_GMD_ID: GraphicsIp = GraphicsIp::new(12, 70);

    /// Graphics IP `major.minor`: `GraphicsIp::new(20, 4)` is 20.04.
    #[must_use]
    pub const fn new(major: u8, minor: u8) -> GraphicsIp {
        GraphicsIp { major, minor }
    }

    /// The version in a GMD_ID value (the register, or the GMD_ID KLV a VF queries: see
    /// [`VfConfig::gmd_id`]): architecture bits 31:22 as the major, release bits 21:14 as the
    /// minor. `None` for 0 (the value the kernel carries on with when the query failed) and for
    /// an architecture above 255 (no such part).
    #[must_use]
    pub const fn from_gmd_id(gmd_id: u32) -> Option<GraphicsIp> {
        let major = gmd_id >> 22;
        let minor = (gmd_id >> 14) & 0xFF;
        if major == 0 || major > 0xFF {
            return None;
        }
        // Both fit in a u8: checked above, and masked to 8 bits.
        Some(GraphicsIp::new(major as u8, minor as u8))
    }

    /// The version of `verx100` (1270 is 12.70); `None` when the major part exceeds 255.
    #[must_use]
    pub const fn from_verx100(verx100: u16) -> Option<GraphicsIp> {
        let major = verx100 / 100;
        if major > 0xFF {
            return None;
        }
        // major <= 255 (checked), minor < 100.
        Some(GraphicsIp::new(major as u8, (verx100 % 100) as u8))
    }

    /// The major version (20 for 20.04).
    #[must_use]
    pub const fn major(self) -> u8 {
        self.major
    }

    /// The minor version (4 for 20.04).
    #[must_use]
    pub const fn minor(self) -> u8 {
        self.minor
    }

    /// `major * 100 + minor`, as the kernel computes its `graphics_verx100` (2004 for 20.04).
    #[must_use]
    pub const fn verx100(self) -> u16 {
        self.major as u16 * 100 + self.minor as u16
    }

    /// Whether the part has a GMD_ID register (12.70 and newer): the version then comes from
    /// it rather than from the PCI device id, and the VF queries the GMD_ID KLV.
    #[must_use]
    pub const fn has_gmd_id(self) -> bool {
        self.verx100() >= GraphicsIp::FIRST_GMD_ID.verx100()
    }
}

impl fmt::Display for GraphicsIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.major, self.minor)
    }
}

/// What the crate must know about a GT to talk to its GuC the way the kernel does, and where the
/// GT sits: its tile and its kind (a tile has one primary GT and at most one media GT).
///
/// Build it with [`GtInfo::of`]; each value is one the embedder knows before bootstrap:
///
/// | value | where it comes from on real hardware |
/// |---|---|
/// | kind ([`GtKind`]) | every tile has a primary GT; parts with media IP 13.00 or newer (Meteor Lake, Arrow Lake, Lunar Lake, Battlemage, Panther Lake) also have a standalone media GT, which has a GuC and mailbox of its own |
/// | [`GpuKind`] | the PCI device id, through the kernel's device table (`is_dgfx` in `xe_pci.c`) |
/// | [`GraphicsIp`] | the PCI device id up to Ponte Vecchio (12.60); from 12.70 on the GMD_ID register, which a VF learns from its GuC (see [`GraphicsIp`]) |
/// | tile ([`on_tile`](GtInfo::on_tile)) | 0, except on multi-tile parts (Ponte Vecchio: tiles 0 and 1) |
///
/// The media GT is described with the part's graphics IP too (the crate uses it to pick the
/// VF ABI, the WOPCM size and whether GMD_ID is queried: all per part, not per GT).
///
/// ```
/// use xe_sriov_vf::gt::{GpuKind, GraphicsIp, GtInfo, PlatformClass};
/// use xe_sriov_vf::wire::regs::GtKind;
/// use xe_sriov_vf::{TileId, Version};
///
/// // Battlemage (discrete, graphics IP 20.01): its primary GT.
/// let bmg = GtInfo::of(GtKind::Primary, GpuKind::Discrete, GraphicsIp::new(20, 1));
/// assert_eq!((bmg.graphics_ip(), bmg.gpu_kind()), (Some(GraphicsIp::new(20, 1)), GpuKind::Discrete));
/// assert_eq!(bmg.wanted_vf_abi(), Version::new(1, 2));
/// assert_eq!(bmg.wopcm_size(), 4 << 20);
///
/// // Ponte Vecchio's second tile (graphics IP 12.60, from the PCI device id).
/// let pvc = GtInfo::of(GtKind::Primary, GpuKind::Discrete, GraphicsIp::new(12, 60)).on_tile(TileId(1));
/// assert_eq!(pvc.platform, PlatformClass::TigerLakeToPonteVecchio);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct GtInfo {
    /// The tile this GT belongs to (the owner of its GGTT).
    pub tile: TileId,
    /// Primary or media GT (selects the mailbox registers).
    pub kind: GtKind,
    /// Platform family (selects the minimum VF ABI).
    pub platform: PlatformClass,
    /// Discrete part (has local memory: LMEM_SIZE is queried on the primary GT). See
    /// [`GpuKind`] and [`gpu_kind`](GtInfo::gpu_kind).
    pub discrete: bool,
    /// Graphics IP version times 100 (for example 1270 for 12.70): GMD_ID is queried from 1270.
    /// See [`GraphicsIp`] and [`graphics_ip`](GtInfo::graphics_ip).
    pub graphics_verx100: u16,
}

impl GtInfo {
    /// A GT of `kind` on tile 0 of a `gpu` part with graphics IP `graphics`, the platform
    /// class derived from it. See [`on_tile`](GtInfo::on_tile) for the other tiles of a
    /// multi-tile part, and the type's docs for where each value comes from.
    #[must_use]
    pub const fn of(kind: GtKind, gpu: GpuKind, graphics: GraphicsIp) -> GtInfo {
        GtInfo::from_verx100(kind, gpu.is_discrete(), graphics.verx100())
    }

    /// A GT of `kind` on tile 0 of a part with graphics IP `graphics_verx100` (for example 2004
    /// for Lunar Lake's 20.04), the platform class derived from it.
    ///
    /// Prefer [`GtInfo::of`]: `discrete` is [`GpuKind`] there, and the version a
    /// [`GraphicsIp`] (`GtInfo::new(kind, true, 2001)` is
    /// `GtInfo::of(kind, GpuKind::Discrete, GraphicsIp::new(20, 1))`).
    #[must_use]
    pub const fn new(kind: GtKind, discrete: bool, graphics_verx100: u16) -> GtInfo {
        GtInfo::from_verx100(kind, discrete, graphics_verx100)
    }

    /// What [`of`](GtInfo::of) and [`new`](GtInfo::new) build.
    const fn from_verx100(kind: GtKind, discrete: bool, graphics_verx100: u16) -> GtInfo {
        GtInfo {
            tile: TileId(0),
            kind,
            platform: PlatformClass::from_graphics_ip(graphics_verx100),
            discrete,
            graphics_verx100,
        }
    }

    /// Integrated or discrete (the [`discrete`](GtInfo::discrete) field).
    #[must_use]
    pub const fn gpu_kind(&self) -> GpuKind {
        if self.discrete {
            GpuKind::Discrete
        } else {
            GpuKind::Integrated
        }
    }

    /// The graphics IP (the [`graphics_verx100`](GtInfo::graphics_verx100) field); `None`
    /// if that field holds no version [`GraphicsIp`] can express (above 255.99).
    #[must_use]
    pub const fn graphics_ip(&self) -> Option<GraphicsIp> {
        GraphicsIp::from_verx100(self.graphics_verx100)
    }

    /// The same GT on tile `tile`.
    #[must_use]
    pub const fn on_tile(self, tile: TileId) -> GtInfo {
        GtInfo { tile, ..self }
    }

    /// The WOPCM size below which no VF GGTT may start (the kernel's `xe_wopcm_size`): 4 MiB on
    /// discrete parts and on the kernel's Meteor Lake platform, which covers Meteor Lake and
    /// Arrow Lake (graphics IP 12.70, 12.71 and 12.74), 2 MiB elsewhere (`xe_wopcm.c` and
    /// `xe_pci.c` of the mainline trees at torvalds/linux 03d85ab3 and 6716101a).
    #[must_use]
    pub const fn wopcm_size(&self) -> u64 {
        if self.discrete || matches!(self.graphics_verx100, 1270 | 1271 | 1274) {
            4 << 20
        } else {
            2 << 20
        }
    }

    /// The VF ABI version this GT asks for in its first handshake (the kernel asks for the
    /// minimum; the GuC answers with the version it will speak).
    #[must_use]
    pub const fn wanted_vf_abi(&self) -> Version {
        self.platform.minimum_vf_abi()
    }
}

/// The VF's provisioning on one GT, as the GuC reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
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
    /// GMD_ID (graphics IP 12.70+, else `None`; `Some(0)` where the query failed, as the kernel
    /// carries on with 0).
    pub gmd_id: Option<u32>,
    /// Paging engine instances (VF ABI 1.36+).
    pub num_paging_engine_instances: Option<u32>,
}

/// Why a GT operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    /// The GuC refused MATCH_VERSION (`error`). `guc` is the version it reported when asked for
    /// "any" version right after (`None` when that failed too).
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
                write!(f, "malformed reply to action {action:#06x}")
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
            VfError::VersionRefused { wanted, guc, .. } => {
                write!(f, "GuC refused VF ABI {wanted}")?;
                match guc {
                    Some(v) => write!(f, " (it speaks {v})"),
                    None => Ok(()),
                }
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
            VfError::GgttRange { start, size, wopcm } => write!(
                f,
                "GGTT {start:#x}+{size:#x} outside the GuC's range ({wopcm:#x}..{GUC_GGTT_TOP:#x})"
            ),
            VfError::Reassigned { key, old, new } => {
                write!(f, "unexpected reassignment of {key}: {old:#x} -> {new:#x}")
            }
            VfError::SelfCfg { key, .. } => write!(f, "self-config of {key} failed"),
            VfError::ControlCtb(_) => f.write_str("CTB control failed"),
        }
    }
}

impl core::error::Error for VfError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            VfError::Mailbox(e) | VfError::VersionRefused { error: e, .. } => Some(e),
            VfError::BadReply { error, .. } => Some(error),
            VfError::SelfCfg { error, .. } | VfError::ControlCtb(error) => Some(error),
            _ => None,
        }
    }
}

const SZ_4K: u64 = 4 << 10;
const SZ_2M: u64 = 2 << 20;

/// One GT of the VF: its mailbox, the negotiated VF ABI and the last good configuration.
///
/// ```
/// # #[cfg(feature = "mock")] {
/// use xe_sriov_vf::gt::{Gt, GtInfo, VfError};
/// use xe_sriov_vf::mailbox::MailboxConfig;
/// use xe_sriov_vf::mock::{MockGuc, Provisioning};
/// use xe_sriov_vf::wire::{regs::GtKind, KlvKey, Version};
///
/// let guc = MockGuc::new(GtKind::Primary, Version::new(1, 27), Provisioning::discrete());
/// // A discrete primary GT of graphics IP 20.01 (Battlemage) on tile 0.
/// let info = GtInfo::new(GtKind::Primary, true, 2001);
/// let mut gt = Gt::new(&guc, info, MailboxConfig::default());
/// assert_eq!(gt.bootstrap(), Ok(Version::new(1, 27)));
/// let config = gt.query_config().unwrap();
/// assert_eq!(config.lmem_size, Some(4 << 30));
///
/// // Migrated: only the GGTT base may move.
/// guc.migrate(0x0200_0000);
/// assert_eq!(gt.query_config().unwrap().ggtt_start, 0x0200_0000);
///
/// // Anything else moving is refused, naming the key, and the old config is kept.
/// let mut fewer = Provisioning::discrete();
/// fewer.num_contexts = 8;
/// guc.restore(fewer);
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
    /// The RESFIX marker counter (the kernel's per-GT `resfix_marker`).
    marker_counter: u8,
}

impl<D: Device> Gt<D> {
    /// A GT reached through `dev`, not yet bootstrapped.
    pub const fn new(dev: D, info: GtInfo, mailbox: MailboxConfig) -> Gt<D> {
        Gt {
            info,
            mailbox: Mailbox::new(dev, info.kind.mailbox(), mailbox),
            version: None,
            config: None,
            marker_counter: 0,
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

    /// The marker for this GT's next recovery: `1 + counter` with an 8-bit counter that wraps, so
    /// 1..=256 (the kernel's `vf_post_migration_next_resfix_marker`).
    pub fn next_marker(&mut self) -> Marker {
        let marker = Marker::from_counter(self.marker_counter);
        self.marker_counter = self.marker_counter.wrapping_add(1);
        marker
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

    /// VF_RESET, sent again (up to [`VF_RESET_ATTEMPTS`] in all) while it times out: a
    /// [`MailboxError::Timeout`] or a [`MailboxError::BusyTimeout`], the two the kernel (7.1)
    /// reports as `-ETIMEDOUT`. Any other error ends the loop, [`MailboxError::LinkLost`]
    /// included: three lost replies end the bootstrap after three sends (about 662 ms).
    pub fn reset(&mut self) -> Result<(), VfError> {
        // A counted loop: it ends after VF_RESET_ATTEMPTS attempts whatever the GuC answers.
        let mut result = Ok(());
        for _ in 0..VF_RESET_ATTEMPTS {
            result = self.send_empty(Request::VfReset);
            if !matches!(
                result,
                Err(VfError::Mailbox(
                    MailboxError::Timeout { .. } | MailboxError::BusyTimeout
                ))
            ) {
                break;
            }
        }
        if let Err(e) = &result {
            error!("failed to reset GuC VF state: {:?}", e);
        }
        result
    }

    /// MATCH_VERSION with the kernel's rules; see the module docs.
    pub fn handshake(&mut self) -> Result<Version, VfError> {
        let result = self.try_handshake();
        match result {
            Ok(v) => Ok(v),
            Err(error) => {
                // As the kernel does: ask for "any" version once, only to learn which one the
                // GuC speaks.
                let guc = self.match_any();
                if let Some(v) = guc {
                    info!("GuC reports VF interface version {}", v);
                }
                Err(match error {
                    VfError::Mailbox(error) => VfError::VersionRefused {
                        wanted: self.version.unwrap_or(self.info.wanted_vf_abi()),
                        guc,
                        error,
                    },
                    other => other,
                })
            }
        }
    }

    /// MATCH_VERSION 0.0 ("any"); the GuC's version, or `None` if that failed too.
    fn match_any(&mut self) -> Option<Version> {
        let request = Request::MatchVersion {
            wanted: Version::new(0, 0),
        };
        let reply = self.mailbox.send(&request).ok()?;
        Version::decode_match_reply(reply.as_slice()).ok()
    }

    fn try_handshake(&mut self) -> Result<Version, VfError> {
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
            let same = |v: Version| (v.major, v.minor, v.patch);
            if same(found) != same(previous) {
                error!("GuC VF ABI changed from {} to {}", previous, found);
                return Err(VfError::VersionChanged { previous, found });
            }
            // The branch may differ; the kernel's match_version then stores the reply as the
            // GT's version (kernel 7.3), and so do we.
            self.version = Some(found);
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

    /// Queries the whole configuration in the kernel's order and validates it (see the module
    /// docs). On success the new configuration replaces the old one and is returned; on error
    /// nothing changes. Where the GGTT went is the tile's business: see [`crate::tile`].
    pub fn query_config(&mut self) -> Result<VfConfig, VfError> {
        let mut op = self.post_query_config()?;
        self.complete(&mut op)
            .map(|config| config.unwrap_or_default())
    }

    /// The keys of the configuration query, in the kernel's order, for this GT and VF ABI.
    fn config_keys(&self, version: Version) -> heapless::Vec<KlvKey, CONFIG_KEYS> {
        let mut keys = heapless::Vec::new();
        let mut add = |key| {
            let _ = keys.push(key);
        };
        add(KlvKey::GgttStart);
        add(KlvKey::GgttSize);
        if self.info.discrete && self.info.kind == GtKind::Primary {
            add(KlvKey::LmemSize);
        }
        add(KlvKey::NumContexts);
        add(KlvKey::NumDoorbells);
        if version.at_least(1, 26) {
            add(KlvKey::GroupSchedulingAvailable);
        }
        if self.info.graphics_verx100 >= 1270 {
            add(KlvKey::GmdId);
        }
        if version.at_least(1, 36) {
            add(KlvKey::NumPagingEngineInstances);
        }
        keys
    }

    /// Takes one key's reply (or failure) into the query and runs the checks the kernel runs
    /// right after that key (see the module docs); the error ends the query. `old` is the
    /// configuration of the previous query, if any.
    fn take_key(
        q: &mut ConfigQuery,
        key: KlvKey,
        reply: Result<KlvReply, VfError>,
        old: Option<&VfConfig>,
        wopcm: u64,
    ) -> Result<(), VfError> {
        let c = &mut q.config;
        match key {
            KlvKey::GgttStart => c.ggtt_start = reply?.value_u64(),
            KlvKey::GgttSize => {
                c.ggtt_size = reply?.value_u64();
                check_ggtt(c, old, wopcm)?;
            }
            KlvKey::LmemSize => {
                let lmem = reply?.value_u64();
                c.lmem_size = Some(lmem);
                check_lmem(lmem, old)?;
            }
            KlvKey::NumContexts => c.num_contexts = reply?.value[0],
            KlvKey::NumDoorbells => {
                c.num_doorbells = reply?.value[0];
                check_counts(c, old)?;
            }
            KlvKey::GroupSchedulingAvailable => {
                c.group_scheduling_available = match reply?.value[0] {
                    0 => Some(false),
                    1 => Some(true),
                    other => {
                        return Err(VfError::InvalidValue {
                            key,
                            value: other.into(),
                        })
                    }
                }
            }
            KlvKey::GmdId => {
                c.gmd_id = Some(match reply {
                    Ok(klv) => klv.value[0],
                    // The kernel logs any failure (xe_gt_sriov_err) and carries on with GMD_ID 0.
                    Err(e) => {
                        error!("failed to obtain GMD_ID ({:?})", e);
                        0
                    }
                })
            }
            _ => c.num_paging_engine_instances = Some(reply?.value[0]),
        }
        Ok(())
    }

    /// The query's configuration, every key checked as it came in: it replaces the old one.
    fn finish_config(&mut self, new: VfConfig) -> Result<VfConfig, VfError> {
        self.config = Some(new);
        Ok(new)
    }

    /// Posts the configuration query's first request: the split-phase form of
    /// [`query_config`](Gt::query_config), driven by [`poll_op`](Gt::poll_op) (which posts the
    /// next key's request as each reply comes in).
    pub fn post_query_config(&mut self) -> Result<GtOp, VfError> {
        let version = self.version.ok_or(VfError::NotBootstrapped)?;
        let keys = self.config_keys(version);
        let mut q = ConfigQuery {
            keys,
            next: 0,
            config: VfConfig::default(),
        };
        let t = self.post_next_key(&mut q)?;
        Ok(GtOp {
            kind: OpKind::Config(q),
            t,
        })
    }

    /// Posts the query's next key, taking the failures of keys whose request cannot even be
    /// posted as their replies. `None` once every key is in.
    fn post_next_key(&mut self, q: &mut ConfigQuery) -> Result<Option<InFlight>, VfError> {
        while let Some(&key) = q.keys.get(q.next) {
            let request = Request::QuerySingleKlv { key: key.raw() };
            match self.mailbox.post(&request) {
                Ok(t) => return Ok(Some(t)),
                Err(e) => {
                    q.next += 1;
                    Self::take_key(
                        q,
                        key,
                        Err(e.into()),
                        self.config.as_ref(),
                        self.info.wopcm_size(),
                    )?;
                }
            }
        }
        Ok(None)
    }

    /// One poll of a GT operation in flight (see [`GtOp`]): `Pending` means let time pass and
    /// poll again; `Ready` is what the blocking call would have returned (`Some` configuration
    /// for a query, `None` for a RESFIX message).
    pub fn poll_op(&mut self, op: &mut GtOp) -> Poll<Result<Option<VfConfig>, VfError>> {
        loop {
            let Some(t) = op.t.as_mut() else {
                return Poll::Ready(match &op.kind {
                    OpKind::Config(q) => self.finish_config(q.config).map(Some),
                    OpKind::Empty(_) => Ok(None),
                });
            };
            let reply = match self.mailbox.poll(t) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(reply) => reply,
            };
            op.t = None;
            let q = match &mut op.kind {
                OpKind::Empty(request) => {
                    let request = *request;
                    return Poll::Ready(reply.map_err(VfError::from).and_then(|reply| {
                        decode_empty_reply(reply.as_slice()).map_err(|error| {
                            VfError::BadReply {
                                action: request.action(),
                                error,
                            }
                        })?;
                        Ok(None)
                    }));
                }
                OpKind::Config(q) => q,
            };
            let key = q.keys.get(q.next).copied().unwrap_or(KlvKey::GgttStart);
            q.next += 1;
            let klv = reply
                .map_err(VfError::from)
                .and_then(|reply| check_klv(key, reply.as_slice()));
            let wopcm = self.info.wopcm_size();
            let next = Self::take_key(q, key, klv, self.config.as_ref(), wopcm)
                .and_then(|()| self.post_next_key(q));
            match next {
                Ok(t) => op.t = t,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// Polls `op` until it is ready, relaxing between polls.
    fn complete(&mut self, op: &mut GtOp) -> Result<Option<VfConfig>, VfError> {
        loop {
            match self.poll_op(op) {
                Poll::Ready(outcome) => return outcome,
                Poll::Pending => self.mailbox.device().relax(),
            }
        }
    }

    /// Posts a send-only request whose reply must be an empty SUCCESS.
    fn post_empty(&mut self, request: Request) -> Result<GtOp, VfError> {
        let t = self.mailbox.post(&request)?;
        Ok(GtOp {
            kind: OpKind::Empty(request),
            t: Some(t),
        })
    }

    /// Posts VF2GUC_RESFIX_START with `marker`: the split-phase form of
    /// [`resfix_start`](Gt::resfix_start), driven by [`poll_op`](Gt::poll_op).
    pub fn post_resfix_start(&mut self, marker: Marker) -> Result<GtOp, VfError> {
        self.version.ok_or(VfError::NotBootstrapped)?;
        debug!("sending RESFIX_START marker {}", marker.get());
        self.post_empty(Request::ResfixStart { marker })
    }

    /// Posts VF2GUC_RESFIX_DONE: the split-phase form of [`resfix_done`](Gt::resfix_done),
    /// driven by [`poll_op`](Gt::poll_op).
    pub fn post_resfix_done(&mut self, marker: Option<Marker>) -> Result<GtOp, VfError> {
        self.version.ok_or(VfError::NotBootstrapped)?;
        self.post_empty(Request::ResfixDone { marker })
    }

    /// VF2GUC_RESFIX_START with `marker` (VF ABI 1.27+).
    pub fn resfix_start(&mut self, marker: Marker) -> Result<(), VfError> {
        let mut op = self.post_resfix_start(marker)?;
        self.complete(&mut op).map(drop)
    }

    /// VF2GUC_RESFIX_DONE: with the marker from RESFIX_START (VF ABI 1.27+), or without one
    /// (legacy). A VF_MIGRATED reply means a second migration: see [`VfError::is_vf_migrated`].
    pub fn resfix_done(&mut self, marker: Option<Marker>) -> Result<(), VfError> {
        let mut op = self.post_resfix_done(marker)?;
        self.complete(&mut op).map(drop)
    }

    /// HOST2GUC_SELF_CFG: tells this GT's GuC `value` for `key` (the kernel's `guc_self_cfg`,
    /// over the mailbox, before CTB is enabled). A send-only exchange: the reply's NUM (1 =
    /// accepted) is in its header. Needs a completed bootstrap.
    pub fn self_cfg(&mut self, key: SelfCfgKey, value: u64) -> Result<(), VfError> {
        self.version.ok_or(VfError::NotBootstrapped)?;
        let msg = encode_self_cfg(key, value).map_err(|error| VfError::SelfCfg { key, error })?;
        debug!(
            "HOST2GUC_SELF_CFG key {:#06x} value {:#x}",
            key.raw(),
            value
        );
        let reply = self.mailbox.send_only(msg.as_slice())?;
        decode_self_cfg_reply(reply.as_slice()).map_err(|error| VfError::SelfCfg { key, error })
    }

    /// Registers the tile's memirq page with this GT's GuC: MEMIRQ_SOURCE_ADDR, then
    /// MEMIRQ_STATUS_ADDR (the kernel's `xe_memirq_init_guc` order), with the GGTT addresses of
    /// this GuC's source byte and status vector (see
    /// [`Memirq::registration`](crate::memirq::Memirq::registration)). Call it once, after the
    /// bootstrap and before CTB is enabled; nothing is re-registered after a migration.
    pub fn register_memirq(&mut self, source_addr: u64, status_addr: u64) -> Result<(), VfError> {
        self.self_cfg(SelfCfgKey::MemirqSourceAddr, source_addr)?;
        self.self_cfg(SelfCfgKey::MemirqStatusAddr, status_addr)
    }

    /// HOST2GUC_CONTROL_CTB: enables or disables CT buffer communication (after the CTB
    /// addresses were given with [`self_cfg`](Gt::self_cfg)). The crate does not implement CTB;
    /// this is the one MMIO step of bringing it up. Needs a completed bootstrap.
    pub fn control_ctb(&mut self, control: CtbControl) -> Result<(), VfError> {
        self.version.ok_or(VfError::NotBootstrapped)?;
        let reply = self
            .mailbox
            .send_only(encode_control_ctb(control).as_slice())?;
        decode_control_ctb_reply(reply.as_slice()).map_err(VfError::ControlCtb)
    }

    fn send_empty(&mut self, request: Request) -> Result<(), VfError> {
        let reply = self.mailbox.send(&request)?;
        decode_empty_reply(reply.as_slice()).map_err(|error| VfError::BadReply {
            action: request.action(),
            error,
        })
    }
}

/// How many keys a configuration query asks for at most.
const CONFIG_KEYS: usize = 8;

/// A configuration query in progress: its keys, the next one to take, what came in so far.
#[derive(Clone, Debug)]
struct ConfigQuery {
    keys: heapless::Vec<KlvKey, CONFIG_KEYS>,
    next: usize,
    config: VfConfig,
}

#[derive(Clone, Debug)]
enum OpKind {
    /// A RESFIX message: the reply must be an empty SUCCESS.
    Empty(Request),
    Config(ConfigQuery),
}

/// A GT operation in flight: RESFIX_START, RESFIX_DONE or the whole configuration query, made
/// by [`Gt::post_resfix_start`], [`Gt::post_resfix_done`] or [`Gt::post_query_config`] and
/// driven by [`Gt::poll_op`] on the same GT. It holds at most one mailbox transaction
/// ([`InFlight`]) at a time, so the GT's own rules (one request at a time, the kernel's order
/// of keys) hold, while one thread keeps several GTs busy.
#[derive(Clone, Debug)]
#[must_use = "a posted operation is only answered by polling it"]
pub struct GtOp {
    kind: OpKind,
    t: Option<InFlight>,
}

/// A KLV reply checked against `key`'s length.
fn check_klv(key: KlvKey, reply: &[u32]) -> Result<KlvReply, VfError> {
    let klv = KlvReply::decode(reply).map_err(|error| VfError::BadReply {
        action: crate::wire::action::code::QUERY_SINGLE_KLV,
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

/// The checks right after GGTT_SIZE. The kernel's (7.3), in its order: a zero size is
/// `-ENODATA`, a changed one `-EREMCHG`. Ours after them (deliberate differences, see the
/// module docs): both values 4K-aligned, and the range the GuC can address (the kernel's
/// `-ERANGE`, which it checks at init only).
fn check_ggtt(c: &VfConfig, old: Option<&VfConfig>, wopcm: u64) -> Result<(), VfError> {
    if c.ggtt_size == 0 {
        return Err(VfError::ZeroValue {
            key: KlvKey::GgttSize,
        });
    }
    if let Some(old) = old {
        changed(KlvKey::GgttSize, old.ggtt_size, c.ggtt_size)?;
    }
    aligned(KlvKey::GgttStart, c.ggtt_start, SZ_4K)?;
    aligned(KlvKey::GgttSize, c.ggtt_size, SZ_4K)?;
    if c.ggtt_start < wopcm
        || c.ggtt_start > GUC_GGTT_TOP
        || c.ggtt_size > GUC_GGTT_TOP - c.ggtt_start
    {
        return Err(VfError::GgttRange {
            start: c.ggtt_start,
            size: c.ggtt_size,
            wopcm,
        });
    }
    Ok(())
}

/// The checks right after LMEM_SIZE, in the kernel's (7.3) order: changed (`-EREMCHG`), then
/// zero (`-ENODATA`); then ours, 2M-aligned.
fn check_lmem(lmem: u64, old: Option<&VfConfig>) -> Result<(), VfError> {
    if let Some(old) = old {
        changed(KlvKey::LmemSize, old.lmem_size.unwrap_or(0), lmem)?;
    }
    if lmem == 0 {
        return Err(VfError::ZeroValue {
            key: KlvKey::LmemSize,
        });
    }
    aligned(KlvKey::LmemSize, lmem, SZ_2M)
}

/// The checks right after NUM_DOORBELLS, in the kernel's (7.3) order: contexts changed,
/// doorbells changed (each `-EREMCHG`), then zero contexts (`-ENODATA`).
fn check_counts(c: &VfConfig, old: Option<&VfConfig>) -> Result<(), VfError> {
    if let Some(old) = old {
        changed(
            KlvKey::NumContexts,
            old.num_contexts.into(),
            c.num_contexts.into(),
        )?;
        changed(
            KlvKey::NumDoorbells,
            old.num_doorbells.into(),
            c.num_doorbells.into(),
        )?;
    }
    if c.num_contexts == 0 {
        return Err(VfError::ZeroValue {
            key: KlvKey::NumContexts,
        });
    }
    Ok(())
}

/// `value` must be a multiple of `align`.
fn aligned(key: KlvKey, value: u64, align: u64) -> Result<(), VfError> {
    if value.is_multiple_of(align) {
        Ok(())
    } else {
        Err(VfError::InvalidValue { key, value })
    }
}

/// The kernel's rule for every compared key: `old && old != new` is an unexpected
/// reassignment (an old value of 0 may be replaced).
fn changed(key: KlvKey, old: u64, new: u64) -> Result<(), VfError> {
    if old != 0 && old != new {
        error!(
            "unexpected reassignment of {}: {:#x} -> {:#x}",
            key.name(),
            old,
            new
        );
        return Err(VfError::Reassigned { key, old, new });
    }
    Ok(())
}
