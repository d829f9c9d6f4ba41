//! The release process of MLC's release-management spec as pure data and functions.
//!
//! **Architecture invariant:** this crate does no IO, has no async and never reads the clock;
//! time, identifiers and facts about other releases are arguments. Everything that decides
//! whether something may happen lives here, so the store, the server and the CLI only carry
//! decisions out.

pub mod calendar;
pub mod comms;
pub mod content;
pub mod decide;
pub mod delivery;
pub mod event;
pub mod flags;
pub mod gates;
pub mod health;
pub mod hotfix;
pub mod ics;
pub mod password;
pub mod policy;
pub mod process;
pub mod refusal;
pub mod release;
pub mod report;
pub mod roles;
pub mod rollback;
pub mod runbook;
pub mod state;
pub mod version;

pub use decide::{Command, Context, PlanRelease, World, decide, plan};
pub use event::Event;
pub use policy::Policy;
pub use refusal::{Reason, Refusal, Rule};
pub use release::{ReleaseRecord, ReleaseStatus, ReleaseType};
pub use roles::{Action, Actor, Role};
pub use state::Release;
