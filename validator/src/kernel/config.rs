//! A kernel's build configuration (its `.config`), to tell which kernel features a kernel has.
//!
//! Tetragon's hooks depend on kernel options: LSM hooks need `CONFIG_BPF_LSM=y` and `bpf` in the
//! active LSM list (`CONFIG_LSM`, unless the boot command line overrides it), kprobes need
//! `CONFIG_KPROBES`, uprobes `CONFIG_UPROBES`, `Override` actions `CONFIG_FUNCTION_ERROR_INJECTION`
//! and `CONFIG_BPF_KPROBE_OVERRIDE`, and so on. [`KernelConfig`] reads such a file — plain, as
//! `/boot/config-<release>`, or gzip-compressed, as `/proc/config.gz` — and answers questions about
//! single options.
//!
//! The format is the one `make oldconfig` writes:
//!
//! ```text
//! CONFIG_BPF_LSM=y
//! CONFIG_BTRFS_FS=m
//! # CONFIG_KPROBES is not set
//! CONFIG_LSM="landlock,lockdown,yama,bpf"
//! CONFIG_NR_CPUS=8192
//! ```
//!
//! A complete `.config` lists every option that is visible in that configuration; an option that
//! is not there at all depends on something that is off, so it is not set either. That is why
//! [`KernelConfig::value`] answers [`ConfigValue::No`] for unknown names.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::path::Path;

/// The most decompressed text [`KernelConfig::read`] accepts (64 MiB). Real configs are about
/// 100–300 KiB; the limit keeps a corrupt file or a gzip bomb from eating memory.
const MAX_TEXT_BYTES: u64 = 64 * 1024 * 1024;

/// The gzip magic bytes.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// A kernel build configuration.
///
/// Options are kept by name without the `CONFIG_` prefix; every lookup accepts names with or
/// without it.
#[derive(Clone, Debug, Default)]
pub struct KernelConfig {
    /// Option name (without `CONFIG_`) to value, including options that are explicitly not set.
    options: BTreeMap<String, ConfigValue>,
}

/// One option's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigValue {
    /// `=y`: built in.
    Yes,
    /// `=m`: built as a module.
    Module,
    /// `=n`, `# CONFIG_X is not set`, or absent from the file.
    No,
    /// A number or string value, e.g. `CONFIG_NR_CPUS=8192` or `CONFIG_LSM="yama,bpf"`; quotes
    /// are removed and `\"` / `\\` escapes resolved.
    Text(String),
}

impl KernelConfig {
    /// Parse `.config` text: `CONFIG_X=y|m|n|"str"|123`, `# CONFIG_X is not set`, comments and
    /// blanks ignored; never panics.
    ///
    /// Lines that are none of these (no `CONFIG_` prefix, a name with characters other than
    /// letters, digits and `_`) are skipped. When an option appears twice the later line wins,
    /// as in Kconfig when merging fragments.
    pub fn parse(text: &str) -> KernelConfig {
        let mut options = BTreeMap::new();
        for line in text.lines() {
            let line = line.trim();
            if let Some(rest) = line.strip_prefix('#') {
                // `# CONFIG_X is not set`; any other comment is ignored.
                if let Some(name) = rest
                    .trim_start()
                    .strip_suffix("is not set")
                    .map(str::trim_end)
                    .and_then(|n| n.strip_prefix("CONFIG_"))
                {
                    if is_option_name(name) {
                        options.insert(name.to_owned(), ConfigValue::No);
                    }
                }
                continue;
            }
            let Some((name, raw)) = line.split_once('=') else {
                continue;
            };
            let Some(name) = name.trim_end().strip_prefix("CONFIG_") else {
                continue;
            };
            if !is_option_name(name) {
                continue;
            }
            options.insert(name.to_owned(), parse_value(raw.trim()));
        }
        KernelConfig { options }
    }

    /// Read a config file, plain or gzip-compressed (by magic bytes 1f 8b), e.g.
    /// `/proc/config.gz`.
    ///
    /// At most 64 MiB of (decompressed) text is read; a larger file gives an error of kind
    /// [`io::ErrorKind::InvalidData`], as does corrupt gzip data. Bytes that are not UTF-8 are
    /// replaced, not rejected.
    pub fn read(path: &Path) -> io::Result<KernelConfig> {
        let file = std::fs::File::open(path)?;
        let text = read_text(io::BufReader::new(file), MAX_TEXT_BYTES)?;
        Ok(KernelConfig::parse(&text))
    }

    /// The value; options absent from a complete .config are not set, so absent gives `No`.
    /// Accepts names with or without the `CONFIG_` prefix.
    pub fn value(&self, name: &str) -> ConfigValue {
        self.options
            .get(strip_prefix(name))
            .cloned()
            .unwrap_or(ConfigValue::No)
    }

    /// True for `y` or `m`.
    pub fn enabled(&self, name: &str) -> bool {
        matches!(
            self.options.get(strip_prefix(name)),
            Some(ConfigValue::Yes | ConfigValue::Module)
        )
    }

    /// For `CONFIG_LSM`-style comma lists: the list items (empty when unset).
    ///
    /// Items are trimmed and empty items dropped; an option whose value is `y`, `m` or `n`
    /// has no list and gives an empty one too.
    pub fn list(&self, name: &str) -> Vec<String> {
        match self.options.get(strip_prefix(name)) {
            Some(ConfigValue::Text(text)) => text
                .split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Number of options set (any value other than No).
    pub fn len(&self) -> usize {
        self.options
            .values()
            .filter(|v| **v != ConfigValue::No)
            .count()
    }

    /// True when no option is set.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `name` without a leading `CONFIG_`.
fn strip_prefix(name: &str) -> &str {
    name.strip_prefix("CONFIG_").unwrap_or(name)
}

/// A Kconfig symbol name (after `CONFIG_`): non-empty, letters, digits and `_`.
fn is_option_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The value of one `CONFIG_X=<raw>` line, `raw` already trimmed.
fn parse_value(raw: &str) -> ConfigValue {
    match raw {
        "y" => ConfigValue::Yes,
        "m" => ConfigValue::Module,
        "n" => ConfigValue::No,
        _ => match raw.strip_prefix('"') {
            Some(quoted) => ConfigValue::Text(unquote(quoted)),
            None => ConfigValue::Text(raw.to_owned()),
        },
    }
}

/// The text of a quoted string whose opening quote is already gone: up to the first unescaped
/// `"` (or the end, if it is missing), with `\x` turned into `x`.
fn unquote(quoted: &str) -> String {
    let mut out = String::with_capacity(quoted.len());
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => break,
            '\\' => {
                if let Some(escaped) = chars.next() {
                    out.push(escaped);
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// Read all of `reader` as text, gunzipping it when it starts with the gzip magic; more than
/// `limit` bytes of text is an `InvalidData` error.
fn read_text(mut reader: impl Read, limit: u64) -> io::Result<String> {
    // Read the first two bytes by hand (a short read must not hide the magic), then put them
    // back in front of the rest.
    let mut head = Vec::with_capacity(GZIP_MAGIC.len());
    (&mut reader)
        .take(GZIP_MAGIC.len() as u64)
        .read_to_end(&mut head)?;
    let is_gzip = head == GZIP_MAGIC;
    let whole = io::Cursor::new(head).chain(reader);
    let bytes = if is_gzip {
        // Multi-member: `gzip` output may be several concatenated members.
        read_limited(flate2::read::MultiGzDecoder::new(whole), limit)?
    } else {
        read_limited(whole, limit)?
    };
    Ok(match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
    })
}

/// At most `limit` bytes of `reader`; more is an `InvalidData` error, found by reading one byte
/// past the limit and no further.
fn read_limited(reader: impl Read, limit: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("kernel config is larger than {limit} bytes (decompressed)"),
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Where the fixture configs are (next to the BTF fixtures).
    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/btf");

    fn fixture(name: &str) -> KernelConfig {
        let path = Path::new(FIXTURES).join(name);
        KernelConfig::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn gzip(text: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(text).unwrap();
        enc.finish().unwrap()
    }

    /// A file under the system temp dir, removed when dropped.
    struct TempFile(std::path::PathBuf);

    impl TempFile {
        fn new(tag: &str, bytes: &[u8]) -> TempFile {
            let path = std::env::temp_dir()
                .join(format!("policyctl-kconfig-{}-{tag}", std::process::id()));
            std::fs::write(&path, bytes).unwrap();
            TempFile(path)
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    const SAMPLE: &str = "\
#
# Automatically generated file; DO NOT EDIT.
# Linux/x86 6.1.192 Kernel Configuration
#
CONFIG_CC_VERSION_TEXT=\"gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0\"
CONFIG_BPF_LSM=y
CONFIG_BTRFS_FS=m
CONFIG_EXPLICIT_NO=n
# CONFIG_KPROBES is not set
CONFIG_NR_CPUS=8192
CONFIG_ILLEGAL_POINTER_VALUE=0xdead000000000000

CONFIG_LSM=\"landlock,lockdown,yama,bpf\"
CONFIG_EMPTY_STRING=\"\"
";

    #[test]
    fn parses_each_line_form() {
        let c = KernelConfig::parse(SAMPLE);
        assert_eq!(c.value("BPF_LSM"), ConfigValue::Yes);
        assert_eq!(c.value("BTRFS_FS"), ConfigValue::Module);
        assert_eq!(c.value("EXPLICIT_NO"), ConfigValue::No);
        assert_eq!(c.value("KPROBES"), ConfigValue::No);
        assert_eq!(c.value("NR_CPUS"), ConfigValue::Text("8192".into()));
        assert_eq!(
            c.value("ILLEGAL_POINTER_VALUE"),
            ConfigValue::Text("0xdead000000000000".into())
        );
        assert_eq!(c.value("EMPTY_STRING"), ConfigValue::Text(String::new()));
        assert_eq!(c.value("NOT_IN_FILE"), ConfigValue::No);
        assert!(c.enabled("BPF_LSM"));
        assert!(c.enabled("BTRFS_FS"));
        assert!(!c.enabled("KPROBES"));
        assert!(!c.enabled("EXPLICIT_NO"));
        assert!(!c.enabled("NR_CPUS"));
        assert!(!c.enabled("NOT_IN_FILE"));
        // Set: CC_VERSION_TEXT, BPF_LSM, BTRFS_FS, NR_CPUS, ILLEGAL_POINTER_VALUE, LSM,
        // EMPTY_STRING.
        assert_eq!(c.len(), 7);
        assert!(!c.is_empty());
    }

    #[test]
    fn quoted_strings() {
        let c = KernelConfig::parse(
            "CONFIG_A=\"gcc (GCC) 15.3.0\"\n\
             CONFIG_B=\"say \\\"hi\\\" \\\\ done\"\n\
             CONFIG_C=\"unterminated\n\
             CONFIG_D=\"a\" trailing\n\
             CONFIG_E=\"k=v,x=y\"\n",
        );
        assert_eq!(c.value("A"), ConfigValue::Text("gcc (GCC) 15.3.0".into()));
        assert_eq!(c.value("B"), ConfigValue::Text("say \"hi\" \\ done".into()));
        assert_eq!(c.value("C"), ConfigValue::Text("unterminated".into()));
        assert_eq!(c.value("D"), ConfigValue::Text("a".into()));
        assert_eq!(c.value("E"), ConfigValue::Text("k=v,x=y".into()));
    }

    #[test]
    fn names_with_or_without_prefix() {
        let c = KernelConfig::parse(SAMPLE);
        assert_eq!(c.value("CONFIG_BPF_LSM"), c.value("BPF_LSM"));
        assert!(c.enabled("CONFIG_BTRFS_FS"));
        assert_eq!(c.list("CONFIG_LSM"), c.list("LSM"));
        assert_eq!(c.value("CONFIG_KPROBES"), ConfigValue::No);
    }

    #[test]
    fn lists() {
        let c = KernelConfig::parse(SAMPLE);
        assert_eq!(c.list("LSM"), ["landlock", "lockdown", "yama", "bpf"]);
        assert!(c.list("NOT_IN_FILE").is_empty());
        assert!(c.list("KPROBES").is_empty());
        assert!(c.list("BPF_LSM").is_empty());
        assert!(c.list("EMPTY_STRING").is_empty());
        let spaced = KernelConfig::parse("CONFIG_LSM=\" yama , ,bpf,\"");
        assert_eq!(spaced.list("LSM"), ["yama", "bpf"]);
    }

    #[test]
    fn skips_lines_that_are_not_options() {
        let c = KernelConfig::parse(
            "FOO=y\n\
             # just a comment = y\n\
             # CONFIG_ is not set\n\
             # CONFIG_BAD NAME is not set\n\
             CONFIG_BAD-NAME=y\n\
             CONFIG_=y\n\
             CONFIG_NO_EQUALS\n\
             #CONFIG_TIGHT is not set\n\
               CONFIG_INDENTED = y \r\n\
             CONFIG_LATER=y\n\
             CONFIG_LATER=m\n",
        );
        assert_eq!(c.value("FOO"), ConfigValue::No);
        assert_eq!(c.value("NO_EQUALS"), ConfigValue::No);
        assert_eq!(c.value("INDENTED"), ConfigValue::Yes);
        assert_eq!(c.value("LATER"), ConfigValue::Module);
        assert_eq!(c.value("TIGHT"), ConfigValue::No);
        assert_eq!(c.len(), 2);
        assert!(KernelConfig::parse("").is_empty());
        assert!(KernelConfig::default().is_empty());
    }

    #[test]
    fn garbage_does_not_panic() {
        let fixed = [
            "=",
            "==",
            "\"",
            "CONFIG_X=\"",
            "CONFIG_X=\"\\",
            "CONFIG_X=\"é\\ü",
            "# CONFIG_",
            "#",
            "# is not set",
            "CONFIG_\u{0}=\u{0}",
            "CONFIG_Ä=y",
            "\u{feff}CONFIG_A=y",
            "\r\n\r\n=\r",
        ];
        for text in fixed {
            let c = KernelConfig::parse(text);
            let _ = (c.len(), c.value("X"), c.list("X"), c.enabled("Ä"));
        }
        // Pseudo-random text from a small alphabet that hits every branch of the parser.
        let alphabet: Vec<char> = "CONFIG_XYnmy=\"\\#, is not set\n\r\té0".chars().collect();
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..2000 {
            let mut text = String::new();
            for _ in 0..(state % 200) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push(alphabet[(state % alphabet.len() as u64) as usize]);
            }
            let c = KernelConfig::parse(&text);
            let _ = (c.len(), c.value("X"), c.list("XY"), c.enabled("CONFIG_X"));
        }
        // Bytes that are not UTF-8 (and not valid gzip) through `read`.
        let bad = TempFile::new("garbage", &[0xff, 0xfe, b'\n', 0x80, b'C', 0xc3]);
        assert!(KernelConfig::read(&bad.0).unwrap().is_empty());
        let corrupt = TempFile::new("corrupt-gz", &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2]);
        assert!(KernelConfig::read(&corrupt.0).is_err());
        let magic_only = TempFile::new("magic-only", &[0x1f]);
        assert!(KernelConfig::read(&magic_only.0).unwrap().is_empty());
    }

    #[test]
    fn gzip_round_trip() {
        let plain = TempFile::new("plain", SAMPLE.as_bytes());
        let packed = TempFile::new("packed.gz", &gzip(SAMPLE.as_bytes()));
        let a = KernelConfig::read(&plain.0).unwrap();
        let b = KernelConfig::read(&packed.0).unwrap();
        assert_eq!(a.options, b.options);
        assert_eq!(b.value("NR_CPUS"), ConfigValue::Text("8192".into()));
        // Concatenated gzip members (as `cat a.gz b.gz` makes) are read as one text.
        let mut two = gzip(b"CONFIG_A=y\n");
        two.extend(gzip(b"CONFIG_B=m\n"));
        let two = TempFile::new("two.gz", &two);
        let c = KernelConfig::read(&two.0).unwrap();
        assert_eq!(
            (c.value("A"), c.value("B")),
            (ConfigValue::Yes, ConfigValue::Module)
        );
        let missing = Path::new(FIXTURES).join("no-such-config");
        assert_eq!(
            KernelConfig::read(&missing).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    }

    #[test]
    fn size_limit() {
        let text = b"CONFIG_A=y\n".repeat(10);
        assert_eq!(read_text(&text[..], 110).unwrap().len(), 110);
        let err = read_text(&text[..], 109).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let packed = gzip(&text);
        assert_eq!(read_text(&packed[..], 110).unwrap().len(), 110);
        let err = read_text(&packed[..], 109).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn gzip_bomb_is_refused() {
        // 65 MiB of newlines gzip to about 65 KiB; `read` must stop at 64 MiB.
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let chunk = vec![b'\n'; 1 << 20];
        for _ in 0..65 {
            enc.write_all(&chunk).unwrap();
        }
        let bomb = TempFile::new("bomb.gz", &enc.finish().unwrap());
        let err = KernelConfig::read(&bomb.0).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    /// Options recorded in `testdata/btf/README.md`, the same in all three fixtures.
    fn assert_common(c: &KernelConfig) {
        assert_eq!(c.value("BPF_LSM"), ConfigValue::Yes);
        assert!(!c.enabled("FUNCTION_ERROR_INJECTION"));
        assert_eq!(c.value("FUNCTION_ERROR_INJECTION"), ConfigValue::No);
        assert_eq!(c.value("BPF_KPROBE_OVERRIDE"), ConfigValue::No);
        assert!(c.list("LSM").iter().any(|lsm| lsm == "bpf"));
        for yes in [
            "UPROBES",
            "UPROBE_EVENTS",
            "DEBUG_INFO_BTF",
            "FTRACE_SYSCALLS",
            "BPF_JIT",
            "DYNAMIC_FTRACE_WITH_DIRECT_CALLS",
            "HAVE_KPROBES",
        ] {
            assert_eq!(c.value(yes), ConfigValue::Yes, "{yes}");
        }
    }

    #[test]
    fn fixture_debian_6_1() {
        let c = fixture("6.1.0-56-amd64.config.gz");
        assert_common(&c);
        assert_eq!(c.len(), 6441);
        assert!(c.enabled("KPROBES"));
        assert!(c.enabled("CONFIG_KPROBE_EVENTS"));
        assert!(c.enabled("DEBUG_INFO_BTF_MODULES"));
        assert_eq!(c.value("FPROBE"), ConfigValue::No);
        assert_eq!(
            c.list("LSM"),
            [
                "landlock",
                "lockdown",
                "yama",
                "loadpin",
                "safesetid",
                "integrity",
                "apparmor",
                "selinux",
                "smack",
                "tomoyo",
                "bpf"
            ]
        );
    }

    #[test]
    fn fixture_debian_6_12() {
        let c = fixture("6.12.117+deb12-amd64.config.gz");
        assert_common(&c);
        assert_eq!(c.len(), 6896);
        assert!(c.enabled("KPROBES"));
        assert!(c.enabled("KPROBE_EVENTS"));
        assert!(c.enabled("DEBUG_INFO_BTF_MODULES"));
        assert_eq!(c.value("FPROBE"), ConfigValue::Yes);
        assert_eq!(
            c.list("LSM"),
            [
                "landlock",
                "lockdown",
                "yama",
                "loadpin",
                "safesetid",
                "integrity",
                "apparmor",
                "selinux",
                "smack",
                "tomoyo",
                "bpf",
                "ipe"
            ]
        );
    }

    #[test]
    fn fixture_machine_6_18() {
        let c = fixture("6.18.44-fc-v769.config.gz");
        assert_common(&c);
        assert_eq!(c.len(), 1745);
        // Taken from the v782 rebuild of the same kernel (see the README).
        assert_eq!(
            c.value("LOCALVERSION"),
            ConfigValue::Text("-fc-v782".into())
        );
        assert_eq!(c.value("KPROBES"), ConfigValue::No);
        assert!(!c.enabled("KPROBE_EVENTS"));
        assert_eq!(c.value("FPROBE"), ConfigValue::No);
        assert_eq!(c.value("MODULES"), ConfigValue::No);
        assert_eq!(c.value("DEBUG_INFO_BTF_MODULES"), ConfigValue::No);
        assert_eq!(
            c.list("LSM"),
            [
                "landlock",
                "lockdown",
                "yama",
                "loadpin",
                "safesetid",
                "integrity",
                "smack",
                "tomoyo",
                "apparmor",
                "bpf"
            ]
        );
    }
}
