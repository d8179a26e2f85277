//! [`CoordinatorView`]: the read-only view of a coordinator that a [`Vf`](crate::Vf) hands out.

use core::fmt;

use super::{Coordinator, GtId, GtSet, StartPolicy};

/// A read-only view of a [`Coordinator`]: every question, none of the calls that drive it
/// (`begin`, `finish`, `requeue`, `wedge`, `teardown`, ...), so that a stray call cannot leave a
/// device `VF_RESFIX_BLOCKED`. What [`Vf::coordinator`](crate::recovery::Vf::coordinator) hands
/// out; a stand-alone [`Coordinator`] keeps the whole API.
#[derive(Clone, Copy)]
pub struct CoordinatorView<'a>(&'a Coordinator);

impl fmt::Debug for CoordinatorView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

/// Forwards read-only [`Coordinator`] methods to the view, with their docs.
macro_rules! view_forward {
    ($($(#[$doc:meta])* fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;)+) => {
        impl<'a> CoordinatorView<'a> {
            /// A view of `coordinator`.
            pub const fn new(coordinator: &'a Coordinator) -> Self {
                CoordinatorView(coordinator)
            }
            $(
                $(#[$doc])*
                #[must_use]
                pub fn $name(&self $(, $arg: $ty)*) -> $ret {
                    self.0.$name($($arg),*)
                }
            )+
        }
    };
}

view_forward! {
    /// See [`Coordinator::is_idle`].
    fn is_idle(&self) -> bool;
    /// See [`Coordinator::is_wedged`].
    fn is_wedged(&self) -> bool;
    /// See [`Coordinator::is_torn_down`].
    fn is_torn_down(&self) -> bool;
    /// See [`Coordinator::is_running`].
    fn is_running(&self) -> bool;
    /// See [`Coordinator::is_queued`].
    fn is_queued(&self) -> bool;
    /// See [`Coordinator::pending_gts`].
    fn pending_gts(&self) -> GtSet;
    /// See [`Coordinator::in_progress_gts`].
    fn in_progress_gts(&self) -> GtSet;
    /// See [`Coordinator::needs_fixes_gts`].
    fn needs_fixes_gts(&self) -> GtSet;
    /// See [`Coordinator::recovery_pending`].
    fn recovery_pending(&self, gt: GtId) -> bool;
    /// See [`Coordinator::needs_fixes`].
    fn needs_fixes(&self, gt: GtId) -> bool;
    /// See [`Coordinator::recovery_imminent_for`].
    fn recovery_imminent_for(&self, gt: GtId) -> bool;
    /// See [`Coordinator::recovery_imminent`].
    fn recovery_imminent(&self) -> bool;
    /// See [`Coordinator::reported_gts`].
    fn reported_gts(&self) -> GtSet;
    /// See [`Coordinator::awaiting_reports`].
    fn awaiting_reports(&self) -> GtSet;
    /// See [`Coordinator::num_gts`].
    fn num_gts(&self) -> usize;
    /// See [`Coordinator::policy`].
    fn policy(&self) -> StartPolicy;
    /// See [`Coordinator::passes_begun`].
    fn passes_begun(&self) -> usize;
    /// See [`Coordinator::deferrals`].
    fn deferrals(&self) -> usize;
    /// See [`Coordinator::requeues`].
    fn requeues(&self) -> usize;
}
