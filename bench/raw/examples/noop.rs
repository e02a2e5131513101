//! `noop`: an HTTP filter that does nothing. Every callback keeps Envoy's
//! default (an absent export means Continue), so only the start-up exports
//! from `bench_raw` are present.
pub use bench_raw::*;
