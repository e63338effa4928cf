//! HTTP helpers: every request has a deadline, every answer is read whole.

use anyhow::{anyhow, bail, Context, Result};
use reqwest::{Client, Method, RequestBuilder};

use crate::client::WAIT;

/// A whole HTTP answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Response headers, names lowercase.
    pub headers: reqwest::header::HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    pub fn json(&self) -> Result<serde_json::Value> {
        serde_json::from_slice(&self.body)
            .with_context(|| format!("body is not JSON: {:?}", truncate(&self.text(), 300)))
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// Fails unless the status is `status`.
    pub fn expect_status(&self, status: u16) -> Result<&Self> {
        if self.status != status {
            bail!(
                "expected HTTP {status}, got {} with body {:?}",
                self.status,
                truncate(&self.text(), 300)
            );
        }
        Ok(self)
    }

    /// Fails unless the status is 2xx.
    pub fn expect_success(&self) -> Result<&Self> {
        if !(200..300).contains(&self.status) {
            bail!(
                "expected HTTP 2xx, got {} with body {:?}",
                self.status,
                truncate(&self.text(), 300)
            );
        }
        Ok(self)
    }

    /// Fails unless the status is `status` and the JSON body is
    /// `{"error": code, "message": <non-empty text>}`.
    pub fn expect_error(&self, status: u16, code: &str) -> Result<()> {
        let body: Option<serde_json::Value> = serde_json::from_slice(&self.body).ok();
        let got = body
            .as_ref()
            .and_then(|b| b.get("error"))
            .and_then(|e| e.as_str());
        if self.status != status || got != Some(code) {
            bail!(
                "expected HTTP {status} with error {code:?}, got HTTP {} with body {:?}",
                self.status,
                truncate(&self.text(), 300)
            );
        }
        let has_message = body
            .as_ref()
            .and_then(|b| b.get("message"))
            .and_then(|m| m.as_str())
            .is_some_and(|m| !m.is_empty());
        if !has_message {
            bail!(
                "HTTP {status} {code}: the JSON body lacks a human-readable \"message\": {:?}",
                self.text()
            );
        }
        Ok(())
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// The HTTP client every case uses.
pub fn client() -> Client {
    Client::builder()
        .timeout(WAIT * 4)
        .build()
        .expect("HTTP client builds")
}

/// Sends a request and reads the whole answer.
pub async fn send(request: RequestBuilder) -> Result<Answer> {
    let what = request
        .try_clone()
        .and_then(|r| r.build().ok())
        .map(|r| format!("{} {}", r.method(), crate::client::redact(r.url().as_str())))
        .unwrap_or_else(|| "request".into());
    let response = request
        .send()
        .await
        .map_err(|e| anyhow!("{what} failed: {e}"))?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .bytes()
        .await
        .map_err(|e| anyhow!("{what}: reading the body failed: {e}"))?
        .to_vec();
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// `GET url`.
pub async fn get(url: &str) -> Result<Answer> {
    send(client().get(url)).await
}

/// `method url` with an optional bearer token and body.
pub async fn request(
    method: Method,
    url: &str,
    bearer: Option<&str>,
    body: Option<Vec<u8>>,
) -> Result<Answer> {
    let mut r = client().request(method, url);
    if let Some(token) = bearer {
        r = r.bearer_auth(token);
    }
    if let Some(body) = body {
        r = r.body(body);
    }
    send(r).await
}

/// `method url` with a bearer token and a JSON body.
pub async fn json(
    method: Method,
    url: &str,
    bearer: &str,
    body: &serde_json::Value,
) -> Result<Answer> {
    send(client().request(method, url).bearer_auth(bearer).json(body)).await
}

/// Sends a request's head declaring a `Content-Length` of `len` over a plain
/// TCP connection, then streams `len` zero bytes while reading the answer.
/// A server that refuses from the head alone answers at once and stops
/// reading (the rest of the body is then never sent); one whose front reads
/// bodies first (wrangler dev's local proxy) answers after. `base` is
/// `http://host:port`.
pub async fn declared_body(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    len: u64,
) -> Result<Answer> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = base
        .strip_prefix("http://")
        .ok_or_else(|| anyhow!("declared_body speaks plain http, not {base}"))?
        .trim_end_matches('/')
        .to_owned();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len}\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let exchange = async {
        let stream = tokio::net::TcpStream::connect(&host).await?;
        let (mut rd, mut wr) = stream.into_split();
        wr.write_all(head.as_bytes()).await?;
        let writer = tokio::spawn(async move {
            let zeros = vec![0u8; 64 << 10];
            let mut left = len;
            while left > 0 {
                let n = usize::try_from(left.min(zeros.len() as u64)).unwrap_or(zeros.len());
                // The server may close once it has answered: stop quietly.
                if wr.write_all(&zeros[..n]).await.is_err() {
                    return;
                }
                left -= n as u64;
            }
            let _ = wr.flush().await;
            // Keep the write half open until the answer is read.
            std::future::pending::<()>().await;
        });
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let answer = loop {
            let n = rd.read(&mut chunk).await?;
            buf.extend_from_slice(&chunk[..n]);
            if let Some(answer) = parse_answer(&buf)? {
                break answer;
            }
            if n == 0 {
                bail!("the connection closed before a whole answer arrived");
            }
        };
        writer.abort();
        Ok::<Answer, anyhow::Error>(answer)
    };
    tokio::time::timeout(WAIT * 4, exchange)
        .await
        .map_err(|_| {
            anyhow!(
                "{method} {path}: no answer within {}s",
                (WAIT * 4).as_secs()
            )
        })?
}

/// A whole HTTP/1.1 answer with a Content-Length body, once `buf` holds it.
fn parse_answer(buf: &[u8]) -> Result<Option<Answer>> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = std::str::from_utf8(&buf[..end]).context("the answer's head is not text")?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .context("no status line")?;
    let mut headers = reqwest::header::HeaderMap::new();
    for line in lines {
        if let Some((k, v)) = line.split_once(':') {
            if let (Ok(k), Ok(v)) = (
                reqwest::header::HeaderName::from_bytes(k.trim().as_bytes()),
                reqwest::header::HeaderValue::from_str(v.trim()),
            ) {
                headers.append(k, v);
            }
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.to_str().ok()?.parse().ok())
        .unwrap_or(0);
    let body = &buf[end + 4..];
    if body.len() < len {
        return Ok(None);
    }
    Ok(Some(Answer {
        status,
        headers,
        body: body[..len].to_vec(),
    }))
}
