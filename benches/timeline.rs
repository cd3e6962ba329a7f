//! Timeline load benchmark: committed appends per second through the store, and the
//! latency of reading a 50-event page with 1M events stored, on SQLite and PostgreSQL.
//!
//! `cargo bench --bench timeline` (both databases), or with `-- sqlite` / `-- postgres`.
//! `SWITCHBOARD_BENCH_EVENTS` sets how many events are stored before reading (default 1,000,000).
//! PostgreSQL comes from `SWITCHBOARD_TEST_POSTGRES` (default postgres://postgres@127.0.0.1:5432/test).

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::Executor;
use switchboard::db::Db;
use switchboard::timeline::model::{Direction, EventPayload, NewCustomer, NewEvent};
use switchboard::timeline::{Cursor, EventBus, TimelineStore};
use uuid::Uuid;

const CUSTOMERS: usize = 1000;
const APPENDS: usize = 20_000;
const WRITERS: usize = 8;
const READS: usize = 2000;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let want = |name: &str| args.is_empty() || args.iter().any(|a| a == name);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    if want("sqlite") {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("bench.db").display()
        );
        rt.block_on(run("sqlite", &url));
    }
    if want("postgres") {
        rt.block_on(async {
            let base = std::env::var("SWITCHBOARD_TEST_POSTGRES")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
            let name = format!("sb_bench_{}", Uuid::new_v4().simple());
            let admin = Db::connect(&base, 1).await.expect("PostgreSQL reachable");
            admin
                .pool
                .execute(format!("CREATE DATABASE {name}").as_str())
                .await
                .expect("create db");
            let url = format!(
                "{}/{}",
                base.rsplit_once('/').map(|(b, _)| b).unwrap_or(&base),
                name
            );
            run("postgres", &url).await;
            let _ = admin
                .pool
                .execute(format!("DROP DATABASE {name} WITH (FORCE)").as_str())
                .await;
        });
    }
}

async fn run(label: &str, url: &str) {
    let db = Db::connect(url, 16).await.expect("connect");
    db.migrate().await.expect("migrate");
    let store = Arc::new(TimelineStore::new(db.clone(), EventBus::new()));
    let mut customers = Vec::with_capacity(CUSTOMERS);
    for i in 0..CUSTOMERS {
        let c = store
            .create_customer(NewCustomer {
                name: format!("customer {i}"),
                ..Default::default()
            })
            .await
            .expect("customer");
        customers.push(c.id);
    }
    let customers = Arc::new(customers);
    let rate = appends(&store, &customers).await;
    println!(
        "{label}: appended {APPENDS} events with {WRITERS} writers: {rate:.0} events/s (each committed)"
    );
    let target: usize = std::env::var("SWITCHBOARD_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let started = Instant::now();
    seed(&db, &customers, target.saturating_sub(APPENDS)).await;
    println!(
        "{label}: seeded to {target} events in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let (p50, p99) = reads(&store, &customers).await;
    println!(
        "{label}: timeline page of 50 with {target} events stored: p50 {:.2} ms, p99 {:.2} ms",
        ms(p50),
        ms(p99)
    );
}

async fn appends(store: &Arc<TimelineStore>, customers: &Arc<Vec<Uuid>>) -> f64 {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let (store, customers) = (store.clone(), customers.clone());
        tasks.push(tokio::spawn(async move {
            for i in (w..APPENDS).step_by(WRITERS) {
                let payload = EventPayload::Message {
                    direction: Direction::In,
                    author: "bench".into(),
                    text: format!("message {i}"),
                    attachments: vec![],
                };
                store
                    .append(
                        customers[i % customers.len()],
                        NewEvent {
                            conversation_id: None,
                            payload,
                        },
                    )
                    .await
                    .expect("append");
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer");
    }
    APPENDS as f64 / started.elapsed().as_secs_f64()
}

/// Bulk-loads `n` events spread over the customers, in large transactions.
async fn seed(db: &Db, customers: &[Uuid], n: usize) {
    let payload = r#"{"type":"note","author":"seed","text":"seeded event"}"#;
    let mut done = 0;
    while done < n {
        let mut tx = db.pool.begin().await.expect("begin");
        for _ in 0..20 {
            let rows = 500.min(n - done);
            if rows == 0 {
                break;
            }
            let values: Vec<String> = (0..rows)
                .map(|i| {
                    format!(
                        "('{}', '{}', 'note', '{payload}', {})",
                        Uuid::new_v4(),
                        customers[(done + i) % customers.len()],
                        done + i
                    )
                })
                .collect();
            let sql = format!(
                "INSERT INTO timeline_events (id, customer_id, kind, payload, occurred_us) VALUES {}",
                values.join(",")
            );
            tx.execute(sql.as_str()).await.expect("seed insert");
            done += rows;
        }
        tx.commit().await.expect("commit");
    }
}

async fn reads(store: &TimelineStore, customers: &[Uuid]) -> (Duration, Duration) {
    let mut times = Vec::with_capacity(READS);
    for i in 0..READS {
        let id = customers[(i * 7919) % customers.len()];
        let t = Instant::now();
        let page = store.timeline(id, Cursor::Latest, 50).await.expect("page");
        times.push(t.elapsed());
        assert_eq!(page.len(), 50);
    }
    times.sort();
    (times[READS / 2], times[READS * 99 / 100])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
