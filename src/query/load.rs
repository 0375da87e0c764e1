//! Query sets: a job's folder of `.sql` files (names checked before any file is read),
//! or a set shipped inside the binary (`builtin:NAME`), each file read with bounds and
//! vetted ([`super::vet`]).

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};
use sha2::{Digest, Sha256};

use super::*;

/// Loads every `.sql` file of `dir`, in name order, and vets each. The folder's file names
/// are checked first, so a bad name stops the job before any query is read or run.
/// `builtin:NAME` (see [`BUILTIN_PREFIX`]) loads a query set shipped inside the binary,
/// through the very same checks (names, size, UTF-8, one read-only statement).
pub fn load_dir(dir: &Path) -> Result<Vec<SqlFile>> {
    if let Some(name) = builtin_name(dir) {
        return load_builtin(name);
    }
    let paths = list_dir(dir)?;
    paths.iter().map(|p| load_file(p)).collect()
}

/// How a job's `queries` names a query set shipped inside the binary:
/// `queries = "builtin:infinite-campus/oneroster-1.1"`. A folder that really is named
/// `builtin:…` can still be given as `./builtin:…`.
pub const BUILTIN_PREFIX: &str = "builtin:";

/// The query sets shipped inside the binary, so that an install is one file: the folders
/// of `queries/` in the source tree, file by file (a unit test checks that this table and
/// the folders hold the same files). A `queries` folder path overrides them.
pub(super) const BUILTIN_SETS: &[(&str, &[BuiltinFile])] = &[
    (
        "demo",
        &[
            ("rosters.sql", include_bytes!("../../queries/demo/rosters.sql")),
            ("sections.sql", include_bytes!("../../queries/demo/sections.sql")),
            ("staff.sql", include_bytes!("../../queries/demo/staff.sql")),
            ("students.sql", include_bytes!("../../queries/demo/students.sql")),
        ],
    ),
    (
        "infinite-campus/clever",
        &[
            ("enrollments.sql", include_bytes!("../../queries/infinite-campus/clever/enrollments.sql")),
            ("schools.sql", include_bytes!("../../queries/infinite-campus/clever/schools.sql")),
            ("sections.sql", include_bytes!("../../queries/infinite-campus/clever/sections.sql")),
            ("staff.sql", include_bytes!("../../queries/infinite-campus/clever/staff.sql")),
            ("students.sql", include_bytes!("../../queries/infinite-campus/clever/students.sql")),
            ("teachers.sql", include_bytes!("../../queries/infinite-campus/clever/teachers.sql")),
        ],
    ),
    (
        "infinite-campus/oneroster-1.1",
        &[
            (
                "academicSessions.sql",
                include_bytes!("../../queries/infinite-campus/oneroster-1.1/academicSessions.sql"),
            ),
            ("classes.sql", include_bytes!("../../queries/infinite-campus/oneroster-1.1/classes.sql")),
            ("courses.sql", include_bytes!("../../queries/infinite-campus/oneroster-1.1/courses.sql")),
            (
                "demographics.sql",
                include_bytes!("../../queries/infinite-campus/oneroster-1.1/demographics.sql"),
            ),
            (
                "enrollments.sql",
                include_bytes!("../../queries/infinite-campus/oneroster-1.1/enrollments.sql"),
            ),
            ("orgs.sql", include_bytes!("../../queries/infinite-campus/oneroster-1.1/orgs.sql")),
            ("users.sql", include_bytes!("../../queries/infinite-campus/oneroster-1.1/users.sql")),
        ],
    ),
];

/// One file of a built-in set: its name and its bytes.
pub(super) type BuiltinFile = (&'static str, &'static [u8]);

/// The name after `builtin:` when `queries` names a built-in set.
pub fn builtin_name(queries: &Path) -> Option<&str> {
    queries.to_str()?.strip_prefix(BUILTIN_PREFIX)
}

/// Every built-in set as it is written in the config (`builtin:demo`, …).
pub fn builtin_sets() -> Vec<String> {
    BUILTIN_SETS.iter().map(|(name, _)| format!("{BUILTIN_PREFIX}{name}")).collect()
}

/// Whether `name` (without the prefix) is a built-in set.
pub fn is_builtin_set(name: &str) -> bool {
    BUILTIN_SETS.iter().any(|(set, _)| *set == name)
}

/// Loads a built-in set, with the checks [`list_dir`] and [`load_file`] make on files.
/// Each query's path reads `builtin:SET/FILE.sql`, so messages and the history name it.
fn load_builtin(name: &str) -> Result<Vec<SqlFile>> {
    let Some((_, files)) = BUILTIN_SETS.iter().find(|(set, _)| *set == name) else {
        bail!(
            "there is no built-in query set {BUILTIN_PREFIX}{name}; the built-in sets are {} (or give a folder of .sql files)",
            builtin_sets().join(", ")
        );
    };
    let dir = PathBuf::from(format!("{BUILTIN_PREFIX}{name}"));
    let mut names: Vec<&str> = files.iter().map(|(file, _)| *file).collect();
    names.sort_unstable();
    check_names(&dir, &names)?;
    names
        .iter()
        .map(|file| {
            let bytes = files.iter().find(|(f, _)| f == file).map(|(_, b)| *b).unwrap_or_default();
            if bytes.len() as u64 > MAX_QUERY_FILE_BYTES {
                bail!(
                    "query file {}/{file} is {} bytes, over the limit of {MAX_QUERY_FILE_BYTES} (1 MiB)",
                    dir.display(),
                    bytes.len()
                );
            }
            from_bytes(&PathBuf::from(format!("{}/{file}", dir.display())), bytes.to_vec())
        })
        .collect()
}

/// The `.sql` files of `dir`, in name order, after checking their names: each must be
/// UTF-8 without control characters or backslashes (it names an output file and a zip
/// entry), and no two may differ only in case (`users.sql`, `users.SQL`: on Windows and
/// in a zip they are the same file).
pub fn list_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        anyhow!(
            "cannot read the query folder {}: {e}. Check the job's `queries` setting (relative paths are relative to the config file)",
            dir.display()
        )
    })?;
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry?;
        let raw_name = entry.file_name();
        let is_sql = Path::new(&raw_name).extension().is_some_and(|e| e.eq_ignore_ascii_case("sql"));
        if !is_sql {
            continue;
        }
        if raw_name.to_str().is_none() {
            bail!(
                "the query folder {} holds a file whose name is not valid UTF-8 ({}); rename it: query file names become output file names",
                dir.display(),
                raw_name.to_string_lossy()
            );
        }
        paths.push(entry.path());
    }
    paths.sort();
    let names: Vec<&str> =
        paths.iter().map(|p| p.file_name().and_then(|n| n.to_str()).unwrap_or_default()).collect();
    check_names(dir, &names)?;
    Ok(paths)
}

/// The checks on a query set's file names (UTF-8 already): at least one, no control
/// characters or backslashes, no two that differ only in case. `names` are sorted.
fn check_names(dir: &Path, names: &[&str]) -> Result<()> {
    if names.is_empty() {
        bail!(
            "the query folder {} holds no .sql files; each output file needs one query file (users.sql → users.csv)",
            dir.display()
        );
    }
    for name in names {
        if let Some(bad) = name.chars().find(|c| c.is_control() || *c == '\\') {
            bail!(
                "the query folder {} holds a file whose name contains {}: {:?}; rename it to letters, digits, `-` and `_` (users.sql)",
                dir.display(),
                if bad == '\\' {
                    "a backslash".to_string()
                } else {
                    format!("the control character U+{:04X}", bad as u32)
                },
                name
            );
        }
    }
    for (i, a_name) in names.iter().enumerate() {
        for b_name in &names[i + 1..] {
            if a_name.to_lowercase() == b_name.to_lowercase() {
                bail!(
                    "the query folder {} holds {a_name:?} and {b_name:?}, which differ only in case and would write the same output file; remove one",
                    dir.display()
                );
            }
        }
    }
    Ok(())
}

/// Loads and vets one query file. It must be a regular file (a symbolic link is refused
/// without reading it, so an error can never quote another file's content), at most
/// [`MAX_QUERY_FILE_BYTES`], and UTF-8.
pub fn load_file(path: &Path) -> Result<SqlFile> {
    let metadata = std::fs::symlink_metadata(path)
        .map_err(|e| anyhow!("cannot read query file {}: {e}", path.display()))?;
    if metadata.file_type().is_symlink() {
        let target = std::fs::read_link(path).map(|t| t.display().to_string()).unwrap_or_else(|_| "?".into());
        bail!(
            "query file {} is a symbolic link (to {target}); sis-extract reads only regular files in the query folder: copy the query in instead",
            path.display()
        );
    }
    if !metadata.is_file() {
        bail!(
            "query file {} is not a regular file; the query folder must hold plain .sql text files",
            path.display()
        );
    }
    if metadata.len() > MAX_QUERY_FILE_BYTES {
        bail!(
            "query file {} is {} bytes, over the limit of {MAX_QUERY_FILE_BYTES} (1 MiB); an extract query is a few kilobytes: is this the right file?",
            path.display(),
            metadata.len()
        );
    }
    let mut bytes = Vec::new();
    {
        use std::io::Read;
        let file = std::fs::File::open(path)
            .map_err(|e| anyhow!("cannot read query file {}: {e}", path.display()))?;
        // The size was checked above; `take` also bounds a file that grows meanwhile.
        file.take(MAX_QUERY_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| anyhow!("cannot read query file {}: {e}", path.display()))?;
    }
    if bytes.len() as u64 > MAX_QUERY_FILE_BYTES {
        bail!(
            "query file {} grew over the limit of {MAX_QUERY_FILE_BYTES} bytes while it was read",
            path.display()
        );
    }
    from_bytes(path, bytes)
}

/// Vets the bytes of a query file (read from `path`, or built in and named by it): UTF-8,
/// then one read-only statement.
fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<SqlFile> {
    let text = String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..offset].iter().filter(|b| **b == b'\n').count() + 1;
        anyhow!(
            "{} line {line}: the file is not UTF-8 text (byte offset {offset}); save it as UTF-8",
            path.display()
        )
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text).to_string();
    let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
    let placeholders = vet(&text).map_err(|v| anyhow!("{} {v}", path.display()))?;
    let sha256 = hex(&Sha256::digest(text.as_bytes()));
    Ok(SqlFile { name, path: path.to_path_buf(), text, placeholders, sha256 })
}
