#!/usr/bin/env bash
# vae-core on AArch64 under QEMU user mode: cross-compiles vae-core's unit and
# integration tests and its golden-bytes check (examples/golden.rs --check) for
# aarch64-unknown-linux-gnu and runs them twice, on an emulated CPU with the dot-product
# extension (SDOT path) and on one without (plain NEON path). VAE_EXPECT_DOTPROD makes
# the tests assert which path run-time detection picked, so both are really exercised.
# Release builds: emulated debug code is several times slower. Speed is not measured: QEMU says nothing about real Arm hardware.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
start=$(date +%s)
step() { printf '\n==== %s (%ss)\n' "$*" "$(( $(date +%s) - start ))"; }

step "aarch64 toolchain: rustup target, cross gcc + libc, qemu-user"
rustup target add aarch64-unknown-linux-gnu
missing=()
command -v aarch64-linux-gnu-gcc >/dev/null || missing+=(gcc-aarch64-linux-gnu)
[ -d /usr/aarch64-linux-gnu/lib ] || missing+=(libc6-dev-arm64-cross)
command -v qemu-aarch64 >/dev/null || missing+=(qemu-user)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

target=aarch64-unknown-linux-gnu
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
# `-cpu` is appended per run below.
qemu=(qemu-aarch64 -L /usr/aarch64-linux-gnu)

step "build vae-core tests and the golden check for $target"
cargo test -p vae-core --release --target "$target" --lib --tests --no-run
cargo build -p vae-core --release --target "$target" --example golden

# $1: QEMU CPU model, $2: whether it has the dot-product extension (1/0).
run_on() {
  local cpu="$1" dotprod="$2"
  step "QEMU $cpu (dotprod=$dotprod): vae-core lib + integration tests"
  CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="${qemu[*]} -cpu $cpu" \
    VAE_EXPECT_DOTPROD="$dotprod" \
    cargo test -p vae-core --release --target "$target" --lib --tests
  step "QEMU $cpu (dotprod=$dotprod): golden bytes of every committed blob (examples/models)"
  CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="${qemu[*]} -cpu $cpu" \
    cargo run -q -p vae-core --release --target "$target" --example golden -- --check
}
run_on neoverse-n1 1
run_on cortex-a57 0

step "aarch64 done"
