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
//! each); and 2 GTs on one tile and 2 tiles with staggered interrupts: the second GT's SW_INT_0
//! delivered d = half a round trip or one round trip (L) after the first, while the first GT's
//! pass runs (the mock raises a GT's SW_INT_0 when it is migrated, so that GT's GuC is migrated
//! at that moment; each GT's blackout counts from its own SW_INT_0); and 2 tiles with a RETRY
//! storm on gt0 (its RESFIX_START answered RETRY 8 times: kernel 7.1's backoff pauses 1 + 2 +
//! ... + 128 = 255 ms before the resends), where the row's blackout is gt0's and a line below it
//! gives gt1's, which the split phase must leave as it is without the storm (asserted). For
//! each case, in one run:
//!
//! - **ours**: one `Vf` worker (one thread), with `RecoveryConfig::split_phase`, the mocks on one
//!   shared virtual clock (what the worker waits on one GT's mailbox passes for all);
//! - **ours, one GT after the other**: the same without `split_phase`;
//! - **kernel model**: each GT its own std thread, each driving its GT's mock through the same
//!   per-GT sequence (RESFIX_START, the configuration re-query, RESFIX_DONE) in parallel; each
//!   mock on a clock of its own (each thread its own CPU), started at the same SW_INT_0; on a
//!   PTL-style tile the media GT's thread waits for the primary's accepted RESFIX_DONE and its
//!   clock is moved to that moment first; a late GT's thread starts at its own interrupt (its
//!   clock moved by d first).
//!
//! Blackout is virtual time on the mocks' clocks, read from the mocks (`MockGuc::blackout`), so
//! it is deterministic: the bench prints it per case with the ratio ours / kernel, and the
//! mailbox round trips per GT (asserting ours never exceeds the kernel model's). Then criterion
//! measures the wall time of one migration + recovery for each (the simulation's own CPU cost,
//! not a blackout), and the bench prints the wall-time medians of the same run.

use std::hint::black_box;
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::{Duration, Instant as WallInstant};

use criterion::{criterion_group, criterion_main, Criterion};

use xe_sriov_vf::coordinator::GtId;
use xe_sriov_vf::device::{Device, Instant};
use xe_sriov_vf::gt::{GpuKind, GraphicsIp, Gt, GtInfo};
use xe_sriov_vf::mailbox::MailboxConfig;
use xe_sriov_vf::mock::{
    Fault, Forward, HookedDevice, Latency, MockClock, MockGuc, Provisioning, Trigger, VfState,
};
use xe_sriov_vf::recovery::{NoHooks, RecoveryConfig, Vf};
use xe_sriov_vf::tile::TileId;
use xe_sriov_vf::wire::action::code;
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
    /// The last GT's SW_INT_0 this long after the others' (`None`: all at once).
    late: Option<Duration>,
    /// RETRY replies to gt0's RESFIX_START (0: none).
    storm: u32,
}

const ONE_TILE: &[(TileId, GtKind)] = &[(TileId(0), GtKind::Primary), (TileId(0), GtKind::Media)];
const TWO_TILES: &[(TileId, GtKind)] =
    &[(TileId(0), GtKind::Primary), (TileId(1), GtKind::Primary)];

const CASES: [Case; 9] = [
    Case {
        name: "1 GT",
        layout: &[(TileId(0), GtKind::Primary)],
        ptl: false,
        late: None,
        storm: 0,
    },
    Case {
        name: "2 GTs, one tile",
        layout: ONE_TILE,
        ptl: false,
        late: None,
        storm: 0,
    },
    Case {
        name: "2 GTs, one tile, PTL order",
        layout: ONE_TILE,
        ptl: true,
        late: None,
        storm: 0,
    },
    Case {
        name: "2 tiles",
        layout: TWO_TILES,
        ptl: false,
        late: None,
        storm: 0,
    },
    Case {
        name: "2 GTs, one tile, GT1 10 us late",
        layout: ONE_TILE,
        ptl: false,
        late: Some(Duration::from_micros(10)),
        storm: 0,
    },
    Case {
        name: "2 GTs, one tile, GT1 20 us late",
        layout: ONE_TILE,
        ptl: false,
        late: Some(L),
        storm: 0,
    },
    Case {
        name: "2 tiles, GT1 10 us late",
        layout: TWO_TILES,
        ptl: false,
        late: Some(Duration::from_micros(10)),
        storm: 0,
    },
    Case {
        name: "2 tiles, GT1 20 us late",
        layout: TWO_TILES,
        ptl: false,
        late: Some(L),
        storm: 0,
    },
    Case {
        name: "2 tiles, RETRY storm on gt0",
        layout: TWO_TILES,
        ptl: false,
        late: None,
        storm: 8,
    },
];

impl Case {
    /// Whether GT `i`'s interrupt is the late one.
    fn is_late(&self, i: usize) -> bool {
        self.late.is_some() && i + 1 == self.layout.len()
    }
}

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

fn gt<D: Device>(device: D, kind: GtKind, tile: TileId) -> Gt<D> {
    Gt::new(
        device,
        GtInfo::of(kind, GpuKind::Integrated, GraphicsIp::new(20, 4)).on_tile(tile),
        MailboxConfig::DEFAULT,
    )
}

/// A staggered case's late interrupt in our worker's run: delivered by the worker's own relax
/// once the shared clock reaches its moment (an interrupt on hardware lands whatever the CPU
/// does; the worker relaxes between its polls).
#[derive(Default)]
struct LateIrq {
    /// When, and the base the late GT's GuC is migrated to.
    due: Mutex<Option<(Instant, u64)>>,
    /// Migrates the late GT's GuC to the base and delivers its SW_INT_0.
    land: OnceLock<Box<dyn Fn(u64) + Send + Sync>>,
}

impl LateIrq {
    fn poll(&self, now: Instant, force: bool) {
        let mut due = self.due.lock().unwrap();
        if let Some((at, base)) = *due {
            if force || now.0 >= at.0 {
                *due = None;
                drop(due);
                (self.land.get().unwrap())(base);
            }
        }
    }
}

/// A GT's device in our worker's runs: its mock, and the case's late interrupt polled in its
/// relax (boxed, so that the type has a name; reads and writes forward without a hook).
type Dev = HookedDevice<&'static MockGuc, Forward, Forward, Forward, RelaxFn>;
type RelaxFn = Box<dyn Fn(&&'static MockGuc) + Send + Sync>;

fn dev(guc: &'static MockGuc, late: &'static LateIrq) -> Dev {
    let relax: RelaxFn = Box::new(move |guc| {
        guc.relax();
        late.poll(guc.now(), false);
    });
    HookedDevice::new(guc).on_relax(relax)
}

/// What one migration cost: the longest GT's blackout, each GT's blackout and round trips.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Cost {
    blackout: Duration,
    each: Vec<Duration>,
    round_trips: Vec<u32>,
}

fn cost(gucs: &[&'static MockGuc]) -> Cost {
    let b: Vec<_> = gucs.iter().map(|g| g.blackout().unwrap()).collect();
    let each: Vec<_> = b
        .iter()
        .map(|b| b.duration().expect("RESFIX_DONE accepted"))
        .collect();
    Cost {
        blackout: *each.iter().max().unwrap(),
        each,
        round_trips: b.iter().map(|b| b.round_trips).collect(),
    }
}

/// A storm case's RETRYs, queued on gt0's GuC before a migration.
fn inject_storm(gucs: &[&'static MockGuc], case: Case) {
    if case.storm > 0 {
        gucs[0]
            .inject(
                Trigger::Action(code::RESFIX_START),
                Fault::Retry { count: case.storm },
            )
            .unwrap();
    }
}

/// VM migration `k + 1`: every GuC but a late one moved to its tile's next base, SW_INT_0
/// raised; returns the late GT's base.
fn migrate_all(gucs: &[&'static MockGuc], case: Case, k: &mut u64) -> u64 {
    *k += 1;
    for (i, g) in gucs.iter().enumerate() {
        if !case.is_late(i) {
            g.migrate(base(case.layout[i].0, *k));
        }
    }
    base(case.layout[case.layout.len() - 1].0, *k)
}

type OursVf<const N: usize> = Vf<Dev, NoHooks, TestQueue, N>;

/// Our one worker over the case's GTs.
struct Ours<const N: usize> {
    vf: &'static OursVf<N>,
    gucs: [&'static MockGuc; N],
    late: &'static LateIrq,
    migrations: u64,
}

impl<const N: usize> Ours<N> {
    fn new(case: Case, split: bool) -> Self {
        let clock: &'static MockClock = Box::leak(Box::default());
        let gucs: [&'static MockGuc; N] =
            core::array::from_fn(|i| guc(case.layout[i].0, case.layout[i].1, Some(clock)));
        let late: &'static LateIrq = Box::leak(Box::default());
        let gts = core::array::from_fn(|i| {
            let (tile, kind) = case.layout[i];
            gt(dev(gucs[i], late), kind, tile)
        });
        let mut config = RecoveryConfig::DEFAULT.with_mmio_irq();
        config.split_phase = split;
        config.media_after_primary = case.ptl;
        let vf: &'static OursVf<N> = Box::leak(Box::new(
            Vf::new(gts, NoHooks, TestQueue::new(), config).unwrap(),
        ));
        vf.bootstrap().unwrap();
        let last = N - 1;
        let land = move |base| {
            gucs[last].migrate(base);
            let _ = vf.handle_guc_interrupt(GtId(last as u8), gucs[last].take_interrupts());
        };
        assert!(late.land.set(Box::new(land)).is_ok());
        Ours {
            vf,
            gucs,
            late,
            migrations: 0,
        }
    }

    /// One VM migration, its interrupts delivered (a late one when the shared clock reaches
    /// it), the worker run until nothing is queued.
    fn migrate(&mut self, case: Case) -> Cost {
        let t0 = self.gucs[0].now();
        inject_storm(&self.gucs, case);
        let late_base = migrate_all(&self.gucs, case, &mut self.migrations);
        if let Some(d) = case.late {
            let at = Instant(t0.0 + d.as_nanos() as u64);
            *self.late.due.lock().unwrap() = Some((at, late_base));
        }
        for (i, g) in self.gucs.iter().enumerate() {
            if !case.is_late(i) {
                let _ = self
                    .vf
                    .handle_guc_interrupt(GtId(i as u8), g.take_interrupts());
            }
        }
        loop {
            while self.vf.queue().take() {
                let _ = self.vf.run_worker();
            }
            // The worker was done before the late interrupt's moment: it lands now.
            if self.late.due.lock().unwrap().is_none() {
                break;
            }
            self.late.poll(self.gucs[0].now(), true);
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
            .map(|(&g, &(t, k))| {
                let mut gt = gt(g, k, t);
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
        inject_storm(&self.gucs, case);
        let late_base = migrate_all(&self.gucs, case, &mut self.migrations);
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
                let late = case.late.filter(|_| case.is_late(i));
                s.spawn(move || {
                    // A late GT's worker starts at its own interrupt.
                    if let Some(d) = late {
                        guc.advance(d);
                        guc.migrate(late_base);
                    }
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
    let calm = (case.storm > 0).then(|| {
        let calm = Case { storm: 0, ..case };
        Ours::<N>::new(calm, true).migrate(calm)
    });
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
    if let Some(calm) = calm {
        let last = N - 1;
        println!(
            "|   gt{last} of the above | {:.0} | {:.0} | {:.0} | without the storm, split phase: \
             {:.0} | | |",
            us(o.each[last]),
            us(s.each[last]),
            us(k.each[last]),
            us(calm.each[last]),
        );
        assert_eq!(
            o.each[last], calm.each[last],
            "{}: the storm on gt0 lengthened gt{last}'s blackout",
            case.name
        );
    }
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
