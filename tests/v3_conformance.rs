//! The client against a fake Nacos 3 server shaped after the **Java**
//! controllers (`tests/support/fake_v3.rs`, each behaviour cited there):
//! the v3 conformance suite that runs in CI on every machine. The same
//! client code is checked against a real v3 server, batata, in
//! `tests/v3_batata.rs`, and against r-nacos (v1) by the rest of the suite.
//!
//! What Java does and batata does not, checked here: a list answer whose
//! `data` is a bare array, a beat of an unknown instance answered `21003`,
//! a missing config answered HTTP 200 with code `20004`, `groupName` on
//! config calls, a 403 auth page that is not an envelope.

mod support;

use std::sync::mpsc;
use std::time::Duration;

use nacos_blocking::{
    Api, ConfigEvent, Instance, NacosClient, ServicePage, ServiceQuery, ServiceSpec,
};
use support::fake::{response, FakeServer};
use support::fake_v3::{FakeV3, Generation};
use support::{
    assert_wrong_password_refused, eventually, logs, serves_a_round, two_server_client, unique,
    RNacos,
};

fn builder(addr: &str) -> nacos_blocking::ClientBuilder {
    NacosClient::builder()
        .server_addr(addr)
        .heartbeat_interval(Duration::from_millis(300))
        .poll_interval(Duration::from_millis(200))
        .config_poll_interval(Duration::from_millis(200))
        .timeout(Duration::from_secs(3))
        .disk_cache(false)
}

fn client(addr: &str) -> NacosClient {
    builder(addr).build().unwrap()
}

#[test]
fn auto_detects_v3_once_per_server_and_logs_it() {
    logs::install();
    let fake = FakeV3::start();
    let c = client(&fake.addr());
    let svc = unique("conf-detect");
    let inst = Instance::builder("10.2.0.1", 8080)
        .weight(2.0)
        .metadata("zone", "a")
        .build();
    c.register_instance(&svc, &inst).unwrap();
    assert_eq!(c.list_instances(&svc).unwrap().hosts.len(), 1);
    assert_eq!(c.server_status().unwrap(), "UP");
    // One probe of each kind, however many calls.
    assert_eq!(fake.to("GET", "/v1/ns/operator/metrics").len(), 1);
    assert_eq!(fake.to("GET", "/v3/admin/core/state").len(), 2); // probe + status
    let stored = fake.instances(&svc);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].weight, 2.0);
    assert_eq!(
        stored[0].metadata.get("zone").map(String::as_str),
        Some("a")
    );
    let said = logs::lines()
        .into_iter()
        .filter(|l| l.contains(&fake.addr()) && l.contains("speaks the Nacos v3 HTTP API"))
        .count();
    assert_eq!(said, 1, "logged once");
    // The registration went in a form body (Spring reads either; batata only the form).
    let reg = &fake.to("POST", "/v3/client/ns/instance")[0];
    assert_eq!(reg.param("serviceName"), Some(svc.as_str()));
    assert!(reg.form.iter().any(|(k, _)| k == "ip"), "{reg:?}");
    c.shutdown().unwrap();
}

#[test]
fn a_beat_answered_21003_registers_the_instance_again_as_last_updated() {
    let fake = FakeV3::start();
    let c = client(&fake.addr());
    let svc = unique("conf-21003");
    c.register_instance(&svc, &Instance::new("10.2.0.2", 81))
        .unwrap();
    let heavier = Instance::builder("10.2.0.2", 81)
        .weight(7.0)
        .metadata("v", "2")
        .build();
    c.update_instance(&svc, &heavier).unwrap();
    fake.forget_instance(&svc, "10.2.0.2", 81);
    assert!(
        eventually(Duration::from_secs(5), || fake
            .instances(&svc)
            .first()
            .is_some_and(
                |i| i.weight == 7.0 && i.metadata.get("v").map(String::as_str) == Some("2")
            )),
        "not registered again as updated: {:?}",
        fake.instances(&svc)
    );
    c.shutdown().unwrap();
}

#[test]
fn a_deregistered_instance_is_never_beaten_back() {
    let fake = FakeV3::start();
    let c = client(&fake.addr());
    let svc = unique("conf-dereg");
    let inst = Instance::new("10.2.0.3", 82);
    c.register_instance(&svc, &inst).unwrap();
    assert!(fake.wait_for(Duration::from_secs(5), |r| r
        .iter()
        .any(|q| q.param("heartBeat") == Some("true"))));
    c.deregister_instance(&svc, &inst).unwrap();
    let seen = fake.requests().len();
    std::thread::sleep(Duration::from_millis(1500));
    let after: Vec<_> = fake.requests()[seen..]
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(after.is_empty(), "sent after deregister: {after:?}");
    assert!(fake.instances(&svc).is_empty());
    c.shutdown().unwrap();
}

#[test]
fn lists_of_bare_arrays_filter_health_and_clusters_on_the_client() {
    let fake = FakeV3::start();
    let c = builder(&fake.addr()).auto_heartbeat(false).build().unwrap();
    let svc = unique("conf-list");
    for (ip, cluster, healthy) in [
        ("10.2.0.4", "DEFAULT", true),
        ("10.2.0.5", "DEFAULT", false),
        ("10.2.0.6", "c1", true),
    ] {
        let inst = Instance::builder(ip, 80)
            .cluster(cluster)
            .healthy(healthy)
            .build();
        c.register_instance(&svc, &inst).unwrap();
    }
    // Java's list ignores healthyOnly: the client filters.
    let all = c.list_instances(&svc).unwrap();
    assert!(all.hosts.len() >= 2, "{all:?}");
    let healthy = c.list_healthy_instances(&svc).unwrap();
    assert!(healthy.hosts.iter().all(|h| h.healthy), "{healthy:?}");
    let c1 = c
        .list_instances(nacos_blocking::ServiceName::new(&svc).clusters(["c1"]))
        .unwrap();
    assert_eq!(c1.hosts.len(), 1);
    assert_eq!(c1.hosts[0].ip, "10.2.0.6");
    let req = fake.to("GET", "/v3/client/ns/instance/list").pop().unwrap();
    assert_eq!(req.param("clusterName"), Some("c1"));
    assert_eq!(req.param("clusters"), Some("c1"));
    // A disabled instance is not listed (Java drops it; so does the client).
    let off = Instance::builder("10.2.0.4", 80).enabled(false).build();
    c.update_instance(&svc, &off).unwrap();
    let all = c.list_instances(&svc).unwrap();
    assert!(all.hosts.iter().all(|h| h.ip != "10.2.0.4"), "{all:?}");
    c.shutdown().unwrap();
}

#[test]
fn configs_read_none_on_20004_publish_remove_and_watch_by_polling() {
    let fake = FakeV3::start();
    let c = client(&fake.addr());
    let id = unique("conf-cfg");
    assert_eq!(c.get_config(&id).unwrap(), None);
    c.publish_config(&id, "a=1").unwrap();
    assert_eq!(
        fake.config("public", "DEFAULT_GROUP", &id).as_deref(),
        Some("a=1")
    );
    assert_eq!(c.get_config(&id).unwrap().as_deref(), Some("a=1"));
    let (tx, rx) = mpsc::channel::<ConfigEvent>();
    let _sub = c.subscribe_config(&id, tx).unwrap();
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(3))
            .unwrap()
            .content
            .as_deref(),
        Some("a=1")
    );
    c.publish_config(&id, "a=2").unwrap();
    let ev = rx.recv_timeout(Duration::from_secs(3)).unwrap();
    assert_eq!(ev.content.as_deref(), Some("a=2"));
    c.remove_config(&id).unwrap();
    let ev = rx.recv_timeout(Duration::from_secs(3)).unwrap();
    assert!(ev.is_absent(), "{ev:?}");
    assert!(
        rx.recv_timeout(Duration::from_millis(800)).is_err(),
        "an extra event"
    );
    // Every config call names the group both ways (Java reads `groupName`,
    // batata's read wants `group`), and no v1 listener was ever tried.
    for r in fake
        .requests()
        .iter()
        .filter(|r| r.path.contains("/cs/config"))
    {
        assert_eq!(r.param("groupName"), Some("DEFAULT_GROUP"), "{r:?}");
        assert_eq!(r.param("group"), Some("DEFAULT_GROUP"), "{r:?}");
    }
    assert!(fake.to("POST", "/v1/cs/configs/listener").is_empty());
    c.shutdown().unwrap();
}

#[test]
fn services_go_through_the_admin_api() {
    let fake = FakeV3::start();
    let c = builder(&fake.addr()).auto_heartbeat(false).build().unwrap();
    let svc = unique("conf-svc");
    c.create_service(
        &svc,
        &nacos_blocking::ServiceSpec::new().protect_threshold(0.5),
    )
    .unwrap();
    let detail = c.get_service(&svc).unwrap();
    assert_eq!(
        (detail.name.as_str(), detail.protect_threshold),
        (svc.as_str(), 0.5)
    );
    let page = c.list_services(&ServicePage::new(1, 100)).unwrap();
    assert!(page.names().any(|n| n == svc), "{page:?}");
    // Every group: no `groupNameParam`, which Java 3.x reads as no filter
    // (`CatalogServiceV2Impl#patternServices`).
    let other = nacos_blocking::ServiceName::new(svc.as_str()).group("OTHER");
    c.create_service(other.clone(), &nacos_blocking::ServiceSpec::new())
        .unwrap();
    let all = c
        .list_services(&ServicePage::new(1, 100).all_groups())
        .unwrap();
    for group in ["DEFAULT_GROUP", "OTHER"] {
        let key = nacos_blocking::ServiceKey::new("", group, svc.as_str());
        assert!(all.services.contains(&key), "{key:?} in {all:?}");
    }
    let default_only = c.list_services(&ServicePage::new(1, 100)).unwrap();
    // The server's own count: the default group was asked for by name.
    assert!(default_only.count < all.count, "{default_only:?} {all:?}");
    assert!(
        default_only
            .services
            .iter()
            .all(|s| s.group == "DEFAULT_GROUP"),
        "{default_only:?}"
    );
    c.delete_service(other).unwrap();
    c.delete_service(&svc).unwrap();
    let e = c.get_service(&svc).unwrap_err();
    assert!(e.status() == Some(400) || e.api_code().is_some(), "{e}");
    c.shutdown().unwrap();
}

#[test]
fn auth_logs_in_at_the_v3_path_and_logs_in_again_when_the_token_is_refused() {
    let fake = FakeV3::start_with_auth();
    let c = builder(&fake.addr())
        .credentials(fake.username(), fake.password())
        .auto_heartbeat(false)
        .build()
        .unwrap();
    let svc = unique("conf-auth");
    c.register_instance(&svc, &Instance::new("10.2.0.7", 80))
        .unwrap();
    assert_eq!(fake.to("POST", "/v3/auth/user/login").len(), 1);
    fake.revoke_tokens();
    assert_eq!(c.list_instances(&svc).unwrap().hosts.len(), 1);
    assert_eq!(fake.to("POST", "/v3/auth/user/login").len(), 2);
    // The token travels in headers (`accessToken`, `Authorization: Bearer`),
    // never in the URL, where logs of every crate could show it.
    let listed = fake.to("GET", "/v3/client/ns/instance/list").pop().unwrap();
    assert!(listed.query("accessToken").is_none(), "{listed:?}");
    assert!(listed.header("accesstoken").is_some_and(|t| !t.is_empty()));
    assert_wrong_password_refused(builder(&fake.addr()), fake.username(), &svc);
    c.shutdown().unwrap();
}

#[test]
fn forced_apis_skip_the_probe() {
    let fake = FakeV3::start();
    let c = builder(&fake.addr()).api(Api::V3).build().unwrap();
    c.register_instance(unique("conf-forced"), &Instance::new("10.2.0.8", 80))
        .unwrap();
    assert!(fake.to("GET", "/v1/ns/operator/metrics").is_empty());
    assert!(fake.to("GET", "/v3/admin/core/state").is_empty());
    // Forced to v1, a v3-only server answers 404: a clear status error.
    let v1 = builder(&fake.addr()).api(Api::V1).build().unwrap();
    let e = v1.list_instances("x").unwrap_err();
    assert_eq!(e.status(), Some(404), "{e}");
    c.shutdown().unwrap();
}

#[test]
fn a_server_that_speaks_neither_api_is_unsupported() {
    let nothing = FakeServer::start_raw(|_, _| Some(response(404, &[], b"")));
    let c = builder(&nothing.addr()).build().unwrap();
    let e = c.list_instances("x").unwrap_err();
    assert!(e.is_unsupported(), "{e}");
    assert!(e.to_string().contains("context path"), "{e}");
}

#[test]
fn a_server_back_from_an_outage_is_asked_again() {
    let mut fake = FakeV3::start();
    let port = fake.port();
    let c = builder(&fake.addr())
        .auto_heartbeat(false)
        .retries(0)
        .build()
        .unwrap();
    c.list_instances("x").unwrap();
    fake.stop();
    assert!(c.list_instances("x").is_err());
    // The same address now answers as a v1 server (an "upgrade" in reverse
    // keeps the test short: what matters is the second probe).
    let v1 = FakeServer::start_raw_on(port, |head, _| {
        let answer: &[u8] = if head.contains("/nacos/v1/ns/instance/list") {
            br#"{"name":"DEFAULT_GROUP@@x","hosts":[{"ip":"10.9.9.9","port":9}]}"#
        } else {
            br#"{"status":"UP"}"#
        };
        Some(response(200, &[], answer))
    })
    .unwrap();
    let hosts = c.list_instances("x").unwrap().hosts;
    assert_eq!(hosts.len(), 1, "{hosts:?}");
    assert_eq!(hosts[0].ip, "10.9.9.9");
    drop(v1);
    c.shutdown().unwrap();
}

/// A client whose list holds a v1-only server (r-nacos) and a v3-only one
/// keeps working when either is down: each is spoken to in its own API.
#[test]
fn a_v1_and_a_v3_server_each_carry_the_client_while_the_other_is_down() {
    let mut v1 = RNacos::start();
    let mut v3 = FakeV3::start();
    let c = two_server_client(&v1.addr(), &v3.addr());
    let svc = unique("conf-mixed");
    let id = unique("conf-mixed-cfg");
    let works = |round: &str| serves_a_round(&c, &svc, &id, round);
    v3.stop();
    works("v3 down");
    v3.start_again();
    v1.kill();
    works("v1 down");
    assert!(!v3.to("POST", "/v3/client/ns/instance").is_empty());
    c.shutdown().unwrap();
}

// ---------------------------------------------------------------------------
// Nacos 3.x as shipped (`tests/support/fake_v3/legacy.rs` cites the Java
// source behind each answer): 3.2+ keeps `GET /v1/ns/operator/metrics`
// (status only) and the v1 login; 3.0/3.1 keep the v1 client calls and
// answer 410 to the v1 admin calls.

/// Everything the client does, against one server: naming (register, get,
/// update, list, deregister), heartbeats, a subscription, services, configs
/// (publish, read, watch, remove) and the server status.
fn the_whole_client_works(fake: &FakeV3, c: &NacosClient, tag: &str) {
    let svc = unique(tag);
    let inst = Instance::builder("10.3.0.1", 8080)
        .weight(2.0)
        .metadata("zone", "a")
        .build();
    c.register_instance(&svc, &inst).unwrap();
    assert_eq!(c.get_instance(&svc, "10.3.0.1", 8080).unwrap().weight, 2.0);
    let heavier = Instance::builder("10.3.0.1", 8080)
        .weight(3.0)
        .metadata("zone", "b")
        .build();
    c.update_instance(&svc, &heavier).unwrap();
    let stored = fake.instances(&svc);
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0].weight, 3.0);
    assert_eq!(
        stored[0].metadata.get("zone").map(String::as_str),
        Some("b")
    );
    let got = c.get_instance(&svc, "10.3.0.1", 8080).unwrap();
    assert_eq!(
        (got.weight, got.metadata.get("zone").cloned()),
        (3.0, Some("b".into()))
    );
    // Heartbeats, in whichever API the server takes them.
    let beaten = |r: &[support::proxy::Recorded]| {
        r.iter().any(|q| {
            q.path.ends_with("/v1/ns/instance/beat")
                || (q.path.ends_with("/v3/client/ns/instance")
                    && q.param("heartBeat") == Some("true"))
        })
    };
    assert!(
        fake.wait_for(Duration::from_secs(5), beaten),
        "no heartbeat"
    );
    // A subscription: the current list, then the change.
    let watcher = c.watch(&svc).unwrap();
    let first = watcher.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(first.instances.len(), 1);
    c.register_instance(&svc, &Instance::new("10.3.0.2", 8080))
        .unwrap();
    let next = watcher.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(next.added.len(), 1, "{next:?}");
    drop(watcher);
    assert!(c
        .list_services(&ServicePage::new(1, 100))
        .unwrap()
        .names()
        .any(|n| n == svc));
    // Services of their own, seen come and go by a catalog watch.
    let catalog = c
        .watch_services(
            ServiceQuery::new()
                .pattern(format!("{tag}-svc*"))
                .every(Duration::from_millis(200)),
        )
        .unwrap();
    let seen = catalog.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(seen.initial && seen.services.is_empty(), "{seen:?}");
    let other = unique(&format!("{tag}-svc"));
    c.create_service(&other, &ServiceSpec::new().protect_threshold(0.5))
        .unwrap();
    let seen = catalog.recv_timeout(Duration::from_secs(5)).unwrap();
    let other_key = nacos_blocking::ServiceKey::new("", "DEFAULT_GROUP", other.as_str());
    assert_eq!(seen.added, std::slice::from_ref(&other_key));
    assert_eq!(c.get_service(&other).unwrap().protect_threshold, 0.5);
    c.update_service(&other, &ServiceSpec::new().protect_threshold(0.25))
        .unwrap();
    assert_eq!(c.get_service(&other).unwrap().protect_threshold, 0.25);
    c.delete_service(&other).unwrap();
    assert!(c.get_service(&other).is_err());
    let seen = catalog.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(seen.removed, std::slice::from_ref(&other_key));
    drop(catalog);
    // Configs: publish, read, watch, change, remove.
    let id = unique(&format!("{tag}-cfg"));
    c.publish_config(id.as_str(), "one").unwrap();
    assert_eq!(c.get_config(id.as_str()).unwrap().as_deref(), Some("one"));
    let changes = c.watch_config(id.as_str()).unwrap();
    let initial = changes.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(initial.content.as_deref(), Some("one"));
    c.publish_config(id.as_str(), "two").unwrap();
    let changed = changes.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(changed.content.as_deref(), Some("two"));
    c.remove_config(id.as_str()).unwrap();
    let removed = changes.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(removed.content, None);
    assert_eq!(c.server_status().unwrap(), "UP");
    let namespaces = c.list_namespaces().unwrap();
    assert_eq!(namespaces[0].id, "public", "{namespaces:?}");
    c.deregister_instance(&svc, &heavier).unwrap();
    c.deregister_instance(&svc, &Instance::new("10.3.0.2", 8080))
        .unwrap();
    assert!(fake.instances(&svc).is_empty());
}

fn requests_under(fake: &FakeV3, prefix: &str) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.path.starts_with(prefix))
        .count()
}

#[test]
fn nacos_3_2_as_shipped_is_spoken_to_in_v3_though_its_v1_metrics_answer() {
    logs::install();
    let fake = FakeV3::builder().generation(Generation::V3_2).start();
    let c = client(&fake.addr());
    the_whole_client_works(&fake, &c, "gen32");
    // One round of probes: the kept v1 metrics path (status only), then
    // the v3 state; then nothing but v3.
    let probe = fake.to("GET", "/v1/ns/operator/metrics");
    assert_eq!(probe.len(), 1, "{probe:?}");
    assert_eq!(probe[0].query("onlyStatus"), Some("false"));
    assert!(probe[0].query("accessToken").is_none());
    assert_eq!(requests_under(&fake, "/nacos/v1/"), 1);
    let said = logs::lines()
        .into_iter()
        .filter(|l| l.contains(&fake.addr()) && l.contains("speaks the Nacos v3 HTTP API"))
        .count();
    assert_eq!(said, 1);
    c.shutdown().unwrap();
}

#[test]
fn nacos_3_0_keeps_v1_for_client_calls_and_uses_v3_admin_where_gated() {
    logs::install();
    let fake = FakeV3::builder().generation(Generation::V3_0).start();
    let c = client(&fake.addr());
    the_whole_client_works(&fake, &c, "gen30");
    // One probe: the v1 metrics with every counter (`server_status` asks
    // the same path for the status alone).
    let probes = fake.to("GET", "/v1/ns/operator/metrics");
    let full = probes
        .iter()
        .filter(|r| r.query("onlyStatus") == Some("false"));
    assert_eq!(full.count(), 1, "{probes:?}");
    assert!(fake.to("GET", "/v3/admin/core/state").is_empty());
    // Open calls in v1, the config long poll included.
    assert!(!fake.to("POST", "/v1/ns/instance").is_empty());
    assert!(!fake.to("PUT", "/v1/ns/instance/beat").is_empty());
    assert!(!fake.to("GET", "/v1/ns/instance/list").is_empty());
    assert!(!fake.to("POST", "/v1/cs/configs/listener").is_empty());
    assert!(!fake.to("POST", "/v1/cs/configs").is_empty());
    assert!(
        fake.to("GET", "/v3/client/cs/config").is_empty(),
        "v3 config polling"
    );
    // Each gated call met one 410, then went to v3 admin on that server.
    for (method, v1, v3) in [
        ("PUT", "/v1/ns/instance", "/v3/admin/ns/instance"),
        ("GET", "/v1/ns/instance", "/v3/admin/ns/instance"),
        ("POST", "/v1/ns/service", "/v3/admin/ns/service"),
        ("PUT", "/v1/ns/service", "/v3/admin/ns/service"),
        ("GET", "/v1/ns/service", "/v3/admin/ns/service"),
        ("DELETE", "/v1/ns/service", "/v3/admin/ns/service"),
        (
            "GET",
            "/v1/console/namespaces",
            "/v3/admin/core/namespace/list",
        ),
    ] {
        assert_eq!(fake.to(method, v1).len(), 1, "{method} {v1}");
        assert!(!fake.to(method, v3).is_empty(), "{method} {v3}");
    }
    let gated = logs::lines()
        .into_iter()
        .filter(|l| l.contains(&fake.addr()) && l.contains("HTTP 410"))
        .count();
    assert_eq!(gated, 7, "one line per gated call");
    c.shutdown().unwrap();
}

#[test]
fn nacos_3_0_with_admin_compatibility_on_keeps_v1_for_everything() {
    let fake = FakeV3::builder()
        .generation(Generation::V3_0AdminOpen)
        .start();
    let c = client(&fake.addr());
    the_whole_client_works(&fake, &c, "gen30open");
    let v3 = requests_under(&fake, "/nacos/v3/");
    assert_eq!(
        v3,
        0,
        "{:?}",
        fake.requests()
            .iter()
            .filter(|r| r.path.starts_with("/nacos/v3/"))
            .collect::<Vec<_>>()
    );
    c.shutdown().unwrap();
}

#[test]
fn auth_works_on_every_3_x_generation() {
    for generation in [Generation::V3_2, Generation::V3_0] {
        let fake = FakeV3::builder()
            .generation(generation)
            .auth(support::fake_v3::Auth::On)
            .start();
        let c = builder(&fake.addr())
            .credentials(fake.username(), fake.password())
            .build()
            .unwrap();
        the_whole_client_works(&fake, &c, "gen-auth");
        let logins = fake.to("POST", "/v1/auth/users/login").len()
            + fake.to("POST", "/v3/auth/user/login").len();
        assert_eq!(logins, 1, "{generation:?}");
        assert_wrong_password_refused(builder(&fake.addr()), fake.username(), "gen-auth-x");
        c.shutdown().unwrap();
    }
}

// ---------------------------------------------------------------------------
// Java config behaviours r-nacos does not have, on the 3.0/3.1 fixture's v1
// paths (each answer cited in `tests/support/fake_v3/`).

fn with_cache(addr: &str, dir: &std::path::Path) -> nacos_blocking::ClientBuilder {
    builder(addr)
        .disk_cache(true)
        .cache_dir(dir)
        .long_poll_timeout(Duration::from_secs(10))
}

/// Files under `dir` whose path mentions `needle`.
fn files_naming(dir: &std::path::Path, needle: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().contains(needle) {
                out.push(p.to_string_lossy().into_owned());
            }
        }
    }
    out
}

/// Java 2.2+ with the encryption plugin: the server's MD5 of a `cipher-`
/// config is that of the stored, encrypted content, while a read returns
/// the decrypted text. Hashing the text never matched it, so every long
/// poll answered "changed" at once; the server's `Content-MD5` decides now.
/// The decrypted text is not written to the snapshot dir unless asked.
#[test]
fn an_encrypted_config_is_quiet_while_unchanged_and_kept_off_disk() {
    let fake = FakeV3::builder().generation(Generation::V3_0).start();
    let dir = support::scratch_dir("cipher");
    let c = with_cache(&fake.addr(), &dir).build().unwrap();
    let id = format!("cipher-{}", unique("db"));
    c.publish_config(id.as_str(), "password=1").unwrap();
    let w = c.watch_config(id.as_str()).unwrap();
    let first = w.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(first.content.as_deref(), Some("password=1"));
    // Two seconds of an unchanged config: the long poll is held.
    fake.clear_requests();
    std::thread::sleep(Duration::from_secs(2));
    let polls = fake.to("POST", "/v1/cs/configs/listener").len();
    let reads = fake.to("GET", "/v1/cs/configs").len();
    assert!(
        polls <= 1 && reads == 0,
        "{polls} polls, {reads} reads while unchanged"
    );
    c.publish_config(id.as_str(), "password=2").unwrap();
    let next = w.recv_timeout(Duration::from_secs(3)).unwrap();
    assert_eq!(next.content.as_deref(), Some("password=2"));
    assert!(
        files_naming(&dir, "cipher-").is_empty(),
        "{:?}",
        files_naming(&dir, "cipher-")
    );
    // Opted in: kept like any other.
    let keeps = with_cache(&fake.addr(), &dir)
        .snapshot_encrypted_configs(true)
        .build()
        .unwrap();
    assert_eq!(
        keeps.get_config(id.as_str()).unwrap().as_deref(),
        Some("password=2")
    );
    assert_eq!(files_naming(&dir, "cipher-").len(), 1);
    keeps.shutdown().unwrap();
    c.shutdown().unwrap();
}

/// Java 2.x does not read `tenant=public` as the public namespace in a
/// long poll (alibaba/nacos #4682): the client sends the empty tenant for
/// it however it is written.
#[test]
fn the_public_namespace_is_the_empty_tenant_on_the_wire() {
    let fake = FakeV3::builder().generation(Generation::V3_0).start();
    let c = client(&fake.addr());
    let name = nacos_blocking::ConfigName::new(unique("pub")).namespace("public");
    c.publish_config(name.clone(), "x").unwrap();
    assert_eq!(c.get_config(name.clone()).unwrap().as_deref(), Some("x"));
    let w = c.watch_config(name).unwrap();
    assert!(w.recv_timeout(Duration::from_secs(5)).unwrap().initial);
    assert!(fake.wait_for(Duration::from_secs(3), |r| r
        .iter()
        .any(|q| q.path.ends_with("/v1/cs/configs/listener"))));
    for r in fake
        .requests()
        .iter()
        .filter(|r| r.path.contains("/v1/cs/"))
    {
        assert!(r.param("tenant").is_none_or(str::is_empty), "{r:?}");
        if let Some(lines) = r.param("Listening-Configs") {
            for line in lines.split('\u{1}').filter(|l| !l.is_empty()) {
                assert_eq!(line.split('\u{2}').count(), 3, "a tenant in {line:?}");
            }
        }
    }
    c.shutdown().unwrap();
}

/// Java 1.4.8 `NacosConfigService#getConfigInner` answers from the local
/// snapshot on any failure but a 403: here a 409 "being modified".
#[test]
fn a_read_refused_with_409_answers_from_the_snapshot() {
    let fake = FakeV3::builder().generation(Generation::V3_0).start();
    let dir = support::scratch_dir("busy");
    let c = with_cache(&fake.addr(), &dir).build().unwrap();
    let id = unique("busy");
    c.publish_config(id.as_str(), "kept").unwrap();
    assert_eq!(c.get_config(id.as_str()).unwrap().as_deref(), Some("kept"));
    fake.busy_configs(true);
    let v = c.get_config_value(id.as_str()).unwrap().unwrap();
    assert_eq!(
        (v.content.as_str(), v.source),
        ("kept", nacos_blocking::ConfigSource::Snapshot)
    );
    // Without a snapshot the failure is the answer.
    let e = c.get_config(unique("never").as_str()).unwrap_err();
    assert_eq!(e.status(), Some(409), "{e}");
    fake.busy_configs(false);
    let v = c.get_config_value(id.as_str()).unwrap().unwrap();
    assert_eq!(v.source, nacos_blocking::ConfigSource::Server);
    c.shutdown().unwrap();
}

/// Compare-and-set publish and the config type on reads, in each API:
/// v1 on the 3.0/3.1 fixture, v3 on the 3.2 one (the fake's publish cites
/// the Java source of the `casMd5` header and the conflict answer).
#[test]
fn cas_publish_and_the_config_type_in_both_apis() {
    for generation in [Generation::V3_0, Generation::V3_2] {
        let fake = FakeV3::builder().generation(generation).start();
        let c = client(&fake.addr());
        let id = unique("cas");
        c.publish_config(
            id.as_str(),
            nacos_blocking::Publish::new("a: 1").config_type("yaml"),
        )
        .unwrap();
        let read = c.get_config_value(id.as_str()).unwrap().unwrap();
        assert_eq!(read.config_type.as_deref(), Some("yaml"), "{generation:?}");
        // From the version read: published.
        c.publish_config(
            id.as_str(),
            nacos_blocking::Publish::new("a: 2")
                .config_type("yaml")
                .cas_md5(&read.md5),
        )
        .unwrap();
        // From the same, now stale, version: refused, nothing changes.
        let e = c
            .publish_config(
                id.as_str(),
                nacos_blocking::Publish::new("a: 3").cas_md5(&read.md5),
            )
            .unwrap_err();
        assert!(e.is_conflict(), "{generation:?}: {e:?}");
        assert_eq!(c.get_config(id.as_str()).unwrap().as_deref(), Some("a: 2"));
        let bad = c
            .publish_config(
                id.as_str(),
                nacos_blocking::Publish::new("x").cas_md5("nope"),
            )
            .unwrap_err();
        assert_eq!(bad.invalid_field(), Some("cas_md5"));
        // The type reaches watchers too.
        let w = c.watch_config(id.as_str()).unwrap();
        let first = w.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(first.config_type.as_deref(), Some("yaml"), "{generation:?}");
        c.shutdown().unwrap();
    }
}
