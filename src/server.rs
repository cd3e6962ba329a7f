//! `switchboard serve`: opens the database, binds the listeners, runs every part
//! until SIGTERM or ctrl-c, then stops accepting, drains and closes the database.

use std::path::Path;
use std::sync::Arc;

use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::api::{self, AppState};
use crate::auth::{AuthStore, Role};
use crate::channels::email::EmailChannel;
use crate::config::Config;
use crate::db::Db;
use crate::dialplan::registry::Registry;
use crate::media::prompts::PromptCache;
use crate::metrics::Metrics;
use crate::routing::actor::RoutingService;
use crate::routing::rules_store::RoutingRules;
use crate::routing::store::RoutingStore;
use crate::telephony::timeline_writer::TimelineWriter;
use crate::telephony::{CallServices, SipServer};
use crate::timeline::{EventBus, TimelineStore};

/// Startup failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    #[error("cannot create data dir {path}: {reason}")]
    DataDir { path: String, reason: String },
    #[error("cannot listen on {addr}: {reason}")]
    Bind { addr: String, reason: String },
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
    #[error(transparent)]
    Routing(#[from] crate::routing::actor::ServiceError),
    #[error(transparent)]
    Rules(#[from] crate::routing::rules_store::RulesError),
    #[error(transparent)]
    Sip(#[from] crate::telephony::TelephonyError),
    #[error("server failed: {0}")]
    Io(String),
}

/// Opens the database for `config`, creating the data dir and applying migrations.
pub async fn open_database(config: &Config) -> Result<Db, ServeError> {
    std::fs::create_dir_all(&config.data_dir).map_err(|e| ServeError::DataDir {
        path: config.data_dir.display().to_string(),
        reason: e.to_string(),
    })?;
    let db = Db::connect(&config.database_url(), config.database.max_connections).await?;
    db.migrate().await?;
    Ok(db)
}

/// Runs the server until `shutdown` is cancelled.
pub async fn serve(config: Config, shutdown: CancellationToken) -> Result<(), ServeError> {
    let db = open_database(&config).await?;
    let auth = AuthStore::new(db.clone());
    bootstrap_admin(&auth, &config.data_dir).await?;
    let timeline = TimelineStore::new(db.clone(), EventBus::new());
    let (writer, writer_task) = TimelineWriter::spawn(timeline.clone());
    let config_arc = Arc::new(config.clone());
    let (routing, routing_task) = RoutingService::start(
        RoutingStore::new(db.clone()),
        timeline.clone(),
        shutdown.clone(),
    )
    .await?;
    let dialplans = Arc::new(Registry::load(&config.dialplans.dir, &config.sounds.dir));
    let watcher = dialplans.clone().watch(shutdown.clone());
    let rules = RoutingRules::load(db.clone(), dialplans.clone()).await?;
    let data_dir = config.data_dir.clone();
    let repaired =
        tokio::task::spawn_blocking(move || crate::telephony::recording::repair_all(&data_dir))
            .await
            .unwrap_or(0);
    if repaired > 0 {
        tracing::warn!(repaired, "recordings cut off by a crash were repaired");
    }
    let (prompts, problems) = PromptCache::load(&config.sounds.dir);
    for p in &problems {
        tracing::error!("{p}");
    }
    let softphones = crate::telephony::softphones::Softphones::default();
    let speech =
        crate::speech::SpeechService::start(&config, timeline.clone(), shutdown.clone()).await;
    let (callback_requests, callback_rx) = crate::telephony::callbacks::CallbackRequests::channel();
    let services = CallServices {
        callbacks: callback_requests,
        softphones: softphones.clone(),
        speech: speech.clone(),
        timeline: writer,
        dialplans: dialplans.clone(),
        prompts: Arc::new(prompts),
        routing: routing.clone(),
        db: db.clone(),
    };
    let sip = SipServer::start(config_arc.clone(), services, shutdown.clone()).await?;
    let callbacks = crate::telephony::callbacks::Callbacks {
        store: crate::telephony::callback_store::CallbackStore::new(db.clone()),
        timeline: timeline.clone(),
        routing: routing.clone(),
        calls: sip.dialer.0.clone(),
        sip: sip.dialer.1.clone(),
    };
    tokio::spawn(crate::telephony::callbacks::run(
        callbacks,
        callback_rx,
        shutdown.clone(),
    ));
    tokio::spawn(crate::telephony::trunk_monitor::run(
        sip.dialer.0.clone(),
        sip.dialer.1.clone(),
        shutdown.clone(),
    ));
    let smtp = start_smtp(
        &config,
        EmailChannel {
            timeline: timeline.clone(),
            routing: routing.clone(),
            rules: rules.clone(),
        },
        shutdown.clone(),
    )
    .await?;
    start_email_replies(&config, &timeline, &shutdown)?;
    start_social_replies(&config, &timeline, &shutdown);
    let state = AppState {
        routing,
        rules,
        dialplans,
        sip_stats: sip.stats.clone(),
        bindings: sip.bindings.clone(),
        agent_sockets: Default::default(),
        softphones,
        speech: speech.clone(),
        timeline,
        auth,
        metrics: Arc::new(Metrics::default()),
        config: config_arc,
        sip_websocket: sip.websocket.clone(),
        chat_opening: Default::default(),
    };
    let http_addr = config.http_addr();
    let listener = TcpListener::bind(http_addr)
        .await
        .map_err(|e| ServeError::Bind {
            addr: http_addr.to_string(),
            reason: e.to_string(),
        })?;
    let local = listener
        .local_addr()
        .map_err(|e| ServeError::Io(e.to_string()))?;
    print_banner(local, sip.local, &config);
    if let Some(addr) = smtp {
        println!("  smtp       {addr}  (inbound support mail)");
    }
    let app = api::router(state);
    let stop = shutdown.clone();
    // The peer address keys SIP over WebSocket connections.
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    // Chat, event and agent sockets write small frames (an ack, one message):
    // Nagle's algorithm would hold one back behind the peer's delayed ACK.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await
        .map_err(|e| ServeError::Io(e.to_string()))?;
    tracing::info!("http stopped; waiting for calls to end");
    if let Err(e) = sip.task.await {
        tracing::error!(error = %e, "SIP task failed");
    }
    let _ = routing_task.await;
    let _ = watcher.await;
    // The writer ends once the SIP task (the last sender) is gone.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), writer_task).await;
    tracing::info!("closing the database");
    db.pool.close().await;
    Ok(())
}

/// Starts sending agents' e-mail replies through `email.smtp_relay`; without a
/// relay, replies wait in the outbox until one is configured.
fn start_email_replies(
    config: &Config,
    timeline: &crate::timeline::TimelineStore,
    shutdown: &CancellationToken,
) -> Result<(), ServeError> {
    if config.email.smtp_relay.is_empty() {
        tracing::info!("e-mail replies wait in the outbox: email.smtp_relay is not set");
        return Ok(());
    }
    let sender =
        crate::channels::email::outbound::Sender::new(timeline.clone(), config.email.clone())
            .map_err(|e| ServeError::Io(e.to_string()))?;
    let retry = crate::channels::delivery::Retry {
        first_seconds: config.email.retry_seconds,
        max_attempts: config.email.max_attempts,
    };
    tokio::spawn(crate::channels::delivery::run(
        sender,
        crate::timeline::model::Channel::Email,
        timeline.clone(),
        retry,
        shutdown.clone(),
    ));
    Ok(())
}

/// Starts sending agents' replies in `social` conversations (WeChat, webhooks)
/// when either channel is configured.
fn start_social_replies(
    config: &Config,
    timeline: &crate::timeline::TimelineStore,
    shutdown: &CancellationToken,
) {
    use crate::channels::{social, webhook, wechat};
    let on = |secret: &str| !secret.is_empty();
    let sender = social::Sender {
        timeline: timeline.clone(),
        wechat: on(&config.wechat.token)
            .then(|| wechat::outbound::Sender::new(timeline.clone(), config.wechat.clone())),
        webhook: on(&config.webhook.secret)
            .then(|| webhook::outbound::Sender::new(timeline.clone(), config.webhook.clone())),
    };
    let retry = match (&sender.wechat, &config.webhook) {
        (Some(_), _) => (config.wechat.retry_seconds, config.wechat.max_attempts),
        (None, w) => (w.retry_seconds, w.max_attempts),
    };
    if sender.wechat.is_none() && sender.webhook.is_none() {
        return;
    }
    let retry = crate::channels::delivery::Retry {
        first_seconds: retry.0,
        max_attempts: retry.1,
    };
    tokio::spawn(crate::channels::delivery::run(
        sender,
        crate::timeline::model::Channel::Social,
        timeline.clone(),
        retry,
        shutdown.clone(),
    ));
}

/// Starts the SMTP listener when configured; returns its address.
async fn start_smtp(
    config: &Config,
    channel: EmailChannel,
    shutdown: CancellationToken,
) -> Result<Option<std::net::SocketAddr>, ServeError> {
    if config.email.smtp_listen.is_empty() {
        return Ok(None);
    }
    let addr: std::net::SocketAddr =
        config
            .email
            .smtp_listen
            .parse()
            .map_err(|_| ServeError::Bind {
                addr: config.email.smtp_listen.clone(),
                reason: "not an address".into(),
            })?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| ServeError::Bind {
            addr: addr.to_string(),
            reason: e.to_string(),
        })?;
    let local = listener
        .local_addr()
        .map_err(|e| ServeError::Io(e.to_string()))?;
    tokio::spawn(crate::channels::email::serve(listener, channel, shutdown));
    Ok(Some(local))
}

fn print_banner(http: std::net::SocketAddr, sip: std::net::SocketAddr, config: &Config) {
    let db = if config.database.url.is_empty() {
        "embedded SQLite"
    } else {
        "PostgreSQL"
    };
    println!("switchboard {} ready", env!("CARGO_PKG_VERSION"));
    println!("  workspace  http://{http}/");
    println!("  api        http://{http}/api/v1  (OpenAPI: http://{http}/api/openapi.json)");
    println!("  sip        udp:{sip}  (echo test: extension 9999)");
    if config.sip.websocket {
        println!("  sip ws     ws://{http}/sip  (SIP over WebSocket, subprotocol sip)");
    }
    println!("  database   {db}, data dir {}", config.data_dir.display());
    tracing::info!(%http, "listening");
}

/// On a database with no users, creates `admin` with a random password, printed
/// once and kept in `<data_dir>/initial-admin-password` (mode 0600) until changed.
async fn bootstrap_admin(auth: &AuthStore, data_dir: &Path) -> Result<(), ServeError> {
    if auth.user_count().await? > 0 {
        return Ok(());
    }
    let password = crate::auth::users::random_secret("")[..20].to_string();
    auth.add_user("admin", Role::Admin, &password).await?;
    let file = data_dir.join("initial-admin-password");
    write_private(&file, &password).map_err(|e| ServeError::DataDir {
        path: file.display().to_string(),
        reason: e.to_string(),
    })?;
    println!(
        "  first start: user `admin` created; password in {}",
        file.display()
    );
    Ok(())
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")
}

/// Resolves on SIGTERM or ctrl-c.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(
            tokio::signal::unix::SignalKind::terminate(),
        ) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM; only ctrl-c stops the server");
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
