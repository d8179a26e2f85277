//! The post-migration recovery pipeline, and [`Vf`]: one VF with its tiles and GTs, its
//! coordinator, its work queue and the embedder's hooks.
//!
//! ## Flow
//!
//! 1. The GuC raises `SW_INT_0` on a GT. The embedder's interrupt handler calls
//!    [`Vf::handle_guc_interrupt`] (or [`Vf::migrated`]): wait-free, no lock, no allocation. It
//!    marks that GT queued, in progress and its GGTT in need of fixes, and queues the worker on
//!    the [`WorkQueue`] (at most once).
//! 2. The embedder's queue runs [`Vf::run_worker`] in thread context. A pass recovers each GT
//!    that is queued when it begins (see [below](#one-machine-two-schedules) for the order),
//!    each with the kernel's per-GT sequence (`vf_post_migration_recovery` in
//!    `xe_gt_sriov_vf.c`: Linux 7.0's, checked against the worker of the drm-next merge for
//!    7.3; the differences are [below](#where-this-differs-from-the-kernel-on-purpose)):
//!
//!    | step | what | on error |
//!    |---|---|---|
//!    | 0 | runtime-PM reference ([`RecoveryHooks::pm_get`]; the default does nothing, as Linux 7.3's worker takes none) for the pass, released after everything else, `abort` and `wedged` included | |
//!    | 1 | migration gate: without markers (VF ABI below 1.27) migration is unsupported unless [`RecoveryConfig::legacy`] | reported as [`PassOutcome::Unsupported`], never a wedge |
//!    | 2 | [`RecoveryConfig::media_after_primary`]: a media GT whose tile's primary GT has a recovery pending waits for a later pass | |
//!    | 3 | [`shutdown`](RecoveryHooks::shutdown): pause submission, stop the command transport | |
//!    | 4 | RESFIX_START with the GT's next marker (`1 + 8-bit counter`); legacy: nothing sent | VF_MIGRATED: re-queue (*); else wedge |
//!    | 5 | the GT is no longer queued (only now: a report before this point causes no second run) | |
//!    | 6 | re-query the configuration and validate it; the tile's reported GGTT base is updated | VF_MIGRATED: re-queue (*); else wedge |
//!    | 7 | the tile's GGTT fixup ([`ggtt_fixup`](RecoveryHooks::ggtt_fixup)) if the reported base differs from the applied one: exactly once per change of base | wedge, applied base unchanged |
//!    | 8 | the GT's own fixups ([`gt_fixups`](RecoveryHooks::gt_fixups)) | wedge |
//!    | 9 | the GT's GGTT is valid again (unless it was reported again since step 5), fixups-complete counter | |
//!    | 10 | [`rearm`](RecoveryHooks::rearm): interrupts, command transport | wedge |
//!    | 11 | RESFIX_DONE with the marker, always sent; legacy: without a marker, and skipped (deferred) if another recovery is imminent | VF_MIGRATED: re-queue; else wedge |
//!    | 12 | accepted: recovery no longer pending (unless reported again since step 5: the queued run follows) | |
//!    | 13 | [`kickstart`](RecoveryHooks::kickstart): unpause submission; legacy: not for a GT reported again since step 5 (its GGTT may be stale): deferred to the next pass | |
//!    | - | on any error: [`abort`](RecoveryHooks::abort), then wedge exactly once ([`wedged`](RecoveryHooks::wedged)) | |
//!
//!    [`RecoveryHooks::hold`] is called where Linux 7.3's debug "stoppers" sit, which its own
//!    migration tests (and ours) use to land a second migration or a pause at every step:
//!    after step 3, before RESFIX_START ([`HoldPoint::BeforeStart`]); after step 5, before the
//!    re-query ([`HoldPoint::BeforeFixups`]); before step 10 ([`HoldPoint::BeforeRearm`]);
//!    before step 11 and its legacy "imminent" check ([`HoldPoint::BeforeDone`]).
//! 3. A wedged device queues nothing more; after [`Vf::teardown`] nothing is queued or started.
//!
//! ## One machine, two schedules
//!
//! Each GT's recovery is one state machine (`machine.rs`): begun (steps 1-4: hooks, then
//! RESFIX_START posted), started (step 5, at the end of the round of polls in which its reply
//! came; legacy: at once, nothing posted), querying (step 6: one KLV request at a time, in the
//! kernel's order), fixing and rearming (steps 7-10, hooks only), done (step 11: RESFIX_DONE
//! posted), then ended: recovered (steps 12-13), re-queued, deferred or postponed. Each state waits for one mailbox
//! request it posted, or runs hooks; a wait is a poll of that request, never a loop that
//! blocks the other GTs.
//!
//! One driver (`pass.rs`) polls the machines of a pass in rounds, relaxing once per round, and
//! each GT advances the moment its own reply is in. The schedule only decides when a GT
//! begins:
//!
//! - **overlapped** ([`RecoveryConfig::split_phase`] `= true`, the default): every GT begins at
//!   once; between rounds a GT reported since the pass began joins it
//!   ([`StartPolicy::AnyGt`]; under [`StartPolicy::AllGts`] the pass holds every GT already),
//!   and a postponed media GT ([`RecoveryConfig::media_after_primary`]) begins once its
//!   primary GT's RESFIX_DONE was accepted. One worker so keeps every GuC busy, and a pass
//!   over several GTs costs the blackout of about one, as the kernel's one worker per
//!   GT does (Linux 6.19 to 7.3). A GT whose migration is unsupported does not join (the next pass refuses it).
//! - **one after the other** (`split_phase = false`): one GT in flight, driven to the end of
//!   its run before the next begins; no join.
//!
//! Both send each GT exactly the same requests in the same order (tests/split_phase.rs). A
//! pass that stops early (teardown, a failure that wedges) does not wait for the requests
//! still in flight: nothing more is sent, and a later request overwrites them, as after any
//! abandoned one.
//!
//! ## Follow one migration
//!
//! From the interrupt to an accepted RESFIX_DONE, in this order:
//!
//! 1. `vf.rs`: [`Vf::handle_memirq`] (or [`Vf::handle_guc_interrupt`]) and [`Vf::migrated`],
//!    the wait-free entry; then [`crate::coordinator`] (`signal`: the state word, the start
//!    policy, the worker queued at most once).
//! 2. `vf.rs`: [`Vf::run_worker`], the facade: the coordinator's `begin`, the core taken for
//!    the pass (never waited for: [`PassOutcome::Busy`]), the runtime-PM guard, the outcome
//!    accounted (abort, wedge).
//! 3. `pass.rs`: `Pass::run`, the schedule, `drive` (the rounds of polls) and `account_run`.
//! 4. `machine.rs`: `begin`, `post` (the request of the GT's stage), `poll` (its reply,
//!    checked once for the three exchanges), `advance` (the GT's next steps), `fix` (the
//!    hooks), `publish_starts`.
//! 5. Below: [`crate::gt`] (`post_*` and `poll_step`: the GT's requests, the re-query's
//!    validation, the configuration kept in the `Gt`) and [`crate::mailbox`] (one transaction
//!    as post and poll), [`crate::tile`] (the GGTT's move rule).
//!
//! `hooks.rs`, `config.rs`, `error.rs` and `report.rs` hold the types the embedder sees.
//!
//! ## Where this differs from the kernel, on purpose
//!
//! The kernel column is Linux 7.3's `xe_gt_sriov_vf.c` (the drm-next merge for 7.3), and also
//! Linux 7.0's unless the row names another version.
//!
//! | the kernel | here | why |
//! |---|---|---|
//! | one worker per GT (since 6.19) | one worker for the VF, recovering the queued GTs on one of [two schedules](#one-machine-two-schedules), each with the per-GT sequence | the users' unikernels have one thread; one GT's report still never re-runs or defers another GT; the overlapped schedule gives one worker the kernel's blackout, also when the GTs' interrupts are not simultaneous |
//! | `recovery_queued` is cleared right after the GT's RESFIX_START (7.3: whatever its result) | overlapped: cleared for every GT whose RESFIX_START was accepted in one round of polling the pass's mailboxes, at the end of that round, in one atomic step ([`Coordinator::started_gts`](crate::coordinator::Coordinator::started_gts)); `split_phase = false` and legacy: per GT, as the kernel | one read-modify-write per round instead of per GT; a report in the extra window (the other GTs' register reads) is covered by the run in progress, as one in the kernel's window between RESFIX_START and the clear is, and a real second migration there is refused at RESFIX_DONE (`VF_MIGRATED`) and re-queued, at the same round-trip cost |
//! | (*) VF_MIGRATED on RESFIX_START or during the re-query wedges | re-queues the GT | both mean the VF moved again under the recovery; a new pass is the recovery for that, a wedge is not |
//! | `recovery_inprogress` is cleared just before RESFIX_DONE is sent (unless queued again) | cleared once the GuC accepted RESFIX_DONE | "recovery pending" must not read false while DONE can still be refused with VF_MIGRATED |
//! | `ggtt_need_fixes` is cleared after the fixups even if the GT was reported again meanwhile | stays set until the queued run's fixups | a report after RESFIX_START may mean the GGTT moved again |
//! | migration unsupported: decided once at probe; the interrupt only logs | decided per pass from each GT's negotiated VF ABI, reported as [`PassOutcome::Unsupported`] and counted | the crate cannot see the probe; the embedder sees every refused migration |
//! | the re-query moves the tile's GGTT itself, under the GGTT lock, before the fixups: 7.0 stored the new base and applied the relative shift; 7.3 moves it to the absolute new base (a no-op when unchanged) | the re-query only records the tile's reported base; the applied base moves only when the embedder's fixup returned `Ok`; the hook gets both absolute bases, old and new | a failed, cancelled or deferred fixup can never lose or double a move |
//! | 7.3's worker takes no runtime-PM reference at all (the seed's worker, about 6.13, took one) | [`RecoveryHooks::pm_get`] / [`pm_put`](RecoveryHooks::pm_put) around each pass; their defaults do nothing, which is 7.3's behaviour | an embedder whose device may power down while the worker waits on the mailbox can keep it up |
//! | debug "stoppers" at RESFIX_START (after the shutdown), FIXUPS (after RESFIX_START, before the re-query), RESTART_JOBS (before the rearm) and RESFIX_DONE (before the "imminent" check and RESFIX_DONE), where its own migration tests hold the worker | [`RecoveryHooks::hold`] at the same four places ([`HoldPoint`]), always called, on both schedules and on the legacy protocol; the default does nothing | tests land a second migration, or a pause resumed on the same host, where the kernel's own tests do (tests/stoppers.rs) |
//! | no legacy recovery | the seed's legacy recovery (no markers) as an opt-in ([`RecoveryConfig::legacy`]) | for VF ABI 1.26 and older GuCs that cannot detect a second migration; see below |
//!
//! The legacy protocol (opt-in) has no marker, so the GuC cannot refuse a RESFIX_DONE sent for
//! an older migration. So it keeps the seed's rule: RESFIX_DONE is skipped (the GT deferred to
//! the queued run) when another recovery is imminent: under [`StartPolicy::AnyGt`] when the GT
//! was reported again since its recovery began, under [`StartPolicy::AllGts`] when any GT
//! reported since the pass began, or the worker is queued (the seed's device-wide
//! `vf_post_migration_imminent`: `gt_flags != 0 || work_pending`). A report that lands after
//! that check, while the DONE is in flight, is seen when the DONE is accepted
//! ([`Coordinator::done`] returns `false`): the GT is then not kickstarted but deferred to the
//! next pass, which recovers it on the new base.
//!
//! ## Under [`StartPolicy::AllGts`] (the seed's policy)
//!
//! The worker is queued once every GT has reported, and a pass is device-wide, as the seed's:
//! it recovers every GT, reported or not (each with the per-GT sequence above). That is what
//! makes the policy lossless: a report absorbed by a GT's queued recovery, or consumed by the
//! pass that began after it, is always followed by a RESFIX_START of *every* GT. A GT handed
//! back (re-queued, deferred, postponed) is owed a pass that does not wait for reports. What the
//! policy cannot do is tell a lost or late interrupt from a slow one: a GT that reported waits
//! for the others, see [`Vf::awaiting_reports`] and [`Vf::start_now`].
//!
//! ## GGTT validity
//!
//! [`Vf::ggtt_valid`] is false from the moment the GT's `SW_INT_0` is signalled (or a
//! `VF_MIGRATED` reply is seen) until its tile's GGTT fixup for the newest reported base and the
//! GT's own fixups returned in a run that began after the last report. See
//! [`crate::coordinator`] for how that is kept without a lock.

mod config;
mod error;
mod hooks;
mod machine;
mod pass;
mod report;
mod vf;

pub use config::RecoveryConfig;
pub use error::{BootstrapError, GtAccessError, RecoveryError};
pub use hooks::{HoldPoint, HookError, NoHooks, RecoveryHooks, Step};
pub use report::{GgttWait, PassOutcome, PassReport, Stats, Unsupported, GGTT_WAIT_STALL_POLLS};
pub use vf::{GtView, Vf};

#[allow(unused_imports)] // the docs' links
use crate::coordinator::{Coordinator, StartPolicy};
#[allow(unused_imports)] // the docs' links
use crate::workqueue::WorkQueue;
