//! The live-migration mode (feature `live`, run by `live-migrate.sh`): the VF's GuCs are not in
//! this guest but in GuC host processes on the host, behind a PCI BAR.
//!
//! The guest finds the ivshmem device (PCI 1af4:1110, -doorbell or -plain) on bus 0, maps its
//! BAR2 (the shared memory the GuC host process also maps; layout in
//! `guests/guc-host/src/layout.rs`) and drives
//! both GTs' mailboxes through the crate's [`MmioBar`] with a [`TscClock`] calibrated against
//! the APIC timer, so mailbox timeouts are real timeouts. The tile's memirq page is in the same
//! BAR ([`MemirqMem`]); the GuC processes write SW_INT_0 into it. Interrupt: with
//! ivshmem-doorbell, MSI-X vector 0 of the device, raised by the GuC process (the ivshmem
//! server) after it wrote SW_INT_0, whose handler scans the page with [`Vf::handle_memirq`];
//! with ivshmem-plain (no MSI-X), the periodic local APIC timer's handler scans it. Recovery
//! runs from the main loop.
//!
//! QEMU migrates the guest A -> B (idle) and B -> C: the guest holds at `BeforeDone` of gt0 in
//! the first recovery pass until the script has started the migration and tells it to go on (or
//! until it finds itself on another host: the go word may not have been copied).
//! The guest records every mailbox message it sends and sees (the simulator's `--trace` lines,
//! each run under the letter of the host whose GuC process served it, read from the control
//! page at the doorbell) and prints them with the `summary:` line.

use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use xe_sriov_vf::device::{Device, Instant, Reg};
use xe_sriov_vf::gt::{GpuKind, GraphicsIp, Gt, GtInfo};
use xe_sriov_vf::mailbox::MailboxConfig;
use xe_sriov_vf::memirq::Memirq;
use xe_sriov_vf::mmio::{MemirqMem, MmioBar};
use xe_sriov_vf::mock::{GgttOracle, MailboxTap, VfState};
use xe_sriov_vf::wire::action::code;
use xe_sriov_vf::wire::regs::{GtKind, MailboxRegs};
use xe_sriov_vf::{
    GgttMove, GtId, HoldPoint, HookError, PollingQueue, RecoveryConfig, RecoveryHooks, TileId, Vf,
};

use crate::tsc_clock::{self, TscClock};
use crate::{apic, interrupts, pci, println};

#[path = "../../guc-host/src/layout.rs"]
mod layout;
#[path = "../../common/live_log.rs"]
mod live_log;
use live_log::{blackout_us, final_ggtt, Event, Log, Printer, Verdict};
use layout::{ctl, BAR_SIZE, CONTROL_OFFSET, MAGIC, MEMIRQ_GGTT, MEMIRQ_OFFSET};

const GTS: usize = 2;
/// VM migrations the script performs (A -> B, B -> C).
const MIGRATIONS: u32 = 2;
/// The memirq scan period: 12500 APIC counts = 200 us.
const SCAN_COUNTS: u32 = 12_500;
/// Bounds, on the calibrated clock.
const HOLD_TIMEOUT_NS: u64 = 30_000_000_000;
const RUN_TIMEOUT_NS: u64 = 100_000_000_000;

static BAR: spin::Once<MmioBar<TscClock>> = spin::Once::new();

fn bar() -> &'static MmioBar<TscClock> {
    BAR.get().expect("BAR mapped before the VF exists")
}

/// The control page word `word` (through the BAR).
fn control(word: usize) -> u32 {
    bar().read32(Reg((CONTROL_OFFSET + 4 * word) as u32))
}

/// The letter of the host whose GuC process serves the VF now.
fn host() -> u8 {
    control(ctl::HOST) as u8
}

// ---------------------------------------------------------------------------------------------
// The trace: what the VF sent and saw, recorded at the BAR.
// ---------------------------------------------------------------------------------------------

/// Each GT's mailbox traffic, as the mock's transcript rules define it.
static TAPS: spin::Mutex<[MailboxTap; GTS]> =
    spin::Mutex::new([MailboxTap::new(GtKind::Primary.mailbox()), MailboxTap::new(GtKind::Media.mailbox())]);

/// When the last accepted RESFIX_DONE came back (TSC ns).
static LAST_DONE_NS: AtomicU64 = AtomicU64::new(0);

/// GT `gt`'s registers in the BAR, every mailbox access recorded.
#[derive(Clone, Copy, Debug)]
pub struct TracedGt {
    gt: u8,
    regs: MailboxRegs,
}

impl Device for TracedGt {
    fn read32(&self, reg: Reg) -> u32 {
        let value = bar().read32(reg);
        interrupts::without_interrupts(|| {
            let mut taps = TAPS.lock();
            let tap = &mut taps[usize::from(self.gt)];
            let Some(reply) = tap.read(reg, value, now(), |n| bar().read32(self.regs.scratch(n))) else { return };
            if reply.msg.header() >> 28 == 0xF && tap.request_action() == code::RESFIX_DONE {
                LAST_DONE_NS.store(tsc_clock::now_ns(), Ordering::Relaxed);
            }
            log(Event::Trace { host: host(), gt: self.gt, entry: reply });
        });
        value
    }

    fn write32(&self, reg: Reg, value: u32) {
        interrupts::without_interrupts(|| {
            if let Some(request) = TAPS.lock()[usize::from(self.gt)].write(reg, value, now()) {
                log(Event::Trace { host: host(), gt: self.gt, entry: request });
            }
        });
        bar().write32(reg, value)
    }

    fn now(&self) -> Instant {
        bar().now()
    }

    fn relax(&self) {
        bar().relax()
    }
}

fn now() -> Instant {
    Instant(tsc_clock::now_ns())
}

// ---------------------------------------------------------------------------------------------
// The event log (fixed size, IRQ-safe), printed between passes.
// ---------------------------------------------------------------------------------------------

static LOG: spin::Mutex<Log<256>> = spin::Mutex::new(Log::new());
static PRINTER: Printer = Printer::new();

fn log(event: Event) {
    interrupts::without_interrupts(|| LOG.lock().push(event));
}

fn flush_log() {
    while let Some(event) = interrupts::without_interrupts(|| LOG.lock().pop()) {
        crate::print!("{}", PRINTER.lines(&event));
    }
}

// ---------------------------------------------------------------------------------------------
// The VF, its hooks and the interrupt.
// ---------------------------------------------------------------------------------------------

type LiveVf = Vf<TracedGt, LiveHooks, PollingQueue, GTS, Memirq<MemirqMem>>;
static VF: spin::Once<LiveVf> = spin::Once::new();

/// VM migrations seen (a SW_INT_0 from another host than the last one).
static MIGRATIONS_SEEN: AtomicU32 = AtomicU32::new(0);
static LAST_IRQ_HOST: AtomicU32 = AtomicU32::new(0);
/// First SW_INT_0 on the current host (TSC ns).
static SW_INT0_NS: AtomicU64 = AtomicU64::new(0);
/// A check failed on the way (printed when it did); the run fails at the end.
static FAILED_CHECK: AtomicBool = AtomicBool::new(false);

fn fail_later(why: &dyn core::fmt::Display) {
    println!("FAIL: {why}");
    FAILED_CHECK.store(true, Ordering::Release);
}

struct LiveHooks {
    ggtt_users: GgttOracle<1>,
    held: AtomicBool,
    hold_timed_out: AtomicBool,
    pm_refs: AtomicU32,
}

impl RecoveryHooks for LiveHooks {
    fn pm_get(&self) {
        self.pm_refs.fetch_add(1, Ordering::AcqRel);
    }
    fn pm_put(&self) {
        self.pm_refs.fetch_sub(1, Ordering::AcqRel);
    }
    fn ggtt_fixup(&self, tile: TileId, ggtt: GgttMove) -> Result<(), HookError> {
        log(Event::Ggtt { old: ggtt.old, new: ggtt.new });
        self.ggtt_users.fixup(tile, ggtt)
    }
    /// The first `BeforeDone` of gt0 (the first recovery pass, on host B): hold, tell the
    /// script, wait for its `go` (it starts the migration to C first). Worker context, the GT
    /// lock held, IF = 1: the memirq scan goes on meanwhile.
    fn hold(&self, point: HoldPoint, gt: GtId) {
        if point != HoldPoint::BeforeDone || gt != GtId(0) || self.held.swap(true, Ordering::AcqRel) {
            return;
        }
        let (go, here) = (control(ctl::GO), host());
        println!("hold: recovery pass at BeforeDone of gt0 on host {}, waiting for go", here as char);
        let t0 = tsc_clock::now_ns();
        // Go on at `go`, or when the VM is on another host already: the GuC process's write of
        // the go word is not in the memory QEMU copied when the VM froze before seeing it
        // (QEMU tracks only the guest's writes as dirty).
        while control(ctl::GO) == go && host() == here {
            if tsc_clock::now_ns().saturating_sub(t0) > HOLD_TIMEOUT_NS {
                self.hold_timed_out.store(true, Ordering::Release);
                break;
            }
            core::hint::spin_loop();
        }
        println!("hold: going on, on host {}", host() as char);
    }
}

/// Programs MSI-X entry 0 of the device (ivshmem-doorbell has MSI-X in BAR1; ivshmem-plain has
/// none) to [`interrupts::MSI_VECTOR`] on this CPU's local APIC and enables it. Returns whether
/// the device interrupts: then the memirq page is scanned on its MSI, else on the APIC timer.
fn setup_msix(dev: pci::Function) -> bool {
    let Some(cap) = pci::capability(dev, pci::CAP_MSIX) else {
        println!("irq: no MSI-X (ivshmem-plain): the periodic APIC timer scans the memirq page");
        return false;
    };
    let (bir, offset) = pci::msix_table(dev, cap);
    let Some(table) = pci::memory_bar(dev, bir).filter(|b| *b != 0 && *b < 1 << 32) else {
        fail("the MSI-X table's BAR is unassigned or above 4 GiB")
    };
    let entry = (table + u64::from(offset)) as *mut u32;
    let apic_id = apic::id();
    // SAFETY: entry 0 of the MSI-X table (16 bytes) in the device's BAR, identity-mapped
    // uncached (the 4th GiB); 32-bit accesses as the PCI spec requires.
    unsafe {
        entry.write_volatile(0xFEE0_0000 | apic_id << 12); // message address: this LAPIC
        entry.add(1).write_volatile(0);
        entry.add(2).write_volatile(u32::from(interrupts::MSI_VECTOR)); // fixed, edge
        entry.add(3).write_volatile(0); // unmasked
    }
    pci::msix_enable(dev, cap);
    println!(
        "irq: ivshmem-doorbell MSI-X (table in BAR{bir} at {table:#x} + {offset:#x}): vector {:#x} to LAPIC {apic_id}; the GuC host process raises it after writing SW_INT_0",
        interrupts::MSI_VECTOR
    );
    true
}

/// IRQ context (IST1, IF = 0): the device's MSI-X: the GuC host process wrote SW_INT_0 into
/// the memirq page. Scans it.
pub fn on_msi() {
    scan(Via::Msi);
}

/// IRQ context (IST1, IF = 0): the periodic APIC timer (no MSI-X). Scans the memirq page.
pub fn on_timer() {
    scan(Via::Timer);
}

/// How the scan was started.
#[derive(Clone, Copy, Debug)]
enum Via {
    Msi,
    Timer,
}

fn scan(via: Via) {
    let Some(vf) = VF.get() else { return };
    let during_pass = vf.coordinator().is_running();
    let report = vf.handle_memirq();
    // Every MSI is logged (an empty scan too: the interrupt came); a timer tick only with news.
    if report.sw_int0.is_empty() && report.guc2host.is_empty() && report.garbage == 0 && matches!(via, Via::Timer) {
        return;
    }
    let h = host();
    if !report.sw_int0.is_empty() && LAST_IRQ_HOST.swap(u32::from(h), Ordering::AcqRel) != u32::from(h) {
        MIGRATIONS_SEEN.fetch_add(1, Ordering::AcqRel);
        SW_INT0_NS.store(tsc_clock::now_ns(), Ordering::Release);
    }
    let via = match via {
        Via::Msi => "MSI-X",
        Via::Timer => "APIC timer",
    };
    log(Event::Irq { host: h, via, report, during_pass });
}

// ---------------------------------------------------------------------------------------------
// The scenario.
// ---------------------------------------------------------------------------------------------

fn fail(why: &str) -> ! {
    flush_log();
    println!("FAIL: {why}");
    crate::qemu::fail()
}

/// Runs the live-migration scenario; exits QEMU (pass or fail).
pub fn run(t0: u64) -> ! {
    let per_ms = tsc_clock::calibrate(10);
    println!("clock: TSC {per_ms} cycles/ms, calibrated over 10 ms of the APIC timer");

    let Some(dev) = pci::find(0x1AF4, 0x1110) else { fail("no ivshmem-plain device (1af4:1110) on bus 0") };
    let Some(base) = pci::memory_bar(dev, 2) else { fail("ivshmem BAR2 is not a memory BAR") };
    if base == 0 || base + BAR_SIZE as u64 > 1 << 32 {
        fail("ivshmem BAR2 unassigned or above the 4 GiB identity map");
    }
    pci::enable_memory(dev);
    // SAFETY: BAR2 of the ivshmem device, BAR_SIZE bytes at `base` (assigned by the firmware,
    // inside the 4th GiB that the trampoline identity-maps uncached), valid for the guest's
    // lifetime; no Rust reference covers it.
    let mapped = unsafe { MmioBar::new(base as *mut u8, BAR_SIZE, TscClock) };
    let Ok(mapped) = mapped else { fail("MmioBar::new refused BAR2") };
    BAR.call_once(|| mapped);
    println!("pci: ivshmem (1af4:1110) at 00:{:02x}.{}, BAR2 {base:#x} ({} KiB), mapped through MmioBar", dev.device, dev.function, BAR_SIZE >> 10);
    let waited = tsc_clock::now_ns();
    while control(ctl::MAGIC) != MAGIC {
        if tsc_clock::now_ns().saturating_sub(waited) > 5_000_000_000 {
            fail("no GuC host process laid out the BAR");
        }
        core::hint::spin_loop();
    }
    let first_host = host();
    println!("bar: GuC host process {} serves the VF", first_host as char);
    let msix = setup_msix(dev);

    // SAFETY: the memirq page lies inside the BAR mapping (MEMIRQ_OFFSET + 4 KiB <= BAR_SIZE),
    // which stays mapped; only volatile accesses touch it.
    let page = unsafe { MemirqMem::new(NonNull::new_unchecked((base as usize + MEMIRQ_OFFSET) as *mut u8)) };
    let Ok(page) = page else { fail("memirq page misaligned") };
    // Graphics IP 20.04 (Lunar Lake): PlatformClass::Newer, tile 0.
    let info = |kind| GtInfo::of(kind, GpuKind::Integrated, GraphicsIp::new(20, 4));
    let vf = VF.call_once(|| {
        let gts = [
            Gt::new(TracedGt { gt: 0, regs: GtKind::Primary.mailbox() }, info(GtKind::Primary), MailboxConfig::default()),
            Gt::new(TracedGt { gt: 1, regs: GtKind::Media.mailbox() }, info(GtKind::Media), MailboxConfig::default()),
        ];
        let hooks = LiveHooks {
            ggtt_users: GgttOracle::new(),
            held: AtomicBool::new(false),
            hold_timed_out: AtomicBool::new(false),
            pm_refs: AtomicU32::new(0),
        };
        let memirq = Memirq::new(page, MEMIRQ_GGTT, GtId(0), Some(GtId(1)));
        match Vf::with_memirq(gts, hooks, PollingQueue::new(), RecoveryConfig::default(), memirq) {
            Ok(vf) => vf,
            Err(_) => fail("Vf::with_memirq"),
        }
    });

    if let Err(e) = vf.bootstrap().and_then(|()| vf.register_memirq()) {
        flush_log();
        println!("FAIL: bootstrap: {}", crate::serial::Chain(&e));
        crate::qemu::fail()
    }
    vf.memirq().enable();
    flush_log();
    let Some(boot_ggtt) = vf.tile_ggtt(TileId(0)) else { fail("no GGTT after bootstrap") };
    let boot_base = boot_ggtt.applied;
    vf.hooks().ggtt_users.place(TileId(0), boot_base);
    LAST_IRQ_HOST.store(u32::from(first_host), Ordering::Release);
    println!("ready: bootstrap and memirq registration done on host {}, GGTT base {:#x}", first_host as char, boot_base);

    if !msix {
        apic::start_periodic(SCAN_COUNTS);
    }
    let start = tsc_clock::now_ns();
    let mut passes = 0;
    // The host whose migration's recovery was timed last.
    let mut timed_host = first_host;
    loop {
        interrupts::enable();
        while vf.queue().take() {
            passes += 1;
            let outcome = vf.run_worker();
            log(Event::Pass { n: passes, outcome });
        }
        interrupts::disable();
        flush_log();
        let idle = !vf.queue().is_pending()
            && !vf.coordinator().is_running()
            && !vf.memirq().sw_int0_pending(GtId(0))
            && !vf.memirq().sw_int0_pending(GtId(1));
        let irq_host = LAST_IRQ_HOST.load(Ordering::Acquire) as u8;
        let (sw_int0, done) = (SW_INT0_NS.load(Ordering::Acquire), LAST_DONE_NS.load(Ordering::Relaxed));
        if idle && irq_host != timed_host && done > sw_int0 {
            // The recovery from the migration to `irq_host` is over (a migration that landed
            // inside the previous recovery is timed from its own SW_INT_0).
            timed_host = irq_host;
            println!("recovered: on host {}, SW_INT_0 -> last accepted RESFIX_DONE {} us", irq_host as char, (done - sw_int0) / 1000);
            // The oracle after every recovery: each GGTT user at the base the GuC now reports.
            let base = vf.gt_view(GtId(0)).and_then(|g| g.config).map_or(0, |c| c.ggtt_start);
            match vf.hooks().ggtt_users.check(TileId(0), base) {
                Ok(()) => println!("oracle: every GGTT user at {base:#x}, the base GuC {} reports", irq_host as char),
                Err(e) => fail_later(&e),
            }
        }
        if idle && MIGRATIONS_SEEN.load(Ordering::Acquire) >= MIGRATIONS && timed_host == host() {
            break;
        }
        if tsc_clock::now_ns().saturating_sub(start) > RUN_TIMEOUT_NS {
            fail("the migrations did not come (run timeout)");
        }
        interrupts::enable_and_wait();
        interrupts::disable();
    }

    // The verdict.
    crate::report(t0);
    let stats = vf.stats();
    let wedged = vf.is_wedged();
    let states: [Option<VfState>; GTS] =
        core::array::from_fn(|gt| VfState::ALL.get(control(ctl::STATE0 + gt) as usize).copied());
    let (final_base, ggtt_ok) = final_ggtt(vf, &vf.hooks().ggtt_users);
    let dropped = interrupts::without_interrupts(|| LOG.lock().dropped());
    // The simulator's last field: the last migration's blackout, the maximum over the GTs (the
    // last GT's RESFIX_DONE), here on the guest's calibrated clock from the SW_INT_0 it took.
    let (sw_int0, done) = (SW_INT0_NS.load(Ordering::Acquire), LAST_DONE_NS.load(Ordering::Relaxed));
    crate::print!(
        "{}",
        Verdict {
            passes,
            first_host,
            host: host(),
            final_base,
            stats,
            pm_refs: vf.hooks().pm_refs.load(Ordering::Acquire),
            dropped,
            migrations: MIGRATIONS_SEEN.load(Ordering::Acquire),
            wedged,
            states: &states,
            ggtt_ok,
            blackout_us: blackout_us(sw_int0, done),
        }
    );
    let passed = !wedged
        && ggtt_ok
        && final_base != boot_base
        && states.iter().all(|s| *s == Some(VfState::Running))
        && stats.failed == 0
        && dropped == 0
        && vf.hooks().pm_refs.load(Ordering::Acquire) == 0
        && !vf.hooks().hold_timed_out.load(Ordering::Acquire)
        && vf.hooks().held.load(Ordering::Acquire)
        && !FAILED_CHECK.load(Ordering::Acquire);
    if passed {
        crate::qemu::pass()
    }
    println!("FAIL: wedged, a stale GGTT user, a GT not VF_RUNNING, a failed pass, a lost trace entry or the hold timed out");
    crate::qemu::fail()
}
