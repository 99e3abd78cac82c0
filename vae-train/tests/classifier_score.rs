//! The sample-quality statistics against values computed by hand.

use vae_train::classifier::{ClassifierError, QualityScore};

const LN10: f64 = std::f64::consts::LN_10;

fn one_hot(d: usize) -> [f64; 10] {
    let mut p = [0.0; 10];
    p[d] = 1.0;
    p
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

#[test]
fn one_hot_spread_over_all_digits_scores_ten() {
    // Three confident predictions per digit.
    let probs: Vec<[f64; 10]> = (0..30).map(|i| one_hot(i % 10)).collect();
    let s = QualityScore::from_probabilities(&probs, None).unwrap();
    assert_eq!(s.count, 30);
    assert!(close(s.inception_score, 10.0), "{}", s.inception_score);
    assert!(close(s.class_entropy, LN10), "{}", s.class_entropy);
    assert!(close(s.confident_share, 1.0));
    assert_eq!(s.per_class_counts, [3; 10]);
    assert_eq!(s.agreement, None);
    assert_eq!(s.per_digit_agreement, None);
}

#[test]
fn all_the_same_digit_scores_one() {
    let probs = vec![one_hot(7); 12];
    let s = QualityScore::from_probabilities(&probs, None).unwrap();
    assert!(close(s.inception_score, 1.0), "{}", s.inception_score);
    assert!(close(s.class_entropy, 0.0), "{}", s.class_entropy);
    assert!(close(s.confident_share, 1.0));
    let mut counts = [0; 10];
    counts[7] = 12;
    assert_eq!(s.per_class_counts, counts);
}

#[test]
fn uniform_predictions_are_varied_but_not_confident() {
    let probs = vec![[0.1; 10]; 5];
    let s = QualityScore::from_probabilities(&probs, None).unwrap();
    assert!(close(s.inception_score, 1.0), "{}", s.inception_score);
    assert!(close(s.class_entropy, LN10), "{}", s.class_entropy);
    assert!(close(s.confident_share, 0.0));
    // Ties go to the lowest digit.
    let mut counts = [0; 10];
    counts[0] = 5;
    assert_eq!(s.per_class_counts, counts);
}

#[test]
fn two_image_example_matches_hand_computation() {
    // p1 = (0.5, 0.5, 0...), p2 = (1, 0, ...): p(y) = (0.75, 0.25).
    // KL1 = 0.5 ln(0.5/0.75) + 0.5 ln(0.5/0.25) = 0.5 ln(4/3); KL2 = ln(1/0.75) = ln(4/3).
    // IS = exp(0.75 ln(4/3)) = (4/3)^0.75; H = -(0.75 ln 0.75 + 0.25 ln 0.25).
    let mut p1 = [0.0; 10];
    p1[0] = 0.5;
    p1[1] = 0.5;
    let probs = [p1, one_hot(0)];
    let s = QualityScore::from_probabilities(&probs, None).unwrap();
    assert!(
        close(s.inception_score, (4.0f64 / 3.0).powf(0.75)),
        "{}",
        s.inception_score
    );
    let h = -(0.75 * 0.75f64.ln() + 0.25 * 0.25f64.ln());
    assert!(close(s.class_entropy, h), "{}", s.class_entropy);
    assert!(close(s.confident_share, 0.5));
    let mut counts = [0; 10];
    counts[0] = 2;
    assert_eq!(s.per_class_counts, counts);
}

#[test]
fn confidence_threshold_is_inclusive_at_point_nine() {
    let mut at = [0.0; 10];
    at[3] = 0.9;
    at[4] = 0.1;
    let mut below = [0.0; 10];
    below[3] = 0.89;
    below[4] = 0.11;
    let s = QualityScore::from_probabilities(&[at, below], None).unwrap();
    assert!(close(s.confident_share, 0.5));
}

#[test]
fn agreement_counts_matches_per_requested_digit() {
    // Requested 1,1,1,2: predicted 1,1,5,2 -> overall 3/4, digit 1: 2/3, digit 2: 1.
    let probs = [one_hot(1), one_hot(1), one_hot(5), one_hot(2)];
    let s = QualityScore::from_probabilities(&probs, Some(&[1, 1, 1, 2])).unwrap();
    assert!(close(s.agreement.unwrap(), 0.75));
    let per = s.per_digit_agreement.unwrap();
    assert!(close(per[1], 2.0 / 3.0));
    assert!(close(per[2], 1.0));
    for d in [0, 3, 4, 5, 6, 7, 8, 9] {
        assert!(per[d].is_nan(), "digit {d} never requested: {}", per[d]);
    }
}

#[test]
fn bad_inputs_are_errors() {
    assert!(matches!(
        QualityScore::from_probabilities(&[], None),
        Err(ClassifierError::NoImages)
    ));
    assert!(matches!(
        QualityScore::from_probabilities(&[one_hot(0), [0.2; 10]], None),
        Err(ClassifierError::InvalidProbabilities { row: 1 })
    ));
    let mut nan = one_hot(0);
    nan[1] = f64::NAN;
    assert!(matches!(
        QualityScore::from_probabilities(&[nan], None),
        Err(ClassifierError::InvalidProbabilities { row: 0 })
    ));
    assert!(matches!(
        QualityScore::from_probabilities(&[one_hot(0)], Some(&[0, 1])),
        Err(ClassifierError::RequestedLength {
            images: 1,
            requested: 2
        })
    ));
    assert!(matches!(
        QualityScore::from_probabilities(&[one_hot(0), one_hot(1)], Some(&[0, 10])),
        Err(ClassifierError::InvalidDigit {
            index: 1,
            value: 10
        })
    ));
}
