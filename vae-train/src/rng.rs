//! A small deterministic PRNG (xoshiro256++ seeded by SplitMix64) and the random draws
//! the trainer needs: uniform floats, standard normals, shuffles.
//!
//! Every random choice of a run comes from a [`Rng`] derived from the run seed and a
//! purpose ([`Stream`]) and, where it changes per epoch, the epoch number
//! ([`Rng::for_stream`]). So the state of all randomness at an epoch boundary is just
//! `(seed, epoch)`, and a resumed run draws exactly what an uninterrupted run would.

use serde::{Deserialize, Serialize};

/// What a random stream is used for; part of the stream's seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Initial weights and biases.
    Init,
    /// The order of training images in an epoch.
    Shuffle,
    /// The noise `eps` of the reparameterisation during training.
    TrainNoise,
    /// The noise `eps` used when evaluating on the test set (same every epoch).
    EvalNoise,
    /// Pictures: prior samples, chosen test digits.
    Pictures,
}

impl Stream {
    fn tag(self) -> u64 {
        match self {
            Stream::Init => 0x1417,
            Stream::Shuffle => 0x5_u64 << 32 | 0x5417,
            Stream::TrainNoise => 0x7_u64 << 32 | 0x7a15,
            Stream::EvalNoise => 0xe_u64 << 32 | 0xe7a1,
            Stream::Pictures => 0x9_u64 << 32 | 0x9c75,
        }
    }
}

/// xoshiro256++ generator. Serializable, so its exact state can be checkpointed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rng {
    s: [u64; 4],
}

fn splitmix64(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Rng {
    /// A generator seeded from one 64-bit value.
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        let s = [
            splitmix64(&mut x),
            splitmix64(&mut x),
            splitmix64(&mut x),
            splitmix64(&mut x),
        ];
        Self { s }
    }

    /// The generator for `stream` in `epoch` of a run seeded with `seed`.
    pub fn for_stream(seed: u64, stream: Stream, epoch: u64) -> Self {
        let mut x = seed ^ stream.tag().rotate_left(17);
        let a = splitmix64(&mut x);
        Self::new(a ^ epoch.wrapping_mul(0xd6e8_feb8_6659_fd93))
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in `0..n` (`n > 0`; returns 0 for `n == 0`), without modulo bias.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let zone = u64::MAX - (u64::MAX - n + 1) % n;
        loop {
            let v = self.next_u64();
            if v <= zone {
                return v % n;
            }
        }
    }

    /// A standard normal draw (Box–Muller in `f64`).
    pub fn normal(&mut self) -> f64 {
        // 1 - u is in (0, 1], so the logarithm is finite.
        let u1 = 1.0 - self.next_f64();
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// `n` standard normal draws as `f32`.
    pub fn normals_f32(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.normal() as f32).collect()
    }

    /// `n` uniform draws in `[lo, hi)` as `f32`.
    pub fn uniform_f32(&mut self, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        let (lo, hi) = (f64::from(lo), f64::from(hi));
        (0..n)
            .map(|_| (lo + (hi - lo) * self.next_f64()) as f32)
            .collect()
    }

    /// Shuffles `items` in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests;
