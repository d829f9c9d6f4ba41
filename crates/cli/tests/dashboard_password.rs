//! Dashboard sign-in with a password against a real server on SQLite and PostgreSQL: the
//! password set through `greenlight user password` from standard input (length rule, admin-only
//! for others), sign-in into the same session cookie as a token, one answer for an unknown user
//! and a wrong password, disabled users kept out, the audit entry without the hash, sessions
//! ended by a change, clearing, and the sign-in brake.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

mod support;
use support::dashboard::{browser, get, login, session_of, set_cookie};
use support::{ADMIN, Db, Server, assert_ok, assert_refused, code, http, stderr, stdout};

const ERIN_PW: &str = "correct horse battery staple";
const QUINN_PW: &str = "quinn's long enough passphrase";

/// Runs the CLI with `token`, writing `input` to its standard input.
fn cli_stdin(server: &Server, token: &str, args: &[&str], input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_greenlight"))
        .args(args)
        .env("GREENLIGHT_SERVER", &server.url)
        .env("GREENLIGHT_TOKEN", token)
        .env_remove("GREENLIGHT_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Signs in with a password; the session cookie (`gl_session=...`).
fn sign_in(server: &Server, user: &str, password: &str) -> String {
    session_of(login(server, &[("user", user), ("password", password)]))
}

/// The page's error message (the `role="alert"` paragraph).
fn alert(html: &str) -> String {
    let start = html.find(r#"role="alert">"#).expect("an error message") + 13;
    html[start..].split("</p>").next().unwrap().to_string()
}

/// A failed sign-in: its status and error message.
fn refused(server: &Server, form: &[(&str, &str)]) -> (u16, String) {
    let response = login(server, form);
    let status = response.status().as_u16();
    assert!(set_cookie(&response, "gl_session").is_none(), "no session");
    (status, alert(&response.text().unwrap()))
}

#[test]
fn password_sign_in_on_sqlite_and_postgres() {
    for db in support::databases() {
        eprintln!("backend: {}", db.name);
        walk(&db);
    }
}

fn walk(db: &Db) {
    let server = Server::start(db);
    server.set_clock("2026-11-24T18:00:00Z");
    let erin = server.add_user("erin", "engineering_lead");
    let quinn = server.add_user("quinn", "qa_lead");

    // The sign-in page offers both ways, each input labelled.
    let form = browser()
        .get(format!("{}/ui/login", server.url))
        .send()
        .unwrap()
        .text()
        .unwrap();
    for part in [
        r#"<label for="user">User</label>"#,
        r#"autocomplete="username""#,
        r#"<label for="password">Password</label>"#,
        r#"autocomplete="current-password""#,
        r#"<label for="token">API token</label>"#,
    ] {
        assert!(form.contains(part), "{part}: {form}");
    }

    // The password comes from standard input; the length rule is named when it refuses.
    let short = cli_stdin(&server, &erin, &["user", "password"], "too short\n");
    assert_refused(&short, "password_length");
    assert!(
        stderr(&short).contains("at least 12 characters"),
        "{}",
        stderr(&short)
    );
    let long = "x".repeat(1025);
    let long = cli_stdin(&server, &erin, &["user", "password"], &format!("{long}\n"));
    assert_refused(&long, "password_length");
    assert!(
        stderr(&long).contains("at most 1024 bytes"),
        "{}",
        stderr(&long)
    );
    let empty = cli_stdin(&server, &erin, &["user", "password"], "");
    assert_eq!(code(&empty), 2, "no password given: {}", stderr(&empty));
    assert!(
        stderr(&empty).contains("standard input"),
        "{}",
        stderr(&empty)
    );
    // A token alone does not set a password: the first comes from an admin, and a change
    // needs the current one.
    let token_only = cli_stdin(
        &server,
        &erin,
        &["user", "password"],
        &format!("{ERIN_PW}\r\n"),
    );
    assert_refused(&token_only, "permission");
    assert_ok(&cli_stdin(
        &server,
        ADMIN,
        &["user", "password", "erin"],
        "a temporary passphrase\n",
    ));
    let without_current = http()
        .put(server.api("/users/erin/password"))
        .bearer_auth(&erin)
        .json(&json!({ "password": ERIN_PW }))
        .send()
        .unwrap();
    assert_eq!(without_current.status().as_u16(), 403);
    let wrong_current = cli_stdin(
        &server,
        &erin,
        &["user", "password", "--current"],
        &format!("not my password\n{ERIN_PW}\n"),
    );
    assert_refused(&wrong_current, "permission");
    let set = cli_stdin(
        &server,
        &erin,
        &["user", "password", "--current"],
        &format!("a temporary passphrase\n{ERIN_PW}\r\n"),
    );
    assert_ok(&set);
    assert!(
        stdout(&set).contains("Password set for erin."),
        "{}",
        stdout(&set)
    );

    // Only an admin sets someone else's password.
    let forged = cli_stdin(
        &server,
        &quinn,
        &["user", "password", "erin"],
        "quinn takes over erin\n",
    );
    assert_refused(&forged, "permission");
    let forged = http()
        .put(server.api("/users/erin/password"))
        .bearer_auth(&quinn)
        .json(&json!({ "password": "quinn takes over erin" }))
        .send()
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403);
    let problem: Value = forged.json().unwrap();
    assert_eq!(problem["rule"], "permission");
    let by_admin = cli_stdin(
        &server,
        ADMIN,
        &["user", "password", "quinn", "--json"],
        &format!("{QUINN_PW}\n"),
    );
    assert_ok(&by_admin);
    let status: Value = serde_json::from_slice(&by_admin.stdout).unwrap();
    assert_eq!(status["user_id"], "quinn");
    assert_eq!(status["has_password"], true);

    // The right password opens the dashboard with the same session cookie as a token.
    let lead = sign_in(&server, "erin", ERIN_PW);
    let releases = get(&server, &lead, "/ui/releases");
    assert_eq!(releases.status().as_u16(), 200);
    assert!(releases.text().unwrap().contains("Sign out erin"));
    let spaced = sign_in(&server, " Erin ", ERIN_PW);
    assert_ne!(spaced, lead, "a user name is trimmed and lowercased");
    let by_token = login(
        &server,
        &[("user", ""), ("password", ""), ("token", &quinn)],
    );
    assert_eq!(by_token.status().as_u16(), 303, "token sign-in still works");

    // Unknown user, wrong password, no password: one answer.
    let wrong = refused(
        &server,
        &[("user", "erin"), ("password", "not erin's password")],
    );
    let unknown = refused(&server, &[("user", "nobody"), ("password", ERIN_PW)]);
    server.add_user("pat", "product_owner");
    let none = refused(&server, &[("user", "pat"), ("password", ERIN_PW)]);
    assert_eq!(wrong, (401, "Unknown user or wrong password.".to_string()));
    assert_eq!(unknown, wrong);
    assert_eq!(none, wrong);
    let both = refused(
        &server,
        &[("user", "erin"), ("password", ERIN_PW), ("token", &erin)],
    );
    assert_eq!(both.0, 400, "{both:?}");
    assert!(both.1.contains("not both"), "{both:?}");
    let nothing = refused(&server, &[("user", "erin")]);
    assert_eq!(nothing.0, 400, "{nothing:?}");

    // The audit trail says the password changed, never what it is or its hash.
    let audit: Value = http()
        .get(server.api("/audit"))
        .query(&[("subject", "user:erin")])
        .bearer_auth(ADMIN)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let entries = audit.as_array().unwrap();
    let changes: Vec<&Value> = entries
        .iter()
        .filter(|e| e["action"] == "user.password.set")
        .collect();
    assert_eq!(changes[0]["actor"], "admin", "the first from an admin");
    assert_eq!(changes[0]["before"]["password"], "none");
    assert_eq!(changes[0]["after"]["password"], "set");
    assert_eq!(changes[1]["actor"], "erin", "then erin's own change");
    assert_eq!(changes[1]["before"]["password"], "set");
    let everything: Value = http()
        .get(server.api("/audit"))
        .query(&[("limit", "5000")])
        .bearer_auth(ADMIN)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let text = everything.to_string();
    assert!(!text.contains("argon2"), "a hash in the audit trail");
    assert!(!text.contains(ERIN_PW) && !text.contains(QUINN_PW));

    // A disabled user cannot sign in, with the right password either.
    let qa = sign_in(&server, "quinn", QUINN_PW);
    let disable = http()
        .patch(server.api("/users/quinn"))
        .bearer_auth(ADMIN)
        .json(&json!({ "disabled": true }))
        .send()
        .unwrap();
    assert_eq!(disable.status().as_u16(), 200);
    assert_eq!(
        refused(&server, &[("user", "quinn"), ("password", QUINN_PW)]),
        wrong
    );
    assert_eq!(get(&server, &qa, "/ui/releases").status().as_u16(), 303);

    // A new password ends the user's sessions: whoever held the old one is out.
    let reset = cli_stdin(
        &server,
        ADMIN,
        &["user", "password", "erin"],
        "a brand new passphrase\n",
    );
    assert_ok(&reset);
    assert!(
        stdout(&reset).contains("their 2 dashboard sessions were ended"),
        "{}",
        stdout(&reset)
    );
    assert_eq!(get(&server, &lead, "/ui/releases").status().as_u16(), 303);
    assert_eq!(
        refused(&server, &[("user", "erin"), ("password", ERIN_PW)]),
        wrong
    );
    let lead = sign_in(&server, "erin", "a brand new passphrase");

    // Clearing stops password sign-in; the token still works.
    let cleared = cli_stdin(&server, &erin, &["user", "password", "--clear"], "");
    assert_ok(&cleared);
    assert!(
        stdout(&cleared).contains("Password removed for erin"),
        "{}",
        stdout(&cleared)
    );
    assert_eq!(get(&server, &lead, "/ui/releases").status().as_u16(), 303);
    assert_eq!(
        refused(
            &server,
            &[("user", "erin"), ("password", "a brand new passphrase")]
        ),
        wrong
    );
    let again = cli_stdin(&server, &erin, &["user", "password", "--clear"], "");
    assert_ok(&again);
    assert!(
        stdout(&again).contains("nothing to remove"),
        "{}",
        stdout(&again)
    );
    assert_eq!(
        login(&server, &[("token", &erin)]).status().as_u16(),
        303,
        "tokens are untouched"
    );

    // Revoking a token ends the dashboard sessions opened with it.
    let laptop = server.cli_json(&erin, &["token", "create", "--name", "laptop"]);
    let laptop_secret = laptop["token"].as_str().unwrap();
    let by_token = session_of(login(&server, &[("token", laptop_secret)]));
    assert_eq!(
        get(&server, &by_token, "/ui/releases").status().as_u16(),
        200
    );
    let revoked = http()
        .delete(server.api(&format!("/tokens/{}", laptop["id"].as_str().unwrap())))
        .bearer_auth(&erin)
        .send()
        .unwrap();
    assert_eq!(revoked.status().as_u16(), 204);
    assert_eq!(
        get(&server, &by_token, "/ui/releases").status().as_u16(),
        303,
        "the session opened with a revoked token is over"
    );
    let gone = server.cli(ADMIN, &["user", "password", "nobody", "--clear"]);
    assert_eq!(code(&gone), 1, "{}", stderr(&gone));

    // The sign-in brake: after 5 failures in 15 minutes a name is refused, saying until when,
    // for a real user with the right password too; it opens again as the failures age.
    let set = cli_stdin(
        &server,
        ADMIN,
        &["user", "password", "erin"],
        &format!("{ERIN_PW}\n"),
    );
    assert_ok(&set);
    server.set_clock("2026-11-24T19:00:00Z");
    for _ in 0..5 {
        let (status, _) = refused(&server, &[("user", "erin"), ("password", "a wrong guess")]);
        assert_eq!(status, 401);
    }
    let braked = login(&server, &[("user", "erin"), ("password", ERIN_PW)]);
    assert_eq!(braked.status().as_u16(), 429);
    let wait: u64 = braked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((850..=900).contains(&wait), "retry after {wait} s");
    let message = alert(&braked.text().unwrap());
    assert!(message.contains("sign-in brake"), "{message}");
    assert!(
        message.contains("Try again after Tue 2026-11-24 11:15 PST"),
        "{message}"
    );
    for _ in 0..5 {
        refused(&server, &[("user", "ghost"), ("password", "a wrong guess")]);
    }
    assert_eq!(
        refused(&server, &[("user", "ghost"), ("password", "a wrong guess")]).0,
        429,
        "names without an account are braked alike"
    );
    assert_eq!(
        login(&server, &[("token", &erin)]).status().as_u16(),
        303,
        "the brake leaves token sign-in alone"
    );
    server.set_clock("2026-11-24T19:16:00Z");
    sign_in(&server, "erin", ERIN_PW);

    // Parallel guesses cannot outrun the brake: each attempt is counted before its password is
    // checked, so of 200 at once at most 5 are checked (401) and the rest braked (429).
    let statuses = parallel_logins(&server, &vec![("erin", "a wrong guess"); 200]);
    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert!(
        checked <= 5,
        "{checked} passwords checked of 200 parallel guesses"
    );
    // The rest are braked (429), or shed as busy (503) when the database's connections are all
    // taken for longer than a request waits for one (a loaded PostgreSQL): refused either way.
    assert_eq!(
        statuses.iter().filter(|s| **s == 429 || **s == 503).count(),
        200 - checked,
        "{statuses:?}"
    );
    assert!(statuses.contains(&429), "{statuses:?}");
    // With the brake engaged, the right password among 40 parallel wrong ones does not sign in.
    let mut guesses = vec![("erin", "a wrong guess"); 40];
    guesses.insert(17, ("erin", ERIN_PW));
    let statuses = parallel_logins(&server, &guesses);
    assert!(
        statuses.iter().all(|s| *s == 429 || *s == 503),
        "{statuses:?}"
    );
}

/// Posts the sign-in form once per `(user, password)`, all at the same time; the statuses.
fn parallel_logins(server: &Server, guesses: &[(&str, &str)]) -> Vec<u16> {
    let forms: Vec<_> = guesses
        .iter()
        .map(|_| support::dashboard::login_form(server))
        .collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = guesses
            .iter()
            .zip(forms)
            .map(|((user, password), (cookie, token))| {
                scope.spawn(move || {
                    browser()
                        .post(format!("{}/ui/login", server.url))
                        .header("cookie", cookie)
                        .form(&[
                            ("login_csrf", token.as_str()),
                            ("user", user),
                            ("password", password),
                        ])
                        .send()
                        .unwrap()
                        .status()
                        .as_u16()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}
