//! The Nacos v3 HTTP API against a real v3 server, Batata (see
//! `tests/support/batata.rs`; install it once with
//! `bash scripts/install-batata.sh`). Without the binary these tests fail
//! with that instruction: they never skip.

mod support;

use serde_json::Value;
use support::batata::Batata;
use support::process::{body, status};
use support::{http, http_get, http_post, unique};

/// `application/x-www-form-urlencoded` escaping of one value.
fn enc(v: &str) -> String {
    url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

/// The JSON body of a raw answer that must have `status`.
fn json(raw: Option<String>, want: u16) -> Value {
    let raw = raw.expect("no answer");
    assert_eq!(status(&raw), Some(want), "{raw}");
    serde_json::from_str(body(&raw)).unwrap_or_else(|e| panic!("{e}: {raw}"))
}

/// Batata's list answer: `data` is a service object with `hosts`.
fn hosts(port: u16, query: &str) -> Vec<Value> {
    let v = json(
        http_get(port, &format!("/nacos/v3/client/ns/instance/list?{query}")),
        200,
    );
    assert_eq!(v["code"], 0, "{v}");
    v["data"]["hosts"].as_array().cloned().unwrap_or_default()
}

#[test]
fn registers_lists_and_comes_back_after_a_restart() {
    let mut server = Batata::start();
    let port = server.http_port;
    let svc = unique("v3-fixture");
    let register = format!(
        "serviceName={svc}&ip=10.9.8.7&port=8080&weight=2.5&metadata={}",
        enc(r#"{"zone":"a"}"#)
    );
    let v = json(
        http_post(port, "/nacos/v3/client/ns/instance", &register),
        200,
    );
    assert_eq!(
        (v["code"].clone(), v["data"].clone()),
        (0.into(), true.into())
    );

    let list = hosts(port, &format!("serviceName={svc}"));
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["ip"], "10.9.8.7");
    assert_eq!(list[0]["port"], 8080);
    assert_eq!(list[0]["weight"], 2.5);
    assert_eq!(list[0]["metadata"]["zone"], "a");
    assert_eq!(list[0]["ephemeral"], true);

    let config = format!("dataId={svc}&groupName=G&group=G&content=kept");
    let v = json(http_post(port, "/nacos/v3/admin/cs/config", &config), 200);
    assert_eq!(v["data"], true, "{v}");

    server.restart();
    assert_eq!(server.http_port, port, "a restart keeps the port");
    // Instances live in memory: gone. Configs are in RocksDB: kept.
    assert!(hosts(port, &format!("serviceName={svc}")).is_empty());
    let v = json(
        http_get(
            port,
            &format!("/nacos/v3/client/cs/config?dataId={svc}&group=G&groupName=G"),
        ),
        200,
    );
    assert_eq!(v["data"]["content"], "kept", "{v}");
    // And it takes registrations again.
    json(
        http_post(port, "/nacos/v3/client/ns/instance", &register),
        200,
    );
    assert_eq!(hosts(port, &format!("serviceName={svc}")).len(), 1);

    server.stop();
    assert!(!server.is_running());
    assert!(http_get(port, "/nacos/v3/admin/core/state/liveness").is_none());
    server.start_again();
    assert!(server.is_running());
}

#[test]
fn with_auth_a_token_is_needed_and_the_admin_logs_in_after_a_restart() {
    let mut server = Batata::start_with_auth();
    let port = server.http_port;
    let list = "/nacos/v3/client/ns/instance/list?serviceName=x";
    let denied = json(http_get(port, list), 403);
    assert_eq!(denied["code"], 10001, "{denied}");

    let token = server.login();
    let v = json(http_get(port, &format!("{list}&accessToken={token}")), 200);
    assert_eq!(v["code"], 0, "{v}");
    // Batata takes the token from the query string or a header, not the form.
    let raw = http(
        port,
        "POST",
        "/nacos/v3/client/ns/instance",
        &format!("serviceName=x&ip=10.0.0.1&port=1&accessToken={token}"),
    );
    assert_eq!(raw.as_deref().and_then(status), Some(403));

    server.restart();
    let token = server.login();
    json(http_get(port, &format!("{list}&accessToken={token}")), 200);
}

#[test]
fn two_servers_run_side_by_side() {
    let a = Batata::start();
    let b = Batata::start();
    assert_ne!(a.http_port, b.http_port);
    for s in [&a, &b] {
        let v = json(http_get(s.http_port, "/nacos/v3/admin/core/state"), 200);
        assert_eq!(v["data"]["server_port"], s.http_port.to_string(), "{v}");
    }
    // v1 is not spoken: 404 with an empty body.
    let raw = http_get(a.http_port, "/nacos/v1/ns/instance/list?serviceName=x").unwrap();
    assert_eq!(status(&raw), Some(404));
    assert_eq!(body(&raw), "");
}
