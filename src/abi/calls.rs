//! Safe 1:1 wrappers over [`super::imports`]: slices in, owned values out.
//!
//! Each returns `Ok` on status 0 and `Err(code)` with the raw non-zero code
//! otherwise; the `host` layer decodes codes into `Status`. Out-parameters are
//! read only on success, and every returned buffer is owned by a [`HostBytes`]
//! immediately.

use super::imports as sys;
use super::memory::HostBytes;
use core::ptr::null_mut;

/// A raw call result: `Err` holds the non-zero status code.
pub(crate) type Raw<T> = Result<T, u32>;

#[inline(always)]
fn status(code: u32) -> Raw<()> {
    if code == 0 { Ok(()) } else { Err(code) }
}

/// Runs a hostcall that returns one buffer through `(ptr, size)` out-parameters.
#[inline(always)]
fn with_buffer(call: impl FnOnce(*mut *mut u8, *mut usize) -> u32) -> Raw<HostBytes> {
    let mut ptr: *mut u8 = null_mut();
    let mut len: usize = 0;
    status(call(&mut ptr, &mut len))?;
    // SAFETY: the call returned OK, so the host wrote `ptr`/`len` of a buffer it
    // obtained from our proxy_on_memory_allocate(len) and filled, or (0, 0) for
    // an empty result; ownership passes to us (book: reference/memory.md#results-from-the-host).
    Ok(unsafe { HostBytes::from_raw(ptr, len) })
}

#[inline(always)]
fn with_u32(call: impl FnOnce(*mut u32) -> u32) -> Raw<u32> {
    let mut out = 0u32;
    status(call(&mut out))?;
    Ok(out)
}

pub(crate) fn log(level: u32, message: &[u8]) -> Raw<()> {
    // SAFETY: `message` is a live slice for the duration of the call.
    status(unsafe { sys::proxy_log(level, message.as_ptr(), message.len()) })
}

pub(crate) fn get_log_level() -> Raw<u32> {
    // SAFETY: `out` is a live, aligned u32 the host writes once.
    with_u32(|out| unsafe { sys::proxy_get_log_level(out) })
}

pub(crate) fn get_current_time_nanoseconds() -> Raw<u64> {
    let mut out = 0u64;
    // SAFETY: `out` is a live, aligned u64 the host writes once.
    status(unsafe { sys::proxy_get_current_time_nanoseconds(&mut out) })?;
    Ok(out)
}

pub(crate) fn set_tick_period_milliseconds(period: u32) -> Raw<()> {
    // SAFETY: no memory is passed.
    status(unsafe { sys::proxy_set_tick_period_milliseconds(period) })
}

pub(crate) fn get_buffer_bytes(buffer: u32, start: usize, max_size: usize) -> Raw<HostBytes> {
    // SAFETY: both out-pointers are live locals of with_buffer.
    with_buffer(|ptr, len| unsafe {
        sys::proxy_get_buffer_bytes(buffer, start, max_size, ptr, len)
    })
}

pub(crate) fn set_buffer_bytes(buffer: u32, start: usize, size: usize, data: &[u8]) -> Raw<()> {
    // SAFETY: `data` is a live slice for the duration of the call.
    status(unsafe { sys::proxy_set_buffer_bytes(buffer, start, size, data.as_ptr(), data.len()) })
}

pub(crate) fn get_buffer_status(buffer: u32) -> Raw<(usize, u32)> {
    let mut size = 0usize;
    let mut flags = 0u32;
    // SAFETY: both out-pointers are live, aligned locals.
    status(unsafe { sys::proxy_get_buffer_status(buffer, &mut size, &mut flags) })?;
    Ok((size, flags))
}

pub(crate) fn get_header_map_pairs(map: u32) -> Raw<HostBytes> {
    // SAFETY: both out-pointers are live locals of with_buffer.
    with_buffer(|ptr, len| unsafe { sys::proxy_get_header_map_pairs(map, ptr, len) })
}

pub(crate) fn set_header_map_pairs(map: u32, serialized: &[u8]) -> Raw<()> {
    // SAFETY: `serialized` is a live slice for the duration of the call.
    status(unsafe { sys::proxy_set_header_map_pairs(map, serialized.as_ptr(), serialized.len()) })
}

pub(crate) fn get_header_map_value(map: u32, key: &[u8]) -> Raw<HostBytes> {
    // SAFETY: `key` is live; both out-pointers are live locals of with_buffer.
    with_buffer(|ptr, len| unsafe {
        sys::proxy_get_header_map_value(map, key.as_ptr(), key.len(), ptr, len)
    })
}

pub(crate) fn add_header_map_value(map: u32, key: &[u8], value: &[u8]) -> Raw<()> {
    // SAFETY: both slices are live for the duration of the call.
    status(unsafe {
        sys::proxy_add_header_map_value(map, key.as_ptr(), key.len(), value.as_ptr(), value.len())
    })
}

pub(crate) fn replace_header_map_value(map: u32, key: &[u8], value: &[u8]) -> Raw<()> {
    // SAFETY: both slices are live for the duration of the call.
    status(unsafe {
        sys::proxy_replace_header_map_value(
            map,
            key.as_ptr(),
            key.len(),
            value.as_ptr(),
            value.len(),
        )
    })
}

pub(crate) fn remove_header_map_value(map: u32, key: &[u8]) -> Raw<()> {
    // SAFETY: `key` is live for the duration of the call.
    status(unsafe { sys::proxy_remove_header_map_value(map, key.as_ptr(), key.len()) })
}

pub(crate) fn get_header_map_size(map: u32) -> Raw<usize> {
    let mut size = 0usize;
    // SAFETY: `size` is a live, aligned local.
    status(unsafe { sys::proxy_get_header_map_size(map, &mut size) })?;
    Ok(size)
}

pub(crate) fn continue_stream(stream: u32) -> Raw<()> {
    // SAFETY: no memory is passed.
    status(unsafe { sys::proxy_continue_stream(stream) })
}

pub(crate) fn close_stream(stream: u32) -> Raw<()> {
    // SAFETY: no memory is passed.
    status(unsafe { sys::proxy_close_stream(stream) })
}

pub(crate) fn send_local_response(
    status_code: u32,
    details: &[u8],
    body: &[u8],
    serialized_headers: &[u8],
    grpc_status: i32,
) -> Raw<()> {
    // SAFETY: all three slices are live for the duration of the call.
    status(unsafe {
        sys::proxy_send_local_response(
            status_code,
            details.as_ptr(),
            details.len(),
            body.as_ptr(),
            body.len(),
            serialized_headers.as_ptr(),
            serialized_headers.len(),
            grpc_status,
        )
    })
}

pub(crate) fn get_status() -> Raw<(u32, HostBytes)> {
    let mut code = 0u32;
    // SAFETY: `code` and with_buffer's out-pointers are live, aligned locals.
    let message = with_buffer(|ptr, len| unsafe { sys::proxy_get_status(&mut code, ptr, len) })?;
    Ok((code, message))
}

pub(crate) fn http_call(
    upstream: &[u8],
    serialized_headers: &[u8],
    body: &[u8],
    serialized_trailers: &[u8],
    timeout_ms: u32,
) -> Raw<u32> {
    // SAFETY: all slices are live; `token` is a live local of with_u32.
    with_u32(|token| unsafe {
        sys::proxy_http_call(
            upstream.as_ptr(),
            upstream.len(),
            serialized_headers.as_ptr(),
            serialized_headers.len(),
            body.as_ptr(),
            body.len(),
            serialized_trailers.as_ptr(),
            serialized_trailers.len(),
            timeout_ms,
            token,
        )
    })
}

pub(crate) fn grpc_call(
    service: &[u8],
    service_name: &[u8],
    method: &[u8],
    serialized_metadata: &[u8],
    message: &[u8],
    timeout_ms: u32,
) -> Raw<u32> {
    // SAFETY: all slices are live; `token` is a live local of with_u32.
    with_u32(|token| unsafe {
        sys::proxy_grpc_call(
            service.as_ptr(),
            service.len(),
            service_name.as_ptr(),
            service_name.len(),
            method.as_ptr(),
            method.len(),
            serialized_metadata.as_ptr(),
            serialized_metadata.len(),
            message.as_ptr(),
            message.len(),
            timeout_ms,
            token,
        )
    })
}

pub(crate) fn grpc_stream(
    service: &[u8],
    service_name: &[u8],
    method: &[u8],
    serialized_metadata: &[u8],
) -> Raw<u32> {
    // SAFETY: all slices are live; `token` is a live local of with_u32.
    with_u32(|token| unsafe {
        sys::proxy_grpc_stream(
            service.as_ptr(),
            service.len(),
            service_name.as_ptr(),
            service_name.len(),
            method.as_ptr(),
            method.len(),
            serialized_metadata.as_ptr(),
            serialized_metadata.len(),
            token,
        )
    })
}

pub(crate) fn grpc_send(token: u32, message: &[u8], end_stream: bool) -> Raw<()> {
    // SAFETY: `message` is live for the duration of the call.
    status(unsafe {
        sys::proxy_grpc_send(
            token,
            message.as_ptr(),
            message.len(),
            u32::from(end_stream),
        )
    })
}

pub(crate) fn grpc_cancel(token: u32) -> Raw<()> {
    // SAFETY: no memory is passed.
    status(unsafe { sys::proxy_grpc_cancel(token) })
}

pub(crate) fn grpc_close(token: u32) -> Raw<()> {
    // SAFETY: no memory is passed.
    status(unsafe { sys::proxy_grpc_close(token) })
}

pub(crate) fn get_shared_data(key: &[u8]) -> Raw<(HostBytes, u32)> {
    let mut cas = 0u32;
    // SAFETY: `key` is live; `cas` and with_buffer's out-pointers are live locals.
    let value = with_buffer(|ptr, len| unsafe {
        sys::proxy_get_shared_data(key.as_ptr(), key.len(), ptr, len, &mut cas)
    })?;
    Ok((value, cas))
}

pub(crate) fn set_shared_data(key: &[u8], value: &[u8], cas: u32) -> Raw<()> {
    // SAFETY: both slices are live for the duration of the call.
    status(unsafe {
        sys::proxy_set_shared_data(key.as_ptr(), key.len(), value.as_ptr(), value.len(), cas)
    })
}

pub(crate) fn register_shared_queue(name: &[u8]) -> Raw<u32> {
    // SAFETY: `name` is live; `token` is a live local of with_u32.
    with_u32(|token| unsafe { sys::proxy_register_shared_queue(name.as_ptr(), name.len(), token) })
}

pub(crate) fn resolve_shared_queue(vm_id: &[u8], name: &[u8]) -> Raw<u32> {
    // SAFETY: both slices are live; `token` is a live local of with_u32.
    with_u32(|token| unsafe {
        sys::proxy_resolve_shared_queue(
            vm_id.as_ptr(),
            vm_id.len(),
            name.as_ptr(),
            name.len(),
            token,
        )
    })
}

pub(crate) fn dequeue_shared_queue(token: u32) -> Raw<HostBytes> {
    // SAFETY: both out-pointers are live locals of with_buffer.
    with_buffer(|ptr, len| unsafe { sys::proxy_dequeue_shared_queue(token, ptr, len) })
}

pub(crate) fn enqueue_shared_queue(token: u32, data: &[u8]) -> Raw<()> {
    // SAFETY: `data` is live for the duration of the call.
    status(unsafe { sys::proxy_enqueue_shared_queue(token, data.as_ptr(), data.len()) })
}

pub(crate) fn define_metric(metric_type: u32, name: &[u8]) -> Raw<u32> {
    // SAFETY: `name` is live; `id` is a live local of with_u32.
    with_u32(|id| unsafe { sys::proxy_define_metric(metric_type, name.as_ptr(), name.len(), id) })
}

pub(crate) fn increment_metric(id: u32, offset: i64) -> Raw<()> {
    // SAFETY: no memory is passed.
    status(unsafe { sys::proxy_increment_metric(id, offset) })
}

pub(crate) fn record_metric(id: u32, value: u64) -> Raw<()> {
    // SAFETY: no memory is passed.
    status(unsafe { sys::proxy_record_metric(id, value) })
}

pub(crate) fn get_metric(id: u32) -> Raw<u64> {
    let mut value = 0u64;
    // SAFETY: `value` is a live, aligned local.
    status(unsafe { sys::proxy_get_metric(id, &mut value) })?;
    Ok(value)
}

pub(crate) fn get_property(path: &[u8]) -> Raw<HostBytes> {
    // SAFETY: `path` is live; both out-pointers are live locals of with_buffer.
    with_buffer(|ptr, len| unsafe { sys::proxy_get_property(path.as_ptr(), path.len(), ptr, len) })
}

pub(crate) fn set_property(path: &[u8], value: &[u8]) -> Raw<()> {
    // SAFETY: both slices are live for the duration of the call.
    status(unsafe {
        sys::proxy_set_property(path.as_ptr(), path.len(), value.as_ptr(), value.len())
    })
}

pub(crate) fn set_effective_context(context_id: u32) -> Raw<()> {
    // SAFETY: no memory is passed.
    status(unsafe { sys::proxy_set_effective_context(context_id) })
}

pub(crate) fn done() -> Raw<()> {
    // SAFETY: no memory is passed.
    status(unsafe { sys::proxy_done() })
}

pub(crate) fn call_foreign_function(name: &[u8], arguments: &[u8]) -> Raw<HostBytes> {
    // SAFETY: both slices are live; out-pointers are live locals of with_buffer.
    with_buffer(|ptr, len| unsafe {
        sys::proxy_call_foreign_function(
            name.as_ptr(),
            name.len(),
            arguments.as_ptr(),
            arguments.len(),
            ptr,
            len,
        )
    })
}

pub(crate) fn resolve_dns(address: &[u8]) -> Raw<u32> {
    // SAFETY: `address` is live; `token` is a live local of with_u32.
    with_u32(|token| unsafe { sys::envoy_resolve_dns(address.as_ptr(), address.len(), token) })
}
