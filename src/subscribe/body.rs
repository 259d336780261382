//! The last answer of a subscription, kept to tell the next one unchanged
//! without decoding, diffing or even hashing it.
//!
//! Servers stamp every `instance/list` answer: r-nacos sets `lastRefTime`
//! to the time of the answer and `checksum` to the same number, Java Nacos
//! 1.x `lastRefTime` to the time of the answer (its `checksum` is a digest
//! of the hosts, so it changes only with them). So two answers for an
//! unchanged service differ in those two values and nowhere else. An
//! answer is *unchanged* when it has the kept one's bytes outside the kept
//! one's top-level `lastRefTime` and `checksum` values, and a value of the
//! same kind (digits; a string without escapes) in their place. Checking
//! that is two `memcmp`s over the body; a hash of the whole body (what this
//! replaced) read every byte through SipHash, and a body stamped with the
//! time never hashed the same twice, so every idle poll was decoded and
//! diffed.

use std::ops::Range;

/// Top-level keys whose values servers change on every answer.
const VOLATILE: [&[u8]; 2] = [b"lastRefTime", b"checksum"];

/// An answer that was decoded and taken, with where its volatile values are.
/// The stamps are looked for as keys of the objects at one depth: 1, the
/// top-level object of a v1 answer; 2, the `data` object of a v3 envelope.
#[derive(Debug)]
pub(crate) struct KeptBody {
    text: Box<str>,
    /// Spans of the top-level volatile values in `text`, in order.
    volatile: Vec<Range<usize>>,
}

impl KeptBody {
    /// Keeps `text`, an answer that decoded as an instance list (so valid
    /// JSON: the scan below relies on it).
    pub(crate) fn new(text: String, depth: usize) -> KeptBody {
        let volatile = volatile_spans(text.as_bytes(), depth);
        KeptBody {
            text: text.into_boxed_str(),
            volatile,
        }
    }

    /// `true` when `new` says what the kept answer says (see the module
    /// docs); `false` means "decode it", never a wrong "unchanged".
    pub(crate) fn same_as(&self, new: &str) -> bool {
        let (old, new) = (self.text.as_bytes(), new.as_bytes());
        if self.volatile.is_empty() {
            return old == new;
        }
        let (mut i, mut j) = (0, 0);
        for span in &self.volatile {
            let len = span.start - i;
            match new.get(j..j + len) {
                Some(same) if same == &old[i..span.start] => j += len,
                _ => return false,
            }
            let end = if old[span.start] == b'"' {
                simple_string_end(new, j)
            } else {
                digits_end(new, j)
            };
            match end {
                Some(end) => j = end,
                None => return false,
            }
            i = span.end;
        }
        old[i..] == new[j..]
    }
}

/// The end (exclusive) of an integer as JSON writes one (an optional
/// leading `-`, then `0` or digits not starting with `0`) at `at`; `None`
/// when there is none.
fn digits_end(b: &[u8], at: usize) -> Option<usize> {
    let mut k = at;
    if b.get(k) == Some(&b'-') {
        k += 1;
    }
    let digits = b
        .get(k..)?
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count();
    // `07` is no JSON number (the differential test below found the scan
    // taking it for one).
    if digits > 1 && b[k] == b'0' {
        return None;
    }
    (digits > 0).then_some(k + digits)
}

/// The end (exclusive, past the closing quote) of a string at `at` that
/// has no escapes; `None` otherwise.
fn simple_string_end(b: &[u8], at: usize) -> Option<usize> {
    if b.get(at) != Some(&b'"') {
        return None;
    }
    let len = b.get(at + 1..)?.iter().position(|&c| c == b'"')?;
    let inner = &b[at + 1..at + 1 + len];
    (!inner.contains(&b'\\')).then_some(at + len + 2)
}

/// The end (exclusive, past the closing quote) of the JSON string that
/// starts at `at` (a `"`), escapes skipped.
fn string_end(b: &[u8], at: usize) -> usize {
    let mut k = at + 1;
    while k < b.len() {
        match b[k] {
            b'\\' => k += 2,
            b'"' => return k + 1,
            _ => k += 1,
        }
    }
    b.len()
}

/// Spans of the values of the top-level [`VOLATILE`] keys of a valid JSON
/// object: a number's digits, or a string without escapes with its quotes.
/// Values of other kinds (`null`, a string with escapes) are left out, so
/// an answer changing them is decoded.
fn volatile_spans(b: &[u8], at_depth: usize) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    // The last structural byte seen: a string right after `{` or `,` at
    // depth 1 is a key of the top-level object.
    let mut prev = 0u8;
    let mut k = 0;
    while k < b.len() {
        match b[k] {
            b'"' => {
                let end = string_end(b, k);
                let is_key = depth == at_depth && matches!(prev, b'{' | b',');
                prev = b'"';
                if is_key && VOLATILE.contains(&&b[k + 1..end - 1]) {
                    let mut v = end;
                    while v < b.len() && matches!(b[v], b' ' | b'\t' | b'\n' | b'\r' | b':') {
                        v += 1;
                    }
                    let value_end = if b.get(v) == Some(&b'"') {
                        simple_string_end(b, v)
                    } else {
                        digits_end(b, v)
                    };
                    if let Some(e) = value_end {
                        out.push(v..e);
                        k = e;
                        continue;
                    }
                }
                k = end;
                continue;
            }
            c @ (b'{' | b'[') => {
                depth += 1;
                prev = c;
            }
            c @ (b'}' | b']') => {
                depth = depth.saturating_sub(1);
                prev = c;
            }
            c @ (b',' | b':') => prev = c,
            _ => {}
        }
        k += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const RNACOS: &str = r#"{"name":"G@@s","clusters":"","cacheMillis":10000,"hosts":[{"ip":"1.1.1.1","port":80,"metadata":{"checksum":"abc","lastRefTime":"1"}}],"lastRefTime":1795292297991,"checksum":"1795292297991","dom":"s","metadata":null}"#;

    fn stamped(t: &str) -> String {
        RNACOS.replace("1795292297991", t)
    }

    #[test]
    fn finds_only_top_level_stamps() {
        let kept = KeptBody::new(RNACOS.to_string(), 1);
        let spans: Vec<&str> = kept.volatile.iter().map(|r| &RNACOS[r.clone()]).collect();
        assert_eq!(spans, ["1795292297991", "\"1795292297991\""]);
    }

    #[test]
    fn a_new_stamp_is_the_same_answer() {
        let kept = KeptBody::new(RNACOS.to_string(), 1);
        assert!(kept.same_as(RNACOS));
        assert!(kept.same_as(&stamped("1795292305674")));
        // A stamp of another length too.
        assert!(kept.same_as(&stamped("99")));
    }

    #[test]
    fn any_other_change_is_a_change() {
        let kept = KeptBody::new(RNACOS.to_string(), 1);
        for changed in [
            RNACOS.replace("\"port\":80", "\"port\":81"),
            // Nested keys of the same names are data, not stamps.
            RNACOS.replace("\"checksum\":\"abc\"", "\"checksum\":\"abd\""),
            RNACOS.replace("\"lastRefTime\":\"1\"", "\"lastRefTime\":\"2\""),
            // The stamps changing kind.
            stamped("null"),
            RNACOS.replace("\"1795292297991\"", "1795292297991"),
            RNACOS.replace("\"1795292297991\"", "\"a\\\"b\""),
            stamped("1795292297991.5"),
            RNACOS[..RNACOS.len() - 1].to_string(),
            format!("{RNACOS} "),
            String::new(),
        ] {
            assert!(!kept.same_as(&changed), "{changed}");
        }
    }

    #[test]
    fn a_v3_envelope_has_its_stamps_in_data() {
        // batata's answer: the stamps sit in the `data` object.
        let body = r#"{"code":0,"message":"success","data":{"name":"s","hosts":[{"ip":"1.1.1.1","port":80,"lastRefTime":7}],"lastRefTime":1795292238668,"checksum":""}}"#;
        let kept = KeptBody::new(body.to_string(), 2);
        assert_eq!(kept.volatile.len(), 2);
        assert!(kept.same_as(&body.replace("1795292238668", "1795292239999")));
        assert!(!kept.same_as(&body.replace("\"port\":80", "\"port\":81")));
        assert!(!kept.same_as(&body.replace("\"lastRefTime\":7", "\"lastRefTime\":8")));
    }

    #[test]
    fn without_stamps_only_identical_bytes_match() {
        let body = r#"{"hosts":[],"lastRefTime":null,"checksum":"a\"b"}"#;
        let kept = KeptBody::new(body.to_string(), 1);
        assert!(kept.volatile.is_empty());
        assert!(kept.same_as(body));
        assert!(!kept.same_as(&body.replace("null", "1")));
    }

    /// Against serde_json, the decoder it spares: whatever the scan calls
    /// unchanged decodes to the same list as the kept answer (stamps
    /// aside), over every one-byte change of a real answer and every cut.
    #[test]
    fn never_unchanged_when_serde_reads_a_different_list() {
        use crate::naming::service::ServiceInfo;
        let decoded = |body: &str| {
            serde_json::from_str::<ServiceInfo>(body).ok().map(|mut i| {
                i.last_ref_time = 0;
                i.checksum.clear();
                i
            })
        };
        let kept = KeptBody::new(RNACOS.to_string(), 1);
        let old = decoded(RNACOS).unwrap();
        let mut same = 0;
        for i in 0..RNACOS.len() {
            for c in ["0", "9", "a", "\"", ",", "}", " ", "x"] {
                let body = format!("{}{}{}", &RNACOS[..i], c, &RNACOS[i + 1..]);
                if kept.same_as(&body) {
                    same += 1;
                    assert_eq!(decoded(&body).as_ref(), Some(&old), "{body}");
                }
            }
            if kept.same_as(&RNACOS[..i]) {
                assert_eq!(decoded(&RNACOS[..i]).as_ref(), Some(&old));
            }
        }
        // The stamps' own digits did change in some of those.
        assert!(same > 20, "{same}");
    }
}
