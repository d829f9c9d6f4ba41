//! `greenlight user` and `greenlight token`: accounts over the API.

use std::io::{BufRead, IsTerminal, Read};
use std::process::ExitCode;

use serde_json::{Value, json};

use super::{done, list_text};
use crate::args::{TokenCommand, UserCommand};
use crate::client::Api;
use crate::exit::usage;
use crate::output::{print_json, table};

/// Runs a `user` subcommand.
pub fn user(api: &Api, json_out: bool, cmd: UserCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        UserCommand::Add {
            id,
            roles,
            name,
            admin,
        } => {
            let body = json!({ "id": id, "display_name": name, "roles": roles, "is_admin": admin });
            let user: Value = api.post("/users", &body, None)?;
            let token: Value = api.post(
                &format!("/users/{id}/tokens"),
                &json!({ "name": "cli" }),
                None,
            )?;
            if json_out {
                print_json(&json!({ "user": user, "token": token }))?;
                return done();
            }
            println!("Added {id} ({}).", list_text(&user["roles"]));
            println!("Token for {id} (shown only now):");
            println!("    {}", token["token"].as_str().unwrap_or_default());
            done()
        }
        UserCommand::List => {
            let users: Vec<Value> = api.get("/users", &[])?;
            if json_out {
                print_json(&users)?;
                return done();
            }
            let mut out = table(["user", "name", "roles", "admin", "disabled"]);
            for u in &users {
                out.add_row([
                    u["id"].as_str().unwrap_or_default().to_string(),
                    u["display_name"].as_str().unwrap_or_default().to_string(),
                    list_text(&u["roles"]),
                    yes(&u["is_admin"]),
                    yes(&u["disabled"]),
                ]);
            }
            println!("{out}");
            done()
        }
        UserCommand::Whoami => {
            let me: Value = api.get("/me", &[])?;
            if json_out {
                print_json(&me)?;
                return done();
            }
            let admin = if me["is_admin"].as_bool() == Some(true) {
                ", admin"
            } else {
                ""
            };
            println!(
                "{} ({}{admin})",
                me["id"].as_str().unwrap_or_default(),
                list_text(&me["roles"])
            );
            done()
        }
        UserCommand::Password {
            user,
            clear,
            current,
        } => password(api, json_out, user, clear, current),
    }
}

/// `greenlight user password [USER] [--clear] [--current]`: sets USER's dashboard password
/// from standard input (after the current one with `--current`), or removes it.
fn password(
    api: &Api,
    json_out: bool,
    user: Option<String>,
    clear: bool,
    current: bool,
) -> anyhow::Result<ExitCode> {
    let user = match user {
        Some(user) => user,
        None => {
            let me: Value = api.get("/me", &[])?;
            me["id"].as_str().unwrap_or_default().to_string()
        }
    };
    let path = ["users", user.as_str(), "password"];
    let status: Value = if clear {
        api.delete_at(&path)?
    } else {
        let mut input = std::io::stdin().lock().take(PASSWORD_INPUT_LIMIT);
        let current = if current {
            Some(read_password(
                &mut input,
                &format!("Current dashboard password of {user}"),
            )?)
        } else {
            None
        };
        let password = read_password(
            &mut input,
            &format!("New dashboard password for {user} (at least 12 characters)"),
        )?;
        api.put_at(
            &path,
            &json!({ "password": password, "current_password": current }),
        )?
    };
    if json_out {
        print_json(&status)?;
        return done();
    }
    let sessions = match status["sessions_ended"].as_u64().unwrap_or(0) {
        0 => String::new(),
        1 => "; their dashboard session was ended".to_string(),
        n => format!("; their {n} dashboard sessions were ended"),
    };
    if !clear {
        println!("Password set for {user}{sessions}.");
    } else if status["changed"] == true {
        println!(
            "Password removed for {user}: password sign-in stops, API tokens still work{sessions}."
        );
    } else {
        println!("{user} has no password; nothing to remove.");
    }
    done()
}

/// Most bytes read from standard input for a password (the server takes at most 1024).
const PASSWORD_INPUT_LIMIT: u64 = 64 * 1024;

/// A password: the next line of `input` (standard input), without its line ending; `prompt`
/// says which on a terminal.
fn read_password(input: &mut impl BufRead, prompt: &str) -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        eprintln!(
            "{prompt}, then Enter. It shows as you type; to avoid that, pipe it in: printf '%s\\n' \"$PW\" | greenlight user password"
        );
    }
    let mut line = String::new();
    input
        .read_line(&mut line)
        .map_err(|e| usage(format!("cannot read the password from standard input: {e}")))?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        return Err(usage(
            "no password on standard input: give it as one line, e.g. printf '%s\\n' \"$PW\" | greenlight user password",
        ));
    }
    Ok(password.to_string())
}

fn yes(value: &Value) -> String {
    if value.as_bool() == Some(true) {
        "yes"
    } else {
        ""
    }
    .to_string()
}

/// Runs a `token` subcommand.
pub fn token(api: &Api, json_out: bool, cmd: TokenCommand) -> anyhow::Result<ExitCode> {
    let TokenCommand::Create {
        name,
        user,
        scope,
        expires,
    } = cmd;
    let expires_at = expires.as_deref().map(expiry).transpose()?;
    let user = match user {
        Some(user) => user,
        None => {
            let me: Value = api.get("/me", &[])?;
            me["id"].as_str().unwrap_or_default().to_string()
        }
    };
    let token: Value = api.post(
        &format!("/users/{user}/tokens"),
        &json!({ "name": name, "scope": scope, "expires_at": expires_at }),
        None,
    )?;
    if json_out {
        print_json(&token)?;
        return done();
    }
    let until = match token["expires_at"].as_str() {
        Some(at) => format!(", until {at}"),
        None => String::new(),
    };
    println!("Token `{name}` for {user}, scope {scope}{until} (shown only now):");
    println!("    {}", token["token"].as_str().unwrap_or_default());
    done()
}

/// `--expires`: a duration from now (`90d`, `12h`, `30m`) or an RFC 3339 time.
fn expiry(text: &str) -> anyhow::Result<jiff::Timestamp> {
    let text = text.trim();
    let unit = |suffix: char, seconds: i64| {
        text.strip_suffix(suffix)
            .and_then(|n| n.parse::<i64>().ok())
            .filter(|n| *n > 0)
            .and_then(|n| n.checked_mul(seconds))
    };
    let seconds = unit('d', 86_400)
        .or_else(|| unit('h', 3_600))
        .or_else(|| unit('m', 60));
    if let Some(seconds) = seconds {
        return jiff::Timestamp::now()
            .checked_add(jiff::SignedDuration::from_secs(seconds))
            .map_err(|e| usage(format!("--expires {text}: {e}")));
    }
    text.parse::<jiff::Timestamp>().map_err(|e| {
        usage(format!(
            "--expires {text}: give a duration (90d, 12h, 30m) or an RFC 3339 time ({e})"
        ))
    })
}
