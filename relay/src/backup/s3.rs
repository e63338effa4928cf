//! [`S3Target`]: a backup in an S3-compatible bucket (AWS, R2, SeaweedFS…),
//! one object per vault file, keyed `{prefix}{vault path}`.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{Region, RequestChecksumCalculation, ResponseChecksumValidation};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;

use super::target::{Target, TargetError};

/// Per operation, retries included: attachments can be large.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(120);
/// Custom endpoints ignore the region but need one to sign.
const FALLBACK_REGION: &str = "us-east-1";

/// How to reach the bucket. Credentials come from the standard AWS chain.
#[derive(Debug, Clone, Default)]
pub struct S3TargetConfig {
    /// The bucket; it must exist.
    pub bucket: String,
    /// Key prefix: empty or ending in `/`.
    pub prefix: String,
    /// Endpoint URL of an S3-compatible service; addressed path-style.
    pub endpoint: Option<String>,
    /// Region; else the AWS chain's, else `us-east-1` with an endpoint.
    pub region: Option<String>,
}

/// A backup destination in a bucket.
pub struct S3Target {
    client: Client,
    bucket: String,
    prefix: String,
}

impl S3Target {
    /// Builds the client (makes no request).
    pub async fn connect(config: S3TargetConfig) -> Result<S3Target, TargetError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        // A custom endpoint ignores the region: without one given, do not let
        // the AWS chain look for it (off AWS, its instance-metadata probe
        // costs seconds of retries and a screen of warnings).
        let region = match (&config.region, &config.endpoint) {
            (Some(r), _) => Some(r.clone()),
            (None, Some(_)) if std::env::var_os("AWS_REGION").is_none() => {
                Some(FALLBACK_REGION.to_owned())
            }
            _ => None,
        };
        if let Some(region) = &region {
            loader = loader.region(Region::new(region.clone()));
        }
        let sdk = loader.load().await;
        let region = match (region, sdk.region(), &config.endpoint) {
            (Some(r), _, _) => Region::new(r),
            (None, Some(r), _) => r.clone(),
            (None, None, Some(_)) => Region::new(FALLBACK_REGION),
            (None, None, None) => {
                return Err(TargetError::Config(
                    "no AWS region for the backup bucket: set --backup-region or AWS_REGION".into(),
                ))
            }
        };
        let mut builder = aws_sdk_s3::config::Builder::from(&sdk)
            .region(region)
            .force_path_style(config.endpoint.is_some())
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_timeout(OPERATION_TIMEOUT)
                    .build(),
            )
            .retry_config(RetryConfig::standard().with_max_attempts(3))
            // As in the store: not every S3-compatible service understands
            // the SDK's default aws-chunked checksum trailers.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        if let Some(endpoint) = &config.endpoint {
            builder = builder.endpoint_url(endpoint.clone());
        }
        Ok(S3Target {
            client: Client::from_conf(builder.build()),
            bucket: config.bucket,
            prefix: config.prefix,
        })
    }

    fn key(&self, path: &str) -> String {
        format!("{}{path}", self.prefix)
    }

    fn fail<E>(&self, op: &'static str, key: String, err: SdkError<E>) -> TargetError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let message = match err.code() {
            Some(code) => format!("{code}: {}", err.message().unwrap_or("(no message)")),
            None => DisplayErrorContext(&err).to_string(),
        };
        TargetError::S3 { op, key, message }
    }

    async fn delete(&self, key: String) -> Result<(), TargetError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
            .map_err(|e| self.fail("delete", key, e))?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl Target for S3Target {
    async fn read(&self, path: &str) -> Result<Option<Vec<u8>>, TargetError> {
        let key = self.key(path);
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
        {
            Ok(out) => {
                let body = out.body.collect().await.map_err(|e| TargetError::S3 {
                    op: "get",
                    key: key.clone(),
                    message: e.to_string(),
                })?;
                Ok(Some(body.into_bytes().to_vec()))
            }
            Err(e) if e.code() == Some("NoSuchKey") => Ok(None),
            Err(e) => Err(self.fail("get", key, e)),
        }
    }

    async fn write(&self, path: &str, bytes: &[u8]) -> Result<(), TargetError> {
        let key = self.key(path);
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .body(ByteStream::from(bytes.to_vec()))
            .send()
            .await
            .map_err(|e| self.fail("put", key, e))?;
        Ok(())
    }

    async fn rename(&self, from: &str, to: &str) -> Result<(), TargetError> {
        // Get, put, delete rather than CopyObject: deletions are rare, and
        // this needs no percent-encoding of vault paths in a copy source.
        let Some(bytes) = self.read(from).await? else {
            return Ok(());
        };
        self.write(to, &bytes).await?;
        self.delete(self.key(from)).await
    }

    fn describe(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }
}
