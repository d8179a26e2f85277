//! Scenarios 2 and 3: the VF's GuCs are GuC host processes (`guests/guc-host`) behind the BAR of
//! QEMU's ivshmem device, as in the bare-metal guest's live mode (`guests/qemu-x86_64`,
//! feature `live`), driven here from an OSTD kernel with no `unsafe`:
//!
//! - the device is found through ECAM (`pci`), BAR2 (the shared memory, above 4 GiB where OVMF
//!   puts it) is mapped with `IoMem::acquire` and both GTs' mailboxes are driven through the
//!   crate's `Device` on it (`bar::IoMemDevice`), wrapped by [`TracedGt`] only to record the
//!   simulator's `--trace` lines;
//! - the tile's memirq page is a 4 KiB `IoMem` slice of the BAR (`memirq_page::IoMemPage`),
//!   registered with both GuCs (HOST2GUC_SELF_CFG), written by the GuC processes;
//! - SW_INT_0 arrives by MSI-X: the kernel programs entry 0 of the ivshmem-doorbell MSI-X table
//!   (BAR1, mapped with `IoMem`) with the vector of an OSTD `IrqLine`, whose callback scans the
//!   page with `Vf::handle_memirq`; on ivshmem-plain (no MSI-X) OSTD's 1 kHz timer callback
//!   scans it instead;
//! - the recovery runs from the main loop; a GGTT oracle checks every GGTT user after each one.
//!
//! `xe.migrations=N` on the kernel command line says how many VM migrations the run waits for
//! (default 1, scenario 2: the GuC process plays one migration in place); with 2 (scenario 3,
//! QEMU migrates the kernel A -> B -> C) the first recovery pass holds at `BeforeDone` of gt0
//! until the script has started the second migration and tells it to go on; with `xe.hold=moved`
//! until the VM is on C (QEMU freezes it inside the pass).

use alloc::boxed::Box;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use ostd::io::IoMem;
use ostd::irq::IrqLine;
use ostd::mm::{HasSize, VmIoOnce};
use ostd::sync::SpinLock;
use xe_sriov_vf::device::{Device, Instant, Reg};
use xe_sriov_vf::gt::{GpuKind, GraphicsIp, Gt, GtInfo};
use xe_sriov_vf::mailbox::MailboxConfig;
use xe_sriov_vf::memirq::Memirq;
use xe_sriov_vf::mock::{GgttOracle, MailboxTap, VfState};
use xe_sriov_vf::wire::action::code;
use xe_sriov_vf::wire::regs::{GtKind, MailboxRegs};
use xe_sriov_vf::{
    GgttMove, GtId, HoldPoint, HookError, PollingQueue, RecoveryConfig, RecoveryHooks, TileId, Vf,
};

use crate::bar::IoMemDevice;
use crate::memirq_page::IoMemPage;
use crate::{clock, pci};

#[path = "../../guc-host/src/layout.rs"]
mod layout;
#[path = "../../common/live_log.rs"]
mod live_log;
use layout::{ctl, BAR_SIZE, CONTROL_OFFSET, MAGIC, MEMIRQ_GGTT, MEMIRQ_OFFSET};
use live_log::{blackout_us, final_ggtt, Event, Log, Printer, Verdict};

const GTS: usize = 2;
/// Bounds, on the TSC clock.
const HOLD_TIMEOUT_NS: u64 = 30_000_000_000;
const RUN_TIMEOUT_NS: u64 = 100_000_000_000;
const LAYOUT_TIMEOUT_NS: u64 = 5_000_000_000;

static BAR: spin::Once<IoMemDevice> = spin::Once::new();

fn bar() -> Option<&'static IoMemDevice> {
    BAR.get()
}

/// The control page word `word` (all ones before the BAR is mapped).
fn control(word: usize) -> u32 {
    bar().map_or(u32::MAX, |b| {
        b.read32(Reg((CONTROL_OFFSET + 4 * word) as u32))
    })
}

/// The letter of the host whose GuC process serves the VF now.
fn host() -> u8 {
    control(ctl::HOST) as u8
}

// ---------------------------------------------------------------------------------------------
// The trace: what the VF sent and saw, recorded at the BAR.
// ---------------------------------------------------------------------------------------------

/// Each GT's mailbox traffic, as the mock's transcript rules define it.
static TAPS: SpinLock<[MailboxTap; GTS]> = SpinLock::new([
    MailboxTap::new(GtKind::Primary.mailbox()),
    MailboxTap::new(GtKind::Media.mailbox()),
]);

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
        let Some(bar) = bar() else { return u32::MAX };
        let value = bar.read32(reg);
        let mut taps = TAPS.disable_irq().lock();
        let tap = &mut taps[usize::from(self.gt)];
        if let Some(reply) = tap.read(reg, value, clock::now(), |n| {
            bar.read32(self.regs.scratch(n))
        }) {
            if reply.msg.header() >> 28 == 0xF && tap.request_action() == code::RESFIX_DONE {
                LAST_DONE_NS.store(clock::now_ns(), Ordering::Relaxed);
            }
            log(Event::Trace {
                host: host(),
                gt: self.gt,
                entry: reply,
            });
        }
        value
    }

    fn write32(&self, reg: Reg, value: u32) {
        let Some(bar) = bar() else { return };
        let request =
            TAPS.disable_irq().lock()[usize::from(self.gt)].write(reg, value, clock::now());
        if let Some(request) = request {
            log(Event::Trace {
                host: host(),
                gt: self.gt,
                entry: request,
            });
        }
        bar.write32(reg, value)
    }

    fn now(&self) -> Instant {
        clock::now()
    }

    fn relax(&self) {
        core::hint::spin_loop();
    }
}

// ---------------------------------------------------------------------------------------------
// The event log (fixed size, locked with local IRQs off), printed between passes.
// ---------------------------------------------------------------------------------------------

static LOG: SpinLock<Log<256>> = SpinLock::new(Log::new());
static PRINTER: Printer = Printer::new();

fn log(event: Event) {
    LOG.disable_irq().lock().push(event);
}

fn flush_log() {
    loop {
        let Some(event) = LOG.disable_irq().lock().pop() else {
            break;
        };
        print!("{}", PRINTER.lines(&event));
    }
}

// ---------------------------------------------------------------------------------------------
// The VF, its hooks and the interrupt.
// ---------------------------------------------------------------------------------------------

type LiveVf = Vf<TracedGt, LiveHooks, PollingQueue, GTS, Memirq<IoMemPage>>;
static VF: spin::Once<LiveVf> = spin::Once::new();

/// VM migrations seen: a SW_INT_0 from another host than the last one, or one that finds the
/// VF idle (a migration played in place by the same GuC process).
static MIGRATIONS_SEEN: AtomicU32 = AtomicU32::new(0);
static LAST_IRQ_HOST: AtomicU32 = AtomicU32::new(0);
/// First SW_INT_0 of the current migration (TSC ns).
static SW_INT0_NS: AtomicU64 = AtomicU64::new(0);
/// A check failed on the way (printed when it did); the run fails at the end.
static FAILED_CHECK: AtomicBool = AtomicBool::new(false);

struct LiveHooks {
    ggtt_users: GgttOracle<1>,
    /// Hold in the first recovery pass (scenario 3).
    hold_wanted: bool,
    /// Hold until the VM is on another host (the script's go word does not end it): QEMU then
    /// freezes the VM inside the pass.
    hold_until_moved: bool,
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
        log(Event::Ggtt {
            old: ggtt.old,
            new: ggtt.new,
        });
        self.ggtt_users.fixup(tile, ggtt)
    }
    /// Scenario 3, the first `BeforeDone` of gt0 (the first recovery pass, on host B): hold,
    /// tell the script, wait for its `go` (it starts the migration to C first), or until the
    /// VM is on another host already, or 30 s. With `hold_until_moved` only the move (or the
    /// 30 s) ends it: QEMU stops the VM at this point of the pass and it goes on, on C. Task
    /// context, the GT lock held, IRQs on: the MSI-X handler runs meanwhile.
    fn hold(&self, point: HoldPoint, gt: GtId) {
        if !self.hold_wanted
            || point != HoldPoint::BeforeDone
            || gt != GtId(0)
            || self.held.swap(true, Ordering::AcqRel)
        {
            return;
        }
        let (go, here) = (control(ctl::GO), host());
        println!(
            "hold: recovery pass at BeforeDone of gt0 on host {}, waiting for {}",
            here as char,
            if self.hold_until_moved {
                "the VM to move (go is ignored)"
            } else {
                "go"
            }
        );
        let t0 = clock::now_ns();
        while (self.hold_until_moved || control(ctl::GO) == go) && host() == here {
            if clock::now_ns().saturating_sub(t0) > HOLD_TIMEOUT_NS {
                self.hold_timed_out.store(true, Ordering::Release);
                break;
            }
            core::hint::spin_loop();
        }
        println!("hold: going on, on host {}", host() as char);
    }
}

/// How the scan was started.
#[derive(Clone, Copy, Debug)]
enum Via {
    Msi,
    Timer,
    /// The main loop, after SW_INT_0 sat in the page for [`LOST_IRQ_NS`] with no interrupt:
    /// a lost interrupt, which fails the run (but lets it show what followed).
    MainLoop,
}

/// How long SW_INT_0 may sit in the memirq page, no pass running or queued, before the main
/// loop calls the interrupt lost.
const LOST_IRQ_NS: u64 = 1_000_000_000;

/// IRQ context: scans the memirq page (wait-free: the page's bytes, the coordinator's atomics).
fn scan(via: Via) {
    let Some(vf) = VF.get() else { return };
    let during_pass = vf.coordinator().is_running();
    let idle = !during_pass && !vf.queue().is_pending();
    let report = vf.handle_memirq();
    if report.sw_int0.is_empty()
        && report.guc2host.is_empty()
        && report.garbage == 0
        && matches!(via, Via::Timer)
    {
        return;
    }
    let h = host();
    if !report.sw_int0.is_empty() {
        let moved = LAST_IRQ_HOST.swap(u32::from(h), Ordering::AcqRel) != u32::from(h);
        if moved || idle {
            MIGRATIONS_SEEN.fetch_add(1, Ordering::AcqRel);
            SW_INT0_NS.store(clock::now_ns(), Ordering::Release);
        }
    }
    let via = match via {
        Via::Msi => "MSI-X",
        Via::Timer => "APIC timer",
        Via::MainLoop => "main-loop (no interrupt came for 1 s: LOST)",
    };
    log(Event::Irq {
        host: h,
        via,
        report,
        during_pass,
    });
}

/// Programs MSI-X entry 0 of the device (ivshmem-doorbell: table in BAR1) with the vector of a
/// fresh OSTD `IrqLine` whose callback scans the memirq page, and enables MSI-X. `Ok(false)`:
/// the device has no MSI-X (ivshmem-plain); then OSTD's timer callback scans the page.
fn setup_irq(dev: &pci::Function) -> Result<bool, &'static str> {
    let Some(cap) = dev.capability(pci::CAP_MSIX) else {
        println!(
            "irq: no MSI-X (ivshmem-plain): OSTD's timer callback (the local APIC timer, 1 kHz) scans the memirq page"
        );
        ostd::timer::register_callback_on_cpu(|| scan(Via::Timer));
        return Ok(false);
    };
    let (bir, offset, entries) = dev.msix_table(cap);
    let (table_bar, table_size) = dev
        .memory_bar(bir)
        .map_err(|_| "the MSI-X table's BAR is not an assigned memory BAR")?;
    let table_bar = table_bar as usize;
    let table = IoMem::acquire(table_bar..table_bar + table_size as usize)
        .map_err(|_| "IoMem::acquire refused the MSI-X BAR")?;
    let mut line = IrqLine::alloc().map_err(|_| "IrqLine::alloc failed")?;
    if line.remapping_index().is_some() {
        return Err(
            "interrupt remapping is on: this kernel programs only remapping-free MSI messages",
        );
    }
    line.on_active(|_| scan(Via::Msi));
    let vector = line.num();
    // Keep the line (dropping it unregisters the callback).
    let _: &'static IrqLine = Box::leak(Box::new(line));
    // Entry 0: message address (the BSP's local APIC, ID 0: one CPU), data (the vector, fixed,
    // edge), vector control 0 (unmasked). 32-bit accesses, as the PCI spec requires.
    let e = offset as usize;
    let writes = [
        (e, 0xFEE0_0000u32),
        (e + 4, 0),
        (e + 8, u32::from(vector)),
        (e + 12, 0),
    ];
    for (off, value) in writes {
        table
            .write_once::<u32>(off, &value)
            .map_err(|_| "the MSI-X table entry is outside BAR1")?;
    }
    dev.msix_enable(cap);
    println!(
        "irq: ivshmem-doorbell MSI-X ({entries} entries, table in BAR{bir} at {table_bar:#x} + {offset:#x}, mapped with IoMem): entry 0 -> vector {vector} of an OSTD IrqLine, LAPIC 0; the GuC host process raises it after writing SW_INT_0"
    );
    Ok(true)
}

// ---------------------------------------------------------------------------------------------
// The scenario.
// ---------------------------------------------------------------------------------------------

fn fail(why: &str) -> bool {
    flush_log();
    println!("FAIL: {why}");
    false
}

/// Runs the BAR scenario, waiting for `migrations` VM migrations (with 2 or more, the first
/// recovery pass holds at `BeforeDone` of gt0, until the VM moved if `hold_until_moved`); true
/// when it passed.
pub fn run(dev: pci::Function, migrations: u32, hold_until_moved: bool) -> bool {
    println!(
        "clock: TSC {} cycles/ms (OSTD's tsc_freq)",
        clock::cycles_per_ms()
    );
    let (base, size) = match dev.memory_bar(2) {
        Ok(b) => b,
        Err(e) => return fail(&alloc::format!("ivshmem BAR2: {e}")),
    };
    if (size as usize) < BAR_SIZE {
        return fail("ivshmem BAR2 is smaller than the layout");
    }
    dev.enable_memory_and_master();
    let Ok(mem) = IoMem::acquire(base as usize..(base + size) as usize) else {
        return fail("IoMem::acquire refused BAR2");
    };
    println!(
        "pci: ivshmem (1af4:1110) at 00:{:02x}.{} through ECAM, BAR2 {base:#x} ({} KiB), mapped with IoMem::acquire ({} bytes)",
        dev.device,
        dev.function,
        size >> 10,
        mem.size()
    );
    let Some(page) = IoMemPage::new(&mem, MEMIRQ_OFFSET) else {
        return fail("memirq page outside BAR2");
    };
    BAR.call_once(|| IoMemDevice::new(mem));
    let t = clock::now_ns();
    while control(ctl::MAGIC) != MAGIC {
        if clock::now_ns().saturating_sub(t) > LAYOUT_TIMEOUT_NS {
            return fail("no GuC host process laid out the BAR");
        }
        core::hint::spin_loop();
    }
    let first_host = host();
    println!("bar: GuC host process {} serves the VF", first_host as char);
    let msix = match setup_irq(&dev) {
        Ok(m) => m,
        Err(e) => return fail(e),
    };

    // Graphics IP 20.04 (Lunar Lake): PlatformClass::Newer, tile 0.
    let info = |kind| GtInfo::of(kind, GpuKind::Integrated, GraphicsIp::new(20, 4));
    let gts = [
        Gt::new(
            TracedGt {
                gt: 0,
                regs: GtKind::Primary.mailbox(),
            },
            info(GtKind::Primary),
            MailboxConfig::default(),
        ),
        Gt::new(
            TracedGt {
                gt: 1,
                regs: GtKind::Media.mailbox(),
            },
            info(GtKind::Media),
            MailboxConfig::default(),
        ),
    ];
    let hooks = LiveHooks {
        ggtt_users: GgttOracle::new(),
        hold_wanted: migrations >= 2,
        hold_until_moved,
        held: AtomicBool::new(false),
        hold_timed_out: AtomicBool::new(false),
        pm_refs: AtomicU32::new(0),
    };
    let memirq = Memirq::new(page, MEMIRQ_GGTT, GtId(0), Some(GtId(1)));
    let built = match Vf::with_memirq(
        gts,
        hooks,
        PollingQueue::new(),
        RecoveryConfig::default(),
        memirq,
    ) {
        Ok(vf) => vf,
        Err(e) => return fail(&alloc::format!("Vf::with_memirq: {e:?}")),
    };
    let vf = VF.call_once(|| built);

    if let Err(e) = vf.bootstrap().and_then(|()| vf.register_memirq()) {
        flush_log();
        println!("FAIL: bootstrap: {}", crate::Chain(&e));
        return false;
    }
    vf.memirq().enable();
    flush_log();
    let Some(boot_ggtt) = vf.tile_ggtt(TileId(0)) else {
        return fail("no GGTT after bootstrap");
    };
    let boot_base = boot_ggtt.applied;
    vf.hooks().ggtt_users.place(TileId(0), boot_base);
    LAST_IRQ_HOST.store(u32::from(first_host), Ordering::Release);
    println!(
        "ready: bootstrap and memirq registration done on host {}, GGTT base {:#x}, waiting for {migrations} migration(s), SW_INT_0 by {}",
        first_host as char,
        boot_base,
        if msix { "MSI-X" } else { "the timer's scan" }
    );

    let start = clock::now_ns();
    let mut passes = 0;
    let mut timed = 0;
    let mut unreported_since: Option<u64> = None;
    loop {
        while vf.queue().take() {
            passes += 1;
            let outcome = vf.run_worker();
            log(Event::Pass { n: passes, outcome });
        }
        flush_log();
        let idle = !vf.queue().is_pending()
            && !vf.coordinator().is_running()
            && !vf.memirq().sw_int0_pending(GtId(0))
            && !vf.memirq().sw_int0_pending(GtId(1));
        let seen = MIGRATIONS_SEEN.load(Ordering::Acquire);
        let (sw_int0, done) = (
            SW_INT0_NS.load(Ordering::Acquire),
            LAST_DONE_NS.load(Ordering::Relaxed),
        );
        if idle && seen > timed && done > sw_int0 {
            timed = seen;
            let h = host();
            println!(
                "recovered: on host {}, SW_INT_0 -> last accepted RESFIX_DONE {} us",
                h as char,
                (done - sw_int0) / 1000
            );
            let base = vf
                .gt_view(GtId(0))
                .and_then(|g| g.config)
                .map_or(0, |c| c.ggtt_start);
            match vf.hooks().ggtt_users.check(TileId(0), base) {
                Ok(()) => println!(
                    "oracle: every GGTT user at {base:#x}, the base GuC {} reports",
                    h as char
                ),
                Err(e) => {
                    println!("FAIL: {e}");
                    FAILED_CHECK.store(true, Ordering::Release);
                }
            }
        }
        if idle && timed >= migrations {
            break;
        }
        if clock::now_ns().saturating_sub(start) > RUN_TIMEOUT_NS {
            return fail("the migrations did not come (run timeout)");
        }
        // Wait a little (bounded) for an interrupt; IRQs are on in task context.
        let t = clock::now_ns();
        while !vf.queue().is_pending() && clock::now_ns().saturating_sub(t) < 1_000_000 {
            core::hint::spin_loop();
        }
        // A SW_INT_0 in the page that no interrupt reported: after 1 s, say so and scan here.
        let set = vf.memirq().sw_int0_pending(GtId(0)) || vf.memirq().sw_int0_pending(GtId(1));
        if set && !vf.coordinator().is_running() && !vf.queue().is_pending() {
            let since = *unreported_since.get_or_insert(clock::now_ns());
            if clock::now_ns().saturating_sub(since) > LOST_IRQ_NS {
                FAILED_CHECK.store(true, Ordering::Release);
                scan(Via::MainLoop);
                unreported_since = None;
            }
        } else {
            unreported_since = None;
        }
    }

    // The verdict.
    let stats = vf.stats();
    let wedged = vf.is_wedged();
    let states: [Option<VfState>; GTS] = core::array::from_fn(|gt| {
        VfState::ALL
            .get(control(ctl::STATE0 + gt) as usize)
            .copied()
    });
    let (final_base, ggtt_ok) = final_ggtt(vf, &vf.hooks().ggtt_users);
    let dropped = LOG.disable_irq().lock().dropped();
    let (sw_int0, done) = (
        SW_INT0_NS.load(Ordering::Acquire),
        LAST_DONE_NS.load(Ordering::Relaxed),
    );
    print!(
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
    let hooks = vf.hooks();
    let passed = !wedged
        && ggtt_ok
        && final_base != boot_base
        && states.iter().all(|s| *s == Some(VfState::Running))
        && stats.failed == 0
        && dropped == 0
        && hooks.pm_refs.load(Ordering::Acquire) == 0
        && !hooks.hold_timed_out.load(Ordering::Acquire)
        && hooks.held.load(Ordering::Acquire) == hooks.hold_wanted
        && !FAILED_CHECK.load(Ordering::Acquire);
    if !passed {
        println!("FAIL: wedged, a stale GGTT user, a GGTT base that did not move, a GT not VF_RUNNING, a failed pass, a lost trace entry, a lost interrupt or the hold");
    }
    passed
}
