//! The defmt build (feature `defmt`): a `#[defmt::global_logger]` that sends rzCOBS-encoded
//! defmt frames to COM2 (16550 UART at I/O port 0x2F8; run.sh `--defmt` gives QEMU a second
//! `-serial file:...` for it and decodes that file on the host with `defmt-print`), and
//! `defmt::timestamp!` from the TSC. COM1 (trace, summary) is untouched.
//!
//! # Interrupts
//!
//! defmt writes one log frame between `acquire` and `release`, in several `write` calls, through
//! one shared [`defmt::Encoder`]. If an interrupt handler logged while thread context was in the
//! middle of a frame, the two frames would interleave on the wire (and the encoder's state would be
//! corrupted). So, as embedded loggers do (`critical_section` in defmt-rtt), `acquire` saves RFLAGS
//! and masks interrupts (`cli`), and `release` restores IF as it was: a frame is never interrupted
//! on this single CPU, and an interrupt that arrives meanwhile is taken right after the frame.
//! The crate itself logs nothing from its interrupt entry (`Vf::handle_memirq`, `Vf::migrated`,
//! `Coordinator::signal`); this guest's own MSI handler does log (see `migration::on_tile_msi`),
//! which is what an embedder's handler might do.
//!
//! Re-entry with interrupts masked (an exception or NMI handler that logs in the middle of a
//! frame) is caught and panics, as the `Logger` contract asks; the panic handler prints on COM1.
//!
//! [`selftest_irq_during_frame`] proves the masking: a frame begun with IF = 1 arms the APIC timer
//! and waits, inside the frame, until it has expired; its handler (which logs) must run after that frame,
//! not inside it. Without the `cli` in `acquire` the handler's frame lands inside the other one
//! and the decoder sees malformed frames (run.sh --defmt fails); with the `cli` but without the
//! re-entry check the same happens, and with both the panic fails the guest.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};

use crate::interrupts::{self, TIMER_COUNT};
use crate::serial;
use crate::{apic, rdtsc};

/// Programs COM2 like COM1 (115200 8N1, FIFOs on, UART interrupts off). Call once, before the
/// first defmt log line.
pub fn init() {
    serial::init_port(serial::COM2);
}

/// Sends encoded bytes to COM2, polling (bounded) for the transmitter.
fn com2_write(bytes: &[u8]) {
    for &b in bytes {
        serial::write_port(serial::COM2, b);
    }
}

/// The logger's state: only touched between `acquire` and `release`, i.e. with IF = 0 and
/// `TAKEN` set, on the one CPU.
struct State {
    encoder: defmt::Encoder,
    /// RFLAGS.IF as it was at `acquire`.
    restore_if: bool,
}

struct StateCell(UnsafeCell<State>);
// SAFETY: one CPU; the state is only accessed by the holder of the logger (`TAKEN`), with
// interrupts masked, so there is never a concurrent access.
unsafe impl Sync for StateCell {}

static STATE: StateCell = StateCell(UnsafeCell::new(State { encoder: defmt::Encoder::new(), restore_if: false }));
static TAKEN: AtomicBool = AtomicBool::new(false);

const RFLAGS_IF: u64 = 1 << 9;

#[defmt::global_logger]
struct Com2Logger;

// SAFETY: `acquire` masks interrupts and refuses re-entry, so between `acquire` and `release`
// nothing else on this (single) CPU can call `acquire`, `write` or `release`: the frame is never
// interleaved with another, which is what the `Logger` contract requires.
unsafe impl defmt::Logger for Com2Logger {
    fn acquire() {
        let rflags: u64;
        // SAFETY: reads RFLAGS (push/pop, balanced) and clears IF. No `nomem`: the frame's memory
        // accesses must not move above the `cli`.
        unsafe { core::arch::asm!("pushfq", "pop {}", "cli", out(reg) rflags) };
        if TAKEN.swap(true, Ordering::Acquire) {
            // Only an exception or NMI in the middle of a frame gets here (IF = 0 otherwise).
            panic!("defmt logger taken reentrantly");
        }
        // SAFETY: we hold the logger (TAKEN), with IF = 0: exclusive access.
        let state = unsafe { &mut *STATE.0.get() };
        state.restore_if = rflags & RFLAGS_IF != 0;
        state.encoder.start_frame(com2_write);
    }

    unsafe fn flush() {
        // Every byte is written to the UART synchronously; nothing is buffered.
    }

    unsafe fn release() {
        // SAFETY: the caller acquired the logger (contract of `release`): exclusive access.
        let state = unsafe { &mut *STATE.0.get() };
        state.encoder.end_frame(com2_write);
        let restore_if = state.restore_if;
        TAKEN.store(false, Ordering::Release);
        if restore_if {
            // SAFETY: IF was set when the frame began; re-enabling restores the caller's state.
            // No `nomem`, as above.
            unsafe { core::arch::asm!("sti", options(nostack)) };
        }
    }

    unsafe fn write(bytes: &[u8]) {
        // SAFETY: the caller acquired the logger (contract of `write`): exclusive access.
        let state = unsafe { &mut *STATE.0.get() };
        state.encoder.write(bytes, com2_write);
    }
}

// Raw TSC cycles since reset: the guest calibrates no clock (see README.md: TSC values depend on
// the host and are only informative). The decoder prints it before the level.
defmt::timestamp!("{=u64}", crate::rdtsc());

/// Armed by [`selftest_irq_during_frame`]: the next APIC timer interrupt logs one frame.
static PROBE_ARMED: AtomicBool = AtomicBool::new(false);

/// APIC timer counts (x 16 ns) before the probe's interrupt: 10 us.
const PROBE_COUNTS: u32 = 625;

/// Called from the APIC timer's interrupt path (IST1, IF = 0): logs from interrupt context once
/// the self-test armed it.
pub fn on_timer() {
    if PROBE_ARMED.swap(false, Ordering::AcqRel) {
        defmt::info!("guest irq: APIC timer, logged after the frame that saw it expire");
    }
}

/// A format argument that arms the APIC one-shot inside its frame (so it cannot expire before the
/// frame began), waits until it has expired, then a little longer (so that the interrupt would be
/// taken if IF were 1), and says whether the timer handler ran meanwhile.
struct WaitForTimer {
    seen: u32,
}

impl defmt::Format for WaitForTimer {
    fn format(&self, f: defmt::Formatter<'_>) {
        apic::arm_oneshot(PROBE_COUNTS);
        let start = rdtsc();
        let mut expired = false;
        // Bounded (about a second of TSC; QEMU's timeout is the backstop).
        while rdtsc() - start < 4_000_000_000 {
            if apic::current_count() == 0 {
                expired = true;
                break;
            }
            core::hint::spin_loop();
        }
        let expiry = rdtsc();
        while rdtsc() - expiry < 4_000_000 && TIMER_COUNT.load(Ordering::Relaxed) == self.seen {
            // Each APIC read is an exit to QEMU, where a pending interrupt is raised.
            let _ = apic::current_count();
        }
        let inside = TIMER_COUNT.load(Ordering::Relaxed) != self.seen;
        defmt::write!(f, "timer expired: {=bool}, its handler ran inside this frame: {=bool}", expired, inside);
    }
}

/// An interrupt while thread context is in the middle of a frame: the APIC timer, armed and
/// expired inside a frame begun with IF = 1, and its handler logs. Call with IF = 0, after the
/// IDT, the IRQ target and the APIC are set up; returns with IF = 0 once the handler ran
/// (bounded).
pub fn selftest_irq_during_frame() {
    let seen = TIMER_COUNT.load(Ordering::Relaxed);
    PROBE_ARMED.store(true, Ordering::Release);
    interrupts::enable();
    defmt::info!("guest: a frame with IF = 1 waits for the APIC timer: {}", WaitForTimer { seen });
    // `release` restored IF = 1: the pending interrupt is taken right after the frame.
    let start = rdtsc();
    while TIMER_COUNT.load(Ordering::Relaxed) == seen && rdtsc() - start < 4_000_000_000 {
        core::hint::spin_loop();
    }
    interrupts::disable();
    PROBE_ARMED.store(false, Ordering::Release);
}

/// One line at each level, so that a decoded log shows which levels the build kept
/// (`DEFMT_LOG`): the warn build must still show the warn probe and nothing below it.
pub fn level_probes() {
    defmt::trace!("guest: level probe TRACE");
    defmt::debug!("guest: level probe DEBUG");
    defmt::info!("guest: level probe INFO");
    defmt::warn!("guest: level probe WARN");
}
