//! Kernel BTF benchmarks, on the fixture kernels in `testdata/btf/`:
//!
//! - `index_6_18_raw`: [`Btf::open`] + [`Kernel::from_btf`] on the decompressed 6.18 BTF (5.5 MB,
//!   what `/sys/kernel/btf/vmlinux` is, mapped). The fixture is decompressed once, before measuring,
//!   into `CARGO_TARGET_TMPDIR`. Target: under 20 ms.
//! - `index_6_18_zst`: [`Kernel::load`] on `6.18.44-fc-v769.btf.zst` (decompression included).
//! - `lookup`: 1000 [`Kernel::func`] lookups of names that exist (6.18).
//! - `search_prefix`: [`Kernel::search_funcs`]`("do_sys*")` (6.18); the sorted order the first call
//!   builds is built during warm-up, so this measures the search only.
//! - `check_100x3`: [`check_source_with`] of 100 policies (cycling through
//!   `testdata/policies/valid/*.yaml`, read once) against the three fixture kernels, loaded once
//!   outside the timing (BTF only, as `policyctl check --btf A --btf B --btf C`).
//!
//! ```sh
//! cargo bench -p policyctl-validator --bench kernel
//! cargo bench -p policyctl-validator --bench kernel -- --quick
//! cargo bench -p policyctl-validator --bench kernel -- --quick check_100x3   # one benchmark
//! ```

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use policyctl_validator::btf::Btf;
use policyctl_validator::kernel::{Kernel, KernelSpec};
use policyctl_validator::{check_source_with, SourceFile};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[path = "../tests/support/mod.rs"]
mod support;

const K_6_1: &str = "6.1.0-56-amd64";
const K_6_12: &str = "6.12.117+deb12-amd64";
const K_6_18: &str = "6.18.44-fc-v769";

/// `testdata/btf/<name>.btf.zst`.
fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/btf")
        .join(format!("{name}.btf.zst"))
}

/// The fixture decompressed into a raw BTF file under the target's temp directory.
fn decompressed(name: &str) -> PathBuf {
    let zst = fixture(name);
    let compressed =
        std::fs::read(&zst).unwrap_or_else(|e| panic!("cannot read {}: {e}", zst.display()));
    let raw = zstd::stream::decode_all(compressed.as_slice())
        .unwrap_or_else(|e| panic!("cannot decompress {}: {e}", zst.display()));
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join(format!("{name}.btf"));
    // Write next to it and rename, so that a concurrent run never maps a half-written file.
    let tmp = dir.join(format!("{name}.btf.{}", std::process::id()));
    std::fs::write(&tmp, &raw).unwrap_or_else(|e| panic!("cannot write {}: {e}", tmp.display()));
    std::fs::rename(&tmp, &path).unwrap();
    path
}

fn load(name: &str) -> Kernel {
    Kernel::load(&KernelSpec {
        btf: fixture(name),
        ..KernelSpec::default()
    })
    .unwrap_or_else(|e| panic!("cannot load {name}: {e}"))
}

fn index(c: &mut Criterion) {
    let raw = decompressed(K_6_18);
    let zst = fixture(K_6_18);
    let mut group = c.benchmark_group("kernel");
    group.throughput(Throughput::Bytes(std::fs::metadata(&raw).unwrap().len()));
    group.bench_function("index_6_18_raw", |b| {
        b.iter(|| {
            let btf = Btf::open(black_box(&raw)).unwrap();
            let k = Kernel::from_btf(K_6_18, Arc::new(btf));
            black_box(k.func_count())
        })
    });
    let spec = KernelSpec {
        btf: zst,
        ..KernelSpec::default()
    };
    group.bench_function("index_6_18_zst", |b| {
        b.iter(|| black_box(Kernel::load(black_box(&spec)).unwrap().func_count()))
    });
    group.finish();
}

/// 1000 existing function names spread over the whole set, in a scrambled (fixed) order.
fn sample_names(k: &Kernel, n: usize) -> Vec<String> {
    let all: Vec<&str> = k.func_names().collect();
    assert!(
        all.len() >= n,
        "{} has only {} functions",
        k.name,
        all.len()
    );
    let mut names: Vec<String> = (0..n).map(|i| all[i * all.len() / n].to_string()).collect();
    // Fisher-Yates with xorshift: not in name order, the same every run.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in (1..names.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        names.swap(i, (x % (i as u64 + 1)) as usize);
    }
    names
}

fn lookups(c: &mut Criterion) {
    let k = load(K_6_18);
    let names = sample_names(&k, 1000);
    let mut group = c.benchmark_group("kernel");
    group.throughput(Throughput::Elements(names.len() as u64));
    group.bench_function("lookup", |b| {
        b.iter(|| {
            let mut params = 0;
            for name in &names {
                params += k
                    .func(black_box(name))
                    .expect("an existing function")
                    .proto
                    .vlen();
            }
            black_box(params)
        })
    });
    group.finish();

    let mut group = c.benchmark_group("kernel");
    let first = k.search_funcs("do_sys*").len();
    assert!(first > 0, "no do_sys* functions in {}", k.name);
    group.bench_function("search_prefix", |b| {
        b.iter(|| black_box(k.search_funcs(black_box("do_sys*")).len()))
    });
    group.finish();
}

fn check_100x3(c: &mut Criterion) {
    let corpus = support::corpus_100();
    let kernels: Vec<Arc<Kernel>> = [K_6_1, K_6_12, K_6_18]
        .into_iter()
        .map(|name| Arc::new(load(name)))
        .collect();
    let bytes: usize = corpus.iter().map(|(_, t)| t.len()).sum();
    let mut group = c.benchmark_group("kernel");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("check_100x3", |b| {
        b.iter(|| {
            let mut diagnostics = 0;
            for (name, text) in &corpus {
                // Building the SourceFile (copy and line index) is part of checking a file.
                let report =
                    check_source_with(SourceFile::new(name.as_str(), text.as_str()), &kernels);
                diagnostics += report.diagnostics.len();
            }
            black_box(diagnostics)
        })
    });
    group.finish();
}

fn config() -> Criterion {
    // Loading a kernel takes milliseconds: fewer samples keep a full run short.
    Criterion::default()
        .sample_size(30)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
}

criterion_group! {
    name = benches;
    config = config();
    targets = index, lookups, check_100x3
}
criterion_main!(benches);
