//! YAML-level codes. The parser in `yaml.rs` emits them; their explanations live here.

use crate::codes::CodeInfo;
use crate::diagnostic::Severity;

/// `Y001`.
pub const Y001: CodeInfo = CodeInfo {
    code: "Y001",
    name: "yaml-syntax",
    severity: Severity::Error,
    summary: "The file is not valid YAML (indentation, unclosed quote, stray character).",
    explanation: "Neither Tetragon nor Kubernetes can read a file that is not YAML, so nothing in it loads. The usual causes in hand-written policies are a key indented one space off from its siblings, a list item out of line, and a quote that is never closed. policyctl reports the first syntax error of a document and still checks the documents before it.",
    tetragon: "pkg/tracingpolicy/k8s.go FromYAML (sigs.k8s.io/yaml UnmarshalStrict, go-yaml v2: `failed to unmarshal YAML`)",
};

/// `Y002`.
pub const Y002: CodeInfo = CodeInfo {
    code: "Y002",
    name: "duplicate-key",
    severity: Severity::Error,
    summary: "The same key twice in one mapping.",
    explanation: "YAML forbids duplicate keys, and Tetragon's loader decodes strictly, refusing them (`key \"selectors\" already set in map`); the API server refuses them too. Tools that accept them keep only one of the two values, silently, so a second `selectors:` or `matchArgs:` written lower down replaces the first one without any warning.",
    tetragon: "pkg/tracingpolicy/k8s.go FromYAML (sigs.k8s.io/yaml UnmarshalStrict: go-yaml v2's strict mode, `already set in map`)",
};

/// `Y003`.
pub const Y003: CodeInfo = CodeInfo {
    code: "Y003",
    name: "tab-indentation",
    severity: Severity::Error,
    summary: "A line indented with a tab character.",
    explanation: "YAML allows only spaces for indentation. Editors that insert tabs, or text pasted from a web page, produce files that look aligned but do not parse. Replace the tabs with spaces.",
    tetragon: "pkg/tracingpolicy/k8s.go FromYAML (sigs.k8s.io/yaml, go-yaml v2: `found character that cannot start any token`)",
};

/// `Y004`.
pub const Y004: CodeInfo = CodeInfo {
    code: "Y004",
    name: "alias-expansion",
    severity: Severity::Error,
    summary: "Anchors and aliases expand to too many values (a \"billion laughs\" document).",
    explanation: "A few lines of nested aliases can expand to billions of values and exhaust the memory of whatever reads the file. policyctl stops expanding after a fixed number of values, or once aliases have copied 16 MiB of text, and rejects the document; no real policy comes close to either limit. go-yaml v2, which Tetragon uses, refuses documents whose aliases expand too far as well (`document contains excessive aliasing`).",
    tetragon: "go-yaml v2 decoder (`document contains excessive aliasing`), reached through pkg/tracingpolicy/k8s.go FromYAML",
};

/// `Y005`.
pub const Y005: CodeInfo = CodeInfo {
    code: "Y005",
    name: "nesting-depth",
    severity: Severity::Error,
    summary: "The YAML nests deeper than any policy can.",
    explanation: "A TracingPolicy is at most about ten levels deep. Deeper nesting is a runaway bracket or indentation mistake, or a document built to exhaust the reader's stack; policyctl stops at a fixed depth.",
    tetragon: "not a Tetragon rule: a bound of policyctl's reader (go-yaml v2 has its own depth limit, far above any policy)",
};

/// `Y006`.
pub const Y006: CodeInfo = CodeInfo {
    code: "Y006",
    name: "file-too-large",
    severity: Severity::Error,
    summary: "The file is larger than policyctl reads.",
    explanation: "Policy files are kilobytes. A file over 4 MiB, a file of more than 500,000 values, or an inline (flow) list or mapping with more than 65,536 brackets, commas, colons and quotes is not a policy file, or holds so many policies that it should be split: policyctl refuses it instead of reading it into memory, so its memory stays bounded whatever the input.",
    tetragon: "not checked by Tetragon",
};

/// `Y007`.
pub const Y007: CodeInfo = CodeInfo {
    code: "Y007",
    name: "not-a-mapping",
    severity: Severity::Error,
    summary: "A document that is a plain value or a list, where a policy must be a mapping.",
    explanation: "A TracingPolicy document is a mapping with `apiVersion`, `kind`, `metadata` and `spec`. A document that is a string or a list (often the result of a missing colon or a stray `-`) cannot be one.",
    tetragon: "pkg/tracingpolicy/k8s.go FromYAML (sigs.k8s.io/yaml into an unstructured object: `cannot unmarshal string into Go value of type map[string]interface {}`)",
};
