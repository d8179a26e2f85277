//! COM1 (16550 UART at I/O port 0x3F8), polled output only.
//!
//! [`Serial`] is a zero-sized handle with no lock, so it can be used from interrupt and panic
//! context without any risk of deadlock; concurrent writers may interleave characters, nothing
//! worse. Use the [`println!`](crate::println) macro.

use crate::port::{inb, outb};

const COM1: u16 = 0x3F8;
/// The second 16550 (QEMU's second `-serial`), used by the defmt build.
#[cfg_attr(not(feature = "defmt"), allow(dead_code))]
pub const COM2: u16 = 0x2F8;
const LSR_THRE: u8 = 1 << 5; // transmit holding register empty

/// Programs the 16550 at `base`: 115200 baud, 8N1, FIFOs on, UART interrupts off.
pub fn init_port(base: u16) {
    let (thr_dll, ier, fcr, lcr, mcr) = (base, base + 1, base + 2, base + 3, base + 4);
    // SAFETY: `base` is one of the standard 16550s of the q35/pc machines this guest targets
    // (COM1 0x3F8, COM2 0x2F8); this is the documented 16550 initialisation sequence and touches
    // nothing else. Without such a device the writes are ignored.
    unsafe {
        outb(ier, 0x00);
        outb(lcr, 0x80); // DLAB on
        outb(thr_dll, 0x01); // divisor 1 = 115200 baud
        outb(ier, 0x00); // divisor high byte
        outb(lcr, 0x03); // 8 data bits, no parity, 1 stop bit, DLAB off
        outb(fcr, 0xC7); // enable + clear FIFOs, 14-byte threshold
        outb(mcr, 0x03); // DTR | RTS
    }
}

/// Sends one byte to the 16550 at `base`, waiting (bounded) for the transmitter.
pub fn write_port(base: u16, b: u8) {
    // Bounded: if there were no UART the loop must not hang the guest forever.
    for _ in 0..100_000 {
        // SAFETY: reading the 16550 line status register (base + 5) has no side effects.
        if unsafe { inb(base + 5) } & LSR_THRE != 0 {
            break;
        }
        core::hint::spin_loop();
    }
    // SAFETY: writing the transmit register of the 16550 at `base` sends one byte; nothing else
    // is touched.
    unsafe { outb(base, b) }
}

/// Handle to COM1.
#[derive(Clone, Copy)]
pub struct Serial;

impl Serial {
    /// Programs the UART: 115200 baud, 8N1, FIFOs on, UART interrupts off.
    pub fn init() {
        init_port(COM1);
    }

    /// Sends one byte, waiting (bounded) for the transmitter.
    pub fn write_byte(b: u8) {
        write_port(COM1, b);
    }
}

impl core::fmt::Write for Serial {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for b in s.bytes() {
            if b == b'\n' {
                Serial::write_byte(b'\r');
            }
            Serial::write_byte(b);
        }
        Ok(())
    }
}

/// Prints to COM1 (no newline).
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => {{
        let _ = core::fmt::Write::write_fmt(&mut $crate::serial::Serial, format_args!($($arg)*));
    }};
}

/// Prints a line to COM1.
#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($arg:tt)*) => {{
        $crate::print!($($arg)*);
        $crate::print!("\n");
    }};
}

/// An error and its `source()` chain, joined with ": " (each error's `Display` names only its
/// own layer): `println!("FAIL: bootstrap: {}", Chain(&e))`.
pub struct Chain<'a>(pub &'a dyn core::error::Error);

impl core::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(e) = cause {
            write!(f, ": {e}")?;
            cause = e.source();
        }
        Ok(())
    }
}
