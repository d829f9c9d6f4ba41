//! The spec's **Quality Gates** of Phases 1 to 3 and its **Quality Gate Rules** ("Blocking
//! Issues"): recording gate results and evidence, overrides with a justification, bugs and the
//! severities that block a deployment.

use crate::event::Event;
use crate::gates::{GatePhase, phase_status};
use crate::process::context::{Context, require_status, require_text};
use crate::refusal::{Reason, Refusal, Rule};
use crate::release::ReleaseType;
use crate::roles::Action;
use crate::state::{Release, Severity};

/// The gate spec of `phase` named `gate`, refusing unknown phases and names.
pub(crate) fn known_gate(
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

pub(crate) fn attach_evidence(
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

pub(crate) fn record_gate(
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
pub(crate) fn with_phase_completion(
    release: &Release,
    mut events: Vec<Event>,
    ctx: &Context,
) -> Vec<Event> {
    let mut after = release.clone();
    for event in &events {
        after.apply(event);
    }
    let mut completed = Vec::new();
    for phase in GatePhase::for_type(release.release_type()) {
        let before = phase_status(&ctx.policy.gates, *phase, &release.gates).passed();
        let now = phase_status(&ctx.policy.gates, *phase, &after.gates).passed();
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

pub(crate) fn override_gate(
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

pub(crate) fn report_bug(
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

pub(crate) fn resolve_bug(
    release: &Release,
    bug_id: &str,
    ctx: &Context,
) -> Result<Vec<Event>, Refusal> {
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

pub(crate) fn check_no_blocking_bugs(release: &Release, ctx: &Context) -> Result<(), Reason> {
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

/// The phase whose gates must pass before production: Phase 2, or the hotfix's reduced set.
pub(crate) fn pre_production_phases(release: &Release) -> &'static [GatePhase] {
    match release.release_type() {
        ReleaseType::Hotfix => &[GatePhase::Hotfix],
        _ => &[GatePhase::Planning, GatePhase::StagingValidation],
    }
}

/// Reasons the gates of `phases` are not all passed.
pub(crate) fn gate_reasons(release: &Release, phases: &[GatePhase], ctx: &Context) -> Vec<Reason> {
    phases
        .iter()
        .map(|phase| phase_status(&ctx.policy.gates, *phase, &release.gates))
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

/// The gate a successful deployment passes by itself, if the policy has it.
pub(crate) fn auto_gate(
    release: &Release,
    phase: GatePhase,
    gate: &str,
    ctx: &Context,
) -> Option<Event> {
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
