//! A simulated GuC for one GT, behind the [`Device`] trait (feature `mock`; `no_std`, no alloc).
//!
//! [`MockGuc`] answers the VF actions of the MMIO mailbox exactly at this GT's registers
//! ([`GtKind::mailbox`]), keeps the GuC's view of the VF ([`VfState`], negotiated version, RESFIX
//! marker), simulates live migrations ([`MockGuc::migrate`], or stepwise [`MockGuc::pause`],
//! [`MockGuc::restore`], [`MockGuc::resume`]) and a VM paused and resumed on the same host
//! ([`pause_resume_vm`]), runs a virtual clock that only [`Device::relax`],
//! [`MockGuc::advance`] and such a pause move, injects faults ([`MockGuc::inject`]) and
//! records a bounded transcript of the mailbox traffic ([`MockGuc::drain_transcript`]).
//!
//! All state sits behind one `spin::Mutex`, so a `MockGuc` is `Sync` and can be shared by a
//! test's threads (the lock is never held while calling back into user code).
//!
//! That lock matters in one place: a real interrupt handler. A handler that calls
//! [`MockGuc::take_interrupts`] while the code it interrupted holds the mock's lock (in the
//! middle of a `read32`, say) spins forever on a single CPU. Mask interrupts around every
//! thread-context access to a mock that an interrupt handler also touches, as the QEMU guest's
//! `IrqSafeGuc` wrapper does (the single-CPU `spin_lock_irqsave`). Real hardware has no such
//! lock, and the crate's own interrupt entry ([`Vf::handle_guc_interrupt`]) takes none. `MockGuc::new` is
//! a `const fn`, so a `static` mock works in a `no_std` simulator.
//!
//! ```
//! use xe_sriov_vf::device::Device;
//! use xe_sriov_vf::mock::{MockGuc, Provisioning};
//! use xe_sriov_vf::wire::regs::GtKind;
//! use xe_sriov_vf::wire::Version;
//!
//! let guc = MockGuc::new(GtKind::Primary, Version::new(1, 27), Provisioning::integrated());
//! let regs = GtKind::Primary.mailbox();
//! guc.write32(regs.scratch(0), 0x0000_5500); // MATCH_VERSION
//! guc.write32(regs.scratch(1), 0x0001_0200); // wanted 1.2
//! let _ = guc.read32(regs.scratch(3)); // posting read
//! guc.write32(regs.doorbell, 0);
//! assert_eq!(guc.read32(regs.scratch(0)), 0xF000_0000); // SUCCESS
//! assert_eq!(guc.read32(regs.scratch(1)), 0x0001_1B00); // the GuC speaks 1.27.0
//! ```
//!
//! # Registers
//!
//! | access | effect |
//! |---|---|
//! | write scratch n (0..3) | stores the dword, marks n as part of the next request, abandons a BUSY in progress |
//! | write the doorbell (any value) | the GuC takes the request (scratch 0..=highest written index) and answers synchronously, or after the request's [`Latency`], subject to a paused state and to faults |
//! | read scratch 0 | the reply header (or, during an injected BUSY, the next BUSY value) |
//! | read scratch 1..3 | as last written by the GuC's reply or by the host (a reply only writes its own length) |
//! | read the doorbell | 0 |
//! | any other offset | reads `0xFFFF_FFFF`, writes are dropped |
//!
//! Register accesses take no virtual time. Every `read32` / `write32` is counted
//! ([`MockGuc::access_counts`]).
//!
//! # Latency and blackout
//!
//! By default the GuC answers at the doorbell. [`MockGuc::set_latency`] and
//! [`MockGuc::set_action_latency`] give replies a turnaround on the virtual clock (a
//! [`Latency`]: fixed, optionally with a BUSY phase), so that every mailbox wait costs virtual
//! time as on hardware: until the turnaround has passed, scratch 0 reads as the VF wrote it (or
//! BUSY), and the reply appears on the first read after it. Mocks can share one clock
//! ([`MockClock`], [`MockGuc::use_clock`]) so that the GTs of one VF live on one timeline.
//! [`MockGuc::blackout`] is what a migration cost the VF, measured here, on the GuC's side:
//! from SW_INT_0 to the moment the GuC posted its SUCCESS to RESFIX_DONE, and the doorbells in
//! between.
//!
//! # How the GuC answers
//!
//! A doorbell processes the request at once: state changes apply at the doorbell, even when an
//! injected BUSY delays the reply. Replies overwrite scratch 0..len-1 only: MATCH_VERSION
//! writes 2 dwords, QUERY_SINGLE_KLV 1 + LENGTH (3 for a 64-bit key, 2 for a 32-bit one),
//! everything else 1; the transcript's reply entries carry exactly those dwords.
//!
//! | request (decoded with [`Request::decode`]) | VF state / version | reply | effect |
//! |---|---|---|---|
//! | any | `VF_READY_PAUSED`, `VF_RESFIX_PAUSED` | none (the VM is frozen: the VF times out) | none; queued faults are not consumed |
//! | nothing written before the doorbell | | FAILURE INVALID_PARAMS (0x60) | |
//! | dword 0 with ORIGIN = GUC, any TYPE | | none (the GuC ignores its own messages; scratch keeps the request, which the VF then reads back as a GuC-origin value) | |
//! | host-origin, TYPE not REQUEST (incl. undefined TYPE 4) | | FAILURE INVALID_PARAMS | |
//! | unknown action (incl. RELAY_TO_PF, which is CTB-only) | | FAILURE UNKNOWN_ACTION (0x30) | |
//! | RESFIX_START, any contents | version < 1.27 (the negotiated one, else the offered one) | FAILURE UNKNOWN_ACTION | |
//! | QUERY_SINGLE_KLV with dword 1 bits 31:16 set | | FAILURE MALFORMED_KLV (0x103) | |
//! | other wrong length, must-be-zero bits, marker 0 | | FAILURE INVALID_PARAMS | |
//! | VF_RESET | `VF_READY`, `VF_RUNNING`, `VF_RESFIX_BLOCKED` | SUCCESS 0 | -> `VF_READY`; negotiated version and marker cleared |
//! | MATCH_VERSION, branch != 0 | | FAILURE INVALID_PARAMS | |
//! | MATCH_VERSION, major 0 ("any"; minor ignored) | | SUCCESS 0 + offered version | negotiated = offered; `VF_READY` -> `VF_RUNNING` |
//! | MATCH_VERSION, major == offered major (any minor) | | SUCCESS 0 + offered version (the VF judges a lower minor "too old") | as above |
//! | MATCH_VERSION, other major | | FAILURE UNSUPPORTED_VERSION (0x0B) | |
//! | QUERY_SINGLE_KLV | no negotiated version | FAILURE INVALID_STATE (0x0A) | |
//! | QUERY_SINGLE_KLV GGTT_START, GGTT_SIZE | | SUCCESS len 2 + value | |
//! | QUERY_SINGLE_KLV LMEM_SIZE | `lmem_size` Some / None | SUCCESS len 2 / FAILURE INVALID_KLV_KEY (0x105) | |
//! | QUERY_SINGLE_KLV NUM_CONTEXTS, NUM_DOORBELLS, TILE_MASK | | SUCCESS len 1 | |
//! | QUERY_SINGLE_KLV GMD_ID / GROUP_SCHEDULING_AVAILABLE / NUM_PAGING_ENGINE_INSTANCES | negotiated >= 1.2 / 1.26 / 1.36, else | SUCCESS len 1 / FAILURE INVALID_KLV_KEY | |
//! | QUERY_SINGLE_KLV, any other key | | FAILURE INVALID_KLV_KEY | |
//! | RESFIX_START(marker) | >= 1.27; `VF_RESFIX_BLOCKED` or `VF_RUNNING` (a recovery racing a late interrupt) | SUCCESS 0 | marker stored (replacing any) |
//! | RESFIX_START | >= 1.27; no negotiated version, or `VF_READY` | FAILURE INVALID_STATE | |
//! | RESFIX_DONE | no negotiated version, or `VF_READY` | FAILURE INVALID_STATE | |
//! | RESFIX_DONE(marker) | >= 1.27; marker equals the stored one | SUCCESS 0 | `VF_RESFIX_BLOCKED` -> `VF_RUNNING` (`VF_RUNNING` stays); marker cleared; counted |
//! | RESFIX_DONE(marker or none) | >= 1.27; no stored marker (none sent, or a migration reset it) or a different one | FAILURE VF_MIGRATED (0x107) | |
//! | RESFIX_DONE (legacy, DATA0 0) | < 1.27 | SUCCESS 0 | `VF_RESFIX_BLOCKED` -> `VF_RUNNING`, `VF_RUNNING` stays (no-op); counted either way |
//! | RESFIX_DONE(marker) | < 1.27 (DATA0 is must-be-zero there) | FAILURE INVALID_PARAMS | |
//!
//! "Counted": [`MockGuc::resfix_done_accepted`] and [`MockGuc::last_migration_done_count`] count
//! every RESFIX_DONE answered SUCCESS, so a duplicate DONE shows up as a count of 2.
//!
//! # Migration
//!
//! | call | from | to | effect |
//! |---|---|---|---|
//! | [`pause`](MockGuc::pause) | `VF_READY`, `VF_RUNNING`, `VF_RESFIX_BLOCKED` | `VF_READY_PAUSED` | remembers the state; no-op when already paused |
//! | [`restore`](MockGuc::restore) | any (pauses first if needed) | `VF_RESFIX_PAUSED` | provisioning replaced, stored marker reset; negotiated version kept |
//! | [`resume`](MockGuc::resume) | `VF_RESFIX_PAUSED` | `VF_RESFIX_BLOCKED` | SW_INT_0 raised and logged, migration counted, per-migration DONE count reset |
//! | [`resume`](MockGuc::resume) | `VF_READY_PAUSED` (no restore) | the state before the pause | nothing else (a plain pause/resume) |
//! | [`migrate`](MockGuc::migrate) | any | `VF_RESFIX_BLOCKED` | pause + restore (same provisioning, new GGTT start) + resume |
//! | [`pause_resume`](MockGuc::pause_resume), [`pause_resume_vm`] | not paused | the same state | pause + resume on the same host, the clock moved by the pause; no interrupt, nothing else changes |
//! | [`load_image`](MockGuc::load_image) | any (a destination GuC) | `VF_RESFIX_PAUSED` | a [`VfImage`] from another GuC's [`save_image`](MockGuc::save_image): its negotiated version and memirq registration, new provisioning, marker reset; then [`resume`](MockGuc::resume) |
//!
//! # Faults
//!
//! [`inject`](MockGuc::inject) queues up to [`FAULT_QUEUE_LEN`] faults; each doorbell (outside
//! the paused states) consumes the first queued fault whose [`Trigger`] matches its request. See
//! [`Fault`] for each kind. During an injected RETRY streak, resends of the same dwords are
//! answered RETRY without consuming further faults.
//!
//! # Transcript
//!
//! Up to [`TRANSCRIPT_LEN`] [`TranscriptEntry`]s, oldest dropped first (and counted): `ToGuc`
//! at each doorbell; `FromGuc` whenever the VF reads scratch 0 after a doorbell and sees a
//! GuC-origin value it has not seen yet for that request (so each distinct BUSY counter, a
//! RETRY, the final reply); `Interrupt` when a migration raises SW_INT_0.
//! [`TranscriptEntry::line`] prints them as `gt0 > 0x00005507`, `gt0 < 0xf0000000`,
//! `gt0 irq SW_INT_0`. [`MailboxTap`] applies the same rules to the register accesses of a VF
//! whose GuC is not a mock (GuC processes on the host, real hardware behind a tracing
//! `Device`), so its lines compare with the simulator's `--trace` lines.
//!
//! # Hooks on register access
//!
//! [`HookedDevice`] wraps a `MockGuc` (or any [`Device`]) and replaces any of its four calls
//! with a closure: a test's "a migration lands at the third doorbell", "this read is logged"
//! or "another task runs while the worker yields" without writing a `Device` of its own.

mod guc;
mod hooked;
mod oracle;
mod page;
mod tap;
mod types;

pub use guc::MemirqRegistration;
pub use hooked::{Forward, HookedDevice, NowHook, ReadHook, RelaxHook, WriteHook};
pub use oracle::{GgttOracle, OracleError, NODE_OFFSETS};
pub use page::MockMemirqPage;
pub use tap::MailboxTap;

pub use types::{
    gmd_id, AccessCounts, Blackout, Dir, Fault, Latency, MockError, Provisioning, TranscriptEntry,
    TranscriptLine, Trigger, VfImage, VfState,
};

use spin::Mutex;

use crate::device::{nanos, Device, Instant, Reg};
use crate::memirq::MemirqPage;
use crate::wire::regs::{GtKind, GucIntr, SCRATCH_COUNT};
use crate::wire::{Marker, Version};
use core::time::Duration;

#[cfg(doc)]
use crate::recovery::Vf;
#[cfg(doc)]
use crate::wire::Request;

use guc::Inner;

/// How many faults [`MockGuc::inject`] can queue.
pub const FAULT_QUEUE_LEN: usize = 8;
/// How many states [`MockGuc::state_history`] keeps.
pub const HISTORY_LEN: usize = 16;
/// How many entries the transcript keeps before dropping the oldest.
pub const TRANSCRIPT_LEN: usize = 64;
/// How many actions [`MockGuc::set_action_latency`] can give a latency of their own.
pub const LATENCY_TABLE_LEN: usize = 8;

/// A virtual clock several mocks share ([`MockGuc::use_clock`]): the GTs of one VF driven by
/// one worker live on one timeline, so the time the worker spends waiting on one GT's mailbox
/// passes for the others too. Moved only by the mocks' [`Device::relax`] and
/// [`MockGuc::advance`], and by [`MockClock::advance`].
#[derive(Debug, Default)]
pub struct MockClock {
    now: Mutex<u64>,
}

impl MockClock {
    /// A clock at virtual time 0.
    #[must_use]
    pub const fn new() -> MockClock {
        MockClock { now: Mutex::new(0) }
    }

    /// The current virtual time.
    pub fn now(&self) -> Instant {
        Instant(*self.now.lock())
    }

    /// Moves the clock forward by `d` (saturating at `u64::MAX` ns).
    pub fn advance(&self, d: Duration) {
        let mut now = self.now.lock();
        *now = now.saturating_add(nanos(d));
    }
}

/// The VM of `gucs` (its GTs' GuCs) is paused and resumed on the same host, `paused_for` of
/// the VF's time later: what the kernel's own migration tests do when they resume the first
/// snapshot instead of restoring a second one (Linux 7.3 tests, see the fact sheet's section
/// 10).
///
/// | what | effect |
/// |---|---|
/// | each GuC's VF state | `VF_READY_PAUSED` while paused (in [`MockGuc::state_history`]), then the state before the pause; a GuC already paused is left as it is |
/// | provisioning, negotiated version, stored marker, memirq registration, faults, counters | unchanged |
/// | interrupts | none raised; no transcript entry; no migration counted |
/// | the virtual clock | moves forward by `paused_for` once per distinct clock (a shared [`MockClock`] once, each GuC's own clock once) |
///
/// The clock jumps: the VF's monotonic clock keeps counting while its vCPUs do not run, as for
/// a vCPU descheduled in the middle of a wait (the fact sheet's section 4: a wait reads the
/// register once more after its deadline, so it reports no false timeout). A request posted
/// before the pause and not yet answered is answered after it if its turnaround has passed on
/// that clock.
pub fn pause_resume_vm(gucs: &[&MockGuc], paused_for: Duration) {
    // Nothing happens in the GuCs while the VM is paused: the pause and the resume are one
    // step for each, and the clocks move after.
    for guc in gucs {
        let mut inner = guc.inner.lock();
        if !inner.state().is_paused() {
            inner.pause();
            inner.resume();
        }
    }
    let ns = nanos(paused_for);
    for (i, guc) in gucs.iter().enumerate() {
        let clock = guc.inner.lock().shared_clock();
        // One move per clock: a GuC listed twice, or a shared clock an earlier GuC moved.
        let moved = gucs[..i].iter().any(|earlier| {
            core::ptr::eq(*earlier, *guc)
                || clock.is_some_and(|c| {
                    earlier
                        .inner
                        .lock()
                        .shared_clock()
                        .is_some_and(|o| core::ptr::eq(o, c))
                })
        });
        if !moved {
            guc.inner.lock().advance(ns);
        }
    }
}

/// A simulated GuC for one GT; see the [module documentation](self).
pub struct MockGuc {
    inner: Mutex<Inner>,
}

impl MockGuc {
    /// A GuC for a GT of `kind` that speaks VF ABI `offered` (for example 1.27.0), with the VF
    /// provisioned as `prov`, in `VF_READY`, at virtual time 0.
    #[must_use]
    pub const fn new(kind: GtKind, offered: Version, prov: Provisioning) -> MockGuc {
        MockGuc {
            inner: Mutex::new(Inner::new(kind, offered, prov)),
        }
    }

    /// The GT kind (it selects the mailbox registers).
    pub fn kind(&self) -> GtKind {
        self.inner.lock().kind()
    }

    /// The VF ABI version this GuC speaks.
    pub fn offered(&self) -> Version {
        self.inner.lock().offered()
    }

    /// Changes the version later MATCH_VERSION requests are answered with (a destination host
    /// with other firmware); the negotiated version is kept until the next MATCH_VERSION.
    pub fn set_offered(&self, offered: Version) {
        self.inner.lock().set_offered(offered)
    }

    /// The VF state.
    pub fn state(&self) -> VfState {
        self.inner.lock().state()
    }

    /// The version the last successful MATCH_VERSION agreed on; `None` before it and after
    /// VF_RESET.
    pub fn negotiated(&self) -> Option<Version> {
        self.inner.lock().negotiated()
    }

    /// The stored RESFIX marker.
    pub fn marker(&self) -> Option<Marker> {
        self.inner.lock().marker()
    }

    /// The current provisioning.
    pub fn provisioning(&self) -> Provisioning {
        self.inner.lock().provisioning()
    }

    /// The scratch registers as they are, without counting an access or advancing a BUSY.
    pub fn scratch(&self) -> [u32; SCRATCH_COUNT] {
        self.inner.lock().scratch()
    }

    /// The most recent states, oldest first, the current one last (at most [`HISTORY_LEN`]).
    /// It starts as `[VF_READY]`.
    pub fn state_history(&self) -> heapless::Vec<VfState, HISTORY_LEN> {
        self.inner.lock().history()
    }

    /// Forgets the state history; it restarts as `[current state]`.
    pub fn clear_state_history(&self) {
        self.inner.lock().clear_history()
    }

    /// A whole migration: pause, restore with the same provisioning but `new_ggtt_start`,
    /// resume (-> `VF_RESFIX_BLOCKED`, SW_INT_0 raised).
    pub fn migrate(&self, new_ggtt_start: u64) {
        self.inner.lock().migrate(new_ggtt_start)
    }

    /// The PF pauses the VF (-> `VF_READY_PAUSED`); no-op if already paused.
    pub fn pause(&self) {
        self.inner.lock().pause()
    }

    /// The PF loads a saved image on the destination (-> `VF_RESFIX_PAUSED`), with `prov` as
    /// the new provisioning (change more than `ggtt_start` to provoke an "unexpected
    /// reassignment"). Pauses first if the VF is not paused. Resets the stored marker.
    pub fn restore(&self, prov: Provisioning) {
        self.inner.lock().restore(prov)
    }

    /// The PF resumes the VF: after a restore -> `VF_RESFIX_BLOCKED` with SW_INT_0 raised (a
    /// migration); after a plain pause, back to the state before it; otherwise no-op.
    pub fn resume(&self) {
        self.inner.lock().resume()
    }

    /// The VM is paused and resumed on the same host `paused_for` later (a snapshot saved,
    /// then the same VM resumed): see [`pause_resume_vm`], for this GT alone.
    pub fn pause_resume(&self, paused_for: Duration) {
        pause_resume_vm(&[self], paused_for)
    }

    /// Migrations completed (resumes after a restore).
    pub fn migrations(&self) -> u32 {
        self.inner.lock().migrations()
    }

    /// RESFIX_DONE requests answered SUCCESS, in total.
    pub fn resfix_done_accepted(&self) -> u32 {
        self.inner.lock().done_accepted()
    }

    /// RESFIX_DONE requests answered SUCCESS since the last migration (should end at exactly 1
    /// after each recovery).
    pub fn last_migration_done_count(&self) -> u32 {
        self.inner.lock().done_since_migration()
    }

    /// The pending interrupt vector, cleared.
    pub fn take_interrupts(&self) -> GucIntr {
        self.inner.lock().take_irq()
    }

    /// The pending interrupt vector, left pending.
    pub fn pending_interrupts(&self) -> GucIntr {
        self.inner.lock().pending_irq()
    }

    /// Queues `fault` for the next request that matches `trigger`.
    ///
    /// # Errors
    ///
    /// [`MockError::QueueFull`] when [`FAULT_QUEUE_LEN`] faults are already queued (this one is
    /// not).
    pub fn inject(&self, trigger: Trigger, fault: Fault) -> Result<(), MockError> {
        self.inner
            .lock()
            .inject(trigger, fault)
            .map_err(|()| MockError::QueueFull)
    }

    /// Attaches the tile's memirq page, at GGTT address `ggtt`: once the VF has registered both
    /// memirq addresses ([`Gt::register_memirq`](crate::gt::Gt::register_memirq)), a migration
    /// writes SW_INT_0 into the page (status byte, then source byte, where the registration
    /// points) instead of raising the register vector. The tile's two mocks share one page.
    pub fn attach_memirq(&self, page: &'static MockMemirqPage, ggtt: u64) {
        self.inner.lock().attach_memirq_page(page, ggtt)
    }

    /// As [`attach_memirq`](MockGuc::attach_memirq), for any [`MemirqPage`]: a GuC in another
    /// process than the VF writes SW_INT_0 into real shared memory this way (a
    /// [`MemirqMem`](crate::mmio::MemirqMem) over the mapping the VM sees).
    pub fn attach_memirq_page(&self, page: &'static (dyn MemirqPage + Sync), ggtt: u64) {
        self.inner.lock().attach_memirq_page(page, ggtt)
    }

    /// The GuC's saved state of the VF, as the source PF saves it for a live migration: see
    /// [`VfImage`]. A paused GuC reports the state it had before the pause.
    pub fn save_image(&self) -> VfImage {
        self.inner.lock().image()
    }

    /// The destination GuC loads a saved image (-> `VF_RESFIX_PAUSED`, as
    /// [`restore`](MockGuc::restore)): the negotiated version and the memirq registration come
    /// from `image`, the provisioning is `prov` (the destination's GGTT base, say), the stored
    /// marker is reset. [`resume`](MockGuc::resume) then raises SW_INT_0 (into the memirq page
    /// when one is attached and the image registered it).
    pub fn load_image(&self, image: &VfImage, prov: Provisioning) {
        self.inner.lock().load_image(image, prov)
    }

    /// How the VF's memirq registration stands, checked against the attached page's layout for
    /// this GuC's unit (a registration at the wrong addresses is visible here).
    pub fn memirq_registration(&self) -> MemirqRegistration {
        self.inner.lock().memirq_registration()
    }

    /// A value the VF gave with HOST2GUC_SELF_CFG, if any.
    pub fn self_cfg_value(&self, key: crate::wire::self_cfg::SelfCfgKey) -> Option<u64> {
        self.inner.lock().self_cfg_value(key)
    }

    /// Whether the VF enabled CTB (HOST2GUC_CONTROL_CTB).
    pub fn ctb_enabled(&self) -> bool {
        self.inner.lock().ctb_enabled()
    }

    /// Raises GUC2HOST (a CT message for the VF): in the memirq page when registered, else in
    /// the register vector.
    pub fn raise_guc2host(&self) {
        let mut g = self.inner.lock();
        if !g.write_memirq(GucIntr::GUC2HOST) {
            g.raise_irq(GucIntr::GUC2HOST);
        }
    }

    /// Faults still queued.
    pub fn pending_faults(&self) -> usize {
        self.inner.lock().pending_faults()
    }

    /// Drops every queued fault and any RETRY streak.
    pub fn clear_faults(&self) {
        self.inner.lock().clear_faults()
    }

    /// Moves the virtual clock forward by `d` (saturating at `u64::MAX` ns).
    pub fn advance(&self, d: Duration) {
        self.inner.lock().advance(nanos(d))
    }

    /// Sets how far one [`Device::relax`] moves the virtual clock (default 10 µs).
    pub fn set_relax_step(&self, step: Duration) {
        self.inner.lock().set_relax_step(nanos(step))
    }

    /// From now on, reads and moves `clock` instead of this mock's own virtual clock (whose
    /// time is forgotten): share one clock between the mocks of a VF whose GTs one worker
    /// drives. See [`MockClock`].
    pub fn use_clock(&self, clock: &'static MockClock) {
        self.inner.lock().use_clock(clock)
    }

    /// Gives every action the turnaround `latency` (see [`Latency`]) and forgets the
    /// per-action ones. The default is [`Latency::ZERO`].
    pub fn set_latency(&self, latency: Latency) {
        self.inner.lock().set_latency(latency)
    }

    /// Gives requests of action `action` (a host-origin REQUEST header's ACTION, see
    /// [`code`](crate::wire::action::code)) the turnaround `latency`, in place of the one of
    /// [`set_latency`](MockGuc::set_latency). At most [`LATENCY_TABLE_LEN`] actions.
    ///
    /// # Errors
    ///
    /// [`MockError::LatencyTableFull`] when [`LATENCY_TABLE_LEN`] other actions already have a
    /// latency (setting one of them again always succeeds).
    pub fn set_action_latency(&self, action: u16, latency: Latency) -> Result<(), MockError> {
        self.inner
            .lock()
            .set_action_latency(action, latency)
            .map_err(|()| MockError::LatencyTableFull)
    }

    /// What the last migration cost the VF on this GT, as the GuC saw it: from its SW_INT_0 to
    /// the SUCCESS of the first RESFIX_DONE after it, and the mailbox round trips in between.
    /// `None` before the first migration.
    pub fn blackout(&self) -> Option<Blackout> {
        self.inner.lock().blackout()
    }

    /// Register accesses so far.
    pub fn access_counts(&self) -> AccessCounts {
        self.inner.lock().counts()
    }

    /// Zeroes the access counters.
    pub fn reset_access_counts(&self) {
        self.inner.lock().reset_counts()
    }

    /// Removes the transcript entries, oldest first, handing each to `f` (the lock is not held
    /// while `f` runs, so `f` may use the mock).
    pub fn drain_transcript(&self, mut f: impl FnMut(&TranscriptEntry)) {
        loop {
            let next = self.inner.lock().pop_transcript();
            match next {
                Some(entry) => f(&entry),
                None => break,
            }
        }
    }

    /// Transcript entries dropped because the transcript was full.
    pub fn transcript_dropped(&self) -> u32 {
        self.inner.lock().transcript_dropped()
    }
}

impl Device for MockGuc {
    fn read32(&self, reg: Reg) -> u32 {
        self.inner.lock().read(reg)
    }

    fn write32(&self, reg: Reg, value: u32) {
        self.inner.lock().write(reg, value)
    }

    fn now(&self) -> Instant {
        self.inner.lock().now()
    }

    fn relax(&self) {
        self.inner.lock().relax()
    }
}

impl core::fmt::Debug for MockGuc {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let g = self.inner.lock();
        f.debug_struct("MockGuc")
            .field("kind", &g.kind())
            .field("state", &g.state())
            .field("negotiated", &g.negotiated())
            .field("marker", &g.marker())
            .field("now", &g.now())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
