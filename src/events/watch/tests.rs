use super::*;
use std::sync::atomic::AtomicUsize;
use std::time::Instant;

/// Where a test keeps something it hands out and takes back.
type Slot<T> = Arc<Mutex<Option<T>>>;

/// A watcher fed by hand: the handler comes back through the slot.
fn manual<E: Coalesce + Send + 'static>(stops: Arc<AtomicUsize>) -> (Slot<Feed<E>>, Watcher<E>) {
    let slot = Arc::new(Mutex::new(None));
    let s = slot.clone();
    let w = watcher::<E, ()>(move |h| {
        *lock(&s) = Some(h);
        let s = s.clone();
        Ok(Subscription::new("test".into(), move || {
            stops.fetch_add(1, Ordering::SeqCst);
            lock(&s).take();
        }))
    })
    .unwrap();
    (slot, w)
}

fn send<E: Coalesce + Send + 'static>(slot: &Mutex<Option<Feed<E>>>, e: E) {
    lock(slot).as_mut().unwrap().handle_event(e);
}

#[test]
fn delivers_then_stops_from_another_thread() {
    let stops = Arc::new(AtomicUsize::new(0));
    let (slot, w) = manual::<u32>(stops.clone());
    send(&slot, 1);
    send(&slot, 2);
    assert_eq!(w.try_recv(), Ok(1));
    assert_eq!(w.recv_timeout(Duration::from_millis(10)), Ok(2));
    assert_eq!(
        w.recv_timeout(Duration::from_millis(10)),
        Err(RecvTimeoutError::Timeout)
    );
    assert_eq!(w.try_recv(), Err(TryRecvError::Empty));
    assert!(!w.is_stopped());
    let stopper = w.stopper();
    let t = std::thread::spawn(move || w.iter().collect::<Vec<_>>());
    send(&slot, 3);
    std::thread::sleep(Duration::from_millis(50));
    let at = Instant::now();
    stopper.stop();
    assert_eq!(t.join().unwrap(), vec![3]);
    assert!(at.elapsed() < Duration::from_secs(1));
    stopper.stop();
    assert_eq!(stops.load(Ordering::SeqCst), 1);
    assert!(lock(&slot).is_none(), "the handler was dropped");
}

#[test]
fn events_queued_before_a_stop_are_still_read() {
    let (slot, w) = manual::<u32>(Arc::new(AtomicUsize::new(0)));
    send(&slot, 1);
    send(&slot, 2);
    w.stop();
    assert!(w.is_stopped());
    assert_eq!(w.len(), 2, "is_stopped took nothing");
    let _ = format!("{w:?}");
    assert_eq!(w.try_recv(), Ok(1));
    assert_eq!(w.recv(), Ok(2));
    assert_eq!(w.recv(), Err(Stopped));
    assert_eq!(w.try_recv(), Err(TryRecvError::Stopped));
    assert_eq!(
        w.recv_timeout(Duration::from_secs(5)),
        Err(RecvTimeoutError::Stopped)
    );
}

#[test]
fn a_dropped_feed_ends_the_watcher_and_drop_unsubscribes() {
    let stops = Arc::new(AtomicUsize::new(0));
    let (slot, w) = manual::<u32>(stops.clone());
    send(&slot, 7);
    lock(&slot).take(); // unsubscribed elsewhere
    assert!(w.is_stopped());
    assert_eq!((&w).into_iter().collect::<Vec<_>>(), vec![7]);
    drop(w);
    assert_eq!(stops.load(Ordering::SeqCst), 1);

    let (_slot, w) = manual::<u32>(stops.clone());
    let d = Subscription::new("x".into(), || panic!("detached must not stop"));
    d.detach();
    drop(w);
    assert_eq!(stops.load(Ordering::SeqCst), 2);
}

impl Coalesce for Vec<u32> {
    fn merge(mut self, later: Vec<u32>) -> Vec<u32> {
        self.extend(later);
        self
    }

    fn weight(&self) -> usize {
        4 * self.len()
    }
}

/// 200,000 events through the real delivery path (listener queue, pool
/// thread, feed, channel) to a reader that spins on `try_recv`,
/// `is_stopped` and `Debug`: not one is lost (events merged when the
/// reader falls behind still carry every number).
#[test]
fn no_event_is_lost_to_a_spinning_reader() {
    use crate::events::delivery::{Delivery, Listener};
    const N: u32 = 200_000;
    let pool = Arc::new(Delivery::new(Default::default()));
    let slot: Slot<Arc<Listener<Vec<u32>>>> = Arc::new(Mutex::new(None));
    let s = slot.clone();
    let w = watcher::<Vec<u32>, ()>(move |feed| {
        let l = Listener::new(feed);
        *lock(&s) = Some(l.clone());
        Ok(Subscription::new("stress".into(), move || l.remove()))
    })
    .unwrap();
    let listener = lock(&slot).clone().unwrap();
    let p = pool.clone();
    let producer = std::thread::spawn(move || {
        for n in 0..N {
            listener.push(Arc::new(vec![n]), &p);
        }
    });
    let mut got: Vec<u32> = Vec::with_capacity(N as usize);
    let until = Instant::now() + Duration::from_secs(60);
    while got.len() < N as usize && Instant::now() < until {
        assert!(!w.is_stopped());
        let _ = format!("{w:?}");
        match w.try_recv() {
            Ok(ns) => got.extend(ns),
            Err(TryRecvError::Empty) => std::hint::spin_loop(),
            Err(TryRecvError::Stopped) => panic!("stopped early"),
        }
    }
    producer.join().unwrap();
    assert_eq!(got.len(), N as usize, "events lost");
    assert!(got.iter().copied().eq(0..N), "out of order");
    drop(w);
    assert!(pool.shutdown().is_empty());
}

#[test]
fn a_watcher_nobody_reads_is_bounded_in_bytes_too() {
    // Events of 1 MiB each (by weight): far fewer than 1,024 wait.
    let (slot, w) = manual::<Vec<u32>>(Arc::new(AtomicUsize::new(0)));
    let per = (1 << 20) / 4;
    for n in 0..200u32 {
        send(&slot, vec![n; per]);
    }
    let waiting = w.len();
    assert!(waiting <= QUEUE_BYTES / (1 << 20) + 1, "{waiting} waiting");
    let all: Vec<u32> = w.try_iter().flatten().collect();
    assert_eq!(all.len(), 200 * per, "nothing lost");
    assert!(all.windows(2).all(|p| p[0] <= p[1]), "in order");
    // Read as it goes, the watcher counts what it took off.
    send(&slot, vec![7; per]);
    assert_eq!(w.try_recv().unwrap().len(), per);
    assert_eq!(w.queued.load(Ordering::SeqCst), 0);
}

#[test]
fn a_watcher_nobody_reads_stays_bounded_and_loses_nothing() {
    let (slot, w) = manual::<Vec<u32>>(Arc::new(AtomicUsize::new(0)));
    for n in 0..(20 * QUEUE_CAP as u32) {
        send(&slot, vec![n]);
    }
    assert!(w.len() <= QUEUE_CAP + 1, "{} waiting", w.len());
    let all: Vec<u32> = w.try_iter().flatten().collect();
    assert!(all.into_iter().eq(0..20 * QUEUE_CAP as u32));
}
