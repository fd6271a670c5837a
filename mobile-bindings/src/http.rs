//! The shared HTTP plumbing: base URL joining, sending, and turning problem
//! documents into `ClientError::Api`.

use reqwest::{Method, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use url::Url;

use crate::{ClientError, Result};

#[derive(Debug, Clone)]
pub(crate) struct Http {
    client: reqwest::Client,
    base: Url,
}

impl Http {
    pub fn new(base_url: &str) -> Result<Self> {
        let mut base = Url::parse(base_url).map_err(|e| ClientError::BaseUrl(e.to_string()))?;
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let client = reqwest::Client::builder()
            .user_agent(concat!("deskbind-mobile/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(std::time::Duration::from_secs(10))
            .timeout(std::time::Duration::from_secs(60))
            // The server closes a connection idle for 5 s (actix's
            // keep-alive). Reusing one it is closing fails the request
            // ("connection closed before message completed"), so the
            // client lets go of idle connections first.
            .pool_idle_timeout(std::time::Duration::from_secs(4))
            .build()
            .map_err(network)?;
        Ok(Self { client, base })
    }

    /// The client itself, for requests to other hosts (presigned URLs).
    pub fn raw(&self) -> &reqwest::Client {
        &self.client
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    pub fn request(&self, method: Method, path: &str) -> Result<RequestBuilder> {
        let url = self
            .base
            .join(path.trim_start_matches('/'))
            .map_err(|e| ClientError::BaseUrl(e.to_string()))?;
        Ok(self.client.request(method, url))
    }

    pub async fn send(&self, request: RequestBuilder) -> Result<Response> {
        let response = request.send().await.map_err(network)?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(network)?;
        if status == 408 {
            // The server gave up reading the request (actix sends 408 with
            // no body): a transport failure, like a reset, not a refusal.
            return Err(ClientError::Network(
                "the server timed out reading the request (HTTP 408)".into(),
            ));
        }
        if body.is_empty() && status == 404 {
            // A HEAD answer has no body: its 404 is the not-found problem.
            return Err(ClientError::Api {
                problem: Box::new(deskbind_core::wire::Problem {
                    kind: deskbind_core::wire::problem_type_uri("not_found"),
                    title: "Not found".into(),
                    status,
                    code: "not_found".into(),
                    detail: None,
                    field: None,
                    retry_after: None,
                    blocked_by: None,
                    contact_id: None,
                    rule: None,
                    retry_at: None,
                }),
            });
        }
        match serde_json::from_slice::<deskbind_core::wire::Problem>(&body) {
            Ok(problem) => Err(ClientError::Api {
                problem: Box::new(problem),
            }),
            Err(_) => Err(ClientError::Decode(format!(
                "HTTP {status} without a problem document"
            ))),
        }
    }
}

/// A transport failure with its causes: reqwest's own text ("error sending
/// request for url ...") says nothing of why (refused, reset, closed early,
/// timed out); the app and its logs need the why.
pub(crate) fn network(error: reqwest::Error) -> ClientError {
    let mut message = error.to_string();
    let mut cause = std::error::Error::source(&error);
    while let Some(inner) = cause {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        cause = inner.source();
    }
    ClientError::Network(message)
}

pub(crate) async fn json<T: DeserializeOwned>(response: Response) -> Result<T> {
    let body = response.bytes().await.map_err(network)?;
    serde_json::from_slice(&body).map_err(|e| ClientError::Decode(e.to_string()))
}
