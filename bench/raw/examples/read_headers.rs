//! `read_headers`: sums the lengths of every request header name and value and
//! sets the response header `x-header-bytes` to the sum.
pub use bench_raw::*;
include!("../../common.rs");

static SUMS: Slots = Slots::new();

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_request_headers(
    context_id: u32,
    _num_headers: usize,
    _end_of_stream: u32,
) -> u32 {
    if let Some(sum) = header_bytes() {
        SUMS.set(context_id, sum);
    }
    CONTINUE
}

/// The summed lengths of the request's header names and values.
fn header_bytes() -> Option<u32> {
    let pairs = header_map_pairs(REQUEST_HEADERS)?;
    // Pairs format: u32 count, then count × (u32 name_len, u32 value_len), ...
    let bytes = pairs.bytes();
    let count = u32_at(bytes, 0).unwrap_or(0) as usize;
    let mut sum = 0u32;
    for i in 0..count * 2 {
        match u32_at(bytes, 4 + i * 4) {
            Some(len) => sum = sum.wrapping_add(len),
            None => break,
        }
    }
    Some(sum)
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_response_headers(
    context_id: u32,
    _num_headers: usize,
    _end_of_stream: u32,
) -> u32 {
    if let Some(sum) = SUMS.take(context_id) {
        let mut buf = [0u8; 10];
        let digits = decimal(sum, &mut buf);
        // SAFETY: both ranges are valid for the call.
        unsafe {
            proxy_add_header_map_value(
                RESPONSE_HEADERS,
                SUM_HEADER.as_ptr(),
                SUM_HEADER.len(),
                digits.as_ptr(),
                digits.len(),
            )
        };
    }
    CONTINUE
}

#[unsafe(no_mangle)]
pub extern "C" fn proxy_on_delete(context_id: u32) {
    SUMS.take(context_id);
}
