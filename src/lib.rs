//! # xe-sriov-vf
//!
//! Keep an Intel GPU SR-IOV virtual function (VF) alive across live migration of its VM, from
//! any `no_std` kernel, unikernel or hypervisor guest.
//!
//! When a VM that owns a VF is migrated, the GuC firmware on the destination host holds the VF
//! blocked (`VF_RESFIX_BLOCKED`) and raises the software interrupt `SW_INT_0` on every GT. The VF
//! driver must re-query its provisioning over the MMIO mailbox, fix up what moved (the GGTT base
//! above all), and tell the GuC it is done (`RESFIX_DONE`). A second migration can land in the
//! middle of all that. This crate does the protocol side of that job exactly as the Linux `xe`
//! driver does, and leaves the memory fixups to hooks the embedder implements.
//!
//! ## Layers
//!
//! Read top to bottom; each layer only uses the ones above it.
//!
//! | layer | module | what it is |
//! |---|---|---|
//! | wire formats | [`wire`] | HXG header, VF actions, KLV, GuC error codes, register map. Pure encode/decode, no I/O, never panics on any input. |
//! | device access | [`device`], [`mmio`] | The offset-based [`Device`] trait (32-bit register read/write and a clock) and the one real-hardware implementation over a mapped BAR. |
//! | transport | [`mailbox`] | The MMIO mailbox: send one request, poll for the reply, handle BUSY / RETRY / FLR / timeouts with bounded waits. |
//! | per-GT VF logic | [`gt`] | A GT owns a GuC: bootstrap (VF_RESET, version handshake), configuration query and validation, RESFIX messages. |
//! | per-tile state | [`tile`] | A tile owns the GGTT its GTs share: the base the embedder's GGTT users are at and the newest base a GuC reported; ids and topology. |
//! | migration | [`coordinator`], [`recovery`] | The lock-free coordinator (wait-free interrupt entry) and the recovery pipeline with embedder hooks. |
//! | scheduling | [`workqueue`] | The [`WorkQueue`] trait and ready-made queues. |
//! | testing | `mock` (feature `mock`) | A simulated GuC per GT with a virtual clock, migrations and fault injection, and the GGTT oracle that checks where the VF's GGTT users ended up. |
//!
//! ## Quick start
//!
//! A VF with one tile (a primary and a media GT sharing one GGTT) on the mock GuC, one
//! migration, recovered by polling, with the mock's [`GgttOracle`](mock::GgttOracle) standing in
//! for the embedder's GGTT users. A real embedder replaces the mocks with an
//! [`MmioBar`](mmio::MmioBar) per GT (or one shared), the oracle with its GGTT and context
//! fixups ([`RecoveryHooks`]), and calls [`Vf::handle_guc_interrupt`] from its interrupt
//! handler.
//!
//! ```
//! # #[cfg(feature = "mock")] {
//! use xe_sriov_vf::mock::{GgttOracle, MockGuc, Provisioning, VfState};
//! use xe_sriov_vf::wire::regs::GtKind;
//! use xe_sriov_vf::wire::Version;
//! use xe_sriov_vf::{
//!     Gt, GtId, GtInfo, MailboxConfig, PassOutcome, PollingQueue, RecoveryConfig, TileId, Vf,
//! };
//!
//! static GUCS: [MockGuc; 2] = [
//!     MockGuc::new(GtKind::Primary, Version::new(1, 27), Provisioning::integrated()),
//!     MockGuc::new(GtKind::Media, Version::new(1, 27), Provisioning::integrated()),
//! ];
//! // An integrated part with graphics IP 20.04 (Lunar Lake): both GTs on tile 0.
//! let info = |kind| GtInfo::new(kind, false, 2004);
//! let gts = [
//!     Gt::new(&GUCS[0], info(GtKind::Primary), MailboxConfig::default()),
//!     Gt::new(&GUCS[1], info(GtKind::Media), MailboxConfig::default()),
//! ];
//! let oracle: GgttOracle<1> = GgttOracle::new();
//! let vf = Vf::new(gts, oracle, PollingQueue::new(), RecoveryConfig::default()).unwrap();
//! vf.bootstrap().unwrap();
//! vf.hooks().place(TileId(0), 0x0020_0000);
//!
//! // The VM is migrated: the GuC of each GT raises SW_INT_0.
//! for (n, guc) in GUCS.iter().enumerate() {
//!     guc.migrate(0x4000_0000);
//!     // In the interrupt handler (wait-free):
//!     vf.handle_guc_interrupt(GtId(n as u8), guc.take_interrupts());
//! }
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
//! ## Features
//!
//! - `mock`: the simulated GuC (no_std, no alloc).
//! - `std`: host conveniences (the thread-backed queue, `std::error::Error` impls).
//! - `defmt` or `log`: where the crate's log lines go (at most one; neither means none).
//!
//! The crate never allocates and, without `std`, links with `core` alone.
#![cfg_attr(not(any(feature = "std", test)), no_std)]
#![deny(unsafe_code)]
#![deny(missing_docs)]
#![warn(rust_2018_idioms)]

#[cfg(feature = "std")]
extern crate std;

#[macro_use]
pub(crate) mod fmt;
pub(crate) mod sync;

pub mod coordinator;
pub mod device;
pub mod gt;
pub mod mailbox;
pub mod memirq;
pub mod mmio;
pub mod recovery;
pub mod tile;
pub mod wire;
pub mod workqueue;

#[cfg(feature = "mock")]
pub mod mock;

pub use coordinator::{Coordinator, GtId, GtSet, Signal, StartPolicy};
pub use device::{Clock, Device, Instant, Reg, Stopwatch};
pub use gt::{Gt, GtInfo, PlatformClass, VfConfig, VfError};
pub use mailbox::{Mailbox, MailboxConfig, MailboxError};
pub use recovery::{
    BootstrapError, GgttWait, GtAccessError, GtView, HoldPoint, HookError, NoHooks, PassOutcome,
    PassReport, RecoveryConfig, RecoveryError, RecoveryHooks, Stats, Step, Vf,
};
pub use tile::{GgttMove, TileGgtt, TileId, Topology, TopologyError};
pub use workqueue::{PollingQueue, WorkQueue};
