//! Window assigners: which windows an element belongs to.

use std::time::Duration;

use super::triggers::{EventTimeTrigger, NeverTrigger, ProcessingTimeTrigger, Trigger};
use super::window::{GlobalWindow, TimeWindow, Window};
use eddy_core::error::FnResult;

/// How an assigner's windows decompose into slices (panes): every window of length `size`
/// starting at `offset + n * slide` is a union of consecutive slices of length
/// `gcd(size, slide)`, so incremental aggregates can be kept per slice and combined when a
/// window fires: a window costs about the same per element whatever `size / slide` is.
#[derive(Debug, Clone, Copy)]
pub struct Slicing<W> {
    /// Window length (ms).
    pub size: i64,
    /// Distance between window starts (ms).
    pub slide: i64,
    /// Alignment of window starts (ms).
    pub offset: i64,
    /// Builds the window `[start, end)`.
    pub make_window: fn(i64, i64) -> W,
}

/// Assigns each element to zero or more windows.
pub trait WindowAssigner<T, W: Window>: Clone + Send + 'static {
    /// The trigger used unless the program sets another.
    type DefaultTrigger: Trigger<T, W>;

    /// Appends the windows of an element with `timestamp` to `windows` (`processing_time` is
    /// the wall clock, for processing-time assigners).
    fn assign_windows(
        &self,
        element: &T,
        timestamp: i64,
        processing_time: i64,
        windows: &mut Vec<W>,
    ) -> FnResult<()>;

    /// The default trigger.
    fn default_trigger(&self) -> Self::DefaultTrigger;

    /// Whether windows are in event time (lateness applies) or processing time.
    fn is_event_time(&self) -> bool;

    /// Whether windows merge (session windows).
    fn is_merging(&self) -> bool {
        false
    }

    /// The slice decomposition, for aligned time windows.
    fn slicing(&self) -> Option<Slicing<W>> {
        None
    }

    /// Checks the parameters; the message says what is wrong.
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// The largest window size and slide (ms); with timestamps within ±2^62 ms window arithmetic
/// cannot overflow.
pub const MAX_WINDOW_SIZE: i64 = 1 << 60;

fn check_aligned(name: &str, size: i64, slide: i64, offset: i64) -> Result<(), String> {
    if size <= 0 || slide <= 0 {
        return Err(format!(
            "{name}: size and slide must be positive (got size {size} ms, slide {slide} ms)"
        ));
    }
    if size > MAX_WINDOW_SIZE || slide > MAX_WINDOW_SIZE {
        return Err(format!(
            "{name}: size and slide must be at most 2^60 ms (got size {size} ms, slide {slide} ms)"
        ));
    }
    if offset.unsigned_abs() >= slide.unsigned_abs() {
        return Err(format!(
            "{name}: the offset must satisfy abs(offset) < slide (got offset {offset} ms, slide {slide} ms)"
        ));
    }
    Ok(())
}

fn assign_sliding(
    timestamp: i64,
    size: i64,
    slide: i64,
    offset: i64,
    windows: &mut Vec<TimeWindow>,
) {
    let last_start = TimeWindow::get_window_start_with_offset(timestamp, offset, slide);
    let mut start = last_start;
    while start > timestamp.saturating_sub(size) {
        windows.push(TimeWindow::new(start, start.saturating_add(size)));
        start = start.saturating_sub(slide);
    }
}

macro_rules! aligned_assigner {
    ($(#[$doc:meta])* $name:ident, $event:expr, $trigger:ty, $create:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name {
            size: i64,
            slide: i64,
            offset: i64,
        }

        impl $name {
            /// Sets the alignment of window starts in milliseconds (negative allowed), e.g.
            /// `-8 * 3_600_000` for days starting at midnight UTC-8.
            pub fn with_offset(mut self, offset_ms: i64) -> Self {
                self.offset = offset_ms;
                self
            }
        }

        impl<T> WindowAssigner<T, TimeWindow> for $name {
            type DefaultTrigger = $trigger;

            #[inline]
            fn assign_windows(
                &self,
                _element: &T,
                timestamp: i64,
                processing_time: i64,
                windows: &mut Vec<TimeWindow>,
            ) -> FnResult<()> {
                let time = if $event { timestamp } else { processing_time };
                assign_sliding(time, self.size, self.slide, self.offset, windows);
                Ok(())
            }

            fn default_trigger(&self) -> $trigger {
                $create
            }

            fn is_event_time(&self) -> bool {
                $event
            }

            fn slicing(&self) -> Option<Slicing<TimeWindow>> {
                Some(Slicing {
                    size: self.size,
                    slide: self.slide,
                    offset: self.offset,
                    make_window: TimeWindow::new,
                })
            }

            fn validate(&self) -> Result<(), String> {
                check_aligned(stringify!($name), self.size, self.slide, self.offset)
            }
        }
    };
}

aligned_assigner!(
    /// Non-overlapping event-time windows of a fixed size.
    TumblingEventTimeWindows,
    true,
    EventTimeTrigger,
    EventTimeTrigger
);
aligned_assigner!(
    /// Non-overlapping processing-time windows of a fixed size.
    TumblingProcessingTimeWindows,
    false,
    ProcessingTimeTrigger,
    ProcessingTimeTrigger
);
aligned_assigner!(
    /// Event-time windows of a fixed size starting every `slide` (an element belongs to
    /// `size / slide` windows).
    SlidingEventTimeWindows,
    true,
    EventTimeTrigger,
    EventTimeTrigger
);
aligned_assigner!(
    /// Processing-time windows of a fixed size starting every `slide`.
    SlidingProcessingTimeWindows,
    false,
    ProcessingTimeTrigger,
    ProcessingTimeTrigger
);

impl TumblingEventTimeWindows {
    /// Windows of `size`.
    pub fn of(size: Duration) -> Self {
        let size = millis(size);
        TumblingEventTimeWindows {
            size,
            slide: size,
            offset: 0,
        }
    }
}

impl TumblingProcessingTimeWindows {
    /// Windows of `size`.
    pub fn of(size: Duration) -> Self {
        let size = millis(size);
        TumblingProcessingTimeWindows {
            size,
            slide: size,
            offset: 0,
        }
    }
}

impl SlidingEventTimeWindows {
    /// Windows of `size` starting every `slide`.
    pub fn of(size: Duration, slide: Duration) -> Self {
        SlidingEventTimeWindows {
            size: millis(size),
            slide: millis(slide),
            offset: 0,
        }
    }
}

impl SlidingProcessingTimeWindows {
    /// Windows of `size` starting every `slide`.
    pub fn of(size: Duration, slide: Duration) -> Self {
        SlidingProcessingTimeWindows {
            size: millis(size),
            slide: millis(slide),
            offset: 0,
        }
    }
}

/// The gap of a session window: fixed, or computed from each element.
pub trait SessionGap<T>: Clone + Send + 'static {
    /// The gap (ms) after an element before its session ends; must be positive.
    fn gap(&self, element: &T) -> i64;

    /// Checks a fixed gap when the program is built.
    fn validate(&self, _assigner: &str) -> Result<(), String> {
        Ok(())
    }
}

/// A fixed session gap.
#[derive(Debug, Clone, Copy)]
pub struct StaticGap(i64);

impl<T> SessionGap<T> for StaticGap {
    #[inline]
    fn gap(&self, _element: &T) -> i64 {
        self.0
    }

    fn validate(&self, assigner: &str) -> Result<(), String> {
        if self.0 <= 0 {
            return Err(format!(
                "{assigner}: the session gap must satisfy 0 < gap (got {} ms)",
                self.0
            ));
        }
        Ok(())
    }
}

/// A gap computed per element by a function.
#[derive(Debug, Clone, Copy)]
pub struct DynamicGap<F>(F);

impl<T, F: Fn(&T) -> i64 + Clone + Send + 'static> SessionGap<T> for DynamicGap<F> {
    #[inline]
    fn gap(&self, element: &T) -> i64 {
        (self.0)(element)
    }
}

macro_rules! session_assigner {
    ($(#[$doc:meta])* $name:ident, $event:expr, $trigger:ty, $create:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name<G> {
            gap: G,
        }

        impl $name<StaticGap> {
            /// Sessions that end `gap` after their last element.
            pub fn with_gap(gap: Duration) -> Self {
                $name {
                    gap: StaticGap(millis(gap)),
                }
            }
        }

        impl<F> $name<DynamicGap<F>> {
            /// Sessions whose gap is computed per element (milliseconds).
            pub fn with_dynamic_gap(gap: F) -> Self {
                $name {
                    gap: DynamicGap(gap),
                }
            }
        }

        impl<T, G: SessionGap<T>> WindowAssigner<T, TimeWindow> for $name<G> {
            type DefaultTrigger = $trigger;

            fn assign_windows(
                &self,
                element: &T,
                timestamp: i64,
                processing_time: i64,
                windows: &mut Vec<TimeWindow>,
            ) -> FnResult<()> {
                let time = if $event { timestamp } else { processing_time };
                let gap = self.gap.gap(element);
                if gap <= 0 {
                    return Err(format!(
                        "{}: the session gap must satisfy 0 < gap (got {gap} ms)",
                        stringify!($name)
                    )
                    .into());
                }
                windows.push(TimeWindow::new(time, time.saturating_add(gap)));
                Ok(())
            }

            fn default_trigger(&self) -> $trigger {
                $create
            }

            fn is_event_time(&self) -> bool {
                $event
            }

            fn is_merging(&self) -> bool {
                true
            }

            fn validate(&self) -> Result<(), String> {
                self.gap.validate(stringify!($name))
            }
        }
    };
}

session_assigner!(
    /// Event-time sessions: an element opens `[t, t + gap)`; overlapping or touching windows
    /// of a key merge.
    EventTimeSessionWindows,
    true,
    EventTimeTrigger,
    EventTimeTrigger
);
session_assigner!(
    /// Processing-time sessions.
    ProcessingTimeSessionWindows,
    false,
    ProcessingTimeTrigger,
    ProcessingTimeTrigger
);

/// One window holding all of a key's elements; it never fires unless given a trigger.
#[derive(Debug, Clone, Copy, Default)]
pub struct GlobalWindows;

impl GlobalWindows {
    /// The assigner.
    pub fn create() -> Self {
        GlobalWindows
    }
}

impl<T> WindowAssigner<T, GlobalWindow> for GlobalWindows {
    type DefaultTrigger = NeverTrigger;

    #[inline]
    fn assign_windows(
        &self,
        _: &T,
        _: i64,
        _: i64,
        windows: &mut Vec<GlobalWindow>,
    ) -> FnResult<()> {
        windows.push(GlobalWindow);
        Ok(())
    }

    fn default_trigger(&self) -> NeverTrigger {
        NeverTrigger
    }

    fn is_event_time(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn windows_of<A: WindowAssigner<(), TimeWindow>>(assigner: &A, ts: i64) -> Vec<(i64, i64)> {
        let mut out = Vec::new();
        assigner.assign_windows(&(), ts, 0, &mut out).unwrap();
        out.into_iter().map(|w| (w.start, w.end)).collect()
    }

    #[test]
    fn sliding_assigns_every_window_containing_the_element() {
        let a = SlidingEventTimeWindows::of(Duration::from_millis(10), Duration::from_millis(3));
        assert_eq!(windows_of(&a, 7), vec![(6, 16), (3, 13), (0, 10)]);
        assert_eq!(windows_of(&a, -1), vec![(-3, 7), (-6, 4), (-9, 1)]);
    }

    #[test]
    fn tumbling_with_negative_offset() {
        let a = TumblingEventTimeWindows::of(Duration::from_millis(10)).with_offset(-3);
        assert_eq!(windows_of(&a, 7), vec![(7, 17)]);
        assert_eq!(windows_of(&a, 6), vec![(-3, 7)]);
        assert!(WindowAssigner::<(), TimeWindow>::validate(&a).is_ok());
        let bad = TumblingEventTimeWindows::of(Duration::from_millis(10)).with_offset(10);
        assert!(WindowAssigner::<(), TimeWindow>::validate(&bad).is_err());
    }
}
