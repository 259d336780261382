//! Reading an answer's body: capped at its decoded size.

/// Why a body could not be read.
pub(super) enum BodyError {
    /// It is larger than the cap once decoded.
    TooLarge,
    Read(ureq::Error),
}

/// Reads a body of at most `cap` bytes *after* decoding. ureq's own
/// limit counts the bytes on the wire, before gzip inflates them, so a
/// few kilobytes of gzip could otherwise become gigabytes in memory: the
/// decoded stream is read through `take(cap + 1)` and one byte too many
/// is the error. Invalid UTF-8 is replaced.
///
/// The bytes are read as they come and checked as UTF-8 once at the end
/// (ureq's `lossy_utf8` reader checked and copied them on the way, then
/// `String::from_utf8` checked them again), into a buffer sized from
/// `Content-Length` when the server sends one (up to [`PRESIZE_MAX`]), so
/// a 57 KB list is not copied through eight doublings: together a quarter
/// of a list call's instructions outside decoding.
pub(super) fn read_capped(
    body: &mut ureq::Body,
    cap: u64,
) -> std::result::Result<String, BodyError> {
    use std::io::Read;
    // One byte over the cap tells "too large" from "exactly the cap" (ureq's
    // limit fails a read at the limit even when the body ends there).
    let over = cap.saturating_add(1);
    let presize = body
        .content_length()
        .unwrap_or(0)
        .min(over)
        .min(PRESIZE_MAX) as usize;
    let mut buf = Vec::with_capacity(presize);
    let read = body
        .with_config()
        .limit(over)
        .reader()
        .take(over)
        .read_to_end(&mut buf);
    match read.map_err(ureq::Error::from) {
        Err(ureq::Error::BodyExceedsLimit(_)) => Err(BodyError::TooLarge),
        Err(e) => Err(BodyError::Read(e)),
        Ok(n) if n as u64 > cap => Err(BodyError::TooLarge),
        Ok(_) => Ok(String::from_utf8(buf)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())),
    }
}

/// The largest buffer allocated ahead from a `Content-Length` (a server
/// could announce any length, and memory is only taken as bytes arrive).
const PRESIZE_MAX: u64 = 1 << 20;
