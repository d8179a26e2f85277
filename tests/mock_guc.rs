//! The mock GuC driven by hand through the `Device` trait: every action, every state rule,
//! every fault, the clock, the transcript and the counters, plus a hostile-sequence property
//! test.
#![cfg(feature = "mock")]

use proptest::prelude::*;
use std::time::Duration;

use xe_sriov_vf::device::{Device, Instant, Reg};
use xe_sriov_vf::mock::{
    gmd_id, AccessCounts, Dir, Fault, MockError, MockGuc, Provisioning, TranscriptEntry, Trigger,
    VfState, FAULT_QUEUE_LEN, HISTORY_LEN, TRANSCRIPT_LEN,
};
use xe_sriov_vf::wire::action::{code, KlvReply, MmioMessage};
use xe_sriov_vf::wire::hxg::Reply;
use xe_sriov_vf::wire::regs::{GtKind, GucIntr, MailboxRegs, MEDIA_GT, PRIMARY_GT};
use xe_sriov_vf::wire::{GucError, KlvKey, Marker, Request, Version};

// ---------------------------------------------------------------------------------------------
// helpers

const P: MailboxRegs = PRIMARY_GT;

fn guc(major: u8, minor: u8) -> MockGuc {
    MockGuc::new(
        GtKind::Primary,
        Version::new(major, minor),
        Provisioning::integrated(),
    )
}

/// Writes the request, does the posting read, rings; no polling.
fn ring(g: &MockGuc, regs: MailboxRegs, req: &[u32]) {
    for (i, dw) in req.iter().enumerate() {
        g.write32(regs.scratch(i), *dw);
    }
    let _ = g.read32(regs.scratch(3));
    g.write32(regs.doorbell, 0);
}

/// Sends on the primary GT and reads the four scratch registers back (scratch 0 first).
fn send(g: &MockGuc, req: &[u32]) -> [u32; 4] {
    ring(g, P, req);
    [
        g.read32(P.scratch(0)),
        g.read32(P.scratch(1)),
        g.read32(P.scratch(2)),
        g.read32(P.scratch(3)),
    ]
}

fn send_req(g: &MockGuc, req: Request) -> [u32; 4] {
    send(g, req.encode().unwrap().as_slice())
}

fn fail(error: GucError) -> u32 {
    Reply::Failure { hint: 0, error }.encode().unwrap()
}

const OK0: u32 = 0xF000_0000;
const RETRY0: u32 = 0xD000_0000;

fn busy(n: u32) -> u32 {
    Reply::Busy { counter: n }.encode().unwrap()
}

fn marker(n: u32) -> Marker {
    Marker::new(n).unwrap()
}

fn query(g: &MockGuc, key: KlvKey) -> [u32; 4] {
    send_req(g, Request::QuerySingleKlv { key: key.raw() })
}

fn klv_ok(reply: [u32; 4]) -> KlvReply {
    KlvReply::decode(&reply).unwrap_or_else(|e| panic!("not a KLV reply {reply:x?}: {e}"))
}

fn handshake(g: &MockGuc) {
    let r = send_req(
        g,
        Request::MatchVersion {
            wanted: Version::new(1, 2),
        },
    );
    assert_eq!(r[0], OK0);
}

fn start(g: &MockGuc, m: u32) -> u32 {
    send_req(g, Request::ResfixStart { marker: marker(m) })[0]
}

fn done(g: &MockGuc, m: Option<u32>) -> u32 {
    send_req(
        g,
        Request::ResfixDone {
            marker: m.map(marker),
        },
    )[0]
}

fn transcript(g: &MockGuc) -> Vec<TranscriptEntry> {
    let mut v = Vec::new();
    g.drain_transcript(|e| v.push(*e));
    v
}

fn lines(g: &MockGuc, gt: u8) -> Vec<String> {
    transcript(g)
        .iter()
        .map(|e| e.line(gt).to_string())
        .collect()
}

/// A minimal VF mailbox following ABI sheet section 4, to check the mock's timing model.
#[derive(Debug, PartialEq)]
enum Outcome {
    Success([u32; 4]),
    Failure(u32),
    Timeout,
    BusyTimeout,
    Protocol(u32),
}

fn vf_send(g: &MockGuc, req: &[u32]) -> Outcome {
    let mut flr_resent = false;
    let mut retries = 0;
    'send: loop {
        ring(g, P, req);
        let t0 = g.now();
        let mut busy_since: Option<Instant> = None;
        loop {
            let h = g.read32(P.scratch(0));
            if h >> 31 == 1 {
                match Reply::decode(h) {
                    Ok(Reply::Success { .. }) => {
                        return Outcome::Success([
                            h,
                            g.read32(P.scratch(1)),
                            g.read32(P.scratch(2)),
                            g.read32(P.scratch(3)),
                        ])
                    }
                    Ok(Reply::Failure { .. }) => return Outcome::Failure(h),
                    Ok(Reply::Retry { .. }) => {
                        retries += 1;
                        if retries > 10 {
                            return Outcome::Protocol(h);
                        }
                        continue 'send;
                    }
                    Ok(Reply::Busy { .. }) => {
                        let since = *busy_since.get_or_insert(g.now());
                        if g.now().nanos_since(since) >= 2_000_000_000 {
                            return Outcome::BusyTimeout;
                        }
                    }
                    Err(_) => return Outcome::Protocol(h),
                }
            } else if busy_since.is_none() && g.now().nanos_since(t0) >= 50_000_000 {
                if h == 0 && !flr_resent {
                    flr_resent = true;
                    continue 'send;
                }
                return Outcome::Timeout;
            }
            g.relax();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// construction, presets, traits

#[test]
fn presets_are_realistic() {
    for p in [Provisioning::integrated(), Provisioning::discrete()] {
        assert!(p.ggtt_start.is_multiple_of(0x1000));
        assert!(p.ggtt_size.is_multiple_of(0x1000));
        assert!(p.ggtt_size > 0);
        assert_eq!(p.num_contexts, 1024);
        assert_eq!(p.num_doorbells, 64);
        assert_eq!(p.group_scheduling_available, 1);
        assert_eq!(p.num_paging_engine_instances, 1);
        assert_eq!(p.gmd_id >> 22, 20);
    }
    assert_eq!(Provisioning::integrated().lmem_size, None);
    let lmem = Provisioning::discrete().lmem_size.unwrap();
    assert!(lmem > 0 && lmem.is_multiple_of(2 << 20));
    assert_eq!(gmd_id(20, 4, 0), 0x0501_0000);
    assert_eq!(gmd_id(12, 70, 4), 12 << 22 | 70 << 14 | 4);
}

#[test]
fn state_names() {
    let names: Vec<String> = [
        VfState::Ready,
        VfState::ReadyPaused,
        VfState::ResfixPaused,
        VfState::ResfixBlocked,
        VfState::Running,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(
        names,
        [
            "VF_READY",
            "VF_READY_PAUSED",
            "VF_RESFIX_PAUSED",
            "VF_RESFIX_BLOCKED",
            "VF_RUNNING"
        ]
    );
}

static STATIC_GUC: MockGuc = MockGuc::new(
    GtKind::Media,
    Version::new(1, 27),
    Provisioning::integrated(),
);

#[test]
fn mock_is_sync_const_and_shareable() {
    fn assert_sync<T: Sync + Send>() {}
    assert_sync::<MockGuc>();
    assert_eq!(STATIC_GUC.kind(), GtKind::Media);
    let g = guc(1, 27);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..100 {
                    g.relax();
                    let _ = g.read32(P.scratch(0));
                }
            });
        }
    });
    assert_eq!(g.now(), Instant(400 * 10_000));
    assert_eq!(g.access_counts().reads, 400);
    assert!(format!("{g:?}").contains("VF_READY") || format!("{g:?}").contains("Ready"));
}

#[test]
fn fresh_mock_getters() {
    let g = MockGuc::new(
        GtKind::Primary,
        Version::new(1, 27),
        Provisioning::discrete(),
    );
    assert_eq!(g.kind(), GtKind::Primary);
    assert_eq!(g.offered(), Version::new(1, 27));
    assert_eq!(g.state(), VfState::Ready);
    assert_eq!(g.negotiated(), None);
    assert_eq!(g.marker(), None);
    assert_eq!(g.provisioning(), Provisioning::discrete());
    assert_eq!(g.migrations(), 0);
    assert_eq!(g.resfix_done_accepted(), 0);
    assert_eq!(g.last_migration_done_count(), 0);
    assert_eq!(g.pending_interrupts(), GucIntr::empty());
    assert_eq!(g.state_history().as_slice(), &[VfState::Ready]);
    assert_eq!(g.now(), Instant(0));
    assert_eq!(g.scratch(), [0; 4]);
    assert_eq!(g.access_counts(), AccessCounts::default());
}

// ---------------------------------------------------------------------------------------------
// registers

#[test]
fn unmapped_registers_read_all_ones_and_ignore_writes() {
    let g = guc(1, 27);
    for off in [
        0u32,
        4,
        0x19_0000,
        0x19_023C,
        0x19_0250,
        0x19_0241,
        0xFFFF_FFFC,
    ] {
        assert_eq!(g.read32(Reg(off)), 0xFFFF_FFFF, "offset {off:#x}");
        g.write32(Reg(off), 0x5507);
    }
    // the media GT's registers are unmapped on a primary mock, and vice versa
    for i in 0..4 {
        assert_eq!(g.read32(MEDIA_GT.scratch(i)), 0xFFFF_FFFF);
    }
    g.write32(MEDIA_GT.scratch(0), 0x5507);
    g.write32(MEDIA_GT.doorbell, 0);
    assert_eq!(g.access_counts().doorbells, 0);
    assert_eq!(g.scratch(), [0; 4]);
    // the doorbell reads 0
    assert_eq!(g.read32(P.doorbell), 0);
    let c = g.access_counts();
    assert_eq!((c.writes, c.doorbells), (9, 0));
}

#[test]
fn media_gt_answers_at_its_own_registers() {
    let g = MockGuc::new(
        GtKind::Media,
        Version::new(1, 27),
        Provisioning::integrated(),
    );
    ring(&g, MEDIA_GT, &[0x5507]);
    assert_eq!(g.read32(MEDIA_GT.scratch(0)), OK0);
    assert_eq!(g.read32(P.scratch(0)), 0xFFFF_FFFF);
    g.write32(P.scratch(0), 0x5500);
    g.write32(P.doorbell, 0);
    assert_eq!(g.access_counts().doorbells, 1);
}

#[test]
fn scratch_reads_back_what_was_written_before_a_doorbell() {
    let g = guc(1, 27);
    for i in 0..4 {
        g.write32(P.scratch(i), 0x1000 + i as u32);
    }
    for i in 0..4 {
        assert_eq!(g.read32(P.scratch(i)), 0x1000 + i as u32);
    }
}

#[test]
fn a_reply_only_overwrites_its_own_length() {
    let g = guc(1, 27);
    g.write32(P.scratch(3), 0xAAAA);
    g.write32(P.scratch(2), 0xBBBB);
    // VF_RESET is one dword: scratch 1..3 keep what they held
    g.write32(P.scratch(1), 0xCCCC);
    g.write32(P.scratch(0), 0x5507);
    g.write32(P.doorbell, 0);
    // four dwords written: a 4-dword VF_RESET is malformed
    assert_eq!(g.read32(P.scratch(0)), fail(GucError::InvalidParams));
    assert_eq!(g.scratch()[1..], [0xCCCC, 0xBBBB, 0xAAAA]);
    // now a proper one-dword request; the stale dwords do not count
    g.write32(P.scratch(0), 0x5507);
    g.write32(P.doorbell, 0);
    assert_eq!(g.scratch(), [OK0, 0xCCCC, 0xBBBB, 0xAAAA]);
}

#[test]
fn request_length_is_highest_written_index_plus_one() {
    let g = guc(1, 27);
    // only scratch 1 written: length 2, dword 0 is whatever is there (0 = host REQUEST, action 0)
    g.write32(P.scratch(1), 0x0001_0200);
    g.write32(P.doorbell, 0);
    assert_eq!(g.read32(P.scratch(0)), fail(GucError::UnknownAction));
    let t = transcript(&g);
    assert_eq!(t[0].dir, Dir::ToGuc);
    assert_eq!(t[0].msg.as_slice(), &[0, 0x0001_0200]);
}

#[test]
fn empty_doorbell_is_invalid_params() {
    let g = guc(1, 27);
    g.write32(P.doorbell, 0);
    assert_eq!(g.read32(P.scratch(0)), fail(GucError::InvalidParams));
    // the transcript shows the stale scratch 0 as the request
    let t = lines(&g, 0);
    assert_eq!(t, ["gt0 > 0x00000000", "gt0 < 0xe0000060"]);
    // a second doorbell without writes: the GuC sees its own reply in scratch 0... but the
    // message is still empty, so INVALID_PARAMS again
    g.write32(P.doorbell, 0);
    assert_eq!(g.read32(P.scratch(0)), fail(GucError::InvalidParams));
}

// ---------------------------------------------------------------------------------------------
// malformed requests

#[test]
fn malformed_requests() {
    let g = guc(1, 27);
    handshake(&g);
    let cases: &[(&[u32], Option<u32>)] = &[
        // GuC-origin dword 0: ignored, no reply
        (&[0x8000_5507], None),
        (&[0xF000_0000], None),
        // undefined TYPE 4
        (&[0x4000_5507], Some(fail(GucError::InvalidParams))),
        // EVENT and FAST_REQUEST types
        (&[0x1000_5507], Some(fail(GucError::InvalidParams))),
        (&[0x2000_5507], Some(fail(GucError::InvalidParams))),
        // host-origin reply types
        (&[0x7000_0000], Some(fail(GucError::InvalidParams))),
        // unknown actions, RELAY_TO_PF over MMIO
        (&[0x0000_1234], Some(fail(GucError::UnknownAction))),
        (&[0x0000_5103, 1, 2], Some(fail(GucError::UnknownAction))),
        // must-be-zero DATA0
        (&[0x0001_5507], Some(fail(GucError::InvalidParams))),
        (
            &[0x0001_5500, 0x0001_0200],
            Some(fail(GucError::InvalidParams)),
        ),
        (&[0x0001_5509, 1], Some(fail(GucError::InvalidParams))),
        // wrong lengths
        (&[0x5507, 0], Some(fail(GucError::InvalidParams))),
        (&[0x5500], Some(fail(GucError::InvalidParams))),
        (&[0x5509], Some(fail(GucError::InvalidParams))),
        (&[0x5509, 1, 0], Some(fail(GucError::InvalidParams))),
        (&[0x0001_5508, 0], Some(fail(GucError::InvalidParams))),
        // MATCH_VERSION patch must be zero
        (&[0x5500, 0x0001_0201], Some(fail(GucError::InvalidParams))),
        // KLV key dword with bits 31:16 set
        (&[0x5509, 0x0001_0001], Some(fail(GucError::MalformedKlv))),
        // RESFIX_START marker 0
        (&[0x550F], Some(fail(GucError::InvalidParams))),
    ];
    for (req, want) in cases {
        let r = send(&g, req);
        match want {
            Some(w) => assert_eq!(r[0], *w, "request {req:x?}"),
            None => assert_eq!(r[0], req[0], "request {req:x?} must stay unanswered"),
        }
    }
    assert_eq!(g.state(), VfState::Running);
    assert_eq!(g.negotiated(), Some(Version::new(1, 27)));
}

// ---------------------------------------------------------------------------------------------
// VF_RESET

#[test]
fn vf_reset_from_each_allowed_state() {
    let g = guc(1, 27);
    // Ready
    assert_eq!(send(&g, &[0x5507]), [OK0, 0, 0, 0]);
    assert_eq!(g.state(), VfState::Ready);
    // Running
    handshake(&g);
    assert_eq!(g.state(), VfState::Running);
    assert_eq!(send_req(&g, Request::VfReset)[0], OK0);
    assert_eq!(g.state(), VfState::Ready);
    assert_eq!(g.negotiated(), None);
    // ResfixBlocked, with a marker stored
    handshake(&g);
    g.migrate(0x4000_0000);
    assert_eq!(start(&g, 7), OK0);
    assert_eq!(g.marker(), Some(marker(7)));
    assert_eq!(send_req(&g, Request::VfReset)[0], OK0);
    assert_eq!(g.state(), VfState::Ready);
    assert_eq!(g.marker(), None);
    assert_eq!(g.negotiated(), None);
    assert_eq!(
        g.state_history().as_slice(),
        &[
            VfState::Ready,
            VfState::Running,
            VfState::Ready,
            VfState::Running,
            VfState::ReadyPaused,
            VfState::ResfixPaused,
            VfState::ResfixBlocked,
            VfState::Ready,
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// MATCH_VERSION

#[test]
fn match_version_answers_the_offered_version() {
    let offered = Version {
        branch: 0,
        major: 1,
        minor: 27,
        patch: 3,
    };
    let g = MockGuc::new(GtKind::Primary, offered, Provisioning::integrated());
    // wanted 1.2: the GuC answers with what it has
    let r = send(&g, &[0x5500, 0x0001_0200]);
    assert_eq!(r[..2], [OK0, 0x0001_1B03]);
    assert_eq!(Version::decode_match_reply(&r), Ok(offered));
    assert_eq!(g.negotiated(), Some(offered));
    assert_eq!(g.state(), VfState::Running);
    // "any"
    assert_eq!(send(&g, &[0x5500, 0])[..2], [OK0, 0x0001_1B03]);
    // major 0 with a minor: still "any"
    assert_eq!(send(&g, &[0x5500, 0x0000_0500])[..2], [OK0, 0x0001_1B03]);
    // a newer minor than offered: the GuC still answers its own (the VF says "too old")
    assert_eq!(send(&g, &[0x5500, 0x0001_2000])[..2], [OK0, 0x0001_1B03]);
    // other major
    assert_eq!(
        send(&g, &[0x5500, 0x0002_0000])[0],
        fail(GucError::UnsupportedVersion)
    );
    // non-zero branch
    assert_eq!(
        send(&g, &[0x5500, 0x0101_0200])[0],
        fail(GucError::InvalidParams)
    );
    // failures leave the negotiated version alone
    assert_eq!(g.negotiated(), Some(offered));
    assert_eq!(g.state(), VfState::Running);
}

#[test]
fn failed_match_version_in_ready_stays_ready() {
    let g = guc(1, 27);
    assert_eq!(
        send(&g, &[0x5500, 0x0002_0000])[0],
        fail(GucError::UnsupportedVersion)
    );
    assert_eq!(g.state(), VfState::Ready);
    assert_eq!(g.negotiated(), None);
}

#[test]
fn match_version_during_recovery_keeps_resfix_blocked() {
    let g = guc(1, 27);
    handshake(&g);
    g.migrate(0x80_0000);
    handshake(&g);
    assert_eq!(g.state(), VfState::ResfixBlocked);
}

#[test]
fn set_offered_changes_later_answers() {
    let g = guc(1, 27);
    handshake(&g);
    g.set_offered(Version::new(1, 30));
    assert_eq!(g.offered(), Version::new(1, 30));
    assert_eq!(g.negotiated(), Some(Version::new(1, 27)));
    let r = send(&g, &[0x5500, 0x0001_1B00]);
    assert_eq!(r[1], 0x0001_1E00);
    assert_eq!(g.negotiated(), Some(Version::new(1, 30)));
}

// ---------------------------------------------------------------------------------------------
// QUERY_SINGLE_KLV

#[test]
fn klv_needs_a_negotiated_version() {
    let g = guc(1, 27);
    assert_eq!(
        query(&g, KlvKey::GgttStart)[0],
        fail(GucError::InvalidState)
    );
    handshake(&g);
    assert_eq!(klv_ok(query(&g, KlvKey::GgttStart)).len, 2);
    send_req(&g, Request::VfReset);
    assert_eq!(
        query(&g, KlvKey::GgttStart)[0],
        fail(GucError::InvalidState)
    );
}

#[test]
fn klv_values() {
    let prov = {
        let mut c = Provisioning::DEFAULT;
        c.ggtt_start = 0x1_2345_6000;
        c.ggtt_size = 0x3FE0_0000;
        c.lmem_size = Some(0x2_0000_0000);
        c.num_contexts = 1000;
        c.num_doorbells = 60;
        c.tile_mask = 0x3;
        c.gmd_id = 0x0501_0004;
        c.group_scheduling_available = 1;
        c.num_paging_engine_instances = 2;
        c
    };
    let g = MockGuc::new(GtKind::Primary, Version::new(1, 36), prov);
    handshake(&g);
    let r = query(&g, KlvKey::GgttStart);
    assert_eq!(r, [0xF000_0002, 0x2345_6000, 0x1, 0]);
    assert_eq!(klv_ok(r).value_u64(), prov.ggtt_start);
    assert_eq!(
        klv_ok(query(&g, KlvKey::GgttSize)).value_u64(),
        prov.ggtt_size
    );
    assert_eq!(
        klv_ok(query(&g, KlvKey::LmemSize)).value_u64(),
        0x2_0000_0000
    );
    let one = |k: KlvKey| {
        let r = klv_ok(query(&g, k));
        assert_eq!(r.len, 1, "{k}");
        r.value[0]
    };
    assert_eq!(one(KlvKey::NumContexts), 1000);
    assert_eq!(one(KlvKey::NumDoorbells), 60);
    assert_eq!(one(KlvKey::TileMask), 3);
    assert_eq!(one(KlvKey::GmdId), 0x0501_0004);
    assert_eq!(one(KlvKey::GroupSchedulingAvailable), 1);
    assert_eq!(one(KlvKey::NumPagingEngineInstances), 2);
    // a KLV reply writes its header and LENGTH value dwords only (1 + LENGTH registers): the
    // rest keep what they held (here the 64-bit GGTT_SIZE's high dword and the request's key)
    send(&g, &[0x5509, 2]);
    let r = query(&g, KlvKey::TileMask);
    assert_eq!(&r[..2], &[0xF000_0001, 3]);
    // unknown keys
    for key in [0u16, 7, 0x3002, 0x3004, 0xFFFF] {
        assert_eq!(
            send(&g, &[0x5509, u32::from(key)])[0],
            fail(GucError::InvalidKlvKey),
            "key {key:#x}"
        );
    }
}

#[test]
fn lmem_only_when_provisioned() {
    let g = guc(1, 27);
    handshake(&g);
    assert_eq!(
        query(&g, KlvKey::LmemSize)[0],
        fail(GucError::InvalidKlvKey)
    );
    let d = MockGuc::new(
        GtKind::Primary,
        Version::new(1, 27),
        Provisioning::discrete(),
    );
    handshake(&d);
    assert_eq!(
        klv_ok(query(&d, KlvKey::LmemSize)).value_u64(),
        0x1_0000_0000
    );
}

#[test]
fn klv_version_gates() {
    let gates = [
        (KlvKey::GmdId, (1, 1), (1, 2)),
        (KlvKey::GroupSchedulingAvailable, (1, 25), (1, 26)),
        (KlvKey::NumPagingEngineInstances, (1, 35), (1, 36)),
    ];
    for (key, below, at) in gates {
        let g = guc(below.0, below.1);
        handshake(&g);
        assert_eq!(
            query(&g, key)[0],
            fail(GucError::InvalidKlvKey),
            "{key} at {below:?}"
        );
        let g = guc(at.0, at.1);
        handshake(&g);
        assert_eq!(klv_ok(query(&g, key)).len, 1, "{key} at {at:?}");
    }
    // a later major passes every gate
    let g = guc(2, 0);
    assert_eq!(send(&g, &[0x5500, 0x0002_0000])[0], OK0);
    assert_eq!(klv_ok(query(&g, KlvKey::NumPagingEngineInstances)).len, 1);
}

// ---------------------------------------------------------------------------------------------
// RESFIX_START / RESFIX_DONE with markers (VF ABI 1.27+)

#[test]
fn resfix_start_is_unknown_before_1_27() {
    let g = guc(1, 26);
    handshake(&g);
    g.migrate(0x4000_0000);
    assert_eq!(start(&g, 1), fail(GucError::UnknownAction));
    // even with a malformed marker: the action does not exist at all
    assert_eq!(send(&g, &[0x550F])[0], fail(GucError::UnknownAction));
    assert_eq!(g.marker(), None);
    // without a handshake, the offered version decides
    let g = guc(1, 26);
    assert_eq!(start(&g, 1), fail(GucError::UnknownAction));
}

#[test]
fn resfix_start_state_rules() {
    let g = guc(1, 27);
    // Ready, no version yet
    assert_eq!(start(&g, 1), fail(GucError::InvalidState));
    // migrated before any handshake: blocked but still no version
    g.migrate(0x4000_0000);
    assert_eq!(start(&g, 1), fail(GucError::InvalidState));
    send_req(&g, Request::VfReset);
    handshake(&g);
    // Running: tolerated
    assert_eq!(start(&g, 3), OK0);
    assert_eq!(g.marker(), Some(marker(3)));
    assert_eq!(g.state(), VfState::Running);
    // ResfixBlocked: the normal case; a migration reset the marker
    g.migrate(0x4000_0000);
    assert_eq!(g.marker(), None);
    assert_eq!(start(&g, 4), OK0);
    assert_eq!(g.marker(), Some(marker(4)));
    // a second START replaces the marker
    assert_eq!(start(&g, 0xFFF), OK0);
    assert_eq!(g.marker(), Some(marker(0xFFF)));
    assert_eq!(g.state(), VfState::ResfixBlocked);
}

#[test]
fn resfix_done_with_markers() {
    let g = guc(1, 27);
    handshake(&g);
    g.migrate(0x4000_0000);
    assert_eq!(g.last_migration_done_count(), 0);
    // DONE before START: nothing stored
    assert_eq!(done(&g, Some(1)), fail(GucError::VfMigrated));
    assert_eq!(start(&g, 1), OK0);
    // wrong marker, legacy form
    assert_eq!(done(&g, Some(2)), fail(GucError::VfMigrated));
    assert_eq!(done(&g, None), fail(GucError::VfMigrated));
    assert_eq!(g.state(), VfState::ResfixBlocked);
    assert_eq!(g.resfix_done_accepted(), 0);
    // the right one
    assert_eq!(done(&g, Some(1)), OK0);
    assert_eq!(g.state(), VfState::Running);
    assert_eq!(g.marker(), None);
    assert_eq!(g.resfix_done_accepted(), 1);
    assert_eq!(g.last_migration_done_count(), 1);
    // a duplicate DONE: the marker was consumed
    assert_eq!(done(&g, Some(1)), fail(GucError::VfMigrated));
    assert_eq!(g.last_migration_done_count(), 1);
}

#[test]
fn second_migration_makes_the_old_marker_stale() {
    let g = guc(1, 27);
    handshake(&g);
    g.migrate(0x4000_0000);
    assert_eq!(start(&g, 1), OK0);
    g.migrate(0x8000_0000);
    assert_eq!(g.migrations(), 2);
    assert_eq!(done(&g, Some(1)), fail(GucError::VfMigrated));
    assert_eq!(g.state(), VfState::ResfixBlocked);
    // the recovery runs again
    assert_eq!(start(&g, 2), OK0);
    assert_eq!(done(&g, Some(2)), OK0);
    assert_eq!(g.state(), VfState::Running);
    assert_eq!(g.last_migration_done_count(), 1);
    assert_eq!(g.resfix_done_accepted(), 1);
}

#[test]
fn resfix_done_in_running_after_a_racing_start() {
    let g = guc(1, 27);
    handshake(&g);
    assert_eq!(start(&g, 9), OK0);
    assert_eq!(done(&g, Some(9)), OK0);
    assert_eq!(g.state(), VfState::Running);
    assert_eq!(g.resfix_done_accepted(), 1);
    // no migration yet: the per-migration count still counts it
    assert_eq!(g.last_migration_done_count(), 1);
}

#[test]
fn resfix_done_invalid_in_ready() {
    for v in [(1, 27), (1, 26)] {
        let g = guc(v.0, v.1);
        assert_eq!(done(&g, None), fail(GucError::InvalidState));
        // migrated before a handshake: no version, still invalid
        g.migrate(0x4000_0000);
        assert_eq!(done(&g, None), fail(GucError::InvalidState));
    }
}

// ---------------------------------------------------------------------------------------------
// legacy RESFIX_DONE (before 1.27)

#[test]
fn legacy_resfix_done() {
    let g = guc(1, 26);
    handshake(&g);
    g.migrate(0x4000_0000);
    // a marker is must-be-zero data here
    assert_eq!(done(&g, Some(1)), fail(GucError::InvalidParams));
    assert_eq!(g.state(), VfState::ResfixBlocked);
    assert_eq!(done(&g, None), OK0);
    assert_eq!(g.state(), VfState::Running);
    assert_eq!(g.last_migration_done_count(), 1);
    // in Running: a no-op SUCCESS, counted (so duplicates are visible)
    assert_eq!(done(&g, None), OK0);
    assert_eq!(g.state(), VfState::Running);
    assert_eq!(g.resfix_done_accepted(), 2);
    assert_eq!(g.last_migration_done_count(), 2);
    // a new migration resets the per-migration count
    g.migrate(0x4000_0000);
    assert_eq!(g.last_migration_done_count(), 0);
    assert_eq!(g.resfix_done_accepted(), 2);
}

// ---------------------------------------------------------------------------------------------
// migration

#[test]
fn migrate_walks_the_states_and_raises_sw_int_0() {
    let g = guc(1, 27);
    handshake(&g);
    g.clear_state_history();
    assert_eq!(g.state_history().as_slice(), &[VfState::Running]);
    g.migrate(0x8000_0000);
    assert_eq!(
        g.state_history().as_slice(),
        &[
            VfState::Running,
            VfState::ReadyPaused,
            VfState::ResfixPaused,
            VfState::ResfixBlocked
        ]
    );
    assert_eq!(g.provisioning().ggtt_start, 0x8000_0000);
    assert_eq!(
        {
            let mut c = g.provisioning();
            c.ggtt_start = Provisioning::integrated().ggtt_start;
            c
        },
        Provisioning::integrated()
    );
    assert_eq!(g.migrations(), 1);
    assert_eq!(g.negotiated(), Some(Version::new(1, 27)));
    assert_eq!(g.pending_interrupts(), GucIntr::SW_INT_0);
    assert_eq!(g.pending_interrupts(), GucIntr::SW_INT_0);
    assert_eq!(g.take_interrupts(), GucIntr::SW_INT_0);
    assert_eq!(g.take_interrupts(), GucIntr::empty());
    // the new GGTT start is what the VF re-queries
    assert_eq!(
        klv_ok(query(&g, KlvKey::GgttStart)).value_u64(),
        0x8000_0000
    );
    // migrating again from RESFIX_BLOCKED
    g.migrate(0xC000_0000);
    assert_eq!(g.migrations(), 2);
    assert_eq!(g.take_interrupts(), GucIntr::SW_INT_0);
    assert_eq!(
        &g.state_history()[4..],
        &[
            VfState::ReadyPaused,
            VfState::ResfixPaused,
            VfState::ResfixBlocked
        ]
    );
}

#[test]
fn stepwise_migration_with_a_reassignment() {
    let g = guc(1, 27);
    handshake(&g);
    g.pause();
    assert_eq!(g.state(), VfState::ReadyPaused);
    g.pause(); // no-op
    let mut prov = g.provisioning();
    prov.ggtt_start += 0x10_0000;
    prov.num_contexts = 512;
    g.restore(prov);
    assert_eq!(g.state(), VfState::ResfixPaused);
    assert_eq!(g.pending_interrupts(), GucIntr::empty());
    assert_eq!(g.migrations(), 0);
    g.resume();
    assert_eq!(g.state(), VfState::ResfixBlocked);
    assert_eq!(g.take_interrupts(), GucIntr::SW_INT_0);
    assert_eq!(g.migrations(), 1);
    assert_eq!(klv_ok(query(&g, KlvKey::NumContexts)).value[0], 512);
    // resume when not paused: nothing
    g.resume();
    assert_eq!(g.state(), VfState::ResfixBlocked);
    assert_eq!(g.migrations(), 1);
}

#[test]
fn restore_pauses_first_when_needed() {
    let g = guc(1, 27);
    handshake(&g);
    g.restore(Provisioning::integrated());
    assert_eq!(g.state(), VfState::ResfixPaused);
    assert_eq!(
        &g.state_history()[1..],
        &[
            VfState::Running,
            VfState::ReadyPaused,
            VfState::ResfixPaused
        ]
    );
}

#[test]
fn plain_pause_resume_returns_to_the_previous_state() {
    let g = guc(1, 27);
    handshake(&g);
    g.pause();
    g.resume();
    assert_eq!(g.state(), VfState::Running);
    assert_eq!(g.migrations(), 0);
    assert_eq!(g.pending_interrupts(), GucIntr::empty());
    let r = MockGuc::new(
        GtKind::Primary,
        Version::new(1, 27),
        Provisioning::integrated(),
    );
    r.pause();
    r.resume();
    assert_eq!(r.state(), VfState::Ready);
}

#[test]
fn state_history_is_bounded() {
    let g = guc(1, 27);
    handshake(&g);
    for i in 0..10 {
        g.migrate(0x1000 * i);
        assert_eq!(start(&g, 1), OK0);
        assert_eq!(done(&g, Some(1)), OK0);
    }
    let h = g.state_history();
    assert_eq!(h.len(), HISTORY_LEN);
    assert_eq!(h.last(), Some(&VfState::Running));
    assert_eq!(
        &h[h.len() - 5..],
        &[
            VfState::Running,
            VfState::ReadyPaused,
            VfState::ResfixPaused,
            VfState::ResfixBlocked,
            VfState::Running
        ]
    );
    assert_eq!(g.resfix_done_accepted(), 10);
    assert_eq!(g.last_migration_done_count(), 1);
}

// ---------------------------------------------------------------------------------------------
// paused states

#[test]
fn paused_vf_gets_no_reply() {
    let g = guc(1, 27);
    handshake(&g);
    g.inject(
        Trigger::AnyRequest,
        Fault::Failure {
            error: GucError::GenericFail,
            hint: 0,
        },
    )
    .unwrap();
    for step in 0..2 {
        if step == 0 {
            g.pause();
        } else {
            g.restore(g.provisioning());
        }
        assert!(g.state().is_paused());
        for req in [&[0x5507u32][..], &[0x5500, 0x0001_0200], &[0x5509, 1]] {
            let r = send(&g, req);
            assert_eq!(r[0], req[0], "{} must not answer", g.state());
        }
        assert_eq!(vf_send(&g, &[0x5507]), Outcome::Timeout);
    }
    // nothing changed, the fault is still queued
    assert_eq!(g.negotiated(), Some(Version::new(1, 27)));
    assert_eq!(g.pending_faults(), 1);
    g.resume();
    assert_eq!(send(&g, &[0x5507])[0], fail(GucError::GenericFail));
    assert_eq!(g.pending_faults(), 0);
}

// ---------------------------------------------------------------------------------------------
// faults

#[test]
fn fault_no_reply() {
    let g = guc(1, 27);
    g.inject(Trigger::AnyRequest, Fault::NoReply).unwrap();
    assert_eq!(
        send(&g, &[0x5500, 0x0001_0200]),
        [0x5500, 0x0001_0200, 0, 0]
    );
    assert_eq!(g.state(), VfState::Ready);
    assert_eq!(g.negotiated(), None);
    // the VF times out after 50 ms of virtual time, without an FLR resend
    g.inject(Trigger::AnyRequest, Fault::NoReply).unwrap();
    let t0 = g.now();
    assert_eq!(vf_send(&g, &[0x5507]), Outcome::Timeout);
    assert_eq!(g.now().nanos_since(t0), 50_000_000);
    assert_eq!(g.access_counts().doorbells, 2);
}

#[test]
fn fault_flr_clear() {
    let g = guc(1, 27);
    g.inject(Trigger::AnyRequest, Fault::FlrClear).unwrap();
    assert_eq!(send(&g, &[0x5500, 0x0001_0200]), [0; 4]);
    assert_eq!(g.state(), VfState::Ready);
    // the VF resends once after the timeout, and that one goes through
    g.inject(Trigger::AnyRequest, Fault::FlrClear).unwrap();
    g.reset_access_counts();
    assert!(matches!(
        vf_send(&g, &[0x5500, 0x0001_0200]),
        Outcome::Success([OK0, 0x0001_1B00, _, _])
    ));
    assert_eq!(g.access_counts().doorbells, 2);
    assert_eq!(g.state(), VfState::Running);
    // two FLRs in a row: the resend also dies, the VF gives up
    g.inject(Trigger::AnyRequest, Fault::FlrClear).unwrap();
    g.inject(Trigger::AnyRequest, Fault::FlrClear).unwrap();
    assert_eq!(vf_send(&g, &[0x5507]), Outcome::Timeout);
}

#[test]
fn fault_busy_then_reply() {
    let g = guc(1, 27);
    g.inject(Trigger::AnyRequest, Fault::Busy { count: 3 })
        .unwrap();
    ring(&g, P, &[0x5500, 0x0001_0200]);
    // the request took effect at the doorbell
    assert_eq!(g.state(), VfState::Running);
    for n in 1..=3 {
        assert_eq!(g.read32(P.scratch(0)), busy(n));
        // scratch 1 still holds the request while BUSY
        assert_eq!(g.read32(P.scratch(1)), 0x0001_0200);
    }
    assert_eq!(g.read32(P.scratch(0)), OK0);
    assert_eq!(g.read32(P.scratch(1)), 0x0001_1B00);
    assert_eq!(g.read32(P.scratch(0)), OK0);
    // busy 0 is no busy at all
    g.inject(Trigger::AnyRequest, Fault::Busy { count: 0 })
        .unwrap();
    assert_eq!(send(&g, &[0x5507])[0], OK0);
    // through the VF loop: the clock moves through relax()
    g.inject(Trigger::AnyRequest, Fault::Busy { count: 100 })
        .unwrap();
    let t0 = g.now();
    assert!(matches!(vf_send(&g, &[0x5507]), Outcome::Success(_)));
    assert_eq!(g.now().nanos_since(t0), 100 * 10_000);
}

#[test]
fn fault_busy_then_silence() {
    let g = guc(1, 27);
    handshake(&g);
    g.inject(Trigger::AnyRequest, Fault::BusyThenSilence { count: 2 })
        .unwrap();
    ring(&g, P, &[0x5507]);
    assert_eq!(g.read32(P.scratch(0)), busy(1));
    assert_eq!(g.read32(P.scratch(0)), busy(2));
    for _ in 0..10 {
        assert_eq!(g.read32(P.scratch(0)), busy(2));
    }
    // the request had no effect
    assert_eq!(g.state(), VfState::Running);
    // a new request abandons the stuck one
    assert_eq!(send(&g, &[0x5507])[0], OK0);
    // the VF's BUSY timeout, in virtual time
    g.inject(Trigger::AnyRequest, Fault::BusyThenSilence { count: 0 })
        .unwrap();
    let t0 = g.now();
    assert_eq!(vf_send(&g, &[0x5507]), Outcome::BusyTimeout);
    assert_eq!(g.now().nanos_since(t0), 2_000_000_000);
}

#[test]
fn fault_retry() {
    let g = guc(1, 27);
    g.inject(Trigger::AnyRequest, Fault::Retry { count: 3 })
        .unwrap();
    for _ in 0..3 {
        assert_eq!(send(&g, &[0x5500, 0x0001_0200])[0], RETRY0);
        assert_eq!(g.state(), VfState::Ready);
    }
    assert_eq!(send(&g, &[0x5500, 0x0001_0200])[0], OK0);
    assert_eq!(g.state(), VfState::Running);
    // a different request ends the streak
    g.inject(Trigger::AnyRequest, Fault::Retry { count: 5 })
        .unwrap();
    assert_eq!(send(&g, &[0x5507])[0], RETRY0);
    assert_eq!(send(&g, &[0x5509, 1])[0], 0xF000_0002);
    assert_eq!(send(&g, &[0x5507])[0], OK0);
    // count 0: no fault
    g.inject(Trigger::AnyRequest, Fault::Retry { count: 0 })
        .unwrap();
    assert_eq!(send(&g, &[0x5507])[0], OK0);
    // through the VF loop
    g.inject(Trigger::AnyRequest, Fault::Retry { count: 2 })
        .unwrap();
    g.reset_access_counts();
    assert!(matches!(vf_send(&g, &[0x5507]), Outcome::Success(_)));
    assert_eq!(g.access_counts().doorbells, 3);
    // clear_faults also ends a streak
    g.inject(Trigger::AnyRequest, Fault::Retry { count: 5 })
        .unwrap();
    assert_eq!(send(&g, &[0x5507])[0], RETRY0);
    g.clear_faults();
    assert_eq!(send(&g, &[0x5507])[0], OK0);
}

#[test]
fn fault_failure() {
    let g = guc(1, 27);
    g.inject(
        Trigger::AnyRequest,
        Fault::Failure {
            error: GucError::Other(0x1234),
            hint: 0xABC,
        },
    )
    .unwrap();
    assert_eq!(send(&g, &[0x5500, 0x0001_0200])[0], 0xEABC_1234);
    assert_eq!(g.state(), VfState::Ready);
    // an over-wide hint is masked, never a panic
    g.inject(
        Trigger::AnyRequest,
        Fault::Failure {
            error: GucError::VfMigrated,
            hint: 0xFFFF,
        },
    )
    .unwrap();
    assert_eq!(send(&g, &[0x5507])[0], 0xEFFF_0107);
}

#[test]
fn fault_reply_garbage() {
    let g = guc(1, 27);
    let garbage = [
        &[0xC000_0000u32][..],       // GuC origin, TYPE 4
        &[0x0000_0000],              // host origin: looks like no reply
        &[0xF000_0000, 0x0002_0000], // MATCH_VERSION reply with another major
        &[0xF001_0002, 1, 2, 3],     // KLV reply with must-be-zero bits
        &[0x9000_5100],              // a GuC EVENT
    ];
    for dws in garbage {
        g.inject(
            Trigger::AnyRequest,
            Fault::Reply(MmioMessage::from_slice(dws).unwrap()),
        )
        .unwrap();
        let r = send(&g, &[0x5500, 0x0001_0200]);
        assert_eq!(&r[..dws.len()], dws);
    }
    // none of them processed the request
    assert_eq!(g.state(), VfState::Ready);
    // the VF sees a protocol error or a timeout
    g.inject(
        Trigger::AnyRequest,
        Fault::Reply(MmioMessage::from_slice(&[0xC000_0000]).unwrap()),
    )
    .unwrap();
    assert_eq!(vf_send(&g, &[0x5507]), Outcome::Protocol(0xC000_0000));
}

#[test]
fn fault_migrate_first() {
    let g = guc(1, 27);
    handshake(&g);
    g.migrate(0x4000_0000);
    let _ = g.take_interrupts();
    assert_eq!(start(&g, 1), OK0);
    g.inject(
        Trigger::Action(code::RESFIX_DONE),
        Fault::MigrateFirst {
            new_ggtt_start: 0x9000_0000,
        },
    )
    .unwrap();
    assert_eq!(done(&g, Some(1)), fail(GucError::VfMigrated));
    assert_eq!(g.state(), VfState::ResfixBlocked);
    assert_eq!(g.migrations(), 2);
    assert_eq!(g.provisioning().ggtt_start, 0x9000_0000);
    assert_eq!(g.take_interrupts(), GucIntr::SW_INT_0);
    // the transcript shows the request, the interrupt, then the reply
    let t = lines(&g, 1);
    assert_eq!(
        &t[t.len() - 3..],
        ["gt1 > 0x00015508", "gt1 irq SW_INT_0", "gt1 < 0xe0000107"]
    );
}

#[test]
fn triggers_match_actions_only() {
    let g = guc(1, 27);
    g.inject(Trigger::Action(code::QUERY_SINGLE_KLV), Fault::NoReply)
        .unwrap();
    g.inject(
        Trigger::Action(code::VF_RESET),
        Fault::Failure {
            error: GucError::GenericFail,
            hint: 1,
        },
    )
    .unwrap();
    // MATCH_VERSION matches neither
    assert_eq!(send(&g, &[0x5500, 0x0001_0200])[0], OK0);
    assert_eq!(g.pending_faults(), 2);
    // garbage matches no Action trigger
    assert_eq!(send(&g, &[0x8000_5509, 1])[0], 0x8000_5509);
    assert_eq!(send(&g, &[0x5507])[0], 0xE001_F000);
    assert_eq!(g.pending_faults(), 1);
    assert_eq!(send(&g, &[0x5509, 1])[0], 0x5509);
    assert_eq!(g.pending_faults(), 0);
    // faults are consumed in queue order among the matching ones
    g.inject(Trigger::AnyRequest, Fault::Retry { count: 1 })
        .unwrap();
    g.inject(Trigger::AnyRequest, Fault::NoReply).unwrap();
    assert_eq!(send(&g, &[0x5507])[0], RETRY0);
    assert_eq!(send(&g, &[0x5507])[0], 0x5507);
    assert_eq!(send(&g, &[0x5507])[0], OK0);
}

#[test]
fn fault_queue_is_bounded() {
    let g = guc(1, 27);
    for _ in 0..FAULT_QUEUE_LEN {
        g.inject(Trigger::AnyRequest, Fault::NoReply).unwrap();
    }
    assert_eq!(
        g.inject(Trigger::AnyRequest, Fault::NoReply),
        Err(MockError::QueueFull)
    );
    assert_eq!(
        MockError::QueueFull.to_string(),
        "mock GuC fault queue is full"
    );
    assert_eq!(g.pending_faults(), FAULT_QUEUE_LEN);
    g.clear_faults();
    assert_eq!(g.pending_faults(), 0);
    g.inject(Trigger::AnyRequest, Fault::NoReply).unwrap();
}

// ---------------------------------------------------------------------------------------------
// clock

#[test]
fn virtual_clock() {
    let g = guc(1, 27);
    assert_eq!(g.now(), Instant(0));
    g.relax();
    assert_eq!(g.now(), Instant(10_000));
    g.set_relax_step(Duration::from_nanos(1));
    g.relax();
    assert_eq!(g.now(), Instant(10_001));
    g.advance(Duration::from_nanos(1_000_000));
    assert_eq!(g.now(), Instant(1_010_001));
    // register accesses take no time
    send(&g, &[0x5507]);
    assert_eq!(g.now(), Instant(1_010_001));
    g.set_relax_step(Duration::from_nanos(0));
    g.relax();
    assert_eq!(g.now(), Instant(1_010_001));
    // saturates
    g.advance(Duration::MAX);
    g.set_relax_step(Duration::MAX);
    g.relax();
    assert_eq!(g.now(), Instant(u64::MAX));
}

// ---------------------------------------------------------------------------------------------
// transcript

#[test]
fn transcript_records_requests_replies_and_interrupts() {
    let g = guc(1, 27);
    g.advance(Duration::from_nanos(5));
    send(&g, &[0x5507]);
    handshake(&g);
    query(&g, KlvKey::GgttStart);
    g.inject(Trigger::AnyRequest, Fault::Busy { count: 2 })
        .unwrap();
    ring(&g, P, &[0x5509, 5]);
    for _ in 0..6 {
        let _ = g.read32(P.scratch(0));
    }
    g.migrate(0x4000_0000);
    g.inject(Trigger::AnyRequest, Fault::Retry { count: 1 })
        .unwrap();
    send(&g, &[0x5509, 6]);
    send(&g, &[0x5509, 6]);
    let got = lines(&g, 0);
    assert_eq!(
        got,
        [
            "gt0 > 0x00005507",
            "gt0 < 0xf0000000",
            "gt0 > 0x00005500 0x00010200",
            "gt0 < 0xf0000000 0x00011b00",
            "gt0 > 0x00005509 0x00000001",
            "gt0 < 0xf0000002 0x00200000 0x00000000",
            "gt0 > 0x00005509 0x00000005",
            "gt0 < 0xb0000001",
            "gt0 < 0xb0000002",
            "gt0 < 0xf0000001 0x00000001",
            "gt0 irq SW_INT_0",
            "gt0 > 0x00005509 0x00000006",
            "gt0 < 0xd0000000",
            "gt0 > 0x00005509 0x00000006",
            "gt0 < 0xf0000001 0x00000040",
        ]
    );
    // drained
    assert!(transcript(&g).is_empty());
    assert_eq!(g.transcript_dropped(), 0);
}

#[test]
fn transcript_entry_fields() {
    let g = guc(1, 27);
    g.advance(Duration::from_nanos(1234));
    ring(&g, P, &[0x5507]);
    g.relax();
    let _ = g.read32(P.scratch(0));
    g.migrate(0x4000_0000);
    let t = transcript(&g);
    assert_eq!(t.len(), 3);
    assert_eq!((t[0].at, t[0].dir), (Instant(1234), Dir::ToGuc));
    assert_eq!((t[1].at, t[1].dir), (Instant(11234), Dir::FromGuc));
    assert_eq!(t[1].msg.as_slice(), &[OK0]);
    assert_eq!(t[2].dir, Dir::Interrupt(GucIntr::SW_INT_0));
    assert_eq!(t[2].msg.as_slice(), &[1]);
    // a multi-bit vector prints every name
    let e = TranscriptEntry::new(
        Instant(0),
        Dir::Interrupt(GucIntr::SW_INT_0 | GucIntr::GUC2HOST),
        MmioMessage::from_slice(&[0x8001]).unwrap(),
    );
    assert_eq!(e.line(3).to_string(), "gt3 irq SW_INT_0|GUC2HOST");
}

#[test]
fn transcript_logs_only_guc_origin_values_after_a_doorbell() {
    let g = guc(1, 27);
    // a host write of a GuC-looking value, read back before any doorbell: not a reply
    g.write32(P.scratch(0), 0xF000_0000);
    let _ = g.read32(P.scratch(0));
    assert!(transcript(&g).is_empty());
    // no reply (NoReply): the VF only ever reads its own request back
    g.inject(Trigger::AnyRequest, Fault::NoReply).unwrap();
    ring(&g, P, &[0x5507]);
    for _ in 0..5 {
        let _ = g.read32(P.scratch(0));
    }
    assert_eq!(lines(&g, 0), ["gt0 > 0x00005507"]);
    // garbage with host origin: not logged as a reply either
    g.inject(
        Trigger::AnyRequest,
        Fault::Reply(MmioMessage::from_slice(&[0x1234]).unwrap()),
    )
    .unwrap();
    send(&g, &[0x5507]);
    assert_eq!(lines(&g, 0), ["gt0 > 0x00005507"]);
    // SUCCESS-type garbage carries its own dwords
    g.inject(
        Trigger::AnyRequest,
        Fault::Reply(MmioMessage::from_slice(&[0xF000_0005, 7]).unwrap()),
    )
    .unwrap();
    send(&g, &[0x5507]);
    assert_eq!(
        lines(&g, 0),
        ["gt0 > 0x00005507", "gt0 < 0xf0000005 0x00000007"]
    );
    // BusyThenSilence: the stuck counter is logged once
    g.inject(Trigger::AnyRequest, Fault::BusyThenSilence { count: 1 })
        .unwrap();
    ring(&g, P, &[0x5507]);
    for _ in 0..100 {
        let _ = g.read32(P.scratch(0));
    }
    assert_eq!(lines(&g, 0), ["gt0 > 0x00005507", "gt0 < 0xb0000001"]);
}

#[test]
fn transcript_drops_the_oldest() {
    let g = guc(1, 27);
    for i in 0..40u32 {
        g.advance(Duration::from_nanos(1));
        send(&g, &[0x5509, i]);
    }
    assert_eq!(g.transcript_dropped(), 80 - TRANSCRIPT_LEN as u32);
    let t = transcript(&g);
    assert_eq!(t.len(), TRANSCRIPT_LEN);
    assert_eq!(t[0].dir, Dir::ToGuc);
    assert_eq!(t[0].msg.as_slice(), &[0x5509, 8]);
    assert!(t.windows(2).all(|w| w[0].at.0 <= w[1].at.0));
}

#[test]
fn drain_callback_may_use_the_mock() {
    let g = guc(1, 27);
    send(&g, &[0x5507]);
    let mut n = 0;
    g.drain_transcript(|_| {
        n += 1;
        let _ = g.state();
        g.advance(Duration::from_nanos(1));
    });
    assert_eq!(n, 2);
}

// ---------------------------------------------------------------------------------------------
// access counts

#[test]
fn access_counts() {
    let g = guc(1, 27);
    send(&g, &[0x5500, 0x0001_0200]);
    // 2 scratch writes + doorbell; 1 posting read + 4 reads back
    let c = g.access_counts();
    assert_eq!((c.reads, c.writes, c.doorbells), (5, 3, 1));
    let _ = g.read32(Reg(0));
    g.write32(Reg(0), 0);
    let _ = g.scratch(); // peeking is not an access
    let c = g.access_counts();
    assert_eq!((c.reads, c.writes, c.doorbells), (6, 4, 1));
    g.reset_access_counts();
    assert_eq!(g.access_counts(), AccessCounts::default());
}

// ---------------------------------------------------------------------------------------------
// the whole VF flow through a minimal mailbox

#[test]
fn full_bootstrap_and_two_recoveries() {
    let g = MockGuc::new(
        GtKind::Primary,
        Version::new(1, 27),
        Provisioning::discrete(),
    );
    let ok = |o: Outcome| match o {
        Outcome::Success(r) => r,
        other => panic!("{other:?}"),
    };
    ok(vf_send(&g, &[0x5507]));
    let v = Version::decode_match_reply(&ok(vf_send(&g, &[0x5500, 0x0001_0200]))).unwrap();
    assert_eq!(v, Version::new(1, 27));
    for key in [1u32, 2, 3, 4, 6, 0x3001, 0x3000] {
        ok(vf_send(&g, &[0x5509, key]));
    }
    assert_eq!(
        vf_send(&g, &[0x5509, 0x3003]),
        Outcome::Failure(fail(GucError::InvalidKlvKey))
    );
    for (i, m) in [(1u32, 1u32), (2, 2)] {
        g.migrate(0x4000_0000 * u64::from(i));
        assert_eq!(g.take_interrupts(), GucIntr::SW_INT_0);
        ok(vf_send(&g, &[(m << 16) | 0x550F]));
        let start = KlvReply::decode(&ok(vf_send(&g, &[0x5509, 1]))).unwrap();
        assert_eq!(start.value_u64(), 0x4000_0000 * u64::from(i));
        ok(vf_send(&g, &[(m << 16) | 0x5508]));
        assert_eq!(g.state(), VfState::Running);
        assert_eq!(g.last_migration_done_count(), 1);
    }
    assert_eq!(g.resfix_done_accepted(), 2);
}

// ---------------------------------------------------------------------------------------------
// hostile sequences

#[derive(Clone, Debug)]
enum Op {
    Write(u32, u32),
    Read(u32),
    Doorbell(u32),
    Relax,
    Advance(u64),
    StepRelax(u64),
    Migrate(u64),
    Pause,
    Restore(u64, u32),
    Resume,
    Inject(bool, u16, FaultKind),
    TakeIrq,
    Drain,
    SetOffered(u8, u8),
}

#[derive(Clone, Debug)]
enum FaultKind {
    NoReply,
    Flr,
    Busy(u32),
    Silence(u32),
    Retry(u32),
    Failure(u16, u16),
    Reply(Vec<u32>),
    Migrate(u64),
}

fn interesting_dword() -> impl Strategy<Value = u32> {
    prop_oneof![
        any::<u32>(),
        Just(0x5507u32),
        Just(0x5500),
        Just(0x5508),
        Just(0x5509),
        Just(0x550F),
        (1u32..0x1000).prop_map(|m| m << 16 | 0x550F),
        (0u32..0x1000).prop_map(|m| m << 16 | 0x5508),
        0u32..0x4000,
        (0u8..3, 0u8..40).prop_map(|(a, b)| u32::from(a) << 16 | u32::from(b) << 8),
        Just(0xFFFF_FFFF),
        Just(0),
    ]
}

fn register() -> impl Strategy<Value = u32> {
    prop_oneof![
        (0usize..4).prop_map(|i| PRIMARY_GT.scratch(i).offset()),
        (0usize..4).prop_map(|i| MEDIA_GT.scratch(i).offset()),
        Just(PRIMARY_GT.doorbell.offset()),
        Just(MEDIA_GT.doorbell.offset()),
        (0x19_0200u32..0x19_0340),
        any::<u32>(),
    ]
}

fn fault_kind() -> impl Strategy<Value = FaultKind> {
    prop_oneof![
        Just(FaultKind::NoReply),
        Just(FaultKind::Flr),
        (0u32..5).prop_map(FaultKind::Busy),
        prop_oneof![0u32..5, Just(u32::MAX)].prop_map(FaultKind::Busy),
        (0u32..5).prop_map(FaultKind::Silence),
        prop_oneof![0u32..5, Just(u32::MAX)].prop_map(FaultKind::Retry),
        (any::<u16>(), any::<u16>()).prop_map(|(e, h)| FaultKind::Failure(e, h)),
        proptest::collection::vec(any::<u32>(), 1..=4).prop_map(FaultKind::Reply),
        any::<u64>().prop_map(FaultKind::Migrate),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (register(), interesting_dword()).prop_map(|(r, v)| Op::Write(r, v)),
        4 => register().prop_map(Op::Read),
        3 => any::<u32>().prop_map(Op::Doorbell),
        2 => Just(Op::Relax),
        1 => any::<u64>().prop_map(Op::Advance),
        1 => any::<u64>().prop_map(Op::StepRelax),
        1 => any::<u64>().prop_map(Op::Migrate),
        1 => Just(Op::Pause),
        1 => (any::<u64>(), any::<u32>()).prop_map(|(g, c)| Op::Restore(g, c)),
        1 => Just(Op::Resume),
        2 => (any::<bool>(), any::<u16>(), fault_kind()).prop_map(|(a, c, f)| Op::Inject(a, c, f)),
        1 => Just(Op::TakeIrq),
        1 => Just(Op::Drain),
        1 => (0u8..3, any::<u8>()).prop_map(|(a, b)| Op::SetOffered(a, b)),
    ]
}

fn apply(g: &MockGuc, op: &Op) {
    match op {
        Op::Write(r, v) => g.write32(Reg(*r), *v),
        Op::Read(r) => {
            let _ = g.read32(Reg(*r));
        }
        Op::Doorbell(v) => g.write32(PRIMARY_GT.doorbell, *v),
        Op::Relax => g.relax(),
        Op::Advance(ns) => g.advance(Duration::from_nanos(*ns)),
        Op::StepRelax(ns) => g.set_relax_step(Duration::from_nanos(*ns)),
        Op::Migrate(s) => g.migrate(*s),
        Op::Pause => g.pause(),
        Op::Restore(s, c) => {
            let mut p = g.provisioning();
            p.ggtt_start = *s;
            p.num_contexts = *c;
            p.lmem_size = if c % 2 == 0 {
                None
            } else {
                Some(u64::from(*c))
            };
            g.restore(p);
        }
        Op::Resume => g.resume(),
        Op::Inject(any, action, kind) => {
            let trigger = if *any {
                Trigger::AnyRequest
            } else {
                Trigger::Action(*action)
            };
            let fault = match kind {
                FaultKind::NoReply => Fault::NoReply,
                FaultKind::Flr => Fault::FlrClear,
                FaultKind::Busy(n) => Fault::Busy { count: *n },
                FaultKind::Silence(n) => Fault::BusyThenSilence { count: *n },
                FaultKind::Retry(n) => Fault::Retry { count: *n },
                FaultKind::Failure(e, h) => Fault::Failure {
                    error: GucError::from_raw(*e),
                    hint: *h,
                },
                FaultKind::Reply(dws) => Fault::Reply(MmioMessage::from_slice(dws).unwrap()),
                FaultKind::Migrate(s) => Fault::MigrateFirst { new_ggtt_start: *s },
            };
            let _ = g.inject(trigger, fault);
        }
        Op::TakeIrq => {
            let _ = g.take_interrupts();
        }
        Op::Drain => g.drain_transcript(|e| {
            let _ = e.line(0).to_string();
        }),
        Op::SetOffered(a, b) => g.set_offered(Version::new(*a, *b)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn hostile_sequences_never_panic(ops in proptest::collection::vec(op(), 0..200)) {
        let g = MockGuc::new(GtKind::Primary, Version::new(1, 27), Provisioning::discrete());
        let before = g.now();
        for op in &ops {
            apply(&g, op);
        }
        // invariants that hold whatever happened
        prop_assert!(g.now().0 >= before.0);
        prop_assert!(g.state_history().len() <= HISTORY_LEN);
        prop_assert_eq!(g.state_history().last().copied(), Some(g.state()));
        prop_assert!(g.pending_faults() <= FAULT_QUEUE_LEN);
        let mut n = 0;
        g.drain_transcript(|e| {
            n += 1;
            let _ = e.line(1).to_string();
        });
        prop_assert!(n <= TRANSCRIPT_LEN);
        if g.marker().is_some() {
            prop_assert!(g.negotiated().is_some());
        }
        // and the mock still works afterwards (the first doorbell flushes stray scratch writes)
        g.clear_faults();
        g.resume();
        g.resume();
        g.write32(PRIMARY_GT.doorbell, 0);
        if !g.state().is_paused() {
            let r = send(&g, &[0x5507]);
            prop_assert_eq!(r[0], OK0);
            prop_assert_eq!(g.state(), VfState::Ready);
        }
    }

    #[test]
    fn any_single_request_gets_a_well_formed_answer(
        dws in proptest::collection::vec(interesting_dword(), 1..=4),
        offered_minor in 0u8..40,
        migrate in any::<bool>(),
        handshake_first in any::<bool>(),
    ) {
        let g = guc(1, offered_minor);
        if handshake_first {
            handshake(&g);
        }
        if migrate {
            g.migrate(0x4000_0000);
        }
        let r = send(&g, &dws);
        if dws[0] >> 31 == 1 {
            // a GuC-origin "request" is never answered
            prop_assert_eq!(r[0], dws[0]);
        } else {
            // anything else gets SUCCESS or FAILURE
            let reply = Reply::decode(r[0]);
            prop_assert!(
                matches!(reply, Ok(Reply::Success { .. }) | Ok(Reply::Failure { .. })),
                "reply {:#x} to {:x?}", r[0], dws
            );
            // a request that decodes strictly is the only thing that can succeed
            if matches!(reply, Ok(Reply::Success { .. })) {
                prop_assert!(Request::decode(&dws).is_ok());
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// a GuC in another process: any memirq page, and the VF image a migration carries

#[test]
fn a_saved_image_restores_on_another_guc_with_sw_int_0_in_any_memirq_page() {
    use xe_sriov_vf::memirq::MemirqPage;
    use xe_sriov_vf::mock::{MemirqRegistration, MockMemirqPage, VfImage};
    use xe_sriov_vf::wire::memirq::GucUnit;
    use xe_sriov_vf::wire::self_cfg::SelfCfgRequest;

    const PAGE_GGTT: u64 = 0x10_0000;
    // The source GuC: handshake, then the VF registers the memirq page.
    let source = guc(1, 27);
    let page: &'static MockMemirqPage = Box::leak(Box::new(MockMemirqPage::new()));
    source.attach_memirq_page(page, PAGE_GGTT);
    handshake(&source);
    let unit = GucUnit::for_gt(GtKind::Primary);
    for req in SelfCfgRequest::memirq_registration(PAGE_GGTT, unit).unwrap() {
        assert_eq!(send(&source, &req.to_dwords())[0] >> 28, 0xF);
    }
    assert_eq!(source.memirq_registration(), MemirqRegistration::Ok);
    source.pause();
    let image = source.save_image();
    assert_eq!(image.state, VfState::Running, "the state before the pause");
    assert_eq!(image.negotiated, Some(Version::new(1, 27)));
    assert_eq!(image.memirq_source, unit.source_addr(PAGE_GGTT));
    assert_eq!(image.memirq_status, unit.status_addr(PAGE_GGTT));

    // Carried as words (another process), refused when corrupt.
    let words = image.to_words();
    assert_eq!(VfImage::from_words(&words), Some(image));
    assert_eq!(VfImage::from_words(&words[..6]), None);
    for (i, bad) in [(0, 5), (1, 2), (2, 1 << 32), (3, 7)] {
        let mut w = words;
        w[i] = bad;
        assert_eq!(VfImage::from_words(&w), None, "word {i} = {bad:#x}");
    }

    // The destination: its own page (here another MockMemirqPage behind the trait), a new GGTT
    // base; SW_INT_0 lands in that page on resume, where the image's registration points.
    let dest = guc(1, 27);
    let dest_page: &'static MockMemirqPage = Box::leak(Box::new(MockMemirqPage::new()));
    dest.attach_memirq_page(dest_page, PAGE_GGTT);
    let mut prov = Provisioning::integrated();
    prov.ggtt_start = 0x30_0000;
    dest.load_image(&image, prov);
    assert_eq!(dest.state(), VfState::ResfixPaused);
    assert_eq!(dest.negotiated(), Some(Version::new(1, 27)));
    assert_eq!(dest.marker(), None);
    assert_eq!(dest.memirq_registration(), MemirqRegistration::Ok);
    dest.resume();
    assert_eq!(dest.state(), VfState::ResfixBlocked);
    let sw_int0 = unit.status_byte_offset(GucIntr::SW_INT_0).unwrap();
    assert_eq!(dest_page.read8(sw_int0), 0xFF);
    assert_eq!(dest_page.read8(unit.source_offset()), 0xFF);
    assert_eq!(page.read8(sw_int0), 0, "the source's page is not touched");
    assert!(
        dest.pending_interrupts().is_empty(),
        "memirq, not the register vector"
    );
    // The new base is what the VF queries; the recovery ends as usual.
    let start = klv_ok(query(&dest, KlvKey::GgttStart));
    assert_eq!(start.value_u64(), 0x30_0000);
    assert_eq!(start_marker_and_done(&dest), VfState::Running);
}

/// RESFIX_START(1) then RESFIX_DONE(1); the state after.
fn start_marker_and_done(g: &MockGuc) -> VfState {
    assert_eq!(start(g, 1) >> 28, 0xF);
    assert_eq!(done(g, Some(1)) >> 28, 0xF);
    g.state()
}

#[test]
fn vf_state_names_round_trip() {
    for s in VfState::ALL {
        assert_eq!(VfState::from_name(s.name()), Some(s));
    }
    assert_eq!(VfState::from_name("VF_GONE"), None);
}
