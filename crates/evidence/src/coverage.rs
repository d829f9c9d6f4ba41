//! Coverage: LCOV tracefiles (`LF`/`LH`/`BRF`/`BRH`, or counted `DA`/`BRDA` lines) and Cobertura
//! XML (the root's `lines-valid`/`lines-covered`, or its rates).

use greenlight_core::policy::CoveragePolicy;

use crate::xml::{Node, walk};
use crate::{CoverageSummary, EvidenceError, Format, Limits};

/// Counts of one LCOV record (`SF:` to `end_of_record`).
#[derive(Default)]
struct Record {
    totals: CoverageSummary,
    counted: CoverageSummary,
    has_totals: (bool, bool),
}

impl Record {
    /// The record's counts: its summary lines when present, else the counted detail lines.
    fn counts(&self) -> CoverageSummary {
        let (lines, branches) = self.has_totals;
        CoverageSummary {
            lines_found: pick(lines, self.totals.lines_found, self.counted.lines_found),
            lines_hit: pick(lines, self.totals.lines_hit, self.counted.lines_hit),
            branches_found: pick(
                branches,
                self.totals.branches_found,
                self.counted.branches_found,
            ),
            branches_hit: pick(
                branches,
                self.totals.branches_hit,
                self.counted.branches_hit,
            ),
        }
    }
}

fn pick(use_total: bool, total: u64, counted: u64) -> u64 {
    if use_total { total } else { counted }
}

pub(crate) fn parse_lcov(text: &str) -> Result<CoverageSummary, EvidenceError> {
    let mut sum = CoverageSummary::default();
    let mut record = Record::default();
    let mut records = 0u64;
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        let (key, value) = line.split_once(':').unwrap_or((line, ""));
        let bad = |what: &str| {
            EvidenceError::malformed(
                Format::Lcov,
                format!("line {}: {what}: `{line}`", number + 1),
            )
        };
        let count = |v: &str| v.trim().parse::<u64>().map_err(|_| bad("not a count"));
        match key {
            "LF" => (record.totals.lines_found, record.has_totals.0) = (count(value)?, true),
            "LH" => record.totals.lines_hit = count(value)?,
            "BRF" => (record.totals.branches_found, record.has_totals.1) = (count(value)?, true),
            "BRH" => record.totals.branches_hit = count(value)?,
            "DA" => {
                let hits = value
                    .split(',')
                    .nth(1)
                    .ok_or_else(|| bad("DA needs line,hits"))?;
                record.counted.lines_found += 1;
                record.counted.lines_hit += u64::from(!is_zero(hits));
            }
            "BRDA" => {
                let taken = value
                    .split(',')
                    .nth(3)
                    .ok_or_else(|| bad("BRDA needs 4 fields"))?;
                record.counted.branches_found += 1;
                record.counted.branches_hit += u64::from(taken != "-" && !is_zero(taken));
            }
            "end_of_record" => {
                add(&mut sum, &record.counts());
                record = Record::default();
                records += 1;
            }
            "" | "TN" | "SF" | "FN" | "FNDA" | "FNF" | "FNH" | "FNL" | "FNA" | "VER" => {}
            _ => return Err(bad("not an LCOV line")),
        }
    }
    if records == 0 {
        return Err(EvidenceError::malformed(
            Format::Lcov,
            "no record (`end_of_record`) in the file",
        ));
    }
    Ok(sum)
}

fn is_zero(text: &str) -> bool {
    text.trim().parse::<f64>().map(|v| v == 0.0).unwrap_or(true)
}

fn add(sum: &mut CoverageSummary, record: &CoverageSummary) {
    sum.lines_found += record.lines_found;
    sum.lines_hit += record.lines_hit.min(record.lines_found);
    sum.branches_found += record.branches_found;
    sum.branches_hit += record.branches_hit.min(record.branches_found);
}

pub(crate) fn parse_cobertura(
    text: &str,
    limits: &Limits,
) -> Result<CoverageSummary, EvidenceError> {
    let format = Format::Cobertura;
    let mut summary: Option<CoverageSummary> = None;
    walk(text, format, limits, |node| {
        let (Node::Open(e) | Node::Leaf(e)) = node else {
            return Ok(());
        };
        if summary.is_some() {
            return Ok(());
        }
        if e.name != "coverage" {
            return Err(EvidenceError::malformed(
                format,
                format!("the root element is <{}>, not <coverage>", e.name),
            ));
        }
        let counts = [
            e.number("lines-valid", format)?,
            e.number("lines-covered", format)?,
            e.number("branches-valid", format)?,
            e.number("branches-covered", format)?,
        ];
        let rates = [
            e.number("line-rate", format)?,
            e.number("branch-rate", format)?,
        ];
        summary = Some(from_attributes(counts, rates)?);
        Ok(())
    })?;
    summary.ok_or_else(|| EvidenceError::malformed(format, "no <coverage> element"))
}

/// Counts when the report has them; otherwise its rates as parts of 10,000.
fn from_attributes(
    [lines_valid, lines_covered, branches_valid, branches_covered]: [Option<f64>; 4],
    [line_rate, branch_rate]: [Option<f64>; 2],
) -> Result<CoverageSummary, EvidenceError> {
    let whole = |v: Option<f64>| v.map(|v| v.round() as u64).unwrap_or(0);
    if lines_valid.is_some() {
        return Ok(CoverageSummary {
            lines_found: whole(lines_valid),
            lines_hit: whole(lines_covered).min(whole(lines_valid)),
            branches_found: whole(branches_valid),
            branches_hit: whole(branches_covered).min(whole(branches_valid)),
        });
    }
    let rate = |r: Option<f64>| r.map(|r| (r.min(1.0) * 10_000.0).round() as u64);
    match rate(line_rate) {
        Some(hit) => Ok(CoverageSummary {
            lines_found: 10_000,
            lines_hit: hit,
            branches_found: if branch_rate.is_some() { 10_000 } else { 0 },
            branches_hit: rate(branch_rate).unwrap_or(0),
        }),
        None => Err(EvidenceError::malformed(
            Format::Cobertura,
            "<coverage> has neither lines-valid/lines-covered nor line-rate",
        )),
    }
}

/// Line coverage (and branch coverage, when the report has branches) at least the minimums.
pub(crate) fn judge(c: &CoverageSummary, policy: &CoveragePolicy) -> (String, Vec<String>) {
    let line = c.line_percent();
    let branch = c.branch_percent();
    let shown = |p: Option<f64>| {
        p.map(|p| format!("{p:.1}%"))
            .unwrap_or_else(|| "n/a".into())
    };
    let summary = format!(
        "line coverage {}, branch coverage {}",
        shown(line),
        shown(branch)
    );
    let mut reasons = Vec::new();
    match line {
        None => reasons.push("the report has no instrumented line".to_string()),
        Some(p) if p < policy.min_line_percent => reasons.push(format!(
            "line coverage {p:.1}% < {}% minimum",
            policy.min_line_percent
        )),
        Some(_) => {}
    }
    if let Some(p) = branch.filter(|p| *p < policy.min_branch_percent) {
        reasons.push(format!(
            "branch coverage {p:.1}% < {}% minimum",
            policy.min_branch_percent
        ));
    }
    (summary, reasons)
}
