//! Templates (minijinja) for the changelog and for release notes per channel. Built-in ones ship
//! with the binary; a team's own replace them. A template whose name ends in `.html` escapes
//! every value, so hostile commit text cannot write markup into an email.

use minijinja::Environment;
use serde::Serialize;

use crate::GitError;

/// The built-in release notes template of a channel, as (file name, source).
pub fn notes_template(channel: &str) -> Option<(&'static str, &'static str)> {
    match channel {
        "markdown" => Some(("notes.md", include_str!("../templates/notes.md.j2"))),
        "email" => Some((
            "notes.email.html",
            include_str!("../templates/notes.email.html.j2"),
        )),
        "status_page" => Some((
            "notes.status_page.txt",
            include_str!("../templates/notes.status_page.txt.j2"),
        )),
        "in_app" => Some((
            "notes.in_app.txt",
            include_str!("../templates/notes.in_app.txt.j2"),
        )),
        _ => None,
    }
}

/// Renders `source` with `context`. `name` decides escaping: `*.html`, `*.htm` and `*.xml`
/// (optionally followed by `.j2`) escape HTML.
pub fn render(name: &str, source: &str, context: impl Serialize) -> Result<String, GitError> {
    let mut env = Environment::new();
    let name = name.strip_suffix(".j2").unwrap_or(name);
    env.add_template(name, source)
        .map_err(|e| GitError::Template(describe(name, &e)))?;
    let template = env
        .get_template(name)
        .map_err(|e| GitError::Template(describe(name, &e)))?;
    template
        .render(context)
        .map_err(|e| GitError::Template(describe(name, &e)))
}

fn describe(name: &str, err: &minijinja::Error) -> String {
    match err.line() {
        Some(line) => format!("{name}, line {line}: {err}"),
        None => format!("{name}: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_templates_escape_and_text_ones_do_not() {
        let ctx = serde_json::json!({ "x": "<script>alert(1)</script>" });
        let html = render("a.html", "{{ x }}", &ctx).unwrap_or_default();
        assert_eq!(html, "&lt;script&gt;alert(1)&lt;&#x2f;script&gt;");
        let text = render("a.txt", "{{ x }}", &ctx).unwrap_or_default();
        assert_eq!(text, "<script>alert(1)</script>");
    }

    #[test]
    fn a_broken_template_says_where() {
        let err = render("mine.md", "line one\n{% for %}", serde_json::json!({}));
        let text = err.map_err(|e| e.to_string()).err().unwrap_or_default();
        assert!(text.contains("mine.md, line 2"), "{text}");
    }
}
