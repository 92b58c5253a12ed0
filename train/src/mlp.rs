//! Fits the multilayer perceptron a model holds ([`Network`]): full-batch
//! AdamW on cross-entropy against soft targets, with candle on the CPU, the
//! weights then copied out into plain [`Dense`] layers.
//!
//! Training is deterministic for a given [`TrainOptions::seed`] on one
//! machine: the weights start from our own seeded generator (candle's CPU
//! generator cannot be seeded), and candle's CPU kernels reduce in a fixed
//! order. Another CPU may pick other SIMD kernels (FMA or not, other widths),
//! so networks trained on two machines can differ in the last bits.

use anyhow::{Result, ensure};
use btune_core::model::{Dense, Network};
use candle_core::{D, Device, Tensor, Var};
use candle_nn::ops::{log_softmax, softmax};
use candle_nn::optim::{AdamW, Optimizer, ParamsAdamW};

/// How far a target row's sum may be from 1: loose enough for
/// distributions computed in `f32`, tight enough to catch unnormalised rows.
const SUM_TOLERANCE: f64 = 1e-3;

/// Options of training.
#[derive(Clone, Debug)]
pub struct TrainOptions {
    /// Widths of the hidden layers, input side first; empty fits a plain
    /// softmax regression. Default `[32]`.
    pub hidden: Vec<usize>,
    /// Full-batch optimiser steps. Default 800.
    pub epochs: usize,
    /// AdamW's learning rate. Default `1e-2`.
    pub learning_rate: f64,
    /// AdamW's decoupled weight decay, applied to weights and biases alike.
    /// Default `1e-2` (candle's and PyTorch's default).
    pub weight_decay: f64,
    /// Seed of the initial weights. Default 0.
    pub seed: u64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            hidden: vec![32],
            epochs: 800,
            learning_rate: 1e-2,
            weight_decay: 1e-2,
            seed: 0,
        }
    }
}

/// What training reports.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainReport {
    /// Mean cross-entropy over the rows, with the returned weights.
    pub final_loss: f64,
    /// Share of rows whose most probable category (predicted) is the target's
    /// most probable one; ties go to the first category.
    pub train_accuracy: f64,
}

/// Trains an MLP mapping `inputs` (rows of equal width, already normalised)
/// to `targets` (rows: probability distributions over categories, each
/// summing to 1; a one-hot row is a hard label) by minimising the mean
/// cross-entropy `-sum(target * log_softmax(logits))`, full batch, AdamW.
///
/// Layers followed by a ReLU start He/Kaiming-uniform (`±sqrt(6 / fan_in)`),
/// the output layer Kaiming-uniform with gain 1 (`±sqrt(3 / fan_in)`), so the
/// first logits stay moderate; biases start at zero. Deterministic for a
/// given seed (see the module docs).
///
/// # Errors
/// If there are no rows, the input and target counts differ, rows are ragged
/// or empty, a value is not finite, a target row holds a negative value or
/// does not sum to 1, a hidden width is 0, the learning rate is not positive
/// or the weight decay is negative; or if candle fails.
pub fn train(
    inputs: &[Vec<f32>],
    targets: &[Vec<f32>],
    opts: &TrainOptions,
) -> Result<(Network, TrainReport)> {
    let (layers, report) = fit(inputs, targets, opts)?;
    Ok((to_network(&layers)?, report))
}

/// One layer's trainable tensors: weight `(outputs, inputs)`, as in
/// `candle_nn::Linear` and [`Dense`], and bias `(outputs)`.
struct Layer {
    weight: Var,
    bias: Var,
}

/// [`train`] without the copy out of candle, so tests can compare candle's
/// own forward pass with [`Network::forward`].
fn fit(
    inputs: &[Vec<f32>],
    targets: &[Vec<f32>],
    opts: &TrainOptions,
) -> Result<(Vec<Layer>, TrainReport)> {
    let (width, categories) = check_data(inputs, targets)?;
    check_options(opts)?;
    let dev = Device::Cpu;
    let rows = inputs.len();
    let x = Tensor::from_vec(inputs.concat(), (rows, width), &dev)?;
    let t = Tensor::from_vec(targets.concat(), (rows, categories), &dev)?;

    let layers = init_layers(width, &opts.hidden, categories, opts.seed, &dev)?;
    let vars = layers
        .iter()
        .flat_map(|l| [l.weight.clone(), l.bias.clone()])
        .collect();
    let params = ParamsAdamW {
        lr: opts.learning_rate,
        weight_decay: opts.weight_decay,
        ..ParamsAdamW::default()
    };
    let mut adam = AdamW::new(vars, params)?;
    for _ in 0..opts.epochs {
        adam.backward_step(&cross_entropy(&logits(&layers, &x)?, &t)?)?;
    }

    let z = logits(&layers, &x)?;
    let final_loss = f64::from(cross_entropy(&z, &t)?.to_scalar::<f32>()?);
    let probs = softmax(&z, D::Minus1)?.to_vec2::<f32>()?;
    let hits = probs
        .iter()
        .zip(targets)
        .filter(|(p, t)| argmax(p) == argmax(t))
        .count();
    let train_accuracy = hits as f64 / rows as f64;
    Ok((
        layers,
        TrainReport {
            final_loss,
            train_accuracy,
        },
    ))
}

/// Checks the training rows; returns (input width, category count).
fn check_data(inputs: &[Vec<f32>], targets: &[Vec<f32>]) -> Result<(usize, usize)> {
    ensure!(!inputs.is_empty(), "no training rows");
    ensure!(
        inputs.len() == targets.len(),
        "{} input rows but {} target rows",
        inputs.len(),
        targets.len()
    );
    let (width, categories) = (inputs[0].len(), targets[0].len());
    ensure!(width > 0, "input rows are empty");
    ensure!(categories > 0, "target rows are empty");
    for (i, (x, t)) in inputs.iter().zip(targets).enumerate() {
        ensure!(
            x.len() == width,
            "input row {i} has {} values, row 0 has {width}",
            x.len()
        );
        ensure!(
            t.len() == categories,
            "target row {i} has {} values, row 0 has {categories}",
            t.len()
        );
        ensure!(
            x.iter().all(|v| v.is_finite()),
            "input row {i} holds a non-finite value"
        );
        ensure!(
            t.iter().all(|v| v.is_finite()),
            "target row {i} holds a non-finite value"
        );
        ensure!(
            t.iter().all(|&v| v >= 0.0),
            "target row {i} holds a negative probability"
        );
        let sum: f64 = t.iter().map(|&v| f64::from(v)).sum();
        ensure!(
            (sum - 1.0).abs() <= SUM_TOLERANCE,
            "target row {i} sums to {sum}, not 1"
        );
    }
    Ok((width, categories))
}

/// Checks the options that would make training meaningless.
fn check_options(opts: &TrainOptions) -> Result<()> {
    ensure!(
        !opts.hidden.contains(&0),
        "hidden layer widths must be positive: {:?}",
        opts.hidden
    );
    ensure!(
        opts.learning_rate.is_finite() && opts.learning_rate > 0.0,
        "learning rate must be positive and finite: {}",
        opts.learning_rate
    );
    ensure!(
        opts.weight_decay.is_finite() && opts.weight_decay >= 0.0,
        "weight decay must be non-negative and finite: {}",
        opts.weight_decay
    );
    Ok(())
}

/// Draws every layer's weights, input layer first, each row-major.
fn init_layers(
    width: usize,
    hidden: &[usize],
    categories: usize,
    seed: u64,
    dev: &Device,
) -> Result<Vec<Layer>> {
    let mut rng = SplitMix64(seed);
    let widths: Vec<usize> = [width]
        .iter()
        .chain(hidden)
        .chain([&categories])
        .copied()
        .collect();
    let last = widths.len() - 2;
    let mut layers = Vec::with_capacity(widths.len() - 1);
    for (i, w) in widths.windows(2).enumerate() {
        let (fan_in, fan_out) = (w[0], w[1]);
        // Kaiming-uniform bound `gain * sqrt(3 / fan_in)`: gain² = 2 keeps
        // the activations' variance through a ReLU, 1 suits the logits.
        let gain_sq = if i < last { 2.0 } else { 1.0 };
        let bound = (3.0 * gain_sq / fan_in as f32).sqrt();
        let weights = (0..fan_in * fan_out).map(|_| rng.uniform(bound)).collect();
        layers.push(Layer {
            weight: Var::from_tensor(&Tensor::from_vec(weights, (fan_out, fan_in), dev)?)?,
            bias: Var::zeros(fan_out, candle_core::DType::F32, dev)?,
        });
    }
    Ok(layers)
}

/// The logits for a batch `x` of shape `(rows, inputs)`: ReLU between layers,
/// none after the last, as [`Network::forward`] does before its softmax.
fn logits(layers: &[Layer], x: &Tensor) -> candle_core::Result<Tensor> {
    let mut h = x.clone();
    for (i, layer) in layers.iter().enumerate() {
        if i > 0 {
            h = h.relu()?;
        }
        h = h.matmul(&layer.weight.t()?)?.broadcast_add(&layer.bias)?;
    }
    Ok(h)
}

/// Mean over rows of `-sum(target * log_softmax(logits))`.
fn cross_entropy(logits: &Tensor, targets: &Tensor) -> candle_core::Result<Tensor> {
    (targets * log_softmax(logits, D::Minus1)?)?
        .sum(D::Minus1)?
        .neg()?
        .mean_all()
}

fn to_network(layers: &[Layer]) -> Result<Network> {
    let layers = layers
        .iter()
        .map(|l| {
            let (outputs, inputs) = l.weight.dims2()?;
            // Both layouts are (outputs, inputs) row-major: a flat copy fits.
            let weights = l.weight.flatten_all()?.to_vec1::<f32>()?;
            Ok(Dense {
                inputs,
                outputs,
                weights,
                bias: l.bias.to_vec1::<f32>()?,
            })
        })
        .collect::<Result<_>>()?;
    Ok(Network { layers })
}

/// Index of the first largest value.
pub(crate) fn argmax(v: &[f32]) -> usize {
    v.iter()
        .enumerate()
        .fold(0, |best, (i, &x)| if x > v[best] { i } else { best })
}

/// SplitMix64 (Steele, Lea, Flood 2014): a few lines whose output never
/// changes with a dependency's version, which keeps trained models
/// reproducible across releases.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[-bound, bound)`, from the top 24 bits (an `f32` mantissa).
    fn uniform(&mut self, bound: f32) -> f32 {
        let u = (self.next_u64() >> 40) as f32 / (1u32 << 24) as f32;
        (2.0 * u - 1.0) * bound
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// XOR of the signs of two coordinates, on a 14 x 14 grid that keeps off
    /// the axes; one-hot targets.
    fn xor_data() -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
        let coords: Vec<f32> = (0..14).map(|i| -1.0 + (i as f32 + 0.5) / 7.0).collect();
        let mut inputs = Vec::new();
        let mut targets = Vec::new();
        for &a in &coords {
            for &b in &coords {
                let class = usize::from((a > 0.0) != (b > 0.0));
                inputs.push(vec![a, b]);
                targets.push((0..2).map(|c| if c == class { 1.0 } else { 0.0 }).collect());
            }
        }
        (inputs, targets)
    }

    fn quick() -> TrainOptions {
        TrainOptions {
            hidden: vec![16],
            epochs: 300,
            ..TrainOptions::default()
        }
    }

    #[test]
    fn learns_xor() {
        let (x, t) = xor_data();
        let (net, report) = train(&x, &t, &TrainOptions::default()).unwrap();
        assert!(report.train_accuracy >= 0.95, "{report:?}");
        assert!(net.is_consistent());
        assert_eq!((net.inputs(), net.outputs(), net.layers.len()), (2, 2, 2));
        assert_eq!(net.layers[0].outputs, 32);
    }

    #[test]
    fn same_seed_same_network() {
        let (x, t) = xor_data();
        let (a, ra) = train(&x, &t, &quick()).unwrap();
        let (b, rb) = train(&x, &t, &quick()).unwrap();
        assert_eq!(a, b);
        assert_eq!(ra, rb);
        let (c, _) = train(&x, &t, &TrainOptions { seed: 1, ..quick() }).unwrap();
        assert_ne!(a, c);
    }

    #[test]
    fn network_forward_matches_candle() {
        let (x, t) = xor_data();
        let opts = TrainOptions {
            hidden: vec![8, 5],
            epochs: 50,
            ..TrainOptions::default()
        };
        let (layers, _) = fit(&x, &t, &opts).unwrap();
        let net = to_network(&layers).unwrap();
        let xt = Tensor::from_vec(x.concat(), (x.len(), 2), &Device::Cpu).unwrap();
        let z = logits(&layers, &xt).unwrap();
        let probs = softmax(&z, D::Minus1).unwrap().to_vec2::<f32>().unwrap();
        for (row, p) in x.iter().zip(&probs) {
            let q = net.forward(row);
            for (a, b) in p.iter().zip(&q) {
                assert!((a - b).abs() <= 1e-5, "{p:?} vs {q:?}");
            }
        }
    }

    #[test]
    fn soft_targets_loss_decreases() {
        // Three categories whose probabilities drift smoothly with the input.
        let x: Vec<Vec<f32>> = (0..60).map(|i| vec![i as f32 / 30.0 - 1.0, 0.5]).collect();
        let t: Vec<Vec<f32>> = x
            .iter()
            .map(|r| {
                let mut p = vec![2.0 * r[0], 0.0, -2.0 * r[0]];
                let s: f32 = p.iter().map(|v| v.exp()).sum();
                p.iter_mut().for_each(|v| *v = v.exp() / s);
                p
            })
            .collect();
        let (_, start) = train(
            &x,
            &t,
            &TrainOptions {
                epochs: 0,
                ..quick()
            },
        )
        .unwrap();
        let (_, end) = train(&x, &t, &quick()).unwrap();
        assert!(
            end.final_loss < start.final_loss * 0.9,
            "{start:?} -> {end:?}"
        );
        // Cross-entropy is bounded below by the targets' own entropy.
        let entropy: f64 = t
            .iter()
            .flatten()
            .map(|&p| -f64::from(p) * f64::from(p).ln())
            .sum::<f64>()
            / t.len() as f64;
        assert!(
            end.final_loss >= entropy - 1e-4 && end.final_loss < entropy + 0.05,
            "{entropy} {end:?}"
        );
    }

    #[test]
    fn rejects_bad_data() {
        let opts = TrainOptions {
            epochs: 1,
            ..TrainOptions::default()
        };
        let err = |x: &[Vec<f32>], t: &[Vec<f32>]| train(x, t, &opts).unwrap_err().to_string();
        let one = vec![vec![1.0, 0.0]];
        assert!(err(&[], &[]).contains("no training rows"));
        assert!(err(&[vec![0.0], vec![1.0]], &one).contains("2 input rows but 1 target rows"));
        let two = vec![vec![1.0, 0.0], vec![0.0, 1.0]];
        assert!(err(&[vec![0.0], vec![1.0, 2.0]], &two).contains("input row 1 has 2 values"));
        assert!(
            err(&[vec![0.0], vec![1.0]], &[vec![1.0, 0.0], vec![1.0]])
                .contains("target row 1 has 1 values")
        );
        assert!(err(&[vec![f32::NAN]], &one).contains("non-finite"));
        assert!(err(&[vec![0.0]], &[vec![f32::INFINITY, 0.0]]).contains("non-finite"));
        assert!(err(&[vec![0.0]], &[vec![1.5, -0.5]]).contains("negative"));
        assert!(err(&[vec![0.0]], &[vec![0.5, 0.4]]).contains("sums to"));
        assert!(err(&[vec![]], &one).contains("input rows are empty"));
        let bad = |o: TrainOptions| train(&[vec![0.0]], &one, &o).unwrap_err().to_string();
        assert!(
            bad(TrainOptions {
                hidden: vec![4, 0],
                ..opts.clone()
            })
            .contains("hidden")
        );
        assert!(
            bad(TrainOptions {
                learning_rate: 0.0,
                ..opts.clone()
            })
            .contains("learning rate")
        );
        assert!(
            bad(TrainOptions {
                weight_decay: f64::NAN,
                ..opts.clone()
            })
            .contains("weight decay")
        );
    }
}
