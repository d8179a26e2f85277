//! Embedding the crate in a Redox-style user-space driver: one event loop reads interrupt
//! events, acknowledges them, and runs the recovery passes that are due through a
//! [`PollingQueue`]. No thread, no lock shared with an interrupt handler.
//!
//! ```text
//! cargo run --example redox_style --features mock
//! ```
//!
//! A Redox driver opens its interrupt line as a file (`/scheme/irq/N`, formerly `irq:N`),
//! subscribes it (and its own scheme socket) to an `event::EventQueue`, and loops over the
//! events: on an IRQ event it reads the IRQ file, checks and clears the device's interrupt
//! status, and writes the value back to acknowledge (the kernel then unmasks the line). Here an
//! `mpsc` channel stands in for the event queue and its IRQ fds.
//!
//! The device's interrupt status is the tile's memirq page (memory-based interrupts, as on every
//! part that can migrate): the GuCs write their SW_INT_0 bytes into it and raise the tile's MSI;
//! the IRQ event scans the page with `Vf::handle_memirq`.
//!
//! The demo: two GTs (primary + media) of one tile on the mock GuC, a migration, and a second
//! migration that lands while the first recovery is about to send RESFIX_DONE. The driver only
//! handles the second migration's MSIs after the pass (its bytes sit in the page meanwhile), so
//! the GuC answers VF_MIGRATED and the pass re-queues. Exits non-zero unless both GTs end in
//! VF_RUNNING on the final GGTT base, the GGTT users moved there, every SW_INT_0 was delivered
//! and the device is not wedged.

use std::process::ExitCode;
use std::sync::mpsc::{self, Receiver, Sender};

use xe_sriov_vf::mock::MockGuc;

mod common;
use common::{DemoHooks, SecondMigration, TileMemirq, GGTT_BEFORE, GGTT_FIRST, GGTT_SECOND};
use xe_sriov_vf::{PollingQueue, RecoveryConfig, Vf};

// =============================================================================================
// 1. The integration: the driver's event loop.
// =============================================================================================

/// What an event is about (Redox: the user data given to `EventQueue::subscribe`).
#[derive(Clone, Copy, Debug)]
enum Source {
    /// The tile's MSI (an fd on `/scheme/irq/N`, the vector `pcid` allocated) became readable.
    TileMsi,
}

/// The device: its GTs (on the mock GuC here; on hardware an `MmioBar` over the BAR the driver
/// mapped through `pcid`), the hooks, a polling queue (the loop itself is the worker), and the
/// tile's memirq page (the mock's here; on hardware a `MemirqMem` over the page the driver
/// allocated, e.g. with `syscall::physalloc` + `physmap`, and mapped into the VF's GGTT).
type DriverVf = Vf<&'static MockGuc, DriverHooks, PollingQueue, 2, TileMemirq>;

/// One IRQ event: read the line (Redox: `irq_file.read(&mut count)`), scan the memirq page
/// (`handle_memirq`: tells the coordinator of every GuC whose SW_INT_0 byte is set, then clears
/// the byte), acknowledge (Redox: `irq_file.write(&count)`). GUC2HOST bytes would go to the CT
/// receive path. Parts before graphics IP 12.50 (no memirq) read and clear each GT's GuC
/// interrupt register here instead and call `vf.handle_guc_interrupt(GtId(gt), intr)` (see
/// `unikernel_poll --irq mmio`).
fn on_irq(vf: &DriverVf) {
    let seen = vf.handle_memirq();
    if seen.sw_int0.is_empty() {
        println!("  event: tile0 MSI, nothing set in the memirq page (already handled)");
    } else {
        println!(
            "  event: tile0 MSI, memirq SW_INT_0 on GTs {:?}",
            seen.sw_int0
        );
    }
}

/// The driver's main loop (Redox: `for event in event_queue { .. }`).
fn event_loop(vf: &DriverVf, events: &Receiver<Source>) {
    loop {
        // Acknowledge every event that is ready.
        while let Ok(event) = events.try_recv() {
            match event {
                Source::TileMsi => on_irq(vf),
            }
        }
        // Run one recovery pass if one is due, then look at the events again: a migration
        // reported during the pass is acknowledged before the next pass begins.
        if !vf.queue().take() {
            // Redox: block in the event queue for the next event. The demo stops here instead.
            break;
        }
        let outcome = vf.run_worker();
        println!("  recovery pass: {outcome:?}");
    }
}

// =============================================================================================
// 2. The demo: two mock GuCs, the "kernel" that turns their interrupts into events, and hooks
//    that land a second migration mid-recovery.
// =============================================================================================

/// The destination host migrates the VM: each GuC writes its SW_INT_0 byte into the memirq
/// page and raises the tile's MSI; the kernel queues one IRQ event per MSI.
fn migrate_vm(kernel: &Sender<Source>, ggtt_start: u64) {
    common::migrate_vm(ggtt_start);
    for _guc in 0..2 {
        let _ = kernel.send(Source::TileMsi);
    }
}

/// The hooks (`common::DemoHooks`): the GGTT users moved, a line per fixup, and the second
/// migration landed just before the first pass sends RESFIX_DONE on gt0, with its IRQ events
/// queued to the kernel.
type DriverHooks = DemoHooks<Box<dyn Fn() + Send + Sync>>;

fn main() -> ExitCode {
    println!("redox-style: event loop -> scan the memirq page on MSI -> drain the polling queue");
    let (kernel, events) = mpsc::channel();
    let gts = common::two_gts();
    let again = kernel.clone();
    let hooks: DriverHooks = DemoHooks {
        label: "recovery pass",
        second_migration: SecondMigration::armed(),
        migrate_again: Box::new(move || migrate_vm(&again, GGTT_SECOND)),
    };
    // Real hardware: `Memirq::new(unsafe { MemirqMem::new(page_ptr) }?, page_ggtt, GtId(0),
    // Some(GtId(1)))` over the driver's page.
    common::attach_memirq_page();
    let memirq = common::tile_memirq();
    let vf = Vf::with_memirq(
        gts,
        hooks,
        PollingQueue::new(),
        RecoveryConfig::default(),
        memirq,
    )
    .expect("2 GTs");
    if let Err(error) = vf.bootstrap() {
        println!("bootstrap failed: {}", common::error_chain(&error));
        return ExitCode::FAILURE;
    }
    // HOST2GUC_SELF_CFG: tell both GuCs where their bytes are, before CTB is enabled.
    if let Err(error) = vf.register_memirq() {
        println!(
            "memirq registration failed: {}",
            common::error_chain(&error)
        );
        return ExitCode::FAILURE;
    }
    vf.memirq().enable();
    common::place_ggtt_users();

    println!("migration 1: GGTT {GGTT_BEFORE:#x} -> {GGTT_FIRST:#x}");
    migrate_vm(&kernel, GGTT_FIRST);
    event_loop(&vf, &events);

    common::verdict(&vf, true)
}
