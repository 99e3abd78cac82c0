//! `vae-export`: checkpoint -> int8 decoder blob, plus host-side sampling.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use vae_core::NUM_CLASSES;
use vae_core::format::{self, Prior, WeightWidth};
use vae_core::quantize::Clipping;
use vae_export::sample::{check_temperature, generate_each};
use vae_export::{ExportError, ExportOptions, export, host, run_dir_of};
use vae_train::export::{read_blob, refuse_run_file_as_output, write_file};
use vae_train::{fsutil, pictures};

/// Most digits `sample` draws in one call (784 MB of `--raw` output, streamed to disk).
const MAX_SAMPLE_COUNT: usize = 1_000_000;
/// Most digits `sample --out` puts in one picture (a 64 x 64 grid, about 3,700 pixels
/// square).
const MAX_GRID_DIGITS: usize = 4096;
/// Most digits `score` generates per temperature (they are held in memory to be scored:
/// 784 bytes each).
const MAX_SCORE_COUNT: usize = 100_000;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Quantize a trained VAE's decoder into an int8 (or int4, --weights) blob for vae-core, and check it.
///
/// With no subcommand: read the run's checkpoint, calibrate activation scales on real
/// digits, write the blob, and print its size, the per-layer scales and its parity with
/// the float model (pixel error, test loss of the quantized decoder vs f32).
#[derive(Parser, Debug)]
#[command(name = "vae-export", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    export: ExportArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Generate digits from a blob on the host, through vae-core (what the chip shows).
    Sample(SampleArgs),
    /// Print a blob's header: shapes, scales, metadata, size.
    Info(InfoArgs),
    /// Score a blob's digits with an MNIST classifier (trained once, then cached):
    /// share recognised with confidence >= 0.9, class entropy, inception score, and for
    /// a conditional blob the agreement between the asked and the recognised digit.
    Score(ScoreArgs),
    /// Check a real board: ask a Raspberry Pi Pico for digits over USB serial and compare
    /// them byte for byte with the host's decode of the same blob.
    ///
    /// The board must run the Pico firmware (examples/rp2040-pico) and its USB serial
    /// console; close any terminal that has the port open. The check resets the temperature
    /// (`t`), compares the banner's blob size and CRC-32 with --blob's (`i`), then sends
    /// `g SEED` for each seed and compares the board's CRC-32 and ASCII art with vae-core's
    /// decode here. It ends with `PASS: the board reproduces the host bit for bit ...`
    /// (exit 0) or names each seed that differs (exit 1); a port that does not open, a
    /// board running another blob, no answer within --timeout-ms or an unreadable answer
    /// stop it with exit 2.
    Serial(SerialArgs),
}

#[derive(Args, Debug)]
struct ExportArgs {
    /// Training run folder (written by vae-train --out).
    #[arg(
        long,
        value_name = "DIR",
        default_value = "runs/latest",
        conflicts_with = "checkpoint"
    )]
    run: PathBuf,
    /// A checkpoint instead of a run folder: its checkpoint.json, checkpoint/ folder or a
    /// weight file in it.
    #[arg(long, value_name = "PATH")]
    checkpoint: Option<PathBuf>,
    /// Where to write the blob [default: RUN/decoder.bin].
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// MNIST folder for calibration and parity (default: $VAE_MNIST_DIR, else the folder
    /// the run was trained on, else the cache, downloading if needed).
    #[arg(long, value_name = "DIR", env = "VAE_MNIST_DIR")]
    data_dir: Option<PathBuf>,
    /// Calibrate on encoder means of N training digits plus N prior samples (at most
    /// 60000).
    #[arg(long, value_name = "N", default_value_t = 2000)]
    calibration: usize,
    /// Latents compared pixel by pixel (half prior, half encoder means; at most 100000).
    #[arg(long, value_name = "N", default_value_t = 512)]
    parity: usize,
    /// Test digits for the int8-vs-f32 test loss.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    max_test: usize,
    /// Clip each activation at this quantile of its calibration values (1 = the
    /// maximum) instead of the default, the clip with the least quantization error (MSE).
    #[arg(long, value_name = "Q")]
    quantile: Option<f64>,
    /// Also write the parity report as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Weight width: int8 (format 2.1), or int4, two weights per byte (format 3.0: about
    /// half the blob; needs a vae-core that reads 3.0).
    #[arg(long, value_enum, default_value_t = Weights::Int8)]
    weights: Weights,
    /// With --weights int4: decoder layers (0 = the first) that keep int8 weights,
    /// comma-separated.
    #[arg(long, value_name = "K,K,...", value_delimiter = ',')]
    int8_layers: Vec<usize>,
    /// Store the learned mixture prior's means and standard deviations as f16 (format 3.1,
    /// half the prior's bytes: 8 KB less for the default 100 components; samples move
    /// by the f16 rounding only). Not for an N(0, I) prior.
    #[arg(long)]
    prior_f16: bool,
}

/// `--weights`: the width of the decoder's weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Weights {
    /// One byte per weight.
    Int8,
    /// Two weights per byte.
    Int4,
}

impl ExportArgs {
    /// The per-layer weight widths these flags ask for.
    fn weight_widths(&self) -> Result<Vec<WeightWidth>, ExportError> {
        if self.weights == Weights::Int8 {
            if !self.int8_layers.is_empty() {
                return Err(ExportError::Usage(
                    "--int8-layers only applies with --weights int4".into(),
                ));
            }
            return Ok(Vec::new());
        }
        let mut widths = vec![WeightWidth::Int4; format::MAX_LAYERS];
        for &k in &self.int8_layers {
            let slot = widths.get_mut(k).ok_or_else(|| {
                ExportError::Usage(format!(
                    "--int8-layers {k}: a decoder has at most {} layers (0 to {})",
                    format::MAX_LAYERS,
                    format::MAX_LAYERS - 1
                ))
            })?;
            *slot = WeightWidth::Int8;
        }
        Ok(widths)
    }
}

#[derive(Args, Debug)]
struct SampleArgs {
    /// The decoder blob.
    #[arg(long, value_name = "FILE")]
    blob: PathBuf,
    /// Number of digits (at most 1000000; at most 4096 with --out).
    #[arg(long, value_name = "N", default_value_t = 64)]
    count: usize,
    /// Seed of the first digit; digit i uses seed + i.
    #[arg(long, value_name = "S", default_value_t = 0)]
    seed: u64,
    /// Digit to draw (conditional blobs); without it a conditional blob cycles 0-9.
    #[arg(long, value_name = "D", value_parser = clap::value_parser!(u8).range(0..=9))]
    digit: Option<u8>,
    /// Sampling temperature: the spread of z around the prior's centre is scaled by T
    /// (z ~ N(0, T² I) for the standard prior; mean + T * sd * noise for a mixture). 1 is
    /// the prior itself; below 1, cleaner and less varied digits; at most 100 (by about 10
    /// the int8 latent is already saturated). Default: 1 for an
    /// unconditional blob, 0.5 for a conditional one (the asked digit is then the
    /// recognised one about 99% of the time, against 85% at 1), as `vae_core::Request`.
    #[arg(long, value_name = "T")]
    temperature: Option<f32>,
    /// Picture of the digits on a grid, in the format its extension names: .png, .jpg /
    /// .jpeg or .bmp.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Raw output: count * 784 bytes, row-major, 0 = black (written as the digits are
    /// drawn).
    #[arg(long, value_name = "FILE")]
    raw: Option<PathBuf>,
    /// Print `seed N: crc32 X` per digit, the lines the firmware prints.
    #[arg(long)]
    crc: bool,
}

#[derive(Args, Debug)]
struct ScoreArgs {
    /// The decoder blob.
    #[arg(long, value_name = "FILE")]
    blob: PathBuf,
    /// Digits to generate and score (a conditional blob cycles 0-9; at most 100000).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    count: usize,
    /// Seed of the first digit.
    #[arg(long, value_name = "S", default_value_t = 0)]
    seed: u64,
    /// Sampling temperatures to score, comma-separated (as `sample --temperature`); 1 is
    /// the prior.
    #[arg(long, value_name = "T,T,...", value_delimiter = ',', num_args = 1.., default_value = "1.0")]
    temperature: Vec<f32>,
    /// MNIST folder (to train the classifier and score the real test digits).
    #[arg(long, value_name = "DIR", env = "VAE_MNIST_DIR")]
    data_dir: Option<PathBuf>,
    /// Where the classifier is cached.
    #[arg(long, value_name = "DIR", default_value = "runs/classifier")]
    cache: PathBuf,
    /// Also write the scores as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct SerialArgs {
    /// The board's serial port: typically /dev/ttyACM0 (Linux), /dev/cu.usbmodem* (macOS)
    /// or COM3 (Windows).
    #[arg(long, value_name = "PORT")]
    port: String,
    /// Seeds to compare: A..B (B excluded), A..=B or one seed N.
    #[arg(long, value_name = "A..B", default_value = "0..8", value_parser = vae_export::serial::parse_seeds)]
    seeds: std::ops::Range<u64>,
    /// The blob the board's firmware embeds. The default is the one the Pico firmware
    /// embeds unless built with VAE_BLOB=FILE; the path is relative to the current folder,
    /// so run from the repository root or give the path.
    #[arg(
        long,
        value_name = "FILE",
        default_value = "examples/models/decoder.bin"
    )]
    blob: PathBuf,
    /// How long to wait for each line of the board's answers, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    timeout_ms: u64,
}

#[derive(Args, Debug)]
struct InfoArgs {
    /// The decoder blob.
    #[arg(long, value_name = "FILE")]
    blob: PathBuf,
}

/// Refuses `output` when it is the same file as `input` (`what` names the two flags).
fn refuse_same(output: &Path, input: &Path, what: &str) -> Result<(), ExportError> {
    if fsutil::same_file(output, input) {
        return Err(ExportError::Usage(format!(
            "{what} name the same file, {}: one would overwrite the other; give different paths",
            output.display()
        )));
    }
    Ok(())
}

/// Refuses an output path that cannot be written, before any work.
fn check_output(path: &Path) -> Result<(), ExportError> {
    fsutil::check_output_path(path).map_err(|source| ExportError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The picture format `--out`'s extension names.
fn picture_format(path: &Path) -> Result<image::ImageFormat, ExportError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("png") => Ok(image::ImageFormat::Png),
        Some("jpg" | "jpeg") => Ok(image::ImageFormat::Jpeg),
        Some("bmp") => Ok(image::ImageFormat::Bmp),
        _ => Err(ExportError::Usage(format!(
            "--out {}: the picture format is chosen by the extension, and this one is not \
             known: use .png, .jpg / .jpeg or .bmp (or --raw FILE for raw bytes)",
            path.display()
        ))),
    }
}

/// Writes `grid` to `path` in `format`, atomically.
fn save_picture(
    grid: &image::RgbImage,
    path: &Path,
    format: image::ImageFormat,
) -> Result<(), ExportError> {
    if format == image::ImageFormat::Png {
        return Ok(pictures::save_png(grid, path)?);
    }
    let mut bytes = std::io::Cursor::new(Vec::new());
    grid.write_to(&mut bytes, format)
        .map_err(|e| ExportError::Usage(format!("cannot encode {}: {e}", path.display())))?;
    write_file(path, bytes.get_ref())
}

fn run_export(args: ExportArgs) -> Result<(), ExportError> {
    let run_dir = match &args.checkpoint {
        Some(path) => run_dir_of(path),
        None => args.run.clone(),
    };
    let mut options = ExportOptions::new(&run_dir);
    options.weight_widths = args.weight_widths()?;
    options.prior_f16 = args.prior_f16;
    if let Some(out) = args.out {
        options.out = out;
    }
    if let Some(json) = &args.json {
        refuse_same(json, &options.out, "--json and --out")?;
        if let Ok(state) = vae_train::checkpoint::load_state(&run_dir_of(&run_dir)) {
            refuse_run_file_as_output(&run_dir_of(&run_dir), &state, json)?;
        }
    }
    options.data_dir = args.data_dir;
    options.calibration = args.calibration;
    options.parity_latents = args.parity;
    options.max_test = args.max_test;
    if let Some(q) = args.quantile {
        options.clipping = Clipping::Quantile(q);
    }
    let exported = export(&options)?;

    let q = &exported.quantized;
    let weight_bytes: usize = q.layers.iter().map(|l| l.weights.len()).sum();
    let (major, minor) = format::version_of(&q.model());
    println!(
        "wrote {} (format {major}.{minor}, {} bytes: {} in {} weight bytes, {} bytes of \
         biases, scales and tables)",
        options.out.display(),
        exported.blob.len(),
        describe_weights(&q.model()),
        weight_bytes,
        exported.blob.len() - weight_bytes
    );
    let dims: Vec<String> = q.layers.iter().map(|l| l.out_dim.to_string()).collect();
    println!(
        "model: latent {} -> {}{}",
        q.latent_dim,
        dims.join(" -> "),
        if q.classes.is_some() {
            " (conditional)"
        } else {
            ""
        }
    );
    println!("prior: {}", describe_prior(&q.model().prior));
    for (k, l) in q.layers.iter().enumerate() {
        let scales: Vec<f32> = l
            .weight_scales
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let (lo, hi) = scales
            .iter()
            .fold((f32::INFINITY, 0f32), |(lo, hi), &s| (lo.min(s), hi.max(s)));
        println!(
            "layer {k}: {:>4} -> {:<4} {}, input scale {:.3e}, weight scales {:.3e}..{:.3e}, output scale {:.3e}",
            l.in_dim,
            l.out_dim,
            width_name(l.weight_width),
            l.input_scale,
            lo,
            hi,
            l.output_scale
        );
    }
    let r = &exported.report;
    println!(
        "parity over {} latents: mean |pixel error| {:.3}/255, max {}/255, {:.2}% of pixels differ; \
         f32 reference vs burn: max |logit error| {:.2e}",
        r.latents,
        r.mean_abs_pixel_error,
        r.max_abs_pixel_error,
        100.0 * r.pixels_differing,
        r.reference_max_abs_logit_error
    );
    println!(
        "test loss over {} digits: f32 {:.3}, quantized ({}) {:.3} ({:+.3} per digit)",
        r.test_images,
        r.f32_test_loss,
        describe_widths(&q.model()),
        r.int8_test_loss,
        r.loss_delta()
    );
    if let Some(path) = args.json {
        let json = serde_json::to_string_pretty(r).unwrap_or_default();
        write_file(&path, json.as_bytes())?;
    }
    Ok(())
}

fn run_sample(args: SampleArgs) -> Result<(), ExportError> {
    if args.count == 0 {
        return Err(ExportError::Usage("--count must be at least 1".into()));
    }
    if args.count > MAX_SAMPLE_COUNT {
        return Err(ExportError::Usage(format!(
            "--count {} is over {MAX_SAMPLE_COUNT} digits per call: draw more in several calls \
             with different --seed values",
            args.count
        )));
    }
    if args.out.is_none() && args.raw.is_none() && !args.crc {
        return Err(ExportError::Usage(
            "nothing to write: give --out FILE.png, --raw FILE and/or --crc".into(),
        ));
    }
    if let Some(t) = args.temperature {
        check_temperature(t)?;
    }
    let format = match &args.out {
        Some(out) => {
            if args.count > MAX_GRID_DIGITS {
                return Err(ExportError::Usage(format!(
                    "--count {} is too many digits for one picture (at most {MAX_GRID_DIGITS}): \
                     use --raw FILE for more",
                    args.count
                )));
            }
            refuse_same(out, &args.blob, "--out and --blob")?;
            Some(picture_format(out)?)
        }
        None => None,
    };
    if let Some(raw) = &args.raw {
        refuse_same(raw, &args.blob, "--raw and --blob")?;
        if let Some(out) = &args.out {
            refuse_same(out, raw, "--out and --raw")?;
        }
    }
    let blob = read_blob(&args.blob)?;
    let decoder = host::open(&blob).map_err(|source| ExportError::Blob {
        context: format!("{}", args.blob.display()),
        source,
    })?;
    // The digits stream: --crc lines are printed and --raw bytes written as they are
    // drawn; only the picture's digits (at most MAX_GRID_DIGITS) are kept.
    let mut grid_pixels: Vec<[u8; vae_core::IMAGE_PIXELS]> = Vec::new();
    let mut stdout = std::io::stdout().lock();
    let mut draw = |raw: Option<&mut dyn std::io::Write>| -> Result<(), ExportError> {
        let mut raw = raw;
        generate_each(
            &decoder,
            args.seed,
            args.count,
            args.digit,
            args.temperature,
            |s| {
                if args.crc {
                    // A reader that stops early (`| head`) ends the run: see `main`.
                    writeln!(stdout, "{}", s.crc_line()).map_err(|source| ExportError::Io {
                        path: PathBuf::from(STDOUT),
                        source,
                    })?;
                }
                if let Some(w) = raw.as_mut() {
                    w.write_all(&s.pixels).map_err(|source| ExportError::Io {
                        path: args.raw.clone().unwrap_or_default(),
                        source,
                    })?;
                }
                if args.out.is_some() {
                    grid_pixels.push(s.pixels);
                }
                Ok(())
            },
        )
    };
    // Either every requested file is written or none: a failed picture removes the raw
    // file written before it.
    match &args.raw {
        Some(raw) => {
            fsutil::create_parent_dir(raw).map_err(|source| ExportError::Io {
                path: raw.clone(),
                source,
            })?;
            let mut failure = None;
            let written = fsutil::atomic_write_with(raw, |w| {
                draw(Some(w)).map_err(|e| {
                    failure = Some(e);
                    std::io::Error::other("stopped")
                })
            });
            if let Some(e) = failure {
                return Err(e);
            }
            written.map_err(|source| ExportError::Io {
                path: raw.clone(),
                source,
            })?;
        }
        None => draw(None)?,
    }
    if let (Some(out), Some(format)) = (&args.out, format) {
        let images: Vec<&[u8]> = grid_pixels.iter().map(|p| p.as_slice()).collect();
        let cols = (args.count as f64).sqrt().ceil() as usize;
        let written = pictures::samples(&images, cols)
            .map_err(ExportError::from)
            .and_then(|grid| save_picture(&grid, out, format));
        if let Err(e) = written {
            if let Some(raw) = &args.raw {
                let _ = std::fs::remove_file(raw);
            }
            return Err(e);
        }
        eprintln!("wrote {} ({} digits)", out.display(), args.count);
    }
    Ok(())
}

fn run_info(args: InfoArgs) -> Result<(), ExportError> {
    let blob = read_blob(&args.blob)?;
    let decoder = host::open(&blob).map_err(|source| ExportError::Blob {
        context: format!("{}", args.blob.display()),
        source,
    })?;
    let model = decoder.model();
    let dims: Vec<String> = model.layers.iter().map(|l| l.out_dim.to_string()).collect();
    let (major, minor) = format::version_of(model);
    println!(
        "blob: {} bytes, format {major}.{minor} ({})",
        blob.len(),
        describe_weights(model)
    );
    println!(
        "model: latent {} -> {}{}",
        model.latent_dim,
        dims.join(" -> "),
        match model.classes() {
            Some(c) => format!(" (conditional, {c} classes)"),
            None => String::new(),
        }
    );
    println!("prior: {}", describe_prior(&model.prior));
    let md = &model.metadata;
    println!(
        "metadata: seed {}, int8 test loss {}, note {:?}",
        md.seed.map_or("-".into(), |s| s.to_string()),
        md.test_loss.map_or("-".into(), |l| format!("{l:.3}")),
        md.note
    );
    let hidden = model
        .layers
        .iter()
        .rev()
        .skip(1)
        .map(|l| l.out_dim)
        .max()
        .unwrap_or(0);
    println!(
        "firmware: Decoder::<{}, {}> (LATENT, HIDDEN)",
        model.latent_dim, hidden
    );
    Ok(())
}

/// `int8` or `int4`.
fn width_name(width: WeightWidth) -> &'static str {
    match width {
        WeightWidth::Int8 => "int8",
        WeightWidth::Int4 => "int4",
    }
}

/// The layers' widths in order, e.g. `int4-int4-int8`.
fn describe_widths(model: &vae_core::Model<'_>) -> String {
    let names: Vec<&str> = model
        .layers
        .iter()
        .map(|l| width_name(l.weight_width))
        .collect();
    names.join("-")
}

/// How many weights of each width the model has, e.g. `205,824 int4 + 5,120 int8 weights`.
fn describe_weights(model: &vae_core::Model<'_>) -> String {
    let count = |width: WeightWidth| -> usize {
        model
            .layers
            .iter()
            .filter(|l| l.weight_width == width)
            .map(|l| usize::from(l.in_dim) * usize::from(l.out_dim))
            .sum()
    };
    let parts: Vec<String> = [WeightWidth::Int4, WeightWidth::Int8]
        .into_iter()
        .filter(|&w| count(w) > 0)
        .map(|w| format!("{} {}", count(w), width_name(w)))
        .collect();
    format!("{} weights", parts.join(" + "))
}

/// What `generate` draws latents from, in words.
fn describe_prior(prior: &Prior<'_>) -> String {
    match prior {
        Prior::Mixture { components, .. } => {
            format!("learned mixture of {components} Gaussians (generate and sample draw from it)")
        }
        Prior::MixtureF16 { components, .. } => format!(
            "learned mixture of {components} Gaussians, f16 values (generate and sample draw from it)"
        ),
        Prior::Standard => "N(0, I)".into(),
    }
}

fn print_score(what: &str, s: &vae_train::classifier::QualityScore) {
    println!(
        "{what}: {} digits, {:.3} recognised with confidence >= 0.9, class entropy {:.3} (max {:.3}), inception score {:.2}",
        s.count,
        s.confident_share,
        s.class_entropy,
        (NUM_CLASSES as f64).ln(),
        s.inception_score
    );
    if let (Some(a), Some(per)) = (s.agreement, s.per_digit_agreement) {
        let per: Vec<String> = per
            .iter()
            .enumerate()
            .map(|(d, v)| format!("{d}:{v:.3}"))
            .collect();
        println!(
            "  asked-vs-recognised agreement {a:.3}; per digit {}",
            per.join(" ")
        );
    }
}

fn run_score(args: ScoreArgs) -> Result<(), ExportError> {
    // Every flag is checked before the data, the classifier and the digits (~30 s).
    if args.count == 0 {
        return Err(ExportError::Usage("--count must be at least 1".into()));
    }
    if args.count > MAX_SCORE_COUNT {
        return Err(ExportError::Usage(format!(
            "--count {} is over {MAX_SCORE_COUNT} digits per temperature (they are scored in \
             memory): 10000 (the default) already gives scores to about 0.01",
            args.count
        )));
    }
    for &t in &args.temperature {
        check_temperature(t)?;
    }
    if let Some(json) = &args.json {
        refuse_same(json, &args.blob, "--json and --blob")?;
        check_output(json)?;
    }
    let blob = read_blob(&args.blob)?;
    let decoder = host::open(&blob).map_err(|source| ExportError::Blob {
        context: format!("{}", args.blob.display()),
        source,
    })?;
    let mnist =
        vae_train::data::load(&vae_train::data::resolve_data_dir(args.data_dir.as_deref()))?;
    eprintln!(
        "loading the classifier from {} (training it once if missing, ~30 s)",
        args.cache.display()
    );
    let classifier = vae_train::classifier::load_or_train(
        &args.cache,
        &mnist,
        vae_train::classifier::DEFAULT_SEED,
    )
    .map_err(|e| ExportError::Usage(format!("classifier: {e}")))?;
    let score_err =
        |e: vae_train::classifier::ClassifierError| ExportError::Usage(format!("scoring: {e}"));
    let real = classifier
        .score(&mnist.test.images, None)
        .map_err(score_err)?;
    print_score("real test digits", &real);
    let mut by_temperature = Vec::new();
    for &temperature in &args.temperature {
        let mut images: Vec<u8> = Vec::with_capacity(args.count * vae_core::IMAGE_PIXELS);
        let mut digits: Vec<Option<u8>> = Vec::with_capacity(args.count);
        generate_each(
            &decoder,
            args.seed,
            args.count,
            None,
            Some(temperature),
            |s| {
                images.extend_from_slice(&s.pixels);
                digits.push(s.digit);
                Ok(())
            },
        )?;
        let requested: Option<Vec<u8>> = digits.into_iter().collect();
        let generated = classifier
            .score(&images, requested.as_deref())
            .map_err(score_err)?;
        print_score(
            &format!("blob samples, temperature {temperature} (through vae-core)"),
            &generated,
        );
        by_temperature.push(serde_json::json!({ "temperature": temperature, "score": generated }));
    }
    if let Some(path) = &args.json {
        // `blob_samples`: the first temperature's score (the prior by default).
        let first = by_temperature
            .first()
            .map(|t| t["score"].clone())
            .unwrap_or_default();
        let json = serde_json::json!({
            "real_test_digits": real,
            "blob_samples": first,
            "by_temperature": by_temperature,
        });
        write_file(
            path,
            serde_json::to_string_pretty(&json)
                .unwrap_or_default()
                .as_bytes(),
        )?;
    }
    Ok(())
}

/// `vae-export serial`: exit 0 when every seed is equal, 1 when one differs, 2 when no
/// check was possible.
fn run_serial(args: SerialArgs) -> ExitCode {
    use vae_export::serial::{self, CheckOptions, SerialError};
    let checked = read_blob(&args.blob)
        .map_err(SerialError::Blob)
        .and_then(|blob| {
            let port = serial::open(&args.port)?;
            let options = CheckOptions {
                port: &args.port,
                blob_path: &args.blob,
                blob: &blob,
                seeds: args.seeds.clone(),
                timeout: std::time::Duration::from_millis(args.timeout_ms),
            };
            serial::check(port, &options, &mut std::io::stdout())
        });
    match checked {
        Ok(report) => {
            println!("{}", report.verdict());
            if report.differing().is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// The path `ExportError::Io` names for standard output.
const STDOUT: &str = "<stdout>";

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Serial(args)) => return run_serial(args),
        Some(Command::Sample(args)) => run_sample(args),
        Some(Command::Info(args)) => run_info(args),
        Some(Command::Score(args)) => run_score(args),
        None => run_export(cli.export),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of the output stopped early (`vae-export sample --crc | head`): the
        // end of the run, as for any Unix tool, not an error to report.
        Err(ExportError::Io { path, source })
            if source.kind() == std::io::ErrorKind::BrokenPipe && path.as_os_str() == STDOUT =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
