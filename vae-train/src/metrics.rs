//! Per-epoch training metrics and their `metrics.csv` form.
//!
//! The trainer appends one [`EpochMetrics`] row per epoch to `metrics.csv`
//! (header [`metrics_csv_header`], rows [`EpochMetrics::csv_row`]);
//! [`parse_metrics_csv`] reads the file back, e.g. to redraw the loss plot.
//! Numbers are written with Rust's shortest round-trip formatting, so a
//! write/parse cycle gives back bit-identical `f64`s.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The metrics of one training epoch. Losses are per image (averaged over the
/// images of the epoch or test set); `test_loss` is the negative ELBO,
/// `test_recon + test_kl`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Epoch number, counting from 1.
    pub epoch: usize,
    /// Mean training loss (negative ELBO) over the epoch.
    pub train_loss: f64,
    /// Mean reconstruction term on the test set.
    pub test_recon: f64,
    /// Mean KL divergence term on the test set.
    pub test_kl: f64,
    /// Mean test loss (negative ELBO) = `test_recon + test_kl`.
    pub test_loss: f64,
    /// Wall-clock seconds the epoch took.
    pub seconds: f64,
    /// Training throughput in images per second.
    pub samples_per_s: f64,
    /// Test loss with the decoder quantized to int8 exactly as `vae-export` does it and run
    /// through vae-core (same `z` samples as `test_loss`); `None` when not measured (an
    /// empty field in `metrics.csv`).
    #[serde(default)]
    pub test_loss_int8: Option<f64>,
}

/// Number of columns in a `metrics.csv` row.
const COLUMNS: usize = 8;

/// The header line of `metrics.csv` (without a line break).
pub fn metrics_csv_header() -> &'static str {
    "epoch,train_loss,test_recon,test_kl,test_loss,seconds,samples_per_s,test_loss_int8"
}

/// The header of files written before the `test_loss_int8` column (still read).
const HEADER_WITHOUT_INT8: &str =
    "epoch,train_loss,test_recon,test_kl,test_loss,seconds,samples_per_s";

impl EpochMetrics {
    /// This epoch as one `metrics.csv` line (without a line break), in the
    /// column order of [`metrics_csv_header`].
    pub fn csv_row(&self) -> String {
        let int8 = self
            .test_loss_int8
            .map(|v| v.to_string())
            .unwrap_or_default();
        format!(
            "{},{},{},{},{},{},{},{}",
            self.epoch,
            self.train_loss,
            self.test_recon,
            self.test_kl,
            self.test_loss,
            self.seconds,
            self.samples_per_s,
            int8
        )
    }
}

/// Why a `metrics.csv` text could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetricsError {
    /// The text has no header line at all.
    MissingHeader,
    /// The first line is not [`metrics_csv_header`].
    BadHeader {
        /// The header line found.
        found: String,
    },
    /// A row has the wrong number of comma-separated fields.
    FieldCount {
        /// 1-based line number in the text.
        line: usize,
        /// Number of fields found.
        found: usize,
    },
    /// A field is not a number of the expected kind.
    BadNumber {
        /// 1-based line number in the text.
        line: usize,
        /// Column name from the header.
        column: &'static str,
        /// The text of the field.
        value: String,
    },
}

impl fmt::Display for MetricsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingHeader => write!(
                f,
                "metrics.csv is empty: expected the header line `{}`",
                metrics_csv_header()
            ),
            Self::BadHeader { found } => write!(
                f,
                "metrics.csv header is `{found}`, expected `{}`: was the file written by this \
                 version of vae-train?",
                metrics_csv_header()
            ),
            Self::FieldCount { line, found } => write!(
                f,
                "metrics.csv line {line} has {found} fields, expected as many as the header: the \
                 file may be truncated or edited by hand"
            ),
            Self::BadNumber {
                line,
                column,
                value,
            } => write!(
                f,
                "metrics.csv line {line}, column `{column}`: `{value}` is not a valid number"
            ),
        }
    }
}

impl std::error::Error for MetricsError {}

/// Parses the text of a `metrics.csv` file: the header line, then one row per
/// epoch. Blank lines (and a trailing line break, and `\r\n` line ends) are
/// ignored; anything else that is not a well-formed row is an error.
pub fn parse_metrics_csv(text: &str) -> Result<Vec<EpochMetrics>, MetricsError> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty());
    let (_, header) = lines.next().ok_or(MetricsError::MissingHeader)?;
    let columns = if header == metrics_csv_header() {
        COLUMNS
    } else if header == HEADER_WITHOUT_INT8 {
        COLUMNS - 1
    } else {
        return Err(MetricsError::BadHeader {
            found: header.to_owned(),
        });
    };
    let names: Vec<&'static str> = metrics_csv_header().split(',').collect();
    lines
        .map(|(line, row)| {
            let fields: Vec<&str> = row.split(',').map(str::trim).collect();
            if fields.len() != columns {
                return Err(MetricsError::FieldCount {
                    line,
                    found: fields.len(),
                });
            }
            let bad = |col: usize| MetricsError::BadNumber {
                line,
                column: names[col],
                value: fields[col].to_owned(),
            };
            let float = |col: usize| fields[col].parse::<f64>().map_err(|_| bad(col));
            Ok(EpochMetrics {
                epoch: fields[0].parse::<usize>().map_err(|_| bad(0))?,
                train_loss: float(1)?,
                test_recon: float(2)?,
                test_kl: float(3)?,
                test_loss: float(4)?,
                seconds: float(5)?,
                samples_per_s: float(6)?,
                test_loss_int8: match fields.get(7) {
                    None | Some(&"") => None,
                    Some(_) => Some(float(7)?),
                },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
