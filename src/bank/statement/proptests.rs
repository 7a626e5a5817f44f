//! Property tests of the statement readers, which take a bank's file byte for byte: whatever the
//! bytes, reading a CSV, camt.053 or camt.054 statement ends — in lines, line errors, `Ok(None)`
//! or one `Err` — and never panics or loops, and a file written by the documented rules (CSV
//! quoting, the camt.054 shape a bank sends) reads back to the very lines that were written.

use super::{Direction, EntryStatus, Format, StatementLine, StatementReader, csv};
use crate::domain::proptest_support::cases;
use chrono::{DateTime, FixedOffset, NaiveDate};
use proptest::prelude::*;

/// Reads `bytes` to its end and says whether `new` took the file at all. Fails the property on
/// a reader that does not end within `bytes.len() + 10` items, reads past the end, or answers
/// anything but `Ok(None)` after its `Err`.
fn read_to_the_end(format: Format, bytes: &[u8]) -> Result<bool, TestCaseError> {
    let Ok(mut reader) = StatementReader::new(format, bytes) else { return Ok(false) };
    for _ in 0..bytes.len() + 10 {
        match reader.next_item() {
            Ok(Some(_)) => {}
            Ok(None) => return Ok(true),
            Err(_) => {
                prop_assert!(matches!(reader.next_item(), Ok(None)), "a failed reader stays ended");
                return Ok(true);
            }
        }
        prop_assert!(reader.bytes_read() <= bytes.len() as u64, "read past the end");
    }
    Err(TestCaseError::fail(format!("no end after {} items", bytes.len() + 10)))
}

/// The lines of a statement that must read without any error.
fn read_lines(format: Format, bytes: &[u8]) -> Result<Vec<StatementLine>, TestCaseError> {
    let mut reader = StatementReader::new(format, bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mut lines = Vec::new();
    for _ in 0..bytes.len() + 10 {
        match reader.next_item() {
            Ok(Some(Ok(line))) => lines.push(line),
            Ok(Some(Err(bad))) => return Err(TestCaseError::fail(format!("a line error: {bad:?}"))),
            Ok(None) => return Ok(lines),
            Err(error) => return Err(TestCaseError::fail(error.to_string())),
        }
    }
    Err(TestCaseError::fail("no end"))
}

/// The start of a camt document of `format` up to its root element, the part `new` checks.
fn camt_head(format: Format) -> &'static str {
    match format {
        Format::Camt053 => {
            r#"<?xml version="1.0" encoding="UTF-8"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt><Stmt>"#
        }
        _ => {
            r#"<?xml version="1.0" encoding="UTF-8"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"><BkToCstmrDbtCdtNtfctn><Ntfctn>"#
        }
    }
}

// ---------------------------------------------------------------------------------------------
// What is written: lines generated within the documented rules.

/// One booking as a test writes it.
#[derive(Debug, Clone)]
struct Written {
    entry_ref: String,
    booked: Booked,
    amount_fen: i64,
    direction: Direction,
    status: EntryStatus,
    reversal: bool,
    transaction_ref: Option<String>,
    reference: String,
}

#[derive(Debug, Clone)]
enum Booked {
    On(NaiveDate),
    At(DateTime<FixedOffset>),
}

impl Booked {
    fn date(&self) -> NaiveDate {
        match self {
            Booked::On(day) => *day,
            Booked::At(at) => at.date_naive(),
        }
    }

    fn instant(&self) -> Option<DateTime<FixedOffset>> {
        match self {
            Booked::On(_) => None,
            Booked::At(at) => Some(*at),
        }
    }
}

fn day() -> impl Strategy<Value = NaiveDate> {
    let first = NaiveDate::from_ymd_opt(2000, 1, 1).expect("a date");
    (0u64..36_500).prop_map(move |n| first + chrono::Days::new(n))
}

fn booked() -> impl Strategy<Value = Booked> {
    let instant = (946_684_800i64..4_102_444_800, -14 * 60..=14 * 60i32).prop_map(|(secs, minutes)| {
        let offset = FixedOffset::east_opt(minutes * 60).expect("within a day");
        Booked::At(DateTime::from_timestamp(secs, 0).expect("in range").with_timezone(&offset))
    });
    prop_oneof![day().prop_map(Booked::On), instant]
}

fn direction() -> impl Strategy<Value = Direction> {
    prop_oneof![Just(Direction::Credit), Just(Direction::Debit)]
}

fn status() -> impl Strategy<Value = EntryStatus> {
    prop_oneof![Just(EntryStatus::Booked), Just(EntryStatus::Pending), Just(EntryStatus::Info)]
}

/// Free text as a payer writes it: any printable character, and in CSV also commas, quotes,
/// tabs and line breaks (the format quotes them).
fn csv_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            6 => any::<char>().prop_filter("storable", |c| !c.is_control()),
            1 => prop::sample::select(vec![',', '"', '\t', '\n', '\r', ' ']),
        ],
        0..60,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

fn written(text: impl Strategy<Value = String>) -> impl Strategy<Value = Written> {
    (
        "[A-Z0-9]{1,20}",
        booked(),
        1i64..1_000_000_000,
        direction(),
        status(),
        any::<bool>(),
        proptest::option::of("[A-Z0-9-]{1,20}"),
        text,
    )
        .prop_map(|(entry_ref, booked, amount_fen, direction, status, reversal, transaction_ref, reference)| {
            Written { entry_ref, booked, amount_fen, direction, status, reversal, transaction_ref, reference }
        })
}

/// A CSV field, quoted as RFC 4180 says when it holds a comma, quote or line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_owned() }
}

/// The statement holding `lines` (a header, then a row each, ending in `line_end`), and the
/// line each row starts on.
fn csv_file(lines: &[Written], line_end: &str) -> (String, Vec<u64>) {
    let mut file = format!("{}{line_end}", csv::HEADER);
    let mut starts = Vec::new();
    for line in lines {
        starts.push(1 + file.matches('\n').count() as u64);
        let booked_at = match &line.booked {
            Booked::On(day) => day.format("%Y-%m-%d").to_string(),
            Booked::At(at) => at.to_rfc3339(),
        };
        let fields = [
            line.entry_ref.clone(),
            booked_at,
            line.amount_fen.to_string(),
            match line.direction {
                Direction::Credit => "C".into(),
                Direction::Debit => "D".into(),
            },
            match line.status {
                EntryStatus::Booked => "BOOK".into(),
                EntryStatus::Pending => "PDNG".into(),
                EntryStatus::Info => "INFO".into(),
            },
            if line.reversal { "1".into() } else { "0".into() },
            line.transaction_ref.clone().unwrap_or_default(),
            line.reference.clone(),
        ];
        let row: Vec<String> = fields.iter().map(|field| csv_field(field)).collect();
        file += &row.join(",");
        file += line_end;
    }
    (file, starts)
}

/// Text made safe as XML character data.
fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// A camt.054 in the shape of a bank's notification (the one the API tests send): each entry's
/// amount, direction, status, booking date, reference, transaction id and remittance text.
fn camt054_file(lines: &[Written]) -> String {
    let mut xml = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"><BkToCstmrDbtCdtNtfctn>
<GrpHdr><MsgId>NTF-1</MsgId><CreDtTm>2026-11-21T14:00:00+08:00</CreDtTm></GrpHdr>
<Ntfctn><Id>N1</Id><Acct><Id><Othr><Id>0200001209000777123</Id></Othr></Id></Acct>"#,
    );
    for line in lines {
        let text = xml_escape(&line.reference);
        let remittance = if line.reference.starts_with("RF") {
            format!("<Strd><CdtrRefInf><Ref>{text}</Ref></CdtrRefInf></Strd>")
        } else {
            format!("<Ustrd>{text}</Ustrd>")
        };
        let direction = match line.direction {
            Direction::Credit => "CRDT",
            Direction::Debit => "DBIT",
        };
        let status = match line.status {
            EntryStatus::Booked => "BOOK",
            EntryStatus::Pending => "PDNG",
            EntryStatus::Info => "INFO",
        };
        xml += &format!(
            r#"
<Ntry><Amt Ccy="CNY">{}.{:02}</Amt><CdtDbtInd>{direction}</CdtDbtInd><Sts><Cd>{status}</Cd></Sts>
<BookgDt><Dt>{}</Dt></BookgDt><AcctSvcrRef>{}</AcctSvcrRef>
<NtryDtls><TxDtls><Refs><TxId>TX-{}</TxId></Refs><RmtInf>{remittance}</RmtInf></TxDtls></NtryDtls></Ntry>"#,
            line.amount_fen / 100,
            line.amount_fen % 100,
            line.booked.date().format("%Y-%m-%d"),
            line.entry_ref,
            line.entry_ref,
        );
    }
    xml + "\n</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>\n"
}

/// Free text as a camt file carries it: printable characters, the XML specials escaped.
fn camt_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,60}",
        proptest::collection::vec(
            prop::sample::select(vec!['&', '<', '>', '"', '\'', 'R', 'F', '7', ' ', '罚']),
            0..30
        )
        .prop_map(|chars| chars.into_iter().collect()),
    ]
}

fn camt_lines() -> impl Strategy<Value = Vec<Written>> {
    proptest::collection::vec(
        written(camt_text()).prop_map(|mut line| {
            line.booked = Booked::On(line.booked.date());
            line
        }),
        1..6,
    )
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn any_bytes_end_in_lines_or_an_error_never_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        for format in [Format::Csv, Format::Camt053, Format::Camt054] {
            read_to_the_end(format, &bytes)?;
        }
    }

    #[test]
    fn any_bytes_after_a_valid_csv_header_end_in_lines_or_an_error(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
        line_end in prop::sample::select(vec!["\n", "\r\n"]),
    ) {
        let file = [format!("{}{line_end}", csv::HEADER).as_bytes(), &bytes].concat();
        prop_assert!(read_to_the_end(Format::Csv, &file)?, "the header is valid");
    }

    #[test]
    fn any_csv_text_after_the_header_ends_in_lines_or_an_error(text in "[a-zA-Z0-9,\"\r\n :+.-]{0,400}") {
        let file = format!("{}\n{text}", csv::HEADER);
        prop_assert!(read_to_the_end(Format::Csv, file.as_bytes())?, "the header is valid");
    }

    #[test]
    fn any_bytes_inside_a_camt_message_end_in_lines_or_an_error(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
        format in prop::sample::select(vec![Format::Camt053, Format::Camt054]),
    ) {
        let file = [camt_head(format).as_bytes(), &bytes].concat();
        prop_assert!(read_to_the_end(format, &file)?, "the head is valid");
    }

    #[test]
    fn any_xml_like_text_inside_a_camt_message_ends_in_lines_or_an_error(
        text in "(<(/)?(Ntry|Amt|Ccy|Sts|Cd|BookgDt|Dt|AcctSvcrRef|NtryDtls|TxDtls|RmtInf|Ustrd|x:Ntry)( Ccy=\"CNY\")?(/)?>|[a-zA-Z0-9 .&;#<>-]){0,80}",
        format in prop::sample::select(vec![Format::Camt053, Format::Camt054]),
    ) {
        let file = format!("{}{text}", camt_head(format));
        prop_assert!(read_to_the_end(format, file.as_bytes())?, "the head is valid");
    }

    #[test]
    fn a_written_csv_with_one_byte_changed_or_cut_ends_in_lines_or_an_error(
        lines in proptest::collection::vec(written(csv_text()), 1..5),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<bool>(),
    ) {
        let (file, _) = csv_file(&lines, "\n");
        let mut bytes = file.into_bytes();
        let at = at.index(bytes.len());
        if cut { bytes.truncate(at) } else { bytes[at] = byte }
        read_to_the_end(Format::Csv, &bytes)?;
    }

    #[test]
    fn a_written_camt054_with_one_byte_changed_or_cut_ends_in_lines_or_an_error(
        lines in camt_lines(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<bool>(),
    ) {
        let mut bytes = camt054_file(&lines).into_bytes();
        let at = at.index(bytes.len());
        if cut { bytes.truncate(at) } else { bytes[at] = byte }
        read_to_the_end(Format::Camt054, &bytes)?;
    }

    #[test]
    fn a_csv_written_by_the_documented_rules_reads_back_line_for_line(
        lines in proptest::collection::vec(written(csv_text()), 1..8),
        line_end in prop::sample::select(vec!["\n", "\r\n"]),
    ) {
        let (file, starts) = csv_file(&lines, line_end);
        let read = read_lines(Format::Csv, file.as_bytes())?;
        prop_assert_eq!(read.len(), lines.len());
        for ((line, wrote), start) in read.iter().zip(&lines).zip(starts) {
            prop_assert_eq!(line.line_no, start);
            prop_assert_eq!(&line.entry_ref, &wrote.entry_ref);
            prop_assert_eq!(line.booked_on, wrote.booked.date());
            prop_assert_eq!(line.booked_at, wrote.booked.instant());
            prop_assert_eq!(line.booked_at.map(|at| at.offset().local_minus_utc()), wrote.booked.instant().map(|at| at.offset().local_minus_utc()));
            prop_assert_eq!(line.amount_fen, wrote.amount_fen);
            prop_assert_eq!(line.currency.as_str(), "CNY");
            prop_assert_eq!(line.direction, wrote.direction);
            prop_assert_eq!(line.status, wrote.status);
            prop_assert_eq!(line.reversal, wrote.reversal);
            prop_assert_eq!(&line.transaction_ref, &wrote.transaction_ref);
            let expected: Vec<String> = Some(wrote.reference.clone()).filter(|r| !r.is_empty()).into_iter().collect();
            prop_assert_eq!(&line.references, &expected);
        }
    }

    #[test]
    fn a_camt054_written_like_a_banks_reads_back_entry_for_entry(lines in camt_lines()) {
        let file = camt054_file(&lines);
        prop_assert_eq!(Format::sniff(file.as_bytes()), Some(Format::Camt054));
        let read = read_lines(Format::Camt054, file.as_bytes())?;
        prop_assert_eq!(read.len(), lines.len());
        for (ordinal, (line, wrote)) in read.iter().zip(&lines).enumerate() {
            prop_assert_eq!(line.line_no, ordinal as u64 + 1);
            prop_assert_eq!(&line.entry_ref, &wrote.entry_ref);
            prop_assert_eq!(line.booked_on, wrote.booked.date());
            prop_assert_eq!(line.booked_at, None);
            prop_assert_eq!(line.amount_fen, wrote.amount_fen);
            prop_assert_eq!(line.currency.as_str(), "CNY");
            prop_assert_eq!(line.direction, wrote.direction);
            prop_assert_eq!(line.status, wrote.status);
            prop_assert!(!line.reversal);
            prop_assert_eq!(line.transaction_ref.clone(), Some(format!("TX-{}", wrote.entry_ref)));
            // camt texts are read trimmed, and an empty one is no reference.
            let trimmed = wrote.reference.trim();
            let expected: Vec<String> = Some(trimmed.to_owned()).filter(|r| !r.is_empty()).into_iter().collect();
            prop_assert_eq!(&line.references, &expected);
        }
    }
}
