//! Unit tests of the data layer: parsing, errors, file choice, folder resolution.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;

use super::*;

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/mnist")
}

/// An IDX image file: `n` images of `rows x cols`, pixel `k` of image `i` = `(i * 7 + k) % 256`.
fn images_idx(n: u32, rows: u32, cols: u32) -> Vec<u8> {
    let mut v = Vec::new();
    for x in [0x0803, n, rows, cols] {
        v.extend_from_slice(&u32::to_be_bytes(x));
    }
    let per = (rows * cols) as usize;
    for i in 0..n as usize {
        v.extend((0..per).map(|k| ((i * 7 + k) % 256) as u8));
    }
    v
}

fn labels_idx(labels: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&u32::to_be_bytes(0x0801));
    v.extend_from_slice(&u32::to_be_bytes(labels.len() as u32));
    v.extend_from_slice(labels);
    v
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Raw content of a small valid set: 3 train and 2 test digits.
fn valid_files() -> [(FileKind, Vec<u8>); 4] {
    [
        (FileKind::TrainImages, images_idx(3, 28, 28)),
        (FileKind::TrainLabels, labels_idx(&[5, 0, 9])),
        (FileKind::TestImages, images_idx(2, 28, 28)),
        (FileKind::TestLabels, labels_idx(&[7, 2])),
    ]
}

/// Writes the files gzip'd under their `.gz` names into a new temp folder.
fn write_dir(files: &[(FileKind, Vec<u8>)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (kind, data) in files {
        std::fs::write(dir.path().join(kind.gz_name()), gz(data)).unwrap();
    }
    dir
}

/// A valid set with the file `kind` replaced by `bytes` (written as `NAME.gz`, as is).
fn dir_with(kind: FileKind, bytes: Vec<u8>) -> tempfile::TempDir {
    let dir = write_dir(&valid_files());
    std::fs::write(dir.path().join(kind.gz_name()), bytes).unwrap();
    dir
}

fn expect_err(dir: &Path) -> DataError {
    match load_from_dir(dir) {
        Ok(_) => panic!("loading {} should fail", dir.display()),
        Err(e) => e,
    }
}

/// The error and its message name the file of `kind` in `dir`.
fn assert_names(e: &DataError, dir: &Path, kind: FileKind) {
    let msg = e.to_string();
    let want = dir.join(kind.gz_name());
    assert!(
        msg.contains(&want.display().to_string()),
        "message does not name {}: {msg}",
        want.display()
    );
}

#[test]
fn loads_a_small_valid_set() {
    let files = valid_files();
    let dir = write_dir(&files);
    let m = load_from_dir(dir.path()).unwrap();
    assert_eq!((m.train.len(), m.test.len()), (3, 2));
    assert_eq!(m.train.labels, [5, 0, 9]);
    assert_eq!(m.test.labels, [7, 2]);
    assert_eq!(m.train.images.len(), 3 * IMAGE_PIXELS);
    // Image 2, pixel 5 = (2 * 7 + 5) % 256.
    assert_eq!(m.train.image(2)[5], 19);
    assert_eq!(
        m.train.image(1),
        &files[0].1[16 + IMAGE_PIXELS..16 + 2 * IMAGE_PIXELS]
    );
    for (kind, data) in &files {
        assert_eq!(m.checksums.get(*kind), idx::sha256_hex(data));
    }
    assert!(!m.checksums.is_official());
}

#[test]
fn sha256_hex_matches_known_vector() {
    assert_eq!(
        idx::sha256_hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn raw_files_load_like_gzip_ones() {
    let files = valid_files();
    let gz_dir = write_dir(&files);
    let raw_dir = tempfile::tempdir().unwrap();
    for (kind, data) in &files {
        std::fs::write(raw_dir.path().join(kind.file_name()), data).unwrap();
    }
    assert_eq!(
        load_from_dir(raw_dir.path()).unwrap(),
        load_from_dir(gz_dir.path()).unwrap()
    );
}

#[test]
fn gz_name_is_preferred_over_raw_name() {
    let dir = write_dir(&valid_files());
    // A raw file with different labels beside the .gz one: the .gz one wins.
    std::fs::write(
        dir.path().join(FileKind::TrainLabels.file_name()),
        labels_idx(&[1, 1, 1]),
    )
    .unwrap();
    assert_eq!(
        find_file(dir.path(), FileKind::TrainLabels),
        Some(dir.path().join("train-labels-idx1-ubyte.gz"))
    );
    assert_eq!(load_from_dir(dir.path()).unwrap().train.labels, [5, 0, 9]);
}

#[test]
fn gz_named_file_with_raw_content_loads() {
    // Some browsers unpack downloads but keep the .gz name.
    let dir = dir_with(FileKind::TestLabels, labels_idx(&[3, 4]));
    assert_eq!(load_from_dir(dir.path()).unwrap().test.labels, [3, 4]);
}

#[test]
fn truncated_image_file_is_an_error() {
    let mut data = images_idx(3, 28, 28);
    data.truncate(data.len() - 10);
    let dir = dir_with(FileKind::TrainImages, gz(&data));
    let e = expect_err(dir.path());
    assert!(
        matches!(e, DataError::Truncated { expected, actual, .. }
            if expected == 16 + 3 * 784 && actual == expected - 10),
        "{e:?}"
    );
    assert_names(&e, dir.path(), FileKind::TrainImages);
}

#[test]
fn header_shorter_than_16_bytes_is_truncated() {
    for len in [0, 3, 4, 10, 15] {
        let dir = dir_with(FileKind::TestImages, images_idx(2, 28, 28)[..len].to_vec());
        let e = expect_err(dir.path());
        assert!(
            matches!(e, DataError::Truncated { expected: 16, .. }),
            "{len}: {e:?}"
        );
        assert_names(&e, dir.path(), FileKind::TestImages);
    }
}

#[test]
fn truncated_gzip_is_an_error() {
    let full = gz(&images_idx(3, 28, 28));
    let dir = dir_with(FileKind::TrainImages, full[..full.len() / 2].to_vec());
    let e = expect_err(dir.path());
    assert!(
        matches!(e, DataError::Gzip { .. } | DataError::Truncated { .. }),
        "{e:?}"
    );
    assert_names(&e, dir.path(), FileKind::TrainImages);
}

#[test]
fn corrupt_gzip_is_an_error() {
    let mut bytes = gz(&labels_idx(&[1, 2, 3]));
    // Damage the deflate stream (after the 10-byte header, before the 8-byte trailer)
    // and the CRC, so either the inflater or the CRC check must reject it.
    for b in &mut bytes[10..] {
        *b ^= 0x5a;
    }
    let dir = dir_with(FileKind::TrainLabels, bytes);
    let e = expect_err(dir.path());
    assert!(matches!(e, DataError::Gzip { .. }), "{e:?}");
    assert_names(&e, dir.path(), FileKind::TrainLabels);
    assert!(std::error::Error::source(&e).is_some());
}

#[test]
fn gzip_with_bad_crc_is_an_error() {
    let mut bytes = gz(&labels_idx(&[1, 2, 3]));
    let n = bytes.len();
    bytes[n - 8] ^= 1; // CRC32 in the trailer
    let dir = dir_with(FileKind::TrainLabels, bytes);
    let e = expect_err(dir.path());
    assert!(matches!(e, DataError::Gzip { .. }), "{e:?}");
}

#[test]
fn every_cut_of_a_file_is_an_error_not_a_panic() {
    for kind in FileKind::ALL {
        let raw = valid_files()
            .into_iter()
            .find(|(k, _)| *k == kind)
            .unwrap()
            .1;
        for bytes in [raw.clone(), gz(&raw)] {
            for cut in 0..bytes.len() {
                let path = Path::new("mem");
                let r = idx::parse_file(path, kind, bytes[..cut].to_vec());
                assert!(r.is_err(), "{kind} cut at {cut} of {} parsed", bytes.len());
            }
        }
    }
}

#[test]
fn wrong_magic_is_an_error() {
    // A label file where the train images belong.
    let dir = dir_with(FileKind::TrainImages, gz(&labels_idx(&[1, 2, 3])));
    let e = expect_err(dir.path());
    assert!(
        matches!(
            e,
            DataError::BadMagic {
                expected: 0x803,
                found: 0x801,
                ..
            }
        ),
        "{e:?}"
    );
    assert_names(&e, dir.path(), FileKind::TrainImages);
    // Arbitrary bytes where the test labels belong.
    let dir = dir_with(FileKind::TestLabels, b"<html>not found</html>".to_vec());
    let e = expect_err(dir.path());
    assert!(
        matches!(
            e,
            DataError::BadMagic {
                expected: 0x801,
                ..
            }
        ),
        "{e:?}"
    );
    assert_names(&e, dir.path(), FileKind::TestLabels);
}

#[test]
fn wrong_dims_are_an_error() {
    for (rows, cols) in [(28, 27), (32, 32), (0, 28)] {
        let dir = dir_with(FileKind::TestImages, gz(&images_idx(2, rows, cols)));
        let e = expect_err(dir.path());
        assert!(
            matches!(e, DataError::BadDims { rows: r, cols: c, .. } if r == rows && c == cols),
            "{e:?}"
        );
        assert_names(&e, dir.path(), FileKind::TestImages);
    }
}

#[test]
fn mismatched_counts_are_an_error() {
    let dir = dir_with(FileKind::TrainLabels, gz(&labels_idx(&[1, 2])));
    let e = expect_err(dir.path());
    assert!(
        matches!(
            e,
            DataError::CountMismatch {
                n_images: 3,
                n_labels: 2,
                ..
            }
        ),
        "{e:?}"
    );
    assert_names(&e, dir.path(), FileKind::TrainImages);
    assert_names(&e, dir.path(), FileKind::TrainLabels);
}

#[test]
fn label_above_9_is_an_error() {
    let dir = dir_with(FileKind::TestLabels, gz(&labels_idx(&[7, 10])));
    let e = expect_err(dir.path());
    assert!(
        matches!(
            e,
            DataError::BadLabel {
                index: 1,
                label: 10,
                ..
            }
        ),
        "{e:?}"
    );
    assert_names(&e, dir.path(), FileKind::TestLabels);
}

#[test]
fn trailing_bytes_are_an_error() {
    let mut data = labels_idx(&[1, 2, 3]);
    data.push(0);
    let dir = dir_with(FileKind::TrainLabels, gz(&data));
    let e = expect_err(dir.path());
    assert!(
        matches!(
            e,
            DataError::TrailingBytes {
                expected: 11,
                actual: 12,
                ..
            }
        ),
        "{e:?}"
    );
    assert_names(&e, dir.path(), FileKind::TrainLabels);
}

#[test]
fn huge_declared_count_is_truncated_not_an_allocation() {
    let mut data = images_idx(1, 28, 28);
    data[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
    let dir = dir_with(FileKind::TrainImages, gz(&data));
    let e = expect_err(dir.path());
    assert!(matches!(e, DataError::Truncated { .. }), "{e:?}");
}

#[test]
fn missing_files_are_named_with_how_to_supply_them() {
    let dir = write_dir(&valid_files()[..2]);
    let e = expect_err(dir.path());
    match &e {
        DataError::MissingFiles { files, origin, .. } => {
            assert_eq!(files, &[FileKind::TestImages, FileKind::TestLabels]);
            assert_eq!(*origin, None);
        }
        other => panic!("{other:?}"),
    }
    let msg = e.to_string();
    for needle in [
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
        "--data-dir",
        "VAE_MNIST_DIR",
        ".cache/vae/mnist",
    ] {
        assert!(msg.contains(needle), "{needle:?} not in {msg}");
    }
    assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
    // The part that names the missing files names only those.
    let (missing, _hint) = msg.split_once("Supply").unwrap();
    assert!(missing.contains("t10k-labels-idx1-ubyte"), "{msg}");
    assert!(!missing.contains("train-images-idx3-ubyte"), "{msg}");
}

#[test]
fn user_dirs_are_never_downloaded_into() {
    let empty = tempfile::tempdir().unwrap();
    let nowhere = Downloader::new(["http://127.0.0.1:9/"], Checksums::official());
    for origin in [Origin::Flag, Origin::Env] {
        let dir = DataDir {
            path: empty.path().to_path_buf(),
            origin,
        };
        let e = load_with(&dir, &nowhere).unwrap_err();
        assert!(
            matches!(&e, DataError::MissingFiles { files, origin: Some(o), .. }
                if files.len() == 4 && *o == origin),
            "{e:?}"
        );
        let hint = if origin == Origin::Flag {
            "--data-dir"
        } else {
            "VAE_MNIST_DIR"
        };
        assert!(e.to_string().contains(&format!("(given by {hint})")), "{e}");
    }
    assert_eq!(std::fs::read_dir(empty.path()).unwrap().count(), 0);
}

#[test]
fn oversized_raw_file_is_rejected() {
    let big = vec![0u8; idx::MAX_DECODED as usize + 1];
    let e = idx::decode(Path::new("big"), big).unwrap_err();
    assert!(matches!(e, DataError::TooLarge { .. }), "{e:?}");
}

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> + use<> {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |key| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| OsString::from(v))
    }
}

#[test]
fn data_dir_resolution_order() {
    let all = env_of(&[
        ("VAE_MNIST_DIR", "/env/mnist"),
        ("XDG_CACHE_HOME", "/xdg"),
        ("HOME", "/home/u"),
    ]);
    let flag = Path::new("/flag/dir");
    assert_eq!(
        resolve_data_dir_with(Some(flag), &all),
        DataDir {
            path: flag.into(),
            origin: Origin::Flag
        }
    );
    assert_eq!(
        resolve_data_dir_with(None, &all),
        DataDir {
            path: "/env/mnist".into(),
            origin: Origin::Env
        }
    );
    let cache = |pairs: &[(&str, &str)]| {
        let d = resolve_data_dir_with(None, env_of(pairs));
        assert_eq!(d.origin, Origin::Cache);
        d.path
    };
    assert_eq!(
        cache(&[("XDG_CACHE_HOME", "/xdg"), ("HOME", "/home/u")]),
        Path::new("/xdg/vae/mnist")
    );
    // Empty variables count as unset; a relative XDG_CACHE_HOME is ignored.
    assert_eq!(
        cache(&[
            ("VAE_MNIST_DIR", ""),
            ("XDG_CACHE_HOME", "rel"),
            ("HOME", "/home/u")
        ]),
        Path::new("/home/u/.cache/vae/mnist")
    );
    assert_eq!(
        cache(&[("XDG_CACHE_HOME", ""), ("HOME", "/home/u")]),
        Path::new("/home/u/.cache/vae/mnist")
    );
    assert!(cache(&[]).ends_with("vae/mnist"));
}

fn small_split() -> Split {
    let images = (0..4 * IMAGE_PIXELS)
        .map(|k| (k / IMAGE_PIXELS) as u8)
        .collect();
    Split {
        images,
        labels: vec![3, 1, 4, 1],
    }
}

#[test]
fn split_accessors() {
    let s = small_split();
    assert_eq!(s.len(), 4);
    assert!(!s.is_empty());
    assert!(s.image(2).iter().all(|&p| p == 2));
    assert_eq!(s.image(3).len(), IMAGE_PIXELS);
    assert_eq!(s.label(2), 4);
    assert_eq!(s.get_image(3).map(|i| i[0]), Some(3));
    assert_eq!(s.get_image(4), None);
    assert_eq!(s.get_image(usize::MAX), None);
    let pairs: Vec<(u8, u8)> = s.iter().map(|(img, l)| (img[0], l)).collect();
    assert_eq!(pairs, [(0, 3), (1, 1), (2, 4), (3, 1)]);
    let mut counts = [0; NUM_CLASSES];
    counts[1] = 2;
    counts[3] = 1;
    counts[4] = 1;
    assert_eq!(s.label_counts(), counts);
    assert!(Split::default().is_empty());
}

#[test]
fn split_truncate_and_subset() {
    let mut s = small_split();
    let sub = s.subset(&[3, 0, 3]);
    assert_eq!(sub.labels, [1, 3, 1]);
    assert_eq!(sub.images.len(), 3 * IMAGE_PIXELS);
    assert_eq!(
        (sub.image(0)[0], sub.image(1)[0], sub.image(2)[9]),
        (3, 0, 3)
    );
    assert!(s.subset(&[]).is_empty());
    s.truncate(10);
    assert_eq!(s.len(), 4);
    s.truncate(2);
    assert_eq!((s.len(), s.images.len()), (2, 2 * IMAGE_PIXELS));
    assert_eq!(s.labels, [3, 1]);
}

#[test]
fn checksums_round_trip_through_json() {
    let c = Checksums::official();
    assert!(c.is_official());
    let json = serde_json::to_string(&c).unwrap();
    assert!(json.contains("\"train_images\":\"ba891046"), "{json}");
    let back: Checksums = serde_json::from_str(&json).unwrap();
    assert_eq!(back, c);
    for k in FileKind::ALL {
        assert_eq!(c.get(k), k.official_sha256());
    }
}

/// SHA-256 of the fixture's decompressed files, computed with `gunzip -c F | sha256sum`.
const FIXTURE_SHA256: [(FileKind, &str); 4] = [
    (
        FileKind::TrainImages,
        "ed3cf154352e4d7fa29892a8ded924b3a481be7e129660c09aafc47b637e2803",
    ),
    (
        FileKind::TrainLabels,
        "c2ad746c48f5219000739348f423b5d097de30034785e2ebc431a9728567c7eb",
    ),
    (
        FileKind::TestImages,
        "cefe86a05637f831a20aef251bd9db19004a2c986ec848d345c40ffd09264afc",
    ),
    (
        FileKind::TestLabels,
        "181dda88fbf8032cf747bf0766ad9d035b6bb747997214d834eb8d2f33a72210",
    ),
];

#[test]
fn fixture_loads() {
    let m = load_from_dir(&fixture_dir()).unwrap();
    assert_eq!((m.train.len(), m.test.len()), (600, 200));
    assert!(m.train.label_counts().iter().all(|&c| c > 0));
    assert!(m.test.label_counts().iter().all(|&c| c > 0));
    for (kind, sha) in FIXTURE_SHA256 {
        assert_eq!(m.checksums.get(kind), sha, "{kind}");
    }
    // MNIST digits: dark background, some fully inked pixels in every image.
    for (img, _) in m.train.iter().chain(m.test.iter()) {
        assert_eq!(img[0], 0);
        assert!(img.iter().any(|&p| p > 200));
    }
}

/// The full data beside the checkout (`../shared/data/mnist`); run with `--ignored`.
fn full_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/mnist")
}

#[test]
#[ignore = "needs the full MNIST at ../shared/data/mnist"]
fn full_data_loads_and_matches_the_fixture() {
    let t = std::time::Instant::now();
    let m = load_from_dir(&full_dir()).unwrap();
    eprintln!("full MNIST loaded in {:?}", t.elapsed());
    assert_eq!((m.train.len(), m.test.len()), (60_000, 10_000));
    assert!(m.checksums.is_official(), "{:?}", m.checksums);
    let fixture = load_from_dir(&fixture_dir()).unwrap();
    let first = |s: &Split, n: usize| s.subset(&(0..n).collect::<Vec<_>>());
    assert_eq!(first(&m.train, 600), fixture.train);
    assert_eq!(first(&m.test, 200), fixture.test);
}
