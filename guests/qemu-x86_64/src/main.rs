//! Bare-metal x86_64 guest for `xe-sriov-vf`, booted by `qemu-system-x86_64 -kernel` (PVH).
//!
//! Built for the host target (x86_64-unknown-linux-gnu) on stable Rust: no custom target, no
//! build-std, no heap. See `run.sh` for the build and boot command and `README.md` for the
//! design notes (PVH entry, IST stacks because of the red zone, exit codes).
//!
//! Module map:
//! - [`boot`]: PVH note, 32-bit trampoline, page tables, GDT, stacks, linker symbols.
//! - [`interrupts`]: TSS/IDT, assembly stubs, the dispatcher and its `&'static` target.
//! - [`apic`]: local APIC one-shot (and, for `live`, periodic) timer.
//! - [`migration`]: the crate in use: mock GuCs, the memirq page, the VF, the tile's MSI handler,
//!   the scenario (left out with the `baseline` feature, for the footprint comparison).
//! - [`serial`], [`qemu`], [`stack`], [`port`], [`mem`]: COM1, exit codes, stack watermarks,
//!   port I/O, mem* functions.
//! - `defmt_log` (feature `defmt`): the `#[defmt::global_logger]` on COM2 and the TSC timestamp;
//!   the crate's own log lines (its `defmt` feature) go there.
//! - `live`, `pci`, `tsc_clock` (feature `live`, instead of `migration`): the live-migration
//!   mode of `live-migrate.sh`: the VF's GuCs are GuC host processes behind the BAR of an
//!   ivshmem-plain PCI device, reached through `MmioBar` with a TSC clock calibrated against the
//!   APIC timer; QEMU migrates the guest between hosts (README, "Live migration").
#![no_std]
#![no_main]
// The byte-loop mem* functions in `mem` must not be compiled into calls to themselves.
#![no_builtins]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod apic;
pub mod boot;
#[cfg(feature = "defmt")]
pub mod defmt_log;
pub mod interrupts;
// The byte-loop mem* functions and `rust_eh_personality`, shared with the no_std proof.
#[path = "../../../nostd-proof/src/mem.rs"]
pub mod mem;
#[cfg(feature = "live")]
pub mod live;
#[cfg(not(any(feature = "baseline", feature = "live")))]
pub mod migration;
#[cfg(feature = "live")]
pub mod pci;
pub mod port;
pub mod qemu;
pub mod serial;
pub mod stack;
#[cfg(feature = "live")]
pub mod tsc_clock;

use core::sync::atomic::{AtomicU32, Ordering};

use interrupts::{IrqSource, IrqTarget, IRQ_TARGET, SW_INT_COUNT, SW_INT_LINES, TIMER_COUNT};

/// Reads the time-stamp counter.
pub fn rdtsc() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: `rdtsc` only reads the TSC (CR4.TSD is clear: ring 0 anyway).
    unsafe { core::arch::asm!("rdtsc", out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags)) };
    (hi as u64) << 32 | lo as u64
}

/// What the interrupt dispatcher calls (registered once in `IRQ_TARGET`): counts every line
/// for the self-tests and forwards the tile's MSI to [`migration`].
pub struct GuestIrq {
    sw_int_seen: [AtomicU32; SW_INT_LINES as usize],
    timer_seen: AtomicU32,
}

impl IrqTarget for GuestIrq {
    fn on_interrupt(&self, source: IrqSource) {
        match source {
            IrqSource::SwInt(line) => {
                if let Some(seen) = self.sw_int_seen.get(line as usize) {
                    seen.fetch_add(1, Ordering::Relaxed);
                }
                // Tile `line`'s MSI (its GuCs wrote into the memirq page): scan the page with
                // `Vf::handle_memirq`, wait-free, IF = 0, IST1.
                #[cfg(not(any(feature = "baseline", feature = "live")))]
                migration::on_tile_msi(line, migration::Via::SoftwareInt);
            }
            IrqSource::Msi => {
                // The live mode's ivshmem-doorbell MSI-X: the GuC host process's SW_INT_0.
                #[cfg(feature = "live")]
                live::on_msi();
            }
            IrqSource::ApicTimer => {
                self.timer_seen.fetch_add(1, Ordering::Relaxed);
                // The defmt build's self-test: a frame logged from interrupt context.
                #[cfg(feature = "defmt")]
                defmt_log::on_timer();
                // The "destination host" delivering the tile's MSI late, asynchronously.
                #[cfg(not(any(feature = "baseline", feature = "live")))]
                migration::on_timer();
                // The live-migration mode: the periodic scan of the memirq page in the BAR.
                #[cfg(feature = "live")]
                live::on_timer();
            }
        }
    }
}

static GUEST_IRQ: GuestIrq =
    GuestIrq { sw_int_seen: [const { AtomicU32::new(0) }; SW_INT_LINES as usize], timer_seen: AtomicU32::new(0) };

// ---------------------------------------------------------------------------------------------
// kmain
// ---------------------------------------------------------------------------------------------

const PVH_START_MAGIC: u32 = 0x336e_c578;

macro_rules! check {
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            println!("FAIL: {}", format_args!($($arg)+));
            qemu::fail();
        }
    };
}

/// Entered from the trampoline on the boot stack, in long mode, with interrupts disabled.
#[no_mangle]
pub extern "C" fn kmain(start_info_paddr: u64) -> ! {
    let t0 = rdtsc();
    serial::Serial::init();
    println!();
    println!("hello from xe-sriov-vf guest");
    #[cfg(feature = "defmt")]
    {
        defmt_log::init();
        defmt::info!("guest: defmt log on COM2, timestamps in TSC cycles");
        defmt_log::level_probes();
    }

    // The PVH start info (identity-mapped below 4 GiB).
    check!(start_info_paddr != 0 && start_info_paddr < 1 << 32, "no PVH start info (ebx = {start_info_paddr:#x})");
    // SAFETY: QEMU's PVH loader put an `hvm_start_info` (magic at offset 0) at this identity-
    // mapped physical address; we only read its first word.
    let magic = unsafe { core::ptr::read_volatile(start_info_paddr as *const u32) };
    check!(magic == PVH_START_MAGIC, "PVH start info magic {magic:#x}");
    println!("boot: PVH entry, start_info at {start_info_paddr:#x}, long mode, 4 GiB identity map");

    interrupts::init();
    interrupts::mask_legacy_pic();
    let apic_id = apic::init();
    println!("boot: IDT + TSS loaded (IST1 irq, IST2 exceptions), legacy PIC masked, LAPIC id {apic_id}");

    IRQ_TARGET.call_once(|| &GUEST_IRQ);

    selftest_software_interrupt();
    selftest_apic_timer();
    // The APIC timer fires in the middle of a frame begun with IF = 1 (see src/defmt_log.rs).
    #[cfg(feature = "defmt")]
    defmt_log::selftest_irq_during_frame();

    // The crate: 2 GTs on mock GuCs sharing a memirq page, migration 1's MSI by `int`, migration
    // 2 mid-recovery with its MSI by the APIC timer, recovery from this loop through the polling
    // queue (see src/migration.rs).
    // The live-migration mode: the GuCs are host processes behind a PCI BAR (src/live.rs).
    #[cfg(feature = "live")]
    live::run(t0);

    #[cfg(not(any(feature = "baseline", feature = "live")))]
    {
        let outcome = match migration::run() {
            Ok(outcome) => outcome,
            Err(why) => {
                println!("FAIL: {why}");
                qemu::fail()
            }
        };
        report(t0);
        println!(
            "stack: recovery path {} B below the scenario frame (bootstrap {} B), memirq MSI path (IST1) {} B",
            outcome.recovery_stack, outcome.bootstrap_stack, outcome.irq_stack
        );
        println!(
            "vf: {} passes, GGTT start gt0 {:#x} gt1 {:#x}, event log high water {} of 256",
            outcome.passes,
            outcome.ggtt[0].unwrap_or(0),
            outcome.ggtt[1].unwrap_or(0),
            outcome.log_high_water
        );
        println!(
            "ram: Vf<_, _, PollingQueue, 2, Memirq<_>> {} B (static spin::Once), MockGuc {} B each (static, .data), memirq page {} B (static, .bss)",
            core::mem::size_of::<migration::GuestVf>(),
            core::mem::size_of::<xe_sriov_vf::mock::MockGuc>(),
            core::mem::size_of::<migration::AlignedPage>()
        );
        let passed = outcome.passed();
        if !passed {
            println!("FAIL: not every GT is VF_RUNNING on the final GGTT base, or wedged, or memirq not registered, or a lost interrupt");
        }
        outcome.print_summary();
        #[cfg(feature = "defmt")]
        defmt::info!(
            "guest: end of run, {=u32} passes, {=u32} migrations, passed: {=bool}",
            outcome.passes,
            outcome.vm_migrations,
            passed
        );
        if passed {
            qemu::pass()
        }
        qemu::fail()
    }

    #[cfg(feature = "baseline")]
    {
        report(t0);
        qemu::pass()
    }
}

/// `int` on two software lines: the real IDT → stub → dispatcher → `IRQ_TARGET` path.
fn selftest_software_interrupt() {
    let before = SW_INT_COUNT.load(Ordering::Relaxed);
    interrupts::raise_sw_int(0);
    interrupts::raise_sw_int(1);
    interrupts::raise_sw_int(1);
    let fired = SW_INT_COUNT.load(Ordering::Relaxed) - before;
    let line0 = GUEST_IRQ.sw_int_seen[0].load(Ordering::Relaxed);
    let line1 = GUEST_IRQ.sw_int_seen[1].load(Ordering::Relaxed);
    check!(fired == 3 && line0 == 1 && line1 == 2, "software interrupts: fired {fired}, line0 {line0}, line1 {line1}");
    println!(
        "irq: software interrupt vectors {:#x}/{:#x} fired {fired} times (line0 {line0}, line1 {line1})",
        interrupts::SW_INT_BASE,
        interrupts::SW_INT_BASE + 1
    );
}

/// One-shot local APIC timer: the interrupt arrives asynchronously while a red-zone canary is
/// live below `rsp`; the canary must survive (IST).
fn selftest_apic_timer() {
    const COUNTS: u32 = 6_250; // x 16 ns = 100 us of virtual time
    let seen = TIMER_COUNT.load(Ordering::Relaxed);
    let t = rdtsc();
    apic::arm_oneshot(COUNTS);
    let (arrived, intact) = interrupts::redzone_survives_timer_irq(seen, 200_000_000);
    let cycles = rdtsc() - t;
    check!(arrived, "APIC timer interrupt did not arrive (current count {})", apic::current_count());
    check!(intact, "red zone clobbered by the APIC timer interrupt");
    let seen_reg = GUEST_IRQ.timer_seen.load(Ordering::Relaxed);
    check!(seen_reg == 1, "timer target saw {seen_reg} interrupts");
    println!(
        "irq: APIC timer vector {:#x} fired (one-shot {} us, {} TSC cycles to delivery); red zone intact",
        interrupts::TIMER_VECTOR,
        COUNTS as u64 * apic::NS_PER_COUNT / 1000,
        cycles
    );
}

pub(crate) fn report(t0: u64) {
    let s = boot::image_sizes();
    println!(
        "size: .text {} B, .rodata {} B, .data {} B, .bss {} B (+ stacks {} B), image {} B",
        s.text, s.rodata, s.data, s.bss, s.stacks, s.image
    );
    let b = stack::boot_stack();
    let i = stack::irq_stack();
    let e = stack::exception_stack();
    println!("stack: boot {} of {} B used, irq (IST1) {} of {} B, exceptions (IST2) {} of {} B", b.used, b.size, i.used, i.size, e.used, e.size);
    println!(
        "irq: counts sw {} timer {} spurious {}",
        SW_INT_COUNT.load(Ordering::Relaxed),
        TIMER_COUNT.load(Ordering::Relaxed),
        interrupts::SPURIOUS_COUNT.load(Ordering::Relaxed)
    );
    println!("done in {} TSC cycles", rdtsc() - t0);
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    interrupts::disable();
    println!("PANIC: {info}");
    qemu::fail()
}
