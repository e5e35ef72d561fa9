//! `policyctl`: check TracingPolicies (`check`), explain diagnostic codes (`explain`), print
//! the JSON Schema (`schema`), ask a kernel (`kernel`), serve editors (`lsp`) and run policies
//! on this host (`run`). A thin shell over `policyctl-validator` and `policyctl-runtime`: it
//! reads files, calls the engines and prints what the renderers produce.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod kernel_cmd;
mod kernels;
mod run;

use clap::{Parser, Subcommand, ValueEnum};
use policyctl_validator::kernel::Kernel;
use policyctl_validator::render::{self, Format, Summary, TextOptions};
use policyctl_validator::{check_source_with, explain, schema, Code, FileReport, Kind, SourceFile};

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
        /// The code, like P021; `--all` lists every code.
        code: Option<String>,
        /// List every code.
        #[arg(long)]
        all: bool,
    },
    /// Run the language server over standard input and output.
    Lsp {
        /// Accepted for clients that pass it; stdio is the only transport.
        #[arg(long)]
        stdio: bool,
    },
    /// Search a kernel's functions, LSM hooks and tracepoints; show what it supports.
    Kernel(kernel_cmd::KernelCmd),
    /// Load policies onto eBPF on this host, enforce them in the kernel and print events
    /// (needs root).
    Run(run::RunArgs),
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

#[derive(Clone, Copy, ValueEnum)]
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
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
    /// Fail (exit 1) on warnings too.
    #[arg(long)]
    deny_warnings: bool,
    /// Kernels to check against.
    #[command(flatten)]
    kernel: kernels::KernelArgs,
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
        None => {
            eprintln!("policyctl: `{text}` is not a diagnostic code; `policyctl explain --all` lists them");
            ExitCode::from(2)
        }
    }
}

fn check(args: &CheckArgs) -> ExitCode {
    let loaded = match kernels::load(&args.kernel) {
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
    for p in &args.paths {
        if p == "-" {
            files.push(None);
            continue;
        }
        let path = Path::new(p);
        if path.is_dir() {
            match collect(path) {
                Ok(mut found) => {
                    found.sort();
                    files.extend(found.into_iter().map(Some));
                }
                Err(e) => {
                    eprintln!("policyctl: cannot read directory {p}: {e}");
                    return ExitCode::from(2);
                }
            }
        } else if path.exists() {
            files.push(Some(path.to_path_buf()));
        } else {
            eprintln!("policyctl: {p}: no such file or directory");
            return ExitCode::from(2);
        }
    }
    let mut sources = Vec::with_capacity(files.len());
    for f in files {
        let (name, text) = match &f {
            None => {
                let mut buf = String::new();
                if let Err(e) = std::io::stdin().read_to_string(&mut buf) {
                    eprintln!("policyctl: cannot read standard input: {e}");
                    return ExitCode::from(2);
                }
                ("-".to_string(), buf)
            }
            Some(path) => match std::fs::read(path) {
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(t) => (path.display().to_string(), t),
                    Err(_) => {
                        eprintln!("policyctl: {} is not UTF-8 text", path.display());
                        return ExitCode::from(2);
                    }
                },
                Err(e) => {
                    eprintln!("policyctl: cannot read {}: {e}", path.display());
                    return ExitCode::from(2);
                }
            },
        };
        sources.push(SourceFile::new(name, text));
    }
    let reports = check_all(sources, &loaded.kernels);
    let format = match args.format {
        OutputFormat::Text => Format::Text,
        OutputFormat::Json => Format::Json,
        OutputFormat::Github => Format::Github,
        OutputFormat::Sarif => Format::Sarif,
    };
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let out = render::render(&reports, format, &TextOptions { color });
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
    let s = Summary::of(&reports);
    if s.errors > 0 || (args.deny_warnings && s.warnings > 0) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Check files on every core, keeping their order.
fn check_all(sources: Vec<SourceFile>, kernels: &[std::sync::Arc<Kernel>]) -> Vec<FileReport> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(sources.len().max(1));
    if threads <= 1 {
        return sources
            .into_iter()
            .map(|s| check_source_with(s, kernels))
            .collect();
    }
    let chunk = sources.len().div_ceil(threads);
    let mut chunks: Vec<Vec<SourceFile>> = Vec::new();
    let mut rest = sources.into_iter();
    loop {
        let c: Vec<SourceFile> = rest.by_ref().take(chunk).collect();
        if c.is_empty() {
            break;
        }
        chunks.push(c);
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|c| {
                s.spawn(move || {
                    c.into_iter()
                        .map(|src| check_source_with(src, kernels))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

fn collect(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            let path = entry.path();
            let ft = entry.file_type()?;
            if ft.is_dir() {
                todo.push(path);
            } else if ft.is_file()
                && matches!(
                    path.extension().and_then(|e| e.to_str()),
                    Some("yaml" | "yml")
                )
            {
                out.push(path);
            }
        }
    }
    Ok(out)
}
