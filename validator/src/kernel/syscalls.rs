//! The argument lists of the Linux x86_64 syscalls: names and C types.
//!
//! A `syscall: true` kprobe hooks the syscall's entry point (`__x64_sys_openat`, …), whose BTF
//! only shows `const struct pt_regs *regs`, so the real arguments must come from elsewhere. They
//! come from the kernel's syscall tracepoints: every
//! `/sys/kernel/tracing/events/syscalls/sys_enter_<name>/format` lists, after the `common_*`
//! fields and `int __syscall_nr`, one `field:<ctype> <name>;` line per argument, taken from the
//! `SYSCALL_DEFINEn` in the kernel source.
//!
//! `scripts/gen-syscalls.sh` reads those formats and writes `syscalls_x86_64.tsv` (its header
//! line names the kernel release it was read from), which is compiled in here and parsed once.
//! One line per syscall, sorted by name: `name<TAB>argname:ctype<TAB>…`; lines starting with
//! `#` and blank lines are ignored. The C types are the kernel's text with whitespace
//! normalised: runs of spaces collapse to one, a run of stars gets one space before it and none
//! after it or inside it (`const char *`, `struct iocb **`, `const char *const *`,
//! `const void *const`). Nothing else is rewritten: typedefs (`umode_t`, `size_t`), `unsigned`
//! beside `unsigned int` and top-level `const` (`const clockid_t`) stay as the kernel prints
//! them.
//!
//! Limits: the table is for one architecture (x86_64, whose syscall set differs from arm64's:
//! no `open` or `fork` there, for one) and one kernel release. Syscall argument lists are ABI and
//! do not change, but syscalls added by newer kernels are missing, and a syscall whose tracepoint
//! the kernel does not define (or that the build left out, e.g. by `CONFIG_*`) is missing too,
//! so a failed [`lookup`] means "unknown here", not "does not exist".

use std::sync::OnceLock;

/// The generated table (see the module documentation).
const TABLE: &str = include_str!("syscalls_x86_64.tsv");

/// One syscall's arguments, as the syscall tracepoint format shows them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Syscall {
    /// The bare name: `openat`, without `sys_` or `__x64_sys_`.
    pub name: &'static str,
    /// The arguments in order (at most six).
    pub args: Vec<SyscallArg>,
}

/// One argument of a syscall.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyscallArg {
    /// The argument's name in the kernel source (`filename`).
    pub name: &'static str,
    /// Its C type, whitespace normalised (`const char *`).
    pub ctype: &'static str,
}

/// Look up a syscall by its bare name (`openat`, not `sys_openat` nor `__x64_sys_openat`).
pub fn lookup(name: &str) -> Option<&'static Syscall> {
    let all = all();
    all.binary_search_by(|s| s.name.cmp(name))
        .ok()
        .and_then(|i| all.get(i))
}

/// Every syscall, sorted by name.
pub fn all() -> &'static [Syscall] {
    static SYSCALLS: OnceLock<Vec<Syscall>> = OnceLock::new();
    SYSCALLS.get_or_init(|| parse(TABLE))
}

/// The x86_64 syscall numbers, from the UAPI header (`scripts/gen-syscall-numbers.sh`).
const NUMBERS: &str = include_str!("syscall_numbers_x86_64.tsv");

/// The x86_64 number of a syscall by its bare name (`openat` → 257), as the raw
/// `raw_syscalls/sys_enter` tracepoint reports it.
pub fn number(name: &str) -> Option<u32> {
    NUMBERS
        .lines()
        .filter(|l| is_data_line(l))
        .filter_map(|l| l.split_once('\t'))
        .find(|(n, _)| *n == name)
        .and_then(|(_, rest)| rest.split('\t').next()?.trim().parse().ok())
}

/// The bare name of an x86_64 syscall number (257 → `openat`).
pub fn name_of(number: u32) -> Option<&'static str> {
    NUMBERS
        .lines()
        .filter(|l| is_data_line(l))
        .filter(|l| !l.ends_with("\talias"))
        .filter_map(|l| l.split_once('\t'))
        .find(|(_, nr)| nr.trim().parse() == Ok(number))
        .map(|(n, _)| n)
}

/// The typedefs of the table that are pointers: `typedef struct __user_cap_header_struct
/// __user *cap_user_header_t;` and its `cap_user_data_t` twin (include/uapi/linux/capability.h).
/// Without a kernel's BTF to look them up in, every other typedef of the table (`umode_t`,
/// `uid_t`, `key_serial_t`, `aio_context_t`, ...) is an integer. The struct each one points to.
pub fn pointer_typedef(name: &str) -> Option<&'static str> {
    match name {
        "cap_user_header_t" => Some("__user_cap_header_struct"),
        "cap_user_data_t" => Some("__user_cap_data_struct"),
        _ => None,
    }
}

/// One field of a tracepoint's format, as tracefs lists it (`field:<ctype> <name>;
/// offset:..; size:<size>; signed:<0|1>;`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TracepointField {
    /// Its name (`common_type`, `__syscall_nr`, `filename`).
    pub name: &'static str,
    /// Its C type, normalised like the table's (`unsigned short`, `const char *`).
    pub ctype: &'static str,
    /// Its size in bytes.
    pub size: u32,
    /// Whether tracefs calls it signed.
    pub signed: bool,
}

/// The fields every tracepoint's format starts with (`struct trace_entry`, include/linux/
/// trace_events.h), with the sizes tracefs prints for them.
pub const COMMON_FIELDS: [TracepointField; 4] = [
    TracepointField {
        name: "common_type",
        ctype: "unsigned short",
        size: 2,
        signed: false,
    },
    TracepointField {
        name: "common_flags",
        ctype: "unsigned char",
        size: 1,
        signed: false,
    },
    TracepointField {
        name: "common_preempt_count",
        ctype: "unsigned char",
        size: 1,
        signed: false,
    },
    TracepointField {
        name: "common_pid",
        ctype: "int",
        size: 4,
        signed: true,
    },
];

/// The field after the common ones in every `syscalls/sys_enter_*` and `sys_exit_*` event:
/// the syscall's number.
pub const SYSCALL_NR_FIELD: TracepointField = TracepointField {
    name: "__syscall_nr",
    ctype: "int",
    size: 4,
    signed: true,
};

/// The index of a syscall event's first argument field (`sys_enter_*`) or of its `ret`
/// (`sys_exit_*`): after the four common fields and `__syscall_nr`.
pub const FIRST_ARG_FIELD: usize = 5;

/// Which side of the syscall a `syscalls` event traces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// `sys_enter_<name>`: the arguments.
    Enter,
    /// `sys_exit_<name>`: the return value.
    Exit,
}

/// A `syscalls/<event>` tracepoint whose syscall the table knows.
#[derive(Clone, Debug)]
pub struct SyscallEvent {
    /// The syscall.
    pub syscall: &'static Syscall,
    /// Entry or exit.
    pub direction: Direction,
}

impl SyscallEvent {
    /// The event of a `syscalls` tracepoint, by its name (`sys_enter_openat`); `None` for other
    /// names and for syscalls the table does not know.
    pub fn parse(event: &str) -> Option<SyscallEvent> {
        let (direction, bare) = if let Some(bare) = event.strip_prefix("sys_enter_") {
            (Direction::Enter, bare)
        } else {
            (Direction::Exit, event.strip_prefix("sys_exit_")?)
        };
        Some(SyscallEvent {
            syscall: lookup(bare)?,
            direction,
        })
    }

    /// The event's format fields in order, as tracefs lists them on mainline x86_64 kernels:
    /// the four common fields, `__syscall_nr`, then one 8-byte unsigned field per argument
    /// (`sys_enter_*`) or a signed `long ret` (`sys_exit_*`). Real-time kernels that add common fields
    /// (older PREEMPT_RT patch sets) shift every index after them.
    pub fn fields(&self) -> Vec<TracepointField> {
        let mut fields = COMMON_FIELDS.to_vec();
        fields.push(SYSCALL_NR_FIELD);
        match self.direction {
            Direction::Enter => fields.extend(self.syscall.args.iter().map(|a| TracepointField {
                name: a.name,
                ctype: a.ctype,
                size: 8,
                // kernel/trace/trace_syscalls.c defines every argument field as an unsigned
                // long: size 8 and `signed:0`, whatever its C type.
                signed: false,
            })),
            Direction::Exit => fields.push(TracepointField {
                name: "ret",
                ctype: "long",
                size: 8,
                signed: true,
            }),
        }
        fields
    }

    /// The event's name: `sys_enter_openat`.
    pub fn name(&self) -> String {
        let side = match self.direction {
            Direction::Enter => "enter",
            Direction::Exit => "exit",
        };
        format!("sys_{side}_{}", self.syscall.name)
    }
}

/// Parse the table, skipping comments, blank lines and malformed lines, sorted by name.
fn parse(text: &'static str) -> Vec<Syscall> {
    let mut syscalls: Vec<Syscall> = text.lines().filter_map(parse_line).collect();
    // The generator sorts already; sorting again keeps `lookup` right whatever the file holds.
    syscalls.sort_by(|a, b| a.name.cmp(b.name));
    syscalls
}

/// Whether a table line carries data (is neither blank nor a comment).
fn is_data_line(line: &str) -> bool {
    let line = line.trim();
    !line.is_empty() && !line.starts_with('#')
}

/// Parse one data line; `None` for a comment, a blank line or a malformed line.
fn parse_line(line: &'static str) -> Option<Syscall> {
    if !is_data_line(line) {
        return None;
    }
    let line = line.trim_end_matches('\r');
    let mut fields = line.split('\t');
    let name = fields.next()?;
    if name.is_empty() || name.contains(|c: char| c == ':' || c.is_whitespace()) {
        return None;
    }
    let args = fields
        .map(|field| {
            let (name, ctype) = field.split_once(':')?;
            (!name.is_empty() && !ctype.is_empty()).then_some(SyscallArg { name, ctype })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Syscall { name, args })
}

impl SyscallArg {
    /// The argument as a C declaration: `const char *filename`, `int dfd`.
    pub fn c_decl(&self) -> String {
        super::c_decl(self.ctype, self.name)
    }
}

impl Syscall {
    /// The syscall's prototype in C: `long sys_openat(int dfd, const char *filename, ...)`.
    pub fn c_prototype(&self) -> String {
        let args: Vec<String> = self.args.iter().map(SyscallArg::c_decl).collect();
        format!("long sys_{}({})", self.name, args.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arg_list(name: &str) -> Vec<(&'static str, &'static str)> {
        lookup(name)
            .unwrap_or_else(|| panic!("{name} is in the table"))
            .args
            .iter()
            .map(|a| (a.name, a.ctype))
            .collect()
    }

    #[test]
    fn syscall_numbers_are_the_x86_64_abi() {
        assert_eq!(number("read"), Some(0));
        assert_eq!(number("openat"), Some(257));
        assert_eq!(number("mkdirat"), Some(258));
        assert_eq!(number("setresuid"), Some(117));
        assert_eq!(number("no_such_call"), None);
        assert_eq!(name_of(257), Some("openat"));
        assert_eq!(number("newstat"), Some(4));
        assert_eq!(name_of(4), Some("stat"));
        assert_eq!(name_of(100_000), None);
        // every syscall with arguments in the tracefs table has a number
        let missing: Vec<_> = all()
            .iter()
            .filter(|s| number(s.name).is_none())
            .map(|s| s.name)
            .collect();
        assert_eq!(
            missing,
            ["uprobe", "uretprobe"],
            "syscalls without a number"
        );
    }

    #[test]
    fn every_data_line_parses() {
        let lines = TABLE.lines().filter(|l| is_data_line(l)).count();
        assert_eq!(all().len(), lines);
        assert!(all().len() > 300, "only {} syscalls", all().len());
    }

    #[test]
    fn openat() {
        assert_eq!(
            arg_list("openat"),
            [
                ("dfd", "int"),
                ("filename", "const char *"),
                ("flags", "int"),
                ("mode", "umode_t"),
            ]
        );
    }

    #[test]
    fn execve() {
        assert_eq!(
            arg_list("execve"),
            [
                ("filename", "const char *"),
                ("argv", "const char *const *"),
                ("envp", "const char *const *"),
            ]
        );
    }

    #[test]
    fn syscall_event_fields() {
        let names = |event: &str| -> Vec<&str> {
            SyscallEvent::parse(event)
                .unwrap_or_else(|| panic!("{event}"))
                .fields()
                .iter()
                .map(|f| f.name)
                .collect()
        };
        let common = [
            "common_type",
            "common_flags",
            "common_preempt_count",
            "common_pid",
            "__syscall_nr",
        ];
        assert_eq!(names("sys_enter_write")[..5], common);
        assert_eq!(names("sys_enter_write")[5..], ["fd", "buf", "count"]);
        assert_eq!(names("sys_exit_write")[5..], ["ret"]);
        assert_eq!(names("sys_enter_getpid").len(), FIRST_ARG_FIELD);
        let write = SyscallEvent::parse("sys_enter_write").unwrap();
        assert_eq!(write.name(), "sys_enter_write");
        assert!(write.fields()[5..].iter().all(|f| f.size == 8 && !f.signed));
        let exit = SyscallEvent::parse("sys_exit_write").unwrap();
        assert_eq!((exit.fields()[5].size, exit.fields()[5].signed), (8, true));
        for bad in [
            "sys_enter_nope",
            "sys_write",
            "enter_write",
            "sys_exit_",
            "",
        ] {
            assert!(SyscallEvent::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn pointer_typedefs() {
        assert_eq!(
            pointer_typedef("cap_user_header_t"),
            Some("__user_cap_header_struct")
        );
        assert_eq!(pointer_typedef("umode_t"), None);
    }

    #[test]
    fn no_args_and_double_pointers() {
        assert!(arg_list("getpid").is_empty());
        assert_eq!(arg_list("io_submit")[2], ("iocbpp", "struct iocb **"));
    }

    #[test]
    fn unknown_and_prefixed_names() {
        assert!(lookup("nope").is_none());
        assert!(lookup("").is_none());
        assert!(lookup("sys_openat").is_none());
        assert!(lookup("__x64_sys_openat").is_none());
    }

    #[test]
    fn names_unique_and_sorted() {
        // The file itself, not only the parsed (re-sorted) table.
        let names: Vec<&str> = TABLE
            .lines()
            .filter(|l| is_data_line(l))
            .filter_map(|l| l.split('\t').next())
            .collect();
        assert!(
            names.windows(2).all(|w| w[0] < w[1]),
            "file not sorted/unique"
        );
        assert!(all().windows(2).all(|w| w[0].name < w[1].name));
        for s in all() {
            assert_eq!(lookup(s.name).map(|f| f.name), Some(s.name));
        }
    }

    #[test]
    fn args_well_formed() {
        for s in all() {
            assert!(s.args.len() <= 6, "{} has {} args", s.name, s.args.len());
            for a in &s.args {
                assert!(!a.name.is_empty(), "{}: empty arg name", s.name);
                assert!(!a.ctype.is_empty(), "{}: empty type of {}", s.name, a.name);
                assert_eq!(a.ctype, a.ctype.trim(), "{}: {}", s.name, a.name);
                assert!(!a.ctype.contains("  "), "{}: {}", s.name, a.ctype);
                assert!(!a.ctype.contains("* "), "{}: {}", s.name, a.ctype);
                assert!(!a.ctype.contains("**") || a.ctype.contains(" **"));
                assert!(!a.ctype.starts_with('*'), "{}: {}", s.name, a.ctype);
            }
        }
    }

    #[test]
    fn malformed_lines_are_skipped() {
        let text = "# header\n\nok\ta:int\nbad\tnocolon\nbad2\t:int\nbad3\ta:\n\tx:int\nok2\r\n";
        let parsed = parse(text);
        let names: Vec<&str> = parsed.iter().map(|s| s.name).collect();
        assert_eq!(names, ["ok", "ok2"]);
        assert_eq!(
            parsed[0].args,
            [SyscallArg {
                name: "a",
                ctype: "int"
            }]
        );
    }
}
