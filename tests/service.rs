//! The systemd unit in `packaging/systemd/policyctl.service`: `systemd-analyze verify` accepts
//! it (with its `ExecStart` pointed at the binary under test, which verify requires to exist),
//! and every option its command line gives is one `policyctl run` has.
//!
//! Without `systemd-analyze` the test prints `SKIPPED` (and fails when `CI` is set).

#[path = "support/skip.rs"]
mod skip;

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_policyctl");

#[test]
fn the_unit_verifies_and_names_real_options() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let unit = std::fs::read_to_string(root.join("packaging/systemd/policyctl.service")).unwrap();
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("an ExecStart line");
    let args: Vec<&str> = exec.split_whitespace().collect();
    assert_eq!(&args[..2], ["/usr/local/bin/policyctl", "run"], "{exec}");
    // a reload is SIGHUP to the main process, which `policyctl run` serves
    let reload = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecReload="))
        .expect("an ExecReload line");
    assert_eq!(reload, "/bin/kill -HUP $MAINPID", "{reload}");

    // Every option is one `policyctl run --help` lists.
    let help = Command::new(BIN).args(["run", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for opt in args.iter().filter(|a| a.starts_with("--")) {
        assert!(
            help.contains(&format!("{opt} "))
                || help.contains(&format!("{opt}\n"))
                || help.contains(&format!("{opt} <")),
            "`{opt}` is no option of policyctl run:\n{help}"
        );
    }
    // And the whole command line parses (clap stops at the first problem): `--help` after it
    // shows help only when everything before it was understood.
    let parsed = Command::new(BIN)
        .args(&args[1..])
        .arg("--help")
        .output()
        .unwrap();
    assert!(
        parsed.status.success(),
        "{}",
        String::from_utf8_lossy(&parsed.stderr)
    );

    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        skip::skip(
            "the_unit_verifies_and_names_real_options",
            "systemd-analyze is not installed (apt-get install systemd)",
        );
        return;
    }
    let dir = std::env::temp_dir().join(format!("policyctl-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("policyctl.service");
    std::fs::write(&path, unit.replace("/usr/local/bin/policyctl", BIN)).unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "systemd-analyze verify: {said}");
    // Only our unit's lines count: verify may say things about the host's other units.
    let ours: Vec<&str> = said.lines().filter(|l| l.contains("policyctl")).collect();
    assert!(ours.is_empty(), "systemd-analyze verify: {ours:?}");
    let _ = std::fs::remove_dir_all(&dir);

    // A unit that names a missing binary is refused: the verification can fail.
    let bad = dir.with_extension("bad");
    std::fs::create_dir_all(&bad).unwrap();
    let path = bad.join("policyctl.service");
    std::fs::write(
        &path,
        unit.replace("/usr/local/bin/policyctl", "/nonexistent/policyctl"),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let _ = std::fs::remove_dir_all(&bad);
}
