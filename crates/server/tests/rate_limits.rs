//! Rate limits (issue 21): sign-in attempts per address counted in the database, so two
//! instances on one database share the count; bad tokens per address; both answered with 429,
//! `Retry-After` and (for the API) a problem document naming `rate_limit`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use greenlight_core::Policy;
use greenlight_server::limits::{FAILED_TOKENS_PER_ADDRESS, SIGN_IN_PER_ADDRESS};
use greenlight_store::Store;
use tower::ServiceExt;

async fn instance(url: &str) -> Router {
    let store = Store::open(url).await.unwrap();
    greenlight_server::app(greenlight_server::state(store, Policy::default(), false))
}

async fn login_token(app: &Router) -> String {
    let response = app
        .clone()
        .oneshot(Request::get("/ui/login").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let html = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let html = String::from_utf8(html.to_vec()).unwrap();
    let start = html.find(r#"name="login_csrf" value=""#).unwrap() + 25;
    html[start..].split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn sign_in_attempts_per_address_are_counted_across_instances() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("g.db").display());
    let apps = [instance(&url).await, instance(&url).await];
    let tokens = [login_token(&apps[0]).await, login_token(&apps[1]).await];
    // The limit counts per minute: start well inside one.
    let second = jiff::Timestamp::now().as_second().rem_euclid(60);
    if second > 45 {
        tokio::time::sleep(std::time::Duration::from_secs(
            u64::try_from(61 - second).unwrap(),
        ))
        .await;
    }
    let mut statuses = Vec::new();
    for i in 0..=SIGN_IN_PER_ADDRESS {
        let which = usize::try_from(i % 2).unwrap();
        let token = &tokens[which];
        let request = Request::post("/ui/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", format!("gl_login={token}"))
            .body(Body::from(format!("login_csrf={token}&token=glt_guess{i}")))
            .unwrap();
        let response = apps[which].clone().oneshot(request).await.unwrap();
        statuses.push((
            response.status(),
            response.headers().get("retry-after").cloned(),
        ));
    }
    let (last, retry) = statuses.pop().unwrap();
    assert!(
        statuses.iter().all(|(s, _)| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    assert_eq!(
        last,
        StatusCode::TOO_MANY_REQUESTS,
        "the two instances count together"
    );
    let retry: u64 = retry.unwrap().to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
}

#[tokio::test]
async fn bad_tokens_from_one_address_are_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("g.db").display());
    let app = instance(&url).await;
    let get = |token: String| {
        let app = app.clone();
        async move {
            app.oneshot(
                Request::get("/api/v1/me")
                    .header("authorization", format!("Bearer {token}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap()
        }
    };
    for i in 0..FAILED_TOKENS_PER_ADDRESS {
        assert_eq!(
            get(format!("glt_guess{i}")).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let refused = get("glt_one_more".into()).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    let body = axum::body::to_bytes(refused.into_body(), 1 << 16)
        .await
        .unwrap();
    let problem: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(problem["rule"], "rate_limit");
    assert_eq!(problem["status"], 429);
}
