//! [`S3Store`]: objects in an S3-compatible bucket (AWS S3, R2, SeaweedFS...).
//!
//! Conditional writes map to `If-None-Match: *` and `If-Match: <etag>`; the
//! service must support them (AWS S3, R2, SeaweedFS and s3s do; Garage does
//! not, and would silently turn every head swap into a blind overwrite).

use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{Region, RequestChecksumCalculation, ResponseChecksumValidation};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use bytes::Bytes;
use tessera_crdt::keys::StorageKey;

use super::{
    validate_key, validate_prefix, ETag, Object, PutCondition, PutOutcome, Store, StoreError,
};

/// Per operation, retries included. Generous for multi-megabyte blobs; the
/// relay retries with its own backoff after this.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// One try plus one retry: the relay does its own backoff, and stacking the
/// SDK's default of 3 attempts on top only delays reporting an outage.
const MAX_ATTEMPTS: u32 = 2;
/// For custom endpoints (SeaweedFS, MinIO...) that ignore the region but need
/// one to sign requests.
const FALLBACK_REGION: &str = "us-east-1";

/// Where the S3 store keeps its objects. Credentials are not here: they come
/// from the standard AWS chain (environment, profile, web identity, IAM role).
#[derive(Debug, Clone, Default)]
pub struct S3Config {
    /// The bucket; it must exist.
    pub bucket: String,
    /// Optional key prefix, e.g. `tessera` puts keys at `tessera/vaults/...`;
    /// lets the relay share a bucket.
    pub prefix: Option<String>,
    /// Endpoint URL for S3-compatible services, e.g. `http://127.0.0.1:8333`
    /// or `https://<account>.r2.cloudflarestorage.com`. None means AWS.
    pub endpoint: Option<String>,
    /// Region; None means the AWS chain's (`AWS_REGION`, profile), else
    /// `us-east-1` for a custom endpoint.
    pub region: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`), which most self-hosted
    /// services need.
    pub path_style: bool,
}

/// The S3 store. Cheap to clone.
#[derive(Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
    /// Normalised: empty or `segment/.../` ending in `/`.
    prefix: String,
    description: String,
}

impl S3Store {
    /// Connects with credentials and (unless configured) region from the
    /// standard AWS chain. Makes no request: use [`Store::ping`] to check.
    pub async fn connect(config: S3Config) -> Result<S3Store, StoreError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = &config.region {
            loader = loader.region(Region::new(region.clone()));
        }
        let sdk = loader.load().await;
        S3Store::from_sdk_config(config, &sdk)
    }

    /// Builds the store on an already loaded AWS config (tests use this to
    /// pass static credentials without touching the process environment).
    pub fn from_sdk_config(config: S3Config, sdk: &SdkConfig) -> Result<S3Store, StoreError> {
        if config.bucket.is_empty() {
            return Err(StoreError::Rejected("no S3 bucket configured".into()));
        }
        let prefix = normalise_prefix(config.prefix.as_deref())?;
        let region = match (&config.region, sdk.region(), &config.endpoint) {
            (Some(region), _, _) => Region::new(region.clone()),
            (None, Some(region), _) => region.clone(),
            (None, None, Some(_)) => Region::new(FALLBACK_REGION),
            (None, None, None) => {
                return Err(StoreError::Rejected(
                    "no AWS region: set the S3 region option or AWS_REGION".into(),
                ))
            }
        };
        let mut builder = aws_sdk_s3::config::Builder::from(sdk)
            .region(region)
            .force_path_style(config.path_style)
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .operation_timeout(OPERATION_TIMEOUT)
                    .build(),
            )
            .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
            // The SDK's default (CRC checksums as aws-chunked trailers on
            // every put) is not understood by every S3-compatible service;
            // objects are content-addressed and checked by the caller anyway.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        if let Some(endpoint) = &config.endpoint {
            builder = builder.endpoint_url(endpoint.clone());
        }
        let description = format!(
            "s3://{}/{} @ {}",
            config.bucket,
            prefix,
            config
                .endpoint
                .as_deref()
                .map_or("AWS".into(), redact_userinfo)
        );
        Ok(S3Store {
            client: Client::from_conf(builder.build()),
            bucket: config.bucket,
            prefix,
            description,
        })
    }

    fn full_key(&self, key: &str) -> String {
        format!("{}{}", self.prefix, key)
    }
}

/// `None`, `""` and `/` mean no prefix; otherwise `a/b` becomes `a/b/`.
fn normalise_prefix(prefix: Option<&str>) -> Result<String, StoreError> {
    let trimmed = prefix.unwrap_or("").trim_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    if trimmed
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(StoreError::Rejected(format!(
            "invalid S3 key prefix {trimmed:?}: use segments like tessera or apps/tessera"
        )));
    }
    Ok(format!("{trimmed}/"))
}

/// Drops `user:password@` from an endpoint URL so it can be logged.
fn redact_userinfo(endpoint: &str) -> String {
    let Some((scheme, rest)) = endpoint.split_once("://") else {
        return endpoint.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => endpoint.to_owned(),
    }
}

/// An SDK error, reduced to what decides how to handle it.
struct Failure {
    kind: FailureKind,
    detail: String,
}

enum FailureKind {
    /// The service answered with an error status.
    Service { status: u16, code: Option<String> },
    /// No usable answer: connection refused, timeout, broken response.
    Transport,
    /// The request could not be built or signed (e.g. no credentials).
    Construction,
}

impl Failure {
    fn of<E>(what: &str, err: SdkError<E, HttpResponse>) -> Failure
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        match &err {
            SdkError::ServiceError(service) => {
                let status = service.raw().status().as_u16();
                let code = err.code().map(str::to_owned);
                let detail = format!(
                    "{what}: HTTP {status} {}: {}",
                    code.as_deref().unwrap_or("(no error code)"),
                    err.message().unwrap_or("(no message)")
                );
                Failure {
                    kind: FailureKind::Service { status, code },
                    detail,
                }
            }
            SdkError::ConstructionFailure(_) => Failure {
                kind: FailureKind::Construction,
                detail: format!("{what}: {}", DisplayErrorContext(&err)),
            },
            _ => Failure {
                kind: FailureKind::Transport,
                detail: format!("{what}: {}", DisplayErrorContext(&err)),
            },
        }
    }

    fn is(&self, want: u16) -> bool {
        matches!(self.kind, FailureKind::Service { status, .. } if status == want)
    }

    fn code(&self) -> Option<&str> {
        match &self.kind {
            FailureKind::Service { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// A 404 about the object, not the bucket.
    fn is_missing_object(&self) -> bool {
        self.is(404) && self.code() != Some("NoSuchBucket")
    }

    fn into_error(self) -> StoreError {
        match self.kind {
            FailureKind::Transport => StoreError::Unavailable(self.detail),
            FailureKind::Service { status, .. }
                if status == 408 || status == 429 || status >= 500 =>
            {
                StoreError::Unavailable(self.detail)
            }
            FailureKind::Service { .. } | FailureKind::Construction => {
                StoreError::Rejected(self.detail)
            }
        }
    }
}

#[async_trait::async_trait]
impl Store for S3Store {
    async fn get(&self, key: &str) -> Result<Option<Object>, StoreError> {
        validate_key(key)?;
        let result = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            Err(err) => {
                let failure = Failure::of(&format!("get {key}"), err);
                if failure.is_missing_object() {
                    return Ok(None);
                }
                return Err(failure.into_error());
            }
        };
        let etag = output.e_tag().map(|e| ETag(e.to_owned())).ok_or_else(|| {
            StoreError::Rejected(format!(
                "get {key}: the service sent no ETag, which conditional writes need"
            ))
        })?;
        let bytes = output
            .body
            .collect()
            .await
            .map_err(|e| StoreError::Unavailable(format!("get {key}: reading the body: {e}")))?
            .into_bytes();
        Ok(Some(Object { bytes, etag }))
    }

    async fn put(
        &self,
        key: &str,
        bytes: Bytes,
        cond: PutCondition,
    ) -> Result<PutOutcome, StoreError> {
        validate_key(key)?;
        let mut request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .content_type("application/octet-stream")
            .body(ByteStream::from(bytes));
        request = match &cond {
            PutCondition::Always => request,
            PutCondition::IfAbsent => request.if_none_match("*"),
            PutCondition::IfMatch(etag) => request.if_match(etag.0.clone()),
        };
        match request.send().await {
            Ok(output) => {
                let etag = output.e_tag().ok_or_else(|| {
                    StoreError::Rejected(format!(
                        "put {key}: the service sent no ETag, which conditional writes need"
                    ))
                })?;
                Ok(PutOutcome::Written(ETag(etag.to_owned())))
            }
            Err(err) => {
                let failure = Failure::of(&format!("put {key}"), err);
                let lost_race = failure.is(412)
                    // S3's answer when another conditional write to the key
                    // is in flight.
                    || (failure.is(409) && failure.code() == Some("ConditionalRequestConflict"))
                    // S3 answers If-Match on a missing key with 404.
                    || (matches!(cond, PutCondition::IfMatch(_)) && failure.is_missing_object());
                if lost_race {
                    tracing::debug!(key, "conditional put lost: {}", failure.detail);
                    Ok(PutOutcome::PreconditionFailed)
                } else {
                    Err(failure.into_error())
                }
            }
        }
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        validate_key(key)?;
        let result = self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(self.full_key(key))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) => {
                let failure = Failure::of(&format!("delete {key}"), err);
                if failure.is_missing_object() {
                    Ok(())
                } else {
                    Err(failure.into_error())
                }
            }
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let sized = self.list_sizes(prefix).await?;
        Ok(sized.into_iter().map(|(key, _)| key).collect())
    }

    async fn list_sizes(&self, prefix: &str) -> Result<Vec<(String, u64)>, StoreError> {
        validate_prefix(prefix)?;
        // The paginator follows continuation tokens: S3 returns at most
        // 1000 keys per page.
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(self.full_key(prefix))
            .into_paginator()
            .send();
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|err| Failure::of(&format!("list {prefix}"), err).into_error())?;
            for object in page.contents() {
                let Some(key) = object.key().and_then(|k| k.strip_prefix(&self.prefix)) else {
                    continue;
                };
                if StorageKey::parse(key).is_some() {
                    let size = object.size().and_then(|n| u64::try_from(n).ok());
                    keys.push((key.to_owned(), size.unwrap_or(0)));
                } else {
                    tracing::debug!(key, "skipping an object outside the key layout");
                }
            }
        }
        keys.sort();
        Ok(keys)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map_err(|err| Failure::of(&format!("bucket {}", self.bucket), err).into_error())?;
        Ok(())
    }

    fn describe(&self) -> String {
        self.description.clone()
    }
}

#[cfg(test)]
#[path = "tests/s3.rs"]
mod tests;
