// Runs the Pico firmware's UF2 in rp2040js (an RP2040 emulator), talks to its USB serial
// console through rp2040js's USB CDC host, asks for seeds 0..N-1 with `g SEED`, and
// checks each CRC-32 against the golden file of the embedded blob. Also checks the
// banner's blob CRC-32, a bad command's one-line error, and that the board keeps going.
// Exits 1 on any difference, 2 on a timeout or a firmware that stops.
//
// No boot ROM is loaded (rp2040js's npm package has none, and the RP2040's ROM contains
// float code licensed for use on RP2040 chips only): the core starts at the firmware's
// vector table after boot2 (0x10000100), which is where boot2 itself jumps. The firmware
// is built with rp2040-hal's `disable-intrinsics`, so it never calls into the ROM (its
// memcpy/memset and soft float come from compiler-builtins); a jump into the empty ROM
// stops this script with an error instead of hanging.
//
// Timing: rp2040js counts Cortex-M0+ cycles per instruction at 125 MHz, with loads and
// stores to SRAM and flash alike at 2 cycles: it does not model the flash's XIP cache
// misses and QSPI wait states, so its counts are a lower bound for code and data that
// run from flash (the decoder's weights do). Decode times are the firmware's own: it
// reads the RP2040's 1 MHz timer, which rp2040js drives from the emulated clock.
//
// usage: node run.mjs [--uf2 F] [--blob F] [--golden F] [--seeds N] [--max-mcycles M]
//                      [--profile SYMBOLS]
//        node run.mjs --bridge [--uf2 F]
// --max-mcycles: give up after this many million emulated cycles in all (exit 2).
// --profile: where the emulated cycles of the `g SEED` commands go, by function, with
// SYMBOLS the output of `llvm-nm -n -C --defined-only` for the firmware's ELF.
// --bridge: no checks; once the USB device is up, stdin goes to the serial console and
// the console's output to stdout, with the emulator running until stdin closes
// (emu/pty-bridge.py serves this on a pseudo-terminal, for host tools such as vae-export serial).
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  RP2040,
  USBCDC,
  ConsoleLogger,
  LogLevel,
  createSetupPacket,
  DataDirection,
  SetupType,
  SetupRecipient,
} from 'rp2040js';

const here = dirname(fileURLToPath(import.meta.url));
const opts = {
  uf2: resolve(here, '../target/vae-rp2040-pico.uf2'),
  blob: resolve(here, '../../models/decoder.bin'),
  golden: resolve(here, '../../models/golden.txt'),
  seeds: 8,
  'max-mcycles': 2000,
  profile: '',
  bridge: false,
};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const key = argv[i].replace(/^--/, '');
  if (key === 'bridge') {
    opts.bridge = true;
    i -= 1; // a flag without a value
    continue;
  }
  if (!(key in opts) || argv[i + 1] === undefined) {
    console.error(
      'usage: node run.mjs [--uf2 F] [--blob F] [--golden F] [--seeds N] [--max-mcycles M] [--profile SYMBOLS] | --bridge [--uf2 F]',
    );
    process.exit(2);
  }
  opts[key] = typeof opts[key] === 'number' ? Number(argv[i + 1]) : resolve(argv[i + 1]);
}

const FLASH = 0x10000000;
const HZ = 125_000_000; // rp2040js's simulated clock

function crc32(bytes) {
  let crc = 0xffffffff;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}

const hex = (n) => n.toString(16).padStart(8, '0');

function fail(code, message) {
  console.error(`FAIL: ${message}`);
  process.exit(code);
}

// The golden file: lines `seed N: crc32 XXXXXXXX`.
const golden = new Map();
for (const line of readFileSync(opts.golden, 'utf8').split('\n')) {
  const m = /^seed (\d+): crc32 ([0-9a-f]{8})$/.exec(line.trim());
  if (m) golden.set(Number(m[1]), m[2]);
}
for (let s = 0; s < opts.seeds; s++) {
  if (!golden.has(s)) fail(1, `${opts.golden} has no CRC-32 for seed ${s}`);
}
// The blob's CRC-32 as the banner shows it: the one in its trailer, over all bytes but
// the last 4 (the CRC-32 of a whole blob is the same constant for every blob).
const blobBytes = readFileSync(opts.blob);
const blobCrc = hex(crc32(blobBytes.subarray(0, blobBytes.length - 4)));

// UF2 -> flash: 512-byte blocks, each with a target address and 256 payload bytes.
const mcu = new RP2040();
mcu.logger = new ConsoleLogger(LogLevel.Error);
const uf2 = readFileSync(opts.uf2);
if (uf2.length === 0 || uf2.length % 512) fail(1, `${opts.uf2}: not a UF2 file (size ${uf2.length})`);
for (let at = 0; at < uf2.length; at += 512) {
  const word = (o) => uf2.readUInt32LE(at + o);
  if (word(0) !== 0x0a324655 || word(4) !== 0x9e5d5157 || word(508) !== 0x0ab16f30) {
    fail(1, `${opts.uf2}: bad UF2 magic in block ${at / 512}`);
  }
  if (!(word(8) & 0x2000) || word(28) !== 0xe48bff56) fail(1, `${opts.uf2}: not an RP2040 UF2`);
  const address = word(12);
  const size = word(16);
  if (address < FLASH || address + size > FLASH + mcu.flash.length) {
    fail(1, `${opts.uf2}: block ${at / 512} at ${hex(address)} is outside flash`);
  }
  mcu.flash.set(uf2.subarray(at + 32, at + 32 + size), address - FLASH);
}
mcu.core.VTOR = FLASH + 0x100;
mcu.core.reset();

// The USB host side: rp2040js's USBCDC enumerates the device (SET_ADDRESS, the
// configuration descriptor, SET_CONFIGURATION) and hands over what the device sends on
// its bulk IN endpoint; this script raises DTR and feeds the bulk OUT endpoint itself.
const cdc = new USBCDC(mcu.usbCtrl);
let connected = false;
let text = '';
const lines = [];
cdc.onDeviceConnected = () => {
  // USBCDC raises DTR with a SET_CONTROL_LINE_STATE addressed to the device, which
  // TinyUSB accepts; usbd-serial (like the CDC spec) takes it only when addressed to the
  // communication interface (0), so send that one too: DTR is what opens the console.
  mcu.usbCtrl.sendSetupPacket(
    createSetupPacket({
      dataDirection: DataDirection.HostToDevice,
      type: SetupType.Class,
      recipient: SetupRecipient.Interface,
      bRequest: 0x22, // SET_CONTROL_LINE_STATE
      wValue: 0b11, // DTR | RTS
      wIndex: 0,
      wLength: 0,
    }),
  );
  connected = true;
};
cdc.onSerialData = (buffer) => {
  text += Buffer.from(buffer).toString('latin1');
  let nl;
  while ((nl = text.indexOf('\n')) >= 0) {
    lines.push(text.slice(0, nl).replace(/\r$/, ''));
    text = text.slice(nl + 1);
  }
};
// Host -> device. rp2040js asks once per buffer the device arms (onEndpointRead); USBCDC
// answers at once, with an empty packet when it has nothing to send, and drops requests
// that come before enumeration has found the endpoint: usbd-serial arms its OUT buffer
// at bus reset, so that first request is lost and the host never sends. Instead, keep
// each endpoint's open request and answer it when there is something to send.
const armed = new Map(); // endpoint -> bytes the device can take
let outgoing = [];
function feed() {
  const endpoint = cdc.outEndpoint; // found by USBCDC in the configuration descriptor
  const size = armed.get(endpoint);
  if (size === undefined || outgoing.length === 0) return;
  armed.delete(endpoint);
  const packet = Uint8Array.from(outgoing.slice(0, size));
  outgoing = outgoing.slice(packet.length);
  mcu.usbCtrl.endpointReadDone(endpoint, packet);
}
mcu.usbCtrl.onEndpointRead = (endpoint, size) => {
  armed.set(endpoint, size);
  feed();
};
const send = (command) => {
  outgoing.push(...Buffer.from(`${command}\r\n`));
  feed();
};

// --profile: emulated cycles per instruction address, while the seeds run.
let cyclesAt = null;
const maxCycles = opts['max-mcycles'] * 1e6;
const cycleNanos = 1e9 / HZ;
// Runs the core until `until()` holds; fails on a timeout (in emulated cycles).
function run(until, what) {
  while (!until()) {
    for (let i = 0; i < 10000; i++) {
      if (mcu.core.waiting) {
        mcu.clock.tick(mcu.clock.nanosToNextAlarm);
      } else if (cyclesAt) {
        const pc = mcu.core.PC;
        const cycles = mcu.core.executeInstruction();
        cyclesAt.set(pc, (cyclesAt.get(pc) ?? 0) + cycles);
        mcu.clock.tick(cycles * cycleNanos);
      } else {
        mcu.clock.tick(mcu.core.executeInstruction() * cycleNanos);
      }
    }
    if (mcu.core.PC < FLASH) {
      // Below flash: the boot ROM (address 0, empty here) or unmapped addresses after it.
      fail(1, `the firmware jumped into the boot ROM, which is not loaded (pc ${hex(mcu.core.PC)}): build it with rp2040-hal's disable-intrinsics`);
    }
    if (mcu.core.cycles > maxCycles) {
      fail(2, `timeout after ${mcu.core.cycles} cycles waiting for ${what}; last output:\n${lines.slice(-5).join('\n')}`);
    }
  }
}
// The next output line matching `re` (earlier lines are skipped).
function expectLine(re, what) {
  let found = null;
  run(() => {
    while (lines.length && !found) {
      const line = lines.shift();
      found = re.exec(line);
    }
    return found;
  }, what);
  return found;
}

const t0 = Date.now();
run(() => connected, 'USB enumeration');
const bootCycles = mcu.core.cycles;
// (A promise that never settles: the bridge runs until stdin closes.)
if (opts.bridge) await new Promise(() => bridge());
const banner = expectLine(/^blob (\d+) bytes, crc32 ([0-9a-f]{8}), (.*)$/, 'the banner');
console.log(`banner: ${banner[0]}`);
if (banner[2] !== blobCrc) {
  fail(1, `the firmware embeds a blob with CRC-32 ${banner[2]}, ${opts.blob} has ${blobCrc}`);
}
if (/conditional \(/.test(banner[3])) {
  console.log('(conditional blob: g SEED draws from the prior, as the golden file does)');
}

send('frobnicate 3');
const error = expectLine(/^error: .*/, 'the error line of a bad command');
console.log(`bad command -> ${error[0]}`);
send('i');
const again = expectLine(/^blob (\d+) bytes, crc32 ([0-9a-f]{8}), (.*)$/, 'the banner again (i)');
if (again[0] !== banner[0]) fail(1, `i printed a different banner: ${again[0]}`);

let bad = 0;
if (opts.profile) cyclesAt = new Map();
const decodeUs = [];
const commandCycles = [];
for (let seed = 0; seed < opts.seeds; seed++) {
  const start = mcu.core.cycles;
  send(`g ${seed}`);
  const re = new RegExp(`^seed ${seed}(?:, digit \\d+)?: crc32 ([0-9a-f]{8}), decoded in (\\d+) us$`);
  const m = expectLine(re, `seed ${seed}`);
  commandCycles.push(mcu.core.cycles - start);
  decodeUs.push(Number(m[2]));
  const want = golden.get(seed);
  const ok = m[1] === want;
  if (!ok) bad++;
  console.log(`seed ${seed}: crc32 ${m[1]} ${ok ? 'ok' : `DIFFERS (golden ${want})`}, decoded in ${m[2]} us (${Number(m[2]) * (HZ / 1e6)} cycles)`);
}
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const us = mean(decodeUs);
console.log(
  `emulated: boot + USB enumeration ${(bootCycles / 1e6).toFixed(1)} M cycles; ` +
    `decode ${Math.round(us * (HZ / 1e6))} cycles per digit on average = ${(us / 1000).toFixed(2)} ms at 125 MHz ` +
    `(firmware's timer; whole command incl. USB output ${Math.round(mean(commandCycles))} cycles); ` +
    `${(Date.now() - t0) / 1000} s of host time`,
);
if (cyclesAt) profile();
if (bad) fail(1, `${bad} of ${opts.seeds} seeds differ from ${opts.golden}`);
console.log(`PASS: ${opts.seeds} seeds match ${opts.golden}`);
process.exit(0);

// Prints the functions that took the most emulated cycles during the `g SEED` commands.
function profile() {
  const symbols = [];
  for (const line of readFileSync(opts.profile, 'utf8').split('\n')) {
    const m = /^([0-9a-f]{8}) [tTwW] (.*)$/.exec(line);
    if (m) symbols.push([parseInt(m[1], 16), m[2]]);
  }
  symbols.sort((a, b) => a[0] - b[0]);
  const nameAt = (pc) => {
    let lo = 0;
    let hi = symbols.length - 1;
    if (hi < 0 || pc < symbols[0][0]) return '?';
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (symbols[mid][0] <= pc) lo = mid;
      else hi = mid - 1;
    }
    return symbols[lo][1];
  };
  const byName = new Map();
  let total = 0;
  for (const [pc, cycles] of cyclesAt) {
    const name = nameAt(pc);
    byName.set(name, (byName.get(name) ?? 0) + cycles);
    total += cycles;
  }
  console.log(`profile: emulated cycles per g command (${opts.seeds} commands), by function`);
  for (const [name, cycles] of [...byName].sort((a, b) => b[1] - a[1]).slice(0, 20)) {
    const share = ((100 * cycles) / total).toFixed(1).padStart(5);
    console.log(`${String(Math.round(cycles / opts.seeds)).padStart(9)} ${share}%  ${name.slice(0, 100)}`);
  }
}

// --bridge: the serial console on stdin/stdout, the emulator running in slices between
// host events, until stdin closes.
function bridge() {
  if (text || lines.length) process.stdout.write(lines.map((l) => `${l}\r\n`).join('') + text);
  cdc.onSerialData = (buffer) => process.stdout.write(Buffer.from(buffer));
  process.stdin.on('data', (data) => {
    outgoing.push(...data);
    feed();
  });
  process.stdin.on('end', () => process.exit(0));
  const slice = () => {
    const until = mcu.core.cycles + 2_000_000;
    while (mcu.core.cycles < until) {
      if (mcu.core.waiting) {
        mcu.clock.tick(mcu.clock.nanosToNextAlarm);
      } else {
        mcu.clock.tick(mcu.core.executeInstruction() * cycleNanos);
      }
    }
    setImmediate(slice);
  };
  slice();
}
