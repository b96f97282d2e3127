//! One test per scenario file: the Rust app against the scenario's Django snapshot (offline, no
//! Python), with the known-divergence ledger applied.

use std::path::Path;

fn rust_matches_django_snapshot(path: &Path) -> datatest_stable::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime
        .block_on(django_conformance::harness::suite::check_offline(
            &root.join("scenarios"),
            &root.join(path),
            &root.join("snapshots"),
        ))
        .map_err(Into::into)
}

datatest_stable::harness! {
    // Scenario files: in a topic folder, not fragments (`_name.toml`).
    { test = rust_matches_django_snapshot, root = "scenarios", pattern = r"^[^/]+/(.*/)?[^_/][^/]*\.toml$" },
}
