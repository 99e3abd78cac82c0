//! Host side of the Pico firmware: [`uf2`] turns the firmware's ELF into the UF2 file the
//! Pico's boot ROM takes over USB, and [`command`] is the firmware's own console parser
//! (`../src/command.rs`, which depends on `core` only), compiled here so that it is tested
//! on the host. Checking a board's digits against the host's over its serial console is
//! `vae-export serial` (`vae-export/src/serial.rs` at the repository root).

#[path = "../../src/command.rs"]
pub mod command;
pub mod uf2;

#[cfg(test)]
mod tests {
    use super::command::{Command, ParseError, parse};

    #[test]
    fn commands_parse() {
        assert_eq!(parse("g 0"), Ok(Command::Generate { seed: 0 }));
        assert_eq!(
            parse("  G\t18446744073709551615 "),
            Ok(Command::Generate { seed: u64::MAX })
        );
        assert_eq!(parse("d 7 42"), Ok(Command::Digit { digit: 7, seed: 42 }));
        assert_eq!(parse("t 0.8"), Ok(Command::Temperature(Some(0.8))));
        assert_eq!(parse("t 0"), Ok(Command::Temperature(Some(0.0))));
        assert_eq!(parse("t"), Ok(Command::Temperature(None)));
        assert_eq!(parse("a"), Ok(Command::Auto));
        assert_eq!(parse("i"), Ok(Command::Info));
        assert_eq!(parse("?"), Ok(Command::Help));
    }

    #[test]
    fn bad_lines_are_errors() {
        assert_eq!(parse(""), Err(ParseError::Empty));
        assert_eq!(parse("   "), Err(ParseError::Empty));
        assert_eq!(parse("x 1"), Err(ParseError::Unknown));
        assert_eq!(parse("g"), Err(ParseError::Arguments));
        assert_eq!(parse("g 1 2"), Err(ParseError::Arguments));
        assert_eq!(parse("g -1"), Err(ParseError::BadSeed));
        assert_eq!(parse("g 18446744073709551616"), Err(ParseError::BadSeed));
        assert_eq!(parse("d 3"), Err(ParseError::Arguments));
        assert_eq!(parse("d 256 1"), Err(ParseError::BadDigit));
        assert_eq!(parse("d x 1"), Err(ParseError::BadDigit));
        assert_eq!(parse("t -1"), Err(ParseError::BadTemperature));
        assert_eq!(parse("t nan"), Err(ParseError::BadTemperature));
        assert_eq!(parse("t inf"), Err(ParseError::BadTemperature));
        assert_eq!(parse("? 1"), Err(ParseError::Arguments));
        assert_eq!(parse("i 1"), Err(ParseError::Arguments));
    }

    #[test]
    fn every_error_has_a_message() {
        for e in [
            ParseError::Empty,
            ParseError::Unknown,
            ParseError::BadSeed,
            ParseError::BadDigit,
            ParseError::BadTemperature,
            ParseError::Arguments,
        ] {
            assert!(!e.to_string().is_empty());
        }
    }
}
