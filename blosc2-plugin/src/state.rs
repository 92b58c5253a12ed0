//! The tuner state of one compression context and what it writes for each
//! chunk. Safe code: the context is reached through [`RawCtx`].

use parking_lot::Mutex;

use btune_core::blosc2::auto_blocksize;
use btune_core::tuner::Proposal;
use btune_core::{Blocksize, Config, Outcome, Params, Threads, Tuner};

use crate::ctx::{RawCtx, Written};
use crate::layout::Layout;

/// One context's tuner, stored in its `tuner_params`.
pub(crate) struct State {
    pub(crate) layout: Layout,
    tuner: Tuner,
    /// A blocksize the caller fixed at context creation (b2nd arrays need
    /// blockshape x itemsize); 0 lets the tuner's parameters decide.
    fixed_blocksize: i32,
    /// The proposal of the chunk being compressed, until `update`.
    pending: Mutex<Option<Proposal>>,
}

/// c-blosc2's `filters_to_flags`: `BLOSC_DOSHUFFLE` (0x1) for shuffle (1),
/// `BLOSC_DOBITSHUFFLE` (0x4) for bitshuffle (2), `BLOSC_DODELTA` (0x8) for
/// delta (3); other filters set no flag.
pub(crate) fn filters_to_flags(filters: &[u8; 6]) -> u8 {
    filters.iter().fold(0, |flags, f| {
        flags
            | match f {
                1 => 0x1,
                2 => 0x4,
                3 => 0x8,
                _ => 0,
            }
    })
}

/// The fields to write for `params` on a chunk of `nbytes` elements of
/// `typesize` bytes, keeping a `fixed_blocksize` if nonzero.
pub(crate) fn written(
    params: &Params,
    typesize: usize,
    nbytes: usize,
    fixed_blocksize: i32,
) -> Written {
    let (filters, filters_meta) = params.filter.slots(typesize);
    let blocksize = if fixed_blocksize > 0 {
        fixed_blocksize
    } else if nbytes == 0 {
        0
    } else {
        let b = auto_blocksize(
            &Params {
                blocksize: Blocksize::Auto,
                ..*params
            },
            typesize,
            nbytes,
        );
        i32::try_from(b).unwrap_or(i32::MAX)
    };
    Written {
        compcode: i32::from(params.codec.code()),
        clevel: i32::from(params.clevel.get()),
        filters,
        filters_meta,
        filter_flags: filters_to_flags(&filters),
        splitmode: params.split.code(),
        blocksize,
        new_nthreads: params.cthreads.as_c().max(1),
    }
}

impl State {
    /// A state for a new context of `layout` with `config`.
    pub(crate) fn new(ctx: &RawCtx, layout: Layout, mut config: Config) -> Result<State, String> {
        let o = layout.offsets();
        let typesize = usize::try_from(ctx.typesize(o)).map_err(|_| "invalid typesize")?;
        // The caller's thread count bounds what the tuner may use.
        let host_threads = u16::try_from(ctx.nthreads(o)).unwrap_or(1);
        config.max_threads = Threads::new(host_threads).unwrap_or(Threads::ONE);
        let tuner = Tuner::new(config, typesize).map_err(|e| e.to_string())?;
        Ok(State {
            layout,
            tuner,
            fixed_blocksize: ctx.blocksize(o).max(0),
            pending: Mutex::new(None),
        })
    }

    /// Chooses and writes the parameters of the chunk about to be compressed.
    pub(crate) fn next_cparams(&self, ctx: &RawCtx) {
        let o = self.layout.offsets();
        let chunk = ctx.chunk(o);
        let proposal = self.tuner.propose(chunk);
        let nbytes = usize::try_from(ctx.sourcesize(o)).unwrap_or(0);
        let w = written(
            &proposal.params,
            self.tuner.typesize(),
            nbytes,
            self.fixed_blocksize,
        );
        ctx.write_params(self.layout, &w);
        // A special chunk (no source) is never reported: keep nothing.
        *self.pending.lock() = chunk.is_some().then_some(proposal);
    }

    /// Reports the chunk just compressed in `ctime` seconds.
    pub(crate) fn update(&self, ctx: &RawCtx, ctime: f64) {
        let Some(proposal) = self.pending.lock().take() else {
            return;
        };
        let o = self.layout.offsets();
        let outcome = Outcome {
            nbytes: u64::try_from(ctx.sourcesize(o)).unwrap_or(0),
            cbytes: u64::try_from(ctx.destsize(o)).unwrap_or(0),
            ctime: if ctime.is_finite() {
                ctime.max(0.0)
            } else {
                0.0
            },
            dtime: None,
        };
        let _tuning_time = self.tuner.report(proposal, &outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use btune_core::{Clevel, Codec, Filter, SplitMode};

    #[test]
    fn flags_follow_c_blosc2() {
        assert_eq!(filters_to_flags(&[0, 0, 0, 0, 0, 0]), 0);
        assert_eq!(filters_to_flags(&[0, 0, 0, 0, 0, 1]), 0x1);
        assert_eq!(filters_to_flags(&[0, 0, 0, 0, 0, 2]), 0x4);
        assert_eq!(filters_to_flags(&[0, 0, 0, 0, 3, 1]), 0x9);
        assert_eq!(filters_to_flags(&[0, 0, 0, 0, 1, 35]), 0x1);
    }

    #[test]
    fn written_fields_match_the_params() {
        let p = Params::new(
            Codec::Zstd,
            Filter::ShuffleBytedelta,
            Clevel::new(3).unwrap(),
            SplitMode::Never,
        );
        let w = written(&p, 8, 1 << 20, 0);
        assert_eq!(w.compcode, 5);
        assert_eq!(w.clevel, 3);
        assert_eq!(w.filters, [0, 0, 0, 0, 1, 35]);
        assert_eq!(w.filters_meta, [0, 0, 0, 0, 0, 8]);
        assert_eq!(w.filter_flags, 0x1);
        assert_eq!(w.splitmode, 2);
        assert!(w.blocksize > 0 && w.blocksize % 8 == 0);
        assert_eq!(w.new_nthreads, 1);
        // A blocksize fixed at init is kept; an empty chunk gets 0.
        assert_eq!(written(&p, 8, 1 << 20, 4096).blocksize, 4096);
        assert_eq!(written(&p, 8, 0, 0).blocksize, 0);
    }
}
