//! The crate in the guest: a VF with 2 GTs (primary + media) on mock GuCs in guest memory, live
//! migrations whose `SW_INT_0` reaches the coordinator through real x86 interrupts, and the
//! recovery run from the main loop through a [`PollingQueue`].
//!
//! | piece | where it runs | what it may touch |
//! |---|---|---|
//! | [`on_guc_interrupt`]: read + clear the GuC interrupt vector, [`Vf::handle_guc_interrupt`] | IRQ (IST1, IF = 0): `int 0x40+gt` or the APIC timer | atomics; the mock's lock and the event log, which thread context only takes with IF = 0 |
//! | [`run`]: bootstrap, main loop `while VF.queue().take() { VF.run_worker() }` | thread (boot stack, IF = 1 while passes run) | everything; the GT lock inside `run_worker` |
//! | [`GuestHooks::hold`]: the "hypervisor" lands migration 2 mid-recovery, arms the APIC timer | worker, GT lock held | the mocks (IF = 0), the APIC |
//!
//! The mock GuC keeps its state behind a spin lock (real GuC registers need none). The crate
//! reaches it through [`IrqSafeGuc`], which masks interrupts around every register access, as a
//! kernel's `spin_lock_irqsave` would; so an interrupt can land anywhere in the recovery except
//! inside one mock access, and the handler never spins on a lock the interrupted code holds.
//!
//! Nothing is printed while the recovery runs: every event (mailbox transcript lines, interrupt
//! deliveries, pass outcomes) goes to a fixed-size log that is printed afterwards, so the stack
//! watermark measures the crate, the mock and the hooks, not `core::fmt`.

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, Ordering};

use xe_sriov_vf::device::{Device, Instant, Reg};
use xe_sriov_vf::gt::{Gt, GtInfo, PlatformClass};
use xe_sriov_vf::mailbox::MailboxConfig;
use xe_sriov_vf::mock::{GgttOracle, MockGuc, Provisioning, TranscriptEntry, VfState};
use xe_sriov_vf::wire::regs::{GtKind, GucIntr};
use xe_sriov_vf::wire::Version;
use xe_sriov_vf::{
    GgttMove, GtId, HoldPoint, HookError, PassOutcome, PollingQueue, RecoveryConfig, RecoveryHooks,
    Signal, Stats, TileId, Vf,
};

use crate::{apic, interrupts, println, stack};

/// GTs of the VF.
pub const GTS: usize = 2;
/// GGTT base after the first and after the second migration (it starts at 0x200000).
const GGTT_FIRST: u64 = 0x0030_0000;
const GGTT_SECOND: u64 = 0x0060_0000;
/// APIC timer counts (x 16 ns) from "the destination host raised SW_INT_0" to its delivery, and
/// between the two GTs' deliveries. Override at build time with `XE_GUEST_IRQ_DELAY=<counts>`
/// to move where the interrupts land (a few thousand: during the pass; 100000+: after it).
const ASYNC_IRQ_DELAY: u32 = match option_env!("XE_GUEST_IRQ_DELAY") {
    Some(counts) => parse_u32(counts),
    None => 2_000,
};

/// A decimal `u32` at compile time (a bad value fails the build).
const fn parse_u32(s: &str) -> u32 {
    let bytes = s.as_bytes();
    assert!(!bytes.is_empty(), "XE_GUEST_IRQ_DELAY: empty");
    let mut value: u32 = 0;
    let mut i = 0;
    while i < bytes.len() {
        assert!(bytes[i].is_ascii_digit(), "XE_GUEST_IRQ_DELAY: not a decimal number");
        value = value * 10 + (bytes[i] - b'0') as u32;
        i += 1;
    }
    value
}
/// Bound on main-loop turns (each runs the due passes or halts for an interrupt).
const MAX_TURNS: u32 = 64;

// ---------------------------------------------------------------------------------------------
// The mock GuCs (const-constructed statics: .data, no heap) and their IRQ-safe Device view.
// ---------------------------------------------------------------------------------------------

const ABI: Version = Version::new(1, 27);
static GUCS: [MockGuc; GTS] = [
    MockGuc::new(GtKind::Primary, ABI, Provisioning::integrated()),
    MockGuc::new(GtKind::Media, ABI, Provisioning::integrated()),
];

/// Thread-context access to GT `gt`'s mock GuC: interrupts masked, and the transcript entries
/// the access produced moved to the event log (so the trace keeps the global order).
fn with_guc<R>(gt: u8, f: impl FnOnce(&'static MockGuc) -> R) -> R {
    interrupts::without_interrupts(|| {
        let guc = &GUCS[usize::from(gt)];
        let result = f(guc);
        guc.drain_transcript(|entry| log(Event::Trace(gt, *entry)));
        result
    })
}

/// What the crate sees as GT `gt`'s device: the mock GuC, each access IRQ-safe.
#[derive(Clone, Copy, Debug)]
pub struct IrqSafeGuc {
    gt: u8,
}

impl Device for IrqSafeGuc {
    fn read32(&self, reg: Reg) -> u32 {
        with_guc(self.gt, |g| g.read32(reg))
    }
    fn write32(&self, reg: Reg, value: u32) {
        with_guc(self.gt, |g| g.write32(reg, value))
    }
    fn now(&self) -> Instant {
        interrupts::without_interrupts(|| GUCS[usize::from(self.gt)].now())
    }
    fn relax(&self) {
        interrupts::without_interrupts(|| GUCS[usize::from(self.gt)].relax())
    }
}

// ---------------------------------------------------------------------------------------------
// The VF: a `static spin::Once` (Vf::new is not const), reached wait-free by the IRQ handler.
// ---------------------------------------------------------------------------------------------

/// The VF as the guest instantiates it.
pub type GuestVf = Vf<IrqSafeGuc, GuestHooks, PollingQueue, GTS>;

static VF: spin::Once<GuestVf> = spin::Once::new();

/// Which GTs' `SW_INT_0` the next APIC timer expiries deliver (bit n = GT n), one per expiry.
static TIMER_LINES: AtomicU8 = AtomicU8::new(0);

/// How an interrupt reached the handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// `int 0x40 + gt`, raised synchronously by the hypervisor code.
    SoftwareInt,
    /// The APIC one-shot timer: asynchronous, at an arbitrary instruction of the worker.
    ApicTimer,
}

/// IRQ context (IST1, IF = 0): GT `gt`'s GuC interrupt. Reads and clears the GuC interrupt
/// vector (the mock's lock is free: thread context only takes it with IF = 0) and hands it to the
/// coordinator: wait-free, the GT lock is never touched.
pub fn on_guc_interrupt(gt: u8, via: Via) {
    let Some(vf) = VF.get() else {
        return; // not initialised yet (the boot self-tests raise these vectors too)
    };
    let Some(guc) = GUCS.get(usize::from(gt)) else {
        return;
    };
    let intr = guc.take_interrupts();
    let during_pass = vf.coordinator().is_running();
    let signal = vf.handle_guc_interrupt(GtId(gt), intr);
    log(Event::Irq { gt, via, intr, signal, during_pass });
}

/// IRQ context: the APIC timer expired. Delivers the next GT on [`TIMER_LINES`] and re-arms the
/// timer for the one after, so each GT's interrupt lands at its own moment.
pub fn on_timer() {
    let lines = TIMER_LINES.load(Ordering::Acquire);
    if lines == 0 {
        return;
    }
    let gt = lines.trailing_zeros() as u8;
    let rest = TIMER_LINES.fetch_and(!(1 << gt), Ordering::AcqRel) & !(1 << gt);
    on_guc_interrupt(gt, Via::ApicTimer);
    if rest != 0 {
        apic::arm_oneshot(ASYNC_IRQ_DELAY);
    }
}

/// VM migrations so far (all GTs at once count as one, as in the simulator's summary).
static VM_MIGRATIONS: AtomicU32 = AtomicU32::new(0);

/// The host migrates the VM: every GuC goes through pause / restore / resume and raises SW_INT_0.
fn migrate_vm(n: u8, ggtt_start: u64) {
    VM_MIGRATIONS.fetch_add(1, Ordering::AcqRel);
    for gt in 0..GTS as u8 {
        log(Event::Migration { n, gt, ggtt_start });
        with_guc(gt, |g| g.migrate(ggtt_start));
    }
}

// ---------------------------------------------------------------------------------------------
// Hooks: record the fixups; land the second migration before the first RESFIX_DONE.
// ---------------------------------------------------------------------------------------------

/// The guest's recovery hooks.
pub struct GuestHooks {
    second_migration: AtomicBool,
    pm_refs: AtomicU32,
    /// The guest's GGTT users (the crate's oracle): moved only by `ggtt_fixup`, checked at the
    /// end against the GuC's final base.
    ggtt_users: GgttOracle<1>,
}

impl RecoveryHooks for GuestHooks {
    fn pm_get(&self) {
        self.pm_refs.fetch_add(1, Ordering::AcqRel);
    }
    fn pm_put(&self) {
        self.pm_refs.fetch_sub(1, Ordering::AcqRel);
    }
    fn ggtt_fixup(&self, tile: TileId, ggtt: GgttMove) -> Result<(), HookError> {
        log(Event::Ggtt { tile: tile.0, old: ggtt.old, new: ggtt.new });
        self.ggtt_users.fixup(tile, ggtt)
    }
    fn gt_fixups(&self, gt: GtId) -> Result<(), HookError> {
        log(Event::Fixups { gt: gt.0 });
        Ok(())
    }
    /// Runs in the worker with the GT lock held and IF = 1. Migrates both GTs again and lets the
    /// APIC timer deliver their interrupts shortly after: they land while this pass goes on.
    fn hold(&self, point: HoldPoint, gt: GtId) {
        if point == HoldPoint::BeforeDone && gt == GtId(0) && self.second_migration.swap(false, Ordering::AcqRel) {
            log(Event::Hold { point, gt: gt.0 });
            migrate_vm(2, GGTT_SECOND);
            TIMER_LINES.store((1 << GTS) - 1, Ordering::Release);
            apic::arm_oneshot(ASYNC_IRQ_DELAY);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The event log: fixed size, IRQ-safe (locked only with IF = 0), printed after the recovery.
// ---------------------------------------------------------------------------------------------

const LOG_LEN: usize = 256;

/// One thing that happened.
#[derive(Clone, Copy, Debug)]
pub enum Event {
    /// A mock transcript entry of GT n (a mailbox message or the GuC raising SW_INT_0).
    Trace(u8, TranscriptEntry),
    /// The host migrated GT `gt` (migration number `n`).
    Migration { n: u8, gt: u8, ggtt_start: u64 },
    /// The handler passed an interrupt vector to the coordinator.
    Irq { gt: u8, via: Via, intr: GucIntr, signal: Signal, during_pass: bool },
    /// The hold hook landed the second migration.
    Hold { point: HoldPoint, gt: u8 },
    /// The fixups hook ran.
    Fixups { gt: u8 },
    /// The tile's GGTT fixup ran.
    Ggtt { tile: u8, old: u64, new: u64 },
    /// A worker pass ended.
    Pass { n: u32, outcome: PassOutcome },
}

struct Log {
    events: heapless::Deque<Event, LOG_LEN>,
    dropped: u32,
    high_water: usize,
}

static LOG: spin::Mutex<Log> =
    spin::Mutex::new(Log { events: heapless::Deque::new(), dropped: 0, high_water: 0 });

fn log(event: Event) {
    interrupts::without_interrupts(|| {
        let mut log = LOG.lock();
        if log.events.push_back(event).is_err() {
            log.dropped += 1;
        }
        log.high_water = log.high_water.max(log.events.len());
    });
}

/// Prints and removes the logged events, oldest first.
fn flush_log() {
    while let Some(event) = interrupts::without_interrupts(|| LOG.lock().events.pop_front()) {
        match event {
            Event::Trace(gt, entry) => println!("{}", entry.line(gt)),
            Event::Migration { n, gt, ggtt_start } => {
                println!("hv: migration {n}: gt{gt} paused, restored (GGTT start {ggtt_start:#x}), resumed")
            }
            Event::Irq { gt, via, intr, signal, during_pass } => {
                let how = match via {
                    Via::SoftwareInt => "int",
                    Via::ApicTimer => "APIC timer, vector",
                };
                let vector = match via {
                    Via::SoftwareInt => interrupts::SW_INT_BASE + gt,
                    Via::ApicTimer => interrupts::TIMER_VECTOR,
                };
                let when = if during_pass { "while a pass ran" } else { "no pass running" };
                println!("irq: gt{gt} {intr:?} via {how} {vector:#x} -> {signal:?} ({when})")
            }
            Event::Hold { point, gt } => {
                println!("hv: migration 2 lands mid-recovery, at {point:?} of gt{gt}; SW_INT_0 via the APIC timer")
            }
            Event::Fixups { gt } => println!("worker: gt{gt} fixups"),
            Event::Ggtt { tile, old, new } => println!("tile{tile} ggtt {old:#x} -> {new:#x}"),
            Event::Pass { n, outcome } => println!("worker: pass {n}: {outcome:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The scenario.
// ---------------------------------------------------------------------------------------------

/// What [`run`] measured, for the report and the summary.
pub struct Outcome {
    pub vm_migrations: u32,
    pub stats: Stats,
    pub wedged: bool,
    pub states: [VfState; GTS],
    pub ggtt: [Option<u64>; GTS],
    pub ggtt_valid: [bool; GTS],
    /// The oracle's verdict on the guest's GGTT users at the final base.
    pub ggtt_users_ok: bool,
    pub passes: u32,
    pub pm_refs: u32,
    /// Deepest boot-stack use below the scenario's frame: bootstrap, and the recovery (main loop,
    /// `run_worker`, crate, mock, hooks; no printing).
    pub bootstrap_stack: usize,
    pub recovery_stack: usize,
    /// Deepest IST1 use by the GuC interrupt path (stub, fxsave, dispatcher, handler).
    pub irq_stack: usize,
    pub log_high_water: usize,
    pub log_dropped: u32,
}

impl Outcome {
    /// Whether the run passed: every GT VF_RUNNING on the final GGTT base, nothing wedged, every
    /// interrupt delivered, the trace complete.
    pub fn passed(&self) -> bool {
        self.states.iter().all(|s| *s == VfState::Running)
            && !self.wedged
            && self.ggtt.iter().all(|g| *g == Some(GGTT_SECOND))
            && self.ggtt_valid.iter().all(|v| *v)
            && self.ggtt_users_ok
            && self.vm_migrations == 2
            && self.stats.migrations_signalled == 2 * GTS
            && self.stats.failed == 0
            && self.pm_refs == 0
            && self.log_dropped == 0
    }

    /// The simulator's summary line.
    pub fn print_summary(&self) {
        crate::print!(
            "summary: migrations={} recoveries={} deferred={} requeued={} wedged={} states=",
            self.vm_migrations,
            self.stats.recoveries,
            self.stats.deferred,
            self.stats.requeued,
            if self.wedged { "yes" } else { "no" }
        );
        for (i, s) in self.states.iter().enumerate() {
            crate::print!("{}{}", if i > 0 { "," } else { "" }, s.name());
        }
        println!(" ggtt={}", if self.ggtt_users_ok { "ok" } else { "stale" });
    }
}

/// Bootstraps the VF, runs migration 1 (SW_INT_0 by `int`), the recovery with migration 2
/// landing mid-pass (SW_INT_0 by the APIC timer), and returns what happened. Call with
/// interrupts disabled, after the IDT and the IRQ target are set up. `Err` = could not even
/// start (printed by the caller).
pub fn run() -> Result<Outcome, &'static str> {
    let info = |kind| GtInfo { tile: TileId(0), kind, platform: PlatformClass::Newer, discrete: false, graphics_verx100: 2004 };
    let vf: &'static GuestVf = VF.call_once(|| {
        let gts = [
            Gt::new(IrqSafeGuc { gt: 0 }, info(GtKind::Primary), MailboxConfig::default()),
            Gt::new(IrqSafeGuc { gt: 1 }, info(GtKind::Media), MailboxConfig::default()),
        ];
        let hooks = GuestHooks {
            second_migration: AtomicBool::new(true),
            pm_refs: AtomicU32::new(0),
            ggtt_users: GgttOracle::new(),
        };
        match Vf::new(gts, hooks, PollingQueue::new(), RecoveryConfig::default()) {
            Ok(vf) => vf,
            Err(_) => {
                println!("FAIL: Vf::new");
                crate::qemu::fail()
            }
        }
    });

    // Bootstrap (VF_RESET, handshake, configuration) of both GTs, interrupts off.
    let sp = stack::current_sp();
    stack::repaint_boot_stack_below(sp);
    let boot_result = bootstrap(vf);
    let bootstrap_stack = depth_below(sp);
    flush_log();
    if let Err(error) = boot_result {
        println!("FAIL: bootstrap: {error}");
        return Err("bootstrap failed");
    }
    if let Some(ggtt) = vf.tile_ggtt(TileId(0)) {
        vf.hooks().ggtt_users.place(TileId(0), ggtt.applied);
    }
    for gt in 0..GTS as u8 {
        if let Some(g) = vf.gt_view(GtId(gt)) {
            let ggtt = g.config.map_or(0, |c| c.ggtt_start);
            println!("vf: gt{gt} VF ABI {}, GGTT start {ggtt:#x}", g.version.unwrap_or_default());
        }
    }

    // Measure only what follows: repaint the free boot stack and IST1.
    stack::repaint_irq_stack();
    let sp = stack::current_sp();
    stack::repaint_boot_stack_below(sp);

    let passes = migrate_and_recover(vf)?;
    let recovery_stack = depth_below(sp);
    let irq_stack = stack::irq_stack().used;

    flush_log();
    let (log_high_water, log_dropped) = interrupts::without_interrupts(|| {
        let log = LOG.lock();
        (log.high_water, log.dropped)
    });
    let states: [VfState; GTS] = core::array::from_fn(|gt| with_guc(gt as u8, |g| g.state()));
    Ok(Outcome {
        vm_migrations: VM_MIGRATIONS.load(Ordering::Acquire),
        stats: vf.stats(),
        wedged: vf.is_wedged(),
        states,
        ggtt: core::array::from_fn(|gt| vf.gt_view(GtId(gt as u8)).and_then(|g| g.config).map(|c| c.ggtt_start)),
        ggtt_valid: core::array::from_fn(|gt| vf.ggtt_valid(GtId(gt as u8))),
        ggtt_users_ok: vf.hooks().ggtt_users.check(TileId(0), GGTT_SECOND).is_ok(),
        passes,
        pm_refs: vf.hooks().pm_refs.load(Ordering::Acquire),
        bootstrap_stack,
        recovery_stack,
        irq_stack,
        log_high_water,
        log_dropped,
    })
}

/// Bootstraps both GTs. Not inlined, so that its frame (and the crate code inlined into it) lies
/// below the stack pointer at which [`run`] repainted the stack.
#[inline(never)]
fn bootstrap(vf: &GuestVf) -> Result<(), xe_sriov_vf::BootstrapError> {
    vf.bootstrap()
}

/// Migration 1, then the main loop until the VF is idle; returns the number of passes. Not
/// inlined, for the same reason as [`bootstrap`].
#[inline(never)]
fn migrate_and_recover(vf: &GuestVf) -> Result<u32, &'static str> {
    // Migration 1: the host migrates the VM; each GuC's SW_INT_0 arrives as a real interrupt.
    migrate_vm(1, GGTT_FIRST);
    for gt in 0..GTS as u8 {
        interrupts::raise_sw_int(gt);
    }

    // The main loop: run the due passes with interrupts enabled (the APIC timer may land
    // anywhere in them); halt while an interrupt is still on its way; stop when idle.
    let mut passes = 0;
    let mut turns = 0;
    loop {
        turns += 1;
        if turns > MAX_TURNS {
            return Err("recovery did not settle");
        }
        interrupts::enable();
        while vf.queue().take() {
            passes += 1;
            let outcome = vf.run_worker();
            log(Event::Pass { n: passes, outcome });
        }
        interrupts::disable();
        if vf.queue().is_pending() {
            continue;
        }
        if TIMER_LINES.load(Ordering::Acquire) != 0 {
            interrupts::enable_and_wait();
            continue;
        }
        break;
    }
    Ok(passes)
}

/// How far below `sp` the boot stack has been used since it was repainted there.
fn depth_below(sp: usize) -> usize {
    let top = crate::sym_addr!(XE_GUEST_STACK_TOP);
    let used = stack::boot_stack().used;
    used.saturating_sub(top - sp)
}
