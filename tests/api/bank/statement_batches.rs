//! A statement's lines are recorded a batch per transaction, read and written in bulk: a line must
//! still see what earlier lines of its own batch did. The same file is imported with one line per
//! batch (each line its own transaction, as a single API post is recorded) and with the whole file
//! in one batch, and must end the same — and as the rules say.

use super::{Bank, CSV_HEADER, bank_fine, csv_line, fine_status, payment};
use crate::helpers::spawn_app_with;
use diesel::prelude::*;
use finepay::db::schema::{bank_payments, exceptions};
use serde_json::{Value, json};

/// A stored bank payment: (reference, outcome, fine, counterpart, reversed_by).
type Payment<Fine> = (String, String, Option<Fine>, Option<String>, Option<String>);

/// What an import left behind, with the fines named by their order of issue (the two apps issue
/// different decision numbers).
#[derive(Debug, PartialEq)]
struct Outcome {
    report: Value,
    /// By reference, the fine by its order of issue.
    payments: Vec<Payment<usize>>,
    /// (kind, reference), by reference.
    exceptions: Vec<(String, String)>,
    /// Each fine's status and audit actions.
    fines: Vec<(String, Vec<String>)>,
    again: Value,
}

async fn import_with_batch(batch: &str) -> Outcome {
    let app = spawn_app_with(&[("bank.import_batch", batch)]).await;
    let bank = Bank::new(&app, "ICBC");
    let mut numbers = Vec::new();
    for _ in 0..4 {
        numbers.push(bank_fine(&app).await);
    }
    let [a, b, c, d] = <[String; 4]>::try_from(numbers.clone()).expect("four");
    assert_eq!(bank.post(&payment("RT-8", &d, 20000, &app)).await.status(), 201);

    let now = app.now().to_rfc3339();
    let mut csv = String::from(CSV_HEADER);
    csv += &csv_line("E1", &now, 20000, "C,BOOK,", "T1", &a);
    // The same fine again in the same batch: a second payment.
    csv += &csv_line("E2", &now, 20000, "C,BOOK,", "T2", &a);
    // An entry, its reversal by transaction reference, then the fine paid again.
    csv += &csv_line("E3", &now, 20000, "C,BOOK,", "T3", &b);
    csv += &csv_line("E4", &now, 20000, "D,BOOK,1", "T3", &b);
    csv += &csv_line("E5", &now, 20000, "C,BOOK,", "T5", &b);
    // An entry and its reversal found by the fine (no transaction reference).
    csv += &csv_line("E6", &now, 20000, "C,BOOK,", "", &c);
    csv += &csv_line("E7", &now, 20000, "D,BOOK,1", "", &c);
    // The statement line of a payment posted in real time, then a second payment of that fine.
    csv += &csv_line("E8", &now, 20000, "C,BOOK,", "T8", &d);
    csv += &csv_line("E9", &now, 20000, "C,BOOK,", "T9", &d);
    // An entry reference repeated within the file.
    csv += &csv_line("E1", &now, 20000, "C,BOOK,", "T1", &a);

    let report: Value = bank.upload("text/csv", csv.clone()).await.json().await.expect("JSON");
    let again: Value = bank.upload("text/csv", csv).await.json().await.expect("JSON");
    let index = |no: &str| numbers.iter().position(|n| n == no);
    let mut conn = app.ctx.pool.get().expect("connection");
    let rows: Vec<Payment<String>> = bank_payments::table
        .order(bank_payments::reference)
        .select((
            bank_payments::reference,
            bank_payments::outcome,
            bank_payments::decision_no,
            bank_payments::counterpart,
            bank_payments::reversed_by,
        ))
        .load(&mut *conn)
        .expect("payments");
    let raised: Vec<(String, String)> = exceptions::table
        .order(exceptions::reference)
        .select((exceptions::kind, exceptions::reference))
        .load(&mut *conn)
        .expect("exceptions");
    drop(conn);
    let keep = |r: &Value| {
        let mut r = r.clone();
        for volatile in ["statement_id", "sha256"] {
            r[volatile] = Value::Null;
        }
        r
    };
    Outcome {
        report: keep(&report),
        payments: rows
            .into_iter()
            .map(|(reference, outcome, no, counterpart, reversed_by)| {
                (reference, outcome, no.as_deref().and_then(index), counterpart, reversed_by)
            })
            .collect(),
        exceptions: raised,
        fines: numbers.iter().map(|no| (fine_status(&app, no).0, app.audit_actions(no))).collect(),
        again: keep(&again),
    }
}

#[tokio::test]
async fn a_line_sees_what_earlier_lines_of_its_own_batch_did() {
    let batched = import_with_batch("1000").await;

    assert_eq!(batched.report["lines_read"], 10, "{}", batched.report);
    assert_eq!(
        batched.report["outcomes"],
        json!({"settled": 4, "already_known": 1, "duplicate_payment": 2, "amount_mismatch": 0,
               "unmatched": 0, "fine_void": 0, "reversed": 2, "implausible_date": 0}),
        "{}",
        batched.report
    );
    assert_eq!(batched.report["repeated"], 1);
    let s = |text: &str| Some(text.to_owned());
    let row = |reference: &str, outcome: &str, fine: usize, counterpart, reversed_by| {
        (reference.to_owned(), outcome.to_owned(), Some(fine), counterpart, reversed_by)
    };
    assert_eq!(
        batched.payments,
        [
            row("E1", "settled", 0, None, None),
            row("E2", "duplicate_payment", 0, None, None),
            row("E3", "settled", 1, None, s("E4")),
            row("E4", "reversed", 1, None, None),
            row("E5", "settled", 1, None, None),
            row("E6", "settled", 2, None, s("E7")),
            row("E7", "reversed", 2, None, None),
            row("E8", "already_known", 3, s("RT-8"), None),
            row("E9", "duplicate_payment", 3, None, None),
            row("RT-8", "settled", 3, s("E8"), None),
        ]
    );
    let kinds: Vec<(&str, &str)> = batched.exceptions.iter().map(|(k, r)| (k.as_str(), r.as_str())).collect();
    assert_eq!(
        kinds,
        [("duplicate_payment", "E2"), ("reversed", "E4"), ("reversed", "E7"), ("duplicate_payment", "E9")]
    );
    let statuses: Vec<&str> = batched.fines.iter().map(|(status, _)| status.as_str()).collect();
    assert_eq!(statuses, ["paid", "paid", "payable_at_bank", "paid"]);
    let bank_actions = |fine: usize| -> Vec<&str> {
        batched.fines[fine]
            .1
            .iter()
            .map(String::as_str)
            .filter(|a| ["fine.paid_at_bank", "fine.bank_payment_reversed"].contains(a))
            .collect()
    };
    assert_eq!(bank_actions(1), ["fine.paid_at_bank", "fine.bank_payment_reversed", "fine.paid_at_bank"]);
    assert_eq!(bank_actions(2), ["fine.paid_at_bank", "fine.bank_payment_reversed"]);
    assert_eq!(batched.again["repeated"], 10, "a second import changes nothing: {}", batched.again);

    // One line per transaction reads and writes statement by statement: the same end.
    let line_by_line = import_with_batch("1").await;
    assert_eq!(batched, line_by_line);
}
