//! The optimizer of a run: Adam with PyTorch's hyper-parameters, burn's or the fused one.

use burn::optim::ModuleOptimizer;

use super::adam::FusedAdamConfig;

/// Which Adam implementation updates the weights (both are Adam with the same
/// hyper-parameters; see [`super::adam`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OptimizerKind {
    /// burn's `Adam`.
    Burn,
    /// [`super::adam::FusedAdam`]: one pass over each parameter.
    #[default]
    Fused,
}

/// Adam's `beta_1`.
pub const ADAM_BETA1: f32 = 0.9;
/// Adam's `beta_2`.
pub const ADAM_BETA2: f32 = 0.999;
/// Adam's epsilon (PyTorch's default, not burn's 1e-5).
pub const ADAM_EPS: f32 = 1e-8;

/// The optimizer for a run.
pub fn optimizer(kind: OptimizerKind) -> ModuleOptimizer {
    match kind {
        OptimizerKind::Burn => burn::optim::AdamConfig::new()
            .with_beta_1(ADAM_BETA1)
            .with_beta_2(ADAM_BETA2)
            .with_epsilon(ADAM_EPS)
            .init(),
        OptimizerKind::Fused => FusedAdamConfig::new()
            .with_beta_1(ADAM_BETA1)
            .with_beta_2(ADAM_BETA2)
            .with_epsilon(ADAM_EPS)
            .init(),
    }
}
