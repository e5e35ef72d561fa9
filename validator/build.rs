//! Embeds the examples of every code (`testdata/checks/<CODE>/{invalid,valid}.yaml`) so that
//! `policyctl explain` shows them and a test runs them.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/checks");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut table = String::from("/// (code, invalid example, valid example) for every code that has them.\npub static EXAMPLES: &[(&str, &str, &str)] = &[\n");
    let mut codes: Vec<_> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    codes.sort();
    for code_dir in codes {
        println!("cargo:rerun-if-changed={}", code_dir.display());
        let invalid = code_dir.join("invalid.yaml");
        let valid = code_dir.join("valid.yaml");
        if invalid.exists() && valid.exists() {
            let code = code_dir.file_name().unwrap().to_string_lossy().to_string();
            writeln!(
                table,
                "    ({code:?}, include_str!({:?}), include_str!({:?})),",
                invalid.display().to_string(),
                valid.display().to_string()
            )
            .unwrap();
            println!("cargo:rerun-if-changed={}", invalid.display());
            println!("cargo:rerun-if-changed={}", valid.display());
        }
    }
    table.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").unwrap()).join("examples.rs");
    std::fs::write(out, table).unwrap();
}
