//! Bootstraps the two GTs of a VF (primary and media) on the mock GuC and prints the negotiated
//! VF ABI version and each GT's configuration.
//!
//! ```text
//! cargo run --example bootstrap --features mock
//! ```

#[path = "common/chain.rs"]
mod chain;

use xe_sriov_vf::gt::{GpuKind, GraphicsIp, Gt, GtInfo, PlatformClass};
use xe_sriov_vf::mailbox::MailboxConfig;
use xe_sriov_vf::mock::{MockGuc, Provisioning};
use xe_sriov_vf::wire::regs::GtKind;
use xe_sriov_vf::wire::Version;

fn main() {
    let gucs = [
        (
            GtKind::Primary,
            MockGuc::new(
                GtKind::Primary,
                Version::new(1, 27),
                Provisioning::discrete(),
            ),
        ),
        (
            GtKind::Media,
            MockGuc::new(GtKind::Media, Version::new(1, 27), Provisioning::discrete()),
        ),
    ];
    let mut failed = false;
    for (n, (kind, guc)) in gucs.iter().enumerate() {
        let info = {
            let mut info = GtInfo::of(*kind, GpuKind::Discrete, GraphicsIp::new(20, 1));
            info.tile = xe_sriov_vf::TileId(0);
            info.platform = PlatformClass::Newer;
            info
        };
        let mut gt = Gt::new(guc, info, MailboxConfig::default());
        match gt.bootstrap().and_then(|v| gt.query_config().map(|_| v)) {
            Ok(version) => {
                println!(
                    "gt{n} ({kind:?}): VF ABI {version} (asked for {})",
                    info.wanted_vf_abi()
                );
                if let Some(c) = gt.config() {
                    println!(
                        "  GGTT {:#x}..{:#x} ({} MiB)",
                        c.ggtt_start,
                        c.ggtt_start + c.ggtt_size,
                        c.ggtt_size >> 20
                    );
                    match c.lmem_size {
                        Some(lmem) => println!("  LMEM {} MiB", lmem >> 20),
                        None => println!("  LMEM not queried on this GT"),
                    }
                    println!(
                        "  contexts {}, doorbells {}, group scheduling {:?}, GMD_ID {:?}, paging engines {:?}",
                        c.num_contexts,
                        c.num_doorbells,
                        c.group_scheduling_available,
                        c.gmd_id.map(|g| format!("{g:#010x}")),
                        c.num_paging_engine_instances
                    );
                }
                println!("  GuC sees the VF as {}", guc.state());
            }
            Err(e) => {
                println!(
                    "gt{n} ({kind:?}): bootstrap failed: {}",
                    chain::error_chain(&e)
                );
                failed = true;
            }
        }
    }
    std::process::exit(i32::from(failed));
}
