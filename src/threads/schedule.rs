//! The one scheduler of the crate: a due-time heap shared by heartbeats
//! (`heartbeat/`) and subscription polls (`subscribe/registry`), the
//! jitter that keeps items scheduled together apart, and the backoff after
//! failures (subscription polls, config polls; heartbeats keep their
//! interval, as Java's do).
//!
//! A min-heap of `(due time, insertion order)`. Items are never removed
//! from the middle: a replaced or removed item leaves a stale one behind,
//! tagged with what was current then, which its owner recognises and drops
//! when it comes due. That keeps every operation `O(log n)`.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

/// One scheduled item: `key` with its `tag` (a generation, an entry id:
/// whatever tells a stale item from a live one), due at `at`.
#[derive(Debug)]
pub(crate) struct Due<K> {
    pub(crate) at: Instant,
    seq: u64,
    pub(crate) key: K,
    pub(crate) tag: u64,
}

impl<K> PartialEq for Due<K> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl<K> Eq for Due<K> {}
impl<K> PartialOrd for Due<K> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<K> Ord for Due<K> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// Due times of every scheduled item, earliest first; ties in push order.
#[derive(Debug)]
pub(crate) struct Timers<K> {
    heap: BinaryHeap<Reverse<Due<K>>>,
    seq: u64,
    /// When the thread taking due items will look by itself (`None`: it
    /// is not waiting): an item due earlier must wake it.
    planned: Option<Instant>,
}

impl<K> Timers<K> {
    pub(crate) fn new() -> Timers<K> {
        Timers {
            heap: BinaryHeap::new(),
            seq: 0,
            planned: None,
        }
    }

    /// Schedules `key` (with `tag`) at `at`; `true` when that is before
    /// the planned look (see [`plan`](Self::plan)), so the thread taking
    /// due items must be woken: otherwise it finds the item in time by
    /// itself, at no thread switch.
    pub(crate) fn push(&mut self, at: Instant, key: K, tag: u64) -> bool {
        self.seq += 1;
        self.heap.push(Reverse(Due {
            at,
            seq: self.seq,
            key,
            tag,
        }));
        self.planned.is_none_or(|p| at < p)
    }

    /// Notes when the thread taking due items will look next by itself.
    pub(crate) fn plan(&mut self, at: Option<Instant>) {
        self.planned = at;
    }

    /// When the earliest item is due.
    pub(crate) fn next_at(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse(d)| d.at)
    }

    /// How long until the earliest item is due (zero when one is overdue);
    /// `None` when nothing is scheduled.
    pub(crate) fn next_wait(&self, now: Instant) -> Option<Duration> {
        self.heap
            .peek()
            .map(|Reverse(d)| d.at.saturating_duration_since(now))
    }

    /// Takes every item due at or before `now`, earliest first.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Vec<Due<K>> {
        let mut out = Vec::new();
        while self.heap.peek().is_some_and(|Reverse(d)| d.at <= now) {
            let Reverse(d) = self.heap.pop().expect("peeked");
            out.push(d);
        }
        out
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.heap.len()
    }
}

/// `d` give or take up to 10%, so items scheduled together drift apart
/// instead of coming due in one burst every interval.
pub(crate) fn jittered(d: Duration) -> Duration {
    d.mul_f64(0.9 + 0.2 * crate::util::random_f64())
}

/// `d` less up to 10%: jitter that never goes past `d` (a cap).
pub(crate) fn jittered_below(d: Duration) -> Duration {
    d.mul_f64(0.9 + 0.1 * crate::util::random_f64())
}

/// The pause after `failures` failures in a row: `first` (also for none),
/// doubling with each further failure, never more than `cap`.
pub(crate) fn backoff(first: Duration, failures: u32, cap: Duration) -> Duration {
    let doublings = failures.saturating_sub(1).min(31);
    first.saturating_mul(1 << doublings).min(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs<K>(due: Vec<Due<K>>) -> Vec<(K, u64)> {
        due.into_iter().map(|d| (d.key, d.tag)).collect()
    }

    #[test]
    fn empty_heap_has_no_wait() {
        let t: Timers<&str> = Timers::new();
        assert_eq!(t.next_wait(Instant::now()), None);
    }

    #[test]
    fn pops_in_due_order_and_only_what_is_due() {
        let now = Instant::now();
        let s = Duration::from_secs(1);
        let mut t = Timers::new();
        t.push(now + 3 * s, "c", 1);
        t.push(now + s, "a", 1);
        t.push(now + 2 * s, "b", 7);
        assert_eq!(t.next_wait(now), Some(s));
        assert!(t.pop_due(now).is_empty());
        assert_eq!(pairs(t.pop_due(now + 2 * s)), vec![("a", 1), ("b", 7)]);
        assert_eq!(t.len(), 1);
        assert_eq!(t.next_wait(now + 2 * s), Some(s));
        // Overdue: no wait at all.
        assert_eq!(t.next_wait(now + 10 * s), Some(Duration::ZERO));
        assert_eq!(pairs(t.pop_due(now + 10 * s)), vec![("c", 1)]);
        assert_eq!(t.next_wait(now), None);
    }

    #[test]
    fn equal_due_times_pop_in_push_order() {
        let now = Instant::now();
        let mut t = Timers::new();
        for (i, k) in ["x", "y", "z", "w"].into_iter().enumerate() {
            t.push(now, k, i as u64);
        }
        let keys: Vec<_> = t.pop_due(now).into_iter().map(|d| d.key).collect();
        assert_eq!(keys, ["x", "y", "z", "w"]);
    }

    #[test]
    fn a_replaced_key_keeps_both_generations_until_due() {
        let now = Instant::now();
        let mut t = Timers::new();
        t.push(now + Duration::from_secs(5), "k", 1);
        t.push(now + Duration::from_secs(1), "k", 2);
        assert_eq!(
            pairs(t.pop_due(now + Duration::from_secs(1))),
            vec![("k", 2)]
        );
        assert_eq!(
            pairs(t.pop_due(now + Duration::from_secs(5))),
            vec![("k", 1)]
        );
    }

    #[test]
    fn many_items_come_out_sorted() {
        let now = Instant::now();
        let mut t = Timers::new();
        // A scrambled but deterministic order.
        for i in 0..500u64 {
            let ms = (i * 7919) % 500;
            t.push(now + Duration::from_millis(ms), ms, 0);
        }
        let all: Vec<u64> = t
            .pop_due(now + Duration::from_secs(1))
            .into_iter()
            .map(|d| d.key)
            .collect();
        assert_eq!(all.len(), 500);
        assert!(all.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let (first, cap) = (Duration::from_millis(500), Duration::from_secs(5));
        let got: Vec<u128> = (0..7).map(|n| backoff(first, n, cap).as_millis()).collect();
        assert_eq!(got, [500, 500, 1000, 2000, 4000, 5000, 5000]);
        assert_eq!(backoff(first, u32::MAX, cap), cap);
        assert_eq!(backoff(Duration::MAX, 3, cap), cap);
    }

    #[test]
    fn jitter_stays_within_a_tenth() {
        let d = Duration::from_secs(10);
        for _ in 0..1000 {
            let j = jittered(d);
            assert!(
                j >= Duration::from_secs(9) && j <= Duration::from_secs(11),
                "{j:?}"
            );
            let b = jittered_below(d);
            assert!(b >= Duration::from_secs(9) && b <= d, "{b:?}");
        }
    }
}
