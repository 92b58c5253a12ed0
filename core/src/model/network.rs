//! The network a model holds: a multilayer perceptron, its weights in plain
//! vectors. Training produces it, the `.tflite` writer serialises it, and
//! [`Network::forward`] evaluates it without any runtime (for tests and for
//! checking a loaded model against the weights it was written from).

/// One fully connected layer: `y = W x + b`, with `W` stored row-major as
/// `outputs` rows of `inputs` values (TFLite's `FULLY_CONNECTED` layout).
#[derive(Clone, Debug, PartialEq)]
pub struct Dense {
    /// Input width.
    pub inputs: usize,
    /// Output width.
    pub outputs: usize,
    /// `outputs * inputs` weights, row-major (one row per output).
    pub weights: Vec<f32>,
    /// `outputs` biases.
    pub bias: Vec<f32>,
}

/// A multilayer perceptron: ReLU after every layer but the last, softmax
/// after the last.
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    /// The layers, input first.
    pub layers: Vec<Dense>,
}

impl Dense {
    /// `W x + b`.
    ///
    /// # Panics
    /// If `x.len() != self.inputs` or the weights do not match the widths.
    #[must_use]
    pub fn apply(&self, x: &[f32]) -> Vec<f32> {
        assert_eq!(x.len(), self.inputs, "input width");
        assert_eq!(self.weights.len(), self.inputs * self.outputs, "weights");
        self.weights
            .chunks_exact(self.inputs)
            .zip(&self.bias)
            .map(|(row, b)| row.iter().zip(x).map(|(w, v)| w * v).sum::<f32>() + b)
            .collect()
    }
}

impl Network {
    /// The network's input width.
    #[must_use]
    pub fn inputs(&self) -> usize {
        self.layers.first().map_or(0, |l| l.inputs)
    }

    /// The network's output width (the number of categories).
    #[must_use]
    pub fn outputs(&self) -> usize {
        self.layers.last().map_or(0, |l| l.outputs)
    }

    /// Whether consecutive layers fit together and every weight vector has
    /// the size its widths imply.
    #[must_use]
    pub fn is_consistent(&self) -> bool {
        !self.layers.is_empty()
            && self.layers.iter().all(|l| {
                l.inputs > 0
                    && l.outputs > 0
                    && l.weights.len() == l.inputs * l.outputs
                    && l.bias.len() == l.outputs
            })
            && self.layers.windows(2).all(|w| w[0].outputs == w[1].inputs)
    }

    /// The softmax output for one input row, computed in plain Rust.
    ///
    /// ```
    /// use btune_core::model::{Dense, Network};
    /// let net = Network { layers: vec![Dense { inputs: 1, outputs: 2, weights: vec![1.0, -1.0], bias: vec![0.0, 0.0] }] };
    /// let p = net.forward(&[2.0]);
    /// assert!(p[0] > 0.98 && (p[0] + p[1] - 1.0).abs() < 1e-6);
    /// ```
    ///
    /// # Panics
    /// If the network is not consistent or `x` has the wrong width.
    #[must_use]
    pub fn forward(&self, x: &[f32]) -> Vec<f32> {
        let mut v = x.to_vec();
        let last = self.layers.len().saturating_sub(1);
        for (i, layer) in self.layers.iter().enumerate() {
            v = layer.apply(&v);
            if i < last {
                v.iter_mut().for_each(|y| *y = y.max(0.0));
            }
        }
        softmax(&mut v);
        v
    }
}

/// In-place softmax, stable for large inputs.
pub(crate) fn softmax(v: &mut [f32]) {
    let max = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for y in v.iter_mut() {
        *y = (*y - max).exp();
        sum += *y;
    }
    if sum > 0.0 {
        v.iter_mut().for_each(|y| *y /= sum);
    }
}
