// `npm run package`: the platform .vsix, which carries the policyctl binary (server/policyctl),
// as rust-analyzer's and ruff's extensions do, so a VS Code user needs no Rust toolchain.
//
//   POLICYCTL=/path/to/policyctl npm run package   # that binary
//   npm run package                                # ../../target/release/policyctl, else debug
//   npm run package -- --universal                 # no binary: policyctl.path or PATH
//
// The binary is copied stripped (`strip`, when there is one); the VS Code target (linux-x64,
// linux-arm64, ...) is read from its ELF header, or given with VSCE_TARGET. The .vsix is named
// policyctl-<target>-<version>.vsix (policyctl-<version>.vsix for --universal); its path and
// size are printed on the last line.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readSync, closeSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(dirname(fileURLToPath(import.meta.url)));
const repo = resolve(here, '..', '..');
const universal = process.argv.includes('--universal');
const version = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8')).version;
const serverDir = join(here, 'server');

function fail(message) {
  console.error(`package: ${message}`);
  process.exit(1);
}

/** The VS Code target of an executable, from its ELF header (Linux only; else VSCE_TARGET). */
function targetOf(bin) {
  const fd = openSync(bin, 'r');
  const head = Buffer.alloc(20);
  readSync(fd, head, 0, 20, 0);
  closeSync(fd);
  if (head.readUInt32BE(0) !== 0x7f454c46) {
    fail(`${bin} is not an ELF executable: set VSCE_TARGET (win32-x64, darwin-arm64, ...)`);
  }
  const machine = head.readUInt16LE(18);
  const arch = { 0x3e: 'x64', 0xb7: 'arm64', 0x28: 'armhf' }[machine];
  if (!arch) fail(`${bin}: unknown ELF machine ${machine}: set VSCE_TARGET`);
  return `linux-${arch}`;
}

function pickBinary() {
  if (process.env.POLICYCTL) {
    if (!existsSync(process.env.POLICYCTL)) fail(`POLICYCTL=${process.env.POLICYCTL} does not exist`);
    return resolve(process.env.POLICYCTL);
  }
  for (const profile of ['release', 'debug']) {
    const p = join(repo, 'target', profile, 'policyctl');
    if (existsSync(p)) return p;
  }
  fail('no binary: build one (`cargo build --release`) or set POLICYCTL');
}

rmSync(serverDir, { recursive: true, force: true });
const vsceArgs = ['package', '--no-dependencies'];
let out;
if (universal) {
  out = join(here, `policyctl-${version}.vsix`);
} else {
  const bin = pickBinary();
  const target = process.env.VSCE_TARGET || targetOf(bin);
  mkdirSync(serverDir, { recursive: true });
  const dest = join(serverDir, target.startsWith('win32') ? 'policyctl.exe' : 'policyctl');
  copyFileSync(bin, dest);
  chmodSync(dest, 0o755);
  const strip = spawnSync('strip', ['--strip-all', dest], { stdio: 'inherit' });
  const stripped = strip.status === 0;
  if (!stripped) console.warn('package: `strip` failed or is missing; the binary is packaged as built');
  if (target === `${process.platform}-${process.arch}`) {
    // The copy must still run (and be the version the extension expects).
    console.log(`package: ${execFileSync(dest, ['--version']).toString().trim()}`);
  }
  console.log(
    `package: ${bin} (${statSync(bin).size} bytes) -> server/${dest.split('/').pop()} ` +
      `(${statSync(dest).size} bytes${stripped ? ', stripped' : ''}) for ${target}`,
  );
  vsceArgs.push('--target', target);
  out = join(here, `policyctl-${target}-${version}.vsix`);
}
vsceArgs.push('--out', out);
const vsce = join(here, 'node_modules', '@vscode', 'vsce', 'vsce');
const r = spawnSync(process.execPath, [vsce, ...vsceArgs], { cwd: here, stdio: 'inherit' });
rmSync(serverDir, { recursive: true, force: true });
if (r.status !== 0) fail(`vsce exited with ${r.status}`);
console.log(`vsix: ${out} (${statSync(out).size} bytes)`);
