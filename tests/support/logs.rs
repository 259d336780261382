//! A logger that keeps every record at DEBUG and above (TRACE with
//! [`install_trace`]), from every crate, for assertions.

use std::sync::{Mutex, OnceLock};

struct Capture(Mutex<Vec<String>>);

impl log::Log for Capture {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.level() <= log::max_level()
    }
    fn log(&self, r: &log::Record) {
        if self.enabled(r.metadata()) {
            self.0
                .lock()
                .unwrap()
                .push(format!("{} {} {}", r.level(), r.target(), r.args()));
        }
    }
    fn flush(&self) {}
}

fn capture() -> &'static Capture {
    static C: OnceLock<Capture> = OnceLock::new();
    C.get_or_init(|| Capture(Mutex::new(Vec::new())))
}

/// Installs the capturing logger (once per process) at DEBUG.
pub fn install() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        log::set_logger(capture()).expect("no other logger");
        log::set_max_level(log::LevelFilter::Debug);
    });
}

/// Installs the capturing logger and raises it to TRACE for every crate
/// (ureq's and rustls's records included) for the rest of the process.
pub fn install_trace() {
    install();
    log::set_max_level(log::LevelFilter::Trace);
}

/// Every line captured so far.
pub fn lines() -> Vec<String> {
    capture().0.lock().unwrap().clone()
}
