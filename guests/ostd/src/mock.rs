//! Scenario 1: the crate's `unikernel_poll` example inside this kernel, on the mock GuC. Two GTs
//! (primary + media) of one tile, a migration, and a second one that lands while the first
//! recovery is about to send RESFIX_DONE on gt0; nobody is told, the main loop polls. Run twice,
//! as the example runs with `--irq memirq` and `--irq mmio`:
//!
//! - memirq: the tile's memirq page is a `DmaCoherent` page (`memirq_page::DmaPage`) that both
//!   the mock GuCs (`MockGuc::attach_memirq_page`) and the VF's `Memirq` use; polling it is
//!   `Vf::handle_memirq`;
//! - mmio: no page, `RecoveryConfig::with_mmio_irq`, each GT's GuC interrupt register is read
//!   and cleared and handed to `Vf::handle_guc_interrupt`.
//!
//! Each run passes only if both GTs end VF_RUNNING on the final GGTT base, the GGTT users moved
//! there, every SW_INT_0 was delivered, the memirq registration (where used) is whole and the
//! VF is not wedged; it prints the example's lines and its `summary:` line.

use alloc::boxed::Box;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use xe_sriov_vf::gt::{Gt, GtInfo};
use xe_sriov_vf::mailbox::MailboxConfig;
use xe_sriov_vf::mock::{GgttOracle, MemirqRegistration, MockGuc, Provisioning, VfState};
use xe_sriov_vf::wire::regs::GtKind;
use xe_sriov_vf::wire::Version;
use xe_sriov_vf::{
    GgttMove, GtId, HoldPoint, HookError, Memirq, MemirqSet, PassOutcome, Polled, RecoveryConfig,
    RecoveryHooks, TileId, Vf,
};

use crate::memirq_page::DmaPage;

/// The GGTT base before any migration (the mock's integrated provisioning).
const GGTT_BEFORE: u64 = 0x0020_0000;
/// After the first migration.
const GGTT_FIRST: u64 = 0x0030_0000;
/// After the second, which lands mid-recovery.
const GGTT_SECOND: u64 = 0x0060_0000;
/// Where the memirq page is in the VF's GGTT (told to the GuCs by HOST2GUC_SELF_CFG).
const MEMIRQ_PAGE_GGTT: u64 = 0x0010_0000;
const ABI: Version = Version::new(1, 27);

/// How SW_INT_0 reaches the VF.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrqPath {
    /// Bytes in the tile's memirq page (a `DmaCoherent` page here).
    Memirq,
    /// The GuC interrupt register of each GT.
    Mmio,
}

/// One run's world: its two mock GuCs, its GGTT users, its migrations.
struct World {
    gucs: [MockGuc; 2],
    ggtt_users: GgttOracle<1>,
    migrations: AtomicUsize,
    second_due: AtomicBool,
}

impl World {
    const fn new() -> World {
        World {
            gucs: [
                MockGuc::new(GtKind::Primary, ABI, Provisioning::integrated()),
                MockGuc::new(GtKind::Media, ABI, Provisioning::integrated()),
            ],
            ggtt_users: GgttOracle::new(),
            migrations: AtomicUsize::new(0),
            second_due: AtomicBool::new(true),
        }
    }

    /// The destination host migrates the VM: every GuC moves the base and raises SW_INT_0.
    fn migrate_vm(&self, ggtt_start: u64) {
        self.migrations.fetch_add(1, Ordering::AcqRel);
        for guc in &self.gucs {
            guc.migrate(ggtt_start);
        }
    }

    fn two_gts(&'static self) -> [Gt<&'static MockGuc>; 2] {
        [
            Gt::new(
                &self.gucs[0],
                GtInfo::new(GtKind::Primary, false, 2004),
                MailboxConfig::DEFAULT,
            ),
            Gt::new(
                &self.gucs[1],
                GtInfo::new(GtKind::Media, false, 2004),
                MailboxConfig::DEFAULT,
            ),
        ]
    }
}

static WORLDS: [World; 2] = [World::new(), World::new()];

/// The hooks: the GGTT users moved, a line per fixup, the second migration at the first
/// `BeforeDone` of gt0.
struct Hooks(&'static World);

impl RecoveryHooks for Hooks {
    fn ggtt_fixup(&self, tile: TileId, ggtt: GgttMove) -> Result<(), HookError> {
        println!("  recovery pass: tile{} GGTT {ggtt}", tile.0);
        self.0.ggtt_users.fixup(tile, ggtt)
    }

    fn gt_fixups(&self, gt: GtId) -> Result<(), HookError> {
        println!("  recovery pass: gt{} fixups", gt.0);
        Ok(())
    }

    fn hold(&self, point: HoldPoint, gt: GtId) {
        if point == HoldPoint::BeforeDone
            && gt == GtId(0)
            && self.0.second_due.swap(false, Ordering::AcqRel)
        {
            println!("migration 2 lands mid-recovery (before RESFIX_DONE on gt0): GGTT -> {GGTT_SECOND:#x}");
            self.0.migrate_vm(GGTT_SECOND);
        }
    }
}

type DriverVf<M> = Vf<&'static MockGuc, Hooks, Polled, 2, M>;

/// Runs the scenario on `irq`; true when it passed.
pub fn run(irq: IrqPath) -> bool {
    println!(
        "unikernel: one loop polls the GuC interrupt status ({irq:?}) and drains the polling queue"
    );
    match irq {
        IrqPath::Memirq => {
            let world = &WORLDS[0];
            let page: &'static DmaPage = match DmaPage::alloc() {
                Ok(p) => Box::leak(Box::new(p)),
                Err(e) => {
                    println!("DmaCoherent::alloc failed: {e:?}");
                    return false;
                }
            };
            println!(
                "memirq page: DmaCoherent, daddr {:#x}, GGTT {MEMIRQ_PAGE_GGTT:#x}",
                page.daddr()
            );
            for guc in &world.gucs {
                guc.attach_memirq_page(page, MEMIRQ_PAGE_GGTT);
            }
            let memirq = Memirq::new(page, MEMIRQ_PAGE_GGTT, GtId(0), Some(GtId(1)));
            let vf = match Vf::with_memirq(
                world.two_gts(),
                Hooks(world),
                Polled,
                RecoveryConfig::DEFAULT,
                memirq,
            ) {
                Ok(vf) => vf,
                Err(e) => {
                    println!("Vf::with_memirq: {e:?}");
                    return false;
                }
            };
            if let Err(e) = vf.bootstrap().and_then(|()| vf.register_memirq()) {
                println!(
                    "bootstrap or memirq registration failed: {}",
                    crate::Chain(&e)
                );
                return false;
            }
            vf.memirq().enable();
            main_loop(&vf, world, irq)
        }
        IrqPath::Mmio => {
            let world = &WORLDS[1];
            let config = RecoveryConfig::DEFAULT.with_mmio_irq();
            let vf = match Vf::new(world.two_gts(), Hooks(world), Polled, config) {
                Ok(vf) => vf,
                Err(e) => {
                    println!("Vf::new: {e:?}");
                    return false;
                }
            };
            if let Err(e) = vf.bootstrap() {
                println!("bootstrap failed: {}", crate::Chain(&e));
                return false;
            }
            main_loop(&vf, world, irq)
        }
    }
}

/// Polls the GuC interrupt status and hands it to the coordinator.
fn poll<M: MemirqSet>(vf: &DriverVf<M>, world: &World, irq: IrqPath) {
    match irq {
        IrqPath::Memirq => {
            let seen = vf.handle_memirq();
            if !seen.sw_int0.is_empty() {
                println!("  poll: memirq SW_INT_0 on GTs {:?}", seen.sw_int0);
            }
        }
        IrqPath::Mmio => {
            for (gt, guc) in (0u8..).zip(&world.gucs) {
                let intr = guc.take_interrupts();
                if !intr.is_empty() {
                    let signal = vf.handle_guc_interrupt(GtId(gt), intr);
                    println!("  poll: gt{gt} register {intr:?} -> {signal:?}");
                }
            }
        }
    }
}

/// The main loop (bounded), then the verdict.
fn main_loop<M: MemirqSet>(vf: &DriverVf<M>, world: &'static World, irq: IrqPath) -> bool {
    world.ggtt_users.place(TileId(0), GGTT_BEFORE);
    let mut idle_turns = 0;
    for turn in 0..1000 {
        if turn == 2 {
            println!("migration 1: GGTT {GGTT_BEFORE:#x} -> {GGTT_FIRST:#x}");
            world.migrate_vm(GGTT_FIRST);
        }
        poll(vf, world, irq);
        idle_turns = match vf.run_worker() {
            PassOutcome::NotStarted => idle_turns + 1,
            outcome => {
                println!("  recovery pass: {outcome:?}");
                0
            }
        };
        if turn > 2 && idle_turns > 3 {
            break;
        }
    }
    verdict(vf, world)
}

fn verdict<M: MemirqSet>(vf: &DriverVf<M>, world: &World) -> bool {
    let mut on_final_base = true;
    let mut delivered = true;
    for gt in 0..2u8 {
        let guc = &world.gucs[usize::from(gt)];
        let start = vf
            .gt_view(GtId(gt))
            .and_then(|v| v.config)
            .map(|c| c.ggtt_start);
        on_final_base &= start == Some(GGTT_SECOND);
        let path = match guc.memirq_registration() {
            MemirqRegistration::Ok => "interrupts via the memirq page",
            MemirqRegistration::None => "interrupts via the GuC interrupt register",
            _ => {
                delivered = false;
                "bad memirq registration"
            }
        };
        let left = !guc.pending_interrupts().is_empty() || vf.memirq().sw_int0_pending(GtId(gt));
        delivered &= !left;
        println!(
            "gt{gt}: GGTT start {:#x}, {}, {path}{}",
            start.unwrap_or(0),
            guc.state(),
            if left { ", SW_INT_0 NOT DELIVERED" } else { "" }
        );
    }
    let s = vf.stats();
    let ggtt = world.ggtt_users.check(TileId(0), GGTT_SECOND);
    if let Err(e) = &ggtt {
        println!("GGTT users: {e}");
    }
    let running = world.gucs.iter().all(|g| g.state() == VfState::Running);
    println!(
        "summary: migrations={} recoveries={} deferred={} requeued={} wedged={} states={},{} ggtt={}",
        world.migrations.load(Ordering::Acquire),
        s.recoveries,
        s.deferred,
        s.requeued,
        if vf.is_wedged() { "yes" } else { "no" },
        world.gucs[0].state().name(),
        world.gucs[1].state().name(),
        if ggtt.is_ok() { "ok" } else { "stale" }
    );
    running && !vf.is_wedged() && on_final_base && ggtt.is_ok() && delivered
}
