//! Leaving QEMU through `-device isa-debug-exit,iobase=0xf4,iosize=0x04`.
//!
//! Writing `code` to port 0xf4 makes QEMU exit with status `(code << 1) | 1`. The codes are chosen
//! so that neither status can be produced by QEMU on its own (0 = guest powered off / triple fault
//! with -no-reboot, 1 = QEMU error).

use crate::port::outl;

/// Written on success: QEMU exits with status 33.
pub const PASS: u32 = 0x10;
/// Written on failure: QEMU exits with status 35.
pub const FAIL: u32 = 0x11;
/// The QEMU exit status that means pass (`(PASS << 1) | 1`); run.sh checks for it.
pub const PASS_STATUS: u32 = (PASS << 1) | 1;

const DEBUG_EXIT_PORT: u16 = 0xf4;

/// Exits QEMU with `code`. Falls back to halting forever if the device is absent.
pub fn exit(code: u32) -> ! {
    // SAFETY: port 0xf4 is the isa-debug-exit device run.sh configures; the write ends the VM.
    // Without the device the write is ignored and we halt below.
    unsafe { outl(DEBUG_EXIT_PORT, code) };
    loop {
        // SAFETY: masking interrupts and halting has no memory effects; nothing runs afterwards.
        unsafe { core::arch::asm!("cli", "hlt", options(nomem, nostack)) };
    }
}

/// Exits with the pass code.
pub fn pass() -> ! {
    exit(PASS)
}

/// Exits with the fail code.
pub fn fail() -> ! {
    exit(FAIL)
}
