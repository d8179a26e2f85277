//! `MmioBar` over ordinary memory standing in for a mapped BAR: accesses land at the right
//! offsets, out-of-range and misaligned offsets are harmless, bad mappings are refused.
//!
//! The memory is a heap `Box<[u32]>` touched only through raw pointers derived from it while a
//! device uses it (no Rust reference to it is held meanwhile) and read back through the box only
//! after the last device access, so that these tests also pass under Miri in strict-provenance
//! mode (`bash .ci/miri.sh`).

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use xe_sriov_vf::device::{Clock, Device, Instant, Reg};
use xe_sriov_vf::mailbox::{Mailbox, MailboxConfig, MailboxError};
use xe_sriov_vf::mmio::{MmioBar, MmioError};
use xe_sriov_vf::wire::regs::{GtKind, PRIMARY_GT};

/// A clock that advances 1 µs per reading.
#[derive(Default)]
struct Ticks(Cell<u64>);

impl Clock for Ticks {
    fn now(&self) -> Instant {
        self.0.set(self.0.get() + 1_000);
        Instant(self.0.get())
    }
}

const BAR_LEN: usize = 0x19_0400;

/// The memory behind the fake BAR, touched only through raw volatile accesses so that no Rust
/// reference aliases what the `MmioBar` writes. `get` and `set` see it as the device does: word
/// `i` is the little-endian register at offset `4 * i`; `bytes` is what lies in memory.
struct Mem(*mut u32);

impl Mem {
    fn get(&self, i: usize) -> u32 {
        u32::from_le_bytes(self.bytes(i))
    }
    fn set(&self, i: usize, v: u32) {
        self.set_bytes(i, v.to_le_bytes());
    }
    fn bytes(&self, i: usize) -> [u8; 4] {
        assert!(i < BAR_LEN / 4);
        // SAFETY: `i` is in bounds of the live BAR_LEN-byte allocation behind `self.0`.
        unsafe { self.0.add(i).read_volatile() }.to_ne_bytes()
    }
    fn set_bytes(&self, i: usize, b: [u8; 4]) {
        assert!(i < BAR_LEN / 4);
        // SAFETY: as in `bytes`.
        unsafe { self.0.add(i).write_volatile(u32::from_ne_bytes(b)) }
    }
    /// Whether every word is still 0. One slice comparison (fast under Miri, which runs the
    /// byte comparison natively) rather than 409,600 volatile reads.
    fn all_zero(&self) -> bool {
        // SAFETY: the allocation behind `self.0` is live, initialised and BAR_LEN bytes long;
        // this shared view lives only for the comparison, during which nothing writes the
        // memory (the bar is not accessed meanwhile: the tests are single-threaded).
        let words = unsafe { std::slice::from_raw_parts(self.0, BAR_LEN / 4) };
        words == vec![0u32; BAR_LEN / 4].as_slice()
    }
}

fn with_bar(f: impl FnOnce(&MmioBar<Ticks>, &Mem)) {
    let mut mem: Box<[u32]> = vec![0u32; BAR_LEN / 4].into_boxed_slice();
    let base = mem.as_mut_ptr();
    {
        // SAFETY: `base` points to a live, 4-aligned, writable allocation of BAR_LEN bytes that
        // outlives `bar` (which ends with this block, before `mem` is freed); meanwhile it is only
        // accessed through raw pointers derived from `base` (the bar's volatile accesses and
        // `Mem`), never through `mem`.
        let bar = unsafe { MmioBar::new(base.cast::<u8>(), BAR_LEN, Ticks::default()) }.unwrap();
        f(&bar, &Mem(base));
    }
    drop(mem);
}

#[test]
fn reads_and_writes_land_at_their_offsets() {
    with_bar(|bar, mem| {
        bar.write32(PRIMARY_GT.scratch(2), 0xDEAD_BEEF);
        assert_eq!(mem.get(0x19_0248 / 4), 0xDEAD_BEEF);
        mem.set(0x19_024C / 4, 0x1234_5678);
        assert_eq!(bar.read32(PRIMARY_GT.scratch(3)), 0x1234_5678);
        assert_eq!(bar.len(), BAR_LEN);
    });
}

#[test]
fn out_of_range_and_misaligned_offsets_are_harmless() {
    with_bar(|bar, mem| {
        assert_eq!(bar.read32(Reg(BAR_LEN as u32)), u32::MAX);
        assert_eq!(bar.read32(Reg(BAR_LEN as u32 - 2)), u32::MAX);
        assert_eq!(bar.read32(Reg(0x19_0241)), u32::MAX);
        assert_eq!(bar.read32(Reg(u32::MAX)), u32::MAX);
        bar.write32(Reg(BAR_LEN as u32), 7);
        bar.write32(Reg(0x19_0241), 7);
        assert!(mem.all_zero());
        // The last register is in range.
        bar.write32(Reg(BAR_LEN as u32 - 4), 9);
        assert_eq!(mem.get(BAR_LEN / 4 - 1), 9);
        assert!(!mem.all_zero());
    });
}

#[test]
fn bad_mappings_are_refused() {
    let mut word = 0u32;
    let p = (&mut word as *mut u32).cast::<u8>();
    // SAFETY: these calls are refused before any access; nothing is dereferenced.
    unsafe {
        assert_eq!(
            MmioBar::new(std::ptr::null_mut(), 4, Ticks::default()).unwrap_err(),
            MmioError::Null
        );
        assert_eq!(
            MmioBar::new(p.add(1), 3, Ticks::default()).unwrap_err(),
            MmioError::Misaligned
        );
        assert_eq!(
            MmioBar::new(p, usize::MAX, Ticks::default()).unwrap_err(),
            MmioError::Overflow
        );
    }
}

#[test]
fn a_mailbox_with_no_guc_behind_it_times_out_in_bounded_time() {
    with_bar(|bar, mem| {
        let mut mb = Mailbox::new(bar, GtKind::Primary.mailbox(), MailboxConfig::default());
        // Plain memory echoes the host-origin request: never a GuC reply.
        assert_eq!(
            mb.send_recv(&[0x0000_5507]),
            Err(MailboxError::Timeout { last: 0x0000_5507 })
        );
        assert_eq!(mem.get(0x19_0240 / 4), 0x0000_5507);
    });
}

#[test]
fn an_empty_mapping_reads_all_ones_and_drops_writes() {
    let mut word: Box<[u32]> = vec![0x5A5A_5A5A].into_boxed_slice();
    let p = word.as_mut_ptr().cast::<u8>();
    {
        // SAFETY: `p` is a live, 4-aligned allocation; a 0-byte mapping never touches it.
        let bar = unsafe { MmioBar::new(p, 0, Ticks::default()) }.unwrap();
        assert!(bar.is_empty());
        assert_eq!(bar.read32(Reg(0)), u32::MAX);
        bar.write32(Reg(0), 0);
    }
    assert_eq!(word[0], 0x5A5A_5A5A);
}

#[test]
fn a_mapping_longer_than_isize_max_is_refused() {
    let mut word: Box<[u32]> = vec![0].into_boxed_slice();
    let p = word.as_mut_ptr().cast::<u8>();
    // SAFETY: refused before any access.
    let err = unsafe { MmioBar::new(p, isize::MAX as usize + 1, Ticks::default()) };
    assert_eq!(err.unwrap_err(), MmioError::Overflow);
    drop(word);
}

/// A clock that can be shared between threads.
#[derive(Default)]
struct SharedTicks(AtomicU64);

impl Clock for SharedTicks {
    fn now(&self) -> Instant {
        Instant(self.0.fetch_add(1_000, Ordering::Relaxed) + 1_000)
    }
}

#[test]
fn a_bar_is_send_and_sync_when_its_clock_is() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<MmioBar<SharedTicks>>();
}

#[test]
fn threads_share_one_bar() {
    const LEN: usize = 0x100;
    let mut mem: Box<[u32]> = vec![0u32; LEN / 4].into_boxed_slice();
    let base = mem.as_mut_ptr();
    {
        // SAFETY: as in `with_bar`: a live, 4-aligned, writable LEN-byte allocation, untouched
        // through `mem` while `bar` (this block) lives.
        let bar = unsafe { MmioBar::new(base.cast::<u8>(), LEN, SharedTicks::default()) }.unwrap();
        std::thread::scope(|s| {
            for t in 0..4u32 {
                let bar = &bar;
                s.spawn(move || {
                    // Each thread owns its own register: no two threads touch the same word.
                    let reg = Reg(t * 4);
                    for i in 0..8 {
                        bar.write32(reg, (t << 16) | i);
                        assert_eq!(bar.read32(reg), (t << 16) | i);
                    }
                    let _ = bar.now();
                });
            }
        });
        assert!(bar.now().0 >= 4_000);
    }
    let registers: Vec<u32> = mem[..4].iter().map(|w| u32::from_le(*w)).collect();
    assert_eq!(registers, [7, (1 << 16) | 7, (2 << 16) | 7, (3 << 16) | 7]);
    assert!(mem[4..].iter().all(|w| *w == 0));
}

#[test]
fn memirq_mem_reads_writes_and_bounds() {
    use xe_sriov_vf::memirq::MemirqPage;
    use xe_sriov_vf::mmio::MemirqMem;
    let mut buf: Box<[u32]> = vec![0u32; 1024].into_boxed_slice();
    let base = core::ptr::NonNull::new(buf.as_mut_ptr().cast::<u8>()).unwrap();
    {
        // SAFETY: `buf` is 4 KiB, 4-byte aligned, outlives `page` (which ends with this block,
        // before `buf` is read), and is not touched through `buf` meanwhile.
        let page = unsafe { MemirqMem::new(base) }.unwrap();
        page.write8(0x190, 0xFF);
        page.write32(0x440, 0x0000_FFFF);
        page.write8(4096, 0xFF); // dropped
        page.write32(0x441, 1); // misaligned: dropped
        page.write32(4094, 1); // out of bounds: dropped
        assert_eq!(page.read8(0x190), 0xFF);
        // The enable word is little-endian.
        assert_eq!(page.read8(0x440), 0xFF);
        assert_eq!(page.read8(0x441), 0xFF);
        assert_eq!(page.read8(0x442), 0);
        assert_eq!(page.read8(4096), 0);
        assert_eq!(page.read8(usize::MAX), 0);
    } // no device access after this point
    assert_eq!(buf[0x190 / 4].to_ne_bytes(), [0xFF, 0, 0, 0]);
    assert_eq!(buf[0x440 / 4], u32::from_le(0x0000_FFFF));
    assert_eq!(buf.iter().filter(|w| **w != 0).count(), 2);
    let odd = core::ptr::NonNull::new(base.as_ptr().wrapping_add(1)).unwrap();
    // SAFETY: refused before any access.
    assert_eq!(
        unsafe { MemirqMem::new(odd) }.err(),
        Some(MmioError::Misaligned)
    );
}

/// PCI registers are little-endian whatever the CPU's byte order (Linux's `readl` and `writel`
/// convert): the register whose bytes are 78 56 34 12 reads 0x1234_5678, and a write of
/// 0xDEAD_BEEF stores EF BE AD DE. `.ci/miri.sh` runs this file on a big-endian target too.
#[test]
fn registers_are_little_endian() {
    with_bar(|bar, mem| {
        mem.set_bytes(0x19_024C / 4, [0x78, 0x56, 0x34, 0x12]);
        assert_eq!(bar.read32(PRIMARY_GT.scratch(3)), 0x1234_5678);
        bar.write32(PRIMARY_GT.scratch(2), 0xDEAD_BEEF);
        assert_eq!(mem.bytes(0x19_0248 / 4), [0xEF, 0xBE, 0xAD, 0xDE]);
    });
}
