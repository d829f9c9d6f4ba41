//! Page performance (Lighthouse) and API latency (k6 summary export, Greenlight's own JSON).

use greenlight_core::policy::PerformanceThresholds;
use serde_json::Value;

use crate::{EvidenceError, Format, LatencySummary, PageTimings};

fn json(text: &str, format: Format) -> Result<Value, EvidenceError> {
    serde_json::from_str(text)
        .map_err(|e| EvidenceError::malformed(format, format!("not valid JSON: {e}")))
}

fn number(value: &Value, format: Format, what: &str) -> Result<f64, EvidenceError> {
    value
        .as_f64()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| EvidenceError::malformed(format, format!("no number at {what}")))
}

/// Lighthouse: the first-contentful-paint and largest-contentful-paint audits, ms.
pub(crate) fn parse_lighthouse(text: &str) -> Result<PageTimings, EvidenceError> {
    let format = Format::Lighthouse;
    let doc = json(text, format)?;
    let audit = |id: &str| {
        number(
            &doc["audits"][id]["numericValue"],
            format,
            &format!("audits.{id}.numericValue"),
        )
    };
    Ok(PageTimings {
        fcp_ms: audit("first-contentful-paint")?,
        lcp_ms: audit("largest-contentful-paint")?,
    })
}

/// k6 `--summary-export`: `http_req_duration` percentiles and the `http_req_failed` rate.
pub(crate) fn parse_k6(text: &str) -> Result<LatencySummary, EvidenceError> {
    let format = Format::K6Summary;
    let doc = json(text, format)?;
    let duration = &doc["metrics"]["http_req_duration"];
    let trend = |key: &str| {
        let value = &duration[key];
        let nested = &duration["values"][key];
        value.as_f64().or_else(|| nested.as_f64())
    };
    let failed = &doc["metrics"]["http_req_failed"];
    let rate = failed["value"]
        .as_f64()
        .or_else(|| failed["rate"].as_f64())
        .or_else(|| failed["values"]["rate"].as_f64())
        .unwrap_or(0.0);
    Ok(LatencySummary {
        p50_ms: trend("med"),
        p95_ms: trend("p(95)").ok_or_else(|| {
            EvidenceError::malformed(format, "no `metrics.http_req_duration.p(95)`")
        })?,
        p99_ms: trend("p(99)"),
        error_rate_percent: 100.0 * rate,
    })
}

/// Greenlight's own: `{"p50_ms": .., "p95_ms": .., "p99_ms": .., "error_rate_percent": ..}`.
pub(crate) fn parse_latency(text: &str) -> Result<LatencySummary, EvidenceError> {
    let format = Format::LatencySummary;
    let doc = json(text, format)?;
    let optional = |key: &str| doc[key].as_f64();
    Ok(LatencySummary {
        p50_ms: optional("p50_ms"),
        p95_ms: number(&doc["p95_ms"], format, "p95_ms")?,
        p99_ms: optional("p99_ms"),
        error_rate_percent: number(&doc["error_rate_percent"], format, "error_rate_percent")?,
    })
}

/// FCP and LCP under the page thresholds.
pub(crate) fn judge_page(p: &PageTimings, t: &PerformanceThresholds) -> (String, Vec<String>) {
    let summary = format!("FCP {:.0} ms, LCP {:.0} ms", p.fcp_ms, p.lcp_ms);
    let mut reasons = Vec::new();
    if p.fcp_ms >= t.page_fcp_p95_ms {
        reasons.push(format!(
            "First Contentful Paint {:.0} ms >= {} ms",
            p.fcp_ms, t.page_fcp_p95_ms
        ));
    }
    if p.lcp_ms >= t.page_lcp_ms {
        reasons.push(format!(
            "Largest Contentful Paint {:.0} ms >= {} ms",
            p.lcp_ms, t.page_lcp_ms
        ));
    }
    (summary, reasons)
}

/// p95 and p99 under the API thresholds, error rate under its maximum.
pub(crate) fn judge_latency(
    l: &LatencySummary,
    t: &PerformanceThresholds,
) -> (String, Vec<String>) {
    let p99 = l
        .p99_ms
        .map(|v| format!("{v:.0} ms"))
        .unwrap_or_else(|| "n/a".into());
    let summary = format!(
        "p95 {:.0} ms, p99 {p99}, errors {:.2}%",
        l.p95_ms, l.error_rate_percent
    );
    let mut reasons = Vec::new();
    if l.p95_ms >= t.api_p95_ms {
        reasons.push(format!("p95 {:.0} ms >= {} ms", l.p95_ms, t.api_p95_ms));
    }
    if let Some(p99) = l.p99_ms.filter(|v| *v >= t.api_p99_ms) {
        reasons.push(format!("p99 {p99:.0} ms >= {} ms", t.api_p99_ms));
    }
    if l.error_rate_percent >= t.max_error_rate_percent {
        reasons.push(format!(
            "error rate {:.2}% >= {}%",
            l.error_rate_percent, t.max_error_rate_percent
        ));
    }
    (summary, reasons)
}
