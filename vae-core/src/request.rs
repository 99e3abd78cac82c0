//! [`Request`]: what to draw — a seed, optionally a digit, and a temperature.

use crate::error::Error;

/// The temperature of a request that names a digit and sets none: the spread of the
/// prior is halved around its centre.
///
/// At temperature 1 a conditional model draws the asked digit only about 85% of the time
/// (a held-out classifier's verdict on the default conditional model); at 0.5, 99.4%,
/// and at least 98% for every digit. Unconditional requests default to 1 (the prior
/// itself, the most varied digits).
pub const DIGIT_TEMPERATURE: f32 = 0.5;

/// The temperature of a request without a digit that sets none: the prior as trained.
pub const DEFAULT_TEMPERATURE: f32 = 1.0;

/// What to draw: the seed of the latent, an optional digit (class-conditional blobs
/// only) and an optional temperature.
///
/// Build it with [`Request::new`] and the builder methods, or as a plain struct:
///
/// ```
/// use vae_core::Request;
///
/// let any = Request::new(42);                        // a digit from the prior, T = 1
/// let seven = Request::new(42).digit(7);             // a 7, T = 0.5 (DIGIT_TEMPERATURE)
/// let calm = Request::new(42).temperature(0.8);      // closer to the prior's centre
/// let same = Request { seed: 42, digit: Some(7), ..Request::default() };
/// assert_eq!(seven, same);
/// assert_eq!(seven.resolved_temperature(), 0.5);
/// assert_eq!(any.resolved_temperature(), 1.0);
/// # let _ = calm;
/// ```
///
/// The same seed gives the same latent "style" for every digit and the same bytes on
/// every target.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Request {
    /// Seed of the latent's random draw ([`Rng::new`](crate::Rng::new)).
    pub seed: u64,
    /// The digit to draw (conditional blobs only; `None` for an unconditional blob).
    pub digit: Option<u8>,
    /// Scale of the latent's spread around the prior's centre, finite and `>= 0`;
    /// `None` picks [`DIGIT_TEMPERATURE`] when a digit is asked for, else
    /// [`DEFAULT_TEMPERATURE`].
    pub temperature: Option<f32>,
}

impl Request {
    /// A request for `seed`: no digit, the default temperature.
    pub const fn new(seed: u64) -> Self {
        Request {
            seed,
            digit: None,
            temperature: None,
        }
    }

    /// The same request for `digit` (a class-conditional blob draws that digit).
    #[must_use]
    pub const fn digit(self, digit: u8) -> Self {
        Request {
            digit: Some(digit),
            ..self
        }
    }

    /// The same request with an explicit `temperature` (checked when it is used:
    /// [`Error::InvalidTemperature`] unless finite and `>= 0`).
    #[must_use]
    pub const fn temperature(self, temperature: f32) -> Self {
        Request {
            temperature: Some(temperature),
            ..self
        }
    }

    /// The temperature this request decodes with: its own, or the default for its kind
    /// ([`DIGIT_TEMPERATURE`] with a digit, [`DEFAULT_TEMPERATURE`] without).
    pub const fn resolved_temperature(&self) -> f32 {
        match (self.temperature, self.digit) {
            (Some(t), _) => t,
            (None, Some(_)) => DIGIT_TEMPERATURE,
            (None, None) => DEFAULT_TEMPERATURE,
        }
    }

    /// [`resolved_temperature`](Self::resolved_temperature), checked:
    /// [`Error::InvalidTemperature`] unless finite and `>= 0`.
    pub(crate) fn checked_temperature(&self) -> Result<f32, Error> {
        let t = self.resolved_temperature();
        if t.is_finite() && t >= 0.0 {
            Ok(t)
        } else {
            Err(Error::InvalidTemperature)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temperature_defaults_follow_the_request_kind() {
        assert_eq!(Request::new(1).resolved_temperature(), DEFAULT_TEMPERATURE);
        assert_eq!(
            Request::new(1).digit(3).resolved_temperature(),
            DIGIT_TEMPERATURE
        );
        let explicit = Request::new(1).digit(3).temperature(1.0);
        assert_eq!(explicit.resolved_temperature(), 1.0);
        // Order of the builder calls does not matter.
        assert_eq!(Request::new(1).temperature(1.0).digit(3), explicit);
        assert_eq!(Request::default(), Request::new(0));
    }

    #[test]
    fn bad_temperatures_are_errors() {
        for t in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.5] {
            let request = Request::new(1).temperature(t);
            assert_eq!(
                request.checked_temperature(),
                Err(Error::InvalidTemperature)
            );
        }
        assert_eq!(
            Request::new(1).temperature(0.0).checked_temperature(),
            Ok(0.0)
        );
    }
}
