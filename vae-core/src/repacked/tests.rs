//! [`RepackedDecoder`] against [`DecoderCore`], byte for byte, and its errors.

use std::format;
use std::vec;
use std::vec::Vec;

use super::*;
use crate::Request;
use crate::kernel::tests::I32_EDGES;
use crate::testing::QuantizedMlp;

/// Buffers of exactly the sizes a blob's repacked decoder asks for.
fn buffers(core: &DecoderCore<'_>) -> (Vec<i16>, Vec<i32>, Vec<u8>) {
    (
        vec![0i16; RepackedDecoder::weights_len(core)],
        vec![0i32; RepackedDecoder::params_len(core)],
        vec![0u8; RepackedDecoder::pixel_table_len(core)],
    )
}

/// Every committed blob (int8, int4, conditional with every digit, small) and random
/// models of odd shapes, with the pixel table and without: the same pixels as
/// `DecoderCore` for prior latents, raw codes (-128 included) and the same errors.
#[test]
fn repacked_matches_decoder_core() {
    let random = [
        QuantizedMlp::random(1, 3, &[24, 40], None).blob(),
        QuantizedMlp::random(2, 7, &[33], Some(10)).blob(),
        QuantizedMlp::random(4, 5, &[], None).blob(),
        QuantizedMlp::random(5, 16, &[8, 300], None).blob(),
    ];
    let blobs: [&[u8]; 9] = [
        include_bytes!("../../../examples/models/decoder.bin"),
        include_bytes!("../../../examples/models/decoder-z2.bin"),
        include_bytes!("../../../examples/models/decoder-int4.bin"),
        include_bytes!("../../../examples/models/decoder-cond.bin"),
        include_bytes!("../../../examples/models/decoder-small.bin"),
        &random[0],
        &random[1],
        &random[2],
        &random[3],
    ];
    let (mut want, mut got) = ([0u8; IMAGE_PIXELS], [0u8; IMAGE_PIXELS]);
    for ((k, blob), table) in blobs
        .into_iter()
        .enumerate()
        .flat_map(|b| [(b, false), (b, true)])
    {
        let core = DecoderCore::from_bytes(blob).unwrap();
        let (mut weights, mut params, mut pixels) = buffers(&core);
        let packed = RepackedDecoder::new(core.clone(), &mut weights, &mut params).unwrap();
        let packed = if table {
            assert!(!pixels.is_empty(), "blob {k}: no pixel table");
            let packed = packed.with_pixel_table(&mut pixels);
            assert!(packed.pixels.is_some(), "blob {k}: pixel table not taken");
            packed
        } else {
            packed
        };
        let mut scratch = vec![0i8; core.scratch_len()];
        let latent = core.shape().latent;
        let digits: Vec<Option<u8>> = match core.model().classes() {
            None => vec![None],
            Some(classes) => (0..classes).map(Some).collect(),
        };
        let mut lit = 0usize;
        for seed in 0..24u64 {
            let digit = digits[seed as usize % digits.len()];
            let mut z = vec![0f32; latent];
            core.prior_latent(&Request::new(seed), &mut z).unwrap();
            let mut z_q = vec![0i8; latent];
            core.quantize_latent(&z, &mut z_q).unwrap();
            if seed % 5 == 4 {
                // Raw codes, the extremes included.
                z_q.iter_mut()
                    .enumerate()
                    .for_each(|(i, v)| *v = [-128, 127, 0, -1][(i + seed as usize) % 4]);
            }
            core.decode_quantized(&z_q, digit, &mut scratch, &mut want)
                .unwrap();
            packed
                .decode_quantized(&z_q, digit, &mut scratch, &mut got)
                .unwrap();
            assert_eq!(got, want, "blob {k}, seed {seed}");
            lit += want.iter().filter(|&&p| p > 0).count();
        }
        assert!(lit > 24, "blob {k}: {lit} lit pixels");
        // The same errors as the core's.
        let z_q = vec![0i8; latent];
        let wrong_digit = match core.model().classes() {
            None => Some(3),
            Some(c) => Some(c),
        };
        assert_eq!(
            packed.decode_quantized(&z_q, wrong_digit, &mut scratch, &mut got),
            core.decode_quantized(&z_q, wrong_digit, &mut scratch, &mut want)
        );
        assert!(matches!(
            packed.decode_quantized(&z_q[1..], digits[0], &mut scratch, &mut got),
            Err(Error::DimsMismatch { .. })
        ));
        if core.scratch_len() > 0 {
            let mut short = vec![0i8; core.scratch_len() - 1];
            assert!(matches!(
                packed.decode_quantized(&z_q, digits[0], &mut short, &mut got),
                Err(Error::BufferTooSmall { .. })
            ));
        }
    }
}

/// Short buffers and layers wider than `MAX_INPUTS` are refused with typed errors.
#[test]
fn repacked_refuses_short_buffers_and_wide_layers() {
    let blob = include_bytes!("../../../examples/models/decoder.bin");
    let core = DecoderCore::from_bytes(blob).unwrap();
    let (w, b) = (
        RepackedDecoder::weights_len(&core),
        RepackedDecoder::params_len(&core),
    );
    // 20 -> 256 -> 256 -> 784: per pass of 32 rows (8, 8 and 25) the inputs' columns and
    // the zero column, each `pass_len(0)` elements (32 `i16`, or 16 with `i8` columns).
    let column = crate::kernel::columns::pass_len(0);
    assert_eq!(w, (21 * 8 + 257 * 8 + 257 * 25) * column);
    assert_eq!(b, 6 * 32 * (8 + 8 + 25)); // six per row, rows padded to 32
    let (mut weights, mut params) = (vec![0i16; w - 1], vec![0i32; b]);
    assert!(matches!(
        RepackedDecoder::new(core.clone(), &mut weights, &mut params),
        Err(Error::BufferTooSmall { needed, available }) if needed == w && available == w - 1
    ));
    let (mut weights, mut params) = (vec![0i16; w], vec![0i32; b - 1]);
    assert!(matches!(
        RepackedDecoder::new(core, &mut weights, &mut params),
        Err(Error::BufferTooSmall { .. })
    ));
    let wide = QuantizedMlp::random(6, 4, &[MAX_INPUTS + 1], None).blob();
    let core = DecoderCore::from_bytes(&wide).unwrap();
    assert_eq!(RepackedDecoder::weights_len(&core), 0);
    let (mut weights, mut params) = (vec![0i16; 1 << 20], vec![0i32; 1 << 14]);
    assert!(matches!(
        RepackedDecoder::new(core, &mut weights, &mut params),
        Err(Error::DimsMismatch { found, .. }) if found == MAX_INPUTS + 1
    ));
}

/// The pixel table: its length for the default blob, a short table left unused (the
/// search decodes), and the same pixels as the search over the whole range and past it.
#[test]
fn pixel_table_matches_the_search() {
    let blob = include_bytes!("../../../examples/models/decoder.bin");
    let core = DecoderCore::from_bytes(blob).unwrap();
    let len = RepackedDecoder::pixel_table_len(&core);
    let thresholds = core.model().pixel_thresholds;
    let (low, high) = pixel_range(thresholds).unwrap();
    assert_eq!(len as i64, i64::from(high) - i64::from(low) + 1);
    let (mut weights, mut params, _) = buffers(&core);
    let mut short = vec![0u8; len - 1];
    let packed = RepackedDecoder::new(core.clone(), &mut weights, &mut params)
        .unwrap()
        .with_pixel_table(&mut short);
    assert!(packed.pixels.is_none());
    let mut table = vec![0u8; len];
    assert_eq!(fill_pixel_table(thresholds, &mut table), Some((low, high)));
    for v in (low - 1000..=high + 1000).chain([i32::MIN, i32::MAX]) {
        let at = v.clamp(low, high).wrapping_sub(low) as usize;
        assert_eq!(table[at], sigmoid_pixel(thresholds, v), "value {v}");
    }
}

/// `lit_from` is the first sum whose requantized value reaches `k` (so every sum below it
/// is dark), for multipliers and shifts across their range, `k` anywhere, and the ends:
/// no `k` or a negative multiplier lights every row, an unreachable `k` only `i32::MAX`.
#[test]
fn lit_from_is_the_first_lit_sum() {
    let mut rng = crate::Rng::new(7);
    let mut cases = vec![(0, 0, 1), (1 << 30, 31, 1), (i32::MAX, 0, 1), (1, 63, 1)];
    for _ in 0..2000 {
        let multiplier = (rng.next_u32() >> (rng.next_u32() % 32)) as i32;
        let shift = (rng.next_u32() % 64) as u8;
        let k = rng.next_u32() as i32 >> (rng.next_u32() % 32);
        cases.push((multiplier, shift, k));
    }
    for (multiplier, shift, k) in cases {
        let from = lit_from(multiplier, shift, Some(k));
        let value = |sum: i32| requantize(sum, multiplier, shift);
        let case = format!("multiplier {multiplier}, shift {shift}, k {k}: lit from {from}");
        if multiplier < 0 {
            assert_eq!(from, i32::MIN, "{case}");
            continue;
        }
        if from > i32::MIN {
            assert!(value(from - 1) < k, "{case}: the sum below is lit");
        }
        if from < i32::MAX {
            assert!(value(from) >= k, "{case}: not lit");
        }
    }
    assert_eq!(lit_from(5, 3, None), i32::MIN);
    assert_eq!(lit_from(-5, 3, Some(1)), i32::MIN);
    assert_eq!(lit_from(0, 0, Some(1)), i32::MAX);
    assert_eq!(lit_from(1, 0, Some(1)), 1);
    assert_eq!(lit_from(1, 1, Some(1)), 1); // 1 / 2 rounds half away from zero: 1
    assert_eq!(lit_from(1, 2, Some(1)), 2);
}

/// `requantize_clamped` against `requantize` then a clamp: every shift, the extreme sums
/// and multipliers, random values of every size, and ranges inside and at the ends of
/// `i32` (the ReLU's, a pixel table's, the whole range).
#[test]
fn requantize_clamped_is_requantize_then_clamp() {
    let mut rng = crate::Rng::new(11);
    let wide = |rng: &mut crate::Rng| rng.next_u32() as i32 >> (rng.next_u32() % 32);
    let multipliers = [1, 2, 1 << 30, i32::MAX - 1, i32::MAX];
    let ranges = [
        (0, 255),
        (0, 127),
        (-300, 51_300),
        (i32::MIN, i32::MAX),
        (5, 5),
    ];
    let mut checked = 0;
    for shift in 0..=63u8 {
        let random = (0..200).map(|_| (wide(&mut rng), wide(&mut rng).max(1)));
        let edges = I32_EDGES
            .iter()
            .flat_map(|&s| multipliers.iter().map(move |&m| (s, m)));
        for (acc, multiplier) in edges.chain(random).collect::<Vec<_>>() {
            for (low, high) in ranges {
                let want = requantize(acc, multiplier, shift).clamp(low, high);
                let got = requantize_clamped(acc, multiplier, i32::from(shift), low, high);
                assert_eq!(
                    got, want,
                    "acc {acc}, multiplier {multiplier}, shift {shift}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 60_000, "{checked}");
}

/// The widest input with every `u` at its largest (255: three entries each with relaxed
/// SIMD) fits the list: every input listed in full.
#[test]
fn the_list_holds_the_widest_input_at_its_largest() {
    use crate::kernel::columns::List;
    let x = vec![127i8; MAX_INPUTS];
    let mut list = List::new();
    let mut got = vec![0u32; MAX_INPUTS + 1];
    for (column, u) in list.fill(&x).entries() {
        got[usize::from(column)] += u32::from(u);
    }
    assert!(got[..MAX_INPUTS].iter().all(|&u| u == 255), "{got:?}");
    assert_eq!(got[MAX_INPUTS], 0);
}

/// `List::fill` (the simd128 listing on wasm32, the relaxed-SIMD one there with it, the
/// one-by-one listing elsewhere) against the inputs written out: every listed input's
/// `u` split into entries of at most `MAX_U`, nothing else but the zero column filling
/// the last group, no more entries than needed; and `pass` against the sums written out,
/// refusing weights that hold fewer columns than the list reads.
#[test]
fn listed_entries_and_pass_match_the_sums_written_out() {
    use crate::kernel::columns::{GROUP, List, MAX_U, PASS_ROWS, pass, pass_len, put_weight};
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut list = List::new();
    for case in 0..400usize {
        // Every width up to 40, and some past 64 (the relaxed-SIMD listing's 64-input
        // chunks).
        let n = if case % 8 == 7 {
            60 + case % 90
        } else {
            case % 41
        };
        // Densities from all-zero (-128 everywhere) to none zero, and the extremes.
        let zeros = case % 5;
        let x: Vec<i8> = (0..n)
            .map(|_| {
                let r = next();
                match r % 8 {
                    _ if (r >> 3) % 4 < zeros as u64 => -128,
                    0 => 127,
                    1 => -1,
                    2 => 0,
                    _ => (r >> 8) as i8,
                }
            })
            .collect();
        let zero_column = n as u16; // the column after the inputs
        // After an earlier case's listing: stale entries must not show through.
        let entries: Vec<(u16, u16)> = list.fill(&x).entries().collect();
        let mut got = vec![0u32; n + 1];
        for &(column, u) in &entries {
            assert!(
                column <= zero_column && u <= u16::from(MAX_U),
                "case {case}"
            );
            assert!(column < zero_column || u == 0, "case {case}: filling {u}");
            got[usize::from(column)] += u32::from(u);
        }
        let want: Vec<u32> = x
            .iter()
            .map(|&v| u32::from(v as u8 ^ 0x80))
            .chain([0])
            .collect();
        assert_eq!(got, want, "case {case}: {x:?}");
        let needed: usize = want
            .iter()
            .map(|&u| u.div_ceil(u32::from(MAX_U)) as usize)
            .sum();
        assert_eq!(entries.len(), needed.next_multiple_of(GROUP), "case {case}");

        // Weights of n + 1 columns (the last all zero), random otherwise.
        let pass_len = pass_len(n);
        let mut weights = vec![0i16; pass_len];
        let mut w = vec![[0i8; PASS_ROWS]; n];
        for (i, column) in w.iter_mut().enumerate() {
            for (r, code) in column.iter_mut().enumerate() {
                *code = (next() % 256) as u8 as i8;
                put_weight(&mut weights, i, r, *code);
            }
        }
        let bias: [i32; PASS_ROWS] = core::array::from_fn(|_| next() as i32);
        let lit_from: [i32; PASS_ROWS] = core::array::from_fn(|r| match r % 3 {
            0 => i32::MIN,
            1 => i32::MAX,
            _ => (next() % 4000) as i32 - 2000,
        });
        let mut sums = bias;
        for (i, &v) in x.iter().enumerate() {
            let u = i32::from(v as u8 ^ 0x80);
            for (r, s) in sums.iter_mut().enumerate() {
                *s = s.wrapping_add(i32::from(w[i][r]) * u);
            }
        }
        let want_lit = sums
            .iter()
            .zip(&lit_from)
            .enumerate()
            .fold(0u32, |m, (r, (s, f))| m | u32::from(s >= f) << r);
        let mut acc = [0i32; PASS_ROWS];
        let listed = list.fill(&x);
        assert_eq!(
            pass(&weights, listed, &bias, &lit_from, &mut acc),
            Some(want_lit),
            "case {case}"
        );
        assert_eq!(acc, sums, "case {case}");
        // One column short: refused, whatever the list holds.
        let short = &weights[..pass_len - pass_len / (n + 1)];
        assert_eq!(pass(short, listed, &bias, &lit_from, &mut acc), None);
    }
}
