use std::vec::Vec;

use super::*;

#[test]
fn mse_clip_keeps_the_maximum_of_uniform_values() {
    // Evenly spread values: clipping only adds error.
    let values: Vec<f64> = (0..=1000).map(|i| f64::from(i) / 100.0).collect();
    assert_eq!(mse_clip(&values, 255.0), 10.0);
}

#[test]
fn mse_clip_cuts_a_lone_outlier() {
    // A bulk in [0, 1) and one value at 50: spending the codes on the bulk wins.
    let mut values: Vec<f64> = (0..10_000).map(|i| f64::from(i) / 10_000.0).collect();
    values.push(50.0);
    let clip = mse_clip(&values, 127.0);
    assert!((50.0 * 64.0 / 256.0..50.0).contains(&clip), "clip {clip}");
    let sse = |c: f64| quantization_sse(&values, c, 127.0);
    assert!(sse(clip) < sse(50.0));
    // It is the best point of its grid.
    for k in 64..=256 {
        assert!(sse(clip) <= sse(50.0 * f64::from(k) / 256.0));
    }
}

#[test]
fn clip_rules() {
    let mut values = std::vec![0.5, 3.0, 1.0, 2.0, 0.0];
    assert_eq!(Clipping::Quantile(1.0).clip(&mut values, 127.0), 3.0);
    assert_eq!(Clipping::Quantile(0.5).clip(&mut values, 127.0), 1.0);
    assert_eq!(Clipping::Mse.clip(&mut [], 127.0), 0.0);
    assert_eq!(Clipping::Mse.clip(&mut [0.0, 0.0], 127.0), 0.0);
    assert_eq!(Clipping::default(), Clipping::Mse);
}
