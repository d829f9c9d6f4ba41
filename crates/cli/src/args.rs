//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Greenlight runs MLC's release process: it plans releases, enforces the rules of the release
/// spec (windows, gates, approvals, Go/No-Go), drives deployments and rollbacks, and keeps an
/// audit trail.
#[derive(Debug, Parser)]
#[command(name = "greenlight", version)]
pub struct Cli {
    /// Policy file (TOML) overriding the spec's defaults.
    #[arg(long, global = true, env = "GREENLIGHT_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Machine-readable JSON output.
    #[arg(long, global = true)]
    pub json: bool,

    /// The Greenlight server client commands talk to.
    #[arg(
        long,
        global = true,
        env = "GREENLIGHT_SERVER",
        default_value = "http://127.0.0.1:8080"
    )]
    pub server: String,

    /// API token for client commands (`greenlight token create`). Prefer the
    /// `GREENLIGHT_TOKEN` variable: a flag's value shows in the process list.
    #[arg(long, global = true, env = "GREENLIGHT_TOKEN", hide_env_values = true)]
    pub token: Option<String>,

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
    /// Where things stand, from the server, for you: what is live now, what comes next, and
    /// what waits on whom (your own part first), with flags rolling out (`--json` for the data).
    Status,
    /// The policy: show the effective one, check a file.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Deploy a release: checks every rule, then runs the environment's runbook and follows it.
    Deploy(DeployArgs),
    /// Roll production back (`rollback VERSION --reason R`); or classify a situation offline.
    Rollback(RollbackArgs),
    /// The hotfix fast path: start one from the production version, follow its timeline.
    #[command(subcommand)]
    Hotfix(HotfixCommand),
    /// The changelog from git history: Conventional Commits since the last release tag (offline).
    Changelog(ChangelogArgs),
    /// Release notes for end users by audience, per channel (markdown, email, status_page,
    /// in_app), with the known issues recorded on the release.
    Notes(NotesArgs),
    /// The spec's branches and tags in a local repository: release branch, release candidates,
    /// the final tag, hotfix branches, and the backport list.
    #[command(subcommand)]
    Git(GitCommand),
    /// CI artifacts as gate evidence: `evidence upload VERSION --gate unit_tests junit.xml`.
    #[command(subcommand)]
    Evidence(EvidenceCommand),
    /// What is live in staging and production, and what was before.
    Environments(EnvironmentsArgs),
    /// A release's health: each metric against its target and rollback threshold, and the
    /// automatic rollback triggers' verdicts.
    Health(HealthArgs),
    /// Run the Greenlight service (HTTP API, SQLite or PostgreSQL).
    Serve(ServeArgs),
    /// Releases: plan, list, show, freeze, reschedule, cancel.
    #[command(subcommand)]
    Release(ReleaseCommand),
    /// Quality gates: record results, list, override.
    #[command(subcommand)]
    Gate(GateCommand),
    /// Approve a release in one of your roles.
    Approve(ApproveArgs),
    /// Vote go or no-go on a release.
    #[command(name = "go-no-go")]
    GoNoGo(GoNoGoArgs),
    /// Tick a checklist item that is not derived from gates or deployments.
    Checklist(ChecklistArgs),
    /// Bugs against a release: report, resolve.
    #[command(subcommand)]
    Bug(BugCommand),
    /// Feature flags: create, list, show, advance the rollout, kill and restore, evaluate.
    #[command(subcommand)]
    Flag(FlagCommand),
    /// Deployments: start one (as `deploy` does), or record that one completed or failed.
    #[command(subcommand)]
    Deployment(DeploymentCommand),
    /// Communications Greenlight sends: list them (pending, delivered, dead letters), retry.
    #[command(subcommand)]
    Comms(CommsCommand),
    /// The event log (the spec's telemetry events).
    Events(EventsArgs),
    /// Delivery metrics: deployment frequency, lead time, change failure rate, time to restore.
    Metrics(MetricsArgs),
    /// The audit trail: list entries, verify the hash chain.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Users and their roles.
    #[command(subcommand)]
    User(UserCommand),
    /// API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
}

/// `greenlight serve`
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "GREENLIGHT_BIND", default_value = "127.0.0.1:8080")]
    pub bind: std::net::SocketAddr,
    /// `sqlite://greenlight.db` (created if missing) or `postgres://user@host/db`.
    #[arg(
        long,
        env = "GREENLIGHT_DATABASE_URL",
        default_value = "sqlite://greenlight.db"
    )]
    pub database_url: String,
    /// Let tests set the clock through `PUT /api/v1/_test/clock` (never in production).
    #[arg(long, hide = true)]
    pub test_clock: bool,
    /// Require this bearer token on `/metrics` (at least 16 characters). Prefer the
    /// environment variable: a flag shows in the process list.
    #[arg(long, env = "GREENLIGHT_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Most connections served at once; more wait until one closes.
    #[arg(long, env = "GREENLIGHT_MAX_CONNECTIONS", default_value_t = 512)]
    pub max_connections: usize,
    /// Seconds a client has to send a request's headers; an idle keep-alive connection is
    /// closed after as long.
    #[arg(long, env = "GREENLIGHT_HEADER_READ_TIMEOUT", default_value_t = 10)]
    pub header_read_timeout: u64,
    /// Most release streams (Server-Sent Events) open at once; more get 503.
    #[arg(long, env = "GREENLIGHT_MAX_STREAMS", default_value_t = 256)]
    pub max_streams: usize,
    /// Most release streams one user may hold open at once; more get 429.
    #[arg(long, env = "GREENLIGHT_MAX_STREAMS_PER_USER", default_value_t = 8)]
    pub max_streams_per_user: usize,
}

/// The release a command acts on, and the revision the change is based on.
#[derive(Debug, Args)]
pub struct Target {
    /// Release version (`1.4.0`) or ID.
    pub release: String,
    /// Refuse the change unless the release is still at this revision (see `release show`).
    #[arg(long)]
    pub revision: Option<i64>,
}

/// `greenlight release ...`
#[derive(Debug, Subcommand)]
pub enum ReleaseCommand {
    /// Plan a release; the version and date are proposed from the policy unless given.
    Plan(PlanArgs),
    /// List releases.
    List(ListArgs),
    /// One release: record, gates, approvals, Go/No-Go, window.
    Show {
        /// Release version (`1.4.0`) or ID.
        release: String,
    },
    /// The release's whole story in time order, as Markdown (`--json` for data).
    Report {
        /// Release version (`1.4.0`) or ID.
        release: String,
    },
    /// Code freeze: create the release branch and the first release candidate.
    Freeze(Target),
    /// Cut the next release candidate.
    Rc(Target),
    /// Move the planned deployment.
    Reschedule {
        /// The release.
        #[command(flatten)]
        target: Target,
        /// New deployment time (`2026-12-10T14:00`, policy zone).
        #[arg(long)]
        to: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Mark an action item done (a post-rollback follow-up, a hotfix's backport).
    Done {
        /// The release.
        #[command(flatten)]
        target: Target,
        /// The item's kind (`root_cause`, `backport`; see `release show`).
        kind: String,
        /// Notes or a link.
        #[arg(long)]
        notes: Option<String>,
    },
    /// Record what the release contains from git history: changelog, features, fixes, breaking
    /// changes, migration, risk notes (sensitive paths).
    Content {
        /// The release.
        #[command(flatten)]
        target: Target,
        /// The repository and range.
        #[command(flatten)]
        history: HistoryArgs,
    },
    /// Cancel a release that has not reached production.
    Cancel {
        /// The release.
        #[command(flatten)]
        target: Target,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Record a Phase 4 metrics review (the spec's list: daily_active_users,
    /// assignment_completion_percent, score_recording_success_percent, game_load_time_p95_ms,
    /// play_session_minutes, error_rate_percent, browser_issues, ...).
    MetricsReview {
        /// The release.
        #[command(flatten)]
        target: Target,
        /// A measured value `NAME=NUMBER`; repeat for several.
        #[arg(long = "value", required_unless_present = "from_health")]
        values: Vec<String>,
        /// Fill error_rate_percent (mean) and score_recording_success_percent (lowest) from the
        /// health monitor's last 48 hours; values given with --value win.
        #[arg(long)]
        from_health: bool,
        /// Notes.
        #[arg(long)]
        notes: Option<String>,
    },
    /// Record the retrospective (scheduled when the production deployment completed).
    Retrospective {
        /// The release.
        #[command(flatten)]
        target: Target,
        /// What was said.
        #[arg(long)]
        notes: String,
        /// An action item `TITLE;OWNER;DUE` (DUE a local date or time); repeat for several.
        #[arg(long = "item")]
        items: Vec<String>,
        /// An output it produced (the spec's: an updated release checklist, a risk item for
        /// future releases, a documentation update); repeat for several.
        #[arg(long = "output")]
        outputs: Vec<String>,
    },
}

/// `greenlight release plan`
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// standard, patch, hotfix or major.
    #[arg(long = "type", default_value = "standard")]
    pub release_type: String,
    /// The version (proposed from production and the releases that ship before it when absent).
    #[arg(long)]
    pub version: Option<String>,
    /// The deployment time (proposed from the cadence when absent).
    #[arg(long)]
    pub date: Option<String>,
    /// A hotfix's title (`fix score sync`).
    #[arg(long)]
    pub title: Option<String>,
    /// A hotfix's trigger from the policy (`score_recording_failure`, `auth_failure`,
    /// `payment_error`, `data_loss`, `security_vulnerability`, `accessibility_failure`).
    #[arg(long)]
    pub trigger: Option<String>,
    /// A hotfix's severity, 1 (most severe) to 4; may be left out when the trigger has one.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=4))]
    pub severity: Option<u8>,
}

/// `greenlight release list`
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this status (planned, staging, deployed, rolled_back, cancelled).
    #[arg(long)]
    pub status: Option<String>,
    /// Only this type.
    #[arg(long = "type")]
    pub release_type: Option<String>,
    /// At most this many.
    #[arg(long, default_value_t = 50)]
    pub limit: i64,
}

/// `greenlight gate ...`
#[derive(Debug, Subcommand)]
pub enum GateCommand {
    /// Record a gate result: --pass, or --fail with --reason.
    Record {
        /// The release.
        #[command(flatten)]
        target: Target,
        /// Phase: development, staging, production_readiness, hotfix.
        #[arg(long)]
        phase: String,
        /// Gate name (`unit_tests`; see `gate list`).
        #[arg(long)]
        gate: String,
        /// The gate passed.
        #[arg(long, conflicts_with = "fail", required_unless_present = "fail")]
        pass: bool,
        /// The gate failed.
        #[arg(long)]
        fail: bool,
        /// Why it failed (`api_response_time_exceeded`).
        #[arg(long, required_if_eq("fail", "true"))]
        reason: Option<String>,
    },
    /// The gates of a release by phase with their latest results.
    List {
        /// Release version or ID.
        release: String,
    },
    /// Override a gate (engineering lead), with a documented justification.
    Override {
        /// The release.
        #[command(flatten)]
        target: Target,
        /// Phase.
        #[arg(long)]
        phase: String,
        /// Gate name.
        #[arg(long)]
        gate: String,
        /// The justification.
        #[arg(long)]
        justification: String,
    },
}

/// `greenlight approve`
#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// The release.
    #[command(flatten)]
    pub target: Target,
    /// The role you approve in (engineering_lead, qa_lead, product_owner, ...).
    #[arg(long)]
    pub role: String,
}

/// `greenlight go-no-go`
#[derive(Debug, Args)]
pub struct GoNoGoArgs {
    /// The release.
    #[command(flatten)]
    pub target: Target,
    /// The role you vote in.
    #[arg(long)]
    pub role: String,
    /// go or no-go.
    #[arg(long)]
    pub vote: String,
    /// Notes.
    #[arg(long)]
    pub notes: Option<String>,
}

/// `greenlight checklist`
#[derive(Debug, Args)]
pub struct ChecklistArgs {
    /// The release.
    #[command(flatten)]
    pub target: Target,
    /// release_notes_drafted, stakeholders_notified, monitoring_complete,
    /// release_retrospective_scheduled.
    #[arg(long)]
    pub item: String,
}

/// `greenlight bug ...`
#[derive(Debug, Subcommand)]
pub enum BugCommand {
    /// Report a bug against a release.
    Report {
        /// The release.
        #[command(flatten)]
        target: Target,
        /// Tracker ID.
        #[arg(long)]
        id: String,
        /// 1 (critical) to 4.
        #[arg(long)]
        severity: u8,
        /// Summary.
        #[arg(long)]
        title: String,
        /// Known workaround.
        #[arg(long)]
        workaround: Option<String>,
    },
    /// Resolve a reported bug.
    Resolve {
        /// The release.
        #[command(flatten)]
        target: Target,
        /// Tracker ID.
        #[arg(long)]
        id: String,
    },
}

/// `greenlight deployment ...`
#[derive(Debug, Subcommand)]
pub enum DeploymentCommand {
    /// Start a deployment, as `greenlight deploy` does.
    Start(DeployArgs),
    /// Record that the running deployment completed.
    Complete(Target),
    /// Record that the running deployment failed.
    Fail {
        /// The release.
        #[command(flatten)]
        target: Target,
        /// Why.
        #[arg(long)]
        reason: String,
    },
}

/// `greenlight metrics`
#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// Start of the period: a local date (`2026-11-01`, from midnight) or a time; default: 28
    /// days before --to.
    #[arg(long)]
    pub from: Option<String>,
    /// End of the period, exclusive: a local date or a time; default: now.
    #[arg(long)]
    pub to: Option<String>,
    /// One CSV row per deployment on stdout, for a spreadsheet.
    #[arg(long)]
    pub csv: bool,
}

/// `greenlight events`
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Only this release (version or ID).
    #[arg(long)]
    pub release: Option<String>,
    /// Only this event (`deployment_started`).
    #[arg(long = "type")]
    pub event: Option<String>,
    /// At or after this time.
    #[arg(long)]
    pub since: Option<String>,
    /// At most this many.
    #[arg(long, default_value_t = 100)]
    pub limit: i64,
}

/// `greenlight audit ...`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Audit entries, oldest first.
    List {
        /// Only this subject (`release:<id>`, `user:erin`).
        #[arg(long)]
        subject: Option<String>,
        /// Only this actor.
        #[arg(long)]
        actor: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Walk the hash chain; exit 1 if it is broken.
    Verify,
}

/// `greenlight flag ...`
#[derive(Debug, Subcommand)]
pub enum FlagCommand {
    /// Create a flag (boolean unless --variant is given); it starts with nobody in.
    Create {
        /// Key (`new-rhythm-game`).
        key: String,
        /// What it guards.
        #[arg(long, default_value = "")]
        description: String,
        /// A variant `NAME=JSON[:WEIGHT]` (`blue={"color":"blue"}:3`); repeat for several.
        #[arg(long = "variant")]
        variants: Vec<String>,
        /// The variant served outside the rollout and when killed (default `off`).
        #[arg(long)]
        off_variant: Option<String>,
        /// Context attribute users are bucketed by (default `targetingKey`).
        #[arg(long)]
        stickiness: Option<String>,
        /// A stage `SEGMENT:PERCENT` or `PERCENT` for everyone; repeat (default: the policy's).
        /// A release flag's stages rise through the policy's (10, 25, 50, 100).
        #[arg(long = "stage")]
        stages: Vec<String>,
        /// `release` (default) or a kind the policy exempts from the rising rollout
        /// (`operational`: a kill switch on for everyone from the start).
        #[arg(long)]
        kind: Option<String>,
        /// The release whose gradual traffic rollout this is (`1.4.0`).
        #[arg(long)]
        release: Option<String>,
        /// Advance by itself after each dwell time while the release is healthy.
        #[arg(long)]
        auto_advance: bool,
    },
    /// Every flag with its stage and dwell time left.
    List,
    /// One flag, with evaluations per variant.
    Show {
        /// Key.
        key: String,
    },
    /// Move the rollout to its next stage (refused before the dwell time has passed).
    Advance {
        /// Key.
        key: String,
    },
    /// Pull the kill switch: everyone gets the off variant within a second.
    Kill {
        /// Key.
        key: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Release the kill switch: the current stage is served again.
    Restore {
        /// Key.
        key: String,
    },
    /// Evaluate a flag for a context, as the platform would.
    Evaluate {
        /// Key.
        key: String,
        /// The context as JSON (`{"targetingKey":"student-7","groups":["beta"]}`).
        #[arg(long, default_value = "{}")]
        context: String,
    },
}

/// `greenlight comms ...`
#[derive(Debug, Subcommand)]
pub enum CommsCommand {
    /// Notifications in the outbox, newest first.
    List {
        /// Only `pending`, `delivered` or `dead`.
        #[arg(long)]
        status: Option<String>,
        /// Most shown.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Send a dead letter again (after fixing what made it fail).
    Retry {
        /// Message ID, from `greenlight comms list --status dead`.
        id: String,
    },
    /// Email recipients per audience: list, add, remove.
    #[command(subcommand)]
    Recipients(RecipientsCommand),
}

/// `greenlight comms recipients ...`
#[derive(Debug, Subcommand)]
pub enum RecipientsCommand {
    /// Every recipient: the policy's and those added here.
    List,
    /// Add an address to an audience (internal, subscribers, all_users, beta_testers).
    Add {
        /// The audience.
        audience: String,
        /// The address.
        address: String,
    },
    /// Remove an address added with `add`.
    Remove {
        /// The audience.
        audience: String,
        /// The address.
        address: String,
    },
}

/// `greenlight user ...`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user and print a token for them (admin).
    Add {
        /// Short ID (`erin`).
        id: String,
        /// A role; repeat for several.
        #[arg(long = "role")]
        roles: Vec<String>,
        /// Name to show.
        #[arg(long)]
        name: Option<String>,
        /// May manage users and tokens.
        #[arg(long)]
        admin: bool,
    },
    /// List users (admin).
    List,
    /// Who the token belongs to.
    Whoami,
    /// Set the dashboard password of USER (default: yours; others' need an admin), read as one
    /// line from standard input, never from the command line:
    /// `printf '%s\n' "$PW" | greenlight user password erin` (admin). Changing your own needs
    /// the current one first: `printf '%s\n%s\n' "$OLD" "$NEW" | greenlight user password
    /// --current`. Ends USER's dashboard sessions.
    Password {
        /// Whose (default: yours).
        user: Option<String>,
        /// Remove the password instead: password sign-in stops, API tokens keep working.
        #[arg(long)]
        clear: bool,
        /// Changing your own password: read your current password from the first line of
        /// standard input and the new one from the second (a token alone does not set it).
        #[arg(long, conflicts_with = "clear")]
        current: bool,
    },
}

/// `greenlight token ...`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token (for yourself, or for --user as an admin); it is shown once.
    Create {
        /// What it is for.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Whose (default: yours).
        #[arg(long)]
        user: Option<String>,
        /// What it may do: full (default), read (GETs only), ingest (health samples and CI
        /// evidence only), flags (reading flags only). A scope only narrows your roles.
        #[arg(long, default_value = "full", value_parser = ["full", "read", "ingest", "flags"])]
        scope: String,
        /// When it stops working: a duration from now (`90d`, `12h`, `30m`) or an RFC 3339
        /// time; never when absent.
        #[arg(long)]
        expires: Option<String>,
    },
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

/// `greenlight deploy`
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// The release.
    #[command(flatten)]
    pub target: Target,
    /// staging or production (default: staging while planned, production once on staging).
    #[arg(long = "env")]
    pub environment: Option<String>,
    /// Deploy outside the window with this justification (engineering lead).
    #[arg(long = "override")]
    pub override_window: Option<String>,
    /// Return at once instead of following a runbook Greenlight runs.
    #[arg(long)]
    pub no_wait: bool,
}

/// `greenlight rollback`: `rollback VERSION --reason R`, or one of the subcommands.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RollbackArgs {
    /// A subcommand (classify, complete, fail).
    #[command(subcommand)]
    pub command: Option<RollbackCommand>,
    /// The release to roll back (`rollback 1.4.0 --reason high_error_rate`).
    #[arg(requires = "reason")]
    pub release: Option<String>,
    /// Refuse the change unless the release is still at this revision (see `release show`).
    #[arg(long)]
    pub revision: Option<i64>,
    /// Why (`high_error_rate`).
    #[arg(long)]
    pub reason: Option<String>,
    /// Version to return to (the previous production version when absent).
    #[arg(long)]
    pub to: Option<String>,
    /// Roll the database back too: maintenance mode on, restore, application rollback,
    /// maintenance off. High-risk; needs --confirm.
    #[arg(long)]
    pub database: bool,
    /// For --database: the version you return to, typed out as confirmation.
    #[arg(long, requires = "database")]
    pub confirm: Option<String>,
    /// Return at once instead of following a runbook Greenlight runs.
    #[arg(long)]
    pub no_wait: bool,
}

impl RollbackArgs {
    /// The rollback the arguments start, when a release was named.
    pub fn start(self) -> Option<RollbackStart> {
        Some(RollbackStart {
            target: Target {
                release: self.release?,
                revision: self.revision,
            },
            reason: self.reason?,
            to: self.to,
            database: self.database,
            confirm: self.confirm,
            no_wait: self.no_wait,
        })
    }
}

/// Start rolling production back (from `rollback VERSION --reason R ...`).
#[derive(Debug)]
pub struct RollbackStart {
    /// The release being rolled back.
    pub target: Target,
    /// Why.
    pub reason: String,
    /// Version to return to.
    pub to: Option<String>,
    /// Roll the database back too.
    pub database: bool,
    /// The version returned to, typed out as confirmation.
    pub confirm: Option<String>,
    /// Return at once.
    pub no_wait: bool,
}

/// `greenlight rollback ...`
#[derive(Debug, Subcommand)]
pub enum RollbackCommand {
    /// Classify a situation: immediate rollback, discuss, or monitor.
    Classify(ClassifyArgs),
    /// Record that the running rollback completed.
    Complete(Target),
    /// Record that the running rollback failed.
    Fail {
        /// The release.
        #[command(flatten)]
        target: Target,
        /// Why.
        #[arg(long)]
        reason: String,
    },
}

/// `greenlight hotfix ...`
#[derive(Debug, Subcommand)]
pub enum HotfixCommand {
    /// Start a hotfix: the patch version after production and its `hotfix/...` branch.
    Start {
        /// The version live in production that the hotfix fixes (`1.2.3`).
        #[arg(long)]
        from: Option<String>,
        /// What it fixes (`critical score fix`); names the branch.
        #[arg(long)]
        title: String,
        /// Why, as one of the policy's hotfix triggers, which sets its severity and deadline:
        /// `score_recording_failure`, `auth_failure`, `payment_error`, `data_loss` (severity 1,
        /// immediate), `security_vulnerability` (1-2, within 24 hours),
        /// `accessibility_failure` (2, within 48 hours).
        #[arg(long)]
        trigger: String,
        /// Its severity, 1 (most severe) to 4: one of the trigger's; may be left out when the
        /// trigger has only one.
        #[arg(long, value_parser = clap::value_parser!(u8).range(1..=4))]
        severity: Option<u8>,
    },
    /// A hotfix's timeline (each stage against its target) and its open follow-ups; without a
    /// version, every hotfix still under way.
    Status {
        /// The hotfix's version.
        release: Option<String>,
    },
}

/// Where history is read: a repository and a range of it.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The repository (default: the current directory).
    #[arg(long, default_value = ".")]
    pub repo: PathBuf,
    /// `FROM..TO`, `FROM..`, or a revision; default: the last release tag to HEAD.
    #[arg(long)]
    pub range: Option<String>,
}

/// `greenlight notes`
#[derive(Debug, Args)]
pub struct NotesArgs {
    /// The release's version (`1.4.0`): its changes end at tag `v1.4.0` when that exists, else
    /// at HEAD.
    pub version: String,
    /// Only this audience (`teachers`; see `[notes] audiences`).
    #[arg(long)]
    pub audience: Option<String>,
    /// The channel whose template is used.
    #[arg(long, default_value = "markdown", value_parser = ["markdown", "email", "status_page", "in_app"])]
    pub channel: String,
    /// A minijinja template to use instead (`.html` in its name escapes HTML).
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,
    /// The release date shown (default: none).
    #[arg(long)]
    pub date: Option<String>,
    /// Build from git alone, without the known issues recorded on the server.
    #[arg(long)]
    pub offline: bool,
    /// The repository and range.
    #[command(flatten)]
    pub history: HistoryArgs,
}

/// `greenlight git ...`
#[derive(Debug, Subcommand)]
pub enum GitCommand {
    /// Create `release/vX.Y.Z` from the main branch (code freeze).
    ReleaseBranch {
        /// The release's version.
        version: String,
        /// Where to branch from (default: `[git] main_branch`).
        #[arg(long)]
        from: Option<String>,
        /// The repository.
        #[arg(long, default_value = ".")]
        repo: PathBuf,
    },
    /// Tag the tip of `release/vX.Y.Z` as the next release candidate `vX.Y.Z-rc.N`.
    Rc {
        /// The release's version.
        version: String,
        /// The repository.
        #[arg(long, default_value = ".")]
        repo: PathBuf,
    },
    /// Tag the final `vX.Y.Z` on the last release candidate (what was tested ships).
    Tag {
        /// The release's version.
        version: String,
        /// The repository.
        #[arg(long, default_value = ".")]
        repo: PathBuf,
    },
    /// Create `hotfix/vX.Y.Z-title` from the newest release tag (what production runs).
    HotfixBranch {
        /// The hotfix's version (`1.3.1`).
        version: String,
        /// What it fixes (`critical score fix`).
        #[arg(long)]
        title: String,
        /// Where to branch from (default: the newest release tag).
        #[arg(long)]
        from: Option<String>,
        /// The repository.
        #[arg(long, default_value = ".")]
        repo: PathBuf,
    },
    /// List the hotfix commits that are not yet on the active release branch.
    Backport {
        /// The hotfix branch (`hotfix/v1.3.1-critical-score-fix`).
        #[arg(long)]
        hotfix: String,
        /// The release branch (default: the newest `release/v*`).
        #[arg(long)]
        onto: Option<String>,
        /// The repository.
        #[arg(long, default_value = ".")]
        repo: PathBuf,
    },
}

/// `greenlight changelog`
#[derive(Debug, Args)]
pub struct ChangelogArgs {
    /// `FROM..TO`, `FROM..`, or a revision; default: the last release tag (`v1.2.3`) to HEAD.
    pub range: Option<String>,
    /// The repository (default: the current directory).
    #[arg(long, default_value = ".")]
    pub repo: PathBuf,
    /// A minijinja template to render instead of Markdown (context: version, date, from, to,
    /// changelog, facts; `.html` in its name escapes HTML).
    #[arg(long, value_name = "FILE", conflicts_with = "prepend")]
    pub template: Option<PathBuf>,
    /// The version the section is for (default: `Unreleased`).
    #[arg(long)]
    pub version: Option<String>,
    /// The release date (default: today in the policy's zone, when --version is given).
    #[arg(long)]
    pub date: Option<String>,
    /// Insert the section into this CHANGELOG.md (before its first release), keeping the rest.
    #[arg(long, value_name = "FILE")]
    pub prepend: Option<PathBuf>,
}

/// `greenlight evidence ...`
#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// Upload an artifact (JUnit, LCOV, Cobertura, SARIF, npm/cargo audit, Lighthouse, k6 or
    /// latency JSON); the gate passes or fails on it. Exit 1 when it fails.
    Upload {
        /// The release.
        #[command(flatten)]
        target: Target,
        /// The gate it decides (`unit_tests`, `code_coverage`).
        #[arg(long)]
        gate: String,
        /// The gate's phase, when the gate is in several.
        #[arg(long)]
        phase: Option<String>,
        /// The format (recognised from the content when absent): junit, lcov, cobertura, sarif,
        /// npm_audit, cargo_audit, lighthouse, k6_summary, latency_summary.
        #[arg(long)]
        format: Option<String>,
        /// The artifact.
        file: PathBuf,
    },
}

/// `greenlight health`
#[derive(Debug, Args)]
pub struct HealthArgs {
    /// The release (version or ID).
    pub release: String,
    /// Minutes of history.
    #[arg(long, default_value_t = 60)]
    pub minutes: u32,
}

/// `greenlight environments`
#[derive(Debug, Args)]
pub struct EnvironmentsArgs {
    /// `baseline`; without it, what is live where.
    #[command(subcommand)]
    pub command: Option<EnvironmentsCommand>,
    /// Earlier versions shown per environment.
    #[arg(long, default_value_t = 5)]
    pub limit: usize,
}

/// `greenlight environments ...`
#[derive(Debug, Subcommand)]
pub enum EnvironmentsCommand {
    /// Record the version live before Greenlight ran deployments (admin), so the first
    /// rollback has a version to return to.
    Baseline {
        /// staging or production.
        #[arg(long = "env")]
        environment: String,
        /// The version live there (`1.3.0`).
        version: String,
    },
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
