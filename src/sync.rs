//! Atomics used by the coordinator and the queues: `core`'s, or loom's when built with
//! `--cfg loom` so that the models in `tests/loom.rs` explore every interleaving.

/// `const fn` where the atomics allow it, a plain `fn` under `--cfg loom` (loom's atomics have
/// no `const` constructor; its models build what they use at run time): one body for both.
macro_rules! const_unless_loom {
    ($(#[$attr:meta])* $vis:vis fn $($rest:tt)*) => {
        #[cfg(not(loom))]
        $(#[$attr])* $vis const fn $($rest)*
        #[cfg(loom)]
        $(#[$attr])* $vis fn $($rest)*
    };
}

#[cfg(all(loom, feature = "mock"))]
pub(crate) use loom::sync::atomic::AtomicU8;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};

#[cfg(all(not(loom), feature = "mock"))]
pub(crate) use core::sync::atomic::AtomicU8;
#[cfg(not(loom))]
pub(crate) use core::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};

/// The coordinator's state word: an [`AtomicUsize`], or in the crate's unit tests a wrapper
/// that counts its read-modify-writes, so that the RMW counts the docs state are tested.
#[cfg(not(all(test, not(loom))))]
pub(crate) type StateWord = AtomicUsize;
#[cfg(all(test, not(loom)))]
pub(crate) use counting::StateWord;

#[cfg(all(test, not(loom)))]
mod counting {
    use super::{AtomicUsize, Ordering};

    /// An `AtomicUsize` that counts the read-modify-writes made on it (loads and stores are
    /// not counted).
    #[derive(Debug)]
    pub(crate) struct StateWord {
        word: AtomicUsize,
        rmws: AtomicUsize,
    }

    impl StateWord {
        pub(crate) const fn new(v: usize) -> Self {
            Self {
                word: AtomicUsize::new(v),
                rmws: AtomicUsize::new(0),
            }
        }
        /// Read-modify-writes made so far.
        pub(crate) fn rmws(&self) -> usize {
            self.rmws.load(Ordering::Relaxed)
        }
        fn count(&self) {
            self.rmws.fetch_add(1, Ordering::Relaxed);
        }
        pub(crate) fn load(&self, o: Ordering) -> usize {
            self.word.load(o)
        }
        pub(crate) fn fetch_add(&self, v: usize, o: Ordering) -> usize {
            self.count();
            self.word.fetch_add(v, o)
        }
        pub(crate) fn fetch_sub(&self, v: usize, o: Ordering) -> usize {
            self.count();
            self.word.fetch_sub(v, o)
        }
        pub(crate) fn fetch_or(&self, v: usize, o: Ordering) -> usize {
            self.count();
            self.word.fetch_or(v, o)
        }
        pub(crate) fn fetch_and(&self, v: usize, o: Ordering) -> usize {
            self.count();
            self.word.fetch_and(v, o)
        }
        pub(crate) fn compare_exchange(
            &self,
            current: usize,
            new: usize,
            success: Ordering,
            failure: Ordering,
        ) -> Result<usize, usize> {
            self.count();
            self.word.compare_exchange(current, new, success, failure)
        }
    }
}

/// `N` counters at 0 (`const` unless loom).
#[cfg(not(loom))]
pub(crate) const fn zeroed_counters<const N: usize>() -> [AtomicUsize; N] {
    [const { AtomicUsize::new(0) }; N]
}
/// `N` counters at 0 (`const` unless loom).
#[cfg(loom)]
pub(crate) fn zeroed_counters<const N: usize>() -> [AtomicUsize; N] {
    core::array::from_fn(|_| AtomicUsize::new(0))
}
