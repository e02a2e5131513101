//! Envoy's asynchronous DNS resolution (`envoy_resolve_dns`, Envoy only).

use crate::abi::calls;
use crate::abi::wire::buffer;
use crate::buffer::Buffer;
use crate::error::check;
use crate::{Error, Result};

/// The token of a DNS lookup, from [`resolve`]; the answer arrives in
/// [`PluginContext::on_resolve_dns`](crate::PluginContext::on_resolve_dns)
/// with the same token.
///
/// ```
/// use proxywasm::dns::DnsToken;
/// assert_eq!(DnsToken(3).0, 3);
/// assert_eq!(DnsToken::from(3), DnsToken(3));
/// assert_eq!(u32::from(DnsToken(3)), 3);
/// assert_eq!(DnsToken(3).to_string(), "3");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DnsToken(pub u32);

integer_newtype!(DnsToken(u32));

/// Starts resolving `name`; the result arrives in
/// [`PluginContext::on_resolve_dns`](crate::PluginContext::on_resolve_dns)
/// with this token. Read it there with [`results`].
///
/// # Errors
/// The hostcall's status (`UNIMPLEMENTED` on hosts without it).
///
/// ```
/// # proxywasm::mock::doc_plugin(|| {
/// let _token: proxywasm::dns::DnsToken = proxywasm::dns::resolve("example.com")?;
/// # Ok(()) });
/// ```
pub fn resolve(name: &str) -> Result<DnsToken> {
    check("envoy_resolve_dns", calls::resolve_dns(name.as_bytes())).map(DnsToken)
}

/// One resolved address.
///
/// ```
/// let a = proxywasm::dns::Resolved { ttl_seconds: 30, address: "127.0.0.1".into() };
/// assert_eq!(a.ttl_seconds, 30);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// Time to live in seconds.
    pub ttl_seconds: u32,
    /// The address as text.
    pub address: String,
}

/// Decodes the result being delivered to `on_resolve_dns`
/// (book: reference/wire-formats.md#dns-results).
///
/// # Errors
/// A malformed-data error if the host's bytes do not follow the format.
///
/// ```
/// # proxywasm::mock::doc_plugin(|| {
/// assert!(proxywasm::dns::results()?.is_empty());
/// # Ok(()) });
/// ```
pub fn results() -> Result<Vec<Resolved>> {
    let bytes = Buffer::new(buffer::CALL_DATA).read_all()?;
    decode(&bytes)
}

fn word(bytes: &[u8], at: usize) -> Option<u32> {
    let mut le = [0u8; 4];
    le.copy_from_slice(bytes.get(at..at.checked_add(4)?)?);
    Some(u32::from_le_bytes(le))
}

fn decode(bytes: &[u8]) -> Result<Vec<Resolved>> {
    const BAD: Error = Error::malformed("dns results: truncated");
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let count = word(bytes, 0).ok_or(BAD)? as usize;
    let mut names = 4usize
        .checked_add(count.checked_mul(4).ok_or(BAD)?)
        .ok_or(BAD)?;
    let mut out = Vec::with_capacity(count.min(64));
    for i in 0..count {
        let ttl_seconds = word(bytes, 4 + i * 4).ok_or(BAD)?;
        let rest = bytes.get(names..).ok_or(BAD)?;
        let end = rest.iter().position(|b| *b == 0).ok_or(BAD)?;
        let address = String::from_utf8_lossy(rest.get(..end).ok_or(BAD)?).into_owned();
        names += end + 1;
        out.push(Resolved {
            ttl_seconds,
            address,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_envoy_dns_results_and_rejects_truncation() {
        let mut bytes = 2u32.to_le_bytes().to_vec();
        bytes.extend_from_slice(&30u32.to_le_bytes());
        bytes.extend_from_slice(&60u32.to_le_bytes());
        bytes.extend_from_slice(b"10.0.0.1\0::1\0");
        let got = decode(&bytes).unwrap();
        assert_eq!(
            got[0],
            Resolved {
                ttl_seconds: 30,
                address: "10.0.0.1".into()
            }
        );
        assert_eq!(
            got[1],
            Resolved {
                ttl_seconds: 60,
                address: "::1".into()
            }
        );
        for cut in 1..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut {cut}");
        }
    }
}
