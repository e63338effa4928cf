//! Reading a file request off the wire: the URL-encoded path, conditions,
//! the listing's query and the text body. Every refusal says why.

use super::{Condition, ListQuery};
use crate::api::{excerpt, ApiError};
use crate::vault::PathPolicy;

/// The vault path named by the URL's raw (percent-encoded) `{path}`: decoded,
/// UTF-8, and allowed by the server path policy, else 400 `bad-path`.
/// `%2F` and a literal `/` both separate folders.
pub fn decode_path(raw: &str) -> Result<String, ApiError> {
    let bad = |why: &str| {
        ApiError::bad_request(
            "bad-path",
            format!("the path {:?} is not acceptable: {why}", excerpt(raw, 200)),
        )
    };
    let bytes =
        percent_decode(raw).ok_or_else(|| bad("a '%' is not followed by two hex digits"))?;
    let path = String::from_utf8(bytes).map_err(|_| bad("it is not UTF-8 once decoded"))?;
    match PathPolicy::server().reason(&path) {
        Some(reason) => Err(bad(reason)),
        None => Ok(path),
    }
}

/// Decodes `%XX` escapes; `None` on a malformed escape.
fn percent_decode(raw: &str) -> Option<Vec<u8>> {
    let b = raw.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

/// The precondition of a write from its `If-Match` and `If-None-Match`
/// headers. Entity tags are versions, quoted (`"17"`) or bare (`17`); weak
/// tags (`W/"17"`) compare the same. Only `If-None-Match: *` is meaningful
/// for a write.
pub fn parse_condition(
    if_match: Option<&str>,
    if_none_match: Option<&str>,
) -> Result<Condition, ApiError> {
    let bad = |header: &str, value: &str| {
        ApiError::bad_request(
            "bad-request",
            format!(
                "{header}: {:?} is not a version list; send the ETag of a GET, or *",
                excerpt(value, 64)
            ),
        )
    };
    match (if_match.map(str::trim), if_none_match.map(str::trim)) {
        (Some(_), Some(_)) => Err(ApiError::bad_request(
            "bad-request",
            "send If-Match or If-None-Match, not both",
        )),
        (None, Some("*")) => Ok(Condition::IfAbsent),
        (None, Some(v)) => Err(bad("If-None-Match", v)),
        (Some("*"), None) => Ok(Condition::IfExists),
        (Some(v), None) => v
            .split(',')
            .map(|tag| {
                let tag = tag.trim();
                let tag = tag.strip_prefix("W/").unwrap_or(tag);
                let tag = tag
                    .strip_prefix('"')
                    .and_then(|t| t.strip_suffix('"'))
                    .unwrap_or(tag);
                tag.parse::<u64>().map_err(|_| bad("If-Match", v))
            })
            .collect::<Result<Vec<u64>, ApiError>>()
            .map(Condition::IfMatch),
        (None, None) => Ok(Condition::None),
    }
}

/// `since` and `epoch` from a listing's query string (other parameters,
/// like `token`, are ignored).
pub fn parse_list_query(query: Option<&str>) -> Result<ListQuery, ApiError> {
    let mut q = ListQuery::default();
    for pair in query.unwrap_or_default().split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "since" => {
                q.since = Some(v.parse().map_err(|_| {
                    ApiError::bad_request(
                        "bad-request",
                        format!(
                            "since={:?} is not a cursor; pass the cursor of an earlier listing",
                            excerpt(v, 32)
                        ),
                    )
                })?)
            }
            "epoch" => {
                let bytes = percent_decode(v).unwrap_or_default();
                q.epoch = Some(String::from_utf8_lossy(&bytes).into_owned());
            }
            _ => {}
        }
    }
    Ok(q)
}

/// A note body as text: UTF-8, else 400 `bad-text` (nothing is applied).
pub fn text_body(bytes: Vec<u8>) -> Result<String, ApiError> {
    String::from_utf8(bytes).map_err(|e| {
        ApiError::bad_request(
            "bad-text",
            format!(
                "notes are UTF-8 text; byte {} of the body is not: upload binary files as blobs",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}
