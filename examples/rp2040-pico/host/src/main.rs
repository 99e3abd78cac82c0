//! `elf2uf2 FIRMWARE.elf OUT.uf2`: writes the UF2 file of an RP2040 firmware ELF, to copy
//! onto the `RPI-RP2` drive the Pico shows when plugged in with BOOTSEL held.
use std::{env, fs, process::ExitCode};

use vae_rp2040_pico_host::uf2;

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let [elf, out] = args.as_slice() else {
        eprintln!("usage: elf2uf2 FIRMWARE.elf OUT.uf2");
        return ExitCode::from(2);
    };
    let bytes = match fs::read(elf) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("error: cannot read {elf}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let uf2 = match uf2::elf_to_uf2(&bytes) {
        Ok(uf2) => uf2,
        Err(e) => {
            eprintln!("error: {elf}: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = fs::write(out, &uf2) {
        eprintln!("error: cannot write {out}: {e}");
        return ExitCode::FAILURE;
    }
    println!(
        "{out}: {} blocks, {} bytes of flash",
        uf2.len() / uf2::BLOCK,
        uf2.len() / 2
    );
    ExitCode::SUCCESS
}
