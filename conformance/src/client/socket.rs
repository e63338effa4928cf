//! Opening WebSockets to the server, and reading the HTTP refusal of an
//! upgrade in full.

#[allow(unused_imports)]
use super::*;

/// A refusal of the WebSocket upgrade: the HTTP status and the JSON body.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// HTTP status code.
    pub status: u16,
    /// The body, parsed as JSON when possible.
    pub body: Option<serde_json::Value>,
    /// The raw body text, for messages.
    pub text: String,
}

impl Refusal {
    /// The `error` field of the JSON body, if any.
    pub fn code(&self) -> Option<&str> {
        self.body.as_ref()?.get("error")?.as_str()
    }

    /// Checks the status and the JSON error code together.
    pub fn expect(&self, status: u16, code: &str) -> Result<()> {
        if self.status != status || self.code() != Some(code) {
            bail!(
                "expected HTTP {status} with error {code:?}, got HTTP {} with body {:?}",
                self.status,
                self.text
            );
        }
        if self
            .body
            .as_ref()
            .and_then(|b| b.get("message"))
            .and_then(|m| m.as_str())
            .is_none_or(str::is_empty)
        {
            bail!(
                "HTTP {status} {code}: the JSON body lacks a human-readable \"message\": {:?}",
                self.text
            );
        }
        Ok(())
    }
}

/// The outcome of a WebSocket connect attempt.
pub enum Connect {
    /// The upgrade succeeded.
    Open(Box<Socket>),
    /// The server answered the upgrade request with an HTTP error.
    Refused(Refusal),
}

/// Opens a WebSocket to `url`, optionally with extra headers. An HTTP refusal
/// of the upgrade is returned, not an error; transport failures are errors.
pub async fn ws_connect(url: &str, headers: &[(&str, &str)]) -> Result<Connect> {
    let mut request = url
        .into_client_request()
        .with_context(|| format!("bad WebSocket URL {url}"))?;
    for (name, value) in headers {
        request.headers_mut().insert(
            tungstenite::http::HeaderName::from_bytes(name.as_bytes())?,
            tungstenite::http::HeaderValue::from_str(value)?,
        );
    }
    let attempt = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
        .await
        .map_err(|_| anyhow!("WebSocket connect to {} timed out", redact(url)))?;
    match attempt {
        Ok((socket, _)) => Ok(Connect::Open(Box::new(socket))),
        Err(tungstenite::Error::Http(response)) => {
            let mut text = response
                .body()
                .as_deref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            // tungstenite keeps only body bytes that arrived with the headers;
            // a server may send the rest in a later write. Ask again over plain
            // HTTP, with the same upgrade request, to read the whole body.
            if serde_json::from_str::<serde_json::Value>(&text).is_err() {
                if let Some(full) = refusal_body(url, headers).await {
                    text = full;
                }
            }
            Ok(Connect::Refused(Refusal {
                status: response.status().as_u16(),
                body: serde_json::from_str(&text).ok(),
                text,
            }))
        }
        Err(e) => Err(anyhow!("WebSocket connect to {} failed: {e}", redact(url))),
    }
}

/// The body of an upgrade refusal, read completely over HTTP.
async fn refusal_body(url: &str, headers: &[(&str, &str)]) -> Option<String> {
    let http_url = url
        .replacen("ws://", "http://", 1)
        .replacen("wss://", "https://", 1);
    let mut request = crate::http::client()
        .get(http_url)
        .header("Connection", "Upgrade")
        .header("Upgrade", "websocket")
        .header("Sec-WebSocket-Version", "13")
        .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = tokio::time::timeout(WAIT, request.send())
        .await
        .ok()?
        .ok()?;
    tokio::time::timeout(WAIT, response.text()).await.ok()?.ok()
}

/// Connects and insists on the upgrade succeeding.
pub async fn ws_open(url: &str) -> Result<Socket> {
    match ws_connect(url, &[]).await? {
        Connect::Open(s) => Ok(*s),
        Connect::Refused(r) => bail!(
            "WebSocket upgrade to {} refused: HTTP {} {}",
            redact(url),
            r.status,
            r.text
        ),
    }
}

/// Connects and insists on the upgrade being refused.
pub async fn ws_refused(url: &str, headers: &[(&str, &str)]) -> Result<Refusal> {
    match ws_connect(url, headers).await? {
        Connect::Refused(r) => Ok(r),
        Connect::Open(_) => bail!(
            "WebSocket upgrade to {} was accepted; expected a refusal before the upgrade",
            redact(url)
        ),
    }
}

/// The URL without its token, for messages.
pub fn redact(url: &str) -> String {
    match url.split_once("token=") {
        Some((head, _)) => format!("{head}token=…"),
        None => url.to_owned(),
    }
}

/// What arrived from a socket.
pub(crate) enum Incoming {
    Frame(Vec<u8>),
    Closed(u16, String),
}

/// `ws(s)://…/v1/vaults/{vault}/ws?token=…`
pub fn vault_ws_url(base: &str, vault: &str, token: &str) -> String {
    format!("{}/v1/vaults/{vault}/ws?token={token}", ws_base(base))
}

/// `ws(s)://…/v1/vaults/{vault}/docs/{doc}?token=…`
pub fn doc_ws_url(base: &str, vault: &str, doc: &str, token: &str) -> String {
    format!(
        "{}/v1/vaults/{vault}/docs/{doc}?token={token}",
        ws_base(base)
    )
}

/// The base URL with `http` replaced by `ws` (and `https` by `wss`).
pub fn ws_base(base: &str) -> String {
    let base = base.trim_end_matches('/');
    if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        base.to_owned()
    }
}
