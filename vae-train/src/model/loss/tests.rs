use super::*;
use crate::backend;
use crate::model::tensor::{tensor2, to_host};

#[test]
fn bce_matches_the_textbook_formula() {
    let device = backend::device();
    let logits = [-3.0f32, -0.5, 0.0, 0.25, 2.0, 4.5];
    let targets = [0.0f32, 1.0, 0.5, 0.2, 1.0, 0.9];
    let got = to_host(bce_with_logits_sum(
        tensor2(logits.to_vec(), 2, 3, &device),
        tensor2(targets.to_vec(), 2, 3, &device),
    ));
    for row in 0..2 {
        let want: f64 = (0..3)
            .map(|i| {
                bce_with_logits_f64(
                    f64::from(logits[row * 3 + i]),
                    f64::from(targets[row * 3 + i]),
                )
            })
            .sum();
        assert!(
            (f64::from(got[row]) - want).abs() < 1e-5,
            "row {row}: {} vs {want}",
            got[row]
        );
    }
    // Hand value: x = 0, any t: ln 2 per pixel.
    let zero = to_host(bce_with_logits_sum(
        tensor2(vec![0.0; 4], 1, 4, &device),
        tensor2(vec![0.3; 4], 1, 4, &device),
    ));
    assert!((f64::from(zero[0]) - 4.0 * 2f64.ln()).abs() < 1e-6);
}

#[test]
fn bce_is_finite_for_huge_logits() {
    let device = backend::device();
    let got = to_host(bce_with_logits_sum(
        tensor2(vec![1000.0, -1000.0], 1, 2, &device),
        tensor2(vec![0.0, 1.0], 1, 2, &device),
    ));
    // max(x,0) - x t + log1p(exp(-|x|)) = 1000 + 1000 exactly.
    assert!((got[0] - 2000.0).abs() < 1e-3, "{got:?}");
}

#[test]
fn kl_matches_hand_values() {
    let device = backend::device();
    // mu = 0, logvar = 0 -> 0.  mu = (1, 2), logvar = (0, ln 2):
    // -0.5 * [(1 + 0 - 1 - 1) + (1 + ln2 - 4 - 2)] = -0.5 * (-1 + ln2 - 5) = 3 - ln2 / 2
    let mu = tensor2(vec![0.0, 0.0, 1.0, 2.0], 2, 2, &device);
    let lv = tensor2(vec![0.0, 0.0, 0.0, 2f32.ln()], 2, 2, &device);
    let got = to_host(kl_divergence(mu, lv));
    assert!(got[0].abs() < 1e-7);
    let want = 3.0 - 2f64.ln() / 2.0;
    assert!((f64::from(got[1]) - want).abs() < 1e-6, "{got:?}");
    assert!((kl_f64(&[1.0, 2.0], &[0.0, 2f64.ln()]) - want).abs() < 1e-12);
}

#[test]
fn vae_loss_mean_is_batch_mean_of_sum() {
    let device = backend::device();
    let logits = vec![0.5, -1.0, 2.0, 0.0];
    let targets = vec![1.0, 0.0, 0.5, 0.25];
    let mu = vec![0.3, -0.2];
    let lv = vec![-0.5, 0.1];
    let terms = vae_loss(
        tensor2(logits.clone(), 2, 2, &device),
        tensor2(targets.clone(), 2, 2, &device),
        tensor2(mu.clone(), 2, 1, &device),
        tensor2(lv.clone(), 2, 1, &device),
    );
    let f = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<_>>();
    let (l, t, m, v) = (f(&logits), f(&targets), f(&mu), f(&lv));
    let per: Vec<f64> = (0..2)
        .map(|r| {
            bce_with_logits_f64(l[2 * r], t[2 * r])
                + bce_with_logits_f64(l[2 * r + 1], t[2 * r + 1])
                + kl_f64(&m[r..r + 1], &v[r..r + 1])
        })
        .collect();
    let want = (per[0] + per[1]) / 2.0;
    let got = to_host(terms.mean_loss());
    assert_eq!(got.len(), 1);
    assert!((f64::from(got[0]) - want).abs() < 1e-5, "{got:?} vs {want}");
}

#[test]
fn fast_exp_and_ln_1p_are_accurate() {
    let mut worst = (0.0f64, 0.0f64);
    for i in 0..=200_000 {
        let x = -(i as f32) * 1e-4 * 8.0; // 0 .. -160
        let got = f64::from(exp_nonpositive(x));
        let want = f64::from(x).exp();
        let rel = if want > 1e-30 {
            (got - want).abs() / want
        } else {
            got.abs()
        };
        worst.0 = worst.0.max(rel);
        let e = (i as f32) / 200_000.0; // 0 .. 1
        let got = f64::from(ln_1p_unit(e));
        let want = f64::from(e).ln_1p();
        let rel = if want > 0.0 {
            (got - want).abs() / want
        } else {
            got.abs()
        };
        worst.1 = worst.1.max(rel);
    }
    assert!(worst.0 < 3e-7, "exp relative error {}", worst.0);
    assert!(worst.1 < 3e-7, "ln_1p relative error {}", worst.1);
    assert_eq!(exp_nonpositive(0.0), 1.0);
    assert_eq!(ln_1p_unit(0.0), 0.0);
    assert!((ln_1p_unit(1e-12) - 1e-12).abs() < 1e-18);
}

#[test]
fn host_bce_and_gradient_match_f64() {
    let logits = [-90.0f32, -5.0, -0.3, 0.0, 0.7, 3.0, 20.0, 95.0];
    let targets = [0.0f32, 0.1, 1.0, 0.5, 0.25, 1.0, 0.0, 0.6];
    let mut grad = [0.0f32; 8];
    let sums = bce_with_logits_host(&logits, &targets, 2, &mut grad);
    for r in 0..2 {
        let want: f64 = (0..4)
            .map(|i| {
                let (x, t) = (f64::from(logits[r * 4 + i]), f64::from(targets[r * 4 + i]));
                // Stable textbook form in f64.
                x.max(0.0) - x * t + (-x.abs()).exp().ln_1p()
            })
            .sum();
        assert!(
            (f64::from(sums[r]) - want).abs() < 1e-5 * want.max(1.0),
            "row {r}: {} vs {want}",
            sums[r]
        );
    }
    for i in 0..8 {
        let x = f64::from(logits[i]);
        let want = 1.0 / (1.0 + (-x).exp()) - f64::from(targets[i]);
        assert!((f64::from(grad[i]) - want).abs() < 1e-6, "grad {i}");
    }
}

#[test]
fn training_reconstruction_has_the_gradient_of_the_tensor_bce() {
    let device = backend::train_device();
    let mut rng = crate::rng::Rng::new(3);
    let (n, d) = (3, 50);
    let logits: Vec<f32> = rng.normals_f32(n * d).iter().map(|v| v * 4.0).collect();
    let targets = rng.uniform_f32(n * d, 0.0, 1.0);
    let x1 = tensor2(logits.clone(), n, d, &device).require_grad();
    let reference = bce_with_logits_sum(x1.clone(), tensor2(targets.clone(), n, d, &device));
    let ref_values = to_host(reference.clone());
    let g1 = to_host(x1.grad(&reference.sum().backward()).unwrap());
    let x2 = tensor2(logits, n, d, &device).require_grad();
    let (objective, values) = recon_for_training(x2.clone(), &targets);
    let g2 = to_host(x2.grad(&objective.backward()).unwrap());
    for (a, b) in ref_values.iter().zip(&values) {
        assert!((a - b).abs() < 1e-4 * a.abs().max(1.0), "{a} vs {b}");
    }
    for (a, b) in g1.iter().zip(&g2) {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }
}

#[test]
fn gradient_of_bce_is_sigmoid_minus_target() {
    let device = backend::train_device();
    let x = tensor2(vec![-1.0, 0.3, 2.0], 1, 3, &device).require_grad();
    let t = tensor2(vec![0.0, 0.5, 1.0], 1, 3, &device);
    let loss = bce_with_logits_sum(x.clone(), t).sum();
    let grads = loss.backward();
    let g = to_host(x.grad(&grads).expect("x has a gradient"));
    let want = [
        1.0 / (1.0 + 1f64.exp()),
        1.0 / (1.0 + (-0.3f64).exp()) - 0.5,
        1.0 / (1.0 + (-2f64).exp()) - 1.0,
    ];
    for (a, b) in g.iter().zip(want) {
        assert!((f64::from(*a) - b).abs() < 1e-6, "{g:?}");
    }
}
