//! The release process end to end through `plan`, `decide` and `apply`: each spec rule has a test
//! named after it that fails if the rule breaks.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use greenlight_core::decide::{PendingRelease, RaisedAlert, RetrospectiveItem, approval_status};
use greenlight_core::gates::GatePhase;
use greenlight_core::health::AlertKind;
use greenlight_core::policy::{Effect, Policy};
use greenlight_core::release::{Environment, GoNoGo, ReleaseStatus, ReleaseType};
use greenlight_core::state::{Bug, Severity};
use greenlight_core::{
    Actor, Command, Context, Event, PlanRelease, Refusal, Release, Role, Rule, World, decide, plan,
};
use jiff::Timestamp;
use semver::Version;
use uuid::Uuid;

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn v(text: &str) -> Version {
    Version::parse(text).unwrap()
}

fn lead() -> Actor {
    Actor::user("erin", [Role::EngineeringLead])
}
fn qa() -> Actor {
    Actor::user("quinn", [Role::QaLead])
}
fn po() -> Actor {
    Actor::user("pat", [Role::ProductOwner])
}
fn oncall() -> Actor {
    Actor::user("omar", [Role::OnCallEngineer])
}
fn admin() -> Actor {
    Actor::user("sam", [Role::SystemAdmin])
}

/// A release under test with its policy, world and clock; `run` decides and applies.
struct Harness {
    policy: Policy,
    world: World,
    now: Timestamp,
    release: Option<Release>,
    events: Vec<Event>,
}

impl Harness {
    fn new() -> Self {
        Harness {
            policy: Policy::default(),
            world: World {
                production_version: Some(v("1.3.0")),
                previous_production_version: Some(v("1.2.0")),
                other_run_in_progress: None,
                active_release_branch: Some("release/v1.4.0".into()),
                ..World::default()
            },
            // Tuesday 2026-11-24 10:00 PST.
            now: at("2026-11-24T18:00:00Z"),
            release: None,
            events: Vec::new(),
        }
    }

    fn at(&mut self, when: &str) -> &mut Self {
        self.now = at(when);
        self
    }

    fn ctx<'a>(&'a self, actor: &'a Actor) -> Context<'a> {
        Context {
            policy: &self.policy,
            now: self.now,
            actor,
            world: &self.world,
        }
    }

    fn plan(&mut self, actor: &Actor, release_type: ReleaseType) -> Result<(), Refusal> {
        let cmd = PlanRelease {
            release_id: Uuid::from_u128(1),
            checklist_id: Uuid::from_u128(2),
            release_type,
            version: None,
            planned_date: None,
            title: (release_type == ReleaseType::Hotfix).then(|| "critical score fix".into()),
            from_version: None,
            trigger: (release_type == ReleaseType::Hotfix)
                .then(|| "score_recording_failure".into()),
            severity: None,
        };
        let events = plan(&cmd, &self.ctx(actor))?;
        self.release = Release::replay(&events);
        self.events.extend(events);
        Ok(())
    }

    fn try_run(&mut self, actor: &Actor, command: Command) -> Result<Vec<Event>, Refusal> {
        let release = self.release.as_ref().expect("planned");
        let events = decide(release, &command, &self.ctx(actor))?;
        let release = self.release.as_mut().expect("planned");
        for event in &events {
            release.apply(event);
        }
        self.events.extend(events.clone());
        Ok(events)
    }

    fn run(&mut self, actor: &Actor, command: Command) -> Vec<Event> {
        self.try_run(actor, command)
            .unwrap_or_else(|refusal| panic!("refused: {refusal}"))
    }

    fn refused(&mut self, actor: &Actor, command: Command) -> Refusal {
        let before = self.release.clone();
        let refusal = self.try_run(actor, command).expect_err("should be refused");
        assert_eq!(self.release, before, "a refusal changes nothing");
        refusal
    }

    fn release(&self) -> &Release {
        self.release.as_ref().expect("planned")
    }

    fn pass_phase(&mut self, actor: &Actor, phase: GatePhase) {
        let gates: Vec<String> = self
            .policy
            .gates
            .of(phase)
            .iter()
            .map(|g| g.name.clone())
            .collect();
        for gate in gates {
            let already = self
                .release()
                .gates
                .iter()
                .any(|g| g.gate_phase == phase && g.gate_name == gate && g.outcome.satisfied());
            if !already {
                self.run(actor, gate_cmd(phase, &gate, true));
            }
        }
    }

    /// Plan, freeze, Phase 1, staging, Phase 2 for a standard release.
    fn walk_to_staging_validated(&mut self, release_type: ReleaseType) {
        self.plan(&lead(), release_type).unwrap();
        if release_type != ReleaseType::Hotfix {
            self.now = self.release().record.code_freeze_date;
            self.run(&lead(), Command::Freeze);
            self.pass_phase(&qa(), GatePhase::Planning);
        }
        self.at("2026-12-08T18:00:00Z")
            .run(&lead(), deploy(Environment::Staging));
        self.at("2026-12-08T18:20:00Z")
            .run(&lead(), Command::CompleteDeployment);
        let phase = if release_type == ReleaseType::Hotfix {
            GatePhase::Hotfix
        } else {
            GatePhase::StagingValidation
        };
        self.pass_phase(&qa(), phase);
    }

    fn approve_all(&mut self) {
        self.run(
            &lead(),
            Command::Approve {
                role: Role::EngineeringLead,
            },
        );
        self.run(&qa(), Command::Approve { role: Role::QaLead });
        self.run(
            &po(),
            Command::Approve {
                role: Role::ProductOwner,
            },
        );
    }

    fn vote_go(&mut self) {
        for (actor, role) in [
            (lead(), Role::EngineeringLead),
            (qa(), Role::QaLead),
            (po(), Role::ProductOwner),
        ] {
            self.run(
                &actor,
                Command::GoNoGo {
                    role,
                    vote: GoNoGo::Go,
                    notes: None,
                },
            );
        }
    }
}

fn gate_cmd(phase: GatePhase, gate: &str, passed: bool) -> Command {
    Command::RecordGate {
        phase,
        gate: gate.into(),
        passed,
        reason: (!passed).then(|| "api_response_time_exceeded".into()),
    }
}

fn deploy(environment: Environment) -> Command {
    Command::StartDeployment {
        environment,
        override_window: None,
    }
}

fn rules(refusal: &Refusal) -> Vec<Rule> {
    refusal.reasons.iter().map(|r| r.rule).collect()
}

#[test]
fn standard_release_walks_from_plan_to_deployed() {
    let mut h = Harness::new();
    h.walk_to_staging_validated(ReleaseType::Standard);
    h.approve_all();
    h.at("2026-12-10T21:00:00Z").vote_go();
    assert_eq!(h.release().checklist.go_no_go_decision, GoNoGo::Go);
    // Thursday 2026-12-10 14:00 PST.
    h.at("2026-12-10T22:00:00Z")
        .run(&lead(), deploy(Environment::Production));
    h.at("2026-12-10T22:35:00Z")
        .run(&lead(), Command::CompleteDeployment);
    let record = &h.release().record;
    assert_eq!(record.status, ReleaseStatus::Deployed);
    assert_eq!(record.version, v("1.4.0"));
    assert_eq!(record.deployed_date, Some(at("2026-12-10T22:35:00Z")));
    assert_eq!(record.deployed_by.as_deref(), Some("erin"));
    assert_eq!(record.deployment_duration_minutes, Some(35));
    assert!(record.staging_validated);
    assert_eq!(record.staging_validated_by.as_deref(), Some("quinn"));
    let checklist = &h.release().checklist;
    assert!(checklist.code_freeze_complete && checklist.quality_gates_phase1_passed);
    assert!(checklist.staging_deployed && checklist.quality_gates_phase2_passed);
    assert!(checklist.production_deployed);
    assert_eq!(checklist.product_owner_approval.as_deref(), Some("pat"));
    let telemetry: Vec<&str> = h
        .events
        .iter()
        .filter(|e| e.is_telemetry() && !e.name().starts_with("quality"))
        .map(|e| e.name())
        .collect();
    assert_eq!(telemetry, ["deployment_started", "deployment_completed"]);
    // Replaying the history gives the same release.
    assert_eq!(Release::replay(&h.events).as_ref(), h.release.as_ref());
}

#[test]
fn version_numbering_plan_proposes_the_next_minor_and_the_train_date() {
    let mut h = Harness::new();
    h.plan(&lead(), ReleaseType::Standard).unwrap();
    let record = &h.release().record;
    assert_eq!(record.version, v("1.4.0"));
    // The next train Thursday at least 7 days out: 2026-12-10 14:00 PST.
    assert_eq!(record.planned_date, at("2026-12-10T22:00:00Z"));
    // Code freeze on the Monday at least a week before, 09:00 PST.
    assert_eq!(record.code_freeze_date, at("2026-11-30T17:00:00Z"));
    assert_eq!(h.release().branch, "release/v1.4.0");
}

#[test]
fn version_numbering_refuses_a_version_that_does_not_move_forward() {
    let h = Harness::new();
    let cmd = PlanRelease {
        release_id: Uuid::from_u128(1),
        checklist_id: Uuid::from_u128(2),
        release_type: ReleaseType::Standard,
        version: Some(v("1.3.0")),
        planned_date: None,
        title: None,
        from_version: None,
        trigger: None,
        severity: None,
    };
    let refusal = plan(&cmd, &h.ctx(&lead())).unwrap_err();
    assert_eq!(rules(&refusal), [Rule::Version]);
    assert!(refusal.to_string().contains("does not move forward"));
}

#[test]
fn version_numbering_first_release_needs_an_explicit_version() {
    let mut h = Harness::new();
    h.world = World::default();
    let refusal = h.plan(&lead(), ReleaseType::Standard).unwrap_err();
    assert!(refusal.reasons[0].satisfy.contains("--version 1.0.0"));
}

#[test]
fn hotfix_version_is_a_patch_of_production_with_a_hotfix_branch() {
    let mut h = Harness::new();
    h.world.pending_releases = vec![pending("1.4.0", "2026-12-10T22:00:00Z")];
    h.plan(&oncall(), ReleaseType::Hotfix).unwrap();
    assert_eq!(h.release().record.version, v("1.3.1"));
    assert_eq!(h.release().branch, "hotfix/v1.3.1-critical-score-fix");
    assert_eq!(h.release().record.planned_date, h.now);
}

#[test]
fn permissions_only_engineering_lead_plans_standard_releases() {
    let mut h = Harness::new();
    for actor in [qa(), po(), oncall(), admin()] {
        let refusal = h.plan(&actor, ReleaseType::Standard).unwrap_err();
        assert_eq!(rules(&refusal), [Rule::Permission], "{}", actor.id);
    }
}

#[test]
fn lead_time_standard_release_needs_a_week_from_code_freeze() {
    let h = Harness::new();
    let cmd = PlanRelease {
        release_id: Uuid::from_u128(1),
        checklist_id: Uuid::from_u128(2),
        release_type: ReleaseType::Standard,
        version: None,
        // Thursday 2026-12-03, only 9 days ahead but the lead is measured from now: OK.
        planned_date: Some(at("2026-11-26T22:00:00Z")),
        title: None,
        from_version: None,
        trigger: None,
        severity: None,
    };
    let refusal = plan(&cmd, &h.ctx(&lead())).unwrap_err();
    assert!(refusal.has(Rule::LeadTime), "{refusal}");
}

#[test]
fn lead_time_a_late_freeze_is_refused() {
    let mut h = Harness::new();
    h.plan(&lead(), ReleaseType::Standard).unwrap();
    // Planned 2026-12-10; freezing on Dec 5 leaves 5 days.
    let refusal = h
        .at("2026-12-05T17:00:00Z")
        .refused(&lead(), Command::Freeze);
    assert_eq!(rules(&refusal), [Rule::LeadTime]);
    assert!(refusal.reasons[0].satisfy.contains("reschedule"));
}

#[test]
fn deployment_windows_plan_refuses_a_blocked_date_and_names_the_next_slot() {
    let h = Harness::new();
    let cmd = PlanRelease {
        release_id: Uuid::from_u128(1),
        checklist_id: Uuid::from_u128(2),
        release_type: ReleaseType::Standard,
        version: None,
        // Friday 2026-12-11 17:00 PST: Friday evening and outside the window.
        planned_date: Some(at("2026-12-12T01:00:00Z")),
        title: None,
        from_version: None,
        trigger: None,
        severity: None,
    };
    let refusal = plan(&cmd, &h.ctx(&lead())).unwrap_err();
    assert_eq!(rules(&refusal), [Rule::DeploymentWindow]);
    assert!(refusal.reasons[0].message.contains("Friday evenings"));
    assert!(refusal.reasons[0].satisfy.contains("Thu 2026-12-17 14:00"));
}

#[test]
fn code_freeze_comes_before_staging_and_cuts_rc_1() {
    let mut h = Harness::new();
    h.plan(&lead(), ReleaseType::Standard).unwrap();
    let refusal = h.refused(&lead(), deploy(Environment::Staging));
    assert!(refusal.has(Rule::CodeFreeze), "{refusal}");
    let events = h.at("2026-11-30T17:00:00Z").run(&lead(), Command::Freeze);
    assert!(
        matches!(&events[0], Event::CodeFreezeStarted { release_candidate, .. } if *release_candidate == v("1.4.0-rc.1"))
    );
    let events = h.run(&lead(), Command::CutReleaseCandidate);
    assert!(
        matches!(&events[0], Event::ReleaseCandidateCut { release_candidate, .. } if *release_candidate == v("1.4.0-rc.2"))
    );
    assert_eq!(h.release().current_candidate(), Some(v("1.4.0-rc.2")));
}

#[test]
fn quality_gates_phase1_must_pass_before_staging() {
    let mut h = Harness::new();
    h.plan(&lead(), ReleaseType::Standard).unwrap();
    h.at("2026-11-30T17:00:00Z").run(&lead(), Command::Freeze);
    h.run(&qa(), gate_cmd(GatePhase::Planning, "unit_tests", true));
    h.run(&qa(), gate_cmd(GatePhase::Planning, "security_scan", false));
    let refusal = h.refused(&lead(), deploy(Environment::Staging));
    assert_eq!(rules(&refusal), [Rule::QualityGate]);
    let text = refusal.to_string();
    assert!(text.contains("failed: security_scan"), "{text}");
    assert!(
        text.contains("no result: features_merged_and_reviewed"),
        "{text}"
    );
    assert!(!text.contains("unit_tests"), "{text}");
}

#[test]
fn quality_gate_failure_needs_a_reason_and_emits_the_spec_event() {
    let mut h = Harness::new();
    h.plan(&lead(), ReleaseType::Standard).unwrap();
    let refusal = h.refused(
        &qa(),
        Command::RecordGate {
            phase: GatePhase::Planning,
            gate: "unit_tests".into(),
            passed: false,
            reason: Some("  ".into()),
        },
    );
    assert_eq!(rules(&refusal), [Rule::Input]);
    let events = h.run(&qa(), gate_cmd(GatePhase::Planning, "unit_tests", false));
    assert_eq!(events[0].name(), "quality_gate_failed");
}

#[test]
fn quality_gates_unknown_gate_names_the_real_ones() {
    let mut h = Harness::new();
    h.plan(&lead(), ReleaseType::Standard).unwrap();
    let refusal = h.refused(&qa(), gate_cmd(GatePhase::Planning, "vibes", true));
    assert!(refusal.reasons[0].satisfy.contains("unit_tests"));
    let refusal = h.refused(&qa(), gate_cmd(GatePhase::Hotfix, "code_review", true));
    assert!(refusal.reasons[0].message.contains("no hotfix gates"));
    let refusal = h.refused(
        &qa(),
        gate_cmd(GatePhase::StagingValidation, "smoke_tests", true),
    );
    assert_eq!(rules(&refusal), [Rule::StatusTransition]);
}

#[test]
fn quality_gate_override_only_by_engineering_lead_with_justification() {
    let mut h = Harness::new();
    h.plan(&lead(), ReleaseType::Standard).unwrap();
    let cmd = |justification: &str| Command::OverrideGate {
        phase: GatePhase::Planning,
        gate: "code_coverage".into(),
        justification: justification.into(),
    };
    let refusal = h.refused(&qa(), cmd("coverage tool broken on CI today"));
    assert_eq!(rules(&refusal), [Rule::Permission]);
    let refusal = h.refused(&lead(), cmd("because"));
    assert_eq!(rules(&refusal), [Rule::GateOverride]);
    h.run(&lead(), cmd("coverage tool broken on CI today"));
    let gate = &h.release().gates[0];
    assert!(gate.outcome.satisfied());
    assert_eq!(
        gate.reason.as_deref(),
        Some("coverage tool broken on CI today")
    );
}

#[test]
fn quality_gates_phase_completion_ticks_the_checklist() {
    let mut h = Harness::new();
    h.plan(&lead(), ReleaseType::Standard).unwrap();
    h.pass_phase(&qa(), GatePhase::Planning);
    assert!(h.release().checklist.quality_gates_phase1_passed);
    let passed = h
        .events
        .iter()
        .filter(|e| e.name() == "quality_gates_phase_passed")
        .count();
    assert_eq!(passed, 1);
    h.run(&qa(), gate_cmd(GatePhase::Planning, "unit_tests", false));
    assert!(!h.release().checklist.quality_gates_phase1_passed);
}

#[test]
fn blocking_issues_sev1_blocks_and_sev2_blocks_unless_workaround() {
    let mut h = Harness::new();
    h.walk_to_staging_validated(ReleaseType::Standard);
    h.approve_all();
    h.run(
        &qa(),
        Command::ReportBug {
            bug_id: "MLC-1".into(),
            severity: Severity::SEV2,
            title: "teacher report slow".into(),
            workaround: Some("export CSV instead".into()),
        },
    );
    h.at("2026-12-10T21:00:00Z").vote_go();
    h.run(
        &qa(),
        Command::ReportBug {
            bug_id: "MLC-2".into(),
            severity: Severity::SEV1,
            title: "scores lost on Safari".into(),
            workaround: None,
        },
    );
    let refusal = h
        .at("2026-12-10T22:00:00Z")
        .refused(&lead(), deploy(Environment::Production));
    assert_eq!(rules(&refusal), [Rule::BlockingBug]);
    assert!(refusal.to_string().contains("MLC-2"));
    assert!(!refusal.to_string().contains("MLC-1"));
    h.run(
        &qa(),
        Command::ResolveBug {
            bug_id: "MLC-2".into(),
        },
    );
    h.run(&lead(), deploy(Environment::Production));
}

#[test]
fn blocking_issues_gate_cannot_pass_with_open_sev1() {
    let mut h = Harness::new();
    h.plan(&lead(), ReleaseType::Standard).unwrap();
    h.run(
        &po(),
        Command::ReportBug {
            bug_id: "MLC-9".into(),
            severity: Severity::SEV2,
            title: "badges missing".into(),
            workaround: None,
        },
    );
    let refusal = h.refused(
        &qa(),
        gate_cmd(GatePhase::Planning, "no_open_sev1_sev2_bugs", true),
    );
    assert_eq!(rules(&refusal), [Rule::BlockingBug]);
}

#[test]
fn approval_matrix_standard_needs_three_of_three() {
    let mut h = Harness::new();
    h.walk_to_staging_validated(ReleaseType::Standard);
    h.run(
        &lead(),
        Command::Approve {
            role: Role::EngineeringLead,
        },
    );
    h.run(&qa(), Command::Approve { role: Role::QaLead });
    let status = approval_status(h.release(), &h.policy);
    assert!(!status.satisfied());
    assert_eq!(status.missing_required, [Role::ProductOwner]);
    let refusal = h
        .at("2026-12-10T22:00:00Z")
        .refused(&lead(), deploy(Environment::Production));
    assert!(refusal.has(Rule::ApprovalMatrix));
    assert!(
        refusal.to_string().contains("missing product_owner"),
        "{refusal}"
    );
}

#[test]
fn approval_matrix_patch_needs_two_of_three_product_owner_optional() {
    let mut h = Harness::new();
    h.walk_to_staging_validated(ReleaseType::Patch);
    h.run(
        &lead(),
        Command::Approve {
            role: Role::EngineeringLead,
        },
    );
    h.run(&qa(), Command::Approve { role: Role::QaLead });
    assert!(approval_status(h.release(), &h.policy).satisfied());
}

#[test]
fn approval_matrix_hotfix_needs_engineering_lead_and_qa_lead() {
    let mut h = Harness::new();
    h.walk_to_staging_validated(ReleaseType::Hotfix);
    h.run(&qa(), Command::Approve { role: Role::QaLead });
    h.run(
        &po(),
        Command::Approve {
            role: Role::ProductOwner,
        },
    );
    let status = approval_status(h.release(), &h.policy);
    assert_eq!(status.missing_required, [Role::EngineeringLead]);
    assert!(
        !status.satisfied(),
        "2 approvals, but not the required ones"
    );
    h.run(
        &lead(),
        Command::Approve {
            role: Role::EngineeringLead,
        },
    );
    assert!(approval_status(h.release(), &h.policy).satisfied());
    // Hotfixes have no Go/No-Go meeting: the on-call engineer deploys right away.
    h.run(&oncall(), deploy(Environment::Production));
}

#[test]
fn approval_matrix_major_needs_a_stakeholder_review() {
    let mut h = Harness::new();
    h.walk_to_staging_validated(ReleaseType::Major);
    h.approve_all();
    let status = approval_status(h.release(), &h.policy);
    assert!(status.stakeholder_review_missing);
    let refusal = h.refused(
        &lead(),
        Command::GoNoGo {
            role: Role::EngineeringLead,
            vote: GoNoGo::Go,
            notes: None,
        },
    );
    assert!(refusal.has(Rule::StakeholderReview));
    h.run(
        &po(),
        Command::StakeholderReview {
            notes: "district admins reviewed training".into(),
        },
    );
    assert!(approval_status(h.release(), &h.policy).satisfied());
}

#[test]
fn approval_matrix_one_person_cannot_approve_twice() {
    let mut h = Harness::new();
    h.walk_to_staging_validated(ReleaseType::Standard);
    let both = Actor::user("dana", [Role::EngineeringLead, Role::ProductOwner]);
    h.run(
        &both,
        Command::Approve {
            role: Role::EngineeringLead,
        },
    );
    let refusal = h.refused(
        &both,
        Command::Approve {
            role: Role::ProductOwner,
        },
    );
    assert_eq!(rules(&refusal), [Rule::ApprovalMatrix]);
    assert!(
        refusal
            .to_string()
            .contains("one person cannot approve twice")
    );
    let refusal = h.refused(
        &lead(),
        Command::Approve {
            role: Role::EngineeringLead,
        },
    );
    assert_eq!(rules(&refusal), [Rule::AlreadyRecorded]);
    let refusal = h.refused(
        &qa(),
        Command::Approve {
            role: Role::ProductOwner,
        },
    );
    assert_eq!(rules(&refusal), [Rule::Permission]);
}

#[test]
fn qa_lead_signs_off_staging_only_when_phase2_gates_pass() {
    let mut h = Harness::new();
    h.plan(&lead(), ReleaseType::Standard).unwrap();
    h.at("2026-11-30T17:00:00Z").run(&lead(), Command::Freeze);
    h.pass_phase(&qa(), GatePhase::Planning);
    h.run(&lead(), deploy(Environment::Staging));
    h.run(&lead(), Command::CompleteDeployment);
    let refusal = h.refused(&qa(), Command::Approve { role: Role::QaLead });
    assert_eq!(rules(&refusal), [Rule::QualityGate]);
    // The staging deployment passed its own gate.
    assert!(!refusal.to_string().contains("staging_deployment"));
}

#[test]
fn go_no_go_go_needs_every_participant_and_any_no_go_blocks() {
    let mut h = Harness::new();
    h.walk_to_staging_validated(ReleaseType::Standard);
    h.approve_all();
    h.run(
        &lead(),
        Command::GoNoGo {
            role: Role::EngineeringLead,
            vote: GoNoGo::Go,
            notes: None,
        },
    );
    assert_eq!(h.release().checklist.go_no_go_decision, GoNoGo::Pending);
    h.run(
        &qa(),
        Command::GoNoGo {
            role: Role::QaLead,
            vote: GoNoGo::NoGo,
            notes: Some("Safari regression".into()),
        },
    );
    h.run(
        &po(),
        Command::GoNoGo {
            role: Role::ProductOwner,
            vote: GoNoGo::Go,
            notes: None,
        },
    );
    assert_eq!(h.release().checklist.go_no_go_decision, GoNoGo::NoGo);
    let refusal = h
        .at("2026-12-10T22:00:00Z")
        .refused(&lead(), deploy(Environment::Production));
    assert_eq!(rules(&refusal), [Rule::GoNoGo]);
    h.run(
        &qa(),
        Command::GoNoGo {
            role: Role::QaLead,
            vote: GoNoGo::Go,
            notes: None,
        },
    );
    assert_eq!(h.release().checklist.go_no_go_decision, GoNoGo::Go);
}

#[test]
fn go_no_go_go_vote_requires_gates_and_approvals() {
    let mut h = Harness::new();
    h.walk_to_staging_validated(ReleaseType::Standard);
    let refusal = h.refused(
        &lead(),
        Command::GoNoGo {
            role: Role::EngineeringLead,
            vote: GoNoGo::Go,
            notes: None,
        },
    );
    assert!(refusal.has(Rule::ApprovalMatrix));
    // A no-go is always possible.
    h.run(
        &qa(),
        Command::GoNoGo {
            role: Role::QaLead,
            vote: GoNoGo::NoGo,
            notes: None,
        },
    );
}

#[test]
fn deployment_windows_monday_morning_is_refused_and_an_engineering_lead_may_override() {
    let mut h = Harness::new();
    h.walk_to_staging_validated(ReleaseType::Standard);
    h.approve_all();
    h.vote_go();
    // Monday 2026-12-14 09:00 PST.
    h.at("2026-12-14T17:00:00Z");
    let refusal = h.refused(&lead(), deploy(Environment::Production));
    assert_eq!(rules(&refusal), [Rule::DeploymentWindow]);
    assert!(refusal.to_string().contains("Monday mornings"));
    let events = h.run(
        &lead(),
        Command::StartDeployment {
            environment: Environment::Production,
            override_window: Some("score-loss fix cannot wait for Thursday".into()),
        },
    );
    assert_eq!(events[0].name(), "deployment_window_overridden");
    assert_eq!(events[1].name(), "deployment_started");
}

#[test]
fn deployment_windows_holidays_block_even_on_thursday_afternoon() {
    let mut h = Harness::new();
    h.walk_to_staging_validated(ReleaseType::Standard);
    h.approve_all();
    h.vote_go();
    // Christmas Eve is not federal; New Year's Eve neither; use 2026-12-24 observed? Christmas
    // 2026 is a Friday, so take Thanksgiving 2027: Thursday 2027-11-25 14:30 PST.
    let refusal = h
        .at("2027-11-25T22:30:00Z")
        .refused(&lead(), deploy(Environment::Production));
    assert!(refusal.to_string().contains("Thanksgiving"), "{refusal}");
}

#[test]
fn deployment_windows_override_by_the_wrong_role_is_refused() {
    let mut h = Harness::new();
    h.policy.windows.hotfix.blackout_effect = Some(Effect::Block);
    h.walk_to_staging_validated(ReleaseType::Hotfix);
    h.run(
        &lead(),
        Command::Approve {
            role: Role::EngineeringLead,
        },
    );
    h.run(&qa(), Command::Approve { role: Role::QaLead });
    // Friday 2026-12-11 18:00 PST.
    h.at("2026-12-12T02:00:00Z");
    let refusal = h.refused(
        &oncall(),
        Command::StartDeployment {
            environment: Environment::Production,
            override_window: Some("outage, must ship now".into()),
        },
    );
    assert_eq!(rules(&refusal), [Rule::Permission]);
}

#[test]
fn one_deployment_at_a_time() {
    let mut h = Harness::new();
    h.walk_to_staging_validated(ReleaseType::Standard);
    h.approve_all();
    h.vote_go();
    h.world.other_run_in_progress = Some(v("1.3.1"));
    let refusal = h
        .at("2026-12-10T22:00:00Z")
        .refused(&lead(), deploy(Environment::Production));
    assert_eq!(rules(&refusal), [Rule::DeploymentInProgress]);
}

#[test]
fn refusal_lists_every_failing_rule() {
    let mut h = Harness::new();
    h.plan(&lead(), ReleaseType::Standard).unwrap();
    let refusal = h
        .at("2026-12-14T17:00:00Z")
        .refused(&lead(), deploy(Environment::Production));
    let found = rules(&refusal);
    for rule in [
        Rule::StatusTransition,
        Rule::QualityGate,
        Rule::ApprovalMatrix,
        Rule::GoNoGo,
        Rule::DeploymentWindow,
    ] {
        assert!(found.contains(&rule), "{rule} missing from {found:?}");
    }
}

#[test]
fn deployment_failure_keeps_the_release_in_staging_with_the_spec_event() {
    let mut h = Harness::new();
    h.walk_to_staging_validated(ReleaseType::Standard);
    h.approve_all();
    h.vote_go();
    h.at("2026-12-10T22:00:00Z")
        .run(&lead(), deploy(Environment::Production));
    let events = h.run(
        &admin_system(),
        Command::FailDeployment {
            reason: "smoke_tests_failed".into(),
        },
    );
    assert_eq!(events[0].name(), "deployment_failed");
    assert_eq!(h.release().status(), ReleaseStatus::Staging);
    assert!(h.release().deployment.is_none());
}

fn admin_system() -> Actor {
    Actor::system()
}

fn deployed(h: &mut Harness) {
    h.walk_to_staging_validated(ReleaseType::Standard);
    h.approve_all();
    h.vote_go();
    h.at("2026-12-10T22:00:00Z")
        .run(&lead(), deploy(Environment::Production));
    h.at("2026-12-10T22:30:00Z")
        .run(&lead(), Command::CompleteDeployment);
    h.world.production_version = Some(h.release().record.version.clone());
}

#[test]
fn rollback_is_initiated_by_engineering_lead_or_on_call_with_action_items() {
    let mut h = Harness::new();
    deployed(&mut h);
    let start = Command::StartRollback {
        reason: "high_error_rate".into(),
        to_version: None,
        database: false,
        confirm: None,
    };
    for actor in [qa(), po(), admin()] {
        let refusal = h.refused(&actor, start.clone());
        assert_eq!(rules(&refusal), [Rule::Permission]);
    }
    let events = h.at("2026-12-10T23:00:00Z").run(&oncall(), start);
    let Event::RollbackInitiated {
        from_version,
        to_version,
        ..
    } = &events[0]
    else {
        panic!("{events:?}");
    };
    assert_eq!((from_version, to_version), (&v("1.4.0"), &v("1.2.0")));
    let items = &h.release().action_items;
    let due: Vec<(&str, Timestamp)> = items.iter().map(|i| (i.kind.as_str(), i.due_at)).collect();
    assert_eq!(
        due,
        [
            ("incident_report", at("2026-12-10T23:00:00Z")),
            ("root_cause", at("2026-12-11T23:00:00Z")),
            ("forward_fix", at("2026-12-12T23:00:00Z")),
            ("post_mortem", at("2026-12-17T23:00:00Z")),
        ]
    );
    assert!(items[1].overdue(at("2026-12-12T00:00:00Z")));
    assert!(!items[2].overdue(at("2026-12-12T00:00:00Z")));
    h.at("2026-12-10T23:05:00Z")
        .run(&oncall(), Command::CompleteRollback);
    let record = &h.release().record;
    assert_eq!(record.status, ReleaseStatus::RolledBack);
    assert!(record.rolled_back);
    assert_eq!(record.rolled_back_by.as_deref(), Some("omar"));
    assert_eq!(record.rollback_reason.as_deref(), Some("high_error_rate"));
    let last = h
        .events
        .iter()
        .rev()
        .find(|e| e.name() == "rollback_completed");
    assert!(matches!(
        last,
        Some(Event::RollbackCompleted {
            duration_minutes: 5,
            ..
        })
    ));
    h.run(
        &lead(),
        Command::CompleteActionItem {
            kind: "incident_report".into(),
            notes: None,
        },
    );
    assert!(h.release().action_items[0].done_at.is_some());
}

#[test]
fn rollback_needs_a_previous_version() {
    let mut h = Harness::new();
    deployed(&mut h);
    h.world.previous_production_version = None;
    let refusal = h.refused(
        &lead(),
        Command::StartRollback {
            reason: "data_loss".into(),
            to_version: None,
            database: false,
            confirm: None,
        },
    );
    assert_eq!(rules(&refusal), [Rule::RollbackTarget]);
    let refusal = h.refused(
        &lead(),
        Command::StartRollback {
            reason: "data_loss".into(),
            to_version: Some(v("1.5.0")),
            database: false,
            confirm: None,
        },
    );
    assert_eq!(rules(&refusal), [Rule::RollbackTarget]);
}

/// Found by the model-based test (tests/model.rs): a release that a later one replaced in
/// production is still `deployed`, and rolling it back took production from the later version.
#[test]
fn rollback_only_of_the_release_live_in_production() {
    let mut h = Harness::new();
    deployed(&mut h);
    h.world.production_version = Some(v("1.5.0"));
    let refusal = h.refused(
        &lead(),
        Command::StartRollback {
            reason: "high_error_rate".into(),
            to_version: None,
            database: false,
            confirm: None,
        },
    );
    assert_eq!(rules(&refusal), [Rule::RollbackTarget]);
    assert!(refusal.reasons[0].message.contains("1.5.0 is"), "{refusal}");
}

#[test]
fn a_database_rollback_needs_the_target_version_typed_out() {
    let mut h = Harness::new();
    deployed(&mut h);
    let rollback = |confirm: Option<&str>| Command::StartRollback {
        reason: "migration corrupted scores".into(),
        to_version: None,
        database: true,
        confirm: confirm.map(Into::into),
    };
    for wrong in [None, Some("yes"), Some("1.4.0")] {
        let refusal = h.refused(&lead(), rollback(wrong));
        assert_eq!(rules(&refusal), [Rule::Confirmation], "{wrong:?}");
        assert!(refusal.reasons[0].satisfy.contains("--confirm 1.2.0"));
    }
    let events = h.run(&lead(), rollback(Some("v1.2.0")));
    let names: Vec<&str> = events.iter().map(Event::name).collect();
    assert_eq!(
        names,
        [
            "rollback_initiated",
            "database_rollback_confirmed",
            "action_items_created"
        ]
    );
    let run = h.release().rollback.clone().unwrap();
    assert!(run.database);
    assert_eq!(
        greenlight_core::runbook::RunKind::in_progress(h.release()).map(|(kind, _)| kind),
        Some(greenlight_core::runbook::RunKind::DatabaseRollback)
    );
}

#[test]
fn status_transitions_cancel_only_before_production() {
    let mut h = Harness::new();
    deployed(&mut h);
    let refusal = h.refused(
        &lead(),
        Command::Cancel {
            reason: "changed our minds".into(),
        },
    );
    assert_eq!(rules(&refusal), [Rule::StatusTransition]);
    let mut h = Harness::new();
    h.plan(&lead(), ReleaseType::Standard).unwrap();
    let refusal = h.refused(
        &po(),
        Command::Cancel {
            reason: "no".into(),
        },
    );
    assert_eq!(rules(&refusal), [Rule::Permission]);
    h.run(
        &lead(),
        Command::Cancel {
            reason: "features moved to 1.5.0".into(),
        },
    );
    assert_eq!(h.release().status(), ReleaseStatus::Cancelled);
    let refusal = h.refused(&lead(), Command::Freeze);
    assert_eq!(rules(&refusal), [Rule::StatusTransition]);
}

#[test]
fn staging_redeploy_invalidates_phase2_results_approvals_and_votes() {
    let mut h = Harness::new();
    h.walk_to_staging_validated(ReleaseType::Standard);
    h.approve_all();
    h.run(&lead(), Command::CutReleaseCandidate);
    h.run(&lead(), deploy(Environment::Staging));
    h.run(&lead(), Command::CompleteDeployment);
    let release = h.release();
    assert!(release.approvals.is_empty());
    assert!(!release.record.staging_validated);
    assert!(!release.checklist.quality_gates_phase2_passed);
    // Only the automatic staging_deployment gate remains.
    assert_eq!(
        release
            .gates
            .iter()
            .filter(|g| g.gate_phase == GatePhase::StagingValidation)
            .count(),
        1
    );
}

#[test]
fn hotfix_deployment_creates_a_backport_reminder() {
    let mut h = Harness::new();
    h.walk_to_staging_validated(ReleaseType::Hotfix);
    h.run(
        &lead(),
        Command::Approve {
            role: Role::EngineeringLead,
        },
    );
    h.run(&qa(), Command::Approve { role: Role::QaLead });
    h.run(&oncall(), deploy(Environment::Production));
    h.run(&oncall(), Command::CompleteDeployment);
    let item = &h.release().action_items[0];
    assert_eq!(item.kind, "backport");
    assert!(item.title.contains("hotfix/v1.3.1-critical-score-fix"));
    assert!(item.title.contains("to release/v1.4.0"), "{}", item.title);
}

#[test]
fn hotfix_is_planned_from_the_production_version_only() {
    let mut h = Harness::new();
    let mut cmd = PlanRelease {
        release_id: Uuid::from_u128(1),
        checklist_id: Uuid::from_u128(2),
        release_type: ReleaseType::Hotfix,
        version: None,
        planned_date: None,
        title: Some("critical score fix".into()),
        from_version: Some(v("1.2.0")),
        trigger: Some("score_recording_failure".into()),
        severity: None,
    };
    let refusal = plan(&cmd, &h.ctx(&oncall())).unwrap_err();
    assert_eq!(rules(&refusal), [Rule::Version]);
    assert!(refusal.reasons[0].satisfy.contains("--from 1.3.0"));
    h.world.production_version = None;
    let events = plan(&cmd, &h.ctx(&oncall())).unwrap();
    let release = Release::replay(&events).unwrap();
    assert_eq!(release.record.version, v("1.2.1"));
    assert_eq!(release.branch, "hotfix/v1.2.1-critical-score-fix");
    cmd.release_type = ReleaseType::Standard;
    let refusal = plan(&cmd, &h.ctx(&lead())).unwrap_err();
    assert_eq!(rules(&refusal), [Rule::Input]);
}

#[test]
fn hotfix_timeline_shows_each_stage_against_its_target() {
    use greenlight_core::hotfix::{StageState, timeline};
    let mut h = Harness::new();
    // Started at 10:00 PST; staging at 10:20 (Harness walks at 2026-12-08T18:20Z, so plan there).
    h.at("2026-12-08T17:00:00Z");
    h.walk_to_staging_validated(ReleaseType::Hotfix);
    let t = timeline(h.release(), &h.policy.hotfix, at("2026-12-08T18:50:00Z")).unwrap();
    assert_eq!(t.stages[0].state, StageState::Done);
    assert_eq!(t.stages[0].elapsed_minutes, 80);
    assert!(t.stages[0].over_target, "80 min > 60 min target");
    assert_eq!(t.stages[1].state, StageState::Running);
    assert_eq!(t.stages[1].elapsed_minutes, 30);
    assert_eq!(t.stages[2].state, StageState::Pending);
    assert_eq!(t.elapsed_minutes, 110);
    assert!(!t.over_target && !t.finished);
    h.run(
        &lead(),
        Command::Approve {
            role: Role::EngineeringLead,
        },
    );
    h.run(&qa(), Command::Approve { role: Role::QaLead });
    h.at("2026-12-08T19:00:00Z")
        .run(&oncall(), deploy(Environment::Production));
    h.at("2026-12-08T19:10:00Z")
        .run(&oncall(), Command::CompleteDeployment);
    let kinds: Vec<&str> = h
        .release()
        .action_items
        .iter()
        .map(|i| i.kind.as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "backport",
            "incident_report",
            "runbook_update",
            "post_mortem"
        ],
        "the spec's incident documentation is a hotfix's follow-up, as a rollback's"
    );
    let t = timeline(h.release(), &h.policy.hotfix, at("2026-12-08T19:30:00Z")).unwrap();
    assert!(!t.finished, "the follow-ups are open");
    for kind in ["incident_report", "runbook_update", "post_mortem"] {
        h.at("2026-12-08T21:00:00Z").run(
            &lead(),
            Command::CompleteActionItem {
                kind: kind.into(),
                notes: None,
            },
        );
    }
    h.at("2026-12-08T21:30:00Z").run(
        &lead(),
        Command::CompleteActionItem {
            kind: "backport".into(),
            notes: Some("cherry-picked".into()),
        },
    );
    let t = timeline(h.release(), &h.policy.hotfix, at("2026-12-09T09:00:00Z")).unwrap();
    let elapsed: Vec<u32> = t.stages.iter().map(|s| s.elapsed_minutes).collect();
    assert_eq!(elapsed, [80, 50, 140]);
    assert!(t.finished);
    assert_eq!(
        t.elapsed_minutes, 270,
        "ends at the last milestone, not now"
    );
    assert!(t.over_target, "4.5 h is past the 4 h target");
    assert!(
        t.deadline_met && !t.past_deadline,
        "in production at 11:10, before the 13:00 deadline"
    );
    assert_eq!(t.minutes_to_deadline, Some(110));
    let mut standard = Harness::new();
    standard.plan(&lead(), ReleaseType::Standard).unwrap();
    assert!(timeline(standard.release(), &standard.policy.hotfix, standard.now).is_none());
}

/// The spec's hotfix triggers carry a severity and a deadline: a hotfix names its trigger, the
/// severity is one of the trigger's, and both are recorded with the deadline in the event and
/// the release; the timeline says where the hotfix stands against it.
#[test]
fn a_hotfix_records_its_trigger_severity_and_deadline() {
    use greenlight_core::hotfix::timeline;
    use greenlight_core::state::Severity;
    let mut h = Harness::new();
    h.world.production_version = Some(v("1.3.0"));
    // Tuesday 2026-12-08 09:00 PST.
    h.at("2026-12-08T17:00:00Z");
    let hotfix = |trigger: Option<&str>, severity: Option<u8>| PlanRelease {
        release_id: Uuid::from_u128(1),
        checklist_id: Uuid::from_u128(2),
        release_type: ReleaseType::Hotfix,
        version: None,
        planned_date: None,
        title: Some("critical fix".into()),
        from_version: None,
        trigger: trigger.map(str::to_string),
        severity: severity.map(|s| Severity::try_from(s).unwrap()),
    };
    let refused = |trigger, severity| {
        let refusal = plan(&hotfix(trigger, severity), &h.ctx(&oncall())).unwrap_err();
        assert_eq!(rules(&refusal), [Rule::Input], "{refusal}");
        refusal.to_string()
    };
    let missing = refused(None, None);
    assert!(
        missing.contains("score_recording_failure") && missing.contains("accessibility_failure"),
        "names the triggers: {missing}"
    );
    assert!(refused(Some("slow_page"), None).contains("not a hotfix trigger"));
    let wrong = refused(Some("score_recording_failure"), Some(2));
    assert!(wrong.contains("severity 1, not 2"), "{wrong}");
    let which = refused(Some("security_vulnerability"), None);
    assert!(which.contains("--severity 1 or 2"), "{which}");

    // Security, severity 2: within 24 hours.
    let events = plan(
        &hotfix(Some("security_vulnerability"), Some(2)),
        &h.ctx(&oncall()),
    )
    .unwrap();
    let json = events[0].to_json();
    assert_eq!(json["hotfix"]["trigger"], "security_vulnerability");
    assert_eq!(json["hotfix"]["severity"], 2);
    assert_eq!(json["hotfix"]["deadline"], "2026-12-09T17:00:00Z");
    let release = Release::replay(&events).unwrap();
    let urgency = release.hotfix.clone().unwrap();
    assert_eq!(urgency.severity, Severity::SEV2);
    assert_eq!(urgency.title, "Security vulnerabilities");
    let t = timeline(&release, &h.policy.hotfix, at("2026-12-09T18:00:00Z")).unwrap();
    assert_eq!(t.minutes_to_deadline, Some(-60));
    assert!(t.past_deadline && !t.deadline_met);

    // Score recording, severity 1 by default: immediate, the 4-hour timeline.
    let events = plan(
        &hotfix(Some("score_recording_failure"), None),
        &h.ctx(&oncall()),
    )
    .unwrap();
    let release = Release::replay(&events).unwrap();
    let urgency = release.hotfix.clone().unwrap();
    assert_eq!(urgency.severity, Severity::SEV1);
    assert_eq!(urgency.deadline, at("2026-12-08T21:00:00Z"));
    let t = timeline(&release, &h.policy.hotfix, at("2026-12-08T18:30:00Z")).unwrap();
    assert_eq!(t.minutes_to_deadline, Some(150));
    assert!(!t.past_deadline);

    // Accessibility: severity 2, within 48 hours.
    let events = plan(
        &hotfix(Some("accessibility_failure"), None),
        &h.ctx(&oncall()),
    )
    .unwrap();
    let urgency = Release::replay(&events).unwrap().hotfix.unwrap();
    assert_eq!(
        (urgency.severity, urgency.deadline),
        (Severity::SEV2, at("2026-12-10T17:00:00Z"))
    );

    // Only a hotfix has them.
    let mut standard = hotfix(Some("data_loss"), None);
    standard.release_type = ReleaseType::Standard;
    standard.title = None;
    let refusal = plan(&standard, &h.ctx(&lead())).unwrap_err();
    assert_eq!(rules(&refusal), [Rule::Input]);
}

/// Phase 4 and the retrospective are set out when production deployment completes.
fn deployed_on(h: &mut Harness, start: &str, done: &str) {
    h.walk_to_staging_validated(ReleaseType::Standard);
    h.approve_all();
    h.at(start).vote_go();
    h.at(start).run(&lead(), deploy(Environment::Production));
    h.at(done).run(&lead(), Command::CompleteDeployment);
}

#[test]
fn post_release_monitoring_windows_and_the_retrospective_on_the_following_monday() {
    let mut h = Harness::new();
    // Thursday 2026-12-10 14:35 PST.
    deployed_on(&mut h, "2026-12-10T22:00:00Z", "2026-12-10T22:35:00Z");
    let post = h.release().post_release.clone().expect("scheduled");
    assert_eq!(
        post.active_monitoring_until,
        at("2026-12-11T02:35:00Z"),
        "4 hours"
    );
    assert_eq!(
        post.extended_review_until,
        at("2026-12-12T22:35:00Z"),
        "48 hours"
    );
    // Monday 2026-12-14 10:00 PST.
    assert_eq!(post.retrospective_at, at("2026-12-14T18:00:00Z"));
    assert_eq!(
        post.agenda,
        [
            "What went well?",
            "What could be improved?",
            "Were quality gates effective?",
            "Any surprises or unexpected issues?",
            "Action items for next release",
        ],
        "the spec's agenda, word for word"
    );
    assert_eq!(
        post.expected_outputs,
        [
            "Updated release checklist (if process improvements identified)",
            "Risk items for future releases",
            "Documentation updates",
        ],
        "the spec's outputs, word for word"
    );
    assert!(h.release().checklist.release_retrospective_scheduled);
}

#[test]
fn the_retrospective_moves_past_a_monday_holiday() {
    let mut h = Harness::new();
    // Thursday 2027-01-14; Monday 2027-01-18 is Martin Luther King Jr. Day.
    deployed_on(&mut h, "2027-01-14T22:00:00Z", "2027-01-14T22:30:00Z");
    let post = h.release().post_release.clone().expect("scheduled");
    assert_eq!(
        post.retrospective_at,
        at("2027-01-19T18:00:00Z"),
        "Tuesday 10:00 PST"
    );
}

#[test]
fn the_retrospective_records_notes_outputs_and_owned_action_items_once() {
    let mut h = Harness::new();
    h.walk_to_staging_validated(ReleaseType::Standard);
    let record = |notes: &str| Command::RecordRetrospective {
        notes: notes.into(),
        outputs: vec!["policy: rollback.error_rate 3% -> 2%".into()],
        items: vec![RetrospectiveItem {
            title: "Alert on score-sync lag".into(),
            owner: "omar".into(),
            due_at: at("2026-12-18T01:00:00Z"),
        }],
    };
    let early = h.refused(&lead(), record("too soon"));
    assert_eq!(rules(&early), [Rule::StatusTransition]);
    h.approve_all();
    h.at("2026-12-10T22:00:00Z").vote_go();
    h.at("2026-12-10T22:00:00Z")
        .run(&lead(), deploy(Environment::Production));
    h.at("2026-12-10T22:35:00Z")
        .run(&lead(), Command::CompleteDeployment);
    h.at("2026-12-14T19:00:00Z");
    assert_eq!(
        rules(&h.refused(&oncall(), record("x"))),
        [Rule::Permission]
    );
    assert_eq!(rules(&h.refused(&qa(), record("  "))), [Rule::Input]);
    let events = h.run(&qa(), record("Smooth; score sync lagged 2 minutes"));
    let names: Vec<&str> = events.iter().map(|e| e.name()).collect();
    assert_eq!(names, ["retrospective_recorded", "action_items_created"]);
    let post = h.release().post_release.clone().unwrap();
    assert_eq!(
        post.notes.as_deref(),
        Some("Smooth; score sync lagged 2 minutes")
    );
    assert_eq!(post.outputs, ["policy: rollback.error_rate 3% -> 2%"]);
    let item = h.release().action_items.last().unwrap().clone();
    assert_eq!(
        (item.kind.as_str(), item.owner.as_deref()),
        ("retro_1", Some("omar"))
    );
    assert!(!item.overdue(at("2026-12-17T00:00:00Z")));
    assert!(item.overdue(at("2026-12-18T02:00:00Z")));
    assert_eq!(
        rules(&h.refused(&qa(), record("again"))),
        [Rule::StatusTransition]
    );
    assert_eq!(Release::replay(&h.events).as_ref(), h.release.as_ref());
}

#[test]
fn the_metrics_review_flags_score_recording_below_the_minimum_and_completes_monitoring() {
    let mut h = Harness::new();
    let review = |pairs: &[(&str, f64)]| Command::RecordMetricsReview {
        values: pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        notes: None,
    };
    h.walk_to_staging_validated(ReleaseType::Standard);
    let early = h.refused(&qa(), review(&[("error_rate_percent", 0.2)]));
    assert_eq!(rules(&early), [Rule::StatusTransition]);
    h.approve_all();
    h.at("2026-12-10T22:00:00Z").vote_go();
    h.at("2026-12-10T22:00:00Z")
        .run(&lead(), deploy(Environment::Production));
    h.at("2026-12-10T22:35:00Z")
        .run(&lead(), Command::CompleteDeployment);
    let unknown = h.refused(&qa(), review(&[("happiness", 1.0)]));
    assert_eq!(rules(&unknown), [Rule::Input]);
    assert!(
        unknown
            .to_string()
            .contains("score_recording_success_percent"),
        "{unknown}"
    );
    // The next morning: score recording dipped.
    h.at("2026-12-11T17:00:00Z");
    let events = h.run(
        &qa(),
        review(&[
            ("score_recording_success_percent", 99.2),
            ("daily_active_users", 5120.0),
        ]),
    );
    let Event::MetricsReviewRecorded { findings, .. } = &events[0] else {
        panic!("not a review")
    };
    assert_eq!(findings, &["score recording success 99.2% is below 99.5%"]);
    assert!(!h.release().checklist.monitoring_complete);
    // After the extended review, all within bounds: monitoring is complete.
    h.at("2026-12-12T23:00:00Z");
    h.run(&qa(), review(&[("score_recording_success_percent", 99.8)]));
    assert!(h.release().checklist.monitoring_complete);
    assert_eq!(h.release().post_release.as_ref().unwrap().reviews.len(), 2);
    assert_eq!(Release::replay(&h.events).as_ref(), h.release.as_ref());
}

fn rolled_back(h: &mut Harness) {
    deployed(h);
    h.at("2026-12-10T23:00:00Z").run(
        &oncall(),
        Command::StartRollback {
            reason: "high_error_rate".into(),
            to_version: None,
            database: false,
            confirm: None,
        },
    );
    h.at("2026-12-10T23:05:00Z")
        .run(&oncall(), Command::CompleteRollback);
    h.world.production_version = h.world.previous_production_version.clone();
}

/// A new candidate on staging after a rollback or a failed production deployment: everything
/// from staging on is empty again.
fn assert_nothing_carried_over(release: &Release) {
    assert!(release.approvals.is_empty());
    assert!(release.votes.is_empty());
    assert_eq!(release.checklist.go_no_go_decision, GoNoGo::Pending);
    assert!(!release.checklist.quality_gates_phase2_passed);
    assert!(!release.record.staging_validated);
    assert!(release.gates.iter().all(|g| {
        g.gate_phase != GatePhase::ProductionValidation
            && (g.gate_phase != GatePhase::StagingValidation || g.gate_name == "staging_deployment")
    }));
}

#[test]
fn retry_after_rollback_needs_a_new_candidate_and_everything_from_staging_again() {
    let mut h = Harness::new();
    rolled_back(&mut h);
    let refusal = h.refused(&lead(), deploy(Environment::Staging));
    assert_eq!(rules(&refusal), [Rule::RetryCandidate]);
    assert!(
        refusal.reasons[0]
            .message
            .contains("1.4.0-rc.1 was rolled back")
    );
    h.at("2026-12-14T18:00:00Z")
        .run(&lead(), Command::CutReleaseCandidate);
    h.run(&lead(), deploy(Environment::Staging));
    h.run(&lead(), Command::CompleteDeployment);
    assert_nothing_carried_over(h.release());
    assert_eq!(h.release().status(), ReleaseStatus::Staging);
    assert!(
        h.release().record.rolled_back,
        "still the rolled-back release"
    );
    // Thursday 2026-12-17 14:00 PST: the approvals and votes given before the rollback are gone.
    let refusal = h
        .at("2026-12-17T22:00:00Z")
        .refused(&lead(), deploy(Environment::Production));
    let found = rules(&refusal);
    for rule in [Rule::QualityGate, Rule::ApprovalMatrix, Rule::GoNoGo] {
        assert!(found.contains(&rule), "{rule} missing from {found:?}");
    }
    h.pass_phase(&qa(), GatePhase::StagingValidation);
    h.approve_all();
    h.vote_go();
    h.run(&lead(), deploy(Environment::Production));
    h.at("2026-12-17T22:30:00Z")
        .run(&lead(), Command::CompleteDeployment);
    // The record describes the deployment live now; the rollback stays in the history.
    let record = &h.release().record;
    assert_eq!(record.status, ReleaseStatus::Deployed);
    assert!(!record.rolled_back);
    assert_eq!(
        (record.rolled_back_at, record.rolled_back_by.as_deref()),
        (None, None)
    );
    assert_eq!(record.rollback_reason, None);
    assert!(h.events.iter().any(|e| e.name() == "rollback_completed"));
    assert_eq!(Release::replay(&h.events).as_ref(), h.release.as_ref());
}

#[test]
fn retry_after_a_failed_production_deployment_needs_a_new_candidate() {
    let mut h = Harness::new();
    h.walk_to_staging_validated(ReleaseType::Standard);
    h.approve_all();
    h.vote_go();
    h.at("2026-12-10T22:00:00Z")
        .run(&lead(), deploy(Environment::Production));
    h.run(
        &admin_system(),
        Command::FailDeployment {
            reason: "smoke_tests_failed".into(),
        },
    );
    // The same candidate does not go to production again on its old approvals and votes.
    let refusal = h
        .at("2026-12-10T22:30:00Z")
        .refused(&lead(), deploy(Environment::Production));
    assert_eq!(rules(&refusal), [Rule::RetryCandidate]);
    let refusal = h.refused(&lead(), deploy(Environment::Staging));
    assert_eq!(rules(&refusal), [Rule::RetryCandidate]);
    let refusal = h.refused(
        &lead(),
        Command::GoNoGo {
            role: Role::EngineeringLead,
            vote: GoNoGo::Go,
            notes: None,
        },
    );
    assert_eq!(rules(&refusal), [Rule::RetryCandidate]);
    h.run(&lead(), Command::CutReleaseCandidate);
    h.run(&lead(), deploy(Environment::Staging));
    h.run(&lead(), Command::CompleteDeployment);
    assert_nothing_carried_over(h.release());
    h.pass_phase(&qa(), GatePhase::StagingValidation);
    h.approve_all();
    h.vote_go();
    h.at("2026-12-17T22:00:00Z")
        .run(&lead(), deploy(Environment::Production));
    assert_eq!(Release::replay(&h.events).as_ref(), h.release.as_ref());
}

#[test]
fn a_hotfix_retry_gives_its_reduced_gates_again() {
    let mut h = Harness::new();
    h.walk_to_staging_validated(ReleaseType::Hotfix);
    h.run(
        &lead(),
        Command::Approve {
            role: Role::EngineeringLead,
        },
    );
    h.run(&qa(), Command::Approve { role: Role::QaLead });
    h.run(&oncall(), deploy(Environment::Production));
    h.run(
        &admin_system(),
        Command::FailDeployment {
            reason: "smoke_tests_failed".into(),
        },
    );
    h.run(&lead(), Command::CutReleaseCandidate);
    h.run(&oncall(), deploy(Environment::Staging));
    h.run(&oncall(), Command::CompleteDeployment);
    let release = h.release();
    assert!(release.approvals.is_empty());
    assert!(
        release
            .gates
            .iter()
            .all(|g| g.gate_phase != GatePhase::Hotfix)
    );
    assert!(!release.checklist.quality_gates_phase2_passed);
    let refusal = h.refused(&oncall(), deploy(Environment::Production));
    assert!(rules(&refusal).contains(&Rule::QualityGate));
    assert_eq!(Release::replay(&h.events).as_ref(), h.release.as_ref());
}

fn vote(h: &mut Harness, actor: &Actor, role: Role, vote: GoNoGo) -> Result<Vec<Event>, Refusal> {
    h.try_run(
        actor,
        Command::GoNoGo {
            role,
            vote,
            notes: None,
        },
    )
}

#[test]
fn go_no_go_participants_follow_the_required_roles_of_the_approval_matrix() {
    let mut h = Harness::new();
    h.walk_to_staging_validated(ReleaseType::Patch);
    h.run(
        &lead(),
        Command::Approve {
            role: Role::EngineeringLead,
        },
    );
    h.run(&qa(), Command::Approve { role: Role::QaLead });
    vote(&mut h, &lead(), Role::EngineeringLead, GoNoGo::Go).unwrap();
    vote(&mut h, &qa(), Role::QaLead, GoNoGo::Go).unwrap();
    // The product owner is optional for a patch: "go" needs only the required roles.
    assert_eq!(h.release().checklist.go_no_go_decision, GoNoGo::Go);
    // An optional participant may vote, and their "no-go" counts.
    vote(&mut h, &po(), Role::ProductOwner, GoNoGo::NoGo).unwrap();
    assert_eq!(h.release().checklist.go_no_go_decision, GoNoGo::NoGo);
    // Roles outside the matrix do not vote.
    let sysadmin = Actor::user("sam", [Role::SystemAdmin]);
    let refusal = vote(&mut h, &sysadmin, Role::SystemAdmin, GoNoGo::Go).unwrap_err();
    assert_eq!(rules(&refusal), [Rule::Permission]);
    assert!(
        refusal.reasons[0]
            .satisfy
            .contains("engineering_lead, qa_lead, product_owner")
    );
}

#[test]
fn go_no_go_go_checks_production_health_no_active_incidents() {
    let mut h = Harness::new();
    h.walk_to_staging_validated(ReleaseType::Standard);
    h.approve_all();
    h.world.production_sev1_bugs = vec![Bug {
        bug_id: "MLC-9".into(),
        severity: Severity::SEV1,
        title: "scores not saved".into(),
        workaround: None,
        open: true,
    }];
    let refusal = h.refused(
        &lead(),
        Command::GoNoGo {
            role: Role::EngineeringLead,
            vote: GoNoGo::Go,
            notes: None,
        },
    );
    assert_eq!(rules(&refusal), [Rule::ProductionHealth]);
    assert!(refusal.reasons[0].message.contains("MLC-9"), "{refusal}");
    assert!(refusal.reasons[0].message.contains("1.3.0"), "{refusal}");
    // A "no-go" is always possible.
    vote(&mut h, &qa(), Role::QaLead, GoNoGo::NoGo).unwrap();
    h.world.production_sev1_bugs.clear();
    let raised_at = at("2026-12-10T20:30:00Z");
    h.world.production_health_alerts = vec![RaisedAlert {
        alert: AlertKind::RollbackRequiresDiscussion,
        detail: "error rate 7% > 5%".into(),
        raised_at,
    }];
    let refusal = h.at("2026-12-10T21:00:00Z").refused(
        &lead(),
        Command::GoNoGo {
            role: Role::EngineeringLead,
            vote: GoNoGo::Go,
            notes: None,
        },
    );
    assert_eq!(rules(&refusal), [Rule::ProductionHealth]);
    assert!(
        refusal.reasons[0]
            .message
            .contains("rollback_requires_discussion")
    );
    // 45 minutes (the policy's default) without the alert raised again: resolved.
    h.at("2026-12-10T21:16:00Z").vote_go();
    assert_eq!(h.release().checklist.go_no_go_decision, GoNoGo::Go);
}

fn pending(version: &str, planned: &str) -> PendingRelease {
    PendingRelease {
        version: v(version),
        planned_date: at(planned),
        status: ReleaseStatus::Planned,
    }
}

fn plan_cmd(release_type: ReleaseType, version: Option<&str>, date: Option<&str>) -> PlanRelease {
    PlanRelease {
        release_id: Uuid::from_u128(1),
        checklist_id: Uuid::from_u128(2),
        release_type,
        version: version.map(v),
        planned_date: date.map(at),
        title: None,
        from_version: None,
        trigger: None,
        severity: None,
    }
}

#[test]
fn version_numbering_counts_from_production_and_what_ships_before() {
    let mut h = Harness::new();
    h.world.production_version = Some(v("1.0.1"));
    // A major 2.0.0 planned for Thursday 2027-01-14.
    h.world.pending_releases = vec![pending("2.0.0", "2027-01-14T22:00:00Z")];
    // A patch on Tuesday 2026-12-01 ships before it: it counts from 1.0.1, not from 2.0.0.
    let events = plan(
        &plan_cmd(ReleaseType::Patch, None, Some("2026-12-01T22:00:00Z")),
        &h.ctx(&lead()),
    )
    .unwrap();
    let Event::ReleasePlanned { version, .. } = &events[0] else {
        panic!("{events:?}");
    };
    assert_eq!(version, &v("1.0.2"));
    // A standard release after the major counts from it.
    let events = plan(
        &plan_cmd(ReleaseType::Standard, None, Some("2027-01-28T22:00:00Z")),
        &h.ctx(&lead()),
    )
    .unwrap();
    let Event::ReleasePlanned { version, .. } = &events[0] else {
        panic!("{events:?}");
    };
    assert_eq!(version, &v("2.1.0"));
}

#[test]
fn version_order_refuses_planning_a_version_before_a_lower_one_still_planned() {
    let mut h = Harness::new();
    h.world.production_version = Some(v("1.0.1"));
    h.world.pending_releases = vec![pending("1.0.2", "2026-12-15T22:00:00Z")];
    // 2.0.1 on Tuesday 2026-12-01 would go out before 1.0.2 on 2026-12-15.
    let refusal = plan(
        &plan_cmd(
            ReleaseType::Patch,
            Some("2.0.1"),
            Some("2026-12-01T22:00:00Z"),
        ),
        &h.ctx(&lead()),
    )
    .unwrap_err();
    assert_eq!(rules(&refusal), [Rule::VersionOrder]);
    let message = &refusal.reasons[0].message;
    assert!(
        message.contains("2.0.1") && message.contains("1.0.2"),
        "{message}"
    );
    // 1.0.5 after a higher version planned earlier is refused the same way.
    h.world.pending_releases = vec![pending("1.1.0", "2026-12-01T22:00:00Z")];
    let refusal = plan(
        &plan_cmd(
            ReleaseType::Patch,
            Some("1.0.5"),
            Some("2026-12-15T22:00:00Z"),
        ),
        &h.ctx(&lead()),
    )
    .unwrap_err();
    assert_eq!(rules(&refusal), [Rule::VersionOrder]);
    assert!(refusal.reasons[0].message.contains("1.1.0"));
    // A taken version is refused.
    let refusal = plan(
        &plan_cmd(ReleaseType::Standard, Some("1.1.0"), None),
        &h.ctx(&lead()),
    )
    .unwrap_err();
    assert_eq!(rules(&refusal), [Rule::VersionOrder]);
}

#[test]
fn version_order_refuses_deploying_before_a_lower_version_still_planned() {
    let mut h = Harness::new();
    h.walk_to_staging_validated(ReleaseType::Standard);
    h.approve_all();
    h.vote_go();
    h.world.pending_releases = vec![pending("1.3.1", "2026-12-15T22:00:00Z")];
    let refusal = h
        .at("2026-12-10T22:00:00Z")
        .refused(&lead(), deploy(Environment::Production));
    assert_eq!(rules(&refusal), [Rule::VersionOrder]);
    let message = &refusal.reasons[0].message;
    assert!(
        message.contains("1.4.0") && message.contains("1.3.1"),
        "{message}"
    );
    // Nor below the version live in production.
    h.world.pending_releases.clear();
    h.world.production_version = Some(v("1.4.1"));
    let refusal = h.refused(&lead(), deploy(Environment::Production));
    assert_eq!(rules(&refusal), [Rule::VersionOrder]);
    h.world.production_version = Some(v("1.3.0"));
    h.run(&lead(), deploy(Environment::Production));
}

#[test]
fn deployment_windows_the_whole_deployment_must_fit_the_window() {
    let mut h = Harness::new();
    h.walk_to_staging_validated(ReleaseType::Standard);
    h.approve_all();
    h.vote_go();
    // Thursday 2026-12-10 15:59 PST: the start is in the window, the expected end is not.
    let refusal = h
        .at("2026-12-10T23:59:00Z")
        .refused(&lead(), deploy(Environment::Production));
    assert_eq!(rules(&refusal), [Rule::DeploymentWindow]);
    let message = &refusal.reasons[0].message;
    assert!(message.contains("end at 16:44 PST"), "{message}");
    assert!(
        refusal.reasons[0].satisfy.contains("2026-12-17 14:00"),
        "{refusal}"
    );
    // 15:15 PST still ends at 16:00.
    h.at("2026-12-10T23:15:00Z")
        .run(&lead(), deploy(Environment::Production));
}
