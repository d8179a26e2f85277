//! no_std link proof for `xe-sriov-vf`.
//!
//! A freestanding x86_64 Linux executable: no libc, no crt0, no `std`. It links the crate with
//! `default-features = false, features = ["mock"]`, calls real crate code, and reports the result
//! through the process exit status (0 = every check passed; 1-4: the `Device` trait checks,
//! 10-19: the VF checks in `vf::migration_roundtrip`: 2 GTs bootstrapped on static mock GuCs
//! through `Vf`, one migration, recovery by polling a `PollingQueue`, both GTs VF_RUNNING;
//! 20-24: `bar::static_vf_over_mmio_bar`, a `static` VF over a `static` `MmioBar` at a fixed
//! virtual address, mapped at run time as a kernel maps a BAR at probe). If `std` were anywhere in the
//! dependency graph, this crate's `#[panic_handler]` would clash with std's and the build would
//! fail with E0152 "duplicate lang item" — `check.sh` demonstrates exactly that failure by
//! turning on the crate's `std` feature.
//!
//! Build: `cargo rustc --release -- -C link-arg=-nostartfiles -C link-arg=-nostdlib
//! -C link-arg=-static` (the link args go to this final crate only; putting them in RUSTFLAGS
//! would also hit build scripts, which need the normal host startup files).
#![no_std]
#![no_main]
// The byte-loop mem* functions below must not be turned back into calls to themselves by LLVM's
// loop-idiom recognition; `no_builtins` forbids that for this crate.
#![no_builtins]

use core::cell::Cell;
use core::panic::PanicInfo;

use xe_sriov_vf::device::{Device, Instant, Reg};

// ---------------------------------------------------------------------------------------------
// A tiny in-binary Device: 64 registers in a Cell array plus a virtual clock. Single-threaded,
// no locks, no spinning.
// ---------------------------------------------------------------------------------------------

const NREGS: usize = 64;

struct RegFile {
    regs: [Cell<u32>; NREGS],
    clock: Cell<u64>,
}

impl RegFile {
    const fn new() -> Self {
        RegFile { regs: [const { Cell::new(0) }; NREGS], clock: Cell::new(0) }
    }

    fn slot(&self, reg: Reg) -> Option<&Cell<u32>> {
        let off = reg.offset();
        if !off.is_multiple_of(4) {
            return None;
        }
        self.regs.get((off / 4) as usize)
    }
}

impl Device for RegFile {
    fn read32(&self, reg: Reg) -> u32 {
        // Unmapped offsets read as all ones, as the trait documents.
        self.slot(reg).map_or(u32::MAX, Cell::get)
    }

    fn write32(&self, reg: Reg, value: u32) {
        if let Some(c) = self.slot(reg) {
            c.set(value);
        }
    }

    fn now(&self) -> Instant {
        Instant(self.clock.get())
    }

    fn relax(&self) {
        // Virtual time: every poll costs one microsecond.
        self.clock.set(self.clock.get() + 1_000);
    }
}

/// Exercises the crate through a generic `D: Device` (so the blanket `impl Device for &D` of the
/// crate is what actually runs). Returns 0 on success, else the number of the failed check.
#[inline(never)]
fn exercise<D: Device>(dev: D) -> i32 {
    let base = core::hint::black_box(Reg(0x10));

    // Reg::nth / Reg::offset.
    if base.nth(3).offset() != 0x1c {
        return 1;
    }
    // Register round trip through the trait.
    for n in 0..8 {
        dev.write32(base.nth(n), 0xc0de_0000 | n);
    }
    for n in 0..8 {
        if dev.read32(base.nth(n)) != 0xc0de_0000 | n {
            return 2;
        }
    }
    // Unmapped offset reads as all ones.
    if dev.read32(Reg(0x1000)) != u32::MAX {
        return 3;
    }
    // Clock + default-or-overridden relax + Instant::nanos_since.
    let t0 = dev.now();
    for _ in 0..5 {
        dev.relax();
    }
    let t1 = dev.now();
    if t1.nanos_since(t0) != 5_000 || t0.nanos_since(t1) != 0 {
        return 4;
    }

    // The crate proper: a VF with 2 GTs on the mock GuC, one migration, recovery by polling.
    #[cfg(not(feature = "baseline"))]
    {
        let code = migration_roundtrip();
        if code != 0 {
            return code;
        }
        let code = bar::static_vf_over_mmio_bar();
        if code != 0 {
            return code;
        }
    }

    0
}

// ---------------------------------------------------------------------------------------------
// The crate in use: 2 GTs (primary + media) on mock GuCs in statics, a `static` VF, bootstrap,
// one migration, recovery through a `PollingQueue` polled from this (only) thread.
// ---------------------------------------------------------------------------------------------

#[cfg(not(feature = "baseline"))]
mod vf {
    use xe_sriov_vf::gt::{GpuKind, GraphicsIp, Gt, GtInfo};
    use xe_sriov_vf::mailbox::MailboxConfig;
    use xe_sriov_vf::mock::{MockGuc, MockMemirqPage, Provisioning, VfState};
    use xe_sriov_vf::wire::regs::GtKind;
    use xe_sriov_vf::wire::Version;
    use xe_sriov_vf::{GtId, GtSet, Memirq, NoHooks, PassOutcome, PollingQueue, RecoveryConfig, Vf};

    const ABI: Version = Version::new(1, 27);
    static GUCS: [MockGuc; 2] = [
        MockGuc::new(GtKind::Primary, ABI, Provisioning::integrated()),
        MockGuc::new(GtKind::Media, ABI, Provisioning::integrated()),
    ];
    const NEW_GGTT_START: u64 = 0x0040_0000;
    /// The tile's memirq page (the GuCs raise SW_INT_0 in it), at GGTT 0x100000.
    static PAGE: MockMemirqPage = MockMemirqPage::new();
    const PAGE_GGTT: u64 = 0x0010_0000;

    /// Lunar Lake (integrated, graphics IP 20.04): a primary and a media GT.
    const LNL: GraphicsIp = GraphicsIp::new(20, 4);

    /// The VF in a `static`, built by the `const` `Vf::new_static`: no `Once`, no allocation.
    static VF: Vf<&'static MockGuc, NoHooks, PollingQueue, 2, Memirq<&'static MockMemirqPage>> =
        Vf::new_static(
            [
                Gt::new(&GUCS[0], GtInfo::of(GtKind::Primary, GpuKind::Integrated, LNL), MailboxConfig::DEFAULT),
                Gt::new(&GUCS[1], GtInfo::of(GtKind::Media, GpuKind::Integrated, LNL), MailboxConfig::DEFAULT),
            ],
            NoHooks,
            PollingQueue::new(),
            RecoveryConfig::DEFAULT,
            Memirq::new(&PAGE, PAGE_GGTT, GtId(0), Some(GtId(1))),
        );

    /// Returns 0 on success, else the failed check's code (10 and up).
    #[inline(never)]
    pub fn migration_roundtrip() -> i32 {
        for guc in &GUCS {
            guc.attach_memirq(&PAGE, PAGE_GGTT);
        }
        let vf = &VF;
        if vf.bootstrap().is_err() || vf.register_memirq().is_err() {
            return 11;
        }
        vf.memirq().enable();
        if GUCS.iter().any(|g| g.state() != VfState::Running) {
            return 12;
        }

        // The host migrates the VM: both GuCs write SW_INT_0 into the page; the tile's MSI
        // handler scans it and signals.
        for guc in &GUCS {
            guc.migrate(NEW_GGTT_START);
        }
        if vf.handle_memirq().sw_int0 != GtSet::all(2) {
            return 13;
        }
        if GUCS.iter().any(|g| g.state() != VfState::ResfixBlocked) || !vf.queue().is_pending() {
            return 13;
        }

        // Recovery by polling, bounded.
        let mut passes = 0;
        while vf.queue().take() {
            passes += 1;
            if passes > 4 {
                return 14;
            }
            if vf.run_worker() != PassOutcome::Recovered(GtSet::all(2)) {
                return 15;
            }
        }
        if passes != 1 {
            return 16;
        }

        // Both GTs VF_RUNNING, on the new GGTT base, GGTT valid, nothing wedged.
        if GUCS.iter().any(|g| g.state() != VfState::Running || g.last_migration_done_count() != 1) {
            return 17;
        }
        for gt in 0..2u8 {
            let start = vf.gt_view(GtId(gt)).and_then(|v| v.config).map(|c| c.ggtt_start);
            if start != Some(NEW_GGTT_START) || !vf.ggtt_valid(GtId(gt)) {
                return 18;
            }
        }
        if vf.is_wedged() || vf.stats().migrations_signalled != 2 || vf.stats().completed != 1 {
            return 19;
        }
        0
    }
}

#[cfg(not(feature = "baseline"))]
use vf::migration_roundtrip;

// ---------------------------------------------------------------------------------------------
// A VF over the real-hardware `Device`, `MmioBar`, in a `static`, as a kernel without `Once`
// would have it: BAR 0 lives at a virtual address fixed when the program is built (a window the
// kernel reserves for it), `MmioBar::from_raw_parts` and `Vf::new_static` build everything
// when the program is compiled, and the "probe" maps the window at run time before the first
// register access. No GuC answers this memory: bootstrap must end in the typed mailbox
// timeout, in bounded (virtual) time, with VF_RESET written through the BAR.
// ---------------------------------------------------------------------------------------------

#[cfg(not(feature = "baseline"))]
mod bar {
    use core::ptr::NonNull;
    use core::sync::atomic::{AtomicU64, Ordering};

    use xe_sriov_vf::device::{Clock, Device, Instant};
    use xe_sriov_vf::gt::{GpuKind, GraphicsIp, Gt, GtInfo, VfError, VF_RESET_ATTEMPTS};
    use xe_sriov_vf::mailbox::{MailboxConfig, MailboxError};
    use xe_sriov_vf::mmio::MmioBar;
    use xe_sriov_vf::recovery::BootstrapError;
    use xe_sriov_vf::wire::action::code;
    use xe_sriov_vf::wire::regs::GtKind;
    use xe_sriov_vf::{GtId, NoHooks, NoMemirq, PollingQueue, RecoveryConfig, Vf};

    /// The window this "kernel" reserves for BAR 0 (64 TiB: far from the program, its stack and
    /// the kernel's own mmap area), and its length (a VF's BAR 0 is 16 MiB).
    const BAR0_VA: usize = 0x4000_0000_0000;
    const BAR0_LEN: usize = 16 << 20;

    /// A virtual clock: 1 µs per poll.
    struct VirtualClock(AtomicU64);

    impl Clock for VirtualClock {
        fn now(&self) -> Instant {
            Instant(self.0.load(Ordering::Relaxed))
        }
        fn relax(&self) {
            self.0.fetch_add(1_000, Ordering::Relaxed);
        }
    }

    static CLOCK: VirtualClock = VirtualClock(AtomicU64::new(0));

    /// BAR 0, built when the program is compiled. The address is the window's, fixed at build
    /// time: an integer cast to a pointer, as for any MMIO at a fixed address (memory the
    /// program's own allocations never cover).
    // SAFETY: `BAR0_VA..BAR0_VA + BAR0_LEN` is reserved for BAR 0 in this program; `map_bar0`
    // maps it (readable, writable) before the first register access, it is never unmapped, and
    // no Rust reference ever covers it.
    static BAR: MmioBar<&VirtualClock> = unsafe {
        MmioBar::from_raw_parts(
            NonNull::new(BAR0_VA as *mut u8).unwrap(),
            BAR0_LEN,
            &CLOCK,
        )
    };

    /// The VF over it, a `static` too: its interrupt handler would need no "initialised yet?"
    /// branch. Lunar Lake's primary GT (integrated, graphics IP 20.04).
    static VF: Vf<&'static MmioBar<&'static VirtualClock>, NoHooks, PollingQueue, 1> =
        Vf::new_static(
            [Gt::new(
                &BAR,
                GtInfo::of(GtKind::Primary, GpuKind::Integrated, GraphicsIp::new(20, 4)),
                MailboxConfig::DEFAULT,
            )],
            NoHooks,
            PollingQueue::new(),
            RecoveryConfig::DEFAULT,
            NoMemirq,
        );

    /// The probe's mapping of the window: fresh zeroed memory here (`mmap`, anonymous, at the
    /// fixed address, refusing to replace anything already mapped there).
    fn map_bar0() -> bool {
        const SYS_MMAP: usize = 9;
        const PROT_READ_WRITE: usize = 0x1 | 0x2;
        const MAP_PRIVATE_ANONYMOUS_FIXED_NOREPLACE: usize = 0x02 | 0x20 | 0x10_0000;
        let ret: usize;
        // SAFETY: Linux x86_64 `mmap` (rax = 9) of fresh anonymous memory at `BAR0_VA`; with
        // MAP_FIXED_NOREPLACE it fails instead of replacing a mapping, so no memory the program
        // uses is touched. The syscall clobbers rcx and r11 only.
        unsafe {
            core::arch::asm!(
                "syscall",
                inlateout("rax") SYS_MMAP => ret,
                in("rdi") BAR0_VA,
                in("rsi") BAR0_LEN,
                in("rdx") PROT_READ_WRITE,
                in("r10") MAP_PRIVATE_ANONYMOUS_FIXED_NOREPLACE,
                in("r8") usize::MAX, // fd -1
                in("r9") 0usize,
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack)
            );
        }
        ret == BAR0_VA
    }

    /// Returns 0 on success, else the failed check's code (20 and up).
    #[inline(never)]
    pub fn static_vf_over_mmio_bar() -> i32 {
        if !map_bar0() {
            return 20;
        }
        if BAR.validate().is_err() {
            return 21;
        }
        let start = CLOCK.now();
        match VF.bootstrap() {
            Err(BootstrapError::Gt {
                gt: GtId(0),
                error: VfError::Mailbox(MailboxError::Timeout { .. }),
            }) => {}
            _ => return 22,
        }
        // VF_RESET went through `MmioBar` into the window: the mailbox's first scratch register
        // (VF_SW_FLAG(0)) holds the request (a host request: the action in bits 15:0).
        let scratch0 = BAR.read32(GtKind::Primary.mailbox().scratch(0));
        if scratch0 != u32::from(code::VF_RESET) {
            return 23;
        }
        // Bounded: VF_RESET_ATTEMPTS sends of 50 ms each, a little polling slack on top.
        let ms = CLOCK.now().nanos_since(start) / 1_000_000;
        let bound = u64::from(VF_RESET_ATTEMPTS) * 50;
        if ms < 50 || ms > bound + bound / 10 {
            return 24;
        }
        0
    }
}

// ---------------------------------------------------------------------------------------------
// Process entry and exit.
// ---------------------------------------------------------------------------------------------

fn exit(code: i32) -> ! {
    // SAFETY: Linux x86_64 `exit` syscall (rax = 60, rdi = status). It never returns, which is
    // what `options(noreturn)` promises; no memory is read or written by the asm itself.
    unsafe {
        core::arch::asm!(
            "syscall",
            in("rax") 60usize,
            in("rdi") code as isize,
            options(noreturn, nostack)
        )
    }
}

/// ELF entry point (no crt0: the kernel jumps here with rsp 16-byte aligned at the argc slot).
/// Rust code runs fine from here: `extern "C"` functions expect rsp ≡ 8 (mod 16) on entry, and
/// the call below establishes that, because this function's own frame is set up by the compiler
/// assuming it was *called*. To be exact about it, realign the stack in a naked trampoline.
#[unsafe(naked)]
#[no_mangle]
pub extern "C" fn _start() -> ! {
    core::arch::naked_asm!(
        "xor ebp, ebp",  // mark the outermost frame for debuggers
        "and rsp, -16",  // ABI alignment before a call
        "call {main}",
        "ud2",
        main = sym proof_main,
    )
}

extern "C" fn proof_main() -> ! {
    let regs = RegFile::new();
    exit(exercise(&regs))
}

#[panic_handler]
fn panic(_info: &PanicInfo<'_>) -> ! {
    exit(101)
}

// The mem* functions LLVM may emit calls to and the `rust_eh_personality` stub, shared with the
// QEMU guest (guests/qemu-x86_64 includes this same file).
mod mem;
