//! The tests that boot a real kernel in qemu (`support/vm.rs`), in one test binary.
//!
//! Each VM runs on one core (TCG, `-smp 1`), and `cargo test` runs test binaries one after the
//! other. As a binary each, a short test left a core idle while its binary's longest test ran
//! (the 6.1 run of a pair often ends well before the 6.12 one, and a binary of one test used
//! one core). In one binary libtest starts the next VM test as soon as a thread is free, so
//! both cores stay busy until the last VM test. The support modules are compiled once, here.
//!
//! One group: `cargo test --test vm article` (a module's name filters its tests).

#[path = "../support/corpus.rs"]
mod corpus;
#[path = "../support/skip.rs"]
mod skip;
#[path = "../support/tetragon_api.rs"]
mod tetragon_api;
#[path = "../support/uprobe_override.rs"]
mod uprobe_override;
#[path = "../support/vm.rs"]
mod vm;

mod args;
mod article;
mod boot;
mod cel;
mod corpus_attach;
mod enforce;
mod error_injection;
mod features;
mod multi_kprobe;
mod process_filters;
mod return_probes;
mod socktrack;
mod unknown;
mod uprobe;
mod uprobe_override_vm;
