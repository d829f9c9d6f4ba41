//! Release health after a production deployment: the spec's Release Health Metrics, its automatic
//! rollback triggers and Phase 3's post-deployment validation, decided from series of samples.
//!
//! A trigger that needs a duration ("error rate > 10% for 5 minutes") holds only when every
//! sample of the whole window breaches it and the samples cover the window without a gap. Missing
//! or stale data is inconclusive: it never holds, it is reported so someone looks. The samples
//! come from a metrics source (Prometheus, or Greenlight's own ingest); time is passed in.

use std::collections::BTreeMap;
use std::fmt;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// A health metric of the spec's Release Health Metrics.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Failed requests, percent.
    ErrorRate,
    /// Median response time, ms.
    P50Ms,
    /// 95th percentile response time, ms.
    P95Ms,
    /// 99th percentile response time, ms.
    P99Ms,
    /// Requests per second.
    Throughput,
    /// 1 while the database connection pool is exhausted, 0 otherwise.
    PoolExhausted,
    /// Failed requests of one critical endpoint over the critical window, percent.
    EndpointFailureRate(String),
    /// Successful score saves over the critical window, percent.
    ScoreRecordingSuccess,
}

impl Metric {
    /// The metrics shown for every release (besides each critical endpoint's failure rate).
    pub const SHOWN: [Metric; 7] = [
        Metric::ErrorRate,
        Metric::P50Ms,
        Metric::P95Ms,
        Metric::P99Ms,
        Metric::Throughput,
        Metric::PoolExhausted,
        Metric::ScoreRecordingSuccess,
    ];

    /// The metric's key in the policy's query table (`error_rate`, `endpoint_failure_rate`).
    pub fn query_key(&self) -> &'static str {
        match self {
            Metric::ErrorRate => "error_rate",
            Metric::P50Ms => "p50_ms",
            Metric::P95Ms => "p95_ms",
            Metric::P99Ms => "p99_ms",
            Metric::Throughput => "throughput",
            Metric::PoolExhausted => "pool_exhausted",
            Metric::EndpointFailureRate(_) => "endpoint_failure_rate",
            Metric::ScoreRecordingSuccess => "score_recording_success",
        }
    }

    /// Whether the metric is a ratio over the critical window rather than a per-interval value.
    pub fn over_critical_window(&self) -> bool {
        matches!(
            self,
            Metric::EndpointFailureRate(_) | Metric::ScoreRecordingSuccess
        )
    }

    /// Its unit, for people.
    pub fn unit(&self) -> &'static str {
        match self {
            Metric::ErrorRate | Metric::EndpointFailureRate(_) | Metric::ScoreRecordingSuccess => {
                "%"
            }
            Metric::P50Ms | Metric::P95Ms | Metric::P99Ms => "ms",
            Metric::Throughput => "req/s",
            Metric::PoolExhausted => "",
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Metric::EndpointFailureRate(endpoint) => write!(f, "{endpoint} failure rate"),
            Metric::ErrorRate => f.write_str("error rate"),
            Metric::ScoreRecordingSuccess => f.write_str("score-recording success"),
            other => f.write_str(other.query_key()),
        }
    }
}

/// Where health metrics come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// Greenlight's own `POST /api/v1/metrics`.
    Ingest,
    /// PromQL over a Prometheus server's HTTP API.
    Prometheus,
}

/// The `[health]` section: where metrics come from and how each is queried.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthPolicy {
    /// `ingest` or `prometheus`.
    pub source: SourceKind,
    /// Base URL of Prometheus (`http://127.0.0.1:9090`), for `source = "prometheus"`.
    pub prometheus_url: String,
    /// PromQL per metric (`error_rate`, `p95_ms`, ...); `$endpoint` stands for a critical
    /// endpoint's name in `endpoint_failure_rate`.
    pub queries: BTreeMap<String, String>,
    /// Seconds per bucket of ingested samples (the resolution of ingested series).
    pub ingest_bucket_seconds: u32,
    /// The endpoint whose success is score-recording success.
    pub score_recording_endpoint: String,
    /// The endpoint whose failure is the spec's "authentication system failures (users cannot
    /// log in)", an immediate rollback.
    pub login_endpoint: String,
}

impl Default for HealthPolicy {
    fn default() -> Self {
        let queries = [
            (
                "error_rate",
                r#"100 * sum(rate(http_requests_total{status=~"5.."}[1m])) / sum(rate(http_requests_total[1m]))"#,
            ),
            (
                "p50_ms",
                "1000 * histogram_quantile(0.5, sum by (le) (rate(http_request_duration_seconds_bucket[1m])))",
            ),
            (
                "p95_ms",
                "1000 * histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[1m])))",
            ),
            (
                "p99_ms",
                "1000 * histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[1m])))",
            ),
            ("throughput", "sum(rate(http_requests_total[1m]))"),
            ("pool_exhausted", "max(db_pool_exhausted)"),
            (
                "endpoint_failure_rate",
                r#"100 * sum(rate(http_requests_total{endpoint="$endpoint",status=~"5.."}[5m])) / sum(rate(http_requests_total{endpoint="$endpoint"}[5m]))"#,
            ),
            (
                "score_recording_success",
                r#"100 - 100 * sum(rate(http_requests_total{endpoint="score_recording",status=~"5.."}[5m])) / sum(rate(http_requests_total{endpoint="score_recording"}[5m]))"#,
            ),
        ];
        HealthPolicy {
            source: SourceKind::Ingest,
            prometheus_url: String::new(),
            queries: queries
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ingest_bucket_seconds: 10,
            score_recording_endpoint: "score_recording".into(),
            login_endpoint: "login".into(),
        }
    }
}

impl HealthPolicy {
    /// Problems, as (TOML path, message).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let url = &self.prometheus_url;
        let http = url.starts_with("http://") || url.starts_with("https://");
        if self.source == SourceKind::Prometheus && !http {
            out.push((
                "health.prometheus_url".into(),
                format!("`{url}` is not an http(s) URL; Prometheus needs one"),
            ));
        }
        if self.source == SourceKind::Prometheus {
            for metric in Metric::SHOWN
                .iter()
                .chain([&Metric::EndpointFailureRate(String::new())])
            {
                let key = metric.query_key();
                if !self.queries.contains_key(key) {
                    out.push((
                        format!("health.queries.{key}"),
                        "needs a PromQL query".into(),
                    ));
                }
            }
        }
        if !(1..=300).contains(&self.ingest_bucket_seconds) {
            out.push((
                "health.ingest_bucket_seconds".into(),
                "must be between 1 and 300".into(),
            ));
        }
        out
    }

    /// The PromQL for `metric`, with `$endpoint` filled in.
    pub fn query(&self, metric: &Metric) -> Option<String> {
        let query = self.queries.get(metric.query_key())?;
        Some(match metric {
            Metric::EndpointFailureRate(endpoint) => query.replace("$endpoint", endpoint),
            _ => query.clone(),
        })
    }
}

/// What a health alert asks of people: the class the spec's rollback decision criteria give
/// (immediate / discuss; "monitor without rollback" raises nothing), or unknown health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A criterion of the spec's "Immediate Rollback (No Discussion Required)" holds (a
    /// critical endpoint such as login or score recording failing) and Greenlight does not roll
    /// back by itself (automatic rollback is off): roll back now.
    ImmediateRollback,
    /// A criterion of the spec's "Rollback Requiring Discussion" holds (error rate above 5%, p95
    /// above twice the previous release's, or an automatic trigger while automatic rollback is
    /// off): hold the 15-minute emergency meeting.
    RollbackRequiresDiscussion,
    /// Health data is missing or stale: nobody can tell whether the release is healthy.
    HealthDataInconclusive,
}

/// One sample of a metric.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Point {
    /// When.
    pub at: Timestamp,
    /// The value, in the metric's unit.
    pub value: f64,
}

/// Samples per metric, oldest first.
pub type Observations = BTreeMap<Metric, Vec<Point>>;

/// Which side of the threshold is bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Breach {
    /// Bad above the threshold.
    Above,
    /// Bad below the threshold.
    Below,
}

impl Breach {
    fn breached(self, value: f64, threshold: f64) -> bool {
        match self {
            Breach::Above => value > threshold,
            Breach::Below => value < threshold,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Breach::Above => ">",
            Breach::Below => "<",
        }
    }
}

/// An automatic rollback trigger of the policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Trigger {
    /// snake_case name (`error_rate`, `critical_endpoint_failure_login`).
    pub name: String,
    /// What it watches.
    pub metric: Metric,
    /// Which side is bad.
    pub breach: Breach,
    /// The threshold, in the metric's unit.
    pub threshold: f64,
    /// Seconds the breach must last over the whole window; 0: the latest sample decides.
    pub sustained_seconds: u32,
}

/// The triggers of the policy, in the spec's order.
pub fn triggers(policy: &AutomaticRollback) -> Vec<Trigger> {
    let mut out = vec![
        Trigger {
            name: "error_rate".into(),
            metric: Metric::ErrorRate,
            breach: Breach::Above,
            threshold: policy.error_rate_percent,
            sustained_seconds: policy.error_rate_window_seconds,
        },
        Trigger {
            name: "p95_response_time".into(),
            metric: Metric::P95Ms,
            breach: Breach::Above,
            threshold: policy.p95_ms,
            sustained_seconds: policy.p95_window_seconds,
        },
    ];
    if policy.pool_exhaustion {
        out.push(Trigger {
            name: "pool_exhaustion".into(),
            metric: Metric::PoolExhausted,
            breach: Breach::Above,
            threshold: 0.5,
            sustained_seconds: 0,
        });
    }
    out.extend(policy.critical_endpoints.iter().map(|endpoint| Trigger {
        name: format!("critical_endpoint_failure_{endpoint}"),
        metric: Metric::EndpointFailureRate(endpoint.clone()),
        breach: Breach::Above,
        threshold: policy.critical_endpoint_failure_percent,
        sustained_seconds: 0,
    }));
    out.push(Trigger {
        name: "score_recording_success".into(),
        metric: Metric::ScoreRecordingSuccess,
        breach: Breach::Below,
        threshold: policy.score_recording_success_min_percent,
        sustained_seconds: 0,
    });
    out
}

/// Where a trigger stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TriggerState {
    /// Breached for the whole window: roll back (or discuss, when automatic rollback is off).
    Holds,
    /// Breached since the deployment, but the deployment is younger than the window.
    Building,
    /// Within the threshold.
    Clear,
    /// Missing or stale data: never a rollback, always an alert.
    Inconclusive,
}

/// One trigger's verdict, with the numbers behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TriggerVerdict {
    /// The trigger.
    pub trigger: Trigger,
    /// Where it stands.
    pub state: TriggerState,
    /// The latest sample's value, if any.
    pub latest: Option<f64>,
    /// A sentence with the numbers (`error rate 23.4% > 10% for 300 s (min 21.0%)`).
    pub detail: String,
}

/// Every trigger's verdict at one time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Assessment {
    /// When it was made.
    pub at: Timestamp,
    /// One verdict per trigger.
    pub verdicts: Vec<TriggerVerdict>,
}

impl Assessment {
    /// The verdicts in `state`.
    pub fn in_state(&self, state: TriggerState) -> impl Iterator<Item = &TriggerVerdict> {
        self.verdicts.iter().filter(move |v| v.state == state)
    }

    /// The reason a rollback would give: every trigger that holds, with its numbers.
    pub fn rollback_reason(&self) -> Option<String> {
        let holding: Vec<&str> = self
            .in_state(TriggerState::Holds)
            .map(|v| v.detail.as_str())
            .collect();
        (!holding.is_empty()).then(|| format!("automatic: {}", holding.join("; ")))
    }
}

/// Evaluates every trigger against the observations at `now`, for a deployment at
/// `deployed_at`. Data older than `stale_after_seconds` (or a gap that long) is inconclusive.
pub fn assess(
    triggers: &[Trigger],
    observations: &Observations,
    deployed_at: Timestamp,
    now: Timestamp,
    stale_after_seconds: u32,
) -> Assessment {
    let stale = seconds(stale_after_seconds);
    let verdicts = triggers
        .iter()
        .map(|trigger| {
            let points = observations
                .get(&trigger.metric)
                .map(Vec::as_slice)
                .unwrap_or_default();
            judge(trigger, points, deployed_at, now, stale)
        })
        .collect();
    Assessment { at: now, verdicts }
}

fn seconds(n: u32) -> SignedDuration {
    SignedDuration::from_secs(i64::from(n))
}

fn judge(
    trigger: &Trigger,
    points: &[Point],
    deployed_at: Timestamp,
    now: Timestamp,
    stale: SignedDuration,
) -> TriggerVerdict {
    let verdict = |state, latest, detail| TriggerVerdict {
        trigger: trigger.clone(),
        state,
        latest,
        detail,
    };
    let Some(last) = points.iter().rfind(|p| p.at <= now) else {
        let detail = format!("no {} data", trigger.metric);
        return verdict(TriggerState::Inconclusive, None, detail);
    };
    if now.duration_since(last.at) > stale {
        let detail = format!(
            "{} data is stale: the latest sample is {} s old",
            trigger.metric,
            now.duration_since(last.at).as_secs()
        );
        return verdict(TriggerState::Inconclusive, Some(last.value), detail);
    }
    if trigger.sustained_seconds == 0 {
        let state = if trigger.breach.breached(last.value, trigger.threshold) {
            TriggerState::Holds
        } else {
            TriggerState::Clear
        };
        return verdict(state, Some(last.value), describe(trigger, last.value, None));
    }
    let (state, detail) = sustained(trigger, points, deployed_at, now, stale);
    verdict(state, Some(last.value), detail)
}

/// A duration trigger: every sample of the window breaches and the samples cover it.
fn sustained(
    trigger: &Trigger,
    points: &[Point],
    deployed_at: Timestamp,
    now: Timestamp,
    stale: SignedDuration,
) -> (TriggerState, String) {
    let window_start = now
        .checked_sub(seconds(trigger.sustained_seconds))
        .unwrap_or(now);
    let from = window_start.max(deployed_at);
    let in_window: Vec<&Point> = points
        .iter()
        .filter(|p| p.at >= from && p.at <= now)
        .collect();
    if in_window.is_empty() && window_start < deployed_at {
        let detail = format!("no {} sample since the deployment yet", trigger.metric);
        return (TriggerState::Building, detail);
    }
    if let Some(good) = in_window
        .iter()
        .rfind(|p| !trigger.breach.breached(p.value, trigger.threshold))
    {
        return (TriggerState::Clear, describe(trigger, good.value, None));
    }
    let (gap_from, gap) = largest_gap(from, now, &in_window);
    if gap > stale {
        let detail = format!(
            "{} has no data for {} s from {gap_from}",
            trigger.metric,
            gap.as_secs()
        );
        return (TriggerState::Inconclusive, detail);
    }
    let least = in_window
        .iter()
        .map(|p| p.value)
        .fold(None, |acc: Option<f64>, v| {
            Some(match (acc, trigger.breach) {
                (None, _) => v,
                (Some(a), Breach::Above) => a.min(v),
                (Some(a), Breach::Below) => a.max(v),
            })
        })
        .unwrap_or_default();
    let lasted = now.duration_since(from).as_secs();
    let detail = describe(trigger, least, Some(lasted));
    if window_start < deployed_at {
        return (TriggerState::Building, detail);
    }
    (TriggerState::Holds, detail)
}

/// The longest stretch without a sample between `from` and `now`, and where it starts.
fn largest_gap(from: Timestamp, now: Timestamp, points: &[&Point]) -> (Timestamp, SignedDuration) {
    let times = points.iter().map(|p| p.at).chain([now]);
    let mut previous = from;
    let mut largest = (from, SignedDuration::ZERO);
    for at in times {
        let gap = at.duration_since(previous);
        if gap > largest.1 {
            largest = (previous, gap);
        }
        previous = at;
    }
    largest
}

/// `error rate 23.4% > 10%` plus `for 300 s` when sustained.
fn describe(trigger: &Trigger, value: f64, lasted: Option<i64>) -> String {
    let unit = trigger.metric.unit();
    let breached = trigger.breach.breached(value, trigger.threshold);
    let relation = if breached {
        trigger.breach.symbol()
    } else {
        "within"
    };
    let mut text = format!(
        "{} {value:.2}{unit} {relation} {}{unit}",
        trigger.metric, trigger.threshold
    );
    if let Some(lasted) = lasted {
        text.push_str(&format!(" for {lasted} s (the least breaching sample)"));
    }
    text
}

/// What the monitor measures for the spec's rollback decision criteria beside the triggers:
/// the error rate and p95 over their windows since the deployment, and the previous release's
/// p95 over a window as long just before the deployment (the baseline of "p95 response time >
/// 2x baseline").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CriteriaReadings {
    /// Mean error rate over the error-rate window since the deployment, percent.
    pub error_rate_percent: Option<f64>,
    /// Mean p95 over the p95 window since the deployment, ms.
    pub p95_ms: Option<f64>,
    /// Mean p95 of the previous release over a window as long, ending at the deployment, ms.
    pub baseline_p95_ms: Option<f64>,
}

/// The time ranges `CriteriaReadings` are read over, so the server's queries and the core's
/// arithmetic agree on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CriteriaWindows {
    /// The error-rate window: `error_rate_window_seconds` back from now, not before the
    /// deployment.
    pub error_rate: (Timestamp, Timestamp),
    /// The p95 window: `p95_window_seconds` back from now, not before the deployment.
    pub p95: (Timestamp, Timestamp),
    /// The same length as `p95`, ending at the deployment: the previous release's p95.
    pub baseline_p95: (Timestamp, Timestamp),
}

impl CriteriaWindows {
    /// The windows at `now` for a deployment at `deployed_at`.
    pub fn at(policy: &AutomaticRollback, deployed_at: Timestamp, now: Timestamp) -> Self {
        let back = |window: u32| {
            let from = now.checked_sub(seconds(window)).unwrap_or(now);
            (from.max(deployed_at), now)
        };
        let p95 = back(policy.p95_window_seconds);
        let length = p95.1.duration_since(p95.0);
        let baseline_from = deployed_at.checked_sub(length).unwrap_or(deployed_at);
        CriteriaWindows {
            error_rate: back(policy.error_rate_window_seconds),
            p95,
            baseline_p95: (baseline_from, deployed_at),
        }
    }
}

/// The mean of the samples in `[from, to]`, or `None` without one (never a made-up zero).
pub fn window_mean(points: &[Point], (from, to): (Timestamp, Timestamp)) -> Option<f64> {
    let values: Vec<f64> = points
        .iter()
        .filter(|p| p.at >= from && p.at <= to && p.value.is_finite())
        .map(|p| p.value)
        .collect();
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Phase 3's post-deployment validation from metrics: the `error_rate` and `response_times`
/// gates, decided on the mean of the validation window's samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Validation {
    /// The gate name.
    pub gate: String,
    /// Passed; `None` when the window has no data (inconclusive).
    pub passed: Option<bool>,
    /// The numbers.
    pub detail: String,
}

/// Decides the metric-backed production validation gates over the validation window.
pub fn validate(p: &PerformanceThresholds, observations: &Observations) -> Vec<Validation> {
    [
        ("error_rate", Metric::ErrorRate, p.max_error_rate_percent),
        ("response_times", Metric::P95Ms, p.api_p95_ms),
    ]
    .into_iter()
    .map(|(gate, metric, threshold)| {
        let values: Vec<f64> = observations
            .get(&metric)
            .into_iter()
            .flatten()
            .map(|p| p.value)
            .collect();
        let gate = gate.to_string();
        if values.is_empty() {
            let detail = format!("no {metric} data in the validation window");
            return Validation {
                gate,
                passed: None,
                detail,
            };
        }
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        let unit = metric.unit();
        Validation {
            gate,
            passed: Some(mean < threshold),
            detail: format!("mean {metric} {mean:.2}{unit}, must be below {threshold}{unit}"),
        }
    })
    .collect()
}

/// Performance thresholds that must be met before deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PerformanceThresholds {
    /// API p95 below this, ms.
    pub api_p95_ms: f64,
    /// API p99 below this, ms.
    pub api_p99_ms: f64,
    /// Page First Contentful Paint p95 below this, ms.
    pub page_fcp_p95_ms: f64,
    /// Page Largest Contentful Paint below this, ms.
    pub page_lcp_ms: f64,
    /// No database query slower than this, ms.
    pub max_query_ms: f64,
    /// Error rate of every endpoint below this, percent.
    pub max_error_rate_percent: f64,
}

impl Default for PerformanceThresholds {
    fn default() -> Self {
        PerformanceThresholds {
            api_p95_ms: 500.0,
            api_p99_ms: 1000.0,
            page_fcp_p95_ms: 2000.0,
            page_lcp_ms: 3000.0,
            max_query_ms: 500.0,
            max_error_rate_percent: 0.5,
        }
    }
}

/// The automatic rollback triggers of the spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AutomaticRollback {
    /// Roll back by itself when a trigger holds; off by default ("start with manual rollback").
    pub enabled: bool,
    /// How often the health monitor evaluates, seconds.
    pub evaluation_interval_seconds: u32,
    /// Error rate above this, percent...
    pub error_rate_percent: f64,
    /// ...sustained over this many seconds.
    pub error_rate_window_seconds: u32,
    /// p95 response time above this, ms...
    pub p95_ms: f64,
    /// ...sustained over this many seconds.
    pub p95_window_seconds: u32,
    /// Database connection pool exhaustion triggers.
    pub pool_exhaustion: bool,
    /// The critical endpoints.
    pub critical_endpoints: Vec<String>,
    /// Failure rate of a critical endpoint above this, percent.
    pub critical_endpoint_failure_percent: f64,
    /// Score-recording success below this, percent.
    pub score_recording_success_min_percent: f64,
    /// Window over which critical-endpoint and score-recording rates are measured, seconds.
    pub critical_window_seconds: u32,
    /// Data older than this many seconds is stale: inconclusive, never a trigger.
    pub stale_after_seconds: u32,
}

impl Default for AutomaticRollback {
    fn default() -> Self {
        AutomaticRollback {
            enabled: false,
            evaluation_interval_seconds: 10,
            error_rate_percent: 10.0,
            error_rate_window_seconds: 300,
            p95_ms: 5000.0,
            p95_window_seconds: 300,
            pool_exhaustion: true,
            critical_endpoints: vec!["login".into(), "score_recording".into()],
            critical_endpoint_failure_percent: 1.0,
            score_recording_success_min_percent: 99.5,
            critical_window_seconds: 300,
            stale_after_seconds: 120,
        }
    }
}

/// Phase 4 monitoring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PostReleasePolicy {
    /// Post-deployment validation, minutes.
    pub validation_minutes: u32,
    /// Active monitoring after release, hours.
    pub active_monitoring_hours: u32,
    /// Extended monitoring, hours.
    pub extended_monitoring_hours: u32,
}

impl Default for PostReleasePolicy {
    fn default() -> Self {
        PostReleasePolicy {
            validation_minutes: 60,
            active_monitoring_hours: 4,
            extended_monitoring_hours: 48,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(offset_seconds: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + offset_seconds).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    fn series(values: &[(i64, f64)]) -> Vec<Point> {
        values
            .iter()
            .map(|&(t, value)| Point { at: at(t), value })
            .collect()
    }

    fn error_rate() -> Trigger {
        triggers(&AutomaticRollback::default()).remove(0)
    }

    fn state(points: Vec<Point>, deployed: i64, now: i64) -> TriggerState {
        let trigger = error_rate();
        let mut obs = Observations::new();
        obs.insert(Metric::ErrorRate, points);
        assess(&[trigger], &obs, at(deployed), at(now), 120).verdicts[0].state
    }

    /// One sample every 10 s from `from` to `to` (inclusive) with `value`.
    fn every_10s(from: i64, to: i64, value: f64) -> Vec<(i64, f64)> {
        (from..=to).step_by(10).map(|t| (t, value)).collect()
    }

    #[test]
    fn a_sustained_error_rate_holds_and_says_its_numbers() {
        let points = series(&every_10s(0, 600, 23.5));
        assert_eq!(state(points.clone(), 0, 600), TriggerState::Holds);
        let mut obs = Observations::new();
        obs.insert(Metric::ErrorRate, points);
        let verdicts = assess(&[error_rate()], &obs, at(0), at(600), 120);
        let reason = verdicts.rollback_reason().unwrap();
        assert!(reason.contains("error rate 23.50% > 10%"), "{reason}");
        assert!(reason.contains("for 300 s"), "{reason}");
    }

    #[test]
    fn a_short_spike_does_not_hold() {
        let mut values = every_10s(0, 400, 0.2);
        values.extend(every_10s(410, 600, 40.0));
        // 190 s of spike inside a 300 s window: one good sample remains.
        assert_eq!(state(series(&values), 0, 600), TriggerState::Clear);
    }

    #[test]
    fn a_young_deployment_is_building_not_holding() {
        assert_eq!(
            state(series(&every_10s(500, 600, 50.0)), 500, 600),
            TriggerState::Building
        );
    }

    #[test]
    fn no_sample_yet_right_after_the_deployment_is_building() {
        let old = series(&every_10s(0, 590, 0.1));
        assert_eq!(state(old, 595, 600), TriggerState::Building);
    }

    #[test]
    fn silence_and_gaps_are_inconclusive() {
        // The exporter went silent 200 s ago.
        assert_eq!(
            state(series(&every_10s(0, 400, 50.0)), 0, 600),
            TriggerState::Inconclusive
        );
        // A 150 s hole inside the window.
        let mut values = every_10s(0, 350, 50.0);
        values.extend(every_10s(500, 600, 50.0));
        assert_eq!(state(series(&values), 0, 600), TriggerState::Inconclusive);
        assert_eq!(state(Vec::new(), 0, 600), TriggerState::Inconclusive);
    }

    #[test]
    fn instant_triggers_use_the_latest_fresh_sample() {
        let trigger = triggers(&AutomaticRollback::default())
            .into_iter()
            .find(|t| t.name == "score_recording_success")
            .unwrap();
        let mut obs = Observations::new();
        obs.insert(
            Metric::ScoreRecordingSuccess,
            series(&[(0, 99.9), (10, 98.0)]),
        );
        let verdict = &assess(&[trigger], &obs, at(0), at(20), 120).verdicts[0];
        assert_eq!(verdict.state, TriggerState::Holds);
        assert!(
            verdict.detail.contains("98.00% < 99.5%"),
            "{}",
            verdict.detail
        );
    }

    #[test]
    fn criteria_windows_start_at_the_deployment_and_the_baseline_is_as_long_before_it() {
        let policy = AutomaticRollback::default();
        let windows = CriteriaWindows::at(&policy, at(0), at(120));
        assert_eq!(windows.p95, (at(0), at(120)), "not before the deployment");
        assert_eq!(
            windows.baseline_p95,
            (at(-120), at(0)),
            "as long, before it"
        );
        let later = CriteriaWindows::at(&policy, at(0), at(1000));
        assert_eq!(later.error_rate, (at(700), at(1000)));
        assert_eq!(later.baseline_p95, (at(-300), at(0)));
        let points = series(&[(650, 90.0), (700, 4.0), (1000, 8.0)]);
        assert_eq!(window_mean(&points, later.error_rate), Some(6.0));
        assert_eq!(window_mean(&points, (at(2000), at(3000))), None);
    }

    #[test]
    fn validation_gates_pass_on_the_window_mean() {
        let mut obs = Observations::new();
        obs.insert(Metric::ErrorRate, series(&[(0, 0.1), (10, 0.3)]));
        obs.insert(Metric::P95Ms, series(&[(0, 900.0), (10, 700.0)]));
        let gates = validate(&PerformanceThresholds::default(), &obs);
        assert_eq!(gates[0].passed, Some(true));
        assert_eq!(gates[1].passed, Some(false));
        assert!(gates[1].detail.contains("800.00ms"), "{}", gates[1].detail);
        let empty = validate(&PerformanceThresholds::default(), &Observations::new());
        assert_eq!(empty[0].passed, None);
    }
}
