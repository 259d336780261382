//! Username/password auth against r-nacos with open-API auth on, and the
//! promise that passwords and tokens never show up in logs, Debug or errors.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nacos_blocking::{Instance, NacosClient};
use support::fake::{ok, FakeServer};
use support::{logs, unique, RNacos};

const PASSWORD: &str = "Pa55-w0rd-Sekret";

fn auth_server(ttl_secs: &str) -> RNacos {
    RNacos::start_with(&[
        ("RNACOS_ENABLE_OPEN_API_AUTH", "true"),
        ("RNACOS_API_LOGIN_TIMEOUT", ttl_secs),
        ("RNACOS_INIT_ADMIN_USERNAME", "admin"),
        ("RNACOS_INIT_ADMIN_PASSWORD", PASSWORD),
        // Failed logins count against a per-minute limit (100 by default),
        // and the fixture's own polling for the first user is one of them.
        ("RNACOS_API_LOGIN_ONE_MINUTE_LIMIT", "100000"),
    ])
}

/// Any run of 32+ hex digits: r-nacos tokens are 64 of them.
fn has_token_like(text: &str) -> bool {
    let mut run = 0;
    for c in text.chars() {
        if c.is_ascii_hexdigit() {
            run += 1;
            if run >= 32 {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

#[test]
fn right_credentials_work_across_token_expiry_wrong_ones_fail() {
    // Every crate's records at TRACE: the token reaches none of them.
    logs::install_trace();
    let server = auth_server("2");

    // Without credentials the server refuses: the auth error kind.
    let anon = NacosClient::new(&server.addr()).unwrap();
    let e = anon.list_healthy_instances("svc").unwrap_err();
    assert!(e.is_auth(), "{e:?}");
    assert!(
        e.to_string()
            .contains("no credentials are set: set them with `ClientBuilder::credentials`"),
        "{e}"
    );

    let c = NacosClient::builder()
        .server_addr(server.addr())
        .credentials("admin", PASSWORD)
        .build()
        .unwrap();
    let svc = unique("auth");
    c.register_instance(
        svc.as_str(),
        &Instance::builder("10.8.0.1", 1).ephemeral(false).build(),
    )
    .unwrap();
    // Keep calling for well over two token lifetimes.
    let until = Instant::now() + Duration::from_secs(5);
    let mut calls = 0;
    while Instant::now() < until {
        assert_eq!(c.list_instances(svc.as_str()).unwrap().hosts.len(), 1);
        calls += 1;
        std::thread::sleep(Duration::from_millis(150));
    }
    assert!(calls > 20);

    let wrong = NacosClient::builder()
        .server_addr(server.addr())
        .credentials("admin", "not-the-password")
        .build()
        .unwrap();
    let e = wrong.list_instances(svc.as_str()).unwrap_err();
    assert!(e.is_auth(), "{e:?}");
    assert!(
        e.to_string().contains("login refused for user `admin`"),
        "{e}"
    );

    // Secrets appear nowhere a user might look.
    let texts = [
        format!("{c:?}"),
        format!("{wrong:?}"),
        format!("{e}"),
        format!("{e:?}"),
    ];
    for t in texts.iter().chain(logs::lines().iter()) {
        assert!(!t.contains(PASSWORD), "password leaked: {t}");
        assert!(!t.contains("not-the-password"), "password leaked: {t}");
        assert!(!has_token_like(t), "token-like text leaked: {t}");
    }
    assert!(
        logs::lines().iter().any(|l| l.contains("logged in")),
        "debug logging was captured"
    );
}

#[test]
fn a_token_the_server_forgot_triggers_one_relogin() {
    let mut server = auth_server("3600");
    let c = NacosClient::builder()
        .server_addr(server.addr())
        .credentials("admin", PASSWORD)
        .build()
        .unwrap();
    assert_eq!(c.server_status().unwrap(), "UP");
    // A new server process knows none of the old tokens.
    server.restart();
    let svc = unique("relogin");
    c.register_instance(
        svc.as_str(),
        &Instance::builder("10.8.0.2", 2).ephemeral(false).build(),
    )
    .unwrap();
    assert_eq!(c.list_instances(svc.as_str()).unwrap().hosts.len(), 1);
}

#[test]
fn exact_token_and_password_never_leak_and_login_is_single_flight() {
    logs::install();
    const TOKEN: &str = "tok-EXACT-7f3a";
    let logins = Arc::new(AtomicUsize::new(0));
    let refuse = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (seen, refusing) = (logins.clone(), refuse.clone());
    let server = FakeServer::start(move |head| {
        if head.starts_with("POST /nacos/v1/auth/users/login") {
            assert!(
                !head.contains(PASSWORD),
                "password in the request line: {head}"
            );
            seen.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(200));
            return Some(ok(&format!(
                r#"{{"accessToken":"{TOKEN}","tokenTtl":3600}}"#
            )));
        }
        // The API probe (`Api::Auto`, src/transport/dialect.rs) comes before the first
        // login, so it carries no token; it has no `Request-Module` either.
        let lower = head.to_ascii_lowercase();
        if head.starts_with("GET /nacos/v1/ns/operator/metrics")
            && !lower.contains("request-module")
        {
            assert!(!head.contains("accessToken"), "{head}");
            return Some(ok(support::V1_METRICS));
        }
        // The token travels in headers, never in the request line.
        let request_line = head.lines().next().unwrap_or("");
        assert!(!request_line.contains(TOKEN), "{head}");
        assert!(
            lower.contains(&format!("accesstoken: {}", TOKEN.to_ascii_lowercase())),
            "{head}"
        );
        assert!(head.contains(&format!("Bearer {TOKEN}")), "{head}");
        if refusing.load(Ordering::SeqCst) {
            Some("HTTP/1.1 403 Forbidden\r\nContent-Length: 13\r\n\r\nunknown user!".to_string())
        } else {
            Some(ok(r#"{"status":"UP"}"#))
        }
    });
    let c = NacosClient::builder()
        .server_addr(server.addr())
        .credentials("admin", PASSWORD)
        .build()
        .unwrap();
    let run_six = || -> Vec<nacos_blocking::Result<String>> {
        let threads: Vec<_> = (0..6)
            .map(|_| {
                let c = c.clone();
                std::thread::spawn(move || c.server_status())
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    };
    // Six threads find no token at once: one login serves them all.
    for r in run_six() {
        assert_eq!(r.unwrap(), "UP");
    }
    assert_eq!(logins.load(Ordering::SeqCst), 1);
    // Reused, not renewed, while fresh.
    assert_eq!(c.server_status().unwrap(), "UP");
    assert_eq!(logins.load(Ordering::SeqCst), 1);

    // Now the server refuses the token: each call logs in again once, then
    // fails with the auth error kind.
    refuse.store(true, Ordering::SeqCst);
    let e = c.server_status().unwrap_err();
    assert!(e.is_auth(), "{e:?}");
    assert_eq!(logins.load(Ordering::SeqCst), 2);
    for r in run_six() {
        let e = r.unwrap_err();
        assert!(e.is_auth(), "{e:?}");
        for t in [e.to_string(), format!("{e:?}")] {
            assert!(!t.contains(TOKEN) && !t.contains(PASSWORD), "{t}");
        }
    }
    assert!(!format!("{c:?}").contains(PASSWORD));
    for l in logs::lines() {
        assert!(!l.contains(TOKEN), "token leaked in a log line: {l}");
        assert!(!l.contains(PASSWORD), "password leaked in a log line: {l}");
    }
}

/// Logged in, and a call still refused with a fresh token: the user lacks
/// the rights for it, and the error says so (not "authentication failed"
/// with the server's raw page alone).
#[test]
fn a_403_with_a_fresh_token_is_a_permission_denied() {
    let server = FakeServer::start(|head| {
        if head.starts_with("POST /nacos/v1/auth/users/login") {
            return Some(ok(r#"{"accessToken":"fresh-token-1","tokenTtl":3600}"#));
        }
        if head.starts_with("GET /nacos/v1/ns/operator/metrics") && !head.contains("accesstoken") {
            return Some(ok(support::V1_METRICS));
        }
        Some(
            "HTTP/1.1 403 Forbidden\r\nContent-Length: 26\r\n\r\nauthorization failed!....."
                .to_string(),
        )
    });
    let c = NacosClient::builder()
        .server_addr(server.addr())
        .credentials("reader", "pw")
        .disk_cache(false)
        .build()
        .unwrap();
    let e = c.publish_config("cfg", "x").unwrap_err();
    assert!(e.is_auth(), "{e:?}");
    assert!(
        e.to_string()
            .contains("permission denied for user `reader`"),
        "{e}"
    );
    assert!(e.to_string().contains("authorization failed"), "{e}");
    c.shutdown().unwrap();
}
