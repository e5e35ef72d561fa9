//! The runtime behind `policyctl run`: it will load validated policies onto eBPF. It is built
//! in a later issue; this crate has no code yet. It will take only a model the validator
//! accepted.
