//! The recovery sweeps: a second VM migration at EVERY register access of a recovery, and a
//! forged value at EVERY register read of a recovery, on a 2-GT VF (one tile: primary + media
//! sharing one GGTT), with markers (VF ABI 1.27) and the legacy protocol (1.26, opt-in), the
//! second migration's interrupts delivered at once (inside the access) or only after the pass.
//!
//! Each sweep runs twice: with the GTs one after the other, and with
//! [`RecoveryConfig::split_phase`], where the two GTs' requests are in flight together (the mocks
//! then share one clock and answer after one poll's time, so that each of the VF's waits spans
//! both GTs): a second migration or a forged value then also lands while the other GT's request
//! is in flight.
//!
//! Every case is checked from the VF's side, with the GGTT oracle, after the VF settled (passes
//! run until nothing is queued, late interrupts delivered, bounded):
//!
//! - no panic;
//! - either every GT `VF_RUNNING`, both GGTTs valid, no recovery pending, nothing queued, and
//!   the VF's GGTT users exactly at the GuC's final base, the moves handed to the embedder adding
//!   up to the GuC's total move, at most one move per change of base;
//! - or the device wedged exactly once (one `abort`, one `wedged`), nothing queued, and the GGTT
//!   users exactly where the VF says they are (its applied base), the moves adding up to that;
//! - runtime PM balanced in both cases.
//!
//! A forged read may legitimately wedge (a GuC that answers garbage is broken); a second
//! migration never may: it must always end recovered. A forged read of a GGTT_START data
//! register is the one forged value the VF cannot tell from the truth (the GuC "said" it): the
//! VF then follows it, as the kernel does, and the check is that the GGTT users sit exactly at
//! the forged base, moved once.
#![cfg(all(feature = "mock", feature = "std"))]

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use common::{DynDevice, Rig, RigBuilder, RigVf, TILE_PAIR};
use xe_sriov_vf::coordinator::GtId;
use xe_sriov_vf::device::Device;
use xe_sriov_vf::mailbox::MailboxConfig;
use xe_sriov_vf::mock::{HookedDevice, Latency, MockGuc, VfState};
use xe_sriov_vf::recovery::RecoveryConfig;
use xe_sriov_vf::tile::TileId;
use xe_sriov_vf::wire::Version;

const BASE: u64 = 0x0020_0000;
const MOVED: u64 = 0x0120_0000;
const MOVED2: u64 = 0x0220_0000;
/// Virtual time per poll (1 ms), so every timeout costs a few dozen polls.
const RELAX_NS: u64 = 1_000_000;

/// How the cases ended: wedged, recovered, recovered onto a forged GGTT base.
static WEDGED: AtomicUsize = AtomicUsize::new(0);
static RECOVERED: AtomicUsize = AtomicUsize::new(0);
static FOLLOWED: AtomicUsize = AtomicUsize::new(0);

/// What happens at the chosen access.
#[derive(Clone, Copy, Debug)]
enum Event {
    /// A second VM migration (both GuCs to `MOVED2`) just before the access; interrupts at once
    /// (`prompt`) or after the pass.
    Migrate { prompt: bool },
    /// The read returns this value instead of the register's.
    Forge(u32),
}

/// Counts register accesses of both GTs during the recovery and fires the event at one.
#[derive(Default)]
struct Ctl {
    armed: AtomicBool,
    /// Accesses (reads and writes, `reads_only`: reads) seen since arming.
    count: AtomicU32,
    at: AtomicU32,
    reads_only: AtomicBool,
    event: OnceLock<Event>,
    fired: AtomicBool,
    vf: OnceLock<&'static TestVf>,
    gucs: OnceLock<[&'static MockGuc; 2]>,
}

impl Ctl {
    /// Whether this access is the chosen one (and disarms).
    fn hit(&self, read: bool) -> bool {
        if !self.armed.load(Ordering::SeqCst) || (self.reads_only.load(Ordering::SeqCst) && !read) {
            return false;
        }
        let n = self.count.fetch_add(1, Ordering::SeqCst);
        if n == self.at.load(Ordering::SeqCst) {
            self.armed.store(false, Ordering::SeqCst);
            self.fired.store(true, Ordering::SeqCst);
            return true;
        }
        false
    }

    fn migrate(&self, prompt: bool) {
        let gucs = self.gucs.get().unwrap();
        for g in gucs {
            g.migrate(MOVED2);
        }
        if prompt {
            deliver(self.vf.get().unwrap(), gucs);
        }
    }
}

/// A GT's device: its mock, and the chosen event at the chosen access.
fn device(guc: &'static MockGuc, ctl: &'static Ctl) -> DynDevice {
    let dev = HookedDevice::new(guc)
        .on_read(move |guc, reg| {
            if ctl.hit(true) {
                match *ctl.event.get().unwrap() {
                    Event::Migrate { prompt } => ctl.migrate(prompt),
                    Event::Forge(v) => {
                        // The register is still read (a read may have side effects in the model).
                        let _ = guc.read32(reg);
                        return v;
                    }
                }
            }
            guc.read32(reg)
        })
        .on_write(move |guc, reg, value| {
            if ctl.hit(false) {
                if let Event::Migrate { prompt } = *ctl.event.get().unwrap() {
                    ctl.migrate(prompt);
                }
            }
            guc.write32(reg, value)
        });
    common::leak_dyn(dev)
}

type TestVf = RigVf<2>;

fn deliver(vf: &TestVf, gucs: &[&MockGuc; 2]) {
    for (i, g) in gucs.iter().enumerate() {
        let intr = g.take_interrupts();
        if !intr.is_empty() {
            let _ = vf.handle_guc_interrupt(GtId(i as u8), intr);
        }
    }
}

/// A bootstrapped 2-GT VF after one migration to `MOVED` (interrupts delivered), with the
/// event armed at access (or read) `at` of the recovery.
fn rig(
    legacy: bool,
    split: bool,
    event: Event,
    at: u32,
) -> (&'static TestVf, [&'static MockGuc; 2], &'static Ctl) {
    let abi = if legacy {
        Version::new(1, 26)
    } else {
        Version::new(1, 27)
    };
    let ctl: &'static Ctl = Box::leak(Box::default());
    let mailbox = {
        let mut c = MailboxConfig::KERNEL;
        c.max_retries = 2;
        c
    };
    let mut rig = RigBuilder::new(TILE_PAIR)
        .abi(abi)
        .relax_step(Duration::from_nanos(RELAX_NS))
        .mailbox(mailbox)
        .config({
            let mut c = RecoveryConfig::default();
            c.legacy = legacy;
            c
        })
        .split_phase(split)
        .device(move |i, gucs| device(gucs[i], ctl));
    if split {
        rig = rig
            .shared_clock()
            .latency(Latency::fixed(Duration::from_nanos(RELAX_NS)));
    }
    let Rig { vf, gucs, .. } = rig.mmio();
    let _ = ctl.vf.set(vf);
    let _ = ctl.gucs.set(gucs);
    let _ = ctl.event.set(event);
    ctl.at.store(at, Ordering::SeqCst);
    ctl.reads_only
        .store(matches!(event, Event::Forge(_)), Ordering::SeqCst);
    for g in gucs {
        g.migrate(MOVED);
    }
    deliver(vf, &gucs);
    ctl.armed.store(true, Ordering::SeqCst);
    (vf, gucs, ctl)
}

/// Runs one case; returns whether the event fired (false: `at` is past the recovery's last
/// access) and the problems found.
fn run_case(legacy: bool, split: bool, event: Event, at: u32) -> (bool, Vec<String>) {
    let mut problems = Vec::new();
    let result = catch_unwind(AssertUnwindSafe(|| {
        let (vf, gucs, ctl) = rig(legacy, split, event, at);
        let mut passes = Vec::new();
        for _ in 0..32 {
            if !vf.queue().take() {
                // Late interrupts arrive once the passes are over.
                deliver(vf, &gucs);
                if !vf.queue().take() {
                    break;
                }
            }
            passes.push(vf.run_worker());
        }
        ctl.armed.store(false, Ordering::SeqCst);
        (vf, gucs, ctl.fired.load(Ordering::SeqCst), passes)
    }));
    let Ok((vf, gucs, fired, passes)) = result else {
        return (true, vec!["panicked".into()]);
    };
    let h = vf.hooks();
    let pm = (
        h.pm_gets.load(Ordering::SeqCst),
        h.pm_puts.load(Ordering::SeqCst),
    );
    if pm.0 != pm.1 {
        problems.push(format!("runtime PM unbalanced {pm:?}"));
    }
    if vf.queue().is_pending() || vf.coordinator().is_queued() {
        problems.push("work still queued after 32 passes".into());
    }
    let applied = vf.tile_ggtt(TileId(0)).unwrap().applied;
    if vf.is_wedged() {
        WEDGED.fetch_add(1, Ordering::Relaxed);
        let hooks = (
            h.aborts.load(Ordering::SeqCst),
            h.wedged.load(Ordering::SeqCst),
        );
        if hooks != (1, 1) {
            problems.push(format!("wedged: abort/wedged hooks {hooks:?}, want (1, 1)"));
        }
        if matches!(event, Event::Migrate { .. }) {
            problems.push(format!("a second migration wedged the device: {passes:?}"));
        }
        if let Err(e) = h.oracle.check(TileId(0), applied) {
            problems.push(format!("wedged, GGTT oracle against the applied base: {e}"));
        }
        if h.oracle.total_shift(TileId(0)) != applied as i64 - BASE as i64 {
            problems.push("wedged: the moves do not add up to the applied base".into());
        }
    } else {
        let truth = gucs[0].provisioning().ggtt_start;
        // A forged GGTT_START data dword is, to the VF, the GuC's word: like the kernel (which
        // stores whatever base the last query reported and shifts to it), the VF follows it.
        // Then its GGTT users must sit exactly at that forged base.
        let fin = match event {
            Event::Forge(v)
                if applied != truth && applied == (truth & !0xFFFF_FFFF) | u64::from(v) =>
            {
                FOLLOWED.fetch_add(1, Ordering::Relaxed);
                applied
            }
            _ => {
                RECOVERED.fetch_add(1, Ordering::Relaxed);
                truth
            }
        };
        let states = [gucs[0].state(), gucs[1].state()];
        if states != [VfState::Running; 2] {
            problems.push(format!("states {states:?} after {passes:?}"));
        }
        for g in 0..2u8 {
            if !vf.ggtt_valid(GtId(g)) || vf.recovery_pending(GtId(g)) {
                problems.push(format!("GT {g}: GGTT invalid or recovery pending"));
            }
        }
        if let Err(e) = h.oracle.check(TileId(0), fin) {
            problems.push(format!("GGTT oracle: {e} after {passes:?}"));
        }
        if h.oracle.total_shift(TileId(0)) != fin as i64 - BASE as i64 {
            problems.push("the moves do not add up to the GuC's".into());
        }
        if h.oracle.moves(TileId(0)) > 2 {
            problems.push(format!(
                "{} moves for 2 changes of base",
                h.oracle.moves(TileId(0))
            ));
        }
        if applied != fin {
            problems.push(format!("applied {applied:#x}, GuC {fin:#x}"));
        }
    }
    (fired, problems)
}

/// Runs `event` at every access (or read) until one is past the recovery; returns the cases run
/// and the failures.
fn sweep(legacy: bool, split: bool, event: Event) -> (u32, Vec<String>) {
    let mut bad = Vec::new();
    let mut at = 0;
    loop {
        let (fired, problems) = run_case(legacy, split, event, at);
        if !fired {
            break;
        }
        for p in problems {
            bad.push(format!(
                "legacy={legacy} split={split} {event:?} at access {at}: {p}"
            ));
        }
        at += 1;
        assert!(at < 2000, "the recovery never ends");
    }
    (at, bad)
}

#[test]
fn second_migration_at_every_register_access() {
    let mut bad = Vec::new();
    for split in [false, true] {
        for legacy in [false, true] {
            for prompt in [true, false] {
                let (cases, b) = sweep(legacy, split, Event::Migrate { prompt });
                println!("split={split} legacy={legacy} prompt={prompt}: {cases} accesses swept");
                assert!(cases > 40, "too few accesses: {cases}");
                bad.extend(b);
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} cases failed:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// Every origin (host, GuC), every HXG type (0..7), a few data values.
fn forged_values() -> Vec<u32> {
    let mut v = Vec::new();
    for origin in [0u32, 1] {
        for ty in 0..8u32 {
            for data in [0u32, 1, 0x107, 0x0FFF_FFFF] {
                v.push(origin << 31 | ty << 28 | data);
            }
        }
    }
    v.push(0xFFFF_FFFF);
    v
}

#[test]
fn forged_value_at_every_register_read() {
    let mut bad = Vec::new();
    let mut cases = 0;
    for split in [false, true] {
        for legacy in [false, true] {
            for value in forged_values() {
                let (n, b) = sweep(legacy, split, Event::Forge(value));
                cases += n;
                bad.extend(b);
            }
        }
    }
    let (w, r, f) = (
        WEDGED.load(Ordering::Relaxed),
        RECOVERED.load(Ordering::Relaxed),
        FOLLOWED.load(Ordering::Relaxed),
    );
    println!("{cases} forged reads: {w} wedged, {r} recovered, {f} followed a forged GGTT base");
    assert!(cases > 1000, "too few cases: {cases}");
    assert!(
        w > 0 && r > 0 && f > 0,
        "a sweep that never wedges or never recovers proves little"
    );
    assert!(
        bad.is_empty(),
        "{} cases failed:\n{}",
        bad.len(),
        bad.join("\n")
    );
}
