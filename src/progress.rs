//! Progress on a terminal: rows fetched per query and bytes uploaded, redrawn in place
//! on stderr a few times a second. Nothing at all when stderr is not a terminal (a
//! scheduled run, CI, a pipe), so logs stay clean.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::rows::{Row, RowSink};

static ENABLED: AtomicBool = AtomicBool::new(false);
static LAST_DRAW: Mutex<Option<Instant>> = Mutex::new(None);

/// Turns progress on when stderr is a terminal and the user did not ask for quiet.
pub fn init(quiet: bool) {
    ENABLED.store(!quiet && std::io::stderr().is_terminal(), Ordering::Relaxed);
}

fn draw(text: &str, force: bool) {
    if !ENABLED.load(Ordering::Relaxed) {
        return;
    }
    let mut last = LAST_DRAW.lock().unwrap_or_else(|e| e.into_inner());
    if !force && last.is_some_and(|t| t.elapsed() < Duration::from_millis(200)) {
        return;
    }
    *last = Some(Instant::now());
    let _ = write!(std::io::stderr().lock(), "\r\x1b[2K{text}");
}

/// Erases the progress line.
pub fn clear() {
    if ENABLED.load(Ordering::Relaxed) {
        let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
    }
}

/// Bytes of `name` uploaded so far.
pub fn uploaded(name: &str, sent: u64, total: u64) {
    let percent = (sent * 100).checked_div(total).unwrap_or(100);
    draw(&format!("  uploading {name}: {} of {} KiB ({percent}%)", sent / 1024, total / 1024), sent == total);
}

/// Counts the rows passing to the real sink and shows the count; stops the extract when a
/// stop signal arrived (src/stop.rs).
pub struct Counting<'a> {
    pub inner: &'a mut dyn RowSink,
    pub file: &'a str,
    pub rows: u64,
}

impl RowSink for Counting<'_> {
    fn begin(&mut self, columns: &[String]) -> Result<()> {
        draw(&format!("  {}: running", self.file), true);
        self.inner.begin(columns)
    }

    fn row(&mut self, row: &Row) -> Result<()> {
        // A stop signal ends the extract at the next row (one atomic load per row).
        crate::stop::check()?;
        self.rows += 1;
        if self.rows.is_multiple_of(1024) {
            draw(&format!("  {}: {} rows", self.file, self.rows), false);
        }
        self.inner.row(row)
    }
}
