//! The simulated GuC's state and its request processing. Everything here runs under the
//! [`MockGuc`](super::MockGuc) lock; no function here can panic.

mod actions;

use actions::{failure, one, reply_dw};

use super::types::VfImage;
use crate::device::{nanos, Instant, Reg};
use crate::memirq::MemirqPage;
use crate::wire::action::{code, KlvReply, MmioMessage};
use crate::wire::hxg::{Header, Message, Origin, Reply};
use crate::wire::memirq::{GucUnit, PAGE_SIZE};
use crate::wire::regs::{GtKind, GucIntr, MailboxRegs, SCRATCH_COUNT};
use crate::wire::self_cfg::{
    self as self_cfg, decode_control_ctb, decode_self_cfg, CtbControl, SelfCfgError, SelfCfgKey,
};
use crate::wire::{GucError, KlvKey, Marker, Request, Version, WireError};
use core::time::Duration;

use super::types::{
    AccessCounts, Blackout, Dir, Fault, Latency, Provisioning, TranscriptEntry, Trigger, VfState,
};
use super::{MockClock, FAULT_QUEUE_LEN, HISTORY_LEN, LATENCY_TABLE_LEN, TRANSCRIPT_LEN};

/// What a register read returns at an offset this GT does not map.
pub(crate) const UNMAPPED: u32 = 0xFFFF_FFFF;
/// The largest value of the 28-bit BUSY counter.
const BUSY_COUNTER_MAX: u32 = 0x0FFF_FFFF;
/// Default virtual time one `relax()` takes: 10 µs.
pub(crate) const DEFAULT_RELAX_NS: u64 = 10_000;

/// What scratch 0 does on a read after the last doorbell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Reads return the scratch registers as they are.
    Idle,
    /// Reads of scratch 0 return BUSY; after `left` of them, `then` is written (or, if `None`,
    /// BUSY stays forever).
    Busy {
        left: u32,
        counter: u32,
        then: Option<MmioMessage>,
    },
}

/// A reply the GuC has computed but not posted yet (the latency model): until `open_at` the
/// VF sees the scratch registers as it wrote them (BUSY in scratch 0 from `busy_at`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Gate {
    open_at: u64,
    busy_at: Option<u64>,
    /// The scratch registers and phase once the reply is posted.
    scratch: [u32; SCRATCH_COUNT],
    phase: Phase,
}

/// A RETRY streak: resends of `request` are answered RETRY `remaining` more times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct RetryStreak {
    request: Option<MmioMessage>,
    remaining: u32,
}

/// The mock GuC's whole state.
pub(crate) struct Inner {
    kind: GtKind,
    regs: MailboxRegs,
    offered: Version,
    prov: Provisioning,
    state: VfState,
    /// The state a pause left, to go back to on a resume without restore.
    pre_pause: VfState,
    negotiated: Option<Version>,
    marker: Option<Marker>,
    scratch: [u32; SCRATCH_COUNT],
    /// Bit n: scratch n written since the last doorbell.
    written: u8,
    phase: Phase,
    retry: Option<RetryStreak>,
    faults: heapless::Vec<(Trigger, Fault), FAULT_QUEUE_LEN>,
    irq: GucIntr,
    now: u64,
    /// A clock shared with other mocks, replacing `now` once set.
    clock: Option<&'static MockClock>,
    relax_step: u64,
    /// The turnaround of every action without an entry in `action_latency`.
    latency: Latency,
    action_latency: heapless::Vec<(u16, Latency), LATENCY_TABLE_LEN>,
    /// The reply of the last doorbell while its turnaround runs.
    gate: Option<Gate>,
    /// The last migration's blackout, from its SW_INT_0.
    blackout: Option<Blackout>,
    counts: AccessCounts,
    migrations: u32,
    done_accepted: u32,
    done_since_migration: u32,
    /// The state before the oldest retained transition.
    history_base: VfState,
    /// States entered, oldest first.
    history: heapless::Deque<VfState, { HISTORY_LEN - 1 }>,
    transcript: heapless::Deque<TranscriptEntry, TRANSCRIPT_LEN>,
    transcript_dropped: u32,
    /// The last GuC-origin scratch 0 value the VF read since the last doorbell.
    seen: Option<u32>,
    /// The full reply placed for the current request (for the transcript's data dwords).
    reply: Option<MmioMessage>,
    /// Whether scratch 0 reads are replies: from a doorbell to the next host scratch write.
    armed: bool,
    /// MEMIRQ_SOURCE_ADDR and MEMIRQ_STATUS_ADDR as the VF registered them.
    memirq_source: Option<u64>,
    memirq_status: Option<u64>,
    /// The tile's memirq page and its GGTT address, once attached.
    page: Option<(&'static (dyn MemirqPage + Sync), u64)>,
    /// The other self-config values received (CTB addresses and sizes), by key.
    self_cfg: heapless::Vec<(SelfCfgKey, u64), 8>,
    ctb_enabled: bool,
}

/// How a mock GuC's memirq registration stands (see [`MockGuc::memirq_registration`](super::MockGuc::memirq_registration)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MemirqRegistration {
    /// Neither address registered: interrupts go to the register vector.
    None,
    /// Only one of the two addresses registered.
    Partial,
    /// Both registered, matching the attached page's layout for this GuC's unit.
    Ok,
    /// Both registered, but not at the attached page's layout for this GuC's unit (or no page
    /// is attached): what the VF registered.
    Wrong {
        /// The registered source address.
        source: u64,
        /// The registered status address.
        status: u64,
    },
}

impl Inner {
    pub(crate) const fn new(kind: GtKind, offered: Version, prov: Provisioning) -> Inner {
        Inner {
            kind,
            regs: kind.mailbox(),
            offered,
            prov,
            state: VfState::Ready,
            pre_pause: VfState::Ready,
            negotiated: None,
            marker: None,
            scratch: [0; SCRATCH_COUNT],
            written: 0,
            phase: Phase::Idle,
            retry: None,
            faults: heapless::Vec::new(),
            irq: GucIntr::empty(),
            memirq_source: None,
            memirq_status: None,
            page: None,
            self_cfg: heapless::Vec::new(),
            ctb_enabled: false,
            now: 0,
            clock: None,
            relax_step: DEFAULT_RELAX_NS,
            latency: Latency::ZERO,
            action_latency: heapless::Vec::new(),
            gate: None,
            blackout: None,
            counts: AccessCounts {
                reads: 0,
                writes: 0,
                doorbells: 0,
            },
            migrations: 0,
            done_accepted: 0,
            done_since_migration: 0,
            history_base: VfState::Ready,
            history: heapless::Deque::new(),
            transcript: heapless::Deque::new(),
            transcript_dropped: 0,
            seen: None,
            reply: None,
            armed: false,
        }
    }

    // ---- getters / setters used by MockGuc ----

    pub(crate) fn kind(&self) -> GtKind {
        self.kind
    }
    pub(crate) fn offered(&self) -> Version {
        self.offered
    }
    pub(crate) fn set_offered(&mut self, v: Version) {
        self.offered = v;
    }
    pub(crate) fn state(&self) -> VfState {
        self.state
    }
    pub(crate) fn negotiated(&self) -> Option<Version> {
        self.negotiated
    }
    pub(crate) fn marker(&self) -> Option<Marker> {
        self.marker
    }
    pub(crate) fn provisioning(&self) -> Provisioning {
        self.prov
    }
    pub(crate) fn scratch(&self) -> [u32; SCRATCH_COUNT] {
        self.scratch
    }
    pub(crate) fn now(&self) -> Instant {
        Instant(self.time())
    }
    /// The virtual time: the shared clock's once attached, else this mock's own.
    fn time(&self) -> u64 {
        match self.clock {
            Some(clock) => clock.now().0,
            None => self.now,
        }
    }
    pub(crate) fn advance(&mut self, ns: u64) {
        match self.clock {
            Some(clock) => clock.advance(Duration::from_nanos(ns)),
            None => self.now = self.now.saturating_add(ns),
        }
    }
    pub(crate) fn relax(&mut self) {
        self.advance(self.relax_step)
    }
    /// The shared clock, once attached.
    pub(crate) fn shared_clock(&self) -> Option<&'static MockClock> {
        self.clock
    }
    pub(crate) fn use_clock(&mut self, clock: &'static MockClock) {
        self.clock = Some(clock);
    }
    pub(crate) fn set_latency(&mut self, latency: Latency) {
        self.latency = latency;
        self.action_latency.clear();
    }
    pub(crate) fn set_action_latency(&mut self, action: u16, latency: Latency) -> Result<(), ()> {
        if let Some(slot) = self.action_latency.iter_mut().find(|(a, _)| *a == action) {
            slot.1 = latency;
            return Ok(());
        }
        self.action_latency.push((action, latency)).map_err(|_| ())
    }
    pub(crate) fn blackout(&self) -> Option<Blackout> {
        self.blackout
    }
    /// The latency of a request whose dword 0 is `dw0`: its action's entry if it is a
    /// host-origin REQUEST with one, else the default.
    fn latency_for(&self, dw0: u32) -> Latency {
        let action = (dw0 >> 28 == 0).then_some((dw0 & 0xFFFF) as u16);
        self.action_latency
            .iter()
            .find(|(a, _)| Some(*a) == action)
            .map_or(self.latency, |(_, l)| *l)
    }
    pub(crate) fn set_relax_step(&mut self, ns: u64) {
        self.relax_step = ns;
    }
    pub(crate) fn counts(&self) -> AccessCounts {
        self.counts
    }
    pub(crate) fn reset_counts(&mut self) {
        self.counts = AccessCounts::default();
    }
    pub(crate) fn migrations(&self) -> u32 {
        self.migrations
    }
    pub(crate) fn done_accepted(&self) -> u32 {
        self.done_accepted
    }
    pub(crate) fn done_since_migration(&self) -> u32 {
        self.done_since_migration
    }
    pub(crate) fn pending_irq(&self) -> GucIntr {
        self.irq
    }
    pub(crate) fn raise_irq(&mut self, intr: GucIntr) {
        self.irq |= intr;
    }
    pub(crate) fn take_irq(&mut self) -> GucIntr {
        core::mem::replace(&mut self.irq, GucIntr::empty())
    }
    pub(crate) fn pending_faults(&self) -> usize {
        self.faults.len()
    }
    pub(crate) fn clear_faults(&mut self) {
        self.faults.clear();
        self.retry = None;
    }
    pub(crate) fn inject(&mut self, trigger: Trigger, fault: Fault) -> Result<(), ()> {
        self.faults.push((trigger, fault)).map_err(|_| ())
    }
    pub(crate) fn transcript_dropped(&self) -> u32 {
        self.transcript_dropped
    }
    pub(crate) fn pop_transcript(&mut self) -> Option<TranscriptEntry> {
        self.transcript.pop_front()
    }

    pub(crate) fn history(&self) -> heapless::Vec<VfState, HISTORY_LEN> {
        let mut out = heapless::Vec::new();
        let _ = out.push(self.history_base);
        for s in self.history.iter() {
            let _ = out.push(*s);
        }
        out
    }

    pub(crate) fn clear_history(&mut self) {
        self.history.clear();
        self.history_base = self.state;
    }

    // ---- bookkeeping ----

    fn set_state(&mut self, new: VfState) {
        if new == self.state {
            return;
        }
        debug!("mock GuC: {} -> {}", self.state.name(), new.name());
        self.state = new;
        if self.history.is_full() {
            if let Some(oldest) = self.history.pop_front() {
                self.history_base = oldest;
            }
        }
        let _ = self.history.push_back(new);
    }

    fn log(&mut self, dir: Dir, msg: MmioMessage) {
        let entry = TranscriptEntry {
            at: self.now(),
            dir,
            msg,
        };
        if self.transcript.is_full() {
            let _ = self.transcript.pop_front();
            self.transcript_dropped = self.transcript_dropped.saturating_add(1);
        }
        let _ = self.transcript.push_back(entry);
    }

    /// Writes a reply into the scratch registers (the rest keep what they held).
    fn place(&mut self, reply: MmioMessage) {
        for (slot, dw) in self.scratch.iter_mut().zip(reply.as_slice()) {
            *slot = *dw;
        }
        self.reply = Some(reply);
    }

    fn place_opt(&mut self, reply: Option<MmioMessage>) {
        if let Some(r) = reply {
            self.place(r);
        }
    }

    // ---- migration ----

    pub(crate) fn pause(&mut self) {
        if self.state.is_paused() {
            return;
        }
        self.pre_pause = self.state;
        self.set_state(VfState::ReadyPaused);
    }

    pub(crate) fn restore(&mut self, prov: Provisioning) {
        self.pause();
        self.prov = prov;
        self.marker = None;
        self.set_state(VfState::ResfixPaused);
    }

    pub(crate) fn resume(&mut self) {
        match self.state {
            VfState::ReadyPaused => {
                let back = self.pre_pause;
                self.set_state(back);
            }
            VfState::ResfixPaused => {
                self.set_state(VfState::ResfixBlocked);
                self.migrations = self.migrations.saturating_add(1);
                self.done_since_migration = 0;
                self.blackout = Some(Blackout {
                    sw_int0_at: self.now(),
                    done_at: None,
                    round_trips: 0,
                });
                if !self.write_memirq(GucIntr::SW_INT_0) {
                    self.irq |= GucIntr::SW_INT_0;
                }
                debug!(
                    "mock GuC: migration {} done, SW_INT_0 raised",
                    self.migrations
                );
                if let Some(m) = one(u32::from(GucIntr::SW_INT_0.bits())) {
                    self.log(Dir::Interrupt(GucIntr::SW_INT_0), m);
                }
            }
            _ => {}
        }
    }

    /// Delivers `intr` through the memirq page, where one is attached and both addresses are
    /// registered: the status byte(s) first, then the source byte, as the GuC does. Returns
    /// whether it did (else the caller raises the register vector). Writes go where the VF's
    /// registration points, inside the attached page only.
    pub(crate) fn write_memirq(&mut self, intr: GucIntr) -> bool {
        let (Some((page, base)), Some(source), Some(status)) =
            (self.page, self.memirq_source, self.memirq_status)
        else {
            return false;
        };
        let at = |addr: u64| -> Option<usize> {
            let off = addr.checked_sub(base)?;
            (off < PAGE_SIZE as u64).then_some(off as usize)
        };
        for bit in 0..16u8 {
            if intr.bits() & (1 << bit) != 0 {
                if let Some(o) = status.checked_add(u64::from(bit)).and_then(at) {
                    page.write8(o, 0xFF);
                }
            }
        }
        if let Some(o) = at(source) {
            page.write8(o, 0xFF);
        }
        true
    }

    pub(crate) fn attach_memirq_page(&mut self, page: &'static (dyn MemirqPage + Sync), ggtt: u64) {
        self.page = Some((page, ggtt));
    }

    pub(crate) fn image(&self) -> VfImage {
        VfImage {
            state: if self.state.is_paused() {
                self.pre_pause
            } else {
                self.state
            },
            negotiated: self.negotiated,
            memirq_source: self.memirq_source,
            memirq_status: self.memirq_status,
        }
    }

    /// The destination's restore from a saved image: like [`restore`](Self::restore), with the
    /// VF state the source GuC had before its pause.
    pub(crate) fn load_image(&mut self, image: &VfImage, prov: Provisioning) {
        self.negotiated = image.negotiated;
        self.memirq_source = image.memirq_source;
        self.memirq_status = image.memirq_status;
        // The state the source was in (VF_READY_PAUSED comes before it) ...
        self.set_state(image.state);
        self.pause();
        // ... and the restore proper: VF_RESFIX_PAUSED, new provisioning, no marker.
        self.restore(prov);
    }

    pub(crate) fn memirq_registration(&self) -> MemirqRegistration {
        match (self.memirq_source, self.memirq_status) {
            (None, None) => MemirqRegistration::None,
            (Some(source), Some(status)) => {
                let unit = GucUnit::for_gt(self.kind);
                match self.page {
                    Some((_, base))
                        if unit.source_addr(base) == Some(source)
                            && unit.status_addr(base) == Some(status) =>
                    {
                        MemirqRegistration::Ok
                    }
                    _ => MemirqRegistration::Wrong { source, status },
                }
            }
            _ => MemirqRegistration::Partial,
        }
    }

    pub(crate) fn ctb_enabled(&self) -> bool {
        self.ctb_enabled
    }

    pub(crate) fn self_cfg_value(&self, key: SelfCfgKey) -> Option<u64> {
        match key {
            SelfCfgKey::MemirqSourceAddr => self.memirq_source,
            SelfCfgKey::MemirqStatusAddr => self.memirq_status,
            _ => self
                .self_cfg
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| *v),
        }
    }

    pub(crate) fn migrate(&mut self, new_ggtt_start: u64) {
        let mut prov = self.prov;
        prov.ggtt_start = new_ggtt_start;
        self.restore(prov);
        self.resume();
    }

    // ---- register access ----

    pub(crate) fn read(&mut self, reg: Reg) -> u32 {
        self.counts.reads = self.counts.reads.wrapping_add(1);
        if reg == self.regs.doorbell {
            return 0;
        }
        let Some(i) = self.regs.scratch_index(reg) else {
            return UNMAPPED;
        };
        self.gate_step();
        if i == 0 {
            self.poll_step();
            let v = self.scratch[0];
            self.observe(v);
            v
        } else {
            self.scratch.get(i).copied().unwrap_or(UNMAPPED)
        }
    }

    /// Posts the gated reply once its turnaround has passed; shows BUSY from its BUSY time.
    fn gate_step(&mut self) {
        let Some(gate) = self.gate else {
            return;
        };
        let now = self.time();
        if now >= gate.open_at {
            self.gate = None;
            self.scratch = gate.scratch;
            self.phase = gate.phase;
        } else if gate.busy_at.is_some_and(|at| now >= at) {
            self.scratch[0] = reply_dw(Reply::Busy { counter: 0 });
        }
    }

    /// Advances a BUSY phase by one read of scratch 0.
    fn poll_step(&mut self) {
        let Phase::Busy {
            left,
            counter,
            then,
        } = self.phase
        else {
            return;
        };
        if left > 0 {
            let counter = counter.saturating_add(1).min(BUSY_COUNTER_MAX);
            self.scratch[0] = reply_dw(Reply::Busy { counter });
            self.phase = Phase::Busy {
                left: left - 1,
                counter,
                then,
            };
            return;
        }
        match then {
            Some(reply) => {
                self.phase = Phase::Idle;
                self.place(reply);
            }
            None => self.scratch[0] = reply_dw(Reply::Busy { counter }),
        }
    }

    /// Logs a GuC-origin scratch 0 value the VF has not seen yet for this request.
    fn observe(&mut self, v: u32) {
        if !self.armed || v >> 31 != 1 || self.seen == Some(v) {
            return;
        }
        self.seen = Some(v);
        let is_success = v >> 28 == 0xF;
        let msg = match self.reply {
            Some(r) if is_success && r.header() == v => Some(r),
            _ => one(v),
        };
        if let Some(m) = msg {
            self.log(Dir::FromGuc, m);
        }
    }

    pub(crate) fn write(&mut self, reg: Reg, value: u32) {
        self.counts.writes = self.counts.writes.wrapping_add(1);
        if reg == self.regs.doorbell {
            self.doorbell();
            return;
        }
        if let Some(i) = self.regs.scratch_index(reg) {
            if let Some(slot) = self.scratch.get_mut(i) {
                *slot = value;
                self.written |= 1u8 << (i & 7);
                // The host starts a new request: whatever the GuC was doing is abandoned.
                self.phase = Phase::Idle;
                self.gate = None;
                self.armed = false;
            }
        }
    }

    fn take_fault(&mut self, request: &[u32]) -> Option<Fault> {
        let i = self.faults.iter().position(|(t, _)| t.matches(request))?;
        if i < self.faults.len() {
            Some(self.faults.remove(i).1)
        } else {
            None
        }
    }

    /// The doorbell: the GuC takes the request and answers at once, or holds the answer back
    /// for the request's [`Latency`].
    fn doorbell(&mut self) {
        self.counts.doorbells = self.counts.doorbells.wrapping_add(1);
        if let Some(b) = self.blackout.as_mut().filter(|b| b.done_at.is_none()) {
            b.round_trips = b.round_trips.saturating_add(1);
        }
        self.gate = None;
        let asked = self.scratch;
        let latency = self.latency_for(asked[0]);
        let done_before = self.done_since_migration;
        if !self.answer() {
            return;
        }
        let open_at = self.time().saturating_add(nanos(latency.turnaround));
        if self.done_since_migration != done_before {
            if let Some(b) = self.blackout.as_mut().filter(|b| b.done_at.is_none()) {
                b.done_at = Some(Instant(open_at));
            }
        }
        if latency.is_zero() {
            return;
        }
        self.gate = Some(Gate {
            open_at,
            busy_at: latency
                .busy_after
                .map(|d| self.time().saturating_add(nanos(d))),
            scratch: self.scratch,
            phase: self.phase,
        });
        self.scratch = asked;
        self.phase = Phase::Idle;
    }

    /// Processes the doorbell's request and places the reply; `false` when the GuC cannot
    /// answer (the VM is frozen).
    fn answer(&mut self) -> bool {
        let len = (8 - self.written.leading_zeros()) as usize;
        self.written = 0;
        self.seen = None;
        self.reply = None;
        self.phase = Phase::Idle;
        self.armed = true;
        let request = self
            .scratch
            .get(..len.min(SCRATCH_COUNT))
            .and_then(|dws| MmioMessage::from_slice(dws).ok());
        if let Some(m) = request.or_else(|| one(self.scratch[0])) {
            self.log(Dir::ToGuc, m);
        }
        let dws: &[u32] = match &request {
            Some(m) => m.as_slice(),
            None => &[],
        };
        trace!(
            "mock GuC: doorbell, {} dwords, header {:#x}",
            dws.len(),
            self.scratch[0]
        );

        if self.state.is_paused() {
            debug!(
                "mock GuC: doorbell while {}: VM frozen, no reply",
                self.state.name()
            );
            return false;
        }

        if let Some(mut streak) = self.retry.take() {
            if streak.request == request && streak.remaining > 0 {
                streak.remaining -= 1;
                if streak.remaining > 0 {
                    self.retry = Some(streak);
                }
                self.place_opt(one(reply_dw(Reply::Retry { reason: 0 })));
                return true;
            }
        }

        let fault = self.take_fault(dws);
        if let Some(f) = fault {
            debug!("mock GuC: injecting {:?}", f);
        }
        match fault {
            None => {
                let reply = self.process(request);
                self.place_opt(reply);
            }
            Some(Fault::NoReply) => {}
            Some(Fault::FlrClear) => self.scratch = [0; SCRATCH_COUNT],
            Some(Fault::Busy { count }) => {
                let reply = self.process(request);
                if count == 0 {
                    self.place_opt(reply);
                } else if let Some(reply) = reply {
                    self.phase = Phase::Busy {
                        left: count,
                        counter: 0,
                        then: Some(reply),
                    };
                }
            }
            Some(Fault::BusyThenSilence { count }) => {
                self.phase = Phase::Busy {
                    left: count,
                    counter: 0,
                    then: None,
                };
            }
            Some(Fault::Retry { count: 0 }) => {
                let reply = self.process(request);
                self.place_opt(reply);
            }
            Some(Fault::Retry { count }) => {
                if count > 1 {
                    self.retry = Some(RetryStreak {
                        request,
                        remaining: count - 1,
                    });
                }
                self.place_opt(one(reply_dw(Reply::Retry { reason: 0 })));
            }
            Some(Fault::BusyThenFailure { count, error, hint }) => {
                let reply = failure(error, hint);
                if count == 0 {
                    self.place_opt(reply);
                } else {
                    self.phase = Phase::Busy {
                        left: count,
                        counter: 0,
                        then: reply,
                    };
                }
            }
            Some(Fault::Failure { error, hint }) => self.place_opt(failure(error, hint)),
            Some(Fault::Reply(m)) => self.place(m),
            Some(Fault::MigrateFirst { new_ggtt_start }) => {
                self.migrate(new_ggtt_start);
                let reply = self.process(request);
                self.place_opt(reply);
            }
        }
        true
    }
}

#[cfg(test)]
impl Inner {
    /// Sets the BUSY counter of a BUSY phase in progress (tests only).
    pub(crate) fn force_busy_counter(&mut self, value: u32) {
        if let Phase::Busy { left, then, .. } = self.phase {
            self.phase = Phase::Busy {
                left,
                counter: value,
                then,
            };
        }
    }

    /// Sets the access counters (tests only).
    pub(crate) fn force_counts(&mut self, counts: AccessCounts) {
        self.counts = counts;
    }
}
