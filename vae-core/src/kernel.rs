//! Integer kernels: the arithmetic of the int8 decoder, shared by every target.
//!
//! Everything here is integer arithmetic with fully specified rounding (plus one IEEE `f32`
//! division and [`libm::roundf`] in [`quantize_i8`]), so host, Cortex-M and wasm compute
//! bit-identical results. The formulas are written out in `FORMAT.md`.
//!
//! * [`dense`] / [`dense_ref`]: `i8 x i8 -> i32` matrix-vector products. `dense_ref` is the
//!   plain definition; `dense` is the one the decoder runs, and the tests check they agree.
//!   `dense` is where a target specialises the dot products (a Cortex-M4 `dsp` variant
//!   using `SMLAD`; see its docs for every target's variant): it must produce exactly the
//!   values of `dense_ref`.
//! * On x86-64 with AVX-512 F, BW and VNNI (module `x86`, compiled in with those target
//!   features or detected at run time with the `std` feature) the decoder goes further and
//!   runs whole layers there, 16 rows at a time: `VPDPBUSD` dot products, then the
//!   requantization, ReLU and threshold search below in vector form. The tests compare it
//!   with the portable path bit for bit; every other target runs the portable path.
//! * [`requantize`]: `round_half_away_from_zero(acc * M / 2^n)`, the fixed-point rescale.
//! * [`relu_q`]: the hidden-layer activation, ReLU into an asymmetric int8 code.
//! * [`sigmoid_pixel`]: logit to pixel through the blob's 255 sorted thresholds.
//!
//! Weights are passed as the blob's raw bytes (`&[u8]`, each one an `i8` in two's
//! complement, reinterpreted with `as i8`). Int4 layers ([`WeightWidth::Int4`], two
//! codes per byte) go through [`dense_int4`](int4::dense_int4): it unpacks each code to
//! the `i8` it stands for and accumulates exactly as the int8 kernels do, so its sums are
//! [`dense_ref`]'s over the unpacked weights; on Cortex-M4/M7/M33 (`cfg(vae_dsp)`) it
//! unpacks eight codes per word into `SMLAD` lanes (module `packed_int4`), and on x86-64
//! and AArch64 blocks of rows are unpacked for the int8 tiers. All sums use wrapping
//! arithmetic, so no input can make a kernel panic; [`format::parse`](crate::format::parse)
//! rejects blobs whose accumulators could overflow, so for a parsed model nothing ever
//! wraps.

use crate::format::WeightWidth;

/// Reference dot product: `sum_i (weights[i] as i8) * x[i]` over the common length.
pub(crate) fn dot_ref(weights: &[u8], x: &[i8]) -> i32 {
    weights.iter().zip(x).fold(0i32, |acc, (&w, &xi)| {
        acc.wrapping_add(i32::from(w as i8) * i32::from(xi))
    })
}

/// Reference dense layer: for each row `j` of the row-major `[rows][x.len()]` matrix
/// `weights`, calls `sink(dot_ref(row_j, x))`, in row order.
///
/// `rows = weights.len() / x.len()`; a trailing partial row is ignored, and nothing is
/// produced when `x` is empty. No bias is added: the caller adds it to each value.
pub(crate) fn dense_ref(weights: &[u8], x: &[i8], mut sink: impl FnMut(i32)) {
    if x.is_empty() {
        return;
    }
    for row in weights.chunks_exact(x.len()) {
        sink(dot_ref(row, x));
    }
}

/// Dense layer as the decoder runs it: same contract and same results as [`dense_ref`].
///
/// * x86-64 with AVX-512 F, BW and VNNI (compiled in, or detected at run time with the
///   `std` feature): 16 rows at a time with `VPDPBUSD` (module `x86`).
/// * Cortex-M4/M7/M33 (`cfg(vae_dsp)`): `x` is sign-extended once into packed 16-bit
///   pairs, then four rows per pass with `SMLAD` ([`packed::dot4`], an `asm!` loop on the
///   M4; [`dense_quads`]). Leftover rows go through [`packed::dot3`] (three rows),
///   [`packed::dot2`] (two) and [`dot_ref`] (one); inputs past a multiple of 4 through
///   [`dot_ref`]. Layers wider than [`QUAD_MAX_INPUTS`] inputs take the three-row path.
/// * Cortex-M0/M0+ (`cfg(vae_thumb1)`): two rows per pass, four inputs per iteration of
///   a Thumb-1 `asm!` loop (module `thumb1`); the M0 has too few registers for more
///   rows. Other Arm cores without DSP (Cortex-M3): the same in Rust ([`dot2_portable`]).
/// * Everything else (x86-64 without AVX-512 VNNI, AArch64, wasm): one row at a time in
///   16 vectorizable lanes.
#[cfg(test)]
pub(crate) fn dense(weights: &[u8], x: &[i8], sink: impl FnMut(i32)) {
    dense_with(accel(), weights, x, sink);
}

/// [`dense`] with the accelerated kernels `accel` (`None`: the portable ones).
pub(crate) fn dense_with(
    accel: Option<Accel>,
    weights: &[u8],
    x: &[i8],
    mut sink: impl FnMut(i32),
) {
    match accel {
        Some(a) => a.dense(weights, x, &mut sink),
        None => dense_portable(weights, x, sink),
    }
}

/// The accelerated kernels this CPU runs: one variant per SIMD tier compiled for the
/// target (AVX-512 VNNI and AVX2 on x86-64, NEON on AArch64, simd128 on wasm32). On a
/// target without any the enum is empty, so `Option<Accel>` is always `None` and the code
/// that uses it compiles away.
///
/// Every tier has the same three entry points, with the contracts of `x86::Vnni`'s:
/// `dense` (same values as [`dense_ref`]), and `hidden` / `pixels` (whole layers; `false`
/// and the output untouched when the tier does not take the layer, and the caller runs
/// the rows through `dense`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Accel {
    /// x86-64 AVX-512 F, BW and VNNI.
    #[cfg(target_arch = "x86_64")]
    Vnni(x86::Vnni),
    /// x86-64 AVX2.
    #[cfg(target_arch = "x86_64")]
    Avx2(x86::Avx2),
    /// AArch64 NEON (with or without the dot-product extension).
    #[cfg(target_arch = "aarch64")]
    Neon(neon::Neon),
    /// wasm32 with the simd128 target feature.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    Simd128(wasm::Simd128),
}

// On a target without SIMD tiers the enum is empty and the arguments go unused.
#[cfg_attr(
    not(any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        all(target_arch = "wasm32", target_feature = "simd128")
    )),
    allow(unused_variables)
)]
impl Accel {
    /// `sink(dot(row_j, x))` for every whole row of `weights`, in order ([`dense_ref`]'s
    /// values).
    #[inline]
    pub(crate) fn dense(self, weights: &[u8], x: &[i8], sink: &mut impl FnMut(i32)) {
        match self {
            #[cfg(target_arch = "x86_64")]
            Accel::Vnni(k) => k.dense(weights, x, sink),
            #[cfg(target_arch = "x86_64")]
            Accel::Avx2(k) => k.dense(weights, x, sink),
            #[cfg(target_arch = "aarch64")]
            Accel::Neon(k) => k.dense(weights, x, sink),
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            Accel::Simd128(k) => k.dense(weights, x, sink),
        }
    }

    /// A whole hidden layer (see `x86::Vnni::hidden`); `false` when not taken (always for
    /// an int4 layer: the tiers take int8 layers only).
    #[inline]
    pub(crate) fn hidden(
        self,
        layer: &crate::format::Dense<'_>,
        x: &[i8],
        class_bias: &[u8],
        zero_point: i8,
        out: &mut [i8],
    ) -> bool {
        if layer.weight_width != WeightWidth::Int8 {
            return false;
        }
        match self {
            #[cfg(target_arch = "x86_64")]
            Accel::Vnni(k) => k.hidden(layer, x, class_bias, zero_point, out),
            #[cfg(target_arch = "x86_64")]
            Accel::Avx2(k) => k.hidden(layer, x, class_bias, zero_point, out),
            #[cfg(target_arch = "aarch64")]
            Accel::Neon(k) => k.hidden(layer, x, class_bias, zero_point, out),
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            Accel::Simd128(k) => k.hidden(layer, x, class_bias, zero_point, out),
        }
    }

    /// The whole last layer to pixels (see `x86::Vnni::pixels`); `false` when not taken
    /// (always for an int4 layer).
    #[inline]
    pub(crate) fn pixels(
        self,
        layer: &crate::format::Dense<'_>,
        x: &[i8],
        class_bias: &[u8],
        thresholds: &[u8],
        out: &mut [u8; crate::IMAGE_PIXELS],
    ) -> bool {
        if layer.weight_width != WeightWidth::Int8 {
            return false;
        }
        match self {
            #[cfg(target_arch = "x86_64")]
            Accel::Vnni(k) => k.pixels(layer, x, class_bias, thresholds, out),
            #[cfg(target_arch = "x86_64")]
            Accel::Avx2(k) => k.pixels(layer, x, class_bias, thresholds, out),
            #[cfg(target_arch = "aarch64")]
            Accel::Neon(k) => k.pixels(layer, x, class_bias, thresholds, out),
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            Accel::Simd128(k) => k.pixels(layer, x, class_bias, thresholds, out),
        }
    }
}

/// The accelerated kernels the decoder runs by default: those of [`Tier::detect`].
#[inline]
pub(crate) fn accel() -> Option<Accel> {
    #[cfg(any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        all(target_arch = "wasm32", target_feature = "simd128")
    ))]
    {
        Tier::detect().kernels().flatten()
    }
    #[cfg(not(any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        all(target_arch = "wasm32", target_feature = "simd128")
    )))]
    {
        None
    }
}

/// A set of decoder kernels: the portable ones, which every target runs, or one of the
/// SIMD tiers. Every tier produces the same bytes (the tests compare them bit for bit);
/// they differ only in speed.
///
/// [`Tier::detect`] is the tier a decode runs by default: the fastest one this CPU has
/// ([`Tier::best`]), unless the `std` feature is on and the environment variable
/// `VAE_KERNEL` names another (read once per process):
///
/// | `VAE_KERNEL` | tier |
/// |---|---|
/// | `portable` | [`Tier::Portable`] |
/// | `avx2` | [`Tier::Avx2`] |
/// | `avxvnni` | [`Tier::AvxVnni`] |
/// | `avx512` | [`Tier::Avx512Vnni`] |
/// | `neon` | [`Tier::Neon`] |
/// | `simd128` | [`Tier::Simd128`] |
///
/// A named tier this CPU lacks gives the next slower one it has (`avx512` on an AVX2-only
/// CPU runs AVX2, on Alder Lake AVX-VNNI; `avx2` or `neon` elsewhere runs the portable kernels); unset, empty or
/// any other value gives [`Tier::best`]. Without `std` (firmware, `no_std` hosts) there
/// is no environment: run a tier with
/// [`DecoderCore::decode_quantized_on`](crate::DecoderCore::decode_quantized_on) (or
/// `host::Engine::with_tier`) instead; [`Tier::available`] lists the choices.
///
/// Detection needs no `std`: on x86-64 it is `CPUID` and `XGETBV` in `core`, cached after
/// the first call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Tier {
    /// The portable Rust loops (every target).
    Portable,
    /// x86-64 AVX2: in the blob's order eight rows per pass, exact `i16` products
    /// (`VPMADDWD`); in the host engine, repacked columns and nibble-split `VPMADDUBSW`.
    Avx2,
    /// x86-64 AVX2 with `VPDPBUSD` on 256-bit registers (AVX-VNNI, as on Intel's client
    /// chips since Alder Lake, or AVX-512 VNNI with VL): in the host engine, the AVX2
    /// tier's repacked columns four inputs per `VPDPBUSD`; in the blob's order, the AVX2
    /// kernels.
    AvxVnni,
    /// x86-64 AVX-512 F, BW and VNNI: whole layers, 16 rows per pass (`VPDPBUSD`).
    Avx512Vnni,
    /// AArch64 NEON.
    Neon,
    /// wasm32 simd128 (compiled in with `-C target-feature=+simd128`).
    Simd128,
}

impl Tier {
    /// Every tier, fastest first within each architecture, [`Tier::Portable`] last: the
    /// order in which [`best`](Self::best) and `VAE_KERNEL` look for one this CPU has.
    pub const ALL: [Tier; 6] = [
        Tier::Avx512Vnni,
        Tier::AvxVnni,
        Tier::Avx2,
        Tier::Neon,
        Tier::Simd128,
        Tier::Portable,
    ];

    /// The tier's `VAE_KERNEL` name: `portable`, `avx2`, `avxvnni`, `avx512`, `neon` or
    /// `simd128`.
    pub const fn name(self) -> &'static str {
        match self {
            Tier::Portable => "portable",
            Tier::Avx2 => "avx2",
            Tier::AvxVnni => "avxvnni",
            Tier::Avx512Vnni => "avx512",
            Tier::Neon => "neon",
            Tier::Simd128 => "simd128",
        }
    }

    /// The tier called `name` (see [`name`](Self::name)), if any.
    pub fn from_name(name: &str) -> Option<Tier> {
        Tier::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Whether this CPU runs the tier ([`Tier::Portable`] always).
    pub fn is_available(self) -> bool {
        self.kernels().is_some()
    }

    /// The tiers this CPU runs, fastest first, [`Tier::Portable`] last (ignores
    /// `VAE_KERNEL`).
    pub fn available() -> impl Iterator<Item = Tier> {
        Tier::ALL.into_iter().filter(|t| t.is_available())
    }

    /// The fastest tier this CPU runs (ignores `VAE_KERNEL`).
    pub fn best() -> Tier {
        Tier::available().next().unwrap_or(Tier::Portable)
    }

    /// The tier decodes run by default: [`best`](Self::best), or with the `std` feature
    /// the one `VAE_KERNEL` asks for (see [`Tier`]).
    #[inline]
    pub fn detect() -> Tier {
        #[cfg(any(feature = "std", test))]
        if let Some(tier) = forced() {
            return tier;
        }
        Tier::best()
    }

    /// The fastest tier this CPU runs among `self` and the slower ones after it in
    /// [`Tier::ALL`].
    pub(crate) fn at_most(self) -> Tier {
        let start = Tier::ALL.iter().position(|&t| t == self).unwrap_or(0);
        Tier::ALL
            .get(start..)
            .unwrap_or_default()
            .iter()
            .copied()
            .find(|t| t.is_available())
            .unwrap_or(Tier::Portable)
    }

    /// The tier's kernels: `None` when this CPU lacks it, `Some(None)` for the portable
    /// ones.
    #[inline]
    pub(crate) fn kernels(self) -> Option<Option<Accel>> {
        match self {
            Tier::Portable => Some(None),
            #[cfg(target_arch = "x86_64")]
            Tier::Avx512Vnni => x86::Vnni::detect().map(|k| Some(Accel::Vnni(k))),
            #[cfg(target_arch = "x86_64")]
            Tier::AvxVnni => (x86::cpu::has_avx_vnni() || x86::cpu::has_avx512_vnni_vl())
                .then(x86::Avx2::detect)
                .flatten()
                .map(|k| Some(Accel::Avx2(k))),
            #[cfg(target_arch = "x86_64")]
            Tier::Avx2 => x86::Avx2::detect().map(|k| Some(Accel::Avx2(k))),
            #[cfg(target_arch = "aarch64")]
            Tier::Neon => neon::Neon::detect().map(|k| Some(Accel::Neon(k))),
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            Tier::Simd128 => Some(Some(Accel::Simd128(wasm::Simd128::new()))),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }
}

impl core::fmt::Display for Tier {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// `VAE_KERNEL`'s tier, read once: `None` when it is unset or names no tier.
#[cfg(any(feature = "std", test))]
fn forced() -> Option<Tier> {
    use core::sync::atomic::{AtomicU8, Ordering};
    // 0: not read yet; 1: no tier named; 2 + i: Tier::ALL[i].
    static FORCED: AtomicU8 = AtomicU8::new(0);
    let code = match FORCED.load(Ordering::Relaxed) {
        0 => {
            let named = std::env::var("VAE_KERNEL")
                .ok()
                .and_then(|v| Tier::from_name(v.trim()));
            let code = named
                .and_then(|t| Tier::ALL.iter().position(|&a| a == t))
                .map_or(1, |i| 2 + i as u8);
            FORCED.store(code, Ordering::Relaxed);
            code
        }
        c => c,
    };
    let tier = Tier::ALL.get(usize::from(code.checked_sub(2)?))?;
    Some(tier.at_most())
}

mod arith;
mod int4;
#[cfg(any(vae_dsp, test))]
mod packed;
#[cfg(any(vae_dsp, test))]
mod packed_int4;
#[cfg_attr(
    all(target_arch = "wasm32", target_feature = "relaxed-simd"),
    allow(dead_code)
)]
pub(crate) mod pairs;
mod portable;
/// The repacked decoder's kernel from `i8` columns with relaxed SIMD (wasm32).
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
#[allow(unsafe_code)]
pub(crate) mod quads;
#[cfg(not(all(target_arch = "wasm32", target_feature = "relaxed-simd")))]
pub(crate) use pairs as columns;
/// The repacked decoder's columns, list and pass: `i8` quads with wasm32 relaxed SIMD,
/// `i16` pairs everywhere else.
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
pub(crate) use quads as columns;
pub(crate) mod requant_f64;
/// The RV32 dense loop (no SIMD): eight rows per pass, 16 inputs per iteration (`asm!` on
/// RV32). Compiled on every target, so `dense_portable` names it without `cfg` and the
/// host tests run its blocking.
mod riscv;
/// The Cortex-M0/M0+ two-row loop in Thumb-1 `asm!`.
#[cfg(vae_thumb1)]
#[allow(unsafe_code)]
mod thumb1;

pub(crate) use arith::{fill_pixel_table, pixel_range};
pub use arith::{quantize_i8, relu_q, requantize, sigmoid_pixel};

pub(crate) use int4::{dense_int4_portable, dense_int4_with};
pub(crate) use portable::dense_portable;

/// AVX-512 VNNI layers: intrinsics whose loads and stores go through raw pointers into
/// slices checked in safe code, and calls into `#[target_feature]` functions made only
/// after the CPU features are known to be there.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
pub(crate) mod x86;

/// AArch64 NEON kernels (SDOT where the CPU has the dot-product extension).
#[cfg(target_arch = "aarch64")]
#[allow(unsafe_code)]
pub(crate) mod neon;

/// wasm32 simd128 kernels (compiled in with `-C target-feature=+simd128`).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[allow(unsafe_code)]
pub(crate) mod wasm;

// proptest does not build for wasm32-wasip1, where CI runs the other tests.
#[cfg(all(test, not(target_family = "wasm")))]
mod proptests;
#[cfg(test)]
pub(crate) mod tests;
