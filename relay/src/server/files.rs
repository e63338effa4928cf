//! Files over REST: the HTTP side of `tessera_crdt::files`. The door has
//! checked the token and the declared body length; here the path is decoded
//! and checked against the path policy before the body is read, and the
//! vault's actor does the rest.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use tessera_crdt::api::{FileMethod, Route};
use tessera_crdt::files::{self, FileReply, FileRequest};
use tessera_crdt::keys::{self, ContentHash};

use super::auth::{read_limited, ApiError, Authed};
use super::AppState;
use crate::vault::{wall_ms, FileAnswer};

/// `GET /v1/vaults/{vault}/files[?since=&epoch=]` (read).
pub async fn list(
    State(state): State<AppState>,
    authed: Authed,
    uri: Uri,
) -> Result<Response, ApiError> {
    let query = files::parse_list_query(uri.query())?;
    answer(&state, &authed, FileRequest::List(query)).await
}

/// `GET|PUT|POST|DELETE /v1/vaults/{vault}/files/{path…}`.
pub async fn file(
    State(state): State<AppState>,
    authed: Authed,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let Route::File { path, method } = &authed.route else {
        return Err(ApiError::not_found(
            "no such endpoint; see docs/http-api.md",
        ));
    };
    tessera_crdt::api::check_file_write(&authed.claims, path, *method)?;
    let path = files::decode_path(path)?;
    let h = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let req = match method {
        FileMethod::Get => FileRequest::Get { path },
        FileMethod::Delete => FileRequest::Delete {
            path,
            condition: files::parse_condition(h(header::IF_MATCH), h(header::IF_NONE_MATCH))?,
        },
        FileMethod::Put => {
            let condition = files::parse_condition(h(header::IF_MATCH), h(header::IF_NONE_MATCH))?;
            let text = files::text_body(read_limited(body, authed.body).await?.to_vec())?;
            FileRequest::Put {
                path,
                text,
                condition,
                wall_ms: wall_ms(),
            }
        }
        FileMethod::Append => FileRequest::Append {
            path,
            text: files::text_body(read_limited(body, authed.body).await?.to_vec())?,
            wall_ms: wall_ms(),
        },
    };
    answer(&state, &authed, req).await
}

async fn answer(state: &AppState, authed: &Authed, req: FileRequest) -> Result<Response, ApiError> {
    match authed.vault.files(req).await? {
        FileAnswer::Reply(reply) => Ok(reply_response(reply)),
        FileAnswer::Blob { hash, version } => {
            let hash = ContentHash::new(&hash).map_err(|_| {
                ApiError::not_found("the index names this file by a malformed hash")
            })?;
            match state
                .store
                .get(&keys::blob_key(&authed.vault.id, &hash))
                .await
            {
                Ok(Some(obj)) => Ok((
                    [
                        (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
                        (header::ETAG, files::etag(version)),
                    ],
                    obj.bytes,
                )
                    .into_response()),
                Ok(None) => Err(ApiError::not_found(
                    "the index names this attachment but its bytes are not uploaded yet",
                )),
                Err(e) => Err(ApiError::unavailable(format!("storage failed: {e}"))),
            }
        }
    }
}

fn reply_response(reply: FileReply) -> Response {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    let mut resp = (status, reply.body.clone()).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(reply.content_type),
    );
    if let Some(etag) = reply.etag().and_then(|e| HeaderValue::from_str(&e).ok()) {
        h.insert(header::ETAG, etag);
    }
    resp
}
