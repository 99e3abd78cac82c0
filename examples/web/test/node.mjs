// Node test of the wasm modules alone: golden CRCs, a corrupt blob's error text, the
// same images from every module as from the first, timing.
// Usage: node test/node.mjs [module.wasm ...]   (default: dist/vae.wasm)
// Node 20 runs relaxed SIMD (dist/vae-relaxed.wasm) only with --experimental-wasm-relaxed-simd;
// either way the page's probe (vae.js) is checked against dist/vae-relaxed.wasm.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Vae, crc32, relaxedSimd } from '../www/vae.js';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const blob = readFileSync(here('../../models/decoder.bin'));
// "seed 0: crc32 96184d1a" lines
const golden = [...readFileSync(here('../../models/golden.txt'), 'utf8').matchAll(/seed (\d+): crc32 ([0-9a-f]{8})/g)]
  .map((m) => [Number(m[1]), m[2]]);
if (golden.length < 8) throw new Error('golden.txt: expected 8 seeds');

let failed = 0;
const fail = (msg) => { console.error('FAIL', msg); failed++; };
// The page's probe (vae.js) must agree with the relaxed module itself: where it says yes,
// vae-relaxed.wasm must compile; where it says no, the page falls back to vae.wasm.
const relaxedPath = here('../dist/vae-relaxed.wasm');
if (!existsSync(relaxedPath)) {
  fail(`${relaxedPath} is missing: build the page first (./build.sh)`);
} else if (WebAssembly.validate(readFileSync(relaxedPath)) !== relaxedSimd) {
  fail(`relaxed-SIMD probe says ${relaxedSimd}, but vae-relaxed.wasm ${relaxedSimd ? 'does not validate' : 'validates'}`);
}
console.log(`relaxed SIMD in Node ${process.version}: ${relaxedSimd} (the page would load ${relaxedSimd ? 'vae-relaxed.wasm' : 'vae.wasm'})`);
const modules = process.argv.slice(2);
// Images of 450 latents (temperatures up to 4: latent codes at their ends) of the default,
// the conditional and the 2-D blob from the first module; every other module must give the
// same bytes.
const cond = readFileSync(here('../../models/decoder-cond.bin'));
const z2 = readFileSync(here('../../models/decoder-z2.bin'));
let first = null;
for (const path of modules.length ? modules : [here('../dist/vae.wasm')]) {
  const bytes = readFileSync(path);
  if (!WebAssembly.validate(bytes)) {
    fail(`${path}: does not validate in Node ${process.version}${relaxedSimd ? '' : ' (a relaxed-SIMD module needs node --experimental-wasm-relaxed-simd)'}`);
    continue;
  }
  const vae = await Vae.create(bytes);
  const images = [];
  for (const b of [blob, cond, z2]) {
    vae.load(b);
    for (let s = 0; s < 150; s++) {
      images.push(vae.decode(vae.prior(1000 + s, 1 + (s % 7) * 0.5), vae.classes ? s % vae.classes : null));
    }
  }
  if (first === null) first = images;
  const differ = images.filter((img, i) => img.some((v, k) => v !== first[i][k])).length;
  if (differ) fail(`${path}: ${differ} of ${images.length} images differ from ${modules[0]}'s`);
  vae.load(blob);
  const temperature = vae.defaultTemperature(false);
  for (const [seed, want] of golden) {
    const got = crc32(vae.decode(vae.prior(seed, temperature)));
    if (got !== want) fail(`${path}: seed ${seed}: crc32 ${got}, golden ${want}`);
  }
  // A corrupt blob: one flipped byte in the weights must fail the checksum, with the
  // vae_core::Error text; the module must keep working afterwards.
  const bad = Uint8Array.from(blob);
  bad[bad.length >> 1] ^= 0x55;
  let message = null;
  try { vae.load(bad); } catch (e) { message = e.message; }
  if (!message || !/checksum mismatch/.test(message)) fail(`${path}: corrupt blob gave ${JSON.stringify(message)}`);
  let truncated = null;
  try { vae.load(blob.subarray(0, 10)); } catch (e) { truncated = e.message; }
  if (!truncated) fail(`${path}: a 10-byte blob loaded`);
  vae.load(blob);
  const z = vae.prior(golden[0][0], temperature);
  if (crc32(vae.decode(z)) !== golden[0][1]) fail(`${path}: wrong image after reloading`);
  // Several calls first: V8 compiles hot wasm functions again (TurboFan) in the
  // background and a call in progress keeps the code it started with.
  for (let i = 0; i < 10; i++) vae.time(z, null, 500);
  const us = Math.min(...[0, 1, 2, 3, 4].map(() => vae.time(z, null, 2000)));
  console.log(`${path}: ${golden.length} golden CRCs ${failed ? 'checked' : 'equal'}; corrupt blob: "${message}"`);
  console.log(`${path}: ${us.toFixed(2)} us per digit (latent ${vae.latent}, ${vae.macs} MACs; best of 5 x 2000 decodes, Node ${process.version})`);
}
if (failed) { console.error(`${failed} failure(s)`); process.exit(1); }
