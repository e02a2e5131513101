//! `cargo xtask package EXAMPLE`: the plugin as an OCI image, in both forms Istio's
//! image fetcher (and Envoy Gateway's) accepts.
//!
//! * **compat**: an ordinary image. Config `application/vnd.oci.image.config.v1+json`,
//!   one `application/vnd.oci.image.layer.v1.tar+gzip` layer whose tar holds one file,
//!   `plugin.wasm`; the manifest is annotated `module.wasm.image/variant: compat`. Any
//!   registry and any image tool handle it.
//! * **oci**: a Wasm artifact. Config `application/vnd.module.wasm.config.v1+json`
//!   naming the ABI version the module exports and the root ids its `envoy.yaml`
//!   configures, and one `application/vnd.module.wasm.content.layer.v1+wasm` layer that
//!   is the `.wasm` itself.
//!
//! Each is written as an OCI image layout directory (`oci-layout`, `index.json`,
//! `blobs/sha256/…`) under `target/package/<example>/<variant>/` and as a tarball of
//! that directory, `target/package/<example>-<variant>.tar` (what `skopeo copy
//! oci-archive:…` and `oras` read). Every blob is named by its sha256; the output is
//! byte-for-byte reproducible (no timestamps).
//!
//! [`verify`] re-reads a layout with the `oci-spec` crate (an OCI library this project
//! did not write) and checks every descriptor's media type, size and digest, the config
//! and the layer's content. The gate also round-trips each image through a real
//! registry ([`gate_step`]).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use oci_spec::image::{ImageConfiguration, ImageIndex, ImageManifest};
use serde_json::json;

use crate::cmd::{self, step};
use crate::e2e::{self, Tally, report};
use crate::envoy;
use crate::error::{Context, Error, Result, bail};
use crate::example::{self, Example};
use crate::remote::sha256_hex;

/// The media types of the two variants.
pub(crate) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const WASM_CONFIG: &str = "application/vnd.module.wasm.config.v1+json";
const WASM_LAYER: &str = "application/vnd.module.wasm.content.layer.v1+wasm";
const VARIANT_ANNOTATION: &str = "module.wasm.image/variant";
const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// The two image forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Variant {
    Compat,
    Oci,
}

impl Variant {
    pub(crate) const ALL: [Variant; 2] = [Variant::Compat, Variant::Oci];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Variant::Compat => "compat",
            Variant::Oci => "oci",
        }
    }
}

/// What `package` wrote for one variant.
#[derive(Debug, Clone)]
pub(crate) struct Image {
    pub(crate) variant: Variant,
    pub(crate) layout: PathBuf,
    pub(crate) tarball: PathBuf,
    pub(crate) tarball_size: u64,
    /// `sha256:…` of the manifest.
    pub(crate) manifest_digest: String,
    /// `sha256:…` of the config and of the layer.
    pub(crate) blob_digests: Vec<String>,
}

/// Facts about the module the oci variant's config names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ModuleFacts {
    /// E.g. `v0.2.1`, from the module's `proxy_abi_version_0_2_1` export.
    pub(crate) abi_versions: Vec<String>,
    /// The `root_id:` values of the example's `envoy.yaml`.
    pub(crate) root_ids: Vec<String>,
}

/// ABI versions from `proxy_abi_version_X_Y_Z` exports.
pub(crate) fn abi_versions(wasm: &[u8]) -> Result<Vec<String>> {
    let mut versions = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(|e| Error::msg(format!("reading the module: {e}")))?;
        if let wasmparser::Payload::ExportSection(reader) = payload {
            for export in reader {
                let export = export.map_err(|e| Error::msg(format!("reading the exports: {e}")))?;
                if let Some(v) = export.name.strip_prefix("proxy_abi_version_") {
                    versions.push(format!("v{}", v.replace('_', ".")));
                }
            }
        }
    }
    if versions.is_empty() {
        bail!("the module exports no proxy_abi_version_* function");
    }
    Ok(versions)
}

/// The distinct `root_id:` values of a bootstrap, in order.
pub(crate) fn root_ids(yaml: &str) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for line in yaml.lines() {
        if let Some(id) = line.trim().strip_prefix("root_id:") {
            let id = id.trim().trim_matches('"').to_string();
            if !id.is_empty() && !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    ids
}

/// A blob: its bytes and digest.
struct Blob {
    bytes: Vec<u8>,
    digest: String,
}

impl Blob {
    fn new(bytes: Vec<u8>) -> Blob {
        let digest = format!("sha256:{}", sha256_hex(&bytes));
        Blob { bytes, digest }
    }

    fn descriptor(&self, media_type: &str) -> serde_json::Value {
        json!({ "mediaType": media_type, "digest": self.digest, "size": self.bytes.len() })
    }
}

/// A tar (ustar) holding `files` as written, reproducibly: mode 0644, owner 0, mtime 0.
fn tar_of(files: &[(&str, &[u8])]) -> Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, bytes) in files {
        let mut header = tar::Header::new_ustar();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        builder
            .append_data(&mut header, name, *bytes)
            .context(format!("adding {name} to a tar"))?;
    }
    builder.into_inner().context("finishing a tar")
}

fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    use std::io::Write;
    let mut encoder = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).context("compressing")?;
    encoder.finish().context("compressing")
}

fn gunzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .context("decompressing")?;
    Ok(out)
}

/// The config, layer and manifest blobs of one variant.
fn blobs(variant: Variant, wasm: &[u8], facts: &ModuleFacts) -> Result<(Blob, Blob, Blob)> {
    let (config, config_type, layer, layer_type, annotations) = match variant {
        Variant::Compat => {
            let tar = tar_of(&[("plugin.wasm", wasm)])?;
            let diff_id = format!("sha256:{}", sha256_hex(&tar));
            let config = json!({
                "architecture": "wasm",
                "os": "wasip1",
                "rootfs": { "type": "layers", "diff_ids": [diff_id] },
                "config": {}
            });
            (
                config,
                OCI_CONFIG,
                gzip(&tar)?,
                OCI_LAYER_GZIP,
                json!({ VARIANT_ANNOTATION: "compat" }),
            )
        }
        Variant::Oci => {
            let config = json!({
                "type": "envoy_proxy",
                "abiVersions": facts.abi_versions,
                "rootIds": facts.root_ids,
            });
            (
                config,
                WASM_CONFIG,
                wasm.to_vec(),
                WASM_LAYER,
                json!({ VARIANT_ANNOTATION: "oci" }),
            )
        }
    };
    let config = Blob::new(serde_json::to_vec(&config).context("writing the config")?);
    let layer = Blob::new(layer);
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config.descriptor(config_type),
        "layers": [layer.descriptor(layer_type)],
        "annotations": annotations,
    });
    let manifest = Blob::new(serde_json::to_vec(&manifest).context("writing the manifest")?);
    Ok((config, layer, manifest))
}

/// Writes one variant's layout directory and tarball.
fn write_image(
    out_dir: &Path,
    name: &str,
    variant: Variant,
    wasm: &[u8],
    facts: &ModuleFacts,
) -> Result<Image> {
    let (config, layer, manifest) = blobs(variant, wasm, facts)?;
    let mut manifest_descriptor = manifest.descriptor(OCI_MANIFEST);
    manifest_descriptor["annotations"] = json!({ REF_NAME: variant.name() });
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [manifest_descriptor],
    });
    let index = serde_json::to_vec(&index).context("writing index.json")?;
    let layout_file = br#"{"imageLayoutVersion":"1.0.0"}"#;

    let layout = out_dir.join(name).join(variant.name());
    if layout.exists() {
        std::fs::remove_dir_all(&layout).context(format!("removing {}", layout.display()))?;
    }
    let blob_dir = layout.join("blobs").join("sha256");
    std::fs::create_dir_all(&blob_dir).context(format!("creating {}", blob_dir.display()))?;
    let mut files: Vec<(String, &[u8])> = vec![
        ("oci-layout".to_string(), layout_file),
        ("index.json".to_string(), &index),
    ];
    for blob in [&config, &layer, &manifest] {
        let hex = blob.digest.trim_start_matches("sha256:");
        files.push((format!("blobs/sha256/{hex}"), &blob.bytes));
    }
    for (path, bytes) in &files {
        let file = layout.join(path);
        std::fs::write(&file, bytes).context(format!("writing {}", file.display()))?;
    }
    let entries: Vec<(&str, &[u8])> = files.iter().map(|(p, b)| (p.as_str(), *b)).collect();
    let tarball = out_dir.join(format!("{name}-{}.tar", variant.name()));
    let tar = tar_of(&entries)?;
    std::fs::write(&tarball, &tar).context(format!("writing {}", tarball.display()))?;
    Ok(Image {
        variant,
        layout,
        tarball,
        tarball_size: tar.len() as u64,
        manifest_digest: manifest.digest,
        blob_digests: vec![config.digest, layer.digest],
    })
}

/// The module and the facts its oci config names, for an example.
pub(crate) fn module_of(root: &Path, example: &Example) -> Result<(Vec<u8>, ModuleFacts)> {
    let wasm_path = example.wasm_path(root);
    let wasm = std::fs::read(&wasm_path).context(format!(
        "reading {} (build it with `cargo xtask package {}`)",
        envoy::relative(root, &wasm_path),
        example.name
    ))?;
    let config = example.config_path(root);
    let yaml = std::fs::read_to_string(&config).context(format!("reading {}", config.display()))?;
    let facts = ModuleFacts {
        abi_versions: abi_versions(&wasm)?,
        root_ids: root_ids(&yaml),
    };
    if facts.root_ids.is_empty() {
        bail!("{} configures no root_id", config.display());
    }
    Ok((wasm, facts))
}

/// Writes both variants of an example's (built) `.wasm` under `out_dir`.
pub(crate) fn package(root: &Path, example: &Example, out_dir: &Path) -> Result<Vec<Image>> {
    let (wasm, facts) = module_of(root, example)?;
    Variant::ALL
        .iter()
        .map(|&v| write_image(out_dir, &example.name, v, &wasm, &facts))
        .collect()
}

fn read_blob(layout: &Path, digest: &str, size: u64, media_type: &str) -> Result<Vec<u8>> {
    let Some(hex) = digest.strip_prefix("sha256:") else {
        bail!("{media_type}: digest {digest} is not sha256");
    };
    let path = layout.join("blobs").join("sha256").join(hex);
    let bytes = std::fs::read(&path).context(format!("reading {}", path.display()))?;
    if bytes.len() as u64 != size {
        bail!(
            "{media_type}: {} bytes, descriptor says {size}",
            bytes.len()
        );
    }
    let actual = sha256_hex(&bytes);
    if actual != hex {
        bail!("{media_type}: content hashes to sha256:{actual}, descriptor says {digest}");
    }
    Ok(bytes)
}

/// Re-reads a layout with `oci-spec` and checks it holds `wasm` as `variant`.
pub(crate) fn verify(
    layout: &Path,
    variant: Variant,
    wasm: &[u8],
    facts: &ModuleFacts,
) -> Result<()> {
    let oci_layout = oci_spec::image::OciLayout::from_file(layout.join("oci-layout"))
        .map_err(|e| Error::msg(format!("oci-layout: {e}")))?;
    if oci_layout.image_layout_version() != "1.0.0" {
        bail!("imageLayoutVersion {}", oci_layout.image_layout_version());
    }
    let index = ImageIndex::from_file(layout.join("index.json"))
        .map_err(|e| Error::msg(format!("index.json: {e}")))?;
    let [entry] = index.manifests().as_slice() else {
        bail!(
            "index.json lists {} manifests (expected 1)",
            index.manifests().len()
        );
    };
    if entry.media_type().to_string() != OCI_MANIFEST {
        bail!("index entry media type {}", entry.media_type());
    }
    let manifest_bytes = read_blob(layout, entry.digest().as_ref(), entry.size(), OCI_MANIFEST)?;
    let manifest = ImageManifest::from_reader(manifest_bytes.as_slice())
        .map_err(|e| Error::msg(format!("manifest: {e}")))?;
    if manifest.schema_version() != 2 {
        bail!("manifest schemaVersion {}", manifest.schema_version());
    }
    let (config_type, layer_type) = match variant {
        Variant::Compat => (OCI_CONFIG, OCI_LAYER_GZIP),
        Variant::Oci => (WASM_CONFIG, WASM_LAYER),
    };
    let config = manifest.config();
    if config.media_type().to_string() != config_type {
        bail!(
            "config media type {} (expected {config_type})",
            config.media_type()
        );
    }
    let [layer] = manifest.layers().as_slice() else {
        bail!("{} layers (expected 1)", manifest.layers().len());
    };
    if layer.media_type().to_string() != layer_type {
        bail!(
            "layer media type {} (expected {layer_type})",
            layer.media_type()
        );
    }
    let annotation = manifest
        .annotations()
        .as_ref()
        .and_then(|a| a.get(VARIANT_ANNOTATION));
    if annotation.map(String::as_str) != Some(variant.name()) {
        bail!("manifest annotation {VARIANT_ANNOTATION} = {annotation:?}");
    }
    let config_bytes = read_blob(layout, config.digest().as_ref(), config.size(), config_type)?;
    let layer_bytes = read_blob(layout, layer.digest().as_ref(), layer.size(), layer_type)?;
    match variant {
        Variant::Compat => {
            let image_config = ImageConfiguration::from_reader(config_bytes.as_slice())
                .map_err(|e| Error::msg(format!("config: {e}")))?;
            let tar = gunzip(&layer_bytes)?;
            let diff_id = format!("sha256:{}", sha256_hex(&tar));
            if image_config.rootfs().diff_ids() != &vec![diff_id.clone()] {
                bail!(
                    "config diff_ids {:?} (the layer's uncompressed digest is {diff_id})",
                    image_config.rootfs().diff_ids()
                );
            }
            let mut archive = tar::Archive::new(tar.as_slice());
            let mut found = Vec::new();
            for entry in archive.entries().context("reading the layer's tar")? {
                let mut entry = entry.context("reading the layer's tar")?;
                let name = entry
                    .path()
                    .context("reading a tar path")?
                    .to_string_lossy()
                    .into_owned();
                let mut bytes = Vec::new();
                entry
                    .read_to_end(&mut bytes)
                    .context("reading plugin.wasm")?;
                found.push((name, bytes));
            }
            match found.as_slice() {
                [(name, bytes)] if name == "plugin.wasm" && bytes == wasm => {}
                _ => {
                    let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
                    bail!("the layer holds {names:?}, expected plugin.wasm with the module");
                }
            }
        }
        Variant::Oci => {
            let parsed: serde_json::Value =
                serde_json::from_slice(&config_bytes).context("the wasm config")?;
            let expected = json!({
                "type": "envoy_proxy",
                "abiVersions": facts.abi_versions,
                "rootIds": facts.root_ids,
            });
            if parsed != expected {
                bail!("wasm config {parsed} (expected {expected})");
            }
            if layer_bytes != wasm {
                bail!("the layer is not the module");
            }
        }
    }
    Ok(())
}

/// `cargo xtask package EXAMPLE`.
pub(crate) fn command(root: &Path, name: &str) -> Result<()> {
    let example = e2e::build_one(root, name)?;
    let out_dir = root.join("target").join("package");
    let images = package(root, example, &out_dir)?;
    let (wasm, facts) = module_of(root, example)?;
    for image in &images {
        verify(&image.layout, image.variant, &wasm, &facts)
            .context(format!("checking {}", image.layout.display()))?;
        println!(
            "{name} ({}): {} ({} bytes), layout {}, manifest {}",
            image.variant.name(),
            envoy::relative(root, &image.tarball),
            image.tarball_size,
            envoy::relative(root, &image.layout),
            image.manifest_digest
        );
    }
    println!(
        "push one with e.g.: skopeo copy oci-archive:{} docker://REGISTRY/{name}:v1",
        envoy::relative(root, &images[0].tarball)
    );
    Ok(())
}

/// The registry the gate pushes to.
const REGISTRY_PORT: u16 = 18990;

/// A `docker-registry` (Debian's build of the CNCF distribution registry) on
/// loopback, storing under `dir`; killed when dropped.
struct Registry {
    child: Child,
}

impl Registry {
    fn start(dir: &Path) -> Result<Registry> {
        if envoy::port_in_use(REGISTRY_PORT) {
            bail!("127.0.0.1:{REGISTRY_PORT} is already in use");
        }
        let storage = dir.join("storage");
        std::fs::create_dir_all(&storage).context(format!("creating {}", storage.display()))?;
        let config = dir.join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n\
                 http:\n  addr: 127.0.0.1:{REGISTRY_PORT}\n",
                storage.display()
            ),
        )
        .context(format!("writing {}", config.display()))?;
        let log = std::fs::File::create(dir.join("registry.log")).context("creating the log")?;
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().context("opening the log")?)
            .stderr(log)
            .spawn()
            .context("starting docker-registry")?;
        let registry = Registry { child };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = envoy::http_get(REGISTRY_PORT, "/v2/", &[], Duration::from_secs(1))
                && r.status == 200
            {
                return Ok(registry);
            }
            if Instant::now() > deadline {
                bail!("docker-registry did not answer GET /v2/ within 20 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Installs `docker-registry` and `skopeo` with apt-get when either is missing.
fn ensure_registry_tools() -> Result<()> {
    let have = |tool: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if have("docker-registry") && have("skopeo") {
        return Ok(());
    }
    step("installing docker-registry and skopeo (apt-get)");
    let install = |c: &mut Command| cmd::run_bounded(c, Duration::from_secs(600));
    let args = [
        "install",
        "-y",
        "--no-install-recommends",
        "docker-registry",
        "skopeo",
    ];
    if install(Command::new("apt-get").args(args)).is_err() {
        install(Command::new("apt-get").arg("update"))?;
        install(Command::new("apt-get").args(args))?;
    }
    Ok(())
}

fn skopeo(args: &[&str]) -> Result<String> {
    let out = cmd::output_bounded(Command::new("skopeo").args(args), Duration::from_secs(120))?;
    if !out.status.success() {
        bail!("`skopeo {}` failed: {}", args.join(" "), out.stderr.trim());
    }
    Ok(out.stdout)
}

/// Pushes the tarball to the registry, pulls it back into a new layout and checks
/// that the registry kept every digest (manifest, config, layer).
fn round_trip(root: &Path, image: &Image, name: &str, pulled: &Path) -> Result<()> {
    let reference = format!(
        "127.0.0.1:{REGISTRY_PORT}/proxywasm/{name}:{}",
        image.variant.name()
    );
    let archive = format!("oci-archive:{}", image.tarball.display());
    skopeo(&[
        "copy",
        "--quiet",
        "--preserve-digests",
        "--dest-tls-verify=false",
        &archive,
        &format!("docker://{reference}"),
    ])?;
    let raw = skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{reference}"),
    ])?;
    let served = format!("sha256:{}", sha256_hex(raw.as_bytes()));
    if served != image.manifest_digest {
        bail!(
            "the registry serves manifest {served}, pushed {}",
            image.manifest_digest
        );
    }
    if pulled.exists() {
        std::fs::remove_dir_all(pulled).context(format!("removing {}", pulled.display()))?;
    }
    std::fs::create_dir_all(pulled).context(format!("creating {}", pulled.display()))?;
    skopeo(&[
        "copy",
        "--quiet",
        "--preserve-digests",
        "--src-tls-verify=false",
        &format!("docker://{reference}"),
        &format!("oci:{}:{}", pulled.display(), image.variant.name()),
    ])?;
    let index = ImageIndex::from_file(pulled.join("index.json"))
        .map_err(|e| Error::msg(format!("pulled index.json: {e}")))?;
    let digests: Vec<String> = index
        .manifests()
        .iter()
        .map(|m| m.digest().to_string())
        .collect();
    if digests != [image.manifest_digest.clone()] {
        bail!(
            "pulled manifest(s) {digests:?}, pushed {}",
            image.manifest_digest
        );
    }
    for digest in &image.blob_digests {
        let hex = digest.trim_start_matches("sha256:");
        let path = pulled.join("blobs").join("sha256").join(hex);
        let bytes = std::fs::read(&path).context(format!(
            "the pulled image lacks {digest} ({})",
            envoy::relative(root, &path)
        ))?;
        if sha256_hex(&bytes) != hex {
            bail!("pulled blob {digest} has other content");
        }
    }
    Ok(())
}

/// The gate step: package every example (already built), verify each image with
/// `oci-spec`, and round-trip it through a local registry with skopeo.
pub(crate) fn gate_step(root: &Path) -> Tally {
    let mut tally = Tally::default();
    let out_dir = root.join("target").join("package");
    let mut images: Vec<(&'static str, Image)> = Vec::new();
    let examples = match example::all() {
        Ok(all) => all,
        Err(e) => {
            report("package", "the examples load", &Err(e));
            tally.add(false);
            return tally;
        }
    };
    for example in examples.iter().filter(|e| e.dir.starts_with("examples/")) {
        let prefix = format!("package {}", example.name);
        let written = package(root, example, &out_dir).and_then(|images| {
            let (wasm, facts) = module_of(root, example)?;
            for image in &images {
                verify(&image.layout, image.variant, &wasm, &facts)
                    .context(format!("{} variant", image.variant.name()))?;
            }
            Ok(images)
        });
        let sizes = match &written {
            Ok(images) => images
                .iter()
                .map(|i| format!("{} {} bytes", i.variant.name(), i.tarball_size))
                .collect::<Vec<_>>()
                .join(", "),
            Err(_) => String::new(),
        };
        let outcome =
            written.map(|w| images.extend(w.into_iter().map(|i| (example.name.as_str(), i))));
        report(
            &prefix,
            &format!("compat and oci images written and valid per oci-spec ({sizes})"),
            &outcome,
        );
        tally.add(outcome.is_ok());
    }
    let registry_dir = out_dir.join("registry");
    let _ = std::fs::remove_dir_all(&registry_dir);
    let registry = ensure_registry_tools().and_then(|()| Registry::start(&registry_dir));
    let registry = match registry {
        Ok(r) => r,
        Err(e) => {
            report(
                "package",
                "a local registry runs (docker-registry)",
                &Err(e),
            );
            tally.add(false);
            return tally;
        }
    };
    for (name, image) in &images {
        let pulled = registry_dir
            .join("pulled")
            .join(format!("{name}-{}", image.variant.name()));
        let outcome = round_trip(root, image, name, &pulled);
        report(
            &format!("package {name}"),
            &format!(
                "{} image: skopeo push to a local registry and pull back, every digest kept",
                image.variant.name()
            ),
            &outcome,
        );
        tally.add(outcome.is_ok());
    }
    drop(registry);
    tally
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn annotations_of(manifest: &ImageManifest) -> HashMap<String, String> {
        manifest.annotations().clone().unwrap_or_default()
    }

    fn facts() -> ModuleFacts {
        ModuleFacts {
            abi_versions: vec!["v0.2.1".into()],
            root_ids: vec!["demo".into()],
        }
    }

    #[test]
    fn root_ids_are_read_from_the_bootstrap_once_each() {
        let yaml = "a:\n  root_id: one\n  x: 1\n    root_id: \"two\"\n  root_id: one\n";
        assert_eq!(root_ids(yaml), ["one", "two"]);
    }

    #[test]
    fn abi_versions_come_from_the_exports() {
        let wasm = wat::parse_str(
            r#"(module (func (export "proxy_abi_version_0_2_1")) (func (export "other")))"#,
        )
        .unwrap();
        assert_eq!(abi_versions(&wasm).unwrap(), ["v0.2.1"]);
        let none = wat::parse_str("(module)").unwrap();
        assert!(abi_versions(&none).is_err());
    }

    #[test]
    fn both_variants_are_written_reproducibly_and_verify() {
        let dir = std::env::temp_dir().join(format!("xtask-package-{}", std::process::id()));
        let wasm = b"\0asm\x01\0\0\0 stand-in module bytes".to_vec();
        for variant in Variant::ALL {
            let a = write_image(&dir, "demo", variant, &wasm, &facts()).unwrap();
            verify(&a.layout, variant, &wasm, &facts()).unwrap();
            let first = std::fs::read(&a.tarball).unwrap();
            let b = write_image(&dir, "demo", variant, &wasm, &facts()).unwrap();
            assert_eq!(std::fs::read(&b.tarball).unwrap(), first);
            assert_eq!(a.manifest_digest, b.manifest_digest);
            let index = ImageIndex::from_file(a.layout.join("index.json")).unwrap();
            let hex = index.manifests()[0].digest().to_string();
            let manifest = ImageManifest::from_file(
                a.layout
                    .join("blobs/sha256")
                    .join(hex.trim_start_matches("sha256:")),
            )
            .unwrap();
            assert_eq!(
                annotations_of(&manifest)[VARIANT_ANNOTATION],
                variant.name()
            );
            // Other module bytes must not verify against this image.
            assert!(verify(&a.layout, variant, b"\0asm other", &facts()).is_err());
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_corrupted_blob_is_caught() {
        let dir = std::env::temp_dir().join(format!("xtask-package-bad-{}", std::process::id()));
        let wasm = b"\0asm\x01\0\0\0".to_vec();
        let image = write_image(&dir, "demo", Variant::Oci, &wasm, &facts()).unwrap();
        let layer = image.blob_digests[1]
            .trim_start_matches("sha256:")
            .to_string();
        let path = image.layout.join("blobs/sha256").join(layer);
        std::fs::write(&path, b"\0asm\x01\0\0\x01").unwrap();
        let e = verify(&image.layout, Variant::Oci, &wasm, &facts()).unwrap_err();
        assert!(e.to_string().contains("hashes to"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
