//! Several networks trained from different seeds, merged into one network
//! that outputs the mean of their logits.
//!
//! With a few dozen training chunks, one network's choices depend on its
//! seed nearly as much as on the data: on the training corpus, the held-out
//! mean regret of single networks ranged over 2x between seeds. Averaging
//! members trained from different seeds keeps what they agree on. The
//! merged network is an ordinary [`Network`] of the same depth (members side
//! by side: hidden layers concatenated, with block-diagonal weights between
//! them, output weights divided by the member count), so the model files,
//! tract and BTune's layout stay as they are; only the hidden layers widen.

use anyhow::{Result, ensure};
use btune_core::model::{Dense, Network};

use crate::mlp::{self, TrainOptions, TrainReport};

/// Trains `members` networks with seeds `opts.seed`, `opts.seed + 1`, ...
/// and merges them ([`merge`]). One member is [`mlp::train`] itself. The
/// report's loss and accuracy are the merged network's.
///
/// # Errors
/// As [`mlp::train`], or if `members` is 0.
pub fn train(
    inputs: &[Vec<f32>],
    targets: &[Vec<f32>],
    opts: &TrainOptions,
    members: usize,
) -> Result<(Network, TrainReport)> {
    ensure!(members > 0, "an ensemble needs at least one member");
    if members == 1 {
        return mlp::train(inputs, targets, opts);
    }
    let nets = (0..members as u64)
        .map(|i| {
            let seeded = TrainOptions {
                seed: opts.seed.wrapping_add(i),
                ..opts.clone()
            };
            mlp::train(inputs, targets, &seeded).map(|(net, _)| net)
        })
        .collect::<Result<Vec<_>>>()?;
    let net = merge(&nets)?;
    let report = report(&net, inputs, targets);
    Ok((net, report))
}

/// One network whose logits are the mean of `nets`' logits (so its softmax
/// is their normalised geometric mean). The networks must have the same
/// input width, depth and output width.
///
/// ```
/// use btune_core::model::{Dense, Network};
/// use btune_train::ensemble::merge;
/// let member = |w: f32| Network {
///     layers: vec![
///         Dense { inputs: 1, outputs: 1, weights: vec![1.0], bias: vec![0.0] },
///         Dense { inputs: 1, outputs: 2, weights: vec![w, -w], bias: vec![0.0, 0.0] },
///     ],
/// };
/// let (a, b) = (member(1.0), member(3.0));
/// let merged = merge(&[a.clone(), b.clone()]).unwrap();
/// assert_eq!(merged.layers[0].outputs, 2);
/// // Logits 2x and -2x: the mean of x/-x and 3x/-3x.
/// let p = merged.forward(&[0.5]);
/// let q = member(2.0).forward(&[0.5]);
/// assert!((p[0] - q[0]).abs() < 1e-6);
/// ```
///
/// # Errors
/// If `nets` is empty, a network is inconsistent, or their shapes differ.
pub fn merge(nets: &[Network]) -> Result<Network> {
    let first = nets
        .first()
        .ok_or_else(|| anyhow::anyhow!("no networks to merge"))?;
    let depth = first.layers.len();
    ensure!(
        nets.iter().all(|n| n.is_consistent()
            && n.layers.len() == depth
            && n.inputs() == first.inputs()
            && n.outputs() == first.outputs()),
        "networks to merge must be consistent and of one shape"
    );
    #[allow(clippy::cast_precision_loss)]
    let share = 1.0 / nets.len() as f32;
    let layers = (0..depth)
        .map(|i| {
            let parts: Vec<&Dense> = nets.iter().map(|n| &n.layers[i]).collect();
            let first_layer = i == 0;
            let last_layer = i + 1 == depth;
            let inputs = if first_layer {
                parts[0].inputs
            } else {
                parts.iter().map(|d| d.inputs).sum()
            };
            let outputs = if last_layer {
                parts[0].outputs
            } else {
                parts.iter().map(|d| d.outputs).sum()
            };
            let mut weights = vec![0.0f32; inputs * outputs];
            let mut bias = vec![0.0f32; outputs];
            // Where member k's rows and columns go in the merged layer.
            let (mut row0, mut col0) = (0, 0);
            for d in &parts {
                let scale = if last_layer { share } else { 1.0 };
                for r in 0..d.outputs {
                    let row = if last_layer { r } else { row0 + r };
                    bias[row] += scale * d.bias[r];
                    for c in 0..d.inputs {
                        let col = if first_layer { c } else { col0 + c };
                        weights[row * inputs + col] += scale * d.weights[r * d.inputs + c];
                    }
                }
                row0 += d.outputs;
                col0 += d.inputs;
            }
            Dense {
                inputs,
                outputs,
                weights,
                bias,
            }
        })
        .collect();
    Ok(Network { layers })
}

/// Mean cross-entropy and top-1 agreement of `net` on the rows.
fn report(net: &Network, inputs: &[Vec<f32>], targets: &[Vec<f32>]) -> TrainReport {
    let (mut loss, mut hits) = (0.0f64, 0usize);
    for (x, t) in inputs.iter().zip(targets) {
        let p = net.forward(x);
        loss -= t
            .iter()
            .zip(&p)
            .map(|(&ti, &pi)| f64::from(ti) * f64::from(pi.max(1e-30)).ln())
            .sum::<f64>();
        hits += usize::from(mlp::argmax(&p) == mlp::argmax(t));
    }
    #[allow(clippy::cast_precision_loss)]
    let n = inputs.len().max(1) as f64;
    #[allow(clippy::cast_precision_loss)]
    TrainReport {
        final_loss: loss / n,
        train_accuracy: hits as f64 / n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two small random networks of two hidden layers.
    fn members() -> Vec<Network> {
        let layer = |inputs: usize, outputs: usize, k: f32| Dense {
            inputs,
            outputs,
            weights: (0..inputs * outputs)
                .map(|i| ((i as f32 + k) * 0.37).sin())
                .collect(),
            bias: (0..outputs)
                .map(|i| ((i as f32 - k) * 0.21).cos())
                .collect(),
        };
        (0..3)
            .map(|k| {
                let k = k as f32;
                Network {
                    layers: vec![layer(4, 5, k), layer(5, 3, k + 10.0), layer(3, 6, k + 20.0)],
                }
            })
            .collect()
    }

    fn logits(net: &Network, x: &[f32]) -> Vec<f32> {
        let mut v = x.to_vec();
        for (i, l) in net.layers.iter().enumerate() {
            v = l.apply(&v);
            if i + 1 < net.layers.len() {
                v.iter_mut().for_each(|y| *y = y.max(0.0));
            }
        }
        v
    }

    #[test]
    fn merged_logits_are_the_members_mean() {
        let nets = members();
        let merged = merge(&nets).unwrap();
        assert!(merged.is_consistent());
        assert_eq!(merged.layers[0].outputs, 15);
        assert_eq!(merged.layers[1].outputs, 9);
        assert_eq!(merged.outputs(), 6);
        for x in [[0.3, -1.2, 2.0, 0.5], [-0.7, 0.1, -0.4, 1.9]] {
            let got = logits(&merged, &x);
            let want: Vec<f32> = (0..6)
                .map(|j| nets.iter().map(|n| logits(n, &x)[j]).sum::<f32>() / 3.0)
                .collect();
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() < 1e-5, "{got:?} vs {want:?}");
            }
        }
    }

    #[test]
    fn one_member_is_itself_and_shapes_must_agree() {
        let nets = members();
        assert_eq!(merge(&nets[..1]).unwrap(), nets[0]);
        assert!(merge(&[]).is_err());
        let mut other = nets[1].clone();
        other.layers.pop();
        assert!(merge(&[nets[0].clone(), other]).is_err());
    }

    #[test]
    fn members_differ_by_seed_and_train_deterministically() {
        let inputs: Vec<Vec<f32>> = (0..40)
            .map(|i| vec![(i as f32 * 0.3).sin(), (i as f32 * 0.7).cos()])
            .collect();
        let targets: Vec<Vec<f32>> = inputs
            .iter()
            .map(|x| {
                if x[0] > x[1] {
                    vec![1.0, 0.0]
                } else {
                    vec![0.0, 1.0]
                }
            })
            .collect();
        let opts = TrainOptions {
            hidden: vec![4],
            epochs: 100,
            ..TrainOptions::default()
        };
        let (a, ra) = train(&inputs, &targets, &opts, 3).unwrap();
        let (b, _) = train(&inputs, &targets, &opts, 3).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.layers[0].outputs, 12);
        assert!(ra.train_accuracy > 0.8, "{ra:?}");
        assert!(train(&inputs, &targets, &opts, 0).is_err());
    }
}
