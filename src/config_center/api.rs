//! The config calls: get, publish, remove, in the API each server speaks
//! (the requests and answers of each in `v1.rs` and `v3.rs`, picked by
//! `wire.rs`).

use crate::config_center::key::ConfigKey;
use crate::config_center::wire::wire;
use crate::config_center::{md5, snapshot};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::metrics::Operation;
use crate::transport::Response;

/// What to publish: the content, and optionally its type and app name.
///
/// A plain `&str` or `String` converts into a `Publish` of that content:
///
/// ```no_run
/// # let client = nacos_blocking::NacosClient::new("127.0.0.1")?;
/// use nacos_blocking::Publish;
/// client.publish_config("app.properties", "a=1")?;
/// client.publish_config(("app.yaml", "shop"), Publish::new("a: 1").config_type("yaml"))?;
/// # Ok::<(), nacos_blocking::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Publish {
    content: String,
    config_type: Option<String>,
    app_name: Option<String>,
    cas_md5: Option<String>,
}

impl Publish {
    /// Publishes `content` (sent in the form body, never in a URL).
    pub fn new(content: impl Into<String>) -> Publish {
        Publish {
            content: content.into(),
            config_type: None,
            app_name: None,
            cas_md5: None,
        }
    }

    /// The config's type as the console shows it: `text`, `json`, `xml`,
    /// `yaml`, `html`, `properties`, … Defaults to none (the server's
    /// default, `text`).
    #[must_use]
    pub fn config_type(mut self, config_type: impl Into<String>) -> Publish {
        self.config_type = Some(config_type.into());
        self
    }

    /// Publishes only if the config is still the one read with this MD5
    /// (compare-and-set: [`ConfigValue::md5`] or [`ConfigEvent::md5`]
    /// of the version the new content was made from); otherwise the publish
    /// fails with [`Error::Conflict`](crate::Error::Conflict) and nothing
    /// changes. Sent as the `casMd5` header, which Java 2.x/3.x read on v1
    /// (2.4.3 `ConfigController#publishConfig` L210) and v3 admin
    /// (`ConfigControllerV3` L226) alike. r-nacos 0.8 ignores the header
    /// and publishes anyway, which the client cannot tell from a success.
    /// Defaults to none (publish whatever is there).
    ///
    /// [`ConfigEvent::md5`]: crate::ConfigEvent::md5
    #[must_use]
    pub fn cas_md5(mut self, md5: impl Into<String>) -> Publish {
        self.cas_md5 = Some(md5.into());
        self
    }

    /// The application the config belongs to. Defaults to none.
    #[must_use]
    pub fn app_name(mut self, app_name: impl Into<String>) -> Publish {
        self.app_name = Some(app_name.into());
        self
    }
}

impl From<&str> for Publish {
    fn from(content: &str) -> Publish {
        Publish::new(content)
    }
}

impl From<String> for Publish {
    fn from(content: String) -> Publish {
        Publish::new(content)
    }
}

impl From<&String> for Publish {
    fn from(content: &String) -> Publish {
        Publish::new(content.as_str())
    }
}

/// Where a config's content came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigSource {
    /// A server answered.
    Server,
    /// Every server failed; this is the last content fetched from one,
    /// kept on disk.
    Snapshot,
    /// A file in the failover dir, which overrides the server.
    Failover,
}

/// A config's content with its MD5 and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigValue {
    /// The content.
    pub content: String,
    /// Lowercase hex MD5: the server's for the config where it reports one
    /// (what [`Publish::cas_md5`] compares), else the content's.
    pub md5: String,
    /// The config's type (`yaml`, `json`, `text`, ...) where the server
    /// says it (Java's `Config-Type` header on v1, `contentType` on v3).
    pub config_type: Option<String>,
    /// Server, snapshot or failover file.
    pub source: ConfigSource,
}

impl ConfigValue {
    pub(crate) fn new(content: String, source: ConfigSource) -> ConfigValue {
        ConfigValue {
            md5: md5::hex(&content),
            content,
            config_type: None,
            source,
        }
    }

    /// A server's answer: its MD5 and type where it sent them.
    fn from_server(fetched: Fetched) -> Option<ConfigValue> {
        let md5 = fetched.md5_or_own();
        Some(ConfigValue {
            content: fetched.content?,
            md5,
            config_type: fetched.config_type,
            source: ConfigSource::Server,
        })
    }

    /// `true` when every server failed and this came from the snapshot.
    pub fn from_snapshot(&self) -> bool {
        self.source == ConfigSource::Snapshot
    }
}

/// A config as a server answered: its content (`None`: it does not
/// exist) and the MD5 the server holds for it, where it reports one (v1:
/// the `Content-MD5` header of Java 2.x+ and r-nacos; v3: the `md5`
/// field). That MD5 is what the server compares in a long poll: for a
/// config the encryption plugin keeps (`cipher-` data ids, Java 2.2+) it
/// is the MD5 of the stored, encrypted content, not of the text read.
/// The default is the answer "no such config".
#[derive(Debug, Default)]
pub(crate) struct Fetched {
    pub(crate) content: Option<String>,
    /// Empty when the server sent none.
    pub(crate) md5: String,
    /// The config's type, where the server says it.
    pub(crate) config_type: Option<String>,
}

impl Fetched {
    /// The MD5 to hold for this answer: the server's, else the content's.
    pub(crate) fn md5_or_own(&self) -> String {
        if self.md5.is_empty() {
            self.content.as_deref().map(md5::hex).unwrap_or_default()
        } else {
            self.md5.clone()
        }
    }
}

/// Asks the servers only, without touching the snapshot.
pub(crate) fn read(ctx: &Context, op: Operation, key: &ConfigKey) -> Result<Fetched> {
    let resp = ctx.send(op, &|d| Ok(wire(d).get(key)))?;
    wire(resp.dialect).decode_get(resp)
}

/// Asks the servers only; records the answer in the snapshot.
pub(crate) fn fetch(ctx: &Context, key: &ConfigKey) -> Result<Fetched> {
    let fetched = read(ctx, Operation::ConfigRead, key)?;
    snapshot::keep(&ctx.settings, key, fetched.content.as_deref());
    Ok(fetched)
}

/// Failover file, else the servers, else (when the servers failed for any
/// reason but a refusal) the snapshot.
pub(crate) fn lookup(ctx: &Context, key: &ConfigKey) -> Result<Option<ConfigValue>> {
    if let Some(dir) = &ctx.settings.config_failover_dir {
        if let Some(content) = snapshot::read(&snapshot::failover_path(dir, key)) {
            return Ok(Some(ConfigValue::new(content, ConfigSource::Failover)));
        }
    }
    match fetch(ctx, key) {
        Ok(f) => Ok(ConfigValue::from_server(f)),
        // As Java (1.4.8 `NacosConfigService#getConfigInner`): any failure
        // but a refusal (403) falls back to the snapshot: a 409 "being
        // modified", a 5xx after retries, no server at all.
        Err(e) if !(e.is_auth() || e.is_invalid_argument() || matches!(e, Error::Shutdown)) => {
            let saved = snapshot::saved(&ctx.settings, key);
            match saved {
                Some(content) => {
                    log::warn!("nacos: config {key}: read failed ({e}); using the snapshot");
                    Ok(Some(ConfigValue::new(content, ConfigSource::Snapshot)))
                }
                None => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

/// Creates or replaces a config. Empty content is refused (Nacos
/// rejects it).
pub(crate) fn publish(ctx: &Context, key: &ConfigKey, publish: Publish) -> Result<()> {
    if publish.content.is_empty() {
        return Err(Error::invalid(
            "content",
            "must not be empty (remove the config instead)",
        ));
    }
    if let Some(t) = &publish.config_type {
        if t.is_empty() || !t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(Error::invalid(
                "config_type",
                format!("`{t}` is not a type name"),
            ));
        }
    }
    if let Some(m) = &publish.cas_md5 {
        if !md5::is_hex(m) {
            return Err(Error::invalid("cas_md5", "not an MD5 (32 hex digits)"));
        }
    }
    let cas = publish.cas_md5.as_deref();
    let resp = ctx
        .send(Operation::ConfigWrite, &|d| {
            let req = wire(d)
                .publish(key)
                .param("content", publish.content.as_str())
                .opt_param("type", publish.config_type.as_deref())
                .opt_param("appName", publish.app_name.as_deref());
            Ok(match cas {
                Some(m) => req.header("casMd5", m),
                None => req,
            })
        })
        .map_err(|e| match cas {
            Some(m) if lost_cas(&e) => Error::Conflict {
                what: format!("{key} is no longer the version with MD5 {m}; nothing was published"),
            },
            _ => e,
        })?;
    written("publish answer", &resp)
}

/// Whether `e` is a server refusing a compare-and-set publish: Java answers
/// HTTP 500, on v1 with the text `Cas publish fail, server md5 may have
/// changed.` (2.4.3 `ConfigOperationService` L103–111 through the config
/// `GlobalExceptionHandler`), on v3 with an envelope of code 20005
/// (`RESOURCE_CONFLICT`, `NacosApiExceptionHandler`).
fn lost_cas(e: &Error) -> bool {
    match e {
        Error::Status { status, body, .. } => {
            *status == 500 && (body.contains("Cas publish fail") || body.contains("20005"))
        }
        Error::Api { code, .. } => *code == 20005,
        Error::AllServersFailed { last, .. } => lost_cas(last),
        _ => false,
    }
}

/// Removes a config. Removing one that does not exist succeeds.
pub(crate) fn remove(ctx: &Context, key: &ConfigKey) -> Result<()> {
    let resp = ctx.send(Operation::ConfigWrite, &|d| Ok(wire(d).remove(key)))?;
    written("remove answer", &resp)
}

/// A write's answer: v1's `true`, or a v3 success.
fn written(what: &'static str, resp: &Response) -> Result<()> {
    wire(resp.dialect).written(what, &resp.body)
}
