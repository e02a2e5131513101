//! The pairs decoder (every header map, trailer map and callout response the
//! host sends) on arbitrary bytes: validation and iteration never panic, a
//! buffer that validates is read whole, and it re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proxywasm::fuzzing::{pairs, serialize_pairs, validate_pairs};

fuzz_target!(|data: &[u8]| {
    let decoded = pairs(data);
    match validate_pairs(data) {
        Ok(count) => {
            assert_eq!(decoded.len(), count, "a valid buffer is read whole");
            // Each pair takes at least two lengths and two NULs: the count is
            // bounded by the buffer's length, not by a fixed limit.
            assert!(count == 0 || 4 + count * 10 <= data.len());
            let again = serialize_pairs(&decoded);
            if count == 0 {
                // `[]` and a zero count are both the empty map; the encoder writes `[]`.
                assert!(again.is_empty());
                assert!(data.is_empty() || data[..4] == [0; 4]);
            } else {
                assert_eq!(again, data, "a valid buffer re-encodes to itself");
            }
        }
        Err(reason) => {
            assert!(!reason.is_empty());
            assert!(!data.is_empty(), "the empty buffer is the empty map");
            // What the iterator yields of a bad buffer is a well-formed prefix.
            let again = serialize_pairs(&decoded);
            assert_eq!(validate_pairs(&again), Ok(decoded.len()));
        }
    }
});
