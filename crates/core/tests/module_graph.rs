//! The core's modules depend on each other one way (ARCHITECTURE.md, "Architecture invariant"):
//! no module uses one that uses it, directly or through others.
//!
//! The check reads `crates/core/src`, takes every `crate::…` and `super::…` path outside
//! comments and `#[cfg(test)]` modules (unit tests may use anything), resolves each to the
//! longest module it names, and fails on a cycle in the resulting graph, listing it.

#![allow(clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// A module's path inside the crate (`process::planning`) and its source.
fn modules() -> BTreeMap<String, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = BTreeMap::new();
    collect(&root, &root, &mut found);
    found
}

fn collect(root: &Path, dir: &Path, found: &mut BTreeMap<String, String>) {
    for entry in fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            collect(root, &path, found);
            continue;
        }
        if path.extension().is_none_or(|ext| ext != "rs") {
            continue;
        }
        let relative = path
            .strip_prefix(root)
            .expect("under src")
            .with_extension("");
        let mut parts: Vec<String> = relative
            .components()
            .map(|part| part.as_os_str().to_string_lossy().into_owned())
            .collect();
        if matches!(
            parts.last().map(String::as_str),
            Some("mod" | "lib" | "main")
        ) {
            parts.pop();
        }
        let source = fs::read_to_string(&path).expect("read source");
        found.insert(parts.join("::"), production_code(&source));
    }
}

/// The source without comments and without its `#[cfg(test)]` modules.
fn production_code(source: &str) -> String {
    let mut code = String::new();
    let mut lines = source.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]")
            && lines
                .peek()
                .is_some_and(|next| next.trim_start().starts_with("mod "))
        {
            // Skip the test module: up to the line that closes it at its own indentation.
            let indent = line.len() - trimmed.len();
            let close = format!("{}}}", " ".repeat(indent));
            for inner in lines.by_ref() {
                if inner.trim_end() == close {
                    break;
                }
            }
            continue;
        }
        let without_comment = match line.find("//") {
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        };
        code.push_str(without_comment);
        code.push('\n');
    }
    code
}

/// Every path `crate::a::b::{c, d::e}` in the code, expanded (`a::b::c`, `a::b::d::e`), with
/// `super::` paths made absolute from `module`.
fn paths(module: &str, code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let chars: Vec<char> = code.chars().collect();
    let mut at = 0;
    while at < chars.len() {
        let boundary = at == 0 || !(chars[at - 1].is_alphanumeric() || chars[at - 1] == '_');
        let rest: String = chars[at..chars.len().min(at + 7)].iter().collect();
        if boundary && rest.starts_with("crate::") {
            at += "crate::".len();
            tree(&chars, &mut at, String::new(), &mut found);
        } else if boundary && rest.starts_with("super::") {
            let mut base: Vec<&str> = module.split("::").collect();
            while chars[at..].starts_with(&['s', 'u', 'p', 'e', 'r', ':', ':']) {
                base.pop();
                at += "super::".len();
            }
            tree(&chars, &mut at, base.join("::"), &mut found);
        } else {
            at += 1;
        }
    }
    found
}

/// Reads a use tree at `at` below `prefix`.
fn tree(chars: &[char], at: &mut usize, prefix: String, found: &mut Vec<String>) {
    let mut path = prefix;
    loop {
        while chars.get(*at).is_some_and(|c| c.is_whitespace()) {
            *at += 1;
        }
        if chars.get(*at) == Some(&'{') {
            *at += 1;
            loop {
                tree(chars, at, path.clone(), found);
                while chars.get(*at).is_some_and(|c| c.is_whitespace()) {
                    *at += 1;
                }
                match chars.get(*at) {
                    Some(',') => *at += 1,
                    Some('}') => {
                        *at += 1;
                        return;
                    }
                    _ => return,
                }
                while chars.get(*at).is_some_and(|c| c.is_whitespace()) {
                    *at += 1;
                }
                if chars.get(*at) == Some(&'}') {
                    *at += 1;
                    return;
                }
            }
        }
        let start = *at;
        while chars
            .get(*at)
            .is_some_and(|c| c.is_alphanumeric() || *c == '_')
        {
            *at += 1;
        }
        let ident: String = chars[start..*at].iter().collect();
        if ident.is_empty() {
            found.push(path);
            return;
        }
        if ident != "self" {
            if !path.is_empty() {
                path.push_str("::");
            }
            path.push_str(&ident);
        }
        if chars.get(*at) == Some(&':') && chars.get(*at + 1) == Some(&':') {
            *at += 2;
        } else {
            found.push(path);
            return;
        }
    }
}

/// The module a path names: the longest module that is a prefix of it.
fn module_of<'a>(path: &str, modules: &'a BTreeMap<String, String>) -> Option<&'a str> {
    let parts: Vec<&str> = path.split("::").collect();
    (1..=parts.len())
        .rev()
        .map(|n| parts[..n].join("::"))
        .find_map(|candidate| modules.get_key_value(&candidate).map(|(k, _)| k.as_str()))
}

/// Which modules each module uses.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules();
    modules
        .iter()
        .map(|(module, code)| {
            let uses = paths(module, code)
                .iter()
                .filter_map(|path| module_of(path, &modules))
                .filter(|used| used != module && !used.is_empty())
                .map(str::to_owned)
                .collect();
            (module.clone(), uses)
        })
        .collect()
}

/// Every cycle found by a depth-first walk, each as the modules around it.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    fn walk(
        module: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        cycles: &mut Vec<Vec<String>>,
    ) {
        if let Some(at) = stack.iter().position(|m| m == module) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(module.to_owned());
            cycles.push(cycle);
            return;
        }
        if done.contains(module) {
            return;
        }
        stack.push(module.to_owned());
        for used in graph.get(module).into_iter().flatten() {
            walk(used, graph, stack, done, cycles);
        }
        stack.pop();
        done.insert(module.to_owned());
    }
    let mut found = Vec::new();
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        walk(module, graph, &mut Vec::new(), &mut done, &mut found);
    }
    found
}

#[test]
fn core_modules_depend_on_each_other_one_way() {
    let graph = graph();
    assert!(graph.contains_key("decide") && graph.contains_key("policy"));
    let found = cycles(&graph);
    assert!(
        found.is_empty(),
        "the core's modules must depend one way; these cycles break it:\n{}",
        found
            .iter()
            .map(|cycle| format!("  {}", cycle.join(" -> ")))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_check_sees_a_cycle() {
    let mut graph = BTreeMap::new();
    graph.insert("a".to_owned(), BTreeSet::from(["b".to_owned()]));
    graph.insert("b".to_owned(), BTreeSet::from(["a".to_owned()]));
    assert_eq!(cycles(&graph), vec![vec!["a", "b", "a"]]);
    let code = "use crate::{calendar::{self, X}, policy::Policy};\nuse super::context::Context;";
    let mut found = paths("process::planning", code);
    found.sort();
    assert_eq!(
        found,
        vec![
            "calendar",
            "calendar::X",
            "policy::Policy",
            "process::context::Context"
        ]
    );
}

#[test]
fn domain_modules_do_not_read_the_whole_policy() {
    let graph = graph();
    let domain = [
        "calendar", "comms", "content", "flags", "gates", "health", "hotfix", "roles", "rollback",
        "runbook", "version",
    ];
    let offending: Vec<&str> = domain
        .iter()
        .copied()
        .filter(|module| {
            graph
                .get(*module)
                .is_some_and(|uses| uses.contains("policy"))
        })
        .collect();
    assert!(
        offending.is_empty(),
        "domain modules own their policy section and never use policy.rs: {offending:?}"
    );
}
