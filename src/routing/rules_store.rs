//! The routing rules in force: stored as one JSON document in `routing_rules`
//! (so they survive a restart), held in memory as an immutable snapshot that new
//! conversations read without waiting, and replaced whole, checked first, by one
//! save at a time. The dialplans' named intents the rules may use are read from
//! the dialplan registry and kept until it reloads.

use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::rules::{Decision, Facts, Intents, RuleSet, Rules};
use super::rules_check::{self, Known, RuleError};
use crate::db::{Db, DbError, now_us};
use crate::dialplan::registry::Registry;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RulesError {
    /// The set does not pass its checks; names the rule and field.
    #[error(transparent)]
    Invalid(#[from] RuleError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("the stored routing rules are unusable: {0}")]
    Corrupt(String),
    /// The save was based on another version than the one in force.
    #[error(
        "version: the rules in force are version {current}; read them again and reapply the change"
    )]
    Stale { current: i64 },
}

impl From<sqlx::Error> for RulesError {
    fn from(e: sqlx::Error) -> Self {
        RulesError::Db(DbError::Query(e))
    }
}

/// The rules in force with who saved them.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub rules: Rules,
    /// Saves so far; 0 before the first.
    pub version: i64,
    pub updated_by: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// A handle to the rules in force; cheap to clone.
#[derive(Clone)]
pub struct RoutingRules {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    dialplans: Arc<Registry>,
    current: RwLock<Arc<Snapshot>>,
    /// The registry version the intents were read from, and them.
    intents: Mutex<Option<(u64, Arc<Intents>)>>,
    saves: tokio::sync::Mutex<()>,
}

impl RoutingRules {
    /// Reads the stored rules; none stored means the default alone (queue `support`).
    pub async fn load(db: Db, dialplans: Arc<Registry>) -> Result<RoutingRules, RulesError> {
        let row = sqlx::query(
            "SELECT document, version, updated_by, updated_us FROM routing_rules WHERE id = 1",
        )
        .fetch_optional(&db.pool)
        .await?;
        let snapshot = match row {
            None => Snapshot::default(),
            Some(r) => {
                let document: String = r.try_get("document")?;
                let set: RuleSet = serde_json::from_str(&document)
                    .map_err(|e| RulesError::Corrupt(e.to_string()))?;
                Snapshot {
                    rules: Rules::new(set).map_err(|e| RulesError::Corrupt(e.to_string()))?,
                    version: r.try_get("version")?,
                    updated_by: Some(r.try_get("updated_by")?),
                    updated_at: DateTime::from_timestamp_micros(r.try_get("updated_us")?),
                }
            }
        };
        let rules = RoutingRules {
            inner: Arc::new(Inner {
                db,
                dialplans,
                current: RwLock::new(Arc::new(snapshot)),
                intents: Mutex::new(None),
                saves: tokio::sync::Mutex::new(()),
            }),
        };
        let intents = rules.intents();
        for r in &rules.current().rules.set().rules {
            for name in r.when.intent.iter().filter(|n| !intents.contains_key(*n)) {
                tracing::warn!(rule = %r.name, intent = %name, "routing rule names an intent no dialplan in force has; that condition never holds");
            }
        }
        Ok(rules)
    }

    pub fn current(&self) -> Arc<Snapshot> {
        self.inner
            .current
            .read()
            .map(|g| g.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// The named intents of the dialplans in force, keywords normalised.
    pub fn intents(&self) -> Arc<Intents> {
        let set = self.inner.dialplans.current();
        let mut cached = self.inner.intents.lock().unwrap_or_else(|p| p.into_inner());
        match &*cached {
            Some((version, intents)) if *version == set.version => intents.clone(),
            _ => {
                let intents = Arc::new(crate::dialplan::intent::named(
                    set.plans.iter().map(|p| p.as_ref()),
                ));
                *cached = Some((set.version, intents.clone()));
                intents
            }
        }
    }

    /// Where a conversation with these facts goes under the rules in force.
    pub fn decide(&self, facts: &Facts<'_>) -> Decision {
        self.current().rules.decide(facts, &self.intents())
    }

    /// Checks `set` against what exists, stores it in place of the old one and
    /// puts it in force; the new snapshot and the checks' warnings. With `based_on`,
    /// refuses when another save came after that version.
    pub async fn replace(
        &self,
        set: RuleSet,
        based_on: Option<i64>,
        known: &Known,
        author: &str,
    ) -> Result<(Arc<Snapshot>, Vec<String>), RulesError> {
        let rules = Rules::new(set)?;
        let warnings = rules_check::references(rules.set(), known)?;
        let document =
            serde_json::to_string(rules.set()).map_err(|e| RulesError::Corrupt(e.to_string()))?;
        // One save at a time, so the snapshot always matches the stored row.
        let _save = self.inner.saves.lock().await;
        let current = self.current().version;
        if based_on.is_some_and(|v| v != current) {
            return Err(RulesError::Stale { current });
        }
        let now = now_us();
        let row = sqlx::query(
            "INSERT INTO routing_rules (id, document, version, updated_by, updated_us) VALUES (1, $1, 1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET document = excluded.document, version = routing_rules.version + 1, \
             updated_by = excluded.updated_by, updated_us = excluded.updated_us RETURNING version",
        )
        .bind(document)
        .bind(author.to_string())
        .bind(now)
        .fetch_one(&self.inner.db.pool)
        .await?;
        let snapshot = Arc::new(Snapshot {
            rules,
            version: row.try_get("version")?,
            updated_by: Some(author.to_string()),
            updated_at: DateTime::from_timestamp_micros(now),
        });
        let mut current = self
            .inner
            .current
            .write()
            .unwrap_or_else(|p| p.into_inner());
        *current = snapshot.clone();
        Ok((snapshot, warnings))
    }
}
