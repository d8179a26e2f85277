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
    // The defmt build: defmt's own linker script (written by defmt's build script, which puts
    // its directory on the link search path). It keeps the interned strings' section `.defmt`
    // as an `(INFO)` section, i.e. in the ELF for the host decoder but in no loaded segment, and
    // requires the global logger's symbols.
    if std::env::var_os("CARGO_FEATURE_DEFMT").is_some() {
        println!("cargo:rustc-link-arg-bins=-Tdefmt.x");
    }
}
