//! The README's dual-run example is the test of `tests/outside-plugin`, a
//! plugin crate outside the workspace whose tests `cargo xtask test` runs: the
//! example a user copies compiles and passes.
#![allow(clippy::unwrap_used)]

use std::path::Path;

#[test]
fn the_readme_shows_the_outside_plugin_test_verbatim() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(manifest.join("README.md")).unwrap();
    let test = std::fs::read_to_string(manifest.join("../tests/outside-plugin/tests/dual_run.rs"))
        .unwrap();
    // The test file without its module comment: from the first `use` on.
    let code = &test[test.find("use ").unwrap()..];
    assert!(
        readme.contains(&format!("```rust\n{code}```")),
        "copy tests/outside-plugin/tests/dual_run.rs (from its first `use`) into the README"
    );
}
