//! Where settings come from, in layers: the defaults compiled into finepay (`config/default.toml`
//! of its source), then a file (`--config FILE` or `FINEPAY_CONFIG`), then `FINEPAY__<SECTION>__<KEY>`
//! environment variables, then overrides given in code (tests and benchmarks). A key that no
//! setting reads is refused with its name and the layer it came from, so a typo (`[databse]`,
//! `FINEPAY__SERVER__LISEN`) stops the start instead of being silently ignored.

use super::ConfigError;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

/// The shipped defaults, compiled in: finepay runs from any directory.
pub(super) const DEFAULTS: &str = include_str!("../../../config/default.toml");

/// Environment variables read as settings start with this and separate the key's parts by `__`.
const ENV_PREFIX: &str = "FINEPAY__";

/// The layers, ready to be read.
pub(super) struct Sources<'a> {
    file: Option<(PathBuf, toml::Table)>,
    overrides: &'a [(&'a str, &'a str)],
}

impl<'a> Sources<'a> {
    /// Reads `file` (or the one `FINEPAY_CONFIG` names), refusing one that is missing or not TOML.
    pub(super) fn new(file: Option<&Path>, overrides: &'a [(&'a str, &'a str)]) -> Result<Sources<'a>, ConfigError> {
        let named = file.map(Path::to_path_buf).or_else(|| std::env::var_os("FINEPAY_CONFIG").map(PathBuf::from));
        let file = match named {
            None => None,
            Some(path) => {
                let text = std::fs::read_to_string(&path)
                    .map_err(|source| ConfigError::File { path: path.clone(), source })?;
                let table = text.parse::<toml::Table>().map_err(|e| toml_error(&path, &text, &e))?;
                Some((path, table))
            }
        };
        Ok(Sources { file, overrides })
    }

    /// The layers merged and read into `T`; any key `T` has no place for is an error.
    pub(super) fn read<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        let mut builder = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml).required(true));
        if let Some((path, _)) = &self.file {
            builder =
                builder.add_source(config::File::from(path.as_path()).format(config::FileFormat::Toml).required(true));
        }
        builder =
            builder.add_source(config::Environment::with_prefix("FINEPAY").prefix_separator("__").separator("__"));
        for (key, value) in self.overrides {
            builder = builder.set_override(*key, *value)?;
        }
        let merged = builder.build()?;
        let mut unknown = Vec::new();
        // serde_ignored writes a step through an Option as `?` (`channels.wechat.?.apiv3key`).
        let value: T = serde_ignored::deserialize(merged, |path| {
            unknown.push(path.to_string().split('.').filter(|part| *part != "?").collect::<Vec<_>>().join("."))
        })?;
        match unknown.into_iter().next() {
            Some(key) => Err(ConfigError::UnknownKey { origin: self.origin_of(&key), key }),
            None => Ok(value),
        }
    }

    /// Which layer set `key` (dotted, as serde_ignored names it).
    fn origin_of(&self, key: &str) -> String {
        let parts: Vec<&str> = key.split('.').collect();
        if self.overrides.iter().any(|(k, _)| k.eq_ignore_ascii_case(key)) {
            return "given as an override".into();
        }
        let variable = format!("{ENV_PREFIX}{}", parts.join("__").to_ascii_uppercase());
        if std::env::vars_os().any(|(name, _)| name.to_string_lossy().eq_ignore_ascii_case(&variable)) {
            return format!("from the environment variable {variable}");
        }
        if let Some((path, table)) = &self.file
            && holds(table, &parts)
        {
            return format!("in {}", path.display());
        }
        "in the built-in defaults".into()
    }
}

/// Where in `text` the TOML error `error` is, as a person counts lines and columns.
fn toml_error(path: &Path, text: &str, error: &toml::de::Error) -> ConfigError {
    let at = error.span().map_or(0, |span| span.start).min(text.len());
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    ConfigError::Toml { path: path.to_path_buf(), message: error.message().to_owned(), line, column }
}

/// Whether `table` has a value at the dotted path `parts` (array items by index).
fn holds(table: &toml::Table, parts: &[&str]) -> bool {
    let Some((first, rest)) = parts.split_first() else { return true };
    let Some(mut value) = table.iter().find(|(k, _)| k.eq_ignore_ascii_case(first)).map(|(_, v)| v) else {
        return false;
    };
    for part in rest {
        let next = match value {
            toml::Value::Table(t) => t.iter().find(|(k, _)| k.eq_ignore_ascii_case(part)).map(|(_, v)| v),
            toml::Value::Array(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        };
        match next {
            Some(v) => value = v,
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dotted_path_is_found_in_tables_and_arrays() {
        let table: toml::Table =
            "[server]\nlisen = 1\n[[districts]]\ncode = \"1\"\nnmae = \"x\"\n".parse().expect("toml");
        assert!(holds(&table, &["server", "lisen"]));
        assert!(holds(&table, &["districts", "0", "nmae"]));
        assert!(!holds(&table, &["districts", "1", "nmae"]));
        assert!(!holds(&table, &["database"]));
    }

    #[test]
    fn the_shipped_defaults_are_toml() {
        assert!(DEFAULTS.parse::<toml::Table>().is_ok());
    }
}
