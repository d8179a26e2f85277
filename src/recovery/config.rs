//! [`RecoveryConfig`]: how the VF handles migrations.

#[allow(unused_imports)] // the docs' links
use super::{PassOutcome, RecoveryError, RecoveryHooks, Unsupported, Vf};
use crate::coordinator::StartPolicy;

/// How the VF handles migrations. [`Default`] is the kernel's behaviour (Linux 7.0 to 7.3, see
/// [`RecoveryConfig::KERNEL`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct RecoveryConfig {
    /// When the worker is queued: on any GT's report (default), or when every GT has reported
    /// (the seed).
    pub start: StartPolicy,
    /// Opt in to the seed's legacy recovery for GTs whose VF ABI is below 1.27 (no RESFIX_START,
    /// RESFIX_DONE without a marker, skipped when another recovery is imminent). Off by default:
    /// as in Linux 7.0 and later (checked against 7.3), migration without markers is then
    /// unsupported ([`PassOutcome::Unsupported`], counted, never a wedge).
    ///
    /// With memirq, "imminent" includes a GT whose SW_INT_0 byte is still set in the page (the
    /// GuC reported, the handler has not run yet): the pass defers that GT and queues another.
    /// So a loop that polls the page itself must poll it between passes, not drain the queue
    /// first: until the handler runs, every pass defers again.
    pub legacy: bool,
    /// The kernel's `needs_shared_vf_gt_wq` (Panther Lake): a tile's media GT does not start its
    /// recovery while the primary GT's recovery is pending (the primary GT restores CCS first).
    /// Off by default.
    pub media_after_primary: bool,
    /// How many times in a row one GT may be re-queued by a `VF_MIGRATED` reply without a new
    /// `SW_INT_0` from that GT in between, before the recovery gives up and wedges with
    /// [`RecoveryError::RequeueLimit`]. Default [`RecoveryConfig::DEFAULT_MAX_REQUEUES`];
    /// `u32::MAX` is "no bound" (Linux 7.0 to 7.3 have none).
    ///
    /// A real second migration also raises `SW_INT_0`, which starts the count again, so the
    /// bound only ends a loop in which the GuC refuses every RESFIX_START or RESFIX_DONE with
    /// `VF_MIGRATED` and nothing else happens: a broken GuC or marker path, which would
    /// otherwise keep the VF blocked and the worker busy for ever with no error.
    pub max_requeues: u32,
    /// Opt in to migration with GuC interrupts from the interrupt register
    /// ([`Vf::handle_guc_interrupt`]) for GTs without a memirq page: parts before graphics IP
    /// 12.50, or an embedder that delivers SW_INT_0 its own way. Off by default: Linux 7.0 and
    /// later (checked against 7.3) refuse VF migration without memirq, and a migration of such
    /// a GT is then [`PassOutcome::Unsupported`] ([`Unsupported::NoMemirq`]).
    pub mmio_irq: bool,
    /// The schedule of a pass (see [the module docs](super#one-machine-two-schedules)): `true`
    /// (the default, since 0.1) overlaps the GTs' mailbox exchanges, every GT of the pass with
    /// a request in flight and a GT reported during the pass taken in at once, which gives one
    /// worker the kernel's blackout (Linux 7.0 to 7.3: its per-GT workers overlap the same
    /// way); `false` recovers the GTs one after the other. Both send each GT exactly the same requests. The waits of an
    /// overlapped pass share one time base: the worker relaxes once per round of polls,
    /// through the device of the first GT still waiting, so the GTs' devices should read one
    /// clock (as on hardware, one CPU; with the mock, share a `mock::MockClock`).
    pub split_phase: bool,
}

impl RecoveryConfig {
    /// The default of [`max_requeues`](RecoveryConfig::max_requeues): 8. A VM is migrated at most
    /// a few times within one recovery, and each real migration resets the count with its
    /// interrupt; 8 re-queues without an interrupt cost a few milliseconds of mailbox time at the
    /// GuC's real turnaround, and then the embedder learns of the loop.
    pub const DEFAULT_MAX_REQUEUES: u32 = 8;

    /// The kernel's behaviour (Linux 7.0, still so in 7.3): any-GT start, markers and memirq
    /// required, no media ordering, the GTs' recoveries overlapped as its per-GT workers overlap
    /// them ([`split_phase`](RecoveryConfig::split_phase)); plus the re-queue bound (Linux 7.0 to
    /// 7.3 have none, see [`max_requeues`](RecoveryConfig::max_requeues)).
    pub const KERNEL: RecoveryConfig = RecoveryConfig {
        start: StartPolicy::AnyGt,
        legacy: false,
        media_after_primary: false,
        max_requeues: RecoveryConfig::DEFAULT_MAX_REQUEUES,
        mmio_irq: false,
        split_phase: true,
    };

    /// The default: [`KERNEL`](RecoveryConfig::KERNEL). The struct is `#[non_exhaustive]`, so
    /// that a new setting is not a breaking change: start from this and assign the fields to
    /// change, also in a `const`:
    ///
    /// ```
    /// use xe_sriov_vf::{RecoveryConfig, StartPolicy};
    ///
    /// const SEED_LIKE: RecoveryConfig = {
    ///     let mut c = RecoveryConfig::DEFAULT;
    ///     c.start = StartPolicy::AllGts;
    ///     c.legacy = true;
    ///     c
    /// };
    /// assert!(!SEED_LIKE.media_after_primary);
    /// ```
    pub const DEFAULT: RecoveryConfig = RecoveryConfig::KERNEL;

    /// `self` with [`mmio_irq`](RecoveryConfig::mmio_irq) on.
    #[must_use]
    pub const fn with_mmio_irq(self) -> RecoveryConfig {
        RecoveryConfig {
            mmio_irq: true,
            ..self
        }
    }

    /// `self` with [`split_phase`](RecoveryConfig::split_phase) set to `on` (it is on by
    /// default; `false` recovers the GTs one after the other).
    #[must_use]
    pub const fn with_split_phase(self, on: bool) -> RecoveryConfig {
        RecoveryConfig {
            split_phase: on,
            ..self
        }
    }
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        RecoveryConfig::KERNEL
    }
}
