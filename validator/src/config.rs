//! The project file, `policyctl.toml`: the fleet's kernels, which files a directory walk
//! checks, default options and the code selection, read the same way by `check`, `lsp` (and
//! later `run`). Found by walking up from a checked path ([`find`]); command-line flags
//! override it.
//!
//! ```toml
//! deny-warnings = true
//! format = "github"
//! include = ["policies/**"]
//! exclude = ["**/templates/**"]
//! select = ["P", "K", "C"]
//! ignore = ["P041"]
//!
//! [severity]
//! P042 = "error"
//! K021 = "off"
//!
//! [[kernel]]
//! name = "prod-6.1"
//! btf = "kernels/6.1.0-56-amd64.btf.zst"
//! error-injection = "kernels/6.1.0-56-amd64.error-injection.txt"
//! config = "kernels/6.1.0-56-amd64.config.gz"
//! modules = ["kernels/nf_tables.ko"]
//! ```
//!
//! Every key is described once, in [`TOP`] and [`KERNEL`]: the reader, the unknown-key
//! suggestions and the JSON Schema in `schema/policyctl.json` ([`json_schema_text`]) read them.

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value as Json};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::kernel::KernelSpec;
use crate::source::{SourceFile, Span};
use crate::suppress::{Level, Rule, Selection};

/// The file's name.
pub const FILE_NAME: &str = "policyctl.toml";

/// Most bytes a project file may have.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// The output formats `format` accepts.
pub const FORMATS: &[&str] = &["text", "json", "github", "sarif"];

/// What a key holds.
#[derive(Clone, Copy, Debug)]
pub enum Shape {
    /// `true` or `false`.
    Bool,
    /// One of these strings.
    OneOf(&'static [&'static str]),
    /// A path, relative to the file.
    Path,
    /// A list of paths.
    Paths,
    /// A name.
    Name,
    /// A list of glob patterns.
    Globs,
    /// A list of codes or prefixes.
    Rules,
    /// A table of codes or prefixes to a level.
    Severities,
    /// The `[[kernel]]` tables.
    Kernels,
}

/// One key of the file.
#[derive(Debug)]
pub struct Key {
    /// As written in the file.
    pub name: &'static str,
    /// What it holds.
    pub shape: Shape,
    /// Whether it must be there.
    pub required: bool,
    /// One line for the schema and the errors.
    pub doc: &'static str,
}

/// The top-level keys.
pub const TOP: &[Key] = &[
    Key {
        name: "kernel",
        shape: Shape::Kernels,
        required: false,
        doc: "The kernels policies are checked against, one `[[kernel]]` table each (as `--btf NAME=FILE` with its `--error-injection`, `--kernel-config`, `--btf-module`). Without any, `check` uses the running kernel.",
    },
    Key {
        name: "include",
        shape: Shape::Globs,
        required: false,
        doc: "Glob patterns (relative to this file; `*`, `?`, `**`) of the files a directory walk checks; default: every *.yaml and *.yml file. A pattern without `/` matches a name at any depth. Files named on the command line are always checked.",
    },
    Key {
        name: "exclude",
        shape: Shape::Globs,
        required: false,
        doc: "Glob patterns (relative to this file) of files and directories a directory walk leaves out.",
    },
    Key {
        name: "deny-warnings",
        shape: Shape::Bool,
        required: false,
        doc: "Fail (exit 1) on warnings too, as `--deny-warnings`.",
    },
    Key {
        name: "format",
        shape: Shape::OneOf(FORMATS),
        required: false,
        doc: "The output format of `check`, as `--format`.",
    },
    Key {
        name: "select",
        shape: Shape::Rules,
        required: false,
        doc: "Report only these codes or prefixes (`P`, `K02`, `P041`), as `--select`; default: every code.",
    },
    Key {
        name: "ignore",
        shape: Shape::Rules,
        required: false,
        doc: "Never report these codes or prefixes, as `--ignore`. Between `select` and `ignore`, the longer code or prefix that matches decides.",
    },
    Key {
        name: "severity",
        shape: Shape::Severities,
        required: false,
        doc: "The severity of a code or prefix: `error`, `warning`, `info`, or `off` (not reported). A longer prefix wins.",
    },
];

/// The keys of a `[[kernel]]` table.
pub const KERNEL: &[Key] = &[
    Key {
        name: "name",
        shape: Shape::Name,
        required: true,
        doc: "The kernel's name in diagnostics (no `=` or `/`).",
    },
    Key {
        name: "btf",
        shape: Shape::Path,
        required: true,
        doc: "Its BTF: raw, zstd or ELF (`/sys/kernel/btf/vmlinux` of that kernel).",
    },
    Key {
        name: "error-injection",
        shape: Shape::Path,
        required: false,
        doc: "Its error-injection list (the format of /sys/kernel/debug/error_injection/list).",
    },
    Key {
        name: "config",
        shape: Shape::Path,
        required: false,
        doc: "Its build configuration (.config, plain or gzip).",
    },
    Key {
        name: "modules",
        shape: Shape::Paths,
        required: false,
        doc: "Split BTF of its modules (a `.ko` or /sys/kernel/btf/<module>).",
    },
];

/// A project file, read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Config {
    /// The file.
    pub path: PathBuf,
    /// The kernels, paths made absolute against the file's directory.
    pub kernels: Vec<KernelSpec>,
    /// Include patterns.
    pub include: Vec<String>,
    /// Exclude patterns.
    pub exclude: Vec<String>,
    /// `deny-warnings`, if set.
    pub deny_warnings: Option<bool>,
    /// `format`, if set (one of [`FORMATS`]).
    pub format: Option<String>,
    /// `select`, `ignore` and `[severity]`.
    pub selection: Selection,
}

/// A project file that cannot be used: where and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The file.
    pub path: PathBuf,
    /// `line:column` (1-based) of the mistake, when it has a place.
    pub at: Option<(usize, usize)>,
    /// What is wrong (and how to fix it).
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.at {
            Some((line, col)) => {
                write!(f, "{}:{line}:{col}: {}", self.path.display(), self.message)
            }
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

/// The nearest `policyctl.toml` at or above `start` (a file or a directory; made absolute
/// against the current directory).
pub fn find(start: &Path) -> Option<PathBuf> {
    let start = std::path::absolute(start).ok()?;
    let mut dir = if start.is_dir() {
        Some(start.as_path())
    } else {
        start.parent()
    };
    while let Some(d) = dir {
        let candidate = d.join(FILE_NAME);
        if candidate.is_file() {
            return Some(candidate);
        }
        dir = d.parent();
    }
    None
}

/// Read a project file (a regular file of at most [`MAX_CONFIG_BYTES`]).
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let err = |message: String| ConfigError {
        path: path.to_path_buf(),
        at: None,
        message,
    };
    let meta = std::fs::metadata(path).map_err(|e| err(format!("cannot read it: {e}")))?;
    if !meta.is_file() {
        return Err(err("not a regular file".into()));
    }
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(err(format!(
            "{} bytes; a project file has at most {MAX_CONFIG_BYTES}",
            meta.len()
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read it: {e}")))?;
    parse(path, &text)
}

/// The project file for `start`: the nearest one above it, read; `Ok(None)` when there is none.
pub fn discover(start: &Path) -> Result<Option<Config>, ConfigError> {
    find(start).map(|p| load(&p)).transpose()
}

/// Read the text of a project file at `path` (relative paths in it are relative to the file's
/// directory).
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    let source = SourceFile::new(path.display().to_string(), text);
    let fail = |span: Option<Span>, message: String| ConfigError {
        path: path.to_path_buf(),
        at: span.map(|s| {
            let p = source.position(s.start);
            (p.line, p.column)
        }),
        message,
    };
    let table = DeTable::parse(text).map_err(|e| {
        fail(
            e.span().map(|r| Span::new(r.start, r.end)),
            format!("not valid TOML: {}", e.message().trim()),
        )
    })?;
    let dir = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let mut config = Config {
        path: path.to_path_buf(),
        ..Config::default()
    };
    let r = Reader { fail: &fail, dir };
    for (key, value) in table.get_ref() {
        let k = r.key(key, TOP, "")?;
        let v = value.get_ref();
        let span = span_of(value);
        match k.name {
            "kernel" => {
                let DeValue::Array(items) = v else {
                    return Err(fail(
                        Some(span),
                        "`kernel` is a list of tables: write each as `[[kernel]]`".into(),
                    ));
                };
                for item in items {
                    let spec = r.kernel(item)?;
                    if let Some(prev) = config.kernels.iter().find(|k| k.name == spec.name) {
                        return Err(fail(
                            Some(span_of(item)),
                            format!(
                                "two kernels are named {}; give each its own name",
                                prev.name.as_deref().unwrap_or_default()
                            ),
                        ));
                    }
                    config.kernels.push(spec);
                }
            }
            "include" => config.include = r.globs(k, value)?,
            "exclude" => config.exclude = r.globs(k, value)?,
            "deny-warnings" => match v {
                DeValue::Boolean(b) => config.deny_warnings = Some(*b),
                _ => return Err(r.wrong(k, value)),
            },
            "format" => config.format = Some(r.one_of(k, value, FORMATS)?),
            "select" => config.selection.select = Some(r.rules(k, value)?),
            "ignore" => config.selection.ignore = r.rules(k, value)?,
            "severity" => {
                let DeValue::Table(t) = v else {
                    return Err(r.wrong(k, value));
                };
                for (code, level) in t {
                    let rule = Rule::parse(code.get_ref())
                        .map_err(|e| fail(Some(span_of(code)), format!("[severity]: {e}")))?;
                    let level = match level.get_ref() {
                        DeValue::String(s) => Level::parse(s),
                        _ => None,
                    }
                    .ok_or_else(|| {
                        fail(
                            Some(span_of(level)),
                            format!(
                                "[severity] {}: write one of {}",
                                code.get_ref(),
                                quoted(Level::NAMES)
                            ),
                        )
                    })?;
                    config.selection.severity.push((rule, level));
                }
            }
            _ => unreachable!("every key of TOP is read"),
        }
    }
    Ok(config)
}

fn span_of<T>(s: &Spanned<T>) -> Span {
    let r = s.span();
    Span::new(r.start, r.end)
}

fn quoted(names: &[&str]) -> String {
    let q: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
    q.join(", ")
}

/// Reads values, with the file's directory and its error maker.
struct Reader<'a> {
    fail: &'a dyn Fn(Option<Span>, String) -> ConfigError,
    dir: PathBuf,
}

impl Reader<'_> {
    /// The known key `key` names in `keys`, or an error with the closest one.
    fn key(
        &self,
        key: &Spanned<std::borrow::Cow<'_, str>>,
        keys: &'static [Key],
        table: &str,
    ) -> Result<&'static Key, ConfigError> {
        let name = key.get_ref();
        if let Some(k) = keys.iter().find(|k| k.name == name.as_ref()) {
            return Ok(k);
        }
        let names: Vec<&str> = keys.iter().map(|k| k.name).collect();
        let hint = match crate::suggest::did_you_mean(name, &names) {
            Some(m) => format!("; did you mean `{m}`?"),
            None => format!("; the keys are {}", names.join(", ")),
        };
        Err((self.fail)(
            Some(span_of(key)),
            format!("unknown key `{name}`{table}{hint}"),
        ))
    }

    fn wrong(&self, key: &Key, value: &Spanned<DeValue<'_>>) -> ConfigError {
        let want = match key.shape {
            Shape::Bool => "`true` or `false`".to_string(),
            Shape::OneOf(names) => format!("one of {}", quoted(names)),
            Shape::Path | Shape::Name => "a string".into(),
            Shape::Paths | Shape::Globs => "a list of strings".into(),
            Shape::Rules => "a list of codes or prefixes, as [\"P041\", \"K\"]".into(),
            Shape::Severities => "a table, as `[severity]` with `P041 = \"error\"`".into(),
            Shape::Kernels => "`[[kernel]]` tables".into(),
        };
        (self.fail)(Some(span_of(value)), format!("`{}` takes {want}", key.name))
    }

    fn string(&self, key: &Key, value: &Spanned<DeValue<'_>>) -> Result<String, ConfigError> {
        match value.get_ref() {
            DeValue::String(s) => Ok(s.to_string()),
            _ => Err(self.wrong(key, value)),
        }
    }

    fn strings(
        &self,
        key: &Key,
        value: &Spanned<DeValue<'_>>,
    ) -> Result<Vec<(String, Span)>, ConfigError> {
        let DeValue::Array(items) = value.get_ref() else {
            return Err(self.wrong(key, value));
        };
        items
            .iter()
            .map(|i| match i.get_ref() {
                DeValue::String(s) => Ok((s.to_string(), span_of(i))),
                _ => Err(self.wrong(key, value)),
            })
            .collect()
    }

    fn one_of(
        &self,
        key: &Key,
        value: &Spanned<DeValue<'_>>,
        names: &[&str],
    ) -> Result<String, ConfigError> {
        let s = self.string(key, value)?;
        if names.contains(&s.as_str()) {
            return Ok(s);
        }
        let hint = crate::suggest::did_you_mean(&s, names)
            .map_or_else(String::new, |m| format!("; did you mean `{m}`?"));
        Err((self.fail)(
            Some(span_of(value)),
            format!(
                "`{}` is one of {}, not \"{s}\"{hint}",
                key.name,
                quoted(names)
            ),
        ))
    }

    fn globs(&self, key: &Key, value: &Spanned<DeValue<'_>>) -> Result<Vec<String>, ConfigError> {
        let globs = self.strings(key, value)?;
        for (g, span) in &globs {
            if g.is_empty() || g.starts_with('/') {
                return Err((self.fail)(
                    Some(*span),
                    format!(
                        "`{}`: a pattern is relative to this file's directory, not empty or absolute",
                        key.name
                    ),
                ));
            }
        }
        Ok(globs.into_iter().map(|(g, _)| g).collect())
    }

    fn rules(&self, key: &Key, value: &Spanned<DeValue<'_>>) -> Result<Vec<Rule>, ConfigError> {
        self.strings(key, value)?
            .into_iter()
            .map(|(s, span)| {
                Rule::parse(&s).map_err(|e| (self.fail)(Some(span), format!("`{}`: {e}", key.name)))
            })
            .collect()
    }

    fn path(&self, key: &Key, value: &Spanned<DeValue<'_>>) -> Result<PathBuf, ConfigError> {
        let p = self.string(key, value)?;
        if p.is_empty() {
            return Err((self.fail)(
                Some(span_of(value)),
                format!("`{}` names no file", key.name),
            ));
        }
        Ok(self.dir.join(p))
    }

    /// One `[[kernel]]` table.
    fn kernel(&self, item: &Spanned<DeValue<'_>>) -> Result<KernelSpec, ConfigError> {
        let DeValue::Table(t) = item.get_ref() else {
            return Err((self.fail)(
                Some(span_of(item)),
                "`kernel` is a list of tables: write each as `[[kernel]]`".into(),
            ));
        };
        let mut spec = KernelSpec::default();
        let mut btf = None;
        for (key, value) in t {
            let k = self.key(key, KERNEL, " in [[kernel]]")?;
            match k.name {
                "name" => {
                    let name = self.string(k, value)?;
                    if name.is_empty() || name.contains(['=', '/']) {
                        return Err((self.fail)(
                            Some(span_of(value)),
                            "a kernel's name is not empty and has no `=` or `/`".into(),
                        ));
                    }
                    spec.name = Some(name);
                }
                "btf" => btf = Some(self.path(k, value)?),
                "error-injection" => spec.error_injection = Some(self.path(k, value)?),
                "config" => spec.config = Some(self.path(k, value)?),
                "modules" => {
                    spec.modules = self
                        .strings(k, value)?
                        .into_iter()
                        .map(|(p, _)| self.dir.join(p))
                        .collect();
                }
                _ => unreachable!("every key of KERNEL is read"),
            }
        }
        for k in KERNEL.iter().filter(|k| k.required) {
            let missing = match k.name {
                "name" => spec.name.is_none(),
                _ => btf.is_none(),
            };
            if missing {
                return Err((self.fail)(
                    Some(span_of(item)),
                    format!("a [[kernel]] needs `{}`: {}", k.name, k.doc),
                ));
            }
        }
        spec.btf = btf.unwrap_or_default();
        Ok(spec)
    }
}

impl Config {
    /// The directory patterns are relative to.
    pub fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    /// Whether a directory walk checks `path` (a file found under a checked directory): it
    /// matches an `include` pattern (if any) and no `exclude` pattern, relative to the file's
    /// directory. A file outside that directory is checked.
    pub fn walks(&self, path: &Path) -> bool {
        let Some(rel) = self.relative(path) else {
            return true;
        };
        let included = self.include.is_empty() || self.include.iter().any(|g| matches(g, &rel));
        included && !self.exclude.iter().any(|g| matches(g, &rel))
    }

    /// Whether an `exclude` pattern leaves out `path` (a directory, or a file).
    pub fn excludes(&self, path: &Path) -> bool {
        self.relative(path)
            .is_some_and(|rel| self.exclude.iter().any(|g| matches(g, &rel)))
    }

    /// `path` relative to the file's directory, with `/` separators; `None` outside it.
    fn relative(&self, path: &Path) -> Option<String> {
        let abs = std::path::absolute(path).ok()?;
        let dir = std::path::absolute(self.dir()).unwrap_or_else(|_| self.dir().to_path_buf());
        let rel = abs.strip_prefix(&dir).ok()?;
        Some(rel.to_string_lossy().into_owned())
    }
}

/// Whether the glob `pattern` matches the relative path `path` or one of its parent
/// directories. `*` and `?` stay within a path segment, `**` spans segments; a pattern
/// without `/` matches a name at any depth.
pub fn matches(pattern: &str, path: &str) -> bool {
    let pattern = pattern.trim_start_matches("./");
    let anchored;
    let pattern = if pattern.contains('/') {
        pattern.trim_end_matches('/')
    } else {
        anchored = format!("**/{pattern}");
        &anchored
    };
    let p: Vec<&str> = pattern.split('/').collect();
    let segs: Vec<&str> = path.split('/').collect();
    (1..=segs.len()).any(|n| match_segments(&p, &segs[..n]))
}

fn match_segments(p: &[&str], s: &[&str]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((&"**", rest)) => (0..=s.len()).any(|i| match_segments(rest, &s[i..])),
        Some((first, rest)) => {
            !s.is_empty()
                && match_segment(first.as_bytes(), s[0].as_bytes())
                && match_segments(rest, &s[1..])
        }
    }
}

fn match_segment(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| match_segment(rest, &s[i..])),
        Some((b'?', rest)) => !s.is_empty() && match_segment(rest, &s[1..]),
        Some((c, rest)) => s.first() == Some(c) && match_segment(rest, &s[1..]),
    }
}

/// The JSON Schema of `policyctl.toml` (draft-07), from [`TOP`] and [`KERNEL`].
pub fn json_schema() -> Json {
    fn shape(key: &Key) -> Json {
        let mut s = match key.shape {
            Shape::Bool => json!({"type": "boolean"}),
            Shape::OneOf(names) => json!({"type": "string", "enum": names}),
            Shape::Path | Shape::Name => json!({"type": "string", "minLength": 1}),
            Shape::Paths | Shape::Globs => {
                json!({"type": "array", "items": {"type": "string", "minLength": 1}})
            }
            Shape::Rules => json!({"type": "array", "items": {"$ref": "#/definitions/rule"}}),
            Shape::Severities => json!({
                "type": "object",
                "propertyNames": {"$ref": "#/definitions/rule"},
                "additionalProperties": {"type": "string", "enum": Level::NAMES},
            }),
            Shape::Kernels => json!({"type": "array", "items": {"$ref": "#/definitions/kernel"}}),
        };
        s["description"] = json!(key.doc);
        s
    }
    fn object(keys: &[Key]) -> Json {
        let props: Map<String, Json> = keys
            .iter()
            .map(|k| (k.name.to_string(), shape(k)))
            .collect();
        let required: Vec<&str> = keys.iter().filter(|k| k.required).map(|k| k.name).collect();
        let mut o = json!({"type": "object", "properties": props, "additionalProperties": false});
        if !required.is_empty() {
            o["required"] = json!(required);
        }
        o
    }
    // Every code and every prefix of one, as the reader accepts them (any case). JSON Schema
    // patterns are ECMA-262 regular expressions: no inline flags, so both cases are listed.
    let mut families: Vec<char> = crate::codes::ALL
        .iter()
        .filter_map(|c| c.as_str().chars().next())
        .flat_map(|c| [c.to_ascii_uppercase(), c.to_ascii_lowercase()])
        .collect();
    families.sort_unstable();
    families.dedup();
    let families: String = families.into_iter().collect();
    let rule = format!("^[{families}][0-9]{{0,3}}$");
    let mut kernel = object(KERNEL);
    kernel["properties"]["name"]["pattern"] = json!("^[^=/]+$");
    let body = object(TOP);
    let mut root = Map::new();
    root.insert(
        "$schema".into(),
        json!("http://json-schema.org/draft-07/schema#"),
    );
    root.insert(
        "$id".into(),
        json!("https://raw.githubusercontent.com/policyctl/policyctl/main/schema/policyctl.json"),
    );
    root.insert("title".into(), json!("policyctl.toml"));
    root.insert(
        "description".into(),
        json!("The project file of policyctl: kernels, files, options and the codes reported. Generated from validator/src/config.rs."),
    );
    if let Json::Object(fields) = body {
        root.extend(fields);
    }
    root.insert(
        "definitions".into(),
        json!({
            "kernel": kernel,
            "rule": {
                "type": "string",
                "pattern": rule,
                "description": "A code (`P041`) or a prefix of codes (`P`, `K02`); `policyctl explain --all` lists them."
            }
        }),
    );
    Json::Object(root)
}

/// [`json_schema`] as the text of `schema/policyctl.json`.
pub fn json_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&json_schema()).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Config, ConfigError> {
        parse(Path::new("/p/policyctl.toml"), text)
    }

    #[test]
    fn every_key() {
        let c = read(
            r#"
deny-warnings = true
format = "sarif"
include = ["policies/**"]
exclude = ["templates"]
select = ["P", "k"]
ignore = ["P041"]

[severity]
P042 = "error"
K021 = "off"

[[kernel]]
name = "old"
btf = "k/6.1.btf.zst"
error-injection = "k/ei.txt"
config = "k/config.gz"
modules = ["k/m.ko"]

[[kernel]]
name = "new"
btf = "/abs/6.12.btf"
"#,
        )
        .unwrap();
        assert_eq!(c.deny_warnings, Some(true));
        assert_eq!(c.format.as_deref(), Some("sarif"));
        assert_eq!(c.kernels.len(), 2);
        assert_eq!(c.kernels[0].btf, PathBuf::from("/p/k/6.1.btf.zst"));
        assert_eq!(c.kernels[0].modules, vec![PathBuf::from("/p/k/m.ko")]);
        assert_eq!(c.kernels[1].btf, PathBuf::from("/abs/6.12.btf"));
        assert_eq!(c.kernels[1].name.as_deref(), Some("new"));
        use crate::{Code, Severity};
        let s = &c.selection;
        assert_eq!(s.level(Code::P041, Severity::Warning), None);
        assert_eq!(
            s.level(Code::P042, Severity::Warning),
            Some(Severity::Error)
        );
        assert_eq!(s.level(Code::K021, Severity::Warning), None);
        assert_eq!(s.level(Code::S001, Severity::Error), None);
        assert!(c.walks(Path::new("/p/policies/a/x.yaml")));
        assert!(!c.walks(Path::new("/p/policies/templates/x.yaml")));
        assert!(!c.walks(Path::new("/p/other/x.yaml")));
        assert!(c.walks(Path::new("/elsewhere/x.yaml")));
    }

    #[test]
    fn mistakes_are_clear_and_placed() {
        let e = read("deny-warning = true\n").unwrap_err();
        assert_eq!(e.at, Some((1, 1)));
        assert!(e.message.contains("did you mean `deny-warnings`?"), "{e}");
        let e = read("format = \"sarf\"\n").unwrap_err();
        assert_eq!(e.at, Some((1, 10)));
        assert!(e.message.contains("did you mean `sarif`?"), "{e}");
        let e = read("[severity]\nP041 = \"fatal\"\n").unwrap_err();
        assert_eq!(e.at, Some((2, 8)));
        let e = read("[severity]\nPO41 = \"off\"\n").unwrap_err();
        assert!(e.message.contains("did you mean `P041`?"), "{e}");
        let e = read("[[kernel]]\nname = \"a\"\nbtf = \"x\"\nconfg = \"c\"\n").unwrap_err();
        assert_eq!(e.at, Some((4, 1)));
        assert!(
            e.message.contains("in [[kernel]]; did you mean `config`?"),
            "{e}"
        );
        let e = read("[[kernel]]\nname = \"a\"\n").unwrap_err();
        assert!(e.message.contains("needs `btf`"), "{e}");
        let e =
            read("[[kernel]]\nname = \"a\"\nbtf = \"x\"\n[[kernel]]\nname = \"a\"\nbtf = \"y\"\n")
                .unwrap_err();
        assert!(e.message.contains("two kernels are named a"), "{e}");
        let e = read("select = \"P\"\n").unwrap_err();
        assert!(e.message.contains("`select` takes a list"), "{e}");
        let e = read("deny-warnings = \n").unwrap_err();
        assert!(e.message.starts_with("not valid TOML"), "{e}");
        assert_eq!(e.at.map(|a| a.0), Some(1));
        assert!(e.to_string().starts_with("/p/policyctl.toml:1:"), "{e}");
    }

    #[test]
    fn globs() {
        assert!(matches("policies/**", "policies/a/b.yaml"));
        assert!(matches("policies/*.yaml", "policies/b.yaml"));
        assert!(!matches("policies/*.yaml", "policies/a/b.yaml"));
        assert!(matches("templates", "a/templates/b.yaml"));
        assert!(matches("*.yml", "a/b.yml"));
        assert!(!matches("*.yml", "a/b.yaml"));
        assert!(matches("**/x?.yaml", "x1.yaml"));
        assert!(matches("./vendor/", "vendor/a.yaml"));
        assert!(!matches("vendor/a", "vendor/ab.yaml"));
    }
}
