//! The timeline: each GT's narrative (its decoded mailbox exchanges and hook calls, printed
//! as one line per pass), the printing of every stdout line in order, and the small formatting
//! helpers of those lines. Timeline lines start with `[`; they are for people (the `--trace`
//! and `summary:` lines are the parsed contract).

use std::fmt::Write as _;
use std::io::Write as _;

use xe_sriov_vf::coordinator::{GtSet, Signal};
use xe_sriov_vf::mock::{Dir, MockGuc, TranscriptEntry};
use xe_sriov_vf::wire::action::{KlvReply, MmioMessage};
use xe_sriov_vf::wire::hxg::Reply;
use xe_sriov_vf::wire::self_cfg::decode_self_cfg;
use xe_sriov_vf::wire::{KlvKey, Request, Version};

use crate::trace::{self, Events, What};

/// `+0x...` or `-0x...`.
pub fn signed_hex(v: i64) -> String {
    if v < 0 {
        format!("-{:#x}", v.unsigned_abs())
    } else {
        format!("+{v:#x}")
    }
}

/// `gt0,gt2`, or `none`.
pub fn gt_list(set: GtSet) -> String {
    let v: Vec<String> = set.iter().map(|g| format!("gt{}", g.0)).collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(",")
    }
}

/// A KLV key without its `VF_CFG_` / `GLOBAL_CFG_` prefix.
fn short_key(key: KlvKey) -> String {
    match key {
        KlvKey::Unknown(raw) => format!("KLV {raw:#06x}"),
        k => k
            .name()
            .trim_start_matches("VF_CFG_")
            .trim_start_matches("GLOBAL_CFG_")
            .to_string(),
    }
}

/// What one GT did since its narrative was last printed.
#[derive(Default)]
pub struct Narrative {
    /// The request awaiting its final reply (as sent), decoded if it is a valid request.
    pending: Option<(MmioMessage, Option<Request>)>,
    /// The last reply was RETRY: the next identical request is its resend.
    retry_resend: bool,
    busy: u32,
    retries: u32,
    resends: u32,
    /// Configuration query results not yet folded into a fragment.
    queries: Vec<(KlvKey, String)>,
    query_notes: Vec<String>,
    /// Finished pieces of the line, in order.
    pub frags: Vec<String>,
}

impl Narrative {
    fn describe(req: Option<Request>, sent: &MmioMessage) -> String {
        match req {
            Some(Request::VfReset) => "VF_RESET".into(),
            Some(Request::MatchVersion { wanted }) => {
                format!("MATCH_VERSION {}.{}", wanted.major, wanted.minor)
            }
            Some(Request::QuerySingleKlv { key }) => {
                format!("QUERY {}", short_key(KlvKey::from_raw(key)))
            }
            Some(Request::ResfixStart { marker }) => {
                format!("RESFIX_START marker {}", marker.get())
            }
            Some(Request::ResfixDone { marker: Some(m) }) => {
                format!("RESFIX_DONE marker {}", m.get())
            }
            Some(Request::ResfixDone { marker: None }) => "RESFIX_DONE (legacy, no marker)".into(),
            Some(other) => format!("{other:?}"),
            None => match decode_self_cfg(sent.as_slice()) {
                Ok(cfg) => format!("SELF_CFG {} {:#x}", cfg.key().name(), cfg.value()),
                Err(_) => format!("request {:#010x}", sent.header()),
            },
        }
    }

    fn extras(&self) -> String {
        let mut s = String::new();
        if self.resends > 0 {
            let _ = write!(s, " (no reply, sent again x{})", self.resends);
        }
        if self.busy > 0 {
            let _ = write!(s, " (BUSY x{})", self.busy);
        }
        if self.retries > 0 {
            let _ = write!(s, " (RETRY x{})", self.retries);
        }
        s
    }

    fn is_query(req: &Option<Request>) -> bool {
        matches!(req, Some(Request::QuerySingleKlv { .. }))
    }

    /// Folds the configuration queries so far into a fragment.
    pub fn flush_queries(&mut self) {
        if self.queries.is_empty() && self.query_notes.is_empty() {
            return;
        }
        let mut parts = Vec::new();
        if !self.queries.is_empty() {
            parts.push(format!("{} KLVs", self.queries.len()));
        }
        if let Some((_, v)) = self.queries.iter().find(|(k, _)| *k == KlvKey::GgttStart) {
            parts.push(format!("GGTT_START={v}"));
        }
        parts.append(&mut self.query_notes);
        let s = format!("config: {}", parts.join(", "));
        self.queries.clear();
        self.frags.push(s);
    }

    /// The pending request got no final reply.
    fn no_reply(&mut self) {
        if let Some((sent, req)) = self.pending.take() {
            let what = if self.retry_resend {
                "still RETRY, gave up"
            } else if self.busy > 0 {
                "still BUSY, gave up"
            } else {
                "no reply"
            };
            let s = format!("{}{} -> {what}", Self::describe(req, &sent), self.extras());
            self.retry_resend = false;
            self.flush_queries();
            self.frags.push(s);
        }
    }

    fn on_request(&mut self, msg: MmioMessage) {
        let req = Request::decode(msg.as_slice()).ok();
        if let Some((prev, prev_req)) = self.pending.take() {
            if prev == msg {
                // The same request again: a resend after RETRY, or after a timeout (FLR, VF_RESET).
                if !std::mem::take(&mut self.retry_resend) {
                    self.resends += 1;
                }
                self.pending = Some((prev, prev_req));
                return;
            }
            self.pending = Some((prev, prev_req));
            self.no_reply();
        }
        if !Self::is_query(&req) {
            self.flush_queries();
        }
        self.pending = Some((msg, req));
        self.retry_resend = false;
        self.busy = 0;
        self.retries = 0;
        self.resends = 0;
    }

    fn on_reply(&mut self, msg: MmioMessage) {
        let Some((sent, req)) = self.pending else {
            self.frags
                .push(format!("unsolicited reply {:#010x}", msg.header()));
            return;
        };
        let header = msg.header();
        let result = match Reply::decode(header) {
            Ok(Reply::Busy { .. }) => {
                self.busy += 1;
                return;
            }
            Ok(Reply::Retry { .. }) => {
                self.retries += 1;
                self.retry_resend = true;
                return;
            }
            Ok(Reply::Success { data0 }) => match req {
                Some(Request::QuerySingleKlv { key }) => {
                    let key = KlvKey::from_raw(key);
                    let extras = self.extras();
                    match KlvReply::decode(msg.as_slice()) {
                        Ok(klv) if Some(klv.len) == key.expected_len() => {
                            let value = if klv.len == 2 {
                                format!("{:#x}", klv.value_u64())
                            } else {
                                format!("{:#x}", klv.value[0])
                            };
                            self.queries.push((key, value));
                        }
                        Ok(klv) => self.query_notes.push(format!(
                            "{} -> bad length {} (expected {})",
                            short_key(key),
                            klv.len,
                            key.expected_len().unwrap_or(0)
                        )),
                        Err(_) => self.query_notes.push(format!(
                            "{} -> malformed reply {header:#010x}",
                            short_key(key)
                        )),
                    }
                    if !extras.is_empty() {
                        self.query_notes.push(format!(
                            "{} {}",
                            short_key(key),
                            extras.trim_start()
                        ));
                    }
                    self.pending = None;
                    return;
                }
                Some(Request::MatchVersion { .. }) => match msg.as_slice().get(1) {
                    Some(&dw) if data0 == 0 => format!("{}", Version::from_dword(dw)),
                    _ => format!("malformed SUCCESS {header:#010x}"),
                },
                Some(Request::ResfixDone { .. }) if data0 == 0 => "accepted".into(),
                None if decode_self_cfg(sent.as_slice()).is_ok() => match data0 {
                    1 => "accepted".into(),
                    0 => "key not recognised".into(),
                    n => format!("NUM {n} (protocol error)"),
                },
                _ if data0 == 0 => "ok".into(),
                _ => format!("SUCCESS with DATA0 {data0:#x} (malformed)"),
            },
            Ok(Reply::Failure { error, .. }) => format!("FAILURE {error}"),
            Err(_) => format!("garbage reply {header:#010x}"),
        };
        let s = format!(
            "{}{} -> {result}",
            Self::describe(req, &sent),
            self.extras()
        );
        self.pending = None;
        self.flush_queries();
        self.frags.push(s);
    }

    /// Everything so far as one `; `-separated line body; empty if nothing happened.
    pub fn take_line(&mut self) -> String {
        self.no_reply();
        self.flush_queries();
        let s = self.frags.join("; ");
        self.frags.clear();
        s
    }
}

/// Everything behind the global print lock.
pub struct Log {
    /// `--trace`.
    pub trace: bool,
    /// Each GT's narrative.
    pub gts: Vec<Narrative>,
    /// The transcript's SW_INT_0 entry of each GT, printed when the host delivers it.
    pub irq: Vec<Option<TranscriptEntry>>,
    /// Device-level hook calls of the running pass (abort, wedged), printed with it.
    pub vf_notes: Vec<String>,
    /// Every hook call since the last pass was printed, in order (printed with `--trace`).
    pub hooks: Vec<String>,
    /// The run's events, for `--svg`.
    pub events: Events,
    /// Whether a transcript overflowed.
    pub dropped: bool,
}

impl Log {
    /// An empty timeline of `gts` GTs.
    pub fn new(gts: usize, trace: bool, svg: bool) -> Log {
        Log {
            trace,
            gts: (0..gts).map(|_| Narrative::default()).collect(),
            irq: vec![None; gts],
            vf_notes: Vec::new(),
            hooks: Vec::new(),
            events: Events {
                on: svg,
                ..Events::default()
            },
            dropped: false,
        }
    }

    /// Prints one line on stdout.
    pub fn line(&self, s: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{s}");
    }

    /// Moves GT `gt`'s transcript into the timeline (and, with `--trace`, to stdout).
    pub fn drain(&mut self, gt: u8, guc: &MockGuc) {
        let mut entries = Vec::new();
        guc.drain_transcript(|e| entries.push(*e));
        for e in entries {
            if self.trace && matches!(e.dir, Dir::ToGuc | Dir::FromGuc) {
                self.line(&trace::mailbox_line(&e, gt));
            }
            let n = &mut self.gts[usize::from(gt)];
            match e.dir {
                Dir::ToGuc => {
                    n.on_request(e.msg);
                    self.events.push(e.at, Some(gt), What::Request(e.msg));
                }
                Dir::FromGuc => {
                    n.on_reply(e.msg);
                    self.events.push(e.at, Some(gt), What::Reply(e.msg));
                }
                Dir::Interrupt(_) => self.irq[usize::from(gt)] = Some(e),
            }
        }
        if guc.transcript_dropped() > 0 && !self.dropped {
            self.dropped = true;
            eprintln!(
                "error: gt{gt}: the mock transcript dropped {} entries: the trace is incomplete",
                guc.transcript_dropped()
            );
        }
    }
}

/// What the coordinator said to an interrupt.
pub fn signal_text(signal: Signal) -> &'static str {
    match signal {
        Signal::Queued => "recovery queued",
        Signal::AlreadyPending => "recovery already queued",
        Signal::WaitingForOtherGts => "marked, waiting for the other GTs",
        Signal::Ignored => "ignored (device wedged)",
        Signal::InvalidGt => "invalid GT",
        _ => "(a signal this simulator does not know)",
    }
}
