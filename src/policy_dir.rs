//! `policyctl run --policy-dir DIR`: the policies of a directory, found as Tetragon finds those
//! of its `--tracing-policy-dir` (`cmd/tetragon/main.go` loadTpFromDir): every regular file
//! (symbolic links followed) in DIR and in its subdirectories one level down, whatever its name,
//! in lexical order, the files of a subdirectory where its name sorts.

use std::path::{Path, PathBuf};

/// The files to load from `dir`, in order; an error names what cannot be read.
pub fn files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    walk(dir, 0, &mut out)?;
    Ok(out)
}

fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("--policy-dir: cannot read {}: {e}", dir.display()))?;
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        let Ok(meta) = std::fs::metadata(&path) else {
            continue; // a dangling link: nothing to load
        };
        if meta.is_dir() {
            // Tetragon walks the directory and its subdirectories, not theirs.
            if depth == 0 {
                walk(&path, depth + 1, out)?;
            }
        } else if meta.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tetragons_walk() {
        let d = std::env::temp_dir().join(format!("policyctl-policy-dir-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        for sub in ["b.d/deeper", "a.d"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        for f in [
            "z.yaml",
            "a.yaml",
            "no-extension",
            "a.d/x.yml",
            "b.d/y.yaml",
            "b.d/deeper/too-deep.yaml",
        ] {
            std::fs::write(d.join(f), "").unwrap();
        }
        std::os::unix::fs::symlink(d.join("a.yaml"), d.join("link.yaml")).unwrap();
        std::os::unix::fs::symlink(d.join("gone"), d.join("dangling.yaml")).unwrap();
        let got: Vec<String> = files(&d)
            .unwrap()
            .iter()
            .map(|p| p.strip_prefix(&d).unwrap().display().to_string())
            .collect();
        assert_eq!(
            got,
            [
                "a.d/x.yml",
                "a.yaml",
                "b.d/y.yaml",
                "link.yaml",
                "no-extension",
                "z.yaml"
            ]
        );
        assert!(files(&d.join("missing"))
            .unwrap_err()
            .contains("cannot read"));
        let _ = std::fs::remove_dir_all(&d);
    }
}
