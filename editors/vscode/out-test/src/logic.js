"use strict";
// The extension's logic that does not need VS Code: finding the binary, checking its version,
// turning settings into the server's initializationOptions, and the status bar text. Kept free
// of `import 'vscode'` so `node --test` runs it without VS Code.
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
exports.realFs = exports.INSTALL_HINT = exports.MIN_VERSION = void 0;
exports.expandPath = expandPath;
exports.resolvePolicyctl = resolvePolicyctl;
exports.searchPath = searchPath;
exports.parseVersion = parseVersion;
exports.compareVersions = compareVersions;
exports.checkVersion = checkVersion;
exports.probeVersion = probeVersion;
exports.toServerSettings = toServerSettings;
exports.initializationOptions = initializationOptions;
exports.usesHost = usesHost;
exports.kernelLabel = kernelLabel;
exports.kernelLabels = kernelLabels;
exports.statusFor = statusFor;
exports.describeKernels = describeKernels;
const fs = __importStar(require("fs"));
const path = __importStar(require("path"));
const child_process_1 = require("child_process");
/** The oldest policyctl whose `lsp --stdio` this extension speaks to. */
exports.MIN_VERSION = '0.1.0';
/** How to get the binary, for the messages about a missing one. */
exports.INSTALL_HINT = 'Install it with `cargo install --path .` in a checkout of https://github.com/policyctl/policyctl, ' +
    'or set `policyctl.path` to the binary.';
exports.realFs = {
    isExecutable(p) {
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
        }
        catch {
            return false;
        }
    },
};
/** Expand `~` and `${workspaceFolder}` / `${env:NAME}` in a configured path. */
function expandPath(p, env, workspaceFolder) {
    let out = p.trim();
    out = out.replace(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name) => env[name] ?? '');
    if (workspaceFolder !== undefined) {
        out = out.replace(/\$\{workspaceFolder\}/g, workspaceFolder);
    }
    const home = env.HOME ?? env.USERPROFILE;
    if (home && (out === '~' || out.startsWith('~/') || out.startsWith('~\\'))) {
        out = path.join(home, out.slice(1));
    }
    return out;
}
/** Where the binary is: `policyctl.path` when set, else the first `policyctl` on PATH. */
function resolvePolicyctl(input) {
    const f = input.fs ?? exports.realFs;
    const pathMod = input.platform === 'win32' ? path.win32 : path.posix;
    const configured = (input.configured ?? '').trim();
    if (configured !== '') {
        let p = expandPath(configured, input.env, input.workspaceFolder);
        if (!pathMod.isAbsolute(p) && (p.includes('/') || p.includes('\\'))) {
            if (input.workspaceFolder === undefined) {
                return {
                    ok: false,
                    message: `policyctl.path "${configured}" is relative and no folder is open. ${exports.INSTALL_HINT}`,
                };
            }
            p = pathMod.resolve(input.workspaceFolder, p);
        }
        else if (!pathMod.isAbsolute(p)) {
            // A bare name ("policyctl-dev"): look it up on PATH.
            const found = searchPath(p, input.env, input.platform, f);
            if (found) {
                return { ok: true, path: found, source: 'setting' };
            }
            return {
                ok: false,
                message: `policyctl.path is "${configured}", which is not on PATH. ${exports.INSTALL_HINT}`,
            };
        }
        if (f.isExecutable(p)) {
            return { ok: true, path: p, source: 'setting' };
        }
        return {
            ok: false,
            message: `policyctl.path is "${configured}", but no executable file is there. ${exports.INSTALL_HINT}`,
        };
    }
    const found = searchPath('policyctl', input.env, input.platform, f);
    if (found) {
        return { ok: true, path: found, source: 'PATH' };
    }
    return { ok: false, message: `policyctl was not found on PATH. ${exports.INSTALL_HINT}` };
}
/** The first executable `name` in the directories of PATH (with PATHEXT on Windows). */
function searchPath(name, env, platform, f = exports.realFs) {
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
function parseVersion(output) {
    const m = /^\s*policyctl\s+v?(\d+)\.(\d+)\.(\d+)(?:[-+][0-9A-Za-z.+-]*)?\s*$/m.exec(output);
    if (!m) {
        return undefined;
    }
    return [Number(m[1]), Number(m[2]), Number(m[3])];
}
function compareVersions(a, b) {
    for (let i = 0; i < 3; i++) {
        const d = (a[i] ?? 0) - (b[i] ?? 0);
        if (d !== 0) {
            return d < 0 ? -1 : 1;
        }
    }
    return 0;
}
/** Judge the output of `<bin> --version` against [`MIN_VERSION`]. */
function checkVersion(output, bin, minimum = exports.MIN_VERSION) {
    const v = parseVersion(output);
    const min = parseVersion(`policyctl ${minimum}`);
    if (!v) {
        const got = output.trim().split(/\r?\n/)[0] ?? '';
        return {
            ok: false,
            message: `"${bin} --version" printed ${got === '' ? 'nothing' : `"${got}"`}, not "policyctl X.Y.Z": ` +
                `is it policyctl? ${exports.INSTALL_HINT}`,
        };
    }
    const version = v.join('.');
    if (compareVersions(v, min) < 0) {
        return {
            ok: false,
            message: `${bin} is policyctl ${version}; this extension needs ${minimum} or newer. ` +
                `Update it (\`cargo install --path .\` in an up-to-date checkout) or set policyctl.path.`,
        };
    }
    return { ok: true, version };
}
/** Run `<bin> --version` (5 s at most) and check it. */
function probeVersion(bin, timeoutMs = 5000) {
    return new Promise((resolve) => {
        (0, child_process_1.execFile)(bin, ['--version'], { timeout: timeoutMs, windowsHide: true }, (err, stdout, stderr) => {
            if (err && !stdout) {
                const code = err.code;
                const why = code === 'ENOENT'
                    ? 'it does not exist'
                    : code === 'EACCES'
                        ? 'it is not executable'
                        : err.killed
                            ? `it did not answer within ${timeoutMs} ms`
                            : (stderr || err.message).trim();
                resolve({ ok: false, message: `Could not run "${bin} --version": ${why}. ${exports.INSTALL_HINT}` });
                return;
            }
            resolve(checkVersion(String(stdout), bin));
        });
    });
}
function optString(v, env, folder) {
    return typeof v === 'string' && v.trim() !== '' ? expandPath(v, env, folder) : undefined;
}
/**
 * The settings to send to the server: kernels without a `btf` are dropped (with a warning),
 * `~`, `${workspaceFolder}` and `${env:X}` are expanded, relative paths are left for the server
 * (it resolves them against the workspace root), and an unset `hostKernel` is left out so the
 * server's default applies (the host only when no kernel is listed).
 */
function toServerSettings(raw, env = process.env, workspaceFolder) {
    const warnings = [];
    const kernels = [];
    const list = raw.kernels ?? [];
    if (!Array.isArray(list)) {
        warnings.push('policyctl.kernels is not an array; ignored.');
    }
    else {
        list.forEach((k, i) => {
            if (typeof k === 'string' && k.trim() !== '') {
                kernels.push({ btf: expandPath(k, env, workspaceFolder) });
                return;
            }
            if (typeof k !== 'object' || k === null) {
                warnings.push(`policyctl.kernels[${i}] is not an object; ignored.`);
                return;
            }
            const o = k;
            const btf = optString(o.btf, env, workspaceFolder);
            if (!btf) {
                warnings.push(`policyctl.kernels[${i}] has no "btf"; ignored.`);
                return;
            }
            const out = { btf };
            const name = typeof o.name === 'string' && o.name.trim() !== '' ? o.name.trim() : undefined;
            if (name)
                out.name = name;
            const config = optString(o.config, env, workspaceFolder);
            if (config)
                out.config = config;
            const ei = optString(o.errorInjection, env, workspaceFolder);
            if (ei)
                out.errorInjection = ei;
            if (Array.isArray(o.modules)) {
                const mods = o.modules
                    .map((m) => optString(m, env, workspaceFolder))
                    .filter((m) => m !== undefined);
                if (mods.length > 0)
                    out.modules = mods;
            }
            kernels.push(out);
        });
    }
    const settings = { kernels };
    if (typeof raw.hostKernel === 'boolean') {
        settings.hostKernel = raw.hostKernel;
    }
    else if (raw.hostKernel !== undefined && raw.hostKernel !== null) {
        warnings.push('policyctl.hostKernel is not true or false; ignored.');
    }
    if (typeof raw.debounceMs === 'number' && Number.isFinite(raw.debounceMs) && raw.debounceMs >= 0) {
        settings.debounceMs = Math.round(raw.debounceMs);
    }
    return { settings, warnings };
}
/** The initializationOptions: the settings under `policyctl`. */
function initializationOptions(s) {
    return { policyctl: s };
}
/** Whether the server will also use the running kernel (its rule: unset = only if no kernel). */
function usesHost(s) {
    return s.hostKernel ?? s.kernels.length === 0;
}
/** A kernel's short name: its `name`, else its BTF file name without `.btf`/`.zst`/`.xz`. */
function kernelLabel(k) {
    if (k.name) {
        return k.name;
    }
    let base = k.btf.split(/[\\/]/).pop() ?? k.btf;
    for (;;) {
        const stripped = base.replace(/\.(zst|xz|gz|btf)$/, '');
        if (stripped === base || stripped === '')
            break;
        base = stripped;
    }
    return base;
}
/** The names of the kernels in use, the host's last ("host"). */
function kernelLabels(s) {
    const labels = s.kernels.map(kernelLabel);
    if (usesHost(s)) {
        labels.push('host');
    }
    return labels;
}
/** The status bar item: `policyctl: <kernels>` and whether the server runs. */
function statusFor(state, s, version) {
    const labels = kernelLabels(s);
    const kernels = labels.length === 0 ? 'no kernel' : shorten(labels);
    const icon = {
        starting: '$(sync~spin)',
        running: '$(check)',
        stopped: '$(debug-stop)',
        missing: '$(error)',
        failed: '$(error)',
    };
    const what = {
        starting: 'starting',
        running: 'running',
        stopped: 'stopped',
        missing: 'not found',
        failed: 'failed',
    };
    const text = state === 'missing' ? `${icon[state]} policyctl: not found` : `${icon[state]} policyctl: ${kernels}`;
    const lines = [
        `policyctl language server${version ? ` ${version}` : ''}: ${what[state]}`,
        `Kernels: ${labels.length === 0 ? 'none' : labels.join(', ')}`,
        'Click to show the kernels.',
    ];
    return { text, tooltip: lines.join('\n'), error: state === 'missing' || state === 'failed' };
}
function shorten(labels) {
    const max = 3;
    return labels.length <= max
        ? labels.join(', ')
        : `${labels.slice(0, max).join(', ')} +${labels.length - max}`;
}
/** The lines of the "Show Kernels" command. */
function describeKernels(s, state) {
    const lines = [];
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
//# sourceMappingURL=logic.js.map