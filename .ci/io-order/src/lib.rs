//! One exported function per real accessor, so that each is built here, on its own, for the
//! target: check.sh reads the assembly of `io_order_*` and checks where the barrier is.
#![no_std]

use xe_sriov_vf::{Clock, Device, Instant, MemirqMem, MemirqPage, MmioBar, Reg};

/// A clock that the probes never read.
pub struct NoClock;

impl Clock for NoClock {
    fn now(&self) -> Instant {
        Instant(0)
    }
}

/// A register read: the barrier after the load.
#[no_mangle]
pub fn io_order_read32(bar: &MmioBar<NoClock>, offset: u32) -> u32 {
    bar.read32(Reg(offset))
}

/// A register write: the barrier before the store.
#[no_mangle]
pub fn io_order_write32(bar: &MmioBar<NoClock>, offset: u32, value: u32) {
    bar.write32(Reg(offset), value)
}

/// A memirq page read: the barrier after the load.
#[no_mangle]
pub fn io_order_read8(page: &MemirqMem, offset: usize) -> u8 {
    page.read8(offset)
}

/// The memirq page's full barrier (between a source byte's clear and the status reads).
#[no_mangle]
pub fn io_order_full_barrier(page: &MemirqMem) {
    page.full_barrier()
}
