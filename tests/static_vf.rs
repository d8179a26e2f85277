//! A `static` VF whose GTs own their `MmioBar`s (`Vf<MmioBar<_>, ..>`, no reference to a shared
//! `static` BAR): `MmioBar::from_raw_parts` is `const`, so each GT's BAR is built in the VF's
//! own initialiser, when the program is compiled. Both GTs' BARs are the same mapping.

use core::cell::UnsafeCell;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU64, Ordering};

use xe_sriov_vf::{
    BootstrapError, Clock, Device, GpuKind, GraphicsIp, Gt, GtId, GtInfo, GtKind, Instant,
    MailboxConfig, MailboxError, MmioBar, NoHooks, NoMemirq, PollingQueue, RecoveryConfig, Vf,
    VfError,
};

/// A clock shared by both BARs: 1 µs per poll.
struct Ticks;

static NS: AtomicU64 = AtomicU64::new(0);

impl Clock for Ticks {
    fn now(&self) -> Instant {
        Instant(NS.load(Ordering::Relaxed))
    }
    fn relax(&self) {
        NS.fetch_add(1_000, Ordering::Relaxed);
    }
}

/// Memory standing in for BAR 0 up to both GTs' mailboxes.
const LEN: usize = 0x19_1000;
#[repr(C, align(4096))]
struct Bar0(UnsafeCell<[u8; LEN]>);
// SAFETY: only the `MmioBar`s below touch it, with volatile 32-bit accesses.
unsafe impl Sync for Bar0 {}
static BAR0: Bar0 = Bar0(UnsafeCell::new([0; LEN]));

/// One GT's own `MmioBar` over `BAR0`, as a `const fn` for the `static` below.
const fn bar() -> MmioBar<Ticks> {
    // SAFETY: `BAR0` lives for the whole program, is 4 KiB aligned and `LEN` bytes long, and is
    // only accessed through `MmioBar`s (several may share one mapping: `Device` takes `&self`).
    unsafe { MmioBar::from_raw_parts(NonNull::new(BAR0.0.get().cast()).unwrap(), LEN, Ticks) }
}

const PTL: GraphicsIp = GraphicsIp::new(30, 0);

static VF: Vf<MmioBar<Ticks>, NoHooks, PollingQueue, 2> = Vf::new_static(
    [
        Gt::new(
            bar(),
            GtInfo::of(GtKind::Primary, GpuKind::Integrated, PTL),
            MailboxConfig::DEFAULT,
        ),
        Gt::new(
            bar(),
            GtInfo::of(GtKind::Media, GpuKind::Integrated, PTL),
            MailboxConfig::DEFAULT,
        ),
    ],
    NoHooks,
    PollingQueue::new(),
    RecoveryConfig::DEFAULT,
    NoMemirq,
);

#[test]
fn a_static_vf_over_owned_mmio_bars_bootstraps_through_them() {
    let started = Ticks.now();
    match VF.bootstrap() {
        Err(BootstrapError::Gt {
            gt: GtId(0),
            error: VfError::Mailbox(MailboxError::Timeout { .. }),
        }) => {}
        other => panic!("no GuC answers this memory: {other:?}"),
    }
    // VF_RESET (action 0x5507) went through GT 0's own BAR into the mapping.
    let primary = bar();
    assert_eq!(primary.read32(GtKind::Primary.mailbox().scratch(0)), 0x5507);
    let ms = Ticks.now().nanos_since(started) / 1_000_000;
    assert!(
        (50..=550).contains(&ms),
        "gave up after {ms} ms of clock time"
    );
}
