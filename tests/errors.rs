//! The error types as a whole: every one is a `core::error::Error` (no `std` needed), each
//! layer hands the layer below out through `source()`, down to the wire error (`WireError`, or
//! the GuC's `GucError` code), and no `Display` repeats the text of anything in its chain: it
//! describes its own layer only, so printing the chain (as the examples do) never says a thing
//! twice.
#![cfg(all(feature = "mock", feature = "std"))]

use core::error::Error;

use xe_sriov_vf::coordinator::{CoordinatorError, GtId, IdOutOfRange};
use xe_sriov_vf::gt::{Gt, GtInfo, VfError};
use xe_sriov_vf::mailbox::{MailboxConfig, MailboxError};
use xe_sriov_vf::mmio::MmioError;
use xe_sriov_vf::mock::{Fault, MockError, MockGuc, OracleError, Provisioning, Trigger};
use xe_sriov_vf::recovery::{
    BootstrapError, GtAccessError, HookError, NoHooks, PassOutcome, RecoveryConfig, RecoveryError,
    Step, Vf,
};
use xe_sriov_vf::tile::{GgttMove, TileId, TopologyError};
use xe_sriov_vf::wire::action::{code, MmioMessage};
use xe_sriov_vf::wire::regs::GtKind;
use xe_sriov_vf::wire::self_cfg::{SelfCfgError, SelfCfgKey};
use xe_sriov_vf::wire::{GucError, KlvKey, Version, WireError};
use xe_sriov_vf::workqueue::{ServeError, TestQueue};

/// `error` and its causes, outermost first (bounded: a cycle would be a bug, not a hang).
fn chain<'a>(error: &'a (dyn Error + 'static)) -> Vec<&'a (dyn Error + 'static)> {
    let mut links = vec![error];
    let mut next = error.source();
    while let Some(cause) = next {
        links.push(cause);
        next = cause.source();
        assert!(links.len() <= 8, "source chain of {error:?} does not end");
    }
    links
}

/// Checks the layering rule on `error`'s chain and returns its links' texts: no link's text is
/// empty, and none contains the text of a link below it (a `Display` that prints its source, or
/// its source's source, says it twice once the chain is printed).
fn layered(error: &(dyn Error + 'static)) -> Vec<String> {
    let texts: Vec<String> = chain(error).iter().map(|e| e.to_string()).collect();
    for (i, outer) in texts.iter().enumerate() {
        assert!(!outer.is_empty(), "{error:?}: link {i} prints nothing");
        for inner in &texts[i + 1..] {
            assert!(
                !outer.contains(inner.as_str()),
                "{error:?}: {outer:?} repeats its cause {inner:?}"
            );
        }
    }
    texts
}

/// The chain ends at the wire: a `WireError` or the GuC's error code.
fn ends_at_the_wire(error: &(dyn Error + 'static)) -> bool {
    let last = *chain(error).last().unwrap();
    last.is::<WireError>() || last.is::<GucError>()
}

#[test]
fn every_error_type_is_a_core_error() {
    fn core_error<E: core::error::Error + Send + Sync + 'static>() {}
    core_error::<WireError>();
    core_error::<GucError>();
    core_error::<SelfCfgError>();
    core_error::<MailboxError>();
    core_error::<MmioError>();
    core_error::<VfError>();
    core_error::<HookError>();
    core_error::<RecoveryError>();
    core_error::<BootstrapError>();
    core_error::<GtAccessError>();
    core_error::<TopologyError>();
    core_error::<CoordinatorError>();
    core_error::<IdOutOfRange>();
    core_error::<MockError>();
    core_error::<OracleError>();
    core_error::<ServeError>();
}

/// Every variant that carries a cause, hand-built, one layer at a time: the cause comes out of
/// `source()` as itself (same type, same value), and the variant's own text does not contain it.
#[test]
fn every_cause_is_a_source_and_not_in_the_message() {
    let wire = WireError::UndefinedType(4);
    let guc = GucError::InvalidParams;
    let mailbox = MailboxError::Timeout { last: 0x5509 };
    let self_cfg = SelfCfgError::Wire(wire);
    let vf = VfError::Mailbox(mailbox);
    let hook = HookError(-5);

    fn check<C: Error + PartialEq + 'static>(error: &(dyn Error + 'static), cause: &C) {
        let source = error
            .source()
            .unwrap_or_else(|| panic!("{error:?} has no source"));
        assert_eq!(source.downcast_ref::<C>(), Some(cause), "{error:?}");
        layered(error);
    }

    check(
        &MailboxError::Protocol {
            header: 0xC000_0000,
            error: wire,
        },
        &wire,
    );
    check(
        &MailboxError::Remote {
            error: guc,
            hint: 1,
        },
        &guc,
    );
    check(&SelfCfgError::Wire(wire), &wire);
    check(
        &SelfCfgError::Failure {
            hint: 2,
            error: guc,
        },
        &guc,
    );
    check(&VfError::Mailbox(mailbox), &mailbox);
    check(
        &VfError::BadReply {
            action: code::RESFIX_START,
            error: wire,
        },
        &wire,
    );
    check(
        &VfError::VersionRefused {
            wanted: Version::new(1, 27),
            guc: Some(Version::new(1, 2)),
            error: mailbox,
        },
        &mailbox,
    );
    check(
        &VfError::SelfCfg {
            key: SelfCfgKey::MemirqSourceAddr,
            error: self_cfg,
        },
        &self_cfg,
    );
    check(&VfError::ControlCtb(self_cfg), &self_cfg);
    check(
        &RecoveryError::Gt {
            gt: GtId(1),
            step: Step::QueryConfig,
            error: vf,
        },
        &vf,
    );
    check(
        &RecoveryError::Hook {
            gt: GtId(0),
            step: Step::Rearm,
            error: hook,
        },
        &hook,
    );
    check(
        &RecoveryError::GgttFixup {
            tile: TileId(0),
            gt: GtId(0),
            ggtt: GgttMove {
                old: 0x20_0000,
                new: 0x120_0000,
            },
            error: hook,
        },
        &hook,
    );
    check(
        &BootstrapError::Gt {
            gt: GtId(0),
            error: vf,
        },
        &vf,
    );
}

/// The deepest chains the crate can build, from the top layer to the wire, each link checked
/// for its type and the whole chain for repeats.
#[test]
fn the_deepest_chains_reach_the_wire_without_repeats() {
    let wire = WireError::MustBeZero {
        dword: 0,
        bits: 0x10,
    };
    let cases: [(&(dyn Error + 'static), usize); 4] = [
        (
            &RecoveryError::Gt {
                gt: GtId(0),
                step: Step::ResfixStart,
                error: VfError::Mailbox(MailboxError::Protocol {
                    header: 0xF000_0010,
                    error: wire,
                }),
            },
            4,
        ),
        (
            &RecoveryError::Gt {
                gt: GtId(0),
                step: Step::ResfixDone,
                error: VfError::Mailbox(MailboxError::Remote {
                    error: GucError::GenericFail,
                    hint: 0,
                }),
            },
            4,
        ),
        (
            &BootstrapError::Gt {
                gt: GtId(1),
                error: VfError::SelfCfg {
                    key: SelfCfgKey::MemirqStatusAddr,
                    error: SelfCfgError::Failure {
                        hint: 0,
                        error: GucError::InvalidKlvKey,
                    },
                },
            },
            4,
        ),
        (
            &BootstrapError::Gt {
                gt: GtId(0),
                error: VfError::VersionRefused {
                    wanted: Version::new(1, 27),
                    guc: None,
                    error: MailboxError::Protocol {
                        header: 0xC000_0000,
                        error: WireError::UndefinedType(4),
                    },
                },
            },
            4,
        ),
    ];
    for (error, depth) in cases {
        let texts = layered(error);
        assert_eq!(texts.len(), depth, "{error:?}: {texts:?}");
        assert!(ends_at_the_wire(error), "{error:?}: {texts:?}");
    }
}

fn gt(guc: &'static MockGuc) -> Gt<&'static MockGuc> {
    Gt::new(
        guc,
        GtInfo::new(GtKind::Primary, false, 2004),
        MailboxConfig::KERNEL,
    )
}

fn leaked_guc() -> &'static MockGuc {
    Box::leak(Box::new(MockGuc::new(
        GtKind::Primary,
        Version::new(1, 27),
        Provisioning::integrated(),
    )))
}

/// A one-GT VF (register interrupts) on `guc`, not bootstrapped.
fn one_gt_vf(guc: &'static MockGuc) -> Vf<&'static MockGuc, NoHooks, TestQueue, 1> {
    Vf::new(
        [gt(guc)],
        NoHooks,
        TestQueue::new(),
        RecoveryConfig::default().with_mmio_irq(),
    )
    .unwrap()
}

/// Errors the crate really returns (the mock GuC misbehaving), at each layer: the GT's own
/// calls, the bootstrap and a recovery pass. Each chain reaches the wire error the mock sent.
#[test]
fn real_failures_chain_down_to_what_the_guc_sent() {
    // GT layer: a RESFIX_START reply with DATA0 bits set is a bad reply, caused by the wire.
    let guc = leaked_guc();
    let mut g = gt(guc);
    g.bootstrap().unwrap();
    guc.inject(
        Trigger::Action(code::RESFIX_START),
        Fault::Reply(MmioMessage::from_header(0xF000_0001)),
    )
    .unwrap();
    let marker = g.next_marker();
    let error = g.resfix_start(marker).unwrap_err();
    assert_eq!(
        error,
        VfError::BadReply {
            action: code::RESFIX_START,
            error: WireError::MustBeZero { dword: 0, bits: 1 },
        }
    );
    assert_eq!(layered(&error).len(), 2);
    assert!(ends_at_the_wire(&error));

    // GT layer: a FAILURE to a configuration query, through the mailbox, to the GuC's code.
    guc.inject(
        Trigger::Action(code::QUERY_SINGLE_KLV),
        Fault::Failure {
            error: GucError::NoPermission,
            hint: 3,
        },
    )
    .unwrap();
    let error = g.query_config().unwrap_err();
    let texts = layered(&error);
    assert_eq!(
        chain(&error).last().unwrap().downcast_ref::<GucError>(),
        Some(&GucError::NoPermission)
    );
    assert_eq!(texts.len(), 3, "{texts:?}");
    assert!(texts[1].contains("hint 0x3"), "{texts:?}");

    // Bootstrap: garbage (an undefined HXG type) in answer to MATCH_VERSION.
    let guc = leaked_guc();
    guc.inject(
        Trigger::Action(code::MATCH_VERSION),
        Fault::Reply(MmioMessage::from_header(0xC000_0000)),
    )
    .unwrap();
    let vf = one_gt_vf(guc);
    let error = vf.bootstrap().unwrap_err();
    let links = chain(&error);
    assert!(links[0].is::<BootstrapError>());
    assert!(links[1].is::<VfError>());
    assert!(links[2].is::<MailboxError>());
    assert_eq!(
        links[3].downcast_ref::<WireError>(),
        Some(&WireError::UndefinedType(4))
    );
    assert_eq!(layered(&error).len(), 4);

    // Recovery: the GuC refuses RESFIX_START after a migration; the device is wedged.
    let guc = leaked_guc();
    let vf = one_gt_vf(guc);
    vf.bootstrap().unwrap();
    guc.inject(
        Trigger::Action(code::RESFIX_START),
        Fault::Failure {
            error: GucError::InvalidState,
            hint: 0,
        },
    )
    .unwrap();
    guc.migrate(0x0120_0000);
    let _ = vf.handle_guc_interrupt(GtId(0), guc.take_interrupts());
    assert!(vf.queue().take());
    let PassOutcome::Failed(error) = vf.run_worker() else {
        panic!("the pass did not fail");
    };
    let texts = layered(&error);
    assert_eq!(texts.len(), 4, "{texts:?}");
    assert_eq!(texts[0], "GT0: RESFIX_START failed");
    assert_eq!(
        chain(&error).last().unwrap().downcast_ref::<GucError>(),
        Some(&GucError::InvalidState)
    );
    assert!(vf.is_wedged());
}

/// Errors without a cause have none, and still say what went wrong.
#[test]
fn leaf_errors_have_no_source() {
    let leaves: [&(dyn Error + 'static); 13] = [
        &GtAccessError::UnknownGt,
        &GtAccessError::UnknownTile,
        &GtAccessError::Busy,
        &WireError::WrongOrigin,
        &GucError::VfMigrated,
        &MailboxError::VfMigrated { hint: 0 },
        &SelfCfgError::KeyNotRecognised,
        &VfError::ZeroValue {
            key: KlvKey::GgttSize,
        },
        &RecoveryError::RequeueLimit {
            gt: GtId(0),
            requeues: 9,
            step: Step::ResfixDone,
        },
        &BootstrapError::Busy,
        &MmioError::Null,
        &TopologyError::GtCount(0),
        &CoordinatorError::NoGts,
    ];
    for error in leaves {
        assert!(error.source().is_none(), "{error:?}");
        assert_eq!(layered(error).len(), 1);
    }
}
