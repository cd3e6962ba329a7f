//! The server under test: the release binary with its own data dir and config,
//! its CLI, its HTTP address and its log.

use super::*;

/// The server under test, stopped (SIGTERM, then kill) when dropped.
pub(super) struct Server {
    pub(super) child: Child,
    pub(super) http: String,
    dir: PathBuf,
    log: PathBuf,
}

impl Server {
    pub(super) fn start(dir: &Path) -> Result<Server, String> {
        let repo = |p: &str| Path::new(env!("CARGO_MANIFEST_DIR")).join(p);
        // The server reads config/switchboard.toml from its working directory.
        std::fs::create_dir_all(dir.join("config")).map_err(|e| e.to_string())?;
        std::fs::write(
            dir.join("config/switchboard.toml"),
            "[chat]\nmessages_per_second = 1000.0\nburst = 1000\n",
        )
        .map_err(|e| e.to_string())?;
        let log = dir.join("server.log");
        let stderr = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .arg("serve")
            .envs(server_env(dir))
            .env("SWITCHBOARD_DIALPLANS_DIR", repo("dialplans"))
            .env("SWITCHBOARD_SOUNDS_DIR", repo("sounds"))
            .env("RUST_LOG", "warn")
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("starting the server: {e}"))?;
        let stdout = child.stdout.take().expect("stdout");
        let mut server = Server {
            child,
            http: String::new(),
            dir: dir.to_path_buf(),
            log,
        };
        server.http = http_address(stdout).ok_or_else(|| {
            format!(
                "the server printed no HTTP address; log:\n{}",
                server.log_lines().join("\n")
            )
        })?;
        Ok(server)
    }

    /// Runs a CLI subcommand against the server's data dir; its stdout.
    pub(super) fn cli(&self, args: &[&str], stdin: &str) -> Result<String, String> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(args)
            .envs(server_env(&self.dir))
            .current_dir(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("switchboard {args:?}: {e}"))?;
        if let Some(mut input) = child.stdin.take() {
            input
                .write_all(stdin.as_bytes())
                .map_err(|e| e.to_string())?;
        }
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!(
                "switchboard {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    pub(super) fn database(&self) -> PathBuf {
        self.dir.join("data/switchboard.db")
    }

    /// The log's warnings and errors.
    pub(super) fn log_lines(&self) -> Vec<String> {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        log.lines()
            .filter(|l| l.contains("WARN") || l.contains("ERROR"))
            .map(String::from)
            .collect()
    }
}

pub(super) fn server_env(dir: &Path) -> Vec<(&'static str, String)> {
    vec![
        (
            "SWITCHBOARD_DATA_DIR",
            dir.join("data").display().to_string(),
        ),
        ("SWITCHBOARD_HTTP_LISTEN", "127.0.0.1:0".into()),
        ("SWITCHBOARD_SIP_LISTEN", "127.0.0.1:0".into()),
        ("SWITCHBOARD_SPEECH_MODEL", String::new()),
    ]
}

impl Drop for Server {
    fn drop(&mut self) {
        support::stop(&mut self.child);
    }
}

/// Reads the banner line `workspace  http://ADDR/` (a thread keeps reading stdout).
pub(super) fn http_address(stdout: std::process::ChildStdout) -> Option<String> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let addr = line.trim().strip_prefix("workspace  http://");
            if let (Some(a), false) = (addr, sent) {
                let _ = tx.send(a.trim_end_matches('/').to_string());
                sent = true;
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(60)).ok()
}
