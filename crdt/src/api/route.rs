//! Which endpoint a request is for: the routes of both shells (docs/http-api.md),
//! matched on method and path only.

/// An endpoint of the HTTP and WebSocket API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /healthz`.
    Healthz,
    /// `GET /readyz`.
    Readyz,
    /// `GET /metrics`.
    Metrics,
    /// `POST /v1/vaults/{vault}` (admin): creates the vault.
    CreateVault,
    /// `DELETE /v1/vaults/{vault}` (admin, repeating the id in `confirm`):
    /// marks the vault deleted; it is removed after the grace period.
    DeleteVault,
    /// `GET /v1/vaults/{vault}/ws`: the vault WebSocket.
    VaultSocket,
    /// `GET /v1/vaults/{vault}/docs/{doc}`: the y-websocket doc endpoint.
    DocSocket(String),
    /// `PUT /v1/vaults/{vault}/blobs/{hash}`.
    PutBlob(String),
    /// `GET|HEAD /v1/vaults/{vault}/blobs/{hash}`.
    GetBlob {
        /// The hash segment, unchecked.
        hash: String,
        /// HEAD: headers only.
        head: bool,
    },
    /// `POST /v1/vaults/{vault}/tokens`.
    Mint,
    /// `GET /v1/vaults/{vault}/tokens` (admin): the vault's token registry.
    ListTokens,
    /// `POST /v1/vaults/{vault}/revoke`.
    Revoke,
    /// `GET /v1/vaults/{vault}/history`.
    History,
    /// `POST /v1/vaults/{vault}/restore`.
    Restore,
    /// `GET /v1/vaults/{vault}/files`: the file listing.
    ListFiles,
    /// `/v1/vaults/{vault}/files/{path…}`.
    File {
        /// Everything after `files/`, still percent-encoded
        /// ([`crate::files::decode_path`] decodes and checks it).
        path: String,
        /// What to do with it.
        method: FileMethod,
    },
    /// A known path with a method it does not take.
    MethodNotAllowed,
    /// Anything else.
    NotFound,
}

/// What a request does to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileMethod {
    /// `GET`: the note's text or the blob's bytes.
    Get,
    /// `PUT`: the note's new text.
    Put,
    /// `POST` (`?append`): a line added at the end of the note.
    Append,
    /// `DELETE`: tombstones the entry.
    Delete,
}

/// A matched request: the route and, for vault routes, the raw vault segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    /// The endpoint.
    pub route: Route,
    /// The `{vault}` path segment, not yet validated.
    pub vault: Option<String>,
}

impl Route {
    /// True for the two WebSocket endpoints.
    pub fn is_socket(&self) -> bool {
        matches!(self, Route::VaultSocket | Route::DocSocket(_))
    }
}

/// Matches `method` (upper case, as sent) and `path` (without query).
pub fn route(method: &str, path: &str) -> Matched {
    let plain = |route| Matched { route, vault: None };
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let get = method == "GET";
    let post = method == "POST";
    let only = |ok: bool, route: Route| if ok { route } else { Route::MethodNotAllowed };
    match segments.as_slice() {
        ["healthz"] => plain(only(get || method == "HEAD", Route::Healthz)),
        ["readyz"] => plain(only(get || method == "HEAD", Route::Readyz)),
        ["metrics"] => plain(only(get || method == "HEAD", Route::Metrics)),
        ["v1", "vaults", vault, rest @ ..] if !vault.is_empty() => {
            let route = match rest {
                [] if method == "DELETE" => Route::DeleteVault,
                [] => only(post, Route::CreateVault),
                ["ws"] => only(get, Route::VaultSocket),
                ["docs", doc] => only(get, Route::DocSocket((*doc).to_owned())),
                ["blobs", hash] => match method {
                    "PUT" => Route::PutBlob((*hash).to_owned()),
                    "GET" | "HEAD" => Route::GetBlob {
                        hash: (*hash).to_owned(),
                        head: method == "HEAD",
                    },
                    _ => Route::MethodNotAllowed,
                },
                ["tokens"] if get => Route::ListTokens,
                ["tokens"] => only(post, Route::Mint),
                ["revoke"] => only(post, Route::Revoke),
                ["history"] => only(get, Route::History),
                ["restore"] => only(post, Route::Restore),
                ["files"] => only(get, Route::ListFiles),
                ["files", path @ ..] => {
                    let method = match method {
                        "GET" => Some(FileMethod::Get),
                        "PUT" => Some(FileMethod::Put),
                        "POST" => Some(FileMethod::Append),
                        "DELETE" => Some(FileMethod::Delete),
                        _ => None,
                    };
                    match method {
                        Some(method) => Route::File {
                            path: path.join("/"),
                            method,
                        },
                        None => Route::MethodNotAllowed,
                    }
                }
                _ => Route::NotFound,
            };
            let vault = (route != Route::NotFound).then(|| (*vault).to_owned());
            Matched { route, vault }
        }
        _ => plain(Route::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_endpoints_are_matched_without_a_vault() {
        assert_eq!(route("GET", "/healthz").route, Route::Healthz);
        assert_eq!(route("GET", "/readyz").route, Route::Readyz);
        assert_eq!(route("GET", "/metrics").route, Route::Metrics);
        assert_eq!(route("GET", "/healthz").vault, None);
    }

    #[test]
    fn vault_routes_carry_the_raw_vault_segment() {
        let m = route("GET", "/v1/vaults/notes/ws");
        assert_eq!(m.route, Route::VaultSocket);
        assert_eq!(m.vault.as_deref(), Some("notes"));
        let m = route("GET", "/v1/vaults/Bad_Id/docs/index");
        assert_eq!(m.route, Route::DocSocket("index".into()));
        assert_eq!(m.vault.as_deref(), Some("Bad_Id"));
    }

    #[test]
    fn blobs_take_put_get_and_head() {
        assert_eq!(
            route("PUT", "/v1/vaults/v/blobs/ab").route,
            Route::PutBlob("ab".into())
        );
        assert_eq!(
            route("HEAD", "/v1/vaults/v/blobs/ab").route,
            Route::GetBlob {
                hash: "ab".into(),
                head: true
            }
        );
        assert_eq!(
            route("DELETE", "/v1/vaults/v/blobs/ab").route,
            Route::MethodNotAllowed
        );
    }

    #[test]
    fn admin_routes_need_their_method() {
        assert_eq!(route("POST", "/v1/vaults/v/tokens").route, Route::Mint);
        assert_eq!(route("GET", "/v1/vaults/v/tokens").route, Route::ListTokens);
        assert_eq!(
            route("PUT", "/v1/vaults/v/tokens").route,
            Route::MethodNotAllowed
        );
        assert_eq!(route("POST", "/v1/vaults/v/revoke").route, Route::Revoke);
        assert_eq!(route("GET", "/v1/vaults/v/history").route, Route::History);
        assert_eq!(route("POST", "/v1/vaults/v/restore").route, Route::Restore);
    }

    #[test]
    fn file_routes_keep_the_whole_raw_path_after_files() {
        assert_eq!(route("GET", "/v1/vaults/v/files").route, Route::ListFiles);
        assert_eq!(
            route("PUT", "/v1/vaults/v/files/Daily/2026%2012.md").route,
            Route::File {
                path: "Daily/2026%2012.md".into(),
                method: FileMethod::Put
            }
        );
        assert_eq!(
            route("POST", "/v1/vaults/v/files/log.md").route,
            Route::File {
                path: "log.md".into(),
                method: FileMethod::Append
            }
        );
        assert_eq!(
            route("PATCH", "/v1/vaults/v/files/a.md").route,
            Route::MethodNotAllowed
        );
        assert_eq!(
            route("PUT", "/v1/vaults/v/files").route,
            Route::MethodNotAllowed
        );
    }

    #[test]
    fn unknown_paths_are_not_found_and_name_no_vault() {
        for path in [
            "/",
            "/v1",
            "/v1/vaults/",
            "/v1/vaults/v/nope",
            "/v1/vaults/v/docs/a/b",
        ] {
            let m = route("GET", path);
            assert_eq!(m.route, Route::NotFound, "{path}");
            assert_eq!(m.vault, None, "{path}");
        }
    }
}
