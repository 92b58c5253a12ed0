//! Writing a [`Network`] as a TFLite flatbuffer, with the TFLite schema that
//! `tract-tflite` generates (so the bytes follow the same schema its reader
//! parses, and no TensorFlow is involved), and reading such a graph's
//! weights back ([`read_dense_stack`]).
//!
//! The graph is what a Keras `Dense` stack converts to: one
//! `FULLY_CONNECTED` per layer (ReLU fused into all but the last) and a
//! final `SOFTMAX`. Input `[1, inputs]`, output `[1, categories]`, float32.

use flatbuffers::{FlatBufferBuilder, UnionWIPOffset, WIPOffset};
use tract_tflite::tflite::{
    ActivationFunctionType, Buffer, BufferArgs, BuiltinOperator, BuiltinOptions,
    FullyConnectedOptions, FullyConnectedOptionsArgs, FullyConnectedOptionsWeightsFormat,
    MODEL_IDENTIFIER, Model, ModelArgs, Operator, OperatorArgs, OperatorCode, OperatorCodeArgs,
    SoftmaxOptions, SoftmaxOptionsArgs, SubGraph, SubGraphArgs, Tensor, TensorArgs, TensorType,
    root_as_model,
};

use super::network::{Dense, Network};

/// The TFLite schema version this writer produces.
const SCHEMA_VERSION: u32 = 3;

/// Operator code indices in the model's table.
const FULLY_CONNECTED: u32 = 0;
const SOFTMAX: u32 = 1;

/// The flatbuffer under construction with its tensor and buffer tables.
struct Writer {
    fb: FlatBufferBuilder<'static>,
    tensors: Vec<WIPOffset<Tensor<'static>>>,
    buffers: Vec<WIPOffset<Buffer<'static>>>,
}

impl Writer {
    /// Adds a float32 tensor (a constant if `data` is given) and returns
    /// its index.
    fn tensor(&mut self, name: &str, shape: &[i32], data: Option<&[f32]>) -> i32 {
        let fb = &mut self.fb;
        let buffer = match data {
            Some(values) => {
                let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
                let data = fb.create_vector(&bytes);
                self.buffers
                    .push(Buffer::create(fb, &BufferArgs { data: Some(data) }));
                u32::try_from(self.buffers.len() - 1).unwrap_or(u32::MAX)
            }
            None => 0,
        };
        let shape = fb.create_vector(shape);
        let name = fb.create_string(name);
        self.tensors.push(Tensor::create(
            fb,
            &TensorArgs {
                shape: Some(shape),
                type_: TensorType::FLOAT32,
                buffer,
                name: Some(name),
                ..TensorArgs::default()
            },
        ));
        i32::try_from(self.tensors.len() - 1).unwrap_or(i32::MAX)
    }

    /// An operator of the code at `opcode_index` from tensors `inputs` to
    /// tensor `output`, with its builtin options.
    fn operator(
        &mut self,
        opcode_index: u32,
        inputs: &[i32],
        output: i32,
        options_type: BuiltinOptions,
        options: WIPOffset<UnionWIPOffset>,
    ) -> WIPOffset<Operator<'static>> {
        let inputs = self.fb.create_vector(inputs);
        let outputs = self.fb.create_vector(&[output]);
        Operator::create(
            &mut self.fb,
            &OperatorArgs {
                opcode_index,
                inputs: Some(inputs),
                outputs: Some(outputs),
                builtin_options_type: options_type,
                builtin_options: Some(options),
                ..OperatorArgs::default()
            },
        )
    }
}

/// Serialises `net` (which must be consistent) to `.tflite` bytes.
pub(crate) fn write(net: &Network, description: &str) -> Vec<u8> {
    debug_assert!(net.is_consistent());
    let mut fb = FlatBufferBuilder::new();
    // Buffer 0 is the empty sentinel that tensors without data point to.
    let sentinel = Buffer::create(&mut fb, &BufferArgs { data: None });
    let mut w = Writer {
        fb,
        tensors: Vec::new(),
        buffers: vec![sentinel],
    };
    let mut operators = Vec::new();

    let width = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    let input = w.tensor("input", &[1, width(net.inputs())], None);
    let mut x = input;
    let last = net.layers.len() - 1;
    for (i, layer) in net.layers.iter().enumerate() {
        let weights = w.tensor(
            &format!("dense_{i}/kernel"),
            &[width(layer.outputs), width(layer.inputs)],
            Some(&layer.weights),
        );
        let b = w.tensor(
            &format!("dense_{i}/bias"),
            &[width(layer.outputs)],
            Some(&layer.bias),
        );
        let y = w.tensor(
            &format!("dense_{i}/output"),
            &[1, width(layer.outputs)],
            None,
        );
        let options = FullyConnectedOptions::create(
            &mut w.fb,
            &FullyConnectedOptionsArgs {
                fused_activation_function: if i < last {
                    ActivationFunctionType::RELU
                } else {
                    ActivationFunctionType::NONE
                },
                ..FullyConnectedOptionsArgs::default()
            },
        );
        operators.push(w.operator(
            FULLY_CONNECTED,
            &[x, weights, b],
            y,
            BuiltinOptions::FullyConnectedOptions,
            options.as_union_value(),
        ));
        x = y;
    }
    let output = w.tensor("probabilities", &[1, width(net.outputs())], None);
    let options = SoftmaxOptions::create(&mut w.fb, &SoftmaxOptionsArgs { beta: 1.0 });
    operators.push(w.operator(
        SOFTMAX,
        &[x],
        output,
        BuiltinOptions::SoftmaxOptions,
        options.as_union_value(),
    ));

    let codes: Vec<_> = [
        (BuiltinOperator::FULLY_CONNECTED, 9),
        (BuiltinOperator::SOFTMAX, 25),
    ]
    .into_iter()
    .map(|(code, deprecated)| {
        OperatorCode::create(
            &mut w.fb,
            &OperatorCodeArgs {
                deprecated_builtin_code: deprecated,
                builtin_code: code,
                version: 1,
                custom_code: None,
            },
        )
    })
    .collect();
    let tensors = w.fb.create_vector(&w.tensors);
    let operators = w.fb.create_vector(&operators);
    let sg_inputs = w.fb.create_vector(&[input]);
    let sg_outputs = w.fb.create_vector(&[output]);
    let name = w.fb.create_string("main");
    let subgraph = SubGraph::create(
        &mut w.fb,
        &SubGraphArgs {
            tensors: Some(tensors),
            inputs: Some(sg_inputs),
            outputs: Some(sg_outputs),
            operators: Some(operators),
            name: Some(name),
        },
    );
    let codes = w.fb.create_vector(&codes);
    let subgraphs = w.fb.create_vector(&[subgraph]);
    let buffers = w.fb.create_vector(&w.buffers);
    let description = w.fb.create_string(description);
    let model = Model::create(
        &mut w.fb,
        &ModelArgs {
            version: SCHEMA_VERSION,
            operator_codes: Some(codes),
            subgraphs: Some(subgraphs),
            description: Some(description),
            buffers: Some(buffers),
            ..ModelArgs::default()
        },
    );
    w.fb.finish(model, Some(MODEL_IDENTIFIER));
    w.fb.finished_data().to_vec()
}

/// The layers of a graph of the form [`write`] produces (one subgraph of
/// float32 `FULLY_CONNECTED` operators, ReLU fused into all but the last,
/// chained from the input to a final `SOFTMAX` with beta 1 whose output is
/// the graph's), with their weights; `None` for any other graph. Such a
/// network can run without a runtime ([`Network::forward`]); the caller
/// still checks it against tract.
pub(crate) fn read_dense_stack(bytes: &[u8]) -> Option<Network> {
    let model = root_as_model(bytes).ok()?;
    let codes = model.operator_codes()?;
    let buffers = model.buffers()?;
    let subgraphs = model.subgraphs()?;
    if subgraphs.len() != 1 {
        return None;
    }
    let graph = subgraphs.get(0);
    let tensors = graph.tensors()?;
    let ops = graph.operators()?;
    // Indices come from the file: a flatbuffer vector's `get` panics out of
    // range.
    let tensor = |index: i32| {
        let i = usize::try_from(index).ok()?;
        (i < tensors.len()).then(|| tensors.get(i))
    };
    let single = |v: Option<flatbuffers::Vector<'_, i32>>| match v {
        Some(v) if v.len() == 1 => Some(v.get(0)),
        _ => None,
    };
    let code = |op: &Operator<'_>| {
        let i = usize::try_from(op.opcode_index()).ok()?;
        let c = (i < codes.len()).then(|| codes.get(i))?;
        Some(
            c.builtin_code()
                .max(BuiltinOperator(i32::from(c.deprecated_builtin_code()))),
        )
    };
    let constant = |index: i32, shape: &[usize]| -> Option<Vec<f32>> {
        let t = tensor(index)?;
        let dims: Vec<usize> = t
            .shape()?
            .iter()
            .map(|d| usize::try_from(d).ok())
            .collect::<Option<_>>()?;
        if t.type_() != TensorType::FLOAT32 || t.quantization().is_some() || dims != shape {
            return None;
        }
        let b = usize::try_from(t.buffer()).ok()?;
        let data = (b < buffers.len()).then(|| buffers.get(b))?.data()?;
        let values: Vec<f32> = data
            .bytes()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        (values.len() == shape.iter().product::<usize>()).then_some(values)
    };
    let ops: Vec<Operator<'_>> = ops.iter().collect();
    let (last, dense_ops) = ops.split_last()?;
    let mut x = single(graph.inputs())?;
    let mut width = {
        match tensor(x)?.shape()?.iter().collect::<Vec<_>>().as_slice() {
            [1, n] => usize::try_from(*n).ok()?,
            _ => return None,
        }
    };
    let mut layers = Vec::new();
    for (i, op) in dense_ops.iter().enumerate() {
        let options = op.builtin_options_as_fully_connected_options()?;
        let relu = if i + 1 < dense_ops.len() {
            ActivationFunctionType::RELU
        } else {
            ActivationFunctionType::NONE
        };
        let inputs = op.inputs()?;
        if code(op)? != BuiltinOperator::FULLY_CONNECTED
            || options.fused_activation_function() != relu
            || options.weights_format() != FullyConnectedOptionsWeightsFormat::DEFAULT
            || options.keep_num_dims()
            || inputs.len() != 3
            || inputs.get(0) != x
        {
            return None;
        }
        let outputs = match tensor(inputs.get(1))?.shape()?.iter().next() {
            Some(n) => usize::try_from(n).ok()?,
            None => return None,
        };
        layers.push(Dense {
            inputs: width,
            outputs,
            weights: constant(inputs.get(1), &[outputs, width])?,
            bias: constant(inputs.get(2), &[outputs])?,
        });
        x = single(op.outputs())?;
        width = outputs;
    }
    let softmax = last.builtin_options_as_softmax_options()?;
    let stack = Network { layers };
    (code(last)? == BuiltinOperator::SOFTMAX
        && softmax.beta() == 1.0
        && single(last.inputs())? == x
        && single(last.outputs())? == single(graph.outputs())?
        && stack.is_consistent())
    .then_some(stack)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three dense layers: two hidden, with ReLU, and the output.
    fn network() -> Network {
        crate::model::tests::network(&[5, 7, 4, 3])
    }

    #[test]
    fn reads_back_what_it_writes() {
        let net = network();
        assert_eq!(read_dense_stack(&write(&net, "test")), Some(net));
    }

    #[test]
    fn broken_bytes_are_not_a_dense_stack() {
        let bytes = write(&network(), "test");
        assert_eq!(read_dense_stack(&bytes[..bytes.len() / 2]), None);
        assert_eq!(read_dense_stack(b"not a flatbuffer"), None);
    }

    /// Every single-byte corruption of a written model either reads as a
    /// consistent network or as none: indices taken from the file never
    /// reach past a vector's end.
    #[test]
    fn corrupted_bytes_never_panic() {
        let bytes = write(&network(), "test");
        for i in 0..bytes.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut b = bytes.clone();
                b[i] ^= flip;
                if let Some(net) = read_dense_stack(&b) {
                    assert!(net.is_consistent());
                }
            }
        }
    }

    #[test]
    fn a_softmax_regression_is_one_layer() {
        let net = crate::model::tests::network(&[5, 7]);
        assert_eq!(read_dense_stack(&write(&net, "test")), Some(net));
    }
}
