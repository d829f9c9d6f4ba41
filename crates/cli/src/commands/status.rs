//! `greenlight status`: the dashboard home's Now, Next and Waiting on (and flags) in a terminal,
//! from `GET /api/v1/home`.

use std::process::ExitCode;

use serde_json::Value;

use super::remote::text;
use super::{Env, done, list_text};
use crate::client::Api;
use crate::output::print_json;

/// Runs `status`.
pub fn run(env: &Env, api: &Api) -> anyhow::Result<ExitCode> {
    let home: Value = api.get("/home", &[])?;
    if env.json {
        print_json(&home)?;
        return done();
    }
    print!("{}", render(&home));
    done()
}

/// The compact text of the home data.
fn render(home: &Value) -> String {
    let mut out = String::from("Now\n");
    let now = &home["now"];
    if now.is_null() {
        out.push_str("  nothing live in production yet\n");
    } else {
        out.push_str(&format!("  {} live in production", text(&now["version"])));
        if !now["since"].is_null() {
            out.push_str(&format!(" since {}", text(&now["since"])));
        }
        out.push('\n');
        for alert in items(&now["alerts"]) {
            out.push_str(&format!(
                "  ALERT {}: {}\n",
                text(&alert["metric"]),
                text(&alert["state"])
            ));
        }
        for bug in items(&now["bugs"]) {
            out.push_str(&format!(
                "  Sev{} bug {}: {}\n",
                text(&bug["severity"]),
                text(&bug["id"]),
                text(&bug["title"])
            ));
        }
        for chart in items(&now["health"]["charts"]) {
            if !chart["last"].is_null() {
                out.push_str(&format!(
                    "  {}: {}\n",
                    text(&chart["name"]),
                    text(&chart["last"])
                ));
            }
        }
    }
    out.push_str("Next\n");
    if let Some(b) = home["blackout"].as_object() {
        out.push_str(&format!(
            "  blackout {}: {} to {}\n",
            text(&b["name"]),
            text(&b["start"]),
            text(&b["end"])
        ));
    }
    let next = items(&home["next"]);
    if next.is_empty() {
        out.push_str("  no release in flight\n");
    }
    for r in next {
        let progress: Vec<String> = items(&r["phases"])
            .iter()
            .map(|p| match p["step"].as_str() {
                Some("current") => format!("[{}]", text(&p["name"])),
                Some("done") => format!("{} ✓", text(&p["name"])),
                _ => text(&p["name"]),
            })
            .collect();
        out.push_str(&format!(
            "  {} ({}): {}\n",
            text(&r["version"]),
            text(&r["type"]),
            progress.join(" → ")
        ));
        for c in items(&r["countdowns"]) {
            let done = if c["done"] == Value::Bool(true) {
                "done, "
            } else {
                ""
            };
            out.push_str(&format!(
                "    {}: {done}{}\n",
                text(&c["what"]),
                text(&c["when"])
            ));
        }
    }
    out.push_str("Waiting on\n");
    for w in items(&home["waiting"]) {
        if w["clear"] == Value::Bool(true) {
            out.push_str(&format!("  {}: nothing\n", text(&w["version"])));
            continue;
        }
        out.push_str(&format!("  {}:\n", text(&w["version"])));
        for i in items(&w["mine"]) {
            out.push_str(&format!("    YOU: {}\n", text(&i["what"])));
        }
        for i in items(&w["others"]) {
            let who = list_text(&i["who"]);
            let who = if who.is_empty() {
                "nobody holds the role".to_string()
            } else {
                who
            };
            out.push_str(&format!("    {} (who can: {who})\n", text(&i["what"])));
        }
    }
    let flags = items(&home["flags"]);
    if !flags.is_empty() {
        out.push_str("Flags\n");
        for f in flags {
            let state = if f["killed"].is_null() {
                match (f["dwell"].as_str(), f["next"].as_str()) {
                    (Some(dwell), Some(next)) => format!("{dwell} left, then {next}"),
                    (None, Some(next)) => format!("next {next}"),
                    _ => "fully rolled out".to_string(),
                }
            } else {
                format!("KILLED: {}", text(&f["killed"]))
            };
            out.push_str(&format!(
                "  {} at {}: {state}\n",
                text(&f["key"]),
                text(&f["stage"])
            ));
        }
    }
    out
}

/// The items of a JSON array (none for anything else).
fn items(value: &Value) -> Vec<Value> {
    value.as_array().cloned().unwrap_or_default()
}
