//! The naming API against a real r-nacos.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use nacos_blocking::{
    Error, Instance, NacosClient, ServiceKey, ServiceName, ServicePage, ServiceSpec,
};
use support::{unique, RNacos};

fn client() -> NacosClient {
    NacosClient::new(&RNacos::shared().addr()).unwrap()
}

/// A persistent instance (no heartbeat needed to stay listed).
fn persistent(ip: &str, port: u16) -> nacos_blocking::InstanceBuilder {
    Instance::builder(ip, port).ephemeral(false)
}

#[test]
fn register_list_update_get_deregister() {
    let c = client();
    let svc = unique("reg");
    let inst = persistent("10.1.0.1", 7001)
        .weight(3.5)
        .cluster("zone-a")
        .metadata("version", "1.2")
        .metadata("tricky", "a&b=c d+é")
        .build();
    c.register_instance(svc.as_str(), &inst).unwrap();

    let info = c.list_instances(svc.as_str()).unwrap();
    assert_eq!(info.name, svc);
    assert_eq!(info.group_name, "DEFAULT_GROUP");
    assert_eq!(info.hosts.len(), 1, "{info:?}");
    let got = &info.hosts[0];
    assert_eq!((got.ip.as_str(), got.port), ("10.1.0.1", 7001));
    assert_eq!(got.weight, 3.5);
    assert_eq!(got.cluster_name, "zone-a");
    assert_eq!(got.metadata["version"], "1.2");
    assert_eq!(got.metadata["tricky"], "a&b=c d+é");

    let updated = persistent("10.1.0.1", 7001)
        .weight(7.0)
        .cluster("zone-a")
        .metadata("version", "2.0")
        .build();
    c.update_instance(svc.as_str(), &updated).unwrap();
    // Persistent instances change through r-nacos's raft log: a list sent
    // right after the update may still see the old one on a busy machine.
    let shows_update = || {
        c.list_instances(svc.as_str()).is_ok_and(|info| {
            info.hosts.first().is_some_and(|h| {
                h.weight == 7.0 && h.metadata.get("version").map(String::as_str) == Some("2.0")
            })
        })
    };
    assert!(support::eventually(Duration::from_secs(5), shows_update));

    let one = c
        .get_instance(
            ServiceName::new(svc.as_str()).clusters(["zone-a"]),
            "10.1.0.1",
            7001,
        )
        .unwrap();
    assert_eq!((one.ip.as_str(), one.port), ("10.1.0.1", 7001));
    assert_eq!(one.weight, 7.0);
    assert_eq!(one.metadata["version"], "2.0");

    c.deregister_instance(svc.as_str(), &updated).unwrap();
    assert!(support::eventually(Duration::from_secs(5), || c
        .list_instances(svc.as_str())
        .is_ok_and(|info| info.hosts.is_empty())));
}

#[test]
fn groups_and_namespaces_are_separate() {
    let c = client();
    let name = unique("grp");
    let in_g1 = ServiceName::new(name.as_str()).group("G1");
    let in_g2 = ServiceName::new(name.as_str()).group("G2");
    let in_ns = ServiceName::new(name.as_str()).namespace("ns-test");
    c.register_instance(in_g1.clone(), &persistent("10.2.0.1", 1).build())
        .unwrap();
    c.register_instance(in_g2.clone(), &persistent("10.2.0.2", 2).build())
        .unwrap();
    c.register_instance(in_ns.clone(), &persistent("10.2.0.3", 3).build())
        .unwrap();
    let ports = |s: ServiceName| -> Vec<u16> {
        c.list_instances(s)
            .unwrap()
            .hosts
            .iter()
            .map(|h| h.port)
            .collect()
    };
    assert_eq!(ports(in_g1.clone()), vec![1]);
    assert_eq!(ports(in_g2), vec![2]);
    assert_eq!(ports(in_ns), vec![3]);
    assert!(ports(ServiceName::new(name.as_str())).is_empty());
    let info = c.list_instances(in_g1).unwrap();
    assert_eq!(info.group_name, "G1");
}

#[test]
fn cluster_filter_is_applied() {
    let c = client();
    let svc = unique("clu");
    for (port, cluster) in [(1, "c1"), (2, "c2"), (3, "c1")] {
        c.register_instance(
            svc.as_str(),
            &persistent("10.3.0.1", port).cluster(cluster).build(),
        )
        .unwrap();
    }
    let mut ports: Vec<u16> = c
        .list_instances(ServiceName::new(svc.as_str()).clusters(["c1"]))
        .unwrap()
        .hosts
        .iter()
        .map(|h| h.port)
        .collect();
    ports.sort();
    assert_eq!(ports, vec![1, 3]);
    assert_eq!(c.list_instances(svc.as_str()).unwrap().hosts.len(), 3);
}

#[test]
fn healthy_only_filters_unhealthy_instances() {
    // The shared server marks an ephemeral instance unhealthy 6 s after its
    // last beat; keep one beating by hand and let the other lapse.
    let c = NacosClient::builder()
        .server_addr(RNacos::shared().addr())
        .auto_heartbeat(false)
        .build()
        .unwrap();
    let svc = unique("health");
    let alive = Instance::new("10.4.0.1", 1);
    let lapsed = Instance::new("10.4.0.1", 2);
    c.register_instance(svc.as_str(), &alive).unwrap();
    c.register_instance(svc.as_str(), &lapsed).unwrap();
    let went_unhealthy = support::eventually(Duration::from_secs(12), || {
        c.send_heartbeat(svc.as_str(), &alive).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        !c.get_instance(svc.as_str(), "10.4.0.1", 2).unwrap().healthy
    });
    assert!(went_unhealthy, "the lapsed instance never became unhealthy");
    let all = c.list_instances(svc.as_str()).unwrap();
    assert_eq!(all.hosts.len(), 2, "{all:?}");
    let healthy = c.list_healthy_instances(svc.as_str()).unwrap();
    assert_eq!(healthy.hosts.len(), 1, "{healthy:?}");
    assert_eq!(healthy.hosts[0].port, 1);
    let selected = c.select_instances(svc.as_str()).unwrap();
    assert_eq!(selected.len(), 1);
    let unhealthy: Vec<Instance> = c
        .list_instances(svc.as_str())
        .unwrap()
        .hosts
        .into_iter()
        .filter(|h| !h.healthy)
        .collect();
    assert_eq!(unhealthy.len(), 1, "{unhealthy:?}");
    assert_eq!(unhealthy[0].port, 2);
    assert_eq!(
        c.discover(svc.as_str()).unwrap(),
        vec![("10.4.0.1".to_string(), 1)]
    );
    for _ in 0..20 {
        assert_eq!(c.select_one_healthy_instance(svc.as_str()).unwrap().port, 1);
    }
}

#[test]
fn weighted_selection_follows_weights() {
    let c = client();
    let svc = unique("weights");
    for (port, w) in [(1, 1.0), (2, 3.0), (3, 6.0)] {
        c.register_instance(
            svc.as_str(),
            &persistent("10.5.0.1", port).weight(w).build(),
        )
        .unwrap();
    }
    let mut counts: HashMap<u16, u32> = HashMap::new();
    let n = 3000;
    for _ in 0..n {
        let i = c.select_one_healthy_instance(svc.as_str()).unwrap();
        *counts.entry(i.port).or_default() += 1;
    }
    // Expected shares 0.1, 0.3, 0.6; binomial sd at n=3000 is under 0.01.
    for (port, share) in [(1u16, 0.1), (2, 0.3), (3, 0.6)] {
        let got = counts.get(&port).copied().unwrap_or(0) as f64 / n as f64;
        assert!((got - share).abs() < 0.04, "port {port}: {got} vs {share}");
    }
    let mut found = c.discover(svc.as_str()).unwrap();
    found.sort();
    assert_eq!(
        found,
        vec![
            ("10.5.0.1".to_string(), 1),
            ("10.5.0.1".to_string(), 2),
            ("10.5.0.1".to_string(), 3)
        ]
    );
}

#[test]
fn select_one_without_candidates_is_a_clear_error() {
    let c = client();
    let svc = unique("empty");
    let e = c.select_one_healthy_instance(svc.as_str()).unwrap_err();
    assert!(matches!(e, Error::NoInstanceAvailable { .. }), "{e:?}");
    assert!(e.to_string().contains(&svc), "{e}");
    assert!(c.discover(svc.as_str()).unwrap().is_empty());
}

#[test]
fn heartbeat_answer_is_parsed() {
    let c = client();
    let svc = unique("beat");
    let inst = Instance::new("10.6.0.1", 9000);
    c.register_instance(svc.as_str(), &inst).unwrap();
    let r = c.send_heartbeat(svc.as_str(), &inst).unwrap();
    assert!(r.interval().is_some(), "{r:?}");
    assert!(!r.instance_not_found());
    c.deregister_instance(svc.as_str(), &inst).unwrap();
}

#[test]
fn services_create_get_update_page_delete() {
    let c = client();
    let group = unique("pg").replace('-', "_");
    let names: Vec<String> = (0..5).map(|i| format!("svc{i}")).collect();
    for n in &names {
        c.create_service(
            ServiceName::new(n.as_str()).group(group.as_str()),
            &ServiceSpec::new()
                .protect_threshold(0.5)
                .metadata("owner", "team-a"),
        )
        .unwrap();
    }
    let first = ServiceName::new("svc0").group(group.as_str());
    let detail = c.get_service(first.clone()).unwrap();
    assert_eq!(detail.name, "svc0");
    assert_eq!(detail.group_name, group);
    assert_eq!(detail.protect_threshold, 0.5);
    assert_eq!(detail.metadata["owner"], "team-a");

    c.update_service(
        first.clone(),
        &ServiceSpec::new()
            .protect_threshold(0.25)
            .metadata("owner", "team-b"),
    )
    .unwrap();
    let detail = c.get_service(first.clone()).unwrap();
    assert_eq!(detail.protect_threshold, 0.25);
    assert_eq!(detail.metadata["owner"], "team-b");

    let mut seen = Vec::new();
    for page_no in 1..=3 {
        let page = c
            .list_services(&ServicePage::new(page_no, 2).group(group.as_str()))
            .unwrap();
        assert_eq!(page.count, 5);
        assert!(page.services.len() <= 2);
        seen.extend(page.names().map(String::from));
    }
    seen.sort();
    assert_eq!(seen, names);
    let beyond = c
        .list_services(&ServicePage::new(4, 2).group(group.as_str()))
        .unwrap();
    assert!(beyond.services.is_empty());

    c.delete_service(first.clone()).unwrap();
    let after = c
        .list_services(&ServicePage::new(1, 10).group(group.as_str()))
        .unwrap();
    assert_eq!(after.count, 4);
    assert!(c.get_service(first).is_err());
}

/// A page of every group: the console catalog (`/v1/ns/catalog/services`)
/// on r-nacos, each service with its group.
#[test]
fn services_of_every_group_in_a_namespace() {
    let c = client();
    let ns = unique("ns-all");
    let mut want = Vec::new();
    for (group, n) in [("GA", 3), ("GB", 2)] {
        for i in 0..n {
            let name = format!("svc{i}");
            c.create_service(
                ServiceName::new(name.as_str())
                    .group(group)
                    .namespace(ns.as_str()),
                &ServiceSpec::new(),
            )
            .unwrap();
            want.push(ServiceKey::new(ns.as_str(), group, name));
        }
    }
    want.sort();
    let mut seen = Vec::new();
    let mut seen_names = Vec::new();
    for page_no in 1..=3 {
        let page = c
            .list_services(
                &ServicePage::new(page_no, 2)
                    .all_groups()
                    .namespace(ns.as_str()),
            )
            .unwrap();
        assert_eq!(page.count, 5, "{page:?}");
        assert!(page.services.len() <= 2, "{page:?}");
        seen_names.extend(page.names().map(String::from));
        seen.extend(page.services);
    }
    seen.sort();
    assert_eq!(seen, want);
    // The names, bare: svc0..svc2 of GA and svc0..svc1 of GB.
    seen_names.sort();
    assert_eq!(seen_names, ["svc0", "svc0", "svc1", "svc1", "svc2"]);

    // One group's page says its group too.
    let gb = c
        .list_services(&ServicePage::new(1, 10).group("GB").namespace(ns.as_str()))
        .unwrap();
    assert_eq!(gb.services, want[3..].to_vec());
}

/// Every group of the public namespace is the public namespace only: Java
/// reads a catalog request without `namespaceId` as `public`
/// (1.4.8 `CatalogController#listDetail`), r-nacos 0.8 as every namespace,
/// so the client names the namespace.
#[test]
fn every_group_of_the_public_namespace_leaves_other_namespaces_out() {
    let c = client();
    let elsewhere = unique("elsewhere");
    let other_ns = unique("ns-other");
    c.create_service(
        ServiceName::new(elsewhere.as_str()).namespace(other_ns.as_str()),
        &ServiceSpec::new(),
    )
    .unwrap();
    let public = unique("public-svc");
    c.create_service(public.as_str(), &ServiceSpec::new())
        .unwrap();
    let mut seen = Vec::new();
    for page_no in 1.. {
        let page = c
            .list_services(&ServicePage::new(page_no, 500).all_groups())
            .unwrap();
        if page.services.is_empty() {
            break;
        }
        seen.extend(page.services);
    }
    assert!(
        seen.contains(&ServiceKey::new("", "DEFAULT_GROUP", public.as_str())),
        "{seen:?}"
    );
    assert!(!seen.iter().any(|s| s.name == elsewhere), "{seen:?}");
    c.shutdown().unwrap();
}

/// A context path with `.` and `..` segments is resolved once, by the
/// builder: `/x/../nacos/./` reaches r-nacos at `/nacos`.
#[test]
fn a_context_path_with_dot_segments_reaches_the_server() {
    // Through a recording proxy: the paths on the wire show the client
    // resolved the segments (r-nacos might have resolved them itself).
    let upstream: u16 = RNacos::shared()
        .addr()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let proxy = support::proxy::RecordingProxy::start(upstream);
    let c = NacosClient::builder()
        .server_addr(proxy.addr())
        .context_path("/x/../nacos/./")
        .build()
        .unwrap();
    assert_eq!(c.server_status().unwrap(), "UP");
    let svc = unique("ctx-path");
    c.register_instance(svc.as_str(), &Instance::new("10.1.9.1", 7001))
        .unwrap();
    assert!(support::eventually(Duration::from_secs(5), || c
        .list_instances(svc.as_str())
        .is_ok_and(|i| i.hosts.len() == 1)));
    let paths: Vec<String> = proxy.requests().into_iter().map(|r| r.path).collect();
    assert!(
        !paths.is_empty() && paths.iter().all(|p| p.starts_with("/nacos/v")),
        "{paths:?}"
    );
    c.shutdown().unwrap();
    // Without the resolution the path would be wrong: `/x` is not served.
    let wrong = NacosClient::builder()
        .server_addr(RNacos::shared().addr())
        .context_path("/x")
        .build()
        .unwrap();
    assert!(wrong.server_status().is_err());
    wrong.shutdown().unwrap();
}

#[test]
fn server_status_is_up() {
    let c = client();
    assert_eq!(c.server_status().unwrap(), "UP");
    assert!(c.server_healthy());
}

#[test]
fn client_from_env_and_clones_share_state() {
    // from_env reads the process environment; set it for this process only.
    std::env::set_var("NACOS_SERVER_ADDR", RNacos::shared().addr());
    let c = NacosClient::from_env().unwrap();
    let c2 = c.clone();
    assert!(c2.server_healthy());
    drop(c);
    assert!(c2.server_healthy());
    c2.shutdown().unwrap();
    assert!(matches!(c2.server_status(), Err(Error::Shutdown)));
}

#[test]
fn calls_from_many_threads_share_one_client() {
    let c = client();
    let svc = unique("threads");
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let (c, svc) = (c.clone(), svc.clone());
            std::thread::spawn(move || {
                for i in 0..5 {
                    c.register_instance(
                        svc.as_str(),
                        &persistent("10.7.0.1", 1000 + t * 10 + i).build(),
                    )
                    .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let n = c.list_instances(svc.as_str()).unwrap().hosts.len();
    assert_eq!(n, 40);
}

/// Many instances in one call: checked first, sent concurrently within one
/// deadline, each heartbeated, and removed the same way.
#[test]
fn many_instances_register_and_deregister_in_one_call() {
    let c = client();
    let svc = unique("batch");
    let many: Vec<Instance> = (0..200u16)
        .map(|p| Instance::builder("10.70.0.1", 7000 + p).weight(2.0).build())
        .collect();
    // One bad instance: refused before anything is sent.
    let mut bad = many.clone();
    bad[150].port = 0;
    let e = c.register_instances(svc.as_str(), &bad).unwrap_err();
    assert_eq!(e.invalid_field(), Some("port"), "{e}");
    assert!(e.to_string().contains("instance 150"), "{e}");
    assert!(c.heartbeat_states().is_empty(), "nothing registered");

    let outcome = c.register_instances(svc.as_str(), &many).unwrap();
    assert!(
        outcome.is_complete(),
        "{:?}",
        outcome.failed().collect::<Vec<_>>()
    );
    assert_eq!(outcome.succeeded().count(), 200);
    assert_eq!(c.heartbeat_states().len(), 200);
    let observer = client();
    assert!(support::eventually(Duration::from_secs(5), || observer
        .list_instances(svc.as_str())
        .is_ok_and(|i| i.hosts.len() == 200)));

    let gone = c.deregister_instances(svc.as_str(), &many).unwrap();
    assert!(gone.is_complete());
    assert!(c.heartbeat_states().is_empty());
    assert!(support::eventually(Duration::from_secs(5), || observer
        .list_instances(svc.as_str())
        .is_ok_and(|i| i.hosts.is_empty())));
    c.shutdown().unwrap();
}

/// A server that takes some instances and refuses others: the outcome says
/// which, in the order given.
#[test]
fn a_batch_says_which_instances_failed() {
    let server = support::fake::FakeServer::start(|head| {
        if head.starts_with("GET /nacos/v1/ns/operator/metrics") {
            return Some(support::fake::ok(support::V1_METRICS));
        }
        // Odd ports are refused (a 400 is final: no retry).
        let odd = ["port=1&", "port=3&", "port=5&"]
            .iter()
            .any(|p| head.contains(p));
        Some(if odd {
            "HTTP/1.1 400 Bad Request\r\nContent-Length: 7\r\n\r\nrefused".to_string()
        } else {
            support::fake::ok("ok")
        })
    });
    let c = NacosClient::builder()
        .server_addr(server.addr())
        .auto_heartbeat(false)
        .disk_cache(false)
        .build()
        .unwrap();
    let all: Vec<Instance> = (0..6u16)
        .map(|p| Instance::new("10.70.0.2", p + 1))
        .collect();
    let outcome = c.register_instances("svc", &all).unwrap();
    assert!(!outcome.is_complete());
    let ok: Vec<u16> = outcome.succeeded().map(|i| i.port).collect();
    let failed: Vec<u16> = outcome.failed().map(|(i, _)| i.port).collect();
    assert_eq!(ok, [2, 4, 6]);
    assert_eq!(failed, [1, 3, 5]);
    assert!(outcome.failed().all(|(_, e)| e.status() == Some(400)));
    c.shutdown().unwrap();
}

/// The naming failover switch, in the Java client's layout: on, lookups
/// and subscriptions answer from the service's failover file; off, from the
/// server again.
#[test]
fn the_failover_switch_answers_from_files_while_on() {
    let dir = support::scratch_dir("failover");
    let c = NacosClient::builder()
        .server_addr(RNacos::shared().addr())
        .cache_dir(&dir)
        .poll_interval(Duration::from_millis(200))
        .build()
        .unwrap();
    let svc = unique("fo");
    c.register_instance(svc.as_str(), &Instance::new("10.71.0.1", 7100))
        .unwrap();
    let failover = dir.join("failover");
    std::fs::create_dir_all(&failover).unwrap();
    let file = failover.join(format!("DEFAULT_GROUP%40%40{svc}"));
    std::fs::write(
        &file,
        format!(
            r#"{{"name":"DEFAULT_GROUP@@{svc}","clusters":"","cacheMillis":10000,"hosts":[{{"ip":"10.71.9.9","port":7199,"weight":1.0,"healthy":true,"enabled":true,"ephemeral":true,"clusterName":"DEFAULT","metadata":{{}}}}]}}"#
        ),
    )
    .unwrap();
    let ips = |c: &NacosClient| -> Vec<String> {
        c.list_instances(svc.as_str())
            .map(|i| i.hosts.into_iter().map(|h| h.ip).collect())
            .unwrap_or_default()
    };
    assert!(support::eventually(Duration::from_secs(5), || ips(&c) == ["10.71.0.1"]));
    let w = c.watch(svc.as_str()).unwrap();
    assert_eq!(
        w.recv_timeout(Duration::from_secs(5)).unwrap().instances[0].ip,
        "10.71.0.1"
    );
    let switch = failover.join("00-00---000-VIPSRV_FAILOVER_SWITCH-000---00-00");
    std::fs::write(&switch, "1\n").unwrap();
    assert!(support::eventually(Duration::from_secs(3), || c.naming_failover_active()));
    assert_eq!(ips(&c), ["10.71.9.9"]);
    let ev = w.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(ev.instances[0].ip, "10.71.9.9", "{ev:?}");
    std::fs::write(&switch, "0\n").unwrap();
    assert!(support::eventually(Duration::from_secs(3), || !c.naming_failover_active()));
    assert!(support::eventually(Duration::from_secs(5), || ips(&c) == ["10.71.0.1"]));
    let back = w.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(back.instances[0].ip, "10.71.0.1");
    c.shutdown().unwrap();
}
