//! Per-GT VF logic: bootstrap (VF_RESET and the version handshake), the configuration query and
//! its validation, and the RESFIX messages, all over the GT's MMIO mailbox.
//!
//! A GT owns one GuC: its mailbox, its negotiated VF ABI, its configuration query and its RESFIX
//! marker. The GGTT the query reports belongs to the GT's *tile* ([`crate::tile`]): a tile's
//! primary and media GT report the same GGTT, and [`Vf`](crate::Vf) moves it once per tile, so
//! nothing here computes a GGTT shift.
//!
//! The rules are the Linux `xe` driver's (`xe_gt_sriov_vf.c` as merged for kernel 7.3; the
//! mailbox under it follows kernel 7.1, see [`crate::mailbox`]):
//!
//! - **Bootstrap**: VF_RESET, sent again up to 10 times while it times out (a lost reply,
//!   [`MailboxError::LinkLost`], ends it at once); then MATCH_VERSION asking for the platform's
//!   minimum VF ABI (1.1 on Tiger Lake to Ponte Vecchio, 1.2 on newer parts). A reply with a
//!   newer major than asked is a protocol error, another major is unsupported (no fallback), an
//!   older minor than the minimum is too old. A later handshake (after a reset) asks for the
//!   version in use and must get the same major.minor.patch back (the branch is not compared);
//!   the reply then becomes the GT's version, as the kernel's `match_version` writes it into
//!   the GT's `guc_version`. After any handshake failure one more MATCH_VERSION asks for "any"
//!   version (0.0), only to learn which version the GuC speaks: it is logged and, where the
//!   failure itself did not carry it, reported in the error ([`VfError::VersionRefused`]).
//! - **Configuration**, in this order, each key's checks right after it (the kernel's order;
//!   the query stops at the first failing key with the kernel's error for it):
//!
//!   | key | checked right after it |
//!   |---|---|
//!   | GGTT_START | (nothing yet) |
//!   | GGTT_SIZE | 0: [`VfError::ZeroValue`] (`-ENODATA`); on a re-query, changed: [`VfError::Reassigned`] (`-EREMCHG`); then ours: start and size 4K-aligned ([`VfError::InvalidValue`]), the GGTT range ([`VfError::GgttRange`]) |
//!   | LMEM_SIZE (discrete, primary GT only) | on a re-query, changed: `Reassigned`; then 0: `ZeroValue`; then ours: 2M-aligned |
//!   | NUM_CONTEXTS | (checked after NUM_DOORBELLS) |
//!   | NUM_DOORBELLS | on a re-query, contexts changed, then doorbells changed: `Reassigned`; then 0 contexts: `ZeroValue` |
//!   | GROUP_SCHEDULING_AVAILABLE (VF ABI 1.26+) | a value above 1: `InvalidValue` (`-EPROTO`) |
//!   | GMD_ID (graphics IP 12.70+) | any failure is logged and the value taken as 0 |
//!   | NUM_PAGING_ENGINE_INSTANCES (VF ABI 1.36+) | (none) |
//!
//!   Each reply must carry exactly the key's length. "Changed" is the kernel's
//!   `old && old != new` rule: NUM_DOORBELLS may change from 0 (a VF provisioned without
//!   doorbells); GGTT_START may change (that is the migration); GROUP_SCHEDULING_AVAILABLE,
//!   GMD_ID and NUM_PAGING_ENGINE_INSTANCES are not compared, the new value is taken.
//!
//! Where the query differs from the kernel's (7.3), deliberately:
//!
//! | what | kernel 7.3 | here |
//! |---|---|---|
//! | GGTT range (`-ERANGE`: base below the WOPCM size [`GtInfo::wopcm_size`], above [`GUC_GGTT_TOP`], or size beyond `GUC_GGTT_TOP - base`) | checked once, at init, after the query | checked right after GGTT_SIZE, at bootstrap and on every re-query: a re-query that moved the GGTT out of range would corrupt memory |
//! | alignment (GGTT_START, GGTT_SIZE 4K; LMEM_SIZE 2M) | not checked | checked right after the key, on every query: a misaligned base cannot be mapped, and the tile's move would misplace every node |
//! | what a failed re-query leaves | the values stored before the failing check (GGTT size, LMEM size, counts) and the GGTT already moved | nothing: the new configuration replaces the old one only once every key passed, and the tile's GGTT moves after the query |

use crate::wire::self_cfg::{
    decode_control_ctb_reply, decode_self_cfg_reply, encode_control_ctb, encode_self_cfg,
    CtbControl, SelfCfgError, SelfCfgKey,
};
mod error;
mod info;

pub use error::VfError;
pub use info::{GpuKind, GraphicsIp, GtInfo, PlatformClass};

use core::fmt;
use core::task::Poll;

use crate::device::Device;
use crate::mailbox::{InFlight, Mailbox, MailboxConfig, MailboxError};
use crate::tile::TileId;
use crate::wire::action::{decode_empty_reply, KlvReply, MmioMessage};
use crate::wire::regs::GtKind;
use crate::wire::{KlvKey, Marker, Request, Version, WireError};

/// How many times VF_RESET is sent while it times out (the kernel's
/// `GUC_RESET_VF_STATE_RETRY_MAX`).
pub const VF_RESET_ATTEMPTS: u32 = 10;

/// The first VF ABI with RESFIX_START and RESFIX_DONE markers.
pub const MARKERS_ABI: Version = Version::new(1, 27);

/// The top of the GGTT range the GuC can address (`GUC_GGTT_TOP`): no VF GGTT may reach above it.
pub const GUC_GGTT_TOP: u64 = 0xFEE0_0000;

/// The VF's provisioning on one GT, as the GuC reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct VfConfig {
    /// GGTT base of this VF (4K-aligned). The one value a migration may change.
    pub ggtt_start: u64,
    /// GGTT size (4K-aligned, never 0).
    pub ggtt_size: u64,
    /// Local memory size (2M-aligned, never 0); only on the primary GT of a discrete part.
    pub lmem_size: Option<u64>,
    /// GuC contexts (never 0).
    pub num_contexts: u32,
    /// GuC doorbells.
    pub num_doorbells: u32,
    /// Whether group scheduling is available (VF ABI 1.26+).
    pub group_scheduling_available: Option<bool>,
    /// GMD_ID (graphics IP 12.70+, else `None`; `Some(0)` where the query failed, as the kernel
    /// carries on with 0).
    pub gmd_id: Option<u32>,
    /// Paging engine instances (VF ABI 1.36+).
    pub num_paging_engine_instances: Option<u32>,
}

const SZ_4K: u64 = 4 << 10;
const SZ_2M: u64 = 2 << 20;

/// One GT of the VF: its mailbox, the negotiated VF ABI and the last good configuration.
///
/// ```
/// # #[cfg(feature = "mock")] {
/// use xe_sriov_vf::gt::{GpuKind, GraphicsIp, Gt, GtInfo, VfError};
/// use xe_sriov_vf::mailbox::MailboxConfig;
/// use xe_sriov_vf::mock::{MockGuc, Provisioning};
/// use xe_sriov_vf::wire::{regs::GtKind, KlvKey, Version};
///
/// let guc = MockGuc::new(GtKind::Primary, Version::new(1, 27), Provisioning::discrete());
/// // A discrete primary GT of graphics IP 20.01 (Battlemage) on tile 0.
/// let info = GtInfo::of(GtKind::Primary, GpuKind::Discrete, GraphicsIp::new(20, 1));
/// let mut gt = Gt::new(&guc, info, MailboxConfig::default());
/// assert_eq!(gt.bootstrap(), Ok(Version::new(1, 27)));
/// let config = gt.query_config().unwrap();
/// assert_eq!(config.lmem_size, Some(4 << 30));
///
/// // Migrated: only the GGTT base may move.
/// guc.migrate(0x0200_0000);
/// assert_eq!(gt.query_config().unwrap().ggtt_start, 0x0200_0000);
///
/// // Anything else moving is refused, naming the key, and the old config is kept.
/// let mut fewer = Provisioning::discrete();
/// fewer.num_contexts = 8;
/// guc.restore(fewer);
/// guc.resume();
/// assert!(matches!(
///     gt.query_config(),
///     Err(VfError::Reassigned { key: KlvKey::NumContexts, old: 1024, new: 8 })
/// ));
/// # }
/// ```
#[derive(Debug)]
pub struct Gt<D> {
    info: GtInfo,
    mailbox: Mailbox<D>,
    version: Option<Version>,
    config: Option<VfConfig>,
    /// The RESFIX marker counter (the kernel's per-GT `resfix_marker`).
    marker_counter: u8,
}

impl<D: Device> Gt<D> {
    /// A GT reached through `dev`, not yet bootstrapped.
    pub const fn new(dev: D, info: GtInfo, mailbox: MailboxConfig) -> Gt<D> {
        Gt {
            info,
            mailbox: Mailbox::new(dev, info.kind.mailbox(), mailbox),
            version: None,
            config: None,
            marker_counter: 0,
        }
    }

    /// What the GT is.
    pub const fn info(&self) -> &GtInfo {
        &self.info
    }

    /// The device behind the mailbox.
    pub const fn device(&self) -> &D {
        self.mailbox.device()
    }

    /// The mailbox.
    pub fn mailbox(&mut self) -> &mut Mailbox<D> {
        &mut self.mailbox
    }

    /// The negotiated VF ABI version, once bootstrapped.
    pub const fn version(&self) -> Option<Version> {
        self.version
    }

    /// The last configuration that passed validation.
    pub const fn config(&self) -> Option<&VfConfig> {
        self.config.as_ref()
    }

    /// The marker for this GT's next recovery: `1 + counter` with an 8-bit counter that wraps, so
    /// 1..=256 (the kernel's `vf_post_migration_next_resfix_marker`).
    pub fn next_marker(&mut self) -> Marker {
        let marker = Marker::from_counter(self.marker_counter);
        self.marker_counter = self.marker_counter.wrapping_add(1);
        marker
    }

    /// Whether the negotiated VF ABI has RESFIX markers (1.27+).
    pub fn supports_markers(&self) -> bool {
        self.version
            .is_some_and(|v| v.at_least(MARKERS_ABI.major, MARKERS_ABI.minor))
    }

    /// VF_RESET then the version handshake. Returns the negotiated version.
    ///
    /// # Errors
    ///
    /// What [`reset`](Gt::reset) or [`handshake`](Gt::handshake) fails with: [`VfError::Mailbox`]
    /// or [`VfError::BadReply`] from VF_RESET, a `Version*` variant from MATCH_VERSION.
    pub fn bootstrap(&mut self) -> Result<Version, VfError> {
        self.reset()?;
        self.handshake()
    }

    /// VF_RESET, sent again (up to [`VF_RESET_ATTEMPTS`] in all) while it times out: a
    /// [`MailboxError::Timeout`] or a [`MailboxError::BusyTimeout`], the two the kernel (7.1)
    /// reports as `-ETIMEDOUT`. Any other error ends the loop, [`MailboxError::LinkLost`]
    /// included: three lost replies end the bootstrap after three sends (about 662 ms).
    ///
    /// # Errors
    ///
    /// [`VfError::Mailbox`] with the last send's failure (a timeout on every attempt, or the first
    /// other failure); [`VfError::BadReply`] when the reply is not an empty SUCCESS.
    pub fn reset(&mut self) -> Result<(), VfError> {
        // A counted loop: it ends after VF_RESET_ATTEMPTS sends whatever the GuC answers. The
        // timeouts are the mailbox's own errors: the reply is checked once, after the last send.
        let request = Request::VfReset;
        let mut sends = 0;
        let sent = loop {
            let sent = self.mailbox.send(&request);
            sends += 1;
            let timed_out = matches!(
                sent,
                Err(MailboxError::Timeout { .. } | MailboxError::BusyTimeout)
            );
            if !timed_out || sends >= VF_RESET_ATTEMPTS {
                break sent;
            }
        };
        let result = empty_reply(request, sent);
        if let Err(e) = &result {
            error!("failed to reset GuC VF state: {:?}", e);
        }
        result
    }

    /// MATCH_VERSION with the kernel's rules; see the module docs.
    ///
    /// # Errors
    ///
    /// [`VfError::VersionRefused`] when the MATCH_VERSION exchange itself fails (a FAILURE reply, a
    /// timeout; its `error` says which); [`VfError::BadReply`] for a malformed reply;
    /// [`VfError::VersionNewerMajor`], [`VfError::VersionMajorMismatch`] or
    /// [`VfError::VersionTooOld`] when the GuC's version is not usable; [`VfError::VersionChanged`]
    /// when a later handshake finds another version than the one in use.
    pub fn handshake(&mut self) -> Result<Version, VfError> {
        let result = self.try_handshake();
        match result {
            Ok(v) => Ok(v),
            Err(mut error) => {
                // As the kernel does: ask for "any" version once, only to learn which one the
                // GuC speaks.
                let guc = self.match_any();
                if let Some(v) = guc {
                    info!("GuC reports VF interface version {}", v);
                }
                if let VfError::VersionRefused { guc: reported, .. } = &mut error {
                    *reported = guc;
                }
                Err(error)
            }
        }
    }

    /// MATCH_VERSION 0.0 ("any"); the GuC's version, or `None` if that failed too.
    fn match_any(&mut self) -> Option<Version> {
        self.match_version(Version::new(0, 0)).ok()
    }

    /// One MATCH_VERSION exchange asking for `wanted` (its patch sent as 0): the version the
    /// GuC answered. The exchange's failure is the handshake's ([`VfError::VersionRefused`]:
    /// `handshake` adds what the GuC speaks).
    fn match_version(&mut self, wanted: Version) -> Result<Version, VfError> {
        let request = Request::MatchVersion {
            wanted: Version { patch: 0, ..wanted },
        };
        let reply = self
            .mailbox
            .send(&request)
            .map_err(|error| VfError::VersionRefused {
                wanted,
                guc: None,
                error,
            })?;
        Version::decode_match_reply(reply.as_slice()).map_err(|error| VfError::BadReply {
            action: request.action(),
            error,
        })
    }

    fn try_handshake(&mut self) -> Result<Version, VfError> {
        let previous = self.version;
        let wanted = previous.unwrap_or(self.info.wanted_vf_abi());
        let found = self.match_version(wanted)?;
        if let Some(previous) = previous {
            let same = |v: Version| (v.major, v.minor, v.patch);
            if same(found) != same(previous) {
                error!("GuC VF ABI changed from {} to {}", previous, found);
                return Err(VfError::VersionChanged { previous, found });
            }
            // The branch may differ; the kernel's match_version then stores the reply as the
            // GT's version (kernel 7.3), and so do we.
            self.version = Some(found);
            return Ok(found);
        }
        if found.major > wanted.major {
            return Err(VfError::VersionNewerMajor { wanted, found });
        }
        if found.major != wanted.major {
            return Err(VfError::VersionMajorMismatch { wanted, found });
        }
        let minimum = self.info.platform.minimum_vf_abi();
        if !found.at_least(minimum.major, minimum.minor) {
            return Err(VfError::VersionTooOld { minimum, found });
        }
        debug!("using GuC VF ABI {}", found);
        self.version = Some(found);
        Ok(found)
    }

    /// Queries the whole configuration in the kernel's order and validates it (see the module
    /// docs). On success the new configuration replaces the old one and is returned; on error
    /// nothing changes. Where the GGTT went is the tile's business: see [`crate::tile`].
    ///
    /// # Errors
    ///
    /// [`VfError::NotBootstrapped`] before the handshake; [`VfError::Mailbox`] when a key's query
    /// fails (except GMD_ID's: carried on with as 0, as the kernel does); [`VfError::BadReply`],
    /// [`VfError::KlvOverflow`] or [`VfError::KlvNoData`] for a malformed reply;
    /// [`VfError::ZeroValue`], [`VfError::InvalidValue`] or [`VfError::GgttRange`] for a value the
    /// ABI does not allow; [`VfError::Reassigned`] when a value other than the GGTT base changed
    /// since the last query. The old configuration is kept.
    pub fn query_config(&mut self) -> Result<VfConfig, VfError> {
        // Polled where it was posted: a GtOp is large, and `?` would copy it out of the result.
        let mut posted = self.post_query_config();
        self.complete(posted.as_mut().map_err(|e| *e)?)?;
        Ok(self.config.unwrap_or_default())
    }

    /// The keys of the configuration query, in the kernel's order, for this GT and VF ABI.
    fn config_keys(&self, version: Version) -> heapless::Vec<KlvKey, CONFIG_KEYS> {
        let mut keys = heapless::Vec::new();
        let mut add = |key| {
            let _ = keys.push(key);
        };
        add(KlvKey::GgttStart);
        add(KlvKey::GgttSize);
        if self.info.discrete && self.info.kind == GtKind::Primary {
            add(KlvKey::LmemSize);
        }
        add(KlvKey::NumContexts);
        add(KlvKey::NumDoorbells);
        if version.at_least(1, 26) {
            add(KlvKey::GroupSchedulingAvailable);
        }
        if self.info.graphics_verx100 >= 1270 {
            add(KlvKey::GmdId);
        }
        if version.at_least(1, 36) {
            add(KlvKey::NumPagingEngineInstances);
        }
        keys
    }

    /// Takes one key's reply (or failure) into the query and runs the checks the kernel runs
    /// right after that key (see the module docs); the error ends the query. `old` is the
    /// configuration of the previous query, if any; `info` the GT's (its WOPCM size, looked up
    /// only for GGTT_SIZE's check).
    // Out of line: inlined into its one caller, poll_step, it cost 157 B more (footprint.sh).
    #[inline(never)]
    fn take_key(
        q: &mut ConfigQuery,
        key: KlvKey,
        reply: Result<KlvReply, VfError>,
        old: Option<&VfConfig>,
        info: &GtInfo,
    ) -> Result<(), VfError> {
        let klv = match reply {
            Ok(klv) => klv,
            // The kernel logs any GMD_ID failure (xe_gt_sriov_err) and carries on with GMD_ID 0.
            Err(e) if key == KlvKey::GmdId => {
                error!("failed to obtain GMD_ID ({:?})", e);
                KlvReply {
                    len: 1,
                    value: [0; 3],
                }
            }
            Err(e) => return Err(e),
        };
        let (value, value_u64) = (klv.value[0], klv.value_u64());
        let c = &mut q.config;
        match key {
            KlvKey::GgttStart => c.ggtt_start = value_u64,
            KlvKey::GgttSize => {
                c.ggtt_size = value_u64;
                check_ggtt(c, old, info.wopcm_size())?;
            }
            KlvKey::LmemSize => {
                c.lmem_size = Some(value_u64);
                check_lmem(value_u64, old)?;
            }
            KlvKey::NumContexts => c.num_contexts = value,
            KlvKey::NumDoorbells => {
                c.num_doorbells = value;
                check_counts(c, old)?;
            }
            KlvKey::GroupSchedulingAvailable => {
                c.group_scheduling_available = match value {
                    0 => Some(false),
                    1 => Some(true),
                    other => {
                        return Err(VfError::InvalidValue {
                            key,
                            value: other.into(),
                        })
                    }
                }
            }
            KlvKey::GmdId => c.gmd_id = Some(value),
            _ => c.num_paging_engine_instances = Some(value),
        }
        Ok(())
    }

    /// Posts the configuration query's first request: the split-phase form of
    /// [`query_config`](Gt::query_config), driven by [`poll_op`](Gt::poll_op) (which posts the
    /// next key's request as each reply comes in).
    ///
    /// # Errors
    ///
    /// [`VfError::NotBootstrapped`] before the handshake; otherwise what
    /// [`query_config`](Gt::query_config) fails with for a key whose request could not even be
    /// posted (a [`VfError::Mailbox`] carrying the posting failure).
    pub fn post_query_config(&mut self) -> Result<GtOp, VfError> {
        let version = self.version.ok_or(VfError::NotBootstrapped)?;
        let mut op = GtOp {
            kind: OpKind::Config(ConfigQuery {
                keys: self.config_keys(version),
                next: 0,
                config: VfConfig::default(),
            }),
            t: None,
        };
        self.post_next_key(&mut op)?;
        Ok(op)
    }

    /// Posts the request for the query's next key into `op` (built in place: a `GtOp` is
    /// large); `Ok(false)` when no key is left (or `op` is no query).
    fn post_next_key(&mut self, op: &mut GtOp) -> Result<bool, MailboxError> {
        let OpKind::Config(q) = &op.kind else {
            return Ok(false);
        };
        let Some(key) = q.keys.get(q.next) else {
            return Ok(false);
        };
        op.t = Some(
            self.mailbox
                .post(&Request::QuerySingleKlv { key: key.raw() })?,
        );
        Ok(true)
    }

    /// One poll of a GT operation in flight (see [`GtOp`]): `Pending` means let time pass and
    /// poll again; `Ready` is what the blocking call would have returned (`Some` configuration
    /// for a query, `None` for a RESFIX message). Once it answered `Ready`, the operation is
    /// over: a further poll touches nothing and answers [`VfError::PolledAfterReady`].
    pub fn poll_op(&mut self, op: &mut GtOp) -> Poll<Result<Option<VfConfig>, VfError>> {
        // Every post leaves a transaction in flight, and so does every poll that answers
        // `Pending` (a query posts its next key before it waits): none means it answered.
        // Polling on would send a query's next key or answer a second time.
        if op.t.is_none() {
            return Poll::Ready(Err(VfError::PolledAfterReady));
        }
        self.poll_step(op).map(|result| {
            result.map(|()| match op.kind {
                OpKind::Config(_) => self.config,
                OpKind::Empty(_) => None,
            })
        })
    }

    /// [`poll_op`](Gt::poll_op) without the configuration: a query's, once taken, is
    /// [`config`](Gt::config). The crate's own callers use this one, so that no configuration
    /// is copied through every poll's result.
    pub(crate) fn poll_step(&mut self, op: &mut GtOp) -> Poll<Result<(), VfError>> {
        loop {
            let reply = match op.t.as_mut() {
                Some(t) => match self.mailbox.poll(t) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(reply) => reply,
                },
                // Between two keys of a query: the next key's request, whose failure to be
                // posted at all is that key's reply.
                None => match self.post_next_key(op) {
                    Ok(true) => continue,
                    Err(e) => Err(e),
                    Ok(false) => {
                        if let OpKind::Config(q) = &op.kind {
                            // Every key checked as it came in: the new configuration replaces
                            // the old one.
                            self.config = Some(q.config);
                        }
                        return Poll::Ready(Ok(()));
                    }
                },
            };
            op.t = None;
            let q = match &mut op.kind {
                OpKind::Empty(request) => return Poll::Ready(empty_reply(*request, reply)),
                OpKind::Config(q) => q,
            };
            let key = q.keys.get(q.next).copied().unwrap_or(KlvKey::GgttStart);
            q.next += 1;
            let klv = reply
                .map_err(VfError::from)
                .and_then(|reply| check_klv(key, reply.as_slice()));
            if let Err(e) = Self::take_key(q, key, klv, self.config.as_ref(), &self.info) {
                return Poll::Ready(Err(e));
            }
        }
    }

    /// Polls `op` until it is ready, relaxing between polls.
    fn complete(&mut self, op: &mut GtOp) -> Result<(), VfError> {
        loop {
            match self.poll_step(op) {
                Poll::Ready(outcome) => return outcome,
                Poll::Pending => self.mailbox.device().relax(),
            }
        }
    }

    /// Posts a send-only request whose reply must be an empty SUCCESS.
    fn post_empty(&mut self, request: Request) -> Result<GtOp, VfError> {
        let t = self.mailbox.post(&request)?;
        Ok(GtOp {
            kind: OpKind::Empty(request),
            t: Some(t),
        })
    }

    /// Posts VF2GUC_RESFIX_START with `marker`: the split-phase form of
    /// [`resfix_start`](Gt::resfix_start), driven by [`poll_op`](Gt::poll_op).
    ///
    /// # Errors
    ///
    /// [`VfError::NotBootstrapped`] before the handshake; [`VfError::Mailbox`] when the request
    /// cannot be posted (it does not encode: [`MailboxError::Protocol`]). The reply's failures
    /// come from [`poll_op`](Gt::poll_op).
    pub fn post_resfix_start(&mut self, marker: Marker) -> Result<GtOp, VfError> {
        self.version.ok_or(VfError::NotBootstrapped)?;
        debug!("sending RESFIX_START marker {}", marker.get());
        self.post_empty(Request::ResfixStart { marker })
    }

    /// Posts VF2GUC_RESFIX_DONE: the split-phase form of [`resfix_done`](Gt::resfix_done),
    /// driven by [`poll_op`](Gt::poll_op).
    ///
    /// # Errors
    ///
    /// [`VfError::NotBootstrapped`] before the handshake; [`VfError::Mailbox`] when the request
    /// cannot be posted (it does not encode: [`MailboxError::Protocol`]). The reply's failures
    /// come from [`poll_op`](Gt::poll_op).
    pub fn post_resfix_done(&mut self, marker: Option<Marker>) -> Result<GtOp, VfError> {
        self.version.ok_or(VfError::NotBootstrapped)?;
        self.post_empty(Request::ResfixDone { marker })
    }

    /// VF2GUC_RESFIX_START with `marker` (VF ABI 1.27+).
    ///
    /// # Errors
    ///
    /// [`VfError::NotBootstrapped`] before the handshake; [`VfError::Mailbox`] when the exchange
    /// fails (a VF_MIGRATED reply is [`MailboxError::VfMigrated`]); [`VfError::BadReply`] when the
    /// reply is not an empty SUCCESS.
    pub fn resfix_start(&mut self, marker: Marker) -> Result<(), VfError> {
        // Polled where it was posted, as in `query_config`.
        let mut posted = self.post_resfix_start(marker);
        self.complete(posted.as_mut().map_err(|e| *e)?)
    }

    /// VF2GUC_RESFIX_DONE: with the marker from RESFIX_START (VF ABI 1.27+), or without one
    /// (legacy). A VF_MIGRATED reply means a second migration: see [`VfError::is_vf_migrated`].
    ///
    /// # Errors
    ///
    /// As [`resfix_start`](Gt::resfix_start): [`VfError::NotBootstrapped`], [`VfError::Mailbox`] (a
    /// second migration is [`MailboxError::VfMigrated`]), [`VfError::BadReply`].
    pub fn resfix_done(&mut self, marker: Option<Marker>) -> Result<(), VfError> {
        // Polled where it was posted, as in `query_config`.
        let mut posted = self.post_resfix_done(marker);
        self.complete(posted.as_mut().map_err(|e| *e)?)
    }

    /// HOST2GUC_SELF_CFG: tells this GT's GuC `value` for `key` (the kernel's `guc_self_cfg`,
    /// over the mailbox, before CTB is enabled). A send-only exchange: the reply's NUM (1 =
    /// accepted) is in its header. Needs a completed bootstrap.
    ///
    /// # Errors
    ///
    /// [`VfError::NotBootstrapped`] before the handshake; [`VfError::SelfCfg`] when `value` does
    /// not fit the key or the GuC did not accept it (NUM not 1); [`VfError::Mailbox`] when the
    /// exchange fails.
    pub fn self_cfg(&mut self, key: SelfCfgKey, value: u64) -> Result<(), VfError> {
        self.version.ok_or(VfError::NotBootstrapped)?;
        let msg = encode_self_cfg(key, value).map_err(|error| VfError::SelfCfg { key, error })?;
        debug!(
            "HOST2GUC_SELF_CFG key {:#06x} value {:#x}",
            key.raw(),
            value
        );
        let reply = self.mailbox.send_only(msg.as_slice())?;
        decode_self_cfg_reply(reply.as_slice()).map_err(|error| VfError::SelfCfg { key, error })
    }

    /// Registers the tile's memirq page with this GT's GuC: MEMIRQ_SOURCE_ADDR, then
    /// MEMIRQ_STATUS_ADDR (the kernel's `xe_memirq_init_guc` order), with the GGTT addresses of
    /// this GuC's source byte and status vector (see
    /// [`Memirq::registration`](crate::memirq::Memirq::registration)). Call it once, after the
    /// bootstrap and before CTB is enabled; nothing is re-registered after a migration.
    ///
    /// # Errors
    ///
    /// As [`self_cfg`](Gt::self_cfg), for either key: [`VfError::NotBootstrapped`],
    /// [`VfError::SelfCfg`] (its `key` says which of the two), [`VfError::Mailbox`]. When the
    /// second fails the first stays registered.
    pub fn register_memirq(&mut self, source_addr: u64, status_addr: u64) -> Result<(), VfError> {
        self.self_cfg(SelfCfgKey::MemirqSourceAddr, source_addr)?;
        self.self_cfg(SelfCfgKey::MemirqStatusAddr, status_addr)
    }

    /// HOST2GUC_CONTROL_CTB: enables or disables CT buffer communication (after the CTB
    /// addresses were given with [`self_cfg`](Gt::self_cfg)). The crate does not implement CTB;
    /// this is the one MMIO step of bringing it up. Needs a completed bootstrap.
    ///
    /// # Errors
    ///
    /// [`VfError::NotBootstrapped`] before the handshake; [`VfError::ControlCtb`] when the GuC's
    /// reply is not the acceptance; [`VfError::Mailbox`] when the exchange fails.
    pub fn control_ctb(&mut self, control: CtbControl) -> Result<(), VfError> {
        self.version.ok_or(VfError::NotBootstrapped)?;
        let reply = self
            .mailbox
            .send_only(encode_control_ctb(control).as_slice())?;
        decode_control_ctb_reply(reply.as_slice()).map_err(VfError::ControlCtb)
    }
}

/// How many keys a configuration query asks for at most.
const CONFIG_KEYS: usize = 8;

/// A configuration query in progress: its keys, the next one to take, what came in so far.
#[derive(Clone, Debug)]
struct ConfigQuery {
    keys: heapless::Vec<KlvKey, CONFIG_KEYS>,
    next: usize,
    config: VfConfig,
}

#[derive(Clone, Debug)]
enum OpKind {
    /// A RESFIX message: the reply must be an empty SUCCESS.
    Empty(Request),
    Config(ConfigQuery),
}

/// A GT operation in flight: RESFIX_START, RESFIX_DONE or the whole configuration query, made
/// by [`Gt::post_resfix_start`], [`Gt::post_resfix_done`] or [`Gt::post_query_config`] and
/// driven by [`Gt::poll_op`] on the same GT. It holds at most one mailbox transaction
/// ([`InFlight`]) at a time, so the GT's own rules (one request at a time, the kernel's order
/// of keys) hold, while one thread keeps several GTs busy.
#[derive(Clone, Debug)]
#[must_use = "a posted operation is only answered by polling it"]
pub struct GtOp {
    kind: OpKind,
    /// The transaction in flight: `None` only once the operation answered `Ready` (see
    /// [`Gt::poll_op`]).
    t: Option<InFlight>,
}

/// The outcome of `request`, whose reply must be an empty SUCCESS.
fn empty_reply(request: Request, reply: Result<MmioMessage, MailboxError>) -> Result<(), VfError> {
    let reply = reply?;
    decode_empty_reply(reply.as_slice()).map_err(|error| VfError::BadReply {
        action: request.action(),
        error,
    })
}

/// A KLV reply checked against `key`'s length.
fn check_klv(key: KlvKey, reply: &[u32]) -> Result<KlvReply, VfError> {
    let klv = KlvReply::decode(reply).map_err(|error| VfError::BadReply {
        action: crate::wire::action::code::QUERY_SINGLE_KLV,
        error,
    })?;
    let expected = key.expected_len().unwrap_or(0);
    if klv.len > expected {
        return Err(VfError::KlvOverflow { key, len: klv.len });
    }
    if klv.len < expected {
        return Err(VfError::KlvNoData { key, len: klv.len });
    }
    Ok(klv)
}

/// The checks right after GGTT_SIZE. The kernel's (7.3), in its order: a zero size is
/// `-ENODATA`, a changed one `-EREMCHG`. Ours after them (deliberate differences, see the
/// module docs): both values 4K-aligned, and the range the GuC can address (the kernel's
/// `-ERANGE`, which it checks at init only).
fn check_ggtt(c: &VfConfig, old: Option<&VfConfig>, wopcm: u64) -> Result<(), VfError> {
    if c.ggtt_size == 0 {
        return Err(VfError::ZeroValue {
            key: KlvKey::GgttSize,
        });
    }
    if let Some(old) = old {
        changed(KlvKey::GgttSize, old.ggtt_size, c.ggtt_size)?;
    }
    aligned(KlvKey::GgttStart, c.ggtt_start, SZ_4K)?;
    aligned(KlvKey::GgttSize, c.ggtt_size, SZ_4K)?;
    if c.ggtt_start < wopcm
        || c.ggtt_start > GUC_GGTT_TOP
        || c.ggtt_size > GUC_GGTT_TOP - c.ggtt_start
    {
        return Err(VfError::GgttRange {
            start: c.ggtt_start,
            size: c.ggtt_size,
            wopcm,
        });
    }
    Ok(())
}

/// The checks right after LMEM_SIZE, in the kernel's (7.3) order: changed (`-EREMCHG`), then
/// zero (`-ENODATA`); then ours, 2M-aligned.
fn check_lmem(lmem: u64, old: Option<&VfConfig>) -> Result<(), VfError> {
    if let Some(old) = old {
        changed(KlvKey::LmemSize, old.lmem_size.unwrap_or(0), lmem)?;
    }
    if lmem == 0 {
        return Err(VfError::ZeroValue {
            key: KlvKey::LmemSize,
        });
    }
    aligned(KlvKey::LmemSize, lmem, SZ_2M)
}

/// The checks right after NUM_DOORBELLS, in the kernel's (7.3) order: contexts changed,
/// doorbells changed (each `-EREMCHG`), then zero contexts (`-ENODATA`).
fn check_counts(c: &VfConfig, old: Option<&VfConfig>) -> Result<(), VfError> {
    if let Some(old) = old {
        changed(
            KlvKey::NumContexts,
            old.num_contexts.into(),
            c.num_contexts.into(),
        )?;
        changed(
            KlvKey::NumDoorbells,
            old.num_doorbells.into(),
            c.num_doorbells.into(),
        )?;
    }
    if c.num_contexts == 0 {
        return Err(VfError::ZeroValue {
            key: KlvKey::NumContexts,
        });
    }
    Ok(())
}

/// `value` must be a multiple of `align`.
fn aligned(key: KlvKey, value: u64, align: u64) -> Result<(), VfError> {
    if value.is_multiple_of(align) {
        Ok(())
    } else {
        Err(VfError::InvalidValue { key, value })
    }
}

/// The kernel's rule for every compared key: `old && old != new` is an unexpected
/// reassignment (an old value of 0 may be replaced).
fn changed(key: KlvKey, old: u64, new: u64) -> Result<(), VfError> {
    if old != 0 && old != new {
        error!(
            "unexpected reassignment of {}: {:#x} -> {:#x}",
            key.name(),
            old,
            new
        );
        return Err(VfError::Reassigned { key, old, new });
    }
    Ok(())
}
