//! Writing a [`Network`] as a TFLite flatbuffer, with the TFLite schema that
//! `tract-tflite` generates (so the bytes follow the same schema its reader
//! parses, and no TensorFlow is involved).
//!
//! The graph is what a Keras `Dense` stack converts to: one
//! `FULLY_CONNECTED` per layer (ReLU fused into all but the last) and a
//! final `SOFTMAX`. Input `[1, inputs]`, output `[1, categories]`, float32.

use flatbuffers::{FlatBufferBuilder, UnionWIPOffset, WIPOffset};
use tract_tflite::tflite::{
    ActivationFunctionType, Buffer, BufferArgs, BuiltinOperator, BuiltinOptions,
    FullyConnectedOptions, FullyConnectedOptionsArgs, MODEL_IDENTIFIER, Model, ModelArgs, Operator,
    OperatorArgs, OperatorCode, OperatorCodeArgs, SoftmaxOptions, SoftmaxOptionsArgs, SubGraph,
    SubGraphArgs, Tensor, TensorArgs, TensorType,
};

use super::network::Network;

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
