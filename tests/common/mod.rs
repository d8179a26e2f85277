//! What the integration tests share: one rig builder ([`RigBuilder`]: tiles and GTs, ABI,
//! provisioning, configuration, policy, split phase, the mocks' clock and latency, each GT's
//! device, memirq or register interrupts; a [`TestQueue`](xe_sriov_vf::workqueue::TestQueue)),
//! one hook recorder
//! ([`Recorder`]: every `RecoveryHooks` call in order, with switches for failures and actions at
//! hold points), and devices built on the mock's
//! [`HookedDevice`](xe_sriov_vf::mock::HookedDevice).
//!
//! Each test file is its own crate and uses a part of this module, hence the `allow`.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

use xe_sriov_vf::device::Device;
use xe_sriov_vf::mock::{HookedDevice, MockGuc};

/// `guc` behind a device that drops the first `deaf` doorbells (those requests are never seen:
/// they time out) and passes everything else through. `doorbells` counts every doorbell rung,
/// dropped or not, so a test sees an extra attempt even when the GuC answered it.
pub fn deaf_for<'a>(guc: &'a MockGuc, deaf: u32, doorbells: &'a AtomicU32) -> impl Device + 'a {
    HookedDevice::new(guc).on_write(move |guc, reg, value| {
        if reg == guc.kind().mailbox().doorbell && doorbells.fetch_add(1, Ordering::SeqCst) < deaf {
            return;
        }
        guc.write32(reg, value)
    })
}

/// A device behind a `'static` trait object: the type a test names (in a `Vf<..>` alias, a
/// struct field) whatever hooks its GTs' devices carry.
pub type DynDevice = &'static (dyn Device + Send + Sync);

/// `dev`, leaked as a [`DynDevice`].
pub fn leak_dyn<D: Device + Send + Sync + 'static>(dev: D) -> DynDevice {
    Box::leak(Box::new(dev))
}

mod hooks;
mod rig;

#[allow(unused_imports)]
pub use hooks::{Call, Recorder};
#[allow(unused_imports)]
pub use rig::{MemirqVf, Rig, RigBuilder, RigVf, BASE, SINGLE, TILE_PAIR};
