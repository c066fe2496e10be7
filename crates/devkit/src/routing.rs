//! Where a stream lands behind Envoy's consistent hashing: the ring depends on the relays'
//! addresses, so a test or a benchmark finds out by probing. A probe is one small write; the
//! relay whose write-request counter (`prw_ingest_requests_total`) moved took it.
//!
//! Invariant: probing needs a quiet cluster (no other writes in flight), or several counters
//! move and the probe is refused rather than guessed.

/// The one relay whose counter grew from `before` to `after` (`None`: a relay that did not
/// answer); an error naming the counts when none or several grew.
pub fn moved_one(before: &[Option<f64>], after: &[Option<f64>]) -> Result<usize, String> {
    let moved: Vec<usize> = before
        .iter()
        .zip(after)
        .enumerate()
        .filter(|(_, (b, a))| a > b)
        .map(|(k, _)| k)
        .collect();
    match moved.as_slice() {
        [k] => Ok(*k),
        _ => Err(format!(
            "one probe write should reach one relay; request counts went from {before:?} to {after:?}"
        )),
    }
}

/// Probes `candidates` in order with `route` (which relay a candidate lands on; `Ok(None)`:
/// this candidate could not be placed, try the next; `Err`: stop) and keeps the first that
/// lands on each of `relays` relays: element `k` of the result lands on relay `k`. `Ok(Err(n))`
/// when the candidates ran out after `n` tries.
pub fn one_per_relay<T, E>(
    relays: usize,
    candidates: impl IntoIterator<Item = T>,
    mut route: impl FnMut(&T) -> Result<Option<usize>, E>,
) -> Result<Result<Vec<T>, usize>, E> {
    let mut found: Vec<Option<T>> = (0..relays).map(|_| None).collect();
    let mut tried = 0;
    for candidate in candidates {
        tried += 1;
        let Some(k) = route(&candidate)? else {
            continue;
        };
        if let Some(slot @ None) = found.get_mut(k) {
            *slot = Some(candidate);
        }
        if found.iter().all(Option::is_some) {
            return Ok(Ok(found.into_iter().flatten().collect()));
        }
    }
    Ok(Err(tried))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_one_moved_counter_names_the_relay() {
        assert_eq!(
            moved_one(&[Some(1.0), Some(5.0)], &[Some(1.0), Some(6.0)]),
            Ok(1)
        );
        assert_eq!(
            moved_one(&[None, Some(5.0)], &[Some(1.0), Some(5.0)]),
            Ok(0)
        );
        assert!(moved_one(&[Some(1.0), Some(5.0)], &[Some(2.0), Some(6.0)]).is_err());
        assert!(moved_one(&[Some(1.0)], &[Some(1.0)]).is_err());
    }

    #[test]
    fn the_first_candidate_per_relay_is_kept_and_unplaced_ones_are_skipped() {
        let route = |c: &u32| Ok::<_, ()>((*c != 3).then_some(*c as usize % 2));
        assert_eq!(one_per_relay(2, [2, 4, 3, 5, 7], route), Ok(Ok(vec![2, 5])));
        assert_eq!(one_per_relay(2, [2, 4, 3], route), Ok(Err(3)));
        let failing = |_: &u32| Err::<Option<usize>, _>("down");
        assert_eq!(one_per_relay(2, [1], failing), Err("down"));
    }
}
