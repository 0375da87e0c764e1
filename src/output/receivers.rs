//! What each receiving system publishes about the files it accepts, as one table: each
//! rule's receivers, its severity and where it is written down. The checks themselves are
//! in `receiver_check.rs`; this module is data and lookups only, so the config (a job's
//! `receiver`), the CLI (`validate --for`) and the docs read the same table.
//!
//! Severity, decided per rule (docs/receivers.md explains each):
//! - **error** when the receiver would refuse or misread the file or the whole set, or
//!   delete what it already has: the set is kept and nothing is delivered;
//! - **warning** when the receiver skips or degrades only the records concerned: holding
//!   back the whole set would also hold back every other change, so the run delivers and
//!   the warning goes into the log, the run report and the history.
//!
//! `generic` has no rules beyond the OneRoster binding itself, so a job without a
//! `receiver` setting behaves as before.

use serde::{Deserialize, Serialize};

pub use super::oneroster::spec::is_id_char_1_2;

/// The system a set is for (`receiver` in a `[[job]]`, `validate --for`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Receiver {
    /// Only the OneRoster binding (or, for plain CSV, nothing more).
    #[default]
    Generic,
    /// SchoolStatus: OneRoster 1.1 by SFTP.
    Schoolstatus,
    /// Schoology (PowerSchool): OneRoster CSV import.
    Schoology,
    /// ClassLink: OneRoster CSV by SFTP.
    Classlink,
    /// Clever: OneRoster, or Clever's own five-file CSV format.
    Clever,
    /// Microsoft School Data Sync.
    Sds,
    /// Canvas SIS import.
    Canvas,
}

impl Receiver {
    pub fn name(self) -> &'static str {
        match self {
            Receiver::Generic => "generic",
            Receiver::Schoolstatus => "schoolstatus",
            Receiver::Schoology => "schoology",
            Receiver::Classlink => "classlink",
            Receiver::Clever => "clever",
            Receiver::Sds => "sds",
            Receiver::Canvas => "canvas",
        }
    }

    /// The rules that apply to this receiver, in table order.
    pub fn rules(self) -> impl Iterator<Item = &'static Rule> {
        RULES.iter().filter(move |rule| rule.receivers.contains(&self))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The set is kept and not delivered.
    Error,
    /// Logged and recorded; the set is delivered.
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// Which sets a rule can be checked on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applies {
    /// OneRoster sets only (it names OneRoster files or fields).
    OneRoster,
    /// Plain CSV sets only (OneRoster sets get the same check from the binding's validation).
    Csv,
    /// Any set.
    Any,
}

/// One published rule of one or more receivers.
#[derive(Debug)]
pub struct Rule {
    /// Stable name, used in reports, JSON and docs/receivers.md.
    pub id: &'static str,
    pub receivers: &'static [Receiver],
    pub severity: Severity,
    pub applies: Applies,
    /// What is wrong with a finding, as a report's heading says it.
    pub what: &'static str,
    /// What the district does about it, in the SIS.
    pub fix: &'static str,
    /// Where the receiver says so.
    pub source: &'static str,
}

use Receiver::{Canvas, Classlink, Clever, Schoology, Schoolstatus, Sds};

/// Every named receiver: rules that all of them share.
const ALL_NAMED: &[Receiver] = &[Schoolstatus, Schoology, Classlink, Clever, Sds, Canvas];

/// Clever's advised longest string (dev.clever.com data-model quirks: no limit, 255 advised).
pub const CLEVER_MAX_ID: usize = 255;

/// The rules, in the order reports list them.
pub static RULES: &[Rule] = &[
    Rule {
        id: "no-empty-files",
        receivers: ALL_NAMED,
        severity: Severity::Error,
        applies: Applies::Csv,
        what: "a data file has a header but no rows",
        fix: "a receiver may read an empty file as \"delete everyone\": check the query and the SIS data behind it",
        source: "https://help.rapididentity.com/docs/en/oneroster-csv-provider-template (restating the OneRoster binding); Great Minds file specifications",
    },
    Rule {
        id: "no-line-breaks",
        receivers: &[Sds],
        severity: Severity::Error,
        applies: Applies::Any,
        what: "a value contains a line break",
        fix: "School Data Sync reads a line break as the end of the row, so the file is misread: remove the line break from the field in the SIS (or strip it in the query)",
        source: "https://learn.microsoft.com/schooldatasync/sds-v2.1-csv-file-format",
    },
    Rule {
        id: "sds-bulk-only",
        receivers: &[Sds],
        severity: Severity::Error,
        applies: Applies::OneRoster,
        what: "the manifest marks a file delta",
        fix: "School Data Sync takes bulk files only: send the whole file (mark it bulk)",
        source: "https://learn.microsoft.com/schooldatasync/sds-v2.1-csv-file-format",
    },
    Rule {
        id: "id-characters",
        receivers: &[Schoolstatus, Schoology, Classlink, Sds, Canvas],
        severity: Severity::Warning,
        applies: Applies::OneRoster,
        what: "a sourcedId has characters outside 0-9 a-z A-Z . - _ / @",
        fix: "the OneRoster 1.2 binding allows only these in ids (Great Minds allows even fewer: no / or @); a strict importer drops the record: change how the query builds the id",
        source: "OneRoster v1.2.1 CSV binding, identifiers (1edtech.org; copy: imsjapan/github.io docsv1p2/specification/csv-binding1p2p1); https://digitalsupport.greatminds.org/s/article/oneroster-file-specifications-users-csv",
    },
    Rule {
        id: "clever-id-length",
        receivers: &[Clever],
        severity: Severity::Warning,
        applies: Applies::OneRoster,
        what: "a sourcedId is longer than 255 characters",
        fix: "Clever advises strings of at most 255 characters: shorten the id the query builds",
        source: "https://dev.clever.com/docs/data-model-quirks-and-supported-features-classroom-integrations",
    },
    Rule {
        id: "username-spaces",
        receivers: &[Schoology],
        severity: Severity::Warning,
        applies: Applies::OneRoster,
        what: "a username contains a space",
        fix: "Schoology does not sync these users (the rest sync): give them a username without spaces in the SIS (for Campus guardians, the Campus Parent login)",
        source: "Schoology's Infinite Campus app notes (district onboarding, seed 003; shared/reference/receivers.md)",
    },
    Rule {
        id: "email-missing",
        receivers: &[Sds, Canvas],
        severity: Severity::Warning,
        applies: Applies::OneRoster,
        what: "a student or teacher has no e-mail",
        fix: "these users sign in with their e-mail and are not matched without one: add the e-mail in the SIS",
        source: "https://learn.microsoft.com/schooldatasync/sds-v2.1-csv-file-format; https://developerdocs.instructure.com/services/canvas/sis/file.sis_csv (users key on e-mail/login)",
    },
    Rule {
        id: "sds-roles",
        receivers: &[Sds],
        severity: Severity::Warning,
        applies: Applies::OneRoster,
        what: "a role School Data Sync does not have (guardian, parent, siteAdministrator)",
        fix: "School Data Sync skips these users: leave guardians out of an SDS job (people setting or query), or map the role",
        source: "https://learn.microsoft.com \"OneRoster 1.2 CSV formatted files for SDS\" (shared/reference/oneroster-csv.md)",
    },
    Rule {
        id: "clever-section-without-students",
        receivers: &[Clever],
        severity: Severity::Warning,
        applies: Applies::Any,
        what: "a class (section) has no student enrolled",
        fix: "Clever does not sync a section without students: enrol students, or leave the section out of the extract",
        source: "https://dev.clever.com/docs/data-model-quirks-and-supported-features-classroom-integrations",
    },
    Rule {
        id: "clever-primary-teacher",
        receivers: &[Clever],
        severity: Severity::Warning,
        applies: Applies::Any,
        what: "a class (section) has no primary teacher, or more than one",
        fix: "a Clever section has exactly one primary teacher: mark one teacher of the section primary in the SIS (Campus: staff type P)",
        source: "https://dev.clever.com/docs/data-model-quirks-and-supported-features-classroom-integrations",
    },
];

/// A rule by its id.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_every_named_receiver_has_rules() {
        for (i, a) in RULES.iter().enumerate() {
            assert!(RULES[i + 1..].iter().all(|b| b.id != a.id), "{} twice", a.id);
            assert!(!a.receivers.contains(&Receiver::Generic), "{}: generic has no rules", a.id);
        }
        for receiver in ALL_NAMED {
            assert!(receiver.rules().next().is_some(), "{}", receiver.name());
        }
    }
}
