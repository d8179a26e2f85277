//! What the guests' live modes (`guests/qemu-x86_64`, feature `live`; `guests/ostd`, scenarios 2
//! and 3) record and print, in one place: the event log filled from register accesses and
//! interrupt handlers and printed from the main loop, and the `vf:` and `summary:` lines
//! (`summary:` is the simulator's format, which the scripts parse). Included by both with
//! `#[path]`, as `guests/guc-host/src/layout.rs` is: `core`, `heapless` and `xe-sriov-vf` only,
//! and no lock (each guest locks its log as its kernel does, with interrupts masked).

use core::fmt;
use core::sync::atomic::{AtomicU32, Ordering};

use xe_sriov_vf::device::Device;
use xe_sriov_vf::memirq::{MemirqReport, MemirqSet};
use xe_sriov_vf::mock::{GgttOracle, TranscriptEntry, VfState};
use xe_sriov_vf::workqueue::WorkQueue;
use xe_sriov_vf::{GtId, PassOutcome, RecoveryHooks, Stats, TileId, Vf};

/// One thing worth a line, recorded where it happens (possibly in interrupt context) and printed
/// later by [`Printer`].
#[derive(Clone, Copy, Debug)]
pub enum Event {
    /// A mailbox message (a `--trace` line), under the letter of the host that served it.
    Trace {
        host: u8,
        gt: u8,
        entry: TranscriptEntry,
    },
    /// A scan of the memirq page, started as `via` says ("MSI-X", "APIC timer", ...).
    Irq {
        host: u8,
        via: &'static str,
        report: MemirqReport,
        during_pass: bool,
    },
    /// The tile's GGTT moved (the `ggtt_fixup` hook).
    Ggtt { old: u64, new: u64 },
    /// A worker pass ended.
    Pass { n: u32, outcome: PassOutcome },
}

/// A bounded event log: the oldest events are kept, the newest dropped (and counted) when full.
pub struct Log<const N: usize> {
    events: heapless::Deque<Event, N>,
    dropped: u32,
}

impl<const N: usize> Log<N> {
    pub const fn new() -> Self {
        Log {
            events: heapless::Deque::new(),
            dropped: 0,
        }
    }

    pub fn push(&mut self, event: Event) {
        if self.events.push_back(event).is_err() {
            self.dropped = self.dropped.saturating_add(1);
        }
    }

    pub fn pop(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Events that did not fit.
    pub fn dropped(&self) -> u32 {
        self.dropped
    }
}

/// Prints events: a `trace: host X` line before the first trace line of each host run.
pub struct Printer {
    trace_host: AtomicU32,
}

impl Printer {
    pub const fn new() -> Self {
        Printer {
            trace_host: AtomicU32::new(0),
        }
    }

    /// The event's lines, each ending in a newline.
    pub fn lines<'a>(&self, event: &'a Event) -> Lines<'a> {
        let header = match *event {
            Event::Trace { host, .. } => (self.trace_host.swap(u32::from(host), Ordering::Relaxed)
                != u32::from(host))
            .then_some(host),
            _ => None,
        };
        Lines { header, event }
    }
}

/// See [`Printer::lines`].
pub struct Lines<'a> {
    header: Option<u8>,
    event: &'a Event,
}

impl fmt::Display for Lines<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(host) = self.header {
            writeln!(f, "trace: host {}", host as char)?;
        }
        match self.event {
            Event::Trace { gt, entry, .. } => writeln!(f, "{}", entry.line(*gt)),
            Event::Irq {
                host,
                via,
                report,
                during_pass,
            } => writeln!(
                f,
                "irq: {via} scan of the memirq page on host {}: SW_INT_0 on GTs {:?} ({})",
                *host as char,
                report.sw_int0,
                if *during_pass {
                    "while a pass ran"
                } else {
                    "no pass running"
                }
            ),
            Event::Ggtt { old, new } => writeln!(f, "tile0 ggtt {old:#x} -> {new:#x}"),
            Event::Pass { n, outcome } => writeln!(f, "worker: pass {n}: {outcome:?}"),
        }
    }
}

/// The run's last two lines, `vf: ...` and the simulator's `summary: ...` (each ending in a
/// newline).
pub struct Verdict<'a> {
    pub passes: u32,
    pub first_host: u8,
    pub host: u8,
    pub final_base: u64,
    pub stats: Stats,
    pub pm_refs: u32,
    pub dropped: u32,
    pub migrations: u32,
    pub wedged: bool,
    pub states: &'a [Option<VfState>],
    pub ggtt_ok: bool,
    /// The last migration's blackout on the guest's clock: from the SW_INT_0 it took to the
    /// last accepted RESFIX_DONE (the simulator's last field, the maximum over the GTs).
    pub blackout_us: Option<u64>,
}

impl fmt::Display for Verdict<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "vf: {} passes on hosts {} -> {}, final GGTT base {:#x}, {} SW_INT_0 signalled, pm refs {}, trace entries dropped {}",
            self.passes,
            self.first_host as char,
            self.host as char,
            self.final_base,
            self.stats.migrations_signalled,
            self.pm_refs,
            self.dropped
        )?;
        write!(
            f,
            "summary: migrations={} recoveries={} deferred={} requeued={} wedged={} states=",
            self.migrations,
            self.stats.recoveries,
            self.stats.deferred,
            self.stats.requeued,
            if self.wedged { "yes" } else { "no" }
        )?;
        for (i, s) in self.states.iter().enumerate() {
            write!(
                f,
                "{}{}",
                if i > 0 { "," } else { "" },
                s.map_or("?", |s| s.name())
            )?;
        }
        write!(f, " ggtt={}", if self.ggtt_ok { "ok" } else { "stale" })?;
        match self.blackout_us {
            Some(us) => writeln!(f, " blackout_us={us}"),
            None => writeln!(f, " blackout_us=none"),
        }
    }
}

/// The GGTT part of the verdict: the base GT 0's configuration holds now, and whether every GT's
/// holds the same, every GT's GGTT is valid and every GGTT user of tile 0 sits at that base.
pub fn final_ggtt<D: Device, H: RecoveryHooks, Q: WorkQueue, const N: usize, M: MemirqSet>(
    vf: &Vf<D, H, Q, N, M>,
    users: &GgttOracle<1>,
) -> (u64, bool) {
    let base = |gt: usize| {
        vf.gt_view(GtId(gt as u8))
            .and_then(|g| g.config)
            .map(|c| c.ggtt_start)
    };
    let final_base = base(0).unwrap_or(0);
    let ok = (0..N).all(|gt| base(gt) == Some(final_base) && vf.ggtt_valid(GtId(gt as u8)))
        && users.check(TileId(0), final_base).is_ok();
    (final_base, ok)
}

/// The last migration's blackout in microseconds, from the SW_INT_0 the guest took to the last
/// accepted RESFIX_DONE (both in ns on its clock), if one came after the other.
pub fn blackout_us(sw_int0_ns: u64, done_ns: u64) -> Option<u64> {
    (done_ns > sw_int0_ns && sw_int0_ns != 0).then(|| (done_ns - sw_int0_ns) / 1000)
}
