//! Security scans (SARIF 2.1.0) and dependency audits (`npm audit --json`, `cargo audit --json`):
//! findings by severity. The gate fails on any critical or high one.

use serde_json::Value;

use crate::{EvidenceError, Format, SeverityCounts};

fn json(text: &str, format: Format) -> Result<Value, EvidenceError> {
    serde_json::from_str(text)
        .map_err(|e| EvidenceError::malformed(format, format!("not valid JSON: {e}")))
}

/// SARIF: a result's `security-severity` (its own property, else its rule's) graded the way
/// GitHub code scanning does (>= 9 critical, >= 7 high, >= 4 medium); without one, its level
/// (`error` high, `warning` medium, `note` low).
pub(crate) fn parse_sarif(text: &str) -> Result<SeverityCounts, EvidenceError> {
    let format = Format::Sarif;
    let doc = json(text, format)?;
    let runs = doc["runs"]
        .as_array()
        .ok_or_else(|| EvidenceError::malformed(format, "no `runs` array"))?;
    let mut counts = SeverityCounts::default();
    for run in runs {
        for result in run["results"].as_array().into_iter().flatten() {
            if suppressed(result) {
                continue;
            }
            let rule = rule_of(run, result);
            let severity = security_severity(&result["properties"])
                .or_else(|| rule.and_then(|r| security_severity(&r["properties"])));
            let level = result["level"]
                .as_str()
                .or_else(|| rule.and_then(|r| r["defaultConfiguration"]["level"].as_str()))
                .unwrap_or("warning");
            grade(&mut counts, severity, level);
        }
    }
    Ok(counts)
}

/// A result with an accepted suppression (a suppression without a status is accepted) is not a
/// finding any more; one under review or rejected still is.
fn suppressed(result: &Value) -> bool {
    result["suppressions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|s| {
            s["status"]
                .as_str()
                .is_none_or(|status| status == "accepted")
        })
}

/// The result's rule: by `rule.toolComponent` into the run's extensions (CodeQL), by index into
/// the driver's rules, or by id anywhere.
fn rule_of<'a>(run: &'a Value, result: &Value) -> Option<&'a Value> {
    let driver = &run["tool"]["driver"]["rules"];
    let index = result["rule"]["index"]
        .as_u64()
        .or_else(|| result["ruleIndex"].as_u64())
        .and_then(|i| usize::try_from(i).ok());
    let component = result["rule"]["toolComponent"]["index"].as_u64();
    let rules = match component.and_then(|c| usize::try_from(c).ok()) {
        Some(c) => &run["tool"]["extensions"][c]["rules"],
        None => driver,
    };
    if let Some(rule) = index.and_then(|i| rules.get(i)) {
        return Some(rule);
    }
    let id = result["ruleId"]
        .as_str()
        .or_else(|| result["rule"]["id"].as_str())?;
    let extensions = run["tool"]["extensions"].as_array().into_iter().flatten();
    std::iter::once(driver)
        .chain(extensions.map(|e| &e["rules"]))
        .filter_map(Value::as_array)
        .flatten()
        .find(|r| r["id"] == id)
}

fn security_severity(properties: &Value) -> Option<f64> {
    let value = &properties["security-severity"];
    value
        .as_f64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
}

fn grade(counts: &mut SeverityCounts, severity: Option<f64>, level: &str) {
    match (severity, level) {
        (Some(s), _) if s >= 9.0 => counts.critical += 1,
        (Some(s), _) if s >= 7.0 => counts.high += 1,
        (Some(s), _) if s >= 4.0 => counts.medium += 1,
        (Some(_), _) => counts.low += 1,
        (None, "error") => counts.high += 1,
        (None, "warning") => counts.medium += 1,
        (None, _) => counts.low += 1,
    }
}

/// `npm audit --json`: `metadata.vulnerabilities` (npm 6 and 7+ alike).
pub(crate) fn parse_npm_audit(text: &str) -> Result<SeverityCounts, EvidenceError> {
    let format = Format::NpmAudit;
    let doc = json(text, format)?;
    let v = &doc["metadata"]["vulnerabilities"];
    if !v.is_object() {
        return Err(EvidenceError::malformed(
            format,
            "no `metadata.vulnerabilities` (is this `npm audit --json`?)",
        ));
    }
    let n = |key: &str| v[key].as_u64().unwrap_or(0);
    Ok(SeverityCounts {
        critical: n("critical"),
        high: n("high"),
        medium: n("moderate"),
        low: n("low") + n("info"),
    })
}

/// `cargo audit --json`: each vulnerability graded by its advisory's CVSS base score when the
/// report carries one as a number, else counted as high (RustSec advisories for vulnerabilities
/// are not graded otherwise, and an ungraded vulnerability must not pass silently). Warnings
/// (unmaintained, yanked) are not vulnerabilities.
pub(crate) fn parse_cargo_audit(text: &str) -> Result<SeverityCounts, EvidenceError> {
    let format = Format::CargoAudit;
    let doc = json(text, format)?;
    let list = doc["vulnerabilities"]["list"]
        .as_array()
        .ok_or_else(|| EvidenceError::malformed(format, "no `vulnerabilities.list`"))?;
    let mut counts = SeverityCounts::default();
    for vulnerability in list {
        let score = vulnerability["advisory"]["cvss_score"].as_f64();
        grade(&mut counts, Some(score.unwrap_or(7.0)), "error");
    }
    Ok(counts)
}

/// No critical or high finding.
pub(crate) fn judge(s: &SeverityCounts, what: &str) -> (String, Vec<String>) {
    let summary = format!(
        "{what}: {} critical, {} high, {} medium, {} low",
        s.critical, s.high, s.medium, s.low
    );
    let mut reasons = Vec::new();
    if s.critical + s.high > 0 {
        reasons.push(format!(
            "{} critical and {} high {what}; none may remain",
            s.critical, s.high
        ));
    }
    (summary, reasons)
}
