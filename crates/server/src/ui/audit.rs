//! The audit trail page (`/ui/audit`): search by actor, action prefix, subject or release,
//! free text and local dates; pages of [`PAGE_SIZE`] newest first, older and newer by sequence
//! number; and the same search exported as CSV or JSON with every field of the hash chain, so
//! an export can be checked against it.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use greenlight_store::{AUDIT_LIMIT_MAX, AuditEntry, AuditFilter};
use jiff::ToSpan;
use jiff::civil::Date;
use serde_json::{Value, json};

use super::params::{Params, query_string};
use super::{Signed, local, page};
use crate::problem::ApiError;
use crate::state::AppState;

/// Entries per page.
const PAGE_SIZE: i64 = 50;
/// Most entries one export holds (the newest that match).
pub const EXPORT_ROWS: i64 = AUDIT_LIMIT_MAX;

/// The search form's fields, as given.
const FIELDS: [&str; 6] = ["actor", "action", "subject", "q", "from", "to"];

/// The search fields as given (`release` shown as the subject), to fill the form and the links.
fn given(params: &Params) -> Vec<(&'static str, Option<String>)> {
    FIELDS
        .iter()
        .map(|name| {
            let value = match *name {
                "subject" => params.get("release").or(params.get("subject")),
                other => params.get(other),
            };
            (*name, value.map(str::to_string))
        })
        .collect()
}

/// The given fields as the form's values.
fn form_values(given: &[(&'static str, Option<String>)]) -> Value {
    let values: BTreeMap<&str, &str> = given
        .iter()
        .filter_map(|(name, value)| value.as_deref().map(|v| (*name, v)))
        .collect();
    json!(values)
}

/// Why a search cannot run: the status and a message for the page.
type Refused = (StatusCode, String);

/// The filter (without paging) the query string asks for.
async fn read_search(state: &AppState, params: &Params) -> Result<AuditFilter, Refused> {
    let bad = |message: String| (StatusCode::BAD_REQUEST, message);
    let text = |name: &str| params.get(name).map(str::to_string);
    let subject_text = text("release").or_else(|| text("subject"));
    let subject = match subject_text.as_deref() {
        None => None,
        Some(s) if s.contains(':') => Some(s.to_string()),
        Some(key) => match crate::api::load(state, key).await {
            Ok(stored) => Some(format!("release:{}", stored.release.record.release_id)),
            Err(err) => {
                return Err((
                    err.status(),
                    format!(
                        "Subject refused: {err}; or give a subject such as user:erin or release:<id>."
                    ),
                ));
            }
        },
    };
    let (from, to) = (
        params.date("from").map_err(bad)?,
        params.date("to").map_err(bad)?,
    );
    if let (Some(from), Some(to)) = (from, to)
        && to < from
    {
        return Err(bad(format!(
            "`to` ({to}) must be on or after `from` ({from})."
        )));
    }
    let tz = state.policy.tz();
    let start_of = |date: Date| date.to_zoned(tz.clone()).ok().map(|z| z.timestamp());
    Ok(AuditFilter {
        subject,
        actor: text("actor"),
        action_prefix: text("action"),
        contains: text("q"),
        since: from.and_then(start_of),
        // `to` is inclusive: up to the start of the next local day.
        until: to
            .and_then(|d| d.checked_add(1.day()).ok())
            .and_then(start_of),
        ..AuditFilter::default()
    })
}

fn seq_param(params: &Params, name: &str) -> Result<Option<i64>, Refused> {
    params
        .parse(name, "an entry number (a whole number from 0)", |t| {
            t.parse::<i64>().ok().filter(|n| *n >= 0)
        })
        .map_err(|m| (StatusCode::BAD_REQUEST, m))
}

/// `/ui/audit`: the search form, a page of matching entries and the export links.
pub(super) async fn audit_page(
    State(state): State<AppState>,
    signed: Signed,
    params: Params,
) -> Response {
    if let Some(refused) = signed.read_refusal(greenlight_core::Action::ReadAuditTrail) {
        return refused;
    }
    let given = given(&params);
    let mut filter = match read_search(&state, &params).await {
        Ok(filter) => filter,
        Err(refusal) => return refused_page(&state, &signed, refusal, form_values(&given)),
    };
    let (before, after) = match (seq_param(&params, "before"), seq_param(&params, "after")) {
        (Ok(b), Ok(a)) => (b, a),
        (Err(refusal), _) | (_, Err(refusal)) => {
            return refused_page(&state, &signed, refusal, form_values(&given));
        }
    };
    filter.limit = Some(PAGE_SIZE + 1);
    match after {
        Some(after) => filter.after_seq = Some(after),
        None => {
            filter.before_seq = before;
            filter.newest_first = true;
        }
    }
    let mut entries = match state.store.audit(&filter).await {
        Ok(entries) => entries,
        Err(err) => return ApiError::from(err).into_response(),
    };
    let more = entries.len() as i64 > PAGE_SIZE;
    entries.truncate(PAGE_SIZE as usize);
    if after.is_some() {
        entries.reverse();
    }
    let (has_older, has_newer) = match after {
        Some(_) => (true, more),
        None => (more, before.is_some()),
    };
    let base = query_string(&given);
    let link = |extra: String| {
        let joined = [base.as_str(), extra.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join("&");
        if joined.is_empty() {
            String::new()
        } else {
            format!("?{joined}")
        }
    };
    let oldest = entries.last().map(|e| e.seq);
    let newest = entries.first().map(|e| e.seq);
    let older = json!(
        has_older
            .then_some(oldest)
            .flatten()
            .map(|seq| link(format!("before={seq}")))
    );
    let newer = json!(
        has_newer
            .then_some(newest)
            .flatten()
            .map(|seq| link(format!("after={seq}")))
    );
    let mut context = page_context(&state, &signed);
    context["older"] = older;
    context["newer"] = newer;
    context["paged"] = json!(before.is_some() || after.is_some());
    context["newest_link"] = json!(link(String::new()));
    context["csv"] = json!(format!("/ui/audit/export.csv{}", link(String::new())));
    context["json"] = json!(format!("/ui/audit/export.json{}", link(String::new())));
    context["searched"] = json!(given.iter().any(|(_, v)| v.is_some()));
    context["form"] = form_values(&given);
    context["entries"] = json!(entries.iter().map(|e| row(&state, e)).collect::<Vec<_>>());
    page(StatusCode::OK, "audit.html", context)
}

/// What every state of the audit page shows.
fn page_context(state: &AppState, signed: &Signed) -> Value {
    let mut context = signed.context();
    context["export_rows"] = json!(EXPORT_ROWS);
    context["page_size"] = json!(PAGE_SIZE);
    context["timezone"] = json!(state.policy.timezone);
    context
}

/// The audit page saying why the search cannot run, its form filled with `form`.
fn refused_page(
    state: &AppState,
    signed: &Signed,
    (status, message): Refused,
    form: Value,
) -> Response {
    let mut context = page_context(state, signed);
    context["error"] = json!(message);
    context["entries"] = json!([]);
    context["form"] = form;
    page(status, "audit.html", context)
}

/// One table row: when (local), who, what, about what (a release by its version, linked),
/// and a short summary of the change.
fn row(state: &AppState, entry: &AuditEntry) -> Value {
    let version = [entry.after.as_ref(), entry.before.as_ref()]
        .into_iter()
        .flatten()
        .find_map(|v| v.pointer("/record/version").and_then(Value::as_str))
        .filter(|_| entry.subject.starts_with("release:"));
    json!({
        "seq": entry.seq,
        "when": local(state, entry.at),
        "datetime": entry.at.to_string(),
        "actor": entry.actor,
        "action": entry.action,
        "subject": entry.subject,
        "version": version,
        "summary": summary(entry.before.as_ref(), entry.after.as_ref()),
    })
}

/// Longest value shown in a summary.
const SUMMARY_VALUE: usize = 48;
/// Most changes named in a summary.
const SUMMARY_CHANGES: usize = 4;
/// Fields named first when something is created.
const KEY_FIELDS: [&str; 8] = [
    "version",
    "release_type",
    "status",
    "key",
    "id",
    "display_name",
    "roles",
    "name",
];

/// A short readable account of a change: what was created (its key fields), what changed
/// (`record.status: planned → staging`), or that it was removed.
pub(super) fn summary(before: Option<&Value>, after: Option<&Value>) -> String {
    match (before, after) {
        (None, None) => "—".into(),
        (None, Some(after)) => {
            let fields = flatten(after);
            let mut shown: Vec<String> = KEY_FIELDS
                .iter()
                .filter_map(|key| {
                    fields
                        .iter()
                        .find(|(path, _)| path.rsplit('.').next() == Some(key))
                        .map(|(path, value)| format!("{path}: {value}"))
                })
                .take(SUMMARY_CHANGES)
                .collect();
            if shown.is_empty() {
                shown = fields
                    .iter()
                    .take(SUMMARY_CHANGES)
                    .map(|(path, value)| format!("{path}: {value}"))
                    .collect();
            }
            format!("created; {}", shown.join("; "))
        }
        (Some(_), None) => "removed".into(),
        (Some(before), Some(after)) => {
            let (old, new) = (flatten(before), flatten(after));
            let mut changes = Vec::new();
            for (path, value) in &new {
                match old.get(path) {
                    Some(was) if was == value => {}
                    Some(was) => changes.push(format!("{path}: {was} → {value}")),
                    None => changes.push(format!("{path}: {value} (new)")),
                }
            }
            for path in old.keys().filter(|p| !new.contains_key(*p)) {
                changes.push(format!("{path}: removed"));
            }
            if changes.is_empty() {
                return "no change in content".into();
            }
            let more = changes.len().saturating_sub(SUMMARY_CHANGES);
            changes.truncate(SUMMARY_CHANGES);
            let mut text = changes.join("; ");
            if more > 0 {
                text.push_str(&format!("; and {more} more"));
            }
            text
        }
    }
}

/// The leaves of a JSON value by dotted path (three levels deep; a list is shown whole when it
/// is short, else as its length), each value shortened for reading.
fn flatten(value: &Value) -> BTreeMap<String, String> {
    fn walk(path: &str, value: &Value, depth: usize, out: &mut BTreeMap<String, String>) {
        match value {
            Value::Object(map) if depth < 3 => {
                for (key, inner) in map {
                    let path = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    walk(&path, inner, depth + 1, out);
                }
            }
            other => {
                out.insert(path.to_string(), shown(other));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk("", value, 0, &mut out);
    out
}

fn shown(value: &Value) -> String {
    let text = match value {
        Value::Null => "none".to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            let parts: Vec<String> = items.iter().map(shown).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Array(items) => format!("[{} items]", items.len()),
        Value::Object(map) => format!("{{{} fields}}", map.len()),
        other => other.to_string(),
    };
    if text.chars().count() > SUMMARY_VALUE {
        let cut: String = text.chars().take(SUMMARY_VALUE - 1).collect();
        format!("{cut}…")
    } else {
        text
    }
}

/// The newest [`EXPORT_ROWS`] entries matching the search, oldest first, or the page that
/// says why the search cannot run.
async fn export_entries(
    state: &AppState,
    signed: &Signed,
    params: &Params,
) -> Result<Vec<AuditEntry>, Response> {
    let search = read_search(state, params)
        .await
        .map_err(|refusal| refused_page(state, signed, refusal, json!({})))?;
    let filter = AuditFilter {
        newest_first: true,
        limit: Some(EXPORT_ROWS),
        ..search
    };
    let mut entries = state
        .store
        .audit(&filter)
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    entries.reverse();
    Ok(entries)
}

fn attachment(body: Vec<u8>, content_type: &'static str, filename: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static(filename),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `/ui/audit/export.csv`: seq, at (RFC 3339), actor, action, subject, before and after (JSON
/// text, empty when none), prev_hash, hash; oldest first.
pub(super) async fn export_csv(
    State(state): State<AppState>,
    signed: Signed,
    params: Params,
) -> Response {
    if let Some(refused) = signed.read_refusal(greenlight_core::Action::ReadAuditTrail) {
        return refused;
    }
    let entries = match export_entries(&state, &signed, &params).await {
        Ok(entries) => entries,
        Err(response) => return response,
    };
    match to_csv(&entries) {
        Ok(body) => attachment(
            body,
            "text/csv; charset=utf-8",
            "attachment; filename=\"greenlight-audit.csv\"",
        ),
        Err(err) => ApiError::Internal(format!("audit export: {err}")).into_response(),
    }
}

/// The entries as CSV with a header row.
pub(super) fn to_csv(entries: &[AuditEntry]) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record([
        "seq",
        "at",
        "actor",
        "action",
        "subject",
        "before",
        "after",
        "prev_hash",
        "hash",
    ])?;
    let json_text = |v: &Option<Value>| v.as_ref().map(Value::to_string).unwrap_or_default();
    for e in entries {
        out.write_record([
            e.seq.to_string(),
            e.at.to_string(),
            spreadsheet_safe(e.actor.clone()),
            spreadsheet_safe(e.action.clone()),
            spreadsheet_safe(e.subject.clone()),
            spreadsheet_safe(json_text(&e.before)),
            spreadsheet_safe(json_text(&e.after)),
            e.prev_hash.clone(),
            e.hash.clone(),
        ])?;
    }
    out.into_inner().map_err(|e| e.into_error().into())
}

/// A text cell a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, a tab or
/// a carriage return) gets a leading `'`, so it is shown as text (OWASP's CSV injection
/// advice). The JSON export is left byte-exact, for checking entries against the hash chain.
fn spreadsheet_safe(cell: String) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell
    }
}

/// `/ui/audit/export.json`: the entries as the API gives them, oldest first.
pub(super) async fn export_json(
    State(state): State<AppState>,
    signed: Signed,
    params: Params,
) -> Response {
    if let Some(refused) = signed.read_refusal(greenlight_core::Action::ReadAuditTrail) {
        return refused;
    }
    let entries = match export_entries(&state, &signed, &params).await {
        Ok(entries) => entries,
        Err(response) => return response,
    };
    match serde_json::to_vec(&entries) {
        Ok(body) => attachment(
            body,
            "application/json",
            "attachment; filename=\"greenlight-audit.json\"",
        ),
        Err(err) => ApiError::Internal(format!("audit export: {err}")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_name_what_was_created_and_what_changed() {
        let before = json!({"record": {"version": "1.4.0", "status": "planned"}, "gates": [1, 2]});
        let after =
            json!({"record": {"version": "1.4.0", "status": "staging"}, "gates": [1, 2, 3]});
        assert_eq!(
            summary(Some(&before), Some(&after)),
            "gates: [1, 2] → [1, 2, 3]; record.status: planned → staging"
        );
        assert_eq!(
            summary(None, Some(&after)),
            "created; record.version: 1.4.0; record.status: staging"
        );
        assert_eq!(summary(Some(&before), None), "removed");
        assert_eq!(summary(None, None), "—");
        let long = json!({"notes": "x".repeat(100)});
        assert!(summary(None, Some(&long)).ends_with('…'));
    }

    #[test]
    fn csv_cells_never_start_a_formula() {
        for cell in ["=HYPERLINK(\"x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(spreadsheet_safe(cell.into()), format!("'{cell}"));
        }
        assert_eq!(spreadsheet_safe("erin".into()), "erin");
        assert_eq!(spreadsheet_safe("{\"a\":1}".into()), "{\"a\":1}");
    }

    #[test]
    fn csv_quotes_json_and_commas() {
        let entry = AuditEntry {
            seq: 1,
            at: "2026-11-24T18:00:00Z".parse().unwrap(),
            actor: "erin".into(),
            action: "release.plan".into(),
            subject: "release:x".into(),
            before: None,
            after: Some(json!({"title": "a, \"b\""})),
            prev_hash: "0".repeat(64),
            hash: "1".repeat(64),
        };
        let text = String::from_utf8(to_csv(&[entry]).unwrap()).unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let row = reader.records().next().unwrap().unwrap();
        assert_eq!(&row[5], "");
        assert_eq!(&row[6], r#"{"title":"a, \"b\""}"#);
        assert_eq!(&row[1], "2026-11-24T18:00:00Z");
    }
}
