//! The GuC host process of the live-migration test, and the test script's QMP client.
//!
//! ```text
//! xe-guc-host serve --name A --shm /dev/shm/F --ctl DIR --log FILE [--ggtt-start 0x200000] [--incoming] [--server SOCKET]
//! xe-guc-host qmp PORT JSON [TIMEOUT_S]
//! ```
//!
//! `serve` creates the shared-memory file `F` (the memory QEMU's `memory-backend-file` maps and
//! the guest sees as BAR2 of an ivshmem-plain device, see `layout.rs`), maps it and serves one VF
//! of one tile, primary + media GT, with the crate's [`MockGuc`]: it polls both GTs' doorbell
//! registers in the shared memory, hands each request to the mock exactly as a VF's register
//! writes would (scratch registers, then the doorbell), copies the mock's scratch registers back
//! (data dwords first, the header last) and logs every message in the mock's transcript format
//! (`gt0 > 0x00005507`, `gt0 < 0xf0000000`, `gt0 irq SW_INT_0`). The mock writes SW_INT_0 into
//! the tile's memirq page inside the shared memory, through the crate's `MemirqMem`.
//!
//! A source host (`--incoming` absent) lays out the BAR and serves at once. A destination host
//! (`--incoming`) waits: QEMU's incoming migration fills its file, and its GuC starts only with
//! the `restore` command. Commands come from the test script as a file `DIR/NAME.cmd` (written
//! whole, then renamed into place); the answer is `DIR/NAME.ack`:
//!
//! | command | effect |
//! |---|---|
//! | `go` | adds one to the control page's hold-release word (the guest goes on from a hold point) |
//! | `pause IMAGE` | the source PF pauses the VF (the VM has stopped): both GuCs `VF_READY_PAUSED`, their VF images (`VfImage` words) written to `IMAGE`, no more serving |
//! | `restore IMAGE GGTT` | the destination PF's GuC restore: each GuC loads its image with the new GGTT base (`VF_RESFIX_PAUSED`, marker reset), the mailbox registers are reset (fresh hardware: scratch 0, doorbell idle), the control page names this host, then resume: `VF_RESFIX_BLOCKED` and SW_INT_0 into the memirq page |
//! | `msix` | raises MSI-X vector 0 (with `--server`; a test of the interrupt path) |
//! | `exit` | logs the final states, answers, exits |
//!
//! `--server SOCKET`: the process is also the ivshmem server of QEMU's `ivshmem-doorbell`
//! (`-chardev socket,path=SOCKET`): it hands QEMU the shared-memory file and the eventfd of
//! MSI-X vector 0, and raises that vector after the GuC restore has written SW_INT_0 into the
//! memirq page (see `ivshmem_server.rs`). Without it, QEMU maps the file itself
//! (`memory-backend-file` + `ivshmem-plain`) and there is no interrupt.
//!
//! The ack is one line: `ok <state gt0> <state gt1>` or `error <why>`.
//!
//! A request's length is not in its header: like the real GuC, the process takes the dwords
//! the action needs (the shortest prefix of the four scratch registers that decodes strictly).
//!
//! `qmp` connects to a QEMU QMP TCP socket, negotiates capabilities, sends JSON and prints the
//! reply line (events are skipped); exit status 0 for a `return`, 1 for an `error` or timeout.

use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::ptr::NonNull;
use std::sync::atomic::{fence, Ordering};
use std::time::{Duration, Instant};

use xe_sriov_vf::device::{Device, Reg};
use xe_sriov_vf::mmio::MemirqMem;
use xe_sriov_vf::mock::{MockClock, MockGuc, Provisioning, VfImage, VfState};
use xe_sriov_vf::wire::regs::{GtKind, SCRATCH_COUNT};
use xe_sriov_vf::wire::self_cfg::{decode_control_ctb, decode_self_cfg};
use xe_sriov_vf::wire::{Request, Version};

mod ivshmem_server;
#[path = "layout.rs"]
mod layout;
use layout::*;

const GT_KINDS: [GtKind; 2] = [GtKind::Primary, GtKind::Media];

/// The mapped shared-memory file.
struct Shm {
    base: NonNull<u8>,
    len: usize,
    /// The file (its fd goes to QEMU when this process is its ivshmem server).
    file: File,
}

impl Shm {
    /// Creates (or truncates) `path` to [`BAR_SIZE`] bytes of zeros and maps it shared.
    fn create(path: &Path) -> std::io::Result<Shm> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)?;
        file.set_len(BAR_SIZE as u64)?;
        use std::os::fd::AsRawFd;
        // SAFETY: a fresh shared mapping of a file we own, of its whole length; checked below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                BAR_SIZE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        let base = NonNull::new(ptr.cast::<u8>())
            .ok_or_else(|| std::io::Error::other("mmap returned null"))?;
        Ok(Shm {
            base,
            len: BAR_SIZE,
            file,
        })
    }

    fn read32(&self, off: usize) -> u32 {
        assert!(off.is_multiple_of(4) && off + 4 <= self.len);
        // SAFETY: inside the mapping (asserted), 4-aligned; the memory is shared with QEMU, so
        // only volatile accesses.
        unsafe { self.base.as_ptr().add(off).cast::<u32>().read_volatile() }
    }

    fn write32(&self, off: usize, value: u32) {
        assert!(off.is_multiple_of(4) && off + 4 <= self.len);
        // SAFETY: as in `read32`.
        unsafe {
            self.base
                .as_ptr()
                .add(off)
                .cast::<u32>()
                .write_volatile(value)
        }
    }

    fn ctl(&self, word: usize) -> usize {
        CONTROL_OFFSET + 4 * word
    }

    /// The memirq page inside the mapping, for the mocks (leaked: it lives as long as the
    /// process, and the mapping is never unmapped).
    fn memirq_page(&self) -> &'static MemirqMem {
        // SAFETY: the page lies inside the mapping, which stays mapped for the process's life;
        // no Rust reference covers it (all other accesses are volatile, through raw pointers).
        let page = unsafe {
            MemirqMem::new(NonNull::new_unchecked(
                self.base.as_ptr().add(MEMIRQ_OFFSET),
            ))
        }
        .expect("memirq page aligned");
        Box::leak(Box::new(page))
    }
}

fn reg(r: Reg) -> usize {
    r.offset() as usize
}

/// The dwords the GuC takes for the request in `dws`: the shortest prefix that decodes strictly
/// as a VF action, HOST2GUC_SELF_CFG or HOST2GUC_CONTROL_CTB; all four otherwise (the mock then
/// answers what it answers to a malformed request).
fn request_len(dws: &[u32; SCRATCH_COUNT]) -> usize {
    (1..=SCRATCH_COUNT)
        .find(|&n| {
            let m = &dws[..n];
            Request::decode(m).is_ok()
                || decode_self_cfg(m).is_ok()
                || decode_control_ctb(m).is_ok()
        })
        .unwrap_or(SCRATCH_COUNT)
}

struct Host {
    name: String,
    shm: Shm,
    gucs: [MockGuc; 2],
    log: File,
    serving: bool,
    handled: u64,
    /// With `--server`: QEMU's ivshmem-doorbell connects here; SW_INT_0 then also raises the
    /// device's MSI-X vector 0.
    server: Option<ivshmem_server::Server>,
    vm_connected: bool,
    /// Both mocks' clock, moved with real time ([`Host::tick`]): their transcript times and
    /// [`MockGuc::blackout`] are then real microseconds.
    clock: &'static MockClock,
    last_tick: Instant,
}

impl Host {
    fn log(&mut self, line: &str) {
        let _ = writeln!(self.log, "{line}");
        let _ = self.log.flush();
    }

    fn drain(&mut self, gt: usize) {
        let mut lines = Vec::new();
        self.gucs[gt].drain_transcript(|e| lines.push(e.line(gt as u8).to_string()));
        for l in lines {
            self.log(&l);
        }
    }

    fn publish_states(&self) {
        for (gt, g) in self.gucs.iter().enumerate() {
            let code = VfState::ALL
                .iter()
                .position(|s| *s == g.state())
                .unwrap_or(0) as u32;
            self.shm.write32(self.shm.ctl(ctl::STATE0 + gt), code);
        }
    }

    fn states(&self) -> String {
        format!("{} {}", self.gucs[0].state(), self.gucs[1].state())
    }

    /// Fresh mailbox registers: scratch 0, doorbells idle.
    fn reset_mailboxes(&self) {
        for kind in GT_KINDS {
            let regs = kind.mailbox();
            for i in 0..SCRATCH_COUNT {
                self.shm.write32(reg(regs.scratch(i)), 0);
            }
            self.shm.write32(reg(regs.doorbell), DOORBELL_IDLE);
        }
    }

    /// Moves the mocks' clock by the real time since the last tick.
    fn tick(&mut self) {
        let now = Instant::now();
        self.clock.advance(now - self.last_tick);
        self.last_tick = now;
    }

    /// The last migration's blackout as each GuC saw it (from its SW_INT_0 to its SUCCESS to
    /// RESFIX_DONE, in real time), for the log.
    fn blackouts(&self) -> String {
        let mut out = String::new();
        for (gt, g) in self.gucs.iter().enumerate() {
            let _ = match g.blackout() {
                Some(b) => match b.duration() {
                    Some(d) => write!(
                        out,
                        " gt{gt} {} us ({} round trips)",
                        d.as_micros(),
                        b.round_trips
                    ),
                    None => write!(out, " gt{gt} still blocked ({} round trips)", b.round_trips),
                },
                None => write!(out, " gt{gt} none"),
            };
        }
        out
    }

    /// One look at both doorbells; true if a request was handled.
    fn serve_once(&mut self) -> bool {
        self.tick();
        let mut any = false;
        for (gt, kind) in GT_KINDS.iter().enumerate() {
            let regs = kind.mailbox();
            if self.shm.read32(reg(regs.doorbell)) == DOORBELL_IDLE {
                continue;
            }
            // Re-arm first: the VF writes the next doorbell only after it saw this reply.
            self.shm.write32(reg(regs.doorbell), DOORBELL_IDLE);
            fence(Ordering::SeqCst);
            let dws: [u32; SCRATCH_COUNT] =
                core::array::from_fn(|i| self.shm.read32(reg(regs.scratch(i))));
            let len = request_len(&dws);
            let guc = &self.gucs[gt];
            for (i, dw) in dws.iter().enumerate().take(len) {
                guc.write32(regs.scratch(i), *dw);
            }
            guc.write32(regs.doorbell, 0);
            // The VF's first poll (logs the reply in the transcript, as the VF would see it).
            let _ = guc.read32(regs.scratch(0));
            let out = guc.scratch();
            for i in (1..SCRATCH_COUNT).rev() {
                self.shm.write32(reg(regs.scratch(i)), out[i]);
            }
            fence(Ordering::SeqCst);
            self.shm.write32(reg(regs.scratch(0)), out[0]);
            self.handled += 1;
            self.drain(gt);
            self.publish_states();
            any = true;
        }
        any
    }

    /// Runs one command; `Ok((exit, states))`, the states being the VF states the command
    /// leaves (for `pause`: the states the VM left, before the pause).
    fn command(&mut self, cmd: &str) -> Result<(bool, String), String> {
        self.tick();
        let words: Vec<&str> = cmd.split_whitespace().collect();
        self.log(&format!("# {}: command: {}", self.name, cmd.trim()));
        match words.as_slice() {
            ["go"] => {
                let off = self.shm.ctl(ctl::GO);
                self.shm.write32(off, self.shm.read32(off).wrapping_add(1));
                Ok((false, self.states()))
            }
            ["pause", image] => {
                let mut text = String::new();
                let mut before = Vec::new();
                for g in &self.gucs {
                    g.pause();
                    let img = g.save_image();
                    before.push(img.state.name());
                    let words = img.to_words();
                    let _ = writeln!(text, "{}", words.map(|w| format!("{w:#x}")).join(" "));
                }
                fs::write(image, text).map_err(|e| format!("{image}: {e}"))?;
                self.serving = false;
                for gt in 0..2 {
                    self.drain(gt);
                }
                let before = before.join(" ");
                let line = format!(
                    "# {}: paused (VM stopped) from {before}, VF images saved to {image}; the last migration's blackout as this GuC saw it:{}",
                    self.name,
                    self.blackouts()
                );
                self.log(&line);
                Ok((false, before))
            }
            ["restore", image, ggtt] => {
                let ggtt = parse_u64(ggtt).ok_or_else(|| format!("bad GGTT base {ggtt}"))?;
                let text = fs::read_to_string(image).map_err(|e| format!("{image}: {e}"))?;
                let images: Vec<VfImage> = text
                    .lines()
                    .map(|l| {
                        let w: Option<Vec<u64>> = l.split_whitespace().map(parse_u64).collect();
                        w.and_then(|w| VfImage::from_words(&w))
                    })
                    .collect::<Option<_>>()
                    .ok_or("corrupt VF image")?;
                if images.len() != 2 {
                    return Err(format!("{} VF images, want 2", images.len()));
                }
                let mut prov = Provisioning::integrated();
                prov.ggtt_start = ggtt;
                for (g, img) in self.gucs.iter().zip(&images) {
                    g.load_image(img, prov);
                }
                self.reset_mailboxes();
                self.shm
                    .write32(self.shm.ctl(ctl::HOST), u32::from(self.name.as_bytes()[0]));
                self.log(&format!("# {}: GuC restore: VF images loaded, GGTT base {ggtt:#x}, marker reset, mailbox reset; resume", self.name));
                for g in &self.gucs {
                    g.resume();
                }
                for gt in 0..2 {
                    self.drain(gt);
                }
                self.publish_states();
                self.serving = true;
                // The tile's MSI (both GuCs' interrupts, one vector): MSI-X vector 0 of the device.
                if let Some(server) = &self.server {
                    let sent = server.notify();
                    self.log(&format!(
                        "# {}: MSI-X vector 0 {}",
                        self.name,
                        if sent {
                            "raised"
                        } else {
                            "not raised: no VM connected"
                        }
                    ));
                }
                Ok((false, self.states()))
            }
            ["msix"] => match &self.server {
                Some(server) if server.notify() => Ok((false, self.states())),
                _ => Err("no VM connected to the ivshmem server".into()),
            },
            ["exit"] => Ok((true, self.states())),
            _ => Err(format!("unknown command '{}'", cmd.trim())),
        }
    }
}

fn parse_u64(s: &str) -> Option<u64> {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

struct Args {
    name: String,
    shm: PathBuf,
    ctl: PathBuf,
    log: PathBuf,
    ggtt: u64,
    incoming: bool,
    server: Option<PathBuf>,
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut a = Args {
        name: String::new(),
        shm: PathBuf::new(),
        ctl: PathBuf::new(),
        log: PathBuf::new(),
        ggtt: 0x20_0000,
        incoming: false,
        server: None,
    };
    while let Some(arg) = it.next() {
        let mut val = || it.next().ok_or(format!("{arg} wants a value"));
        match arg.as_str() {
            "--name" => a.name = val()?,
            "--shm" => a.shm = val()?.into(),
            "--ctl" => a.ctl = val()?.into(),
            "--log" => a.log = val()?.into(),
            "--ggtt-start" => a.ggtt = parse_u64(&val()?).ok_or("bad --ggtt-start")?,
            "--incoming" => a.incoming = true,
            "--server" => a.server = Some(val()?.into()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if a.name.is_empty()
        || a.shm.as_os_str().is_empty()
        || a.ctl.as_os_str().is_empty()
        || a.log.as_os_str().is_empty()
    {
        return Err("serve needs --name, --shm, --ctl and --log".into());
    }
    Ok(a)
}

/// A GuC host process's state over the shared-memory file `shm` (created anew), logging to
/// `log`: a source host lays out the BAR and serves at once, a destination (`incoming`) waits for
/// the `restore` command.
fn new_host(name: &str, shm: &Path, log: &Path, ggtt: u64, incoming: bool) -> Result<Host, String> {
    let shm = Shm::create(shm).map_err(|e| format!("{}: {e}", shm.display()))?;
    let log = File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let mut prov = Provisioning::integrated();
    prov.ggtt_start = ggtt;
    let gucs = GT_KINDS.map(|k| MockGuc::new(k, Version::new(1, 27), prov));
    let page = shm.memirq_page();
    let clock: &'static MockClock = Box::leak(Box::new(MockClock::new()));
    for g in &gucs {
        g.attach_memirq_page(page, MEMIRQ_GGTT);
        g.use_clock(clock);
    }
    let mut host = Host {
        name: name.to_string(),
        shm,
        gucs,
        log,
        serving: !incoming,
        handled: 0,
        server: None,
        vm_connected: false,
        clock,
        last_tick: Instant::now(),
    };
    if incoming {
        host.log(&format!(
            "# {name}: destination GuC, waiting for the incoming migration and the GuC restore"
        ));
    } else {
        host.reset_mailboxes();
        host.shm
            .write32(host.shm.ctl(ctl::HOST), u32::from(name.as_bytes()[0]));
        host.publish_states();
        fence(Ordering::SeqCst);
        host.shm.write32(host.shm.ctl(ctl::MAGIC), MAGIC);
        host.log(&format!(
            "# {name}: source GuC, BAR laid out, GGTT base {ggtt:#x}, serving"
        ));
    }
    Ok(host)
}

fn serve(a: Args) -> Result<(), String> {
    let mut host = new_host(&a.name, &a.shm, &a.log, a.ggtt, a.incoming)?;
    if let Some(path) = &a.server {
        host.server = Some(
            ivshmem_server::Server::bind(path).map_err(|e| format!("{}: {e}", path.display()))?,
        );
    }
    let cmd_path = a.ctl.join(format!("{}.cmd", a.name));
    let ack_path = a.ctl.join(format!("{}.ack", a.name));
    fs::write(a.ctl.join(format!("{}.ready", a.name)), "ready\n").map_err(|e| e.to_string())?;
    let mut last_cmd_check = Instant::now();
    let mut idle_polls = 0u32;
    loop {
        if host.serving && host.serve_once() {
            idle_polls = 0;
        } else {
            idle_polls = idle_polls.saturating_add(1);
            if idle_polls > 2000 {
                std::thread::sleep(Duration::from_micros(50));
            } else {
                std::hint::spin_loop();
            }
        }
        if last_cmd_check.elapsed() < Duration::from_millis(2) {
            continue;
        }
        last_cmd_check = Instant::now();
        if let Some(server) = &mut host.server {
            use std::os::fd::AsRawFd;
            match server.poll_accept(host.shm.file.as_raw_fd()) {
                Ok(true) if !host.vm_connected => {
                    host.vm_connected = true;
                    let line = format!("# {}: ivshmem server: QEMU connected, shared memory and MSI-X vector 0 eventfd sent", host.name);
                    host.log(&line);
                }
                Ok(_) => {}
                Err(e) => return Err(format!("ivshmem server: {e}")),
            }
        }
        let Ok(cmd) = fs::read_to_string(&cmd_path) else {
            continue;
        };
        let _ = fs::remove_file(&cmd_path);
        let (ack, exit) = match host.command(&cmd) {
            Ok((exit, states)) => (format!("ok {states}\n"), exit),
            Err(e) => (format!("error {e}\n"), false),
        };
        if exit {
            let line = format!(
                "# {}: exit: {} requests handled, final states gt0 {} gt1 {}; the last migration's blackout as this GuC saw it:{}",
                host.name,
                host.handled,
                host.gucs[0].state(),
                host.gucs[1].state(),
                host.blackouts()
            );
            host.log(&line);
        }
        let tmp = ack_path.with_extension("ack.tmp");
        fs::write(&tmp, ack)
            .and_then(|()| fs::rename(&tmp, &ack_path))
            .map_err(|e| e.to_string())?;
        if exit {
            return Ok(());
        }
    }
}

/// QMP: capabilities, then `json`; prints the reply line. Every read is bounded by `timeout`.
fn qmp(port: &str, json: &str, timeout: Duration) -> Result<String, String> {
    let deadline = Instant::now() + timeout;
    let addr = format!("127.0.0.1:{port}");
    let stream =
        TcpStream::connect_timeout(&addr.parse().map_err(|e| format!("{addr}: {e}"))?, timeout)
            .map_err(|e| format!("{addr}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let mut writer = stream.try_clone().map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(stream);
    let mut reply = |send: Option<&str>| -> Result<String, String> {
        if let Some(s) = send {
            writer
                .write_all(format!("{s}\n").as_bytes())
                .map_err(|e| e.to_string())?;
        }
        loop {
            if Instant::now() > deadline {
                return Err("QMP timeout".into());
            }
            let mut line = String::new();
            if reader
                .read_line(&mut line)
                .map_err(|e| format!("QMP read: {e}"))?
                == 0
            {
                return Err("QMP connection closed".into());
            }
            if send.is_none() || line.contains("\"return\"") || line.contains("\"error\"") {
                return Ok(line.trim().to_string());
            }
        }
    };
    let greeting = reply(None)?;
    if !greeting.contains("QMP") {
        return Err(format!("not a QMP greeting: {greeting}"));
    }
    let caps = reply(Some(r#"{"execute":"qmp_capabilities"}"#))?;
    if !caps.contains("\"return\"") {
        return Err(caps);
    }
    let r = reply(Some(json))?;
    if r.contains("\"error\"") {
        return Err(r);
    }
    Ok(r)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let result = match args.next().as_deref() {
        Some("serve") => parse_args(args).and_then(serve),
        Some("qmp") => {
            let (Some(port), Some(json)) = (args.next(), args.next()) else {
                eprintln!("usage: xe-guc-host qmp PORT JSON [TIMEOUT_S]");
                return ExitCode::from(2);
            };
            let secs = args.next().and_then(|s| s.parse().ok()).unwrap_or(10);
            match qmp(&port, &json, Duration::from_secs(secs)) {
                Ok(r) => {
                    println!("{r}");
                    Ok(())
                }
                Err(e) => Err(e),
            }
        }
        _ => Err("usage: xe-guc-host serve ... | qmp PORT JSON [TIMEOUT_S]".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xe-guc-host: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xe_sriov_vf::wire::memirq::GucUnit;
    use xe_sriov_vf::wire::regs::GucIntr;
    use xe_sriov_vf::wire::self_cfg::SelfCfgRequest;

    fn tmp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("xe-guc-host-test-{}-{name}", std::process::id()))
    }

    /// What the VF does: scratch writes, the doorbell (0); then the host serves; the reply.
    fn exchange(host: &mut Host, kind: GtKind, req: &[u32]) -> [u32; SCRATCH_COUNT] {
        let regs = kind.mailbox();
        for (i, dw) in req.iter().enumerate() {
            host.shm.write32(reg(regs.scratch(i)), *dw);
        }
        host.shm.write32(reg(regs.doorbell), 0);
        assert!(host.serve_once(), "the doorbell was seen");
        assert!(!host.serve_once(), "and re-armed");
        core::array::from_fn(|i| host.shm.read32(reg(regs.scratch(i))))
    }

    #[test]
    fn request_length_is_what_the_action_needs() {
        assert_eq!(request_len(&[0x5507, 0xAA, 0xBB, 0xCC]), 1); // VF_RESET
        assert_eq!(request_len(&[0x5500, 0x0001_0200, 0xBB, 0xCC]), 2); // MATCH_VERSION
        assert_eq!(request_len(&[0x5509, 1, 0xBB, 0xCC]), 2); // QUERY_SINGLE_KLV
        assert_eq!(request_len(&[0x0001_5508, 0xAA, 0xBB, 0xCC]), 1); // RESFIX_DONE(1)
        let cfg =
            SelfCfgRequest::memirq_registration(MEMIRQ_GGTT, GucUnit::for_gt(GtKind::Primary))
                .unwrap();
        assert_eq!(request_len(&cfg[0].to_dwords()), 4); // HOST2GUC_SELF_CFG
        assert_eq!(request_len(&[0xDEAD, 0, 0, 0]), 4, "unknown: all four");
    }

    #[test]
    fn serves_the_mailbox_in_shared_memory_and_restores_on_another_host() {
        let (shm_a, log_a) = (tmp("a.shm"), tmp("a.log"));
        let mut a = new_host("A", &shm_a, &log_a, 0x20_0000, false).unwrap();
        assert_eq!(a.shm.read32(a.shm.ctl(ctl::MAGIC)), MAGIC);
        assert_eq!(a.shm.read32(a.shm.ctl(ctl::HOST)), u32::from(b'A'));
        assert_eq!(
            a.shm.read32(reg(GtKind::Media.mailbox().doorbell)),
            DOORBELL_IDLE
        );
        for kind in GT_KINDS {
            assert_eq!(exchange(&mut a, kind, &[0x5507])[0], 0xF000_0000);
            let r = exchange(&mut a, kind, &[0x5500, 0x0001_0200]);
            assert_eq!(r[..2], [0xF000_0000, 0x0001_1B00]);
            for req in
                SelfCfgRequest::memirq_registration(MEMIRQ_GGTT, GucUnit::for_gt(kind)).unwrap()
            {
                assert_eq!(exchange(&mut a, kind, &req.to_dwords())[0], 0xF000_0001);
            }
        }
        assert_eq!(a.states(), "VF_RUNNING VF_RUNNING");
        assert_eq!(
            a.shm.read32(a.shm.ctl(ctl::STATE0)),
            4,
            "VfState::ALL index of VF_RUNNING"
        );
        let log = fs::read_to_string(&log_a).unwrap();
        assert!(
            log.contains("\ngt1 > 0x00005500 0x00010200\ngt1 < 0xf0000000 0x00011b00\n"),
            "{log}"
        );

        // The migration: A pauses and saves, B restores with a new base.
        let image = tmp("image");
        assert_eq!(
            a.command(&format!("pause {}", image.display())).unwrap().1,
            "VF_RUNNING VF_RUNNING"
        );
        let (shm_b, log_b) = (tmp("b.shm"), tmp("b.log"));
        let mut b = new_host("B", &shm_b, &log_b, 0x30_0000, true).unwrap();
        assert!(!b.serving);
        b.shm
            .write32(reg(GtKind::Primary.mailbox().scratch(0)), 0x5509); // as copied: stale
        let (_, states) = b
            .command(&format!("restore {} 0x300000", image.display()))
            .unwrap();
        assert_eq!(states, "VF_RESFIX_BLOCKED VF_RESFIX_BLOCKED");
        assert_eq!(b.shm.read32(b.shm.ctl(ctl::HOST)), u32::from(b'B'));
        assert_eq!(
            b.shm.read32(reg(GtKind::Primary.mailbox().scratch(0))),
            0,
            "mailbox reset"
        );
        for kind in GT_KINDS {
            let unit = GucUnit::for_gt(kind);
            let byte =
                |off: usize| b.shm.read32(MEMIRQ_OFFSET + off / 4 * 4).to_le_bytes()[off % 4];
            assert_eq!(
                byte(unit.status_byte_offset(GucIntr::SW_INT_0).unwrap()),
                0xFF
            );
            assert_eq!(byte(unit.source_offset()), 0xFF);
        }
        let r = exchange(&mut b, GtKind::Media, &[0x5509, 1]);
        assert_eq!(r[..3], [0xF000_0002, 0x30_0000, 0], "the new GGTT base");
        assert!(b.command("bogus").is_err());
        assert!(b.command("exit").unwrap().0);
        for f in [shm_a, log_a, shm_b, log_b, image] {
            let _ = fs::remove_file(f);
        }
    }
}
