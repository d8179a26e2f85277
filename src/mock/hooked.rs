//! [`HookedDevice`]: a [`Device`] that forwards to another one, with a closure in place of any of
//! the four calls. See the type's docs.

use crate::device::{Device, Instant, Reg};

/// A [`Device`] that forwards every call to an inner device (a [`MockGuc`](super::MockGuc), a
/// reference to one, or any other `Device`), except the calls a test replaced with a closure.
///
/// This is the one place a test puts "something happens when the VF touches the hardware": a
/// migration landing at the third doorbell, a register read logged or forged, another task run
/// while the worker yields in [`Device::relax`], a scripted clock. Each builder method replaces
/// one call, and its closure receives the inner device, so it decides whether, when and how
/// to forward:
///
/// | builder | replaces | closure | to forward |
/// |---|---|---|---|
/// | [`on_read`](Self::on_read) | [`Device::read32`] | `Fn(&D, Reg) -> u32` | `inner.read32(reg)` |
/// | [`on_write`](Self::on_write) | [`Device::write32`] | `Fn(&D, Reg, u32)` | `inner.write32(reg, value)` (skip it to drop the write) |
/// | [`on_now`](Self::on_now) | [`Device::now`] | `Fn(&D) -> Instant` | `inner.now()` |
/// | [`on_relax`](Self::on_relax) | [`Device::relax`] | `Fn(&D)` | `inner.relax()` |
///
/// A call without a closure is a plain forward through [`Forward`], a zero-sized type: a
/// `HookedDevice` with no hooks is the size of its inner device and each call compiles to the
/// inner call. The hooks are type parameters, so the wrapper needs no allocator (`no_std`);
/// code that must name the type (a `static`, a struct field) can erase it behind
/// `&dyn Device` or use boxed closures.
///
/// The wrapper takes no lock of its own: a closure that needs state brings it (an atomic, a
/// mutex it does not hold across the forwarded call if another thread may use the device).
///
/// ```
/// use core::sync::atomic::{AtomicU32, Ordering};
/// use xe_sriov_vf::device::Device;
/// use xe_sriov_vf::mock::{HookedDevice, MockGuc, Provisioning};
/// use xe_sriov_vf::wire::regs::GtKind;
/// use xe_sriov_vf::wire::Version;
///
/// let guc = MockGuc::new(GtKind::Primary, Version::new(1, 27), Provisioning::integrated());
/// let doorbells = AtomicU32::new(0);
/// let dev = HookedDevice::new(&guc).on_write(|guc, reg, value| {
///     if reg == guc.kind().mailbox().doorbell {
///         doorbells.fetch_add(1, Ordering::Relaxed);
///     }
///     guc.write32(reg, value)
/// });
/// let regs = GtKind::Primary.mailbox();
/// dev.write32(regs.scratch(0), 0x0000_5500); // MATCH_VERSION, wanted 1.2
/// dev.write32(regs.scratch(1), 0x0001_0200);
/// dev.write32(regs.doorbell, 0);
/// assert_eq!(doorbells.load(Ordering::Relaxed), 1);
/// assert_eq!(dev.read32(regs.scratch(0)), 0xF000_0000); // forwarded: the GuC's SUCCESS
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct HookedDevice<D, R = Forward, W = Forward, N = Forward, X = Forward> {
    inner: D,
    read: R,
    write: W,
    now: N,
    relax: X,
}

/// The hook of a call a [`HookedDevice`] was given no closure for: forward to the inner device.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Forward;

/// What a [`HookedDevice`] does on [`Device::read32`]: [`Forward`], or a closure
/// `Fn(&D, Reg) -> u32` (see [`HookedDevice::on_read`]).
pub trait ReadHook<D> {
    /// Reads `reg`, through `inner` or not.
    fn read(&self, inner: &D, reg: Reg) -> u32;
}

/// What a [`HookedDevice`] does on [`Device::write32`]: [`Forward`], or a closure
/// `Fn(&D, Reg, u32)` (see [`HookedDevice::on_write`]).
pub trait WriteHook<D> {
    /// Writes `value` to `reg`, through `inner` or not.
    fn write(&self, inner: &D, reg: Reg, value: u32);
}

/// What a [`HookedDevice`] does on [`Device::now`]: [`Forward`], or a closure `Fn(&D) -> Instant`
/// (see [`HookedDevice::on_now`]).
pub trait NowHook<D> {
    /// The time, from `inner` or not.
    fn now(&self, inner: &D) -> Instant;
}

/// What a [`HookedDevice`] does on [`Device::relax`]: [`Forward`], or a closure `Fn(&D)` (see
/// [`HookedDevice::on_relax`]).
pub trait RelaxHook<D> {
    /// Relaxes, through `inner` or not.
    fn relax(&self, inner: &D);
}

impl<D: Device> ReadHook<D> for Forward {
    #[inline(always)]
    fn read(&self, inner: &D, reg: Reg) -> u32 {
        inner.read32(reg)
    }
}

impl<D, F: Fn(&D, Reg) -> u32> ReadHook<D> for F {
    #[inline]
    fn read(&self, inner: &D, reg: Reg) -> u32 {
        self(inner, reg)
    }
}

impl<D: Device> WriteHook<D> for Forward {
    #[inline(always)]
    fn write(&self, inner: &D, reg: Reg, value: u32) {
        inner.write32(reg, value)
    }
}

impl<D, F: Fn(&D, Reg, u32)> WriteHook<D> for F {
    #[inline]
    fn write(&self, inner: &D, reg: Reg, value: u32) {
        self(inner, reg, value)
    }
}

impl<D: Device> NowHook<D> for Forward {
    #[inline(always)]
    fn now(&self, inner: &D) -> Instant {
        inner.now()
    }
}

impl<D, F: Fn(&D) -> Instant> NowHook<D> for F {
    #[inline]
    fn now(&self, inner: &D) -> Instant {
        self(inner)
    }
}

impl<D: Device> RelaxHook<D> for Forward {
    #[inline(always)]
    fn relax(&self, inner: &D) {
        inner.relax()
    }
}

impl<D, F: Fn(&D)> RelaxHook<D> for F {
    #[inline]
    fn relax(&self, inner: &D) {
        self(inner)
    }
}

impl<D> HookedDevice<D> {
    /// `inner` with no hooks: every call forwards.
    pub const fn new(inner: D) -> Self {
        HookedDevice {
            inner,
            read: Forward,
            write: Forward,
            now: Forward,
            relax: Forward,
        }
    }
}

impl<D, R, W, N, X> HookedDevice<D, R, W, N, X> {
    /// The device the calls forward to.
    pub const fn inner(&self) -> &D {
        &self.inner
    }

    /// Replaces [`Device::read32`] with `hook(inner, reg)`, whose result the caller reads.
    pub fn on_read<F: Fn(&D, Reg) -> u32>(self, hook: F) -> HookedDevice<D, F, W, N, X> {
        HookedDevice {
            inner: self.inner,
            read: hook,
            write: self.write,
            now: self.now,
            relax: self.relax,
        }
    }

    /// Replaces [`Device::write32`] with `hook(inner, reg, value)`; the write reaches the inner
    /// device only if the hook forwards it.
    pub fn on_write<F: Fn(&D, Reg, u32)>(self, hook: F) -> HookedDevice<D, R, F, N, X> {
        HookedDevice {
            inner: self.inner,
            read: self.read,
            write: hook,
            now: self.now,
            relax: self.relax,
        }
    }

    /// Replaces [`Device::now`] with `hook(inner)` (a scripted or shared clock).
    pub fn on_now<F: Fn(&D) -> Instant>(self, hook: F) -> HookedDevice<D, R, W, F, X> {
        HookedDevice {
            inner: self.inner,
            read: self.read,
            write: self.write,
            now: hook,
            relax: self.relax,
        }
    }

    /// Replaces [`Device::relax`] with `hook(inner)`. A mock's virtual clock only moves in its
    /// `relax`, so a hook on a [`MockGuc`](super::MockGuc) usually calls `inner.relax()` first.
    pub fn on_relax<F: Fn(&D)>(self, hook: F) -> HookedDevice<D, R, W, N, F> {
        HookedDevice {
            inner: self.inner,
            read: self.read,
            write: self.write,
            now: self.now,
            relax: hook,
        }
    }
}

impl<D, R, W, N, X> Device for HookedDevice<D, R, W, N, X>
where
    R: ReadHook<D>,
    W: WriteHook<D>,
    N: NowHook<D>,
    X: RelaxHook<D>,
{
    #[inline]
    fn read32(&self, reg: Reg) -> u32 {
        self.read.read(&self.inner, reg)
    }

    #[inline]
    fn write32(&self, reg: Reg, value: u32) {
        self.write.write(&self.inner, reg, value)
    }

    #[inline]
    fn now(&self) -> Instant {
        self.now.now(&self.inner)
    }

    #[inline]
    fn relax(&self) {
        self.relax.relax(&self.inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::{MockGuc, Provisioning};
    use crate::wire::regs::GtKind;
    use crate::wire::Version;
    use core::cell::{Cell, RefCell};
    use core::time::Duration;

    fn guc() -> MockGuc {
        MockGuc::new(
            GtKind::Primary,
            Version::new(1, 27),
            Provisioning::integrated(),
        )
    }

    /// MATCH_VERSION (wanted 1.2) through `dev`; returns the reply header.
    fn handshake(dev: &impl Device) -> u32 {
        let regs = GtKind::Primary.mailbox();
        dev.write32(regs.scratch(0), 0x0000_5500);
        dev.write32(regs.scratch(1), 0x0001_0200);
        dev.write32(regs.doorbell, 0);
        dev.read32(regs.scratch(0))
    }

    #[test]
    fn without_hooks_every_call_forwards() {
        let g = guc();
        g.set_relax_step(Duration::from_nanos(7));
        let dev = HookedDevice::new(&g);
        assert_eq!(handshake(&dev), 0xF000_0000);
        assert_eq!(g.access_counts().writes, 3);
        assert_eq!(g.access_counts().reads, 1);
        assert_eq!(g.access_counts().doorbells, 1);
        let t = dev.now();
        assert_eq!(t, g.now());
        dev.relax();
        assert_eq!(dev.now().nanos_since(t), 7);
        assert!(core::ptr::eq(*dev.inner(), &g));
        // No hooks cost no space: the wrapper is its inner device.
        assert_eq!(
            core::mem::size_of::<HookedDevice<&MockGuc>>(),
            core::mem::size_of::<&MockGuc>()
        );
    }

    #[test]
    fn a_read_hook_sees_every_read_and_decides_the_value() {
        let g = guc();
        let seen = RefCell::new([0u32; 4]);
        let n = Cell::new(0);
        let dev = HookedDevice::new(&g).on_read(|guc, reg| {
            let v = guc.read32(reg);
            seen.borrow_mut()[n.get()] = reg.offset();
            n.set(n.get() + 1);
            v ^ 1
        });
        assert_eq!(handshake(&dev), 0xF000_0001);
        assert_eq!(n.get(), 1);
        assert_eq!(
            seen.borrow()[0],
            GtKind::Primary.mailbox().scratch(0).offset()
        );
        // The other calls still forward.
        assert_eq!(g.access_counts().writes, 3);
        assert_eq!(dev.now(), g.now());
    }

    #[test]
    fn a_write_hook_can_drop_a_write() {
        let g = guc();
        let regs = GtKind::Primary.mailbox();
        let dropped = Cell::new(0);
        let dev = HookedDevice::new(&g).on_write(|guc, reg, value| {
            if reg == regs.doorbell {
                dropped.set(dropped.get() + 1);
            } else {
                guc.write32(reg, value)
            }
        });
        // The request never reaches the GuC: scratch 0 still holds what the VF wrote.
        assert_eq!(handshake(&dev), 0x0000_5500);
        assert_eq!(dropped.get(), 1);
        assert_eq!(g.access_counts().writes, 2);
        assert_eq!(g.access_counts().doorbells, 0);
    }

    #[test]
    fn now_and_relax_hooks_replace_the_clock_and_the_pause() {
        let g = guc();
        g.set_relax_step(Duration::from_nanos(5));
        let relaxed = Cell::new(0);
        let dev = HookedDevice::new(&g)
            .on_now(|_| Instant(42))
            .on_relax(|guc| {
                guc.relax();
                relaxed.set(relaxed.get() + 1);
            });
        let before = g.now();
        dev.relax();
        dev.relax();
        assert_eq!(relaxed.get(), 2);
        assert_eq!(g.now().nanos_since(before), 10);
        assert_eq!(dev.now(), Instant(42));
        // Reads and writes still forward.
        assert_eq!(handshake(&dev), 0xF000_0000);
    }

    #[test]
    fn hooks_set_later_keep_the_earlier_ones() {
        let g = guc();
        let reads = Cell::new(0);
        let writes = Cell::new(0);
        let dev = HookedDevice::new(&g)
            .on_read(|guc, reg| {
                reads.set(reads.get() + 1);
                guc.read32(reg)
            })
            .on_relax(|guc| guc.relax())
            .on_write(|guc, reg, value| {
                writes.set(writes.get() + 1);
                guc.write32(reg, value)
            });
        assert_eq!(handshake(&dev), 0xF000_0000);
        assert_eq!((reads.get(), writes.get()), (1, 3));
    }

    #[test]
    fn any_device_can_be_wrapped_and_the_wrapper_again() {
        let g = guc();
        let outer_reads = Cell::new(0);
        let inner = HookedDevice::new(&g).on_now(|_| Instant(9));
        let dev = HookedDevice::new(&inner).on_read(|d, reg| {
            outer_reads.set(outer_reads.get() + 1);
            d.read32(reg)
        });
        assert_eq!(handshake(&dev), 0xF000_0000);
        assert_eq!(outer_reads.get(), 1);
        assert_eq!(dev.now(), Instant(9));
    }
}
