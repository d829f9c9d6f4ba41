//! Loading the policy: the spec's defaults, overridden by `--config FILE`, plus the blackouts of
//! the iCalendar files that file names.

use std::path::Path;

use greenlight_core::Policy;
use greenlight_core::ics::blackouts_from_ics;

use crate::exit::usage;

/// The effective policy: defaults, or `path` over the defaults.
pub fn load_policy(path: Option<&Path>) -> anyhow::Result<Policy> {
    let Some(path) = path else {
        return Ok(Policy::default());
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| usage(format!("cannot read policy file {}: {e}", path.display())))?;
    let mut policy =
        Policy::from_toml(&text).map_err(|e| usage(format!("{}: {e}", path.display())))?;
    let base = path.parent().unwrap_or(Path::new("."));
    for (i, calendar) in policy.windows.calendars.clone().iter().enumerate() {
        let file = base.join(&calendar.path);
        let at = format!("{}: windows.calendars[{i}]", path.display());
        let text = std::fs::read_to_string(&file)
            .map_err(|e| usage(format!("{at}: cannot read {}: {e}", file.display())))?;
        let import = blackouts_from_ics(&text, policy.tz(), calendar.effect)
            .map_err(|e| usage(format!("{at}: {}: {e}", file.display())))?;
        for skipped in &import.skipped {
            eprintln!("greenlight: {}: skipped {skipped}", file.display());
        }
        policy.calendar_blackouts.extend(import.blackouts);
    }
    Ok(policy)
}
