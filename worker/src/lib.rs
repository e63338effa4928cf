//! Placeholder: the Cloudflare Worker shell arrives with its own issue.
