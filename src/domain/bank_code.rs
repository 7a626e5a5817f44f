//! A bank's code, as finepay names an agent bank in credentials, statement imports and the inbox's
//! folders: 1 to 16 ASCII letters or digits (`ICBC`, `CCB`), safe in a path and a log line.

/// Whether `code` is a bank code.
pub fn valid_bank_code(code: &str) -> bool {
    (1..=16).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bank_code_is_1_to_16_letters_or_digits() {
        assert!(valid_bank_code("ICBC") && valid_bank_code(&"A".repeat(16)));
        assert!(!valid_bank_code("") && !valid_bank_code("../x") && !valid_bank_code("中国银行"));
        assert!(!valid_bank_code(&"A".repeat(17)));
    }
}
