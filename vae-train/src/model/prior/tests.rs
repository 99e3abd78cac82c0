use super::*;
use crate::backend;
use crate::model::tensor::tensor2;
use crate::rng::Stream;

/// `ln p(z)` of a mixture in `f64`, straight from the definition (no shift), without
/// the `-latent/2 ln(2 pi)` constant.
pub(crate) fn log_prob_f64(m: &MixtureF32, z: &[f32]) -> f64 {
    let l = m.latent_dim;
    let p: f64 = (0..m.components())
        .map(|k| {
            let row = k * l..(k + 1) * l;
            let log: f64 = z
                .iter()
                .zip(&m.means[row.clone()])
                .zip(&m.stds[row])
                .map(|((&zi, &mi), &si)| {
                    let (s, d) = (f64::from(si), f64::from(zi) - f64::from(mi));
                    -0.5 * (d / s).powi(2) - s.ln()
                })
                .sum();
            (f64::from(m.weights[k]).ln() + log).exp()
        })
        .sum();
    p.ln()
}

fn random_prior(components: usize, latent: usize, seed: u64) -> MixturePrior {
    let device = backend::device();
    let mut rng = Rng::for_stream(seed, Stream::Init, 0);
    let mut prior = MixturePrior::new(components, latent, &mut rng, &device);
    // Unequal weights and variances, so the test sees every parameter.
    let logvars = rng.uniform_f32(components * latent, -1.0, 0.5);
    let logits = rng.uniform_f32(components, -1.0, 1.0);
    prior.logvars = Param::from_data(TensorData::new(logvars, [components, latent]), &device);
    prior.logits = Param::from_data(TensorData::new(logits, [components]), &device);
    prior
}

#[test]
fn log_prob_matches_the_definition() {
    let (k, l, n) = (7, 3, 50);
    let prior = random_prior(k, l, 5);
    let host = prior.to_f32();
    assert_eq!(host.components(), k);
    assert!((host.weights.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    let z = Rng::for_stream(9, Stream::Pictures, 0).normals_f32(n * l);
    let got = to_host(prior.log_prob(tensor2(z.clone(), n, l, &backend::device())));
    for (i, &g) in got.iter().enumerate() {
        let want = log_prob_f64(&host, &z[i * l..(i + 1) * l]);
        assert!((f64::from(g) - want).abs() < 1e-4, "row {i}: {g} vs {want}");
    }
    // Far from every component the shifted log-sum-exp stays finite.
    let far = to_host(prior.log_prob(tensor2(vec![1e3; l], 1, l, &backend::device())));
    assert!(far[0].is_finite() && far[0] < -1e4, "{far:?}");
}

#[test]
fn mixture_samples_follow_the_weights_and_components() {
    let host = MixtureF32 {
        latent_dim: 2,
        weights: vec![0.2, 0.8],
        means: vec![-50.0, 0.0, 50.0, 1.0],
        stds: vec![1.0, 0.5, 2.0, 0.25],
    };
    let n = 5000;
    let z = host.sample(n, &mut Rng::for_stream(3, Stream::Pictures, 0));
    let first: Vec<&[f32]> = z.chunks_exact(2).filter(|r| r[0] < 0.0).collect();
    let share = first.len() as f64 / n as f64;
    assert!((share - 0.2).abs() < 0.03, "share {share}");
    let mean_y = first.iter().map(|r| f64::from(r[1])).sum::<f64>() / first.len() as f64;
    assert!(mean_y.abs() < 0.1, "component 0's second mean: {mean_y}");
    let sd_x = (first
        .iter()
        .map(|r| (f64::from(r[0]) + 50.0).powi(2))
        .sum::<f64>()
        / first.len() as f64)
        .sqrt();
    assert!((sd_x - 1.0).abs() < 0.1, "component 0's first sd: {sd_x}");
}
