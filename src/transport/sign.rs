//! AK/SK request signing (Alibaba Cloud MSE / ACM), cargo feature `aksk`.
//!
//! What each request carries, read from the Java client:
//!
//! - **Config** (1.4.8 `ServerHttpAgent.getSpasHeaders` + `SpasAdapter`,
//!   2.4.3 `ConfigResourceInjector` + `SpasAdapter.getSignHeaders`):
//!   headers `Spas-AccessKey: <ak>`, `Timestamp: <epoch ms>` and
//!   `Spas-Signature: base64(HMAC-SHA1(sk, <resource> + "+" + <ts>))`, where
//!   the resource is `tenant + "+" + group` when both are set, else `group`,
//!   else `tenant` (2.4.3 `ConfigResourceInjector.getResource`), and the
//!   signed text is just `<ts>` when there is no resource. With an STS
//!   token, header `Spas-SecurityToken` too.
//! - **Naming** (1.4.8 `NamingProxy.injectSecurityInfo`/`getSignData`, 2.4.3
//!   `NamingResourceInjector.doInject`/`getSignData`): query parameters
//!   `ak`, `data` = `<ts>@@<grouped service name>` (just `<ts>` for calls
//!   without a service) and `signature = base64(HMAC-SHA1(sk, data))`.
//!   The grouped name is `serviceName` when it already holds `@@` or no
//!   `groupName` is sent, else `groupName@@serviceName` (2.4.3
//!   `getGroupedServiceName`; the Python v1 client's `_inject_auth_info`
//!   does the same). With an STS token, query parameter
//!   `Spas-SecurityToken` (2.4.3 puts the identity context into the query).
//! - **Login** requests are never signed.
//!
//! The secret key never leaves this module except as a signature: `Debug`
//! shows `<redacted>` and nothing here logs.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::secret::Secret;

/// What a request is about, as far as signing goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Resource {
    /// A config call: signed in headers.
    Config,
    /// A naming call: signed in query parameters.
    Naming,
    /// Anything else (the login): not signed.
    None,
}

/// An access key, its secret and an optional STS security token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AkSk {
    pub(crate) access_key: String,
    pub(crate) secret_key: Secret,
    pub(crate) security_token: Option<Secret>,
}

/// What signing adds to one request.
#[derive(Debug, Default)]
pub(crate) struct Signed {
    pub(crate) headers: Vec<(&'static str, String)>,
    pub(crate) params: Vec<(&'static str, String)>,
}

/// Signs the requests of one client.
#[derive(Clone, Debug)]
pub(crate) struct Signer {
    keys: AkSk,
}

impl Signer {
    pub(crate) fn new(keys: AkSk) -> Signer {
        Signer { keys }
    }

    /// The headers and query parameters that sign a request about
    /// `resource` whose parameters `param` looks up, at the current time.
    pub(crate) fn sign(
        &self,
        resource: Resource,
        param: impl Fn(&str) -> Option<String>,
    ) -> Signed {
        sign_at(&self.keys, resource, param, now_millis())
    }
}

fn now_millis() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

/// base64(HMAC-SHA1(key, text)), standard alphabet with padding.
pub(crate) fn hmac_sha1_base64(key: &str, text: &str) -> String {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac =
        Hmac::<Sha1>::new_from_slice(key.as_bytes()).expect("hmac accepts any key length");
    mac.update(text.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The text a config request signs: `[tenant+][group+]ts` as 2.4.3
/// `ConfigResourceInjector.getResource` and `SpasAdapter.getSignHeaders`
/// build it.
pub(crate) fn config_sign_text(tenant: &str, group: &str, ts: &str) -> String {
    let resource = match (tenant.trim().is_empty(), group.trim().is_empty()) {
        (false, false) => format!("{tenant}+{group}"),
        (_, false) => group.to_string(),
        (false, true) => tenant.to_string(),
        (true, true) => String::new(),
    };
    if resource.is_empty() {
        ts.to_string()
    } else {
        format!("{resource}+{ts}")
    }
}

/// The `data` a naming request signs: `ts@@group@@service`, `ts@@service`
/// when the name is already grouped or no group is sent, `ts` without a
/// service.
pub(crate) fn naming_sign_data(service: Option<&str>, group: Option<&str>, ts: &str) -> String {
    match service.filter(|s| !s.is_empty()) {
        None => ts.to_string(),
        Some(s) => match group.filter(|g| !g.trim().is_empty()) {
            Some(g) if !s.contains("@@") => format!("{ts}@@{g}@@{s}"),
            _ => format!("{ts}@@{s}"),
        },
    }
}

/// Signs a request whose parameters `param` looks up, at `now_ms`.
pub(crate) fn sign_at(
    keys: &AkSk,
    resource: Resource,
    param: impl Fn(&str) -> Option<String>,
    now_ms: u128,
) -> Signed {
    let mut out = Signed::default();
    if keys.access_key.is_empty() || keys.secret_key.is_empty() {
        return out;
    }
    let ts = now_ms.to_string();
    match resource {
        Resource::None => {}
        Resource::Config => {
            let text = config_sign_text(
                param("tenant").as_deref().unwrap_or(""),
                param("group").as_deref().unwrap_or(""),
                &ts,
            );
            out.headers
                .push(("Spas-AccessKey", keys.access_key.clone()));
            out.headers.push(("Timestamp", ts));
            out.headers.push((
                "Spas-Signature",
                hmac_sha1_base64(keys.secret_key.expose(), &text),
            ));
            if let Some(t) = &keys.security_token {
                out.headers
                    .push(("Spas-SecurityToken", t.expose().to_string()));
            }
        }
        Resource::Naming => {
            let data = naming_sign_data(
                param("serviceName").as_deref(),
                param("groupName").as_deref(),
                &ts,
            );
            out.params.push((
                "signature",
                hmac_sha1_base64(keys.secret_key.expose(), &data),
            ));
            out.params.push(("data", data));
            out.params.push(("ak", keys.access_key.clone()));
            if let Some(t) = &keys.security_token {
                out.params
                    .push(("Spas-SecurityToken", t.expose().to_string()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SK: &str = "sk-Very-Secret-42";

    fn keys(token: Option<&str>) -> AkSk {
        AkSk {
            access_key: "LTAI-ak".into(),
            secret_key: Secret::new(SK),
            security_token: token.map(Secret::new),
        }
    }

    /// base64(HMAC-SHA1) computed by Python's `hmac`/`base64`, independently
    /// of this crate. When `python3` is missing, the vectors below (written
    /// down from the same command) are used.
    fn python_sign(key: &str, text: &str) -> Option<String> {
        let out = std::process::Command::new("python3")
            .args([
                "-c",
                "import sys,hmac,hashlib,base64;\
                 print(base64.b64encode(hmac.new(sys.argv[1].encode(),sys.argv[2].encode(),\
                 hashlib.sha1).digest()).decode())",
                key,
                text,
            ])
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    #[test]
    fn hmac_matches_python_and_written_vectors() {
        // python3 -c 'import hmac,hashlib,base64;print(base64.b64encode(hmac.new(b"sk-Very-Secret-42",
        //   b"dev+DEFAULT_GROUP+1700000000000",hashlib.sha1).digest()).decode())'
        let vectors = [
            (
                "dev+DEFAULT_GROUP+1700000000000",
                "HoU6P4JedyKV9H80ZI+BeGmWoqE=",
            ),
            (
                "1700000000000@@DEFAULT_GROUP@@svc",
                "3/DklKu+fcDqcBe7q5hlR2NXSv4=",
            ),
            ("1700000000000", "8NC8IbNM7h3jXdNYdr515kUNyq4="),
        ];
        for (text, want) in vectors {
            assert_eq!(hmac_sha1_base64(SK, text), want, "{text}");
            if let Some(py) = python_sign(SK, text) {
                assert_eq!(py, want, "python disagrees on {text}");
            }
        }
        // Keys longer than the SHA-1 block and non-ASCII text.
        let long_key = "k".repeat(100);
        if let Some(py) = python_sign(&long_key, "grüße+1") {
            assert_eq!(hmac_sha1_base64(&long_key, "grüße+1"), py);
        }
    }

    #[test]
    fn config_sign_text_follows_the_java_resource_rule() {
        assert_eq!(config_sign_text("ns", "G", "1"), "ns+G+1");
        assert_eq!(config_sign_text("", "G", "1"), "G+1");
        assert_eq!(config_sign_text("ns", "", "1"), "ns+1");
        assert_eq!(config_sign_text("", "", "1"), "1");
    }

    #[test]
    fn naming_data_is_grouped_once() {
        assert_eq!(
            naming_sign_data(Some("G@@svc"), Some("G"), "1"),
            "1@@G@@svc"
        );
        assert_eq!(naming_sign_data(Some("svc"), Some("G"), "1"), "1@@G@@svc");
        assert_eq!(naming_sign_data(Some("svc"), None, "1"), "1@@svc");
        assert_eq!(naming_sign_data(None, Some("G"), "1"), "1");
    }

    #[test]
    fn config_and_naming_requests_are_signed() {
        let params = |k: &str| {
            match k {
                "tenant" => Some("dev"),
                "group" => Some("DEFAULT_GROUP"),
                "serviceName" => Some("DEFAULT_GROUP@@svc"),
                "groupName" => Some("DEFAULT_GROUP"),
                _ => None,
            }
            .map(String::from)
        };
        let c = sign_at(
            &keys(Some("sts-tok")),
            Resource::Config,
            params,
            1_700_000_000_000,
        );
        assert!(c.params.is_empty());
        let h = |n: &str| c.headers.iter().find(|(k, _)| *k == n).unwrap().1.clone();
        assert_eq!(h("Spas-AccessKey"), "LTAI-ak");
        assert_eq!(h("Timestamp"), "1700000000000");
        assert_eq!(h("Spas-Signature"), "HoU6P4JedyKV9H80ZI+BeGmWoqE=");
        assert_eq!(h("Spas-SecurityToken"), "sts-tok");

        let n = sign_at(&keys(None), Resource::Naming, params, 1_700_000_000_000);
        assert!(n.headers.is_empty());
        let p = |name: &str| n.params.iter().find(|(k, _)| *k == name).unwrap().1.clone();
        assert_eq!(p("ak"), "LTAI-ak");
        assert_eq!(p("data"), "1700000000000@@DEFAULT_GROUP@@svc");
        assert_eq!(p("signature"), "3/DklKu+fcDqcBe7q5hlR2NXSv4=");
        assert!(!n.params.iter().any(|(k, _)| *k == "Spas-SecurityToken"));

        let l = sign_at(&keys(None), Resource::None, params, 1);
        assert!(l.headers.is_empty() && l.params.is_empty());
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let k = keys(Some("sts-secret-token"));
        let text = format!("{k:?} {:?}", Signer::new(k.clone()));
        assert!(text.contains("LTAI-ak"));
        assert!(
            !text.contains(SK) && !text.contains("sts-secret-token"),
            "{text}"
        );
    }
}
