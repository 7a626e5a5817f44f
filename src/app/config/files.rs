//! Files the configuration names: key files, certificates, the violation catalogue. A name that
//! starts with `builtin:` is one of the files shipped in the source's `config/` folder and compiled
//! into finepay (`builtin:violations.toml`, `builtin:simulator/wechat_merchant.key.pem`), so the
//! shipped configuration works from any directory; any other name is a path.

const BUILTIN: &str = "builtin:";

/// The violation catalogue shipped with finepay.
const VIOLATIONS: &str = include_str!("../../../config/violations.toml");

/// The text of the file `name`, or why it cannot be read (naming it).
pub(super) fn read_text(name: &str) -> Result<String, String> {
    match name.strip_prefix(BUILTIN) {
        Some(builtin) => builtin_file(builtin).map(str::to_owned).ok_or_else(|| {
            format!("{name}: no such built-in file (there are builtin:violations.toml and builtin:simulator/<file>)")
        }),
        None => std::fs::read_to_string(name).map_err(|e| format!("{name}: {e}")),
    }
}

/// Warns of the shipped files copied into the working directory and edited there: before the
/// defaults were compiled in, `config/default.toml` and `config/violations.toml` were read from
/// the working directory, and an operator may have changed them in place. Neither is read now;
/// `catalogue_in_use` is the catalogue the settings name.
pub fn warn_of_copies_not_read(catalogue_in_use: &str) {
    let differs = |path: &str, shipped: &str| std::fs::read_to_string(path).is_ok_and(|text| text != shipped);
    if differs("config/default.toml", super::sources::DEFAULTS) {
        log::warn!(
            "config/default.toml here differs from the built-in defaults and is not read: put your changes in a file given with --config or FINEPAY_CONFIG"
        );
    }
    if catalogue_in_use == "builtin:violations.toml" && differs("config/violations.toml", VIOLATIONS) {
        log::warn!(
            "config/violations.toml here differs from the built-in catalogue and is not read: name it in catalogue.violations to use it"
        );
    }
}

/// `folder` joined with `file`, for a folder that may itself be built in.
pub(super) fn join(folder: &str, file: &str) -> String {
    format!("{}/{file}", folder.trim_end_matches('/'))
}

fn builtin_file(name: &str) -> Option<&'static str> {
    match name {
        "violations.toml" => Some(VIOLATIONS),
        _ => crate::channels::sim::builtin_file(name.strip_prefix("simulator/")?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_files_are_found_by_name_and_others_on_disk() {
        assert!(read_text("builtin:violations.toml").expect("catalogue").contains("[[violation]]"));
        let key = read_text(&join("builtin:simulator/", "wechat_platform.key.pem")).expect("key");
        assert!(key.contains("-----BEGIN"));
        let missing = read_text("builtin:simulator/none.pem").expect_err("unknown built-in file");
        assert!(missing.contains("builtin:simulator/none.pem"), "{missing}");
        let on_disk = read_text("no/such/file.toml").expect_err("missing file");
        assert!(on_disk.starts_with("no/such/file.toml: "), "{on_disk}");
    }
}
