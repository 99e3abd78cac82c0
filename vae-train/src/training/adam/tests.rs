use super::*;

fn coefficients() -> Coefficients {
    Coefficients {
        b1: 0.9,
        b2: 0.999,
        c1: 0.1,
        c2: 0.001,
        step: 1e-3,
        eps: 1e-8,
    }
}

#[test]
fn update_matches_the_formula_and_flushes_tiny_moments() {
    let k = coefficients();
    let mut w = [1.0f32, -2.0, 0.5, 0.25];
    let mut m = [0.01f32, 1e-33, -0.2, 0.0];
    let mut v = [1e-4f32, 1e-35, 0.04, 0.0];
    let g = [0.1f32, 0.0, -0.3, 1e-38];
    let (w0, m0, v0) = (w, m, v);
    update(&mut w, &mut m, &mut v, &g, &k);
    // Element 0 and 2: the plain formula.
    for i in [0, 2] {
        let mi = 0.9 * m0[i] + 0.1 * g[i];
        let vi = 0.999 * v0[i] + 0.001 * g[i] * g[i];
        assert_eq!(m[i], mi);
        assert_eq!(v[i], vi);
        assert_eq!(w[i], w0[i] - 1e-3 * mi / (vi.sqrt() + 1e-8));
    }
    // Element 1: moments that would decay toward the subnormal range are flushed.
    assert_eq!((m[1], v[1], w[1]), (0.0, 0.0, -2.0));
    // Element 3: a subnormal gradient counts as zero.
    assert_eq!((m[3], v[3], w[3]), (0.0, 0.0, 0.25));
    assert!(m.iter().chain(&v).all(|x| *x == 0.0 || x.is_normal()));
}

#[test]
fn vectorised_and_generic_updates_agree_bitwise() {
    let k = coefficients();
    let n = 1000;
    let mut rng = crate::rng::Rng::new(9);
    let g = rng.normals_f32(n);
    let w0 = rng.normals_f32(n);
    let m0: Vec<f32> = rng.normals_f32(n).iter().map(|x| x * 0.01).collect();
    let v0: Vec<f32> = rng.uniform_f32(n, 0.0, 1e-3);
    let (mut w1, mut m1, mut v1) = (w0.clone(), m0.clone(), v0.clone());
    let (mut w2, mut m2, mut v2) = (w0, m0, v0);
    update(&mut w1, &mut m1, &mut v1, &g, &k);
    update_generic(&mut w2, &mut m2, &mut v2, &g, &k);
    assert_eq!((w1, m1, v1), (w2, m2, v2));
}
