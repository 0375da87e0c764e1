//! Cron expressions in a time zone: parsing, the next and previous fire times, and how a
//! fire time is shown. Pure time arithmetic (croner with chrono-tz), a leaf module shared
//! by the config's validation and the scheduler; `schedule.rs` says why croner.

use std::str::FromStr;

use anyhow::{Result, anyhow};
use chrono::{DateTime, Local, Utc};
use chrono_tz::Tz;
use croner::Cron;

/// Parses a 5-field cron expression (minute hour day-of-month month day-of-week).
pub fn parse(expression: &str) -> Result<Cron> {
    let fields = expression.split_whitespace().count();
    if fields != 5 {
        return Err(anyhow!(
            "expected a 5-field cron expression (minute hour day month weekday), e.g. \"30 18 * * *\" for 18:30 every day; found {fields} field(s) in {expression:?}"
        ));
    }
    Cron::from_str(expression).map_err(|e| anyhow!("{expression:?} is not a valid cron expression: {e}"))
}

/// How far ahead [`check_fires`] looks: a leap day (`0 0 29 2 *`) fires at least every
/// eight years (2096, then 2104).
const FIRES_WITHIN_YEARS: i64 = 10;

/// Refuses an expression that never fires (`0 0 31 2 *`, February 31st) in the job's
/// time zone. Otherwise it would pass validation and then stop `schedule` for every job.
pub fn check_fires(cron: &Cron, expression: &str, timezone: Option<Tz>) -> Result<()> {
    let now = Utc::now();
    let limit = now + chrono::Duration::days(366 * FIRES_WITHIN_YEARS);
    match next_fire(cron, timezone, now) {
        Ok(next) if next <= limit => Ok(()),
        _ => Err(anyhow!(
            "{expression:?} never fires (no date matches it in the next {FIRES_WITHIN_YEARS} years; is it a day the month does not have, such as 31 in February?); check the day and month fields"
        )),
    }
}

/// The first fire time strictly after `after`, in the job's time zone (or the server's).
pub fn next_fire(cron: &Cron, timezone: Option<Tz>, after: DateTime<Utc>) -> Result<DateTime<Utc>> {
    let next = match timezone {
        Some(tz) => {
            cron.find_next_occurrence(&after.with_timezone(&tz), false).map(|t| t.with_timezone(&Utc))
        }
        None => cron.find_next_occurrence(&after.with_timezone(&Local), false).map(|t| t.with_timezone(&Utc)),
    };
    next.map_err(|e| anyhow!("no next fire time: {e}"))
}

/// The last fire time at or before `before`.
pub fn previous_fire(cron: &Cron, timezone: Option<Tz>, before: DateTime<Utc>) -> Option<DateTime<Utc>> {
    match timezone {
        Some(tz) => cron
            .find_previous_occurrence(&before.with_timezone(&tz), true)
            .ok()
            .map(|t| t.with_timezone(&Utc)),
        None => cron
            .find_previous_occurrence(&before.with_timezone(&Local), true)
            .ok()
            .map(|t| t.with_timezone(&Utc)),
    }
}

/// A fire time as the job's local time and UTC, e.g. `2026-03-08 03:00 CDT (08:00 UTC)`.
pub fn describe(time: DateTime<Utc>, timezone: Option<Tz>) -> String {
    let local = match timezone {
        Some(tz) => time.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string(),
        None => time.with_timezone(&Local).format("%Y-%m-%d %H:%M %:z").to_string(),
    };
    format!("{local} ({} UTC)", time.format("%Y-%m-%d %H:%M"))
}
