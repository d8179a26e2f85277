//! COM1 (16550 UART at I/O port 0x3F8), polled output only.
//!
//! [`Serial`] is a zero-sized handle with no lock, so it can be used from interrupt and panic
//! context without any risk of deadlock; concurrent writers may interleave characters, nothing
//! worse. Use the [`println!`](crate::println) macro.

use crate::port::{inb, outb};

const COM1: u16 = 0x3F8;
const THR: u16 = COM1; // transmit holding register (DLAB = 0)
const DLL: u16 = COM1; // divisor latch low (DLAB = 1)
const IER: u16 = COM1 + 1; // interrupt enable (DLAB = 0) / divisor latch high (DLAB = 1)
const FCR: u16 = COM1 + 2; // FIFO control
const LCR: u16 = COM1 + 3; // line control
const MCR: u16 = COM1 + 4; // modem control
const LSR: u16 = COM1 + 5; // line status
const LSR_THRE: u8 = 1 << 5; // transmit holding register empty

/// Handle to COM1.
#[derive(Clone, Copy)]
pub struct Serial;

impl Serial {
    /// Programs the UART: 115200 baud, 8N1, FIFOs on, UART interrupts off.
    pub fn init() {
        // SAFETY: COM1 is the standard 16550 at 0x3F8 on the q35/pc machines this guest targets;
        // this is the documented 16550 initialisation sequence and touches nothing else.
        unsafe {
            outb(IER, 0x00);
            outb(LCR, 0x80); // DLAB on
            outb(DLL, 0x01); // divisor 1 = 115200 baud
            outb(IER, 0x00); // divisor high byte
            outb(LCR, 0x03); // 8 data bits, no parity, 1 stop bit, DLAB off
            outb(FCR, 0xC7); // enable + clear FIFOs, 14-byte threshold
            outb(MCR, 0x03); // DTR | RTS
        }
    }

    /// Sends one byte, waiting (bounded) for the transmitter.
    pub fn write_byte(b: u8) {
        // Bounded: if there were no UART the loop must not hang the guest forever.
        for _ in 0..100_000 {
            // SAFETY: reading the 16550 line status register has no side effects.
            if unsafe { inb(LSR) } & LSR_THRE != 0 {
                break;
            }
            core::hint::spin_loop();
        }
        // SAFETY: writing the transmit register of COM1 sends one byte; nothing else is touched.
        unsafe { outb(THR, b) }
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
