//! `docs/codes.md` is what `explain::reference` generates (`UPDATE_DOCS=1` rewrites it), so the
//! page the language server links each code to never drifts from `policyctl explain`.

use std::path::Path;

use policyctl_validator::{codes, explain};

#[test]
fn codes_page_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/codes.md");
    let want = explain::reference();
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    if have != want {
        if std::env::var("UPDATE_DOCS").is_ok_and(|v| v == "1") {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &want).unwrap();
        } else {
            panic!(
                "{} is stale: run `UPDATE_DOCS=1 cargo test -p policyctl-validator --test docs`",
                path.display()
            );
        }
    }
    for code in codes::ALL {
        let anchor = format!("<a id=\"{}\"></a>", code.as_str().to_ascii_lowercase());
        assert!(want.contains(&anchor), "{code}");
    }
}
