//! The one table of diagnostic codes.
//!
//! Each code's explanation lives next to the check that emits it (a `CodeInfo` constant in that
//! check's module); this file only lists them. Codes are never reused: a retired code stays in
//! the table. `policyctl explain`, SARIF rule metadata and the language server's code links all
//! read this table.
//!
//! Prefixes: `Y` YAML, `S` schema (what the CRD enforces), `P` policy semantics (what Tetragon
//! checks when it loads a policy, or never checks), `K` kernel facts (what a given kernel offers),
//! `C` policyctl's own comments (suppressions).

use crate::checks;
use crate::diagnostic::Severity;
use crate::schema;

/// Everything known about one code.
#[derive(Debug)]
pub struct CodeInfo {
    /// The code, like `P021`.
    pub code: &'static str,
    /// A kebab-case name.
    pub name: &'static str,
    /// Default severity.
    pub severity: Severity,
    /// One line: what it checks.
    pub summary: &'static str,
    /// Why it matters, in a paragraph or two.
    pub explanation: &'static str,
    /// Where Tetragon enforces it (or "not checked by Tetragon").
    pub tetragon: &'static str,
}

macro_rules! codes {
    ($($code:ident => $info:path),* $(,)?) => {
        /// A diagnostic code.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $(
                #[doc = concat!("`", stringify!($code), "`")]
                $code,
            )*
        }

        /// Every code, in order.
        pub const ALL: &[Code] = &[$(Code::$code),*];

        impl Code {
            /// The registry entry.
            pub fn info(self) -> &'static CodeInfo {
                match self {
                    $(Code::$code => &$info,)*
                }
            }
        }
    };
}

codes! {
    Y001 => checks::syntax::Y001,
    Y002 => checks::syntax::Y002,
    Y003 => checks::syntax::Y003,
    Y004 => checks::syntax::Y004,
    Y005 => checks::syntax::Y005,
    Y006 => checks::syntax::Y006,
    Y007 => checks::syntax::Y007,
    S001 => schema::S001,
    S002 => schema::S002,
    S003 => schema::S003,
    S004 => schema::S004,
    S005 => schema::S005,
    S006 => schema::S006,
    S007 => checks::document::S007,
    S008 => checks::document::S008,
    S009 => checks::document::S009,
    S010 => checks::cel::S010,
    S011 => checks::cel::S011,
    S012 => checks::cel::S012,
    S013 => checks::cel::S013,
    S014 => checks::cel::S014,
    S015 => schema::S015,
    S016 => schema::S016,
    S017 => checks::document::S017,
    P001 => checks::hooks::P001,
    P002 => checks::hooks::P002,
    P003 => checks::hooks::P003,
    P004 => checks::hooks::P004,
    P005 => checks::hooks::P005,
    P006 => checks::hooks::P006,
    P007 => checks::hooks::P007,
    P008 => checks::hooks::P008,
    P009 => checks::hooks::P009,
    P010 => checks::selectors::P010,
    P011 => checks::selectors::P011,
    P012 => checks::selectors::P012,
    P013 => checks::operators::P013,
    P014 => checks::args::P014,
    P015 => checks::args::P015,
    P016 => checks::selectors::P016,
    P019 => checks::tracepoint_pairs::P019,
    P020 => checks::selectors::P020,
    P021 => checks::operators::P021,
    P022 => checks::operators::P022,
    P023 => checks::operators::P023,
    P024 => checks::operators::P024,
    P025 => checks::args::P025,
    P026 => checks::args::P026,
    P027 => checks::args::P027,
    P028 => checks::args::P028,
    P029 => checks::args::P029,
    P030 => checks::selectors::P030,
    P031 => checks::args::P031,
    P032 => checks::args::P032,
    P033 => checks::syscall_args::P033,
    P034 => checks::syscall_args::P034,
    P035 => checks::syscall_args::P035,
    P036 => checks::operators::P036,
    P037 => checks::hooks::P037,
    P040 => checks::actions::P040,
    P041 => checks::actions::P041,
    P042 => checks::actions::P042,
    P043 => checks::actions::P043,
    P044 => checks::actions::P044,
    P045 => checks::actions::P045,
    P046 => checks::actions::P046,
    P047 => checks::actions::P047,
    P048 => checks::actions::P048,
    P049 => checks::actions::P049,
    P050 => checks::actions::P050,
    P060 => checks::filters::P060,
    P061 => checks::filters::P061,
    P062 => checks::filters::P062,
    P070 => checks::metadata::P070,
    P071 => checks::metadata::P071,
    P072 => checks::metadata::P072,
    P073 => checks::metadata::P073,
    P074 => checks::metadata::P074,
    P075 => checks::actions::P075,
    P076 => checks::selectors::P076,
    P077 => checks::operators::P077,
    P078 => checks::args::P078,
    K001 => checks::kernel::K001,
    K002 => checks::kernel::K002,
    K003 => checks::kernel::K003,
    K010 => checks::kernel::K010,
    K011 => checks::kernel::K011,
    K012 => checks::kernel::K012,
    K013 => checks::kernel::K013,
    K014 => checks::kernel::K014,
    K020 => checks::kernel::K020,
    K021 => checks::kernel::K021,
    K030 => checks::kernel::K030,
    K031 => checks::kernel::K031,
    K040 => checks::host::K040,
    C001 => crate::suppress::C001,
}

impl Code {
    /// The code as text (`P021`).
    pub fn as_str(self) -> &'static str {
        self.info().code
    }

    /// Look a code up by its text, case-insensitively.
    pub fn parse(text: &str) -> Option<Code> {
        ALL.iter()
            .copied()
            .find(|c| c.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_their_names_and_are_documented() {
        for code in ALL {
            let info = code.info();
            assert_eq!(
                format!("{code:?}"),
                info.code,
                "{code:?} points at another code's info"
            );
            assert!(
                !info.summary.is_empty() && !info.explanation.is_empty(),
                "{code} has no docs"
            );
            assert!(!info.name.is_empty() && !info.tetragon.is_empty(), "{code}");
        }
        let mut names: Vec<_> = ALL.iter().map(|c| c.info().name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len(), "two codes share a name");
    }
}
