//! Release health: metrics sources, the ingest endpoint, the monitor that rolls back or alerts,
//! and the health view of a release.

pub mod ingest;
pub mod monitor;
pub mod source;
pub mod view;
