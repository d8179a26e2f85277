//! The C memory functions LLVM emits calls to (there is no libc). Byte loops; the crate-level
//! `#![no_builtins]` keeps LLVM from recognising the loops as memcpy/memset and calling
//! themselves. Plus the `rust_eh_personality` stub the prebuilt `core` references.

/// # Safety
/// C `memcpy`: `n` bytes valid at both, no overlap.
#[no_mangle]
pub unsafe extern "C" fn memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    let mut i = 0;
    while i < n {
        // SAFETY: the caller guarantees `src[..n]` readable and `dest[..n]` writable.
        unsafe { *dest.add(i) = *src.add(i) };
        i += 1;
    }
    dest
}

/// # Safety
/// C `memmove`: `n` bytes valid at both, overlap allowed.
#[no_mangle]
pub unsafe extern "C" fn memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if (dest as usize) <= (src as usize) {
        let mut i = 0;
        while i < n {
            // SAFETY: both ranges valid (caller); forward copy is correct when dest <= src.
            unsafe { *dest.add(i) = *src.add(i) };
            i += 1;
        }
    } else {
        let mut i = n;
        while i > 0 {
            i -= 1;
            // SAFETY: both ranges valid (caller); backward copy is correct when dest > src.
            unsafe { *dest.add(i) = *src.add(i) };
        }
    }
    dest
}

/// # Safety
/// C `memset`: `n` bytes writable at `s`.
#[no_mangle]
pub unsafe extern "C" fn memset(s: *mut u8, c: i32, n: usize) -> *mut u8 {
    let mut i = 0;
    while i < n {
        // SAFETY: the caller guarantees `s[..n]` writable.
        unsafe { *s.add(i) = c as u8 };
        i += 1;
    }
    s
}

/// # Safety
/// C `memcmp`: `n` bytes readable at both.
#[no_mangle]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    while i < n {
        // SAFETY: the caller guarantees `a[..n]` and `b[..n]` readable.
        let (x, y) = unsafe { (*a.add(i), *b.add(i)) };
        if x != y {
            return x as i32 - y as i32;
        }
        i += 1;
    }
    0
}

/// # Safety
/// `bcmp`: as `memcmp`, only zero / non-zero is meaningful.
#[no_mangle]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: same contract as memcmp.
    unsafe { memcmp(a, b, n) }
}

/// Referenced by the prebuilt `core` even with `panic = "abort"`; never called.
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}
