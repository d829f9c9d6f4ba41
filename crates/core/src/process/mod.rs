//! The release process by the spec's own sections: one module per phase of its **Release
//! Workflow**, plus the **Rollback Procedures** and the **Hotfix Process**. Each holds the rules
//! of the commands its section describes; [`crate::decide`] dispatches a command to them.
//!
//! Dependencies run one way, in the process's order: a phase may use an earlier one (deployment
//! reads gates and approvals), never a later one; [`context`] is shared by all.

pub mod approvals;
pub mod context;
pub mod deployment;
pub mod gates;
pub mod hotfix;
pub mod planning;
pub mod post_release;
pub mod rollback;
