//! The command line: clap's derive, then the checks that span options, into [`Options`].
//!
//! Exit status 2 on any bad argument (clap's usage errors and ours alike), 0 after `--help`.

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser, ValueEnum};
use xe_sriov_vf::coordinator::StartPolicy;
use xe_sriov_vf::mock::Fault;
use xe_sriov_vf::recovery::HoldPoint;
use xe_sriov_vf::wire::action::{code, MmioMessage};
use xe_sriov_vf::wire::{GucError, Version};

/// Most faults the mock can queue (`mock::FAULT_QUEUE_LEN`).
const MAX_FAULTS: usize = 8;

/// What the run does, checked.
#[derive(Clone, Debug)]
pub struct Options {
    /// GTs in the VM, 1..=8.
    pub gts: usize,
    /// Tiles in the VM: 1..=4, and `gts` fits them.
    pub tiles: usize,
    /// VM migrations the host performs.
    pub migrations: u64,
    /// The VF ABI the mock GuCs offer.
    pub abi: Version,
    /// `RecoveryConfig::legacy`.
    pub legacy: bool,
    /// Seed of the host's choices.
    pub seed: u64,
    /// Where the hold hook lands a second migration, if it does.
    pub migrate_during_recovery: Option<HoldPoint>,
    /// Mailbox faults on gt0.
    pub faults: Vec<FaultSpec>,
    /// `RecoveryConfig::start`.
    pub policy: StartPolicy,
    /// `--trace`.
    pub trace: bool,
    /// GuC interrupts through memirq pages (default) or the register vector (`--irq mmio`).
    pub memirq: bool,
    /// `--log LEVEL`: the crate's own log lines on stderr (feature `log`).
    pub log: Option<LogLevel>,
    /// `--guc-latency-us L`: every reply's turnaround, in us of virtual time.
    pub guc_latency_us: u64,
    /// `RecoveryConfig::split_phase` (`--sequential` turns it off).
    pub split_phase: bool,
    /// `--svg FILE`: where the SVG timeline goes.
    pub svg: Option<std::path::PathBuf>,
}

/// A `--log` level (the `log` facade's, spelled the same).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum LogLevel {
    /// Nothing.
    Off,
    /// Errors.
    Error,
    /// Warnings and errors.
    Warn,
    /// Each migration's steps.
    Info,
    /// Each mailbox step.
    Debug,
    /// Everything.
    Trace,
}

/// `--policy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Policy {
    /// Queue the worker on the first GT's interrupt.
    Any,
    /// Queue it once every GT reported (the 6.13 seed).
    All,
}

/// `--irq`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Irq {
    /// Bytes in each tile's memirq page.
    Memirq,
    /// The GuC interrupt register.
    Mmio,
}

/// `--migrate-during-recovery[=fixups|done]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Hold {
    /// `HoldPoint::BeforeFixups`.
    Fixups,
    /// `HoldPoint::BeforeDone`.
    Done,
}

/// What follows the options in `--help`.
const AFTER_HELP: &str = "\
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
    With --svg FILE, the same run as a picture (see --svg).

EXIT STATUS:
    0  every GT ends VF_RUNNING, the device is not wedged and ggtt=ok
    1  otherwise (wedged, migration refused, bootstrap failed, the VF did not settle,
       ggtt=stale, the SVG could not be written)
    2  bad arguments
";

/// A VM with N GTs on the mock GuC, live-migrated M times, recovered by xe-sriov-vf.
///
/// A run is a function of its options: the worker runs in lockstep with the host (one thread)
/// and the mocks share one virtual clock.
#[derive(Parser, Debug)]
#[command(
    name = "xe-sriov-vf-sim",
    version,
    after_long_help = AFTER_HELP,
    after_help = "Each option's details, the output's lines and the exit status: --help"
)]
struct Cli {
    /// Tiles in the VM, 1..=4 (default 1, or as many as --gts needs: ceil(N / 2)).
    ///
    /// Each tile has a GGTT of its own (tile t's base is 256 MiB above tile 0's).
    #[arg(long, value_name = "T", value_parser = tiles)]
    tiles: Option<usize>,

    /// GTs in the VM, T..=2T.
    ///
    /// Tile by tile, in the kernel's order: each tile's primary GT, then its media GT (the first
    /// N - T tiles have one), which shares the tile's GGTT. Each GT has its own mock GuC and
    /// mailbox registers.
    #[arg(long, value_name = "N", default_value = "2", value_parser = gts)]
    gts: usize,

    /// VM migrations the host performs.
    ///
    /// Each one migrates every GT (new 4K-aligned GGTT base, +16 MiB each time) and then
    /// delivers SW_INT_0 of every GT; the host runs the VF until it settles (up to 5 s of
    /// virtual time) before the next one.
    #[arg(long, value_name = "M", default_value = "1", value_parser = migrations)]
    migrations: u64,

    /// VF ABI the mock GuCs offer.
    ///
    /// Below 1.27 there are no RESFIX markers: as in kernel 7.0, migration is then refused (the
    /// run exits 1, not wedged) unless --legacy.
    #[arg(long, value_name = "MAJOR.MINOR", default_value = "1.27", value_parser = abi)]
    abi: Version,

    /// RecoveryConfig::legacy: below VF ABI 1.27, recover with the seed's legacy protocol.
    ///
    /// No RESFIX_START, RESFIX_DONE without a marker.
    #[arg(long)]
    legacy: bool,

    /// Accepted for compatibility; refusing migration without markers is the default now.
    #[arg(long)]
    require_markers: bool,

    /// Seed of the host's choices.
    ///
    /// The order in which each migration's interrupts are delivered and the short delays (0 to
    /// 300 us of virtual time) between them, so that one GT's interrupt can land in the middle
    /// of another GT's recovery. A run is a function of its options: the same options print the
    /// same lines.
    #[arg(long, value_name = "S", default_value = "1", value_parser = seed)]
    seed: u64,

    /// A second VM migration lands between RESFIX_START and RESFIX_DONE.
    ///
    /// The hold hook of the first recovery pass (HoldPoint::BeforeFixups, or BeforeDone with
    /// =done) migrates every GT and delivers the interrupts at once.
    #[arg(
        long,
        value_name = "fixups|done",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "fixups",
        hide_possible_values = true
    )]
    migrate_during_recovery: Option<Hold>,

    /// Inject a mailbox fault on gt0 (repeatable, at most 8).
    ///
    /// STEP is the request it hits: reset (VF_RESET) or version (MATCH_VERSION) during
    /// bootstrap; start (RESFIX_START), query (the first QUERY_SINGLE_KLV, GGTT_START) or done
    /// (RESFIX_DONE) during the first recovery.
    /// KIND (mock::Fault):
    ///   timeout          the GuC never answers (NoReply)
    ///   flr              an FLR clears the scratch registers (FlrClear)
    ///   busy:N           N BUSY replies, then the real reply (Busy)
    ///   busy-timeout[:N] BUSY forever (BusyThenSilence, N counted BUSYs)
    ///   retry:N          N RETRY replies to the same request (Retry)
    ///   failure:CODE     FAILURE with GuC error CODE, e.g. 0xf000 (Failure)
    ///   migrated         FAILURE VF_MIGRATED (0x107) (Failure)
    ///   garbage:HEX[,HEX...]
    ///                    exactly these reply dwords, e.g. c0000000 (Reply)
    /// Several faults on the same STEP hit consecutive requests.
    #[arg(long, value_name = "STEP:KIND[:ARG]", value_parser = parse_fault, verbatim_doc_comment)]
    fault: Vec<FaultSpec>,

    /// StartPolicy: queue the worker on the first GT's interrupt (any) or once every GT
    /// reported (all, the 6.13 seed).
    #[arg(long, value_enum, default_value = "any")]
    policy: Policy,

    /// How SW_INT_0 reaches the VF.
    ///
    /// memirq (default: every VF that can migrate): as bytes in each tile's memirq page,
    /// registered with every GuC by HOST2GUC_SELF_CFG after bootstrap; mmio (parts before
    /// graphics IP 12.50): from the GuC interrupt register.
    #[arg(long, value_enum, default_value = "memirq")]
    irq: Irq,

    /// Every mock GuC answers each request L microseconds after its doorbell.
    ///
    /// Of the mocks' shared virtual clock, so that each mailbox round trip costs virtual time as
    /// on hardware; the worker's polls move the clock 10 us each. See blackout_us.
    #[arg(long, value_name = "L", default_value = "0", value_parser = latency)]
    guc_latency_us: u64,

    /// RecoveryConfig::split_phase off: the worker recovers the GTs one after the other.
    ///
    /// By default (split phase) it posts each mailbox step on every GT before it waits for any
    /// reply, so the GTs' round trips overlap (with --guc-latency-us, a 2-GT blackout of one
    /// GT's).
    #[arg(long)]
    sequential: bool,

    /// Also print every mailbox message and interrupt (see OUTPUT in --help).
    #[arg(long)]
    trace: bool,

    /// Write the run's timeline as SVG to FILE.
    ///
    /// From the first migration on: a lane per GT (its tile shown), a box per mailbox round trip
    /// from doorbell to reply coloured by action (RESFIX_START, queries, RESFIX_DONE, other),
    /// BUSY, RETRY, FAILURE and lost replies marked, the SW_INT_0 deliveries, the hook calls,
    /// each GT's blackout and a time axis in virtual microseconds. Stdout is unchanged.
    #[arg(long, value_name = "FILE")]
    svg: Option<std::path::PathBuf>,

    /// The crate's own log lines on stderr, each starting with 'xe-sriov-vf '.
    ///
    /// Off by default, through the `log` facade: build with --features log
    /// (cargo run -p xe-sriov-vf-sim --features log -- --log info). Stdout (timeline, trace,
    /// summary) is unchanged.
    #[arg(long, value_enum, value_name = "LEVEL")]
    log: Option<LogLevel>,
}

/// What the command line asks for.
pub enum Parsed {
    /// Run with these options.
    Run(Options),
    /// Print this (help or version) and exit 0.
    Print(String),
}

/// Parses the command line; an `Err` is printed as is and the process exits 2.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Parsed, String> {
    let cli = match Cli::try_parse_from(std::iter::once("xe-sriov-vf-sim".to_string()).chain(args))
    {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            return Ok(Parsed::Print(e.render().to_string()));
        }
        Err(e) => return Err(e.render().to_string()),
    };
    let error =
        |kind: ErrorKind, msg: String| Err(Cli::command().error(kind, msg).render().to_string());
    if cli.fault.len() > MAX_FAULTS {
        return error(
            ErrorKind::TooManyValues,
            format!("at most {MAX_FAULTS} --fault options"),
        );
    }
    if !cfg!(feature = "log") && cli.log.is_some_and(|l| l != LogLevel::Off) {
        return error(
            ErrorKind::InvalidValue,
            "--log needs the crate's `log` backend: cargo run -p xe-sriov-vf-sim --features log \
             -- --log LEVEL"
                .into(),
        );
    }
    let tiles = cli.tiles.unwrap_or(cli.gts.div_ceil(2));
    if cli.gts < tiles || cli.gts > 2 * tiles {
        return error(
            ErrorKind::ArgumentConflict,
            format!(
                "--gts {} does not fit {tiles} tile(s): each tile has a primary GT and at most \
                 one media GT",
                cli.gts
            ),
        );
    }
    // --require-markers: the kernel-7.0 gate is the default now; kept as a no-op alias.
    let _ = cli.require_markers;
    Ok(Parsed::Run(Options {
        gts: cli.gts,
        tiles,
        migrations: cli.migrations,
        abi: cli.abi,
        legacy: cli.legacy,
        seed: cli.seed,
        migrate_during_recovery: cli.migrate_during_recovery.map(|h| match h {
            Hold::Fixups => HoldPoint::BeforeFixups,
            Hold::Done => HoldPoint::BeforeDone,
        }),
        faults: cli.fault,
        policy: match cli.policy {
            Policy::Any => StartPolicy::AnyGt,
            Policy::All => StartPolicy::AllGts,
        },
        trace: cli.trace,
        memirq: cli.irq == Irq::Memirq,
        log: cli.log,
        guc_latency_us: cli.guc_latency_us,
        split_phase: !cli.sequential,
        svg: cli.svg,
    }))
}

/// A number in `range`, decimal or `0x` hexadecimal.
fn number_in(s: &str, range: std::ops::RangeInclusive<u64>) -> Result<u64, String> {
    match parse_num(s) {
        Some(n) if range.contains(&n) => Ok(n),
        _ => Err(format!(
            "'{s}' is not in {}..={}",
            range.start(),
            range.end()
        )),
    }
}

fn gts(s: &str) -> Result<usize, String> {
    number_in(s, 1..=8).map(|n| n as usize)
}

fn tiles(s: &str) -> Result<usize, String> {
    number_in(s, 1..=4).map(|n| n as usize)
}

fn migrations(s: &str) -> Result<u64, String> {
    number_in(s, 0..=1_000_000)
}

fn latency(s: &str) -> Result<u64, String> {
    number_in(s, 0..=1_000_000)
}

fn seed(s: &str) -> Result<u64, String> {
    parse_num(s).ok_or_else(|| format!("'{s}' is not a number"))
}

fn abi(s: &str) -> Result<Version, String> {
    s.split_once('.')
        .and_then(|(ma, mi)| Some(Version::new(ma.parse::<u8>().ok()?, mi.parse::<u8>().ok()?)))
        .ok_or_else(|| format!("'{s}' is not MAJOR.MINOR (e.g. 1.27)"))
}

/// The request a `--fault` hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultStep {
    Reset,
    Version,
    Start,
    Query,
    Done,
}

impl FaultStep {
    pub fn action(self) -> u16 {
        match self {
            FaultStep::Reset => code::VF_RESET,
            FaultStep::Version => code::MATCH_VERSION,
            FaultStep::Start => code::RESFIX_START,
            FaultStep::Query => code::QUERY_SINGLE_KLV,
            FaultStep::Done => code::RESFIX_DONE,
        }
    }

    pub fn during_bootstrap(self) -> bool {
        matches!(self, FaultStep::Reset | FaultStep::Version)
    }
}

/// One `--fault STEP:KIND[:ARG]`.
#[derive(Clone, Debug)]
pub struct FaultSpec {
    pub text: String,
    pub step: FaultStep,
    pub fault: Fault,
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

/// Parses `--fault STEP:KIND[:ARG]`.
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
