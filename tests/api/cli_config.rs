//! The command line and the configuration cannot silently mislead: a mistyped key, a broken file
//! or a user's mistake stops the command with one line naming it (never a backtrace, whatever
//! RUST_BACKTRACE says), and the shipped defaults are part of the binary, so `finepay` runs from
//! any directory.

use crate::cli::stdout;
use crate::helpers::TestDb;
use std::path::Path;
use std::process::{Command, Output};

/// `finepay args…` in `dir`, against `db`, with no configuration but the built-in defaults and
/// `env`, and backtraces asked for (a mistake must still print one line).
fn finepay_in(dir: &Path, db: &TestDb, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_finepay"));
    command.current_dir(dir).args(args).env_remove("FINEPAY_CONFIG").env("RUST_BACKTRACE", "full");
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(|n| n.starts_with("FINEPAY__")) {
            command.env_remove(name);
        }
    }
    command.env("FINEPAY__DATABASE__URL", db.url()).envs(env.iter().copied());
    command.output().expect("finepay runs")
}

/// The one line a refused command printed on standard error.
fn one_line_error(output: &Output) -> String {
    assert_eq!(output.status.code(), Some(1), "exits 1: {output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line, no backtrace: {stderr}");
    assert!(!stderr.contains("backtrace") && !stderr.contains("panicked"), "{stderr}");
    lines[0].to_owned()
}

#[test]
fn finepay_runs_from_any_directory_with_or_without_a_config_file() {
    let db = TestDb::new();
    let elsewhere = tempfile::tempdir().expect("a directory without config/");
    let listed = finepay_in(elsewhere.path(), &db, &[], &["credentials", "list"]);
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    assert!(stdout(&listed).starts_with("ID"), "{}", stdout(&listed));
    assert!(stdout(&listed).lines().next().is_some_and(|h| h.contains("CREATED (+08:00)")), "{}", stdout(&listed));

    let file = elsewhere.path().join("site.toml");
    std::fs::write(&file, "[server]\nworkers = 2\n[lookup]\nattempts_per_address = 20\n").expect("config file");
    let with_file = finepay_in(elsewhere.path(), &db, &[], &["--config", "site.toml", "credentials", "list"]);
    assert!(with_file.status.success(), "{}", String::from_utf8_lossy(&with_file.stderr));
    let through_env = finepay_in(elsewhere.path(), &db, &[("FINEPAY_CONFIG", "site.toml")], &["jobs", "status"]);
    assert!(through_env.status.success(), "{}", String::from_utf8_lossy(&through_env.stderr));
    std::fs::rename(&file, elsewhere.path().join("site")).expect("a name without .toml");
    let no_extension = finepay_in(elsewhere.path(), &db, &[], &["--config", "site", "credentials", "list"]);
    assert!(no_extension.status.success(), "{}", String::from_utf8_lossy(&no_extension.stderr));

    // The shipped files, copied here and edited, as an older finepay read them: not read now, and
    // said so.
    std::fs::create_dir(elsewhere.path().join("config")).expect("config/");
    std::fs::write(elsewhere.path().join("config/violations.toml"), "# edited\n").expect("an edited catalogue");
    let warned = finepay_in(elsewhere.path(), &db, &[], &["credentials", "list"]);
    assert!(warned.status.success());
    let stderr = String::from_utf8_lossy(&warned.stderr);
    assert!(stderr.contains("config/violations.toml here differs from the built-in catalogue"), "{stderr}");
}

#[test]
fn an_unknown_key_stops_the_start_and_names_the_key_and_where_it_came_from() {
    let db = TestDb::new();
    let dir = tempfile::tempdir().expect("dir");
    let from_env =
        one_line_error(&finepay_in(dir.path(), &db, &[("FINEPAY__SERVER__LISEN", "0.0.0.0:80")], &["migrate"]));
    assert!(from_env.contains("server.lisen") && from_env.contains("FINEPAY__SERVER__LISEN"), "{from_env}");

    let file = dir.path().join("typo.toml");
    std::fs::write(&file, "[databse]\nurl = \"sqlite://elsewhere.db\"\n").expect("config file");
    let from_file = one_line_error(&finepay_in(dir.path(), &db, &[], &["--config", "typo.toml", "migrate"]));
    assert!(from_file.contains("databse") && from_file.contains("typo.toml"), "{from_file}");

    std::fs::write(&file, "[[districts]]\ncode = \"110105\"\nname = \"朝阳区\"\nnmae = \"x\"\n").expect("config file");
    let nested = one_line_error(&finepay_in(dir.path(), &db, &[], &["--config", "typo.toml", "migrate"]));
    assert!(nested.contains("nmae") && nested.contains("typo.toml"), "{nested}");

    std::fs::write(&file, "[channels.wechat]\napiv3key = \"x\"\n").expect("config file");
    let in_a_channel = one_line_error(&finepay_in(dir.path(), &db, &[], &["--config", "typo.toml", "migrate"]));
    assert!(in_a_channel.contains("channels.wechat.apiv3key") && in_a_channel.contains("typo.toml"), "{in_a_channel}");
    let env = [("FINEPAY__CHANNELS__ALIPAY__APPID", "2021")];
    let channel_env = one_line_error(&finepay_in(dir.path(), &db, &env, &["migrate"]));
    assert!(
        channel_env.contains("channels.alipay.appid") && channel_env.contains("FINEPAY__CHANNELS__ALIPAY__APPID"),
        "{channel_env}"
    );

    std::fs::write(&file, "[server\nlisten = \n").expect("config file");
    let broken = one_line_error(&finepay_in(dir.path(), &db, &[], &["--config", "typo.toml", "migrate"]));
    assert!(broken.contains("typo.toml") && broken.contains("TOML"), "{broken}");

    let missing = one_line_error(&finepay_in(dir.path(), &db, &[], &["--config", "absent.toml", "migrate"]));
    assert!(missing.contains("absent.toml"), "{missing}");
}

#[test]
fn a_users_mistake_is_one_clear_line() {
    let db = TestDb::new();
    let dir = tempfile::tempdir().expect("dir");
    let add = ["credentials", "add", "--role", "officer", "--officer", "7", "--device", "d1", "--district", "999999"];
    let district = one_line_error(&finepay_in(dir.path(), &db, &[], &add));
    assert!(
        district.contains("999999") && district.contains("110105"),
        "names the district and the known ones: {district}"
    );
    let revoke = one_line_error(&finepay_in(dir.path(), &db, &[], &["credentials", "revoke", "no-such-id"]));
    assert!(revoke.contains("no-such-id"), "{revoke}");
    let bad_value = one_line_error(&finepay_in(dir.path(), &db, &[("FINEPAY__QR__VALIDITY", "forever")], &["migrate"]));
    assert!(bad_value.contains("qr.validity"), "{bad_value}");
    let statement =
        one_line_error(&finepay_in(dir.path(), &db, &[], &["bank", "import", "absent.csv", "--bank", "ICBC"]));
    assert!(statement.contains("absent.csv"), "{statement}");
}
