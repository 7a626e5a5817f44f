//! Recording one payment a bank reported — posted through the bank API, or read from a statement
//! — inside the caller's write transaction. Where "no bank payment is lost or applied twice" is
//! decided:
//!
//! 1. The payment is stored once under (bank, reference); a repeat finds it and changes nothing.
//! 2. A payment the same bank already reported the other way (a statement line for a real-time
//!    post, or a post for a line already read) is paired with that record: already known.
//! 3. A payment dated before its fine was issued or after now (give or take the clock skew) cannot
//!    be true: a post is refused for the bank to correct, a statement line is stored as
//!    `implausible_date` and raised — never settled, never priced.
//! 4. Otherwise one conditional update settles the fine — if it is still unpaid and the amount
//!    is the fine plus the surcharge due on the day paid. Anything else (paid already, void, a
//!    different amount, no such fine) is stored with its state and raised as an exception, for
//!    the bank to return or a person to look at: never dropped.
//!
//! These rules are written once, against a [`Book`]: the bank API's single payment reads and
//! writes the database directly, a statement batch a working set of its own (`book::batch`).

use super::book::{Book, DirectBook};
use crate::db::DbConnection;
use crate::db::audit;
use crate::db::bank_payments::{BankPaymentRow, NewBankPayment};
use crate::db::exceptions::NewException;
use crate::domain::FineStatus;
use crate::domain::surcharge::SurchargeRule;
use crate::domain::time::{Implausible, plausible_payment_day, plausible_payment_time, utc};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;

/// How the bank told finepay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    /// `POST /bank/v1/payments`, taken at a counter or online.
    Api { online: bool },
    /// A line of the statement import `statement_id`.
    Statement { statement_id: i64 },
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Api { .. } => "api",
            Source::Statement { .. } => "statement",
        }
    }

    fn method(self) -> &'static str {
        match self {
            Source::Api { online: false } => "counter",
            Source::Api { online: true } => "online",
            Source::Statement { .. } => "statement",
        }
    }
}

/// A payment (or, from a statement, the reversal of one) as a bank reported it.
#[derive(Debug, Clone)]
pub(super) struct BankReport<'a> {
    pub bank_code: &'a str,
    /// The bank's serial (API) or entry reference (statement): unique per bank.
    pub reference: &'a str,
    pub source: Source,
    /// The fine it names, when its reference held a valid decision number.
    pub decision_no: Option<&'a str>,
    /// The fines it names when it names more than one: it pays none of them.
    pub named_several: Vec<&'a str>,
    pub amount_fen: i64,
    pub paid_at: DateTime<Utc>,
    /// Whether the bank gave the time of payment; a statement line may give only its day, and
    /// then `paid_at` is that day's start.
    pub paid_at_exact: bool,
    /// The day paid in Asia/Shanghai, which the surcharge is counted to.
    pub paid_on: NaiveDate,
    /// The bank's transaction reference, which a reversal repeats.
    pub transaction_ref: Option<&'a str>,
    pub reversal: bool,
    /// What the payer wrote (a statement line's remittance texts), kept in the line's exception
    /// so whoever works it can look for the fine meant; none for a real-time post.
    pub remittance: &'a [String],
}

/// The state a bank payment ended in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It paid its fine.
    Settled,
    /// The same payment was reported before the other way (statement and real-time post).
    AlreadyKnown,
    /// Its fine was already paid (by QR or another bank payment): to be returned.
    DuplicatePayment,
    /// Not the amount due on the day paid: the fine stays unpaid.
    AmountMismatch,
    /// No fine matches its reference.
    Unmatched,
    /// Its fine is void: to be returned.
    FineVoid,
    /// A reversal: it cancels an earlier entry (whose fine, if that entry paid it, is payable again).
    Reversed,
    /// Dated before its fine was issued or after the import: the fine stays as it is.
    ImplausibleDate,
}

impl Outcome {
    pub const ALL: [Outcome; 8] = [
        Outcome::Settled,
        Outcome::AlreadyKnown,
        Outcome::DuplicatePayment,
        Outcome::AmountMismatch,
        Outcome::Unmatched,
        Outcome::FineVoid,
        Outcome::Reversed,
        Outcome::ImplausibleDate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Settled => "settled",
            Outcome::AlreadyKnown => "already_known",
            Outcome::DuplicatePayment => "duplicate_payment",
            Outcome::AmountMismatch => "amount_mismatch",
            Outcome::Unmatched => "unmatched",
            Outcome::FineVoid => "fine_void",
            Outcome::Reversed => "reversed",
            Outcome::ImplausibleDate => "implausible_date",
        }
    }

    pub fn parse(raw: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == raw)
    }

    /// Whether a person has to act on it: every state but the two where the money is where it belongs.
    pub fn is_exception(self) -> bool {
        !matches!(self, Outcome::Settled | Outcome::AlreadyKnown)
    }
}

/// What recording did.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Recorded {
    /// Stored now, in this state; `due_fen` is what the fine asked for that day (if it matched one).
    New { outcome: Outcome, due_fen: Option<i64> },
    /// The bank reported this reference before: the stored record, unchanged.
    Repeat(Box<BankPaymentRow>),
    /// A post whose date cannot be true: nothing stored.
    Refused(Implausible),
}

/// Records `report` in the caller's write transaction. `actor` is written to the audit log.
pub(super) fn record(
    conn: &mut DbConnection,
    rule: &SurchargeRule,
    report: &BankReport<'_>,
    actor: &str,
    now: NaiveDateTime,
) -> diesel::QueryResult<Recorded> {
    record_in(&mut DirectBook::new(conn, report.bank_code), rule, report, actor, now)
}

/// Records `report` in `book`, which holds the records of `report.bank_code`.
pub(super) fn record_in(
    book: &mut impl Book,
    rule: &SurchargeRule,
    report: &BankReport<'_>,
    actor: &str,
    now: NaiveDateTime,
) -> diesel::QueryResult<Recorded> {
    if let Some(existing) = book.find(report.reference)? {
        if existing.source == report.source.as_str() {
            return Ok(Recorded::Repeat(Box::new(existing)));
        }
        // The bank used one reference for its post and its statement line: the same payment.
        book.claim_counterpart(report.reference, report.reference)?;
        return Ok(Recorded::New { outcome: Outcome::AlreadyKnown, due_fen: existing.due_fen });
    }
    if report.reversal {
        return record_reversal(book, report, actor, now);
    }
    let Some(decision_no) = report.decision_no else {
        if report.named_several.is_empty() {
            return store(book, report, Outcome::Unmatched, None, None, now);
        }
        let extra = serde_json::json!({ "named_decision_nos": report.named_several, "why": "the transfer names several fines" });
        return store_with(book, report, Outcome::Unmatched, None, None, extra, now);
    };
    let Some(fine) = book.fine(decision_no)? else {
        // A well-formed number of no fine here: kept in the exception, not as a fine's payment.
        let unknown = BankReport { decision_no: None, ..report.clone() };
        let extra = serde_json::json!({ "named_decision_no": decision_no });
        return store_with(book, &unknown, Outcome::Unmatched, None, None, extra, now);
    };
    if let Err(implausible) = plausible(report, utc(fine.issued_at), utc(now)) {
        if let Source::Api { .. } = report.source {
            return Ok(Recorded::Refused(implausible));
        }
        let extra = serde_json::json!({ "why": format!("booked {}", implausible.as_str()) });
        return store_with(book, report, Outcome::ImplausibleDate, None, None, extra, now);
    }
    let due = rule.amount_due(fine.amount_fen, utc(fine.issued_at), report.paid_on).total_fen;
    if let Some(counterpart) = unpaired_counterpart(book, report, decision_no)? {
        book.claim_counterpart(&counterpart.reference, report.reference)?;
        return store(book, report, Outcome::AlreadyKnown, Some(due), Some(&counterpart.reference), now);
    }
    let outcome = match FineStatus::parse(&fine.status) {
        Some(FineStatus::Void) | None => Outcome::FineVoid,
        Some(FineStatus::Paid) => Outcome::DuplicatePayment,
        Some(FineStatus::AwaitingPayment | FineStatus::PayableAtBank) if report.amount_fen != due => {
            Outcome::AmountMismatch
        }
        Some(FineStatus::AwaitingPayment | FineStatus::PayableAtBank) => {
            // Another payment may have committed since the read (PostgreSQL): the update says.
            if book.settle_fine(decision_no, report.paid_at.naive_utc(), now)? {
                let details = serde_json::json!({
                    "bank": report.bank_code,
                    "reference": report.reference,
                    "source": report.source.as_str(),
                    "amount_fen": report.amount_fen,
                    "surcharge_fen": due - fine.amount_fen,
                });
                book.audit(&audit::NewAuditEntry {
                    at: now,
                    actor,
                    action: "fine.paid_at_bank",
                    decision_no: Some(decision_no),
                    details: &details.to_string(),
                })?;
                Outcome::Settled
            } else {
                Outcome::DuplicatePayment
            }
        }
    };
    store(book, report, outcome, Some(due), None, now)
}

/// Whether the report's date can be true of a fine issued at `issued_at`: its time when the bank
/// gave one, else its day.
fn plausible(report: &BankReport<'_>, issued_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), Implausible> {
    if report.paid_at_exact {
        plausible_payment_time(report.paid_at, issued_at, now)
    } else {
        plausible_payment_day(report.paid_on, issued_at, now)
    }
}

/// The other source's record of this payment, if the bank reported it before and nothing has
/// paired it yet: the same bank, fine and amount (or the same transaction reference).
fn unpaired_counterpart(
    book: &mut impl Book,
    report: &BankReport<'_>,
    decision_no: &str,
) -> diesel::QueryResult<Option<BankPaymentRow>> {
    let rows = book.for_fine(decision_no)?;
    let candidates = rows.into_iter().filter(|row| {
        row.source != report.source.as_str()
            && row.counterpart.is_none()
            && row.reversed_by.is_none()
            && row.amount_fen == report.amount_fen
            // A reversal cancels, and a line dated where it cannot be true paid nothing: neither is
            // the record of a payment a later report could be.
            && matches!(Outcome::parse(&row.outcome), Some(o) if o != Outcome::Reversed && o != Outcome::ImplausibleDate)
    });
    let (by_transaction, others): (Vec<_>, Vec<_>) = candidates.partition(|row| {
        report.transaction_ref.is_some()
            && (row.transaction_ref.as_deref() == report.transaction_ref
                || Some(row.reference.as_str()) == report.transaction_ref)
    });
    Ok(by_transaction.into_iter().next().or_else(|| others.into_iter().next()))
}

/// A reversal cancels the bank's earlier entry with its transaction reference (else the entry
/// for the same fine and amount); if that entry paid the fine, the fine is payable again.
fn record_reversal(
    book: &mut impl Book,
    report: &BankReport<'_>,
    actor: &str,
    now: NaiveDateTime,
) -> diesel::QueryResult<Recorded> {
    let live = |row: &BankPaymentRow| {
        row.reversed_by.is_none()
            && row.amount_fen == report.amount_fen
            && matches!(Outcome::parse(&row.outcome), Some(o) if o != Outcome::Reversed)
    };
    let mut cancelled = match report.transaction_ref {
        Some(txn) => book.with_transaction(txn)?.into_iter().find(live),
        None => None,
    };
    if cancelled.is_none()
        && let Some(decision_no) = report.decision_no
    {
        cancelled = book.for_fine(decision_no)?.into_iter().filter(|row| row.source == "statement").find(live);
    }
    let mut reopened = false;
    if let Some(original) = &mut cancelled
        && let Some((outcome, decision_no)) = book.mark_reversed(&original.reference, report.reference)?
    {
        // What the entry is now decides, not what was read: it may have been matched to a fine.
        (original.outcome, original.decision_no) = (outcome, decision_no);
        let paid_this_fine =
            matches!(Outcome::parse(&original.outcome), Some(Outcome::Settled | Outcome::AlreadyKnown));
        if paid_this_fine && let Some(decision_no) = original.decision_no.as_deref() {
            reopened = book.reopen_fine(decision_no, now)?;
            if reopened {
                let details = serde_json::json!({
                    "bank": report.bank_code,
                    "reversal": report.reference,
                    "reversed_entry": original.reference,
                    "amount_fen": report.amount_fen,
                });
                book.audit(&audit::NewAuditEntry {
                    at: now,
                    actor,
                    action: "fine.bank_payment_reversed",
                    decision_no: Some(decision_no),
                    details: &details.to_string(),
                })?;
            }
        }
    }
    // The fine the reversal is about: its entry's, else the one it names, if finepay has it (a
    // number of no fine is kept in the details, as for an unmatched payment).
    let decision_no = match cancelled.as_ref().and_then(|c| c.decision_no.as_deref()) {
        Some(no) => Some(no),
        None => match report.decision_no {
            Some(no) if book.fine(no)?.is_some() => Some(no),
            _ => None,
        },
    };
    let adjusted = BankReport { decision_no, ..report.clone() };
    let extra = serde_json::json!({
        "reversed_entry": cancelled.as_ref().map(|c| c.reference.as_str()),
        "fine_payable_again": reopened,
        "named_decision_no": report.decision_no.filter(|_| decision_no.is_none()),
    });
    store_with(book, &adjusted, Outcome::Reversed, None, None, extra, now)
}

fn store(
    book: &mut impl Book,
    report: &BankReport<'_>,
    outcome: Outcome,
    due_fen: Option<i64>,
    counterpart: Option<&str>,
    now: NaiveDateTime,
) -> diesel::QueryResult<Recorded> {
    store_with(book, report, outcome, due_fen, counterpart, serde_json::json!({}), now)
}

/// What an exception keeps of a line's remittance texts: enough to find the fine meant (a camt
/// text is at most 140 characters), not whatever a malformed file put there.
const KEPT_TEXTS: usize = 4;
const KEPT_CHARS: usize = 140;

fn kept_remittance(texts: &[String]) -> Vec<String> {
    texts
        .iter()
        .take(KEPT_TEXTS)
        .map(|text| match text.char_indices().nth(KEPT_CHARS) {
            Some((cut, _)) => format!("{}…", &text[..cut]),
            None => text.clone(),
        })
        .collect()
}

/// Stores the record and, for the states a person acts on, raises its exception.
fn store_with(
    book: &mut impl Book,
    report: &BankReport<'_>,
    outcome: Outcome,
    due_fen: Option<i64>,
    counterpart: Option<&str>,
    mut details: serde_json::Value,
    now: NaiveDateTime,
) -> diesel::QueryResult<Recorded> {
    let statement_id = match report.source {
        Source::Statement { statement_id } => Some(statement_id),
        Source::Api { .. } => None,
    };
    book.insert(&NewBankPayment {
        bank_code: report.bank_code,
        reference: report.reference,
        source: report.source.as_str(),
        statement_id,
        decision_no: report.decision_no,
        amount_fen: report.amount_fen,
        due_fen,
        paid_at: report.paid_at.naive_utc(),
        method: report.source.method(),
        outcome: outcome.as_str(),
        transaction_ref: report.transaction_ref,
        counterpart,
        reversed_by: None,
        received_at: now,
    })?;
    if outcome.is_exception() {
        if let serde_json::Value::Object(map) = &mut details {
            map.insert("bank".into(), report.bank_code.into());
            map.insert("source".into(), report.source.as_str().into());
            map.insert("paid_at".into(), crate::domain::time::rfc3339(report.paid_at).into());
            if let Some(id) = statement_id {
                map.insert("statement_id".into(), id.into());
            }
            if !report.remittance.is_empty() {
                map.insert("remittance".into(), kept_remittance(report.remittance).into());
            }
        }
        let source = format!("bank:{}", report.bank_code);
        book.raise(&NewException {
            kind: outcome.as_str(),
            source: &source,
            reference: report.reference,
            decision_no: report.decision_no,
            statement_date: matches!(report.source, Source::Statement { .. }).then_some(report.paid_on),
            amount_fen: Some(report.amount_fen),
            expected_fen: due_fen,
            details: &details.to_string(),
            raised_at: now,
        })?;
    }
    Ok(Recorded::New { outcome, due_fen })
}

#[cfg(test)]
mod tests {
    use super::kept_remittance;

    #[test]
    fn an_exception_keeps_a_few_texts_each_cut_at_140_characters() {
        let long = "罚".repeat(200);
        let texts: Vec<String> = [long.as_str(), "a", "b", "c", "d"].iter().map(|t| (*t).to_owned()).collect();
        let kept = kept_remittance(&texts);
        assert_eq!(kept.len(), 4);
        assert_eq!(kept[0], format!("{}…", "罚".repeat(140)));
        assert_eq!(kept[1..], ["a", "b", "c"]);
        assert_eq!(kept_remittance(&["Fine 1101092611210000185".to_owned()]), ["Fine 1101092611210000185"]);
    }
}
