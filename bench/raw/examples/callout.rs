//! `callout`: pauses each request, calls the `backend` cluster, and resumes
//! the request when the response arrives (on the root context).
pub use bench_raw::*;
include!("../../common.rs");

/// token → the stream that made the call.
static PENDING: Slots = Slots::new();

/// The callout's request headers, pre-serialized in the pairs format.
const HEADERS: &[u8] = b"\x03\x00\x00\x00\
\x07\x00\x00\x00\x03\x00\x00\x00\
\x05\x00\x00\x00\x01\x00\x00\x00\
\x0a\x00\x00\x00\x07\x00\x00\x00\
:method\x00GET\x00:path\x00/\x00:authority\x00backend\x00";

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_request_headers(
    context_id: u32,
    _num_headers: usize,
    _end_of_stream: u32,
) -> u32 {
    let mut token = 0u32;
    // SAFETY: every range is valid; empty ranges are (null, 0).
    let status = unsafe {
        proxy_http_call(
            CALLOUT_CLUSTER.as_ptr(),
            CALLOUT_CLUSTER.len(),
            HEADERS.as_ptr(),
            HEADERS.len(),
            std::ptr::null(),
            0,
            std::ptr::null(),
            0,
            CALLOUT_TIMEOUT_MS,
            &mut token,
        )
    };
    if status != OK {
        return CONTINUE;
    }
    PENDING.set(token, context_id);
    PAUSE
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_http_call_response(
    _root_id: u32,
    token: u32,
    _num_headers: usize,
    _body_size: usize,
    _num_trailers: usize,
) {
    if let Some(stream) = PENDING.take(token) {
        // SAFETY: plain integer hostcalls.
        unsafe {
            if proxy_set_effective_context(stream) == OK {
                proxy_continue_stream(STREAM_REQUEST);
            }
        }
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_delete(context_id: u32) {
    PENDING.remove_value(context_id);
}
