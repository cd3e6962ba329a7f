//! Test support: starts the real `switchboard` binary on free ports with its own
//! data dir and database (SQLite file, or a fresh PostgreSQL database), and stops it.

#![allow(dead_code)]

pub mod audio;
pub mod chat;
pub mod mail;

/// The events of `items` of one payload type.
pub fn of_type<'a>(items: &'a [serde_json::Value], kind: &str) -> Vec<&'a serde_json::Value> {
    items
        .iter()
        .filter(|e| e["payload"]["type"] == kind)
        .collect()
}

/// One API request with a bearer token; the status and the JSON answer (a body
/// that is not JSON comes back as a JSON string, an empty one as null).
pub async fn api_request(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<serde_json::Value>,
) -> (reqwest::StatusCode, serde_json::Value) {
    let mut req = http.request(method, url).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.expect("request");
    let status = res.status();
    let text = res.text().await.expect("body");
    let value = match text.is_empty() {
        true => serde_json::Value::Null,
        false => serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    };
    (status, value)
}

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Which database a test server uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn postgres_base() -> String {
    std::env::var("SWITCHBOARD_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A running server; stopped (SIGTERM, then kill) when dropped.
pub struct Server {
    pub child: Child,
    pub http: String,
    /// The SIP UDP address, `127.0.0.1:port`.
    pub sip: String,
    pub dir: tempfile::TempDir,
    pub env: Vec<(String, String)>,
    pg_db: Option<String>,
}

impl Server {
    pub async fn start(backend: Backend) -> Server {
        Self::start_with(backend, &[]).await
    }

    pub async fn start_with(backend: Backend, extra_env: &[(&str, &str)]) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut env = vec![
            (
                "SWITCHBOARD_DATA_DIR".to_string(),
                dir.path().join("data").display().to_string(),
            ),
            (
                "SWITCHBOARD_HTTP_LISTEN".to_string(),
                "127.0.0.1:0".to_string(),
            ),
            (
                "SWITCHBOARD_SIP_LISTEN".to_string(),
                "127.0.0.1:0".to_string(),
            ),
            ("SWITCHBOARD_DIALPLANS_DIR".to_string(), repo("dialplans")),
            ("SWITCHBOARD_SOUNDS_DIR".to_string(), repo("sounds")),
            // Speech recognition only where a test asks for it (`speech_env`).
            ("SWITCHBOARD_SPEECH_MODEL".to_string(), String::new()),
        ];
        let mut pg_db = None;
        if backend == Backend::Postgres {
            let name = format!("sb_test_{}", uuid::Uuid::new_v4().simple());
            create_pg_database(&name).await;
            let base = postgres_base();
            let url = format!(
                "{}/{}",
                base.rsplit_once('/').map(|(b, _)| b).unwrap_or(&base),
                name
            );
            env.push(("SWITCHBOARD_DATABASE_URL".to_string(), url));
            pg_db = Some(name);
        }
        for (k, v) in extra_env {
            env.push((k.to_string(), v.to_string()));
        }
        let mut child = Command::new(binary())
            .arg("serve")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn switchboard");
        let (http, sip) = read_addresses(&mut child);
        Server {
            child,
            http,
            sip,
            dir,
            env,
            pg_db,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.http, path)
    }

    /// Runs a CLI subcommand against this server's data dir and database.
    pub fn cli(&self, args: &[&str], stdin: &str) -> String {
        let mut child = Command::new(binary())
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir(self.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn cli");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        let out = child.wait_with_output().expect("cli output");
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// A sipp command against this server's SIP address, run from `tests/sipp`
    /// with free local ports and a 60 s limit that counts as failure.
    pub fn sipp(&self, args: &[&str]) -> Command {
        let mut c = Command::new("sipp");
        c.arg(&self.sip)
            .args([
                "-nostdin",
                "-timeout",
                "60",
                "-timeout_error",
                "-p",
                "0",
                "-mp",
                "0",
            ])
            .args(args)
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sipp"));
        c
    }

    /// Writes a copy of the sipp scenario `tests/sipp/<template>` with each
    /// `(from, to)` replaced (the first occurrence only when `from` starts with
    /// `1:`), into this server's folder; returns its path.
    pub fn scenario(&self, template: &str, replacements: &[(&str, &str)]) -> String {
        let mut text = std::fs::read_to_string(repo(&format!("tests/sipp/{template}")))
            .expect("scenario template");
        for (from, to) in replacements {
            text = match from.strip_prefix("1:") {
                Some(first) => text.replacen(first, to, 1),
                None => text.replace(from, to),
            };
        }
        let path = self.dir.path().join(format!("custom-{template}"));
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }

    /// Starts one sipp call to the hotline (4000) with `scenario`, whose bare
    /// `<pause/>` lasts `pause_ms`.
    pub fn spawn_call(&self, scenario: &str, pause_ms: u32) -> Child {
        self.sipp(&[
            "-sf",
            scenario,
            "-s",
            "4000",
            "-m",
            "1",
            "-d",
            &pause_ms.to_string(),
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("sipp (scripts/test installs it)")
    }

    /// A desk phone for agent `name`: a SIP account, then sipp's `agent_phone.xml`
    /// (answers one call, hangs up on BYE) registered as `name`; waits until the
    /// registrar lists it. Returns the phone's process (its log goes to `phone.log`).
    pub async fn desk_phone(&self, name: &str, admin: &str) -> Child {
        self.desk_phone_with(name, admin, "agent_phone.xml").await
    }

    /// `desk_phone` running another UAS scenario of `tests/sipp/`.
    pub async fn desk_phone_with(&self, name: &str, admin: &str, scenario: &str) -> Child {
        self.cli(&["sip-user", "add", name], "desk-phone-secret\n");
        let log = std::fs::File::create(self.dir.path().join("phone.log")).unwrap();
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
            .to_string();
        let mut phone = Command::new("sipp")
            .args([
                "-nostdin",
                "-timeout",
                "60",
                "-timeout_error",
                "-mp",
                "0",
                "-p",
                &port,
            ])
            .args(["-sf", scenario, "-m", "1"])
            .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sipp"))
            .stdout(log)
            .spawn()
            .expect("sipp (scripts/test installs it)");
        let reg = self
            .sipp(&["-sf", "register_as.xml", "-s", name, "-au", name])
            .args([
                "-ap",
                "desk-phone-secret",
                "-key",
                "uas_port",
                &port,
                "-m",
                "1",
            ])
            .output()
            .unwrap();
        if reg.status.success() {
            for _ in 0..100 {
                let r = self
                    .get_json(&format!("/api/v1/registrations?user={name}"), admin)
                    .await;
                if r.as_array().is_some_and(|a| !a.is_empty()) {
                    return phone;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
        // No phone to hand back: stop it before failing, so no sipp is left behind.
        let _ = phone.kill();
        let _ = phone.wait();
        panic!(
            "{name}'s phone did not register: {}",
            String::from_utf8_lossy(&reg.stdout)
        );
    }

    /// A server whose demo hotline is always open, with these agents in the
    /// `support` queue (password `password-of-<name>`, one call and two chats).
    pub async fn hotline_with_agents(names: &[&str]) -> Server {
        Server::hotline_with_agents_and(names, &[]).await
    }

    /// `hotline_with_agents` with more environment for the server.
    pub async fn hotline_with_agents_and(names: &[&str], extra: &[(&str, &str)]) -> Server {
        let mut env = vec![("SWITCHBOARD_DIALPLAN_VARS", "open=always")];
        env.extend_from_slice(extra);
        let server = Server::start_with(Backend::Sqlite, &env).await;
        let admin = server.token_for("boss", "admin");
        for name in names {
            let agent = serde_json::json!({"name": name, "password": format!("password-of-{name}"),
                "queues": ["support"], "capacity": {"voice": 1, "chat": 2}});
            server.post_json("/api/v1/agents", &admin, &agent).await;
        }
        server
    }

    /// The agent's first pending offer, waiting up to 30 s for one (a call
    /// reaches the queue after its IVR prompts, slower on a loaded machine).
    pub async fn first_offer(&self, agent: &str, token: &str) -> serde_json::Value {
        for _ in 0..600 {
            let o = self
                .get_json(&format!("/api/v1/agents/{agent}/offers"), token)
                .await;
            if let Some(first) = o["items"].as_array().and_then(|a| a.first().cloned()) {
                return first;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("no offer reached agent {agent}");
    }

    /// Accepts an offer (as its agent) and checks the 204.
    pub async fn accept(&self, offer: &serde_json::Value, token: &str) {
        let id = offer["offer"].as_str().expect("an offer id");
        let res = reqwest::Client::new()
            .post(self.url(&format!("/api/v1/offers/{id}/accept")))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), 204, "offer {id} accepted");
    }

    /// The timeline (newest first, up to 200 events) of the customer with this
    /// phone number; empty while there is no such customer yet.
    pub async fn phone_timeline(&self, phone: &str, token: &str) -> Vec<serde_json::Value> {
        let q: String = form_urlencoded::byte_serialize(phone.as_bytes()).collect();
        let found = self
            .get_json(&format!("/api/v1/customers?phone={q}"), token)
            .await;
        let Some(id) = found["items"][0]["id"].as_str() else {
            return Vec::new();
        };
        let page = self
            .get_json(&format!("/api/v1/customers/{id}/timeline?limit=200"), token)
            .await;
        page["items"].as_array().cloned().unwrap_or_default()
    }

    /// The Prometheus text of `/metrics`.
    /// The timeline (oldest first) of the customer with this phone number once
    /// `done` holds for it, waiting up to 30 s.
    pub async fn phone_timeline_until(
        &self,
        phone: &str,
        token: &str,
        done: impl Fn(&[serde_json::Value]) -> bool,
    ) -> Vec<serde_json::Value> {
        let mut items = Vec::new();
        for _ in 0..300 {
            items = self.phone_timeline(phone, token).await;
            items.reverse();
            if done(&items) {
                return items;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the timeline never got there: {items:#?}");
    }

    pub async fn metrics(&self) -> String {
        reqwest::get(self.url("/metrics"))
            .await
            .expect("request")
            .text()
            .await
            .expect("metrics text")
    }

    /// GET `path` with a bearer token; the JSON body.
    pub async fn get_json(&self, path: &str, token: &str) -> serde_json::Value {
        let res = reqwest::Client::new()
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        res.json().await.expect("JSON body")
    }

    /// POST a JSON body to `path` with a bearer token; the JSON answer.
    pub async fn post_json(
        &self,
        path: &str,
        token: &str,
        body: &serde_json::Value,
    ) -> serde_json::Value {
        let res = reqwest::Client::new()
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request");
        res.json().await.expect("JSON body")
    }

    /// Creates a user with `role` and returns an API token for it.
    pub fn token_for(&self, name: &str, role: &str) -> String {
        self.cli(&["user", "add", name, "--role", role], "password-of-test\n");
        self.cli(&["token", "create", name], "")
    }

    /// Stops the server and starts it again with the same data dir, database and ports.
    pub fn restart(&mut self) {
        self.stop();
        let http = self.http.clone();
        let mut child = Command::new(binary())
            .arg("serve")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("SWITCHBOARD_HTTP_LISTEN", &http)
            .env("SWITCHBOARD_SIP_LISTEN", &self.sip)
            .current_dir(self.dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn switchboard");
        let (http, sip) = read_addresses(&mut child);
        self.http = http;
        self.sip = sip;
        self.child = child;
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        if let Ok(Some(status)) = self.child.try_wait() {
            return status;
        }
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        self.child.wait().expect("wait")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(name) = self.pg_db.take() {
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("rt");
                rt.block_on(drop_pg_database(&name));
            })
            .join();
        }
    }
}

/// A path inside the repository.
pub fn repo(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(rel)
        .display()
        .to_string()
}

pub fn binary() -> PathBuf {
    // A copy of the binary, for when other checkouts share the build folder.
    match std::env::var_os("SWITCHBOARD_TEST_BIN") {
        Some(bin) => PathBuf::from(bin),
        None => PathBuf::from(env!("CARGO_BIN_EXE_switchboard")),
    }
}

/// Reads the banner: (HTTP address, SIP address).
fn read_addresses(child: &mut Child) -> (String, String) {
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (mut http, mut sent) = (None, false);
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let line = line.trim().to_string();
            if let Some(rest) = line.strip_prefix("workspace  http://") {
                http = Some(rest.trim_end_matches('/').to_string());
            }
            if let (Some(h), Some(rest), false) =
                (&http, line.strip_prefix("sip        udp:"), sent)
            {
                let sip = rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string();
                let _ = tx.send((h.clone(), sip));
                sent = true;
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("server printed its addresses")
}

async fn admin_conn() -> sqlx::PgConnection {
    use sqlx::Connection;
    sqlx::PgConnection::connect(&postgres_base())
        .await
        .expect("PostgreSQL reachable at SWITCHBOARD_TEST_POSTGRES")
}

async fn create_pg_database(name: &str) {
    use sqlx::Executor;
    let mut c = admin_conn().await;
    c.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create database");
}

async fn drop_pg_database(name: &str) {
    use sqlx::Executor;
    let mut c = admin_conn().await;
    let _ = c
        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
        .await;
}

/// A browser script from `tests/browser` under node, with screenshots going to
/// `artifacts/`.
pub fn node_script(script: &str, env: &[(&str, String)]) -> Command {
    let mut c = Command::new("node");
    c.arg(script)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser"))
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env(
            "SWITCHBOARD_ARTIFACTS",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("artifacts"),
        );
    c
}

/// A browser script (`tests/browser/*.mjs`) that has printed `READY`.
pub struct BrowserRun {
    script: String,
    child: Child,
    out: BufReader<std::process::ChildStdout>,
    log: String,
}

impl BrowserRun {
    /// Starts `script` and waits until it prints `READY`; panics with its output
    /// if it ends first.
    #[allow(clippy::zombie_processes)]
    pub fn start(script: &str, env: &[(&str, String)]) -> BrowserRun {
        let mut child = node_script(script, env)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("node (scripts/test installs it)");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut log = String::new();
        loop {
            let mut line = String::new();
            let n = out.read_line(&mut line).unwrap();
            log.push_str(&line);
            if n == 0 {
                let _ = child.wait();
                panic!("{script} ended before it was ready:\n{log}");
            }
            if line.trim() == "READY" {
                return BrowserRun {
                    script: script.into(),
                    child,
                    out,
                    log,
                };
            }
        }
    }

    /// Waits (90 s at most) for the script to end; panics with its output if it failed.
    pub async fn finish(self) {
        let BrowserRun {
            script,
            mut child,
            mut out,
            log,
        } = self;
        let done = tokio::task::spawn_blocking(move || {
            let mut rest = String::new();
            std::io::Read::read_to_string(&mut out, &mut rest).ok();
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                std::io::Read::read_to_string(&mut e, &mut err).ok();
            }
            (child.wait().unwrap(), format!("{log}{rest}{err}"))
        });
        let (status, text) = tokio::time::timeout(Duration::from_secs(90), done)
            .await
            .expect("browser script finishes")
            .unwrap();
        assert!(status.success(), "{script} failed:\n{text}");
    }
}

/// Waits for a child process off the async runtime; its exit status.
pub async fn wait_child(mut child: Child) -> std::process::ExitStatus {
    tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("waiting task")
        .expect("child status")
}

/// A free UDP port on loopback.
pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("its address")
        .port()
}

/// sipp as a UAS on loopback `port` (a carrier's trunk, say), answering
/// `calls` calls with `tests/sipp/<scenario>` within 90 s; its log to `log`.
pub fn sipp_uas(port: u16, scenario: &str, calls: u32, log: Stdio) -> Child {
    Command::new("sipp")
        .args(["-nostdin", "-timeout", "90", "-timeout_error", "-mp", "0"])
        .args(["-i", "127.0.0.1", "-p", &port.to_string(), "-sf", scenario])
        .args(["-m", &calls.to_string()])
        .current_dir(repo("tests/sipp"))
        .stdout(log)
        .spawn()
        .expect("sipp (scripts/test installs it)")
}

/// Environment that turns speech recognition on with the `base` model that
/// `scripts/test` converts and verifies (`scripts/fetch-model`), found through
/// `SWITCHBOARD_MODEL_DIR`.
pub fn speech_env() -> Vec<(&'static str, String)> {
    let dir = std::env::var("SWITCHBOARD_MODEL_DIR").expect(
        "SWITCHBOARD_MODEL_DIR is not set: run scripts/test, or scripts/fetch-model base DIR",
    );
    let file = Path::new(&dir).join("ggml-base.bin");
    assert!(
        file.exists(),
        "{} is missing: run scripts/fetch-model base {dir}",
        file.display()
    );
    vec![
        ("SWITCHBOARD_SPEECH_MODEL", "base".to_string()),
        ("SWITCHBOARD_MODEL_DIR", dir),
    ]
}

/// Speech for a test call: `text` spoken by espeak-ng (voice `voice`), cut to the
/// telephone band at 8 kHz by sox, encoded as G.711 A-law RTP (PT 8, 20 ms) into
/// a pcap that sipp's `play_pcap_audio` can send. Returns the pcap's path.
pub fn speech_pcap(dir: &Path, voice: &str, text: &str) -> PathBuf {
    let raw = dir.join("speech-raw.wav");
    let tel = dir.join("speech-8k.wav");
    let ok = Command::new("espeak-ng")
        .args(["-v", voice, "-s", "150", "-w"])
        .arg(&raw)
        .arg(text)
        .status()
        .expect("espeak-ng (scripts/test installs it)");
    assert!(ok.success(), "espeak-ng failed");
    let ok = Command::new("sox")
        .arg(&raw)
        .args(["-r", "8000", "-c", "1", "-b", "16"])
        .arg(&tel)
        .args(["highpass", "300", "lowpass", "3400", "norm", "-3"])
        .status()
        .expect("sox (scripts/test installs it)");
    assert!(ok.success(), "sox failed");
    let samples: Vec<i16> = hound::WavReader::open(&tel)
        .unwrap()
        .samples::<i16>()
        .map(|s| s.unwrap())
        .collect();
    samples_pcap(dir, "speech", &samples)
}

/// 8 kHz samples as G.711 A-law RTP in `<dir>/<name>.pcap` for sipp's
/// `play_pcap_audio`; returns its path.
pub fn samples_pcap(dir: &Path, name: &str, samples: &[i16]) -> PathBuf {
    let pcap = dir.join(format!("{name}.pcap"));
    std::fs::write(&pcap, alaw_rtp_pcap(samples)).unwrap();
    pcap
}

/// A pcap (Ethernet, IPv4, UDP to port 6000) of A-law RTP packets, 20 ms apart.
fn alaw_rtp_pcap(samples: &[i16]) -> Vec<u8> {
    // Global header: magic, version 2.4, zone, accuracy, snap length, Ethernet.
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&[2, 0, 4, 0]);
    for v in [0u32, 0, 65535, 1] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for (i, chunk) in samples.chunks(160).enumerate() {
        let mut payload = [0xd5u8; 160];
        switchboard::media::g711::encode(
            switchboard::media::g711::Law::Alaw,
            chunk,
            &mut payload[..chunk.len()],
        );
        let mut rtp = vec![0x80, 8];
        rtp.extend_from_slice(&(i as u16).to_be_bytes());
        rtp.extend_from_slice(&((i as u32) * 160).to_be_bytes());
        rtp.extend_from_slice(&0x5eed_u32.to_be_bytes());
        rtp.extend_from_slice(&payload);
        let udp_len = 8 + rtp.len();
        let ip_len = 20 + udp_len;
        let mut pkt = vec![0u8; 12];
        pkt.extend_from_slice(&[0x08, 0x00]);
        pkt.extend_from_slice(&[0x45, 0]);
        pkt.extend_from_slice(&(ip_len as u16).to_be_bytes());
        pkt.extend_from_slice(&[0, 0, 0, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1]);
        pkt.extend_from_slice(&6000u16.to_be_bytes());
        pkt.extend_from_slice(&6000u16.to_be_bytes());
        pkt.extend_from_slice(&(udp_len as u16).to_be_bytes());
        pkt.extend_from_slice(&[0, 0]);
        pkt.extend_from_slice(&rtp);
        let usec = i as u64 * 20_000;
        out.extend_from_slice(&((usec / 1_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&((usec % 1_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&(pkt.len() as u32).to_le_bytes());
        out.extend_from_slice(&(pkt.len() as u32).to_le_bytes());
        out.extend_from_slice(&pkt);
    }
    out
}
