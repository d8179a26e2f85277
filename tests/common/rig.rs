//! [`RigBuilder`] and [`Rig`]: a bootstrapped VF on mock GuCs, for the tests.

use std::time::Duration;

use xe_sriov_vf::coordinator::{GtId, Signal, StartPolicy};
use xe_sriov_vf::gt::{Gt, GtInfo};
use xe_sriov_vf::mailbox::MailboxConfig;
use xe_sriov_vf::memirq::{Memirq, NoMemirq};
use xe_sriov_vf::mock::{Latency, MockClock, MockGuc, MockMemirqPage, Provisioning};
use xe_sriov_vf::recovery::{PassOutcome, RecoveryConfig, Vf};
use xe_sriov_vf::tile::TileId;
use xe_sriov_vf::wire::regs::GtKind;
use xe_sriov_vf::wire::Version;
use xe_sriov_vf::workqueue::TestQueue;

use super::{leak_dyn, DynDevice, Recorder};

/// The rig's VF: its GTs' devices behind [`DynDevice`], the [`Recorder`], a [`TestQueue`].
pub type RigVf<const N: usize, M = NoMemirq> = Vf<DynDevice, Recorder, TestQueue, N, M>;

/// The rig's VF with memory-based interrupts (one tile's page).
pub type MemirqVf<const N: usize> = RigVf<N, Memirq<&'static MockMemirqPage>>;

/// Builds GT `i`'s device from `i` and every GT's mock.
type DeviceFn<const N: usize> = Box<dyn Fn(usize, [&'static MockGuc; N]) -> DynDevice>;

/// How to build a [`Rig`]: the layout of tiles and GTs, the VF ABI the GuCs offer, their
/// provisioning and timing, the recovery configuration, and each GT's device.
pub struct RigBuilder<const N: usize> {
    layout: [(TileId, GtKind); N],
    abi: Version,
    prov: Provisioning,
    base: u64,
    tile_stride: u64,
    config: RecoveryConfig,
    mailbox: MailboxConfig,
    shared_clock: bool,
    latency: Option<Latency>,
    relax_step: Option<Duration>,
    device: Option<DeviceFn<N>>,
    place: bool,
}

/// A bootstrapped VF on leaked mock GuCs, with its GGTT oracle placed at each tile's base.
pub struct Rig<const N: usize, M: 'static = NoMemirq> {
    pub vf: &'static RigVf<N, M>,
    pub gucs: [&'static MockGuc; N],
    /// (tile, kind) per GT.
    pub layout: [(TileId, GtKind); N],
    /// Each tile's base is `base + tile * tile_stride`.
    pub base: u64,
    pub tile_stride: u64,
    /// The tile's memirq page (memirq rigs only).
    pub page: Option<&'static MockMemirqPage>,
}

impl<const N: usize, M> Clone for Rig<N, M> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<const N: usize, M> Copy for Rig<N, M> {}

/// The usual GGTT base of tile 0 (the mock's integrated provisioning's).
pub const BASE: u64 = 0x0020_0000;

/// One tile: GT0 primary, GT1 media, sharing one GGTT.
pub const TILE_PAIR: [(TileId, GtKind); 2] =
    [(TileId(0), GtKind::Primary), (TileId(0), GtKind::Media)];

/// One GT.
pub const SINGLE: [(TileId, GtKind); 1] = [(TileId(0), GtKind::Primary)];

impl<const N: usize> RigBuilder<N> {
    /// `layout`'s GTs on mocks offering VF ABI 1.27, integrated, tile 0 at [`BASE`], tiles
    /// 128 MiB apart, the default configuration and mailbox, each mock on its own clock
    /// answering at the doorbell, each GT's device its mock.
    pub fn new(layout: [(TileId, GtKind); N]) -> Self {
        RigBuilder {
            layout,
            abi: Version::new(1, 27),
            prov: Provisioning::integrated(),
            base: BASE,
            tile_stride: 0x0800_0000,
            config: RecoveryConfig::KERNEL,
            mailbox: MailboxConfig::KERNEL,
            shared_clock: false,
            latency: None,
            relax_step: None,
            device: None,
            place: true,
        }
    }

    /// The VF ABI version the GuCs offer.
    pub fn abi(mut self, abi: Version) -> Self {
        self.abi = abi;
        self
    }

    /// The GuCs' provisioning (its `ggtt_start` replaced by each tile's base).
    pub fn provisioning(mut self, prov: Provisioning) -> Self {
        self.prov = prov;
        self
    }

    /// Tile 0's GGTT base, and how far apart the tiles' GGTTs are.
    pub fn base(mut self, base: u64, tile_stride: u64) -> Self {
        self.base = base;
        self.tile_stride = tile_stride;
        self
    }

    /// The recovery configuration (the interrupt path is the builder's: `mmio` or `memirq`).
    pub fn config(mut self, config: RecoveryConfig) -> Self {
        self.config = config;
        self
    }

    /// The start policy.
    pub fn policy(mut self, policy: StartPolicy) -> Self {
        self.config.start = policy;
        self
    }

    /// Split phase (overlapped GTs) or one GT after the other.
    pub fn split_phase(mut self, split: bool) -> Self {
        self.config.split_phase = split;
        self
    }

    /// PTL's order: a tile's media GT after its primary.
    pub fn media_after_primary(mut self, on: bool) -> Self {
        self.config.media_after_primary = on;
        self
    }

    /// Each GT's mailbox configuration.
    pub fn mailbox(mut self, mailbox: MailboxConfig) -> Self {
        self.mailbox = mailbox;
        self
    }

    /// Every mock on one shared virtual clock.
    pub fn shared_clock(mut self) -> Self {
        self.shared_clock = true;
        self
    }

    /// Every mock answers each request after `latency`.
    pub fn latency(mut self, latency: Latency) -> Self {
        self.latency = Some(latency);
        self
    }

    /// Every mock's virtual clock moves `step` per relax.
    pub fn relax_step(mut self, step: Duration) -> Self {
        self.relax_step = Some(step);
        self
    }

    /// GT `i`'s device: `f(i, the GTs' mocks)` (a
    /// [`HookedDevice`](xe_sriov_vf::mock::HookedDevice) over mock `i` where the test acts on
    /// register accesses) instead of mock `i` itself.
    pub fn device(
        mut self,
        f: impl Fn(usize, [&'static MockGuc; N]) -> DynDevice + 'static,
    ) -> Self {
        self.device = Some(Box::new(f));
        self
    }

    /// Leave the oracle unplaced (the test places it).
    pub fn unplaced(mut self) -> Self {
        self.place = false;
        self
    }

    /// Tile `tile`'s GGTT base.
    fn tile_base(&self, tile: TileId) -> u64 {
        self.base + u64::from(tile.0) * self.tile_stride
    }

    /// The mocks a build makes, made now (for a test whose devices need them before the VF
    /// exists): one per GT, and the clock they share if [`shared_clock`](Self::shared_clock).
    /// Build on them with [`mmio_on`](Self::mmio_on).
    pub fn mocks(&self) -> ([&'static MockGuc; N], &'static MockClock) {
        let clock: &'static MockClock = Box::leak(Box::default());
        let gucs = self.layout.map(|(tile, kind)| {
            let mut prov = self.prov;
            prov.ggtt_start = self.tile_base(tile);
            let guc: &'static MockGuc = Box::leak(Box::new(MockGuc::new(kind, self.abi, prov)));
            if self.shared_clock {
                guc.use_clock(clock);
            }
            if let Some(l) = self.latency {
                guc.set_latency(l);
            }
            if let Some(step) = self.relax_step {
                guc.set_relax_step(step);
            }
            guc
        });
        (gucs, clock)
    }

    fn gts(&self, gucs: [&'static MockGuc; N]) -> [Gt<DynDevice>; N] {
        core::array::from_fn(|i| {
            let (tile, kind) = self.layout[i];
            let dev = match &self.device {
                Some(f) => f(i, gucs),
                None => leak_dyn(gucs[i]),
            };
            Gt::new(
                dev,
                GtInfo::new(kind, false, 2004).on_tile(tile),
                self.mailbox,
            )
        })
    }

    fn finish<M: xe_sriov_vf::memirq::MemirqSet>(
        &self,
        vf: RigVf<N, M>,
        gucs: [&'static MockGuc; N],
        page: Option<&'static MockMemirqPage>,
    ) -> Rig<N, M> {
        let vf: &'static RigVf<N, M> = Box::leak(Box::new(vf));
        vf.bootstrap().unwrap();
        if self.place {
            for t in 0..vf.topology().num_tiles() {
                let tile = TileId(t as u8);
                vf.hooks()
                    .oracle
                    .place(tile, vf.tile_ggtt(tile).unwrap().applied);
            }
        }
        Rig {
            vf,
            gucs,
            layout: self.layout,
            base: self.base,
            tile_stride: self.tile_stride,
            page,
        }
    }

    /// The VF, SW_INT_0 delivered from the register vector ([`RecoveryConfig::with_mmio_irq`]),
    /// bootstrapped.
    pub fn mmio(self) -> Rig<N> {
        let (gucs, _) = self.mocks();
        self.mmio_on(gucs)
    }

    /// [`mmio`](Self::mmio) on mocks made by [`mocks`](Self::mocks).
    pub fn mmio_on(self, gucs: [&'static MockGuc; N]) -> Rig<N> {
        let vf = Vf::new(
            self.gts(gucs),
            Recorder::default(),
            TestQueue::new(),
            self.config.with_mmio_irq(),
        )
        .unwrap();
        self.finish(vf, gucs, None)
    }

    /// The VF on one tile with memory-based interrupts: one page at `page_ggtt` in the GGTT,
    /// attached to every mock, GT0 the primary and GT1 (if any) the media GT of
    /// `Memirq::new`; bootstrapped, not registered.
    pub fn memirq(self, page_ggtt: u64) -> Rig<N, Memirq<&'static MockMemirqPage>> {
        let media = (N > 1).then_some(GtId(1));
        self.memirq_with(page_ggtt, GtId(0), media)
    }

    /// [`memirq`](Self::memirq) with the page's GTs as given (`Memirq::new(page, ..,
    /// primary, media)`).
    pub fn memirq_with(
        self,
        page_ggtt: u64,
        primary: GtId,
        media: Option<GtId>,
    ) -> Rig<N, Memirq<&'static MockMemirqPage>> {
        let (gucs, _) = self.mocks();
        let page: &'static MockMemirqPage = Box::leak(Box::default());
        for g in gucs {
            g.attach_memirq(page, page_ggtt);
        }
        let memirq = Memirq::new(page, page_ggtt, primary, media);
        let vf = Vf::with_memirq(
            self.gts(gucs),
            Recorder::default(),
            TestQueue::new(),
            self.config,
            memirq,
        )
        .unwrap();
        self.finish(vf, gucs, Some(page))
    }
}

impl<const N: usize, M: xe_sriov_vf::memirq::MemirqSet> Rig<N, M> {
    pub fn hooks(&self) -> &'static Recorder {
        self.vf.hooks()
    }

    /// Tile `tile`'s GGTT base for a VM-wide base `base`.
    pub fn tile_base(&self, base: u64, tile: TileId) -> u64 {
        base + u64::from(tile.0) * self.tile_stride
    }

    /// The VM moves: every GuC restored at GGTT `base` (per tile), SW_INT_0 raised, not yet
    /// delivered.
    pub fn migrate(&self, base: u64) {
        for (n, guc) in self.gucs.iter().enumerate() {
            guc.migrate(self.tile_base(base, self.layout[n].0));
        }
    }

    /// Delivers GT `gt`'s pending interrupt from its register vector, if any.
    pub fn deliver_gt(&self, gt: usize) -> Option<Signal> {
        let intr = self.gucs[gt].take_interrupts();
        (!intr.is_empty()).then(|| self.vf.handle_guc_interrupt(GtId(gt as u8), intr))
    }

    /// Delivers every GT's pending interrupt.
    pub fn deliver(&self) {
        for gt in 0..N {
            self.deliver_gt(gt);
        }
    }

    /// Runs passes while the queue has work (at most 64), delivering no interrupt.
    pub fn run_queued(&self) -> Vec<PassOutcome> {
        let mut outcomes = Vec::new();
        while outcomes.len() < 64 && self.vf.queue().take() {
            outcomes.push(self.vf.run_worker());
        }
        outcomes
    }

    /// Runs passes while the queue has work (at most 64), delivering interrupts before each.
    pub fn drain(&self) -> Vec<PassOutcome> {
        let mut outcomes = Vec::new();
        for _ in 0..64 {
            self.deliver();
            if !self.vf.queue().take() {
                break;
            }
            outcomes.push(self.vf.run_worker());
        }
        outcomes
    }

    /// The GuC's current GGTT base of `tile` (its primary GT's provisioning).
    pub fn guc_base(&self, tile: TileId) -> u64 {
        let n = (0..N)
            .find(|&n| self.layout[n] == (tile, GtKind::Primary))
            .unwrap();
        self.gucs[n].provisioning().ggtt_start
    }
}
