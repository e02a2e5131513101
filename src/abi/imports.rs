//! Every host function Envoy registers for ABI v0.2.1, declared once
//! (book: reference/lifecycle.md#linking and book: reference/hostcalls.md).
//! The [`imports!`] list expands to one of three backends, chosen by one cfg:
//!
//! * on `wasm`: `extern "C"` imports from module `env` (the real host);
//! * native with `mock-host`: forwarders to `crate::mock::backend` (the emulator);
//! * native without it: stubs that answer `UNIMPLEMENTED` (12), so a plugin's
//!   pure logic still links and runs natively.
//!
//! Types are chosen so each compiles to the exact wasm32 type Envoy expects:
//! pointers, `usize` and `u32` are `i32`; only metric values are `i64`.
//! Statuses and enums come back as raw `u32` and are decoded later, never
//! declared as Rust enums (an unknown code would be undefined behaviour).

macro_rules! imports {
    ($( $(#[$meta:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty; )*) => {
        // No `#[link(wasm_import_module = "env")]`: undefined symbols are
        // imported from `env` by default, and without the attribute rustc
        // keeps the plain symbol names (the attribute mangles them, which
        // costs ~50 bytes of name section per import).
        #[cfg(target_family = "wasm")]
        unsafe extern "C" {
            $( $(#[$meta])* pub(crate) fn $name($($arg: $ty),*) -> $ret; )*
        }

        $(
            $(#[$meta])*
            /// Forwards to the mock host's emulator.
            ///
            /// # Safety
            /// Same contract as the real import: every pointer/length pair is
            /// readable, and every out-pointer is writable and aligned.
            #[cfg(all(not(target_family = "wasm"), feature = "mock-host"))]
            #[allow(clippy::too_many_arguments)]
            pub(crate) unsafe fn $name($($arg: $ty),*) -> $ret {
                // SAFETY: the caller upholds the import's contract, which the
                // backend function requires verbatim.
                unsafe { crate::mock::backend::$name($($arg),*) }
            }

            $(#[$meta])*
            /// Native stub without a host: answers `UNIMPLEMENTED`.
            ///
            /// # Safety
            /// Touches no memory; `unsafe` only to match the real import.
            #[cfg(all(not(target_family = "wasm"), not(feature = "mock-host")))]
            #[allow(clippy::too_many_arguments)]
            pub(crate) unsafe fn $name($(_: $ty),*) -> $ret {
                super::NO_HOST
            }
        )*
    };
}

// Keep in the order of book: reference/hostcalls.md.
imports! {
    // §2.1 logging, time, timers
    fn proxy_log(level: u32, message_data: *const u8, message_size: usize) -> u32;
    fn proxy_get_log_level(return_level: *mut u32) -> u32;
    fn proxy_get_current_time_nanoseconds(return_time: *mut u64) -> u32;
    fn proxy_set_tick_period_milliseconds(period: u32) -> u32;

    // §2.3 buffers
    fn proxy_get_buffer_bytes(
        buffer_type: u32,
        start: usize,
        max_size: usize,
        return_data: *mut *mut u8,
        return_size: *mut usize,
    ) -> u32;
    fn proxy_set_buffer_bytes(
        buffer_type: u32,
        start: usize,
        size: usize,
        data: *const u8,
        data_size: usize,
    ) -> u32;
    fn proxy_get_buffer_status(buffer_type: u32, return_size: *mut usize, return_flags: *mut u32) -> u32;

    // §2.4 header maps
    fn proxy_get_header_map_pairs(map_type: u32, return_data: *mut *mut u8, return_size: *mut usize) -> u32;
    fn proxy_set_header_map_pairs(map_type: u32, data: *const u8, size: usize) -> u32;
    fn proxy_get_header_map_value(
        map_type: u32,
        key_data: *const u8,
        key_size: usize,
        return_value_data: *mut *mut u8,
        return_value_size: *mut usize,
    ) -> u32;
    fn proxy_add_header_map_value(
        map_type: u32,
        key_data: *const u8,
        key_size: usize,
        value_data: *const u8,
        value_size: usize,
    ) -> u32;
    fn proxy_replace_header_map_value(
        map_type: u32,
        key_data: *const u8,
        key_size: usize,
        value_data: *const u8,
        value_size: usize,
    ) -> u32;
    fn proxy_remove_header_map_value(map_type: u32, key_data: *const u8, key_size: usize) -> u32;
    fn proxy_get_header_map_size(map_type: u32, return_size: *mut usize) -> u32;

    // §2.5 stream control
    fn proxy_continue_stream(stream_type: u32) -> u32;
    fn proxy_close_stream(stream_type: u32) -> u32;
    fn proxy_send_local_response(
        status_code: u32,
        details_data: *const u8,
        details_size: usize,
        body_data: *const u8,
        body_size: usize,
        headers_data: *const u8,
        headers_size: usize,
        grpc_status: i32,
    ) -> u32;
    fn proxy_get_status(return_code: *mut u32, return_message_data: *mut *mut u8, return_message_size: *mut usize) -> u32;

    // §2.6 HTTP callouts
    fn proxy_http_call(
        upstream_data: *const u8,
        upstream_size: usize,
        headers_data: *const u8,
        headers_size: usize,
        body_data: *const u8,
        body_size: usize,
        trailers_data: *const u8,
        trailers_size: usize,
        timeout_milliseconds: u32,
        return_token: *mut u32,
    ) -> u32;

    // §2.7 gRPC callouts
    fn proxy_grpc_call(
        service_data: *const u8,
        service_size: usize,
        service_name_data: *const u8,
        service_name_size: usize,
        method_data: *const u8,
        method_size: usize,
        initial_metadata_data: *const u8,
        initial_metadata_size: usize,
        message_data: *const u8,
        message_size: usize,
        timeout_milliseconds: u32,
        return_token: *mut u32,
    ) -> u32;
    fn proxy_grpc_stream(
        service_data: *const u8,
        service_size: usize,
        service_name_data: *const u8,
        service_name_size: usize,
        method_data: *const u8,
        method_size: usize,
        initial_metadata_data: *const u8,
        initial_metadata_size: usize,
        return_token: *mut u32,
    ) -> u32;
    fn proxy_grpc_send(token: u32, message_data: *const u8, message_size: usize, end_stream: u32) -> u32;
    fn proxy_grpc_cancel(token: u32) -> u32;
    fn proxy_grpc_close(token: u32) -> u32;

    // §2.8 shared data
    fn proxy_get_shared_data(
        key_data: *const u8,
        key_size: usize,
        return_value_data: *mut *mut u8,
        return_value_size: *mut usize,
        return_cas: *mut u32,
    ) -> u32;
    fn proxy_set_shared_data(key_data: *const u8, key_size: usize, value_data: *const u8, value_size: usize, cas: u32) -> u32;

    // §2.9 shared queues
    fn proxy_register_shared_queue(name_data: *const u8, name_size: usize, return_token: *mut u32) -> u32;
    fn proxy_resolve_shared_queue(
        vm_id_data: *const u8,
        vm_id_size: usize,
        name_data: *const u8,
        name_size: usize,
        return_token: *mut u32,
    ) -> u32;
    fn proxy_dequeue_shared_queue(token: u32, return_data: *mut *mut u8, return_size: *mut usize) -> u32;
    fn proxy_enqueue_shared_queue(token: u32, data: *const u8, size: usize) -> u32;

    // §2.10 metrics
    fn proxy_define_metric(metric_type: u32, name_data: *const u8, name_size: usize, return_id: *mut u32) -> u32;
    fn proxy_increment_metric(metric_id: u32, offset: i64) -> u32;
    fn proxy_record_metric(metric_id: u32, value: u64) -> u32;
    fn proxy_get_metric(metric_id: u32, return_value: *mut u64) -> u32;

    // §2.11 properties
    fn proxy_get_property(path_data: *const u8, path_size: usize, return_data: *mut *mut u8, return_size: *mut usize) -> u32;
    fn proxy_set_property(path_data: *const u8, path_size: usize, value_data: *const u8, value_size: usize) -> u32;

    // §2.12 context management
    fn proxy_set_effective_context(context_id: u32) -> u32;
    fn proxy_done() -> u32;

    // §2.13 foreign functions
    fn proxy_call_foreign_function(
        name_data: *const u8,
        name_size: usize,
        arguments_data: *const u8,
        arguments_size: usize,
        return_results_data: *mut *mut u8,
        return_results_size: *mut usize,
    ) -> u32;

    // §2.15 Envoy-only
    fn envoy_resolve_dns(address_data: *const u8, address_size: usize, return_token: *mut u32) -> u32;
}
