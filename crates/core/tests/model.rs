//! Model-based tests of the release process (issue 20): proptest-state-machine generates
//! sequences of every `Command`, `plan` and flag operation, by people of every role (and none),
//! at times across weeks with DST changes, holidays and deployment windows, under the default
//! policy and a few varied ones, with several releases in flight. After every step an oracle
//! (`model/oracle.rs`) checks the invariants against the history of accepted events, computed
//! without the functions the core decides with. A failure shrinks to a minimal sequence and
//! prints it with what each step did.
//!
//! `PROPTEST_CASES` sets the number of sequences (default [`DEFAULT_CASES`], about a minute in
//! a debug build). See TESTING.md.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "model/cast.rs"]
mod cast;
#[path = "model/oracle.rs"]
mod oracle;
#[path = "model/policies.rs"]
mod policies;
#[path = "model/sim.rs"]
mod sim;
#[path = "model/steps.rs"]
mod steps;

use jiff::Timestamp;
use proptest::prelude::*;
use proptest::test_runner::Config;
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest, prop_state_machine};
use semver::Version;

use oracle::Oracle;
use sim::Sim;
use steps::Step;

/// Sequences run by `cargo test` when `PROPTEST_CASES` is not set.
const DEFAULT_CASES: u32 = 100;

/// The generator's view: the simulated world, advanced through the core.
struct Process;

impl ReferenceStateMachine for Process {
    type State = Sim;
    type Transition = Step;

    fn init_state() -> BoxedStrategy<Sim> {
        let baseline = prop_oneof![4 => Just(Some(Version::new(1, 0, 0))), 1 => Just(None)];
        (
            0..policies::VARIANTS.len(),
            proptest::sample::select(&policies::STARTS[..]),
            baseline,
        )
            .prop_map(|(policy, start, baseline)| {
                let start: Timestamp = start.parse().expect("a start time");
                Sim::new(policy, start, baseline)
            })
            .boxed()
    }

    fn transitions(state: &Sim) -> BoxedStrategy<Step> {
        steps::next(state)
    }

    fn apply(mut state: Sim, step: &Step) -> Sim {
        state.step(step);
        state
    }
}

/// The test's side: the oracle, fed the world after each step.
struct Invariants;

impl StateMachineTest for Invariants {
    type SystemUnderTest = Oracle;
    type Reference = Process;

    fn init_test(world: &Sim) -> Oracle {
        Oracle::new(world)
    }

    fn apply(mut oracle: Oracle, world: &Sim, _step: Step) -> Oracle {
        oracle.check(world);
        oracle
    }
}

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    Config {
        cases,
        max_shrink_iters: 100_000,
        failure_persistence: None,
        ..Config::default()
    }
}

prop_state_machine! {
    #![proptest_config(config())]

    /// The release process holds its invariants over any sequence of steps.
    fn the_rules_hold(sequential 1..150 => Invariants);
}

/// Runs the sequences, then says how often they reached production, rolled back and so on.
#[test]
fn the_release_process_holds_its_invariants() {
    the_rules_hold();
    eprintln!("model coverage: {}", oracle::coverage::report());
}
