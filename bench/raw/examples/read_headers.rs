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
    let mut pairs = HostBuf::empty();
    let (data, size) = pairs.out();
    // SAFETY: valid out-pointers.
    if unsafe { proxy_get_header_map_pairs(REQUEST_HEADERS, data, size) } != OK {
        return CONTINUE;
    }
    // Pairs format: u32 count, then count × (u32 name_len, u32 value_len), ...
    let bytes = pairs.bytes();
    let word = |i: usize| -> Option<u32> {
        let b = bytes.get(i * 4..i * 4 + 4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let count = word(0).unwrap_or(0) as usize;
    let mut sum = 0u32;
    for i in 0..count * 2 {
        match word(1 + i) {
            Some(len) => sum = sum.wrapping_add(len),
            None => break,
        }
    }
    SUMS.set(context_id, sum);
    CONTINUE
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
