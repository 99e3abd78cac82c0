#!/usr/bin/env bash
# vae-core's tests once per x86-64 tier, forced with VAE_KERNEL: the portable loop, the
# AVX2 tier, and the default (the fastest this CPU has, AVX-512 VNNI where present). The
# decoder tests compare each run's bytes with the golden CRC-32s, so every tier must
# produce them. A tier the CPU lacks is reported and skipped by the tests themselves.
# Release builds: the property tests are slow in debug, and the tiers are optimised code.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
grep -qw avx2 /proc/cpuinfo || echo "note: this CPU has no AVX2; VAE_KERNEL=avx2 runs portable"
for tier in portable avx2; do
  printf '\n==== vae-core tests, VAE_KERNEL=%s\n' "$tier"
  VAE_KERNEL=$tier cargo test -q -p vae-core --release --lib --tests
  VAE_KERNEL=$tier cargo run -q -p vae-core --release --example golden -- --check
done
