//! Every parser on real-world artifacts (tests/data: cargo-nextest's JUnit produced by running
//! nextest; the others follow their tools' output formats), the verdicts against the default
//! policy, and hostile input: huge, deeply nested, entity tricks, garbage.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use greenlight_core::Policy;
use greenlight_evidence::{
    Evidence, EvidenceError, Format, Limits, TestSummary, judge, parse, parse_any,
};
use proptest::prelude::*;

fn data(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn read(name: &str) -> (Format, Evidence) {
    parse_any(None, &data(name), &Limits::default()).unwrap()
}

fn verdict(name: &str) -> greenlight_evidence::Verdict {
    judge(&read(name).1, &Policy::default())
}

#[test]
fn nextest_junit_passes_and_fails() {
    let (format, evidence) = read("nextest-pass.xml");
    assert_eq!(format, Format::Junit);
    let Evidence::Tests(t) = evidence else {
        panic!("{evidence:?}")
    };
    assert_eq!((t.tests, t.failures, t.suites), (3, 0, 1));
    assert!(verdict("nextest-pass.xml").passed);
    let failed = verdict("nextest-fail.xml");
    assert!(!failed.passed);
    assert!(
        failed.reasons[0].contains("1 of 3 tests failed"),
        "{failed:?}"
    );
}

#[test]
fn jest_junit_counts_cases_not_suite_totals_with_unicode_names() {
    let (_, evidence) = read("jest-junit.xml");
    assert_eq!(
        evidence,
        Evidence::Tests(TestSummary {
            tests: 4,
            failures: 1,
            errors: 0,
            skipped: 1,
            suites: 2,
        })
    );
}

#[test]
fn junit_without_tests_fails_the_gate() {
    let empty = br#"<testsuites name="none"></testsuites>"#;
    let evidence = parse(Format::Junit, empty, &Limits::default()).unwrap();
    let verdict = judge(&evidence, &Policy::default());
    assert!(!verdict.passed);
    assert!(verdict.reasons[0].contains("no test case"));
}

#[test]
fn lcov_uses_record_totals() {
    let (format, evidence) = read("lcov.info");
    assert_eq!(format, Format::Lcov);
    let Evidence::Coverage(c) = evidence else {
        panic!()
    };
    assert_eq!((c.lines_found, c.lines_hit), (10, 8));
    assert_eq!((c.branches_found, c.branches_hit), (4, 2));
    let verdict = verdict("lcov.info");
    assert!(!verdict.passed, "branch coverage 50% < 70%");
    assert_eq!(verdict.reasons, ["branch coverage 50.0% < 70% minimum"]);
}

#[test]
fn lcov_counts_detail_lines_without_totals() {
    let text = b"SF:a.rs\nDA:1,3\nDA:2,0\nDA:3,1\nBRDA:1,0,0,-\nBRDA:1,0,1,2\nend_of_record\n";
    let evidence = parse(Format::Lcov, text, &Limits::default()).unwrap();
    let Evidence::Coverage(c) = evidence else {
        panic!()
    };
    assert_eq!(
        (c.lines_found, c.lines_hit, c.branches_found, c.branches_hit),
        (3, 2, 2, 1)
    );
}

#[test]
fn cobertura_from_coverage_py() {
    let (format, evidence) = read("cobertura.xml");
    assert_eq!(format, Format::Cobertura);
    let Evidence::Coverage(c) = evidence else {
        panic!()
    };
    assert_eq!((c.lines_found, c.lines_hit), (1250, 1040));
    let verdict = verdict("cobertura.xml");
    assert!(verdict.passed, "{verdict:?}");
    assert_eq!(
        verdict.summary,
        "line coverage 83.2%, branch coverage 71.4%"
    );
}

#[test]
fn sarif_grades_by_security_severity_then_level() {
    let (format, evidence) = read("sarif.json");
    assert_eq!(format, Format::Sarif);
    let Evidence::SecurityFindings(s) = evidence else {
        panic!()
    };
    assert_eq!((s.critical, s.high, s.medium, s.low), (0, 1, 0, 1));
    assert!(!verdict("sarif.json").passed);
    assert!(verdict("sarif-clean.json").passed);
}

#[test]
fn dependency_audits_block_on_critical_and_high() {
    let (format, evidence) = read("npm-audit.json");
    assert_eq!(format, Format::NpmAudit);
    assert!(matches!(evidence, Evidence::Vulnerabilities(s) if s.critical == 2));
    assert!(!verdict("npm-audit.json").passed);
    let (format, _) = read("cargo-audit.json");
    assert_eq!(format, Format::CargoAudit);
    let cargo = verdict("cargo-audit.json");
    assert!(!cargo.passed, "an ungraded vulnerability counts as high");
    assert!(verdict("cargo-audit-clean.json").passed);
}

#[test]
fn page_and_api_performance_against_thresholds() {
    let page = verdict("lighthouse.json");
    assert_eq!(page.summary, "FCP 1180 ms, LCP 3421 ms");
    assert_eq!(
        page.reasons,
        ["Largest Contentful Paint 3421 ms >= 3000 ms"]
    );
    let k6 = verdict("k6-summary.json");
    assert!(k6.passed, "{k6:?}");
    assert_eq!(k6.summary, "p95 421 ms, p99 880 ms, errors 0.10%");
    let own = verdict("latency.json");
    assert_eq!(
        own.reasons,
        ["p95 610 ms >= 500 ms", "p99 1430 ms >= 1000 ms"]
    );
}

#[test]
fn a_real_lighthouse_report_parses() {
    // Lighthouse 12 run headless (Debian's chromium) against a small static page here.
    let (format, evidence) = read("lighthouse-real.json");
    assert_eq!(format, Format::Lighthouse);
    let Evidence::PagePerformance(p) = evidence else {
        panic!("{evidence:?}")
    };
    assert!(p.fcp_ms > 0.0 && p.lcp_ms >= p.fcp_ms, "{p:?}");
    assert!(verdict("lighthouse-real.json").passed);
}

/// Artifacts the tools wrote here (tests/data/real, provenance in its README.md).
fn real(name: &str) -> (Format, Evidence, greenlight_evidence::Verdict) {
    let (format, evidence) = read(&format!("real/{name}"));
    let verdict = judge(&evidence, &Policy::default());
    (format, evidence, verdict)
}

#[test]
fn junit_from_pytest_jest_and_nextest() {
    for pass in ["pytest-pass.xml", "jest-pass.xml", "nextest-pass.xml"] {
        let (format, _, verdict) = real(&format!("junit/{pass}"));
        assert_eq!(format, Format::Junit);
        assert!(verdict.passed, "{pass}: {verdict:?}");
    }
    let (_, pytest, verdict) = real("junit/pytest-fail.xml");
    let Evidence::Tests(t) = pytest else { panic!() };
    assert!(t.failures >= 1 && t.errors >= 1 && t.skipped >= 1, "{t:?}");
    assert!(!verdict.passed);
    for fail in ["jest-fail.xml", "nextest-fail.xml"] {
        assert!(!real(&format!("junit/{fail}")).2.passed, "{fail}");
    }
}

#[test]
fn coverage_from_jest_and_coverage_py() {
    for (file, format) in [
        ("lcov/jest.info", Format::Lcov),
        ("cobertura/jest.xml", Format::Cobertura),
    ] {
        let (found, _, verdict) = real(file);
        assert_eq!(found, format);
        assert!(
            !verdict.passed,
            "jest's run covers 66.7% of lines: {verdict:?}"
        );
        assert!(
            verdict.summary.starts_with("line coverage 66.7%"),
            "{verdict:?}"
        );
    }
    for file in ["lcov/coveragepy.info", "cobertura/coveragepy.xml"] {
        let (_, _, verdict) = real(file);
        assert!(verdict.passed, "{file}: {verdict:?}");
        assert!(verdict.summary.contains("86.7%"), "{verdict:?}");
    }
}

#[test]
fn sarif_from_bandit_and_codeql_extensions_with_suppressions() {
    assert!(!real("sarif/bandit-findings.sarif").2.passed);
    assert!(real("sarif/bandit-clean.sarif").2.passed);
    let (_, evidence, verdict) = real("sarif/codeql-style.sarif");
    let Evidence::SecurityFindings(s) = evidence else {
        panic!()
    };
    assert_eq!(
        (s.critical, s.high),
        (0, 1),
        "the suppressed finding drops out: {s:?}"
    );
    assert!(!verdict.passed);
}

#[test]
fn lighthouse_fast_and_slow_pages() {
    assert!(real("lighthouse/fast-page.json").2.passed);
    let slow = real("lighthouse/slow-page.json").2;
    assert!(!slow.passed);
    assert!(
        slow.reasons[0].starts_with("First Contentful Paint"),
        "{slow:?}"
    );
}

#[test]
fn npms_own_error_report_is_refused_with_its_reason() {
    let bytes = data("real/npm-audit-error.json");
    let err = parse(Format::NpmAudit, &bytes, &Limits::default()).unwrap_err();
    assert!(
        err.to_string().contains("metadata.vulnerabilities"),
        "{err}"
    );
    assert_eq!(
        parse_any(None, &bytes, &Limits::default()).unwrap_err(),
        EvidenceError::Unrecognized
    );
}

#[test]
fn format_names_round_trip() {
    for format in Format::ALL {
        assert_eq!(Format::from_name(format.as_str()), Some(format));
    }
}

// Hostile and broken input: a clear error, never a panic, never unbounded work.

fn error(format: Format, bytes: &[u8]) -> EvidenceError {
    parse(format, bytes, &Limits::default()).unwrap_err()
}

#[test]
fn xml_entities_and_doctypes_are_refused() {
    let laughs = br#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<testsuites><testsuite name="&lol2;"/></testsuites>"#;
    let err = error(Format::Junit, laughs);
    assert!(matches!(err, EvidenceError::Refused { .. }), "{err}");
    assert!(err.to_string().contains("DOCTYPE"));
    // An external DTD reference (jest's Cobertura has one) is ignored, never fetched.
    let external_dtd = br#"<!DOCTYPE coverage SYSTEM "http://cobertura.sourceforge.net/xml/coverage-04.dtd"><coverage lines-valid="10" lines-covered="9"/>"#;
    assert!(parse(Format::Cobertura, external_dtd, &Limits::default()).is_ok());
    let external = br#"<!DOCTYPE coverage [<!ENTITY x SYSTEM "file:///etc/passwd">]><coverage line-rate="&x;"/>"#;
    assert!(matches!(
        error(Format::Cobertura, external),
        EvidenceError::Refused { .. }
    ));
    let undefined = br#"<testsuites><testsuite name="&undefined;"><testcase name="a"/></testsuite></testsuites>"#;
    // An undeclared entity in an attribute is never expanded; the structure still counts.
    let evidence = parse(Format::Junit, undefined, &Limits::default()).unwrap();
    assert!(matches!(evidence, Evidence::Tests(t) if t.tests == 1));
}

#[test]
fn deep_nesting_is_refused() {
    let deep_xml = format!(
        "<testsuites>{}{}</testsuites>",
        "<testsuite>".repeat(100_000),
        "</testsuite>".repeat(100_000)
    );
    let err = error(Format::Junit, deep_xml.as_bytes());
    assert!(err.to_string().contains("deeper than 256"), "{err}");
    let deep_json = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let err = error(Format::Sarif, deep_json.as_bytes());
    assert!(matches!(err, EvidenceError::Malformed { .. }), "{err}");
}

#[test]
fn huge_files_are_refused_before_parsing() {
    let huge = vec![b' '; 60 * 1024 * 1024];
    let err = parse_any(Some(Format::Lcov), &huge, &Limits::default()).unwrap_err();
    assert!(matches!(err, EvidenceError::TooLarge { .. }), "{err}");
}

#[test]
fn garbage_gets_a_clear_error() {
    assert!(matches!(
        error(Format::Junit, b"\xff\xfe not utf8"),
        EvidenceError::NotText { .. }
    ));
    assert!(matches!(
        error(Format::Junit, b""),
        EvidenceError::Malformed { .. }
    ));
    assert!(
        error(Format::Junit, b"<html><body/></html>")
            .to_string()
            .contains("root element is <html>")
    );
    assert!(
        error(Format::Lcov, b"hello world")
            .to_string()
            .contains("line 1")
    );
    assert!(
        error(Format::Cobertura, br#"<coverage line-rate="lots"/>"#)
            .to_string()
            .contains("not a number")
    );
    assert!(
        error(Format::Lighthouse, b"{}")
            .to_string()
            .contains("first-contentful-paint")
    );
    assert!(
        error(Format::NpmAudit, b"[1,2]")
            .to_string()
            .contains("metadata.vulnerabilities")
    );
    assert_eq!(
        parse_any(None, b"just some text", &Limits::default()).unwrap_err(),
        EvidenceError::Unrecognized
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn no_input_makes_a_parser_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        for format in Format::ALL {
            let _ = parse(format, &bytes, &Limits::default());
        }
        let _ = parse_any(None, &bytes, &Limits::default());
    }

    #[test]
    fn xml_like_input_never_panics(text in "<(testsuites|coverage|testsuite|testcase|failure)( [a-z-]{1,8}=\"[0-9.a-z]{0,4}\"){0,3}>{0,1}[<>/a-z =\"&;]{0,200}") {
        for format in [Format::Junit, Format::Cobertura] {
            let _ = parse(format, text.as_bytes(), &Limits::default());
        }
    }
}
