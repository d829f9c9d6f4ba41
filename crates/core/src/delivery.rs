//! Delivery metrics (spec: Continuous Improvement) computed from the stored events, the same
//! way for the API, the CLI and CSV: the four DORA keys and the process's own measures.
//!
//! Definitions (each over production deployments completed in `[from, to)`):
//! - **deployment frequency**: deployments, and deployments per week of the period;
//! - **lead time for changes**: for every commit of a deployed release (its recorded content's
//!   commit times), the time from the commit to the deployment; the median over all commits;
//! - **change failure rate**: the share of deployments followed by a rollback of that release or
//!   by a hotfix started while it was the release in production;
//! - **time to restore**: for each such failure, from the moment it was acted on (rollback
//!   initiated, hotfix started) to service restored (rollback completed, hotfix deployed); median;
//! - **gate failure rate**: per gate, failed results among all results recorded in the period;
//! - **on-time rate**: non-hotfix deployments on or before the local day first planned.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;
use uuid::Uuid;

use crate::event::Event;
use crate::release::ReleaseType;

/// The metrics of one period.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryMetrics {
    /// Start of the period (inclusive).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub from: Timestamp,
    /// End of the period (exclusive).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub to: Timestamp,
    /// Production deployments completed.
    pub deployments: u32,
    /// Deployments per week of the period.
    pub deployments_per_week: f64,
    /// Median hours from commit to production; none without recorded commit times.
    pub lead_time_hours: Option<f64>,
    /// Commits the lead time is measured over.
    pub lead_time_commits: u32,
    /// Deployments followed by a rollback or a hotfix.
    pub failed_deployments: u32,
    /// `failed_deployments / deployments`; none without deployments.
    pub change_failure_rate: Option<f64>,
    /// Median minutes to restore; none without a restored failure.
    pub time_to_restore_minutes: Option<f64>,
    /// Failures restored.
    pub restorations: u32,
    /// Deployments on or before the day first planned (hotfixes aside).
    pub on_time: u32,
    /// `on_time` over the non-hotfix deployments.
    pub on_time_rate: Option<f64>,
    /// Failure rate per gate.
    pub gates: Vec<GateRate>,
    /// One row per deployment, for CSV and charts.
    pub deployment_rows: Vec<DeploymentRow>,
}

/// How often one gate failed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GateRate {
    /// Phase (`planning`).
    pub phase: String,
    /// Gate name.
    pub gate: String,
    /// Passed results.
    pub passed: u32,
    /// Failed results.
    pub failed: u32,
    /// `failed / (passed + failed)`.
    pub failure_rate: f64,
}

/// One production deployment and what followed it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeploymentRow {
    /// Version.
    pub version: String,
    /// Type.
    pub release_type: ReleaseType,
    /// When it completed.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub deployed_at: Timestamp,
    /// When it was first planned to deploy.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub first_planned: Option<Timestamp>,
    /// Deployed on or before the day first planned (none for a hotfix).
    pub on_time: Option<bool>,
    /// Median hours from its commits to this deployment.
    pub lead_time_hours: Option<f64>,
    /// `rollback` or `hotfix X.Y.Z` when the deployment failed.
    pub failed_by: Option<String>,
    /// Minutes from acting on the failure to service restored.
    pub restore_minutes: Option<f64>,
}

/// What the events say about one release.
#[derive(Debug, Default)]
struct Story {
    version: String,
    release_type: Option<ReleaseType>,
    first_planned: Option<Timestamp>,
    planned_at: Option<Timestamp>,
    commit_times: Vec<Timestamp>,
    rollback_started: Option<Timestamp>,
    rollback_completed: Option<Timestamp>,
    deployed: Vec<Timestamp>,
}

/// Computes the metrics of `[from, to)` from `events` (every release's, in log order).
pub fn delivery_metrics(
    events: &[Event],
    from: Timestamp,
    to: Timestamp,
    tz: &TimeZone,
) -> DeliveryMetrics {
    let stories = stories(events);
    let deployments = production_deployments(&stories);
    let mut rows = Vec::new();
    let mut lead_hours = Vec::new();
    let mut restore_minutes = Vec::new();
    for (index, (at, id)) in deployments.iter().enumerate() {
        if *at < from || *at >= to {
            continue;
        }
        let Some(story) = stories.get(id) else {
            continue;
        };
        let commit_hours: Vec<f64> = story
            .commit_times
            .iter()
            .filter(|c| *c <= at)
            .map(|c| hours(*c, *at))
            .collect();
        lead_hours.extend(commit_hours.iter().copied());
        let next_deploy = deployments.get(index + 1).map(|(t, _)| *t);
        let failure = failure(&stories, story, *at, next_deploy);
        if let Some((_, Some(minutes))) = &failure {
            restore_minutes.push(*minutes);
        }
        let hotfix = story.release_type == Some(ReleaseType::Hotfix);
        let on_time = match (hotfix, story.first_planned) {
            (false, Some(planned)) => {
                Some(at.to_zoned(tz.clone()).date() <= planned.to_zoned(tz.clone()).date())
            }
            _ => None,
        };
        rows.push(DeploymentRow {
            version: story.version.clone(),
            release_type: story.release_type.unwrap_or(ReleaseType::Standard),
            deployed_at: *at,
            first_planned: story.first_planned,
            on_time,
            lead_time_hours: median(commit_hours),
            failed_by: failure.as_ref().map(|(by, _)| by.clone()),
            restore_minutes: failure.and_then(|(_, minutes)| minutes),
        });
    }
    let count = rows.len() as u32;
    let failed = rows.iter().filter(|r| r.failed_by.is_some()).count() as u32;
    let timed: Vec<bool> = rows.iter().filter_map(|r| r.on_time).collect();
    let on_time = timed.iter().filter(|t| **t).count() as u32;
    let weeks = to.duration_since(from).as_secs_f64() / (7.0 * 86_400.0);
    DeliveryMetrics {
        from,
        to,
        deployments: count,
        deployments_per_week: if weeks > 0.0 {
            round(f64::from(count) / weeks)
        } else {
            0.0
        },
        lead_time_commits: lead_hours.len() as u32,
        lead_time_hours: median(lead_hours),
        failed_deployments: failed,
        change_failure_rate: (count > 0).then(|| round(f64::from(failed) / f64::from(count))),
        restorations: restore_minutes.len() as u32,
        time_to_restore_minutes: median(restore_minutes),
        on_time,
        on_time_rate: (!timed.is_empty()).then(|| round(f64::from(on_time) / timed.len() as f64)),
        gates: gate_rates(events, from, to),
        deployment_rows: rows,
    }
}

/// A hotfix started while a release was in production.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowingHotfix {
    /// Its version.
    pub version: String,
    /// When it was started.
    pub started_at: Timestamp,
    /// When it reached production, if it has.
    pub deployed_at: Option<Timestamp>,
}

/// The hotfixes started while `release_id` was the release in production (after any of its
/// production deployments and before the next release's).
pub fn hotfixes_following(events: &[Event], release_id: Uuid) -> Vec<FollowingHotfix> {
    let stories = stories(events);
    let deployments = production_deployments(&stories);
    let mut out: Vec<FollowingHotfix> = Vec::new();
    for (index, (at, id)) in deployments.iter().enumerate() {
        if *id != release_id {
            continue;
        }
        let next = deployments.get(index + 1).map(|(t, _)| *t);
        out.extend(
            hotfixes_in_production(&stories, *at, next).map(|(hotfix, started)| FollowingHotfix {
                version: hotfix.version.clone(),
                started_at: started,
                deployed_at: hotfix.deployed.first().copied(),
            }),
        );
    }
    out.sort_by_key(|h| h.started_at);
    out
}

/// Folds the events into one story per release.
fn stories(events: &[Event]) -> BTreeMap<Uuid, Story> {
    let mut out: BTreeMap<Uuid, Story> = BTreeMap::new();
    for event in events {
        let story = out.entry(event.release_id()).or_default();
        match event {
            Event::ReleasePlanned {
                version,
                release_type,
                planned_date,
                timestamp,
                ..
            } => {
                story.version = version.to_string();
                story.release_type = Some(*release_type);
                story.first_planned = Some(*planned_date);
                story.planned_at = Some(*timestamp);
            }
            Event::ReleaseContentRecorded { content, .. } => {
                story.commit_times = content.commit_times.clone();
            }
            Event::DeploymentCompleted { timestamp, .. } => story.deployed.push(*timestamp),
            Event::RollbackInitiated { timestamp, .. } => {
                story.rollback_started.get_or_insert(*timestamp);
            }
            Event::RollbackCompleted { timestamp, .. } => {
                story.rollback_completed.get_or_insert(*timestamp);
            }
            _ => {}
        }
    }
    out
}

/// Every production deployment, in time order.
fn production_deployments(stories: &BTreeMap<Uuid, Story>) -> Vec<(Timestamp, Uuid)> {
    let mut out: Vec<(Timestamp, Uuid)> = stories
        .iter()
        .flat_map(|(id, s)| s.deployed.iter().map(move |at| (*at, *id)))
        .collect();
    out.sort();
    out
}

/// Whether the deployment at `at` failed, how, and the minutes to restore (once restored).
fn failure(
    stories: &BTreeMap<Uuid, Story>,
    story: &Story,
    at: Timestamp,
    next_deploy: Option<Timestamp>,
) -> Option<(String, Option<f64>)> {
    if let Some(started) = story.rollback_started.filter(|t| *t >= at) {
        let restored = story.rollback_completed.map(|done| minutes(started, done));
        return Some(("rollback".into(), restored));
    }
    hotfixes_in_production(stories, at, next_deploy)
        .min_by_key(|(_, started)| *started)
        .map(|(hotfix, started)| {
            let restored = hotfix.deployed.first().map(|done| minutes(started, *done));
            (format!("hotfix {}", hotfix.version), restored)
        })
}

/// The hotfixes started while a release deployed at `at` was in production (until the next
/// production deployment, `next`), with when each started.
fn hotfixes_in_production(
    stories: &BTreeMap<Uuid, Story>,
    at: Timestamp,
    next: Option<Timestamp>,
) -> impl Iterator<Item = (&Story, Timestamp)> {
    stories
        .values()
        .filter(|s| s.release_type == Some(ReleaseType::Hotfix))
        .filter_map(|s| Some((s, s.planned_at?)))
        .filter(move |(_, started)| *started >= at && next.is_none_or(|n| *started < n))
}

fn gate_rates(events: &[Event], from: Timestamp, to: Timestamp) -> Vec<GateRate> {
    let mut counts: BTreeMap<(String, String), (u32, u32)> = BTreeMap::new();
    for event in events
        .iter()
        .filter(|e| e.timestamp() >= from && e.timestamp() < to)
    {
        let (phase, gate, passed) = match event {
            Event::QualityGatePassed {
                gate_phase,
                gate_name,
                ..
            } => (gate_phase, gate_name, true),
            Event::QualityGateFailed {
                gate_phase,
                gate_name,
                ..
            } => (gate_phase, gate_name, false),
            _ => continue,
        };
        let phase = serde_json::to_value(phase)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let entry = counts.entry((phase, gate.to_string())).or_default();
        if passed {
            entry.0 += 1;
        } else {
            entry.1 += 1;
        }
    }
    counts
        .into_iter()
        .map(|((phase, gate), (passed, failed))| GateRate {
            phase,
            gate,
            passed,
            failed,
            failure_rate: round(f64::from(failed) / f64::from(passed + failed)),
        })
        .collect()
}

fn hours(from: Timestamp, to: Timestamp) -> f64 {
    to.duration_since(from).as_secs_f64() / 3600.0
}

fn minutes(from: Timestamp, to: Timestamp) -> f64 {
    to.duration_since(from).as_secs_f64() / 60.0
}

/// The median, rounded to 0.01; none of nothing.
fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    let value = if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    };
    Some(round(value))
}

fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// The deployment rows as CSV (RFC 4180), for spreadsheets.
pub fn csv(metrics: &DeliveryMetrics) -> String {
    let mut out = String::from(
        "version,release_type,deployed_at,first_planned,on_time,lead_time_hours,failed_by,restore_minutes\r\n",
    );
    let opt = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    for row in &metrics.deployment_rows {
        let fields = [
            row.version.clone(),
            row.release_type.as_str().to_string(),
            row.deployed_at.to_string(),
            row.first_planned.map(|t| t.to_string()).unwrap_or_default(),
            row.on_time.map(|t| t.to_string()).unwrap_or_default(),
            opt(row.lead_time_hours),
            row.failed_by.clone().unwrap_or_default(),
            opt(row.restore_minutes),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use semver::Version;

    use super::*;
    use crate::content::ReleaseContent;
    use crate::gates::GatePhase;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    struct History {
        events: Vec<Event>,
    }

    impl History {
        fn plan(&mut self, version: &str, kind: ReleaseType, deploy: &str, now: &str) -> Uuid {
            let id = Uuid::new_v4();
            self.events.push(Event::ReleasePlanned {
                release_id: id,
                checklist_id: Uuid::new_v4(),
                version: Version::parse(version).unwrap(),
                release_type: kind,
                planned_date: at(deploy),
                code_freeze_date: at(now),
                title: None,
                branch: format!("release/v{version}"),
                hotfix: None,
                created_by: "erin".into(),
                timestamp: at(now),
            });
            id
        }

        fn commits(&mut self, id: Uuid, times: &[&str]) {
            self.events.push(Event::ReleaseContentRecorded {
                release_id: id,
                version: Version::new(0, 0, 0),
                content: ReleaseContent {
                    commit_times: times.iter().map(|t| at(t)).collect(),
                    ..ReleaseContent::default()
                },
                recorded_by: "greenlight".into(),
                timestamp: at(times[times.len() - 1]),
            });
        }

        fn deployed(&mut self, id: Uuid, kind: ReleaseType, when: &str) {
            self.events.push(Event::DeploymentCompleted {
                release_id: id,
                version: Version::new(0, 0, 0),
                release_type: kind,
                duration_minutes: 10,
                deployed_by: "erin".into(),
                timestamp: at(when),
            });
        }

        fn rolled_back(&mut self, id: Uuid, started: &str, done: &str) {
            let (from_version, to_version) = (Version::new(1, 4, 0), Version::new(1, 3, 1));
            self.events.push(Event::RollbackInitiated {
                release_id: id,
                from_version: from_version.clone(),
                to_version: to_version.clone(),
                rollback_reason: "high_error_rate".into(),
                initiated_by: "omar".into(),
                timestamp: at(started),
            });
            self.events.push(Event::RollbackCompleted {
                release_id: id,
                from_version,
                to_version,
                duration_minutes: 30,
                initiated_by: "omar".into(),
                timestamp: at(done),
            });
        }

        fn gate(&mut self, id: Uuid, passed: bool, when: &str) {
            let (release_id, version) = (id, Version::new(1, 4, 0));
            let (gate_phase, gate_name) = (GatePhase::Planning, "unit_tests".to_string());
            self.events.push(if passed {
                Event::QualityGatePassed {
                    release_id,
                    version,
                    gate_phase,
                    gate_name,
                    validated_by: "quinn".into(),
                    timestamp: at(when),
                }
            } else {
                Event::QualityGateFailed {
                    release_id,
                    version,
                    gate_phase,
                    gate_name,
                    failure_reason: "3 failing".into(),
                    validated_by: "quinn".into(),
                    timestamp: at(when),
                }
            });
        }
    }

    /// November 2026: 1.3.0 on time, hotfixed by 1.3.1 two hours after it was started; 1.4.0
    /// a day late and rolled back in 30 minutes; 1.2.0 in October, outside the period.
    fn november() -> Vec<Event> {
        use ReleaseType::*;
        let mut h = History { events: Vec::new() };
        let old = h.plan(
            "1.2.0",
            Standard,
            "2026-10-22T21:00:00Z",
            "2026-10-10T18:00:00Z",
        );
        h.deployed(old, Standard, "2026-10-22T21:00:00Z");
        let r130 = h.plan(
            "1.3.0",
            Standard,
            "2026-11-05T22:00:00Z",
            "2026-10-25T18:00:00Z",
        );
        h.commits(r130, &["2026-11-01T22:00:00Z", "2026-11-03T22:00:00Z"]);
        h.gate(r130, false, "2026-11-02T18:00:00Z");
        h.gate(r130, true, "2026-11-03T18:00:00Z");
        h.deployed(r130, Standard, "2026-11-05T22:00:00Z");
        let r131 = h.plan(
            "1.3.1",
            Hotfix,
            "2026-11-06T20:00:00Z",
            "2026-11-06T18:00:00Z",
        );
        h.deployed(r131, Hotfix, "2026-11-06T20:00:00Z");
        let r140 = h.plan(
            "1.4.0",
            Standard,
            "2026-11-19T22:00:00Z",
            "2026-11-08T18:00:00Z",
        );
        h.commits(r140, &["2026-11-18T22:00:00Z"]);
        h.gate(r140, true, "2026-11-18T18:00:00Z");
        h.deployed(r140, Standard, "2026-11-20T22:00:00Z");
        h.rolled_back(r140, "2026-11-20T23:00:00Z", "2026-11-20T23:30:00Z");
        h.events
    }

    fn tz() -> TimeZone {
        TimeZone::get("America/Los_Angeles").unwrap()
    }

    #[test]
    fn the_four_keys_and_the_process_measures_match_the_hand_computed_values() {
        let m = delivery_metrics(
            &november(),
            at("2026-11-01T00:00:00Z"),
            at("2026-11-29T00:00:00Z"),
            &tz(),
        );
        assert_eq!(
            m.deployments, 3,
            "1.3.0, 1.3.1, 1.4.0; 1.2.0 was in October"
        );
        assert_eq!(m.deployments_per_week, 0.75, "3 in 4 weeks");
        // Commits to production: 96 h and 48 h (1.3.0), 48 h (1.4.0).
        assert_eq!((m.lead_time_commits, m.lead_time_hours), (3, Some(48.0)));
        assert_eq!(m.failed_deployments, 2, "1.3.0 hotfixed, 1.4.0 rolled back");
        assert_eq!(m.change_failure_rate, Some(0.67));
        // Restores: 120 min (hotfix started 18:00, deployed 20:00) and 30 min (rollback).
        assert_eq!((m.restorations, m.time_to_restore_minutes), (2, Some(75.0)));
        assert_eq!(
            (m.on_time, m.on_time_rate),
            (1, Some(0.5)),
            "1.4.0 a day late"
        );
        assert_eq!(m.gates.len(), 1);
        assert_eq!((m.gates[0].passed, m.gates[0].failed), (2, 1));
        assert_eq!(m.gates[0].failure_rate, 0.33);
        let rows: Vec<(&str, Option<&str>, Option<f64>)> = m
            .deployment_rows
            .iter()
            .map(|r| {
                (
                    r.version.as_str(),
                    r.failed_by.as_deref(),
                    r.restore_minutes,
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                ("1.3.0", Some("hotfix 1.3.1"), Some(120.0)),
                ("1.3.1", None, None),
                ("1.4.0", Some("rollback"), Some(30.0)),
            ]
        );
        assert_eq!(m.deployment_rows[0].lead_time_hours, Some(72.0));
    }

    #[test]
    fn an_empty_period_has_no_rates_and_csv_has_its_header() {
        let m = delivery_metrics(
            &november(),
            at("2026-12-01T00:00:00Z"),
            at("2026-12-08T00:00:00Z"),
            &tz(),
        );
        assert_eq!(m.deployments, 0);
        assert_eq!(m.change_failure_rate, None);
        assert_eq!(m.lead_time_hours, None);
        assert_eq!(
            csv(&m),
            "version,release_type,deployed_at,first_planned,on_time,lead_time_hours,failed_by,restore_minutes\r\n"
        );
        let all = delivery_metrics(
            &november(),
            at("2026-11-01T00:00:00Z"),
            at("2026-11-29T00:00:00Z"),
            &tz(),
        );
        let text = csv(&all);
        assert!(
            text.contains("\r\n1.4.0,standard,2026-11-20T22:00:00Z,2026-11-19T22:00:00Z,false,48,rollback,30\r\n"),
            "{text}"
        );
    }
}
