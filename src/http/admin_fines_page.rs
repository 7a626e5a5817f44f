//! A fine at the desk. `GET /admin/fines?q=` finds fines by decision number, plate (exact) or
//! receipt number; `GET /admin/fines/{no}` shows everything known about one: the bill's facts,
//! its state, the timeline (the audit trail with the channel orders' openings and closings), the
//! orders, the payments at channels and banks with their outcomes and receipts, the refunds and
//! the exceptions raised about it. `GET /admin/fines/{no}/bill.png` draws the bill again while it
//! can still be paid (the desk reprints one for a driver at the counter).

use super::admin_fines_texts::{self, FineTexts};
use super::admin_frame::{self, read_as_desk};
use super::bill::{self, Extension};
use super::desk_facts;
use super::desk_names;
use super::error::ApiError;
use super::i18n::Lang;
use super::officer::check_printable;
use super::pages::templates;
use crate::admin::{FineEvent, FineFile, Found, search_fines};
use crate::bill::{Format, Language, Paper};
use crate::db::fines::{self, FineRow};
use crate::domain::money::format_yuan;
use crate::domain::time::{shanghai_date, shanghai_wall_clock, utc};
use crate::domain::{DecisionNo, Fen, FineStatus};
use crate::http::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDateTime;
use minijinja::context;
use serde::Serialize;

/// The longest search the form takes (a plate, a decision or a receipt number is far shorter).
const MAX_QUERY_CHARS: usize = 64;

/// `GET /admin/fines?q=`: the search form, and what it found. One fine (a decision or receipt
/// number) is shown on its page at once; a plate's fines are listed, newest first.
pub(super) async fn search(ctx: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let lang = admin_frame::lang_of(&req);
    let q = form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(key, _)| key == "q")
        .map(|(_, value)| value.trim().to_owned())
        .unwrap_or_default();
    let query = q.clone();
    let read = read_as_desk(&ctx, &req, move |conn, _| {
        if query.chars().count() > MAX_QUERY_CHARS {
            return Err(ApiError::invalid_request(format!("a search is at most {MAX_QUERY_CHARS} characters")));
        }
        Ok(if query.is_empty() { None } else { Some(search_fines(conn, &query)?) })
    })
    .await;
    let (desk, found) = match read {
        Ok(read) => read,
        Err(page) => return page,
    };
    let (plate, rows, nothing) = match found {
        Some(Found::Fine(no)) => return admin_frame::see_other(&fine_url(&no, lang)),
        Some(Found::Plate { plate, fines }) => {
            let rows: Vec<Listed> = fines.iter().map(|fine| Listed::of(fine, &ctx, lang)).collect();
            let nothing = rows.is_empty();
            (plate, rows, nothing)
        }
        Some(Found::Nothing) => (String::new(), Vec::new(), true),
        None => (String::new(), Vec::new(), false),
    };
    let html = templates().get_template("admin_fines.html").and_then(|template| {
        template.render(context! {
            w => words(lang),
            q => q,
            plate => plate,
            rows => rows,
            nothing => nothing,
            ..admin_frame::frame(&req, lang, &desk, "fines")
        })
    });
    admin_frame::html_response(StatusCode::OK, html)
}

/// `GET /admin/fines/{no}`: the fine's page.
pub(super) async fn fine(ctx: web::Data<AppState>, req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let lang = admin_frame::lang_of(&req);
    let no = DecisionNo::parse(&path).ok().map(|no| no.as_str().to_owned());
    let read = read_as_desk(&ctx, &req, move |conn, _| {
        let no = no.ok_or_else(ApiError::not_found)?;
        FineFile::load(conn, &no)?.ok_or_else(ApiError::not_found)
    })
    .await;
    let (desk, file) = match read {
        Ok(read) => read,
        Err(page) => return page,
    };
    let shown = FilePage::of(&file, &ctx, lang);
    let html = templates().get_template("admin_fine.html").and_then(|template| {
        template.render(context! { w => words(lang), f => shown, ..admin_frame::frame(&req, lang, &desk, "fines") })
    });
    admin_frame::html_response(StatusCode::OK, html)
}

/// `GET /admin/fines/{no}/bill.png`: the bill as the handheld prints it (58 mm, Chinese), while
/// the fine can be paid; 409 once it is paid or void, as for the handheld.
pub(super) async fn bill_png(ctx: web::Data<AppState>, req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let no = DecisionNo::parse(&path).ok().map(|no| no.as_str().to_owned());
    let read = read_as_desk(&ctx, &req, move |conn, _| {
        let fine = fines::find(conn, &no.ok_or_else(ApiError::not_found)?)?.ok_or_else(ApiError::not_found)?;
        check_printable(&fine)?;
        Ok(fine)
    })
    .await;
    let fine = match read {
        Ok((_, fine)) => fine,
        Err(page) => return page,
    };
    let disposition = bill::disposition(&fine.decision_no, Extension::Png);
    match bill::drawn(ctx, fine, (Format::Png, Paper::Mm58, Language::Zh), disposition).await {
        Ok(response) => response,
        Err(e) => actix_web::ResponseError::error_response(&e),
    }
}

fn fine_url(no: &str, lang: Lang) -> String {
    format!("/admin/fines/{no}?lang={}", lang.code())
}

fn words(lang: Lang) -> &'static FineTexts {
    match lang {
        Lang::En => &admin_fines_texts::EN,
        Lang::Zh => &admin_fines_texts::ZH,
    }
}

fn beijing(at: NaiveDateTime) -> String {
    shanghai_wall_clock(utc(at))
}

fn yuan(fen: i64) -> String {
    format_yuan(Fen(fen))
}

/// One of a plate's fines in the search's list.
#[derive(Debug, Serialize)]
struct Listed {
    decision_no: String,
    issued: String,
    violation: String,
    amount: String,
    status: String,
}

impl Listed {
    fn of(fine: &FineRow, ctx: &AppState, lang: Lang) -> Listed {
        Listed {
            decision_no: fine.decision_no.clone(),
            issued: beijing(fine.issued_at),
            violation: violation(ctx, &fine.violation_code, lang),
            amount: yuan(fine.amount_fen),
            status: desk_names::fine_status(&fine.status, lang),
        }
    }
}

fn violation(ctx: &AppState, code: &str, lang: Lang) -> String {
    match ctx.catalogue.get(code) {
        Some(v) => format!("{code} {}", if lang == Lang::En { &v.description_en } else { &v.description_zh }),
        None => code.to_owned(),
    }
}

/// The fine's page, every value as shown.
#[derive(Debug, Serialize)]
struct FilePage {
    decision_no: String,
    status: String,
    amount: String,
    /// What a bank collects today, surcharge included, while the fine is payable at a bank.
    due_today: Option<String>,
    violation: String,
    points: i32,
    plate: String,
    location: String,
    occurred: String,
    issued: String,
    issued_by: String,
    district: String,
    window_ends: String,
    paid: String,
    void: String,
    /// The driver's pay page while the code works.
    pay_url: Option<String>,
    bill_url: Option<String>,
    audit_url: String,
    timeline: Vec<Happened>,
    orders: Vec<serde_json::Value>,
    payments: Vec<serde_json::Value>,
    bank_payments: Vec<serde_json::Value>,
    refunds: Vec<serde_json::Value>,
    exceptions: Vec<serde_json::Value>,
}

/// One line of the timeline.
#[derive(Debug, Serialize)]
struct Happened {
    at: String,
    what: String,
    who: String,
    facts: String,
}

impl FilePage {
    fn of(file: &FineFile, ctx: &AppState, lang: Lang) -> FilePage {
        let fine = &file.fine;
        let now = ctx.clock.now();
        let status = FineStatus::parse(&fine.status);
        let no = DecisionNo::parse(&fine.decision_no).ok();
        let district = ctx
            .districts
            .get(&fine.district_code)
            .map(|d| if lang == Lang::En { d.names().1 } else { d.names().0 })
            .unwrap_or_default();
        let pay_url = match (status, &no) {
            (Some(FineStatus::AwaitingPayment), Some(no)) => ctx.view().pay_url(no, fine.qr_key_id),
            _ => None,
        };
        let printable = matches!(status, Some(FineStatus::AwaitingPayment | FineStatus::PayableAtBank));
        FilePage {
            decision_no: fine.decision_no.clone(),
            status: desk_names::fine_status(&fine.status, lang),
            amount: yuan(fine.amount_fen),
            due_today: (status == Some(FineStatus::PayableAtBank)).then(|| {
                yuan(ctx.bank.surcharge.amount_due(fine.amount_fen, utc(fine.issued_at), shanghai_date(now)).total_fen)
            }),
            violation: violation(ctx, &fine.violation_code, lang),
            points: fine.points,
            plate: fine.plate.clone().unwrap_or_default(),
            location: fine.location.clone(),
            occurred: beijing(fine.occurred_at),
            issued: beijing(fine.issued_at),
            issued_by: format!("{} · {} · {}", fine.officer_id, fine.device_id, fine.credential_id),
            district: format!("{} {district}", fine.district_code),
            window_ends: fine.qr_expires_at.map(beijing).unwrap_or_default(),
            paid: match (fine.paid_at, &fine.paid_channel) {
                (Some(at), Some(channel)) => format!("{} · {channel}", beijing(at)),
                (Some(at), None) => beijing(at),
                _ => String::new(),
            },
            void: match (fine.voided_at, &fine.void_reason) {
                (Some(at), reason) => format!("{} · {}", beijing(at), reason.as_deref().unwrap_or_default()),
                _ => String::new(),
            },
            pay_url,
            bill_url: printable.then(|| format!("/admin/fines/{}/bill.png", fine.decision_no)),
            audit_url: format!("/admin/api/audit?decision_no={}", fine.decision_no),
            timeline: file.timeline.iter().map(|event| Happened::of(event, lang)).collect(),
            orders: file
                .orders
                .iter()
                .map(|o| {
                    serde_json::json!({
                        "out_trade_no": o.out_trade_no, "channel": o.channel, "flow": o.flow,
                        "amount": yuan(o.amount_fen), "opened": beijing(o.opened_at),
                        "status": desk_names::outcome(&o.status, lang),
                        "ended": o.closed_at.or((o.status == "paid").then_some(o.updated_at)).map(beijing),
                    })
                })
                .collect(),
            payments: file
                .payments
                .iter()
                .map(|p| {
                    serde_json::json!({
                        "channel": p.channel, "channel_txn_id": p.channel_txn_id, "amount": yuan(p.amount_fen),
                        "paid": beijing(p.paid_at), "received": beijing(p.received_at), "source": p.source,
                        "outcome": desk_names::outcome(&p.outcome, lang), "receipt_no": p.receipt_no,
                    })
                })
                .collect(),
            bank_payments: file
                .bank_payments
                .iter()
                .map(|b| {
                    serde_json::json!({
                        "bank": b.bank_code, "reference": b.reference, "amount": yuan(b.amount_fen),
                        "due": b.due_fen.map(yuan), "paid": beijing(b.paid_at), "method": b.method,
                        "source": b.source, "outcome": desk_names::outcome(&b.outcome, lang),
                    })
                })
                .collect(),
            refunds: file
                .refunds
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "out_refund_no": r.out_refund_no, "channel": r.channel, "amount": yuan(r.amount_fen),
                        "reason": r.reason, "status": desk_names::outcome(&r.status, lang),
                        "requested": beijing(r.requested_at), "completed": r.completed_at.map(beijing),
                        "last_error": r.last_error,
                    })
                })
                .collect(),
            exceptions: file
                .exceptions
                .iter()
                .map(|e| {
                    serde_json::json!({
                        "id": e.id, "kind": desk_names::exception_kind(&e.kind, lang), "source": e.source,
                        "raised": beijing(e.raised_at),
                        "resolution": e.resolved_at.map(|at| format!(
                            "{} · {} · {}",
                            beijing(at),
                            e.resolved_by.as_deref().unwrap_or_default(),
                            e.resolution.as_deref().unwrap_or_default()
                        )),
                    })
                })
                .collect(),
        }
    }
}

impl Happened {
    fn of(event: &FineEvent, lang: Lang) -> Happened {
        Happened {
            at: beijing(event.at),
            what: desk_names::action(&event.action, lang),
            who: desk_names::actor(&event.actor, lang),
            facts: desk_facts::one_line(&event.details),
        }
    }
}
