"use strict";
// The VS Code side: starts `policyctl lsp --stdio` for YAML documents (the server answers only
// for TracingPolicies), passes the settings, and shows the state in the status bar.
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
exports.activate = activate;
exports.deactivate = deactivate;
const vscode = __importStar(require("vscode"));
const node_1 = require("vscode-languageclient/node");
const logic_1 = require("./logic");
const SECTION = 'policyctl';
const INSTALL_URL = 'https://github.com/policyctl/policyctl#install';
let client;
let output;
let statusItem;
let state = 'stopped';
let serverVersion;
/** The settings last sent to the server (or to be sent). */
let current = { kernels: [] };
/** Serialises start/stop/restart. */
let queue = Promise.resolve();
function workspaceFolder() {
    const f = vscode.workspace.workspaceFolders?.[0];
    return f && f.uri.scheme === 'file' ? f.uri.fsPath : undefined;
}
function readSettings() {
    const cfg = vscode.workspace.getConfiguration(SECTION);
    const { settings, warnings } = (0, logic_1.toServerSettings)({
        kernels: cfg.get('kernels'),
        hostKernel: cfg.get('hostKernel'),
        debounceMs: cfg.get('debounceMs'),
    }, process.env, workspaceFolder());
    for (const w of warnings) {
        output.appendLine(`[settings] ${w}`);
    }
    if (warnings.length > 0) {
        void vscode.window.showWarningMessage(`policyctl: ${warnings.join(' ')}`);
    }
    return settings;
}
function setState(s) {
    state = s;
    const st = (0, logic_1.statusFor)(s, current, serverVersion);
    statusItem.text = st.text;
    statusItem.tooltip = st.tooltip;
    statusItem.backgroundColor = st.error
        ? new vscode.ThemeColor('statusBarItem.errorBackground')
        : undefined;
    statusItem.show();
}
async function reportProblem(kind, message) {
    output.appendLine(`[error] ${message}`);
    setState(kind);
    const choice = await vscode.window.showErrorMessage(`policyctl: ${message}`, 'Open Settings', 'How to Install', 'Show Output');
    if (choice === 'Open Settings') {
        await vscode.commands.executeCommand('workbench.action.openSettings', 'policyctl.path');
    }
    else if (choice === 'How to Install') {
        await vscode.env.openExternal(vscode.Uri.parse(INSTALL_URL));
    }
    else if (choice === 'Show Output') {
        output.show(true);
    }
}
async function start() {
    current = readSettings();
    serverVersion = undefined;
    setState('starting');
    const cfg = vscode.workspace.getConfiguration(SECTION);
    const resolved = (0, logic_1.resolvePolicyctl)({
        configured: cfg.get('path'),
        env: process.env,
        platform: process.platform,
        workspaceFolder: workspaceFolder(),
    });
    if (!resolved.ok) {
        void reportProblem('missing', resolved.message);
        return;
    }
    const version = await (0, logic_1.probeVersion)(resolved.path);
    if (!version.ok) {
        void reportProblem(version.message.startsWith('Could not run') ? 'missing' : 'failed', version.message);
        return;
    }
    serverVersion = version.version;
    output.appendLine(`[info] Starting ${resolved.path} lsp --stdio (policyctl ${version.version}, from ${resolved.source})`);
    const serverOptions = {
        command: resolved.path,
        args: ['lsp', '--stdio'],
        transport: node_1.TransportKind.stdio,
        options: { cwd: workspaceFolder() },
    };
    const clientOptions = {
        // Every YAML document goes to the server, which claims only TracingPolicies (by their
        // apiVersion and kind) and answers nothing for the others, so Red Hat's YAML extension
        // keeps them.
        documentSelector: [{ language: 'yaml' }],
        initializationOptions: (0, logic_1.initializationOptions)(current),
        outputChannel: output,
        traceOutputChannel: output,
        middleware: {
            workspace: {
                // If the server pulls `policyctl`, give it what we would push (expanded, checked).
                configuration: async (params, token, next) => {
                    const answer = await next(params, token);
                    if (!Array.isArray(answer)) {
                        return answer;
                    }
                    return params.items.map((item, i) => item.section === SECTION ? current : answer[i]);
                },
            },
        },
    };
    const c = new node_1.LanguageClient('policyctl', 'policyctl', serverOptions, clientOptions);
    c.onDidChangeState((e) => {
        if (c !== client) {
            return;
        }
        if (e.newState === node_1.State.Running)
            setState('running');
        else if (e.newState === node_1.State.Starting)
            setState('starting');
        else
            setState('stopped');
    });
    client = c;
    try {
        await c.start();
        setState('running');
    }
    catch (e) {
        client = undefined;
        void reportProblem('failed', `the language server did not start: ${e instanceof Error ? e.message : String(e)}`);
    }
}
async function stop() {
    const c = client;
    client = undefined;
    if (c) {
        try {
            await c.stop(2000);
        }
        catch (e) {
            output.appendLine(`[warn] stopping the server: ${e instanceof Error ? e.message : String(e)}`);
        }
    }
    setState('stopped');
}
function enqueue(f) {
    queue = queue.then(f, f);
    return queue;
}
function restart() {
    return enqueue(async () => {
        await stop();
        await start();
    });
}
async function pushSettings() {
    current = readSettings();
    setState(state);
    const c = client;
    if (c && c.isRunning()) {
        await c.sendNotification(node_1.DidChangeConfigurationNotification.type, {
            settings: (0, logic_1.initializationOptions)(current),
        });
    }
}
async function showKernels() {
    const lines = (0, logic_1.describeKernels)(current, state);
    output.appendLine('[kernels]');
    for (const l of lines)
        output.appendLine(`  ${l}`);
    const pick = await vscode.window.showQuickPick([
        ...lines.map((l) => ({ label: l })),
        { label: '$(gear) Configure kernels…', action: 'settings' },
    ], { title: `policyctl kernels${serverVersion ? ` (policyctl ${serverVersion})` : ''}`, placeHolder: state === 'running' ? 'In use by the running server' : `Server ${state}` });
    if (pick && 'action' in pick) {
        await vscode.commands.executeCommand('workbench.action.openSettings', 'policyctl.kernels');
    }
}
async function activate(context) {
    output = vscode.window.createOutputChannel('policyctl');
    statusItem = vscode.window.createStatusBarItem('policyctl.status', vscode.StatusBarAlignment.Right, 100);
    statusItem.name = 'policyctl';
    statusItem.command = 'policyctl.showKernels';
    context.subscriptions.push(output, statusItem, vscode.commands.registerCommand('policyctl.restartServer', () => restart()), vscode.commands.registerCommand('policyctl.showOutput', () => output.show(true)), vscode.commands.registerCommand('policyctl.showKernels', () => showKernels()), vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('policyctl.path')) {
            void restart();
        }
        else if (e.affectsConfiguration('policyctl.kernels') ||
            e.affectsConfiguration('policyctl.hostKernel') ||
            e.affectsConfiguration('policyctl.debounceMs')) {
            void enqueue(pushSettings);
        }
    }));
    await enqueue(start);
}
function deactivate() {
    return client ? stop() : undefined;
}
//# sourceMappingURL=extension.js.map