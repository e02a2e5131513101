//! The native front door: every import of `abi/imports.rs`, with the same
//! signature. Each reads the plugin's arguments from native pointers, calls
//! the core ([`HostState`]) on this thread's current host, and hands results
//! back **through the allocation export** (`proxy_on_memory_allocate`), the
//! way a real host does, so the SDK's ownership hand-off
//! (`HostBytes::from_raw`) is exercised. Empty results are written as
//! `(null, 0)` without allocating, as Envoy does.
//!
//! The only `unsafe` of the mock host lives here: reading input slices and
//! writing out-parameters.

use super::core::HostState;
use super::core::status::{INTERNAL_FAILURE, INVALID_MEMORY_ACCESS, OK, UNIMPLEMENTED};
use super::native;
use crate::abi::memory::proxy_on_memory_allocate;
use core::ptr;

/// Borrows an input range.
///
/// # Safety
/// When `len > 0` and `data` is non-null, `data` must be readable for `len`
/// bytes for the duration of the hostcall (the import's contract).
unsafe fn input<'a>(data: *const u8, len: usize) -> &'a [u8] {
    if len == 0 || data.is_null() {
        return &[];
    }
    // SAFETY: non-null and readable for `len` bytes (this function's contract).
    unsafe { core::slice::from_raw_parts(data, len) }
}

/// Saturates a native size to the ABI's 32 bits (sizes are `i32` on wasm32).
fn wire(size: usize) -> u32 {
    u32::try_from(size).unwrap_or(u32::MAX)
}

/// Serves one hostcall on the current host: borrows its state for the call
/// only, then runs re-entry hooks. Without a host: `UNIMPLEMENTED`.
fn serve<T>(
    name: &'static str,
    call: impl FnOnce(&mut HostState) -> Result<T, u32>,
) -> Result<T, u32> {
    let Some(vm) = native::current() else {
        return Err(UNIMPLEMENTED);
    };
    let result = match vm.try_state() {
        Some(mut state) => call(&mut state),
        // A hostcall from inside a host callback (e.g. a foreign function
        // that calls back into the SDK): refused rather than a panic.
        None => Err(INTERNAL_FAILURE),
    };
    vm.after_hostcall(name);
    result
}

/// Writes a scalar out-parameter.
///
/// # Safety
/// `out` is null or valid for an aligned write of `T`.
unsafe fn put<T>(out: *mut T, value: T) {
    if !out.is_null() {
        // SAFETY: non-null, aligned and writable (this function's contract).
        unsafe { out.write(value) }
    }
}

/// Hands `bytes` to the plugin: allocates through the allocation export,
/// copies, and writes `(ptr, len)`; `(null, 0)` for empty results. Null
/// out-pointers discard the result (as `proxy_call_foreign_function` allows).
///
/// # Safety
/// `data` and `size` are null or valid for aligned writes.
unsafe fn give(bytes: &[u8], data: *mut *mut u8, size: *mut usize) -> u32 {
    if data.is_null() || size.is_null() {
        return OK;
    }
    if bytes.is_empty() {
        // SAFETY: both out-pointers are valid (contract, checked non-null).
        unsafe { put(data, ptr::null_mut()) };
        // SAFETY: as above.
        unsafe { put(size, 0) };
        return OK;
    }
    let buffer = proxy_on_memory_allocate(bytes.len());
    if buffer.is_null() {
        return INVALID_MEMORY_ACCESS;
    }
    // SAFETY: `buffer` is a fresh allocation of exactly `bytes.len()` bytes,
    // which cannot overlap the host's own `bytes`.
    unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), buffer, bytes.len()) };
    // SAFETY: both out-pointers are valid (contract, checked non-null);
    // ownership of `buffer` passes to the plugin.
    unsafe { put(data, buffer) };
    // SAFETY: as above.
    unsafe { put(size, bytes.len()) };
    OK
}

fn status(result: Result<(), u32>) -> u32 {
    result.err().unwrap_or(OK)
}

/// Writes bytes on success, the status otherwise.
///
/// # Safety
/// As [`give`].
unsafe fn reply_bytes(result: Result<Vec<u8>, u32>, data: *mut *mut u8, size: *mut usize) -> u32 {
    match result {
        // SAFETY: forwarded contract.
        Ok(bytes) => unsafe { give(&bytes, data, size) },
        Err(code) => code,
    }
}

/// Writes a scalar on success, the status otherwise.
///
/// # Safety
/// As [`put`].
unsafe fn reply<T>(result: Result<T, u32>, out: *mut T) -> u32 {
    match result {
        Ok(value) => {
            // SAFETY: forwarded contract.
            unsafe { put(out, value) };
            OK
        }
        Err(code) => code,
    }
}

// ---- §2.1 logging, time, timers --------------------------------------------------------

pub(crate) unsafe fn proxy_log(level: u32, message_data: *const u8, message_size: usize) -> u32 {
    // SAFETY: the import's contract: the message range is readable.
    let message = unsafe { input(message_data, message_size) };
    status(serve("proxy_log", |s| s.log(level, message)))
}

pub(crate) unsafe fn proxy_get_log_level(return_level: *mut u32) -> u32 {
    // SAFETY: the import's contract: `return_level` is writable.
    unsafe {
        reply(
            serve("proxy_get_log_level", HostState::get_log_level),
            return_level,
        )
    }
}

pub(crate) unsafe fn proxy_get_current_time_nanoseconds(return_time: *mut u64) -> u32 {
    let now = serve(
        "proxy_get_current_time_nanoseconds",
        HostState::get_current_time_nanoseconds,
    );
    // SAFETY: the import's contract: `return_time` is writable.
    unsafe { reply(now, return_time) }
}

pub(crate) unsafe fn proxy_set_tick_period_milliseconds(period: u32) -> u32 {
    status(serve("proxy_set_tick_period_milliseconds", |s| {
        s.set_tick_period_milliseconds(period)
    }))
}

// ---- §2.3 buffers -------------------------------------------------------------------------

pub(crate) unsafe fn proxy_get_buffer_bytes(
    buffer_type: u32,
    start: usize,
    max_size: usize,
    return_data: *mut *mut u8,
    return_size: *mut usize,
) -> u32 {
    let result = serve("proxy_get_buffer_bytes", |s| {
        s.get_buffer_bytes(buffer_type, wire(start), wire(max_size))
    });
    // SAFETY: the import's contract: both out-pointers are writable.
    unsafe { reply_bytes(result, return_data, return_size) }
}

pub(crate) unsafe fn proxy_set_buffer_bytes(
    buffer_type: u32,
    start: usize,
    size: usize,
    data: *const u8,
    data_size: usize,
) -> u32 {
    // SAFETY: the import's contract: the data range is readable.
    let data = unsafe { input(data, data_size) };
    status(serve("proxy_set_buffer_bytes", |s| {
        s.set_buffer_bytes(buffer_type, wire(start), wire(size), data)
    }))
}

pub(crate) unsafe fn proxy_get_buffer_status(
    buffer_type: u32,
    return_size: *mut usize,
    return_flags: *mut u32,
) -> u32 {
    match serve("proxy_get_buffer_status", |s| {
        s.get_buffer_status(buffer_type)
    }) {
        Ok((size, flags)) => {
            // SAFETY: the import's contract: both out-pointers are writable.
            unsafe { put(return_size, size as usize) };
            // SAFETY: as above.
            unsafe { put(return_flags, flags) };
            OK
        }
        Err(code) => code,
    }
}

// ---- §2.4 header maps ----------------------------------------------------------------------

pub(crate) unsafe fn proxy_get_header_map_pairs(
    map_type: u32,
    return_data: *mut *mut u8,
    return_size: *mut usize,
) -> u32 {
    let result = serve("proxy_get_header_map_pairs", |s| {
        s.get_header_map_pairs(map_type)
    });
    // SAFETY: the import's contract: both out-pointers are writable.
    unsafe { reply_bytes(result, return_data, return_size) }
}

pub(crate) unsafe fn proxy_set_header_map_pairs(
    map_type: u32,
    data: *const u8,
    size: usize,
) -> u32 {
    // SAFETY: the import's contract: the data range is readable.
    let data = unsafe { input(data, size) };
    status(serve("proxy_set_header_map_pairs", |s| {
        s.set_header_map_pairs(map_type, data)
    }))
}

pub(crate) unsafe fn proxy_get_header_map_value(
    map_type: u32,
    key_data: *const u8,
    key_size: usize,
    return_value_data: *mut *mut u8,
    return_value_size: *mut usize,
) -> u32 {
    // SAFETY: the import's contract: the key range is readable.
    let key = unsafe { input(key_data, key_size) };
    let result = serve("proxy_get_header_map_value", |s| {
        s.get_header_map_value(map_type, key)
    });
    // SAFETY: the import's contract: both out-pointers are writable.
    unsafe { reply_bytes(result, return_value_data, return_value_size) }
}

pub(crate) unsafe fn proxy_add_header_map_value(
    map_type: u32,
    key_data: *const u8,
    key_size: usize,
    value_data: *const u8,
    value_size: usize,
) -> u32 {
    // SAFETY: the import's contract: the key range is readable.
    let key = unsafe { input(key_data, key_size) };
    // SAFETY: the import's contract: the value range is readable.
    let value = unsafe { input(value_data, value_size) };
    status(serve("proxy_add_header_map_value", |s| {
        s.add_header_map_value(map_type, key, value)
    }))
}

pub(crate) unsafe fn proxy_replace_header_map_value(
    map_type: u32,
    key_data: *const u8,
    key_size: usize,
    value_data: *const u8,
    value_size: usize,
) -> u32 {
    // SAFETY: the import's contract: the key range is readable.
    let key = unsafe { input(key_data, key_size) };
    // SAFETY: the import's contract: the value range is readable.
    let value = unsafe { input(value_data, value_size) };
    status(serve("proxy_replace_header_map_value", |s| {
        s.replace_header_map_value(map_type, key, value)
    }))
}

pub(crate) unsafe fn proxy_remove_header_map_value(
    map_type: u32,
    key_data: *const u8,
    key_size: usize,
) -> u32 {
    // SAFETY: the import's contract: the key range is readable.
    let key = unsafe { input(key_data, key_size) };
    status(serve("proxy_remove_header_map_value", |s| {
        s.remove_header_map_value(map_type, key)
    }))
}

pub(crate) unsafe fn proxy_get_header_map_size(map_type: u32, return_size: *mut usize) -> u32 {
    let result = serve("proxy_get_header_map_size", |s| {
        s.get_header_map_size(map_type)
    })
    .map(|n| n as usize);
    // SAFETY: the import's contract: `return_size` is writable.
    unsafe { reply(result, return_size) }
}

// ---- §2.5 stream control -------------------------------------------------------------------

pub(crate) unsafe fn proxy_continue_stream(stream_type: u32) -> u32 {
    status(serve("proxy_continue_stream", |s| {
        s.continue_stream(stream_type)
    }))
}

pub(crate) unsafe fn proxy_close_stream(stream_type: u32) -> u32 {
    status(serve("proxy_close_stream", |s| s.close_stream(stream_type)))
}

#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn proxy_send_local_response(
    status_code: u32,
    details_data: *const u8,
    details_size: usize,
    body_data: *const u8,
    body_size: usize,
    headers_data: *const u8,
    headers_size: usize,
    grpc_status: i32,
) -> u32 {
    // SAFETY: the import's contract: the details range is readable.
    let details = unsafe { input(details_data, details_size) };
    // SAFETY: the import's contract: the body range is readable.
    let body = unsafe { input(body_data, body_size) };
    // SAFETY: the import's contract: the headers range is readable.
    let headers = unsafe { input(headers_data, headers_size) };
    status(serve("proxy_send_local_response", |s| {
        s.send_local_response(status_code, details, body, headers, grpc_status)
    }))
}

pub(crate) unsafe fn proxy_get_status(
    return_code: *mut u32,
    return_message_data: *mut *mut u8,
    return_message_size: *mut usize,
) -> u32 {
    match serve("proxy_get_status", HostState::get_status) {
        Ok((code, message)) => {
            // SAFETY: the import's contract: `return_code` is writable.
            unsafe { put(return_code, code) };
            // SAFETY: the import's contract: both message out-pointers are writable.
            unsafe { give(&message, return_message_data, return_message_size) }
        }
        Err(code) => code,
    }
}

// ---- §2.6 / §2.7 callouts ---------------------------------------------------------------------

#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn proxy_http_call(
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
) -> u32 {
    // SAFETY: the import's contract: every input range is readable.
    let upstream = unsafe { input(upstream_data, upstream_size) };
    // SAFETY: as above.
    let headers = unsafe { input(headers_data, headers_size) };
    // SAFETY: as above.
    let body = unsafe { input(body_data, body_size) };
    // SAFETY: as above.
    let trailers = unsafe { input(trailers_data, trailers_size) };
    let result = serve("proxy_http_call", |s| {
        s.http_call(upstream, headers, body, trailers, timeout_milliseconds)
    });
    // SAFETY: the import's contract: `return_token` is writable.
    unsafe { reply(result, return_token) }
}

#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn proxy_grpc_call(
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
) -> u32 {
    // SAFETY: the import's contract: every input range is readable.
    let service = unsafe { input(service_data, service_size) };
    // SAFETY: as above.
    let service_name = unsafe { input(service_name_data, service_name_size) };
    // SAFETY: as above.
    let method = unsafe { input(method_data, method_size) };
    // SAFETY: as above.
    let metadata = unsafe { input(initial_metadata_data, initial_metadata_size) };
    // SAFETY: as above.
    let message = unsafe { input(message_data, message_size) };
    let result = serve("proxy_grpc_call", |s| {
        s.grpc_call(
            service,
            service_name,
            method,
            metadata,
            message,
            timeout_milliseconds,
        )
    });
    // SAFETY: the import's contract: `return_token` is writable.
    unsafe { reply(result, return_token) }
}

#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn proxy_grpc_stream(
    service_data: *const u8,
    service_size: usize,
    service_name_data: *const u8,
    service_name_size: usize,
    method_data: *const u8,
    method_size: usize,
    initial_metadata_data: *const u8,
    initial_metadata_size: usize,
    return_token: *mut u32,
) -> u32 {
    // SAFETY: the import's contract: every input range is readable.
    let service = unsafe { input(service_data, service_size) };
    // SAFETY: as above.
    let service_name = unsafe { input(service_name_data, service_name_size) };
    // SAFETY: as above.
    let method = unsafe { input(method_data, method_size) };
    // SAFETY: as above.
    let metadata = unsafe { input(initial_metadata_data, initial_metadata_size) };
    let result = serve("proxy_grpc_stream", |s| {
        s.grpc_stream(service, service_name, method, metadata)
    });
    // SAFETY: the import's contract: `return_token` is writable.
    unsafe { reply(result, return_token) }
}

pub(crate) unsafe fn proxy_grpc_send(
    token: u32,
    message_data: *const u8,
    message_size: usize,
    end_stream: u32,
) -> u32 {
    // SAFETY: the import's contract: the message range is readable.
    let message = unsafe { input(message_data, message_size) };
    status(serve("proxy_grpc_send", |s| {
        s.grpc_send(token, message, end_stream != 0)
    }))
}

pub(crate) unsafe fn proxy_grpc_cancel(token: u32) -> u32 {
    status(serve("proxy_grpc_cancel", |s| s.grpc_cancel(token)))
}

pub(crate) unsafe fn proxy_grpc_close(token: u32) -> u32 {
    status(serve("proxy_grpc_close", |s| s.grpc_close(token)))
}

// ---- §2.8 shared data ------------------------------------------------------------------------

pub(crate) unsafe fn proxy_get_shared_data(
    key_data: *const u8,
    key_size: usize,
    return_value_data: *mut *mut u8,
    return_value_size: *mut usize,
    return_cas: *mut u32,
) -> u32 {
    // SAFETY: the import's contract: the key range is readable.
    let key = unsafe { input(key_data, key_size) };
    match serve("proxy_get_shared_data", |s| s.get_shared_data(key)) {
        Ok((value, cas)) => {
            // SAFETY: the import's contract: `return_cas` is writable.
            unsafe { put(return_cas, cas) };
            // SAFETY: the import's contract: both value out-pointers are writable.
            unsafe { give(&value, return_value_data, return_value_size) }
        }
        Err(code) => code,
    }
}

pub(crate) unsafe fn proxy_set_shared_data(
    key_data: *const u8,
    key_size: usize,
    value_data: *const u8,
    value_size: usize,
    cas: u32,
) -> u32 {
    // SAFETY: the import's contract: the key range is readable.
    let key = unsafe { input(key_data, key_size) };
    // SAFETY: the import's contract: the value range is readable.
    let value = unsafe { input(value_data, value_size) };
    status(serve("proxy_set_shared_data", |s| {
        s.set_shared_data(key, value, cas)
    }))
}

// ---- §2.9 shared queues ----------------------------------------------------------------------

pub(crate) unsafe fn proxy_register_shared_queue(
    name_data: *const u8,
    name_size: usize,
    return_token: *mut u32,
) -> u32 {
    // SAFETY: the import's contract: the name range is readable.
    let name = unsafe { input(name_data, name_size) };
    let result = serve("proxy_register_shared_queue", |s| {
        s.register_shared_queue(name)
    });
    // SAFETY: the import's contract: `return_token` is writable.
    unsafe { reply(result, return_token) }
}

pub(crate) unsafe fn proxy_resolve_shared_queue(
    vm_id_data: *const u8,
    vm_id_size: usize,
    name_data: *const u8,
    name_size: usize,
    return_token: *mut u32,
) -> u32 {
    // SAFETY: the import's contract: the vm_id range is readable.
    let vm_id = unsafe { input(vm_id_data, vm_id_size) };
    // SAFETY: the import's contract: the name range is readable.
    let name = unsafe { input(name_data, name_size) };
    let result = serve("proxy_resolve_shared_queue", |s| {
        s.resolve_shared_queue(vm_id, name)
    });
    // SAFETY: the import's contract: `return_token` is writable.
    unsafe { reply(result, return_token) }
}

pub(crate) unsafe fn proxy_dequeue_shared_queue(
    token: u32,
    return_data: *mut *mut u8,
    return_size: *mut usize,
) -> u32 {
    let result = serve("proxy_dequeue_shared_queue", |s| {
        s.dequeue_shared_queue(token)
    });
    // SAFETY: the import's contract: both out-pointers are writable.
    unsafe { reply_bytes(result, return_data, return_size) }
}

pub(crate) unsafe fn proxy_enqueue_shared_queue(token: u32, data: *const u8, size: usize) -> u32 {
    // SAFETY: the import's contract: the data range is readable.
    let data = unsafe { input(data, size) };
    status(serve("proxy_enqueue_shared_queue", |s| {
        s.enqueue_shared_queue(token, data)
    }))
}

// ---- §2.10 metrics -----------------------------------------------------------------------------

pub(crate) unsafe fn proxy_define_metric(
    metric_type: u32,
    name_data: *const u8,
    name_size: usize,
    return_id: *mut u32,
) -> u32 {
    // SAFETY: the import's contract: the name range is readable.
    let name = unsafe { input(name_data, name_size) };
    let result = serve("proxy_define_metric", |s| {
        s.define_metric(metric_type, name)
    });
    // SAFETY: the import's contract: `return_id` is writable.
    unsafe { reply(result, return_id) }
}

pub(crate) unsafe fn proxy_increment_metric(metric_id: u32, offset: i64) -> u32 {
    status(serve("proxy_increment_metric", |s| {
        s.increment_metric(metric_id, offset)
    }))
}

pub(crate) unsafe fn proxy_record_metric(metric_id: u32, value: u64) -> u32 {
    status(serve("proxy_record_metric", |s| {
        s.record_metric(metric_id, value)
    }))
}

pub(crate) unsafe fn proxy_get_metric(metric_id: u32, return_value: *mut u64) -> u32 {
    let result = serve("proxy_get_metric", |s| s.get_metric(metric_id));
    // SAFETY: the import's contract: `return_value` is writable.
    unsafe { reply(result, return_value) }
}

// ---- §2.11 properties ----------------------------------------------------------------------------

pub(crate) unsafe fn proxy_get_property(
    path_data: *const u8,
    path_size: usize,
    return_data: *mut *mut u8,
    return_size: *mut usize,
) -> u32 {
    // SAFETY: the import's contract: the path range is readable.
    let path = unsafe { input(path_data, path_size) };
    let result = serve("proxy_get_property", |s| s.get_property(path));
    // SAFETY: the import's contract: both out-pointers are writable.
    unsafe { reply_bytes(result, return_data, return_size) }
}

pub(crate) unsafe fn proxy_set_property(
    path_data: *const u8,
    path_size: usize,
    value_data: *const u8,
    value_size: usize,
) -> u32 {
    // SAFETY: the import's contract: the path range is readable.
    let path = unsafe { input(path_data, path_size) };
    // SAFETY: the import's contract: the value range is readable.
    let value = unsafe { input(value_data, value_size) };
    status(serve("proxy_set_property", |s| s.set_property(path, value)))
}

// ---- §2.12 context management ---------------------------------------------------------------------

pub(crate) unsafe fn proxy_set_effective_context(context_id: u32) -> u32 {
    status(serve("proxy_set_effective_context", |s| {
        s.set_effective_context(context_id)
    }))
}

pub(crate) unsafe fn proxy_done() -> u32 {
    status(serve("proxy_done", HostState::done))
}

// ---- §2.13 foreign functions, §2.15 Envoy DNS --------------------------------------------------------

pub(crate) unsafe fn proxy_call_foreign_function(
    name_data: *const u8,
    name_size: usize,
    arguments_data: *const u8,
    arguments_size: usize,
    return_results_data: *mut *mut u8,
    return_results_size: *mut usize,
) -> u32 {
    // SAFETY: the import's contract: the name range is readable.
    let name = unsafe { input(name_data, name_size) };
    // SAFETY: the import's contract: the arguments range is readable.
    let arguments = unsafe { input(arguments_data, arguments_size) };
    let result = serve("proxy_call_foreign_function", |s| {
        s.call_foreign_function(name, arguments)
    });
    // SAFETY: the import's contract: both out-pointers are writable or null.
    unsafe { reply_bytes(result, return_results_data, return_results_size) }
}

pub(crate) unsafe fn envoy_resolve_dns(
    address_data: *const u8,
    address_size: usize,
    return_token: *mut u32,
) -> u32 {
    // SAFETY: the import's contract: the address range is readable.
    let address = unsafe { input(address_data, address_size) };
    let result = serve("envoy_resolve_dns", |s| s.resolve_dns(address));
    // SAFETY: the import's contract: `return_token` is writable.
    unsafe { reply(result, return_token) }
}
