//! The docs cannot drift: the walk-through's shell blocks run, in order, in one bash shell, against
//! a fresh server started by the walk-through itself; the README's tour is made of blocks of the
//! walk-through; every relative link in the README and docs/ resolves.
//!
//! What the test changes, and why: the set-up block (`sh setup`: build and put `finepay` on PATH)
//! is not run — the test puts the binary it was built with on PATH instead; the server and the
//! simulator listen on free ports rather than 8080 and 8081 (the text's addresses are rewritten),
//! on this test's own database; and the scheduled expire job is off, so that the walk-through's
//! own `finepay jobs run expire` never meets the daemon's run of the same minute.

use crate::helpers::TestDb;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The bodies of the blocks fenced with exactly ```` ```sh ````, in order.
fn shell_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

#[test]
fn the_walkthrough_runs_as_written() {
    let text = std::fs::read_to_string(repo().join("docs/walkthrough.md")).expect("docs/walkthrough.md");
    let blocks = shell_blocks(&text);
    assert!(blocks.len() > 10, "the walk-through's blocks are found: {}", blocks.len());
    let (port, sim_port) = (free_port(), free_port());
    let script = format!(
        "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n{}",
        blocks
            .join("\n")
            .replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"))
            .replace("127.0.0.1:8081", &format!("127.0.0.1:{sim_port}"))
    );
    let dir = tempfile::tempdir().expect("a working directory");
    std::os::unix::fs::symlink(repo().join("docs"), dir.path().join("docs")).expect("docs/ beside it");
    let db = TestDb::new();
    let binary = Path::new(env!("CARGO_BIN_EXE_finepay"));
    let path =
        format!("{}:{}", binary.parent().expect("its folder").display(), std::env::var("PATH").unwrap_or_default());
    let mut command = Command::new("bash");
    command.arg("-c").arg(&script).current_dir(dir.path()).env("PATH", path).env_remove("FINEPAY_CONFIG");
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(|n| n.starts_with("FINEPAY__")) {
            command.env_remove(name);
        }
    }
    command
        .env("FINEPAY__DATABASE__URL", db.url())
        .env("FINEPAY__SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .env("FINEPAY__SERVER__PUBLIC_BASE_URL", format!("http://127.0.0.1:{port}"))
        .env("FINEPAY__SIMULATOR__LISTEN", format!("127.0.0.1:{sim_port}"))
        .env("FINEPAY__JOBS__EXPIRE", "");
    let output = command.output().expect("bash runs");
    let log = std::fs::read_to_string(dir.path().join("finepay.log")).unwrap_or_default();
    assert!(
        output.status.success(),
        "the walk-through stopped ({:?}).\n--- stdout\n{}\n--- stderr\n{}\n--- finepay.log (last lines)\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        log.lines().rev().take(30).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n")
    );
    let out = String::from_utf8_lossy(&output.stdout);
    for expected in [
        "awaiting_payment 20000 fen",
        "\n200\n",
        "P   N   G",
        "qr_active=True",
        "\nredirect\n",
        "paid: 20000 fen by alipay, receipt ",
        "already_paid",
        "alipay: alipay applied",
        "\nvoid\n",
        "payable_at_bank: 20000 fen due",
        "\nsettled\n",
        "settled (yuan)              200.00",
        "repeated (imported before)  2",
        "\"fines_handed_over\":0",
        "LAST START (+08:00)",
        "issued 4, paid online 1, at banks 2",
        "\nunmatched\n",
        "\nfine.paid\n",
    ] {
        assert!(out.contains(expected), "the walk-through printed {expected:?}:\n{out}");
    }
}

#[test]
fn the_readme_tour_is_made_of_walkthrough_blocks() {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let walkthrough = std::fs::read_to_string(repo().join("docs/walkthrough.md")).expect("walk-through");
    let runs = shell_blocks(&walkthrough);
    let tour = readme.split("## A five-minute tour").nth(1).expect("the README has its tour");
    let tour = tour.split("\n## ").next().unwrap_or_default();
    let blocks = shell_blocks(tour);
    assert!(!blocks.is_empty(), "the tour shows commands");
    for block in blocks {
        assert!(runs.contains(&block), "a tour block the walk-through does not run:\n{block}");
    }
    assert!(readme.lines().count() <= 200, "the README stays short");
}

#[test]
fn every_relative_link_in_the_docs_resolves() {
    let mut files = vec![repo().join("README.md")];
    files.extend(std::fs::read_dir(repo().join("docs")).expect("docs/").flatten().map(|e| e.path()));
    let mut broken = Vec::new();
    for file in files.iter().filter(|f| f.extension().is_some_and(|e| e == "md")) {
        let text = std::fs::read_to_string(file).expect("readable");
        for target in text.split("](").skip(1).filter_map(|rest| rest.split_once(')')).map(|(t, _)| t) {
            let target = target.split('#').next().unwrap_or_default();
            if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let folder = file.parent().expect("a folder");
            if !folder.join(target).exists() {
                broken.push(format!("{}: {target}", file.display()));
            }
        }
        assert!(
            !text.contains("../shared") && !text.contains("shared/design"),
            "{} points outside the repository",
            file.display()
        );
    }
    assert!(broken.is_empty(), "links to nothing: {broken:?}");
}
