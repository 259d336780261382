//! What every scenario measures about its own process: CPU time (user and
//! system, all threads), wall time, threads and resident memory.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

/// The system allocator, counting allocations and reallocations (one
/// relaxed atomic add each: the same small cost for every contender).
pub struct CountingAlloc;

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        System.alloc_zeroed(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

/// Allocations (and reallocations) this process has made so far.
pub fn allocations() -> u64 {
    ALLOCS.load(Ordering::Relaxed)
}

/// CPU time of this process so far, all threads: `(user, system)` seconds.
pub fn cpu_seconds() -> (f64, f64) {
    // SAFETY: getrusage only writes into the zeroed struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    assert_eq!(rc, 0, "getrusage failed");
    let secs = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    (secs(ru.ru_utime), secs(ru.ru_stime))
}

/// A field of `/proc/self/status` (`Threads`, `VmRSS` in kB, ...).
pub fn proc_status(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))
                .and_then(|l| l[field.len() + 1..].split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

/// A running measurement of wall and CPU time.
pub struct Span {
    wall: Instant,
    cpu: (f64, f64),
    allocs: u64,
}

/// What a [`Span`] measured.
pub struct Sample {
    pub wall_s: f64,
    pub user_s: f64,
    pub sys_s: f64,
    pub threads: u64,
    pub rss_kb: u64,
    /// Allocations made in the span, by every thread.
    pub allocs: u64,
}

impl Span {
    pub fn start() -> Span {
        let cpu = cpu_seconds();
        Span {
            wall: Instant::now(),
            cpu,
            allocs: allocations(),
        }
    }

    pub fn stop(self) -> Sample {
        let wall_s = self.wall.elapsed().as_secs_f64();
        let (u, s) = cpu_seconds();
        let allocs = allocations() - self.allocs;
        Sample {
            allocs,
            wall_s,
            user_s: u - self.cpu.0,
            sys_s: s - self.cpu.1,
            threads: proc_status("Threads"),
            rss_kb: proc_status("VmRSS"),
        }
    }
}

impl Sample {
    /// The JSON fields every scenario reports (without braces).
    pub fn json_fields(&self) -> String {
        format!(
            "\"wall_s\":{:.6},\"user_s\":{:.6},\"sys_s\":{:.6},\"threads\":{},\"rss_kb\":{},\"allocs\":{}",
            self.wall_s, self.user_s, self.sys_s, self.threads, self.rss_kb, self.allocs
        )
    }
}
