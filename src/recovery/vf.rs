//! [`Vf`], the facade: what the embedder builds, shares and calls; the interrupt entries
//! (wait-free, no lock), the worker's entry, and the one lock around the worker's [`Core`]
//! ([`CoreLock`]: never waited for, the busy hand-over in one place).

use core::fmt;
use core::time::Duration;

use super::hooks::PmGuard;
use super::machine::Core;
use super::pass::Pass;
use super::report::Counters;
use super::{
    BootstrapError, GgttWait, GtAccessError, PassOutcome, RecoveryConfig, RecoveryHooks, Stats,
    Unsupported, GGTT_WAIT_STALL_POLLS,
};
#[allow(unused_imports)] // the docs' links
use crate::coordinator::StartPolicy;
use crate::coordinator::{Coordinator, CoordinatorView, GtId, GtSet, Signal};
use crate::device::{nanos, Clock, Device, Stopwatch};
use crate::gt::{GpuKind, GraphicsIp, Gt, GtInfo, VfConfig};
use crate::memirq::{MemirqReport, MemirqSet, NoMemirq};
use crate::sync::{fence, zeroed_counters, AtomicBool, AtomicUsize, Ordering};
use crate::tile::{TileGgtt, TileId, Topology, TopologyError};
use crate::wire::memirq::GucUnit;
use crate::wire::regs::{GtKind, GucIntr};
use crate::wire::Version;
use crate::workqueue::WorkQueue;

/// What the VF last learned of one GT, as [`Vf::gt_view`] shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct GtView {
    /// Where the GT sits.
    pub info: GtInfo,
    /// The VF ABI version negotiated at bootstrap.
    pub version: Option<Version>,
    /// The configuration of the last successful query (bootstrap or a recovery's re-query).
    pub config: Option<VfConfig>,
}

impl GtView {
    /// Whether the negotiated VF ABI has RESFIX markers (1.27+), as [`Gt::supports_markers`].
    #[must_use]
    pub fn supports_markers(&self) -> bool {
        self.version
            .is_some_and(|v| v.at_least(crate::gt::MARKERS_ABI.major, crate::gt::MARKERS_ABI.minor))
    }
}

/// The copies [`Vf::gt_view`] and [`Vf::tile_ggtt`] read: updated by the worker at each step,
/// under a lock held only for the copy (never across a wait or a hook).
pub(super) struct Views<const N: usize> {
    pub(super) gts: [GtView; N],
    pub(super) tiles: [TileGgtt; N],
}

/// The worker's [`Core`] behind a lock that nobody waits for: the worker takes it for a pass,
/// and every other holder ([`Vf::with_gt`], [`Vf::bootstrap`], [`Vf::register_memirq`]) only
/// through [`Vf::hold`]. A pass that finds it held leaves it to the holder to queue the worker
/// again when it lets go: a store-buffering handshake on [`refused`](CoreLock::refused).
pub(super) struct CoreLock<D, const N: usize> {
    core: spin::Mutex<Core<D, N>>,
    /// A pass found the core held and left it to the holder to queue it again.
    refused: AtomicBool,
}

impl<D, const N: usize> CoreLock<D, N> {
    /// The worker's side: the core for a pass, or `None` (and the holder told) when held.
    fn for_pass(&self) -> Option<spin::MutexGuard<'_, Core<D, N>>> {
        if let Some(core) = self.core.try_lock() {
            return Some(core);
        }
        // Never wait for the core: whoever holds it (a `with_gt` closure) may have yielded.
        // Nor spin on it: the GTs stay queued, and the holder queues the worker when it lets
        // go. One more look after raising the flag catches a holder that let go in between:
        // our write, a full fence, then our read (see `released`).
        self.refused.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        let core = self.core.try_lock()?;
        self.refused.store(false, Ordering::SeqCst);
        Some(core)
    }

    /// The holder's side, after it let go: whether a pass was refused meanwhile (and so must
    /// be queued again by the caller).
    fn released(&self) -> bool {
        // The holder's half of the handshake (the worker raises the flag, then looks at the
        // lock again; we let go of the lock, then look at the flag): a full fence between each
        // side's write and read, so that at least one of the two sees the other's write. The
        // unlock is only a Release store, so the flag's SeqCst alone would not do.
        fence(Ordering::SeqCst);
        self.refused.swap(false, Ordering::SeqCst)
    }
}

/// One VF: `N` GTs over one or more tiles, the coordinator, the work queue `Q` and the hooks `H`.
///
/// Share it between the interrupt handler and the worker by reference (`&'static`, or an
/// `Arc` with `std`). The GTs and the tiles' GGTT state belong to the worker while a pass runs
/// (behind a lock that nobody but the worker ever waits for: [`Vf::with_gt`] answers
/// [`GtAccessError::Busy`] at once instead). What the embedder reads ([`Vf::gt_view`],
/// [`Vf::tile_ggtt`]) are copies the worker publishes as it goes, readable from any thread and
/// from every hook. The interrupt entry touches neither.
///
/// | call | interrupt context | thread context | from a hook |
/// |---|---|---|---|
/// | [`Vf::migrated`], [`Vf::handle_guc_interrupt`], [`Vf::recovery_pending`], [`Vf::ggtt_valid`], [`Vf::awaiting_reports`], [`Vf::stats`] | yes (wait-free) | yes | yes |
/// | [`Vf::gt_view`], [`Vf::tile_ggtt`] | no (a short lock) | yes | yes |
/// | [`Vf::try_gt_view`], [`Vf::try_tile_ggtt`] | yes (never waits: `Busy` while a copy is being published) | yes | yes |
/// | [`Vf::with_gt`] | no | yes (never waits: `Busy` during a pass) | answers `Busy` |
/// | [`Vf::wait_ggtt_valid`] | no | yes | no: the GGTT becomes valid only after the hook returns |
/// | [`Vf::run_worker`], [`Vf::bootstrap`], [`Vf::start_now`], [`Vf::teardown`] | no | yes | no |
///
/// A one-GT VF on a part without memirq (the GuC interrupt register; the crate-level example
/// shows the memirq path): built at run time, migrated, recovered by one worker pass. The hooks
/// are the embedder's GGTT fixup, here counting the moves.
///
/// ```
/// # #[cfg(feature = "mock")] {
/// use core::sync::atomic::{AtomicU64, Ordering};
/// use xe_sriov_vf::mock::{MockGuc, Provisioning, VfState};
/// use xe_sriov_vf::{
///     GgttMove, GpuKind, GraphicsIp, Gt, GtId, GtInfo, GtKind, HookError, MailboxConfig,
///     PassOutcome, PollingQueue, RecoveryConfig, RecoveryHooks, TileId, Version, Vf,
/// };
///
/// #[derive(Default)]
/// struct Fixups {
///     shifted: AtomicU64,
/// }
///
/// impl RecoveryHooks for Fixups {
///     fn ggtt_fixup(&self, _tile: TileId, ggtt: GgttMove) -> Result<(), HookError> {
///         // Move every GGTT node of the tile by the shift (once per change of base).
///         self.shifted.fetch_add(ggtt.new - ggtt.old, Ordering::Relaxed);
///         Ok(())
///     }
/// }
///
/// let guc = MockGuc::new(GtKind::Primary, Version::new(1, 27), Provisioning::DEFAULT);
/// let gt = Gt::new(&guc, GtInfo::of(GtKind::Primary, GpuKind::Integrated, GraphicsIp::new(12, 55)), MailboxConfig::DEFAULT);
/// // Graphics IP 12.55 without memirq: opt in to the register path Linux 7.0 to 7.3 refuse.
/// let config = RecoveryConfig::DEFAULT.with_mmio_irq();
/// let vf = Vf::new([gt], Fixups::default(), PollingQueue::new(), config).unwrap();
/// vf.bootstrap().unwrap();
///
/// let before = vf.tile_ggtt(TileId(0)).unwrap().applied;
/// guc.migrate(before + 0x0100_0000);
/// // The GuC interrupt handler: read the vector, hand it over (wait-free).
/// let _ = vf.handle_guc_interrupt(GtId(0), guc.take_interrupts());
/// // The worker, in thread context.
/// while vf.queue().take() {
///     assert!(matches!(vf.run_worker(), PassOutcome::Recovered(_)));
/// }
/// assert_eq!(guc.state(), VfState::Running);
/// assert_eq!(vf.hooks().shifted.load(Ordering::Relaxed), 0x0100_0000);
/// assert!(vf.ggtt_valid(GtId(0)));
/// # }
/// ```
pub struct Vf<D, H, Q, const N: usize, M = NoMemirq> {
    pub(super) coordinator: Coordinator,
    pub(super) topology: Topology<N>,
    core: CoreLock<D, N>,
    pub(super) views: spin::Mutex<Views<N>>,
    pub(super) hooks: H,
    pub(super) queue: Q,
    pub(super) config: RecoveryConfig,
    /// Per GT: the migration interrupts it reported (wrapping).
    pub(super) signals: [AtomicUsize; N],
    pub(super) counters: Counters,
    pub(super) memirq: M,
}

impl<D, H, Q, const N: usize, M> fmt::Debug for Vf<D, H, Q, N, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vf")
            .field("gts", &N)
            .field("tiles", &self.topology.num_tiles())
            .field("config", &self.config)
            .field("coordinator", &self.coordinator)
            .finish_non_exhaustive()
    }
}

impl<D: Device, H: RecoveryHooks, Q: WorkQueue, const N: usize> Vf<D, H, Q, N> {
    /// A VF over `gts` (index = [`GtId`]) whose GuC interrupts come from a register (no memirq;
    /// see [`Vf::with_memirq`]); each GT's [`GtInfo`] names its tile and kind. Fails when `N` is
    /// 0 or above [`MAX_GTS`](crate::coordinator::MAX_GTS), or when the GTs do not form tiles
    /// `0..T` each with one primary GT and at most one media GT.
    ///
    /// # Errors
    ///
    /// [`TopologyError::GtCount`] when `N` is 0 or above [`MAX_GTS`](crate::coordinator::MAX_GTS);
    /// [`TopologyError::MissingTile`], [`TopologyError::NoPrimaryGt`] or
    /// [`TopologyError::DuplicateGt`] when the GTs' [`GtInfo`]s do not form tiles (see
    /// [`Topology::new`]).
    pub fn new(
        gts: [Gt<D>; N],
        hooks: H,
        queue: Q,
        config: RecoveryConfig,
    ) -> Result<Self, TopologyError> {
        Vf::with_memirq(gts, hooks, queue, config, NoMemirq)
    }
}

impl<D: Device, H: RecoveryHooks, Q: WorkQueue, const N: usize, M: MemirqSet> Vf<D, H, Q, N, M> {
    const_unless_loom! {
        /// [`Vf::with_memirq`] as a `const fn`, for a VF in a `static` (no `Once`, no "not
        /// yet initialised" branch in the interrupt handler). The GT count is checked when
        /// the program is compiled (1 to [`MAX_GTS`](crate::coordinator::MAX_GTS)); a
        /// topology error panics, which in a `static`'s initialiser is a compile error that
        /// names it. Use [`Vf::with_memirq`] where the GTs are only known at run time.
        ///
        /// ```
        /// # #[cfg(feature = "mock")] {
        /// use xe_sriov_vf::mock::{MockGuc, MockMemirqPage, Provisioning};
        /// use xe_sriov_vf::{
        ///     GpuKind, GraphicsIp, Gt, GtId, GtInfo, GtKind, MailboxConfig, Memirq, NoHooks,
        ///     PollingQueue, RecoveryConfig, Version, Vf,
        /// };
        ///
        /// static GUCS: [MockGuc; 2] = [
        ///     MockGuc::new(GtKind::Primary, Version::new(1, 27), Provisioning::DEFAULT),
        ///     MockGuc::new(GtKind::Media, Version::new(1, 27), Provisioning::DEFAULT),
        /// ];
        /// static PAGE: MockMemirqPage = MockMemirqPage::new();
        /// const PAGE_GGTT: u64 = 0x0030_0000;
        ///
        /// type MyVf = Vf<&'static MockGuc, NoHooks, PollingQueue, 2, Memirq<&'static MockMemirqPage>>;
        /// static VF: MyVf = Vf::new_static(
        ///     [
        ///         Gt::new(&GUCS[0], GtInfo::of(GtKind::Primary, GpuKind::Integrated, GraphicsIp::new(20, 4)), MailboxConfig::DEFAULT),
        ///         Gt::new(&GUCS[1], GtInfo::of(GtKind::Media, GpuKind::Integrated, GraphicsIp::new(20, 4)), MailboxConfig::DEFAULT),
        ///     ],
        ///     NoHooks,
        ///     PollingQueue::new(),
        ///     RecoveryConfig::DEFAULT,
        ///     Memirq::new(&PAGE, PAGE_GGTT, GtId(0), Some(GtId(1))),
        /// );
        ///
        /// // The interrupt handler needs no "initialised yet?" check:
        /// fn memirq_irq() {
        ///     let _ = VF.handle_memirq();
        /// }
        ///
        /// GUCS[0].attach_memirq(&PAGE, PAGE_GGTT);
        /// GUCS[1].attach_memirq(&PAGE, PAGE_GGTT);
        /// VF.bootstrap().unwrap();
        /// VF.register_memirq().unwrap();
        /// GUCS[0].migrate(0x0080_0000);
        /// GUCS[1].migrate(0x0080_0000);
        /// memirq_irq();
        /// while VF.queue().take() {
        ///     let _ = VF.run_worker();
        /// }
        /// assert!(VF.ggtt_valid(GtId(0)) && VF.ggtt_valid(GtId(1)));
        /// assert_eq!(VF.tile_ggtt(xe_sriov_vf::TileId(0)).unwrap().applied, 0x0080_0000);
        /// # }
        /// ```
        ///
        /// A BAR at an address known when the program is built (a fixed mapping, a linker
        /// symbol) needs no `Once` either: [`MmioBar::from_raw_parts`](crate::MmioBar::from_raw_parts)
        /// (and [`MemirqMem::from_raw`](crate::MemirqMem::from_raw) for the memirq page) are
        /// `const`, so the VF over it is a `static` as above (see the [`mmio`](crate::mmio)
        /// module's docs).
        ///
        /// Where the BAR is only known at run time (the kernel maps it when it probes the
        /// device), the VF cannot be built in a `const`: build it then with [`Vf::new`] or
        /// [`Vf::with_memirq`] and publish it once (a `spin::Once` with spin's `once` feature
        /// in a `no_std` kernel; `std::sync::OnceLock` on a host, as here); the interrupt
        /// handler then needs its "not yet" branch:
        ///
        /// ```no_run
        /// use xe_sriov_vf::{
        ///     Clock, GpuKind, GraphicsIp, Gt, GtId, GtInfo, GtKind, GucIntr, Instant,
        ///     MailboxConfig, MmioBar, NoHooks, PollingQueue, RecoveryConfig, Vf,
        /// };
        /// # fn monotonic_ns() -> u64 { 0 }
        ///
        /// struct KernelClock;
        /// impl Clock for KernelClock {
        ///     fn now(&self) -> Instant {
        ///         Instant(monotonic_ns())
        ///     }
        /// }
        ///
        /// type BarVf = Vf<MmioBar<KernelClock>, NoHooks, PollingQueue, 1>;
        /// static VF: std::sync::OnceLock<BarVf> = std::sync::OnceLock::new();
        ///
        /// fn probe(bar0: *mut u8, len: usize) {
        ///     // SAFETY: `bar0..bar0 + len` is the VF's BAR 0, mapped uncached for good.
        ///     let bar = unsafe { MmioBar::new(bar0, len, KernelClock) }.expect("BAR 0");
        ///     let info = GtInfo::of(GtKind::Primary, GpuKind::Discrete, GraphicsIp::new(20, 1));
        ///     let gt = Gt::new(bar, info, MailboxConfig::DEFAULT);
        ///     let config = RecoveryConfig::DEFAULT.with_mmio_irq();
        ///     let vf = VF.get_or_init(|| {
        ///         Vf::new([gt], NoHooks, PollingQueue::new(), config).expect("one GT")
        ///     });
        ///     vf.bootstrap().expect("bootstrap");
        /// }
        ///
        /// fn guc_irq(vector: GucIntr) {
        ///     if let Some(vf) = VF.get() {
        ///         let _ = vf.handle_guc_interrupt(GtId(0), vector);
        ///     }
        /// }
        /// ```
        ///
        /// A topology that is not one (two primary GTs on tile 0) does not compile:
        ///
        /// ```compile_fail,E0080
        /// # use xe_sriov_vf::{Device, Instant, Reg};
        /// # struct Bar;
        /// # impl Device for Bar {
        /// #     fn read32(&self, _: Reg) -> u32 { 0 }
        /// #     fn write32(&self, _: Reg, _: u32) {}
        /// #     fn now(&self) -> Instant { Instant(0) }
        /// # }
        /// # static BAR: Bar = Bar;
        /// use xe_sriov_vf::{GpuKind, GraphicsIp, Gt, GtInfo, GtKind, MailboxConfig, NoHooks, NoMemirq, PollingQueue, RecoveryConfig, Vf};
        /// const PRIMARY: GtInfo = GtInfo::of(GtKind::Primary, GpuKind::Integrated, GraphicsIp::new(20, 4));
        /// static VF: Vf<&'static Bar, NoHooks, PollingQueue, 2> = Vf::new_static(
        ///     [Gt::new(&BAR, PRIMARY, MailboxConfig::DEFAULT), Gt::new(&BAR, PRIMARY, MailboxConfig::DEFAULT)],
        ///     NoHooks, PollingQueue::new(), RecoveryConfig::DEFAULT, NoMemirq,
        /// );
        /// ```
        ///
        /// Nor does a VF without GTs:
        ///
        /// ```compile_fail,E0080
        /// # use xe_sriov_vf::{Device, Instant, Reg};
        /// # struct Bar;
        /// # impl Device for Bar {
        /// #     fn read32(&self, _: Reg) -> u32 { 0 }
        /// #     fn write32(&self, _: Reg, _: u32) {}
        /// #     fn now(&self) -> Instant { Instant(0) }
        /// # }
        /// use xe_sriov_vf::{NoHooks, NoMemirq, PollingQueue, RecoveryConfig, Vf};
        /// static VF: Vf<&'static Bar, NoHooks, PollingQueue, 0> =
        ///     Vf::new_static([], NoHooks, PollingQueue::new(), RecoveryConfig::DEFAULT, NoMemirq);
        /// ```
        ///
        /// # Panics
        ///
        /// When called outside a `const`/`static` initialiser with GTs that do not form a
        /// topology (a tile id below the highest without a GT, a tile with a media GT but no
        /// primary GT, or two GTs of one kind on a tile: what [`Topology::new`] refuses). In an
        /// initialiser this is a compile error (E0080), as above. For GTs known only at run time
        /// use [`Vf::with_memirq`] (or [`Vf::new`]), which returns the [`TopologyError`].
        pub fn new_static(
            gts: [Gt<D>; N],
            hooks: H,
            queue: Q,
            config: RecoveryConfig,
            memirq: M,
        ) -> Self {
            const { assert!(N >= 1 && N <= crate::coordinator::MAX_GTS, "a VF has 1 to MAX_GTS GTs") };
            if let Err(e) = Self::topology_of(&gts) {
                match e {
                    TopologyError::MissingTile { .. } => {
                        panic!("VF topology: a tile id below the highest has no GT")
                    }
                    TopologyError::NoPrimaryGt { .. } => {
                        panic!("VF topology: a tile has a media GT but no primary GT")
                    }
                    TopologyError::DuplicateGt { .. } => {
                        panic!("VF topology: a tile has two GTs of the same kind")
                    }
                    _ => panic!("VF topology: invalid"),
                }
            }
            Self::assemble(gts, hooks, queue, config, memirq)
        }
    }

    const_unless_loom! {
        /// The one constructor: the VF over `gts`, whose topology the caller checked.
        fn assemble(gts: [Gt<D>; N], hooks: H, queue: Q, config: RecoveryConfig, memirq: M) -> Self {
            let topology = match Self::topology_of(&gts) {
                Ok(t) => t,
                Err(_) => panic!("assemble: topology not checked"),
            };
            let coordinator = match Coordinator::new(N, config.start) {
                Ok(c) => c,
                // N is in range: the topology check passed.
                Err(_) => panic!("assemble: GT count not checked"),
            };
            let mut views = [GtView {
                info: GtInfo::of(GtKind::Primary, GpuKind::Integrated, GraphicsIp::new(0, 0)),
                version: None,
                config: None,
            }; N];
            let mut n = 0;
            while n < N {
                views[n].info = *gts[n].info();
                n += 1;
            }
            Vf {
                coordinator,
                topology,
                views: spin::Mutex::new(Views {
                    gts: views,
                    tiles: [TileGgtt::EMPTY; N],
                }),
                core: CoreLock {
                    core: spin::Mutex::new(Core {
                        gts,
                        tiles: [TileGgtt::EMPTY; N],
                        requeue_streak: [(0, 0); N],
                        queries: 0,
                        query_stamp: [0; N],
                        tile_stamp: [0; N],
                    }),
                    refused: AtomicBool::new(false),
                },
                hooks,
                queue,
                config,
                signals: zeroed_counters(),
                counters: Counters::new(),
                memirq,
            }
        }
    }

    /// A VF whose GuC interrupts arrive in memirq pages (`memirq`: one [`Memirq`](crate::memirq::Memirq)
    /// for a one-tile VF, an array of them, one per tile, otherwise): every VF that can migrate.
    /// [`recovery_pending`](Vf::recovery_pending) and [`ggtt_valid`](Vf::ggtt_valid) then also
    /// read each GT's SW_INT_0 byte, and [`handle_memirq`](Vf::handle_memirq) is the interrupt
    /// handler. Fails as [`Vf::new`]; [`Vf::new_static`] is the `const` form for a `static`.
    ///
    /// # Errors
    ///
    /// As [`Vf::new`]: a [`TopologyError`] when `N` is out of range or the GTs do not form tiles.
    pub fn with_memirq(
        gts: [Gt<D>; N],
        hooks: H,
        queue: Q,
        config: RecoveryConfig,
        memirq: M,
    ) -> Result<Self, TopologyError> {
        Self::topology_of(&gts)?;
        Ok(Self::assemble(gts, hooks, queue, config, memirq))
    }

    /// The GTs' topology, checked (see [`Topology::new`]).
    const fn topology_of(gts: &[Gt<D>; N]) -> Result<Topology<N>, TopologyError> {
        let mut tiles = [(crate::tile::TileId(0), false); N];
        let mut n = 0;
        while n < N {
            let info = gts[n].info();
            tiles[n] = (info.tile, matches!(info.kind, GtKind::Primary));
            n += 1;
        }
        Topology::new(tiles)
    }

    /// Registers the memirq pages with every GT's GuC (two HOST2GUC_SELF_CFG each, see
    /// [`Gt::register_memirq`]), after [`bootstrap`](Vf::bootstrap) and before CTB is enabled.
    /// A GT without a page in `M` is skipped. Until this succeeded no GuC interrupt reaches a
    /// memirq VF: a migration would leave it blocked with nothing in the crate running.
    ///
    /// # Errors
    ///
    /// [`BootstrapError::Busy`] while a pass or a [`with_gt`](Vf::with_gt) closure holds the GTs;
    /// [`BootstrapError::MemirqMismatch`] when the pages do not give a GT the GuC unit of its kind
    /// (nothing sent); [`BootstrapError::Gt`] when a GT's exchange fails (its
    /// [`VfError`](crate::gt::VfError): `NotBootstrapped` before [`bootstrap`](Vf::bootstrap),
    /// `SelfCfg`, `Mailbox`).
    pub fn register_memirq(&self) -> Result<(), BootstrapError> {
        self.hold(|core| core.register_memirq(&self.memirq))
            .unwrap_or(Err(BootstrapError::Busy))
    }

    /// The memirq pages.
    pub const fn memirq(&self) -> &M {
        &self.memirq
    }

    /// The interrupt handler of the VF's memirq pages (the tiles' MSI): for each GuC whose
    /// SW_INT_0 byte is set, calls [`migrated`](Vf::migrated) and clears the byte after it
    /// returned; reports GUC2HOST for the embedder's CT path. Wait-free; safe in a hard
    /// interrupt handler. See [`crate::memirq`].
    pub fn handle_memirq(&self) -> MemirqReport {
        self.memirq.handle(&mut |gt| self.migrated(gt))
    }

    /// Bootstraps every GT (VF_RESET, handshake), queries its configuration and records each
    /// tile's GGTT (both GTs of a tile must agree). Call once, before interrupts are enabled; the
    /// embedder's GGTT users are taken to be at the bootstrap base.
    ///
    /// # Errors
    ///
    /// [`BootstrapError::Busy`] while a pass or a [`with_gt`](Vf::with_gt) closure holds the GTs;
    /// [`BootstrapError::Gt`] when a GT's bootstrap or configuration query fails (the
    /// [`VfError`](crate::gt::VfError) of [`Gt::bootstrap`] or [`Gt::query_config`]);
    /// [`BootstrapError::GgttMismatch`] when a tile's two GTs report different GGTTs.
    pub fn bootstrap(&self) -> Result<(), BootstrapError> {
        self.hold(|core| {
            core.bootstrap(&self.topology)?;
            let mut views = self.views.lock();
            // Every GT and every tile (there are N of each).
            for i in 0..N {
                views.gts[i].version = core.gts[i].version();
                core.publish(&mut views, i, i);
            }
            Ok(())
        })
        .unwrap_or(Err(BootstrapError::Busy))
    }

    /// Runs `f` on GT `gt` with exclusive access (for example to send a request of the
    /// embedder's own through its mailbox). Never waits: while a recovery pass (or the bootstrap,
    /// or another `with_gt`) holds the GTs it answers [`GtAccessError::Busy`] at once, so a task
    /// cannot spin behind a worker that yielded; from a hook it is always `Busy`. To read what the
    /// VF knows of a GT, [`gt_view`](Vf::gt_view) never fails. `f` runs with the GTs held: a pass
    /// that begins meanwhile answers [`PassOutcome::Busy`] and is queued again when `f` returned.
    ///
    /// # Errors
    ///
    /// [`GtAccessError::UnknownGt`] when `gt` is not below `N`; [`GtAccessError::Busy`] while a
    /// pass, the bootstrap or another `with_gt` holds the GTs (and always from a hook). `f` did not
    /// run.
    pub fn with_gt<R>(
        &self,
        gt: GtId,
        f: impl FnOnce(&mut Gt<D>) -> R,
    ) -> Result<R, GtAccessError> {
        if usize::from(gt.0) >= N {
            return Err(GtAccessError::UnknownGt);
        }
        self.hold(|core| f(&mut core.gts[usize::from(gt.0)]))
            .ok_or(GtAccessError::Busy)
    }

    /// Runs `f` on the worker's core unless something holds it (a pass, or another holder):
    /// then `None` at once. The one way to the core outside a pass: a pass refused while `f`
    /// ran is queued again once `f` let go.
    fn hold<R>(&self, f: impl FnOnce(&mut Core<D, N>) -> R) -> Option<R> {
        let r = {
            let mut core = self.core.core.try_lock()?;
            f(&mut core)
        };
        if self.core.released() {
            let _ = self.coordinator.start_now(&self.queue);
        }
        Some(r)
    }

    /// What the VF last learned of GT `gt`: its place, VF ABI version and the configuration of
    /// the last successful query (published by the worker right after each re-query). `None`
    /// for an unknown GT. Thread context, and from any hook (the lock behind it is held only
    /// to copy, never across a wait or a hook); not from interrupt context.
    pub fn gt_view(&self, gt: GtId) -> Option<GtView> {
        self.views.lock().gts.get(usize::from(gt.0)).copied()
    }

    /// The GGTT of `tile` as the VF knows it: where the embedder's GGTT users are (`applied`) and
    /// where the GuC last said the GGTT is (`reported`), as published by the worker (`applied`
    /// right after an accepted GGTT fixup). `None` for an unknown tile. Thread context and any
    /// hook, as [`gt_view`](Vf::gt_view).
    pub fn tile_ggtt(&self, tile: TileId) -> Option<TileGgtt> {
        if usize::from(tile.0) >= self.topology.num_tiles() {
            return None;
        }
        Some(self.views.lock().tiles[usize::from(tile.0)])
    }

    /// [`gt_view`](Vf::gt_view) for interrupt context: never waits. If the worker is
    /// publishing a copy right now (on another CPU, or on this one, interrupted), answers
    /// [`GtAccessError::Busy`] at once instead of spinning on a lock that the interrupted code
    /// may hold; [`GtAccessError::UnknownGt`] for an unknown GT. Wait-free.
    ///
    /// # Errors
    ///
    /// [`GtAccessError::UnknownGt`] for a GT not below `N`; [`GtAccessError::Busy`] while the
    /// worker publishes a copy.
    pub fn try_gt_view(&self, gt: GtId) -> Result<GtView, GtAccessError> {
        let i = usize::from(gt.0);
        if i >= N {
            return Err(GtAccessError::UnknownGt);
        }
        let views = self.views.try_lock().ok_or(GtAccessError::Busy)?;
        Ok(views.gts[i])
    }

    /// [`tile_ggtt`](Vf::tile_ggtt) for interrupt context, as [`try_gt_view`](Vf::try_gt_view):
    /// [`GtAccessError::Busy`] while a copy is being published, [`GtAccessError::UnknownTile`]
    /// for an unknown tile. Wait-free.
    ///
    /// # Errors
    ///
    /// [`GtAccessError::UnknownTile`] for a tile the VF does not have; [`GtAccessError::Busy`]
    /// while the worker publishes a copy.
    pub fn try_tile_ggtt(&self, tile: TileId) -> Result<TileGgtt, GtAccessError> {
        let t = usize::from(tile.0);
        if t >= self.topology.num_tiles() {
            return Err(GtAccessError::UnknownTile);
        }
        let views = self.views.try_lock().ok_or(GtAccessError::Busy)?;
        Ok(views.tiles[t])
    }

    /// Where the GTs sit.
    pub const fn topology(&self) -> &Topology<N> {
        &self.topology
    }

    /// The interrupt entry for a GuC interrupt vector read on `gt`: acts on `SW_INT_0` and
    /// ignores the rest. Wait-free; safe from interrupt context.
    pub fn handle_guc_interrupt(&self, gt: GtId, intr: GucIntr) -> Signal {
        if intr.contains(GucIntr::SW_INT_0) {
            self.migrated(gt)
        } else {
            Signal::Ignored
        }
    }

    /// The interrupt entry proper: GT `gt` reported a migration. Marks its recovery pending and
    /// its GGTT invalid and queues the worker (at most once). Wait-free: one counter increment
    /// plus the coordinator's bounded few read-modify-writes; no lock, no allocation.
    pub fn migrated(&self, gt: GtId) -> Signal {
        match self.signals.get(usize::from(gt.0)) {
            Some(count) => {
                count.fetch_add(1, Ordering::Relaxed);
                self.coordinator.signal(gt, &self.queue)
            }
            None => Signal::InvalidGt,
        }
    }

    /// One worker pass. Call it from the work queue's context whenever the queue says the work is
    /// due; a call when nothing is due returns [`PassOutcome::NotStarted`] and does nothing.
    pub fn run_worker(&self) -> PassOutcome {
        let Some(gts) = self.coordinator.begin() else {
            return PassOutcome::NotStarted;
        };
        if gts.is_empty() {
            self.coordinator.finish(&self.queue);
            return PassOutcome::Empty;
        }
        let Some(mut core) = self.core.for_pass() else {
            self.coordinator.finish(&self.queue);
            debug!("GTs busy, pass left to their holder to queue again");
            return PassOutcome::Busy(gts);
        };
        self.counters.recoveries.fetch_add(1, Ordering::Relaxed);
        let outcome = {
            // Released after abort and wedged too (the kernel puts it after the abort).
            let _pm = PmGuard::take(&self.hooks);
            let outcome = Pass::new(self, &mut core).run(gts);
            // The core is let go before abort and wedged: from those hooks `with_gt` answers.
            drop(core);
            self.account(&outcome);
            outcome
        };
        self.coordinator.finish(&self.queue);
        outcome
    }

    /// Counts and logs a pass's outcome; on failure runs abort and the wedge.
    #[inline(never)]
    fn account(&self, outcome: &PassOutcome) {
        let c = &self.counters;
        match outcome {
            PassOutcome::Recovered(_) => {
                c.completed.fetch_add(1, Ordering::Relaxed);
                info!("migration recovery ended");
            }
            PassOutcome::Incomplete(report) => {
                if !report.deferred.is_empty() {
                    c.deferred.fetch_add(1, Ordering::Relaxed);
                }
                if !report.requeued.is_empty() {
                    c.requeued.fetch_add(1, Ordering::Relaxed);
                }
                debug!(
                    "migration recovery continues: requeued {:#x}, deferred {:#x}, postponed {:#x}",
                    report.requeued.bits(),
                    report.deferred.bits(),
                    report.postponed.bits()
                );
            }
            PassOutcome::Unsupported { gt, reason, .. } => {
                c.unsupported.fetch_add(1, Ordering::Relaxed);
                match reason {
                    Unsupported::NoMarkers => {
                        error!("GT{}: migration not supported (VF ABI below 1.27)", gt.0)
                    }
                    Unsupported::NoMemirq => {
                        error!("GT{}: migration not supported (no memirq)", gt.0)
                    }
                }
            }
            PassOutcome::Failed(err) => {
                c.failed.fetch_add(1, Ordering::Relaxed);
                self.hooks.abort(err);
                if self.coordinator.wedge() {
                    error!("migration recovery failed ({}), device wedged", err);
                    self.hooks.wedged(err);
                }
            }
            PassOutcome::Cancelled => debug!("migration recovery cancelled by teardown"),
            PassOutcome::Busy(_) => {}
            PassOutcome::NotStarted | PassOutcome::Empty => {}
        }
    }

    /// Whether GT `gt`'s GGTT is valid: no report (or VF_MIGRATED reply) since its tile's GGTT
    /// fixup and its own fixups last returned. `false` for an unknown GT. Wait-free.
    pub fn ggtt_valid(&self, gt: GtId) -> bool {
        usize::from(gt.0) < N
            && !self.memirq.sw_int0_pending(gt)
            && !self.coordinator.needs_fixes(gt)
    }

    /// Whether GT `gt`'s recovery is pending: reported and not yet followed by an accepted
    /// RESFIX_DONE, or in progress. `false` for an unknown GT and once wedged. Wait-free; fine
    /// in interrupt context.
    pub fn recovery_pending(&self, gt: GtId) -> bool {
        usize::from(gt.0) < N
            && !self.coordinator.is_wedged()
            && (self.memirq.sw_int0_pending(gt) || self.coordinator.recovery_pending(gt))
    }

    /// Waits until [`ggtt_valid`](Vf::ggtt_valid), for at most `timeout` of `clock` time
    /// (the kernel's wait for a valid GGTT, bounded). Returns at once with
    /// [`GgttWait::Wedged`], [`GgttWait::TornDown`] or [`GgttWait::UnknownGt`] when the GGTT
    /// can no longer become valid. The wait runs on a [`Stopwatch`]: a clock that makes no
    /// progress for [`GGTT_WAIT_STALL_POLLS`] polls ends it as [`GgttWait::ClockStalled`], one
    /// that wraps past `u64::MAX` times out as if it had not.
    pub fn wait_ggtt_valid<C: Clock>(&self, gt: GtId, clock: &C, timeout: Duration) -> GgttWait {
        let timeout_ns = nanos(timeout);
        if usize::from(gt.0) >= N {
            return GgttWait::UnknownGt;
        }
        let mut watch = Stopwatch::start(clock.now());
        loop {
            if self.ggtt_valid(gt) {
                return GgttWait::Valid;
            }
            if self.coordinator.is_wedged() {
                return GgttWait::Wedged;
            }
            if self.coordinator.is_torn_down() {
                return GgttWait::TornDown;
            }
            watch.observe(clock.now());
            if watch.elapsed_ns() >= timeout_ns {
                return GgttWait::TimedOut;
            }
            if watch.stalled_polls() >= GGTT_WAIT_STALL_POLLS {
                return GgttWait::ClockStalled;
            }
            clock.relax();
        }
    }

    /// How many per-GT fixups have completed so far (monotonic).
    pub fn fixups_completed(&self) -> usize {
        self.counters.fixups_completed.load(Ordering::Acquire)
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        let c = &self.counters;
        Stats {
            migrations_signalled: self
                .signals
                .iter()
                .fold(0usize, |sum, n| sum.wrapping_add(n.load(Ordering::Relaxed))),
            recoveries: c.recoveries.load(Ordering::Relaxed),
            completed: c.completed.load(Ordering::Relaxed),
            deferred: c.deferred.load(Ordering::Relaxed),
            requeued: c.requeued.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            unsupported: c.unsupported.load(Ordering::Relaxed),
            fixups_completed: c.fixups_completed.load(Ordering::Relaxed),
            ggtt_moves: c.ggtt_moves.load(Ordering::Relaxed),
        }
    }

    /// [`StartPolicy::AllGts`]: the GTs whose report the VF is waiting for before it starts the
    /// device-wide pass (see [`Coordinator::awaiting_reports`]). Non-empty means some GT reported
    /// a migration and nothing is queued or running: if the missing report does not come (a
    /// lost interrupt, or a late one for a migration a pass already covered), call
    /// [`start_now`](Vf::start_now). Always empty under [`StartPolicy::AnyGt`]. Wait-free.
    pub fn awaiting_reports(&self) -> GtSet {
        self.coordinator.awaiting_reports()
    }

    /// [`StartPolicy::AllGts`]: queues the device-wide pass now, without waiting for the GTs in
    /// [`awaiting_reports`](Vf::awaiting_reports); returns whether this call queued it. The pass
    /// recovers every GT, so a GT whose interrupt was lost is recovered too. Thread context.
    #[must_use]
    pub fn start_now(&self) -> bool {
        self.coordinator.start_now(&self.queue)
    }

    /// A read-only view of the coordinator (the calls that drive it are the VF's own; to end a
    /// wait or tear down, use [`start_now`](Vf::start_now) and [`teardown`](Vf::teardown)).
    pub const fn coordinator(&self) -> CoordinatorView<'_> {
        CoordinatorView::new(&self.coordinator)
    }

    /// The work queue.
    pub const fn queue(&self) -> &Q {
        &self.queue
    }

    /// The hooks.
    pub const fn hooks(&self) -> &H {
        &self.hooks
    }

    /// The migration policy.
    pub const fn config(&self) -> &RecoveryConfig {
        &self.config
    }

    /// Whether a failed recovery wedged the device.
    pub fn is_wedged(&self) -> bool {
        self.coordinator.is_wedged()
    }

    /// Stops migration handling: after this returns nothing is queued or started, and a running
    /// pass stops at its next step. Then waits, calling `relax` between checks, until no pass
    /// runs or `relax` returns `false` (the caller's bound). Returns whether the VF is idle.
    #[must_use = "false means a pass or a queue() call may still be running"]
    pub fn teardown(&self, relax: impl FnMut() -> bool) -> bool {
        self.coordinator.teardown();
        self.coordinator.teardown_wait(relax)
    }
}

/// The bootstrap's half of the core: the first query of every GT and the tiles' GGTT.
impl<D: Device, const N: usize> Core<D, N> {
    /// [`Vf::register_memirq`] on the held core.
    fn register_memirq<M: MemirqSet>(&mut self, memirq: &M) -> Result<(), BootstrapError> {
        // All or nothing: every GT on the unit of its kind, or (no memirq) none at all.
        let any = (0..N).any(|n| memirq.registration(GtId(n as u8)).is_some());
        for (n, gt) in self.gts.iter().enumerate() {
            let id = GtId(n as u8);
            let unit = GucUnit::for_gt(gt.info().kind);
            let fits = match memirq.registration(id) {
                // The page address the source byte implies must also give the status vector.
                Some((source, status)) => {
                    source
                        .checked_sub(unit.source_offset() as u64)
                        .and_then(|page| unit.status_addr(page))
                        == Some(status)
                }
                None => !any,
            };
            if !fits {
                return Err(BootstrapError::MemirqMismatch { gt: id });
            }
        }
        for (i, gt) in self.gts.iter_mut().enumerate() {
            let id = GtId(i as u8);
            if let Some((source, status)) = memirq.registration(id) {
                gt.register_memirq(source, status)
                    .map_err(|error| BootstrapError::Gt { gt: id, error })?;
                debug!(
                    "GT{}: memirq registered (source {:#x}, status {:#x})",
                    i, source, status
                );
            }
        }
        Ok(())
    }

    /// [`Vf::bootstrap`] on the held core, up to publishing the views.
    fn bootstrap(&mut self, topology: &Topology<N>) -> Result<(), BootstrapError> {
        for (i, gt) in self.gts.iter_mut().enumerate() {
            let id = GtId(i as u8);
            let result = gt.bootstrap().and_then(|_| gt.query_config());
            let config = result.map_err(|error| BootstrapError::Gt { gt: id, error })?;
            info!(
                "GT{}: VF ABI {}, GGTT {:#x}+{:#x}",
                i,
                gt.version().unwrap_or_default(),
                config.ggtt_start,
                config.ggtt_size
            );
        }
        // Each GT's GGTT (start, size), as its query just stored it.
        let gts = &self.gts;
        let ggtt_of = |gt: GtId| {
            gts.get(usize::from(gt.0))
                .and_then(Gt::config)
                .map_or((0, 0), |c| (c.ggtt_start, c.ggtt_size))
        };
        for t in 0..topology.num_tiles() {
            let tile = TileId(t as u8);
            let Some(primary) = topology.primary_of(tile) else {
                continue;
            };
            let primary_ggtt = ggtt_of(primary);
            for gt in topology.gts_of(tile) {
                let ggtt = ggtt_of(gt);
                if ggtt != primary_ggtt {
                    error!("tile {}: GTs disagree on the GGTT", t);
                    return Err(BootstrapError::GgttMismatch {
                        tile,
                        primary,
                        primary_ggtt,
                        media: gt,
                        media_ggtt: ggtt,
                    });
                }
            }
            self.tiles[t] = TileGgtt {
                size: primary_ggtt.1,
                applied: primary_ggtt.0,
                reported: primary_ggtt.0,
                moves: 0,
            };
            // Newer than every re-query sent before this bootstrap.
            self.tile_stamp[t] = self.queries;
        }
        Ok(())
    }
}

#[cfg(all(test, feature = "mock", feature = "std", not(loom)))]
mod tests;
