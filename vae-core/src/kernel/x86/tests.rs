use super::requant::{clamp_merge, load16, requantize16};
use super::tree::Tree;
use super::*;
use crate::Rng;
use crate::kernel::{dense_portable, dense_ref, requantize, sigmoid_pixel};
use core::arch::x86_64::*;
use std::vec::Vec;

fn vnni_or_skip(test: &str) -> Option<Vnni> {
    let v = Vnni::detect();
    if v.is_none() {
        std::eprintln!("{test}: no AVX-512 VNNI on this CPU; skipped");
    }
    v
}

fn lanes(v: __m512i) -> [i32; BLOCK] {
    let mut out = [0i32; BLOCK];
    // SAFETY: `out` is 64 bytes; `_mm512_storeu_epi32` needs only AVX-512 F, which
    // the callers checked.
    unsafe { _mm512_storeu_epi32(out.as_mut_ptr(), v) };
    out
}

fn bytes_of(v: &[i32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The vector requantization (and its saturation) against `requantize`, at the edges
/// and at random: every multiplier but `i32::MIN` (blobs have positive ones), shifts
/// past 63 too.
#[test]
fn requantize16_matches_scalar() {
    if vnni_or_skip("requantize16_matches_scalar").is_none() {
        return;
    }
    let edges = [
        i32::MIN,
        i32::MIN + 1,
        -65537,
        -2,
        -1,
        0,
        1,
        2,
        65535,
        i32::MAX - 1,
        i32::MAX,
    ];
    let mut rng = Rng::new(11);
    let check = |acc: [i32; BLOCK], m: [i32; BLOCK], s: [u8; BLOCK]| {
        let (mb, accb) = (bytes_of(&m), bytes_of(&acc));
        let (mb, accb) = (mb.first_chunk().unwrap(), accb.first_chunk().unwrap());
        // SAFETY: the CPU has the features (checked above).
        let got = unsafe {
            lanes(clamp_merge(
                requantize16(load16(accb), mb, &s),
                i64::from(i32::MIN),
                i64::from(i32::MAX),
            ))
        };
        for j in 0..BLOCK {
            assert_eq!(
                got[j],
                requantize(acc[j], m[j], s[j]),
                "{} {} {}",
                acc[j],
                m[j],
                s[j]
            );
        }
    };
    for &a in &edges {
        for &m in edges.iter().filter(|&&m| m != i32::MIN) {
            for s0 in (0..=80u8).step_by(BLOCK) {
                check(
                    [a; BLOCK],
                    [m; BLOCK],
                    core::array::from_fn(|j| s0 + j as u8),
                );
            }
        }
    }
    for _ in 0..20_000 {
        let acc = core::array::from_fn(|_| rng.next_u32() as i32 >> (rng.next_u32() % 32));
        let m = core::array::from_fn(|_| {
            (rng.next_u32() as i32 >> (rng.next_u32() % 32)).max(i32::MIN + 1)
        });
        let s = core::array::from_fn(|_| (rng.next_u32() % 70) as u8);
        check(acc, m, s);
    }
}

/// The lane-wise search against `sigmoid_pixel`: random tables with repeats and the
/// `i32` extremes, probes at, just below and just above every threshold.
#[test]
fn tree_search_matches_sigmoid_pixel() {
    if vnni_or_skip("tree_search_matches_sigmoid_pixel").is_none() {
        return;
    }
    let mut rng = Rng::new(12);
    for case in 0..60 {
        let mut t: Vec<i32> = (0..NUM_THRESHOLDS)
            .map(|_| (rng.next_u32() as i32) >> (rng.next_u32() % 32))
            .collect();
        if case % 3 == 0 {
            t[0] = i32::MIN;
            t[NUM_THRESHOLDS - 1] = i32::MAX;
        }
        t.sort_unstable();
        if case % 2 == 0 {
            t[7] = t[6];
            t[200] = t[199];
            t[201] = t[199];
        }
        let table_bytes = bytes_of(&t);
        let table: &[u8; 4 * NUM_THRESHOLDS] = table_bytes.as_slice().try_into().unwrap();
        let mut probes: Vec<i32> = t
            .iter()
            .flat_map(|&v| [v, v.saturating_sub(1), v.saturating_add(1)])
            .collect();
        probes.extend([i32::MIN, i32::MAX, 0, -1, 1]);
        probes.resize(probes.len().next_multiple_of(BLOCK * LOCKSTEP), 0);
        for group in probes.chunks_exact(BLOCK * LOCKSTEP) {
            let v: [__m512i; LOCKSTEP] = core::array::from_fn(|k| {
                let b = bytes_of(&group[BLOCK * k..BLOCK * (k + 1)]);
                // SAFETY: the CPU has the features (checked above).
                unsafe { load16(b.as_slice().try_into().unwrap()) }
            });
            // SAFETY: as above.
            let found = unsafe { Tree::new(table).search(v) };
            for (k, f) in found.iter().enumerate() {
                let f = lanes(*f);
                for j in 0..BLOCK {
                    let value = group[BLOCK * k + j];
                    assert_eq!(
                        f[j] - 256,
                        i32::from(sigmoid_pixel(table, value)),
                        "{value}"
                    );
                }
            }
        }
    }
}

/// `Vnni::dense` against `dense_ref` and the portable loops: row counts around
/// multiples of 16, widths around 32 and multiples of 64, the largest products.
#[test]
fn dense_matches_reference() {
    let Some(vnni) = vnni_or_skip("dense_matches_reference") else {
        return;
    };
    let mut rng = Rng::new(13);
    for rows in [0, 1, 15, 16, 17, 33, 48] {
        for n in [
            1, 2, 20, 31, 32, 33, 63, 64, 65, 100, 128, 255, 256, 257, 600,
        ] {
            let extra = (rng.next_u32() as usize) % n;
            let w: Vec<u8> = (0..rows * n + extra)
                .map(|_| rng.next_u32() as u8)
                .collect();
            let x: Vec<i8> = (0..n).map(|_| rng.next_u32() as i8).collect();
            let (mut fast, mut portable, mut slow) = (Vec::new(), Vec::new(), Vec::new());
            vnni.dense(&w, &x, &mut |a| fast.push(a));
            dense_portable(&w, &x, |a| portable.push(a));
            dense_ref(&w, &x, |a| slow.push(a));
            assert_eq!(fast, slow, "rows {rows} n {n}");
            assert_eq!(portable, slow, "rows {rows} n {n}");
        }
    }
    for n in [20, 32, 256, 1000] {
        let w = std::vec![0x80u8; 17 * n];
        let x = std::vec![-128i8; n];
        let mut out = Vec::new();
        vnni.dense(&w, &x, &mut |a| out.push(a));
        assert_eq!(out, std::vec![16384 * n as i32; 17], "n {n}");
    }
}

/// `Avx2::dense` against `dense_ref`: row counts around multiples of 8, widths around
/// multiples of 16, the largest products (`-128 x -128` everywhere).
#[test]
fn avx2_dense_matches_reference() {
    let Some(avx2) = Avx2::detect() else {
        std::eprintln!("avx2_dense_matches_reference: no AVX2 on this CPU; skipped");
        return;
    };
    let mut rng = Rng::new(17);
    for rows in [0, 1, 7, 8, 9, 16, 23, 48] {
        for n in [1, 2, 15, 16, 17, 20, 31, 32, 33, 100, 255, 256, 257, 600] {
            let extra = (rng.next_u32() as usize) % n;
            let w: Vec<u8> = (0..rows * n + extra)
                .map(|_| rng.next_u32() as u8)
                .collect();
            let x: Vec<i8> = (0..n).map(|_| rng.next_u32() as i8).collect();
            let (mut fast, mut slow) = (Vec::new(), Vec::new());
            avx2.dense(&w, &x, &mut |a| fast.push(a));
            dense_ref(&w, &x, |a| slow.push(a));
            assert_eq!(fast, slow, "rows {rows} n {n}");
        }
    }
    for n in [16, 20, 256, 1000] {
        let w = std::vec![0x80u8; 17 * n];
        let x = std::vec![-128i8; n];
        let mut out = Vec::new();
        avx2.dense(&w, &x, &mut |a| out.push(a));
        assert_eq!(out, std::vec![16384 * n as i32; 17], "n {n}");
        out.clear();
        avx2.dense(&w, &[], &mut |a| out.push(a));
        assert!(out.is_empty());
    }
}
