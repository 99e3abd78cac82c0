#!/usr/bin/env bash
# Raspberry Pi Pico firmware (examples/rp2040-pico): builds it (release) and its UF2,
# runs the host tests of its command parser and UF2 writer, then boots the UF2 in
# rp2040js (an RP2040 emulator, npm, pinned by emu/package-lock.json) and talks to it
# over its USB serial port: the banner's blob CRC-32, a bad command's error line, and
# `g SEED` for seeds 0-7, whose CRC-32s must equal examples/models/golden.txt (the blob
# the firmware embeds), then the same for decoder-small.bin. Prints the emulated decode cycles per digit; rp2040js does not
# model flash (XIP) wait states, so they are a lower bound for a real board.
# Needs Node >= 18 and npm (the registry, or npm's cache when warm).
set -euo pipefail
cd "$(dirname "$0")/../examples/rp2040-pico"
# The firmware and its host tools have their own target/ folders (paths below use them).
unset CARGO_TARGET_DIR
export CARGO_TERM_COLOR=never
start=$(date +%s)
step() { printf '\n==== %s (%ss)\n' "$*" "$(( $(date +%s) - start ))"; }

step "toolchain: rustup target thumbv6m-none-eabi, node"
rustup target list --installed | grep -qx thumbv6m-none-eabi || rustup target add thumbv6m-none-eabi
command -v node >/dev/null || { echo "error: node (>= 18) is needed for the emulator check" >&2; exit 1; }

step "RP2040 firmware: release build, UF2 (cargo uf2)"
cargo build --release --locked
cargo uf2

step "host tests: command parser and ELF -> UF2 writer"
(cd host && cargo test --release --locked --quiet)

step "rp2040js: npm ci (emu/package-lock.json)"
(cd emu && npm ci --prefer-offline --no-audit --no-fund --loglevel=error)

step "RP2040 emulator: USB serial console, seeds 0-7 against examples/models/golden.txt"
node emu/run.mjs

step "RP2040 emulator, second blob: decoder-small.bin against golden-small.txt"
VAE_BLOB=../models/decoder-small.bin cargo build --release --locked
cargo run --quiet --release --manifest-path host/Cargo.toml --target host-tuple -- \
  target/thumbv6m-none-eabi/release/vae-rp2040-pico target/vae-rp2040-pico-small.uf2
node emu/run.mjs --uf2 target/vae-rp2040-pico-small.uf2 \
  --blob ../models/decoder-small.bin --golden ../models/golden-small.txt
# Leave the default firmware built (cargo's fingerprint follows VAE_BLOB).
cargo build --release --locked

step "pico done"
