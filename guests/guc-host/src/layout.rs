//! The shared-memory layout of the live-migration test: what the guest sees as BAR2 of the
//! ivshmem-plain device (PCI 1af4:1110) and the GuC host process maps from the host's
//! shared-memory file. Included by both (`#[path]`): the guest (no_std) and the host process.
//!
//! | offset | what |
//! |---|---|
//! | 0x1901F0 | primary GT doorbell (`GUC_HOST_INTERRUPT`) |
//! | 0x190240..0x190250 | primary GT scratch `VF_SW_FLAG(0..3)` |
//! | 0x190304 | media GT doorbell (`MED_GUC_HOST_INTERRUPT`) |
//! | 0x190310..0x190320 | media GT scratch `MED_VF_SW_FLAG(0..3)` |
//! | [`MEMIRQ_OFFSET`] | the tile's memirq page (4 KiB), GGTT address [`MEMIRQ_GGTT`] for the GuCs |
//! | [`CONTROL_OFFSET`] | the test's control page (not part of a VF: host letter, hold release, states) |
//!
//! The register offsets are the crate's ([`xe_sriov_vf::wire::regs`]), i.e. the real ones.
#![allow(dead_code)]

/// Size of the BAR (a power of two, as ivshmem wants; covers the mailbox registers at 0x190xxx).
pub const BAR_SIZE: usize = 2 << 20;

/// The memirq page, inside the BAR (on hardware: a page of system memory in the VF's GGTT).
pub const MEMIRQ_OFFSET: usize = 0x10_0000;
/// The GGTT address the VF registers for the page (HOST2GUC_SELF_CFG); the GuC host process
/// maps it back to [`MEMIRQ_OFFSET`].
pub const MEMIRQ_GGTT: u64 = 0x10_0000;

/// The control page.
pub const CONTROL_OFFSET: usize = 0x10_1000;
/// Control words (u32 index into the control page).
pub mod ctl {
    /// [`MAGIC`](super::MAGIC) once a GuC host process laid the BAR out.
    pub const MAGIC: usize = 0;
    /// The letter (ASCII) of the host whose GuC process serves the VF now; written at start
    /// (source) or at the GuC restore (destination).
    pub const HOST: usize = 1;
    /// Hold releases: the GuC process adds one on the script's `go`.
    pub const GO: usize = 2;
    /// The GuCs' VF states (index into `VfState::ALL`), primary GT first; for the guest's
    /// summary line.
    pub const STATE0: usize = 3;
}
/// "XEVF".
pub const MAGIC: u32 = 0x4656_4558;

/// What a doorbell register holds while no request is pending. The VF rings by writing 0 (the
/// kernel's `xe_guc_notify`): in shared memory a write is visible only as a change, so the GuC
/// process keeps the register at this value between requests.
pub const DOORBELL_IDLE: u32 = 0xFFFF_FFFF;
