// The extension's logic that does not need VS Code: finding the binary, checking its version,
// turning settings into the server's initializationOptions, and the status bar text. Kept free
// of `import 'vscode'` so `node --test` runs it without VS Code.

import * as fs from 'fs';
import * as path from 'path';
import { execFile } from 'child_process';

/** The oldest policyctl whose `lsp --stdio` this extension speaks to. */
export const MIN_VERSION = '0.1.0';

/** How to get the binary, for the messages about a missing one. */
export const INSTALL_HINT =
  'Install the extension for your platform (it carries the binary), or install policyctl with ' +
  '`cargo install --path .` in a checkout of https://github.com/policyctl/policyctl and put it on ' +
  'PATH, or set `policyctl.path` to the binary.';

// ---------------------------------------------------------------------------------------------
// Finding the binary

export interface FsLike {
  /** True when `p` is a file this process may execute. */
  isExecutable(p: string): boolean;
}

export const realFs: FsLike = {
  isExecutable(p: string): boolean {
    try {
      const st = fs.statSync(p);
      if (!st.isFile()) {
        return false;
      }
      if (process.platform === 'win32') {
        return true;
      }
      fs.accessSync(p, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  },
};

export interface ResolveInput {
  /** `policyctl.path` as configured ('' or undefined: the bundled binary, then PATH). */
  configured?: string | null;
  /** The binary the extension carries (`server/policyctl` in a platform .vsix), if any. */
  bundled?: string;
  /** The environment (PATH, PATHEXT, HOME). */
  env: NodeJS.ProcessEnv;
  platform: NodeJS.Platform;
  /** The first workspace folder, for a relative `policyctl.path`. */
  workspaceFolder?: string;
  fs?: FsLike;
}

export type Resolved =
  | { ok: true; path: string; source: 'setting' | 'bundled' | 'PATH' }
  | { ok: false; message: string };

/** Expand `~` and `${workspaceFolder}` / `${env:NAME}` in a configured path. */
export function expandPath(
  p: string,
  env: NodeJS.ProcessEnv,
  workspaceFolder?: string,
): string {
  let out = p.trim();
  out = out.replace(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => env[name] ?? '');
  if (workspaceFolder !== undefined) {
    out = out.replace(/\$\{workspaceFolder\}/g, workspaceFolder);
  }
  const home = env.HOME ?? env.USERPROFILE;
  if (home && (out === '~' || out.startsWith('~/') || out.startsWith('~\\'))) {
    out = path.join(home, out.slice(1));
  }
  return out;
}

/**
 * Where the binary is: `policyctl.path` when set (and then only there: a setting that points
 * nowhere is an error, not a reason to run another binary), else the binary the extension
 * carries, else the first `policyctl` on PATH.
 */
export function resolvePolicyctl(input: ResolveInput): Resolved {
  const f = input.fs ?? realFs;
  const pathMod = input.platform === 'win32' ? path.win32 : path.posix;
  const configured = (input.configured ?? '').trim();
  if (configured !== '') {
    let p = expandPath(configured, input.env, input.workspaceFolder);
    if (!pathMod.isAbsolute(p) && (p.includes('/') || p.includes('\\'))) {
      if (input.workspaceFolder === undefined) {
        return {
          ok: false,
          message: `policyctl.path "${configured}" is relative and no folder is open. ${INSTALL_HINT}`,
        };
      }
      p = pathMod.resolve(input.workspaceFolder, p);
    } else if (!pathMod.isAbsolute(p)) {
      // A bare name ("policyctl-dev"): look it up on PATH.
      const found = searchPath(p, input.env, input.platform, f);
      if (found) {
        return { ok: true, path: found, source: 'setting' };
      }
      return {
        ok: false,
        message: `policyctl.path is "${configured}", which is not on PATH. ${INSTALL_HINT}`,
      };
    }
    if (f.isExecutable(p)) {
      return { ok: true, path: p, source: 'setting' };
    }
    return {
      ok: false,
      message:
        `policyctl.path is "${configured}", but no executable file is there. Point it at the policyctl ` +
        'binary, or clear it to use the binary this extension carries (or the one on PATH).',
    };
  }
  if (input.bundled !== undefined && f.isExecutable(input.bundled)) {
    return { ok: true, path: input.bundled, source: 'bundled' };
  }
  const found = searchPath('policyctl', input.env, input.platform, f);
  if (found) {
    return { ok: true, path: found, source: 'PATH' };
  }
  return {
    ok: false,
    message: `policyctl was not found: this extension carries no binary for this platform and none is on PATH. ${INSTALL_HINT}`,
  };
}

/** Where a platform .vsix keeps the binary, inside the extension's folder. */
export function bundledPath(extensionPath: string, platform: NodeJS.Platform): string {
  const pathMod = platform === 'win32' ? path.win32 : path.posix;
  return pathMod.join(extensionPath, 'server', platform === 'win32' ? 'policyctl.exe' : 'policyctl');
}

// ---------------------------------------------------------------------------------------------
// Which documents are policies

/**
 * Whether a YAML text holds a TracingPolicy: a document with `kind: TracingPolicy` (or
 * `TracingPolicyNamespaced`) at the top level. The server decides for real; this only tells the
 * extension whether to speak up about a server that is missing, and which schema to offer.
 */
export function policyKind(text: string): 'TracingPolicy' | 'TracingPolicyNamespaced' | undefined {
  const m = /^kind:[ \t]*(["']?)(TracingPolicy|TracingPolicyNamespaced)\1[ \t]*(?:#.*)?\r?$/m.exec(text);
  return m ? (m[2] as 'TracingPolicy' | 'TracingPolicyNamespaced') : undefined;
}

// ---------------------------------------------------------------------------------------------
// The JSON Schema offered to Red Hat's YAML extension

/** Keys of a JSON Schema that only describe (kept for completion and hover). */
const DESCRIBING = new Set([
  '$schema',
  '$id',
  '$ref',
  'title',
  'description',
  'markdownDescription',
  'default',
  'examples',
  'definitions',
  'properties',
  'items',
  'additionalProperties',
  'defaultSnippets',
]);

/**
 * The schema as help only: fields, their docs, defaults and the values they take (enum and const
 * become examples), without a single rule that could fail (types, required fields, enums,
 * bounds, conditions). Red Hat's extension then completes and explains policies but reports
 * nothing about them, and every finding comes from policyctl, once.
 */
export function helpOnlySchema(schema: unknown): unknown {
  if (Array.isArray(schema)) {
    return schema.map(helpOnlySchema);
  }
  if (typeof schema !== 'object' || schema === null) {
    return schema;
  }
  const o = schema as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (!DESCRIBING.has(k)) {
      continue;
    }
    if (k === 'properties' || k === 'definitions') {
      const m: Record<string, unknown> = {};
      for (const [name, sub] of Object.entries((v ?? {}) as Record<string, unknown>)) {
        m[name] = helpOnlySchema(sub);
      }
      out[k] = m;
    } else if (k === 'items' || k === 'additionalProperties') {
      // `additionalProperties: false` is a rule; a schema there describes the values of a map.
      if (typeof v === 'object' && v !== null) {
        out[k] = helpOnlySchema(v);
      }
    } else {
      out[k] = v;
    }
  }
  const examples = [
    ...(Array.isArray(o.examples) ? o.examples : []),
    ...(Array.isArray(o.enum) ? o.enum : []),
    ...('const' in o ? [o.const] : []),
  ];
  if (examples.length > 0) {
    out.examples = examples;
  }
  return out;
}

/** The first executable `name` in the directories of PATH (with PATHEXT on Windows). */
export function searchPath(
  name: string,
  env: NodeJS.ProcessEnv,
  platform: NodeJS.Platform,
  f: FsLike = realFs,
): string | undefined {
  const win = platform === 'win32';
  const pathMod = win ? path.win32 : path.posix;
  const raw = (win ? env.Path ?? env.PATH : env.PATH) ?? '';
  const dirs = raw.split(win ? ';' : ':').filter((d) => d !== '');
  const exts = win
    ? ['', ...(env.PATHEXT ?? '.EXE;.CMD;.BAT;.COM').split(';').filter((e) => e !== '')]
    : [''];
  for (const dir of dirs) {
    for (const ext of exts) {
      const candidate = pathMod.join(dir.replace(/^"(.*)"$/, '$1'), name + ext.toLowerCase());
      if (f.isExecutable(candidate)) {
        return candidate;
      }
      if (ext !== '' && f.isExecutable(pathMod.join(dir, name + ext))) {
        return pathMod.join(dir, name + ext);
      }
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The version

/** The version in `policyctl --version` output (`policyctl 0.1.0`), as [major, minor, patch]. */
export function parseVersion(output: string): [number, number, number] | undefined {
  const m = /^\s*policyctl\s+v?(\d+)\.(\d+)\.(\d+)(?:[-+][0-9A-Za-z.+-]*)?\s*$/m.exec(output);
  if (!m) {
    return undefined;
  }
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

export function compareVersions(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 3; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) {
      return d < 0 ? -1 : 1;
    }
  }
  return 0;
}

export type VersionCheck =
  | { ok: true; version: string }
  | { ok: false; message: string };

/** Judge the output of `<bin> --version` against [`MIN_VERSION`]. */
export function checkVersion(output: string, bin: string, minimum = MIN_VERSION): VersionCheck {
  const v = parseVersion(output);
  const min = parseVersion(`policyctl ${minimum}`)!;
  if (!v) {
    const got = output.trim().split(/\r?\n/)[0] ?? '';
    return {
      ok: false,
      message:
        `"${bin} --version" printed ${got === '' ? 'nothing' : `"${got}"`}, not "policyctl X.Y.Z": ` +
        `is it policyctl? ${INSTALL_HINT}`,
    };
  }
  const version = v.join('.');
  if (compareVersions(v, min) < 0) {
    return {
      ok: false,
      message:
        `${bin} is policyctl ${version}; this extension needs ${minimum} or newer. ` +
        `Update it (\`cargo install --path .\` in an up-to-date checkout) or set policyctl.path.`,
    };
  }
  return { ok: true, version };
}

/** Run `<bin> --version` (5 s at most) and check it. */
export function probeVersion(bin: string, timeoutMs = 5000): Promise<VersionCheck> {
  return new Promise((resolve) => {
    execFile(bin, ['--version'], { timeout: timeoutMs, windowsHide: true }, (err, stdout, stderr) => {
      if (err && !stdout) {
        const code = (err as NodeJS.ErrnoException).code;
        const why =
          code === 'ENOENT'
            ? 'it does not exist'
            : code === 'EACCES'
              ? 'it is not executable'
              : err.killed
                ? `it did not answer within ${timeoutMs} ms`
                : (stderr || err.message).trim();
        resolve({ ok: false, message: `Could not run "${bin} --version": ${why}. ${INSTALL_HINT}` });
        return;
      }
      resolve(checkVersion(String(stdout), bin));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Settings

/** One entry of `policyctl.kernels` as the server reads it. */
export interface KernelOption {
  btf: string;
  name?: string;
  config?: string;
  errorInjection?: string;
  modules?: string[];
}

/** The server's settings (initializationOptions and didChangeConfiguration under `policyctl`). */
export interface ServerSettings {
  kernels: KernelOption[];
  hostKernel?: boolean;
  debounceMs?: number;
}

/** The extension's settings as VS Code gives them (anything may be malformed). */
export interface RawSettings {
  kernels?: unknown;
  hostKernel?: unknown;
  debounceMs?: unknown;
}

export interface Mapped {
  settings: ServerSettings;
  /** What was dropped, to tell the user. */
  warnings: string[];
}

function optString(v: unknown, env: NodeJS.ProcessEnv, folder?: string): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? expandPath(v, env, folder) : undefined;
}

/**
 * The settings to send to the server: kernels without a `btf` are dropped (with a warning),
 * `~`, `${workspaceFolder}` and `${env:X}` are expanded, relative paths are left for the server
 * (it resolves them against the workspace root), and an unset `hostKernel` is left out so the
 * server's default applies (the host only when no kernel is listed).
 */
export function toServerSettings(
  raw: RawSettings,
  env: NodeJS.ProcessEnv = process.env,
  workspaceFolder?: string,
): Mapped {
  const warnings: string[] = [];
  const kernels: KernelOption[] = [];
  const list = raw.kernels ?? [];
  if (!Array.isArray(list)) {
    warnings.push('policyctl.kernels is not an array; ignored.');
  } else {
    list.forEach((k: unknown, i: number) => {
      if (typeof k === 'string' && k.trim() !== '') {
        kernels.push({ btf: expandPath(k, env, workspaceFolder) });
        return;
      }
      if (typeof k !== 'object' || k === null) {
        warnings.push(`policyctl.kernels[${i}] is not an object; ignored.`);
        return;
      }
      const o = k as Record<string, unknown>;
      const btf = optString(o.btf, env, workspaceFolder);
      if (!btf) {
        warnings.push(`policyctl.kernels[${i}] has no "btf"; ignored.`);
        return;
      }
      const out: KernelOption = { btf };
      const name = typeof o.name === 'string' && o.name.trim() !== '' ? o.name.trim() : undefined;
      if (name) out.name = name;
      const config = optString(o.config, env, workspaceFolder);
      if (config) out.config = config;
      const ei = optString(o.errorInjection, env, workspaceFolder);
      if (ei) out.errorInjection = ei;
      if (Array.isArray(o.modules)) {
        const mods = o.modules
          .map((m) => optString(m, env, workspaceFolder))
          .filter((m): m is string => m !== undefined);
        if (mods.length > 0) out.modules = mods;
      }
      kernels.push(out);
    });
  }
  const settings: ServerSettings = { kernels };
  if (typeof raw.hostKernel === 'boolean') {
    settings.hostKernel = raw.hostKernel;
  } else if (raw.hostKernel !== undefined && raw.hostKernel !== null) {
    warnings.push('policyctl.hostKernel is not true or false; ignored.');
  }
  if (typeof raw.debounceMs === 'number' && Number.isFinite(raw.debounceMs) && raw.debounceMs >= 0) {
    settings.debounceMs = Math.round(raw.debounceMs);
  }
  return { settings, warnings };
}

/** The initializationOptions: the settings under `policyctl`. */
export function initializationOptions(s: ServerSettings): { policyctl: ServerSettings } {
  return { policyctl: s };
}

/** Whether the server will also use the running kernel (its rule: unset = only if no kernel). */
export function usesHost(s: ServerSettings): boolean {
  return s.hostKernel ?? s.kernels.length === 0;
}

/** A kernel's short name: its `name`, else its BTF file name without `.btf`/`.zst`/`.xz`. */
export function kernelLabel(k: KernelOption): string {
  if (k.name) {
    return k.name;
  }
  let base = k.btf.split(/[\\/]/).pop() ?? k.btf;
  for (;;) {
    const stripped = base.replace(/\.(zst|xz|gz|btf)$/, '');
    if (stripped === base || stripped === '') break;
    base = stripped;
  }
  return base;
}

/** The names of the kernels in use, the host's last ("host"). */
export function kernelLabels(s: ServerSettings): string[] {
  const labels = s.kernels.map(kernelLabel);
  if (usesHost(s)) {
    labels.push('host');
  }
  return labels;
}

// ---------------------------------------------------------------------------------------------
// The status bar

export type ServerState = 'starting' | 'running' | 'stopped' | 'missing' | 'failed';

export interface Status {
  text: string;
  tooltip: string;
  /** True when the item should draw attention (error background). */
  error: boolean;
}

/** The status bar item: `policyctl: <kernels>` and whether the server runs. */
export function statusFor(state: ServerState, s: ServerSettings, version?: string): Status {
  const labels = kernelLabels(s);
  const kernels = labels.length === 0 ? 'no kernel' : shorten(labels);
  const icon: Record<ServerState, string> = {
    starting: '$(sync~spin)',
    running: '$(check)',
    stopped: '$(debug-stop)',
    missing: '$(error)',
    failed: '$(error)',
  };
  const what: Record<ServerState, string> = {
    starting: 'starting',
    running: 'running',
    stopped: 'stopped',
    missing: 'not found',
    failed: 'failed',
  };
  const text =
    state === 'missing' || state === 'failed'
      ? `${icon[state]} policyctl: ${what[state]}`
      : `${icon[state]} policyctl: ${kernels}`;
  const lines = [
    `policyctl language server${version ? ` ${version}` : ''}: ${what[state]}`,
    `Kernels: ${labels.length === 0 ? 'none' : labels.join(', ')}`,
    'Click to show the kernels.',
  ];
  return { text, tooltip: lines.join('\n'), error: state === 'missing' || state === 'failed' };
}

function shorten(labels: string[]): string {
  const max = 3;
  return labels.length <= max
    ? labels.join(', ')
    : `${labels.slice(0, max).join(', ')} +${labels.length - max}`;
}

/** The lines of the "Show Kernels" command. */
export function describeKernels(s: ServerSettings, state: ServerState): string[] {
  const lines: string[] = [];
  for (const k of s.kernels) {
    const extra = [
      k.config ? `config ${k.config}` : undefined,
      k.errorInjection ? `error injection ${k.errorInjection}` : undefined,
      k.modules && k.modules.length > 0 ? `${k.modules.length} module(s)` : undefined,
    ].filter((x) => x !== undefined);
    lines.push(`${kernelLabel(k)}: ${k.btf}${extra.length > 0 ? ` (${extra.join(', ')})` : ''}`);
  }
  if (usesHost(s)) {
    lines.push('host: the running kernel (/sys/kernel/btf/vmlinux)');
  }
  if (lines.length === 0) {
    lines.push('No kernel: set policyctl.kernels or policyctl.hostKernel.');
  }
  if (state !== 'running') {
    lines.push(`(the server is ${state === 'missing' ? 'not found' : state})`);
  }
  return lines;
}
