//! The heart: `decide(release, command, context) -> events or refusal`, and `plan` for new releases.
//!
//! Every rule of the spec that can refuse a command is checked here, against the policy, the
//! actor's roles, the time passed in and the facts about other releases ([`World`]). A refusal
//! lists every rule that failed, each with what would satisfy it.

use jiff::Timestamp;
use semver::Version;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::calendar::{self, WindowStatus, next_slot};
use crate::event::Event;
use crate::gates::{GatePhase, phase_status};
use crate::policy::Policy;
use crate::refusal::{Reason, Refusal, Rule};
use crate::release::{Environment, GoNoGo, ManualChecklistItem, ReleaseStatus, ReleaseType};
use crate::roles::{Action, Actor, Role};
use crate::state::{ActionItem, Bug, Release, Severity, minutes_between, plus_hours};
use crate::version::{self, release_candidate};

/// Facts about other releases that some rules need.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct World {
    /// The version live in production.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub production_version: Option<Version>,
    /// The version live in production before the current one (the rollback target).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub previous_production_version: Option<Version>,
    /// A deployment or rollback running for another release: its version.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub other_run_in_progress: Option<Version>,
    /// The branch of the next standard, patch or major release not yet deployed (where a
    /// hotfix is backported).
    pub active_release_branch: Option<String>,
    /// The other releases not in production: planned, on staging, or rolled back (awaiting a
    /// retry). Versions are proposed from what is live and what ships before, and reach
    /// production in increasing order.
    #[serde(default)]
    pub pending_releases: Vec<PendingRelease>,
    /// Open Severity 1 bugs on the release live in production: an active incident, so the
    /// Go/No-Go's "check current production health" refuses Go.
    #[serde(default)]
    pub production_sev1_bugs: Vec<Bug>,
    /// The latest health alert of each kind raised on the release live in production; one
    /// raised within the policy's `go_no_go.health_alert_minutes` is unresolved and refuses Go.
    #[serde(default)]
    pub production_health_alerts: Vec<RaisedAlert>,
}

/// Another release not in production yet: its version, when it is planned to ship, and where it
/// stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PendingRelease {
    /// Its version.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub version: Version,
    /// Its planned deployment.
    pub planned_date: Timestamp,
    /// planned, staging or rolled_back.
    pub status: ReleaseStatus,
}

impl PendingRelease {
    /// Still on its way to production (planned or on staging), so versions below it wait.
    pub fn still_planned(&self) -> bool {
        matches!(self.status, ReleaseStatus::Planned | ReleaseStatus::Staging)
    }
}

/// A health alert the monitor raised on the release live in production (its latest of a kind).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RaisedAlert {
    /// What kind of alert.
    pub alert: crate::health::AlertKind,
    /// The numbers behind it.
    pub detail: String,
    /// When it was last raised.
    pub raised_at: Timestamp,
}

/// What `decide` reads besides the release and the command.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// The policy.
    pub policy: &'a Policy,
    /// Now. The core never reads the clock.
    pub now: Timestamp,
    /// Who is acting.
    pub actor: &'a Actor,
    /// Facts about other releases.
    pub world: &'a World,
}

/// A command on an existing release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// Move the planned deployment.
    Reschedule {
        /// The new deployment time.
        planned_date: Timestamp,
        /// Why.
        reason: String,
    },
    /// Code freeze: create the release branch and the first candidate.
    Freeze,
    /// Cut the next release candidate.
    CutReleaseCandidate,
    /// Record a gate result.
    RecordGate {
        /// Phase.
        phase: GatePhase,
        /// Gate name.
        gate: String,
        /// Passed or failed.
        passed: bool,
        /// Why it failed (required when it did).
        reason: Option<String>,
    },
    /// Record a gate from a CI artifact's parsed evidence (JUnit, coverage, a scan, ...): the
    /// gate passes or fails on it, and the evidence is kept with the release.
    AttachEvidence {
        /// Phase.
        phase: GatePhase,
        /// Gate name.
        gate: String,
        /// The artifact's format (`junit`, `lcov`).
        format: String,
        /// What the evidence shows, in one line.
        summary: String,
        /// The thresholds it missed; empty when the gate passes.
        reasons: Vec<String>,
    },
    /// Override a gate (engineering lead, with a justification).
    OverrideGate {
        /// Phase.
        phase: GatePhase,
        /// Gate name.
        gate: String,
        /// The documented justification.
        justification: String,
    },
    /// Report a bug.
    ReportBug {
        /// Tracker ID.
        bug_id: String,
        /// 1-4.
        severity: Severity,
        /// Summary.
        title: String,
        /// Known workaround.
        workaround: Option<String>,
    },
    /// Resolve a bug.
    ResolveBug {
        /// Tracker ID.
        bug_id: String,
    },
    /// Approve in a role.
    Approve {
        /// The role.
        role: Role,
    },
    /// Record what the release contains, drafted from its history.
    RecordContent(crate::content::ReleaseContent),
    /// Record a major release's stakeholder review.
    StakeholderReview {
        /// Notes.
        notes: String,
    },
    /// Vote in the Go/No-Go decision.
    GoNoGo {
        /// The voter's role.
        role: Role,
        /// go or no-go.
        vote: GoNoGo,
        /// Notes.
        notes: Option<String>,
    },
    /// Tick a checklist item.
    MarkChecklist {
        /// The item.
        item: ManualChecklistItem,
    },
    /// Start a deployment.
    StartDeployment {
        /// Where.
        environment: Environment,
        /// Justification for deploying outside the window (engineering lead).
        override_window: Option<String>,
    },
    /// The running deployment finished.
    CompleteDeployment,
    /// The running deployment failed.
    FailDeployment {
        /// Why (`smoke_tests_failed`, `interrupted`).
        reason: String,
    },
    /// Start rolling production back.
    StartRollback {
        /// Why.
        reason: String,
        /// The version to return to; the previous production version if not given.
        #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
        to_version: Option<Version>,
        /// Roll the database back too (maintenance mode, restore, application rollback). The spec
        /// calls this high-risk, so it needs `confirm`.
        #[serde(default)]
        database: bool,
        /// For a database rollback: the version being returned to, typed out as confirmation.
        #[serde(default)]
        confirm: Option<String>,
    },
    /// The running rollback finished.
    CompleteRollback,
    /// The running rollback failed.
    FailRollback {
        /// Why.
        reason: String,
    },
    /// Mark an action item done.
    CompleteActionItem {
        /// Its kind.
        kind: String,
        /// Notes or a link.
        notes: Option<String>,
    },
    /// Greenlight's health monitor raises an alert (a trigger holds while automatic rollback is
    /// off, or the health data is inconclusive). Only Greenlight itself.
    RaiseHealthAlert {
        /// What kind of alert.
        alert: crate::health::AlertKind,
        /// The numbers behind it.
        detail: String,
    },
    /// Cancel the release.
    Cancel {
        /// Why.
        reason: String,
    },
    /// Record a Phase 4 metrics review (the spec's metrics list).
    RecordMetricsReview {
        /// Metric name to value; names from [`REVIEW_METRICS`].
        values: std::collections::BTreeMap<String, f64>,
        /// Notes.
        notes: Option<String>,
    },
    /// Record the retrospective held after the release.
    RecordRetrospective {
        /// What was said.
        notes: String,
        /// Policy or checklist changes it led to.
        outputs: Vec<String>,
        /// Action items, each with an owner and a due time.
        items: Vec<RetrospectiveItem>,
    },
}

/// Decides a command on a release: the events it yields, or why it is refused.
pub fn decide(release: &Release, command: &Command, ctx: &Context) -> Result<Vec<Event>, Refusal> {
    match command {
        Command::Reschedule {
            planned_date,
            reason,
        } => reschedule(release, *planned_date, reason, ctx),
        Command::Freeze => freeze(release, ctx),
        Command::CutReleaseCandidate => cut_candidate(release, ctx),
        Command::RecordGate {
            phase,
            gate,
            passed,
            reason,
        } => record_gate(release, *phase, gate, *passed, reason.as_deref(), ctx),
        Command::AttachEvidence {
            phase,
            gate,
            format,
            summary,
            reasons,
        } => attach_evidence(release, *phase, gate, format, summary, reasons, ctx),
        Command::OverrideGate {
            phase,
            gate,
            justification,
        } => override_gate(release, *phase, gate, justification, ctx),
        Command::ReportBug {
            bug_id,
            severity,
            title,
            workaround,
        } => report_bug(release, bug_id, *severity, title, workaround, ctx),
        Command::ResolveBug { bug_id } => resolve_bug(release, bug_id, ctx),
        Command::Approve { role } => approve(release, *role, ctx),
        Command::StakeholderReview { notes } => stakeholder_review(release, notes, ctx),
        Command::RecordContent(content) => record_content(release, content, ctx),
        Command::GoNoGo { role, vote, notes } => go_no_go(release, *role, *vote, notes, ctx),
        Command::MarkChecklist { item } => mark_checklist(release, *item, ctx),
        Command::StartDeployment {
            environment: Environment::Staging,
            ..
        } => start_staging(release, ctx),
        Command::StartDeployment {
            environment: Environment::Production,
            override_window,
        } => start_production(release, override_window.as_deref(), ctx),
        Command::CompleteDeployment => complete_deployment(release, ctx),
        Command::FailDeployment { reason } => fail_deployment(release, reason, ctx),
        Command::StartRollback {
            reason,
            to_version,
            database,
            confirm,
        } => {
            let method = if *database {
                RollbackMethod::Database {
                    confirm: confirm.as_deref(),
                }
            } else {
                RollbackMethod::Application
            };
            start_rollback(release, reason, to_version.as_ref(), method, ctx)
        }
        Command::CompleteRollback => complete_rollback(release, ctx),
        Command::FailRollback { reason } => fail_rollback(release, reason, ctx),
        Command::CompleteActionItem { kind, notes } => {
            complete_action_item(release, kind, notes, ctx)
        }
        Command::RaiseHealthAlert { alert, detail } => {
            raise_health_alert(release, *alert, detail, ctx)
        }
        Command::Cancel { reason } => cancel(release, reason, ctx),
        Command::RecordRetrospective {
            notes,
            outputs,
            items,
        } => record_retrospective(release, notes, outputs, items, ctx),
        Command::RecordMetricsReview { values, notes } => {
            record_metrics_review(release, values, notes, ctx)
        }
    }
}

/// A request to plan a release (or start a hotfix).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlanRelease {
    /// ID for the new release (IDs are made at the edge, not in the core).
    pub release_id: Uuid,
    /// ID for its checklist.
    pub checklist_id: Uuid,
    /// The type.
    pub release_type: ReleaseType,
    /// The version; proposed from the latest (or, for a hotfix, production) version if not given.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub version: Option<Version>,
    /// The deployment time; proposed from the cadence if not given.
    pub planned_date: Option<Timestamp>,
    /// A hotfix's title (its branch's description).
    pub title: Option<String>,
    /// A hotfix's base: the version live in production that it fixes (checked against the
    /// production version Greenlight knows, when it knows one).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    #[serde(default)]
    pub from_version: Option<Version>,
    /// A hotfix's trigger, one of the policy's `[[hotfix.triggers]]` (`score_recording_failure`).
    #[serde(default)]
    pub trigger: Option<String>,
    /// A hotfix's severity (1-4); may be left out when its trigger has only one.
    #[serde(default)]
    pub severity: Option<Severity>,
}

/// Plans a release: proposes version and dates from the policy and checks every planning rule.
pub fn plan(cmd: &PlanRelease, ctx: &Context) -> Result<Vec<Event>, Refusal> {
    let hotfix = cmd.release_type == ReleaseType::Hotfix;
    let action = if hotfix {
        Action::CreateHotfixBranch
    } else {
        Action::PlanRelease
    };
    ctx.actor.require(action)?;
    let title = cmd
        .title
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    if hotfix && title.is_none() {
        return Err(Refusal::one(
            Rule::Input,
            "a hotfix needs a title",
            "give a short description, e.g. --title \"critical score fix\"",
        ));
    }
    let urgency = if hotfix {
        let trigger = cmd.trigger.as_deref();
        Some(crate::hotfix::urgency(
            trigger,
            cmd.severity,
            &ctx.policy.hotfix,
            ctx.now,
        )?)
    } else if cmd.trigger.is_some() || cmd.severity.is_some() {
        return Err(Refusal::one(
            Rule::Input,
            "only a hotfix has a trigger and a severity",
            "leave out --trigger and --severity, or start a hotfix",
        ));
    } else {
        None
    };
    let (planned_date, code_freeze_date) = plan_dates(cmd, ctx)?;
    let version = plan_version(cmd, planned_date, ctx)?;
    let branch = if hotfix {
        version::hotfix_branch(&version, title.unwrap_or_default())
    } else {
        version::release_branch(&version)
    };
    Ok(vec![Event::ReleasePlanned {
        release_id: cmd.release_id,
        checklist_id: cmd.checklist_id,
        version,
        release_type: cmd.release_type,
        planned_date,
        code_freeze_date,
        title: title.map(str::to_string),
        branch,
        hotfix: urgency,
        created_by: ctx.actor.id.clone(),
        timestamp: ctx.now,
    }])
}

/// The version of a new release: the one given, or the next of its type counted from what is
/// live in production and what ships before it (a hotfix: from production only).
fn plan_version(cmd: &PlanRelease, planned: Timestamp, ctx: &Context) -> Result<Version, Refusal> {
    let hotfix = cmd.release_type == ReleaseType::Hotfix;
    let base = if hotfix {
        hotfix_base(cmd, ctx)?.cloned()
    } else if cmd.from_version.is_some() {
        return Err(Refusal::one(
            Rule::Input,
            "only a hotfix is planned from a deployed version",
            "leave out --from, or plan a hotfix",
        ));
    } else {
        proposal_base(planned, ctx)
    };
    let version = match (&cmd.version, &base) {
        (Some(v), _) => v.clone(),
        (None, Some(base)) => version::next_version(base, cmd.release_type),
        (None, None) => {
            let what = if hotfix {
                "nothing is deployed to production yet, so a hotfix has no version to fix"
            } else {
                "this is the first release, so there is no version to count from"
            };
            return Err(Refusal::one(
                Rule::Version,
                what,
                "give the version explicitly, e.g. --version 1.0.0",
            ));
        }
    };
    if !version.pre.is_empty() || !version.build.is_empty() {
        return Err(Refusal::one(
            Rule::Version,
            format!("{version} is a pre-release or carries build metadata"),
            "plan the final version (1.3.0); release candidates are cut from it at code freeze",
        ));
    }
    let floor = if hotfix {
        base.as_ref()
    } else {
        ctx.world.production_version.as_ref()
    };
    if let Some(floor) = floor {
        version::ensure_forward(floor, &version)
            .map_err(|e| Refusal::one(Rule::Version, e.to_string(), "choose a greater version"))?;
    }
    Refusal::check(planned_order_reasons(&version, planned, ctx))?;
    Ok(version)
}

/// What a proposal counts from: the highest of the version live in production and the versions
/// of other releases that ship before `planned` (a rolled-back release's version is taken too).
fn proposal_base(planned: Timestamp, ctx: &Context) -> Option<Version> {
    let before = ctx
        .world
        .pending_releases
        .iter()
        .filter(|p| p.planned_date <= planned)
        .map(|p| &p.version);
    ctx.world
        .production_version
        .iter()
        .chain(before)
        .max()
        .cloned()
}

/// Versions reach production in increasing order: planning `version` for `planned` must not put
/// it before a lower version still planned, nor after a higher one, nor reuse a version.
fn planned_order_reasons(version: &Version, planned: Timestamp, ctx: &Context) -> Vec<Reason> {
    ctx.world
        .pending_releases
        .iter()
        .filter_map(|other| planned_order_reason(version, planned, other, ctx))
        .collect()
}

fn planned_order_reason(
    version: &Version,
    planned: Timestamp,
    other: &PendingRelease,
    ctx: &Context,
) -> Option<Reason> {
    let when = |at: Timestamp| local_text(at, ctx);
    let theirs = &other.version;
    if theirs == version {
        return Some(Reason::new(
            Rule::VersionOrder,
            format!(
                "{version} is already taken by a release that is {}",
                other.status
            ),
            "choose another version",
        ));
    }
    if !other.still_planned() {
        return None;
    }
    if theirs < version && other.planned_date > planned {
        return Some(Reason::new(
            Rule::VersionOrder,
            format!(
                "{version} ({}) would reach production before {theirs} ({}), a lower version still planned",
                when(planned),
                when(other.planned_date)
            ),
            format!("plan {version} after {theirs}, or reschedule or cancel {theirs}"),
        ));
    }
    if theirs > version && other.planned_date < planned {
        return Some(Reason::new(
            Rule::VersionOrder,
            format!(
                "{theirs} ({}) would reach production before {version} ({}), a lower version",
                when(other.planned_date),
                when(planned)
            ),
            format!("plan {version} before {theirs}, or choose a version above {theirs}"),
        ));
    }
    None
}

/// Deploying to production: the version must be newer than the one live, and no lower version
/// may still be planned (it would then reach production after a higher one).
fn deploy_order_reasons(release: &Release, ctx: &Context) -> Vec<Reason> {
    let version = &release.record.version;
    let live = ctx
        .world
        .production_version
        .as_ref()
        .filter(|live| *live >= version)
        .map(|live| {
            Reason::new(
                Rule::VersionOrder,
                format!("{version} is not newer than {live}, live in production"),
                "versions reach production in increasing order: plan a version above it",
            )
        });
    let lower = ctx
        .world
        .pending_releases
        .iter()
        .filter(|p| p.still_planned() && &p.version < version)
        .map(|p| {
            Reason::new(
                Rule::VersionOrder,
                format!(
                    "{version} would reach production before {}, a lower version still {} (planned for {})",
                    p.version,
                    p.status,
                    local_text(p.planned_date, ctx)
                ),
                format!("deploy {} first, or cancel it", p.version),
            )
        });
    live.into_iter().chain(lower).collect()
}

/// The version a hotfix fixes: the one named with `--from`, which must be the version live in
/// production when Greenlight knows it, or else the production version.
fn hotfix_base<'a>(cmd: &'a PlanRelease, ctx: &'a Context) -> Result<Option<&'a Version>, Refusal> {
    let production = ctx.world.production_version.as_ref();
    match (&cmd.from_version, production) {
        (Some(from), Some(live)) if from != live => Err(Refusal::one(
            Rule::Version,
            format!("{from} is not the version live in production ({live})"),
            format!("branch the hotfix from production: --from {live}"),
        )),
        (Some(from), _) => Ok(Some(from)),
        (None, live) => Ok(live),
    }
}

fn plan_dates(cmd: &PlanRelease, ctx: &Context) -> Result<(Timestamp, Timestamp), Refusal> {
    if cmd.release_type == ReleaseType::Hotfix {
        let at = cmd.planned_date.unwrap_or(ctx.now);
        return Ok((at, ctx.now));
    }
    let planned = match cmd.planned_date {
        Some(at) => at,
        None => propose_date(cmd.release_type, ctx)?,
    };
    check_lead_time(cmd.release_type, ctx.now, planned, ctx)?;
    check_planned_window(cmd.release_type, planned, ctx)?;
    let local = planned.to_zoned(ctx.policy.tz().clone());
    let freeze = calendar::milestones(ctx.policy, cmd.release_type, local.date(), local, None)
        .code_freeze
        .timestamp()
        .max(ctx.now);
    Ok((planned, freeze))
}

/// The next deployment of the type's train whose full lead time is still ahead; without a train,
/// the first allowed slot after the minimum lead time.
fn propose_date(release_type: ReleaseType, ctx: &Context) -> Result<Timestamp, Refusal> {
    let lead = lead_days(release_type, ctx.policy);
    let earliest = plus_hours(ctx.now, lead * 24);
    let from = earliest.to_zoned(ctx.policy.tz().clone()).date();
    let to = from
        .checked_add(jiff::Span::new().days(400))
        .unwrap_or(from);
    let train = calendar::release_calendar(ctx.policy, from, to)
        .into_iter()
        .filter(|r| r.release_type == release_type)
        .map(|r| r.deploy.timestamp())
        .find(|t| *t >= earliest);
    train
        .or_else(|| next_slot(ctx.policy, earliest, release_type).map(|s| s.start.timestamp()))
        .ok_or_else(|| {
            Refusal::one(
                Rule::Cadence,
                format!("no deployment slot for a {release_type} release within a year"),
                "check the policy's windows and blackouts, or give --date",
            )
        })
}

fn lead_days(release_type: ReleaseType, policy: &Policy) -> u32 {
    match release_type {
        ReleaseType::Hotfix => 0,
        other => calendar::cadence_of(policy, other).lead_days_min,
    }
}

fn check_lead_time(
    release_type: ReleaseType,
    from: Timestamp,
    planned: Timestamp,
    ctx: &Context,
) -> Result<(), Refusal> {
    let lead = lead_days(release_type, ctx.policy);
    let earliest = plus_hours(from, lead * 24);
    if planned >= earliest {
        return Ok(());
    }
    let suggestion = next_slot(ctx.policy, earliest, release_type)
        .map(|s| {
            format!(
                "plan it for {} or later",
                s.start.strftime("%a %Y-%m-%d %H:%M %Z")
            )
        })
        .unwrap_or_else(|| "plan it later".into());
    Err(Refusal::one(
        Rule::LeadTime,
        format!(
            "a {release_type} release needs at least {lead} days from code freeze to deployment; {} is too soon",
            local_text(planned, ctx)
        ),
        suggestion,
    ))
}

fn check_planned_window(
    release_type: ReleaseType,
    planned: Timestamp,
    ctx: &Context,
) -> Result<(), Refusal> {
    let verdict = calendar::check_window(ctx.policy, planned, release_type);
    if verdict.may_start() {
        return Ok(());
    }
    let why: Vec<String> = verdict.blocking().map(|f| f.message.clone()).collect();
    let suggestion = next_slot(ctx.policy, planned, release_type)
        .map(|s| {
            format!(
                "the next allowed slot is {}",
                s.start.strftime("%a %Y-%m-%d %H:%M %Z")
            )
        })
        .unwrap_or_else(|| "choose another time".into());
    Err(Refusal::one(
        Rule::DeploymentWindow,
        format!(
            "{} is blocked: {}",
            local_text(planned, ctx),
            why.join("; ")
        ),
        suggestion,
    ))
}

fn local_text(at: Timestamp, ctx: &Context) -> String {
    at.to_zoned(ctx.policy.tz().clone())
        .strftime("%a %Y-%m-%d %H:%M %Z")
        .to_string()
}

fn record_content(
    release: &Release,
    content: &crate::content::ReleaseContent,
    ctx: &Context,
) -> Result<Vec<Event>, Refusal> {
    ctx.actor.require(Action::RecordReleaseContent)?;
    require_status(
        release,
        &[ReleaseStatus::Planned, ReleaseStatus::Staging],
        "record its content",
    )?;
    require_text(
        &content.changelog,
        "changelog",
        "\"## [1.4.0]\\n\\n### Added ...\"",
    )?;
    Ok(vec![Event::ReleaseContentRecorded {
        release_id: release.record.release_id,
        version: release.record.version.clone(),
        content: content.clone(),
        recorded_by: ctx.actor.id.clone(),
        timestamp: ctx.now,
    }])
}

fn require_status(release: &Release, allowed: &[ReleaseStatus], doing: &str) -> Result<(), Reason> {
    if allowed.contains(&release.status()) {
        return Ok(());
    }
    let names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
    Err(Reason::new(
        Rule::StatusTransition,
        format!("cannot {doing}: the release is {}", release.status()),
        format!(
            "{doing} is possible when the release is {}",
            names.join(" or ")
        ),
    ))
}

fn require_text(value: &str, what: &str, example: &str) -> Result<(), Reason> {
    if value.trim().is_empty() {
        return Err(Reason::new(
            Rule::Input,
            format!("{what} is empty"),
            format!("give {what}, e.g. {example}"),
        ));
    }
    Ok(())
}

fn reschedule(
    release: &Release,
    planned: Timestamp,
    reason: &str,
    ctx: &Context,
) -> Result<Vec<Event>, Refusal> {
    ctx.actor.require(Action::RescheduleRelease)?;
    require_status(
        release,
        &[ReleaseStatus::Planned, ReleaseStatus::Staging],
        "reschedule",
    )?;
    require_text(reason, "a reason", "\"waiting on a payment provider fix\"")?;
    if release.release_type() != ReleaseType::Hotfix {
        let from = if release.checklist.code_freeze_complete {
            release.record.code_freeze_date
        } else {
            ctx.now
        };
        check_lead_time(release.release_type(), from, planned, ctx)?;
        check_planned_window(release.release_type(), planned, ctx)?;
    }
    Refusal::check(planned_order_reasons(&release.record.version, planned, ctx))?;
    Ok(vec![Event::ReleaseRescheduled {
        release_id: release.record.release_id,
        version: release.record.version.clone(),
        planned_date: planned,
        previous_planned_date: release.record.planned_date,
        reason: reason.trim().to_string(),
        requested_by: ctx.actor.id.clone(),
        timestamp: ctx.now,
    }])
}

fn freeze(release: &Release, ctx: &Context) -> Result<Vec<Event>, Refusal> {
    ctx.actor.require(Action::CreateReleaseBranch)?;
    require_status(release, &[ReleaseStatus::Planned], "freeze code")?;
    if release.checklist.code_freeze_complete {
        return Err(Refusal::one(
            Rule::AlreadyRecorded,
            format!("code is already frozen on {}", release.branch),
            "cut a further release candidate instead",
        ));
    }
    if release.release_type() != ReleaseType::Hotfix {
        check_lead_time(
            release.release_type(),
            ctx.now,
            release.record.planned_date,
            ctx,
        )
        .map_err(|mut refusal| {
            for reason in &mut refusal.reasons {
                reason.satisfy = format!(
                    "reschedule the release first ({}); freezing now leaves too little time",
                    reason.satisfy
                );
            }
            refusal
        })?;
    }
    Ok(vec![Event::CodeFreezeStarted {
        release_id: release.record.release_id,
        version: release.record.version.clone(),
        release_branch: release.branch.clone(),
        release_candidate: release_candidate(&release.record.version, 1),
        frozen_by: ctx.actor.id.clone(),
        timestamp: ctx.now,
    }])
}

fn cut_candidate(release: &Release, ctx: &Context) -> Result<Vec<Event>, Refusal> {
    ctx.actor.require(Action::CutReleaseCandidate)?;
    require_status(
        release,
        &[
            ReleaseStatus::Planned,
            ReleaseStatus::Staging,
            ReleaseStatus::RolledBack,
        ],
        "cut a release candidate",
    )?;
    require_frozen(release)?;
    Ok(vec![Event::ReleaseCandidateCut {
        release_id: release.record.release_id,
        version: release.record.version.clone(),
        release_candidate: release_candidate(
            &release.record.version,
            release.release_candidate + 1,
        ),
        cut_by: ctx.actor.id.clone(),
        timestamp: ctx.now,
    }])
}

fn require_frozen(release: &Release) -> Result<(), Reason> {
    if release.checklist.code_freeze_complete || release.release_type() == ReleaseType::Hotfix {
        return Ok(());
    }
    Err(Reason::new(
        Rule::CodeFreeze,
        "code is not frozen yet",
        format!(
            "freeze code first (creates {} and the first release candidate)",
            release.branch
        ),
    ))
}

/// The gate spec of `phase` named `gate`, refusing unknown phases and names.
fn known_gate(
    release: &Release,
    phase: GatePhase,
    gate: &str,
    ctx: &Context,
) -> Result<(), Reason> {
    if !GatePhase::for_type(release.release_type()).contains(&phase) {
        let phases: Vec<&str> = GatePhase::for_type(release.release_type())
            .iter()
            .map(|p| p.as_str())
            .collect();
        return Err(Reason::new(
            Rule::QualityGate,
            format!("a {} release has no {phase} gates", release.release_type()),
            format!("its phases are {}", phases.join(", ")),
        ));
    }
    let gates = ctx.policy.gates.of(phase);
    if gates.iter().any(|g| g.name == gate) {
        return Ok(());
    }
    let names: Vec<&str> = gates.iter().map(|g| g.name.as_str()).collect();
    Err(Reason::new(
        Rule::QualityGate,
        format!("`{gate}` is not a gate of phase {phase}"),
        format!("the {phase} gates are {}", names.join(", ")),
    ))
}

fn attach_evidence(
    release: &Release,
    phase: GatePhase,
    gate: &str,
    format: &str,
    summary: &str,
    reasons: &[String],
    ctx: &Context,
) -> Result<Vec<Event>, Refusal> {
    let passed = reasons.is_empty();
    let reason = (!passed).then(|| format!("{format}: {}", reasons.join("; ")));
    let mut events = vec![Event::EvidenceAttached {
        release_id: release.record.release_id,
        version: release.record.version.clone(),
        gate_phase: phase,
        gate_name: gate.to_string(),
        format: format.to_string(),
        summary: summary.to_string(),
        passed,
        attached_by: ctx.actor.id.clone(),
        timestamp: ctx.now,
    }];
    events.extend(record_gate(
        release,
        phase,
        gate,
        passed,
        reason.as_deref(),
        ctx,
    )?);
    Ok(events)
}

fn record_gate(
    release: &Release,
    phase: GatePhase,
    gate: &str,
    passed: bool,
    reason: Option<&str>,
    ctx: &Context,
) -> Result<Vec<Event>, Refusal> {
    ctx.actor.require(Action::RecordGateResult)?;
    known_gate(release, phase, gate, ctx)?;
    require_status(
        release,
        phase.recordable_in(),
        &format!("record {phase} gates"),
    )?;
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if !passed && reason.is_none() {
        return Err(Refusal::one(
            Rule::Input,
            "a failed gate needs a failure reason",
            "give the reason, e.g. --reason api_response_time_exceeded",
        ));
    }
    if passed && gate == "no_open_sev1_sev2_bugs" {
        check_no_blocking_bugs(release, ctx)?;
    }
    let base = (release.record.release_id, release.record.version.clone());
    let event = if passed {
        Event::QualityGatePassed {
            release_id: base.0,
            version: base.1,
            gate_phase: phase,
            gate_name: gate.to_string(),
            validated_by: ctx.actor.id.clone(),
            timestamp: ctx.now,
        }
    } else {
        Event::QualityGateFailed {
            release_id: base.0,
            version: base.1,
            gate_phase: phase,
            gate_name: gate.to_string(),
            failure_reason: reason.unwrap_or_default().to_string(),
            validated_by: ctx.actor.id.clone(),
            timestamp: ctx.now,
        }
    };
    Ok(with_phase_completion(release, vec![event], ctx))
}

/// Appends `quality_gates_phase_passed` for each phase the events complete.
fn with_phase_completion(release: &Release, mut events: Vec<Event>, ctx: &Context) -> Vec<Event> {
    let mut after = release.clone();
    for event in &events {
        after.apply(event);
    }
    let mut completed = Vec::new();
    for phase in GatePhase::for_type(release.release_type()) {
        let before = phase_status(ctx.policy, *phase, &release.gates).passed();
        let now = phase_status(ctx.policy, *phase, &after.gates).passed();
        if now && !before {
            completed.push(Event::QualityGatesPhasePassed {
                release_id: release.record.release_id,
                version: release.record.version.clone(),
                gate_phase: *phase,
                timestamp: ctx.now,
            });
        }
    }
    events.extend(completed);
    events
}

fn override_gate(
    release: &Release,
    phase: GatePhase,
    gate: &str,
    justification: &str,
    ctx: &Context,
) -> Result<Vec<Event>, Refusal> {
    ctx.actor.require(Action::OverrideQualityGate)?;
    known_gate(release, phase, gate, ctx)?;
    require_status(
        release,
        phase.recordable_in(),
        &format!("override {phase} gates"),
    )?;
    if justification.trim().len() < 10 {
        return Err(Refusal::one(
            Rule::GateOverride,
            "overriding a quality gate needs a documented justification",
            "write why the gate may be skipped (at least 10 characters)",
        ));
    }
    let event = Event::QualityGateOverridden {
        release_id: release.record.release_id,
        version: release.record.version.clone(),
        gate_phase: phase,
        gate_name: gate.to_string(),
        justification: justification.trim().to_string(),
        overridden_by: ctx.actor.id.clone(),
        timestamp: ctx.now,
    };
    Ok(with_phase_completion(release, vec![event], ctx))
}

fn report_bug(
    release: &Release,
    bug_id: &str,
    severity: Severity,
    title: &str,
    workaround: &Option<String>,
    ctx: &Context,
) -> Result<Vec<Event>, Refusal> {
    ctx.actor.require(Action::ReportBug)?;
    require_text(bug_id, "a bug ID", "MLC-1234")?;
    require_text(title, "a title", "\"scores not saved on Safari\"")?;
    if release.bugs.iter().any(|b| b.bug_id == bug_id.trim()) {
        return Err(Refusal::one(
            Rule::AlreadyRecorded,
            format!("bug {bug_id} is already reported on this release"),
            "resolve it, or report a different bug ID",
        ));
    }
    Ok(vec![Event::BugReported {
        release_id: release.record.release_id,
        bug_id: bug_id.trim().to_string(),
        severity,
        title: title.trim().to_string(),
        workaround: workaround
            .as_deref()
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(str::to_string),
        reported_by: ctx.actor.id.clone(),
        timestamp: ctx.now,
    }])
}

fn resolve_bug(release: &Release, bug_id: &str, ctx: &Context) -> Result<Vec<Event>, Refusal> {
    ctx.actor.require(Action::ResolveBug)?;
    let open = release.bugs.iter().any(|b| b.bug_id == bug_id && b.open);
    if !open {
        return Err(Refusal::one(
            Rule::Input,
            format!("no open bug {bug_id} on this release"),
            "name an open bug of the release",
        ));
    }
    Ok(vec![Event::BugResolved {
        release_id: release.record.release_id,
        bug_id: bug_id.to_string(),
        resolved_by: ctx.actor.id.clone(),
        timestamp: ctx.now,
    }])
}

fn check_no_blocking_bugs(release: &Release, ctx: &Context) -> Result<(), Reason> {
    let severity = &ctx.policy.severity;
    let blocking = release.blocking_bugs(
        severity.sev1_blocks,
        severity.sev2_blocks_without_workaround,
    );
    if blocking.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = blocking
        .iter()
        .map(|b| format!("{} ({}: {})", b.bug_id, b.severity, b.title))
        .collect();
    Err(Reason::new(
        Rule::BlockingBug,
        format!("open blocking bugs: {}", list.join(", ")),
        "resolve them; a Severity 2 bug stops blocking once a workaround is recorded",
    ))
}

/// Where the approval matrix stands for a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApprovalStatus {
    /// Required roles that have not approved.
    pub missing_required: Vec<Role>,
    /// Distinct approvals so far.
    pub count: u32,
    /// Approvals needed.
    pub minimum: u32,
    /// A stakeholder review is needed and missing.
    pub stakeholder_review_missing: bool,
}

impl ApprovalStatus {
    /// The matrix is satisfied.
    pub fn satisfied(&self) -> bool {
        self.missing_required.is_empty()
            && self.count >= self.minimum
            && !self.stakeholder_review_missing
    }

    /// The reasons it is not.
    pub fn reasons(&self, release_type: ReleaseType) -> Vec<Reason> {
        let mut reasons = Vec::new();
        if !self.missing_required.is_empty() || self.count < self.minimum {
            let missing: Vec<&str> = self.missing_required.iter().map(|r| r.as_str()).collect();
            let detail = if missing.is_empty() {
                String::new()
            } else {
                format!("; missing {}", missing.join(", "))
            };
            reasons.push(Reason::new(
                Rule::ApprovalMatrix,
                format!(
                    "{release_type} needs {} of its approvals, has {}{detail}",
                    self.minimum, self.count
                ),
                "each missing role approves with `greenlight approve VERSION --role ROLE`",
            ));
        }
        if self.stakeholder_review_missing {
            reasons.push(Reason::new(
                Rule::StakeholderReview,
                format!(
                    "a {release_type} release needs a stakeholder review besides its approvals"
                ),
                "the product owner or engineering lead records the stakeholder review",
            ));
        }
        reasons
    }
}

/// Where the approval matrix stands for `release`.
pub fn approval_status(release: &Release, policy: &Policy) -> ApprovalStatus {
    let rule = policy.approvals.of(release.release_type());
    let approved = |role: &Role| release.approvals.iter().any(|a| a.role == *role);
    let counted = rule
        .required
        .iter()
        .chain(rule.optional.iter())
        .filter(|r| approved(r))
        .count();
    ApprovalStatus {
        missing_required: rule
            .required
            .iter()
            .filter(|r| !approved(r))
            .copied()
            .collect(),
        count: u32::try_from(counted).unwrap_or(u32::MAX),
        minimum: rule.minimum,
        stakeholder_review_missing: rule.stakeholder_review && release.stakeholder_review.is_none(),
    }
}

/// The phase whose gates must pass before production: Phase 2, or the hotfix's reduced set.
fn pre_production_phases(release: &Release) -> &'static [GatePhase] {
    match release.release_type() {
        ReleaseType::Hotfix => &[GatePhase::Hotfix],
        _ => &[GatePhase::Planning, GatePhase::StagingValidation],
    }
}

/// Reasons the gates of `phases` are not all passed.
fn gate_reasons(release: &Release, phases: &[GatePhase], ctx: &Context) -> Vec<Reason> {
    phases
        .iter()
        .map(|phase| phase_status(ctx.policy, *phase, &release.gates))
        .filter(|status| !status.passed())
        .map(|status| {
            let mut parts = Vec::new();
            if !status.failed.is_empty() {
                parts.push(format!("failed: {}", status.failed.join(", ")));
            }
            if !status.missing.is_empty() {
                parts.push(format!("no result: {}", status.missing.join(", ")));
            }
            Reason::new(
                Rule::QualityGate,
                format!("{} gates not passed ({})", status.phase, parts.join("; ")),
                "record passing results (or an engineering lead overrides with a justification)",
            )
        })
        .collect()
}

fn approve(release: &Release, role: Role, ctx: &Context) -> Result<Vec<Event>, Refusal> {
    if !ctx.actor.has(role) {
        return Err(Refusal::one(
            Rule::Permission,
            format!("{} does not hold the role {role}", ctx.actor.id),
            format!("someone with the role {role} approves"),
        ));
    }
    let rule = ctx.policy.approvals.of(release.release_type());
    if !rule.required.contains(&role) && !rule.optional.contains(&role) {
        return Err(Refusal::one(
            Rule::ApprovalMatrix,
            format!(
                "{role} does not approve {} releases",
                release.release_type()
            ),
            "the approval matrix lists the roles that approve each release type",
        ));
    }
    require_status(release, &[ReleaseStatus::Staging], "approve")?;
    if let Some(reason) = retry_not_on_staging(release) {
        return Err(reason.into());
    }
    if let Some(existing) = release.approvals.iter().find(|a| a.role == role) {
        return Err(Refusal::one(
            Rule::AlreadyRecorded,
            format!("{role} already approved (by {})", existing.approved_by),
            "nothing to do",
        ));
    }
    if let Some(other) = release
        .approvals
        .iter()
        .find(|a| a.approved_by == ctx.actor.id)
    {
        return Err(Refusal::one(
            Rule::ApprovalMatrix,
            format!(
                "{} already approved as {}: one person cannot approve twice",
                ctx.actor.id, other.role
            ),
            format!("another person with the role {role} approves"),
        ));
    }
    if role == Role::QaLead {
        // The QA lead's approval is the staging validation sign-off.
        Refusal::check(gate_reasons(release, pre_production_phases(release), ctx))?;
    }
    Ok(vec![Event::ApprovalRecorded {
        release_id: release.record.release_id,
        version: release.record.version.clone(),
        role,
        approved_by: ctx.actor.id.clone(),
        timestamp: ctx.now,
    }])
}

fn stakeholder_review(
    release: &Release,
    notes: &str,
    ctx: &Context,
) -> Result<Vec<Event>, Refusal> {
    ctx.actor.require(Action::RecordStakeholderReview)?;
    if !ctx
        .policy
        .approvals
        .of(release.release_type())
        .stakeholder_review
    {
        return Err(Refusal::one(
            Rule::StakeholderReview,
            format!(
                "a {} release needs no stakeholder review",
                release.release_type()
            ),
            "nothing to do",
        ));
    }
    require_status(
        release,
        &[ReleaseStatus::Staging],
        "record the stakeholder review",
    )?;
    require_text(
        notes,
        "review notes",
        "\"training materials reviewed with 3 districts\"",
    )?;
    Ok(vec![Event::StakeholderReviewRecorded {
        release_id: release.record.release_id,
        version: release.record.version.clone(),
        notes: notes.trim().to_string(),
        reviewed_by: ctx.actor.id.clone(),
        timestamp: ctx.now,
    }])
}

/// The decision that follows from the latest vote of each participant: any "no-go" (from a
/// required or an optional participant) stops, "go" needs every required participant.
pub fn go_no_go_decision(votes: &[crate::state::Vote], required: &[Role]) -> GoNoGo {
    if votes.iter().any(|v| v.vote == GoNoGo::NoGo) {
        return GoNoGo::NoGo;
    }
    let all_go = required.iter().all(|role| {
        votes
            .iter()
            .any(|v| v.role == *role && v.vote == GoNoGo::Go)
    });
    if all_go { GoNoGo::Go } else { GoNoGo::Pending }
}

/// Who takes part in a release type's Go/No-Go: its approval-matrix roles, required ones first.
/// The required ones must vote go; the optional ones may vote, and their "no-go" counts.
pub fn go_no_go_participants(policy: &Policy, release_type: ReleaseType) -> Vec<Role> {
    let rule = policy.approvals.of(release_type);
    rule.required
        .iter()
        .chain(rule.optional.iter())
        .copied()
        .collect()
}

fn go_no_go(
    release: &Release,
    role: Role,
    vote: GoNoGo,
    notes: &Option<String>,
    ctx: &Context,
) -> Result<Vec<Event>, Refusal> {
    let release_type = release.release_type();
    if !ctx.policy.go_no_go.required_for.contains(&release_type) {
        return Err(Refusal::one(
            Rule::GoNoGo,
            format!("{release_type} releases have no Go/No-Go meeting"),
            "their approvals decide; deploy once the approval matrix is satisfied",
        ));
    }
    let participants = go_no_go_participants(ctx.policy, release_type);
    if !participants.contains(&role) || !ctx.actor.has(role) {
        let names: Vec<&str> = participants.iter().map(|r| r.as_str()).collect();
        return Err(Refusal::one(
            Rule::Permission,
            format!("{} cannot vote as {role}", ctx.actor.id),
            format!(
                "the Go/No-Go participants of a {release_type} release vote in their own role: {}",
                names.join(", ")
            ),
        ));
    }
    if vote == GoNoGo::Pending {
        return Err(Refusal::one(
            Rule::Input,
            "a vote is go or no-go",
            "vote go or no-go",
        ));
    }
    require_status(release, &[ReleaseStatus::Staging], "vote on Go/No-Go")?;
    if let Some(reason) = retry_not_on_staging(release) {
        return Err(reason.into());
    }
    if vote == GoNoGo::Go {
        let mut reasons = gate_reasons(release, pre_production_phases(release), ctx);
        reasons.extend(approval_status(release, ctx.policy).reasons(release_type));
        reasons.extend(check_no_blocking_bugs(release, ctx).err());
        reasons.extend(production_health_reasons(ctx));
        Refusal::check(reasons)?;
    }
    let mut votes: Vec<crate::state::Vote> = release
        .votes
        .iter()
        .filter(|v| v.role != role)
        .cloned()
        .collect();
    votes.push(crate::state::Vote {
        role,
        vote,
        voted_by: ctx.actor.id.clone(),
        notes: notes.clone(),
        at: ctx.now,
    });
    let required = &ctx.policy.approvals.of(release_type).required;
    Ok(vec![Event::GoNoGoVoteRecorded {
        release_id: release.record.release_id,
        version: release.record.version.clone(),
        role,
        vote,
        decision: go_no_go_decision(&votes, required),
        notes: notes.clone(),
        voted_by: ctx.actor.id.clone(),
        timestamp: ctx.now,
    }])
}

/// An alert kind's snake_case name, as its events carry it.
fn alert_name(alert: crate::health::AlertKind) -> String {
    serde_json::to_value(alert)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{alert:?}"))
}

/// The Go/No-Go's "check current production health (no active incidents)": an open Severity 1
/// bug on the live release, or a health alert raised on it within the policy's minutes.
fn production_health_reasons(ctx: &Context) -> Vec<Reason> {
    let live = ctx
        .world
        .production_version
        .as_ref()
        .map_or_else(|| "production".to_string(), Version::to_string);
    let bugs = ctx.world.production_sev1_bugs.iter().map(|bug| {
        Reason::new(
            Rule::ProductionHealth,
            format!(
                "active incident in production: open {} bug {} on {live} ({})",
                bug.severity, bug.bug_id, bug.title
            ),
            format!(
                "resolve {} (a hotfix, or a rollback) before voting go",
                bug.bug_id
            ),
        )
    });
    let minutes = ctx.policy.go_no_go.health_alert_minutes;
    let quiet_after = |raised: Timestamp| {
        raised
            .checked_add(jiff::SignedDuration::from_mins(i64::from(minutes)))
            .unwrap_or(raised)
    };
    let alerts = ctx
        .world
        .production_health_alerts
        .iter()
        .filter(move |a| ctx.now < quiet_after(a.raised_at))
        .map(|a| {
            Reason::new(
                Rule::ProductionHealth,
                format!(
                    "unresolved health alert on {live}: {} ({}), raised at {}",
                    alert_name(a.alert),
                    a.detail,
                    local_text(a.raised_at, ctx)
                ),
                format!(
                    "resolve it: an alert counts until {minutes} minutes pass without it being raised again"
                ),
            )
        });
    bugs.chain(alerts).collect()
}

fn mark_checklist(
    release: &Release,
    item: ManualChecklistItem,
    ctx: &Context,
) -> Result<Vec<Event>, Refusal> {
    ctx.actor.require(Action::MarkChecklistItem)?;
    if release.status() == ReleaseStatus::Cancelled {
        return Err(Refusal::one(
            Rule::StatusTransition,
            "the release is cancelled",
            "nothing to tick on a cancelled release",
        ));
    }
    Ok(vec![Event::ChecklistItemMarked {
        release_id: release.record.release_id,
        item,
        marked_by: ctx.actor.id.clone(),
        timestamp: ctx.now,
    }])
}

fn run_in_progress(release: &Release, ctx: &Context) -> Option<Reason> {
    if let Some(run) = &release.deployment {
        return Some(Reason::new(
            Rule::DeploymentInProgress,
            format!(
                "a {} deployment of {} is in progress (started by {} at {})",
                run.environment, release.record.version, run.started_by, run.started_at
            ),
            "wait for it to complete or fail",
        ));
    }
    if release.rollback.is_some() {
        return Some(Reason::new(
            Rule::DeploymentInProgress,
            "a rollback of this release is in progress",
            "wait for it to complete or fail",
        ));
    }
    ctx.world.other_run_in_progress.as_ref().map(|other| {
        Reason::new(
            Rule::DeploymentInProgress,
            format!("a deployment or rollback of {other} is in progress"),
            "one deployment at a time: wait for it to end",
        )
    })
}

/// What happened to the candidate a retry replaces: the words for a refusal.
fn failed_candidate_text(release: &Release, candidate: u32) -> String {
    let name = if candidate == 0 {
        release.record.version.to_string()
    } else {
        release_candidate(&release.record.version, candidate).to_string()
    };
    if release.status() == ReleaseStatus::RolledBack {
        format!("{name} was rolled back")
    } else {
        format!("the production deployment of {name} failed")
    }
}

/// Returning to staging after a rollback or a failed production deployment needs a release
/// candidate newer than the one that failed (the spec: "schedule retry after fixes").
fn retry_needs_new_candidate(release: &Release) -> Option<Reason> {
    let failed = release.failed_candidate?;
    (release.release_candidate <= failed).then(|| {
        Reason::new(
            Rule::RetryCandidate,
            format!(
                "{}; a retry needs a new release candidate",
                failed_candidate_text(release, failed)
            ),
            format!(
                "cut one with the fixes (`greenlight release rc {}`), then deploy it to staging",
                release.record.version
            ),
        )
    })
}

/// After a rollback or a failed production deployment, production waits for a new candidate's
/// staging deployment, after which its gates, approvals and Go/No-Go are given again.
fn retry_not_on_staging(release: &Release) -> Option<Reason> {
    let failed = release.failed_candidate?;
    Some(Reason::new(
        Rule::RetryCandidate,
        format!(
            "{}; what was given for it (Phase 2 gates, approvals, Go/No-Go) does not carry over",
            failed_candidate_text(release, failed)
        ),
        format!(
            "cut a new release candidate (`greenlight release rc {}`), deploy it to staging and \
             give its gates, approvals and Go/No-Go again",
            release.record.version
        ),
    ))
}

fn start_staging(release: &Release, ctx: &Context) -> Result<Vec<Event>, Refusal> {
    ctx.actor.require(Action::DeployToStaging)?;
    let mut reasons = Vec::new();
    reasons.extend(
        require_status(
            release,
            &[
                ReleaseStatus::Planned,
                ReleaseStatus::Staging,
                ReleaseStatus::RolledBack,
            ],
            "deploy to staging",
        )
        .err(),
    );
    reasons.extend(require_frozen(release).err());
    reasons.extend(retry_needs_new_candidate(release));
    if release.release_type() != ReleaseType::Hotfix {
        reasons.extend(gate_reasons(release, &[GatePhase::Planning], ctx));
    }
    reasons.extend(run_in_progress(release, ctx));
    Refusal::check(reasons)?;
    let candidate = release
        .current_candidate()
        .unwrap_or_else(|| release.record.version.clone());
    Ok(vec![Event::StagingDeploymentStarted {
        release_id: release.record.release_id,
        version: release.record.version.clone(),
        release_candidate: candidate,
        deployed_by: ctx.actor.id.clone(),
        timestamp: ctx.now,
    }])
}

fn start_production(
    release: &Release,
    override_window: Option<&str>,
    ctx: &Context,
) -> Result<Vec<Event>, Refusal> {
    let hotfix = release.release_type() == ReleaseType::Hotfix;
    let action = if hotfix {
        Action::ExecuteHotfixDeployment
    } else {
        Action::ExecuteProductionDeployment
    };
    ctx.actor.require(action)?;
    let mut reasons = Vec::new();
    reasons
        .extend(require_status(release, &[ReleaseStatus::Staging], "deploy to production").err());
    reasons.extend(retry_not_on_staging(release));
    reasons.extend(gate_reasons(release, pre_production_phases(release), ctx));
    reasons.extend(approval_status(release, ctx.policy).reasons(release.release_type()));
    if ctx
        .policy
        .go_no_go
        .required_for
        .contains(&release.release_type())
        && release.checklist.go_no_go_decision != GoNoGo::Go
    {
        reasons.push(Reason::new(
            Rule::GoNoGo,
            format!(
                "the Go/No-Go decision is {}",
                release.checklist.go_no_go_decision.as_str()
            ),
            "every required participant votes go at the Go/No-Go meeting (no one votes no-go)",
        ));
    }
    reasons.extend(check_no_blocking_bugs(release, ctx).err());
    reasons.extend(run_in_progress(release, ctx));
    reasons.extend(deploy_order_reasons(release, ctx));
    if !hotfix && release.checklist.code_freeze_complete {
        reasons.extend(
            check_lead_time(
                release.release_type(),
                release.record.code_freeze_date,
                ctx.now,
                ctx,
            )
            .err()
            .into_iter()
            .flat_map(|r| r.reasons),
        );
    }
    let (window_reasons, override_event) = window_rule(release, override_window, ctx);
    reasons.extend(window_reasons);
    Refusal::check(reasons)?;
    let mut events: Vec<Event> = override_event.into_iter().collect();
    events.push(Event::DeploymentStarted {
        release_id: release.record.release_id,
        version: release.record.version.clone(),
        release_type: release.release_type(),
        deployed_by: ctx.actor.id.clone(),
        timestamp: ctx.now,
    });
    Ok(events)
}

/// The deployment-window rule: refusals, or the override event when an engineering lead justified
/// deploying in a blocked time.
fn window_rule(
    release: &Release,
    override_window: Option<&str>,
    ctx: &Context,
) -> (Vec<Reason>, Option<Event>) {
    let verdict = calendar::check_window(ctx.policy, ctx.now, release.release_type());
    if verdict.status != WindowStatus::Blocked {
        return (Vec::new(), None);
    }
    let findings: Vec<String> = verdict.blocking().map(|f| f.message.clone()).collect();
    let justification = override_window.map(str::trim).filter(|j| !j.is_empty());
    let Some(justification) = justification else {
        let next = next_slot(ctx.policy, ctx.now, release.release_type())
            .map(|s| format!("deploy from {}", s.start.strftime("%a %Y-%m-%d %H:%M %Z")))
            .unwrap_or_else(|| "deploy in an allowed window".into());
        return (
            vec![Reason::new(
                Rule::DeploymentWindow,
                format!(
                    "{} is blocked: {} (a {} deployment is expected to end at {})",
                    local_text(ctx.now, ctx),
                    findings.join("; "),
                    release.release_type(),
                    verdict.ends_at.strftime("%H:%M %Z")
                ),
                format!(
                    "{next}, or an engineering lead overrides with --override \"justification\""
                ),
            )],
            None,
        );
    };
    if let Err(reason) = ctx.actor.require(Action::OverrideDeploymentWindow) {
        return (vec![reason], None);
    }
    let event = Event::DeploymentWindowOverridden {
        release_id: release.record.release_id,
        version: release.record.version.clone(),
        findings,
        justification: justification.to_string(),
        overridden_by: ctx.actor.id.clone(),
        timestamp: ctx.now,
    };
    (Vec::new(), Some(event))
}

/// Who may end a run: the system, whoever started it, or anyone who may start one.
fn require_run_owner(run_by: &str, action: Action, ctx: &Context) -> Result<(), Reason> {
    if ctx.actor.system || ctx.actor.id == run_by {
        return Ok(());
    }
    ctx.actor.require(action)
}

fn complete_deployment(release: &Release, ctx: &Context) -> Result<Vec<Event>, Refusal> {
    let run = release.deployment.as_ref().ok_or_else(|| {
        Refusal::one(
            Rule::StatusTransition,
            "no deployment is in progress",
            "start a deployment first",
        )
    })?;
    let duration = minutes_between(run.started_at, ctx.now);
    let release_id = release.record.release_id;
    let version = release.record.version.clone();
    match run.environment {
        Environment::Staging => {
            require_run_owner(&run.started_by, Action::DeployToStaging, ctx)?;
            let mut events = vec![Some(Event::StagingDeploymentCompleted {
                release_id,
                version: version.clone(),
                duration_minutes: duration,
                deployed_by: run.started_by.clone(),
                timestamp: ctx.now,
            })];
            if release.release_type() != ReleaseType::Hotfix {
                events.push(auto_gate(
                    release,
                    GatePhase::StagingValidation,
                    "staging_deployment",
                    ctx,
                ));
            }
            Ok(events.into_iter().flatten().collect())
        }
        Environment::Production => {
            require_run_owner(&run.started_by, Action::ExecuteHotfixDeployment, ctx)?;
            let mut events = vec![Some(Event::DeploymentCompleted {
                release_id,
                version,
                release_type: release.release_type(),
                duration_minutes: duration,
                deployed_by: run.started_by.clone(),
                timestamp: ctx.now,
            })];
            events.push(auto_gate(
                release,
                GatePhase::ProductionValidation,
                "production_deployment",
                ctx,
            ));
            if release.release_type() == ReleaseType::Hotfix {
                events.push(Some(backport_item(release, ctx)));
                events.push(hotfix_follow_ups(release, ctx));
            }
            events.push(Some(post_release_scheduled(release, ctx)));
            Ok(events.into_iter().flatten().collect())
        }
    }
}

/// Phase 4 from the moment production deployment completed: active monitoring, the extended
/// review, and the retrospective on the policy's weekday after the deployment (past holidays).
fn post_release_scheduled(release: &Release, ctx: &Context) -> Event {
    let policy = ctx.policy;
    let deployed_on = ctx.now.to_zoned(policy.tz().clone()).date();
    let day = calendar::retrospective_date(policy, deployed_on);
    let time = policy.retrospective.time;
    let retrospective_at = day
        .at(time.hour(), time.minute(), 0, 0)
        .to_zoned(policy.tz().clone())
        .map(|z| z.timestamp())
        .unwrap_or(ctx.now);
    Event::PostReleaseScheduled {
        release_id: release.record.release_id,
        version: release.record.version.clone(),
        active_monitoring_until: plus_hours(ctx.now, policy.post_release.active_monitoring_hours),
        extended_review_until: plus_hours(ctx.now, policy.post_release.extended_monitoring_hours),
        retrospective_at,
        agenda: crate::state::RETROSPECTIVE_AGENDA
            .map(String::from)
            .to_vec(),
        expected_outputs: crate::state::retrospective_outputs(),
        timestamp: ctx.now,
    }
}

/// The spec's Phase 4 metrics review list, as names a review records.
pub const REVIEW_METRICS: [&str; 8] = [
    "daily_active_users",
    "daily_active_users_change_percent",
    "assignment_completion_percent",
    "score_recording_success_percent",
    "game_load_time_p95_ms",
    "play_session_minutes",
    "error_rate_percent",
    "browser_issues",
];

/// Records a metrics review; score recording below the policy's minimum is a finding.
fn record_metrics_review(
    release: &Release,
    values: &std::collections::BTreeMap<String, f64>,
    notes: &Option<String>,
    ctx: &Context,
) -> Result<Vec<Event>, Refusal> {
    ctx.actor.require(Action::MarkChecklistItem)?;
    if release.post_release.is_none() {
        return Err(Refusal::one(
            Rule::StatusTransition,
            format!("release {} is not in Phase 4", release.record.version),
            "metrics are reviewed after the production deployment completes",
        ));
    }
    if values.is_empty() {
        return Err(Refusal::one(
            Rule::Input,
            "a metrics review needs at least one value",
            format!("give NAME=VALUE for any of: {}", REVIEW_METRICS.join(", ")),
        ));
    }
    if let Some((name, _)) = values
        .iter()
        .find(|(n, v)| !REVIEW_METRICS.contains(&n.as_str()) || !v.is_finite())
    {
        return Err(Refusal::one(
            Rule::Input,
            format!("`{name}` is not a review metric with a number"),
            format!("use one of: {}", REVIEW_METRICS.join(", ")),
        ));
    }
    let minimum = ctx
        .policy
        .rollback
        .automatic
        .score_recording_success_min_percent;
    let findings = values
        .get("score_recording_success_percent")
        .filter(|v| **v < minimum)
        .map(|v| format!("score recording success {v}% is below {minimum}%"))
        .into_iter()
        .collect();
    Ok(vec![Event::MetricsReviewRecorded {
        release_id: release.record.release_id,
        version: release.record.version.clone(),
        values: values.clone(),
        findings,
        notes: notes.clone(),
        reviewed_by: ctx.actor.id.clone(),
        timestamp: ctx.now,
    }])
}

/// A retrospective action item as people give it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RetrospectiveItem {
    /// What to do.
    pub title: String,
    /// Who does it (user ID or name).
    pub owner: String,
    /// By when.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub due_at: Timestamp,
}

/// Records the retrospective: its notes, outputs and action items (kinds `retro_1`, ...).
fn record_retrospective(
    release: &Release,
    notes: &str,
    outputs: &[String],
    items: &[RetrospectiveItem],
    ctx: &Context,
) -> Result<Vec<Event>, Refusal> {
    ctx.actor.require(Action::MarkChecklistItem)?;
    let Some(post) = &release.post_release else {
        return Err(Refusal::one(
            Rule::StatusTransition,
            format!(
                "release {} has no retrospective yet",
                release.record.version
            ),
            "a retrospective is scheduled when the production deployment completes",
        ));
    };
    if post.notes.is_some() {
        return Err(Refusal::one(
            Rule::StatusTransition,
            "the retrospective is already recorded",
            "add follow-ups as action items of the next release",
        ));
    }
    if notes.trim().is_empty() {
        return Err(Refusal::one(
            Rule::Input,
            "the retrospective needs notes",
            "give --notes",
        ));
    }
    if let Some(item) = items
        .iter()
        .find(|i| i.title.trim().is_empty() || i.owner.trim().is_empty())
    {
        return Err(Refusal::one(
            Rule::Input,
            format!("action item {:?} needs a title and an owner", item.title),
            "give each item as TITLE;OWNER;DUE",
        ));
    }
    let mut events = vec![Event::RetrospectiveRecorded {
        release_id: release.record.release_id,
        version: release.record.version.clone(),
        notes: notes.trim().to_string(),
        outputs: outputs.to_vec(),
        recorded_by: ctx.actor.id.clone(),
        timestamp: ctx.now,
    }];
    if !items.is_empty() {
        let items = items
            .iter()
            .enumerate()
            .map(|(n, item)| ActionItem {
                kind: format!("retro_{}", n + 1),
                title: item.title.trim().to_string(),
                due_at: item.due_at,
                done_at: None,
                done_by: None,
                owner: Some(item.owner.trim().to_string()),
            })
            .collect();
        events.push(Event::ActionItemsCreated {
            release_id: release.record.release_id,
            items,
            timestamp: ctx.now,
        });
    }
    Ok(events)
}

/// The gate a successful deployment passes by itself, if the policy has it.
fn auto_gate(release: &Release, phase: GatePhase, gate: &str, ctx: &Context) -> Option<Event> {
    ctx.policy
        .gates
        .of(phase)
        .iter()
        .any(|g| g.name == gate)
        .then(|| Event::QualityGatePassed {
            release_id: release.record.release_id,
            version: release.record.version.clone(),
            gate_phase: phase,
            gate_name: gate.to_string(),
            validated_by: ctx.actor.id.clone(),
            timestamp: ctx.now,
        })
}

/// How long after a hotfix's deployment its backport is due.
const BACKPORT_DUE_HOURS: u32 = 4;

fn backport_item(release: &Release, ctx: &Context) -> Event {
    Event::ActionItemsCreated {
        release_id: release.record.release_id,
        items: vec![ActionItem {
            kind: "backport".into(),
            title: match &ctx.world.active_release_branch {
                Some(branch) => format!(
                    "Cherry-pick {} to {branch} so the next release includes the fix",
                    release.branch
                ),
                None => format!(
                    "Cherry-pick {} to the active release branch, if any, so the next release includes the fix",
                    release.branch
                ),
            },
            due_at: plus_hours(ctx.now, BACKPORT_DUE_HOURS),
            done_at: None,
            done_by: None,
            owner: None,
        }],
        timestamp: ctx.now,
    }
}

fn fail_deployment(release: &Release, reason: &str, ctx: &Context) -> Result<Vec<Event>, Refusal> {
    let run = release.deployment.as_ref().ok_or_else(|| {
        Refusal::one(
            Rule::StatusTransition,
            "no deployment is in progress",
            "nothing to fail",
        )
    })?;
    require_run_owner(&run.started_by, Action::ExecuteHotfixDeployment, ctx)?;
    require_text(reason, "a failure reason", "smoke_tests_failed")?;
    let release_id = release.record.release_id;
    let version = release.record.version.clone();
    let failure_reason = reason.trim().to_string();
    let deployed_by = run.started_by.clone();
    Ok(vec![match run.environment {
        Environment::Staging => Event::StagingDeploymentFailed {
            release_id,
            version,
            failure_reason,
            deployed_by,
            timestamp: ctx.now,
        },
        Environment::Production => Event::DeploymentFailed {
            release_id,
            version,
            release_type: release.release_type(),
            failure_reason,
            deployed_by,
            timestamp: ctx.now,
        },
    }])
}

/// How production is rolled back (the spec's Rollback Procedures).
#[derive(Debug, Clone, Copy)]
enum RollbackMethod<'a> {
    /// Application instant rollback: no downtime.
    Application,
    /// Database rollback: maintenance mode, restore, application rollback; needs confirmation.
    Database { confirm: Option<&'a str> },
}

fn start_rollback(
    release: &Release,
    reason: &str,
    to_version: Option<&Version>,
    method: RollbackMethod,
    ctx: &Context,
) -> Result<Vec<Event>, Refusal> {
    ctx.actor.require(Action::InitiateRollback)?;
    require_status(release, &[ReleaseStatus::Deployed], "roll back")?;
    require_live(release, ctx)?;
    require_text(reason, "a rollback reason", "high_error_rate")?;
    if let Some(reason) = run_in_progress(release, ctx) {
        return Err(reason.into());
    }
    let target = rollback_target(release, to_version, ctx)?;
    let mut events = vec![Event::RollbackInitiated {
        release_id: release.record.release_id,
        from_version: release.record.version.clone(),
        to_version: target.clone(),
        rollback_reason: reason.trim().to_string(),
        initiated_by: ctx.actor.id.clone(),
        timestamp: ctx.now,
    }];
    if let RollbackMethod::Database { confirm } = method {
        require_confirmation(&target, confirm)?;
        events.push(Event::DatabaseRollbackConfirmed {
            release_id: release.record.release_id,
            from_version: release.record.version.clone(),
            to_version: target,
            confirmed_by: ctx.actor.id.clone(),
            timestamp: ctx.now,
        });
    }
    events.push(rollback_action_items(release, ctx));
    Ok(events)
}

/// Only the release live in production is rolled back: a release that a later one replaced stays
/// `deployed` in its record, but rolling it back would take production from the later version.
fn require_live(release: &Release, ctx: &Context) -> Result<(), Refusal> {
    match &ctx.world.production_version {
        Some(live) if *live != release.record.version => Err(Refusal::one(
            Rule::RollbackTarget,
            format!(
                "{} is no longer live in production: {live} is",
                release.record.version
            ),
            format!("roll back the release of {live}"),
        )),
        _ => Ok(()),
    }
}

/// The version a rollback returns to: the one named, or the one live before this release.
fn rollback_target(
    release: &Release,
    to_version: Option<&Version>,
    ctx: &Context,
) -> Result<Version, Refusal> {
    let target = to_version
        .or(ctx.world.previous_production_version.as_ref())
        .cloned()
        .ok_or_else(|| {
            Refusal::one(
                Rule::RollbackTarget,
                format!("no version was live before {}", release.record.version),
                "name the version to return to with --to",
            )
        })?;
    if target >= release.record.version {
        return Err(Refusal::one(
            Rule::RollbackTarget,
            format!("{target} is not older than {}", release.record.version),
            "roll back to an earlier deployed version",
        ));
    }
    Ok(target)
}

/// A database rollback restores data to an earlier state, so the person types the target version.
fn require_confirmation(target: &Version, confirm: Option<&str>) -> Result<(), Refusal> {
    let typed = confirm.map(|c| c.trim().trim_start_matches('v'));
    if typed == Some(target.to_string().as_str()) {
        return Ok(());
    }
    Err(Refusal::one(
        Rule::Confirmation,
        format!(
            "a database rollback stops traffic and restores the database to {target}'s state; \
             the spec calls it high-risk and prefers a forward fix"
        ),
        format!("confirm by naming the version you return to: --confirm {target}"),
    ))
}

/// The spec's incident documentation after a hotfix (incident report, runbook update,
/// post-mortem), as action items due some hours after its production deployment; none when the
/// policy lists none.
fn hotfix_follow_ups(release: &Release, ctx: &Context) -> Option<Event> {
    let rules = &ctx.policy.hotfix.follow_ups;
    (!rules.is_empty()).then(|| Event::ActionItemsCreated {
        release_id: release.record.release_id,
        items: crate::hotfix::follow_ups(&ctx.policy.hotfix, ctx.now),
        timestamp: ctx.now,
    })
}

/// The spec's post-rollback action items, each due some hours from now.
fn rollback_action_items(release: &Release, ctx: &Context) -> Event {
    let items = ctx
        .policy
        .rollback
        .action_items
        .iter()
        .map(|rule| ActionItem {
            kind: rule.kind.clone(),
            title: rule.title.clone(),
            due_at: plus_hours(ctx.now, rule.due_hours),
            done_at: None,
            done_by: None,
            owner: None,
        })
        .collect();
    Event::ActionItemsCreated {
        release_id: release.record.release_id,
        items,
        timestamp: ctx.now,
    }
}

fn complete_rollback(release: &Release, ctx: &Context) -> Result<Vec<Event>, Refusal> {
    let run = release.rollback.as_ref().ok_or_else(|| {
        Refusal::one(
            Rule::StatusTransition,
            "no rollback is in progress",
            "start a rollback first",
        )
    })?;
    require_run_owner(&run.initiated_by, Action::InitiateRollback, ctx)?;
    Ok(vec![Event::RollbackCompleted {
        release_id: release.record.release_id,
        from_version: release.record.version.clone(),
        to_version: run.to_version.clone(),
        duration_minutes: minutes_between(run.started_at, ctx.now),
        initiated_by: run.initiated_by.clone(),
        timestamp: ctx.now,
    }])
}

fn fail_rollback(release: &Release, reason: &str, ctx: &Context) -> Result<Vec<Event>, Refusal> {
    let run = release.rollback.as_ref().ok_or_else(|| {
        Refusal::one(
            Rule::StatusTransition,
            "no rollback is in progress",
            "nothing to fail",
        )
    })?;
    require_run_owner(&run.initiated_by, Action::InitiateRollback, ctx)?;
    require_text(reason, "a failure reason", "rollback_hook_failed")?;
    Ok(vec![Event::RollbackFailed {
        release_id: release.record.release_id,
        from_version: release.record.version.clone(),
        to_version: run.to_version.clone(),
        failure_reason: reason.trim().to_string(),
        initiated_by: run.initiated_by.clone(),
        timestamp: ctx.now,
    }])
}

fn complete_action_item(
    release: &Release,
    kind: &str,
    notes: &Option<String>,
    ctx: &Context,
) -> Result<Vec<Event>, Refusal> {
    ctx.actor.require(Action::CompleteActionItem)?;
    let item = release.action_items.iter().find(|i| i.kind == kind);
    match item {
        None => {
            let kinds: Vec<&str> = release
                .action_items
                .iter()
                .map(|i| i.kind.as_str())
                .collect();
            Err(Refusal::one(
                Rule::Input,
                format!("the release has no action item `{kind}`"),
                if kinds.is_empty() {
                    "the release has no action items".to_string()
                } else {
                    format!("its action items are {}", kinds.join(", "))
                },
            ))
        }
        Some(item) if item.done_at.is_some() => Err(Refusal::one(
            Rule::AlreadyRecorded,
            format!("action item `{kind}` is already done"),
            "nothing to do",
        )),
        Some(_) => Ok(vec![Event::ActionItemCompleted {
            release_id: release.record.release_id,
            kind: kind.to_string(),
            notes: notes.clone(),
            completed_by: ctx.actor.id.clone(),
            timestamp: ctx.now,
        }]),
    }
}

fn raise_health_alert(
    release: &Release,
    alert: crate::health::AlertKind,
    detail: &str,
    ctx: &Context,
) -> Result<Vec<Event>, Refusal> {
    if !ctx.actor.system {
        return Err(Refusal::one(
            Rule::Permission,
            format!("{} may not raise health alerts", ctx.actor.id),
            "health alerts come from Greenlight's health monitor",
        ));
    }
    require_text(
        detail,
        "the alert's detail",
        "error rate 12% > 10% for 300 s",
    )?;
    Ok(vec![Event::HealthAlertRaised {
        release_id: release.record.release_id,
        version: release.record.version.clone(),
        alert,
        detail: detail.trim().to_string(),
        timestamp: ctx.now,
    }])
}

fn cancel(release: &Release, reason: &str, ctx: &Context) -> Result<Vec<Event>, Refusal> {
    ctx.actor.require(Action::CancelRelease)?;
    release
        .status()
        .transition(ReleaseStatus::Cancelled)
        .map_err(Refusal::from)?;
    require_text(reason, "a reason", "\"features moved to the next release\"")?;
    if let Some(reason) = run_in_progress(release, ctx).filter(|_| release.deployment.is_some()) {
        return Err(reason.into());
    }
    Ok(vec![Event::ReleaseCancelled {
        release_id: release.record.release_id,
        version: release.record.version.clone(),
        reason: reason.trim().to_string(),
        cancelled_by: ctx.actor.id.clone(),
        timestamp: ctx.now,
    }])
}
