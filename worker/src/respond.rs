//! Building responses: JSON bodies, refusals and CORS headers, and the clock.

use worker::{Headers, Response};

use crate::api::{cors_origin, ApiError};

/// Wall-clock milliseconds since the Unix epoch. (Workers advance the clock
/// only across I/O, which is all the room needs.)
pub fn now_ms() -> u64 {
    js_sys::Date::now().max(0.0) as u64
}

/// Adds the CORS headers when the request came from an allowed origin.
pub fn with_cors(mut resp: Response, origin: Option<&str>) -> Response {
    if let Some(allowed) = cors_origin(origin) {
        let h = resp.headers_mut();
        let _ = h.set("Access-Control-Allow-Origin", allowed);
        let _ = h.set("Access-Control-Expose-Headers", "ETag");
        let _ = h.set("Vary", "Origin");
    }
    resp
}

/// The answer to a CORS preflight.
pub fn preflight(origin: Option<&str>) -> worker::Result<Response> {
    let headers = Headers::new();
    if let Some(allowed) = cors_origin(origin) {
        headers.set("Access-Control-Allow-Origin", allowed)?;
        headers.set(
            "Access-Control-Allow-Methods",
            "GET,PUT,POST,HEAD,DELETE,OPTIONS",
        )?;
        headers.set(
            "Access-Control-Allow-Headers",
            "authorization,content-type,if-match,if-none-match",
        )?;
        headers.set("Vary", "Origin")?;
    }
    Ok(Response::empty()?.with_status(200).with_headers(headers))
}

/// A JSON response with `status`.
pub fn json(
    value: &serde_json::Value,
    status: u16,
    origin: Option<&str>,
) -> worker::Result<Response> {
    Ok(with_cors(
        Response::from_json(value)?.with_status(status),
        origin,
    ))
}

/// A refusal as JSON `{"error", "message"}`.
pub fn error_response(e: &ApiError, origin: Option<&str>) -> worker::Result<Response> {
    let headers = Headers::new();
    headers.set("Content-Type", "application/json")?;
    if let Some(secs) = e.retry_after_secs {
        headers.set("Retry-After", &secs.to_string())?;
    }
    let resp = Response::ok(e.body())?
        .with_status(e.status)
        .with_headers(headers);
    Ok(with_cors(resp, origin))
}
