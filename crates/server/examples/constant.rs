//! The ceiling for flag evaluation over HTTP on this machine: a minimal axum server (same axum
//! and tokio as Greenlight) answering every OFREP single evaluation with a constant body. Used
//! by `bench/flags.sh`; `cargo run --release -p greenlight-server --example constant -- PORT`.

use axum::Router;
use axum::http::header;
use axum::routing::post;

const BODY: &str =
    r#"{"key":"new-rhythm-game","value":true,"reason":"SPLIT","variant":"on","metadata":{}}"#;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::args().nth(1).unwrap_or_else(|| "18091".into());
    let app = Router::new().route(
        "/ofrep/v1/evaluate/flags/{key}",
        post(|| async { ([(header::CONTENT_TYPE, "application/json")], BODY) }),
    );
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    axum::serve(listener, app).await
}
