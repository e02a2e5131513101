//! `proxywasm-shared-state`: an HTTP filter that counts requests in shared
//! data, so the tests can interleave workers between a read and a write and
//! see which way of writing loses an update (natively and on the `.wasm`).
//!
//! The request's `:path` picks the way:
//! - `/old`: the hand-written loop the book used to show, which writes
//!   unconditionally (CAS 0) when the key is missing: two workers that both
//!   see it missing both write 1 (key `old`);
//! - `/counter`: [`shared::Counter::add`] (key `counter`);
//! - `/quota`: [`shared::update`] letting [`QUOTA`] requests through in the
//!   whole process and answering 429 to the rest (key `quota`).
//!
//! Each counting request logs `<key> = <value>`; a failure is logged at warn
//! level and the request passes.

use proxywasm::shared::{self, Counter};
use proxywasm::{Action, ContextId, HttpContext, Result, http};

/// How many `/quota` requests get through, across every worker.
pub const QUOTA: u64 = 1;

/// The HTTP filter.
#[derive(Debug)]
pub struct Filter;

impl HttpContext for Filter {
    fn on_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        let path = http::request_headers().get(":path").ok().flatten();
        let path = path.as_ref().map(|p| p.as_bytes());
        let counted = match path {
            Some(b"/old") => old_add_one("old").map(|n| ("old", Some(n))),
            Some(b"/counter") => Counter::new("counter").add(1).map(|n| ("counter", Some(n))),
            Some(b"/quota") => take_quota().map(|n| ("quota", n)),
            _ => return Ok(Action::Continue),
        };
        match counted {
            Ok((key, Some(value))) => proxywasm::log::info!("{key} = {value}"),
            Ok((key, None)) => {
                proxywasm::log::info!("{key} exhausted");
                if let Err(e) = http::LocalResponse::new(429).send() {
                    proxywasm::log::warn!("cannot refuse: {e}");
                }
                return Ok(Action::Pause);
            }
            Err(e) => proxywasm::log::warn!("cannot count: {e}"),
        }
        Ok(Action::Continue)
    }
}

/// The old pattern: read, add one, write with the CAS read, or with none
/// (CAS 0: unconditional) when the key is missing; retry on a mismatch.
fn old_add_one(key: &str) -> Result<u64> {
    loop {
        let (count, cas) = match shared::get(key)? {
            Some((bytes, cas)) => {
                let count = <[u8; 8]>::try_from(bytes.as_bytes()).map_or(0, u64::from_le_bytes);
                (count, Some(cas))
            }
            None => (0, None),
        };
        match shared::set(key, &(count + 1).to_le_bytes(), cas) {
            Ok(()) => return Ok(count + 1),
            Err(e) if shared::is_cas_mismatch(&e) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Takes one unit of the process-wide quota: the count after taking it, or
/// `None` when the quota is used up (nothing written).
fn take_quota() -> Result<Option<u64>> {
    let taken = shared::update("quota", |old| {
        let used = old
            .and_then(|bytes| <[u8; 8]>::try_from(bytes).ok())
            .map_or(0, u64::from_le_bytes);
        Ok((used < QUOTA).then(|| (used + 1).to_le_bytes()))
    })?;
    Ok(taken.map(u64::from_le_bytes))
}

/// The entry point.
#[proxywasm::main(http)]
pub fn filter(_id: ContextId) -> Filter {
    Filter
}
