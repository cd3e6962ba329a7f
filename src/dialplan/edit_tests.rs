//! Tests of dialplan editing against a copy of the shipped demo hotline.

use std::path::Path;

use super::*;
use crate::db::Db;

const SECOND: &str =
    "name: second\nmatch:\n  dids: [\"5000\"]\nstart: bye\nsteps:\n  bye:\n    hangup: {}\n";

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn hotline_text() -> String {
    std::fs::read_to_string(repo("dialplans/hotline.yaml")).unwrap()
}

/// A temporary dialplans folder holding the hotline, and a registry over it.
fn folder() -> (tempfile::TempDir, Registry) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hotline.yaml"), hotline_text()).unwrap();
    let registry = Registry::load(dir.path(), &repo("sounds"));
    assert_eq!(registry.current().version, 1, "{:?}", registry.problems());
    (dir, registry)
}

fn errors(diags: &[Diagnostic]) -> Vec<String> {
    diags
        .iter()
        .filter(|d| !d.warning)
        .map(|d| d.message.clone())
        .collect()
}

#[test]
fn dialplan_names_are_short_lowercase_words() {
    for good in ["hotline", "sales-2", "after_hours", &"a".repeat(64)] {
        assert!(check_name(good).is_ok(), "{good}");
    }
    for bad in [
        "",
        "Hotline",
        "a.b",
        "../etc",
        "a b",
        "中文",
        &"a".repeat(65),
    ] {
        assert!(
            matches!(check_name(bad), Err(EditError::BadName(_))),
            "{bad}"
        );
    }
}

#[test]
fn dialplan_atomic_write_replaces_the_file_and_leaves_no_temporary() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plan.yaml");
    write_atomic(&file, "first\n").unwrap();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "first\n");
    write_atomic(&file, "second\n").unwrap();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "second\n");
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["plan.yaml".to_string()]);
}

#[test]
fn dialplan_candidate_is_checked_with_the_rest_of_the_folder() {
    let (dir, registry) = folder();
    assert!(errors(&check(&registry, "second", SECOND).unwrap()).is_empty());
    let clash = SECOND.replace("5000", "4000");
    let found = errors(&check(&registry, "second", &clash).unwrap());
    assert!(
        found
            .iter()
            .any(|m| m.contains("DID 4000 is already answered")),
        "{found:?}"
    );
    let renamed = errors(&check(&registry, "third", SECOND).unwrap());
    assert!(
        renamed
            .iter()
            .any(|m| m.contains("named `second` but is saved as `third`")),
        "{renamed:?}"
    );
    // An error elsewhere in the folder stops a save of any plan.
    let hotline = dir.path().join("hotline.yaml");
    let broken = hotline_text().replace("on_fail: operator", "on_fail: nowhere");
    let (_, diags) = load_dir_with(dir.path(), &repo("sounds"), Some((&hotline, &broken)));
    assert!(errors(&diags).iter().any(|m| m.contains("`nowhere`")));
    assert_eq!(std::fs::read_to_string(&hotline).unwrap(), hotline_text());
    assert!(
        !dir.path().join("second.yaml").exists(),
        "check writes nothing"
    );
}

#[test]
fn dialplan_is_found_by_its_name_then_by_its_file_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.yaml"), SECOND).unwrap();
    std::fs::write(dir.path().join("broken.yaml"), "name: [\n").unwrap();
    assert_eq!(
        locate(dir.path(), "second"),
        Some(dir.path().join("a.yaml"))
    );
    assert_eq!(
        locate(dir.path(), "broken"),
        Some(dir.path().join("broken.yaml"))
    );
    assert_eq!(locate(dir.path(), "a"), None, "a.yaml holds `second`");
    assert!(matches!(
        target(dir.path(), "a"),
        Err(EditError::FileTaken(_))
    ));
}

#[tokio::test]
async fn dialplan_save_writes_records_and_activates_only_a_valid_plan() {
    let (dir, registry) = folder();
    let db = Db::connect("sqlite::memory:", 1).await.unwrap();
    db.migrate().await.unwrap();
    let history = History::new(db);
    let original = source(&registry, "hotline").unwrap();
    let edited = original.text.replace("timeout: 6", "timeout: 8");
    fn req<'a>(text: &'a str, base: &'a str) -> Save<'a> {
        Save {
            text,
            base_sha256: Some(base),
            author: "boss",
            comment: "slower menu",
        }
    }
    let base = original.sha256.as_str();

    let bad = original
        .text
        .replace("on_fail: operator", "on_fail: nowhere");
    assert!(matches!(
        save(&registry, &history, "hotline", req(&bad, base)).await,
        Err(EditError::Invalid(_))
    ));
    assert_eq!(registry.current().version, 1);
    assert!(history.list("hotline").await.unwrap().is_empty());

    let saved = save(&registry, &history, "hotline", req(&edited, base))
        .await
        .unwrap();
    assert_eq!(saved.version, 2);
    assert_eq!(saved.sha256, sha256_hex(&edited));
    let on_disk = std::fs::read_to_string(dir.path().join("hotline.yaml")).unwrap();
    assert_eq!(on_disk, edited);
    let list = history.list("hotline").await.unwrap();
    let authors: Vec<&str> = list.iter().map(|v| v.author.as_str()).collect();
    assert_eq!(authors, ["boss", "disk"]);

    assert!(matches!(
        save(&registry, &history, "hotline", req(&edited, base)).await,
        Err(EditError::Stale(_))
    ));
    let back = rollback(&registry, &history, "hotline", list[1].id, "boss")
        .await
        .unwrap();
    assert_eq!(back.version, 3);
    assert_eq!(source(&registry, "hotline").unwrap().text, original.text);
    let diff = unified_diff(&original.text, &edited, "old", "new");
    assert!(
        diff.contains("-      timeout: 6\n+      timeout: 8"),
        "{diff}"
    );
    assert_eq!(
        diff_to_disk(&registry, "hotline", &original.text, "old"),
        ""
    );
}
