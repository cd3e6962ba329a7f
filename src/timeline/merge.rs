//! Merging two customers: every identity, conversation and event of the merged
//! customer moves to the survivor in one transaction, and the survivor's timeline
//! records it. Only ever done on an explicit request.

use uuid::Uuid;

use super::error::TimelineError;
use super::model::{Customer, EventPayload};
use super::store::TimelineStore;
use crate::db::now_us;

impl TimelineStore {
    /// Merges `merged` into `survivor` and returns the survivor.
    pub async fn merge(&self, survivor: Uuid, merged: Uuid) -> Result<Customer, TimelineError> {
        if survivor == merged {
            return Err(TimelineError::Conflict(
                "a customer cannot be merged into itself".into(),
            ));
        }
        let (keep, gone) = (self.customer(survivor).await?, self.customer(merged).await?);
        for c in [&keep, &gone] {
            if let Some(into) = c.merged_into {
                return Err(TimelineError::Conflict(format!(
                    "customer {} was already merged into {into}",
                    c.id
                )));
            }
        }
        let (s, m) = (survivor.to_string(), merged.to_string());
        let mut tx = self.db.begin_write().await?;
        for table in ["identities", "conversations", "timeline_events"] {
            sqlx::query(&format!(
                "UPDATE {table} SET customer_id = $1 WHERE customer_id = $2"
            ))
            .bind(s.clone())
            .bind(m.clone())
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("UPDATE customers SET merged_into = $1, updated_us = $2 WHERE id = $3")
            .bind(s.clone())
            .bind(now_us())
            .bind(m.clone())
            .execute(&mut *tx)
            .await?;
        let payload = EventPayload::IdentityMerged {
            merged_customer: merged,
            identities: gone.identities.clone(),
        };
        let event = self.insert_event(&mut *tx, survivor, None, payload).await?;
        tx.commit().await?;
        self.bus.publish(event);
        self.customer(survivor).await
    }
}
