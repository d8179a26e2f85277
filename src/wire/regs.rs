//! The register map a VF uses: the MMIO mailbox of each GT and the GuC interrupt vector.

use bitflags::bitflags;

use crate::device::Reg;

/// Number of scratch registers in a mailbox (`VF_SW_FLAG(0..3)`), the most dwords a mailbox
/// message can have.
pub const SCRATCH_COUNT: usize = 4;

/// The mailbox registers of one GT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MailboxRegs {
    /// `VF_SW_FLAG(0)`; `VF_SW_FLAG(n)` is `scratch0.nth(n)`.
    pub scratch0: Reg,
    /// `GUC_HOST_INTERRUPT`: writing 0 rings the GuC's doorbell.
    pub doorbell: Reg,
}

impl MailboxRegs {
    /// Scratch register `VF_SW_FLAG(n)`, `n` in `0..4` (wraps modulo 4 otherwise, never panics).
    #[must_use]
    pub const fn scratch(&self, n: usize) -> Reg {
        self.scratch0.nth((n % SCRATCH_COUNT) as u32)
    }

    /// Whether `reg` is one of this mailbox's scratch registers, and which.
    #[must_use]
    pub const fn scratch_index(&self, reg: Reg) -> Option<usize> {
        // `off - base` only when `off >= base`, so nothing can overflow whatever the offsets.
        let base = self.scratch0.offset();
        let off = reg.offset();
        if off < base {
            return None;
        }
        let delta = off - base;
        if delta < 4 * SCRATCH_COUNT as u32 && delta.is_multiple_of(4) {
            Some((delta / 4) as usize)
        } else {
            None
        }
    }
}

/// The primary GT's mailbox: `VF_SW_FLAG(n)` at 0x190240 + 4n, doorbell at 0x1901F0.
pub const PRIMARY_GT: MailboxRegs = MailboxRegs {
    scratch0: Reg(0x19_0240),
    doorbell: Reg(0x19_01F0),
};

/// The media GT's mailbox: `MED_VF_SW_FLAG(n)` at 0x190310 + 4n, doorbell at 0x190304.
pub const MEDIA_GT: MailboxRegs = MailboxRegs {
    scratch0: Reg(0x19_0310),
    doorbell: Reg(0x19_0304),
};

/// Which kind of GT a VF GT is; it selects the mailbox registers and the configuration query.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum GtKind {
    /// The primary (render/compute) GT.
    Primary,
    /// The standalone media GT (graphics IP 12.70+).
    Media,
}

impl GtKind {
    /// The GT's mailbox registers.
    #[must_use]
    pub const fn mailbox(self) -> MailboxRegs {
        match self {
            GtKind::Primary => PRIMARY_GT,
            GtKind::Media => MEDIA_GT,
        }
    }
}

bitflags! {
    /// The GuC interrupt vector (the bits a GuC interrupt reports to the host).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct GucIntr: u16 {
        /// Software interrupt 0: on a VF, "you were migrated" (VF_RESFIX_BLOCKED).
        const SW_INT_0 = 1 << 0;
        /// Software interrupt 1.
        const SW_INT_1 = 1 << 1;
        /// Software interrupt 2.
        const SW_INT_2 = 1 << 2;
        /// Software interrupt 3.
        const SW_INT_3 = 1 << 3;
        /// Software interrupt 4.
        const SW_INT_4 = 1 << 4;
        /// Software interrupt 5.
        const SW_INT_5 = 1 << 5;
        /// Software interrupt 6.
        const SW_INT_6 = 1 << 6;
        /// Notification error.
        const NOTIF_ERROR = 1 << 7;
        /// Fatal error.
        const FATAL_ERROR = 1 << 8;
        /// DMA done.
        const DMA_DONE = 1 << 9;
        /// A doorbell rang.
        const DOORBELL_RANG = 1 << 10;
        /// IOMMU to GuC.
        const IOMMU2GUC = 1 << 11;
        /// Semaphore signalled.
        const SEM_SIG = 1 << 12;
        /// Display event.
        const DISPLAY_EVENT = 1 << 13;
        /// Execution error.
        const EXEC_ERROR = 1 << 14;
        /// GuC-to-host message (CT buffer).
        const GUC2HOST = 1 << 15;
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for GucIntr {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "GucIntr({=u16:#x})", self.bits())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailbox_offsets() {
        assert_eq!(PRIMARY_GT.scratch(0), Reg(0x190240));
        assert_eq!(PRIMARY_GT.scratch(3), Reg(0x19024C));
        assert_eq!(MEDIA_GT.scratch(3), Reg(0x19031C));
        assert_eq!(PRIMARY_GT.scratch_index(Reg(0x190248)), Some(2));
        assert_eq!(PRIMARY_GT.scratch_index(Reg(0x190250)), None);
        assert_eq!(PRIMARY_GT.scratch_index(Reg(0x190241)), None);
        assert_eq!(MEDIA_GT.scratch_index(Reg(0x190240)), None);
        assert_eq!(GtKind::Media.mailbox().doorbell, Reg(0x190304));
        // Offsets near the top of the address space neither overflow nor wrap.
        let top = MailboxRegs {
            scratch0: Reg(u32::MAX - 7),
            doorbell: Reg(0),
        };
        assert_eq!(top.scratch_index(Reg(u32::MAX - 3)), Some(1));
        assert_eq!(top.scratch_index(Reg(3)), None);
        assert_eq!(top.scratch(3), Reg(4), "scratch() wraps like Reg::nth");
    }

    #[test]
    fn interrupt_bits() {
        assert_eq!(GucIntr::SW_INT_0.bits(), 1);
        assert_eq!(GucIntr::GUC2HOST.bits(), 0x8000);
        let v = GucIntr::from_bits_truncate(0x8001);
        assert!(v.contains(GucIntr::SW_INT_0 | GucIntr::GUC2HOST));
    }
}
