//! The crate in the guest: a VF with 2 GTs (primary + media) of one tile on mock GuCs in guest
//! memory, sharing the tile's memirq page (a static, page-aligned [`MockMemirqPage`] in guest
//! memory), live migrations whose `SW_INT_0` the GuCs write into that page and announce with the
//! tile's MSI (a real x86 interrupt here), and the recovery run from the main loop through a
//! [`PollingQueue`].
//!
//! | piece | where it runs | what it may touch |
//! |---|---|---|
//! | [`on_tile_msi`]: scan the memirq page, [`Vf::handle_memirq`] | IRQ (IST1, IF = 0): `int 0x40` or the APIC timer | atomics (the page's bytes, the coordinator); the event log, which thread context only takes with IF = 0 |
//! | [`run`]: bootstrap, [`Vf::register_memirq`], main loop `while VF.queue().take() { VF.run_worker() }` | thread (boot stack, IF = 1 while passes run) | everything; the GT lock inside `run_worker` |
//! | [`GuestHooks::hold`]: the "hypervisor" lands migration 2 mid-recovery, arms the APIC timer | worker, GT lock held | the mocks (IF = 0), the APIC |
//!
//! The mock GuC keeps its state behind a spin lock (real GuC registers need none). The crate
//! reaches it through [`IrqSafeGuc`], which masks interrupts around every register access, as a
//! kernel's `spin_lock_irqsave` would. The memirq handler never touches a mock (the page is
//! atomic bytes), so this is not needed against deadlock; it keeps each access and the
//! transcript entries it produced together in the event log (the trace's global order), and it
//! is what a handler on the register path (parts before graphics IP 12.50: read and clear the
//! GuC interrupt register, [`Vf::handle_guc_interrupt`]) would need. An interrupt can land
//! anywhere in the recovery except inside one mock access.
//!
//! Nothing is printed while the recovery runs: every event (mailbox transcript lines, interrupt
//! deliveries, pass outcomes) goes to a fixed-size log that is printed afterwards, so the stack
//! watermark measures the crate, the mock and the hooks, not `core::fmt`.

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use xe_sriov_vf::device::{Device, Instant, Reg};
use xe_sriov_vf::gt::{GpuKind, GraphicsIp, Gt, GtInfo, PlatformClass};
use xe_sriov_vf::mailbox::MailboxConfig;
use xe_sriov_vf::memirq::{Memirq, MemirqReport};
use xe_sriov_vf::mock::{
    GgttOracle, MemirqRegistration, MockGuc, MockMemirqPage, Provisioning, TranscriptEntry, VfState,
};
use xe_sriov_vf::wire::regs::GtKind;
use xe_sriov_vf::wire::Version;
use xe_sriov_vf::{
    GgttMove, GtId, HoldPoint, HookError, PassOutcome, PollingQueue, RecoveryConfig, RecoveryHooks,
    Stats, TileId, Vf,
};

use crate::{apic, interrupts, println, stack};

/// GTs of the VF.
pub const GTS: usize = 2;
/// GGTT base after the first and after the second migration (it starts at 0x200000).
const GGTT_FIRST: u64 = 0x0030_0000;
const GGTT_SECOND: u64 = 0x0060_0000;
/// APIC timer counts (x 16 ns) from "the GuCs wrote SW_INT_0 into the memirq page" to the
/// delivery of the tile's MSI. Override at build time with `XE_GUEST_IRQ_DELAY=<counts>` to move
/// where the interrupt lands (a few thousand: during the pass; 100000+: after it).
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

/// The tile's memirq page, 4 KiB-aligned as the GPU needs it. Both mock GuCs write into it (where
/// the VF registered their units), the MSI handler scans and clears it. On hardware: a zeroed page
/// of system memory the GPU reads and writes uncached, mapped at [`MEMIRQ_PAGE_GGTT`], seen by
/// the crate through `MemirqMem::new(page_ptr)`.
#[repr(C, align(4096))]
pub struct AlignedPage(pub MockMemirqPage);

/// The memirq page (static, zeroed: `.bss`, placed first there by `link.ld` so that its
/// alignment costs no padding).
#[link_section = ".bss.xe_memirq_page"]
pub static MEMIRQ_PAGE: AlignedPage = AlignedPage(MockMemirqPage::new());

/// The page's GGTT address (any 4 KiB-aligned address of the VF's GGTT; the GuCs learn it by
/// HOST2GUC_SELF_CFG in [`Vf::register_memirq`]).
pub const MEMIRQ_PAGE_GGTT: u64 = 0x0010_0000;

/// The tile's memirq page as the crate sees it. Real hardware:
/// `Memirq::new(unsafe { MemirqMem::new(page_ptr) }?, MEMIRQ_PAGE_GGTT, GtId(0), Some(GtId(1)))`.
pub type TileMemirq = Memirq<&'static MockMemirqPage>;

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
// The VF: a `static spin::Once` (Vf::with_memirq is not const), reached wait-free by the IRQ
// handler.
// ---------------------------------------------------------------------------------------------

/// The VF as the guest instantiates it: memirq, one tile.
pub type GuestVf = Vf<IrqSafeGuc, GuestHooks, PollingQueue, GTS, TileMemirq>;

static VF: spin::Once<GuestVf> = spin::Once::new();

/// Set while the tile's MSI is on its way through the APIC timer (armed, not yet delivered).
static MSI_IN_FLIGHT: AtomicBool = AtomicBool::new(false);

/// How an interrupt reached the handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// `int 0x40 + tile`, raised synchronously by the hypervisor code.
    SoftwareInt,
    /// The APIC one-shot timer: asynchronous, at an arbitrary instruction of the worker.
    ApicTimer,
}

/// IRQ context (IST1, IF = 0): tile `tile`'s MSI. Scans the tile's memirq page with
/// [`Vf::handle_memirq`]: for every GuC whose SW_INT_0 byte is set, the migration entry (the
/// coordinator: wait-free, the GT lock is never touched), then the byte is cleared. Touches
/// only atomics (no mock, no lock but the event log's, which thread context takes with IF = 0).
pub fn on_tile_msi(tile: u8, via: Via) {
    let Some(vf) = VF.get() else {
        return; // not initialised yet (the boot self-tests raise these vectors too)
    };
    if tile != 0 {
        return; // one tile
    }
    let during_pass = vf.coordinator().is_running();
    let report = vf.handle_memirq();
    // The defmt build logs from interrupt context here (the crate's interrupt entry never does):
    // the logger masks interrupts around each frame, so this frame cannot land inside one that
    // thread context is writing when the APIC timer fires.
    #[cfg(feature = "defmt")]
    defmt::debug!(
        "guest irq: tile {=u8} MSI via {=str}, SW_INT_0 on GT mask {:#x}, during a pass: {=bool}",
        tile,
        match via {
            Via::SoftwareInt => "int",
            Via::ApicTimer => "APIC timer",
        },
        report.sw_int0.bits(),
        during_pass
    );
    log(Event::Msi { tile, via, report, during_pass });
}

/// IRQ context: the APIC timer expired. If migration 2's MSI is in flight, delivers it.
pub fn on_timer() {
    if MSI_IN_FLIGHT.swap(false, Ordering::AcqRel) {
        on_tile_msi(0, Via::ApicTimer);
    }
}

/// VM migrations so far (all GTs at once count as one, as in the simulator's summary).
static VM_MIGRATIONS: AtomicU32 = AtomicU32::new(0);

/// The host migrates the VM: every GuC goes through pause / restore / resume and writes SW_INT_0
/// into the memirq page (status byte, then source byte). The tile's MSI is the caller's part.
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
    /// Runs in the worker with the GT lock held and IF = 1. Migrates both GTs again (their
    /// SW_INT_0 bytes are in the page at once) and lets the APIC timer deliver the tile's MSI
    /// shortly after: it lands while this pass goes on.
    fn hold(&self, point: HoldPoint, gt: GtId) {
        if point == HoldPoint::BeforeDone && gt == GtId(0) && self.second_migration.swap(false, Ordering::AcqRel) {
            log(Event::Hold { point, gt: gt.0 });
            migrate_vm(2, GGTT_SECOND);
            MSI_IN_FLIGHT.store(true, Ordering::Release);
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
    /// The tile's MSI handler scanned the memirq page.
    Msi { tile: u8, via: Via, report: MemirqReport, during_pass: bool },
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
            Event::Msi { tile, via, report, during_pass } => {
                let how = match via {
                    Via::SoftwareInt => "int",
                    Via::ApicTimer => "APIC timer, vector",
                };
                let vector = match via {
                    Via::SoftwareInt => interrupts::SW_INT_BASE + tile,
                    Via::ApicTimer => interrupts::TIMER_VECTOR,
                };
                let when = if during_pass { "while a pass ran" } else { "no pass running" };
                crate::print!("irq: tile{tile} MSI via {how} {vector:#x}: memirq SW_INT_0 on GTs {:?}", report.sw_int0);
                if !report.guc2host.is_empty() {
                    crate::print!(", GUC2HOST on GTs {:?}", report.guc2host);
                }
                if report.garbage != 0 {
                    crate::print!(", {} garbage bytes", report.garbage);
                }
                println!(" ({when})")
            }
            Event::Hold { point, gt } => {
                println!("hv: migration 2 lands mid-recovery, at {point:?} of gt{gt}; the tile's MSI via the APIC timer")
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
    /// Both GuCs' memirq registration matches the page's layout for their unit, and the page is
    /// enabled.
    pub memirq_ok: bool,
    /// SW_INT_0 left undelivered at the end: a byte still set in the page, or a GuC that fell
    /// back to its interrupt register.
    pub undelivered: bool,
    pub passes: u32,
    pub pm_refs: u32,
    /// Deepest boot-stack use below the scenario's frame: bootstrap, and the recovery (main loop,
    /// `run_worker`, crate, mock, hooks; no printing).
    pub bootstrap_stack: usize,
    pub recovery_stack: usize,
    /// Deepest IST1 use by the tile's MSI path (stub, fxsave, dispatcher, memirq handler).
    pub irq_stack: usize,
    pub log_high_water: usize,
    pub log_dropped: u32,
}

impl Outcome {
    /// Whether the run passed: every GT VF_RUNNING on the final GGTT base, nothing wedged, the
    /// memirq page registered with both GuCs, every interrupt delivered through it, the trace
    /// complete.
    pub fn passed(&self) -> bool {
        self.states.iter().all(|s| *s == VfState::Running)
            && !self.wedged
            && self.ggtt.iter().all(|g| *g == Some(GGTT_SECOND))
            && self.ggtt_valid.iter().all(|v| *v)
            && self.ggtt_users_ok
            && self.memirq_ok
            && !self.undelivered
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

/// Bootstraps the VF, registers its memirq page, runs migration 1 (the tile's MSI by `int`), the
/// recovery with migration 2 landing mid-pass (the MSI by the APIC timer), and returns what
/// happened. Call with interrupts disabled, after the IDT and the IRQ target are set up. `Err` =
/// could not even start (printed by the caller).
pub fn run() -> Result<Outcome, &'static str> {
    let info = |kind| {
let mut info = GtInfo::of(kind, GpuKind::Integrated, GraphicsIp::new(20, 4));
info.tile = TileId(0);
info.platform = PlatformClass::Newer;
info
};
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
        // The tile's page: the mocks write into it once the VF registered it (on hardware: the
        // page mapped at MEMIRQ_PAGE_GGTT in the VF's GGTT).
        for gt in 0..GTS as u8 {
            with_guc(gt, |g| g.attach_memirq(&MEMIRQ_PAGE.0, MEMIRQ_PAGE_GGTT));
        }
        let memirq = Memirq::new(&MEMIRQ_PAGE.0, MEMIRQ_PAGE_GGTT, GtId(0), Some(GtId(1)));
        match Vf::with_memirq(gts, hooks, PollingQueue::new(), RecoveryConfig::default(), memirq) {
            Ok(vf) => vf,
            Err(_) => {
                println!("FAIL: Vf::with_memirq");
                crate::qemu::fail()
            }
        }
    });

    // Bootstrap (VF_RESET, handshake, configuration) of both GTs and the memirq registration
    // (HOST2GUC_SELF_CFG, before CTB would be enabled), interrupts off.
    let sp = stack::current_sp();
    stack::repaint_boot_stack_below(sp);
    let boot_result = bootstrap(vf);
    let bootstrap_stack = depth_below(sp);
    flush_log();
    if let Err(error) = boot_result {
        println!("FAIL: bootstrap: {}", crate::serial::Chain(&error));
        return Err("bootstrap failed");
    }
    vf.memirq().enable();
    let registered: [MemirqRegistration; GTS] =
        core::array::from_fn(|gt| with_guc(gt as u8, |g| g.memirq_registration()));
    println!(
        "vf: memirq page at {:#x} (GGTT {MEMIRQ_PAGE_GGTT:#x}), enable mask {:#010x}, gt0 {:?}, gt1 {:?}",
        &MEMIRQ_PAGE as *const AlignedPage as usize,
        MEMIRQ_PAGE.0.enable_mask(),
        registered[0],
        registered[1]
    );
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
    let memirq_ok = MEMIRQ_PAGE.0.enable_mask() == xe_sriov_vf::wire::memirq::ENABLE
        && (0..GTS as u8).all(|gt| with_guc(gt, |g| g.memirq_registration()) == MemirqRegistration::Ok);
    let undelivered = (0..GTS as u8).any(|gt| {
        vf.memirq().sw_int0_pending(GtId(gt)) || !with_guc(gt, |g| g.pending_interrupts()).is_empty()
    });
    Ok(Outcome {
        vm_migrations: VM_MIGRATIONS.load(Ordering::Acquire),
        stats: vf.stats(),
        wedged: vf.is_wedged(),
        states,
        ggtt: core::array::from_fn(|gt| vf.gt_view(GtId(gt as u8)).and_then(|g| g.config).map(|c| c.ggtt_start)),
        ggtt_valid: core::array::from_fn(|gt| vf.ggtt_valid(GtId(gt as u8))),
        ggtt_users_ok: vf.hooks().ggtt_users.check(TileId(0), GGTT_SECOND).is_ok(),
        memirq_ok,
        undelivered,
        passes,
        pm_refs: vf.hooks().pm_refs.load(Ordering::Acquire),
        bootstrap_stack,
        recovery_stack,
        irq_stack,
        log_high_water,
        log_dropped,
    })
}

/// Bootstraps both GTs and registers the memirq page with both GuCs. Not inlined, so that its
/// frame (and the crate code inlined into it) lies below the stack pointer at which [`run`]
/// repainted the stack.
#[inline(never)]
fn bootstrap(vf: &GuestVf) -> Result<(), xe_sriov_vf::BootstrapError> {
    vf.bootstrap()?;
    vf.register_memirq()
}

/// Migration 1, then the main loop until the VF is idle; returns the number of passes. Not
/// inlined, for the same reason as [`bootstrap`].
#[inline(never)]
fn migrate_and_recover(vf: &GuestVf) -> Result<u32, &'static str> {
    // Migration 1: the host migrates the VM; both GuCs write SW_INT_0 into the page while the VM
    // is paused, and their MSIs (one vector) reach the resumed VM as one real interrupt.
    migrate_vm(1, GGTT_FIRST);
    interrupts::raise_sw_int(0);

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
        if MSI_IN_FLIGHT.load(Ordering::Acquire) {
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
