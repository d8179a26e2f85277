//! PCI configuration space through the legacy ports 0xCF8 (address) / 0xCFC (data), bus 0: find
//! a device by vendor and device ID, read its memory BARs.

use crate::port::{inl, outl};

const CONFIG_ADDRESS: u16 = 0xCF8;
const CONFIG_DATA: u16 = 0xCFC;

/// A function on bus 0.
#[derive(Clone, Copy, Debug)]
pub struct Function {
    pub device: u8,
    pub function: u8,
}

fn address(f: Function, offset: u8) -> u32 {
    1 << 31 | u32::from(f.device & 0x1F) << 11 | u32::from(f.function & 7) << 8 | u32::from(offset & 0xFC)
}

/// Reads the config dword at `offset`.
pub fn read(f: Function, offset: u8) -> u32 {
    // SAFETY: the PC's configuration mechanism #1 ports; the address selects one dword of one
    // function's configuration space; reading it has no side effect on the devices used here.
    unsafe {
        outl(CONFIG_ADDRESS, address(f, offset));
        inl(CONFIG_DATA)
    }
}

/// Writes the config dword at `offset`.
pub fn write(f: Function, offset: u8, value: u32) {
    // SAFETY: as in `read`; the callers write only the command register.
    unsafe {
        outl(CONFIG_ADDRESS, address(f, offset));
        outl(CONFIG_DATA, value);
    }
}

/// The first function on bus 0 with this vendor and device ID.
pub fn find(vendor: u16, device: u16) -> Option<Function> {
    for dev in 0..32 {
        for func in 0..8 {
            let f = Function { device: dev, function: func };
            let id = read(f, 0);
            if id == 0xFFFF_FFFF {
                if func == 0 {
                    break; // no device here
                }
                continue;
            }
            if id == u32::from(device) << 16 | u32::from(vendor) {
                return Some(f);
            }
        }
    }
    None
}

/// Memory BAR `n`'s physical address (64-bit BARs use BAR n+1 for the high half); `None` for
/// an I/O BAR.
pub fn memory_bar(f: Function, n: u8) -> Option<u64> {
    let lo = read(f, 0x10 + 4 * n);
    if lo & 1 != 0 {
        return None;
    }
    let base = u64::from(lo & !0xF);
    Some(if (lo >> 1) & 3 == 2 { base | u64::from(read(f, 0x14 + 4 * n)) << 32 } else { base })
}

/// Turns on memory-space decoding (command register bit 1).
pub fn enable_memory(f: Function) {
    let cmd = read(f, 4) & 0xFFFF;
    write(f, 4, cmd | 1 << 1);
}

/// The capability with ID `id`, by walking the capability list: its config-space offset.
pub fn capability(f: Function, id: u8) -> Option<u8> {
    if read(f, 4) >> 16 & 1 << 4 == 0 {
        return None; // no capability list
    }
    let mut at = (read(f, 0x34) & 0xFC) as u8;
    for _ in 0..48 {
        if at < 0x40 {
            return None;
        }
        let header = read(f, at);
        if header as u8 == id {
            return Some(at);
        }
        at = (header >> 8) as u8 & 0xFC;
    }
    None
}

/// MSI-X capability ID.
pub const CAP_MSIX: u8 = 0x11;

/// Where a function's MSI-X table lives: BAR index and offset in it.
pub fn msix_table(f: Function, cap: u8) -> (u8, u32) {
    let table = read(f, cap + 4);
    ((table & 7) as u8, table & !7)
}

/// Sets MSI-X Enable and clears Function Mask in the capability's message control, and turns on
/// bus mastering (command register bit 2): an MSI is a memory write by the device.
pub fn msix_enable(f: Function, cap: u8) {
    let cmd = read(f, 4) & 0xFFFF;
    write(f, 4, cmd | 1 << 2);
    let dw = read(f, cap);
    let control = (dw >> 16) as u16 & !(1 << 14) | 1 << 15;
    write(f, cap, dw & 0xFFFF | u32::from(control) << 16);
}
