//! The history of dialplan edits: every text saved through the API (and the text
//! that was on disk before it), in the `dialplan_versions` table, so an admin can
//! see who changed what, compare, and roll back.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;
use uuid::Uuid;

use crate::db::{Db, DbError, now_us};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HistoryError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("stored dialplan version is invalid: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for HistoryError {
    fn from(e: sqlx::Error) -> Self {
        HistoryError::Db(DbError::Query(e))
    }
}

/// One saved version, without its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    pub id: Uuid,
    pub plan: String,
    pub sha256: String,
    pub author: String,
    pub comment: String,
    pub created_us: i64,
}

impl VersionInfo {
    pub fn created_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.created_us).unwrap_or_default()
    }
}

/// One saved version with its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub info: VersionInfo,
    pub text: String,
}

/// What to record: the text and who saved it why.
#[derive(Debug, Clone, Copy)]
pub struct NewVersion<'a> {
    pub plan: &'a str,
    pub text: &'a str,
    pub author: &'a str,
    pub comment: &'a str,
}

/// The sha256 of a text, lower-case hex: how the API names a text.
pub fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

#[derive(Clone, Debug)]
pub struct History {
    db: Db,
}

const INFO_COLUMNS: &str = "id, plan, sha256, author, comment, created_us";

impl History {
    pub fn new(db: Db) -> History {
        History { db }
    }

    /// Records a version; it is newer than every earlier version of the plan even
    /// when the clock has not moved on.
    pub async fn append(&self, v: NewVersion<'_>) -> Result<VersionInfo, HistoryError> {
        let after = self.latest(v.plan).await?.map(|l| l.created_us + 1);
        let info = VersionInfo {
            id: Uuid::new_v4(),
            plan: v.plan.to_string(),
            sha256: sha256_hex(v.text),
            author: v.author.to_string(),
            comment: v.comment.to_string(),
            created_us: now_us().max(after.unwrap_or(i64::MIN)),
        };
        sqlx::query(
            "INSERT INTO dialplan_versions (id, plan, text, sha256, author, comment, created_us) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(info.id.to_string())
        .bind(info.plan.clone())
        .bind(v.text.to_string())
        .bind(info.sha256.clone())
        .bind(info.author.clone())
        .bind(info.comment.clone())
        .bind(info.created_us)
        .execute(&self.db.pool)
        .await?;
        Ok(info)
    }

    /// The plan's versions, newest first.
    pub async fn list(&self, plan: &str) -> Result<Vec<VersionInfo>, HistoryError> {
        let sql = format!(
            "SELECT {INFO_COLUMNS} FROM dialplan_versions WHERE plan = $1 ORDER BY created_us DESC"
        );
        let rows = sqlx::query(&sql)
            .bind(plan.to_string())
            .fetch_all(&self.db.pool)
            .await?;
        rows.iter().map(info_from_row).collect()
    }

    /// The plan's newest version, if it has any.
    pub async fn latest(&self, plan: &str) -> Result<Option<VersionInfo>, HistoryError> {
        let sql = format!(
            "SELECT {INFO_COLUMNS} FROM dialplan_versions WHERE plan = $1 \
             ORDER BY created_us DESC LIMIT 1"
        );
        let row = sqlx::query(&sql)
            .bind(plan.to_string())
            .fetch_optional(&self.db.pool)
            .await?;
        row.as_ref().map(info_from_row).transpose()
    }

    /// One version of the plan with its text; `None` when the plan has no such version.
    pub async fn get(&self, plan: &str, id: Uuid) -> Result<Option<Version>, HistoryError> {
        let sql = format!(
            "SELECT {INFO_COLUMNS}, text FROM dialplan_versions WHERE plan = $1 AND id = $2"
        );
        let row = sqlx::query(&sql)
            .bind(plan.to_string())
            .bind(id.to_string())
            .fetch_optional(&self.db.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(Version {
            info: info_from_row(&row)?,
            text: row.try_get("text")?,
        }))
    }
}

fn info_from_row(r: &AnyRow) -> Result<VersionInfo, HistoryError> {
    let id: String = r.try_get("id")?;
    Ok(VersionInfo {
        id: Uuid::parse_str(&id).map_err(|e| HistoryError::Corrupt(format!("id {id}: {e}")))?,
        plan: r.try_get("plan")?,
        sha256: r.try_get("sha256")?,
        author: r.try_get("author")?,
        comment: r.try_get("comment")?,
        created_us: r.try_get("created_us")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn memory_history() -> History {
        let db = Db::connect("sqlite::memory:", 1).await.unwrap();
        db.migrate().await.unwrap();
        History::new(db)
    }

    fn version<'a>(plan: &'a str, text: &'a str, comment: &'a str) -> NewVersion<'a> {
        NewVersion {
            plan,
            text,
            author: "boss",
            comment,
        }
    }

    #[tokio::test]
    async fn dialplan_history_lists_newest_first_and_gets_texts() {
        let h = memory_history().await;
        let first = h
            .append(version("hotline", "one\n", "first"))
            .await
            .unwrap();
        let second = h
            .append(version("hotline", "two\n", "second"))
            .await
            .unwrap();
        h.append(version("other", "x\n", "elsewhere"))
            .await
            .unwrap();
        assert!(second.created_us > first.created_us, "strictly newer");
        let list = h.list("hotline").await.unwrap();
        assert_eq!(list, vec![second.clone(), first.clone()]);
        assert_eq!(h.latest("hotline").await.unwrap(), Some(second));
        let got = h.get("hotline", first.id).await.unwrap().unwrap();
        assert_eq!(got.text, "one\n");
        assert_eq!(got.info.sha256, sha256_hex("one\n"));
        assert_eq!(h.get("other", first.id).await.unwrap(), None, "per plan");
        assert!(h.list("nobody").await.unwrap().is_empty());
    }

    #[test]
    fn dialplan_sha256_is_lower_hex() {
        assert_eq!(
            sha256_hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
