// The real server over the protocol, without VS Code: spawns `policyctl lsp --stdio` (env
// POLICYCTL, else ../../target/debug/policyctl; the arguments vscode-languageclient makes of the
// extension's ['lsp']) and sends what the extension's settings become (logic.ts) as
// initializationOptions. It proves the server's answers; that the extension starts it and shows
// them in VS Code is proven by test/vscode/ (code-server in Chromium).
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as cp from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  CodeActionRequest,
  CompletionRequest,
  Diagnostic,
  DidOpenTextDocumentNotification,
  ExitNotification,
  HoverRequest,
  InitializeRequest,
  InitializedNotification,
  ProtocolConnection,
  PublishDiagnosticsNotification,
  PublishDiagnosticsParams,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  createProtocolConnection,
  CompletionItem,
  CompletionList,
  MarkupContent,
} from 'vscode-languageserver-protocol/node';
import { checkVersion, initializationOptions, toServerSettings } from '../src/logic';

const here = path.resolve(__dirname, '..', '..'); // editors/vscode
const repo = path.resolve(here, '..', '..');
const bin = process.env.POLICYCTL ?? path.join(repo, 'target', 'debug', 'policyctl');
const btf = path.join(repo, 'testdata', 'btf', '6.12.117+deb12-amd64.btf.zst');
const broken = path.join(repo, 'testdata', 'policies', 'article', 'original-kill-mkdir-test.yaml');

let proc: cp.ChildProcessWithoutNullStreams;
let conn: ProtocolConnection;
const diagnostics = new Map<string, PublishDiagnosticsParams[]>();
const waiters: Array<() => void> = [];

function waitForDiagnostics(uri: string, pred: (d: Diagnostic[]) => boolean, ms = 20000): Promise<Diagnostic[]> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const list = diagnostics.get(uri) ?? [];
      const last = list[list.length - 1];
      if (last && pred(last.diagnostics)) {
        clearTimeout(timer);
        resolve(last.diagnostics);
        return true;
      }
      return false;
    };
    const timer = setTimeout(() => {
      const got = diagnostics.get(uri)?.map((p) => p.diagnostics.map((d) => d.code));
      reject(new Error(`no matching diagnostics for ${uri} in ${ms} ms; got ${JSON.stringify(got)}`));
    }, ms);
    if (!check()) {
      const w = (): void => {
        if (check()) waiters.splice(waiters.indexOf(w), 1);
      };
      waiters.push(w);
    }
  });
}

let counter = 0;
function open(text: string, file?: string): string {
  const uri = file ? pathToFileURL(file).toString() : `untitled:policy-${++counter}.yaml`;
  void conn.sendNotification(DidOpenTextDocumentNotification.type, {
    textDocument: { uri, languageId: 'yaml', version: 1, text },
  });
  return uri;
}

function items(r: CompletionItem[] | CompletionList | null): CompletionItem[] {
  if (!r) return [];
  return Array.isArray(r) ? r : r.items;
}

before(async () => {
  assert.ok(fs.existsSync(bin), `${bin} is missing: run \`cargo build\` or set POLICYCTL`);
  const version = checkVersion(cp.execFileSync(bin, ['--version']).toString(), bin);
  assert.ok(version.ok, JSON.stringify(version));
  proc = cp.spawn(bin, ['lsp', '--stdio'], { cwd: repo, stdio: 'pipe' });
  proc.stderr.on('data', (d) => process.stderr.write(`[server] ${d}`));
  conn = createProtocolConnection(new StreamMessageReader(proc.stdout), new StreamMessageWriter(proc.stdin));
  conn.onNotification(PublishDiagnosticsNotification.type, (p) => {
    const list = diagnostics.get(p.uri) ?? [];
    list.push(p);
    diagnostics.set(p.uri, list);
    for (const w of [...waiters]) w();
  });
  conn.onNotification('window/showMessage', (m) => process.stderr.write(`[showMessage] ${JSON.stringify(m)}\n`));
  conn.onRequest('workspace/configuration', () => [null]);
  conn.onRequest('client/registerCapability', () => null);
  conn.onRequest('window/workDoneProgress/create', () => null);
  conn.listen();
  // What the extension sends for: "policyctl.kernels": [{"btf": …}], "policyctl.hostKernel": false
  const { settings } = toServerSettings({ kernels: [{ btf, name: 'deb12' }], hostKernel: false });
  const result = await conn.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: pathToFileURL(repo).toString(),
    workspaceFolders: [{ uri: pathToFileURL(repo).toString(), name: 'policyctl' }],
    capabilities: {
      textDocument: {
        publishDiagnostics: { relatedInformation: true, codeDescriptionSupport: true, dataSupport: true },
        completion: { completionItem: { snippetSupport: true, documentationFormat: ['markdown', 'plaintext'] } },
        hover: { contentFormat: ['markdown', 'plaintext'] },
        codeAction: {
          codeActionLiteralSupport: { codeActionKind: { valueSet: ['quickfix', 'refactor', 'refactor.rewrite'] } },
        },
      },
      workspace: { configuration: true },
    },
    initializationOptions: initializationOptions(settings),
  });
  assert.equal(result.serverInfo?.name, 'policyctl');
  await conn.sendNotification(InitializedNotification.type, {});
});

after(async () => {
  if (!conn) return;
  try {
    await conn.sendRequest(ShutdownRequest.type);
    await conn.sendNotification(ExitNotification.type);
  } catch {
    // the server may already be gone
  }
  await new Promise<void>((resolve) => {
    const t = setTimeout(() => {
      proc.kill();
      resolve();
    }, 3000);
    proc.on('exit', () => {
      clearTimeout(t);
      resolve();
    });
  });
  conn.dispose();
});

test('a broken policy gets diagnostics with codes and links', async () => {
  const uri = open(fs.readFileSync(broken, 'utf8'), broken);
  const diags = await waitForDiagnostics(uri, (d) => d.length > 0);
  const p021 = diags.find((d) => d.code === 'P021');
  assert.ok(p021, `P021 expected, got ${JSON.stringify(diags.map((d) => d.code))}`);
  assert.equal(p021.source, 'policyctl');
  assert.equal(p021.range.start.line, 18); // operator: "Equal"
  assert.match(p021.codeDescription?.href ?? '', /docs\/codes\.md#p021$/);
});

test('other YAML is not claimed: no diagnostics, no completion', async () => {
  const uri = open('apiVersion: apps/v1\nkind: Deployment\nspec:\n  call: do_mk\n');
  const c = await conn.sendRequest(CompletionRequest.type, {
    textDocument: { uri },
    position: { line: 3, character: 13 },
  });
  assert.equal(items(c).length, 0);
  await new Promise((r) => setTimeout(r, 300));
  for (const p of diagnostics.get(uri) ?? []) assert.equal(p.diagnostics.length, 0);
});

const partial = [
  'apiVersion: cilium.io/v1alpha1',
  'kind: TracingPolicy',
  'metadata:',
  '  name: "e2e"',
  'spec:',
  '  kprobes:',
  '  - call: do_mk',
].join('\n');

test('completion after `call: do_mk` offers do_mkdirat with its prototype', async () => {
  const uri = open(partial + '\n');
  const c = await conn.sendRequest(CompletionRequest.type, {
    textDocument: { uri },
    position: { line: 6, character: '  - call: do_mk'.length },
  });
  const labels = items(c).map((i) => i.label);
  const mkdirat = items(c).find((i) => i.label === 'do_mkdirat');
  assert.ok(mkdirat, `do_mkdirat expected in ${JSON.stringify(labels.slice(0, 20))}`);
  const shown = `${mkdirat.detail ?? ''} ${JSON.stringify(mkdirat.labelDetails ?? {})} ${JSON.stringify(mkdirat.documentation ?? '')}`;
  assert.match(shown, /dfd/, `prototype expected: ${shown}`);
});

const policy = [
  'apiVersion: cilium.io/v1alpha1',
  'kind: TracingPolicy',
  'metadata:',
  '  name: "e2e"',
  'spec:',
  '  kprobes:',
  '  - call: "do_mkdirat"',
  '',
].join('\n');

test('hover on do_mkdirat shows its prototype', async () => {
  const uri = open(policy + '    syscall: false\n');
  const h = await conn.sendRequest(HoverRequest.type, {
    textDocument: { uri },
    position: { line: 6, character: 14 },
  });
  assert.ok(h, 'hover expected');
  const contents = h.contents;
  const text =
    typeof contents === 'string'
      ? contents
      : Array.isArray(contents)
        ? contents.map((c) => (typeof c === 'string' ? c : c.value)).join('\n')
        : (contents as MarkupContent).value;
  assert.match(text, /do_mkdirat\s*\(/);
  assert.match(text, /int\s+dfd/);
});

test('P006 (no syscall flag) has a quick fix', async () => {
  const uri = open(policy.replace('name: "e2e"', 'name: "e2e-p006"'));
  const diags = await waitForDiagnostics(uri, (d) => d.some((x) => x.code === 'P006'));
  const p006 = diags.find((d) => d.code === 'P006')!;
  const actions = await conn.sendRequest(CodeActionRequest.type, {
    textDocument: { uri },
    range: p006.range,
    context: { diagnostics: [p006], only: ['quickfix'] },
  });
  assert.ok(actions && actions.length > 0, 'a code action expected');
  const fix = actions.find((a) => 'edit' in a && a.edit !== undefined);
  assert.ok(fix, JSON.stringify(actions));
  assert.match(JSON.stringify(fix), /syscall: false/);
});
