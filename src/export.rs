//! `policyctl run --export FILE`: every event as a JSON line to a file that rotates by size, as
//! Tetragon's JSON export does (`cmd/tetragon/main.go` getExporter, a `lumberjack.Logger` with
//! the flags of `pkg/option/flags.go`: `--export-file-max-size-mb` (default 10),
//! `--export-file-max-backups` (5), `--export-file-compress` (off), `--export-file-perm` (600)).
//!
//! A line is never split across files: when it would take the file past its size, the file is
//! closed and renamed `<name>-<UTC time>.<ext>` (lumberjack's backup name, `2006-01-02T15-04-05.000`),
//! gzipped to `.gz` when asked, the oldest backups past the limit are removed, and a new file
//! is started. Nothing is lost across a rotation: the line goes to the new file.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The export options of `policyctl run` (Tetragon's flag names).
#[derive(clap::Args, Clone, Debug)]
pub struct ExportArgs {
    /// Write every event as a JSON line to FILE too (Tetragon's `--export-filename`), whatever
    /// `--output` prints.
    #[arg(
        long = "export",
        visible_alias = "export-filename",
        value_name = "FILE"
    )]
    pub file: Option<PathBuf>,
    /// Rotate the export file before it grows past this many MiB.
    #[arg(long = "export-file-max-size-mb", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1024 * 1024), requires = "file")]
    pub max_size_mb: u32,
    /// Rotated export files to keep (0: keep them all, as lumberjack does).
    #[arg(
        long = "export-file-max-backups",
        default_value_t = 5,
        requires = "file"
    )]
    pub max_backups: usize,
    /// Gzip rotated export files.
    #[arg(long = "export-file-compress", requires = "file")]
    pub compress: bool,
    /// Permissions of the export files, in octal.
    #[arg(long = "export-file-perm", default_value = "600", value_parser = parse_perm, requires = "file")]
    pub perm: u32,
}

fn parse_perm(text: &str) -> Result<u32, String> {
    u32::from_str_radix(text, 8)
        .ok()
        .filter(|p| *p <= 0o777)
        .ok_or_else(|| format!("`{text}` is not octal file permissions (like 600 or 640)"))
}

/// The export file being written.
pub struct Exporter {
    path: PathBuf,
    max_bytes: u64,
    max_backups: usize,
    compress: bool,
    perm: u32,
    file: BufWriter<File>,
    written: u64,
    /// Rotations so far (for a unique backup name within one millisecond).
    rotations: u64,
}

impl Exporter {
    /// Open (append to) the export file; an error names the file.
    pub fn open(args: &ExportArgs) -> Result<Option<Exporter>, String> {
        let Some(path) = &args.file else {
            return Ok(None);
        };
        if path.is_dir() {
            return Err(format!("--export: {} is a directory", path.display()));
        }
        let (file, written) = open_file(path, args.perm)?;
        Ok(Some(Exporter {
            path: path.clone(),
            max_bytes: u64::from(args.max_size_mb) << 20,
            max_backups: args.max_backups,
            compress: args.compress,
            perm: args.perm,
            file,
            written,
            rotations: 0,
        }))
    }

    /// Write one event line, rotating first when it would take the file past its size.
    pub fn write_line(&mut self, line: &str) -> std::io::Result<()> {
        let len = line.len() as u64 + 1;
        if self.written > 0 && self.written + len > self.max_bytes {
            self.rotate()?;
        }
        self.file.write_all(line.as_bytes())?;
        self.file.write_all(b"\n")?;
        self.written += len;
        Ok(())
    }

    /// Flush what is buffered to the file.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        self.file.flush()?;
        let backup = self.backup_name();
        std::fs::rename(&self.path, &backup)?;
        let (file, written) = open_file(&self.path, self.perm).map_err(std::io::Error::other)?;
        self.file = file;
        self.written = written;
        self.rotations += 1;
        if self.compress {
            gzip(&backup, self.perm)?;
        }
        self.prune()
    }

    /// `<stem>-<UTC time>.<ext>` next to the file, as lumberjack names backups.
    fn backup_name(&self) -> PathBuf {
        let stem = self
            .path
            .file_stem()
            .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
        let ext = self
            .path
            .extension()
            .map_or_else(String::new, |e| format!(".{}", e.to_string_lossy()));
        let time = utc_stamp();
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let mut name = dir.join(format!("{stem}-{time}{ext}"));
        let mut n = 1;
        while name.exists()
            || name
                .with_extension(format!("{}.gz", &ext.trim_start_matches('.')))
                .exists()
        {
            name = dir.join(format!("{stem}-{time}-{n}{ext}"));
            n += 1;
        }
        name
    }

    /// Remove the oldest backups past `max_backups` (0 keeps them all).
    fn prune(&self) -> std::io::Result<()> {
        if self.max_backups == 0 {
            return Ok(());
        }
        let mut backups = backups_of(&self.path);
        if backups.len() <= self.max_backups {
            return Ok(());
        }
        // Names sort by time: the stamp is fixed-width.
        backups.sort();
        for old in &backups[..backups.len() - self.max_backups] {
            std::fs::remove_file(old)?;
        }
        Ok(())
    }
}

/// The rotated files of an export file, compressed or not.
pub fn backups_of(path: &Path) -> Vec<PathBuf> {
    let stem = path
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    let prefix = format!("{stem}-");
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p != path
                && p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                    n.starts_with(&prefix)
                        && n.as_bytes()
                            .get(prefix.len())
                            .is_some_and(u8::is_ascii_digit)
                })
        })
        .collect()
}

fn open_file(path: &Path, perm: u32) -> Result<(BufWriter<File>, u64), String> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(perm)
        .open(path)
        .map_err(|e| format!("--export: cannot open {}: {e}", path.display()))?;
    // The mode of a file that already existed is set too, as lumberjack does.
    let _ = file.set_permissions(std::fs::Permissions::from_mode(perm));
    let written = file.metadata().map(|m| m.len()).unwrap_or(0);
    Ok((BufWriter::with_capacity(64 * 1024, file), written))
}

/// Gzip `path` to `path.gz` with `perm`, then remove `path`.
fn gzip(path: &Path, perm: u32) -> std::io::Result<()> {
    let mut gz_name = path.as_os_str().to_owned();
    gz_name.push(".gz");
    let out = OpenOptions::new()
        .create_new(true)
        .write(true)
        .mode(perm)
        .open(&gz_name)?;
    let mut enc =
        flate2::write::GzEncoder::new(BufWriter::new(out), flate2::Compression::default());
    std::io::copy(&mut File::open(path)?, &mut enc)?;
    enc.finish()?.flush()?;
    std::fs::remove_file(path)
}

/// Now in UTC as `2006-01-02T15-04-05.000` (lumberjack's backup time format).
fn utc_stamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}-{:02}-{:02}.{:03}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        now.subsec_millis()
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (Howard Hinnant's
/// algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn args(dir: &Path, compress: bool, backups: usize) -> ExportArgs {
        ExportArgs {
            file: Some(dir.join("events.json")),
            max_size_mb: 1,
            max_backups: backups,
            compress,
            perm: 0o600,
        }
    }

    fn tempdir(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("policyctl-export-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn lines_of(path: &Path) -> Vec<String> {
        let mut text = String::new();
        if path.extension().is_some_and(|e| e == "gz") {
            flate2::read::GzDecoder::new(File::open(path).unwrap())
                .read_to_string(&mut text)
                .unwrap();
        } else {
            text = std::fs::read_to_string(path).unwrap();
        }
        text.lines().map(str::to_string).collect()
    }

    /// Every line written is in exactly one file, whole, in order, across rotations; files stay
    /// under the size; the oldest backups beyond the limit are gone; modes are 0600.
    #[test]
    fn rotation_loses_nothing() {
        for compress in [false, true] {
            let dir = tempdir(if compress { "gz" } else { "plain" });
            let mut e = Exporter::open(&args(&dir, compress, 0)).unwrap().unwrap();
            let n = 30_000;
            for i in 0..n {
                e.write_line(&format!(
                    "{{\"n\":{i},\"pad\":\"{}\"}}",
                    "x".repeat(i % 200)
                ))
                .unwrap();
            }
            e.flush().unwrap();
            let mut files = backups_of(&dir.join("events.json"));
            assert!(files.len() >= 2, "{files:?}");
            files.sort();
            files.push(dir.join("events.json"));
            let mut all = Vec::new();
            for f in &files {
                assert_eq!(
                    f.extension().is_some_and(|x| x == "gz"),
                    compress && f != &dir.join("events.json"),
                    "{f:?}"
                );
                let mode = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{f:?}");
                if !compress {
                    assert!(std::fs::metadata(f).unwrap().len() <= 1 << 20, "{f:?}");
                }
                all.extend(lines_of(f));
            }
            let want: Vec<String> = (0..n)
                .map(|i| format!("{{\"n\":{i},\"pad\":\"{}\"}}", "x".repeat(i % 200)))
                .collect();
            assert_eq!(all.len(), want.len());
            assert!(all == want, "lines lost, split or reordered");
            let _ = std::fs::remove_dir_all(&dir);
        }
    }

    #[test]
    fn old_backups_beyond_the_limit_are_removed() {
        let dir = tempdir("prune");
        let mut e = Exporter::open(&args(&dir, false, 2)).unwrap().unwrap();
        let line = "y".repeat(100_000);
        for _ in 0..60 {
            e.write_line(&line).unwrap();
        }
        e.flush().unwrap();
        assert_eq!(backups_of(&dir.join("events.json")).len(), 2);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn stamps_are_lumberjacks() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_793), (2026, 12, 6));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        let s = utc_stamp();
        assert_eq!(s.len(), "2006-01-02T15-04-05.000".len(), "{s}");
        assert_eq!(parse_perm("640"), Ok(0o640));
        assert!(parse_perm("999").is_err());
    }
}
