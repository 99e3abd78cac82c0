#!/usr/bin/env bash
# vae-core's tests once per x86-64 tier, forced with VAE_KERNEL: the portable loop, the
# AVX2 tier, the AVX-VNNI tier (256-bit VPDPBUSD: its VEX form where the CPU has AVX-VNNI,
# else its EVEX form where it has AVX-512 VNNI and VL, the same code), and the default
# (the fastest this CPU has, AVX-512 VNNI where present). The
# decoder tests compare each run's bytes with the golden CRC-32s, so every tier must
# produce them. A tier the CPU lacks is reported and skipped by the tests themselves.
# Release builds: the property tests are slow in debug, and the tiers are optimised code.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
grep -qw avx2 /proc/cpuinfo || echo "note: this CPU has no AVX2; VAE_KERNEL=avx2 runs portable"
if grep -qw avx_vnni /proc/cpuinfo; then
  echo "VAE_KERNEL=avxvnni: AVX-VNNI (VEX VPDPBUSD)"
elif grep -qw avx512_vnni /proc/cpuinfo && grep -qw avx512vl /proc/cpuinfo; then
  echo "VAE_KERNEL=avxvnni: AVX-512 VNNI + VL (EVEX VPDPBUSD on YMM)"
else
  echo "note: no 256-bit VPDPBUSD on this CPU; VAE_KERNEL=avxvnni runs avx2"
fi
for tier in portable avx2 avxvnni; do
  printf '\n==== vae-core tests, VAE_KERNEL=%s\n' "$tier"
  VAE_KERNEL=$tier cargo test -q -p vae-core --release --lib --tests
  VAE_KERNEL=$tier cargo run -q -p vae-core --release --example golden -- --check
done
