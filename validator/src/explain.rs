//! `policyctl explain CODE`: the long form of a code, rendered once for the CLI and the language
//! server, with the code's invalid and valid examples (the files under `testdata/checks/<CODE>/`).

use std::fmt::Write as _;

use crate::codes::Code;

include!(concat!(env!("OUT_DIR"), "/examples.rs"));

/// The invalid and valid examples of a code.
pub fn examples(code: Code) -> Option<(&'static str, &'static str)> {
    EXAMPLES
        .iter()
        .find(|(c, _, _)| *c == code.as_str())
        .map(|(_, i, v)| (*i, *v))
}

/// The explanation of a code as Markdown.
pub fn explain(code: Code) -> String {
    let info = code.info();
    let mut s = String::new();
    let _ = writeln!(s, "# {} {}\n", info.code, info.name);
    let _ = writeln!(s, "Severity: {}\n", info.severity.as_str());
    let _ = writeln!(s, "{}\n", info.summary);
    let _ = writeln!(s, "## Why it matters\n\n{}\n", info.explanation);
    if let Some((invalid, valid)) = examples(code) {
        let _ = writeln!(s, "## Example\n\n```yaml\n{}```\n", strip_header(invalid));
        let _ = writeln!(s, "## Use instead\n\n```yaml\n{}```\n", strip_header(valid));
    }
    let _ = writeln!(s, "Enforced in Tetragon by: {}\n", info.tetragon);
    let _ = writeln!(
        s,
        "## Suppress it\n\nAt the end of the finding's line, or alone on the line above it: \
         `# policyctl: ignore[{c}]`; anywhere in the file, for the whole file: \
         `# policyctl: ignore-file[{c}]`; for a project: `ignore = [\"{c}\"]` or \
         `[severity] {c} = \"off\"` in `policyctl.toml`, or `policyctl check --ignore {c}`. \
         A suppression that suppresses nothing is reported (C001).",
        c = info.code
    );
    s
}

/// `policyctl explain ACTION`: what a `matchActions` action does, as Markdown, from the action
/// table (`facts::ACTIONS`); `None` for a name that is not an action (exact CRD spelling).
pub fn action(name: &str) -> Option<String> {
    let spec = crate::facts::action(name)?;
    let mut s = String::new();
    let _ = writeln!(s, "# {} (action)\n", spec.name);
    let _ = writeln!(s, "{}\n", spec.doc);
    if !spec.required.is_empty() {
        let _ = writeln!(s, "Needs: `{}`\n", spec.required.join("`, `"));
    }
    if !spec.optional.is_empty() {
        let _ = writeln!(s, "Takes: `{}`\n", spec.optional.join("`, `"));
    }
    if !spec.not_on.is_empty() {
        let kinds: Vec<&str> = spec.not_on.iter().map(|k| k.key()).collect();
        let _ = writeln!(s, "Refused on: {}\n", kinds.join(", "));
    }
    if spec.enforcement {
        let _ = writeln!(
            s,
            "An enforcement action: `policy-mode: monitor` turns it off."
        );
    }
    Some(s)
}

/// Example files start with comment lines for their readers; explain shows the policy itself.
fn strip_header(text: &str) -> String {
    let body: Vec<&str> = text.lines().skip_while(|l| l.starts_with('#')).collect();
    let mut out = body.join("\n");
    out.push('\n');
    out
}

/// A one-line-per-code table of every code.
pub fn list() -> String {
    let mut s = String::new();
    for code in crate::codes::ALL {
        let info = code.info();
        let _ = writeln!(
            s,
            "{}  {:<8} {:<30} {}",
            info.code,
            info.severity.as_str(),
            info.name,
            info.summary
        );
    }
    s
}

/// Every code's explanation in one Markdown page (`docs/codes.md`), each under an anchor named
/// by its code in lower case (`#k001`): the page the language server's code links open.
pub fn reference() -> String {
    let mut s = String::from(
        "# Diagnostic codes\n\nGenerated from the validator's code table by `validator/tests/docs.rs` \
         (`UPDATE_DOCS=1` rewrites it); `policyctl explain CODE` prints the same text.\n\n",
    );
    for code in crate::codes::ALL {
        let info = code.info();
        let _ = writeln!(
            s,
            "- [{}](#{}) {}",
            info.code,
            info.code.to_ascii_lowercase(),
            info.summary
        );
    }
    for code in crate::codes::ALL {
        let _ = writeln!(
            s,
            "\n<a id=\"{}\"></a>\n",
            code.as_str().to_ascii_lowercase()
        );
        for line in explain(*code).lines() {
            // One heading level down: the page has its own title.
            if line.starts_with('#') {
                let _ = writeln!(s, "#{line}");
            } else {
                let _ = writeln!(s, "{line}");
            }
        }
    }
    s
}
