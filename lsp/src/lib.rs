//! The language server behind `policyctl lsp`: the validator's diagnostics as you type, and
//! completion, hover, code actions and an outline that know the kernel.
//!
//! Only this crate knows LSP types. The server (`server.rs`) owns documents and kernels and runs
//! the validator off the message loop; the features (`completion.rs`, `hover.rs`, `actions.rs`,
//! `symbols.rs`) are plain functions from a document's text, its last report and the kernels to
//! LSP values, so they are tested without a client. Positions cross between the two worlds only
//! in `convert.rs` (LSP counts UTF-16 code units, the validator bytes). `transport.rs` frames the
//! input in front of tower-lsp-server, so no malformed message can end the server. `context.rs`
//! reads the document with the validator's YAML reader (the only one), and `workspace.rs` says
//! which documents are policies, from their first lines.

pub mod actions;
pub mod analysis;
pub mod completion;
pub mod context;
pub mod convert;
pub mod hover;
pub mod server;
pub mod symbols;
pub mod transport;
pub mod workspace;

pub use server::serve_stdio;
