// Unit tests of the extension's pure logic (src/logic.ts imports no `vscode`): finding the
// binary, versions, settings, the status text, which documents are policies, the schema given to
// Red Hat's YAML extension. They prove that logic only; the extension in a real VS Code is
// tested by test/vscode/ (code-server in Chromium), the server over the protocol by
// protocol.test.ts.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  FsLike,
  bundledPath,
  checkVersion,
  compareVersions,
  describeKernels,
  helpOnlySchema,
  initializationOptions,
  kernelLabel,
  kernelLabels,
  parseVersion,
  policyKind,
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
    assert.match(r.message, /carries no binary for this platform and none is on PATH/);
    assert.match(r.message, /cargo install --path \./);
    assert.match(r.message, /policyctl\.path/);
  }
});

test('order: policyctl.path, then the bundled binary, then PATH', () => {
  const bundled = bundledPath('/ext/policyctl-0.1.0', 'linux');
  assert.equal(bundled, '/ext/policyctl-0.1.0/server/policyctl');
  assert.equal(bundledPath('C:\\ext', 'win32'), 'C:\\ext\\server\\policyctl.exe');
  const env = { PATH: '/usr/bin' };
  const all = fakeFs([bundled, '/usr/bin/policyctl', '/opt/policyctl']);
  assert.deepEqual(resolvePolicyctl({ configured: '/opt/policyctl', bundled, env, platform: 'linux', fs: all }), {
    ok: true, path: '/opt/policyctl', source: 'setting',
  });
  assert.deepEqual(resolvePolicyctl({ configured: '', bundled, env, platform: 'linux', fs: all }), {
    ok: true, path: bundled, source: 'bundled',
  });
  // A universal .vsix carries none: PATH.
  assert.deepEqual(resolvePolicyctl({ bundled, env, platform: 'linux', fs: fakeFs(['/usr/bin/policyctl']) }), {
    ok: true, path: '/usr/bin/policyctl', source: 'PATH',
  });
  // A setting that points nowhere is an error, not a reason to run another binary.
  const wrong = resolvePolicyctl({ configured: '/nope/policyctl', bundled, env, platform: 'linux', fs: all });
  assert.equal(wrong.ok, false);
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
    assert.match(missing.message, /clear it to use the binary this extension carries/);
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

test('which YAML is a policy: kind at the top level, quoted or not', () => {
  assert.equal(policyKind('apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\n'), 'TracingPolicy');
  assert.equal(policyKind('kind: "TracingPolicyNamespaced"   # a comment\r\nspec: {}'), 'TracingPolicyNamespaced');
  assert.equal(policyKind("---\napiVersion: v1\nkind: ConfigMap\n---\nkind: 'TracingPolicy'\n"), 'TracingPolicy');
  assert.equal(policyKind('apiVersion: apps/v1\nkind: Deployment\n'), undefined);
  assert.equal(policyKind('spec:\n  kind: TracingPolicy\n'), undefined);
  assert.equal(policyKind('kind: TracingPolicyX\n'), undefined);
  assert.equal(policyKind('kind: "TracingPolicy\n'), undefined);
});

test('the schema for Red Hat\'s YAML extension describes and never judges', () => {
  const schema = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'schemas', 'tracingpolicy.json'), 'utf8'));
  const help = helpOnlySchema(schema) as Record<string, any>;
  // Every schema node (the names under properties/definitions are field names, not keywords).
  const keywords = new Set<string>();
  const walk = (node: unknown): void => {
    if (typeof node !== 'object' || node === null) return;
    for (const [k, v] of Object.entries(node)) {
      keywords.add(k === 'additionalProperties' && v === false ? 'additionalProperties: false' : k);
      if (k === 'properties' || k === 'definitions') Object.values(v as object).forEach(walk);
      else if (k === 'items' || k === 'additionalProperties') walk(v);
    }
  };
  walk(schema);
  for (const rule of ['type', 'required', 'enum', 'const', 'minimum', 'maximum', 'maxItems', 'not', 'allOf', 'additionalProperties: false']) {
    assert.ok(keywords.has(rule), `the policy schema has ${rule} (else this test proves nothing)`);
  }
  keywords.clear();
  walk(help);
  for (const rule of ['type', 'required', 'enum', 'const', 'minimum', 'maximum', 'maxItems', 'not', 'allOf', 'anyOf', 'if', 'additionalProperties: false']) {
    assert.ok(!keywords.has(rule), `${rule} left in the help-only schema`);
  }
  // What helps stays: fields, docs, defaults, and the values a field takes.
  assert.equal(help.properties.kind.examples[0], 'TracingPolicy');
  assert.match(help.properties.spec.description, /hooks/);
  const spec = help.definitions.TracingPolicySpec;
  assert.ok(spec.properties.kprobes, 'spec.kprobes is described');
  const count = (o: unknown): number =>
    typeof o !== 'object' || o === null ? 0 : Object.entries(o).reduce((n, [k, v]) => n + (k === 'description' ? 1 : 0) + count(v), 0);
  assert.equal(count(help), count(schema), 'every description is kept');
});
