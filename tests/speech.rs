//! Speech recognition on the server: a caller's words, spoken by espeak-ng, cut
//! to the telephone band and sent as G.711 A-law RTP into a real call by sipp,
//! come back as a transcript in the caller's timeline while the call goes on (or
//! from the recording after it, with live transcripts off), attributed to the
//! caller; and the IVR's `listen` step hears why a caller calls, in English and
//! in Mandarin, and takes the matching branch. The model comes from
//! `common::speech_env`.

mod common;

use std::time::Duration;

use common::{Backend, Server, speech_pcap};

/// Whisper takes both cores: the tests here run one at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const SAID: &str = "I want to check the status of my order please";

/// Word error rate of `heard` against `said` (lower case, punctuation ignored).
fn wer(said: &str, heard: &str) -> f64 {
    let words = |s: &str| -> Vec<String> {
        s.split_whitespace()
            .map(|w| {
                w.trim_matches(|c: char| !c.is_alphanumeric())
                    .to_lowercase()
            })
            .filter(|w| !w.is_empty())
            .collect()
    };
    let (a, b) = (words(said), words(heard));
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, wa) in a.iter().enumerate() {
        let mut row = vec![i + 1];
        for (j, wb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(wa != wb);
            row.push(sub.min(prev[j + 1] + 1).min(row[j] + 1));
        }
        prev = row;
    }
    prev[b.len()] as f64 / a.len().max(1) as f64
}

/// Calls the hotline, presses `key` (1 Chinese, 2 English) and 2 (support) and
/// says `text` in `voice` while waiting in the queue; gives the caller's
/// transcript pieces and whether the call was still up when the first arrived.
async fn say_in_the_queue(
    server: &Server,
    key: char,
    voice: &str,
    text: &str,
) -> (Vec<serde_json::Value>, bool) {
    let pcap = speech_pcap(server.dir.path(), voice, text);
    let pcap = pcap.display().to_string();
    let key_pcap = format!("dtmf_2833_{key}.pcap");
    let scenario = server.scenario(
        "ivr_audio.xml",
        &[
            ("1:dtmf_2833_2.pcap", &key_pcap),
            ("/usr/share/sip-tester/g711a.pcap", &pcap),
        ],
    );
    let mut sipp = server.spawn_call(&scenario, 15000);
    let token = server.token_for("ann", "agent");
    let mut heard = Vec::new();
    let mut during_call = false;
    for _ in 0..600 {
        let timeline = server.phone_timeline("+8613700001111", &token).await;
        heard = timeline
            .iter()
            .filter(|e| e["payload"]["type"] == "transcript")
            .cloned()
            .collect();
        if !heard.is_empty() {
            during_call = !timeline
                .iter()
                .any(|e| e["payload"]["type"] == "call_ended");
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        sipp.wait().expect("sipp").success(),
        "the call went through"
    );
    (heard, during_call)
}

fn check_words(heard: &[serde_json::Value]) {
    assert!(!heard.is_empty(), "a transcript arrived in the timeline");
    assert!(
        heard.iter().all(|e| e["payload"]["speaker"] == "caller"),
        "{heard:?}"
    );
    let mut pieces = heard.to_vec();
    pieces.sort_by_key(|e| e["payload"]["start_ms"].as_i64());
    let text: Vec<&str> = pieces
        .iter()
        .filter_map(|e| e["payload"]["text"].as_str())
        .collect();
    let text = text.join(" ");
    let rate = wer(SAID, &text);
    println!("heard {text:?}, WER {rate:.2}");
    assert!(text.to_lowercase().contains("order"), "heard {text:?}");
    assert!(rate <= 0.3, "word error rate {rate:.2} for {text:?}");
    let start = pieces[0]["payload"]["start_ms"].as_i64().unwrap();
    assert!(
        start > 2000,
        "timed from the start of the call (the words come after two keys): {start}"
    );
}

#[tokio::test]
async fn a_callers_words_are_transcribed_while_the_call_goes_on() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let server = speech_server(&[]).await;
    let (heard, during_call) = say_in_the_queue(&server, '2', "en-us", SAID).await;
    check_words(&heard);
    assert!(during_call, "the transcript arrived before the call ended");
    let metrics = server.metrics().await;
    assert!(metrics.contains("switchboard_speech_on 1"), "{metrics}");
    assert!(
        !metrics.contains("switchboard_speech_pieces_total 0\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("switchboard_speech_deferred_total 0\n"),
        "one call is transcribed live without deferring: {metrics}"
    );
}

#[tokio::test]
async fn without_live_transcripts_the_recording_is_transcribed_after_the_call() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let server = speech_server(&[("SWITCHBOARD_LIVE_TRANSCRIPTS", "false")]).await;
    let (heard, during_call) = say_in_the_queue(&server, '2', "en-us", SAID).await;
    check_words(&heard);
    assert!(!during_call, "transcribed from the finished recording");
}

/// Character error rate of `heard` against `said`, punctuation and spaces ignored.
fn cer(said: &str, heard: &str) -> f64 {
    let chars = |s: &str| -> Vec<char> { s.chars().filter(|c| c.is_alphanumeric()).collect() };
    let (a, b) = (chars(said), chars(heard));
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut row = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            row.push(sub.min(prev[j + 1] + 1).min(row[j] + 1));
        }
        prev = row;
    }
    prev[b.len()] as f64 / a.len().max(1) as f64
}

#[tokio::test]
async fn a_mandarin_callers_words_are_transcribed_in_simplified_characters() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let server = speech_server(&[]).await;
    // The caller chooses Chinese (1): the call's language is zh from then on.
    let said = "我想问你一个问题";
    let (heard, during_call) = say_in_the_queue(
        &server,
        '1',
        "cmn-latn-pinyin",
        "wo3 xiang3 wen4 ni3 yi2 ge4 wen4 ti2",
    )
    .await;
    assert!(during_call);
    let text: String = heard
        .iter()
        .filter_map(|e| e["payload"]["text"].as_str())
        .collect();
    let rate = cer(said, &text);
    println!("heard {text:?}, CER {rate:.2}");
    assert!(
        heard.iter().all(|e| e["payload"]["language"] == "zh"),
        "{heard:?}"
    );
    assert!(
        is_simplified(&text),
        "simplified characters, not traditional: {text:?}"
    );
    assert!(rate <= 0.5, "character error rate {rate:.2} for {text:?}");
}

/// None of the traditional forms of the characters said.
fn is_simplified(text: &str) -> bool {
    !text.chars().any(|c| "問個題麼".contains(c))
}

async fn speech_server(extra: &[(&str, &str)]) -> Server {
    let speech = common::speech_env();
    let mut env = vec![("SWITCHBOARD_DIALPLAN_VARS", "open=always")];
    env.extend(speech.iter().map(|(k, v)| (*k, v.as_str())));
    env.extend_from_slice(extra);
    Server::start_with(Backend::Sqlite, &env).await
}

/// Calls the demo hotline, chooses the language by `key`, presses 4 and says
/// `text` in `voice`; returns the `speak` step's timeline entries once the words
/// were heard, and every IVR step the call passed.
async fn tell_the_ivr(key: char, voice: &str, text: &str) -> (Vec<serde_json::Value>, Vec<String>) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let server = speech_server(&[]).await;
    let pcap = speech_pcap(server.dir.path(), voice, text);
    let (key, pcap) = (key.to_string(), pcap.display().to_string());
    let scenario = server.scenario(
        "caller_speaks.xml",
        &[("LANGUAGE_KEY", &key), ("SPEECH_PCAP", &pcap)],
    );
    let mut sipp = server.spawn_call(&scenario, 20000);
    let token = server.token_for("ann", "agent");
    let mut heard = Vec::new();
    let mut steps = Vec::new();
    for _ in 0..400 {
        let timeline = server.phone_timeline("+8613700002222", &token).await;
        let ivr: Vec<&serde_json::Value> = timeline
            .iter()
            .filter(|e| e["payload"]["type"] == "ivr_step")
            .collect();
        heard = ivr
            .iter()
            .filter(|e| {
                e["payload"]["step"] == "speak" && e["payload"]["detail"].get("heard").is_some()
            })
            .map(|e| e["payload"]["detail"].clone())
            .collect();
        // Newest first in the timeline; steps in call order.
        steps = ivr
            .iter()
            .rev()
            .filter_map(|e| e["payload"]["step"].as_str().map(str::to_string))
            .collect();
        if ivr
            .iter()
            .any(|e| e["payload"]["detail"]["speech"] == "unavailable")
        {
            panic!("speech recognition was off: {ivr:?}");
        }
        if !heard.is_empty() && steps.last().is_some_and(|s| s != "speak") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ok = sipp.wait().expect("sipp");
    assert!(ok.success(), "the call went through");
    (heard, steps)
}

#[tokio::test]
async fn the_ivr_hears_an_english_caller_ask_about_an_order() {
    let (heard, steps) = tell_the_ivr('2', "en-us", "I want to check my order").await;
    println!("heard {heard:?}; steps {steps:?}");
    assert_eq!(heard.len(), 1, "understood at the first try: {heard:?}");
    let words = heard[0]["heard"].as_str().unwrap().to_lowercase();
    assert!(words.contains("order"), "{words:?}");
    assert_eq!(heard[0]["intent"], "order");
    let speak = steps.iter().rposition(|s| s == "speak").unwrap();
    assert_eq!(
        steps[speak + 1..].first().map(String::as_str),
        Some("order"),
        "{steps:?}"
    );
}

#[tokio::test]
async fn the_ivr_hears_a_mandarin_caller_with_a_question() {
    let (heard, steps) =
        tell_the_ivr('1', "cmn-latn-pinyin", "wo3 xiang3 wen4 yi2 ge4 wen4 ti2").await;
    println!("heard {heard:?}; steps {steps:?}");
    assert!(!heard.is_empty(), "{steps:?}");
    // "我想问你一个问题": whisper writes 問題 (traditional); the keyword is 问题.
    assert_eq!(heard[0]["intent"], "support", "{heard:?}");
    let speak = steps.iter().rposition(|s| s == "speak").unwrap();
    assert_eq!(
        steps[speak + 1..].first().map(String::as_str),
        Some("support"),
        "{steps:?}"
    );
}

#[test]
fn character_error_rate_counts_edits() {
    assert_eq!(cer("我想问一个问题", "我想问一个问题。"), 0.0);
    assert!((cer("问题", "问") - 0.5).abs() < 1e-9);
}

#[test]
fn word_error_rate_counts_edits() {
    assert_eq!(wer("check my order", "Check my order."), 0.0);
    assert!((wer("check my order", "check order") - 1.0 / 3.0).abs() < 1e-9);
}
