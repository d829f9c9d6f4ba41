//! The home page (`/` redirects here): for the signed-in person, what is live now and how it is
//! doing, the releases in flight in train order with their phase and countdowns, what each one
//! waits on and who can unblock it (the person's own actions first), and flags mid-rollout.
//!
//! Bounded: the newest production release, at most [`IN_FLIGHT`] planned and staging releases,
//! the flags and the users (both small tables); never the whole history.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use greenlight_core::calendar::{MilestoneKind, all_blackouts, release_milestones};
use greenlight_core::release::GoNoGo;
use greenlight_core::roles::{Action, Actor};
use greenlight_core::{ReleaseStatus, Role};
use greenlight_store::{ReleaseFilter, StoredRelease};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::Signed;
use crate::api::views::{ReleaseView, release_view};
use crate::problem::ApiError;
use crate::state::AppState;

/// At most this many releases of each in-flight status are read.
const IN_FLIGHT: i64 = 20;

/// The phases a release goes through, as the progress line shows them.
const PHASES: [&str; 5] = [
    "Planning",
    "Staging",
    "Go/No-Go",
    "Production",
    "Monitoring",
];

/// Everything the home page shows, for the signed-in person.
async fn home_context(state: &AppState, signed: &Signed) -> Result<Value, ApiError> {
    let mut context = home_data(state, &signed.actor).await?;
    if let (Some(context), Value::Object(shared)) = (context.as_object_mut(), signed.context()) {
        context.extend(shared);
    }
    Ok(context)
}

/// The home page's data for `actor`: `now`, `next`, `waiting`, `blackout` and `flags`, also
/// served as JSON by `GET /api/v1/home` (for `greenlight status`).
pub(crate) async fn home_data(state: &AppState, actor: &Actor) -> Result<Value, ApiError> {
    let now = state.clock.now();
    let mut context = json!({ "generated_at": now });
    let live = state
        .store
        .releases(&ReleaseFilter {
            status: Some(ReleaseStatus::Deployed),
            limit: Some(1),
            ..ReleaseFilter::default()
        })
        .await?;
    context["now"] = match live.first() {
        Some(stored) => now_part(state, stored, now).await,
        None => Value::Null,
    };
    let mut flight: Vec<StoredRelease> = Vec::new();
    for status in [ReleaseStatus::Staging, ReleaseStatus::Planned] {
        flight.extend(
            state
                .store
                .releases(&ReleaseFilter {
                    status: Some(status),
                    limit: Some(IN_FLIGHT),
                    ..ReleaseFilter::default()
                })
                .await?,
        );
    }
    flight.sort_by_key(|s| s.release.record.planned_date);
    let users = state.store.users().await?;
    let mut next = Vec::new();
    let mut waiting = Vec::new();
    for stored in &flight {
        let view = release_view(stored, &state.policy, now);
        next.push(next_part(state, stored, &view, now));
        waiting.push(waiting_part(actor, &view, &users, now));
    }
    context["next"] = json!(next);
    context["waiting"] = json!(waiting);
    context["mine_count"] = json!(
        waiting
            .iter()
            .map(|w| w["mine"].as_array().map_or(0, Vec::len))
            .sum::<usize>()
    );
    context["blackout"] = all_blackouts(state.policy.as_ref())
        .into_iter()
        .filter(|b| b.end > now)
        .min_by_key(|b| b.start)
        .map_or(Value::Null, |b| {
            json!({
                "name": b.name,
                "active": b.contains(now),
                "start": when(state, b.start, now),
                "end": when(state, b.end, now),
            })
        });
    context["flags"] = flags_part(state, now).await?;
    context["may_kill"] = json!(actor.may(Action::KillFeatureFlag));
    Ok(context)
}

/// `GET /ui/home`: the home page.
pub(super) async fn page(State(state): State<AppState>, signed: Signed) -> Response {
    match home_context(&state, &signed).await {
        Ok(context) => super::page(StatusCode::OK, "home.html", context),
        Err(err) => err.into_response(),
    }
}

/// The release live in production, since when, its health and what is wrong with it.
async fn now_part(state: &AppState, stored: &StoredRelease, now: Timestamp) -> Value {
    let release = &stored.release;
    let record = &release.record;
    let health = super::release::health(state, release).await;
    let bugs: Vec<Value> = release
        .bugs
        .iter()
        .filter(|b| b.open && b.severity.level() <= 2)
        .map(|b| json!({ "id": b.bug_id, "severity": b.severity.level(), "title": b.title }))
        .collect();
    let alerts: Vec<Value> = health["verdicts"]
        .as_array()
        .map(|v| {
            v.iter()
                .filter(|v| v["state"] != "clear")
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    json!({
        "version": record.version.to_string(),
        "title": release.title,
        "since": record.deployed_date.map(|t| when(state, t, now)),
        "health": health,
        "alerts": alerts,
        "bugs": bugs,
    })
}

/// Where a release in flight stands: its phase and countdowns.
fn next_part(
    state: &AppState,
    stored: &StoredRelease,
    view: &ReleaseView,
    now: Timestamp,
) -> Value {
    let record = &view.record;
    let current = phase_index(view);
    let phases: Vec<Value> = PHASES
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let step = if i < current {
                "done"
            } else if i == current {
                "current"
            } else {
                "todo"
            };
            json!({ "name": name, "step": step })
        })
        .collect();
    let mut countdowns: Vec<Value> = release_milestones(state.policy.as_ref(), &stored.release)
        .into_iter()
        .filter(|m| m.kind != MilestoneKind::Production)
        .map(|m| json!({ "what": m.kind.label(), "done": m.done, "when": when(state, m.at, now), "at": m.at }))
        .collect();
    if view.go_no_go.required {
        let at = record.planned_date
            - SignedDuration::from_mins(i64::from(state.policy.go_no_go.minutes_before_deployment));
        countdowns.push(json!({
            "what": "Go/No-Go meeting",
            "done": view.go_no_go.decision != GoNoGo::Pending,
            "when": when(state, at, now),
            "at": at,
        }));
    }
    countdowns.push(json!({
        "what": format!("Deployment window ({})", view.planned_window.status.as_str()),
        "done": false,
        "when": when(state, record.planned_date, now),
        "at": record.planned_date,
    }));
    countdowns.sort_by(|a, b| a["at"].as_str().cmp(&b["at"].as_str()));
    json!({
        "version": record.version.to_string(),
        "title": view.title,
        "type": record.release_type.as_str(),
        "status": record.status.as_str(),
        "phase": PHASES.get(current).copied().unwrap_or("Monitoring"),
        "phases": phases,
        "countdowns": countdowns,
    })
}

/// The index in [`PHASES`] of the phase a release is in.
fn phase_index(view: &ReleaseView) -> usize {
    if view.deployment.is_some() && view.record.status == ReleaseStatus::Staging {
        return 3;
    }
    match view.record.status {
        ReleaseStatus::Planned => 0,
        ReleaseStatus::Staging => {
            let staging_done = view
                .phases
                .iter()
                .filter(|p| p.phase.as_str() != "production")
                .all(|p| p.passed);
            if staging_done { 2 } else { 1 }
        }
        _ => 4,
    }
}

/// What a release waits on and who can unblock it; the signed-in person's own part first.
fn waiting_part(
    actor: &Actor,
    view: &ReleaseView,
    users: &[greenlight_store::User],
    now: Timestamp,
) -> Value {
    let version = view.record.version.to_string();
    let link = |anchor: &str| format!("/ui/releases/{version}#{anchor}");
    let holders = |role: Role| -> Vec<String> {
        users
            .iter()
            .filter(|u| u.roles.contains(&role))
            .map(|u| u.id.clone())
            .collect()
    };
    let mine_role = |role: Role| actor.has(role);
    let mut mine = Vec::new();
    let mut others = Vec::new();
    // Gates without a result, in the first phase not passed (the one that blocks now).
    if let Some(phase) = view.phases.iter().find(|p| !p.passed) {
        let who = [Role::EngineeringLead, Role::QaLead]
            .into_iter()
            .flat_map(holders)
            .collect::<Vec<_>>();
        for gate in phase.gates.iter().filter(|g| g.outcome.is_none()) {
            let item = json!({
                "what": format!("Gate: {}", gate.description),
                "who": who,
                "link": link("gates"),
                "action": "Record the gate's result",
            });
            if actor.may(Action::RecordGateResult) {
                mine.push(item);
            } else {
                others.push(item);
            }
        }
    }
    for role in &view.approvals.missing_required {
        let item = json!({
            "what": format!("Approval by the {}", role_label(*role)),
            "who": holders(*role),
            "link": link("approvals"),
            "action": "Approve",
        });
        if mine_role(*role) {
            mine.push(item);
        } else {
            others.push(item);
        }
    }
    if view.go_no_go.required && view.go_no_go.decision == GoNoGo::Pending {
        for role in &view.go_no_go.required_participants {
            if view.go_no_go.votes.iter().any(|v| v.role == *role) {
                continue;
            }
            let item = json!({
                "what": format!("Go/No-Go vote of the {}", role_label(*role)),
                "who": holders(*role),
                "link": link("actions-h"),
                "action": "Vote",
            });
            if mine_role(*role) {
                mine.push(item);
            } else {
                others.push(item);
            }
        }
    }
    for bug in view.bugs.iter().filter(|b| {
        b.open && (b.severity.level() == 1 || (b.severity.level() == 2 && b.workaround.is_none()))
    }) {
        others.push(json!({
            "what": format!("Blocking Sev{} bug {}: {}", bug.severity.level(), bug.bug_id, bug.title),
            "who": holders(Role::EngineeringLead),
            "link": link("gates"),
            "action": null,
        }));
    }
    for item in view.action_items.iter().filter(|i| i.overdue) {
        let entry = json!({
            "what": format!("Overdue: {} (due {})", item.title, relative(item.due_at, now)),
            "who": item.owner.clone().map_or_else(|| holders(Role::EngineeringLead), |o| vec![o]),
            "link": link("actions-h"),
            "action": "Mark done",
        });
        if actor.may(Action::CompleteActionItem) {
            mine.push(entry);
        } else {
            others.push(entry);
        }
    }
    json!({
        "version": version,
        "mine": mine,
        "others": others,
        "clear": mine.is_empty() && others.is_empty(),
    })
}

/// Flags mid-rollout (a stage being served) and killed ones.
async fn flags_part(state: &AppState, now: Timestamp) -> Result<Value, ApiError> {
    let stored = state.store.flags().await?;
    let rows: Vec<Value> = stored
        .iter()
        .filter_map(|s| {
            let view = crate::flags::api::view(state, s, now);
            let killed = s.flag.killed.as_ref().map(|k| k.reason.clone());
            let stage = view.current_stage.clone()?;
            let dwell = view.dwell_left_seconds;
            Some(json!({
                "key": s.flag.key,
                "stage": stage,
                "dwell": (dwell > 0 && killed.is_none() && view.next_stage.is_some())
                    .then(|| minutes(dwell)),
                "next": view.next_stage.clone(),
                "killed": killed,
            }))
        })
        .collect();
    Ok(json!(rows))
}

/// `25 min` or `3 h 10 min`.
fn minutes(seconds: i64) -> String {
    let m = (seconds + 59) / 60;
    if m >= 60 {
        format!("{} h {} min", m / 60, m % 60)
    } else {
        format!("{m} min")
    }
}

/// A role as people say it: `QA lead`.
fn role_label(role: Role) -> &'static str {
    match role {
        Role::EngineeringLead => "engineering lead",
        Role::QaLead => "QA lead",
        Role::ProductOwner => "product owner",
        Role::OnCallEngineer => "on-call engineer",
        Role::SystemAdmin => "system admin",
    }
}

/// `in 2 days, Thu 14:00 PST`: relative, then local.
pub(super) fn when(state: &AppState, at: Timestamp, now: Timestamp) -> String {
    let local = at
        .to_zoned(state.policy.tz().clone())
        .strftime("%a %b %-d %H:%M %Z")
        .to_string();
    format!("{}, {local}", relative(at, now))
}

/// `in 2 days`, `3 h ago`, `now`.
pub(super) fn relative(at: Timestamp, now: Timestamp) -> String {
    let secs = at.as_second() - now.as_second();
    let abs = secs.abs();
    let amount = if abs < 60 {
        return "now".into();
    } else if abs < 3600 {
        format!("{} min", abs / 60)
    } else if abs < 2 * 86400 {
        format!("{} h", abs / 3600)
    } else {
        format!("{} days", abs / 86400)
    };
    if secs > 0 {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_reads_both_ways() {
        let now = Timestamp::from_second(1_000_000).unwrap_or(Timestamp::UNIX_EPOCH);
        let later = |s: i64| Timestamp::from_second(1_000_000 + s).unwrap_or(now);
        assert_eq!(relative(later(30), now), "now");
        assert_eq!(relative(later(600), now), "in 10 min");
        assert_eq!(relative(later(-7200), now), "2 h ago");
        assert_eq!(relative(later(3 * 86400), now), "in 3 days");
    }
}
