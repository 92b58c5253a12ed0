//! `btune model`: look into a model directory and run its networks, as the
//! tuner loads and runs them (tract). For people checking a model and for
//! tests comparing tract with other TFLite interpreters.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use btune_core::PerfMode;
use btune_core::model::Model;
use clap::Subcommand;

/// Subcommands of `btune model`.
#[derive(Subcommand)]
pub(crate) enum ModelCommand {
    /// Print a model's feature set, categories and training figures.
    Show {
        /// The model directory.
        dir: PathBuf,
        /// COMP, DECOMP or BALANCED.
        #[arg(long, default_value = "COMP", value_parser = crate::parse_perf_mode)]
        perf_mode: PerfMode,
    },
    /// Run a model's network on input rows: one JSON array of numbers per
    /// line on stdin (normalised features, then the tradeoff), one JSON
    /// array of probabilities per line on stdout. As the tuner runs it
    /// (a plain forward pass, checked against tract at load, where the
    /// network is a stack of dense layers), or with `--tract` in tract.
    Run {
        /// The model directory.
        dir: PathBuf,
        /// COMP, DECOMP or BALANCED.
        #[arg(long, default_value = "COMP", value_parser = crate::parse_perf_mode)]
        perf_mode: PerfMode,
        /// Run the network in tract, whatever its form.
        #[arg(long)]
        tract: bool,
    },
}

/// Runs a `btune model` subcommand.
pub(crate) fn run(command: ModelCommand) -> Result<()> {
    match command {
        ModelCommand::Show { dir, perf_mode } => {
            let model = Model::load(&dir, perf_mode)?;
            println!("{}", serde_json::to_string_pretty(model.meta())?);
            Ok(())
        }
        ModelCommand::Run {
            dir,
            perf_mode,
            tract,
        } => {
            let model = Model::load(&dir, perf_mode)?;
            let mut out = std::io::stdout().lock();
            for (n, line) in std::io::stdin().lock().lines().enumerate() {
                let line = line?;
                if line.trim().is_empty() {
                    continue;
                }
                let input: Vec<f32> = serde_json::from_str(&line).with_context(|| {
                    format!("input line {}: expected a JSON array of numbers", n + 1)
                })?;
                let width = model.meta().features.len() + 1;
                if input.len() != width {
                    bail!(
                        "input line {}: {} values, the model takes {width}",
                        n + 1,
                        input.len()
                    );
                }
                let probs = if tract {
                    model.run_in_tract(&input)
                } else {
                    model.run(&input)
                }
                .map_err(anyhow::Error::msg)?;
                writeln!(out, "{}", serde_json::to_string(&probs)?)?;
            }
            Ok(())
        }
    }
}
