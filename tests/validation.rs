//! Bad input is refused with the invalid-argument error, and no request
//! reaches any server: the client points at a listener that counts
//! every connection it accepts.

mod support;

use std::collections::HashMap;

use nacos_blocking::{Instance, NacosClient, ServiceName, ServicePage, ServiceSpec};
use support::fake::FakeServer;

fn check(field: &str, r: Result<impl std::fmt::Debug, nacos_blocking::Error>) {
    match r {
        Err(e) => {
            assert!(
                e.is_invalid_argument(),
                "{field}: expected invalid argument, got {e:?}"
            );
            assert_eq!(e.invalid_field(), Some(field), "{e}");
            assert!(e.to_string().contains(field), "{e}");
        }
        Ok(v) => panic!("{field}: expected an error, got {v:?}"),
    }
}

#[test]
fn invalid_arguments_never_reach_a_server() {
    let server = FakeServer::answering("ok");
    let c = NacosClient::new(&server.addr()).unwrap();
    let ok = Instance::new("10.0.0.1", 80);

    for bad in ["", "a@@b", "bad@@", "with space", "x/y", "ünï"] {
        check("service_name", c.register_instance(bad, &ok));
        check("service_name", c.list_healthy_instances(bad));
        check("service_name", c.deregister_instance(bad, &ok));
        check("service_name", c.discover(bad));
    }
    for bad in ["", "g@@", "g h", "g/h"] {
        check(
            "group",
            c.register_instance(ServiceName::new("svc").group(bad), &ok),
        );
        check(
            "group",
            c.list_services(&ServicePage::new(1, 10).group(bad)),
        );
    }
    check(
        "namespace",
        c.register_instance(ServiceName::new("svc").namespace("a b"), &ok),
    );
    for bad in ["zone_a", "a.b", "c@@d"] {
        check(
            "cluster",
            c.register_instance(
                "svc",
                &Instance::builder("10.0.0.1", 80).cluster(bad).build(),
            ),
        );
        check(
            "cluster",
            c.list_instances(ServiceName::new("svc").clusters([bad])),
        );
        check(
            "cluster",
            c.select_one_healthy_instance(ServiceName::new("svc").clusters([bad])),
        );
    }
    check(
        "port",
        c.register_instance("svc", &Instance::new("10.0.0.1", 0)),
    );
    check("port", c.get_instance("svc", "10.0.0.1", 0));
    for w in [-1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 10_000.01] {
        check(
            "weight",
            c.register_instance("svc", &Instance::builder("10.0.0.1", 80).weight(w).build()),
        );
        check(
            "weight",
            c.update_instance("svc", &Instance::builder("10.0.0.1", 80).weight(w).build()),
        );
    }
    // Host names are fine (`host.example`); what breaks a query or a key is not.
    for ip in [
        "",
        "10.0.0",
        "300.1.1.1",
        "host name",
        "a&b=c",
        "-lead.example",
        "1.2.3.4:80",
    ] {
        check("ip", c.register_instance("svc", &Instance::new(ip, 80)));
        check("ip", c.send_heartbeat("svc", &Instance::new(ip, 80)));
    }
    let hb = |pairs: &[(&str, &str)]| {
        let md: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Instance::builder("10.0.0.1", 80).metadata_map(md).build()
    };
    check(
        "metadata",
        c.register_instance(
            "svc",
            &hb(&[
                ("preserved.heart.beat.interval", "5000"),
                ("preserved.heart.beat.timeout", "5000"),
            ]),
        ),
    );
    check(
        "metadata",
        c.register_instance("svc", &hb(&[("preserved.heart.beat.interval", "40000")])),
    );
    check(
        "protect_threshold",
        c.create_service("svc", &ServiceSpec::new().protect_threshold(1.5)),
    );
    check("page", c.list_services(&ServicePage::new(0, 10)));

    assert_eq!(server.connections(), 0, "a request reached the server");

    // The same client does reach the server with valid input: the
    // counter above can fail.
    c.register_instance("svc", &ok).unwrap();
    assert!(server.connections() > 0);
}

#[test]
fn bad_options_fail_at_build() {
    use std::time::Duration;
    let field = |r: nacos_blocking::Result<NacosClient>| r.unwrap_err().invalid_field();
    assert_eq!(field(NacosClient::new("")), Some("server_addr"));
    assert_eq!(field(NacosClient::new("127.0.0.1:0")), Some("server_addr"));
    assert_eq!(field(NacosClient::new("ftp://x")), Some("server_addr"));
    assert_eq!(
        field(NacosClient::builder().server_addr("h").group("a b").build()),
        Some("group")
    );
    assert_eq!(
        field(
            NacosClient::builder()
                .server_addr("h")
                .timeout(Duration::ZERO)
                .build()
        ),
        Some("timeout")
    );
}
