//! A GT whose SW_INT_0 lands while a split-phase pass runs joins that pass at once (issue 11):
//! on mock GuCs that answer every request L after its doorbell, on one shared virtual clock,
//! GT0's interrupt is delivered first and GT1's while GT0 is at each step of its recovery (its
//! RESFIX_START in flight, its re-query in flight, inside its fixups, its RESFIX_DONE in
//! flight). GT1 is recovered in the same pass, and its blackout is its own sequence's round
//! trips, what kernel 7.0's per-GT worker gives it (that worker starts at its own interrupt),
//! not the rest of GT0's pass plus its own. Each GT still sends the requests of a recovery alone
//! and runs its hooks in the per-GT order; the VF's GGTT users (the oracle) end where the GuC
//! says the GGTT is, each tile's moved once, also when the late GT is the second GT of a tile
//! whose GGTT the first GT's fixups moved; the PTL ordering still holds a late media GT back
//! until its primary GT's RESFIX_DONE; a second VM migration during the joined GT's run ends
//! with everything at the second base; the legacy protocol joins the same way.
//!
//! The mock raises a GT's SW_INT_0 when it is migrated, so a late interrupt is modelled as that
//! GT's GuC migrated at the moment of delivery: its blackout counts from there, as the kernel's
//! worker for it would see it.
#![cfg(all(feature = "mock", feature = "std"))]

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use common::{Call, DynDevice, Recorder, RigBuilder, RigVf};
use xe_sriov_vf::coordinator::{GtId, GtSet, Signal};
use xe_sriov_vf::device::{Device, Instant};
use xe_sriov_vf::mock::{Dir, HookedDevice, Latency, MockClock, MockGuc, VfState};
use xe_sriov_vf::recovery::{PassOutcome, RecoveryConfig};
use xe_sriov_vf::tile::TileId;
use xe_sriov_vf::wire::action::MmioMessage;
use xe_sriov_vf::wire::regs::GtKind;
use xe_sriov_vf::wire::Version;

const BASE: u64 = 0x0020_0000;
const TILE_STRIDE: u64 = 0x1000_0000;
const MOVED: u64 = 0x0100_0000;
const MOVED2: u64 = 0x0200_0000;
/// The GuC's turnaround per reply.
const L: Duration = Duration::from_micros(20);
/// Mailbox round trips of one GT's recovery here (integrated, IP 20.04, VF ABI 1.27):
/// RESFIX_START, six KLVs, RESFIX_DONE.
const ROUND_TRIPS: u32 = 8;
/// One GT's recovery alone: what kernel 7.0's worker for that GT takes from its interrupt.
const ONE_GT: Duration = Duration::from_micros(20 * ROUND_TRIPS as u64);

/// Two GTs of one tile (primary + media, sharing its GGTT), or two tiles with a primary each.
const ONE_TILE: [(TileId, GtKind); 2] = [(TileId(0), GtKind::Primary), (TileId(0), GtKind::Media)];
const TWO_TILES: [(TileId, GtKind); 2] =
    [(TileId(0), GtKind::Primary), (TileId(1), GtKind::Primary)];

/// When GT1's interrupt lands, relative to GT0's.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Late {
    /// At this virtual time after GT0's (seen at the worker's next relax).
    After(Duration),
    /// Inside GT0's `gt_fixups` hook.
    InGt0Fixups,
}

/// The cases: GT0's RESFIX_START in flight (answered at 20 us), its re-query in flight (20 to
/// 140 us), its fixups (at 140 us), its RESFIX_DONE in flight (140 to 160 us).
const STEPS: [Late; 5] = [
    Late::After(Duration::from_micros(10)),
    Late::After(Duration::from_micros(20)),
    Late::After(Duration::from_micros(50)),
    Late::InGt0Fixups,
    Late::After(Duration::from_micros(150)),
];

/// The test's world: the mocks, the VF, and when GT1's interrupt and a second migration land.
struct World {
    clock: &'static MockClock,
    gucs: [&'static MockGuc; 2],
    layout: [(TileId, GtKind); 2],
    vf: OnceLock<&'static TestVf>,
    /// GT1's interrupt, still to land: when, and the virtual time GT0's landed.
    late: Mutex<Option<(Late, Instant)>>,
    /// GT1's recovery doorbells since its interrupt; at the `second_at`-th (0: never) the VM
    /// is migrated again, both interrupts delivered at once.
    gt1_doorbells: AtomicU32,
    second_at: AtomicU32,
}

type TestVf = RigVf<2>;

impl World {
    fn tile_base(&self, gt: usize, base: u64) -> u64 {
        base + u64::from(self.layout[gt].0 .0) * TILE_STRIDE
    }

    /// GT `gt`'s GuC migrated to `base` (its tile's), its SW_INT_0 delivered now.
    fn land(&self, gt: usize, base: u64) -> Signal {
        self.gucs[gt].migrate(self.tile_base(gt, base));
        let vf = self.vf.get().expect("VF built");
        vf.handle_guc_interrupt(GtId(gt as u8), self.gucs[gt].take_interrupts())
    }

    /// Lands GT1's interrupt if `now` is its moment.
    fn maybe_land_late(&self, inside_fixups: bool) {
        let mut late = self.late.lock().unwrap();
        let due = match *late {
            Some((Late::After(d), t0)) => {
                !inside_fixups && self.clock.now().duration_since(t0) >= d
            }
            Some((Late::InGt0Fixups, _)) => inside_fixups,
            None => false,
        };
        if due {
            *late = None;
            drop(late);
            assert_eq!(self.land(1, MOVED), Signal::Queued);
        }
    }

    /// The VF's hooks: the calls, in order, and the GGTT oracle.
    fn hooks(&self) -> &'static Recorder {
        self.vf.get().expect("VF built").hooks()
    }

    /// GT `gt`'s step hooks, in order.
    fn of(&self, gt: u8) -> Vec<&'static str> {
        self.hooks().of(gt)
    }
}

/// GT `gt`'s device: its mock, through which the test's moments land.
fn device(w: &'static World, gt: usize) -> DynDevice {
    let dev = HookedDevice::new(w.gucs[gt])
        .on_write(move |guc, reg, value| {
            if gt == 1 && reg == guc.kind().mailbox().doorbell {
                let n = w.gt1_doorbells.fetch_add(1, Ordering::SeqCst) + 1;
                if n == w.second_at.load(Ordering::SeqCst) {
                    // A second VM migration: every GuC moved, both interrupts delivered at once.
                    let _ = w.land(0, MOVED2);
                    let _ = w.land(1, MOVED2);
                }
            }
            guc.write32(reg, value)
        })
        .on_relax(move |guc| {
            guc.relax();
            w.maybe_land_late(false);
        });
    common::leak_dyn(dev)
}

/// A bootstrapped VF over `layout`, split phase (the default), mocks on one clock answering
/// after `L`.
fn world(layout: [(TileId, GtKind); 2], media_after_primary: bool) -> &'static World {
    world_at(layout, media_after_primary, Version::new(1, 27))
}

/// [`world`] with the mocks offering VF ABI `abi`; below 1.27, with the legacy protocol.
fn world_at(
    layout: [(TileId, GtKind); 2],
    media_after_primary: bool,
    abi: Version,
) -> &'static World {
    let builder = RigBuilder::new(layout)
        .abi(abi)
        .base(BASE, TILE_STRIDE)
        .shared_clock()
        .latency(Latency::fixed(L))
        .config({
            let mut c = RecoveryConfig::DEFAULT;
            c.legacy = !abi.at_least(1, 27);
            c
        })
        .media_after_primary(media_after_primary);
    let (gucs, clock) = builder.mocks();
    let w: &'static World = Box::leak(Box::new(World {
        clock,
        gucs,
        layout,
        vf: OnceLock::new(),
        late: Mutex::new(None),
        gt1_doorbells: AtomicU32::new(0),
        second_at: AtomicU32::new(0),
    }));
    let vf = builder.device(move |i, _| device(w, i)).mmio_on(gucs).vf;
    assert!(w.vf.set(vf).is_ok());
    // GT1's interrupt may land inside GT0's fixups.
    vf.hooks().on_call(move |call| {
        if *call == Call::GtFixups(GtId(0)) {
            w.maybe_land_late(true);
        }
    });
    for g in gucs {
        g.drain_transcript(|_| {});
    }
    w
}

impl World {
    /// GT0's interrupt now, GT1's at `late`; then the worker until nothing is queued.
    fn run(&'static self, late: Late) -> Vec<PassOutcome> {
        *self.late.lock().unwrap() = Some((late, self.clock.now()));
        self.gt1_doorbells.store(0, Ordering::SeqCst);
        assert_eq!(self.land(0, MOVED), Signal::Queued);
        let vf = self.vf.get().unwrap();
        let mut outcomes = Vec::new();
        while outcomes.len() < 16 && vf.queue().take() {
            outcomes.push(vf.run_worker());
        }
        assert!(
            self.late.lock().unwrap().is_none(),
            "GT1's interrupt landed"
        );
        outcomes
    }

    /// [`run`](World::run), which must take GT1 into GT0's pass: one pass, and the worker run
    /// GT1's report queued finds nothing more to do. Returns `what` with the outcomes.
    fn run_one_pass(&'static self, late: Late, what: &str) -> String {
        let outcomes = self.run(late);
        let what = format!("{what}: {outcomes:?}");
        let one = [
            PassOutcome::Recovered(GtSet::all(2)),
            PassOutcome::NotStarted,
        ];
        assert_eq!(outcomes, one, "{what}");
        what
    }

    /// Each GT's blackout of its last migration and its round trips.
    fn blackout(&self) -> [(Duration, u32); 2] {
        self.gucs.map(|g| {
            let b = g.blackout().unwrap();
            (b.duration().expect("RESFIX_DONE accepted"), b.round_trips)
        })
    }

    /// Each GT's requests since the last call.
    fn requests(&self) -> [Vec<MmioMessage>; 2] {
        self.gucs.map(|g| {
            let mut sent = Vec::new();
            g.drain_transcript(|e| sent.extend((e.dir == Dir::ToGuc).then_some(e.msg)));
            sent
        })
    }

    /// Both GuCs running, nothing pending or queued, each tile's GGTT users (the oracle) at
    /// the GuC's base, moved `moves[t]` times.
    fn assert_settled(&self, what: &str, moves: &[usize]) {
        let vf = self.vf.get().unwrap();
        assert!(!vf.is_wedged(), "{what}: wedged");
        for (i, g) in self.gucs.iter().enumerate() {
            assert_eq!(g.state(), VfState::Running, "{what}: gt{i}");
            assert!(vf.ggtt_valid(GtId(i as u8)), "{what}: gt{i} GGTT");
            assert!(!vf.recovery_pending(GtId(i as u8)), "{what}: gt{i}");
        }
        for (t, &n) in moves.iter().enumerate() {
            let tile = TileId(t as u8);
            let gt = self.layout.iter().position(|l| l.0 == tile).unwrap();
            let base = self.gucs[gt].provisioning().ggtt_start;
            assert_eq!(
                self.hooks().oracle.check(tile, base),
                Ok(()),
                "{what}: tile {t}"
            );
            assert_eq!(self.hooks().oracle.moves(tile), n, "{what}: tile {t} moves");
        }
        assert!(vf.coordinator().is_idle(), "{what}: idle");
        assert!(!vf.queue().take(), "{what}: nothing queued");
    }
}

/// The main case: GT1's interrupt at each of GT0's steps, on one tile (GT1 the tile's second GT:
/// its GGTT already moved by GT0's fixups, or about to be) and on two tiles. Fails before the
/// join: GT1 then waited for GT0's whole pass (two passes; GT1's blackout the rest of GT0's
/// recovery plus its own).
#[test]
fn a_late_gt_joins_the_running_pass_with_the_blackout_of_its_own_round_trips() {
    for layout in [ONE_TILE, TWO_TILES] {
        for late in STEPS {
            let w = world(layout, false);
            let what = w.run_one_pass(late, &format!("{layout:?}, GT1 at {late:?}"));
            let moves: &[usize] = if layout == ONE_TILE { &[1] } else { &[1, 1] };
            w.assert_settled(&what, moves);
            // GT0 is not delayed, and GT1 costs what its own worker would.
            assert_eq!(w.blackout(), [(ONE_GT, ROUND_TRIPS); 2], "{what}");
            // Each GT sent the requests of a recovery alone (the same ones: both first
            // recoveries, marker 1) and ran its hooks in the per-GT order.
            let [r0, r1] = w.requests();
            assert_eq!(r0.len(), ROUND_TRIPS as usize, "{what}");
            assert_eq!(r0, r1, "{what}");
            for gt in 0..2 {
                assert_eq!(
                    w.of(gt),
                    ["shutdown", "fixups", "rearm", "kickstart"],
                    "{what}: gt{gt}"
                );
            }
            let stats = w.vf.get().unwrap().stats();
            assert_eq!(
                (stats.recoveries, stats.completed, stats.fixups_completed),
                (1, 1, 2),
                "{what}"
            );
        }
    }
}

/// Half a round trip and one round trip late, as the bench measures them: GT1 ends half a round
/// trip or one round trip after GT0, exactly as its own worker would.
#[test]
fn staggered_interrupts_end_staggered_by_as_much() {
    for layout in [ONE_TILE, TWO_TILES] {
        for d in [L / 2, L] {
            let w = world(layout, false);
            let t0 = w.clock.now();
            let _ = w.run(Late::After(d));
            let moves: &[usize] = if layout == ONE_TILE { &[1] } else { &[1, 1] };
            w.assert_settled(&format!("{layout:?}, {d:?}"), moves);
            let done: Vec<Duration> = w
                .gucs
                .iter()
                .map(|g| g.blackout().unwrap().done_at.unwrap().duration_since(t0))
                .collect();
            assert_eq!(done, [ONE_GT, d + ONE_GT], "{layout:?}, {d:?}");
        }
    }
}

/// PTL ordering: a late media GT joins the pass but starts only once its primary GT's
/// RESFIX_DONE was accepted (then at once, in the same pass), as the kernel's media worker.
#[test]
fn a_late_media_gt_still_waits_for_its_primary_under_ptl_ordering() {
    for late in STEPS {
        let w = world(ONE_TILE, true);
        let what = w.run_one_pass(late, &format!("PTL, media GT at {late:?}"));
        w.assert_settled(&what, &[1]);
        let calls = w.hooks().log();
        let primary_done = calls
            .iter()
            .position(|c| *c == Call::Kickstart(GtId(0)))
            .unwrap();
        let media_start = calls
            .iter()
            .position(|c| *c == Call::Shutdown(GtId(1)))
            .unwrap();
        assert!(primary_done < media_start, "{what}: {calls:?}");
        // The media GT's blackout: from its interrupt to the primary's accepted DONE (at
        // ONE_GT after GT0's), then its own round trips.
        let at = match late {
            Late::After(d) => d,
            Late::InGt0Fixups => ONE_GT - L,
        };
        assert_eq!(
            w.blackout(),
            [(ONE_GT, ROUND_TRIPS), (ONE_GT - at + ONE_GT, ROUND_TRIPS)],
            "{what}"
        );
    }
}

/// A second VM migration lands during the joined GT's run, at each of its doorbells (its
/// RESFIX_START, a query, its RESFIX_DONE): both GTs end at the second base, each tile's GGTT
/// users with it, nothing wedged, on one tile and on two.
#[test]
fn a_second_migration_during_the_joined_gts_run() {
    for layout in [ONE_TILE, TWO_TILES] {
        for late in [Late::After(Duration::from_micros(10)), Late::InGt0Fixups] {
            for at in 1..=ROUND_TRIPS {
                let w = world(layout, false);
                w.second_at.store(at, Ordering::SeqCst);
                let outcomes = w.run(late);
                let what = format!("{layout:?}, GT1 at {late:?}, second at its doorbell {at}");
                // The first pass took GT1 in.
                let first = match outcomes[0] {
                    PassOutcome::Recovered(set) => set,
                    PassOutcome::Incomplete(r) => r.recovered.union(r.requeued),
                    other => panic!("{what}: {other:?}"),
                };
                assert!(first.contains(GtId(1)), "{what}: {outcomes:?}");
                assert!(outcomes.len() <= 4, "{what}: {outcomes:?}");
                for g in w.gucs {
                    assert_eq!(g.migrations(), 2, "{what}");
                }
                let tiles = if layout == ONE_TILE { 1 } else { 2 };
                let vf = w.vf.get().unwrap();
                assert!(!vf.is_wedged(), "{what}");
                for t in 0..tiles {
                    let tile = TileId(t as u8);
                    let gt = layout.iter().position(|l| l.0 == tile).unwrap();
                    let base = w.gucs[gt].provisioning().ggtt_start;
                    assert_eq!(base, w.tile_base(gt, MOVED2), "{what}");
                    assert_eq!(
                        w.hooks().oracle.check(tile, base),
                        Ok(()),
                        "{what}: tile {t}"
                    );
                    // Once per change of base: BASE -> MOVED -> MOVED2, or straight to MOVED2.
                    assert!((1..=2).contains(&w.hooks().oracle.moves(tile)), "{what}");
                }
                for (i, g) in w.gucs.iter().enumerate() {
                    assert_eq!(g.state(), VfState::Running, "{what}: gt{i}");
                    assert!(vf.ggtt_valid(GtId(i as u8)), "{what}: gt{i}");
                }
                assert!(vf.coordinator().is_idle(), "{what}");
            }
        }
    }
}

/// The legacy protocol (VF ABI 1.26, no RESFIX_START, RESFIX_DONE without a marker) joins the
/// same way: its deferral of RESFIX_DONE is per GT under the default policy, so the late GT's
/// report defers nothing, and it costs its own 7 round trips.
#[test]
fn a_late_gt_joins_on_the_legacy_protocol_too() {
    // GT0's re-query in flight (0 to 120 us), its fixups, its RESFIX_DONE in flight (to 140).
    let steps = [
        Late::After(Duration::from_micros(10)),
        Late::After(Duration::from_micros(50)),
        Late::InGt0Fixups,
        Late::After(Duration::from_micros(130)),
    ];
    for late in steps {
        let w = world_at(ONE_TILE, false, Version::new(1, 26));
        let what = w.run_one_pass(late, &format!("legacy, GT1 at {late:?}"));
        w.assert_settled(&what, &[1]);
        let legacy = (ONE_GT - L, ROUND_TRIPS - 1);
        assert_eq!(w.blackout(), [legacy; 2], "{what}");
        assert_eq!(w.vf.get().unwrap().stats().deferred, 0, "{what}");
    }
}
