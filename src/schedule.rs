//! `sis-extract schedule`: fires each job on its 5-field cron expression in its IANA time
//! zone, correctly across daylight-saving changes.
//!
//! Why not tokio-cron-scheduler (the design card's choice)? Its scheduler computes every
//! fire time after the first in a *fixed* UTC offset captured when the job was created
//! (`src/scheduler.rs`: `FixedOffset::east_opt(job.time_offset_seconds)` →
//! `iter_after(now)`), so a 18:30 America/Chicago job created in winter fires at 19:30
//! local time all summer (its issue #107). croner, which it uses underneath, resolves
//! wall-clock times in the real time zone and follows the Open Cron Pattern
//! Specification for daylight saving: a fixed-time job inside a skipped hour runs once at
//! the first instant after the gap, and inside a repeated hour runs once, at the first
//! occurrence. We use croner directly with chrono-tz, in a plain loop, and test the
//! transitions with a controllable clock (`schedule --next N --now TIME`).

use std::time::Duration;

use anyhow::{Result, anyhow};
use chrono::{DateTime, Utc};
use croner::Cron;

use crate::config::{Config, Job};

pub use crate::cron::{check_fires, describe, next_fire, parse, previous_fire};

/// `schedule --next N`: the next fire times of every scheduled job.
pub fn print_next(config: &Config, count: usize, now: DateTime<Utc>) -> Result<String> {
    let mut out = String::new();
    let scheduled: Vec<&Job> = config.jobs.iter().filter(|j| j.schedule.is_some()).collect();
    if scheduled.is_empty() {
        out.push_str("no job has a schedule; add schedule = \"30 18 * * *\" to a [[job]]\n");
    }
    for job in scheduled {
        let expression = job.schedule.as_deref().unwrap_or_default();
        let cron = parse(expression)?;
        let zone = job.timezone.map_or_else(|| "server local time".to_string(), |tz| tz.name().to_string());
        out.push_str(&format!("{} ({expression:?}, {zone})\n", job.name));
        let mut after = now;
        for _ in 0..count {
            let next = next_fire(&cron, job.timezone, after)?;
            out.push_str(&format!("  {}\n", describe(next, job.timezone)));
            after = next;
        }
    }
    Ok(out)
}

/// The long-running service loop.
pub fn serve(config: &Config, run: &dyn Fn(&Job)) -> Result<()> {
    // The process-wide stop flag (src/stop.rs): a first signal lets a run in progress
    // finish and starts no new one; a second exits at once.
    crate::stop::install(crate::stop::Mode::FinishRuns)?;
    let jobs: Vec<(&Job, Cron)> = config
        .jobs
        .iter()
        .filter_map(|j| j.schedule.as_deref().map(|s| parse(s).map(|c| (j, c))))
        .collect::<Result<_>>()?;
    if jobs.is_empty() {
        return Err(anyhow!(crate::config::ConfigError(
            "no [[job]] has a schedule; add schedule = \"30 18 * * *\" (minute hour day month weekday) to the jobs to run"
                .into()
        )));
    }

    let started = Utc::now();
    let history = crate::history::read(&config.history_file).unwrap_or_default();
    let mut next: Vec<DateTime<Utc>> = Vec::new();
    for (job, cron) in &jobs {
        // A run missed while the service was down: the last fire time before now is
        // later than the job's last recorded run.
        let last_run = history.iter().rev().find(|r| r.job == job.name).map(|r| r.started.clone());
        if let (Some(previous), Some(last_run)) = (previous_fire(cron, job.timezone, started), last_run)
            && DateTime::parse_from_rfc3339(&last_run).is_ok_and(|t| t.with_timezone(&Utc) < previous)
        {
            tracing::warn!(
                job = job.name.as_str(),
                missed = describe(previous, job.timezone).as_str(),
                catch_up = job.catch_up,
                "a scheduled run was missed while sis-extract was not running"
            );
            crate::history::record_missed(&config.history_file, job, previous);
            if job.catch_up {
                run(job);
            }
        }
        let fire = next_fire(cron, job.timezone, Utc::now())?;
        tracing::info!(job = job.name.as_str(), next = describe(fire, job.timezone).as_str(), "scheduled");
        next.push(fire);
    }

    while crate::stop::requested().is_none() {
        let now = Utc::now();
        let Some((index, due)) = next.iter().enumerate().min_by_key(|(_, t)| **t).map(|(i, t)| (i, *t))
        else {
            break;
        };
        if due > now {
            // Short naps, re-reading the wall clock each time: a suspended VM or a clock
            // change cannot make us oversleep by more than a second.
            std::thread::sleep((due - now).to_std().unwrap_or_default().min(Duration::from_secs(1)));
            continue;
        }
        let (job, cron) = &jobs[index];
        tracing::info!(job = job.name.as_str(), due = describe(due, job.timezone).as_str(), "firing");
        run(job);
        // The next fire after *now*: fire times that passed while this run took long are
        // skipped, not run back to back.
        let after = Utc::now().max(due);
        next[index] = next_fire(cron, job.timezone, after)?;
        tracing::info!(
            job = job.name.as_str(),
            next = describe(next[index], job.timezone).as_str(),
            "scheduled"
        );
    }
    tracing::info!("stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use chrono_tz::Tz;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    /// Every fire time from `from` up to `to`.
    fn fires(expression: &str, tz: Tz, from: &str, to: &str) -> Vec<String> {
        let cron = parse(expression).unwrap();
        let (mut after, end) = (utc(from), utc(to));
        let mut out = Vec::new();
        loop {
            let next = next_fire(&cron, Some(tz), after).unwrap();
            if next > end {
                return out;
            }
            out.push(next.with_timezone(&tz).format("%m-%d %H:%M %Z").to_string());
            after = next;
        }
    }

    #[test]
    fn spring_forward_runs_a_skipped_time_exactly_once() {
        // 2026-03-08: clocks jump from 02:00 to 03:00 in the US.
        for tz in [chrono_tz::America::Chicago, chrono_tz::America::New_York] {
            assert_eq!(
                fires("30 2 * * *", tz, "2026-03-06T12:00:00Z", "2026-03-10T12:00:00Z"),
                ["03-07 02:30 CST", "03-08 03:00 CDT", "03-09 02:30 CDT", "03-10 02:30 CDT"].map(|s| {
                    if tz == chrono_tz::America::New_York {
                        s.replace("CST", "EST").replace("CDT", "EDT")
                    } else {
                        s.to_string()
                    }
                }),
                "{tz}"
            );
        }
    }

    #[test]
    fn fall_back_runs_a_repeated_time_exactly_once() {
        // 2026-11-01: 01:00-02:00 happens twice in the US.
        for tz in [chrono_tz::America::Chicago, chrono_tz::America::New_York] {
            let runs = fires("30 1 * * *", tz, "2026-10-30T12:00:00Z", "2026-11-03T12:00:00Z");
            assert_eq!(runs.len(), 4, "{tz}: {runs:?}");
            assert_eq!(runs.iter().filter(|r| r.starts_with("11-01")).count(), 1, "{tz}: {runs:?}");
            assert!(runs.iter().all(|r| r.contains("01:30")), "{tz}: {runs:?}");
            // The whole list, offsets included: the first 01:30 (daylight time) that night,
            // never the second one (standard time), and nothing else in between.
            let (summer, winter) =
                if tz == chrono_tz::America::Chicago { ("CDT", "CST") } else { ("EDT", "EST") };
            assert_eq!(
                runs,
                [
                    format!("10-31 01:30 {summer}"),
                    format!("11-01 01:30 {summer}"),
                    format!("11-02 01:30 {winter}"),
                    format!("11-03 01:30 {winter}"),
                ],
                "{tz}"
            );
            // Asked from the first 01:30, the next fire is the next day's, not the
            // repeated 01:30 an hour later.
            let cron = parse("30 1 * * *").unwrap();
            let first = tz.with_ymd_and_hms(2026, 11, 1, 1, 30, 0).earliest().unwrap().with_timezone(&Utc);
            let next = next_fire(&cron, Some(tz), first).unwrap();
            assert_eq!(next - first, chrono::Duration::hours(25), "{tz}: {}", describe(next, Some(tz)));
        }
    }

    #[test]
    fn an_evening_job_stays_at_its_local_time_across_both_changes() {
        let tz = chrono_tz::America::Chicago;
        for (from, to, count) in [
            ("2026-03-06T00:00:00Z", "2026-03-11T00:00:00Z", 6),
            ("2026-10-29T00:00:00Z", "2026-11-04T00:00:00Z", 5),
        ] {
            let runs = fires("30 18 * * *", tz, from, to);
            assert_eq!(runs.len(), count, "one run a day: {runs:?}");
            assert!(runs.iter().all(|r| r.contains(" 18:30 ")), "{runs:?}");
        }
        // 18:30 CST is 00:30 UTC; 18:30 CDT is 23:30 UTC.
        let cron = parse("30 18 * * *").unwrap();
        assert_eq!(
            next_fire(&cron, Some(tz), utc("2026-03-07T12:00:00Z")).unwrap(),
            utc("2026-03-08T00:30:00Z")
        );
        assert_eq!(
            next_fire(&cron, Some(tz), utc("2026-03-09T12:00:00Z")).unwrap(),
            utc("2026-03-09T23:30:00Z")
        );
    }

    #[test]
    fn previous_fire_finds_a_missed_run() {
        let tz = chrono_tz::America::Chicago;
        let cron = parse("30 18 * * *").unwrap();
        let previous = previous_fire(&cron, Some(tz), utc("2026-11-24T15:00:00Z")).unwrap();
        assert_eq!(previous, tz.with_ymd_and_hms(2026, 11, 23, 18, 30, 0).unwrap().with_timezone(&Utc));
    }

    #[test]
    fn expressions_that_never_fire_are_refused() {
        for never in ["0 0 31 2 *", "0 0 30 2 *", "0 0 31 4 *", "0 0 31 6,9,11 *"] {
            let cron = parse(never).unwrap();
            let error = check_fires(&cron, never, Some(chrono_tz::America::Chicago)).unwrap_err().to_string();
            assert!(error.contains("never fires"), "{never}: {error}");
        }
        for fires in ["0 0 29 2 *", "30 18 * * *", "0 0 31 * *", "0 0 31 1-2 *"] {
            check_fires(&parse(fires).unwrap(), fires, Some(chrono_tz::America::Chicago)).unwrap();
            check_fires(&parse(fires).unwrap(), fires, None).unwrap();
        }
    }

    #[test]
    fn bad_expressions_say_what_is_expected() {
        assert!(parse("30 18 * *").unwrap_err().to_string().contains("expected a 5-field cron expression"));
        assert!(parse("0 30 18 * * *").is_err());
        assert!(parse("99 18 * * *").unwrap_err().to_string().contains("is not a valid cron expression"));
    }
}
