//! The steps a sequence is made of, and how they are generated from the world so far.
//!
//! Generation leans toward what moves a release forward (the next gate phase, an approval by
//! someone holding the role, a vote, a deployment in a window), so sequences reach production,
//! roll back and retry often; the rest is any command by anyone at any time, which is where the
//! process is tried the way a new user would.

use std::fmt;

use greenlight_core::gates::GatePhase;
use greenlight_core::health::AlertKind;
use greenlight_core::release::{Environment, GoNoGo, ManualChecklistItem, ReleaseStatus};
use greenlight_core::state::Severity;
use greenlight_core::{Command, Release, ReleaseType, Role};
use jiff::civil::Weekday;
use proptest::prelude::*;
use proptest::sample::select;
use semver::Version;

use super::cast::{CAST, Who};
use super::sim::{Sim, phase_done};

/// One step of a sequence.
#[derive(Clone)]
pub enum Step {
    /// The clock moves on.
    Wait {
        /// By how much.
        minutes: u32,
    },
    /// The clock moves to the next local `day hour:minute` in the policy's zone.
    JumpTo {
        /// Weekday.
        day: Weekday,
        /// Local hour.
        hour: i8,
        /// Local minute.
        minute: i8,
    },
    /// `plan` a release (or start a hotfix).
    Plan {
        /// Who.
        by: Who,
        /// Type.
        release_type: ReleaseType,
        /// The version, or proposed.
        version: Option<Version>,
        /// Deploy at 14:30 local this many days ahead, or proposed.
        days_ahead: Option<u8>,
    },
    /// `decide` a command on release slot `release`.
    Do {
        /// Who.
        by: Who,
        /// Release slot (wraps around the releases planned).
        release: u8,
        /// The command.
        command: Command,
    },
    /// Record every gate of a phase as passed, one `RecordGate` command each.
    PassPhase {
        /// Who.
        by: Who,
        /// Release slot.
        release: u8,
        /// Phase.
        phase: GatePhase,
    },
    /// A feature flag operation.
    Flag {
        /// Who.
        by: Who,
        /// Flag slot (wraps around the flags created).
        flag: u8,
        /// What.
        op: FlagOp,
    },
}

/// What is done to a flag.
#[derive(Clone, Debug)]
pub enum FlagOp {
    /// Create `flag-N`; a plan of percentages of everyone, or the policy's default plan.
    Create {
        /// Percentages, in order; none: the default plan.
        plan: Option<Vec<u8>>,
        /// The flag's kind (`release` if none; `operational` is exempt from the rising rollout).
        kind: Option<String>,
        /// Tie it to the latest release.
        for_release: bool,
    },
    /// Advance to the next stage.
    Advance,
    /// Pull the kill switch.
    Kill,
    /// Release the kill switch.
    Restore,
}

impl fmt::Debug for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Wait { minutes } => write!(f, "wait {minutes} min"),
            Step::JumpTo { day, hour, minute } => {
                write!(f, "jump to {day:?} {hour:02}:{minute:02}")
            }
            Step::Plan {
                by,
                release_type,
                version,
                days_ahead,
            } => write!(
                f,
                "{by:?}: plan {release_type} {} {}",
                version
                    .as_ref()
                    .map_or("(proposed version)".into(), |v| v.to_string()),
                days_ahead.map_or("(proposed date)".into(), |d| format!("in {d} days"))
            ),
            Step::Do {
                by,
                release,
                command,
            } => write!(f, "{by:?} on #{release}: {command:?}"),
            Step::PassPhase { by, release, phase } => {
                write!(f, "{by:?} on #{release}: pass every {phase} gate")
            }
            Step::Flag { by, flag, op } => write!(f, "{by:?} on flag #{flag}: {op:?}"),
        }
    }
}

/// Someone holding one of `roles` most of the time, anyone at all now and then.
fn fitting(roles: &[Role]) -> BoxedStrategy<Who> {
    let holders: Vec<Who> = roles.iter().flat_map(|r| Who::holding(*r)).collect();
    if holders.is_empty() {
        return anyone();
    }
    prop_oneof![8 => select(holders), 1 => anyone()].boxed()
}

fn anyone() -> BoxedStrategy<Who> {
    (0..CAST.len() as u8).prop_map(Who).boxed()
}

fn command(by: BoxedStrategy<Who>, release: usize, command: Command) -> BoxedStrategy<Step> {
    let release = release as u8;
    by.prop_map(move |by| Step::Do {
        by,
        release,
        command: command.clone(),
    })
    .boxed()
}

const EL: Role = Role::EngineeringLead;
const QA: Role = Role::QaLead;
const PO: Role = Role::ProductOwner;
const OC: Role = Role::OnCallEngineer;

/// The steps that would move release `index` forward, each with a weight.
fn forward(sim: &Sim, index: usize) -> Vec<(u32, BoxedStrategy<Step>)> {
    let release = &sim.releases[index];
    let policy = &sim.policy;
    let slot = index as u8;
    let hotfix = release.release_type() == ReleaseType::Hotfix;
    let mut steps: Vec<(u32, BoxedStrategy<Step>)> = Vec::new();
    let pass = |phase: GatePhase, roles: &[Role]| -> BoxedStrategy<Step> {
        fitting(roles)
            .prop_map(move |by| Step::PassPhase {
                by,
                release: slot,
                phase,
            })
            .boxed()
    };
    if let Some(run) = &release.deployment {
        let by = CAST.iter().position(|c| c.0 == run.started_by).unwrap_or(8) as u8;
        let owner = prop_oneof![4 => Just(Who(by)), 1 => anyone()].boxed();
        steps.push((
            12,
            command(owner.clone(), index, Command::CompleteDeployment),
        ));
        let fail = Command::FailDeployment {
            reason: "smoke_tests_failed".into(),
        };
        steps.push((2, command(owner, index, fail)));
        return steps;
    }
    if release.rollback.is_some() {
        steps.push((
            10,
            command(fitting(&[EL, OC]), index, Command::CompleteRollback),
        ));
        let fail = Command::FailRollback {
            reason: "rollback_hook_failed".into(),
        };
        steps.push((1, command(fitting(&[EL, OC]), index, fail)));
        return steps;
    }
    let staging = Command::StartDeployment {
        environment: Environment::Staging,
        override_window: None,
    };
    match release.status() {
        ReleaseStatus::Planned => {
            if !hotfix && !release.checklist.code_freeze_complete {
                steps.push((8, command(fitting(&[EL]), index, Command::Freeze)));
            }
            let phase = if hotfix {
                GatePhase::Hotfix
            } else {
                GatePhase::Planning
            };
            if !phase_done(policy, release, phase) {
                steps.push((8, pass(phase, &[EL, QA])));
            }
            steps.push((6, command(fitting(&[EL, OC]), index, staging)));
        }
        ReleaseStatus::Staging => staging_steps(sim, release, index, &mut steps),
        ReleaseStatus::Deployed => {
            let rollback = Command::StartRollback {
                reason: "high_error_rate".into(),
                to_version: None,
                database: false,
                confirm: None,
            };
            steps.push((4, command(fitting(&[EL, OC]), index, rollback)));
            steps.push((2, pass(GatePhase::ProductionValidation, &[EL, QA])));
        }
        ReleaseStatus::RolledBack => {
            steps.push((
                4,
                command(fitting(&[EL]), index, Command::CutReleaseCandidate),
            ));
            steps.push((4, command(fitting(&[EL, OC]), index, staging)));
        }
        ReleaseStatus::Cancelled => {}
    }
    steps
}

/// In staging: gates, approvals, the stakeholder review, votes, a window, production.
fn staging_steps(
    sim: &Sim,
    release: &Release,
    index: usize,
    steps: &mut Vec<(u32, BoxedStrategy<Step>)>,
) {
    let policy = &sim.policy;
    let slot = index as u8;
    let hotfix = release.release_type() == ReleaseType::Hotfix;
    if release.failed_candidate.is_some() {
        // A failed production deployment: retry with a new candidate.
        steps.push((
            6,
            command(fitting(&[EL]), index, Command::CutReleaseCandidate),
        ));
        let staging = Command::StartDeployment {
            environment: Environment::Staging,
            override_window: None,
        };
        steps.push((6, command(fitting(&[EL, OC]), index, staging)));
    }
    let phase = if hotfix {
        GatePhase::Hotfix
    } else {
        GatePhase::StagingValidation
    };
    if !phase_done(policy, release, phase) {
        let by = fitting(&[EL, QA]);
        steps.push((
            8,
            by.prop_map(move |by| Step::PassPhase {
                by,
                release: slot,
                phase,
            })
            .boxed(),
        ));
    }
    let rule = policy.approvals.of(release.release_type());
    for role in rule.required.iter().chain(&rule.optional) {
        if !release.approvals.iter().any(|a| a.role == *role) {
            let approve = Command::Approve { role: *role };
            steps.push((5, command(fitting(&[*role]), index, approve)));
        }
    }
    if rule.stakeholder_review && release.stakeholder_review.is_none() {
        let review = Command::StakeholderReview {
            notes: "training materials reviewed".into(),
        };
        steps.push((4, command(fitting(&[PO, EL]), index, review)));
    }
    if policy
        .go_no_go
        .required_for
        .contains(&release.release_type())
    {
        for role in [EL, QA, PO] {
            if !release.votes.iter().any(|v| v.role == role) {
                let vote = GoNoGo::Go;
                let go = Command::GoNoGo {
                    role,
                    vote,
                    notes: None,
                };
                steps.push((4, command(fitting(&[role]), index, go)));
            }
        }
    }
    let production = |override_window: Option<String>| Command::StartDeployment {
        environment: Environment::Production,
        override_window,
    };
    let deployers: &[Role] = if hotfix { &[EL, OC] } else { &[EL] };
    steps.push((6, command(fitting(deployers), index, production(None))));
    let justified = Some("payment provider outage needs the fix now".to_string());
    steps.push((1, command(fitting(deployers), index, production(justified))));
    steps.push((4, window_jump()));
    steps.push((2, long_wait()));
}

/// A jump to a time near a deployment window (both ends of it, and just outside).
fn window_jump() -> BoxedStrategy<Step> {
    let day = select(vec![
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Monday,
    ]);
    let time = select(vec![
        (14, 0),
        (14, 30),
        (15, 15),
        (15, 30),
        (15, 59),
        (16, 0),
        (10, 0),
        (11, 30),
        (9, 0),
        (17, 0),
        (2, 30),
    ]);
    (day, time)
        .prop_map(|(day, (hour, minute))| Step::JumpTo { day, hour, minute })
        .boxed()
}

fn long_wait() -> BoxedStrategy<Step> {
    select(vec![1440u32, 3 * 1440, 7 * 1440, 14 * 1440])
        .prop_map(|minutes| Step::Wait { minutes })
        .boxed()
}

fn short_wait() -> BoxedStrategy<Step> {
    select(vec![1u32, 5, 14, 16, 31, 45, 60, 240])
        .prop_map(|minutes| Step::Wait { minutes })
        .boxed()
}

fn release_type() -> impl Strategy<Value = ReleaseType> {
    prop_oneof![
        3 => Just(ReleaseType::Patch),
        3 => Just(ReleaseType::Standard),
        2 => Just(ReleaseType::Hotfix),
        2 => Just(ReleaseType::Major),
    ]
}

fn version() -> impl Strategy<Value = Option<Version>> {
    let explicit = select(vec![
        Version::new(1, 0, 1),
        Version::new(1, 0, 2),
        Version::new(1, 1, 0),
        Version::new(1, 2, 0),
        Version::new(2, 0, 0),
        Version::new(0, 9, 0),
    ]);
    prop_oneof![3 => Just(None), 1 => explicit.prop_map(Some)]
}

fn plan_step() -> BoxedStrategy<Step> {
    let days = prop_oneof![3 => Just(None), 1 => (0u8..30).prop_map(Some)];
    (fitting(&[EL, OC]), release_type(), version(), days)
        .prop_map(|(by, release_type, version, days_ahead)| Step::Plan {
            by,
            release_type,
            version,
            days_ahead,
        })
        .boxed()
}

fn flag_step(sim: &Sim) -> BoxedStrategy<Step> {
    let stages = &sim.policy.feature_flags.stages;
    let mut plans: Vec<Option<Vec<u8>>> = vec![None, Some(stages.clone())];
    plans.extend([
        Some(vec![100]),
        Some(vec![50, 10]),
        Some(vec![10, 50, 100]),
        Some(vec![5, 10, 20, 25, 50, 100]),
    ]);
    let kind = prop_oneof![4 => Just(None), 1 => Just(Some("operational".to_string()))];
    let create =
        (select(plans), kind, any::<bool>()).prop_map(|(plan, kind, for_release)| FlagOp::Create {
            plan,
            kind,
            for_release,
        });
    let op = prop_oneof![
        1 => create,
        4 => Just(FlagOp::Advance),
        1 => Just(FlagOp::Kill),
        1 => Just(FlagOp::Restore),
    ];
    let by = prop_oneof![3 => fitting(&[EL]), 1 => fitting(&[OC]), 1 => anyone()];
    (by, 0u8..3, op)
        .prop_map(|(by, flag, op)| Step::Flag { by, flag, op })
        .boxed()
}

/// Any command with arguments drawn from a small, colliding set.
fn any_command(sim: &Sim) -> BoxedStrategy<Command> {
    let gates: Vec<(GatePhase, String)> = GatePhase::ALL
        .iter()
        .flat_map(|p| sim.policy.gates.of(*p).iter().map(|g| (*p, g.name.clone())))
        .chain([(GatePhase::Planning, "no_such_gate".to_string())])
        .collect();
    let gate = select(gates);
    let role = select(Role::ALL.to_vec());
    let text = select(vec![
        String::new(),
        "too short".into(),
        "documented justification: vendor outage".into(),
    ]);
    let later = sim.now;
    prop_oneof![
        (1u8..40).prop_map(move |days| Command::Reschedule {
            planned_date: later + jiff::SignedDuration::from_hours(i64::from(days) * 24),
            reason: "waiting on a payment provider fix".into(),
        }),
        Just(Command::Freeze),
        Just(Command::CutReleaseCandidate),
        (gate.clone(), any::<bool>()).prop_map(|((phase, gate), passed)| Command::RecordGate {
            phase,
            gate,
            passed,
            reason: (!passed).then(|| "api_response_time_exceeded".into()),
        }),
        (gate.clone(), any::<bool>()).prop_map(|((phase, gate), passed)| Command::AttachEvidence {
            phase,
            gate,
            format: "junit".into(),
            summary: "120 tests".into(),
            reasons: if passed {
                vec![]
            } else {
                vec!["3 failures".into()]
            },
        }),
        (gate, text.clone()).prop_map(|((phase, gate), justification)| Command::OverrideGate {
            phase,
            gate,
            justification,
        }),
        (select(vec!["MLC-1", "MLC-2"]), 1u8..=4, any::<bool>()).prop_map(|(id, sev, wa)| {
            Command::ReportBug {
                bug_id: id.into(),
                severity: Severity::try_from(sev).unwrap_or(Severity::SEV1),
                title: "scores not saved".into(),
                workaround: wa.then(|| "reload the page".into()),
            }
        }),
        select(vec!["MLC-1", "MLC-2"]).prop_map(|id| Command::ResolveBug { bug_id: id.into() }),
        role.clone().prop_map(|role| Command::Approve { role }),
        Just(Command::RecordContent(
            greenlight_core::content::ReleaseContent {
                changelog: "## Added\n- rhythm game".into(),
                ..Default::default()
            }
        )),
        Just(Command::StakeholderReview {
            notes: "reviewed".into()
        }),
        (
            role,
            select(vec![GoNoGo::Go, GoNoGo::NoGo, GoNoGo::Pending])
        )
            .prop_map(|(role, vote)| Command::GoNoGo {
                role,
                vote,
                notes: None
            }),
        select(vec![
            ManualChecklistItem::ReleaseNotesDrafted,
            ManualChecklistItem::StakeholdersNotified,
            ManualChecklistItem::MonitoringComplete,
        ])
        .prop_map(|item| Command::MarkChecklist { item }),
        (any::<bool>(), text.clone()).prop_map(|(prod, j)| Command::StartDeployment {
            environment: if prod {
                Environment::Production
            } else {
                Environment::Staging
            },
            override_window: (!j.is_empty()).then_some(j),
        }),
        Just(Command::CompleteDeployment),
        Just(Command::FailDeployment {
            reason: "interrupted".into()
        }),
        (
            any::<bool>(),
            select(vec![
                None,
                Some(Version::new(1, 0, 0)),
                Some(Version::new(1, 0, 1))
            ])
        )
            .prop_map(|(database, to_version)| Command::StartRollback {
                reason: "high_error_rate".into(),
                confirm: to_version.as_ref().map(|v| v.to_string()),
                to_version,
                database,
            }),
        Just(Command::CompleteRollback),
        Just(Command::FailRollback {
            reason: "hook failed".into()
        }),
        select(vec!["incident_report", "backport", "retro_1"]).prop_map(|k| {
            Command::CompleteActionItem {
                kind: k.into(),
                notes: None,
            }
        }),
        Just(Command::RaiseHealthAlert {
            alert: AlertKind::RollbackRequiresDiscussion,
            detail: "error rate 7% > 5%".into(),
        }),
        text.prop_map(|reason| Command::Cancel { reason }),
        Just(Command::RecordMetricsReview {
            values: [("score_recording_success_percent".to_string(), 99.0)].into(),
            notes: None,
        }),
        Just(Command::RecordRetrospective {
            notes: "went well".into(),
            outputs: vec![],
            items: vec![],
        }),
    ]
    .boxed()
}

/// The next step, given the world so far.
pub fn next(sim: &Sim) -> BoxedStrategy<Step> {
    let mut steps: Vec<(u32, BoxedStrategy<Step>)> = vec![
        (4, short_wait()),
        (2, long_wait()),
        (4, window_jump()),
        (if sim.releases.len() < 3 { 6 } else { 1 }, plan_step()),
        (5, flag_step(sim)),
    ];
    for index in 0..sim.releases.len() {
        let moves = forward(sim, index);
        steps.extend(moves.into_iter().map(|(weight, step)| (weight * 2, step)));
    }
    if !sim.releases.is_empty() {
        let slots = 0..sim.releases.len() as u8;
        let random = (anyone(), slots, any_command(sim))
            .prop_map(|(by, release, command)| Step::Do {
                by,
                release,
                command,
            })
            .boxed();
        steps.push((5, random));
    }
    proptest::strategy::Union::new_weighted(steps).boxed()
}
