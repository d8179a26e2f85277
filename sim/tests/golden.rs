//! Golden transcripts: every scenario of `tests/golden/scenarios.txt` runs the simulator and its
//! output (stdout with `--trace`, stderr, exit code; wall-clock figures masked) must equal
//! `tests/golden/NAME.txt` byte for byte. A run is a function of its options, so any difference
//! is a change of what the crate (or the simulator) does.
//!
//! Re-record after a deliberate change (never in CI), then review `git diff tests/golden`:
//!
//! ```text
//! XE_SRIOV_VF_SIM_RECORD=1 cargo test -p xe-sriov-vf-sim --test golden
//! ```

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The variable that makes the test write the golden files instead of comparing.
const RECORD: &str = "XE_SRIOV_VF_SIM_RECORD";

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/golden")
}

/// The scenarios: `(name, arguments)` from `scenarios.txt` (`NAME: ARGS`; `#` comments).
fn scenarios() -> Vec<(String, Vec<String>)> {
    let list = std::fs::read_to_string(golden_dir().join("scenarios.txt"))
        .expect("tests/golden/scenarios.txt is readable");
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for (n, line) in list.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, args) = line
            .split_once(':')
            .unwrap_or_else(|| panic!("scenarios.txt line {}: not `NAME: ARGS`", n + 1));
        let name = name.trim().to_string();
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "scenarios.txt line {}: bad name '{name}'",
            n + 1
        );
        assert!(
            out.iter().all(|(other, _)| *other != name),
            "scenarios.txt: '{name}' twice"
        );
        out.push((name, args.split_whitespace().map(String::from).collect()));
    }
    out
}

/// Replaces every wall-clock figure, `<digits> us (wall)`, with `# us (wall)`.
fn mask_wall(text: &str) -> String {
    const WALL: &str = " us (wall)";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(WALL) {
        let head = &rest[..at];
        let digits = head.len() - head.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        out.push_str(&head[..head.len() - digits]);
        out.push_str(if digits > 0 { "#" } else { "" });
        out.push_str(WALL);
        rest = &rest[at + WALL.len()..];
    }
    out.push_str(rest);
    out
}

/// What the golden file of a run holds.
fn transcript(args: &[String]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_xe-sriov-vf-sim"))
        .args(args)
        .output()
        .expect("the simulator runs");
    let mut text = mask_wall(&String::from_utf8_lossy(&out.stdout));
    let stderr = mask_wall(&String::from_utf8_lossy(&out.stderr));
    if !stderr.is_empty() {
        text.push_str("== stderr\n");
        text.push_str(&stderr);
    }
    let code = out
        .status
        .code()
        .map_or("killed by a signal".to_string(), |c| c.to_string());
    let _ = writeln!(text, "== exit code {code}");
    text
}

/// Where `expected` and `actual` first differ, with a few lines of context.
fn first_difference(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    let at = (0..e.len().max(a.len()))
        .find(|&i| e.get(i) != a.get(i))
        .unwrap_or(e.len());
    let mut s = format!(
        "first difference at line {} (expected {} lines, got {}):\n",
        at + 1,
        e.len(),
        a.len()
    );
    for line in &e[at.saturating_sub(3)..at.min(e.len())] {
        let _ = writeln!(s, "    {line}");
    }
    for line in e.iter().skip(at).take(4) {
        let _ = writeln!(s, "  - {line}");
    }
    for line in a.iter().skip(at).take(4) {
        let _ = writeln!(s, "  + {line}");
    }
    s
}

#[test]
fn golden_transcripts() {
    let record = std::env::var_os(RECORD).is_some_and(|v| !v.is_empty());
    let scenarios = scenarios();
    assert!(scenarios.len() >= 30, "about 30 scenarios");
    let mut failures = Vec::new();
    for (name, args) in &scenarios {
        let path = golden_dir().join(format!("{name}.txt"));
        let actual = transcript(args);
        if record {
            std::fs::write(&path, &actual).expect("the golden file is writable");
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => failures.push(format!(
                "{name} (xe-sriov-vf-sim {}): differs from tests/golden/{name}.txt\n{}",
                args.join(" "),
                first_difference(&expected, &actual)
            )),
            Err(e) => failures.push(format!("{name}: tests/golden/{name}.txt: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} golden transcripts differ (a deliberate change: re-record with \
         {RECORD}=1 cargo test -p xe-sriov-vf-sim --test golden, and review the diff):\n\n{}",
        failures.len(),
        scenarios.len(),
        failures.join("\n")
    );
}

/// Two runs of one scenario print the same (after masking): the premise of the golden files.
#[test]
fn a_run_is_a_function_of_its_options() {
    let args: Vec<String> = "--trace --gts 3 --migrations 3 --guc-latency-us 20 --seed 9"
        .split_whitespace()
        .map(String::from)
        .collect();
    let first = transcript(&args);
    assert!(first.contains("us (virtual)"), "{first}");
    assert!(
        first.contains("# us (wall)"),
        "the wall figures are masked: {first}"
    );
    assert_eq!(first, transcript(&args));
}

#[test]
fn masking_replaces_only_wall_figures() {
    assert_eq!(
        mask_wall("settled in 40 us (virtual), 1234 us (wall): x\n7 us (wall)"),
        "settled in 40 us (virtual), # us (wall): x\n# us (wall)"
    );
    assert_eq!(mask_wall("no figure us (wall)"), "no figure us (wall)");
}
