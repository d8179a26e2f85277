//! The pass driver: one worker pass steps the machines (`machine.rs`) of the GTs it took, on
//! one of two schedules (see the module docs), and accounts for each GT's run.

use super::machine::{Core, GtRun, Machine, Polled};
use super::vf::Vf;
use super::{PassOutcome, PassReport, RecoveryError, RecoveryHooks};
use crate::coordinator::{GtId, GtSet};
use crate::device::Device;
use crate::memirq::MemirqSet;
use crate::sync::Ordering;
use crate::workqueue::WorkQueue;

/// One pass: the VF, the core it holds for the pass (`&mut`: the lock is the facade's, taken
/// before the pass and never seen here), and one machine per GT (index = [`GtId`]; only the
/// pass's GTs are used).
pub(super) struct Pass<'a, D, H, Q, const N: usize, M> {
    pub(super) vf: &'a Vf<D, H, Q, N, M>,
    pub(super) core: &'a mut Core<D, N>,
    pub(super) gts: [Machine; N],
    report: PassReport,
}

impl<'a, D: Device, H: RecoveryHooks, Q: WorkQueue, const N: usize, M: MemirqSet>
    Pass<'a, D, H, Q, N, M>
{
    /// A pass of `vf` over `core`, no GT begun.
    pub(super) fn new(vf: &'a Vf<D, H, Q, N, M>, core: &'a mut Core<D, N>) -> Self {
        Pass {
            vf,
            core,
            gts: [const { Machine::IDLE }; N],
            report: PassReport::default(),
        }
    }

    /// Recovers `gts` (the coordinator's `begin`), and what came of it.
    #[inline(never)]
    pub(super) fn run(mut self, gts: GtSet) -> PassOutcome {
        self.recover(gts).unwrap_or_else(|stop| stop)
    }

    fn recover(&mut self, gts: GtSet) -> Result<PassOutcome, PassOutcome> {
        debug!("migration recovery in progress, GT mask {:#x}", gts.bits());
        for id in gts.iter() {
            if let Some(reason) = self.unsupported(id) {
                self.vf.coordinator.refuse(gts);
                return Ok(PassOutcome::Unsupported {
                    gt: id,
                    version: self.core.gts[usize::from(id.0)].version(),
                    reason,
                });
            }
        }
        let gts = if self.vf.config.split_phase {
            self.overlapped(gts)?
        } else {
            self.one_after_the_other(gts)?
        };
        Ok(if self.report.recovered == gts {
            PassOutcome::Recovered(gts)
        } else {
            PassOutcome::Incomplete(self.report)
        })
    }

    /// The overlapped schedule: every GT begins at once, one loop drives them all, a GT
    /// reported during the pass joins it, a postponed media GT begins once its primary GT is
    /// done; the runs are accounted at the end. Returns every GT the pass took.
    fn overlapped(&mut self, gts: GtSet) -> Result<GtSet, PassOutcome> {
        for id in gts.iter() {
            self.begin(id)?;
        }
        let taken = self.drive(gts, true)?;
        for id in taken.iter() {
            self.account_run(id)?;
        }
        if taken != gts {
            // The joined GTs' reports left WORK set: no pass is owed for them any more.
            let _ = self.vf.coordinator.drop_idle_work();
        }
        Ok(taken)
    }

    /// The one-after-the-other schedule: one GT in flight, driven to the end of its run and
    /// accounted before the next begins; no join.
    fn one_after_the_other(&mut self, gts: GtSet) -> Result<GtSet, PassOutcome> {
        for id in gts.iter() {
            self.begin(id)?;
            self.drive(gts, false)?;
            self.account_run(id)?;
        }
        Ok(gts)
    }

    /// Polls every operation in flight until none is left, each GT advancing on its own reply;
    /// with `join`, takes in the GTs reported meanwhile between rounds. The worker relaxes once
    /// per round, through the device of the first GT still waiting. Bounded: a GT joins at most
    /// once and leaves `Postponed` at most once, and every poll of an operation in flight is
    /// bounded by that operation's own Stopwatch. Returns the GTs the pass now holds.
    fn drive(&mut self, gts: GtSet, join: bool) -> Result<GtSet, PassOutcome> {
        let mut taken = gts;
        loop {
            if join {
                taken = self.join(taken)?;
            }
            let mut in_flight = false;
            let mut waiting = None;
            for i in 0..N {
                match self.poll(i)? {
                    Polled::Idle => {}
                    Polled::Pending => {
                        in_flight = true;
                        waiting.get_or_insert(i);
                    }
                    Polled::Advanced => in_flight = true,
                }
            }
            if !in_flight {
                return Ok(taken);
            }
            self.publish_starts()?;
            if let Some(i) = waiting {
                self.core.gts[i].device().relax();
            }
        }
    }

    /// Takes into the pass the GTs reported since it began that it does not hold yet (the
    /// coordinator's queued GTs, a plain load; under
    /// [`StartPolicy::AllGts`](crate::coordinator::StartPolicy::AllGts) the pass holds every
    /// GT already), and begins them; begins the postponed media GTs whose primary GT's recovery
    /// is no longer pending. A GT whose migration is unsupported is left queued for the next
    /// pass, which refuses it. Returns the GTs the pass now holds.
    fn join(&mut self, taken: GtSet) -> Result<GtSet, PassOutcome> {
        let mut taken = taken;
        for id in self.vf.coordinator.pending_gts().iter() {
            if !taken.contains(id) && self.unsupported(id).is_none() {
                debug!("GT{}: reported during the pass, joins it", id.0);
                let _ = taken.insert(id);
                self.begin(id)?;
            }
        }
        for id in taken.iter() {
            if matches!(
                self.gts[usize::from(id.0)].stage,
                super::machine::Stage::Postponed
            ) && self.waits_for_primary(id).is_none()
            {
                self.begin(id)?;
            }
        }
        Ok(taken)
    }

    /// Takes GT `id`'s run into the pass's report and hands the GT on where it must go on.
    fn account_run(&mut self, id: GtId) -> Result<(), PassOutcome> {
        let vf = self.vf;
        let set = GtSet::single(id);
        let i = usize::from(id.0);
        let report = &mut self.report;
        match self.gts[i].run() {
            GtRun::Recovered => {
                self.core.requeue_streak[i].0 = 0;
                report.recovered = report.recovered.union(set);
            }
            GtRun::Requeued(step) => {
                let signals = vf.signals[i].load(Ordering::Relaxed);
                let (streak, seen) = &mut self.core.requeue_streak[i];
                *streak = if *seen == signals {
                    streak.saturating_add(1)
                } else {
                    1
                };
                *seen = signals;
                if *streak > vf.config.max_requeues {
                    return Err(PassOutcome::Failed(RecoveryError::RequeueLimit {
                        gt: id,
                        requeues: *streak,
                        step,
                    }));
                }
                report.requeued = report.requeued.union(set);
                vf.coordinator.requeue(set, &vf.queue);
            }
            GtRun::Deferred => {
                report.deferred = report.deferred.union(set);
                vf.coordinator.defer(set, &vf.queue);
            }
            GtRun::Postponed => {
                report.postponed = report.postponed.union(set);
                vf.coordinator.postpone(set, &vf.queue);
            }
        }
        Ok(())
    }
}
