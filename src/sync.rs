//! Atomics used by the coordinator and the queues: `core`'s, or loom's when built with
//! `--cfg loom` so that the models in `tests/loom.rs` explore every interleaving.

#[cfg(all(loom, feature = "mock"))]
pub(crate) use loom::sync::atomic::AtomicU8;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

#[cfg(all(not(loom), feature = "mock"))]
pub(crate) use core::sync::atomic::AtomicU8;
#[cfg(not(loom))]
pub(crate) use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
