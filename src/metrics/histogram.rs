//! A latency histogram of fixed buckets, updated with one atomic add: four
//! buckets per power of two of microseconds, so a quantile read from it is
//! within 12.5% of the true value, from 1 µs to about 19 hours.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Sub-buckets per power of two.
const SUB: u32 = 4;
/// Powers of two of microseconds covered (2^36 µs ≈ 19 h; longer lands in
/// the last bucket).
const OCTAVES: u32 = 36;
const BUCKETS: usize = (OCTAVES * SUB) as usize;

pub(crate) struct Histogram {
    buckets: [AtomicU64; BUCKETS],
    count: AtomicU64,
    max_us: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Histogram {
        Histogram {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            count: AtomicU64::new(0),
            max_us: AtomicU64::new(0),
        }
    }
}

/// The bucket of `us` microseconds: values below 4 µs have a bucket each,
/// then each octave `[2^k, 2^(k+1))` is cut into four equal parts.
fn bucket(us: u64) -> usize {
    if us < u64::from(SUB) {
        return us as usize;
    }
    let octave = 63 - us.leading_zeros(); // >= 2
    let part = (us >> (octave - 2)) & 0b11;
    let index = (octave - 1) * SUB + part as u32;
    (index as usize).min(BUCKETS - 1)
}

/// The middle of bucket `index`, in microseconds.
fn middle(index: usize) -> u64 {
    let index = index as u32;
    if index < SUB {
        return u64::from(index);
    }
    let octave = index / SUB + 1;
    let part = u64::from(index % SUB);
    let width = 1u64 << (octave - 2);
    (1u64 << octave) + part * width + width / 2
}

impl Histogram {
    pub(crate) fn record(&self, took: Duration) {
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.buckets[bucket(us)].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.max_us.fetch_max(us, Ordering::Relaxed);
    }

    /// The `q` quantile (0 < q ≤ 1) of what was recorded, `None` before
    /// anything was.
    pub(crate) fn quantile(&self, q: f64) -> Option<Duration> {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = ((total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0u64;
        for (i, c) in counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let max = self.max_us.load(Ordering::Relaxed);
                return Some(Duration::from_micros(middle(i).min(max)));
            }
        }
        None
    }

    pub(crate) fn max(&self) -> Duration {
        Duration::from_micros(self.max_us.load(Ordering::Relaxed))
    }

    #[cfg(test)]
    fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_ordered_and_cover_every_value() {
        let mut last = 0;
        for us in 0..100_000u64 {
            let b = bucket(us);
            assert!(b >= last, "{us} µs went back from bucket {last} to {b}");
            assert!(b <= last + 1, "{us} µs skipped a bucket");
            last = b;
        }
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn a_bucket_middle_is_within_an_eighth_of_its_values() {
        for us in 4..1_000_000u64 {
            let m = middle(bucket(us)) as f64;
            let err = (m - us as f64).abs() / us as f64;
            assert!(err <= 0.125, "{us} µs reads as {m} µs");
        }
    }

    #[test]
    fn quantiles_of_a_known_spread() {
        let h = Histogram::default();
        assert_eq!(h.quantile(0.5), None);
        // 1..=1000 ms: p50 500 ms, p99 990 ms.
        for ms in 1..=1000u64 {
            h.record(Duration::from_millis(ms));
        }
        assert_eq!(h.count(), 1000);
        let p50 = h.quantile(0.5).unwrap().as_secs_f64();
        let p99 = h.quantile(0.99).unwrap().as_secs_f64();
        assert!((p50 - 0.5).abs() / 0.5 <= 0.125, "p50 {p50}");
        assert!((p99 - 0.99).abs() / 0.99 <= 0.125, "p99 {p99}");
        assert_eq!(h.max(), Duration::from_millis(1000));
        // Never above the largest value recorded.
        assert!(h.quantile(1.0).unwrap() <= h.max());
    }
}
