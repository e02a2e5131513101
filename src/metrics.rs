//! Metrics: counters, gauges and histograms, plain ([`Counter`], [`Gauge`],
//! [`Histogram`]) or with tags ([`Family`]).
//!
//! Envoy creates the stat `wasmcustom.<name>` for a metric named `<name>`;
//! its Prometheus output drops the `wasmcustom` namespace. Define a plain
//! metric once (in `on_configure`) and keep the handle; ids are per VM.
//!
//! Envoy has no tag argument: tags travel inside the stat name, and the
//! bootstrap's `stats_tags` regexes take them out again. A [`Family`] writes
//! each tag as a `.key=value` segment, which [`tag_regex`] extracts, and
//! remembers the metric of every label set it has defined.

use crate::Result;
use crate::abi::calls;
use crate::error::{Error, check};
use core::cell::RefCell;
use core::fmt;
use core::marker::PhantomData;

/// A metric type: the handle (a metric id), its `define`, which makes the
/// hostcall `proxy_define_metric` with the type's wire kind, and `value` where
/// the row names it (histograms have none).
macro_rules! metric {
    ($(#[$doc:meta])* $name:ident = $kind:literal, $noun:literal $(, $value:ident)?) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name(u32);

        impl $name {
            #[doc = concat!("Defines (or re-binds) the ", $noun, " `name`.")]
            ///
            /// # Errors
            /// The hostcall's status.
            ///
            /// ```
            /// # proxywasm::mock::doc_plugin(|| {
            #[doc = concat!("let _ = proxywasm::metrics::", stringify!($name), "::define(\"m\")?;")]
            /// # Ok(()) });
            /// ```
            pub fn define(name: &str) -> Result<$name> {
                check(
                    "proxy_define_metric",
                    calls::define_metric($kind, name.as_bytes()),
                )
                .map($name)
            }

            $(
                /// The current value.
                ///
                /// # Errors
                /// The hostcall's status.
                ///
                /// ```
                /// # proxywasm::mock::doc_plugin(|| {
                #[doc = concat!("assert_eq!(proxywasm::metrics::", stringify!($name), "::define(\"fresh\")?.value()?, 0);")]
                /// # Ok(()) });
                /// ```
                pub fn $value(&self) -> Result<u64> {
                    check("proxy_get_metric", calls::get_metric(self.0))
                }
            )?
        }

        impl sealed::Kind for $name {
            const KIND: u32 = $kind;

            #[inline]
            fn from_id(id: u32) -> $name {
                $name(id)
            }
        }

        impl Metric for $name {
            #[inline]
            fn define(name: &str) -> Result<$name> {
                $name::define(name)
            }
        }
    };
}

/// A kind of metric a [`Family`] defines: [`Counter`], [`Gauge`] or
/// [`Histogram`] (sealed: no other type implements it).
///
/// ```
/// # proxywasm::mock::doc_plugin(|| {
/// use proxywasm::metrics::{Counter, Metric};
///
/// let requests = <Counter as Metric>::define("requests_total")?;
/// requests.increment(1)?;
/// # Ok(()) });
/// ```
pub trait Metric: Copy + sealed::Kind {
    /// Defines (or re-binds) the metric `name`, as the type's own `define`.
    ///
    /// # Errors
    /// The hostcall's status.
    ///
    /// ```
    /// # proxywasm::mock::doc_plugin(|| {
    /// use proxywasm::metrics::{Counter, Gauge, Metric};
    ///
    /// /// Defines each of `names` as the metric type the caller asks for.
    /// fn define_each<M: Metric>(names: &[&str]) -> proxywasm::Result<Vec<M>> {
    ///     names.iter().map(|name| M::define(name)).collect()
    /// }
    ///
    /// let counters: Vec<Counter> = define_each(&["hits", "misses"])?;
    /// let gauges: Vec<Gauge> = define_each(&["in_flight"])?;
    /// counters[0].increment(1)?;
    /// assert_eq!(counters[0].value()?, 1);
    /// assert_eq!(gauges[0].value()?, 0);
    /// # Ok(()) });
    /// ```
    fn define(name: &str) -> Result<Self>;
}

mod sealed {
    /// What a [`Family`](super::Family) needs of a metric type, hidden: its
    /// wire kind and its handle from an id.
    #[allow(unreachable_pub, reason = "a sealed supertrait, never named outside")]
    pub trait Kind {
        /// The metric type of `proxy_define_metric`.
        const KIND: u32;
        /// The handle of a defined id.
        fn from_id(id: u32) -> Self;
    }
}

metric! {
    /// A monotonically increasing counter.
    ///
    /// ```
    /// # proxywasm::mock::doc_plugin(|| {
    /// let requests = proxywasm::metrics::Counter::define("requests_total")?;
    /// requests.increment(1)?;
    /// assert_eq!(requests.value()?, 1);
    /// # Ok(()) });
    /// ```
    Counter = 0, "counter", value
}

impl Counter {
    /// Adds `by` (Envoy rejects 0 with `BAD_ARGUMENT`).
    ///
    /// # Errors
    /// The hostcall's status.
    ///
    /// ```
    /// # proxywasm::mock::doc_plugin(|| {
    /// proxywasm::metrics::Counter::define("c")?.increment(2)?;
    /// # Ok(()) });
    /// ```
    pub fn increment(&self, by: u64) -> Result<()> {
        check(
            "proxy_increment_metric",
            calls::increment_metric(self.0, i64::try_from(by).unwrap_or(i64::MAX)),
        )
    }
}

metric! {
    /// A value that goes up and down: an unsigned 64-bit number, as in Envoy.
    ///
    /// [`set`](Gauge::set) and [`value`](Gauge::value) take and give `u64`;
    /// [`add`](Gauge::add) takes a signed delta. Below zero the value wraps
    /// around (Envoy does not stop at 0): keep a gauge's additions and
    /// subtractions paired, or [`set`](Gauge::set) it.
    ///
    /// ```
    /// # proxywasm::mock::doc_plugin(|| {
    /// let active = proxywasm::metrics::Gauge::define("active")?;
    /// active.add(3)?;
    /// active.add(-1)?;
    /// assert_eq!(active.value()?, 2);
    /// active.set(10)?;
    /// assert_eq!(active.value()?, 10);
    /// # Ok(()) });
    /// ```
    Gauge = 1, "gauge", value
}

impl Gauge {
    /// Adds `delta` (negative to subtract). Subtracting more than the value
    /// wraps around to a value near `u64::MAX`, as in Envoy.
    ///
    /// # Errors
    /// The hostcall's status.
    ///
    /// ```
    /// # proxywasm::mock::doc_plugin(|| {
    /// let g = proxywasm::metrics::Gauge::define("g")?;
    /// g.set(5)?;
    /// g.add(-2)?;
    /// assert_eq!(g.value()?, 3);
    /// g.add(-4)?;
    /// assert_eq!(g.value()?, u64::MAX);
    /// # Ok(()) });
    /// ```
    pub fn add(&self, delta: i64) -> Result<()> {
        check(
            "proxy_increment_metric",
            calls::increment_metric(self.0, delta),
        )
    }

    /// Sets the value.
    ///
    /// # Errors
    /// The hostcall's status.
    ///
    /// ```
    /// # proxywasm::mock::doc_plugin(|| {
    /// proxywasm::metrics::Gauge::define("g")?.set(5)?;
    /// # Ok(()) });
    /// ```
    pub fn set(&self, value: u64) -> Result<()> {
        check("proxy_record_metric", calls::record_metric(self.0, value))
    }
}

metric! {
    /// A distribution of recorded values.
    ///
    /// ```
    /// # proxywasm::mock::doc_plugin(|| {
    /// let latency = proxywasm::metrics::Histogram::define("latency_ms")?;
    /// latency.record(12)?;
    /// # Ok(()) });
    /// ```
    Histogram = 2, "histogram"
}

impl Histogram {
    /// Records a sample.
    ///
    /// # Errors
    /// The hostcall's status.
    ///
    /// ```
    /// # proxywasm::mock::doc_plugin(|| {
    /// proxywasm::metrics::Histogram::define("h")?.record(3)?;
    /// # Ok(()) });
    /// ```
    pub fn record(&self, value: u64) -> Result<()> {
        check("proxy_record_metric", calls::record_metric(self.0, value))
    }
}

/// How many label sets a [`Family`] defines unless told otherwise
/// ([`Family::with_limit`]).
///
/// ```
/// assert_eq!(proxywasm::metrics::DEFAULT_LIMIT, 1000);
/// ```
pub const DEFAULT_LIMIT: usize = 1000;

/// A metric with tags: one Envoy stat per label set, defined the first time
/// the label set is used and remembered after that.
///
/// A family has a base name and `N` tag keys, fixed when it is made. For each
/// set of `N` values, [`get`](Family::get) gives the metric of the stat
///
/// ```text
/// <base>.<key1>=<value1>.<key2>=<value2>…
/// ```
///
/// which the bootstrap's `stats_tags` turns back into the base name with
/// tags (one regex per key, [`tag_regex`]); Envoy then shows it in Prometheus
/// as `<base>{<key1>="<value1>",…}`. The first use of a label set makes the
/// hostcall `proxy_define_metric`; later uses find its id in the family and
/// make none.
///
/// Values are written as given, except that a `.` (Envoy's separator of name
/// segments, which would end the value early) and control characters (a
/// newline would split the stat's line in Envoy's `/stats`) become `_`:
/// `10.0.0.1` is shown as `10_0_0_1`. Everything else, spaces, quotes,
/// `=`, `,`, `{}` and non-ASCII included, reaches Prometheus as written
/// (Envoy escapes `"` and `\` in label values).
///
/// The family remembers at most [`DEFAULT_LIMIT`] label sets (see
/// [`with_limit`](Family::with_limit)): every label set is a stat that Envoy
/// keeps for the life of the process, so values that come from requests
/// (paths, client addresses) would otherwise grow Envoy and the plugin
/// without end.
///
/// `get` takes `&self`: share one family between the plugin context and its
/// streams with an `Rc`.
///
/// ```
/// use proxywasm::metrics::{Counter, Family};
/// use proxywasm::{Action, Configuration, ContextId, HttpContext, NoContext, PluginContext, Result, http};
/// use std::rc::Rc;
///
/// #[derive(Default)]
/// struct Plugin {
///     requests: Option<Rc<Family<Counter, 1>>>,
/// }
///
/// impl PluginContext for Plugin {
///     type Http = Filter;
///     type Tcp = NoContext;
///
///     fn on_configure(&mut self, _configuration: Configuration) -> Result<()> {
///         self.requests = Some(Rc::new(Family::new("demo.requests", ["method"])?));
///         Ok(())
///     }
///
///     fn new_http_context(&mut self, _id: ContextId) -> Option<Filter> {
///         Some(Filter { requests: self.requests.clone()? })
///     }
/// }
///
/// struct Filter {
///     requests: Rc<Family<Counter, 1>>,
/// }
///
/// impl HttpContext for Filter {
///     fn on_request_headers(&mut self, _n: usize, _end_of_stream: bool) -> Result<Action> {
///         let method = http::request_headers().get(":method").ok().flatten();
///         let method = method.as_ref().map_or("none", |m| m.to_str().unwrap_or("other"));
///         if let Err(e) = self.requests.get([method]).and_then(|c| c.increment(1)) {
///             proxywasm::log::warn!("cannot count: {e}");
///         }
///         Ok(Action::Continue)
///     }
/// }
///
/// let host = proxywasm::mock::MockHost::builder().plugin(|_| Plugin::default());
/// assert!(host.start());
/// for method in ["GET", "GET", "POST"] {
///     host.http_stream().request_headers(&[(":method", method)], true);
/// }
/// assert_eq!(host.metrics().counter("demo.requests.method=GET"), Some(2));
/// assert_eq!(host.metrics().counter("demo.requests.method=POST"), Some(1));
/// // Two label sets, two definitions: the second GET found its metric.
/// assert_eq!(host.hostcall_counts()["proxy_define_metric"], 2);
/// ```
pub struct Family<M, const N: usize> {
    labels: Labels,
    kind: PhantomData<M>,
}

/// A family without its metric type and arity, so that every family of a
/// plugin shares one copy of this code (and of the hash table's).
struct Labels {
    base: Box<str>,
    keys: Box<[Box<str>]>,
    limit: usize,
    defined: RefCell<hashbrown::HashTable<Defined>>,
}

/// A defined label set: the values as given and the metric's id, hashed by
/// [`hash_values`].
type Defined = (Box<[Box<str>]>, u32);

impl<M: Metric, const N: usize> Family<M, N> {
    /// A family named `base` with the tag keys `keys`. Defines nothing yet.
    ///
    /// # Errors
    /// An [`Error`] naming what is wrong, for a base name that is empty,
    /// contains `=` (a tag regex could match it) or has an empty segment (a
    /// leading, trailing or doubled `.`), and for a key that is not a
    /// Prometheus label name (`[A-Za-z_][A-Za-z0-9_]*`) or is given twice.
    ///
    /// ```
    /// use proxywasm::metrics::{Family, Gauge};
    ///
    /// let sessions = Family::<Gauge, 2>::new("sessions", ["region", "tier"]);
    /// assert!(sessions.is_ok());
    /// let bad = Family::<Gauge, 1>::new("sessions", ["tier-name"]);
    /// assert_eq!(
    ///     bad.err().map(|e| e.to_string()).as_deref(),
    ///     Some("metric family `sessions`: tag key `tier-name` is not a Prometheus label name ([A-Za-z_][A-Za-z0-9_]*)"),
    /// );
    /// ```
    pub fn new(base: &str, keys: [&str; N]) -> Result<Self> {
        Ok(Family {
            labels: Labels::new(base, &keys)?,
            kind: PhantomData,
        })
    }

    /// The same family, remembering at most `limit` label sets: a label set
    /// beyond it is an error, and no stat is defined for it.
    /// `usize::MAX` removes the bound.
    ///
    /// ```
    /// # proxywasm::mock::doc_plugin(|| {
    /// use proxywasm::metrics::{Counter, Family};
    ///
    /// let hits = Family::<Counter, 1>::new("hits", ["user"])?.with_limit(2);
    /// hits.get(["ann"])?.increment(1)?;
    /// hits.get(["bob"])?.increment(1)?;
    /// hits.get(["ann"])?.increment(1)?; // known: not a new label set
    /// let error = hits.get(["cid"]).unwrap_err();
    /// assert_eq!(
    ///     error.to_string(),
    ///     "metric family `hits`: 2 label sets defined, its limit; `hits.user=cid` not defined"
    /// );
    /// # Ok(()) });
    /// ```
    #[must_use]
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.labels.limit = limit;
        self
    }

    /// The metric of the label set `values` (one value per key, in the keys'
    /// order): defined with the hostcall `proxy_define_metric` the first
    /// time, found in the family after that.
    ///
    /// # Errors
    /// The hostcall's status; an [`Error`] naming the family and the stat
    /// when the label set is new and the family already has its limit of
    /// label sets ([`with_limit`](Family::with_limit)).
    ///
    /// ```
    /// # proxywasm::mock::doc_plugin(|| {
    /// use proxywasm::metrics::{Family, Histogram};
    ///
    /// let latency = Family::<Histogram, 2>::new("latency_ms", ["route", "code"])?;
    /// latency.get(["api", "200"])?.record(12)?;
    /// let again = latency.get(["api", "200"])?;
    /// assert_eq!(again, latency.get(["api", "200"])?);
    /// assert_ne!(again, latency.get(["api", "503"])?);
    /// assert_eq!(latency.len(), 2);
    /// # Ok(()) });
    /// ```
    #[inline]
    pub fn get(&self, values: [&str; N]) -> Result<M> {
        self.labels.get(M::KIND, &values).map(M::from_id)
    }

    /// The stat name of the label set `values`, as [`get`](Family::get)
    /// defines it (Envoy adds its `wasmcustom.` namespace in front).
    ///
    /// ```
    /// use proxywasm::metrics::{Counter, Family};
    ///
    /// let calls = Family::<Counter, 2>::new("upstream.calls", ["host", "code"])?;
    /// assert_eq!(
    ///     calls.name(["10.0.0.1:8080", "200"]),
    ///     "upstream.calls.host=10_0_0_1:8080.code=200"
    /// );
    /// assert_eq!(calls.name(["a\nb", "x y"]), "upstream.calls.host=a_b.code=x y");
    /// # Ok::<(), proxywasm::Error>(())
    /// ```
    pub fn name(&self, values: [&str; N]) -> String {
        self.labels.name(&values)
    }

    /// The base name.
    ///
    /// ```
    /// use proxywasm::metrics::{Counter, Family};
    ///
    /// let calls = Family::<Counter, 1>::new("calls", ["code"])?;
    /// assert_eq!(calls.base(), "calls");
    /// # Ok::<(), proxywasm::Error>(())
    /// ```
    pub fn base(&self) -> &str {
        &self.labels.base
    }

    /// How many label sets the family has defined and remembers.
    ///
    /// ```
    /// # proxywasm::mock::doc_plugin(|| {
    /// use proxywasm::metrics::{Counter, Family};
    ///
    /// let calls = Family::<Counter, 1>::new("calls", ["code"])?;
    /// assert!(calls.is_empty());
    /// calls.get(["200"])?;
    /// calls.get(["200"])?;
    /// assert_eq!(calls.len(), 1);
    /// # Ok(()) });
    /// ```
    pub fn len(&self) -> usize {
        self.labels.defined.try_borrow().map_or(0, |d| d.len())
    }

    /// Whether no label set has been defined yet.
    ///
    /// ```
    /// use proxywasm::metrics::{Counter, Family};
    ///
    /// assert!(Family::<Counter, 1>::new("calls", ["code"])?.is_empty());
    /// # Ok::<(), proxywasm::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Labels {
    /// Checks the names (see [`Family::new`]).
    fn new(base: &str, keys: &[&str]) -> Result<Labels> {
        check_base(base)?;
        for (i, key) in keys.iter().enumerate() {
            check_key(base, key)?;
            if keys.get(..i).is_some_and(|before| before.contains(key)) {
                return Err(Error::other(format_args!(
                    "metric family `{base}`: tag key `{key}` is given twice"
                )));
            }
        }
        Ok(Labels {
            base: base.into(),
            keys: keys.iter().map(|k| Box::from(*k)).collect(),
            limit: DEFAULT_LIMIT,
            defined: RefCell::new(hashbrown::HashTable::new()),
        })
    }

    /// The id of the label set `values`, defined as a metric of `kind` the
    /// first time (see [`Family::get`]).
    fn get(&self, kind: u32, values: &[&str]) -> Result<u32> {
        let hash = hash_values(values.iter().copied());
        let same = |(stored, _): &Defined| stored.iter().map(|s| &**s).eq(values.iter().copied());
        // A borrow fails only if `get` re-entered itself (a host calling
        // back into the plugin while it defines): then it defines without
        // the cache rather than fail.
        if let Ok(defined) = self.defined.try_borrow() {
            if let Some((_, id)) = defined.find(hash, same) {
                return Ok(*id);
            }
            if defined.len() >= self.limit {
                return Err(self.full(values));
            }
        }
        let name = self.name(values);
        let id = check(
            "proxy_define_metric",
            calls::define_metric(kind, name.as_bytes()),
        )?;
        if let Ok(mut defined) = self.defined.try_borrow_mut() {
            let stored = values.iter().map(|v| Box::from(*v)).collect();
            defined.insert_unique(hash, (stored, id), |(stored, _)| {
                hash_values(stored.iter().map(|s| &**s))
            });
        }
        Ok(id)
    }

    /// The stat name of `values` (see [`Family::name`]).
    fn name(&self, values: &[&str]) -> String {
        let tags: usize = self
            .keys
            .iter()
            .zip(values)
            .map(|(k, v)| k.len() + v.len() + 2)
            .sum();
        let mut name = String::with_capacity(self.base.len() + tags);
        name.push_str(&self.base);
        for (key, value) in self.keys.iter().zip(values) {
            push_tag(&mut name, key, value);
        }
        name
    }

    /// The error for a new label set beyond the limit.
    #[cold]
    fn full(&self, values: &[&str]) -> Error {
        Error::other(format_args!(
            "metric family `{}`: {} label sets defined, its limit; `{}` not defined",
            self.base,
            self.limit,
            self.name(values)
        ))
    }
}

impl<M, const N: usize> fmt::Debug for Family<M, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let labels = &self.labels;
        f.debug_struct("Family")
            .field("base", &labels.base)
            .field("keys", &labels.keys)
            .field(
                "defined",
                &labels.defined.try_borrow().map(|d| d.len()).ok(),
            )
            .field("limit", &labels.limit)
            .finish()
    }
}

/// The `stats_tags` regex that extracts the tag `key` of a [`Family`]'s stat
/// names: `(\.key=([^.]*))`. Envoy removes what the first group matched
/// from the name and takes the second as the tag's value.
///
/// In the bootstrap, one entry per key (the same key in several families
/// needs one entry):
///
/// ```yaml
/// stats_config:
///   stats_tags:
///   - tag_name: method
///     regex: '(\.method=([^.]*))'
/// ```
///
/// ```
/// assert_eq!(proxywasm::metrics::tag_regex("method"), r"(\.method=([^.]*))");
/// ```
pub fn tag_regex(key: &str) -> String {
    let mut regex = String::with_capacity(key.len() + 16);
    regex.push_str(r"(\.");
    regex.push_str(key);
    regex.push_str("=([^.]*))");
    regex
}

/// Appends the tag segment `.key=value`, with each `.` and control
/// character of the value as `_` (the mock host's tagged getters name stats
/// with it too).
pub(crate) fn push_tag(name: &mut String, key: &str, value: &str) {
    name.push('.');
    name.push_str(key);
    name.push('=');
    name.extend(
        value
            .chars()
            .map(|c| if c == '.' || c.is_control() { '_' } else { c }),
    );
}

/// FNV-1a over the values, each followed by `0xff` (never in UTF-8), so
/// `["ab", "c"]` and `["a", "bc"]` differ.
fn hash_values<'a>(values: impl Iterator<Item = &'a str>) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for value in values {
        for byte in value.bytes().chain(core::iter::once(0xff)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// A base name the tag regexes leave alone and Envoy keeps whole.
fn check_base(base: &str) -> Result<()> {
    let problem = if base.is_empty() {
        "is empty"
    } else if base.contains('=') {
        "contains `=`"
    } else if base.split('.').any(str::is_empty) {
        "has an empty segment (a leading, trailing or doubled `.`)"
    } else {
        return Ok(());
    };
    Err(Error::other(format_args!(
        "metric family `{base}`: the base name {problem}"
    )))
}

/// A tag key Prometheus accepts as a label name.
fn check_key(base: &str, key: &str) -> Result<()> {
    let mut chars = key.chars();
    let first = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if first && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Ok(());
    }
    Err(Error::other(format_args!(
        "metric family `{base}`: tag key `{key}` is not a Prometheus label name \
         ([A-Za-z_][A-Za-z0-9_]*)"
    )))
}
