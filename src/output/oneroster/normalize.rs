//! Values as OneRoster writes them: dates, booleans, CEDS grades, sex and GUID case are
//! normalised here, not in SQL, so one query serves every database.

use std::collections::BTreeMap;

use super::spec::{CEDS_GRADES, Version};

/// `2026-01-15`, `2026-01-15 00:00:00` or `2026-01-15T…` → `2026-01-15`.
pub fn normalize_date(value: &str) -> Option<String> {
    let head = value.get(..10)?;
    let rest = &value[10..];
    if !(rest.is_empty() || rest.starts_with(' ') || rest.starts_with('T')) {
        return None;
    }
    chrono::NaiveDate::parse_from_str(head, "%Y-%m-%d").ok().map(|_| head.to_string())
}

pub fn normalize_bool(value: &str) -> Option<&'static str> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "t" | "y" | "yes" => Some("true"),
        "0" | "false" | "f" | "n" | "no" => Some("false"),
        _ => None,
    }
}

/// A Campus grade name → a CEDS code: the district's own map first, then the usual forms.
pub fn normalize_grade(value: &str, grade_map: &BTreeMap<String, String>) -> Option<String> {
    let value = value.trim();
    if let Some(code) = grade_map.get(value) {
        return Some(code.clone());
    }
    if let Some(code) = CEDS_GRADES.iter().find(|c| c.eq_ignore_ascii_case(value)) {
        return Some((*code).to_string());
    }
    match value.to_ascii_uppercase().as_str() {
        "K" | "0" | "00" | "KF" | "KH" => return Some("KG".into()),
        "P" | "P3" | "P4" | "PRE-K" | "PREK" => return Some("PK".into()),
        _ => {}
    }
    match value.parse::<u8>() {
        Ok(n @ 1..=13) => Some(format!("{n:02}")),
        _ => None,
    }
}

pub fn normalize_sex(value: &str, version: Version) -> Option<&'static str> {
    match (value.trim().to_ascii_lowercase().as_str(), version) {
        ("m" | "male", _) => Some("male"),
        ("f" | "female", _) => Some("female"),
        ("x" | "o" | "other" | "n", Version::V1_2) => Some("other"),
        ("u" | "unspecified", Version::V1_2) => Some("unspecified"),
        _ => None,
    }
}

/// A GUID in any case → lower case, so an id is the same whichever database rendered it.
pub fn normalize_id(value: &str) -> String {
    let is_guid = value.len() == 36
        && value
            .char_indices()
            .all(|(i, c)| if [8, 13, 18, 23].contains(&i) { c == '-' } else { c.is_ascii_hexdigit() });
    if is_guid { value.to_ascii_lowercase() } else { value.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn values_are_normalised() {
        assert_eq!(normalize_date("2026-01-15 00:00:00").as_deref(), Some("2026-01-15"));
        assert_eq!(normalize_date("2026-02-30"), None);
        assert_eq!(normalize_date("15/01/2026"), None);
        assert_eq!(normalize_bool("Y"), Some("true"));
        assert_eq!(normalize_bool("0"), Some("false"));
        assert_eq!(normalize_bool("maybe"), None);
        let map = BTreeMap::from([("Kinder".to_string(), "KG".to_string())]);
        assert_eq!(normalize_grade("9", &map).as_deref(), Some("09"));
        assert_eq!(normalize_grade("K", &map).as_deref(), Some("KG"));
        assert_eq!(normalize_grade("Kinder", &map).as_deref(), Some("KG"));
        assert_eq!(normalize_grade("12", &map).as_deref(), Some("12"));
        assert_eq!(normalize_grade("other", &map).as_deref(), Some("Other"));
        assert_eq!(normalize_grade("14", &map), None);
        assert_eq!(normalize_sex("F", Version::V1_1), Some("female"));
        assert_eq!(normalize_sex("X", Version::V1_1), None);
        assert_eq!(normalize_sex("X", Version::V1_2), Some("other"));
        assert_eq!(
            normalize_id("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"),
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
        );
        assert_eq!(normalize_id("TERM-12"), "TERM-12");
    }
}
