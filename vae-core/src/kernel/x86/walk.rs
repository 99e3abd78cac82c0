//! The layer walk both host layouts share (`host_layout`, `avx2::host_layout`): the two
//! activation buffers, each layer's shapes checked against the layout's, its zero point,
//! and the class bias on the first layer only.

use super::rows::Rows;
use crate::IMAGE_PIXELS;
use crate::format::Model;

/// The shapes of a repacked layer, which the walk checks against the model's.
pub(super) trait PackedShape {
    /// Inputs (columns).
    fn inputs(&self) -> usize;
    /// Rows.
    fn rows(&self) -> usize;
}

/// Runs the model `layers` were packed from on `z_q`: `hidden(state, layer, rows, x,
/// zero_point, y)` for each hidden layer, from input `x` into `y` (`rows`: the blob's
/// arrays checked against the shapes, with the class bias on the first layer only), then
/// `last(state, layer, rows, x)` for the pixel layer, whose answer it returns; `state` is
/// the caller's scratch, lent to each in turn. `false` as soon as the model and the
/// layout disagree; inputs up to `W` wide.
pub(super) fn walk<'l, const W: usize, L: PackedShape, S>(
    model: &Model<'l>,
    layers: &[L],
    z_q: &[i8],
    mut class_bias: &'l [u8],
    state: &mut S,
    mut hidden: impl FnMut(&mut S, &L, &Rows<'l>, &[i8], i8, &mut [i8]),
    last: impl FnOnce(&mut S, &L, &Rows<'l>, &[i8]) -> bool,
) -> bool {
    let Some((last_dense, hidden_dense)) = model.layers.split_last() else {
        return false;
    };
    let Some((last_layer, hidden_layers)) = layers.split_last() else {
        return false;
    };
    if hidden_dense.len() != hidden_layers.len() {
        return false;
    }
    let mut buffers = [[0i8; W]; 2];
    let [a, b] = &mut buffers;
    let (mut src, mut dst) = (a, b);
    let mut width = z_q.len();
    if let Some(x) = src.get_mut(..width) {
        x.copy_from_slice(z_q);
    } else {
        return false;
    }
    for (k, (dense, layer)) in hidden_dense.iter().zip(hidden_layers).enumerate() {
        let zero_point = model
            .layers
            .get(k + 1)
            .map_or(0, |next| next.input_zero_point);
        let (Some(x), Some(y)) = (src.get(..width), dst.get_mut(..layer.rows())) else {
            return false;
        };
        let Some(rows) = Rows::new(dense, width, class_bias, layer.rows()) else {
            return false;
        };
        if layer.inputs() != width {
            return false;
        }
        hidden(state, layer, &rows, x, zero_point, y);
        class_bias = &[];
        width = layer.rows();
        core::mem::swap(&mut src, &mut dst);
    }
    let Some(x) = src.get(..width) else {
        return false;
    };
    // `Rows::new` checks the shapes (the class bias's length included).
    let Some(rows) = Rows::new(last_dense, width, class_bias, IMAGE_PIXELS) else {
        return false;
    };
    if last_layer.inputs() != width || last_layer.rows() != IMAGE_PIXELS {
        return false;
    }
    last(state, last_layer, &rows, x)
}
