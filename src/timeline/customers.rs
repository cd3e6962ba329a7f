//! Customer records and their identities: create, read, search, update and
//! identity look-up (an indexed primary key on `(kind, value)`).

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use uuid::Uuid;

use super::error::{TimelineError, invalid};
use super::identity::{IdentityKind, normalize};
use super::model::{Customer, CustomerPatch, Identity, NewCustomer};
use super::rows;
use super::store::TimelineStore;
use crate::db::now_us;

const MAX_NAME: usize = 200;

impl TimelineStore {
    /// Creates a customer with its identities in one transaction. An identity that
    /// already belongs to someone is a conflict, never a silent merge.
    pub async fn create_customer(&self, new: NewCustomer) -> Result<Customer, TimelineError> {
        validate_name(&new.name)?;
        let identities = normalize_all(&new.identities)?;
        let id = Uuid::new_v4();
        let now = now_us();
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "INSERT INTO customers (id, name, language, tier, tags, attributes, created_us, updated_us) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(id.to_string())
        .bind(new.name.trim().to_string())
        .bind(new.language.clone())
        .bind(new.tier.clone())
        .bind(serde_json::to_string(&new.tags).unwrap_or_else(|_| "[]".into()))
        .bind(serde_json::Value::Object(new.attributes.clone()).to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        for identity in &identities {
            insert_identity(&mut tx, id, identity, now).await?;
        }
        tx.commit().await?;
        self.customer(id).await
    }

    /// Reads one customer with its identities.
    pub async fn customer(&self, id: Uuid) -> Result<Customer, TimelineError> {
        let row = sqlx::query("SELECT * FROM customers WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or_else(|| TimelineError::NotFound(format!("customer {id}")))?;
        let identities = self.identities_of(id).await?;
        customer_from_row(&row, identities)
    }

    /// The customer an identity belongs to, if any.
    pub async fn find_by_identity(
        &self,
        kind: IdentityKind,
        value: &str,
    ) -> Result<Option<Customer>, TimelineError> {
        let value = normalize(kind, value)?;
        let row = sqlx::query("SELECT customer_id FROM identities WHERE kind = $1 AND value = $2")
            .bind(kind.as_str())
            .bind(value)
            .fetch_optional(&self.db.pool)
            .await?;
        match row {
            Some(r) => Ok(Some(self.customer(rows::uuid(&r, "customer_id")?).await?)),
            None => Ok(None),
        }
    }

    /// The customer holding an identity (the survivor, if it was merged), created
    /// with `name` on first contact. An unusable value is an `Identity` error.
    pub async fn customer_of_identity(
        &self,
        kind: IdentityKind,
        value: &str,
        name: &str,
    ) -> Result<Uuid, TimelineError> {
        if let Some(c) = self.find_by_identity(kind, value).await? {
            return Ok(c.merged_into.unwrap_or(c.id));
        }
        let new = NewCustomer {
            name: name.to_string(),
            identities: vec![Identity {
                kind,
                value: normalize(kind, value)?,
                verified: false,
            }],
            ..Default::default()
        };
        match self.create_customer(new).await {
            Ok(c) => Ok(c.id),
            // Another message of the same sender created it meanwhile.
            Err(e) => match self.find_by_identity(kind, value).await? {
                Some(c) => Ok(c.merged_into.unwrap_or(c.id)),
                None => Err(e),
            },
        }
    }

    /// Customers whose name or any identity value contains `q` (case-insensitive).
    /// Merged-away customers are left out.
    pub async fn search(&self, q: &str, limit: i64) -> Result<Vec<Customer>, TimelineError> {
        let pattern = format!("%{}%", q.to_lowercase().replace(['%', '_'], ""));
        let found = sqlx::query(
            "SELECT * FROM customers WHERE merged_into IS NULL AND (LOWER(name) LIKE $1 OR id IN \
             (SELECT customer_id FROM identities WHERE LOWER(value) LIKE $1)) ORDER BY name LIMIT $2",
        )
        .bind(pattern)
        .bind(limit)
        .fetch_all(&self.db.pool)
        .await?;
        let mut out = Vec::with_capacity(found.len());
        for row in &found {
            let id = rows::uuid(row, "id")?;
            out.push(customer_from_row(row, self.identities_of(id).await?)?);
        }
        Ok(out)
    }

    /// Changes the given fields of a customer.
    pub async fn update_customer(
        &self,
        id: Uuid,
        patch: CustomerPatch,
    ) -> Result<Customer, TimelineError> {
        let mut current = self.customer(id).await?;
        if let Some(name) = patch.name {
            validate_name(&name)?;
            current.name = name.trim().to_string();
        }
        current.language = patch.language.or(current.language);
        current.tier = patch.tier.or(current.tier);
        current.tags = patch.tags.unwrap_or(current.tags);
        current.attributes = patch.attributes.unwrap_or(current.attributes);
        sqlx::query(
            "UPDATE customers SET name = $1, language = $2, tier = $3, tags = $4, attributes = $5, \
             updated_us = $6 WHERE id = $7",
        )
        .bind(current.name.clone())
        .bind(current.language.clone())
        .bind(current.tier.clone())
        .bind(serde_json::to_string(&current.tags).unwrap_or_else(|_| "[]".into()))
        .bind(serde_json::Value::Object(current.attributes.clone()).to_string())
        .bind(now_us())
        .bind(id.to_string())
        .execute(&self.db.pool)
        .await?;
        self.customer(id).await
    }

    /// Links another identity to an existing customer.
    pub async fn add_identity(
        &self,
        id: Uuid,
        identity: Identity,
    ) -> Result<Customer, TimelineError> {
        let normalized = normalize_all(std::slice::from_ref(&identity))?;
        self.customer(id).await?;
        let mut tx = self.db.begin_write().await?;
        for i in &normalized {
            insert_identity(&mut tx, id, i, now_us()).await?;
        }
        tx.commit().await?;
        self.customer(id).await
    }

    pub(super) async fn identities_of(&self, id: Uuid) -> Result<Vec<Identity>, TimelineError> {
        let found = sqlx::query(
            "SELECT kind, value, verified FROM identities WHERE customer_id = $1 ORDER BY created_us, kind, value",
        )
        .bind(id.to_string())
        .fetch_all(&self.db.pool)
        .await?;
        found.iter().map(identity_from_row).collect()
    }
}

async fn insert_identity(
    tx: &mut Transaction<'_, Any>,
    customer: Uuid,
    identity: &Identity,
    now: i64,
) -> Result<(), TimelineError> {
    let owner = sqlx::query("SELECT customer_id FROM identities WHERE kind = $1 AND value = $2")
        .bind(identity.kind.as_str())
        .bind(identity.value.clone())
        .fetch_optional(&mut **tx)
        .await?;
    if let Some(row) = owner {
        let other: String = row.try_get("customer_id")?;
        return Err(TimelineError::Conflict(format!(
            "{} identity {} already belongs to customer {other}",
            identity.kind.as_str(),
            identity.value
        )));
    }
    sqlx::query("INSERT INTO identities (kind, value, customer_id, verified, created_us) VALUES ($1, $2, $3, $4, $5)")
        .bind(identity.kind.as_str())
        .bind(identity.value.clone())
        .bind(customer.to_string())
        .bind(i32::from(identity.verified))
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

fn validate_name(name: &str) -> Result<(), TimelineError> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > MAX_NAME {
        return Err(invalid(
            "name",
            format!("must be 1 to {MAX_NAME} characters"),
        ));
    }
    Ok(())
}

fn normalize_all(identities: &[Identity]) -> Result<Vec<Identity>, TimelineError> {
    let mut out: Vec<Identity> = Vec::with_capacity(identities.len());
    for (i, identity) in identities.iter().enumerate() {
        let value = normalize(identity.kind, &identity.value)
            .map_err(|e| invalid(&format!("identities[{i}].value"), e.to_string()))?;
        if out
            .iter()
            .any(|o| o.kind == identity.kind && o.value == value)
        {
            return Err(invalid(&format!("identities[{i}]"), "duplicate identity"));
        }
        out.push(Identity {
            kind: identity.kind,
            value,
            verified: identity.verified,
        });
    }
    Ok(out)
}

fn identity_from_row(row: &AnyRow) -> Result<Identity, TimelineError> {
    let kind: String = row.try_get("kind")?;
    Ok(Identity {
        kind: IdentityKind::parse(&kind).ok_or_else(|| {
            TimelineError::Conflict(format!("stored identity kind `{kind}` is unknown"))
        })?,
        value: row.try_get("value")?,
        verified: row.try_get::<i32, _>("verified")? != 0,
    })
}

fn customer_from_row(row: &AnyRow, identities: Vec<Identity>) -> Result<Customer, TimelineError> {
    Ok(Customer {
        id: rows::uuid(row, "id")?,
        name: row.try_get("name")?,
        language: row.try_get("language")?,
        tier: row.try_get("tier")?,
        tags: rows::json(row, "tags")?,
        attributes: rows::json(row, "attributes")?,
        identities,
        merged_into: rows::opt_uuid(row, "merged_into")?,
        created_at: rows::time(row.try_get("created_us")?),
        updated_at: rows::time(row.try_get("updated_us")?),
    })
}
