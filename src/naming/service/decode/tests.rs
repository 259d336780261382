//! The list parser against serde_json with `ServiceInfo`'s `Deserialize`:
//! the same answers accepted, with the same values, the same refused.

use super::*;

/// What serde_json makes of `body`.
fn serde(body: &str) -> std::result::Result<ServiceInfo, String> {
    serde_json::from_str::<ServiceInfo>(body).map_err(|e| e.to_string())
}

fn fast(body: &str) -> std::result::Result<ServiceInfo, String> {
    parse_instance_list(body).map_err(|e| e.to_string())
}

/// Both accept `body` with equal values, or both refuse it.
fn agree(body: &str) {
    match (serde(body), fast(body)) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "values differ for {body}"),
        (Err(_), Err(_)) => {}
        (a, b) => panic!("serde {a:?}\nfast {b:?}\nfor {body:?}"),
    }
}

const RNACOS: &str = r#"{"name":"DEFAULT_GROUP@@svc","clusters":"","cacheMillis":10000,"hosts":[{"service":"DEFAULT_GROUP@@svc","ip":"10.2.0.1","port":20011,"clusterName":"DEFAULT","weight":1.0,"healthy":true,"instanceId":"10.2.0.1#20011","metadata":{"zone":"bench","version":"1.0.0"},"marked":true,"enabled":true,"serviceName":"DEFAULT_GROUP@@svc","ephemeral":false},{"service":"DEFAULT_GROUP@@svc","ip":"10.2.0.1","port":20012,"clusterName":"DEFAULT","weight":1.0,"healthy":true,"instanceId":"10.2.0.1#20012","metadata":{"version":"1.0.0","zone":"bench"},"marked":true,"enabled":true,"serviceName":"DEFAULT_GROUP@@svc","ephemeral":false},{"service":"DEFAULT_GROUP@@svc","ip":"10.2.0.2","port":20013,"clusterName":"c1","weight":2.5,"healthy":false,"instanceId":"10.2.0.2#20013","metadata":{"version":"1.0.0","zone":"other"},"marked":true,"enabled":true,"serviceName":"DEFAULT_GROUP@@svc","ephemeral":true}],"lastRefTime":1795292297991,"checksum":"1795292297991","useSpecifiedURL":false,"env":"","protectThreshold":null,"reachLocalSiteCallThreshold":null,"dom":"svc","metadata":null}"#;

/// Java Nacos 1.4's shape, with odd but valid values.
const ODD: &str = " {\"dom\":\"svc\" , \"hosts\" : [ {\"ip\":\"\\u0031.1.1.1\",\"port\":0,\"valid\":true,\"metadata\":{\"n\":3,\"f\":1e3,\"neg\":-0,\"g\":0.1,\"b\":false,\"x\":null,\"o\":{\"k\":[1,\"v\",null,{}]},\"a\":[],\"e\":\"a\\\"b\\n\\ud83d\\ude00\"},\"weight\":7,\"clusterName\":null,\"instanceId\":null,\"healthy\":null} , {\"ip\":\"::1\",\"port\":65535,\"weight\":1e-3,\"metadata\":{}} , {\"ip\":\"h\",\"port\":1,\"weight\":123456789012345678901234567890,\"metadata\":null} , {\"ip\":\"h2\",\"port\":2,\"weight\":-0.0,\"extra\":{\"deep\":[[[[[[{\"a\":[true,false,null,\"s\\t\\u00e9\"]}]]]]]]}} ], \"cacheMillis\":null,\"lastRefTime\":-5,\"checksum\":\"abc\",\"clusters\":\"c1,c2\",\"groupName\":\"G\",\"name\":\"G@@svc\"}\n";

#[test]
fn real_answers_decode_the_same() {
    for body in [RNACOS, ODD] {
        let a = serde(body).unwrap();
        let b = fast(body).unwrap();
        assert_eq!(a, b);
    }
    let odd = fast(ODD).unwrap();
    assert_eq!(odd.hosts.len(), 4);
    assert_eq!(odd.hosts[0].ip, "1.1.1.1");
    assert_eq!(odd.hosts[0].metadata["e"], "a\"b\n\u{1F600}");
    assert_eq!(odd.hosts[0].metadata["f"], "1000.0");
    assert_eq!(odd.hosts[0].cluster_name, "DEFAULT");
    assert_eq!(odd.last_ref_time, -5);
    // The metadata cloned from the previous host is that host's.
    let r = fast(RNACOS).unwrap();
    assert_eq!(r.hosts[0].metadata, r.hosts[1].metadata);
    assert_eq!(r.hosts[2].metadata["zone"], "other");
}

#[test]
fn odd_and_broken_answers_are_treated_alike() {
    for body in [
        "",
        " ",
        "{}",
        "[]",
        "null",
        r#"{"hosts":null}"#,
        r#"{"hosts":[]} x"#,
        r#"{"hosts":[],}"#,
        r#"{"hosts":[],"hosts":[]}"#,
        r#"{"hosts":[{"ip":"a","ip":"b"}]}"#,
        r#"{"hosts":[{"metadata":{},"metadata":{}}]}"#,
        r#"{"hosts":[{"metadata":{"k":"v","k":"w"}}]}"#,
        r#"{"hosts":[{"metadata":{"k":"v","k":"w"}},{"metadata":{"k":"v","k":"w"}}]}"#,
        r#"{"hosts":[{"metadata":{"k":"v"}},{},{"metadata":{"k":"v"}}]}"#,
        r#"{"hosts":[{"metadata":{"k":"v"}},{"metadata":null},{"metadata":{}}]}"#,
        r#"{"hosts":[1]}"#,
        r#"{"hosts":{}}"#,
        r#"{"hosts":[{"port":70000}]}"#,
        r#"{"hosts":[{"port":-1}]}"#,
        r#"{"hosts":[{"port":1.0}]}"#,
        r#"{"hosts":[{"port":"80"}]}"#,
        r#"{"hosts":[{"port":080}]}"#,
        r#"{"hosts":[{"weight":"1"}]}"#,
        r#"{"hosts":[{"weight":1e999}]}"#,
        r#"{"hosts":[{"weight":.5}]}"#,
        r#"{"hosts":[{"weight":1.}]}"#,
        r#"{"hosts":[{"weight":0.30000000000000004}]}"#,
        r#"{"hosts":[{"weight":-2}]}"#,
        r#"{"hosts":[{"healthy":1}]}"#,
        r#"{"hosts":[{"healthy":tru}]}"#,
        r#"{"hosts":[{"ip":1}]}"#,
        r#"{"hosts":[{"ip":"a	b"}]}"#,
        r#"{"hosts":[{"ip":"\x"}]}"#,
        r#"{"hosts":[{"ip":"\ud800"}]}"#,
        r#"{"hosts":[{"other":"\ud800"}]}"#,
        r#"{"hosts":[{"other":"\u12"}]}"#,
        r#"{"hosts":[{"metadata":[]}]}"#,
        r#"{"hosts":[{"metadata":"x"}]}"#,
        r#"{"hosts":[{"metadata":{"k":01}}]}"#,
        r#"{"hosts":[{"metadata":{"k":18446744073709551616}}]}"#,
        r#"{"hosts":[{"metadata":{"k":-9223372036854775809}}]}"#,
        r#"{"hosts":[],"cacheMillis":-1}"#,
        r#"{"hosts":[],"cacheMillis":18446744073709551615}"#,
        r#"{"hosts":[],"cacheMillis":18446744073709551616}"#,
        r#"{"hosts":[],"lastRefTime":9223372036854775808}"#,
        r#"{"hosts":[],"lastRefTime":1.5}"#,
        r#"{"hosts":[],"name":null,"checksum":null,"clusters":null,"groupName":null}"#,
        r#"{"code":500,"message":"x"}"#,
        r#"{"hosts":[],"x":[1,{"a":[}]}"#,
        r#"{"hosts":[],"x":tru}"#,
        r#"{"hosts":[],"x":nul}"#,
        r#"{"hosts":[],"x":-}"#,
        r#"{"hosts":[],"x":1e}"#,
        r#"{"hosts":[],"x":1e+}"#,
        r#"{"hosts":[],"x":[1,]}"#,
        r#"{"hosts":[],"x":{"a"}}"#,
        r#"{"hosts":[],"x":{1:2}}"#,
        r#"{"hosts" [] }"#,
        "{\"hosts\":[],\"x\":\"\u{7f}\u{e9}\"}",
        "{\"hosts\":[]}\u{a0}",
    ] {
        agree(body);
    }
}

#[test]
fn structs_written_as_arrays_are_refused() {
    // serde's derive also takes a struct as the list of its fields in
    // order; no server writes one so, and an answer that does is not the
    // shape of an instance list.
    for body in [
        r#"{"hosts":[[]]}"#,
        r#"{"hosts":[["1.1.1.1"]]}"#,
        r#"["n","g","c",1,2,"x",[]]"#,
    ] {
        assert!(fast(body).is_err(), "{body}");
    }
}

#[test]
fn deep_nesting_in_skipped_values_does_not_overflow() {
    let deep = format!(
        r#"{{"hosts":[],"x":{}{}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    agree(&deep);
    let open = format!(r#"{{"hosts":[],"x":{}}}"#, "[".repeat(100_000));
    agree(&open);
}

#[test]
fn every_cut_and_every_byte_changed_is_treated_alike() {
    // Every prefix of both answers, and each byte replaced by a few
    // characters JSON cares about.
    for body in [RNACOS, ODD] {
        for cut in (0..body.len()).filter(|&i| body.is_char_boundary(i)) {
            agree(&body[..cut]);
        }
        for i in (0..body.len()).filter(|&i| body.is_char_boundary(i)) {
            let next = (i + 1..=body.len())
                .find(|&j| body.is_char_boundary(j))
                .unwrap_or(body.len());
            for c in [
                "\"", "\\", "{", "}", "[", "]", ",", ":", "0", "-", "n", " ", "\u{1}",
            ] {
                let changed = format!("{}{}{}", &body[..i], c, &body[next..]);
                agree(&changed);
            }
            // And the byte removed.
            agree(&format!("{}{}", &body[..i], &body[next..]));
        }
    }
}
