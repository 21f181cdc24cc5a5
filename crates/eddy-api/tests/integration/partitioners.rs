//! Routing of every partitioner, observed end to end: a sink records `(sink subtask, element)`
//! and each test compares the complete per-subtask output with a reference computed here.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};

use common::{bounded, env, per_subtask, per_subtask_sorted, RecordingSink, TaggedSource};
use eddy_api::core::keygroup::{operator_index_for_key_group, KeyHasher};

/// Checks that, in each subtask's arrival order, every producer's elements arrive in the order
/// the producer emitted them (each channel is FIFO).
fn assert_fifo_per_producer(per_subtask: &[Vec<(u32, u64)>]) {
    for (subtask, values) in per_subtask.iter().enumerate() {
        let mut last: BTreeMap<u32, u64> = BTreeMap::new();
        for &(producer, k) in values {
            if let Some(previous) = last.insert(producer, k) {
                assert!(
                    previous < k,
                    "subtask {subtask}: producer {producer}'s {k} arrived after {previous}"
                );
            }
        }
    }
}

#[test]
fn forward_keeps_each_record_on_its_subtask_index() {
    bounded(|| {
        let env = env(3);
        let (sink, records) = RecordingSink::new();
        env.add_source(TaggedSource::new(10))
            .set_parallelism(3)
            .forward()
            .add_sink(sink)
            .disable_chaining();
        assert_eq!(env.get_job_graph("forward").unwrap().vertices.len(), 2);
        env.execute("forward").unwrap();

        let expected: Vec<Vec<(u32, u64)>> = (0..3u32)
            .map(|i| (0..10u64).map(|k| (i, k)).collect())
            .collect();
        assert_eq!(per_subtask(&records, 3), expected);
    });
}

#[test]
fn rebalance_from_a_single_producer_starts_at_channel_zero() {
    bounded(|| {
        let env = env(3);
        let (sink, records) = RecordingSink::new();
        env.from_elements((0..12u64).collect())
            .rebalance()
            .add_sink(sink)
            .set_parallelism(3);
        env.execute("rebalance").unwrap();

        // One producer (subtask 0): round-robin starting at channel 0 % 3 = 0, in order.
        let expected = vec![vec![0, 3, 6, 9], vec![1, 4, 7, 10], vec![2, 5, 8, 11]];
        assert_eq!(per_subtask(&records, 3), expected);
    });
}

#[test]
fn rebalance_from_two_producers_starts_at_each_producers_index() {
    bounded(|| {
        let env = env(2);
        let (sink, records) = RecordingSink::new();
        env.add_source(TaggedSource::new(10))
            .set_parallelism(2)
            .rebalance()
            .add_sink(sink)
            .set_parallelism(3);
        env.execute("rebalance-2").unwrap();

        // Reference: producer p sends round-robin over the 3 consumers, starting at p % 3.
        let mut expected = vec![Vec::new(); 3];
        for producer in 0..2u32 {
            let mut next = producer % 3;
            for k in 0..10u64 {
                let channel = next % 3;
                expected[channel as usize].push((producer, k));
                next = channel + 1;
            }
        }
        expected.iter_mut().for_each(|v| v.sort());
        assert_eq!(per_subtask_sorted(&records, 3), expected);
        assert_fifo_per_producer(&per_subtask(&records, 3));
    });
}

#[test]
fn rescale_two_to_four_feeds_each_producers_local_pair() {
    bounded(|| {
        let env = env(2);
        let (sink, records) = RecordingSink::new();
        env.add_source(TaggedSource::new(10))
            .set_parallelism(2)
            .rescale()
            .add_sink(sink)
            .set_parallelism(4);
        env.execute("rescale-2-4").unwrap();

        // Producer 0 feeds consumers {0, 1}, producer 1 feeds {2, 3}; round-robin from the
        // first local channel.
        let local = [[0usize, 1], [2, 3]];
        let mut expected = vec![Vec::new(); 4];
        for producer in 0..2u32 {
            for k in 0..10u64 {
                expected[local[producer as usize][(k % 2) as usize]].push((producer, k));
            }
        }
        // Each consumer has a single producer, so even the order is fixed.
        assert_eq!(per_subtask(&records, 4), expected);
    });
}

#[test]
fn rescale_four_to_two_merges_neighbouring_producers() {
    bounded(|| {
        let env = env(4);
        let (sink, records) = RecordingSink::new();
        env.add_source(TaggedSource::new(5))
            .set_parallelism(4)
            .rescale()
            .add_sink(sink)
            .set_parallelism(2);
        env.execute("rescale-4-2").unwrap();

        // Producers {0, 1} feed consumer 0, producers {2, 3} feed consumer 1.
        let mut expected = vec![Vec::new(); 2];
        for producer in 0..4u32 {
            for k in 0..5u64 {
                expected[(producer / 2) as usize].push((producer, k));
            }
        }
        assert_eq!(per_subtask_sorted(&records, 2), expected);
        assert_fifo_per_producer(&per_subtask(&records, 2));
    });
}

#[test]
fn shuffle_delivers_every_element_exactly_once_to_valid_subtasks() {
    bounded(|| {
        let env = env(3);
        let (sink, records) = RecordingSink::new();
        env.from_elements((0..1000u64).collect())
            .shuffle()
            .add_sink(sink)
            .set_parallelism(3);
        env.execute("shuffle").unwrap();

        // `per_subtask` asserts that every subtask index is < 3.
        let by_subtask = per_subtask(&records, 3);
        let mut all: Vec<u64> = by_subtask.concat();
        all.sort();
        assert_eq!(all, (0..1000u64).collect::<Vec<_>>());
        for (subtask, values) in by_subtask.iter().enumerate() {
            // One producer: each channel keeps its order.
            assert!(values.windows(2).all(|w| w[0] < w[1]), "subtask {subtask}");
            // Uniformly random over 1000 elements: an empty subtask has probability (2/3)^1000.
            assert!(!values.is_empty(), "subtask {subtask} received nothing");
        }
    });
}

#[test]
fn broadcast_sends_every_element_to_every_subtask() {
    bounded(|| {
        let env = env(3);
        let (sink, records) = RecordingSink::new();
        env.from_elements((0..20u64).collect())
            .broadcast()
            .add_sink(sink)
            .set_parallelism(3);
        env.execute("broadcast").unwrap();

        let all: Vec<u64> = (0..20).collect();
        assert_eq!(
            per_subtask(&records, 3),
            vec![all.clone(), all.clone(), all]
        );
    });
}

#[test]
fn broadcast_from_two_producers_sends_both_to_every_subtask() {
    bounded(|| {
        let env = env(2);
        let (sink, records) = RecordingSink::new();
        env.add_source(TaggedSource::new(7))
            .set_parallelism(2)
            .broadcast()
            .add_sink(sink)
            .set_parallelism(3);
        env.execute("broadcast-2").unwrap();

        let all: Vec<(u32, u64)> = (0..2u32)
            .flat_map(|p| (0..7u64).map(move |k| (p, k)))
            .collect();
        assert_eq!(
            per_subtask_sorted(&records, 3),
            vec![all.clone(), all.clone(), all]
        );
    });
}

#[test]
fn global_sends_everything_to_subtask_zero() {
    bounded(|| {
        let env = env(3);
        let (sink, records) = RecordingSink::new();
        env.add_source(TaggedSource::new(8))
            .set_parallelism(3)
            .global()
            .add_sink(sink)
            .set_parallelism(3);
        env.execute("global").unwrap();

        let all: Vec<(u32, u64)> = (0..3u32)
            .flat_map(|p| (0..8u64).map(move |k| (p, k)))
            .collect();
        assert_eq!(
            per_subtask_sorted(&records, 3),
            vec![all, Vec::new(), Vec::new()]
        );
        assert_fifo_per_producer(&per_subtask(&records, 3));
    });
}

/// The reference placement of a key: key group from the key's stable hash, then the subtask
/// owning that key group.
fn reference_subtask<K: serde::Serialize>(key: &K, max_parallelism: u32, parallelism: u32) -> u32 {
    let key_group = KeyHasher::new().key_group(key, max_parallelism).unwrap();
    operator_index_for_key_group(max_parallelism, parallelism, key_group)
}

/// Asserts that all elements of one key went to one subtask.
fn assert_one_subtask_per_key<K: Ord + std::fmt::Debug, T>(
    records: &[(u32, T)],
    key: impl Fn(&T) -> K,
) {
    let mut subtasks: BTreeMap<K, BTreeSet<u32>> = BTreeMap::new();
    for (subtask, value) in records {
        subtasks.entry(key(value)).or_default().insert(*subtask);
    }
    for (k, s) in subtasks {
        assert_eq!(s.len(), 1, "key {k:?} went to subtasks {s:?}");
    }
}

#[test]
fn key_by_places_each_key_on_its_key_group_owner() {
    bounded(|| {
        let env = env(3);
        let (sink, records) = RecordingSink::new();
        env.from_elements((0..200u64).collect())
            .key_by(|x: &u64| x % 17)
            .as_data_stream()
            .add_sink(sink)
            .set_parallelism(3);
        let graph = env.get_stream_graph("key_by").unwrap();
        let sink_node = graph.nodes.last().unwrap();
        assert_eq!((sink_node.parallelism, sink_node.max_parallelism), (3, 128));
        env.execute("key_by").unwrap();

        let mut expected = vec![Vec::new(); 3];
        for x in 0..200u64 {
            expected[reference_subtask(&(x % 17), 128, 3) as usize].push(x);
        }
        // One producer: arrival order per subtask is emission order.
        assert_eq!(per_subtask(&records, 3), expected);
        assert_one_subtask_per_key(&common::recorded(&records), |x| x % 17);
        // 17 keys over 3 subtasks: make sure the test exercises more than one subtask.
        assert!(expected.iter().filter(|v| !v.is_empty()).count() > 1);
    });
}

#[test]
fn key_by_uses_the_consumers_max_parallelism() {
    bounded(|| {
        let env = env(4);
        env.set_max_parallelism(10);
        let (sink, records) = RecordingSink::new();
        let words = [
            "apple", "banana", "cherry", "date", "elder", "fig", "grape", "kiwi",
        ];
        let elements: Vec<(String, u64)> = (0..64u64)
            .map(|i| (words[(i * 5 % 8) as usize].to_string(), i))
            .collect();
        env.from_elements(elements.clone())
            .key_by(|t: &(String, u64)| t.0.clone())
            .as_data_stream()
            .add_sink(sink)
            .set_parallelism(4);
        let graph = env.get_stream_graph("key_by-10").unwrap();
        assert_eq!(graph.nodes.last().unwrap().max_parallelism, 10);
        env.execute("key_by-10").unwrap();

        let mut expected = vec![Vec::new(); 4];
        for element in elements {
            expected[reference_subtask(&element.0, 10, 4) as usize].push(element);
        }
        assert_eq!(per_subtask(&records, 4), expected);
        assert_one_subtask_per_key(&common::recorded(&records), |t| t.0.clone());
    });
}

#[test]
fn key_by_ref_places_each_key_where_key_by_does() {
    bounded(|| {
        let env = env(3);
        let (sink, records) = RecordingSink::new();
        let elements: Vec<(String, u64)> = (0..300u64)
            .map(|i| (format!("key-{}", i * 7 % 23), i))
            .collect();
        env.from_elements(elements.clone())
            .key_by_ref(|t: &(String, u64)| &t.0)
            .as_data_stream()
            .add_sink(sink)
            .set_parallelism(3);
        env.execute("key_by_ref").unwrap();

        let mut expected = vec![Vec::new(); 3];
        for element in elements {
            expected[reference_subtask(&element.0, 128, 3) as usize].push(element);
        }
        assert_eq!(per_subtask(&records, 3), expected);
        assert!(expected.iter().all(|v| !v.is_empty()));
    });
}

#[test]
fn partition_custom_places_each_element_where_the_partitioner_says() {
    bounded(|| {
        let env = env(3);
        let (sink, records) = RecordingSink::new();
        env.from_elements((0..30u64).collect())
            .partition_custom(|k: &u64, n: u32| (k % n as u64) as u32, |x: &u64| *x)
            .add_sink(sink)
            .set_parallelism(3);
        env.execute("custom").unwrap();

        let mut expected = vec![Vec::new(); 3];
        for x in 0..30u64 {
            expected[(x % 3) as usize].push(x);
        }
        assert_eq!(per_subtask(&records, 3), expected);
    });
}

#[test]
fn partition_custom_out_of_range_fails_the_job_naming_the_problem() {
    let cause = bounded(|| {
        let env = env(3);
        let (sink, _records) = RecordingSink::new();
        env.from_elements((0..30u64).collect())
            .partition_custom(|_k: &u64, n: u32| n, |x: &u64| *x)
            .add_sink(sink)
            .set_parallelism(3);
        common::failure_cause(env.execute("custom-out-of-range"))
    });
    assert!(
        cause.contains("custom partitioner returned partition 3"),
        "{cause}"
    );
    assert!(cause.contains("only 3"), "{cause}");
    // The producer that routed the record is named, once.
    assert_eq!(
        cause.matches("Source: Collection Source (1/1)").count(),
        1,
        "{cause}"
    );
}
