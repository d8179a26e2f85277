//! `MmioBar` over ordinary memory standing in for a mapped BAR: accesses land at the right
//! offsets, out-of-range and misaligned offsets are harmless, bad mappings are refused.

use std::cell::Cell;

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
/// reference aliases what the `MmioBar` writes.
struct Mem(*mut u32);

impl Mem {
    fn get(&self, i: usize) -> u32 {
        assert!(i < BAR_LEN / 4);
        // SAFETY: `i` is in bounds of the live BAR_LEN-byte allocation behind `self.0`.
        unsafe { self.0.add(i).read_volatile() }
    }
    fn set(&self, i: usize, v: u32) {
        assert!(i < BAR_LEN / 4);
        // SAFETY: as in `get`.
        unsafe { self.0.add(i).write_volatile(v) }
    }
    fn all_zero(&self) -> bool {
        (0..BAR_LEN / 4).all(|i| self.get(i) == 0)
    }
}

fn with_bar(f: impl FnOnce(&MmioBar<Ticks>, &Mem)) {
    let mut mem = vec![0u32; BAR_LEN / 4];
    let base = mem.as_mut_ptr();
    // SAFETY: `base` points to a live, 4-aligned, writable allocation of BAR_LEN bytes that
    // outlives `bar` (both end with this function); after this point it is only accessed
    // through raw pointers (the bar's volatile accesses and `Mem`), never through `mem`.
    let bar = unsafe { MmioBar::new(base.cast::<u8>(), BAR_LEN, Ticks::default()) }.unwrap();
    f(&bar, &Mem(base));
    // `bar` (no destructor) is not used past here; `mem` is freed after it.
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
fn memirq_mem_reads_writes_and_bounds() {
    use xe_sriov_vf::memirq::MemirqPage;
    use xe_sriov_vf::mmio::{MemirqMem, MmioError};
    let mut buf = vec![0u32; 1024].into_boxed_slice();
    let base = core::ptr::NonNull::new(buf.as_mut_ptr().cast::<u8>()).unwrap();
    // SAFETY: `buf` is 4 KiB, 4-byte aligned, outlives `page`, and is not touched meanwhile.
    let page = unsafe { MemirqMem::new(base) }.unwrap();
    page.write8(0x190, 0xFF);
    page.write32(0x440, 0x0000_FFFF);
    page.write8(4096, 0xFF); // dropped
    page.write32(0x441, 1); // misaligned: dropped
    page.write32(4094, 1); // out of bounds: dropped
    assert_eq!(page.read8(0x190), 0xFF);
    assert_eq!(page.read8(4096), 0);
    assert_eq!(page.read8(usize::MAX), 0);
    let _ = page; // no access after this point
    assert_eq!(buf[0x190 / 4], 0xFF);
    assert_eq!(buf[0x440 / 4], 0x0000_FFFF);
    assert_eq!(buf.iter().filter(|w| **w != 0).count(), 2);
    let odd = core::ptr::NonNull::new(base.as_ptr().wrapping_add(1)).unwrap();
    // SAFETY: refused before any access.
    assert_eq!(
        unsafe { MemirqMem::new(odd) }.err(),
        Some(MmioError::Misaligned)
    );
}
