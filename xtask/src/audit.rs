//! `cargo xtask audit`: every package of every tracked `Cargo.lock` against a checked-in
//! snapshot of the RustSec advisory database.
//!
//! The gate has no network access to the advisory database's git repository, so the
//! advisories that matter are kept in `xtask/advisories.toml`: every advisory (security,
//! unsound, unmaintained) of every crate in our lock files, with its affected and
//! patched version ranges, plus the names of all crates that had any advisory when the
//! snapshot was taken. A locked package is reported when an advisory of its crate is not
//! withdrawn and its version is neither patched nor unaffected. A crate added later
//! that has advisories in the database but none in the snapshot fails the audit with
//! "refresh the snapshot"; a crate with no advisory at all passes.
//!
//! Acknowledged advisories are listed once, in `.cargo/audit.toml`
//! (`[advisories] ignore = [...]`, the file `cargo audit` reads too); each is printed
//! as acknowledged, never silently dropped. The book explains the one acknowledged
//! today (book: releasing.md#advisories).
//!
//! `cargo xtask audit --refresh DIR` rewrites the snapshot from a checkout of the
//! advisory database (`git clone https://github.com/rustsec/advisory-db DIR`).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::cmd;
use crate::e2e::{Tally, report};
use crate::error::{self, Context, Error, Result};

const SNAPSHOT: &str = "xtask/advisories.toml";
const ACKS: &str = ".cargo/audit.toml";

/// `xtask/advisories.toml`.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct Snapshot {
    /// Where and when the snapshot was taken (commit of the advisory database).
    pub(crate) source: String,
    /// Every crate name with at least one advisory in the database at that commit.
    pub(crate) advised_crates: Vec<String>,
    /// The advisories of the crates in our lock files.
    #[serde(default, rename = "advisory")]
    pub(crate) advisories: Vec<Advisory>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct Advisory {
    pub(crate) id: String,
    pub(crate) package: String,
    pub(crate) date: String,
    pub(crate) title: String,
    /// `unmaintained`, `unsound`, `notice`, or empty for a vulnerability.
    #[serde(default)]
    pub(crate) informational: String,
    #[serde(default)]
    pub(crate) withdrawn: bool,
    #[serde(default)]
    pub(crate) patched: Vec<String>,
    #[serde(default)]
    pub(crate) unaffected: Vec<String>,
}

impl Advisory {
    /// True when `version` is affected (not patched, not unaffected).
    pub(crate) fn affects(&self, version: &semver::Version) -> Result<bool> {
        if self.withdrawn {
            return Ok(false);
        }
        for range in self.patched.iter().chain(&self.unaffected) {
            let req = semver::VersionReq::parse(range)
                .map_err(|e| Error::msg(format!("{}: range `{range}`: {e}", self.id)))?;
            if req.matches(version) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn kind(&self) -> &str {
        if self.informational.is_empty() {
            "vulnerability"
        } else {
            &self.informational
        }
    }
}

#[derive(Debug, Deserialize)]
struct LockFile {
    #[serde(default)]
    package: Vec<LockedPackage>,
}

#[derive(Debug, Deserialize)]
struct LockedPackage {
    name: String,
    version: String,
    /// Absent for path (workspace) packages.
    source: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Acks {
    #[serde(default)]
    advisories: AckList,
}

#[derive(Debug, Default, Deserialize)]
struct AckList {
    #[serde(default)]
    ignore: Vec<String>,
}

/// A finding: an advisory affecting a locked package.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Finding {
    pub(crate) lock: String,
    pub(crate) package: String,
    pub(crate) version: String,
    pub(crate) advisory: Advisory,
}

/// The registry packages of a lock file, as (name, version).
fn locked(text: &str) -> Result<Vec<(String, String)>> {
    let lock: LockFile = toml::from_str(text).map_err(|e| Error::msg(e.to_string()))?;
    Ok(lock
        .package
        .into_iter()
        .filter(|p| p.source.is_some())
        .map(|p| (p.name, p.version))
        .collect())
}

/// The findings for one lock file, and the crates the snapshot does not cover.
pub(crate) fn audit_lock(
    lock_name: &str,
    lock_text: &str,
    snapshot: &Snapshot,
) -> Result<(Vec<Finding>, Vec<String>)> {
    let mut findings = Vec::new();
    let mut uncovered = Vec::new();
    for (name, version) in locked(lock_text)? {
        let v = semver::Version::parse(&version)
            .map_err(|e| Error::msg(format!("{lock_name}: {name} {version}: {e}")))?;
        let advisories: Vec<&Advisory> = snapshot
            .advisories
            .iter()
            .filter(|a| a.package == name)
            .collect();
        if advisories.is_empty() && snapshot.advised_crates.contains(&name) {
            uncovered.push(format!("{name} {version}"));
        }
        for advisory in advisories {
            if advisory.affects(&v)? {
                findings.push(Finding {
                    lock: lock_name.to_string(),
                    package: name.clone(),
                    version: version.clone(),
                    advisory: advisory.clone(),
                });
            }
        }
    }
    Ok((findings, uncovered))
}

fn tracked_lock_files(root: &Path) -> Result<Vec<String>> {
    cmd::git_ls_files(root, &["Cargo.lock", "*/Cargo.lock"])
}

fn load_snapshot(root: &Path) -> Result<Snapshot> {
    let text =
        std::fs::read_to_string(root.join(SNAPSHOT)).context(format!("reading {SNAPSHOT}"))?;
    toml::from_str(&text).map_err(|e| Error::msg(format!("{SNAPSHOT}: {e}")))
}

fn load_acks(root: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(root.join(ACKS)).context(format!("reading {ACKS}"))?;
    let acks: Acks = toml::from_str(&text).map_err(|e| Error::msg(format!("{ACKS}: {e}")))?;
    Ok(acks.advisories.ignore)
}

/// The audit as checks: one per lock file, plus one that every acknowledgement is
/// still needed.
pub(crate) fn run(root: &Path) -> Tally {
    let mut tally = Tally::default();
    let setup = load_snapshot(root).and_then(|s| {
        let acks = load_acks(root)?;
        let locks = tracked_lock_files(root)?;
        Ok((s, acks, locks))
    });
    let (snapshot, acks, locks) = match setup {
        Ok(s) => s,
        Err(e) => {
            report(
                "audit",
                "snapshot, acknowledgements and lock files load",
                &Err(e),
            );
            tally.add(false);
            return tally;
        }
    };
    println!("    advisory snapshot: {}", snapshot.source);
    let mut used_acks: Vec<String> = Vec::new();
    for lock in &locks {
        let outcome = std::fs::read_to_string(root.join(lock))
            .context(format!("reading {lock}"))
            .and_then(|text| audit_lock(lock, &text, &snapshot))
            .and_then(|(findings, uncovered)| {
                let mut problems = Vec::new();
                for f in findings {
                    let line = format!(
                        "{} {}: {} ({}, {}): {}",
                        f.package,
                        f.version,
                        f.advisory.id,
                        f.advisory.kind(),
                        f.advisory.date,
                        f.advisory.title.trim()
                    );
                    if acks.contains(&f.advisory.id) {
                        println!("    acknowledged in {ACKS}: {line}");
                        used_acks.push(f.advisory.id.clone());
                    } else {
                        problems.push(line);
                    }
                }
                for u in uncovered {
                    problems.push(format!(
                        "{u}: the crate has advisories in the database but none in {SNAPSHOT}: \
                         refresh it (`cargo xtask audit --refresh DIR`)"
                    ));
                }
                error::none_of(&problems, "finding(s)")
            });
        report(
            "audit",
            &format!("{lock}: no unacknowledged advisory"),
            &outcome,
        );
        tally.add(outcome.is_ok());
    }
    let stale: Vec<&String> = acks.iter().filter(|a| !used_acks.contains(a)).collect();
    let outcome = if stale.is_empty() {
        Ok(())
    } else {
        Err(Error::msg(format!(
            "{stale:?} no longer match(es) a locked package: remove from {ACKS}"
        )))
    };
    report(
        "audit",
        &format!("every acknowledgement in {ACKS} is still needed"),
        &outcome,
    );
    tally.add(outcome.is_ok());
    tally
}

/// Reads one advisory file of the database: the TOML front matter in a ```toml
/// block, then `# title`.
fn parse_advisory_file(text: &str) -> Result<Advisory> {
    let start = text
        .find("```toml")
        .ok_or_else(|| Error::msg("no ```toml block"))?
        + "```toml".len();
    let len = text[start..]
        .find("```")
        .ok_or_else(|| Error::msg("unclosed ```toml block"))?;
    let front: toml::Table =
        toml::from_str(&text[start..start + len]).map_err(|e| Error::msg(e.to_string()))?;
    let title = text[start + len..]
        .lines()
        .find_map(|l| l.strip_prefix("# "))
        .unwrap_or("")
        .trim()
        .to_string();
    let empty = toml::Table::new();
    let advisory = front
        .get("advisory")
        .and_then(|a| a.as_table())
        .ok_or_else(|| Error::msg("no [advisory]"))?;
    let versions = front
        .get("versions")
        .and_then(|v| v.as_table())
        .unwrap_or(&empty);
    let text_of = |t: &toml::Table, k: &str| {
        t.get(k).map_or(String::new(), |v| match v {
            toml::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    };
    let list = |k: &str| -> Vec<String> {
        versions
            .get(k)
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok(Advisory {
        id: text_of(advisory, "id"),
        package: text_of(advisory, "package"),
        date: text_of(advisory, "date"),
        title,
        informational: text_of(advisory, "informational"),
        withdrawn: advisory.contains_key("withdrawn"),
        patched: list("patched"),
        unaffected: list("unaffected"),
    })
}

/// `cargo xtask audit --refresh DIR`: rewrites the snapshot from a database checkout.
pub(crate) fn refresh(root: &Path, db: &Path) -> Result<()> {
    let mut names: Vec<String> = Vec::new();
    for lock in tracked_lock_files(root)? {
        let text = std::fs::read_to_string(root.join(&lock)).context(format!("reading {lock}"))?;
        names.extend(locked(&text)?.into_iter().map(|(n, _)| n));
    }
    let crates_dir = db.join("crates");
    let mut advised: Vec<String> = Vec::new();
    let mut advisories: BTreeMap<String, Advisory> = BTreeMap::new();
    for entry in
        std::fs::read_dir(&crates_dir).context(format!("reading {}", crates_dir.display()))?
    {
        let entry = entry.context("listing the database")?;
        let name = entry.file_name().to_string_lossy().into_owned();
        advised.push(name.clone());
        if !names.contains(&name) {
            continue;
        }
        for file in std::fs::read_dir(entry.path()).context(format!("reading {name}"))? {
            let path = file.context("listing advisories")?.path();
            let text =
                std::fs::read_to_string(&path).context(format!("reading {}", path.display()))?;
            let advisory =
                parse_advisory_file(&text).context(format!("parsing {}", path.display()))?;
            advisories.insert(advisory.id.clone(), advisory);
        }
    }
    advised.sort();
    let commit = Command::new("git")
        .args(["log", "-1", "--format=%H (%cs)"])
        .current_dir(db)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let snapshot = Snapshot {
        source: format!("rustsec/advisory-db {commit}"),
        advised_crates: advised,
        advisories: advisories.into_values().collect(),
    };
    let body = toml::to_string(&snapshot).map_err(|e| Error::msg(e.to_string()))?;
    let header = "# RustSec advisories of the crates in this repository's Cargo.lock files, and the\n\
                  # names of every crate with an advisory: the snapshot `cargo xtask audit` checks\n\
                  # against (the gate cannot reach the database). Regenerate, do not edit:\n\
                  #   git clone https://github.com/rustsec/advisory-db /tmp/advisory-db\n\
                  #   cargo xtask audit --refresh /tmp/advisory-db\n\n";
    std::fs::write(root.join(SNAPSHOT), format!("{header}{body}"))
        .context(format!("writing {SNAPSHOT}"))?;
    println!(
        "{SNAPSHOT}: {} advisories of locked crates, {} advised crates ({})",
        snapshot.advisories.len(),
        snapshot.advised_crates.len(),
        snapshot.source
    );
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn advisory(id: &str, package: &str, patched: &[&str], unaffected: &[&str]) -> Advisory {
        Advisory {
            id: id.into(),
            package: package.into(),
            date: "2022-05-11".into(),
            title: "t".into(),
            informational: String::new(),
            withdrawn: false,
            patched: patched.iter().map(|s| (*s).to_string()).collect(),
            unaffected: unaffected.iter().map(|s| (*s).to_string()).collect(),
        }
    }

    #[test]
    fn version_ranges_decide_who_is_affected() {
        let a = advisory(
            "X-1",
            "smallvec",
            &[">= 0.6.14, < 1.0.0", ">= 1.6.1"],
            &["< 0.6.3"],
        );
        let v = |s: &str| semver::Version::parse(s).unwrap();
        assert!(a.affects(&v("1.6.0")).unwrap());
        assert!(a.affects(&v("0.6.13")).unwrap());
        assert!(!a.affects(&v("1.16.5")).unwrap());
        assert!(!a.affects(&v("0.6.14")).unwrap());
        assert!(!a.affects(&v("0.6.2")).unwrap());
        let unmaintained = advisory("X-2", "wee_alloc", &[], &[]);
        assert!(unmaintained.affects(&v("0.4.5")).unwrap());
        let withdrawn = Advisory {
            withdrawn: true,
            ..unmaintained
        };
        assert!(!withdrawn.affects(&v("0.4.5")).unwrap());
    }

    #[test]
    fn a_lock_file_is_matched_and_new_advised_crates_are_flagged() {
        let lock = r#"
version = 4
[[package]]
name = "proxywasm"
version = "0.1.0"
[[package]]
name = "wee_alloc"
version = "0.4.5"
source = "registry+https://github.com/rust-lang/crates.io-index"
[[package]]
name = "tar"
version = "0.4.46"
source = "registry+https://github.com/rust-lang/crates.io-index"
[[package]]
name = "atty"
version = "0.2.14"
source = "registry+https://github.com/rust-lang/crates.io-index"
[[package]]
name = "quiet"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
"#;
        let snapshot = Snapshot {
            source: "test".into(),
            advised_crates: vec!["atty".into(), "tar".into(), "wee_alloc".into()],
            advisories: vec![
                advisory("RUSTSEC-2022-0054", "wee_alloc", &[], &[]),
                advisory("RUSTSEC-2026-0067", "tar", &[">= 0.4.45"], &[]),
            ],
        };
        let (findings, uncovered) = audit_lock("Cargo.lock", lock, &snapshot).unwrap();
        let ids: Vec<&str> = findings.iter().map(|f| f.advisory.id.as_str()).collect();
        assert_eq!(ids, ["RUSTSEC-2022-0054"]);
        assert_eq!(uncovered, ["atty 0.2.14"]);
    }

    #[test]
    fn advisory_files_are_parsed() {
        let text = "```toml\n[advisory]\nid = \"RUSTSEC-2022-0054\"\npackage = \"wee_alloc\"\n\
                    date = 2022-05-11\ninformational = \"unmaintained\"\n\n[versions]\npatched = []\n\
                    unaffected = [\"< 0.1\"]\n```\n\n# wee_alloc is Unmaintained\n\nBody.\n";
        let a = parse_advisory_file(text).unwrap();
        assert_eq!(a.id, "RUSTSEC-2022-0054");
        assert_eq!(a.date, "2022-05-11");
        assert_eq!(a.title, "wee_alloc is Unmaintained");
        assert_eq!(a.informational, "unmaintained");
        assert_eq!(a.unaffected, ["< 0.1"]);
        assert!(!a.withdrawn);
    }

    #[test]
    fn the_checked_in_snapshot_and_acks_load() {
        let root = crate::cmd::repo_root();
        let snapshot = load_snapshot(&root).unwrap();
        assert!(
            snapshot
                .advisories
                .iter()
                .any(|a| a.id == "RUSTSEC-2022-0054")
        );
        assert_eq!(load_acks(&root).unwrap(), ["RUSTSEC-2022-0054"]);
    }
}
