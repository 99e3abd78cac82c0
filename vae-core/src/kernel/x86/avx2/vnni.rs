//! The host engine's products on 256-bit `VPDPBUSD` (tier `AvxVnni`): four listed inputs
//! (module `quads`) against 32 rows per step, in the AVX2 layout's column order.
//!
//! `VPDPBUSD` on YMM registers comes in two encodings with the same semantics: VEX
//! (AVX-VNNI: Intel since Alder Lake and Sapphire Rapids, AMD since Zen 5) and EVEX
//! (AVX-512 VNNI with VL: Intel since Ice Lake and Cascade Lake, AMD Zen 4). A CPU may
//! have either; [`Vnni256`] records which one it runs, and the pass is compiled once per
//! encoding from one body ([`quad_pass!`]), so both compute the same integers by
//! construction and a machine with either runs the same code the tests check.
//!
//! Per quad of inputs `a, b, c, d` and line of 32 rows: the four columns' lines
//! interleaved byte by byte (`a` with `b`, `c` with `d`: `VPUNPCK{L,H}BW`) and then word
//! by word (`VPUNPCK{L,H}WD`) leave, in each of four registers, eight rows' four weights
//! side by side in a dword; `VPDPBUSD` multiplies them by the four `u` broadcast and adds
//! each row's four products to its `i32` lane. The packing puts each row where the two
//! interleavings leave it in order ([`position`]).

use core::arch::x86_64::*;

use super::dot::ROWS;
use super::line::{LINE, Line, assert_line_permutation};
use super::quads::QuadView;
use crate::kernel::x86::cpu;

/// Proof that the CPU runs AVX2 and `VPDPBUSD` on YMM registers, in the encoding it
/// names: made only by [`Vnni256::detect`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Vnni256 {
    /// AVX-VNNI (VEX).
    Vex,
    /// AVX-512 VNNI with VL (EVEX).
    Evex,
}

impl Vnni256 {
    /// The encoding this CPU runs, VEX first (shorter, and no AVX-512 state needed);
    /// `None` without AVX2 or without either.
    pub(crate) fn detect() -> Option<Self> {
        if cpu::has_avx_vnni() {
            Some(Vnni256::Vex)
        } else if cpu::has_avx512_vnni_vl() {
            Some(Vnni256::Evex)
        } else {
            None
        }
    }

    /// `f(b, sums)` for the `4 K` blocks of eight rows of the pass's `K` lines from line
    /// `first`, summed over `quads`: `data` holds the pass's lines column by column (`K`
    /// per column, [`position`] order). Nothing when a listed column is past `data`.
    #[inline]
    pub(super) fn pass<const K: usize>(
        self,
        data: &[Line],
        quads: QuadView<'_>,
        first: usize,
        f: &mut impl FnMut(usize, __m256i),
    ) {
        // SAFETY: `self` exists only when the CPU runs AVX2 and its encoding.
        unsafe {
            match self {
                Vnni256::Vex => pass_vex::<K>(data, quads, first, f),
                Vnni256::Evex => pass_evex::<K>(data, quads, first, f),
            }
        }
    }
}

/// Where row `r` (`0..32`) of a line is stored: the byte interleaving `U` (low, high) and
/// then the word interleaving `V` leave byte `16 h + 8 U + 4 V + m` in dword lane
/// `4 h + m` of register `2 U + V` (each 128-bit half `h` interleaves on its own); this
/// puts row `8 (2 U + V) + 4 h + m` there, so that register `k` of a line holds rows
/// `8 k .. 8 k + 8` in order.
pub(super) const fn position(r: usize) -> usize {
    let (register, lane) = (r / ROWS, r % ROWS);
    let (u, v) = (register / 2, register % 2);
    let (h, m) = (lane / 4, lane % 4);
    16 * h + 8 * u + 4 * v + m
}

// A line is four registers of eight rows, and `position` a permutation of its bytes.
const _: () = assert!(LINE == 4 * ROWS);
assert_line_permutation!(position);

/// The pass's body, once per encoding: `$name` with `#[target_feature(enable =
/// $features)]`, `$dpbusd` the `VPDPBUSD` intrinsic of that encoding.
macro_rules! quad_pass {
    ($name:ident, $features:literal, $dpbusd:ident) => {
        /// [`Vnni256::pass`] in one encoding.
        ///
        /// # Safety
        /// The CPU must run the target features.
        #[inline]
        #[target_feature(enable = $features)]
        unsafe fn $name<const K: usize>(
            data: &[Line],
            quads: QuadView<'_>,
            first: usize,
            f: &mut impl FnMut(usize, __m256i),
        ) {
            let (columns, _) = data.as_chunks::<K>();
            if columns.len() < quads.bound() {
                return;
            }
            let mut acc = [[_mm256_setzero_si256(); 4]; K];
            for (quad, u) in quads.columns().iter().zip(quads.values()) {
                let u = _mm256_set1_epi32(i32::from_le_bytes(*u));
                // SAFETY: every column is below `quads.bound()` (`QuadView`'s invariant,
                // which `Quads::fill`, its only maker, keeps), and that is at most
                // `columns.len()` (checked above).
                let [a, b, c, d] = quad.map(|i| unsafe { columns.get_unchecked(usize::from(i)) });
                // SAFETY (every load): exactly the 32 bytes of a 32-byte aligned `Line`.
                let load = |line: &Line| unsafe { _mm256_load_si256(line.0.as_ptr().cast()) };
                for (k, acc) in acc.iter_mut().enumerate() {
                    let (wa, wb) = (load(&a[k]), load(&b[k]));
                    let (ab_lo, ab_hi) =
                        (_mm256_unpacklo_epi8(wa, wb), _mm256_unpackhi_epi8(wa, wb));
                    let (wc, wd) = (load(&c[k]), load(&d[k]));
                    let (cd_lo, cd_hi) =
                        (_mm256_unpacklo_epi8(wc, wd), _mm256_unpackhi_epi8(wc, wd));
                    acc[0] = $dpbusd(acc[0], u, _mm256_unpacklo_epi16(ab_lo, cd_lo));
                    acc[1] = $dpbusd(acc[1], u, _mm256_unpackhi_epi16(ab_lo, cd_lo));
                    acc[2] = $dpbusd(acc[2], u, _mm256_unpacklo_epi16(ab_hi, cd_hi));
                    acc[3] = $dpbusd(acc[3], u, _mm256_unpackhi_epi16(ab_hi, cd_hi));
                }
            }
            for (k, sums) in acc.into_iter().enumerate() {
                for (v, s) in sums.into_iter().enumerate() {
                    f(4 * (first + k) + v, s);
                }
            }
        }
    };
}

quad_pass!(pass_vex, "avx2,avxvnni", _mm256_dpbusd_avx_epi32);
quad_pass!(pass_evex, "avx2,avx512vnni,avx512vl", _mm256_dpbusd_epi32);
