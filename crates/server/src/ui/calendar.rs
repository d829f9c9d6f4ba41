//! The release calendar (`/ui/calendar`) and its subscription feed (`/calendar/{secret}.ics`).
//!
//! The page lays out the coming weeks day by day in the policy's time zone: each stored
//! release's code freeze, staging and production deployment (as recorded or as planned), the
//! release train's upcoming cadence where no release has taken its slot, the deployment
//! windows, and what closes them (holidays, school weeks, blackouts, weekly times to avoid).
//! Days are civil dates and instants are placed by their local date, so a week across a
//! daylight-saving change keeps 14:00 at 14:00.
//!
//! Calendar apps cannot send an Authorization header, so each user may create a subscription
//! link with its own random secret (the store keeps its SHA-256). The link serves the calendar
//! as iCalendar and nothing else; a new link replaces the old one, a revoked or unknown one is
//! 404. Creating and revoking are CSRF-checked forms and audited.

use std::collections::BTreeMap;

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use greenlight_core::calendar::{
    DayClosure, PlannedRelease, closures_on, describe_windows, release_calendar,
    release_milestones, windows_on,
};
use greenlight_core::ics::{blackout_events, feed_to_ics, release_events, train_events};
use greenlight_core::policy::Effect;
use greenlight_core::{ReleaseStatus, ReleaseType};
use greenlight_store::{Change, ReleaseFilter, StoredRelease};
use jiff::civil::Date;
use jiff::{Timestamp, ToSpan, Zoned};
use serde_json::{Value, json};
use uuid::Uuid;

use super::params::Params;
use super::{CsrfForm, Signed, page};
use crate::api::Path;
use crate::auth::{random_secret, token_hash};
use crate::problem::ApiError;
use crate::state::AppState;

/// Weeks the page shows without `weeks`.
const DEFAULT_WEEKS: i64 = 8;
/// Most weeks one page shows: two years, as the calendar API allows.
const MAX_WEEKS: i64 = 104;
/// How far before today and after it the subscription feed reaches.
const FEED_WEEKS_BEFORE: i64 = 8;
const FEED_WEEKS_AFTER: i64 = 26;
/// Releases whose milestones may fall in a range are planned at most this long after it (a
/// major release freezes up to four weeks ahead) or deployed this long before it.
const MILESTONE_REACH_DAYS: i64 = 60;

/// `/ui/calendar?from=YYYY-MM-DD&weeks=N`.
pub(super) async fn calendar_page(
    State(state): State<AppState>,
    signed: Signed,
    params: Params,
) -> Response {
    let view = match View::read(&state, &params) {
        Ok(view) => view,
        Err(message) => {
            let default = View::default_for(&state);
            let extras = Extras {
                error: Some(message),
                ..Extras::default()
            };
            return render(&state, &signed, default, StatusCode::BAD_REQUEST, extras).await;
        }
    };
    render(&state, &signed, view, StatusCode::OK, Extras::default()).await
}

/// Creates the signed-in user's subscription link (replacing a live one) and shows it once.
pub(super) async fn create_link(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Some(refused) = signed.csrf_refusal(&form.csrf) {
        return refused;
    }
    let view = View::default_for(&state);
    let secret = match random_secret("glc_") {
        Ok(secret) => secret,
        Err(err) => return err.into_response(),
    };
    let user = &signed.session.user.id;
    let change = Change::new(state.clock.now(), user.clone(), "calendar_feed.create");
    let created = state
        .store
        .create_calendar_feed(Uuid::new_v4(), user, &token_hash(&secret), &change)
        .await;
    let extras = match created {
        Ok(_) => Extras {
            notice: Some(
                "Your subscription link is below. It is shown only this once: copy it into your calendar app now."
                    .into(),
            ),
            new_link: Some(feed_url(&state, &secret)),
            ..Extras::default()
        },
        Err(err) => {
            let err = ApiError::from(err);
            let status = err.status();
            let extras = Extras {
                error: Some(format!("The link was not created: {err}")),
                ..Extras::default()
            };
            return render(&state, &signed, view, status, extras).await;
        }
    };
    render(&state, &signed, view, StatusCode::OK, extras).await
}

/// Revokes the signed-in user's subscription link.
pub(super) async fn revoke_link(
    State(state): State<AppState>,
    signed: Signed,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Some(refused) = signed.csrf_refusal(&form.csrf) {
        return refused;
    }
    let view = View::default_for(&state);
    let user = &signed.session.user.id;
    let change = Change::new(state.clock.now(), user.clone(), "calendar_feed.revoke");
    let (status, extras) = match state.store.revoke_calendar_feed(user, &change).await {
        Ok(_) => (
            StatusCode::OK,
            Extras {
                notice: Some(
                    "Your subscription link is revoked: calendar apps using it get nothing more."
                        .into(),
                ),
                ..Extras::default()
            },
        ),
        Err(greenlight_store::StoreError::NotFound(_)) => (
            StatusCode::NOT_FOUND,
            Extras {
                error: Some("You have no subscription link to revoke.".into()),
                ..Extras::default()
            },
        ),
        Err(err) => return ApiError::from(err).into_response(),
    };
    render(&state, &signed, view, status, extras).await
}

/// `/calendar/{secret}.ics`: the release calendar for calendar apps, no session or header;
/// 404 for a secret that is unknown, revoked, or a disabled user's.
pub(super) async fn feed(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let not_found = || (StatusCode::NOT_FOUND, "No such calendar.\n").into_response();
    let Some(secret) = file.strip_suffix(".ics") else {
        return not_found();
    };
    if secret.is_empty() || secret.len() > 128 {
        return not_found();
    }
    match state.store.calendar_feed_user(&token_hash(secret)).await {
        Ok(Some(_)) => {}
        Ok(None) => return not_found(),
        Err(err) => return ApiError::from(err).into_response(),
    }
    let now = state.clock.now();
    let today = today(&state);
    let from = today
        .checked_sub((FEED_WEEKS_BEFORE * 7).days())
        .unwrap_or(today);
    let to = today
        .checked_add((FEED_WEEKS_AFTER * 7).days())
        .unwrap_or(today);
    let stored = match releases_around(&state, from, to).await {
        Ok(stored) => stored,
        Err(err) => return err.into_response(),
    };
    let base = state.policy.communications.public_url.trim_end_matches('/');
    let mut events = Vec::new();
    for s in &stored {
        let milestones = release_milestones(state.policy.as_ref(), &s.release);
        let url = format!("{base}/ui/releases/{}", s.release.record.version);
        events.extend(release_events(&s.release, &milestones, Some(&url)));
    }
    let train: Vec<PlannedRelease> = upcoming_train(&state, &stored, from, to, now);
    events.extend(train_events(&train));
    events.extend(blackout_events(state.policy.as_ref(), from, to));
    let mut response = feed_to_ics("Greenlight releases", &events, now).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/calendar; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=300"),
    );
    response
}

/// The link calendar apps subscribe to, at the policy's public URL.
fn feed_url(state: &AppState, secret: &str) -> String {
    let base = state.policy.communications.public_url.trim_end_matches('/');
    format!("{base}/calendar/{secret}.ics")
}

/// Which weeks the page shows.
struct View {
    /// The Monday of the first week.
    first: Date,
    weeks: i64,
}

impl View {
    fn default_for(state: &AppState) -> View {
        View {
            first: monday_of(today(state)),
            weeks: DEFAULT_WEEKS,
        }
    }

    fn read(state: &AppState, params: &Params) -> Result<View, String> {
        let weeks = params
            .parse(
                "weeks",
                &format!("a whole number of weeks from 1 to {MAX_WEEKS}"),
                |t| {
                    t.parse::<i64>()
                        .ok()
                        .filter(|n| (1..=MAX_WEEKS).contains(n))
                },
            )?
            .unwrap_or(DEFAULT_WEEKS);
        let from = params.date("from")?.unwrap_or_else(|| today(state));
        Ok(View {
            first: monday_of(from),
            weeks,
        })
    }

    fn last(&self) -> Date {
        self.first
            .checked_add((self.weeks * 7 - 1).days())
            .unwrap_or(self.first)
    }
}

fn today(state: &AppState) -> Date {
    state.clock.now().to_zoned(state.policy.tz().clone()).date()
}

fn monday_of(date: Date) -> Date {
    let back = i64::from(date.weekday().to_monday_zero_offset());
    date.checked_sub(back.days()).unwrap_or(date)
}

/// What a form post adds to the page.
#[derive(Default)]
struct Extras {
    error: Option<String>,
    notice: Option<String>,
    new_link: Option<String>,
}

/// The stored releases, cancelled ones left out, whose milestones may fall in `from..=to`.
async fn releases_around(
    state: &AppState,
    from: Date,
    to: Date,
) -> Result<Vec<StoredRelease>, ApiError> {
    let tz = state.policy.tz();
    let edge = |date: Date, days: i64| {
        date.checked_add(days.days())
            .ok()
            .and_then(|d| d.to_zoned(tz.clone()).ok())
            .map(|z| z.timestamp())
    };
    let filter = ReleaseFilter {
        from: edge(from, -MILESTONE_REACH_DAYS),
        to: edge(to, MILESTONE_REACH_DAYS + 1),
        limit: Some(1000),
        ..ReleaseFilter::default()
    };
    let stored = state.store.releases(&filter).await?;
    Ok(stored
        .into_iter()
        .filter(|s| s.release.record.status != ReleaseStatus::Cancelled)
        .collect())
}

/// The train's planned releases deploying from `now` on whose slot no stored release of the
/// same type has taken (the same local deployment date).
fn upcoming_train(
    state: &AppState,
    stored: &[StoredRelease],
    from: Date,
    to: Date,
    now: Timestamp,
) -> Vec<PlannedRelease> {
    let tz = state.policy.tz();
    let reach = to.checked_add(MILESTONE_REACH_DAYS.days()).unwrap_or(to);
    let taken: Vec<(ReleaseType, Date)> = stored
        .iter()
        .map(|s| {
            let r = &s.release.record;
            (r.release_type, r.planned_date.to_zoned(tz.clone()).date())
        })
        .collect();
    release_calendar(state.policy.as_ref(), from, reach)
        .into_iter()
        .filter(|p| p.deploy.timestamp() >= now)
        .filter(|p| !taken.contains(&(p.release_type, p.deploy.date())))
        .collect()
}

/// One line of a day: something dated that happens then.
struct Item {
    at: Timestamp,
    value: Value,
}

fn time_of(at: &Zoned) -> String {
    at.strftime("%H:%M %Z").to_string()
}

async fn render(
    state: &AppState,
    signed: &Signed,
    view: View,
    status: StatusCode,
    extras: Extras,
) -> Response {
    let tz = state.policy.tz().clone();
    let now = state.clock.now();
    let (first, last) = (view.first, view.last());
    let stored = match releases_around(state, first, last).await {
        Ok(stored) => stored,
        Err(err) => return err.into_response(),
    };
    let feed = match state.store.calendar_feed(&signed.session.user.id).await {
        Ok(feed) => feed,
        Err(err) => return ApiError::from(err).into_response(),
    };

    let mut items: BTreeMap<Date, Vec<Item>> = BTreeMap::new();
    let mut place = |at: Timestamp, value: Value| {
        let date = at.to_zoned(tz.clone()).date();
        if first <= date && date <= last {
            items.entry(date).or_default().push(Item { at, value });
        }
    };
    for s in &stored {
        let r = &s.release.record;
        for m in release_milestones(state.policy.as_ref(), &s.release) {
            place(
                m.at,
                json!({
                    "kind": "release",
                    "time": time_of(&m.at.to_zoned(tz.clone())),
                    "datetime": m.at.to_string(),
                    "label": m.kind.label(),
                    "version": r.version.to_string(),
                    "release_type": r.release_type.as_str(),
                    "state": if m.done { "done" } else { "planned" },
                }),
            );
        }
    }
    for p in upcoming_train(state, &stored, first, last, now) {
        let moved = p.moved.as_ref().map(|why| {
            format!(
                "moved from {}: {why}",
                p.nominal_date.strftime("%a %Y-%m-%d")
            )
        });
        for (label, at, note) in [
            ("Code freeze", &p.code_freeze, None),
            ("Staging deployment", &p.staging, None),
            ("Production deployment", &p.deploy, moved),
        ] {
            place(
                at.timestamp(),
                json!({
                    "kind": "train",
                    "time": time_of(at),
                    "datetime": at.timestamp().to_string(),
                    "label": label,
                    "release_type": p.release_type.as_str(),
                    "optional": p.optional,
                    "note": note,
                }),
            );
        }
    }

    let today = now.to_zoned(tz.clone()).date();
    let mut weeks = Vec::new();
    let mut date = first;
    for _ in 0..view.weeks {
        let mut days = Vec::new();
        let monday = date;
        for _ in 0..7 {
            let mut day_items = items.remove(&date).unwrap_or_default();
            day_items.sort_by_key(|i| i.at);
            days.push(day_view(state, date, today, day_items));
            let Ok(next) = date.tomorrow() else { break };
            date = next;
        }
        weeks.push(json!({
            "id": monday.to_string(),
            "label": monday.strftime("%a %Y-%m-%d").to_string(),
            "days": days,
        }));
    }

    let step = |weeks: i64| {
        first
            .checked_add((weeks * 7).days())
            .unwrap_or(first)
            .to_string()
    };
    let legend: Vec<Value> = [
        ReleaseType::Standard,
        ReleaseType::Patch,
        ReleaseType::Major,
        ReleaseType::Hotfix,
    ]
    .iter()
    .map(|t| {
        let w = state.policy.windows.of(*t);
        let mut text = describe_windows(w);
        text.push_str(&format!(
            "; outside it: {}",
            effect_word(w.outside_preferred)
        ));
        if let Some(cap) = w.blackout_effect {
            text.push_str(&format!("; holidays and blackouts: {}", effect_word(cap)));
        }
        json!({ "release_type": t.as_str(), "text": text })
    })
    .collect();

    let mut context = signed.context();
    context["timezone"] = json!(state.policy.timezone);
    context["first"] = json!(first.strftime("%a %Y-%m-%d").to_string());
    context["last"] = json!(last.strftime("%a %Y-%m-%d").to_string());
    context["from"] = json!(first.to_string());
    context["weeks_count"] = json!(view.weeks);
    context["max_weeks"] = json!(MAX_WEEKS);
    context["earlier"] = json!(format!("from={}&weeks={}", step(-view.weeks), view.weeks));
    context["later"] = json!(format!("from={}&weeks={}", step(view.weeks), view.weeks));
    context["weeks"] = json!(weeks);
    context["legend"] = json!(legend);
    context["feed"] = json!(feed.map(|f| json!({ "created": super::local(state, f.created_at) })));
    context["new_link"] = json!(extras.new_link);
    context["error"] = json!(extras.error);
    context["notice"] = json!(extras.notice);
    page(status, "calendar.html", context)
}

fn effect_word(effect: Effect) -> &'static str {
    match effect {
        Effect::Allow => "allowed",
        Effect::Discourage => "discouraged",
        Effect::Block => "blocked",
    }
}

/// One day: what closes it, its windows, its dated items, and a clock change if it has one.
fn day_view(state: &AppState, date: Date, today: Date, items: Vec<Item>) -> Value {
    let tz = state.policy.tz();
    let closures = closures_on(state.policy.as_ref(), date);
    let closed = closures
        .iter()
        .any(|c| c.whole_day() && c.effect == Effect::Block);
    let closure_lines: Vec<Value> = closures.iter().map(closure_view).collect();
    // Windows of the planned types, grouped by their hours.
    let mut windows: Vec<(String, String, Vec<&str>)> = Vec::new();
    if !closed {
        for t in [
            ReleaseType::Standard,
            ReleaseType::Patch,
            ReleaseType::Major,
        ] {
            for (start, end) in windows_on(state.policy.as_ref(), t, date) {
                let hours = format!("{}–{}", start.strftime("%H:%M"), time_of(&end));
                let datetime = start.timestamp().to_string();
                match windows.iter_mut().find(|(h, _, _)| *h == hours) {
                    Some((_, _, types)) => types.push(t.as_str()),
                    None => windows.push((hours, datetime, vec![t.as_str()])),
                }
            }
        }
    }
    let windows: Vec<Value> = windows
        .into_iter()
        .map(|(hours, datetime, types)| {
            json!({ "hours": hours, "datetime": datetime, "types": types.join(", ") })
        })
        .collect();
    let clock_change = date
        .to_zoned(tz.clone())
        .ok()
        .zip(
            date.tomorrow()
                .ok()
                .and_then(|d| d.to_zoned(tz.clone()).ok()),
        )
        .and_then(|(start, end)| {
            let (a, b) = (
                start.strftime("%Z").to_string(),
                end.strftime("%Z").to_string(),
            );
            (start.offset() != end.offset()).then(|| format!("Clocks change today: {a} to {b}."))
        });
    json!({
        "id": format!("d-{date}"),
        "date": date.to_string(),
        "label": date.strftime("%a %Y-%m-%d").to_string(),
        "today": date == today,
        "weekend": date.weekday().to_monday_one_offset() >= 6,
        "closed": closed,
        "closures": closure_lines,
        "windows": windows,
        "items": items.into_iter().map(|i| i.value).collect::<Vec<_>>(),
        "clock_change": clock_change,
    })
}

/// "No deploys: Thanksgiving", "No deploys 16:00–24:00 PST (Friday evenings: ...)".
fn closure_view(closure: &DayClosure) -> Value {
    let verb = closure.verb();
    let hours = closure.hours.as_ref().map(|(start, end)| {
        let end_text = if end.date() != start.date() && end.hour() == 0 && end.minute() == 0 {
            format!("24:00 {}", start.strftime("%Z"))
        } else {
            time_of(end)
        };
        format!("{}–{end_text}", start.strftime("%H:%M"))
    });
    json!({
        "text": match &hours {
            Some(h) => format!("{verb} {h} ({})", closure.name),
            None => format!("{verb}: {}", closure.name),
        },
        "block": closure.effect == Effect::Block,
        "whole_day": closure.whole_day(),
        "rule": closure.rule,
    })
}
