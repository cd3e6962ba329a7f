//! The agents' side: setup through the API, the workspace socket that accepts
//! offers, and one events socket per accepted chat, as the workspace page has.

use super::*;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// One HTTP call; the status and the JSON answer (null when empty).
pub(super) async fn call(
    http: &reqwest::Client,
    req: reqwest::RequestBuilder,
) -> Result<(u16, Value, Option<String>), String> {
    let res = http
        .execute(req.build().map_err(|e| e.to_string())?)
        .await
        .map_err(|e| e.to_string())?;
    let status = res.status().as_u16();
    let cookie = res
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(String::from);
    let text = res.text().await.map_err(|e| e.to_string())?;
    Ok((
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        cookie,
    ))
}

/// A signed-in agent's session cookie.
pub(super) struct AgentLogin {
    cookie: String,
}

/// The queue, the agents (signed in, available).
pub(super) async fn setup(
    s: &Settings,
    server: &Server,
    http: &reqwest::Client,
) -> Result<Vec<AgentLogin>, String> {
    let base = format!("http://{}/api/v1", server.http);
    server.cli(
        &["user", "add", "bench-admin", "--role", "admin"],
        "bench-admin-password\n",
    )?;
    let admin = server.cli(&["token", "create", "bench-admin"], "")?;
    let queue = json!({"name": "support", "wrap_up_seconds": 0, "offer_seconds": 120});
    let req = http
        .post(format!("{base}/queues"))
        .bearer_auth(&admin)
        .json(&queue);
    match call(http, req).await? {
        (201, _, _) => {}
        (code, body, _) => return Err(format!("queue: {code} {body}")),
    }
    let capacity = s.chat_capacity();
    if capacity > 255 {
        return Err(format!(
            "{capacity} chats per agent: use more agents (SWITCHBOARD_BENCH_AGENTS)"
        ));
    }
    let mut agents = Vec::new();
    for i in 0..s.agents {
        let (name, password) = (format!("agent{i}"), format!("password-of-agent{i}"));
        let new = json!({"name": name, "password": password, "queues": ["support"],
            "capacity": {"voice": 1, "chat": capacity}});
        let req = http
            .post(format!("{base}/agents"))
            .bearer_auth(&admin)
            .json(&new);
        let id = match call(http, req).await? {
            (201, body, _) => body["id"].as_str().unwrap_or_default().to_string(),
            (code, body, _) => return Err(format!("agent {name}: {code} {body}")),
        };
        let login = json!({"name": name, "password": password});
        let cookie = match call(http, http.post(format!("{base}/auth/login")).json(&login)).await? {
            (200, _, Some(c)) => c,
            (code, body, _) => return Err(format!("login {name}: {code} {body}")),
        };
        let state = http
            .put(format!("{base}/agents/{id}/state"))
            .header("cookie", &cookie)
            .json(&json!({"state": "available"}));
        match call(http, state).await? {
            (200, _, _) => {}
            (code, body, _) => return Err(format!("{name} available: {code} {body}")),
        }
        agents.push(AgentLogin { cookie });
    }
    Ok(agents)
}

pub(super) async fn connect(url: &str, cookie: Option<&str>) -> Result<Ws, String> {
    let mut req = url.into_client_request().map_err(|e| e.to_string())?;
    if let Some(c) = cookie {
        req.headers_mut()
            .insert("cookie", c.parse().map_err(|_| "bad cookie".to_string())?);
    }
    // As a browser does: no Nagle delay; and a small read buffer, which
    // tungstenite zero-fills before every read attempt.
    let config = WebSocketConfig::default().read_buffer_size(4096);
    tokio_tungstenite::connect_async_with_config(req, Some(config), true)
        .await
        .map(|(ws, _)| ws)
        .map_err(|e| format!("connect: {e}"))
}

/// An agent's workspace: accepts every offer on its socket and follows each
/// accepted chat on an events socket, until the run is done.
pub(super) async fn agent(
    login: AgentLogin,
    http: reqwest::Client,
    base: String,
    shared: Arc<Shared>,
    mut phase: watch::Receiver<Phase>,
) {
    let mut ws = match connect(&format!("ws://{base}/api/v1/agent/ws"), Some(&login.cookie)).await {
        Ok(ws) => ws,
        Err(e) => return shared.fail(format!("agent socket: {e}")),
    };
    let login = Arc::new(login);
    loop {
        let frame = tokio::select! {
            _ = phase.wait_for(|p| *p == Phase::Done) => return,
            f = ws.next() => f,
        };
        let text = match frame {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(_)) => continue,
            Some(Err(e)) => return shared.fail(format!("agent socket: {e}")),
            None => return shared.fail("agent socket closed"),
        };
        let Ok(event) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        let offers = match event["type"].as_str() {
            Some("hello" | "resync") => event["offers"].as_array().cloned().unwrap_or_default(),
            Some("offer") => vec![event],
            _ => continue,
        };
        for offer in offers {
            let task = (
                login.clone(),
                http.clone(),
                base.clone(),
                shared.clone(),
                phase.clone(),
            );
            tokio::spawn(accept(offer, task));
        }
    }
}

type AcceptTask = (
    Arc<AgentLogin>,
    reqwest::Client,
    String,
    Arc<Shared>,
    watch::Receiver<Phase>,
);

/// Accepts an offer and follows its chat, as the workspace page does.
async fn accept(offer: Value, (login, http, base, shared, phase): AcceptTask) {
    let (Some(id), Some(conversation)) = (offer["offer"].as_str(), offer["conversation"].as_str())
    else {
        return;
    };
    let req = http
        .post(format!("http://{base}/api/v1/offers/{id}/accept"))
        .header("cookie", &login.cookie);
    match call(&http, req).await {
        Ok((204, _, _)) => {}
        Ok((code, body, _)) => return shared.fail(format!("accept: {code} {body}")),
        Err(e) => return shared.fail(format!("accept: {e}")),
    }
    let url = format!("ws://{base}/api/v1/events?conversation_id={conversation}");
    match connect(&url, Some(&login.cookie)).await {
        Ok(ws) => follow(ws, shared, phase).await,
        Err(e) => shared.fail(format!("events socket: {e}")),
    }
}

/// Reads a chat's events; each visitor message's delay since it was sent.
async fn follow(mut ws: Ws, shared: Arc<Shared>, mut phase: watch::Receiver<Phase>) {
    shared.followed.fetch_add(1, Ordering::SeqCst);
    loop {
        let frame = tokio::select! {
            _ = phase.wait_for(|p| *p == Phase::Done) => return,
            f = ws.next() => f,
        };
        let text = match frame {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(_)) => continue,
            Some(Err(e)) => return shared.fail(format!("events socket: {e}")),
            None => return shared.fail("events socket closed"),
        };
        let now = micros_now();
        let Ok(e) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        if e["type"] == "lagged" {
            shared.lagged.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        if e["payload"]["type"] != "message" || e["payload"]["direction"] != "in" {
            continue;
        }
        if let Some((tag, sent)) = parse_text(e["payload"]["text"].as_str().unwrap_or("")) {
            let ms = now.saturating_sub(sent) as f64 / 1000.0;
            shared.delivered.fetch_add(1, Ordering::SeqCst);
            let mut all = shared.to_agent.lock().unwrap_or_else(|p| p.into_inner());
            all.entry(tag).or_default().push(ms);
        }
    }
}

/// A message text: `bench <tag><n> t=<µs since epoch>`.
pub(super) fn message_text(tag: Tag, n: u64) -> String {
    format!("bench {}{n} t={}", tag.letter(), micros_now())
}

pub(super) fn parse_text(text: &str) -> Option<(Tag, u64)> {
    let mut words = text.split_whitespace();
    let _bench = words.next().filter(|w| *w == "bench")?;
    let tag = Tag::from_letter(words.next()?.chars().next()?)?;
    let sent = words.next()?.strip_prefix("t=")?.parse().ok()?;
    Some((tag, sent))
}
