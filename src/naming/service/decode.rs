//! The `instance/list` decoder: a parser for that one shape, straight from
//! the body into [`ServiceInfo`].
//!
//! A list answer is most of what a client decodes (a poll of a changed
//! service, every `list_instances` of an unsubscribed one). Going through
//! serde, even with a hand-written visitor, cost more than a plain derived
//! struct does (callgrind, 200 hosts with 2 metadata keys: 2.07M
//! instructions against 2.03M): serde_json reaches each value through
//! `Option`s, visitors and per-field calls, and the derive builds every
//! map key by key. This parser
//! reads each byte once, keeps strings borrowed until a field takes them,
//! skips what the client never reads (`service`, `marked`, `dom`, ...)
//! without building anything, and clones a host's metadata map from the
//! previous host when they carry the same entries.
//!
//! It accepts exactly what `serde_json::from_str::<ServiceInfo>` accepts,
//! and gives the same values: strict JSON (control characters in strings,
//! bad escapes, bad numbers, trailing bytes are errors), and the rules of
//! `ServiceInfo`'s and `Instance`'s `Deserialize` impls (defaults for
//! missing or `null` fields, `hosts` required, a field given twice is an
//! error, unknown fields skipped), with one exception: a struct written
//! as a JSON array of its fields (serde's sequence form, which no server
//! sends) is refused. The rare forms it does not decode
//! itself (strings with escapes, numbers other than plain decimals, values
//! of other types in metadata) it hands to `serde_json`, so the two agree
//! by construction there; a test compares them on thousands of broken
//! and odd answers.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use crate::naming::instance::Instance;
use crate::naming::service::ServiceInfo;

/// Why an answer is not an instance list.
#[derive(Debug)]
pub(crate) struct DecodeError {
    message: String,
    at: usize,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.message, self.at)
    }
}

impl std::error::Error for DecodeError {}

/// Boxed: a `Result` the size of its value, returned in registers on the
/// hot path (a 32-byte error made every small call return through memory).
type Result<T> = std::result::Result<T, Box<DecodeError>>;

/// Decodes an `instance/list` answer (see the module docs).
pub(crate) fn parse_instance_list(body: &str) -> std::result::Result<ServiceInfo, DecodeError> {
    let mut p = Parser {
        s: body,
        b: body.as_bytes(),
        i: 0,
    };
    let info = p.service_info().map_err(|e| *e)?;
    p.ws();
    if p.i != p.b.len() {
        return p.fail("trailing characters").map_err(|e| *e);
    }
    Ok(info)
}

/// The `data` of a v3 `instance/list` success: Java's bare list of
/// instances, or batata's service object with `hosts`.
#[derive(Debug, PartialEq)]
pub(crate) enum V3List {
    Bare(Vec<Instance>),
    Wrapped(ServiceInfo),
}

/// A v3 `instance/list` answer (`{"code":0,"message":..,"data":..}`)
/// when it is a success with a list in `data`, decoded with this parser;
/// `None` for anything else (another code, `data` missing or of another
/// shape, a duplicate member, broken JSON), which the caller decodes
/// through the envelope's serde path for its errors. What this returns is
/// what that path returns for the same body (a test compares them).
pub(crate) fn parse_v3_instance_list(body: &str) -> Option<V3List> {
    let mut p = Parser {
        s: body,
        b: body.as_bytes(),
        i: 0,
    };
    let (mut code, mut message, mut data) = (None, false, None);
    if !p.open_object().ok()? {
        return None;
    }
    loop {
        let key = p.key().ok()?;
        match &*key {
            "code" if code.is_none() => code = Some(p.opt_int::<i64>().ok()??),
            "message" if !message => {
                message = true;
                p.opt_string().ok()?;
            }
            "data" if data.is_none() => {
                data = Some(match p.peek()? {
                    b'[' => V3List::Bare(p.hosts().ok()?),
                    b'{' => V3List::Wrapped(p.service_info().ok()?),
                    _ => return None,
                });
            }
            "code" | "message" | "data" => return None,
            _ => p.skip().ok()?,
        }
        if !p.more(b'}').ok()? {
            break;
        }
    }
    p.ws();
    if p.i != p.b.len() || code != Some(0) {
        return None;
    }
    data
}

struct Parser<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

/// A scalar value as it stands in the body.
enum Scalar<'a> {
    Null,
    Bool(bool),
    Str(Cow<'a, str>),
    /// A number's text (valid JSON).
    Num(&'a str),
}

/// Bytes that end the fast scan of a string: `"`, `\` and control bytes.
static STOP: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 0x20 {
        t[c] = true;
        c += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// The first byte at or after `k` that [`STOP`]s a string scan (or the
/// end): eight bytes at a time, then byte by byte within the word that
/// holds one (strings are mostly short, bodies mostly strings).
#[inline]
fn scan(b: &[u8], mut k: usize) -> usize {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    // High bit set in each byte of `x` that is zero (the lowest one exact).
    let zero = |x: u64| x.wrapping_sub(LO) & !x & HI;
    while let Some(word) = b.get(k..k + 8) {
        let w = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        let hits = zero(w ^ (LO * u64::from(b'"')))
            | zero(w ^ (LO * u64::from(b'\\')))
            | (w.wrapping_sub(LO * 0x20) & !w & HI);
        if hits != 0 {
            return k + (hits.trailing_zeros() / 8) as usize;
        }
        k += 8;
    }
    while k < b.len() && !STOP[b[k] as usize] {
        k += 1;
    }
    k
}

impl<'a> Parser<'a> {
    #[cold]
    fn fail<T>(&self, message: &str) -> Result<T> {
        Err(Box::new(DecodeError {
            message: message.to_string(),
            at: self.i,
        }))
    }

    /// An error from serde_json about the value starting at `at`.
    #[cold]
    fn fail_at<T>(&self, at: usize, message: &str) -> Result<T> {
        Err(Box::new(DecodeError {
            message: message.to_string(),
            at,
        }))
    }

    #[cold]
    fn serde_fail<T>(&self, at: usize, e: serde_json::Error) -> Result<T> {
        Err(Box::new(DecodeError {
            message: e.to_string(),
            at,
        }))
    }

    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    /// The next byte after whitespace, not consumed.
    #[inline]
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    #[inline]
    fn expect(&mut self, c: u8, what: &str) -> Result<()> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            self.fail(what)
        }
    }

    /// After a member or element: `true` at `,`, `false` at `close`.
    #[inline]
    fn more(&mut self, close: u8) -> Result<bool> {
        match self.b.get(self.i) {
            Some(b',') => {
                self.i += 1;
                return Ok(true);
            }
            Some(&c) if c == close => {
                self.i += 1;
                return Ok(false);
            }
            _ => {}
        }
        match self.peek() {
            Some(b',') => {
                self.i += 1;
                Ok(true)
            }
            Some(c) if c == close => {
                self.i += 1;
                Ok(false)
            }
            _ => self.fail(if close == b'}' {
                "expected `,` or `}`"
            } else {
                "expected `,` or `]`"
            }),
        }
    }

    /// Starts an object: `true` if it has a first member (then the parser
    /// stands at its key).
    fn open_object(&mut self) -> Result<bool> {
        self.expect(b'{', "expected an object")?;
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(false);
        }
        Ok(true)
    }

    /// A member's key and the `:` after it.
    #[inline]
    fn key(&mut self) -> Result<Cow<'a, str>> {
        if self.peek() != Some(b'"') {
            return self.fail("expected a key");
        }
        let k = self.string()?;
        // Compact JSON (every server's) has the `:` right there.
        if self.b.get(self.i) == Some(&b':') {
            self.i += 1;
        } else {
            self.expect(b':', "expected `:`")?;
        }
        Ok(k)
    }

    /// The end (past the closing quote) of the string at `self.i` (a `"`),
    /// and whether it has escapes; the string is checked as serde_json
    /// checks one it skips (no control bytes, valid escapes).
    fn string_end(&self) -> Result<(usize, bool)> {
        let b = self.b;
        let mut k = self.i + 1;
        let mut escaped = false;
        loop {
            k = scan(b, k);
            match b.get(k) {
                Some(b'"') => return Ok((k + 1, escaped)),
                Some(b'\\') => {
                    escaped = true;
                    match b.get(k + 1) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => k += 2,
                        Some(b'u') => {
                            let hex = b.get(k + 2..k + 6);
                            if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                                return self.fail_at(k, "invalid \\u escape");
                            }
                            k += 6;
                        }
                        _ => return self.fail_at(k, "invalid escape"),
                    }
                }
                Some(_) => return self.fail_at(k, "control character in a string"),
                None => return self.fail_at(k, "unterminated string"),
            }
        }
    }

    /// A string (at `"`), borrowed unless it has escapes; those are
    /// decoded by serde_json (surrogate pairs and all).
    #[inline]
    fn string(&mut self) -> Result<Cow<'a, str>> {
        let start = self.i;
        // Nearly every string: no escape, so the first stop is its end.
        let k = scan(self.b, start + 1);
        if self.b.get(k) == Some(&b'"') {
            self.i = k + 1;
            return Ok(Cow::Borrowed(&self.s[start + 1..k]));
        }
        self.escaped_string(start)
    }

    /// A string with escapes (or a broken one), from `start`.
    fn escaped_string(&mut self, start: usize) -> Result<Cow<'a, str>> {
        let (end, escaped) = self.string_end()?;
        self.i = end;
        if !escaped {
            return Ok(Cow::Borrowed(&self.s[start + 1..end - 1]));
        }
        match serde_json::from_str::<String>(&self.s[start..end]) {
            Ok(s) => Ok(Cow::Owned(s)),
            Err(e) => self.serde_fail(start, e),
        }
    }

    /// The text of the number at `self.i`, checked against JSON's grammar.
    fn number(&mut self) -> Result<&'a str> {
        let b = self.b;
        let start = self.i;
        let mut k = start;
        if b.get(k) == Some(&b'-') {
            k += 1;
        }
        let digits = |k: &mut usize| {
            let from = *k;
            while b.get(*k).is_some_and(u8::is_ascii_digit) {
                *k += 1;
            }
            *k - from
        };
        let int_start = k;
        let n = digits(&mut k);
        if n == 0 || (n > 1 && b[int_start] == b'0') {
            self.i = k;
            return self.fail("invalid number");
        }
        if b.get(k) == Some(&b'.') {
            k += 1;
            if digits(&mut k) == 0 {
                self.i = k;
                return self.fail("invalid number");
            }
        }
        if let Some(b'e' | b'E') = b.get(k) {
            k += 1;
            if let Some(b'+' | b'-') = b.get(k) {
                k += 1;
            }
            if digits(&mut k) == 0 {
                self.i = k;
                return self.fail("invalid number");
            }
        }
        self.i = k;
        Ok(&self.s[start..k])
    }

    #[inline]
    fn literal(&mut self, word: &[u8]) -> Result<()> {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(())
        } else {
            self.fail("expected a value")
        }
    }

    /// A scalar; containers are errors (`what` names the expected type).
    #[inline]
    fn scalar(&mut self, what: &str) -> Result<Scalar<'a>> {
        match self.peek() {
            Some(b'"') => Ok(Scalar::Str(self.string()?)),
            Some(b'n') => self.literal(b"null").map(|()| Scalar::Null),
            Some(b't') => self.literal(b"true").map(|()| Scalar::Bool(true)),
            Some(b'f') => self.literal(b"false").map(|()| Scalar::Bool(false)),
            Some(b'-' | b'0'..=b'9') => Ok(Scalar::Num(self.number()?)),
            Some(b'{' | b'[') => self.fail(&format!("invalid type, expected {what}")),
            _ => self.fail("expected a value"),
        }
    }

    /// Skips any value, checking it as serde_json checks what it ignores
    /// (however deep it nests: the stack is on the heap, as serde_json's).
    fn skip(&mut self) -> Result<()> {
        let mut closers: Vec<u8> = Vec::new();
        loop {
            match self.peek() {
                Some(b'{') => {
                    if self.open_object()? {
                        closers.push(b'}');
                        self.key()?;
                        continue;
                    }
                }
                Some(b'[') => {
                    self.i += 1;
                    if self.peek() == Some(b']') {
                        self.i += 1;
                    } else {
                        closers.push(b']');
                        continue;
                    }
                }
                Some(b'"') => {
                    let k = scan(self.b, self.i + 1);
                    self.i = if self.b.get(k) == Some(&b'"') {
                        k + 1
                    } else {
                        self.string_end()?.0
                    };
                }
                _ => {
                    self.scalar("a value")?;
                }
            }
            // A value is done: close what it ended.
            loop {
                let Some(&close) = closers.last() else {
                    return Ok(());
                };
                if self.more(close)? {
                    if close == b'}' {
                        self.key()?;
                    }
                    break;
                }
                closers.pop();
            }
        }
    }

    /// A string field (`null`: `None`).
    #[inline]
    fn opt_string(&mut self) -> Result<Option<String>> {
        let at = self.peek_at();
        match self.scalar("a string")? {
            Scalar::Null => Ok(None),
            Scalar::Str(s) => Ok(Some(s.into_owned())),
            _ => self.type_fail(at, "a string"),
        }
    }

    #[inline]
    fn peek_at(&mut self) -> usize {
        self.ws();
        self.i
    }

    #[cold]
    fn type_fail<T>(&self, at: usize, what: &str) -> Result<T> {
        Err(Box::new(DecodeError {
            message: format!("invalid type, expected {what}"),
            at,
        }))
    }

    /// A number field of type `T` (`null`: `None`): plain digits directly,
    /// any other number through serde_json (same range and type checks).
    fn opt_int<T>(&mut self) -> Result<Option<T>>
    where
        T: TryFrom<u64> + serde::de::DeserializeOwned,
    {
        let at = self.peek_at();
        match self.scalar("a number")? {
            Scalar::Null => Ok(None),
            Scalar::Num(text) => {
                if let Some(v) = plain_u64(text) {
                    if let Ok(v) = T::try_from(v) {
                        return Ok(Some(v));
                    }
                }
                match serde_json::from_str::<T>(text) {
                    Ok(v) => Ok(Some(v)),
                    Err(e) => self.serde_fail(at, e),
                }
            }
            _ => self.type_fail(at, "a number"),
        }
    }

    /// A float field (`null`: `None`).
    fn opt_f64(&mut self) -> Result<Option<f64>> {
        let at = self.peek_at();
        match self.scalar("a number")? {
            Scalar::Null => Ok(None),
            Scalar::Num(text) => match exact_f64(text) {
                Some(v) => Ok(Some(v)),
                None => match serde_json::from_str::<f64>(text) {
                    Ok(v) => Ok(Some(v)),
                    Err(e) => self.serde_fail(at, e),
                },
            },
            _ => self.type_fail(at, "a number"),
        }
    }

    #[inline]
    fn opt_bool(&mut self) -> Result<Option<bool>> {
        let at = self.peek_at();
        match self.scalar("a boolean")? {
            Scalar::Null => Ok(None),
            Scalar::Bool(v) => Ok(Some(v)),
            _ => self.type_fail(at, "a boolean"),
        }
    }

    fn service_info(&mut self) -> Result<ServiceInfo> {
        let mut info = ServiceInfo::default();
        let mut seen = 0u8;
        let mut field = |p: &Self, bit: u8, name: &str| {
            if seen & (1 << bit) != 0 {
                return p.fail(&format!("duplicate field `{name}`"));
            }
            seen |= 1 << bit;
            Ok(())
        };
        if self.open_object()? {
            loop {
                let key = self.key()?;
                match &*key {
                    "name" => {
                        field(self, 0, "name")?;
                        info.name = self.opt_string()?.unwrap_or_default();
                    }
                    "groupName" => {
                        field(self, 1, "groupName")?;
                        info.group_name = self.opt_string()?.unwrap_or_default();
                    }
                    "clusters" => {
                        field(self, 2, "clusters")?;
                        info.clusters = self.opt_string()?.unwrap_or_default();
                    }
                    "cacheMillis" => {
                        field(self, 3, "cacheMillis")?;
                        info.cache_millis = self.opt_int()?.unwrap_or_default();
                    }
                    "lastRefTime" => {
                        field(self, 4, "lastRefTime")?;
                        info.last_ref_time = self.opt_int()?.unwrap_or_default();
                    }
                    "checksum" => {
                        field(self, 5, "checksum")?;
                        info.checksum = self.opt_string()?.unwrap_or_default();
                    }
                    "hosts" => {
                        field(self, 6, "hosts")?;
                        info.hosts = self.hosts()?;
                    }
                    _ => self.skip()?,
                }
                if !self.more(b'}')? {
                    break;
                }
            }
        }
        if seen & (1 << 6) == 0 {
            return self.fail("missing field `hosts`");
        }
        Ok(info)
    }

    fn hosts(&mut self) -> Result<Vec<Instance>> {
        match self.peek() {
            Some(b'n') => {
                self.literal(b"null")?;
                return Ok(Vec::new());
            }
            Some(b'[') => self.i += 1,
            _ => return self.fail("invalid type, expected a list of instances"),
        }
        let mut hosts: Vec<Instance> = Vec::new();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(hosts);
        }
        // Room for the hosts that follow, judged by the first one's size:
        // a list growing from empty copied itself 7 times on its way to 200.
        let first_at = self.i;
        let mut meta = MetaScratch::default();
        loop {
            let host = self.instance(&mut meta, hosts.last().map(|h| &h.metadata))?;
            if hosts.is_empty() {
                // Judged as at least `MIN_HOST_BYTES` each, so a tiny first
                // host before a huge unknown field cannot make the list
                // reserve many times the body's size.
                let each = (self.i - first_at).max(MIN_HOST_BYTES);
                hosts.reserve_exact(1 + (self.b.len() - self.i) / each);
            }
            hosts.push(host);
            if !self.more(b']')? {
                break;
            }
        }
        hosts.shrink_to_fit();
        Ok(hosts)
    }

    fn instance(
        &mut self,
        meta: &mut MetaScratch<'a>,
        previous: Option<&HashMap<String, String>>,
    ) -> Result<Instance> {
        if self.peek() != Some(b'{') {
            return self.fail("invalid type, expected struct Instance");
        }
        let mut inst = Instance {
            instance_id: None,
            ip: String::new(),
            port: 0,
            weight: 1.0,
            healthy: true,
            enabled: true,
            ephemeral: true,
            cluster_name: String::new(),
            service_name: None,
            metadata: HashMap::new(),
        };
        let mut cluster = None;
        let mut seen = 0u16;
        let mut field = |p: &Self, bit: u8, name: &str| {
            if seen & (1 << bit) != 0 {
                return p.fail(&format!("duplicate field `{name}`"));
            }
            seen |= 1 << bit;
            Ok(())
        };
        if self.open_object()? {
            loop {
                let key = self.key()?;
                match &*key {
                    "instanceId" => {
                        field(self, 0, "instanceId")?;
                        inst.instance_id = self.opt_string()?;
                    }
                    "ip" => {
                        field(self, 1, "ip")?;
                        inst.ip = self.opt_string()?.unwrap_or_default();
                    }
                    "port" => {
                        field(self, 2, "port")?;
                        inst.port = self.opt_int()?.unwrap_or_default();
                    }
                    "weight" => {
                        field(self, 3, "weight")?;
                        inst.weight = self.opt_f64()?.unwrap_or(1.0);
                    }
                    "healthy" => {
                        field(self, 4, "healthy")?;
                        inst.healthy = self.opt_bool()?.unwrap_or(true);
                    }
                    "enabled" => {
                        field(self, 5, "enabled")?;
                        inst.enabled = self.opt_bool()?.unwrap_or(true);
                    }
                    "ephemeral" => {
                        field(self, 6, "ephemeral")?;
                        inst.ephemeral = self.opt_bool()?.unwrap_or(true);
                    }
                    "clusterName" => {
                        field(self, 7, "clusterName")?;
                        cluster = self.opt_string()?;
                    }
                    "serviceName" => {
                        field(self, 8, "serviceName")?;
                        inst.service_name = self.opt_string()?;
                    }
                    "metadata" => {
                        field(self, 9, "metadata")?;
                        inst.metadata = self.metadata(meta, previous)?;
                    }
                    _ => self.skip()?,
                }
                if !self.more(b'}')? {
                    break;
                }
            }
        }
        if seen & (1 << 9) == 0 {
            meta.previous.clear(); // an empty map, for the next host
        }
        inst.cluster_name = cluster.unwrap_or_else(|| Instance::default().cluster_name);
        Ok(inst)
    }

    /// A metadata object (`null`: empty): strings as they are, `null`
    /// entries dropped, other values as their JSON text (by serde_json).
    fn metadata(
        &mut self,
        meta: &mut MetaScratch<'a>,
        previous: Option<&HashMap<String, String>>,
    ) -> Result<HashMap<String, String>> {
        meta.entries.clear();
        match self.peek() {
            Some(b'n') => {
                self.literal(b"null")?;
                meta.previous.clear();
                return Ok(HashMap::new());
            }
            Some(b'{') => {}
            _ => return self.fail("invalid type, expected a map"),
        }
        if self.open_object()? {
            loop {
                let key = self.key()?;
                let at = self.peek_at();
                let value = match self.peek() {
                    Some(b'{' | b'[') => {
                        self.skip()?;
                        let v = serde_json::from_str::<serde_json::Value>(&self.s[at..self.i]);
                        match v {
                            Ok(v) => Some(Cow::Owned(v.to_string())),
                            Err(e) => return self.serde_fail(at, e),
                        }
                    }
                    _ => match self.scalar("a value")? {
                        Scalar::Null => None,
                        Scalar::Str(s) => Some(s),
                        Scalar::Bool(b) => Some(Cow::Borrowed(if b { "true" } else { "false" })),
                        Scalar::Num(text) => {
                            match serde_json::from_str::<serde_json::Value>(text) {
                                Ok(v) => Some(Cow::Owned(v.to_string())),
                                Err(e) => return self.serde_fail(at, e),
                            }
                        }
                    },
                };
                if let Some(v) = value {
                    meta.entries.push((key, v));
                }
                if !self.more(b'}')? {
                    break;
                }
            }
        }
        let map = map_of(&meta.entries, &meta.previous, previous);
        std::mem::swap(&mut meta.entries, &mut meta.previous);
        Ok(map)
    }
}

/// The metadata entries of this host and of the previous one, borrowed
/// from the body where they have no escapes.
#[derive(Default)]
struct MetaScratch<'a> {
    entries: Vec<Pair<'a>>,
    previous: Vec<Pair<'a>>,
}

/// The fewest bytes a host is taken to span when sizing the list (real
/// ones take about 300), which bounds what is reserved to about 1.5 times
/// the body's size.
const MIN_HOST_BYTES: usize = 100;

/// A metadata entry as parsed.
type Pair<'a> = (Cow<'a, str>, Cow<'a, str>);

/// The map of `entries` (the last of equal keys wins): a clone of
/// `previous_map` when `previous_entries` (what it was made of) are the
/// same entries, else built. Hosts of one service mostly carry the same
/// metadata: a clone copies the table and its strings without hashing or
/// probing.
fn map_of(
    entries: &[Pair<'_>],
    previous_entries: &[Pair<'_>],
    previous_map: Option<&HashMap<String, String>>,
) -> HashMap<String, String> {
    match previous_map {
        Some(prev) if same_entries(entries, previous_entries) => prev.clone(),
        _ => {
            let mut out = HashMap::with_capacity(entries.len());
            for (k, v) in entries {
                out.insert(k.as_ref().to_owned(), v.as_ref().to_owned());
            }
            out
        }
    }
}

/// Whether `cur` makes the same map as `prev`: the same entries in the
/// same order, or (for a few entries, as servers that keep metadata in a
/// hash map write them in any order) the same entries with no key twice.
fn same_entries(cur: &[Pair<'_>], prev: &[Pair<'_>]) -> bool {
    if cur.len() != prev.len() {
        return false;
    }
    if cur == prev {
        return true;
    }
    // Each entry of `cur` in `prev`, and no key of `cur` twice: then `prev`
    // holds as many distinct keys as it has entries, each with the value
    // `cur` gives it.
    cur.len() <= 8
        && cur.iter().enumerate().all(|(i, (k, v))| {
            prev.iter().any(|(pk, pv)| pk == k && pv == v)
                && !cur[..i].iter().any(|(ek, _)| ek == k)
        })
}

/// A number written as plain decimal digits that fit a `u64` (no sign,
/// fraction, exponent or leading zero).
fn plain_u64(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    if b.is_empty() || b.len() > 19 || (b.len() > 1 && b[0] == b'0') {
        return None;
    }
    let mut v = 0u64;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u64::from(c - b'0');
    }
    Some(v)
}

/// A number of the form `digits[.digits]` with at most 15 significant
/// digits, computed exactly (its digits and the power of ten are exact
/// doubles, so one correctly rounded division gives the correctly rounded
/// value, as any correct parser would); `None` for anything else.
fn exact_f64(text: &str) -> Option<f64> {
    const POW10: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let (int, frac) = match text.split_once('.') {
        Some((i, f)) => (i, f),
        None => (text, ""),
    };
    if int.len() + frac.len() > 15 || int.is_empty() || (int.len() > 1 && int.starts_with('0')) {
        return None;
    }
    let mut m = 0u64;
    for c in int.bytes().chain(frac.bytes()) {
        if !c.is_ascii_digit() {
            return None;
        }
        m = m * 10 + u64::from(c - b'0');
    }
    Some(m as f64 / POW10[frac.len()])
}

#[cfg(test)]
mod tests;
