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
mod tests {
    use super::*;

    fn sample(epoch: usize) -> EpochMetrics {
        let e = epoch as f64;
        EpochMetrics {
            epoch,
            train_loss: 160.0 / e + 0.1,
            test_recon: 130.0 / e.sqrt() + 1.0 / 3.0,
            test_kl: 20.0 + e * 0.7,
            test_loss: 150.25 / e,
            seconds: 12.5 * e,
            samples_per_s: 4_800.125 + e,
            test_loss_int8: epoch.is_multiple_of(2).then_some(150.3 / e),
        }
    }

    #[test]
    fn metrics_csv_round_trip_is_exact() {
        let rows: Vec<_> = (1..=5).map(sample).collect();
        let mut text = String::from(metrics_csv_header());
        text.push('\n');
        for r in &rows {
            text.push_str(&r.csv_row());
            text.push('\n');
        }
        let back = parse_metrics_csv(&text).expect("parse");
        assert_eq!(back, rows);
    }

    #[test]
    fn metrics_csv_row_has_header_column_order() {
        let m = EpochMetrics {
            epoch: 3,
            train_loss: 1.5,
            test_recon: 2.5,
            test_kl: 3.5,
            test_loss: 6.0,
            seconds: 7.25,
            samples_per_s: 8.0,
            test_loss_int8: Some(6.125),
        };
        assert_eq!(m.csv_row(), "3,1.5,2.5,3.5,6,7.25,8,6.125");
        let unmeasured = EpochMetrics {
            test_loss_int8: None,
            ..m
        };
        assert_eq!(unmeasured.csv_row(), "3,1.5,2.5,3.5,6,7.25,8,");
        assert_eq!(
            metrics_csv_header().split(',').count(),
            m.csv_row().split(',').count()
        );
    }

    #[test]
    fn metrics_csv_accepts_crlf_and_blank_lines() {
        let text = format!(
            "{}\r\n\r\n{}\r\n\n{}",
            metrics_csv_header(),
            sample(1).csv_row(),
            sample(2).csv_row()
        );
        assert_eq!(parse_metrics_csv(&text), Ok(vec![sample(1), sample(2)]));
    }

    #[test]
    fn metrics_csv_without_int8_column_still_reads() {
        let text = format!("{HEADER_WITHOUT_INT8}\n1,2,3,4,7,5,6\n");
        let rows = parse_metrics_csv(&text).unwrap();
        assert_eq!(rows[0].test_loss, 7.0);
        assert_eq!(rows[0].test_loss_int8, None);
        let mixed = format!("{HEADER_WITHOUT_INT8}\n1,2,3,4,7,5,6,8\n");
        assert!(matches!(
            parse_metrics_csv(&mixed),
            Err(MetricsError::FieldCount { line: 2, found: 8 })
        ));
    }

    #[test]
    fn metrics_csv_header_only_is_empty_list() {
        assert_eq!(parse_metrics_csv(metrics_csv_header()), Ok(vec![]));
    }

    #[test]
    fn metrics_csv_errors_say_where() {
        assert_eq!(parse_metrics_csv(" \n"), Err(MetricsError::MissingHeader));
        assert!(matches!(
            parse_metrics_csv("epoch,loss\n1,2"),
            Err(MetricsError::BadHeader { .. })
        ));
        let short = format!("{}\n{}\n1,2,3", metrics_csv_header(), sample(1).csv_row());
        assert_eq!(
            parse_metrics_csv(&short),
            Err(MetricsError::FieldCount { line: 3, found: 3 })
        );
        let bad = format!("{}\n2,1.0,x,3,4,5,6,", metrics_csv_header());
        let err = parse_metrics_csv(&bad).unwrap_err();
        assert_eq!(
            err,
            MetricsError::BadNumber {
                line: 2,
                column: "test_recon",
                value: "x".into()
            }
        );
        assert!(err.to_string().contains("line 2"));
        let neg_epoch = format!("{}\n-1,1,2,3,4,5,6,", metrics_csv_header());
        assert!(matches!(
            parse_metrics_csv(&neg_epoch),
            Err(MetricsError::BadNumber {
                column: "epoch",
                ..
            })
        ));
    }

    #[test]
    fn metrics_serde_json_round_trip() {
        let m = sample(4);
        let json = serde_json::to_string(&m).expect("serialize");
        assert!(json.contains("\"test_kl\""));
        let back: EpochMetrics = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, m);
    }
}
