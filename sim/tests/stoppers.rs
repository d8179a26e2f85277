//! The kernel's four stoppers (Linux 7.3) through the simulator: for each, the first recovery
//! held there while the host migrates the VM again (`--migrate-during-recovery=STOPPER`) or
//! pauses it and resumes it on the same host (`--pause-during-recovery=STOPPER`), overlapped
//! and `--sequential`. Every one of the 16 runs must settle: exit 0, every GT running, the
//! GGTT oracle's `ggtt=ok`, and the migrations the host made (a pause is none).

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_xe-sriov-vf-sim");

/// The `summary:` line of a run with `args`, after checking its exit status is 0.
fn summary(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .find(|l| l.starts_with("summary: "))
        .unwrap_or_else(|| panic!("{args:?}: no summary line"))
        .to_string()
}

fn cells(flag: &str, migrations: u32, held: &str) {
    for stopper in ["start", "fixups", "restart", "done"] {
        for schedule in [None, Some("--sequential")] {
            let arg = format!("--{flag}-during-recovery={stopper}");
            let mut args = vec![arg.as_str(), "--gts", "3", "--guc-latency-us", "10"];
            args.extend(schedule);
            let s = summary(&args);
            assert!(
                s.contains(&format!("migrations={migrations} ")),
                "{args:?}: {s}"
            );
            assert!(s.contains(" wedged=no "), "{args:?}: {s}");
            assert!(
                s.contains(" states=VF_RUNNING,VF_RUNNING,VF_RUNNING "),
                "{args:?}: {s}"
            );
            assert!(s.contains(" ggtt=ok "), "{args:?}: {s}");
            // The hold fired where it was asked to.
            let out = Command::new(BIN).args(&args).output().expect("runs");
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains(held), "{args:?}: no '{held}'");
        }
    }
}

#[test]
fn a_second_migration_at_each_stopper_settles() {
    cells("migrate", 2, "the host migrates the VM again");
}

#[test]
fn a_pause_resume_at_each_stopper_settles() {
    cells("pause", 1, "the host pauses and resumes the VM");
}

#[test]
fn the_bare_migrate_flag_holds_at_fixups_and_the_two_exclude_each_other() {
    let out = Command::new(BIN)
        .arg("--migrate-during-recovery")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("held at BeforeFixups"));
    for args in [
        &["--migrate-during-recovery", "--pause-during-recovery=done"][..],
        &["--pause-during-recovery"][..],
        &["--pause-during-recovery=later"][..],
    ] {
        let out = Command::new(BIN).args(args).output().expect("runs");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}
