//! The spec's **Hotfix Process** ("Hotfix Workflow", "Hotfix Quality Gates"): the base a hotfix
//! starts from, the backport to the development branch and the incident follow-ups.

use crate::event::Event;
use crate::process::context::Context;
use crate::state::{ActionItem, Release, plus_hours};

/// How long after a hotfix's deployment its backport is due.
pub(crate) const BACKPORT_DUE_HOURS: u32 = 4;

pub(crate) fn backport_item(release: &Release, ctx: &Context) -> Event {
    Event::ActionItemsCreated {
        release_id: release.record.release_id,
        items: vec![ActionItem {
            kind: "backport".into(),
            title: match &ctx.world.active_release_branch {
                Some(branch) => format!(
                    "Cherry-pick {} to {branch} so the next release includes the fix",
                    release.branch
                ),
                None => format!(
                    "Cherry-pick {} to the active release branch, if any, so the next release includes the fix",
                    release.branch
                ),
            },
            due_at: plus_hours(ctx.now, BACKPORT_DUE_HOURS),
            done_at: None,
            done_by: None,
            owner: None,
        }],
        timestamp: ctx.now,
    }
}

/// The spec's incident documentation after a hotfix (incident report, runbook update,
/// post-mortem), as action items due some hours after its production deployment; none when the
/// policy lists none.
pub(crate) fn hotfix_follow_ups(release: &Release, ctx: &Context) -> Option<Event> {
    let rules = &ctx.policy.hotfix.follow_ups;
    (!rules.is_empty()).then(|| Event::ActionItemsCreated {
        release_id: release.record.release_id,
        items: crate::hotfix::follow_ups(&ctx.policy.hotfix, ctx.now),
        timestamp: ctx.now,
    })
}
