//! policyctl's eBPF runtime: `policyctl run`.
//!
//! Data flows one way: policies the validator accepted → [`plan::Plan`]
//! (pure data: per-hook configurations and filter strings, tested byte by
//! byte) → [`loader`] (aya: load the one BPF object, write the maps, attach
//! every hook of every policy or none) → ring buffer → event decoding and
//! rendering in Tetragon's JSON or compact form.
//!
//! The BPF programs (`runtime/bpf/*.bpf.c`) are generic: they know no
//! policy; the maps tell them what to read, what to compare and what to do.
//! The compiled object is committed and embedded, so building needs only
//! Rust; `runtime/tests/bpf_objects.rs` checks it matches the C sources.

pub mod cel;
pub mod container;
pub mod elf;
pub mod event;
pub mod fmodret;
mod kmulti;
pub mod layout;
pub mod loader;
pub mod netaction;
pub mod output;
pub mod plan;
pub mod process;
pub mod refctr;
pub mod stacks;
pub mod uregs;
pub mod usdt;
