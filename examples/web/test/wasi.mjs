// Runs a wasm32-wasip1 program (a test binary from `cargo test --target wasm32-wasip1`)
// under Node's WASI, passing its arguments and exit code through; CI runs vae-core's
// unit tests with simd128 this way (.ci/web.sh), as cargo's runner for that target.
// Usage: node --no-warnings examples/web/test/wasi.mjs PROGRAM.wasm [ARGS...]
import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';

const [program, ...args] = process.argv.slice(2);
if (!program) {
  console.error('usage: node examples/web/test/wasi.mjs PROGRAM.wasm [ARGS...]');
  process.exit(2);
}
const wasi = new WASI({ version: 'preview1', args: [program, ...args], env: process.env, returnOnExit: true });
const { instance } = await WebAssembly.instantiate(readFileSync(program), wasi.getImportObject());
process.exitCode = wasi.start(instance);
