//! What the property-test files share: the case count and two header constants.
#![allow(dead_code)]

use proptest::prelude::ProptestConfig;

/// Cases per property unless `PROPTEST_CASES` says otherwise.
pub const DEFAULT_CASES: u32 = 512;

/// The proptest configuration: [`DEFAULT_CASES`], or `PROPTEST_CASES` from the environment.
pub fn config() -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = DEFAULT_CASES;
    }
    c
}

/// A GuC-origin SUCCESS header with DATA0 0.
pub const SUCCESS_0: u32 = 0xF000_0000;
/// The 28 data bits of a header.
pub const MASK_28: u32 = 0x0FFF_FFFF;
