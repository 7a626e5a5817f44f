//! `GET /api/v1/fines/{no}/bill.{png,escpos,pdf}`: the printed bill for the officer's handheld —
//! ESC/POS for its thermal printer, a 1-bit PNG, or an A6 PDF for a browser's print dialog — in
//! Chinese, with English below on `?lang=zh-en`, for 58 or 80 mm paper (`?width=`).

use super::error::ApiError;
use super::officer::{check_printable, readable_fine};
use crate::bill::{self, Format, Language, Paper, QrMode};
use crate::db::fines::FineRow;
use crate::domain::DecisionNo;
use crate::fines::{BillSources, bill_facts};
use crate::http::AppState;
use crate::http::edge::BearerToken;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

pub(super) async fn png(
    ctx: web::Data<AppState>,
    req: HttpRequest,
    token: BearerToken,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    serve(ctx, &req, token, &path, Extension::Png).await
}

pub(super) async fn escpos(
    ctx: web::Data<AppState>,
    req: HttpRequest,
    token: BearerToken,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    serve(ctx, &req, token, &path, Extension::EscPos).await
}

pub(super) async fn pdf(
    ctx: web::Data<AppState>,
    req: HttpRequest,
    token: BearerToken,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    serve(ctx, &req, token, &path, Extension::Pdf).await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Extension {
    Png,
    EscPos,
    Pdf,
}

async fn serve(
    ctx: web::Data<AppState>,
    req: &HttpRequest,
    token: BearerToken,
    raw_no: &str,
    extension: Extension,
) -> Result<HttpResponse, ApiError> {
    // Parsed before the fine is read, answered after the credential is checked.
    let options = options(req.query_string(), extension);
    let fine = readable_fine(&ctx, token, raw_no).await?;
    let (format, paper, language) = options?;
    check_printable(&fine)?;
    let disposition = disposition(&fine.decision_no, extension);
    drawn(ctx, fine, (format, paper, language), disposition).await
}

/// The bill of `fine`, which is printable, drawn for the handheld or the desk.
pub(super) async fn drawn(
    ctx: web::Data<AppState>,
    fine: FineRow,
    (format, paper, language): (Format, Paper, Language),
    disposition: String,
) -> Result<HttpResponse, ApiError> {
    let now = ctx.clock.now();
    let pay_url = DecisionNo::parse(&fine.decision_no).ok().and_then(|no| ctx.view().pay_url(&no, fine.qr_key_id));
    // Not kept once drawn: a bill is tens of kilobytes, printed once or twice, and drawn in
    // milliseconds on a blocking thread.
    let bytes = web::block(move || {
        let sources = BillSources {
            catalogue: &ctx.catalogue,
            districts: &ctx.districts,
            bill: &ctx.bill,
            surcharge: &ctx.bank.surcharge,
            public_base_url: &ctx.server.public_base_url,
        };
        let facts = bill_facts(&fine, &sources, pay_url, now);
        bill::render(&facts, format, paper, language, &ctx.bill.font).map_err(ApiError::internal)
    })
    .await??;
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        // The code dies when the fine is paid or voided: a handheld must ask again each time.
        .insert_header(("Cache-Control", "private, no-cache"))
        .insert_header(("Content-Disposition", disposition))
        .body(bytes))
}

pub(super) fn disposition(no: &str, extension: Extension) -> String {
    let (kind, ext) = match extension {
        Extension::Png => ("inline", "png"),
        Extension::EscPos => ("attachment", "bin"),
        Extension::Pdf => ("inline", "pdf"),
    };
    format!("{kind}; filename=\"bill-{no}.{ext}\"")
}

/// `width=58|80` (58 when absent), `lang=zh|zh-en` (zh), and for ESC/POS `qr=printer|raster`
/// (printer). A parameter given twice or with another value is refused; others are ignored.
fn options(query: &str, extension: Extension) -> Result<(Format, Paper, Language), ApiError> {
    let (mut paper, mut language, mut qr) = (None, None, None);
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        match name.as_ref() {
            "width" => set(&mut paper, Paper::parse(&value), "width", "58 or 80 (millimetres)")?,
            "lang" => set(&mut language, Language::parse(&value), "lang", "zh or zh-en")?,
            "qr" if extension == Extension::EscPos => {
                let mode = match value.as_ref() {
                    "printer" => Some(QrMode::Printer),
                    "raster" => Some(QrMode::Raster),
                    _ => None,
                };
                set(&mut qr, mode, "qr", "printer (the printer's QR commands) or raster (an image)")?;
            }
            _ => {}
        }
    }
    let format = match extension {
        Extension::Png => Format::Png,
        Extension::Pdf => Format::Pdf,
        Extension::EscPos => Format::EscPos(qr.unwrap_or(QrMode::Printer)),
    };
    Ok((format, paper.unwrap_or(Paper::Mm58), language.unwrap_or(Language::Zh)))
}

fn set<T>(slot: &mut Option<T>, value: Option<T>, field: &str, allowed: &str) -> Result<(), ApiError> {
    match (slot.is_some(), value) {
        (false, Some(value)) => {
            *slot = Some(value);
            Ok(())
        }
        _ => Err(ApiError::invalid_request(format!("{field} is {allowed}, given once"))
            .with_details(json!({"field": field}))),
    }
}
