//! Key placement is pinned: state in checkpoints and savepoints is found by key group, so the
//! hash of a key and its key group must never change silently.
//!
//! The literal values below were computed by an independent reference of the hash (a Python
//! transcription of the folding rules in `keyhash.rs`: integers as sign-extended 64-bit words,
//! strings and byte strings as little-endian 8-byte chunks plus their length, enum variants as
//! their index, `Option` as 0 or 1 before the value, sequences with their length first, then
//! Murmur3's 64-bit finalizer), not by the code under test. If this test fails, keys move to
//! other key groups and restoring existing state would break: change the hash only as a
//! deliberate, versioned decision, never to make this test pass.

use eddy_core::keygroup::KeyHasher;
use serde::Serialize;

#[derive(Serialize)]
struct Sensor {
    id: u32,
    room: String,
}

#[derive(Serialize)]
enum Channel {
    Web,
    Mobile(u16),
    Partner { id: u64 },
}

/// One pinned key: its description, its hash, and its key groups at max parallelism 128 and
/// 32768.
struct Pinned {
    key: &'static str,
    hash: u64,
    group_128: u32,
    group_32768: u32,
}

const fn pinned(key: &'static str, hash: u64, group_128: u32, group_32768: u32) -> Pinned {
    Pinned {
        key,
        hash,
        group_128,
        group_32768,
    }
}

fn check<K: Serialize + ?Sized>(key: &K, expected: &Pinned, failures: &mut Vec<String>) {
    let mut hasher = KeyHasher::new();
    let hash = hasher.hash(key).unwrap();
    let group_128 = hasher.key_group(key, 128).unwrap();
    let group_32768 = hasher.key_group(key, 32768).unwrap();
    if (hash, group_128, group_32768) != (expected.hash, expected.group_128, expected.group_32768) {
        failures.push(format!(
            "{}: hash {hash:#018x}, key groups {group_128} / {group_32768}; pinned {:#018x}, {} / {}",
            expected.key, expected.hash, expected.group_128, expected.group_32768
        ));
    }
}

#[test]
fn key_hashes_and_key_groups_are_pinned() {
    let mut failures = Vec::new();
    let f = &mut failures;
    check(&0u64, &pinned("0u64", 0x0000000000000000, 0, 0), f);
    check(&42u64, &pinned("42u64", 0xdc2f1b007bbcaabd, 61, 10941), f);
    check(&-1i32, &pinned("-1i32", 0xd314d4f7bbe9a09e, 30, 8350), f);
    check(&255u8, &pinned("255u8", 0xdde63c7fa894da11, 17, 23057), f);
    check(
        &i64::MIN,
        &pinned("i64::MIN", 0x8f780810af31a493, 19, 9363),
        f,
    );
    check(&true, &pinned("true", 0x9ca066f1a4ab2eea, 106, 12010), f);
    check(&'é', &pinned("'é'", 0x0c06f9af00df7598, 24, 30104), f);
    check("", &pinned("\"\"", 0x0000000000000000, 0, 0), f);
    check(
        "flink",
        &pinned("\"flink\"", 0x070453c29c651912, 18, 6418),
        f,
    );
    check(
        &"flink".to_string(),
        &pinned("String flink", 0x070453c29c651912, 18, 6418),
        f,
    );
    check(
        "héllo",
        &pinned("\"héllo\"", 0x723f86373e7110db, 91, 4315),
        f,
    );
    check(
        "a key longer than eight bytes",
        &pinned("a long string", 0x5ede1f2133bd5a5b, 91, 23131),
        f,
    );
    check(
        &(7u64, "seven"),
        &pinned("(7u64, \"seven\")", 0x19b330e819e43aa4, 36, 15012),
        f,
    );
    let sensor = Sensor {
        id: 3,
        room: "lab".into(),
    };
    check(&sensor, &pinned("Sensor", 0x2c5bac85ecbfb10e, 14, 12558), f);
    check(&Channel::Web, &pinned("Channel::Web", 0, 0, 0), f);
    check(
        &Channel::Mobile(9),
        &pinned("Channel::Mobile(9)", 0x8208d0d73216c83e, 62, 18494),
        f,
    );
    check(
        &Channel::Partner { id: 5 },
        &pinned("Channel::Partner", 0x8f153f63bad311e1, 97, 4577),
        f,
    );
    check(
        &Some(7u64),
        &pinned("Some(7u64)", 0x892fbba30cfbaa4e, 78, 10830),
        f,
    );
    check(&None::<u64>, &pinned("None", 0, 0, 0), f);
    check(
        &vec![1u32, 2, 3],
        &pinned("vec![1u32, 2, 3]", 0x4a0ea5d36b1998e0, 96, 6368),
        f,
    );
    assert!(
        failures.is_empty(),
        "key placement changed:\n{}",
        failures.join("\n")
    );
}
