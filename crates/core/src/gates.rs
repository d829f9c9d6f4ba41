//! Quality gates: phases, results, overrides, and whether a phase has passed.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

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
pub fn phase_status(gates: &GatePolicy, phase: GatePhase, results: &[GateResult]) -> PhaseStatus {
    let mut status = PhaseStatus {
        phase,
        missing: Vec::new(),
        failed: Vec::new(),
    };
    for spec in gates.of(phase) {
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

/// One quality gate: a name and what it checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateSpec {
    /// snake_case name, as in the telemetry's `gate_name`.
    pub name: String,
    /// The spec's wording.
    pub description: String,
}

fn gate(name: &str, description: &str) -> GateSpec {
    GateSpec {
        name: name.into(),
        description: description.into(),
    }
}

/// Quality gates per phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatePolicy {
    /// Phase 1, required before the staging deployment.
    pub planning: Vec<GateSpec>,
    /// Phase 2, required before the production deployment.
    pub staging_validation: Vec<GateSpec>,
    /// Phase 3, decided after the production deployment.
    pub production_validation: Vec<GateSpec>,
    /// The hotfix's reduced set, required before its production deployment.
    pub hotfix: Vec<GateSpec>,
}

impl Default for GatePolicy {
    fn default() -> Self {
        GatePolicy {
            planning: vec![
                gate(
                    "features_merged_and_reviewed",
                    "All features merged and code reviewed",
                ),
                gate("unit_tests", "All unit tests passing (100%)"),
                gate("integration_tests", "All integration tests passing"),
                gate("code_coverage", "Code coverage meets minimums"),
                gate(
                    "no_open_sev1_sev2_bugs",
                    "No open Severity 1 or Severity 2 bugs",
                ),
                gate(
                    "security_scan",
                    "Security scan completed (no critical vulnerabilities)",
                ),
                gate(
                    "dependency_vulnerabilities",
                    "Dependency vulnerabilities addressed",
                ),
            ],
            staging_validation: vec![
                gate("staging_deployment", "Staging deployment successful"),
                gate("smoke_tests", "All automated smoke tests passing"),
                gate("manual_qa_validation", "Manual QA validation complete"),
                gate("performance_benchmarks", "Performance benchmarks met"),
                gate("browser_compatibility", "Browser compatibility validated"),
                gate(
                    "accessibility_compliance",
                    "Accessibility compliance verified",
                ),
                gate(
                    "database_migration",
                    "Database migration tested successfully",
                ),
                gate(
                    "rollback_procedure",
                    "Rollback procedure validated on staging",
                ),
            ],
            production_validation: vec![
                gate("production_deployment", "Production deployment successful"),
                gate("smoke_tests", "All smoke tests passing"),
                gate("error_rate", "Error rates within normal range (< 0.5%)"),
                gate(
                    "response_times",
                    "Response times within SLA (p95 < 500ms for API, < 2s for pages)",
                ),
                gate("no_critical_errors", "No critical errors in logs"),
                gate("database_performance", "Database performance stable"),
                gate("external_integrations", "External integrations functioning"),
            ],
            hotfix: vec![
                gate("fix_verified_locally", "Fix verified on local environment"),
                gate("unit_tests", "Unit tests passing"),
                gate(
                    "integration_tests",
                    "Integration tests passing for affected module",
                ),
                gate("staging_validation", "Manual validation on staging"),
                gate("code_review", "Code review complete (1 reviewer minimum)"),
                gate("rollback_plan", "Rollback plan identified"),
            ],
        }
    }
}

impl GatePolicy {
    /// The gates of one phase.
    pub fn of(&self, phase: GatePhase) -> &[GateSpec] {
        match phase {
            GatePhase::Planning => &self.planning,
            GatePhase::StagingValidation => &self.staging_validation,
            GatePhase::ProductionValidation => &self.production_validation,
            GatePhase::Hotfix => &self.hotfix,
        }
    }
}

/// Coverage minimums.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CoveragePolicy {
    /// Line coverage at least this, percent.
    pub min_line_percent: f64,
    /// Branch coverage at least this, percent (when the report has branches).
    pub min_branch_percent: f64,
}

impl Default for CoveragePolicy {
    fn default() -> Self {
        CoveragePolicy {
            min_line_percent: 80.0,
            min_branch_percent: 70.0,
        }
    }
}

/// Which open bugs block a deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SeverityPolicy {
    /// Severity 1 bugs block until resolved.
    pub sev1_blocks: bool,
    /// Severity 2 bugs block unless a workaround exists.
    pub sev2_blocks_without_workaround: bool,
}

impl Default for SeverityPolicy {
    fn default() -> Self {
        SeverityPolicy {
            sev1_blocks: true,
            sev2_blocks_without_workaround: true,
        }
    }
}
