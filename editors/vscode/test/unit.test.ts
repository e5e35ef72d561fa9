// Unit tests of the extension's logic (src/logic.ts imports no `vscode`).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  FsLike,
  checkVersion,
  compareVersions,
  describeKernels,
  initializationOptions,
  kernelLabel,
  kernelLabels,
  parseVersion,
  probeVersion,
  resolvePolicyctl,
  statusFor,
  toServerSettings,
} from '../src/logic';

function fakeFs(files: string[]): FsLike {
  const set = new Set(files);
  return { isExecutable: (p) => set.has(p) };
}

test('finds policyctl on PATH, first directory first', () => {
  const r = resolvePolicyctl({
    env: { PATH: '/usr/bin:/home/u/.cargo/bin:/opt/bin' },
    platform: 'linux',
    fs: fakeFs(['/home/u/.cargo/bin/policyctl', '/opt/bin/policyctl']),
  });
  assert.deepEqual(r, { ok: true, path: '/home/u/.cargo/bin/policyctl', source: 'PATH' });
});

test('missing on PATH says how to install', () => {
  const r = resolvePolicyctl({ env: { PATH: '/usr/bin' }, platform: 'linux', fs: fakeFs([]) });
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.match(r.message, /not found on PATH/);
    assert.match(r.message, /cargo install --path \./);
    assert.match(r.message, /policyctl\.path/);
  }
});

test('policyctl.path: absolute, ~, relative to the folder, ${workspaceFolder}', () => {
  const f = fakeFs(['/opt/policyctl', '/home/u/bin/policyctl', '/ws/target/debug/policyctl']);
  const base = { env: { PATH: '', HOME: '/home/u' }, platform: 'linux' as const, fs: f, workspaceFolder: '/ws' };
  assert.deepEqual(resolvePolicyctl({ ...base, configured: '/opt/policyctl' }), {
    ok: true, path: '/opt/policyctl', source: 'setting',
  });
  assert.deepEqual(resolvePolicyctl({ ...base, configured: '~/bin/policyctl' }), {
    ok: true, path: '/home/u/bin/policyctl', source: 'setting',
  });
  assert.deepEqual(resolvePolicyctl({ ...base, configured: 'target/debug/policyctl' }), {
    ok: true, path: '/ws/target/debug/policyctl', source: 'setting',
  });
  assert.deepEqual(resolvePolicyctl({ ...base, configured: '${workspaceFolder}/target/debug/policyctl' }), {
    ok: true, path: '/ws/target/debug/policyctl', source: 'setting',
  });
  const missing = resolvePolicyctl({ ...base, configured: '/nope/policyctl' });
  assert.equal(missing.ok, false);
  if (!missing.ok) {
    assert.match(missing.message, /policyctl\.path is "\/nope\/policyctl", but no executable file is there/);
    assert.match(missing.message, /cargo install --path \./);
  }
});

test('policyctl.path as a bare name is looked up on PATH; blank means PATH', () => {
  const f = fakeFs(['/usr/local/bin/policyctl-dev', '/usr/local/bin/policyctl']);
  const env = { PATH: '/usr/local/bin' };
  assert.deepEqual(resolvePolicyctl({ configured: 'policyctl-dev', env, platform: 'linux', fs: f }), {
    ok: true, path: '/usr/local/bin/policyctl-dev', source: 'setting',
  });
  assert.deepEqual(resolvePolicyctl({ configured: '  ', env, platform: 'linux', fs: f }), {
    ok: true, path: '/usr/local/bin/policyctl', source: 'PATH',
  });
});

test('Windows: PATHEXT and ; separated Path', () => {
  const r = resolvePolicyctl({
    env: { Path: 'C:\\Windows;C:\\Users\\u\\.cargo\\bin', PATHEXT: '.COM;.EXE' },
    platform: 'win32',
    fs: fakeFs(['C:\\Users\\u\\.cargo\\bin\\policyctl.exe']),
  });
  assert.deepEqual(r, { ok: true, path: 'C:\\Users\\u\\.cargo\\bin\\policyctl.exe', source: 'PATH' });
});

test('real filesystem: an executable file is found, a plain one is not', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'policyctl-test-'));
  try {
    const bin = path.join(dir, 'policyctl');
    fs.writeFileSync(bin, '#!/bin/sh\n', { mode: 0o644 });
    assert.equal(resolvePolicyctl({ env: { PATH: dir }, platform: process.platform }).ok, process.platform === 'win32');
    fs.chmodSync(bin, 0o755);
    assert.deepEqual(resolvePolicyctl({ env: { PATH: dir }, platform: process.platform }), {
      ok: true, path: bin, source: 'PATH',
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('parses `policyctl --version`', () => {
  assert.deepEqual(parseVersion('policyctl 0.1.0\n'), [0, 1, 0]);
  assert.deepEqual(parseVersion('policyctl 1.12.3-beta.1'), [1, 12, 3]);
  assert.deepEqual(parseVersion('policyctl v2.0.0'), [2, 0, 0]);
  assert.equal(parseVersion('tetragon 0.1.0'), undefined);
  assert.equal(parseVersion(''), undefined);
  assert.equal(compareVersions([0, 1, 0], [0, 1, 0]), 0);
  assert.equal(compareVersions([0, 0, 9], [0, 1, 0]), -1);
  assert.equal(compareVersions([0, 10, 0], [0, 9, 0]), 1);
});

test('version check: >= 0.1.0, with a message when too old or not policyctl', () => {
  assert.deepEqual(checkVersion('policyctl 0.1.0', '/b/policyctl'), { ok: true, version: '0.1.0' });
  assert.deepEqual(checkVersion('policyctl 0.2.5', '/b/policyctl'), { ok: true, version: '0.2.5' });
  const old = checkVersion('policyctl 0.0.9', '/b/policyctl');
  assert.equal(old.ok, false);
  if (!old.ok) assert.match(old.message, /policyctl 0\.0\.9; this extension needs 0\.1\.0 or newer/);
  const other = checkVersion('Usage: foo', '/b/foo');
  assert.equal(other.ok, false);
  if (!other.ok) assert.match(other.message, /not "policyctl X\.Y\.Z"/);
});

test('probeVersion runs the binary (and says so when it cannot)', async () => {
  const missing = await probeVersion('/nonexistent/policyctl');
  assert.equal(missing.ok, false);
  if (!missing.ok) assert.match(missing.message, /Could not run "\/nonexistent\/policyctl --version": it does not exist/);
  if (process.platform !== 'win32') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'policyctl-test-'));
    try {
      const bin = path.join(dir, 'policyctl');
      fs.writeFileSync(bin, '#!/bin/sh\necho "policyctl 0.0.1"\n', { mode: 0o755 });
      const old = await probeVersion(bin);
      assert.equal(old.ok, false);
      fs.writeFileSync(bin, '#!/bin/sh\necho "policyctl 0.3.0"\n', { mode: 0o755 });
      assert.deepEqual(await probeVersion(bin), { ok: true, version: '0.3.0' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('settings → initializationOptions', () => {
  const { settings, warnings } = toServerSettings(
    {
      kernels: [
        { btf: '~/fleet/6.12.btf.zst', name: ' prod ', config: '${workspaceFolder}/6.12.config.gz', errorInjection: '', extra: 1 },
        { name: 'no btf' },
        'relative/6.1.btf',
        42,
      ],
      hostKernel: false,
      debounceMs: 50,
    },
    { HOME: '/home/u' },
    '/ws',
  );
  assert.deepEqual(initializationOptions(settings), {
    policyctl: {
      kernels: [
        { btf: '/home/u/fleet/6.12.btf.zst', name: 'prod', config: '/ws/6.12.config.gz' },
        { btf: 'relative/6.1.btf' },
      ],
      hostKernel: false,
      debounceMs: 50,
    },
  });
  assert.deepEqual(warnings, [
    'policyctl.kernels[1] has no "btf"; ignored.',
    'policyctl.kernels[3] is not an object; ignored.',
  ]);
});

test('unset hostKernel is left to the server (host only without kernels)', () => {
  const none = toServerSettings({ kernels: [], hostKernel: null }).settings;
  assert.deepEqual(none, { kernels: [] });
  assert.deepEqual(kernelLabels(none), ['host']);
  const some = toServerSettings({ kernels: [{ btf: '/k/6.12.117+deb12-amd64.btf.zst' }] }).settings;
  assert.deepEqual(kernelLabels(some), ['6.12.117+deb12-amd64']);
  const both = toServerSettings({ kernels: [{ btf: '/k/a.btf', name: 'prod' }], hostKernel: true }).settings;
  assert.deepEqual(kernelLabels(both), ['prod', 'host']);
  const bad = toServerSettings({ kernels: 'x', hostKernel: 'yes' });
  assert.deepEqual(bad.settings, { kernels: [] });
  assert.equal(bad.warnings.length, 2);
});

test('kernel labels', () => {
  assert.equal(kernelLabel({ btf: '/x/vmlinux' }), 'vmlinux');
  assert.equal(kernelLabel({ btf: 'C:\\k\\6.1.0-56-amd64.btf.zst' }), '6.1.0-56-amd64');
  assert.equal(kernelLabel({ btf: '/x/a.btf', name: 'edge' }), 'edge');
});

test('status text: kernels and server state', () => {
  const s = { kernels: [{ btf: '/k/6.12.btf.zst', name: 'prod' }], hostKernel: false };
  assert.equal(statusFor('running', s, '0.1.0').text, '$(check) policyctl: prod');
  assert.match(statusFor('running', s, '0.1.0').tooltip, /server 0\.1\.0: running/);
  assert.equal(statusFor('running', s).error, false);
  assert.equal(statusFor('starting', { kernels: [] }).text, '$(sync~spin) policyctl: host');
  assert.equal(statusFor('stopped', { kernels: [], hostKernel: false }).text, '$(debug-stop) policyctl: no kernel');
  assert.equal(statusFor('missing', s).text, '$(error) policyctl: not found');
  assert.equal(statusFor('missing', s).error, true);
  assert.equal(statusFor('failed', s).text, '$(error) policyctl: failed');
  assert.match(statusFor('failed', s).tooltip, /Kernels: prod/);
  const many = { kernels: ['a', 'b', 'c', 'd'].map((n) => ({ btf: `/k/${n}.btf` })), hostKernel: true };
  assert.equal(statusFor('running', many).text, '$(check) policyctl: a, b, c +2');
});

test('show kernels lists every kernel with its files', () => {
  const s = { kernels: [{ btf: '/k/6.12.btf.zst', name: 'prod', config: '/k/6.12.config.gz' }], hostKernel: true };
  assert.deepEqual(describeKernels(s, 'running'), [
    'prod: /k/6.12.btf.zst (config /k/6.12.config.gz)',
    'host: the running kernel (/sys/kernel/btf/vmlinux)',
  ]);
  assert.deepEqual(describeKernels({ kernels: [], hostKernel: false }, 'stopped'), [
    'No kernel: set policyctl.kernels or policyctl.hostKernel.',
    '(the server is stopped)',
  ]);
});
