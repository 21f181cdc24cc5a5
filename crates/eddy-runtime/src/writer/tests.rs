//! Writers and watermarks: each consumer gets exactly the records routed to it and every
//! watermark, in the order the producer emitted them, in few channel events.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use eddy_core::Watermark;

use super::{
    BroadcastWriter, ChannelSelector, KeyGroupSelector, PartitionedWriter, RoundRobinSelector,
    SingleChannelWriter,
};
use crate::carried::CarriedBatch;
use crate::error::TaskError;
use crate::factory::receive_batch;
use crate::inbox::{ChannelEvent, ChannelSender, InboxItem, TaskInbox, WatermarkAt};
use crate::output::{Batch, Output};

/// What a consumer sees, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Record(u64),
    Watermark(i64),
}

/// One consumer inbox per channel, and the producer's senders into them.
fn consumers(n: usize) -> (Vec<Arc<TaskInbox>>, Vec<ChannelSender>) {
    let cancelled = Arc::new(AtomicBool::new(false));
    let inboxes: Vec<_> = (0..n).map(|_| TaskInbox::new(1000, 0)).collect();
    let senders = inboxes
        .iter()
        .map(|inbox| ChannelSender::new(inbox.clone(), 0, cancelled.clone()))
        .collect();
    (inboxes, senders)
}

/// Everything queued in `inbox`: what the consumer sees, and how many channel events carried it.
fn drain(inbox: &TaskInbox) -> (Vec<Seen>, usize) {
    let (mut seen, mut events) = (Vec::new(), 0);
    let records = |batch: Box<dyn std::any::Any + Send>| -> Vec<u64> {
        batch
            .downcast::<Batch<u64>>()
            .expect("a batch of u64")
            .into_values()
    };
    while let Some(InboxItem::Event(_, event)) = inbox.try_next() {
        events += 1;
        match event {
            ChannelEvent::Batch(batch, _) => {
                seen.extend(records(batch).into_iter().map(Seen::Record))
            }
            ChannelEvent::MarkedBatch(batch, len, marks) => {
                let records = records(batch);
                assert_eq!(records.len(), len);
                let mut next = 0;
                for mark in marks {
                    seen.extend(records[next..mark.after].iter().map(|&r| Seen::Record(r)));
                    seen.push(Seen::Watermark(mark.watermark.0));
                    next = mark.after;
                }
                seen.extend(records[next..].iter().map(|&r| Seen::Record(r)));
            }
            ChannelEvent::Watermark(watermark) => seen.push(Seen::Watermark(watermark.0)),
            _ => panic!("only records and watermarks were sent"),
        }
    }
    (seen, events)
}

/// Emits `n` records, each followed by a watermark, into a writer.
type Emit = fn(&mut dyn Output<u64>, u64);

/// Record `i` followed by watermark `i` for `i` in `0..n`, one record per push (a punctuated
/// watermark generator's output).
fn emit_each_with_a_watermark(writer: &mut dyn Output<u64>, n: u64) {
    for i in 0..n {
        writer.push(Batch::from_values(vec![i])).expect("push");
        writer.watermark(Watermark(i as i64)).expect("watermark");
    }
}

/// The same stream as [`emit_each_with_a_watermark`], as one batch with its watermarks (what
/// the timestamps operator passes on).
fn emit_one_marked_batch(writer: &mut dyn Output<u64>, n: u64) {
    let marks: Vec<WatermarkAt> = (0..n)
        .map(|i| WatermarkAt {
            after: i as usize + 1,
            watermark: Watermark(i as i64),
        })
        .collect();
    let batch = Batch::from_values((0..n).collect());
    writer.push_with_watermarks(batch, &marks).expect("push");
}

#[test]
fn watermarks_reach_every_channel_between_the_same_records_in_one_event_per_channel() {
    for emit in [emit_each_with_a_watermark, emit_one_marked_batch] {
        check_round_robin_with_watermarks(emit);
    }
}

fn check_round_robin_with_watermarks(emit: Emit) {
    let (inboxes, senders) = consumers(3);
    let mut writer = PartitionedWriter::new(senders, RoundRobinSelector::new(0), 1000);
    emit(&mut writer, 20);
    writer.flush().expect("flush");
    for (channel, inbox) in inboxes.iter().enumerate() {
        // Reference: the producer's sequence, keeping the records of this channel (round robin
        // from channel 0) and every watermark.
        let expected: Vec<Seen> = (0..20u64)
            .flat_map(|i| {
                let record = (i % 3 == channel as u64).then_some(Seen::Record(i));
                record.into_iter().chain([Seen::Watermark(i as i64)])
            })
            .collect();
        let (seen, events) = drain(inbox);
        assert_eq!(seen, expected, "channel {channel}");
        assert_eq!(events, 1, "channel {channel}: one event for all of it");
    }
}

/// Sends every record to channel 0.
struct FirstChannel;

impl ChannelSelector<u64> for FirstChannel {
    fn select(&mut self, _value: &u64, _num_channels: u32) -> Result<u32, TaskError> {
        Ok(0)
    }
}

#[test]
fn a_channel_without_records_gets_its_watermarks_with_each_batch_sent_elsewhere() {
    let (inboxes, senders) = consumers(2);
    let mut writer = PartitionedWriter::new(senders, FirstChannel, 4);
    emit_each_with_a_watermark(&mut writer, 4);
    // The fourth record filled channel 0's batch: sent with watermarks 0..=2 among its
    // records, and channel 1 got the same watermarks then; watermark 3 is still held.
    let first = |n| (0..n).map(|i| [Seen::Record(i), Seen::Watermark(i as i64)]);
    let mut expected: Vec<Seen> = first(3).flatten().collect();
    expected.push(Seen::Record(3));
    assert_eq!(drain(&inboxes[0]), (expected, 1));
    assert_eq!(
        drain(&inboxes[1]),
        ((0..3).map(Seen::Watermark).collect(), 1)
    );
    writer.flush().expect("flush");
    assert_eq!(drain(&inboxes[0]), (vec![Seen::Watermark(3)], 1));
    assert_eq!(drain(&inboxes[1]), (vec![Seen::Watermark(3)], 1));
}

#[test]
fn one_target_with_many_consumers_keeps_every_watermark_for_each() {
    for emit in [emit_each_with_a_watermark, emit_one_marked_batch] {
        check_one_target_with_watermarks(emit);
    }
}

fn check_one_target_with_watermarks(emit: Emit) {
    // Global partitioning: records to channel 0 only, watermarks to both.
    let (inboxes, senders) = consumers(2);
    let mut writer = SingleChannelWriter::new(senders, 0, 1000);
    emit(&mut writer, 5);
    writer.end_of_input().expect("end of input");
    let (seen, _) = drain_until_end(&inboxes[0]);
    let expected: Vec<Seen> = (0..5u64)
        .flat_map(|i| [Seen::Record(i), Seen::Watermark(i as i64)])
        .collect();
    assert_eq!(seen, expected);
    let (seen, _) = drain_until_end(&inboxes[1]);
    assert_eq!(seen, (0..5).map(Seen::Watermark).collect::<Vec<_>>());
}

/// Like [`drain`], for a channel that ends with its end of partition (checked, not returned).
fn drain_until_end(inbox: &TaskInbox) -> (Vec<Seen>, usize) {
    let mut end = None;
    let mut events = Vec::new();
    while let Some(InboxItem::Event(channel, event)) = inbox.try_next() {
        match event {
            ChannelEvent::EndOfPartition => end = Some(()),
            event => events.push((channel, event)),
        }
    }
    assert!(end.is_some(), "the channel ended");
    let replay = TaskInbox::new(1000, 0);
    let flag = AtomicBool::new(false);
    for (channel, event) in events {
        replay.send(channel, event, &flag).expect("replay");
    }
    drain(&replay)
}

#[test]
fn watermarks_without_records_are_sent_once_a_batch_size_per_channel_is_held() {
    // Two channels, batch size 4: a channel sends after (2 + 1) x 4 watermarks.
    let (inboxes, senders) = consumers(2);
    let mut writer = PartitionedWriter::new(senders, FirstChannel, 4);
    for w in 0..25 {
        writer.watermark(Watermark(w)).expect("watermark");
    }
    // Two events of twelve watermarks each per channel; the 25th waits for the flush.
    let first: Vec<Seen> = (0..24).map(Seen::Watermark).collect();
    for inbox in &inboxes {
        assert_eq!(drain(inbox), (first.clone(), 2));
    }
    writer.flush().expect("flush");
    for inbox in &inboxes {
        assert_eq!(drain(inbox), (vec![Seen::Watermark(24)], 1));
    }
}

#[test]
fn a_watermark_per_record_still_fills_each_channels_batches() {
    // Round robin over two channels, batch size 4, a watermark after every record: each
    // channel gets every watermark but half the records, and still sends full batches.
    // Per record: two batches of four; as one marked batch: its share, whole.
    let cases: [(Emit, &[usize]); 2] = [
        (emit_each_with_a_watermark, &[4, 4]),
        (emit_one_marked_batch, &[8]),
    ];
    for (emit, expected) in cases {
        let (inboxes, senders) = consumers(2);
        let mut writer = PartitionedWriter::new(senders, RoundRobinSelector::new(0), 4);
        emit(&mut writer, 16);
        for (channel, inbox) in inboxes.iter().enumerate() {
            // Records per event that carried records (events of watermarks alone aside).
            let mut batches = Vec::new();
            while let Some(InboxItem::Event(_, event)) = inbox.try_next() {
                match event {
                    ChannelEvent::Batch(_, len) | ChannelEvent::MarkedBatch(_, len, _) => {
                        batches.extend((len > 0).then_some(len))
                    }
                    ChannelEvent::Watermark(_) => {}
                    _ => panic!("only records and watermarks were sent"),
                }
            }
            assert_eq!(batches, expected, "channel {channel}: full batches");
        }
    }
}

#[test]
fn broadcast_sends_every_record_and_watermark_to_every_channel() {
    for emit in [emit_each_with_a_watermark, emit_one_marked_batch] {
        let (inboxes, senders) = consumers(2);
        let mut writer = BroadcastWriter::new(senders, 1000);
        emit(&mut writer, 6);
        writer.flush().expect("flush");
        let expected: Vec<Seen> = (0..6u64)
            .flat_map(|i| [Seen::Record(i), Seen::Watermark(i as i64)])
            .collect();
        for inbox in &inboxes {
            assert_eq!(drain(inbox), (expected.clone(), 1));
        }
    }
}

#[test]
fn records_owning_memory_are_lent_to_several_consumers_and_dropped_by_their_producer() {
    let (inboxes, senders) = consumers(2);
    let mut writer = PartitionedWriter::new(senders, RoundRobinSelector::new(0), 3);
    let words: Vec<String> = (0..12).map(|i| format!("word-{i}")).collect();
    writer
        .push(Batch::from_values(words[..6].to_vec()))
        .expect("push");
    // Each consumer copies what it receives and hands the original back.
    let mut received: Vec<Vec<String>> = vec![Vec::new(); 2];
    let mut returns = Vec::new();
    for (channel, inbox) in inboxes.iter().enumerate() {
        let lent_to = inbox.returns(0).expect("batches of strings are lent");
        while let Some(InboxItem::Event(_, ChannelEvent::Batch(batch, _))) = inbox.try_next() {
            let copy = receive_batch::<String>(batch, Some(&lent_to)).expect("strings");
            received[channel].extend(copy.into_values());
        }
        returns.push(lent_to);
    }
    assert!(
        Arc::ptr_eq(&returns[0], &returns[1]),
        "one place per producer"
    );
    assert_eq!(returns[0].len(), 2, "both consumers handed a batch back");
    // The producer drops what came back when it next sends.
    writer
        .push(Batch::from_values(words[6..].to_vec()))
        .expect("push");
    assert_eq!(returns[0].len(), 0);
    for (channel, inbox) in inboxes.iter().enumerate() {
        while let Some(InboxItem::Event(_, ChannelEvent::Batch(batch, _))) = inbox.try_next() {
            let copy = receive_batch::<String>(batch, inbox.returns(0).as_deref()).unwrap();
            received[channel].extend(copy.into_values());
        }
    }
    let expected: Vec<Vec<String>> = (0..2)
        .map(|c| words.iter().skip(c).step_by(2).cloned().collect())
        .collect();
    assert_eq!(received, expected);
}

#[test]
fn plain_records_and_single_consumers_are_not_lent() {
    let (inboxes, senders) = consumers(2);
    let _writer = PartitionedWriter::<u64, _>::new(senders, RoundRobinSelector::new(0), 3);
    assert!(inboxes.iter().all(|inbox| inbox.returns(0).is_none()));
    let (inboxes, senders) = consumers(1);
    let _writer = PartitionedWriter::<String, _>::new(senders, RoundRobinSelector::new(0), 3);
    assert!(inboxes[0].returns(0).is_none());
}

#[test]
fn keys_built_by_the_selector_travel_with_their_records_unless_watermarks_do() {
    let (inboxes, senders) = consumers(2);
    let selector = KeyGroupSelector::new(|s: &String| s.clone(), 128, "Source (1/1)".into())
        .carrying_keys(senders.len());
    let mut writer = PartitionedWriter::new(senders, selector, 4);
    let words: Vec<String> = (0..40).map(|i| format!("w{}", i % 7)).collect();
    writer
        .push(Batch::from_values(words.clone()))
        .expect("push");
    writer.flush().expect("flush");
    let mut received = Vec::new();
    for inbox in &inboxes {
        let returns = inbox.returns(0).expect("carried keys are lent");
        while let Some(InboxItem::Event(_, ChannelEvent::Batch(batch, len))) = inbox.try_next() {
            let carried = batch
                .downcast_ref::<CarriedBatch<String>>()
                .expect("records with their keys");
            let keys = carried.keys.downcast_ref::<Vec<String>>().expect("keys");
            assert_eq!(carried.batch.len(), len);
            assert_eq!(
                keys.as_slice(),
                carried.batch.values(),
                "one key per record"
            );
            received.extend(keys.iter().cloned());
            returns.give_back(batch);
        }
    }
    received.sort();
    let mut sent = words.clone();
    sent.sort();
    assert_eq!(received, sent, "each record once, with its key");
    // With a watermark among them, records go without keys.
    writer.push(Batch::from_values(words)).expect("push");
    writer.watermark(Watermark(7)).expect("watermark");
    writer
        .push(Batch::from_values(vec!["after".to_string()]))
        .expect("push");
    writer.flush().expect("flush");
    let mut marked = 0;
    for inbox in &inboxes {
        while let Some(InboxItem::Event(_, event)) = inbox.try_next() {
            match event {
                ChannelEvent::MarkedBatch(batch, _, _) => {
                    assert!(batch.is::<Batch<String>>(), "records alone");
                    marked += 1;
                }
                ChannelEvent::Batch(batch, _) => assert!(batch.is::<CarriedBatch<String>>()),
                ChannelEvent::Watermark(_) => {}
                _ => panic!("only batches and watermarks were sent"),
            }
        }
    }
    assert!(marked > 0, "the watermark went with records");
}
