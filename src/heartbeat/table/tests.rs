use super::*;

fn key() -> ServiceKey {
    ServiceKey::new("", "G", "s")
}

fn heartbeats() -> BeatTable {
    BeatTable::default()
}

fn table_with(hb: &BeatTable, inst: &Instance) -> (Key, u64) {
    let bk = Arc::new(BeatKey::new(&key(), inst));
    let mut t = lock(&hb.table);
    t.next_gen += 1;
    let gen = t.next_gen;
    let entry = Entry::new(inst, gen, Duration::from_secs(5), Instant::now());
    t.entries.insert(bk.clone(), entry);
    (bk, gen)
}

fn answer(light: bool, interval_ms: u64, code: i64) -> BeatResult {
    BeatResult {
        client_beat_interval: Some(interval_ms),
        code: Some(code),
        light_beat_enabled: light,
    }
}

#[test]
fn next_beat_is_due_on_schedule_not_after_the_answer() {
    let hb = heartbeats();
    let (bk, gen) = table_with(&hb, &Instance::new("1.1.1.1", 80));
    let d = Duration::from_secs(5);
    let due = lock(&hb.table).entries[&bk].due;
    hb.begin(&bk, gen, false).unwrap();
    // The server advises 2 s: the next beat is due 2 s after this one
    // was due, however long the request took.
    let next = hb
        .finish(&bk, gen, Ok(answer(false, 2000, 10200)), d)
        .unwrap();
    assert_eq!(next, due + Duration::from_secs(2));
    // A failure waits a whole interval from now.
    hb.begin(&bk, gen, false).unwrap();
    let before = Instant::now();
    let next = hb.finish(&bk, gen, Err("down".into()), d).unwrap();
    assert!(next >= before + Duration::from_secs(2));
    // So does a beat whose successor's due time has already passed.
    lock(&hb.table).entries.get_mut(&bk).unwrap().due = before - Duration::from_secs(60);
    hb.begin(&bk, gen, false).unwrap();
    let next = hb
        .finish(&bk, gen, Ok(answer(false, 2000, 10200)), d)
        .unwrap();
    assert!(next >= before + Duration::from_secs(2));
}

#[test]
fn light_only_after_the_server_allows_it_and_full_after_failures() {
    let hb = heartbeats();
    let (bk, gen) = table_with(&hb, &Instance::new("1.1.1.1", 80));
    let d = Duration::from_secs(5);
    assert!(
        !hb.begin(&bk, gen, true).unwrap().light,
        "first beat is full"
    );
    hb.finish(&bk, gen, Ok(answer(true, 2000, 10200)), d)
        .unwrap();
    assert!(!hb.begin(&bk, gen, false).unwrap().light, "light beats off");
    hb.finish(&bk, gen, Ok(answer(true, 2000, 10200)), d)
        .unwrap();
    assert!(
        hb.begin(&bk, gen, true).unwrap().light,
        "light once allowed"
    );
    hb.finish(&bk, gen, Err("down".into()), d).unwrap();
    let s = hb.state(&bk).unwrap();
    assert_eq!(
        (s.consecutive_failures, s.last_error.as_deref()),
        (1, Some("down"))
    );
    assert!(
        !hb.begin(&bk, gen, true).unwrap().light,
        "full after a failure"
    );
    hb.finish(&bk, gen, Ok(answer(true, 2000, 20404)), d)
        .unwrap();
    assert!(!hb.begin(&bk, gen, true).unwrap().light, "full after 20404");
    hb.finish(&bk, gen, Ok(answer(true, 2000, 10200)), d)
        .unwrap();
    let s = hb.state(&bk).unwrap();
    assert!(s.is_ok() && s.last_success.is_some());
    assert_eq!(s.interval, Duration::from_secs(2), "server's advice");
    assert_eq!(lock(&hb.table).failing, 0);
    assert!(lock(&hb.table).running.is_empty());
}

#[test]
fn metadata_interval_wins_over_the_server() {
    let hb = heartbeats();
    let inst = Instance::builder("1.1.1.1", 80)
        .metadata(crate::validate::HEART_BEAT_INTERVAL, "1000")
        .build();
    let (bk, gen) = table_with(&hb, &inst);
    hb.begin(&bk, gen, true).unwrap();
    hb.finish(
        &bk,
        gen,
        Ok(answer(true, 5000, 10200)),
        Duration::from_secs(5),
    );
    assert_eq!(hb.state(&bk).unwrap().interval, Duration::from_secs(1));
}

#[test]
fn removed_or_replaced_entries_are_not_beaten_or_rescheduled() {
    let hb = heartbeats();
    let inst = Instance::new("1.1.1.1", 80);
    let (bk, old) = table_with(&hb, &inst);
    let (_, new) = table_with(&hb, &inst);
    assert!(hb.begin(&bk, old, true).is_none());
    assert!(hb.begin(&bk, new, true).is_some());
    // Removed while on the wire: no next beat.
    let waiter = std::thread::scope(|s| {
        let h = s.spawn(|| {
            let t = Instant::now();
            hb.remove(&bk, Duration::from_secs(5));
            t.elapsed()
        });
        std::thread::sleep(Duration::from_millis(100));
        assert!(hb
            .finish(&bk, new, Ok(BeatResult::default()), Duration::from_secs(1))
            .is_none());
        h.join().unwrap()
    });
    assert!(
        waiter >= Duration::from_millis(90),
        "remove waited for the beat"
    );
    assert!(hb.state(&bk).is_none());
}
