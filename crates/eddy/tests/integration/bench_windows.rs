//! `eddy bench windows`: the engine's window results on small runs against a plain loop that
//! keeps every window of every key in a map.

use std::collections::HashMap;

use eddy::bench::windows::{
    element, event_time, expected_totals, run_case, Totals, WindowCase, SLIDE_MS, WINDOW_SIZE_MS,
};
use eddy_api::prelude::Configuration;

/// Every window's (count, sum), computed element by element; then the totals over all windows.
fn reference_loop(case: WindowCase, records: u64, keys: u64) -> Totals {
    if case == WindowCase::Baseline {
        let value_sum = (0..records).fold(0u64, |acc, i| acc.wrapping_add(i));
        return Totals {
            results: records,
            count_sum: records,
            value_sum,
        };
    }
    let slide = if case == WindowCase::Sliding {
        SLIDE_MS
    } else {
        WINDOW_SIZE_MS
    };
    let mut windows: HashMap<(u64, i64), (u64, u64)> = HashMap::new();
    for i in 0..records {
        let (key, value) = element(i, keys);
        let ts = event_time(value);
        let mut start = ts - ts.rem_euclid(slide);
        while start > ts - WINDOW_SIZE_MS {
            let window = windows.entry((key, start)).or_default();
            window.0 += 1;
            window.1 = window.1.wrapping_add(value);
            start -= slide;
        }
    }
    let mut totals = Totals {
        results: windows.len() as u64,
        ..Totals::default()
    };
    for (count, sum) in windows.into_values() {
        totals.count_sum += count;
        totals.value_sum = totals.value_sum.wrapping_add(sum);
    }
    totals
}

#[test]
fn sliding_tumbling_and_baseline_results_match_the_reference_loop() {
    // 60 000 records span 6 s of event time: 105 sliding windows per key.
    let (records, keys) = (60_000, 7);
    for case in WindowCase::ALL {
        let expected = reference_loop(case, records, keys);
        assert_eq!(expected_totals(case, records, keys), expected, "{case:?}");
        for parallelism in [1, 2] {
            let (totals, _) =
                run_case(case, records, keys, parallelism, &Configuration::new()).unwrap();
            assert_eq!(totals, expected, "{case:?} at parallelism {parallelism}");
        }
    }
    assert_eq!(
        reference_loop(WindowCase::Sliding, records, keys).results,
        7 * 105
    );
}

#[test]
fn the_bench_self_check_matches_the_reference_loop_over_many_windows() {
    // 1.5 million records span 150 s: two tumbling windows per key; 100 000 records span
    // 10 s: 109 sliding windows per key.
    for (case, records, keys) in [
        (WindowCase::Tumbling, 1_500_000, 3),
        (WindowCase::Sliding, 100_000, 3),
        (WindowCase::Sliding, 54_321, 1_000),
    ] {
        assert_eq!(
            expected_totals(case, records, keys),
            reference_loop(case, records, keys),
            "{case:?} {records} {keys}"
        );
    }
}
