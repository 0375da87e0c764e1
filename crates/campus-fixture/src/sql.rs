//! SQL writing: multi-row INSERTs of at most CHUNK rows, every text checked against its column, and the header.

use crate::*;

/// Streams multi-row INSERT statements of at most CHUNK rows. Values are appended to the
/// current row with the typed methods; `end` closes the row and reports any error (a text
/// longer than its column, a wrong number of values).
pub(crate) struct Sql<'w> {
    pub(crate) out: &'w mut dyn Write,
    pub(crate) buf: Vec<u8>,
    pub(crate) table: Option<&'static Table>,
    pub(crate) in_statement: usize,
    pub(crate) col: usize,
    pub(crate) error: Option<String>,
}

impl<'w> Sql<'w> {
    pub(crate) fn new(out: &'w mut dyn Write) -> Sql<'w> {
        Sql { out, buf: Vec::with_capacity(1 << 17), table: None, in_statement: 0, col: 0, error: None }
    }

    pub(crate) fn raw(&mut self, s: &str) {
        self.buf.extend_from_slice(s.as_bytes());
    }

    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    /// Ends the current statement and starts writing rows of `table`.
    pub(crate) fn start(&mut self, table: Option<&'static Table>) -> io::Result<()> {
        if self.in_statement > 0 {
            self.raw(";\n");
            self.in_statement = 0;
        }
        self.table = table;
        if let Some(t) = table {
            self.raw(&format!("\n-- {}\n", t.name.trim_matches('"')));
        }
        self.flush()
    }

    pub(crate) fn row(&mut self) -> &mut Self {
        let table = self.table.expect("a table");
        if self.in_statement == 0 {
            let cols: Vec<&str> = table.cols.iter().map(|c| c.name).collect();
            self.raw(&format!("INSERT INTO {} ({}) VALUES\n    (", table.name, cols.join(", ")));
        } else {
            self.raw(",\n    (");
        }
        self.col = 0;
        self
    }

    /// Moves to the next column; its character limit.
    pub(crate) fn next_col(&mut self) -> usize {
        let table = self.table.expect("a table");
        let max = match table.cols.get(self.col) {
            Some(col) => col.max,
            None => {
                self.error.get_or_insert_with(|| format!("{}: too many values", table.name));
                0
            }
        };
        if self.col > 0 {
            self.raw(", ");
        }
        self.col += 1;
        max
    }

    pub(crate) fn int(&mut self, v: impl Into<i64>) -> &mut Self {
        self.next_col();
        let v: i64 = v.into();
        self.buf.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
        self
    }

    pub(crate) fn null(&mut self) -> &mut Self {
        self.next_col();
        self.raw("NULL");
        self
    }

    pub(crate) fn opt_int(&mut self, v: Option<impl Into<i64>>) -> &mut Self {
        match v {
            Some(v) => self.int(v),
            None => self.null(),
        }
    }

    pub(crate) fn flag(&mut self, v: bool) -> &mut Self {
        self.int(u8::from(v))
    }

    pub(crate) fn text(&mut self, s: &str) -> &mut Self {
        let max = self.next_col();
        if max > 0 && s.len() > max && s.chars().count() > max {
            let table = self.table.expect("a table");
            let col = table.cols[self.col - 1].name;
            self.error.get_or_insert_with(|| format!("{}.{col}: {s:?} is longer than {max}", table.name));
        }
        self.buf.push(b'\'');
        for &b in s.as_bytes() {
            if b == b'\'' {
                self.buf.push(b'\'');
            }
            self.buf.push(b);
        }
        self.buf.push(b'\'');
        self
    }

    pub(crate) fn opt_text(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            Some(s) => self.text(s),
            None => self.null(),
        }
    }

    pub(crate) fn date(&mut self, date: Date) -> &mut Self {
        self.next_col();
        let (y, m, d) = date.parts();
        self.raw(&format!("'{y:04}-{m:02}-{d:02}'"));
        self
    }

    pub(crate) fn opt_date(&mut self, date: Option<Date>) -> &mut Self {
        match date {
            Some(date) => self.date(date),
            None => self.null(),
        }
    }

    /// A timestamp at the given minute of a day.
    pub(crate) fn stamp(&mut self, date: Date, minute: u32) -> &mut Self {
        self.next_col();
        let (y, m, d) = date.parts();
        self.raw(&format!("'{y:04}-{m:02}-{d:02} {:02}:{:02}:00'", minute / 60 % 24, minute % 60));
        self
    }

    pub(crate) fn end(&mut self) -> io::Result<()> {
        self.buf.push(b')');
        let table = self.table.expect("a table");
        if self.col != table.cols.len() && self.error.is_none() {
            self.error =
                Some(format!("{}: {} values for {} columns", table.name, self.col, table.cols.len()));
        }
        if let Some(error) = self.error.take() {
            return Err(io::Error::new(io::ErrorKind::InvalidData, error));
        }
        self.in_statement += 1;
        if self.in_statement == CHUNK {
            self.raw(";\n");
            self.in_statement = 0;
            if self.buf.len() >= 1 << 16 {
                self.flush()?;
            }
        }
        Ok(())
    }
}

pub(crate) fn write_header(plan: &Plan, w: &mut Sql) {
    let d = &plan.d;
    w.raw(&format!(
        "-- Campus-like district generated by sis-extract's fixture generator\n\
         -- (crates/campus-fixture), seed {seed}, {n} students. Do not edit: regenerate.\n\
         -- Load after crates/campus-fixture/schema.sql, on SQLite 3 or PostgreSQL (UTF-8).\n\
         --\n\
         -- District {DISTRICT_ID}, Maple Valley School District No. 417: {e} elementary schools\n\
         -- (K-5), {h} middle-high schools (6-12), and Maple Valley Online Academy with\n\
         -- School.exclude = 1. SchoolYear 2026 is active (2025-08-20 to 2026-06-05); 2025 and\n\
         -- 2027 (calendars, pre-enrollments and schedules) exist too. Designed to be extracted\n\
         -- as of {as_of}: the JSON written with this file says what a correct extract holds.\n\
         --\n\
         -- Traps, as of {as_of} (the first {show} students are a fixed showcase, the others\n\
         -- carry the same traps at random, about 10% of them):\n\
         --   noShow = 1 / stateExclude = 1 enrollments that keep their rosters (Julian Cook,\n\
         --   Henry Taylor); withdrawals before and after the date and on it (Daniel Scott,\n\
         --   Owen Parker, Yuki Tanaka); starts before, on and after it (Aarav Patel, Fatima\n\
         --   Al-Sayed, Amelia Clark); a re-entry (Ryan O'Malley); transfers between schools\n\
         --   before and after it (Camille Lefèvre, Seán Ó Briain); secondary enrollments at an\n\
         --   included school, at the excluded school and in summer school (José Ramírez, Stella\n\
         --   Rivera, Gabriel Sanchez); a primary enrollment at the excluded school with a\n\
         --   secondary one at an included school (Noor Haddad); students only at the excluded\n\
         --   school or in an excluded calendar (Maya Cooper, Hazel Howard); an enrollment never\n\
         --   closed after last year (Ezra Ward); a kindergartner of next year only (Oliver\n\
         --   Nguyen-Smith); NULL noShow/stateExclude on ordinary enrollments; an older identity\n\
         --   (Zoë Müller, née Schmidt); orphan persons (currentIdentityID NULL).\n\
         --   Sections: co-teachers (staffType T), a teacher replaced at the winter break\n\
         --   (Section.teacherPersonID still names the one who left), a duplicated primary row,\n\
         --   a teacher who is also co-teacher of the same section, an empty section with no\n\
         --   teacher, an inactive course with rosters, draft trials (Trial.active = 0) with copies\n\
         --   of sections, next year's rosters with NULL dates, a student who changes sections at\n\
         --   the break. Staff: a teacher who leaves at the break, hires starting after the date,\n\
         --   a teacher at two schools, two assignments at one school, staff of the excluded school.\n\
         --   Guardians shared by siblings, a teacher who is a guardian, non-guardian relatives,\n\
         --   an ended foster link, links not yet in force, guardians without e-mail, usernames\n\
         --   with spaces. Accounts: a student without one (Chloe Martin), with a disabled one\n\
         --   (Elijah White), with a locked one (Emily Green); guardians without a parent-portal\n\
         --   account (those without e-mail) or with a disabled one (Giulia D'Amico); an aide\n\
         --   whose work account is disabled; a teacher (Thomas Becker) whose parent-portal\n\
         --   account has a lower userID than his work account. Names such as O'Brien, Zoë, Nguyễn, 王小明, Иванов, 'Washington,\n\
         --   Jr.' and 'Robert \"Bobby\"'.\n",
        seed = d.seed,
        n = d.n,
        e = d.n_elem,
        h = d.n_high,
        as_of = AS_OF.iso(),
        show = SHOW_LEN,
    ));
}
