//! The documented parameter grid: the oracle's search space in benchmarks and
//! the space whose extremes define the objective's ranges (DESIGN §3).
//!
//! It is codec x filter pipeline x clevel {1, 3, 5, 7, 9} x split mode, with
//! automatic block size and one thread, minus byte-shuffle pipelines for
//! typesize 1 (where they equal others). Both split modes stay even for
//! typesize 1: c-blosc2 picks different block sizes for them.

use crate::params::{Clevel, Codec, Filter, Params, SplitMode};

/// The clevels the grid samples.
pub const GRID_CLEVELS: [u8; 5] = [1, 3, 5, 7, 9];

/// Every grid point for data of this typesize.
///
/// ```
/// let grid = btune_core::grid::oracle_grid(8);
/// assert_eq!(grid.len(), 5 * 5 * 5 * 2);
/// assert_eq!(btune_core::grid::oracle_grid(1).len(), 5 * 3 * 5 * 2);
/// ```
#[must_use]
pub fn oracle_grid(typesize: usize) -> Vec<Params> {
    let mut out = Vec::new();
    for codec in Codec::ALL {
        for filter in Filter::ALL.into_iter().filter(|f| f.is_effective(typesize)) {
            for &clevel in &GRID_CLEVELS {
                for split in SplitMode::ALL {
                    if let Some(c) = Clevel::new(clevel) {
                        out.push(Params::new(codec, filter, c, split));
                    }
                }
            }
        }
    }
    out
}
