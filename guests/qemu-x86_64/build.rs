//! Link flags for the freestanding guest. `rustc-link-arg-bins` applies to this crate's binary
//! only (never to build scripts or dependencies), so no RUSTFLAGS are needed and a plain
//! `cargo build --release` links the same ELF that run.sh boots.
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR");
    let script = format!("{dir}/link.ld");
    println!("cargo:rerun-if-changed=link.ld");
    println!("cargo:rerun-if-changed=build.rs");
    // Our linker script (load address 1 MiB, section symbols for the size report).
    println!("cargo:rustc-link-arg-bins=-T{script}");
    // No crt0/crti, no libc/libgcc, no dynamic loader.
    println!("cargo:rustc-link-arg-bins=-nostartfiles");
    println!("cargo:rustc-link-arg-bins=-nostdlib");
    println!("cargo:rustc-link-arg-bins=-static");
    // The host target defaults to PIE; the 32-bit trampoline needs absolute addresses
    // (R_X86_64_32), which a PIE link rejects. The last of -pie/-no-pie wins in the cc driver.
    println!("cargo:rustc-link-arg-bins=-no-pie");
    // No .note.gnu.build-id section in the image.
    println!("cargo:rustc-link-arg-bins=-Wl,--build-id=none");
}
