//! Atomics used by the coordinator and the queues: `core`'s, or loom's when built with
//! `--cfg loom` so that the models in `tests/loom.rs` explore every interleaving.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};

#[cfg(not(loom))]
pub(crate) use core::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
