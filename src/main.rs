//! `policyctl`: check TracingPolicies (`check`), explain diagnostic codes (`explain`), print
//! the JSON Schema (`schema`), ask a kernel (`kernel`), serve editors (`lsp`) and run policies
//! on this host (`run`). A thin shell over `policyctl-validator` and `policyctl-runtime`: it
//! reads files, calls the engines and prints what the renderers produce.

use std::collections::HashSet;
use std::fs::{File, FileType, OpenOptions};
use std::io::{IsTerminal, Read, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

mod dry_run;
mod export;
mod kernel_cmd;
mod kernels;
mod metrics;
mod notes;
mod policy_dir;
mod run;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use policyctl_validator::config::{self, Config};
use policyctl_validator::kernel::Kernel;
use policyctl_validator::render::{self, Format, Summary, TextOptions};
use policyctl_validator::suppress::Rule;
use policyctl_validator::yaml::MAX_FILE_BYTES;
use policyctl_validator::{
    check_source_configured, explain, schema, Code, Diagnostic, FileReport, Kind, Selection,
    SourceFile, Span,
};

#[derive(Parser)]
#[command(
    name = "policyctl",
    version,
    about = "Check, explain and run Cilium Tetragon TracingPolicies"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check policy files and directories (recursively, *.yaml and *.yml); `-` reads stdin.
    Check(CheckArgs),
    /// Print the long explanation of a diagnostic code, with examples.
    Explain {
        /// The code, like P021, or an action, like Sigkill; `--all` lists every code.
        code: Option<String>,
        /// List every code.
        #[arg(long)]
        all: bool,
    },
    /// Run the language server over standard input and output.
    Lsp {
        /// Accepted for clients that pass it, any number of times (vscode-languageclient adds
        /// its own `--stdio` to the arguments it is given); stdio is the only transport.
        #[arg(long, action = clap::ArgAction::Count)]
        stdio: u8,
    },
    /// Search a kernel's functions, LSM hooks and tracepoints; show what it supports.
    Kernel(kernel_cmd::KernelCmd),
    /// Load policies onto eBPF on this host, enforce them in the kernel and print events
    /// (needs root).
    Run(run::RunArgs),
    /// Print a shell completion script: `policyctl completions bash > /etc/bash_completion.d/policyctl`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) of policyctl, or of one subcommand:
    /// `policyctl man check | man -l -`.
    Man {
        /// A subcommand (`check`, `run`, ...) for its own page.
        subcommand: Option<String>,
    },
    /// Print the JSON Schema of a policy kind.
    Schema {
        /// Which kind.
        #[arg(long, value_enum, default_value_t = SchemaKind::TracingPolicy)]
        kind: SchemaKind,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum SchemaKind {
    #[value(name = "TracingPolicy")]
    TracingPolicy,
    #[value(name = "TracingPolicyNamespaced")]
    TracingPolicyNamespaced,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    Text,
    Json,
    Github,
    Sarif,
}

#[derive(clap::Args)]
struct CheckArgs {
    /// Files or directories to check; `-` for standard input.
    #[arg(required = true)]
    paths: Vec<String>,
    /// Output format [default: text, or the project file's `format`].
    #[arg(long, value_enum)]
    format: Option<OutputFormat>,
    /// Fail (exit 1) on warnings too, including files skipped in directories (dangling
    /// symlinks, FIFOs) and finding no TracingPolicy at all. Also `deny-warnings = true` in
    /// the project file.
    #[arg(long)]
    deny_warnings: bool,
    /// Hold files named on the command line to the project file's `include` and `exclude`
    /// too, as a directory walk is (for tools that name every file, like pre-commit).
    #[arg(long)]
    force_exclude: bool,
    /// The project file and the codes reported.
    #[command(flatten)]
    project: ConfigArgs,
    /// Kernels to check against.
    #[command(flatten)]
    kernel: kernels::KernelArgs,
}

/// Where the project file comes from and which codes are reported: the same options for
/// `check` and `run`, read by [`configure`].
#[derive(clap::Args, Clone, Default)]
pub(crate) struct ConfigArgs {
    /// The project file to read, instead of the `policyctl.toml` found by walking up from
    /// the policy paths.
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    config: Option<PathBuf>,
    /// Read no project file.
    #[arg(long)]
    no_config: bool,
    /// Report only these codes: comma-separated codes or prefixes (`P04,K021`, `K`).
    #[arg(long, value_name = "CODES")]
    select: Option<String>,
    /// Do not report these codes: comma-separated codes or prefixes (`P041`, `K02`). Between
    /// `--select` and `--ignore`, the longer code or prefix that matches decides.
    #[arg(long, value_name = "CODES")]
    ignore: Option<String>,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match cli.command {
        Command::Check(args) => check(&args),
        Command::Explain { code, all } => explain_cmd(code.as_deref(), all),
        Command::Kernel(cmd) => kernel_cmd::run(&cmd),
        Command::Lsp { stdio: _ } => lsp(),
        Command::Run(args) => run::run(&args),
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "policyctl", &mut out);
            write_stdout(&out)
        }
        Command::Man { subcommand } => man(subcommand.as_deref()),
        Command::Schema { kind } => {
            let kind = match kind {
                SchemaKind::TracingPolicy => Kind::TracingPolicy,
                SchemaKind::TracingPolicyNamespaced => Kind::TracingPolicyNamespaced,
            };
            print!("{}", schema::json::schema_text(kind));
            ExitCode::SUCCESS
        }
    }
}

/// The man page of policyctl or of one of its subcommands (`policyctl-check(1)`).
fn man(subcommand: Option<&str>) -> ExitCode {
    let cli = Cli::command();
    let page = match subcommand {
        None => cli,
        Some(name) => match cli.find_subcommand(name) {
            Some(sub) => {
                let name = sub.get_name();
                sub.clone()
                    .display_name(format!("policyctl-{name}"))
                    .bin_name(format!("policyctl {name}"))
                    .version(env!("CARGO_PKG_VERSION"))
            }
            None => {
                let names: Vec<&str> = cli.get_subcommands().map(|c| c.get_name()).collect();
                eprintln!(
                    "policyctl: no subcommand `{name}`; pages: {}",
                    names.join(", ")
                );
                return ExitCode::from(2);
            }
        },
    };
    let mut out = Vec::new();
    if let Err(e) = clap_mangen::Man::new(page).render(&mut out) {
        eprintln!("policyctl: cannot render the man page: {e}");
        return ExitCode::from(2);
    }
    write_stdout(&out)
}

/// Write generated text to stdout; a closed pipe (`| head`) is not an error.
fn write_stdout(bytes: &[u8]) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("policyctl: cannot write to standard output: {e}");
            ExitCode::from(2)
        }
    }
}

fn lsp() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("policyctl: cannot start the language server: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(policyctl_lsp::serve_stdio());
    ExitCode::SUCCESS
}

fn explain_cmd(code: Option<&str>, all: bool) -> ExitCode {
    if all || code.is_none() {
        print!("{}", explain::list());
        return ExitCode::SUCCESS;
    }
    let text = code.unwrap_or_default();
    match Code::parse(text) {
        Some(code) => {
            print!("{}", explain::explain(code));
            ExitCode::SUCCESS
        }
        None if explain::action(text).is_some() => {
            print!("{}", explain::action(text).unwrap_or_default());
            ExitCode::SUCCESS
        }
        None => {
            eprintln!("policyctl: `{text}` is neither a diagnostic code nor an action; `policyctl explain --all` lists the codes");
            ExitCode::from(2)
        }
    }
}

/// The codes `--select` and `--ignore` choose, over `base` (the project file's).
fn selection(args: &ConfigArgs, mut base: Selection) -> Result<Selection, String> {
    if let Some(list) = &args.select {
        base.select = Some(Rule::parse_list(list).map_err(|e| format!("--select: {e}"))?);
    }
    if let Some(list) = &args.ignore {
        base.ignore = Rule::parse_list(list).map_err(|e| format!("--ignore: {e}"))?;
    }
    Ok(base)
}

/// The project file of a `check` or a `run`: `--config`, else the one `policyctl.toml` found
/// above the policy paths (standard input: above the current directory), else none.
fn project(paths: &[String], args: &ConfigArgs) -> Result<Option<Config>, String> {
    if args.no_config {
        return Ok(None);
    }
    if let Some(path) = &args.config {
        return config::load(path).map(Some).map_err(|e| e.to_string());
    }
    let mut found: Vec<PathBuf> = Vec::new();
    for p in paths {
        let start = if p == "-" {
            Path::new(".")
        } else {
            Path::new(p)
        };
        if let Some(f) = config::find(start) {
            if !found.contains(&f) {
                found.push(f);
            }
        }
    }
    match found.len() {
        0 => Ok(None),
        1 => config::load(&found[0]).map(Some).map_err(|e| e.to_string()),
        _ => Err(format!(
            "the paths belong to projects with different project files ({}); check each project on its own, or name one with --config",
            found
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The project file of `paths` and the selection of codes (the file's, then `--select` and
/// `--ignore`): what `check`, `run` and `run --dry-run` all start from.
pub(crate) fn configure(
    paths: &[String],
    args: &ConfigArgs,
) -> Result<(Option<Config>, Selection), String> {
    let project = project(paths, args)?;
    let base = project
        .as_ref()
        .map(|p| p.selection.clone())
        .unwrap_or_default();
    let selection = selection(args, base)?;
    Ok((project, selection))
}

/// The kernel options of a `check` or a dry run: the command line's, else the project file's
/// kernels (the command line's `--error-injection`, `--kernel-config` and `--btf-module` then
/// go with them). `--btf` or `--no-btf` replaces the file's kernels.
pub(crate) fn kernel_args(
    args: &kernels::KernelArgs,
    project: Option<&Config>,
) -> kernels::KernelArgs {
    let mut k = args.clone();
    let Some(project) = project else { return k };
    if !k.btf.is_empty() || k.no_btf || project.kernels.is_empty() {
        return k;
    }
    for spec in &project.kernels {
        let name = spec.name.clone().unwrap_or_default();
        let named = |p: &Path| format!("{name}={}", p.display());
        k.btf.push(named(&spec.btf));
        k.error_injection
            .extend(spec.error_injection.as_deref().map(named));
        k.kernel_config.extend(spec.config.as_deref().map(named));
        k.btf_module.extend(spec.modules.iter().map(|m| named(m)));
    }
    k
}

fn check(args: &CheckArgs) -> ExitCode {
    let (project, selection) = match configure(&args.paths, &args.project) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("policyctl: {e}");
            return ExitCode::from(2);
        }
    };
    let deny_warnings =
        args.deny_warnings || project.as_ref().and_then(|p| p.deny_warnings) == Some(true);
    let format = args
        .format
        .or_else(|| {
            project
                .as_ref()
                .and_then(|p| p.format.as_deref())
                .and_then(|f| OutputFormat::from_str(f, false).ok())
        })
        .unwrap_or(OutputFormat::Text);
    let loaded = match kernels::load(&kernel_args(&args.kernel, project.as_ref())) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("policyctl: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(note) = &loaded.note {
        eprintln!("policyctl: {note}");
    }
    let mut files = Vec::new();
    // What the CLI itself warns about (skipped files, nothing found): --deny-warnings counts it.
    let mut cli_warnings = 0usize;
    let mut empty_dirs = Vec::new();
    for p in &args.paths {
        if p == "-" {
            files.push(None);
            continue;
        }
        let path = Path::new(p);
        if path.is_dir() {
            match collect(path, project.as_ref()) {
                Ok(walk) => {
                    for w in &walk.skipped {
                        eprintln!("policyctl: warning: {w}");
                    }
                    cli_warnings += walk.skipped.len();
                    if walk.files.is_empty() {
                        empty_dirs.push(p.as_str());
                    }
                    files.extend(walk.files.into_iter().map(Some));
                }
                Err(e) => {
                    eprintln!("policyctl: cannot read directory {p}: {e}");
                    return ExitCode::from(2);
                }
            }
        } else if path.exists() {
            if args.force_exclude && project.as_ref().is_some_and(|c| !c.walks(path)) {
                continue;
            }
            files.push(Some(path.to_path_buf()));
        } else {
            eprintln!(
                "policyctl: {p}: no such file or directory{}",
                notes::missing_hint(path)
            );
            return ExitCode::from(2);
        }
    }
    let mut jobs = Vec::with_capacity(files.len());
    for f in &files {
        match read_policy(f.as_deref(), &loaded.kernels) {
            Ok(job) => jobs.push(job),
            Err(OpenError::NotRegular(m)) => {
                eprintln!(
                    "policyctl: {m}; pipe what it holds into `policyctl check -` to check it as standard input"
                );
                return ExitCode::from(2);
            }
            Err(OpenError::Io(m)) => {
                eprintln!("policyctl: {m}");
                return ExitCode::from(2);
            }
        }
    }
    let mut reports = Vec::with_capacity(jobs.len());
    let mut internal = Vec::new();
    for r in check_all(jobs, &loaded.kernels, &selection) {
        match r {
            Ok(mut report) => {
                if let Some(warning) = notes::not_a_policy(&report) {
                    eprintln!("policyctl: warning: {warning}");
                    report.diagnostics.clear();
                    cli_warnings += 1;
                }
                reports.push(report)
            }
            Err(e) => internal.push(e),
        }
    }
    let format = match format {
        OutputFormat::Text => Format::Text,
        OutputFormat::Json => Format::Json,
        OutputFormat::Github => Format::Github,
        OutputFormat::Sarif => Format::Sarif,
    };
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    // Streamed, one diagnostic at a time: the output is never held whole in memory.
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    if let Format::Text = format {
        let gap = if reports.iter().any(|r| !r.diagnostics.is_empty()) {
            "\n"
        } else {
            ""
        };
        let _ = writeln!(stdout, "{}{gap}", notes::checked_against(&loaded.kernels));
    }
    let _ = render::write(&reports, format, &TextOptions { color }, &mut stdout);
    let _ = stdout.flush();
    let s = Summary::of(&reports);
    if !internal.is_empty() {
        for e in &internal {
            eprintln!("{e}");
        }
        return ExitCode::from(2);
    }
    if s.policies == 0 && s.errors == 0 {
        let places: Vec<&str> = args
            .paths
            .iter()
            .map(|p| {
                if p == "-" {
                    "standard input"
                } else {
                    p.as_str()
                }
            })
            .collect();
        eprintln!(
            "policyctl: no TracingPolicy found in {} ({} file{} read)",
            places.join(", "),
            s.files,
            if s.files == 1 { "" } else { "s" }
        );
        cli_warnings += 1;
    } else {
        for d in &empty_dirs {
            eprintln!("policyctl: warning: {d} holds no *.yaml or *.yml file");
        }
        cli_warnings += empty_dirs.len();
    }
    if s.errors > 0 || (deny_warnings && (s.warnings > 0 || cli_warnings > 0)) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

// ---------------------------------------------------------------------------------------------
// Reading inputs: regular files only, never more than a bound.

/// What a file that is not a regular file is, in words.
fn file_kind(ft: FileType) -> &'static str {
    if ft.is_fifo() {
        "a FIFO (named pipe)"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_dir() {
        "a directory"
    } else {
        "not a file"
    }
}

/// `PATH is a FIFO (named pipe), not a regular file`.
pub(crate) fn not_regular(path: &Path, ft: FileType) -> String {
    format!(
        "{} is {}, not a regular file",
        path.display(),
        file_kind(ft)
    )
}

/// Why an input cannot be opened.
pub(crate) enum OpenError {
    /// It exists but is not a regular file (FIFO, device, socket, directory): the message.
    NotRegular(String),
    /// It cannot be read (missing, no permission): the message, naming the file.
    Io(String),
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::NotRegular(m) | OpenError::Io(m) => f.write_str(m),
        }
    }
}

/// The metadata of `path` (symlinks followed) if it is a regular file. Anything else is
/// refused before it is opened: a FIFO blocks until a writer comes, a device may never end.
fn regular_file(path: &Path) -> Result<std::fs::Metadata, OpenError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| OpenError::Io(format!("cannot read {}: {e}", path.display())))?;
    if !meta.is_file() {
        return Err(OpenError::NotRegular(not_regular(path, meta.file_type())));
    }
    Ok(meta)
}

/// Open `path` for reading if it is a regular file (see [`regular_file`]); also its size.
pub(crate) fn open_regular(path: &Path) -> Result<(File, u64), OpenError> {
    regular_file(path)?;
    // Non-blocking: a path swapped for a FIFO since the check above does not block the open
    // waiting for a writer; the check of the open file then refuses it.
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| OpenError::Io(format!("cannot read {}: {e}", path.display())))?;
    let meta = file
        .metadata()
        .map_err(|e| OpenError::Io(format!("cannot read {}: {e}", path.display())))?;
    if !meta.is_file() {
        return Err(OpenError::NotRegular(not_regular(path, meta.file_type())));
    }
    Ok((file, meta.len()))
}

/// All of `reader` if it holds at most `limit` bytes, else `None`: it reads one byte past the
/// limit and no further, so an endless input costs `limit` bytes of memory.
pub(crate) fn read_at_most(reader: impl Read, limit: usize) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    reader.take(limit as u64 + 1).read_to_end(&mut buf)?;
    Ok((buf.len() <= limit).then_some(buf))
}

/// A policy input, read: text to check, or a report already made (the input is over the size
/// limit, so it was not read whole).
pub(crate) enum Job {
    /// Check this.
    Check(SourceFile),
    /// Nothing to check: this is its report.
    Done(FileReport),
}

/// Read one policy input (`None` is standard input): a regular file or stdin, at most
/// [`MAX_FILE_BYTES`]. More is a Y006 error in the file's report (without reading the rest);
/// anything but a regular file, an unreadable file or text that is not UTF-8 is an `Err`
/// (exit 2).
pub(crate) fn read_policy(path: Option<&Path>, kernels: &[Arc<Kernel>]) -> Result<Job, OpenError> {
    let (name, shown, bytes) = match path {
        None => {
            let bytes = read_at_most(std::io::stdin().lock(), MAX_FILE_BYTES)
                .map_err(|e| OpenError::Io(format!("cannot read standard input: {e}")))?;
            ("-".to_string(), "standard input".to_string(), bytes)
        }
        Some(path) => {
            let name = path.display().to_string();
            let (file, len) = open_regular(path)?;
            if len > MAX_FILE_BYTES as u64 {
                return Ok(Job::Done(too_large(name, Some(len), kernels)));
            }
            let bytes = read_at_most(file, MAX_FILE_BYTES)
                .map_err(|e| OpenError::Io(format!("cannot read {name}: {e}")))?;
            (name.clone(), name, bytes)
        }
    };
    let Some(bytes) = bytes else {
        return Ok(Job::Done(too_large(name, None, kernels)));
    };
    let text = String::from_utf8(bytes)
        .map_err(|_| OpenError::Io(format!("{shown} is not UTF-8 text")))?;
    Ok(Job::Check(SourceFile::new(name, text)))
}

/// The report of an input over [`MAX_FILE_BYTES`]: one Y006, as the parser gives for text over
/// the limit, for a file that was not read whole (`len` when its size is known).
fn too_large(name: String, len: Option<u64>, kernels: &[Arc<Kernel>]) -> FileReport {
    let message = match len {
        Some(len) => format!(
            "the file is {len} bytes; policyctl reads files of at most {MAX_FILE_BYTES} bytes"
        ),
        None => format!(
            "{} is more than {MAX_FILE_BYTES} bytes; policyctl reads files of at most {MAX_FILE_BYTES} bytes",
            if name == "-" { "standard input" } else { "the file" }
        ),
    };
    FileReport {
        source: SourceFile::new(name, String::new()),
        policies: Vec::new(),
        other_documents: 0,
        diagnostics: vec![Diagnostic::new(Code::Y006, Span::new(0, 0), message)
            .help("split the policies into several files")],
        kernels: kernels.iter().map(|k| k.name.clone()).collect(),
    }
}

// ---------------------------------------------------------------------------------------------
// Checking.

/// A file whose check failed inside policyctl (a panic). Never a pass: the run exits 2.
pub(crate) struct InternalError {
    /// The file's display name.
    pub file: String,
    /// What the panic said.
    pub message: String,
}

impl std::fmt::Display for InternalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "policyctl: internal error while checking {}: {}",
            self.file, self.message
        )
    }
}

/// Check every job on every core, keeping their order. A panic while checking one file is
/// caught there and becomes that file's [`InternalError`]; the other files are still checked.
pub(crate) fn check_all(
    jobs: Vec<Job>,
    kernels: &[Arc<Kernel>],
    selection: &Selection,
) -> Vec<Result<FileReport, InternalError>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(jobs.len().max(1));
    if threads <= 1 {
        return jobs
            .into_iter()
            .map(|j| check_one(j, kernels, selection))
            .collect();
    }
    let chunk = jobs.len().div_ceil(threads);
    let mut chunks: Vec<Vec<Job>> = Vec::new();
    let mut rest = jobs.into_iter();
    loop {
        let c: Vec<Job> = rest.by_ref().take(chunk).collect();
        if c.is_empty() {
            break;
        }
        chunks.push(c);
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|c| {
                let names: Vec<String> = c.iter().map(|j| job_name(j).to_string()).collect();
                let handle = s.spawn(move || {
                    c.into_iter()
                        .map(|j| check_one(j, kernels, selection))
                        .collect::<Vec<_>>()
                });
                (names, handle)
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|(names, h)| {
                // Each file's panic is caught in check_one; a thread that still fails loses
                // its chunk, and every file of it is an internal error.
                h.join().unwrap_or_else(|p| {
                    let message = panic_message(&*p);
                    names
                        .into_iter()
                        .map(|file| {
                            Err(InternalError {
                                file,
                                message: message.clone(),
                            })
                        })
                        .collect()
                })
            })
            .collect()
    })
}

fn job_name(job: &Job) -> &str {
    match job {
        Job::Check(src) => src.name(),
        Job::Done(report) => report.source.name(),
    }
}

/// Check one job, catching a panic.
fn check_one(
    job: Job,
    kernels: &[Arc<Kernel>],
    selection: &Selection,
) -> Result<FileReport, InternalError> {
    let src = match job {
        Job::Done(report) => return Ok(report),
        Job::Check(src) => src,
    };
    let file = src.name().to_string();
    // Nothing shared is left half-changed by a panic: the kernels are read-only (their lazy
    // indexes are behind OnceLock), and the file's own data is dropped with the panic.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        test_panic(src.name());
        check_source_configured(src, kernels, selection)
    }))
    .map_err(|p| InternalError {
        file,
        message: panic_message(&*p),
    })
}

/// The message of a panic's payload.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

/// Tests make the check of one file panic: `POLICYCTL_TEST_PANIC_ON=<file name or path>`.
/// Debug builds only; a release build ignores the variable.
#[cfg(debug_assertions)]
fn test_panic(name: &str) {
    if let Some(want) = std::env::var_os("POLICYCTL_TEST_PANIC_ON") {
        if Path::new(name).file_name() == Some(want.as_os_str()) || want == name {
            panic!(
                "POLICYCTL_TEST_PANIC_ON={} (a test hook)",
                want.to_string_lossy()
            );
        }
    }
}

#[cfg(not(debug_assertions))]
fn test_panic(_: &str) {}

// ---------------------------------------------------------------------------------------------
// Walking directories.

/// What a directory holds: its policy files, and what was skipped (one message each).
struct Walk {
    files: Vec<PathBuf>,
    skipped: Vec<String>,
}

/// Every `*.yaml` and `*.yml` file under `dir`, sorted. Symlinks are followed, to files and
/// to directories; each directory and each file is visited once (by its canonical path), so a
/// link back up the tree ends there and a file reached by two names is checked once, under
/// the name met first. A dangling link, and a YAML name that is not a regular file, are
/// skipped and said. A project file's `exclude` leaves out files and directories, its
/// `include` keeps only the files it matches.
fn collect(dir: &Path, project: Option<&Config>) -> std::io::Result<Walk> {
    let mut walk = Walk {
        files: Vec::new(),
        skipped: Vec::new(),
    };
    let mut seen_dirs = HashSet::new();
    let mut seen_files = HashSet::new();
    seen_dirs.insert(std::fs::canonicalize(dir)?);
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let mut entries = std::fs::read_dir(&d)?
            .map(|e| e.map(|e| e.path()))
            .collect::<std::io::Result<Vec<_>>>()?;
        entries.sort();
        // Files first, then subdirectories in order: the first name of a file is the
        // shallowest one.
        let mut subdirs = Vec::new();
        for path in entries {
            let meta = match std::fs::metadata(&path) {
                Ok(m) => m,
                Err(e) if path.is_symlink() => {
                    let target = std::fs::read_link(&path)
                        .map_or_else(|_| "?".to_string(), |t| t.display().to_string());
                    walk.skipped.push(format!(
                        "{} is a symlink to {target}, which cannot be read ({e}); skipped",
                        path.display()
                    ));
                    continue;
                }
                Err(e) => return Err(e),
            };
            if meta.is_dir() {
                if project.is_some_and(|p| p.excludes(&path)) {
                    continue;
                }
                if seen_dirs.insert(std::fs::canonicalize(&path)?) {
                    subdirs.push(path);
                }
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml")
            ) {
                if project.is_some_and(|p| !p.walks(&path)) {
                    continue;
                }
                if !meta.is_file() {
                    walk.skipped
                        .push(format!("{}; skipped", not_regular(&path, meta.file_type())));
                } else if seen_files.insert(std::fs::canonicalize(&path)?) {
                    walk.files.push(path);
                }
            }
        }
        todo.extend(subdirs.into_iter().rev());
    }
    walk.files.sort();
    Ok(walk)
}
