use super::*;

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

#[test]
fn a_second_lock_is_refused_until_the_first_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let first = RunLock::acquire(dir.path()).unwrap();
    let err = RunLock::acquire(dir.path()).unwrap_err();
    assert!(matches!(err, RunFolderError::Locked { .. }), "{err}");
    assert!(err.to_string().contains("another vae-train"), "{err}");
    drop(first);
    RunLock::acquire(dir.path()).unwrap();
}

#[test]
fn commit_replaces_the_run_files_and_keeps_other_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    write(&out.join(CHECKPOINT_FILE), "old");
    write(&out.join(CHECKPOINT_DIR).join("model-e0009.bpk"), "old");
    write(&out.join(render::MANIFOLD_PNG), "old");
    write(&out.join("notes.txt"), "mine");
    assert!(holds_run(out));
    assert!(check_fresh_start(out, false).is_err());
    check_fresh_start(out, true).unwrap();
    let staging = Staging::begin(out).unwrap();
    write(&staging.path().join(CHECKPOINT_FILE), "new");
    write(
        &staging.path().join(CHECKPOINT_DIR).join("model-e0001.bpk"),
        "new",
    );
    staging.commit().unwrap();
    assert_eq!(
        fs::read_to_string(out.join(CHECKPOINT_FILE)).unwrap(),
        "new"
    );
    let ckpt: Vec<_> = fs::read_dir(out.join(CHECKPOINT_DIR)).unwrap().collect();
    assert_eq!(ckpt.len(), 1);
    assert!(!out.join(render::MANIFOLD_PNG).exists(), "old picture left");
    assert_eq!(fs::read_to_string(out.join("notes.txt")).unwrap(), "mine");
    assert!(!out.join(STAGING_DIR).exists() && !out.join(REPLACED_DIR).exists());
}

#[test]
fn an_uncommitted_staging_leaves_the_old_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    write(&out.join(CHECKPOINT_FILE), "old");
    let staging = Staging::begin(out).unwrap();
    write(&staging.path().join(METRICS_FILE), "new");
    drop(staging);
    assert_eq!(
        fs::read_to_string(out.join(CHECKPOINT_FILE)).unwrap(),
        "old"
    );
    assert_eq!(fs::read_dir(out).unwrap().count(), 1);
}

#[test]
fn an_interrupted_swap_brings_the_old_run_back() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    // Killed after moving the old run aside and part of the new one in.
    write(&out.join(REPLACED_DIR).join(CHECKPOINT_FILE), "old");
    write(&out.join(REPLACED_DIR).join(METRICS_FILE), "old");
    write(&out.join(METRICS_FILE), "new");
    write(&out.join(STAGING_DIR).join(CHECKPOINT_FILE), "new");
    write(&out.join(".metrics.csv.tmp-4294967295-0"), "partial");
    let _lock = RunLock::acquire(out).unwrap();
    assert_eq!(
        fs::read_to_string(out.join(CHECKPOINT_FILE)).unwrap(),
        "old"
    );
    assert_eq!(fs::read_to_string(out.join(METRICS_FILE)).unwrap(), "old");
    let mut names: Vec<_> = fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, [LOCK_FILE, CHECKPOINT_FILE, METRICS_FILE]);
}
