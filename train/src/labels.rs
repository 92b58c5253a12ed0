//! From swept chunks to training rows: what each grid point is worth to a
//! chunk at each tradeoff (DESIGN §3's utility), which parameter sets become
//! the model's categories, and the target distribution over them.

use btune_core::features::Features;
use btune_core::model::Category;
use btune_core::{Objective, Outcome, Params, PerfMode, Ranges};

/// The tradeoffs a model is trained at: 0, 0.1, ..., 1.
pub const TRADEOFFS: [f64; 11] = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];

/// One chunk's sweep: its features and each grid point's measured outcome.
#[derive(Clone, Debug)]
pub struct ChunkRecord {
    /// The dataset the chunk belongs to.
    pub dataset: String,
    /// Bytes per element.
    pub typesize: usize,
    /// The chunk's features.
    pub features: Features,
    /// Every grid point's outcome on the chunk.
    pub grid: Vec<(Params, Outcome)>,
}

impl ChunkRecord {
    /// The utility of every grid point (in `grid` order) at `tradeoff`, with
    /// the chunk's own grid extremes as ranges.
    #[must_use]
    pub fn utilities(&self, tradeoff: f64, mode: PerfMode) -> Vec<f64> {
        let objective = Objective::new(tradeoff, mode);
        let mut ranges = Ranges::EMPTY;
        for (_, o) in &self.grid {
            ranges.include(o.ratio(), objective.speed(o));
        }
        self.grid
            .iter()
            .map(|(_, o)| objective.utility(o, &ranges))
            .collect()
    }

    /// The utility of each category's parameters on this chunk (`None` where
    /// the chunk's grid lacks it, e.g. shuffles for typesize 1).
    #[must_use]
    pub fn category_utilities(
        &self,
        categories: &[Category],
        tradeoff: f64,
        mode: PerfMode,
    ) -> Vec<Option<f64>> {
        let u = self.utilities(tradeoff, mode);
        categories
            .iter()
            .map(|c| {
                self.grid
                    .iter()
                    .position(|(p, _)| Category::of(p) == *c)
                    .map(|i| u[i])
            })
            .collect()
    }

    /// The best grid point's category at `tradeoff`, and its utility.
    #[must_use]
    pub fn best(&self, tradeoff: f64, mode: PerfMode) -> (Category, f64) {
        let u = self.utilities(tradeoff, mode);
        let (i, best) = u
            .iter()
            .copied()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or((0, 0.0));
        (Category::of(&self.grid[i].0), best)
    }
}

/// The categories of a model: every parameter set that is best for some
/// chunk at some tradeoff, in a deterministic order.
#[must_use]
pub fn categories(records: &[ChunkRecord], mode: PerfMode) -> Vec<Category> {
    let mut out: Vec<Category> = records
        .iter()
        .flat_map(|r| TRADEOFFS.iter().map(move |&t| r.best(t, mode).0))
        .collect();
    out.sort_by_key(|c| (c.0, c.1, c.2, c.3));
    out.dedup();
    out
}

/// At most `k` categories chosen greedily from `candidates` so that, with
/// each (chunk, tradeoff) taking its best chosen category, the mean regret
/// over `records` is smallest: a few robust parameter sets generalise to
/// unseen data better than every set that was once best.
#[must_use]
pub fn robust_categories(
    records: &[ChunkRecord],
    candidates: &[Category],
    k: usize,
    mode: PerfMode,
) -> Vec<Category> {
    // (best utility, utility of each candidate) per chunk and tradeoff; a
    // candidate the chunk's grid lacks counts as the chunk's worst point.
    let rows: Vec<(f64, Vec<f64>)> = records
        .iter()
        .flat_map(|r| {
            TRADEOFFS.iter().map(move |&t| {
                let u = r.category_utilities(candidates, t, mode);
                let worst = u.iter().flatten().copied().fold(f64::INFINITY, f64::min);
                let best = r.best(t, mode).1;
                (best, u.into_iter().map(|v| v.unwrap_or(worst)).collect())
            })
        })
        .collect();
    let mut chosen: Vec<usize> = Vec::new();
    let mut have: Vec<f64> = vec![f64::NEG_INFINITY; rows.len()];
    while chosen.len() < k.min(candidates.len()) {
        let regret_with = |c: usize| -> f64 {
            rows.iter()
                .zip(&have)
                .map(|((best, u), h)| best - h.max(u[c]))
                .sum()
        };
        let Some(next) = (0..candidates.len())
            .filter(|c| !chosen.contains(c))
            .min_by(|&a, &b| regret_with(a).total_cmp(&regret_with(b)))
        else {
            break;
        };
        for ((_, u), h) in rows.iter().zip(have.iter_mut()) {
            *h = h.max(u[next]);
        }
        chosen.push(next);
    }
    chosen.sort_unstable();
    chosen.into_iter().map(|c| candidates[c]).collect()
}

/// The target distribution over `categories` for one chunk and tradeoff:
/// a softmax of the categories' utilities with `temperature` (in utility
/// units), so a category almost as good as the best also counts as right
/// and the network learns which mistakes are cheap. Temperature 0 gives
/// the one-hot label of the best category.
#[must_use]
pub fn target(utilities: &[Option<f64>], temperature: f64) -> Vec<f32> {
    let best = utilities
        .iter()
        .flatten()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    let weights: Vec<f64> = utilities
        .iter()
        .map(|u| match u {
            Some(u) if temperature > 0.0 => ((u - best) / temperature).exp(),
            Some(u) if *u >= best => 1.0,
            _ => 0.0,
        })
        .collect();
    let sum: f64 = weights.iter().sum();
    #[allow(clippy::cast_possible_truncation)]
    weights
        .iter()
        .map(|w| if sum > 0.0 { (w / sum) as f32 } else { 0.0 })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_favour_the_best_and_near_best() {
        let t = target(&[Some(0.5), Some(0.49), None, Some(0.1)], 0.02);
        assert!((t.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(t[0] > t[1] && t[1] > 0.3 && t[2] == 0.0 && t[3] < 1e-6);
        let hard = target(&[Some(0.5), Some(0.49), None, Some(0.1)], 0.0);
        assert_eq!(hard, [1.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn best_follows_the_tradeoff() {
        let fast: Params = "lz4/shuffle/1/always".parse().unwrap();
        let small: Params = "zstd/shuffle/9/never".parse().unwrap();
        let o = |cbytes, ctime| Outcome {
            nbytes: 1_000_000,
            cbytes,
            ctime,
            dtime: Some(0.001),
        };
        let r = ChunkRecord {
            dataset: "x".into(),
            typesize: 1,
            features: Features::of(&[0u8; 64], 1),
            grid: vec![(fast, o(500_000, 0.001)), (small, o(200_000, 0.1))],
        };
        assert_eq!(r.best(0.0, PerfMode::Comp).0, Category::of(&fast));
        assert_eq!(r.best(1.0, PerfMode::Comp).0, Category::of(&small));
        assert_eq!(categories(&[r], PerfMode::Comp).len(), 2);
    }
}
