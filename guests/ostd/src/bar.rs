//! The crate's `Device` on an OSTD `IoMem`: a BAR mapped uncached by `IoMem::acquire`, read and
//! written with `IoMem`'s checked 32-bit accesses, so no `unsafe` here. An offset past the end
//! (or unaligned) reads all ones, like a PCI read nothing answers, and a write there is dropped,
//! as the `Device` contract asks. The clock is the TSC; `relax` is a spin hint (this kernel has
//! one task: nothing to yield to).

use ostd::io::IoMem;
use ostd::mm::VmIoOnce;
use xe_sriov_vf::device::{Device, Instant, Reg};

use crate::clock;

/// A memory BAR through `IoMem`.
#[derive(Clone, Debug)]
pub struct IoMemDevice {
    mem: IoMem,
}

impl IoMemDevice {
    /// The device on `mem` (the whole BAR).
    pub fn new(mem: IoMem) -> IoMemDevice {
        IoMemDevice { mem }
    }

    /// The mapping (for slices of it, such as the memirq page).
    pub fn io_mem(&self) -> &IoMem {
        &self.mem
    }
}

impl Device for IoMemDevice {
    fn read32(&self, reg: Reg) -> u32 {
        self.mem
            .read_once::<u32>(reg.offset() as usize)
            .unwrap_or(u32::MAX)
    }

    fn write32(&self, reg: Reg, value: u32) {
        let _ = self.mem.write_once::<u32>(reg.offset() as usize, &value);
    }

    fn now(&self) -> Instant {
        clock::now()
    }

    fn relax(&self) {
        core::hint::spin_loop();
    }
}
