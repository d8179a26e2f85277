//! The MMIO mailbox: one request, one reply, through a GT's four scratch registers.
//!
//! A transaction, as the Linux `xe` driver does it (`xe_guc_mmio_send_recv`):
//!
//! 1. write the request dwords to `VF_SW_FLAG(0..len)`, read `VF_SW_FLAG(3)` back (a posting
//!    read, so the writes land before the doorbell), write 0 to the doorbell;
//! 2. poll `VF_SW_FLAG(0)` until its ORIGIN bit says GUC, for at most
//!    [`reply_timeout`](MailboxConfig::reply_timeout) (50 ms). On a timeout with the register
//!    reading 0 (a function-level reset cleared it) send once more;
//! 3. BUSY: keep polling until the reply is SUCCESS or FAILURE, for at most
//!    [`busy_timeout`](MailboxConfig::busy_timeout) (2 s);
//! 4. RETRY: send again (the kernel never gives up; here at most
//!    [`max_retries`](MailboxConfig::max_retries) times);
//! 5. FAILURE: [`MailboxError::VfMigrated`] for VF_MIGRATED, [`MailboxError::Remote`] otherwise;
//!    anything but a GuC-origin SUCCESS is [`MailboxError::Protocol`];
//! 6. SUCCESS: for an action whose reply carries data (MATCH_VERSION, QUERY_SINGLE_KLV: see
//!    [`Request::reply_has_data`]) read `VF_SW_FLAG(1..4)` as the reply data; a send-only action
//!    (VF_RESET, RESFIX_START, RESFIX_DONE) reads none of them, as the kernel's
//!    `xe_guc_mmio_send` passes no response buffer.
//!
//! Register accesses per attempt, against the kernel's for the same exchange:
//!
//! | access | kernel | here |
//! |---|---|---|
//! | request writes + doorbell | `len` + 1 | `len` + 1 |
//! | posting read | 1 | 1 |
//! | polls of scratch 0 | one per poll, plus one after the deadline | the same |
//! | header re-read after the wait | 1 | 0 (the polled value is the header) |
//! | reply data | 3 when the caller wants data | 3 for data actions, 0 for send-only ones |
//!
//! so an exchange answered at once costs 2 reads (send-only) or 5 (data) here, against the
//! kernel's 3 or 6: never more (tests/mailbox.rs checks both against this model).
//!
//! Every wait is bounded by the device clock. As the kernel's `__xe_mmio_wait32` does, once the
//! deadline has passed the register is read once more and a match then still counts (a vCPU
//! descheduled between its last read and the clock check must not report a false timeout). The
//! wait runs on a [`Stopwatch`]: a clock that makes no progress
//! (stopped, backwards, jittering) for [`stall_polls`](MailboxConfig::stall_polls) consecutive
//! polls ends the wait with [`MailboxError::ClockStalled`] instead of spinning forever, and a
//! clock that wraps past `u64::MAX` times out as if it had not wrapped.

use core::fmt;

use crate::device::{nanos, Device, Stopwatch};
use crate::wire::action::{MmioMessage, Request, MMIO_MSG_MAX_DWORDS};
use crate::wire::hxg::{MsgType, Reply};
use crate::wire::regs::{MailboxRegs, SCRATCH_COUNT};
use crate::wire::{GucError, WireError};
use core::time::Duration;

/// Timeouts and limits of the mailbox. [`MailboxConfig::DEFAULT`] (also [`Default`]) gives the
/// kernel's values.
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
    /// limit).
    pub max_retries: u32,
    /// Whether a timeout with the scratch register cleared (FLR) is followed by one resend
    /// (kernel: yes).
    pub resend_after_flr: bool,
    /// Consecutive polls with no clock progress after which a wait is abandoned (see
    /// [`Stopwatch`]). 0 acts as 1.
    pub stall_polls: u32,
}

impl MailboxConfig {
    /// The kernel's values: 50 ms, 2 s, one FLR resend; 64 RETRY resends; 1,000,000 stalled
    /// polls.
    pub const KERNEL: MailboxConfig = MailboxConfig {
        reply_timeout: Duration::from_millis(50),
        busy_timeout: Duration::from_secs(2),
        max_retries: 64,
        resend_after_flr: true,
        stall_polls: 1_000_000,
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum MailboxError {
    /// The request is empty or longer than the 4 scratch registers; nothing was written.
    BadRequestLength(usize),
    /// No reply within the reply timeout (after the FLR resend, if any). Carries the last value
    /// read from `VF_SW_FLAG(0)`.
    Timeout {
        /// Last value of scratch 0.
        last: u32,
    },
    /// BUSY, then no final reply within the busy timeout.
    BusyTimeout,
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
                    "request of {n} dwords does not fit the MMIO mailbox (1..=4)"
                )
            }
            MailboxError::Timeout { last } => {
                write!(f, "no reply from the GuC (scratch 0 = {last:#010x})")
            }
            MailboxError::BusyTimeout => f.write_str("GuC stayed busy past the busy timeout"),
            MailboxError::RetryLimit { retries } => {
                write!(f, "GuC asked to retry {retries} times; giving up")
            }
            MailboxError::VfMigrated { hint } => {
                write!(f, "request rejected: VF migrated (hint {hint:#x})")
            }
            MailboxError::Remote { hint, .. } => {
                write!(f, "GuC answered FAILURE (hint {hint:#x})")
            }
            MailboxError::Protocol { header, .. } => {
                write!(f, "unexpected GuC reply {header:#010x}")
            }
            MailboxError::ClockStalled => f.write_str("device clock does not advance"),
        }
    }
}

impl core::error::Error for MailboxError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            MailboxError::Protocol { error, .. } => Some(error),
            MailboxError::Remote { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// The outcome of one poll loop.
enum Poll {
    /// The condition held; the value read.
    Done(u32),
    /// The time ran out; the last value read.
    TimedOut(u32),
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
    pub fn send(&mut self, request: &Request) -> Result<MmioMessage, MailboxError> {
        let msg = request
            .encode()
            .map_err(|error| MailboxError::Protocol { header: 0, error })?;
        if request.reply_has_data() {
            self.send_recv(msg.as_slice())
        } else {
            self.send_only(msg.as_slice())
        }
    }

    /// Sends `request` (1 to 4 dwords) and returns the SUCCESS reply: its header followed by
    /// the three data registers.
    pub fn send_recv(&mut self, request: &[u32]) -> Result<MmioMessage, MailboxError> {
        self.transact(request, true)
    }

    /// Sends `request` (1 to 4 dwords) and returns the SUCCESS reply's header alone (a
    /// one-dword message): no data register is read (the kernel's `xe_guc_mmio_send`).
    pub fn send_only(&mut self, request: &[u32]) -> Result<MmioMessage, MailboxError> {
        self.transact(request, false)
    }

    fn transact(&mut self, request: &[u32], want_data: bool) -> Result<MmioMessage, MailboxError> {
        if request.is_empty() || request.len() > MMIO_MSG_MAX_DWORDS {
            return Err(MailboxError::BadRequestLength(request.len()));
        }
        let mut retries = 0u32;
        let mut resent_after_flr = false;
        // Each pass either returns or consumes one RETRY or the single FLR resend, so the loop
        // runs at most `max_retries + 2` times.
        loop {
            self.write_request(request);
            let header = match self.poll(nanos(self.config.reply_timeout), |h| h >> 31 == 1)? {
                Poll::Done(h) => h,
                Poll::TimedOut(last) => {
                    if last == 0 && self.config.resend_after_flr && !resent_after_flr {
                        debug!("GuC mmio request {:#010x}: lost, sending again", request[0]);
                        resent_after_flr = true;
                        continue;
                    }
                    error!(
                        "GuC mmio request {:#010x}: no reply {:#010x}",
                        request[0], last
                    );
                    return Err(MailboxError::Timeout { last });
                }
            };
            let header = match Reply::decode(header) {
                Ok(Reply::Busy { .. }) => self.wait_after_busy(request[0])?,
                _ => header,
            };
            match Reply::decode(header) {
                Ok(Reply::Success { .. }) if want_data => return Ok(self.read_reply(header)),
                Ok(Reply::Success { .. }) => return Ok(MmioMessage::from_header(header)),
                Ok(Reply::Retry { reason }) => {
                    if retries >= self.config.max_retries {
                        error!(
                            "GuC mmio request {:#010x}: still RETRY after {} resends",
                            request[0], retries
                        );
                        return Err(MailboxError::RetryLimit { retries });
                    }
                    retries += 1;
                    debug!(
                        "GuC mmio request {:#010x}: retrying, reason {:#x}",
                        request[0], reason
                    );
                }
                Ok(Reply::Failure {
                    hint,
                    error: GucError::VfMigrated,
                }) => {
                    debug!(
                        "GuC mmio request {:#010x}: rejected, VF migrated (hint {:#x})",
                        request[0], hint
                    );
                    return Err(MailboxError::VfMigrated { hint });
                }
                Ok(Reply::Failure { hint, error }) => {
                    error!(
                        "GuC mmio request {:#010x}: failure {:#x} hint {:#x}",
                        request[0],
                        error.raw(),
                        hint
                    );
                    return Err(MailboxError::Remote { error, hint });
                }
                // A BUSY here cannot come out of wait_after_busy; anything else is garbage.
                Ok(Reply::Busy { .. }) | Err(_) => {
                    error!(
                        "GuC mmio request {:#010x}: unexpected reply {:#010x}",
                        request[0], header
                    );
                    return Err(protocol_error(header));
                }
            }
        }
    }

    fn write_request(&self, request: &[u32]) {
        for (i, dw) in request.iter().enumerate() {
            self.dev.write32(self.regs.scratch(i), *dw);
        }
        // Posting read: make sure the request reached the registers before the doorbell.
        let _ = self.dev.read32(self.regs.scratch(SCRATCH_COUNT - 1));
        self.dev.write32(self.regs.doorbell, 0);
    }

    /// After a BUSY: wait for SUCCESS or FAILURE (the kernel's mask: TYPE bits shared by both),
    /// then insist on GuC origin. Returns the final header.
    fn wait_after_busy(&self, request0: u32) -> Result<u32, MailboxError> {
        let final_mask = (MsgType::ResponseSuccess.raw() & MsgType::ResponseFailure.raw()) << 28;
        let header = match self.poll(nanos(self.config.busy_timeout), |h| {
            h & final_mask == final_mask
        })? {
            Poll::Done(h) => h,
            Poll::TimedOut(last) => {
                return match Reply::decode(last) {
                    Ok(Reply::Busy { .. }) => {
                        error!("GuC mmio request {:#010x}: busy timeout", request0);
                        Err(MailboxError::BusyTimeout)
                    }
                    _ => Err(protocol_error(last)),
                };
            }
        };
        match Reply::decode(header) {
            Ok(_) => Ok(header),
            Err(_) => Err(protocol_error(header)),
        }
    }

    /// Polls scratch 0 until `done(value)`, for at most `timeout_ns` of device time.
    fn poll(&self, timeout_ns: u64, done: impl Fn(u32) -> bool) -> Result<Poll, MailboxError> {
        let mut watch = Stopwatch::start(self.dev.now());
        loop {
            let value = self.dev.read32(self.regs.scratch(0));
            if done(value) {
                return Ok(Poll::Done(value));
            }
            watch.observe(self.dev.now());
            if watch.elapsed_ns() >= timeout_ns {
                // The kernel's last look: the reply may have landed while this vCPU was away
                // between the read above and the clock check.
                let value = self.dev.read32(self.regs.scratch(0));
                return Ok(if done(value) {
                    Poll::Done(value)
                } else {
                    Poll::TimedOut(value)
                });
            }
            if watch.stalled_polls() >= self.config.stall_polls.max(1) {
                error!("device clock stalled while polling the GuC mailbox");
                return Err(MailboxError::ClockStalled);
            }
            self.dev.relax();
        }
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
