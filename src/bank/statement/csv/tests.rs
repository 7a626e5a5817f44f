//! The CSV statement against a fixture holding every column variant and bad rows, and against
//! broken files: which rows come out, which are LineErrors, and where reading stops.

use super::super::{Direction, EntryStatus, Format, Item, StatementError, StatementLine, StatementReader};
use chrono::{DateTime, NaiveDate};

const FIXTURE: &str = include_str!("../../../../tests/fixtures/statements/statement.csv");
const HEADER_LINE: &str = "entry_ref,booked_at,amount_fen,direction,status,reversal,transaction_ref,reference\n";

fn read_all(text: &[u8]) -> (Vec<Item>, Option<StatementError>) {
    let mut reader = StatementReader::new(Format::Csv, text).expect("a CSV statement");
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

#[test]
fn reads_every_column_variant_and_reports_bad_rows_by_line() {
    let (items, error) = read_all(FIXTURE.as_bytes());
    assert!(error.is_none(), "{error:?}");
    let outline: Vec<_> = items
        .iter()
        .map(|item| match item {
            Ok(line) => (line.line_no, Some(line.entry_ref.as_str())),
            Err(error) => (error.line_no, error.entry_ref.as_deref().map(|_| "ERROR")),
        })
        .collect();
    assert_eq!(
        outline,
        [
            (2, Some("B2611210001")),
            (3, Some("B2611210002")),
            (4, Some("B2611210003")),
            (6, Some("ERROR")), // amount in yuan
            (7, Some("B2611210005")),
            (8, Some("ERROR")), // date not ISO
            (9, Some("B2611210007")),
            (10, Some("ERROR")), // six columns
            (11, Some("ERROR")), // direction X
            (12, None),          // no entry_ref
            (13, Some("ERROR")), // zero
            (14, Some("ERROR")), // status DONE
            (15, Some("ERROR")), // reversal "yes"
            (16, Some("B2611210014")),
        ]
    );
    let good: Vec<&StatementLine> = items.iter().filter_map(|item| item.as_ref().ok()).collect();
    let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).expect("valid date");
    assert_eq!(
        *good[0],
        StatementLine {
            line_no: 2,
            entry_ref: "B2611210001".into(),
            booked_on: day(21),
            booked_at: Some(DateTime::parse_from_rfc3339("2026-11-21T10:15:32+08:00").expect("valid")),
            amount_fen: 20000,
            currency: "CNY".into(),
            direction: Direction::Credit,
            status: EntryStatus::Booked,
            reversal: false,
            transaction_ref: Some("TX0001".into()),
            references: vec!["RF74 1101 0526 1121 0000 176".into()],
        }
    );
    assert_eq!(good[1].references, ["交通罚款 1101052611210000273, 李四"]);
    assert_eq!((good[1].status, good[1].reversal, good[1].booked_at), (EntryStatus::Booked, false, None));
    assert_eq!(good[2].references, ["quoted \"text\" with\na line break"]);
    assert_eq!((good[2].status, good[2].transaction_ref.as_deref()), (EntryStatus::Pending, None));
    assert_eq!((good[3].direction, good[3].status), (Direction::Debit, EntryStatus::Info));
    assert_eq!((good[4].reversal, good[4].transaction_ref.as_deref()), (true, Some("TX0002")));
    assert_eq!((good[5].reversal, good[5].status, good[5].booked_on), (true, EntryStatus::Booked, day(22)));

    let messages: Vec<_> = items.iter().filter_map(|item| item.as_ref().err()).map(|e| e.message.as_str()).collect();
    assert!(messages[0].contains("whole number of fen"), "{messages:?}");
    assert!(messages[2].contains("expected 8 columns, found 6"), "{messages:?}");
}

#[test]
fn refuses_a_file_without_the_header() {
    let cases: [(&str, &[u8]); 4] = [
        ("empty", b""),
        ("another header", b"date,amount,text\n2026-11-21,1,x\n"),
        (
            "header in another order",
            b"booked_at,entry_ref,amount_fen,direction,status,reversal,transaction_ref,reference\n",
        ),
        ("no header", b"B1,2026-11-21,20000,C,BOOK,0,,1101052611210000176\n"),
    ];
    for (name, text) in cases {
        let result = StatementReader::new(Format::Csv, text);
        assert!(matches!(result, Err(StatementError::NotAStatement(_))), "{name}: {:?}", result.err());
    }
    let header_only =
        StatementReader::new(Format::Csv, HEADER_LINE.as_bytes()).map(|mut r| r.next_item().ok().flatten());
    assert!(matches!(header_only, Ok(None)), "a header alone is an empty statement");
}

#[test]
fn broken_quoting_in_a_row_is_a_line_error_and_an_unclosed_quote_stops_the_file() {
    let rows = [
        "B1,2026-11-21,20000,C,BOOK,0,,say \"hi\"\n",
        "B2,2026-11-21,\"200\"00,C,BOOK,0,,fine\n",
        "B3,2026-11-21,20000,C,BOOK,0,,\"quoted, \"\"properly\"\"\"\n",
        "B4,2026-11-21,20000,C,BOOK,0,,\"closed only by the next row's quote\n",
        "B5,2026-11-21,20000,C,BOOK,0,,\"x\"\n",
        "B6,2026-11-21,20000,C,BOOK,0,,\"never closed\n",
        "B7,2026-11-21,20000,C,BOOK,0,,swallowed\n",
    ];
    let (items, error) = read_all(format!("{HEADER_LINE}{}", rows.concat()).as_bytes());
    let outline: Vec<_> = items
        .iter()
        .map(|item| match item {
            Ok(line) => (line.line_no, line.entry_ref.clone(), line.references.join("")),
            Err(error) => (error.line_no, error.entry_ref.clone().unwrap_or_default(), error.message.clone()),
        })
        .collect();
    assert_eq!(
        outline,
        [
            (
                2,
                "B1".to_owned(),
                "a quote inside an unquoted field (quote the whole field and double the quote)".to_owned()
            ),
            (3, "B2".to_owned(), "text after the closing quote of a field".to_owned()),
            (4, "B3".to_owned(), "quoted, \"properly\"".to_owned()),
            (5, "B4".to_owned(), "text after the closing quote of a field".to_owned()),
        ]
    );
    assert!(
        matches!(error, Some(StatementError::Malformed { ref message, .. }) if message.contains("quoted field of line 7")),
        "{error:?}"
    );

    let runaway = format!("{HEADER_LINE}B1,2026-11-21,1,C,,,,ok\nB2,2026-11-21,1,C,,,,\"{}\"\n", "x\n".repeat(40_000));
    let (items, error) = read_all(runaway.as_bytes());
    assert_eq!(items.len(), 1);
    assert!(
        matches!(error, Some(StatementError::Malformed { ref message, .. }) if message.contains("64 KiB")),
        "{error:?}"
    );
}

#[test]
fn stops_at_bytes_that_are_not_utf8() {
    let mut text = format!("{HEADER_LINE}B1,2026-11-21,1,C,,,,ok\n").into_bytes();
    text.extend_from_slice(b"B2,2026-11-21,1,C,,,,\xBD\xFB\xBF\xEE\nB3,2026-11-21,1,C,,,,ok\n");
    let (items, error) = read_all(&text);
    assert_eq!(items.len(), 1);
    assert!(
        matches!(error, Some(StatementError::Malformed { ref message, .. }) if message.contains("line 3")),
        "{error:?}"
    );
}

#[test]
fn blank_lines_are_skipped_however_many() {
    let text = format!("{HEADER_LINE}\n\r\nB1,2026-11-21,1,C,,,,a\n{}B2,2026-11-21,2,C,,,,b", "\n".repeat(100_000));
    let (items, error) = read_all(text.as_bytes());
    assert!(error.is_none(), "{error:?}");
    let lines: Vec<_> = items.iter().map(|item| item.as_ref().map(|line| (line.line_no, line.amount_fen))).collect();
    assert_eq!(lines, [Ok((4, 1)), Ok((100_005, 2))], "a last row needs no line end");
}

#[test]
fn reports_progress_in_bytes() {
    let text = format!("{HEADER_LINE}B1,2026-11-21,1,C,,,,a\nB2,2026-11-21,1,C,,,,b\r\n\n");
    let mut reader = StatementReader::new(Format::Csv, text.as_bytes()).expect("a CSV statement");
    let after_header = reader.bytes_read();
    assert_eq!(after_header, HEADER_LINE.len() as u64);
    assert!(reader.next_item().expect("readable").is_some());
    let after_first = reader.bytes_read();
    assert!(after_first > after_header);
    assert!(reader.next_item().expect("readable").is_some_and(|item| item.is_ok()), "CRLF is a line end");
    assert!(reader.next_item().expect("readable").is_none(), "a blank trailing line is no row");
    assert_eq!(reader.bytes_read(), text.len() as u64);
    assert_eq!(reader.account(), None);
}
