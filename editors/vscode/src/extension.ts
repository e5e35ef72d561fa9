// The VS Code side: starts `policyctl lsp --stdio` for YAML documents (the server answers only
// for TracingPolicies), passes the settings, and shows the state in the status bar.

import * as vscode from 'vscode';
import {
  DidChangeConfigurationNotification,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  State,
  TransportKind,
} from 'vscode-languageclient/node';
import {
  ServerSettings,
  ServerState,
  describeKernels,
  initializationOptions,
  probeVersion,
  resolvePolicyctl,
  statusFor,
  toServerSettings,
} from './logic';

const SECTION = 'policyctl';
const INSTALL_URL = 'https://github.com/policyctl/policyctl/tree/main/editors/vscode#requirements';

let client: LanguageClient | undefined;
let output: vscode.OutputChannel;
let statusItem: vscode.StatusBarItem;
let state: ServerState = 'stopped';
let serverVersion: string | undefined;
/** The settings last sent to the server (or to be sent). */
let current: ServerSettings = { kernels: [] };
/** Serialises start/stop/restart. */
let queue: Promise<void> = Promise.resolve();

function workspaceFolder(): string | undefined {
  const f = vscode.workspace.workspaceFolders?.[0];
  return f && f.uri.scheme === 'file' ? f.uri.fsPath : undefined;
}

function readSettings(): ServerSettings {
  const cfg = vscode.workspace.getConfiguration(SECTION);
  const { settings, warnings } = toServerSettings(
    {
      kernels: cfg.get('kernels'),
      hostKernel: cfg.get('hostKernel'),
      debounceMs: cfg.get('debounceMs'),
    },
    process.env,
    workspaceFolder(),
  );
  for (const w of warnings) {
    output.appendLine(`[settings] ${w}`);
  }
  if (warnings.length > 0) {
    void vscode.window.showWarningMessage(`policyctl: ${warnings.join(' ')}`);
  }
  return settings;
}

function setState(s: ServerState): void {
  state = s;
  const st = statusFor(s, current, serverVersion);
  statusItem.text = st.text;
  statusItem.tooltip = st.tooltip;
  statusItem.backgroundColor = st.error
    ? new vscode.ThemeColor('statusBarItem.errorBackground')
    : undefined;
  statusItem.show();
}

async function reportProblem(kind: 'missing' | 'failed', message: string): Promise<void> {
  output.appendLine(`[error] ${message}`);
  setState(kind);
  const choice = await vscode.window.showErrorMessage(
    `policyctl: ${message}`,
    'Open Settings',
    'How to Install',
    'Show Output',
  );
  if (choice === 'Open Settings') {
    await vscode.commands.executeCommand('workbench.action.openSettings', 'policyctl.path');
  } else if (choice === 'How to Install') {
    await vscode.env.openExternal(vscode.Uri.parse(INSTALL_URL));
  } else if (choice === 'Show Output') {
    output.show(true);
  }
}

async function start(): Promise<void> {
  current = readSettings();
  serverVersion = undefined;
  setState('starting');
  const cfg = vscode.workspace.getConfiguration(SECTION);
  const resolved = resolvePolicyctl({
    configured: cfg.get<string>('path'),
    env: process.env,
    platform: process.platform,
    workspaceFolder: workspaceFolder(),
  });
  if (!resolved.ok) {
    void reportProblem('missing', resolved.message);
    return;
  }
  const version = await probeVersion(resolved.path);
  if (!version.ok) {
    void reportProblem(version.message.startsWith('Could not run') ? 'missing' : 'failed', version.message);
    return;
  }
  serverVersion = version.version;
  output.appendLine(`[info] Starting ${resolved.path} lsp --stdio (policyctl ${version.version}, from ${resolved.source})`);

  const serverOptions: ServerOptions = {
    command: resolved.path,
    args: ['lsp', '--stdio'],
    transport: TransportKind.stdio,
    options: { cwd: workspaceFolder() },
  };
  const clientOptions: LanguageClientOptions = {
    // Every YAML document goes to the server, which claims only TracingPolicies (by their
    // apiVersion and kind) and answers nothing for the others, so Red Hat's YAML extension
    // keeps them.
    documentSelector: [{ language: 'yaml' }],
    initializationOptions: initializationOptions(current),
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
          return params.items.map((item, i) =>
            item.section === SECTION ? current : answer[i],
          );
        },
      },
    },
  };
  const c = new LanguageClient('policyctl', 'policyctl', serverOptions, clientOptions);
  c.onDidChangeState((e) => {
    if (c !== client) {
      return;
    }
    if (e.newState === State.Running) setState('running');
    else if (e.newState === State.Starting) setState('starting');
    else setState('stopped');
  });
  client = c;
  try {
    await c.start();
    setState('running');
  } catch (e) {
    client = undefined;
    void reportProblem('failed', `the language server did not start: ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function stop(): Promise<void> {
  const c = client;
  client = undefined;
  if (c) {
    try {
      await c.stop(2000);
    } catch (e) {
      output.appendLine(`[warn] stopping the server: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  setState('stopped');
}

function enqueue(f: () => Promise<void>): Promise<void> {
  queue = queue.then(f, f);
  return queue;
}

function restart(): Promise<void> {
  return enqueue(async () => {
    await stop();
    await start();
  });
}

async function pushSettings(): Promise<void> {
  current = readSettings();
  setState(state);
  const c = client;
  if (c && c.isRunning()) {
    await c.sendNotification(DidChangeConfigurationNotification.type, {
      settings: initializationOptions(current),
    });
  }
}

async function showKernels(): Promise<void> {
  const lines = describeKernels(current, state);
  output.appendLine('[kernels]');
  for (const l of lines) output.appendLine(`  ${l}`);
  const pick = await vscode.window.showQuickPick(
    [
      ...lines.map((l) => ({ label: l })),
      { label: '$(gear) Configure kernels…', action: 'settings' as const },
    ],
    { title: `policyctl kernels${serverVersion ? ` (policyctl ${serverVersion})` : ''}`, placeHolder: state === 'running' ? 'In use by the running server' : `Server ${state}` },
  );
  if (pick && 'action' in pick) {
    await vscode.commands.executeCommand('workbench.action.openSettings', 'policyctl.kernels');
  }
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel('policyctl');
  statusItem = vscode.window.createStatusBarItem('policyctl.status', vscode.StatusBarAlignment.Right, 100);
  statusItem.name = 'policyctl';
  statusItem.command = 'policyctl.showKernels';
  context.subscriptions.push(
    output,
    statusItem,
    vscode.commands.registerCommand('policyctl.restartServer', () => restart()),
    vscode.commands.registerCommand('policyctl.showOutput', () => output.show(true)),
    vscode.commands.registerCommand('policyctl.showKernels', () => showKernels()),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('policyctl.path')) {
        void restart();
      } else if (
        e.affectsConfiguration('policyctl.kernels') ||
        e.affectsConfiguration('policyctl.hostKernel') ||
        e.affectsConfiguration('policyctl.debounceMs')
      ) {
        void enqueue(pushSettings);
      }
    }),
  );
    await enqueue(start);
}

export function deactivate(): Promise<void> | undefined {
  return client ? stop() : undefined;
}
