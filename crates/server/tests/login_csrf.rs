//! The sign-in form's login token is bound on the server (issue 21, finding 11): an equal
//! cookie and field made up by another site are refused, the token the server served passes;
//! over https the cookies are `__Host-` prefixed, `Secure` and on path `/`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use greenlight_core::Policy;
use greenlight_store::Store;
use tower::ServiceExt;

async fn app(public_url: &str) -> (Router, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("g.db").display());
    let store = Store::open(&url).await.unwrap();
    let mut policy = Policy::default();
    policy.communications.public_url = public_url.into();
    (
        greenlight_server::app(greenlight_server::state(store, policy, false)),
        dir,
    )
}

/// The login page's `Set-Cookie` for the login token and the token in its form.
async fn served(app: &Router) -> (String, String) {
    let response = app
        .clone()
        .oneshot(Request::get("/ui/login").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let set = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    let html = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let html = String::from_utf8(html.to_vec()).unwrap();
    let start = html.find(r#"name="login_csrf" value=""#).unwrap() + 25;
    let token = html[start..].split('"').next().unwrap().to_string();
    (set, token)
}

async fn post(app: &Router, cookie: &str, field: &str) -> StatusCode {
    let body = format!("login_csrf={field}&user=erin&password=not+the+password");
    let request = Request::post("/ui/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", cookie)
        .body(Body::from(body))
        .unwrap();
    app.clone().oneshot(request).await.unwrap().status()
}

#[tokio::test]
async fn a_made_up_pair_is_refused_and_the_served_token_passes() {
    let (app, _dir) = app("http://127.0.0.1:8080").await;
    let forged = "gll_0123456789abcdef";
    assert_eq!(
        post(&app, &format!("gl_login={forged}"), forged).await,
        StatusCode::FORBIDDEN
    );
    let fake_signed = "00112233445566778899aabbccddeeff.1999999999.00";
    assert_eq!(
        post(&app, &format!("gl_login={fake_signed}"), fake_signed).await,
        StatusCode::FORBIDDEN
    );
    let (set, token) = served(&app).await;
    assert!(set.starts_with("gl_login="), "{set}");
    assert!(set.contains("Path=/ui"), "{set}");
    // Past the login token, the password check answers (401: no such user).
    assert_eq!(
        post(&app, &format!("gl_login={token}"), &token).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn over_https_cookies_are_host_prefixed_and_secure() {
    let (app, _dir) = app("https://greenlight.school.example").await;
    let (set, token) = served(&app).await;
    assert!(set.starts_with("__Host-gl_login="), "{set}");
    assert!(set.contains("; Secure"), "{set}");
    assert!(set.contains("Path=/;"), "{set}");
    assert_eq!(
        post(&app, &format!("gl_login={token}"), &token).await,
        StatusCode::FORBIDDEN,
        "the unprefixed cookie is not read over https"
    );
    assert_eq!(
        post(&app, &format!("__Host-gl_login={token}"), &token).await,
        StatusCode::UNAUTHORIZED
    );
}
