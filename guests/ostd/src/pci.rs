//! PCI through ECAM (OSTD 0.19 has no PCI module): the ACPI MCFG region that OSTD parsed at boot
//! (`ostd::arch::kernel::ACPI_INFO`), bus 0 mapped with `IoMem::acquire`, configuration space
//! read and written with `IoMem`'s checked accesses. Only what this kernel needs: find a
//! function by vendor and device, its memory BARs (32 and 64 bit), the command register, the
//! capability list and MSI-X.

use ostd::io::IoMem;
use ostd::mm::VmIoOnce;

/// Configuration space of one function: 4 KiB in ECAM.
const FUNCTION_SPACE: usize = 4096;
/// Bus 0: 32 devices x 8 functions x 4 KiB.
const BUS_SPACE: usize = 32 * 8 * FUNCTION_SPACE;

/// Capability ID of MSI-X.
pub const CAP_MSIX: u8 = 0x11;

/// Why a lookup failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PciError {
    /// The firmware gave no MCFG table (no ECAM), or none that starts at bus 0.
    NoEcam,
    /// `IoMem::acquire` refused the ECAM region.
    EcamMap,
    /// No function with that vendor and device on bus 0.
    NotFound,
    /// The BAR is not a memory BAR, or unassigned.
    BadBar,
}

impl core::fmt::Display for PciError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            PciError::NoEcam => "no ECAM region for bus 0 in the ACPI tables (MCFG)",
            PciError::EcamMap => "IoMem::acquire refused the ECAM region",
            PciError::NotFound => "no such PCI function on bus 0",
            PciError::BadBar => "the BAR is not an assigned memory BAR",
        })
    }
}

/// One function's configuration space, mapped.
#[derive(Clone, Debug)]
pub struct Function {
    cfg: IoMem,
    /// Device number on bus 0.
    pub device: u8,
    /// Function number.
    pub function: u8,
}

impl Function {
    /// A configuration dword (all ones if the access fails, as for an absent function).
    pub fn read32(&self, off: usize) -> u32 {
        self.cfg.read_once::<u32>(off).unwrap_or(u32::MAX)
    }

    /// A configuration word.
    pub fn read16(&self, off: usize) -> u16 {
        self.cfg.read_once::<u16>(off).unwrap_or(u16::MAX)
    }

    /// Writes a configuration word (dropped if out of range).
    pub fn write16(&self, off: usize, value: u16) {
        let _ = self.cfg.write_once::<u16>(off, &value);
    }

    /// The physical address and size of memory BAR `n` (32- or 64-bit; a 64-bit BAR spans `n`
    /// and `n + 1`). The size comes from the usual all-ones probe, with decoding off meanwhile.
    pub fn memory_bar(&self, n: usize) -> Result<(u64, u64), PciError> {
        let off = 0x10 + 4 * n;
        let low = self.read32(off);
        if n > 5 || low & 1 != 0 {
            return Err(PciError::BadBar);
        }
        let is64 = (low >> 1) & 3 == 2;
        let high = if is64 { self.read32(off + 4) } else { 0 };
        let base = (u64::from(high) << 32) | u64::from(low & !0xF);
        // Size: write all ones with memory decoding off, read back, restore.
        let cmd = self.read16(0x04);
        self.write16(0x04, cmd & !0x2);
        let _ = self.cfg.write_once::<u32>(off, &u32::MAX);
        let mask_low = self.read32(off);
        let _ = self.cfg.write_once::<u32>(off, &low);
        let mask_high = if is64 {
            let _ = self.cfg.write_once::<u32>(off + 4, &u32::MAX);
            let m = self.read32(off + 4);
            let _ = self.cfg.write_once::<u32>(off + 4, &high);
            m
        } else {
            u32::MAX
        };
        self.write16(0x04, cmd);
        let mask = (u64::from(mask_high) << 32) | u64::from(mask_low & !0xF);
        let size = (!mask).wrapping_add(1);
        if base == 0 || size == 0 {
            return Err(PciError::BadBar);
        }
        Ok((base, size))
    }

    /// Enables memory decoding and bus mastering (MSI-X writes are bus-master writes).
    pub fn enable_memory_and_master(&self) {
        let cmd = self.read16(0x04);
        self.write16(0x04, cmd | 0x2 | 0x4);
    }

    /// The offset of capability `id` in configuration space, if the function has it.
    pub fn capability(&self, id: u8) -> Option<usize> {
        if self.read16(0x06) & 0x10 == 0 {
            return None;
        }
        let mut ptr = usize::from(self.read32(0x34) as u8 & 0xFC);
        // A bounded walk: at most 48 capabilities fit in 256 bytes.
        for _ in 0..48 {
            if ptr < 0x40 {
                return None;
            }
            let header = self.read16(ptr);
            if header as u8 == id {
                return Some(ptr);
            }
            ptr = usize::from((header >> 8) as u8 & 0xFC);
        }
        None
    }

    /// MSI-X capability at `cap`: (BAR index, offset of the table in it, table size).
    pub fn msix_table(&self, cap: usize) -> (usize, u32, u16) {
        let table = self.read32(cap + 4);
        (
            (table & 7) as usize,
            table & !7,
            (self.read16(cap + 2) & 0x7FF) + 1,
        )
    }

    /// Sets MSI-X enable and clears the function mask.
    pub fn msix_enable(&self, cap: usize) {
        let ctl = self.read16(cap + 2);
        self.write16(cap + 2, (ctl | 0x8000) & !0x4000);
    }
}

/// Finds `vendor:device` on bus 0 through ECAM.
pub fn find(vendor: u16, device: u16) -> Result<Function, PciError> {
    let acpi = ostd::arch::kernel::ACPI_INFO
        .get()
        .ok_or(PciError::NoEcam)?;
    let region = acpi.pci_ecam_region.as_ref().ok_or(PciError::NoEcam)?;
    // The region starts at its first bus; this kernel looks at bus 0 only.
    if region.bus_start != 0 {
        return Err(PciError::NoEcam);
    }
    let base = region.base_address as usize;
    let bus0 = IoMem::acquire(base..base + BUS_SPACE).map_err(|_| PciError::EcamMap)?;
    let want = u32::from(vendor) | u32::from(device) << 16;
    for dev in 0..32u8 {
        for func in 0..8u8 {
            let off = (usize::from(dev) * 8 + usize::from(func)) * FUNCTION_SPACE;
            let id = bus0.read_once::<u32>(off).unwrap_or(u32::MAX);
            if id == u32::MAX {
                if func == 0 {
                    break; // no device here
                }
                continue;
            }
            if id == want {
                return Ok(Function {
                    cfg: bus0.slice(off..off + FUNCTION_SPACE),
                    device: dev,
                    function: func,
                });
            }
        }
    }
    Err(PciError::NotFound)
}
