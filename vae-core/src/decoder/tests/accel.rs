//! The accelerated kernels (and the host engine's layout) against the portable path, bit
//! for bit, on models that stress every accumulator and edge case.

use super::*;

/// The accelerated kernels of this CPU ([`kernel::accel`]: AVX-512 VNNI on x86-64), if
/// any; says on stderr when there are none, so that a run without them is visible.
fn accel_or_skip(test: &str) -> Option<kernel::Accel> {
    let accel = kernel::accel();
    if accel.is_none() {
        std::eprintln!("{test}: no accelerated kernels on this CPU; SIMD comparison skipped");
    }
    accel
}

/// A random blob with `hidden` layers, whose hidden zero points, multipliers, shifts and
/// thresholds are also randomized (still a valid blob), to reach the corners of the
/// arithmetic: saturating requantization, zero points other than -128, extreme and
/// repeated thresholds.
fn stressed(seed: u64, latent: usize, hidden: &[usize], classes: Option<u8>) -> QuantizedMlp {
    let mut q = QuantizedMlp::random(seed, latent, hidden, classes);
    let mut rng = Rng::new(seed ^ 0x5eed);
    let n_layers = q.layers.len();
    for (k, layer) in q.layers.iter_mut().enumerate() {
        if k > 0 && seed % 2 == 1 {
            layer.input_zero_point = rng.next_u32() as i8;
        }
        if seed % 3 == 2 {
            for m in layer.multipliers.chunks_exact_mut(4) {
                // Positive, anywhere in 1..2^31.
                let v = (rng.next_u32() >> 1).max(1) >> (rng.next_u32() % 31);
                m.copy_from_slice(&v.max(1).to_le_bytes());
            }
            for s in layer.shifts.iter_mut() {
                *s = (rng.next_u32() % 64) as u8;
            }
        }
        let _ = n_layers;
    }
    if seed % 4 == 3 {
        let mut t: Vec<i32> = (0..crate::format::NUM_THRESHOLDS)
            .map(|_| (rng.next_u32() as i32) >> (rng.next_u32() % 32))
            .collect();
        t[0] = i32::MIN;
        t[254] = i32::MAX;
        t.sort_unstable();
        t[100] = t[99];
        t[101] = t[99];
        q.pixel_thresholds = t.iter().flat_map(|v| v.to_le_bytes()).collect();
    }
    q
}

/// `decode_quantized` and `logits` through the accelerated kernels and through the
/// portable ones, for random latents (extremes included): the same bytes; the portable
/// path also against [`naive_decode`].
fn accelerated_matches_portable<const L: usize, const H: usize>(
    seed: u64,
    hidden: &[usize],
    classes: Option<u8>,
    accel: Option<kernel::Accel>,
) {
    let q = stressed(seed, L, hidden, classes);
    let blob = q.blob();
    let dec = Decoder::<L, H>::from_bytes(&blob).unwrap();
    let mut rng = Rng::new(seed);
    let (mut portable, mut fast) = ([0u8; IMAGE_PIXELS], [0u8; IMAGE_PIXELS]);
    let (mut logits, mut fast_logits) = ([0f32; IMAGE_PIXELS], [0f32; IMAGE_PIXELS]);
    #[cfg(target_arch = "x86_64")]
    let layout = crate::kernel::x86::host_layout::HostLayout::new(dec.model());
    #[cfg(target_arch = "x86_64")]
    if accel.is_some() && layout.is_none() {
        std::eprintln!("no AVX-512 VBMI2: the host layout's comparison is skipped");
    }
    for case in 0..14 {
        let z_q: [i8; L] = match case {
            0 => [127; L],
            1 => [-127; L],
            2 => [0; L],
            // -128 is the code the host layout skips (u = 0).
            3 => [-128; L],
            4 => core::array::from_fn(|_| match rng.next_u32() % 3 {
                0 => -128,
                _ => (rng.next_u32() % 256) as u8 as i8,
            }),
            _ => core::array::from_fn(|_| ((rng.next_u32() % 255) as i32 - 127) as i8),
        };
        let label = classes.map(|c| (case % usize::from(c)) as u8);
        #[cfg(target_arch = "x86_64")]
        let class_bias = dec.core().class_bias(label).unwrap();
        let core = dec.core();
        let mut scratch = std::vec![0i8; core.scratch_len()];
        let what = std::format!("seed {seed} L {L} hidden {hidden:?} case {case}");
        core.pixels_with(None, &z_q, label, &mut scratch, &mut portable)
            .unwrap();
        if case < 4 {
            assert_eq!(
                portable.to_vec(),
                naive_decode(dec.model(), &z_q, label),
                "{what}"
            );
        }
        core.logits_with(None, &z_q, label, &mut scratch, &mut logits)
            .unwrap();
        if let Some(a) = accel {
            core.pixels_with(Some(a), &z_q, label, &mut scratch, &mut fast)
                .unwrap();
            assert_eq!(fast, portable, "pixels: {what}");
            core.logits_with(Some(a), &z_q, label, &mut scratch, &mut fast_logits)
                .unwrap();
            let bits = |l: &[f32]| l.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&fast_logits), bits(&logits), "logits: {what}");
        }
        #[cfg(target_arch = "x86_64")]
        if let Some(layout) = &layout {
            fast.fill(0xAA);
            assert!(
                layout.pixels(dec.model(), &z_q, class_bias, &mut fast),
                "{what}"
            );
            assert_eq!(fast, portable, "host layout: {what}");
            // The same model with its thresholds elsewhere: the layout's tree was built
            // from the original bytes, so it must build one from these.
            let copy = dec.model().pixel_thresholds.to_vec();
            let mut moved = dec.model().clone();
            moved.pixel_thresholds = &copy;
            fast.fill(0xAA);
            assert!(layout.pixels(&moved, &z_q, class_bias, &mut fast), "{what}");
            assert_eq!(fast, portable, "host layout, thresholds moved: {what}");
        }
    }
}

/// The SIMD tiers this CPU runs (every one, not only the fastest), each with its kernels;
/// says on stderr when there are none, so that a run without them is visible.
fn simd_tiers(test: &str) -> Vec<(crate::Tier, kernel::Accel)> {
    // Each set of kernels once, under the slowest tier that runs it (the AVX-VNNI tier's
    // blob-order kernels are AVX2's).
    let mut tiers: Vec<(crate::Tier, kernel::Accel)> = std::vec::Vec::new();
    for t in crate::Tier::available()
        .collect::<std::vec::Vec<_>>()
        .into_iter()
        .rev()
    {
        if let Some(Some(accel)) = t.kernels()
            && !tiers.iter().any(|&(_, a)| a == accel)
        {
            tiers.push((t, accel));
        }
    }
    if tiers.is_empty() {
        std::eprintln!("{test}: no SIMD tier on this CPU; SIMD comparison skipped");
    }
    tiers
}

#[test]
fn accelerated_kernels_are_bit_exact_with_portable() {
    let _ = accel_or_skip("accelerated_kernels_are_bit_exact_with_portable");
    for (tier, accel) in simd_tiers("accelerated_kernels_are_bit_exact_with_portable") {
        std::eprintln!("tier {tier}");
        let accel = Some(accel);
        // Widths around the kernels' cases: rows of <= 32 bytes two per register, 16- and
        // 64-byte chunks plus a partial one, blocks of 8 and 16 rows plus leftover rows;
        // the default blob's 20 -> 256 -> 256 -> 784.
        for seed in 0..4 {
            accelerated_matches_portable::<20, 256>(seed, &[256, 256], None, accel);
            accelerated_matches_portable::<1, 64>(seed, &[1, 64], None, accel);
            accelerated_matches_portable::<2, 100>(seed, &[33, 100], Some(10), accel);
            accelerated_matches_portable::<4, 72>(seed, &[32, 72, 17], Some(3), accel);
            accelerated_matches_portable::<7, 130>(seed, &[130, 65], None, accel);
            accelerated_matches_portable::<16, 600>(seed, &[600], Some(10), accel);
            accelerated_matches_portable::<31, 48>(seed, &[48, 31], None, accel);
            accelerated_matches_portable::<64, 0>(seed, &[], Some(10), accel);
            accelerated_matches_portable::<100, 16>(seed, &[16], None, accel);
            accelerated_matches_portable::<15, 23>(seed, &[23, 9], None, accel);
        }
    }
}

/// Every tier this CPU runs (portable included) decodes the committed blobs' golden
/// seeds to the CRC-32s in `examples/models/golden*.txt`, through `DecoderCore` and the
/// host engine.
#[test]
fn every_tier_produces_the_golden_bytes() {
    let cases: [(&[u8], &str); 2] = [
        (
            include_bytes!("../../../../examples/models/decoder.bin"),
            include_str!("../../../../examples/models/golden.txt"),
        ),
        (
            include_bytes!("../../../../examples/models/decoder-small.bin"),
            include_str!("../../../../examples/models/golden-small.txt"),
        ),
    ];
    let tiers: Vec<_> = crate::Tier::available().collect();
    assert_eq!(tiers.last(), Some(&crate::Tier::Portable));
    for (blob, golden) in cases {
        let core = DecoderCore::from_bytes(blob).unwrap();
        let latent = core.shape().latent;
        for &tier in &tiers {
            let engine =
                crate::host::Engine::with_tier(DecoderCore::from_bytes(blob).unwrap(), tier);
            assert_eq!(engine.tier(), tier);
            let mut lines = std::string::String::new();
            for seed in 0..8u64 {
                let mut z = std::vec![0f32; latent];
                core.prior_latent(&Request::new(seed), &mut z).unwrap();
                let z_q = engine.quantize_latent(&z).unwrap();
                let mut scratch = std::vec![0i8; core.scratch_len()];
                let mut image = [0u8; IMAGE_PIXELS];
                core.decode_quantized_on(tier, &z_q, None, &mut scratch, &mut image)
                    .unwrap();
                let mut via_engine = [0u8; IMAGE_PIXELS];
                engine
                    .decode_quantized(&z_q, None, &mut via_engine)
                    .unwrap();
                assert_eq!(image, via_engine, "tier {tier} seed {seed}");
                let crc = crate::format::crc32(&image);
                lines.push_str(&std::format!("seed {seed}: crc32 {crc:08x}\n"));
            }
            assert_eq!(lines, golden, "tier {tier}");
        }
    }
}

/// `VAE_KERNEL` (when set, as `.ci/x86-tiers.sh` does) picks the default tier, so that a
/// misspelt or ignored value fails instead of silently testing the fastest tier.
#[test]
fn vae_kernel_names_the_default_tier() {
    match std::env::var("VAE_KERNEL") {
        Ok(name) if !name.is_empty() => {
            let tier = crate::Tier::from_name(&name)
                .unwrap_or_else(|| panic!("VAE_KERNEL={name} names no tier"));
            if tier.is_available() {
                assert_eq!(crate::Tier::detect(), tier);
            } else {
                assert!(crate::Tier::detect() != tier);
            }
        }
        _ => assert_eq!(crate::Tier::detect(), crate::Tier::best()),
    }
    for t in crate::Tier::ALL {
        assert_eq!(crate::Tier::from_name(t.name()), Some(t));
        assert!(t.at_most().is_available());
    }
    assert!(crate::Tier::Portable.is_available());
}
