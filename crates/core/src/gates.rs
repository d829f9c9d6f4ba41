//! Quality gates: phases, results, overrides, and whether a phase has passed.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::policy::Policy;
use crate::release::{ReleaseStatus, ReleaseType, UnknownName};

/// A phase of quality gates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum GatePhase {
    /// Phase 1: planning and code freeze; required before staging.
    Planning,
    /// Phase 2: staging validation; required before production.
    StagingValidation,
    /// Phase 3: production validation; decided after the deployment.
    ProductionValidation,
    /// The hotfix's reduced set; required before production.
    Hotfix,
}

impl GatePhase {
    /// Every phase.
    pub const ALL: [GatePhase; 4] = [
        GatePhase::Planning,
        GatePhase::StagingValidation,
        GatePhase::ProductionValidation,
        GatePhase::Hotfix,
    ];

    /// The telemetry's `gate_phase` name.
    pub fn as_str(self) -> &'static str {
        match self {
            GatePhase::Planning => "planning",
            GatePhase::StagingValidation => "staging_validation",
            GatePhase::ProductionValidation => "production_validation",
            GatePhase::Hotfix => "hotfix",
        }
    }

    /// The phases that apply to a release type, in order.
    pub fn for_type(release_type: ReleaseType) -> &'static [GatePhase] {
        match release_type {
            ReleaseType::Hotfix => &[GatePhase::Hotfix, GatePhase::ProductionValidation],
            _ => &[
                GatePhase::Planning,
                GatePhase::StagingValidation,
                GatePhase::ProductionValidation,
            ],
        }
    }

    /// The statuses in which results of this phase may be recorded.
    pub fn recordable_in(self) -> &'static [ReleaseStatus] {
        match self {
            GatePhase::Planning | GatePhase::Hotfix => {
                &[ReleaseStatus::Planned, ReleaseStatus::Staging]
            }
            GatePhase::StagingValidation => &[ReleaseStatus::Staging],
            GatePhase::ProductionValidation => &[ReleaseStatus::Deployed],
        }
    }
}

impl fmt::Display for GatePhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for GatePhase {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace('-', "_");
        let alias = match wanted.as_str() {
            "1" | "phase1" | "phase_1" => "planning",
            "2" | "phase2" | "phase_2" | "staging" => "staging_validation",
            "3" | "phase3" | "phase_3" | "production" => "production_validation",
            other => other,
        };
        GatePhase::ALL
            .into_iter()
            .find(|p| p.as_str() == alias)
            .ok_or_else(|| UnknownName {
                given: s.to_string(),
                what: "gate phase",
                expected: "planning, staging_validation, production_validation, hotfix".into(),
            })
    }
}

/// The outcome of one gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum GateOutcome {
    /// Passed on evidence or sign-off.
    Passed,
    /// Failed.
    Failed,
    /// Not passed, but an engineering lead overrode it with a justification.
    Overridden,
}

impl GateOutcome {
    /// Whether the gate no longer blocks.
    pub fn satisfied(self) -> bool {
        matches!(self, GateOutcome::Passed | GateOutcome::Overridden)
    }
}

/// The latest result of one gate of a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GateResult {
    /// The phase.
    pub gate_phase: GatePhase,
    /// The gate's name.
    pub gate_name: String,
    /// Passed, failed or overridden.
    pub outcome: GateOutcome,
    /// Why it failed, or the override's justification.
    pub reason: Option<String>,
    /// Who recorded it.
    pub validated_by: String,
    /// When.
    pub at: Timestamp,
}

/// Where a phase's gates stand for a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhaseStatus {
    /// The phase.
    pub phase: GatePhase,
    /// Gates with no result yet.
    pub missing: Vec<String>,
    /// Gates whose latest result failed.
    pub failed: Vec<String>,
}

impl PhaseStatus {
    /// Every gate of the phase is passed or overridden.
    pub fn passed(&self) -> bool {
        self.missing.is_empty() && self.failed.is_empty()
    }
}

/// Where `phase` stands given the latest results.
pub fn phase_status(policy: &Policy, phase: GatePhase, results: &[GateResult]) -> PhaseStatus {
    let mut status = PhaseStatus {
        phase,
        missing: Vec::new(),
        failed: Vec::new(),
    };
    for spec in policy.gates.of(phase) {
        let latest = results
            .iter()
            .rev()
            .find(|r| r.gate_phase == phase && r.gate_name == spec.name);
        match latest {
            None => status.missing.push(spec.name.clone()),
            Some(r) if !r.outcome.satisfied() => status.failed.push(spec.name.clone()),
            Some(_) => {}
        }
    }
    status
}
