//! What a value from another tool or language was meant to say in a TracingPolicy: operators
//! (`In`, `Contains`, `EndsWith`, `==`, `regex`), action names (`Kill`, `Block`) and signal
//! names in `argSig` (`SIGKILL`).
//!
//! Tetragon's operator sets are the CRD enums of pkg/k8s/apis/cilium.io/v1alpha1/types.go
//! (ArgSelector, BinarySelector, PIDSelector, NamespaceSelector, CapabilitiesSelector, ...)
//! and the label selector's `In, NotIn, Exists, DoesNotExist`.

use super::table::{ACTIONS, ARG_OPERATORS, BINARY_OPERATORS, LABEL_OPERATORS, SET_OPERATORS};

/// Which enum a value was written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnumSet {
    /// `matchArgs`, `matchData`, `matchReturnArgs` operators.
    ArgOperator,
    /// `matchBinaries`, `matchParentBinaries` operators.
    BinaryOperator,
    /// matchPIDs, matchNamespaces, matchCapabilities and their Changes: In, NotIn.
    SetOperator,
    /// Label selector expressions: In, NotIn, Exists, DoesNotExist.
    LabelOperator,
    /// `matchActions[].action`.
    Action,
}

impl EnumSet {
    /// The set whose values are `values` (a field's `enum_values`).
    pub fn of(values: &[&str]) -> Option<EnumSet> {
        [
            (ARG_OPERATORS, EnumSet::ArgOperator),
            (BINARY_OPERATORS, EnumSet::BinaryOperator),
            (SET_OPERATORS, EnumSet::SetOperator),
            (LABEL_OPERATORS, EnumSet::LabelOperator),
            (ACTIONS, EnumSet::Action),
        ]
        .into_iter()
        .find(|(v, _)| *v == values)
        .map(|(_, s)| s)
    }
}

/// What a value outside an enum was meant to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Meant {
    /// The value to write instead, when Tetragon has one.
    pub instead: Option<&'static str>,
    /// What the message says after "`X` is not a Tetragon operator: " (how `instead` does it,
    /// or why nothing does).
    pub why: &'static str,
    /// The fix, when it is not simply "write `operator: <instead>`".
    pub help: Option<&'static str>,
    /// The operators `help` names (a refinement that knows the arg's type checks they fit).
    pub uses: &'static [&'static str],
}

const fn m(instead: &'static str, why: &'static str) -> Meant {
    Meant {
        instead: Some(instead),
        why,
        help: None,
        uses: &[],
    }
}

const fn none(why: &'static str, help: &'static str, uses: &'static [&'static str]) -> Meant {
    Meant {
        instead: None,
        why,
        help: Some(help),
        uses,
    }
}

const fn mh(instead: &'static str, why: &'static str, help: &'static str) -> Meant {
    Meant {
        instead: Some(instead),
        why,
        help: Some(help),
        uses: &[],
    }
}

/// `written` lowercased, with `_`, `-`, `.` and spaces dropped; symbols (`==`, `>=`) stay.
fn key(written: &str) -> String {
    let w = written.trim();
    if w.chars().any(char::is_alphanumeric) {
        w.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    } else {
        w.chars().filter(|c| !c.is_whitespace()).collect()
    }
}

/// What `written`, refused by the enum `set`, was meant to be; None for a plain typo (the
/// caller's did-you-mean handles those) or a word this table does not know.
pub fn enum_value(set: EnumSet, written: &str) -> Option<Meant> {
    let k = key(written);
    match set {
        EnumSet::ArgOperator => arg_operator(&k),
        EnumSet::BinaryOperator => binary_operator(&k),
        EnumSet::SetOperator => set_operator(&k),
        EnumSet::LabelOperator => label_operator(&k),
        EnumSet::Action => action(&k),
    }
}

const REGEX_WORDS: &[&str] = &[
    "regex",
    "regexp",
    "re",
    "matches",
    "match",
    "matchregex",
    "regexmatch",
    "=~",
    "~",
    "glob",
    "wildcard",
    "pattern",
    "fnmatch",
];
const EQUAL_WORDS: &[&str] = &[
    "eq",
    "equals",
    "is",
    "==",
    "=",
    "===",
    "exact",
    "exactmatch",
    "equalto",
    "same",
    "equalsto",
];
const NOT_EQUAL_WORDS: &[&str] = &[
    "ne",
    "neq",
    "notequals",
    "notequalto",
    "!=",
    "<>",
    "!==",
    "isnot",
    "not",
    "different",
];
const STARTS_WORDS: &[&str] = &[
    "startswith",
    "startwith",
    "starts",
    "beginswith",
    "beginwith",
    "begins",
    "hasprefix",
    "withprefix",
];
const NOT_STARTS_WORDS: &[&str] = &[
    "notstartswith",
    "notstartwith",
    "doesnotstartwith",
    "notbeginswith",
    "nothasprefix",
];
const ENDS_WORDS: &[&str] = &[
    "endswith",
    "endwith",
    "ends",
    "suffix",
    "hassuffix",
    "withsuffix",
];
const NOT_ENDS_WORDS: &[&str] = &[
    "notendswith",
    "notendwith",
    "doesnotendwith",
    "notsuffix",
    "nothassuffix",
];
const CONTAINS_WORDS: &[&str] = &[
    "contains",
    "contain",
    "includes",
    "include",
    "substr",
    "has",
    "like",
    "instring",
    "containsstring",
];
const NOT_CONTAINS_WORDS: &[&str] = &[
    "notcontains",
    "notcontain",
    "doesnotcontain",
    "excludes",
    "notincludes",
    "notsubstring",
    "notlike",
    "notsubstr",
];
const EXISTS_WORDS: &[&str] = &[
    "exists",
    "exist",
    "notexists",
    "notexist",
    "doesnotexist",
    "doesnotexists",
    "isset",
    "present",
    "isnull",
    "isnotnull",
    "notnull",
    "null",
    "any",
];

fn arg_operator(k: &str) -> Option<Meant> {
    let hit = |words: &[&str]| words.contains(&k);
    Some(match k {
        "in" | "oneof" | "anyof" | "isin" | "inlist" | "inset" | "within" => m(
            "Equal",
            "`Equal` with several values matches any of them",
        ),
        "notin" | "noneof" | "notoneof" | "notinlist" | "notinset" => m(
            "NotEqual",
            "`NotEqual` with several values matches none of them",
        ),
        _ if hit(EQUAL_WORDS) => m("Equal", "the operator is spelt `Equal`"),
        _ if hit(NOT_EQUAL_WORDS) => m("NotEqual", "the operator is spelt `NotEqual`"),
        _ if hit(CONTAINS_WORDS) => m(
            "SubString",
            "`SubString` matches a string that contains one of the values",
        ),
        "icontains" | "containsignorecase" | "containsnocase" | "ilike" | "containsi"
        | "substringignorecase" | "substringnocase" | "substringi" => m(
            "SubStringIgnCase",
            "`SubStringIgnCase` matches a string that contains a value, in any case",
        ),
        _ if hit(NOT_CONTAINS_WORDS) => none(
            "Tetragon has no \"does not contain\" operator, only `SubString` and `SubStringIgnCase`",
            "use `NotPrefix` or `NotPostfix` when the text is at one end, or match the wanted strings with `Equal`",
            &["NotPrefix", "NotPostfix", "Equal"],
        ),
        _ if hit(ENDS_WORDS) => m("Postfix", "`Postfix` matches a string that ends with a value"),
        _ if hit(NOT_ENDS_WORDS) => m(
            "NotPostfix",
            "`NotPostfix` matches a string that ends with none of the values",
        ),
        _ if hit(STARTS_WORDS) => m("Prefix", "`Prefix` matches a string that starts with a value"),
        _ if hit(NOT_STARTS_WORDS) => m(
            "NotPrefix",
            "`NotPrefix` matches a string that starts with none of the values",
        ),
        _ if hit(REGEX_WORDS) || k.contains("regex") => none(
            "Tetragon has no regular expressions or globs in matchArgs",
            "use `Prefix`, `Postfix` or `SubString`, or list the exact strings with `Equal`",
            &["Prefix", "Postfix", "SubString", "Equal"],
        ),
        _ if hit(EXISTS_WORDS) => none(
            "an argument always has a value, so Tetragon has no operator to test that it is set",
            "remove this filter: a selector without it matches every call",
            &[],
        ),
        ">" | "greater" | "above" | "morethan" | "over" | "bigger" | "biggerthan" => {
            m("GT", "`GT` matches an integer greater than the value")
        }
        "<" | "less" | "below" | "under" | "smaller" | "smallerthan" | "fewerthan" => {
            m("LT", "`LT` matches an integer less than the value")
        }
        ">=" | "gte" | "ge" | "greaterorequal" | "greaterthanorequal" | "greaterthanorequalto"
        | "greaterequal" | "atleast" => mh(
            "GT",
            "Tetragon has no \"greater or equal\"; `GT` with the value minus one does it",
            "write `operator: GT` with the value minus one (or `InRange` with `min:max`)",
        ),
        "<=" | "lte" | "le" | "lessorequal" | "lessthanorequal" | "lessthanorequalto"
        | "lessequal" | "atmost" => mh(
            "LT",
            "Tetragon has no \"less or equal\"; `LT` with the value plus one does it",
            "write `operator: LT` with the value plus one (or `InRange` with `min:max`)",
        ),
        "between" | "range" | "inbetween" | "inrange" => mh(
            "InRange",
            "`InRange` matches an integer in one of the ranges `min:max`",
            "write `operator: InRange` with values like \"1000:1999\"",
        ),
        "notbetween" | "outside" | "outofrange" | "notinrange" => mh(
            "NotInRange",
            "`NotInRange` matches an integer in none of the ranges `min:max`",
            "write `operator: NotInRange` with values like \"1000:1999\"",
        ),
        "and" | "&" | "bitand" | "bitmask" | "bitset" | "hasbit" | "hasbits" | "hasflag"
        | "hasflags" | "flags" | "anybit" | "bits" => {
            m("Mask", "`Mask` matches an integer that has any bit of a value set")
        }
        "port" | "dstport" | "destport" | "destinationport" | "remoteport" => {
            m("DPort", "`DPort` matches the destination port")
        }
        "srcport" | "sourceport" | "localport" => m("SPort", "`SPort` matches the source port"),
        "dstaddr" | "dstip" | "destip" | "destaddr" | "destinationaddress" | "destinationip"
        | "remoteaddr" | "remoteip" => {
            m("DAddr", "`DAddr` matches the destination address (an IP or a CIDR)")
        }
        "ip" | "addr" | "address" | "cidr" | "ipaddr" | "subnet" => none(
            "addresses are matched with `DAddr` (destination) or `SAddr` (source), with IPs or CIDRs",
            "write `operator: DAddr` or `operator: SAddr`",
            &["DAddr", "SAddr"],
        ),
        "srcaddr" | "srcip" | "sourceaddress" | "sourceip" | "localaddr" | "localip" => {
            m("SAddr", "`SAddr` matches the source address (an IP or a CIDR)")
        }
        "proto" | "ipproto" => m("Protocol", "`Protocol` matches the IP protocol"),
        "cel" | "expr" | "expression" | "celexpression" => {
            m("CelExpr", "`CelExpr` takes one CEL expression over arg0, arg1, ...")
        }
        _ => return None,
    })
}

fn binary_operator(k: &str) -> Option<Meant> {
    let hit = |words: &[&str]| words.contains(&k);
    Some(match k {
        "equal" => m("In", "matchBinaries compares full paths with `In`"),
        "notequal" => m("NotIn", "matchBinaries excludes full paths with `NotIn`"),
        _ if hit(EQUAL_WORDS) => m("In", "matchBinaries compares full paths with `In`"),
        _ if hit(NOT_EQUAL_WORDS) => m("NotIn", "matchBinaries excludes full paths with `NotIn`"),
        _ if hit(STARTS_WORDS) => m("Prefix", "`Prefix` matches paths that start with a value"),
        _ if hit(NOT_STARTS_WORDS) => m("NotPrefix", "`NotPrefix` matches paths that start with none of the values"),
        _ if hit(ENDS_WORDS) => m("Postfix", "`Postfix` matches paths that end with a value (`/curl`)"),
        _ if hit(NOT_ENDS_WORDS) => m("NotPostfix", "`NotPostfix` matches paths that end with none of the values"),
        _ if hit(CONTAINS_WORDS) || k == "substring" || k == "substringigncase" => none(
            "matchBinaries has no substring match",
            "use `Postfix` with the binary's name (`/curl`), `Prefix` with its directory, or `In` with full paths",
            &[],
        ),
        _ if hit(REGEX_WORDS) || k.contains("regex") => none(
            "matchBinaries has no regular expressions or globs",
            "use `In` with full paths, `Prefix` for a directory, `Postfix` for a name (`/curl`)",
            &[],
        ),
        _ => return None,
    })
}

fn set_operator(k: &str) -> Option<Meant> {
    let hit = |words: &[&str]| words.contains(&k);
    Some(match k {
        "equal" | "contains" | "has" | "includes" | "anyof" | "oneof" => {
            m("In", "this filter's operators are `In` and `NotIn`")
        }
        "notequal" | "notcontains" | "excludes" | "noneof" => {
            m("NotIn", "this filter's operators are `In` and `NotIn`")
        }
        _ if hit(EQUAL_WORDS) => m("In", "this filter's operators are `In` and `NotIn`"),
        _ if hit(NOT_EQUAL_WORDS) => m("NotIn", "this filter's operators are `In` and `NotIn`"),
        _ => return None,
    })
}

fn label_operator(k: &str) -> Option<Meant> {
    let hit = |words: &[&str]| words.contains(&k);
    Some(match k {
        "equal" => m("In", "a label expression compares with `In`"),
        "notequal" => m("NotIn", "a label expression excludes with `NotIn`"),
        _ if hit(EQUAL_WORDS) => m("In", "a label expression compares with `In`"),
        _ if hit(NOT_EQUAL_WORDS) => m("NotIn", "a label expression excludes with `NotIn`"),
        "exist" | "present" | "isset" | "has" => m("Exists", "the operator is spelt `Exists`"),
        "notexists" | "notexist" | "doesnotexists" | "notpresent" | "absent" | "missing" => {
            m("DoesNotExist", "the operator is spelt `DoesNotExist`")
        }
        _ => return None,
    })
}

fn action(k: &str) -> Option<Meant> {
    Some(match k {
        "kill" | "killprocess" | "terminate" | "sigkill9" | "killproc" | "kill9" => {
            m("Sigkill", "`Sigkill` kills the process")
        }
        "block" | "deny" | "reject" | "prevent" | "forbid" | "fail" | "error" | "eperm"
        | "returnerror" | "override" => mh(
            "Override",
            "`Override` makes the call fail with `argError`; `Sigkill` kills the process",
            "write `action: Override` with `argError: -1` (EPERM), or `action: Sigkill`",
        ),
        "log" | "audit" | "alert" | "report" | "event" | "emit" | "trace" | "monitor"
        | "record" => m(
            "Post",
            "`Post` sends an event (what a selector does by default)",
        ),
        "sendsignal" | "sig" => mh(
            "Signal",
            "`Signal` sends the signal numbered `argSig`",
            "write `action: Signal` with `argSig: <number>` (or `action: Sigkill`)",
        ),
        _ => return None,
    })
}

/// Linux signal names by number, 1 to 31, as x86_64 and arm64 number them (both use the
/// generic numbering), with the glibc aliases SIGIOT, SIGPOLL, SIGCLD and SIGUNUSED.
const SIGNAL_ALIASES: &[(&str, u32)] = &[
    ("SIGIOT", 6),
    ("SIGCLD", 17),
    ("SIGPOLL", 29),
    ("SIGUNUSED", 31),
];

/// The number of a signal written by name: `SIGKILL`, `KILL`, `sigkill`, `SIG_KILL`, `kill`;
/// with the canonical name.
pub fn signal_number(written: &str) -> Option<(u32, &'static str)> {
    let upper: String = written
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .flat_map(|c| c.to_uppercase())
        .collect();
    if upper.is_empty() {
        return None;
    }
    let full = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    if let Some(i) = crate::facts::SIGNALS.iter().position(|s| *s == full) {
        let n = u32::try_from(i + 1).ok()?;
        return Some((n, crate::facts::SIGNALS[i]));
    }
    SIGNAL_ALIASES
        .iter()
        .find(|(a, _)| *a == full)
        .and_then(|&(_, n)| {
            let i = usize::try_from(n).ok()?.checked_sub(1)?;
            crate::facts::SIGNALS.get(i).map(|s| (n, *s))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_from_other_languages() {
        let arg = |w: &str| enum_value(EnumSet::ArgOperator, w).and_then(|m| m.instead);
        assert_eq!(arg("In"), Some("Equal"));
        assert_eq!(arg("NotIn"), Some("NotEqual"));
        assert_eq!(arg("contains"), Some("SubString"));
        assert_eq!(arg("EndsWith"), Some("Postfix"));
        assert_eq!(arg("ends_with"), Some("Postfix"));
        assert_eq!(arg("Suffix"), Some("Postfix"));
        assert_eq!(arg("startswith"), Some("Prefix"));
        assert_eq!(arg("=="), Some("Equal"));
        assert_eq!(arg("!="), Some("NotEqual"));
        assert_eq!(arg(">"), Some("GT"));
        assert_eq!(arg(">="), Some("GT"));
        assert_eq!(arg("Regex"), None);
        assert!(enum_value(EnumSet::ArgOperator, "Regex").is_some());
        assert!(enum_value(EnumSet::ArgOperator, "Equalz").is_none());
        let bin = |w: &str| enum_value(EnumSet::BinaryOperator, w).and_then(|m| m.instead);
        assert_eq!(bin("Equal"), Some("In"));
        assert_eq!(bin("NotEqual"), Some("NotIn"));
        assert_eq!(bin("EndsWith"), Some("Postfix"));
        let set = |w: &str| enum_value(EnumSet::SetOperator, w).and_then(|m| m.instead);
        assert_eq!(set("Equal"), Some("In"));
        assert_eq!(
            EnumSet::of(crate::schema::table::ARG_OPERATORS),
            Some(EnumSet::ArgOperator)
        );
    }

    #[test]
    fn signal_names() {
        assert_eq!(signal_number("SIGKILL"), Some((9, "SIGKILL")));
        assert_eq!(signal_number("KILL"), Some((9, "SIGKILL")));
        assert_eq!(signal_number("sigkill"), Some((9, "SIGKILL")));
        assert_eq!(signal_number("SIG_TERM"), Some((15, "SIGTERM")));
        assert_eq!(signal_number("SIGHUP"), Some((1, "SIGHUP")));
        assert_eq!(signal_number("SIGSYS"), Some((31, "SIGSYS")));
        assert_eq!(signal_number("SIGIOT"), Some((6, "SIGABRT")));
        assert_eq!(signal_number("SIGFOO"), None);
        assert_eq!(signal_number(""), None);
    }
}
