//! Blackout: what one VM migration costs the VF, from each GuC's SW_INT_0 to its accepted
//! RESFIX_DONE, on mock GuCs that answer every request L = 20 us (virtual time) after its
//! doorbell, against a reference model of kernel 7.0's one worker per GT.
//!
//! ```text
//! cargo bench --features mock --bench blackout
//! cargo bench --features mock --bench blackout -- --warm-up-time 1 --measurement-time 2
//! ```
//!
//! Cases: 1 GT; 2 GTs on one tile (primary + media, as Battlemage); the same tile with the PTL
//! ordering (`media_after_primary`: the media GT after the primary); 2 tiles (a primary GT
//! each). For each case, in one run:
//!
//! - **ours**: one `Vf` worker (one thread), with `RecoveryConfig::split_phase`, the mocks on one
//!   shared virtual clock (what the worker waits on one GT's mailbox passes for all);
//! - **ours, one GT after the other**: the same without `split_phase`;
//! - **kernel model**: each GT its own std thread, each driving its GT's mock through the same
//!   per-GT sequence (RESFIX_START, the configuration re-query, RESFIX_DONE) in parallel; each
//!   mock on a clock of its own (each thread its own CPU), started at the same SW_INT_0; on a
//!   PTL-style tile the media GT's thread waits for the primary's accepted RESFIX_DONE and its
//!   clock is moved to that moment first.
//!
//! Blackout is virtual time on the mocks' clocks, read from the mocks (`MockGuc::blackout`), so
//! it is deterministic: the bench prints it per case with the ratio ours / kernel, and the
//! mailbox round trips per GT (asserting ours never exceeds the kernel model's). Then criterion
//! measures the wall time of one migration + recovery for each (the simulation's own CPU cost,
//! not a blackout), and the bench prints the wall-time medians of the same run.

use std::hint::black_box;
use std::sync::mpsc;
use std::time::{Duration, Instant as WallInstant};

use criterion::{criterion_group, criterion_main, Criterion};

use xe_sriov_vf::coordinator::GtId;
use xe_sriov_vf::device::Device;
use xe_sriov_vf::gt::{Gt, GtInfo};
use xe_sriov_vf::mailbox::MailboxConfig;
use xe_sriov_vf::mock::{Latency, MockClock, MockGuc, Provisioning, VfState};
use xe_sriov_vf::recovery::{NoHooks, RecoveryConfig, Vf};
use xe_sriov_vf::tile::TileId;
use xe_sriov_vf::wire::regs::GtKind;
use xe_sriov_vf::wire::Version;
use xe_sriov_vf::workqueue::TestQueue;

const BASE: u64 = 0x0020_0000;
const TILE_STRIDE: u64 = 0x1000_0000;
const ABI: Version = Version::new(1, 27);
/// The GuC's turnaround per reply.
const L: Duration = Duration::from_micros(20);

#[derive(Clone, Copy)]
struct Case {
    name: &'static str,
    layout: &'static [(TileId, GtKind)],
    ptl: bool,
}

const CASES: [Case; 4] = [
    Case {
        name: "1 GT",
        layout: &[(TileId(0), GtKind::Primary)],
        ptl: false,
    },
    Case {
        name: "2 GTs, one tile",
        layout: &[(TileId(0), GtKind::Primary), (TileId(0), GtKind::Media)],
        ptl: false,
    },
    Case {
        name: "2 GTs, one tile, PTL order",
        layout: &[(TileId(0), GtKind::Primary), (TileId(0), GtKind::Media)],
        ptl: true,
    },
    Case {
        name: "2 tiles",
        layout: &[(TileId(0), GtKind::Primary), (TileId(1), GtKind::Primary)],
        ptl: false,
    },
];

fn base(tile: TileId, k: u64) -> u64 {
    BASE + u64::from(tile.0) * TILE_STRIDE + (k % 2 + 1) * 0x0100_0000
}

fn guc(tile: TileId, kind: GtKind, clock: Option<&'static MockClock>) -> &'static MockGuc {
    let mut prov = Provisioning::integrated();
    prov.ggtt_start = BASE + u64::from(tile.0) * TILE_STRIDE;
    let guc: &'static MockGuc = Box::leak(Box::new(MockGuc::new(kind, ABI, prov)));
    if let Some(clock) = clock {
        guc.use_clock(clock);
    }
    guc.set_latency(Latency::fixed(L));
    guc
}

fn gt(guc: &'static MockGuc, tile: TileId) -> Gt<&'static MockGuc> {
    Gt::new(
        guc,
        GtInfo::new(guc.kind(), false, 2004).on_tile(tile),
        MailboxConfig::DEFAULT,
    )
}

/// What one migration cost: the longest GT's blackout, and each GT's round trips.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Cost {
    blackout: Duration,
    round_trips: Vec<u32>,
}

fn cost(gucs: &[&'static MockGuc]) -> Cost {
    let b: Vec<_> = gucs.iter().map(|g| g.blackout().unwrap()).collect();
    Cost {
        blackout: b
            .iter()
            .map(|b| b.duration().expect("RESFIX_DONE accepted"))
            .max()
            .unwrap(),
        round_trips: b.iter().map(|b| b.round_trips).collect(),
    }
}

/// VM migration `k + 1`: every GuC moved to its tile's next base, SW_INT_0 raised.
fn migrate_all(gucs: &[&'static MockGuc], case: Case, k: &mut u64) {
    *k += 1;
    for (i, g) in gucs.iter().enumerate() {
        g.migrate(base(case.layout[i].0, *k));
    }
}

/// Our one worker over the case's GTs.
struct Ours<const N: usize> {
    vf: Vf<&'static MockGuc, NoHooks, TestQueue, N>,
    gucs: [&'static MockGuc; N],
    migrations: u64,
}

impl<const N: usize> Ours<N> {
    fn new(case: Case, split: bool) -> Self {
        let clock: &'static MockClock = Box::leak(Box::default());
        let gucs: [&'static MockGuc; N] =
            core::array::from_fn(|i| guc(case.layout[i].0, case.layout[i].1, Some(clock)));
        let gts = core::array::from_fn(|i| gt(gucs[i], case.layout[i].0));
        let mut config = RecoveryConfig::DEFAULT.with_mmio_irq();
        config.split_phase = split;
        config.media_after_primary = case.ptl;
        let vf = Vf::new(gts, NoHooks, TestQueue::new(), config).unwrap();
        vf.bootstrap().unwrap();
        Ours {
            vf,
            gucs,
            migrations: 0,
        }
    }

    /// One VM migration, its interrupts delivered, the worker run until nothing is queued.
    fn migrate(&mut self, case: Case) -> Cost {
        migrate_all(&self.gucs, case, &mut self.migrations);
        for (i, g) in self.gucs.iter().enumerate() {
            let _ = self
                .vf
                .handle_guc_interrupt(GtId(i as u8), g.take_interrupts());
        }
        while self.vf.queue().take() {
            let _ = self.vf.run_worker();
        }
        assert!(self.gucs.iter().all(|g| g.state() == VfState::Running));
        cost(&self.gucs)
    }
}

/// The kernel's one worker per GT: each GT's mock on a clock of its own.
struct Kernel {
    gts: Vec<Gt<&'static MockGuc>>,
    gucs: Vec<&'static MockGuc>,
    migrations: u64,
}

impl Kernel {
    fn new(case: Case) -> Self {
        let gucs: Vec<_> = case.layout.iter().map(|&(t, k)| guc(t, k, None)).collect();
        let gts: Vec<_> = gucs
            .iter()
            .zip(case.layout)
            .map(|(g, &(t, _))| {
                let mut gt = gt(g, t);
                gt.bootstrap().unwrap();
                gt.query_config().unwrap();
                gt
            })
            .collect();
        Kernel {
            gts,
            gucs,
            migrations: 0,
        }
    }

    fn migrate(&mut self, case: Case) -> Cost {
        migrate_all(&self.gucs, case, &mut self.migrations);
        // The primary GT of each tile tells a PTL media GT when its RESFIX_DONE was accepted
        // (as a blackout on its own clock).
        let (tx, rx) = mpsc::channel::<Duration>();
        let mut rx = Some(rx);
        std::thread::scope(|s| {
            for (i, gt) in self.gts.iter_mut().enumerate() {
                let kind = case.layout[i].1;
                let wait = (case.ptl && kind == GtKind::Media).then(|| rx.take().unwrap());
                let tell = (case.ptl && kind == GtKind::Primary).then(|| tx.clone());
                let guc = self.gucs[i];
                s.spawn(move || {
                    if let Some(rx) = wait {
                        let primary = rx.recv().unwrap();
                        let b = guc.blackout().unwrap();
                        let so_far = guc.now().duration_since(b.sw_int0_at);
                        guc.advance(primary.saturating_sub(so_far));
                    }
                    let marker = gt.next_marker();
                    gt.resfix_start(marker).unwrap();
                    gt.query_config().unwrap();
                    gt.resfix_done(Some(marker)).unwrap();
                    if let Some(tx) = tell {
                        let b = guc.blackout().unwrap();
                        tx.send(b.duration().unwrap()).unwrap();
                    }
                });
            }
        });
        cost(&self.gucs)
    }
}

/// Median wall time of `n` runs of `f`.
fn median(n: usize, mut f: impl FnMut()) -> Duration {
    let mut t: Vec<Duration> = (0..n)
        .map(|_| {
            let start = WallInstant::now();
            f();
            start.elapsed()
        })
        .collect();
    t.sort();
    t[n / 2]
}

fn us(d: Duration) -> f64 {
    d.as_nanos() as f64 / 1000.0
}

fn report<const N: usize>(case: Case) {
    let mut ours = Ours::<N>::new(case, true);
    let mut seq = Ours::<N>::new(case, false);
    let mut kernel = Kernel::new(case);
    let (o, s, k) = (ours.migrate(case), seq.migrate(case), kernel.migrate(case));
    for (i, (a, b)) in o.round_trips.iter().zip(&k.round_trips).enumerate() {
        assert!(
            a <= b,
            "{}: gt{i}: {a} round trips, the kernel model {b}",
            case.name
        );
    }
    assert_eq!(o.round_trips, s.round_trips, "{}", case.name);
    const RUNS: usize = 101;
    let wall = [
        median(RUNS, || drop(black_box(ours.migrate(case)))),
        median(RUNS, || drop(black_box(seq.migrate(case)))),
        median(RUNS, || drop(black_box(kernel.migrate(case)))),
    ];
    println!(
        "| {} | {:.0} | {:.0} | {:.0} | {:.2} | {:?} / {:?} | {:.1} / {:.1} / {:.1} |",
        case.name,
        us(o.blackout),
        us(s.blackout),
        us(k.blackout),
        us(o.blackout) / us(k.blackout),
        o.round_trips,
        k.round_trips,
        us(wall[0]),
        us(wall[1]),
        us(wall[2]),
    );
}

fn bench_blackout(c: &mut Criterion) {
    println!(
        "blackout at L = {} us (virtual time, max over GTs), VF ABI {ABI}, integrated, \
         graphics IP 20.04; wall: median of 101 runs of one migration + recovery, this run",
        L.as_micros()
    );
    println!(
        "| case | ours, split phase (us) | ours, one GT after the other (us) | kernel model, \
         worker per GT (us) | ours / kernel | round trips per GT, ours / kernel | wall us: \
         ours / one after the other / kernel model |"
    );
    println!("|---|---|---|---|---|---|---|");
    for case in CASES {
        match case.layout.len() {
            1 => report::<1>(case),
            _ => report::<2>(case),
        }
    }
    let mut group = c.benchmark_group("blackout L=20us");
    for case in CASES {
        if case.layout.len() == 1 {
            let mut ours = Ours::<1>::new(case, true);
            group.bench_function(format!("{}: ours", case.name), |b| {
                b.iter(|| black_box(ours.migrate(case)))
            });
        } else {
            let mut ours = Ours::<2>::new(case, true);
            group.bench_function(format!("{}: ours", case.name), |b| {
                b.iter(|| black_box(ours.migrate(case)))
            });
        }
        let mut kernel = Kernel::new(case);
        group.bench_function(format!("{}: kernel model", case.name), |b| {
            b.iter(|| black_box(kernel.migrate(case)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_blackout);
criterion_main!(benches);
