//! The registrar (RFC 3261 §10): agents' phones REGISTER with digest
//! authentication; bindings live in memory for routing and in the database so a
//! restart keeps them. It runs as its own task so the SIP shell never waits on
//! the database: the shell hands it REGISTER requests, it answers through the
//! shell's command channel.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use sqlx::Row;
use tokio::sync::mpsc;

use super::call::CallCommand;
use crate::db::{Db, now_us};
use crate::sip::Message;
use crate::sip::digest::{Algorithm, Authenticator, Credentials, DigestError, ha1};
use crate::sip::message::reason_phrase;
use crate::sip::name_addr::NameAddr;
use crate::sip::transaction::TxKey;

pub const DEFAULT_EXPIRES: u64 = 3600;
pub const MIN_EXPIRES: u64 = 60;
pub const MAX_EXPIRES: u64 = 86_400;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub contact: String,
    pub source: SocketAddr,
    pub expires_us: i64,
    /// Registered over a WebSocket connection (RFC 7118): requests to it go over
    /// that connection (from `source`), and it ends when the connection closes.
    /// Such bindings live in memory only: a restart closes their connections.
    pub websocket: bool,
}

/// Current bindings by address-of-record user; read by whoever routes to agents.
#[derive(Clone, Default)]
pub struct Bindings(Arc<RwLock<HashMap<String, Vec<Binding>>>>);

impl Bindings {
    /// Live contacts of `user`.
    pub fn lookup(&self, user: &str) -> Vec<Binding> {
        let now = now_us();
        let map = self.0.read().unwrap_or_else(|p| p.into_inner());
        map.get(user)
            .map(|b| b.iter().filter(|b| b.expires_us > now).cloned().collect())
            .unwrap_or_default()
    }

    /// Drops the bindings registered over the WebSocket connection from `peer`,
    /// which has closed; returns how many went.
    pub fn drop_websocket(&self, peer: SocketAddr) -> usize {
        let mut map = self.0.write().unwrap_or_else(|p| p.into_inner());
        let mut dropped = 0;
        map.retain(|_, list| {
            let before = list.len();
            list.retain(|b| !(b.websocket && b.source == peer));
            dropped += before - list.len();
            !list.is_empty()
        });
        dropped
    }

    fn set(&self, user: &str, list: Vec<Binding>) {
        let mut map = self.0.write().unwrap_or_else(|p| p.into_inner());
        if list.is_empty() {
            map.remove(user);
        } else {
            map.insert(user.to_string(), list);
        }
    }
}

pub struct RegisterRequest {
    pub key: TxKey,
    pub msg: Message,
    pub source: SocketAddr,
    /// The request came over a WebSocket connection.
    pub websocket: bool,
}

/// Creates or replaces a SIP account (stores only HA1 digests).
pub async fn add_account(
    db: &Db,
    realm: &str,
    username: &str,
    password: &str,
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM sip_accounts WHERE username = $1")
        .bind(username.to_string())
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO sip_accounts (username, realm, ha1_md5, ha1_sha256, created_us) VALUES ($1, $2, $3, $4, $5)")
        .bind(username.to_string())
        .bind(realm.to_string())
        .bind(ha1(Algorithm::Md5, username, realm, password))
        .bind(ha1(Algorithm::Sha256, username, realm, password))
        .bind(now_us())
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// Starts the registrar task; returns where to send REGISTERs and the bindings.
pub async fn start(
    db: Db,
    realm: &str,
    out: mpsc::Sender<CallCommand>,
) -> Result<(mpsc::Sender<RegisterRequest>, Bindings), sqlx::Error> {
    let bindings = Bindings::default();
    let rows = sqlx::query(
        "SELECT aor, contact, source, expires_us FROM registrations WHERE expires_us > $1",
    )
    .bind(now_us())
    .fetch_all(&db.pool)
    .await?;
    let mut loaded: HashMap<String, Vec<Binding>> = HashMap::new();
    for r in rows {
        let source: String = r.try_get("source")?;
        let Ok(source) = source.parse() else { continue };
        loaded.entry(r.try_get("aor")?).or_default().push(Binding {
            contact: r.try_get("contact")?,
            source,
            expires_us: r.try_get("expires_us")?,
            websocket: false,
        });
    }
    for (aor, list) in loaded {
        bindings.set(&aor, list);
    }
    let secret = crate::auth::users::random_secret("");
    let auth = Authenticator::new(realm, &secret);
    let (tx, rx) = mpsc::channel(1024);
    tokio::spawn(run(db, auth, bindings.clone(), rx, out));
    Ok((tx, bindings))
}

async fn run(
    db: Db,
    auth: Authenticator,
    bindings: Bindings,
    mut rx: mpsc::Receiver<RegisterRequest>,
    out: mpsc::Sender<CallCommand>,
) {
    while let Some(req) = rx.recv().await {
        let resp = match handle(&db, &auth, &bindings, &req).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "REGISTER failed on the database");
                let mut r = req.msg.response(500, reason_phrase(500), None);
                r.headers.push("Retry-After", "10");
                r
            }
        };
        if out
            .send(CallCommand::Respond {
                key: req.key,
                msg: resp,
            })
            .await
            .is_err()
        {
            break;
        }
    }
}

fn now_secs() -> u64 {
    (now_us() / 1_000_000).max(0) as u64
}

async fn handle(
    db: &Db,
    auth: &Authenticator,
    bindings: &Bindings,
    req: &RegisterRequest,
) -> Result<Message, sqlx::Error> {
    let msg = &req.msg;
    let tag = crate::sip::dialog::random_token();
    let reply = |code: u16| msg.response(code, reason_phrase(code), Some(&tag));
    let Some(user) = msg.to().and_then(|t| t.uri.user.clone()) else {
        return Ok(reply(400));
    };
    let challenge = |stale: bool| {
        let mut r = reply(401);
        // Browser SIP stacks speak MD5 only, and JsSIP keeps just the last
        // WWW-Authenticate header: WebSocket clients get the MD5 challenge alone.
        for c in auth
            .challenges(now_secs(), stale)
            .into_iter()
            .filter(|c| !req.websocket || c.contains("algorithm=MD5"))
        {
            r.headers.push("WWW-Authenticate", c);
        }
        r
    };
    let Some(creds) = msg
        .headers
        .get("Authorization")
        .and_then(|v| Credentials::parse(v).ok())
    else {
        return Ok(challenge(false));
    };
    if creds.username != user {
        return Ok(reply(403));
    }
    let row = sqlx::query("SELECT ha1_md5, ha1_sha256 FROM sip_accounts WHERE username = $1")
        .bind(creds.username.clone())
        .fetch_optional(&db.pool)
        .await?;
    let Some(row) = row else {
        return Ok(reply(403));
    };
    let stored: String = row.try_get(if creds.algorithm == Algorithm::Md5 {
        "ha1_md5"
    } else {
        "ha1_sha256"
    })?;
    match auth.verify(&creds, "REGISTER", &stored, now_secs()) {
        Ok(()) => {}
        Err(DigestError::Stale) => return Ok(challenge(true)),
        Err(_) => return Ok(reply(403)),
    }
    update_bindings(db, bindings, &user, req, reply(200)).await
}

async fn update_bindings(
    db: &Db,
    bindings: &Bindings,
    user: &str,
    req: &RegisterRequest,
    mut ok: Message,
) -> Result<Message, sqlx::Error> {
    let msg = &req.msg;
    let default_expires = msg
        .headers
        .get("Expires")
        .and_then(|e| e.trim().parse::<u64>().ok())
        .unwrap_or(DEFAULT_EXPIRES);
    let contacts = msg.headers.get_all("Contact");
    let mut list: Vec<Binding> = bindings.lookup(user);
    if contacts.iter().any(|c| c.trim() == "*") {
        if default_expires != 0 || contacts.len() != 1 {
            return Ok(msg.response(400, "Bad Request (wildcard Contact needs Expires: 0)", None));
        }
        list.clear();
    }
    for c in contacts.iter().filter(|c| c.trim() != "*") {
        let Ok(na) = NameAddr::parse(c) else {
            return Ok(msg.response(400, "Bad Request (Contact)", None));
        };
        let expires = na
            .params
            .get("expires")
            .and_then(|e| e.parse::<u64>().ok())
            .unwrap_or(default_expires)
            .min(MAX_EXPIRES);
        if expires > 0 && expires < MIN_EXPIRES {
            let mut r = msg.response(423, reason_phrase(423), None);
            r.headers.push("Min-Expires", MIN_EXPIRES.to_string());
            return Ok(r);
        }
        let contact = na.uri.to_string();
        list.retain(|b| b.contact != contact);
        if expires > 0 {
            list.push(Binding {
                contact,
                source: req.source,
                expires_us: now_us() + (expires as i64) * 1_000_000,
                websocket: req.websocket,
            });
        }
    }
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM registrations WHERE aor = $1")
        .bind(user.to_string())
        .execute(&mut *tx)
        .await?;
    for b in list.iter().filter(|b| !b.websocket) {
        sqlx::query(
            "INSERT INTO registrations (aor, contact, source, expires_us) VALUES ($1, $2, $3, $4)",
        )
        .bind(user.to_string())
        .bind(b.contact.clone())
        .bind(b.source.to_string())
        .bind(b.expires_us)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    let now = now_us();
    for b in &list {
        ok.headers.push(
            "Contact",
            format!(
                "<{}>;expires={}",
                b.contact,
                (b.expires_us - now).max(0) / 1_000_000
            ),
        );
    }
    bindings.set(user, list);
    Ok(ok)
}
