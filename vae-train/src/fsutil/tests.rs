use super::*;

#[test]
fn writes_replaces_and_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.bin");
    atomic_write(&path, b"first").unwrap();
    atomic_write(&path, b"second").unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"second");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn a_missing_folder_is_an_error_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-dir").join("a.bin");
    assert!(atomic_write(&path, b"x").is_err());
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    assert!(atomic_write(Path::new("/"), b"x").is_err());
}

#[test]
fn create_parent_dir_names_a_file_in_the_way() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    fs::write(&file, b"not a folder").unwrap();
    let err = create_parent_dir(&file.join("sub").join("a.bin")).unwrap_err();
    assert!(err.to_string().contains("is a file, not a folder"), "{err}");
    let nested = dir.path().join("x").join("y").join("a.bin");
    create_parent_dir(&nested).unwrap();
    atomic_write(&nested, b"ok").unwrap();
    assert_eq!(fs::read(&nested).unwrap(), b"ok");
}

#[test]
fn streamed_writes_are_atomic_and_a_failure_leaves_the_old_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.raw");
    atomic_write(&path, b"old").unwrap();
    let err = atomic_write_with(&path, |w| {
        w.write_all(b"partial")?;
        Err(io::Error::other("stopped"))
    })
    .unwrap_err();
    assert_eq!(err.to_string(), "stopped");
    assert_eq!(fs::read(&path).unwrap(), b"old");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    atomic_write_with(&path, |w| (0..3).try_for_each(|i| w.write_all(&[b'0' + i]))).unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"012");
}

#[test]
fn stale_temporaries_of_dead_processes_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    // PID 4294967295 cannot exist; our own PID is alive.
    let dead = dir.path().join(".metrics.csv.tmp-4294967295-3");
    let ours = dir
        .path()
        .join(format!(".a.bin.tmp-{}-0", std::process::id()));
    let other = dir.path().join("notes.tmp-1-x");
    for p in [&dead, &ours, &other] {
        fs::write(p, b"x").unwrap();
    }
    if Path::new("/proc/self").exists() {
        assert_eq!(remove_stale_temporaries(dir.path()), 1);
        assert!(!dead.exists());
    }
    assert!(ours.exists() && other.exists());
    assert_eq!(temporary_pid(".metrics.csv.tmp-12-0"), Some(12));
    assert_eq!(temporary_pid("metrics.csv"), None);
}

#[test]
fn same_file_sees_through_links_and_dots() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.bin");
    fs::write(&a, b"x").unwrap();
    let dotted = dir.path().join("sub").join("..").join("a.bin");
    fs::create_dir(dir.path().join("sub")).unwrap();
    assert!(same_file(&a, &dotted));
    assert!(!same_file(&a, &dir.path().join("b.bin")));
    // Two outputs that do not exist yet.
    let new = dir.path().join("new.png");
    assert!(same_file(&new, &dir.path().join("sub/../new.png")));
    #[cfg(unix)]
    {
        let link = dir.path().join("hard.bin");
        fs::hard_link(&a, &link).unwrap();
        assert!(same_file(&a, &link));
    }
}
