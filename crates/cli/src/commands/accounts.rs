//! `greenlight user` and `greenlight token`: accounts over the API.

use std::process::ExitCode;

use serde_json::{Value, json};

use super::{done, list_text};
use crate::args::{TokenCommand, UserCommand};
use crate::client::Api;
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
    }
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
    let TokenCommand::Create { name, user } = cmd;
    let user = match user {
        Some(user) => user,
        None => {
            let me: Value = api.get("/me", &[])?;
            me["id"].as_str().unwrap_or_default().to_string()
        }
    };
    let token: Value = api.post(
        &format!("/users/{user}/tokens"),
        &json!({ "name": name }),
        None,
    )?;
    if json_out {
        print_json(&token)?;
        return done();
    }
    println!("Token `{name}` for {user} (shown only now):");
    println!("    {}", token["token"].as_str().unwrap_or_default());
    done()
}
