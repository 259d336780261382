//! The builder's validation, setter by setter.

use super::check::*;
use super::*;
use crate::error::Result;
#[cfg(feature = "aksk")]
use crate::secret::Secret;
use crate::settings::{Servers, Settings};

fn cfg(b: ClientBuilder) -> Result<Settings> {
    b.into_settings()
}

#[cfg(feature = "aksk")]
#[test]
fn aksk_needs_both_keys_and_debug_hides_the_secret() {
    let b = || ClientBuilder::default().server_addr("127.0.0.1");
    let field = |b: ClientBuilder| cfg(b).unwrap_err().invalid_field();
    assert_eq!(field(b().access_key("ak")), Some("access_key"));
    assert_eq!(field(b().secret_key("sk")), Some("access_key"));
    assert_eq!(
        field(b().access_key("").secret_key("sk")),
        Some("access_key")
    );
    assert_eq!(field(b().security_token("t")), Some("access_key"));
    assert!(cfg(b()).unwrap().aksk.is_none());
    let full = b()
        .access_key("ak-1")
        .secret_key("sk-SECRET")
        .security_token("tok-SECRET");
    let text = format!("{full:?}");
    assert!(text.contains("ak-1") && !text.contains("SECRET"), "{text}");
    let c = cfg(full).unwrap();
    let text = format!("{c:?}");
    assert!(text.contains("ak-1") && !text.contains("SECRET"), "{text}");
    assert_eq!(
        c.aksk.unwrap().security_token.as_ref().map(Secret::expose),
        Some("tok-SECRET")
    );
}

#[test]
fn defaults_and_validation() {
    let c = cfg(ClientBuilder::default().server_addr("127.0.0.1")).unwrap();
    assert_eq!(c.context_path, "/nacos");
    assert_eq!(c.group, DEFAULT_GROUP);
    assert_eq!(c.timeout, Duration::from_secs(10));
    let field = |b: ClientBuilder| cfg(b).unwrap_err().invalid_field();
    let b = || ClientBuilder::default().server_addr("127.0.0.1");
    assert_eq!(field(ClientBuilder::default()), Some("server_addr"));
    assert_eq!(field(b().server_addr("h:0")), Some("server_addr"));
    assert_eq!(field(b().group("a@@b")), Some("group"));
    assert_eq!(field(b().namespace("a b")), Some("namespace"));
    assert_eq!(field(b().timeout(Duration::ZERO)), Some("timeout"));
    assert_eq!(c.heartbeat_interval, Duration::from_secs(5));
    assert!(c.auto_heartbeat && !c.deregister_on_shutdown && !c.light_heartbeats);
    for bad in [Duration::ZERO, Duration::from_secs(15)] {
        assert_eq!(
            field(b().heartbeat_interval(bad)),
            Some("heartbeat_interval")
        );
    }
    assert_eq!(field(b().context_path("/a?b")), Some("context_path"));
    assert_eq!(field(b().endpoint("e:1")), Some("endpoint"));
    assert_eq!(field(b().credentials("", "x")), Some("username"));
    let ms = Duration::from_millis;
    assert_eq!(field(b().poll_interval(ms(99))), Some("poll_interval"));
    assert_eq!(
        field(b().poll_interval(Duration::ZERO)),
        Some("poll_interval")
    );
    let fast = cfg(b().poll_interval(ms(100))).unwrap();
    assert_eq!(fast.poll_interval, Some(ms(100)));
    assert_eq!(
        (
            c.poll_interval,
            c.push_empty_protection,
            c.load_cache_at_start
        ),
        (None, true, false)
    );
    assert_eq!(
        field(b().long_poll_timeout(Duration::from_secs(9))),
        Some("long_poll_timeout")
    );
    assert_eq!(c.long_poll_timeout, Duration::from_secs(30));
    assert_eq!(c.config_failover_dir, None);
    assert_eq!(
        cfg(b().context_path("nacos/")).unwrap().context_path,
        "/nacos"
    );
    assert_eq!(cfg(b().context_path("/")).unwrap().context_path, "");
    for (given, path) in [
        ("/a/./b/", "/a/b"),
        ("/a/../nacos", "/nacos"),
        ("../..", ""),
        ("v1.2/x", "/v1.2/x"),
    ] {
        assert_eq!(cfg(b().context_path(given)).unwrap().context_path, path);
    }
}

#[test]
fn absurd_values_are_refused_naming_the_field() {
    let b = || ClientBuilder::default().server_addr("127.0.0.1");
    let field = |b: ClientBuilder| cfg(b).unwrap_err().invalid_field();
    let max = Duration::MAX;
    assert_eq!(field(b().timeout(max)), Some("timeout"));
    assert_eq!(field(b().connect_timeout(max)), Some("connect_timeout"));
    assert_eq!(field(b().long_poll_timeout(max)), Some("long_poll_timeout"));
    assert_eq!(field(b().poll_interval(max)), Some("poll_interval"));
    assert_eq!(
        field(b().heartbeat_interval(max)),
        Some("heartbeat_interval")
    );
    assert_eq!(field(b().retries(u32::MAX)), Some("retries"));
    assert_eq!(
        field(b().max_response_bytes(u64::MAX)),
        Some("max_response_bytes")
    );
    assert_eq!(
        field(ClientBuilder::default().endpoint("e").endpoint_refresh(max)),
        Some("endpoint_refresh")
    );
    for bad in ["app\r\nX-Evil: 1", "tab\there", "nul\0", "ünï"] {
        assert_eq!(field(b().app_name(bad)), Some("app_name"), "{bad:?}");
    }
    assert_eq!(field(b().credentials("u\r\nX: y", "pw")), Some("username"));
    assert_eq!(field(b().cache_dir("")), Some("cache_dir"));
    assert_eq!(
        field(b().config_failover_dir("")),
        Some("config_failover_dir")
    );
    // The largest accepted values still build.
    let c = cfg(b()
        .timeout(MAX_TIMEOUT)
        .connect_timeout(MAX_TIMEOUT)
        .long_poll_timeout(MAX_TIMEOUT)
        .poll_interval(MAX_INTERVAL)
        .retries(MAX_RETRIES)
        .max_response_bytes(MAX_RESPONSE_BYTES)
        .app_name("my-app 1.0 (x)"))
    .unwrap();
    assert_eq!(c.retries, MAX_RETRIES);
}

#[test]
fn endpoint_gets_port_8080_and_path() {
    let c = cfg(ClientBuilder::default().endpoint("addr.local")).unwrap();
    match c.servers {
        Servers::Endpoint { url, .. } => {
            assert_eq!(url, "http://addr.local:8080/nacos/serverlist")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn env_overrides_and_debug_redacts() {
    let b = ClientBuilder::default().env_from(|k| match k {
        "NACOS_SERVER_ADDR" => Some("10.1.1.1:9000".into()),
        "NACOS_NAMESPACE" => Some("dev".into()),
        "NACOS_USERNAME" => Some("u".into()),
        "NACOS_PASSWORD" => Some("s3cr3t-pw".into()),
        "NACOS_CONTEXT_PATH" => Some("/x".into()),
        _ => None,
    });
    let dbg = format!("{b:?}");
    assert!(!dbg.contains("s3cr3t-pw"), "{dbg}");
    let c = cfg(b).unwrap();
    assert_eq!(c.namespace, "dev");
    assert_eq!(c.context_path, "/x");
    assert!(!format!("{c:?}").contains("s3cr3t-pw"));
    assert_eq!(c.credentials.unwrap().password.expose(), "s3cr3t-pw");
}

#[cfg(feature = "tls")]
#[test]
fn debug_summarises_pem_files() {
    let pem = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".to_vec();
    let b = ClientBuilder::default().tls_root_certificates_pem(pem.clone());
    let text = format!("{b:?}");
    let summary = format!("1 PEM file(s), {} bytes", pem.len());
    assert!(text.contains(&summary), "{text}");
    assert!(!text.contains("45, 45, 45"), "the bytes themselves: {text}");
}
