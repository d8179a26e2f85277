//! The GuC proper: how the simulated GuC answers each request (VF actions, the self-config
//! messages) and the reply builders. Runs under the [`MockGuc`](super::super::MockGuc) lock, as
//! everything in the parent module; no function here can panic.

use super::*;

/// A GuC-origin header dword for `reply`; never fails (fields are masked by construction, and
/// an impossible encoding error degrades to GENERIC_FAIL).
pub(super) fn reply_dw(reply: Reply) -> u32 {
    reply.encode().unwrap_or(0xE000_F000)
}

/// A one-dword message.
pub(super) fn one(dw: u32) -> Option<MmioMessage> {
    MmioMessage::from_slice(&[dw]).ok()
}

pub(super) fn failure(error: GucError, hint: u16) -> Option<MmioMessage> {
    one(reply_dw(Reply::Failure {
        hint: hint & 0xFFF,
        error,
    }))
}

pub(super) fn success0() -> Option<MmioMessage> {
    one(reply_dw(Reply::Success { data0: 0 }))
}

/// A KLV reply as the GuC writes it: the header and its LENGTH value dwords (1 + LENGTH).
pub(super) fn klv(len: u16, value: [u32; 3]) -> Option<MmioMessage> {
    let full = KlvReply { len, value }.encode().ok()?;
    let n = 1 + usize::from(len).min(3);
    MmioMessage::from_slice(&full.as_slice()[..n]).ok()
}

pub(super) fn klv32(v: u32) -> Option<MmioMessage> {
    klv(1, [v, 0, 0])
}

pub(super) fn klv64(v: u64) -> Option<MmioMessage> {
    klv(2, [v as u32, (v >> 32) as u32, 0])
}

impl Inner {
    /// HOST2GUC_SELF_CFG and HOST2GUC_CONTROL_CTB, parsed strictly: the reply, or `None` when
    /// `dws` is neither.
    pub(super) fn self_config(&mut self, dws: &[u32]) -> Option<Option<MmioMessage>> {
        let action = dws.first().map(|&dw| dw & 0xFFFF)?;
        let reply = |num: u32| one(reply_dw(Reply::Success { data0: num }));
        if action == u32::from(self_cfg::code::SELF_CFG) {
            return Some(match decode_self_cfg(dws) {
                Ok(req) => {
                    let (key, value) = (req.key(), req.value());
                    match key {
                        SelfCfgKey::MemirqSourceAddr => self.memirq_source = Some(value),
                        SelfCfgKey::MemirqStatusAddr => self.memirq_status = Some(value),
                        _ => {
                            if let Some(slot) = self.self_cfg.iter_mut().find(|(k, _)| *k == key) {
                                slot.1 = value;
                            } else {
                                let _ = self.self_cfg.push((key, value));
                            }
                        }
                    }
                    reply(self_cfg::SELF_CFG_ACCEPTED)
                }
                Err(SelfCfgError::UnknownKey(_)) => reply(self_cfg::SELF_CFG_NOT_RECOGNISED),
                Err(_) => failure(GucError::InvalidParams, 0),
            });
        }
        if action == u32::from(self_cfg::code::CONTROL_CTB) {
            return Some(match decode_control_ctb(dws) {
                Ok(control) => {
                    self.ctb_enabled = control == CtbControl::Enable;
                    reply(0)
                }
                Err(_) => failure(GucError::InvalidParams, 0),
            });
        }
        None
    }

    // ---- the GuC proper ----

    /// The reply to a request, or `None` when the GuC stays silent.
    pub(super) fn process(&mut self, request: Option<MmioMessage>) -> Option<MmioMessage> {
        let Some(msg) = request else {
            debug!("mock GuC: doorbell with nothing written");
            return failure(GucError::InvalidParams, 0);
        };
        let dws = msg.as_slice();
        // The GuC ignores anything claiming to come from itself, whatever its TYPE.
        if msg.header() >> 31 == 1 {
            debug!("mock GuC: GuC-origin dword 0 {:#x} ignored", msg.header());
            return None;
        }
        // RESFIX_START does not exist before VF ABI 1.27: unknown whatever its contents.
        if let Some(Ok(Header {
            origin: Origin::Host,
            message:
                Message::Request {
                    action: code::RESFIX_START,
                    ..
                },
        })) = dws.first().map(|&dw| Header::decode(dw))
        {
            if !self.negotiated.unwrap_or(self.offered).at_least(1, 27) {
                return failure(GucError::UnknownAction, 0);
            }
        }
        if let Some(reply) = self.self_config(dws) {
            return reply;
        }
        match Request::decode(dws) {
            Ok(req) => {
                trace!("mock GuC: {:?} in {}", req, self.state.name());
                self.execute(req)
            }
            Err(e) => {
                debug!("mock GuC: malformed request: {}", e);
                match e {
                    WireError::WrongOrigin => None,
                    WireError::UnknownAction(_) => failure(GucError::UnknownAction, 0),
                    WireError::MustBeZero { dword: 1, .. }
                        if dws.first().map(|&dw| dw & 0xFFFF)
                            == Some(u32::from(code::QUERY_SINGLE_KLV)) =>
                    {
                        failure(GucError::MalformedKlv, 0)
                    }
                    _ => failure(GucError::InvalidParams, 0),
                }
            }
        }
    }

    pub(super) fn execute(&mut self, req: Request) -> Option<MmioMessage> {
        if self.state.is_paused() {
            return None;
        }
        match req {
            Request::VfReset => {
                self.set_state(VfState::Ready);
                self.negotiated = None;
                self.marker = None;
                success0()
            }
            Request::MatchVersion { wanted } => self.match_version(wanted),
            Request::QuerySingleKlv { key } => self.query_klv(key),
            Request::ResfixStart { marker } => {
                if self.negotiated.is_none() {
                    return failure(GucError::InvalidState, 0);
                }
                match self.state {
                    VfState::ResfixBlocked | VfState::Running => {
                        self.marker = Some(marker);
                        success0()
                    }
                    _ => failure(GucError::InvalidState, 0),
                }
            }
            Request::ResfixDone { marker } => self.resfix_done(marker),
        }
    }

    pub(super) fn match_version(&mut self, wanted: Version) -> Option<MmioMessage> {
        if wanted.branch != 0 {
            return failure(GucError::InvalidParams, 0);
        }
        if wanted.major != 0 && wanted.major != self.offered.major {
            return failure(GucError::UnsupportedVersion, 0);
        }
        let found = self.offered;
        self.negotiated = Some(found);
        if self.state == VfState::Ready {
            self.set_state(VfState::Running);
        }
        let header = reply_dw(Reply::Success { data0: 0 });
        MmioMessage::from_slice(&[header, found.to_dword()]).ok()
    }

    pub(super) fn query_klv(&mut self, key: u16) -> Option<MmioMessage> {
        let Some(v) = self.negotiated else {
            return failure(GucError::InvalidState, 0);
        };
        let p = self.prov;
        let bad_key = || failure(GucError::InvalidKlvKey, 0);
        match KlvKey::from_raw(key) {
            KlvKey::GgttStart => klv64(p.ggtt_start),
            KlvKey::GgttSize => klv64(p.ggtt_size),
            KlvKey::LmemSize => match p.lmem_size {
                Some(size) => klv64(size),
                None => bad_key(),
            },
            KlvKey::NumContexts => klv32(p.num_contexts),
            KlvKey::TileMask => klv32(p.tile_mask),
            KlvKey::NumDoorbells => klv32(p.num_doorbells),
            KlvKey::GmdId if v.at_least(1, 2) => klv32(p.gmd_id),
            KlvKey::GroupSchedulingAvailable if v.at_least(1, 26) => {
                klv32(p.group_scheduling_available)
            }
            KlvKey::NumPagingEngineInstances if v.at_least(1, 36) => {
                klv32(p.num_paging_engine_instances)
            }
            _ => bad_key(),
        }
    }

    pub(super) fn accept_done(&mut self) -> Option<MmioMessage> {
        if self.state == VfState::ResfixBlocked {
            self.set_state(VfState::Running);
        }
        self.done_accepted = self.done_accepted.saturating_add(1);
        self.done_since_migration = self.done_since_migration.saturating_add(1);
        success0()
    }

    pub(super) fn resfix_done(&mut self, marker: Option<Marker>) -> Option<MmioMessage> {
        let Some(v) = self.negotiated else {
            return failure(GucError::InvalidState, 0);
        };
        if !matches!(self.state, VfState::ResfixBlocked | VfState::Running) {
            return failure(GucError::InvalidState, 0);
        }
        if v.at_least(1, 27) {
            match (marker, self.marker) {
                (Some(m), Some(stored)) if m == stored => {
                    self.marker = None;
                    self.accept_done()
                }
                _ => {
                    debug!("mock GuC: RESFIX_DONE marker mismatch: VF_MIGRATED");
                    failure(GucError::VfMigrated, 0)
                }
            }
        } else if marker.is_some() {
            failure(GucError::InvalidParams, 0)
        } else {
            self.accept_done()
        }
    }
}
