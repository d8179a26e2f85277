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
//! - `--svg FILE` draws the same run as an SVG timeline (module `svg`).
//!
//! Exit status: 0 when every GT ends `VF_RUNNING`, nothing is wedged and the GGTT oracle says
//! `ggtt=ok`, 1 otherwise, 2 on bad arguments.
//!
//! # Modules
//!
//! `options` (the command line, clap), `scenario` (the VM, the host, the VF: the run),
//! `timeline` (the `[...]` lines), `trace` (the `--trace` lines and the events), `svg` (the
//! picture).

#![deny(missing_docs)]
#![deny(unsafe_code)]

// The examples' error printer, shared rather than copied.
#[path = "../../examples/common/chain.rs"]
mod chain;
mod options;
mod scenario;
mod svg;
mod timeline;
mod trace;

use std::process::ExitCode;

use options::{LogLevel, Parsed};

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
    let opts = match options::parse(std::env::args().skip(1)) {
        Ok(Parsed::Run(o)) => o,
        Ok(Parsed::Print(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprint!("{e}");
            return ExitCode::from(2);
        }
    };
    if let Some(level) = opts.log {
        install_logger(level);
    }
    let code = match opts.gts {
        1 => scenario::run::<1>(&opts),
        2 => scenario::run::<2>(&opts),
        3 => scenario::run::<3>(&opts),
        4 => scenario::run::<4>(&opts),
        5 => scenario::run::<5>(&opts),
        6 => scenario::run::<6>(&opts),
        7 => scenario::run::<7>(&opts),
        _ => scenario::run::<8>(&opts),
    };
    ExitCode::from(code)
}
