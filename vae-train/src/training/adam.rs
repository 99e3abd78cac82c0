//! A fused Adam: the same update as burn's `Adam` (without weight decay or AMSGrad), done in
//! one pass over each parameter's memory instead of a dozen tensor operations.
//!
//! It implements burn's [`Optimizer`] trait with burn's own state type [`AdamState`], so it
//! plugs into [`ModuleOptimizer`] and its checkpoints are interchangeable with burn's Adam.
//!
//! Update, per element, at step `t` (1-based), exactly burn's formulation:
//!
//! ```text
//! m = b1 m + (1 - b1) g          v = b2 v + (1 - b2) g²        (m = v = 0 before step 1)
//! w = w - lr · m · c / (sqrt(v) + eps · sqrt(1 - b2^t)),   c = sqrt(1 - b2^t) / (1 - b1^t)
//! ```
//!
//! which is PyTorch's `m̂ / (sqrt(v̂) + eps)` rearranged.

use burn::optim::{AdamState, AdaptiveMomentumState, LearningRate, ModuleOptimizer, Optimizer};
use burn::tensor::{Device, Tensor, TensorData};

/// Settings of [`FusedAdam`].
#[derive(Clone, Debug, PartialEq)]
pub struct FusedAdamConfig {
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
}

impl Default for FusedAdamConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl FusedAdamConfig {
    /// burn's Adam defaults: `beta_1 = 0.9`, `beta_2 = 0.999`, `epsilon = 1e-5`.
    pub fn new() -> Self {
        Self {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-5,
        }
    }

    /// Sets `beta_1`.
    pub fn with_beta_1(mut self, beta_1: f32) -> Self {
        self.beta_1 = beta_1;
        self
    }

    /// Sets `beta_2`.
    pub fn with_beta_2(mut self, beta_2: f32) -> Self {
        self.beta_2 = beta_2;
        self
    }

    /// Sets `epsilon`.
    pub fn with_epsilon(mut self, epsilon: f32) -> Self {
        self.epsilon = epsilon;
        self
    }

    /// The optimizer.
    pub fn build(&self) -> FusedAdam {
        FusedAdam {
            beta_1: self.beta_1,
            beta_2: self.beta_2,
            epsilon: self.epsilon,
        }
    }

    /// A module optimizer using it for every parameter.
    pub fn init(&self) -> ModuleOptimizer {
        ModuleOptimizer::from(self.build())
    }
}

/// Adam with a fused per-element update (see the [module docs](self)).
#[derive(Clone, Debug)]
pub struct FusedAdam {
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
}

/// The per-step constants of the update.
struct Coefficients {
    b1: f32,
    b2: f32,
    c1: f32,
    c2: f32,
    step: f32,
    eps: f32,
}

/// The element-wise update; `inline(always)` so each caller below compiles it for its own
/// instruction set. Every operation is an IEEE add, multiply, divide or square root (no
/// fused multiply-add), so all variants give bit-identical results.
///
/// Moments (and gradients) smaller than [`FLUSH`] in magnitude are set to zero. Without this,
/// the first moments of weights whose inputs are almost always 0 (MNIST's border pixels)
/// decay by `beta_1` per step into the subnormal range after a few hundred steps, and
/// arithmetic on subnormal floats is ~100 times slower on x86: the update's share of a step
/// grew from 9% to 24% within two epochs. The flush changes an update by at most
/// `lr * 1e-30 / eps`, far below `f32` resolution of any weight.
#[inline(always)]
fn update_generic(w: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32], k: &Coefficients) {
    for (((w, m), v), &g) in w.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(g) {
        let g = if g.abs() < FLUSH { 0.0 } else { g };
        let mi = k.b1 * *m + k.c1 * g;
        let vi = k.b2 * *v + k.c2 * (g * g);
        let mi = if mi.abs() < FLUSH { 0.0 } else { mi };
        let vi = if vi < FLUSH { 0.0 } else { vi };
        *m = mi;
        *v = vi;
        *w -= k.step * mi / (vi.sqrt() + k.eps);
    }
}

/// Magnitude below which moments and gradients are treated as zero (see [`update_generic`]).
const FLUSH: f32 = 1e-30;

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn update_avx512(w: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32], k: &Coefficients) {
    update_generic(w, m, v, g, k);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn update_avx2(w: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32], k: &Coefficients) {
    update_generic(w, m, v, g, k);
}

/// The update with the widest vector instructions the CPU has (detected at run time; the
/// binary itself targets baseline x86-64).
fn update(w: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32], k: &Coefficients) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F, checked just above.
            unsafe { update_avx512(w, m, v, g, k) };
            return;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            unsafe { update_avx2(w, m, v, g, k) };
            return;
        }
    }
    update_generic(w, m, v, g, k);
}

/// Host copy of a tensor's `f32` values.
fn host_data<const D: usize>(tensor: Tensor<D>) -> TensorData {
    // CPU readback of an f32 tensor fails only on a backend bug.
    tensor
        .try_into_data_as::<f32>()
        .unwrap_or_else(|e| panic!("reading an optimizer tensor from the CPU backend failed: {e}"))
}

fn slice_mut(data: &mut TensorData) -> &mut [f32] {
    data.as_mut_slice::<f32>()
        .unwrap_or_else(|e| panic!("optimizer tensor is not f32 after conversion: {e:?}"))
}

impl Optimizer for FusedAdam {
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let device: Device = tensor.device();
        let shape = tensor.shape();
        let mut w = host_data(tensor);
        let g = host_data(grad);
        let (time, mut m, mut v) = match state {
            Some(s) => (
                s.momentum.time + 1,
                host_data(s.momentum.moment_1),
                host_data(s.momentum.moment_2),
            ),
            None => {
                let n = shape.num_elements();
                (
                    1,
                    TensorData::new(vec![0.0f32; n], shape.clone()),
                    TensorData::new(vec![0.0f32; n], shape.clone()),
                )
            }
        };
        let (b1, b2) = (self.beta_1, self.beta_2);
        let t = i32::try_from(time).unwrap_or(i32::MAX);
        let bc2_sqrt = (1.0 - b2.powi(t)).sqrt();
        let combined = bc2_sqrt / (1.0 - b1.powi(t));
        let eps = self.epsilon * bc2_sqrt;
        let step = lr as f32 * combined;
        let coef = Coefficients {
            b1,
            b2,
            c1: 1.0 - b1,
            c2: 1.0 - b2,
            step,
            eps,
        };
        {
            let g = g
                .as_slice::<f32>()
                .unwrap_or_else(|e| panic!("gradient is not f32 after conversion: {e:?}"));
            let (ws, ms, vs) = (slice_mut(&mut w), slice_mut(&mut m), slice_mut(&mut v));
            update(ws, ms, vs, g, &coef);
        }
        let tensor = Tensor::from_data(w, &device);
        let momentum = AdaptiveMomentumState::new(
            time,
            Tensor::from_data(m, &device),
            Tensor::from_data(v, &device),
        );
        (tensor, Some(AdamState::new(momentum)))
    }

    fn to_device<const D: usize>(mut state: Self::State<D>, device: &Device) -> Self::State<D> {
        state.momentum = state.momentum.to_device(device);
        state
    }
}

#[cfg(test)]
mod tests;
