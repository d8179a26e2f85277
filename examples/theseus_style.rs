//! Embedding the crate the way a Theseus driver handles interrupts: the tile's MSI handler scans
//! the memirq page (memory-based interrupts, as on every part that can migrate), which only
//! signals the coordinator and unblocks a *deferred interrupt task*; the task runs the recovery.
//!
//! ```text
//! cargo run --example theseus_style --features mock
//! ```
//!
//! Theseus (`kernel/deferred_interrupt_tasks`) pairs every interrupt handler with a task:
//! `register_interrupt_handler(irq, handler, deferred_action, arg, name)` installs `handler` and
//! spawns a task, initially blocked, that loops `deferred_action(&arg); block(); schedule();`.
//! The handler acknowledges the device and unblocks that task. Here a std thread stands in for
//! the task (`thread::park` = block, `Thread::unpark` = `TaskRef::unblock`), and a plain
//! function stands in for the `extern "x86-interrupt"` handler.
//!
//! The demo: two GTs (primary + media) of one tile on the mock GuC, sharing the tile's memirq
//! page, a migration, and a second migration that lands while the first recovery is about to
//! send RESFIX_DONE. Exits non-zero unless both GTs end in VF_RUNNING on the final GGTT base, the
//! GGTT users moved there, every SW_INT_0 was delivered and the device is not wedged.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use xe_sriov_vf::mock::MockGuc;
mod common;
use common::{
    all_running, DemoHooks, SecondMigration, TileMemirq, GGTT_BEFORE, GGTT_FIRST, GGTT_SECOND,
};

use xe_sriov_vf::{
    MemirqReport, PassOutcome, PollingQueue, RecoveryConfig, RecoveryError, Vf, WorkQueue,
};

// =============================================================================================
// 1. The integration: what a Theseus driver writes.
// =============================================================================================

/// The [`WorkQueue`] the coordinator calls from the interrupt handler: the "unblock the deferred
/// task" action. A pending flag remembers the work; the unblock gets it run.
struct DeferredTaskQueue {
    pending: PollingQueue,
    /// Theseus: the `JoinableTaskRef` returned by `register_interrupt_handler`.
    task: OnceLock<Thread>,
}

impl WorkQueue for DeferredTaskQueue {
    /// Interrupt context: two atomic operations and a lock-free wake, nothing else.
    fn queue(&self) -> bool {
        let newly = self.pending.queue();
        if let Some(task) = self.task.get() {
            task.unpark(); // Theseus: `task.unblock()`
        }
        newly
    }
}

/// The device: its GTs (on the mock GuC here; an `MmioBar` on hardware), the hooks, the queue,
/// and the tile's memirq page (the mock's page here; a `MemirqMem` on hardware).
type DriverVf = Vf<&'static MockGuc, DriverHooks, DeferredTaskQueue, 2, TileMemirq>;

/// Theseus keeps driver state in statics the handler can reach (handlers take no argument).
static VF: OnceLock<DriverVf> = OnceLock::new();

/// The tile's MSI handler (Theseus: an `extern "x86-interrupt" fn` registered with
/// `register_interrupt_handler(TILE_MSI_VECTOR, ..)`). Scans the tile's memirq page: for each
/// GuC whose SW_INT_0 byte is set it signals the coordinator, and clears the byte only after
/// that returned. Wait-free, no lock, no allocation; the coordinator calls
/// `DeferredTaskQueue::queue` at most once per recovery. GUC2HOST bytes (CT messages) come back
/// in the report, for the driver's CT receive path.
///
/// Parts before graphics IP 12.50 have no memirq (and cannot migrate under kernel 7.0's gate):
/// there each GT's GuC has its own interrupt, whose handler reads and clears the GuC interrupt
/// register and calls `vf.handle_guc_interrupt(GtId(gt), intr)` instead (see
/// `unikernel_poll --irq mmio`).
fn memirq_msi_handler() -> MemirqReport {
    let Some(vf) = VF.get() else {
        return MemirqReport::default();
    };
    let seen = vf.handle_memirq();
    // Theseus: `eoi(Some(irq))`, then return.
    seen
}

/// The deferred action (Theseus: `deferred_interrupt_action`, run by the task each time it is
/// unblocked): run every recovery pass that is due. Thread context; may take locks and sleep.
fn recovery_action(vf: &DriverVf) -> Result<(), RecoveryError> {
    while vf.queue().pending.take() {
        let outcome = vf.run_worker();
        println!("  deferred task: {outcome:?}");
        if let PassOutcome::Failed(error) = outcome {
            return Err(error); // the device is wedged now
        }
    }
    Ok(())
}

/// Theseus spawns this for you (`deferred_task_entry_point`): starts blocked, then runs the
/// action each time it is unblocked. `unpark` leaves a token, so a wake that lands while the
/// action runs is not lost. Theseus's task instead blocks itself after the action returns: an
/// `unblock()` between the action's last `take()` and that `block()` finds the task still
/// runnable and does nothing, and the pending pass waits for the next unblock. A periodic
/// `if vf.queue().pending.is_pending() { task.unblock() }` closes that gap.
fn spawn_deferred_task(stop: &'static AtomicBool) -> thread::JoinHandle<()> {
    thread::spawn(move || loop {
        thread::park(); // block until the handler unblocks us
        if stop.load(Ordering::Acquire) {
            return;
        }
        if let Some(vf) = VF.get() {
            if let Err(error) = recovery_action(vf) {
                println!(
                    "  deferred task: recovery failed: {}",
                    common::error_chain(&error)
                );
            }
        }
    })
}

// =============================================================================================
// 2. The demo: the "hypervisor" and hooks that land a second migration mid-recovery (the mock
//    GuCs and the verdict are in examples/common).
// =============================================================================================

/// The destination host migrates the VM: every GuC writes SW_INT_0 into the tile's memirq page
/// and raises the tile's MSI; the CPU runs the MSI handler (once: it sees both GuCs' bytes).
fn migrate_vm(ggtt_start: u64) {
    common::migrate_vm(ggtt_start);
    let seen = memirq_msi_handler();
    println!("  irq tile0 MSI: memirq SW_INT_0 on GTs {:?}", seen.sw_int0);
}

/// The hooks (`common::DemoHooks`): the GGTT users moved, a line per fixup, and the second
/// migration landed just before the first pass sends RESFIX_DONE on gt0 (its MSI interrupts
/// the deferred task, which holds the GT lock: the handler never takes it).
type DriverHooks = DemoHooks<fn()>;

/// The second migration and its MSI.
fn migrate_again() {
    migrate_vm(GGTT_SECOND);
}

fn main() -> ExitCode {
    println!("theseus-style: memirq MSI handler -> unblock deferred task -> recovery pass");
    let gts = common::two_gts();
    let queue = DeferredTaskQueue {
        pending: PollingQueue::new(),
        task: OnceLock::new(),
    };
    let hooks: DriverHooks = DemoHooks {
        label: "deferred task",
        second_migration: SecondMigration::armed(),
        migrate_again,
    };
    // The tile's memirq page. Real hardware: a zeroed, GPU-visible 4 KiB page mapped at
    // `page_ggtt` in the VF's GGTT, and
    // `Memirq::new(unsafe { MemirqMem::new(page_ptr) }?, page_ggtt, GtId(0), Some(GtId(1)))`.
    common::attach_memirq_page();
    let memirq = common::tile_memirq();
    let vf = VF.get_or_init(|| {
        Vf::with_memirq(gts, hooks, queue, RecoveryConfig::default(), memirq).expect("2 GTs")
    });
    if let Err(error) = vf.bootstrap() {
        println!("bootstrap failed: {}", common::error_chain(&error));
        return ExitCode::FAILURE;
    }
    // Tell both GuCs where their bytes are (HOST2GUC_SELF_CFG), before CTB is enabled; without
    // this no GuC interrupt ever arrives.
    if let Err(error) = vf.register_memirq() {
        println!(
            "memirq registration failed: {}",
            common::error_chain(&error)
        );
        return ExitCode::FAILURE;
    }
    vf.memirq().enable();
    common::place_ggtt_users();

    // Theseus: `register_interrupt_handler(..)` for the tile's MSI, before enabling it.
    static STOP: AtomicBool = AtomicBool::new(false);
    let task = spawn_deferred_task(&STOP);
    let _ = vf.queue().task.set(task.thread().clone());

    println!("migration 1: GGTT {GGTT_BEFORE:#x} -> {GGTT_FIRST:#x}");
    migrate_vm(GGTT_FIRST);

    // Wait (bounded) until no pass is queued or running and both GuCs are VF_RUNNING.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(all_running() && !vf.coordinator().is_queued() && !vf.coordinator().is_running())
        && Instant::now() < deadline
    {
        thread::sleep(Duration::from_millis(1));
    }

    // Driver unload: stop migration handling (bounded wait for a running pass), then the task.
    let deadline = Instant::now() + Duration::from_secs(5);
    let idle = vf.teardown(|| {
        thread::yield_now();
        Instant::now() < deadline
    });
    if !idle {
        println!("teardown: the coordinator did not become idle within 5 s");
    }
    STOP.store(true, Ordering::Release);
    task.thread().unpark();
    let _ = task.join();

    common::verdict(vf, idle)
}
