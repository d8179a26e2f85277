//! Stack watermarks: the trampoline paints every stack with [`STACK_PAINT`] before first use;
//! the lowest painted word that has been overwritten is the deepest the stack ever reached.

use crate::boot::STACK_PAINT;

/// Peak usage of one painted stack.
#[derive(Clone, Copy, Debug)]
pub struct Watermark {
    /// Bytes between the top of the stack and the deepest overwritten word.
    pub used: usize,
    /// Total size of the stack.
    pub size: usize,
}

/// Scans the painted stack `[bottom, top)` from the bottom up for the first word that no longer
/// holds the paint pattern.
pub fn watermark(bottom: usize, top: usize) -> Watermark {
    let size = top - bottom;
    let mut addr = bottom;
    while addr < top {
        // SAFETY: `[bottom, top)` is one of the image's stacks (4-byte aligned, identity-mapped,
        // always readable). A volatile read, because the compiler cannot see the other users of
        // that memory (the CPU pushing interrupt frames, the assembly stubs).
        let word = unsafe { core::ptr::read_volatile(addr as *const u32) };
        if word != STACK_PAINT {
            break;
        }
        addr += 4;
    }
    Watermark { used: top - addr, size }
}

/// Watermark of the boot (kmain) stack.
pub fn boot_stack() -> Watermark {
    watermark(crate::sym_addr!(XE_GUEST_STACK_BOTTOM), crate::sym_addr!(XE_GUEST_STACK_TOP))
}

/// Watermark of IST1 (the interrupt stack).
pub fn irq_stack() -> Watermark {
    watermark(crate::sym_addr!(XE_GUEST_IST1_BOTTOM), crate::sym_addr!(XE_GUEST_IST1_TOP))
}

/// Watermark of IST2 (the exception stack).
pub fn exception_stack() -> Watermark {
    watermark(crate::sym_addr!(XE_GUEST_IST2_BOTTOM), crate::sym_addr!(XE_GUEST_IST2_TOP))
}

/// Paints `[bottom, top)` again, so that a later [`watermark`] measures only what runs after
/// this call. The stack must not be in use (an IST stack while interrupts are disabled).
pub fn repaint(bottom: usize, top: usize) {
    let mut addr = bottom;
    while addr < top {
        // SAFETY: `[bottom, top)` is one of the image's stacks, unused while we paint it
        // (caller's contract); 4-byte aligned, identity-mapped, writable.
        unsafe { core::ptr::write_volatile(addr as *mut u32, STACK_PAINT) };
        addr += 4;
    }
}

/// The current stack pointer (inlined: the caller's).
#[inline(always)]
pub fn current_sp() -> usize {
    let sp: usize;
    // SAFETY: reads `rsp` only.
    unsafe { core::arch::asm!("mov {}, rsp", out(reg) sp, options(nomem, nostack, preserves_flags)) };
    sp
}

/// Paints the unused part of the boot stack below `sp` (the caller's [`current_sp`]), leaving a
/// 256-byte margin for this function's own frame, so that the depth a later [`boot_stack`]
/// watermark reaches below `sp` is what the caller ran after this call.
#[inline(never)]
pub fn repaint_boot_stack_below(sp: usize) {
    repaint(crate::sym_addr!(XE_GUEST_STACK_BOTTOM), (sp - 256) & !3);
}

/// Repaints IST1 (call with interrupts disabled, outside interrupt context).
pub fn repaint_irq_stack() {
    repaint(crate::sym_addr!(XE_GUEST_IST1_BOTTOM), crate::sym_addr!(XE_GUEST_IST1_TOP));
}
