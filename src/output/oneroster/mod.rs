//! OneRoster CSV output, one concept per file: `spec` (the binding as data), `normalize` (values), `columns` (query columns onto fields), `writer` (rows into
//! a file), `manifest`.
//!
//! The contract with the SQL (see docs/oneroster.md, "Writing OneRoster queries"):
//! - result columns are matched to the file's headers case-insensitively, in any order;
//!   an unknown column or a missing required one is an error naming the file and column;
//! - `<field>_prefix` columns are prepended to `<field>`'s values (ids built from integer
//!   keys, where portable SQL cannot concatenate), `userIds_type` formats `{type:value}`;
//! - consecutive rows with the same `sourcedId` are merged: list fields collect their
//!   distinct values, other fields must agree;
//! - dates, booleans, grades, sex and GUID case are normalised here, not in SQL.
//!
//! Validation of the finished set lives in `output/validate/`.

mod columns;
mod manifest;
mod normalize;
pub mod spec;
mod writer;

pub use columns::check_columns;
pub use manifest::write_manifest;
pub use normalize::{normalize_bool, normalize_date, normalize_grade, normalize_id, normalize_sex};
pub use spec::{
    BOOLEAN_FIELDS, CEDS_GRADES, DATE_FIELDS, FileSpec, LIST_FIELDS, Version, file_spec, files, is_id,
    is_list, manifest_files,
};
pub use writer::{OneRosterFile, WriterSettings, Written};
