//! `POST /bank/v1/statements` with what banks and strangers really send: rows broken in the middle
//! of a CSV, a CSV or camt.054 that breaks off, other ISO 20022 messages, binary junk, bodies over
//! the limit, nothing at all, the wrong caller, entries that must not settle. Each answer is the
//! documented one; the good lines settle, and nothing is recorded for the rest.

use crate::bank::{
    BANK_DISTRICT, Bank, CSV_HEADER, bank_fine, bank_payment_rows, csv_line, exception_list, fine_status,
};
use crate::helpers::{TestApp, error_of, spawn_app, spawn_app_with};
use diesel::prelude::*;
use finepay::credentials::Binding;
use finepay::db::schema::bank_payments;
use finepay::domain::DecisionNo;
use finepay::domain::rf_reference::rf_for_decision;
use serde_json::{Value, json};

/// One `Ntry` of a camt.054 notification.
pub struct Ntry<'a> {
    pub entry_ref: &'a str,
    pub amount_fen: i64,
    pub currency: &'a str,
    /// `CRDT` or `DBIT`.
    pub direction: &'a str,
    /// `BOOK`, `PDNG` or `INFO`.
    pub status: &'a str,
    /// The fine's RF reference goes in `Strd/CdtrRefInf/Ref`, anything else in `Ustrd`.
    pub remittance: String,
}

impl<'a> Ntry<'a> {
    /// A booked CNY credit of 200 yuan.
    pub fn credit(entry_ref: &'a str, remittance: String) -> Self {
        Ntry { entry_ref, amount_fen: 20_000, currency: "CNY", direction: "CRDT", status: "BOOK", remittance }
    }
}

/// A camt.054.001.08 notification of `entries`, booked on `booked_on` (YYYY-MM-DD).
pub fn camt054(entries: &[Ntry<'_>], booked_on: &str) -> String {
    let mut xml = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"><BkToCstmrDbtCdtNtfctn>
<GrpHdr><MsgId>NTF-1</MsgId><CreDtTm>2026-11-21T14:00:00+08:00</CreDtTm></GrpHdr>
<Ntfctn><Id>N1</Id><Acct><Id><Othr><Id>0200001209000777123</Id></Othr></Id></Acct>"#,
    );
    for e in entries {
        let remittance = if e.remittance.starts_with("RF") {
            format!("<Strd><CdtrRefInf><Ref>{}</Ref></CdtrRefInf></Strd>", e.remittance)
        } else {
            format!("<Ustrd>{}</Ustrd>", e.remittance)
        };
        xml += &format!(
            r#"
<Ntry><Amt Ccy="{}">{}.{:02}</Amt><CdtDbtInd>{}</CdtDbtInd><Sts><Cd>{}</Cd></Sts>
<BookgDt><Dt>{booked_on}</Dt></BookgDt><AcctSvcrRef>{}</AcctSvcrRef>
<NtryDtls><TxDtls><Refs><TxId>TX-{}</TxId></Refs><RmtInf>{remittance}</RmtInf></TxDtls></NtryDtls></Ntry>"#,
            e.currency,
            e.amount_fen / 100,
            e.amount_fen % 100,
            e.direction,
            e.status,
            e.entry_ref,
            e.entry_ref
        );
    }
    xml + "\n</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>\n"
}

pub fn today(app: &TestApp) -> String {
    finepay::domain::time::shanghai_date(app.now()).to_string()
}

pub fn rf(decision_no: &str) -> String {
    rf_for_decision(&DecisionNo::parse(decision_no).expect("a valid decision number"))
}

/// `count` fines payable at banks.
pub async fn bank_fines(app: &TestApp, count: usize) -> Vec<String> {
    let mut numbers = Vec::with_capacity(count);
    for _ in 0..count {
        numbers.push(bank_fine(app).await);
    }
    numbers
}

/// (reference, decision number, outcome) of every bank payment, by reference.
pub fn recorded(app: &TestApp) -> Vec<(String, Option<String>, String)> {
    let mut conn = app.ctx.pool.get().expect("connection");
    bank_payments::table
        .order(bank_payments::reference)
        .select((bank_payments::reference, bank_payments::decision_no, bank_payments::outcome))
        .load(&mut *conn)
        .expect("bank payments")
}

pub fn assert_unpaid(app: &TestApp, numbers: &[String], why: &str) {
    for no in numbers {
        assert_eq!(fine_status(app, no), ("payable_at_bank".into(), None), "{why}: {no}");
    }
}

pub fn assert_paid_at_bank(app: &TestApp, numbers: &[String]) {
    for no in numbers {
        assert_eq!(fine_status(app, no), ("paid".into(), Some("bank".into())), "{no}");
    }
}

#[tokio::test]
async fn bad_csv_rows_are_listed_by_line_and_the_good_rows_around_them_settle() {
    let app = spawn_app().await;
    let bank = Bank::new(&app, "ICBC");
    let good = bank_fines(&app, 3).await;
    let now = app.now().to_rfc3339();
    // Each bad row names a real fine with the right amount: read leniently, it would pay it.
    let bad_rows: [(&str, &str, &str); 11] = [
        ("amount in yuan", "{ref},{now},200.00,C,BOOK,,T,{no}", "amount_fen \"200.00\" is not a whole number"),
        ("negative amount", "{ref},{now},-20000,C,BOOK,,T,{no}", "amount_fen \"-20000\""),
        ("amount with letters", "{ref},{now},2OOOO,C,BOOK,,T,{no}", "amount_fen \"2OOOO\""),
        ("seven columns", "{ref},{now},20000,C,BOOK,,{no}", "expected 8 columns, found 7"),
        ("nine columns", "{ref},{now},20000,C,BOOK,,T,{no},extra", "expected 8 columns, found 9"),
        ("month 13", "{ref},2026-13-01,20000,C,BOOK,,T,{no}", "\"2026-13-01\" is neither a date"),
        ("time without offset", "{ref},2026-11-21T10:00:00,20000,C,BOOK,,T,{no}", "is neither a date"),
        ("direction X", "{ref},{now},20000,X,BOOK,,T,{no}", "direction \"X\" is neither C nor D"),
        ("direction in lower case", "{ref},{now},20000,c,BOOK,,T,{no}", "direction \"c\""),
        ("unknown status", "{ref},{now},20000,C,DONE,,T,{no}", "status \"DONE\""),
        ("broken quoting", "{ref},{now},\"200\"00,C,BOOK,,T,{no}", "text after the closing quote"),
    ];
    let named = bank_fines(&app, bad_rows.len()).await;

    // The rows, with the line each starts on: the header is line 1, a blank line and a quoted
    // line break count as lines too.
    let mut csv = String::from(CSV_HEADER);
    let mut line = 2;
    let mut expected_errors = Vec::new();
    for (i, ((what, row, message), no)) in bad_rows.iter().zip(&named).enumerate() {
        match i {
            2 => {
                csv += &csv_line("G1", &now, 20_000, "C,BOOK,", "T-G1", &good[0]);
                line += 1;
            }
            5 => {
                csv += &format!("G2,{now},20000,C,BOOK,,T-G2,\"fine {}\nthank you\"\n\n", good[1]);
                line += 3;
            }
            _ => {}
        }
        let entry_ref = format!("B{i}");
        csv += &row.replace("{ref}", &entry_ref).replace("{now}", &now).replace("{no}", no);
        csv.push('\n');
        expected_errors.push((line, entry_ref, *what, *message));
        line += 1;
    }
    csv += &csv_line("G3", &now, 20_000, "C,BOOK,", "T-G3", &format!("RF {}", rf(&good[2])));

    let response = bank.upload("text/csv", csv).await;
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.expect("JSON");
    assert_eq!(report["status"], "complete", "{report}");
    assert_eq!(report["lines_read"], bad_rows.len() + good.len());
    assert_eq!((report["matched"].clone(), report["outcomes"]["settled"].clone()), (json!(3), json!(3)), "{report}");
    assert_eq!(report["settled_fen"], 60_000);
    assert_eq!(report["bad_lines"], bad_rows.len());
    let errors = report["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), expected_errors.len(), "{report}");
    for (error, (line_no, entry_ref, what, message)) in errors.iter().zip(expected_errors) {
        assert_eq!(error["line_no"], line_no, "{what}: {error}");
        assert_eq!(error["entry_ref"], entry_ref, "{what}: {error}");
        let text = error["message"].as_str().expect("message");
        assert!(text.contains(message), "{what}: {text:?} should say {message:?}");
    }

    assert_paid_at_bank(&app, &good);
    assert_unpaid(&app, &named, "a bad row pays nothing");
    let references: Vec<String> = recorded(&app).into_iter().map(|(reference, _, _)| reference).collect();
    assert_eq!(references, ["G1", "G2", "G3"], "only the good rows are recorded");
    assert!(exception_list(&app).is_empty(), "a bad row raises no exception: the report lists it");
}

#[tokio::test]
async fn a_csv_that_goes_bad_part_way_keeps_the_rows_before_and_says_where_it_stopped() {
    let app = spawn_app().await;
    let bank = Bank::new(&app, "ICBC");
    let now = app.now().to_rfc3339();
    // (what, how the reference of the row on line 3 starts, what the answer says): after each,
    // nothing in the file can be trusted, not even the good row that follows.
    let cases: [(&str, Vec<u8>, &str); 3] = [
        ("a quote never closed", b"\"fine".to_vec(), "ends inside a quoted field of line 3"),
        ("a row in GBK (\"罚款\")", b"\xb7\xa3\xbf\xee".to_vec(), "line 3 is not UTF-8"),
        ("a row over 64 KiB", vec![b'x'; 70_000], "the row on line 3 is longer than 64 KiB"),
    ];
    for (i, (what, reference, message)) in cases.into_iter().enumerate() {
        let [before, named, after] = <[String; 3]>::try_from(bank_fines(&app, 3).await).expect("three");
        let body = [
            CSV_HEADER.as_bytes(),
            csv_line(&format!("G{i}"), &now, 20_000, "C,BOOK,", "", &before).as_bytes(),
            format!("B{i},{now},20000,C,BOOK,,T,").as_bytes(),
            &reference,
            format!(" {named}\n").as_bytes(),
            csv_line(&format!("A{i}"), &now, 20_000, "C,BOOK,", "", &after).as_bytes(),
        ]
        .concat();

        let response = bank.upload("text/csv", body).await;
        assert_eq!(response.status(), 422, "{what}");
        let answer: Value = response.json().await.expect("JSON");
        assert_eq!(answer["error"]["code"], "malformed_statement", "{what}: {answer}");
        let text = answer["error"]["message"].as_str().expect("message");
        assert!(text.contains(message), "{what}: {text:?} should say {message:?}");
        let report = &answer["error"]["details"];
        assert_eq!((report["status"].clone(), report["lines_read"].clone()), (json!("malformed"), json!(1)), "{what}");
        assert_eq!(report["outcomes"]["settled"], 1, "{what}: the row before the break");
        assert_paid_at_bank(&app, std::slice::from_ref(&before));
        assert_unpaid(&app, &[named, after], what);
    }
    assert_eq!(bank_payment_rows(&app), 3);
    assert!(exception_list(&app).is_empty());
}

#[tokio::test]
async fn a_truncated_camt054_keeps_the_entries_before_the_break_and_the_whole_file_completes_it() {
    let app = spawn_app().await;
    let bank = Bank::new(&app, "ICBC");
    let numbers = bank_fines(&app, 2).await;
    let whole = camt054(
        &[Ntry::credit("N-1", rf(&numbers[0])), Ntry::credit("N-2", format!("罚款 {}", numbers[1]))],
        &today(&app),
    );
    let cut = &whole[..whole.find("<AcctSvcrRef>N-2").expect("second entry") + "<AcctSvcrRef>N".len()];

    let response = bank.upload("application/xml", cut.to_owned()).await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["error"]["code"], "malformed_statement", "{body}");
    let message = body["error"]["message"].as_str().expect("message");
    assert!(message.contains("truncated") && message.contains("import the complete file again"), "{message}");
    let report = &body["error"]["details"];
    assert_eq!(
        (report["format"].clone(), report["status"].clone(), report["lines_read"].clone()),
        (json!("camt.054"), json!("malformed"), json!(1)),
        "{body}"
    );
    assert_eq!(report["outcomes"]["settled"], 1);
    assert_paid_at_bank(&app, &numbers[..1]);
    assert_unpaid(&app, &numbers[1..], "the entry the file broke off in");
    assert_eq!(bank_payment_rows(&app), 1);

    // The bank sends the whole file: the first entry is known, the second settles.
    let report: Value = bank.upload("application/xml", whole).await.json().await.expect("JSON");
    assert_eq!((report["repeated"].clone(), report["outcomes"]["settled"].clone()), (json!(1), json!(1)), "{report}");
    assert_paid_at_bank(&app, &numbers);
    assert_eq!(bank_payment_rows(&app), 2);
}

/// Not-PNG-but-binary: a PNG signature, then bytes from a fixed linear congruential sequence
/// (NULs, bytes over 0x7F, stray quotes, line breaks and `<` among them).
pub fn binary_garbage(len: usize) -> Vec<u8> {
    let mut state: u32 = 0x2545_f491;
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    while bytes.len() < len {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        bytes.push((state >> 24) as u8);
    }
    bytes
}

#[tokio::test]
async fn files_that_are_no_statement_are_refused_with_422_and_record_nothing() {
    let app = spawn_app().await;
    let bank = Bank::new(&app, "ICBC");
    let no = bank_fine(&app).await;
    let day = today(&app);
    // Each would pay the fine if it were read as a statement.
    let notification = camt054(&[Ntry::credit("N-1", rf(&no))], &day);
    let csv = format!("{CSV_HEADER}{}", csv_line("E1", &app.now().to_rfc3339(), 20_000, "C,BOOK,", "", &no));
    let camt052 = notification.replace("camt.054.001.08", "camt.052.001.08");
    let cases: [(&str, &str, Vec<u8>); 13] = [
        ("camt.052 (an account report)", "application/xml", camt052.clone().into_bytes()),
        ("camt.052 as text/xml", "text/xml", camt052.into_bytes()),
        ("camt.054 of version .01", "application/xml", notification.replace(".001.08", ".001.01").into_bytes()),
        (
            "a camt.053 root in a camt.054 namespace",
            "application/xml",
            notification.replace("BkToCstmrDbtCdtNtfctn", "BkToCstmrStmt").into_bytes(),
        ),
        ("XML in GBK", "application/xml", notification.replace("encoding=\"UTF-8\"", "encoding=\"GBK\"").into_bytes()),
        ("a camt.054 without namespace", "application/xml", notification.replace(" xmlns=", " x=").into_bytes()),
        ("binary, untyped", "application/octet-stream", binary_garbage(100_000)),
        ("binary as CSV", "text/csv", binary_garbage(100_000)),
        ("binary as XML", "application/xml", binary_garbage(100_000)),
        ("a CSV with another header", "text/csv", csv.replace("entry_ref,", "ref,").into_bytes()),
        ("a CSV without its header", "text/csv", csv.lines().nth(1).expect("a row").as_bytes().to_vec()),
        ("JSON", "application/json", json!({"entries": [{"decision_no": no}]}).to_string().into_bytes()),
        ("blank lines only", "text/csv", b"\n\r\n  \n".to_vec()),
    ];
    for (what, content_type, body) in cases {
        let response = bank.upload(content_type, body).await;
        assert_eq!(response.status(), 422, "{what}");
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body["error"]["code"], "invalid_statement", "{what}: {body}");
        assert!(!body["error"]["message"].as_str().unwrap_or_default().is_empty(), "{what}: says why");
        assert_eq!(body["error"]["details"]["status"], "refused", "{what}: {body}");
        assert_eq!(body["error"]["details"]["lines_read"], 0, "{what}: {body}");
    }
    assert_eq!(bank_payment_rows(&app), 0);
    assert!(exception_list(&app).is_empty());
    assert_unpaid(&app, &[no], "no refused file pays it");
}

/// A valid CSV statement of exactly `size` bytes whose first row settles `decision_no`; the rest
/// is one debit whose reference pads the file.
fn statement_of_size(app: &TestApp, decision_no: &str, size: usize) -> String {
    let now = app.now().to_rfc3339();
    let mut csv = format!("{CSV_HEADER}{}", csv_line("E1", &now, 20_000, "C,BOOK,", "", decision_no));
    let fee = format!("FEE,{now},100,D,BOOK,,,");
    let padding = size - csv.len() - fee.len() - 1;
    csv += &format!("{fee}{}\n", "x".repeat(padding));
    assert_eq!(csv.len(), size);
    csv
}

/// POSTs `body` as a chunked upload (no Content-Length) over a plain connection; (status, JSON
/// body).
async fn post_chunked(app: &TestApp, token: &str, body: &[u8]) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.expect("connects");
    let head = format!(
        "POST /bank/v1/statements HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: text/csv\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    let mut request = head.into_bytes();
    for chunk in body.chunks(1000) {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    // The server may answer and close before it has read everything: that is its right.
    let _ = stream.write_all(&request).await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").expect("a whole response");
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status line");
    let body =
        if head.to_ascii_lowercase().contains("transfer-encoding: chunked") { dechunk(body) } else { body.to_owned() };
    (status, serde_json::from_str(&body).unwrap_or_else(|e| panic!("JSON body ({e}): {body:?}")))
}

fn dechunk(mut text: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = text.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).expect("a chunk size");
        if size == 0 {
            break;
        }
        out += &rest[..size];
        text = &rest[size + 2..];
    }
    out
}

#[tokio::test]
async fn a_statement_over_max_statement_bytes_gets_413_and_records_nothing() {
    let app = spawn_app_with(&[("bank.max_statement_bytes", "4096")]).await;
    let bank = Bank::new(&app, "ICBC");
    let no = bank_fine(&app).await;
    let too_large = statement_of_size(&app, &no, 4097);

    // Declared too large: refused before a byte is read.
    let response = bank.upload("text/csv", too_large.clone()).await;
    assert_eq!(response.status(), 413);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["error"]["code"], "payload_too_large", "{body}");
    assert_eq!(body["error"]["details"], json!({"limit_bytes": 4096}));
    assert!(body["error"]["message"].as_str().expect("message").contains("finepay bank import"), "{body}");

    // Not declared (chunked): refused before a byte is read, since a chunked upload cut by the
    // network could not be told from a whole one.
    let (status, body) = post_chunked(&app, &bank.token, too_large.as_bytes()).await;
    assert_eq!((status, body["error"]["code"].clone()), (411, json!("length_required")), "{body}");

    assert_eq!(bank_payment_rows(&app), 0);
    assert_unpaid(&app, std::slice::from_ref(&no), "a refused upload pays nothing");

    // The limit itself is allowed.
    let response = bank.upload("text/csv", statement_of_size(&app, &no, 4096)).await;
    assert_eq!(response.status(), 200);
    let report = response.json::<Value>().await.expect("JSON");
    assert_eq!((report["outcomes"]["settled"].clone(), report["bytes"].clone()), (json!(1), json!(4096)), "{report}");
    assert_paid_at_bank(&app, &[no]);
}

#[tokio::test]
async fn an_empty_body_and_callers_other_than_a_bank_are_refused_and_record_nothing() {
    let app = spawn_app().await;
    let bank = Bank::new(&app, "ICBC");
    let no = bank_fine(&app).await;
    let statement = format!("{CSV_HEADER}{}", csv_line("E1", &app.now().to_rfc3339(), 20_000, "C,BOOK,", "", &no));
    let officer = app.officer(BANK_DISTRICT);
    let admin = app.credential(&Binding::Admin { name: "ops".into() });
    let unknown = format!("fpb_{}", "a".repeat(32));
    let cases: [(&str, Option<&str>, &str, u16, &str); 6] = [
        ("an empty body", Some(&bank.token), "", 400, "invalid_request"),
        ("an officer", Some(&officer), &statement, 403, "forbidden"),
        ("an admin", Some(&admin), &statement, 403, "forbidden"),
        ("no credential", None, &statement, 401, "unauthorized"),
        ("an unknown token", Some(&unknown), &statement, 401, "unauthorized"),
        ("not a bearer token", Some(""), &statement, 401, "unauthorized"),
    ];
    for (who, token, body, status, code) in cases {
        let mut request = app
            .http
            .post(format!("{}/bank/v1/statements", app.address))
            .header("Content-Type", "text/csv")
            .body(body.to_owned());
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let response = request.send().await.expect("sent");
        assert_eq!(error_of(response).await, (status, code.to_owned()), "{who}");
    }
    assert_eq!(bank_payment_rows(&app), 0);
    assert_unpaid(&app, &[no], "nobody's upload was read");
}

#[tokio::test]
async fn a_camt054_notification_with_two_entries_settles_both() {
    let app = spawn_app().await;
    let bank = Bank::new(&app, "ICBC");
    let numbers = bank_fines(&app, 2).await;
    let xml = camt054(
        &[
            Ntry::credit("ICBC-N-1", rf(&numbers[0])),
            Ntry::credit("ICBC-N-2", format!("交通罚款 决定书编号{} 张三", numbers[1])),
        ],
        &today(&app),
    );
    let response = bank.upload("application/xml", xml).await;
    assert_eq!(response.status(), 200);
    let report: Value = response.json().await.expect("JSON");
    assert_eq!(
        (report["format"].clone(), report["status"].clone(), report["lines_read"].clone()),
        (json!("camt.054"), json!("complete"), json!(2)),
        "{report}"
    );
    assert_eq!((report["matched"].clone(), report["outcomes"]["settled"].clone()), (json!(2), json!(2)));
    assert_eq!(report["settled_fen"], 40_000);
    assert_paid_at_bank(&app, &numbers);
    assert_eq!(
        recorded(&app),
        [
            ("ICBC-N-1".to_owned(), Some(numbers[0].clone()), "settled".to_owned()),
            ("ICBC-N-2".to_owned(), Some(numbers[1].clone()), "settled".to_owned()),
        ]
    );
    assert!(exception_list(&app).is_empty());
}

#[tokio::test]
async fn pending_and_information_entries_debits_and_other_currencies_settle_nothing() {
    let app = spawn_app().await;
    let bank = Bank::new(&app, "ICBC");
    let numbers = bank_fines(&app, 6).await;
    let [pending, info, debit, euro, camt_good, csv_good] = <[String; 6]>::try_from(numbers).expect("six");
    let entries = [
        Ntry { status: "PDNG", ..Ntry::credit("N-PDNG", rf(&pending)) },
        Ntry { status: "INFO", ..Ntry::credit("N-INFO", rf(&info)) },
        Ntry { direction: "DBIT", ..Ntry::credit("N-DBIT", rf(&debit)) },
        Ntry { currency: "EUR", ..Ntry::credit("N-EUR", rf(&euro)) },
        Ntry::credit("N-GOOD", rf(&camt_good)),
    ];
    let report: Value =
        bank.upload("application/xml", camt054(&entries, &today(&app))).await.json().await.expect("JSON");
    assert_eq!((report["status"].clone(), report["lines_read"].clone()), (json!("complete"), json!(5)), "{report}");
    assert_eq!(report["outcomes"]["settled"], 1);
    assert_eq!((report["skipped_not_booked"].clone(), report["skipped_debits"].clone()), (json!(2), json!(1)));
    assert_eq!(report["bad_lines"], 1);
    assert_eq!(report["errors"], json!([{"line_no": 4, "entry_ref": "N-EUR", "message": "currency EUR is not CNY"}]));

    // The same kinds of line in a CSV statement (which is in CNY by definition).
    let now = app.now().to_rfc3339();
    let mut csv = String::from(CSV_HEADER);
    csv += &csv_line("C-PDNG", &now, 20_000, "C,PDNG,", "", &pending);
    csv += &csv_line("C-INFO", &now, 20_000, "C,INFO,", "", &info);
    csv += &csv_line("C-DBIT", &now, 20_000, "D,BOOK,", "", &debit);
    csv += &csv_line("C-GOOD", &now, 20_000, "C,,", "", &csv_good);
    let report: Value = bank.upload("text/csv", csv).await.json().await.expect("JSON");
    assert_eq!(report["outcomes"]["settled"], 1, "an empty status is booked: {report}");
    assert_eq!((report["skipped_not_booked"].clone(), report["skipped_debits"].clone()), (json!(2), json!(1)));
    assert_eq!(report["bad_lines"], 0);

    assert_paid_at_bank(&app, &[camt_good, csv_good]);
    assert_unpaid(&app, &[pending, info, debit, euro], "not a booked credit in CNY");
    let references: Vec<String> = recorded(&app).into_iter().map(|(reference, _, _)| reference).collect();
    assert_eq!(references, ["C-GOOD", "N-GOOD"]);
    assert!(exception_list(&app).is_empty());
}
