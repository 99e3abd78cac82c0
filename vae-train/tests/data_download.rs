//! Download tests against a tiny HTTP server on 127.0.0.1 that serves the fixture.
//!
//! The server runs in a thread, answers one request per connection, and stops by itself
//! when dropped or after 60 s, whichever comes first.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::write::GzEncoder;
use vae_train::data::{
    self, Checksums, DataDir, DataError, Downloader, FileKind, Origin, load_from_dir, load_with,
};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/mnist")
}

fn fixture_gz(kind: FileKind) -> Vec<u8> {
    std::fs::read(fixture_dir().join(kind.gz_name())).unwrap()
}

/// The fixture with one decompressed byte changed, re-gzipped: valid gzip, wrong checksum.
fn corrupted_gz(kind: FileKind) -> Vec<u8> {
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(fixture_gz(kind).as_slice())
        .read_to_end(&mut raw)
        .unwrap();
    let last = raw.len() - 1;
    raw[last] ^= 1;
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(&raw).unwrap();
    e.finish().unwrap()
}

#[derive(Clone)]
enum Reply {
    /// 200 with this body.
    Body(Vec<u8>),
    /// 200 with the right Content-Length, but only the first half is sent before closing.
    Short(Vec<u8>),
}

/// A one-thread HTTP/1.1 server; unknown paths get 404.
struct Server {
    base: String,
    log: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(routes: HashMap<String, Reply>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (log2, stop2) = (log.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            while !stop2.load(Ordering::SeqCst) && Instant::now() < deadline {
                match listener.accept() {
                    Ok((stream, _)) => serve(stream, &routes, &log2),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(_) => break,
                }
            }
        });
        Server {
            base,
            log,
            stop,
            thread: Some(thread),
        }
    }

    /// Base URL of a mirror served under `/prefix/`.
    fn mirror(&self, prefix: &str) -> String {
        format!("{}/{prefix}/", self.base)
    }

    fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(mut stream: TcpStream, routes: &HashMap<String, Reply>, log: &Mutex<Vec<String>>) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut req = Vec::new();
    let mut buf = [0u8; 1024];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => req.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&req);
    let path = text.split_whitespace().nth(1).unwrap_or("").to_owned();
    log.lock().unwrap().push(path.clone());
    let (head, body) = match routes.get(&path) {
        Some(Reply::Body(b)) => (format!("200 OK\r\nContent-Length: {}", b.len()), &b[..]),
        Some(Reply::Short(b)) => (
            format!("200 OK\r\nContent-Length: {}", b.len()),
            &b[..b.len() / 2],
        ),
        None => ("404 Not Found\r\nContent-Length: 0".to_owned(), &[][..]),
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {head}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n"
    );
    let _ = stream.write_all(body);
    let _ = stream.flush();
}

/// A base URL on which nothing listens (connection refused).
fn dead_mirror() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}/dead/")
}

fn fixture_checksums() -> Checksums {
    load_from_dir(&fixture_dir()).unwrap().checksums
}

fn downloader(mirrors: Vec<String>) -> Downloader {
    let mut d = Downloader::new(mirrors, fixture_checksums());
    d.use_env_proxy = false;
    d.connect_timeout = Duration::from_secs(5);
    d.read_timeout = Duration::from_secs(5);
    d.timeout = Duration::from_secs(20);
    d
}

fn routes(prefix: &str, reply: impl Fn(FileKind) -> Reply) -> HashMap<String, Reply> {
    FileKind::ALL
        .into_iter()
        .map(|k| (format!("/{prefix}/{}", k.gz_name()), reply(k)))
        .collect()
}

fn cache_dir(root: &Path) -> DataDir {
    DataDir {
        path: root.join("vae/mnist"),
        origin: Origin::Cache,
    }
}

fn dir_entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn data_corrupt_mirror_is_rejected_and_the_next_one_used() {
    let mut all = routes("bad", |k| Reply::Body(corrupted_gz(k)));
    all.extend(routes("good", |k| Reply::Body(fixture_gz(k))));
    let server = Server::start(all);
    let root = tempfile::tempdir().unwrap();
    let dir = cache_dir(root.path());
    let d = downloader(vec![server.mirror("bad"), server.mirror("good")]);

    let m = load_with(&dir, &d).unwrap();
    assert_eq!(m, load_from_dir(&fixture_dir()).unwrap());

    // Each file was asked of the bad mirror first, then of the good one.
    let expected: Vec<String> = FileKind::ALL
        .into_iter()
        .flat_map(|k| {
            [
                format!("/bad/{}", k.gz_name()),
                format!("/good/{}", k.gz_name()),
            ]
        })
        .collect();
    assert_eq!(server.requests(), expected);
    // Exactly the four .gz files, byte for byte what the good mirror served; no temp file.
    let mut names: Vec<String> = FileKind::ALL.into_iter().map(|k| k.gz_name()).collect();
    names.sort();
    assert_eq!(dir_entries(&dir.path), names);
    for k in FileKind::ALL {
        assert_eq!(
            std::fs::read(dir.path.join(k.gz_name())).unwrap(),
            fixture_gz(k)
        );
    }

    // A second load finds everything and asks the server nothing.
    let before = server.requests().len();
    assert_eq!(load_with(&dir, &d).unwrap(), m);
    assert_eq!(server.requests().len(), before);
}

#[test]
fn data_cut_off_download_is_rejected_and_the_next_mirror_used() {
    let mut all = routes("short", |k| Reply::Short(fixture_gz(k)));
    all.extend(routes("good", |k| Reply::Body(fixture_gz(k))));
    let server = Server::start(all);
    let root = tempfile::tempdir().unwrap();
    let d = downloader(vec![server.mirror("short"), server.mirror("good")]);
    let fetched = d.fetch_missing(&root.path().join("c")).unwrap();
    assert_eq!(fetched, FileKind::ALL);
    let log = server.requests();
    assert_eq!(log.iter().filter(|p| p.starts_with("/short/")).count(), 4);
    assert_eq!(log.iter().filter(|p| p.starts_with("/good/")).count(), 4);
    assert_eq!(
        load_from_dir(&root.path().join("c")).unwrap(),
        load_from_dir(&fixture_dir()).unwrap()
    );
}

#[test]
fn data_only_missing_files_are_downloaded() {
    let server = Server::start(routes("good", |k| Reply::Body(fixture_gz(k))));
    let root = tempfile::tempdir().unwrap();
    let dir = cache_dir(root.path());
    std::fs::create_dir_all(&dir.path).unwrap();
    for k in [FileKind::TrainImages, FileKind::TestLabels] {
        std::fs::copy(fixture_dir().join(k.gz_name()), dir.path.join(k.gz_name())).unwrap();
    }
    let d = downloader(vec![server.mirror("good")]);
    assert_eq!(
        d.fetch_missing(&dir.path).unwrap(),
        [FileKind::TrainLabels, FileKind::TestImages]
    );
    assert_eq!(
        server.requests(),
        [
            "/good/train-labels-idx1-ubyte.gz",
            "/good/t10k-images-idx3-ubyte.gz"
        ]
    );
    assert_eq!(load_with(&dir, &d).unwrap().train.len(), 600);
}

#[test]
fn data_all_mirrors_failing_names_the_files_and_leaves_nothing() {
    // Bad checksum on one mirror, 404 on another, connection refused on a third.
    let mut all = routes("bad", |k| Reply::Body(corrupted_gz(k)));
    all.insert(
        "/html/train-images-idx3-ubyte.gz".into(),
        Reply::Body(b"<html>moved</html>".to_vec()),
    );
    let server = Server::start(all);
    let root = tempfile::tempdir().unwrap();
    let dir = cache_dir(root.path());
    let dead = dead_mirror();
    let d = downloader(vec![
        dead.clone(),
        server.mirror("bad"),
        server.mirror("html"),
    ]);

    let e = load_with(&dir, &d).unwrap_err();
    let DataError::Download {
        files, attempts, ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(files, &FileKind::ALL);
    // 3 mirrors x 4 files; the refused mirror is skipped after its first failure.
    assert_eq!(attempts.len(), 12, "{attempts:#?}");
    assert_eq!(
        attempts.iter().filter(|a| a.contains("skipped")).count(),
        3,
        "{attempts:#?}"
    );
    assert_eq!(
        attempts
            .iter()
            .filter(|a| a.contains("checksum mismatch"))
            .count(),
        4
    );
    assert!(attempts.iter().any(|a| a.contains("not gzip data")));
    assert!(attempts.iter().any(|a| a.contains("404")));

    let msg = e.to_string();
    for k in FileKind::ALL {
        assert!(msg.contains(k.file_name()), "{k} not in {msg}");
    }
    for needle in [
        dir.path.display().to_string(),
        "--data-dir".into(),
        "VAE_MNIST_DIR".into(),
        dead,
    ] {
        assert!(msg.contains(&needle), "{needle:?} not in {msg}");
    }
    // The cache folder was created but holds no file, partial or otherwise.
    assert_eq!(dir_entries(&dir.path), Vec::<String>::new());
    // The dead mirror was tried once, the others once per file.
    assert_eq!(server.requests().len(), 8);
}

#[test]
fn data_cached_files_must_match_the_expected_checksums() {
    let root = tempfile::tempdir().unwrap();
    let dir = cache_dir(root.path());
    std::fs::create_dir_all(&dir.path).unwrap();
    for k in FileKind::ALL {
        std::fs::copy(fixture_dir().join(k.gz_name()), dir.path.join(k.gz_name())).unwrap();
    }
    // The fixture is not the official MNIST; no mirror is needed since nothing is missing.
    let d = Downloader::new(Vec::<String>::new(), Checksums::official());
    let e = load_with(&dir, &d).unwrap_err();
    assert!(
        matches!(&e, DataError::ChecksumMismatch { path, .. }
            if path == &dir.path.join("train-images-idx3-ubyte.gz")),
        "{e:?}"
    );
    assert!(e.to_string().contains("delete the file"), "{e}");
    // With the fixture's own checksums the same folder loads.
    let ok = Downloader::new(Vec::<String>::new(), fixture_checksums());
    assert_eq!(load_with(&dir, &ok).unwrap().test.len(), 200);
}

#[test]
fn data_no_mirror_configured_is_a_clear_error() {
    let root = tempfile::tempdir().unwrap();
    let d = Downloader::new(Vec::<String>::new(), data::Checksums::official());
    let e = d.fetch_missing(root.path()).unwrap_err();
    assert!(e.to_string().contains("no mirror configured"), "{e}");
    assert_eq!(dir_entries(root.path()), Vec::<String>::new());
}
