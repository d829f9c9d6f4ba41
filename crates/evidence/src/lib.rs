//! Parsers of CI artifacts into quality-gate evidence: JUnit XML (tests), LCOV and Cobertura
//! (coverage), SARIF (security scans), `npm audit --json` and `cargo audit --json` (dependency
//! vulnerabilities), Lighthouse JSON (page performance), and latency summaries (k6's
//! `--summary-export`, or Greenlight's own JSON). [`judge`] holds the numbers against the policy.
//!
//! **Architecture invariant:** pure. No IO, no clock, no network: bytes in, evidence or a typed
//! error out. Parsing is bounded: input size and nesting depth are limited, and XML whose DOCTYPE
//! has an internal subset (where entities are declared) is refused outright.

mod coverage;
mod junit;
mod performance;
mod security;
mod xml;

use std::fmt;

use greenlight_core::Policy;
use serde::{Deserialize, Serialize};

/// The artifact formats Greenlight reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// JUnit XML (cargo-nextest, pytest, jest-junit, Maven Surefire).
    Junit,
    /// LCOV tracefile.
    Lcov,
    /// Cobertura XML.
    Cobertura,
    /// SARIF 2.1.0.
    Sarif,
    /// `npm audit --json` (npm 6 and 7+).
    NpmAudit,
    /// `cargo audit --json`.
    CargoAudit,
    /// A Lighthouse report (lhr JSON).
    Lighthouse,
    /// k6 `--summary-export` JSON.
    K6Summary,
    /// Greenlight's own latency JSON: `p50_ms`, `p95_ms`, `p99_ms`, `error_rate_percent`.
    LatencySummary,
}

impl Format {
    /// Every format, for messages.
    pub const ALL: [Format; 9] = [
        Format::Junit,
        Format::Lcov,
        Format::Cobertura,
        Format::Sarif,
        Format::NpmAudit,
        Format::CargoAudit,
        Format::Lighthouse,
        Format::K6Summary,
        Format::LatencySummary,
    ];

    /// The snake_case name (`junit`, `npm_audit`).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Junit => "junit",
            Format::Lcov => "lcov",
            Format::Cobertura => "cobertura",
            Format::Sarif => "sarif",
            Format::NpmAudit => "npm_audit",
            Format::CargoAudit => "cargo_audit",
            Format::Lighthouse => "lighthouse",
            Format::K6Summary => "k6_summary",
            Format::LatencySummary => "latency_summary",
        }
    }

    /// The format named `name`.
    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// Recognises the format from the content.
    pub fn detect(bytes: &[u8]) -> Option<Format> {
        let text = std::str::from_utf8(bytes)
            .ok()?
            .trim_start_matches('\u{feff}');
        let head = text.trim_start();
        if head.starts_with('<') {
            return xml::root_name(head).and_then(|root| match root.as_str() {
                "testsuites" | "testsuite" => Some(Format::Junit),
                "coverage" => Some(Format::Cobertura),
                _ => None,
            });
        }
        if head.starts_with('{') {
            let value: serde_json::Value = serde_json::from_str(head).ok()?;
            return detect_json(&value);
        }
        let lcov = ["TN:", "SF:"];
        lcov.iter()
            .any(|p| head.starts_with(p))
            .then_some(Format::Lcov)
    }
}

fn detect_json(value: &serde_json::Value) -> Option<Format> {
    let has = |key: &str| value.get(key).is_some();
    if has("runs")
        && value["version"]
            .as_str()
            .is_some_and(|v| v.starts_with("2."))
    {
        Some(Format::Sarif)
    } else if has("lighthouseVersion") {
        Some(Format::Lighthouse)
    } else if has("auditReportVersion") || value["metadata"]["vulnerabilities"].is_object() {
        Some(Format::NpmAudit)
    } else if has("database") && has("vulnerabilities") {
        Some(Format::CargoAudit)
    } else if value["metrics"]["http_req_duration"].is_object() {
        Some(Format::K6Summary)
    } else if has("p95_ms") {
        Some(Format::LatencySummary)
    } else {
        None
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How much parsing may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest input, bytes.
    pub max_bytes: usize,
    /// Deepest XML element nesting (JSON is held to serde_json's 128 levels).
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 50 * 1024 * 1024,
            max_depth: 256,
        }
    }
}

/// Why an artifact could not be read. Nothing is recorded when parsing fails.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    /// Larger than the limit.
    #[error("the file is {size} bytes; at most {limit} are read")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Not UTF-8 text.
    #[error("{format}: not UTF-8 text ({detail})")]
    NotText {
        /// The format expected.
        format: Format,
        /// Where.
        detail: String,
    },
    /// Not recognisable as any supported format.
    #[error(
        "not a recognised artifact; name its format (junit, lcov, cobertura, sarif, npm_audit, cargo_audit, lighthouse, k6_summary, latency_summary)"
    )]
    Unrecognized,
    /// Refused for safety (a DOCTYPE, nesting too deep).
    #[error("{format}: refused: {detail}")]
    Refused {
        /// The format.
        format: Format,
        /// Why.
        detail: String,
    },
    /// Malformed for its format.
    #[error("{format}: {detail}")]
    Malformed {
        /// The format.
        format: Format,
        /// What is wrong.
        detail: String,
    },
}

impl EvidenceError {
    fn malformed(format: Format, detail: impl Into<String>) -> Self {
        EvidenceError::Malformed {
            format,
            detail: detail.into(),
        }
    }
}

/// Test results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestSummary {
    /// Test cases.
    pub tests: u64,
    /// Failed (assertions).
    pub failures: u64,
    /// Errored (crashed, timed out).
    pub errors: u64,
    /// Skipped.
    pub skipped: u64,
    /// Test suites.
    pub suites: u64,
}

/// Coverage counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct CoverageSummary {
    /// Lines instrumented.
    pub lines_found: u64,
    /// Lines executed.
    pub lines_hit: u64,
    /// Branches instrumented.
    pub branches_found: u64,
    /// Branches taken.
    pub branches_hit: u64,
}

impl CoverageSummary {
    /// Line coverage, percent (`None` without lines).
    pub fn line_percent(&self) -> Option<f64> {
        percent(self.lines_hit, self.lines_found)
    }

    /// Branch coverage, percent (`None` without branches).
    pub fn branch_percent(&self) -> Option<f64> {
        percent(self.branches_hit, self.branches_found)
    }
}

fn percent(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| 100.0 * part as f64 / whole as f64)
}

/// Findings or vulnerabilities by severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeverityCounts {
    /// Critical.
    pub critical: u64,
    /// High.
    pub high: u64,
    /// Medium (npm: moderate).
    pub medium: u64,
    /// Low and informational.
    pub low: u64,
}

/// Page load timings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct PageTimings {
    /// First Contentful Paint, ms.
    pub fcp_ms: f64,
    /// Largest Contentful Paint, ms.
    pub lcp_ms: f64,
}

/// API latency and errors.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Median, ms.
    pub p50_ms: Option<f64>,
    /// 95th percentile, ms.
    pub p95_ms: f64,
    /// 99th percentile, ms (k6 reports it only when configured).
    pub p99_ms: Option<f64>,
    /// Failed requests, percent.
    pub error_rate_percent: f64,
}

/// What an artifact says, by kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Evidence {
    /// Test results.
    Tests(TestSummary),
    /// Coverage.
    Coverage(CoverageSummary),
    /// Security scan findings.
    SecurityFindings(SeverityCounts),
    /// Dependency vulnerabilities.
    Vulnerabilities(SeverityCounts),
    /// Page performance.
    PagePerformance(PageTimings),
    /// API latency.
    Latency(LatencySummary),
}

/// Parses `bytes` as `format` within `limits`.
pub fn parse(format: Format, bytes: &[u8], limits: &Limits) -> Result<Evidence, EvidenceError> {
    if bytes.len() > limits.max_bytes {
        return Err(EvidenceError::TooLarge {
            size: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| EvidenceError::NotText {
        format,
        detail: e.to_string(),
    })?;
    let text = text.trim_start_matches('\u{feff}');
    match format {
        Format::Junit => junit::parse(text, limits).map(Evidence::Tests),
        Format::Lcov => coverage::parse_lcov(text).map(Evidence::Coverage),
        Format::Cobertura => coverage::parse_cobertura(text, limits).map(Evidence::Coverage),
        Format::Sarif => security::parse_sarif(text).map(Evidence::SecurityFindings),
        Format::NpmAudit => security::parse_npm_audit(text).map(Evidence::Vulnerabilities),
        Format::CargoAudit => security::parse_cargo_audit(text).map(Evidence::Vulnerabilities),
        Format::Lighthouse => performance::parse_lighthouse(text).map(Evidence::PagePerformance),
        Format::K6Summary => performance::parse_k6(text).map(Evidence::Latency),
        Format::LatencySummary => performance::parse_latency(text).map(Evidence::Latency),
    }
}

/// Parses `bytes`, recognising the format when it is not given.
pub fn parse_any(
    format: Option<Format>,
    bytes: &[u8],
    limits: &Limits,
) -> Result<(Format, Evidence), EvidenceError> {
    if bytes.len() > limits.max_bytes {
        return Err(EvidenceError::TooLarge {
            size: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    let format = format
        .or_else(|| Format::detect(bytes))
        .ok_or(EvidenceError::Unrecognized)?;
    Ok((format, parse(format, bytes, limits)?))
}

/// The verdict on a piece of evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The gate passes on this evidence.
    pub passed: bool,
    /// What the evidence shows, in one line (`412 tests, 0 failed, 0 errors, 3 skipped`).
    pub summary: String,
    /// Each threshold missed, with the numbers.
    pub reasons: Vec<String>,
}

/// Holds the evidence against the policy: 100% tests passing, coverage minimums, no critical or
/// high security findings or vulnerabilities, page and API thresholds.
pub fn judge(evidence: &Evidence, policy: &Policy) -> Verdict {
    let (summary, reasons) = match evidence {
        Evidence::Tests(t) => junit::judge(t),
        Evidence::Coverage(c) => coverage::judge(c, &policy.coverage),
        Evidence::SecurityFindings(s) => security::judge(s, "security findings"),
        Evidence::Vulnerabilities(s) => security::judge(s, "vulnerabilities"),
        Evidence::PagePerformance(p) => performance::judge_page(p, &policy.performance),
        Evidence::Latency(l) => performance::judge_latency(l, &policy.performance),
    };
    Verdict {
        passed: reasons.is_empty(),
        summary,
        reasons,
    }
}
