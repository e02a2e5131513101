//! Foreign functions: the ones Envoy 1.40 registers, built into every
//! emulated VM (book: reference/hostcalls.md#envoys-foreign-functions). A
//! test's own registration of the same name replaces the built-in.
//!
//! * `compress`, `uncompress`: zlib streams, as Envoy's (the compressed
//!   bytes may differ from zlib's, the format and round trip do not);
//!   `SERIALIZATION_FAILURE` for input that is not a whole zlib stream.
//! * `clear_route_cache`: `OK`, from any callback.
//! * `declare_property`: `OK` for a well-formed `DeclarePropertyArguments`
//!   whose name the calling callback's context has not declared yet,
//!   `BAD_ARGUMENT` otherwise (as Envoy, which keeps declarations per
//!   context; probed).
//! * `expr_create`, `expr_evaluate`, `expr_delete`: Envoy's token protocol
//!   (tokens from 0 per VM, exactly 4 bytes, `NOT_FOUND` for an unknown
//!   token) over values the test supplies per expression text
//!   ([`HostState::define_expression`]); any other text does not "parse"
//!   (`BAD_ARGUMENT`). There is no CEL interpreter in the emulator.
//!
//! Not built in, because the emulator cannot do what Envoy does:
//! `verify_signature` (no cryptography) and `set_envoy_filter_state` (no
//! filter-state object factories): a test registers them.

use super::state::{ForeignFunction, HostState};
use crate::Status;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

/// What a foreign function that exists answered, success or not: Envoy
/// writes the result words (`(0, 0)` when nothing was allocated) once the
/// function ran, whatever its status, and only then returns the status; a
/// name without a function is `NOT_FOUND` with the words untouched (book:
/// reference/hostcalls.md#not-found-or-not-registered).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForeignAnswer {
    /// The result bytes (empty on failure).
    pub bytes: Vec<u8>,
    /// The function's status (`0`: OK).
    pub status: u32,
}

impl From<Result<Vec<u8>, Status>> for ForeignAnswer {
    fn from(answer: Result<Vec<u8>, Status>) -> ForeignAnswer {
        match answer {
            Ok(bytes) => ForeignAnswer { bytes, status: 0 },
            Err(status) => ForeignAnswer {
                bytes: Vec::new(),
                status: status.as_raw(),
            },
        }
    }
}

/// The CEL expressions of one VM: values by source text, live tokens.
#[derive(Debug, Default)]
pub(crate) struct Expressions {
    values: BTreeMap<String, Vec<u8>>,
    live: BTreeMap<u32, String>,
    next: u32,
}

/// The properties declared with `declare_property`, by the context whose
/// callback declared them, and that context for the call running now
/// (set by [`HostState::call_foreign_function`]).
#[derive(Debug, Default)]
pub(crate) struct Declarations {
    pub(crate) caller: u32,
    declared: BTreeSet<(u32, String)>,
}

/// A token argument: exactly 4 bytes, little-endian.
fn token(arguments: &[u8]) -> Result<u32, Status> {
    <[u8; 4]>::try_from(arguments)
        .map(u32::from_le_bytes)
        .map_err(|_| Status::BadArgument)
}

/// Envoy's built-in foreign functions, sharing `expressions` and
/// `declarations` with the host state.
pub(crate) fn builtins(
    expressions: &Rc<RefCell<Expressions>>,
    declarations: &Rc<RefCell<Declarations>>,
) -> BTreeMap<String, ForeignFunction> {
    let mut table: BTreeMap<String, ForeignFunction> = BTreeMap::new();
    table.insert(
        "compress".into(),
        Box::new(|data: &[u8]| Ok(miniz_oxide::deflate::compress_to_vec_zlib(data, 6))),
    );
    table.insert(
        "uncompress".into(),
        Box::new(|data: &[u8]| {
            miniz_oxide::inflate::decompress_to_vec_zlib(data)
                .map_err(|_| Status::SerializationFailure)
        }),
    );
    table.insert(
        "clear_route_cache".into(),
        Box::new(|_: &[u8]| Ok(Vec::new())),
    );
    let declare = Rc::clone(declarations);
    table.insert(
        "declare_property".into(),
        Box::new(move |arguments: &[u8]| {
            let name = crate::protobuf::string_field(arguments, 1)
                .map_err(|_| Status::BadArgument)?
                .unwrap_or_default();
            let mut d = declare.borrow_mut();
            let key = (d.caller, name);
            if d.declared.insert(key) {
                Ok(Vec::new())
            } else {
                Err(Status::BadArgument)
            }
        }),
    );
    let table_of = |expressions: &Rc<RefCell<Expressions>>| Rc::clone(expressions);
    let create = table_of(expressions);
    table.insert(
        "expr_create".into(),
        Box::new(move |source: &[u8]| {
            let mut e = create.borrow_mut();
            let source = String::from_utf8_lossy(source).into_owned();
            if !e.values.contains_key(&source) {
                return Err(Status::BadArgument);
            }
            let mut token = e.next;
            while e.live.contains_key(&token) {
                token = token.wrapping_add(1);
            }
            e.next = token.wrapping_add(1);
            e.live.insert(token, source);
            Ok(token.to_le_bytes().to_vec())
        }),
    );
    let evaluate = table_of(expressions);
    table.insert(
        "expr_evaluate".into(),
        Box::new(move |arguments: &[u8]| {
            let token = token(arguments)?;
            let e = evaluate.borrow();
            let source = e.live.get(&token).ok_or(Status::NotFound)?;
            e.values.get(source).cloned().ok_or(Status::InternalFailure)
        }),
    );
    let delete = table_of(expressions);
    table.insert(
        "expr_delete".into(),
        Box::new(move |arguments: &[u8]| {
            let token = token(arguments)?;
            delete.borrow_mut().live.remove(&token);
            Ok(Vec::new())
        }),
    );
    table
}

impl HostState {
    /// Makes the built-in `expr_create` accept `source` and `expr_evaluate`
    /// answer `value` for it (encoded as a property value: an `int` as 8
    /// bytes little-endian, a `bool` as 1 byte, a string as its bytes).
    pub fn define_expression(&mut self, source: &str, value: Vec<u8>) {
        self.expressions
            .borrow_mut()
            .values
            .insert(source.to_owned(), value);
    }

    /// The tokens of the expressions created and not yet deleted.
    pub fn live_expressions(&self) -> Vec<u32> {
        self.expressions.borrow().live.keys().copied().collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn call(
        table: &mut BTreeMap<String, ForeignFunction>,
        name: &str,
        args: &[u8],
    ) -> Result<Vec<u8>, Status> {
        (table.get_mut(name).unwrap())(args)
    }

    #[test]
    fn compress_and_uncompress_are_zlib_streams() {
        let mut table = builtins(&Rc::default(), &Rc::default());
        let packed = call(&mut table, "compress", b"abcabcabcabc").unwrap();
        assert_eq!(&packed[..2], [0x78, 0x9c]);
        assert_eq!(
            call(&mut table, "uncompress", &packed).unwrap(),
            b"abcabcabcabc"
        );
        assert_eq!(
            call(&mut table, "uncompress", &packed[..packed.len() - 1]),
            Err(Status::SerializationFailure)
        );
        assert_eq!(
            call(&mut table, "uncompress", b""),
            Err(Status::SerializationFailure)
        );
    }

    #[test]
    fn expressions_follow_envoys_token_protocol() {
        let expressions = Rc::new(RefCell::new(Expressions::default()));
        expressions
            .borrow_mut()
            .values
            .insert("1 + 2".into(), 3i64.to_le_bytes().to_vec());
        let mut table = builtins(&expressions, &Rc::default());
        assert_eq!(
            call(&mut table, "expr_create", b"1 +"),
            Err(Status::BadArgument)
        );
        let first = call(&mut table, "expr_create", b"1 + 2").unwrap();
        assert_eq!(first, 0u32.to_le_bytes());
        assert_eq!(
            call(&mut table, "expr_evaluate", &first).unwrap(),
            3i64.to_le_bytes()
        );
        // A token is 4 bytes.
        for name in ["expr_evaluate", "expr_delete"] {
            assert_eq!(call(&mut table, name, b"abc"), Err(Status::BadArgument));
        }
        assert_eq!(call(&mut table, "expr_delete", &first), Ok(Vec::new()));
        assert_eq!(
            call(&mut table, "expr_evaluate", &first),
            Err(Status::NotFound)
        );
        assert_eq!(
            call(&mut table, "expr_delete", &first),
            Ok(Vec::new()),
            "unknown: OK"
        );
        // Not reused after a delete, as in Envoy.
        assert_eq!(
            call(&mut table, "expr_create", b"1 + 2").unwrap(),
            1u32.to_le_bytes()
        );
    }

    #[test]
    fn declare_property_checks_the_message_and_declares_once_per_context() {
        let declarations = Rc::new(RefCell::new(Declarations::default()));
        let mut table = builtins(&Rc::default(), &declarations);
        assert_eq!(
            call(&mut table, "declare_property", b"\x0a\x01p\x18\x01"),
            Ok(Vec::new())
        );
        // Once per context: again on the same one is refused, on another
        // context accepted.
        assert_eq!(
            call(&mut table, "declare_property", b"\x0a\x01p"),
            Err(Status::BadArgument)
        );
        declarations.borrow_mut().caller = 2;
        assert_eq!(
            call(&mut table, "declare_property", b"\x0a\x01p"),
            Ok(Vec::new())
        );
        // A name longer than the message, a name that is not UTF-8.
        for bad in [&b"\x0a\x05p"[..], b"\x0a\x01\xff"] {
            assert_eq!(
                call(&mut table, "declare_property", bad),
                Err(Status::BadArgument),
                "{bad:?}"
            );
        }
        assert_eq!(call(&mut table, "clear_route_cache", b""), Ok(Vec::new()));
    }
}
