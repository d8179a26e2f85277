//! What a run did, as data: the `--trace` lines (their formats are a contract: other tools
//! parse them) and the [`Event`]s that `--svg` draws, each at its instant of virtual time.

use xe_sriov_vf::device::Instant;
use xe_sriov_vf::mock::{Dir, TranscriptEntry};
use xe_sriov_vf::wire::action::MmioMessage;
use xe_sriov_vf::wire::regs::GucIntr;
use xe_sriov_vf::{GgttMove, TileId};

/// At most this many events are kept for `--svg` (the picture of a longer run says so).
pub const MAX_EVENTS: usize = 200_000;

/// Something that happened, on a GT's lane or the VF's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum What {
    /// A request the VF sent (the doorbell).
    Request(MmioMessage),
    /// A reply the VF read (BUSY and RETRY included).
    Reply(MmioMessage),
    /// The host delivered SW_INT_0 to the VF.
    Irq,
    /// A hook call: its name and what it was called with.
    Hook {
        /// The `RecoveryHooks` method.
        name: &'static str,
        /// Its arguments, as the `[vf] pass <n> hooks:` line prints them.
        detail: String,
    },
    /// VM migration `k` (every GT at once).
    Migration(u64),
}

/// One event of the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Virtual time.
    pub at: Instant,
    /// The GT it happened on; `None`: the VF or the VM as a whole.
    pub gt: Option<u8>,
    /// What.
    pub what: What,
}

/// The events, in the order they happened (the order of the trace), up to [`MAX_EVENTS`].
#[derive(Debug, Default)]
pub struct Events {
    /// Whether to keep them (only for `--svg`).
    pub on: bool,
    /// The events kept.
    pub list: Vec<Event>,
    /// Events not kept because the list was full.
    pub dropped: u64,
}

impl Events {
    /// Keeps `what` (when on).
    pub fn push(&mut self, at: Instant, gt: Option<u8>, what: What) {
        if !self.on {
            return;
        }
        if self.list.len() < MAX_EVENTS {
            self.list.push(Event { at, gt, what });
        } else {
            self.dropped += 1;
        }
    }
}

/// `gt<N> > 0x...` or `gt<N> < 0x...`: a mailbox message of GT `gt`.
pub fn mailbox_line(entry: &TranscriptEntry, gt: u8) -> String {
    entry.line(gt).to_string()
}

/// `gt<N> irq SW_INT_0`: the host delivered the interrupt `raised` (the GuC's transcript entry
/// for it if there is one, else one made at `now` for the vector `vector`).
pub fn irq_line(raised: Option<TranscriptEntry>, now: Instant, vector: GucIntr, gt: u8) -> String {
    let entry = raised.unwrap_or(TranscriptEntry::new(
        now,
        Dir::Interrupt(vector),
        MmioMessage::from_array([u32::from(vector.bits()), 0, 0, 0]),
    ));
    entry.line(gt).to_string()
}

/// `tile<N> ggtt 0x... -> 0x...`: the tile's GGTT fixup ran.
pub fn ggtt_line(tile: TileId, ggtt: GgttMove) -> String {
    format!("tile{} ggtt {:#x} -> {:#x}", tile.0, ggtt.old, ggtt.new)
}
