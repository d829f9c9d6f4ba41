//! The public channels, served without a token: the status page (HTML at `/status`, and
//! `/status/api/v2/summary.json` in Atlassian Statuspage's `summary.json` shape so existing
//! widgets can read it) and the in-app feed of announcements per audience (Atom at
//! `/feed/{audience}.atom`, JSON at `/feed/{audience}.json`). Both show only what was
//! published (status page and in-app communications) and the state of running releases; every
//! text is escaped where it is written out.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::{Json, Router, routing::get};
use greenlight_core::comms::audience_name;
use greenlight_core::release::{Audience, CommunicationType, ReleaseCommunication};
use greenlight_core::{Release, ReleaseStatus};
use jiff::{SignedDuration, Timestamp};
use minijinja::Environment;
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::api::Path;
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;

/// How many published communications the page and feeds look back over.
const RECENT: i64 = 100;

/// The public routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/status", get(page))
        .route("/status/status.css", get(css))
        .route("/status/api/v2/summary.json", get(summary))
        .route("/feed/{file}", get(feed))
}

/// What the status page shows, in Statuspage's `summary.json` shape.
#[derive(Debug, Serialize)]
pub struct Summary {
    page: Value,
    status: Value,
    components: Vec<Value>,
    incidents: Vec<Value>,
    scheduled_maintenances: Vec<Value>,
}

async fn summary(State(state): State<AppState>) -> ApiResult<Json<Summary>> {
    Ok(Json(build(&state).await?))
}

async fn page(State(state): State<AppState>) -> ApiResult<Html<String>> {
    let summary = build(&state).await?;
    let mut env = Environment::new();
    env.add_template("status.html", PAGE)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let html = env
        .get_template("status.html")
        .and_then(|t| t.render(json!({ "summary": summary })))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Html(html))
}

async fn feed(State(state): State<AppState>, Path(file): Path<String>) -> ApiResult<Response> {
    let (name, format) = file.rsplit_once('.').ok_or_else(|| not_found(&file))?;
    let audience = match name {
        "all_users" => Audience::AllUsers,
        "subscribers" => Audience::Subscribers,
        "beta_testers" => Audience::BetaTesters,
        _ => return Err(not_found(&file)),
    };
    let items: Vec<ReleaseCommunication> = state
        .store
        .published(
            &[CommunicationType::InApp, CommunicationType::StatusPage],
            RECENT,
        )
        .await?
        .into_iter()
        .filter(|c| c.audience == audience || c.audience == Audience::AllUsers)
        .collect();
    let items: Vec<PublicPost> = items.iter().map(PublicPost::from).collect();
    match format {
        "json" => Ok(
            Json(json!({ "audience": audience_name(audience), "announcements": items }))
                .into_response(),
        ),
        "atom" => atom(&state, audience, &items),
        _ => Err(not_found(&file)),
    }
}

fn not_found(file: &str) -> ApiError {
    ApiError::NotFound(format!(
        "no feed `{file}`: use /feed/AUDIENCE.atom or .json with all_users, subscribers or beta_testers"
    ))
}

/// What the public may read of a published message: its text with any markup stripped
/// ([`plain_text`]), and not who inside sent it.
#[derive(Debug, Serialize)]
struct PublicPost {
    communication_id: Uuid,
    release_id: Uuid,
    communication_type: CommunicationType,
    audience: Audience,
    subject: String,
    message: String,
    sent_at: Timestamp,
    created_at: Timestamp,
}

impl From<&ReleaseCommunication> for PublicPost {
    fn from(c: &ReleaseCommunication) -> Self {
        PublicPost {
            communication_id: c.communication_id,
            release_id: c.release_id,
            communication_type: c.communication_type,
            audience: c.audience,
            subject: plain_text(&c.subject),
            message: plain_text(&c.message),
            sent_at: c.sent_at,
            created_at: c.created_at,
        }
    }
}

/// `text` with markup stripped for pages and widgets that may insert it as HTML: tags
/// (`<...>`, comments included) are removed and any `<` or `>` left over is dropped, so no
/// element, script or event handler can survive; control characters other than newlines and
/// tabs go too. Entities stay as written (they render as text).
pub fn plain_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            '>' => {}
            _ if in_tag => {}
            '\n' | '\t' => out.push(c),
            _ if c.is_control() => {}
            _ => out.push(c),
        }
    }
    out
}

fn atom(state: &AppState, audience: Audience, items: &[PublicPost]) -> ApiResult<Response> {
    let mut env = Environment::new();
    env.add_template("feed.xml", ATOM)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    let base = state.policy.communications.public_url.trim_end_matches('/');
    let updated = items
        .first()
        .map(|c| c.sent_at)
        .unwrap_or(Timestamp::UNIX_EPOCH);
    let xml = env
        .get_template("feed.xml")
        .and_then(|t| {
            t.render(json!({
                "audience": audience_name(audience),
                "base": base,
                "updated": updated.to_string(),
                "items": items,
            }))
        })
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        xml,
    )
        .into_response())
}

/// The summary from what was published and the releases it was about.
async fn build(state: &AppState) -> ApiResult<Summary> {
    let now = state.clock.now();
    let published = state
        .store
        .published(&[CommunicationType::StatusPage], RECENT)
        .await?;
    let mut by_release: BTreeMap<Uuid, Vec<&ReleaseCommunication>> = BTreeMap::new();
    for post in published.iter().rev() {
        by_release.entry(post.release_id).or_default().push(post);
    }
    let mut incidents = Vec::new();
    let mut maintenances = Vec::new();
    for (release_id, posts) in &by_release {
        let Some(stored) = state.store.release(*release_id).await? else {
            continue;
        };
        let release = &stored.release;
        if release.record.rolled_back || release.rollback.is_some() {
            incidents.push(incident(release, posts));
        } else {
            maintenances.push(maintenance(release, posts, now));
        }
    }
    let running = state.store.releases_running().await?;
    let rolling_back = running.iter().any(|s| s.release.rollback.is_some());
    let deploying = running.iter().any(|s| {
        s.release
            .deployment
            .as_ref()
            .is_some_and(|d| d.environment == greenlight_core::release::Environment::Production)
    });
    let (indicator, description, component) = if rolling_back {
        (
            "major",
            "Service disruption: restoring the previous version",
            "partial_outage",
        )
    } else if deploying {
        (
            "maintenance",
            "Maintenance in progress",
            "under_maintenance",
        )
    } else {
        ("none", "All Systems Operational", "operational")
    };
    let tz = state.policy.timezone.clone();
    let updated = published.first().map_or(now, |p| p.sent_at).to_string();
    incidents.reverse();
    maintenances.reverse();
    Ok(Summary {
        page: json!({
            "id": "greenlight",
            "name": "MLC",
            "url": format!("{}/status", state.policy.communications.public_url.trim_end_matches('/')),
            "time_zone": tz,
            "updated_at": updated,
        }),
        status: json!({ "indicator": indicator, "description": description }),
        components: vec![json!({
            "id": "mlc-platform",
            "name": "MLC platform",
            "status": component,
            "description": "Games, assignments and score recording",
            "position": 1,
            "group_id": null,
            "showcase": true,
            "only_show_if_degraded": false,
            "created_at": Timestamp::UNIX_EPOCH.to_string(),
            "updated_at": updated,
        })],
        incidents,
        scheduled_maintenances: maintenances,
    })
}

fn updates(posts: &[&ReleaseCommunication], id: Uuid, status: &str) -> Vec<Value> {
    posts
        .iter()
        .rev()
        .map(|p| {
            json!({
                "id": p.communication_id,
                "status": status,
                "body": format!("{}\n\n{}", plain_text(&p.subject), plain_text(&p.message)),
                "created_at": p.sent_at.to_string(),
                "updated_at": p.sent_at.to_string(),
                "display_at": p.sent_at.to_string(),
                "incident_id": id,
            })
        })
        .collect()
}

fn incident(release: &Release, posts: &[&ReleaseCommunication]) -> Value {
    let record = &release.record;
    let resolved = record.rolled_back && release.rollback.is_none();
    let status = if resolved { "resolved" } else { "identified" };
    let first = posts.first().map_or(record.updated_at, |p| p.sent_at);
    json!({
        "id": record.release_id,
        "name": format!("Problem after MLC {}", record.version),
        "status": status,
        "impact": "major",
        "created_at": first.to_string(),
        "updated_at": record.updated_at.to_string(),
        "monitoring_at": null,
        "resolved_at": if resolved { record.rolled_back_at.map(|t| t.to_string()) } else { None },
        "shortlink": null,
        "page_id": "greenlight",
        "incident_updates": updates(posts, record.release_id, status),
    })
}

fn maintenance(release: &Release, posts: &[&ReleaseCommunication], now: Timestamp) -> Value {
    let record = &release.record;
    let running = release.deployment.is_some();
    let status = match record.status {
        ReleaseStatus::Deployed => "completed",
        ReleaseStatus::Cancelled => "completed",
        _ if running => "in_progress",
        _ if record.planned_date <= now => "verifying",
        _ => "scheduled",
    };
    let until = record
        .planned_date
        .checked_add(SignedDuration::from_hours(2))
        .unwrap_or(record.planned_date);
    let first = posts.first().map_or(record.updated_at, |p| p.sent_at);
    json!({
        "id": record.release_id,
        "name": format!("MLC {} update", record.version),
        "status": status,
        "impact": "maintenance",
        "scheduled_for": record.planned_date.to_string(),
        "scheduled_until": until.to_string(),
        "created_at": first.to_string(),
        "updated_at": record.updated_at.to_string(),
        "shortlink": null,
        "page_id": "greenlight",
        "incident_updates": updates(posts, record.release_id, status),
    })
}

/// The status page's style, served as a file so the page needs no inline style (its content
/// security policy allows none).
const CSS: &str = "body { font-family: system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #1b1b1b; }
.banner { padding: 1rem; border-radius: .5rem; font-weight: 600; }
.none { background: #e6f4ea; } .maintenance { background: #e8f0fe; } .major, .minor, .critical { background: #fce8e6; }
article { border-top: 1px solid #ccc; padding: .5rem 0; }
pre { white-space: pre-wrap; font-family: inherit; }
time { color: #555; }
";

async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
}

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ summary.page.name }} status</title>
<link rel="stylesheet" href="/status/status.css">
</head>
<body>
<h1>{{ summary.page.name }} status</h1>
<p class="banner {{ summary.status.indicator }}" role="status">{{ summary.status.description }}</p>
<h2>Scheduled maintenance</h2>
{% for m in summary.scheduled_maintenances %}
<article><h3>{{ m.name }} ({{ m.status }})</h3><p>From <time datetime="{{ m.scheduled_for }}">{{ m.scheduled_for }}</time></p>
{% for u in m.incident_updates %}<pre>{{ u.body }}</pre>{% endfor %}</article>
{% else %}<p>None scheduled.</p>{% endfor %}
<h2>Incidents</h2>
{% for i in summary.incidents %}
<article><h3>{{ i.name }} ({{ i.status }})</h3>
{% for u in i.incident_updates %}<p><time datetime="{{ u.created_at }}">{{ u.created_at }}</time></p><pre>{{ u.body }}</pre>{% endfor %}</article>
{% else %}<p>No recent incidents.</p>{% endfor %}
<p><a href="status/api/v2/summary.json">summary.json</a> · <a href="feed/all_users.atom">Atom feed</a></p>
</body>
</html>
"#;

const ATOM: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
<title>MLC announcements ({{ audience }})</title>
<id>{{ base }}/feed/{{ audience }}.atom</id>
<link rel="self" href="{{ base }}/feed/{{ audience }}.atom"/>
<updated>{{ updated }}</updated>
<author><name>Greenlight</name></author>
{% for item in items %}<entry>
<id>urn:uuid:{{ item.communication_id }}</id>
<title>{{ item.subject }}</title>
<updated>{{ item.sent_at }}</updated>
<category term="{{ item.communication_type }}"/>
<content type="text">{{ item.message }}</content>
</entry>
{% endfor %}</feed>
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_leaves_no_markup() {
        assert_eq!(
            plain_text("Done <script>alert(1)</script><img src=x onerror=alert(2)>!"),
            "Done alert(1)!"
        );
        assert_eq!(plain_text("a < b and c > d"), "a  d");
        assert_eq!(plain_text("line\nnext &amp; more"), "line\nnext &amp; more");
        assert!(!plain_text("<<b>>x<").contains(['<', '>']));
    }
}
