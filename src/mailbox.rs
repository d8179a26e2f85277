//! The MMIO mailbox: one request, one reply, through a GT's four scratch registers.
//!
//! A transaction, as the Linux `xe` driver of kernel 7.1 does it (`xe_guc_mmio_send_recv`):
//!
//! 1. write the request dwords to `VF_SW_FLAG(0..len)`, read `VF_SW_FLAG(3)` back (a posting
//!    read, so the writes land before the doorbell), write 0 to the doorbell;
//! 2. poll `VF_SW_FLAG(0)` until its ORIGIN bit says GUC, for at most
//!    [`reply_timeout`](MailboxConfig::reply_timeout) (50 ms). A timeout with the register
//!    reading 0 is a lost reply (a function-level reset cleared it): pause
//!    [`lost_reply_pause`](MailboxConfig::lost_reply_pause) (256 ms) and send again from step 1,
//!    at most [`lost_reply_resends`](MailboxConfig::lost_reply_resends) (2) times; one more loss
//!    is [`MailboxError::LinkLost`] (the kernel's `-ENOLINK`). Any other timeout is
//!    [`MailboxError::Timeout`];
//! 3. BUSY: keep polling until the reply is SUCCESS or FAILURE, for at most
//!    [`busy_timeout`](MailboxConfig::busy_timeout) (2 s);
//! 4. RETRY: pause, then send again; the pause is
//!    [`retry_backoff`](MailboxConfig::retry_backoff) (1 ms) before the first resend and doubles
//!    before each next one up to [`retry_backoff_max`](MailboxConfig::retry_backoff_max)
//!    (256 ms). The kernel never gives up; here at most
//!    [`max_retries`](MailboxConfig::max_retries) (64) resends, which with these pauses is
//!    about 14.6 s of pausing before [`MailboxError::RetryLimit`];
//! 5. FAILURE: [`MailboxError::VfMigrated`] for VF_MIGRATED, [`MailboxError::Remote`] otherwise;
//!    anything but a GuC-origin SUCCESS is [`MailboxError::Protocol`];
//! 6. SUCCESS: for an action whose reply carries data (MATCH_VERSION, QUERY_SINGLE_KLV: see
//!    [`Request::reply_has_data`]) read `VF_SW_FLAG(1..4)` as the reply data; a send-only action
//!    (VF_RESET, RESFIX_START, RESFIX_DONE) reads none of them, as the kernel's
//!    `xe_guc_mmio_send` passes no response buffer.
//!
//! Where this mailbox differs from the kernel's (7.1):
//!
//! | what | kernel 7.1 | here |
//! |---|---|---|
//! | header after the wait | the polled value (7.0 read it once more) | the polled value |
//! | RETRY | resent without limit, after 1, 2, 4 .. 256, 256 .. ms | the same pauses, at most [`max_retries`](MailboxConfig::max_retries) resends, then [`MailboxError::RetryLimit`] |
//! | a pause (lost reply, RETRY) | `msleep`: the thread sleeps | a deadline on the device clock: [`Mailbox::poll`] returns `Pending` until it passes, so one thread keeps other GTs going; [`Mailbox::send`] relaxes through it |
//! | a clock that stops | (jiffies always move) | [`MailboxError::ClockStalled`] after [`stall_polls`](MailboxConfig::stall_polls) |
//!
//! Kernel 7.0 (for those who compare): a lost reply was sent again once, at once, and the
//! second loss was `-ETIMEDOUT`; RETRY was resent at once.
//!
//! Register accesses per attempt, against the kernel's (7.1) for the same exchange:
//!
//! | access | kernel | here |
//! |---|---|---|
//! | request writes + doorbell | `len` + 1 | `len` + 1 |
//! | posting read | 1 | 1 |
//! | polls of scratch 0 | one per poll, plus one after the deadline | the same |
//! | during a pause | none | none (only the clock is read) |
//! | reply data | 3 when the caller wants data | 3 for data actions, 0 for send-only ones |
//!
//! so an exchange answered at once costs 2 reads (send-only) or 5 (data) here, as in kernel 7.1
//! (7.0 read the header once more: 3 or 6; tests/mailbox.rs checks ours against that model).
//!
//! The same transaction in split phase: [`Mailbox::post`] does step 1 and returns an
//! [`InFlight`], [`Mailbox::poll`] does one poll of steps 2 to 6 (pauses, resends, BUSY and
//! RETRY included) without waiting, so that one thread can keep several GTs' GuCs busy: post on
//! every GT, then poll them in turn with one wait per round. [`Mailbox::send`] is `post`, then
//! `poll` and [`relax`](Device::relax) until ready: the register accesses above, in the same
//! order, either way.
//!
//! Every wait and every pause is bounded by the device clock. As the kernel's
//! `__xe_mmio_wait32` does, once the deadline has passed the register is read once more and a
//! match then still counts (a vCPU descheduled between its last read and the clock check must
//! not report a false timeout). The wait runs on a [`Stopwatch`]: a clock that makes no progress
//! (stopped, backwards, jittering) for [`stall_polls`](MailboxConfig::stall_polls) consecutive
//! polls ends the wait with [`MailboxError::ClockStalled`] instead of spinning forever, and a
//! clock that wraps past `u64::MAX` times out as if it had not wrapped.

use core::fmt;
use core::task::Poll;

use crate::device::{nanos, Device, Stopwatch};
use crate::wire::action::{MmioMessage, Request};
use crate::wire::hxg::{MsgType, Reply};
use crate::wire::regs::{MailboxRegs, SCRATCH_COUNT};
use crate::wire::{GucError, WireError};
use core::time::Duration;

/// Timeouts, pauses and limits of the mailbox. [`MailboxConfig::DEFAULT`] (also [`Default`]) gives
/// kernel 7.1's values (and our bound on RETRYs, which the kernel does not have).
///
/// The struct is `#[non_exhaustive]`, so that a new setting is not a breaking change: start
/// from [`DEFAULT`](MailboxConfig::DEFAULT) and assign the fields to change, also in a `const`:
///
/// ```
/// use core::time::Duration;
/// use xe_sriov_vf::MailboxConfig;
///
/// const PATIENT: MailboxConfig = {
///     let mut c = MailboxConfig::DEFAULT;
///     c.reply_timeout = Duration::from_millis(200);
///     c
/// };
/// assert_eq!(PATIENT.busy_timeout, Duration::from_secs(2));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct MailboxConfig {
    /// How long to wait for the first GuC-origin reply (kernel: 50 ms). Spans beyond `u64::MAX`
    /// ns (584 years) count as that.
    pub reply_timeout: Duration,
    /// How long to wait for the final reply after a BUSY (kernel: 2 s).
    pub busy_timeout: Duration,
    /// How many RETRY replies are answered by sending again before giving up (the kernel has no
    /// limit). With the default backoff, 64 RETRYs cost about 14.6 s of pauses (1 + 2 + ... +
    /// 128 ms, then 56 x 256 ms) plus 65 round trips before [`MailboxError::RetryLimit`].
    pub max_retries: u32,
    /// Whether a timeout with scratch 0 reading 0 (an FLR cleared the registers) counts as a
    /// lost reply, to be sent again (kernel: yes). `false`: it is a plain
    /// [`MailboxError::Timeout`], as any other timeout.
    pub resend_after_flr: bool,
    /// Consecutive polls with no clock progress after which a wait is abandoned (see
    /// [`Stopwatch`]). 0 acts as 1.
    pub stall_polls: u32,
    /// How many times a request whose reply was lost is sent again (kernel 7.1: 2); one more
    /// loss is [`MailboxError::LinkLost`]. Only with
    /// [`resend_after_flr`](MailboxConfig::resend_after_flr).
    pub lost_reply_resends: u32,
    /// The pause before each resend of a lost reply (kernel 7.1: 256 ms).
    pub lost_reply_pause: Duration,
    /// The pause before the first resend after a RETRY (kernel 7.1: 1 ms); it doubles before
    /// each further resend, up to [`retry_backoff_max`](MailboxConfig::retry_backoff_max).
    pub retry_backoff: Duration,
    /// The longest pause before a resend after a RETRY (kernel 7.1: 256 ms).
    pub retry_backoff_max: Duration,
}

impl MailboxConfig {
    /// The kernel's values (7.1): 50 ms, 2 s; a lost reply sent again up to twice, each after
    /// 256 ms; RETRY answered after 1 ms, doubling up to 256 ms. Ours: at most 64 RETRY resends
    /// (the kernel has no bound); 1,000,000 stalled polls.
    pub const KERNEL: MailboxConfig = MailboxConfig {
        reply_timeout: Duration::from_millis(50),
        busy_timeout: Duration::from_secs(2),
        max_retries: 64,
        resend_after_flr: true,
        stall_polls: 1_000_000,
        lost_reply_resends: 2,
        lost_reply_pause: Duration::from_millis(256),
        retry_backoff: Duration::from_millis(1),
        retry_backoff_max: Duration::from_millis(256),
    };

    /// The default: [`KERNEL`](MailboxConfig::KERNEL).
    pub const DEFAULT: MailboxConfig = MailboxConfig::KERNEL;
}

impl Default for MailboxConfig {
    fn default() -> Self {
        MailboxConfig::KERNEL
    }
}

/// Why a mailbox transaction failed.
///
/// `Debug` prints register values and hints in hex, as `Display` does.
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum MailboxError {
    /// The request is empty or longer than the 4 scratch registers; nothing was written.
    BadRequestLength(usize),
    /// No reply within the reply timeout, scratch 0 not cleared (a cleared one is a lost reply:
    /// sent again, then [`LinkLost`](MailboxError::LinkLost)), or, with
    /// [`resend_after_flr`](MailboxConfig::resend_after_flr) off, any timeout. Carries the last
    /// value read from `VF_SW_FLAG(0)`. The kernel's `-ETIMEDOUT`.
    Timeout {
        /// Last value of scratch 0.
        last: u32,
    },
    /// BUSY, then no final reply within the busy timeout.
    BusyTimeout,
    /// The reply was lost (scratch 0 read 0 at the timeout: an FLR cleared it) once more than
    /// [`lost_reply_resends`](MailboxConfig::lost_reply_resends) allows. The kernel (7.1) maps
    /// this to `-ENOLINK`; unlike a [`Timeout`](MailboxError::Timeout), VF_RESET is not sent
    /// again after it.
    LinkLost {
        /// Sends whose reply was lost (the first and every resend).
        losses: u32,
    },
    /// The GuC kept answering RETRY.
    RetryLimit {
        /// Resends made.
        retries: u32,
    },
    /// The GuC refused the request because the VF was migrated (VF_MIGRATED, 0x107): the
    /// recovery must run again. The kernel maps this to `-EREMCHG`.
    VfMigrated {
        /// The FAILURE's hint.
        hint: u16,
    },
    /// Any other FAILURE reply.
    Remote {
        /// Error code.
        error: GucError,
        /// Hint.
        hint: u16,
    },
    /// The reply is not a valid reply (wrong origin, undefined type, a request or event, or
    /// malformed data).
    Protocol {
        /// The offending header dword.
        header: u32,
        /// What is wrong with it.
        error: WireError,
    },
    /// The device clock did not advance while polling: the embedder's time source is broken.
    ClockStalled,
}

impl fmt::Display for MailboxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MailboxError::BadRequestLength(n) => {
                write!(
                    f,
                    "request of {n} dwords does not fit the MMIO mailbox (1..=4)",
                    n = *n
                )
            }
            MailboxError::Timeout { last } => {
                write!(
                    f,
                    "no reply from the GuC (scratch 0 = {last:#010x})",
                    last = *last
                )
            }
            MailboxError::BusyTimeout => f.write_str("GuC stayed busy past the busy timeout"),
            MailboxError::LinkLost { losses } => {
                write!(
                    f,
                    "GuC reply lost {losses} times (scratch registers cleared)",
                    losses = *losses
                )
            }
            MailboxError::RetryLimit { retries } => {
                write!(
                    f,
                    "GuC asked to retry {retries} times; giving up",
                    retries = *retries
                )
            }
            MailboxError::VfMigrated { hint } => {
                write!(
                    f,
                    "request rejected: VF migrated (hint {hint:#x})",
                    hint = *hint
                )
            }
            MailboxError::Remote { hint, .. } => {
                write!(f, "GuC answered FAILURE (hint {hint:#x})", hint = *hint)
            }
            MailboxError::Protocol { header, .. } => {
                write!(f, "unexpected GuC reply {header:#010x}", header = *header)
            }
            MailboxError::ClockStalled => f.write_str("device clock does not advance"),
        }
    }
}

impl fmt::Debug for MailboxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::fmt::Hex;
        match self {
            MailboxError::BadRequestLength(n) => debug_variant!(f, ["BadRequestLength"], n),
            MailboxError::Timeout { last } => {
                debug_variant!(f, ["Timeout", "last"], &Hex((*last).into()))
            }
            MailboxError::BusyTimeout => f.write_str("BusyTimeout"),
            MailboxError::LinkLost { losses } => debug_variant!(f, ["LinkLost", "losses"], losses),
            MailboxError::RetryLimit { retries } => {
                debug_variant!(f, ["RetryLimit", "retries"], retries)
            }
            MailboxError::VfMigrated { hint } => {
                debug_variant!(f, ["VfMigrated", "hint"], &Hex((*hint).into()))
            }
            MailboxError::Remote { error, hint } => {
                debug_variant!(f, ["Remote", "error", "hint"], error, &Hex((*hint).into()))
            }
            MailboxError::Protocol { header, error } => debug_variant!(
                f,
                ["Protocol", "header", "error"],
                &Hex((*header).into()),
                error
            ),
            MailboxError::ClockStalled => f.write_str("ClockStalled"),
        }
    }
}

impl core::error::Error for MailboxError {
    // Out of line: `Error::cause` calls it, and would inline a copy of it otherwise.
    #[inline(never)]
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            MailboxError::Protocol { error, .. } => Some(error),
            MailboxError::Remote { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// Which reply a transaction in flight waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wait {
    /// The first GuC-origin value of scratch 0, within the reply timeout.
    Reply,
    /// After a BUSY: SUCCESS or FAILURE, within the busy timeout.
    AfterBusy,
    /// A pause of this many nanoseconds before the request is sent again (after a lost reply
    /// or a RETRY). No register is read meanwhile; the clock is.
    Pause(u64),
}

/// A mailbox transaction in flight: the split-phase form of [`Mailbox::send`]. Made by
/// [`Mailbox::post`], which writes the request and rings the doorbell; driven to its reply by
/// [`Mailbox::poll`] on the same mailbox, with the caller's own wait between polls. So one
/// thread can keep several GTs' GuCs busy at once: post a request on every GT, then poll them
/// all in turn, relaxing once per round.
///
/// It carries the whole transaction: the request (for a resend after RETRY or an FLR), the
/// retries and lost replies so far, the next RETRY pause, which reply (or pause) it waits for
/// and the [`Stopwatch`] of that wait. A pause is a deadline on the same stopwatch: while it
/// runs, [`Mailbox::poll`] returns `Pending` at once, so the caller's other GTs go on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "a posted request is only answered by polling it"]
pub struct InFlight {
    request: MmioMessage,
    want_data: bool,
    wait: Wait,
    watch: Stopwatch,
    retries: u32,
    losses: u32,
    /// The pause before the next RETRY resend, in ns (0 before the first RETRY).
    backoff: u64,
}

impl InFlight {
    /// The request as posted.
    #[must_use]
    pub fn request(&self) -> &[u32] {
        self.request.as_slice()
    }

    /// Whether the GuC has answered BUSY and the transaction now waits for its final reply.
    #[must_use]
    pub fn is_busy(&self) -> bool {
        self.wait == Wait::AfterBusy
    }

    /// Whether the transaction is pausing before it sends the request again (after a lost
    /// reply or a RETRY): polls then read no register, only the clock.
    #[must_use]
    pub fn is_pausing(&self) -> bool {
        matches!(self.wait, Wait::Pause(_))
    }

    /// RETRY replies answered so far.
    #[must_use]
    pub fn retries(&self) -> u32 {
        self.retries
    }

    /// Sends whose reply was lost so far.
    #[must_use]
    pub fn losses(&self) -> u32 {
        self.losses
    }

    /// Whether `value` of scratch 0 ends the current wait.
    fn ends_wait(&self, value: u32) -> bool {
        match self.wait {
            Wait::Pause(_) => false,
            Wait::Reply => value >> 31 == 1,
            // The kernel's mask after BUSY: TYPE bits shared by SUCCESS and FAILURE.
            Wait::AfterBusy => {
                let mask = (MsgType::ResponseSuccess.raw() & MsgType::ResponseFailure.raw()) << 28;
                value & mask == mask
            }
        }
    }
}

/// The MMIO mailbox of one GT.
///
/// ```
/// # #[cfg(feature = "mock")] {
/// use xe_sriov_vf::mailbox::{Mailbox, MailboxConfig, MailboxError};
/// use xe_sriov_vf::mock::{Fault, MockGuc, Provisioning, Trigger};
/// use xe_sriov_vf::wire::{regs::GtKind, GucError, Request, Version};
///
/// let guc = MockGuc::new(GtKind::Primary, Version::new(1, 27), Provisioning::integrated());
/// let mut mb = Mailbox::new(&guc, GtKind::Primary.mailbox(), MailboxConfig::default());
/// let reply = mb.send(&Request::MatchVersion { wanted: Version::new(1, 2) }).unwrap();
/// assert_eq!(reply.as_slice(), &[0xF000_0000, 0x0001_1B00, 0, 0]);
///
/// guc.inject(Trigger::AnyRequest, Fault::Failure { error: GucError::VfMigrated, hint: 0 })
///     .unwrap();
/// assert_eq!(mb.send(&Request::VfReset), Err(MailboxError::VfMigrated { hint: 0 }));
/// # }
/// ```
#[derive(Debug)]
pub struct Mailbox<D> {
    dev: D,
    regs: MailboxRegs,
    config: MailboxConfig,
}

impl<D: Device> Mailbox<D> {
    /// A mailbox over `dev` at the GT's registers `regs`.
    pub const fn new(dev: D, regs: MailboxRegs, config: MailboxConfig) -> Mailbox<D> {
        Mailbox { dev, regs, config }
    }

    /// The device.
    pub const fn device(&self) -> &D {
        &self.dev
    }

    /// The mailbox registers.
    pub const fn regs(&self) -> MailboxRegs {
        self.regs
    }

    /// The configuration.
    pub const fn config(&self) -> &MailboxConfig {
        &self.config
    }

    /// Encodes `request` and runs the transaction; see [`Mailbox::send_recv`].
    ///
    /// # Errors
    ///
    /// [`MailboxError::Protocol`] (header 0) when `request` does not encode; otherwise as
    /// [`send_recv`](Mailbox::send_recv).
    pub fn send(&mut self, request: &Request) -> Result<MmioMessage, MailboxError> {
        // Polled where it was posted: `?` would copy the transaction out of the result.
        let mut posted = self.post(request);
        self.complete(posted.as_mut().map_err(|e| *e)?)
    }

    /// Sends `request` (1 to 4 dwords) and returns the SUCCESS reply: its header followed by
    /// the three data registers.
    ///
    /// # Errors
    ///
    /// [`MailboxError::BadRequestLength`] when `request` is empty or longer than 4 dwords (nothing
    /// is written); [`MailboxError::Timeout`], [`MailboxError::BusyTimeout`] or
    /// [`MailboxError::LinkLost`] when no final reply came in time; [`MailboxError::RetryLimit`]
    /// after too many RETRY answers; [`MailboxError::VfMigrated`] or [`MailboxError::Remote`] for a
    /// FAILURE reply; [`MailboxError::Protocol`] for a reply that is not a valid reply;
    /// [`MailboxError::ClockStalled`] when the device clock does not advance.
    pub fn send_recv(&mut self, request: &[u32]) -> Result<MmioMessage, MailboxError> {
        // Polled where it was posted, as in `send`.
        let mut posted = self.post_raw(request, true);
        self.complete(posted.as_mut().map_err(|e| *e)?)
    }

    /// Sends `request` (1 to 4 dwords) and returns the SUCCESS reply's header alone (a
    /// one-dword message): no data register is read (the kernel's `xe_guc_mmio_send`).
    ///
    /// # Errors
    ///
    /// As [`send_recv`](Mailbox::send_recv).
    pub fn send_only(&mut self, request: &[u32]) -> Result<MmioMessage, MailboxError> {
        // Polled where it was posted, as in `send`.
        let mut posted = self.post_raw(request, false);
        self.complete(posted.as_mut().map_err(|e| *e)?)
    }

    /// Encodes `request`, writes it and rings the doorbell, and returns the transaction in
    /// flight, for [`poll`](Mailbox::poll). The reply of a data action ([`Request::reply_has_data`])
    /// carries its data registers, as with [`send`](Mailbox::send).
    ///
    /// # Errors
    ///
    /// [`MailboxError::Protocol`] (header 0) when `request` does not encode (nothing is written).
    /// The reply's failures come from [`poll`](Mailbox::poll).
    pub fn post(&mut self, request: &Request) -> Result<InFlight, MailboxError> {
        let msg = request
            .encode()
            .map_err(|error| MailboxError::Protocol { header: 0, error })?;
        self.post_raw(msg.as_slice(), request.reply_has_data())
    }

    /// Writes `request` (1 to 4 dwords) and rings the doorbell: the first half of
    /// [`send_recv`](Mailbox::send_recv) (`want_data`) or [`send_only`](Mailbox::send_only).
    ///
    /// # Errors
    ///
    /// [`MailboxError::BadRequestLength`] when `request` is empty or longer than 4 dwords (nothing
    /// is written).
    pub fn post_raw(&mut self, request: &[u32], want_data: bool) -> Result<InFlight, MailboxError> {
        // `from_slice` takes 1 to MMIO_MSG_MAX_DWORDS dwords, and refuses anything else.
        let request = MmioMessage::from_slice(request)
            .map_err(|_| MailboxError::BadRequestLength(request.len()))?;
        self.write_request(request.as_slice());
        Ok(InFlight {
            request,
            want_data,
            wait: Wait::Reply,
            watch: Stopwatch::start(self.dev.now()),
            retries: 0,
            losses: 0,
            backoff: 0,
        })
    }

    /// One poll of a transaction in flight: reads scratch 0 and reads the clock, exactly as
    /// one round of [`send`](Mailbox::send)'s wait does, without waiting; while the transaction
    /// pauses before a resend ([`InFlight::is_pausing`]) it reads the clock only. `Pending`
    /// means no final reply yet and time is left: let time pass (the device's
    /// [`relax`](Device::relax), or other GTs' polls) and poll again. `Ready` is the outcome
    /// [`send`](Mailbox::send) would have returned; a BUSY, a RETRY and a lost reply (each
    /// sent again after its pause) are handled inside, with the same rules, timeouts, pauses
    /// and register accesses. Poll a transaction on the mailbox that posted it, and not after
    /// `Ready`.
    pub fn poll(&mut self, t: &mut InFlight) -> Poll<Result<MmioMessage, MailboxError>> {
        // Each pass either returns or moves the transaction on: to its BUSY wait (once per
        // attempt), to a pause before a resend (at most `max_retries` after RETRY, at most
        // `lost_reply_resends` after a lost reply), or from a pause that ran out to the resend.
        loop {
            if let Wait::Pause(pause) = t.wait {
                t.watch.observe(self.dev.now());
                if t.watch.elapsed_ns() >= pause {
                    self.resend(t);
                    continue;
                }
                if t.watch.stalled_polls() >= self.config.stall_polls.max(1) {
                    error!("device clock stalled while pausing before a GuC mailbox resend");
                    return Poll::Ready(Err(MailboxError::ClockStalled));
                }
                return Poll::Pending;
            }
            let mut value = self.dev.read32(self.regs.scratch(0));
            if !t.ends_wait(value) {
                t.watch.observe(self.dev.now());
                if t.watch.elapsed_ns() >= self.timeout(t.wait) {
                    // The kernel's last look: the reply may have landed while this vCPU was
                    // away between the read above and the clock check.
                    value = self.dev.read32(self.regs.scratch(0));
                    if !t.ends_wait(value) {
                        match self.timed_out(t, value) {
                            Some(outcome) => return Poll::Ready(outcome),
                            None => continue,
                        }
                    }
                } else if t.watch.stalled_polls() >= self.config.stall_polls.max(1) {
                    error!("device clock stalled while polling the GuC mailbox");
                    return Poll::Ready(Err(MailboxError::ClockStalled));
                } else {
                    return Poll::Pending;
                }
            }
            if let Some(outcome) = self.answered(t, value) {
                return Poll::Ready(outcome);
            }
        }
    }

    /// Polls `t` until it is ready, relaxing between polls.
    #[inline(never)]
    fn complete(&mut self, t: &mut InFlight) -> Result<MmioMessage, MailboxError> {
        loop {
            match self.poll(t) {
                Poll::Ready(outcome) => return outcome,
                Poll::Pending => self.dev.relax(),
            }
        }
    }

    /// The timeout of the reply wait `wait`, in nanoseconds, converted from the configuration
    /// only when a poll finds no reply.
    // Out of line: inlined, its conversions were hoisted to the top of every poll (footprint.sh).
    #[inline(never)]
    fn timeout(&self, wait: Wait) -> u64 {
        match wait {
            Wait::AfterBusy => nanos(self.config.busy_timeout),
            _ => nanos(self.config.reply_timeout),
        }
    }

    /// Writes the request again and restarts the reply wait.
    #[inline(never)]
    fn resend(&mut self, t: &mut InFlight) {
        self.write_request(t.request.as_slice());
        self.start(t, Wait::Reply);
    }

    /// Starts `wait` now: the reply wait after a BUSY, or a pause before a resend (a deadline
    /// on the clock, polled like a wait).
    #[inline(never)]
    fn start(&mut self, t: &mut InFlight, wait: Wait) {
        t.wait = wait;
        t.watch = Stopwatch::start(self.dev.now());
    }

    /// Starts the pause before a lost reply's resend.
    // Out of line, as `timeout`: inlined, its conversion was hoisted to the top of every poll.
    #[inline(never)]
    fn pause_after_loss(&mut self, t: &mut InFlight) {
        self.start(t, Wait::Pause(nanos(self.config.lost_reply_pause)));
    }

    /// The wait of `t` ran out with scratch 0 at `last`: the outcome, or `None` when a lost
    /// reply is sent again after a pause.
    fn timed_out(
        &mut self,
        t: &mut InFlight,
        last: u32,
    ) -> Option<Result<MmioMessage, MailboxError>> {
        let request0 = t.request.header();
        if t.wait == Wait::AfterBusy {
            return Some(match Reply::decode(last) {
                Ok(Reply::Busy { .. }) => {
                    error!("GuC mmio request {:#010x}: busy timeout", request0);
                    Err(MailboxError::BusyTimeout)
                }
                _ => Err(protocol_error(last)),
            });
        }
        if last == 0 && self.config.resend_after_flr {
            // Kernel 7.1: a lost reply (an FLR cleared the scratch registers) is sent again
            // after a pause, up to twice; one more loss is -ENOLINK.
            // Compared before counting, so that any bound ends (u32::MAX resends included).
            if t.losses >= self.config.lost_reply_resends {
                let losses = t.losses.saturating_add(1);
                error!(
                    "GuC mmio request {:#010x}: reply lost {} times",
                    request0, losses
                );
                return Some(Err(MailboxError::LinkLost { losses }));
            }
            t.losses += 1;
            debug!("GuC mmio request {:#010x}: lost, sending again", request0);
            self.pause_after_loss(t);
            return None;
        }
        error!(
            "GuC mmio request {:#010x}: no reply {:#010x}",
            request0, last
        );
        Some(Err(MailboxError::Timeout { last }))
    }

    /// Scratch 0 ended the wait of `t` with `header`: the outcome, or `None` when the
    /// transaction goes on (a BUSY, or a RETRY sent again).
    #[inline(never)]
    fn answered(
        &mut self,
        t: &mut InFlight,
        header: u32,
    ) -> Option<Result<MmioMessage, MailboxError>> {
        let request0 = t.request.header();
        let reply = Reply::decode(header);
        if let (Wait::Reply, Ok(Reply::Busy { .. })) = (t.wait, reply) {
            self.start(t, Wait::AfterBusy);
            return None;
        }
        Some(match reply {
            Ok(Reply::Success { .. }) if t.want_data => Ok(self.read_reply(header)),
            Ok(Reply::Success { .. }) => Ok(MmioMessage::from_header(header)),
            Ok(Reply::Retry { reason }) => {
                if t.retries >= self.config.max_retries {
                    error!(
                        "GuC mmio request {:#010x}: still RETRY after {} resends",
                        request0, t.retries
                    );
                    return Some(Err(MailboxError::RetryLimit { retries: t.retries }));
                }
                t.retries += 1;
                // Kernel 7.1: sleep before each resend, 1 ms doubling to 256 ms, then 256 ms.
                let max = nanos(self.config.retry_backoff_max);
                let pause = if t.retries == 1 {
                    nanos(self.config.retry_backoff).min(max)
                } else {
                    t.backoff.saturating_mul(2).min(max)
                };
                t.backoff = pause;
                debug!(
                    "GuC mmio request {:#010x}: retrying in {} us, reason {:#x}",
                    request0,
                    pause / 1_000,
                    reason
                );
                self.start(t, Wait::Pause(pause));
                return None;
            }
            Ok(Reply::Failure {
                hint,
                error: GucError::VfMigrated,
            }) => {
                debug!(
                    "GuC mmio request {:#010x}: rejected, VF migrated (hint {:#x})",
                    request0, hint
                );
                Err(MailboxError::VfMigrated { hint })
            }
            Ok(Reply::Failure { hint, error }) => {
                error!(
                    "GuC mmio request {:#010x}: failure {:#x} hint {:#x}",
                    request0,
                    error.raw(),
                    hint
                );
                Err(MailboxError::Remote { error, hint })
            }
            // A BUSY after BUSY cannot end the wait (its TYPE lacks the final bits); anything
            // else is garbage.
            Ok(Reply::Busy { .. }) | Err(_) => {
                error!(
                    "GuC mmio request {:#010x}: unexpected reply {:#010x}",
                    request0, header
                );
                Err(protocol_error(header))
            }
        })
    }

    fn write_request(&self, request: &[u32]) {
        for (i, dw) in request.iter().enumerate() {
            self.dev.write32(self.regs.scratch(i), *dw);
        }
        // Posting read: make sure the request reached the registers before the doorbell.
        let _ = self.dev.read32(self.regs.scratch(SCRATCH_COUNT - 1));
        self.dev.write32(self.regs.doorbell, 0);
    }

    fn read_reply(&self, header: u32) -> MmioMessage {
        let mut dw = [header, 0, 0, 0];
        for (i, slot) in dw.iter_mut().enumerate().skip(1) {
            *slot = self.dev.read32(self.regs.scratch(i));
        }
        MmioMessage::from_array(dw)
    }
}

/// The protocol error for a header that is not an acceptable final reply.
fn protocol_error(header: u32) -> MailboxError {
    let error = match Reply::decode(header) {
        Ok(reply) => WireError::UnexpectedType(reply.msg_type()),
        Err(error) => error,
    };
    MailboxError::Protocol { header, error }
}
