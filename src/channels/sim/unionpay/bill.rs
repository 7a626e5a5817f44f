//! The simulated daily statement: file transfer (`txnType=76`, `txnSubType=01`, `fileType=00`).
//! For a `settleDate` whose file is ready (10:00 Beijing the next day, as `unionpay::bill`
//! assumes) it answers with the day's ZM file, zipped, deflated and in Base64 as `fileContent`:
//! the payments booked that Beijing day, and the refunds taken that day that have settled by the
//! time it is asked. A day without any, or not ready yet, is `98` (文件不存在). `settleDate` has no
//! year: it names the latest such day up to today.

use super::{Booked, Refusal, UnionpaySim, required, transaction_kind};
use crate::channels::StatementKind;
use crate::channels::sim::Simulator;
use crate::channels::unionpay::bill::{
    FILE_TYPE_STATEMENT, OriginalPayment, ZmRecord, encode_file_content, statement_is_due, write_statement_zip,
    zip_file_name,
};
use crate::channels::unionpay::protocol::{Fields, code, fields_of};
use crate::domain::Fen;
use crate::domain::time::shanghai_date;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Datelike, NaiveDate, Utc};

impl UnionpaySim {
    /// 对账文件下载: `settleDate`'s statement file, or `98` when there is none (yet).
    fn file_transfer(&self, request: &Fields, now: DateTime<Utc>) -> Result<Fields, Refusal> {
        self.fresh_txn_time(request, now)?;
        if required(request, "fileType")? != FILE_TYPE_STATEMENT {
            return Err((code::FORMAT_ERROR, "fileType不支持".into()));
        }
        let settle_date = required(request, "settleDate")?;
        let day = day_named(settle_date, shanghai_date(now))
            .ok_or_else(|| (code::FORMAT_ERROR, "settleDate格式错误".to_owned()))?;
        let no_file = || (code::FILE_NOT_FOUND, "文件不存在".to_owned());
        if !statement_is_due(day, now) {
            return Err(no_file());
        }
        let records = self.statement_records(day, now);
        if records.is_empty() {
            return Err(no_file());
        }
        let failed = |e: crate::channels::ChannelError| (code::FAILED, format!("文件生成失败：{e}"));
        let zip = write_statement_zip(&self.config.mer_id, day, &records).map_err(failed)?;
        let file_content = encode_file_content(&zip).map_err(failed)?;
        Ok(fields_of(&[
            ("settleDate", settle_date),
            ("fileType", FILE_TYPE_STATEMENT),
            ("fileName", &zip_file_name(&self.config.mer_id, day)),
            ("fileContent", &file_content),
        ]))
    }

    /// The day's payments and settled refunds from the book, in the order UnionPay took them.
    fn statement_records(&self, day: NaiveDate, now: DateTime<Utc>) -> Vec<ZmRecord> {
        let book = self.book();
        let mut records: Vec<(DateTime<Utc>, ZmRecord)> = Vec::new();
        for (order_id, order) in &book.orders {
            if let Some(paid) = order.payment.as_ref().filter(|paid| shanghai_date(paid.at) == day) {
                let record = self.record(StatementKind::Payment, order_id, paid, order.amount, None);
                records.push((paid.at, record));
            }
        }
        for (refund_no, refund) in &book.refunds {
            if shanghai_date(refund.booked.at) != day || now < refund.settles_at {
                continue;
            }
            // A refund is only ever taken for a payment in the book.
            let paid = book.orders.iter().find_map(|(order_id, order)| {
                let paid = order.payment.as_ref().filter(|paid| paid.query_id == refund.orig_qry_id)?;
                Some(OriginalPayment {
                    query_id: paid.query_id.clone(),
                    order_id: order_id.clone(),
                    trace_no: paid.trace_no.clone(),
                    trace_time: paid.trace_time.clone(),
                })
            });
            let record = self.record(StatementKind::Refund, refund_no, &refund.booked, refund.amount, paid);
            records.push((refund.booked.at, record));
        }
        records.sort_by(|(a_at, a), (b_at, b)| (a_at, &a.query_id).cmp(&(b_at, &b.query_id)));
        records.into_iter().map(|(_, record)| record).collect()
    }

    fn record(
        &self,
        kind: StatementKind,
        order_id: &str,
        booked: &Booked,
        amount: i64,
        original: Option<OriginalPayment>,
    ) -> ZmRecord {
        ZmRecord {
            kind,
            mer_id: self.config.mer_id.clone(),
            trace_no: booked.trace_no.clone(),
            trace_time: booked.trace_time.clone(),
            query_id: booked.query_id.clone(),
            order_id: order_id.to_owned(),
            amount: Fen(amount),
            original,
        }
    }
}

/// The latest day up to `today` whose month and day are `settle_date` (`MMDD`); 29 February
/// names the last leap day.
fn day_named(settle_date: &str, today: NaiveDate) -> Option<NaiveDate> {
    if settle_date.len() != 4 || !settle_date.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (month, day) = (settle_date[..2].parse().ok()?, settle_date[2..].parse().ok()?);
    (0..=8).filter_map(|back| NaiveDate::from_ymd_opt(today.year() - back, month, day)).find(|named| *named <= today)
}

pub(super) async fn file_trans(sim: web::Data<Simulator>, body: web::Bytes) -> HttpResponse {
    let Some(sim) = sim.unionpay.as_ref() else { return HttpResponse::NotFound().finish() };
    sim.handle(&body, |sim, request, now| match transaction_kind(request) {
        ("76", "01") => sim.file_transfer(request, now),
        _ => Err((code::FORMAT_ERROR, "交易类型不支持".into())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_settle_date_names_the_latest_such_day_up_to_today() {
        let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("date");
        let today = date(2027, 1, 2);
        assert_eq!(day_named("0102", today), Some(today));
        assert_eq!(day_named("1231", today), Some(date(2026, 12, 31)));
        assert_eq!(day_named("0103", today), Some(date(2026, 1, 3)));
        assert_eq!(day_named("0229", today), Some(date(2024, 2, 29)));
        assert_eq!(day_named("1301", today), None);
        assert_eq!(day_named("102", today), None);
        assert_eq!(day_named("+102", today), None);
    }
}
