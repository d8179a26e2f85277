//! Bootstrap, the version handshake rules, the configuration query (order, gates, validation)
//! and re-query rules, on the mock GuC.
#![cfg(feature = "mock")]

mod common;

use std::sync::atomic::{AtomicU32, Ordering};

use xe_sriov_vf::device::Device;
use xe_sriov_vf::gt::{GpuKind, GraphicsIp, Gt, GtInfo, PlatformClass, VfError, VF_RESET_ATTEMPTS};
use xe_sriov_vf::mailbox::{MailboxConfig, MailboxError};
use xe_sriov_vf::mock::{Dir, Fault, MockGuc, Provisioning, Trigger, VfState};
use xe_sriov_vf::wire::action::{code, MmioMessage};
use xe_sriov_vf::wire::regs::GtKind;
use xe_sriov_vf::wire::{GucError, KlvKey, Marker, Version, WireError};

fn info(kind: GtKind, discrete: bool, verx100: u16) -> GtInfo {
    {
        let gpu = if discrete {
            GpuKind::Discrete
        } else {
            GpuKind::Integrated
        };
        let ip = GraphicsIp::from_verx100(verx100).expect("a graphics IP");
        let mut info = GtInfo::of(kind, gpu, ip);
        info.tile = xe_sriov_vf::TileId(0);
        info.platform = PlatformClass::Newer;
        info
    }
}

fn integrated(abi: Version) -> MockGuc {
    MockGuc::new(GtKind::Primary, abi, Provisioning::integrated())
}

fn gt(guc: &MockGuc, info: GtInfo) -> Gt<&MockGuc> {
    Gt::new(guc, info, MailboxConfig::default())
}

fn primary(guc: &MockGuc) -> Gt<&MockGuc> {
    gt(guc, info(GtKind::Primary, false, 2004))
}

/// The KLV keys queried, in order, from the transcript.
fn keys_queried(guc: &MockGuc) -> Vec<u16> {
    let mut keys = Vec::new();
    guc.drain_transcript(|e| {
        let m = e.msg.as_slice();
        if e.dir == Dir::ToGuc && m[0] & 0xFFFF == u32::from(code::QUERY_SINGLE_KLV) {
            keys.push(m[1] as u16);
        }
    });
    keys
}

fn reply(dw: &[u32]) -> Fault {
    Fault::Reply(MmioMessage::from_slice(dw).unwrap())
}

#[test]
fn bootstrap_negotiates_the_gucs_version_asking_for_the_platform_minimum() {
    let g = integrated(Version::new(1, 27));
    let mut gt = primary(&g);
    assert_eq!(gt.bootstrap(), Ok(Version::new(1, 27)));
    assert!(gt.supports_markers());
    let mut sent = Vec::new();
    g.drain_transcript(|e| {
        if e.dir == Dir::ToGuc {
            sent.push(e.msg.as_slice().to_vec());
        }
    });
    assert_eq!(
        sent,
        vec![vec![0x0000_5507], vec![0x0000_5500, 0x0001_0200]]
    );

    let g = integrated(Version::new(1, 1));
    let mut old = gt_with_class(&g, PlatformClass::TigerLakeToPonteVecchio);
    assert_eq!(old.bootstrap(), Ok(Version::new(1, 1)));
    assert!(!old.supports_markers());
}

fn gt_with_class(guc: &MockGuc, platform: PlatformClass) -> Gt<&MockGuc> {
    let mut i = info(GtKind::Primary, false, 1200);
    i.platform = platform;
    gt(guc, i)
}

#[test]
fn vf_reset_is_sent_up_to_ten_times_while_it_times_out() {
    let g = integrated(Version::new(1, 27));
    // The first VF_RESET_ATTEMPTS doorbells are dropped (those requests time out), the ones
    // after delivered: a VF that sent VF_RESET once too often would get an answer, so the test
    // fails at once instead of spinning.
    let doorbells = AtomicU32::new(0);
    let deaf = common::deaf_for(&g, VF_RESET_ATTEMPTS, &doorbells);
    let mut gt = Gt::new(
        &deaf,
        info(GtKind::Primary, false, 2004),
        MailboxConfig::default(),
    );
    assert!(matches!(
        gt.reset(),
        Err(VfError::Mailbox(MailboxError::Timeout { .. }))
    ));
    assert_eq!(doorbells.load(Ordering::SeqCst), VF_RESET_ATTEMPTS);

    // Eight timeouts, then an answer: success on the ninth attempt.
    for _ in 0..8 {
        g.inject(Trigger::Action(code::VF_RESET), Fault::NoReply)
            .unwrap();
    }
    let mut gt = primary(&g);
    assert_eq!(gt.reset(), Ok(()));
    assert_eq!(g.access_counts().doorbells, 9);
}

#[test]
fn vf_reset_is_not_resent_after_a_failure() {
    let g = integrated(Version::new(1, 27));
    g.inject(
        Trigger::Action(code::VF_RESET),
        Fault::Failure {
            error: GucError::NoPermission,
            hint: 0,
        },
    )
    .unwrap();
    let mut gt = primary(&g);
    assert_eq!(
        gt.reset(),
        Err(VfError::Mailbox(MailboxError::Remote {
            error: GucError::NoPermission,
            hint: 0
        }))
    );
    assert_eq!(g.access_counts().doorbells, 1);
}

#[test]
fn handshake_rules() {
    let cases: [(&[u32], VfError); 4] = [
        (
            &[0xF000_0000, 0x0002_1B00],
            VfError::VersionNewerMajor {
                wanted: Version::new(1, 2),
                found: Version::new(2, 27),
            },
        ),
        (
            &[0xF000_0000, 0x0000_0900],
            VfError::VersionMajorMismatch {
                wanted: Version::new(1, 2),
                found: Version::new(0, 9),
            },
        ),
        (
            &[0xF000_0000, 0x0001_0105],
            VfError::VersionTooOld {
                minimum: Version::new(1, 2),
                found: Version {
                    branch: 0,
                    major: 1,
                    minor: 1,
                    patch: 5,
                },
            },
        ),
        (
            &[0xF000_0001, 0x0001_1B00],
            VfError::BadReply {
                action: code::MATCH_VERSION,
                error: WireError::MustBeZero { dword: 0, bits: 1 },
            },
        ),
    ];
    for (answer, expected) in cases {
        let g = integrated(Version::new(1, 27));
        g.inject(Trigger::Action(code::MATCH_VERSION), reply(answer))
            .unwrap();
        let mut gt = primary(&g);
        assert_eq!(gt.bootstrap(), Err(expected));
        assert_eq!(gt.version(), None);
    }
    // The real GuC refusing another major: the follow-up MATCH_VERSION 0.0 learns what it
    // speaks, and the error reports it.
    let g = integrated(Version::new(2, 0));
    assert_eq!(
        primary(&g).bootstrap(),
        Err(VfError::VersionRefused {
            wanted: Version::new(1, 2),
            guc: Some(Version::new(2, 0)),
            error: MailboxError::Remote {
                error: GucError::UnsupportedVersion,
                hint: 0
            }
        })
    );
    let mut sent = Vec::new();
    g.drain_transcript(|e| {
        if e.dir == Dir::ToGuc {
            sent.push(e.msg.as_slice().to_vec());
        }
    });
    assert_eq!(sent.last().unwrap(), &vec![0x0000_5500, 0x0000_0000]);
}

#[test]
fn every_handshake_failure_asks_for_any_version_once() {
    for answer in [&[0xF000_0000u32, 0x0002_1B00][..], &[0xE000_0030]] {
        let g = integrated(Version::new(1, 27));
        g.inject(Trigger::Action(code::MATCH_VERSION), reply(answer))
            .unwrap();
        let mut gt = primary(&g);
        assert!(gt.bootstrap().is_err());
        let mut matches = Vec::new();
        g.drain_transcript(|e| {
            let m = e.msg.as_slice();
            if e.dir == Dir::ToGuc && m[0] & 0xFFFF == u32::from(code::MATCH_VERSION) {
                matches.push(m.to_vec());
            }
        });
        assert_eq!(
            matches,
            vec![
                vec![0x0000_5500, 0x0001_0200],
                vec![0x0000_5500, 0x0000_0000]
            ],
            "{answer:x?}"
        );
    }
}

#[test]
fn a_later_handshake_compares_major_minor_patch_not_branch() {
    let g = integrated(Version::new(1, 27));
    let mut gt = primary(&g);
    gt.bootstrap().unwrap();
    let patched = Version {
        patch: 1,
        ..Version::new(1, 27)
    };
    g.set_offered(patched);
    assert_eq!(
        gt.bootstrap(),
        Err(VfError::VersionChanged {
            previous: Version::new(1, 27),
            found: patched
        })
    );
    // A GuC that answers another branch but the same major.minor.patch is accepted.
    let g = integrated(Version::new(1, 27));
    let mut gt = primary(&g);
    gt.bootstrap().unwrap();
    g.inject(
        Trigger::Action(code::MATCH_VERSION),
        reply(&[0xF000_0000, 0x0301_1B00]),
    )
    .unwrap();
    assert_eq!(
        gt.bootstrap(),
        Ok(Version {
            branch: 3,
            ..Version::new(1, 27)
        })
    );
}

#[test]
fn a_later_handshake_asks_for_the_version_in_use_and_refuses_a_change() {
    let g = integrated(Version::new(1, 27));
    let mut gt = primary(&g);
    gt.bootstrap().unwrap();
    g.drain_transcript(|_| {});
    assert_eq!(gt.bootstrap(), Ok(Version::new(1, 27)));
    let mut sent = Vec::new();
    g.drain_transcript(|e| {
        if e.dir == Dir::ToGuc {
            sent.push(e.msg.as_slice().to_vec());
        }
    });
    assert_eq!(sent[1], vec![0x0000_5500, 0x0001_1B00]);

    g.set_offered(Version::new(1, 28));
    assert_eq!(
        gt.bootstrap(),
        Err(VfError::VersionChanged {
            previous: Version::new(1, 27),
            found: Version::new(1, 28)
        })
    );
    assert_eq!(gt.version(), Some(Version::new(1, 27)));
}

#[test]
fn query_order_and_gates_follow_the_kernel() {
    let k = |key: KlvKey| key.raw();
    let cases = [
        // (offered ABI, kind, discrete, verx100, expected keys)
        (
            Version::new(1, 27),
            GtKind::Primary,
            true,
            2001,
            vec![
                k(KlvKey::GgttStart),
                k(KlvKey::GgttSize),
                k(KlvKey::LmemSize),
                k(KlvKey::NumContexts),
                k(KlvKey::NumDoorbells),
                k(KlvKey::GroupSchedulingAvailable),
                k(KlvKey::GmdId),
            ],
        ),
        (
            Version::new(1, 36),
            GtKind::Media,
            true,
            2001,
            vec![
                k(KlvKey::GgttStart),
                k(KlvKey::GgttSize),
                k(KlvKey::NumContexts),
                k(KlvKey::NumDoorbells),
                k(KlvKey::GroupSchedulingAvailable),
                k(KlvKey::GmdId),
                k(KlvKey::NumPagingEngineInstances),
            ],
        ),
        (
            Version::new(1, 25),
            GtKind::Primary,
            false,
            1260,
            vec![
                k(KlvKey::GgttStart),
                k(KlvKey::GgttSize),
                k(KlvKey::NumContexts),
                k(KlvKey::NumDoorbells),
            ],
        ),
    ];
    for (abi, kind, discrete, verx100, expected) in cases {
        let prov = if discrete {
            Provisioning::discrete()
        } else {
            Provisioning::integrated()
        };
        let g = MockGuc::new(kind, abi, prov);
        let mut gt = gt(&g, info(kind, discrete, verx100));
        gt.bootstrap().unwrap();
        assert_eq!(gt.query_config().map(|c| c.ggtt_start), Ok(prov.ggtt_start));
        assert_eq!(keys_queried(&g), expected, "{abi} {kind:?}");
        let c = gt.config().unwrap();
        assert_eq!(c.ggtt_start, prov.ggtt_start);
        assert_eq!(c.lmem_size.is_some(), discrete && kind == GtKind::Primary);
        assert_eq!(c.num_paging_engine_instances.is_some(), abi.at_least(1, 36));
    }
}

#[test]
fn query_before_bootstrap_is_refused() {
    let g = integrated(Version::new(1, 27));
    let mut gt = primary(&g);
    assert_eq!(gt.query_config(), Err(VfError::NotBootstrapped));
    assert_eq!(
        gt.resfix_start(Marker::from_counter(0)),
        Err(VfError::NotBootstrapped)
    );
    assert_eq!(gt.resfix_done(None), Err(VfError::NotBootstrapped));
    assert_eq!(g.access_counts().doorbells, 0);
}

#[test]
fn klv_reply_length_and_format_errors() {
    let cases: [(&[u32], VfError); 3] = [
        (
            &[0xF000_0003, 0, 0, 0],
            VfError::KlvOverflow {
                key: KlvKey::GgttStart,
                len: 3,
            },
        ),
        (
            &[0xF000_0001, 0, 0, 0],
            VfError::KlvNoData {
                key: KlvKey::GgttStart,
                len: 1,
            },
        ),
        (
            &[0xF001_0002, 0, 0, 0],
            VfError::BadReply {
                action: code::QUERY_SINGLE_KLV,
                error: WireError::MustBeZero {
                    dword: 0,
                    bits: 0x0001_0000,
                },
            },
        ),
    ];
    for (answer, expected) in cases {
        let g = integrated(Version::new(1, 27));
        let mut gt = primary(&g);
        gt.bootstrap().unwrap();
        g.inject(Trigger::Action(code::QUERY_SINGLE_KLV), reply(answer))
            .unwrap();
        assert_eq!(gt.query_config(), Err(expected));
        assert!(gt.config().is_none());
    }
}

#[test]
fn invalid_values_are_refused() {
    let base = Provisioning::discrete();
    let cases = [
        (
            {
                let mut c = base;
                c.ggtt_size = 0;
                c
            },
            VfError::ZeroValue {
                key: KlvKey::GgttSize,
            },
        ),
        (
            {
                let mut c = base;
                c.num_contexts = 0;
                c
            },
            VfError::ZeroValue {
                key: KlvKey::NumContexts,
            },
        ),
        (
            {
                let mut c = base;
                c.lmem_size = Some(0);
                c
            },
            VfError::ZeroValue {
                key: KlvKey::LmemSize,
            },
        ),
        (
            {
                let mut c = base;
                c.ggtt_start = 0x40_1234;
                c
            },
            VfError::InvalidValue {
                key: KlvKey::GgttStart,
                value: 0x40_1234,
            },
        ),
        (
            {
                let mut c = base;
                c.lmem_size = Some(0x10_0000);
                c
            },
            VfError::InvalidValue {
                key: KlvKey::LmemSize,
                value: 0x10_0000,
            },
        ),
        (
            {
                let mut c = base;
                c.group_scheduling_available = 2;
                c
            },
            VfError::InvalidValue {
                key: KlvKey::GroupSchedulingAvailable,
                value: 2,
            },
        ),
    ];
    for (prov, expected) in cases {
        let g = MockGuc::new(GtKind::Primary, Version::new(1, 27), prov);
        let mut gt = gt(&g, info(GtKind::Primary, true, 2001));
        gt.bootstrap().unwrap();
        assert_eq!(gt.query_config(), Err(expected));
        assert!(gt.config().is_none());
    }
}

#[test]
fn requery_reports_the_new_base_and_computes_no_shift() {
    // The GGTT belongs to the tile; the GT only reports where the GuC says it is.
    let g = integrated(Version::new(1, 27));
    let mut gt = primary(&g);
    gt.bootstrap().unwrap();
    gt.query_config().unwrap();
    let start = Provisioning::integrated().ggtt_start;
    g.migrate(start + 0x4000_0000);
    assert_eq!(gt.query_config().unwrap().ggtt_start, start + 0x4000_0000);
    g.migrate(start);
    assert_eq!(gt.query_config().unwrap().ggtt_start, start);
}

#[test]
fn ggtt_range_is_checked_at_bootstrap_and_on_every_requery() {
    const TOP: u64 = xe_sriov_vf::gt::GUC_GGTT_TOP;
    let base = Provisioning::integrated();
    // (discrete, start, size): outside the GuC's range.
    let bad = [
        (false, 0x1F_F000, 0x1000),        // below the 2 MiB WOPCM
        (true, 0x20_0000, 0x1000),         // below the 4 MiB discrete WOPCM
        (false, TOP + 0x1000, 0x1000),     // above GUC_GGTT_TOP
        (false, TOP - 0x1000, 0x2000),     // size beyond the top
        (false, 1 << 63, 0x1000),          // far above
        (false, u64::MAX - 0xFFF, 0x1000), // start + size overflows u64
        (false, 0x20_0000, u64::MAX - 0xFFF),
    ];
    for (discrete, start, size) in bad {
        let prov = {
            let mut c = base;
            c.ggtt_start = start;
            c.ggtt_size = size;
            c.lmem_size = discrete.then_some(0x1_0000_0000);
            c
        };
        let g = MockGuc::new(GtKind::Primary, Version::new(1, 27), prov);
        let i = info(GtKind::Primary, discrete, 2004);
        let mut gt = gt(&g, i);
        gt.bootstrap().unwrap();
        assert_eq!(
            gt.query_config(),
            Err(VfError::GgttRange {
                start,
                size,
                wopcm: i.wopcm_size()
            }),
            "{start:#x}+{size:#x}"
        );
    }
    // At the edges: accepted.
    for (start, size) in [(0x20_0000, TOP - 0x20_0000), (TOP - 0x1000, 0x1000)] {
        let g = MockGuc::new(GtKind::Primary, Version::new(1, 27), {
            let mut c = base;
            c.ggtt_start = start;
            c.ggtt_size = size;
            c
        });
        let mut gt = primary(&g);
        gt.bootstrap().unwrap();
        assert!(gt.query_config().is_ok(), "{start:#x}+{size:#x}");
    }
    // A migration out of range is refused on the re-query, and the old config kept.
    let g = integrated(Version::new(1, 27));
    let mut gt = primary(&g);
    gt.bootstrap().unwrap();
    let before = gt.query_config().unwrap();
    g.migrate(TOP);
    assert!(matches!(gt.query_config(), Err(VfError::GgttRange { .. })));
    assert_eq!(gt.config(), Some(&before));
    // Meteor Lake has the 4 MiB WOPCM too.
    assert_eq!(info(GtKind::Primary, false, 1270).wopcm_size(), 4 << 20);
    assert_eq!(info(GtKind::Primary, false, 2004).wopcm_size(), 2 << 20);
}

#[test]
fn requery_accepts_doorbells_from_zero_and_takes_uncompared_keys() {
    let base = {
        let mut c = Provisioning::integrated();
        c.num_doorbells = 0;
        c
    };
    let g = MockGuc::new(GtKind::Primary, Version::new(1, 36), base);
    let mut gt = primary(&g);
    gt.bootstrap().unwrap();
    gt.query_config().unwrap();
    // Doorbells 0 -> 64 (the kernel's `old && old != new`), and group scheduling and the paging
    // engine count are not compared at all.
    g.restore({
        let mut c = base;
        c.num_doorbells = 64;
        c.group_scheduling_available = 0;
        c.num_paging_engine_instances = 3;
        c
    });
    g.resume();
    let c = gt.query_config().unwrap();
    assert_eq!(c.num_doorbells, 64);
    assert_eq!(c.group_scheduling_available, Some(false));
    assert_eq!(c.num_paging_engine_instances, Some(3));
    // From 64 on, a change is a reassignment.
    g.restore({
        let mut c = base;
        c.num_doorbells = 32;
        c
    });
    g.resume();
    assert!(matches!(
        gt.query_config(),
        Err(VfError::Reassigned {
            key: KlvKey::NumDoorbells,
            old: 64,
            new: 32
        })
    ));
}

#[test]
fn requery_refuses_any_other_change_and_keeps_the_old_config() {
    let base = Provisioning::discrete();
    let cases = [
        (
            {
                let mut c = base;
                c.ggtt_size = base.ggtt_size + 0x1000;
                c
            },
            KlvKey::GgttSize,
        ),
        (
            {
                let mut c = base;
                c.lmem_size = Some(0x2_0000_0000);
                c
            },
            KlvKey::LmemSize,
        ),
        (
            {
                let mut c = base;
                c.num_contexts = 512;
                c
            },
            KlvKey::NumContexts,
        ),
        (
            {
                let mut c = base;
                c.num_doorbells = 32;
                c
            },
            KlvKey::NumDoorbells,
        ),
    ];
    for (moved, key) in cases {
        let g = MockGuc::new(GtKind::Primary, Version::new(1, 27), base);
        let mut gt = gt(&g, info(GtKind::Primary, true, 2001));
        gt.bootstrap().unwrap();
        gt.query_config().unwrap();
        let before = *gt.config().unwrap();
        g.restore({
            let mut c = moved;
            c.ggtt_start = base.ggtt_start + 0x1000;
            c
        });
        g.resume();
        match gt.query_config() {
            Err(VfError::Reassigned { key: k, .. }) => assert_eq!(k, key),
            other => panic!("{key:?}: {other:?}"),
        }
        assert_eq!(gt.config(), Some(&before), "{key:?}: old config kept");
    }
}

#[test]
fn gmd_id_refusal_is_tolerated_like_the_kernel() {
    // VF ABI 1.1 has no GMD_ID KLV, yet a 12.70+ part asks for it: the GuC refuses, the kernel
    // logs and carries on.
    let g = integrated(Version::new(1, 1));
    let mut i = info(GtKind::Primary, false, 2004);
    i.platform = PlatformClass::TigerLakeToPonteVecchio;
    let mut gt = gt(&g, i);
    gt.bootstrap().unwrap();
    assert!(gt.query_config().is_ok());
    assert_eq!(
        gt.config().unwrap().gmd_id,
        Some(0),
        "the kernel's value on failure"
    );
    // Any failure, not only a FAILURE reply: a timeout too.
    let g = integrated(Version::new(1, 27));
    let mut gt = primary(&g);
    gt.bootstrap().unwrap();
    // The five keys before GMD_ID take a no-op fault each; GMD_ID's query times out.
    for _ in 0..5 {
        g.inject(
            Trigger::Action(code::QUERY_SINGLE_KLV),
            Fault::Retry { count: 0 },
        )
        .unwrap();
    }
    g.inject(Trigger::Action(code::QUERY_SINGLE_KLV), Fault::NoReply)
        .unwrap();
    let c = gt.query_config().unwrap();
    assert_eq!(c.gmd_id, Some(0));
}

#[test]
fn resfix_messages() {
    let g = integrated(Version::new(1, 27));
    let mut gt = primary(&g);
    gt.bootstrap().unwrap();
    g.migrate(0x0040_0000);
    let m = Marker::from_counter(4);
    gt.resfix_start(m).unwrap();
    gt.query_config().unwrap();
    assert_eq!(g.marker(), Some(m));
    // A second migration resets the GuC's marker: DONE is refused with VF_MIGRATED.
    g.migrate(0x0080_0000);
    let err = gt.resfix_done(Some(m)).unwrap_err();
    assert!(err.is_vf_migrated(), "{err:?}");
    gt.resfix_start(Marker::from_counter(5)).unwrap();
    gt.resfix_done(Some(Marker::from_counter(5))).unwrap();
    assert_eq!(g.state(), VfState::Running);
}

/// The split-phase calls (`post_*`, then `poll_op` until ready) answer what the blocking ones
/// answer in `resfix_messages`: RESFIX_START and RESFIX_DONE `None`, the re-query the new
/// configuration (which the GT keeps), a DONE refused after a second migration its error.
#[test]
fn poll_op_answers_as_the_blocking_calls() {
    use core::task::Poll;
    use xe_sriov_vf::gt::{GtOp, VfConfig};

    fn ready(
        gt: &mut Gt<&MockGuc>,
        op: Result<GtOp, VfError>,
    ) -> Result<Option<VfConfig>, VfError> {
        let mut op = op.expect("posted");
        // The mock answers within its latency; relax lets its clock run.
        for _ in 0..10_000 {
            if let Poll::Ready(result) = gt.poll_op(&mut op) {
                return result;
            }
            gt.device().relax();
        }
        panic!("no answer after 10,000 polls");
    }

    let g = integrated(Version::new(1, 27));
    let mut gt = primary(&g);
    gt.bootstrap().unwrap();
    let before = gt.query_config().unwrap();
    g.migrate(before.ggtt_start + 0x0040_0000);
    let m = Marker::from_counter(4);
    let op = gt.post_resfix_start(m);
    assert_eq!(ready(&mut gt, op), Ok(None));
    let op = gt.post_query_config();
    let config = ready(&mut gt, op)
        .unwrap()
        .expect("a query answers its configuration");
    assert_eq!(config.ggtt_start, before.ggtt_start + 0x0040_0000);
    assert_eq!(gt.config(), Some(&config));
    assert_eq!(g.marker(), Some(m));
    g.migrate(before.ggtt_start + 0x0080_0000);
    let op = gt.post_resfix_done(Some(m));
    let err = ready(&mut gt, op).unwrap_err();
    assert!(err.is_vf_migrated(), "{err:?}");
    let m = Marker::from_counter(5);
    let op = gt.post_resfix_start(m);
    assert_eq!(ready(&mut gt, op), Ok(None));
    let op = gt.post_resfix_done(Some(m));
    assert_eq!(ready(&mut gt, op), Ok(None));
    assert_eq!(g.state(), VfState::Running);
}

/// An operation that answered `Ready` is over: polling it again sends nothing, leaves the
/// GT's configuration as it was and answers `PolledAfterReady`, after a success and after a
/// query that failed at its first key (polling on would have posted the next key's request).
#[test]
fn poll_op_after_ready_sends_nothing() {
    use core::task::Poll;

    let g = integrated(Version::new(1, 27));
    let mut gt = primary(&g);
    gt.bootstrap().unwrap();
    let config = gt.query_config().unwrap();
    let again = |gt: &mut Gt<&MockGuc>, op: &mut xe_sriov_vf::gt::GtOp| {
        let doorbells = g.access_counts().doorbells;
        assert_eq!(gt.poll_op(op), Poll::Ready(Err(VfError::PolledAfterReady)));
        assert_eq!(g.access_counts().doorbells, doorbells, "nothing sent");
        assert_eq!(gt.config(), Some(&config));
    };

    let mut op = gt.post_query_config().unwrap();
    assert_eq!(gt.poll_op(&mut op), Poll::Ready(Ok(Some(config))));
    again(&mut gt, &mut op);

    g.inject(
        Trigger::Action(code::QUERY_SINGLE_KLV),
        reply(&[0xF000_0003, 0, 0, 0]),
    )
    .unwrap();
    let mut op = gt.post_query_config().unwrap();
    let overflow = VfError::KlvOverflow {
        key: KlvKey::GgttStart,
        len: 3,
    };
    assert_eq!(gt.poll_op(&mut op), Poll::Ready(Err(overflow)));
    again(&mut gt, &mut op);
    again(&mut gt, &mut op);

    let mut op = gt.post_resfix_done(None).unwrap();
    assert!(gt.poll_op(&mut op).is_ready());
    again(&mut gt, &mut op);
}

#[test]
fn platform_class_follows_the_graphics_ip() {
    use PlatformClass::*;
    for (verx100, class, minimum) in [
        (1200, TigerLakeToPonteVecchio, Version::new(1, 1)), // Tiger Lake
        (1255, TigerLakeToPonteVecchio, Version::new(1, 1)), // DG2
        (1260, TigerLakeToPonteVecchio, Version::new(1, 1)), // Ponte Vecchio
        (1270, Newer, Version::new(1, 2)),                   // Meteor Lake
        (2004, Newer, Version::new(1, 2)),                   // Lunar Lake
    ] {
        let ip = GraphicsIp::from_verx100(verx100).expect("a graphics IP");
        let info = GtInfo::of(GtKind::Primary, GpuKind::Integrated, ip);
        assert_eq!(info.platform, class, "{verx100}");
        assert_eq!(info.wanted_vf_abi(), minimum);
    }
}

// --- Kernel 7.1 mailbox rules seen from the GT, and the kernel's (7.3) query order.

#[test]
fn three_lost_vf_reset_replies_end_bootstrap_after_exactly_three_sends() {
    let g = integrated(Version::new(1, 27));
    let mut gt = primary(&g);
    for _ in 0..3 {
        g.inject(Trigger::Action(code::VF_RESET), Fault::FlrClear)
            .unwrap();
    }
    g.reset_access_counts();
    let t0 = g.now().0;
    assert_eq!(
        gt.bootstrap(),
        Err(VfError::Mailbox(MailboxError::LinkLost { losses: 3 }))
    );
    assert_eq!(g.access_counts().doorbells, 3, "no fourth VF_RESET");
    let ms = (g.now().0 - t0) / 1_000_000;
    assert_eq!(ms, 662, "3 x 50 ms + 2 x 256 ms");
}

#[test]
fn two_lost_vf_reset_replies_still_bootstrap() {
    let g = integrated(Version::new(1, 27));
    let mut gt = primary(&g);
    g.inject(Trigger::Action(code::VF_RESET), Fault::FlrClear)
        .unwrap();
    g.inject(Trigger::Action(code::VF_RESET), Fault::FlrClear)
        .unwrap();
    assert_eq!(gt.bootstrap(), Ok(Version::new(1, 27)));
}

#[test]
fn a_later_handshake_that_changes_only_the_branch_stores_the_reply() {
    let g = integrated(Version::new(1, 27));
    let mut gt = primary(&g);
    assert_eq!(gt.bootstrap(), Ok(Version::new(1, 27)));
    let branched = Version {
        branch: 1,
        ..Version::new(1, 27)
    };
    g.set_offered(branched);
    // The kernel does not compare the branch, and its match_version writes the reply into the
    // GT's version: the stored version is the one the GuC answered.
    assert_eq!(gt.handshake(), Ok(branched));
    assert_eq!(gt.version(), Some(branched));
}

/// Queries a GT bootstrapped on `prov`: the result and the keys the query asked for.
fn first_query(prov: Provisioning) -> (Result<xe_sriov_vf::gt::VfConfig, VfError>, Vec<u16>) {
    let g = MockGuc::new(GtKind::Primary, Version::new(1, 27), prov);
    let mut gt = primary(&g);
    gt.bootstrap().unwrap();
    g.drain_transcript(|_| {});
    let result = gt.query_config();
    (result, keys_queried(&g))
}

#[test]
fn the_first_query_stops_at_the_first_failing_key_like_kernel_7_3() {
    type Change = fn(&mut Provisioning);
    let cases: [(Change, VfError, &[u16]); 2] = [
        (
            |c| c.ggtt_size = 0,
            VfError::ZeroValue {
                key: KlvKey::GgttSize,
            },
            &[0x0001, 0x0002],
        ),
        (
            |c| c.num_contexts = 0,
            VfError::ZeroValue {
                key: KlvKey::NumContexts,
            },
            &[0x0001, 0x0002, 0x0004, 0x0006],
        ),
    ];
    for (change, error, keys) in cases {
        let mut prov = Provisioning::integrated();
        change(&mut prov);
        assert_eq!(first_query(prov), (Err(error), keys.to_vec()));
    }
}

/// Bootstraps and queries a GT on `prov`, then restores its GuC with `new` (a migration to a
/// changed provisioning) and re-queries: the result and the keys the re-query asked for.
fn requery(
    prov: Provisioning,
    new: Provisioning,
    discrete: bool,
) -> (Result<xe_sriov_vf::gt::VfConfig, VfError>, Vec<u16>) {
    let g = MockGuc::new(GtKind::Primary, Version::new(1, 27), prov);
    let mut gt = gt(&g, info(GtKind::Primary, discrete, 2004));
    gt.bootstrap().unwrap();
    let before = gt.query_config().unwrap();
    g.restore(new);
    g.resume();
    g.drain_transcript(|_| {});
    let result = gt.query_config();
    if result.is_err() {
        assert_eq!(gt.config(), Some(&before), "nothing changes on error");
    }
    (result, keys_queried(&g))
}

#[test]
fn a_requery_stops_at_the_first_failing_key_like_kernel_7_3() {
    use KlvKey::*;
    let reassigned = |key, old, new| VfError::Reassigned { key, old, new };
    type Change = fn(&mut Provisioning);
    let cases: [(&str, Change, bool, VfError, &[u16]); 6] = [
        (
            "a changed GGTT size, right after GGTT_SIZE",
            |c| c.ggtt_size = 0x2000_0000,
            false,
            reassigned(GgttSize, 0x3FE0_0000, 0x2000_0000),
            &[0x0001, 0x0002],
        ),
        (
            "a zero GGTT size: no data, before any reassignment",
            |c| c.ggtt_size = 0,
            false,
            VfError::ZeroValue { key: GgttSize },
            &[0x0001, 0x0002],
        ),
        (
            "a changed LMEM size, before a zero one",
            |c| c.lmem_size = Some(0),
            true,
            reassigned(LmemSize, 0x1_0000_0000, 0),
            &[0x0001, 0x0002, 0x0003],
        ),
        (
            "changed contexts, right after NUM_DOORBELLS, before zero contexts",
            |c| {
                c.num_contexts = 0;
                c.num_doorbells = 0;
            },
            false,
            reassigned(NumContexts, 1024, 0),
            &[0x0001, 0x0002, 0x0004, 0x0006],
        ),
        (
            "changed doorbells, right after NUM_DOORBELLS",
            |c| c.num_doorbells = 32,
            false,
            reassigned(NumDoorbells, 64, 32),
            &[0x0001, 0x0002, 0x0004, 0x0006],
        ),
        (
            // The kernel (7.3) moves the GGTT to whatever base the GuC reports; a base that is
            // not 4K-aligned cannot be mapped, so the crate refuses it (a deliberate
            // difference), right after GGTT_SIZE.
            "a misaligned GGTT base",
            |c| c.ggtt_start = 0x0120_0800,
            false,
            VfError::InvalidValue {
                key: GgttStart,
                value: 0x0120_0800,
            },
            &[0x0001, 0x0002],
        ),
    ];
    for (what, change, discrete, error, keys) in cases {
        let prov = if discrete {
            Provisioning::discrete()
        } else {
            Provisioning::integrated()
        };
        let mut new = prov;
        change(&mut new);
        assert_eq!(
            requery(prov, new, discrete),
            (Err(error), keys.to_vec()),
            "{what}"
        );
    }
}
