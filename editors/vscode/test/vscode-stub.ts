// A tiny stand-in for the `vscode` module: enough of the API for the extension to activate and
// report a missing or too old binary, recording what it shows. Anything else is a dummy class
// (vscode-languageclient extends some of VS Code's classes when it loads).

export interface Recorded {
  errors: string[];
  warnings: string[];
  commands: Map<string, (...args: unknown[]) => unknown>;
  statusItems: Array<{ text: string; tooltip?: string; backgroundColor?: unknown; command?: string; visible: boolean }>;
  output: string[];
  config: Record<string, unknown>;
  configListeners: Array<(e: { affectsConfiguration(s: string): boolean }) => void>;
}

export const recorded: Recorded = {
  errors: [],
  warnings: [],
  commands: new Map(),
  statusItems: [],
  output: [],
  config: {},
  configListeners: [],
};

class Disposable {
  constructor(private readonly f: () => void = () => undefined) {}
  dispose(): void {
    this.f();
  }
  static from(...ds: Array<{ dispose(): unknown }>): Disposable {
    return new Disposable(() => ds.forEach((d) => d.dispose()));
  }
}

const api: Record<string, unknown> = {
  recorded,
  Disposable,
  StatusBarAlignment: { Left: 1, Right: 2 },
  ThemeColor: class ThemeColor {
    constructor(public readonly id: string) {}
  },
  Uri: {
    parse: (s: string) => ({ toString: () => s, scheme: s.split(':')[0] }),
    file: (p: string) => ({ fsPath: p, scheme: 'file', toString: () => `file://${p}` }),
  },
  EventEmitter: class EventEmitter {
    event = () => new Disposable();
    fire(): void {}
    dispose(): void {}
  },
  window: {
    createOutputChannel: (name: string) => ({
      name,
      append: (s: string) => recorded.output.push(s),
      appendLine: (s: string) => recorded.output.push(s),
      show: () => undefined,
      clear: () => undefined,
      dispose: () => undefined,
    }),
    createStatusBarItem: () => {
      const item = {
        text: '',
        tooltip: undefined as string | undefined,
        backgroundColor: undefined as unknown,
        command: undefined as string | undefined,
        name: '',
        visible: false,
        show() {
          item.visible = true;
        },
        hide() {
          item.visible = false;
        },
        dispose() {},
      };
      recorded.statusItems.push(item);
      return item;
    },
    showErrorMessage: async (m: string) => {
      recorded.errors.push(m);
      return undefined;
    },
    showWarningMessage: async (m: string) => {
      recorded.warnings.push(m);
      return undefined;
    },
    showInformationMessage: async () => undefined,
    showQuickPick: async () => undefined,
  },
  commands: {
    registerCommand: (id: string, f: (...args: unknown[]) => unknown) => {
      recorded.commands.set(id, f);
      return new Disposable(() => recorded.commands.delete(id));
    },
    executeCommand: async () => undefined,
  },
  workspace: {
    workspaceFolders: undefined,
    getConfiguration: (section: string) => ({
      get: <T>(key: string, dflt?: T) => {
        const v = recorded.config[`${section}.${key}`];
        return (v === undefined ? dflt : v) as T;
      },
    }),
    onDidChangeConfiguration: (f: (e: { affectsConfiguration(s: string): boolean }) => void) => {
      recorded.configListeners.push(f);
      return new Disposable();
    },
  },
  env: { openExternal: async () => true },
};

// Unknown names: a dummy class (also usable as an enum-like object).
module.exports = new Proxy(api, {
  get(target, prop) {
    if (typeof prop === 'string' && !(prop in target)) {
      target[prop] = class {};
    }
    return target[prop as string];
  },
});
