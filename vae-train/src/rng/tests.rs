use super::*;

#[test]
fn same_seed_same_stream() {
    let a: Vec<u64> = {
        let mut r = Rng::for_stream(7, Stream::Shuffle, 3);
        (0..8).map(|_| r.next_u64()).collect()
    };
    let mut r = Rng::for_stream(7, Stream::Shuffle, 3);
    assert_eq!(a, (0..8).map(|_| r.next_u64()).collect::<Vec<_>>());
    let mut other = Rng::for_stream(7, Stream::Shuffle, 4);
    assert_ne!(a[0], other.next_u64());
    let mut other = Rng::for_stream(7, Stream::TrainNoise, 3);
    assert_ne!(a[0], other.next_u64());
}

#[test]
fn normals_have_unit_moments() {
    let mut r = Rng::new(1);
    let n = 200_000;
    let xs: Vec<f64> = (0..n).map(|_| r.normal()).collect();
    let mean = xs.iter().sum::<f64>() / n as f64;
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
    assert!(mean.abs() < 0.01, "mean {mean}");
    assert!((var - 1.0).abs() < 0.02, "var {var}");
    assert!(xs.iter().all(|x| x.is_finite()));
}

#[test]
fn shuffle_is_a_permutation_and_uniform_bounds_hold() {
    let mut r = Rng::new(5);
    let mut v: Vec<usize> = (0..1000).collect();
    r.shuffle(&mut v);
    assert_ne!(v, (0..1000).collect::<Vec<_>>());
    let mut sorted = v.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..1000).collect::<Vec<_>>());
    let u = r.uniform_f32(1000, -0.5, 0.5);
    assert!(u.iter().all(|&x| (-0.5..0.5).contains(&x)));
    assert!((0..1000).all(|_| r.below(3) < 3));
}
