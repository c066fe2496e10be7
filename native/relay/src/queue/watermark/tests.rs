use super::*;

#[test]
fn low_watermark_advances_only_when_every_shard_acked() {
    let mut acks = Acks::new(2, None);
    acks.register(1, vec![1, 1]).unwrap();
    acks.register(2, vec![1, 0]).unwrap();
    acks.ack(1, 0, 1).unwrap();
    assert_eq!(acks.progress().low_watermark, None);
    acks.ack(2, 0, 1).unwrap();
    assert_eq!(acks.progress().low_watermark, None);
    acks.ack(1, 1, 1).unwrap();
    assert_eq!(acks.progress().low_watermark, Some(2));
    assert!(acks.is_idle());
}

#[test]
fn shard_watermark_covers_what_that_shard_finished_even_if_another_lags() {
    let mut acks = Acks::new(2, None);
    acks.register(10, vec![2, 1]).unwrap();
    acks.register(11, vec![1, 1]).unwrap();
    acks.register(12, vec![0, 1]).unwrap();
    acks.ack(10, 0, 1).unwrap();
    assert_eq!(acks.progress().shards, vec![None, None]);
    acks.ack(10, 0, 1).unwrap();
    acks.ack(11, 0, 1).unwrap();
    // Shard 0 has nothing in record 12: it is done up to 12; shard 1 has acked nothing.
    assert_eq!(acks.progress().shards, vec![Some(12), None]);
    assert_eq!(acks.progress().low_watermark, None);
    acks.ack(10, 1, 1).unwrap();
    assert_eq!(acks.progress().low_watermark, Some(10));
    assert_eq!(acks.progress().shards, vec![Some(12), Some(10)]);
}

#[test]
fn record_without_items_is_done_at_once() {
    let mut acks = Acks::new(3, None);
    acks.register(5, vec![0, 0, 0]).unwrap();
    assert_eq!(acks.progress().low_watermark, Some(5));
}

#[test]
fn out_of_order_registration_and_unexpected_acks_are_errors() {
    let mut acks = Acks::new(1, None);
    acks.register(5, vec![1]).unwrap();
    assert_eq!(
        acks.register(5, vec![1]),
        Err(AckError::OutOfOrder { seq: 5, last: 5 })
    );
    assert_eq!(
        acks.ack(5, 0, 2),
        Err(AckError::Unexpected { seq: 5, shard: 0 })
    );
    assert_eq!(
        acks.ack(6, 0, 1),
        Err(AckError::Unexpected { seq: 6, shard: 0 })
    );
}

#[test]
fn subscribers_see_every_advance() {
    let mut acks = Acks::new(1, None);
    let rx = acks.subscribe();
    acks.register(1, vec![1]).unwrap();
    acks.ack(1, 0, 1).unwrap();
    assert_eq!(rx.borrow().low_watermark, Some(1));
}

#[test]
fn replay_skips_only_what_its_shard_acknowledged() {
    let loaded = ShardProgress {
        low_watermark: Some(10),
        shards: vec![Some(12), Some(10)],
    };
    let skip = ReplaySkip::new(Some(&loaded));
    assert_eq!(skip.shards(), Some(2));
    assert!(skip.should_skip(11, 0));
    assert!(skip.should_skip(12, 0));
    assert!(!skip.should_skip(13, 0));
    assert!(!skip.should_skip(11, 1));
    assert!(!skip.should_skip(11, 2));
    assert!(!ReplaySkip::new(None).should_skip(0, 0));
}

#[test]
fn loaded_progress_restores_watermarks_and_rejects_old_records() {
    let loaded = ShardProgress {
        low_watermark: Some(10),
        shards: vec![Some(12), Some(10)],
    };
    let mut acks = Acks::new(2, Some(&loaded));
    assert_eq!(acks.progress(), &loaded);
    assert!(acks.register(10, vec![0, 0]).is_err());
    acks.register(11, vec![0, 1]).unwrap();
    assert_eq!(acks.progress().shards, vec![Some(12), Some(10)]);
    acks.ack(11, 1, 1).unwrap();
    assert_eq!(acks.progress().low_watermark, Some(11));
    assert_eq!(acks.progress().shards, vec![Some(12), Some(11)]);
}

#[test]
fn reset_after_drain_puts_every_shard_at_the_low_watermark() {
    let mut acks = Acks::new(2, None);
    acks.register(3, vec![1, 0]).unwrap();
    acks.ack(3, 0, 1).unwrap();
    acks.reset_shards(4);
    assert_eq!(acks.progress().shards, vec![Some(3); 4]);
}

#[test]
fn batch_ack_with_an_unknown_record_still_applies_the_known_ones() {
    let mut acks = Acks::new(1, None);
    acks.register(1, vec![2]).unwrap();
    assert_eq!(
        acks.ack_batch(0, &[(1, 2), (9, 1)]),
        Err(AckError::Unexpected { seq: 9, shard: 0 })
    );
    assert_eq!(acks.progress().low_watermark, Some(1));
}

#[test]
fn idle_shard_follows_every_new_record() {
    let mut acks = Acks::new(2, None);
    acks.register(1, vec![1, 0]).unwrap();
    acks.register(2, vec![1, 0]).unwrap();
    // Shard 1 has nothing pending: it is done with everything registered.
    assert_eq!(acks.progress().shards, vec![None, Some(2)]);
    acks.ack_batch(0, &[(1, 1), (2, 1)]).unwrap();
    assert_eq!(acks.progress().shards, vec![Some(2), Some(2)]);
    assert_eq!(acks.progress().low_watermark, Some(2));
}
