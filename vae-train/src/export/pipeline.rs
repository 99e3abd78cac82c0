//! Checkpoint in, blob out: load the run, calibrate, quantize, check parity, write.

use std::path::{Path, PathBuf};

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

/// Quantizes `vae`'s decoder ([`int8::quantize_decoder`]), calibrated on encoder means
/// of `calibration` training digits and as many prior samples.
pub fn quantize_model(
    vae: &Vae,
    mnist: &Mnist,
    calibration: usize,
    clipping: Clipping,
    seed: u64,
) -> Result<QuantizedMlp, ExportError> {
    int8::quantize_decoder(
        vae,
        &mnist.train.images,
        &mnist.train.labels,
        calibration,
        clipping,
        seed,
        // The blob names the tool that wrote it (the crates share one version).
        format!("vae-export {}", env!("CARGO_PKG_VERSION")),
    )
    .map_err(blob_err("quantizing the decoder"))
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
    if let Clipping::Quantile(q) = options.clipping
        && !(q > 0.5 && q <= 1.0)
    {
        return Err(ExportError::Usage("--quantile must be in (0.5, 1]".into()));
    }
    let run_dir = run_dir_of(&options.run_dir);
    let (config, vae) = checkpoint::load_model(&run_dir, &backend::device())?;
    let mnist = data::load_for_run(options.data_dir.as_deref(), &config.data_dir)?;
    let seed = config.train.seed;

    let mut quantized = quantize_model(&vae, &mnist, options.calibration, options.clipping, seed)?;
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
