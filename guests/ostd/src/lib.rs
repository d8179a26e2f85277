//! An Asterinas OSTD kernel that drives the `xe-sriov-vf` crate's VF, in safe code only
//! (`#![deny(unsafe_code)]`: OSTD's `IoMem`, `DmaCoherent` and `IrqLine` carry the unsafety).
//!
//! At boot it looks for QEMU's ivshmem device (PCI 1af4:1110) through ECAM:
//!
//! - none: scenario 1, the crate's `unikernel_poll` example on the mock GuC, on both interrupt
//!   paths (a memirq page on `DmaCoherent`, then the GuC interrupt register) ([`mock`]);
//! - present: scenarios 2 and 3, the VF of `guests/guc-host` behind the BAR ([`live`]);
//!   `xe.migrations=N` on the kernel command line says how many VM migrations to wait for;
//!   with `xe.hold=moved` the hold in the first recovery pass ends only when the VM moved.
//!
//! The verdict is the exit code: `ostd::power::poweroff(ExitCode::Success)` only when each GT
//! ended VF_RUNNING on the final GGTT base with every GGTT user there.
#![no_std]
#![deny(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

/// Prints to the serial console (OSTD's `early_print`, which accepts no implicit captures).
macro_rules! print {
    ($($arg:tt)*) => {
        ostd::console::early_print(format_args!($($arg)*))
    };
}

/// Prints a line to the serial console.
macro_rules! println {
    ($($arg:tt)*) => {
        ostd::console::early_print(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub mod bar;
pub mod clock;
pub mod live;
pub mod memirq_page;
pub mod mock;
pub mod pci;

use ostd::power::{poweroff, ExitCode};

/// Prints an error and every `source()` under it, joined with ": ".
pub struct Chain<'a>(pub &'a dyn core::error::Error);

impl core::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut next = self.0.source();
        while let Some(cause) = next {
            write!(f, ": {cause}")?;
            next = cause.source();
        }
        Ok(())
    }
}

/// The value of `key=` on the kernel command line.
fn cmdline_value(key: &str) -> Option<&'static str> {
    let cmdline: &'static str = &ostd::boot::boot_info().kernel_cmdline;
    cmdline
        .split_whitespace()
        .find_map(|arg| arg.strip_prefix(key)?.strip_prefix('='))
}

#[ostd::main]
fn kernel_main() {
    println!(
        "xe-ostd: an OSTD kernel drives the xe-sriov-vf VF (kernel command line: '{}')",
        ostd::boot::boot_info().kernel_cmdline
    );
    let passed = match pci::find(0x1AF4, 0x1110) {
        Err(pci::PciError::NotFound) => {
            println!("scenario 1: no ivshmem device, the mock GuC");
            let memirq = mock::run(mock::IrqPath::Memirq);
            println!(
                "scenario 1, memirq path: {}",
                if memirq { "PASS" } else { "FAIL" }
            );
            let mmio = mock::run(mock::IrqPath::Mmio);
            println!(
                "scenario 1, mmio path: {}",
                if mmio { "PASS" } else { "FAIL" }
            );
            memirq && mmio
        }
        Err(e) => {
            println!("FAIL: PCI: {e}");
            false
        }
        Ok(dev) => {
            let migrations = match cmdline_value("xe.migrations").map(str::parse::<u32>) {
                None => 1,
                Some(Ok(n)) if (1..=8).contains(&n) => n,
                Some(_) => {
                    println!("FAIL: xe.migrations wants 1 to 8");
                    poweroff(ExitCode::Failure)
                }
            };
            println!(
                "scenario {}: the GuC host process's VF behind ivshmem, {migrations} migration(s)",
                if migrations >= 2 { 3 } else { 2 }
            );
            let until_moved = match cmdline_value("xe.hold") {
                None | Some("go") => false,
                Some("moved") => true,
                Some(_) => {
                    println!("FAIL: xe.hold wants go or moved");
                    poweroff(ExitCode::Failure)
                }
            };
            live::run(dev, migrations, until_moved)
        }
    };
    println!("xe-ostd: {}", if passed { "PASS" } else { "FAIL" });
    poweroff(if passed {
        ExitCode::Success
    } else {
        ExitCode::Failure
    })
}
