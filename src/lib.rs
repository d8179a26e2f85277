#![doc = include_str!("../README.md")]
//!
//! ## Layers
//!
//! Read top to bottom; each layer only uses the ones above it.
//!
//! | layer | module | what it is |
//! |---|---|---|
//! | wire formats | [`wire`] | HXG header, VF actions, KLV, GuC error codes, register map, memirq page layout, GuC self-config. Pure encode/decode, no I/O, never panics on any input. |
//! | device access | [`device`], [`mmio`] | The offset-based [`Device`] trait (32-bit register read/write and a clock, every wait measured by a [`Stopwatch`]) and the real-hardware implementations: a mapped BAR, and a memirq page in memory. |
//! | transport | [`mailbox`] | The MMIO mailbox: send one request, poll for the reply, handle BUSY / RETRY / FLR / timeouts with bounded waits. |
//! | per-GT VF logic | [`gt`] | A GT owns a GuC: bootstrap (VF_RESET, version handshake), configuration query and validation, RESFIX messages. |
//! | per-tile state | [`tile`], [`memirq`] | A tile owns the GGTT its GTs share (the base the embedder's GGTT users are at and the newest base a GuC reported; ids and topology) and the memirq page through which its GuCs raise SW_INT_0 (the wait-free handler and the peek). |
//! | migration | [`coordinator`], [`recovery`] | The lock-free coordinator (wait-free interrupt entry) and the recovery pipeline with embedder hooks. |
//! | scheduling | [`workqueue`] | The [`WorkQueue`] trait and ready-made queues. |
//! | testing | `mock` (feature `mock`) | A simulated GuC per GT with a virtual clock, migrations and fault injection, and the GGTT oracle that checks where the VF's GGTT users ended up. |
//!
//! ## Guarantees
//!
//! - **Wait-free entry.** The interrupt entry ([`Vf::migrated`], [`Vf::handle_memirq`],
//!   [`Vf::handle_guc_interrupt`]) is a fixed number of atomic read-modify-writes (one when there
//!   is nothing to queue, at most six when another CPU changes the coordinator's word at the same
//!   time) and at most one call of your [`WorkQueue::queue`]: no loop, no lock, no allocation.
//!   Which call may run where (interrupt context, thread context, a hook) is the table in the
//!   [`Vf`] docs.
//! - **No lost migration.** Every interrupt ends in a completed recovery of its GT, a hand-over
//!   to the next pass (deferral, `VF_MIGRATED` re-queue) or a wedge; never two passes at once;
//!   nothing queued after teardown or wedge. Checked by loom models and thread stress tests.
//! - **Each tile's GGTT moves once per change.** [`RecoveryHooks::ggtt_fixup`] is called exactly
//!   once per change of a tile's GGTT base, with absolute bases, whatever happened in between.
//! - **Bounded waits.** Every poll and pause is a deadline on your clock (configurable), RETRYs
//!   and re-queues are bounded by counts, and a clock that stops or runs backwards ends a wait
//!   with a typed error ([`Stopwatch`]).
//! - **No allocation, no panic on GuC input.** Property tests and the fuzz targets (the
//!   transport against a scripted hostile GuC among them) found none.
//! - **The runtime-PM reference is released on every path** (a guard), and the device is wedged
//!   at most once.
//!
//! ## Quick start
//!
//! A VF with one tile (a primary and a media GT sharing one GGTT) on the mock GuC, one
//! migration, recovered by polling, with the mock's [`GgttOracle`](mock::GgttOracle) standing in
//! for the embedder's GGTT users. SW_INT_0 arrives as it does on every part that can migrate: as
//! bytes in the tile's memirq page. A real embedder replaces the mocks with an
//! [`MmioBar`] per GT (or one shared) and a [`MemirqMem`] over
//! the page it allocated and mapped into the VF's GGTT, the oracle with its GGTT and context
//! fixups ([`RecoveryHooks`]), and calls [`Vf::handle_memirq`] from the tile's MSI handler.
//! Here the VF is a local; for a VF in a `static` (no `Once`, no "initialised yet?" branch in
//! the interrupt handler) build it with the `const` [`Vf::new_static`], whose docs show it.
//!
//! ```
//! # #[cfg(feature = "mock")] {
//! use xe_sriov_vf::memirq::Memirq;
//! use xe_sriov_vf::mock::{GgttOracle, MockGuc, MockMemirqPage, Provisioning, VfState};
//! use xe_sriov_vf::wire::regs::GtKind;
//! use xe_sriov_vf::wire::Version;
//! use xe_sriov_vf::{
//!     GpuKind, GraphicsIp, Gt, GtId, GtInfo, MailboxConfig, PassOutcome, PollingQueue,
//!     RecoveryConfig, TileId, Vf,
//! };
//!
//! static GUCS: [MockGuc; 2] = [
//!     MockGuc::new(GtKind::Primary, Version::new(1, 27), Provisioning::integrated()),
//!     MockGuc::new(GtKind::Media, Version::new(1, 27), Provisioning::integrated()),
//! ];
//! // The tile's memirq page, mapped at GGTT address 0x100000.
//! static PAGE: MockMemirqPage = MockMemirqPage::new();
//! for guc in &GUCS {
//!     guc.attach_memirq(&PAGE, 0x0010_0000);
//! }
//! // An integrated part with graphics IP 20.04 (Lunar Lake): both GTs on tile 0.
//! let info = |kind| GtInfo::of(kind, GpuKind::Integrated, GraphicsIp::new(20, 4));
//! let gts = [
//!     Gt::new(&GUCS[0], info(GtKind::Primary), MailboxConfig::default()),
//!     Gt::new(&GUCS[1], info(GtKind::Media), MailboxConfig::default()),
//! ];
//! let memirq = Memirq::new(&PAGE, 0x0010_0000, GtId(0), Some(GtId(1)));
//! let oracle: GgttOracle<1> = GgttOracle::new();
//! let config = RecoveryConfig::default();
//! let vf = Vf::with_memirq(gts, oracle, PollingQueue::new(), config, memirq).unwrap();
//! vf.bootstrap().unwrap();
//! vf.register_memirq().unwrap(); // HOST2GUC_SELF_CFG, before CTB is enabled
//! vf.memirq().enable();
//! vf.hooks().place(TileId(0), 0x0020_0000);
//!
//! // The VM is migrated: each GuC writes SW_INT_0 into the page.
//! for guc in &GUCS {
//!     guc.migrate(0x4000_0000);
//! }
//! assert!(vf.recovery_pending(GtId(0)), "the byte alone says so");
//! // In the tile's MSI handler (wait-free):
//! let seen = vf.handle_memirq();
//! assert_eq!(seen.sw_int0.len(), 2);
//! // In thread context (idle loop, event loop, deferred task...):
//! while vf.queue().take() {
//!     assert!(matches!(vf.run_worker(), PassOutcome::Recovered(_)));
//! }
//! assert!(GUCS.iter().all(|g| g.state() == VfState::Running));
//! // The tile's GGTT users moved once, to the new base.
//! assert_eq!(vf.hooks().check(TileId(0), 0x4000_0000), Ok(()));
//! assert_eq!(vf.hooks().moves(TileId(0)), 1);
//! # }
//! ```
//!
//! ## Logging
//!
//! The crate's log lines go to `defmt` (feature `defmt`), the `log` facade (feature `log`) or
//! nowhere. Their levels follow the kernel's (`drm_dbg`/`xe_gt_sriov_dbg` -> debug,
//! `drm_notice`/`xe_gt_sriov_info` -> info, `xe_gt_sriov_err`/`drm_err` -> error):
//!
//! | when | level |
//! |---|---|
//! | bootstrap: each GT's VF ABI and GGTT; the GuC's own version after a refused handshake | info |
//! | the negotiated VF ABI, each HOST2GUC_SELF_CFG, memirq registered | debug |
//! | a pass begins / is in progress (GT mask), RESFIX_START sent (marker), another recovery imminent, a deferral, a media GT waiting for its primary, cancelled by teardown | debug |
//! | a tile's GGTT moves (old -> new base) | info |
//! | VF migrated again during recovery (re-queue); a pass started without waiting (`start_now`) | info |
//! | migration recovery ended | info |
//! | mailbox: a lost request sent again, a RETRY | debug |
//! | mailbox: timeout, busy timeout, RETRY limit, FAILURE, protocol error, clock stalled | error |
//! | VF_RESET failed, VF ABI changed, GMD_ID query failed (the value is taken as 0), tile GTs disagree on the GGTT, migration not supported | error |
//! | migration recovery failed, device wedged | error (and a warn from the coordinator) |
//!
//! The interrupt entry ([`Vf::migrated`], [`Vf::handle_memirq`], [`Coordinator::signal`])
//! logs nothing at all, so that a logger never runs in a hard interrupt handler (the kernel logs
//! "recovery scheduled" there; we do not). No wait loop logs per poll: a wait logs once, when
//! it ends in an error. The mock GuC (feature `mock`) logs its state changes at debug.
//!
//! The crate never allocates and, without `std`, links with `core` alone.
#![cfg_attr(not(any(feature = "std", test)), no_std)]
#![deny(unsafe_code)]
#![deny(missing_docs)]
#![warn(rust_2018_idioms)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "std")]
extern crate std;

#[cfg(feature = "alloc")]
extern crate alloc;

#[macro_use]
pub(crate) mod fmt;
#[macro_use]
pub(crate) mod sync;

pub mod coordinator;
pub mod device;
pub mod gt;
pub mod ids;
pub mod mailbox;
pub mod memirq;
pub mod mmio;
pub mod recovery;
pub mod tile;
pub mod wire;
pub mod workqueue;

/// The README used to be shown here; it is the crate's front page now.
#[deprecated(note = "the README is the crate-level documentation now")]
pub mod readme {}

#[cfg(feature = "mock")]
#[cfg_attr(docsrs, doc(cfg(feature = "mock")))]
pub mod mock;

// Every type that appears in a public signature, at the root.
pub use coordinator::{
    Coordinator, CoordinatorError, CoordinatorView, GtId, GtSet, IdOutOfRange, Signal, StartPolicy,
    MAX_GTS,
};
pub use device::{Clock, Device, Instant, Reg, Stopwatch};
pub use gt::{GpuKind, GraphicsIp, Gt, GtInfo, GtOp, PlatformClass, VfConfig, VfError};
pub use mailbox::{InFlight, Mailbox, MailboxConfig, MailboxError};
pub use memirq::{Memirq, MemirqPage, MemirqReport, MemirqSet, NoMemirq};
pub use mmio::{MemirqMem, MmioBar, MmioError};
pub use recovery::{
    BootstrapError, GgttWait, GtAccessError, GtView, HoldPoint, HookError, NoHooks, PassOutcome,
    PassReport, RecoveryConfig, RecoveryError, RecoveryHooks, Stats, Step, Unsupported, Vf,
};
pub use tile::{GgttMove, TileGgtt, TileId, Topology, TopologyError};
pub use wire::action::MmioMessage;
pub use wire::memirq::GucUnit;
pub use wire::regs::{GtKind, GucIntr, MailboxRegs};
pub use wire::self_cfg::{CtbControl, SelfCfgError, SelfCfgKey};
pub use wire::{GucError, KlvKey, Marker, Request, Version, WireError};
#[cfg(feature = "mock")]
pub use workqueue::TestQueue;
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
pub use workqueue::ThreadQueue;
pub use workqueue::{Polled, PollingQueue, WorkQueue};
