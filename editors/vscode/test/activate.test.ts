// Activates the bundled extension (out/extension.js) against test/vscode-stub: the commands and
// the status bar item exist, and a missing or too old policyctl is reported with how to fix it.
import { afterEach, beforeEach, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Module = require('node:module');

const stubPath = require.resolve('./vscode-stub');
const bundle = path.resolve(__dirname, '..', '..', 'out', 'extension.js');
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const M = Module as any;
const original = M._resolveFilename;
M._resolveFilename = function (request: string, ...rest: unknown[]) {
  return request === 'vscode' ? stubPath : original.call(this, request, ...rest);
};

// eslint-disable-next-line @typescript-eslint/no-require-imports
const stub = require('./vscode-stub') as typeof import('./vscode-stub');
const rec = stub.recorded;

interface Ext {
  activate(ctx: { subscriptions: Array<{ dispose(): unknown }> }): Promise<void>;
  deactivate(): unknown;
}

let ext: Ext;
let ctx: { subscriptions: Array<{ dispose(): unknown }> };
let tmp: string;

beforeEach(() => {
  assert.ok(fs.existsSync(bundle), `${bundle} is missing: run \`npm run bundle\``);
  delete require.cache[bundle];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  ext = require(bundle) as Ext;
  rec.errors.length = 0;
  rec.warnings.length = 0;
  rec.statusItems.length = 0;
  rec.output.length = 0;
  rec.config = {};
  ctx = { subscriptions: [] };
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'policyctl-activate-'));
});

afterEach(async () => {
  await ext.deactivate();
  for (const d of ctx.subscriptions) d.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('missing binary: commands registered, status "not found", install hint', async () => {
  rec.config['policyctl.path'] = path.join(tmp, 'policyctl');
  rec.config['policyctl.kernels'] = [{ btf: '/k/6.12.btf.zst', name: 'prod' }, { name: 'broken' }];
  await ext.activate(ctx);
  for (const c of ['policyctl.restartServer', 'policyctl.showOutput', 'policyctl.showKernels']) {
    assert.ok(rec.commands.has(c), `${c} registered`);
  }
  const item = rec.statusItems[0];
  assert.equal(item.text, '$(error) policyctl: not found');
  assert.equal(item.command, 'policyctl.showKernels');
  assert.ok(item.visible);
  assert.equal(rec.errors.length, 1);
  assert.match(rec.errors[0], /no executable file is there/);
  assert.match(rec.errors[0], /cargo install --path \./);
  assert.deepEqual(rec.warnings, ['policyctl: policyctl.kernels[1] has no "btf"; ignored.']);
});

test('too old binary: says which version is needed', { skip: process.platform === 'win32' }, async () => {
  const bin = path.join(tmp, 'policyctl');
  fs.writeFileSync(bin, '#!/bin/sh\necho "policyctl 0.0.3"\n', { mode: 0o755 });
  rec.config['policyctl.path'] = bin;
  await ext.activate(ctx);
  assert.equal(rec.errors.length, 1);
  assert.match(rec.errors[0], /policyctl 0\.0\.3; this extension needs 0\.1\.0 or newer/);
  assert.equal(rec.statusItems[0].text, '$(error) policyctl: failed');
});

test('not on PATH: says so', async () => {
  const saved = process.env.PATH;
  process.env.PATH = tmp;
  try {
    await ext.activate(ctx);
  } finally {
    process.env.PATH = saved;
  }
  assert.match(rec.errors[0], /policyctl was not found on PATH/);
  assert.match(rec.errors[0], /set `policyctl\.path`/);
});
