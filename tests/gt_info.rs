//! `GtInfo`'s typed constructor (`GtInfo::of` with a `GpuKind` and a `GraphicsIp`), the
//! graphics IP from a GMD_ID value, and `Debug` of addresses in hex.
#![cfg(all(feature = "mock", feature = "std"))]

use xe_sriov_vf::gt::{GpuKind, GraphicsIp, Gt, GtInfo, PlatformClass, VfError};
use xe_sriov_vf::mailbox::MailboxConfig;
use xe_sriov_vf::mock::{MockGuc, MockMemirqPage, Provisioning};
use xe_sriov_vf::wire::regs::GtKind;
use xe_sriov_vf::{GtId, Memirq, TileId, Version};

/// Every part the kernel's device table knows (graphics IP, discrete): `xe_pci.c` at
/// torvalds/linux 03d85ab3.
const PARTS: [(u8, u8, bool); 14] = [
    (12, 0, false),  // Tiger Lake .. Raptor Lake (Xe_LP)
    (12, 10, true),  // DG1 (Xe_LP+)
    (12, 55, true),  // DG2, ATS-M (Xe_HPG)
    (12, 60, true),  // Ponte Vecchio (Xe_HPC)
    (12, 70, false), // Meteor Lake / Arrow Lake (Xe_LPG)
    (12, 71, false),
    (12, 74, false), // Xe_LPG+
    (20, 1, true),   // Battlemage (Xe2_HPG)
    (20, 2, true),
    (20, 4, false), // Lunar Lake (Xe2_LPG)
    (30, 0, false), // Panther Lake (Xe3_LPG)
    (30, 1, false),
    (30, 3, false),
    (99, 99, true), // a future part
];

#[test]
// `GtInfo::new` on purpose (the constructor `of` replaces), also once it is deprecated.
#[allow(deprecated)]
fn the_typed_constructor_builds_what_the_boolean_one_did() {
    for (major, minor, discrete) in PARTS {
        let ip = GraphicsIp::new(major, minor);
        let gpu = if discrete {
            GpuKind::Discrete
        } else {
            GpuKind::Integrated
        };
        for kind in [GtKind::Primary, GtKind::Media] {
            let typed = GtInfo::of(kind, gpu, ip);
            let verx100 = u16::from(major) * 100 + u16::from(minor);
            assert_eq!(typed, GtInfo::new(kind, discrete, verx100), "{ip} {gpu:?}");
            assert_eq!(typed.graphics_verx100, verx100);
            assert_eq!(typed.discrete, discrete);
            assert_eq!(typed.tile, TileId(0));
            assert_eq!(typed.kind, kind);
            assert_eq!(typed.gpu_kind(), gpu);
            assert_eq!(typed.graphics_ip(), Some(ip));
            let older = (major, minor) < (12, 70);
            assert_eq!(ip.has_gmd_id(), !older, "{ip}");
            assert_eq!(
                typed.platform,
                if older {
                    PlatformClass::TigerLakeToPonteVecchio
                } else {
                    PlatformClass::Newer
                }
            );
            assert_eq!(
                typed.wanted_vf_abi(),
                Version::new(1, if older { 1 } else { 2 })
            );
        }
    }
    let lnl = GtInfo::of(GtKind::Media, GpuKind::Integrated, GraphicsIp::new(20, 4));
    assert_eq!(lnl.on_tile(TileId(1)).tile, TileId(1));
    assert_eq!(lnl.wopcm_size(), 2 << 20);
    let mtl = GtInfo::of(
        GtKind::Primary,
        GpuKind::Integrated,
        GraphicsIp::FIRST_GMD_ID,
    );
    assert_eq!(mtl.wopcm_size(), 4 << 20, "Meteor Lake");
    let bmg = GtInfo::of(GtKind::Primary, GpuKind::Discrete, GraphicsIp::new(20, 1));
    assert_eq!(bmg.wopcm_size(), 4 << 20, "discrete");
}

#[test]
// `GtInfo::new` on purpose (the constructor `of` replaces), also once it is deprecated.
#[allow(deprecated)]
fn a_graphics_ip_prints_as_the_kernel_does_and_converts_from_verx100() {
    assert_eq!(GraphicsIp::new(20, 4).to_string(), "20.04");
    assert_eq!(GraphicsIp::new(12, 70).to_string(), "12.70");
    assert_eq!(GraphicsIp::new(20, 4).verx100(), 2004);
    assert_eq!(
        (
            GraphicsIp::new(20, 4).major(),
            GraphicsIp::new(20, 4).minor()
        ),
        (20, 4)
    );
    assert_eq!(
        GraphicsIp::from_verx100(1255),
        Some(GraphicsIp::new(12, 55))
    );
    assert_eq!(
        GraphicsIp::from_verx100(25599),
        Some(GraphicsIp::new(255, 99))
    );
    assert_eq!(GraphicsIp::from_verx100(25600), None);
    assert_eq!(GraphicsIp::from_verx100(u16::MAX), None);
    assert!(GraphicsIp::new(12, 60) < GraphicsIp::new(12, 70));
    assert!(GraphicsIp::new(12, 99) < GraphicsIp::new(20, 1));
    // A GtInfo built the old way with a version no GraphicsIp holds.
    let odd = GtInfo::new(GtKind::Primary, false, 60_000);
    assert_eq!(odd.graphics_ip(), None);
}

#[test]
fn a_gmd_id_value_gives_the_graphics_ip() {
    // GMD_ID: architecture in bits 31:22, release in 21:14, revision (stepping) in 5:0.
    let gmd = |arch: u32, release: u32, rev: u32| (arch << 22) | (release << 14) | rev;
    assert_eq!(
        GraphicsIp::from_gmd_id(gmd(20, 4, 1)),
        Some(GraphicsIp::new(20, 4))
    );
    assert_eq!(
        GraphicsIp::from_gmd_id(gmd(12, 74, 0x3F)),
        Some(GraphicsIp::new(12, 74))
    );
    assert_eq!(
        GraphicsIp::from_gmd_id(gmd(30, 3, 0) | 0x3FC0),
        Some(GraphicsIp::new(30, 3)),
        "bits 13:6 are not the version"
    );
    assert_eq!(
        GraphicsIp::from_gmd_id(gmd(255, 255, 0)),
        Some(GraphicsIp::new(255, 255))
    );
    assert_eq!(
        GraphicsIp::from_gmd_id(gmd(256, 0, 0)),
        None,
        "no such part"
    );
    assert_eq!(GraphicsIp::from_gmd_id(u32::MAX), None);
    assert_eq!(GraphicsIp::from_gmd_id(0), None, "the query failed");
    assert_eq!(GraphicsIp::from_gmd_id(gmd(0, 70, 0)), None);
}

#[test]
fn a_memirq_page_prints_its_ggtt_address_in_hex() {
    let page = MockMemirqPage::new();
    let memirq = Memirq::new(&page, 0x0030_0000, GtId(0), Some(GtId(1)));
    let debug = format!("{memirq:?}");
    assert!(debug.contains("ggtt_addr: 0x300000"), "{debug}");
    assert!(debug.contains("primary: GtId(0)"), "{debug}");
}

#[test]
fn arrow_lake_has_meteor_lakes_4_mib_wopcm() {
    // The kernel sizes the WOPCM by platform: 4 MiB on discrete parts and on
    // XE_METEORLAKE, which is Meteor Lake's and Arrow Lake's one device-table entry (graphics
    // IP 12.70, 12.71 or 12.74: Arrow Lake-H's Xe_LPG+): `xe_wopcm_size` and `pciidlist` at
    // torvalds/linux 03d85ab3 and 6716101a.
    for minor in [70, 71, 74] {
        let info = GtInfo::of(
            GtKind::Primary,
            GpuKind::Integrated,
            GraphicsIp::new(12, minor),
        );
        assert_eq!(info.wopcm_size(), 4 << 20, "12.{minor}");
    }
    for (major, minor) in [(12, 0), (12, 72), (12, 73), (20, 4), (30, 0)] {
        let info = GtInfo::of(
            GtKind::Primary,
            GpuKind::Integrated,
            GraphicsIp::new(major, minor),
        );
        assert_eq!(info.wopcm_size(), 2 << 20, "{major}.{minor:02}");
    }
    // So an Arrow Lake-H VF whose GGTT starts at 2 MiB is out of range, as the kernel's -ERANGE.
    let guc = MockGuc::new(
        GtKind::Primary,
        Version::new(1, 27),
        Provisioning::integrated(),
    );
    let arl = GtInfo::of(
        GtKind::Primary,
        GpuKind::Integrated,
        GraphicsIp::new(12, 74),
    );
    let mut gt = Gt::new(&guc, arl, MailboxConfig::DEFAULT);
    gt.bootstrap().unwrap();
    assert!(
        matches!(
            gt.query_config(),
            Err(VfError::GgttRange {
                start: 0x20_0000,
                wopcm: 0x40_0000,
                ..
            })
        ),
        "GGTT at 2 MiB below Arrow Lake's 4 MiB WOPCM"
    );
}
