// Temporary experiment: ex-post diagonal GMM on encoder means vs N(0,I) prior.
use std::path::Path;
use vae_train::{checkpoint, classifier, data, model};

fn to_px(v: &[f32]) -> Vec<u8> {
    v.iter()
        .map(|&p| (p * 255.0).round().clamp(0.0, 255.0) as u8)
        .collect()
}

struct Lcg(u64);
impl Lcg {
    fn u(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 11) as f64) / (1u64 << 53) as f64
    }
    fn n(&mut self) -> f64 {
        loop {
            let a = 2.0 * self.u() - 1.0;
            let b = 2.0 * self.u() - 1.0;
            let s = a * a + b * b;
            if s > 0.0 && s < 1.0 {
                return a * (-2.0 * s.ln() / s).sqrt();
            }
        }
    }
}

fn fit_gmm(x: &[f32], d: usize, k: usize, iters: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let n = x.len() / d;
    let mut rng = Lcg(7);
    let mut mean: Vec<f64> = (0..k)
        .flat_map(|_| {
            let i = (rng.u() * n as f64) as usize;
            x[i * d..(i + 1) * d]
                .iter()
                .map(|&v| v as f64)
                .collect::<Vec<_>>()
        })
        .collect();
    let mut var = vec![1.0f64; k * d];
    let mut w = vec![1.0 / k as f64; k];
    let mut r = vec![0.0f64; n * k];
    for _ in 0..iters {
        for i in 0..n {
            let xi = &x[i * d..(i + 1) * d];
            let mut lp = vec![0.0; k];
            for c in 0..k {
                let mut s = w[c].ln();
                for j in 0..d {
                    let v = var[c * d + j];
                    let t = xi[j] as f64 - mean[c * d + j];
                    s += -0.5 * (t * t / v + v.ln());
                }
                lp[c] = s;
            }
            let m = lp.iter().cloned().fold(f64::MIN, f64::max);
            let z: f64 = lp.iter().map(|l| (l - m).exp()).sum();
            for c in 0..k {
                r[i * k + c] = (lp[c] - m).exp() / z;
            }
        }
        for c in 0..k {
            let nk: f64 = (0..n).map(|i| r[i * k + c]).sum::<f64>() + 1e-9;
            w[c] = nk / n as f64;
            for j in 0..d {
                let mu: f64 = (0..n)
                    .map(|i| r[i * k + c] * x[i * d + j] as f64)
                    .sum::<f64>()
                    / nk;
                mean[c * d + j] = mu;
                let v: f64 = (0..n)
                    .map(|i| {
                        let t = x[i * d + j] as f64 - mu;
                        r[i * k + c] * t * t
                    })
                    .sum::<f64>()
                    / nk;
                var[c * d + j] = v.max(1e-4);
            }
        }
    }
    (w, mean, var)
}

fn main() {
    let run = std::env::args().nth(1).unwrap_or("runs/results/z20".into());
    let dev = vae_train::backend::device();
    let (_cfg, vae) = checkpoint::load_model(Path::new(&run), &dev).unwrap();
    let mnist = data::load_from_dir(Path::new("../shared/data/mnist")).unwrap();
    let clf = classifier::load_or_train(
        Path::new("runs/results/classifier"),
        &mnist,
        classifier::DEFAULT_SEED,
    )
    .unwrap();
    let d = vae.latent_dim();
    let show = |name: &str, px: &[u8]| {
        let s = clf.score(px, None).unwrap();
        println!(
            "{name:30} confident {:.3} IS {:.2} entropy {:.3}",
            s.confident_share, s.inception_score, s.class_entropy
        );
    };
    let test_mu = vae.encode_means(&mnist.test.images);
    show(
        "recon of test (means)",
        &to_px(&model::sigmoid(&vae.decode_logits_batch(&test_mu))),
    );
    show("model prior", &to_px(&vae.sample_prior(10000, 1)));
    let train_mu = vae.encode_means(&mnist.train.images);
    let sub: Vec<f32> = train_mu[..20000 * d].to_vec();
    if std::env::var("EXPOST").is_err() {
        return;
    }
    for &k in &[100usize] {
        let (w, mean, var) = fit_gmm(&sub, d, k, if k == 1 { 1 } else { 30 });
        let mut rng = Lcg(99);
        let mut z = Vec::with_capacity(10000 * d);
        for _ in 0..10000 {
            let u = rng.u();
            let mut c = 0;
            let mut acc = 0.0;
            for (i, &wi) in w.iter().enumerate() {
                acc += wi;
                if u < acc {
                    c = i;
                    break;
                }
                c = i;
            }
            for j in 0..d {
                z.push((mean[c * d + j] + var[c * d + j].sqrt() * rng.n()) as f32);
            }
        }
        show(
            &format!("ex-post GMM K={k}"),
            &to_px(&model::sigmoid(&vae.decode_logits_batch(&z))),
        );
    }
}
