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

/// A served sign-in form: its login cookie (`gl_login=...`) and the form's `login_csrf`.
pub fn login_form(server: &Server) -> (String, String) {
    let response = browser()
        .get(format!("{}/ui/login", server.url))
        .send()
        .unwrap();
    let cookie = set_cookie(&response, "gl_login").expect("a login cookie");
    let html = response.text().unwrap();
    let start = html
        .find(r#"name="login_csrf" value=""#)
        .expect("a login token")
        + 25;
    let token = html[start..].split('"').next().unwrap().to_string();
    (cookie, token)
}

/// Posts the sign-in form with `fields`, as a browser that was served the form.
pub fn login(server: &Server, fields: &[(&str, &str)]) -> Response {
    let (cookie, token) = login_form(server);
    let mut form = vec![("login_csrf", token.as_str())];
    form.extend_from_slice(fields);
    browser()
        .post(format!("{}/ui/login", server.url))
        .header("cookie", cookie)
        .form(&form)
        .send()
        .unwrap()
}

/// The whole `Set-Cookie` header of `response` that sets cookie `name`, if any.
pub fn set_cookie_header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_string)
}

/// `name=value` of the cookie `response` sets, if any.
pub fn set_cookie(response: &Response, name: &str) -> Option<String> {
    set_cookie_header(response, name).map(|set| set.split(';').next().unwrap().to_string())
}

/// Signs in with `token`; the session cookie (`gl_session=...`), after checking its attributes.
pub fn sign_in(server: &Server, token: &str) -> String {
    session_of(login(server, &[("token", token)]))
}

/// The session cookie a successful sign-in set, after checking its attributes and that the
/// used login token was cleared.
pub fn session_of(response: Response) -> String {
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(response.headers()["location"], "/ui/home");
    let set = set_cookie_header(&response, "gl_session").expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/ui", "Max-Age=43200"] {
        assert!(set.contains(attribute), "{set}");
    }
    let used = set_cookie_header(&response, "gl_login").expect("the login cookie cleared");
    assert!(used.contains("Max-Age=0"), "{used}");
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
