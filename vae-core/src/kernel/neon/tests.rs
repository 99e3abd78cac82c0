use super::*;
use crate::Rng;
use crate::kernel::dense_ref;
use std::vec::Vec;

/// The kernels to test: the plain NEON loop always, `SDOT` when this CPU has it.
fn variants() -> Vec<Neon> {
    let neon = Neon::detect().expect("NEON is baseline on AArch64");
    let mut all = std::vec![neon.without_dotprod()];
    if neon.has_dotprod() {
        all.push(neon);
    }
    all
}

fn run(k: Neon, w: &[u8], x: &[i8]) -> Vec<i32> {
    let mut out = Vec::new();
    k.dense(w, x, &mut |a| out.push(a));
    out
}

fn reference(w: &[u8], x: &[i8]) -> Vec<i32> {
    let mut out = Vec::new();
    dense_ref(w, x, |a| out.push(a));
    out
}

/// The weights and inputs of a case: random bytes, or the extremes (all -128, all 127,
/// -128 against 127, alternating) that overflow a 16-bit sum of two products.
fn case(rng: &mut Rng, pattern: u32, len: usize, n: usize) -> (Vec<u8>, Vec<i8>) {
    let fill = |rng: &mut Rng, len: usize, f: &dyn Fn(usize) -> u8| -> Vec<u8> {
        (0..len)
            .map(|i| match pattern {
                0 => rng.next_u32() as u8,
                _ => f(i),
            })
            .collect()
    };
    let (wf, xf): (&dyn Fn(usize) -> u8, &dyn Fn(usize) -> u8) = match pattern {
        1 => (&|_| 0x80, &|_| 0x80),
        2 => (&|_| 0x7f, &|_| 0x7f),
        3 => (&|_| 0x80, &|_| 0x7f),
        _ => (&|i| if i % 3 == 0 { 0x80 } else { 0x7f }, &|i| {
            if i % 2 == 0 { 0x80 } else { 0x7f }
        }),
    };
    let w = fill(rng, len, wf);
    let x = fill(rng, n, xf).into_iter().map(|b| b as i8).collect();
    (w, x)
}

/// Every input length 0..=300 (every tail length and block count of the 16-byte loop),
/// row counts that leave 0..=3 rows after the four-row passes, sometimes a partial
/// trailing row (ignored), random and extreme values: the same integers as `dense_ref`.
#[test]
fn dense_matches_reference_for_all_lengths() {
    let mut rng = Rng::new(20);
    for k in variants() {
        for n in 0..=300usize {
            for pattern in 0..5 {
                let rows = (rng.next_u32() % 10) as usize;
                let extra = if n > 0 && rng.next_u32() % 3 == 0 {
                    rng.next_u32() as usize % n
                } else {
                    0
                };
                let (w, x) = case(&mut rng, pattern, rows * n + extra, n);
                let expected = reference(&w, &x);
                assert_eq!(expected.len(), if n == 0 { 0 } else { rows });
                assert_eq!(
                    run(k, &w, &x),
                    expected,
                    "{k:?}: n {n}, rows {rows}, extra {extra}, pattern {pattern}"
                );
            }
        }
    }
}

/// Sums past `i32::MAX` wrap exactly as `dense_ref`'s (a parsed blob never gets there,
/// but no input may make the kernels disagree).
#[test]
fn dense_wraps_like_reference() {
    // 140,000 * 16384 = 2,293,760,000 > i32::MAX.
    let n = 140_000;
    let x = std::vec![i8::MIN; n];
    let mut w = std::vec![0x80u8; 5 * n];
    w[3 * n + 7] = 0x7f;
    let expected = reference(&w, &x);
    assert_eq!(expected[0], (140_000i64 * 16384) as i32);
    for k in variants() {
        assert_eq!(run(k, &w, &x), expected, "{k:?}");
    }
}

/// The path the tests take is the one the CI run asked for: `.ci/aarch64.sh` runs them
/// under QEMU once with a CPU that has the dot-product extension (`VAE_EXPECT_DOTPROD=1`)
/// and once with one that has not (`=0`), so both loops are really tested.
#[test]
fn dotprod_detection_matches_expectation() {
    let Ok(expected) = std::env::var("VAE_EXPECT_DOTPROD") else {
        std::eprintln!("VAE_EXPECT_DOTPROD unset: detection not checked");
        return;
    };
    let neon = Neon::detect().expect("NEON is baseline on AArch64");
    assert_eq!(
        neon.has_dotprod(),
        expected == "1",
        "VAE_EXPECT_DOTPROD={expected}"
    );
    assert_eq!(
        crate::kernel::accel(),
        Some(crate::kernel::Accel::Neon(neon))
    );
}
