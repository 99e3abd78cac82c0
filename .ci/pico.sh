#!/usr/bin/env bash
# Raspberry Pi Pico firmware (examples/rp2040-pico), all without a board:
# - fmt, clippy and the release build of the firmware, and its UF2 (cargo uf2);
# - the host/ crate (elf2uf2, the console parser's tests): fmt, clippy, tests;
# - the UF2 booted in rp2040js (an RP2040 emulator from npm, pinned by
#   emu/package-lock.json), driven over its USB serial console: the banner's blob CRC-32,
#   a bad command's error line, `i`, and `g SEED` for seeds 0-7, whose CRC-32s must equal
#   examples/models/golden.txt (the blob the firmware embeds); the same for
#   decoder-small.bin; and `vae-export serial` (the check of a real board) against the
#   emulated board on a pseudo-terminal. It prints the emulated decode cycles per digit:
#   rp2040js does not model flash (XIP) wait states, so they are a lower bound;
# - the same firmware for the Pico 2 (RP2350, Cortex-M33): build only (nothing runs it),
#   checks that its SMLAD (DSP) kernel is in, and prints both firmwares' sizes.
# Needs Node >= 18 with npm (the registry, or npm's cache when warm) and python3.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/examples/rp2040-pico"
# The firmware and its host tools have their own target/ folders (paths below use them);
# vae-export builds in the workspace's (the caller's CARGO_TARGET_DIR, else target/).
workspace_target=${CARGO_TARGET_DIR:-$root/target}
case $workspace_target in /*) ;; *) workspace_target=$root/$workspace_target ;; esac
unset CARGO_TARGET_DIR
export CARGO_TERM_COLOR=never
start=$(date +%s)
step() { printf '\n==== %s (%ss)\n' "$*" "$(( $(date +%s) - start ))"; }

step "toolchain: rustup targets thumbv6m-none-eabi and thumbv8m.main-none-eabihf, node"
for target in thumbv6m-none-eabi thumbv8m.main-none-eabihf; do
  rustup target list --installed | grep -qx "$target" || rustup target add "$target"
done
command -v node >/dev/null || { echo "error: node (>= 18) is needed for the emulator check" >&2; exit 1; }

step "RP2040 firmware: fmt, clippy, release build, UF2 (cargo uf2)"
cargo fmt --check
cargo clippy --release --locked -- -D warnings
cargo build --release --locked
cargo uf2

step "host/ crate (elf2uf2, console parser): fmt, clippy, tests"
(cd host && cargo fmt --check && cargo clippy --release --locked --all-targets -- -D warnings \
  && cargo test --release --locked --quiet)

step "rp2040js: npm ci (emu/package-lock.json)"
(cd emu && npm ci --prefer-offline --no-audit --no-fund --loglevel=error)

step "RP2040 emulator: USB serial console, seeds 0-7 against examples/models/golden.txt"
node emu/run.mjs

step "vae-export serial (vae-export/src/serial.rs) against the emulated board on a pseudo-terminal"
# emu/pty-bridge.py serves the emulator's serial console on a pty, as a board's
# /dev/ttyACM0; vae-export serial byte-compares seeds 0-7 with its own decode of
# decoder.bin. vae-export as README's test command (cargo test --workspace, which .ci/run
# ran before) builds it: nothing new to build there, no second burn build.
(cd "$root" && CARGO_TARGET_DIR=$workspace_target cargo test --quiet --locked --workspace --no-run)
tty_link=$(mktemp -u /tmp/ttyPICO.XXXXXX)
python3 emu/pty-bridge.py "$tty_link" &
bridge=$!
trap 'kill "$bridge" 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -e "$tty_link" ] && break; sleep 0.2; done
(cd "$root" && "$workspace_target/debug/vae-export" serial --port "$tty_link" --seeds 0..8)
kill "$bridge"
wait "$bridge" || true
trap - EXIT

step "RP2040 emulator, second blob: decoder-small.bin against golden-small.txt"
VAE_BLOB=../models/decoder-small.bin cargo build --release --locked
cargo run --quiet --release --manifest-path host/Cargo.toml --target host-tuple --bin elf2uf2 -- \
  target/thumbv6m-none-eabi/release/vae-rp2040-pico target/vae-rp2040-pico-small.uf2
node emu/run.mjs --uf2 target/vae-rp2040-pico-small.uf2 \
  --blob ../models/decoder-small.bin --golden ../models/golden-small.txt
# Leave the default firmware built (cargo's fingerprint follows VAE_BLOB).
cargo build --release --locked

step "Pico 2 (RP2350) firmware: clippy, release build (cargo build-pico2)"
pico2=(--no-default-features --features rp2350 --target thumbv8m.main-none-eabihf)
cargo clippy --release --locked "${pico2[@]}" -- -D warnings
cargo build-pico2 --locked
bin=$(rustc --print sysroot)/lib/rustlib/x86_64-unknown-linux-gnu/bin
rp2040=target/thumbv6m-none-eabi/release/vae-rp2040-pico
rp2350=target/thumbv8m.main-none-eabihf/release/vae-rp2040-pico
smlad=$("$bin/llvm-objdump" -d --mcpu=cortex-m33 "$rp2350" | grep -c smlad || true)
echo "SMLAD instructions in the RP2350 firmware: $smlad"
if [ "$smlad" -eq 0 ]; then echo "FAIL: no SMLAD (DSP kernel) in the RP2350 firmware"; exit 1; fi

step "firmware sizes (flash = text: code, read-only data and the $(stat -c %s ../models/decoder.bin)-byte blob)"
"$bin/llvm-size" "$rp2040" "$rp2350"

step "pico done"
