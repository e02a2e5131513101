//! `add_header`: adds one response header.
pub use bench_raw::*;
include!("../../common.rs");

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_response_headers(
    _context_id: u32,
    _num_headers: usize,
    _end_of_stream: u32,
) -> u32 {
    let (name, value) = ADDED_HEADER;
    // SAFETY: both ranges are valid for the call.
    unsafe {
        proxy_add_header_map_value(
            RESPONSE_HEADERS,
            name.as_ptr(),
            name.len(),
            value.as_ptr(),
            value.len(),
        )
    };
    CONTINUE
}
