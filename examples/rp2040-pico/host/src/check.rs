//! `pico-check --port PORT [--blob FILE] [--seeds A..B] [--timeout-ms MS]`: asks a Pico
//! running this firmware for digits over its USB serial port and compares each with the
//! host's decode of the same blob, so "the board reproduces the host bit for bit", or it
//! says which seed differs (and which rows of the ASCII art).
//!
//! Exit status: 0 all seeds equal, 1 a seed differs, 2 no check was possible (a usage
//! error, a port that cannot be opened, a board running another blob, a timeout).
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serialport::SerialPort;
use vae_rp2040_pico_host::console::{self, Banner};

const USAGE: &str = "usage: pico-check --port PORT [--blob FILE] [--seeds A..B] [--timeout-ms MS]
  --port        the board's serial port: /dev/ttyACM0 (Linux), /dev/cu.usbmodem* (macOS), COM3 (Windows)
  --blob        the blob the firmware embeds (default: examples/models/decoder.bin)
  --seeds       A..B (B excluded), A..=B or N (default 0..8)
  --timeout-ms  how long to wait for each answer (default 10000)";

struct Options {
    port: String,
    blob: PathBuf,
    seeds: std::ops::Range<u64>,
    timeout: Duration,
}

fn options() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mut port = None;
    let mut blob = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../models/decoder.bin"
    ));
    let mut seeds = 0..8;
    let mut timeout = Duration::from_secs(10);
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            return Err(String::new());
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--port" => port = Some(value),
            "--blob" => blob = PathBuf::from(value),
            "--seeds" => {
                seeds = console::seeds(&value)
                    .ok_or_else(|| format!("--seeds {value}: use A..B, A..=B or N"))?;
            }
            "--timeout-ms" => {
                let ms: u64 = value
                    .parse()
                    .map_err(|_| format!("--timeout-ms {value}: a whole number of ms"))?;
                timeout = Duration::from_millis(ms);
            }
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    let port = port.ok_or("--port is needed")?;
    Ok(Options {
        port,
        blob,
        seeds,
        timeout,
    })
}

/// Why a check stopped before its verdict (exit status 2).
struct Stop(String);

impl From<String> for Stop {
    fn from(s: String) -> Self {
        Stop(s)
    }
}

/// The board's console, a line at a time.
struct Board {
    port: Box<dyn SerialPort>,
    name: String,
    pending: Vec<u8>,
    timeout: Duration,
    /// The last lines read, for error messages.
    recent: Vec<String>,
}

impl Board {
    fn send(&mut self, command: &str) -> Result<(), Stop> {
        self.port
            .write_all(format!("{command}\r\n").as_bytes())
            .and_then(|()| self.port.flush())
            .map_err(|e| Stop(format!("{}: cannot write: {e}", self.name)))
    }

    /// The next line (without its ending), or a timeout error naming `what`.
    fn line(&mut self, what: &str) -> Result<String, Stop> {
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
                let last = if self.recent.is_empty() {
                    "nothing at all".to_string()
                } else {
                    format!("last lines:\n  {}", self.recent.join("\n  "))
                };
                return Err(Stop(format!(
                    "{}: no answer within {} ms waiting for {what}: is the Pico running this \
                     firmware (the vae-core console)? Read {last}",
                    self.name,
                    self.timeout.as_millis()
                )));
            }
            let mut buf = [0u8; 256];
            match self.port.read(&mut buf) {
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Stop(format!("{}: cannot read: {e}", self.name))),
            }
        }
    }
}

fn open(name: &str, timeout: Duration) -> Result<Board, Stop> {
    let port = serialport::new(name, 115_200)
        .timeout(Duration::from_millis(50))
        .open()
        .map_err(|e| {
            let ports = serialport::available_ports()
                .map(|ports| ports.into_iter().map(|p| p.port_name).collect::<Vec<_>>())
                .unwrap_or_default();
            let here = if ports.is_empty() {
                "no serial ports found: is the Pico plugged in and running the firmware (not in \
                 BOOTSEL mode)?"
                    .to_string()
            } else {
                format!("serial ports here: {}", ports.join(", "))
            };
            Stop(format!("cannot open {name}: {e}; {here}"))
        })?;
    let mut board = Board {
        port,
        name: name.to_string(),
        pending: Vec::new(),
        timeout,
        recent: Vec::new(),
    };
    // The console talks once DTR is up (terminals raise it on open). A pseudo-terminal
    // (emu/pty-bridge.py) has no DTR line: its console is already open.
    let _ = board.port.write_data_terminal_ready(true);
    Ok(board)
}

fn check(options: &Options) -> Result<Vec<u64>, Stop> {
    let blob = std::fs::read(&options.blob)
        .map_err(|e| Stop(format!("cannot read {}: {e}", options.blob.display())))?;
    let engine = vae_core::host::open(&blob).map_err(|e| {
        Stop(format!(
            "{}: not a blob vae-core reads: {e}",
            options.blob.display()
        ))
    })?;
    let want = Banner {
        bytes: blob.len(),
        crc: console::blob_crc(&blob).unwrap_or(0),
    };
    println!(
        "host: {} ({} bytes, crc32 {:08x})",
        options.blob.display(),
        want.bytes,
        want.crc
    );

    let mut board = open(&options.port, options.timeout)?;
    // An empty line ends whatever was typed before; `t` (back to the default temperature,
    // as the host decodes) also stops the digit a second; `i` prints the banner again.
    board.send("")?;
    board.send("t")?;
    while !board.line("the answer to t")?.starts_with("temperature") {}
    board.send("i")?;
    let got = loop {
        let line = board.line("the banner (answer to i)")?;
        if line.starts_with("vae-core on ") {
            println!("board: {line}");
        }
        if let Some(banner) = console::banner(&line) {
            println!("board: {line}");
            break banner;
        }
    };
    if got != want {
        return Err(Stop(format!(
            "the board runs another blob ({} bytes, crc32 {:08x}) than {} ({} bytes, crc32 \
             {:08x}): flash a firmware built with it (VAE_BLOB=FILE cargo build --release), or \
             pass the board's blob with --blob",
            got.bytes,
            got.crc,
            options.blob.display(),
            want.bytes,
            want.crc
        )));
    }

    let mut differ = Vec::new();
    for seed in options.seeds.clone() {
        let host = console::host_digit(&engine, seed)
            .map_err(|e| Stop(format!("host decode of seed {seed}: {e}")))?;
        board.send(&format!("g {seed}"))?;
        let what = format!("the digit of seed {seed}");
        // The heading `seed S:`, 28 rows of art, then the closing line.
        loop {
            let line = board.line(&what)?;
            if line.starts_with("error: ") {
                return Err(Stop(format!("the board answered g {seed} with: {line}")));
            }
            if console::heading(&line).is_some_and(|(s, _)| s == seed) {
                break;
            }
        }
        let mut rows = Vec::with_capacity(28);
        for _ in 0..28 {
            rows.push(board.line(&what)?);
        }
        let closing = board.line(&what)?;
        let shown = console::digit_line(&closing)
            .filter(|d| d.seed == seed)
            .ok_or_else(|| {
                Stop(format!(
                    "expected the CRC-32 line of seed {seed}, read: {closing}"
                ))
            })?;
        if shown.crc == host.crc && rows == host.rows {
            println!(
                "seed {seed}: crc32 {:08x} = host, decoded on the board in {} us",
                shown.crc, shown.decode_us
            );
        } else {
            let rows_differ: Vec<String> = (0..28)
                .filter(|&r| rows.get(r) != host.rows.get(r))
                .map(|r| r.to_string())
                .collect();
            println!(
                "seed {seed}: DIFFERS: board crc32 {:08x}, host {:08x}; ASCII art rows that differ: {}",
                shown.crc,
                host.crc,
                if rows_differ.is_empty() {
                    "none (the difference is below the art's 10 grey levels)".to_string()
                } else {
                    rows_differ.join(", ")
                }
            );
            differ.push(seed);
        }
    }
    Ok(differ)
}

fn main() -> ExitCode {
    let options = match options() {
        Ok(options) => options,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("error: {message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match check(&options) {
        Ok(differ) if differ.is_empty() => {
            let n = options.seeds.end - options.seeds.start;
            println!(
                "PASS: the board reproduces the host bit for bit for seeds {}..{} ({n} digit{})",
                options.seeds.start,
                options.seeds.end,
                if n == 1 { "" } else { "s" }
            );
            ExitCode::SUCCESS
        }
        Ok(differ) => {
            let list: Vec<String> = differ.iter().map(u64::to_string).collect();
            println!(
                "FAIL: seeds {} differ from the host's decode",
                list.join(", ")
            );
            ExitCode::from(1)
        }
        Err(Stop(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}
