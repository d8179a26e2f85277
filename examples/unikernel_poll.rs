//! Embedding the crate in a unikernel without interrupts: one thread, one main loop that polls
//! every GT's GuC interrupt status and runs the recovery passes that are due through a
//! [`PollingQueue`]. Needs only the crate's `mock` feature (the crate itself stays `no_std`; only
//! this demo binary prints with std).
//!
//! ```text
//! cargo run --example unikernel_poll --features mock
//! ```
//!
//! The demo: two GTs (primary + media) on the mock GuC, a migration, and a second migration that
//! lands while the first recovery is about to send RESFIX_DONE. Nobody polls during the pass, so
//! the GuC answers VF_MIGRATED and the pass re-queues. Exits non-zero unless both GTs end in
//! VF_RUNNING and the device is not wedged.

use std::process::ExitCode;

use xe_sriov_vf::mock::MockGuc;

mod common;
use common::{SecondMigration, GGTT_BEFORE, GGTT_FIRST, GGTT_SECOND, GUCS};
use xe_sriov_vf::{GtId, HoldPoint, PollingQueue, RecoveryConfig, RecoveryHooks, Vf};

// =============================================================================================
// 1. The integration: statics and the main loop.
// =============================================================================================

/// The device: its GTs (on the mock GuC here; an `MmioBar` on hardware), the hooks, a polling
/// queue (a flag: `const`-constructible, no thread behind it).
type DriverVf = Vf<&'static MockGuc, DriverHooks, PollingQueue, 2>;

/// Polls the GuC interrupt status of every GT (what the interrupt would have said) and hands it
/// to the coordinator. On hardware: read and clear the GT's GuC interrupt register.
fn poll_guc_interrupts(vf: &DriverVf) {
    for (gt, guc) in (0u8..).zip(&GUCS) {
        let intr = guc.take_interrupts();
        if !intr.is_empty() {
            let signal = vf.handle_guc_interrupt(GtId(gt), intr);
            println!("  poll: gt{gt} {intr:?} -> {signal:?}");
        }
    }
}

/// One turn of the unikernel's main loop: poll, then run one recovery pass if one is due.
/// Returns whether it did anything (else the unikernel does other work, or halts until the next
/// tick).
fn main_loop_turn(vf: &DriverVf) -> bool {
    poll_guc_interrupts(vf);
    if vf.queue().take() {
        let outcome = vf.run_worker();
        println!("  recovery pass: {outcome:?}");
        return true;
    }
    false
}

// =============================================================================================
// 2. The demo: two mock GuCs and hooks that land a second migration mid-recovery.
// =============================================================================================

/// The destination host migrates the VM: every GuC raises SW_INT_0 (nobody is told: we poll).
fn migrate_vm(ggtt_start: u64) {
    common::migrate_vm(ggtt_start);
}

/// `hold` lands the second migration just before the first pass sends RESFIX_DONE on gt0.
struct DriverHooks {
    second_migration: SecondMigration,
}

impl RecoveryHooks for DriverHooks {
    fn ggtt_fixup(
        &self,
        tile: xe_sriov_vf::TileId,
        ggtt: xe_sriov_vf::GgttMove,
    ) -> Result<(), xe_sriov_vf::HookError> {
        // Once per change of the tile's GGTT base: move every GGTT node of the tile.
        println!("  recovery pass: tile{} GGTT {ggtt}", tile.0);
        common::GGTT_USERS.fixup(tile, ggtt)
    }

    fn gt_fixups(&self, gt: GtId) -> Result<(), xe_sriov_vf::HookError> {
        // GT-local state: context images, HWSP, CT.
        println!("  recovery pass: gt{} fixups", gt.0);
        Ok(())
    }

    fn hold(&self, point: HoldPoint, gt: GtId) {
        if self.second_migration.due(point, gt) {
            migrate_vm(GGTT_SECOND);
        }
    }
}

fn main() -> ExitCode {
    println!("unikernel: one loop polls the GuC interrupt status and drains the polling queue");
    let gts = common::two_gts();
    let hooks = DriverHooks {
        second_migration: SecondMigration::armed(),
    };
    let vf = Vf::new(gts, hooks, PollingQueue::new(), RecoveryConfig::default()).expect("2 GTs");
    if let Err(error) = vf.bootstrap() {
        println!("bootstrap failed: {error}");
        return ExitCode::FAILURE;
    }
    common::place_ggtt_users();

    // The main loop; the migration happens on its 3rd turn. Bounded for the demo.
    let mut idle_turns = 0;
    for turn in 0..1000 {
        if turn == 2 {
            println!("migration 1: GGTT {GGTT_BEFORE:#x} -> {GGTT_FIRST:#x}");
            migrate_vm(GGTT_FIRST);
        }
        idle_turns = if main_loop_turn(&vf) {
            0
        } else {
            idle_turns + 1
        };
        if turn > 2 && idle_turns > 3 {
            break;
        }
    }

    common::verdict(&vf, true)
}
