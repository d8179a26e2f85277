//! Internal logging shim (`#[macro_use]`, so every later module calls `debug!(...)` etc.
//! without an import): every log line of the crate goes through these macros, which forward to
//! `defmt` (feature `defmt`), to the `log` facade (feature `log`), or to nothing.
//!
//! With neither backend the arguments are still type-checked (inside a closure that is never
//! called), so a log line cannot rot, and nothing is evaluated at run time.
#![allow(unused_macros)]

// Clippy is exempt so that `cargo clippy --all-features` can lint both backends in one run;
// every real build with both still fails here.
#[cfg(all(feature = "defmt", feature = "log", not(clippy)))]
compile_error!("features `defmt` and `log` are mutually exclusive: pick one logging backend");

macro_rules! vf_log {
    ($level:ident, $($arg:tt)+) => {{
        #[cfg(feature = "defmt")]
        ::defmt::$level!($($arg)+);
        #[cfg(feature = "log")]
        ::log::$level!($($arg)+);
        #[cfg(not(any(feature = "defmt", feature = "log")))]
        {
            let _ = || {
                let _ = ::core::format_args!($($arg)+);
            };
        }
    }};
}

macro_rules! trace { ($($arg:tt)+) => { vf_log!(trace, $($arg)+) }; }
macro_rules! debug { ($($arg:tt)+) => { vf_log!(debug, $($arg)+) }; }
macro_rules! info { ($($arg:tt)+) => { vf_log!(info, $($arg)+) }; }
macro_rules! warn { ($($arg:tt)+) => { vf_log!(warn, $($arg)+) }; }
macro_rules! error { ($($arg:tt)+) => { vf_log!(error, $($arg)+) }; }

/// A number that `Debug` prints in hex (`0x1000`), as the error types' `Display` does: their
/// hand-written `Debug` impls wrap addresses, register values and hints in it.
pub(crate) struct Hex<T>(pub(crate) T);

impl<T: core::fmt::LowerHex> core::fmt::Debug for Hex<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}
