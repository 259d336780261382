use super::*;

fn key() -> ServiceKey {
    ServiceKey {
        namespace: String::new(),
        group: "G".into(),
        name: "svc".into(),
    }
}

#[test]
fn normalizes_grouped_and_plain_names() {
    let grouped: ServiceInfo =
        serde_json::from_str(r#"{"name":"G2@@svc","hosts":null,"cacheMillis":3000}"#).unwrap();
    let g = grouped.normalize(&key());
    assert_eq!((g.group_name.as_str(), g.name.as_str()), ("G2", "svc"));
    assert_eq!(g.cache_millis, 3000);
    let plain: ServiceInfo = serde_json::from_str(r#"{"dom":"svc","extra":1,"hosts":[]}"#).unwrap();
    let p = plain.normalize(&key());
    assert_eq!((p.group_name.as_str(), p.name.as_str()), ("G", "svc"));
    assert!(p.hosts.is_empty());
    for not_a_list in [r#"{}"#, r#"{"code":500,"message":"x"}"#, "[]"] {
        assert!(
            serde_json::from_str::<ServiceInfo>(not_a_list).is_err(),
            "{not_a_list}"
        );
    }
}

#[test]
fn key_display() {
    assert_eq!(key().to_string(), "G@@svc");
    assert_eq!(key().grouped_name(), "G@@svc");
    assert_eq!(split_grouped("a@@b"), (Some("a"), "b"));
    assert_eq!(split_grouped("b"), (None, "b"));
}
