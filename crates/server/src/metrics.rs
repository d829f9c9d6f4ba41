//! Greenlight's own metrics in Prometheus text format: requests, latencies, releases by status.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::state::AppState;

type Labels = Vec<(String, String)>;

/// The registry and the metrics in it.
pub struct Metrics {
    registry: Registry,
    requests: Family<Labels, Counter>,
    latency: Family<Labels, Histogram>,
    releases: Family<Labels, Gauge>,
    stream_polls: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("greenlight");
        let requests = Family::<Labels, Counter>::default();
        let latency = Family::<Labels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        });
        let releases = Family::<Labels, Gauge>::default();
        registry.register("http_requests", "HTTP requests served", requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency",
            latency.clone(),
        );
        registry.register("releases", "Releases by status", releases.clone());
        let stream_polls = Counter::default();
        registry.register(
            "release_stream_polls",
            "Store polls for release streams (one per followed release, shared by its streams)",
            stream_polls.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            releases,
            stream_polls,
        }
    }
}

impl Metrics {
    /// Counts one request. `method` and `route` must come from bounded sets (see
    /// [`method_label`] and [`track`]): every distinct value is a time series kept for ever.
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let labels = vec![
            ("method".to_string(), method.to_string()),
            ("route".to_string(), route.to_string()),
        ];
        self.latency.get_or_create(&labels).observe(seconds);
        let mut with_status = labels;
        with_status.push(("status".to_string(), status.to_string()));
        self.requests.get_or_create(&with_status).inc();
    }

    /// Counts one store poll for release streams.
    pub fn count_stream_poll(&self) {
        self.stream_polls.inc();
    }

    /// Sets the releases-by-status gauges.
    pub fn set_release_counts(&self, counts: &[(String, i64)]) {
        self.releases.clear();
        for (status, count) in counts {
            self.releases
                .get_or_create(&vec![("status".to_string(), status.clone())])
                .set(*count);
        }
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// The `method` label of a request: one of the standard methods, or `other` for any extension
/// method (hyper accepts any token as a method, so the raw name would let a client create
/// unbounded time series).
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "other",
    }
}

/// Middleware recording every request under a bounded set of labels: a standard method or
/// `other`, the route template (never the raw path) or `unmatched`, and the status code.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let response = next.run(request).await;
    state.metrics.observe(
        method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_methods_share_one_label() {
        for name in ["FOO", "BREW", &"X".repeat(4000)] {
            let method = Method::from_bytes(name.as_bytes()).unwrap_or(Method::GET);
            assert_eq!(method_label(&method), "other");
        }
        assert_eq!(method_label(&Method::DELETE), "DELETE");
    }
}
