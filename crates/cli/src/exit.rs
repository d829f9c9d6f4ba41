//! Errors at the binary's edge and the exit codes of DESIGN.md.

use std::fmt;
use std::process::ExitCode;

use greenlight_core::Refusal;

/// Exit code: refused by a rule (the message says which).
pub const REFUSED: u8 = 1;
/// Exit code: usage error (a wrong flag, an unparsable value, a broken policy file).
pub const USAGE: u8 = 2;
/// Exit code: cannot reach the server, or another failure.
pub const FAILURE: u8 = 3;

/// A usage error: the command line or a file it names is wrong.
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Shorthand for a usage error.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(message.into()))
}

/// Prints the error on one line and picks the exit code from its kind.
pub fn report(err: &anyhow::Error) -> ExitCode {
    let code = if err.downcast_ref::<UsageError>().is_some() {
        USAGE
    } else if err.downcast_ref::<Refusal>().is_some()
        || err.downcast_ref::<crate::client::Refused>().is_some()
    {
        REFUSED
    } else {
        FAILURE
    };
    let message = format!("{err:#}").replace('\n', " ");
    eprintln!("greenlight: {message}");
    ExitCode::from(code)
}
