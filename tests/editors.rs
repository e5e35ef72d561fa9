//! The editor integrations, end to end against this build's `policyctl lsp`: the VS Code
//! extension's unit and protocol tests and its `.vsix` (`editors/vscode/run-tests.sh`, needs
//! Node.js and npm), the extension installed from its platform `.vsix` into a real VS Code
//! (code-server in headless Chromium: `editors/vscode/test/vscode/run.sh`, needs `chromium`,
//! npm, and the npm registry once to install its tools into `target/vscode-e2e/`), and headless
//! Neovim on a broken policy (`editors/neovim/test/run.sh`, needs `nvim`). Without the tool a
//! test says it was skipped, and fails when `CI` is set (CI installs them).

#[path = "support/skip.rs"]
mod skip;

use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

/// The two VS Code tests build in the same folder (`npm ci`, the `.vsix` files): one at a time.
static VSCODE: Mutex<()> = Mutex::new(());

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Whether `tool` runs; when it does not, skip (or fail under CI).
fn have(tool: &str) -> bool {
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        skip::skip("editors", &format!("`{tool}` is not installed"));
    }
    ok
}

fn run_script(script: &str, env: (&str, &str)) {
    let out = Command::new("bash")
        .arg(root().join(script))
        .env(env.0, env.1)
        .current_dir(root())
        .output()
        .expect("run bash");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{script} failed:\n{text}");
    println!("{text}");
}

#[test]
fn vscode_extension_tests_and_package() {
    let _one_at_a_time = VSCODE.lock().unwrap_or_else(|e| e.into_inner());
    if !have("npm") {
        return;
    }
    run_script(
        "editors/vscode/run-tests.sh",
        ("POLICYCTL", env!("CARGO_BIN_EXE_policyctl")),
    );
    let vsix = std::fs::read_dir(root().join("editors/vscode"))
        .unwrap()
        .flatten()
        .any(|e| e.path().extension().is_some_and(|x| x == "vsix"));
    assert!(vsix, "no .vsix was packaged");
}

/// The extension as users get it: its platform `.vsix` (carrying this build's `policyctl`,
/// stripped) installed into VS Code 1.139 (code-server), driven in headless Chromium. The script
/// exits 77 when it cannot run here (no chromium; or the npm registry out of reach while its
/// tools are not installed yet), with the reason on stderr. Screenshots go to
/// `target/vscode-e2e/`.
#[test]
fn vscode_extension_in_a_real_vscode() {
    let _one_at_a_time = VSCODE.lock().unwrap_or_else(|e| e.into_inner());
    if !have("npm") {
        return;
    }
    let script = "editors/vscode/test/vscode/run.sh";
    let out = Command::new("bash")
        .arg(root().join(script))
        .env("POLICYCTL", env!("CARGO_BIN_EXE_policyctl"))
        .current_dir(root())
        .output()
        .expect("run bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(77) {
        let reason = stderr.trim().lines().last().unwrap_or("no reason given");
        skip::skip("vscode_extension_in_a_real_vscode", reason);
        return;
    }
    assert!(out.status.success(), "{script} failed:\n{stdout}\n{stderr}");
    println!("{stdout}\n{stderr}");
}

#[test]
fn neovim_shows_the_diagnostics_on_the_right_lines() {
    if !have("nvim") {
        return;
    }
    run_script(
        "editors/neovim/test/run.sh",
        ("POLICYCTL_BIN", env!("CARGO_BIN_EXE_policyctl")),
    );
}
