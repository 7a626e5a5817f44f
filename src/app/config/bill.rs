//! The `[bill]` section: who issues the bills (and is paid, as receipts say), and the font they are drawn with — the shipped
//! Noto Sans CJK SC subset, or a font file of the district's own (checked at start: a font that
//! cannot print a bill stops the start rather than the first print).

use super::{ConfigError, invalid};
use crate::bill::{BillFont, BillSettings};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub(super) struct RawBill {
    authority: String,
    authority_en: String,
    #[serde(default)]
    payee: String,
    #[serde(default)]
    payee_en: String,
    font: String,
    font_index: u32,
}

impl RawBill {
    pub(super) fn validate(self) -> Result<BillSettings, ConfigError> {
        let authority_zh = self.authority.trim().to_owned();
        if authority_zh.is_empty() {
            return Err(invalid("bill.authority", "name the authority that issues the bills"));
        }
        let font = match self.font.trim() {
            "" => BillFont::built_in(),
            path => {
                let bytes = std::fs::read(path).map_err(|e| invalid("bill.font", format!("{path}: {e}")))?;
                BillFont::from_bytes(bytes, self.font_index, path).map_err(|e| invalid("bill.font", e))?
            }
        };
        log::debug!("bills are drawn with {}", font.name());
        let authority_en = self.authority_en.trim().to_owned();
        // The payee named on receipts: the authority unless the money goes to another account.
        let (payee_zh, payee_en) = match self.payee.trim() {
            "" => (authority_zh.clone(), authority_en.clone()),
            payee => (payee.to_owned(), self.payee_en.trim().to_owned()),
        };
        Ok(BillSettings { authority_zh, authority_en, payee_zh, payee_en, font })
    }
}
