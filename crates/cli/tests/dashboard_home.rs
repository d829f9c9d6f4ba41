//! The dashboard's home page against a real server: `/` leads to it (or to the sign-in), and
//! each role sees Now, Next, Waiting on (its own actions first, as links to the forms) and Flags;
//! the flags page restores a killed flag.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;
use greenlight_core::gates::GatePhase;
use support::dashboard::{browser, csrf, get, post, sign_in};
use support::{ADMIN, Db, Server, assert_ok, databases, record_gates, stdout};

/// The home page's HTML for `cookie` (with the slashes that minijinja escapes put back).
fn home(server: &Server, cookie: &str) -> String {
    let response = get(server, cookie, "/ui/home");
    assert_eq!(response.status().as_u16(), 200);
    response.text().unwrap().replace("&#x2f;", "/")
}

/// The part of `html` from heading `id` to the next section.
fn part<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html.find(&format!(r#"id="{id}""#)).expect(id);
    let rest = &html[start..];
    &rest[..rest.find("</section>").unwrap()]
}

#[test]
fn the_home_page_shows_each_role_what_is_live_next_and_waiting_on_them() {
    for db in databases() {
        let server = Server::start(&db);
        let erin = server.add_user("erin", "engineering_lead");
        let quinn = server.add_user("quinn", "qa_lead");
        let paula = server.add_user("paula", "product_owner");
        let oscar = server.add_user("oscar", "on_call_engineer");
        server.set_clock("2026-11-24T18:00:00Z");

        // Signed out, `/` and the home page lead to the sign-in.
        let root = browser().get(format!("{}/", server.url)).send().unwrap();
        assert_eq!(root.status().as_u16(), 303, "{}", db.name);
        assert_eq!(root.headers()["location"], "/ui/home");
        let anonymous = browser()
            .get(format!("{}/ui/home", server.url))
            .send()
            .unwrap();
        assert_eq!(anonymous.headers()["location"], "/ui/login");

        let lead = sign_in(&server, &erin);
        let empty = home(&server, &lead);
        assert!(
            empty.contains("Nothing is live in production yet."),
            "{empty}"
        );
        assert!(empty.contains("No release in flight."), "{empty}");

        assert_ok(&server.cli(&erin, &["release", "plan", "--version", "1.4.0"]));
        assert_ok(&server.cli(
            &erin,
            &["flag", "create", "new-rhythm-game", "--kind", "release"],
        ));
        assert_ok(&server.cli(&erin, &["flag", "advance", "new-rhythm-game"]));

        // The engineering lead: every part, the release's phase as progress, countdowns in
        // relative and local time, gates by their spec wording with a link to the form.
        let html = home(&server, &lead);
        for heading in ["Now", "Next", "Waiting on", "Flags"] {
            assert!(
                html.contains(&format!(">{heading}</h2>")),
                "{heading}: {html}"
            );
        }
        let next = part(&html, "next-h");
        assert!(
            next.contains(r#"<a href="/ui/releases/1.4.0">1.4.0</a>"#),
            "{next}"
        );
        assert!(
            next.contains(r#"<li class="current" aria-current="step">Planning</li>"#),
            "{next}"
        );
        assert!(next.contains("Code freeze: in "), "{next}");
        assert!(next.contains("Deployment window ("), "{next}");
        assert!(next.contains("Go/No-Go meeting: in "), "{next}");
        let waiting = part(&html, "waiting-h");
        assert!(waiting.contains("You can do:"), "{waiting}");
        assert!(
            waiting.contains("Gate: All features merged and code reviewed: <a href=\"/ui/releases/1.4.0#gates\">Record the gate"),
            "{waiting}"
        );
        assert!(!html.contains("features_merged_and_reviewed"), "{html}");
        let flags = part(&html, "flags-h");
        assert!(flags.contains("new-rhythm-game"), "{flags}");
        assert!(flags.contains(" min</td>"), "dwell left: {flags}");
        assert!(flags.contains("kill switch and restore"), "{flags}");

        // The QA lead records gates too.
        let qa = home(&server, &sign_in(&server, &quinn));
        assert!(
            part(&qa, "waiting-h").contains("Gate: All features merged"),
            "{qa}"
        );
        assert!(part(&qa, "waiting-h").contains("You can do:"), "{qa}");

        // The product owner cannot record gates: they are listed with who can.
        let po = home(&server, &sign_in(&server, &paula));
        let po_waiting = part(&po, "waiting-h");
        assert!(
            !po_waiting.contains("Gate: All features merged and code reviewed: <a"),
            "{po_waiting}"
        );
        assert!(
            po_waiting
                .contains("Gate: All features merged and code reviewed; who can: erin, quinn"),
            "{po_waiting}"
        );
        assert!(!part(&po, "flags-h").contains("kill switch"), "{po}");

        // The on-call engineer may pull the kill switch, not record gates.
        let oc = home(&server, &sign_in(&server, &oscar));
        assert!(
            part(&oc, "flags-h").contains("kill switch and restore"),
            "{oc}"
        );
        assert!(
            part(&oc, "waiting-h").contains("who can: erin, quinn"),
            "{oc}"
        );

        // The flags page: a killed flag gets a restore button (for those who may restore),
        // and its dwell does not apply.
        let token = csrf(&home(&server, &lead));
        let kill = [("csrf", token.as_str()), ("reason", "crashes on load")];
        let killed = post(&server, &lead, "/ui/flags/new-rhythm-game/kill", &kill);
        let killed = killed.text().unwrap().replace("&#x2f;", "/");
        assert!(killed.contains("Restore new-rhythm-game"), "{killed}");
        assert!(killed.contains("does not apply"), "{killed}");
        let po_flags = get(&server, &sign_in(&server, &paula), "/ui/flags");
        assert!(!po_flags.text().unwrap().contains("Restore new-rhythm-game"));
        assert!(part(&home(&server, &lead), "flags-h").contains("KILLED"));
        let restore = [("csrf", token.as_str())];
        let restored = post(
            &server,
            &lead,
            "/ui/flags/new-rhythm-game/restore",
            &restore,
        );
        assert_eq!(restored.status().as_u16(), 200);
        let restored = restored.text().unwrap();
        assert!(
            restored.contains("new-rhythm-game is restored"),
            "{restored}"
        );
        assert!(!restored.contains("Restore new-rhythm-game"), "{restored}");
    }
}

#[test]
fn greenlight_status_prints_now_next_and_waiting_on_and_the_same_as_json() {
    let db = Db::sqlite();
    let server = Server::start(&db);
    let erin = server.add_user("erin", "engineering_lead");
    let quinn = server.add_user("quinn", "qa_lead");
    let paula = server.add_user("paula", "product_owner");
    server.set_clock("2026-11-24T18:00:00Z");
    // Hotfix 1.3.1 live in production (the health monitor has no data: no charts to print).
    let baseline = ["environments", "baseline", "--env", "production", "1.3.0"];
    assert_ok(&server.cli(ADMIN, &baseline));
    let hotfix = [
        "hotfix",
        "start",
        "--title",
        "score sync",
        "--trigger",
        "score_recording_failure",
    ];
    assert_ok(&server.cli(&erin, &hotfix));
    record_gates(&server, &quinn, "1.3.1", GatePhase::Hotfix);
    assert_ok(&server.cli(&erin, &["deploy", "1.3.1"]));
    assert_ok(&server.cli(&erin, &["deployment", "complete", "1.3.1"]));
    assert_ok(&server.cli(&erin, &["approve", "1.3.1", "--role", "engineering_lead"]));
    assert_ok(&server.cli(&quinn, &["approve", "1.3.1", "--role", "qa_lead"]));
    assert_ok(&server.cli(&erin, &["deploy", "1.3.1"]));
    assert_ok(&server.cli(&erin, &["deployment", "complete", "1.3.1"]));
    assert_ok(&server.cli(&erin, &["release", "plan", "--version", "1.4.0"]));

    let out = server.cli(&erin, &["status"]);
    assert_ok(&out);
    let text = stdout(&out);
    for part in ["Now\n", "Next\n", "Waiting on\n"] {
        assert!(text.contains(part), "{part}: {text}");
    }
    assert!(
        text.contains("  1.3.1 live in production since now, "),
        "{text}"
    );
    assert!(
        text.contains("1.4.0 (standard): [Planning] → Staging"),
        "{text}"
    );
    assert!(text.contains("    Code freeze: in "), "{text}");
    assert!(
        text.contains("    YOU: Gate: All features merged and code reviewed"),
        "{text}"
    );

    // The product owner: the same gates, with who can record them.
    let po = stdout(&server.cli(&paula, &["status"]));
    assert!(
        po.contains("Gate: All features merged and code reviewed (who can: erin, quinn)"),
        "{po}"
    );

    let json = server.cli_json(&erin, &["status"]);
    assert_eq!(json["now"]["version"], "1.3.1", "{json}");
    assert!(json.pointer("/now/health/charts/0/svg").is_none(), "{json}");
    assert_eq!(json["next"][0]["version"], "1.4.0");
    assert_eq!(json["next"][0]["phase"], "Planning");
    let mine = json["waiting"][0]["mine"].as_array().unwrap();
    assert!(
        mine.iter()
            .any(|i| i["what"] == "Gate: All features merged and code reviewed"),
        "{json}"
    );

    // Without a token: a clear refusal.
    let anonymous = server.cli("", &["status"]);
    assert_ne!(support::code(&anonymous), 0);
}
