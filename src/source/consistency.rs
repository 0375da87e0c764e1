//! One consistent snapshot per set: all the queries of a job read the database as it was
//! at one moment, where the server offers that, so that an enrollment never points to a
//! person who was added (or removed) between two queries.
//!
//! - PostgreSQL: one `REPEATABLE READ READ ONLY` transaction for the whole job.
//! - SQLite: one read transaction (`BEGIN DEFERRED` … `ROLLBACK`).
//! - SQL Server: one `SNAPSHOT` transaction when the database allows it
//!   (`sys.databases.snapshot_isolation_state`); otherwise each query on its own, which does
//!   not block the SIS's writers when `READ_COMMITTED_SNAPSHOT` is on.
//! - Any other database: each query on its own.
//!
//! Which one a run used is said in the run report, the history and `check`.

use anyhow::{Context, Result, bail};

use super::Source;
use crate::config::Consistency;
use crate::query::SqlDialect;

/// Whether this connection can read a whole set at one moment, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotSupport {
    /// It can: `how` says with what, in the database's own words.
    Available { how: String },
    /// It cannot: `why` names the reason and what per-query reading means here.
    Unavailable { why: String },
}

impl Source {
    /// What this database offers for a consistent read of several queries.
    pub fn snapshot_support(&self) -> Result<SnapshotSupport> {
        Ok(match self.dialect {
            SqlDialect::PostgreSql => SnapshotSupport::Available {
                how: "one REPEATABLE READ READ ONLY transaction (a PostgreSQL snapshot)".into(),
            },
            SqlDialect::Sqlite => SnapshotSupport::Available { how: "one SQLite read transaction".into() },
            SqlDialect::SqlServer => self.sql_server_snapshot_support()?,
            SqlDialect::Generic => SnapshotSupport::Unavailable {
                why: format!("sis-extract does not know how {} gives a snapshot", self.dbms),
            },
        })
    }

    /// SQL Server offers a snapshot only where the database allows SNAPSHOT isolation. When
    /// it does not, READ_COMMITTED_SNAPSHOT decides whether a query waits on the SIS's locks.
    fn sql_server_snapshot_support(&self) -> Result<SnapshotSupport> {
        let state = self
            .first_value(SQL_SERVER_SNAPSHOT_STATE)
            .context("reading the database's snapshot settings from sys.databases")?
            .unwrap_or_default();
        let (snapshot, read_committed_snapshot) = state.split_once(',').unwrap_or((state.as_str(), ""));
        if snapshot.trim() == "1" {
            return Ok(SnapshotSupport::Available {
                how: "one SNAPSHOT isolation transaction (ALLOW_SNAPSHOT_ISOLATION is ON)".into(),
            });
        }
        let per_query = if read_committed_snapshot.trim() == "1" {
            "READ_COMMITTED_SNAPSHOT is ON, so each query reads its own snapshot without blocking the SIS"
        } else {
            "READ_COMMITTED_SNAPSHOT is OFF too, so a query can wait on the SIS's locks (up to source.lock_timeout)"
        };
        Ok(SnapshotSupport::Unavailable {
            why: format!(
                "the database does not allow SNAPSHOT isolation (ALLOW_SNAPSHOT_ISOLATION is OFF); {per_query}"
            ),
        })
    }

    /// Starts the read the job asked for, before its first query, and returns what the run
    /// report and the history say about it. A job that asks for `snapshot` where there is
    /// none fails here, before any row is read.
    pub fn begin_consistent_read(&mut self, wanted: Consistency, job: &str) -> Result<String> {
        if wanted == Consistency::PerQuery {
            return Ok("per query (consistency = \"per-query\")".into());
        }
        // An account that may not read sys.databases is no reason to lose the night: the
        // default then reads per query and says why; only an explicit "snapshot" fails.
        let support = match self.snapshot_support() {
            Ok(support) => support,
            Err(e) if wanted == Consistency::Auto => SnapshotSupport::Unavailable {
                why: format!("the snapshot settings could not be read ({e:#})"),
            },
            Err(e) => return Err(e),
        };
        match support {
            SnapshotSupport::Available { how } => {
                self.start_snapshot().with_context(|| format!("starting {how}"))?;
                Ok(format!("snapshot: {how}"))
            }
            SnapshotSupport::Unavailable { why } if wanted == Consistency::Snapshot => bail!(
                "job {job} asks for consistency = \"snapshot\", but {why}. Ask the database administrator \
                 to allow it (SQL Server: ALTER DATABASE … SET ALLOW_SNAPSHOT_ISOLATION ON), or set \
                 consistency = \"per-query\" for this job"
            ),
            SnapshotSupport::Unavailable { why } => {
                tracing::info!("no snapshot: {why}; each query reads the database as it is when it starts");
                Ok(format!("per query: {why}"))
            }
        }
    }

    /// The isolation level is set for the session before the driver's autocommit goes
    /// off, so the transaction the driver then opens (at the first query) is a snapshot
    /// from its first read.
    fn start_snapshot(&mut self) -> Result<()> {
        match self.dialect {
            SqlDialect::PostgreSql => {
                self.connection.execute(POSTGRES_SNAPSHOT_SESSION, (), None)?;
            }
            SqlDialect::SqlServer => {
                self.connection.execute("SET TRANSACTION ISOLATION LEVEL SNAPSHOT", (), None)?;
            }
            SqlDialect::Sqlite => {
                // Not through the driver's autocommit: with it off, the SQLite driver
                // stops stepping through a result and reads all of it into memory first.
                // A BEGIN of SQLite's own keeps the driver streaming; the snapshot starts
                // at the first read and lasts until the ROLLBACK.
                self.connection.execute("BEGIN DEFERRED", (), None)?;
                self.in_snapshot = true;
                return Ok(());
            }
            SqlDialect::Generic => {}
        }
        self.connection.set_autocommit(false)?;
        self.in_snapshot = true;
        Ok(())
    }

    /// Ends the snapshot's transaction (it read only, so it is rolled back).
    pub fn end_consistent_read(&mut self) -> Result<()> {
        if !std::mem::take(&mut self.in_snapshot) {
            return Ok(());
        }
        if self.dialect == SqlDialect::Sqlite {
            self.connection.execute("ROLLBACK", (), None).context("ending the snapshot's transaction")?;
        } else {
            self.connection.rollback().context("ending the snapshot's transaction")?;
            self.connection.set_autocommit(true)?;
        }
        Ok(())
    }

    /// Whether the job's queries are running inside one snapshot transaction.
    pub fn in_snapshot(&self) -> bool {
        self.in_snapshot
    }
}

/// PostgreSQL: every transaction of this session from now on is a read-only snapshot.
pub const POSTGRES_SNAPSHOT_SESSION: &str =
    "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY";

/// SQL Server: whether SNAPSHOT isolation is allowed, and whether READ_COMMITTED_SNAPSHOT
/// is on, for the database of the connection, as "1,0".
pub const SQL_SERVER_SNAPSHOT_STATE: &str = "SELECT CAST(snapshot_isolation_state AS varchar(3)) + ',' + \
     CAST(CAST(is_read_committed_snapshot_on AS int) AS varchar(3)) FROM sys.databases WHERE database_id = DB_ID()";
