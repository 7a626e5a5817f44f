//! The reconciliation the desk reads: each statement day and channel's report with the
//! exceptions it raised (the API and the page show the same), and the bank statements imported,
//! each with the outcome of every line.

use crate::db::DbConnection;
use crate::db::bank_payments::{self, BankPaymentRow};
use crate::db::bank_statements::{self, StatementRow};
use crate::db::exceptions::{self, ExceptionRow};
use crate::db::reconciliation::{self, ReportRow};
use crate::domain::time::shanghai_day_bounds;
use chrono::NaiveDate;
use diesel::QueryResult;
use serde::Serialize;

/// A day and channel's report, with the exceptions reconciling it raised.
#[derive(Debug, Serialize)]
pub(crate) struct ReportWithExceptions {
    #[serde(flatten)]
    pub report: ReportRow,
    pub exception_list: Vec<ExceptionRow>,
}

/// The reports of the statement days `from` to `to` (of one channel, if given), oldest first.
pub(crate) fn reports(
    conn: &mut DbConnection,
    from: NaiveDate,
    to: NaiveDate,
    channel: Option<&str>,
) -> QueryResult<Vec<ReportWithExceptions>> {
    let mut raised = exceptions::for_statements(conn, from, to)?;
    let reports = reconciliation::between(conn, from, to, channel)?;
    Ok(reports
        .into_iter()
        .map(|report| {
            let (mine, rest) = raised.drain(..).partition(|e: &ExceptionRow| {
                e.source == report.channel && e.statement_date == Some(report.statement_date)
            });
            raised = rest;
            ReportWithExceptions { report, exception_list: mine }
        })
        .collect())
}

/// The most statements one page lists.
pub(crate) const STATEMENTS_SHOWN: i64 = 100;

/// The bank statements imported on the Beijing days `from` to `to`, newest first.
pub(crate) fn statements(conn: &mut DbConnection, from: NaiveDate, to: NaiveDate) -> QueryResult<Vec<StatementRow>> {
    let (start, _) = shanghai_day_bounds(from);
    let (_, end) = shanghai_day_bounds(to);
    bank_statements::imported_between(conn, (start, end), STATEMENTS_SHOWN)
}

/// The most lines one page of a statement lists.
pub(crate) const LINES_SHOWN: i64 = 200;

/// One statement and a page of its lines (by reference, after `after`), with whether more follow.
pub(crate) fn statement_lines(
    conn: &mut DbConnection,
    id: i64,
    after: &str,
) -> QueryResult<Option<(StatementRow, Vec<BankPaymentRow>, bool)>> {
    let Some(statement) = bank_statements::find(conn, id)? else { return Ok(None) };
    let mut lines = bank_payments::of_statement(conn, id, after, LINES_SHOWN + 1)?;
    let more = lines.len() as i64 > LINES_SHOWN;
    lines.truncate(LINES_SHOWN as usize);
    Ok(Some((statement, lines, more)))
}
