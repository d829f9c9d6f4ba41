//! JUnit XML: counts test cases and what happened to each (a `<failure>`, `<error>` or
//! `<skipped>` child), rather than trusting suite totals, which nested suites double-count.

use crate::xml::{Node, walk};
use crate::{EvidenceError, Format, Limits, TestSummary};

/// What happened to the test case being read.
#[derive(Default)]
struct Case {
    failed: bool,
    errored: bool,
    skipped: bool,
}

pub(crate) fn parse(text: &str, limits: &Limits) -> Result<TestSummary, EvidenceError> {
    let mut summary = TestSummary::default();
    let mut case: Option<Case> = None;
    let mut root_checked = false;
    walk(text, Format::Junit, limits, |node| {
        if !root_checked {
            root_checked = true;
            check_root(&node)?;
        }
        match node {
            Node::Open(e) | Node::Leaf(e) if e.name == "testsuite" => summary.suites += 1,
            Node::Open(e) if e.name == "testcase" => case = Some(Case::default()),
            Node::Leaf(e) if e.name == "testcase" => summary.tests += 1,
            Node::Open(e) | Node::Leaf(e) => {
                if let Some(case) = case.as_mut() {
                    mark(case, &e.name);
                }
            }
            Node::Close(name) if name == "testcase" => {
                if let Some(done) = case.take() {
                    count(&mut summary, &done);
                }
            }
            Node::Close(_) => {}
        }
        Ok(())
    })?;
    Ok(summary)
}

fn check_root(node: &Node) -> Result<(), EvidenceError> {
    let name = match node {
        Node::Open(e) | Node::Leaf(e) => e.name.as_str(),
        Node::Close(name) => name.as_str(),
    };
    if name == "testsuites" || name == "testsuite" {
        return Ok(());
    }
    Err(EvidenceError::malformed(
        Format::Junit,
        format!("the root element is <{name}>, not <testsuites> or <testsuite>"),
    ))
}

/// Marks what a child element says; `<flakyFailure>` (a retry that then passed) is not a failure.
fn mark(case: &mut Case, child: &str) {
    match child {
        "failure" => case.failed = true,
        "error" => case.errored = true,
        "skipped" => case.skipped = true,
        _ => {}
    }
}

fn count(summary: &mut TestSummary, case: &Case) {
    summary.tests += 1;
    if case.errored {
        summary.errors += 1;
    } else if case.failed {
        summary.failures += 1;
    } else if case.skipped {
        summary.skipped += 1;
    }
}

/// 100% passing: no failure, no error, and at least one test.
pub(crate) fn judge(t: &TestSummary) -> (String, Vec<String>) {
    let summary = format!(
        "{} tests in {} suites: {} failed, {} errors, {} skipped",
        t.tests, t.suites, t.failures, t.errors, t.skipped
    );
    let mut reasons = Vec::new();
    if t.tests == 0 {
        reasons.push("the report has no test case; a gate needs tests that ran".to_string());
    }
    if t.failures + t.errors > 0 {
        reasons.push(format!(
            "{} of {} tests failed or errored; 100% must pass",
            t.failures + t.errors,
            t.tests
        ));
    }
    (summary, reasons)
}
