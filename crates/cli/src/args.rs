//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Greenlight runs MLC's release process: it plans releases, enforces the rules of the release
/// spec (windows, gates, approvals, Go/No-Go), drives deployments and rollbacks, and keeps an
/// audit trail.
#[derive(Debug, Parser)]
#[command(name = "greenlight", version, propagate_version = true)]
pub struct Cli {
    /// Policy file (TOML) overriding the spec's defaults.
    #[arg(long, global = true, env = "GREENLIGHT_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Machine-readable JSON output.
    #[arg(long, global = true)]
    pub json: bool,

    /// What to do; without one, a short tour of where things stand.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Version numbers: the next version or release candidate.
    #[command(subcommand)]
    Version(VersionCommand),
    /// Deployment windows: may a deployment start now, and when next.
    #[command(subcommand)]
    Window(WindowCommand),
    /// The planned releases of a date range with their milestones.
    Calendar(CalendarArgs),
    /// The policy: show the effective one, check a file.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Rollback decisions.
    #[command(subcommand)]
    Rollback(RollbackCommand),
}

/// `greenlight version ...`
#[derive(Debug, Subcommand)]
pub enum VersionCommand {
    /// The next version after FROM for a release type.
    Next(VersionNextArgs),
}

/// `greenlight version next`
#[derive(Debug, Args)]
pub struct VersionNextArgs {
    /// The current version (`1.2.3`, `v1.2.3`, `1.3.0-rc.1`).
    #[arg(long)]
    pub from: String,
    /// standard (minor), patch or hotfix (patch), major (major).
    #[arg(long = "type", default_value = "standard")]
    pub release_type: String,
    /// The next release candidate instead of the final version.
    #[arg(long)]
    pub rc: bool,
}

/// `greenlight window ...`
#[derive(Debug, Subcommand)]
pub enum WindowCommand {
    /// Whether a deployment may start at a time, and why. Exit 0 if it may, 1 if not.
    Check(WindowCheckArgs),
    /// The next time a deployment may start.
    Next(WindowNextArgs),
}

/// `greenlight window check`
#[derive(Debug, Args)]
pub struct WindowCheckArgs {
    /// The time: 2026-12-03T14:30:00-08:00, 2026-12-03T14:30 (policy zone) or now.
    #[arg(long, default_value = "now")]
    pub at: String,
    /// Release type: standard, patch, hotfix, major.
    #[arg(long = "type", default_value = "standard")]
    pub release_type: String,
}

/// `greenlight window next`
#[derive(Debug, Args)]
pub struct WindowNextArgs {
    /// Search from this time (default: now).
    #[arg(long, default_value = "now")]
    pub after: String,
    /// Release type: standard, patch, hotfix, major.
    #[arg(long = "type", default_value = "standard")]
    pub release_type: String,
}

/// `greenlight calendar`
#[derive(Debug, Args)]
pub struct CalendarArgs {
    /// First date (default: today).
    #[arg(long)]
    pub from: Option<String>,
    /// Last date (default: 8 weeks after --from).
    #[arg(long)]
    pub to: Option<String>,
    /// Print an iCalendar file instead of a table.
    #[arg(long)]
    pub ics: bool,
}

/// `greenlight policy ...`
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// The effective policy as TOML (defaults merged with --config).
    Show,
    /// Check a policy file; every problem is listed with its TOML path.
    Check {
        /// The file.
        file: PathBuf,
    },
}

/// `greenlight rollback ...`
#[derive(Debug, Subcommand)]
pub enum RollbackCommand {
    /// Classify a situation: immediate rollback, discuss, or monitor.
    Classify(ClassifyArgs),
}

/// `greenlight rollback classify`
#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// Student scores are not persisting.
    #[arg(long)]
    pub score_recording_failure: bool,
    /// Users cannot log in.
    #[arg(long)]
    pub auth_failure: bool,
    /// Money charged but subscription not activated.
    #[arg(long)]
    pub payment_failure: bool,
    /// Data corruption or loss detected.
    #[arg(long)]
    pub data_loss: bool,
    /// A security vulnerability is actively exploited.
    #[arg(long)]
    pub exploited_vulnerability: bool,
    /// A significant feature is broken, core functionality works.
    #[arg(long)]
    pub significant_feature_broken: bool,
    /// An external integration fails, a workaround exists.
    #[arg(long)]
    pub integration_failure_with_workaround: bool,
    /// Minor UI bugs only, no functional impact.
    #[arg(long)]
    pub minor_ui_bug: bool,
    /// A non-critical feature (leaderboards, badges) is broken.
    #[arg(long)]
    pub non_critical_feature_broken: bool,
    /// Error rate, percent of requests.
    #[arg(long, value_name = "PERCENT")]
    pub error_rate: Option<f64>,
    /// p95 response time divided by the baseline p95.
    #[arg(long, value_name = "RATIO")]
    pub latency_ratio: Option<f64>,
    /// Share of users affected, percent.
    #[arg(long, value_name = "PERCENT")]
    pub affected_users: Option<f64>,
}
