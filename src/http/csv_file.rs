//! A table as a CSV download that Excel opens as it should in China: UTF-8 with a byte order mark
//! (without one Excel reads the Chinese headers as GBK), fields quoted per RFC 4180, lines ending
//! in CRLF, and no cell that a spreadsheet would run as a formula.

use super::pages::page_headers;
use actix_web::HttpResponse;

const BOM: &str = "\u{feff}";

/// One cell: its text, and whether finepay wrote it as a number (a count, an amount, a share),
/// which no formula can hide in.
pub(super) struct CsvCell<'a> {
    pub text: &'a str,
    pub number: bool,
}

/// The file: the BOM, the header row, then the rows.
pub(super) fn encode<'a>(headers: &[&str], rows: impl IntoIterator<Item = Vec<CsvCell<'a>>>) -> String {
    let mut out = String::from(BOM);
    let header: Vec<CsvCell<'_>> = headers.iter().map(|text| CsvCell { text, number: false }).collect();
    line(&mut out, &header);
    for row in rows {
        line(&mut out, &row);
    }
    out
}

fn line(out: &mut String, cells: &[CsvCell<'_>]) {
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        field(out, cell);
    }
    out.push_str("\r\n");
}

fn field(out: &mut String, cell: &CsvCell<'_>) {
    // A text starting as a formula would (=, +, -, @, or a tab or CR before one) is written with
    // an apostrophe first, which spreadsheets show as text (OWASP, CSV injection).
    let formula_like = cell.text.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let guarded = if formula_like && !(cell.number && is_plain_number(cell.text)) {
        format!("'{}", cell.text)
    } else {
        cell.text.to_owned()
    };
    if guarded.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&guarded.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(&guarded);
    }
}

/// `-12`, `3.50`, `75.00%`: a number and nothing else.
fn is_plain_number(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let digits = digits.strip_suffix('%').unwrap_or(digits);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    all_digits(whole) && all_digits(fraction)
}

/// The download's response: `text/csv` in UTF-8, an attachment named `filename` (finepay's own
/// ASCII name), never cached.
pub(super) fn response(filename: &str, body: String) -> HttpResponse {
    page_headers(HttpResponse::Ok())
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Content-Disposition", format!("attachment; filename=\"{filename}\"")))
        .body(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(text: &str) -> CsvCell<'_> {
        CsvCell { text, number: false }
    }

    fn number(text: &str) -> CsvCell<'_> {
        CsvCell { text, number: true }
    }

    #[test]
    fn a_table_is_a_bom_a_header_row_and_quoted_fields_in_crlf_lines() {
        let csv = encode(
            &["辖区", "Amount (yuan)"],
            [vec![text("朝阳区, \"东\""), number("200.00")], vec![text("two\nlines"), number("-1.50")]],
        );
        assert_eq!(csv, "\u{feff}辖区,Amount (yuan)\r\n\"朝阳区, \"\"东\"\"\",200.00\r\n\"two\nlines\",-1.50\r\n");
    }

    #[test]
    fn what_a_spreadsheet_would_run_as_a_formula_is_written_as_text() {
        for (cell, written) in [
            (text("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\""),
            (text("+86"), "'+86"),
            (text("-2+3"), "'-2+3"),
            (text("@SUM(A1)"), "'@SUM(A1)"),
            (text("\t=1"), "'\t=1"),
            (number("-2+3"), "'-2+3"),
            (number("=1"), "'=1"),
            (number("-12.50"), "-12.50"),
            (number("-3%"), "-3%"),
            (text("a=b"), "a=b"),
        ] {
            let csv = encode(&[], [vec![cell]]);
            assert_eq!(csv, format!("\u{feff}\r\n{written}\r\n"));
        }
    }
}
