//! The shape of every request on the wire, checked against what the Java
//! client sends, through a recording proxy in front of a real r-nacos
//! (which must answer every one of them).
//!
//! Each row cites the Java source it was written from (alibaba/nacos tags
//! 2.4.3 and 1.4.8). Where this crate deliberately differs, the row says
//! why. Query and form keys are compared as sorted sets; the token (an
//! `accessToken` header, never a parameter) is checked on its own.

mod support;

use std::time::Duration;

use nacos_blocking::{
    ConfigEvent, ConfigName, Instance, NacosClient, ServiceName, ServicePage, ServiceSpec, Watcher,
};
use support::proxy::{Recorded, RecordingProxy};
use support::{unique, RNacos};

const NS: &str = "wire-ns";
const GROUP: &str = "wire-g";
const APP: &str = "wire-app";
const PASSWORD: &str = "Wire-Pa55-Sekret";

fn client(proxy: &RecordingProxy) -> NacosClient {
    NacosClient::builder()
        .server_addr(proxy.addr())
        .namespace(NS)
        .app_name(APP)
        .auto_heartbeat(false)
        .long_poll_timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// The one request recorded to `method path` since the last `clear`.
fn one(proxy: &RecordingProxy, method: &str, path: &str) -> Recorded {
    let mut found = proxy.to(method, path);
    assert_eq!(found.len(), 1, "{method} {path}: {:#?}", proxy.requests());
    found.pop().unwrap()
}

fn sorted<'a>(keys: &[&'a str]) -> Vec<&'a str> {
    let mut k = keys.to_vec();
    k.sort_unstable();
    k
}

/// Query and form keys exactly, and the headers every call carries.
fn shape(r: &Recorded, module: &str, query: &[&str], form: &[&str]) {
    assert_eq!(r.query_keys(), sorted(query), "query of {}", r.raw_head);
    assert_eq!(r.form_keys(), sorted(form), "form of {}", r.raw_head);
    // 2.4.3 `NamingHttpUtil.builderHeader` / 1.4.8 `ServerHttpAgent.getSpasHeaders`:
    // `Client-Version` is the bare version, parsed by the config server's
    // `Protocol.getVersionNumber` (see `CLIENT_VERSION` in src/transport.rs).
    assert_eq!(r.header("Client-Version"), Some("2.4.3"), "{}", r.raw_head);
    assert!(
        r.header("User-Agent")
            .is_some_and(|u| u.starts_with("nacos-blocking/")),
        "{}",
        r.raw_head
    );
    assert_eq!(r.header("Request-Module"), Some(module), "{}", r.raw_head);
    assert!(r.header("RequestId").is_some(), "{}", r.raw_head);
    // A body only where Java sends one: POST/PUT always send a form body
    // (`exchangeForm`/`postForm`), possibly empty.
    if matches!(r.method.as_str(), "POST" | "PUT") {
        assert!(
            r.header("Content-Type")
                .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded")),
            "{}",
            r.raw_head
        );
    }
}

#[test]
fn every_call_matches_the_java_client() {
    let server = RNacos::start();
    let proxy = RecordingProxy::start(server.http_port);
    let c = client(&proxy);
    let svc = unique("wire-svc");
    let name = || ServiceName::new(svc.as_str()).group(GROUP);
    let grouped = format!("{GROUP}@@{svc}");
    let inst = Instance::builder("10.9.0.1", 7001)
        .metadata("k", "v")
        .build();

    // Register. 2.4.3 NamingHttpClientProxy.registerService (1.4.8
    // NamingProxy.registerService): every parameter in the query, empty form
    // body; `app` from AbstractNamingClientProxy.getAppHeaders. `enabled`
    // beside Java's `enable`: r-nacos reads only `enabled`.
    proxy.clear();
    c.register_instance(name(), &inst).unwrap();
    let r = one(&proxy, "POST", "/v1/ns/instance");
    shape(
        &r,
        "Naming",
        &[
            "namespaceId",
            "serviceName",
            "groupName",
            "clusterName",
            "ip",
            "port",
            "weight",
            "enable",
            "enabled",
            "healthy",
            "ephemeral",
            "metadata",
            "app",
        ],
        &[],
    );
    assert_eq!(r.query("serviceName"), Some(grouped.as_str()));
    assert_eq!(r.query("groupName"), Some(GROUP));
    assert_eq!(r.query("namespaceId"), Some(NS));
    assert_eq!(r.query("app"), Some(APP));
    assert_eq!(r.query("metadata"), Some(r#"{"k":"v"}"#));

    // Update. 2.4.3 NamingHttpClientProxy.updateInstance: bare serviceName
    // with groupName, `enabled`, no `healthy`.
    proxy.clear();
    let updated = Instance::builder("10.9.0.1", 7001)
        .weight(3.0)
        .metadata("k", "w")
        .build();
    c.update_instance(name(), &updated).unwrap();
    let r = one(&proxy, "PUT", "/v1/ns/instance");
    shape(
        &r,
        "Naming",
        &[
            "namespaceId",
            "serviceName",
            "groupName",
            "clusterName",
            "ip",
            "port",
            "weight",
            "enabled",
            "ephemeral",
            "metadata",
            "app",
        ],
        &[],
    );
    assert_eq!(r.query("serviceName"), Some(svc.as_str()));
    assert_eq!(r.query("weight"), Some("3"));

    // One instance. No Java client call: the server's
    // InstanceController.detail (1.4.8, 2.4.3) reads namespaceId,
    // serviceName, clusterName, ip, port. r-nacos's answer says
    // `enabled`/`ephemeral`, so no list call follows here.
    proxy.clear();
    let got = c.get_instance(name(), "10.9.0.1", 7001).unwrap();
    assert_eq!((got.weight, got.enabled, got.ephemeral), (3.0, true, true));
    let r = one(&proxy, "GET", "/v1/ns/instance");
    shape(
        &r,
        "Naming",
        &[
            "namespaceId",
            "serviceName",
            "clusterName",
            "ip",
            "port",
            "app",
        ],
        &[],
    );
    assert_eq!(r.query("serviceName"), Some(grouped.as_str()));

    // List. 1.4.8 NamingProxy.queryList: namespaceId, grouped serviceName,
    // clusters, healthyOnly (+ udpPort/clientIP for UDP push, which this
    // crate does not take; `clusters` only when a filter is given).
    proxy.clear();
    let listed = c.list_instances(name().clusters(["DEFAULT"])).unwrap();
    assert_eq!(listed.hosts.len(), 1);
    let r = one(&proxy, "GET", "/v1/ns/instance/list");
    shape(
        &r,
        "Naming",
        &[
            "namespaceId",
            "serviceName",
            "clusters",
            "healthyOnly",
            "app",
        ],
        &[],
    );
    assert_eq!(r.query("healthyOnly"), Some("false"));

    // Beat. 1.4.8 NamingProxy.sendBeat: address in the query, the beat JSON
    // in the form body (`bodyMap`).
    proxy.clear();
    c.send_heartbeat(name(), &updated).unwrap();
    let r = one(&proxy, "PUT", "/v1/ns/instance/beat");
    shape(
        &r,
        "Naming",
        &[
            "namespaceId",
            "serviceName",
            "clusterName",
            "ip",
            "port",
            "app",
        ],
        &["beat"],
    );
    let beat: serde_json::Value = serde_json::from_str(r.form("beat").unwrap()).unwrap();
    assert_eq!(beat["serviceName"], grouped.as_str());
    assert_eq!(beat["ip"], "10.9.0.1");

    // Deregister. 2.4.3 NamingHttpClientProxy.deregisterService: grouped
    // serviceName, no groupName.
    proxy.clear();
    c.deregister_instance(name(), &updated).unwrap();
    let r = one(&proxy, "DELETE", "/v1/ns/instance");
    shape(
        &r,
        "Naming",
        &[
            "namespaceId",
            "serviceName",
            "clusterName",
            "ip",
            "port",
            "ephemeral",
            "app",
        ],
        &[],
    );

    // Services. 2.4.3 NamingHttpClientProxy.createService/updateService/
    // deleteService: bare serviceName + groupName in the query (Java also
    // sends `selector`, "null" JSON when there is none; we only when given).
    let svc2 = unique("wire-svc2");
    let name2 = || ServiceName::new(svc2.as_str()).group(GROUP);
    let spec = ServiceSpec::new();
    for (method, call) in [("POST", "create"), ("PUT", "update")] {
        proxy.clear();
        match call {
            "create" => c.create_service(name2(), &spec).unwrap(),
            _ => c.update_service(name2(), &spec).unwrap(),
        }
        let r = one(&proxy, method, "/v1/ns/service");
        shape(
            &r,
            "Naming",
            &[
                "namespaceId",
                "serviceName",
                "groupName",
                "protectThreshold",
                "metadata",
                "app",
            ],
            &[],
        );
        assert_eq!(r.query("serviceName"), Some(svc2.as_str()));
    }
    // 2.4.3 NamingHttpClientProxy.queryService sends the bare name; r-nacos's
    // query_service ignores groupName, so we send the grouped one (the Java
    // server's DistroFilter leaves a grouped name as it is).
    proxy.clear();
    c.get_service(name2()).unwrap();
    let r = one(&proxy, "GET", "/v1/ns/service");
    shape(
        &r,
        "Naming",
        &["namespaceId", "serviceName", "groupName", "app"],
        &[],
    );
    assert_eq!(
        r.query("serviceName"),
        Some(format!("{GROUP}@@{svc2}").as_str())
    );
    // 2.4.3 NamingHttpClientProxy.getServiceList.
    proxy.clear();
    let page = c
        .list_services(&ServicePage::new(1, 50).group(GROUP))
        .unwrap();
    assert!(page.names().any(|n| n == svc2), "{page:?}");
    let r = one(&proxy, "GET", "/v1/ns/service/list");
    shape(
        &r,
        "Naming",
        &["pageNo", "pageSize", "namespaceId", "groupName", "app"],
        &[],
    );
    proxy.clear();
    c.delete_service(name2()).unwrap();
    let r = one(&proxy, "DELETE", "/v1/ns/service");
    shape(
        &r,
        "Naming",
        &["namespaceId", "serviceName", "groupName", "app"],
        &[],
    );

    // Config. 1.4.8 ClientWorker.getServerConfig: dataId, group, tenant in
    // the query (GET).
    let data_id = unique("wire-cfg");
    let cfg = || ConfigName::new(data_id.as_str()).group(GROUP);
    proxy.clear();
    assert_eq!(c.get_config(cfg()).unwrap(), None);
    let r = one(&proxy, "GET", "/v1/cs/configs");
    shape(&r, "Config", &["dataId", "group", "tenant"], &[]);
    assert_eq!(r.query("tenant"), Some(NS));
    // 1.4.8 NacosConfigService.publishConfigInner: ServerHttpAgent.httpPost
    // sends every parameter, content included, in the form body.
    proxy.clear();
    c.publish_config(cfg(), "a=1").unwrap();
    let r = one(&proxy, "POST", "/v1/cs/configs");
    shape(&r, "Config", &[], &["dataId", "group", "tenant", "content"]);
    assert_eq!(r.form("content"), Some("a=1"));
    // 1.4.8 NacosConfigService.removeConfigInner: httpDelete, query.
    proxy.clear();
    c.remove_config(cfg()).unwrap();
    let r = one(&proxy, "DELETE", "/v1/cs/configs");
    shape(&r, "Config", &["dataId", "group", "tenant"], &[]);
}

/// The listener: 1.4.8 ClientWorker.checkUpdateConfigStr posts
/// `Listening-Configs` (form body, with `tenant` added by
/// ServerHttpAgent.injectSecurityInfo) and header `Long-Pulling-Timeout`.
/// A key added while the namespace's poll is held gets a fresh long poll
/// with every key of the namespace at once (never a no-hangup check).
#[test]
fn long_polls_cover_keys_added_while_one_is_held() {
    let server = RNacos::start();
    let proxy = RecordingProxy::start(server.http_port);
    let c = client(&proxy);
    let ids: Vec<String> = (0..3).map(|_| unique("wire-lp")).collect();
    let listener = |r: &Recorded| r.method == "POST" && r.path == "/nacos/v1/cs/configs/listener";
    let mut watchers = Vec::new();
    // Three keys one after another, each while the last poll is held (none
    // of the keys exists, so r-nacos holds every poll).
    for id in &ids {
        watchers.push(
            c.watch_config(ConfigName::new(id.as_str()).group(GROUP))
                .unwrap(),
        );
        std::thread::sleep(Duration::from_millis(400));
    }
    assert!(proxy.wait_for(Duration::from_secs(5), |rs| {
        rs.iter().filter(|r| listener(r)).count() >= 3
    }));
    let requests = proxy.requests();
    let polls: Vec<&Recorded> = requests.iter().filter(|r| listener(r)).collect();
    for r in &polls {
        shape(r, "Config", &[], &["Listening-Configs", "tenant"]);
        assert_eq!(r.form("tenant"), Some(NS));
        assert_eq!(r.header("Long-Pulling-Timeout"), Some("10000"));
        assert!(r.header("Long-Pulling-Timeout-No-Hangup").is_none());
    }
    let last = polls.last().unwrap().form("Listening-Configs").unwrap();
    assert!(ids.iter().all(|id| last.contains(id.as_str())), "{last:?}");

    // r-nacos answers the fresh poll at once: a change to the last key
    // is delivered.
    let other = NacosClient::builder()
        .server_addr(server.addr())
        .namespace(NS)
        .build()
        .unwrap();
    let sent = std::time::Instant::now();
    other
        .publish_config(ConfigName::new(ids[2].as_str()).group(GROUP), "x=1")
        .unwrap();
    let ev = next_change(&watchers[2], Duration::from_secs(15)).expect("the change is delivered");
    assert_eq!(ev.content.as_deref(), Some("x=1"));
    assert!(
        sent.elapsed() < Duration::from_secs(2),
        "{:?}",
        sent.elapsed()
    );
}

fn auth_server() -> RNacos {
    RNacos::start_with(&[
        ("RNACOS_ENABLE_OPEN_API_AUTH", "true"),
        ("RNACOS_INIT_ADMIN_USERNAME", "admin"),
        ("RNACOS_INIT_ADMIN_PASSWORD", PASSWORD),
        ("RNACOS_API_LOGIN_ONE_MINUTE_LIMIT", "100000"),
    ])
}

/// Login: 2.4.3 HttpLoginProcessor.getResponse (1.4.8 SecurityProxy.login)
/// posts to `/v1/auth/users/login` with `username` in the query and
/// `password` in the form body. Then every call carries the token in the
/// `accessToken` header (r-nacos reads it there or in the query; never the
/// URL, which logs may show) and as `Authorization: Bearer`. With two
/// namespaces watched, one long poll per namespace, each with its tenant,
/// and r-nacos answers both.
#[test]
fn login_then_one_long_poll_per_namespace() {
    let server = auth_server();
    let proxy = RecordingProxy::start(server.http_port);
    let c = NacosClient::builder()
        .server_addr(proxy.addr())
        .credentials("admin", PASSWORD)
        .long_poll_timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    assert!(c.server_healthy());
    let r = one(&proxy, "POST", "/v1/auth/users/login");
    shape(&r, "Login", &["username"], &["password"]);
    assert_eq!(r.query("username"), Some("admin"));
    assert!(!r.raw_head.contains(PASSWORD), "{}", r.raw_head);
    // 2.4.3 NamingHttpClientProxy.serverHealthy: no parameters but the
    // `namespaceId` reqApi adds (Java sends `public` for the default
    // namespace; we leave the public namespace out, as on every call).
    // First came the API probe (`Api::Auto`, src/transport/dialect.rs): the same
    // path, once per server, before the login and without a token.
    let metrics = proxy.to("GET", "/v1/ns/operator/metrics");
    assert_eq!(metrics.len(), 2, "{metrics:#?}");
    assert!(metrics[0].query("accessToken").is_none());
    assert!(metrics[0].header("request-module").is_none());
    let r = metrics[1].clone();
    shape(&r, "Naming", &[], &[]);
    assert!(
        r.query("accessToken").is_none(),
        "the token is never in the URL"
    );
    assert!(r.header("accesstoken").is_some_and(|t| !t.is_empty()));

    let (ns_a, ns_b) = ("wire-a", "wire-b");
    let id = unique("wire-2ns");
    let key = |ns: &str| ConfigName::new(id.as_str()).group(GROUP).namespace(ns);
    proxy.clear();
    let wa = c.watch_config(key(ns_a)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let wb = c.watch_config(key(ns_b)).unwrap();
    let listens = |rs: &[Recorded], ns: &str| {
        rs.iter()
            .filter(|r| r.path == "/nacos/v1/cs/configs/listener" && r.form("tenant") == Some(ns))
            .count()
    };
    // One poll thread sends the namespaces' requests in turn, so the
    // second waits for the first to be answered (r-nacos holds it ~9.5 s).
    assert!(proxy.wait_for(Duration::from_secs(15), |rs| {
        listens(rs, ns_a) >= 1 && listens(rs, ns_b) >= 1
    }));
    for r in proxy.to("POST", "/v1/cs/configs/listener") {
        let tenant = r.form("tenant").expect("tenant").to_string();
        let configs = r.form("Listening-Configs").unwrap();
        // Every key of the request is of its tenant: `dataId ^B group ^B md5 ^B tenant ^A`.
        for item in configs.split('\x01').filter(|i| !i.is_empty()) {
            assert_eq!(
                item.split('\x02').nth(3),
                Some(tenant.as_str()),
                "{configs:?}"
            );
        }
        assert!(r.header("accesstoken").is_some(), "{}", r.raw_head);
        assert!(r.query("accessToken").is_none(), "{}", r.raw_head);
    }

    // r-nacos answers both namespaces' polls.
    let other = NacosClient::builder()
        .server_addr(server.addr())
        .credentials("admin", PASSWORD)
        .build()
        .unwrap();
    other.publish_config(key(ns_a), "in a").unwrap();
    other.publish_config(key(ns_b), "in b").unwrap();
    let a = next_change(&wa, Duration::from_secs(25)).expect("change in a");
    let b = next_change(&wb, Duration::from_secs(25)).expect("change in b");
    assert_eq!(a.content.as_deref(), Some("in a"));
    assert_eq!(b.content.as_deref(), Some("in b"));
    for r in proxy.requests() {
        assert!(
            !r.raw_head.contains(PASSWORD)
                && r.query.iter().all(|(_, v)| v != PASSWORD)
                && (r.path.ends_with("/login") || r.form.iter().all(|(_, v)| v != PASSWORD)),
            "password outside the login form: {r:?}"
        );
    }
}

/// A host name as the instance address registers, lists, beats and
/// deregisters against r-nacos.
#[test]
fn host_name_instances_work_end_to_end() {
    let server = RNacos::start();
    let c = NacosClient::builder()
        .server_addr(server.addr())
        .auto_heartbeat(false)
        .build()
        .unwrap();
    let svc = unique("wire-host");
    let inst = Instance::new("node-1.wire.example.internal", 7100);
    c.register_instance(svc.as_str(), &inst).unwrap();
    let hosts = c.list_instances(svc.as_str()).unwrap().hosts;
    assert_eq!(hosts.len(), 1);
    assert_eq!(hosts[0].ip, "node-1.wire.example.internal");
    assert_eq!(hosts[0].addr(), "node-1.wire.example.internal:7100");
    c.send_heartbeat(svc.as_str(), &inst).unwrap();
    let got = c
        .get_instance(svc.as_str(), "node-1.wire.example.internal", 7100)
        .unwrap();
    assert_eq!(got.ip, inst.ip);
    c.deregister_instance(svc.as_str(), &inst).unwrap();
    assert!(support::eventually(Duration::from_secs(5), || c
        .list_instances(svc.as_str())
        .is_ok_and(|s| s.hosts.is_empty())));
}

/// AK/SK signing on the wire, checked against Python's `hmac`/`base64`.
#[cfg(feature = "aksk")]
mod aksk {
    use super::*;
    use support::logs;

    const SK: &str = "wire-SECRET-key-9f2";
    const STS: &str = "wire-sts-token-77";

    fn python_sign(text: &str) -> String {
        let out = std::process::Command::new("python3")
            .args([
                "-c",
                "import sys,hmac,hashlib,base64;\
                 print(base64.b64encode(hmac.new(sys.argv[1].encode(),sys.argv[2].encode(),\
                 hashlib.sha1).digest()).decode())",
                SK,
                text,
            ])
            .output()
            .expect("python3 computes the expected signature");
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    #[test]
    fn signatures_match_python_and_the_secret_never_shows() {
        logs::install();
        let server = RNacos::start();
        let proxy = RecordingProxy::start(server.http_port);
        let c = NacosClient::builder()
            .server_addr(proxy.addr())
            .namespace(NS)
            .auto_heartbeat(false)
            .access_key("LTAI-wire-ak")
            .secret_key(SK)
            .security_token(STS)
            .build()
            .unwrap();
        assert!(!format!("{c:?}").contains(SK));
        let svc = unique("wire-ak");
        let name = ServiceName::new(svc.as_str()).group(GROUP);

        // Naming: query `ak`, `data` = ts@@group@@service, `signature`
        // (2.4.3 NamingResourceInjector.doInject; STS token as a parameter).
        proxy.clear();
        c.register_instance(name.clone(), &Instance::new("10.9.1.1", 7200))
            .unwrap();
        let r = one(&proxy, "POST", "/v1/ns/instance");
        let data = r.query("data").unwrap();
        let (ts, rest) = data.split_once("@@").unwrap();
        assert!(ts.parse::<u128>().is_ok(), "{data}");
        assert_eq!(rest, format!("{GROUP}@@{svc}"));
        assert_eq!(r.query("ak"), Some("LTAI-wire-ak"));
        assert_eq!(r.query("signature").unwrap(), python_sign(data));
        assert_eq!(r.query("Spas-SecurityToken"), Some(STS));
        assert!(r.header("Spas-Signature").is_none());

        // Config: headers Spas-AccessKey, Timestamp, Spas-Signature over
        // tenant+group+ts (2.4.3 ConfigResourceInjector + SpasAdapter).
        proxy.clear();
        let data_id = unique("wire-ak-cfg");
        assert_eq!(
            c.get_config(ConfigName::new(data_id.as_str()).group(GROUP))
                .unwrap(),
            None
        );
        let r = one(&proxy, "GET", "/v1/cs/configs");
        let ts = r.header("Timestamp").unwrap();
        assert_eq!(r.header("Spas-AccessKey"), Some("LTAI-wire-ak"));
        assert_eq!(
            r.header("Spas-Signature").unwrap(),
            python_sign(&format!("{NS}+{GROUP}+{ts}"))
        );
        assert_eq!(r.header("Spas-SecurityToken"), Some(STS));
        assert!(r.query("signature").is_none());

        // An error answer: the secret is not in it either.
        let e = c
            .get_service(ServiceName::new(unique("absent")))
            .unwrap_err();
        for text in [e.to_string(), format!("{e:?}")] {
            assert!(!text.contains(SK) && !text.contains(STS), "{text}");
        }
        for r in proxy.requests() {
            assert!(!r.raw_head.contains(SK), "the secret went on the wire");
        }
        for l in logs::lines() {
            assert!(
                !l.contains(SK) && !l.contains(STS),
                "secret in a log line: {l}"
            );
        }
    }
}

/// Java Nacos's `GET /instance` (1.4.8/2.4.3 `InstanceController.detail`)
/// says neither `enabled` nor `ephemeral`: `get_instance` then takes them
/// from `instance/list` instead of inventing them. A fake server answers
/// as Java Nacos does (r-nacos says both, so it cannot show this).
#[test]
fn get_instance_fills_what_a_java_detail_does_not_say() {
    use support::fake::{ok, FakeServer};
    let server = FakeServer::start(|head| {
        if head.starts_with("GET /nacos/v1/ns/instance/list?") {
            Some(ok(
                r#"{"name":"DEFAULT_GROUP@@svc","hosts":[{"ip":"10.9.2.1","port":80,
                "healthy":true,"enabled":true,"ephemeral":false,"clusterName":"DEFAULT",
                "weight":1.0,"metadata":{}}]}"#,
            ))
        } else if head.starts_with("GET /nacos/v1/ns/instance?") {
            Some(ok(
                r#"{"service":"DEFAULT_GROUP@@svc","ip":"10.9.2.1","port":80,
                "clusterName":"DEFAULT","weight":2.0,"healthy":false,"instanceId":"x",
                "metadata":{"k":"v"}}"#,
            ))
        } else {
            Some(ok("unexpected"))
        }
    });
    let c = NacosClient::new(&server.addr()).unwrap();
    let i = c.get_instance("svc", "10.9.2.1", 80).unwrap();
    // From the detail: raw health, weight, metadata.
    assert!(!i.healthy);
    assert_eq!((i.weight, i.metadata["k"].as_str()), (2.0, "v"));
    // From the list: what the detail does not say.
    assert!(i.enabled && !i.ephemeral);
    // Not listed (disabled instances never are): disabled.
    let gone = c
        .get_instance(ServiceName::new("svc").clusters(["other"]), "10.9.2.1", 80)
        .unwrap();
    assert!(!gone.enabled);
}

/// The first event after the initial one (watches start with the content
/// they found), within `within`.
fn next_change(w: &Watcher<ConfigEvent>, within: Duration) -> Option<ConfigEvent> {
    let until = std::time::Instant::now() + within;
    loop {
        let left = until.saturating_duration_since(std::time::Instant::now());
        match w.recv_timeout(left) {
            Ok(ev) if ev.initial => continue,
            Ok(ev) => return Some(ev),
            Err(_) => return None,
        }
    }
}

/// `Api::Auto` probes a server once (src/transport/dialect.rs), and asks again only
/// after a connection to it was refused or reset: long polls that r-nacos
/// holds, fresh ones for keys added meanwhile, never send the probe again.
#[test]
fn the_api_probe_is_made_once_per_server() {
    let server = RNacos::shared();
    let proxy = RecordingProxy::start(server.http_port);
    let c = client(&proxy);
    // Each key added while the last poll is held: a fresh poll each.
    let _watchers: Vec<_> = (0..3)
        .map(|_| {
            let w = c.watch_config(unique("probe-once").as_str()).unwrap();
            std::thread::sleep(Duration::from_millis(300));
            w
        })
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    let polls = proxy.to("POST", "/v1/cs/configs/listener").len();
    assert!(polls >= 3, "{polls} polls");
    let probes = proxy.to("GET", "/v1/ns/operator/metrics");
    assert_eq!(probes.len(), 1, "{probes:#?}");
}
