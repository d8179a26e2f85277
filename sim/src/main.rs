//! A VM with `N` GTs on the mock GuC, live-migrated `M` times, recovered by `xe-sriov-vf`.
//!
//! ```text
//! cargo run -p xe-sriov-vf-sim
//! cargo run -p xe-sriov-vf-sim -- --gts 4 --migrations 50
//! cargo run -p xe-sriov-vf-sim -- --migrate-during-recovery --trace
//! cargo run -p xe-sriov-vf-sim -- --abi 1.26
//! cargo run -p xe-sriov-vf-sim -- --fault query:busy:3 --trace
//! cargo run -p xe-sriov-vf-sim -- --policy all --guc-latency-us 20 --sequential
//! cargo run -p xe-sriov-vf-sim -- --help
//! ```
//!
//! # One thread, one virtual clock: a run is a function of its options
//!
//! The simulator runs on one thread, like a polling unikernel (the crate's
//! `workqueue::Polled`: no queue, the loop calls `Vf::run_worker` while a pass is due), and the
//! mocks share one virtual clock (`MockClock`). The same options (`--seed` included) print the
//! same lines, byte for byte, except the host's wall-clock figures (marked `(wall)`).
//!
//! - The **host** plays the hypervisor and the interrupt controller: it migrates every GT's mock
//!   GuC (`MockGuc::migrate` with a new 4K-aligned GGTT base) and schedules the delivery of the
//!   interrupts it raised, in an order and after delays (in virtual time) drawn from `--seed`.
//!   Then it runs the worker while a pass is due, delivers each interrupt when the virtual clock
//!   reaches its instant (moving the clock there when the worker has nothing to do), until the
//!   VF settled: every mock `VF_RUNNING` and the coordinator idle, or the VF wedged, or the
//!   migration refused.
//! - The **worker**'s waits move the virtual clock (each poll of a mailbox is a `Device::relax`,
//!   10 us). An interrupt whose instant passes during a wait is delivered from that `relax`,
//!   as a real interrupt lands in the middle of the worker: so one GT's interrupt can land in
//!   the middle of another GT's recovery, reproducibly.
//! - With `--migrate-during-recovery` the `hold` hook of the first pass migrates the VM again
//!   and delivers the interrupts at once (the kernel's debug "stoppers" do the same with a real
//!   migration).
//!
//! # Output
//!
//! Every GT's mailbox goes through a thin [`Device`] wrapper that drains the mock's transcript
//! right after each register access, so the transcript never overflows and lines come out in
//! the order things happened across GTs.
//!
//! - Default: a timeline derived from those events (the decoded mailbox exchanges, the hook calls,
//!   the pass outcomes, the mock GuC states), in the spirit of the sequence diagram in the kernel's
//!   `xe_sriov_vf.c`. Timeline lines start with `[`.
//! - `--trace` adds every mailbox message as `gt<N> > 0x%08x ...` (what the VF sends) and
//!   `gt<N> < 0x%08x ...` (each reply it reads, BUSY and RETRY included), and
//!   `gt<N> irq SW_INT_0` when the host delivers a migration interrupt, and
//!   `tile<N> ggtt 0x%x -> 0x%x` when a tile's GGTT fixup runs.
//! - After each migration settles, its blackout per GT: the virtual time from the GuC's SW_INT_0
//!   to its SUCCESS to RESFIX_DONE and the mailbox round trips in between, as the mock GuC saw
//!   them (`MockGuc::blackout`), then the maximum over the GTs. `--guc-latency-us L` gives
//!   every reply a turnaround of L us.
//! - The last line is always
//!   `summary: migrations=<n> recoveries=<n> deferred=<n> requeued=<n> wedged=<yes|no> states=<STATE>,... ggtt=<ok|stale> blackout_us=<n|none>`.
//!
//! Exit status: 0 when every GT ends `VF_RUNNING`, nothing is wedged and the GGTT oracle says
//! `ggtt=ok`, 1 otherwise, 2 on bad arguments.

#![deny(missing_docs)]
#![deny(unsafe_code)]

// The examples' error printer, shared rather than copied.
#[path = "../../examples/common/chain.rs"]
mod chain;

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant as StdInstant};

use xe_sriov_vf::coordinator::{GtId, GtSet, Signal, StartPolicy};
use xe_sriov_vf::device::{Device, Instant, Reg};
use xe_sriov_vf::gt::{Gt, GtInfo, PlatformClass};
use xe_sriov_vf::mailbox::MailboxConfig;
use xe_sriov_vf::memirq::{Memirq, MemirqReport, MemirqSet};
use xe_sriov_vf::mock::{
    Dir, Fault, GgttOracle, Latency, MockClock, MockGuc, MockMemirqPage, Provisioning,
    TranscriptEntry, Trigger, VfState,
};
use xe_sriov_vf::recovery::{
    HoldPoint, HookError, PassOutcome, RecoveryConfig, RecoveryError, RecoveryHooks, Unsupported,
    Vf,
};
use xe_sriov_vf::wire::action::{code, KlvReply, MmioMessage};
use xe_sriov_vf::wire::hxg::Reply;
use xe_sriov_vf::wire::regs::{GtKind, GucIntr};
use xe_sriov_vf::wire::self_cfg::decode_self_cfg;
use xe_sriov_vf::wire::{GucError, KlvKey, Request, Version};
use xe_sriov_vf::workqueue::Polled;
use xe_sriov_vf::{GgttMove, TileId};

use chain::error_chain;

/// The GGTT base the mocks are provisioned with (`Provisioning::integrated`).
const BASE: u64 = 0x0020_0000;
/// How far each VM migration moves the GGTT base (16 MiB; any 4K multiple would do). Bases
/// cycle through 64 steps so that any number of migrations stays inside the GuC's GGTT range.
const STRIDE: u64 = 0x0100_0000;
/// How far above tile 0's GGTT base tile t's is, per t.
const TILE_STRIDE: u64 = 0x1000_0000;

/// Tile `tile`'s GGTT base after VM migration `k` (0 = bootstrap).
fn ggtt_base(k: u64, tile: u8) -> u64 {
    BASE + u64::from(tile) * TILE_STRIDE + (k % 64) * STRIDE
}
/// How long the host waits for the VF to settle after a migration, in virtual time.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(5);
/// At most this many turns of the host's loop (a pass, a delivery, a move of the clock) per
/// migration: a VF that keeps re-queueing without settling ends the run.
const SETTLE_TURNS: u32 = 100_000;
/// Most faults the mock can queue (`mock::FAULT_QUEUE_LEN`).
const MAX_FAULTS: usize = 8;

const HELP: &str = "\
simulate: a VM with N GTs on the mock GuC, live-migrated M times, recovered by xe-sriov-vf

USAGE:
    cargo run -p xe-sriov-vf-sim -- [OPTIONS]

OPTIONS:
    --tiles T                 Tiles in the VM, 1..=4 (default 1, or as many as --gts needs:
                              ceil(N / 2)). Each tile has a GGTT of its own (tile t's base is
                              256 MiB above tile 0's).
    --gts N                   GTs in the VM, T..=2T (default 2). Tile by tile, in the kernel's
                              order: each tile's primary GT, then its media GT (the first N - T
                              tiles have one), which shares the tile's GGTT. Each GT has its own
                              mock GuC and mailbox registers.
    --migrations M            VM migrations the host performs (default 1). Each one migrates
                              every GT (new 4K-aligned GGTT base, +16 MiB each time) and then
                              delivers SW_INT_0 of every GT; the host runs the VF until it
                              settles (up to 5 s of virtual time) before the next one.
    --abi MAJOR.MINOR         VF ABI the mock GuCs offer (default 1.27). Below 1.27 there are no
                              RESFIX markers: as in kernel 7.0, migration is then refused (the
                              run exits 1, not wedged) unless --legacy.
    --legacy                  RecoveryConfig::legacy: below VF ABI 1.27, recover with the seed's
                              legacy protocol (no RESFIX_START, RESFIX_DONE without a marker).
    --require-markers         Accepted for compatibility; refusing migration without markers is
                              the default now.
    --seed S                  Seed of the host's choices (default 1): the order in which each
                              migration's interrupts are delivered and the short delays (0 to
                              300 us of virtual time) between them, so that one GT's interrupt can
                              land in the middle of another GT's recovery. A run is a function
                              of its options: the same options print the same lines.
    --migrate-during-recovery[=fixups|done]
                              A second VM migration lands between RESFIX_START and RESFIX_DONE:
                              the hold hook of the first recovery pass (HoldPoint::BeforeFixups,
                              or BeforeDone with =done) migrates every GT and delivers the
                              interrupts at once.
    --fault STEP:KIND[:ARG]   Inject a mailbox fault on gt0 (repeatable, at most 8). STEP is the
                              request it hits: reset (VF_RESET) or version (MATCH_VERSION) during
                              bootstrap; start (RESFIX_START), query (the first QUERY_SINGLE_KLV,
                              GGTT_START) or done (RESFIX_DONE) during the first recovery.
                              KIND (mock::Fault):
                                timeout          the GuC never answers (NoReply)
                                flr              an FLR clears the scratch registers (FlrClear)
                                busy:N           N BUSY replies, then the real reply (Busy)
                                busy-timeout[:N] BUSY forever (BusyThenSilence, N counted BUSYs)
                                retry:N          N RETRY replies to the same request (Retry)
                                failure:CODE     FAILURE with GuC error CODE, e.g. 0xf000 (Failure)
                                migrated         FAILURE VF_MIGRATED (0x107) (Failure)
                                garbage:HEX[,HEX...]
                                                 exactly these reply dwords, e.g. c0000000 (Reply)
                              Several faults on the same STEP hit consecutive requests.
    --policy any|all          StartPolicy: queue the worker on the first GT's interrupt (any,
                              default) or once every GT reported (all, the 6.13 seed).
    --irq memirq|mmio         How SW_INT_0 reaches the VF: as bytes in each tile's memirq page,
                              registered with every GuC by HOST2GUC_SELF_CFG after bootstrap
                              (memirq, default: every VF that can migrate), or from the GuC
                              interrupt register (mmio: parts before graphics IP 12.50).
    --guc-latency-us L        Every mock GuC answers each request L microseconds (of the mocks'
                              shared virtual clock) after its doorbell (default 0: at once), so
                              that each mailbox round trip costs virtual time as on hardware;
                              the worker's polls move the clock 10 us each. See blackout_us.
    --sequential              RecoveryConfig::split_phase off: the worker recovers the GTs one
                              after the other. By default (split phase) it posts each mailbox
                              step on every GT before it waits for any reply, so the GTs' round
                              trips overlap (with --guc-latency-us, a 2-GT blackout of one GT's).
    --trace                   Also print every mailbox message and interrupt (see OUTPUT).
    --log LEVEL               The crate's own log lines (off, error, warn, info, debug, trace;
                              off by default) on stderr, each starting with 'xe-sriov-vf ',
                              through the `log` facade: build with --features log
                              (cargo run -p xe-sriov-vf-sim --features log -- --log info).
                              Stdout (timeline, trace, summary) is unchanged.
    -h, --help                This text.

OUTPUT:
    A timeline (lines starting with '['), drawn from what happened: the decoded mailbox
    exchanges, hook calls, pass outcomes and mock GuC states. Its times are labelled with their
    clock: (virtual) is the mocks' shared virtual clock (each poll of the worker moves it 10 us,
    each GuC turnaround --guc-latency-us, the host's interrupt delays), (wall) the host's real
    time (the only figures that differ between two runs with the same options).
    With --trace, in order across GTs:
        gt<N> > 0x%08x 0x%08x ...   a request the VF sent (its own dwords)
        gt<N> < 0x%08x ...          a reply the VF read (header + the data it carries),
                                    BUSY (0xb...) and RETRY (0xd...) included
        gt<N> irq SW_INT_0          the host delivered a migration interrupt
        tile<N> ggtt 0x%x -> 0x%x   the tile's GGTT fixup ran (old applied base -> new base)
    A reply line carries the reply's own dwords: the header and its data (a KLV reply:
    1 + LENGTH dwords; MATCH_VERSION: 2; others: 1). With --trace the timeline also lists
    every pass's hook calls in the order the crate made them:
        [vf] pass <n> hooks: pm_get, shutdown gt0, ..., pm_put
    After each migration settles, its blackout, as the mock GuCs saw it:
        [gt<N>] blackout of migration <k>: <us> us (virtual), <n> mailbox round trips
        [vf] blackout of migration <k>: <us> us (virtual, the longest GT)
    (virtual time from the GuC's SW_INT_0 to its SUCCESS to RESFIX_DONE).
    The last line:
        summary: migrations=<n> recoveries=<n> deferred=<n> requeued=<n> wedged=<yes|no> states=<STATE>,... ggtt=<ok|stale> blackout_us=<n|none>
    migrations counts VM migrations (all GTs at once count as one; the mid-recovery migration of
    --migrate-during-recovery counts too), recoveries/deferred/requeued are Vf::stats(), states
    are the mock GuCs' VF states, gt0 first; ggtt is the GGTT oracle's verdict: ok when on every
    tile the VF's GGTT users sit at the GuC's final GGTT base, each change of base applied once;
    blackout_us is the last migration's blackout in microseconds of virtual time, the maximum
    over the GTs (none before any migration, or when a GT's RESFIX_DONE was never accepted).

EXIT STATUS:
    0  every GT ends VF_RUNNING, the device is not wedged and ggtt=ok
    1  otherwise (wedged, migration refused, bootstrap failed, the VF did not settle,
       ggtt=stale)
    2  bad arguments
";

// ---------------------------------------------------------------------------------------------
// Options

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FaultStep {
    Reset,
    Version,
    Start,
    Query,
    Done,
}

impl FaultStep {
    fn action(self) -> u16 {
        match self {
            FaultStep::Reset => code::VF_RESET,
            FaultStep::Version => code::MATCH_VERSION,
            FaultStep::Start => code::RESFIX_START,
            FaultStep::Query => code::QUERY_SINGLE_KLV,
            FaultStep::Done => code::RESFIX_DONE,
        }
    }

    fn during_bootstrap(self) -> bool {
        matches!(self, FaultStep::Reset | FaultStep::Version)
    }
}

#[derive(Clone, Debug)]
struct FaultSpec {
    text: String,
    step: FaultStep,
    fault: Fault,
}

#[derive(Clone, Debug)]
struct Options {
    gts: usize,
    /// `None`: the fewest tiles that hold `gts`.
    tiles: Option<usize>,
    migrations: u64,
    abi: Version,
    legacy: bool,
    seed: u64,
    migrate_during_recovery: Option<HoldPoint>,
    faults: Vec<FaultSpec>,
    policy: StartPolicy,
    trace: bool,
    /// GuC interrupts through memirq pages (default) or the register vector (`--irq mmio`).
    memirq: bool,
    /// `--log LEVEL`: the crate's own log lines on stderr (feature `log`).
    log: Option<LogLevel>,
    /// `--guc-latency-us L`: every reply's turnaround, in us of virtual time.
    guc_latency_us: u64,
    /// RecoveryConfig::split_phase (`--sequential` turns it off).
    split_phase: bool,
}

/// A `--log` level (the `log` facade's, spelled the same).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum LogLevel {
    Off,
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            gts: 2,
            tiles: None,
            migrations: 1,
            abi: Version::new(1, 27),
            legacy: false,
            seed: 1,
            migrate_during_recovery: None,
            faults: Vec::new(),
            policy: StartPolicy::AnyGt,
            trace: false,
            memirq: true,
            log: None,
            guc_latency_us: 0,
            split_phase: true,
        }
    }
}

enum Parsed {
    Run(Options),
    Help,
}

/// Parses a decimal or `0x` hexadecimal number.
fn parse_num(s: &str) -> Option<u64> {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

fn parse_u32(s: &str, what: &str) -> Result<u32, String> {
    parse_num(s)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| format!("{what}: '{s}' is not a number (0..=4294967295)"))
}

fn parse_fault(spec: &str) -> Result<FaultSpec, String> {
    let bad = |why: &str| format!("--fault '{spec}': {why} (see --help)");
    let mut parts = spec.splitn(3, ':');
    let step = match parts.next().unwrap_or("") {
        "reset" => FaultStep::Reset,
        "version" => FaultStep::Version,
        "start" => FaultStep::Start,
        "query" => FaultStep::Query,
        "done" => FaultStep::Done,
        other => {
            return Err(bad(&format!(
                "unknown STEP '{other}' (reset|version|start|query|done)"
            )))
        }
    };
    let kind = parts.next().ok_or_else(|| bad("missing KIND"))?;
    let arg = parts.next();
    let need = || arg.ok_or_else(|| bad(&format!("{kind} needs an argument")));
    let none = || match arg {
        Some(a) => Err(bad(&format!("{kind} takes no argument (got '{a}')"))),
        None => Ok(()),
    };
    let fault = match kind {
        "timeout" => {
            none()?;
            Fault::NoReply
        }
        "flr" => {
            none()?;
            Fault::FlrClear
        }
        "busy" => Fault::Busy {
            count: parse_u32(need()?, "busy:N").map_err(|e| bad(&e))?,
        },
        "busy-timeout" => Fault::BusyThenSilence {
            count: match arg {
                Some(a) => parse_u32(a, "busy-timeout:N").map_err(|e| bad(&e))?,
                None => 3,
            },
        },
        "retry" => Fault::Retry {
            count: parse_u32(need()?, "retry:N").map_err(|e| bad(&e))?,
        },
        "failure" => {
            let raw = parse_num(need()?)
                .and_then(|v| u16::try_from(v).ok())
                .ok_or_else(|| bad("failure:CODE needs a 16-bit code, e.g. 0xf000"))?;
            Fault::Failure {
                error: GucError::from_raw(raw),
                hint: 0,
            }
        }
        "migrated" => {
            none()?;
            Fault::Failure {
                error: GucError::VfMigrated,
                hint: 0,
            }
        }
        "garbage" => {
            let mut dws = Vec::new();
            for word in need()?.split(',') {
                let hex = word.trim_start_matches("0x").trim_start_matches("0X");
                let dw = u32::from_str_radix(hex, 16)
                    .map_err(|_| bad(&format!("'{word}' is not a 32-bit hex dword")))?;
                dws.push(dw);
            }
            let msg =
                MmioMessage::from_slice(&dws).map_err(|_| bad("garbage takes 1 to 4 dwords"))?;
            Fault::Reply(msg)
        }
        other => return Err(bad(&format!("unknown KIND '{other}'"))),
    };
    Ok(FaultSpec {
        text: spec.to_string(),
        step,
        fault,
    })
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Parsed, String> {
    let mut o = Options::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            match &inline {
                Some(v) => Ok(v.clone()),
                None => args.next().ok_or_else(|| format!("{name} needs a value")),
            }
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--gts" => {
                let v = value("--gts")?;
                o.gts = match parse_num(&v) {
                    Some(n @ 1..=8) => n as usize,
                    _ => return Err(format!("--gts: '{v}' is not in 1..=8")),
                };
            }
            "--tiles" => {
                let v = value("--tiles")?;
                o.tiles = match parse_num(&v) {
                    Some(n @ 1..=4) => Some(n as usize),
                    _ => return Err(format!("--tiles: '{v}' is not in 1..=4")),
                };
            }
            "--seed" => {
                let v = value("--seed")?;
                o.seed = parse_num(&v).ok_or_else(|| format!("--seed: '{v}' is not a number"))?;
            }
            "--legacy" if inline.is_none() => o.legacy = true,
            "--migrations" => {
                let v = value("--migrations")?;
                o.migrations = match parse_num(&v) {
                    Some(n @ 0..=1_000_000) => n,
                    _ => return Err(format!("--migrations: '{v}' is not in 0..=1000000")),
                };
            }
            "--abi" => {
                let v = value("--abi")?;
                let parsed = v.split_once('.').and_then(|(ma, mi)| {
                    Some(Version::new(ma.parse::<u8>().ok()?, mi.parse::<u8>().ok()?))
                });
                o.abi =
                    parsed.ok_or_else(|| format!("--abi: '{v}' is not MAJOR.MINOR (e.g. 1.27)"))?;
            }
            // The kernel-7.0 gate is the default now; kept as a no-op alias.
            "--require-markers" if inline.is_none() => {}
            "--migrate-during-recovery" => {
                o.migrate_during_recovery = Some(match inline.as_deref() {
                    None | Some("fixups") => HoldPoint::BeforeFixups,
                    Some("done") => HoldPoint::BeforeDone,
                    Some(other) => {
                        return Err(format!(
                            "--migrate-during-recovery: '{other}' is not fixups or done"
                        ))
                    }
                })
            }
            "--fault" => {
                let v = value("--fault")?;
                o.faults.push(parse_fault(&v)?);
                if o.faults.len() > MAX_FAULTS {
                    return Err(format!("at most {MAX_FAULTS} --fault options"));
                }
            }
            "--irq" => {
                let v = value("--irq")?;
                o.memirq = match v.as_str() {
                    "memirq" => true,
                    "mmio" => false,
                    _ => return Err(format!("--irq: '{v}' is not memirq or mmio")),
                };
            }
            "--policy" => {
                let v = value("--policy")?;
                o.policy = match v.as_str() {
                    "any" => StartPolicy::AnyGt,
                    "all" => StartPolicy::AllGts,
                    _ => return Err(format!("--policy: '{v}' is not any or all")),
                };
            }
            "--guc-latency-us" => {
                let v = value("--guc-latency-us")?;
                o.guc_latency_us = match parse_num(&v) {
                    Some(n @ 0..=1_000_000) => n,
                    _ => return Err(format!("--guc-latency-us: '{v}' is not in 0..=1000000")),
                };
            }
            "--sequential" if inline.is_none() => o.split_phase = false,
            "--trace" if inline.is_none() => o.trace = true,
            "--log" => {
                let v = value("--log")?;
                o.log = Some(match v.as_str() {
                    "off" => LogLevel::Off,
                    "error" => LogLevel::Error,
                    "warn" => LogLevel::Warn,
                    "info" => LogLevel::Info,
                    "debug" => LogLevel::Debug,
                    "trace" => LogLevel::Trace,
                    _ => {
                        return Err(format!(
                            "--log: '{v}' is not off|error|warn|info|debug|trace"
                        ))
                    }
                });
                if !cfg!(feature = "log") && o.log != Some(LogLevel::Off) {
                    return Err(
                        "--log needs the crate's `log` backend: cargo run -p xe-sriov-vf-sim \
                         --features log -- --log LEVEL"
                            .into(),
                    );
                }
            }
            _ => return Err(format!("unknown argument '{arg}'")),
        }
    }
    let tiles = o.tiles.unwrap_or(o.gts.div_ceil(2));
    if o.gts < tiles || o.gts > 2 * tiles {
        return Err(format!(
            "--gts {} does not fit {tiles} tile(s): each tile has a primary GT and at most one media GT",
            o.gts
        ));
    }
    o.tiles = Some(tiles);
    Ok(Parsed::Run(o))
}

// ---------------------------------------------------------------------------------------------
// Small formatting helpers

fn signed_hex(v: i64) -> String {
    if v < 0 {
        format!("-{:#x}", v.unsigned_abs())
    } else {
        format!("+{v:#x}")
    }
}

fn gt_list(set: GtSet) -> String {
    let v: Vec<String> = set.iter().map(|g| format!("gt{}", g.0)).collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(",")
    }
}

fn short_key(key: KlvKey) -> String {
    match key {
        KlvKey::Unknown(raw) => format!("KLV {raw:#06x}"),
        k => k
            .name()
            .trim_start_matches("VF_CFG_")
            .trim_start_matches("GLOBAL_CFG_")
            .to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// The timeline: per-GT narrative built from the transcript and the hooks

/// What one GT did since its narrative was last printed.
#[derive(Default)]
struct Narrative {
    /// The request awaiting its final reply (as sent), decoded if it is a valid request.
    pending: Option<(MmioMessage, Option<Request>)>,
    /// The last reply was RETRY: the next identical request is its resend.
    retry_resend: bool,
    busy: u32,
    retries: u32,
    resends: u32,
    /// Configuration query results not yet folded into a fragment.
    queries: Vec<(KlvKey, String)>,
    query_notes: Vec<String>,
    /// Finished pieces of the line, in order.
    frags: Vec<String>,
}

impl Narrative {
    fn describe(req: Option<Request>, sent: &MmioMessage) -> String {
        match req {
            Some(Request::VfReset) => "VF_RESET".into(),
            Some(Request::MatchVersion { wanted }) => {
                format!("MATCH_VERSION {}.{}", wanted.major, wanted.minor)
            }
            Some(Request::QuerySingleKlv { key }) => {
                format!("QUERY {}", short_key(KlvKey::from_raw(key)))
            }
            Some(Request::ResfixStart { marker }) => {
                format!("RESFIX_START marker {}", marker.get())
            }
            Some(Request::ResfixDone { marker: Some(m) }) => {
                format!("RESFIX_DONE marker {}", m.get())
            }
            Some(Request::ResfixDone { marker: None }) => "RESFIX_DONE (legacy, no marker)".into(),
            Some(other) => format!("{other:?}"),
            None => match decode_self_cfg(sent.as_slice()) {
                Ok(cfg) => format!("SELF_CFG {} {:#x}", cfg.key().name(), cfg.value()),
                Err(_) => format!("request {:#010x}", sent.header()),
            },
        }
    }

    fn extras(&self) -> String {
        let mut s = String::new();
        if self.resends > 0 {
            let _ = write!(s, " (no reply, sent again x{})", self.resends);
        }
        if self.busy > 0 {
            let _ = write!(s, " (BUSY x{})", self.busy);
        }
        if self.retries > 0 {
            let _ = write!(s, " (RETRY x{})", self.retries);
        }
        s
    }

    fn is_query(req: &Option<Request>) -> bool {
        matches!(req, Some(Request::QuerySingleKlv { .. }))
    }

    fn flush_queries(&mut self) {
        if self.queries.is_empty() && self.query_notes.is_empty() {
            return;
        }
        let mut parts = Vec::new();
        if !self.queries.is_empty() {
            parts.push(format!("{} KLVs", self.queries.len()));
        }
        if let Some((_, v)) = self.queries.iter().find(|(k, _)| *k == KlvKey::GgttStart) {
            parts.push(format!("GGTT_START={v}"));
        }
        parts.append(&mut self.query_notes);
        let s = format!("config: {}", parts.join(", "));
        self.queries.clear();
        self.frags.push(s);
    }

    /// The pending request got no final reply.
    fn no_reply(&mut self) {
        if let Some((sent, req)) = self.pending.take() {
            let what = if self.retry_resend {
                "still RETRY, gave up"
            } else if self.busy > 0 {
                "still BUSY, gave up"
            } else {
                "no reply"
            };
            let s = format!("{}{} -> {what}", Self::describe(req, &sent), self.extras());
            self.retry_resend = false;
            self.flush_queries();
            self.frags.push(s);
        }
    }

    fn on_request(&mut self, msg: MmioMessage) {
        let req = Request::decode(msg.as_slice()).ok();
        if let Some((prev, prev_req)) = self.pending.take() {
            if prev == msg {
                // The same request again: a resend after RETRY, or after a timeout (FLR, VF_RESET).
                if !std::mem::take(&mut self.retry_resend) {
                    self.resends += 1;
                }
                self.pending = Some((prev, prev_req));
                return;
            }
            self.pending = Some((prev, prev_req));
            self.no_reply();
        }
        if !Self::is_query(&req) {
            self.flush_queries();
        }
        self.pending = Some((msg, req));
        self.retry_resend = false;
        self.busy = 0;
        self.retries = 0;
        self.resends = 0;
    }

    fn on_reply(&mut self, msg: MmioMessage) {
        let Some((sent, req)) = self.pending else {
            self.frags
                .push(format!("unsolicited reply {:#010x}", msg.header()));
            return;
        };
        let header = msg.header();
        let result = match Reply::decode(header) {
            Ok(Reply::Busy { .. }) => {
                self.busy += 1;
                return;
            }
            Ok(Reply::Retry { .. }) => {
                self.retries += 1;
                self.retry_resend = true;
                return;
            }
            Ok(Reply::Success { data0 }) => match req {
                Some(Request::QuerySingleKlv { key }) => {
                    let key = KlvKey::from_raw(key);
                    let extras = self.extras();
                    match KlvReply::decode(msg.as_slice()) {
                        Ok(klv) if Some(klv.len) == key.expected_len() => {
                            let value = if klv.len == 2 {
                                format!("{:#x}", klv.value_u64())
                            } else {
                                format!("{:#x}", klv.value[0])
                            };
                            self.queries.push((key, value));
                        }
                        Ok(klv) => self.query_notes.push(format!(
                            "{} -> bad length {} (expected {})",
                            short_key(key),
                            klv.len,
                            key.expected_len().unwrap_or(0)
                        )),
                        Err(_) => self.query_notes.push(format!(
                            "{} -> malformed reply {header:#010x}",
                            short_key(key)
                        )),
                    }
                    if !extras.is_empty() {
                        self.query_notes.push(format!(
                            "{} {}",
                            short_key(key),
                            extras.trim_start()
                        ));
                    }
                    self.pending = None;
                    return;
                }
                Some(Request::MatchVersion { .. }) => match msg.as_slice().get(1) {
                    Some(&dw) if data0 == 0 => format!("{}", Version::from_dword(dw)),
                    _ => format!("malformed SUCCESS {header:#010x}"),
                },
                Some(Request::ResfixDone { .. }) if data0 == 0 => "accepted".into(),
                None if decode_self_cfg(sent.as_slice()).is_ok() => match data0 {
                    1 => "accepted".into(),
                    0 => "key not recognised".into(),
                    n => format!("NUM {n} (protocol error)"),
                },
                _ if data0 == 0 => "ok".into(),
                _ => format!("SUCCESS with DATA0 {data0:#x} (malformed)"),
            },
            Ok(Reply::Failure { error, .. }) => format!("FAILURE {error}"),
            Err(_) => format!("garbage reply {header:#010x}"),
        };
        let s = format!(
            "{}{} -> {result}",
            Self::describe(req, &sent),
            self.extras()
        );
        self.pending = None;
        self.flush_queries();
        self.frags.push(s);
    }

    /// Everything so far as one `; `-separated line body; empty if nothing happened.
    fn take_line(&mut self) -> String {
        self.no_reply();
        self.flush_queries();
        let s = self.frags.join("; ");
        self.frags.clear();
        s
    }
}

/// Everything behind the global print lock.
struct Log {
    trace: bool,
    gts: Vec<Narrative>,
    /// The transcript's SW_INT_0 entry of each GT, printed when the host delivers it.
    irq: Vec<Option<TranscriptEntry>>,
    /// Device-level hook calls of the running pass (abort, wedged), printed with it.
    vf_notes: Vec<String>,
    /// Every hook call since the last pass was printed, in order (printed with `--trace`).
    hooks: Vec<String>,
    dropped: bool,
}

impl Log {
    fn line(&self, s: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{s}");
    }

    /// Moves GT `gt`'s transcript into the timeline (and, with `--trace`, to stdout).
    fn drain(&mut self, gt: u8, guc: &MockGuc) {
        let mut entries = Vec::new();
        guc.drain_transcript(|e| entries.push(*e));
        for e in entries {
            if self.trace && matches!(e.dir, Dir::ToGuc | Dir::FromGuc) {
                self.line(&e.line(gt).to_string());
            }
            let n = &mut self.gts[usize::from(gt)];
            match e.dir {
                Dir::ToGuc => n.on_request(e.msg),
                Dir::FromGuc => n.on_reply(e.msg),
                Dir::Interrupt(_) => self.irq[usize::from(gt)] = Some(e),
            }
        }
        if guc.transcript_dropped() > 0 && !self.dropped {
            self.dropped = true;
            eprintln!(
                "error: gt{gt}: the mock transcript dropped {} entries: the trace is incomplete",
                guc.transcript_dropped()
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The simulation

/// The VF's memirq pages, one per tile (none with `--irq mmio`): the crate's `MemirqSet` over a
/// `Vec`, since the tile count is a run-time option here.
struct Tiles(Vec<Memirq<&'static MockMemirqPage>>);

impl MemirqSet for Tiles {
    fn sw_int0_pending(&self, gt: GtId) -> bool {
        self.0.iter().any(|m| m.sw_int0_pending(gt))
    }
    fn handle(&self, migrated: &mut dyn FnMut(GtId) -> Signal) -> MemirqReport {
        let mut all = MemirqReport::default();
        for m in &self.0 {
            let r = m.handle(&mut *migrated);
            all.sw_int0 = all.sw_int0.union(r.sw_int0);
            all.guc2host = all.guc2host.union(r.guc2host);
            all.garbage += r.garbage;
        }
        all
    }
    fn registration(&self, gt: GtId) -> Option<(u64, u64)> {
        self.0.iter().find_map(|m| m.registration(gt))
    }
}

/// Where each tile's memirq page sits in the VF's GGTT (just above the WOPCM).
fn page_ggtt(tile: u8) -> u64 {
    0x0010_0000 + u64::from(tile) * 0x1000
}

/// What the interrupt controller needs of the VF, whatever its GT count: the interrupt entries.
trait IrqPort: Sync {
    /// `Vf::handle_guc_interrupt`.
    fn guc_interrupt(&self, gt: GtId, intr: GucIntr) -> Signal;
    /// `Vf::migrated`.
    fn migrated(&self, gt: GtId) -> Signal;
    /// The tiles' memirq pages (empty with `--irq mmio`).
    fn tiles(&self) -> &Tiles;
}

impl<const N: usize> IrqPort for SimVf<N> {
    fn guc_interrupt(&self, gt: GtId, intr: GucIntr) -> Signal {
        self.handle_guc_interrupt(gt, intr)
    }
    fn migrated(&self, gt: GtId) -> Signal {
        Vf::migrated(self, gt)
    }
    fn tiles(&self) -> &Tiles {
        self.memirq()
    }
}

/// Where the interrupt controller sends an interrupt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Line {
    /// GT `i`'s GuC interrupt register (`--irq mmio`).
    Register(usize),
    /// Tile `t`'s MSI: its memirq handler.
    Tile(usize),
}

/// An interrupt the host will deliver when the virtual clock reaches `at`.
#[derive(Clone, Copy, Debug)]
struct Delivery {
    at: Instant,
    line: Line,
}

struct Sim {
    gucs: &'static [MockGuc],
    /// The mocks' shared virtual clock.
    clock: &'static MockClock,
    log: Mutex<Log>,
    /// The VF's interrupt entries, once it is built.
    vf: OnceLock<&'static dyn IrqPort>,
    /// The interrupts scheduled and not yet delivered, in the order they were scheduled.
    deliveries: Mutex<Vec<Delivery>>,
    /// Set while a delivery runs (an interrupt handler is not re-entered).
    delivering: AtomicBool,
    /// The hold point the mid-recovery migration is wanted at (cleared when it fires).
    hold: Mutex<Option<HoldPoint>>,
    /// VM migrations performed.
    migrations: AtomicU64,
    pm_get: AtomicUsize,
    pm_put: AtomicUsize,
    /// Set when something went wrong that the summary must not hide.
    failures: Mutex<Vec<String>>,
    /// Each GT's (tile, kind).
    layout: Vec<(TileId, GtKind)>,
    /// The VF's GGTT users per tile: moved by the GGTT fixup hook, checked at the end.
    oracle: GgttOracle<4>,
    /// The host's choices (xorshift64).
    rng: Mutex<u64>,
}

impl Sim {
    fn lock(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn fail(&self, why: String) {
        eprintln!("error: {why}");
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(why);
    }

    /// Records a hook call for the `[vf] pass <n> hooks:` line.
    fn hook(&self, call: String) {
        self.lock().hooks.push(call);
    }

    /// With `--trace`, prints the hook calls recorded since the last call as
    /// `[vf] <what> hooks: <call>, ...`.
    fn print_hooks(log: &mut Log, what: &str) {
        let calls = std::mem::take(&mut log.hooks);
        if log.trace && !calls.is_empty() {
            log.line(&format!("[vf] {what} hooks: {}", calls.join(", ")));
        }
    }

    fn frag(&self, gt: GtId, s: String) {
        let mut log = self.lock();
        if let Some(n) = log.gts.get_mut(usize::from(gt.0)) {
            n.flush_queries();
            n.frags.push(s);
        }
    }

    /// The last migration's blackout in us, the maximum over the GTs; `None` before any
    /// migration or while a GT's RESFIX_DONE is not accepted.
    fn blackout_us(&self) -> Option<u64> {
        self.gucs
            .iter()
            .map(|g| g.blackout().and_then(|b| b.duration()))
            .try_fold(0u64, |max, d| Some(max.max(d?.as_micros() as u64)))
    }

    fn states(&self) -> Vec<VfState> {
        self.gucs.iter().map(MockGuc::state).collect()
    }

    /// Prints each GT's narrative as `[gtN] <prefix>: ...`.
    fn print_narratives(&self, log: &mut Log, prefix: &str) {
        for i in 0..log.gts.len() {
            let body = log.gts[i].take_line();
            if !body.is_empty() {
                let state = self.gucs[i].state();
                log.line(&format!("[gt{i}] {prefix}: {body}; now {state}"));
            }
        }
    }

    /// One VM migration: every GT's GuC migrates while the VM is frozen, then the interrupts
    /// they raised are scheduled: after drawn delays, or `at_once` (from the hold hook).
    fn migrate_vm(&self, why: &str, at_once: bool) {
        let k = self.migrations.fetch_add(1, Ordering::SeqCst) + 1;
        let base = ggtt_base(k, 0);
        {
            let mut log = self.lock();
            log.line(&format!(
                "[host] migration {k}{why}: VM paused, image restored on the destination \
                 (GGTT base {base:#x}), VM resumed"
            ));
            for (i, guc) in self.gucs.iter().enumerate() {
                let before = guc.state();
                let old = guc.provisioning().ggtt_start;
                let base = ggtt_base(k, self.layout[i].0 .0);
                guc.migrate(base);
                log.drain(i as u8, guc);
                log.line(&format!(
                    "[gt{i}] {before} -> migrated (GGTT {old:#x} -> {base:#x}) -> {}",
                    guc.state()
                ));
            }
        }
        self.schedule(at_once);
    }

    /// The next of the host's random choices, below `n`.
    fn draw(&self, n: u64) -> u64 {
        let mut x = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        *x % n.max(1)
    }

    /// `0..n` in an order the host draws.
    fn shuffled(&self, n: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..order.len()).rev() {
            let j = self.draw(i as u64 + 1) as usize;
            order.swap(i, j);
        }
        order
    }

    /// The interrupt controller: schedules a delivery on every interrupt line (each GT's
    /// register, or each tile's MSI with memirq) in an order it draws, each but the first
    /// sometimes after a further short delay (0 to 300 us of virtual time), so that one GT's
    /// interrupt can land in the middle of another GT's recovery.
    fn schedule(&self, at_once: bool) {
        let Some(vf) = self.vf.get() else { return };
        let tiles = vf.tiles().0.len();
        let lines: Vec<Line> = if tiles > 0 {
            self.shuffled(tiles).into_iter().map(Line::Tile).collect()
        } else {
            self.shuffled(self.gucs.len())
                .into_iter()
                .map(Line::Register)
                .collect()
        };
        let mut at = self.clock.now();
        let mut deliveries = self.deliveries.lock().unwrap_or_else(|e| e.into_inner());
        for line in lines {
            if !at_once && self.draw(2) == 0 {
                at = at.wrapping_add(Duration::from_micros(self.draw(300)));
            }
            deliveries.push(Delivery { at, line });
        }
    }

    /// The instant of the next scheduled delivery.
    fn next_delivery(&self) -> Option<Instant> {
        let deliveries = self.deliveries.lock().unwrap_or_else(|e| e.into_inner());
        deliveries.iter().map(|d| d.at).min_by_key(|at| at.0)
    }

    /// Delivers every scheduled interrupt whose instant the virtual clock has reached, earliest
    /// first (in the order scheduled among equals). Called by the host between passes and from
    /// the worker's waits (`Device::relax`), like an interrupt that lands whenever it is due.
    fn deliver_due(&self) {
        if self.delivering.swap(true, Ordering::SeqCst) {
            return;
        }
        loop {
            let now = self.clock.now();
            let next = {
                let mut deliveries = self.deliveries.lock().unwrap_or_else(|e| e.into_inner());
                let due = deliveries
                    .iter()
                    .enumerate()
                    .filter(|(_, d)| !d.at.is_after(now))
                    .min_by_key(|(i, d)| (d.at.0, *i))
                    .map(|(i, _)| i);
                due.map(|i| deliveries.remove(i))
            };
            match next {
                Some(d) => self.deliver(d.line),
                None => break,
            }
        }
        self.delivering.store(false, Ordering::SeqCst);
    }

    /// Whether an interrupt is raised and no delivery is scheduled for it.
    fn undelivered(&self) -> bool {
        let Some(vf) = self.vf.get() else {
            return false;
        };
        let deliveries = self.deliveries.lock().unwrap_or_else(|e| e.into_inner());
        let scheduled = |line: Line| deliveries.iter().any(|d| d.line == line);
        let tiles = &vf.tiles().0;
        if tiles.is_empty() {
            (0..self.gucs.len()).any(|i| {
                !self.gucs[i].pending_interrupts().is_empty() && !scheduled(Line::Register(i))
            })
        } else {
            tiles.iter().enumerate().any(|(t, m)| {
                (0..self.gucs.len()).any(|i| m.sw_int0_pending(GtId(i as u8)))
                    && !scheduled(Line::Tile(t))
            })
        }
    }

    /// Delivers what is pending on one interrupt line.
    fn deliver(&self, line: Line) {
        let Some(vf) = self.vf.get() else { return };
        match line {
            Line::Register(i) => {
                let guc = &self.gucs[i];
                let mut log = self.lock();
                let intr = guc.take_interrupts();
                if intr.is_empty() {
                    return;
                }
                log.drain(i as u8, guc);
                if log.trace {
                    let entry = log.irq[i].take().unwrap_or(TranscriptEntry::new(
                        guc.now(),
                        Dir::Interrupt(intr),
                        MmioMessage::from_array([u32::from(intr.bits()), 0, 0, 0]),
                    ));
                    log.line(&entry.line(i as u8).to_string());
                }
                let signal = vf.guc_interrupt(GtId(i as u8), intr);
                log.line(&format!("[gt{i}] SW_INT_0 -> {}", signal_text(signal)));
            }
            // The tile's MSI: its memirq handler calls the migration entry for every GuC whose
            // SW_INT_0 byte is set and clears the byte after it returned.
            Line::Tile(t) => {
                let Some(m) = vf.tiles().0.get(t) else { return };
                let mut log = self.lock();
                m.handle(|gt| {
                    let i = usize::from(gt.0);
                    let guc = &self.gucs[i];
                    log.drain(gt.0, guc);
                    if log.trace {
                        let entry = log.irq[i].take().unwrap_or(TranscriptEntry::new(
                            guc.now(),
                            Dir::Interrupt(GucIntr::SW_INT_0),
                            MmioMessage::from_array([u32::from(GucIntr::SW_INT_0.bits()), 0, 0, 0]),
                        ));
                        log.line(&entry.line(gt.0).to_string());
                    }
                    let signal = vf.migrated(gt);
                    log.line(&format!(
                        "[gt{i}] SW_INT_0 (memirq) -> {}",
                        signal_text(signal)
                    ));
                    signal
                });
            }
        }
    }

    /// The worker's hold hook: lands the mid-recovery migration, its interrupts at once.
    fn hold_hook(&self, point: HoldPoint, gt: GtId) {
        {
            let mut armed = self.hold.lock().unwrap_or_else(|e| e.into_inner());
            if *armed != Some(point) {
                return;
            }
            *armed = None;
        }
        self.frag(
            gt,
            format!("held at {point:?}: the host migrates the VM again"),
        );
        self.migrate_vm(" (during recovery, from the hold hook)", true);
        self.deliver_due();
    }

    /// The worker: one pass, then its timeline. `false` if no pass was due.
    fn pass<const N: usize>(&self, vf: &SimVf<N>) -> bool {
        let outcome = vf.run_worker();
        let n = vf.stats().recoveries;
        let what = match outcome {
            PassOutcome::NotStarted => return false,
            PassOutcome::Empty => "empty (waiting for the other GTs)".to_string(),
            PassOutcome::Recovered(set) => format!("recovered {}", gt_list(set)),
            PassOutcome::Incomplete(r) => {
                let mut parts = Vec::new();
                if !r.recovered.is_empty() {
                    parts.push(format!("{} recovered", gt_list(r.recovered)));
                }
                if !r.requeued.is_empty() {
                    parts.push(format!("VF_MIGRATED: {} re-queued", gt_list(r.requeued)));
                }
                if !r.deferred.is_empty() {
                    parts.push(format!(
                        "deferred {} (another recovery imminent: no RESFIX_DONE, the next pass redoes them)",
                        gt_list(r.deferred)
                    ));
                }
                if !r.postponed.is_empty() {
                    parts.push(format!(
                        "{} waits for its tile's primary GT",
                        gt_list(r.postponed)
                    ));
                }
                parts.join("; ")
            }
            PassOutcome::Unsupported {
                gt,
                version,
                reason: Unsupported::NoMarkers,
            } => format!(
                "migration refused: gt{} speaks VF ABI {}, no RESFIX markers (--legacy opts in)",
                gt.0,
                version.map_or("?".to_string(), |v| v.to_string())
            ),
            PassOutcome::Unsupported { gt, .. } => {
                format!("migration refused: gt{} has no memirq page", gt.0)
            }
            PassOutcome::Failed(e) => format!("FAILED: {}; device wedged", error_chain(&e)),
            PassOutcome::Cancelled => "cancelled by teardown".to_string(),
            PassOutcome::Busy(gts) => format!("GTs {} busy (with_gt), queued again", gt_list(gts)),
            other => format!("{other:?}"),
        };
        let mut log = self.lock();
        let prefix = format!("pass {n}");
        self.print_narratives(&mut log, &prefix);
        for note in std::mem::take(&mut log.vf_notes) {
            log.line(&format!("[vf] pass {n}: {note}"));
        }
        Self::print_hooks(&mut log, &prefix);
        log.line(&format!("[vf] pass {n}: {what}"));
        true
    }

    /// Whether the VF has nothing left to do.
    fn idle<const N: usize>(vf: &SimVf<N>) -> bool {
        let c = vf.coordinator();
        !c.is_running() && !c.is_queued() && c.pending_gts().is_empty()
    }

    /// Runs the VF until it settled after a migration: delivers the interrupts that are due,
    /// runs a pass while one is due, else moves the virtual clock to the next delivery. Returns
    /// `Ok(true)` to go on, `Ok(false)` when the run is over (wedged or refused), `Err` when it
    /// does not settle.
    fn settle<const N: usize>(&self, vf: &SimVf<N>) -> Result<bool, String> {
        let wall = StdInstant::now();
        let start = self.clock.now();
        for _ in 0..SETTLE_TURNS {
            self.deliver_due();
            let idle = Self::idle(vf);
            if vf.is_wedged() && !vf.coordinator().is_running() {
                return Ok(false);
            }
            if vf.stats().unsupported > 0 && idle {
                return Ok(false);
            }
            let states = self.states();
            let k = self.migrations.load(Ordering::SeqCst);
            let awaited = vf.awaiting_reports();
            if !awaited.is_empty() && states.iter().all(|s| *s == VfState::Running) {
                // `--policy all`: every interrupt is delivered, yet a GT waits for the others'
                // reports: a late interrupt for a migration a device-wide pass already covered.
                // End the wait as an embedder would.
                self.lock().line(&format!(
                    "[vf] awaiting the reports of GTs {awaited:?} with every GuC running: start_now"
                ));
                let _ = vf.start_now();
                continue;
            }
            if idle && states.iter().all(|s| *s == VfState::Running) {
                let log = self.lock();
                let list: Vec<String> = states
                    .iter()
                    .enumerate()
                    .map(|(i, s)| format!("gt{i} {s}"))
                    .collect();
                log.line(&format!(
                    "[host] migration {k} settled in {} us (virtual), {} us (wall): {}",
                    self.clock.now().duration_since(start).as_micros(),
                    wall.elapsed().as_micros(),
                    list.join(", ")
                ));
                for (i, guc) in self.gucs.iter().enumerate() {
                    if let Some(b) = guc.blackout() {
                        log.line(&format!(
                            "[gt{i}] blackout of migration {k}: {}, {} mailbox round trips",
                            b.duration().map_or("not ended".into(), |d| format!(
                                "{} us (virtual)",
                                d.as_micros()
                            )),
                            b.round_trips
                        ));
                    }
                }
                if let Some(us) = self.blackout_us() {
                    log.line(&format!(
                        "[vf] blackout of migration {k}: {us} us (virtual, the longest GT)"
                    ));
                }
                return Ok(true);
            }
            if self.clock.now().duration_since(start) > SETTLE_TIMEOUT {
                return Err(self.unsettled(vf, k, &states, "within 5 s of virtual time"));
            }
            if vf.coordinator().is_queued() && self.pass(vf) {
                continue;
            }
            if let Some(at) = self.next_delivery() {
                let now = self.clock.now();
                if at.is_after(now) {
                    self.clock.advance(at.duration_since(now));
                }
                continue;
            }
            if self.undelivered() {
                // An interrupt raised outside a migration: deliver it now.
                self.schedule(true);
                continue;
            }
            return Err(self.unsettled(vf, k, &states, "(nothing left to run or deliver)"));
        }
        let k = self.migrations.load(Ordering::SeqCst);
        Err(self.unsettled(
            vf,
            k,
            &self.states(),
            &format!("in {SETTLE_TURNS} turns of the host"),
        ))
    }

    /// Why the VF did not settle after migration `k`.
    fn unsettled<const N: usize>(
        &self,
        vf: &SimVf<N>,
        k: u64,
        states: &[VfState],
        when: &str,
    ) -> String {
        let list: Vec<String> = states.iter().map(|s| s.to_string()).collect();
        let silent = (0..self.gucs.len()).all(|i| !vf.recovery_pending(GtId(i as u8)));
        format!(
            "the VF did not settle {when} after migration {k} (states {}, coordinator {:?}){}",
            list.join(","),
            vf.coordinator(),
            if silent {
                "; no GuC interrupt reached the VF (with memirq: is the page registered?)"
            } else {
                ""
            }
        )
    }
}

fn signal_text(signal: Signal) -> &'static str {
    match signal {
        Signal::Queued => "recovery queued",
        Signal::AlreadyPending => "recovery already queued",
        Signal::WaitingForOtherGts => "marked, waiting for the other GTs",
        Signal::Ignored => "ignored (device wedged)",
        Signal::InvalidGt => "invalid GT",
        _ => "(a signal this simulator does not know)",
    }
}

/// A GT's mock GuC as the VF sees it: every access drains the transcript into the timeline, so
/// nothing is lost and the order across GTs is the real one; every wait delivers the
/// interrupts whose instant it reached.
struct TracedGuc {
    sim: &'static Sim,
    gt: u8,
}

impl TracedGuc {
    fn guc(&self) -> &MockGuc {
        &self.sim.gucs[usize::from(self.gt)]
    }
}

impl Device for TracedGuc {
    fn read32(&self, reg: Reg) -> u32 {
        let mut log = self.sim.lock();
        let v = self.guc().read32(reg);
        log.drain(self.gt, self.guc());
        v
    }

    fn write32(&self, reg: Reg, value: u32) {
        let mut log = self.sim.lock();
        self.guc().write32(reg, value);
        log.drain(self.gt, self.guc());
    }

    fn now(&self) -> Instant {
        self.guc().now()
    }

    fn relax(&self) {
        self.guc().relax();
        self.sim.deliver_due();
    }
}

struct SimHooks {
    sim: &'static Sim,
}
impl RecoveryHooks for SimHooks {
    fn pm_get(&self) {
        self.sim.hook("pm_get".into());
        self.sim.pm_get.fetch_add(1, Ordering::SeqCst);
    }
    fn pm_put(&self) {
        self.sim.hook("pm_put".into());
        self.sim.pm_put.fetch_add(1, Ordering::SeqCst);
    }
    fn shutdown(&self, gt: GtId) {
        self.sim.hook(format!("shutdown gt{}", gt.0));
    }
    fn ggtt_fixup(&self, tile: TileId, ggtt: GgttMove) -> Result<(), HookError> {
        self.sim.hook(format!("ggtt_fixup tile{} {ggtt}", tile.0));
        {
            let log = self.sim.lock();
            if log.trace {
                log.line(&format!(
                    "tile{} ggtt {:#x} -> {:#x}",
                    tile.0, ggtt.old, ggtt.new
                ));
            }
        }
        if let Some(gt) = self
            .sim
            .layout
            .iter()
            .position(|l| *l == (tile, GtKind::Primary))
        {
            self.sim.frag(
                GtId(gt as u8),
                format!(
                    "tile{} GGTT moved {ggtt} (shift {})",
                    tile.0,
                    signed_hex(ggtt.shift())
                ),
            );
        }
        self.sim.oracle.fixup(tile, ggtt)
    }
    fn gt_fixups(&self, gt: GtId) -> Result<(), HookError> {
        self.sim.hook(format!("gt_fixups gt{}", gt.0));
        self.sim.frag(gt, "fixups".into());
        Ok(())
    }
    fn rearm(&self, gt: GtId) -> Result<(), HookError> {
        self.sim.hook(format!("rearm gt{}", gt.0));
        self.sim.frag(gt, "rearm".into());
        Ok(())
    }
    fn kickstart(&self, gt: GtId) {
        self.sim.hook(format!("kickstart gt{}", gt.0));
        self.sim.frag(gt, "submission resumed".into());
    }
    fn abort(&self, error: &RecoveryError) {
        let mut log = self.sim.lock();
        log.hooks.push("abort".into());
        log.vf_notes.push(format!("abort hook ({error})"));
    }
    fn wedged(&self, error: &RecoveryError) {
        let mut log = self.sim.lock();
        log.hooks.push("wedged".into());
        log.vf_notes.push("wedged hook".to_string());
        let _ = error;
    }
    fn hold(&self, point: HoldPoint, gt: GtId) {
        self.sim.hook(format!("hold {point:?} gt{}", gt.0));
        self.sim.hold_hook(point, gt);
    }
}

type SimVf<const N: usize> = Vf<TracedGuc, SimHooks, Polled, N, Tiles>;

/// Each GT's tile and kind, tile by tile: the primary GT, then the media GT for the first
/// `gts - tiles` tiles.
fn layout(gts: usize, tiles: usize) -> Vec<(TileId, GtKind)> {
    let mut out = Vec::new();
    for t in 0..tiles {
        out.push((TileId(t as u8), GtKind::Primary));
        if t < gts - tiles {
            out.push((TileId(t as u8), GtKind::Media));
        }
    }
    out
}

fn run<const N: usize>(opts: &Options) -> u8 {
    let tiles = opts.tiles.unwrap_or(1);
    let layout = layout(N, tiles);
    let kind = |i: usize| layout[i].1;
    let gucs: &'static [MockGuc] = (0..N)
        .map(|i| {
            let prov = {
                let mut c = Provisioning::integrated();
                c.ggtt_start = ggtt_base(0, layout[i].0 .0);
                c
            };
            MockGuc::new(kind(i), opts.abi, prov)
        })
        .collect::<Vec<_>>()
        .leak();
    // One worker, one timeline: the time it waits on one GT's mailbox passes for every GT.
    let clock: &'static MockClock = Box::leak(Box::default());
    for guc in gucs {
        guc.use_clock(clock);
        guc.set_latency(Latency::fixed(Duration::from_micros(opts.guc_latency_us)));
    }
    // The simulation, the devices and the VF refer to each other for the whole run: leaked.
    let sim: &'static Sim = Box::leak(Box::new(Sim {
        gucs,
        clock,
        log: Mutex::new(Log {
            trace: opts.trace,
            gts: (0..N).map(|_| Narrative::default()).collect(),
            irq: vec![None; N],
            vf_notes: Vec::new(),
            hooks: Vec::new(),
            dropped: false,
        }),
        vf: OnceLock::new(),
        deliveries: Mutex::new(Vec::new()),
        delivering: AtomicBool::new(false),
        hold: Mutex::new(opts.migrate_during_recovery),
        migrations: AtomicU64::new(0),
        pm_get: AtomicUsize::new(0),
        pm_put: AtomicUsize::new(0),
        failures: Mutex::new(Vec::new()),
        layout: layout.clone(),
        oracle: GgttOracle::new(),
        rng: Mutex::new(opts.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1),
    }));

    let inject = |spec: &FaultSpec| {
        if let Err(e) = gucs[0].inject(Trigger::Action(spec.step.action()), spec.fault) {
            sim.fail(format!("--fault {}: {e}", spec.text));
        }
    };
    for spec in opts.faults.iter().filter(|f| f.step.during_bootstrap()) {
        inject(spec);
    }

    let gts: [Gt<TracedGuc>; N] = core::array::from_fn(|i| {
        let info = {
            let mut info = GtInfo::new(kind(i), false, 2004);
            info.tile = layout[i].0;
            info.platform = PlatformClass::Newer;
            info
        };
        Gt::new(
            TracedGuc { sim, gt: i as u8 },
            info,
            MailboxConfig::default(),
        )
    });
    let mut config = RecoveryConfig::DEFAULT;
    config.start = opts.policy;
    config.legacy = opts.legacy;
    // --irq mmio: SW_INT_0 from the register, which kernel 7.0 does not migrate with.
    config.mmio_irq = !opts.memirq;
    config.split_phase = opts.split_phase;
    let pages = Tiles(if opts.memirq {
        (0..tiles)
            .map(|t| {
                let page: &'static MockMemirqPage = Box::leak(Box::default());
                let tile = TileId(t as u8);
                let on_tile = |k: GtKind| {
                    layout
                        .iter()
                        .position(|&(lt, lk)| lt == tile && lk == k)
                        .map(|i| GtId(i as u8))
                };
                for (i, g) in gucs.iter().enumerate() {
                    if layout[i].0 == tile {
                        g.attach_memirq(page, page_ggtt(tile.0));
                    }
                }
                let primary = on_tile(GtKind::Primary).unwrap_or(GtId(0));
                Memirq::new(page, page_ggtt(tile.0), primary, on_tile(GtKind::Media))
            })
            .collect()
    } else {
        Vec::new()
    });
    let vf: &'static SimVf<N> = match Vf::with_memirq(gts, SimHooks { sim }, Polled, config, pages)
    {
        Ok(vf) => Box::leak(Box::new(vf)),
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    let port: &'static dyn IrqPort = vf;
    let _ = sim.vf.set(port);

    sim.lock().line(&format!(
        "[host] VM with {N} GT{} on {} tile{} ({}), mock GuC VF ABI {}, policy {:?}{}, {} migration{}",
        if N == 1 { "" } else { "s" },
        tiles,
        if tiles == 1 { "" } else { "s" },
        layout
            .iter()
            .enumerate()
            .map(|(i, (t, k))| format!("gt{i} tile{} {}", t.0, if *k == GtKind::Primary { "primary" } else { "media" }))
            .collect::<Vec<_>>()
            .join(", "),
        opts.abi,
        opts.policy,
        if opts.legacy {
            ", legacy recovery allowed"
        } else {
            ""
        },
        opts.migrations,
        if opts.migrations == 1 { "" } else { "s" },
    ));
    sim.lock().line(
        "[host] clocks: times marked (virtual) are the mock GuCs' shared virtual clock (the \
         worker's polls, the GuC turnaround, the host's interrupt delays), (wall) the host's \
         real time",
    );
    for f in &opts.faults {
        sim.lock().line(&format!(
            "[host] fault {}: gt0, {:?} on action {:#06x}{}",
            f.text,
            f.fault,
            f.step.action(),
            if f.step.during_bootstrap() {
                " (bootstrap)"
            } else {
                " (first recovery)"
            }
        ));
    }

    let boot = vf.bootstrap().and_then(|()| {
        // Register each tile's page with its GuCs (before CTB would be enabled), then enable it.
        vf.register_memirq()?;
        for m in &vf.memirq().0 {
            m.enable();
        }
        Ok(())
    });
    {
        let mut log = sim.lock();
        sim.print_narratives(&mut log, "bootstrap");
    }
    let mut ok = true;
    match boot {
        Ok(()) => {
            for t in 0..tiles {
                let tile = TileId(t as u8);
                if let Some(ggtt) = vf.tile_ggtt(tile) {
                    sim.oracle.place(tile, ggtt.applied);
                }
            }
            for i in 0..N {
                let line = vf.gt_view(GtId(i as u8)).map(|gt| {
                    let v = gt.version.map_or("?".to_string(), |v| v.to_string());
                    match gt.config {
                        Some(c) => format!(
                            "[gt{i}] VF ABI {v} ({}), GGTT {:#x}+{:#x}, {} contexts, {} doorbells",
                            if gt.supports_markers() {
                                "RESFIX markers"
                            } else {
                                "legacy RESFIX_DONE, no markers"
                            },
                            c.ggtt_start,
                            c.ggtt_size,
                            c.num_contexts,
                            c.num_doorbells
                        ),
                        None => format!("[gt{i}] VF ABI {v}, no configuration"),
                    }
                });
                if let Some(line) = line {
                    sim.lock().line(&line);
                }
            }
            for spec in opts.faults.iter().filter(|f| !f.step.during_bootstrap()) {
                inject(spec);
            }
        }
        Err(e) => {
            sim.lock().line(&format!("[vf] {}", error_chain(&e)));
            ok = false;
        }
    }

    if ok {
        for _ in 0..opts.migrations {
            sim.migrate_vm("", false);
            match sim.settle(vf) {
                Ok(true) => {}
                Ok(false) => break,
                Err(why) => {
                    sim.fail(why);
                    break;
                }
            }
        }
    }

    Sim::print_hooks(&mut sim.lock(), "outside a pass:");
    let stats = vf.stats();
    let (gets, puts) = (
        sim.pm_get.load(Ordering::SeqCst),
        sim.pm_put.load(Ordering::SeqCst),
    );
    let log = sim.lock();
    if log.dropped {
        drop(log);
        sim.fail("transcript entries were dropped".into());
    } else {
        drop(log);
    }
    if gets != puts {
        sim.fail(format!("runtime PM unbalanced: {gets} get, {puts} put"));
    }
    let states = sim.states();
    let wedged = vf.is_wedged();
    let log = sim.lock();
    log.line(&format!(
        "[vf] stats: {} interrupts signalled, {} passes ({} completed, {} deferred, {} re-queued, \
         {} failed, {} refused), {} fixups, runtime PM {gets} get / {puts} put",
        stats.migrations_signalled,
        stats.recoveries,
        stats.completed,
        stats.deferred,
        stats.requeued,
        stats.failed,
        stats.unsupported,
        stats.fixups_completed,
    ));
    // The VF's view: on every tile, its GGTT users at the GuC's current base, moved once per
    // change (the oracle refuses a fixup that does not start where they are).
    let mut ggtt_ok = ok;
    for t in 0..tiles {
        let tile = TileId(t as u8);
        let Some(primary) = layout.iter().position(|l| *l == (tile, GtKind::Primary)) else {
            continue;
        };
        let base = gucs[primary].provisioning().ggtt_start;
        if let Err(e) = sim.oracle.check(tile, base) {
            log.line(&format!("[vf] GGTT users: {e}"));
            ggtt_ok = false;
        }
    }
    let list: Vec<String> = states.iter().map(|s| s.to_string()).collect();
    log.line(&format!(
        "summary: migrations={} recoveries={} deferred={} requeued={} wedged={} states={} ggtt={} blackout_us={}",
        sim.migrations.load(Ordering::SeqCst),
        stats.recoveries,
        stats.deferred,
        stats.requeued,
        if wedged { "yes" } else { "no" },
        list.join(","),
        if ggtt_ok { "ok" } else { "stale" },
        sim.blackout_us()
            .map_or("none".to_string(), |us| us.to_string())
    ));
    drop(log);
    let failures = sim.failures.lock().unwrap_or_else(|e| e.into_inner());
    let all_running = states.iter().all(|s| *s == VfState::Running);
    u8::from(!(ok && all_running && !wedged && ggtt_ok && failures.is_empty()))
}

/// The `log` facade's logger for `--log`: the crate's lines on stderr, prefixed so that they
/// cannot be mistaken for the timeline, the trace or the summary (all on stdout).
#[cfg(feature = "log")]
struct StderrLogger;

#[cfg(feature = "log")]
impl log::Log for StderrLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }
    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!(
                "xe-sriov-vf {:<5} {}: {}",
                record.level(),
                record.target(),
                record.args()
            );
        }
    }
    fn flush(&self) {}
}

#[cfg(feature = "log")]
fn install_logger(level: LogLevel) {
    static LOGGER: StderrLogger = StderrLogger;
    let filter = match level {
        LogLevel::Off => log::LevelFilter::Off,
        LogLevel::Error => log::LevelFilter::Error,
        LogLevel::Warn => log::LevelFilter::Warn,
        LogLevel::Info => log::LevelFilter::Info,
        LogLevel::Debug => log::LevelFilter::Debug,
        LogLevel::Trace => log::LevelFilter::Trace,
    };
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(filter);
    }
}

#[cfg(not(feature = "log"))]
fn install_logger(_level: LogLevel) {}

fn main() -> ExitCode {
    let opts = match parse_args(std::env::args().skip(1)) {
        Ok(Parsed::Run(o)) => o,
        Ok(Parsed::Help) => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("simulate: {e}");
            eprintln!("try --help");
            return ExitCode::from(2);
        }
    };
    if let Some(level) = opts.log {
        install_logger(level);
    }
    let code = match opts.gts {
        1 => run::<1>(&opts),
        2 => run::<2>(&opts),
        3 => run::<3>(&opts),
        4 => run::<4>(&opts),
        5 => run::<5>(&opts),
        6 => run::<6>(&opts),
        7 => run::<7>(&opts),
        _ => run::<8>(&opts),
    };
    ExitCode::from(code)
}
