//! One GT's recovery as a state machine: the steps of the module docs' table, each state either
//! waiting for one mailbox request it posted or running hooks, and what each reply leads to.
//! The driver that steps the machines of a pass is in `pass.rs`.

use core::task::Poll;

use super::pass::Pass;
use super::vf::Views;
use super::{HoldPoint, PassOutcome, RecoveryError, RecoveryHooks, Step, Unsupported};
use crate::coordinator::{GtId, StartPolicy};
use crate::device::Device;
use crate::gt::{Gt, GtOp, VfError};
use crate::memirq::MemirqSet;
use crate::tile::{TileGgtt, TileId};
use crate::wire::regs::GtKind;
use crate::wire::Marker;
use crate::workqueue::WorkQueue;

/// What only the worker and the bootstrap touch: the GTs and the tiles' GGTT state, behind the
/// VF's one lock (see `vf.rs`). Nothing here knows of that lock.
pub(super) struct Core<D, const N: usize> {
    pub(super) gts: [Gt<D>; N],
    /// Per tile (index = [`TileId`]; only `0..num_tiles` used).
    pub(super) tiles: [TileGgtt; N],
    /// Per GT: re-queues in a row without a new interrupt, and the GT's interrupt count at the
    /// last re-queue.
    pub(super) requeue_streak: [(u32, usize); N],
    /// Re-queries sent so far (wrapping is out of reach: 2^64 queries).
    pub(super) queries: u64,
    /// Per GT: the number ([`Core::queries`]) of its last re-query, taken as it was sent.
    pub(super) query_stamp: [u64; N],
    /// Per tile: the number of the re-query whose GGTT_START is the tile's `reported` base (0:
    /// the bootstrap's). A re-query sent earlier than that one, answered later (the GTs'
    /// queries overlap), holds an older GGTT_START and must not move the GGTT back.
    pub(super) tile_stamp: [u64; N],
}

impl<D: Device, const N: usize> Core<D, N> {
    /// Copies GT `i`'s configuration and tile `t`'s GGTT state into the readers' `views`.
    // Out of line: the pass (twice) and the bootstrap (once per GT) share this one copy; inlined
    // it cost 258 B more (footprint.sh).
    #[inline(never)]
    pub(super) fn publish(&self, views: &mut Views<N>, i: usize, t: usize) {
        views.gts[i].config = self.gts[i].config().copied();
        views.tiles[t] = self.tiles[t];
    }
}

impl<D, const N: usize> Core<D, N> {
    /// GT `i` sends its re-query now: number it.
    fn stamp_query(&mut self, i: usize) {
        self.queries = self.queries.wrapping_add(1);
        self.query_stamp[i] = self.queries;
    }
}

/// How one GT's run in a pass ended, when it did not end the pass.
#[derive(Clone, Copy)]
pub(super) enum GtRun {
    Recovered,
    /// VF_MIGRATED on this step.
    Requeued(Step),
    Deferred,
    Postponed,
}

/// Where one GT is in a pass; the operation of `Start`, `Query` and `Done` is in flight.
#[derive(Clone, Copy)]
pub(super) enum Stage {
    /// Not begun, or waits for its tile's primary GT ([`RecoveryConfig::media_after_primary`](super::RecoveryConfig::media_after_primary)).
    Postponed,
    /// RESFIX_START posted.
    Start,
    /// RESFIX_START accepted in this round of polls, not yet published to the coordinator.
    Started,
    /// The configuration re-query posted.
    Query,
    /// RESFIX_DONE posted.
    Done,
    /// The GT's run in this pass is over.
    Ended(GtRun),
}

/// What one poll of a GT's machine found ([`Pass::poll`]).
pub(super) enum Polled {
    /// No operation in flight.
    Idle,
    /// Its operation waits for the GuC.
    Pending,
    /// Its operation was over: the GT advanced to its next one, or to the end of its run.
    Advanced,
}

/// One GT's machine in a pass.
pub(super) struct Machine {
    pub(super) stage: Stage,
    /// The marker of its RESFIX_START (none on the legacy protocol).
    marker: Option<Marker>,
    /// The operation in flight (a post that failed is its own reply, taken at the next poll).
    pub(super) op: Option<Result<GtOp, VfError>>,
}

impl Stage {
    /// The GuC exchange in flight in this stage.
    fn exchange(self) -> Option<Step> {
        match self {
            Stage::Start => Some(Step::ResfixStart),
            Stage::Query => Some(Step::QueryConfig),
            Stage::Done => Some(Step::ResfixDone),
            Stage::Postponed | Stage::Started | Stage::Ended(_) => None,
        }
    }
}

impl Machine {
    pub(super) const IDLE: Machine = Machine {
        stage: Stage::Postponed,
        marker: None,
        op: None,
    };

    /// How the GT's run in this pass ended; a GT that never began is postponed.
    pub(super) fn run(&self) -> GtRun {
        match self.stage {
            Stage::Ended(run) => run,
            _ => GtRun::Postponed,
        }
    }
}

/// A GuC exchange's outcome at `step` of GT `gt`'s recovery, from its failure (none: it
/// succeeded, `Ok(None)`): a VF_MIGRATED reply re-queues the GT (`Ok(Some(run))`); any other
/// error fails the pass. (Here and in the driver, `Err(outcome)` ends the pass early with that
/// outcome: a failure or teardown. Spelt out, not aliased, so that cargo-mutants makes its
/// `Ok(..)` mutants of these functions.)
fn step(gt: GtId, step: Step, failure: Option<&VfError>) -> Result<Option<GtRun>, PassOutcome> {
    match failure {
        None => Ok(None),
        Some(e) if e.is_vf_migrated() => Ok(Some(GtRun::Requeued(step))),
        Some(e) => Err(PassOutcome::Failed(RecoveryError::Gt {
            gt,
            step,
            error: *e,
        })),
    }
}

impl<D: Device, H: RecoveryHooks, Q: WorkQueue, const N: usize, M: MemirqSet>
    Pass<'_, D, H, Q, N, M>
{
    /// Step 1: why migration is not supported for GT `id`, if it is not.
    #[inline(never)]
    pub(super) fn unsupported(&self, id: GtId) -> Option<Unsupported> {
        let config = &self.vf.config;
        if !config.legacy && !self.core.gts[usize::from(id.0)].supports_markers() {
            Some(Unsupported::NoMarkers)
        } else if !config.mmio_irq && self.vf.memirq.registration(id).is_none() {
            Some(Unsupported::NoMemirq)
        } else {
            None
        }
    }

    /// Steps 2-4 (and 5-6's post on the legacy protocol): GT `id`'s shutdown and RESFIX_START
    /// posted (legacy: started, its re-query posted), or postponed.
    pub(super) fn begin(&mut self, id: GtId) -> Result<(), PassOutcome> {
        let i = usize::from(id.0);
        self.check_teardown()?;
        // PTL: the media GT waits while the primary GT's recovery is pending.
        if let Some(primary) = self.waits_for_primary(id) {
            debug!("GT{}: waiting for GT{}'s recovery", id.0, primary.0);
            self.gts[i].stage = Stage::Postponed;
            return Ok(());
        }
        self.vf.hooks.shutdown(id);
        // The kernel's stopper RESFIX_START (Linux 7.3): after the shutdown, before the request.
        self.vf.hooks.hold(HoldPoint::BeforeStart, id);
        self.check_teardown()?;

        if self.core.gts[i].supports_markers() {
            self.gts[i].stage = Stage::Start;
            self.post(i);
        } else {
            self.gts[i].stage = Stage::Query;
            self.vf.coordinator.started(id);
            self.post_query(id)?;
        }
        Ok(())
    }

    /// Step 6's post, GT `id` started: the kernel's stopper FIXUPS (Linux 7.3: after
    /// RESFIX_START and the clear of the queued flag, before the re-query, which moves the
    /// GGTT), then the re-query numbered and posted. Both schedules and both protocols come
    /// here.
    fn post_query(&mut self, id: GtId) -> Result<(), PassOutcome> {
        let i = usize::from(id.0);
        self.vf.hooks.hold(HoldPoint::BeforeFixups, id);
        self.check_teardown()?;
        self.core.stamp_query(i);
        self.post(i);
        Ok(())
    }

    /// Posts the request of GT `i`'s stage: RESFIX_START with the GT's next marker, the
    /// configuration re-query, or RESFIX_DONE with the run's marker (the three posts in one
    /// place: an operation is large, and each place copied it). A post that failed is its own
    /// reply, taken at the next poll.
    fn post(&mut self, i: usize) {
        let gt = &mut self.core.gts[i];
        let machine = &mut self.gts[i];
        let op = match machine.stage {
            Stage::Start => {
                let marker = gt.next_marker();
                machine.marker = Some(marker);
                gt.post_resfix_start(marker)
            }
            Stage::Query => gt.post_query_config(),
            Stage::Done => gt.post_resfix_done(machine.marker),
            // No request in these stages.
            Stage::Postponed | Stage::Started | Stage::Ended(_) => return,
        };
        machine.op = Some(op);
    }

    /// Step 2, PTL ([`RecoveryConfig::media_after_primary`](super::RecoveryConfig::media_after_primary)):
    /// the primary GT that media GT `id` waits for, while that GT's recovery is pending.
    #[inline(never)]
    pub(super) fn waits_for_primary(&self, id: GtId) -> Option<GtId> {
        if !self.vf.config.media_after_primary
            || self.core.gts[usize::from(id.0)].info().kind != GtKind::Media
        {
            return None;
        }
        let topology = &self.vf.topology;
        let tile = topology.tile_of(id).unwrap_or(TileId(0));
        // The coordinator's view only, not the memirq peek: a primary whose SW_INT_0 byte is set
        // but not yet handled would otherwise postpone the media GT pass after pass with nothing
        // to end it.
        topology
            .primary_of(tile)
            .filter(|&primary| primary != id && self.vf.coordinator.recovery_pending(primary))
    }

    /// Step 5 at the end of a round of polls: the RESFIX_STARTs accepted in it published in one
    /// step (only now: a report from here on is a new migration for those GTs), then their
    /// re-queries posted.
    pub(super) fn publish_starts(&mut self) -> Result<(), PassOutcome> {
        let mut started = crate::coordinator::GtSet::empty();
        for (i, machine) in self.gts.iter_mut().enumerate() {
            if matches!(machine.stage, Stage::Started) {
                // i < N <= MAX_GTS < 256.
                let _ = started.insert(GtId(i as u8));
                machine.stage = Stage::Query;
            }
        }
        self.vf.coordinator.started_gts(started);
        for id in started.iter() {
            self.post_query(id)?;
        }
        Ok(())
    }

    /// GT `id`'s operation of its current stage is over (`requeued`: answered VF_MIGRATED, see
    /// [`step`]): its next steps, up to its next mailbox request posted or the end of its run.
    fn advance(&mut self, id: GtId, requeued: Option<GtRun>) -> Result<(), PassOutcome> {
        let i = usize::from(id.0);
        let marker = self.gts[i].marker;
        let stage = self.gts[i].stage;
        if let Some(run) = requeued {
            self.gts[i].stage = Stage::Ended(run);
            return Ok(());
        }
        let next = match stage {
            // The round's end publishes it (`publish_starts`) and posts its re-query.
            Stage::Start => Stage::Started,
            Stage::Query => {
                self.take_config(id);
                match self.fix(id, marker)? {
                    Some(run) => Stage::Ended(run),
                    None => {
                        self.gts[i].stage = Stage::Done;
                        self.post(i);
                        Stage::Done
                    }
                }
            }
            // Steps 12-13: RESFIX_DONE accepted.
            Stage::Done => {
                if self.vf.coordinator.done(id) {
                    self.vf.hooks.kickstart(id);
                    Stage::Ended(GtRun::Recovered)
                } else if marker.is_none() {
                    // Legacy: reported again while its DONE was in flight, and the GuC
                    // cannot refuse a DONE without a marker: its GGTT may be stale, so no
                    // kickstart; the next pass recovers it.
                    debug!("GT{}: reported again, kickstart deferred", id.0);
                    Stage::Ended(GtRun::Deferred)
                } else {
                    // Markers: the GuC accepted this run's marker (Linux 7.3 logs "another
                    // recovery imminent" and kickstarts; the queued run follows).
                    debug!("GT{}: another recovery imminent", id.0);
                    self.vf.hooks.kickstart(id);
                    Stage::Ended(GtRun::Recovered)
                }
            }
            // No operation in flight in these stages: nothing to advance.
            Stage::Postponed | Stage::Started | Stage::Ended(_) => stage,
        };
        self.gts[i].stage = next;
        Ok(())
    }

    /// Step 6's end: the tile's reported GGTT base from the re-query, published; unless the
    /// tile's base came from a re-query sent after this one (the other GT of the tile, its
    /// query overlapping this one): then this GGTT_START is older, from before a migration the
    /// newer query saw, and the tile keeps the newer base. (This GT's own RESFIX_DONE is then
    /// refused, `VF_MIGRATED`, and its next run re-queries.)
    fn take_config(&mut self, id: GtId) {
        let ggtt_start = self.core.gts[usize::from(id.0)]
            .config()
            .map_or(0, |config| config.ggtt_start);
        let tile = self.vf.topology.tile_of(id).unwrap_or(TileId(0));
        let t = usize::from(tile.0);
        let stamp = self.core.query_stamp[usize::from(id.0)];
        if stamp >= self.core.tile_stamp[t] {
            self.core.tiles[t].reported = ggtt_start;
            self.core.tile_stamp[t] = stamp;
        } else {
            debug!(
                "GT{}: GGTT_START {:#x} is older than the tile's, not taken",
                id.0, ggtt_start
            );
        }
        self.publish(usize::from(id.0), t);
    }

    /// Steps 7-10 and the legacy deferral of step 11: everything between the re-query and
    /// RESFIX_DONE. `Some(Deferred)`: no RESFIX_DONE now.
    fn fix(&mut self, id: GtId, marker: Option<Marker>) -> Result<Option<GtRun>, PassOutcome> {
        let i = usize::from(id.0);
        let tile = self.vf.topology.tile_of(id).unwrap_or(TileId(0));
        let t = usize::from(tile.0);
        let hooks = &self.vf.hooks;
        // A teardown during the re-query: no fixup.
        self.check_teardown()?;
        if let Some(ggtt) = self.core.tiles[t].pending_move() {
            info!(
                "tile {}: moving GGTT {:#x} -> {:#x}",
                tile.0, ggtt.old, ggtt.new
            );
            hooks.ggtt_fixup(tile, ggtt).map_err(|error| {
                PassOutcome::Failed(RecoveryError::GgttFixup {
                    tile,
                    gt: id,
                    ggtt,
                    error,
                })
            })?;
            let state = &mut self.core.tiles[t];
            state.applied = ggtt.new;
            state.moves = state.moves.wrapping_add(1);
            self.vf
                .counters
                .ggtt_moves
                .fetch_add(1, crate::sync::Ordering::Relaxed);
            self.publish(i, t);
        }
        hooks
            .gt_fixups(id)
            .map_err(|error| hook_failed(id, Step::GtFixups, error))?;
        self.vf.coordinator.fixed(id);
        self.vf
            .counters
            .fixups_completed
            .fetch_add(1, crate::sync::Ordering::AcqRel);

        // The kernel's stopper RESTART_JOBS (Linux 7.3).
        hooks.hold(HoldPoint::BeforeRearm, id);
        self.check_teardown()?;
        hooks
            .rearm(id)
            .map_err(|error| hook_failed(id, Step::Rearm, error))?;

        // The kernel's stopper RESFIX_DONE (Linux 7.3): before the "another recovery
        // imminent" check and RESFIX_DONE.
        hooks.hold(HoldPoint::BeforeDone, id);
        self.check_teardown()?;
        if marker.is_none() && self.legacy_imminent(id) {
            // The seed's rule, for the legacy protocol only: a DONE without a marker cannot be
            // refused for an older migration, so never send it while another one is on its way.
            debug!(
                "GT{}: another recovery imminent, RESFIX_DONE deferred",
                id.0
            );
            return Ok(Some(GtRun::Deferred));
        }
        Ok(None)
    }

    /// Legacy protocol: is another recovery imminent for `gt`? See the module docs.
    fn legacy_imminent(&self, gt: GtId) -> bool {
        let (coordinator, memirq) = (&self.vf.coordinator, &self.vf.memirq);
        match self.vf.config.start {
            StartPolicy::AnyGt => {
                coordinator.recovery_imminent_for(gt) || memirq.sw_int0_pending(gt)
            }
            StartPolicy::AllGts => {
                coordinator.recovery_imminent()
                    || (0..N).any(|g| memirq.sw_int0_pending(GtId(g as u8)))
            }
        }
    }

    /// Stops the pass if teardown began.
    fn check_teardown(&self) -> Result<(), PassOutcome> {
        if self.vf.coordinator.is_torn_down() {
            Err(PassOutcome::Cancelled)
        } else {
            Ok(())
        }
    }

    /// Publishes GT `i`'s configuration and its tile's GGTT state for the readers.
    fn publish(&self, i: usize, t: usize) {
        self.core.publish(&mut self.vf.views.lock(), i, t);
    }

    /// Polls GT `i`'s operation in flight, if it has one, and advances the GT once it is over.
    pub(super) fn poll(&mut self, i: usize) -> Result<Polled, PassOutcome> {
        // i < N <= MAX_GTS < 256.
        let id = GtId(i as u8);
        let machine = &mut self.gts[i];
        let Some(slot) = machine.op.as_mut() else {
            return Ok(Polled::Idle);
        };
        // The failure is looked at where it lies (a post's, or the reply's), not copied.
        let polled;
        let failure = match slot {
            Err(e) => Some(&*e),
            Ok(op) => {
                polled = match self.core.gts[i].poll_step(op) {
                    Poll::Pending => return Ok(Polled::Pending),
                    Poll::Ready(result) => result,
                };
                polled.as_ref().err()
            }
        };
        // One check of the reply for the three exchanges.
        let requeued = match machine.stage.exchange() {
            Some(exchange) => step(id, exchange, failure)?,
            None => None,
        };
        machine.op = None;
        self.advance(id, requeued)?;
        Ok(Polled::Advanced)
    }
}

/// A hook other than the GGTT fixup failed at `step` of GT `gt`.
fn hook_failed(gt: GtId, step: Step, error: super::HookError) -> PassOutcome {
    PassOutcome::Failed(RecoveryError::Hook { gt, step, error })
}
