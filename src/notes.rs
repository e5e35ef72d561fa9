//! What `policyctl check` says about its inputs besides the diagnostics: the kernels it checked
//! against (the text output's first line), a path that names nothing, and a file that is other
//! YAML, not a policy.

use std::path::Path;
use std::sync::Arc;

use policyctl_validator::kernel::Kernel;
use policyctl_validator::FileReport;

/// The first line of the text output: the kernels checked against, by name (the running
/// kernel marked `this host`), or `no kernel`.
pub(crate) fn checked_against(kernels: &[Arc<Kernel>]) -> String {
    if kernels.is_empty() {
        return "checked against no kernel".into();
    }
    let names: Vec<String> = kernels
        .iter()
        .map(|k| match k.host {
            Some(_) => format!("{} (this host)", k.name),
            None => k.name.clone(),
        })
        .collect();
    format!("checked against {}", names.join(", "))
}

/// What to add to "no such file or directory": a pattern the shell left as written (it matched
/// nothing), or the name in the same directory that was probably meant.
pub(crate) fn missing_hint(path: &Path) -> String {
    let text = path.to_string_lossy();
    if text.contains(['*', '?', '[']) {
        return " (a pattern that matched no file: the shell passes it on as written)".into();
    }
    let (Some(name), parent) = (path.file_name().and_then(|n| n.to_str()), path.parent()) else {
        return String::new();
    };
    let parent = parent.unwrap_or(Path::new(""));
    let dir = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return String::new();
    };
    let names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .take(10_000)
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    match policyctl_validator::suggest::did_you_mean(name, &names) {
        Some(near) => format!("; did you mean {}?", parent.join(near).display()),
        None => String::new(),
    }
}

/// The warning for a file that is other YAML whose syntax is broken (see
/// [`FileReport::not_a_policy`]): skipped, not failed.
pub(crate) fn not_a_policy(report: &FileReport) -> Option<String> {
    let first = report.not_a_policy()?;
    let at = report.source.position(first.span.start);
    let name = match report.source.name() {
        "-" => "standard input",
        name => name,
    };
    Some(format!(
        "{name}:{}:{}: skipped, not a TracingPolicy: {} ({}), and no line says \
         `apiVersion: cilium.io/...` or `kind: TracingPolicy`",
        at.line,
        at.column,
        first.message,
        first.code.as_str(),
    ))
}
