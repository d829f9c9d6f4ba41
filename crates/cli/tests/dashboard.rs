//! The web dashboard against a real server over HTTP (a browser's requests, no JavaScript
//! needed): sign-in with a token into a session cookie, pages for releases and flags, the kill
//! switch as a form, CSRF and role checks, escaping, sign-out.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use reqwest::blocking::{Client, Response};
use reqwest::redirect::Policy;
use serde_json::json;

mod support;
use support::{Db, Server, assert_ok, http};

fn browser() -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder().redirect(Policy::none()).build().unwrap()
}

/// Signs in with `token`; the session cookie (`gl_session=...`).
fn sign_in(server: &Server, token: &str) -> String {
    let response = browser()
        .post(format!("{}/ui/login", server.url))
        .form(&[("token", token)])
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(response.headers()["location"], "/ui/releases");
    let set = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/ui", "Max-Age=43200"] {
        assert!(set.contains(attribute), "{set}");
    }
    set.split(';').next().unwrap().to_string()
}

fn get(server: &Server, cookie: &str, path: &str) -> Response {
    browser()
        .get(format!("{}{path}", server.url))
        .header("cookie", cookie)
        .send()
        .unwrap()
}

fn post(server: &Server, cookie: &str, path: &str, form: &[(&str, &str)]) -> Response {
    browser()
        .post(format!("{}{path}", server.url))
        .header("cookie", cookie)
        .form(form)
        .send()
        .unwrap()
}

/// The CSRF token of the first form of a page.
fn csrf(html: &str) -> String {
    let start = html.find(r#"name="csrf" value=""#).expect("a form") + 19;
    html[start..].split('"').next().unwrap().to_string()
}

#[test]
fn sign_in_browse_and_kill_a_flag_with_roles_and_csrf() {
    let db = Db::sqlite();
    let server = Server::start(&db);
    let erin = server.add_user("erin", "engineering_lead");
    let quinn = server.add_user("quinn", "qa_lead");

    let anonymous = browser()
        .get(format!("{}/ui/releases", server.url))
        .send()
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 303);
    assert_eq!(anonymous.headers()["location"], "/ui/login");
    let wrong = browser()
        .post(format!("{}/ui/login", server.url))
        .form(&[("token", "glt_nope")])
        .send()
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    assert!(wrong.text().unwrap().contains("That token is unknown"));

    let lead = sign_in(&server, &erin);
    let empty = get(&server, &lead, "/ui/releases").text().unwrap();
    assert!(empty.contains("No releases yet"), "{empty}");
    server.set_clock("2026-11-24T18:00:00Z");
    assert_ok(&server.cli(&erin, &["release", "plan", "--version", "1.4.0"]));
    let list = get(&server, &lead, "/ui/releases").text().unwrap();
    assert!(
        list.contains(r#"<a href="/ui/releases/1.4.0">1.4.0</a>"#),
        "{list}"
    );
    assert!(list.contains("Thu 2026-12-10 14:00 PST"), "{list}");
    let detail = get(&server, &lead, "/ui/releases/1.4.0");
    assert_eq!(detail.status().as_u16(), 200);
    let detail = detail.text().unwrap();
    for part in [
        "○ code freeze complete",
        "Still needed: engineering_lead, qa_lead, product_owner",
        "standard release 1.4.0",
        "unit_tests",
        "Go/No-Go: pending",
        "standard release 1.4.0 planned",
    ] {
        assert!(detail.contains(part), "{part}: {detail}");
    }
    assert_eq!(
        get(&server, &lead, "/ui/releases/9.9.9").status().as_u16(),
        404
    );

    // Actions show per role; the core decides, and a refusal names its rule in the page.
    assert!(
        detail.contains("Approve as engineering_lead") && !detail.contains("Approve as qa_lead")
    );
    let qa = sign_in(&server, &quinn);
    let qa_detail = get(&server, &qa, "/ui/releases/1.4.0").text().unwrap();
    assert!(
        qa_detail.contains("Approve as qa_lead")
            && !qa_detail.contains("Approve as engineering_lead")
    );
    let qa_token = csrf(&qa_detail);
    let approve = |role: &str| {
        post(
            &server,
            &qa,
            "/ui/releases/1.4.0/approve",
            &[("csrf", &qa_token), ("role", role)],
        )
    };
    let forged = approve("engineering_lead");
    assert_eq!(
        forged.status().as_u16(),
        403,
        "posting for a role one does not hold"
    );
    assert!(forged.text().unwrap().contains("permission"));
    let early = approve("qa_lead");
    let status = early.status().as_u16();
    let early = early.text().unwrap();
    assert_eq!(status, 422, "{early}");
    assert!(early.contains(r#"class="error" role="alert""#), "{early}");
    let vote = |extra: &[(&str, &str)]| {
        let mut form = vec![("csrf", qa_token.as_str()), ("role", "qa_lead")];
        form.extend_from_slice(extra);
        post(&server, &qa, "/ui/releases/1.4.0/go-no-go", &form)
            .status()
            .as_u16()
    };
    assert_eq!(vote(&[]), 400, "no choice");
    assert_eq!(vote(&[("vote", "go")]), 422, "gates and approvals first");

    // Flags: the kill switch is a form for those who may pull it.
    let flag = ["flag", "create", "new-rhythm-game", "--stage", "100"];
    assert_ok(&server.cli(&erin, &flag));
    assert_ok(&server.cli(&erin, &["flag", "advance", "new-rhythm-game"]));
    let qa_page = get(&server, &qa, "/ui/flags").text().unwrap();
    assert!(
        qa_page.contains("new-rhythm-game") && !qa_page.contains("Kill new-rhythm-game"),
        "{qa_page}"
    );
    let qa_csrf = csrf(&qa_page);
    let refused = post(
        &server,
        &qa,
        "/ui/flags/new-rhythm-game/kill",
        &[("csrf", &qa_csrf), ("reason", "x")],
    );
    assert_eq!(refused.status().as_u16(), 403, "the core still refuses QA");
    assert!(refused.text().unwrap().contains("permission"));

    let page = get(&server, &lead, "/ui/flags").text().unwrap();
    assert!(page.contains("Kill new-rhythm-game"), "{page}");
    let forged = post(
        &server,
        &lead,
        "/ui/flags/new-rhythm-game/kill",
        &[("reason", "x")],
    );
    assert_eq!(forged.status().as_u16(), 403, "no CSRF token");
    let other = post(
        &server,
        &lead,
        "/ui/flags/new-rhythm-game/kill",
        &[("csrf", &qa_csrf), ("reason", "x")],
    );
    assert_eq!(other.status().as_u16(), 403, "another session's token");
    let hostile = "<script>alert(1)</script> scores lost";
    let killed = post(
        &server,
        &lead,
        "/ui/flags/new-rhythm-game/kill",
        &[("csrf", &csrf(&page)), ("reason", hostile)],
    );
    assert_eq!(killed.status().as_u16(), 200);
    let killed = killed.text().unwrap();
    assert!(killed.contains("new-rhythm-game is killed"), "{killed}");
    assert!(
        killed.contains("&lt;script&gt;") && !killed.contains("<script>alert"),
        "{killed}"
    );
    let value: serde_json::Value = http()
        .post(format!(
            "{}/ofrep/v1/evaluate/flags/new-rhythm-game",
            server.url
        ))
        .json(&json!({"context": {"targetingKey": "student-1"}}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(value["reason"], "DISABLED");

    // Sign-out ends the session on the server, not only in the browser.
    let out = post(&server, &lead, "/ui/logout", &[("csrf", &csrf(&killed))]);
    assert_eq!(out.status().as_u16(), 303);
    assert!(
        out.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    assert_eq!(get(&server, &lead, "/ui/releases").status().as_u16(), 303);
    let css = get(&server, &qa, "/ui/assets/app.css");
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
}
