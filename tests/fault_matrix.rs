//! The fault matrix: every mailbox step of a recovery times every kind of fault, on a 2-GT VF
//! (primary + media, VF ABI 1.27, integrated) after one migration, with the fault on GT 0.
//!
//! Steps (rows): RESFIX_START, each QUERY_SINGLE_KLV of the re-query in the kernel's order
//! (GGTT_START, GGTT_SIZE, NUM_CONTEXTS, NUM_DOORBELLS, GROUP_SCHEDULING_AVAILABLE, GMD_ID) and
//! RESFIX_DONE. A query fault is aimed at its key by queueing no-op faults (`Busy { count: 0 }`)
//! for the queries before it.
//!
//! Faults (columns) and the documented outcome:
//!
//! | column | injected | outcome |
//! |---|---|---|
//! | timeout | `Fault::NoReply` | wedge (`MailboxError::Timeout`) |
//! | busy+silence | `Fault::BusyThenSilence` | wedge (`BusyTimeout`) |
//! | busy:3 | `Fault::Busy { count: 3 }` | recover |
//! | retry>lim | `Fault::Retry { count: MAX_RETRIES + 1 }` | wedge (`RetryLimit`) |
//! | retry=lim | `Fault::Retry { count: MAX_RETRIES }` | recover |
//! | flr | `Fault::FlrClear` (scratch cleared, no reply: the mailbox sends once more) | recover |
//! | failure | `Fault::Failure(GENERIC_FAIL)` | wedge (`Remote`) |
//! | bad-origin | `Fault::Reply([0x70000000])`: a host-origin dword, no reply for the VF | wedge (`Timeout`) |
//! | bad-type | `Fault::Reply([0xc0000000])`: GuC origin, undefined TYPE 4 | wedge (`Protocol`) |
//! | bad-len | queries: SUCCESS with LENGTH one above the key's; START/DONE: SUCCESS with DATA0 1 | wedge (`KlvOverflow` / `BadReply`) |
//! | VF_MIGRATED | `Fault::Failure(VF_MIGRATED)` | re-queue, ends `VF_RUNNING` |
//! | mig+irq | a second migration of both GTs lands just before the step (at the hold point `BeforeStart` / `BeforeDone` for START / DONE, at the query's doorbell for a query), interrupts delivered at once | START: recover (an interrupt before RESFIX_START is covered by the queued recovery: no second run); query, DONE: re-queue (RESFIX_DONE, always sent with markers, is answered VF_MIGRATED) |
//! | mig,late | the same migration, its interrupts delivered only after the pass | START: recover (the pass already answers the new migration; the late interrupt costs one redundant pass); query, DONE: re-queue (RESFIX_DONE answered VF_MIGRATED) |
//!
//! The GMD_ID row is the exception to every fault column: as the kernel does, any failure of
//! the GMD_ID query is logged and the value taken as 0, so the recovery goes on (recover), unless
//! a real second migration makes RESFIX_DONE fail (re-queue).
//!
//! Every cell also checks: no panic, runtime PM balanced; a wedge is `PassOutcome::Failed` at
//! the right step on GT 0 with the expected error, `is_wedged`, exactly one `wedged` and one
//! `abort` hook call, and the GGTT oracle agreeing with the VF's applied base; anything else ends
//! with both GTs `VF_RUNNING`, both GGTTs valid, not wedged, and the VF's GGTT users (the
//! oracle) exactly at the final GGTT base, moved once per change. The mock's virtual clock runs 1 ms per poll, so every timeout
//! costs a few dozen polls and no real time.
//!
//! The matrix runs twice, with the same expected outcomes: with the GTs one after the other,
//! and with [`RecoveryConfig::split_phase`], where the mocks share one clock and answer one poll
//! after each doorbell, so GT 1's request is in flight whenever GT 0's fault lands.
#![cfg(feature = "mock")]

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use common::{Rig, RigBuilder, RigVf, TILE_PAIR};
use xe_sriov_vf::coordinator::{GtId, GtSet, StartPolicy};
use xe_sriov_vf::device::Device;
use xe_sriov_vf::gt::VfError;
use xe_sriov_vf::mailbox::{MailboxConfig, MailboxError};
use xe_sriov_vf::mock::{Fault, HookedDevice, Latency, MockGuc, Trigger, VfState};
use xe_sriov_vf::recovery::{HoldPoint, PassOutcome, RecoveryError, Step};
use xe_sriov_vf::tile::TileId;
use xe_sriov_vf::wire::action::{code, MmioMessage};
use xe_sriov_vf::wire::{GucError, KlvKey};

const BASE: u64 = 0x0020_0000;
/// The GGTT base after the first migration.
const MOVED: u64 = BASE + 0x0100_0000;
/// The GGTT base after the second migration of the migration columns.
const MOVED2: u64 = BASE + 0x0200_0000;
/// A small RETRY budget, so "past the limit" is cheap.
const MAX_RETRIES: u32 = 2;
/// Virtual time per poll: 50 ms reply timeout = 50 polls, 2 s BUSY timeout = 2000 polls.
const RELAX_NS: u64 = 1_000_000;

fn mailbox_config() -> MailboxConfig {
    {
        let mut c = MailboxConfig::KERNEL;
        c.max_retries = MAX_RETRIES;
        c
    }
}

// ---------------------------------------------------------------------------------------------
// Rows and columns

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Row {
    Start,
    /// The query of `key`, the `index`-th of the re-query.
    Query(KlvKey, usize),
    Done,
}

/// The re-query of this configuration (integrated, graphics 20.04, VF ABI 1.27), in order.
const QUERY_ORDER: [KlvKey; 6] = [
    KlvKey::GgttStart,
    KlvKey::GgttSize,
    KlvKey::NumContexts,
    KlvKey::NumDoorbells,
    KlvKey::GroupSchedulingAvailable,
    KlvKey::GmdId,
];

fn rows() -> Vec<Row> {
    let mut rows = vec![Row::Start];
    rows.extend(
        QUERY_ORDER
            .iter()
            .enumerate()
            .map(|(i, k)| Row::Query(*k, i)),
    );
    rows.push(Row::Done);
    rows
}

impl Row {
    fn name(self) -> String {
        match self {
            Row::Start => "RESFIX_START".into(),
            Row::Query(key, _) => format!(
                "Q {}",
                key.name()
                    .trim_start_matches("VF_CFG_")
                    .trim_start_matches("GLOBAL_CFG_")
            ),
            Row::Done => "RESFIX_DONE".into(),
        }
    }

    fn step(self) -> Step {
        match self {
            Row::Start => Step::ResfixStart,
            Row::Query(..) => Step::QueryConfig,
            Row::Done => Step::ResfixDone,
        }
    }

    fn action(self) -> u16 {
        match self {
            Row::Start => code::RESFIX_START,
            Row::Query(..) => code::QUERY_SINGLE_KLV,
            Row::Done => code::RESFIX_DONE,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Col {
    Timeout,
    BusySilence,
    BusyReply,
    RetryPastLimit,
    RetryWithinLimit,
    Flr,
    Failure,
    BadOrigin,
    BadType,
    BadLen,
    VfMigrated,
    MigratePrompt,
    MigrateLate,
}

const COLS: [Col; 13] = [
    Col::Timeout,
    Col::BusySilence,
    Col::BusyReply,
    Col::RetryPastLimit,
    Col::RetryWithinLimit,
    Col::Flr,
    Col::Failure,
    Col::BadOrigin,
    Col::BadType,
    Col::BadLen,
    Col::VfMigrated,
    Col::MigratePrompt,
    Col::MigrateLate,
];

impl Col {
    fn name(self) -> &'static str {
        match self {
            Col::Timeout => "timeout",
            Col::BusySilence => "busy+silence",
            Col::BusyReply => "busy:3",
            Col::RetryPastLimit => "retry>lim",
            Col::RetryWithinLimit => "retry=lim",
            Col::Flr => "flr",
            Col::Failure => "failure",
            Col::BadOrigin => "bad-origin",
            Col::BadType => "bad-type",
            Col::BadLen => "bad-len",
            Col::VfMigrated => "VF_MIGRATED",
            Col::MigratePrompt => "mig+irq",
            Col::MigrateLate => "mig,late",
        }
    }

    /// The fault to inject, for the fault columns.
    fn fault(self, row: Row) -> Option<Fault> {
        let reply = |dws: &[u32]| Fault::Reply(MmioMessage::from_slice(dws).unwrap());
        Some(match self {
            Col::Timeout => Fault::NoReply,
            Col::BusySilence => Fault::BusyThenSilence { count: 3 },
            Col::BusyReply => Fault::Busy { count: 3 },
            Col::RetryPastLimit => Fault::Retry {
                count: MAX_RETRIES + 1,
            },
            Col::RetryWithinLimit => Fault::Retry { count: MAX_RETRIES },
            Col::Flr => Fault::FlrClear,
            Col::Failure => Fault::Failure {
                error: GucError::GenericFail,
                hint: 0,
            },
            Col::BadOrigin => reply(&[0x7000_0000]),
            Col::BadType => reply(&[0xC000_0000]),
            Col::BadLen => match row {
                Row::Query(key, _) => {
                    let len = u32::from(key.expected_len().unwrap()) + 1;
                    reply(&[0xF000_0000 | len, 0x1000, 0, 0])
                }
                _ => reply(&[0xF000_0001]),
            },
            Col::VfMigrated => Fault::Failure {
                error: GucError::VfMigrated,
                hint: 0,
            },
            Col::MigratePrompt | Col::MigrateLate => return None,
        })
    }

    fn migrates(self) -> bool {
        matches!(self, Col::MigratePrompt | Col::MigrateLate)
    }
}

/// What a cell ends in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// Every pass recovered (no deferral, no re-queue).
    Recover,
    /// A pass deferred (another recovery imminent) and a later one recovered.
    Defer,
    /// The GuC answered VF_MIGRATED and the GTs were re-queued, then recovered.
    Requeue,
    /// The pass failed at this step and the device is wedged.
    Wedge(Step),
    /// Anything else (stuck, wrong state, failed checks).
    Broken,
    Panic,
}

impl Outcome {
    fn short(self) -> &'static str {
        match self {
            Outcome::Recover => "recover",
            Outcome::Defer => "defer",
            Outcome::Requeue => "requeue",
            Outcome::Wedge(_) => "wedge",
            Outcome::Broken => "BROKEN",
            Outcome::Panic => "PANIC",
        }
    }
}

fn expected(row: Row, col: Col) -> Outcome {
    let wedge = Outcome::Wedge(row.step());
    match col {
        _ if col.migrates() => match row {
            Row::Start => Outcome::Recover,
            Row::Query(..) | Row::Done => Outcome::Requeue,
        },
        // The kernel logs any failure of the GMD_ID query and carries on with 0.
        _ if row == Row::Query(KlvKey::GmdId, 5) => Outcome::Recover,
        Col::Timeout
        | Col::BusySilence
        | Col::RetryPastLimit
        | Col::BadOrigin
        | Col::BadType
        | Col::BadLen
        | Col::Failure => wedge,
        Col::BusyReply | Col::RetryWithinLimit | Col::Flr => Outcome::Recover,
        Col::VfMigrated => Outcome::Requeue,
        Col::MigratePrompt | Col::MigrateLate => unreachable!(),
    }
}

/// Whether the wedge error is the one the fault must produce.
fn error_matches(col: Col, row: Row, error: &VfError) -> bool {
    use MailboxError as M;
    match (col, error) {
        (Col::Timeout, VfError::Mailbox(M::Timeout { .. })) => true,
        (Col::BadOrigin, VfError::Mailbox(M::Timeout { last })) => *last == 0x7000_0000,
        (Col::BusySilence, VfError::Mailbox(M::BusyTimeout)) => true,
        (Col::RetryPastLimit, VfError::Mailbox(M::RetryLimit { retries })) => {
            *retries == MAX_RETRIES
        }
        (Col::Failure, VfError::Mailbox(M::Remote { error, .. })) => {
            *error == GucError::GenericFail
        }
        (Col::BadType, VfError::Mailbox(M::Protocol { header, .. })) => *header == 0xC000_0000,
        (Col::BadLen, VfError::KlvOverflow { key, .. }) => {
            matches!(row, Row::Query(k, _) if k == *key)
        }
        (Col::BadLen, VfError::BadReply { .. }) => matches!(row, Row::Start | Row::Done),
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// The VF under test

/// Something to do at a trap (a migration, an interrupt delivery...).
type Action = Box<dyn FnOnce() + Send>;

/// Where an action fires during a pass: at a hold point of one GT, or at GT 0's doorbell of a
/// given request (action code, and the query key for QUERY_SINGLE_KLV), before the GuC sees it.
#[derive(Default)]
struct Trap {
    hold: Mutex<Option<(HoldPoint, GtId, Action)>>,
    doorbell: Mutex<Option<(u16, Option<u16>, Action)>>,
    fired: AtomicUsize,
}

impl Trap {
    fn at_hold(&self, point: HoldPoint, gt: GtId, action: Action) {
        *self.hold.lock().unwrap() = Some((point, gt, action));
    }

    fn at_doorbell(&self, action_code: u16, key: Option<u16>, action: Action) {
        *self.doorbell.lock().unwrap() = Some((action_code, key, action));
    }

    fn on_hold(&self, point: HoldPoint, gt: GtId) {
        let action = {
            let mut h = self.hold.lock().unwrap();
            match h.take() {
                Some((p, g, action)) if p == point && g == gt => Some(action),
                other => {
                    *h = other;
                    None
                }
            }
        };
        if let Some(action) = action {
            self.fired.fetch_add(1, Ordering::SeqCst);
            action();
        }
    }

    fn on_doorbell(&self, scratch: [u32; 4]) {
        let action = {
            let mut d = self.doorbell.lock().unwrap();
            match d.take() {
                Some((code, key, action))
                    if scratch[0] & 0xFFFF == u32::from(code)
                        && key.is_none_or(|k| scratch[1] == u32::from(k)) =>
                {
                    Some(action)
                }
                other => {
                    *d = other;
                    None
                }
            }
        };
        if let Some(action) = action {
            self.fired.fetch_add(1, Ordering::SeqCst);
            action();
        }
    }
}

type TestVf = RigVf<2>;

struct Bench {
    vf: &'static TestVf,
    gucs: [&'static MockGuc; 2],
    trap: &'static Trap,
}

fn deliver(vf: &TestVf, gucs: &[&MockGuc; 2]) {
    for (i, g) in gucs.iter().enumerate() {
        let intr = g.take_interrupts();
        if !intr.is_empty() {
            let _ = vf.handle_guc_interrupt(GtId(i as u8), intr);
        }
    }
}

/// Bootstraps a 2-GT VF on fresh mocks, with the migration trap wired up; `split`: split phase,
/// the mocks on one clock, answering one poll after each doorbell.
fn bench(policy: StartPolicy, split: bool) -> Bench {
    let trap: &'static Trap = Box::leak(Box::default());
    let mut rig = RigBuilder::new(TILE_PAIR)
        .relax_step(Duration::from_nanos(RELAX_NS))
        .mailbox(mailbox_config())
        .policy(policy)
        .split_phase(split)
        .device(move |i, gucs| {
            if i != 0 {
                return common::leak_dyn(gucs[i]);
            }
            // GT 0's device: the mock, plus the doorbell trap.
            common::leak_dyn(HookedDevice::new(gucs[0]).on_write(|guc, reg, value| {
                if reg == guc.kind().mailbox().doorbell {
                    trap.on_doorbell(guc.scratch());
                }
                guc.write32(reg, value)
            }))
        });
    if split {
        rig = rig
            .shared_clock()
            .latency(Latency::fixed(Duration::from_nanos(RELAX_NS)));
    }
    let Rig { vf, gucs, .. } = rig.mmio();
    vf.hooks().on_hold(move |point, gt| trap.on_hold(point, gt));
    Bench { vf, gucs, trap }
}

impl Bench {
    /// An action migrating both GTs to `base`, delivering their interrupts at once if `prompt`
    /// (else the next `drain` delivers them, after the pass).
    fn migration(&self, base: u64, prompt: bool) -> Action {
        let (vf, gucs) = (self.vf, self.gucs);
        Box::new(move || {
            for g in gucs {
                g.migrate(base);
            }
            if prompt {
                deliver(vf, &gucs);
            }
        })
    }
}

/// Runs passes while work is queued, delivering interrupts before each (as an interrupt
/// controller would between two passes). Bounded.
fn drain(vf: &TestVf, gucs: &[&MockGuc; 2]) -> Vec<PassOutcome> {
    let mut outcomes = Vec::new();
    for _ in 0..32 {
        deliver(vf, gucs);
        if !vf.queue().take() {
            break;
        }
        outcomes.push(vf.run_worker());
    }
    outcomes
}

// ---------------------------------------------------------------------------------------------
// One cell

struct CellResult {
    outcome: Outcome,
    detail: String,
    problems: Vec<String>,
}

fn run_cell(row: Row, col: Col, split: bool) -> CellResult {
    let b = bench(StartPolicy::AnyGt, split);
    let Bench { vf, gucs, trap } = b;
    let g0 = gucs[0];

    // Aim the fault: no-op faults for the queries before the target one.
    if let Some(fault) = col.fault(row) {
        let trigger = Trigger::Action(row.action());
        if let Row::Query(_, index) = row {
            for _ in 0..index {
                g0.inject(trigger, Fault::Busy { count: 0 }).unwrap();
            }
        }
        g0.inject(trigger, fault).unwrap();
    }
    // Or arm the second migration.
    let key = match row {
        Row::Query(key, _) => Some(key.raw()),
        _ => None,
    };
    match (col, row) {
        (Col::MigratePrompt, Row::Start) => {
            trap.at_hold(HoldPoint::BeforeStart, GtId(0), b.migration(MOVED2, true))
        }
        (Col::MigratePrompt, Row::Done) => {
            trap.at_hold(HoldPoint::BeforeDone, GtId(0), b.migration(MOVED2, true))
        }
        (Col::MigratePrompt, Row::Query(..)) => {
            trap.at_doorbell(row.action(), key, b.migration(MOVED2, true))
        }
        (Col::MigrateLate, _) => trap.at_doorbell(row.action(), key, b.migration(MOVED2, false)),
        _ => {}
    }

    // The first migration, its interrupts delivered, then the passes.
    for g in gucs {
        g.migrate(MOVED);
    }
    let outcomes = drain(vf, &gucs);

    let h = vf.hooks();
    let mut problems = Vec::new();
    let (gets, puts) = (
        h.pm_gets.load(Ordering::SeqCst),
        h.pm_puts.load(Ordering::SeqCst),
    );
    if gets != puts {
        problems.push(format!("runtime PM unbalanced: {gets} get, {puts} put"));
    }
    if col.migrates() && trap.fired.load(Ordering::SeqCst) != 1 {
        problems.push("the second migration did not land".into());
    }
    let failed = outcomes.iter().find_map(|o| match o {
        PassOutcome::Failed(e) => Some(*e),
        _ => None,
    });
    let states = [gucs[0].state(), gucs[1].state()];
    let outcome = if let Some(error) = failed {
        match error {
            RecoveryError::Gt {
                gt: GtId(0),
                step,
                error: e,
            } => {
                if !error_matches(col, row, &e) {
                    problems.push(format!("unexpected error for this fault: {e:?}"));
                }
                if !vf.is_wedged() {
                    problems.push("not wedged".into());
                }
                let (w, a) = (
                    h.wedged.load(Ordering::SeqCst),
                    h.aborts.load(Ordering::SeqCst),
                );
                if (w, a) != (1, 1) {
                    problems.push(format!("wedged hook x{w}, abort hook x{a} (want 1 each)"));
                }
                if !matches!(outcomes.last(), Some(PassOutcome::Failed(_))) {
                    problems.push("a pass ran after the failure".into());
                }
                let applied = vf.tile_ggtt(TileId(0)).unwrap().applied;
                if let Err(e) = h.oracle.check(TileId(0), applied) {
                    problems.push(format!("GGTT oracle: {e}"));
                }
                Outcome::Wedge(step)
            }
            other => {
                problems.push(format!("failure not on GT 0's mailbox: {other:?}"));
                Outcome::Broken
            }
        }
    } else {
        let base = if col.migrates() { MOVED2 } else { MOVED };
        if states != [VfState::Running; 2] {
            problems.push(format!("states {states:?}"));
        }
        if vf.is_wedged() || h.wedged.load(Ordering::SeqCst) != 0 {
            problems.push("wedged".into());
        }
        if h.aborts.load(Ordering::SeqCst) != 0 {
            problems.push("abort hook called".into());
        }
        for i in 0..2u8 {
            if !vf.ggtt_valid(GtId(i)) {
                problems.push(format!("gt{i} GGTT not valid"));
            }
            if vf.recovery_pending(GtId(i)) {
                problems.push(format!("gt{i} recovery still pending"));
            }
        }
        if let Err(e) = h.oracle.check(TileId(0), base) {
            problems.push(format!("GGTT oracle: {e}"));
        }
        if !matches!(outcomes.last(), Some(PassOutcome::Recovered(_))) {
            problems.push("the last pass did not recover".into());
        }
        let requeued = vf.stats().requeued > 0;
        let deferred = vf.stats().deferred > 0;
        if !problems.is_empty() {
            Outcome::Broken
        } else if requeued {
            Outcome::Requeue
        } else if deferred {
            Outcome::Defer
        } else {
            Outcome::Recover
        }
    };
    let passes: Vec<String> = outcomes.iter().map(short_pass).collect();
    let detail = match failed {
        Some(e) => format!("{e} [{}]", passes.join(", ")),
        None => format!("[{}] -> {:?}", passes.join(", "), states),
    };
    CellResult {
        outcome,
        detail,
        problems,
    }
}

fn gts(set: GtSet) -> String {
    let v: Vec<String> = set.iter().map(|g| g.0.to_string()).collect();
    format!("{{{}}}", v.join(","))
}

fn short_pass(o: &PassOutcome) -> String {
    match o {
        PassOutcome::Recovered(s) => format!("Recovered{}", gts(*s)),
        PassOutcome::Incomplete(r) => format!(
            "Incomplete(ok{} requeued{} deferred{} postponed{})",
            gts(r.recovered),
            gts(r.requeued),
            gts(r.deferred),
            gts(r.postponed)
        ),
        PassOutcome::Failed(_) => "Failed".into(),
        other => format!("{other:?}"),
    }
}

#[test]
fn fault_matrix() {
    matrix(false);
}

#[test]
fn fault_matrix_split_phase() {
    matrix(true);
}

/// Every cell, one after the other or in split phase; asserts each is the documented outcome.
fn matrix(split: bool) {
    let rows = rows();
    let mut grid: Vec<Vec<(Outcome, bool)>> = Vec::new();
    let mut lines = Vec::new();
    let mut bad = Vec::new();
    for &row in &rows {
        let mut cells = Vec::new();
        for col in COLS {
            let want = expected(row, col);
            let result = catch_unwind(AssertUnwindSafe(|| run_cell(row, col, split)))
                .unwrap_or_else(|panic| {
                    let msg = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    CellResult {
                        outcome: Outcome::Panic,
                        detail: msg,
                        problems: vec!["panicked".into()],
                    }
                });
            let ok = result.outcome == want && result.problems.is_empty();
            let cell = format!("{} x {}", row.name(), col.name());
            lines.push(format!(
                "{}{cell:<44} -> {:<8} {}",
                if ok { "  " } else { "! " },
                result.outcome.short(),
                result.detail
            ));
            if !ok {
                bad.push(format!(
                    "{cell}: want {want:?}, got {:?}; {}",
                    result.outcome,
                    result.problems.join("; ")
                ));
            }
            cells.push((result.outcome, ok));
        }
        grid.push(cells);
    }

    println!(
        "fault matrix: 2 GTs (primary + media), VF ABI 1.27, fault on gt0 during the recovery \
         of one migration; max_retries {MAX_RETRIES}; split phase: {split}"
    );
    let mut header = format!("{:<38}", "step \\ fault");
    for col in COLS {
        header.push_str(&format!(" {:<12}", col.name()));
    }
    println!("{header}");
    for (row, cells) in rows.iter().zip(&grid) {
        let mut line = format!("{:<38}", row.name());
        for (outcome, ok) in cells {
            let s = format!("{}{}", outcome.short(), if *ok { "" } else { "!" });
            line.push_str(&format!(" {s:<12}"));
        }
        println!("{line}");
    }
    println!();
    for l in &lines {
        println!("{l}");
    }
    assert!(
        bad.is_empty(),
        "{} cells differ from the documented outcome:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// `StartPolicy::AllGts` liveness. Passes are device-wide (every GT, as the seed's worker), and a
// pass that defers or re-queues GTs owes them a pass that does not wait for every GT to report
// again (interrupts coalesce, so that report may never come). Each scenario below once left a GT
// `VF_RESFIX_BLOCKED` with nothing queued; each ends with the oracle checked.

/// Delivers GT `i`'s pending interrupt, if any.
fn deliver_one(vf: &TestVf, gucs: &[&MockGuc; 2], i: usize) {
    let intr = gucs[i].take_interrupts();
    if !intr.is_empty() {
        let _ = vf.handle_guc_interrupt(GtId(i as u8), intr);
    }
}

/// Runs passes while work is queued, delivering no interrupt.
fn run_queued(vf: &TestVf) -> Vec<PassOutcome> {
    let mut passes = Vec::new();
    while vf.queue().take() && passes.len() < 32 {
        passes.push(vf.run_worker());
    }
    passes
}

/// Both GTs running, both on `base`, the oracle's GGTT users at `base`, moved once per change.
fn assert_settled_on(b: &Bench, base: u64, what: &str) {
    let (vf, gucs) = (b.vf, b.gucs);
    assert_eq!(
        [gucs[0].state(), gucs[1].state()],
        [VfState::Running; 2],
        "{what}: {:?}",
        vf.coordinator()
    );
    for g in 0..2u8 {
        assert_eq!(
            vf.gt_view(GtId(g))
                .and_then(|v| v.config)
                .map(|c| c.ggtt_start),
            Some(base),
            "{what}: GT {g}"
        );
    }
    let oracle = &vf.hooks().oracle;
    assert_eq!(oracle.check(TileId(0), base), Ok(()), "{what}");
    assert_eq!(
        oracle.total_shift(TileId(0)),
        (base - BASE) as i64,
        "{what}"
    );
    assert_eq!(vf.tile_ggtt(TileId(0)).unwrap().applied, base, "{what}");
}

/// Migration 1 is recovered by pass 1; migration 2 lands at its BeforeFixups and only GT 0's
/// interrupt arrives during the pass. GT 1's interrupt for migration 2 arrives only after the
/// passes: a late interrupt, for a migration the device-wide pass already covered.
fn all_gts_late_interrupt() -> Bench {
    let b = bench(StartPolicy::AllGts, false);
    let (vf, gucs) = (b.vf, b.gucs);
    b.trap.at_hold(
        HoldPoint::BeforeFixups,
        GtId(0),
        Box::new(move || {
            for g in gucs {
                g.migrate(MOVED2);
            }
            deliver_one(vf, &gucs, 0);
        }),
    );
    for g in gucs {
        g.migrate(MOVED);
    }
    deliver(vf, &gucs);
    assert!(!run_queued(vf).is_empty());
    deliver_one(vf, &gucs, 1);
    b
}

/// The late interrupt cannot be told from the first report of a new migration: under AllGts
/// GT 1 waits for GT 0's report, and until then its GGTT is conservatively "not valid". Both
/// GTs run on the final base meanwhile; `awaiting_reports` shows the wait and `start_now` ends
/// it with one more device-wide pass that moves nothing.
#[test]
fn all_gts_late_interrupt_waits_visibly_and_start_now_ends_it() {
    let b = all_gts_late_interrupt();
    let vf = b.vf;
    assert!(run_queued(vf).is_empty());
    assert_settled_on(&b, MOVED2, "after the late interrupt");
    assert!(vf.ggtt_valid(GtId(0)) && !vf.ggtt_valid(GtId(1)));
    assert_eq!(vf.coordinator().pending_gts(), GtSet::single(GtId(1)));
    assert_eq!(vf.awaiting_reports(), GtSet::single(GtId(0)));
    let moves = vf.hooks().oracle.moves(TileId(0));
    assert!(vf.start_now());
    let passes = run_queued(vf);
    assert_eq!(passes, [PassOutcome::Recovered(GtSet::all(2))]);
    assert!(vf.ggtt_valid(GtId(0)) && vf.ggtt_valid(GtId(1)));
    assert!(vf.coordinator().pending_gts().is_empty() && vf.awaiting_reports().is_empty());
    assert_settled_on(&b, MOVED2, "after start_now");
    assert_eq!(vf.hooks().oracle.moves(TileId(0)), moves, "nothing moved");
}

/// The next migration's first interrupt completes the set the late interrupt began; the other
/// GT's interrupt then arrives while that pass runs, at GT 1's BeforeDone: its report is counted
/// for the next device-wide pass, which recovers both GTs again.
#[test]
fn all_gts_next_migration_after_a_late_interrupt_recovers_every_gt() {
    let b = all_gts_late_interrupt();
    let (vf, gucs) = (b.vf, b.gucs);
    const MOVED3: u64 = MOVED2 + 0x0100_0000;
    for g in gucs {
        g.migrate(MOVED3);
    }
    b.trap.at_hold(
        HoldPoint::BeforeDone,
        GtId(1),
        Box::new(move || deliver_one(vf, &gucs, 1)),
    );
    deliver_one(vf, &gucs, 0);
    let first = run_queued(vf);
    let more = drain(vf, &gucs);
    assert_settled_on(&b, MOVED3, &format!("passes {first:?} then {more:?}"));
    assert!(vf.awaiting_reports().is_empty() || vf.start_now());
    run_queued(vf);
    assert!(vf.ggtt_valid(GtId(0)) && vf.ggtt_valid(GtId(1)));
}

/// A VF_MIGRATED reply to one GT's RESFIX_START, with no fresh interrupt: the re-queue runs
/// without waiting for every GT to report again. (Under AnyGt, and in the kernel's per-GT
/// worker, the re-queue always runs.)
#[test]
fn all_gts_vf_migrated_requeue_of_one_gt_runs_without_waiting() {
    let b = bench(StartPolicy::AllGts, false);
    let (vf, gucs) = (b.vf, b.gucs);
    gucs[0]
        .inject(
            Trigger::Action(code::RESFIX_START),
            Fault::Failure {
                error: GucError::VfMigrated,
                hint: 0,
            },
        )
        .unwrap();
    for g in gucs {
        g.migrate(MOVED);
    }
    let outcomes = drain(vf, &gucs);
    assert_settled_on(&b, MOVED, &format!("passes {outcomes:?}"));
}

/// The hardening issue's order: pass 1 recovers GT 0; a second VM migration lands at GT 1's
/// BeforeDone, so GT 1's RESFIX_DONE is answered VF_MIGRATED and GT 1 is re-queued. The second
/// migration's interrupts arrive GT 1 first (absorbed by its re-queued recovery), GT 0 only
/// after the owed pass. On main 2040d49 the owed pass recovered GT 1 alone and GT 0's late
/// report then waited for a GT 1 report that never came: GT 0 `VF_RESFIX_BLOCKED` for good.
#[test]
fn all_gts_vf_migrated_requeue_then_gt1_before_gt0() {
    let b = bench(StartPolicy::AllGts, false);
    let (vf, gucs) = (b.vf, b.gucs);
    b.trap.at_hold(
        HoldPoint::BeforeDone,
        GtId(1),
        Box::new(move || {
            for g in gucs {
                g.migrate(MOVED2);
            }
        }),
    );
    for g in gucs {
        g.migrate(MOVED);
    }
    deliver(vf, &gucs);
    let pass1 = vf.queue().take().then(|| vf.run_worker());
    let Some(PassOutcome::Incomplete(report)) = pass1 else {
        panic!("pass 1: {pass1:?}");
    };
    assert_eq!(report.requeued, GtSet::single(GtId(1)));
    deliver_one(vf, &gucs, 1);
    let owed = run_queued(vf);
    assert!(!owed.is_empty(), "the re-queue owes a pass");
    deliver_one(vf, &gucs, 0);
    let late = run_queued(vf);
    assert_settled_on(&b, MOVED2, &format!("owed {owed:?}, late {late:?}"));
    if !vf.awaiting_reports().is_empty() {
        assert!(vf.start_now());
        run_queued(vf);
    }
    assert!(vf.ggtt_valid(GtId(0)) && vf.ggtt_valid(GtId(1)));
    assert_settled_on(&b, MOVED2, "at the end");
}

/// AllGts with one GT's interrupt lost: the VF waits visibly (`awaiting_reports` names the GT
/// whose report is missing, both GuCs stay blocked), and `start_now` ends it: the device-wide
/// pass recovers the GT whose interrupt never came too.
#[test]
fn all_gts_lost_interrupt_is_visible_and_start_now_recovers_every_gt() {
    let b = bench(StartPolicy::AllGts, false);
    let (vf, gucs) = (b.vf, b.gucs);
    for g in gucs {
        g.migrate(MOVED);
    }
    deliver_one(vf, &gucs, 0);
    let _lost = gucs[1].take_interrupts();
    assert!(
        run_queued(vf).is_empty(),
        "nothing may start before every GT reported"
    );
    assert_eq!(vf.awaiting_reports(), GtSet::single(GtId(1)));
    assert_eq!(
        [gucs[0].state(), gucs[1].state()],
        [VfState::ResfixBlocked; 2]
    );
    assert!(vf.recovery_pending(GtId(0)) && !vf.ggtt_valid(GtId(0)));
    assert!(vf.start_now());
    assert_eq!(run_queued(vf), [PassOutcome::Recovered(GtSet::all(2))]);
    assert_settled_on(&b, MOVED, "after start_now");
    assert!(vf.awaiting_reports().is_empty() && vf.ggtt_valid(GtId(1)));
}
