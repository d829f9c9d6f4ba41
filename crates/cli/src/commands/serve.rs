//! `greenlight serve`: the service, with a first-run guide.

use std::process::ExitCode;

use greenlight_core::Policy;
use greenlight_server::api::stream::StreamLimits;
use greenlight_server::{ConnectionLimits, ServeConfig, Server, shutdown_signal};
use greenlight_store::redact;
use tracing_subscriber::EnvFilter;

use super::done;
use crate::args::ServeArgs;

/// Runs the server until Ctrl-C or SIGTERM.
pub fn run(policy: Policy, args: ServeArgs) -> anyhow::Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("GREENLIGHT_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(policy, args))?;
    done()
}

async fn serve(policy: Policy, args: ServeArgs) -> anyhow::Result<()> {
    let given = std::env::var("GREENLIGHT_BOOTSTRAP_TOKEN").ok();
    let from_environment = given.is_some();
    let config = ServeConfig {
        bind: args.bind,
        database_url: args.database_url.clone(),
        policy,
        test_clock: args.test_clock,
        bootstrap_token: given,
        metrics_token: args.metrics_token.clone(),
        limits: ConnectionLimits {
            max_connections: args.max_connections,
            header_read_timeout: std::time::Duration::from_secs(args.header_read_timeout),
            streams: StreamLimits {
                max_streams: args.max_streams,
                max_streams_per_user: args.max_streams_per_user,
            },
            ..ConnectionLimits::default()
        },
    };
    let server = Server::start(config).await?;
    let addr = server.local_addr()?;
    println!(
        "Greenlight {} listening on http://{addr} (database {})",
        env!("CARGO_PKG_VERSION"),
        redact(&args.database_url)
    );
    println!("Dashboard: http://{addr}/ (sign in with a password or an API token)");
    println!("API docs: http://{addr}/api/v1/openapi.json");
    match &server.bootstrap_token {
        // Whoever set the variable knows the token; printing it would only copy a secret into
        // logs and terminals.
        Some(_) if from_environment => {
            println!();
            println!(
                "First run: created the administrator `admin` with the token from GREENLIGHT_BOOTSTRAP_TOKEN (not shown)."
            );
        }
        Some(token) => print_first_run(&addr.to_string(), token),
        None => {}
    }
    server.run(shutdown_signal()).await?;
    println!("Greenlight stopped.");
    Ok(())
}

fn print_first_run(addr: &str, token: &str) {
    println!();
    println!("First run: created the administrator `admin`. Its token is shown only now:");
    println!();
    println!("    export GREENLIGHT_SERVER=http://{addr}");
    println!("    export GREENLIGHT_TOKEN={token}");
    println!();
    println!("Next, in another terminal with those two variables set:");
    println!("    greenlight user add erin --role engineering_lead   # prints erin's token");
    println!("    greenlight user add quinn --role qa_lead");
    println!(
        "    greenlight release plan --version 1.0.0            # as erin; later versions are proposed"
    );
    println!("    greenlight release list");
    println!();
    println!("Or open the dashboard at http://{addr}/ and sign in as `admin` with that token.");
    println!();
}
