//! A memirq page in plain (safe) memory, for the mock GuC and tests.

use crate::memirq::MemirqPage;
use crate::sync::{AtomicU8, Ordering};
use crate::wire::memirq::PAGE_SIZE;

/// A 4 KiB memirq page of atomic bytes: the mock GuCs of a tile write into it, the VF's
/// handler reads and clears it. Shared by reference (`&'static`, or in an `Arc`).
pub struct MockMemirqPage {
    bytes: [AtomicU8; PAGE_SIZE],
}

impl core::fmt::Debug for MockMemirqPage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let set = self
            .bytes
            .iter()
            .filter(|b| b.load(Ordering::Relaxed) != 0)
            .count();
        f.debug_struct("MockMemirqPage")
            .field("non_zero_bytes", &set)
            .finish()
    }
}

impl MockMemirqPage {
    /// A zeroed page.
    #[cfg(not(loom))]
    #[must_use]
    pub const fn new() -> MockMemirqPage {
        MockMemirqPage {
            bytes: [const { AtomicU8::new(0) }; PAGE_SIZE],
        }
    }

    /// A zeroed page.
    #[cfg(loom)]
    pub fn new() -> MockMemirqPage {
        MockMemirqPage {
            bytes: core::array::from_fn(|_| AtomicU8::new(0)),
        }
    }

    /// The byte at `offset` (0 beyond the page).
    pub fn byte(&self, offset: usize) -> u8 {
        self.bytes
            .get(offset)
            .map_or(0, |b| b.load(Ordering::SeqCst))
    }

    /// Sets the byte at `offset` (what the GPU does); ignored beyond the page.
    pub fn set_byte(&self, offset: usize, value: u8) {
        if let Some(b) = self.bytes.get(offset) {
            b.store(value, Ordering::SeqCst);
        }
    }

    /// The enable mask (the u32 at 0x440).
    pub fn enable_mask(&self) -> u32 {
        let o = crate::wire::memirq::ENABLE_OFFSET;
        u32::from_le_bytes([
            self.byte(o),
            self.byte(o + 1),
            self.byte(o + 2),
            self.byte(o + 3),
        ])
    }
}

impl Default for MockMemirqPage {
    fn default() -> Self {
        MockMemirqPage::new()
    }
}

impl MemirqPage for MockMemirqPage {
    fn read8(&self, offset: usize) -> u8 {
        self.byte(offset)
    }
    fn write8(&self, offset: usize, value: u8) {
        self.set_byte(offset, value)
    }
    fn write32(&self, offset: usize, value: u32) {
        for (i, b) in value.to_le_bytes().into_iter().enumerate() {
            self.set_byte(offset.wrapping_add(i), b);
        }
    }
    /// Nothing: every access is a `SeqCst` atomic, so a write is ordered before every later
    /// access already.
    fn full_barrier(&self) {}
}
