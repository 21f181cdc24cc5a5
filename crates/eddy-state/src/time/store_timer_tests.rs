//! The timer queue in a store against the heap queue as the model: random registrations
//! (also behind timers already fired), deletions and firings.

use crate::tests::MemoryStore;
use crate::time::{StoreTimerQueue, TimerQueue};
use crate::SharedStore;
use eddy_core::keygroup::KeyGroupRange;

/// A tiny deterministic generator.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

#[test]
fn the_store_queue_fires_what_the_heap_queue_fires() {
    let max_parallelism = 8;
    let store = SharedStore::new(Box::new(MemoryStore::default()));
    let mut stored: StoreTimerQueue<u32, u8> = StoreTimerQueue::open(
        store,
        "timers",
        max_parallelism,
        KeyGroupRange::for_subtask(max_parallelism, 1, 0),
    )
    .unwrap();
    let mut model: TimerQueue<u32, u8> = TimerQueue::new();
    let mut rng = Lcg(11);
    let mut now = 0i64;
    for step in 0..20_000 {
        match rng.below(10) {
            0..=5 => {
                // Mostly ahead of the time fired up to, sometimes behind it.
                let timestamp = now + rng.below(60) as i64 - 10;
                let (key, namespace) = (rng.below(40) as u32, rng.below(2) as u8);
                stored.register(timestamp, &key, &namespace).unwrap();
                model.register(timestamp, &key, &namespace);
            }
            6 => {
                let timestamp = now + rng.below(60) as i64 - 10;
                let (key, namespace) = (rng.below(40) as u32, rng.below(2) as u8);
                stored.delete(timestamp, &key, &namespace).unwrap();
                model.delete(timestamp, &key, &namespace);
            }
            _ => {
                now += rng.below(8) as i64;
                let mut fired_stored = Vec::new();
                while let Some(timer) = stored.pop_due(now).unwrap() {
                    fired_stored.push(timer);
                }
                let mut fired_model = Vec::new();
                while let Some(timer) = model.pop_due(now) {
                    fired_model.push(timer);
                }
                // In timestamp order in both; within a timestamp the orders differ.
                assert!(fired_stored.windows(2).all(|w| w[0].0 <= w[1].0));
                fired_stored.sort_unstable();
                fired_model.sort_unstable();
                assert_eq!(fired_stored, fired_model, "step {step}, time {now}");
            }
        }
        assert_eq!(
            stored.peek_timestamp(),
            model.peek_timestamp(),
            "step {step}"
        );
    }
}
