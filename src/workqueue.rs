//! Scheduling: the [`WorkQueue`] trait the coordinator queues recovery passes on, and ready-made
//! queues.
//!
//! The work item is always the same: "run one recovery pass of this device" (the embedder's run
//! loop calls the device's worker entry, which brackets its work with
//! [`Coordinator::begin`](crate::coordinator::Coordinator::begin) and
//! [`Coordinator::finish`](crate::coordinator::Coordinator::finish)). A queue only has to
//! remember that the item is pending and get it run, later, in thread context.
//!
//! | queue | for |
//! |---|---|
//! | [`Polled`] | a loop that calls the worker entry anyway (a polling unikernel's idle loop): no queue, the coordinator's own pending flag; the cheapest |
//! | [`PollingQueue`] | an idle loop, an event loop or a scheduler tick that polls [`PollingQueue::take`] before it runs the worker |
//! | [`TestQueue`] | tests and loom models: counts calls, runs on demand |
//! | `ThreadQueue` (feature `std`) | a dedicated host thread woken with `Thread::unpark` |
//! | your own | anything with a "mark pending + wake" primitive: implement [`WorkQueue`] |
//!
//! # Contract
//!
//! [`WorkQueue::queue`] is called from interrupt context: it must not block, allocate or take a
//! lock that the interrupted code could hold. It must guarantee that, after it returns, the work
//! item *starts* at least once more (a run already in progress does not count: like Linux
//! `queue_work`, queueing while the item runs makes it run again afterwards). Runs may be
//! spurious; the coordinator turns those into no-ops.
//!
//! A queue whose [`WorkQueue::polled`] is `true` ([`Polled`]) is never called: its worker
//! polls the coordinator instead.
//!
//! # Plugging into other kernels
//!
//! **Theseus-style deferred interrupt tasks** (an interrupt handler plus a companion task that
//! blocks itself after each run and that the handler unblocks): `queue()` sets a pending flag and
//! unblocks the task; the deferred action drains the flag.
//!
//! ```ignore
//! struct DeferredTaskQueue {
//!     pending: PollingQueue,
//!     task: TaskRef, // the deferred task returned by register_interrupt_handler()
//! }
//! impl WorkQueue for DeferredTaskQueue {
//!     fn queue(&self) -> bool {
//!         let newly = self.pending.queue();
//!         let _ = self.task.unblock(); // lock-free run-state change
//!         newly
//!     }
//! }
//! // The deferred action, run by the task each time it is unblocked:
//! fn deferred_action(dev: &Device) -> Result<(), Error> {
//!     while dev.queue.pending.take() {
//!         dev.recovery_pass(); // coordinator.begin() ... coordinator.finish(&dev.queue)
//!     }
//!     Ok(())
//! }
//! // The interrupt handler: read and clear the GuC interrupt vector, then
//! // dev.coordinator.signal(gt, &dev.queue); acknowledge the interrupt; return.
//! ```
//!
//! **Redox-style event loop** (a user-space driver that waits on its IRQ file and other event
//! sources in one loop): the "interrupt context" is the loop itself, so a [`PollingQueue`] polled
//! after each batch of events is all it takes.
//!
//! ```ignore
//! static QUEUE: PollingQueue = PollingQueue::new();
//! loop {
//!     let event = event_queue.next_event()?; // blocks on /scheme/irq/N and friends
//!     if event.fd == irq_fd {
//!         irq_file.read(&mut irq_buf)?;
//!         for gt in gts_with_sw_int_0(&device) {
//!             coordinator.signal(gt, &QUEUE);
//!         }
//!         irq_file.write(&irq_buf)?; // acknowledge
//!     }
//!     while QUEUE.take() {
//!         recovery_pass(&device, &coordinator, &QUEUE);
//!     }
//! }
//! ```
//!
//! A bare-metal kernel without threads can do the same from its idle loop: `signal` from the
//! interrupt handler, `while QUEUE.take() { pass() }` before halting the CPU.

#[cfg(any(test, feature = "mock"))]
use crate::sync::AtomicUsize;
use crate::sync::{AtomicBool, Ordering};

/// Where the coordinator puts "run one recovery pass of this device".
pub trait WorkQueue {
    /// Marks the work pending and makes sure it runs (again) in thread context.
    ///
    /// Safe from interrupt context: never blocks, never allocates. Returns `true` if the work was
    /// newly queued, `false` if it was already pending (like Linux `queue_work`).
    fn queue(&self) -> bool;

    /// Whether the worker *polls the coordinator* instead of waiting for `queue()`: then the
    /// coordinator never calls [`queue`](Self::queue), and its own pending flag (set in the same
    /// atomic step that marks the reporting GT) is the whole queue. The worker finds the work
    /// by calling [`Vf::run_worker`](crate::recovery::Vf::run_worker) (or
    /// [`Coordinator::begin`](crate::coordinator::Coordinator::begin)), which costs one plain
    /// load when nothing is due, from its idle loop.
    ///
    /// This saves the interrupt entry the announcement around the `queue()` call (the
    /// read-modify-write that retires it) and the worker the queue's own flag: see
    /// [`Polled`]. Default `false`. The answer must not change during the queue's life.
    #[inline]
    fn polled(&self) -> bool {
        false
    }
}

impl<Q: WorkQueue + ?Sized> WorkQueue for &Q {
    #[inline]
    fn queue(&self) -> bool {
        (**self).queue()
    }
    #[inline]
    fn polled(&self) -> bool {
        (**self).polled()
    }
}

/// No queue at all: the worker polls the coordinator ([`WorkQueue::polled`] is `true`).
///
/// For an embedder whose recovery worker runs from a loop it owns anyway (a polling unikernel's
/// idle loop, a scheduler tick): it calls [`Vf::run_worker`](crate::recovery::Vf::run_worker)
/// there, which answers [`PassOutcome::NotStarted`](crate::recovery::PassOutcome::NotStarted)
/// after one plain load when nothing is due. The coordinator's `WORK` flag is the pending flag,
/// so there is no second one to set in the interrupt and to clear in the worker, and the
/// coordinator never calls [`queue`](WorkQueue::queue): nothing can be queued after a teardown.
/// The coordination of a whole migration of 2 GTs (both report, one pass) then takes three
/// atomic read-modify-writes fewer than with a [`PollingQueue`]: 5 instead of 8 when the pass
/// publishes both RESFIX_STARTs at once, as the split-phase pass does (`benches/irq_entry.rs`).
///
/// ```
/// use xe_sriov_vf::coordinator::{Coordinator, GtId, Signal, StartPolicy};
/// use xe_sriov_vf::workqueue::Polled;
///
/// let coord = Coordinator::new(2, StartPolicy::AnyGt).unwrap();
/// assert_eq!(coord.begin(), None, "nothing due: one load");
/// // Interrupt handler of GT 0:
/// assert_eq!(coord.signal(GtId(0), &Polled), Signal::Queued);
/// // The idle loop:
/// let gts = coord.begin().expect("the report made the work due");
/// for gt in gts.iter() {
///     coord.started(gt); // after RESFIX_START
///     coord.fixed(gt);
///     coord.done(gt);
/// }
/// coord.finish(&Polled);
/// assert_eq!(coord.begin(), None);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Polled;

impl WorkQueue for Polled {
    /// Does nothing and returns `false`: the coordinator's own flag holds the pending work, and
    /// the coordinator does not call this.
    #[inline]
    fn queue(&self) -> bool {
        false
    }
    #[inline]
    fn polled(&self) -> bool {
        true
    }
}

/// A pending flag that the embedder's idle loop, event loop or scheduler tick polls.
///
/// ```
/// use xe_sriov_vf::workqueue::{PollingQueue, WorkQueue};
/// static Q: PollingQueue = PollingQueue::new();
/// assert!(Q.queue());
/// assert!(!Q.queue(), "already pending");
/// let mut runs = 0;
/// while Q.take() {
///     runs += 1; // run one recovery pass here
/// }
/// assert_eq!(runs, 1);
/// ```
#[derive(Debug)]
pub struct PollingQueue {
    pending: AtomicBool,
}

impl PollingQueue {
    /// An empty queue.
    #[cfg(not(loom))]
    #[must_use]
    pub const fn new() -> Self {
        PollingQueue {
            pending: AtomicBool::new(false),
        }
    }

    /// An empty queue.
    #[cfg(loom)]
    pub fn new() -> Self {
        PollingQueue {
            pending: AtomicBool::new(false),
        }
    }

    /// Takes the pending work: returns `true` (and clears the flag) if it was pending; the caller
    /// then runs one recovery pass. A `queue()` after this call makes it pending again.
    pub fn take(&self) -> bool {
        self.pending.swap(false, Ordering::AcqRel)
    }

    /// Whether the work is pending.
    pub fn is_pending(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }
}

impl Default for PollingQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl WorkQueue for PollingQueue {
    #[inline]
    fn queue(&self) -> bool {
        !self.pending.swap(true, Ordering::AcqRel)
    }
}

/// A queue for tests and loom models: a pending flag plus counters of `queue()` calls.
/// Feature `mock`: it is a test double, not a queue to ship.
#[cfg(any(test, feature = "mock"))]
#[cfg_attr(docsrs, doc(cfg(feature = "mock")))]
#[derive(Debug)]
pub struct TestQueue {
    pending: AtomicBool,
    calls: AtomicUsize,
    newly: AtomicUsize,
    polled: bool,
}

#[cfg(any(test, feature = "mock"))]
impl TestQueue {
    /// An empty queue with zeroed counters.
    #[cfg(not(loom))]
    #[must_use]
    pub const fn new() -> Self {
        TestQueue {
            pending: AtomicBool::new(false),
            calls: AtomicUsize::new(0),
            newly: AtomicUsize::new(0),
            polled: false,
        }
    }

    /// An empty queue with zeroed counters.
    #[cfg(loom)]
    pub fn new() -> Self {
        TestQueue {
            pending: AtomicBool::new(false),
            calls: AtomicUsize::new(0),
            newly: AtomicUsize::new(0),
            polled: false,
        }
    }

    /// The same queue, answering [`WorkQueue::polled`] with `polled`: with `true` the
    /// coordinator must never call `queue()`, which [`calls`](Self::calls) shows.
    #[must_use]
    pub fn with_polled(mut self, polled: bool) -> Self {
        self.polled = polled;
        self
    }

    /// Takes the pending work (returns whether it was pending); the caller then runs a pass.
    pub fn take(&self) -> bool {
        self.pending.swap(false, Ordering::AcqRel)
    }

    /// Whether the work is pending.
    pub fn is_pending(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }

    /// How many times `queue()` was called.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::Acquire)
    }

    /// How many `queue()` calls found the work not pending.
    pub fn newly_queued(&self) -> usize {
        self.newly.load(Ordering::Acquire)
    }
}

#[cfg(any(test, feature = "mock"))]
impl Default for TestQueue {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(any(test, feature = "mock"))]
impl WorkQueue for TestQueue {
    fn queue(&self) -> bool {
        self.calls.fetch_add(1, Ordering::AcqRel);
        let newly = !self.pending.swap(true, Ordering::AcqRel);
        if newly {
            self.newly.fetch_add(1, Ordering::AcqRel);
        }
        newly
    }
    fn polled(&self) -> bool {
        self.polled
    }
}

#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
pub use self::thread::{ServeError, ThreadQueue};

/// The thread-backed queue (feature `std`).
#[cfg(feature = "std")]
mod thread {
    use core::sync::atomic::{AtomicBool, Ordering};
    use core::time::Duration;
    use std::sync::OnceLock;
    use std::thread::Thread;

    use super::WorkQueue;

    /// A queue served by a dedicated std thread.
    ///
    /// `queue()` sets a pending flag and wakes the server thread with [`Thread::unpark`], which is
    /// lock-free on futex-based platforms (Linux, Android, the BSDs, Windows, macOS' ulock):
    /// usable from a signal-like context. [`serve`](Self::serve) runs on the server thread and
    /// parks with a timeout between passes, so even a wake lost to a platform quirk only delays a
    /// pass by that timeout.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use xe_sriov_vf::workqueue::{ThreadQueue, WorkQueue};
    ///
    /// let q = Arc::new(ThreadQueue::new());
    /// let server = {
    ///     let q = Arc::clone(&q);
    ///     std::thread::spawn(move || {
    ///         let mut passes = 0;
    ///         q.serve(|| passes += 1).unwrap();
    ///         passes
    ///     })
    /// };
    /// q.queue();
    /// while q.is_pending() {
    ///     std::thread::yield_now();
    /// }
    /// q.stop();
    /// assert!(server.join().unwrap() >= 1);
    /// ```
    #[derive(Debug)]
    pub struct ThreadQueue {
        pending: AtomicBool,
        stopped: AtomicBool,
        pub(super) server: OnceLock<Thread>,
        park_timeout: Duration,
    }

    /// Why [`ThreadQueue::serve`] refused to serve.
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub enum ServeError {
        /// Another thread serves (or served) this queue; a queue has one server thread for life.
        OtherThread,
    }

    impl core::fmt::Display for ServeError {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.write_str("another thread serves this ThreadQueue")
        }
    }

    impl core::error::Error for ServeError {}

    impl ThreadQueue {
        /// The park timeout of [`new`](Self::new).
        pub const DEFAULT_PARK_TIMEOUT: Duration = Duration::from_millis(10);

        /// An empty queue with the default park timeout.
        #[must_use]
        pub const fn new() -> Self {
            Self::with_park_timeout(Self::DEFAULT_PARK_TIMEOUT)
        }

        /// An empty queue whose server re-checks the flags at least every `park_timeout`.
        #[must_use]
        pub const fn with_park_timeout(park_timeout: Duration) -> Self {
            ThreadQueue {
                pending: AtomicBool::new(false),
                stopped: AtomicBool::new(false),
                server: OnceLock::new(),
                park_timeout,
            }
        }

        /// Serves the queue on the calling thread: waits until the work is pending (or the queue
        /// is stopped), clears the flag, runs `work` (one recovery pass), and again, until
        /// [`stop`](Self::stop). Returns after the pass in progress when stopped; work still
        /// pending then is not run.
        ///
        /// The first caller becomes the queue's server thread for life; later calls from the same
        /// thread serve again (after a stop, only to return at once), calls from other threads
        /// return [`ServeError::OtherThread`].
        ///
        /// # Errors
        ///
        /// [`ServeError::OtherThread`] when called from another thread than the queue's server
        /// thread (`work` is not run).
        pub fn serve(&self, mut work: impl FnMut()) -> Result<(), ServeError> {
            let me = std::thread::current();
            let server = self.server.get_or_init(|| me.clone());
            if server.id() != me.id() {
                return Err(ServeError::OtherThread);
            }
            loop {
                if self.stopped.load(Ordering::Acquire) {
                    return Ok(());
                }
                if self.pending.swap(false, Ordering::AcqRel) {
                    work();
                    continue;
                }
                // The unpark token makes a queue() between the swap above and here return at once.
                std::thread::park_timeout(self.park_timeout);
            }
        }

        /// Makes [`serve`](Self::serve) return after the pass in progress. Final.
        pub fn stop(&self) {
            self.stopped.store(true, Ordering::Release);
            self.wake();
        }

        /// Whether [`stop`](Self::stop) was called.
        pub fn is_stopped(&self) -> bool {
            self.stopped.load(Ordering::Acquire)
        }

        /// Whether the work is pending (queued and not yet picked up by the server).
        pub fn is_pending(&self) -> bool {
            self.pending.load(Ordering::Acquire)
        }

        fn wake(&self) {
            if let Some(t) = self.server.get() {
                t.unpark();
            }
        }
    }

    impl Default for ThreadQueue {
        fn default() -> Self {
            Self::new()
        }
    }

    impl WorkQueue for ThreadQueue {
        fn queue(&self) -> bool {
            let newly = !self.pending.swap(true, Ordering::AcqRel);
            // Before serve() registered, there is no one to wake: serve checks the flag first.
            self.wake();
            newly
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn polling_queue() {
        static Q: PollingQueue = PollingQueue::new();
        assert!(!Q.is_pending());
        assert!(!Q.take());
        assert!(Q.queue());
        assert!(Q.is_pending());
        assert!(!Q.queue());
        assert!(Q.take());
        assert!(!Q.take());
        assert!(!PollingQueue::default().is_pending());
    }

    #[test]
    fn test_queue_counts() {
        let q = TestQueue::default();
        assert!(q.queue());
        assert!(!q.queue());
        assert_eq!((q.calls(), q.newly_queued()), (2, 1));
        assert!(q.is_pending());
        assert!(q.take());
        assert!(!q.is_pending());
        assert!(q.queue());
        assert_eq!((q.calls(), q.newly_queued()), (3, 2));
    }

    #[test]
    fn blanket_ref_impl() {
        fn via<Q: WorkQueue + ?Sized>(q: &Q) -> bool {
            q.queue()
        }
        let q = TestQueue::new();
        let r = &q;
        assert!(via(&r));
        let d: &dyn WorkQueue = &q;
        assert!(!via(d));
        assert_eq!(q.calls(), 2);
    }

    #[cfg(feature = "std")]
    #[test]
    fn thread_queue_serves_and_stops() {
        use std::sync::atomic::AtomicUsize as StdAtomicUsize;
        use std::sync::Arc;
        use std::time::Duration;

        let q = Arc::new(ThreadQueue::with_park_timeout(Duration::from_millis(1)));
        assert!(!q.is_stopped());
        let runs = Arc::new(StdAtomicUsize::new(0));
        // Queued before the server exists: still served.
        assert!(q.queue());
        let server = {
            let (q, runs) = (Arc::clone(&q), Arc::clone(&runs));
            std::thread::spawn(move || {
                q.serve(|| {
                    runs.fetch_add(1, Ordering::AcqRel);
                })
            })
        };
        for i in 1..=50usize {
            while runs.load(Ordering::Acquire) < i {
                std::thread::yield_now();
            }
            q.queue();
        }
        // Another thread may not serve the same queue.
        let q2 = Arc::clone(&q);
        let other = std::thread::spawn(move || {
            while q2.server.get().is_none() {
                std::thread::yield_now();
            }
            q2.serve(|| {})
        });
        assert_eq!(other.join().unwrap(), Err(ServeError::OtherThread));
        q.stop();
        assert!(q.is_stopped());
        assert_eq!(server.join().unwrap(), Ok(()));
        assert!(runs.load(Ordering::Acquire) >= 50);
        assert!(ServeError::OtherThread.to_string().contains("another"));
        assert!(!ThreadQueue::default().is_pending());
    }
}
