//! The dialplan's `lookup` step over HTTP: POSTs the call's variables as JSON and
//! reads the JSON object it gets back into flat string fields. Bounded in time
//! (the step's timeout) and in size; any failure is a reason the dialplan's
//! `on_fail` branch records. Runs inside the call actor's select loop, never in
//! the media path.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

/// Largest answer read.
const MAX_ANSWER: usize = 64 * 1024;

fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default()
    })
}

/// The answer's fields, or why there are none.
pub async fn lookup(
    url: String,
    body: Value,
    timeout: Duration,
) -> Result<BTreeMap<String, String>, String> {
    let call = async {
        let mut resp = client()
            .post(&url)
            .json(&body)
            .send()
            .await
            .map_err(|e| format!("request failed: {}", e.without_url()))?;
        if !resp.status().is_success() {
            return Err(format!("HTTP {}", resp.status().as_u16()));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| e.without_url().to_string())?
        {
            bytes.extend_from_slice(&chunk);
            if bytes.len() > MAX_ANSWER {
                return Err("answer too large".into());
            }
        }
        fields(&bytes)
    };
    tokio::time::timeout(timeout, call)
        .await
        .unwrap_or_else(|_| Err("timeout".into()))
}

/// A JSON object's top-level fields as strings (nested values as JSON text).
fn fields(bytes: &[u8]) -> Result<BTreeMap<String, String>, String> {
    let Value::Object(map) =
        serde_json::from_slice(bytes).map_err(|e| format!("answer is not JSON: {e}"))?
    else {
        return Err("answer is not a JSON object".into());
    };
    Ok(map
        .into_iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s,
                Value::Null => String::new(),
                other => other.to_string(),
            };
            (k, text)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_become_flat_string_fields() {
        let got =
            fields(br#"{"status":"shipped","eta_days":2,"paid":true,"note":null,"items":[1,2]}"#)
                .unwrap();
        assert_eq!(got["status"], "shipped");
        assert_eq!(got["eta_days"], "2");
        assert_eq!(got["paid"], "true");
        assert_eq!(got["note"], "");
        assert_eq!(got["items"], "[1,2]");
        assert!(fields(b"[1]").unwrap_err().contains("not a JSON object"));
        assert!(fields(b"<html>").unwrap_err().contains("not JSON"));
    }

    #[tokio::test]
    async fn an_unreachable_service_fails_within_the_timeout() {
        let started = std::time::Instant::now();
        let err = lookup(
            "http://127.0.0.1:9/orders".into(),
            serde_json::json!({}),
            Duration::from_millis(500),
        )
        .await
        .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2), "{err}");
    }
}
