//! The database handle: one pool for SQLite (embedded default, WAL mode) or PostgreSQL,
//! chosen by URL, with the matching migrations embedded in the binary.
//!
//! Queries are written once in portable SQL with `$N` placeholders and run through
//! sqlx's `Any` driver; ids are UUID text and times are microseconds since the epoch
//! (`BIGINT`), so both databases store the same values.

use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

/// Which database a pool talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Database failures as the rest of the server sees them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    #[error("database unreachable: {0}")]
    Unreachable(String),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// A cloneable handle to the pool.
#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
}

impl Db {
    /// Connects to `url` (`sqlite://…` or `postgres://…`). For SQLite the file's
    /// directory must exist; the file is created if missing.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db, DbError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };
        let options: AnyConnectOptions = url
            .parse()
            .map_err(|e: sqlx::Error| DbError::Unreachable(e.to_string()))?;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(5))
            // A SQLite connection is a file in this process: there is nothing to
            // ping before each use (a round trip to its worker thread every query).
            .test_before_acquire(backend == Backend::Postgres)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the writer; NORMAL keeps every
                        // committed transaction across a process crash or kill.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA busy_timeout = 5000").await?;
                        // 16 MiB of pages per connection (SQLite's default is 2 MiB):
                        // the index pages of a thousand open chats stay in memory.
                        conn.execute("PRAGMA cache_size = -16384").await?;
                        // Checkpoint the WAL every 10,000 pages (~40 MiB), not 1,000:
                        // a batch of messages dirties hundreds of index pages, and
                        // the commit that crosses the mark copies them to the database
                        // file while every writer waits; rarer checkpoints copy a hot
                        // page once for many commits.
                        conn.execute("PRAGMA wal_autocheckpoint = 10000").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| DbError::Unreachable(e.to_string()))?;
        Ok(Db { pool, backend })
    }

    /// Applies pending migrations for this backend.
    pub async fn migrate(&self) -> Result<(), DbError> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&self.pool)
            .await
            .map_err(|e| DbError::Migration(e.to_string()))
    }

    /// Starts a transaction that writes. On SQLite it takes the write lock at
    /// once (`BEGIN IMMEDIATE`), waiting up to the busy timeout for another
    /// writer: a plain `BEGIN` that reads first fails at its first write with
    /// "database is locked" (`SQLITE_BUSY_SNAPSHOT`, never retried) whenever
    /// another connection committed in between, as concurrent chats do.
    pub async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    /// `begin_write` on a connection the caller holds.
    pub async fn begin_write_on<'c>(
        &self,
        conn: &'c mut sqlx::AnyConnection,
    ) -> Result<sqlx::Transaction<'c, sqlx::Any>, sqlx::Error> {
        use sqlx::Connection;
        match self.backend {
            Backend::Sqlite => conn.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => conn.begin().await,
        }
    }

    /// True when a trivial query succeeds (for `/readyz`).
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }
}

/// Current time in microseconds since the Unix epoch, the unit of every stored time.
pub fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}
