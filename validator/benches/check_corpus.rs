//! `check_100_policies`: check 100 policy files, built by cycling through
//! `testdata/policies/valid/*.yaml` (read once, before measuring).
//!
//! ```sh
//! cargo bench -p policyctl-validator --bench check_corpus
//! cargo bench -p policyctl-validator --bench check_corpus -- --quick
//! ```

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use policyctl_validator::{check_source, SourceFile};
use std::hint::black_box;

#[path = "../tests/support/mod.rs"]
mod support;

fn check_100_policies(c: &mut Criterion) {
    let corpus = support::corpus_100();
    let bytes: usize = corpus.iter().map(|(_, t)| t.len()).sum();
    let mut group = c.benchmark_group("check_corpus");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("check_100_policies", |b| {
        b.iter(|| {
            let mut diagnostics = 0;
            for (name, text) in &corpus {
                // Building the SourceFile (copy and line index) is part of checking a file.
                let report = check_source(SourceFile::new(name.as_str(), text.as_str()));
                diagnostics += report.diagnostics.len();
            }
            black_box(diagnostics)
        })
    });
    group.finish();
}

criterion_group!(benches, check_100_policies);
criterion_main!(benches);
