//! Printing an error with its causes. Each error of the crate describes only its own layer and
//! hands the layer below out through `source()`, so `{error}` alone says where it failed
//! ("GT0: RESFIX_START failed"), and the chain says why.

use std::error::Error;

/// `error` and every `source()` under it, joined with ": " (outermost first), e.g.
/// `GT0: RESFIX_START failed: GuC mailbox exchange failed: GuC answered FAILURE (hint 0x0):
/// INVALID_STATE (0xa)`.
pub fn error_chain(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        next = cause.source();
    }
    text
}
