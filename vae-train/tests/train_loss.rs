//! The loss against an f64 reference on random inputs, and its gradients against finite
//! differences.

use vae_train::backend;
use vae_train::model::loss::{bce_with_logits_f64, kl_f64, vae_loss};
use vae_train::model::tensor::tensor2;
use vae_train::rng::Rng;

fn host(t: burn::tensor::Tensor<2>) -> Vec<f32> {
    t.try_into_vec_as::<f32>().unwrap()
}

#[test]
fn loss_terms_match_f64_reference_on_random_data() {
    let device = backend::device();
    let (n, d, l) = (5, 784, 20);
    let mut rng = Rng::new(42);
    let logits: Vec<f32> = rng.normals_f32(n * d).iter().map(|x| x * 6.0).collect();
    let targets = rng.uniform_f32(n * d, 0.0, 1.0);
    let mu = rng.normals_f32(n * l);
    let logvar: Vec<f32> = rng.normals_f32(n * l).iter().map(|x| x * 2.0).collect();
    let terms = vae_loss(
        tensor2(logits.clone(), n, d, &device),
        tensor2(targets.clone(), n, d, &device),
        tensor2(mu.clone(), n, l, &device),
        tensor2(logvar.clone(), n, l, &device),
    );
    let recon = terms.recon.clone().try_into_vec_as::<f32>().unwrap();
    let kl = terms.kl.clone().try_into_vec_as::<f32>().unwrap();
    let mean = terms.mean_loss().try_into_vec_as::<f32>().unwrap()[0];
    let mut total = 0.0;
    for i in 0..n {
        let r: f64 = (0..d)
            .map(|j| {
                bce_with_logits_f64(f64::from(logits[i * d + j]), f64::from(targets[i * d + j]))
            })
            .sum();
        let m: Vec<f64> = mu[i * l..(i + 1) * l]
            .iter()
            .map(|&v| f64::from(v))
            .collect();
        let v: Vec<f64> = logvar[i * l..(i + 1) * l]
            .iter()
            .map(|&v| f64::from(v))
            .collect();
        let k = kl_f64(&m, &v);
        assert!(
            (f64::from(recon[i]) - r).abs() < 1e-4 * r,
            "recon {i}: {} vs {r}",
            recon[i]
        );
        assert!(
            (f64::from(kl[i]) - k).abs() < 1e-4 * k.max(1.0),
            "kl {i}: {} vs {k}",
            kl[i]
        );
        total += r + k;
    }
    let want = total / n as f64;
    assert!(
        (f64::from(mean) - want).abs() < 1e-4 * want,
        "{mean} vs {want}"
    );
}

#[test]
fn loss_gradients_match_finite_differences() {
    let device = backend::train_device();
    let (n, d, l) = (2, 6, 3);
    let mut rng = Rng::new(5);
    let logits = rng.normals_f32(n * d);
    let targets = rng.uniform_f32(n * d, 0.0, 1.0);
    let mu = rng.normals_f32(n * l);
    let logvar = rng.normals_f32(n * l);
    let x = tensor2(logits.clone(), n, d, &device).require_grad();
    let m = tensor2(mu.clone(), n, l, &device).require_grad();
    let v = tensor2(logvar.clone(), n, l, &device).require_grad();
    let loss = vae_loss(
        x.clone(),
        tensor2(targets.clone(), n, d, &device),
        m.clone(),
        v.clone(),
    )
    .mean_loss();
    let grads = loss.backward();
    let gx = host(x.grad(&grads).unwrap());
    let gm = host(m.grad(&grads).unwrap());
    let gv = host(v.grad(&grads).unwrap());

    // f64 reference loss: mean over rows of sum BCE + KL.
    let f = |lg: &[f64], mu: &[f64], lv: &[f64]| -> f64 {
        (0..n)
            .map(|i| {
                (0..d)
                    .map(|j| bce_with_logits_f64(lg[i * d + j], f64::from(targets[i * d + j])))
                    .sum::<f64>()
                    + kl_f64(&mu[i * l..(i + 1) * l], &lv[i * l..(i + 1) * l])
            })
            .sum::<f64>()
            / n as f64
    };
    let to64 = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<f64>>();
    let (lg, mu64, lv64) = (to64(&logits), to64(&mu), to64(&logvar));
    let h = 1e-6;
    let numeric = |which: usize, k: usize| {
        let (mut a, mut b, mut c) = (lg.clone(), mu64.clone(), lv64.clone());
        let (mut a2, mut b2, mut c2) = (lg.clone(), mu64.clone(), lv64.clone());
        match which {
            0 => {
                a[k] += h;
                a2[k] -= h;
            }
            1 => {
                b[k] += h;
                b2[k] -= h;
            }
            _ => {
                c[k] += h;
                c2[k] -= h;
            }
        }
        (f(&a, &b, &c) - f(&a2, &b2, &c2)) / (2.0 * h)
    };
    for (which, g) in [(0, &gx), (1, &gm), (2, &gv)] {
        for (k, &gk) in g.iter().enumerate() {
            let want = numeric(which, k);
            assert!(
                (f64::from(gk) - want).abs() < 1e-4,
                "param {which}[{k}]: {gk} vs {want}"
            );
        }
    }
}
