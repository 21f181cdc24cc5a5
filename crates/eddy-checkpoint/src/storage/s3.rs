//! Folders in S3 and S3-compatible services, through `object_store`'s Amazon S3 client (the
//! `s3` cargo feature).

use std::sync::Arc;

use object_store::ObjectStore;

use super::options::S3Options;

/// A store for `bucket` as `options` (then the `AWS_*` environment variables) set it up;
/// `Err`: what is wrong, to be shown with the folder's name.
#[cfg(feature = "s3")]
pub(super) fn store(bucket: &str, options: &S3Options) -> Result<Arc<dyn ObjectStore>, String> {
    use object_store::aws::AmazonS3Builder;
    use object_store::{BackoffConfig, ClientOptions, RetryConfig};

    let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
    if let Some(endpoint) = &options.endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    if let Some(key) = &options.access_key {
        builder = builder.with_access_key_id(key);
    }
    if let Some(secret) = &options.secret_key {
        builder = builder.with_secret_access_key(secret);
    }
    if let Some(region) = &options.region {
        builder = builder.with_region(region);
    }
    // Path style: <endpoint>/<bucket>/<key>; virtual-hosted style: <bucket>.<host>/<key>,
    // which for an endpoint of one's own means naming the bucket in its host.
    builder = match (&options.endpoint, options.path_style_access) {
        (_, true) => builder.with_virtual_hosted_style_request(false),
        (None, false) => builder.with_virtual_hosted_style_request(true),
        (Some(endpoint), false) => {
            let (scheme, host) = endpoint.split_once("://").unwrap_or(("https", endpoint));
            builder
                .with_endpoint(format!("{scheme}://{bucket}.{host}"))
                .with_virtual_hosted_style_request(true)
        }
    };
    let retry = RetryConfig {
        backoff: BackoffConfig::default(),
        max_retries: options.retry_limit as usize,
        retry_timeout: options.request_timeout * (options.retry_limit + 1),
    };
    let client = ClientOptions::new()
        .with_timeout(options.request_timeout)
        .with_connect_timeout(
            options
                .request_timeout
                .min(std::time::Duration::from_secs(10)),
        )
        .with_allow_http(
            options
                .endpoint
                .as_ref()
                .is_some_and(|e| e.starts_with("http://")),
        );
    let store = builder
        .with_retry(retry)
        .with_client_options(client)
        .build()
        .map_err(|e| format!("cannot set up S3 access: {e} (see the s3.* options)"))?;
    Ok(Arc::new(store))
}

/// Without the `s3` feature: an error saying how to get it.
#[cfg(not(feature = "s3"))]
pub(super) fn store(_bucket: &str, _options: &S3Options) -> Result<Arc<dyn ObjectStore>, String> {
    Err(
        "this build has no S3 support; build eddy with the `s3` cargo feature \
         (cargo build --features s3)"
            .into(),
    )
}
