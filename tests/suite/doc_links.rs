//! Every link in the documentation leads somewhere (issue 19): README.md, CONTRIBUTING.md
//! and every `docs/**/*.md`. For each markdown link `[text](target)` (and each reference
//! definition `[label]: target`):
//! - a relative target must name a file or folder that exists, relative to the markdown
//!   file that links to it;
//! - a `#anchor`, in the same file or in another markdown file, must be the slug of one of
//!   that file's headings (GitHub's rules: lower case, spaces become `-`, punctuation other
//!   than `-` and `_` is dropped, a repeated heading gets `-1`, `-2`, …);
//! - an external target (`http`, `https`) must at least be a well-formed URL: it is not
//!   fetched, because CI has no network; `mailto:` needs an address.
//!
//! Links inside fenced code blocks and inline code spans are not links and are skipped.
//! The test fails listing every broken link as `file:line`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md, CONTRIBUTING.md and every markdown file under docs/, sorted.
fn documentation_files(root: &Path) -> Vec<PathBuf> {
    let mut files = vec![root.join("README.md"), root.join("CONTRIBUTING.md")];
    let mut pending = vec![root.join("docs")];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries {
            let path = entry.expect("reading a docs/ folder").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// A link found in a markdown file: its 1-based line and its target, as written.
#[derive(Debug, PartialEq)]
struct Link {
    line: usize,
    target: String,
}

/// The text with every inline code span replaced by spaces of the same length, so that
/// `[x](y)` inside backticks is not taken for a link.
fn without_code_spans(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(start) = rest.find('`') {
        out.push_str(&rest[..start]);
        let ticks = rest[start..].chars().take_while(|&c| c == '`').count();
        let fence = &rest[start..start + ticks];
        let after = &rest[start + ticks..];
        match after.find(fence) {
            Some(end) => {
                out.extend(std::iter::repeat_n(' ', ticks * 2 + after[..end].chars().count()));
                rest = &after[end + ticks..];
            }
            None => {
                // An unmatched backtick is literal text.
                out.push_str(fence);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The target of a link destination as written inside `(…)`: `<x>` unwrapped, and a
/// `"title"` after a space dropped.
fn destination(raw: &str) -> String {
    let raw = raw.trim();
    if let Some(inner) = raw.strip_prefix('<').and_then(|r| r.split_once('>')) {
        return inner.0.to_string();
    }
    match raw.split_once(char::is_whitespace) {
        // `(target "title")`: the title is not part of the target.
        Some((target, title)) if title.trim_start().starts_with(['"', '\'', '(']) => target.to_string(),
        // Anything else with a space in it is not a valid target: keep it whole, to be reported.
        _ => raw.to_string(),
    }
}

/// Every inline link, image and reference definition outside code.
fn links(text: &str) -> Vec<Link> {
    let mut found = Vec::new();
    let mut fence: Option<&str> = None;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(open) = fence {
            if trimmed.starts_with(open) {
                fence = None;
            }
            continue;
        }
        if trimmed.starts_with("```") {
            fence = Some("```");
            continue;
        }
        if trimmed.starts_with("~~~") {
            fence = Some("~~~");
            continue;
        }
        let line_no = index + 1;
        let plain = without_code_spans(line);
        // Reference definitions: `[label]: target`.
        if let Some(rest) = plain.trim_start().strip_prefix('[')
            && let Some((label, after)) = rest.split_once("]:")
            && !label.is_empty()
            && !label.contains(']')
        {
            found.push(Link { line: line_no, target: destination(after) });
            continue;
        }
        // Inline links: `](` closes the text and opens the target; the target runs to the
        // `)` that balances the `(`.
        let bytes = plain.as_bytes();
        let mut at = 0;
        while let Some(pos) = plain[at..].find("](") {
            let open = at + pos + 2;
            let mut depth = 1;
            let mut end = None;
            for (offset, &b) in bytes[open..].iter().enumerate() {
                match b {
                    b'(' => depth += 1,
                    b')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = Some(open + offset);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let Some(end) = end else { break };
            found.push(Link { line: line_no, target: destination(&plain[open..end]) });
            at = end + 1;
        }
    }
    found
}

/// GitHub's anchor for a heading's text.
fn slug(heading: &str) -> String {
    // Links in a heading count by their text only: `[text](url)` → `text`.
    let mut text = String::new();
    let mut rest = heading;
    while let Some(start) = rest.find('[') {
        text.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.split_once("](").and_then(|(t, r)| r.split_once(')').map(|(_, r)| (t, r))) {
            Some((label, remainder)) => {
                text.push_str(label);
                rest = remainder;
            }
            None => {
                text.push('[');
                rest = after;
            }
        }
    }
    text.push_str(rest);
    text.trim()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// The anchors of a markdown file's ATX headings (`# …` to `###### …`), outside code.
fn anchors(text: &str) -> Vec<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = Vec::new();
    let mut fence: Option<&str> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if let Some(open) = fence {
            if trimmed.starts_with(open) {
                fence = None;
            }
            continue;
        }
        if trimmed.starts_with("```") {
            fence = Some("```");
            continue;
        }
        if trimmed.starts_with("~~~") {
            fence = Some("~~~");
            continue;
        }
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if !(1..=6).contains(&hashes) || !line[hashes..].starts_with(' ') {
            continue;
        }
        let heading = line[hashes..].trim().trim_end_matches('#').trim();
        let base = slug(heading);
        let count = seen.entry(base.clone()).or_insert(0);
        out.push(if *count == 0 { base.clone() } else { format!("{base}-{count}") });
        *count += 1;
    }
    out
}

/// Why an external target is not a well-formed URL, if it is not.
fn external_problem(target: &str) -> Option<String> {
    if let Some(address) = target.strip_prefix("mailto:") {
        return (!address.contains('@')).then(|| "a mailto: link without an address".to_string());
    }
    let rest = target.strip_prefix("https://").or_else(|| target.strip_prefix("http://"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let name = match host.rsplit_once(':') {
        Some((name, port)) if !name.ends_with(']') || name.starts_with('[') => {
            if port.is_empty() || !port.chars().all(|c| c.is_ascii_digit()) {
                return Some(format!("port {port:?} is not a number"));
            }
            name
        }
        _ => host,
    };
    let valid_name = !name.is_empty()
        && name
            .split('.')
            .all(|label| !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    if !valid_name {
        return Some(format!("host {host:?} is not a host name"));
    }
    if target.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("white space in a URL".to_string());
    }
    None
}

fn is_external(target: &str) -> bool {
    let scheme = target.split(':').next().unwrap_or("");
    target.contains(':')
        && !scheme.is_empty()
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        && !target.starts_with('/')
}

/// Every broken link of one markdown file, as `file:line: target: why`. `read` gives the
/// text of another markdown file (for its anchors); `shown` is how the file is named.
fn broken_links(file: &Path, text: &str, shown: &str) -> Vec<String> {
    let dir = file.parent().expect("a markdown file has a folder");
    let mut problems = Vec::new();
    let mut report = |line: usize, target: &str, why: String| {
        problems.push(format!("{shown}:{line}: ({target}) {why}"));
    };
    for Link { line, target } in links(text) {
        if target.is_empty() {
            report(line, &target, "empty link target".into());
            continue;
        }
        if is_external(&target) {
            let scheme = target.split(':').next().unwrap_or("").to_ascii_lowercase();
            if !matches!(scheme.as_str(), "http" | "https" | "mailto") {
                report(line, &target, format!("unexpected scheme {scheme:?} (http, https or mailto)"));
            } else if let Some(why) = external_problem(&target) {
                report(line, &target, why);
            }
            continue;
        }
        let (path_part, anchor) = match target.split_once('#') {
            Some((p, a)) => (p, Some(a)),
            None => (target.as_str(), None),
        };
        if path_part.starts_with('/') {
            report(line, &target, "absolute path: make it relative to this file".into());
            continue;
        }
        let linked = if path_part.is_empty() { file.to_path_buf() } else { dir.join(path_part) };
        if !linked.exists() {
            report(line, &target, format!("{} does not exist", linked.display()));
            continue;
        }
        let Some(anchor) = anchor else { continue };
        if linked.extension().is_none_or(|e| e != "md") {
            report(line, &target, "an anchor into a file that is not markdown cannot be checked".into());
            continue;
        }
        let linked_text = if path_part.is_empty() {
            text.to_string()
        } else {
            match std::fs::read_to_string(&linked) {
                Ok(t) => t,
                Err(e) => {
                    report(line, &target, format!("cannot read {}: {e}", linked.display()));
                    continue;
                }
            }
        };
        let headings = anchors(&linked_text);
        if !headings.iter().any(|h| h == anchor) {
            report(line, &target, format!("no heading with anchor #{anchor} in {}", linked.display()));
        }
    }
    problems
}

#[test]
fn every_documentation_link_resolves() {
    let root = repo_root();
    let files = documentation_files(&root);
    let mut problems = Vec::new();
    let mut checked = 0;
    for file in &files {
        let shown = file.strip_prefix(&root).unwrap_or(file).display().to_string();
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => {
                problems.push(format!("{shown}: cannot read: {e}"));
                continue;
            }
        };
        checked += links(&text).len();
        problems.extend(broken_links(file, &text, &shown));
    }
    assert!(files.len() >= 3, "expected README.md, CONTRIBUTING.md and docs/*.md, found {files:?}");
    assert!(checked > 0, "no links found at all: the link finder is broken");
    assert!(problems.is_empty(), "{} broken documentation link(s):\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn the_checker_finds_broken_links() {
    let dir = std::env::temp_dir().join(format!("sis-extract-doc-links-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("other.md"), "# Other page\n\n## Safety guards\n").unwrap();
    std::fs::write(dir.join("sub/exists.txt"), "x").unwrap();
    let text = "\
# Title: the `check` command?
## Repeated
## Repeated
[good](other.md#safety-guards) [good too](#title-the-check-command) [dir](sub)
[missing file](nowhere.md) [bad anchor](other.md#no-such-heading)
[same-file anchor](#missing) [second repeat](#repeated-1) [third repeat](#repeated-2)
[web](https://example.org/a_(b)) [bad web](https://exa mple.org) [ftp](ftp://example.org)
`[in code](nowhere-either.md)` and [anchor in a text file](sub/exists.txt#L1)
```
[in a fence](nowhere-at-all.md)
```
[ref]: also-missing.md
";
    let file = dir.join("page.md");
    std::fs::write(&file, text).unwrap();
    let problems = broken_links(&file, text, "page.md");
    std::fs::remove_dir_all(&dir).ok();
    let lines: Vec<&str> = problems.iter().map(|p| p.split(") ").next().unwrap()).collect();
    assert_eq!(
        lines,
        [
            "page.md:5: (nowhere.md",
            "page.md:5: (other.md#no-such-heading",
            "page.md:6: (#missing",
            "page.md:6: (#repeated-2",
            "page.md:7: (https://exa mple.org",
            "page.md:7: (ftp://example.org",
            "page.md:8: (sub/exists.txt#L1",
            "page.md:12: (also-missing.md",
        ],
        "{problems:#?}"
    );
}

#[test]
fn slugs_follow_github() {
    assert_eq!(slug("Read-only: what is guaranteed"), "read-only-what-is-guaranteed");
    assert_eq!(slug("`check`: where does the connection break?"), "check-where-does-the-connection-break");
    assert_eq!(slug("After the hardening (issue 18), 2026-12-05"), "after-the-hardening-issue-18-2026-12-05");
    assert_eq!(
        slug("Vendor profiles (`sis-extract init --vendor NAME`)"),
        "vendor-profiles-sis-extract-init---vendor-name"
    );
    assert_eq!(slug("Install on Windows Server"), "install-on-windows-server");
    assert_eq!(slug("snake_case and [a link](x.md)"), "snake_case-and-a-link");
}
