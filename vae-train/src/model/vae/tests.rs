use super::*;
use crate::backend;
use crate::model::tensor::{one_hot, pixels_to_unit, tensor2, to_host};

fn tiny(conditional: bool) -> ModelConfig {
    ModelConfig {
        latent_dim: 3,
        encoder_hidden: vec![16, 8],
        decoder_hidden: vec![8],
        conditional,
        ..ModelConfig::default()
    }
}

fn relu_v(v: Vec<f32>) -> Vec<f32> {
    v.into_iter().map(|x| x.max(0.0)).collect()
}

#[test]
fn same_seed_same_weights_and_shapes() {
    let device = backend::device();
    let a = Vae::new(&tiny(false), 5, &device).unwrap();
    let b = Vae::new(&tiny(false), 5, &device).unwrap();
    let c = Vae::new(&tiny(false), 6, &device).unwrap();
    assert_eq!(a.decoder_layers(), b.decoder_layers());
    assert_ne!(a.decoder_layers(), c.decoder_layers());
    let dims: Vec<_> = a
        .decoder_layers()
        .iter()
        .map(|l| (l.in_dim, l.out_dim))
        .collect();
    assert_eq!(dims, vec![(3, 8), (8, IMAGE_PIXELS)]);
    let enc: Vec<_> = a
        .encoder_layers()
        .iter()
        .map(|l| (l.in_dim, l.out_dim))
        .collect();
    assert_eq!(enc, vec![(IMAGE_PIXELS, 16), (16, 8), (8, 3), (8, 3)]);
    let bound = 1.0 / (IMAGE_PIXELS as f32).sqrt();
    assert!(
        a.encoder_layers()[0]
            .weight
            .iter()
            .all(|w| w.abs() <= bound)
    );
}

#[test]
fn host_helpers_match_a_plain_reference() {
    let device = backend::device();
    let vae = Vae::new(&tiny(false), 1, &device).unwrap();
    let images: Vec<u8> = (0..2 * IMAGE_PIXELS)
        .map(|i| (i * 37 % 256) as u8)
        .collect();
    let means = vae.encode_means(&images);
    assert_eq!(means.len(), 2 * 3);
    let enc = vae.encoder_layers();
    for n in 0..2 {
        let x = pixels_to_unit(&images[n * IMAGE_PIXELS..(n + 1) * IMAGE_PIXELS]);
        let act = |v: Vec<f32>| -> Vec<f32> {
            v.into_iter()
                .map(|x| vae.config().encoder_activation.apply(x))
                .collect()
        };
        let h = act(enc[0].apply(&x));
        let h = act(enc[1].apply(&h));
        let mu = enc[2].apply(&h);
        for (a, b) in mu.iter().zip(&means[n * 3..(n + 1) * 3]) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
    }
    let z = [0.5f32, -1.0, 2.0];
    let logits = vae.decode_logits_batch(&z);
    let dec = vae.decoder_layers();
    let expect = dec[1].apply(&relu_v(dec[0].apply(&z)));
    assert_eq!(logits.len(), IMAGE_PIXELS);
    for (a, b) in logits.iter().zip(&expect) {
        assert!((a - b).abs() < 1e-4, "{a} vs {b}");
    }
    // A trailing partial row is ignored.
    assert_eq!(vae.decode_logits_batch(&[0.0; 4]).len(), IMAGE_PIXELS);
    let samples = vae.sample_prior(5, 9);
    assert_eq!(samples.len(), 5 * IMAGE_PIXELS);
    assert!(samples.iter().all(|p| (0.0..=1.0).contains(p)));
    assert_eq!(samples, vae.sample_prior(5, 9));
}

#[test]
fn conditional_model_uses_the_label() {
    let device = backend::device();
    let vae = Vae::new(&tiny(true), 1, &device).unwrap();
    assert_eq!(vae.decoder_layers()[0].in_dim, 3 + NUM_CLASSES);
    assert_eq!(vae.encoder_layers()[0].in_dim, IMAGE_PIXELS + NUM_CLASSES);
    let z = [0.1f32, 0.2, 0.3];
    let a = vae.decode_logits_batch_labeled(&z, Some(&[3]));
    let b = vae.decode_logits_batch_labeled(&z, Some(&[7]));
    assert_ne!(a, b);
    let dec = vae.decoder_layers();
    let mut input = z.to_vec();
    input.extend(one_hot(&[7]));
    let expect = dec[1].apply(&relu_v(dec[0].apply(&input)));
    for (x, y) in b.iter().zip(&expect) {
        assert!((x - y).abs() < 1e-4);
    }
}

#[test]
fn forward_shapes_and_reparameterization() {
    let device = backend::device();
    let vae = Vae::new(&tiny(false), 2, &device).unwrap();
    let x = tensor2(vec![0.5; 4 * IMAGE_PIXELS], 4, IMAGE_PIXELS, &device);
    let eps = tensor2(vec![0.0; 4 * 3], 4, 3, &device);
    let out = vae.forward(x, None, eps);
    assert_eq!(out.logits.dims(), [4, IMAGE_PIXELS]);
    assert_eq!(out.mu.dims(), [4, 3]);
    // With eps = 0, z = mu, so the logits equal decode(mu).
    let direct = vae.decode_logits(out.mu.clone());
    let (a, b) = (to_host(out.logits), to_host(direct));
    assert_eq!(a, b);
    let z = Vae::reparameterize(
        tensor2(vec![1.0, 2.0], 1, 2, &device),
        tensor2(vec![0.0, 2.0f32.ln() * 2.0], 1, 2, &device),
        tensor2(vec![0.5, -1.0], 1, 2, &device),
    );
    let z = to_host(z);
    assert!(
        (z[0] - 1.5).abs() < 1e-6 && (z[1] - 0.0).abs() < 1e-5,
        "{z:?}"
    );
}

#[test]
fn kl_is_analytic_for_n01_and_a_log_ratio_for_a_mixture() {
    let device = backend::device();
    let (n, l) = (6, 3);
    let mut rng = Rng::for_stream(4, Stream::Pictures, 0);
    let mu = rng.normals_f32(n * l);
    let lv = rng.uniform_f32(n * l, -1.0, 0.5);
    let eps = rng.normals_f32(n * l);
    let t = |v: &[f32]| tensor2(v.to_vec(), n, l, &device);
    let z = to_host(Vae::reparameterize(t(&mu), t(&lv), t(&eps)));
    let f64s = |v: &[f32]| v.iter().map(|&x| f64::from(x)).collect::<Vec<_>>();
    let with_prior = |k| ModelConfig {
        prior_components: k,
        ..tiny(false)
    };

    let standard = Vae::new(&with_prior(0), 1, &device).unwrap();
    assert!(standard.mixture_prior().is_none());
    let kl = to_host(standard.kl(t(&mu), t(&lv), t(&z), t(&eps)));
    for (i, &k) in kl.iter().enumerate() {
        let r = i * l..(i + 1) * l;
        let want = crate::model::loss::kl_f64(&f64s(&mu[r.clone()]), &f64s(&lv[r]));
        assert!((f64::from(k) - want).abs() < 1e-4, "{k} vs {want}");
    }

    let mixture = Vae::new(&with_prior(4), 1, &device).unwrap();
    let m = mixture.mixture_prior().expect("a mixture prior");
    assert_eq!((m.components(), m.latent_dim), (4, l));
    // Same decoder weights as the standard model: the prior is drawn last.
    assert_eq!(mixture.decoder_layers(), standard.decoder_layers());
    let kl = to_host(mixture.kl(t(&mu), t(&lv), t(&z), t(&eps)));
    for (i, &k) in kl.iter().enumerate() {
        let log_q: f64 = (0..l)
            .map(|j| -0.5 * (f64::from(lv[i * l + j]) + f64::from(eps[i * l + j]).powi(2)))
            .sum();
        let log_p = crate::model::prior::tests::log_prob_f64(&m, &z[i * l..(i + 1) * l]);
        let want = log_q - log_p;
        assert!((f64::from(k) - want).abs() < 1e-3, "{k} vs {want}");
    }
    // Prior samples come from the mixture (a fresh one: unit variances around means
    // drawn from N(0, I)), deterministically.
    assert_eq!(mixture.prior_latents(8, 3), mixture.prior_latents(8, 3));
    assert_ne!(mixture.prior_latents(8, 3), standard.prior_latents(8, 3));
}

#[test]
fn helpers_one_hot_and_sigmoid() {
    let h = one_hot(&[0, 9, 200]);
    assert_eq!(h[0], 1.0);
    assert_eq!(h[19], 1.0);
    assert!(h[20..].iter().all(|&v| v == 0.0));
    assert_eq!(h.iter().sum::<f32>(), 2.0);
    let s = sigmoid(&[0.0, 100.0, -100.0]);
    assert_eq!(s[0], 0.5);
    assert!(s[1] > 0.999 && s[2] < 0.001);
}
