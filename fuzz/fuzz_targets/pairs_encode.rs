//! The pairs encoder (maps, local replies and callouts the plugin sends) and
//! the property-path encoder on arbitrary pairs: the output has the exact
//! size of the wire format, validates, decodes to the input, and appending
//! pairs to a compile-time list equals encoding the whole list.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use proxywasm::fuzzing::{pairs, serialize_pairs, serialize_path, validate_pairs, with_fixed};

#[derive(Arbitrary, Debug)]
struct Input {
    fixed: Vec<(Vec<u8>, Vec<u8>)>,
    more: Vec<(Vec<u8>, Vec<u8>)>,
    fixed_text: Vec<(String, String)>,
    path: Vec<Vec<u8>>,
}

fn wire_len(list: &[(Vec<u8>, Vec<u8>)]) -> usize {
    if list.is_empty() {
        return 0;
    }
    4 + list
        .iter()
        .map(|(k, v)| 8 + k.len() + v.len() + 2)
        .sum::<usize>()
}

fn check(list: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let bytes = serialize_pairs(list);
    assert_eq!(bytes.len(), wire_len(list));
    assert_eq!(validate_pairs(&bytes), Ok(list.len()));
    let decoded = pairs(&bytes);
    assert_eq!(decoded.len(), list.len());
    for ((k, v), (dk, dv)) in list.iter().zip(&decoded) {
        assert_eq!((k.as_slice(), v.as_slice()), (*dk, *dv));
    }
    bytes
}

fuzz_target!(|input: Input| {
    let fixed = check(&input.fixed);
    check(&input.more);
    let more: Vec<(&[u8], &[u8])> = input
        .more
        .iter()
        .map(|(k, v)| (k.as_slice(), v.as_slice()))
        .collect();
    let mut all = input.fixed.clone();
    all.extend(input.more.iter().cloned());
    assert_eq!(with_fixed(&fixed, &more), check(&all));

    // The compile-time encoder (`pairs!`) sizes its output as the run-time one does.
    let text: Vec<(&str, &str)> = input
        .fixed_text
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        proxywasm::__private::static_pairs_len(&text),
        serialize_pairs(&text).len()
    );

    let path = serialize_path(&input.path);
    let expected = input
        .path
        .iter()
        .map(|s| s.len() + 1)
        .sum::<usize>()
        .saturating_sub(1);
    assert_eq!(path.len(), expected);
    if input.path.len() > 1 && input.path.iter().all(|s| !s.contains(&0)) {
        let split: Vec<&[u8]> = path.split(|&b| b == 0).collect();
        assert_eq!(
            split,
            input.path.iter().map(Vec::as_slice).collect::<Vec<_>>()
        );
    }
});
