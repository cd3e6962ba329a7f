//! `switchboard model fetch`: installs a verified speech model into a folder with
//! the scripts embedded in the binary (here from the cache `scripts/test` filled,
//! so no download), does nothing the second time, and refuses unknown models.

mod common;

use std::process::Command;

fn fetch(args: &[&str]) -> std::process::Output {
    Command::new(common::binary())
        .args(["model", "fetch"])
        .args(args)
        .output()
        .expect("the switchboard binary runs")
}

#[test]
fn model_fetch_installs_once_and_refuses_unknown_models() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("models");
    let target_arg = target.display().to_string();
    let first = fetch(&["tiny.en", "--dir", &target_arg]);
    let say = |o: &std::process::Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    assert!(first.status.success(), "{}", say(&first));
    assert!(say(&first).contains("installed"), "{}", say(&first));
    let file = target.join("ggml-tiny.en.bin");
    assert_eq!(std::fs::metadata(&file).unwrap().len(), 77_704_698);

    let again = fetch(&["tiny.en", "--dir", &target_arg]);
    assert!(again.status.success(), "{}", say(&again));
    assert!(say(&again).contains("up to date"), "{}", say(&again));

    let unknown = fetch(&["large", "--dir", &target_arg]);
    assert!(!unknown.status.success());
    assert!(
        say(&unknown).contains("unknown speech model"),
        "{}",
        say(&unknown)
    );

    // A corrupt file is replaced, not trusted. (Unlinked first: the installed
    // file may be a hard link to the cache.)
    std::fs::remove_file(&file).unwrap();
    std::fs::write(&file, b"not a model").unwrap();
    let repaired = fetch(&["tiny.en", "--dir", &target_arg]);
    assert!(repaired.status.success(), "{}", say(&repaired));
    assert_eq!(std::fs::metadata(&file).unwrap().len(), 77_704_698);
}
