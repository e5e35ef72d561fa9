"use strict";
var __createBinding = (this && this.__createBinding) || (Object.create ? (function(o, m, k, k2) {
    if (k2 === undefined) k2 = k;
    var desc = Object.getOwnPropertyDescriptor(m, k);
    if (!desc || ("get" in desc ? !m.__esModule : desc.writable || desc.configurable)) {
      desc = { enumerable: true, get: function() { return m[k]; } };
    }
    Object.defineProperty(o, k2, desc);
}) : (function(o, m, k, k2) {
    if (k2 === undefined) k2 = k;
    o[k2] = m[k];
}));
var __setModuleDefault = (this && this.__setModuleDefault) || (Object.create ? (function(o, v) {
    Object.defineProperty(o, "default", { enumerable: true, value: v });
}) : function(o, v) {
    o["default"] = v;
});
var __importStar = (this && this.__importStar) || (function () {
    var ownKeys = function(o) {
        ownKeys = Object.getOwnPropertyNames || function (o) {
            var ar = [];
            for (var k in o) if (Object.prototype.hasOwnProperty.call(o, k)) ar[ar.length] = k;
            return ar;
        };
        return ownKeys(o);
    };
    return function (mod) {
        if (mod && mod.__esModule) return mod;
        var result = {};
        if (mod != null) for (var k = ownKeys(mod), i = 0; i < k.length; i++) if (k[i] !== "default") __createBinding(result, mod, k[i]);
        __setModuleDefault(result, mod);
        return result;
    };
})();
Object.defineProperty(exports, "__esModule", { value: true });
// End to end: spawns the real `policyctl lsp --stdio` (env POLICYCTL, else
// ../../target/debug/policyctl) and drives it over the protocol the way the extension's client
// does: the same initializationOptions, every YAML document opened, the server claiming only
// TracingPolicies.
const node_test_1 = require("node:test");
const assert = __importStar(require("node:assert/strict"));
const cp = __importStar(require("node:child_process"));
const fs = __importStar(require("node:fs"));
const path = __importStar(require("node:path"));
const node_url_1 = require("node:url");
const node_1 = require("vscode-languageserver-protocol/node");
const logic_1 = require("../src/logic");
const here = path.resolve(__dirname, '..', '..'); // editors/vscode
const repo = path.resolve(here, '..', '..');
const bin = process.env.POLICYCTL ?? path.join(repo, 'target', 'debug', 'policyctl');
const btf = path.join(repo, 'testdata', 'btf', '6.12.117+deb12-amd64.btf.zst');
const broken = path.join(repo, 'testdata', 'policies', 'article', 'original-kill-mkdir-test.yaml');
let proc;
let conn;
const diagnostics = new Map();
const waiters = [];
function waitForDiagnostics(uri, pred, ms = 20000) {
    return new Promise((resolve, reject) => {
        const check = () => {
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
            const w = () => {
                if (check())
                    waiters.splice(waiters.indexOf(w), 1);
            };
            waiters.push(w);
        }
    });
}
let counter = 0;
function open(text, file) {
    const uri = file ? (0, node_url_1.pathToFileURL)(file).toString() : `untitled:policy-${++counter}.yaml`;
    void conn.sendNotification(node_1.DidOpenTextDocumentNotification.type, {
        textDocument: { uri, languageId: 'yaml', version: 1, text },
    });
    return uri;
}
function items(r) {
    if (!r)
        return [];
    return Array.isArray(r) ? r : r.items;
}
(0, node_test_1.before)(async () => {
    assert.ok(fs.existsSync(bin), `${bin} is missing: run \`cargo build\` or set POLICYCTL`);
    const version = (0, logic_1.checkVersion)(cp.execFileSync(bin, ['--version']).toString(), bin);
    assert.ok(version.ok, JSON.stringify(version));
    proc = cp.spawn(bin, ['lsp', '--stdio'], { cwd: repo, stdio: 'pipe' });
    proc.stderr.on('data', (d) => process.stderr.write(`[server] ${d}`));
    conn = (0, node_1.createProtocolConnection)(new node_1.StreamMessageReader(proc.stdout), new node_1.StreamMessageWriter(proc.stdin));
    conn.onNotification(node_1.PublishDiagnosticsNotification.type, (p) => {
        const list = diagnostics.get(p.uri) ?? [];
        list.push(p);
        diagnostics.set(p.uri, list);
        for (const w of [...waiters])
            w();
    });
    conn.onNotification('window/showMessage', (m) => process.stderr.write(`[showMessage] ${JSON.stringify(m)}\n`));
    conn.onRequest('workspace/configuration', () => [null]);
    conn.onRequest('client/registerCapability', () => null);
    conn.onRequest('window/workDoneProgress/create', () => null);
    conn.listen();
    // What the extension sends for: "policyctl.kernels": [{"btf": …}], "policyctl.hostKernel": false
    const { settings } = (0, logic_1.toServerSettings)({ kernels: [{ btf, name: 'deb12' }], hostKernel: false });
    const result = await conn.sendRequest(node_1.InitializeRequest.type, {
        processId: process.pid,
        rootUri: (0, node_url_1.pathToFileURL)(repo).toString(),
        workspaceFolders: [{ uri: (0, node_url_1.pathToFileURL)(repo).toString(), name: 'policyctl' }],
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
        initializationOptions: (0, logic_1.initializationOptions)(settings),
    });
    assert.equal(result.serverInfo?.name, 'policyctl');
    await conn.sendNotification(node_1.InitializedNotification.type, {});
});
(0, node_test_1.after)(async () => {
    if (!conn)
        return;
    try {
        await conn.sendRequest(node_1.ShutdownRequest.type);
        await conn.sendNotification(node_1.ExitNotification.type);
    }
    catch {
        // the server may already be gone
    }
    await new Promise((resolve) => {
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
(0, node_test_1.test)('a broken policy gets diagnostics with codes and links', async () => {
    const uri = open(fs.readFileSync(broken, 'utf8'), broken);
    const diags = await waitForDiagnostics(uri, (d) => d.length > 0);
    const p021 = diags.find((d) => d.code === 'P021');
    assert.ok(p021, `P021 expected, got ${JSON.stringify(diags.map((d) => d.code))}`);
    assert.equal(p021.source, 'policyctl');
    assert.equal(p021.range.start.line, 18); // operator: "Equal"
    assert.match(p021.codeDescription?.href ?? '', /docs\/codes\.md#p021$/);
});
(0, node_test_1.test)('other YAML is not claimed: no diagnostics, no completion', async () => {
    const uri = open('apiVersion: apps/v1\nkind: Deployment\nspec:\n  call: do_mk\n');
    const c = await conn.sendRequest(node_1.CompletionRequest.type, {
        textDocument: { uri },
        position: { line: 3, character: 13 },
    });
    assert.equal(items(c).length, 0);
    await new Promise((r) => setTimeout(r, 300));
    for (const p of diagnostics.get(uri) ?? [])
        assert.equal(p.diagnostics.length, 0);
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
(0, node_test_1.test)('completion after `call: do_mk` offers do_mkdirat with its prototype', async () => {
    const uri = open(partial + '\n');
    const c = await conn.sendRequest(node_1.CompletionRequest.type, {
        textDocument: { uri },
        position: { line: 6, character: '  - call: do_mk'.length },
    });
    const labels = items(c).map((i) => i.label);
    const mkdirat = items(c).find((i) => i.label === 'do_mkdirat');
    assert.ok(mkdirat, `do_mkdirat expected in ${JSON.stringify(labels.slice(0, 20))}`);
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
(0, node_test_1.test)('hover on do_mkdirat shows its prototype', async () => {
    const uri = open(policy);
    const h = await conn.sendRequest(node_1.HoverRequest.type, {
        textDocument: { uri },
        position: { line: 6, character: 14 },
    });
    assert.ok(h, 'hover expected');
    const contents = h.contents;
    const text = typeof contents === 'string'
        ? contents
        : Array.isArray(contents)
            ? contents.map((c) => (typeof c === 'string' ? c : c.value)).join('\n')
            : contents.value;
    assert.match(text, /do_mkdirat\s*\(/);
    assert.match(text, /int\s+dfd/);
});
(0, node_test_1.test)('P006 (no syscall flag) has a quick fix', async () => {
    const uri = open(policy.replace('name: "e2e"', 'name: "e2e-p006"'));
    const diags = await waitForDiagnostics(uri, (d) => d.some((x) => x.code === 'P006'));
    const p006 = diags.find((d) => d.code === 'P006');
    const actions = await conn.sendRequest(node_1.CodeActionRequest.type, {
        textDocument: { uri },
        range: p006.range,
        context: { diagnostics: [p006], only: ['quickfix'] },
    });
    assert.ok(actions && actions.length > 0, 'a code action expected');
    const fix = actions.find((a) => 'edit' in a && a.edit !== undefined);
    assert.ok(fix, JSON.stringify(actions));
    assert.match(JSON.stringify(fix), /syscall: false/);
});
//# sourceMappingURL=e2e.test.js.map