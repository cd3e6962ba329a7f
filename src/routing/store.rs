//! Routing state in the database: queues, agents (each linked to a user) and their
//! presence, and the queued conversations to re-enqueue after a restart.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;
use uuid::Uuid;

use super::model::{AgentProfile, Capacity, Channel, Presence, QueueConfig};
use crate::db::{Db, DbError, now_us};
use crate::timeline::model::EventPayload;

type Requirements = std::collections::HashMap<Uuid, (BTreeMap<String, u8>, Option<String>)>;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("stored routing data is invalid: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Db(DbError::Query(e))
    }
}

/// The editable part of an agent, as stored and as the API takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentSettings {
    #[serde(default)]
    pub skills: BTreeMap<String, u8>,
    #[serde(default)]
    pub languages: Vec<String>,
    #[serde(default)]
    pub queues: Vec<String>,
    #[serde(default)]
    pub capacity: Capacity,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AgentRecord {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    #[serde(flatten)]
    pub settings: AgentSettings,
    pub presence: Presence,
}

impl AgentRecord {
    pub fn profile(&self) -> AgentProfile {
        AgentProfile {
            id: self.id,
            name: self.name.clone(),
            skills: self.settings.skills.clone(),
            languages: self.settings.languages.clone(),
            queues: self.settings.queues.clone(),
            capacity: self.settings.capacity.clone(),
        }
    }
}

/// A conversation waiting in a queue, as found at startup.
#[derive(Debug, Clone)]
pub struct QueuedConversation {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub channel: Channel,
    pub queue: String,
    pub priority: i32,
    pub queued_us: i64,
    /// What routing rules asked for when it opened (its `routed` event).
    pub skills: BTreeMap<String, u8>,
    pub language: Option<String>,
}

#[derive(Clone, Debug)]
pub struct RoutingStore {
    db: Db,
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

impl RoutingStore {
    pub fn new(db: Db) -> RoutingStore {
        RoutingStore { db }
    }

    pub async fn save_queue(&self, q: &QueueConfig) -> Result<(), StoreError> {
        let config = serde_json::to_string(q).map_err(corrupt)?;
        let mut tx = self.db.begin_write().await?;
        sqlx::query("DELETE FROM queues WHERE name = $1")
            .bind(q.name.clone())
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO queues (name, config) VALUES ($1, $2)")
            .bind(q.name.clone())
            .bind(config)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn queues(&self) -> Result<Vec<QueueConfig>, StoreError> {
        let rows = sqlx::query("SELECT config FROM queues ORDER BY name")
            .fetch_all(&self.db.pool)
            .await?;
        rows.iter()
            .map(|r| serde_json::from_str(&r.try_get::<String, _>("config")?).map_err(corrupt))
            .collect()
    }

    pub async fn create_agent(
        &self,
        user_id: Uuid,
        name: &str,
        settings: &AgentSettings,
    ) -> Result<AgentRecord, StoreError> {
        let id = Uuid::new_v4();
        sqlx::query("INSERT INTO agents (id, user_id, name, profile, presence, created_us) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(id.to_string())
            .bind(user_id.to_string())
            .bind(name.to_string())
            .bind(serde_json::to_string(settings).map_err(corrupt)?)
            .bind(serde_json::to_string(&Presence::Offline).map_err(corrupt)?)
            .bind(now_us())
            .execute(&self.db.pool)
            .await?;
        Ok(AgentRecord {
            id,
            user_id,
            name: name.into(),
            settings: settings.clone(),
            presence: Presence::Offline,
        })
    }

    pub async fn save_presence(&self, agent: Uuid, presence: &Presence) -> Result<(), StoreError> {
        sqlx::query("UPDATE agents SET presence = $1 WHERE id = $2")
            .bind(serde_json::to_string(presence).map_err(corrupt)?)
            .bind(agent.to_string())
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }

    pub async fn agents(&self) -> Result<Vec<AgentRecord>, StoreError> {
        let rows = sqlx::query("SELECT * FROM agents ORDER BY name")
            .fetch_all(&self.db.pool)
            .await?;
        rows.iter().map(agent_from_row).collect()
    }

    pub async fn agent_of_user(&self, user: Uuid) -> Result<Option<AgentRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM agents WHERE user_id = $1")
            .bind(user.to_string())
            .fetch_optional(&self.db.pool)
            .await?;
        row.as_ref().map(agent_from_row).transpose()
    }

    pub async fn agent(&self, id: Uuid) -> Result<Option<AgentRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM agents WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.db.pool)
            .await?;
        row.as_ref().map(agent_from_row).transpose()
    }

    /// Conversations still waiting in a queue.
    pub async fn queued_conversations(&self) -> Result<Vec<QueuedConversation>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, customer_id, channel, queue, priority, queued_us FROM conversations \
             WHERE status IN ('queued', 'assigned') AND queue IS NOT NULL AND channel <> 'voice' ORDER BY queued_us",
        )
        .fetch_all(&self.db.pool)
        .await?;
        let mut routed = self.routed_requirements().await?;
        rows.iter()
            .map(|r| {
                let channel: String = r.try_get("channel")?;
                let id = Uuid::parse_str(&r.try_get::<String, _>("id")?).map_err(corrupt)?;
                let (skills, language) = routed.remove(&id).unwrap_or_default();
                Ok(QueuedConversation {
                    id,
                    customer_id: Uuid::parse_str(&r.try_get::<String, _>("customer_id")?)
                        .map_err(corrupt)?,
                    channel: serde_json::from_value(serde_json::Value::String(channel))
                        .map_err(corrupt)?,
                    queue: r.try_get("queue")?,
                    priority: r.try_get("priority")?,
                    queued_us: r
                        .try_get::<Option<i64>, _>("queued_us")?
                        .unwrap_or_else(now_us),
                    skills,
                    language,
                })
            })
            .collect()
    }

    /// The skills and language routing rules asked for, by waiting text
    /// conversation, from the newest `routed` event of each.
    async fn routed_requirements(&self) -> Result<Requirements, StoreError> {
        let rows = sqlx::query(
            "SELECT conversation_id, payload FROM timeline_events WHERE kind = 'routed' AND conversation_id IN \
             (SELECT id FROM conversations WHERE status IN ('queued', 'assigned') AND channel <> 'voice') ORDER BY seq",
        )
        .fetch_all(&self.db.pool)
        .await?;
        let mut out = Requirements::new();
        for r in &rows {
            let id =
                Uuid::parse_str(&r.try_get::<String, _>("conversation_id")?).map_err(corrupt)?;
            let payload: EventPayload =
                serde_json::from_str(&r.try_get::<String, _>("payload")?).map_err(corrupt)?;
            if let EventPayload::Routed {
                skills, language, ..
            } = payload
            {
                out.insert(id, (skills, language));
            }
        }
        Ok(out)
    }

    /// Calls do not survive a restart: voice conversations left waiting are
    /// abandoned, except callbacks, which wait to be dialled.
    pub async fn abandon_stale_calls(&self) -> Result<u64, StoreError> {
        let r = sqlx::query("UPDATE conversations SET status = 'abandoned', resolved_us = $1 WHERE channel = 'voice' AND status IN ('bot', 'queued', 'assigned') \
             AND id NOT IN (SELECT conversation_id FROM callbacks WHERE status IN ('waiting', 'dialing', 'retry'))")
            .bind(now_us())
            .execute(&self.db.pool)
            .await?;
        Ok(r.rows_affected())
    }

    /// Moves a waiting conversation to another queue, keeping its queued time
    /// (an overflow keeps the item's place).
    pub async fn move_queue(&self, conversation: Uuid, queue: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE conversations SET queue = $1 WHERE id = $2")
            .bind(queue.to_string())
            .bind(conversation.to_string())
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }

    /// Records who took a conversation.
    pub async fn set_assignee(
        &self,
        conversation: Uuid,
        agent: Option<Uuid>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE conversations SET agent_id = $1 WHERE id = $2")
            .bind(agent.map(|a| a.to_string()))
            .bind(conversation.to_string())
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }
}

fn agent_from_row(r: &sqlx::any::AnyRow) -> Result<AgentRecord, StoreError> {
    Ok(AgentRecord {
        id: Uuid::parse_str(&r.try_get::<String, _>("id")?).map_err(corrupt)?,
        user_id: Uuid::parse_str(&r.try_get::<String, _>("user_id")?).map_err(corrupt)?,
        name: r.try_get("name")?,
        settings: serde_json::from_str(&r.try_get::<String, _>("profile")?).map_err(corrupt)?,
        presence: serde_json::from_str(&r.try_get::<String, _>("presence")?).map_err(corrupt)?,
    })
}
