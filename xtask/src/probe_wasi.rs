//! What Envoy 1.40 does with the WASI calls a Rust plugin makes (book:
//! reference/hostcalls.md#wasi, errors-and-logging.md#logging). The probe's
//! side is `tests/envoy-probe/src/wasi.rs`, in `GET /routed`'s
//! `on_request_headers`.

use crate::e2e::Ctx;
use crate::error::{Result, bail};
use crate::probe::expect_probe;

/// The `[level]` field of an Envoy log line `[time][tid][level][component] ...`.
fn level_of(line: &str) -> Option<&str> {
    line.split(']').nth(2)?.strip_prefix('[')
}

/// The text between the source location `] ` and `message` in `line`.
fn prefix_of<'a>(line: &'a str, message: &str) -> Option<&'a str> {
    let (before, _) = line.split_once(message)?;
    Some(before.rsplit_once("] ")?.1)
}

/// The one log line holding `message`, which must end the line (the trailing
/// newline removed, no line of its own).
fn only_line(c: &mut Ctx<'_>, message: &str) -> Result<String> {
    c.logged(&[message])?;
    let log = c.envoy.log();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains(message)).collect();
    match lines.as_slice() {
        [line] if line.ends_with(message) => Ok((*line).to_string()),
        _ => bail!("`{message}` in Envoy's log: {lines:?} (expected one line ending with it)"),
    }
}

/// `println!` (fd 1) is one info line, `eprintln!` (fd 2) one error line,
/// each with the prefix of the plugin's own `proxy_log` lines (`wasm log
/// PLUGIN ROOT_ID VM_ID: `) and without the trailing newline.
pub(crate) fn stdout_and_stderr(c: &mut Ctx<'_>) -> Result<()> {
    let needle = "probe: wasi fd_write(fd 3) = ";
    c.logged(&[needle])?;
    let log = c.envoy.log();
    let log_prefix = log
        .lines()
        .find_map(|l| prefix_of(l, needle))
        .unwrap_or("?")
        .to_string();
    let mut wrong = Vec::new();
    for (message, want) in [
        ("probe-wasi: a line written to stdout", "info"),
        ("probe-wasi: a line written to stderr", "error"),
    ] {
        let line = only_line(c, message)?;
        let level = level_of(&line).unwrap_or("?");
        let prefix = prefix_of(&line, message).unwrap_or("?");
        if level != want || prefix != log_prefix {
            wrong.push(format!(
                "`{message}` logged at {level} with prefix {prefix:?} (expected {want} and \
                 the proxy_log prefix {log_prefix:?})"
            ));
        }
    }
    crate::probe::none_wrong(wrong)
}

/// `fd_write` to fd 3 is errno 8 (BADF).
pub(crate) fn other_fd_is_badf(c: &mut Ctx<'_>) -> Result<()> {
    expect_probe(c, &[("wasi fd_write(fd 3)", "8")])
}

/// No environment variables (none configured) and no arguments.
pub(crate) fn no_environment_no_arguments(c: &mut Ctx<'_>) -> Result<()> {
    expect_probe(
        c,
        &[
            ("wasi environ (std::env::vars().count())", "0"),
            ("wasi args (std::env::args().count())", "0"),
        ],
    )
}

/// `clock_time_get`: clock 0 is the wall clock Envoy's own hostcall reads,
/// clock 1 does not go back.
pub(crate) fn clocks(c: &mut Ctx<'_>) -> Result<()> {
    expect_probe(
        c,
        &[
            ("wasi clock 0 against time::now", "agrees"),
            ("wasi clock 1 (Instant::now twice)", "monotonic"),
        ],
    )
}

/// `random_get` fills with fresh bytes; more than 65,536 in one call is 28
/// (INVAL).
pub(crate) fn random(c: &mut Ctx<'_>) -> Result<()> {
    expect_probe(
        c,
        &[
            ("wasi random_get(16)", "errno 0; two draws differ: true"),
            ("wasi random_get(65537)", "28"),
        ],
    )
}

/// `poll_oneoff` with a 1 s clock subscription answers 0 with no events at
/// once: it never sleeps.
pub(crate) fn poll_never_sleeps(c: &mut Ctx<'_>) -> Result<()> {
    expect_probe(
        c,
        &[(
            "wasi poll_oneoff(1 s clock)",
            "errno 0, 0 events, took under 100 ms: true",
        )],
    )
}

/// `environ_get` answers the VM's `vm_config.environment_variables` (VM
/// `tcp_probe` configures one).
pub(crate) fn configured_environment(c: &mut Ctx<'_>) -> Result<()> {
    expect_probe(c, &[("wasi environ[tcp_probe]", "[PROBE_ENV=from-config]")])
}

/// The calls whose answer is an errno: `fd_read` NOSYS (52), `fd_fdstat_get`
/// 0 for fd 1 and BADF (8) for fd 3, `fd_prestat_get` BADF (no preopened
/// directories), `sched_yield` 0, `clock_res_get` 1 ns for clocks 0 and 1
/// and NOTSUP (58) for clock 2, as is `clock_time_get` of clock 2.
pub(crate) fn errno_answers(c: &mut Ctx<'_>) -> Result<()> {
    expect_probe(
        c,
        &[(
            "wasi other calls",
            "fd_read(0) 52, fd_fdstat_get(1) 0, fd_fdstat_get(3) 8, fd_prestat_get(3) 8, \
             sched_yield 0, clock_res_get(0) 0, clock_res_get(1) 0, clock_res_get(2) 58, \
             clock_time_get(2) 58, resolutions 1 ns, 1 ns",
        )],
    )
}

/// The file calls a plugin has no use for are stubs: `fd_seek` and
/// `fd_close` answer 0 and do nothing (`fd_close` of fd 3, which is not
/// open), `fd_fdstat_set_flags` and `fd_prestat_dir_name` NOSYS (52),
/// `fd_filestat_get` BADF (8), `path_open` NOENT (44), `path_filestat_get`
/// NOTSUP (58).
pub(crate) fn file_stubs(c: &mut Ctx<'_>) -> Result<()> {
    expect_probe(
        c,
        &[(
            "wasi file calls",
            "fd_seek(1) 0, fd_close(3) 0, fd_fdstat_set_flags(1) 52, fd_prestat_dir_name(3) 52, \
             fd_filestat_get(3) 8, path_open(3) 44, path_filestat_get(3) 58",
        )],
    )
}

#[cfg(test)]
mod tests {
    use super::{level_of, prefix_of};

    #[test]
    fn reads_level_and_prefix() {
        let line = "[2026-12-07 02:42:29.809][8514][error][wasm] [source/x.cc:1157] wasm log a b c: \
                    probe-wasi: hi";
        assert_eq!(level_of(line), Some("error"));
        assert_eq!(prefix_of(line, "probe-wasi: hi"), Some("wasm log a b c: "));
    }
}
