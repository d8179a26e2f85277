//! What a GT is: its kind, the GPU it is part of, its graphics IP and platform class, and where
//! each comes from on real hardware before bootstrap.

use super::*;

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
    /// Deprecated for [`GtInfo::of`]: `discrete` is a [`GpuKind`] there, and the version a
    /// [`GraphicsIp`] (`GtInfo::new(kind, true, 2001)` is
    /// `GtInfo::of(kind, GpuKind::Discrete, GraphicsIp::new(20, 1))`).
    #[must_use]
    #[deprecated(
        note = "use GtInfo::of(kind, GpuKind::.., GraphicsIp::new(major, minor)): no bool, no verx100"
    )]
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
