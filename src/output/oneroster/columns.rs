//! How a query's result columns map onto a OneRoster file's fields: by name, in any
//! order, with `_prefix` and `userIds_type` helpers. Used by the writer and by `check`.

use anyhow::{Result, bail};

use super::spec::{FileSpec, Version, file_spec};

/// Where one query column goes.
#[derive(Debug, Clone, Copy)]
pub(super) enum Target {
    Field(usize),
    PrefixOf(usize),
    UserIdsType,
    /// 1.2 users: the 1.1-style `role` column, which goes to roles.csv.
    Role,
    /// 1.2 users: the 1.1-style `orgSourcedIds` column, which goes to roles.csv.
    Orgs,
    /// A `_prefix` column for `orgSourcedIds` in a 1.2 users query.
    OrgsPrefix,
}

/// How a query's columns map onto `spec`'s fields; an unknown column or a missing
/// required one is an error naming the file and column.
pub(super) fn map_columns(
    spec: &FileSpec,
    version: Version,
    derives_roles: bool,
    columns: &[String],
) -> Result<Vec<Target>> {
    let file = format!("{}.sql", spec.name);
    let find = |name: &str| spec.headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let mut targets = Vec::with_capacity(columns.len());
    for column in columns {
        let target = if derives_roles && column.eq_ignore_ascii_case("role") {
            Target::Role
        } else if derives_roles && column.eq_ignore_ascii_case("orgSourcedIds") {
            Target::Orgs
        } else if derives_roles && column.eq_ignore_ascii_case("orgSourcedIds_prefix") {
            Target::OrgsPrefix
        } else if column.eq_ignore_ascii_case("userIds_type") && find("userIds").is_some() {
            Target::UserIdsType
        } else if let Some(field) = column.len().checked_sub(7).and_then(|cut| {
            column[cut..].eq_ignore_ascii_case("_prefix").then(|| find(&column[..cut])).flatten()
        }) {
            Target::PrefixOf(field)
        } else if let Some(field) = find(column) {
            Target::Field(field)
        } else {
            bail!(
                "{file}: column {column:?} is not a field of {}.csv (OneRoster {}); its fields are: {}. \
                 Rename it with AS to one of them, or remove it",
                spec.name,
                version.number(),
                spec.headers.join(", ")
            );
        };
        targets.push(target);
    }
    for required in spec.required {
        let present = targets.iter().any(|t| matches!(t, Target::Field(i) if spec.headers[*i] == *required));
        if !present {
            bail!(
                "{file}: the query has no column {required:?}, which {}.csv requires; add it (e.g. `… AS {required}`)",
                spec.name
            );
        }
    }
    if derives_roles {
        for (needed, present) in [
            ("role", targets.iter().any(|t| matches!(t, Target::Role))),
            ("orgSourcedIds", targets.iter().any(|t| matches!(t, Target::Orgs))),
        ] {
            if !present {
                bail!(
                    "{file}: the query has no column {needed:?}; for OneRoster 1.2 sis-extract builds roles.csv from the users query's role and orgSourcedIds columns"
                );
            }
        }
    }
    Ok(targets)
}

/// `check`: do these result columns fit the OneRoster file the query is named after?
pub fn check_columns(version: Version, query_name: &str, columns: &[String]) -> Result<()> {
    let Some(spec) = file_spec(version, query_name) else {
        bail!("{query_name}.sql is not a OneRoster {} file", version.number());
    };
    let derives_roles = version == Version::V1_2 && spec.name == "users";
    map_columns(spec, version, derives_roles, columns).map(|_| ())
}
