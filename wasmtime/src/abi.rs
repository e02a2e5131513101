//! The linking surface of Envoy's Proxy-Wasm host for ABI v0.2.1, as tables:
//! every `env` import with its exact wasm type, the WASI set
//! (book: reference/hostcalls.md#wasi), and the export signatures Envoy checks
//! (book: reference/callbacks.md).
//!
//! The engine links exactly these. A module that imports anything else, or one
//! of these with another type, fails to load — as it does in Envoy.

use wasmtime::ValType;

/// A wasm function type: parameter and result value types, all `i32` or `i64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sig {
    /// Parameter types.
    pub params: &'static [Val],
    /// Result types (empty or one).
    pub results: &'static [Val],
}

/// The two wasm value types the ABI uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Val {
    /// `i32`: pointers, sizes, ids, statuses, enums.
    I32,
    /// `i64`: metric values and WASI offsets/timestamps.
    I64,
}

impl Val {
    fn matches(self, ty: &ValType) -> bool {
        matches!(
            (self, ty),
            (Val::I32, ValType::I32) | (Val::I64, ValType::I64)
        )
    }
}

impl Sig {
    /// Whether `ty` is exactly this signature.
    pub fn matches(&self, ty: &wasmtime::FuncType) -> bool {
        ty.params().len() == self.params.len()
            && ty.results().len() == self.results.len()
            && ty.params().zip(self.params).all(|(t, v)| v.matches(&t))
            && ty.results().zip(self.results).all(|(t, v)| v.matches(&t))
    }
}

impl core::fmt::Display for Sig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let list = |vals: &[Val]| {
            vals.iter()
                .map(|v| if *v == Val::I32 { "i32" } else { "i64" })
                .collect::<Vec<_>>()
        };
        write!(
            f,
            "({}) -> ({})",
            list(self.params).join(", "),
            list(self.results).join(", ")
        )
    }
}

use Val::{I32, I64};

const fn sig(params: &'static [Val], results: &'static [Val]) -> Sig {
    Sig { params, results }
}

const I32X1: &[Val] = &[I32];
const I32X2: &[Val] = &[I32, I32];
const I32X3: &[Val] = &[I32, I32, I32];
const I32X4: &[Val] = &[I32, I32, I32, I32];
const I32X5: &[Val] = &[I32, I32, I32, I32, I32];
const I32X6: &[Val] = &[I32, I32, I32, I32, I32, I32];
const R: &[Val] = &[I32];
const NONE: &[Val] = &[];

/// Every `env` function Envoy registers for a module with the
/// `proxy_abi_version_0_2_1` marker (book: reference/lifecycle.md#linking), with its exact
/// type.
pub const ENV_IMPORTS: &[(&str, Sig)] = &[
    // §2.1 logging, time, timers
    ("proxy_log", sig(I32X3, R)),
    ("proxy_get_log_level", sig(I32X1, R)),
    ("proxy_get_current_time_nanoseconds", sig(I32X1, R)),
    ("proxy_set_tick_period_milliseconds", sig(I32X1, R)),
    // §2.3 buffers
    ("proxy_get_buffer_bytes", sig(I32X5, R)),
    ("proxy_set_buffer_bytes", sig(I32X5, R)),
    ("proxy_get_buffer_status", sig(I32X3, R)),
    // §2.4 header maps
    ("proxy_get_header_map_pairs", sig(I32X3, R)),
    ("proxy_set_header_map_pairs", sig(I32X3, R)),
    ("proxy_get_header_map_value", sig(I32X5, R)),
    ("proxy_add_header_map_value", sig(I32X5, R)),
    ("proxy_replace_header_map_value", sig(I32X5, R)),
    ("proxy_remove_header_map_value", sig(I32X3, R)),
    ("proxy_get_header_map_size", sig(I32X2, R)),
    // §2.5 stream control
    ("proxy_continue_stream", sig(I32X1, R)),
    ("proxy_close_stream", sig(I32X1, R)),
    ("proxy_send_local_response", sig(&[I32; 8], R)),
    ("proxy_get_status", sig(I32X3, R)),
    // §2.6 HTTP callouts
    ("proxy_http_call", sig(&[I32; 10], R)),
    // §2.7 gRPC
    ("proxy_grpc_call", sig(&[I32; 12], R)),
    ("proxy_grpc_stream", sig(&[I32; 9], R)),
    ("proxy_grpc_send", sig(I32X4, R)),
    ("proxy_grpc_cancel", sig(I32X1, R)),
    ("proxy_grpc_close", sig(I32X1, R)),
    // §2.8 shared data
    ("proxy_get_shared_data", sig(I32X5, R)),
    ("proxy_set_shared_data", sig(I32X5, R)),
    // §2.9 shared queues
    ("proxy_register_shared_queue", sig(I32X3, R)),
    ("proxy_resolve_shared_queue", sig(I32X5, R)),
    ("proxy_dequeue_shared_queue", sig(I32X3, R)),
    ("proxy_enqueue_shared_queue", sig(I32X3, R)),
    // §2.10 metrics
    ("proxy_define_metric", sig(I32X4, R)),
    ("proxy_increment_metric", sig(&[I32, I64], R)),
    ("proxy_record_metric", sig(&[I32, I64], R)),
    ("proxy_get_metric", sig(I32X2, R)),
    // §2.11 properties
    ("proxy_get_property", sig(I32X4, R)),
    ("proxy_set_property", sig(I32X4, R)),
    // §2.12 context management
    ("proxy_set_effective_context", sig(I32X1, R)),
    ("proxy_done", sig(NONE, R)),
    // §2.13 foreign functions
    ("proxy_call_foreign_function", sig(I32X6, R)),
    // §2.15 Envoy-only
    ("envoy_resolve_dns", sig(I32X3, R)),
    // emscripten shims Envoy registers for every module
    ("pthread_equal", sig(I32X2, R)),
    ("emscripten_notify_memory_growth", sig(I32X1, NONE)),
];

/// `env` functions registered only for ABI v0.1.0. A 0.2.1 module that imports
/// one of them does not load in Envoy.
pub const ENV_IMPORTS_0_1_0_ONLY: &[&str] = &[
    "proxy_get_configuration",
    "proxy_continue_request",
    "proxy_continue_response",
    "proxy_clear_route_cache",
];

/// The two WASI modules Envoy registers (identical sets).
pub const WASI_MODULES: [&str; 2] = ["wasi_snapshot_preview1", "wasi_unstable"];

/// Every WASI function Envoy registers, with its exact type
/// (book: reference/hostcalls.md#wasi).
pub const WASI_IMPORTS: &[(&str, Sig)] = &[
    ("fd_write", sig(I32X4, R)),
    ("fd_read", sig(I32X4, R)),
    ("fd_seek", sig(&[I32, I64, I32, I32], R)),
    ("fd_close", sig(I32X1, R)),
    ("fd_fdstat_get", sig(I32X2, R)),
    ("fd_fdstat_set_flags", sig(I32X2, R)),
    ("fd_prestat_get", sig(I32X2, R)),
    ("fd_prestat_dir_name", sig(I32X3, R)),
    ("fd_filestat_get", sig(I32X2, R)),
    (
        "path_open",
        sig(&[I32, I32, I32, I32, I32, I64, I64, I32, I32], R),
    ),
    ("path_filestat_get", sig(I32X5, R)),
    ("environ_sizes_get", sig(I32X2, R)),
    ("environ_get", sig(I32X2, R)),
    ("args_sizes_get", sig(I32X2, R)),
    ("args_get", sig(I32X2, R)),
    ("clock_time_get", sig(&[I32, I64, I32], R)),
    ("clock_res_get", sig(I32X2, R)),
    ("random_get", sig(I32X2, R)),
    ("sched_yield", sig(NONE, R)),
    ("poll_oneoff", sig(I32X4, R)),
    ("proc_exit", sig(I32X1, NONE)),
    ("fd_advise", sig(&[I32, I64, I64, I32], R)),
    ("fd_allocate", sig(&[I32, I64, I64], R)),
    ("fd_datasync", sig(I32X1, R)),
    ("fd_fdstat_set_rights", sig(&[I32, I64, I64], R)),
    ("fd_filestat_set_size", sig(&[I32, I64], R)),
    ("fd_filestat_set_times", sig(&[I32, I64, I64, I32], R)),
    ("fd_pread", sig(&[I32, I32, I32, I64, I32], R)),
    ("fd_pwrite", sig(&[I32, I32, I32, I64, I32], R)),
    ("fd_readdir", sig(&[I32, I32, I32, I64, I32], R)),
    ("fd_renumber", sig(I32X2, R)),
    ("fd_sync", sig(I32X1, R)),
    ("fd_tell", sig(I32X2, R)),
    ("path_create_directory", sig(I32X3, R)),
    (
        "path_filestat_set_times",
        sig(&[I32, I32, I32, I32, I64, I64, I32], R),
    ),
    // As cpp-host registers them (book: reference/hostcalls.md#wasi), which differs from the WASI
    // spec for path_link (7 params) and path_symlink (5).
    ("path_link", sig(I32X6, R)),
    ("path_readlink", sig(I32X6, R)),
    ("path_remove_directory", sig(I32X3, R)),
    ("path_rename", sig(I32X6, R)),
    ("path_symlink", sig(I32X4, R)),
    ("path_unlink_file", sig(I32X3, R)),
    ("sock_accept", sig(I32X3, R)),
    ("sock_recv", sig(I32X6, R)),
    ("sock_send", sig(I32X5, R)),
    ("sock_shutdown", sig(I32X2, R)),
];

/// The ABI markers Envoy knows; the first found in the export section wins.
pub const ABI_MARKERS: [&str; 3] = [
    "proxy_abi_version_0_1_0",
    "proxy_abi_version_0_2_0",
    "proxy_abi_version_0_2_1",
];

/// Every export Envoy looks up by name, with the type it requires
/// (book: reference/callbacks.md). A present export with another type fails the load ("Bad function
/// signature"); an absent one means the default behaviour.
pub const EXPORTS: &[(&str, Sig)] = &[
    ("malloc", sig(I32X1, R)),
    ("proxy_on_memory_allocate", sig(I32X1, R)),
    ("_initialize", sig(NONE, NONE)),
    ("_start", sig(NONE, NONE)),
    ("main", sig(I32X2, R)),
    ("__main_void", sig(NONE, R)),
    ("proxy_on_context_create", sig(I32X2, NONE)),
    ("proxy_on_vm_start", sig(I32X2, R)),
    ("proxy_on_configure", sig(I32X2, R)),
    ("proxy_validate_configuration", sig(I32X2, R)),
    ("proxy_on_tick", sig(I32X1, NONE)),
    ("proxy_on_queue_ready", sig(I32X2, NONE)),
    ("proxy_on_foreign_function", sig(I32X3, NONE)),
    ("proxy_on_new_connection", sig(I32X1, R)),
    ("proxy_on_downstream_data", sig(I32X3, R)),
    ("proxy_on_upstream_data", sig(I32X3, R)),
    ("proxy_on_downstream_connection_close", sig(I32X2, NONE)),
    ("proxy_on_upstream_connection_close", sig(I32X2, NONE)),
    ("proxy_on_request_headers", sig(I32X3, R)),
    ("proxy_on_request_body", sig(I32X3, R)),
    ("proxy_on_request_trailers", sig(I32X2, R)),
    ("proxy_on_request_metadata", sig(I32X2, R)),
    ("proxy_on_response_headers", sig(I32X3, R)),
    ("proxy_on_response_body", sig(I32X3, R)),
    ("proxy_on_response_trailers", sig(I32X2, R)),
    ("proxy_on_response_metadata", sig(I32X2, R)),
    ("proxy_on_http_call_response", sig(I32X5, NONE)),
    ("proxy_on_grpc_receive_initial_metadata", sig(I32X3, NONE)),
    ("proxy_on_grpc_receive", sig(I32X3, NONE)),
    ("proxy_on_grpc_receive_trailing_metadata", sig(I32X3, NONE)),
    ("proxy_on_grpc_close", sig(I32X3, NONE)),
    ("proxy_on_done", sig(I32X1, R)),
    ("proxy_on_log", sig(I32X1, NONE)),
    ("proxy_on_delete", sig(I32X1, NONE)),
    ("envoy_on_resolve_dns", sig(I32X3, NONE)),
    ("envoy_on_stats_update", sig(I32X2, NONE)),
];

/// The signature of `env.<name>`, if Envoy registers it for ABI v0.2.1.
pub fn env_import(name: &str) -> Option<Sig> {
    ENV_IMPORTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, s)| *s)
}

/// The signature of WASI function `name`, if Envoy registers it.
pub fn wasi_import(name: &str) -> Option<Sig> {
    WASI_IMPORTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, s)| *s)
}

/// The signature Envoy requires of export `name`, if it looks it up.
pub fn export(name: &str) -> Option<Sig> {
    EXPORTS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tables_have_no_duplicates() {
        for table in [ENV_IMPORTS, WASI_IMPORTS, EXPORTS] {
            let mut names: Vec<_> = table.iter().map(|(n, _)| *n).collect();
            names.sort_unstable();
            let before = names.len();
            names.dedup();
            assert_eq!(before, names.len());
        }
    }

    #[test]
    fn metric_values_are_i64_and_everything_else_i32() {
        assert_eq!(
            env_import("proxy_increment_metric").unwrap().params,
            &[I32, I64]
        );
        assert_eq!(
            env_import("proxy_record_metric").unwrap().params,
            &[I32, I64]
        );
        assert_eq!(env_import("proxy_done").unwrap().to_string(), "() -> (i32)");
        assert_eq!(
            ENV_IMPORTS.len(),
            42,
            "40 proxy/envoy functions + 2 emscripten shims"
        );
        assert!(env_import("proxy_continue_request").is_none());
    }
}
