//! The scenario: the VM (its tiles, GTs and mock GuCs), the host (hypervisor and interrupt
//! controller) and the VF under test, run in lockstep on one thread against the mocks' shared
//! virtual clock, so that a run is a function of its options.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant as StdInstant};

use xe_sriov_vf::coordinator::{GtId, Signal};
use xe_sriov_vf::device::{Device, Instant, Reg};
use xe_sriov_vf::gt::{Gt, GtInfo, PlatformClass};
use xe_sriov_vf::mailbox::MailboxConfig;
use xe_sriov_vf::memirq::{Memirq, MemirqReport, MemirqSet};
use xe_sriov_vf::mock::{
    GgttOracle, Latency, MockClock, MockGuc, MockMemirqPage, Provisioning, Trigger, VfState,
};
use xe_sriov_vf::recovery::{
    HoldPoint, HookError, PassOutcome, RecoveryConfig, RecoveryError, RecoveryHooks, Unsupported,
    Vf,
};
use xe_sriov_vf::wire::regs::{GtKind, GucIntr};
use xe_sriov_vf::workqueue::Polled;
use xe_sriov_vf::{GgttMove, TileId};

use crate::chain::error_chain;
use crate::options::{FaultSpec, Options};
use crate::timeline::{gt_list, signal_text, signed_hex, Log};
use crate::trace::{self, What};

/// The GGTT base the mocks are provisioned with (`Provisioning::integrated`).
const BASE: u64 = 0x0020_0000;
/// How far each VM migration moves the GGTT base (16 MiB; any 4K multiple would do). Bases
/// cycle through 64 steps so that any number of migrations stays inside the GuC's GGTT range.
const STRIDE: u64 = 0x0100_0000;
/// How far above tile 0's GGTT base tile t's is, per t.
const TILE_STRIDE: u64 = 0x1000_0000;

/// Tile `tile`'s GGTT base after VM migration `k` (0 = bootstrap).
fn ggtt_base(k: u64, tile: u8) -> u64 {
    BASE + u64::from(tile) * TILE_STRIDE + (k % 64) * STRIDE
}
/// How long the host waits for the VF to settle after a migration, in virtual time.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(5);
/// At most this many turns of the host's loop (a pass, a delivery, a move of the clock) per
/// migration: a VF that keeps re-queueing without settling ends the run.
const SETTLE_TURNS: u32 = 100_000;

/// The VF's memirq pages, one per tile (none with `--irq mmio`): the crate's `MemirqSet` over a
/// `Vec`, since the tile count is a run-time option here.
struct Tiles(Vec<Memirq<&'static MockMemirqPage>>);

impl MemirqSet for Tiles {
    fn sw_int0_pending(&self, gt: GtId) -> bool {
        self.0.iter().any(|m| m.sw_int0_pending(gt))
    }
    fn handle(&self, migrated: &mut dyn FnMut(GtId) -> Signal) -> MemirqReport {
        let mut all = MemirqReport::default();
        for m in &self.0 {
            let r = m.handle(&mut *migrated);
            all.sw_int0 = all.sw_int0.union(r.sw_int0);
            all.guc2host = all.guc2host.union(r.guc2host);
            all.garbage += r.garbage;
        }
        all
    }
    fn registration(&self, gt: GtId) -> Option<(u64, u64)> {
        self.0.iter().find_map(|m| m.registration(gt))
    }
}

/// Where each tile's memirq page sits in the VF's GGTT (just above the WOPCM).
fn page_ggtt(tile: u8) -> u64 {
    0x0010_0000 + u64::from(tile) * 0x1000
}

/// What the interrupt controller needs of the VF, whatever its GT count: the interrupt entries.
trait IrqPort: Sync {
    /// `Vf::handle_guc_interrupt`.
    fn guc_interrupt(&self, gt: GtId, intr: GucIntr) -> Signal;
    /// `Vf::migrated`.
    fn migrated(&self, gt: GtId) -> Signal;
    /// The tiles' memirq pages (empty with `--irq mmio`).
    fn tiles(&self) -> &Tiles;
}

impl<const N: usize> IrqPort for SimVf<N> {
    fn guc_interrupt(&self, gt: GtId, intr: GucIntr) -> Signal {
        self.handle_guc_interrupt(gt, intr)
    }
    fn migrated(&self, gt: GtId) -> Signal {
        Vf::migrated(self, gt)
    }
    fn tiles(&self) -> &Tiles {
        self.memirq()
    }
}

/// Where the interrupt controller sends an interrupt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Line {
    /// GT `i`'s GuC interrupt register (`--irq mmio`).
    Register(usize),
    /// Tile `t`'s MSI: its memirq handler.
    Tile(usize),
}

/// An interrupt the host will deliver when the virtual clock reaches `at`.
#[derive(Clone, Copy, Debug)]
struct Delivery {
    at: Instant,
    line: Line,
}

struct Sim {
    gucs: &'static [MockGuc],
    /// The mocks' shared virtual clock.
    clock: &'static MockClock,
    log: Mutex<Log>,
    /// The VF's interrupt entries, once it is built.
    vf: OnceLock<&'static dyn IrqPort>,
    /// The interrupts scheduled and not yet delivered, in the order they were scheduled.
    deliveries: Mutex<Vec<Delivery>>,
    /// Set while a delivery runs (an interrupt handler is not re-entered).
    delivering: AtomicBool,
    /// The hold point the mid-recovery migration is wanted at (cleared when it fires).
    hold: Mutex<Option<HoldPoint>>,
    /// VM migrations performed.
    migrations: AtomicU64,
    pm_get: AtomicUsize,
    pm_put: AtomicUsize,
    /// Set when something went wrong that the summary must not hide.
    failures: Mutex<Vec<String>>,
    /// Each GT's (tile, kind).
    layout: Vec<(TileId, GtKind)>,
    /// The VF's GGTT users per tile: moved by the GGTT fixup hook, checked at the end.
    oracle: GgttOracle<4>,
    /// The host's choices (xorshift64).
    rng: Mutex<u64>,
}

impl Sim {
    fn lock(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn fail(&self, why: String) {
        eprintln!("error: {why}");
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(why);
    }

    /// Records a hook call (`name` called with `detail`) for the `[vf] pass <n> hooks:` line
    /// and the SVG, on GT `gt`'s lane or (`None`) the VF's.
    fn hook(&self, gt: Option<GtId>, name: &'static str, detail: String) {
        let now = self.clock.now();
        let mut log = self.lock();
        log.hooks.push(if detail.is_empty() {
            name.to_string()
        } else {
            format!("{name} {detail}")
        });
        log.events
            .push(now, gt.map(|g| g.0), What::Hook { name, detail });
    }

    /// With `--trace`, prints the hook calls recorded since the last call as
    /// `[vf] <what> hooks: <call>, ...`.
    fn print_hooks(log: &mut Log, what: &str) {
        let calls = std::mem::take(&mut log.hooks);
        if log.trace && !calls.is_empty() {
            log.line(&format!("[vf] {what} hooks: {}", calls.join(", ")));
        }
    }

    fn frag(&self, gt: GtId, s: String) {
        let mut log = self.lock();
        if let Some(n) = log.gts.get_mut(usize::from(gt.0)) {
            n.flush_queries();
            n.frags.push(s);
        }
    }

    /// The last migration's blackout in us, the maximum over the GTs; `None` before any
    /// migration or while a GT's RESFIX_DONE is not accepted.
    fn blackout_us(&self) -> Option<u64> {
        self.gucs
            .iter()
            .map(|g| g.blackout().and_then(|b| b.duration()))
            .try_fold(0u64, |max, d| Some(max.max(d?.as_micros() as u64)))
    }

    fn states(&self) -> Vec<VfState> {
        self.gucs.iter().map(MockGuc::state).collect()
    }

    /// Prints each GT's narrative as `[gtN] <prefix>: ...`.
    fn print_narratives(&self, log: &mut Log, prefix: &str) {
        for i in 0..log.gts.len() {
            let body = log.gts[i].take_line();
            if !body.is_empty() {
                let state = self.gucs[i].state();
                log.line(&format!("[gt{i}] {prefix}: {body}; now {state}"));
            }
        }
    }

    /// One VM migration: every GT's GuC migrates while the VM is frozen, then the interrupts
    /// they raised are scheduled: after drawn delays, or `at_once` (from the hold hook).
    fn migrate_vm(&self, why: &str, at_once: bool) {
        let k = self.migrations.fetch_add(1, Ordering::SeqCst) + 1;
        let base = ggtt_base(k, 0);
        {
            let mut log = self.lock();
            log.events.push(self.clock.now(), None, What::Migration(k));
            log.line(&format!(
                "[host] migration {k}{why}: VM paused, image restored on the destination \
                 (GGTT base {base:#x}), VM resumed"
            ));
            for (i, guc) in self.gucs.iter().enumerate() {
                let before = guc.state();
                let old = guc.provisioning().ggtt_start;
                let base = ggtt_base(k, self.layout[i].0 .0);
                guc.migrate(base);
                log.drain(i as u8, guc);
                log.line(&format!(
                    "[gt{i}] {before} -> migrated (GGTT {old:#x} -> {base:#x}) -> {}",
                    guc.state()
                ));
            }
        }
        self.schedule(at_once);
    }

    /// The next of the host's random choices, below `n`.
    fn draw(&self, n: u64) -> u64 {
        let mut x = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        *x % n.max(1)
    }

    /// `0..n` in an order the host draws.
    fn shuffled(&self, n: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..order.len()).rev() {
            let j = self.draw(i as u64 + 1) as usize;
            order.swap(i, j);
        }
        order
    }

    /// The interrupt controller: schedules a delivery on every interrupt line (each GT's
    /// register, or each tile's MSI with memirq) in an order it draws, each but the first
    /// sometimes after a further short delay (0 to 300 us of virtual time), so that one GT's
    /// interrupt can land in the middle of another GT's recovery.
    fn schedule(&self, at_once: bool) {
        let Some(vf) = self.vf.get() else { return };
        let tiles = vf.tiles().0.len();
        let lines: Vec<Line> = if tiles > 0 {
            self.shuffled(tiles).into_iter().map(Line::Tile).collect()
        } else {
            self.shuffled(self.gucs.len())
                .into_iter()
                .map(Line::Register)
                .collect()
        };
        let mut at = self.clock.now();
        let mut deliveries = self.deliveries.lock().unwrap_or_else(|e| e.into_inner());
        for line in lines {
            if !at_once && self.draw(2) == 0 {
                at = at.wrapping_add(Duration::from_micros(self.draw(300)));
            }
            deliveries.push(Delivery { at, line });
        }
    }

    /// The instant of the next scheduled delivery.
    fn next_delivery(&self) -> Option<Instant> {
        let deliveries = self.deliveries.lock().unwrap_or_else(|e| e.into_inner());
        deliveries.iter().map(|d| d.at).min_by_key(|at| at.0)
    }

    /// Delivers every scheduled interrupt whose instant the virtual clock has reached, earliest
    /// first (in the order scheduled among equals). Called by the host between passes and from
    /// the worker's waits (`Device::relax`), like an interrupt that lands whenever it is due.
    fn deliver_due(&self) {
        if self.delivering.swap(true, Ordering::SeqCst) {
            return;
        }
        loop {
            let now = self.clock.now();
            let next = {
                let mut deliveries = self.deliveries.lock().unwrap_or_else(|e| e.into_inner());
                let due = deliveries
                    .iter()
                    .enumerate()
                    .filter(|(_, d)| !d.at.is_after(now))
                    .min_by_key(|(i, d)| (d.at.0, *i))
                    .map(|(i, _)| i);
                due.map(|i| deliveries.remove(i))
            };
            match next {
                Some(d) => self.deliver(d.line),
                None => break,
            }
        }
        self.delivering.store(false, Ordering::SeqCst);
    }

    /// Whether an interrupt is raised and no delivery is scheduled for it.
    fn undelivered(&self) -> bool {
        let Some(vf) = self.vf.get() else {
            return false;
        };
        let deliveries = self.deliveries.lock().unwrap_or_else(|e| e.into_inner());
        let scheduled = |line: Line| deliveries.iter().any(|d| d.line == line);
        let tiles = &vf.tiles().0;
        if tiles.is_empty() {
            (0..self.gucs.len()).any(|i| {
                !self.gucs[i].pending_interrupts().is_empty() && !scheduled(Line::Register(i))
            })
        } else {
            tiles.iter().enumerate().any(|(t, m)| {
                (0..self.gucs.len()).any(|i| m.sw_int0_pending(GtId(i as u8)))
                    && !scheduled(Line::Tile(t))
            })
        }
    }

    /// Delivers what is pending on one interrupt line.
    fn deliver(&self, line: Line) {
        let Some(vf) = self.vf.get() else { return };
        match line {
            Line::Register(i) => {
                let guc = &self.gucs[i];
                let mut log = self.lock();
                let intr = guc.take_interrupts();
                if intr.is_empty() {
                    return;
                }
                log.drain(i as u8, guc);
                let raised = log.irq[i].take();
                if log.trace {
                    log.line(&trace::irq_line(raised, guc.now(), intr, i as u8));
                }
                log.events.push(self.clock.now(), Some(i as u8), What::Irq);
                let signal = vf.guc_interrupt(GtId(i as u8), intr);
                log.line(&format!("[gt{i}] SW_INT_0 -> {}", signal_text(signal)));
            }
            // The tile's MSI: its memirq handler calls the migration entry for every GuC whose
            // SW_INT_0 byte is set and clears the byte after it returned.
            Line::Tile(t) => {
                let Some(m) = vf.tiles().0.get(t) else { return };
                let mut log = self.lock();
                m.handle(|gt| {
                    let i = usize::from(gt.0);
                    let guc = &self.gucs[i];
                    log.drain(gt.0, guc);
                    let raised = log.irq[i].take();
                    if log.trace {
                        log.line(&trace::irq_line(raised, guc.now(), GucIntr::SW_INT_0, gt.0));
                    }
                    log.events.push(self.clock.now(), Some(gt.0), What::Irq);
                    let signal = vf.migrated(gt);
                    log.line(&format!(
                        "[gt{i}] SW_INT_0 (memirq) -> {}",
                        signal_text(signal)
                    ));
                    signal
                });
            }
        }
    }

    /// The worker's hold hook: lands the mid-recovery migration, its interrupts at once.
    fn hold_hook(&self, point: HoldPoint, gt: GtId) {
        {
            let mut armed = self.hold.lock().unwrap_or_else(|e| e.into_inner());
            if *armed != Some(point) {
                return;
            }
            *armed = None;
        }
        self.frag(
            gt,
            format!("held at {point:?}: the host migrates the VM again"),
        );
        self.migrate_vm(" (during recovery, from the hold hook)", true);
        self.deliver_due();
    }

    /// The worker: one pass, then its timeline. `false` if no pass was due.
    fn pass<const N: usize>(&self, vf: &SimVf<N>) -> bool {
        let outcome = vf.run_worker();
        let n = vf.stats().recoveries;
        let what = match outcome {
            PassOutcome::NotStarted => return false,
            PassOutcome::Empty => "empty (waiting for the other GTs)".to_string(),
            PassOutcome::Recovered(set) => format!("recovered {}", gt_list(set)),
            PassOutcome::Incomplete(r) => {
                let mut parts = Vec::new();
                if !r.recovered.is_empty() {
                    parts.push(format!("{} recovered", gt_list(r.recovered)));
                }
                if !r.requeued.is_empty() {
                    parts.push(format!("VF_MIGRATED: {} re-queued", gt_list(r.requeued)));
                }
                if !r.deferred.is_empty() {
                    parts.push(format!(
                        "deferred {} (another recovery imminent: no RESFIX_DONE, the next pass redoes them)",
                        gt_list(r.deferred)
                    ));
                }
                if !r.postponed.is_empty() {
                    parts.push(format!(
                        "{} waits for its tile's primary GT",
                        gt_list(r.postponed)
                    ));
                }
                parts.join("; ")
            }
            PassOutcome::Unsupported {
                gt,
                version,
                reason: Unsupported::NoMarkers,
            } => format!(
                "migration refused: gt{} speaks VF ABI {}, no RESFIX markers (--legacy opts in)",
                gt.0,
                version.map_or("?".to_string(), |v| v.to_string())
            ),
            PassOutcome::Unsupported { gt, .. } => {
                format!("migration refused: gt{} has no memirq page", gt.0)
            }
            PassOutcome::Failed(e) => format!("FAILED: {}; device wedged", error_chain(&e)),
            PassOutcome::Cancelled => "cancelled by teardown".to_string(),
            PassOutcome::Busy(gts) => format!("GTs {} busy (with_gt), queued again", gt_list(gts)),
            other => format!("{other:?}"),
        };
        let mut log = self.lock();
        let prefix = format!("pass {n}");
        self.print_narratives(&mut log, &prefix);
        for note in std::mem::take(&mut log.vf_notes) {
            log.line(&format!("[vf] pass {n}: {note}"));
        }
        Self::print_hooks(&mut log, &prefix);
        log.line(&format!("[vf] pass {n}: {what}"));
        true
    }

    /// Whether the VF has nothing left to do.
    fn idle<const N: usize>(vf: &SimVf<N>) -> bool {
        let c = vf.coordinator();
        !c.is_running() && !c.is_queued() && c.pending_gts().is_empty()
    }

    /// Runs the VF until it settled after a migration: delivers the interrupts that are due,
    /// runs a pass while one is due, else moves the virtual clock to the next delivery. Returns
    /// `Ok(true)` to go on, `Ok(false)` when the run is over (wedged or refused), `Err` when it
    /// does not settle.
    fn settle<const N: usize>(&self, vf: &SimVf<N>) -> Result<bool, String> {
        let wall = StdInstant::now();
        let start = self.clock.now();
        for _ in 0..SETTLE_TURNS {
            self.deliver_due();
            let idle = Self::idle(vf);
            if vf.is_wedged() && !vf.coordinator().is_running() {
                return Ok(false);
            }
            if vf.stats().unsupported > 0 && idle {
                return Ok(false);
            }
            let states = self.states();
            let k = self.migrations.load(Ordering::SeqCst);
            let awaited = vf.awaiting_reports();
            if !awaited.is_empty() && states.iter().all(|s| *s == VfState::Running) {
                // `--policy all`: every interrupt is delivered, yet a GT waits for the others'
                // reports: a late interrupt for a migration a device-wide pass already covered.
                // End the wait as an embedder would.
                self.lock().line(&format!(
                    "[vf] awaiting the reports of GTs {awaited:?} with every GuC running: start_now"
                ));
                let _ = vf.start_now();
                continue;
            }
            if idle && states.iter().all(|s| *s == VfState::Running) {
                let log = self.lock();
                let list: Vec<String> = states
                    .iter()
                    .enumerate()
                    .map(|(i, s)| format!("gt{i} {s}"))
                    .collect();
                log.line(&format!(
                    "[host] migration {k} settled in {} us (virtual), {} us (wall): {}",
                    self.clock.now().duration_since(start).as_micros(),
                    wall.elapsed().as_micros(),
                    list.join(", ")
                ));
                for (i, guc) in self.gucs.iter().enumerate() {
                    if let Some(b) = guc.blackout() {
                        log.line(&format!(
                            "[gt{i}] blackout of migration {k}: {}, {} mailbox round trips",
                            b.duration().map_or("not ended".into(), |d| format!(
                                "{} us (virtual)",
                                d.as_micros()
                            )),
                            b.round_trips
                        ));
                    }
                }
                if let Some(us) = self.blackout_us() {
                    log.line(&format!(
                        "[vf] blackout of migration {k}: {us} us (virtual, the longest GT)"
                    ));
                }
                return Ok(true);
            }
            if self.clock.now().duration_since(start) > SETTLE_TIMEOUT {
                return Err(self.unsettled(vf, k, &states, "within 5 s of virtual time"));
            }
            if vf.coordinator().is_queued() && self.pass(vf) {
                continue;
            }
            if let Some(at) = self.next_delivery() {
                let now = self.clock.now();
                if at.is_after(now) {
                    self.clock.advance(at.duration_since(now));
                }
                continue;
            }
            if self.undelivered() {
                // An interrupt raised outside a migration: deliver it now.
                self.schedule(true);
                continue;
            }
            return Err(self.unsettled(vf, k, &states, "(nothing left to run or deliver)"));
        }
        let k = self.migrations.load(Ordering::SeqCst);
        Err(self.unsettled(
            vf,
            k,
            &self.states(),
            &format!("in {SETTLE_TURNS} turns of the host"),
        ))
    }

    /// Why the VF did not settle after migration `k`.
    fn unsettled<const N: usize>(
        &self,
        vf: &SimVf<N>,
        k: u64,
        states: &[VfState],
        when: &str,
    ) -> String {
        let list: Vec<String> = states.iter().map(|s| s.to_string()).collect();
        let silent = (0..self.gucs.len()).all(|i| !vf.recovery_pending(GtId(i as u8)));
        format!(
            "the VF did not settle {when} after migration {k} (states {}, coordinator {:?}){}",
            list.join(","),
            vf.coordinator(),
            if silent {
                "; no GuC interrupt reached the VF (with memirq: is the page registered?)"
            } else {
                ""
            }
        )
    }
}

/// A GT's mock GuC as the VF sees it: every access drains the transcript into the timeline, so
/// nothing is lost and the order across GTs is the real one; every wait delivers the
/// interrupts whose instant it reached.
struct TracedGuc {
    sim: &'static Sim,
    gt: u8,
}

impl TracedGuc {
    fn guc(&self) -> &MockGuc {
        &self.sim.gucs[usize::from(self.gt)]
    }
}

impl Device for TracedGuc {
    fn read32(&self, reg: Reg) -> u32 {
        let mut log = self.sim.lock();
        let v = self.guc().read32(reg);
        log.drain(self.gt, self.guc());
        v
    }

    fn write32(&self, reg: Reg, value: u32) {
        let mut log = self.sim.lock();
        self.guc().write32(reg, value);
        log.drain(self.gt, self.guc());
    }

    fn now(&self) -> Instant {
        self.guc().now()
    }

    fn relax(&self) {
        self.guc().relax();
        self.sim.deliver_due();
    }
}

struct SimHooks {
    sim: &'static Sim,
}
impl RecoveryHooks for SimHooks {
    fn pm_get(&self) {
        self.sim.hook(None, "pm_get", String::new());
        self.sim.pm_get.fetch_add(1, Ordering::SeqCst);
    }
    fn pm_put(&self) {
        self.sim.hook(None, "pm_put", String::new());
        self.sim.pm_put.fetch_add(1, Ordering::SeqCst);
    }
    fn shutdown(&self, gt: GtId) {
        self.sim.hook(Some(gt), "shutdown", format!("gt{}", gt.0));
    }
    fn ggtt_fixup(&self, tile: TileId, ggtt: GgttMove) -> Result<(), HookError> {
        let primary = self
            .sim
            .layout
            .iter()
            .position(|l| *l == (tile, GtKind::Primary));
        self.sim.hook(
            primary.map(|i| GtId(i as u8)),
            "ggtt_fixup",
            format!("tile{} {ggtt}", tile.0),
        );
        {
            let log = self.sim.lock();
            if log.trace {
                log.line(&trace::ggtt_line(tile, ggtt));
            }
        }
        if let Some(gt) = primary {
            self.sim.frag(
                GtId(gt as u8),
                format!(
                    "tile{} GGTT moved {ggtt} (shift {})",
                    tile.0,
                    signed_hex(ggtt.shift())
                ),
            );
        }
        self.sim.oracle.fixup(tile, ggtt)
    }
    fn gt_fixups(&self, gt: GtId) -> Result<(), HookError> {
        self.sim.hook(Some(gt), "gt_fixups", format!("gt{}", gt.0));
        self.sim.frag(gt, "fixups".into());
        Ok(())
    }
    fn rearm(&self, gt: GtId) -> Result<(), HookError> {
        self.sim.hook(Some(gt), "rearm", format!("gt{}", gt.0));
        self.sim.frag(gt, "rearm".into());
        Ok(())
    }
    fn kickstart(&self, gt: GtId) {
        self.sim.hook(Some(gt), "kickstart", format!("gt{}", gt.0));
        self.sim.frag(gt, "submission resumed".into());
    }
    fn abort(&self, error: &RecoveryError) {
        self.sim.hook(None, "abort", String::new());
        let mut log = self.sim.lock();
        log.vf_notes.push(format!("abort hook ({error})"));
    }
    fn wedged(&self, error: &RecoveryError) {
        self.sim.hook(None, "wedged", String::new());
        let mut log = self.sim.lock();
        log.vf_notes.push("wedged hook".to_string());
        let _ = error;
    }
    fn hold(&self, point: HoldPoint, gt: GtId) {
        self.sim
            .hook(Some(gt), "hold", format!("{point:?} gt{}", gt.0));
        self.sim.hold_hook(point, gt);
    }
}

type SimVf<const N: usize> = Vf<TracedGuc, SimHooks, Polled, N, Tiles>;

/// Each GT's tile and kind, tile by tile: the primary GT, then the media GT for the first
/// `gts - tiles` tiles.
fn layout(gts: usize, tiles: usize) -> Vec<(TileId, GtKind)> {
    let mut out = Vec::new();
    for t in 0..tiles {
        out.push((TileId(t as u8), GtKind::Primary));
        if t < gts - tiles {
            out.push((TileId(t as u8), GtKind::Media));
        }
    }
    out
}

/// Runs the scenario of `opts` with `N` GTs; returns the exit status.
pub fn run<const N: usize>(opts: &Options) -> u8 {
    let tiles = opts.tiles;
    let layout = layout(N, tiles);
    let kind = |i: usize| layout[i].1;
    let gucs: &'static [MockGuc] = (0..N)
        .map(|i| {
            let prov = {
                let mut c = Provisioning::integrated();
                c.ggtt_start = ggtt_base(0, layout[i].0 .0);
                c
            };
            MockGuc::new(kind(i), opts.abi, prov)
        })
        .collect::<Vec<_>>()
        .leak();
    // One worker, one timeline: the time it waits on one GT's mailbox passes for every GT.
    let clock: &'static MockClock = Box::leak(Box::default());
    for guc in gucs {
        guc.use_clock(clock);
        guc.set_latency(Latency::fixed(Duration::from_micros(opts.guc_latency_us)));
    }
    // The simulation, the devices and the VF refer to each other for the whole run: leaked.
    let sim: &'static Sim = Box::leak(Box::new(Sim {
        gucs,
        clock,
        log: Mutex::new(Log::new(N, opts.trace, opts.svg.is_some())),
        vf: OnceLock::new(),
        deliveries: Mutex::new(Vec::new()),
        delivering: AtomicBool::new(false),
        hold: Mutex::new(opts.migrate_during_recovery),
        migrations: AtomicU64::new(0),
        pm_get: AtomicUsize::new(0),
        pm_put: AtomicUsize::new(0),
        failures: Mutex::new(Vec::new()),
        layout: layout.clone(),
        oracle: GgttOracle::new(),
        rng: Mutex::new(opts.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1),
    }));

    let inject = |spec: &FaultSpec| {
        if let Err(e) = gucs[0].inject(Trigger::Action(spec.step.action()), spec.fault) {
            sim.fail(format!("--fault {}: {e}", spec.text));
        }
    };
    for spec in opts.faults.iter().filter(|f| f.step.during_bootstrap()) {
        inject(spec);
    }

    let gts: [Gt<TracedGuc>; N] = core::array::from_fn(|i| {
        let info = {
            let mut info = GtInfo::new(kind(i), false, 2004);
            info.tile = layout[i].0;
            info.platform = PlatformClass::Newer;
            info
        };
        Gt::new(
            TracedGuc { sim, gt: i as u8 },
            info,
            MailboxConfig::default(),
        )
    });
    let mut config = RecoveryConfig::DEFAULT;
    config.start = opts.policy;
    config.legacy = opts.legacy;
    // --irq mmio: SW_INT_0 from the register, which kernel 7.0 does not migrate with.
    config.mmio_irq = !opts.memirq;
    config.split_phase = opts.split_phase;
    let pages = Tiles(if opts.memirq {
        (0..tiles)
            .map(|t| {
                let page: &'static MockMemirqPage = Box::leak(Box::default());
                let tile = TileId(t as u8);
                let on_tile = |k: GtKind| {
                    layout
                        .iter()
                        .position(|&(lt, lk)| lt == tile && lk == k)
                        .map(|i| GtId(i as u8))
                };
                for (i, g) in gucs.iter().enumerate() {
                    if layout[i].0 == tile {
                        g.attach_memirq(page, page_ggtt(tile.0));
                    }
                }
                let primary = on_tile(GtKind::Primary).unwrap_or(GtId(0));
                Memirq::new(page, page_ggtt(tile.0), primary, on_tile(GtKind::Media))
            })
            .collect()
    } else {
        Vec::new()
    });
    let vf: &'static SimVf<N> = match Vf::with_memirq(gts, SimHooks { sim }, Polled, config, pages)
    {
        Ok(vf) => Box::leak(Box::new(vf)),
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    let port: &'static dyn IrqPort = vf;
    let _ = sim.vf.set(port);

    sim.lock().line(&format!(
        "[host] VM with {N} GT{} on {} tile{} ({}), mock GuC VF ABI {}, policy {:?}{}, {} migration{}",
        if N == 1 { "" } else { "s" },
        tiles,
        if tiles == 1 { "" } else { "s" },
        layout
            .iter()
            .enumerate()
            .map(|(i, (t, k))| format!("gt{i} tile{} {}", t.0, if *k == GtKind::Primary { "primary" } else { "media" }))
            .collect::<Vec<_>>()
            .join(", "),
        opts.abi,
        opts.policy,
        if opts.legacy {
            ", legacy recovery allowed"
        } else {
            ""
        },
        opts.migrations,
        if opts.migrations == 1 { "" } else { "s" },
    ));
    sim.lock().line(
        "[host] clocks: times marked (virtual) are the mock GuCs' shared virtual clock (the \
         worker's polls, the GuC turnaround, the host's interrupt delays), (wall) the host's \
         real time",
    );
    for f in &opts.faults {
        sim.lock().line(&format!(
            "[host] fault {}: gt0, {:?} on action {:#06x}{}",
            f.text,
            f.fault,
            f.step.action(),
            if f.step.during_bootstrap() {
                " (bootstrap)"
            } else {
                " (first recovery)"
            }
        ));
    }

    let boot = vf.bootstrap().and_then(|()| {
        // Register each tile's page with its GuCs (before CTB would be enabled), then enable it.
        vf.register_memirq()?;
        for m in &vf.memirq().0 {
            m.enable();
        }
        Ok(())
    });
    {
        let mut log = sim.lock();
        sim.print_narratives(&mut log, "bootstrap");
    }
    let mut ok = true;
    match boot {
        Ok(()) => {
            for t in 0..tiles {
                let tile = TileId(t as u8);
                if let Some(ggtt) = vf.tile_ggtt(tile) {
                    sim.oracle.place(tile, ggtt.applied);
                }
            }
            for i in 0..N {
                let line = vf.gt_view(GtId(i as u8)).map(|gt| {
                    let v = gt.version.map_or("?".to_string(), |v| v.to_string());
                    match gt.config {
                        Some(c) => format!(
                            "[gt{i}] VF ABI {v} ({}), GGTT {:#x}+{:#x}, {} contexts, {} doorbells",
                            if gt.supports_markers() {
                                "RESFIX markers"
                            } else {
                                "legacy RESFIX_DONE, no markers"
                            },
                            c.ggtt_start,
                            c.ggtt_size,
                            c.num_contexts,
                            c.num_doorbells
                        ),
                        None => format!("[gt{i}] VF ABI {v}, no configuration"),
                    }
                });
                if let Some(line) = line {
                    sim.lock().line(&line);
                }
            }
            for spec in opts.faults.iter().filter(|f| !f.step.during_bootstrap()) {
                inject(spec);
            }
        }
        Err(e) => {
            sim.lock().line(&format!("[vf] {}", error_chain(&e)));
            ok = false;
        }
    }

    if ok {
        for _ in 0..opts.migrations {
            sim.migrate_vm("", false);
            match sim.settle(vf) {
                Ok(true) => {}
                Ok(false) => break,
                Err(why) => {
                    sim.fail(why);
                    break;
                }
            }
        }
    }

    Sim::print_hooks(&mut sim.lock(), "outside a pass:");
    let stats = vf.stats();
    let (gets, puts) = (
        sim.pm_get.load(Ordering::SeqCst),
        sim.pm_put.load(Ordering::SeqCst),
    );
    let log = sim.lock();
    if log.dropped {
        drop(log);
        sim.fail("transcript entries were dropped".into());
    } else {
        drop(log);
    }
    if gets != puts {
        sim.fail(format!("runtime PM unbalanced: {gets} get, {puts} put"));
    }
    let states = sim.states();
    let wedged = vf.is_wedged();
    let log = sim.lock();
    log.line(&format!(
        "[vf] stats: {} interrupts signalled, {} passes ({} completed, {} deferred, {} re-queued, \
         {} failed, {} refused), {} fixups, runtime PM {gets} get / {puts} put",
        stats.migrations_signalled,
        stats.recoveries,
        stats.completed,
        stats.deferred,
        stats.requeued,
        stats.failed,
        stats.unsupported,
        stats.fixups_completed,
    ));
    // The VF's view: on every tile, its GGTT users at the GuC's current base, moved once per
    // change (the oracle refuses a fixup that does not start where they are).
    let mut ggtt_ok = ok;
    for t in 0..tiles {
        let tile = TileId(t as u8);
        let Some(primary) = layout.iter().position(|l| *l == (tile, GtKind::Primary)) else {
            continue;
        };
        let base = gucs[primary].provisioning().ggtt_start;
        if let Err(e) = sim.oracle.check(tile, base) {
            log.line(&format!("[vf] GGTT users: {e}"));
            ggtt_ok = false;
        }
    }
    let list: Vec<String> = states.iter().map(|s| s.to_string()).collect();
    log.line(&format!(
        "summary: migrations={} recoveries={} deferred={} requeued={} wedged={} states={} ggtt={} blackout_us={}",
        sim.migrations.load(Ordering::SeqCst),
        stats.recoveries,
        stats.deferred,
        stats.requeued,
        if wedged { "yes" } else { "no" },
        list.join(","),
        if ggtt_ok { "ok" } else { "stale" },
        sim.blackout_us()
            .map_or("none".to_string(), |us| us.to_string())
    ));
    drop(log);
    if let Some(path) = &opts.svg {
        let log = sim.lock();
        let picture = crate::svg::render(&crate::svg::Input {
            title: &title(opts),
            layout: &layout,
            events: &log.events,
        });
        drop(log);
        if let Err(e) = std::fs::write(path, picture) {
            sim.fail(format!("--svg {}: {e}", path.display()));
        }
    }
    let failures = sim.failures.lock().unwrap_or_else(|e| e.into_inner());
    let all_running = states.iter().all(|s| *s == VfState::Running);
    u8::from(!(ok && all_running && !wedged && ggtt_ok && failures.is_empty()))
}

/// The SVG's title: the scenario in a line.
fn title(opts: &Options) -> String {
    let mut t = format!(
        "{} GT{} on {} tile{}, VF ABI {}, policy {:?}, {}, --irq {}, GuC latency {} us, seed {}",
        opts.gts,
        if opts.gts == 1 { "" } else { "s" },
        opts.tiles,
        if opts.tiles == 1 { "" } else { "s" },
        opts.abi,
        opts.policy,
        if opts.split_phase {
            "split phase"
        } else {
            "--sequential"
        },
        if opts.memirq { "memirq" } else { "mmio" },
        opts.guc_latency_us,
        opts.seed
    );
    if let Some(point) = opts.migrate_during_recovery {
        t.push_str(&format!(", second migration at {point:?}"));
    }
    for f in &opts.faults {
        t.push_str(&format!(", --fault {}", f.text));
    }
    t
}
