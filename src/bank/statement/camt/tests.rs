//! camt.053 and camt.054 against bank-like fixtures and against hostile or broken files: which
//! lines come out, which are LineErrors, and where the file stops being readable.

use super::super::{Direction, EntryStatus, Format, Item, StatementError, StatementLine, StatementReader};
use crate::bank::reference::find_decision_no;
use chrono::{DateTime, NaiveDate};
use std::io::{BufReader, Read};

const CAMT053: &str = include_str!("../../../../tests/fixtures/statements/camt053_v08.xml");
const CAMT054: &str = include_str!("../../../../tests/fixtures/statements/camt054_v08.xml");

fn read_all(format: Format, text: &str) -> (Vec<Item>, Option<StatementError>) {
    let mut reader = StatementReader::new(format, text.as_bytes()).expect("a statement");
    let mut items = Vec::new();
    loop {
        match reader.next_item() {
            Ok(Some(item)) => items.push(item),
            Ok(None) => return (items, None),
            Err(error) => {
                assert!(matches!(reader.next_item(), Ok(None)), "a failed reader stays ended");
                return (items, Some(error));
            }
        }
    }
}

fn lines(format: Format, text: &str) -> Vec<StatementLine> {
    let (items, error) = read_all(format, text);
    assert!(error.is_none(), "{error:?}");
    items.into_iter().map(|item| item.expect("a good line")).collect()
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, d).expect("valid date")
}

/// A camt.053 of `version` with one statement holding `entries`.
fn statement(version: &str, entries: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version}">
<BkToCstmrStmt><GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-11-22T06:00:00+08:00</CreDtTm></GrpHdr>
<Stmt><Id>S1</Id><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct>{entries}</Stmt>
</BkToCstmrStmt></Document>"#
    )
}

/// A booked credit of `amount` yuan with AcctSvcrRef `reference` and `extra` elements appended.
fn entry(reference: &str, amount: &str, extra: &str) -> String {
    format!(
        "<Ntry><Amt Ccy=\"CNY\">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>\
         <BookgDt><Dt>2026-11-21</Dt></BookgDt><AcctSvcrRef>{reference}</AcctSvcrRef>{extra}</Ntry>"
    )
}

#[test]
fn reads_every_kind_of_entry_of_a_camt053() {
    let mut reader = StatementReader::new(Format::Camt053, CAMT053.as_bytes()).expect("a camt.053");
    let first = reader.next_item().expect("readable").expect("a line").expect("a good line");
    assert_eq!(reader.account(), Some("110060224018010034567"));
    assert_eq!(
        first,
        StatementLine {
            line_no: 1,
            entry_ref: "CCB2026112100001".into(),
            booked_on: day(21),
            booked_at: Some(DateTime::parse_from_rfc3339("2026-11-21T10:15:32+08:00").expect("valid")),
            amount_fen: 20000,
            currency: "CNY".into(),
            direction: Direction::Credit,
            status: EntryStatus::Booked,
            reversal: false,
            transaction_ref: Some("CN20261121CCB0000918".into()),
            references: vec!["RF741101052611210000176".into()],
        }
    );

    let rest = lines(Format::Camt053, CAMT053).split_off(1);
    let summary: Vec<_> = rest
        .iter()
        .map(|l| (l.line_no, l.entry_ref.as_str(), l.amount_fen, l.direction, l.status, l.reversal, l.booked_on))
        .collect();
    assert_eq!(
        summary,
        [
            (2, "CCB2026112100002", 15000, Direction::Credit, EntryStatus::Booked, false, day(21)),
            (3, "CCB2026112100003", 10000, Direction::Credit, EntryStatus::Pending, false, day(23)),
            (4, "CCB2026112100004", 1500, Direction::Debit, EntryStatus::Booked, false, day(21)),
            (5, "CCB2026112100005", 15000, Direction::Debit, EntryStatus::Booked, true, day(21)),
        ]
    );
    let (ustrd, pending, fee, reversal) = (&rest[0], &rest[1], &rest[2], &rest[3]);
    assert_eq!(ustrd.references, ["交通罚款 决定书编号1101052611210000273 李四", "京A·12345 & 谢谢"]);
    assert_eq!(ustrd.booked_at, None, "a date without a time");
    assert_eq!(pending.booked_on, day(23), "no booking date yet: the value date");
    assert!(fee.references.is_empty() && fee.transaction_ref.is_none());
    assert_eq!(reversal.transaction_ref, ustrd.transaction_ref, "pairs with the entry it cancels");
    assert_eq!(reversal.transaction_ref.as_deref(), Some("E2E-LISI-20261121-01"));

    let found: Vec<_> = [&first, ustrd, pending]
        .iter()
        .map(|l| find_decision_no(&l.references.iter().map(String::as_str).collect::<Vec<_>>()))
        .map(|named| named.sole().map(|no| no.to_string()))
        .collect();
    assert_eq!(
        found,
        [Some("1101052611210000176"), Some("1101052611210000273"), Some("1101052611210000370")]
            .map(|s| s.map(str::to_owned))
    );
}

#[test]
fn reads_a_camt054_with_a_batch_entry() {
    let mut reader = StatementReader::new(Format::Camt054, CAMT054.as_bytes()).expect("a camt.054");
    let batch = reader.next_item().expect("readable").expect("a line").expect("a good line");
    assert_eq!(reader.account(), Some("0200001209000777123"));
    assert_eq!((batch.entry_ref.as_str(), batch.amount_fen), ("ICBC20261121N0451", 35000), "the entry's amount");
    assert_eq!(batch.references, ["RF741101052611210000467", "RF741101052611210000564", "车队代缴 第2笔"]);
    assert_eq!(batch.transaction_ref.as_deref(), Some("FLEET-2026-11-0042"), "NOTPROVIDED is no reference");

    let second = reader.next_item().expect("readable").expect("a line").expect("a good line");
    assert_eq!(second.line_no, 2);
    assert_eq!(second.entry_ref, "N0452", "NtryRef when there is no AcctSvcrRef");
    assert_eq!((second.booked_on, second.booked_at), (day(21), None), "a local time without offset keeps its date");
    assert_eq!(second.references, ["罚款 3101012611200004208 <沪>"]);
    assert_eq!(second.transaction_ref.as_deref(), Some("ICBC-TX-88120451"));
    assert!(matches!(reader.next_item(), Ok(None)));
    assert_eq!(reader.bytes_read(), CAMT054.trim_end().len() as u64, "read to the end of the root");
}

#[test]
fn refuses_files_that_are_not_the_expected_message() {
    let document = |namespace: &str, root: &str| {
        format!(r#"<?xml version="1.0"?><Document xmlns="{namespace}"><{root}><GrpHdr/></{root}></Document>"#)
    };
    let iso = "urn:iso:std:iso:20022:tech:xsd:";
    let cases: [(&str, Format, String); 11] = [
        ("camt.052", Format::Camt053, document(&format!("{iso}camt.052.001.08"), "BkToCstmrAcctRpt")),
        ("pain.001", Format::Camt053, document(&format!("{iso}pain.001.001.09"), "CstmrCdtTrfInitn")),
        ("no namespace", Format::Camt053, "<Document><BkToCstmrStmt></BkToCstmrStmt></Document>".into()),
        (
            "camt.054 read as camt.053",
            Format::Camt053,
            document(&format!("{iso}camt.054.001.08"), "BkToCstmrDbtCdtNtfctn"),
        ),
        ("version .01", Format::Camt053, document(&format!("{iso}camt.053.001.01"), "BkToCstmrStmt")),
        ("version .14", Format::Camt053, document(&format!("{iso}camt.053.001.14"), "BkToCstmrStmt")),
        ("wrong root", Format::Camt054, document(&format!("{iso}camt.054.001.08"), "BkToCstmrStmt")),
        ("empty document", Format::Camt053, format!(r#"<Document xmlns="{iso}camt.053.001.08"/>"#)),
        ("a CSV", Format::Camt053, "entry_ref,booked_at\nE1,2026-11-21\n".into()),
        ("GBK", Format::Camt053, format!(r#"<?xml version="1.0" encoding="GBK"?>{}"#, statement("08", ""))),
        ("empty file", Format::Camt054, String::new()),
    ];
    for (name, format, text) in cases {
        let result = StatementReader::new(format, text.as_bytes());
        assert!(matches!(result, Err(StatementError::NotAStatement(_))), "{name}: {:?}", result.err());
    }
    let prefixed = r#"<c:Document xmlns:c="urn:iso:std:iso:20022:tech:xsd:camt.053.001.13"><c:BkToCstmrStmt>
        <c:Stmt><c:Ntry><c:Amt Ccy="CNY">1.00</c:Amt><c:CdtDbtInd>CRDT</c:CdtDbtInd><c:Sts><c:Cd>BOOK</c:Cd></c:Sts>
        <c:BookgDt><c:Dt>2026-11-21</c:Dt></c:BookgDt><c:AcctSvcrRef>A1</c:AcctSvcrRef></c:Ntry></c:Stmt>
        </c:BkToCstmrStmt></c:Document>"#;
    assert_eq!(lines(Format::Camt053, prefixed)[0].amount_fen, 100, "a prefix is as good as a default namespace");
}

#[test]
fn a_truncated_file_yields_its_complete_entries_then_fails() {
    let second_entry = CAMT053.match_indices("<Ntry>").nth(1).map(|(at, _)| at).expect("two entries");
    let truncated = &CAMT053[..second_entry + 120];
    let (items, error) = read_all(Format::Camt053, truncated);
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].as_ref().map(|l| l.entry_ref.as_str()), Ok("CCB2026112100001"));
    assert!(
        matches!(error, Some(StatementError::Malformed { at_byte, .. }) if at_byte > second_entry as u64),
        "{error:?}"
    );

    let cut_in_a_tag = &CAMT053[..CAMT053.find("</Ntry>").expect("an entry") + 4];
    let (items, error) = read_all(Format::Camt053, cut_in_a_tag);
    assert!(items.is_empty());
    assert!(matches!(error, Some(StatementError::Malformed { .. })), "{error:?}");
}

#[test]
fn a_bad_entry_is_a_line_error_and_the_next_is_still_read() {
    let no_reference = "<Ntry><Amt Ccy=\"CNY\">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>\
                        <BookgDt><Dt>2026-11-21</Dt></BookgDt></Ntry>";
    let entries = [
        no_reference.to_owned(),
        entry("A2", "12.345", ""),
        entry("A3", "0.00", ""),
        entry("A4", "-1.00", ""),
        entry("A5", "99999999999999999.00", ""),
        entry("A6", "1.00", "<NtryDtls><TxDtls><RmtInf><Ustrd>x</Ustrd></RmtInf></TxDtls></NtryDtls>")
            .replace("CRDT", "CRED"),
        entry("A7", "1.00", "").replace("<Sts><Cd>BOOK</Cd></Sts>", ""),
        entry("A8", "1.00", "").replace("2026-11-21", "21.11.2026"),
        entry("A9", "42.00", "").replace("CNY", "EUR"),
    ];
    let (items, error) = read_all(Format::Camt053, &statement("02", &entries.concat()));
    assert!(error.is_none(), "{error:?}");
    let errors: Vec<_> =
        items.iter().filter_map(|item| item.as_ref().err()).map(|e| (e.line_no, e.entry_ref.as_deref())).collect();
    assert_eq!(
        errors,
        [
            (1, None),
            (2, Some("A2")),
            (3, Some("A3")),
            (4, Some("A4")),
            (5, Some("A5")),
            (6, Some("A6")),
            (7, Some("A7")),
            (8, Some("A8"))
        ]
    );
    let messages: Vec<_> = items.iter().filter_map(|item| item.as_ref().err()).map(|e| e.message.as_str()).collect();
    assert!(messages[1].contains("more than two decimals") && messages[2].contains("zero"), "{messages:?}");
    let euro = items[8].as_ref().expect("another currency is still a line");
    assert_eq!((euro.currency.as_str(), euro.amount_fen, euro.status), ("EUR", 4200, EntryStatus::Booked));
}

#[test]
fn follows_several_statements_and_the_plain_status_of_early_versions() {
    let two = statement("02", &entry("A1", "1.00", "")).replace(
        "</Stmt>",
        "</Stmt><Stmt><Acct><Id><Othr><Id>ACC-2</Id></Othr></Id></Acct><Ntry><Amt Ccy=\"CNY\">2.00</Amt>\
         <CdtDbtInd>DBIT</CdtDbtInd><Sts>INFO</Sts><BookgDt><Dt>2026-11-21</Dt></BookgDt><NtryRef>R2</NtryRef></Ntry></Stmt>",
    );
    let mut reader = StatementReader::new(Format::Camt053, two.as_bytes()).expect("a camt.053");
    let first = reader.next_item().expect("readable").expect("a line").expect("a good line");
    assert_eq!(reader.account(), Some("DE89370400440532013000"));
    let second = reader.next_item().expect("readable").expect("a line").expect("a good line");
    assert_eq!(reader.account(), Some("ACC-2"));
    assert_eq!((first.line_no, second.line_no), (1, 2));
    assert_eq!(
        (second.status, second.direction, second.entry_ref.as_str()),
        (EntryStatus::Info, Direction::Debit, "R2")
    );
}

#[test]
fn ignores_elements_of_other_namespaces_and_unknown_ones() {
    let extra = r#"<x:Amt xmlns:x="urn:example:bank">999.00</x:Amt><AddtlNtryInf>note</AddtlNtryInf>
        <NtryDtls><TxDtls><RmtInf><Ustrd xmlns="urn:example:bank">foreign</Ustrd><Ustrd>ours</Ustrd></RmtInf>
        <SplmtryData><Envlp><Ntry><Amt Ccy="CNY">7.00</Amt></Ntry></Envlp></SplmtryData></TxDtls></NtryDtls>"#;
    let line = &lines(Format::Camt053, &statement("08", &entry("A1", "3.00", extra)))[0];
    assert_eq!((line.amount_fen, line.references.as_slice()), (300, &["ours".to_owned()][..]));
}

#[test]
fn bounds_what_a_hostile_file_can_make_it_hold() {
    let long_text =
        format!("<NtryDtls><TxDtls><RmtInf><Ustrd>{}</Ustrd></RmtInf></TxDtls></NtryDtls>", "x".repeat(1025));
    let many_texts =
        format!("<NtryDtls><TxDtls><RmtInf>{}</RmtInf></TxDtls></NtryDtls>", "<Ustrd>x</Ustrd>".repeat(65));
    let entries = [entry("A1", "1.00", &long_text), entry("A2", "1.00", &many_texts), entry("A3", "1.00", "")];
    let (items, error) = read_all(Format::Camt053, &statement("08", &entries.concat()));
    assert!(error.is_none(), "{error:?}");
    let refs: Vec<_> =
        items.iter().map(|i| i.as_ref().map(|l| l.entry_ref.as_str()).map_err(|e| e.message.as_str())).collect();
    assert!(refs[0].is_err_and(|m| m.contains("1024")) && refs[1].is_err_and(|m| m.contains("64")), "{refs:?}");
    assert_eq!(refs[2], Ok("A3"));

    let deep = format!("{}{}", "<AddtlNtryInf>".repeat(70), "</AddtlNtryInf>".repeat(70));
    let huge = format!("<AddtlNtryInf>{}</AddtlNtryInf>", "y".repeat(100_000));
    let undefined = "<NtryDtls><TxDtls><RmtInf><Ustrd>&bogus;</Ustrd></RmtInf></TxDtls></NtryDtls>".to_owned();
    for (name, extra) in [("deep", deep), ("huge", huge), ("undefined entity", undefined)] {
        let text = statement("08", &[entry("A1", "1.00", ""), entry("A2", "1.00", &extra)].concat());
        let (items, error) = read_all(Format::Camt053, &text);
        assert_eq!(items.len(), 1, "{name}");
        assert!(matches!(error, Some(StatementError::Malformed { .. })), "{name}: {error:?}");
    }
}

/// A camt.053 of `entries` entries made as it is read, so the test holds none of it.
struct Generated {
    entries: u64,
    made: u64,
    chunk: Vec<u8>,
    at: usize,
}

impl Read for Generated {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.chunk.len() {
            self.chunk.clear();
            self.at = 0;
            let text = match self.made {
                0 => statement("08", "").split("</Stmt>").next().unwrap_or_default().to_owned(),
                n if n <= self.entries => {
                    let reference =
                        format!("<NtryDtls><TxDtls><RmtInf><Ustrd>fine {n}</Ustrd></RmtInf></TxDtls></NtryDtls>");
                    entry(&format!("E{n}"), "200.00", &reference)
                }
                n if n == self.entries + 1 => "</Stmt></BkToCstmrStmt></Document>".to_owned(),
                _ => return Ok(0),
            };
            self.made += 1;
            self.chunk.extend_from_slice(text.as_bytes());
        }
        let n = out.len().min(self.chunk.len() - self.at);
        out[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[test]
fn streams_a_long_file_in_constant_memory_and_reports_progress() {
    let input = BufReader::new(Generated { entries: 20_000, made: 0, chunk: Vec::new(), at: 0 });
    let mut reader = StatementReader::new(Format::Camt053, input).expect("a camt.053");
    let (mut count, mut last_bytes) = (0u64, reader.bytes_read());
    while let Some(item) = reader.next_item().expect("readable") {
        let line = item.expect("a good line");
        count += 1;
        assert_eq!(line.line_no, count);
        assert!(reader.bytes_read() > last_bytes, "bytes_read grows with every line");
        last_bytes = reader.bytes_read();
    }
    assert_eq!(count, 20_000);
    let super::super::Inner::Camt(camt) = &reader.inner else { panic!("a camt reader") };
    assert!(camt.buf.capacity() < 4096, "one event at a time: {}", camt.buf.capacity());
    assert!(camt.state.path.capacity() <= super::MAX_DEPTH);
    assert!(camt.state.text.capacity() <= super::MAX_TEXT);
}
