//! The host engine's weight layout: each layer's weights repacked once, input by input,
//! so that a decode reads only the weights of the inputs that are not zero.
//!
//! A hidden layer's input is a ReLU output, and about half of it is exactly zero (on the
//! default blob 48% of layer 1's outputs, 50% of layer 0's, over 2,000 prior latents).
//! The blob stores weights row by row, so every row must read every input's weight. Here
//! the weights of input `i` are one contiguous column (all rows, padded to a multiple of
//! 64), so a layer reads only the columns of its non-zero inputs: about half the bytes
//! and half the `VPDPBUSD`s, and no horizontal sums either, because each accumulator lane
//! is one row.
//!
//! Per layer and decode:
//!
//! 1. The input codes become `u = x + 128` (`x ^ 0x80`): the unsigned operand of
//!    `VPDPBUSD`, and `0` exactly for the code `-128`, the real 0 of a ReLU layer
//!    (`input_zero_point = -128`). Then `sum_i w_i x_i = sum_i w_i u_i - 128 sum_i w_i`;
//!    the last term is a per-row constant, folded into a copy of the bias when packing
//!    (with the multipliers and shifts, 64-byte aligned per block of 16 rows).
//! 2. `VPCOMPRESSB` / `VPCOMPRESSW` (AVX-512 VBMI2) list the non-zero `u_i` and their
//!    indices, padded to a multiple of four with `u = 0`.
//! 3. Four listed inputs at a time ("a quad"), 64 rows at a time ("a chunk"): one
//!    64-byte load from each of the four columns, two levels of byte and word
//!    interleaving (`VPUNPCK*`) into four registers whose dword `d` holds the four
//!    inputs' weights of one row, and four `VPDPBUSD`s against the four `u` broadcast.
//!    The packing stores each chunk's rows in the order that makes the interleaving put
//!    rows `16 j .. 16 j + 16` in register `j`, in order.
//! 4. A pass keeps up to five chunks' 20 accumulators in registers over all the quads
//!    (more spill); then the layer's usual epilogue (requantize, then ReLU) runs on them,
//!    while the next pass's loads are already in flight. The last layer's values are
//!    clamped to the thresholds' range and turned into pixels by the lookup of
//!    [`super::pixel_lut`], fitted once per layout (the search tree where it does not
//!    fit).
//! 5. The last layer's 784 rows are 12 chunks and one block: that block (rows 768..784)
//!    is not packed but read in the blob's order with the blob-order kernel, 64 lines in
//!    sequence instead of a mostly-padding line per non-zero input.
//!
//! The sums are the same integers as the blob-order kernels' (exact modulo 2^32, whose
//! true value fits `i32`), so the bytes are identical; the tests and the fuzzer compare
//! them.
//!
//! What is left of a decode's time is mostly reading the weights from L2: a decode reads
//! about 2,300 cache lines, and the shuffles and `VPDPBUSD`s largely hide behind those
//! loads. The layout is the fastest of the variants measured (prefetching, other pass
//! sizes, fused or deferred epilogues, packed parameters, 2 MB pages, ...);
//! `docs/PERFORMANCE.md` has the measurements, what was tried and what it cost.

use core::arch::x86_64::*;
use std::vec::Vec;

use crate::IMAGE_PIXELS;
use crate::format::{Dense, Model};

use super::hidden::{hidden_codes, hidden_rest};
use super::pixel_lut::PixelLut;
use super::pixels::{FULL_RANGE, pixel_sums, pixel_values, search_pixels};
use super::rows::{BlockParams, Rows};
use super::tree::Tree;
use super::walk::{PackedShape, walk};
use super::{BLOCK, PIXEL_BLOCKS, Vnni};
use crate::format::NUM_THRESHOLDS;

/// Rows per chunk: one 64-byte load per column.
const CHUNK: usize = 64;

/// The most chunks one pass keeps in registers (4 accumulators each, 20 in all).
const MAX_PASS: usize = 5;

/// The widest layer input the engine takes (the host tools' widest hidden layer).
pub(crate) const MAX_INPUTS: usize = 4096;

/// Room for the list of `W` inputs: stores of 64 bytes may start at any listed position
/// below `W`, and the padding adds up to 3.
const fn list_len(w: usize) -> usize {
    w + CHUNK + 4
}

/// One cache line of weights.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u8; CHUNK]);

/// One layer in column order.
struct Layer {
    /// Inputs (columns).
    inputs: usize,
    /// Rows of the blob's layer.
    rows: usize,
    /// Chunks of 64 rows per column (the last one padded with zero weights; the pixel
    /// layer has its 12 whole chunks only, see [`Layer::new`]).
    chunks: usize,
    /// Column `i`, chunk `c` at `lines[i * chunks + c]`.
    lines: Vec<Line>,
    /// Each block's epilogue parameters, padded blocks included.
    params: Vec<Params>,
}

/// One block's epilogue parameters, as [`BlockParams`] reads them: the blob's bias minus
/// `-128 * sum_i w[r][i]` (wrapping; what the sums over `u = x + 128` have on top of the
/// sums over `x`), the blob's multipliers and shifts. Padded rows: 0, 1 and 0.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Params {
    bias: [u8; 4 * BLOCK],
    multipliers: [u8; 4 * BLOCK],
    shifts: [u8; BLOCK],
}

/// Where row `r` of a chunk lives: byte `16 (d / 4) + 4 j + d % 4` for `r = 16 j + d`,
/// so that [`Layer::pass`]'s interleaving puts rows `16 j ..` in register `j`, lane `d`.
const fn position(r: usize) -> usize {
    let (j, d) = (r / 16, r % 16);
    16 * (d / 4) + 4 * j + d % 4
}

impl Layer {
    /// The column layout of `dense`; with `whole_chunks`, of its whole chunks only when
    /// exactly one block of rows is left past them (the pixel layer's 784 = 12 * 64 + 16:
    /// see [`HostLayout::forward`]).
    fn new(dense: &Dense<'_>, whole_chunks: bool) -> Option<Self> {
        let (inputs, rows) = (usize::from(dense.in_dim), usize::from(dense.out_dim));
        // Int4 layers are not repacked: a model with one decodes through `DecoderCore`.
        let int8 = dense.weight_width == crate::format::WeightWidth::Int8;
        if !int8 || inputs == 0 || inputs > MAX_INPUTS || dense.weights.len() != inputs * rows {
            return None;
        }
        let chunks = if whole_chunks && rows % CHUNK == BLOCK {
            rows / CHUNK
        } else {
            rows.div_ceil(CHUNK)
        };
        let mut lines = std::vec![Line([0; CHUNK]); inputs * chunks];
        let mut params = std::vec![
            Params {
                bias: [0; 4 * BLOCK],
                multipliers: [0; 4 * BLOCK],
                shifts: [0; BLOCK],
            };
            chunks * CHUNK / BLOCK
        ];
        for p in &mut params {
            for m in p.multipliers.chunks_exact_mut(4) {
                m.copy_from_slice(&1i32.to_le_bytes());
            }
        }
        // The blob's per-row bias, multiplier and shift, read as the blob-order kernels do.
        let blob_rows = Rows::new(dense, inputs, &[], rows)?;
        for (r, row) in dense
            .weights
            .chunks_exact(inputs)
            .enumerate()
            .take(chunks * CHUNK)
        {
            let (c, at) = (r / CHUNK, position(r % CHUNK));
            let mut sum = 0i32;
            for (i, &w) in row.iter().enumerate() {
                lines[i * chunks + c].0[at] = w;
                sum = sum.wrapping_add(i32::from(w as i8));
            }
            let (bias, multiplier, shift) = blob_rows.row(r)?;
            let (p, k) = (&mut params[r / BLOCK], r % BLOCK);
            p.bias[4 * k..4 * k + 4]
                .copy_from_slice(&bias.wrapping_add(sum.wrapping_mul(-128)).to_le_bytes());
            p.multipliers[4 * k..4 * k + 4].copy_from_slice(&multiplier.to_le_bytes());
            p.shifts[k] = shift;
        }
        Some(Layer {
            inputs,
            rows,
            chunks,
            lines,
            params,
        })
    }

    /// `f(b, sums, params)` for every block `b` of 16 rows of the chunks (padding
    /// included), where lane `d` of `sums` is `sum_i w[16 b + d][i] (x[i] + 128)`
    /// (wrapping; `params.bias` takes the 128 back out) and `params` is the block's;
    /// nothing unless `x` has `self.inputs` values.
    /// `LIST` is [`list_len`] of at least `x.len()` (stack arrays sized to the widest
    /// layer: zeroing room for [`MAX_INPUTS`] each time measured as 15% of a decode).
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx512vbmi2,popcnt")]
    fn blocks<const LIST: usize>(&self, x: &[i8], mut f: impl FnMut(usize, __m512i, &Params)) {
        if x.len() != self.inputs || list_len(x.len()) > LIST {
            return;
        }
        let mut columns = [0u16; LIST];
        let mut values = [0u8; LIST];
        let quads = compress(x, &mut columns, &mut values);
        let (Some(columns), Some(values)) = (
            columns.get(..4 * quads).map(|c| c.as_chunks::<4>().0),
            values.get(..4 * quads).map(|v| v.as_chunks::<4>().0),
        ) else {
            return;
        };
        // Passes of at most MAX_PASS chunks, as even as possible.
        let passes = self.chunks.div_ceil(MAX_PASS);
        let mut first = 0;
        for p in 0..passes {
            let len = self.chunks / passes + usize::from(p < self.chunks % passes);
            match len {
                1 => self.pass::<1>(first, columns, values, &mut f),
                2 => self.pass::<2>(first, columns, values, &mut f),
                3 => self.pass::<3>(first, columns, values, &mut f),
                4 => self.pass::<4>(first, columns, values, &mut f),
                _ => self.pass::<5>(first, columns, values, &mut f),
            }
            first += len;
        }
    }

    /// Chunks `first .. first + CH` over all the quads, then `f` on their 4 `CH` blocks.
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    fn pass<const CH: usize>(
        &self,
        first: usize,
        columns: &[[u16; 4]],
        values: &[[u8; 4]],
        f: &mut impl FnMut(usize, __m512i, &Params),
    ) {
        let mut acc = [_mm512_setzero_si512(); 4 * MAX_PASS];
        let column = |i: u16| {
            self.lines
                .get(usize::from(i) * self.chunks + first..)?
                .first_chunk::<CH>()
        };
        for (quad, u) in columns.iter().zip(values) {
            // Every listed index is below `self.inputs` (see `compress`), so these exist.
            let (Some(a), Some(b), Some(c), Some(d)) = (
                column(quad[0]),
                column(quad[1]),
                column(quad[2]),
                column(quad[3]),
            ) else {
                continue;
            };
            let u = _mm512_set1_epi32(i32::from_le_bytes(*u));
            // SAFETY (every load): a `Line` is 64 bytes aligned to 64.
            let load = |line: &Line| unsafe { _mm512_load_si512(line.0.as_ptr().cast()) };
            macro_rules! chunk {
                ($c:literal) => {
                    if $c < CH {
                        let (wa, wb) = (load(&a[$c]), load(&b[$c]));
                        let (wc, wd) = (load(&c[$c]), load(&d[$c]));
                        let (ab_lo, ab_hi) =
                            (_mm512_unpacklo_epi8(wa, wb), _mm512_unpackhi_epi8(wa, wb));
                        let (cd_lo, cd_hi) =
                            (_mm512_unpacklo_epi8(wc, wd), _mm512_unpackhi_epi8(wc, wd));
                        let k = 4 * $c;
                        acc[k] =
                            _mm512_dpbusd_epi32(acc[k], u, _mm512_unpacklo_epi16(ab_lo, cd_lo));
                        acc[k + 1] =
                            _mm512_dpbusd_epi32(acc[k + 1], u, _mm512_unpackhi_epi16(ab_lo, cd_lo));
                        acc[k + 2] =
                            _mm512_dpbusd_epi32(acc[k + 2], u, _mm512_unpacklo_epi16(ab_hi, cd_hi));
                        acc[k + 3] =
                            _mm512_dpbusd_epi32(acc[k + 3], u, _mm512_unpackhi_epi16(ab_hi, cd_hi));
                    }
                };
            }
            chunk!(0);
            chunk!(1);
            chunk!(2);
            chunk!(3);
            chunk!(4);
        }
        for (k, &sums) in acc.iter().enumerate().take(4 * CH) {
            let block = 4 * first + k;
            if let Some(p) = self.params.get(block) {
                f(block, sums, p);
            }
        }
    }
}

/// Lists the inputs with `u = x + 128 != 0`: their indices in `columns`, their `u` in
/// `values`, both padded with zeros to a multiple of four; returns the number of quads.
/// Every listed index is below `x.len()`; `list_len(x.len()) <= LIST` (else nothing is
/// listed).
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi2,popcnt")]
fn compress<const LIST: usize>(
    x: &[i8],
    columns: &mut [u16; LIST],
    values: &mut [u8; LIST],
) -> usize {
    if list_len(x.len()) > LIST {
        return 0;
    }
    let flip = _mm512_set1_epi8(-128);
    let iota = _mm512_set_epi16(
        31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9,
        8, 7, 6, 5, 4, 3, 2, 1, 0,
    );
    let mut count = 0usize;
    for (g, group) in x.chunks(CHUNK).enumerate() {
        let valid: __mmask64 = u64::MAX >> (CHUNK - group.len());
        // SAFETY: the masked load reads only the `group.len()` bytes of `group`.
        let raw = unsafe { _mm512_maskz_loadu_epi8(valid, group.as_ptr()) };
        let u = _mm512_xor_si512(raw, flip);
        let nonzero = _mm512_mask_test_epi8_mask(valid, u, u);
        let (lo, hi) = (nonzero as u32, (nonzero >> 32) as u32);
        let base = (CHUNK * g) as i16; // < MAX_INPUTS
        let index_lo = _mm512_add_epi16(iota, _mm512_set1_epi16(base));
        let index_hi = _mm512_add_epi16(iota, _mm512_set1_epi16(base + 32));
        let n_lo = lo.count_ones() as usize;
        // `count <= CHUNK * g`, so each 64-byte store ends below LIST. The second
        // `columns` store overwrites the unused tail of the first.
        let Some(v) = values
            .get_mut(count..)
            .and_then(|s| s.first_chunk_mut::<64>())
        else {
            return 0;
        };
        // SAFETY: writes exactly the 64 bytes of `v`.
        unsafe {
            _mm512_storeu_si512(
                v.as_mut_ptr().cast(),
                _mm512_maskz_compress_epi8(nonzero, u),
            )
        };
        for (at, mask, index) in [(count, lo, index_lo), (count + n_lo, hi, index_hi)] {
            let Some(c) = columns
                .get_mut(at..)
                .and_then(|s| s.first_chunk_mut::<32>())
            else {
                return 0;
            };
            // SAFETY: writes exactly the 64 bytes of `c`.
            unsafe {
                _mm512_storeu_si512(
                    c.as_mut_ptr().cast(),
                    _mm512_maskz_compress_epi16(mask, index),
                )
            };
        }
        count += n_lo + hi.count_ones() as usize;
    }
    // Padding: `u = 0` against column 0 adds nothing.
    let quads = count.div_ceil(4);
    for k in count..4 * quads {
        if let (Some(c), Some(v)) = (columns.get_mut(k), values.get_mut(k)) {
            (*c, *v) = (0, 0);
        }
    }
    quads
}

/// Every layer of a blob in column order, and the proof that the CPU runs the kernels
/// (AVX-512 F, BW, VNNI and VBMI2).
pub(crate) struct HostLayout {
    vnni: Vnni,
    layers: Vec<Layer>,
    /// The widest layer input.
    widest: usize,
    /// The search tree of the thresholds at `thresholds_at` (the model's own bytes), built
    /// once.
    tree: Tree,
    /// Their lookup, when it fits them (it does the default blob's).
    lut: Option<PixelLut>,
    thresholds_at: usize,
}

impl HostLayout {
    /// The layout of `model`'s layers; `None` when the CPU lacks the features or a layer
    /// does not fit (an input wider than [`MAX_INPUTS`], a shape the arrays disagree with).
    pub(crate) fn new(model: &Model<'_>) -> Option<Self> {
        let vnni = Vnni::detect()?;
        if !(std::is_x86_feature_detected!("avx512vbmi2")
            && std::is_x86_feature_detected!("popcnt"))
        {
            return None;
        }
        let count = model.layers.len();
        let layers = model
            .layers
            .iter()
            .enumerate()
            .map(|(k, dense)| Layer::new(dense, k + 1 == count))
            .collect::<Option<Vec<_>>>()?;
        // Padding rows to 64 can blow a layer of few rows up 64 times: past this bound
        // the blob is decoded in place instead.
        let blob_bytes: usize = model.layers.iter().map(|l| l.weights.len()).sum();
        let packed_bytes: usize = layers.iter().map(|l| CHUNK * l.lines.len()).sum();
        if packed_bytes > 4 * blob_bytes + (1 << 20) {
            return None;
        }
        let widest = layers.iter().map(|l| l.inputs).max()?;
        let table = model
            .pixel_thresholds
            .first_chunk::<{ 4 * NUM_THRESHOLDS }>()?;
        // SAFETY: `vnni` proves AVX-512 F.
        let tree = unsafe { Tree::new(table) };
        Some(HostLayout {
            vnni,
            layers,
            widest,
            tree,
            lut: PixelLut::new(table),
            thresholds_at: table.as_ptr() as usize,
        })
    }

    /// Whether the pixels come from the fitted lookup rather than the search tree.
    #[cfg(test)]
    pub(crate) fn has_pixel_lookup(&self) -> bool {
        self.lut.is_some()
    }

    /// The integer decode of `z_q` into `out`, with `model` the blob this layout was made
    /// from and `class_bias` as for the blob-order kernels. `false` (and `out` unspecified)
    /// when `model` does not match the layout; the caller then decodes the usual way.
    pub(crate) fn pixels(
        &self,
        model: &Model<'_>,
        z_q: &[i8],
        class_bias: &[u8],
        out: &mut [u8; IMAGE_PIXELS],
    ) -> bool {
        let _ = self.vnni;
        // SAFETY (each call): `vnni` proves AVX-512 F, BW and VNNI, and `new` checked
        // VBMI2 and POPCNT before making `self`.
        match self.widest {
            ..=256 => unsafe {
                self.forward::<256, { list_len(256) }>(model, z_q, class_bias, out)
            },
            257..=1024 => unsafe {
                self.forward::<1024, { list_len(1024) }>(model, z_q, class_bias, out)
            },
            _ => unsafe {
                self.forward::<MAX_INPUTS, { list_len(MAX_INPUTS) }>(model, z_q, class_bias, out)
            },
        }
    }

    /// The decode with buffers for inputs up to `W` wide, `LIST = list_len(W)`.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx512vbmi2,popcnt")]
    fn forward<const W: usize, const LIST: usize>(
        &self,
        model: &Model<'_>,
        z_q: &[i8],
        class_bias: &[u8],
        out: &mut [u8; IMAGE_PIXELS],
    ) -> bool {
        let Some(table) = model
            .pixel_thresholds
            .first_chunk::<{ 4 * NUM_THRESHOLDS }>()
        else {
            return false;
        };
        let hidden =
            |_: &mut (), layer: &Layer, rows: &Rows<'_>, x: &[i8], zero_point: i8, y: &mut [i8]| {
                {
                    let (blocks, _) = y.as_chunks_mut::<BLOCK>();
                    layer.blocks::<LIST>(x, |b, sums, p| {
                        if let Some(dst) = blocks.get_mut(b) {
                            let p = block_params(p, rows.class_bias, b);
                            *dst = hidden_codes(&p, sums, zero_point);
                        }
                    });
                }
                hidden_rest(rows, x, zero_point, y);
            };
        let last = |_: &mut (), last: &Layer, rows: &Rows<'_>, x: &[i8]| {
            // The thresholds this layout was made from take the lookup (or the tree built
            // once); others, a tree of their own.
            let own = table.as_ptr() as usize == self.thresholds_at;
            let lut = self.lut.as_ref().filter(|_| own);
            let bounds = lut.map_or(FULL_RANGE, PixelLut::bounds);
            let mut values = [_mm512_setzero_si512(); PIXEL_BLOCKS];
            last.blocks::<LIST>(x, |b, sums, p| {
                if let Some(slot) = values.get_mut(b) {
                    let p = block_params(p, rows.class_bias, b);
                    *slot = pixel_values(&p, sums, bounds);
                }
            });
            // The rows past the whole chunks (one block: 784 = 12 * 64 + 16) in the blob's
            // order, over all inputs: 16 rows of 256 bytes are 64 cache lines read in
            // sequence, where a 13th chunk of columns would be a line per non-zero input
            // (about 134), three quarters padding: a decode about 2% faster
            // (docs/PERFORMANCE.md).
            let done = last.chunks * CHUNK / BLOCK;
            pixel_sums(rows, x, done, &mut values);
            for (b, slot) in values.iter_mut().enumerate().skip(done) {
                if let Some(p) = rows.block_params(b) {
                    *slot = pixel_values(&p, *slot, bounds);
                }
            }
            match lut {
                Some(lut) => lut.pixels(&values, out),
                None if own => search_pixels(&values, &self.tree, out),
                None => search_pixels(&values, &Tree::new(table), out),
            }
            true
        };
        walk::<W, Layer, ()>(model, &self.layers, z_q, class_bias, &mut (), hidden, last)
    }
}

impl PackedShape for Layer {
    fn inputs(&self) -> usize {
        self.inputs
    }
    fn rows(&self) -> usize {
        self.rows
    }
}

/// Block `b`'s parameters: the packed ones, and its slice of `class_bias` unless that is
/// empty (its length was checked against the layer's rows by `Rows::new`).
#[inline]
fn block_params<'p>(p: &'p Params, class_bias: &'p [u8], b: usize) -> BlockParams<'p> {
    BlockParams {
        bias: &p.bias,
        class_bias: class_bias
            .get(4 * BLOCK * b..)
            .and_then(|c| c.first_chunk::<{ 4 * BLOCK }>()),
        multipliers: &p.multipliers,
        shifts: &p.shifts,
    }
}
