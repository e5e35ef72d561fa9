//! The server: open documents, the kernels, validation off the message loop, and the LSP
//! methods that hand each feature an [`Analysis`].
//!
//! # Documents
//!
//! Every open document keeps its text, its version, its line index, the report of its current
//! text (once computed) and the last report that had no YAML (`Y…`) error. Changes are applied
//! as they arrive (incremental ones through [`LineIndex`], in UTF-16 positions). The handlers of
//! `didOpen`/`didChange`/`didClose` never await before they have updated the document:
//! tower-lsp-server starts the handlers of messages in the order they arrive, so the edits are
//! applied in order even though handlers run concurrently.
//!
//! Only TracingPolicy documents are claimed ([`claims`]: one starts like a policy, from
//! `apiVersion: cilium.io/`): the others get no diagnostics, no completion, no hover, no code
//! action and no outline, so the server lives beside a general YAML server. A document keeps
//! its claim once made, while it is being typed, until it is plainly another object (another
//! `kind` or `apiVersion`). In a workspace that holds policies (a claimed document was opened,
//! or a bounded scan of the workspace folders found one), an empty YAML document, or one that
//! holds only the start of a policy's first line, is offered the header and the policy
//! skeletons in completion, and nothing else ([`crate::workspace`]).
//!
//! # Validation
//!
//! A change schedules a validation of the document [`Options::debounce`] after it (a newer
//! change cancels the pending one); opening a document or changing kernels validates at once.
//! The validator runs in `spawn_blocking`, never on the message loop, and cannot be stopped once
//! it runs, so a document has at most one validation running and one queued: a validation due
//! while another of the same document runs is queued, and the queued one validates the text
//! current when it starts (never an older one). At most [`Options::validations`] documents are
//! validated at once. A result is published only if, right before publishing, it is still the
//! result of the document's current text and kernels (a newer edit drops it); publishing is
//! serialised, so a stale result is never published over a newer one.
//!
//! # Requests
//!
//! Completion, hover, code actions and the outline read a snapshot: the current text, the report
//! of exactly that text if it is there (else none: nothing is computed synchronously), the last
//! good report and the kernels. They run in `spawn_blocking` too, so a slow request never blocks
//! the loop, and a cancelled one (`$/cancelRequest`) is dropped with its result.
//!
//! # Kernels
//!
//! From `initializationOptions` or `workspace/didChangeConfiguration`, under `policyctl` (see
//! [`Settings`]); the host's kernel by default. They are loaded in parallel off the loop, once:
//! the same kernel in a later configuration is reused, and every document shares them. A kernel
//! that fails to load is reported with `window/showMessage`, and the others are used.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use policyctl_validator::config::{self, Config};
use policyctl_validator::kernel::set::{spec_relative_to, KernelSource};
use policyctl_validator::kernel::{self as kernel_facts, Kernel, KernelSpec};
use policyctl_validator::{
    check_source_configured, Code, FileReport, Selection, Severity, SourceFile, Span,
};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    CodeActionKind, CodeActionOptions, CodeActionOrCommand, CodeActionParams,
    CodeActionProviderCapability, CodeActionResponse, CodeDescription, CompletionOptions,
    CompletionParams, CompletionResponse, ConfigurationItem, Diagnostic,
    DiagnosticRelatedInformation, DiagnosticSeverity, DidChangeConfigurationParams,
    DidChangeTextDocumentParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams,
    DocumentSymbolParams, DocumentSymbolResponse, Hover, HoverParams, HoverProviderCapability,
    InitializeParams, InitializeResult, InitializedParams, Location, MessageType, NumberOrString,
    OneOf, Position, PositionEncodingKind, ServerCapabilities, ServerInfo,
    TextDocumentContentChangeEvent, TextDocumentSyncCapability, TextDocumentSyncKind,
    TextDocumentSyncOptions, Uri,
};
use tower_lsp_server::{Client, LanguageServer, LspService, Server};

use crate::analysis::Analysis;
use crate::convert::LineIndex;

/// The editing features, called through their signatures only.
mod features {
    pub(super) use crate::actions::code_actions;
    pub(super) use crate::completion::{complete_header, complete_list, warm_up};
    pub(super) use crate::hover::hover;
    pub(super) use crate::symbols::document_symbols;
}

/// Longest a completion or hover waits for the first kernels to load (a kernel's BTF loads in
/// about a second; the host's may take longer on a busy machine).
const FIRST_KERNELS_WAIT: Duration = Duration::from_secs(10);

/// Where a code's explanation is published: `<this>#<code in lowercase>`.
pub const CODES_URL: &str = concat!(env!("CARGO_PKG_REPOSITORY"), "/blob/main/docs/codes.md");

/// How the server runs; [`Options::default`] is what `policyctl lsp` uses.
#[derive(Clone, Debug)]
pub struct Options {
    /// How long after the last change of a document it is validated (a client may override it
    /// with the `debounceMs` setting).
    pub debounce: Duration,
    /// How many messages tower-lsp-server handles at once (requests waiting on a blocking task
    /// count), so a few slow requests never hold up the others.
    pub concurrency: usize,
    /// How many documents are validated at once (one document is never validated twice at
    /// once): the validator's memory is bounded by this many validations.
    pub validations: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            debounce: Duration::from_millis(30),
            concurrency: 32,
            validations: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

/// Serve LSP over standard input and output until the client exits.
pub async fn serve_stdio() {
    serve_stdio_with(Options::default()).await;
}

/// [`serve_stdio`] with other [`Options`].
pub async fn serve_stdio_with(options: Options) {
    serve_with(std::io::stdin(), tokio::io::stdout(), options).await;
}

/// Serve LSP over any byte streams, behind the framing filter of [`crate::transport`] (`input`
/// is read on a thread of its own). Returns when the client exits or its input ends.
pub async fn serve_with<R, W>(input: R, output: W, options: Options)
where
    R: std::io::Read + Send + 'static,
    W: tokio::io::AsyncWrite + Unpin,
{
    let concurrency = options.concurrency.max(1);
    let (service, socket) = LspService::new(|client| Backend::new(client, options));
    crate::transport::serve_filtered(input, output, |server_in, server_out| {
        Server::new(server_in, server_out, socket)
            .concurrency_level(concurrency)
            .serve(service)
    })
    .await;
}

/// The settings under `policyctl` (in `initializationOptions`, or in the settings of
/// `workspace/didChangeConfiguration`):
///
/// ```json
/// { "kernels": [ { "btf": "/path/6.12.btf.zst", "name": "prod", "config": "/path/config.gz",
///                  "errorInjection": "/path/list", "modules": ["/path/mod.ko"] } ],
///   "hostKernel": true, "debounceMs": 30 }
/// ```
///
/// `hostKernel` defaults to true when no kernel is listed, false otherwise. Relative paths are
/// relative to the workspace root. When these settings list no kernel, the kernels of the
/// project file (`policyctl.toml`, found above the workspace root) are used; its `select`,
/// `ignore` and `[severity]` always apply, so the editor shows what `policyctl check` prints.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct Settings {
    /// Kernels to check against, by their BTF.
    pub kernels: Vec<KernelSetting>,
    /// Also (or only) the running kernel.
    pub host_kernel: Option<bool>,
    /// Overrides [`Options::debounce`], in milliseconds.
    pub debounce_ms: Option<u64>,
}

/// One kernel of [`Settings::kernels`].
#[derive(Clone, Debug, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub struct KernelSetting {
    /// The BTF: raw, zstd or ELF.
    pub btf: PathBuf,
    /// The name diagnostics give it (default: from the file's name).
    #[serde(default)]
    pub name: Option<String>,
    /// Its build configuration (`.config`, plain or gzip).
    #[serde(default)]
    pub config: Option<PathBuf>,
    /// Its error-injection list.
    #[serde(default)]
    pub error_injection: Option<PathBuf>,
    /// Split BTF of its modules.
    #[serde(default)]
    pub modules: Vec<PathBuf>,
}

impl KernelSetting {
    /// The spec of this kernel (paths as written).
    fn spec(&self) -> KernelSpec {
        KernelSpec {
            name: self.name.clone(),
            btf: self.btf.clone(),
            error_injection: self.error_injection.clone(),
            config: self.config.clone(),
            modules: self.modules.clone(),
        }
    }
}

impl Settings {
    /// The settings in a JSON value: under `policyctl` if it has that key, else the value itself
    /// if it has one of the settings' keys; `Ok(None)` when it has no policyctl settings.
    pub fn from_json(value: &Value) -> std::result::Result<Option<Settings>, String> {
        let inner = match value.get("policyctl") {
            Some(v) => v,
            None if ["kernels", "hostKernel", "debounceMs"]
                .iter()
                .any(|k| value.get(k).is_some()) =>
            {
                value
            }
            None => return Ok(None),
        };
        if inner.is_null() {
            return Ok(None);
        }
        Settings::deserialize(inner)
            .map(Some)
            .map_err(|e| format!("policyctl settings: {e}"))
    }

    fn wants_host(&self) -> bool {
        self.host_kernel.unwrap_or(self.kernels.is_empty())
    }
}

pub use crate::workspace::claims;
use crate::workspace::{disclaims, header_in_progress};

/// The validator's diagnostics as LSP diagnostics, positions counted in `lines` (the line index
/// of the report's text).
pub fn to_lsp_diagnostics(uri: &Uri, report: &FileReport, lines: &LineIndex) -> Vec<Diagnostic> {
    let text = report.source.text();
    report
        .diagnostics
        .iter()
        .map(|d| to_lsp_diagnostic(uri, text, lines, d))
        .collect()
}

/// What is published for a report (positions counted in `lines`, the line index of its
/// text): its diagnostics and, where a YAML error stopped the checks of a document (from two
/// lines above the error, where the validator stops reporting, to the next `---`), the
/// diagnostics of `last_good` (the last report without YAML errors) that fall there on text
/// the edits since did not touch, each saying it is kept and which line broke (and with
/// `"kept": true` in its `data`).
pub fn published_diagnostics(
    uri: &Uri,
    report: &FileReport,
    lines: &LineIndex,
    last_good: Option<&FileReport>,
) -> Vec<Diagnostic> {
    let src = &report.source;
    let text = src.text();
    let mut out = Vec::with_capacity(report.diagnostics.len());
    // (from, to, line of the error) of each document a YAML error stopped.
    let mut stopped: Vec<(usize, usize, usize)> = Vec::new();
    for d in &report.diagnostics {
        out.push(to_lsp_diagnostic(uri, text, lines, d));
        if matches!(d.code, Code::Y001 | Code::Y003) {
            let line = src.position(d.span.start).line;
            let from = src.offset_of(line.saturating_sub(2).max(1), 0);
            let to = document_end(text, d.span.start);
            if !stopped
                .iter()
                .any(|&(a, b, _)| a <= d.span.start && d.span.start < b)
            {
                stopped.push((from, to, line));
            }
        }
    }
    let Some(good) = last_good else { return out };
    if stopped.is_empty() {
        return out;
    }
    let old = good.source.text();
    let (prefix, suffix) = unchanged_ends(old, text);
    let map = |span: Span| -> Option<Span> {
        if span.end <= prefix {
            Some(span)
        } else if span.start >= old.len() - suffix {
            let shift = |o: usize| o + text.len() - old.len();
            Some(Span::new(shift(span.start), shift(span.end)))
        } else {
            None
        }
    };
    for d in &good.diagnostics {
        if d.code.as_str().starts_with('Y') {
            continue;
        }
        let Some(span) = map(d.span) else { continue };
        let Some(&(_, _, line)) = stopped
            .iter()
            .find(|&&(from, to, _)| from <= span.start && span.end <= to)
        else {
            continue;
        };
        let mut kept = d.clone();
        kept.span = span;
        kept.related.retain_mut(|r| match map(r.span) {
            Some(s) => {
                r.span = s;
                true
            }
            None => false,
        });
        kept.message = format!(
            "{} (kept from the last version that parsed: the YAML error on line {line} stops the checks here)",
            kept.message
        );
        let mut lsp = to_lsp_diagnostic(uri, text, lines, &kept);
        if let Some(data) = lsp.data.as_mut() {
            data["kept"] = Value::Bool(true);
        }
        out.push(lsp);
    }
    out
}

/// Where the document holding `at` ends: the start of the next `---` line, or the text's end.
fn document_end(text: &str, at: usize) -> usize {
    let mut pos = text[..at.min(text.len())].rfind('\n').map_or(0, |i| i + 1);
    for line in text[pos..].split_inclusive('\n') {
        if pos > at
            && line.strip_prefix("---").is_some_and(|r| {
                r.trim_end_matches(['\r', '\n']).is_empty() || r.starts_with([' ', '\t'])
            })
        {
            return pos;
        }
        pos += line.len();
    }
    text.len()
}

/// The lengths of the common prefix and suffix of two texts (not overlapping, on character
/// boundaries).
fn unchanged_ends(old: &str, new: &str) -> (usize, usize) {
    let (a, b) = (old.as_bytes(), new.as_bytes());
    let mut prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    while !old.is_char_boundary(prefix) || !new.is_char_boundary(prefix) {
        prefix -= 1;
    }
    let room = a.len().min(b.len()) - prefix;
    let mut suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take(room)
        .take_while(|(x, y)| x == y)
        .count();
    while !old.is_char_boundary(old.len() - suffix) || !new.is_char_boundary(new.len() - suffix) {
        suffix -= 1;
    }
    (prefix, suffix)
}

/// One validator diagnostic of `text` (indexed by `lines`) as published: the range, severity,
/// code with the link to its explanation, `policyctl` as source, the message followed by the
/// help line and the kernels it holds for, related locations, and `data` =
/// `{"code": ..., "help": ...}`.
pub fn to_lsp_diagnostic(
    uri: &Uri,
    text: &str,
    lines: &LineIndex,
    d: &policyctl_validator::Diagnostic,
) -> Diagnostic {
    let code = d.code.as_str();
    let mut message = d.message.clone();
    if let Some(help) = &d.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    if !d.kernels.is_empty() {
        message.push_str("\nkernels: ");
        message.push_str(&d.kernels.join(", "));
    }
    let related: Vec<DiagnosticRelatedInformation> = d
        .related
        .iter()
        .map(|r| DiagnosticRelatedInformation {
            location: Location::new(uri.clone(), lines.range(text, r.span)),
            message: r.message.clone(),
        })
        .collect();
    Diagnostic {
        range: lines.range(text, d.span),
        severity: Some(match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
            Severity::Info => DiagnosticSeverity::INFORMATION,
        }),
        code: Some(NumberOrString::String(code.to_string())),
        code_description: code_href(code).map(|href| CodeDescription { href }),
        source: Some("policyctl".to_string()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data: Some(serde_json::json!({ "code": code, "help": d.help })),
    }
}

/// The URL of a code's explanation.
pub fn code_href(code: &str) -> Option<Uri> {
    format!("{CODES_URL}#{}", code.to_ascii_lowercase())
        .parse()
        .ok()
}

/// One open document.
struct Document {
    /// The client's version of `text`.
    version: i32,
    /// Our own revision of `text`, unique across documents and never reused.
    rev: u64,
    text: Arc<String>,
    lines: Arc<LineIndex>,
    /// A TracingPolicy document, or one being typed as one (kept until it is plainly another
    /// object: [`crate::workspace`]).
    claimed: bool,
    /// The report of the text at a revision (current when it is `rev`).
    report: Option<(u64, Arc<FileReport>)>,
    /// The last report with no YAML error, and the revision it is of.
    last_good: Option<(u64, Arc<FileReport>)>,
    /// The last published (revision, kernel generation).
    published: Option<(u64, u64)>,
    /// The client shows diagnostics of ours for it.
    shows_diagnostics: bool,
    /// The debounce of the next validation.
    timer: Option<JoinHandle<()>>,
    /// `rev` when it was opened: tells this document from one opened again under its URI.
    opened: u64,
    /// A validation of it runs (or waits for kernels or its turn).
    running: bool,
    /// A validation was due while one ran: the running one starts another when it ends.
    queued: bool,
}

impl Drop for Document {
    fn drop(&mut self) {
        if let Some(t) = self.timer.take() {
            t.abort();
        }
    }
}

/// The kernels in use, and their generation (bumped at each configuration change).
#[derive(Clone)]
struct KernelSet {
    generation: u64,
    kernels: Arc<kernel_facts::KernelSet>,
    /// The codes reported, from the project file.
    selection: Arc<Selection>,
}

/// Everything a request reads, owned, so it can move to a blocking task.
struct Snapshot {
    /// The document is not claimed, only empty or holding the start of a policy's header in a
    /// workspace that holds policies: completion of the header only.
    tentative: bool,
    text: Arc<String>,
    lines: Arc<LineIndex>,
    current: Option<Arc<FileReport>>,
    last_good: Option<Arc<FileReport>>,
    kernels: Arc<kernel_facts::KernelSet>,
}

impl Snapshot {
    fn analysis(&self) -> Analysis<'_> {
        Analysis {
            text: &self.text,
            lines: &self.lines,
            current: self.current.as_deref(),
            last_good: self.last_good.as_deref(),
            kernels: &self.kernels,
        }
    }

    fn offset(&self, pos: Position) -> usize {
        self.lines.offset(&self.text, pos)
    }
}

struct Inner {
    client: Client,
    docs: Mutex<HashMap<Uri, Document>>,
    next_rev: AtomicU64,
    debounce_ms: AtomicU64,
    /// `None` until the first kernels are loaded.
    kernels: watch::Sender<Option<KernelSet>>,
    /// Loaded kernels, for reuse by the next configuration.
    kernel_cache: Mutex<HashMap<KernelSource, Arc<Kernel>>>,
    /// The latest configuration asked for; an older load finishing late is dropped.
    config_generation: AtomicU64,
    /// The workspace root, for relative paths in the settings.
    root: Mutex<Option<PathBuf>>,
    /// The workspace folders (the root when the client sends none).
    folders: Mutex<Vec<PathBuf>>,
    /// The workspace holds a policy: a claimed document was opened, or the scan of the
    /// folders found one ([`crate::workspace::holds_policies`]).
    workspace_policies: std::sync::atomic::AtomicBool,
    /// The scan of the workspace folders is over (or was not needed).
    scanned: watch::Sender<bool>,
    /// The client answers `workspace/configuration`.
    pull_configuration: std::sync::atomic::AtomicBool,
    /// The settings last applied.
    settings: Mutex<Option<Settings>>,
    /// The project file (`policyctl.toml`) found above the workspace root (or, without one,
    /// above the first policy opened).
    project: Mutex<Option<Arc<Config>>>,
    /// The project file was looked for.
    project_searched: std::sync::atomic::AtomicBool,
    /// Held while publishing, so results go out in the order they were checked.
    publish: tokio::sync::Mutex<()>,
    /// One permit per validation running ([`Options::validations`]).
    validations: tokio::sync::Semaphore,
}

/// The `LanguageServer` of `policyctl lsp`.
pub struct Backend {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Backend {
    /// A server talking to `client`.
    pub fn new(client: Client, options: Options) -> Backend {
        let (kernels, _) = watch::channel(None);
        Backend {
            inner: Arc::new(Inner {
                client,
                docs: Mutex::new(HashMap::new()),
                next_rev: AtomicU64::new(1),
                debounce_ms: AtomicU64::new(options.debounce.as_millis() as u64),
                project: Mutex::new(None),
                project_searched: std::sync::atomic::AtomicBool::new(false),
                kernels,
                kernel_cache: Mutex::new(HashMap::new()),
                config_generation: AtomicU64::new(0),
                root: Mutex::new(None),
                folders: Mutex::new(Vec::new()),
                workspace_policies: std::sync::atomic::AtomicBool::new(false),
                scanned: watch::channel(false).0,
                pull_configuration: std::sync::atomic::AtomicBool::new(false),
                settings: Mutex::new(None),
                publish: tokio::sync::Mutex::new(()),
                validations: tokio::sync::Semaphore::new(options.validations.max(1)),
            }),
        }
    }
}

/// The one validation of a document that may run: it validates again while validations were
/// queued meanwhile, and clears the document's `running` when it ends, however it ends.
struct Running {
    inner: Arc<Inner>,
    uri: Uri,
    /// The document's `opened`.
    opened: u64,
    /// `running` was cleared (or the document is gone).
    done: bool,
}

impl Running {
    async fn run(mut self) {
        loop {
            self.inner.validate(&self.uri, self.opened).await;
            // Checking `queued` and clearing `running` under one lock: a validation due
            // meanwhile is either seen here or starts a run of its own.
            let mut docs = lock(&self.inner.docs);
            match docs.get_mut(&self.uri) {
                Some(d) if d.opened == self.opened => {
                    if d.queued {
                        continue;
                    }
                    d.running = false;
                }
                _ => {}
            }
            self.done = true;
            return;
        }
    }
}

impl Drop for Running {
    /// A run cancelled (the runtime ending) or panicking leaves no document marked as running.
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if let Some(d) = lock(&self.inner.docs)
            .get_mut(&self.uri)
            .filter(|d| d.opened == self.opened)
        {
            d.running = false;
        }
    }
}

impl Inner {
    /// An unclaimed text gets completion of a policy's header: it is empty or holds the start
    /// of one, in a workspace that holds policies.
    fn tentative(&self, text: &str) -> bool {
        self.workspace_policies.load(Ordering::Relaxed) && header_in_progress(text)
    }

    fn rev(&self) -> u64 {
        self.next_rev.fetch_add(1, Ordering::Relaxed)
    }

    /// Tell the user, without waiting, that the project file cannot be used and why.
    fn project_unusable(&self, why: &dyn std::fmt::Display) {
        let client = self.client.clone();
        let text = format!("policyctl: {why}; the project file is not used");
        tokio::spawn(async move {
            client.show_message(MessageType::WARNING, text).await;
        });
    }

    /// Wait (at most [`FIRST_KERNELS_WAIT`]) until the kernels of the first configuration are
    /// loaded: a completion or hover asked for while they load would otherwise answer without
    /// the kernel's functions and prototypes (only the syscall table), as if they did not exist.
    async fn first_kernels(&self) {
        let mut loaded = self.kernels.subscribe();
        let _ = tokio::time::timeout(FIRST_KERNELS_WAIT, loaded.wait_for(|k| k.is_some())).await;
    }

    fn current_kernels(&self) -> Arc<kernel_facts::KernelSet> {
        self.kernels.borrow().as_ref().map_or_else(
            || Arc::new(kernel_facts::KernelSet::new()),
            |k| k.kernels.clone(),
        )
    }

    /// Schedule a validation of `doc` after `delay`, replacing any pending one. An unclaimed
    /// document is not validated, and loses the diagnostics it showed.
    fn schedule(self: &Arc<Self>, uri: &Uri, doc: &mut Document, delay: Duration) {
        if let Some(t) = doc.timer.take() {
            t.abort();
        }
        if !doc.claimed {
            if doc.shows_diagnostics {
                doc.shows_diagnostics = false;
                let (inner, uri, version) = (self.clone(), uri.clone(), doc.version);
                tokio::spawn(async move {
                    let _order = inner.publish.lock().await;
                    inner
                        .client
                        .publish_diagnostics(uri, Vec::new(), Some(version))
                        .await;
                });
            }
            return;
        }
        if delay.is_zero() {
            self.start(uri, doc);
            return;
        }
        let (inner, uri, rev) = (self.clone(), uri.clone(), doc.rev);
        doc.timer = Some(tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let mut docs = lock(&inner.docs);
            // A newer change aborts this timer; the check covers a race with it.
            if let Some(doc) = docs.get_mut(&uri).filter(|d| d.rev == rev) {
                doc.timer = None;
                inner.start(&uri, doc);
            }
        }));
    }

    /// Validate `doc` now, or after the validation of it that runs.
    fn start(self: &Arc<Self>, uri: &Uri, doc: &mut Document) {
        if doc.running {
            doc.queued = true;
            return;
        }
        doc.running = true;
        doc.queued = false;
        let running = Running {
            inner: self.clone(),
            uri: uri.clone(),
            opened: doc.opened,
            done: false,
        };
        tokio::spawn(running.run());
    }

    /// Validate the text the document (the one opened at `opened`) has now, and publish the
    /// result if it is still current when done.
    async fn validate(&self, uri: &Uri, opened: u64) {
        // The first kernels: diagnostics without them would be replaced a moment later.
        let mut rx = self.kernels.subscribe();
        let Ok(set) = rx.wait_for(Option::is_some).await.map(|s| s.clone()) else {
            return;
        };
        let Some(set) = set else { return };
        let Ok(_permit) = self.validations.acquire().await else {
            return;
        };
        // The text now, not when the validation was asked for: a queued validation never
        // checks a text that is already stale.
        let (rev, text, lines, version) = {
            let mut docs = lock(&self.docs);
            match docs.get_mut(uri) {
                Some(d) if d.opened == opened => {
                    d.queued = false;
                    (d.rev, d.text.clone(), d.lines.clone(), d.version)
                }
                _ => return,
            }
        };
        let kernels = set.kernels.clone();
        let selection = set.selection.clone();
        let name = uri.as_str().to_string();
        let checked = tokio::task::spawn_blocking(move || {
            check_source_configured(SourceFile::new(name, text.as_str()), &kernels, &selection)
        })
        .await;
        drop(_permit);
        let report = match checked {
            Ok(r) => Arc::new(r),
            Err(e) => {
                if e.is_panic() {
                    self.client
                        .log_message(
                            MessageType::ERROR,
                            format!("policyctl: the validator failed on {}", uri.as_str()),
                        )
                        .await;
                }
                return;
            }
        };
        let last_good: Option<Arc<FileReport>>;
        {
            // A newer text: this result is dropped before it costs more (only kept as the last
            // good report, for completion).
            let mut docs = lock(&self.docs);
            let Some(doc) = docs.get_mut(uri).filter(|d| d.opened == opened) else {
                return;
            };
            let good = !report
                .diagnostics
                .iter()
                .any(|d| d.code.as_str().starts_with('Y'));
            if good && doc.last_good.as_ref().is_none_or(|(r, _)| *r <= rev) {
                doc.last_good = Some((rev, report.clone()));
            }
            if doc.rev != rev {
                return;
            }
            last_good = doc.last_good.as_ref().map(|(_, r)| r.clone());
        }
        let diagnostics = published_diagnostics(uri, &report, &lines, last_good.as_deref());
        let _order = self.publish.lock().await;
        {
            let mut docs = lock(&self.docs);
            let Some(doc) = docs.get_mut(uri) else {
                return;
            };
            let generation = self.kernels.borrow().as_ref().map(|k| k.generation);
            // Right before publishing: the result must be of the current text and kernels.
            if doc.rev != rev || generation != Some(set.generation) {
                return;
            }
            doc.report = Some((rev, report));
            if doc.published == Some((rev, set.generation)) {
                return;
            }
            doc.published = Some((rev, set.generation));
            doc.shows_diagnostics = !diagnostics.is_empty();
        }
        self.client
            .publish_diagnostics(uri.clone(), diagnostics, Some(version))
            .await;
    }

    /// What a request reads; `None` for unknown and unclaimed documents (but for `tentative`,
    /// tentative ones).
    fn snapshot_with(&self, uri: &Uri, tentative: bool) -> Option<Snapshot> {
        let docs = lock(&self.docs);
        let doc = docs.get(uri)?;
        if !(doc.claimed || (tentative && self.tentative(&doc.text))) {
            return None;
        }
        let current = doc
            .report
            .as_ref()
            .filter(|(r, _)| *r == doc.rev)
            .map(|(_, rep)| rep.clone());
        Some(Snapshot {
            tentative: !doc.claimed,
            text: doc.text.clone(),
            lines: doc.lines.clone(),
            current,
            last_good: doc.last_good.as_ref().map(|(_, r)| r.clone()),
            kernels: self.current_kernels(),
        })
    }

    /// Run `f` on a document's snapshot in a blocking task; `None` for unknown or unclaimed
    /// documents, or when `f` panicked.
    async fn with_snapshot<T: Send + 'static>(
        &self,
        uri: &Uri,
        f: impl FnOnce(&Snapshot) -> T + Send + 'static,
    ) -> Option<T> {
        self.with_snapshot_of(uri, false, f).await
    }

    /// [`Inner::with_snapshot`], and for `tentative` also for a tentative document.
    async fn with_snapshot_of<T: Send + 'static>(
        &self,
        uri: &Uri,
        tentative: bool,
        f: impl FnOnce(&Snapshot) -> T + Send + 'static,
    ) -> Option<T> {
        let snap = self.snapshot_with(uri, tentative)?;
        tokio::task::spawn_blocking(move || f(&snap)).await.ok()
    }

    /// Apply new settings: debounce at once; kernels loaded off the loop, then every claimed
    /// document validated again.
    /// Apply the last settings again (the project file changed).
    fn reconfigure(self: &Arc<Self>) {
        let settings = lock(&self.settings).take().unwrap_or_default();
        self.configure(settings);
    }

    fn configure(self: &Arc<Self>, settings: Settings) {
        {
            let mut last = lock(&self.settings);
            if last.as_ref() == Some(&settings) {
                return; // Clients send the whole section when any setting changes.
            }
            *last = Some(settings.clone());
        }
        if let Some(ms) = settings.debounce_ms {
            self.debounce_ms.store(ms.min(10_000), Ordering::Relaxed);
        }
        let generation = self.config_generation.fetch_add(1, Ordering::SeqCst) + 1;
        let inner = self.clone();
        tokio::spawn(async move {
            let project = lock(&inner.project).clone();
            let settings = with_project(settings, project.as_deref());
            let selection = Arc::new(project.map(|p| p.selection.clone()).unwrap_or_default());
            let (kernels, failures) = inner.load_kernels(&settings).await;
            for (level, why) in failures {
                let why = format!("policyctl: {why}");
                if level == MessageType::WARNING {
                    inner.client.show_message(level, why).await;
                } else {
                    inner.client.log_message(level, why).await;
                }
            }
            if inner.config_generation.load(Ordering::SeqCst) != generation {
                return; // A newer configuration came meanwhile.
            }
            inner.kernels.send_modify(|set| {
                let next = set.as_ref().map_or(1, |s| s.generation + 1);
                *set = Some(KernelSet {
                    generation: next,
                    kernels: Arc::new(kernels),
                    selection,
                });
            });
            {
                let mut docs = lock(&inner.docs);
                for (uri, doc) in docs.iter_mut() {
                    if doc.claimed {
                        inner.schedule(uri, doc, Duration::ZERO);
                    }
                }
            }
            // The completion's name table of these kernels, before the first `call:` needs it.
            let kernels = inner.current_kernels();
            let _ = tokio::task::spawn_blocking(move || features::warm_up(&kernels)).await;
        });
    }

    /// Load the kernels of `settings` in parallel, reusing those already loaded. Returns the
    /// kernels in order, and what to tell the user (warnings: kernels that failed to load).
    async fn load_kernels(
        &self,
        settings: &Settings,
    ) -> (kernel_facts::KernelSet, Vec<(MessageType, String)>) {
        let root = lock(&self.root).clone();
        let mut keys: Vec<KernelSource> = settings
            .kernels
            .iter()
            .map(|k| KernelSource::Spec(spec_relative_to(&k.spec(), root.as_deref())))
            .collect();
        if settings.wants_host() {
            keys.push(KernelSource::Host);
        }
        let cache = lock(&self.kernel_cache).clone();
        let tasks: Vec<_> = keys
            .iter()
            .map(|key| {
                let (key, cached) = (key.clone(), cache.get(key).cloned());
                tokio::task::spawn_blocking(move || match cached {
                    Some(k) => Ok(Some(k)),
                    None => key
                        .load()
                        .map(|k| k.map(Arc::new))
                        .map_err(|e| e.to_string()),
                })
            })
            .collect();
        let mut kernels = kernel_facts::KernelSet::new();
        let mut failures = Vec::new();
        let mut loaded = HashMap::new();
        for (key, task) in keys.into_iter().zip(tasks) {
            match task.await {
                Ok(Ok(Some(k))) => {
                    if let Err(k) = kernels.push(k.clone()) {
                        let why = format!(
                            "two kernels are named {}; the second is ignored (give it a name)",
                            k.name
                        );
                        failures.push((MessageType::WARNING, why));
                        continue;
                    }
                    loaded.insert(key, k);
                }
                Ok(Ok(None)) => {
                    // Asked for, a warning; by default, a note in the log.
                    let level = if settings.host_kernel == Some(true) {
                        MessageType::WARNING
                    } else {
                        MessageType::INFO
                    };
                    let why = format!(
                        "this host has no {}: no checks against its kernel \
                         (list BTF files in the `policyctl.kernels` setting)",
                        policyctl_validator::kernel::HOST_BTF
                    );
                    failures.push((level, why));
                }
                Ok(Err(why)) => failures.push((
                    MessageType::WARNING,
                    format!("cannot load a kernel: {why}; checking without it"),
                )),
                Err(_) => failures.push((
                    MessageType::WARNING,
                    "cannot load a kernel: loading failed".to_string(),
                )),
            }
        }
        *lock(&self.kernel_cache) = loaded;
        (kernels, failures)
    }
}

/// The settings with the project file's kernels when the client's settings list none (the
/// client's settings win, as the command line's flags win over the file for `check`).
fn with_project(mut settings: Settings, project: Option<&Config>) -> Settings {
    let Some(project) = project else {
        return settings;
    };
    if settings.kernels.is_empty() {
        settings.kernels = project
            .kernels
            .iter()
            .map(|k| KernelSetting {
                btf: k.btf.clone(),
                name: k.name.clone(),
                config: k.config.clone(),
                error_injection: k.error_injection.clone(),
                modules: k.modules.clone(),
            })
            .collect();
    }
    settings
}

/// Apply one content change to a text and its line index.
fn apply_change(text: &mut String, lines: &mut LineIndex, change: TextDocumentContentChangeEvent) {
    match change.range {
        None => *text = change.text,
        Some(range) => {
            let a = lines.offset(text, range.start);
            let b = lines.offset(text, range.end);
            let (start, end) = (a.min(b), a.max(b));
            text.replace_range(start..end, &change.text);
        }
    }
    *lines = LineIndex::new(text);
}

/// True when `action` is of a kind `only` asks for (kinds nest: `refactor` covers
/// `refactor.rewrite`); everything when `only` is not given.
fn wanted(only: Option<&[CodeActionKind]>, action: &CodeActionOrCommand) -> bool {
    let Some(only) = only else { return true };
    let kind = match action {
        CodeActionOrCommand::CodeAction(a) => a.kind.as_ref().map(|k| k.as_str()).unwrap_or(""),
        CodeActionOrCommand::Command(_) => "",
    };
    only.iter().any(|o| {
        let o = o.as_str();
        kind == o || (kind.starts_with(o) && kind[o.len()..].starts_with('.'))
    })
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        #[allow(deprecated)] // `rootUri`: for clients that send no workspace folders.
        let root = params
            .workspace_folders
            .as_ref()
            .and_then(|f| f.first())
            .map(|f| &f.uri)
            .or(params.root_uri.as_ref())
            .and_then(|u| u.to_file_path().map(|p| p.into_owned()));
        let mut folders: Vec<PathBuf> = params
            .workspace_folders
            .iter()
            .flatten()
            .filter_map(|f| f.uri.to_file_path().map(|p| p.into_owned()))
            .collect();
        if folders.is_empty() {
            folders.extend(root.clone());
        }
        // The project file above the workspace root: the same kernels and codes as `check`.
        let start = root.clone().or_else(|| folders.first().cloned());
        self.inner
            .project_searched
            .store(start.is_some(), Ordering::SeqCst);
        match start.as_deref().map(config::discover).transpose() {
            Ok(project) => *lock(&self.inner.project) = project.flatten().map(Arc::new),
            Err(e) => self.inner.project_unusable(&e),
        }
        *lock(&self.inner.folders) = folders;
        *lock(&self.inner.root) = root;
        let pull = params
            .capabilities
            .workspace
            .as_ref()
            .and_then(|w| w.configuration)
            .unwrap_or(false);
        self.inner.pull_configuration.store(pull, Ordering::Relaxed);
        let settings = match params
            .initialization_options
            .as_ref()
            .map(Settings::from_json)
            .transpose()
        {
            Ok(s) => s.flatten().unwrap_or_default(),
            Err(why) => {
                let client = self.inner.client.clone();
                tokio::spawn(async move {
                    client
                        .show_message(MessageType::WARNING, format!("{why}; using the defaults"))
                        .await;
                });
                Settings::default()
            }
        };
        // Loading starts now, while the client finishes the handshake and opens documents.
        self.inner.configure(settings);
        Ok(InitializeResult {
            capabilities: ServerCapabilities {
                position_encoding: Some(PositionEncodingKind::UTF16),
                text_document_sync: Some(TextDocumentSyncCapability::Options(
                    TextDocumentSyncOptions {
                        open_close: Some(true),
                        change: Some(TextDocumentSyncKind::INCREMENTAL),
                        ..TextDocumentSyncOptions::default()
                    },
                )),
                completion_provider: Some(CompletionOptions {
                    trigger_characters: Some(
                        [":", " ", "-", "\""]
                            .iter()
                            .map(|s| s.to_string())
                            .collect(),
                    ),
                    resolve_provider: Some(false),
                    ..CompletionOptions::default()
                }),
                hover_provider: Some(HoverProviderCapability::Simple(true)),
                code_action_provider: Some(CodeActionProviderCapability::Options(
                    CodeActionOptions {
                        code_action_kinds: Some(vec![
                            CodeActionKind::QUICKFIX,
                            CodeActionKind::REFACTOR,
                        ]),
                        resolve_provider: Some(false),
                        ..CodeActionOptions::default()
                    },
                )),
                document_symbol_provider: Some(OneOf::Left(true)),
                ..ServerCapabilities::default()
            },
            server_info: Some(ServerInfo {
                name: "policyctl".to_string(),
                version: Some(env!("CARGO_PKG_VERSION").to_string()),
            }),
            offset_encoding: None,
        })
    }

    async fn initialized(&self, _: InitializedParams) {
        // Whether the workspace holds policies: an empty YAML file there is offered a
        // policy's skeleton. Bounded, off the loop, once.
        let inner = self.inner.clone();
        tokio::spawn(async move {
            let folders = lock(&inner.folders).clone();
            if folders.is_empty() || inner.workspace_policies.load(Ordering::Relaxed) {
                inner.scanned.send_replace(true);
                return;
            }
            let found =
                tokio::task::spawn_blocking(move || crate::workspace::holds_policies(&folders))
                    .await
                    .unwrap_or(false);
            if found {
                inner.workspace_policies.store(true, Ordering::Relaxed);
            }
            inner.scanned.send_replace(true);
        });
    }

    async fn shutdown(&self) -> Result<()> {
        let mut docs = lock(&self.inner.docs);
        for doc in docs.values_mut() {
            if let Some(t) = doc.timer.take() {
                t.abort();
            }
        }
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        // No await before the document is stored (see the module doc).
        let doc = params.text_document;
        let text = doc.text;
        let mut docs = lock(&self.inner.docs);
        let shows = docs.get(&doc.uri).is_some_and(|d| d.shows_diagnostics);
        let rev = self.inner.rev();
        let claimed = claims(&text);
        if claimed {
            self.inner.workspace_policies.store(true, Ordering::Relaxed);
        }
        let entry = docs.entry(doc.uri.clone()).insert_entry(Document {
            version: doc.version,
            rev,
            opened: rev,
            running: false,
            queued: false,
            lines: Arc::new(LineIndex::new(&text)),
            claimed,
            text: Arc::new(text),
            report: None,
            last_good: None,
            published: None,
            shows_diagnostics: shows,
            timer: None,
        });
        let document = entry.into_mut();
        self.inner.schedule(&doc.uri, document, Duration::ZERO);
        drop(docs);
        // Without a workspace root, the project file above the first policy opened.
        if claimed && !self.inner.project_searched.swap(true, Ordering::SeqCst) {
            if let Some(path) = doc.uri.to_file_path() {
                match config::discover(&path) {
                    Ok(Some(project)) => {
                        *lock(&self.inner.project) = Some(Arc::new(project));
                        self.inner.reconfigure();
                    }
                    Ok(None) => {}
                    Err(e) => self.inner.project_unusable(&e),
                }
            }
        }
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        // No await before the change is applied (see the module doc).
        let uri = params.text_document.uri;
        let mut docs = lock(&self.inner.docs);
        let Some(doc) = docs.get_mut(&uri) else {
            return;
        };
        for change in params.content_changes {
            if change.range.is_none() {
                // The whole text: no copy of the old one (a validation may hold it).
                doc.lines = Arc::new(LineIndex::new(&change.text));
                doc.text = Arc::new(change.text);
            } else {
                let text = Arc::make_mut(&mut doc.text);
                let lines = Arc::make_mut(&mut doc.lines);
                apply_change(text, lines, change);
            }
        }
        doc.version = params.text_document.version;
        doc.rev = self.inner.rev();
        // A claim made is kept while the document is typed, until it is plainly something
        // else.
        doc.claimed = claims(&doc.text) || (doc.claimed && !disclaims(&doc.text));
        let delay = Duration::from_millis(self.inner.debounce_ms.load(Ordering::Relaxed));
        self.inner.schedule(&uri, doc, delay);
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        let uri = params.text_document.uri;
        let shows = lock(&self.inner.docs)
            .remove(&uri)
            .is_some_and(|d| d.shows_diagnostics);
        if shows {
            let _order = self.inner.publish.lock().await;
            self.inner
                .client
                .publish_diagnostics(uri, Vec::new(), None)
                .await;
        }
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        let settings = match Settings::from_json(&params.settings) {
            Ok(Some(s)) => Some(s),
            Ok(None) if self.inner.pull_configuration.load(Ordering::Relaxed) => {
                // Pull model: the notification only says something changed.
                let item = ConfigurationItem {
                    scope_uri: None,
                    section: Some("policyctl".to_string()),
                };
                match self.inner.client.configuration(vec![item]).await {
                    Ok(values) => values
                        .first()
                        .filter(|v| v.is_object())
                        .and_then(|v| Settings::deserialize(v).ok()),
                    Err(_) => None,
                }
            }
            Ok(None) => None,
            Err(why) => {
                self.inner
                    .client
                    .show_message(MessageType::WARNING, format!("{why}; settings unchanged"))
                    .await;
                None
            }
        };
        if let Some(settings) = settings {
            self.inner.configure(settings);
        }
    }

    async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        let pos = params.text_document_position;
        let unclaimed = lock(&self.inner.docs)
            .get(&pos.text_document.uri)
            .is_some_and(|d| !d.claimed && header_in_progress(&d.text));
        if unclaimed {
            // Whether the workspace holds policies decides; the scan is bounded.
            let mut scanned = self.inner.scanned.subscribe();
            let wait = crate::workspace::SCAN_TIME + Duration::from_secs(1);
            let _ = tokio::time::timeout(wait, scanned.wait_for(|done| *done)).await;
        }
        self.inner.first_kernels().await;
        // A list, not an array: kernel names are filtered here, so the client must ask again
        // as the user types when the list says it is incomplete.
        let list = self
            .inner
            .with_snapshot_of(&pos.text_document.uri, true, move |s| {
                if s.tentative {
                    features::complete_header(&s.analysis(), s.offset(pos.position))
                } else {
                    features::complete_list(&s.analysis(), s.offset(pos.position))
                }
            })
            .await;
        Ok(list
            .filter(|l| !l.items.is_empty() || l.is_incomplete)
            .map(CompletionResponse::List))
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        let pos = params.text_document_position_params;
        self.inner.first_kernels().await;
        Ok(self
            .inner
            .with_snapshot(&pos.text_document.uri, move |s| {
                features::hover(&s.analysis(), s.offset(pos.position))
            })
            .await
            .flatten())
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        let uri = params.text_document.uri;
        let range = params.range;
        let only = params.context.only;
        let actions = self
            .inner
            .with_snapshot(&uri.clone(), move |s| {
                let (a, b) = (s.offset(range.start), s.offset(range.end));
                let mut actions = features::code_actions(&uri, &s.analysis(), a.min(b), a.max(b));
                actions.retain(|act| wanted(only.as_deref(), act));
                actions
            })
            .await
            .unwrap_or_default();
        Ok((!actions.is_empty()).then_some(actions))
    }

    async fn document_symbol(
        &self,
        params: DocumentSymbolParams,
    ) -> Result<Option<DocumentSymbolResponse>> {
        let symbols = self
            .inner
            .with_snapshot(&params.text_document.uri, |s| {
                features::document_symbols(&s.analysis())
            })
            .await
            .unwrap_or_default();
        Ok((!symbols.is_empty()).then_some(DocumentSymbolResponse::Nested(symbols)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use policyctl_validator::check_source;
    use tower_lsp_server::ls_types::Range;

    #[test]
    fn a_yaml_error_keeps_what_still_holds() {
        let good = "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: a\nspec:\n  kprobes:\n  - call: \"do_mkdirat\"\n    syscall: false\n    args:\n    - index: 0\n      type: \"nope\"\n  - call: \"y\"\n    syscall: false\n    args:\n    - index: 0\n      type: \"strin\"\n---\napiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: b\nspec:\n  kprobes:\n  - call: \"z\"\n    syscall: false\n    args:\n    - index: 0\n      type: \"fil\"\n";
        // The user is typing `do_mkdirat` again: its quote is open.
        let broken = good.replacen("\"do_mkdirat\"", "\"do_mk", 1);
        let uri: Uri = "file:///t.yaml".parse().unwrap();
        let last_good = check_source(SourceFile::new("t.yaml", good));
        let report = check_source(SourceFile::new("t.yaml", broken.as_str()));
        let lines = LineIndex::new(&broken);
        let shown = |last: Option<&FileReport>| -> Vec<String> {
            published_diagnostics(&uri, &report, &lines, last)
                .iter()
                .map(|d| {
                    let code = match &d.code {
                        Some(NumberOrString::String(c)) => c.clone(),
                        _ => String::new(),
                    };
                    format!(
                        "{code}@{}: {}",
                        d.range.start.line,
                        d.message.lines().next().unwrap_or("")
                    )
                })
                .collect()
        };
        let without = shown(None);
        // The other document is checked; the broken one stops at its error.
        assert!(
            without.iter().any(|d| d.starts_with("Y001@6")),
            "{without:?}"
        );
        assert!(
            without.iter().any(|d| d.starts_with("S004@27")),
            "{without:?}"
        );
        assert!(
            !without.iter().any(|d| d.starts_with("S004@10")),
            "{without:?}"
        );
        let with = shown(Some(&last_good));
        // Below the error, the last good diagnostics on untouched lines, marked; nothing twice.
        let kept: Vec<&String> = with.iter().filter(|d| d.contains("(kept from")).collect();
        assert_eq!(kept.len(), 2, "{with:?}");
        assert!(
            kept[0].starts_with("S004@10") && kept[1].starts_with("S004@15"),
            "{kept:?}"
        );
        assert!(
            kept[0].contains("the YAML error on line 7 stops the checks here"),
            "{kept:?}"
        );
        let data: Vec<bool> = published_diagnostics(&uri, &report, &lines, Some(&last_good))
            .iter()
            .map(|d| d.data.as_ref().unwrap()["kept"] == true)
            .collect();
        assert_eq!(data.iter().filter(|k| **k).count(), 2);
        assert_eq!(with.iter().filter(|d| d.starts_with("S004@27")).count(), 1);
        // An edit below the error moves the kept diagnostics with the text.
        let (p, s) = unchanged_ends("abcXdef", "abcYYdef");
        assert_eq!((p, s), (3, 3));
        assert_eq!(unchanged_ends("aé", "aè"), (1, 0));
        assert_eq!(unchanged_ends("aaa", "aa"), (2, 0));
    }

    #[test]
    fn settings_under_policyctl_or_bare() {
        let v = serde_json::json!({"policyctl": {"kernels": [{"btf": "a.btf", "errorInjection": "l"}], "hostKernel": false}});
        let s = Settings::from_json(&v).unwrap().unwrap();
        assert_eq!(s.kernels[0].btf, PathBuf::from("a.btf"));
        assert_eq!(s.kernels[0].error_injection, Some(PathBuf::from("l")));
        assert!(!s.wants_host());
        let bare = Settings::from_json(&serde_json::json!({"kernels": []}))
            .unwrap()
            .unwrap();
        assert!(bare.wants_host());
        assert_eq!(
            Settings::from_json(&serde_json::json!({"yaml": {}})).unwrap(),
            None
        );
        assert_eq!(Settings::from_json(&Value::Null).unwrap(), None);
        assert!(Settings::from_json(&serde_json::json!({"policyctl": {"kernels": 3}})).is_err());
    }

    #[test]
    fn incremental_changes_in_utf16() {
        let mut text = "a: é😀b\nc: d\n".to_string();
        let mut lines = LineIndex::new(&text);
        let at = |l, c| Position::new(l, c);
        // Replace `b` (after a surrogate pair: UTF-16 column 6).
        apply_change(
            &mut text,
            &mut lines,
            TextDocumentContentChangeEvent {
                range: Some(Range::new(at(0, 6), at(0, 7))),
                range_length: None,
                text: "B".into(),
            },
        );
        assert_eq!(text, "a: é😀B\nc: d\n");
        // Across lines, reversed, past the end: clamped, never a panic.
        apply_change(
            &mut text,
            &mut lines,
            TextDocumentContentChangeEvent {
                range: Some(Range::new(at(9, 0), at(1, 1))),
                range_length: None,
                text: "!".into(),
            },
        );
        assert_eq!(text, "a: é😀B\nc!");
        apply_change(
            &mut text,
            &mut lines,
            TextDocumentContentChangeEvent {
                range: None,
                range_length: None,
                text: "new".into(),
            },
        );
        assert_eq!((text.as_str(), lines.position(&text, 3)), ("new", at(0, 3)));
    }

    #[test]
    fn diagnostics_carry_code_link_help_and_data() {
        let text = "apiVersion: cilium.io/v1alpha1\nkind: TracingPolicy\nmetadata:\n  name: \"x\"\nspec:\n  kprobes:\n  - call: \"do_mkdirat\"\n";
        let report = check_source(SourceFile::new("t.yaml", text));
        let uri: Uri = "file:///t.yaml".parse().unwrap();
        let diags = to_lsp_diagnostics(&uri, &report, &LineIndex::new(text));
        let p006 = diags
            .iter()
            .find(|d| d.code == Some(NumberOrString::String("P006".into())))
            .expect("P006");
        assert_eq!(
            p006.code_description.as_ref().unwrap().href.as_str(),
            "https://github.com/policyctl/policyctl/blob/main/docs/codes.md#p006"
        );
        assert!(
            p006.message.contains("\nhelp: add `syscall: false`"),
            "{}",
            p006.message
        );
        assert_eq!(p006.data.as_ref().unwrap()["code"], "P006");
        assert_eq!(p006.range.start, Position::new(6, 10));
        assert_eq!(p006.source.as_deref(), Some("policyctl"));
    }

    #[test]
    fn only_filters_code_action_kinds() {
        use tower_lsp_server::ls_types::CodeAction;
        let act = |k: CodeActionKind| {
            CodeActionOrCommand::CodeAction(CodeAction {
                kind: Some(k),
                ..CodeAction::default()
            })
        };
        let only = [CodeActionKind::REFACTOR];
        assert!(wanted(Some(&only), &act(CodeActionKind::REFACTOR_REWRITE)));
        assert!(!wanted(Some(&only), &act(CodeActionKind::QUICKFIX)));
        assert!(wanted(None, &act(CodeActionKind::QUICKFIX)));
    }
}
