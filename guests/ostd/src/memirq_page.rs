//! The crate's `MemirqPage` on OSTD memory, without `unsafe`: the tile's memirq page is either a
//! page of system memory the device may write (`DmaCoherent`, zeroed; its `daddr()` is what a
//! real driver maps into the VF's GGTT), or a 4 KiB slice of a BAR (`IoMem`, where the GuC host
//! process behind ivshmem writes it). Every access is one non-tearing load or store through
//! OSTD's `VmIoOnce`; an offset outside the page reads 0 (not set) and a write there is dropped.

use ostd::io::IoMem;
use ostd::mm::dma::DmaCoherent;
use ostd::mm::{HasDaddr, HasSize, VmIoOnce};
use xe_sriov_vf::memirq::MemirqPage;

/// Size of a memirq page.
pub const PAGE: usize = 4096;

/// A memirq page on any OSTD memory with one-access loads and stores.
#[derive(Clone, Debug)]
pub struct OstdPage<M>(M);

/// A memirq page in system memory (`DmaCoherent`, one zeroed frame).
pub type DmaPage = OstdPage<DmaCoherent>;

/// A memirq page inside a BAR: a 4 KiB slice of an `IoMem`.
pub type IoMemPage = OstdPage<IoMem>;

impl OstdPage<DmaCoherent> {
    /// A zeroed, cache-coherent page.
    pub fn alloc() -> ostd::Result<DmaPage> {
        Ok(OstdPage(DmaCoherent::alloc(1, true)?))
    }

    /// Its device address (what would be mapped into the VF's GGTT).
    pub fn daddr(&self) -> usize {
        self.0.daddr()
    }
}

impl OstdPage<IoMem> {
    /// The page at `offset` of `bar` (`None` if it does not fit or is not 4 KiB aligned).
    pub fn new(bar: &IoMem, offset: usize) -> Option<IoMemPage> {
        let end = offset.checked_add(PAGE)?;
        (offset.is_multiple_of(PAGE) && end <= bar.size()).then(|| OstdPage(bar.slice(offset..end)))
    }
}

impl<M: VmIoOnce> MemirqPage for OstdPage<M> {
    fn read8(&self, offset: usize) -> u8 {
        self.0.read_once::<u8>(offset).unwrap_or(0)
    }
    fn write8(&self, offset: usize, value: u8) {
        let _ = self.0.write_once::<u8>(offset, &value);
    }
    fn write32(&self, offset: usize, value: u32) {
        let _ = self.0.write_once::<u32>(offset, &value.to_le());
    }
}
