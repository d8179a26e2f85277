//! Embedding the crate in a unikernel without interrupts: one thread, one main loop that polls
//! the GuC interrupt status and runs the recovery passes that are due. The queue is
//! [`Polled`]: no queue at all, the loop asks the VF itself (`Vf::run_worker` answers
//! `NotStarted` after one load when nothing is due), the cheapest way to be told. Needs only the crate's `mock` feature (the crate itself stays `no_std`; only
//! this demo binary prints with std).
//!
//! ```text
//! cargo run --example unikernel_poll --features mock                # memirq (default)
//! cargo run --example unikernel_poll --features mock -- --irq mmio  # GuC interrupt register
//! ```
//!
//! By default the GuC status is the tile's memirq page (memory-based interrupts, as on every
//! part that can migrate, graphics IP 12.50 and newer): the GuCs write their SW_INT_0 bytes into
//! it, and polling it is `Vf::handle_memirq`, the same call a tile's MSI handler makes. With
//! `--irq mmio` the VF has no memirq page (`Vf::new`, with `RecoveryConfig::with_mmio_irq`) and
//! the loop reads and clears each GT's GuC interrupt register instead: the path of parts before
//! graphics IP 12.50, which have no memirq (and which kernel 7.0 does not let migrate).
//!
//! The demo: two GTs (primary + media) of one tile on the mock GuC, a migration, and a second
//! migration that lands while the first recovery is about to send RESFIX_DONE. Nobody polls
//! during the pass, so the GuC answers VF_MIGRATED and the pass re-queues. Exits non-zero unless
//! both GTs end in VF_RUNNING on the final GGTT base, the GGTT users moved there, every SW_INT_0
//! was delivered and the device is not wedged.

use std::process::ExitCode;

use xe_sriov_vf::mock::MockGuc;

mod common;
use common::{DemoHooks, SecondMigration, TileMemirq, GGTT_BEFORE, GGTT_FIRST, GGTT_SECOND, GUCS};
use xe_sriov_vf::{GtId, MemirqSet, PassOutcome, Polled, RecoveryConfig, Vf};

// =============================================================================================
// 1. The integration: statics and the main loop.
// =============================================================================================

/// How SW_INT_0 reaches the VF.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum IrqPath {
    /// Bytes in the tile's memirq page (graphics IP 12.50 and newer: every part that can
    /// migrate). The default.
    Memirq,
    /// The GuC interrupt register of each GT (parts before graphics IP 12.50).
    Mmio,
}

/// The device: its GTs (on the mock GuC here; an `MmioBar` on hardware), the hooks, no queue
/// (`Polled`: the coordinator's own flag says a pass is due), and its memirq pages `M`: the
/// tile's `Memirq` (the mock's page here; real hardware:
/// `Memirq::new(unsafe { MemirqMem::new(page_ptr) }?, page_ggtt, GtId(0), Some(GtId(1)))`), or
/// `NoMemirq` on the register path.
type DriverVf<M> = Vf<&'static MockGuc, DriverHooks, Polled, 2, M>;

/// The VF on the memirq path, in a `static`: `Vf::new_static` is `const`, so there is no
/// `Once`, no allocation and no "initialised yet?" branch in the main loop or in an interrupt
/// handler. A wrong topology (or a GT count of 0 or above `MAX_GTS`) is a compile error here.
/// Where the BAR is only known at run time (a `Device` over a pointer the kernel maps), build
/// the VF then and keep it in a `spin::Once` instead, as `guests/qemu-x86_64` does.
static VF: DriverVf<TileMemirq> = Vf::new_static(
    common::two_gts(),
    driver_hooks(),
    Polled,
    RecoveryConfig::DEFAULT,
    common::tile_memirq(),
);

/// Polls the GuC interrupt status (what the interrupt would have said) and hands it to the
/// coordinator.
fn poll_guc_interrupts<M: MemirqSet>(vf: &DriverVf<M>, irq: IrqPath) {
    match irq {
        // Scan the tile's memirq page: every GuC whose SW_INT_0 byte is set is signalled, and
        // its byte cleared after that (wait-free: the same call serves as the MSI handler).
        IrqPath::Memirq => {
            let seen = vf.handle_memirq();
            if !seen.sw_int0.is_empty() {
                println!("  poll: memirq SW_INT_0 on GTs {:?}", seen.sw_int0);
            }
        }
        // Before graphics IP 12.50: read and clear each GT's GuC interrupt register.
        IrqPath::Mmio => {
            for (gt, guc) in (0u8..).zip(&GUCS) {
                let intr = guc.take_interrupts(); // MMIO read + clear on hardware
                if !intr.is_empty() {
                    let signal = vf.handle_guc_interrupt(GtId(gt), intr);
                    println!("  poll: gt{gt} register {intr:?} -> {signal:?}");
                }
            }
        }
    }
}

/// One turn of the unikernel's main loop: poll, then run one recovery pass if one is due.
/// Returns whether it did anything (else the unikernel does other work, or halts until the next
/// tick).
fn main_loop_turn<M: MemirqSet>(vf: &DriverVf<M>, irq: IrqPath) -> bool {
    poll_guc_interrupts(vf, irq);
    match vf.run_worker() {
        PassOutcome::NotStarted => false,
        outcome => {
            println!("  recovery pass: {outcome:?}");
            true
        }
    }
}

// =============================================================================================
// 2. The demo: two mock GuCs and hooks that land a second migration mid-recovery.
// =============================================================================================

/// The destination host migrates the VM: every GuC raises SW_INT_0 (in the memirq page once the
/// VF registered it, else in its interrupt register; nobody is told: we poll).
fn migrate_vm(ggtt_start: u64) {
    common::migrate_vm(ggtt_start);
}

/// The hooks (`common::DemoHooks`): the GGTT users moved, a line per fixup, and the second
/// migration landed just before the first pass sends RESFIX_DONE on gt0. A `fn()` for that,
/// so that the hooks can be built in a `const`.
type DriverHooks = DemoHooks<fn()>;

const fn driver_hooks() -> DriverHooks {
    DemoHooks {
        label: "recovery pass",
        second_migration: SecondMigration::armed(),
        migrate_again: migrate_again as fn(),
    }
}

/// The second migration: nobody is told, the main loop polls.
fn migrate_again() {
    migrate_vm(GGTT_SECOND);
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let irq = match (args.next().as_deref(), args.next().as_deref(), args.next()) {
        (None, _, _) | (Some("--irq"), Some("memirq"), None) => IrqPath::Memirq,
        (Some("--irq"), Some("mmio"), None) => IrqPath::Mmio,
        _ => {
            eprintln!("usage: unikernel_poll [--irq memirq|mmio]");
            return ExitCode::from(2);
        }
    };
    println!(
        "unikernel: one loop polls the GuC interrupt status ({irq:?}) and drains the polling queue"
    );
    match irq {
        IrqPath::Memirq => {
            // The VF is a `static` (see `VF` above): nothing to build. The page is attached to
            // the mock GuCs (on hardware: mapped into the GGTT) before the VF registers it.
            common::attach_memirq_page();
            // Bootstrap, then HOST2GUC_SELF_CFG: tell both GuCs where their bytes are, before
            // CTB is enabled (without it no GuC interrupt ever arrives); then enable the page.
            if let Err(error) = VF.bootstrap().and_then(|()| VF.register_memirq()) {
                println!(
                    "bootstrap or memirq registration failed: {}",
                    common::error_chain(&error)
                );
                return ExitCode::FAILURE;
            }
            VF.memirq().enable();
            run(&VF, irq)
        }
        IrqPath::Mmio => {
            // No memirq page: opt in to migration with register interrupts (kernel 7.0 refuses
            // it, so by default the pass would end `Unsupported { reason: NoMemirq }`). Built
            // at run time with `Vf::new` (a `Result`), the other way to make a VF.
            let hooks = driver_hooks();
            let config = RecoveryConfig::DEFAULT.with_mmio_irq();
            let vf = Vf::new(common::two_gts(), hooks, Polled, config).expect("2 GTs");
            if let Err(error) = vf.bootstrap() {
                println!("bootstrap failed: {}", common::error_chain(&error));
                return ExitCode::FAILURE;
            }
            run(&vf, irq)
        }
    }
}

/// The main loop of a bootstrapped VF, then the verdict.
fn run<M: MemirqSet>(vf: &DriverVf<M>, irq: IrqPath) -> ExitCode {
    common::place_ggtt_users();

    // The main loop; the migration happens on its 3rd turn. Bounded for the demo.
    let mut idle_turns = 0;
    for turn in 0..1000 {
        if turn == 2 {
            println!("migration 1: GGTT {GGTT_BEFORE:#x} -> {GGTT_FIRST:#x}");
            migrate_vm(GGTT_FIRST);
        }
        idle_turns = if main_loop_turn(vf, irq) {
            0
        } else {
            idle_turns + 1
        };
        if turn > 2 && idle_turns > 3 {
            break;
        }
    }

    common::verdict(vf, true)
}
