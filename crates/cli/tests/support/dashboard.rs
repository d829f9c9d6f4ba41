//! A browser's requests to the dashboard without a browser: sign in with a token into a
//! session cookie, then get and post pages with it.

use reqwest::blocking::{Client, Response};
use reqwest::redirect::Policy;

use super::Server;

/// A client that does not follow redirects (the tests check them).
pub fn browser() -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder().redirect(Policy::none()).build().unwrap()
}

/// Signs in with `token`; the session cookie (`gl_session=...`), after checking its attributes.
pub fn sign_in(server: &Server, token: &str) -> String {
    let response = browser()
        .post(format!("{}/ui/login", server.url))
        .form(&[("token", token)])
        .send()
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(response.headers()["location"], "/ui/releases");
    let set = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/ui", "Max-Age=43200"] {
        assert!(set.contains(attribute), "{set}");
    }
    set.split(';').next().unwrap().to_string()
}

/// Gets `path` with the session `cookie`.
pub fn get(server: &Server, cookie: &str, path: &str) -> Response {
    browser()
        .get(format!("{}{path}", server.url))
        .header("cookie", cookie)
        .send()
        .unwrap()
}

/// Posts `form` to `path` with the session `cookie`.
pub fn post(server: &Server, cookie: &str, path: &str, form: &[(&str, &str)]) -> Response {
    browser()
        .post(format!("{}{path}", server.url))
        .header("cookie", cookie)
        .form(form)
        .send()
        .unwrap()
}

/// The CSRF token of the first form of a page.
pub fn csrf(html: &str) -> String {
    let start = html.find(r#"name="csrf" value=""#).expect("a form") + 19;
    html[start..].split('"').next().unwrap().to_string()
}
