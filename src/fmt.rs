//! Internal logging shim (`#[macro_use]`, so every later module calls `debug!(...)` etc.
//! without an import): every log line of the crate goes through these macros, which forward to
//! `defmt` (feature `defmt`), to the `log` facade (feature `log`), or to nothing.
//!
//! With neither backend the arguments are still type-checked (inside a closure that is never
//! called), so a log line cannot rot, and nothing is evaluated at run time.
//!
//! Also the writer behind the hand-written `Debug` impls of the error and outcome types
//! (`debug_variant!`, [`Hex`], [`Opt`]): an embedder that prints a `PassOutcome` links every
//! error's `Debug`, so they share one out-of-line body instead of each inlining its own.
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

/// `Debug` of a variant (or struct) as `#[derive(Debug)]` writes it, `{:#?}` included, through
/// the out-of-line writers below: `debug_variant!(f, ["Name", "field", ..], value, ..)`. With
/// only the name it is a tuple (`Name(a, b)`), else a struct (`Name { field: a, .. }`) with one
/// value per field name.
///
/// The crate's hand-written `Debug` impls (hex fields) all go through it, so each of their arms
/// is a call instead of an inlined builder chain: the errors' formatting is most of what an
/// embedder that prints them links in. Up to four values travel as arguments (`variant1` to
/// `variant4`, the first two in registers), more in a slice.
macro_rules! debug_variant {
    ($f:expr, [$($name:literal),+ $(,)?], $a:expr $(,)?) => {
        $crate::fmt::variant1($f, { const NAMES: &[&str] = &[$($name),+]; &NAMES }, $a)
    };
    ($f:expr, [$($name:literal),+ $(,)?], $a:expr, $b:expr $(,)?) => {
        $crate::fmt::variant2($f, { const NAMES: &[&str] = &[$($name),+]; &NAMES }, $a, $b)
    };
    ($f:expr, [$($name:literal),+ $(,)?], $a:expr, $b:expr, $c:expr $(,)?) => {
        $crate::fmt::variant3($f, { const NAMES: &[&str] = &[$($name),+]; &NAMES }, $a, $b, $c)
    };
    ($f:expr, [$($name:literal),+ $(,)?], $a:expr, $b:expr, $c:expr, $d:expr $(,)?) => {
        $crate::fmt::variant4($f, { const NAMES: &[&str] = &[$($name),+]; &NAMES }, $a, $b, $c, $d)
    };
    ($f:expr, [$($name:literal),+ $(,)?], $($v:expr),+ $(,)?) => {
        $crate::fmt::variant($f, { const NAMES: &[&str] = &[$($name),+]; &NAMES }, &[$($v),+])
    };
}

/// A number that `Debug` prints in hex (`0x1000`), as the error types' `Display` does: their
/// `Debug` impls wrap addresses, register values and hints in it. One type for every width (the
/// text of `{:#x}` does not depend on it), so one `fmt` serves them all.
pub(crate) struct Hex(pub(crate) u64);

impl core::fmt::Debug for Hex {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

/// A pair of numbers that `Debug` prints as a tuple of [`Hex`]: `(0x1000, 0x2000)`.
pub(crate) struct HexPair(pub(crate) (u64, u64));

impl core::fmt::Debug for HexPair {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // A tuple's own `Debug` is an unnamed `debug_tuple`.
        debug_variant!(f, [""], &Hex(self.0 .0), &Hex(self.0 .1))
    }
}

/// An `Option` that `Debug` prints as `Option`'s own impl does (`Some(..)`, `None`), without
/// a copy of that impl per payload type.
pub(crate) struct Opt<'a>(pub(crate) Option<&'a dyn core::fmt::Debug>);

impl core::fmt::Debug for Opt<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            Some(v) => debug_variant!(f, ["Some"], v),
            None => f.write_str("None"),
        }
    }
}

/// [`debug_variant!`] with one value.
#[inline(never)]
pub(crate) fn variant1(
    f: &mut core::fmt::Formatter<'_>,
    names: &&[&str],
    a: &dyn core::fmt::Debug,
) -> core::fmt::Result {
    variant(f, names, &[a])
}

/// [`debug_variant!`] with two values.
#[inline(never)]
pub(crate) fn variant2(
    f: &mut core::fmt::Formatter<'_>,
    names: &&[&str],
    a: &dyn core::fmt::Debug,
    b: &dyn core::fmt::Debug,
) -> core::fmt::Result {
    variant(f, names, &[a, b])
}

/// [`debug_variant!`] with three values.
#[inline(never)]
pub(crate) fn variant3(
    f: &mut core::fmt::Formatter<'_>,
    names: &&[&str],
    a: &dyn core::fmt::Debug,
    b: &dyn core::fmt::Debug,
    c: &dyn core::fmt::Debug,
) -> core::fmt::Result {
    variant(f, names, &[a, b, c])
}

/// [`debug_variant!`] with four values.
#[inline(never)]
pub(crate) fn variant4(
    f: &mut core::fmt::Formatter<'_>,
    names: &&[&str],
    a: &dyn core::fmt::Debug,
    b: &dyn core::fmt::Debug,
    c: &dyn core::fmt::Debug,
    d: &dyn core::fmt::Debug,
) -> core::fmt::Result {
    variant(f, names, &[a, b, c, d])
}

/// [`debug_variant!`]: `names[0]` is the name, `names[1..]` the field names (none: a tuple).
#[inline(never)]
pub(crate) fn variant(
    f: &mut core::fmt::Formatter<'_>,
    names: &&[&str],
    values: &[&dyn core::fmt::Debug],
) -> core::fmt::Result {
    let (name, fields) = names.split_first().unwrap_or((&"", &[]));
    debug_assert!(fields.is_empty() || fields.len() == values.len());
    if fields.is_empty() {
        let mut t = f.debug_tuple(name);
        for v in values {
            t.field(v);
        }
        t.finish()
    } else {
        let mut s = f.debug_struct(name);
        for (n, v) in fields.iter().zip(values) {
            s.field(n, v);
        }
        s.finish()
    }
}
