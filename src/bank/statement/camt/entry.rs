//! One `Ntry` as its values arrive, and the line (or LineError) it makes when it closes: every
//! value is checked as it comes, the first problem is kept, and the entry is still read to its end.

use super::super::values::{self, Booked};
use super::super::{Direction, EntryStatus, Item, LineError, StatementLine};
use super::paths::Field;

/// A remittance text is at most 140 characters and an entry rarely has more than a few; a hostile
/// file must not make one entry hold megabytes.
const MAX_TEXTS_PER_ENTRY: usize = 64;

#[derive(Default)]
pub(super) struct Entry {
    acct_svcr_ref: Option<String>,
    ntry_ref: Option<String>,
    amount: Option<i64>,
    pub currency: Option<String>,
    direction: Option<Direction>,
    status: Option<EntryStatus>,
    reversal: bool,
    booked: Option<Result<Booked, String>>,
    /// A pending entry often has no booking date yet: its value date stands in.
    valued: Option<Result<Booked, String>>,
    transaction_ref: Option<String>,
    end_to_end_id: Option<String>,
    structured: Vec<String>,
    unstructured: Vec<String>,
    /// The first thing wrong with the entry.
    error: Option<String>,
}

impl Entry {
    pub(super) fn fail(&mut self, message: String) {
        self.error.get_or_insert(message);
    }

    /// Takes the (trimmed) text of an entry's `field`.
    pub(super) fn keep(&mut self, field: Field, text: &str) {
        let owned = || Some(text.to_owned()).filter(|text| !text.is_empty());
        match field {
            Field::Amount => match values::yuan_amount(text) {
                Ok(fen) => self.amount = Some(fen),
                Err(message) => self.fail(message),
            },
            Field::Direction => match text {
                "CRDT" => self.direction = Some(Direction::Credit),
                "DBIT" => self.direction = Some(Direction::Debit),
                _ => self.fail(format!("CdtDbtInd {text:?} is neither CRDT nor DBIT")),
            },
            Field::Reversal => match text {
                "true" | "1" => self.reversal = true,
                "false" | "0" => self.reversal = false,
                _ => self.fail(format!("RvslInd {text:?} is not a boolean")),
            },
            Field::Status => match text {
                // The whitespace around a `<Cd>` reaches here as an empty `Sts` text.
                "" => {}
                "BOOK" => self.status = Some(EntryStatus::Booked),
                // FUTR (.09+): to be booked on a later day, so no more final than pending.
                "PDNG" | "FUTR" => self.status = Some(EntryStatus::Pending),
                "INFO" => self.status = Some(EntryStatus::Info),
                _ => self.fail(format!("Sts {text:?} is not BOOK, PDNG, FUTR or INFO")),
            },
            Field::BookingDate => self.booked = Some(values::iso_date(text).map(|day| (day, None))),
            Field::BookingTime => self.booked = Some(values::iso_date_time(text)),
            Field::ValueDate => self.valued = Some(values::iso_date(text).map(|day| (day, None))),
            Field::ValueTime => self.valued = Some(values::iso_date_time(text)),
            Field::AcctSvcrRef => self.acct_svcr_ref = owned(),
            Field::NtryRef => self.ntry_ref = owned(),
            // A batch has a TxDtls per transaction: the first reference names the entry.
            Field::TxId if self.transaction_ref.is_none() => self.transaction_ref = owned(),
            Field::EndToEndId if self.end_to_end_id.is_none() && text != "NOTPROVIDED" => self.end_to_end_id = owned(),
            Field::TxId | Field::EndToEndId | Field::Account => {}
            Field::CreditorRef | Field::Unstructured
                if self.structured.len() + self.unstructured.len() >= MAX_TEXTS_PER_ENTRY =>
            {
                self.fail(format!("the entry has more than {MAX_TEXTS_PER_ENTRY} remittance texts"))
            }
            Field::CreditorRef => self.structured.extend(owned()),
            Field::Unstructured => self.unstructured.extend(owned()),
        }
    }

    /// The entry's line: structured references first, then the free texts, each in file order.
    pub(super) fn finish(&mut self, line_no: u64) -> Item {
        let entry_ref = self.acct_svcr_ref.take().or_else(|| self.ntry_ref.take());
        let parts = match self.error.take() {
            Some(message) => Err(message),
            None => self.parts(),
        };
        let (parts, entry_ref) = match (parts, entry_ref) {
            (Ok(parts), Some(entry_ref)) => (parts, entry_ref),
            (Ok(_), None) => {
                let message = "the entry has neither AcctSvcrRef nor NtryRef".to_owned();
                return Err(LineError { line_no, entry_ref: None, message });
            }
            (Err(message), entry_ref) => return Err(LineError { line_no, entry_ref, message }),
        };
        let mut references = std::mem::take(&mut self.structured);
        references.append(&mut self.unstructured);
        Ok(StatementLine {
            line_no,
            entry_ref,
            booked_on: parts.booked.0,
            booked_at: parts.booked.1,
            amount_fen: parts.amount_fen,
            currency: parts.currency,
            direction: parts.direction,
            status: parts.status,
            reversal: self.reversal,
            transaction_ref: self.transaction_ref.take().or_else(|| self.end_to_end_id.take()),
            references,
        })
    }

    fn parts(&mut self) -> Result<Parts, String> {
        Ok(Parts {
            amount_fen: self.amount.ok_or("the entry has no Amt")?,
            currency: self.currency.take().ok_or("Amt has no Ccy")?,
            direction: self.direction.ok_or("the entry has no CdtDbtInd")?,
            status: self.status.ok_or("the entry has no Sts")?,
            booked: self
                .booked
                .take()
                .or_else(|| self.valued.take())
                .ok_or("the entry has neither BookgDt nor ValDt")??,
        })
    }
}

/// The values every line must have.
struct Parts {
    amount_fen: i64,
    currency: String,
    direction: Direction,
    status: EntryStatus,
    booked: Booked,
}
