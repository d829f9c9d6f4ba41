//! The release process by the spec's own sections: one module per phase of its **Release
//! Workflow**, plus the **Rollback Procedures** and the **Hotfix Process**. Each holds the rules
//! of the commands its section describes; [`decide`](mod@crate::decide) dispatches a command to them.
//!
//! Dependencies run one way: every phase uses [`context`]; approvals read gates; deployment
//! reads planning, gates and approvals and hands on to post-release and the hotfix follow-ups;
//! rollback reads deployment. No phase uses [`decide`](mod@crate::decide), which uses them all.

pub mod approvals;
pub mod context;
pub mod deployment;
pub mod gates;
pub mod hotfix;
pub mod planning;
pub mod post_release;
pub mod rollback;
