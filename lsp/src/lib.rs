//! The language server behind `policyctl lsp`. It is built in a later issue on top of
//! `policyctl-validator`; this crate has no code yet, so that the workspace already has the
//! place where LSP types will live (and only here).
