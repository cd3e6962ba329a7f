//! Routing rules through the API on the real binary: invalid rule sets are
//! refused with the rule and field named and nothing stored; a valid set is saved
//! by an admin and read by agents; a chat asking for a refund lands in `billing`
//! with the rule's priority (offered to the agent, `routed` in its timeline), a VIP
//! customer's chat gets the VIP rule, an e-mail with 退款 in its subject goes to
//! `billing`, a conversation opened through the API without a queue follows the
//! rules (the hotline's `order` intent) while an explicit queue wins; the rules
//! survive a restart.

mod common;

use std::time::Duration;

use common::chat::Widget;
use common::{Backend, Server};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    fn of(server: &Server) -> Client {
        Client {
            http: reqwest::Client::new(),
            base: format!("http://{}", server.http),
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        common::api_request(
            &self.http,
            method,
            format!("{}{path}", self.base),
            token,
            body,
        )
        .await
    }

    async fn get(&self, path: &str, token: &str) -> Value {
        let (s, v) = self.call(Method::GET, path, token, None).await;
        assert_eq!(s, StatusCode::OK, "GET {path}: {v}");
        v
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, token, Some(body)).await
    }

    async fn put_rules(&self, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, "/api/v1/routing/rules", token, Some(body))
            .await
    }

    /// The `routed` events of a conversation, from its customer's timeline.
    async fn routed(&self, token: &str, conv: &Value) -> Vec<Value> {
        let page = self
            .get(
                &format!(
                    "/api/v1/customers/{}/timeline?limit=200",
                    conv["customer_id"].as_str().unwrap()
                ),
                token,
            )
            .await;
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["payload"]["type"] == "routed" && e["conversation_id"] == conv["id"])
            .map(|e| e["payload"].clone())
            .collect()
    }

    /// Waits until the agent has an offer of `conversation`; the offer.
    async fn offer_of(&self, agent: &str, token: &str, conversation: &Value) -> Value {
        for _ in 0..200 {
            let o = self
                .get(&format!("/api/v1/agents/{agent}/offers"), token)
                .await;
            if let Some(offer) = o["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|o| o["conversation"] == *conversation)
            {
                return offer.clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no offer of {conversation} reached agent {agent}");
    }
}

/// The chat a widget's first message opened, read through the API.
async fn chat(server: &Server, c: &Client, token: &str, hello: Value, text: &str) -> Value {
    let (mut w, _) = Widget::hello(server, hello).await;
    let frames = w.say("m1", text).await;
    let opened = frames
        .iter()
        .find(|f| f["type"] == "opened")
        .expect("an opened frame");
    c.get(
        &format!(
            "/api/v1/conversations/{}",
            opened["conversation"].as_str().unwrap()
        ),
        token,
    )
    .await
}

const SEND: &str = r#"
import smtplib, sys
from email.message import EmailMessage
m = EmailMessage()
m["From"] = "Zhang Wei <zhang.wei@example.com>"
m["To"] = "support@acme.test"
m["Subject"] = "退款申请"
m["Message-ID"] = "<refund-1@example.com>"
m.set_content("订单 12345 请尽快处理。")
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10) as s:
    s.send_message(m)
"#;

fn valid_rules() -> Value {
    json!({"rules": [
        {"name": "vip", "if": {"tier": "vip", "channel": ["chat", "email"]}, "then": {"queue": "vip", "priority": 50}},
        {"name": "refunds", "if": {"keywords": ["refund", "退款"]}, "then": {"queue": "billing", "priority": 7, "skills": {"billing": 2}}},
        {"name": "orders", "if": {"intent": "order"}, "then": {"queue": "support", "priority": 3}},
        {"name": "nights", "if": {"hours": {"timezone": "Asia/Shanghai", "open": {"mon-sun": "00:00-23:59"}, "outside": true}}, "then": {"queue": "support"}}
    ], "default": {"queue": "support"}})
}

async fn refused(c: &Client, admin: &str, body: Value, field: &str, why: &str) {
    let (s, e) = c.put_rules(admin, body).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    let message = e["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with(field) && message.contains(why),
        "expected `{field}` … `{why}`, got: {message}"
    );
}

async fn scenario(backend: Backend) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let mut server = Server::start_with(backend, &[("SWITCHBOARD_SMTP_LISTEN", &listen)]).await;
    let admin = server.token_for("boss", "admin");
    let reader = server.token_for("rita", "agent");
    let c = Client::of(&server);
    // Offers ring long enough that ann is never set away for missing one.
    for q in ["support", "billing", "vip"] {
        let (s, v) = c
            .post(
                "/api/v1/queues",
                &admin,
                json!({"name": q, "offer_seconds": 600}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let (s, ann) = c
        .post(
            "/api/v1/agents",
            &admin,
            json!({"name": "ann", "password": "password-of-ann", "skills": {"billing": 3},
                "queues": ["support", "billing", "vip"], "capacity": {"chat": 5, "email": 5}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{ann}");
    let ann_id = ann["id"].as_str().unwrap().to_string();
    let ann_token = server.cli(&["token", "create", "ann"], "");
    let (s, _) = c
        .call(
            Method::PUT,
            &format!("/api/v1/agents/{ann_id}/state"),
            &ann_token,
            Some(json!({"state": "available"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    // Nothing saved yet: the default alone, readable by an agent.
    let none = c.get("/api/v1/routing/rules", &reader).await;
    assert_eq!(none["version"], 0, "{none}");
    assert_eq!(none["rules"], json!([]));
    assert_eq!(none["default"]["queue"], "support");
    let (s, _) = c.put_rules(&reader, valid_rules()).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "agents only read the rules");

    // Invalid sets: 400 naming the rule and field; nothing stored.
    let mut typo = valid_rules();
    typo["rules"][1]["then"]["queue"] = json!("bililng");
    refused(
        &c,
        &admin,
        typo,
        "rules[1] (refunds).then.queue",
        "unknown queue `bililng`",
    )
    .await;
    let mut hours = valid_rules();
    hours["rules"][3]["if"]["hours"]["open"] = json!({"mon-fri": "18:00-09:00"});
    refused(
        &c,
        &admin,
        hours,
        "rules[3] (nights).if.hours.open",
        "mon-fri",
    )
    .await;
    let mut zone = valid_rules();
    zone["rules"][3]["if"]["hours"]["timezone"] = json!("Asia/Beijing");
    refused(
        &c,
        &admin,
        zone,
        "rules[3] (nights).if.hours.timezone",
        "Asia/Beijing",
    )
    .await;
    let mut skill = valid_rules();
    skill["rules"][1]["then"]["skills"] = json!({"billing": 9});
    refused(
        &c,
        &admin,
        skill,
        "rules[1] (refunds).then.skills.billing",
        "1 to 5",
    )
    .await;
    let mut intent = valid_rules();
    intent["rules"][2]["if"]["intent"] = json!("refund");
    refused(
        &c,
        &admin,
        intent,
        "rules[2] (orders).if.intent",
        "`refund`",
    )
    .await;
    let mut twice = valid_rules();
    twice["rules"][2]["name"] = json!("VIP");
    refused(&c, &admin, twice, "rules[2] (VIP).name", "another rule").await;
    let mut channel = valid_rules();
    channel["rules"][0]["if"]["channel"] = json!(["chat", "fax"]);
    refused(&c, &admin, channel, "rules[0].if.channel", "fax").await;
    let mut field = valid_rules();
    field["rules"][0]["if"]["colour"] = json!("red");
    refused(&c, &admin, field, "rules[0].if", "colour").await;
    refused(
        &c,
        &admin,
        json!({"default": {"queue": "nowhere"}}),
        "default.queue",
        "unknown queue",
    )
    .await;
    assert_eq!(
        c.get("/api/v1/routing/rules", &reader).await["version"],
        0,
        "nothing stored"
    );

    // A valid set; a save based on an old version is refused.
    let (s, saved) = c.put_rules(&admin, valid_rules()).await;
    assert_eq!(s, StatusCode::OK, "{saved}");
    assert_eq!(saved["version"], 1);
    assert_eq!(saved["updated_by"], "boss");
    assert_eq!(saved["warnings"], json!([]));
    assert_eq!(saved["rules"][0]["if"]["tier"], json!(["vip"]));
    let mut stale = valid_rules();
    stale["version"] = json!(0);
    let (s, e) = c.put_rules(&admin, stale).await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    let mut unknown_skill = valid_rules();
    unknown_skill["rules"][1]["then"]["skills"] = json!({"refunds": 2});
    unknown_skill["version"] = json!(1);
    let (s, warned) = c.put_rules(&admin, unknown_skill).await;
    assert_eq!(s, StatusCode::OK, "{warned}");
    assert!(
        warned["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("rules[1] (refunds).then.skills.refunds:"),
        "{warned}"
    );
    let mut back = valid_rules();
    back["version"] = json!(2);
    let (s, saved) = c.put_rules(&admin, back).await;
    assert_eq!(
        (s, saved["version"].as_i64()),
        (StatusCode::OK, Some(3)),
        "{saved}"
    );

    // A chat asking for a refund: billing, with the rule's priority, offered to ann.
    let refund = chat(
        &server,
        &c,
        &ann_token,
        json!({"name": "Li Lei"}),
        "Hi, I want a refund please",
    )
    .await;
    assert_eq!(
        (refund["queue"].as_str(), refund["priority"].as_i64()),
        (Some("billing"), Some(7)),
        "{refund}"
    );
    let offer = c.offer_of(&ann_id, &ann_token, &refund["id"]).await;
    assert_eq!(offer["queue"], "billing");
    let routed = c.routed(&ann_token, &refund).await;
    assert_eq!(routed.len(), 1, "{routed:?}");
    assert_eq!(routed[0]["rule"], "refunds");
    assert_eq!(routed[0]["queue"], "billing");
    assert_eq!(routed[0]["skills"], json!({"billing": 2}));
    assert_eq!(routed[0]["because"], json!(["keyword refund"]));

    // A VIP customer's chat, whatever it says.
    let (s, vip) = c
        .post("/api/v1/customers", &admin, json!({"name": "Wang Fang", "tier": "vip", "identities": [{"kind": "chat", "value": "v-wangfang"}]}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{vip}");
    let vip_chat = chat(
        &server,
        &c,
        &ann_token,
        json!({"visitor": "v-wangfang"}),
        "I want a refund",
    )
    .await;
    assert_eq!(vip_chat["customer_id"], vip["id"]);
    assert_eq!(
        (vip_chat["queue"].as_str(), vip_chat["priority"].as_i64()),
        (Some("vip"), Some(50)),
        "{vip_chat}"
    );
    let routed = c.routed(&ann_token, &vip_chat).await;
    assert_eq!(routed[0]["rule"], "vip");
    assert_eq!(routed[0]["because"], json!(["channel chat", "tier vip"]));
    c.offer_of(&ann_id, &ann_token, &vip_chat["id"]).await;

    // An e-mail with 退款 in the subject.
    let out = std::process::Command::new("python3")
        .args(["-c", SEND, &port.to_string()])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found = c
        .get(
            "/api/v1/customers?email=zhang.wei%40example.com",
            &ann_token,
        )
        .await;
    let zhang = found["items"][0]["id"]
        .as_str()
        .expect("the sender")
        .to_string();
    let convs = c
        .get(
            &format!("/api/v1/conversations?customer_id={zhang}"),
            &ann_token,
        )
        .await;
    let mail = convs["items"][0].clone();
    assert_eq!(
        (mail["channel"].as_str(), mail["queue"].as_str()),
        (Some("email"), Some("billing")),
        "{mail}"
    );
    assert_eq!(mail["priority"], 7);
    let routed = c.routed(&ann_token, &mail).await;
    assert_eq!(routed[0]["rule"], "refunds");
    assert_eq!(
        routed[0]["because"],
        json!(["keyword 退款"]),
        "refunds comes before the order intent"
    );
    c.offer_of(&ann_id, &ann_token, &mail["id"]).await;

    // Through the API: no queue follows the rules (the hotline's order intent); a queue given wins.
    let (_, li) = c
        .post("/api/v1/customers", &admin, json!({"name": "Zhao Lei"}))
        .await;
    let (s, order) = c
        .post(
            "/api/v1/conversations",
            &ann_token,
            json!({"customer_id": li["id"], "channel": "chat", "text": "Where is my delivery?"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{order}");
    assert_eq!(
        (
            order["queue"].as_str(),
            order["priority"].as_i64(),
            order["status"].as_str()
        ),
        (Some("support"), Some(3), Some("queued"))
    );
    assert_eq!(
        c.routed(&ann_token, &order).await[0]["because"],
        json!(["intent order"])
    );
    let (s, explicit) = c
        .post("/api/v1/conversations", &ann_token, json!({"customer_id": li["id"], "channel": "email", "queue": "vip", "subject": "refund"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{explicit}");
    assert_eq!(explicit["queue"], "vip");
    assert!(
        c.routed(&ann_token, &explicit).await.is_empty(),
        "no rule was asked"
    );

    let doc = c.get("/api/openapi.json", &reader).await;
    assert!(doc["paths"]["/api/v1/routing/rules"]["put"].is_object());
    assert!(doc["components"]["schemas"]["RulesUpdate"].is_object());

    // The rules and the waiting conversations survive a restart.
    server.restart();
    let c = Client::of(&server);
    let after = c.get("/api/v1/routing/rules", &reader).await;
    assert_eq!(after["version"], 3, "{after}");
    assert_eq!(after["rules"], saved["rules"]);
    assert_eq!(after["updated_by"], "boss");
    c.offer_of(&ann_id, &ann_token, &refund["id"]).await;
    let again = chat(&server, &c, &ann_token, json!({"name": "Han Mei"}), "退款").await;
    assert_eq!(again["queue"], "billing", "{again}");
}

#[tokio::test]
async fn routing_rules_sqlite() {
    scenario(Backend::Sqlite).await;
}

#[tokio::test]
async fn routing_rules_postgres() {
    scenario(Backend::Postgres).await;
}
