//! The HTTP client of the client commands: one place that knows the API's conventions
//! (bearer token, `If-Match`, problem documents) and maps answers to DESIGN.md's exit codes.

use std::fmt;
use std::io::{BufRead, BufReader};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::IF_MATCH;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::exit::usage;

/// A refusal by the server: a rule of the process, a permission, or a stale revision (exit 1).
#[derive(Debug)]
pub struct Refused {
    /// Every failing rule with what would satisfy it.
    pub message: String,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Refused {}

/// A connection to a Greenlight server.
pub struct Api {
    base: String,
    token: Option<String>,
    http: Client,
}

impl Api {
    /// A client for `server` (`http://127.0.0.1:8080`) with an optional token.
    pub fn new(server: &str, token: Option<String>) -> anyhow::Result<Api> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = Client::builder()
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("greenlight/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Api {
            base: format!("{}/api/v1", server.trim_end_matches('/')),
            token: token.filter(|t| !t.trim().is_empty()),
            http,
        })
    }

    fn authed(&self, request: RequestBuilder) -> anyhow::Result<RequestBuilder> {
        let token = self.token.as_deref().ok_or_else(|| {
            usage("no token: set GREENLIGHT_TOKEN or pass --token (`greenlight serve` prints the first one)")
        })?;
        Ok(request.bearer_auth(token))
    }

    /// GET a path (`/releases`) with query pairs.
    pub fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> anyhow::Result<T> {
        let request = self.authed(self.http.get(self.url(path)).query(query))?;
        self.send(request)
    }

    /// POST a JSON body, based on `revision` when given.
    pub fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        revision: Option<i64>,
    ) -> anyhow::Result<T> {
        let mut request = self.authed(self.http.post(self.url(path)).json(body))?;
        if let Some(revision) = revision {
            request = request.header(IF_MATCH, format!("\"{revision}\""));
        }
        self.send(request)
    }

    /// DELETEs the resource at `segments` under `/api/v1`, each segment percent-encoded (an
    /// email address may hold characters a path cannot).
    pub fn delete(&self, segments: &[&str]) -> anyhow::Result<()> {
        let mut url = reqwest::Url::parse(&self.base)
            .map_err(|e| anyhow::anyhow!("server URL {}: {e}", self.base))?;
        url.path_segments_mut()
            .map_err(|()| anyhow::anyhow!("server URL {} cannot have a path", self.base))?
            .extend(segments);
        let request = self.authed(self.http.delete(url))?;
        self.send::<Value>(request).map(drop)
    }

    /// PUTs a JSON body to the resource at `segments` under `/api/v1` (each percent-encoded).
    pub fn put_at<B: Serialize, T: DeserializeOwned>(
        &self,
        segments: &[&str],
        body: &B,
    ) -> anyhow::Result<T> {
        let request = self.authed(self.http.put(self.segments_url(segments)?).json(body))?;
        self.send(request)
    }

    /// DELETEs the resource at `segments` under `/api/v1` (each percent-encoded) and reads the
    /// answer.
    pub fn delete_at<T: DeserializeOwned>(&self, segments: &[&str]) -> anyhow::Result<T> {
        let request = self.authed(self.http.delete(self.segments_url(segments)?))?;
        self.send(request)
    }

    /// The URL of `segments` under `/api/v1`, each percent-encoded (a user ID typed on the
    /// command line may hold `/` or `?`).
    fn segments_url(&self, segments: &[&str]) -> anyhow::Result<reqwest::Url> {
        let mut url = reqwest::Url::parse(&self.base)
            .map_err(|e| anyhow::anyhow!("server URL {}: {e}", self.base))?;
        url.path_segments_mut()
            .map_err(|()| anyhow::anyhow!("server URL {} cannot have a path", self.base))?
            .extend(segments);
        Ok(url)
    }

    /// POSTs raw bytes (a file) with query pairs, based on `revision` when given.
    pub fn post_bytes<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        bytes: Vec<u8>,
        revision: Option<i64>,
    ) -> anyhow::Result<T> {
        let request = self
            .http
            .post(self.url(path))
            .query(query)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(bytes);
        let mut request = self.authed(request)?;
        if let Some(revision) = revision {
            request = request.header(IF_MATCH, format!("\"{revision}\""));
        }
        self.send(request)
    }

    /// Opens a Server-Sent Events stream (`/releases/1.4.0/stream`); the iterator yields its
    /// messages until the server closes it.
    pub fn stream(&self, path: &str, query: &[(&str, String)]) -> anyhow::Result<EventStream> {
        let request = self
            .http
            .get(self.url(path))
            .query(query)
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .timeout(Duration::from_secs(7 * 24 * 3600));
        let response = self.authed(request)?.send().map_err(|e| {
            anyhow::anyhow!("cannot reach the Greenlight server at {}: {e}", self.base)
        })?;
        let status = response.status();
        if !status.is_success() {
            return Err(problem_error(status, response));
        }
        Ok(EventStream {
            lines: BufReader::new(response).lines(),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// GET a path whose answer is text (CSV), with query pairs.
    pub fn get_text(&self, path: &str, query: &[(&str, String)]) -> anyhow::Result<String> {
        let request = self.authed(self.http.get(self.url(path)).query(query))?;
        self.send_text(request)
    }

    fn send<T: DeserializeOwned>(&self, request: RequestBuilder) -> anyhow::Result<T> {
        let body = self.send_text(request)?;
        let text = if body.is_empty() { "null" } else { &body };
        serde_json::from_str(text).map_err(|e| {
            anyhow::anyhow!("the server's answer is not what this client expects: {e}")
        })
    }

    fn send_text(&self, request: RequestBuilder) -> anyhow::Result<String> {
        let response = request.send().map_err(|e| {
            anyhow::anyhow!("cannot reach the Greenlight server at {}: {e}", self.base)
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(response.text()?);
        }
        Err(problem_error(status, response))
    }
}

/// One Server-Sent Events message.
#[derive(Debug, Default)]
pub struct StreamMessage {
    /// Its `event:` name (`message` when absent).
    pub event: String,
    /// Its `data:` lines joined, parsed as JSON (`null` when not JSON).
    pub data: Value,
}

/// The messages of a Server-Sent Events response (the WHATWG format: `event:`/`data:` fields,
/// `:` comments for keep-alive, a blank line ends a message).
pub struct EventStream {
    lines: std::io::Lines<BufReader<Response>>,
}

impl Iterator for EventStream {
    type Item = anyhow::Result<StreamMessage>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut event = String::new();
        let mut data = String::new();
        loop {
            let line = match self.lines.next()? {
                Ok(line) => line,
                Err(err) => return Some(Err(anyhow::anyhow!("the event stream broke: {err}"))),
            };
            if line.is_empty() && !data.is_empty() {
                let data = serde_json::from_str(&data).unwrap_or(Value::Null);
                let event = if event.is_empty() {
                    "message".into()
                } else {
                    event
                };
                return Some(Ok(StreamMessage { event, data }));
            }
            let (field, value) = line.split_once(':').unwrap_or((line.as_str(), ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => event = value.to_string(),
                "data" if data.is_empty() => data = value.to_string(),
                "data" => {
                    data.push('\n');
                    data.push_str(value);
                }
                _ => {}
            }
        }
    }
}

/// Turns an error response into the error kind that gives the right exit code.
fn problem_error(status: StatusCode, response: Response) -> anyhow::Error {
    let problem: Value = response.json().unwrap_or(Value::Null);
    let detail = problem["detail"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| format!("HTTP {status}"));
    let reasons: Vec<String> = problem["reasons"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let rule = r["rule"].as_str()?;
            let message = r["message"].as_str().unwrap_or_default();
            let satisfy = r["satisfy"].as_str().unwrap_or_default();
            Some(format!("{rule}: {message} ({satisfy})"))
        })
        .collect();
    let message = if let Some(rule) = problem["rule"].as_str().filter(|_| reasons.is_empty()) {
        format!("refused by {rule}: {detail}")
    } else if reasons.is_empty() {
        detail.clone()
    } else {
        format!("refused by {}", reasons.join("; "))
    };
    match status {
        StatusCode::BAD_REQUEST => usage(detail),
        StatusCode::FORBIDDEN
        | StatusCode::CONFLICT
        | StatusCode::UNPROCESSABLE_ENTITY
        | StatusCode::NOT_FOUND => anyhow::Error::new(Refused { message }),
        _ => anyhow::anyhow!("{detail} (HTTP {status})"),
    }
}
