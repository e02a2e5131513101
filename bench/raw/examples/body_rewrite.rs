//! `body_rewrite`: buffers the request body to the end (Pause), then replaces
//! it with its upper-cased copy.
pub use bench_raw::*;
include!("../../common.rs");

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_request_body(
    _context_id: u32,
    body_size: usize,
    end_of_stream: u32,
) -> u32 {
    if end_of_stream == 0 {
        return PAUSE;
    }
    let mut body = HostBuf::empty();
    let (data, size) = body.out();
    // SAFETY: valid out-pointers.
    if unsafe { proxy_get_buffer_bytes(REQUEST_BODY, 0, body_size, data, size) } != OK {
        return CONTINUE;
    }
    let new = rewrite(body.bytes());
    // SAFETY: the range is valid for the call.
    unsafe { proxy_set_buffer_bytes(REQUEST_BODY, 0, body_size, new.as_ptr(), new.len()) };
    CONTINUE
}
