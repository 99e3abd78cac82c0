//! `vae-export serial`: a real board against the host, over USB serial.
//!
//! Asks a Raspberry Pi Pico running `examples/rp2040-pico` (its USB serial console) for
//! digits and compares each with the host's decode of the same blob through vae-core:
//! "the board reproduces the host bit for bit", or it says which seed differs (and which
//! rows of the ASCII art).
//!
//! The conversation, in the console's own commands: an empty line (ends whatever was
//! typed before), `t` (back to the default temperature, as the host decodes; also stops
//! the automatic digits), `i` (the banner: its blob line's size and CRC-32 must equal the
//! file's), then `g SEED` per seed: a heading `seed S:`, 28 rows of ASCII art and
//! `seed S: crc32 XXXXXXXX, decoded in N us`.
//!
//! [`check`] runs it over any `Read + Write` (tests drive it with an in-memory board);
//! [`open`] opens a real port with the `serialport` crate (built without libudev).

use std::fmt;
use std::io::{self, Read, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use vae_core::format::crc32;
use vae_core::host::Engine;
use vae_core::{IMAGE_PIXELS, IMAGE_SIDE, Request};
use vae_train::export::ExportError;

/// The firmware's grey ramp for ASCII art, dark to bright (`examples/rp2040-pico/src/draw.rs`).
pub const RAMP: &[u8] = b" .:-=+*#%@";

/// Lines of ASCII art per digit.
const ROWS: usize = IMAGE_PIXELS / IMAGE_SIDE;

/// The console's baud rate (USB CDC ignores it; a UART bridge would not).
const BAUD: u32 = 115_200;

/// How long one read of the port waits before the deadline is checked again.
const POLL: Duration = Duration::from_millis(50);

/// The banner's blob line: `blob N bytes, crc32 XXXXXXXX, ...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Banner {
    /// The blob's size in bytes.
    pub bytes: usize,
    /// The CRC-32 in the blob's trailer.
    pub crc: u32,
}

impl Banner {
    /// What the banner of a board running `blob` shows.
    pub fn of(blob: &[u8]) -> Banner {
        Banner {
            bytes: blob.len(),
            crc: blob_crc(blob).unwrap_or(0),
        }
    }
}

impl fmt::Display for Banner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bytes, crc32 {:08x}", self.bytes, self.crc)
    }
}

/// Parses the banner's blob line.
pub fn banner(line: &str) -> Option<Banner> {
    let rest = line.strip_prefix("blob ")?;
    let (bytes, rest) = rest.split_once(" bytes, crc32 ")?;
    let crc = rest.get(..8)?;
    Some(Banner {
        bytes: bytes.parse().ok()?,
        crc: u32::from_str_radix(crc, 16).ok()?,
    })
}

/// A digit's closing line: `seed S[, digit D]: crc32 XXXXXXXX, decoded in N us`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigitLine {
    /// The digit's seed.
    pub seed: u64,
    /// The digit asked for (`d DIGIT SEED` on a conditional blob).
    pub digit: Option<u8>,
    /// CRC-32 of its 784 pixels.
    pub crc: u32,
    /// The board's decode time.
    pub decode_us: u64,
}

/// Parses `seed S[, digit D]` (a digit's name, as the heading and the closing line start).
fn name(text: &str) -> Option<(u64, Option<u8>)> {
    let text = text.strip_prefix("seed ")?;
    match text.split_once(", digit ") {
        Some((seed, digit)) => Some((seed.parse().ok()?, Some(digit.parse().ok()?))),
        None => Some((text.parse().ok()?, None)),
    }
}

/// Parses a digit's heading line, `seed S[, digit D]:`.
pub fn heading(line: &str) -> Option<(u64, Option<u8>)> {
    name(line.strip_suffix(':')?)
}

/// Parses a digit's closing line.
pub fn digit_line(line: &str) -> Option<DigitLine> {
    let (head, rest) = line.split_once(": crc32 ")?;
    let (seed, digit) = name(head)?;
    let (crc, rest) = rest.split_once(", decoded in ")?;
    let us = rest.strip_suffix(" us")?;
    if crc.len() != 8 {
        return None;
    }
    Some(DigitLine {
        seed,
        digit,
        crc: u32::from_str_radix(crc, 16).ok()?,
        decode_us: us.parse().ok()?,
    })
}

/// One row of pixels as the firmware's ASCII art.
pub fn ascii_row(row: &[u8]) -> String {
    row.iter()
        .map(|&p| char::from(RAMP[usize::from(p) * RAMP.len() / 256]))
        .collect()
}

/// The host's digit for `g SEED`.
#[derive(Debug, Clone)]
pub struct HostDigit {
    /// The 28x28 pixels.
    pub pixels: [u8; IMAGE_PIXELS],
    /// Their CRC-32.
    pub crc: u32,
    /// The 28 rows of ASCII art.
    pub rows: Vec<String>,
}

/// Decodes `seed` on the host as the firmware's `g SEED` does: `Request::new(seed)`, the
/// blob's prior at the default temperature, with no digit even for a conditional blob.
pub fn host_digit(engine: &Engine<'_>, seed: u64) -> Result<HostDigit, vae_core::Error> {
    let mut pixels = [0u8; IMAGE_PIXELS];
    engine.generate(&Request::new(seed), &mut pixels)?;
    Ok(HostDigit {
        pixels,
        crc: crc32(&pixels),
        rows: pixels.chunks_exact(IMAGE_SIDE).map(ascii_row).collect(),
    })
}

/// The blob's CRC-32 as the banner shows it: the one in its last 4 bytes.
pub fn blob_crc(blob: &[u8]) -> Option<u32> {
    let (_, crc) = blob.split_last_chunk::<4>()?;
    Some(u32::from_le_bytes(*crc))
}

/// Parses `--seeds`: `A..B` (B excluded), `A..=B`, or one seed `N`.
pub fn parse_seeds(text: &str) -> Result<Range<u64>, String> {
    seeds(text).ok_or_else(|| {
        format!(
            "{text:?} is not a range of seeds: use A..B (B excluded, A < B), A..=B (A <= B) \
             or one seed N, e.g. 0..8"
        )
    })
}

fn seeds(text: &str) -> Option<Range<u64>> {
    if let Some((a, b)) = text.split_once("..=") {
        let (a, b): (u64, u64) = (a.parse().ok()?, b.parse().ok()?);
        if a > b {
            return None;
        }
        return Some(a..b.checked_add(1)?);
    }
    if let Some((a, b)) = text.split_once("..") {
        let (a, b): (u64, u64) = (a.parse().ok()?, b.parse().ok()?);
        return (a < b).then_some(a..b);
    }
    let n: u64 = text.parse().ok()?;
    Some(n..n.checked_add(1)?)
}

/// Why a check stopped before its verdict (`vae-export serial` exits 2).
#[derive(Debug)]
pub enum SerialError {
    /// The blob cannot be read, or is not one vae-core reads.
    Blob(ExportError),
    /// The port cannot be opened.
    Open {
        /// The port's name.
        port: String,
        /// serialport's error.
        source: serialport::Error,
        /// The serial ports this machine lists.
        available: Vec<String>,
    },
    /// A command cannot be written to the port.
    Write {
        /// The port's name.
        port: String,
        /// The cause.
        source: io::Error,
    },
    /// The port cannot be read.
    Read {
        /// The port's name.
        port: String,
        /// The cause.
        source: io::Error,
    },
    /// No complete line came within the timeout.
    Timeout {
        /// The port's name.
        port: String,
        /// The timeout per answer.
        timeout: Duration,
        /// What was awaited.
        waiting_for: String,
        /// The last lines read (at most 5).
        recent: Vec<String>,
    },
    /// The board's banner names another blob than the file.
    OtherBlob {
        /// The board's banner.
        board: Banner,
        /// The file's.
        host: Banner,
        /// The file.
        blob: PathBuf,
    },
    /// The board answered `g SEED` with an error line.
    Board {
        /// The seed asked for.
        seed: u64,
        /// The board's line.
        line: String,
    },
    /// A line that is not the digit's closing `seed S: crc32 ...` line where it belongs.
    Unexpected {
        /// The seed asked for.
        seed: u64,
        /// The line read.
        line: String,
    },
    /// The host cannot decode a seed.
    HostDecode {
        /// The seed.
        seed: u64,
        /// vae-core's error.
        source: vae_core::Error,
    },
}

impl fmt::Display for SerialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SerialError::Blob(e) => write!(
                f,
                "{e}; pass --blob FILE, the blob the board's firmware embeds (the Pico \
                 firmware's is examples/models/decoder.bin, from the repository root, unless it \
                 was built with VAE_BLOB=FILE)"
            ),
            SerialError::Open {
                port,
                source,
                available,
            } => {
                write!(f, "cannot open {port}: {source}; ")?;
                if available.is_empty() {
                    f.write_str(
                        "no serial ports found: is the Pico plugged in and running the firmware \
                         (not in BOOTSEL mode)?",
                    )
                } else {
                    write!(f, "serial ports here: {}", available.join(", "))
                }
            }
            SerialError::Write { port, source } => write!(
                f,
                "{port}: cannot write: {source}; is the board still connected?"
            ),
            SerialError::Read { port, source } => write!(
                f,
                "{port}: cannot read: {source}; is the board still connected?"
            ),
            SerialError::Timeout {
                port,
                timeout,
                waiting_for,
                recent,
            } => {
                write!(
                    f,
                    "{port}: no answer within {} ms waiting for {waiting_for}: is the Pico \
                     running this firmware (the vae-core console, examples/rp2040-pico)? Give it \
                     longer with --timeout-ms. Read ",
                    timeout.as_millis()
                )?;
                if recent.is_empty() {
                    f.write_str("nothing at all")
                } else {
                    write!(f, "last lines:\n  {}", recent.join("\n  "))
                }
            }
            SerialError::OtherBlob { board, host, blob } => write!(
                f,
                "the board runs another blob ({board}) than {} ({host}): flash a firmware built \
                 with it (VAE_BLOB=FILE cargo build --release), or pass the board's blob with \
                 --blob",
                blob.display()
            ),
            SerialError::Board { seed, line } => {
                write!(f, "the board answered g {seed} with: {line}")
            }
            SerialError::Unexpected { seed, line } => write!(
                f,
                "expected the CRC-32 line of seed {seed}, read: {line:?}; is the port shared \
                 with another program (a terminal)?"
            ),
            SerialError::HostDecode { seed, source } => {
                write!(f, "host decode of seed {seed}: {source}")
            }
        }
    }
}

impl std::error::Error for SerialError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SerialError::Blob(e) => Some(e),
            SerialError::Open { source, .. } => Some(source),
            SerialError::Write { source, .. } | SerialError::Read { source, .. } => Some(source),
            SerialError::HostDecode { source, .. } => Some(source),
            SerialError::Timeout { .. }
            | SerialError::OtherBlob { .. }
            | SerialError::Board { .. }
            | SerialError::Unexpected { .. } => None,
        }
    }
}

impl From<ExportError> for SerialError {
    fn from(e: ExportError) -> Self {
        SerialError::Blob(e)
    }
}

/// Opens a board's serial port and raises DTR: the console talks once DTR is up
/// (terminals raise it on open). A pseudo-terminal (`emu/pty-bridge.py`) has no DTR line:
/// its console is already open.
pub fn open(port: &str) -> Result<Box<dyn serialport::SerialPort>, SerialError> {
    let mut serial = serialport::new(port, BAUD)
        .timeout(POLL)
        .open()
        .map_err(|source| SerialError::Open {
            port: port.to_string(),
            source,
            available: serialport::available_ports()
                .map(|ports| ports.into_iter().map(|p| p.port_name).collect())
                .unwrap_or_default(),
        })?;
    let _ = serial.write_data_terminal_ready(true);
    Ok(serial)
}

/// The board's console, a line at a time.
struct Board<'a, P> {
    port: P,
    name: &'a str,
    pending: Vec<u8>,
    timeout: Duration,
    /// The last lines read, for error messages.
    recent: Vec<String>,
}

impl<P: Read + Write> Board<'_, P> {
    fn send(&mut self, command: &str) -> Result<(), SerialError> {
        self.port
            .write_all(format!("{command}\r\n").as_bytes())
            .and_then(|()| self.port.flush())
            .map_err(|source| SerialError::Write {
                port: self.name.to_string(),
                source,
            })
    }

    /// The next line (without its ending), or a timeout error naming `what`.
    fn line(&mut self, what: &str) -> Result<String, SerialError> {
        let deadline = Instant::now() + self.timeout;
        loop {
            if let Some(nl) = self.pending.iter().position(|&b| b == b'\n') {
                let raw: Vec<u8> = self.pending.drain(..=nl).collect();
                let line = String::from_utf8_lossy(&raw)
                    .trim_end_matches(['\r', '\n'])
                    .to_string();
                if self.recent.len() == 5 {
                    self.recent.remove(0);
                }
                self.recent.push(line.clone());
                return Ok(line);
            }
            if Instant::now() >= deadline {
                return Err(SerialError::Timeout {
                    port: self.name.to_string(),
                    timeout: self.timeout,
                    waiting_for: what.to_string(),
                    recent: self.recent.clone(),
                });
            }
            let mut buf = [0u8; 256];
            match self.port.read(&mut buf) {
                // End of file (a pseudo-terminal whose other side is gone): wait as for a
                // silent board, without spinning.
                Ok(0) => std::thread::sleep(Duration::from_millis(10)),
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                            | io::ErrorKind::WouldBlock
                    ) => {}
                Err(source) => {
                    return Err(SerialError::Read {
                        port: self.name.to_string(),
                        source,
                    });
                }
            }
        }
    }
}

/// One seed's comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedResult {
    /// The seed.
    pub seed: u64,
    /// The board's CRC-32.
    pub board_crc: u32,
    /// The host's.
    pub host_crc: u32,
    /// The ASCII art rows (0-27) that differ.
    pub rows_differ: Vec<usize>,
    /// The board's decode time.
    pub decode_us: u64,
}

impl SeedResult {
    /// Whether the board's digit is the host's.
    pub fn equal(&self) -> bool {
        self.board_crc == self.host_crc && self.rows_differ.is_empty()
    }
}

/// The verdict of a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The seeds checked.
    pub seeds: Range<u64>,
    /// Every seed's comparison, in order.
    pub results: Vec<SeedResult>,
}

impl Report {
    /// The seeds whose digits differ from the host's.
    pub fn differing(&self) -> Vec<u64> {
        self.results
            .iter()
            .filter(|r| !r.equal())
            .map(|r| r.seed)
            .collect()
    }

    /// The closing line: `PASS: ...` or `FAIL: seeds ... differ ...`.
    pub fn verdict(&self) -> String {
        let differ = self.differing();
        if differ.is_empty() {
            let n = self.results.len();
            format!(
                "PASS: the board reproduces the host bit for bit for seeds {}..{} ({n} digit{})",
                self.seeds.start,
                self.seeds.end,
                if n == 1 { "" } else { "s" }
            )
        } else {
            let list: Vec<String> = differ.iter().map(u64::to_string).collect();
            format!(
                "FAIL: seed{} {} differ{} from the host's decode",
                if differ.len() == 1 { "" } else { "s" },
                list.join(", "),
                if differ.len() == 1 { "s" } else { "" }
            )
        }
    }
}

/// What to check.
#[derive(Debug, Clone)]
pub struct CheckOptions<'a> {
    /// The port's name, for messages.
    pub port: &'a str,
    /// The blob file, for messages.
    pub blob_path: &'a Path,
    /// The blob the board should run.
    pub blob: &'a [u8],
    /// The seeds to compare.
    pub seeds: Range<u64>,
    /// How long to wait for each line of an answer.
    pub timeout: Duration,
}

/// Checks the board on `port` against the host's decode of `options.blob`, printing a
/// line per step to `log`. A board that differs is a [`Report`] naming the seeds; a check
/// that cannot be made (another blob, a timeout, an unreadable answer) is an error.
pub fn check<P: Read + Write>(
    port: P,
    options: &CheckOptions<'_>,
    log: &mut dyn Write,
) -> Result<Report, SerialError> {
    let engine = vae_core::host::open(options.blob).map_err(|source| {
        SerialError::Blob(ExportError::Blob {
            context: format!("{}: not a blob vae-core reads", options.blob_path.display()),
            source,
        })
    })?;
    let want = Banner::of(options.blob);
    // The log is for a person; a closed stdout does not stop the check.
    let _ = writeln!(log, "host: {} ({want})", options.blob_path.display());

    let mut board = Board {
        port,
        name: options.port,
        pending: Vec::new(),
        timeout: options.timeout,
        recent: Vec::new(),
    };
    // An empty line ends whatever was typed before; `t` (back to the default temperature,
    // as the host decodes) also stops the digit a second; `i` prints the banner again.
    board.send("")?;
    board.send("t")?;
    while !board.line("the answer to t")?.starts_with("temperature") {}
    board.send("i")?;
    let got = loop {
        let line = board.line("the banner (answer to i)")?;
        if line.starts_with("vae-core on ") {
            let _ = writeln!(log, "board: {line}");
        }
        if let Some(banner) = banner(&line) {
            let _ = writeln!(log, "board: {line}");
            break banner;
        }
    };
    if got != want {
        return Err(SerialError::OtherBlob {
            board: got,
            host: want,
            blob: options.blob_path.to_path_buf(),
        });
    }

    let mut results = Vec::new();
    for seed in options.seeds.clone() {
        let host =
            host_digit(&engine, seed).map_err(|source| SerialError::HostDecode { seed, source })?;
        board.send(&format!("g {seed}"))?;
        let what = format!("the digit of seed {seed}");
        // The heading `seed S:`, 28 rows of art, then the closing line.
        loop {
            let line = board.line(&what)?;
            if line.starts_with("error: ") {
                return Err(SerialError::Board { seed, line });
            }
            if heading(&line).is_some_and(|(s, _)| s == seed) {
                break;
            }
        }
        let mut rows = Vec::with_capacity(ROWS);
        for _ in 0..ROWS {
            rows.push(board.line(&what)?);
        }
        let closing = board.line(&what)?;
        let shown =
            digit_line(&closing)
                .filter(|d| d.seed == seed)
                .ok_or(SerialError::Unexpected {
                    seed,
                    line: closing,
                })?;
        let result = SeedResult {
            seed,
            board_crc: shown.crc,
            host_crc: host.crc,
            rows_differ: (0..ROWS)
                .filter(|&r| rows.get(r) != host.rows.get(r))
                .collect(),
            decode_us: shown.decode_us,
        };
        if result.equal() {
            let _ = writeln!(
                log,
                "seed {seed}: crc32 {:08x} = host, decoded on the board in {} us",
                result.board_crc, result.decode_us
            );
        } else {
            let rows: Vec<String> = result.rows_differ.iter().map(usize::to_string).collect();
            let _ = writeln!(
                log,
                "seed {seed}: DIFFERS: board crc32 {:08x}, host {:08x}; ASCII art rows that differ: {}",
                result.board_crc,
                result.host_crc,
                if rows.is_empty() {
                    "none (the difference is below the art's 10 grey levels)".to_string()
                } else {
                    rows.join(", ")
                }
            );
        }
        results.push(result);
    }
    Ok(Report {
        seeds: options.seeds.clone(),
        results,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;

    fn models() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/models")
    }

    fn default_blob() -> Vec<u8> {
        std::fs::read(models().join("decoder.bin")).expect("the default blob")
    }

    #[test]
    fn lines_parse() {
        let b = "blob 305751 bytes, crc32 9c8b6114, latent 20, hidden 256, 3 layers, unconditional";
        assert_eq!(
            banner(b),
            Some(Banner {
                bytes: 305_751,
                crc: 0x9c8b_6114
            })
        );
        assert_eq!(banner("vae-core on RP2040 at 125 MHz"), None);
        assert_eq!(banner("blob 12 bytes, crc32 xyz"), None);
        assert_eq!(banner("blob -1 bytes, crc32 9c8b6114"), None);
        assert_eq!(heading("seed 7:"), Some((7, None)));
        assert_eq!(heading("seed 7, digit 3:"), Some((7, Some(3))));
        assert_eq!(heading("seed 7: crc32 2bc7b788, decoded in 26175 us"), None);
        assert_eq!(heading("seed x:"), None);
        assert_eq!(
            digit_line("seed 7: crc32 2bc7b788, decoded in 26175 us"),
            Some(DigitLine {
                seed: 7,
                digit: None,
                crc: 0x2bc7_b788,
                decode_us: 26_175
            })
        );
        assert_eq!(
            digit_line("seed 2, digit 9: crc32 0000abcd, decoded in 1 us").map(|d| d.digit),
            Some(Some(9))
        );
        assert_eq!(digit_line("seed 7:"), None);
        assert_eq!(digit_line("error: seed 7: bad"), None);
        assert_eq!(digit_line("seed 7: crc32 2bc7b78, decoded in 1 us"), None);
        assert_eq!(digit_line("seed 7: crc32 2bc7b788, decoded in 1 ms"), None);
    }

    #[test]
    fn seed_ranges() {
        assert_eq!(parse_seeds("0..8"), Ok(0..8));
        assert_eq!(parse_seeds("3..=5"), Ok(3..6));
        assert_eq!(parse_seeds("42"), Ok(42..43));
        for bad in [
            "8..8",
            "5..=4",
            "x",
            "",
            "..8",
            "-1..3",
            "18446744073709551615..=18446744073709551615",
        ] {
            let e = parse_seeds(bad).expect_err(bad);
            assert!(e.contains("A..B"), "{bad}: {e}");
        }
    }

    #[test]
    fn ascii_art_uses_the_firmware_ramp() {
        assert_eq!(ascii_row(&[0, 25, 26, 128, 255]), "  .+@");
    }

    #[test]
    fn host_digits_match_the_golden_file() {
        let blob = default_blob();
        let golden = std::fs::read_to_string(models().join("golden.txt")).expect("golden.txt");
        let engine = vae_core::host::open(&blob).expect("a valid blob");
        for (seed, line) in golden.lines().enumerate() {
            let digit = host_digit(&engine, seed as u64).expect("a digit");
            assert_eq!(format!("seed {seed}: crc32 {:08x}", digit.crc), line);
            assert_eq!(digit.rows.len(), ROWS);
        }
        assert_eq!(blob_crc(&blob), Some(crc32(&blob[..blob.len() - 4])));
        assert_eq!(blob_crc(&[1, 2, 3]), None);
    }

    /// What the fake board does wrong.
    #[derive(Clone, Copy, Default)]
    struct Faults {
        /// This seed's digit has one pixel brighter.
        differ: Option<u64>,
        /// The banner's CRC-32 is off by one.
        other_blob: bool,
        /// Nothing is ever answered.
        silent: bool,
        /// `g` is answered with a heading and art, then garbage.
        garbage: bool,
        /// `g` is answered with an error line.
        error: bool,
    }

    /// The Pico console's side of the protocol, in memory: the lines
    /// `examples/rp2040-pico/src/main.rs` and `draw.rs` print for each command, with the
    /// digits decoded by vae-core here.
    struct FakeBoard<'a> {
        engine: Engine<'a>,
        banner: Banner,
        faults: Faults,
        typed: Vec<u8>,
        out: VecDeque<u8>,
    }

    impl<'a> FakeBoard<'a> {
        fn new(blob: &'a [u8], faults: Faults) -> Self {
            let mut banner = Banner::of(blob);
            if faults.other_blob {
                banner.crc ^= 1;
            }
            // An automatic digit half sent when the host connects: ignored until `t`.
            let out = b"#%@  \r\n    .:\r\nseed 3: crc32 0000".iter().copied();
            FakeBoard {
                engine: vae_core::host::open(blob).expect("a valid blob"),
                banner,
                faults,
                typed: Vec::new(),
                out: out.collect(),
            }
        }

        fn say(&mut self, line: &str) {
            self.out.extend(line.as_bytes());
            self.out.extend(b"\r\n");
        }

        fn command(&mut self, line: &str) {
            match line.split_whitespace().collect::<Vec<_>>().as_slice() {
                [] => self.say("error: empty line (? for help)"),
                ["t"] => self.say("temperature: the default of each request"),
                ["i"] => {
                    self.say("");
                    self.say("vae-core on RP2040 at 125 MHz");
                    let b = self.banner;
                    self.say(&format!(
                        "blob {} bytes, crc32 {:08x}, latent 20, hidden 256, 3 layers, \
                         unconditional, prior N(0, I)",
                        b.bytes, b.crc
                    ));
                }
                ["g", seed] => {
                    let seed: u64 = seed.parse().expect("a seed");
                    if self.faults.error {
                        self.say(&format!("error: seed {seed}: the blob is damaged"));
                        return;
                    }
                    let mut pixels = host_digit(&self.engine, seed).expect("a digit").pixels;
                    if self.faults.differ == Some(seed) {
                        pixels[14 * IMAGE_SIDE + 14] ^= 0xff;
                    }
                    self.say(&format!("seed {seed}:"));
                    for row in pixels.chunks_exact(IMAGE_SIDE) {
                        self.say(&ascii_row(row));
                    }
                    if self.faults.garbage {
                        self.say("seed ?: crc32 ????????");
                    } else {
                        self.say(&format!(
                            "seed {seed}: crc32 {:08x}, decoded in 26175 us",
                            crc32(&pixels)
                        ));
                    }
                }
                _ => self.say("error: unknown command (? for help)"),
            }
        }
    }

    impl Write for FakeBoard<'_> {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.typed.extend_from_slice(buf);
            while let Some(nl) = self.typed.iter().position(|&b| b == b'\n') {
                let raw: Vec<u8> = self.typed.drain(..=nl).collect();
                let line = String::from_utf8(raw).expect("ASCII commands");
                if !self.faults.silent {
                    self.command(line.trim_end_matches(['\r', '\n']));
                }
            }
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Read for FakeBoard<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.faults.silent || self.out.is_empty() {
                // A real port's read timeout.
                std::thread::sleep(Duration::from_millis(5));
                return Err(io::ErrorKind::TimedOut.into());
            }
            // A few bytes at a time, as USB packets arrive.
            let n = buf.len().min(self.out.len()).min(64);
            for (b, byte) in buf.iter_mut().zip(self.out.drain(..n)) {
                *b = byte;
            }
            Ok(n)
        }
    }

    fn run(faults: Faults, seeds: Range<u64>) -> (Result<Report, SerialError>, String) {
        let blob = default_blob();
        let board = FakeBoard::new(&blob, faults);
        let options = CheckOptions {
            port: "/dev/fake",
            blob_path: Path::new("decoder.bin"),
            blob: &blob,
            seeds,
            timeout: Duration::from_millis(200),
        };
        let mut log = Vec::new();
        let result = check(board, &options, &mut log);
        (result, String::from_utf8(log).expect("UTF-8 log"))
    }

    #[test]
    fn a_board_with_the_same_digits_passes() {
        let (report, log) = run(Faults::default(), 0..8);
        let report = report.expect("a verdict");
        assert_eq!(report.differing(), Vec::<u64>::new());
        assert_eq!(report.results.len(), 8);
        assert_eq!(
            report.verdict(),
            "PASS: the board reproduces the host bit for bit for seeds 0..8 (8 digits)"
        );
        // The host's CRC-32s are the golden ones.
        let golden = std::fs::read_to_string(models().join("golden.txt")).expect("golden.txt");
        for (line, result) in golden.lines().zip(&report.results) {
            assert_eq!(
                format!("seed {}: crc32 {:08x}", result.seed, result.host_crc),
                line
            );
        }
        assert!(
            log.contains("board: vae-core on RP2040 at 125 MHz"),
            "{log}"
        );
        assert!(log.contains("seed 7: crc32 "), "{log}");
    }

    #[test]
    fn a_differing_seed_is_named() {
        let (report, log) = run(
            Faults {
                differ: Some(5),
                ..Faults::default()
            },
            3..8,
        );
        let report = report.expect("a verdict");
        assert_eq!(report.differing(), vec![5]);
        let five = &report.results[2];
        assert_ne!(five.board_crc, five.host_crc);
        assert_eq!(five.rows_differ, vec![14]);
        assert_eq!(
            report.verdict(),
            "FAIL: seed 5 differs from the host's decode"
        );
        assert!(log.contains("seed 5: DIFFERS: board crc32"), "{log}");
        assert!(log.contains("ASCII art rows that differ: 14"), "{log}");
    }

    #[test]
    fn a_board_running_another_blob_is_an_error() {
        let (result, _) = run(
            Faults {
                other_blob: true,
                ..Faults::default()
            },
            0..8,
        );
        let e = result.expect_err("another blob");
        assert!(matches!(e, SerialError::OtherBlob { .. }), "{e:?}");
        let message = e.to_string();
        assert!(message.contains("the board runs another blob"), "{message}");
        assert!(message.contains("--blob"), "{message}");
    }

    #[test]
    fn a_silent_board_times_out() {
        let start = Instant::now();
        let (result, _) = run(
            Faults {
                silent: true,
                ..Faults::default()
            },
            0..8,
        );
        let e = result.expect_err("silence");
        assert!(matches!(e, SerialError::Timeout { .. }), "{e:?}");
        let message = e.to_string();
        assert!(
            message.contains("no answer within 200 ms waiting for the answer to t"),
            "{message}"
        );
        assert!(message.contains("--timeout-ms"), "{message}");
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn garbage_and_error_answers_are_errors() {
        let (result, _) = run(
            Faults {
                garbage: true,
                ..Faults::default()
            },
            0..2,
        );
        let e = result.expect_err("garbage");
        assert!(
            matches!(e, SerialError::Unexpected { seed: 0, .. }),
            "{e:?}"
        );
        assert!(e.to_string().contains("expected the CRC-32 line of seed 0"));

        let (result, _) = run(
            Faults {
                error: true,
                ..Faults::default()
            },
            4..6,
        );
        let e = result.expect_err("an error line");
        assert!(matches!(e, SerialError::Board { seed: 4, .. }), "{e:?}");
        assert!(
            e.to_string()
                .contains("the board answered g 4 with: error: ")
        );
    }

    #[test]
    fn a_file_that_is_not_a_blob_is_an_error() {
        let blob = b"not a blob".to_vec();
        let options = CheckOptions {
            port: "/dev/fake",
            blob_path: Path::new("notes.txt"),
            blob: &blob,
            seeds: 0..1,
            timeout: Duration::from_millis(50),
        };
        let e =
            check(io::Cursor::new(Vec::new()), &options, &mut io::sink()).expect_err("not a blob");
        assert!(matches!(e, SerialError::Blob(_)), "{e:?}");
        assert!(e.to_string().contains("notes.txt"), "{e}");
    }

    #[test]
    fn a_missing_port_lists_what_to_do() {
        let e = open("/nonexistent/ttyACM9").expect_err("no such port");
        let message = e.to_string();
        assert!(
            message.starts_with("cannot open /nonexistent/ttyACM9: "),
            "{message}"
        );
        assert!(
            message.contains("no serial ports found") || message.contains("serial ports here"),
            "{message}"
        );
    }
}
