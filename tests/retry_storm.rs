//! A RETRY storm on one GT's GuC (kernel 7.1 backoff: 1 ms doubling to 256 ms before each
//! resend) costs that GT its pauses and nobody else: in split phase a GT that pauses returns
//! `Pending` from its poll until its deadline, so the other GTs' steps go on. Virtual time, on
//! mock GuCs sharing one clock and answering L = 20 us after each doorbell.
#![cfg(all(feature = "mock", feature = "std"))]

use std::time::Duration;

use xe_sriov_vf::coordinator::{GtId, GtSet};
use xe_sriov_vf::gt::{GpuKind, GraphicsIp, Gt, GtInfo};
use xe_sriov_vf::mailbox::MailboxConfig;
use xe_sriov_vf::mock::{Fault, Latency, MockClock, MockGuc, Provisioning, Trigger, VfState};
use xe_sriov_vf::recovery::{NoHooks, PassOutcome, RecoveryConfig, Vf};
use xe_sriov_vf::tile::TileId;
use xe_sriov_vf::wire::action::code;
use xe_sriov_vf::wire::regs::GtKind;
use xe_sriov_vf::wire::Version;
use xe_sriov_vf::workqueue::TestQueue;

const BASE: u64 = 0x0020_0000;
const TILE_STRIDE: u64 = 0x1000_0000;
const L: Duration = Duration::from_micros(20);
/// Round trips of one GT's recovery (integrated, IP 20.04, VF ABI 1.27): RESFIX_START, six
/// KLVs, RESFIX_DONE.
const ROUND_TRIPS: u32 = 8;
/// RETRY replies in the storm, and the pauses they cost: 1 + 2 + ... + 128 ms.
const STORM: u32 = 8;
const STORM_PAUSES: Duration = Duration::from_millis(255);

type StormVf = Vf<&'static MockGuc, NoHooks, TestQueue, 2>;

/// A bootstrapped 2-GT VF on one shared clock: `layout` gives each GT's tile and kind.
fn vf(layout: [(TileId, GtKind); 2], split: bool) -> (&'static StormVf, [&'static MockGuc; 2]) {
    let clock: &'static MockClock = Box::leak(Box::default());
    let gucs = layout.map(|(tile, kind)| {
        let mut prov = Provisioning::integrated();
        prov.ggtt_start = BASE + u64::from(tile.0) * TILE_STRIDE;
        let guc: &'static MockGuc =
            Box::leak(Box::new(MockGuc::new(kind, Version::new(1, 27), prov)));
        guc.use_clock(clock);
        guc.set_latency(Latency::fixed(L));
        guc
    });
    let gts = [0, 1].map(|i| {
        let (tile, kind) = layout[i];
        Gt::new(
            gucs[i],
            GtInfo::of(kind, GpuKind::Integrated, GraphicsIp::new(20, 4)).on_tile(tile),
            MailboxConfig::DEFAULT,
        )
    });
    let config = RecoveryConfig::DEFAULT
        .with_mmio_irq()
        .with_split_phase(split);
    let vf: &'static StormVf = Box::leak(Box::new(
        Vf::new(gts, NoHooks, TestQueue::new(), config).unwrap(),
    ));
    vf.bootstrap().unwrap();
    (vf, gucs)
}

/// One VM migration with `storm` RETRYs on gt0's RESFIX_START: each GT's blackout and round
/// trips.
fn migrate(layout: [(TileId, GtKind); 2], split: bool, storm: u32) -> [(Duration, u32); 2] {
    let (vf, gucs) = vf(layout, split);
    if storm > 0 {
        gucs[0]
            .inject(
                Trigger::Action(code::RESFIX_START),
                Fault::Retry { count: storm },
            )
            .unwrap();
    }
    for (i, g) in gucs.iter().enumerate() {
        g.migrate(BASE + u64::from(layout[i].0 .0) * TILE_STRIDE + 0x0100_0000);
    }
    for (i, g) in gucs.iter().enumerate() {
        let _ = vf.handle_guc_interrupt(GtId(i as u8), g.take_interrupts());
    }
    assert!(vf.queue().take());
    assert_eq!(vf.run_worker(), PassOutcome::Recovered(GtSet::all(2)));
    assert!(gucs.iter().all(|g| g.state() == VfState::Running));
    gucs.map(|g| {
        let b = g.blackout().unwrap();
        (b.duration().expect("RESFIX_DONE accepted"), b.round_trips)
    })
}

const TWO_TILES: [(TileId, GtKind); 2] =
    [(TileId(0), GtKind::Primary), (TileId(1), GtKind::Primary)];
const ONE_TILE: [(TileId, GtKind); 2] = [(TileId(0), GtKind::Primary), (TileId(0), GtKind::Media)];

#[test]
fn a_retry_storm_on_gt0_does_not_lengthen_gt1s_blackout_in_split_phase() {
    let one_gt = ROUND_TRIPS * L;
    for layout in [TWO_TILES, ONE_TILE] {
        assert_eq!(migrate(layout, true, 0), [(one_gt, ROUND_TRIPS); 2]);
        let [(gt0, trips0), (gt1, trips1)] = migrate(layout, true, STORM);
        // gt0 pays its pauses and one round trip per RETRY.
        assert_eq!(trips0, ROUND_TRIPS + STORM);
        assert!(gt0 >= STORM_PAUSES + one_gt, "{gt0:?}");
        assert!(
            gt0 < STORM_PAUSES + one_gt + Duration::from_millis(1),
            "{gt0:?}"
        );
        // gt1 does not wait for any of it.
        assert_eq!((gt1, trips1), (one_gt, ROUND_TRIPS), "{layout:?}");
    }
}

#[test]
fn one_gt_after_the_other_gt1_waits_out_gt0s_storm() {
    // The contrast: the sequential schedule runs gt1 after gt0, pauses included.
    let [(gt0, _), (gt1, _)] = migrate(TWO_TILES, false, STORM);
    assert!(gt0 >= STORM_PAUSES, "{gt0:?}");
    assert!(gt1 >= gt0, "{gt0:?} {gt1:?}");
}
