//! What the load benchmarks share (`ivr_load`, `widget_load`): settings from the
//! environment, stopping the server they started, CPU figures from /proc, and
//! nearest-rank percentiles. Included by each with `#[path]`.

use std::process::{Child, Command};
use std::sync::OnceLock;
use std::time::Duration;

/// A positive number from the environment variable `name`, else `default`.
pub fn env_f64(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| *v > 0.0)
        .unwrap_or(default)
}

/// Stops the server: SIGTERM, up to 5 s to finish, then SIGKILL.
pub fn stop(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    for _ in 0..100 {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// User + system CPU seconds of a process, from /proc/<pid>/stat.
pub fn cpu_seconds(pid: u32) -> f64 {
    stat_cpu(&format!("/proc/{pid}/stat"))
}

/// User + system CPU seconds of this process.
pub fn own_cpu_seconds() -> f64 {
    stat_cpu("/proc/self/stat")
}

fn stat_cpu(path: &str) -> f64 {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // After "pid (comm)": field 3 (state) is index 0, utime (14) index 11, stime 12.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, r)| r.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
    (ticks(11).unwrap_or(0.0) + ticks(12).unwrap_or(0.0)) / clock_ticks()
}

/// CPU seconds all processes of the host spent busy (the first line of
/// /proc/stat: all but idle and iowait).
pub fn host_busy_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let cpu: Vec<f64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let idle = cpu.get(3).unwrap_or(&0.0) + cpu.get(4).unwrap_or(&0.0);
    // guest time is counted in user time already.
    (cpu.iter().take(8).sum::<f64>() - idle) / clock_ticks()
}

fn clock_ticks() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[f64], q: f64) -> Option<f64> {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len().max(1));
    sorted.get(rank - 1).copied()
}
