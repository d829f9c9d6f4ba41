//! Dashboard pages against a real server on SQLite and PostgreSQL: release filters, the release
//! calendar (Thanksgiving, a daylight-saving week), the calendar subscription link a calendar
//! app uses without a session, and the audit trail's search, paging and exports.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use reqwest::blocking::Response;
use serde_json::Value;
use sha2::{Digest, Sha256};

mod support;
use support::dashboard::{browser, csrf, get, post, sign_in};
use support::{ADMIN, Server, assert_ok, databases, http};

/// A page's status and HTML (with the slashes that minijinja escapes put back).
fn page(server: &Server, cookie: &str, path: &str) -> (u16, String) {
    let response = get(server, cookie, path);
    (
        response.status().as_u16(),
        unslash(&response.text().unwrap()),
    )
}

fn unslash(html: &str) -> String {
    html.replace("&#x2f;", "/")
}

/// The HTML of one day of the calendar (`2026-11-26`).
fn day<'a>(html: &'a str, date: &str) -> &'a str {
    let marker = format!(r#"id="d-{date}""#);
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no day {date}"));
    let rest = &html[start..];
    let end = rest[marker.len()..]
        .find(r#"id="d-"#)
        .map(|i| i + marker.len())
        .or_else(|| rest.find("</ol>"))
        .unwrap();
    &rest[..end]
}

/// Release versions linked from a page, in order.
fn linked_versions(html: &str) -> Vec<String> {
    html.split(r#"<a href="/ui/releases/"#)
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_string())
        .collect()
}

#[test]
fn release_filters_narrow_the_list_and_a_bad_value_is_a_clear_400() {
    for db in databases() {
        let server = Server::start(&db);
        let erin = server.add_user("erin", "engineering_lead");
        server.set_clock("2026-11-24T18:00:00Z");
        let plan = |args: &[&str]| {
            let mut all = vec!["release", "plan"];
            all.extend_from_slice(args);
            assert_ok(&server.cli(&erin, &all));
        };
        plan(&["--version", "1.4.0"]);
        // After 1.4.0 (Thursday 2026-12-10): versions reach production in increasing order.
        plan(&[
            "--version",
            "1.4.1",
            "--type",
            "patch",
            "--date",
            "2026-12-15T14:00",
        ]);
        plan(&["--version", "1.5.0", "--date", "2027-01-07T14:00"]);
        let cancel = ["release", "cancel", "1.5.0", "--reason", "scope moved"];
        assert_ok(&server.cli(&erin, &cancel));
        let lead = sign_in(&server, &erin);

        let (status, all) = page(&server, &lead, "/ui/releases");
        assert_eq!(status, 200, "{}", db.name);
        let mut versions = linked_versions(&all);
        versions.sort();
        assert_eq!(versions, ["1.4.0", "1.4.1", "1.5.0"], "{}", db.name);
        for part in [
            r#"<label for="filter-type">Type</label>"#,
            r#"<select id="filter-type" name="type">"#,
            r#"<label for="filter-status">Status</label>"#,
            r#"<button type="submit">Filter</button>"#,
            r#"<option value="rolled_back">rolled back</option>"#,
        ] {
            assert!(all.contains(part), "{part}: {all}");
        }

        let cases = [
            ("?type=patch", vec!["1.4.1"]),
            ("?status=cancelled", vec!["1.5.0"]),
            ("?type=standard&status=planned", vec!["1.4.0"]),
            ("?type=hotfix", vec![]),
            ("?type=&status=", vec!["1.5.0", "1.4.1", "1.4.0"]),
        ];
        for (query, expected) in cases {
            let (status, html) = page(&server, &lead, &format!("/ui/releases{query}"));
            assert_eq!(status, 200, "{query}");
            let mut got = linked_versions(&html);
            let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
            got.sort();
            want.sort();
            assert_eq!(got, want, "{query} on {}", db.name);
            if want.is_empty() {
                assert!(html.contains("No release matches these filters"), "{html}");
            }
        }
        let (_, patch) = page(&server, &lead, "/ui/releases?type=patch");
        assert!(
            patch.contains(r#"<option value="patch" selected>"#),
            "{patch}"
        );

        let (status, bad) = page(&server, &lead, "/ui/releases?type=bogus");
        assert_eq!(status, 400);
        assert!(
            bad.contains(r#"class="error" role="alert""#)
                && bad.contains(
                    "`bogus` is not a release type; expected one of: standard, patch, hotfix, major"
                ),
            "{bad}"
        );
        assert!(linked_versions(&bad).is_empty());
        let (status, bad) = page(&server, &lead, "/ui/releases?status=live");
        assert_eq!(status, 400);
        assert!(bad.contains("`live` is not a release status"), "{bad}");
    }
}

#[test]
fn calendar_shows_thanksgiving_releases_in_their_local_days_and_a_dst_week() {
    for db in databases() {
        let server = Server::start(&db);
        let erin = server.add_user("erin", "engineering_lead");
        server.set_clock("2026-10-20T17:00:00Z");
        // Thursday after the fall-back change (Nov 1), and the Thursday after Thanksgiving.
        let dst = [
            "release",
            "plan",
            "--version",
            "2.0.0",
            "--date",
            "2026-11-05T14:00",
        ];
        assert_ok(&server.cli(&erin, &dst));
        let december = [
            "release",
            "plan",
            "--version",
            "2.1.0",
            "--date",
            "2026-12-03T14:00",
        ];
        assert_ok(&server.cli(&erin, &december));
        server.set_clock("2026-11-20T18:00:00Z");
        let lead = sign_in(&server, &erin);

        let (status, html) = page(&server, &lead, "/ui/calendar?from=2026-11-25&weeks=2");
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("Week of Mon 2026-11-23"), "{html}");
        assert!(html.contains("Week of Mon 2026-11-30"), "{html}");
        assert!(!html.contains(r#"id="d-2026-12-07""#), "two weeks only");
        assert!(html.contains("America/Los_Angeles"));

        let thanksgiving = day(&html, "2026-11-26");
        assert!(
            thanksgiving.contains("No deploys: Thanksgiving"),
            "{thanksgiving}"
        );
        assert!(!thanksgiving.contains("Deploy window"), "{thanksgiving}");
        let freeze = day(&html, "2026-11-23");
        for part in [
            "09:00 PST",
            "Code freeze",
            r#"<a href="/ui/releases/2.1.0">2.1.0</a>"#,
        ] {
            assert!(freeze.contains(part), "{part}: {freeze}");
        }
        assert!(
            day(&html, "2026-11-30").contains("No deploys 00:00–12:00 PST (Monday mornings"),
            "{html}"
        );
        let staging = day(&html, "2026-12-01");
        assert!(
            staging.contains("10:00 PST</time> Staging deployment: <a href=\"/ui/releases/2.1.0\""),
            "{staging}"
        );
        // The patch train's Tuesday, only if needed.
        assert!(
            staging.contains(
                "Production deployment: next patch release on the train (only if needed)"
            ),
            "{staging}"
        );
        let deploy = day(&html, "2026-12-03");
        assert!(
            deploy.contains("14:00 PST</time> Production deployment: <a href=\"/ui/releases/2.1.0\">2.1.0</a> (standard, planned)"),
            "{deploy}"
        );
        assert!(deploy.contains("Deploy window"), "{deploy}");
        assert!(
            deploy.contains("14:00–16:00 PST</time>: standard, patch, major"),
            "{deploy}"
        );
        // 2.1.0 took the standard train's slot (moved off Thanksgiving): not shown twice.
        assert!(!deploy.contains("next standard release"), "{deploy}");

        // A week across the fall-back change: 14:00 stays 14:00, the zone name changes.
        let (status, dst) = page(&server, &lead, "/ui/calendar?from=2026-10-26&weeks=2");
        assert_eq!(status, 200);
        assert_eq!(dst.matches(r#"<li id="d-"#).count(), 14, "{dst}");
        for date in ["2026-10-31", "2026-11-01", "2026-11-02"] {
            assert_eq!(
                dst.matches(&format!(r#"id="d-{date}""#)).count(),
                1,
                "{date}"
            );
        }
        let monday = day(&dst, "2026-10-26");
        assert!(
            monday.contains("09:00 PDT</time> Code freeze: <a href=\"/ui/releases/2.0.0\""),
            "{monday}"
        );
        assert!(day(&dst, "2026-10-29").contains("14:00–16:00 PDT"), "{dst}");
        assert!(
            day(&dst, "2026-11-01").contains("Clocks change today: PDT to PST."),
            "{dst}"
        );
        assert!(
            day(&dst, "2026-11-03")
                .contains("10:00 PST</time> Staging deployment: <a href=\"/ui/releases/2.0.0\""),
            "{dst}"
        );
        let thursday = day(&dst, "2026-11-05");
        assert!(thursday.contains("14:00–16:00 PST"), "{thursday}");
        assert!(
            thursday.contains(r#"<time datetime="2026-11-05T22:00:00Z">14:00 PST</time> Production deployment: <a href="/ui/releases/2.0.0">"#),
            "{thursday}"
        );

        for (query, message) in [
            (
                "weeks=0",
                "`weeks` must be a whole number of weeks from 1 to 104; `0` is not.",
            ),
            ("weeks=105", "`105` is not"),
            (
                "from=11/25/2026",
                "`from` must be a date like 2026-11-23; `11/25/2026` is not.",
            ),
        ] {
            let (status, html) = page(&server, &lead, &format!("/ui/calendar?{query}"));
            assert_eq!(status, 400, "{query}");
            assert!(html.contains(message), "{query}: {html}");
        }
    }
}

/// The path of the subscription link shown on a calendar page.
fn shown_link(html: &str) -> String {
    let start = html.find(r#"id="feed-link""#).expect("a link");
    let value = &html[start..];
    let value = &value[value.find("value=\"").unwrap() + 7..];
    let link = value.split('"').next().unwrap();
    assert!(
        link.starts_with("http://127.0.0.1:8080/calendar/glc_"),
        "{link}"
    );
    link.trim_start_matches("http://127.0.0.1:8080").to_string()
}

fn feed(server: &Server, path: &str) -> Response {
    http().get(format!("{}{path}", server.url)).send().unwrap()
}

fn property<'a>(event: &'a ical::parser::ical::component::IcalEvent, name: &str) -> &'a str {
    event
        .properties
        .iter()
        .find(|p| p.name == name)
        .and_then(|p| p.value.as_deref())
        .unwrap_or_default()
}

#[test]
fn a_subscription_link_feeds_a_calendar_app_until_revoked() {
    for db in databases() {
        let server = Server::start(&db);
        let erin = server.add_user("erin", "engineering_lead");
        server.set_clock("2026-11-10T17:00:00Z");
        let plan = [
            "release",
            "plan",
            "--version",
            "2.1.0",
            "--date",
            "2026-12-03T14:00",
        ];
        assert_ok(&server.cli(&erin, &plan));
        server.set_clock("2026-11-20T18:00:00Z");
        let lead = sign_in(&server, &erin);
        let (_, html) = page(&server, &lead, "/ui/calendar");
        assert!(html.contains("Create a subscription link"), "{html}");
        let token = csrf(&html);

        let forged = post(&server, &lead, "/ui/calendar/subscription", &[]);
        assert_eq!(forged.status().as_u16(), 403, "no CSRF token");
        let (_, html) = page(&server, &lead, "/ui/calendar");
        assert!(
            !html.contains("You have a subscription link"),
            "nothing was created"
        );

        let created = post(
            &server,
            &lead,
            "/ui/calendar/subscription",
            &[("csrf", &token)],
        );
        assert_eq!(created.status().as_u16(), 200);
        let html = unslash(&created.text().unwrap());
        assert!(html.contains("shown only this once"), "{html}");
        let link = shown_link(&html);

        // A calendar app: no cookie, no Authorization header.
        let response = feed(&server, &link);
        assert_eq!(response.status().as_u16(), 200, "{}", db.name);
        assert_eq!(
            response.headers()["content-type"],
            "text/calendar; charset=utf-8"
        );
        let text = response.text().unwrap();
        let calendar = ical::IcalParser::new(text.as_bytes())
            .next()
            .expect("a calendar")
            .expect("parseable iCalendar");
        let deploy = calendar
            .events
            .iter()
            .find(|e| property(e, "SUMMARY") == "Production deployment: 2.1.0")
            .unwrap_or_else(|| panic!("the release in the feed: {text}"));
        assert_eq!(property(deploy, "DTSTART"), "20261203T220000Z");
        assert!(property(deploy, "URL").ends_with("/ui/releases/2.1.0"));
        assert!(
            calendar
                .events
                .iter()
                .any(|e| property(e, "SUMMARY") == "Code freeze: 2.1.0")
        );
        let thanksgiving = calendar
            .events
            .iter()
            .find(|e| property(e, "SUMMARY") == "No deploys: Thanksgiving")
            .unwrap_or_else(|| panic!("the blackout in the feed: {text}"));
        assert_eq!(property(thanksgiving, "DTSTART"), "20261126");
        assert_eq!(property(thanksgiving, "DTEND"), "20261127");

        // The secret grants nothing else: not the API, not the dashboard.
        let secret = link
            .trim_start_matches("/calendar/")
            .trim_end_matches(".ics")
            .to_string();
        let api = http()
            .get(server.api("/releases"))
            .bearer_auth(&secret)
            .send()
            .unwrap();
        assert_eq!(api.status().as_u16(), 401);
        let ui = get(&server, &format!("gl_session={secret}"), "/ui/releases");
        assert_eq!(ui.status().as_u16(), 303);

        let (_, html) = page(&server, &lead, "/ui/calendar");
        assert!(
            html.contains("You have a subscription link, created"),
            "{html}"
        );
        assert!(!html.contains(&secret), "the secret is shown only once");

        // A new link replaces the old one.
        let replaced = post(
            &server,
            &lead,
            "/ui/calendar/subscription",
            &[("csrf", &token)],
        );
        let newer = shown_link(&unslash(&replaced.text().unwrap()));
        assert_ne!(newer, link);
        assert_eq!(feed(&server, &link).status().as_u16(), 404);
        assert_eq!(feed(&server, &newer).status().as_u16(), 200);

        let forged = post(&server, &lead, "/ui/calendar/subscription/revoke", &[]);
        assert_eq!(forged.status().as_u16(), 403, "no CSRF token");
        assert_eq!(feed(&server, &newer).status().as_u16(), 200, "still live");
        let revoked = post(
            &server,
            &lead,
            "/ui/calendar/subscription/revoke",
            &[("csrf", &token)],
        );
        assert_eq!(revoked.status().as_u16(), 200);
        assert!(revoked.text().unwrap().contains("revoked"));
        assert_eq!(feed(&server, &newer).status().as_u16(), 404);
        let again = post(
            &server,
            &lead,
            "/ui/calendar/subscription/revoke",
            &[("csrf", &token)],
        );
        assert_eq!(again.status().as_u16(), 404);
        assert!(
            again
                .text()
                .unwrap()
                .contains("no subscription link to revoke")
        );

        for unknown in [
            "/calendar/glc_0000.ics",
            "/calendar/nothing",
            "/calendar/.ics",
        ] {
            assert_eq!(feed(&server, unknown).status().as_u16(), 404, "{unknown}");
        }

        // Creating and revoking are in the audit trail, by the user.
        let (_, trail) = page(&server, &lead, "/ui/audit?action=calendar_feed.");
        assert_eq!(
            trail.matches("<td>calendar_feed.create</td>").count(),
            2,
            "{trail}"
        );
        assert_eq!(
            trail.matches("<td>calendar_feed.revoke</td>").count(),
            1,
            "{trail}"
        );
        assert_eq!(trail.matches("<td>erin</td>").count(), 3, "{trail}");
    }
}

/// The JSON export at `query`.
fn export_json(server: &Server, cookie: &str, query: &str) -> Vec<Value> {
    let response = get(server, cookie, &format!("/ui/audit/export.json{query}"));
    assert_eq!(response.status().as_u16(), 200, "{query}");
    assert_eq!(
        response.headers()["content-disposition"],
        "attachment; filename=\"greenlight-audit.json\""
    );
    response.json().unwrap()
}

fn seqs(entries: &[Value]) -> Vec<i64> {
    entries.iter().map(|e| e["seq"].as_i64().unwrap()).collect()
}

/// Entry numbers shown in an audit page's table, in order.
fn page_seqs(html: &str) -> Vec<i64> {
    html.split("<tr>\n    <td>")
        .skip(1)
        .map(|s| s.split('<').next().unwrap().parse().unwrap())
        .collect()
}

/// The entry's hash as the store computes it, from its exported fields.
fn chain_hash(row: &csv::StringRecord) -> String {
    let quoted = |s: &str| serde_json::to_string(s).unwrap();
    let json_or_null = |s: &str| {
        if s.is_empty() {
            "null".to_string()
        } else {
            s.to_string()
        }
    };
    let canonical = format!(
        r#"{{"seq":{},"at":{},"actor":{},"action":{},"subject":{},"before":{},"after":{}}}"#,
        &row[0],
        quoted(&row[1]),
        quoted(&row[2]),
        quoted(&row[3]),
        quoted(&row[4]),
        json_or_null(&row[5]),
        json_or_null(&row[6]),
    );
    let mut hasher = Sha256::new();
    hasher.update(row[7].as_bytes());
    hasher.update(b"\n");
    hasher.update(canonical.as_bytes());
    hex::encode(hasher.finalize())
}

#[test]
fn audit_search_pages_and_exports_that_match_the_chain() {
    for db in databases() {
        let server = Server::start(&db);
        server.set_clock("2026-11-16T18:00:00Z");
        let erin = server.add_user("erin", "engineering_lead");
        let quinn = server.add_user("quinn", "qa_lead");
        server.set_clock("2026-11-24T18:00:00Z");
        assert_ok(&server.cli(&erin, &["release", "plan", "--version", "1.4.0"]));
        assert_ok(&server.cli(&erin, &["release", "plan", "--version", "1.5.0"]));
        // Sign-ins are audited too: enough of them for more than one page.
        for _ in 0..52 {
            sign_in(&server, &quinn);
        }
        let lead = sign_in(&server, &erin);
        let all = export_json(&server, &lead, "");
        let total = all.len();
        assert!(total > 56, "{total}");
        assert_eq!(
            seqs(&all),
            (1..=total as i64).collect::<Vec<_>>(),
            "oldest first"
        );

        // Each search narrows, and the page shows what the export holds.
        let narrowed = |query: &str, keep: &dyn Fn(&Value) -> bool| {
            let entries = export_json(&server, &lead, query);
            assert!(!entries.is_empty() && entries.len() < total, "{query}");
            assert!(entries.iter().all(keep), "{query}: {entries:?}");
            let expected: Vec<i64> = all
                .iter()
                .filter(|e| keep(e))
                .map(|e| e["seq"].as_i64().unwrap())
                .collect();
            assert_eq!(seqs(&entries), expected, "{query} on {}", db.name);
            entries
        };
        let by_erin = narrowed("?actor=erin", &|e| e["actor"] == "erin");
        let (status, html) = page(&server, &lead, "/ui/audit?actor=erin");
        assert_eq!(status, 200);
        let mut shown = page_seqs(&html);
        shown.reverse();
        assert_eq!(shown, seqs(&by_erin), "{html}");
        assert!(html.contains(r#"<input id="audit-actor" name="actor" value="erin""#));
        assert!(
            html.contains(r#"href="/ui/audit/export.csv?actor=erin""#),
            "{html}"
        );

        narrowed("?action=release.", &|e| {
            e["action"].as_str().unwrap().starts_with("release.")
        });
        narrowed("?q=QA_LEAD", &|e| {
            e.to_string().to_lowercase().contains("qa_lead")
        });
        narrowed("?to=2026-11-16", &|e| {
            e["at"].as_str().unwrap() < "2026-11-17T08:00:00Z"
        });
        narrowed("?from=2026-11-17&actor=erin&q=1.5.0", &|e| {
            e["actor"] == "erin" && e.to_string().contains("1.5.0")
        });
        let release = narrowed("?release=1.4.0", &|e| {
            e["subject"].as_str().unwrap().starts_with("release:")
                && e["after"]["record"]["version"] == "1.4.0"
        });
        let subject = release[0]["subject"].as_str().unwrap();
        let same = export_json(&server, &lead, &format!("?subject={subject}"));
        assert_eq!(seqs(&same), seqs(&release));
        let (_, html) = page(&server, &lead, "/ui/audit?subject=1.4.0");
        assert!(
            html.contains(r#"<a href="/ui/releases/1.4.0">release 1.4.0</a>"#),
            "{html}"
        );

        // Paging: newest first, 50 a page; older and newer by entry number.
        let (_, first) = page(&server, &lead, "/ui/audit");
        let newest: Vec<i64> = (total as i64 - 49..=total as i64).rev().collect();
        assert_eq!(page_seqs(&first), newest);
        let older = format!(r#"href="/ui/audit?before={}""#, total - 49);
        assert!(first.contains(&older), "{first}");
        assert!(!first.contains("Newer entries"));
        let (_, second) = page(&server, &lead, &format!("/ui/audit?before={}", total - 49));
        let rest: Vec<i64> = (1..total as i64 - 49).rev().collect();
        assert_eq!(page_seqs(&second), rest);
        assert!(!second.contains("Older entries"), "{second}");
        let newer = format!("/ui/audit?after={}", total - 50);
        assert!(second.contains(&format!(r#"href="{newer}""#)), "{second}");
        assert_eq!(page_seqs(&page(&server, &lead, &newer).1), newest);

        // The CSV export holds the JSON export's entries, and each row checks against the chain.
        let response = get(&server, &lead, "/ui/audit/export.csv");
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(
            response.headers()["content-type"],
            "text/csv; charset=utf-8"
        );
        assert_eq!(
            response.headers()["content-disposition"],
            "attachment; filename=\"greenlight-audit.csv\""
        );
        let body = response.text().unwrap();
        let mut reader = csv::Reader::from_reader(body.as_bytes());
        assert_eq!(
            reader.headers().unwrap(),
            vec![
                "seq",
                "at",
                "actor",
                "action",
                "subject",
                "before",
                "after",
                "prev_hash",
                "hash"
            ]
        );
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), total);
        let mut previous = "0".repeat(64);
        for (row, entry) in rows.iter().zip(&all) {
            assert_eq!(row[0], entry["seq"].to_string());
            let at: jiff::Timestamp = row[1].parse().unwrap();
            assert_eq!(at, entry["at"].as_str().unwrap().parse().unwrap());
            assert_eq!(row[2], *entry["actor"].as_str().unwrap());
            assert_eq!(row[3], *entry["action"].as_str().unwrap());
            assert_eq!(row[4], *entry["subject"].as_str().unwrap());
            for (column, field) in [(5, "before"), (6, "after")] {
                let parsed: Value = if row[column].is_empty() {
                    Value::Null
                } else {
                    serde_json::from_str(&row[column]).unwrap()
                };
                assert_eq!(parsed, entry[field], "{field} of {}", &row[0]);
            }
            assert_eq!(
                row[7], previous,
                "entry {} links to the one before",
                &row[0]
            );
            assert_eq!(row[8], *entry["hash"].as_str().unwrap());
            assert_eq!(chain_hash(row), row[8], "entry {} on {}", &row[0], db.name);
            previous = row[8].to_string();
        }
        let verified: Value = http()
            .get(server.api("/audit/verify"))
            .bearer_auth(ADMIN)
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(verified["head_hash"], previous.as_str());

        // Bad input is a message in the page, not a 500.
        for (query, status, message) in [
            (
                "?from=11/20/2026",
                400,
                "`from` must be a date like 2026-11-23; `11/20/2026` is not.",
            ),
            ("?from=2026-11-20&to=2026-11-10", 400, "must be on or after"),
            ("?before=abc", 400, "`before` must be an entry number"),
            ("?release=9.9.9", 404, "no release `9.9.9`"),
        ] {
            let (got, html) = page(&server, &lead, &format!("/ui/audit{query}"));
            assert_eq!(got, status, "{query}");
            assert!(
                html.contains(r#"class="error" role="alert""#),
                "{query}: {html}"
            );
            assert!(html.contains(message), "{query}: {html}");
            let export = get(&server, &lead, &format!("/ui/audit/export.csv{query}"));
            if !query.starts_with("?before") {
                assert_eq!(export.status().as_u16(), status, "export {query}");
            }
        }
        let anonymous = browser()
            .get(format!("{}/ui/audit/export.csv", server.url))
            .send()
            .unwrap();
        assert_eq!(anonymous.status().as_u16(), 303, "exports need a session");
    }
}
