//! The fake Nacos 3 server (`tests/support/fake_v3.rs`) answers as the Java
//! controllers do: raw HTTP against it, one behaviour per check, each citing
//! the Java class it comes from (`alibaba/nacos`, see `docs/v3-protocol.md`).
//! The v3 client's conformance tests stand on this.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::fake_v3::{Auth, FakeV3, FAKE_PASSWORD, FAKE_USER};
use support::process::{body, http, http_with, status};

const INSTANCE: &str = "/nacos/v3/client/ns/instance";
const LIST: &str = "/nacos/v3/client/ns/instance/list";
const CONFIG: &str = "/nacos/v3/client/cs/config";
const ADMIN_CONFIG: &str = "/nacos/v3/admin/cs/config";
const ADMIN_INSTANCE: &str = "/nacos/v3/admin/ns/instance";
const SERVICE: &str = "/nacos/v3/admin/ns/service";

fn enc(v: &str) -> String {
    form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

/// Sends a request; the status and the body parsed as JSON (`Null` when it
/// is not JSON).
fn call(fake: &FakeV3, method: &str, path: &str, form: &str) -> (u16, Value) {
    call_with(fake, method, path, &[], form)
}

fn call_with(
    fake: &FakeV3,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    form: &str,
) -> (u16, Value) {
    let raw = http_with(fake.port(), method, path, headers, form).expect("no answer");
    let status = status(&raw).expect("no status");
    (
        status,
        serde_json::from_str(body(&raw)).unwrap_or(Value::Null),
    )
}

/// `{code, message, data}` of a 200 answer.
fn ok(fake: &FakeV3, method: &str, path: &str, form: &str) -> Value {
    let (s, v) = call(fake, method, path, form);
    assert_eq!(s, 200, "{method} {path} {form}: {v}");
    v
}

fn list(fake: &FakeV3, query: &str) -> Vec<Value> {
    let v = ok(fake, "GET", &format!("{LIST}?{query}"), "");
    assert_eq!(v["code"], 0, "{v}");
    v["data"].as_array().expect("data is a bare array").clone()
}

fn ips(hosts: &[Value]) -> Vec<&str> {
    let mut ips: Vec<&str> = hosts.iter().map(|h| h["ip"].as_str().unwrap()).collect();
    ips.sort_unstable();
    ips
}

#[test]
fn register_answers_ok_and_a_beat_of_an_unknown_instance_answers_21003() {
    // InstanceOpenApiController#register: Result.success("ok"); with
    // heartBeat=true and an unknown instance, Result.failure(INSTANCE_NOT_FOUND)
    // returned normally, so HTTP 200 and code 21003.
    let mut fake = FakeV3::start();
    let form = "serviceName=svc&ip=10.0.0.1&port=8080";
    let v = ok(&fake, "POST", INSTANCE, form);
    assert_eq!(
        v,
        serde_json::json!({"code": 0, "message": "success", "data": "ok"})
    );
    let beat = format!("{form}&heartBeat=true");
    assert_eq!(ok(&fake, "POST", INSTANCE, &beat)["data"], "ok");

    let unknown = ok(
        &fake,
        "POST",
        INSTANCE,
        "serviceName=svc&ip=10.0.0.9&port=8080&heartBeat=true",
    );
    assert_eq!(
        unknown,
        serde_json::json!({"code": 21003, "message": "instance not found", "data": null})
    );
    // A beat never creates the instance (unlike Batata's).
    assert_eq!(fake.instances("svc").len(), 1);

    fake.forget_instance("svc", "10.0.0.1", 8080);
    assert_eq!(ok(&fake, "POST", INSTANCE, &beat)["code"], 21003);
    ok(&fake, "POST", INSTANCE, form);
    // A restart forgets every instance: the next beat must re-register.
    fake.restart();
    assert_eq!(ok(&fake, "POST", INSTANCE, &beat)["code"], 21003);
}

#[test]
fn parameters_come_from_the_query_or_the_form_and_missing_ones_are_400_10000() {
    // Spring binds InstanceForm from request parameters: query string and
    // form body alike. InstanceForm.validate throws NacosApiException(400,
    // PARAMETER_MISSING, "Required parameter ... is not present"), which
    // NacosApiExceptionHandler writes as {code: 10000, message, data: detail}.
    let fake = FakeV3::start();
    ok(
        &fake,
        "POST",
        &format!("{INSTANCE}?serviceName=q&ip=10.0.0.1&port=1"),
        "",
    );
    assert_eq!(fake.instances("q").len(), 1);

    let (s, v) = call(&fake, "POST", INSTANCE, "ip=10.0.0.1&port=1");
    assert_eq!(s, 400);
    assert_eq!(v["code"], 10000);
    assert_eq!(v["message"], "parameter missing");
    assert_eq!(
        v["data"],
        "Required parameter 'serviceName' type String is not present"
    );
    let (s, v) = call(&fake, "POST", INSTANCE, "serviceName=q&ip=10.0.0.1");
    assert_eq!((s, v["code"].clone()), (400, 10000.into()), "{v}");
    // NamingRequestUtil.checkWeight → WEIGHT_ERROR.
    let (s, v) = call(
        &fake,
        "POST",
        INSTANCE,
        "serviceName=q&ip=1.1.1.1&port=1&weight=-1",
    );
    assert_eq!((s, v["code"].clone()), (400, 21001.into()), "{v}");
    // UtilsAndCommons.parseMetadata → INSTANCE_METADATA_ERROR.
    let (s, v) = call(
        &fake,
        "POST",
        INSTANCE,
        "serviceName=q&ip=1.1.1.1&port=1&metadata=oops",
    );
    assert_eq!((s, v["code"].clone()), (400, 21002.into()), "{v}");
    // InstanceListForm.validate.
    let (s, v) = call(&fake, "GET", LIST, "");
    assert_eq!((s, v["code"].clone()), (400, 10000.into()), "{v}");

    // The recorder sees what was sent, where.
    let sent = fake.to("POST", "/v3/client/ns/instance");
    assert_eq!(sent[0].query("serviceName"), Some("q"));
    assert_eq!(sent[1].form("ip"), Some("10.0.0.1"));
}

#[test]
fn list_is_a_bare_array_of_enabled_default_cluster_instances() {
    // InstanceOpenApiController#list: Result.success(serviceInfo.getHosts());
    // InstanceListForm.fillDefaultValue sets clusterName to DEFAULT; the
    // controller passes healthyOnly=false whatever was asked, and the
    // listing drops enabled=false instances.
    let fake = FakeV3::start();
    let meta = enc(r#"{"zone":"a","n":1}"#);
    for form in [
        format!("serviceName=s&ip=10.0.0.1&port=1&weight=2.5&metadata={meta}"),
        "serviceName=s&ip=10.0.0.2&port=1&healthy=false".to_owned(),
        "serviceName=s&ip=10.0.0.3&port=1&enabled=false".to_owned(),
        "serviceName=s&ip=10.0.0.4&port=1&clusterName=C2&metadata=k%3Dv%2Cx%3Dy".to_owned(),
    ] {
        ok(&fake, "POST", INSTANCE, &form);
    }
    let hosts = list(&fake, "serviceName=s");
    assert_eq!(ips(&hosts), ["10.0.0.1", "10.0.0.2"]);
    let first = hosts.iter().find(|h| h["ip"] == "10.0.0.1").unwrap();
    assert_eq!(first["weight"], 2.5);
    assert_eq!(first["metadata"]["zone"], "a");
    assert_eq!(first["metadata"]["n"], "1");
    assert_eq!(first["clusterName"], "DEFAULT");
    assert_eq!(first["serviceName"], "DEFAULT_GROUP@@s");
    assert_eq!(first["instanceId"], "10.0.0.1#1#DEFAULT#DEFAULT_GROUP@@s");

    assert_eq!(
        ips(&list(&fake, "serviceName=s&healthyOnly=true")),
        ["10.0.0.1", "10.0.0.2"],
        "healthyOnly is ignored"
    );
    let c2 = list(&fake, "serviceName=s&clusterName=C2");
    assert_eq!(ips(&c2), ["10.0.0.4"]);
    assert_eq!(c2[0]["metadata"]["x"], "y");
    assert_eq!(
        ips(&list(&fake, "serviceName=s&clusterName=DEFAULT,C2")),
        ["10.0.0.1", "10.0.0.2", "10.0.0.4"]
    );
    // Batata's `clusters` means nothing to Java.
    assert_eq!(
        ips(&list(&fake, "serviceName=s&clusters=C2")),
        ["10.0.0.1", "10.0.0.2"]
    );
    // An unknown service is an empty list, not an error.
    assert!(list(&fake, "serviceName=nobody").is_empty());
    // `public` and an empty namespace are the same; another one is not.
    assert_eq!(list(&fake, "serviceName=s&namespaceId=public").len(), 2);
    assert_eq!(list(&fake, "serviceName=s&namespaceId=").len(), 2);
    assert!(list(&fake, "serviceName=s&namespaceId=dev").is_empty());

    // InstanceOpenApiController#deregister: "ok", also for an unknown one.
    let gone = "serviceName=s&ip=10.0.0.1&port=1";
    assert_eq!(
        ok(&fake, "DELETE", &format!("{INSTANCE}?{gone}"), "")["data"],
        "ok"
    );
    assert_eq!(
        ok(&fake, "DELETE", &format!("{INSTANCE}?{gone}"), "")["data"],
        "ok"
    );
    assert_eq!(ips(&list(&fake, "serviceName=s")), ["10.0.0.2"]);
}

#[test]
fn config_get_of_a_missing_config_is_http_200_code_20004() {
    // ConfigOpenApiController#getConfig: Result.failure(RESOURCE_NOT_FOUND)
    // returned normally; ConfigFormV3.validate wants `groupName`, not `group`.
    let fake = FakeV3::start();
    let get = format!("{CONFIG}?dataId=d&groupName=G");
    let v = ok(&fake, "GET", &get, "");
    assert_eq!(
        v,
        serde_json::json!({"code": 20004, "message": "resource not found", "data": null})
    );
    let (s, v) = call(&fake, "GET", &format!("{CONFIG}?dataId=d&group=G"), "");
    assert_eq!((s, v["code"].clone()), (400, 10000.into()), "{v}");
    assert_eq!(
        v["data"],
        "Required parameter 'groupName' type String is not present"
    );

    // ConfigControllerV3#publishConfig: data true; type defaults to text.
    let v = ok(
        &fake,
        "POST",
        ADMIN_CONFIG,
        "dataId=d&groupName=G&content=hello2",
    );
    assert_eq!(v["data"], true);
    let v = ok(&fake, "GET", &get, "");
    assert_eq!(v["code"], 0);
    assert_eq!(v["data"]["content"], "hello2");
    assert_eq!(v["data"]["md5"], "6e809cbda0732ac4845916a59016f954");
    // ConfigQueryResponse names the type `contentType`.
    assert_eq!(v["data"]["contentType"], "text");
    assert!(v["data"].get("type").is_none());

    ok(
        &fake,
        "POST",
        ADMIN_CONFIG,
        "dataId=d&groupName=G&content=a%3A+1&type=yaml&namespaceId=dev",
    );
    let dev = ok(&fake, "GET", &format!("{get}&namespaceId=dev"), "");
    assert_eq!(dev["data"]["contentType"], "yaml");
    assert_eq!(dev["data"]["content"], "a: 1");
    assert_eq!(fake.config("public", "G", "d").as_deref(), Some("hello2"));
    let (s, v) = call(&fake, "POST", ADMIN_CONFIG, "dataId=d&groupName=G");
    assert_eq!((s, v["code"].clone()), (400, 10000.into()), "{v}");

    // ConfigControllerV3#deleteConfig: true, also when already gone.
    let del = format!("{ADMIN_CONFIG}?dataId=d&groupName=G");
    assert_eq!(ok(&fake, "DELETE", &del, "")["data"], true);
    assert_eq!(ok(&fake, "DELETE", &del, "")["data"], true);
    assert_eq!(ok(&fake, "GET", &get, "")["code"], 20004);
}

#[test]
fn admin_instance_update_replaces_and_wants_the_service() {
    // InstanceControllerV3#update → InstanceOperatorClientImpl.updateInstance:
    // no service → NacosApiException(400, INSTANCE_ERROR); weight, enabled
    // and metadata replaced by what was sent (defaults for the rest).
    let fake = FakeV3::start();
    let (s, v) = call(
        &fake,
        "PUT",
        ADMIN_INSTANCE,
        "serviceName=u&ip=10.0.0.1&port=1",
    );
    assert_eq!((s, v["code"].clone()), (400, 21004.into()), "{v}");

    let meta = enc(r#"{"k":"v"}"#);
    ok(
        &fake,
        "POST",
        INSTANCE,
        &format!("serviceName=u&ip=10.0.0.1&port=1&weight=3&metadata={meta}"),
    );
    let v = ok(
        &fake,
        "PUT",
        ADMIN_INSTANCE,
        "serviceName=u&ip=10.0.0.1&port=1&enabled=false",
    );
    assert_eq!(v["data"], "ok");
    let i = &fake.instances("u")[0];
    assert_eq!((i.weight, i.enabled, i.metadata.len()), (1.0, false, 0));
    // ... and a disabled instance leaves the client list.
    assert!(list(&fake, "serviceName=u").is_empty());
}

#[test]
fn services_are_created_read_updated_listed_and_deleted() {
    // ServiceControllerV3: SERVICE_ALREADY_EXIST, SERVICE_NOT_EXIST,
    // SERVICE_DELETE_FAILURE, all as 400; data "ok".
    let fake = FakeV3::start();
    let create = format!(
        "serviceName=sv&protectThreshold=0.5&metadata={}",
        enc(r#"{"m":"1"}"#)
    );
    assert_eq!(ok(&fake, "POST", SERVICE, &create)["data"], "ok");
    let (s, v) = call(&fake, "POST", SERVICE, "serviceName=sv");
    assert_eq!((s, v["code"].clone()), (400, 21007.into()), "{v}");

    let got = ok(&fake, "GET", &format!("{SERVICE}?serviceName=sv"), "")["data"].clone();
    assert_eq!(got["protectThreshold"], 0.5);
    assert_eq!(got["metadata"]["m"], "1");
    assert_eq!(got["ephemeral"], false);
    assert_eq!(got["namespaceId"], "public");

    ok(&fake, "PUT", SERVICE, "serviceName=sv&protectThreshold=0.2");
    let got = ok(&fake, "GET", &format!("{SERVICE}?serviceName=sv"), "")["data"].clone();
    assert_eq!(got["protectThreshold"], 0.2);
    assert_eq!(
        got["metadata"],
        serde_json::json!({}),
        "metadata is replaced"
    );

    for (method, path) in [
        ("GET", format!("{SERVICE}?serviceName=none")),
        ("PUT", SERVICE.to_owned()),
        ("DELETE", format!("{SERVICE}?serviceName=none")),
    ] {
        let (s, v) = call(&fake, method, &path, "serviceName=none");
        assert_eq!((s, v["code"].clone()), (400, 21008.into()), "{method}: {v}");
    }

    ok(&fake, "POST", INSTANCE, "serviceName=sv&ip=10.0.0.1&port=1");
    let (s, v) = call(&fake, "DELETE", &format!("{SERVICE}?serviceName=sv"), "");
    assert_eq!((s, v["code"].clone()), (400, 21009.into()), "{v}");

    ok(
        &fake,
        "POST",
        INSTANCE,
        "serviceName=other&ip=10.0.0.1&port=1",
    );
    let page = ok(
        &fake,
        "GET",
        &format!("{SERVICE}/list?pageNo=1&pageSize=1"),
        "",
    )["data"]
        .clone();
    assert_eq!(page["totalCount"], 2);
    assert_eq!(page["pagesAvailable"], 2);
    assert_eq!(page["pageItems"].as_array().unwrap().len(), 1);
    assert_eq!(page["pageItems"][0]["name"], "other");
    assert_eq!(page["pageItems"][0]["ipCount"], 1);
    let (s, v) = call(&fake, "GET", &format!("{SERVICE}/list?pageNo=0"), "");
    assert_eq!((s, v["code"].clone()), (400, 20002.into()), "{v}");

    ok(
        &fake,
        "DELETE",
        &format!("{INSTANCE}?serviceName=sv&ip=10.0.0.1&port=1"),
        "",
    );
    assert_eq!(
        ok(&fake, "DELETE", &format!("{SERVICE}?serviceName=sv"), "")["data"],
        "ok"
    );
}

#[test]
fn v1_is_gone_and_the_state_probe_answers() {
    // Nacos 3.2 has no v1 controllers: Spring's 404, JSON without `code`.
    let fake = FakeV3::start_with_auth();
    let raw = http(
        fake.port(),
        "GET",
        "/nacos/v1/ns/instance/list?serviceName=x",
        "",
    )
    .unwrap();
    assert_eq!(status(&raw), Some(404));
    let v: Value = serde_json::from_str(body(&raw)).unwrap();
    assert!(v.get("code").is_none(), "{v}");
    assert_eq!(v["status"], 404);
    // ServerStateController (v3): no @Secured, so no token needed.
    let v = ok(&fake, "GET", "/nacos/v3/admin/core/state", "");
    assert_eq!(v["code"], 0);
    assert!(v["data"]["version"].as_str().unwrap().starts_with('3'));
    let v = ok(&fake, "GET", "/nacos/v3/admin/core/state/liveness", "");
    assert_eq!(v["data"], "ok");
}

#[test]
fn with_auth_login_is_not_an_envelope_and_calls_need_its_token() {
    // UserControllerV3#login: {accessToken, tokenTtl, globalAdmin, username}
    // and an Authorization header; AbstractWebAuthFilter: sendError(403).
    let fake = FakeV3::builder()
        .auth(Auth::On)
        .token_ttl(Duration::from_secs(1))
        .start();
    let (s, v) = call(&fake, "GET", &format!("{LIST}?serviceName=x"), "");
    assert_eq!(s, 403);
    assert!(v.get("code").is_none(), "not an envelope: {v}");

    let bad = http(
        fake.port(),
        "POST",
        "/nacos/v3/auth/user/login",
        &format!("username={FAKE_USER}&password=wrong"),
    )
    .unwrap();
    assert_eq!(status(&bad), Some(403));

    let raw = http(
        fake.port(),
        "POST",
        "/nacos/v3/auth/user/login",
        &format!("username={FAKE_USER}&password={FAKE_PASSWORD}"),
    )
    .unwrap();
    assert_eq!(status(&raw), Some(200), "{raw}");
    let login: Value = serde_json::from_str(body(&raw)).unwrap();
    let mut keys: Vec<&str> = login
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["accessToken", "globalAdmin", "tokenTtl", "username"]);
    assert_eq!(login["tokenTtl"], 1);
    let token = login["accessToken"].as_str().unwrap().to_owned();
    assert!(
        raw.contains(&format!("Authorization: Bearer {token}")),
        "{raw}"
    );

    // The token: Bearer header, or the accessToken parameter (query or form).
    let bearer = format!("Bearer {token}");
    let with_header = call_with(
        &fake,
        "GET",
        &format!("{LIST}?serviceName=x"),
        &[("Authorization", &bearer)],
        "",
    );
    assert_eq!(with_header.0, 200);
    assert_eq!(
        ok(
            &fake,
            "GET",
            &format!("{LIST}?serviceName=x&accessToken={token}"),
            ""
        )["code"],
        0
    );
    ok(
        &fake,
        "POST",
        INSTANCE,
        &format!("serviceName=x&ip=10.0.0.1&port=1&accessToken={token}"),
    );

    std::thread::sleep(Duration::from_millis(1100));
    let (s, v) = call(
        &fake,
        "GET",
        &format!("{LIST}?serviceName=x&accessToken={token}"),
        "",
    );
    assert_eq!(
        (s, v["message"].clone()),
        (403, "token expired!".into()),
        "{v}"
    );
}

#[test]
fn admin_only_auth_leaves_the_client_api_open() {
    // Java's separate switches: nacos.core.auth.enabled (client/open API)
    // and nacos.core.auth.admin.enabled (admin API).
    let fake = FakeV3::builder().auth(Auth::AdminOnly).start();
    ok(&fake, "POST", INSTANCE, "serviceName=a&ip=10.0.0.1&port=1");
    let publish = "dataId=d&groupName=G&content=x";
    let (s, _) = call(&fake, "POST", ADMIN_CONFIG, publish);
    assert_eq!(s, 403);
    let raw = http(
        fake.port(),
        "POST",
        "/nacos/v3/auth/user/login",
        &format!("username={FAKE_USER}&password={FAKE_PASSWORD}"),
    )
    .unwrap();
    let login: Value = serde_json::from_str(body(&raw)).unwrap();
    let token = login["accessToken"].as_str().unwrap();
    let with_token = format!("{ADMIN_CONFIG}?accessToken={token}");
    assert_eq!(ok(&fake, "POST", &with_token, publish)["data"], true);
    // FakeV3::revoke_tokens: as if the server's secret changed.
    fake.revoke_tokens();
    let (s, v) = call(&fake, "POST", &with_token, publish);
    assert_eq!(
        (s, v["message"].clone()),
        (403, "token invalid!".into()),
        "{v}"
    );
}

#[test]
fn a_restart_keeps_the_port_and_configs_and_forgets_instances() {
    let mut fake = FakeV3::start();
    let port = fake.port();
    ok(&fake, "POST", INSTANCE, "serviceName=r&ip=10.0.0.1&port=1");
    ok(
        &fake,
        "POST",
        ADMIN_CONFIG,
        "dataId=d&groupName=G&content=kept",
    );
    fake.stop();
    assert!(!fake.is_running());
    assert!(http(port, "GET", "/nacos/v3/admin/core/state/liveness", "").is_none());
    fake.start_again();
    assert_eq!(fake.port(), port);
    assert!(list(&fake, "serviceName=r").is_empty());
    let v = ok(&fake, "GET", &format!("{CONFIG}?dataId=d&groupName=G"), "");
    assert_eq!(v["data"]["content"], "kept");
}

#[test]
fn ephemeral_instances_expire_without_beats() {
    // ClientBeatCheckTaskV2 / ExpiredClientCleaner (15 s unhealthy, 30 s
    // removed by default; shortened here).
    let fake = FakeV3::builder()
        .expiry(Duration::from_millis(300), Duration::from_millis(900))
        .start();
    let form = "serviceName=e&ip=10.0.0.1&port=1";
    ok(&fake, "POST", INSTANCE, form);
    ok(
        &fake,
        "POST",
        INSTANCE,
        "serviceName=e&ip=10.0.0.2&port=1&ephemeral=false",
    );
    std::thread::sleep(Duration::from_millis(500));
    let hosts = list(&fake, "serviceName=e");
    let beaten_late = hosts.iter().find(|h| h["ip"] == "10.0.0.1").unwrap();
    assert_eq!(beaten_late["healthy"], false);
    // A beat makes it healthy again.
    ok(&fake, "POST", INSTANCE, &format!("{form}&heartBeat=true"));
    let again = fake.instances("e");
    assert!(again.iter().any(|i| i.ip == "10.0.0.1" && i.healthy));
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(
        ips(&list(&fake, "serviceName=e")),
        ["10.0.0.2"],
        "persistent ones stay"
    );
    assert_eq!(
        ok(&fake, "POST", INSTANCE, &format!("{form}&heartBeat=true"))["code"],
        21003
    );
}
