//! Checkpoint in, blob out: load the run, calibrate, quantize, check parity, write.

use std::path::{Path, PathBuf};

use vae_core::format::WeightWidth;
use vae_core::host;
use vae_core::quantize::{Clipping, QuantizedMlp};

use super::error::{ExportError, blob_err};
use super::int8;
use super::parity::{ParityReport, parity};
use crate::checkpoint::{self, CHECKPOINT_DIR, CHECKPOINT_FILE};
use crate::config::RunConfig;
use crate::data::{self, Mnist};
use crate::model::Vae;
use crate::{backend, fsutil};

/// Largest `--calibration`: the size of MNIST's training set (beyond it only prior
/// samples would be added, and memory grows with every one).
pub const MAX_CALIBRATION: usize = 60_000;
/// Largest `--parity`: latents compared pixel by pixel.
pub const MAX_PARITY_LATENTS: usize = 100_000;

/// What to export, and how to check it.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    /// The training run folder (holds `config.json` and `checkpoint.json`).
    pub run_dir: PathBuf,
    /// Where to write the blob.
    pub out: PathBuf,
    /// MNIST folder (`None`: `VAE_MNIST_DIR`, else the folder the run was trained on, else
    /// the cache, downloading if needed; see [`data::load_for_run`]).
    pub data_dir: Option<PathBuf>,
    /// Calibration set: encoder means of this many training digits plus as many prior
    /// samples.
    pub calibration: usize,
    /// Latents compared pixel by pixel in the parity report (at least 2).
    pub parity_latents: usize,
    /// Test digits for the test loss of the float and int8 decoders.
    pub max_test: usize,
    /// How activation ranges are chosen from the calibration set.
    pub clipping: Clipping,
    /// Each decoder layer's weight width, first layer first; layers past the end of the
    /// list are int8 (the default, empty: all int8).
    pub weight_widths: Vec<WeightWidth>,
    /// Store the mixture prior's means and standard deviations as `f16` (format 3.1: half
    /// the prior's bytes). A usage error for an N(0, I) prior, which stores none.
    pub prior_f16: bool,
}

impl ExportOptions {
    /// Defaults for `run_dir`: blob `run_dir/decoder.bin`, 2,000 + 2,000 calibration
    /// latents, 512 parity latents, the whole test set, max calibration.
    pub fn new(run_dir: impl Into<PathBuf>) -> Self {
        let run_dir = run_dir.into();
        ExportOptions {
            out: run_dir.join("decoder.bin"),
            run_dir,
            data_dir: None,
            calibration: int8::DEFAULT_CALIBRATION,
            parity_latents: 512,
            max_test: 10_000,
            clipping: Clipping::default(),
            weight_widths: Vec::new(),
            prior_f16: false,
        }
    }
}

/// The result of an export.
#[derive(Debug)]
pub struct Exported {
    /// The run's configuration.
    pub config: RunConfig,
    /// The quantized arrays.
    pub quantized: QuantizedMlp,
    /// The encoded blob (as written).
    pub blob: Vec<u8>,
    /// Its parity with the float model.
    pub report: ParityReport,
}

/// The run folder of `path`: a run folder itself, its `checkpoint.json`, its
/// `checkpoint/` folder or a weight file in it.
pub fn run_dir_of(path: &Path) -> PathBuf {
    let is_run = |p: &Path| p.join(CHECKPOINT_FILE).is_file();
    if path.is_dir() && is_run(path) {
        return path.to_path_buf();
    }
    for candidate in path.ancestors().skip(1).take(2) {
        if is_run(candidate) {
            return candidate.to_path_buf();
        }
    }
    if path.file_name().is_some_and(|n| n == CHECKPOINT_DIR) {
        return path.parent().unwrap_or(path).to_path_buf();
    }
    path.to_path_buf()
}

/// Refuses an int4 request that keeps a layer int8 past the decoder's `layers` layers
/// (`--int8-layers K` with `K >= layers`), which would otherwise be silently ignored.
fn check_layer_widths(widths: &[WeightWidth], layers: usize) -> Result<(), ExportError> {
    if !widths.contains(&WeightWidth::Int4) {
        return Ok(());
    }
    match widths
        .iter()
        .skip(layers)
        .position(|&w| w == WeightWidth::Int8)
    {
        Some(past) => Err(ExportError::Usage(format!(
            "--int8-layers {}: this run's decoder has {layers} layers (0 to {})",
            layers + past,
            layers - 1
        ))),
        None => Ok(()),
    }
}

/// Quantizes `vae`'s decoder ([`int8::quantize_decoder`]), calibrated on encoder means
/// of `calibration` training digits and as many prior samples, layer `k` with weight
/// width `weight_widths[k]` (int8 past the end).
pub fn quantize_model(
    vae: &Vae,
    mnist: &Mnist,
    calibration: usize,
    clipping: Clipping,
    weight_widths: &[WeightWidth],
    seed: u64,
) -> Result<QuantizedMlp, ExportError> {
    int8::quantize_decoder(
        vae,
        &mnist.train.images,
        &mnist.train.labels,
        calibration,
        vae_core::quantize::QuantizeOptions {
            clipping,
            weight_widths: weight_widths.to_vec(),
            ..Default::default()
        },
        seed,
        // The blob names the tool that wrote it (the crates share one version).
        format!("vae-export {}", env!("CARGO_PKG_VERSION")),
    )
    .map_err(blob_err("quantizing the decoder"))
}

/// Refuses an output `out` that is one of the run's own files (its checkpoint, config,
/// metrics or a weight file): writing it would break the run.
pub fn refuse_run_file_as_output(
    run_dir: &Path,
    state: &checkpoint::CheckpointState,
    out: &Path,
) -> Result<(), ExportError> {
    let inputs = [
        run_dir.join(CHECKPOINT_FILE),
        run_dir.join(crate::config::CONFIG_FILE),
        run_dir.join(crate::training::METRICS_FILE),
        run_dir.join(&state.model_file),
        run_dir.join(&state.optimizer_file),
    ];
    let in_checkpoint_dir =
        fsutil::same_file(&fsutil::parent_dir(out), &run_dir.join(CHECKPOINT_DIR));
    if in_checkpoint_dir || inputs.iter().any(|i| fsutil::same_file(i, out)) {
        return Err(ExportError::Usage(format!(
            "{} is a file of the run in {}: writing there would break the run; give another \
             output path (the default is {}/decoder.bin)",
            out.display(),
            run_dir.display(),
            run_dir.display()
        )));
    }
    Ok(())
}

/// Refuses a model whose decoder or prior holds NaN or infinite values (a run saved
/// after it diverged, or an edited file), before quantizing says something less clear.
fn check_finite(vae: &Vae, run_dir: &Path, epoch: usize) -> Result<(), ExportError> {
    let finite = |v: &[f32]| v.iter().all(|x| x.is_finite());
    let decoder_ok = vae
        .decoder_layers()
        .iter()
        .all(|l| finite(&l.weight) && finite(&l.bias));
    let prior_ok = vae
        .mixture_prior()
        .is_none_or(|m| finite(&m.weights) && finite(&m.means) && finite(&m.stds));
    if decoder_ok && prior_ok {
        return Ok(());
    }
    Err(ExportError::Usage(format!(
        "the checkpoint in {} (epoch {epoch}) has NaN or infinite {} weights: that model \
         cannot be exported; retrain it (with a lower --lr if training diverged)",
        run_dir.display(),
        if decoder_ok { "prior" } else { "decoder" }
    )))
}

/// Writes `bytes` to `path` atomically, creating its folder if needed.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    fsutil::create_parent_dir(path)
        .and_then(|()| fsutil::atomic_write(path, bytes))
        .map_err(|source| ExportError::Io {
            path: path.to_path_buf(),
            source,
        })
}

/// Runs the whole export: load, quantize, parity report, write the blob atomically.
pub fn export(options: &ExportOptions) -> Result<Exported, ExportError> {
    if options.parity_latents < 2 {
        return Err(ExportError::Usage(
            "--parity needs at least 2 latents".into(),
        ));
    }
    if options.calibration == 0 {
        return Err(ExportError::Usage(
            "--calibration needs at least 1 digit".into(),
        ));
    }
    if options.calibration > MAX_CALIBRATION {
        return Err(ExportError::Usage(format!(
            "--calibration {} is over {MAX_CALIBRATION} (the MNIST training set; more only \
             costs memory): the default 2000 is plenty",
            options.calibration
        )));
    }
    if options.parity_latents > MAX_PARITY_LATENTS {
        return Err(ExportError::Usage(format!(
            "--parity {} is over {MAX_PARITY_LATENTS} latents: use a smaller value (default 512)",
            options.parity_latents
        )));
    }
    if options.max_test == 0 {
        return Err(ExportError::Usage(
            "--max-test 0 leaves no test digits for the test loss: use at least 1".into(),
        ));
    }
    if let Clipping::Quantile(q) = options.clipping
        && !(q > 0.5 && q <= 1.0)
    {
        return Err(ExportError::Usage("--quantile must be in (0.5, 1]".into()));
    }
    let run_dir = run_dir_of(&options.run_dir);
    let state = checkpoint::load_state(&run_dir)?;
    refuse_run_file_as_output(&run_dir, &state, &options.out)?;
    let vae = checkpoint::load_model_from_state(&run_dir, &state, &backend::device())?;
    let config = state.config;
    check_layer_widths(
        &options.weight_widths,
        config.model.decoder_hidden.len() + 1,
    )?;
    check_finite(&vae, &run_dir, state.epoch)?;
    let mnist = data::load_for_run(options.data_dir.as_deref(), &config.data_dir)?;
    let seed = config.train.seed;

    let mut quantized = quantize_model(
        &vae,
        &mnist,
        options.calibration,
        options.clipping,
        &options.weight_widths,
        seed,
    )?;
    if options.prior_f16 {
        let Some(prior) = quantized.prior.as_mut() else {
            return Err(ExportError::Usage(
                "--prior-f16: this run's prior is N(0, I), which stores no values to shrink".into(),
            ));
        };
        *prior = prior
            .to_f16()
            .map_err(blob_err("rounding the prior to f16"))?;
    }
    let blob = quantized.to_blob().map_err(blob_err("encoding the blob"))?;
    let report = {
        let decoder = host::open(&blob).map_err(blob_err("re-reading the new blob"))?;
        parity(
            &vae,
            &decoder,
            &mnist.test,
            options.parity_latents,
            options.max_test,
            seed,
        )?
    };
    // Record the int8 model's measured test loss in the blob's metadata.
    quantized.test_loss = Some(report.int8_test_loss as f32);
    let blob = quantized.to_blob().map_err(blob_err("encoding the blob"))?;
    write_file(&options.out, &blob)?;
    Ok(Exported {
        config,
        quantized,
        blob,
        report,
    })
}
