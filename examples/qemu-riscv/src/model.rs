//! The embedded blob and its shapes, read at compile time (`build.rs` picks the file).

use vae_core::Shape;

/// The decoder blob, in flash.
pub static BLOB: &[u8] = include_bytes!(env!("VAE_BLOB_PATH"));
/// The blob's shapes; a blob that cannot be read fails the build here.
pub const SHAPE: Shape = Shape::of(BLOB);
/// The decoder type for this blob.
pub type Vae = vae_core::Decoder<'static, { SHAPE.latent }, { SHAPE.hidden }>;
/// The board this build is for.
pub const BOARD: &str = env!("VAE_BOARD");
