//! The lock-free migration coordinator: one per device, shared by the interrupt handlers of all
//! its GTs and by the recovery worker.
//!
//! When a VM is migrated, the GuC of every GT raises `SW_INT_0`. Each GT's interrupt handler calls
//! [`Coordinator::signal`], which marks the GT and, when the [`StartPolicy`] says so, puts one
//! device-wide recovery pass on the embedder's [`WorkQueue`]. The pass (thread context, written in
//! [`recovery`](crate::recovery)) brackets its work with [`Coordinator::begin`] and
//! [`Coordinator::finish`]; in between it may give its GTs back with [`Coordinator::defer`] (another
//! migration is imminent, so sending `RESFIX_DONE` now would be wasted) or
//! [`Coordinator::requeue`] (the GuC answered `VF_MIGRATED`: the GT moved again).
//!
//! This replaces the Linux seed (`xe_sriov_vf.c` of about 6.13), which tested every GT bit, then
//! cleared the whole mask with a plain store (`WRITE_ONCE(gt_flags, 0)`) and queued the worker: a
//! bit set by another GT between the test and the store was lost, and with it the next recovery.
//! Later kernels moved the flags under a spinlock, which an interrupt handler can only take with
//! interrupts disabled. Here every transition is a single atomic read-modify-write of one word.
//!
//! # The state word
//!
//! All of the coordinator's state lives in one `AtomicUsize` (`usize::BITS` bits, `B` below):
//!
//! | bits | name | meaning |
//! |---|---|---|
//! | `B-8 .. B` | in flight | how many `signal` calls are between their announcement and their return (at most 255 at once: one per CPU taking a GuC interrupt, in practice) |
//! | `B-9` | `WEDGED` | sticky: recovery failed, the device is wedged; nothing is queued or started any more |
//! | `B-10` | `TEARDOWN` | sticky: the driver is going away; nothing is queued or started any more |
//! | `B-11` | `RUNNING` | a recovery pass is between `begin()` and `finish()` (at most one) |
//! | `B-12` | `QUEUED` | a pass has been (or is being) put on the work queue and has not yet begun |
//! | `B-13` | `OWED` | [`StartPolicy::AllGts`] only: the queued pass takes the pending GTs even if not every GT has reported (set by `defer` and `requeue`) |
//! | `0 .. num_gts` | GT bits | GT `n` was migrated and no pass has taken it yet |
//!
//! So a device can have at most [`MAX_GTS`] GTs (51 on 64-bit targets, 19 on 32-bit ones); real
//! hardware has one or two. [`Coordinator::new`] rejects more with
//! [`CoordinatorError::TooManyGts`], and [`Coordinator::signal`] answers [`Signal::InvalidGt`] for
//! a GT id out of range instead of touching the word.
//!
//! # Transitions
//!
//! - `signal(gt)` (interrupt context) first announces itself with a `fetch_add` on the in-flight
//!   count, which also reads the word, and retires with a `fetch_sub` before returning. In
//!   between, [`StartPolicy::AnyGt`]: if the GT's bit and `QUEUED` are both set, nothing (a
//!   pending pass covers it); else `fetch_or(gt | QUEUED)`, and whoever flipped `QUEUED` from 0
//!   to 1 calls `queue.queue()`. [`StartPolicy::AllGts`]: if the GT's bit is set, nothing; else
//!   `fetch_or(gt)`, and if that completed the set of GT bits and `QUEUED` was clear,
//!   `fetch_or(QUEUED)`, and whoever flipped it calls `queue.queue()`.
//! - `begin()` (worker): if exactly `QUEUED` is set among `QUEUED`, `RUNNING` and the sticky
//!   flags, one compare-and-swap clears `QUEUED` and `OWED`, takes (clears) the GT bits and sets
//!   `RUNNING`. Under `AllGts` it takes the bits only when all of them are set or `OWED` is (else
//!   it takes none and the pass is empty), so a GT that reported early keeps waiting for the
//!   others. Anything else (no `QUEUED`: a spurious run;
//!   `RUNNING`: a run while another pass runs; a sticky flag) returns `None` and changes nothing.
//! - `defer(gts)` (another recovery is imminent) and `requeue(gts)` (a `VF_MIGRATED` reply),
//!   worker, inside a pass: OR the bits back and set `QUEUED`, and `OWED` under `AllGts`.
//! - `finish()` (worker): `fetch_and(!RUNNING)`; if `QUEUED` was set (a signal, defer or requeue
//!   came during the pass, or a `begin()` was refused because this pass was running), call
//!   `queue.queue()` again (after announcing the call and re-checking for a sticky flag, see
//!   invariant 4).
//! - `wedge()` / `teardown()`: `fetch_or` of the sticky flag.
//!
//! # Invariants
//!
//! 1. **No migration is lost.** A GT bit, once set, stays set until a `begin()` takes it in the
//!    same atomic step that clears `QUEUED` and sets `RUNNING`. That pass then either completes
//!    the recovery of the GT, or gives the bit back with `defer`/`requeue`, or the device is
//!    wedged. No operation clears a GT bit it has not read in the same atomic step.
//! 2. **A set `QUEUED` always leads to a run.** The operation that flips `QUEUED` from 0 to 1 calls
//!    `queue()` after the flip; a `begin()` that sees `QUEUED` either clears it (and is that run) or
//!    is refused because `RUNNING` is set, and then the running pass's `finish()` still sees
//!    `QUEUED` (only a `begin()` clears it, and none can succeed while `RUNNING` is set) and queues
//!    again. Under `AnyGt` a GT bit is never set without `QUEUED`; under `AllGts` a complete set
//!    of GT bits is never left without `QUEUED`.
//! 3. **Never two passes.** `RUNNING` is set only by a successful `begin()` that saw it clear, and
//!    cleared only by `finish()`.
//! 4. **Nothing after teardown or wedge.** Once a sticky flag is in the word, no `signal` queues,
//!    no `begin()` succeeds, no `finish()`, `defer` or `requeue` queues. Every caller of `queue()`
//!    announces itself and reads the state word in one read-modify-write or in that order
//!    (`signal`: the in-flight `fetch_add` on the word itself; `finish`: a counter, then a
//!    `fetch_or(0)` re-check), so for each of them
//!    either the sticky flag came first in the word's modification order and it does not queue,
//!    or [`Coordinator::is_idle`] sees the announcement until its `queue()` has returned. After
//!    `teardown()` and a `teardown_wait()` that returned `true`, no pass is running, none will
//!    begin, and the coordinator will never call `queue()` again: the embedder can cancel and free
//!    its work item. (A lock would give the same guarantee only by being taken in the interrupt
//!    handler.)
//!
//! # Why a deferral owes a pass
//!
//! A GT handed back by a pass (deferred, or answered `VF_MIGRATED`) is owed a pass, under either
//! policy. Under `AllGts` one could instead wait for the new migration's interrupts to report
//! every GT again (the seed does), but interrupts coalesce: two migrations of GT 0 set one bit,
//! a pass consumes it, and GT 1's late interrupt then waits for a report from GT 0 that never
//! comes, with GT 1 left `VF_RESFIX_BLOCKED`. The VF cannot tell a late interrupt from a new
//! one, so liveness has to win: the owed pass runs. The price, under `AllGts` only, is that a
//! late interrupt arriving after the owed pass already recovered its GT leaves a lone bit that
//! waits for the other GTs' next reports; until then that GT counts as "migration pending"
//! (`recovery_imminent()`, and `Vf::ggtt_valid` is conservatively `false`). Under `AnyGt` a lone
//! bit simply costs one redundant pass. `AnyGt` is the default for that reason.
//!
//! # Why the interrupt entry is wait-free
//!
//! [`Coordinator::signal`] performs a fixed number of atomic read-modify-writes and no loop. The
//! common case, a second GT reporting a migration a pending pass already covers, is two: the
//! in-flight `fetch_add`, which also reads the word, and the retiring `fetch_sub`. The call that
//! queues a pass adds one `fetch_or` (and the `AllGts` call that completes the set a second one
//! to set `QUEUED`), plus the embedder's `queue()` (itself required to be non-blocking). It never
//! retries, never spins on another CPU's progress and never takes a lock, so it is safe in a hard
//! interrupt handler, in an NMI-like context, and on a CPU that interrupted the worker in the
//! middle of a pass: its latency is bounded whatever the other CPUs do. The `AllGts` path sets
//! `QUEUED` with a second `fetch_or` rather than a compare-and-swap retry loop; the price is that a
//! late flip can queue a pass after another pass already took the set, which `begin()` then runs
//! empty (see above). Only the worker side uses compare-and-swap loops, which retry only when
//! another CPU changed the word.
//!
//! Keeping the in-flight count in the state word is what keeps the common case at two: the
//! announcement is the read, and [`Coordinator::is_idle`] sees flags and in-flight calls in one
//! consistent load. The count sits in the top bits, so even more than 255 calls at once could
//! not carry into a flag (they would make `is_idle` answer early, not corrupt the state).
//!
//! # Size
//!
//! A coordinator is five `AtomicUsize` words (the state word and four counters) plus the GT count
//! and the policy, so `size_of::<Coordinator>()` is `6 * size_of::<usize>()`: **48 bytes on 64-bit
//! targets** (within one cache line), 24 bytes on 32-bit ones. (Under `--cfg loom` the atomics are loom's
//! and the size differs.)
//!
//! # Example
//!
//! ```
//! use xe_sriov_vf::coordinator::{Coordinator, GtId, Signal, StartPolicy};
//! use xe_sriov_vf::workqueue::PollingQueue;
//!
//! static QUEUE: PollingQueue = PollingQueue::new();
//! let coord = Coordinator::new(2, StartPolicy::AnyGt).unwrap();
//!
//! // Interrupt handler of GT 1 (SW_INT_0 seen):
//! assert_eq!(coord.signal(GtId(1), &QUEUE), Signal::Queued);
//!
//! // Later, in thread context (the embedder's idle loop):
//! while QUEUE.take() {
//!     if let Some(gts) = coord.begin() {
//!         for gt in gts.iter() {
//!             // re-query GT `gt`, apply fixups...
//!             let _ = gt;
//!         }
//!         if coord.recovery_imminent() {
//!             coord.defer(gts, &QUEUE); // skip RESFIX_DONE, a new pass follows
//!         } else {
//!             // send RESFIX_DONE to every GT in `gts`
//!         }
//!         coord.finish(&QUEUE);
//!     }
//! }
//! assert!(coord.pending_gts().is_empty());
//! ```

use core::fmt;

use crate::sync::{AtomicUsize, Ordering};
use crate::workqueue::WorkQueue;

/// Most GTs one coordinator can track: the state word's bits minus the in-flight count (8 bits)
/// and the five flag bits.
pub const MAX_GTS: usize = usize::BITS as usize - 13;

/// Width of the in-flight `signal` count in the top bits of the state word.
const IN_FLIGHT_BITS: u32 = 8;
/// One `signal` in flight (the count's unit).
const IN_FLIGHT_ONE: usize = 1 << (usize::BITS - IN_FLIGHT_BITS);
/// The in-flight count's bits.
const IN_FLIGHT_MASK: usize = !0 << (usize::BITS - IN_FLIGHT_BITS);

const WEDGED: usize = 1 << (usize::BITS - IN_FLIGHT_BITS - 1);
const TEARDOWN: usize = 1 << (usize::BITS - IN_FLIGHT_BITS - 2);
const RUNNING: usize = 1 << (usize::BITS - IN_FLIGHT_BITS - 3);
const QUEUED: usize = 1 << (usize::BITS - IN_FLIGHT_BITS - 4);
const STICKY: usize = WEDGED | TEARDOWN;
/// Under [`StartPolicy::AllGts`]: the queued pass takes the pending GTs even if not all have
/// reported (a `requeue` owes them a pass).
const OWED: usize = 1 << (usize::BITS - IN_FLIGHT_BITS - 5);
/// The flags that decide whether a pass may begin.
const RUN_FLAGS: usize = WEDGED | TEARDOWN | RUNNING | QUEUED;
const FLAGS: usize = RUN_FLAGS | OWED;
/// Every bit that can hold a GT, whatever the GT count.
const ALL_GT_BITS: usize = !(FLAGS | IN_FLIGHT_MASK);

/// Index of a GT (graphics tile / media GT) within its device, `0..num_gts`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GtId(pub u8);

/// A set of GTs, as a bit mask (bit `n` = `GtId(n)`).
///
/// Only bits below [`MAX_GTS`] can be members; constructors drop the others.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct GtSet(usize);

impl GtSet {
    /// The empty set.
    pub const fn empty() -> Self {
        GtSet(0)
    }

    /// The set holding `gt` alone (empty if `gt` is not below [`MAX_GTS`]).
    pub const fn single(gt: GtId) -> Self {
        GtSet(bit_of(gt))
    }

    /// The set of GTs `0..n` (`n` is clamped to [`MAX_GTS`]).
    pub const fn all(n: usize) -> Self {
        GtSet(mask_of(n))
    }

    /// The set whose bit mask is `bits`, without the bits at or above [`MAX_GTS`].
    pub const fn from_bits(bits: usize) -> Self {
        GtSet(bits & ALL_GT_BITS)
    }

    /// The bit mask (bit `n` = `GtId(n)`).
    pub const fn bits(self) -> usize {
        self.0
    }

    /// Whether `gt` is in the set.
    pub const fn contains(self, gt: GtId) -> bool {
        let b = bit_of(gt);
        b != 0 && self.0 & b != 0
    }

    /// Adds `gt`; returns whether it was newly added (false if present or out of range).
    pub fn insert(&mut self, gt: GtId) -> bool {
        let b = bit_of(gt);
        let new = b != 0 && self.0 & b == 0;
        self.0 |= b;
        new
    }

    /// Number of GTs in the set.
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The members in increasing order.
    pub fn iter(self) -> impl Iterator<Item = GtId> {
        let mut rest = self.0;
        core::iter::from_fn(move || {
            if rest == 0 {
                return None;
            }
            let n = rest.trailing_zeros();
            rest &= rest - 1;
            // n < MAX_GTS <= 60, so it fits a u8.
            Some(GtId(n as u8))
        })
    }
}

impl fmt::Debug for GtSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter().map(|g| g.0)).finish()
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for GtSet {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "GtSet({:#x})", self.0)
    }
}

/// The bit of `gt`, or 0 when `gt` is not below [`MAX_GTS`].
const fn bit_of(gt: GtId) -> usize {
    if (gt.0 as usize) < MAX_GTS {
        1 << gt.0
    } else {
        0
    }
}

/// The bits of GTs `0..n`, `n` clamped to [`MAX_GTS`].
const fn mask_of(n: usize) -> usize {
    let n = if n > MAX_GTS { MAX_GTS } else { n };
    // n <= 60 < usize::BITS on every target with MAX_GTS >= 1, so the shift cannot overflow.
    (1usize << n) - 1
}

/// When the first recovery pass after a migration is queued.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum StartPolicy {
    /// Queue only when every GT has reported the migration; the pass then recovers all of them
    /// (the Linux seed, about 6.13). GTs a pass defers or re-queues are owed a pass that does not
    /// wait; a late interrupt can leave its GT counted as pending until the other GTs next
    /// report (see the module docs, "Why a deferral owes a pass").
    AllGts,
    /// Queue on the first report; a pass recovers only the GTs whose bits it took (Linux 6.17 and
    /// later).
    AnyGt,
}

/// Why a [`Coordinator`] could not be built.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CoordinatorError {
    /// A device needs at least one GT.
    NoGts,
    /// More GTs than the state word has bits for.
    TooManyGts {
        /// The GT count asked for.
        requested: usize,
        /// [`MAX_GTS`].
        max: usize,
    },
}

impl fmt::Display for CoordinatorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CoordinatorError::NoGts => f.write_str("a migration coordinator needs at least one GT"),
            CoordinatorError::TooManyGts { requested, max } => {
                write!(
                    f,
                    "{requested} GTs requested, a coordinator tracks at most {max}"
                )
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for CoordinatorError {}

/// What [`Coordinator::signal`] did.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Signal {
    /// This call queued a recovery pass (it called `queue.queue()`).
    Queued,
    /// A pass is already queued and has not begun; it will take this GT.
    AlreadyPending,
    /// [`StartPolicy::AllGts`]: the GT is marked; the pass is queued when the others report.
    WaitingForOtherGts,
    /// The coordinator is torn down or the device is wedged: nothing is queued.
    Ignored,
    /// The GT id is not below the coordinator's GT count: nothing changed.
    InvalidGt,
}

impl Signal {
    /// Whether this call queued a recovery pass.
    pub const fn queued(self) -> bool {
        matches!(self, Signal::Queued)
    }
}

/// The lock-free migration coordinator of one device. See the [module docs](self).
pub struct Coordinator {
    /// In-flight `signal` count, flags and GT bits, see the module docs.
    state: AtomicUsize,
    /// Worker-side calls (`finish`, `defer`, `requeue`) that may still call `queue()`.
    worker_busy: AtomicUsize,
    /// Successful `begin()` calls.
    passes: AtomicUsize,
    /// `defer` calls that gave at least one GT back.
    deferrals: AtomicUsize,
    /// `requeue` calls that gave at least one GT back.
    requeues: AtomicUsize,
    num_gts: u8,
    policy: StartPolicy,
}

impl fmt::Debug for Coordinator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.state.load(Ordering::Acquire);
        f.debug_struct("Coordinator")
            .field("num_gts", &self.num_gts)
            .field("policy", &self.policy)
            .field("pending", &GtSet(s & self.gt_mask()))
            .field("queued", &(s & QUEUED != 0))
            .field("running", &(s & RUNNING != 0))
            .field("torn_down", &(s & TEARDOWN != 0))
            .field("wedged", &(s & WEDGED != 0))
            .field(
                "signals_in_flight",
                &((s & IN_FLIGHT_MASK) >> (usize::BITS - IN_FLIGHT_BITS)),
            )
            .finish()
    }
}

/// Defines `Coordinator::new`, `const` where the atomics allow it (not under loom, whose
/// atomics have no `const` constructor): one body for both.
macro_rules! define_new {
    ($($const:ident)?) => {
        impl Coordinator {
            /// A coordinator for a device with `num_gts` GTs (1..=[`MAX_GTS`]).
            pub $($const)? fn new(
                num_gts: usize,
                policy: StartPolicy,
            ) -> Result<Self, CoordinatorError> {
                if num_gts == 0 {
                    return Err(CoordinatorError::NoGts);
                }
                if num_gts > MAX_GTS {
                    return Err(CoordinatorError::TooManyGts {
                        requested: num_gts,
                        max: MAX_GTS,
                    });
                }
                Ok(Coordinator {
                    state: AtomicUsize::new(0),
                    worker_busy: AtomicUsize::new(0),
                    passes: AtomicUsize::new(0),
                    deferrals: AtomicUsize::new(0),
                    requeues: AtomicUsize::new(0),
                    // num_gts <= MAX_GTS < 64.
                    num_gts: num_gts as u8,
                    policy,
                })
            }
        }
    };
}

#[cfg(not(loom))]
define_new!(const);
#[cfg(loom)]
define_new!();

impl Coordinator {
    #[inline]
    fn gt_mask(&self) -> usize {
        mask_of(self.num_gts as usize)
    }

    /// Whether the policy says a pass should be queued for these GT bits.
    #[inline]
    fn policy_satisfied(&self, gt_bits: usize) -> bool {
        match self.policy {
            StartPolicy::AnyGt => gt_bits != 0,
            StartPolicy::AllGts => gt_bits == self.gt_mask(),
        }
    }

    /// GT `gt` reported a migration (`SW_INT_0`): the interrupt-context entry.
    ///
    /// Wait-free: two atomic read-modify-writes when the migration is already covered by a
    /// pending pass (announce-and-read, retire), three when this call queues (`AnyGt`) or sets
    /// its GT bit (`AllGts`), four for the `AllGts` call that completes the set; plus
    /// `queue.queue()` when this call is the one that queues. No loop, no lock, no allocation.
    /// Never queues once the coordinator is torn down or wedged. An out-of-range `gt` touches
    /// nothing and returns [`Signal::InvalidGt`].
    #[inline]
    pub fn signal<Q: WorkQueue + ?Sized>(&self, gt: GtId, queue: &Q) -> Signal {
        if gt.0 >= self.num_gts {
            return Signal::InvalidGt;
        }
        let bit = 1usize << gt.0;
        // Announce this call (see `is_idle`) and read the word in the same step: it is a
        // read-modify-write, so `prev` is the newest value in the word's modification order.
        let prev = self.state.fetch_add(IN_FLIGHT_ONE, Ordering::AcqRel);
        let outcome = if prev & STICKY != 0 {
            Signal::Ignored
        } else {
            match self.policy {
                StartPolicy::AnyGt => self.signal_any(bit, prev, queue),
                StartPolicy::AllGts => self.signal_all(bit, prev, queue),
            }
        };
        self.state.fetch_sub(IN_FLIGHT_ONE, Ordering::Release);
        outcome
    }

    /// `signal` under `AnyGt`, given the word as the announcement read it.
    #[inline]
    fn signal_any<Q: WorkQueue + ?Sized>(&self, bit: usize, prev: usize, queue: &Q) -> Signal {
        if prev & (bit | QUEUED) == bit | QUEUED {
            // The GT is marked and a pass is pending that has not begun (a `begin` clears the
            // bit and `QUEUED` in one step, after this announcement): that pass covers us.
            return Signal::AlreadyPending;
        }
        let prev = self.state.fetch_or(bit | QUEUED, Ordering::AcqRel);
        if prev & STICKY != 0 {
            Signal::Ignored
        } else if prev & QUEUED != 0 {
            Signal::AlreadyPending
        } else {
            queue.queue();
            Signal::Queued
        }
    }

    /// `signal` under `AllGts`, given the word as the announcement read it.
    #[inline]
    fn signal_all<Q: WorkQueue + ?Sized>(&self, bit: usize, prev: usize, queue: &Q) -> Signal {
        let mask = self.gt_mask();
        if prev & bit != 0 {
            // Already marked and not yet taken: setting it again changes nothing. If the set is
            // complete, `QUEUED` is set or is about to be set by the call that completed it.
            return if prev & mask == mask {
                Signal::AlreadyPending
            } else {
                Signal::WaitingForOtherGts
            };
        }
        let prev = self.state.fetch_or(bit, Ordering::AcqRel);
        let now = prev | bit;
        if prev & STICKY != 0 {
            Signal::Ignored
        } else if now & mask != mask {
            Signal::WaitingForOtherGts
        } else if prev & QUEUED != 0 {
            Signal::AlreadyPending
        } else {
            let prev = self.state.fetch_or(QUEUED, Ordering::AcqRel);
            if prev & STICKY != 0 {
                Signal::Ignored
            } else if prev & QUEUED != 0 {
                Signal::AlreadyPending
            } else {
                queue.queue();
                Signal::Queued
            }
        }
    }

    /// Starts a recovery pass (thread context, from the queued work item).
    ///
    /// If a pass is queued, none is running and the coordinator is neither torn down nor wedged,
    /// atomically clears `QUEUED`, takes the pending GTs and marks the pass running, and returns
    /// the GTs to recover (possibly empty: then just call [`finish`](Self::finish)). Under
    /// [`StartPolicy::AllGts`] the set is either all GTs or empty.
    ///
    /// Returns `None` when there is nothing to do: a spurious run, a run while another pass is
    /// running (`QUEUED` stays set and that pass's `finish` queues again), or after teardown or
    /// wedge. After `None`, do not call `finish`.
    pub fn begin(&self) -> Option<GtSet> {
        let mut cur = self.state.load(Ordering::Acquire);
        loop {
            if cur & RUN_FLAGS != QUEUED {
                trace!("migration pass not started (state {:#x})", cur);
                return None;
            }
            let bits = cur & self.gt_mask();
            let take = if self.policy_satisfied(bits) || cur & OWED != 0 {
                bits
            } else {
                0
            };
            let new = (cur & !(QUEUED | OWED | take)) | RUNNING;
            #[cfg(not(xe_sriov_vf_planted_bug))]
            let result = self
                .state
                .compare_exchange(cur, new, Ordering::AcqRel, Ordering::Acquire);
            // Planted bug for tests/loom.rs: the seed's "clear all flags with one blind store"
            // (a swap of a value computed from an earlier load) loses whatever changed in
            // between: a GT bit set by a signal, or a signal's in-flight count.
            #[cfg(xe_sriov_vf_planted_bug)]
            let result = Ok::<usize, usize>(self.state.swap(new, Ordering::AcqRel));
            match result {
                Ok(_) => {
                    // Only the pass that set RUNNING writes here, and passes are ordered by
                    // RUNNING (finish releases, begin acquires): no read-modify-write needed.
                    let n = self.passes.load(Ordering::Relaxed);
                    self.passes.store(n.wrapping_add(1), Ordering::Relaxed);
                    debug!("migration recovery pass begins, GT mask {:#x}", take);
                    return Some(GtSet(take));
                }
                Err(actual) => cur = actual,
            }
        }
    }

    /// Whether another recovery pass is coming: a GT bit is set or a pass is queued (the seed's
    /// `vf_post_migration_imminent`). A running pass that sees `true` should
    /// [`defer`](Self::defer) instead of sending `RESFIX_DONE`. Always `false` once torn down or
    /// wedged, since no pass will come.
    pub fn recovery_imminent(&self) -> bool {
        let s = self.state.load(Ordering::Acquire);
        s & STICKY == 0 && s & (self.gt_mask() | QUEUED) != 0
    }

    /// Marks `gts` migrated again (ORs the bits back) and sets `QUEUED`, plus `OWED` under
    /// [`StartPolicy::AllGts`] so that the pass takes them without waiting for the other GTs;
    /// counts the hand-back in `counter` when `gts` holds a GT. Returns whether this call flipped
    /// `QUEUED`. Thread context only.
    fn give_back<Q: WorkQueue + ?Sized>(
        &self,
        gts: GtSet,
        queue: &Q,
        counter: &AtomicUsize,
    ) -> bool {
        let bits = gts.bits() & self.gt_mask();
        if bits == 0 {
            return false;
        }
        counter.fetch_add(1, Ordering::Relaxed);
        self.worker_busy.fetch_add(1, Ordering::Relaxed);
        let mut cur = self.state.load(Ordering::Acquire);
        let flipped = loop {
            if cur & STICKY != 0 {
                break false;
            }
            let owed = match self.policy {
                StartPolicy::AnyGt => 0,
                StartPolicy::AllGts => OWED,
            };
            let new = cur | bits | QUEUED | owed;
            if new == cur {
                break false;
            }
            match self
                .state
                .compare_exchange(cur, new, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    let flipped = new & QUEUED != 0 && cur & QUEUED == 0;
                    // Inside a pass (RUNNING set) `finish` queues; outside one, queue now.
                    if flipped && cur & RUNNING == 0 {
                        queue.queue();
                    }
                    break flipped;
                }
                Err(actual) => cur = actual,
            }
        };
        self.worker_busy.fetch_sub(1, Ordering::Release);
        flipped
    }

    /// The running pass skips `RESFIX_DONE` for `gts` because another recovery is imminent: their
    /// bits are set again and a pass is queued that takes them (by this call when no pass is
    /// running, else by the running pass's [`finish`](Self::finish)); under
    /// [`StartPolicy::AllGts`] that pass does not wait for the other GTs (see the module docs,
    /// "Why a deferral owes a pass"). Does nothing once torn down or wedged. Call between
    /// [`begin`](Self::begin) and `finish`.
    pub fn defer<Q: WorkQueue + ?Sized>(&self, gts: GtSet, queue: &Q) {
        let flipped = self.give_back(gts, queue, &self.deferrals);
        debug!(
            "migration recovery deferred, GT mask {:#x}, new pass queued: {}",
            gts.bits(),
            flipped
        );
    }

    /// A GuC reply `VF_MIGRATED` showed that the GTs in `gts` were migrated again: their bits are
    /// set again and a pass is queued that takes them, under either policy (under
    /// [`StartPolicy::AllGts`] without waiting for the other GTs: the reply itself is proof that
    /// work is owed, even if the GuC raises no fresh interrupt). Counted in
    /// [`requeues`](Self::requeues).
    pub fn requeue<Q: WorkQueue + ?Sized>(&self, gts: GtSet, queue: &Q) {
        let flipped = self.give_back(gts, queue, &self.requeues);
        info!(
            "VF migrated again during recovery, GT mask {:#x}, new pass queued: {}",
            gts.bits(),
            flipped
        );
    }

    /// Ends the pass started by a successful [`begin`](Self::begin): clears `RUNNING` and, if a
    /// pass was queued meanwhile, calls `queue.queue()` so that it runs.
    pub fn finish<Q: WorkQueue + ?Sized>(&self, queue: &Q) {
        let prev = self.state.fetch_and(!RUNNING, Ordering::AcqRel);
        if prev & RUNNING == 0 {
            warn!("migration coordinator: finish() without a running pass");
        }
        trace!("migration recovery pass ends (state {:#x})", prev);
        if prev & QUEUED == 0 || prev & STICKY != 0 {
            return;
        }
        // A pass is queued and may have been refused while we ran: queue it again. Announce the
        // call, then re-read the word with a read-modify-write: either `teardown` came first in
        // the word's order and we see it (and do not queue), or `is_idle` sees the announcement.
        self.worker_busy.fetch_add(1, Ordering::Relaxed);
        let now = self.state.fetch_or(0, Ordering::AcqRel);
        if now & STICKY == 0 {
            queue.queue();
        }
        self.worker_busy.fetch_sub(1, Ordering::Release);
    }

    /// Marks the device wedged (recovery failed). Returns `true` only for the first caller. After
    /// it nothing is queued and no pass begins; a running pass still calls `finish`.
    pub fn wedge(&self) -> bool {
        let prev = self.state.fetch_or(WEDGED, Ordering::AcqRel);
        let first = prev & WEDGED == 0;
        if first {
            warn!("migration coordinator: device wedged");
        }
        first
    }

    /// Tears the coordinator down (driver unload): after this call no recovery pass is queued or
    /// begins. A pass already running goes on until its `finish`; wait for it, and for `queue()`
    /// calls decided before the teardown, with [`teardown_wait`](Self::teardown_wait).
    pub fn teardown(&self) {
        let prev = self.state.fetch_or(TEARDOWN, Ordering::AcqRel);
        if prev & TEARDOWN == 0 {
            debug!("migration coordinator torn down (state {:#x})", prev);
        }
    }

    /// Whether no pass is running and no coordinator call that might still call `queue()` is in
    /// flight (a `signal` between its entry and its return, a `finish`, `defer` or `requeue`).
    ///
    /// After [`teardown`](Self::teardown) or [`wedge`](Self::wedge) (happening before this call),
    /// `true` is final: the coordinator will not call `queue()` again and no pass will begin.
    pub fn is_idle(&self) -> bool {
        // One load sees the flags and every `signal` still between its announcement and its
        // retirement, consistently.
        let s = self.state.load(Ordering::Acquire);
        s & (RUNNING | IN_FLIGHT_MASK) == 0 && self.worker_busy.load(Ordering::Acquire) == 0
    }

    /// Waits, after [`teardown`](Self::teardown), until [`is_idle`](Self::is_idle), calling `relax`
    /// between checks (spin hint, yield, sleep...). `relax` returning `false` ends the wait (the
    /// caller's bound). Returns whether the coordinator is idle. Do not call it from inside a pass.
    pub fn teardown_wait(&self, mut relax: impl FnMut() -> bool) -> bool {
        loop {
            if self.is_idle() {
                return true;
            }
            if !relax() {
                return self.is_idle();
            }
        }
    }

    /// Whether [`wedge`](Self::wedge) was called.
    pub fn is_wedged(&self) -> bool {
        self.state.load(Ordering::Acquire) & WEDGED != 0
    }

    /// Whether [`teardown`](Self::teardown) was called.
    pub fn is_torn_down(&self) -> bool {
        self.state.load(Ordering::Acquire) & TEARDOWN != 0
    }

    /// Whether a pass is between [`begin`](Self::begin) and [`finish`](Self::finish).
    pub fn is_running(&self) -> bool {
        self.state.load(Ordering::Acquire) & RUNNING != 0
    }

    /// Whether a pass is queued and has not begun.
    pub fn is_queued(&self) -> bool {
        self.state.load(Ordering::Acquire) & QUEUED != 0
    }

    /// The GTs marked migrated and not yet taken by a pass.
    pub fn pending_gts(&self) -> GtSet {
        GtSet(self.state.load(Ordering::Acquire) & self.gt_mask())
    }

    /// The device's GT count.
    pub fn num_gts(&self) -> usize {
        self.num_gts as usize
    }

    /// The start policy.
    pub fn policy(&self) -> StartPolicy {
        self.policy
    }

    /// How many passes began (wrapping).
    pub fn passes_begun(&self) -> usize {
        self.passes.load(Ordering::Relaxed)
    }

    /// How many [`defer`](Self::defer) calls gave GTs back (wrapping).
    pub fn deferrals(&self) -> usize {
        self.deferrals.load(Ordering::Relaxed)
    }

    /// How many [`requeue`](Self::requeue) calls gave GTs back (wrapping).
    pub fn requeues(&self) -> usize {
        self.requeues.load(Ordering::Relaxed)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::workqueue::TestQueue;

    fn coord(n: usize, p: StartPolicy) -> Coordinator {
        Coordinator::new(n, p).unwrap()
    }

    /// One whole pass: begin, finish. Returns what begin returned.
    fn pass(c: &Coordinator, q: &TestQueue) -> Option<GtSet> {
        let r = c.begin();
        if r.is_some() {
            c.finish(q);
        }
        r
    }

    #[test]
    fn size_is_as_documented() {
        assert_eq!(
            core::mem::size_of::<Coordinator>(),
            6 * core::mem::size_of::<usize>()
        );
        #[cfg(target_pointer_width = "64")]
        assert_eq!(core::mem::size_of::<Coordinator>(), 48);
    }

    #[test]
    fn gt_limit() {
        assert_eq!(MAX_GTS, usize::BITS as usize - 13);
        assert_eq!(
            Coordinator::new(0, StartPolicy::AnyGt).err(),
            Some(CoordinatorError::NoGts)
        );
        assert_eq!(
            Coordinator::new(MAX_GTS + 1, StartPolicy::AllGts).err(),
            Some(CoordinatorError::TooManyGts {
                requested: MAX_GTS + 1,
                max: MAX_GTS
            })
        );
        assert!(Coordinator::new(usize::MAX, StartPolicy::AnyGt).is_err());
        let c = coord(MAX_GTS, StartPolicy::AllGts);
        let q = TestQueue::new();
        for g in 0..MAX_GTS - 1 {
            assert_eq!(
                c.signal(GtId(g as u8), &q),
                Signal::WaitingForOtherGts,
                "gt {g}"
            );
        }
        assert_eq!(c.signal(GtId(MAX_GTS as u8 - 1), &q), Signal::Queued);
        assert_eq!(c.signal(GtId(MAX_GTS as u8), &q), Signal::InvalidGt);
        assert_eq!(c.signal(GtId(255), &q), Signal::InvalidGt);
        assert!(q.take());
        assert_eq!(c.begin(), Some(GtSet::all(MAX_GTS)));
        assert!(!c.is_queued() && c.is_running());
        c.finish(&q);
        assert!(c.is_idle());
    }

    #[test]
    fn const_construction() {
        static C: Result<Coordinator, CoordinatorError> = Coordinator::new(2, StartPolicy::AnyGt);
        assert_eq!(C.as_ref().unwrap().num_gts(), 2);
    }

    #[test]
    fn error_display() {
        use std::string::ToString;
        assert!(CoordinatorError::NoGts.to_string().contains("at least one"));
        let e = CoordinatorError::TooManyGts {
            requested: 99,
            max: MAX_GTS,
        };
        assert!(e.to_string().contains("99"));
    }

    #[test]
    fn gtset_ops() {
        let mut s = GtSet::empty();
        assert!(s.is_empty());
        assert_eq!(s.len(), 0);
        assert!(s.insert(GtId(3)));
        assert!(!s.insert(GtId(3)));
        assert!(!s.insert(GtId(200)));
        assert!(s.insert(GtId(0)));
        assert!(s.contains(GtId(0)) && s.contains(GtId(3)) && !s.contains(GtId(1)));
        assert!(!s.contains(GtId(255)));
        assert_eq!(s.len(), 2);
        assert_eq!(s.bits(), 0b1001);
        let v: heapless::Vec<u8, 8> = s.iter().map(|g| g.0).collect();
        assert_eq!(&v[..], &[0, 3]);
        assert_eq!(GtSet::single(GtId(2)).bits(), 4);
        assert_eq!(GtSet::single(GtId(MAX_GTS as u8)), GtSet::empty());
        assert_eq!(GtSet::all(3).bits(), 7);
        assert_eq!(GtSet::all(0), GtSet::empty());
        assert_eq!(GtSet::all(usize::MAX).len(), MAX_GTS);
        assert_eq!(GtSet::from_bits(usize::MAX).len(), MAX_GTS);
        assert_eq!(GtSet::from_bits(usize::MAX).iter().count(), MAX_GTS);
        assert_eq!(
            GtSet::from_bits(usize::MAX).iter().last(),
            Some(GtId(MAX_GTS as u8 - 1))
        );
        assert_eq!(std::format!("{:?}", s), "{0, 3}");
    }

    #[test]
    fn any_gt_signal_outcomes() {
        let c = coord(2, StartPolicy::AnyGt);
        let q = TestQueue::new();
        assert_eq!(c.policy(), StartPolicy::AnyGt);
        assert_eq!(c.num_gts(), 2);
        assert!(!c.recovery_imminent());
        let s = c.signal(GtId(0), &q);
        assert_eq!(s, Signal::Queued);
        assert!(s.queued());
        assert_eq!(q.calls(), 1);
        assert!(c.recovery_imminent() && c.is_queued());
        let s = c.signal(GtId(1), &q);
        assert_eq!(s, Signal::AlreadyPending);
        assert!(!s.queued());
        assert_eq!(c.signal(GtId(2), &q), Signal::InvalidGt);
        assert_eq!(q.calls(), 1);
        assert_eq!(c.pending_gts(), GtSet::all(2));
        assert!(q.take());
        assert_eq!(c.begin(), Some(GtSet::all(2)));
        assert!(c.is_running() && !c.is_idle() && !c.recovery_imminent());
        assert!(c.pending_gts().is_empty());
        c.finish(&q);
        assert!(c.is_idle() && !c.is_running());
        assert_eq!(q.calls(), 1, "nothing came during the pass");
        assert_eq!(c.passes_begun(), 1);
    }

    #[test]
    fn all_gts_signal_outcomes() {
        let c = coord(3, StartPolicy::AllGts);
        let q = TestQueue::new();
        assert_eq!(c.signal(GtId(0), &q), Signal::WaitingForOtherGts);
        assert_eq!(c.signal(GtId(0), &q), Signal::WaitingForOtherGts);
        assert_eq!(c.signal(GtId(2), &q), Signal::WaitingForOtherGts);
        assert!(c.recovery_imminent(), "the seed's imminent: any GT bit");
        assert!(!c.is_queued() && q.calls() == 0);
        assert_eq!(c.signal(GtId(1), &q), Signal::Queued);
        assert_eq!(c.signal(GtId(1), &q), Signal::AlreadyPending);
        assert_eq!(q.calls(), 1);
        assert!(q.take());
        assert_eq!(c.begin(), Some(GtSet::all(3)));
        // A GT reporting during the pass waits for the others.
        assert_eq!(c.signal(GtId(2), &q), Signal::WaitingForOtherGts);
        c.finish(&q);
        assert_eq!(q.calls(), 1);
        assert_eq!(c.pending_gts(), GtSet::single(GtId(2)));
    }

    #[test]
    fn all_gts_partial_begin_takes_nothing() {
        // The late-QUEUED race, replayed by hand: QUEUED set while the set is incomplete.
        let c = coord(2, StartPolicy::AllGts);
        let q = TestQueue::new();
        c.signal(GtId(0), &q);
        c.state.fetch_or(QUEUED, Ordering::AcqRel);
        assert_eq!(c.begin(), Some(GtSet::empty()));
        assert_eq!(
            c.pending_gts(),
            GtSet::single(GtId(0)),
            "bit 0 keeps waiting"
        );
        c.finish(&q);
        assert_eq!(c.signal(GtId(1), &q), Signal::Queued);
        assert_eq!(c.begin(), Some(GtSet::all(2)));
        c.finish(&q);
    }

    #[test]
    fn begin_refusals() {
        let c = coord(1, StartPolicy::AnyGt);
        let q = TestQueue::new();
        assert_eq!(c.begin(), None, "spurious run");
        c.signal(GtId(0), &q);
        assert_eq!(c.begin(), Some(GtSet::single(GtId(0))));
        assert_eq!(c.begin(), None, "nothing queued");
        // A signal during the pass: its run is refused while we run, finish re-queues.
        assert_eq!(c.signal(GtId(0), &q), Signal::Queued);
        assert_eq!(q.calls(), 2);
        assert_eq!(c.begin(), None, "refused while running");
        assert!(c.is_queued(), "refusal leaves QUEUED");
        c.finish(&q);
        assert_eq!(q.calls(), 3, "finish re-queued");
        assert_eq!(pass(&c, &q), Some(GtSet::single(GtId(0))));
        assert_eq!(q.calls(), 3);
    }

    #[test]
    fn defer_requeues_any_gt() {
        let c = coord(2, StartPolicy::AnyGt);
        let q = TestQueue::new();
        c.signal(GtId(0), &q);
        let gts = c.begin().unwrap();
        assert_eq!(c.signal(GtId(1), &q), Signal::Queued);
        assert!(c.recovery_imminent());
        c.defer(gts, &q);
        assert_eq!(c.deferrals(), 1);
        assert_eq!(
            q.calls(),
            2,
            "inside a pass, defer leaves the queueing to finish"
        );
        c.finish(&q);
        assert_eq!(q.calls(), 3);
        assert_eq!(c.begin(), Some(GtSet::all(2)));
        c.finish(&q);
        // An empty defer is a no-op.
        c.defer(GtSet::empty(), &q);
        c.defer(GtSet::from_bits(0b100), &q);
        assert_eq!(c.deferrals(), 1);
        assert!(!c.is_queued());
    }

    #[test]
    fn all_gts_deferral_owes_a_pass_without_waiting() {
        let c = coord(2, StartPolicy::AllGts);
        let q = TestQueue::new();
        c.signal(GtId(0), &q);
        c.signal(GtId(1), &q);
        let gts = c.begin().unwrap();
        // A new migration: GT 1 reports during the pass.
        assert_eq!(c.signal(GtId(1), &q), Signal::WaitingForOtherGts);
        assert!(c.recovery_imminent());
        c.defer(GtSet::single(GtId(0)), &q);
        assert_eq!(c.deferrals(), 1);
        assert!(c.is_queued());
        c.finish(&q);
        // The owed pass takes GT 0 and GT 1's pending report without waiting for GT 0's.
        assert_eq!(pass(&c, &q), Some(gts));
        assert!(c.pending_gts().is_empty() && !c.recovery_imminent());
        // OWED is spent: a lone report waits again.
        assert_eq!(c.signal(GtId(0), &q), Signal::WaitingForOtherGts);
        assert!(!c.is_queued());
    }

    #[test]
    fn all_gts_requeue_owes_a_pass_without_waiting() {
        let c = coord(3, StartPolicy::AllGts);
        let q = TestQueue::new();
        for g in 0..3 {
            c.signal(GtId(g), &q);
        }
        let _ = c.begin().unwrap();
        c.requeue(GtSet::single(GtId(2)), &q);
        assert!(c.is_queued());
        c.finish(&q);
        assert!(q.take());
        assert_eq!(pass(&c, &q), Some(GtSet::single(GtId(2))));
        // OWED is spent: a lone report waits again.
        assert_eq!(c.signal(GtId(0), &q), Signal::WaitingForOtherGts);
        assert!(!c.is_queued());
    }

    #[test]
    fn requeue_counts_and_queues() {
        let c = coord(2, StartPolicy::AnyGt);
        let q = TestQueue::new();
        c.signal(GtId(1), &q);
        let gts = c.begin().unwrap();
        c.requeue(gts, &q);
        assert_eq!((c.requeues(), c.deferrals()), (1, 0));
        assert!(c.is_queued());
        c.finish(&q);
        assert_eq!(q.calls(), 2);
        assert_eq!(pass(&c, &q), Some(GtSet::single(GtId(1))));
        // Outside a pass, requeue queues by itself.
        c.requeue(GtSet::single(GtId(0)), &q);
        assert_eq!(q.calls(), 3);
        // Already queued: no second queue call.
        c.requeue(GtSet::single(GtId(1)), &q);
        assert_eq!(q.calls(), 3);
        assert_eq!(pass(&c, &q), Some(GtSet::all(2)));
    }

    #[test]
    fn wedge_once_and_nothing_after() {
        let c = coord(2, StartPolicy::AnyGt);
        let q = TestQueue::new();
        c.signal(GtId(0), &q);
        let gts = c.begin().unwrap();
        c.signal(GtId(1), &q);
        assert!(c.wedge());
        assert!(!c.wedge());
        assert!(c.is_wedged());
        assert!(!c.recovery_imminent());
        let calls = q.calls();
        assert_eq!(c.signal(GtId(0), &q), Signal::Ignored);
        c.defer(gts, &q);
        c.requeue(gts, &q);
        c.finish(&q);
        assert_eq!(q.calls(), calls, "nothing queued after wedge");
        assert_eq!(c.begin(), None);
        assert!(c.is_idle());
        assert!(c.teardown_wait(|| false));
    }

    #[test]
    fn teardown_stops_everything() {
        for p in [StartPolicy::AnyGt, StartPolicy::AllGts] {
            let c = coord(1, p);
            let q = TestQueue::new();
            assert!(!c.is_torn_down());
            c.signal(GtId(0), &q);
            let gts = c.begin().unwrap();
            c.teardown();
            c.teardown();
            assert!(c.is_torn_down());
            assert!(!c.is_idle(), "a pass is running");
            let mut spins = 0;
            assert!(!c.teardown_wait(|| {
                spins += 1;
                spins < 3
            }));
            assert_eq!(spins, 3);
            assert_eq!(c.signal(GtId(0), &q), Signal::Ignored);
            c.defer(gts, &q);
            c.finish(&q);
            assert!(c.teardown_wait(|| unreachable!()));
            assert_eq!(c.begin(), None);
            assert_eq!(q.calls(), 1);
        }
    }

    #[test]
    fn all_gts_signal_after_teardown_is_ignored() {
        // (The race where only the second `fetch_or` sees the sticky flag is in tests/loom.rs.)
        let c = coord(1, StartPolicy::AllGts);
        let q = TestQueue::new();
        c.teardown();
        assert_eq!(c.signal(GtId(0), &q), Signal::Ignored);
        assert_eq!(q.calls(), 0);
    }

    #[test]
    fn finish_without_begin_is_harmless() {
        let c = coord(1, StartPolicy::AnyGt);
        let q = TestQueue::new();
        c.finish(&q);
        assert!(c.is_idle());
        assert_eq!(q.calls(), 0);
    }

    #[test]
    fn debug_output() {
        let c = coord(2, StartPolicy::AnyGt);
        let q = TestQueue::new();
        c.signal(GtId(1), &q);
        let s = std::format!("{c:?}");
        assert!(
            s.contains("pending: {1}") && s.contains("queued: true"),
            "{s}"
        );
    }
}
