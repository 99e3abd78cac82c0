//! Trains the sample-quality classifier on MNIST and scores the real test digits: the
//! reference numbers for generated samples.
//!
//! ```text
//! cargo run -p vae-train --release --example score_real -- DATA_DIR [--cache DIR] [--epochs N] [--seed S]
//! ```
//!
//! Without `--cache` it always trains (and reports the training time); with it, it reuses
//! a cached classifier made with the same options on the same data.

use std::error::Error;
use std::path::PathBuf;
use std::time::Instant;

use vae_train::classifier::{self, Classifier, TrainConfig};
use vae_train::data;

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let mut data_dir = None;
    let mut cache = None;
    let mut config = TrainConfig::default();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--cache" => cache = Some(PathBuf::from(value("--cache")?)),
            "--epochs" => config.epochs = value("--epochs")?.parse()?,
            "--seed" => config.seed = value("--seed")?.parse()?,
            "-h" | "--help" => {
                println!("usage: score_real DATA_DIR [--cache DIR] [--epochs N] [--seed S]");
                return Ok(());
            }
            other if data_dir.is_none() && !other.starts_with('-') => {
                data_dir = Some(PathBuf::from(other));
            }
            other => return Err(format!("unexpected argument {other:?}; see --help").into()),
        }
    }
    let data_dir = data_dir.ok_or("usage: score_real DATA_DIR [--cache DIR] [--epochs N]")?;

    let t = Instant::now();
    let mnist = data::load_from_dir(&data_dir)?;
    println!(
        "data: {} train / {} test digits from {} ({:.1} s)",
        mnist.train.len(),
        mnist.test.len(),
        data_dir.display(),
        t.elapsed().as_secs_f64()
    );
    println!("options: {config:?}");

    let t = Instant::now();
    let clf = match &cache {
        Some(dir) => classifier::load_or_train_with(dir, &mnist, &config)?,
        None => Classifier::train(&mnist, &config)?,
    };
    println!(
        "classifier: {:?} in {:.1} s (training took {:.1} s)",
        clf.origin(),
        t.elapsed().as_secs_f64(),
        clf.info().train_seconds
    );

    let t = Instant::now();
    let train_acc = clf.accuracy(&mnist.train)?;
    let test_acc = clf.accuracy(&mnist.test)?;
    println!(
        "accuracy: train {:.4}, test {:.4} ({:.1} s to evaluate both)",
        train_acc,
        test_acc,
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let s = clf.score(&mnist.test.images, Some(&mnist.test.labels))?;
    println!(
        "real test digits ({} images, {:.1} s):",
        s.count,
        t.elapsed().as_secs_f64()
    );
    println!("  confident_share  {:.4}", s.confident_share);
    println!(
        "  class_entropy    {:.4} nats (max ln 10 = {:.4})",
        s.class_entropy,
        std::f64::consts::LN_10
    );
    println!("  inception_score  {:.3}", s.inception_score);
    println!("  agreement        {:.4}", s.agreement.unwrap_or(f64::NAN));
    println!("  per_class_counts {:?}", s.per_class_counts);
    if let Some(per) = s.per_digit_agreement {
        let per: Vec<String> = per.iter().map(|a| format!("{a:.3}")).collect();
        println!("  per_digit        [{}]", per.join(", "));
    }
    Ok(())
}
