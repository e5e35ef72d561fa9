// The VS Code side: starts `policyctl lsp` for YAML documents (the server answers only for
// TracingPolicies), passes the settings, shows the state in the status bar while a YAML document
// is in front, says once when the server is missing or fails (and only while a policy is open),
// and, when asked, gives Red Hat's YAML extension the policy schemas for completion and hover.

import * as fs from 'fs';
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
  bundledPath,
  describeKernels,
  helpOnlySchema,
  initializationOptions,
  policyKind,
  probeVersion,
  resolvePolicyctl,
  statusFor,
  toServerSettings,
} from './logic';

const SECTION = 'policyctl';
const INSTALL_URL = 'https://github.com/policyctl/policyctl/tree/main/editors/vscode#requirements';

/**
 * vscode-languageclient shows its own notifications when the server cannot be started or keeps
 * crashing; those go to the output channel here, and the extension says it once, its own way.
 */
class PolicyctlClient extends LanguageClient {
  override error(message: string, data?: unknown, showNotification?: boolean | 'force'): void {
    super.error(message, data, false);
    if (showNotification === 'force') {
      const why = data instanceof Error ? `: ${data.message}` : '';
      problem('failed', `the language server stopped (${message}${why}). See the policyctl output.`);
    }
  }
}

let client: LanguageClient | undefined;
let extensionPath = '';
let output: vscode.OutputChannel;
let statusItem: vscode.StatusBarItem;
let state: ServerState = 'stopped';
let serverVersion: string | undefined;
/** The settings last sent to the server (or to be sent). */
let current: ServerSettings = { kernels: [] };
/** Serialises start/stop/restart. */
let queue: Promise<void> = Promise.resolve();
/** What is wrong with the server, until it runs again. */
let pending: string | undefined;
/** Whether the user was told about a missing or failing server (once per session). */
let told = false;
/** Whether the schemas were given to Red Hat's YAML extension (it cannot take them back). */
let yamlContributor = false;

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
  updateStatusVisibility();
}

/** The status item is about YAML: shown while a YAML document is in front, else hidden. */
function updateStatusVisibility(): void {
  if (vscode.window.activeTextEditor?.document.languageId === 'yaml') {
    statusItem.show();
  } else {
    statusItem.hide();
  }
}

function isPolicy(doc: vscode.TextDocument): boolean {
  return doc.languageId === 'yaml' && policyKind(doc.getText()) !== undefined;
}

/** Record what is wrong (output and status bar) and say it when a policy is open. */
function problem(kind: 'missing' | 'failed', message: string): void {
  output.appendLine(`[error] ${message}`);
  pending = message;
  setState(kind);
  maybeTell();
}

/**
 * Say what is wrong with the server, once per session, and only while a TracingPolicy is open:
 * a user editing other YAML is not told about a tool they may not use.
 */
function maybeTell(): void {
  if (pending === undefined || told || !vscode.workspace.textDocuments.some(isPolicy)) {
    return;
  }
  told = true;
  void tell(pending);
}

async function tell(message: string): Promise<void> {
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

/** A .vsix may lose the executable bit of the binary it carries on the way: give it back. */
function ensureExecutable(file: string): void {
  if (process.platform === 'win32' || !fs.existsSync(file)) return;
  try {
    fs.accessSync(file, fs.constants.X_OK);
  } catch {
    try {
      fs.chmodSync(file, 0o755);
    } catch (e) {
      output.appendLine(`[warn] ${file} is not executable and could not be made so: ${String(e)}`);
    }
  }
}

async function start(): Promise<void> {
  current = readSettings();
  serverVersion = undefined;
  pending = undefined;
  setState('starting');
  const cfg = vscode.workspace.getConfiguration(SECTION);
  const bundled = bundledPath(extensionPath, process.platform);
  ensureExecutable(bundled);
  const resolved = resolvePolicyctl({
    configured: cfg.get<string>('path'),
    bundled,
    env: process.env,
    platform: process.platform,
    workspaceFolder: workspaceFolder(),
  });
  if (!resolved.ok) {
    problem('missing', resolved.message);
    return;
  }
  const version = await probeVersion(resolved.path);
  if (!version.ok) {
    problem(version.message.startsWith('Could not run') ? 'missing' : 'failed', version.message);
    return;
  }
  serverVersion = version.version;
  output.appendLine(`[info] Starting ${resolved.path} lsp (policyctl ${version.version}, ${resolved.source === 'bundled' ? 'the binary this extension carries' : `from ${resolved.source}`})`);

  // TransportKind.stdio: vscode-languageclient adds `--stdio` to these arguments itself.
  const serverOptions: ServerOptions = {
    command: resolved.path,
    args: ['lsp'],
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
  const c = new PolicyctlClient('policyctl', 'policyctl', serverOptions, clientOptions);
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
    problem('failed', `the language server did not start: ${e instanceof Error ? e.message : String(e)}`);
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

/** Restart on the user's request (a command or a new `policyctl.path`): a new problem is told. */
function restart(): Promise<void> {
  told = false;
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

/** The schema file of a policy kind, as Red Hat's YAML extension asks for it. */
function schemaUri(kind: 'TracingPolicy' | 'TracingPolicyNamespaced'): string {
  return `policyctl://schema/${kind.toLowerCase()}.json`;
}

/** The text of a document Red Hat's extension asks about: open, or read from disk (64 KiB). */
function textOf(resource: string): string | undefined {
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === resource);
  if (open) {
    return open.languageId === 'yaml' ? open.getText() : undefined;
  }
  try {
    const uri = vscode.Uri.parse(resource);
    if (uri.scheme !== 'file') return undefined;
    const fd = fs.openSync(uri.fsPath, 'r');
    try {
      const buf = Buffer.alloc(64 * 1024);
      const n = fs.readSync(fd, buf, 0, buf.length, 0);
      return buf.subarray(0, n).toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

/** Red Hat's YAML extension's API (`registerContributor`), as far as it is used here. */
interface YamlApi {
  registerContributor(
    schema: string,
    requestSchema: (resource: string) => string | undefined,
    requestSchemaContent: (uri: string) => string | undefined,
    label?: string,
  ): boolean;
}

/**
 * With `policyctl.registerYamlSchemas`, give Red Hat's YAML extension the policy schemas, by
 * content (only documents whose `kind` is a policy kind get one, whatever the file is called),
 * as help only: it completes and explains fields but reports nothing, so diagnostics come from
 * policyctl alone. A contributor cannot be removed; when the setting is turned off again it
 * answers no document.
 */
async function registerYamlSchemas(): Promise<void> {
  if (yamlContributor || !vscode.workspace.getConfiguration(SECTION).get<boolean>('registerYamlSchemas')) {
    return;
  }
  const yaml = vscode.extensions.getExtension<YamlApi>('redhat.vscode-yaml');
  if (!yaml) {
    output.appendLine("[info] policyctl.registerYamlSchemas is on, but Red Hat's YAML extension (redhat.vscode-yaml) is not installed.");
    return;
  }
  const api = yaml.isActive ? yaml.exports : await yaml.activate();
  if (typeof api?.registerContributor !== 'function') {
    output.appendLine("[warn] Red Hat's YAML extension has no registerContributor API; schemas not registered.");
    return;
  }
  const cache = new Map<string, string>();
  yamlContributor = api.registerContributor(
    'policyctl',
    (resource) => {
      if (!vscode.workspace.getConfiguration(SECTION).get<boolean>('registerYamlSchemas')) {
        return undefined;
      }
      const text = textOf(resource);
      const kind = text === undefined ? undefined : policyKind(text);
      return kind && schemaUri(kind);
    },
    (uri) => {
      const name = /^policyctl:\/\/schema\/(tracingpolicy|tracingpolicynamespaced)\.json$/.exec(uri)?.[1];
      if (!name) return undefined;
      let text = cache.get(name);
      if (text === undefined) {
        const file = vscode.Uri.joinPath(vscode.Uri.file(extensionPath), 'schemas', `${name}.json`).fsPath;
        text = JSON.stringify(helpOnlySchema(JSON.parse(fs.readFileSync(file, 'utf8'))));
        cache.set(name, text);
      }
      return text;
    },
    'policyctl',
  );
  output.appendLine(`[info] Policy schemas ${yamlContributor ? 'given to' : 'refused by'} Red Hat's YAML extension.`);
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  extensionPath = context.extensionPath;
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
    vscode.window.onDidChangeActiveTextEditor(() => updateStatusVisibility()),
    vscode.workspace.onDidOpenTextDocument(() => maybeTell()),
    vscode.workspace.onDidChangeTextDocument((e) => {
      if (pending !== undefined && !told && isPolicy(e.document)) maybeTell();
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('policyctl.registerYamlSchemas')) {
        void registerYamlSchemas();
      }
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
  void registerYamlSchemas().catch((e) =>
    output.appendLine(`[warn] registering the schemas with Red Hat's YAML extension: ${String(e)}`),
  );
  await enqueue(start);
}

export function deactivate(): Promise<void> | undefined {
  return client ? stop() : undefined;
}
