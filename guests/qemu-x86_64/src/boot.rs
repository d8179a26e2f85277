//! PVH entry: the 32-bit trampoline from QEMU's `-kernel` into 64-bit Rust.
//!
//! QEMU loads an ELF64 kernel with `-kernel` only through the PVH boot protocol (its multiboot1
//! loader rejects ELF64: "Cannot load x86-64 image, give a 32bit one"). It jumps to the address in
//! the `XEN_ELFNOTE_PHYS32_ENTRY` note in 32-bit protected mode: paging off, flat CS/DS/ES,
//! interrupts off, `ebx` = physical address of the `hvm_start_info` block, no stack.
//!
//! The trampoline then:
//! 1. zeroes `.bss` and paints the stacks (`.stacks`) with [`STACK_PAINT`],
//! 2. builds identity-mapped page tables: 4 GiB in 2 MiB pages (the 4th GiB, with the local APIC
//!    and other MMIO, uncached),
//! 3. enables PAE, SSE (OSFXSR/OSXMMEXCPT: Rust code on the host target uses SSE2), long mode
//!    (EFER.LME) and paging, loads a GDT and far-jumps to 64-bit code,
//! 4. loads the data segments, sets `rsp` to the top of the 64 KiB boot stack and calls
//!    `kmain(start_info_paddr)`.

/// The 32-bit pattern the stacks are painted with before first use (see [`crate::stack`]).
pub const STACK_PAINT: u32 = 0x57AC_C0DE;

/// Size of the boot (kmain) stack.
pub const BOOT_STACK_SIZE: usize = 64 * 1024;
/// Size of each interrupt stack (IST1: interrupts, IST2: exceptions).
pub const IST_STACK_SIZE: usize = 16 * 1024;

/// GDT selectors (the layout is fixed in the assembly below).
pub const KERNEL_CS: u16 = 0x08;
/// Kernel data selector.
pub const KERNEL_DS: u16 = 0x10;
/// The 16-byte TSS descriptor, patched at run time by [`crate::interrupts::init`].
pub const TSS_SEL: u16 = 0x18;

core::arch::global_asm!(
    r#"
    /* ---- PVH ELF note (Xen "Physical entry point into the kernel", type 18) ----
     * descsz = 8 (a .quad): QEMU reads the descriptor of an ELF64 note as a 64-bit value. */
    .section .note.pvh, "a", @note
    .balign 4
    .long 4                 /* namesz */
    .long 8                 /* descsz */
    .long 18                /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .balign 4
    .quad _start32
    .balign 4

    /* ---- GDT: null, 64-bit code (0x08), data (0x10), 64-bit TSS (0x18, 16 bytes) ---- */
    .section .data.gdt, "aw"
    .balign 16
    .global XE_GUEST_GDT
XE_GUEST_GDT:
    .quad 0
    .quad 0x00AF9A000000FFFF  /* code: present, DPL0, exec/read, L=1 */
    .quad 0x00CF92000000FFFF  /* data: present, DPL0, read/write, 4 GiB */
    .quad 0                   /* TSS low  (patched by interrupts::init) */
    .quad 0                   /* TSS high */
XE_GUEST_GDT_END:
    .balign 8
    .global XE_GUEST_GDT_PTR
XE_GUEST_GDT_PTR:
    .word XE_GUEST_GDT_END - XE_GUEST_GDT - 1
    .quad XE_GUEST_GDT        /* lgdt in 32-bit mode reads the low 4 bytes only */

    /* ---- Boot scratch ---- */
    .section .bss.boot, "aw", @nobits
    .balign 8
    .global XE_GUEST_START_INFO
XE_GUEST_START_INFO:
    .skip 8

    /* ---- Page tables: PML4, PDPT, 4 page directories (4 GiB of 2 MiB pages) ---- */
    .section .bss.pagetables, "aw", @nobits
    .balign 4096
xe_pml4:
    .skip 4096
xe_pdpt:
    .skip 4096
xe_pd:
    .skip 4 * 4096

    /* ---- Stacks (painted, not zeroed): boot stack, IST1, IST2 ---- */
    .section .stacks, "aw", @nobits
    .balign 4096
    .global XE_GUEST_STACK_BOTTOM, XE_GUEST_STACK_TOP
XE_GUEST_STACK_BOTTOM:
    .skip {boot_stack}
XE_GUEST_STACK_TOP:
    .global XE_GUEST_IST1_BOTTOM, XE_GUEST_IST1_TOP
XE_GUEST_IST1_BOTTOM:
    .skip {ist_stack}
XE_GUEST_IST1_TOP:
    .global XE_GUEST_IST2_BOTTOM, XE_GUEST_IST2_TOP
XE_GUEST_IST2_BOTTOM:
    .skip {ist_stack}
XE_GUEST_IST2_TOP:

    /* ---- 32-bit entry ---- */
    .section .text.boot, "ax"
    .code32
    .global _start32
_start32:
    cli
    cld
    /* ebx (the start info pointer) is left untouched until it is saved below. */

    /* Zero .bss (page tables included). */
    movl $__bss_start, %edi
    movl $__bss_end, %ecx
    subl %edi, %ecx
    xorl %eax, %eax
    rep stosb
    movl %ebx, XE_GUEST_START_INFO

    /* Paint all stacks. */
    movl $__stacks_start, %edi
    movl $__stacks_end, %ecx
    subl %edi, %ecx
    shrl $2, %ecx
    movl ${paint}, %eax
    rep stosl

    /* PML4[0] -> PDPT */
    movl $xe_pdpt, %eax
    orl $0x3, %eax                  /* present | writable */
    movl %eax, xe_pml4

    /* PDPT[0..4] -> PD[0..4] */
    xorl %ecx, %ecx
1:
    movl %ecx, %eax
    shll $12, %eax
    addl $xe_pd, %eax
    orl $0x3, %eax
    movl %eax, xe_pdpt(,%ecx,8)
    incl %ecx
    cmpl $4, %ecx
    jb 1b

    /* PD entries: 2048 x 2 MiB, identity; entries for the 4th GiB get PCD|PWT (MMIO). */
    xorl %ecx, %ecx
2:
    movl %ecx, %eax
    shll $21, %eax
    orl $0x83, %eax                 /* present | writable | page size (2 MiB) */
    cmpl $1536, %ecx
    jb 3f
    orl $0x18, %eax                 /* PWT | PCD */
3:
    movl %eax, xe_pd(,%ecx,8)
    incl %ecx
    cmpl $2048, %ecx
    jb 2b

    /* CR4: PAE (5), OSFXSR (9), OSXMMEXCPT (10). */
    movl %cr4, %eax
    orl $((1 << 5) | (1 << 9) | (1 << 10)), %eax
    movl %eax, %cr4

    movl $xe_pml4, %eax
    movl %eax, %cr3

    /* EFER.LME */
    movl $0xC0000080, %ecx
    rdmsr
    orl $(1 << 8), %eax
    wrmsr

    /* CR0: PG (31), WP (16), NE (5), MP (1), PE (0); clear EM (2) and TS (3). */
    movl %cr0, %eax
    andl $~((1 << 2) | (1 << 3)), %eax
    orl $((1 << 31) | (1 << 16) | (1 << 5) | (1 << 1) | 1), %eax
    movl %eax, %cr0

    lgdt XE_GUEST_GDT_PTR
    ljmp ${cs}, $xe_start64

    .code64
xe_start64:
    movw ${ds}, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorl %eax, %eax
    movw %ax, %fs
    movw %ax, %gs

    movabsq $XE_GUEST_STACK_TOP, %rsp
    xorl %ebp, %ebp
    movl XE_GUEST_START_INFO, %edi
    /* rsp is 16-byte aligned here; the call pushes the return address as the ABI expects. */
    call kmain
4:
    cli
    hlt
    jmp 4b
    "#,
    boot_stack = const BOOT_STACK_SIZE,
    ist_stack = const IST_STACK_SIZE,
    paint = const STACK_PAINT,
    cs = const KERNEL_CS,
    ds = const KERNEL_DS,
    options(att_syntax)
);

extern "C" {
    /// Physical address of the PVH `hvm_start_info` (saved from `ebx`).
    pub static XE_GUEST_START_INFO: u64;
    pub static XE_GUEST_STACK_BOTTOM: u8;
    pub static XE_GUEST_STACK_TOP: u8;
    pub static XE_GUEST_IST1_BOTTOM: u8;
    pub static XE_GUEST_IST1_TOP: u8;
    pub static XE_GUEST_IST2_BOTTOM: u8;
    pub static XE_GUEST_IST2_TOP: u8;
    pub static __text_start: u8;
    pub static __text_end: u8;
    pub static __rodata_start: u8;
    pub static __rodata_end: u8;
    pub static __data_start: u8;
    pub static __data_end: u8;
    pub static __bss_start: u8;
    pub static __bss_end: u8;
    pub static __stacks_start: u8;
    pub static __stacks_end: u8;
    pub static __image_start: u8;
    pub static __image_end: u8;
}

/// Address of a linker- or assembly-defined symbol.
#[macro_export]
macro_rules! sym_addr {
    ($name:ident) => {
        // Taking the address of an extern static is safe; it is never read here.
        core::ptr::addr_of!($crate::boot::$name) as usize
    };
}

/// Sizes of the image's sections, from the linker script's symbols.
#[derive(Clone, Copy, Debug)]
pub struct ImageSizes {
    pub text: usize,
    pub rodata: usize,
    pub data: usize,
    /// `.bss` without the stacks.
    pub bss: usize,
    /// The painted stacks (boot + IST), also zero-initialised memory.
    pub stacks: usize,
    pub image: usize,
}

pub fn image_sizes() -> ImageSizes {
    ImageSizes {
        text: sym_addr!(__text_end) - sym_addr!(__text_start),
        rodata: sym_addr!(__rodata_end) - sym_addr!(__rodata_start),
        data: sym_addr!(__data_end) - sym_addr!(__data_start),
        bss: sym_addr!(__bss_end) - sym_addr!(__bss_start),
        stacks: sym_addr!(__stacks_end) - sym_addr!(__stacks_start),
        image: sym_addr!(__image_end) - sym_addr!(__image_start),
    }
}
