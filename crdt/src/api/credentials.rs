//! Where a request's access token comes from.
//!
//! Three carriers, in this order: `?token=` (stock y-websocket clients can
//! do nothing else), an `Authorization: Bearer` header (HTTP clients), and
//! the WebSocket subprotocol list. Browsers — and so the Obsidian plugin —
//! cannot set headers on a WebSocket, but they can offer subprotocols; a
//! token there travels in the upgrade request's headers, which proxies and
//! access logs do not record the way they record a URL. The plugin offers
//! [`SUBPROTOCOL`] and `tessera.token.<token>`; the server selects
//! [`SUBPROTOCOL`], as RFC 6455 §4.2.2 requires it to select one it offered.

/// The subprotocol a server selects when the client offered it.
pub const SUBPROTOCOL: &str = "tessera";

/// Prefix of the offered subprotocol that carries the token. Tokens are
/// `v1.<base64url>.<base64url>`: every character is an RFC 7230 `tchar`,
/// so a token is a valid subprotocol name as it is.
pub const TOKEN_PROTOCOL_PREFIX: &str = "tessera.token.";

/// The headers and query a request's token may be in.
#[derive(Debug, Clone, Copy, Default)]
pub struct Credentials<'a> {
    /// `?token=`, percent-decoded.
    pub query: Option<&'a str>,
    /// The `Authorization` header.
    pub authorization: Option<&'a str>,
    /// The `Sec-WebSocket-Protocol` header (comma-separated offers).
    pub protocols: Option<&'a str>,
}

impl Credentials<'_> {
    /// The token, from the first carrier that has a non-empty one.
    pub fn token(&self) -> Option<String> {
        if let Some(t) = self.query.filter(|t| !t.is_empty()) {
            return Some(t.to_owned());
        }
        if let Some(t) = self
            .authorization
            .and_then(|a| a.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            return Some(t.to_owned());
        }
        offers(self.protocols)
            .find_map(|p| p.strip_prefix(TOKEN_PROTOCOL_PREFIX))
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
    }
}

/// The subprotocol to answer an upgrade with: [`SUBPROTOCOL`] when the
/// client offered it, else none (stock clients offer nothing).
pub fn selected_protocol(protocols: Option<&str>) -> Option<&'static str> {
    offers(protocols)
        .any(|p| p == SUBPROTOCOL)
        .then_some(SUBPROTOCOL)
}

fn offers(protocols: Option<&str>) -> impl Iterator<Item = &str> {
    protocols
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds<'a>(
        query: Option<&'a str>,
        authorization: Option<&'a str>,
        protocols: Option<&'a str>,
    ) -> Credentials<'a> {
        Credentials {
            query,
            authorization,
            protocols,
        }
    }

    #[test]
    fn the_query_token_wins_over_the_bearer_header() {
        let token = |q, a| creds(q, a, None).token();
        assert_eq!(token(Some("a"), Some("Bearer b")).as_deref(), Some("a"));
        assert_eq!(token(Some(""), Some("Bearer b")).as_deref(), Some("b"));
        assert_eq!(token(None, Some("Basic x")), None);
        assert_eq!(token(None, Some("Bearer  ")), None);
    }

    #[test]
    fn a_token_offered_as_a_subprotocol_is_read_from_the_list() {
        let c = creds(None, None, Some("tessera, tessera.token.v1.abc.def"));
        assert_eq!(c.token().as_deref(), Some("v1.abc.def"));
        assert_eq!(selected_protocol(c.protocols), Some(SUBPROTOCOL));
    }

    #[test]
    fn an_empty_or_absent_token_subprotocol_is_no_token() {
        assert_eq!(creds(None, None, Some("tessera.token.")).token(), None);
        assert_eq!(creds(None, None, Some("tessera")).token(), None);
        assert_eq!(creds(None, None, Some(" , ,")).token(), None);
    }

    #[test]
    fn the_server_selects_its_subprotocol_only_when_offered() {
        assert_eq!(selected_protocol(None), None);
        assert_eq!(selected_protocol(Some("y-protocols")), None);
        assert_eq!(selected_protocol(Some("tesserax")), None);
        assert_eq!(selected_protocol(Some("y, tessera")), Some(SUBPROTOCOL));
    }
}
