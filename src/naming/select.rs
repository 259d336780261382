//! Weighted random choice among instances that can take traffic.

use crate::naming::instance::Instance;
use crate::util::random_f64;

/// Picks one healthy, enabled instance with weight > 0, with probability
/// proportional to its weight; `None` when there is no such instance. What
/// [`select_one_healthy_instance`](crate::NacosClient::select_one_healthy_instance)
/// does, for any list: a load balancer over a watched list calls it per
/// request without asking the server.
///
/// ```
/// use nacos_blocking::{pick_weighted, Instance};
/// let hosts = vec![
///     Instance::builder("10.0.0.1", 80).weight(1.0).build(),
///     Instance::builder("10.0.0.2", 80).weight(3.0).build(),
///     Instance::builder("10.0.0.3", 80).healthy(false).build(),
/// ];
/// let one = pick_weighted(&hosts).unwrap();
/// assert_ne!(one.ip, "10.0.0.3");
/// ```
pub fn pick_weighted(hosts: &[Instance]) -> Option<&Instance> {
    // Two passes over the slice instead of a list of candidates: no
    // allocation on a call a load balancer makes per request.
    let candidates = || hosts.iter().filter(|h| h.is_available());
    let total: f64 = candidates().map(|h| h.weight).sum();
    if total <= 0.0 {
        return None;
    }
    let mut point = random_f64() * total;
    let mut last = None;
    for h in candidates() {
        if point < h.weight {
            return Some(h);
        }
        point -= h.weight;
        last = Some(h);
    }
    // Rounding can leave `point` a hair above the last weight.
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_weights_and_skips_unavailable() {
        let hosts = vec![
            Instance::builder("10.0.0.1", 1).weight(1.0).build(),
            Instance::builder("10.0.0.2", 2).weight(3.0).build(),
            Instance::builder("10.0.0.3", 3)
                .weight(100.0)
                .healthy(false)
                .build(),
            Instance::builder("10.0.0.4", 4)
                .weight(100.0)
                .enabled(false)
                .build(),
            Instance::builder("10.0.0.5", 5).weight(0.0).build(),
        ];
        let mut counts = [0u32; 6];
        let n = 40_000;
        for _ in 0..n {
            counts[pick_weighted(&hosts).unwrap().port as usize] += 1;
        }
        assert_eq!(counts[3] + counts[4] + counts[5], 0);
        let share = counts[2] as f64 / n as f64;
        assert!((share - 0.75).abs() < 0.02, "{share}");
        assert!(pick_weighted(&hosts[2..]).is_none());
        assert!(pick_weighted(&[]).is_none());
    }
}
