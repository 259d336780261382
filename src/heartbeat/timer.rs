//! The timer heap: which beat is due next.
//!
//! A min-heap of `(due time, insertion order)`. Entries are never removed
//! from the middle: a replaced or removed beat leaves a stale item behind,
//! tagged with the old generation, which the sender recognises and drops
//! when it comes due. That keeps every operation `O(log n)`.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use super::table::Key;

/// One due beat: `key` at generation `gen`, due at `at`.
#[derive(Debug)]
struct Due<K> {
    at: Instant,
    seq: u64,
    key: K,
    gen: u64,
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

/// Due times of every scheduled beat, earliest first; ties in push order.
#[derive(Debug)]
pub(crate) struct Timers<K> {
    heap: BinaryHeap<Reverse<Due<K>>>,
    seq: u64,
}

impl<K> Timers<K> {
    pub(crate) fn new() -> Timers<K> {
        Timers {
            heap: BinaryHeap::new(),
            seq: 0,
        }
    }

    /// Schedules `key` (generation `gen`) at `at`.
    pub(crate) fn push(&mut self, at: Instant, key: K, gen: u64) {
        self.seq += 1;
        self.heap.push(Reverse(Due {
            at,
            seq: self.seq,
            key,
            gen,
        }));
    }

    /// How long until the earliest item is due (zero when one is overdue);
    /// `None` when nothing is scheduled.
    pub(crate) fn next_wait(&self, now: Instant) -> Option<Duration> {
        self.heap
            .peek()
            .map(|Reverse(d)| d.at.saturating_duration_since(now))
    }

    /// Takes every item due at or before `now`, earliest first.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Vec<(K, u64)> {
        let mut out = Vec::new();
        while self.heap.peek().is_some_and(|Reverse(d)| d.at <= now) {
            let Reverse(d) = self.heap.pop().expect("peeked");
            out.push((d.key, d.gen));
        }
        out
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
}

/// The timer heap, shared by the scheduler and whoever schedules a beat.
///
/// Scheduling pushes onto the heap directly and wakes the scheduler only
/// when the new beat is due before the scheduler planned to wake up, so a
/// registration (or a beat rescheduling itself) costs no thread switch.
#[derive(Debug)]
pub(super) struct Schedule {
    pub(super) timers: Timers<Key>,
    /// When the scheduler will wake up by itself (`None`: not waiting).
    pub(super) planned: Option<Instant>,
    /// Wakes the scheduler; `None` until it runs.
    pub(super) wake: Option<Sender<()>>,
}

impl Schedule {
    /// Schedules a beat of `key` (generation `gen`) at `at`.
    pub(super) fn push(&mut self, key: Key, gen: u64, at: Instant) {
        self.timers.push(at, key, gen);
        if self.planned.is_none_or(|p| at < p) {
            if let Some(w) = &self.wake {
                // A full channel already holds a wake-up.
                let _ = w.try_send(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(t.pop_due(now + 2 * s), vec![("a", 1), ("b", 7)]);
        assert_eq!(t.len(), 1);
        assert_eq!(t.next_wait(now + 2 * s), Some(s));
        // Overdue: no wait at all.
        assert_eq!(t.next_wait(now + 10 * s), Some(Duration::ZERO));
        assert_eq!(t.pop_due(now + 10 * s), vec![("c", 1)]);
        assert_eq!(t.next_wait(now), None);
    }

    #[test]
    fn equal_due_times_pop_in_push_order() {
        let now = Instant::now();
        let mut t = Timers::new();
        for (i, k) in ["x", "y", "z", "w"].into_iter().enumerate() {
            t.push(now, k, i as u64);
        }
        let keys: Vec<_> = t.pop_due(now).into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["x", "y", "z", "w"]);
    }

    #[test]
    fn a_replaced_key_keeps_both_generations_until_due() {
        let now = Instant::now();
        let mut t = Timers::new();
        t.push(now + Duration::from_secs(5), "k", 1);
        t.push(now + Duration::from_secs(1), "k", 2);
        assert_eq!(t.pop_due(now + Duration::from_secs(1)), vec![("k", 2)]);
        assert_eq!(t.pop_due(now + Duration::from_secs(5)), vec![("k", 1)]);
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
            .map(|(k, _)| k)
            .collect();
        assert_eq!(all.len(), 500);
        assert!(all.windows(2).all(|w| w[0] <= w[1]));
    }
}
