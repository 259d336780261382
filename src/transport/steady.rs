//! Socket timeouts set again only when they really change.
//!
//! ureq hands every read and write of a request the time left of its
//! deadline, and its TCP transport sets the socket's `SO_RCVTIMEO` /
//! `SO_SNDTIMEO` whenever that value differs from the last one set: with a
//! client timeout, that is two `setsockopt` calls per request, since the
//! time left is a few microseconds different each time. This layer hands
//! the transport the value it set last when the new one is within
//! [`SLACK`] of it, so a keep-alive connection's socket keeps its timeouts
//! from one request to the next. A read or write may then give up at most
//! [`SLACK`] away from its exact deadline (the same slack a first attempt
//! already takes when it runs on the agent's own timeouts).

use std::time::Duration;

use ureq::unversioned::transport::time::Duration as Timer;
use ureq::unversioned::transport::{Buffers, ConnectionDetails, Connector, NextTimeout, Transport};

/// How far a timeout may drift from the one set before it is set again.
pub(super) const SLACK: Duration = Duration::from_millis(1);

/// Wraps whatever transport the connectors before it made.
#[derive(Debug, Default)]
pub(super) struct SteadyTimeouts;

impl Connector<Box<dyn Transport>> for SteadyTimeouts {
    type Out = Steady;

    fn connect(
        &self,
        _: &ConnectionDetails,
        chained: Option<Box<dyn Transport>>,
    ) -> Result<Option<Steady>, ureq::Error> {
        Ok(chained.map(|inner| Steady {
            inner,
            read: None,
            write: None,
        }))
    }
}

/// A transport whose read and write timeouts are kept steady.
#[derive(Debug)]
pub(super) struct Steady {
    inner: Box<dyn Transport>,
    /// The last read and write timeouts handed on.
    read: Option<Duration>,
    write: Option<Duration>,
}

impl Transport for Steady {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        let timeout = steady(&mut self.write, timeout);
        self.inner.transmit_output(amount, timeout)
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        let timeout = steady(&mut self.read, timeout);
        self.inner.await_input(timeout)
    }

    fn is_open(&mut self) -> bool {
        self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
}

/// `timeout` with its duration replaced by `last` when they are within
/// [`SLACK`] of each other; otherwise `timeout` as it is, remembered.
/// Per-read and per-write limits (which this client never sets) are left
/// alone, as is a timeout that never happens.
fn steady(last: &mut Option<Duration>, mut timeout: NextTimeout) -> NextTimeout {
    let Timer::Exact(now) = timeout.after else {
        *last = None;
        return timeout;
    };
    match *last {
        Some(prev) if prev.abs_diff(now) <= SLACK && !now.is_zero() => {
            timeout.after = Timer::Exact(prev);
        }
        _ => *last = Some(now),
    }
    timeout
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after(ms: f64) -> NextTimeout {
        NextTimeout {
            after: Timer::Exact(Duration::from_secs_f64(ms / 1000.0)),
            ..NextTimeout::default()
        }
    }

    fn exact(t: &NextTimeout) -> Duration {
        match t.after {
            Timer::Exact(d) => d,
            Timer::NotHappening => Duration::MAX,
        }
    }

    #[test]
    fn a_timeout_within_the_slack_of_the_last_is_the_last() {
        let mut last = None;
        let first = steady(&mut last, after(10_000.0));
        assert_eq!(exact(&first), Duration::from_secs(10));
        // A few microseconds less (the next request's time left), or more.
        let second = steady(&mut last, after(9_999.99));
        assert_eq!(exact(&second), Duration::from_secs(10));
        assert_eq!(
            exact(&steady(&mut last, after(10_000.5))),
            Duration::from_secs(10)
        );
        // Past the slack: handed on as it is, and remembered.
        let shorter = steady(&mut last, after(9_998.0));
        assert_eq!(exact(&shorter), Duration::from_millis(9_998));
        assert_eq!(last, Some(Duration::from_millis(9_998)));
        // A retry's short budget is never stretched to a long one.
        assert_eq!(
            exact(&steady(&mut last, after(50.0))),
            Duration::from_millis(50)
        );
    }

    #[test]
    fn zero_and_never_are_handed_on() {
        let mut last = Some(Duration::from_micros(500));
        // Out of time is out of time, even within the slack.
        assert_eq!(exact(&steady(&mut last, after(0.0))), Duration::ZERO);
        let never = NextTimeout {
            after: Timer::NotHappening,
            ..NextTimeout::default()
        };
        assert!(matches!(
            steady(&mut last, never).after,
            Timer::NotHappening
        ));
        assert_eq!(last, None);
    }
}
