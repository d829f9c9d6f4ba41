//! The simulated world a sequence runs in: the releases (folded step by step with `apply`),
//! their event histories, production's history as the store keeps it, feature flags, and the test
//! clock. Each [`Step`] is carried out through the core (`plan`, `decide`, the flag functions)
//! exactly as the server would, and its [`Outcome`] is kept for the oracle.

use std::fmt;
use std::sync::Arc;

use greenlight_core::ReleaseType;
use greenlight_core::decide::{PendingRelease, RaisedAlert};
use greenlight_core::flags::{self, Flag, FlagEvent, FlagRelease, FlagSpec, Stage};
use greenlight_core::gates::GatePhase;
use greenlight_core::release::{Environment, ReleaseStatus};
use greenlight_core::state::{Bug, Severity};
use greenlight_core::{Command, Context, Event, PlanRelease, Policy, Release, World, decide, plan};
use jiff::civil::Weekday;
use jiff::{SignedDuration, Timestamp};
use semver::Version;
use uuid::Uuid;

use super::cast::Who;
use super::policies::{self, VARIANTS};
use super::steps::{FlagOp, Step};

/// The world of one generated sequence.
#[derive(Clone)]
pub struct Sim {
    /// Index into [`VARIANTS`].
    pub policy_index: usize,
    /// The policy.
    pub policy: Arc<Policy>,
    /// Where the clock started.
    pub start: Timestamp,
    /// The test clock.
    pub now: Timestamp,
    /// The version live before Greenlight (recorded as the store's baseline), if any.
    pub baseline: Option<Version>,
    /// Releases in the order they were planned.
    pub releases: Vec<Release>,
    /// Each release's events, in order.
    pub histories: Vec<Vec<Event>>,
    /// Production's history as the store records it: (release, version live), oldest first.
    pub production: Vec<(Option<Uuid>, Version, &'static str)>,
    /// Feature flags, in the order they were created.
    pub flags: Vec<Flag>,
    /// Each flag's events.
    pub flag_histories: Vec<Vec<FlagEvent>>,
    /// What happened, step by step, in words (printed when an invariant fails).
    pub log: Vec<String>,
    /// The last step's outcome.
    pub last: Option<Outcome>,
}

/// What one step did.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The release acted on (index), if any.
    pub release: Option<usize>,
    /// The flag acted on (index), if any.
    pub flag: Option<usize>,
    /// The release events of every accepted command of the step.
    pub events: Vec<Event>,
    /// The flag event, if one was accepted.
    pub flag_event: Option<FlagEvent>,
    /// A refused command: the release (or flag) before and after `decide`, serialised.
    pub refused_unchanged: Vec<(String, String)>,
    /// Times the core refused for the deployment window: (time, release type).
    pub window_refusals: Vec<(Timestamp, ReleaseType)>,
}

impl fmt::Debug for Sim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} from {} (baseline {:?})",
            VARIANTS[self.policy_index].0,
            self.start,
            self.baseline.as_ref().map(Version::to_string)
        )
    }
}

impl Sim {
    /// A world under policy variant `policy_index`, its clock at `start`.
    pub fn new(policy_index: usize, start: Timestamp, baseline: Option<Version>) -> Sim {
        let production = baseline
            .iter()
            .map(|v| (None, v.clone(), "baseline"))
            .collect();
        Sim {
            policy_index,
            policy: policies::policy(policy_index),
            start,
            now: start,
            baseline,
            releases: Vec::new(),
            histories: Vec::new(),
            production,
            flags: Vec::new(),
            flag_histories: Vec::new(),
            log: Vec::new(),
            last: None,
        }
    }

    /// The release a step's slot names: slots wrap around the releases planned so far.
    pub fn slot(&self, slot: u8) -> Option<usize> {
        (!self.releases.is_empty()).then(|| usize::from(slot) % self.releases.len())
    }

    /// The flag a step's slot names.
    pub fn flag_slot(&self, slot: u8) -> Option<usize> {
        (!self.flags.is_empty()).then(|| usize::from(slot) % self.flags.len())
    }

    /// Carries out one step.
    pub fn step(&mut self, step: &Step) {
        let mut outcome = Outcome {
            release: None,
            flag: None,
            events: Vec::new(),
            flag_event: None,
            refused_unchanged: Vec::new(),
            window_refusals: Vec::new(),
        };
        match step {
            Step::Wait { minutes } => {
                self.now += SignedDuration::from_mins(i64::from(*minutes));
                self.note(format!("wait {minutes} min"));
            }
            Step::JumpTo { day, hour, minute } => {
                self.now = self.next_local(*day, *hour, *minute);
                self.note(format!("jump to {day:?} {hour:02}:{minute:02}"));
            }
            Step::Plan {
                by,
                release_type,
                version,
                days_ahead,
            } => self.plan(
                *by,
                *release_type,
                version.clone(),
                *days_ahead,
                &mut outcome,
            ),
            Step::Do {
                by,
                release,
                command,
            } => {
                if let Some(index) = self.slot(*release) {
                    outcome.release = Some(index);
                    self.decide(*by, index, command, &mut outcome);
                }
            }
            Step::PassPhase { by, release, phase } => {
                if let Some(index) = self.slot(*release) {
                    outcome.release = Some(index);
                    for gate in self.policy.gates.of(*phase).to_vec() {
                        let command = Command::RecordGate {
                            phase: *phase,
                            gate: gate.name.clone(),
                            passed: true,
                            reason: None,
                        };
                        self.decide(*by, index, &command, &mut outcome);
                    }
                }
            }
            Step::Flag { by, flag, op } => self.flag(*by, *flag, op, &mut outcome),
        }
        self.last = Some(outcome);
    }

    fn note(&mut self, text: String) {
        let local = self
            .now
            .to_zoned(self.policy.tz().clone())
            .strftime("%a %F %H:%M %Z")
            .to_string();
        self.log.push(format!("[{local}] {text}"));
    }

    /// The next instant (after now) at local `hour:minute` on `day`, in the policy's zone.
    fn next_local(&self, day: Weekday, hour: i8, minute: i8) -> Timestamp {
        let tz = self.policy.tz().clone();
        let mut date = self.now.to_zoned(tz.clone()).date();
        for _ in 0..15 {
            if date.weekday() == day
                && let Ok(zoned) = date.at(hour, minute, 0, 0).to_zoned(tz.clone())
                && zoned.timestamp() > self.now
            {
                return zoned.timestamp();
            }
            date = date.tomorrow().unwrap_or(date);
        }
        self.now
    }

    /// The facts about other releases, built as the store builds them (`Store::world_for`).
    pub fn world_for(&self, release: Option<&Release>) -> World {
        let production = self.production.last().map(|(_, v, _)| v.clone());
        let pending = self.pending_releases(release.map(|r| r.record.release_id));
        let Some(release) = release else {
            return World {
                production_version: production,
                pending_releases: pending,
                ..World::default()
            };
        };
        let id = release.record.release_id;
        let newest_first: Vec<_> = self.production.iter().rev().collect();
        let deployed_at = newest_first
            .iter()
            .position(|(r, _, kind)| *r == Some(id) && *kind == "deploy")
            .unwrap_or(0);
        let previous = newest_first
            .iter()
            .skip(deployed_at + 1)
            .map(|(_, v, _)| v.clone())
            .next();
        let other_run = self
            .releases
            .iter()
            .find(|r| r.record.release_id != id && (r.deployment.is_some() || r.rollback.is_some()))
            .map(|r| r.record.version.clone());
        let active_branch = self
            .releases
            .iter()
            .filter(|r| matches!(r.status(), ReleaseStatus::Planned | ReleaseStatus::Staging))
            .filter(|r| r.release_type() != ReleaseType::Hotfix)
            .map(|r| r.record.version.clone())
            .min()
            .map(|v| greenlight_core::version::release_branch(&v));
        let (production_sev1_bugs, production_health_alerts) = self.production_health();
        World {
            production_version: production,
            pending_releases: pending,
            previous_production_version: previous,
            other_run_in_progress: other_run,
            active_release_branch: active_branch,
            production_sev1_bugs,
            production_health_alerts,
        }
    }

    /// Releases not in production (planned, staging, rolled back), but `except`.
    fn pending_releases(&self, except: Option<Uuid>) -> Vec<PendingRelease> {
        self.releases
            .iter()
            .filter(|r| Some(r.record.release_id) != except)
            .filter(|r| {
                matches!(
                    r.status(),
                    ReleaseStatus::Planned | ReleaseStatus::Staging | ReleaseStatus::RolledBack
                )
            })
            .map(|r| PendingRelease {
                version: r.record.version.clone(),
                planned_date: r.record.planned_date,
                status: r.status(),
            })
            .collect()
    }

    /// The live release's open Severity 1 bugs and the latest health alert of each kind raised
    /// on it, as the store gathers them (`Store::production_health`).
    fn production_health(&self) -> (Vec<Bug>, Vec<RaisedAlert>) {
        let live = self.production.last().map(|(_, v, _)| v);
        let Some(index) = self
            .releases
            .iter()
            .position(|r| Some(&r.record.version) == live)
        else {
            return (Vec::new(), Vec::new());
        };
        let bugs = self.releases[index]
            .bugs
            .iter()
            .filter(|b| b.open && b.severity == Severity::SEV1)
            .cloned()
            .collect();
        let mut alerts: Vec<RaisedAlert> = Vec::new();
        for event in self.histories[index].iter().rev() {
            if let Event::HealthAlertRaised {
                alert,
                detail,
                timestamp,
                ..
            } = event
                && !alerts.iter().any(|a| a.alert == *alert)
            {
                alerts.push(RaisedAlert {
                    alert: *alert,
                    detail: detail.clone(),
                    raised_at: *timestamp,
                });
            }
        }
        (bugs, alerts)
    }

    fn plan(
        &mut self,
        by: Who,
        release_type: ReleaseType,
        version: Option<Version>,
        days_ahead: Option<u8>,
        outcome: &mut Outcome,
    ) {
        let n = self.releases.len() as u128;
        let planned_date = days_ahead.map(|days| {
            let tz = self.policy.tz().clone();
            let date = self.now.to_zoned(tz.clone()).date();
            let date = date
                .checked_add(jiff::Span::new().days(i64::from(days)))
                .unwrap_or(date);
            date.at(14, 30, 0, 0)
                .to_zoned(tz)
                .map(|z| z.timestamp())
                .unwrap_or(self.now)
        });
        let command = PlanRelease {
            release_id: Uuid::from_u128(n + 1),
            checklist_id: Uuid::from_u128(n + 1001),
            release_type,
            version: version.clone(),
            planned_date,
            title: (release_type == ReleaseType::Hotfix).then(|| "score fix".to_string()),
            from_version: None,
            trigger: (release_type == ReleaseType::Hotfix)
                .then(|| "score_recording_failure".into()),
            severity: None,
        };
        let actor = by.actor();
        if actor.system {
            self.note(format!("{by:?}: Greenlight never plans releases"));
            return;
        }
        let world = self.world_for(None);
        let ctx = Context {
            policy: &self.policy,
            now: self.now,
            actor: &actor,
            world: &world,
        };
        let result = plan(&command, &ctx);
        let what = format!(
            "{by:?} plans a {release_type} release{}{}",
            version.map(|v| format!(" {v}")).unwrap_or_default(),
            planned_date
                .map(|d| format!(" for {d}"))
                .unwrap_or_default()
        );
        match result {
            Ok(events) => {
                let Some(release) = Release::replay(&events) else {
                    panic!("plan gave no release_planned event: {events:?}");
                };
                let version = &release.record.version;
                if self.releases.iter().any(|r| r.record.version == *version) {
                    // The store keeps one release per version (a unique column).
                    self.note(format!("{what}: {version} already exists (store conflict)"));
                    return;
                }
                self.note(format!(
                    "{what}: #{} {} planned for {}",
                    self.releases.len(),
                    release.record.version,
                    release.record.planned_date
                ));
                outcome.release = Some(self.releases.len());
                self.releases.push(release);
                self.histories.push(events.clone());
                outcome.events.extend(events);
            }
            Err(refusal) => {
                if let Some(date) = planned_date.filter(|_| refused_for_window(&refusal)) {
                    outcome.window_refusals.push((date, release_type));
                }
                self.note(format!("{what}: refused ({})", rules(&refusal)));
            }
        }
    }

    fn decide(&mut self, by: Who, index: usize, command: &Command, outcome: &mut Outcome) {
        let actor = by.actor();
        if actor.system && !system_command(command) {
            self.note(format!(
                "{by:?}: Greenlight never sends {}",
                describe(command)
            ));
            return;
        }
        let world = self.world_for(Some(&self.releases[index]));
        let before = serde_json::to_string(&self.releases[index]).unwrap_or_default();
        let ctx = Context {
            policy: &self.policy,
            now: self.now,
            actor: &actor,
            world: &world,
        };
        let result = decide(&self.releases[index], command, &ctx);
        let what = format!(
            "{by:?} on #{index} {}: {}",
            self.releases[index].record.version,
            describe(command)
        );
        match result {
            Ok(events) => {
                for event in &events {
                    self.releases[index].apply(event);
                    self.record_production(event);
                }
                let names: Vec<&str> = events.iter().map(Event::name).collect();
                self.note(format!("{what} -> {}", names.join(", ")));
                self.histories[index].extend(events.iter().cloned());
                outcome.events.extend(events);
            }
            Err(refusal) => {
                let after = serde_json::to_string(&self.releases[index]).unwrap_or_default();
                outcome.refused_unchanged.push((before, after));
                let release_type = self.releases[index].release_type();
                let when = match command {
                    Command::StartDeployment {
                        environment: Environment::Production,
                        ..
                    } => Some(self.now),
                    Command::Reschedule { planned_date, .. } => Some(*planned_date),
                    _ => None,
                };
                if let Some(when) = when.filter(|_| refused_for_window(&refusal)) {
                    outcome.window_refusals.push((when, release_type));
                }
                self.note(format!("{what}: refused ({})", rules(&refusal)));
            }
        }
    }

    /// The store's environment history: production deployments and completed rollbacks.
    fn record_production(&mut self, event: &Event) {
        match event {
            Event::DeploymentCompleted {
                release_id,
                version,
                ..
            } => self
                .production
                .push((Some(*release_id), version.clone(), "deploy")),
            Event::RollbackCompleted {
                release_id,
                to_version,
                ..
            } => self
                .production
                .push((Some(*release_id), to_version.clone(), "rollback")),
            _ => {}
        }
    }

    fn flag(&mut self, by: Who, slot: u8, op: &FlagOp, outcome: &mut Outcome) {
        let actor = by.actor();
        if actor.system && !matches!(op, FlagOp::Advance) {
            self.note(format!("{by:?}: Greenlight only advances flags by itself"));
            return;
        }
        let policy = &self.policy.feature_flags;
        let (index, result) = match op {
            FlagOp::Create {
                plan,
                kind,
                for_release,
            } => {
                let key = format!("flag-{}", self.flags.len());
                let release = for_release
                    .then(|| self.releases.last())
                    .flatten()
                    .map(|r| FlagRelease {
                        release_id: r.record.release_id,
                        version: r.record.version.to_string(),
                    });
                let spec = FlagSpec {
                    key,
                    description: String::new(),
                    variants: Vec::new(),
                    off_variant: None,
                    stickiness: None,
                    plan: plan.as_deref().map(everyone),
                    release: None,
                    auto_advance: false,
                    kind: kind.clone(),
                };
                (
                    None,
                    flags::create(&spec, release, policy, &actor, self.now),
                )
            }
            other => {
                let Some(index) = self.flag_slot(slot) else {
                    self.note(format!("{by:?}: {op:?} (no flag yet)"));
                    return;
                };
                let flag = &self.flags[index];
                let tz = self.policy.tz();
                let result = match other {
                    FlagOp::Advance => {
                        flags::advance(flag, policy, &actor, self.now, actor.system, tz)
                    }
                    FlagOp::Kill => flags::kill(flag, "scores not saved", &actor, self.now),
                    _ => flags::restore(flag, &actor, self.now),
                };
                (Some(index), result)
            }
        };
        let what = format!("{by:?}: {op:?}");
        match result {
            Ok(event) => {
                let index = match index {
                    Some(i) => {
                        self.flags[i].apply(&event);
                        self.flag_histories[i].push(event.clone());
                        i
                    }
                    None => {
                        let FlagEvent::FlagCreated { flag, .. } = &event else {
                            panic!("create gave {event:?}");
                        };
                        self.flags.push((**flag).clone());
                        self.flag_histories.push(vec![event.clone()]);
                        self.flags.len() - 1
                    }
                };
                self.note(format!("{what} -> flag-{index} {}", event.name()));
                outcome.flag = Some(index);
                outcome.flag_event = Some(event);
            }
            Err(refusal) => self.note(format!("{what}: refused ({})", rules(&refusal))),
        }
    }
}

/// The commands Greenlight sends as itself (the system actor passes role checks): ending runs,
/// automatic rollback, health alerts. The server never sends any other command as Greenlight.
fn system_command(command: &Command) -> bool {
    matches!(
        command,
        Command::CompleteDeployment
            | Command::FailDeployment { .. }
            | Command::StartRollback { .. }
            | Command::CompleteRollback
            | Command::FailRollback { .. }
            | Command::RaiseHealthAlert { .. }
    )
}

/// Whether the deployment-window rule is among the refusal's reasons.
fn refused_for_window(refusal: &greenlight_core::Refusal) -> bool {
    refusal
        .reasons
        .iter()
        .any(|r| r.rule == greenlight_core::Rule::DeploymentWindow)
}

/// The refusal's rule names, for the log.
fn rules(refusal: &greenlight_core::Refusal) -> String {
    let names: Vec<String> = refusal
        .reasons
        .iter()
        .map(|r| format!("{}: {}", r.rule.as_str(), r.message))
        .collect();
    names.join("; ")
}

/// A command in a few words.
pub fn describe(command: &Command) -> String {
    let text = format!("{command:?}");
    if text.len() > 140 {
        format!("{}...", &text[..140])
    } else {
        text
    }
}

/// A flag stage list from percentages of everyone.
pub fn everyone(percentages: &[u8]) -> Vec<Stage> {
    percentages
        .iter()
        .map(|p| Stage {
            segment: None,
            percentage: *p,
        })
        .collect()
}

/// Used by generation: whether every gate of `phase` has a satisfied result on `release`.
pub fn phase_done(policy: &Policy, release: &Release, phase: GatePhase) -> bool {
    policy.gates.of(phase).iter().all(|g| {
        release
            .gates
            .iter()
            .any(|r| r.gate_phase == phase && r.gate_name == g.name && r.outcome.satisfied())
    })
}
