//! Vendor profiles for `sis-extract init`: commented config files for the vendors
//! districts meet. The texts live in `examples/profiles/` (and are parsed by a test).

use clap::ValueEnum;

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vendor {
    /// SchoolStatus: OneRoster 1.1 zip by SFTP, nightly 18:30 America/Chicago.
    Schoolstatus,
    /// Empower (its own ODBC pull is the documented path; this is the OneRoster fallback).
    Empower,
    /// Schoology (normally pulls over the OneRoster API; this is the CSV-by-SFTP route).
    Schoology,
    /// ClassLink Roster Server: OneRoster 1.1 into DailyImport by SFTP.
    Classlink,
    /// Any OneRoster receiver by SFTP.
    GenericOneroster,
}

impl Vendor {
    pub fn config_text(self) -> &'static str {
        match self {
            Vendor::Schoolstatus => include_str!("../examples/profiles/schoolstatus.toml"),
            Vendor::Empower => include_str!("../examples/profiles/empower.toml"),
            Vendor::Schoology => include_str!("../examples/profiles/schoology.toml"),
            Vendor::Classlink => include_str!("../examples/profiles/classlink.toml"),
            Vendor::GenericOneroster => include_str!("../examples/profiles/generic-oneroster.toml"),
        }
    }
}
