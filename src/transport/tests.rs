use super::login::LOGIN_PATH;
use super::*;
use crate::builder::ClientBuilder;
use crate::transport::dialect::Dialect;

#[test]
fn an_empty_server_list_ends_at_the_deadline_whatever_the_retries() {
    let timeout = Duration::from_millis(300);
    let mut config = ClientBuilder::default()
        .server_addr("127.0.0.1")
        .timeout(timeout)
        .into_settings()
        .unwrap();
    // More than `build()` accepts: the deadline alone must end the call.
    config.retries = u32::MAX;
    let metrics = Arc::new(Recorder::default());
    let t = Transport::new(&config, Vec::new(), metrics.clone());
    let started = Instant::now();
    let e = t
        .send(Operation::Server, Timing::default(), &|_| {
            Ok(Request::new(Method::Get, Module::Config, "/v1/cs/configs"))
        })
        .unwrap_err();
    let took = started.elapsed();
    assert!(e.to_string().contains("no server address known"), "{e}");
    assert!(took >= timeout, "gave up early: {took:?}");
    assert!(took < timeout + Duration::from_secs(1), "took {took:?}");
    // One call, failed, and no server to try.
    let m = metrics.snapshot();
    let call = m.operation(Operation::Server).expect("the call is counted");
    assert_eq!((call.calls, call.failures.total()), (1, 1), "{m}");
    assert!(m.servers.is_empty(), "{m}");
}

#[test]
fn debug_never_shows_passwords_or_tokens() {
    let login = Request::new(Method::Post, Module::Login, LOGIN_PATH)
        .param("username", "nacos")
        .param("password", "pw-secret");
    let shown = format!("{login:?}");
    assert!(
        shown.contains("password") && !shown.contains("pw-secret"),
        "{shown}"
    );
    let answer = Response {
        content_md5: None,
        config_type: None,
        status: 200,
        body: r#"{"accessToken":"tok-secret","tokenTtl":18000}"#.into(),
        dialect: Dialect::V1,
    };
    let shown = format!("{answer:?}");
    assert!(
        shown.contains("tokenTtl") && !shown.contains("tok-secret"),
        "{shown}"
    );
}
