//! Between host slices and burn tensors: reading a tensor back, building one from rows,
//! and the model's input encodings (pixels to `[0, 1]`, labels to one-hot rows).

use burn::tensor::{Device, Tensor, TensorData};
use vae_core::NUM_CLASSES;

/// Reads a float tensor back to host memory.
pub fn to_host<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    // Reading a CPU tensor of `f32` fails only on a backend bug; there is no input to blame.
    tensor
        .try_into_vec_as::<f32>()
        .unwrap_or_else(|e| panic!("reading a tensor back from the CPU backend failed: {e}"))
}

/// `[rows, cols]` tensor from host `f32` data.
pub fn tensor2(data: Vec<f32>, rows: usize, cols: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(data, [rows, cols]), device)
}

/// Pixels `u8` (0..=255) to model inputs in `[0, 1]`.
pub fn pixels_to_unit(pixels: &[u8]) -> Vec<f32> {
    pixels.iter().map(|&p| f32::from(p) / 255.0).collect()
}

/// One-hot rows ([`NUM_CLASSES`] wide) for `labels`; a label outside `0..10` gives an all-zero row.
pub fn one_hot(labels: &[u8]) -> Vec<f32> {
    let mut out = vec![0.0; labels.len() * NUM_CLASSES];
    for (row, &l) in out.chunks_exact_mut(NUM_CLASSES).zip(labels) {
        if let Some(v) = row.get_mut(usize::from(l)) {
            *v = 1.0;
        }
    }
    out
}

/// Appends each label's one-hot row to the `width`-wide rows of `rows`.
pub fn append_condition(rows: &[f32], width: usize, labels: Vec<u8>) -> Vec<f32> {
    let hot = one_hot(&labels);
    let mut out = Vec::with_capacity(rows.len() + hot.len());
    for (row, h) in rows.chunks_exact(width).zip(hot.chunks_exact(NUM_CLASSES)) {
        out.extend_from_slice(row);
        out.extend_from_slice(h);
    }
    out
}

/// `sigmoid` of each logit, computed in `f64`.
pub fn sigmoid(logits: &[f32]) -> Vec<f32> {
    logits
        .iter()
        .map(|&x| (1.0 / (1.0 + (-f64::from(x)).exp())) as f32)
        .collect()
}
