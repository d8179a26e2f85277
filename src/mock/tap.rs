//! [`MailboxTap`]: the mock's transcript rules applied to register accesses seen from outside a
//! GuC, for a VF whose GuC is not a [`MockGuc`](super::MockGuc) (a GuC in another process, real
//! hardware behind a tracing `Device`).

use crate::device::{Instant, Reg};
use crate::wire::action::{code, KlvReply, MmioMessage};
use crate::wire::regs::{MailboxRegs, SCRATCH_COUNT};

use super::types::{Dir, TranscriptEntry};

/// One GT's mailbox traffic, turned into [`TranscriptEntry`]s by the rules of the mock's
/// transcript (see the [module docs](super#transcript)), from the register accesses a `Device`
/// wrapper sees: a `ToGuc` entry at each doorbell, with the scratch registers written since the
/// previous one; a `FromGuc` entry when a read of scratch 0 after a doorbell shows a GuC-origin
/// value not seen yet for that request (each BUSY counter, a RETRY, the final reply), with the
/// data dwords the reply carries (`MATCH_VERSION`: 2 dwords; `QUERY_SINGLE_KLV`: 1 + its
/// length, at most 3; any other reply, and every reply but SUCCESS: the header alone).
///
/// Lines printed with [`TranscriptEntry::line`] are the simulator's `--trace` lines, so a VF
/// driven against real GuC processes can be compared with the simulator line for line (the
/// QEMU and OSTD guests' live modes do).
///
/// The tap is plain state behind `&mut self`: call it from your `Device`'s `read32` and
/// `write32` under whatever lock your kernel uses (with interrupts masked if a handler logs
/// too). It reads no register itself: [`read`](Self::read) takes a closure for the reply's
/// data dwords, called only when a new reply is recorded.
///
/// One difference from the mock's own transcript, which sees the register file: a doorbell
/// with no scratch register written since the previous one records the last scratch 0 value
/// the tap saw (written by the VF or read as a reply), where the mock records the register's
/// content. The crate's mailbox always writes the request before the doorbell.
///
/// ```
/// use xe_sriov_vf::device::{Instant, Reg};
/// use xe_sriov_vf::mock::{Dir, MailboxTap};
/// use xe_sriov_vf::wire::action::code;
/// use xe_sriov_vf::wire::regs::GtKind;
///
/// let regs = GtKind::Primary.mailbox();
/// let mut tap = MailboxTap::new(regs);
/// let at = Instant(0);
/// assert!(tap.write(regs.scratch(0), 0x0000_5500, at).is_none()); // MATCH_VERSION...
/// assert!(tap.write(regs.scratch(1), 0x0001_0200, at).is_none()); // ...wanted 1.2
/// let request = tap.write(regs.doorbell, 0, at).unwrap();
/// assert_eq!(request.dir, Dir::ToGuc);
/// assert_eq!(request.line(0).to_string(), "gt0 > 0x00005500 0x00010200");
/// // The GuC's SUCCESS with the version it speaks (1.27), read back by the VF:
/// let reply = tap.read(regs.scratch(0), 0xF000_0000, at, |n| [0, 0x0001_1B00, 0, 0][n]);
/// assert_eq!(reply.unwrap().line(0).to_string(), "gt0 < 0xf0000000 0x00011b00");
/// assert_eq!(tap.request_action(), code::MATCH_VERSION);
/// // The same value read again is not a new reply.
/// assert!(tap.read(regs.scratch(0), 0xF000_0000, at, |_| 0).is_none());
/// ```
#[derive(Clone, Copy, Debug)]
pub struct MailboxTap {
    regs: MailboxRegs,
    /// The scratch registers as the VF last wrote them.
    dws: [u32; SCRATCH_COUNT],
    /// Bit n: scratch n written since the last doorbell.
    written: u8,
    /// A doorbell rang and its final reply is not recorded yet.
    armed: bool,
    /// The last GuC-origin scratch 0 value recorded for the request in flight.
    seen: Option<u32>,
    /// Bits 15:0 of the last request's dword 0 (its action code).
    action: u16,
}

impl MailboxTap {
    /// A tap for the mailbox at `regs` (e.g. [`GtKind::mailbox`](crate::wire::regs::GtKind::mailbox)),
    /// nothing sent yet.
    #[must_use]
    pub const fn new(regs: MailboxRegs) -> MailboxTap {
        MailboxTap {
            regs,
            dws: [0; SCRATCH_COUNT],
            written: 0,
            armed: false,
            seen: None,
            action: 0,
        }
    }

    /// The VF wrote `value` to `reg` at `at`. Returns the request when `reg` is the doorbell
    /// (an entry whose dwords are the written scratch registers: scratch 0 up to the highest
    /// one written), else `None`.
    pub fn write(&mut self, reg: Reg, value: u32, at: Instant) -> Option<TranscriptEntry> {
        if let Some(i) = self.regs.scratch_index(reg) {
            self.dws[i] = value;
            self.written |= 1 << i;
            // A new request is being written: a reply still expected is abandoned.
            self.armed = false;
            return None;
        }
        if reg != self.regs.doorbell {
            return None;
        }
        // Scratch 0 up to the highest written index (at least scratch 0).
        let len = (u8::BITS - self.written.leading_zeros()).max(1) as usize;
        self.written = 0;
        self.armed = true;
        self.seen = None;
        self.action = self.dws[0] as u16;
        let msg = MmioMessage::from_slice(self.dws.get(..len)?).ok()?;
        Some(TranscriptEntry::new(at, Dir::ToGuc, msg))
    }

    /// The VF read `value` from `reg` at `at`. Returns a reply when `reg` is scratch 0 and
    /// `value` is a GuC-origin value not recorded yet for the request in flight; `scratch(n)`
    /// gives scratch register `n` (1 to 3) for the data dwords a SUCCESS carries (read them
    /// right after scratch 0, as the mailbox does). Any other read: `None`, `scratch` not
    /// called.
    pub fn read(
        &mut self,
        reg: Reg,
        value: u32,
        at: Instant,
        mut scratch: impl FnMut(usize) -> u32,
    ) -> Option<TranscriptEntry> {
        let from_guc = value >> 31 == 1;
        if reg != self.regs.scratch(0) || !from_guc || !self.armed || self.seen == Some(value) {
            return None;
        }
        self.seen = Some(value);
        self.dws[0] = value;
        let success = value >> 28 == 0xF;
        let mut dw = [value, 0, 0, 0];
        let len = match self.action {
            _ if !success => 1,
            code::MATCH_VERSION => 2,
            code::QUERY_SINGLE_KLV => {
                for (n, d) in dw.iter_mut().enumerate().skip(1) {
                    *d = scratch(n);
                }
                KlvReply::decode(&dw).map_or(1, |k| 1 + usize::from(k.len).min(3))
            }
            _ => 1,
        };
        if self.action == code::MATCH_VERSION && success {
            dw[1] = scratch(1);
        }
        let msg = MmioMessage::from_slice(dw.get(..len)?).ok()?;
        Some(TranscriptEntry::new(at, Dir::FromGuc, msg))
    }

    /// The action code (bits 15:0 of dword 0) of the last request sent: the one a reply
    /// [`read`](Self::read) returns answers. `0` before the first doorbell.
    #[must_use]
    pub const fn request_action(&self) -> u16 {
        self.action
    }
}
