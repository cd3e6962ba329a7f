//! The WeChat Official Account channel against the real server, with signatures
//! computed as WeChat documents them and a local HTTP server standing in for the
//! WeChat API: URL verification, each message type, redelivery and replay,
//! malformed input, and an agent's reply delivered through the customer-service
//! API after the access token WeChat reports expired is fetched again.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::{Query, State};
use axum::routing::{get, post};
use common::{Backend, Server};
use serde_json::{Value, json};
use sha1::{Digest, Sha1};

const TOKEN: &str = "wxtoken123";
const OPENID: &str = "oAbC_follower_42";

fn signed_query(timestamp: i64, nonce: &str) -> String {
    let ts = timestamp.to_string();
    let mut parts = [TOKEN, ts.as_str(), nonce];
    parts.sort_unstable();
    let sig = hex::encode(Sha1::digest(parts.concat().as_bytes()));
    format!("signature={sig}&timestamp={ts}&nonce={nonce}")
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn xml(kind: &str, extra: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[gh_acme]]></ToUserName><FromUserName><![CDATA[{OPENID}]]></FromUserName>\
         <CreateTime>{}</CreateTime><MsgType><![CDATA[{kind}]]></MsgType>{extra}</xml>",
        now()
    )
}

async fn callback(server: &Server, query: &str, body: &str) -> (u16, String) {
    let res = reqwest::Client::new()
        .post(server.url(&format!("/channels/wechat?{query}&openid={OPENID}")))
        .header("content-type", "text/xml")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// What the stand-in WeChat API was asked.
#[derive(Default)]
struct Api {
    tokens_issued: u32,
    sends: Vec<(String, Value)>,
}

type Shared = Arc<Mutex<Api>>;

async fn token(State(api): State<Shared>, Query(q): Query<Value>) -> Json<Value> {
    assert_eq!(q["grant_type"], "client_credential");
    assert_eq!(q["appid"], "wxapp");
    assert_eq!(q["secret"], "wxsecret");
    let mut api = api.lock().unwrap();
    api.tokens_issued += 1;
    Json(json!({ "access_token": format!("tok{}", api.tokens_issued), "expires_in": 7200 }))
}

/// The first token "expires" at once; later ones work.
async fn send(
    State(api): State<Shared>,
    Query(q): Query<Value>,
    Json(body): Json<Value>,
) -> Json<Value> {
    let token = q["access_token"].as_str().unwrap_or("").to_string();
    let mut api = api.lock().unwrap();
    api.sends.push((token.clone(), body));
    if token == "tok1" {
        return Json(json!({ "errcode": 42001, "errmsg": "access_token expired" }));
    }
    Json(json!({ "errcode": 0, "errmsg": "ok" }))
}

async fn stand_in_api() -> (String, Shared) {
    let api: Shared = Arc::default();
    let app = axum::Router::new()
        .route("/cgi-bin/token", get(token))
        .route("/cgi-bin/message/custom/send", post(send))
        .with_state(api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), api)
}

async fn messages(server: &Server, token: &str, conv: &str) -> Vec<String> {
    let msgs: Value = server
        .get_json(&format!("/api/v1/conversations/{conv}/messages"), token)
        .await;
    msgs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["payload"]["text"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn followers_messages_and_agents_replies() {
    let (base, api) = stand_in_api().await;
    let server = Server::start_with(
        Backend::Sqlite,
        &[
            ("SWITCHBOARD_WECHAT_TOKEN", TOKEN),
            ("SWITCHBOARD_WECHAT_APP_ID", "wxapp"),
            ("SWITCHBOARD_WECHAT_APP_SECRET", "wxsecret"),
            ("SWITCHBOARD_WECHAT_API_BASE", &base),
        ],
    )
    .await;
    let http = reqwest::Client::new();

    // URL verification echoes echostr only for a right signature.
    let q = signed_query(now(), "n1");
    let res = http
        .get(server.url(&format!("/channels/wechat?{q}&echostr=hello123")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "hello123");
    let bad = q.replace("signature=", "signature=0");
    let res = http
        .get(server.url(&format!("/channels/wechat?{bad}&echostr=x")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    // Following is noted; a text opens a social conversation in the support queue.
    let (code, body) = callback(
        &server,
        &signed_query(now(), "n2"),
        &xml("event", "<Event><![CDATA[subscribe]]></Event>"),
    )
    .await;
    assert_eq!((code, body.as_str()), (200, "success"));
    let text = xml(
        "text",
        "<Content><![CDATA[我的订单到哪了？]]></Content><MsgId>100001</MsgId>",
    );
    let (code, body) = callback(&server, &signed_query(now(), "n3"), &text).await;
    assert_eq!((code, body.as_str()), (200, "success"));
    // WeChat redelivers a callback it thinks went unanswered: stored once.
    let (code, _) = callback(&server, &signed_query(now(), "n4"), &text).await;
    assert_eq!(code, 200);
    for (kind, extra, nonce) in [
        (
            "image",
            "<PicUrl><![CDATA[http://mmbiz.qpic.cn/x.jpg]]></PicUrl><MediaId>m1</MediaId><MsgId>100002</MsgId>",
            "n5",
        ),
        (
            "voice",
            "<MediaId>m2</MediaId><Format>amr</Format><Recognition><![CDATA[退款]]></Recognition><MsgId>100003</MsgId>",
            "n6",
        ),
        (
            "location",
            "<Location_X>23.13</Location_X><Location_Y>113.26</Location_Y><Scale>20</Scale><Label><![CDATA[广州]]></Label><MsgId>100004</MsgId>",
            "n7",
        ),
    ] {
        let (code, _) = callback(&server, &signed_query(now(), nonce), &xml(kind, extra)).await;
        assert_eq!(code, 200, "{kind}");
    }

    // Refused: a stale (replayed) request, a bad signature, malformed XML.
    let (code, _) = callback(&server, &signed_query(now() - 3600, "n8"), &text).await;
    assert_eq!(code, 403);
    let (code, _) = callback(
        &server,
        &signed_query(now(), "n9").replace("nonce=n9", "nonce=other"),
        &text,
    )
    .await;
    assert_eq!(code, 403);
    let (code, body) = callback(&server, &signed_query(now(), "n10"), "<xml><MsgType>text").await;
    assert_eq!(code, 400, "{body}");
    assert!(
        server
            .metrics()
            .await
            .contains("switchboard_wechat_rejected_total 4")
    );

    let agent = server.token_for("ann", "agent");
    let found: Value = server
        .get_json("/api/v1/customers?q=follower", &agent)
        .await;
    let customer = &found["items"][0];
    assert_eq!(customer["identities"][0]["kind"], "wechat");
    let customer = customer["id"].as_str().unwrap();
    let timeline: Value = server
        .get_json(&format!("/api/v1/customers/{customer}/timeline"), &agent)
        .await;
    assert!(
        timeline["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["payload"]["type"] == "note" && e["payload"]["text"] == "[event] subscribe"),
        "{timeline}"
    );
    let convs: Value = server
        .get_json(
            &format!("/api/v1/conversations?customer_id={customer}"),
            &agent,
        )
        .await;
    let convs = convs["items"].as_array().unwrap();
    assert_eq!(convs.len(), 1, "{convs:?}");
    assert_eq!(convs[0]["channel"], "social");
    assert_eq!(convs[0]["queue"], "support");
    let conv = convs[0]["id"].as_str().unwrap();
    assert_eq!(
        messages(&server, &agent, conv).await,
        [
            "我的订单到哪了？",
            "[image] http://mmbiz.qpic.cn/x.jpg",
            "[voice] 退款",
            "[location] 广州 (23.13, 113.26)"
        ]
    );

    // The agent's reply goes out through the customer-service API.
    let reply = server
        .post_json(
            &format!("/api/v1/conversations/{conv}/messages"),
            &agent,
            &json!({ "text": "您的订单今天发货。" }),
        )
        .await;
    let seq = reply["seq"].as_i64().unwrap();
    let mut sent = None;
    for _ in 0..100 {
        let timeline: Value = server
            .get_json(&format!("/api/v1/customers/{customer}/timeline"), &agent)
            .await;
        sent = timeline["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["payload"]["type"] == "delivery")
            .cloned();
        if sent.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let sent = sent.expect("a delivery event");
    assert_eq!(sent["payload"]["status"], "sent", "{sent}");
    assert_eq!(sent["payload"]["message"], seq);
    let api = api.lock().unwrap();
    assert_eq!(api.tokens_issued, 2, "the expired token was replaced");
    assert_eq!(api.sends.len(), 2);
    let (token, body) = &api.sends[1];
    assert_eq!(token, "tok2");
    assert_eq!(
        body,
        &json!({ "touser": OPENID, "msgtype": "text", "text": { "content": "您的订单今天发货。" } })
    );
}

#[tokio::test]
async fn the_channel_is_off_without_a_token() {
    let server = Server::start(Backend::Sqlite).await;
    let (code, _) = callback(
        &server,
        &signed_query(now(), "n1"),
        &xml("text", "<Content>x</Content>"),
    )
    .await;
    assert_eq!(code, 404);
}
