//! The lock-free migration coordinator: one per VF, shared by the interrupt handlers of all its
//! GTs and by the recovery worker.
//!
//! When a VM is migrated, the GuC of every GT raises `SW_INT_0`. Each GT's interrupt handler calls
//! [`Coordinator::signal`], which marks *that GT* for recovery and, when the [`StartPolicy`] says
//! so, puts the recovery worker on the embedder's [`WorkQueue`]. The worker (thread context,
//! written in [`recovery`](crate::recovery)) brackets a pass with [`Coordinator::begin`] and
//! [`Coordinator::finish`] and, for each GT it recovers, reports the GT's progress with
//! [`started`](Coordinator::started) (RESFIX_START was sent), [`fixed`](Coordinator::fixed) (the
//! fixups returned) and [`done`](Coordinator::done) (the GuC accepted RESFIX_DONE), or hands the GT
//! back with [`requeue`](Coordinator::requeue) (a `VF_MIGRATED` reply),
//! [`defer`](Coordinator::defer) (legacy protocol: another recovery imminent) or
//! [`postpone`](Coordinator::postpone) (the GT must wait for another one).
//!
//! # Per-GT state, as Linux 7.0 to 7.3 keep it
//!
//! Linux 7.0 (and still 7.3) keeps, per GT, `recovery_queued`, `recovery_inprogress` and
//! `ggtt_need_fixes` under a
//! spinlock. This coordinator keeps the same three flags per GT without a lock: "queued" as a
//! bit of the state word that the interrupt entry and the worker share, the other two from it
//! and from two bits of a *pass word* that only the worker writes:
//!
//! | flag | is | set by | cleared by |
//! |---|---|---|---|
//! | queued (`Q`, state word) | `Q` | `signal` (if not already set), `requeue`, `defer`, `postpone` | `started`: only after RESFIX_START was sent, so an interrupt that lands between the start of the GT's recovery and its RESFIX_START causes no second run (kernel commit "Reset recovery_queued after issuing RESFIX_START") |
//! | in progress | `Q` or `P` | `P` (pass word): `started` | `P`: `done`; the flag stays set while `Q` is (a report after RESFIX_START: "another recovery imminent", the queued run follows) |
//! | needs fixes | `Q` or `F` | `F` (pass word): `started` | `F`: `fixed`; the flag stays set while `Q` is (a report after RESFIX_START keeps the GGTT invalid until the next run's fixups) |
//!
//! So `Q` implies both flags by definition, and the worker clears `P` and `F` with plain stores
//! to its own word, never racing a report: a report that lands meanwhile sets `Q`, which keeps
//! the flag set whatever `P` or `F` hold, and the next run's `started` sets them again before it
//! clears `Q`. [`recovery_pending`](Coordinator::recovery_pending) is "in progress" (the kernel's
//! `recovery_inprogress`); [`needs_fixes`](Coordinator::needs_fixes) is "needs fixes". A reader
//! loads the state word, then the pass word (both Acquire): `started` stores `P` and `F` before
//! its read-modify-write clears `Q` (Release), so a reader that sees `Q` clear sees them. A
//! reader sees every report and every `fixed` or `done` that happened before its first load; it
//! is not a snapshot of the two words, so against a report and a `done` that both land between
//! its two loads it may answer with the `done` and without the report, as if the report had
//! come later (which, to that reader, it did).
//!
//! # The state word and the pass word
//!
//! The state word, one `AtomicUsize` (`B` = `usize::BITS`, `M` = [`MAX_GTS`]):
//!
//! | bits | name | meaning |
//! |---|---|---|
//! | `B-8 .. B` | in flight | how many `signal` calls are between their announcement and their return |
//! | `B-9` | `WEDGED` | sticky: recovery failed, the device is wedged |
//! | `B-10` | `TEARDOWN` | sticky: the driver is going away |
//! | `B-11` | `RUNNING` | a worker pass is between `begin()` and `finish()` (at most one) |
//! | `B-12` | `WORK` | the worker has been (or is being) put on the work queue and has not yet begun |
//! | `M .. 2M` | `R` per GT | [`StartPolicy::AllGts`] only: GT `n` reported since the last pass began (the seed's mask) |
//! | `0 .. M` | `Q` per GT | GT `n`'s recovery is queued (its RESFIX_START not yet sent) |
//!
//! The pass word, another `AtomicUsize`, written only by the worker (inside a pass; passes are
//! ordered by `RUNNING`), read by anyone:
//!
//! | bits | name | meaning |
//! |---|---|---|
//! | `2M .. B` | passes | how many passes began (wrapping), see [`Coordinator::passes_begun`] |
//! | `M .. 2M` | `F` per GT | GT `n` was started and its fixups have not returned since |
//! | `0 .. M` | `P` per GT | GT `n` was started and its RESFIX_DONE not accepted since |
//!
//! So a VF can have at most [`MAX_GTS`] GTs (13 on 64-bit targets, 5 on 32-bit ones); real
//! hardware has at most two tiles of two GTs. [`Coordinator::new`] rejects more with
//! [`CoordinatorError::TooManyGts`], and [`Coordinator::signal`] answers [`Signal::InvalidGt`] for
//! a GT id out of range instead of touching the word.
//!
//! # Transitions
//!
//! - `signal(gt)` (interrupt context) reads the word (a plain load), works out the whole
//!   transition from it and makes it in one step. If the GT's `Q` is already set (its recovery
//!   has not sent RESFIX_START yet, so it covers this report), or under `AllGts` its report is
//!   counted already, there is nothing to write: one idempotent read-modify-write (`fetch_or(0)`)
//!   confirms it on the newest value. Else one compare-and-swap sets the GT's `Q` (under
//!   `AllGts` also its `R`) and, when that queues the worker ([`StartPolicy::AnyGt`]: `WORK` was
//!   clear; [`StartPolicy::AllGts`]: the report completes the set of `R` bits and `WORK` was
//!   clear), flips `WORK` and adds this call to the in-flight count in the same step; then
//!   `queue.queue()`, then a `fetch_sub` retires it. If the compare-and-swap fails (another CPU
//!   changed the word since the load), the call takes the fallback, once: announce itself with
//!   a `fetch_add` on the in-flight count, which also reads the word; if `Q` was clear, under
//!   `AnyGt` `fetch_or(Q | WORK)`, under `AllGts` `fetch_or(Q | R)` and, if that completed the
//!   set, `fetch_or(WORK)`; whoever flipped `WORK` calls `queue.queue()`; retire with a
//!   `fetch_sub`. Both paths answer the same and leave the same word (a unit test checks every
//!   word of 2 GTs). With a [`polled`](WorkQueue::polled) queue ([`Polled`](crate::workqueue::Polled))
//!   nothing is called, so nothing is announced: the compare-and-swap flips `WORK` and that is
//!   all (one read-modify-write), and the fallback reads with `fetch_add(0)` and retires nothing.
//! - `begin()` (worker): if exactly `WORK` is set among `WORK`, `RUNNING` and the sticky flags,
//!   one compare-and-swap clears `WORK` (and every `R`) and sets `RUNNING`, and the pass gets
//!   the queued GTs (under `AllGts`: every GT, whose `Q` it sets); then it counts the pass in
//!   the pass word (a store). The `Q` bits stay: each is cleared by that GT's `started`.
//! - `started` (worker, inside a pass): stores the GT's `P` and `F` in the pass word, then one
//!   `fetch_and` clears its `Q`; `started_gts` does the same for a set of GTs at once (the
//!   pass driver, for the RESFIX_STARTs accepted in one round of polling). `fixed`, `done`: a
//!   store to the pass word (clear `F`, `P`) and a load of the state word for the answer (whether `Q` is clear, that is whether the flag now
//!   reads clear); no read-modify-write.
//! - `requeue`, `defer`, `postpone` (worker): set `Q` of the GTs and `WORK`, under either
//!   policy; outside a pass the call that flipped `WORK` queues, inside one `finish` does.
//!   `refuse` stores `P` and `F` of the GTs, then clears their `Q`.
//! - `finish()` (worker): `fetch_and(!RUNNING)`; if `WORK` was set (a report came during the pass
//!   and its run was refused), call `queue.queue()` again (after announcing the call and
//!   re-checking for a sticky flag, see invariant 5); a polled queue's worker finds `WORK` on
//!   its next look.
//! - `drop_idle_work()` (worker, inside a pass, [`StartPolicy::AnyGt`]): one compare-and-swap
//!   clears `WORK` from a word with `RUNNING` and no `Q` bit (the pass ran the GTs whose
//!   reports set it); any other word is left as it is.
//! - `wedge()` / `teardown()`: `fetch_or` of the sticky flag.
//!
//! # Invariants
//!
//! 1. **No report is lost.** A GT's `Q` stays set until the worker sent that GT's RESFIX_START
//!    (or refused the migration as unsupported); a report that finds `Q` clear sets it. So every
//!    report is followed by a RESFIX_START sent after it, and that start's configuration query
//!    sees the GuC's state at least as new as the report. (A report that writes nothing still
//!    reads the word with a read-modify-write: `started`'s `fetch_and` then either comes before
//!    it, and the report sees `Q` clear, or after it, and synchronizes with it.)
//! 2. **A queued GT always leads to a run.** Under `AnyGt` `Q` is set together with `WORK` (or
//!    `WORK` was already set and no `begin()` has consumed it), and a `begin()` refused because a
//!    pass is running leaves `WORK` for that pass's `finish()`, which queues again. Under
//!    `AllGts` a complete set of `R` bits is never left without `WORK`, a hand-back always
//!    sets `WORK`, and an incomplete set is visible ([`Coordinator::awaiting_reports`]) until
//!    the missing reports, or [`Coordinator::start_now`], complete it.
//! 3. **`AllGts` strands no GuC.** Once every report of a VM migration was delivered, every GT
//!    has had a RESFIX_START after the migration or is queued with `WORK` set or a pass running
//!    (see the `AllGts` section below; tests/loom.rs checks it with a ghost GuC per GT).
//! 4. **Never two passes.** `RUNNING` is set only by a successful `begin()` that saw it clear.
//! 5. **Nothing after teardown or wedge.** Once a sticky flag is in the word, no `signal` queues,
//!    no `begin()` succeeds, no `finish()`, `requeue`, `defer` or `postpone` queues. Every caller
//!    of `queue()` announces itself and reads the state word in one read-modify-write or in that
//!    order, so either the sticky flag came first and it does not queue, or
//!    [`Coordinator::is_idle`] sees the announcement until its `queue()` has returned. After
//!    `teardown()` and a `teardown_wait()` that returned `true`, the coordinator will never call
//!    `queue()` again: the embedder can cancel and free its work item. A polled queue is never
//!    called at all.
//! 6. **One GT's report never re-runs another GT.** Under `AnyGt` a report touches only its own
//!    GT's bits and `WORK`; the pass it queues recovers the GTs that are queued, nothing else.
//!
//! # `AllGts`: the seed's mask, a device-wide pass, and why a hand-back owes a pass
//!
//! Under `AllGts` every report sets its GT's `R` bit, also one that its GT's queued recovery
//! covers (the seed's `gt_flags` mask); the worker is queued when every `R` is set, and a pass
//! clears them as it begins. The pass is device-wide, as the seed's worker is: `begin` hands it
//! every GT, reported or not. That is what makes the policy lossless. A migration's report on a
//! GT either finds that GT queued (its RESFIX_START is still to come) or sets its `R` bit; a
//! pass that clears the bit began after the report, and being device-wide it then sends *every*
//! GT a RESFIX_START after the report, so no GT's migration depends on a report that was
//! already consumed. (With a pass that took only the queued GTs, a VF_MIGRATED re-queue of GT 1
//! followed by GT 1's interrupt and then, late, GT 0's left GT 0 blocked for good: the owed
//! pass consumed GT 1's report without starting GT 0, and GT 0's report then waited for a GT 1
//! report that never came.)
//!
//! A GT handed back by a pass (re-queued after `VF_MIGRATED`, deferred, postponed) is owed a
//! pass: one could instead wait for the new migration's interrupts to report every GT again
//! (the seed does), but interrupts coalesce, so that wait may never end.
//!
//! What the policy cannot do is tell a report that is slow from one that is lost, or from a late
//! interrupt whose migration a pass already covered: in all three cases a GT that reported
//! waits for the others, counts as "recovery pending" and its GGTT as not valid.
//! [`Coordinator::awaiting_reports`] shows the wait and [`Coordinator::start_now`] ends it (the
//! pass is device-wide, so it also recovers a GT whose interrupt was lost). `AnyGt`, the
//! default, never waits.
//!
//! # Why the interrupt entry is wait-free
//!
//! [`Coordinator::signal`] performs a bounded number of atomic operations and no loop. When no
//! other CPU changes the word under it: a load and one read-modify-write when there is nothing
//! to queue (covered, or marking the GT while the worker is queued), a load and two when it
//! queues (the compare-and-swap and the retiring `fetch_sub`), plus the embedder's `queue()`
//! (itself required to be non-blocking). When the compare-and-swap fails, the fallback adds
//! two to four read-modify-writes that cannot fail: at most six in all. With a polled queue:
//! one when it queues, and one less in the fallback (nothing to retire). It never retries, never
//! spins on another CPU's progress and never takes a lock, so it is safe in a hard interrupt
//! handler and on a CPU that interrupted the worker in the middle of a pass. Only the worker
//! side uses compare-and-swap loops (`begin`, the hand-backs), which retry only when another
//! CPU changed the word.
//!
//! # Orderings
//!
//! Every read-modify-write of the state word is AcqRel (release: it publishes what came before,
//! such as a report's GuC state change, to the worker; acquire: the worker's `started` sees it
//! and so does its re-query), except the retiring `fetch_sub`s, which only publish (Release:
//! `is_idle` acquires them, so a `queue()` call has returned before `is_idle` reads true). A
//! failed compare-and-swap wrote nothing and its value is not used (Relaxed). The plain first
//! load of `signal` is Relaxed: it only chooses what to try, and the one conclusion drawn from
//! it, a sticky flag, is final. The pass word's stores are Release and its loads by readers
//! Acquire (a `fixed` publishes the fixups before it); the worker's own loads of it are Relaxed
//! (it is their only writer).
//!
//! # Size
//!
//! A coordinator is five `AtomicUsize` words (the state word, the pass word and three counters)
//! plus the GT count and the policy, so `size_of::<Coordinator>()` is `6 * size_of::<usize>()`:
//! **48 bytes on 64-bit targets**, 24 bytes on 32-bit ones. (Under `--cfg loom` the atomics are loom's.)
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
//! assert!(coord.recovery_pending(GtId(1)) && coord.needs_fixes(GtId(1)));
//!
//! // Later, in thread context (the embedder's idle loop):
//! while QUEUE.take() {
//!     if let Some(gts) = coord.begin() {
//!         for gt in gts.iter() {
//!             // send RESFIX_START to `gt`, then:
//!             coord.started(gt);
//!             // re-query `gt`, apply its fixups, then:
//!             coord.fixed(gt);
//!             // send RESFIX_DONE; once the GuC accepted it:
//!             coord.done(gt);
//!         }
//!         coord.finish(&QUEUE);
//!     }
//! }
//! assert!(!coord.recovery_pending(GtId(1)) && !coord.needs_fixes(GtId(1)));
//! ```

use core::fmt;

use crate::sync::{AtomicUsize, Ordering, StateWord};
use crate::workqueue::WorkQueue;

use crate::ids::mask_of;
pub use crate::ids::{GtId, GtSet, IdOutOfRange};

/// Most GTs one coordinator can track: two bits per GT in the state word (beside the in-flight
/// count and the four flag bits, 12 bits) and two in the pass word (beside the pass count, which
/// keeps the rest: 38 bits on 64-bit targets, 22 on 32-bit ones).
pub const MAX_GTS: usize = (usize::BITS as usize - 12) / 4;

/// Width of the in-flight `signal` count in the top bits of the state word.
const IN_FLIGHT_BITS: u32 = 8;
/// One `signal` in flight (the count's unit).
const IN_FLIGHT_ONE: usize = 1 << (usize::BITS - IN_FLIGHT_BITS);
/// The in-flight count's bits.
const IN_FLIGHT_MASK: usize = !0 << (usize::BITS - IN_FLIGHT_BITS);

/// What a `signal` that may call `queue()` adds to the in-flight count: one, or nothing for a
/// [`polled`](WorkQueue::polled) queue, which is never called.
#[inline]
const fn announcement(polled: bool) -> usize {
    if polled {
        0
    } else {
        IN_FLIGHT_ONE
    }
}

const WEDGED: usize = 1 << (usize::BITS - IN_FLIGHT_BITS - 1);
const TEARDOWN: usize = 1 << (usize::BITS - IN_FLIGHT_BITS - 2);
const RUNNING: usize = 1 << (usize::BITS - IN_FLIGHT_BITS - 3);
const WORK: usize = 1 << (usize::BITS - IN_FLIGHT_BITS - 4);
const STICKY: usize = WEDGED | TEARDOWN;
/// The flags that decide whether a pass may begin.
const RUN_FLAGS: usize = WEDGED | TEARDOWN | RUNNING | WORK;

/// The `R` (reported since the last pass began; [`StartPolicy::AllGts`] only) bits of the GTs in
/// `q` (a mask of `Q` bits), in the state word.
const fn r_of(q: usize) -> usize {
    q << MAX_GTS
}

/// The pass word's `P` (started, RESFIX_DONE not yet accepted) bits of the GTs in `q` (a mask of
/// `Q` bits).
const fn p_of(q: usize) -> usize {
    q
}

/// The pass word's `F` (started, fixups not yet returned) bits of the GTs in `q` (a mask of `Q`
/// bits).
const fn f_of(q: usize) -> usize {
    q << MAX_GTS
}

/// The pass word's `P` and `F` bits of the GTs in `q`: what `started` sets.
const fn started_flags(q: usize) -> usize {
    p_of(q) | f_of(q)
}

/// The pass word's unit of the pass count (above the `P` and `F` bits).
const PASS_ONE: usize = 1 << (2 * MAX_GTS);

/// When the worker is queued after a migration.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum StartPolicy {
    /// Queue only when every GT has reported the migration; the pass is device-wide: it
    /// recovers every GT (the Linux seed, about 6.13). GTs a pass hands back are owed a pass
    /// that does not wait. A lost or late interrupt leaves the GTs that reported waiting for the
    /// others: see [`Coordinator::awaiting_reports`] and [`Coordinator::start_now`], and the
    /// module docs.
    AllGts,
    /// Queue on any GT's report; a pass recovers the GTs that are queued, and one GT's report
    /// never re-runs or defers another GT's recovery (the per-GT recovery of Linux 7.0 to 7.3).
    AnyGt,
}

/// Why a [`Coordinator`] could not be built.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
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

impl core::error::Error for CoordinatorError {}

/// What [`Coordinator::signal`] did.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[must_use = "a Signal says whether this report queued the worker"]
#[non_exhaustive]
pub enum Signal {
    /// This call queued the worker: it called `queue.queue()`, or, with a
    /// [`polled`](WorkQueue::polled) queue, set the pending flag the worker polls.
    Queued,
    /// The GT's recovery is already queued (its RESFIX_START not yet sent), or the worker is:
    /// nothing more to do.
    AlreadyPending,
    /// [`StartPolicy::AllGts`]: the GT is marked; the worker is queued when the others report.
    WaitingForOtherGts,
    /// The coordinator is torn down or the device is wedged: nothing is queued.
    Ignored,
    /// The GT id is not below the coordinator's GT count: nothing changed.
    InvalidGt,
}

impl Signal {
    /// Whether this call queued the worker.
    #[must_use]
    pub const fn queued(self) -> bool {
        matches!(self, Signal::Queued)
    }
}

/// The lock-free migration coordinator of one VF. See the [module docs](self).
pub struct Coordinator {
    /// In-flight `signal` count, flags and per-GT `Q` and `R` bits, see the module docs.
    state: StateWord,
    /// Worker-side calls (`finish` and the hand-backs) that may still call `queue()`.
    worker_busy: AtomicUsize,
    /// The pass word: per-GT `P` and `F` bits and the count of successful `begin()` calls.
    /// Written only by the worker, with plain stores (see the module docs).
    pass: AtomicUsize,
    /// `defer` calls that gave at least one GT back.
    deferrals: AtomicUsize,
    /// `requeue` calls that gave at least one GT back.
    requeues: AtomicUsize,
    num_gts: u8,
    policy: StartPolicy,
}

impl fmt::Debug for Coordinator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (q, p, fx) = self.gt_flags();
        let s = self.state.load(Ordering::Acquire);
        f.debug_struct("Coordinator")
            .field("num_gts", &self.num_gts)
            .field("policy", &self.policy)
            .field("queued", &GtSet(q))
            .field("in_progress", &GtSet(q | p))
            .field("needs_fixes", &GtSet(q | fx))
            .field("work_queued", &(s & WORK != 0))
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

impl Coordinator {
    const_unless_loom! {
        /// A coordinator for a device with `num_gts` GTs (1..=[`MAX_GTS`]).
        ///
        /// # Errors
        ///
        /// [`CoordinatorError::NoGts`] for 0 GTs; [`CoordinatorError::TooManyGts`] above
        /// [`MAX_GTS`].
        pub fn new(num_gts: usize, policy: StartPolicy) -> Result<Self, CoordinatorError> {
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
                state: StateWord::new(0),
                worker_busy: AtomicUsize::new(0),
                pass: AtomicUsize::new(0),
                deferrals: AtomicUsize::new(0),
                requeues: AtomicUsize::new(0),
                // num_gts <= MAX_GTS < 256.
                num_gts: num_gts as u8,
                policy,
            })
        }
    }
}

impl Coordinator {
    /// Read-modify-writes made on the state word so far (the recovery unit tests, which need
    /// the mock, count them).
    #[cfg(all(test, not(loom), feature = "mock", feature = "std"))]
    pub(crate) fn state_rmws(&self) -> usize {
        self.state.rmws()
    }

    #[inline]
    fn gt_mask(&self) -> usize {
        mask_of(self.num_gts as usize)
    }

    /// The `Q` bit of `gt`, or `None` when `gt` is out of range.
    #[inline]
    fn q_bit(&self, gt: GtId) -> Option<usize> {
        (gt.0 < self.num_gts).then(|| 1usize << gt.0)
    }

    /// GT `gt` reported a migration (`SW_INT_0`): the interrupt-context entry.
    ///
    /// Wait-free. Uncontended, one atomic read-modify-write when there is nothing to queue (the
    /// report is covered, or it marks the GT while the worker is already queued), two when this
    /// call queues the worker, plus `queue.queue()` (one, and no call, with a
    /// [`polled`](WorkQueue::polled) queue). When another CPU changes the word between
    /// this call's first look and its compare-and-swap, the swap fails once and the call takes
    /// a fallback of two to four read-modify-writes, still without a loop. No lock, no
    /// allocation. Never queues once the coordinator is torn down or wedged. An out-of-range
    /// `gt` touches nothing and returns [`Signal::InvalidGt`].
    #[inline]
    pub fn signal<Q: WorkQueue + ?Sized>(&self, gt: GtId, queue: &Q) -> Signal {
        let Some(q) = self.q_bit(gt) else {
            return Signal::InvalidGt;
        };
        // A first look: it may be stale, so it only decides what to try (Relaxed: nothing is
        // concluded from it).
        let mut cur = self.state.load(Ordering::Relaxed);
        let polled = queue.polled();
        let (mut new, mut outcome) = self.transition(cur, q, polled);
        if new == cur {
            // Nothing to write: confirm on the newest value. An idempotent read-modify-write
            // reads the last value in the word's modification order, and (AcqRel) a later
            // `started`, whose read-modify-write follows it, synchronizes with it: the re-query
            // after that RESFIX_START sees the GuC's state as of this report (invariant 1). On
            // x86 it compiles to a locked no-op on the stack and a load.
            cur = self.state.fetch_or(0, Ordering::AcqRel);
            (new, outcome) = self.transition(cur, q, polled);
            if new == cur {
                return outcome;
            }
        }
        // The whole transition in one step, if the word is still `cur`. AcqRel: it publishes
        // the report (for the `begin` that takes it) and is, like above, the read that a later
        // `started` synchronizes with. A failed swap wrote nothing (Relaxed), and the fallback
        // reads the word again.
        match self
            .state
            .compare_exchange(cur, new, Ordering::AcqRel, Ordering::Relaxed)
        {
            Ok(_) => {
                if outcome == Signal::Queued && !polled {
                    // The swap announced this call (the in-flight count) in the step that saw
                    // no sticky flag and flipped WORK (invariant 5); retire once queue() is back.
                    // A polled queue is not called: WORK is the whole queue, nothing to retire.
                    queue.queue();
                    self.state.fetch_sub(IN_FLIGHT_ONE, Ordering::Release);
                }
                outcome
            }
            Err(_) => self.signal_contended(q, queue),
        }
    }

    /// What a report of the GT whose `Q` bit is `q` makes of the word `cur`, and what `signal`
    /// answers: the whole transition, for the single compare-and-swap. When it answers
    /// [`Signal::Queued`] the new word has `WORK` flipped and, unless the queue is `polled`
    /// (never called), one more signal in flight.
    #[inline]
    fn transition(&self, cur: usize, q: usize, polled: bool) -> (usize, Signal) {
        if cur & STICKY != 0 {
            return (cur, Signal::Ignored);
        }
        let marked = match self.policy {
            // Queued and its RESFIX_START not yet sent: that recovery covers this report.
            StartPolicy::AnyGt if cur & q != 0 => return (cur, Signal::AlreadyPending),
            StartPolicy::AnyGt => cur | q,
            // A covered report still counts as this GT's report for the next pass (the seed's
            // mask: every report sets its bit).
            StartPolicy::AllGts => {
                let marked = cur | q | r_of(q);
                let all = r_of(self.gt_mask());
                if marked & all != all {
                    return (marked, Signal::WaitingForOtherGts);
                }
                marked
            }
        };
        if cur & WORK != 0 {
            // The worker is queued and has not begun: the `begin` that takes WORK comes after
            // this report in the word's order and takes the GT.
            (marked, Signal::AlreadyPending)
        } else {
            (
                (marked | WORK).wrapping_add(announcement(polled)),
                Signal::Queued,
            )
        }
    }

    /// `signal` after its compare-and-swap failed (the word changed under it): announce and
    /// read in one `fetch_add`, then `fetch_or` the marks, retire with a `fetch_sub`. Every
    /// step is a read-modify-write that cannot fail.
    #[inline(never)]
    fn signal_contended<Q: WorkQueue + ?Sized>(&self, q: usize, queue: &Q) -> Signal {
        // A polled queue is never called: the read-modify-write only reads the newest word.
        let one = announcement(queue.polled());
        let prev = self.state.fetch_add(one, Ordering::AcqRel);
        let outcome = if prev & STICKY != 0 {
            Signal::Ignored
        } else if prev & q != 0 && self.policy == StartPolicy::AnyGt {
            Signal::AlreadyPending
        } else {
            match self.policy {
                StartPolicy::AnyGt => {
                    let prev = self.state.fetch_or(q | WORK, Ordering::AcqRel);
                    self.queue_if_flipped(prev, queue)
                }
                StartPolicy::AllGts => self.report_all_gts(q | r_of(q), queue),
            }
        };
        if one != 0 {
            self.state.fetch_sub(one, Ordering::Release);
        }
        outcome
    }

    /// [`StartPolicy::AllGts`], in the fallback: sets `bits` (the GT's `Q` and `R` bits) and,
    /// if that completed the set of `R` bits, flips `WORK` and queues. One read-modify-write,
    /// two for the call that completes the set.
    #[inline]
    fn report_all_gts<Q: WorkQueue + ?Sized>(&self, bits: usize, queue: &Q) -> Signal {
        let prev = self.state.fetch_or(bits, Ordering::AcqRel);
        let all = r_of(self.gt_mask());
        if prev & STICKY != 0 {
            Signal::Ignored
        } else if (prev | bits) & all != all {
            Signal::WaitingForOtherGts
        } else if prev & WORK != 0 {
            Signal::AlreadyPending
        } else {
            let prev = self.state.fetch_or(WORK, Ordering::AcqRel);
            self.queue_if_flipped(prev, queue)
        }
    }

    /// After a `fetch_or` that included `WORK` and returned `prev`: queue if this call flipped it.
    #[inline]
    fn queue_if_flipped<Q: WorkQueue + ?Sized>(&self, prev: usize, queue: &Q) -> Signal {
        if prev & STICKY != 0 {
            Signal::Ignored
        } else if prev & WORK != 0 {
            Signal::AlreadyPending
        } else {
            if !queue.polled() {
                queue.queue();
            }
            Signal::Queued
        }
    }

    /// Starts a worker pass (thread context, from the queued work item).
    ///
    /// If the worker is queued, no pass is running and the coordinator is neither torn down nor
    /// wedged, atomically clears `WORK` (and, under [`StartPolicy::AllGts`], the reports
    /// counted since the last pass) and marks the pass running, and returns the GTs to recover:
    /// the queued ones. The set may be empty: then just call [`finish`](Self::finish). The GTs
    /// stay queued until [`started`](Self::started).
    ///
    /// Returns `None` when there is nothing to do: a spurious run, a run while another pass is
    /// running (`WORK` stays set and that pass's `finish` queues again), or after teardown or
    /// wedge. After `None`, do not call `finish`.
    #[inline]
    #[must_use]
    pub fn begin(&self) -> Option<GtSet> {
        let mut cur = self.state.load(Ordering::Acquire);
        loop {
            if cur & RUN_FLAGS != WORK {
                trace!("migration pass not started (state {:#x})", cur);
                return None;
            }
            let mask = self.gt_mask();
            let take = match self.policy {
                StartPolicy::AnyGt => cur & mask,
                // The seed's device-wide pass: every GT, queued from now until its own
                // RESFIX_START like a reported one (see the module docs).
                StartPolicy::AllGts => mask,
            };
            let new = (cur & !(WORK | r_of(mask))) | take | RUNNING;
            // Planted bug for tests/loom.rs: the GTs' queued flags cleared as the pass begins
            // instead of after each GT's RESFIX_START (what kernel commit "Reset recovery_queued
            // after issuing RESFIX_START" fixed): a report that lands before RESFIX_START then
            // queues a second, redundant run.
            #[cfg(xe_sriov_vf_planted_bug)]
            let new = new & !take;
            let result = self
                .state
                .compare_exchange(cur, new, Ordering::AcqRel, Ordering::Acquire);
            match result {
                Ok(_) => {
                    // The pass word: only the pass that set RUNNING writes it, and passes are
                    // ordered by RUNNING (finish releases, begin acquires).
                    #[cfg(xe_sriov_vf_planted_bug)]
                    self.pass_set(started_flags(take));
                    let w = self.pass.load(Ordering::Relaxed);
                    self.pass.store(w.wrapping_add(PASS_ONE), Ordering::Release);
                    debug!("migration recovery pass begins, GT mask {:#x}", take);
                    return Some(GtSet(take));
                }
                Err(actual) => cur = actual,
            }
        }
    }

    /// RESFIX_START was sent for `gt` (or, on the legacy protocol, its recovery began): clears its
    /// queued flag; its recovery stays in progress and its GGTT needs fixes until
    /// [`done`](Self::done) and [`fixed`](Self::fixed). A report from now on queues another run
    /// of this GT. Worker only (inside a pass).
    ///
    /// One read-modify-write (the `Q` bit, which reports set concurrently) and a plain store
    /// to the pass word.
    #[inline]
    pub fn started(&self, gt: GtId) {
        if let Some(q) = self.q_bit(gt) {
            self.start_bits(q);
        }
    }

    /// [`started`](Self::started) for every GT in `gts` at once, in one read-modify-write: for
    /// a worker that sees several RESFIX_START replies accepted in one round of polling its
    /// mailboxes (the pass driver does). Each GT's queued flag is cleared after its own
    /// RESFIX_START was accepted, as `started` requires; a report of one of them that lands
    /// between its reply and this call is covered by the run in progress, as one that lands
    /// just before `started` is (under the marker protocol, such a late migration is caught
    /// by its RESFIX_DONE's `VF_MIGRATED` reply). Ignores GTs out of range; an empty set costs
    /// nothing. Worker only (inside a pass).
    #[inline]
    pub fn started_gts(&self, gts: GtSet) {
        let bits = gts.bits() & self.gt_mask();
        if bits != 0 {
            self.start_bits(bits);
        }
    }

    /// The GTs `bits` are started: in progress and needs fixes set in the pass word, then their
    /// `Q` bits cleared.
    #[inline]
    fn start_bits(&self, bits: usize) {
        // In progress and needs fixes first, then not queued: whoever reads the `Q` bit
        // clear (acquire) then reads the pass word with them set.
        self.pass_set(started_flags(bits));
        // AcqRel: acquire, so that the re-query after this call sees the GuC's state as of
        // every report this word holds (invariant 1); release, for the pass word above.
        self.state.fetch_and(!bits, Ordering::AcqRel);
    }

    /// Sets `bits` in the pass word. The pass is its only writer: a load (Relaxed: its own
    /// last store) and a store (Release: for the readers of the flags, see `gt_flags`).
    #[inline]
    fn pass_set(&self, bits: usize) {
        let w = self.pass.load(Ordering::Relaxed);
        self.pass.store(w | bits, Ordering::Release);
    }

    /// Clears `bits` in the pass word; see [`pass_set`](Self::pass_set).
    #[inline]
    fn pass_clear(&self, bits: usize) {
        let w = self.pass.load(Ordering::Relaxed);
        self.pass.store(w & !bits, Ordering::Release);
    }

    /// Clears `gt`'s flag `flag_of(q)` in the pass word; returns whether the GT is not queued
    /// again, that is whether the flag, which a queued GT has anyway, is now clear.
    #[inline]
    fn clear_unless_queued(&self, gt: GtId, flag_of: fn(usize) -> usize) -> bool {
        let Some(q) = self.q_bit(gt) else {
            return false;
        };
        // A queued GT's flags read as set whatever the pass word holds (`Q` implies `P` and
        // `F`), so clearing unconditionally is right: no compare-and-swap with the reports.
        // The load of the state word only answers the question (a report that lands after it
        // is a report after this call).
        self.pass_clear(flag_of(q));
        self.state.load(Ordering::Acquire) & q == 0
    }

    /// `gt`'s fixups (its tile's GGTT and its own) returned: clears its needs-fixes flag, unless
    /// the GT was reported again since its RESFIX_START (then the GGTT stays invalid until the
    /// next run's fixups). Returns whether the flag is now clear. Worker only (inside a pass).
    /// No read-modify-write: a store to the pass word and a load.
    #[inline]
    pub fn fixed(&self, gt: GtId) -> bool {
        self.clear_unless_queued(gt, f_of)
    }

    /// The GuC accepted `gt`'s RESFIX_DONE: clears its in-progress flag, unless the GT was reported
    /// again since its RESFIX_START ("another recovery imminent": the queued run follows).
    /// Returns whether the flag is now clear. Worker only (inside a pass). No read-modify-write:
    /// a store to the pass word and a load.
    #[inline]
    pub fn done(&self, gt: GtId) -> bool {
        self.clear_unless_queued(gt, p_of)
    }

    /// Marks `gts` queued again (with in-progress and needs-fixes) and queues the worker, under
    /// either policy (the pass owes them a run: no waiting for other GTs); counts the hand-back
    /// in `counter` when given and `gts` holds a GT. Returns whether this call flipped `WORK`.
    /// Thread context only.
    #[inline(never)]
    fn give_back<Q: WorkQueue + ?Sized>(
        &self,
        gts: GtSet,
        queue: &Q,
        counter: Option<&AtomicUsize>,
    ) -> bool {
        let bits = gts.bits() & self.gt_mask();
        if bits == 0 {
            return false;
        }
        if let Some(counter) = counter {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        self.worker_busy.fetch_add(1, Ordering::Relaxed);
        let mut cur = self.state.load(Ordering::Acquire);
        let flipped = loop {
            if cur & STICKY != 0 {
                break false;
            }
            // Queued (which implies in progress and needs fixes) and the worker owed a pass.
            let new = cur | bits | WORK;
            if new == cur {
                break false;
            }
            match self
                .state
                .compare_exchange(cur, new, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    let flipped = cur & WORK == 0;
                    // Inside a pass (RUNNING set) `finish` queues; outside one, queue now
                    // (a polled queue: WORK is all it takes).
                    if flipped && cur & RUNNING == 0 && !queue.polled() {
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

    /// A GuC reply `VF_MIGRATED` showed that `gts` were migrated again: they are queued again (with
    /// their GGTT invalid) and the worker is queued, under either policy without waiting for
    /// other GTs: the reply itself is proof that work is owed, even if the GuC raises no fresh
    /// interrupt. Counted in [`requeues`](Self::requeues). Does nothing once torn down or wedged.
    pub fn requeue<Q: WorkQueue + ?Sized>(&self, gts: GtSet, queue: &Q) {
        let flipped = self.give_back(gts, queue, Some(&self.requeues));
        info!(
            "VF migrated again during recovery, GT mask {:#x}, new pass queued: {}",
            gts.bits(),
            flipped
        );
    }

    /// Legacy protocol only: the running pass skips `RESFIX_DONE` for `gts` because another
    /// recovery is imminent; they are queued again for the pass that follows. Counted in
    /// [`deferrals`](Self::deferrals). Does nothing once torn down or wedged.
    pub fn defer<Q: WorkQueue + ?Sized>(&self, gts: GtSet, queue: &Q) {
        let flipped = self.give_back(gts, queue, Some(&self.deferrals));
        debug!(
            "migration recovery deferred, GT mask {:#x}, new pass queued: {}",
            gts.bits(),
            flipped
        );
    }

    /// The running pass did not start `gts` (they wait for another GT's recovery): they stay
    /// queued and a later pass takes them. Not counted. Does nothing once torn down or wedged.
    pub fn postpone<Q: WorkQueue + ?Sized>(&self, gts: GtSet, queue: &Q) {
        let _ = self.give_back(gts, queue, None);
    }

    /// Migration is refused for `gts` (unsupported): their queued flags are dropped without a
    /// run; in-progress and needs-fixes stay set (the GuC keeps the VF blocked).
    pub fn refuse(&self, gts: GtSet) {
        // As if started: in progress and needs fixes set, not queued.
        self.started_gts(gts);
    }

    /// Ends the pass started by a successful [`begin`](Self::begin): clears `RUNNING` and, if the
    /// worker was queued meanwhile, calls `queue.queue()` so that it runs.
    #[inline]
    pub fn finish<Q: WorkQueue + ?Sized>(&self, queue: &Q) {
        let prev = self.state.fetch_and(!RUNNING, Ordering::AcqRel);
        if prev & RUNNING == 0 {
            warn!("migration coordinator: finish() without a running pass");
        }
        trace!("migration recovery pass ends (state {:#x})", prev);
        // A polled worker finds WORK itself, on its next look.
        if prev & WORK == 0 || prev & STICKY != 0 || queue.polled() {
            return;
        }
        // The worker is queued and may have been refused while we ran: queue it again. Announce
        // the call, then re-read the word with a read-modify-write: either `teardown` came first
        // in the word's order and we see it (and do not queue), or `is_idle` sees the
        // announcement.
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

    /// Tears the coordinator down (driver unload): after this call no pass is queued or begins.
    /// A pass already running goes on until its `finish`; wait for it, and for `queue()` calls
    /// decided before the teardown, with [`teardown_wait`](Self::teardown_wait).
    pub fn teardown(&self) {
        let prev = self.state.fetch_or(TEARDOWN, Ordering::AcqRel);
        if prev & TEARDOWN == 0 {
            debug!("migration coordinator torn down (state {:#x})", prev);
        }
    }

    /// Whether no pass is running and no coordinator call that might still call `queue()` is in
    /// flight (a `signal` between its entry and its return, a `finish` or a hand-back).
    ///
    /// After [`teardown`](Self::teardown) or [`wedge`](Self::wedge) (happening before this call),
    /// `true` is final: the coordinator will not call `queue()` again and no pass will begin.
    pub fn is_idle(&self) -> bool {
        let s = self.state.load(Ordering::Acquire);
        s & (RUNNING | IN_FLIGHT_MASK) == 0 && self.worker_busy.load(Ordering::Acquire) == 0
    }

    /// Waits, after [`teardown`](Self::teardown), until [`is_idle`](Self::is_idle), calling `relax`
    /// between checks (spin hint, yield, sleep...). `relax` returning `false` ends the wait (the
    /// caller's bound). Returns whether the coordinator is idle. Do not call it from inside a pass.
    #[must_use = "false means the coordinator may still call queue(): do not free the work item"]
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

    /// Whether the worker is queued and has not begun.
    pub fn is_queued(&self) -> bool {
        self.state.load(Ordering::Acquire) & WORK != 0
    }

    /// The GTs whose recovery is queued (reported, RESFIX_START not yet sent).
    pub fn pending_gts(&self) -> GtSet {
        GtSet(self.state.load(Ordering::Acquire) & self.gt_mask())
    }

    /// The GTs whose recovery is in progress (see [`recovery_pending`](Self::recovery_pending)).
    pub fn in_progress_gts(&self) -> GtSet {
        let (q, p, _) = self.gt_flags();
        GtSet(q | p)
    }

    /// The GTs whose GGTT needs fixes.
    pub fn needs_fixes_gts(&self) -> GtSet {
        let (q, _, f) = self.gt_flags();
        GtSet(q | f)
    }

    /// The `Q` bits of the state word and the `P` and `F` bits of the pass word, each as a mask
    /// of GTs: (queued, started and not done, started and not fixed). A GT is in progress when
    /// queued or started and not done, and needs fixes when queued or started and not fixed.
    ///
    /// The state word is read first (Acquire): `started` and `refuse` store the pass word's
    /// flags before their read-modify-write clears the `Q` bit (Release), so a `Q` bit read
    /// clear is never followed by a pass word without the flags that replaced it.
    #[inline]
    fn gt_flags(&self) -> (usize, usize, usize) {
        let s = self.state.load(Ordering::Acquire);
        let w = self.pass.load(Ordering::Acquire);
        let m = self.gt_mask();
        (s & m, p_of(w) & m, (w >> MAX_GTS) & m)
    }

    /// Whether `gt`'s recovery is pending (the kernel's `recovery_inprogress`): set by its
    /// report, cleared once the GuC accepted a RESFIX_DONE sent after its last report. `false`
    /// for an unknown GT and once the device is wedged. Wait-free; fine in interrupt context.
    pub fn recovery_pending(&self, gt: GtId) -> bool {
        self.q_bit(gt).is_some_and(|b| {
            let (q, p, _) = self.gt_flags();
            !self.is_wedged() && (q | p) & b != 0
        })
    }

    /// Whether `gt`'s GGTT needs fixes (the kernel's `ggtt_need_fixes`): set by its report or a
    /// `VF_MIGRATED` reply, cleared once its fixups returned after its last report. `false` for an
    /// unknown GT. Wait-free.
    pub fn needs_fixes(&self, gt: GtId) -> bool {
        self.q_bit(gt).is_some_and(|b| {
            let (q, _, f) = self.gt_flags();
            (q | f) & b != 0
        })
    }

    /// Whether `gt` is queued again (reported after its RESFIX_START): its current recovery will
    /// be followed by another. `false` once torn down or wedged.
    pub fn recovery_imminent_for(&self, gt: GtId) -> bool {
        let s = self.state.load(Ordering::Acquire);
        s & STICKY == 0 && self.q_bit(gt).is_some_and(|q| s & q != 0)
    }

    /// [`StartPolicy::AllGts`]: whether the device-wide worker will run again: some GT reported
    /// since the running pass began, or the worker is queued (the seed's
    /// `vf_post_migration_imminent`: `gt_flags != 0 || work_pending`, used by the legacy
    /// protocol). Under [`StartPolicy::AnyGt`]: whether the worker is queued. `false` once torn
    /// down or wedged.
    pub fn recovery_imminent(&self) -> bool {
        let s = self.state.load(Ordering::Acquire);
        s & STICKY == 0 && s & (r_of(self.gt_mask()) | WORK) != 0
    }

    /// [`StartPolicy::AllGts`]: the GTs that reported since the last pass began (the seed's
    /// `gt_flags` mask). Always empty under [`StartPolicy::AnyGt`].
    pub fn reported_gts(&self) -> GtSet {
        GtSet((self.state.load(Ordering::Acquire) >> MAX_GTS) & self.gt_mask())
    }

    /// [`StartPolicy::AllGts`]: the GTs the coordinator is waiting for. Non-empty only while
    /// some GT's recovery is queued, no pass is queued or running, and these GTs have not
    /// reported since the last pass began: the device-wide pass starts when they do.
    ///
    /// An interrupt that is lost, or a late one that arrives after a pass already covered its
    /// migration, leaves the coordinator in this state: the GuCs of the GTs that *did* report are
    /// waiting for nothing, or (a lost interrupt) keep the VF blocked. Only the embedder can tell
    /// the two apart from a report that is merely slow; [`start_now`](Self::start_now) ends the
    /// wait. Always empty under [`StartPolicy::AnyGt`] and once torn down or wedged.
    pub fn awaiting_reports(&self) -> GtSet {
        let s = self.state.load(Ordering::Acquire);
        let m = self.gt_mask();
        if self.policy != StartPolicy::AllGts || s & RUN_FLAGS != 0 || s & m == 0 {
            return GtSet::empty();
        }
        GtSet(!(s >> MAX_GTS) & m)
    }

    /// [`StartPolicy::AllGts`]: starts the device-wide pass without waiting for the GTs in
    /// [`awaiting_reports`](Self::awaiting_reports) (a time-out of the embedder's, for example).
    /// Queues the worker if some GT's recovery is queued and the worker is not; returns whether
    /// this call queued it. Harmless under [`StartPolicy::AnyGt`], where a queued GT always has
    /// the worker queued already. Thread context; does nothing once torn down or wedged.
    #[must_use]
    pub fn start_now<Q: WorkQueue + ?Sized>(&self, queue: &Q) -> bool {
        // Announced like every worker-side caller of queue() (invariant 5).
        self.worker_busy.fetch_add(1, Ordering::Relaxed);
        let mut cur = self.state.load(Ordering::Acquire);
        let flipped = loop {
            // The queued GTs as they are now, not as an earlier load saw them: only WORK is set,
            // so no GT that has sent its RESFIX_START meanwhile is marked again.
            if cur & STICKY != 0 || cur & self.gt_mask() == 0 || cur & WORK != 0 {
                break false;
            }
            match self
                .state
                .compare_exchange(cur, cur | WORK, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    if cur & RUNNING == 0 && !queue.polled() {
                        queue.queue();
                    }
                    break true;
                }
                Err(actual) => cur = actual,
            }
        };
        self.worker_busy.fetch_sub(1, Ordering::Release);
        if flipped {
            info!(
                "migration recovery started without waiting, GT mask {:#x} queued",
                cur & self.gt_mask()
            );
        }
        flipped
    }

    /// [`StartPolicy::AnyGt`], worker only (inside a pass, after its hand-backs): the running
    /// pass has itself run the GTs whose reports set `WORK` while it ran (an overlapped pass takes
    /// them in, see [`crate::recovery`]), so if no GT is queued now, `WORK` is cleared and no
    /// empty pass follows. Returns whether it cleared `WORK`.
    ///
    /// Loses nothing: one compare-and-swap clears `WORK` only from a word with no `Q` bit, so
    /// every report so far is covered by a RESFIX_START sent after it (invariant 1) and no run
    /// is owed (invariant 2); a report or hand-back that sets a `Q` bit first makes it fail and
    /// keeps `WORK`, one that comes after it finds `WORK` clear and flips it again (and queues).
    /// A worker run the cleared `WORK` had queued finds nothing to begin. Does nothing under
    /// [`StartPolicy::AllGts`] (its `WORK` owes a device-wide pass), outside a pass, or once
    /// torn down or wedged.
    pub fn drop_idle_work(&self) -> bool {
        if self.policy != StartPolicy::AnyGt {
            return false;
        }
        let mut cur = self.state.load(Ordering::Acquire);
        loop {
            if cur & WORK == 0
                || cur & RUNNING == 0
                || cur & STICKY != 0
                || cur & self.gt_mask() != 0
            {
                return false;
            }
            match self
                .state
                .compare_exchange(cur, cur & !WORK, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    debug!("migration recovery: the reports of the pass taken in, no pass owed");
                    return true;
                }
                Err(actual) => cur = actual,
            }
        }
    }

    /// The device's GT count.
    pub fn num_gts(&self) -> usize {
        self.num_gts as usize
    }

    /// The start policy.
    pub fn policy(&self) -> StartPolicy {
        self.policy
    }

    /// How many passes began (wrapping: modulo 2^38 on 64-bit targets, 2^22 on 32-bit ones; the
    /// count shares the pass word with two flags per GT).
    pub fn passes_begun(&self) -> usize {
        self.pass.load(Ordering::Relaxed) >> (2 * MAX_GTS)
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

mod view;
pub use view::CoordinatorView;

#[cfg(all(test, not(loom)))]
mod policy_tests;
#[cfg(all(test, not(loom)))]
mod tests;
