//! Memory-based interrupts end to end on the mock: registration through the mailbox, the GuC
//! writing SW_INT_0 into the tile's page, the handler's order and its clear-after rule, the peek
//! feeding "recovery pending" and GGTT validity, garbage bytes, a missing or wrong registration,
//! and engine units. Every recovery is checked with the GGTT oracle.
#![cfg(all(feature = "mock", feature = "std"))]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};

use common::{MemirqVf, RigBuilder, TILE_PAIR};
use xe_sriov_vf::coordinator::{GtId, GtSet, Signal};
use xe_sriov_vf::memirq::{Memirq, MemirqPage, MemirqReport};
use xe_sriov_vf::mock::{MemirqRegistration, MockGuc, MockMemirqPage, VfState};
use xe_sriov_vf::recovery::{BootstrapError, PassOutcome, RecoveryConfig};
use xe_sriov_vf::tile::TileId;
use xe_sriov_vf::wire::memirq::GucUnit;
use xe_sriov_vf::wire::self_cfg::{CtbControl, SelfCfgKey};

const BASE: u64 = 0x0020_0000;
const MOVED: u64 = 0x0120_0000;
/// Where the embedder mapped the memirq page in the VF's GGTT.
const PAGE_GGTT: u64 = 0x0030_0000;

type TestVf = MemirqVf<2>;

struct Rig {
    vf: &'static TestVf,
    gucs: [&'static MockGuc; 2],
    page: &'static MockMemirqPage,
}

/// A 2-GT tile (primary + media) on mocks sharing one memirq page, bootstrapped; registered
/// unless `register` is false.
fn rig(register: bool) -> Rig {
    rig_with(register, GtId(0), Some(GtId(1)))
}

/// [`rig`] with the page's GTs as given (`Memirq::new(page, .., primary, media)`).
fn rig_with(register: bool, primary: GtId, media: Option<GtId>) -> Rig {
    let r = RigBuilder::new(TILE_PAIR)
        .config(RecoveryConfig::default())
        .memirq_with(PAGE_GGTT, primary, media);
    let vf = r.vf;
    if register {
        vf.register_memirq().unwrap();
    }
    vf.memirq().enable();
    assert_eq!(vf.hooks().oracle.base(TileId(0)), Some(BASE));
    Rig {
        vf,
        gucs: r.gucs,
        page: r.page.unwrap(),
    }
}

fn drain(vf: &TestVf) -> Vec<PassOutcome> {
    let mut v = Vec::new();
    while vf.queue().take() && v.len() < 16 {
        v.push(vf.run_worker());
    }
    v
}

#[test]
fn registration_tells_each_guc_its_unit_in_the_page() {
    let r = rig(true);
    for (i, g) in r.gucs.iter().enumerate() {
        assert_eq!(g.memirq_registration(), MemirqRegistration::Ok, "GT {i}");
        let unit = GucUnit::for_gt(g.kind());
        assert_eq!(
            g.self_cfg_value(SelfCfgKey::MemirqSourceAddr),
            Some(PAGE_GGTT + 0x400 + u64::from(unit.unit()))
        );
        assert_eq!(
            g.self_cfg_value(SelfCfgKey::MemirqStatusAddr),
            Some(PAGE_GGTT + 16 * u64::from(unit.unit()))
        );
    }
    assert_eq!(r.page.enable_mask(), 0x0000_FFFF);
    r.vf.memirq().disable();
    assert_eq!(r.page.enable_mask(), 0);
    // CTB bring-up over the same mailbox: the crate does the MMIO step only.
    r.vf.with_gt(GtId(0), |gt| gt.control_ctb(CtbControl::Enable))
        .unwrap()
        .unwrap();
    assert!(r.gucs[0].ctb_enabled() && !r.gucs[1].ctb_enabled());
}

#[test]
fn a_migration_arrives_as_bytes_and_recovers_both_gts_once() {
    let r = rig(true);
    for g in r.gucs {
        g.migrate(MOVED);
        assert!(
            g.pending_interrupts().is_empty(),
            "no register vector with memirq"
        );
    }
    // Before any handler ran, the byte alone makes the recovery pending and the GGTT invalid.
    for gt in [GtId(0), GtId(1)] {
        assert!(r.vf.memirq().sw_int0_pending(gt));
        assert!(r.vf.recovery_pending(gt) && !r.vf.ggtt_valid(gt));
    }
    assert!(!r.vf.queue().is_pending());
    let report = r.vf.handle_memirq();
    assert_eq!(report, {
        let mut c = MemirqReport::default();
        c.sw_int0 = GtSet::all(2);
        c.guc2host = GtSet::empty();
        c.garbage = 0;
        c
    });
    assert_eq!(r.page.byte(0x190), 0, "primary SW_INT_0 cleared");
    assert_eq!(r.page.byte(0x180), 0, "media SW_INT_0 cleared");
    assert_eq!(r.page.byte(0x419), 0, "primary source cleared");
    assert_eq!(r.page.byte(0x418), 0, "media source cleared");
    assert!(
        r.vf.recovery_pending(GtId(0)),
        "the coordinator holds it now"
    );
    assert_eq!(drain(r.vf), [PassOutcome::Recovered(GtSet::all(2))]);
    assert_eq!(r.gucs.map(|g| g.state()), [VfState::Running; 2]);
    assert!(r.vf.ggtt_valid(GtId(0)) && r.vf.ggtt_valid(GtId(1)));
    let oracle = &r.vf.hooks().oracle;
    assert_eq!(oracle.check(TileId(0), MOVED), Ok(()));
    assert_eq!(oracle.moves(TileId(0)), 1, "one shared GGTT, one move");
    // A second handler run finds nothing.
    assert_eq!(r.vf.handle_memirq(), MemirqReport::default());
}

/// The clear-after rule: during the migration entry the SW_INT_0 byte is still set, so an
/// observer sees "pending" continuously from the GuC's write until the coordinator holds it.
#[test]
fn sw_int0_is_cleared_only_after_the_migration_entry_returned() {
    let r = rig(true);
    r.gucs[0].migrate(MOVED);
    let seen_during = AtomicBool::new(false);
    let report = r.vf.memirq().handle(|gt| {
        // Inside the entry, before it ran: the byte is still there.
        seen_during.store(r.vf.memirq().sw_int0_pending(gt), Ordering::SeqCst);
        assert!(r.vf.recovery_pending(gt));
        r.vf.migrated(gt)
    });
    assert!(seen_during.load(Ordering::SeqCst));
    assert_eq!(report.sw_int0, GtSet::single(GtId(0)));
    assert!(!r.vf.memirq().sw_int0_pending(GtId(0)));
    assert!(r.vf.recovery_pending(GtId(0)));
}

/// A peeking thread sees "pending" without a gap from the GuC's write to the accepted
/// RESFIX_DONE, while another thread runs the handler and the worker.
#[test]
fn a_concurrent_peek_never_sees_a_gap() {
    for _ in 0..200 {
        let r = rig(true);
        r.gucs[0].migrate(MOVED);
        let done = AtomicBool::new(false);
        std::thread::scope(|s| {
            let peeker = s.spawn(|| {
                let mut gaps = 0;
                while !done.load(Ordering::SeqCst) {
                    if !r.vf.recovery_pending(GtId(0)) && r.gucs[0].state() != VfState::Running {
                        gaps += 1;
                    }
                }
                gaps
            });
            r.vf.handle_memirq();
            drain(r.vf);
            done.store(true, Ordering::SeqCst);
            assert_eq!(
                peeker.join().unwrap(),
                0,
                "recovery read as not pending while blocked"
            );
        });
        assert_eq!(r.vf.hooks().oracle.check(TileId(0), MOVED), Ok(()));
    }
}

/// A migration raised while the handler runs (inside the migration entry): the handler clears
/// the byte the new migration set (the kernel's window), but with markers the GuC refuses the
/// stale RESFIX_DONE, so the VF still ends on the newest base, moved once per change.
#[test]
fn a_migration_during_the_handler_is_not_lost_with_markers() {
    let r = rig(true);
    const MOVED2: u64 = MOVED + 0x0100_0000;
    r.gucs[0].migrate(MOVED);
    r.gucs[1].migrate(MOVED);
    let raised = AtomicBool::new(false);
    r.vf.memirq().handle(|gt| {
        let s = r.vf.migrated(gt);
        if gt == GtId(0) && !raised.swap(true, Ordering::SeqCst) {
            // The queued pass runs first, then the VM moves again mid-handler.
            while r.vf.queue().take() {
                let _ = r.vf.run_worker();
            }
            for g in r.gucs {
                g.migrate(MOVED2);
            }
        }
        s
    });
    assert_eq!(
        r.gucs[0].state(),
        VfState::ResfixBlocked,
        "the second migration landed after GT 0's recovery was accepted"
    );
    // The handler's second look saw GT 0's source byte set over a cleared vector and reported
    // it; nothing else would (no RESFIX_DONE of GT 0 is left to be refused).
    assert!(r.vf.recovery_pending(GtId(0)));
    for _ in 0..4 {
        r.vf.handle_memirq();
        drain(r.vf);
    }
    assert_eq!(r.gucs.map(|g| g.state()), [VfState::Running; 2]);
    assert_eq!(r.vf.hooks().oracle.check(TileId(0), MOVED2), Ok(()));
    assert_eq!(
        r.vf.hooks().oracle.total_shift(TileId(0)),
        (MOVED2 - BASE) as i64
    );
}

#[test]
fn garbage_bytes_are_counted_and_treated_as_set() {
    let r = rig(true);
    r.gucs[1].migrate(MOVED);
    r.page.set_byte(0x180, 0x42); // media SW_INT_0: neither 0 nor 0xFF
    let report = r.vf.handle_memirq();
    assert_eq!(report.sw_int0, GtSet::single(GtId(1)));
    assert_eq!(report.garbage, 1);
    assert_eq!(r.vf.memirq().garbage_bytes(), 1);
    assert_eq!(r.page.byte(0x180), 0);
    drain(r.vf);
    assert_eq!(r.gucs[1].state(), VfState::Running);
}

#[test]
fn guc2host_is_reported_and_cleared_without_a_migration() {
    let r = rig(true);
    r.gucs[0].raise_guc2host();
    assert_eq!(r.page.byte(0x19F), 0xFF);
    let report = r.vf.handle_memirq();
    assert_eq!(report.guc2host, GtSet::single(GtId(0)));
    assert!(report.sw_int0.is_empty());
    assert_eq!(r.page.byte(0x19F), 0);
    assert!(!r.vf.queue().is_pending() && !r.vf.recovery_pending(GtId(0)));
}

/// Without registration no GuC interrupt ever reaches the VF: the GuC keeps it blocked, the
/// page stays clear, nothing is pending or queued (what the docs tell the embedder to expect).
/// A page that does not give every GT the GuC unit of its kind is refused before anything is
/// sent: the same GT as primary and media (GT1 has no unit), the kinds swapped (GT0 would get
/// the media unit), or only the primary GT on the page (a media GT left without one).
#[test]
fn a_page_that_misplaces_a_gt_is_refused_before_any_self_cfg() {
    for (primary, media, wrong) in [
        (GtId(0), Some(GtId(0)), GtId(1)),
        (GtId(1), Some(GtId(0)), GtId(0)),
        (GtId(0), None, GtId(1)),
    ] {
        let r = rig_with(false, primary, media);
        assert_eq!(
            r.vf.register_memirq(),
            Err(BootstrapError::MemirqMismatch { gt: wrong }),
            "page GTs {primary:?} / {media:?}"
        );
        for g in r.gucs {
            assert_eq!(g.memirq_registration(), MemirqRegistration::None);
        }
    }
}

#[test]
fn without_registration_no_interrupt_arrives() {
    let r = rig(false);
    assert_eq!(r.gucs[0].memirq_registration(), MemirqRegistration::None);
    r.gucs[0].migrate(MOVED);
    assert_eq!(r.page.byte(0x190), 0);
    assert_eq!(r.vf.handle_memirq(), MemirqReport::default());
    assert!(!r.vf.recovery_pending(GtId(0)) && !r.vf.queue().is_pending());
    assert_eq!(r.gucs[0].state(), VfState::ResfixBlocked);
}

#[test]
fn a_registration_at_the_wrong_addresses_is_visible() {
    let r = rig(false);
    r.vf.with_gt(GtId(1), |gt| {
        gt.register_memirq(PAGE_GGTT + 0x419, PAGE_GGTT + 0x190)
    })
    .unwrap()
    .unwrap();
    assert_eq!(
        r.gucs[1].memirq_registration(),
        MemirqRegistration::Wrong {
            source: PAGE_GGTT + 0x419,
            status: PAGE_GGTT + 0x190
        }
    );
}

#[test]
fn engine_units_are_the_embedders() {
    let r = rig(true);
    let m = r.vf.memirq();
    assert_eq!(m.take_unit(3), None, "source clear");
    r.page.set_byte(0x400 + 3, 0xFF);
    r.page.set_byte(3 * 16, 0xFF);
    r.page.set_byte(3 * 16 + 5, 0xFF);
    assert_eq!(m.take_unit(3), Some(0b10_0001));
    assert_eq!(r.page.byte(0x403), 0);
    assert_eq!(r.page.byte(3 * 16 + 5), 0);
    assert_eq!(m.take_unit(64), None, "out of range");
    // The page trait, for completeness.
    r.page.write32(0x440, 0x1234_5678);
    assert_eq!(r.page.enable_mask(), 0x1234_5678);
    assert_eq!(r.page.read8(5000), 0);
}

#[test]
fn a_report_on_a_gt_off_the_tile_is_ignored() {
    let r = rig(true);
    assert!(!r.vf.memirq().sw_int0_pending(GtId(7)));
    assert_eq!(r.vf.memirq().registration(GtId(7)), None);
    let s: Signal = r.vf.migrated(GtId(7));
    assert_eq!(s, Signal::InvalidGt);
}

/// From review: a page whose clears trigger scripted GuC writes (the GuC writes the vector
/// byte, then the source byte, at any time).
struct Scripted<'a> {
    page: &'a MockMemirqPage,
    step: std::cell::Cell<u32>,
}

impl MemirqPage for Scripted<'_> {
    fn read8(&self, o: usize) -> u8 {
        self.page.read8(o)
    }
    fn write8(&self, o: usize, v: u8) {
        self.page.write8(o, v);
        let u = GucUnit::Primary;
        let g2h = u.guc2host_offset();
        // A second GUC2HOST: its vector byte lands right after the handler cleared the source
        // byte, its source byte right after the handler consumed the vector byte.
        if o == u.source_offset() && v == 0 && self.step.get() == 0 {
            self.step.set(1);
            self.page.write8(g2h, 0xFF);
        }
        if o == g2h && v == 0 && self.step.get() == 1 {
            self.step.set(2);
            self.page.write8(u.source_offset(), 0xFF);
        }
    }
    fn write32(&self, o: usize, v: u32) {
        self.page.write32(o, v)
    }
}

/// The GuC's SW_INT_0 on unit `u`: its vector byte, then its source byte.
fn sw_int0(page: &MockMemirqPage, u: GucUnit) {
    page.set_byte(u.sw_int_0_offset(), 0xFF);
    page.set_byte(u.source_offset(), 0xFF);
}

/// A page with a GUC2HOST of the primary GuC in it (its vector byte and source byte set).
fn guc2host_pending() -> (MockMemirqPage, GucUnit) {
    let page = MockMemirqPage::new();
    let u = GucUnit::Primary;
    page.set_byte(u.guc2host_offset(), 0xFF);
    page.set_byte(u.source_offset(), 0xFF);
    (page, u)
}

/// CT traffic racing the handler is never taken for a migration (an earlier "source set over
/// an empty vector" rule did exactly that).
#[test]
fn guc2host_racing_the_handler_is_no_migration() {
    let (page, _) = guc2host_pending();
    let m = Memirq::new(
        Scripted {
            page: &page,
            step: std::cell::Cell::new(0),
        },
        PAGE_GGTT,
        GtId(0),
        None,
    );
    let mut calls = 0;
    let report = m.handle(|_| {
        calls += 1;
        Signal::Queued
    });
    assert_eq!(calls, 0, "no SW_INT_0 was written: {report:?}");
    assert_eq!(report.guc2host, GtSet::single(GtId(0)));
}

/// A second migration while the entry runs is seen, whatever else sits in the vector (a byte
/// the handler never clears, such as a notification bit).
#[test]
fn a_sw_int0_written_during_the_entry_is_never_overwritten() {
    let page = MockMemirqPage::new();
    let u = GucUnit::Primary;
    page.set_byte(u.status_offset() + 7, 0xFF);
    sw_int0(&page, u);
    let m = Memirq::new(&page, PAGE_GGTT, GtId(0), None);
    let mut calls = 0;
    let _ = m.handle(|gt| {
        calls += 1;
        assert!(m.sw_int0_pending(gt), "pending inside the entry");
        if calls == 1 {
            sw_int0(&page, u);
        }
        Signal::Queued
    });
    assert_eq!(calls, 2, "the second SW_INT_0 was lost");
    assert!(!m.sw_int0_pending(GtId(0)));
    assert_eq!(m.take_unit(25), None, "the GuC units are the handler's");
}

/// From review (issue 20): `Vf::with_memirq` accepts a page that names a GT the VF does not
/// have (GT N of a VF of N GTs). Its SW_INT_0 byte set must not make that GT "pending": an id
/// not below N is unknown, whatever the page says (this kills the `<` -> `<=` mutant of
/// `Vf::recovery_pending` that .ci/mutants-reviewed.txt once called equivalent).
#[test]
fn a_page_naming_gt_n_does_not_make_gt_n_pending() {
    use xe_sriov_vf::mock::{GgttOracle, Provisioning};
    use xe_sriov_vf::{
        GpuKind, GraphicsIp, Gt, GtInfo, GtKind, MailboxConfig, TestQueue, Version, Vf,
    };
    type OneGtVf =
        Vf<&'static MockGuc, GgttOracle<1>, TestQueue, 1, Memirq<&'static MockMemirqPage>>;
    let guc: &'static MockGuc = Box::leak(Box::new(MockGuc::new(
        GtKind::Primary,
        Version::new(1, 27),
        Provisioning::integrated(),
    )));
    let page: &'static MockMemirqPage = Box::leak(Box::default());
    let gts = [Gt::new(
        guc,
        GtInfo::of(GtKind::Primary, GpuKind::Integrated, GraphicsIp::new(20, 4)),
        MailboxConfig::KERNEL,
    )];
    // The page's media GuC is "GT 1"; the VF has GT 0 only.
    let memirq = Memirq::new(page, PAGE_GGTT, GtId(0), Some(GtId(1)));
    let vf: OneGtVf = Vf::with_memirq(
        gts,
        GgttOracle::new(),
        TestQueue::new(),
        RecoveryConfig::default(),
        memirq,
    )
    .expect("the page is accepted");
    page.set_byte(GucUnit::Media.sw_int_0_offset(), 0xFF);
    assert!(vf.memirq().sw_int0_pending(GtId(1)), "the page says GT 1");
    assert!(!vf.recovery_pending(GtId(1)), "but the VF has no GT 1");
    assert!(!vf.recovery_pending(GtId(0)));
}

/// The CPU's view of the page with a store buffer, as x86 has one (and weaker CPUs worse): a
/// write waits in `pending` until a barrier (or the end of the handler) drains it, the CPU's own
/// reads see its pending writes, and the GuC's writes go straight to memory. `on_read` is the
/// GuC: called with each offset the handler reads, and the value it read.
struct StoreBuffered<'a, F: Fn(usize, u8)> {
    memory: &'a MockMemirqPage,
    pending: std::cell::RefCell<Vec<(usize, u8)>>,
    on_read: F,
}

impl<'a, F: Fn(usize, u8)> StoreBuffered<'a, F> {
    fn new(memory: &'a MockMemirqPage, on_read: F) -> Self {
        StoreBuffered {
            memory,
            pending: std::cell::RefCell::new(Vec::new()),
            on_read,
        }
    }

    fn drain(&self) {
        for (o, v) in self.pending.borrow_mut().drain(..) {
            self.memory.set_byte(o, v);
        }
    }
}

impl<F: Fn(usize, u8)> MemirqPage for StoreBuffered<'_, F> {
    fn read8(&self, o: usize) -> u8 {
        let own = self
            .pending
            .borrow()
            .iter()
            .rev()
            .find(|(p, _)| *p == o)
            .map(|(_, v)| *v);
        let v = own.unwrap_or_else(|| self.memory.byte(o));
        (self.on_read)(o, v);
        v
    }
    fn write8(&self, o: usize, v: u8) {
        self.pending.borrow_mut().push((o, v));
    }
    fn write32(&self, o: usize, v: u32) {
        for (i, b) in v.to_le_bytes().into_iter().enumerate() {
            self.write8(o + i, b);
        }
    }
    fn full_barrier(&self) {
        self.drain();
    }
}

/// From review: the handler clears a unit's source byte and then reads its status bytes. If the
/// clear is still in the store buffer when the GuC sets SW_INT_0 and then the source byte (a
/// migration landing while the handler serves the unit's GUC2HOST), the handler reads SW_INT_0
/// clear and the late clear then overwrites the GuC's source byte: no look ever finds the
/// migration. With the clear made visible before the status reads, the GuC's source byte comes
/// after it, and the handler's second look (or the next MSI's handler) finds it.
#[test]
fn a_source_clear_is_visible_before_the_status_bytes_are_read() {
    let (memory, u) = guc2host_pending();
    let migrated = std::cell::Cell::new(false);
    let page = StoreBuffered::new(&memory, |o, v| {
        // The migration lands just after the handler found SW_INT_0 clear.
        if o == u.sw_int_0_offset() && v == 0 && !migrated.replace(true) {
            sw_int0(&memory, u);
        }
    });
    let m = Memirq::new(&page, PAGE_GGTT, GtId(0), None);
    let mut entries = 0;
    let mut handle = || {
        let report = m.handle(|_| {
            entries += 1;
            Signal::Queued
        });
        page.drain(); // the store buffer empties when the handler is done
        report
    };
    let first = handle();
    assert_eq!(first.guc2host, GtSet::single(GtId(0)));
    assert!(migrated.get(), "the GuC wrote SW_INT_0 during the handler");
    let _next_msi = handle();
    assert_eq!(entries, 1, "the migration was lost: {first:?}");
    assert_eq!(memory.byte(u.sw_int_0_offset()), 0);
    assert_eq!(memory.byte(u.source_offset()), 0);
}

/// The same for an engine unit (the embedder's, scanned with `take_unit`): an interrupt that
/// lands while its vector is read is found by the next scan, not overwritten by a late clear.
#[test]
fn take_unit_makes_its_source_clear_visible_before_reading_the_vector() {
    use xe_sriov_vf::wire::memirq::{source_offset, status_offset};
    let unit = 3;
    let (source, status) = (source_offset(unit).unwrap(), status_offset(unit).unwrap());
    let memory = MockMemirqPage::new();
    memory.set_byte(status, 0xFF);
    memory.set_byte(source, 0xFF);
    let landed = std::cell::Cell::new(false);
    let page = StoreBuffered::new(&memory, |o, v| {
        // Another interrupt of the unit lands just after the scan found its byte 1 clear.
        if o == status + 1 && v == 0 && !landed.replace(true) {
            memory.set_byte(status + 1, 0xFF);
            memory.set_byte(source, 0xFF);
        }
    });
    let m = Memirq::new(&page, PAGE_GGTT, GtId(0), None);
    assert_eq!(m.take_unit(unit), Some(0b01));
    page.drain();
    assert!(landed.get());
    assert_eq!(
        m.take_unit(unit),
        Some(0b10),
        "the second interrupt was lost"
    );
}

/// Two handlers of one tile at once (the MSI on one CPU, the embedder's poll or a second vector
/// on another): one that finishes while the other is still in the migration entry, before that
/// entry reported, must not end "pending" for the GT (the SW_INT_0 byte is clear by then, and
/// the coordinator has not heard of the migration yet).
#[test]
fn a_handler_that_finishes_first_leaves_the_other_ones_entry_pending() {
    let page = MockMemirqPage::new();
    let u = GucUnit::Primary;
    sw_int0(&page, u);
    let m = Memirq::new(&page, PAGE_GGTT, GtId(0), None);
    let mut calls = 0;
    let _ = m.handle(|gt| {
        calls += 1;
        if calls == 1 {
            // The GuC writes again, and another CPU's handler runs all the way through while
            // this entry has not reported yet.
            sw_int0(&page, u);
            let other = m.handle(|_| Signal::AlreadyPending);
            assert!(other.sw_int0.contains(gt));
            assert!(
                m.sw_int0_pending(gt),
                "a gap: the other handler counted this entry out"
            );
        }
        Signal::Queued
    });
    assert_eq!(calls, 1);
    assert!(!m.sw_int0_pending(GtId(0)));
}
