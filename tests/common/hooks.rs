//! [`Recorder`]: the tests' one `RecoveryHooks`.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::Mutex;

use xe_sriov_vf::coordinator::GtId;
use xe_sriov_vf::mock::GgttOracle;
use xe_sriov_vf::recovery::{HoldPoint, HookError, RecoveryError, RecoveryHooks};
use xe_sriov_vf::tile::{GgttMove, TileId};

/// One hook call, as the recovery made it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    PmGet,
    PmPut,
    Shutdown(GtId),
    GgttFixup(TileId, GgttMove),
    GtFixups(GtId),
    Rearm(GtId),
    Kickstart(GtId),
    Abort(RecoveryError),
    Wedged(RecoveryError),
    Hold(HoldPoint, GtId),
}

impl Call {
    /// The GT of a per-GT hook (shutdown, fixups, rearm, kickstart, hold).
    pub fn gt(&self) -> Option<GtId> {
        match *self {
            Call::Shutdown(gt)
            | Call::GtFixups(gt)
            | Call::Rearm(gt)
            | Call::Kickstart(gt)
            | Call::Hold(_, gt) => Some(gt),
            _ => None,
        }
    }

    /// The line [`Recorder::calls`] shows for the GGTT and per-GT hooks: `shutdown 0`,
    /// `ggtt tile0 0x200000 -> 0x300000`, `gt_fixups 0`, `rearm 0`, `kickstart 0`.
    pub fn line(&self) -> Option<String> {
        Some(match *self {
            Call::Shutdown(gt) => format!("shutdown {}", gt.0),
            Call::GgttFixup(tile, g) => format!("ggtt tile{} {:#x} -> {:#x}", tile.0, g.old, g.new),
            Call::GtFixups(gt) => format!("gt_fixups {}", gt.0),
            Call::Rearm(gt) => format!("rearm {}", gt.0),
            Call::Kickstart(gt) => format!("kickstart {}", gt.0),
            _ => return None,
        })
    }

    /// The short name [`Recorder::of`] shows for a per-GT step hook.
    fn step_name(&self) -> Option<&'static str> {
        Some(match self {
            Call::Shutdown(_) => "shutdown",
            Call::GtFixups(_) => "fixups",
            Call::Rearm(_) => "rearm",
            Call::Kickstart(_) => "kickstart",
            _ => return None,
        })
    }
}

/// What a test runs at a hook call (after it is recorded).
type OnCall = Box<dyn FnMut(&Call) + Send>;

/// Hooks that record every call in order, move the GGTT oracle's users (the embedder's GGTT
/// fixup), count the PM references, aborts and wedges, and fail or act where a test asks.
#[derive(Default)]
pub struct Recorder {
    /// Where the VF's GGTT users are, per tile (moved by `ggtt_fixup`).
    pub oracle: GgttOracle<2>,
    log: Mutex<Vec<Call>>,
    /// PM references held: `pm_get` minus `pm_put`.
    pub pm: AtomicI64,
    pub pm_gets: AtomicUsize,
    pub pm_puts: AtomicUsize,
    /// [`pm`](Self::pm) when `abort` / `wedged` last ran.
    pub pm_at_abort: AtomicI64,
    pub pm_at_wedge: AtomicI64,
    pub aborts: AtomicUsize,
    pub wedged: AtomicUsize,
    /// `gt_fixups` fails with [`Recorder::FIXUPS_ERROR`] while set.
    pub fail_gt_fixups: AtomicBool,
    /// `rearm` fails with [`Recorder::REARM_ERROR`] while set.
    pub fail_rearm: AtomicBool,
    on_call: Mutex<Option<OnCall>>,
}

impl Recorder {
    /// What `gt_fixups` returns while [`fail_gt_fixups`](Self::fail_gt_fixups) is set.
    pub const FIXUPS_ERROR: HookError = HookError(-5);
    /// What `rearm` returns while [`fail_rearm`](Self::fail_rearm) is set.
    pub const REARM_ERROR: HookError = HookError(-7);

    /// Every call so far, in order.
    pub fn log(&self) -> Vec<Call> {
        self.log.lock().unwrap().clone()
    }

    /// The GGTT and per-GT step hooks so far, in order, as [`Call::line`]s.
    pub fn calls(&self) -> Vec<String> {
        self.log().iter().filter_map(Call::line).collect()
    }

    /// GT `gt`'s step hooks so far (`shutdown`, `fixups`, `rearm`, `kickstart`), in order.
    pub fn of(&self, gt: u8) -> Vec<&'static str> {
        let log = self.log.lock().unwrap();
        log.iter()
            .filter(|c| c.gt() == Some(GtId(gt)))
            .filter_map(Call::step_name)
            .collect()
    }

    /// The GGTT moves handed to the embedder so far, per call.
    pub fn moves(&self) -> Vec<(TileId, GgttMove)> {
        let log = self.log.lock().unwrap();
        log.iter()
            .filter_map(|c| match *c {
                Call::GgttFixup(tile, ggtt) => Some((tile, ggtt)),
                _ => None,
            })
            .collect()
    }

    /// Runs `f` at every hook call from now on (replacing the previous one), after the call is
    /// recorded. A hook called from inside `f` is recorded but does not run `f` again.
    pub fn on_call(&self, f: impl FnMut(&Call) + Send + 'static) {
        *self.on_call.lock().unwrap() = Some(Box::new(f));
    }

    /// Runs `f` at every hold point from now on (see [`on_call`](Self::on_call)).
    pub fn on_hold(&self, mut f: impl FnMut(HoldPoint, GtId) + Send + 'static) {
        self.on_call(move |c| {
            if let Call::Hold(point, gt) = *c {
                f(point, gt)
            }
        })
    }

    fn record(&self, call: Call) {
        self.log.lock().unwrap().push(call);
        // Taken out while it runs: no lock held across the test's action, which may call hooks.
        let taken = self.on_call.lock().unwrap().take();
        if let Some(mut f) = taken {
            f(&call);
            let mut slot = self.on_call.lock().unwrap();
            if slot.is_none() {
                *slot = Some(f);
            }
        }
    }
}

impl RecoveryHooks for Recorder {
    fn pm_get(&self) {
        self.pm.fetch_add(1, Ordering::SeqCst);
        self.pm_gets.fetch_add(1, Ordering::SeqCst);
        self.record(Call::PmGet);
    }
    fn pm_put(&self) {
        self.pm.fetch_sub(1, Ordering::SeqCst);
        self.pm_puts.fetch_add(1, Ordering::SeqCst);
        self.record(Call::PmPut);
    }
    fn shutdown(&self, gt: GtId) {
        self.record(Call::Shutdown(gt));
    }
    fn ggtt_fixup(&self, tile: TileId, ggtt: GgttMove) -> Result<(), HookError> {
        self.record(Call::GgttFixup(tile, ggtt));
        self.oracle.fixup(tile, ggtt)
    }
    fn gt_fixups(&self, gt: GtId) -> Result<(), HookError> {
        self.record(Call::GtFixups(gt));
        if self.fail_gt_fixups.load(Ordering::SeqCst) {
            return Err(Self::FIXUPS_ERROR);
        }
        Ok(())
    }
    fn rearm(&self, gt: GtId) -> Result<(), HookError> {
        self.record(Call::Rearm(gt));
        if self.fail_rearm.load(Ordering::SeqCst) {
            return Err(Self::REARM_ERROR);
        }
        Ok(())
    }
    fn kickstart(&self, gt: GtId) {
        self.record(Call::Kickstart(gt));
    }
    fn abort(&self, error: &RecoveryError) {
        self.pm_at_abort
            .store(self.pm.load(Ordering::SeqCst), Ordering::SeqCst);
        self.aborts.fetch_add(1, Ordering::SeqCst);
        self.record(Call::Abort(*error));
    }
    fn wedged(&self, error: &RecoveryError) {
        self.pm_at_wedge
            .store(self.pm.load(Ordering::SeqCst), Ordering::SeqCst);
        self.wedged.fetch_add(1, Ordering::SeqCst);
        self.record(Call::Wedged(*error));
    }
    fn hold(&self, point: HoldPoint, gt: GtId) {
        self.record(Call::Hold(point, gt));
    }
}
