//! `greenlight comms ...`: the notifications Greenlight sends, as the outbox holds them.

use std::process::ExitCode;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::{Env, done};
use crate::args::{CommsCommand, RecipientsCommand};
use crate::client::Api;
use crate::output::{print_json, table};

/// Runs a `comms` subcommand.
pub fn run(env: &Env, api: &Api, cmd: CommsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        CommsCommand::List { status, limit } => {
            let mut query = vec![("limit", limit.to_string())];
            if let Some(status) = status {
                query.push(("status", status));
            }
            let messages: Vec<Value> = api.get("/comms", &query)?;
            if env.json {
                print_json(&messages)?;
                return done();
            }
            if messages.is_empty() {
                println!(
                    "No communications yet. Greenlight sends them as releases move: code freeze, \
                     an hour before deployment, completion, failure and rollback."
                );
                return done();
            }
            let mut out = table([
                "id",
                "notice",
                "channel",
                "audience",
                "status",
                "tries",
                "when / last error",
            ]);
            for m in &messages {
                let detail = match m["last_error"].as_str() {
                    Some(error) => error.to_string(),
                    None => when(env, m),
                };
                out.add_row([
                    text(&m["id"]),
                    text(&m["notice"]),
                    text(&m["channel"]),
                    text(&m["audience"]),
                    text(&m["status"]),
                    m["attempts"].to_string(),
                    detail,
                ]);
            }
            println!("{out}");
            done()
        }
        CommsCommand::Recipients(cmd) => recipients(env, api, cmd),
        CommsCommand::Retry { id } => {
            let message: Value = api.post(&format!("/comms/{id}/retry"), &json!({}), None)?;
            if env.json {
                print_json(&message)?;
                return done();
            }
            println!(
                "Queued again: {} {} to {} ({}).",
                text(&message["notice"]),
                text(&message["channel"]),
                text(&message["audience"]),
                text(&message["id"])
            );
            done()
        }
    }
}

fn recipients(env: &Env, api: &Api, cmd: RecipientsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        RecipientsCommand::List => {
            let all: Vec<Value> = api.get("/comms/recipients", &[])?;
            if env.json {
                print_json(&all)?;
                return done();
            }
            if all.is_empty() {
                println!(
                    "No email recipients. Add one: greenlight comms recipients add subscribers admins@school.example"
                );
                return done();
            }
            let mut out = table(["audience", "address", "from"]);
            for r in &all {
                out.add_row([
                    text(&r["audience"]),
                    text(&r["address"]),
                    text(&r["source"]),
                ]);
            }
            println!("{out}");
            done()
        }
        RecipientsCommand::Add { audience, address } => {
            let body = json!({ "audience": audience, "address": address });
            let added: Value = api.post("/comms/recipients", &body, None)?;
            if env.json {
                print_json(&added)?;
                return done();
            }
            println!("{address} now receives {audience} email.");
            done()
        }
        RecipientsCommand::Remove { audience, address } => {
            api.delete(&["comms", "recipients", &audience, &address])?;
            println!("{address} no longer receives {audience} email.");
            done()
        }
    }
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_string()
}

/// When it was delivered, or when it is due.
fn when(env: &Env, message: &Value) -> String {
    let at = message["done_at"]
        .as_str()
        .or_else(|| message["available_at"].as_str())
        .and_then(|s| s.parse::<Timestamp>().ok());
    at.map(|t| crate::output::local(&t.to_zoned(env.policy.tz().clone())))
        .unwrap_or_default()
}
