//! `--svg`: the picture parses as XML, has a lane per GT and a box per mailbox round trip, and
//! both agree with the `--trace` lines of the same run (read here on their own, from the
//! documented line formats). And the picture in doc/ is what the documented command prints.

use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_xe-sriov-vf-sim");

/// The command that draws doc/simulator-timeline.svg, as doc/README.md shows it.
const DOC_ARGS: &str = "--gts 3 --guc-latency-us 20 --migrate-during-recovery";
const DOC_COMMAND: &str = "cargo run -p xe-sriov-vf-sim -- --gts 3 --guc-latency-us 20 \
                           --migrate-during-recovery --svg doc/simulator-timeline.svg";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A file name of its own for each run (tests run in parallel).
fn temp_svg(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("xe-sriov-vf-sim-{}-{name}.svg", std::process::id()))
}

/// Runs the simulator with `args` and `--svg`; returns (stdout, the SVG).
fn run(name: &str, args: &str) -> (String, String) {
    let path = temp_svg(name);
    let out = Command::new(BIN)
        .args(args.split_whitespace())
        .arg("--svg")
        .arg(&path)
        .output()
        .expect("the simulator runs");
    let svg = std::fs::read_to_string(&path).expect("the SVG was written");
    let _ = std::fs::remove_file(&path);
    (String::from_utf8(out.stdout).expect("UTF-8 stdout"), svg)
}

/// A round trip as the trace tells it.
#[derive(Debug, PartialEq, Eq)]
struct Trip {
    action: u16,
    busy: u32,
    outcome: &'static str,
}

/// What the trace says after the first migration: per GT its round trips and the number of
/// SW_INT_0 deliveries; and each GT's (tile, kind) from the `[host] VM with` line.
struct FromTrace {
    trips: Vec<Vec<Trip>>,
    irqs: Vec<usize>,
    layout: Vec<String>,
    blackout_us: Option<u64>,
}

fn hex(word: &str) -> u32 {
    u32::from_str_radix(word.trim_start_matches("0x"), 16).expect("a hex dword")
}

fn from_trace(stdout: &str) -> FromTrace {
    let vm = stdout
        .lines()
        .find(|l| l.starts_with("[host] VM with "))
        .expect("the VM line");
    // "... (gt0 tile0 primary, gt1 tile0 media), ..."
    let inner = &vm[vm.find('(').expect("(") + 1..vm.find(')').expect(")")];
    let layout: Vec<String> = inner
        .split(", ")
        .map(|g| g.split_once(' ').expect("gtN tileT kind").1.to_string())
        .collect();
    let gts = layout.len();
    let mut trips: Vec<Vec<Trip>> = (0..gts).map(|_| Vec::new()).collect();
    let mut open: Vec<Option<Trip>> = (0..gts).map(|_| None).collect();
    let mut irqs = vec![0; gts];
    let mut migrated = false;
    for line in stdout.lines() {
        if line.starts_with("[host] migration ") {
            migrated = true;
        }
        if !migrated || !line.starts_with("gt") {
            continue;
        }
        let (gt, rest) = line[2..].split_once(' ').expect("gt<N> ...");
        let gt: usize = gt.parse().expect("a GT number");
        if rest == "irq SW_INT_0" {
            irqs[gt] += 1;
        } else if let Some(words) = rest.strip_prefix("> ") {
            if let Some(lost) = open[gt].take() {
                trips[gt].push(Trip {
                    outcome: "lost",
                    ..lost
                });
            }
            let header = hex(words.split(' ').next().expect("a header"));
            open[gt] = Some(Trip {
                action: (header & 0xFFFF) as u16,
                busy: 0,
                outcome: "",
            });
        } else if let Some(words) = rest.strip_prefix("< ") {
            let header = hex(words.split(' ').next().expect("a header"));
            let Some(trip) = open[gt].as_mut() else {
                continue;
            };
            // Origin GuC (bit 31) and the HXG type (bits 30:28): 3 BUSY, 5 RETRY, 6 FAILURE,
            // 7 SUCCESS; anything else is malformed.
            let outcome = match header >> 28 {
                0xb => {
                    trip.busy += 1;
                    continue;
                }
                0xd => "retry",
                0xe => "failure",
                0xf => "ok",
                _ => "malformed",
            };
            let mut trip = open[gt].take().expect("open");
            trip.outcome = outcome;
            trips[gt].push(trip);
        }
    }
    for (gt, o) in open.into_iter().enumerate() {
        if let Some(lost) = o {
            trips[gt].push(Trip {
                outcome: "lost",
                ..lost
            });
        }
    }
    let summary = stdout.lines().last().expect("a summary");
    let blackout_us = summary
        .rsplit_once(" blackout_us=")
        .and_then(|(_, v)| v.parse().ok());
    FromTrace {
        trips,
        irqs,
        layout,
        blackout_us,
    }
}

fn attr<'a>(node: roxmltree::Node<'a, '_>, name: &str) -> &'a str {
    node.attribute(name)
        .unwrap_or_else(|| panic!("{:?} has no {name}", node.tag_name().name()))
}

fn has_class(node: &roxmltree::Node<'_, '_>, class: &str) -> bool {
    node.attribute("class")
        .is_some_and(|c| c.split(' ').any(|c| c == class))
}

/// Checks the picture of `args` against its trace.
fn check(name: &str, args: &str) -> FromTrace {
    let (stdout, svg) = run(name, &format!("--trace {args}"));
    let trace = from_trace(&stdout);
    let doc = roxmltree::Document::parse(&svg).expect("the SVG is well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );
    for a in ["width", "height", "viewBox"] {
        assert!(root.attribute(a).is_some(), "{name}: the svg has no {a}");
    }

    // A lane per GT, labelled with its tile and kind.
    let lanes: Vec<_> = doc
        .descendants()
        .filter(|n| has_class(n, "lane") && n.attribute("data-gt").is_some())
        .collect();
    assert_eq!(lanes.len(), trace.layout.len(), "{name}: a lane per GT");
    for (i, lane) in lanes.iter().enumerate() {
        assert_eq!(attr(*lane, "data-gt"), i.to_string());
        let text: Vec<&str> = lane.descendants().filter_map(|n| n.text()).collect();
        assert!(
            text.contains(&format!("gt{i}").as_str()),
            "{name}: {text:?}"
        );
        assert!(
            text.contains(&trace.layout[i].as_str()),
            "{name}: lane {i} says {text:?}, the trace {}",
            trace.layout[i]
        );
    }

    // A box per round trip, in the trace's order on each GT, with its action and outcome.
    for (gt, expected) in trace.trips.iter().enumerate() {
        let mut boxes: Vec<_> = doc
            .descendants()
            .filter(|n| has_class(n, "rt") && attr(*n, "data-gt") == gt.to_string())
            .map(|n| {
                let x: f64 = attr(n, "x").parse().expect("x");
                let w: f64 = attr(n, "width").parse().expect("width");
                assert!(w > 0.0, "{name}: an empty box");
                let action =
                    u16::from_str_radix(attr(n, "data-action").trim_start_matches("0x"), 16)
                        .expect("data-action");
                let busy: u32 = attr(n, "data-busy").parse().expect("data-busy");
                (x, action, busy, attr(n, "data-outcome").to_string())
            })
            .collect();
        boxes.sort_by(|a, b| a.0.total_cmp(&b.0));
        let got: Vec<(u16, u32, &str)> = boxes
            .iter()
            .map(|(_, a, b, o)| (*a, *b, o.as_str()))
            .collect();
        let want: Vec<(u16, u32, &str)> = expected
            .iter()
            .map(|t| (t.action, t.busy, t.outcome))
            .collect();
        assert_eq!(got, want, "{name}: gt{gt}'s boxes against its trace");
        let irqs = doc
            .descendants()
            .filter(|n| has_class(n, "irq") && attr(*n, "data-gt") == gt.to_string())
            .count();
        assert_eq!(irqs, trace.irqs[gt], "{name}: gt{gt}'s SW_INT_0 deliveries");
    }
    let migrations = doc
        .descendants()
        .filter(|n| has_class(n, "migration"))
        .count();
    let in_trace = stdout
        .lines()
        .filter(|l| l.starts_with("[host] migration ") && l.contains(": VM paused"))
        .count();
    assert_eq!(migrations, in_trace, "{name}: a line per migration");
    trace
}

/// Each GT's last blackout in the picture, in us.
fn last_blackouts(svg: &str) -> Vec<(String, String)> {
    let doc = roxmltree::Document::parse(svg).expect("XML");
    let mut last: Vec<(String, String)> = Vec::new();
    for n in doc.descendants().filter(|n| has_class(n, "blackout")) {
        let gt = attr(n, "data-gt").to_string();
        let us = attr(n, "data-us").to_string();
        match last.iter_mut().find(|(g, _)| *g == gt) {
            Some(slot) => slot.1 = us,
            None => last.push((gt, us)),
        }
    }
    last
}

#[test]
fn the_default_scenario() {
    let trace = check("default", "");
    assert_eq!(trace.layout, ["tile0 primary", "tile0 media"]);
    assert!(
        trace.trips.iter().all(|t| t.len() >= 3),
        "{:?}",
        trace.trips
    );
}

#[test]
fn a_second_migration_mid_pass() {
    let trace = check("mdr", "--migrate-during-recovery");
    // The first pass's RESFIX_DONE is refused with VF_MIGRATED on both GTs.
    for trips in &trace.trips {
        assert!(
            trips
                .iter()
                .any(|t| t.action == 0x5508 && t.outcome == "failure"),
            "{trips:?}"
        );
    }
    check(
        "mdr-done-latency",
        "--migrate-during-recovery=done --guc-latency-us 20 --gts 3",
    );
}

#[test]
fn busy_retry_lost_and_malformed_replies_are_marked() {
    let busy = check("busy", "--fault query:busy:2 --guc-latency-us 5");
    assert!(
        busy.trips[0].iter().any(|t| t.busy == 2),
        "{:?}",
        busy.trips[0]
    );
    let retry = check("retry", "--fault start:retry:1");
    assert!(retry.trips[0].iter().any(|t| t.outcome == "retry"));
    let lost = check("lost", "--fault done:timeout --gts 1");
    assert_eq!(lost.trips[0].last().map(|t| t.outcome), Some("lost"));
    // An FLR clears the request: no reply, the VF sends it again, then it is accepted.
    let flr = check("flr", "--fault done:flr --gts 1");
    let n = flr.trips[0].len();
    assert!(n >= 2, "{:?}", flr.trips[0]);
    assert_eq!(
        [flr.trips[0][n - 2].outcome, flr.trips[0][n - 1].outcome],
        ["lost", "ok"]
    );
    let garbage = check("garbage", "--fault query:garbage:c0000000");
    assert!(garbage.trips[0].iter().any(|t| t.outcome == "malformed"));
    check("busy-timeout", "--fault query:busy-timeout --irq mmio");
}

#[test]
fn layouts_policies_and_several_migrations() {
    check(
        "tiles4",
        "--tiles 4 --gts 8 --migrations 2 --guc-latency-us 5",
    );
    check(
        "mmio-all",
        "--irq mmio --policy all --gts 3 --migrations 3 --seed 7",
    );
    check(
        "sequential",
        "--sequential --guc-latency-us 20 --migrations 2",
    );
}

#[test]
fn blackouts_match_the_summary() {
    for args in ["--guc-latency-us 20", "--guc-latency-us 7 --gts 4 --seed 3"] {
        let (stdout, svg) = run("blackout", args);
        let trace = from_trace(&stdout);
        let want = trace.blackout_us.expect("a blackout");
        let last = last_blackouts(&svg);
        assert_eq!(last.len(), trace.layout.len(), "a blackout per GT");
        let max = last
            .iter()
            .map(|(_, us)| us.parse::<u64>().expect("an ended blackout"))
            .max()
            .expect("blackouts");
        // The mock ends a blackout when it answers RESFIX_DONE, the picture when the VF reads
        // the answer: at the VF's next poll, at most one poll (10 us of virtual time) later.
        assert!(
            (want..want + 10).contains(&max),
            "{args}: the picture's longest blackout {max} us, the summary's {want} us: {last:?}"
        );
    }
}

#[test]
fn no_migration_draws_lanes_only() {
    let (_, svg) = run("none", "--migrations 0 --gts 3");
    let doc = roxmltree::Document::parse(&svg).expect("XML");
    assert_eq!(
        doc.descendants()
            .filter(|n| has_class(n, "lane") && n.attribute("data-gt").is_some())
            .count(),
        3
    );
    assert!(!doc.descendants().any(|n| has_class(&n, "rt")));
}

#[test]
fn an_unwritable_svg_fails_the_run() {
    let out = Command::new(BIN)
        .args(["--svg", "/nonexistent-dir/x.svg"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--svg"));
}

/// The picture in doc/ is what the tool draws for the command doc/README.md gives.
#[test]
fn the_picture_in_doc_is_current() {
    let readme = std::fs::read_to_string(repo().join("doc/README.md")).expect("doc/README.md");
    assert!(
        readme.contains(DOC_COMMAND),
        "doc/README.md must give the command: {DOC_COMMAND}"
    );
    let committed = std::fs::read_to_string(repo().join("doc/simulator-timeline.svg"))
        .expect("doc/simulator-timeline.svg");
    let (_, drawn) = run("doc", DOC_ARGS);
    assert!(
        committed == drawn,
        "doc/simulator-timeline.svg is not what the tool draws now: regenerate it with\n    {DOC_COMMAND}"
    );
}
