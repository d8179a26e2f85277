//! Unit tests of what only the crate sees: the coordinator's RMW count of a pass and the
//! views lock.

use crate::coordinator::{GtId, GtSet};
use crate::gt::Gt;
use crate::gt::{GpuKind, GraphicsIp, GtInfo};
use crate::mailbox::MailboxConfig;
use crate::mock::GgttOracle;
use crate::mock::{Latency, MockClock, MockGuc, Provisioning};
use crate::recovery::{GtAccessError, HookError, PassOutcome, RecoveryConfig, RecoveryHooks, Vf};
use crate::tile::{GgttMove, TileId};
use crate::wire::regs::GtKind;
use crate::wire::Version;
use crate::workqueue::Polled;
use core::time::Duration;

const MOVED: u64 = 0x0120_0000;

/// Hooks that only keep the VF's GGTT users (the oracle).
struct Oracle(GgttOracle<1>);

impl RecoveryHooks for Oracle {
    fn ggtt_fixup(&self, tile: TileId, ggtt: GgttMove) -> Result<(), HookError> {
        self.0.fixup(tile, ggtt)
    }
}

/// A split-phase pass of 2 GTs whose RESFIX_START replies come back in the same round of
/// polling publishes both starts in one read-modify-write: the pass makes three on the
/// coordinator's state word (`begin`, `started_gts`, `finish`), where one `started` per GT
/// made four.
type TestVf = Vf<&'static MockGuc, Oracle, Polled, 2>;

/// A 2-GT VF on one tile (register interrupts), mocks answering after 20 us of one clock.
fn two_gt_vf() -> (TestVf, [&'static MockGuc; 2]) {
    two_gt_vf_with(RecoveryConfig::DEFAULT.with_mmio_irq())
}

/// [`two_gt_vf`] with `config`.
fn two_gt_vf_with(config: RecoveryConfig) -> (TestVf, [&'static MockGuc; 2]) {
    let clock: &'static MockClock = std::boxed::Box::leak(std::boxed::Box::default());
    let gucs = [GtKind::Primary, GtKind::Media].map(|kind| {
        let guc: &'static MockGuc = std::boxed::Box::leak(std::boxed::Box::new(MockGuc::new(
            kind,
            Version::new(1, 27),
            Provisioning::integrated(),
        )));
        guc.use_clock(clock);
        guc.set_latency(Latency::fixed(Duration::from_micros(20)));
        guc
    });
    let gts = [0, 1].map(|i| {
        Gt::new(
            gucs[i],
            GtInfo::of(gucs[i].kind(), GpuKind::Integrated, GraphicsIp::new(20, 4)),
            MailboxConfig::DEFAULT,
        )
    });
    (
        Vf::new(gts, Oracle(GgttOracle::new()), Polled, config).unwrap(),
        gucs,
    )
}

#[test]
fn split_phase_pass_publishes_the_starts_of_one_round_at_once() {
    let (vf, gucs) = two_gt_vf();
    vf.bootstrap().unwrap();
    vf.hooks()
        .0
        .place(TileId(0), Provisioning::integrated().ggtt_start);
    for g in &gucs {
        g.migrate(MOVED);
    }
    for (i, g) in gucs.iter().enumerate() {
        let _ = vf.handle_guc_interrupt(GtId(i as u8), g.take_interrupts());
    }
    let before = vf.coordinator.state_rmws();
    assert_eq!(vf.run_worker(), PassOutcome::Recovered(GtSet::all(2)));
    assert_eq!(vf.coordinator.state_rmws() - before, 3);
    assert_eq!(vf.run_worker(), PassOutcome::NotStarted);
    // The VF's view: its GGTT users moved once, to where the GuC now puts the GGTT.
    assert_eq!(vf.hooks().0.check(TileId(0), MOVED), Ok(()));
    assert_eq!(vf.hooks().0.moves(TileId(0)), 1);
}

/// The `try_` views never wait: `Busy` while the copies are being written (here: the
/// lock held by the test, as by a worker this interrupt interrupted), else the same copy
/// as the waiting readers; unknown GTs and tiles are errors of their own.
#[test]
fn try_views_answer_busy_instead_of_spinning() {
    let (vf, _gucs) = two_gt_vf();
    vf.bootstrap().unwrap();
    assert_eq!(vf.try_gt_view(GtId(1)), Ok(vf.gt_view(GtId(1)).unwrap()));
    assert_eq!(
        vf.try_tile_ggtt(TileId(0)),
        Ok(vf.tile_ggtt(TileId(0)).unwrap())
    );
    assert_eq!(vf.try_gt_view(GtId(2)), Err(GtAccessError::UnknownGt));
    assert_eq!(vf.try_tile_ggtt(TileId(1)), Err(GtAccessError::UnknownTile));
    let held = vf.views.lock();
    assert_eq!(vf.try_gt_view(GtId(0)), Err(GtAccessError::Busy));
    assert_eq!(vf.try_tile_ggtt(TileId(0)), Err(GtAccessError::Busy));
    drop(held);
    assert!(vf.try_gt_view(GtId(0)).unwrap().config.is_some());
}
