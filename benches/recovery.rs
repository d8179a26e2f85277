//! The cost of one full post-migration recovery of a 2-GT VF (primary + media) on a zero-latency
//! mock GuC: migrate both GTs, deliver both interrupts, run the worker until recovered.
//!
//! ```text
//! cargo bench --features mock --bench recovery
//! cargo bench --features mock --bench recovery -- --warm-up-time 1 --measurement-time 2
//! ```
//!
//! Before measuring, prints the mailbox round trips (doorbells) per GT of one recovery next to
//! the kernel's sequence for the same configuration, and asserts ours is not longer.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};

use xe_sriov_vf::coordinator::{GtId, GtSet};
use xe_sriov_vf::gt::{GpuKind, GraphicsIp, Gt, GtInfo, PlatformClass};
use xe_sriov_vf::mailbox::MailboxConfig;
use xe_sriov_vf::mock::{MockGuc, Provisioning, VfState};
use xe_sriov_vf::recovery::{NoHooks, PassOutcome, RecoveryConfig, Vf};
use xe_sriov_vf::wire::regs::GtKind;
use xe_sriov_vf::wire::{KlvKey, Version};
use xe_sriov_vf::workqueue::TestQueue;

const BASE: u64 = 0x0020_0000;
const ABI: Version = Version::new(1, 27);
/// Graphics IP 20.04 (integrated, like Lunar Lake).
const GRAPHICS: GraphicsIp = GraphicsIp::new(20, 4);
const GPU: GpuKind = GpuKind::Integrated;
const GRAPHICS_VERX100: u16 = GRAPHICS.verx100();
const DISCRETE: bool = GPU.is_discrete();

type BenchVf = Vf<&'static MockGuc, NoHooks, TestQueue, 2>;

struct Setup {
    vf: BenchVf,
    gucs: [&'static MockGuc; 2],
    migrations: u64,
}

fn info(kind: GtKind) -> GtInfo {
    {
        let mut info = GtInfo::of(kind, GPU, GRAPHICS);
        info.tile = xe_sriov_vf::TileId(0);
        info.platform = PlatformClass::Newer;
        info
    }
}

fn setup() -> Setup {
    let prov = Provisioning::integrated();
    let gucs: [&'static MockGuc; 2] = [
        Box::leak(Box::new(MockGuc::new(GtKind::Primary, ABI, prov))),
        Box::leak(Box::new(MockGuc::new(GtKind::Media, ABI, prov))),
    ];
    let gts = [
        Gt::new(gucs[0], info(GtKind::Primary), MailboxConfig::default()),
        Gt::new(gucs[1], info(GtKind::Media), MailboxConfig::default()),
    ];
    let vf = Vf::new(
        gts,
        NoHooks,
        TestQueue::new(),
        RecoveryConfig::default().with_mmio_irq(),
    )
    .unwrap();
    vf.bootstrap().unwrap();
    Setup {
        vf,
        gucs,
        migrations: 0,
    }
}

/// One VM migration and the whole recovery. Returns the last pass outcome.
fn one_recovery(s: &mut Setup) -> PassOutcome {
    s.migrations += 1;
    // Alternate between two bases so that every migration moves the GGTT.
    let base = BASE + (1 + s.migrations % 2) * 0x0100_0000;
    for g in s.gucs {
        g.migrate(base);
    }
    for (i, g) in s.gucs.iter().enumerate() {
        let _ =
            s.vf.handle_guc_interrupt(GtId(i as u8), g.take_interrupts());
    }
    let mut last = PassOutcome::NotStarted;
    while s.vf.queue().take() {
        last = s.vf.run_worker();
    }
    last
}

/// The kernel's mailbox requests for one recovery of a GT of this configuration: RESFIX_START,
/// the re-query of `xe_gt_sriov_vf_query_config` (guc-vf-abi.md section 5: GGTT_START,
/// GGTT_SIZE, LMEM_SIZE on the primary GT of a discrete part, NUM_CONTEXTS, NUM_DOORBELLS,
/// GROUP_SCHEDULING_AVAILABLE from VF ABI 1.26, GMD_ID from graphics IP 12.70,
/// NUM_PAGING_ENGINE_INSTANCES from VF ABI 1.36), RESFIX_DONE.
fn kernel_sequence(kind: GtKind) -> Vec<String> {
    let mut seq = vec!["RESFIX_START".to_string()];
    let mut keys = vec![KlvKey::GgttStart, KlvKey::GgttSize];
    if DISCRETE && kind == GtKind::Primary {
        keys.push(KlvKey::LmemSize);
    }
    keys.extend([KlvKey::NumContexts, KlvKey::NumDoorbells]);
    if ABI.at_least(1, 26) {
        keys.push(KlvKey::GroupSchedulingAvailable);
    }
    if GRAPHICS_VERX100 >= 1270 {
        keys.push(KlvKey::GmdId);
    }
    if ABI.at_least(1, 36) {
        keys.push(KlvKey::NumPagingEngineInstances);
    }
    seq.extend(
        keys.iter()
            .map(|k| format!("QUERY_SINGLE_KLV({})", k.name())),
    );
    seq.push("RESFIX_DONE".to_string());
    seq
}

fn report_round_trips() {
    let mut s = setup();
    let _ = one_recovery(&mut s); // warm: the first recovery after bootstrap is like any other
    let before = s.gucs.map(|g| g.access_counts());
    let outcome = one_recovery(&mut s);
    assert_eq!(outcome, PassOutcome::Recovered(GtSet::all(2)));
    assert!(s.gucs.iter().all(|g| g.state() == VfState::Running));
    println!(
        "one recovery, 2 GTs (integrated, graphics IP {}.{:02}, VF ABI {ABI}):",
        GRAPHICS_VERX100 / 100,
        GRAPHICS_VERX100 % 100
    );
    for (i, g) in s.gucs.iter().enumerate() {
        let after = g.access_counts();
        let ours = after.doorbells - before[i].doorbells;
        let kind = g.kind();
        let kernel = kernel_sequence(kind);
        println!(
            "  gt{i} ({kind:?}): {ours} mailbox round trips ({} register reads, {} writes); \
             kernel: {} = {}",
            after.reads - before[i].reads,
            after.writes - before[i].writes,
            kernel.len(),
            kernel.join(" + ")
        );
        assert!(
            ours <= kernel.len() as u64,
            "gt{i}: {ours} round trips, the kernel needs {}",
            kernel.len()
        );
    }
}

fn bench_recovery(c: &mut Criterion) {
    report_round_trips();
    let mut s = setup();
    c.bench_function("full recovery, 2 GTs, zero-latency mock", |b| {
        b.iter(|| black_box(one_recovery(&mut s)))
    });
    assert!(!s.vf.is_wedged());
}

criterion_group!(benches, bench_recovery);
criterion_main!(benches);
