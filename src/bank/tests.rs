//! What a statement batch does when another writer changed a fine after the batch read it (on
//! PostgreSQL, a QR payment or a void committing meanwhile): the settlement it took as won is
//! refused at the batch's end, and the batch run again settling as it decides ends as a single
//! payment would. Staged on one SQLite connection by changing the fine behind the book's back.

use super::book::batch::{BatchBook, is_lost_race};
use super::settle::{self, BankReport, Outcome, Recorded, Source};
use crate::db::fines::{self, NewFine};
use crate::db::{DbPool, bank_payments};
use crate::domain::surcharge::SurchargeRule;
use chrono::{NaiveDate, TimeZone, Utc};

const FINE: &str = "1101092611210000185";

fn pool_with_a_fine() -> (tempfile::TempDir, DbPool) {
    let (dir, pool) = crate::db::testing::temp_pool();
    let at = NaiveDate::from_ymd_opt(2026, 11, 21).and_then(|d| d.and_hms_opt(2, 0, 0)).expect("time");
    let fine = NewFine {
        decision_no: FINE,
        district_code: "110109",
        location: "门头沟区",
        status: "payable_at_bank",
        credential_id: "test",
        qr_expires_at: None,
        qr_key_id: None,
        ..NewFine::template(at)
    };
    let mut conn = pool.get().expect("connection");
    fines::insert(&mut conn, &fine).expect("fine");
    drop(conn);
    (dir, pool)
}

/// Records one statement line paying the fine in a batch that read the fine before an officer
/// voided it; the batch's outcome and what it left.
fn record_after_a_void(pool: &DbPool, settle_at_once: bool) -> (diesel::QueryResult<()>, Option<Outcome>) {
    let paid_at = Utc.with_ymd_and_hms(2026, 11, 22, 2, 0, 0).single().expect("time");
    let report = BankReport {
        bank_code: "CCB",
        reference: "E1",
        source: Source::Statement { statement_id: 1 },
        decision_no: Some(FINE),
        named_several: Vec::new(),
        amount_fen: 20000,
        paid_at,
        paid_at_exact: true,
        paid_on: paid_at.date_naive(),
        transaction_ref: None,
        reversal: false,
        remittance: &[],
    };
    let now = paid_at.naive_utc();
    let mut conn = pool.get().expect("connection");
    let mut outcome = None;
    let result = pool.write(&mut conn, |conn| {
        let mut book = BatchBook::new(conn, "CCB", settle_at_once);
        book.prefetch(&["E1"], &[FINE], &[])?;
        assert!(fines::void(book.connection(), FINE, "payable_at_bank", now, "issued in error")?);
        if let Recorded::New { outcome: o, .. } =
            settle::record_in(&mut book, &SurchargeRule::default(), &report, "test", now)?
        {
            outcome = Some(o);
        }
        book.flush()
    });
    (result, outcome)
}

#[test]
fn a_settlement_lost_to_another_writer_fails_the_batch_and_the_rerun_decides_by_the_row_count() {
    let (_dir, pool) = pool_with_a_fine();

    let (gathered, _) = record_after_a_void(&pool, false);
    assert!(gathered.as_ref().is_err_and(is_lost_race), "{gathered:?}");
    let mut conn = pool.get().expect("connection");
    assert_eq!(bank_payments::find(&mut conn, "CCB", "E1").expect("read"), None, "rolled back");
    assert_eq!(fines::bank_facts(&mut conn, FINE).expect("read").map(|f| f.status).as_deref(), Some("payable_at_bank"));
    drop(conn);

    // Settling as it decides, the update matches no row: a payment of a fine no longer payable.
    let (at_once, outcome) = record_after_a_void(&pool, true);
    assert!(at_once.is_ok(), "{at_once:?}");
    assert_eq!(outcome, Some(Outcome::DuplicatePayment));
    let mut conn = pool.get().expect("connection");
    let row = bank_payments::find(&mut conn, "CCB", "E1").expect("read").expect("recorded");
    assert_eq!(row.outcome, "duplicate_payment");
    assert_eq!(fines::bank_facts(&mut conn, FINE).expect("read").map(|f| f.status).as_deref(), Some("void"));
}

#[test]
fn a_reversal_of_a_line_matched_to_a_fine_since_the_batch_read_it_makes_that_fine_payable_again() {
    let (_dir, pool) = pool_with_a_fine();
    let paid_at = Utc.with_ymd_and_hms(2026, 11, 22, 2, 0, 0).single().expect("time");
    let now = paid_at.naive_utc();
    let line = BankReport {
        bank_code: "CCB",
        reference: "L1",
        source: Source::Statement { statement_id: 1 },
        decision_no: None,
        named_several: Vec::new(),
        amount_fen: 20000,
        paid_at,
        paid_at_exact: true,
        paid_on: paid_at.date_naive(),
        transaction_ref: Some("TX-1"),
        reversal: false,
        remittance: &[],
    };
    let mut conn = pool.get().expect("connection");
    let stored = pool.write(&mut conn, |conn| settle::record(conn, &SurchargeRule::default(), &line, "test", now));
    assert_eq!(stored.expect("stored"), Recorded::New { outcome: Outcome::Unmatched, due_fen: None });

    // The next statement reverses the line; its batch has read it (unmatched) when a clerk
    // matches it to the fine at the desk and commits.
    let reversal = BankReport { reference: "R1", reversal: true, ..line.clone() };
    let result = pool.write(&mut conn, |conn| {
        let mut book = BatchBook::new(conn, "CCB", false);
        book.prefetch(&["R1"], &[], &["TX-1"])?;
        assert!(fines::settle_at_bank(book.connection(), FINE, now, now)?);
        assert!(bank_payments::match_to_fine(book.connection(), ("CCB", "L1"), FINE, 20000)?);
        settle::record_in(&mut book, &SurchargeRule::default(), &reversal, "test", now)?;
        book.flush()
    });
    result.expect("the batch");
    let row = bank_payments::find(&mut conn, "CCB", "L1").expect("read").expect("the line");
    assert_eq!(row.reversed_by.as_deref(), Some("R1"));
    let status = fines::bank_facts(&mut conn, FINE).expect("read").map(|f| f.status);
    assert_eq!(status.as_deref(), Some("payable_at_bank"), "the money went back: the fine is to be paid again");
}
