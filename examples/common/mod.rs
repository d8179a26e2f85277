//! The demo scaffolding the embedding examples share: two mock GuCs (primary and media GT) on
//! one tile, the tile's memirq page, VM migrations, the trigger that lands a second migration
//! mid-recovery, and the verdict with the simulator's `summary:` line. The integration code a
//! kernel author copies is in each example; nothing here is needed on real hardware (where the
//! memirq page is a zeroed 4 KiB page of system memory the embedder allocates and maps into the
//! VF's GGTT, seen by the crate through `xe_sriov_vf::mmio::MemirqMem`).

mod chain;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use xe_sriov_vf::gt::{GpuKind, GraphicsIp, Gt, GtInfo};
use xe_sriov_vf::mailbox::MailboxConfig;
use xe_sriov_vf::memirq::{Memirq, MemirqSet};
use xe_sriov_vf::mock::{
    GgttOracle, MemirqRegistration, MockGuc, MockMemirqPage, Provisioning, VfState,
};
use xe_sriov_vf::wire::regs::GtKind;
use xe_sriov_vf::wire::Version;
use xe_sriov_vf::{GtId, HoldPoint, RecoveryHooks, TileId, Vf, WorkQueue};

pub use chain::error_chain;

/// The GGTT base before any migration (the mock's integrated provisioning).
pub const GGTT_BEFORE: u64 = 0x0020_0000;
/// The GGTT base after the first migration.
pub const GGTT_FIRST: u64 = 0x0030_0000;
/// The GGTT base after the second one, which lands mid-recovery.
pub const GGTT_SECOND: u64 = 0x0060_0000;

const ABI: Version = Version::new(1, 27);

/// The two GTs' GuCs: the primary GT and the media GT of an integrated part.
pub static GUCS: [MockGuc; 2] = [
    MockGuc::new(GtKind::Primary, ABI, Provisioning::integrated()),
    MockGuc::new(GtKind::Media, ABI, Provisioning::integrated()),
];

/// The tile's memirq page (memory-based interrupts): both GuCs write their SW_INT_0 into it and
/// raise the tile's MSI; the VF's handler (`Vf::handle_memirq`) scans and clears it. The mock's
/// page is plain atomic bytes; on hardware it is GPU-visible system memory.
pub static MEMIRQ_PAGE: MockMemirqPage = MockMemirqPage::new();

/// Where the memirq page is mapped in the VF's GGTT (any 4 KiB-aligned GGTT address of the VF;
/// the GuCs learn it through HOST2GUC_SELF_CFG in `Vf::register_memirq`).
pub const MEMIRQ_PAGE_GGTT: u64 = 0x0010_0000;

/// The VF's memirq page for its one tile, as the crate sees it.
pub type TileMemirq = Memirq<&'static MockMemirqPage>;

/// Attaches the memirq page to both mock GuCs (what mapping the page into the GGTT does on
/// hardware): once the VF has registered its addresses, a migration writes SW_INT_0 into the
/// page instead of raising the GuC interrupt register.
pub fn attach_memirq_page() {
    for guc in &GUCS {
        guc.attach_memirq(&MEMIRQ_PAGE, MEMIRQ_PAGE_GGTT);
    }
}

/// The tile's `Memirq` (primary GT 0 = GuC unit 25, media GT 1 = unit 24) over the mock page,
/// for `Vf::with_memirq` or `Vf::new_static` (`const`); call [`attach_memirq_page`] before the
/// VF registers it. Real hardware:
/// `Memirq::new(unsafe { MemirqMem::new(page_ptr) }?, page_ggtt, GtId(0), Some(GtId(1)))`.
pub const fn tile_memirq() -> TileMemirq {
    Memirq::new(&MEMIRQ_PAGE, MEMIRQ_PAGE_GGTT, GtId(0), Some(GtId(1)))
}

/// The demo's GGTT users (the mock's oracle): the example's `ggtt_fixup` moves them, the
/// verdict checks they sit at the GuC's final base, moved once per change of base.
pub static GGTT_USERS: GgttOracle<1> = GgttOracle::new();

/// Maps the demo's GGTT users at the bootstrap base (call after `Vf::bootstrap`).
pub fn place_ggtt_users() {
    GGTT_USERS.place(TileId(0), GGTT_BEFORE);
}

/// VM migrations so far (all GTs at once count as one, as in the simulator's summary).
static VM_MIGRATIONS: AtomicUsize = AtomicUsize::new(0);

/// The VF's two GTs, on an integrated part with graphics IP 20.04 (Lunar Lake). `const`, for a
/// VF in a `static`.
pub const fn two_gts() -> [Gt<&'static MockGuc>; 2] {
    [
        Gt::new(
            &GUCS[0],
            GtInfo::of(GtKind::Primary, GpuKind::Integrated, GraphicsIp::new(20, 4)),
            MailboxConfig::DEFAULT,
        ),
        Gt::new(
            &GUCS[1],
            GtInfo::of(GtKind::Media, GpuKind::Integrated, GraphicsIp::new(20, 4)),
            MailboxConfig::DEFAULT,
        ),
    ]
}

/// The destination host migrates the VM: every GuC moves the GGTT base to `ggtt_start`, enters
/// VF_RESFIX_BLOCKED and raises SW_INT_0 (in the memirq page once the VF registered it, else in
/// its interrupt register). Delivering the interrupts (the tile's MSI) is the caller's part.
pub fn migrate_vm(ggtt_start: u64) {
    VM_MIGRATIONS.fetch_add(1, Ordering::AcqRel);
    for guc in &GUCS {
        guc.migrate(ggtt_start);
    }
}

/// Fires once: at the first recovery pass's hold point before RESFIX_DONE on gt0.
pub struct SecondMigration(AtomicBool);

impl SecondMigration {
    /// Armed: the next `due` at the right point returns true.
    pub const fn armed() -> SecondMigration {
        SecondMigration(AtomicBool::new(true))
    }

    /// Whether the second migration lands now (call from `RecoveryHooks::hold`).
    pub fn due(&self, point: HoldPoint, gt: GtId) -> bool {
        let due =
            point == HoldPoint::BeforeDone && gt == GtId(0) && self.0.swap(false, Ordering::AcqRel);
        if due {
            println!(
                "migration 2 lands mid-recovery (before RESFIX_DONE on gt0): GGTT -> {GGTT_SECOND:#x}"
            );
        }
        due
    }
}

/// The demos' hooks: nothing to fix up but the tile's GGTT users (moved once per change of the
/// tile's GGTT base) and a line per GT fixup, each line prefixed with `label`; `hold` lands the
/// second migration just before the first pass sends RESFIX_DONE on gt0, through
/// `migrate_again` (which also delivers its interrupts where the demo's kernel needs that).
/// A driver's own hooks move its GGTT nodes, rebase its contexts, pause and resume submission.
pub struct DemoHooks<F> {
    /// Who prints: `"recovery pass"`, `"deferred task"`.
    pub label: &'static str,
    /// The trigger of the second migration.
    pub second_migration: SecondMigration,
    /// Migrates the VM again (to [`GGTT_SECOND`]).
    pub migrate_again: F,
}

impl<F: Fn()> RecoveryHooks for DemoHooks<F> {
    fn ggtt_fixup(
        &self,
        tile: TileId,
        ggtt: xe_sriov_vf::GgttMove,
    ) -> Result<(), xe_sriov_vf::HookError> {
        // Once per change of the tile's GGTT base: move every GGTT node of the tile.
        println!("  {}: tile{} GGTT {ggtt}", self.label, tile.0);
        GGTT_USERS.fixup(tile, ggtt)
    }

    fn gt_fixups(&self, gt: GtId) -> Result<(), xe_sriov_vf::HookError> {
        // GT-local state: context images, HWSP, CT.
        println!("  {}: gt{} fixups", self.label, gt.0);
        Ok(())
    }

    fn hold(&self, point: HoldPoint, gt: GtId) {
        // The interrupts may arrive while the worker holds the GT lock: the handler never
        // takes it, so this cannot deadlock.
        if self.second_migration.due(point, gt) {
            (self.migrate_again)();
        }
    }
}

/// Whether the GuC of every GT runs the VF.
pub fn all_running() -> bool {
    GUCS.iter().all(|g| g.state() == VfState::Running)
}

/// Prints each GT's final state and interrupt path, and the summary line; success only if every
/// GT is VF_RUNNING on the final GGTT base, the demo's GGTT users sit there too, the device is
/// not wedged, no GuC interrupt was left undelivered (page bytes or register vector), no GuC has
/// a partial or wrong memirq registration, and `also` holds.
pub fn verdict<H: RecoveryHooks, Q: WorkQueue, M: MemirqSet>(
    vf: &Vf<&'static MockGuc, H, Q, 2, M>,
    also: bool,
) -> ExitCode {
    let mut on_final_base = true;
    let mut delivered = true;
    for gt in 0..2u8 {
        let guc = &GUCS[usize::from(gt)];
        let start = vf
            .gt_view(GtId(gt))
            .and_then(|v| v.config)
            .map(|c| c.ggtt_start);
        on_final_base &= start == Some(GGTT_SECOND);
        let path = match guc.memirq_registration() {
            MemirqRegistration::Ok => "interrupts via the memirq page".to_string(),
            MemirqRegistration::None => "interrupts via the GuC interrupt register".to_string(),
            other => {
                delivered = false;
                format!("bad memirq registration {other:?}")
            }
        };
        let left = !guc.pending_interrupts().is_empty() || vf.memirq().sw_int0_pending(GtId(gt));
        if left {
            delivered = false;
        }
        println!(
            "gt{gt}: GGTT start {:#x}, {}, {path}{}",
            start.unwrap_or(0),
            guc.state(),
            if left { ", SW_INT_0 NOT DELIVERED" } else { "" }
        );
    }
    let s = vf.stats();
    let states: Vec<&str> = GUCS.iter().map(|g| g.state().name()).collect();
    let ggtt = GGTT_USERS.check(TileId(0), GGTT_SECOND);
    if let Err(e) = ggtt {
        println!("GGTT users: {e}");
    }
    println!(
        "summary: migrations={} recoveries={} deferred={} requeued={} wedged={} states={} ggtt={}",
        VM_MIGRATIONS.load(Ordering::Acquire),
        s.recoveries,
        s.deferred,
        s.requeued,
        if vf.is_wedged() { "yes" } else { "no" },
        states.join(","),
        if ggtt.is_ok() { "ok" } else { "stale" }
    );
    if all_running() && !vf.is_wedged() && on_final_base && ggtt.is_ok() && delivered && also {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
