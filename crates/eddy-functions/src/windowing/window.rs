//! Windows: finite groups of a key's elements, identified by a value.

use std::fmt::Debug;
use std::hash::Hash;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use eddy_state::Namespace;

/// A window. Results of a window carry its [`max_timestamp`](Window::max_timestamp).
pub trait Window:
    Clone + Eq + Hash + Debug + Send + Sync + Serialize + DeserializeOwned + 'static
{
    /// The largest timestamp that still belongs to the window.
    fn max_timestamp(&self) -> i64;

    /// Whether a merging assigner joins the two windows (they overlap or touch).
    fn intersects(&self, other: &Self) -> bool;

    /// The smallest window containing both.
    fn cover(&self, other: &Self) -> Self;

    /// The namespace of this window's keyed state (`window_state()`).
    fn namespace(&self) -> Namespace;

    /// The window whose namespace is `namespace` (`None`: no window of this type has it):
    /// how restored window state finds its windows again.
    fn from_namespace(namespace: Namespace) -> Option<Self>;
}

/// A time interval `[start, end)` in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TimeWindow {
    /// The first millisecond in the window.
    pub start: i64,
    /// The first millisecond after the window.
    pub end: i64,
}

impl TimeWindow {
    /// The window `[start, end)`.
    pub fn new(start: i64, end: i64) -> Self {
        TimeWindow { start, end }
    }

    /// The first millisecond in the window.
    pub fn start(&self) -> i64 {
        self.start
    }

    /// The first millisecond after the window.
    pub fn end(&self) -> i64 {
        self.end
    }

    /// The start of the window of length `size` containing `timestamp`, with windows aligned
    /// to `offset` (Flink's formula, correct for negative timestamps and offsets):
    /// `timestamp - (timestamp - offset) mod size`, the modulo taken as non-negative.
    pub fn get_window_start_with_offset(timestamp: i64, offset: i64, size: i64) -> i64 {
        let remainder = (timestamp.wrapping_sub(offset)).rem_euclid(size);
        timestamp - remainder
    }
}

impl Window for TimeWindow {
    fn max_timestamp(&self) -> i64 {
        self.end - 1
    }

    fn intersects(&self, other: &Self) -> bool {
        self.start <= other.end && self.end >= other.start
    }

    fn cover(&self, other: &Self) -> Self {
        TimeWindow::new(self.start.min(other.start), self.end.max(other.end))
    }

    fn namespace(&self) -> Namespace {
        Namespace::TimeWindow {
            start: self.start,
            end: self.end,
        }
    }

    fn from_namespace(namespace: Namespace) -> Option<Self> {
        match namespace {
            Namespace::TimeWindow { start, end } => Some(TimeWindow { start, end }),
            _ => None,
        }
    }
}

/// The single window of [`GlobalWindows`](super::GlobalWindows): all of a key's elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GlobalWindow;

impl Window for GlobalWindow {
    fn max_timestamp(&self) -> i64 {
        i64::MAX
    }

    fn intersects(&self, _other: &Self) -> bool {
        true
    }

    fn cover(&self, _other: &Self) -> Self {
        GlobalWindow
    }

    fn namespace(&self) -> Namespace {
        Namespace::GlobalWindow
    }

    fn from_namespace(namespace: Namespace) -> Option<Self> {
        (namespace == Namespace::GlobalWindow).then_some(GlobalWindow)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_start_matches_flink_formula() {
        let start = TimeWindow::get_window_start_with_offset;
        assert_eq!(start(0, 0, 10), 0);
        assert_eq!(start(9, 0, 10), 0);
        assert_eq!(start(10, 0, 10), 10);
        assert_eq!(start(-1, 0, 10), -10);
        assert_eq!(start(-10, 0, 10), -10);
        assert_eq!(start(-11, 0, 10), -20);
        assert_eq!(start(7, 3, 10), 3);
        assert_eq!(start(2, 3, 10), -7);
        assert_eq!(start(2, -3, 10), -3);
    }

    #[test]
    fn touching_time_windows_intersect() {
        let a = TimeWindow::new(0, 5);
        assert!(a.intersects(&TimeWindow::new(5, 9)));
        assert!(!a.intersects(&TimeWindow::new(6, 9)));
        assert_eq!(a.cover(&TimeWindow::new(3, 9)), TimeWindow::new(0, 9));
    }
}
