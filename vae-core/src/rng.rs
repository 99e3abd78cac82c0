//! Deterministic pseudo-random numbers, identical on every target.
//!
//! [`Rng`] is SplitMix64 (Steele, Lea & Flood 2014; the seeding generator of the
//! xoshiro family): a 64-bit counter advanced by a fixed odd constant and hashed by two
//! multiply-xorshift rounds. It is tiny, has no bad seeds, and its integer output is
//! defined by wrapping `u64` arithmetic only.
//!
//! Gaussians use Marsaglia's polar method in `f32` (a pair uniform in the unit disc by
//! rejection; no sine or cosine):
//!
//! ```text
//! repeat:
//!     u = (next_u32() >> 8) * 2^-23 - 1        in [-1, 1)   (exact in f32)
//!     v = (next_u32() >> 8) * 2^-23 - 1        in [-1, 1)   (exact in f32)
//!     s = u * u + v * v
//! until 0 < s < 1
//! g = u * sqrtf((-2 * logf(s)) / s)
//! ```
//!
//! Only `u`'s branch is used: one Gaussian per accepted pair (on average 1.27 pairs), no
//! hidden cache. The float operations are IEEE-754 `f32` multiplications, additions and
//! one division plus [`libm`]'s `sqrtf` (correctly rounded, as IEEE 754 requires, whether
//! it runs in hardware or software) and its software `logf` (pure `f32` arithmetic; not
//! correctly rounded, so the exact function matters: `FORMAT.md` gives it), and Rust never
//! fuses `a * b + c` on its own. So a seed gives the same bits on x86-64, Cortex-M0/M4F
//! and wasm32. Since `u^2 <= s` and `s >= 2^-46`, `|g| <= sqrt(-2 ln s) < 8`.
//!
//! (This replaced Box–Muller's cosine branch, whose `cosf` pulled about 2.5 KB of
//! soft-float `f64` code into Cortex-M4F firmware; the golden images changed with it.)

/// SplitMix64 generator with polar-method Gaussians; see the [module docs](self).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rng {
    state: u64,
}

/// SplitMix64's increment (the golden ratio in 64-bit fixed point).
const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// `2^-24` (exact in `f32`).
const TWO_POW_MINUS_24: f32 = 1.0 / 16_777_216.0;

/// `2^-23` (exact in `f32`).
const TWO_POW_MINUS_23: f32 = 1.0 / 8_388_608.0;

impl Rng {
    /// A generator whose stream is fully determined by `seed`.
    pub const fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    /// Next 64 random bits.
    pub const fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Next 32 random bits: the high half of [`next_u64`](Self::next_u64).
    pub const fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// Uniform in `[0, 1)` with 24 random bits (every value exact in `f32`).
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u32() >> 8) as f32 * TWO_POW_MINUS_24
    }

    /// Standard normal sample (mean 0, variance 1) by Marsaglia's polar method; see the
    /// [module docs](self) for the exact formula.
    pub fn next_gaussian(&mut self) -> f32 {
        loop {
            let u = (self.next_u32() >> 8) as f32 * TWO_POW_MINUS_23 - 1.0;
            let v = (self.next_u32() >> 8) as f32 * TWO_POW_MINUS_23 - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                return u * libm::sqrtf((-2.0 * libm::logf(s)) / s);
            }
        }
    }

    /// Fills `out` with [`next_gaussian`](Self::next_gaussian) samples, in order.
    ///
    /// For a blob with the standard prior, at temperature 1,
    /// [`Decoder::generate`](crate::Decoder::generate)`(&Request::new(seed))` decodes
    /// exactly the Gaussians of `Rng::new(seed).fill_gaussian(&mut z)`; a mixture prior
    /// first draws one `u32` for the component (see
    /// [`DecoderCore::prior_latent`](crate::DecoderCore::prior_latent)).
    pub fn fill_gaussian(&mut self, out: &mut [f32]) {
        for v in out {
            *v = self.next_gaussian();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_reference_values() {
        // First outputs for seed 0, computed with an independent Python implementation of
        // SplitMix64 (Vigna's splitmix64.c); the first matches the published value.
        let mut rng = Rng::new(0);
        assert_eq!(rng.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(rng.next_u64(), 0x6e78_9e6a_a1b9_65f4);
        assert_eq!(rng.next_u64(), 0x06c4_5d18_8009_454f);
    }

    #[test]
    fn gaussian_reference_values() {
        // The polar method on the same bits computed in f64 with Python's math module
        // (and an independent SplitMix64): agrees to f32 precision.
        let expected = [
            0.4929506169,
            -1.2810770293,
            -0.6018781837,
            -1.5423607756,
            -1.4515103040,
        ];
        let mut rng = Rng::new(42);
        for e in expected {
            let g = rng.next_gaussian();
            assert!((f64::from(g) - e).abs() < 1e-5, "{g} vs {e}");
        }
    }

    #[test]
    fn same_seed_same_stream_other_seed_other_stream() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let mut c = Rng::new(8);
        let mut differ = 0;
        for _ in 0..1000 {
            let (x, y, z) = (a.next_u64(), b.next_u64(), c.next_u64());
            assert_eq!(x, y);
            differ += usize::from(x != z);
        }
        assert_eq!(differ, 1000);
        let mut za = [0f32; 32];
        let mut zb = [0f32; 32];
        Rng::new(99).fill_gaussian(&mut za);
        Rng::new(99).fill_gaussian(&mut zb);
        assert_eq!(za.map(f32::to_bits), zb.map(f32::to_bits));
    }

    #[test]
    fn gaussian_moments() {
        let mut rng = Rng::new(12345);
        let n = 100_000;
        let (mut sum, mut sum_sq, mut within_one) = (0f64, 0f64, 0usize);
        for _ in 0..n {
            let g = rng.next_gaussian();
            assert!(g.is_finite() && g.abs() < 8.0);
            let g = f64::from(g);
            sum += g;
            sum_sq += g * g;
            within_one += usize::from(g.abs() < 1.0);
        }
        let mean = sum / n as f64;
        let var = sum_sq / n as f64 - mean * mean;
        // Standard errors: mean 0.0032, variance 0.0045, P(|g|<1) 0.0015.
        assert!(mean.abs() < 0.02, "mean {mean}");
        assert!((var - 1.0).abs() < 0.03, "variance {var}");
        let frac = within_one as f64 / n as f64;
        assert!((frac - 0.682_689).abs() < 0.01, "P(|g|<1) {frac}");
    }

    #[test]
    fn uniform_range_and_mean() {
        let mut rng = Rng::new(5);
        let n = 100_000;
        let mut sum = 0f64;
        for _ in 0..n {
            let u = rng.next_f32();
            assert!((0.0..1.0).contains(&u));
            sum += f64::from(u);
        }
        assert!((sum / n as f64 - 0.5).abs() < 0.01);
    }
}
