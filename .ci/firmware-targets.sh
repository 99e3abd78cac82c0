#!/usr/bin/env bash
# New microcontroller targets under QEMU, byte-exact against the host's golden output:
# Cortex-M33 (examples/qemu-cortex-m, thumbv8m.main-none-eabihf on mps2-an505, SMLAD
# kernel) and RV32IMAC (examples/qemu-riscv, qemu-system-riscv32 -M virt, the asm! loop
# of vae-core/src/kernel/riscv.rs). Each runs its measuring and its lean firmware; the
# `seed` lines must equal examples/models/golden.txt. Prints the instruction counts and
# the firmware sizes. Run from anywhere; takes a few minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
start=$(date +%s)
step() { printf '\n==== %s (%ss)\n' "$*" "$(( $(date +%s) - start ))"; }

step "toolchain: targets, llvm-tools, QEMU"
rustup target add thumbv8m.main-none-eabihf riscv32imac-unknown-none-elf
rustup component add clippy llvm-tools
missing=()
command -v qemu-system-arm >/dev/null || missing+=(qemu-system-arm)
command -v qemu-system-riscv32 >/dev/null || missing+=(qemu-system-misc)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

step "vae-core: the RV32 kernel's tests on the host, clippy for the new targets"
cargo test -p vae-core --lib kernel::riscv
cargo clippy -p vae-core --target riscv32imac-unknown-none-elf -- -D warnings
cargo clippy -p vae-core --target thumbv8m.main-none-eabihf -- -D warnings

mkdir -p target
# $1: log name, $2: example directory, rest: cargo run args (profile, target, bin).
firmware_check() {
  local log="target/$1.log" dir="$2" golden=examples/models/golden.txt; shift 2
  (cd "$dir" && env -u CARGO_TARGET_DIR timeout 600 cargo run "$@") > "$log"
  grep -E '^(instructions|stack|vae-core)' "$log" || true
  if ! diff <(grep '^seed ' "$log") "$golden"; then
    echo "FAIL: $dir $* differs from $golden"; exit 1
  fi
  echo "$(grep -c '^seed ' "$log") digits identical to $golden"
}

step "firmware: QEMU Cortex-M33 (MPS2-AN505, SMLAD), byte-exact against the host"
m33=(--target thumbv8m.main-none-eabihf)
firmware_check qemu-m33 examples/qemu-cortex-m --release "${m33[@]}"
firmware_check qemu-m33-lean examples/qemu-cortex-m --profile lean --bin lean "${m33[@]}"
# The M33's DSP extension is optional: check that the kernel's SMLAD loop is in the binary.
bin=$(rustc --print sysroot)/lib/rustlib/x86_64-unknown-linux-gnu/bin
smlad=$("$bin/llvm-objdump" -d --mcpu=cortex-m33 \
  examples/qemu-cortex-m/target/thumbv8m.main-none-eabihf/release/vae-qemu-cortex-m | grep -c smlad || true)
echo "SMLAD instructions in the M33 firmware: $smlad"
if [ "$smlad" -eq 0 ]; then echo "FAIL: no SMLAD in the M33 firmware"; exit 1; fi

step "firmware: QEMU RISC-V (virt, RV32IMAC), byte-exact against the host"
firmware_check qemu-riscv examples/qemu-riscv --release
firmware_check qemu-riscv-lean examples/qemu-riscv --profile lean --bin lean

step "firmware sizes"
# flash = text (code, read-only data, the blob); RISC-V's bss column includes riscv-rt's
# 4 MiB stack region (all of the RAM left).
blob=$(stat -c %s examples/models/decoder.bin)
"$bin/llvm-size" \
  examples/qemu-cortex-m/target/thumbv8m.main-none-eabihf/release/vae-qemu-cortex-m \
  examples/qemu-cortex-m/target/thumbv8m.main-none-eabihf/lean/lean \
  examples/qemu-riscv/target/riscv32imac-unknown-none-elf/release/vae-qemu-riscv \
  examples/qemu-riscv/target/riscv32imac-unknown-none-elf/lean/lean |
  awk -v blob="$blob" '{ print } NR > 1 { printf "  flash excl. the %d-byte blob: %d bytes\n", blob, $1 - blob }'

step "done"
