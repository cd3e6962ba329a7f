//! The user store: create users, check passwords, open and resolve sessions, and
//! issue and resolve API tokens.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;
use utoipa::ToSchema;
use uuid::Uuid;

use super::role::Role;
use crate::db::{Db, DbError, now_us};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    #[error("wrong name or password")]
    BadCredentials,
    #[error("not signed in")]
    Unauthenticated,
    #[error("user `{0}` already exists")]
    Exists(String),
    #[error("user `{0}` not found")]
    UnknownUser(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for AuthError {
    fn from(e: sqlx::Error) -> Self {
        AuthError::Db(DbError::Query(e))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct User {
    pub id: Uuid,
    pub name: String,
    pub role: Role,
}

#[derive(Clone, Debug)]
pub struct AuthStore {
    db: Db,
}

impl AuthStore {
    pub fn new(db: Db) -> AuthStore {
        AuthStore { db }
    }

    /// Creates a user; the password is hashed with argon2 (slow on purpose: call it
    /// from a blocking-friendly context for many users).
    pub async fn add_user(
        &self,
        name: &str,
        role: Role,
        password: &str,
    ) -> Result<User, AuthError> {
        let name = name.trim();
        if name.is_empty() || name.len() > 64 || name.contains(char::is_whitespace) {
            return Err(AuthError::Invalid(
                "name must be 1 to 64 characters without spaces".into(),
            ));
        }
        if password.chars().count() < 8 {
            return Err(AuthError::Invalid(
                "password must be at least 8 characters".into(),
            ));
        }
        if self.user_by_name(name).await?.is_some() {
            return Err(AuthError::Exists(name.into()));
        }
        let hash = hash_password(password)?;
        let id = Uuid::new_v4();
        sqlx::query("INSERT INTO users (id, name, role, password_hash, created_us) VALUES ($1, $2, $3, $4, $5)")
            .bind(id.to_string())
            .bind(name.to_string())
            .bind(role.as_str())
            .bind(hash)
            .bind(now_us())
            .execute(&self.db.pool)
            .await?;
        Ok(User {
            id,
            name: name.into(),
            role,
        })
    }

    pub async fn user_count(&self) -> Result<i64, AuthError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users")
            .fetch_one(&self.db.pool)
            .await?;
        Ok(row.try_get("n")?)
    }

    pub async fn users(&self) -> Result<Vec<User>, AuthError> {
        let found = sqlx::query("SELECT id, name, role FROM users ORDER BY name")
            .fetch_all(&self.db.pool)
            .await?;
        found
            .iter()
            .map(|r| user_from(r.try_get("id")?, r.try_get("name")?, r.try_get("role")?))
            .collect()
    }

    async fn user_by_name(&self, name: &str) -> Result<Option<(User, String)>, AuthError> {
        let row = sqlx::query("SELECT id, name, role, password_hash FROM users WHERE name = $1")
            .bind(name.to_string())
            .fetch_optional(&self.db.pool)
            .await?;
        match row {
            None => Ok(None),
            Some(r) => Ok(Some((
                user_from(r.try_get("id")?, r.try_get("name")?, r.try_get("role")?)?,
                r.try_get("password_hash")?,
            ))),
        }
    }

    /// Checks a password and opens a session; returns the user and the session secret.
    pub async fn login(
        &self,
        name: &str,
        password: &str,
        hours: u32,
    ) -> Result<(User, String), AuthError> {
        let Some((user, hash)) = self.user_by_name(name).await? else {
            return Err(AuthError::BadCredentials);
        };
        let pw = password.to_string();
        let ok = tokio::task::spawn_blocking(move || verify_password(&pw, &hash))
            .await
            .map_err(|e| AuthError::Invalid(format!("password check failed: {e}")))?;
        if !ok {
            return Err(AuthError::BadCredentials);
        }
        let secret = random_secret("sbs_");
        let expires = now_us() + i64::from(hours) * 3_600_000_000;
        sqlx::query("INSERT INTO sessions (token_hash, user_id, expires_us) VALUES ($1, $2, $3)")
            .bind(sha256_hex(&secret))
            .bind(user.id.to_string())
            .bind(expires)
            .execute(&self.db.pool)
            .await?;
        Ok((user, secret))
    }

    pub async fn logout(&self, secret: &str) -> Result<(), AuthError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(sha256_hex(secret))
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }

    /// The user behind a live session secret.
    pub async fn session_user(&self, secret: &str) -> Result<User, AuthError> {
        let row = sqlx::query(
            "SELECT u.id, u.name, u.role FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_us > $2",
        )
        .bind(sha256_hex(secret))
        .bind(now_us())
        .fetch_optional(&self.db.pool)
        .await?
        .ok_or(AuthError::Unauthenticated)?;
        user_from(
            row.try_get("id")?,
            row.try_get("name")?,
            row.try_get("role")?,
        )
    }

    /// Issues an API token acting as user `name`; the token is shown once.
    pub async fn create_token(&self, name: &str, label: &str) -> Result<String, AuthError> {
        let (user, _) = self
            .user_by_name(name)
            .await?
            .ok_or_else(|| AuthError::UnknownUser(name.into()))?;
        let token = random_secret("sbt_");
        sqlx::query("INSERT INTO api_tokens (token_hash, user_id, label, created_us) VALUES ($1, $2, $3, $4)")
            .bind(sha256_hex(&token))
            .bind(user.id.to_string())
            .bind(label.to_string())
            .bind(now_us())
            .execute(&self.db.pool)
            .await?;
        Ok(token)
    }

    /// The user behind an API token.
    pub async fn token_user(&self, token: &str) -> Result<User, AuthError> {
        let row = sqlx::query(
            "SELECT u.id, u.name, u.role FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1",
        )
        .bind(sha256_hex(token))
        .fetch_optional(&self.db.pool)
        .await?
        .ok_or(AuthError::Unauthenticated)?;
        user_from(
            row.try_get("id")?,
            row.try_get("name")?,
            row.try_get("role")?,
        )
    }
}

fn user_from(id: String, name: String, role: String) -> Result<User, AuthError> {
    Ok(User {
        id: Uuid::parse_str(&id).map_err(|e| AuthError::Invalid(format!("stored user id: {e}")))?,
        name,
        role: Role::parse(&role)
            .ok_or_else(|| AuthError::Invalid(format!("stored role `{role}` is unknown")))?,
    })
}

pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let mut salt_bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut salt_bytes);
    let salt =
        SaltString::encode_b64(&salt_bytes).map_err(|e| AuthError::Invalid(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Invalid(e.to_string()))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A random secret with a readable prefix, 256 bits of entropy.
pub fn random_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_hash_verifies_only_the_right_password() {
        let h = hash_password("correct horse").unwrap();
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong horse", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn secrets_are_random_and_prefixed() {
        let (a, b) = (random_secret("sbt_"), random_secret("sbt_"));
        assert!(a.starts_with("sbt_") && a.len() == 68);
        assert_ne!(a, b);
    }
}
