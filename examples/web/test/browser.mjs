// Headless Chromium test of the built page (examples/web/dist), as a user drives it:
// golden CRCs of the canvases for seeds 0-7, click a digit, move sliders, drop a corrupt
// blob (error text shown, page still decoding), the page's µs per digit, the conditional
// blob's digit buttons against its golden CRCs, the 2-D blob's map and pad (press and drag:
// the digit under the point), the simd128 fallback page, a screenshot.
// Chromium: CHROMIUM env, else /usr/bin/chromium (Debian's). Usage: node test/browser.mjs
import { createServer } from 'node:http';
import { mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { crc32 } from '../www/vae.js';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const dist = here('../dist/');
const goldenOf = (file) => {
  const lines = [...readFileSync(here(`../../models/${file}`), 'utf8').matchAll(/seed (\d+): crc32 ([0-9a-f]{8})/g)]
    .map((m) => [Number(m[1]), m[2]]);
  if (lines.length < 8) throw new Error(`${file}: expected 8 seeds`);
  return lines;
};
const golden = goldenOf('golden.txt');
// The conditional blob's: seed N drawn as digit N % 10 at the default digit temperature.
const goldenCond = goldenOf('golden-cond.txt');
const goldenZ2 = goldenOf('golden-z2.txt');

const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.bin': 'application/octet-stream' };
const server = createServer((req, res) => {
  const name = new URL(req.url, 'http://x').pathname.replace(/^\/$/, '/index.html').slice(1);
  if (!/^[\w.-]+$/.test(name)) { res.writeHead(404).end(); return; }
  try {
    const body = readFileSync(join(dist, name));
    res.writeHead(200, { 'content-type': types[extname(name)] ?? 'application/octet-stream' }).end(body);
  } catch { res.writeHead(404).end(); }
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const url = `http://127.0.0.1:${server.address().port}/`;

const profile = await mkdtemp(join(tmpdir(), 'vae-web-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 900, height: 900 },
});
let failed = 0;
const check = (ok, msg) => { console.log(`${ok ? 'ok  ' : 'FAIL'} ${msg}`); if (!ok) failed++; };
try {
  const page = context.pages()[0] ?? await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 30000 });
  const cells = () => page.evaluate(() => [...document.querySelectorAll('#grid canvas')].map((c) =>
    Array.from(c.getContext('2d').getImageData(0, 0, 28, 28).data.filter((_, i) => i % 4 === 0))));
  const crcs = async () => (await cells()).map((p) => crc32(p));
  // A latent's digit from a module of the test's own in the page, and a canvas's 28 x 28
  // grey pixels at (x, y).
  const decodeIn = (blob, z) => page.evaluate(async ([blob, z]) => {
    const { fetchVae } = await import('./vae.js');
    const [vae] = await fetchVae();
    vae.load(new Uint8Array(await (await fetch(blob)).arrayBuffer()));
    return Array.from(vae.decode(Float32Array.from(z)));
  }, [blob, z]);
  const square = (id, x = 0, y = 0) => page.evaluate(([id, x, y]) =>
    Array.from(document.getElementById(id).getContext('2d').getImageData(x, y, 28, 28).data.filter((_, i) => i % 4 === 0)), [id, x, y]);

  let got = await crcs();
  for (const [seed, want] of golden) check(got[seed] === want, `seed ${seed}: canvas crc32 ${got[seed]}, golden ${want}`);

  // Click a digit: that cell gets a new seed, the others stay.
  await page.click('#grid canvas:nth-child(3)');
  const after = await crcs();
  check(after[2] !== got[2] && after[0] === got[0], 'click on cell 2 draws a new digit there only');

  // Temperature slider: the digits change; back to 1: the golden ones again.
  const big = () => page.evaluate(() => document.getElementById('big').toDataURL());
  await page.locator('#temperature').fill('0.5');
  const cold = await crcs();
  check(cold[0] !== after[0], 'temperature 0.5 changes the digits');
  await page.locator('#temperature').fill('1');
  check((await crcs())[0] === golden[0][1], 'temperature 1 again: seed 0 golden');

  // Latent sliders (this blob's latent is not 2): the explorer's digit follows.
  const before = await big();
  await page.locator('#sliders input').first().fill('0.7');
  check((await big()) !== before, 'seed A -> B slider changes the explorer digit');
  // The other sliders move along the prior's principal axes: unit vectors, orthogonal,
  // spreads in decreasing order, each an eigenvector of the covariance of the prior's
  // samples (computed here from the module's own priors); moving one moves the explorer's
  // latent by the slider x the axis's spread, and the digit is that latent's.
  const axes = JSON.parse(await page.getAttribute('#sliders', 'data-axes'));
  const dot = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0);
  check(axes.length === 3 && axes.every(({ v }, k) => Math.abs(dot(v, v) - 1) < 1e-9 &&
    axes.slice(k + 1).every((o) => Math.abs(dot(v, o.v)) < 1e-3) && (k === 0 || axes[k - 1].sigma >= axes[k].sigma)),
  `three orthonormal axes, spreads ${axes.map((a) => a.sigma.toFixed(2)).join(', ')}`);
  const cov = await page.evaluate(async () => {
    const { fetchVae } = await import('./vae.js');
    const [vae] = await fetchVae();
    vae.load(new Uint8Array(await (await fetch('decoder.bin')).arrayBuffer()));
    const zs = Array.from({ length: 512 }, (_, s) => Array.from(vae.prior(s, 1)));
    const d = zs[0].length, mean = Array.from({ length: d }, (_, i) => zs.reduce((m, z) => m + z[i], 0) / 512);
    return mean.map((mi, i) => mean.map((mj, j) => zs.reduce((c, z) => c + (z[i] - mi) * (z[j] - mj), 0) / 512));
  });
  const residual = ({ v, sigma }) => Math.hypot(...cov.map((row, i) => dot(row, v) - sigma * sigma * v[i]));
  check(axes.every((a) => residual(a) < 1e-3 * axes[0].sigma ** 2), `each axis an eigenvector of the prior's covariance (residuals ${axes.map((a) => residual(a).toExponential(1)).join(', ')})`);
  const latentOf = async () => (await page.getAttribute('#big', 'data-latent')).split(',').map(Number);
  const z0 = await latentOf();
  await page.locator('#sliders input').nth(1).fill('1');
  const z1 = await latentOf();
  check(z1.every((x, i) => Math.abs(x - z0[i] - axes[0].sigma * axes[0].v[i]) < 1e-5), 'axis 1 at 1: the latent moves by one spread along the axis');
  const explored = crc32(await square('big'));
  check(explored === crc32(await decodeIn('decoder.bin', z1)) && explored !== crc32(await decodeIn('decoder.bin', z0)),
    'the explorer draws that latent');

  // Chromium runs relaxed SIMD: the page took that module (the simd128 one, which other
  // browsers get, is checked at the end).
  const module = await page.getAttribute('body', 'data-module');
  check(module === 'vae-relaxed.wasm', `page loaded ${module}`);

  // The page's own timer once settled: the best of its readings over the two seconds
  // after the blob loaded, each the best of three calls of 500.
  await page.waitForSelector('#timing[data-settled="1"]', { timeout: 30000 });
  const text = await page.textContent('#timing');
  const us = Number(await page.getAttribute('#timing', 'data-us'));
  check(us > 0, `page reports: ${text}`);
  // The Node test's measurement in this browser: ten warm-up calls of 500, then the best
  // of 5 x 2000.
  const loopUs = await page.evaluate(async () => {
    const { fetchVae } = await import('./vae.js');
    const [vae] = await fetchVae();
    vae.load(new Uint8Array(await (await fetch('decoder.bin')).arrayBuffer()));
    const z = vae.prior(0, vae.defaultTemperature(false));
    for (let i = 0; i < 10; i++) vae.time(z, null, 500);
    return vae.time(z, null, 2000, 5);
  });
  check(loopUs > 0, `test loop in this browser: ${loopUs.toFixed(2)} us per digit`);

  // A corrupt blob through the file input: the typed error as text, the page still works.
  const blob = Uint8Array.from(readFileSync(here('../../models/decoder.bin')));
  blob[blob.length >> 1] ^= 0x55;
  await page.setInputFiles('#file', { name: 'corrupt.bin', mimeType: 'application/octet-stream', buffer: Buffer.from(blob) });
  await page.waitForFunction(() => document.getElementById('error').textContent.length > 0);
  const error = await page.textContent('#error');
  check(/^corrupt\.bin: blob checksum mismatch/.test(error), `error shown: ${error}`);
  await page.click('#grid canvas:nth-child(1)');
  check((await crcs())[0] !== golden[0][1] && (await crcs())[1] === got[1], 'page still decodes after the corrupt blob');

  // The default blob dropped back on the page (a synthetic drop event): error cleared.
  const good = readFileSync(here('../../models/decoder.bin')).toString('base64');
  await page.evaluate((b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], 'decoder.bin'));
    document.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, good);
  await page.waitForFunction(() => document.getElementById('error').textContent === '');
  got = await crcs();
  for (const [seed, want] of golden) check(got[seed] === want, `after drop: seed ${seed} crc32 ${got[seed]}`);

  // The shipped conditional blob: digit buttons appear; digit N's button draws seed N's
  // cell (seed N) as the golden file has it (digit N, the default digit temperature).
  await page.click('#models button[data-blob="decoder-cond.bin"]');
  await page.waitForFunction(() => !document.getElementById('digits').classList.contains('hide'));
  check((await page.textContent('#status')).startsWith('decoder-cond.bin'), `status: ${await page.textContent('#status')}`);
  for (const [seed, want] of goldenCond) {
    await page.click(`#digits button:nth-child(${(seed % 10) + 1})`);
    const crc = (await crcs())[seed];
    check(crc === want, `conditional, digit ${seed % 10}: seed ${seed} crc32 ${crc}, golden ${want}`);
  }

  // The shipped 2-D blob: no sliders but the pad, spanning -reach..reach, under a map of
  // the plane (each 28 px square the digit at its centre); the grid golden as
  // golden-z2.txt; pressing and dragging on the pad moves the point, and the explorer
  // draws the digit under it.
  await page.click('#models button[data-blob="decoder-z2.bin"]');
  await page.waitForFunction(() => !document.getElementById('pad').classList.contains('hide'));
  check(await page.locator('#sliders input').count() === 0, 'the 2-D blob: pad shown, no sliders');
  got = await crcs();
  for (const [seed, want] of goldenZ2) check(got[seed] === want, `2-D blob: seed ${seed} crc32 ${got[seed]}, golden ${want}`);
  const reach = Number(await page.getAttribute('#pad', 'data-reach'));
  const side = (await page.evaluate(() => document.getElementById('pad').width)) / 28;
  check(reach >= 1 && side === 8, `pad: ${side} x ${side} squares over latents -${reach}..${reach}`);
  const decodeAt = async (z) => crc32(await decodeIn('decoder-z2.bin', z));
  const point = async () => (await page.getAttribute('#pad', 'data-point')).split(',').map(Number);
  const centre = (k) => -reach + (k + 0.5) * (2 * reach / side);
  check(crc32(await square('pad', 0, 0)) === await decodeAt([centre(0), -centre(0)]), "the pad's top-left square is the digit at its centre");
  const last = 28 * (side - 1);
  check(crc32(await square('pad', last, last)) === await decodeAt([centre(side - 1), -centre(side - 1)]), "the pad's bottom-right square is the digit at its centre");
  const box = await page.locator('#pad').boundingBox();
  const at = (fx, fy) => [box.x + fx * box.width, box.y + fy * box.height];
  const near = ([x, y], [wx, wy]) => Math.abs(x - wx) < 1e-3 * reach && Math.abs(y - wy) < 1e-3 * reach;
  await page.mouse.move(...at(0.75, 0.5));
  await page.mouse.down();
  const pressed = crc32(await square('big'));
  const p1 = await point();
  check(near(p1, [reach / 2, 0]) && pressed === await decodeAt(p1), `press on the pad at (${p1}): the explorer draws that latent`);
  await page.mouse.move(...at(0.25, 0.25), { steps: 5 });
  const dragged = crc32(await square('big'));
  const p2 = await point();
  check(near(p2, [-reach / 2, reach / 2]) && dragged === await decodeAt(p2) && dragged !== pressed, `drag to (${p2}): the digit follows`);
  await page.mouse.up();
  await page.mouse.move(...at(0.9, 0.9));
  check(crc32(await square('big')) === dragged, 'released: moving over the pad changes nothing');

  // The simd128 module, which browsers without relaxed SIMD get: a second page on a
  // server without the relaxed build falls back to it, with the same golden canvases.
  const fallback = await context.newPage();
  await fallback.route('**/vae-relaxed.wasm', (route) => route.fulfill({ status: 404 }));
  await fallback.goto(url);
  await fallback.waitForSelector('body[data-ready="1"]', { timeout: 30000 });
  check(await fallback.getAttribute('body', 'data-module') === 'vae.wasm', 'without vae-relaxed.wasm the page loads vae.wasm');
  const simd128 = (await fallback.evaluate(() => [...document.querySelectorAll('#grid canvas')].map((c) =>
    Array.from(c.getContext('2d').getImageData(0, 0, 28, 28).data.filter((_, i) => i % 4 === 0))))).map((p) => crc32(p));
  for (const [seed, want] of golden) check(simd128[seed] === want, `vae.wasm page: seed ${seed} crc32 ${simd128[seed]}`);
  await fallback.waitForSelector('#timing[data-settled="1"]', { timeout: 30000 });
  const simd128Us = Number(await fallback.getAttribute('#timing', 'data-us'));
  check(/simd128\)$/.test(await fallback.textContent('#timing')), `vae.wasm page reports: ${await fallback.textContent('#timing')}`);
  await fallback.close();

  check(errors.length === 0, `no page errors ${errors.join('; ')}`);
  mkdirSync(here('../../../target'), { recursive: true });
  await page.screenshot({ path: here('../../../target/web-screenshot.png'), fullPage: true });
  console.log(`chromium ${context.browser()?.version() ?? ''}: ${us.toFixed(2)} us per digit (page's own timing), ${loopUs.toFixed(2)} us (test loop), ${module}; the vae.wasm page's timing ${simd128Us.toFixed(2)} us`);
} finally {
  await context.close();
  server.close();
  await rm(profile, { recursive: true, force: true });
}
if (failed) { console.error(`${failed} failure(s)`); process.exit(1); }
