//! A bounded walk over XML elements: no internal DOCTYPE subset (so no entity is ever declared,
//! let alone expanded; an external DTD reference, as jest's Cobertura writes, is ignored and never
//! fetched), a nesting limit, and clear positions in errors.

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use crate::{EvidenceError, Format, Limits};

/// An element's local name and attributes.
pub(crate) struct Element {
    /// Local name (`testcase`).
    pub name: String,
    attrs: Vec<(String, String)>,
}

impl Element {
    /// An attribute's raw value.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// An attribute as a number; absent is `None`, garbage is an error.
    pub fn number(&self, name: &str, format: Format) -> Result<Option<f64>, EvidenceError> {
        let Some(text) = self.attr(name) else {
            return Ok(None);
        };
        let value: f64 = text.trim().parse().map_err(|_| {
            EvidenceError::malformed(
                format,
                format!(
                    "<{}> attribute {name}=\"{text}\" is not a number",
                    self.name
                ),
            )
        })?;
        if !value.is_finite() || value < 0.0 {
            return Err(EvidenceError::malformed(
                format,
                format!(
                    "<{}> attribute {name}=\"{text}\" is out of range",
                    self.name
                ),
            ));
        }
        Ok(Some(value))
    }
}

/// What the walk meets.
pub(crate) enum Node {
    /// `<name ...>`.
    Open(Element),
    /// `<name .../>`.
    Leaf(Element),
    /// `</name>`.
    Close(String),
}

/// Visits every element of `text` in document order.
pub(crate) fn walk(
    text: &str,
    format: Format,
    limits: &Limits,
    mut visit: impl FnMut(Node) -> Result<(), EvidenceError>,
) -> Result<(), EvidenceError> {
    let mut reader = Reader::from_str(text);
    let mut depth = 0usize;
    let mut seen_root = false;
    loop {
        let event = reader.read_event().map_err(|e| {
            let at = reader.error_position();
            EvidenceError::malformed(format, format!("not well-formed XML at byte {at}: {e}"))
        })?;
        match event {
            Event::DocType(doctype) if doctype.contains(&b'[') => {
                return Err(EvidenceError::Refused {
                    format,
                    detail: "the DOCTYPE declares entities or markup inside the file; internal document type declarations are not accepted".into(),
                });
            }
            Event::Start(start) => {
                depth += 1;
                if depth > limits.max_depth {
                    return Err(EvidenceError::Refused {
                        format,
                        detail: format!("elements nest deeper than {} levels", limits.max_depth),
                    });
                }
                seen_root = true;
                visit(Node::Open(element(&start, format)?))?;
            }
            Event::Empty(start) => {
                seen_root = true;
                visit(Node::Leaf(element(&start, format)?))?;
            }
            Event::End(end) => {
                depth = depth.saturating_sub(1);
                let name = String::from_utf8_lossy(end.local_name().as_ref()).into_owned();
                visit(Node::Close(name))?;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !seen_root {
        return Err(EvidenceError::malformed(
            format,
            "no XML element in the file",
        ));
    }
    Ok(())
}

fn element(start: &BytesStart<'_>, format: Format) -> Result<Element, EvidenceError> {
    let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| {
            EvidenceError::malformed(format, format!("<{name}> has a malformed attribute: {e}"))
        })?;
        let key = String::from_utf8_lossy(attr.key.local_name().as_ref()).into_owned();
        let value = String::from_utf8_lossy(&attr.value).into_owned();
        attrs.push((key, value));
    }
    Ok(Element { name, attrs })
}

/// The root element's local name, if the text starts like XML (a DOCTYPE is skipped here so the
/// parser can refuse it by name).
pub(crate) fn root_name(text: &str) -> Option<String> {
    let mut reader = Reader::from_str(text);
    loop {
        match reader.read_event().ok()? {
            Event::Start(start) | Event::Empty(start) => {
                return Some(String::from_utf8_lossy(start.local_name().as_ref()).into_owned());
            }
            Event::Eof => return None,
            _ => {}
        }
    }
}
