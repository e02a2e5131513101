//! Compile-fail and compile-pass tests of `#[proxywasm::main]` and
//! `#[proxywasm::callbacks]`: every error
//! message the macro emits, pointing at the user's code.

// trybuild runs rustc in a child process, which Miri cannot do; under Miri
// this file has no test (the gate runs it under plain `cargo test`).
#[cfg(not(miri))]
#[test]
fn entry_macro_diagnostics() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
