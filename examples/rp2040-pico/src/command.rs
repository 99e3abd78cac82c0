//! The USB console's line commands, parsed without any hardware: this file has no
//! dependencies beyond `core`, so the host test crate in `host-tests/` compiles it too.

/// One console command.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Command {
    /// `g SEED`: generate the digit of `SEED` (any digit for a conditional blob's prior).
    Generate { seed: u64 },
    /// `d DIGIT SEED`: generate the asked digit (conditional blobs only).
    Digit { digit: u8, seed: u64 },
    /// `t TEMPERATURE`: the temperature of the next digits; `t` alone: back to the
    /// default of each request kind.
    Temperature(Option<f32>),
    /// `a`: resume the digit every second (any other command stops it).
    Auto,
    /// `i`: the banner again (blob size, CRC-32, shapes), e.g. for a host check tool
    /// that opened the port after the board printed it.
    Info,
    /// `?` or `h`: list the commands.
    Help,
}

/// Why a line is not a command; `Display` gives the one-line message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// An empty line.
    Empty,
    /// The first word is not a command.
    Unknown,
    /// A seed that is not a decimal `u64`.
    BadSeed,
    /// A digit that is not a decimal number below 256.
    BadDigit,
    /// A temperature that is not a finite number `>= 0`.
    BadTemperature,
    /// Too few or too many words for the command.
    Arguments,
    /// A line longer than the console takes, or not UTF-8.
    Unreadable,
}

impl core::fmt::Display for ParseError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Empty => "empty line",
            Self::Unknown => "unknown command",
            Self::BadSeed => "the seed must be a whole number 0..=18446744073709551615",
            Self::BadDigit => "the digit must be a whole number 0..=255",
            Self::BadTemperature => "the temperature must be a finite number >= 0",
            Self::Arguments => "wrong number of arguments",
            Self::Unreadable => "line too long or not text",
        })
    }
}

/// The help text, one command a line (no line endings).
pub const HELP: [&str; 6] = [
    "g SEED        generate the digit of SEED (e.g. g 0)",
    "d DIGIT SEED  generate DIGIT 0..9 from SEED (conditional blobs)",
    "t TEMPERATURE temperature of the next digits (t alone: the default)",
    "a             a digit every second again (any command stops it)",
    "i             the banner again (blob CRC-32 and shapes)",
    "?             this help",
];

/// Parses one line (without its line ending; spaces and tabs separate words).
pub fn parse(line: &str) -> Result<Command, ParseError> {
    let mut words = line.split_ascii_whitespace();
    let name = words.next().ok_or(ParseError::Empty)?;
    let mut next = || words.next();
    let command = match name {
        "g" | "G" => Command::Generate {
            seed: seed(next().ok_or(ParseError::Arguments)?)?,
        },
        "d" | "D" => {
            let digit = next().ok_or(ParseError::Arguments)?;
            let digit = digit.parse().map_err(|_| ParseError::BadDigit)?;
            let seed = seed(next().ok_or(ParseError::Arguments)?)?;
            Command::Digit { digit, seed }
        }
        "t" | "T" => match next() {
            None => Command::Temperature(None),
            Some(word) => match word.parse::<f32>() {
                Ok(t) if t.is_finite() && t >= 0.0 => Command::Temperature(Some(t)),
                _ => return Err(ParseError::BadTemperature),
            },
        },
        "a" | "A" => Command::Auto,
        "i" | "I" => Command::Info,
        "?" | "h" | "H" | "help" => Command::Help,
        _ => return Err(ParseError::Unknown),
    };
    match next() {
        None => Ok(command),
        Some(_) => Err(ParseError::Arguments),
    }
}

fn seed(word: &str) -> Result<u64, ParseError> {
    word.parse().map_err(|_| ParseError::BadSeed)
}
