//! The walking skeleton of a call, end to end with real peers: sipp calls the
//! hotline, picks English and support by DTMF, talks; the agent, signed in to the
//! workspace in headless Chromium with a fake microphone, accepts the voice offer
//! and answers in the built-in WebRTC softphone; audio flows both ways; the caller
//! hangs up. Asserted on the browser's RTP counters and on the stereo recording
//! (caller left, agent right); with speech recognition on, the agent reads both
//! sides' words in the call panel while the call goes on.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::audio::{bridged_levels, tone};
use common::{BrowserRun, Server, speech_env, speech_pcap};

/// A voice for the agent's fake microphone: a 600 Hz tone (Chromium loops it).
fn agent_voice(dir: &Path) -> String {
    tone(dir, "agent-voice", 600)
}

/// Words for the agent's fake microphone, spoken by espeak-ng, then a pause
/// (Chromium loops the file).
fn agent_words(dir: &Path, text: &str) -> String {
    let raw = dir.join("agent-words-raw.wav");
    let wav = dir.join("agent-words.wav");
    let ok = std::process::Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "150", "-w"])
        .arg(&raw)
        .arg(text)
        .status()
        .expect("espeak-ng (scripts/test installs it)");
    assert!(ok.success());
    let ok = std::process::Command::new("sox")
        .arg(&raw)
        .args(["-r", "48000", "-c", "1", "-b", "16"])
        .arg(&wav)
        .args(["norm", "-3", "pad", "0", "2"])
        .status()
        .expect("sox (scripts/test installs it)");
    assert!(ok.success());
    wav.display().to_string()
}

static ONE_CALL_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// What a browser script for ann needs: the server, her password, her voice.
fn ann_env(server: &Server, voice: String) -> Vec<(&'static str, String)> {
    vec![
        ("SWITCHBOARD_URL", format!("http://{}", server.http)),
        ("AGENT_NAME", "ann".into()),
        ("AGENT_PASSWORD", "password-of-ann".into()),
        ("AGENT_VOICE_WAV", voice),
    ]
}

/// What a browser script for ann and bob needs.
fn ann_and_bob_env(server: &Server, voice: String) -> Vec<(&'static str, String)> {
    vec![
        ("SWITCHBOARD_URL", format!("http://{}", server.http)),
        ("ANN_PASSWORD", "password-of-ann".into()),
        ("BOB_PASSWORD", "password-of-bob".into()),
        ("AGENT_VOICE_WAV", voice),
    ]
}

/// Runs a browser script (agents' pages) while sipp makes one call with `sipp`
/// arguments; panics if either fails.
async fn call_while(server: &Server, script: &str, env: &[(&str, String)], sipp: &[&str]) {
    // One call at a time: Chromium, the relay and live transcription share two
    // cores, and a starved transcriber would show the words too late.
    let _turn = ONE_CALL_AT_A_TIME.lock().await;
    let browser = BrowserRun::start(script, env);
    let caller = server
        .sipp(sipp)
        .stdout(Stdio::null())
        .status()
        .expect("sipp");
    browser.finish().await;
    assert!(caller.success(), "the caller's call did not go through");
}

#[tokio::test]
async fn an_agent_transfers_a_call_to_a_queue_and_another_agent_answers() {
    let server = Server::hotline_with_agents(&["ann", "bob"]).await;
    let voice = agent_voice(server.dir.path());
    call_while(
        &server,
        "transfer.mjs",
        &ann_and_bob_env(&server, voice),
        &["-sf", "caller_talks.xml", "-s", "4000", "-m", "1"],
    )
    .await;
    let token = server.token_for("sup", "supervisor");
    let items = server.phone_timeline("+8613912345678", &token).await;
    let answered: Vec<&str> = items
        .iter()
        .filter(|e| e["payload"]["type"] == "call_answered")
        .filter_map(|e| e["payload"]["agent"].as_str())
        .collect();
    assert!(
        answered.contains(&"ann") && answered.contains(&"bob"),
        "answered by {answered:?}"
    );
    assert!(
        items.iter().any(|e| e["payload"]["step"] == "transfer"),
        "the transfer is in the timeline"
    );
}

#[tokio::test]
async fn an_agent_transfers_a_call_to_another_agent_by_name() {
    let server = Server::hotline_with_agents(&["ann", "bob", "cy"]).await;
    let voice = agent_voice(server.dir.path());
    let mut env = ann_and_bob_env(&server, voice);
    let sup = server.token_for("sup", "supervisor");
    let agents = server.get_json("/api/v1/agents", &sup).await;
    let cy = agents["items"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["name"] == "cy"))
        .and_then(|x| x["id"].as_str())
        .expect("cy is an agent")
        .to_string();
    env.push(("CY_ID", cy));
    env.push(("CY_TOKEN", server.cli(&["token", "create", "cy"], "")));
    call_while(
        &server,
        "transfer_agent.mjs",
        &env,
        &["-sf", "caller_talks.xml", "-s", "4000", "-m", "1"],
    )
    .await;
    let items = server.phone_timeline("+8613912345678", &sup).await;
    let answered: Vec<&str> = items
        .iter()
        .filter(|e| e["payload"]["type"] == "call_answered")
        .filter_map(|e| e["payload"]["agent"].as_str())
        .collect();
    assert!(
        answered.contains(&"ann") && answered.contains(&"bob") && !answered.contains(&"cy"),
        "answered by {answered:?}"
    );
    assert!(
        items
            .iter()
            .any(|e| e["payload"]["step"] == "transfer"
                && e["payload"]["detail"]["agent"].is_string()),
        "the transfer to an agent is in the timeline: {items:#?}"
    );
}

#[tokio::test]
async fn a_call_is_answered_in_the_browser_softphone_with_audio_both_ways() {
    let server = Server::hotline_with_agents(&["ann"]).await;
    let voice = agent_voice(server.dir.path());
    call_while(
        &server,
        "softphone.mjs",
        &ann_env(&server, voice),
        &["-sf", "caller_talks.xml", "-s", "4000", "-m", "1"],
    )
    .await;

    let token = server.token_for("sup", "supervisor");
    let mut recording = None;
    for _ in 0..100 {
        let items = server.phone_timeline("+8613912345678", &token).await;
        if !items.is_empty() {
            assert!(
                items
                    .iter()
                    .any(|e| e["payload"]["type"] == "call_answered"
                        && e["payload"]["agent"] == "ann"),
                "the timeline says ann answered: {items:?}"
            );
            recording = items
                .iter()
                .find(|e| e["payload"]["type"] == "recording")
                .and_then(|e| e["payload"]["path"].as_str().map(str::to_string));
        }
        if recording.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let path = recording.expect("the recording is in the timeline");
    let (left, right, frames) = bridged_levels(&path);
    assert!(
        frames > 100,
        "at least 2 s with the agent on the call, got {frames} frames"
    );
    assert!(
        left > 300.0,
        "the caller is heard while bridged: rms {left}"
    );
    assert!(right > 300.0, "the agent is heard: rms {right}");
}

#[tokio::test]
async fn the_agent_reads_the_live_transcript_of_both_sides_during_the_call() {
    let speech = speech_env();
    let env: Vec<(&str, &str)> = speech.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = Server::hotline_with_agents_and(&["ann"], &env).await;
    let voice = agent_words(
        server.dir.path(),
        "Thank you for calling. How can I help you today?",
    );
    let pcap = speech_pcap(
        server.dir.path(),
        "en-us",
        "I want to check the status of my order please",
    );
    let pcap = pcap.display().to_string();
    let scenario = server.scenario(
        "caller_talks.xml",
        &[("/usr/share/sip-tester/g711a.pcap", &pcap)],
    );
    call_while(
        &server,
        "live_transcript.mjs",
        &ann_env(&server, voice),
        &["-sf", &scenario, "-s", "4000", "-m", "1"],
    )
    .await;
}

/// How much of the recording's agent side (right channel) is the music on hold
/// from its start, as the caller heard it (G.711 A-law), in samples; and how much
/// agent audio (100 ms blocks with rms > 300) follows it. Compared frame by frame
/// (20 ms), skipping the silent frames the recorder puts in when the caller's
/// side runs ahead.
fn music_on_hold_in(path: &str) -> (usize, usize) {
    use switchboard::media::g711::{alaw_to_linear, linear_to_alaw};
    const F: usize = 160;
    let sounds = Path::new(env!("CARGO_MANIFEST_DIR")).join("sounds/moh.wav");
    let moh: Vec<i16> = hound::WavReader::open(sounds)
        .expect("sounds/moh.wav")
        .samples::<i16>()
        .map(|x| alaw_to_linear(linear_to_alaw(x.unwrap())))
        .collect();
    let moh_frames: Vec<&[i16]> = moh.chunks_exact(F).collect();
    let mut r = hound::WavReader::open(path).expect("a valid WAV");
    let all: Vec<i16> = r.samples::<i16>().map(|x| x.unwrap()).collect();
    let right: Vec<i16> = all.iter().skip(1).step_by(2).copied().collect();
    let frames: Vec<&[i16]> = right.chunks_exact(F).collect();
    // Frame 5 of the music, 100 ms in, is past its fade-in.
    const ANCHOR: usize = 5;
    let (mut best, mut end) = (0, 0);
    for start in 0..frames.len() {
        if frames[start] != moh_frames[ANCHOR] {
            continue;
        }
        let (mut m, mut j) = (ANCHOR + 1, start + 1);
        while j < frames.len() {
            if frames[j] == moh_frames[m % moh_frames.len()] {
                m += 1;
            } else if frames[j].iter().any(|v| *v != 0) {
                break;
            }
            j += 1;
        }
        if m * F > best {
            (best, end) = (m * F, j * F);
        }
    }
    let after = right[end..]
        .chunks(800)
        .filter(|b| {
            let e = b.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / b.len() as f64;
            e.sqrt() > 300.0
        })
        .count();
    (best, after)
}

#[tokio::test]
async fn the_agent_holds_the_caller_with_music_and_resumes() {
    let server = Server::hotline_with_agents(&["ann"]).await;
    let voice = agent_voice(server.dir.path());
    call_while(
        &server,
        "hold.mjs",
        &ann_env(&server, voice),
        &["-sf", "caller_talks.xml", "-s", "4000", "-m", "1"],
    )
    .await;
    let token = server.token_for("sup", "supervisor");
    let items = server
        .phone_timeline_until("+8613912345678", &token, |items| {
            items.iter().any(|e| e["payload"]["type"] == "recording")
        })
        .await;
    let holds: Vec<(bool, &str)> = items
        .iter()
        .filter(|e| e["payload"]["type"] == "call_hold")
        .map(|e| {
            let p = &e["payload"];
            (p["held"].as_bool().unwrap(), p["agent"].as_str().unwrap())
        })
        .collect();
    assert_eq!(holds, [(true, "ann"), (false, "ann")], "held, then resumed");
    let path = items
        .iter()
        .find(|e| e["payload"]["type"] == "recording")
        .and_then(|e| e["payload"]["path"].as_str())
        .expect("the recording is in the timeline");
    let (music, after) = music_on_hold_in(path);
    eprintln!(
        "music on hold in the recording: {music} samples; agent audio after it: {after} blocks"
    );
    assert!(
        music >= 2 * 8000,
        "the caller heard the music on hold for 2 s or more, got {music} samples"
    );
    assert!(
        after >= 10,
        "the agent is heard again after resuming: {after} blocks"
    );
}

#[tokio::test]
async fn the_agent_transfers_a_call_to_a_number_through_the_trunk() {
    let trunk_port = common::free_udp_port();
    let trunk = format!("127.0.0.1:{trunk_port}");
    let server = Server::hotline_with_agents_and(
        &["ann"],
        &[
            ("SWITCHBOARD_TRUNK_ADDRESS", &trunk),
            // The sipp line expects an INVITE only.
            ("SWITCHBOARD_TRUNK_OPTIONS_SECONDS", "0"),
        ],
    )
    .await;
    // The number answers in the caller's codec (A-law) and waits for the BYE.
    let line = server.scenario(
        "agent_phone.xml",
        &[
            ("RTP/AVP 0 101", "RTP/AVP 8 101"),
            ("rtpmap:0 PCMU", "rtpmap:8 PCMA"),
        ],
    );
    let line = common::sipp_uas(trunk_port, &line, 1, Stdio::null());
    let mut env = ann_env(&server, agent_voice(server.dir.path()));
    env.push(("TRANSFER_NUMBER", "+86 10 8888 0000".into()));
    call_while(
        &server,
        "transfer_number.mjs",
        &env,
        &["-sf", "caller_talks.xml", "-s", "4000", "-m", "1"],
    )
    .await;
    assert!(
        common::wait_child(line).await.success(),
        "the number answered and was hung up when the caller hung up"
    );
    let token = server.token_for("sup", "supervisor");
    let items = server.phone_timeline("+8613912345678", &token).await;
    let step = items
        .iter()
        .find(|e| e["payload"]["step"] == "transfer")
        .expect("the transfer is in the timeline");
    assert_eq!(step["payload"]["detail"]["number"], "+861088880000");
    assert!(
        items
            .iter()
            .any(|e| e["payload"]["type"] == "call_transferred"
                && e["payload"]["to"] == "number +861088880000"),
        "the number answered: {items:?}"
    );
}

#[tokio::test]
async fn a_call_whose_browser_is_lost_goes_back_to_the_front_of_the_queue() {
    let server = Server::hotline_with_agents(&["ann", "bob"]).await;
    let voice = agent_voice(server.dir.path());
    call_while(
        &server,
        "lost_browser.mjs",
        &ann_and_bob_env(&server, voice),
        &["-sf", "caller_talks.xml", "-s", "4000", "-m", "1"],
    )
    .await;
    let token = server.token_for("sup", "supervisor");
    let items = server.phone_timeline("+8613912345678", &token).await;
    let answered: Vec<&str> = items
        .iter()
        .rev()
        .filter(|e| e["payload"]["type"] == "call_answered")
        .filter_map(|e| e["payload"]["agent"].as_str())
        .collect();
    assert_eq!(answered, ["ann", "bob"], "answered by ann, then bob");
    let requeued = items
        .iter()
        .find(|e| e["payload"]["step"] == "requeue")
        .expect("the re-queue is in the timeline");
    assert_eq!(requeued["payload"]["detail"]["reason"], "agent_leg_lost");
    assert_eq!(requeued["payload"]["detail"]["queue"], "support");
}

#[tokio::test]
async fn when_the_agent_hangs_up_first_the_caller_rates_the_call() {
    let server = Server::hotline_with_agents(&["ann"]).await;
    let voice = agent_voice(server.dir.path());
    call_while(
        &server,
        "survey.mjs",
        &ann_env(&server, voice),
        &[
            "-sf",
            "caller_rates.xml",
            "-s",
            "4000",
            "-m",
            "1",
            "-timeout",
            "90",
            "-timeout_error",
        ],
    )
    .await;
    let token = server.token_for("sup", "supervisor");
    let mut items = Vec::new();
    for _ in 0..100 {
        items = server.phone_timeline("+8613912345678", &token).await;
        if items.iter().any(|e| e["payload"]["type"] == "call_ended") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let kinds: Vec<&str> = items
        .iter()
        .rev()
        .filter_map(|e| {
            e["payload"]["step"]
                .as_str()
                .or(e["payload"]["type"].as_str())
        })
        .collect();
    let csat: Vec<&serde_json::Value> = items
        .iter()
        .filter(|e| e["payload"]["type"] == "csat")
        .collect();
    assert_eq!(csat.len(), 1, "one rating: {kinds:?}");
    assert_eq!(csat[0]["payload"]["score"], 4);
    let answered = kinds.iter().position(|k| *k == "call_answered");
    let survey = kinds.iter().position(|k| *k == "survey");
    assert!(
        answered.is_some() && survey > answered,
        "the survey comes after the agent: {kinds:?}"
    );
    let ended = items
        .iter()
        .find(|e| e["payload"]["type"] == "call_ended")
        .expect("the call ended");
    assert_eq!(
        ended["payload"]["cause"], "dialplan_hangup",
        "the dialplan said goodbye"
    );
}
