//! What the crate logs through the `log` facade (feature `log`): each line at its level, and only
//! when its condition holds. An embedder reads a warning as "something went wrong", so a clean
//! migration must log none, and a misuse or a wedge must say so once.
//!
//! Run: `cargo test --features mock,std,log --test logging` (`.ci/run` does; without the `log`
//! feature this file is empty). Records are captured per thread, so the tests run in parallel.
#![cfg(all(feature = "mock", feature = "std", feature = "log"))]

mod common;

use std::cell::RefCell;
use std::sync::Once;

use log::{Level, LevelFilter, Log, Metadata, Record};

use common::{RigBuilder, BASE, TILE_PAIR};
use xe_sriov_vf::coordinator::{Coordinator, GtId, GtSet, Signal, StartPolicy};
use xe_sriov_vf::recovery::PassOutcome;
use xe_sriov_vf::tile::TileId;
use xe_sriov_vf::workqueue::Polled;

/// The crate's records (the mock's left out: it is a test double), on the capturing thread.
struct Capture;

thread_local! {
    static LINES: RefCell<Option<Vec<(Level, String)>>> = const { RefCell::new(None) };
}

impl Log for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &Record<'_>) {
        let target = record.target();
        if !target.starts_with("xe_sriov_vf") || target.starts_with("xe_sriov_vf::mock") {
            return;
        }
        LINES.with(|lines| {
            if let Some(lines) = lines.borrow_mut().as_mut() {
                lines.push((record.level(), record.args().to_string()));
            }
        });
    }

    fn flush(&self) {}
}

/// Runs `f` and returns the crate's log lines it caused on this thread, in order.
fn capture(f: impl FnOnce()) -> Vec<(Level, String)> {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        log::set_logger(&Capture).expect("no other logger in this test binary");
        log::set_max_level(LevelFilter::Trace);
    });
    LINES.with(|lines| *lines.borrow_mut() = Some(Vec::new()));
    f();
    LINES.with(|lines| lines.borrow_mut().take().unwrap_or_default())
}

/// The lines of `lines` at `level`.
fn at(lines: &[(Level, String)], level: Level) -> Vec<&str> {
    lines
        .iter()
        .filter(|(l, _)| *l == level)
        .map(|(_, text)| text.as_str())
        .collect()
}

/// `finish` without a pass is a caller's bug: one warning per such call, and none for a pass
/// that began. (Kills the mutants of `finish`'s `prev & RUNNING == 0`.)
#[test]
fn finish_without_a_running_pass_warns() {
    let c = Coordinator::new(2, StartPolicy::AnyGt).unwrap();
    let lines = capture(|| c.finish(&Polled));
    assert_eq!(
        at(&lines, Level::Warn),
        ["migration coordinator: finish() without a running pass"],
        "{lines:?}"
    );

    assert_eq!(c.signal(GtId(0), &Polled), Signal::Queued);
    let lines = capture(|| {
        let gts = c.begin().expect("the queued pass begins");
        c.started_gts(gts);
        c.finish(&Polled);
    });
    assert_eq!(at(&lines, Level::Warn), [] as [&str; 0], "{lines:?}");
    assert!(!c.is_running());
}

/// The first teardown says so (with the state word it found), a second one is silent. (Kills
/// the mutants of `teardown`'s `prev & TEARDOWN == 0`.)
#[test]
fn teardown_logs_the_first_call_only() {
    let c = Coordinator::new(2, StartPolicy::AnyGt).unwrap();
    let lines = capture(|| {
        c.teardown();
        c.teardown();
    });
    assert_eq!(
        lines,
        [(
            Level::Debug,
            "migration coordinator torn down (state 0x0)".to_owned()
        )]
    );
    assert!(c.is_torn_down());
}

/// A wedge is a warning, once: the first caller's.
#[test]
fn wedge_warns_once() {
    let c = Coordinator::new(2, StartPolicy::AnyGt).unwrap();
    let lines = capture(|| {
        assert!(c.wedge());
        assert!(!c.wedge());
    });
    assert_eq!(
        at(&lines, Level::Warn),
        ["migration coordinator: device wedged"],
        "{lines:?}"
    );
}

/// A clean migration of a tile's two GTs: no warning and no error, and the pass is reported at
/// `info` (what an embedder's default filter shows). The VF's view is checked too: the GGTT
/// moved once, to where the GuC put it.
#[test]
fn a_clean_migration_logs_no_warning() {
    let rig = RigBuilder::new(TILE_PAIR).mmio();
    let to = BASE + 0x10_0000;
    let lines = capture(|| {
        rig.migrate(to);
        assert_eq!(rig.drain(), [PassOutcome::Recovered(GtSet::all(2))]);
    });
    assert_eq!(rig.guc_base(TileId(0)), to);
    assert_eq!(rig.hooks().oracle.check(TileId(0), to), Ok(()));
    assert_eq!(rig.hooks().oracle.moves(TileId(0)), 1);
    assert!(!rig.vf.recovery_pending(GtId(0)) && !rig.vf.recovery_pending(GtId(1)));
    assert_eq!(at(&lines, Level::Warn), [] as [&str; 0], "{lines:?}");
    assert_eq!(at(&lines, Level::Error), [] as [&str; 0], "{lines:?}");
    assert!(!at(&lines, Level::Info).is_empty(), "{lines:?}");
}
