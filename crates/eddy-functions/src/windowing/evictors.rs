//! Evictors: remove elements from a window before and/or after its function runs.

use std::time::Duration;

use super::window::Window;
use eddy_core::error::FnResult;

/// A window element with its timestamp.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TimestampedValue<T> {
    /// The element.
    pub value: T,
    /// Its event timestamp (`NO_TIMESTAMP` if it has none).
    pub timestamp: i64,
}

/// What an evictor knows besides the elements.
#[derive(Debug, Clone, Copy)]
pub struct EvictorContext {
    /// The operator's current watermark.
    pub current_watermark: i64,
    /// The wall clock, milliseconds since the Unix epoch.
    pub current_processing_time: i64,
}

/// Removes elements from a firing window's contents. The remaining elements stay in the
/// window (evictions are permanent).
pub trait Evictor<T, W: Window>: Clone + Send + 'static {
    /// Called before the window function, on the elements in arrival order.
    fn evict_before(
        &mut self,
        elements: &mut Vec<TimestampedValue<T>>,
        window: &W,
        ctx: &EvictorContext,
    ) -> FnResult<()>;

    /// Called after the window function.
    fn evict_after(
        &mut self,
        elements: &mut Vec<TimestampedValue<T>>,
        window: &W,
        ctx: &EvictorContext,
    ) -> FnResult<()>;
}

/// Keeps at most `max_count` elements: the most recent ones.
#[derive(Debug, Clone, Copy)]
pub struct CountEvictor {
    max_count: usize,
    after: bool,
}

impl CountEvictor {
    /// Evicts before the window function.
    pub fn of(max_count: usize) -> Self {
        CountEvictor {
            max_count,
            after: false,
        }
    }

    /// Evicts after the window function.
    pub fn of_after(max_count: usize) -> Self {
        CountEvictor {
            max_count,
            after: true,
        }
    }

    fn evict<T>(&self, elements: &mut Vec<TimestampedValue<T>>) {
        if elements.len() > self.max_count {
            let excess = elements.len() - self.max_count;
            elements.drain(..excess);
        }
    }
}

impl<T, W: Window> Evictor<T, W> for CountEvictor {
    fn evict_before(
        &mut self,
        elements: &mut Vec<TimestampedValue<T>>,
        _window: &W,
        _ctx: &EvictorContext,
    ) -> FnResult<()> {
        if !self.after {
            self.evict(elements);
        }
        Ok(())
    }

    fn evict_after(
        &mut self,
        elements: &mut Vec<TimestampedValue<T>>,
        _window: &W,
        _ctx: &EvictorContext,
    ) -> FnResult<()> {
        if self.after {
            self.evict(elements);
        }
        Ok(())
    }
}

/// Keeps the elements whose timestamp is within `window_size` of the newest element's:
/// evicts those with `timestamp <= max_timestamp - window_size`.
#[derive(Debug, Clone, Copy)]
pub struct TimeEvictor {
    window_size: i64,
    after: bool,
}

impl TimeEvictor {
    /// Evicts before the window function.
    pub fn of(window_size: Duration) -> Self {
        TimeEvictor {
            window_size: i64::try_from(window_size.as_millis()).unwrap_or(i64::MAX),
            after: false,
        }
    }

    /// Evicts after the window function.
    pub fn of_after(window_size: Duration) -> Self {
        TimeEvictor {
            after: true,
            ..Self::of(window_size)
        }
    }

    fn evict<T>(&self, elements: &mut Vec<TimestampedValue<T>>) {
        let newest = elements
            .iter()
            .map(|e| e.timestamp)
            .filter(|&t| t != eddy_core::NO_TIMESTAMP)
            .max();
        if let Some(newest) = newest {
            let cutoff = newest.saturating_sub(self.window_size);
            elements.retain(|e| e.timestamp > cutoff);
        }
    }
}

impl<T, W: Window> Evictor<T, W> for TimeEvictor {
    fn evict_before(
        &mut self,
        elements: &mut Vec<TimestampedValue<T>>,
        _window: &W,
        _ctx: &EvictorContext,
    ) -> FnResult<()> {
        if !self.after {
            self.evict(elements);
        }
        Ok(())
    }

    fn evict_after(
        &mut self,
        elements: &mut Vec<TimestampedValue<T>>,
        _window: &W,
        _ctx: &EvictorContext,
    ) -> FnResult<()> {
        if self.after {
            self.evict(elements);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::windowing::GlobalWindow;

    fn values(ts: &[i64]) -> Vec<TimestampedValue<i64>> {
        ts.iter()
            .map(|&t| TimestampedValue {
                value: t * 10,
                timestamp: t,
            })
            .collect()
    }

    const CTX: EvictorContext = EvictorContext {
        current_watermark: 0,
        current_processing_time: 0,
    };

    #[test]
    fn count_evictor_keeps_the_newest() {
        let mut elements = values(&[1, 2, 3, 4, 5]);
        let mut evictor = CountEvictor::of(2);
        Evictor::<i64, GlobalWindow>::evict_after(&mut evictor, &mut elements, &GlobalWindow, &CTX)
            .unwrap();
        assert_eq!(elements.len(), 5);
        Evictor::<i64, GlobalWindow>::evict_before(
            &mut evictor,
            &mut elements,
            &GlobalWindow,
            &CTX,
        )
        .unwrap();
        assert_eq!(elements, values(&[4, 5]));
    }

    #[test]
    fn time_evictor_cuts_relative_to_the_newest() {
        let mut elements = values(&[1, 7, 3, 10, 5]);
        let mut evictor = TimeEvictor::of(Duration::from_millis(5));
        Evictor::<i64, GlobalWindow>::evict_before(
            &mut evictor,
            &mut elements,
            &GlobalWindow,
            &CTX,
        )
        .unwrap();
        assert_eq!(elements, values(&[7, 10]));
    }
}
