//! Output for people (tables, short lines) and for scripts (`--json`).

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use jiff::Zoned;
use serde::Serialize;

/// Prints a value as pretty JSON on stdout.
pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// A table with a header, sized to the terminal.
pub fn table<I, S>(header: I) -> Table
where
    I: IntoIterator<Item = S>,
    S: Into<comfy_table::Cell>,
{
    let mut table = Table::new();
    table
        .load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header);
    table
}

/// `Thu 2026-12-03 14:00 PST`.
pub fn local(at: &Zoned) -> String {
    at.strftime("%a %Y-%m-%d %H:%M %Z").to_string()
}

/// `Thu 12-03 14:00`.
pub fn short(at: &Zoned) -> String {
    at.strftime("%a %m-%d %H:%M").to_string()
}
