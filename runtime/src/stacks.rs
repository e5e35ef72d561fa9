//! Post's `kernelStackTrace` and `userStackTrace`: the stacks an event's ids name, read from
//! the `stack_traces` map and symbolized as Tetragon symbolizes them.
//!
//! Tetragon's facts (the judge):
//! - the BPF side stores `bpf_get_stackid(ctx, &stack_trace_map, 0)` (kernel) and with
//!   `BPF_F_USER_STACK` (user) in the event, with a flag per stack because 0 is a valid id
//!   (`do_action`, ACTION_POST, bpf/process/generic_calls.h); the map holds
//!   `PERF_MAX_STACK_DEPTH` (127) frames per stack (bpf/process/types/basic.h) and is sized
//!   `stackTraceMapMaxEntries` only when a policy asks (pkg/sensors/tracing/generickprobe.go);
//! - user space looks each id up and never deletes it (`handleMsgGenericKprobe` in
//!   pkg/sensors/tracing/generickprobe.go: a negative id is an error and no stack);
//! - kernel frames become `{offset, symbol}` from /proc/kallsyms, read once, sorted, binary
//!   search for the nearest symbol at or below the address, which must be a function
//!   (`t`/`w` in either case) (`kernelStack` in pkg/grpc/tracing/tracing.go, `GetFnOffset`
//!   in pkg/ksyms/ksyms.go); Tetragon leaves `module` empty on kernel frames;
//! - user frames become `{offset, symbol, module}`: the mapping of /proc/PID/maps (PID the
//!   event's thread) that holds the address, `module` its path, `offset` the address's
//!   offset in the file, `symbol` the first function symbol of the file's `.symtab` then
//!   `.dynsym` whose bytes in the file hold that offset, empty when none does
//!   (`userStack` in pkg/grpc/tracing/tracing.go, `GetFnSymbol` in
//!   pkg/procsyms/procsyms_linux.go); a frame whose process is gone is left out;
//! - `address` is shown only with `--expose-stack-addresses` (pkg/option/config.go
//!   `ExposeStackAddresses`); a zero frame ends nothing, it is skipped.
//!
//! Memory stays bounded: kallsyms is read once (when a first kernel stack comes), a
//! process's maps file at most [`MAPS_BYTES`], a binary's symbols with [`crate::elf`] (at most
//! [`elf::SYMBOL_BYTES`] of tables), and at most [`FILES`] binaries' symbols, [`SYMBOLS`]
//! symbols in all, are kept (the least recently used dropped first).

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;

use crate::elf;

/// One frame of a stack trace, as Tetragon's `StackTraceEntry` (tetragon.proto).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StackEntry {
    /// The frame's address (shown only with `--expose-stack-addresses`).
    pub address: u64,
    /// Kernel: bytes past the symbol's start; user: the address's offset in the mapped file.
    pub offset: u64,
    /// The function's name (empty when the binary names none there).
    pub symbol: String,
    /// User frames: the mapped file's path (or `[vdso]`, ...); empty for kernel frames.
    pub module: String,
}

/// Bytes of /proc/PID/maps read at most.
pub const MAPS_BYTES: u64 = 4 << 20;
/// Binaries whose symbols are kept at once.
pub const FILES: usize = 64;
/// Symbols kept at once over all binaries (32 bytes each plus the name): past it the least
/// recently used binaries are dropped.
pub const SYMBOLS: usize = 1 << 20;
/// Bytes of /proc/kallsyms read at most.
pub const KALLSYMS_BYTES: u64 = 64 << 20;

/// Kernel symbols from /proc/kallsyms, sorted by address.
pub struct KernelSymbols {
    /// (address, start of the name in `names`, name length, is a function)
    table: Vec<(u64, u32, u32, bool)>,
    names: String,
}

impl KernelSymbols {
    /// Reads /proc/kallsyms; `None` when it cannot be read or hides the addresses (all 0,
    /// `kptr_restrict`), as Tetragon then gives no kernel frames.
    pub fn load() -> Option<KernelSymbols> {
        let mut text = String::new();
        File::open("/proc/kallsyms")
            .ok()?
            .take(KALLSYMS_BYTES)
            .read_to_string(&mut text)
            .ok()?;
        Self::parse(&text)
    }

    /// The symbols of a kallsyms text (`address type name [module]` per line).
    pub fn parse(text: &str) -> Option<KernelSymbols> {
        let mut table = Vec::new();
        let mut names = String::new();
        let mut any_address = false;
        for line in text.lines() {
            let mut fields = line.split_ascii_whitespace();
            let (Some(addr), Some(ty), Some(name)) = (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            let Ok(addr) = u64::from_str_radix(addr, 16) else {
                continue;
            };
            any_address |= addr != 0;
            let func = matches!(ty, "t" | "T" | "w" | "W");
            let (Ok(start), Ok(len)) = (u32::try_from(names.len()), u32::try_from(name.len()))
            else {
                break;
            };
            names.push_str(name);
            table.push((addr, start, len, func));
        }
        if table.is_empty() || !any_address {
            return None;
        }
        table.sort_by_key(|e| e.0);
        Some(KernelSymbols { table, names })
    }

    /// The function holding `addr` and the offset into it; `None` when the nearest symbol
    /// at or below `addr` is not a function, or there is none.
    pub fn lookup(&self, addr: u64) -> Option<(&str, u64)> {
        let i = self.table.partition_point(|e| e.0 <= addr).checked_sub(1)?;
        let (start, at, len, func) = self.table[i];
        if !func {
            return None;
        }
        let name = self.names.get(at as usize..(at + len) as usize)?;
        Some((name, addr - start))
    }
}

/// One mapping of /proc/PID/maps.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mapping {
    start: u64,
    end: u64,
    offset: u64,
    dev: String,
    inode: u64,
    path: String,
}

/// The mappings of a maps text, sorted by start.
fn parse_maps(text: &str) -> Vec<Mapping> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut f = line.splitn(6, ' ');
        let (Some(range), Some(_perms), Some(offset), Some(dev), Some(inode)) =
            (f.next(), f.next(), f.next(), f.next(), f.next())
        else {
            continue;
        };
        let path = f.next().unwrap_or("").trim_start().to_string();
        let Some((start, end)) = range.split_once('-') else {
            continue;
        };
        let (Ok(start), Ok(end), Ok(offset), Ok(inode)) = (
            u64::from_str_radix(start, 16),
            u64::from_str_radix(end, 16),
            u64::from_str_radix(offset, 16),
            inode.parse::<u64>(),
        ) else {
            continue;
        };
        out.push(Mapping {
            start,
            end,
            offset,
            dev: dev.to_string(),
            inode,
            path,
        });
    }
    out.sort_by_key(|m| m.start);
    out
}

/// A binary's function symbols, by their place in the file.
#[derive(Debug, Default)]
pub struct FileSymbols {
    /// (file offset of the start, size, order in .symtab then .dynsym, name's start in
    /// `names`, name length), sorted by start
    syms: Vec<(u64, u64, u32, u32, u32)>,
    names: String,
}

impl FileSymbols {
    /// The function symbols of an ELF image (64-bit little-endian), from `.symtab` then
    /// `.dynsym`; none when it is not one or is malformed.
    pub fn read<B: elf::Bytes + ?Sized>(b: &B) -> FileSymbols {
        let mut out = FileSymbols::default();
        if read_symbols(b, &mut out).is_none() {
            return FileSymbols::default();
        }
        out.syms.sort_by_key(|s| (s.0, s.2));
        out.syms.shrink_to_fit();
        out.names.shrink_to_fit();
        out
    }

    /// How many symbols it holds.
    pub fn len(&self) -> usize {
        self.syms.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.syms.is_empty()
    }

    fn name(&self, at: u32, len: u32) -> &str {
        self.names
            .get(at as usize..(at as usize).saturating_add(len as usize))
            .unwrap_or("")
    }

    /// The symbol whose bytes hold file offset `off`: among those that do, the first in
    /// `.symtab` then `.dynsym` order, as Tetragon's linear scan picks.
    pub fn lookup(&self, off: u64) -> Option<&str> {
        let end = self.syms.partition_point(|s| s.0 <= off);
        // the symbols starting at or below `off`, nearest first; aliases share a start, and
        // a symbol nested in a larger one is looked past, a bounded number of them
        self.syms[..end]
            .iter()
            .rev()
            .take(64)
            .filter(|s| off < s.0.saturating_add(s.1))
            .min_by_key(|s| s.2)
            .map(|s| self.name(s.3, s.4))
    }
}

/// Adds each function symbol with a size to `out`: `.symtab`'s, then `.dynsym`'s, their
/// place in the file found through their section ([`elf::Symbol::file_offset`]).
fn read_symbols<B: elf::Bytes + ?Sized>(b: &B, out: &mut FileSymbols) -> Option<()> {
    let elf = elf::Elf::parse(b).ok()?;
    let sections = elf.sections().ok()?;
    let mut budget = elf::SYMBOL_BYTES;
    let mut order = 0u32;
    for want in [elf::SHT_SYMTAB, elf::SHT_DYNSYM] {
        // a table past what is left of the budget, or malformed, is left out
        let Ok(Some(table)) = elf.symbols(&sections, want, budget) else {
            continue;
        };
        budget -= table.bytes();
        for sym in table.iter() {
            order = order.saturating_add(1);
            if !sym.is_function() || sym.size == 0 {
                continue;
            }
            let Ok(file_off) = sym.file_offset(&sections) else {
                continue;
            };
            let text = String::from_utf8_lossy(sym.name.unwrap_or_default());
            let (Ok(at), Ok(len)) = (u32::try_from(out.names.len()), u32::try_from(text.len()))
            else {
                return Some(());
            };
            out.names.push_str(&text);
            out.syms.push((file_off, sym.size, order, at, len));
        }
    }
    Some(())
}

/// Kernel frames: `{offset, symbol}` of each address a kernel function holds (others are
/// left out, as Tetragon's kernelStack does). The leading frames of BPF programs and
/// trampolines (`bpf_prog_*`, `bpf_trampoline_*`: a stack taken from a trampoline or a raw
/// tracepoint starts in the program taking it) are left out too, so that a hook served by
/// fentry starts at the hooked function, as a kprobe's stack does (Tetragon serves kprobe
/// hooks with kprobes only).
pub fn kernel_frames(syms: &KernelSymbols, addrs: &[u64], expose: bool) -> Vec<StackEntry> {
    let mut ours = true;
    addrs
        .iter()
        .filter(|&&a| a != 0)
        .filter_map(|&a| {
            let (name, offset) = syms.lookup(a)?;
            ours = ours && (name.starts_with("bpf_prog_") || name.starts_with("bpf_trampoline_"));
            (!ours).then(|| StackEntry {
                address: if expose { a } else { 0 },
                offset,
                symbol: name.to_string(),
                module: String::new(),
            })
        })
        .collect()
}

/// Turns stack frames into [`StackEntry`]s: kernel symbols read once, binaries' symbols
/// cached (at most [`FILES`]).
#[derive(Default)]
pub struct Symbolizer {
    /// `None`: not read yet; `Some(None)`: unreadable.
    kernel: Option<Option<KernelSymbols>>,
    /// By (device, inode) of the mapping: the binary's symbols and when it was last used.
    files: HashMap<(String, u64), (FileSymbols, u64)>,
    /// Symbols held in `files`, at most [`SYMBOLS`] (past one file that alone has more).
    symbols: usize,
    clock: u64,
    /// Show each frame's address (`--expose-stack-addresses`).
    pub expose_addresses: bool,
}

impl Symbolizer {
    /// A symbolizer that reads nothing until a first stack comes.
    pub fn new(expose_addresses: bool) -> Symbolizer {
        Symbolizer {
            expose_addresses,
            ..Default::default()
        }
    }

    /// Kernel frames: `{offset, symbol}` of each address a kernel function holds
    /// ([`kernel_frames`]).
    pub fn kernel(&mut self, addrs: &[u64]) -> Vec<StackEntry> {
        let expose = self.expose_addresses;
        match self.kernel.get_or_insert_with(KernelSymbols::load) {
            Some(syms) => kernel_frames(syms, addrs, expose),
            None => Vec::new(),
        }
    }

    /// User frames of thread `tid`: `{offset, symbol, module}` of each address a mapping of
    /// the process holds. Nothing when the process is gone.
    pub fn user(&mut self, tid: u32, addrs: &[u64]) -> Vec<StackEntry> {
        let mut text = String::new();
        let read = File::open(format!("/proc/{tid}/maps"))
            .and_then(|f| f.take(MAPS_BYTES).read_to_string(&mut text));
        if read.is_err() {
            return Vec::new();
        }
        let maps = parse_maps(&text);
        let mut out = Vec::new();
        for &a in addrs.iter().filter(|&&a| a != 0) {
            let i = maps.partition_point(|m| m.start <= a);
            let Some(m) = i.checked_sub(1).map(|i| &maps[i]).filter(|m| a < m.end) else {
                continue;
            };
            let offset = a - m.start + m.offset;
            let symbol = self
                .file_symbols(tid, m)
                .and_then(|f| f.lookup(offset))
                .unwrap_or_default()
                .to_string();
            out.push(StackEntry {
                address: if self.expose_addresses { a } else { 0 },
                offset,
                symbol,
                module: m.path.clone(),
            });
        }
        out
    }

    /// The symbols of the file mapped by `m`, read through the process's root (its mount
    /// namespace) and cached by device and inode.
    fn file_symbols(&mut self, tid: u32, m: &Mapping) -> Option<&FileSymbols> {
        if m.inode == 0 || !m.path.starts_with('/') {
            return None;
        }
        self.clock += 1;
        let key = (m.dev.clone(), m.inode);
        if !self.files.contains_key(&key) {
            // the file as the process sees it (its mount namespace); dev and inode name it
            let path = m.path.strip_suffix(" (deleted)").unwrap_or(&m.path);
            let syms = elf::FileBytes::open(&format!("/proc/{tid}/root{path}"))
                .map(|f| FileSymbols::read(&f))
                .unwrap_or_default();
            // drop the least recently used until the new one fits
            while !self.files.is_empty()
                && (self.files.len() >= FILES || self.symbols + syms.len() > SYMBOLS)
            {
                let Some(old) = self
                    .files
                    .iter()
                    .min_by_key(|(_, (_, used))| *used)
                    .map(|(k, _)| k.clone())
                else {
                    break;
                };
                if let Some((gone, _)) = self.files.remove(&old) {
                    self.symbols -= gone.len();
                }
            }
            self.symbols += syms.len();
            self.files.insert(key.clone(), (syms, 0));
        }
        let entry = self.files.get_mut(&key)?;
        entry.1 = self.clock;
        Some(&entry.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_lookup_takes_the_nearest_function_at_or_below() {
        let syms = KernelSymbols::parse(
            "ffffffff81000000 T _stext\n\
             ffffffff81001000 t do_syscall_64\n\
             ffffffff81002000 D some_data\n\
             ffffffffc0000000 t mod_fn\t[mymod]\n",
        )
        .unwrap();
        assert_eq!(
            syms.lookup(0xffffffff81001010),
            Some(("do_syscall_64", 0x10))
        );
        assert_eq!(syms.lookup(0xffffffff81001000), Some(("do_syscall_64", 0)));
        assert_eq!(syms.lookup(0xffffffff81002008), None, "data is no function");
        assert_eq!(syms.lookup(0xffffffffc0000004), Some(("mod_fn", 4)));
        assert_eq!(syms.lookup(0x1000), None, "below the first symbol");
        assert!(
            KernelSymbols::parse("0000000000000000 T _stext\n").is_none(),
            "hidden addresses"
        );
    }

    #[test]
    fn kernel_frames_leave_out_the_leading_bpf_frames_only() {
        let syms = KernelSymbols::parse(
            "ffffffffa0000000 t bpf_prog_81f391c14c432f30_post_stacks\t[bpf]\n\
             ffffffffa0001000 t bpf_trampoline_6442494873\t[bpf]\n\
             ffffffff81001000 T __x64_sys_openat\n\
             ffffffff81002000 T do_syscall_64\n\
             ffffffff81003000 D data\n",
        )
        .unwrap();
        let names = |addrs: &[u64], expose: bool| -> Vec<(String, u64, u64)> {
            kernel_frames(&syms, addrs, expose)
                .into_iter()
                .map(|e| (e.symbol, e.offset, e.address))
                .collect()
        };
        let stack = [
            0xffffffffa0000010,
            0xffffffffa0001020,
            0xffffffff81001030,
            0,
            0xffffffff81003000,
            0xffffffffa0000010,
            0xffffffff81002040,
        ];
        assert_eq!(
            names(&stack, false),
            [
                ("__x64_sys_openat".to_string(), 0x30, 0),
                ("bpf_prog_81f391c14c432f30_post_stacks".to_string(), 0x10, 0),
                ("do_syscall_64".to_string(), 0x40, 0),
            ]
        );
        assert_eq!(names(&stack[2..3], true)[0].2, 0xffffffff81001030);
    }

    #[test]
    fn maps_lines_parse_with_and_without_paths() {
        let maps = parse_maps(
            "7f0000001000-7f0000002000 r-xp 00001000 08:01 42   /usr/lib/libc.so.6\n\
             7ffd00000000-7ffd00001000 r-xp 00000000 00:00 0    [vdso]\n\
             55550000-55560000 rw-p 00000000 00:00 0 \n\
             garbage\n",
        );
        assert_eq!(maps.len(), 3);
        assert_eq!(maps[0].start, 0x55550000);
        assert_eq!(maps[0].path, "");
        assert_eq!(maps[1].path, "/usr/lib/libc.so.6");
        assert_eq!(maps[1].offset, 0x1000);
        assert_eq!(maps[1].inode, 42);
        assert_eq!(maps[2].path, "[vdso]");
    }

    #[test]
    fn file_symbols_of_this_test_binary() {
        // the test binary itself: its .symtab names this very function's module
        let exe = std::fs::read("/proc/self/exe").unwrap();
        let syms = FileSymbols::read(exe.as_slice());
        assert!(!syms.is_empty(), "no function symbol read");
        // a symbol is found at its own start and inside, by its name or an alias's
        let (start, size, _, at, len) = syms.syms[syms.len() / 2];
        let name = syms.name(at, len).to_string();
        assert!(!name.is_empty());
        for off in [start, start + size - 1] {
            let found = syms.lookup(off).unwrap();
            assert!(
                syms.syms
                    .iter()
                    .any(|s| s.0 == start && syms.name(s.3, s.4) == found),
                "{found} at {off:#x}, {name} at {start:#x}"
            );
        }
        assert!(syms.lookup(start + size).is_none_or(|n| n != name));
        // this very function is found by its own code address, through the process's maps
        let here = file_symbols_of_this_test_binary as fn() as usize as u64;
        let mut z = Symbolizer::new(false);
        let frames = z.user(std::process::id(), &[here]);
        assert_eq!(frames.len(), 1);
        assert!(
            frames[0]
                .symbol
                .contains("file_symbols_of_this_test_binary"),
            "{frames:?}"
        );
        assert!(frames[0].module.ends_with(
            &std::fs::read_link("/proc/self/exe")
                .unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .to_string()
        ));
        // malformed images give nothing, never a panic: cut in the header, cut before the
        // section headers at the end, section headers past the end
        assert!(FileSymbols::read(&exe[..100]).is_empty());
        assert!(FileSymbols::read(&b"\x7fELF"[..]).is_empty());
        assert!(FileSymbols::read(&exe[..exe.len() - 1]).is_empty());
        let mut far = exe.clone();
        far[0x28..0x30].copy_from_slice(&(exe.len() as u64).to_le_bytes());
        assert!(FileSymbols::read(far.as_slice()).is_empty());
    }
}
