//! Training for btune-rs: fits the network that predicts good Blosc2
//! parameters from a chunk's features and the tradeoff asked for.
//!
//! A [`sweep::Sweep`] times the parameter grid on a dataset's chunks (the
//! same measurements `btune bench` makes, sharing its cache);
//! [`labels`] turns each chunk's measurements into targets over the
//! model's categories at 11 tradeoffs; [`fit`] trains the network
//! ([`mlp`], several averaged by [`ensemble`]) and evaluates models on chunks. It depends on candle (CPU
//! only), which is why it is a crate of its own: the core, the plugins and
//! the codec never pull it in.

pub mod corpus;
pub mod ensemble;
pub mod fit;
pub mod labels;
pub mod measure;
pub mod mlp;
pub mod sweep;
