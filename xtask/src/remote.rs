//! `cargo xtask remote-fetch`: Envoy downloads a plugin over HTTP (`vm_config.code.remote`)
//! and checks its `sha256`.
//!
//! The harness serves `hello_world.wasm` from a small HTTP server on 127.0.0.1:18504
//! and starts Envoy on a bootstrap it writes to `target/e2e/remote/envoy.yaml`: two
//! listeners load the module through the `remote` code source of the cluster
//! `wasm_server`, one with the module's real `sha256` (127.0.0.1:18505), one with a
//! wrong one (127.0.0.1:18506); admin on 127.0.0.1:18507. The book shows the same
//! configuration (book: deploying.md#envoy-fetching-the-plugin-over-http).

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::cmd::step;
use crate::e2e::{self, Tally, report};
use crate::envoy::{self, Envoy, EnvoyProcess, Launch, WasmFilter, http_get, wasm_listener};
use crate::error::{Context, Error, Result, bail};

const SERVER_PORT: u16 = 18504;
const GOOD_PORT: u16 = 18505;
const BAD_PORT: u16 = 18506;
const ADMIN_PORT: u16 = 18507;
/// The module served, and the example it is from.
const EXAMPLE: &str = "hello_world";
const TIMEOUT: Duration = Duration::from_secs(10);

/// The lowercase hex sha256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A loopback HTTP/1.1 server that answers `GET /<name>` with one file and
/// anything else with 404; stopped when dropped.
pub(crate) struct FileServer {
    stop: Arc<AtomicBool>,
    /// Requests answered with the file.
    pub(crate) served: Arc<AtomicUsize>,
    thread: Option<thread::JoinHandle<()>>,
}

impl FileServer {
    pub(crate) fn start(port: u16, name: &str, body: Vec<u8>) -> Result<FileServer> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .context(format!("binding 127.0.0.1:{port}"))?;
        listener
            .set_nonblocking(true)
            .context("configuring the file server")?;
        let stop = Arc::new(AtomicBool::new(false));
        let served = Arc::new(AtomicUsize::new(0));
        let path = format!("/{name}");
        let (stop2, served2) = (Arc::clone(&stop), Arc::clone(&served));
        let thread = thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        if answer(stream, &path, &body) {
                            served2.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(_) => thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Ok(FileServer {
            stop,
            served,
            thread: Some(thread),
        })
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Answers one request (one per connection); true when the file was sent.
fn answer(stream: TcpStream, path: &str, body: &[u8]) -> bool {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(TIMEOUT));
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return false;
    }
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) if line == "\r\n" => break,
            Ok(_) => {}
        }
    }
    let found = request_line.starts_with(&format!("GET {path} "));
    let (status, body) = if found {
        ("200 OK", body)
    } else {
        ("404 Not Found", &b"not found\n"[..])
    };
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/wasm\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let mut stream = reader.into_inner();
    found && stream.write_all(head.as_bytes()).is_ok() && stream.write_all(body).is_ok()
}

/// The bootstrap: a cluster for the file server, and a listener per `sha256`.
fn bootstrap(good_sha: &str, bad_sha: &str) -> String {
    let listener = |name: &str, port: u16, sha: &str| {
        let code = format!(
            "{{ remote: {{ http_uri: {{ uri: \"http://127.0.0.1:{SERVER_PORT}/{EXAMPLE}.wasm\", \
             cluster: wasm_server, timeout: 5s }}, sha256: {sha}, retry_policy: {{ num_retries: 1 }} }} }}"
        );
        let extra = r#"                failure_policy: FAIL_RELOAD
                reload_config:
                  backoff: { base_interval: 0.1s, max_interval: 1s }
                configuration:
                  "@type": type.googleapis.com/google.protobuf.StringValue
                  value: fetched over HTTP
"#;
        wasm_listener(
            name,
            port,
            &format!(r#"{{ status: 200, body: {{ inline_string: "{name} upstream\n" }} }}"#),
            &WasmFilter {
                name,
                root_id: "hello_world",
                code: &code,
                extra,
            },
        )
    };
    format!(
        r#"# Written by `cargo xtask remote-fetch`: Envoy fetches {EXAMPLE}.wasm over HTTP.
admin:
  address:
    socket_address: {{ address: 127.0.0.1, port_value: {ADMIN_PORT} }}
static_resources:
  clusters:
  - name: wasm_server
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: wasm_server
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address: {{ address: 127.0.0.1, port_value: {SERVER_PORT} }}
  listeners:
{}{}"#,
        listener("remote_good", GOOD_PORT, good_sha),
        listener("remote_bad", BAD_PORT, bad_sha)
    )
}

/// Builds the module, serves it, starts Envoy and runs the checks.
pub(crate) fn run(root: &Path, build: bool) -> Tally {
    let mut tally = Tally::default();
    let prefix = "remote-fetch";
    let setup = (|| -> Result<(Envoy, Vec<u8>)> {
        let example = if build {
            e2e::build_one(root, EXAMPLE)?
        } else {
            e2e::example(EXAMPLE)?
        };
        let wasm_path = example.wasm_path(root);
        let wasm = std::fs::read(&wasm_path).context(format!(
            "reading {} (build it first)",
            envoy::relative(root, &wasm_path)
        ))?;
        Ok((envoy::ensure_installed(root)?, wasm))
    })();
    let (envoy, wasm) = match setup {
        Ok(s) => s,
        Err(e) => {
            report(prefix, "module built and Envoy available", &Err(e));
            tally.add(false);
            return tally;
        }
    };
    let good = sha256_hex(&wasm);
    // The digest of other bytes: well-formed, but not this module's.
    let bad = sha256_hex(b"not the module");
    let outcome = run_checks(root, &envoy, wasm, &good, &bad, &mut tally);
    if let Err(e) = outcome {
        report(prefix, "Envoy starts with the remote bootstrap", &Err(e));
        tally.add(false);
    }
    tally
}

fn run_checks(
    root: &Path,
    envoy: &Envoy,
    wasm: Vec<u8>,
    good: &str,
    bad: &str,
    tally: &mut Tally,
) -> Result<()> {
    let prefix = "remote-fetch";
    let run_dir = root.join("target").join("e2e").join("remote");
    std::fs::create_dir_all(&run_dir).context(format!("creating {}", run_dir.display()))?;
    let config = run_dir.join("envoy.yaml");
    std::fs::write(&config, bootstrap(good, bad))
        .context(format!("writing {}", config.display()))?;
    step(format!(
        "serving {EXAMPLE}.wasm (sha256 {good}) on 127.0.0.1:{SERVER_PORT}; Envoy on {}",
        envoy::relative(root, &config)
    ));
    let server = FileServer::start(SERVER_PORT, &format!("{EXAMPLE}.wasm"), wasm)?;
    let mut process = EnvoyProcess::start(
        envoy,
        &Launch {
            cwd: root,
            config: &config,
            run_dir: &run_dir,
            admin_port: ADMIN_PORT,
            ports: &[GOOD_PORT, BAD_PORT, ADMIN_PORT],
            concurrency: 1,
            extra_args: &[],
        },
    )?;
    let mut check = |name: &str, f: &mut dyn FnMut(&mut EnvoyProcess) -> Result<()>| {
        let outcome = f(&mut process);
        report(prefix, name, &outcome);
        tally.add(outcome.is_ok());
    };
    check(
        "with the right sha256 the fetched plugin starts and serves requests",
        &mut |p| {
            p.wait_for_log(
                &["hello_world: started, configuration: fetched over HTTP"],
                TIMEOUT,
            )?;
            let r = http_get(GOOD_PORT, "/", &[], TIMEOUT)?;
            if r.status != 200 || r.body_text() != "remote_good upstream\n" {
                bail!("GET / got {} {:?}", r.status, r.body_text());
            }
            if server.served.load(Ordering::Relaxed) == 0 {
                bail!("the file server never sent the module");
            }
            Ok(())
        },
    );
    check(
        "with a wrong sha256 Envoy refuses the module (retry limit warning, critical load failure, failed closed under FAIL_RELOAD) and the listener answers 503",
        &mut |p| {
            // Envoy 1.40 logs the digest mismatch as a failed fetch, then this.
            p.wait_for_log(&["Plugin remote_bad failed to load"], TIMEOUT)?;
            let log = p.log();
            let logged = |level: &str, text: &str| {
                log.lines()
                    .any(|l| l.contains(&format!("[{level}]")) && l.contains(text))
            };
            for (level, text) in [
                (
                    "warning",
                    "Retry limit exceeded for fetching data from remote data source",
                ),
                ("critical", "Plugin remote_bad failed to load"),
                // Said even though the listener's policy is FAIL_RELOAD.
                (
                    "critical",
                    "Plugin configured to fail closed failed to load",
                ),
            ] {
                if !logged(level, text) {
                    bail!("no {level} line `{text}` in Envoy's log");
                }
            }
            for i in 0..3 {
                let r = http_get(BAD_PORT, "/", &[], TIMEOUT)?;
                if r.status != 503 {
                    bail!(
                        "request {}: {} {:?} (expected 503)",
                        i + 1,
                        r.status,
                        r.body_text()
                    );
                }
            }
            let wrong: Vec<&str> = log
                .lines()
                .filter(|l| l.contains("remote_bad: hello_world: started"))
                .collect();
            if !wrong.is_empty() {
                bail!("the wrong-sha256 plugin started: {}", wrong.join("\n"));
            }
            Ok(())
        },
    );
    process.stop();
    drop(server);
    Ok(())
}

/// `cargo xtask remote-fetch`.
pub(crate) fn command(root: &Path) -> Result<Tally> {
    let tally = run(root, true);
    if tally.passed == 0 && tally.failed == 0 {
        return Err(Error::msg("no check ran"));
    }
    Ok(tally)
}
