//! `GET /r/{receipt_no}`: the electronic receipt of a payment that paid a fine. The receipt
//! number is random and unguessable, so holding it is what lets someone see (and verify) the
//! receipt; a payment refunded later loses its number, and its receipt is no longer valid; finepay shows it from its own records, in Chinese or English, or as JSON. The page
//! carries its own address as a QR code: whoever is shown a printout or a screenshot scans it and
//! sees the bureau's record, which a doctored copy cannot change.

use super::edge::read_conn;
use super::i18n::{Lang, Texts};
use super::pages::{accepts_json, not_found_saying, page_headers, problem_saying, qr_data_url, templates};
use crate::db::payments::{self, PaymentRow};
use crate::db::{fines, fines::FineRow};
use crate::domain::Fen;
use crate::domain::money::format_yuan;
use crate::domain::plate::mask_plate;
use crate::domain::time::{rfc3339, shanghai_wall_clock, utc};
use crate::http::AppState;
use actix_web::http::header::ACCEPT_LANGUAGE;
use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::context;
use serde::Serialize;

/// A receipt as the pay page's JSON and `/r/{receipt_no}` show it.
#[derive(Debug, Clone, Serialize)]
pub(super) struct ReceiptJson {
    pub receipt_no: String,
    pub url: String,
    pub decision_no: String,
    pub amount_fen: i64,
    pub channel: String,
    pub channel_txn_id: String,
    pub paid_at: String,
}

impl ReceiptJson {
    pub(super) fn of(payment: &PaymentRow) -> ReceiptJson {
        let receipt_no = payment.receipt_no.clone().unwrap_or_default();
        ReceiptJson {
            url: format!("/r/{receipt_no}"),
            receipt_no,
            decision_no: payment.decision_no.clone(),
            amount_fen: payment.amount_fen,
            channel: payment.channel.clone(),
            channel_txn_id: payment.channel_txn_id.clone(),
            paid_at: rfc3339(utc(payment.paid_at)),
        }
    }

    pub(super) fn paid_local(&self) -> String {
        chrono::DateTime::parse_from_rfc3339(&self.paid_at)
            .map(|at| shanghai_wall_clock(at.to_utc()))
            .unwrap_or_default()
    }
}

/// Receipt numbers are 20 base32 characters; anything else is not looked up.
fn plausible(receipt_no: &str) -> bool {
    receipt_no.len() == 20 && receipt_no.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
}

pub(super) async fn receipt(ctx: web::Data<AppState>, req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let wants_json = accepts_json(&req);
    let lang = Lang::pick(req.query_string(), req.headers().get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()));
    let receipt_no = path.to_ascii_uppercase();
    if !plausible(&receipt_no) {
        return not_found_saying(wants_json, lang, Texts::of(lang).receipt_not_found_text);
    }
    let found = read_conn(&ctx, move |conn| {
        let Some(payment) = payments::by_receipt(conn, &receipt_no)? else { return Ok(None) };
        Ok(fines::find(conn, &payment.decision_no)?.map(|fine| (payment, fine)))
    })
    .await;
    let (payment, fine) = match found {
        Ok(Some(found)) => found,
        Ok(None) => return not_found_saying(wants_json, lang, Texts::of(lang).receipt_not_found_text),
        Err(e) => return problem_saying(wants_json, lang, &e, Texts::of(lang).receipt_problem_text),
    };
    let receipt = ReceiptJson::of(&payment);
    if wants_json {
        return page_headers(HttpResponse::Ok()).json(&receipt);
    }
    match render(&ctx, &receipt, &fine, lang) {
        Ok(html) => page_headers(HttpResponse::Ok()).content_type("text/html; charset=utf-8").body(html),
        Err(e) => {
            problem_saying(false, lang, &super::error::ApiError::internal(e), Texts::of(lang).receipt_problem_text)
        }
    }
}

fn render(ctx: &AppState, receipt: &ReceiptJson, fine: &FineRow, lang: Lang) -> Result<String, minijinja::Error> {
    let violation = ctx.catalogue.get(&fine.violation_code);
    let description =
        violation.map(|v| if lang == Lang::En { v.description_en.as_str() } else { v.description_zh.as_str() });
    let bill = &ctx.bill;
    let in_english =
        |zh: &str, en: &str| if lang == Lang::En && !en.is_empty() { en.to_owned() } else { zh.to_owned() };
    let verify_url = format!("{}/r/{}", ctx.server.public_base_url.trim_end_matches('/'), receipt.receipt_no);
    templates().get_template("receipt.html")?.render(context! {
        t => Texts::value(lang),
        authority => in_english(&bill.authority_zh, &bill.authority_en),
        payee => in_english(&bill.payee_zh, &bill.payee_en),
        receipt_no => receipt.receipt_no,
        decision_no => receipt.decision_no,
        violation => format!("{} {}", fine.violation_code, description.unwrap_or_default()),
        masked_plate => fine.plate.as_deref().map(mask_plate),
        location => fine.location,
        occurred_local => shanghai_wall_clock(utc(fine.occurred_at)),
        amount => format_yuan(Fen(receipt.amount_fen)),
        channel => receipt.channel,
        channel_txn_id => receipt.channel_txn_id,
        paid_local => receipt.paid_local(),
        verify_qr => qr_data_url(&verify_url),
        verify_url => verify_url,
    })
}
