//! Query parameters of dashboard pages, read leniently: a page never fails to parse its query
//! string (a repeated or odd parameter is not a 400 problem document), and each page turns a
//! bad value into a message in the page.

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;

/// The query string's pairs; an empty value counts as absent.
pub(super) struct Params(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // Pairs of strings always deserialize; the fallback is for form_urlencoded's sake.
        let pairs = Query::<Vec<(String, String)>>::from_request_parts(parts, state)
            .await
            .map(|Query(pairs)| pairs)
            .unwrap_or_default();
        Ok(Params(pairs))
    }
}

impl Params {
    /// The last non-empty value of `name`, trimmed.
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .find(|v| !v.is_empty())
    }

    /// `name` read with `parse`; a value it refuses is `Err` with a message naming the
    /// parameter and what it takes.
    pub(super) fn parse<T>(
        &self,
        name: &str,
        expected: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<Option<T>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(text) => parse(text)
                .map(Some)
                .ok_or_else(|| format!("`{name}` must be {expected}; `{text}` is not.")),
        }
    }
}

impl Params {
    /// `name` as a date like `2026-11-23`; another value is `Err` with the message.
    pub(super) fn date(&self, name: &str) -> Result<Option<jiff::civil::Date>, String> {
        self.parse(name, "a date like 2026-11-23", |t| {
            jiff::fmt::strtime::parse("%Y-%m-%d", t)
                .and_then(|p| p.to_date())
                .ok()
        })
    }
}

/// A query string of the non-empty `pairs`, form-encoded (`a=1&b=x+y`).
pub(super) fn query_string(pairs: &[(&str, Option<String>)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        if let Some(value) = value {
            query.append_pair(name, value);
        }
    }
    query.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_encoded_for_links() {
        assert_eq!(
            query_string(&[
                ("actor", Some("erin".into())),
                ("q", None),
                ("text", Some("a b&c=d/é".into())),
                ("x", Some("1:2".into()))
            ]),
            "actor=erin&text=a+b%26c%3Dd%2F%C3%A9&x=1%3A2"
        );
    }
}
