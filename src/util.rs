//! Small helpers: the crate's one `lock()`, randomness without a `rand`
//! dependency, request ids, saturating clock arithmetic.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Locks `m`, taking over a lock poisoned by a panic: every critical
/// section of this crate leaves its data consistent at each step, and a
/// listener's panic must not take the client down with it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// How far in the future "never" is: what [`after`] and [`later`] give
/// when the sum would not fit in an `Instant`.
const FAR_FUTURE: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// `now + d`, saturating at about 100 years from now instead of panicking
/// (for durations from the builder or a server).
pub(crate) fn after(d: Duration) -> Instant {
    later(Instant::now(), d)
}

/// `at + d`, saturating at about 100 years after `at` instead of panicking.
pub(crate) fn later(at: Instant, d: Duration) -> Instant {
    at.checked_add(d.min(FAR_FUTURE))
        .or_else(|| at.checked_add(FAR_FUTURE))
        .unwrap_or(at)
}

thread_local! {
    static RNG: Cell<u64> = Cell::new(seed());
}

/// A per-thread seed from the OS-randomised `RandomState` keys.
fn seed() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish() | 1
}

/// A fast, non-cryptographic random number (SplitMix64 per thread).
pub(crate) fn random_u64() -> u64 {
    RNG.with(|s| {
        let mut z = s.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        s.set(z);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    })
}

/// A uniform random float in `[0, 1)`.
pub(crate) fn random_f64() -> f64 {
    (random_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// A fresh request id in UUID v4 text form, as a header value.
///
/// Written digit by digit on the stack and copied once into the value:
/// two `format!`s cost about 3,000 instructions and three allocations per
/// request, a sixth of what a whole register call costs on top of ureq.
pub(crate) fn request_id_header() -> ureq::http::HeaderValue {
    // Hex digits and dashes only: always a valid header value.
    ureq::http::HeaderValue::from_bytes(&request_id_bytes())
        .unwrap_or_else(|_| ureq::http::HeaderValue::from_static("0"))
}

fn request_id_bytes() -> [u8; 36] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    // Version 4 (the top nibble of the third group) and the RFC 4122
    // variant (the top two bits of the fourth).
    let hi = (random_u64() & !(0xF << 12)) | (0x4 << 12);
    let lo = (random_u64() & !(0x3 << 62)) | (0x2 << 62);
    let mut digits = [0u8; 32];
    for (i, d) in digits.iter_mut().enumerate() {
        let word = if i < 16 { hi } else { lo };
        *d = HEX[((word >> (60 - 4 * (i % 16))) & 0xF) as usize];
    }
    let mut out = [b'-'; 36];
    out[..8].copy_from_slice(&digits[..8]);
    out[9..13].copy_from_slice(&digits[8..12]);
    out[14..18].copy_from_slice(&digits[12..16]);
    out[19..23].copy_from_slice(&digits[16..20]);
    out[24..].copy_from_slice(&digits[20..]);
    out
}

/// The hasher of maps keyed by what this client itself made (beat keys,
/// server labels), never by what a server sent: rustc's Fx hash (the
/// `rustc-hash` crate), a multiply and a rotate per word where SipHash
/// takes a few hundred instructions per key. A registration hashes its
/// beat key once, and a growing table re-hashes every key: together a
/// twentieth of a register call's instructions with SipHash (callgrind).
pub(crate) type FastHash = rustc_hash::FxBuildHasher;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_look_like_uuid_v4_and_differ() {
        let (a, b) = (request_id_header(), request_id_header());
        let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
        let dashes: Vec<usize> = a.match_indices('-').map(|(i, _)| i).collect();
        assert_eq!(dashes, [8, 13, 18, 23], "{a}");
        assert!(a.bytes().all(|c| c == b'-' || c.is_ascii_hexdigit()), "{a}");
    }

    #[test]
    fn instant_sums_saturate() {
        let now = Instant::now();
        assert_eq!(
            later(now, Duration::from_secs(1)),
            now + Duration::from_secs(1)
        );
        let far = later(now, Duration::MAX);
        assert!(far > now + Duration::from_secs(365 * 24 * 3600));
        assert!(after(Duration::MAX) > now);
        assert!(after(Duration::from_secs(u64::MAX)) > now);
    }

    #[test]
    fn random_f64_in_unit_interval() {
        for _ in 0..10_000 {
            let x = random_f64();
            assert!((0.0..1.0).contains(&x));
        }
    }
}
