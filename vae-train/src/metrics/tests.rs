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
