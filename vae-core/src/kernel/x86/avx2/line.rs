//! A line: one input's weights of 32 rows, the unit the host engine's AVX2 layout stores
//! and its passes load (the pairs' in `host_layout`, the quads' in `vnni`), each kernel
//! with its own order of the rows' bytes.

/// Rows per line: one 32-byte load per column.
pub(super) const LINE: usize = 32;

/// One column's weights of 32 rows, in a pass's order of the products (`host_layout`'s
/// `position` for the pairs, `vnni::position` for the quads).
#[derive(Clone, Copy)]
#[repr(C, align(32))]
pub(super) struct Line(pub(super) [i8; LINE]);

/// Fails the build unless `$position` (a `const fn` of a row, with `LINE` in scope) maps
/// a line's rows one to one onto its bytes.
macro_rules! assert_line_permutation {
    ($position:path) => {
        const _: () = {
            let mut seen = [false; LINE];
            let mut r = 0;
            while r < LINE {
                assert!(!seen[$position(r)]);
                seen[$position(r)] = true;
                r += 1;
            }
        };
    };
}
pub(super) use assert_line_permutation;
