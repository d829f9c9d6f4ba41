//! The spec's rollback decision criteria: immediate rollback, rollback requiring discussion, or
//! monitoring without rollback. One classifier serves both the described situation
//! (`greenlight rollback classify`) and what the health monitor measures (`classify_health`
//! turns the triggers' verdicts and the criteria readings into a `Situation`), so the criteria
//! are written once.

use serde::{Deserialize, Serialize};

use crate::health::{Assessment, CriteriaReadings, HealthPolicy, Metric, TriggerState};
use crate::policy::RollbackCriteria;

/// A described production situation after a release.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Situation {
    /// Student scores are not persisting.
    pub score_recording_failure: bool,
    /// Users cannot log in.
    pub auth_failure: bool,
    /// Money charged but subscription not activated.
    pub payment_failure: bool,
    /// Data corruption or loss detected.
    pub data_loss: bool,
    /// A security vulnerability is being exploited.
    pub exploited_vulnerability: bool,
    /// Critical endpoints of the policy failing beyond their threshold, other than login and
    /// score recording (which are `auth_failure` and `score_recording_failure`).
    pub critical_endpoint_failures: Vec<String>,
    /// A significant feature is broken while core functionality works.
    pub significant_feature_broken: bool,
    /// An external integration fails but a workaround exists.
    pub integration_failure_with_workaround: bool,
    /// Only minor UI bugs with no functional impact.
    pub minor_ui_bug: bool,
    /// A non-critical feature (leaderboards, badges) is broken, core intact.
    pub non_critical_feature_broken: bool,
    /// Error rate, percent of requests.
    pub error_rate_percent: Option<f64>,
    /// p95 response time divided by the baseline p95.
    pub latency_ratio: Option<f64>,
    /// Share of users affected, percent.
    pub affected_users_percent: Option<f64>,
}

/// The spec's three outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RollbackDecision {
    /// Roll back now, no discussion required.
    ImmediateRollback,
    /// Hold a 15-minute emergency meeting.
    Discuss,
    /// Monitor without rolling back.
    Monitor,
}

impl RollbackDecision {
    /// `immediate_rollback`, `discuss`, `monitor`.
    pub fn as_str(self) -> &'static str {
        match self {
            RollbackDecision::ImmediateRollback => "immediate_rollback",
            RollbackDecision::Discuss => "discuss",
            RollbackDecision::Monitor => "monitor",
        }
    }
}

/// The decision and every criterion that led to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Classification {
    /// The outcome.
    pub decision: RollbackDecision,
    /// The criteria of that outcome that the situation meets.
    pub reasons: Vec<String>,
}

/// Classifies a situation per the spec's rollback decision criteria. The most severe outcome
/// whose criteria hold wins; with none, it is monitoring.
pub fn classify(situation: &Situation, criteria: &RollbackCriteria) -> Classification {
    let immediate = immediate_reasons(situation);
    if !immediate.is_empty() {
        return Classification {
            decision: RollbackDecision::ImmediateRollback,
            reasons: immediate,
        };
    }
    let discuss = discuss_reasons(situation, criteria);
    if !discuss.is_empty() {
        return Classification {
            decision: RollbackDecision::Discuss,
            reasons: discuss,
        };
    }
    Classification {
        decision: RollbackDecision::Monitor,
        reasons: monitor_reasons(situation, criteria),
    }
}

/// The spec's decision criteria applied to what the health monitor measured: a holding
/// critical-endpoint or score-recording trigger is an immediate rollback (login failing is the
/// spec's authentication failure, score recording its score recording failures); the error rate
/// and p95 against the previous release's over the same window are the "discussion" criteria.
/// Any other automatic trigger that holds (p95 above its limit with no baseline, pool
/// exhaustion) needs at least the discussion: the monitor never answers "monitor" while a
/// trigger of the policy holds.
pub fn classify_health(
    assessment: &Assessment,
    readings: &CriteriaReadings,
    health: &HealthPolicy,
    criteria: &RollbackCriteria,
) -> Classification {
    let situation = situation_from_health(assessment, readings, health);
    let classified = classify(&situation, criteria);
    if classified.decision != RollbackDecision::Monitor {
        return classified;
    }
    let holding: Vec<String> = assessment
        .in_state(TriggerState::Holds)
        .map(|v| format!("automatic rollback trigger holds: {}", v.detail))
        .collect();
    if holding.is_empty() {
        return classified;
    }
    Classification {
        decision: RollbackDecision::Discuss,
        reasons: holding,
    }
}

/// The situation the monitor's measurements describe, in the classifier's terms.
pub fn situation_from_health(
    assessment: &Assessment,
    readings: &CriteriaReadings,
    health: &HealthPolicy,
) -> Situation {
    let mut situation = Situation {
        error_rate_percent: readings.error_rate_percent,
        latency_ratio: match (readings.p95_ms, readings.baseline_p95_ms) {
            (Some(now), Some(before)) if before > 0.0 => Some(now / before),
            _ => None,
        },
        ..Situation::default()
    };
    for verdict in assessment.in_state(TriggerState::Holds) {
        match &verdict.trigger.metric {
            Metric::ScoreRecordingSuccess => situation.score_recording_failure = true,
            Metric::EndpointFailureRate(e) if *e == health.score_recording_endpoint => {
                situation.score_recording_failure = true;
            }
            Metric::EndpointFailureRate(e) if *e == health.login_endpoint => {
                situation.auth_failure = true;
            }
            Metric::EndpointFailureRate(e) => situation.critical_endpoint_failures.push(e.clone()),
            _ => {}
        }
    }
    situation
}

fn immediate_reasons(s: &Situation) -> Vec<String> {
    let checks = [
        (
            s.score_recording_failure,
            "score recording failures (student scores not persisting)",
        ),
        (
            s.auth_failure,
            "authentication system failure (users cannot log in)",
        ),
        (
            s.payment_failure,
            "payment processing failure (charged but not activated)",
        ),
        (s.data_loss, "data corruption or loss detected"),
        (
            s.exploited_vulnerability,
            "security vulnerability actively exploited",
        ),
    ];
    checks
        .into_iter()
        .filter(|(holds, _)| *holds)
        .map(|(_, why)| why.to_string())
        .chain(
            s.critical_endpoint_failures
                .iter()
                .map(|e| format!("critical endpoint `{e}` failing")),
        )
        .collect()
}

fn discuss_reasons(s: &Situation, c: &RollbackCriteria) -> Vec<String> {
    let mut reasons = Vec::new();
    if s.significant_feature_broken {
        reasons.push("significant feature broken, core functionality working".to_string());
    }
    if let Some(ratio) = s.latency_ratio.filter(|r| *r > c.discuss_latency_ratio) {
        reasons.push(format!(
            "performance degradation: p95 is {ratio:.1}x baseline (> {}x)",
            c.discuss_latency_ratio
        ));
    }
    if let Some(rate) = s
        .error_rate_percent
        .filter(|r| *r > c.discuss_error_rate_percent)
    {
        reasons.push(format!(
            "high error rate: {rate}% of requests (> {}%), no data loss",
            c.discuss_error_rate_percent
        ));
    }
    if s.integration_failure_with_workaround {
        reasons.push("external integration failure with a workaround available".to_string());
    }
    reasons
}

fn monitor_reasons(s: &Situation, c: &RollbackCriteria) -> Vec<String> {
    let mut reasons = Vec::new();
    if s.minor_ui_bug {
        reasons.push("minor UI bugs with no functional impact".to_string());
    }
    if let Some(share) = s
        .affected_users_percent
        .filter(|p| *p < c.monitor_affected_users_below_percent)
    {
        reasons.push(format!(
            "isolated issue affecting {share}% of users (< {}%)",
            c.monitor_affected_users_below_percent
        ));
    }
    if s.non_critical_feature_broken {
        reasons.push("non-critical feature broken, core functionality intact".to_string());
    }
    if reasons.is_empty() {
        reasons.push("no rollback criterion is met".to_string());
    }
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;

    fn criteria() -> RollbackCriteria {
        RollbackCriteria::default()
    }

    fn decide(s: Situation) -> RollbackDecision {
        classify(&s, &criteria()).decision
    }

    #[test]
    fn score_recording_failure_means_immediate_rollback() {
        let s = Situation {
            score_recording_failure: true,
            minor_ui_bug: true,
            ..Situation::default()
        };
        assert_eq!(decide(s), RollbackDecision::ImmediateRollback);
    }

    #[test]
    fn auth_payment_data_loss_and_exploits_mean_immediate_rollback() {
        let cases = [
            Situation {
                auth_failure: true,
                ..Situation::default()
            },
            Situation {
                payment_failure: true,
                ..Situation::default()
            },
            Situation {
                data_loss: true,
                ..Situation::default()
            },
            Situation {
                exploited_vulnerability: true,
                ..Situation::default()
            },
        ];
        for case in cases {
            assert_eq!(decide(case), RollbackDecision::ImmediateRollback);
        }
    }

    #[test]
    fn latency_over_twice_baseline_needs_discussion() {
        let slow = Situation {
            latency_ratio: Some(2.5),
            ..Situation::default()
        };
        assert_eq!(decide(slow), RollbackDecision::Discuss);
        let borderline = Situation {
            latency_ratio: Some(2.0),
            ..Situation::default()
        };
        assert_eq!(decide(borderline), RollbackDecision::Monitor);
    }

    #[test]
    fn error_rate_over_five_percent_needs_discussion() {
        let high = Situation {
            error_rate_percent: Some(6.0),
            ..Situation::default()
        };
        assert_eq!(decide(high), RollbackDecision::Discuss);
        let low = Situation {
            error_rate_percent: Some(4.9),
            ..Situation::default()
        };
        assert_eq!(decide(low), RollbackDecision::Monitor);
    }

    #[test]
    fn broken_feature_or_integration_with_workaround_needs_discussion() {
        let feature = Situation {
            significant_feature_broken: true,
            ..Situation::default()
        };
        assert_eq!(decide(feature), RollbackDecision::Discuss);
        let integration = Situation {
            integration_failure_with_workaround: true,
            ..Situation::default()
        };
        assert_eq!(decide(integration), RollbackDecision::Discuss);
    }

    mod from_health {
        use super::*;
        use crate::health::{Observations, Point, assess, triggers};
        use crate::policy::AutomaticRollback;
        use jiff::Timestamp;

        fn at(second: i64) -> Timestamp {
            Timestamp::from_second(1_800_000_000 + second).unwrap_or(Timestamp::UNIX_EPOCH)
        }

        /// The default triggers against a failure rate of `login` (percent), everything
        /// else healthy, sampled at 0 and 10 s.
        fn assessment(login_failure_percent: f64) -> Assessment {
            let all = triggers(&AutomaticRollback::default());
            let mut observations = Observations::new();
            for trigger in &all {
                let value = match &trigger.metric {
                    Metric::EndpointFailureRate(e) if e == "login" => login_failure_percent,
                    Metric::ScoreRecordingSuccess => 100.0,
                    _ => 0.0,
                };
                let points = [0, 10]
                    .into_iter()
                    .map(|t| Point { at: at(t), value })
                    .collect();
                observations.insert(trigger.metric.clone(), points);
            }
            assess(&all, &observations, at(0), at(10), 120)
        }

        fn class(assessment: &Assessment, readings: &CriteriaReadings) -> Classification {
            classify_health(
                assessment,
                readings,
                &HealthPolicy::default(),
                &RollbackCriteria::default(),
            )
        }

        #[test]
        fn a_failing_login_endpoint_is_an_immediate_rollback_not_a_discussion() {
            let c = class(&assessment(3.0), &CriteriaReadings::default());
            assert_eq!(c.decision, RollbackDecision::ImmediateRollback);
            assert_eq!(
                c.reasons,
                ["authentication system failure (users cannot log in)"]
            );
        }

        #[test]
        fn error_rate_above_five_percent_over_the_window_needs_discussion() {
            let readings = CriteriaReadings {
                error_rate_percent: Some(6.5),
                ..CriteriaReadings::default()
            };
            let c = class(&assessment(0.0), &readings);
            assert_eq!(c.decision, RollbackDecision::Discuss);
            assert!(c.reasons[0].contains("6.5%"), "{:?}", c.reasons);
        }

        #[test]
        fn p95_above_twice_the_previous_releases_needs_discussion() {
            let slow = CriteriaReadings {
                p95_ms: Some(900.0),
                baseline_p95_ms: Some(400.0),
                ..CriteriaReadings::default()
            };
            let c = class(&assessment(0.0), &slow);
            assert_eq!(c.decision, RollbackDecision::Discuss);
            assert!(c.reasons[0].contains("2.2x baseline"), "{:?}", c.reasons);
            let twice = CriteriaReadings {
                p95_ms: Some(800.0),
                baseline_p95_ms: Some(400.0),
                ..CriteriaReadings::default()
            };
            assert_eq!(
                class(&assessment(0.0), &twice).decision,
                RollbackDecision::Monitor
            );
            let no_baseline = CriteriaReadings {
                p95_ms: Some(5000.0),
                ..CriteriaReadings::default()
            };
            assert_eq!(
                class(&assessment(0.0), &no_baseline).decision,
                RollbackDecision::Monitor,
                "without the previous release's p95 there is no ratio"
            );
        }

        #[test]
        fn a_healthy_release_is_monitored() {
            let readings = CriteriaReadings {
                error_rate_percent: Some(0.2),
                p95_ms: Some(300.0),
                baseline_p95_ms: Some(280.0),
            };
            assert_eq!(
                class(&assessment(0.0), &readings).decision,
                RollbackDecision::Monitor
            );
        }
    }

    #[test]
    fn minor_and_isolated_issues_are_monitored() {
        let c = classify(
            &Situation {
                minor_ui_bug: true,
                affected_users_percent: Some(0.4),
                non_critical_feature_broken: true,
                ..Situation::default()
            },
            &criteria(),
        );
        assert_eq!(c.decision, RollbackDecision::Monitor);
        assert_eq!(c.reasons.len(), 3);
    }
}
