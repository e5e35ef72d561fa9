//! How a test that cannot run says so: one `SKIPPED` line in the default `cargo test` output
//! (written to the process's stderr directly, past libtest's capture of `print!`/`eprint!`, so
//! it shows without `--nocapture`), and a failure when `CI` is set, because CI (`.ci/run`)
//! installs everything the tests need. Shared by the tests of every crate (`#[path]`).

use std::io::Write as _;

/// Skip `test` for `reason` (what is missing, and how to get it): fail under `CI`, print one
/// visible line otherwise.
#[allow(dead_code)]
pub fn skip(test: &str, reason: &str) {
    if std::env::var_os("CI").is_some() {
        panic!(
            "{test}: cannot run: {reason}; CI is set, and CI provides everything the tests need"
        );
    }
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {reason}");
}
