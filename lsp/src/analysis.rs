//! What every feature reads: a document's text, what the validator made of it, and the kernels.

use policyctl_validator::kernel::KernelSet;
use policyctl_validator::FileReport;

use crate::convert::LineIndex;

/// One document as the features see it, read-only.
pub struct Analysis<'a> {
    /// The text as the editor has it now.
    pub text: &'a str,
    /// Line starts of `text`.
    pub lines: &'a LineIndex,
    /// The validator's report of exactly `text`, when it has been computed (it may hold YAML
    /// errors: the document is being typed).
    pub current: Option<&'a FileReport>,
    /// The last report of an earlier text of this document that had no YAML error. Its spans
    /// point into that earlier text, not into `text`: use it for what the policy says (hook
    /// names, arg types by index), never for positions.
    pub last_good: Option<&'a FileReport>,
    /// The kernels the document is checked against (maybe none).
    pub kernels: &'a KernelSet,
}
