//! The opt-in `wee-alloc` feature: `wee_alloc` as the module's global
//! allocator (only when compiling for `wasm32`; native builds, the mock host
//! and `cargo test --all-features` keep the system allocator, and the
//! dependency is not even compiled there).
//!
//! **Opt-in only, and not recommended.** It exists so its cost can be
//! measured (`cargo xtask bench --allocator`). The default, Rust's allocator
//! on `wasm32-wasip1` (wasi-libc's dlmalloc), needs no feature.
//!
//! * `wee_alloc` is unmaintained upstream (RUSTSEC-2022-0054): 0.4.5 (2019)
//!   is its last release, and its open bug reports include unbounded growth
//!   when large blocks are freed in allocation order (rustwasm/wee_alloc#106).
//! * The official Rust SDK shipped the same `wee-alloc` feature from 0.1.3 and
//!   removed it in 0.2.1 (proxy-wasm-rust-sdk#168: "no longer maintained and
//!   it leaks memory") after a plugin calling `Regex::new` per response body
//!   grew without bound and stopped growing once `wee_alloc` was taken out
//!   (proxy-wasm-rust-sdk#167).
//! * It never returns memory to the host. No wasm allocator can shrink linear
//!   memory, but `wee_alloc` keeps every page it ever took in its own free
//!   lists: small sizes (up to 256 words) in per-size lists that never go back
//!   to the main one, and freed cells from different `memory.grow` calls are
//!   never merged, so a request bigger than every free cell grows memory even
//!   when enough is free in total. Measured in the engine host (book:
//!   Building, "Choosing an allocator"): the bench plugins stay flat, but a
//!   filter growing a 1–9 KiB `Vec` per request gained 842 pages (53 MiB) over
//!   10,000 requests, where the default allocator gained none.
//! * It installs a `#[global_allocator]`: a plugin that declares its own does
//!   not compile ("the `#[global_allocator]` in this crate conflicts with
//!   global allocator in: proxywasm"). Leave this feature off and keep yours
//!   (the SDK's `proxy_on_memory_allocate` goes through whichever global
//!   allocator the module has).
//!
//! Entirely safe code: the `GlobalAlloc` implementation is `wee_alloc`'s, and a
//! `static` marked `#[global_allocator]` is safe code.

/// The module's global allocator with the `wee-alloc` feature on `wasm32`.
#[global_allocator]
static ALLOC: wee_alloc::WeeAlloc<'static> = wee_alloc::WeeAlloc::INIT;
