#!/usr/bin/env bash
# vae-core's tests once per x86-64 tier, forced with VAE_KERNEL: the portable loop, the
# AVX2 tier, and the default (the fastest this CPU has, AVX-512 VNNI where present). The
# AVX-VNNI tier differs from AVX2 only in the host engine's products (256-bit VPDPBUSD:
# its VEX form where the CPU has AVX-VNNI, else the same code in its EVEX form where it
# has AVX-512 VNNI and VL), and every run's engine tests take every tier the CPU has. The
# decoder tests compare each run's bytes with the golden CRC-32s, so every tier must
# produce them. A tier the CPU lacks is reported and skipped by the tests themselves.
# Release builds: the property tests are slow in debug, and the tiers are optimised code.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
grep -qw avx2 /proc/cpuinfo || echo "note: this CPU has no AVX2; VAE_KERNEL=avx2 runs portable"
if grep -qw avx_vnni /proc/cpuinfo; then
  echo "the avxvnni tier runs AVX-VNNI (VEX VPDPBUSD)"
elif grep -qw avx512_vnni /proc/cpuinfo && grep -qw avx512vl /proc/cpuinfo; then
  echo "the avxvnni tier runs AVX-512 VNNI + VL (EVEX VPDPBUSD on YMM)"
else
  echo "note: no 256-bit VPDPBUSD on this CPU; the avxvnni tier is not tested here"
fi
for tier in portable avx2; do
  printf '\n==== vae-core tests, VAE_KERNEL=%s\n' "$tier"
  VAE_KERNEL=$tier cargo test -q -p vae-core --release --lib --tests
  VAE_KERNEL=$tier cargo run -q -p vae-core --release --example golden -- --check
done
