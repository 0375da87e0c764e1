//! The modules of `src/` depend on each other one way only: this test reads every source
//! file, finds which other modules it names (`crate::…` paths and `super::…` paths), and
//! fails naming the modules of any cycle. A cycle means no module in it can be read or
//! changed alone (issue 19).
//!
//! A unit is a top-level module, except in the namespace folders (`destination`, `output`,
//! `output/oneroster`), whose files are units of their own; a module's `#[cfg(test)]`
//! tests and comments are not looked at.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const NAMESPACES: [&str; 3] = ["destination", "output", "output::oneroster"];

/// Module path (`destination::sftp`) → its source file's text, tests and comments cut.
fn modules() -> BTreeMap<String, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = BTreeMap::new();
    let mut pending = vec![root.clone()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(&root).unwrap().with_extension("");
            let mut parts: Vec<String> =
                relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            if parts.last().is_some_and(|p| p == "mod") {
                parts.pop();
            }
            if parts == ["lib"] || parts == ["main"] {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let text = match text.find("#[cfg(test)]\nmod tests") {
                Some(at) => text[..at].to_string(),
                None => text,
            };
            let code: String = text
                .lines()
                .map(|line| match line.find("//") {
                    Some(at) => &line[..at],
                    None => line,
                })
                .collect::<Vec<_>>()
                .join("\n");
            found.insert(parts.join("::"), code);
        }
    }
    found
}

fn unit_of(module: &str) -> String {
    let parts: Vec<&str> = module.split("::").collect();
    for k in (1..parts.len()).rev() {
        if NAMESPACES.contains(&parts[..k].join("::").as_str()) {
            return parts[..=k].join("::");
        }
    }
    parts[0].to_string()
}

/// The module paths named in `code` after `prefix` (`crate::a::b`, `crate::{a, b::c}`).
fn paths_after(code: &str, prefix: &str) -> Vec<String> {
    let path_of = |text: &str| -> String {
        let path: String =
            text.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':').collect();
        path.trim_end_matches(':').to_string()
    };
    let mut paths = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find(prefix) {
        rest = &rest[at + prefix.len()..];
        match rest.strip_prefix('{') {
            Some(group) => {
                let end = group.find('}').unwrap_or(group.len());
                paths.extend(group[..end].split(',').map(|item| path_of(item.trim())));
            }
            None => paths.push(path_of(rest)),
        }
    }
    paths
}

fn edges(modules: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let resolve = |path: &str| -> Option<String> {
        let parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
        (1..=parts.len()).rev().map(|k| parts[..k].join("::")).find(|c| modules.contains_key(c))
    };
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, code) in modules {
        let unit = unit_of(module);
        let mut targets: Vec<String> = paths_after(code, "crate::");
        // `super::x`, `super::super::x`: relative to this module's parents.
        let own: Vec<&str> = module.split("::").collect();
        let mut rest = code.as_str();
        while let Some(at) = rest.find("super::") {
            let mut tail = &rest[at..];
            let mut ups = 0;
            while let Some(after) = tail.strip_prefix("super::") {
                ups += 1;
                tail = after;
            }
            let name: String = tail.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if own.len() >= ups {
                let mut path: Vec<&str> = own[..own.len() - ups].to_vec();
                path.push(&name);
                targets.push(path.join("::"));
            }
            rest = tail;
        }
        let entry = graph.entry(unit.clone()).or_default();
        for target in targets {
            if let Some(found) = resolve(&target) {
                let other = unit_of(&found);
                if other != unit {
                    entry.insert(other);
                }
            }
        }
    }
    graph
}

/// Strongly connected components of more than one unit (Tarjan).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(state: &mut State<'a>, node: &'a str) {
        let next = state.index.len();
        state.index.insert(node, next);
        state.low.insert(node, next);
        state.stack.push(node);
        if let Some(targets) = state.graph.get(node) {
            for target in targets {
                let target = target.as_str();
                if !state.index.contains_key(target) {
                    visit(state, target);
                    let low = state.low[target].min(state.low[node]);
                    state.low.insert(node, low);
                } else if state.stack.contains(&target) {
                    let low = state.index[target].min(state.low[node]);
                    state.low.insert(node, low);
                }
            }
        }
        if state.low[node] == state.index[node] {
            let mut component = Vec::new();
            while let Some(top) = state.stack.pop() {
                component.push(top.to_string());
                if top == node {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                state.found.push(component);
            }
        }
    }
    let mut state =
        State { graph, index: BTreeMap::new(), low: BTreeMap::new(), stack: Vec::new(), found: Vec::new() };
    for node in graph.keys() {
        if !state.index.contains_key(node.as_str()) {
            visit(&mut state, node);
        }
    }
    state.found
}

#[test]
fn no_module_depends_on_itself_through_others() {
    let modules = modules();
    assert!(modules.contains_key("destination::sftp") && modules.contains_key("config"), "found {modules:?}");
    let graph = edges(&modules);
    let found = cycles(&graph);
    let shown: Vec<String> = found
        .iter()
        .map(|c| {
            let arrows: Vec<String> = c
                .iter()
                .map(|m| {
                    format!(
                        "  {m} -> {}",
                        graph[m].iter().filter(|t| c.contains(t)).cloned().collect::<Vec<_>>().join(", ")
                    )
                })
                .collect();
            arrows.join("\n")
        })
        .collect();
    assert!(
        found.is_empty(),
        "module cycles (break each with a leaf module for the shared vocabulary):\n{}",
        shown.join("\n\n")
    );
}

#[test]
fn the_checker_sees_a_cycle_when_there_is_one() {
    let mut modules = BTreeMap::new();
    modules.insert("a".to_string(), "use crate::b::Thing;".to_string());
    modules.insert("b".to_string(), "fn f() { crate::c::g() }".to_string());
    modules.insert("c".to_string(), "use crate::{a::X, d};".to_string());
    modules.insert("d".to_string(), String::new());
    modules.insert("destination".to_string(), String::new());
    modules.insert("destination::x".to_string(), "use super::y::Z;".to_string());
    modules.insert("destination::y".to_string(), "use super::x::W;".to_string());
    let found = cycles(&edges(&modules));
    assert_eq!(found, [vec!["a", "b", "c"], vec!["destination::x", "destination::y"]]);
}
