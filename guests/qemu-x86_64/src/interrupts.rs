//! TSS, IDT, interrupt stubs and the Rust dispatcher.
//!
//! # Why every vector runs on an IST stack (the red zone)
//!
//! This guest is built for the host target, x86_64-unknown-linux-gnu, whose ABI has a 128-byte
//! red zone: leaf code may keep data *below* `rsp` without moving `rsp`. On stable Rust the red
//! zone cannot be turned off for this target (`-Z no-red-zone` is nightly-only; `red-zone` is not
//! a `-C target-feature`; `disable-redzone` is a target-spec field, which needs a custom target
//! and therefore build-std/nightly). A ring-0 interrupt taken on the current stack pushes its
//! frame at `rsp - 8 ..`, right over that data. So every IDT entry here names an Interrupt Stack
//! Table slot: the CPU then switches to a fixed stack from the TSS before pushing anything, and
//! the interrupted code's red zone is never touched. `kmain` checks this with a canary in the red
//! zone while the APIC timer interrupt arrives (see [`redzone_survives_timer_irq`]).
//!
//! Consequences of IST: an IST stack is reused from its top on every entry, so a vector must not
//! nest with itself or with another vector on the same IST. Interrupt gates clear IF, and the
//! handlers here never re-enable interrupts nor raise `int` themselves, so IST1 (all interrupts)
//! cannot nest. Exceptions use IST2; an exception inside the exception handler would reuse IST2,
//! but every exception is fatal here (report + QEMU exit).
//!
//! # The stubs
//!
//! Handlers are assembly stubs (the `x86-interrupt` ABI is nightly-only). Each pushes a dummy
//! error code if the CPU did not, then its vector, then jumps to a common stub that saves the
//! caller-saved registers and the SSE state (`fxsave`: Rust code on this target uses `xmm`
//! registers freely), clears DF, aligns the stack and calls [`xe_interrupt_dispatch`] with a
//! pointer to the saved [`InterruptFrame`]. The dispatcher is plain Rust.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use crate::boot::{KERNEL_CS, TSS_SEL};

/// First of the "device" vectors that stand in for a tile's MSI (raised by its GuCs after they
/// wrote into the tile's memirq page), one per tile: `SW_INT_BASE + tile` for `tile` in
/// `0..SW_INT_LINES`. Raised with `int` by [`raise_sw_int`].
pub const SW_INT_BASE: u8 = 0x40;
/// Number of software-interrupt lines (tiles) wired up.
pub const SW_INT_LINES: u8 = 4;
/// Local APIC timer vector.
pub const TIMER_VECTOR: u8 = 0x50;
/// A device's MSI / MSI-X vector (the live mode's ivshmem-doorbell).
pub const MSI_VECTOR: u8 = 0x60;
/// Local APIC spurious-interrupt vector (no EOI for it).
pub const SPURIOUS_VECTOR: u8 = 0xFF;

/// IST slot (1-based, as in the IDT) for interrupts, and for exceptions.
const IST_IRQ: u8 = 1;
const IST_EXC: u8 = 2;

/// Counts of handled interrupts, for kmain's checks and the summary.
pub static SW_INT_COUNT: AtomicU32 = AtomicU32::new(0);
/// Number of APIC timer interrupts handled.
pub static TIMER_COUNT: AtomicU32 = AtomicU32::new(0);
/// Number of device MSIs handled.
pub static MSI_COUNT: AtomicU32 = AtomicU32::new(0);
/// Number of spurious APIC interrupts seen.
pub static SPURIOUS_COUNT: AtomicU32 = AtomicU32::new(0);

/// Set while the dispatcher runs on IST1 (see [`raise_sw_int`]).
static IN_IRQ: AtomicBool = AtomicBool::new(false);

/// Where an interrupt came from, as passed to the [`IrqTarget`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrqSource {
    /// Software-interrupt line `n` (`int SW_INT_BASE + n`): the stand-in for tile `n`'s MSI.
    SwInt(u8),
    /// The local APIC one-shot timer.
    ApicTimer,
    /// A device's MSI (vector [`MSI_VECTOR`]).
    Msi,
}

/// What the interrupt handler calls into, in interrupt context (IF = 0, on the IST1 stack).
///
/// Implementations must be wait-free and must not print in a way that can deadlock (the serial
/// port here has no lock, so printing is allowed but slow). The coordinator's `signal(...)`
/// belongs here.
pub trait IrqTarget: Sync {
    /// Handles one interrupt.
    fn on_interrupt(&self, source: IrqSource);
}

/// The interrupt handler's `&'static` link to the rest of the guest. Set once from `kmain`
/// (before interrupts are raised) with `IRQ_TARGET.call_once(|| &THING)`; the handler reads it with
/// `get()`, a single acquire load. `Coordinator::new` need not be `const`: put the coordinator in
/// its own `spin::Once` (or a `static` if it is const-constructible) and register a `&'static`.
pub static IRQ_TARGET: spin::Once<&'static dyn IrqTarget> = spin::Once::new();

/// The registers saved by the stubs plus the CPU's interrupt frame, lowest address first.
#[repr(C)]
#[derive(Debug)]
pub struct InterruptFrame {
    pub rbp: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rax: u64,
    pub vector: u64,
    pub error_code: u64,
    // Pushed by the CPU:
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

core::arch::global_asm!(
    r#"
    .macro XE_ISR vec, has_err
    .section .text.xe_isr, "ax"
    .balign 16
xe_isr_\vec:
    .if \has_err == 0
    pushq $0
    .endif
    pushq $\vec
    jmp xe_isr_common
    .pushsection .rodata.xe_isr_table, "a"
    .quad \vec, xe_isr_\vec
    .popsection
    .endm

    .section .rodata.xe_isr_table, "a"
    .balign 8
    .global XE_ISR_TABLE
XE_ISR_TABLE:

    /* CPU exceptions (with-error-code: 8, 10-14, 17, 21, 29, 30). */
    .irp v, 0,1,2,3,4,5,6,7,9,15,16,18,19,20,22,23,24,25,26,27,28,31
    XE_ISR \v, 0
    .endr
    .irp v, 8,10,11,12,13,14,17,21,29,30
    XE_ISR \v, 1
    .endr
    /* Software-interrupt lines 0x40..0x43, APIC timer 0x50, device MSI 0x60, APIC spurious 0xFF. */
    .irp v, 64,65,66,67,80,96,255
    XE_ISR \v, 0
    .endr

    .section .rodata.xe_isr_table, "a"
    .global XE_ISR_TABLE_END
XE_ISR_TABLE_END:

    .section .text.xe_isr, "ax"
    .balign 16
xe_isr_common:
    pushq %rax
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %rbp
    movq %rsp, %rbp           /* rbp = &InterruptFrame (callee-saved across the call) */
    cld                        /* the SysV ABI requires DF = 0 at calls */
    andq $-16, %rsp
    subq $512, %rsp
    fxsave64 (%rsp)            /* xmm0-15, mxcsr, x87: caller-saved in the SysV ABI */
    movq %rbp, %rdi
    call xe_interrupt_dispatch
    fxrstor64 (%rsp)
    movq %rbp, %rsp
    popq %rbp
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rax
    addq $16, %rsp             /* vector + error code */
    iretq
    "#,
    options(att_syntax)
);

#[repr(C)]
struct IsrEntry {
    vector: u64,
    stub: u64,
}

extern "C" {
    static XE_ISR_TABLE: IsrEntry;
    static XE_ISR_TABLE_END: IsrEntry;
    static mut XE_GUEST_GDT: [u64; 5];
}

/// A `Sync` cell for boot-time tables that are written once on the boot CPU before use.
struct BootCell<T>(UnsafeCell<T>);
// SAFETY: the guest has one CPU; the tables are written only by `init`, before the CPU uses them
// (lidt/ltr) and before any interrupt can be taken, and never after.
unsafe impl<T> Sync for BootCell<T> {}

#[derive(Clone, Copy)]
#[repr(C)]
struct IdtEntry {
    offset_lo: u16,
    selector: u16,
    ist: u8,
    type_attr: u8,
    offset_mid: u16,
    offset_hi: u32,
    reserved: u32,
}

impl IdtEntry {
    const MISSING: IdtEntry =
        IdtEntry { offset_lo: 0, selector: 0, ist: 0, type_attr: 0, offset_mid: 0, offset_hi: 0, reserved: 0 };

    fn interrupt_gate(handler: u64, ist: u8) -> IdtEntry {
        IdtEntry {
            offset_lo: handler as u16,
            selector: KERNEL_CS,
            ist,
            type_attr: 0x8E, // present, DPL 0, 64-bit interrupt gate (clears IF)
            offset_mid: (handler >> 16) as u16,
            offset_hi: (handler >> 32) as u32,
            reserved: 0,
        }
    }
}

/// The 64-bit TSS (only the IST slots are used; no ring 3, no I/O bitmap).
#[repr(C, packed(4))]
struct Tss {
    reserved0: u32,
    rsp: [u64; 3],
    reserved1: u64,
    ist: [u64; 7],
    reserved2: u64,
    reserved3: u16,
    iomap_base: u16,
}

static IDT: BootCell<[IdtEntry; 256]> = BootCell(UnsafeCell::new([IdtEntry::MISSING; 256]));
static TSS: BootCell<Tss> = BootCell(UnsafeCell::new(Tss {
    reserved0: 0,
    rsp: [0; 3],
    reserved1: 0,
    ist: [0; 7],
    reserved2: 0,
    reserved3: 0,
    iomap_base: core::mem::size_of::<Tss>() as u16, // no I/O bitmap
}));

#[repr(C, packed(2))]
struct DescriptorTablePointer {
    limit: u16,
    base: u64,
}

/// Sets up the TSS (IST stacks), the TSS descriptor in the GDT and the IDT, and loads them.
/// Call once, with interrupts disabled, before raising or enabling any interrupt.
pub fn init() {
    let tss_addr = TSS.0.get() as u64;

    // SAFETY: single CPU, IF = 0, called once before any interrupt: nothing else accesses the
    // TSS, the IDT or the GDT's TSS slots while we write them (see `BootCell`).
    unsafe {
        let tss = &mut *TSS.0.get();
        tss.ist[(IST_IRQ - 1) as usize] = crate::sym_addr!(XE_GUEST_IST1_TOP) as u64;
        tss.ist[(IST_EXC - 1) as usize] = crate::sym_addr!(XE_GUEST_IST2_TOP) as u64;

        // 16-byte available 64-bit TSS descriptor at selector 0x18.
        let limit = (core::mem::size_of::<Tss>() - 1) as u64;
        let low = (limit & 0xFFFF)
            | ((tss_addr & 0xFF_FFFF) << 16)
            | (0x89 << 40) // present, DPL 0, type 9 = available 64-bit TSS
            | (((limit >> 16) & 0xF) << 48)
            | (((tss_addr >> 24) & 0xFF) << 56);
        let high = tss_addr >> 32;
        let gdt = core::ptr::addr_of_mut!(XE_GUEST_GDT);
        (*gdt)[(TSS_SEL / 8) as usize] = low;
        (*gdt)[(TSS_SEL / 8) as usize + 1] = high;

        let idt = &mut *IDT.0.get();
        let mut entry = core::ptr::addr_of!(XE_ISR_TABLE);
        let end = core::ptr::addr_of!(XE_ISR_TABLE_END);
        while entry < end {
            let e = &*entry;
            let ist = if e.vector < 32 { IST_EXC } else { IST_IRQ };
            idt[e.vector as usize] = IdtEntry::interrupt_gate(e.stub, ist);
            entry = entry.add(1);
        }
    }

    let idtr = DescriptorTablePointer {
        limit: (core::mem::size_of::<[IdtEntry; 256]>() - 1) as u16,
        base: IDT.0.get() as u64,
    };
    // SAFETY: `idtr` describes the fully initialised, 'static IDT whose gates point at the stubs
    // above; TSS_SEL names the valid, not-yet-busy TSS descriptor written above, whose IST slots
    // point at the tops of the static IST stacks. Neither instruction touches the Rust stack
    // beyond reading `idtr`.
    unsafe {
        core::arch::asm!("lidt [{}]", in(reg) &idtr, options(readonly, nostack, preserves_flags));
        core::arch::asm!("ltr {0:x}", in(reg) TSS_SEL, options(nomem, nostack, preserves_flags));
    }
}

/// Masks every line of both legacy 8259 PICs (after the BIOS, IRQ0 = the PIT would arrive on
/// vector 8, the #DF vector).
pub fn mask_legacy_pic() {
    // SAFETY: ports 0x21/0xA1 are the 8259 interrupt-mask registers; setting all bits only stops
    // legacy IRQ delivery.
    unsafe {
        crate::port::outb(0x21, 0xFF);
        crate::port::outb(0xA1, 0xFF);
    }
}

/// Enables maskable interrupts.
pub fn enable() {
    // SAFETY: the IDT and TSS are loaded (`init`) before this is called, so any interrupt that
    // arrives is handled on its IST stack.
    unsafe { core::arch::asm!("sti", options(nomem, nostack)) }
}

/// Disables maskable interrupts.
pub fn disable() {
    // SAFETY: clearing IF has no memory effects.
    unsafe { core::arch::asm!("cli", options(nomem, nostack)) }
}

/// Runs `f` with maskable interrupts disabled, then restores the previous IF: the single-CPU
/// `spin_lock_irqsave`. Everything the interrupt handler may lock (the mock GuC's internal lock,
/// the event log) is only ever locked from thread context inside this, so the handler can never
/// spin on a lock held by the code it interrupted.
pub fn without_interrupts<R>(f: impl FnOnce() -> R) -> R {
    let rflags: u64;
    // SAFETY: reads RFLAGS through the stack (push/pop, balanced) and clears IF. No `nomem`: the
    // compiler must not move memory accesses of `f` across the `cli`.
    unsafe { core::arch::asm!("pushfq", "pop {}", "cli", out(reg) rflags) };
    let result = f();
    if rflags & (1 << 9) != 0 {
        // SAFETY: IF was set on entry; re-enabling it restores the caller's state. No `nomem`,
        // as above.
        unsafe { core::arch::asm!("sti", options(nostack)) };
    }
    result
}

/// Enables interrupts and halts until the next one, then disables them again. `sti` delays
/// interrupts by one instruction, so an interrupt pending at the `sti` wakes the `hlt` instead
/// of being taken before it (no lost wake-up).
pub fn enable_and_wait() {
    // SAFETY: the IDT/TSS are loaded (`init`), so the interrupt that ends the `hlt` is handled on
    // its IST stack; IF is 0 again afterwards. Memory may change in the handler: no `nomem`.
    unsafe { core::arch::asm!("sti", "hlt", "cli", options(nostack)) };
}

/// Raises software-interrupt line `line` (`int SW_INT_BASE + line`) synchronously: the handler
/// has run when this returns. Lines beyond [`SW_INT_LINES`] are ignored.
///
/// Must not be called from an [`IrqTarget`]: a nested `int` would restart IST1 from its top and
/// overwrite the running handler's frame. That is caught here and fails the run; from interrupt
/// context call the coordinator directly instead.
pub fn raise_sw_int(line: u8) {
    if IN_IRQ.load(Ordering::Relaxed) {
        crate::println!("FAIL: raise_sw_int({line}) from interrupt context (IST1 would be reused)");
        crate::qemu::fail();
    }
    // SAFETY: every vector here has an IDT gate (installed by `init`) whose stub saves and
    // restores all registers and flags it touches and runs on IST1, so the asm block is
    // transparent to the surrounding code apart from the handler's side effects on memory
    // (hence no `nomem`).
    unsafe {
        match line {
            0 => core::arch::asm!("int {v}", v = const SW_INT_BASE),
            1 => core::arch::asm!("int {v}", v = const SW_INT_BASE + 1),
            2 => core::arch::asm!("int {v}", v = const SW_INT_BASE + 2),
            3 => core::arch::asm!("int {v}", v = const SW_INT_BASE + 3),
            _ => {}
        }
    }
}

/// Called by `xe_isr_common` on IST1/IST2 with IF = 0.
#[no_mangle]
extern "C" fn xe_interrupt_dispatch(frame: &mut InterruptFrame) {
    let vector = frame.vector as u8;
    if vector < 32 {
        exception(frame);
    }
    IN_IRQ.store(true, Ordering::Relaxed);
    match vector {
        v if (SW_INT_BASE..SW_INT_BASE + SW_INT_LINES).contains(&v) => {
            SW_INT_COUNT.fetch_add(1, Ordering::Relaxed);
            if let Some(target) = IRQ_TARGET.get() {
                target.on_interrupt(IrqSource::SwInt(v - SW_INT_BASE));
            }
        }
        TIMER_VECTOR => {
            TIMER_COUNT.fetch_add(1, Ordering::Relaxed);
            if let Some(target) = IRQ_TARGET.get() {
                target.on_interrupt(IrqSource::ApicTimer);
            }
            crate::apic::eoi();
        }
        MSI_VECTOR => {
            MSI_COUNT.fetch_add(1, Ordering::Relaxed);
            if let Some(target) = IRQ_TARGET.get() {
                target.on_interrupt(IrqSource::Msi);
            }
            crate::apic::eoi();
        }
        SPURIOUS_VECTOR => {
            SPURIOUS_COUNT.fetch_add(1, Ordering::Relaxed);
        }
        _ => {
            crate::println!("FAIL: unexpected interrupt vector {:#x}", vector);
            crate::qemu::fail();
        }
    }
    IN_IRQ.store(false, Ordering::Relaxed);
}

fn exception(frame: &InterruptFrame) -> ! {
    let cr2: u64;
    // SAFETY: reading CR2 has no side effects.
    unsafe { core::arch::asm!("mov {}, cr2", out(reg) cr2, options(nomem, nostack, preserves_flags)) };
    crate::println!(
        "FAIL: exception {} err={:#x} rip={:#x} cs={:#x} rflags={:#x} rsp={:#x} cr2={:#x}",
        frame.vector,
        frame.error_code,
        frame.rip,
        frame.cs,
        frame.rflags,
        frame.rsp,
        cr2
    );
    crate::qemu::fail()
}

/// Proves that an asynchronous interrupt does not clobber the red zone of the code it
/// interrupts: fills the 128 bytes below `rsp` with a canary, enables interrupts and spins
/// (entirely inside one asm block, so the compiler keeps nothing of its own there) until
/// [`TIMER_COUNT`] moves past `seen` or the spin budget runs out, then checks the canary.
///
/// Returns `(interrupt_arrived, canary_intact)`. Leaves interrupts disabled.
pub fn redzone_survives_timer_irq(seen: u32, spins: u64) -> (bool, bool) {
    let arrived: u64;
    let intact: u64;
    // SAFETY: the asm writes only to [rsp-128, rsp), which a non-`nostack` asm block may use
    // (Rust guarantees nothing live is kept there across it), reads TIMER_COUNT through a valid
    // pointer, and restores IF to 0. The IDT/TSS are loaded (callers run after `init`).
    unsafe {
        core::arch::asm!(
            // Fill the red zone with the canary.
            "mov {i:e}, 16",
            "2:",
            "mov qword ptr [rsp + {i} * 8 - 136], {canary}",
            "dec {i}",
            "jnz 2b",
            "sti",
            // Spin until the counter changes (or the budget runs out).
            "3:",
            "cmp dword ptr [{counter}], {seen:e}",
            "jne 4f",
            "pause",
            "dec {budget}",
            "jnz 3b",
            "4:",
            "cli",
            "xor {arrived:e}, {arrived:e}",
            "cmp dword ptr [{counter}], {seen:e}",
            "setne {arrived:l}",
            // Check the canary.
            "mov {i:e}, 16",
            "mov {intact:e}, 1",
            "5:",
            "cmp qword ptr [rsp + {i} * 8 - 136], {canary}",
            "je 6f",
            "xor {intact:e}, {intact:e}",
            "6:",
            "dec {i}",
            "jnz 5b",
            i = out(reg) _,
            canary = in(reg) 0xC0DE_CAFE_F00D_BEEFu64,
            counter = in(reg) TIMER_COUNT.as_ptr(),
            seen = in(reg) seen as u64,
            budget = inout(reg) spins => _,
            arrived = out(reg) arrived,
            intact = out(reg) intact,
        );
    }
    (arrived != 0, intact != 0)
}
