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
