//! Files over REST inside the vault's Durable Object: the worker side of
//! `tessera_crdt::files`, the relay's `server/files.rs` over the same core.
//! The path is decoded and checked before the body is read; the room does
//! the rest, and an edit is answered once its log entry is in SQLite.

use tessera_crdt::api::{ApiError, BodyLimit, FileMethod};
use tessera_crdt::files::{self, FileReply, FileRequest, FileStep};
use tessera_crdt::keys::{self, ContentHash, VaultId};
use worker::{Headers, Request, Response};

use crate::object::VaultObject;
use crate::respond::{now_ms, with_cors};

/// Loads one request may start (a PUT needs two; the rest are retries).
const MAX_LOADS: u32 = 4;

/// Polls (10 ms apart) for a load or a durable write another event drives.
const MAX_POLLS: u32 = 3000;

/// `GET …/files` (`path` is `None`) or one file's route.
pub(crate) async fn handle(
    obj: &VaultObject,
    req: &mut Request,
    vault: &VaultId,
    file: Option<(String, FileMethod)>,
) -> Result<Response, ApiError> {
    let origin = req.headers().get("Origin").ok().flatten();
    let request = match file {
        None => {
            let query = req.url().ok().and_then(|u| u.query().map(str::to_owned));
            FileRequest::List(files::parse_list_query(query.as_deref())?)
        }
        Some((raw, method)) => parse(req, &raw, method).await?,
    };
    let resp = match run(obj, &request).await? {
        Answer::Reply(reply) => reply_response(reply)?,
        Answer::Blob { hash, version } => blob_response(obj, vault, &hash, version).await?,
    };
    Ok(with_cors(resp, origin.as_deref()))
}

async fn parse(req: &mut Request, raw: &str, method: FileMethod) -> Result<FileRequest, ApiError> {
    let path = files::decode_path(raw)?;
    let header = |name| req.headers().get(name).ok().flatten();
    let condition = || {
        files::parse_condition(
            header("If-Match").as_deref(),
            header("If-None-Match").as_deref(),
        )
    };
    Ok(match method {
        FileMethod::Get => FileRequest::Get { path },
        FileMethod::Delete => FileRequest::Delete {
            path,
            condition: condition()?,
        },
        FileMethod::Put => {
            let condition = condition()?;
            let text = body_text(req).await?;
            FileRequest::Put {
                path,
                text,
                condition,
                wall_ms: now_ms(),
            }
        }
        FileMethod::Append => FileRequest::Append {
            path,
            text: body_text(req).await?,
            wall_ms: now_ms(),
        },
    })
}

async fn body_text(req: &mut Request) -> Result<String, ApiError> {
    let bytes = crate::http::read_limited(req, BodyLimit::Text(files::MAX_TEXT_BODY)).await?;
    files::text_body(bytes)
}

enum Answer {
    Reply(FileReply),
    Blob { hash: String, version: u64 },
}

/// Drives the room's steps: loads, then the edit's effects, then waits
/// until the log holds the edit.
async fn run(obj: &VaultObject, request: &FileRequest) -> Result<Answer, ApiError> {
    let closed = || ApiError::unavailable("the vault is not open; retry");
    let mut loads = 0;
    loop {
        let now = now_ms();
        let step = obj
            .with(|live| live.room.files(request, now))
            .ok_or_else(closed)??;
        match step {
            FileStep::Wait { doc, effects } => {
                if !effects.is_empty() {
                    loads += 1;
                    if loads > MAX_LOADS {
                        return Err(ApiError::unavailable(
                            "the note could not be loaded from storage; retry",
                        ));
                    }
                }
                obj.apply(effects).await;
                // Another event may be draining the queue (and loading the doc).
                poll(|| obj.with(|l| !l.room.is_loading(&doc)).unwrap_or(true)).await?;
            }
            FileStep::Blob { hash, version } => return Ok(Answer::Blob { hash, version }),
            FileStep::Done(mut reply) => {
                let effects = std::mem::take(&mut reply.effects);
                obj.apply(effects).await;
                if let Some(t) = reply.durable_at {
                    // Effects queued behind another event's drain are logged by it.
                    poll(|| obj.with(|l| l.room.cursor() >= t).unwrap_or(true)).await?;
                    if obj.with(|l| l.room.cursor() >= t) != Some(true) {
                        return Err(ApiError::unavailable("the edit could not be logged; retry"));
                    }
                }
                return Ok(Answer::Reply(reply));
            }
        }
    }
}

async fn poll(mut done: impl FnMut() -> bool) -> Result<(), ApiError> {
    for _ in 0..MAX_POLLS {
        if done() {
            return Ok(());
        }
        worker::Delay::from(std::time::Duration::from_millis(10)).await;
    }
    Err(ApiError::unavailable("the vault is busy; retry"))
}

fn internal(e: worker::Error) -> ApiError {
    ApiError::unavailable(e.to_string())
}

fn reply_response(reply: FileReply) -> Result<Response, ApiError> {
    let headers = Headers::new();
    headers
        .set("Content-Type", reply.content_type)
        .map_err(internal)?;
    if let Some(etag) = reply.etag() {
        headers.set("ETag", &etag).map_err(internal)?;
    }
    Ok(Response::from_bytes(reply.body)
        .map_err(internal)?
        .with_status(reply.status)
        .with_headers(headers))
}

async fn blob_response(
    obj: &VaultObject,
    vault: &VaultId,
    hash: &str,
    version: u64,
) -> Result<Response, ApiError> {
    let hash = ContentHash::new(hash)
        .map_err(|_| ApiError::not_found("the index names this file by a malformed hash"))?;
    let found = obj
        .store()?
        .get(&keys::blob_key(vault, &hash))
        .await
        .map_err(|e| ApiError::unavailable(format!("storage failed: {e}")))?;
    let Some((bytes, _)) = found else {
        return Err(ApiError::not_found(
            "the index names this attachment but its bytes are not uploaded yet",
        ));
    };
    let headers = Headers::new();
    headers
        .set("Content-Type", "application/octet-stream")
        .map_err(internal)?;
    headers
        .set("ETag", &files::etag(version))
        .map_err(internal)?;
    Ok(Response::from_bytes(bytes)
        .map_err(internal)?
        .with_headers(headers))
}
