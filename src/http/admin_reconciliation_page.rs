//! Reconciliation at the desk. `GET /admin/reconciliation?from=&to=&channel=` shows each statement
//! day and channel — the channel's total, finepay's, the difference, what reconciling applied and
//! the exceptions it raised — and the bank statements imported in those days with the outcome of
//! their lines; `GET /admin/reconciliation/statements/{id}` lists one statement's lines. A clerk
//! uploads a bank's statement from the page: `POST /admin/reconciliation/statements?bank=&name=`
//! takes the file as the request's body (the page's script sends it, showing its progress) and
//! imports it exactly as the bank's own upload and `finepay bank import` do.

use super::admin::report_query;
use super::admin_frame::{self, read_as_desk};
use super::admin_reconciliation_texts::{self, ReconciliationTexts};
use super::admin_session;
use super::bank_statements::{file_name, receive_and_import};
use super::desk_names;
use super::edge::with_conn;
use super::error::ApiError;
use super::i18n::Lang;
use super::pages::templates;
use crate::admin::reconciliation::{self, ReportWithExceptions};
use crate::db::bank_payments::BankPaymentRow;
use crate::db::bank_statements::StatementRow;
use crate::db::credentials;
use crate::domain::Fen;
use crate::domain::bank_code::valid_bank_code;
use crate::domain::money::format_yuan;
use crate::domain::time::{shanghai_wall_clock, utc};
use crate::http::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::context;
use serde::Serialize;
use serde_json::json;

/// The header the upload's script carries the session's CSRF token in.
const CSRF_HEADER: &str = "X-CSRF-Token";

/// `GET /admin/reconciliation?from=&to=&channel=`: the statement days `from` to `to` (default:
/// the seven up to yesterday).
pub(super) async fn overview(ctx: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let lang = admin_frame::lang_of(&req);
    // Parsed first, refused only after the caller is admitted: 401 before 400.
    let parsed = report_query(&ctx, &req);
    let read = read_as_desk(&ctx, &req, move |conn, _| {
        let (from, to, channel) = parsed?;
        let reports = reconciliation::reports(conn, from, to, channel)?;
        // A day's statement comes the next morning: the imports run a day later than the days.
        let statements = reconciliation::statements(conn, from, to + chrono::Days::new(1))?;
        Ok((from, to, channel, reports, (statements, credentials::bank_codes(conn)?)))
    })
    .await;
    let (desk, (from, to, channel, reports, (statements, banks))) = match read {
        Ok(read) => read,
        Err(page) => return page,
    };
    let reports: Vec<_> = reports.iter().map(|r| ReportShown::of(r, lang)).collect();
    let statements: Vec<_> = statements.iter().map(|s| StatementShown::of(s, lang)).collect();
    let html = templates().get_template("admin_reconciliation.html").and_then(|template| {
        template.render(context! {
            w => words(lang),
            from => from.to_string(),
            to => to.to_string(),
            imported_to => (to + chrono::Days::new(1)).to_string(),
            channel => channel.unwrap_or_default(),
            reports => reports,
            statements => statements,
            banks => banks,
            ..admin_frame::frame(&req, lang, &desk, "reconciliation")
        })
    });
    admin_frame::html_response(StatusCode::OK, html)
}

/// `GET /admin/reconciliation/statements/{id}?after=`: one statement's lines, 200 to a page, by
/// reference.
pub(super) async fn statement(ctx: web::Data<AppState>, req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let lang = admin_frame::lang_of(&req);
    let id = path.parse::<i64>().ok().filter(|id| *id > 0);
    let after = form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(key, _)| key == "after")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    let read = read_as_desk(&ctx, &req, move |conn, _| {
        let id = id.ok_or_else(ApiError::not_found)?;
        reconciliation::statement_lines(conn, id, &after)?.ok_or_else(ApiError::not_found)
    })
    .await;
    let (desk, (statement, lines, more)) = match read {
        Ok(read) => read,
        Err(page) => return page,
    };
    let next_url =
        more.then(|| lines.last().map(|line| admin_frame::with_param(&req, "after", &line.reference))).flatten();
    let lines: Vec<_> = lines.iter().map(|line| LineShown::of(line, lang)).collect();
    let html = templates().get_template("admin_statement.html").and_then(|template| {
        template.render(context! {
            w => words(lang),
            s => StatementShown::of(&statement, lang),
            lines => lines,
            next_url => next_url,
            ..admin_frame::frame(&req, lang, &desk, "reconciliation")
        })
    });
    admin_frame::html_response(StatusCode::OK, html)
}

/// `POST /admin/reconciliation/statements?bank=ICBC&name=FILE`, the file as the body, the
/// session's CSRF token in `X-CSRF-Token`: the import's report as JSON (what the bank API
/// answers), for the page's script.
pub(super) async fn upload(
    ctx: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let session = admin_session::id_of(&req).ok_or_else(ApiError::unauthorized)?;
    let csrf = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let work_ctx = ctx.clone();
    let desk = with_conn(&ctx, move |conn| admin_session::find(&work_ctx, conn, &session)).await?;
    let desk = desk.ok_or_else(ApiError::unauthorized)?;
    if !desk.csrf_matches(&csrf) {
        return Err(ApiError::forbidden("the upload does not carry this session's CSRF token"));
    }
    let param = |name: &str| {
        form_urlencoded::parse(req.query_string().as_bytes()).find(|(key, _)| key == name).map(|(_, v)| v.into_owned())
    };
    // A bank finepay knows (one with a live credential), spelt as its credential spells it: a
    // statement filed under another code could not be paired with the bank's own posts.
    let bank = param("bank").unwrap_or_default();
    let known = valid_bank_code(&bank) && {
        let bank = bank.clone();
        with_conn(&ctx, move |conn| Ok(credentials::bank_codes(conn)?.contains(&bank))).await?
    };
    if !known {
        return Err(ApiError::invalid_request("bank is the code of a bank with a live credential")
            .with_details(json!({"field": "bank"})));
    }
    let name = file_name(param("name").as_deref());
    let actor = desk.principal.actor();
    log::info!("{actor} uploads statement {name:?} for bank {bank}");
    receive_and_import(ctx, &req, payload, (bank, name), actor).await
}

/// `GET /assets/desk-upload.js`: the upload's script.
pub(super) async fn upload_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(include_str!("assets/desk-upload.js"))
}

fn words(lang: Lang) -> &'static ReconciliationTexts {
    match lang {
        Lang::En => &admin_reconciliation_texts::EN,
        Lang::Zh => &admin_reconciliation_texts::ZH,
    }
}

fn yuan(fen: i64) -> String {
    format_yuan(Fen(fen))
}

/// One day and channel, as the page shows it.
#[derive(Debug, Serialize)]
struct ReportShown {
    day: String,
    channel: String,
    status: String,
    balanced: bool,
    theirs: String,
    ours: String,
    difference: String,
    refunds: String,
    matched: i64,
    applied: i64,
    exceptions: i64,
    error: String,
    reconciled: String,
    raised: Vec<serde_json::Value>,
}

impl ReportShown {
    fn of(with: &ReportWithExceptions, lang: Lang) -> ReportShown {
        let r = &with.report;
        let status = match (r.status.as_str(), lang) {
            ("balanced", Lang::Zh) => "已平",
            ("balanced", Lang::En) => "balanced",
            ("exceptions", Lang::Zh) => "有差异",
            ("exceptions", Lang::En) => "exceptions",
            ("unavailable", Lang::Zh) => "未取得对账单",
            ("unavailable", Lang::En) => "statement unavailable",
            (other, _) => other,
        };
        ReportShown {
            day: r.statement_date.to_string(),
            channel: r.channel.clone(),
            status: format!("{status} ({})", r.status),
            balanced: r.status == "balanced",
            theirs: format!("{} · {}", r.statement_payments, yuan(r.statement_payments_fen)),
            ours: format!("{} · {}", r.finepay_payments, yuan(r.finepay_payments_fen)),
            difference: yuan(r.statement_payments_fen - r.finepay_payments_fen),
            refunds: format!("{} · {}", r.statement_refunds, yuan(r.statement_refunds_fen)),
            matched: r.matched,
            applied: r.applied,
            exceptions: r.exceptions,
            error: r.error.clone().unwrap_or_default(),
            reconciled: shanghai_wall_clock(utc(r.reconciled_at)),
            raised: with
                .exception_list
                .iter()
                .map(|e| {
                    json!({
                        "id": e.id,
                        "kind": desk_names::exception_kind(&e.kind, lang),
                        "reference": e.reference,
                        "decision_no": e.decision_no,
                        "amount": e.amount_fen.map(yuan),
                        "expected": e.expected_fen.map(yuan),
                        "resolved": e.resolution.is_some(),
                    })
                })
                .collect(),
        }
    }
}

/// One statement import, as the page shows it.
#[derive(Debug, Serialize)]
struct StatementShown {
    id: i64,
    bank: String,
    file_name: String,
    format: String,
    kilobytes: String,
    status: String,
    imported: String,
    lines_read: i64,
    settled: String,
    bad_lines: i64,
    error: String,
    /// Each end state a line can have, with how many of this import's lines ended in it.
    outcomes: Vec<(String, i64)>,
}

impl StatementShown {
    fn of(statement: &StatementRow, lang: Lang) -> StatementShown {
        let report = crate::db::json_value(&statement.report);
        let number = |key: &str| report[key].as_i64().unwrap_or_default();
        let outcomes = report["outcomes"]
            .as_object()
            .map(|counts| {
                counts
                    .iter()
                    .map(|(outcome, n)| (desk_names::outcome(outcome, lang), n.as_i64().unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default();
        StatementShown {
            id: statement.id,
            bank: statement.bank_code.clone(),
            file_name: statement.file_name.clone(),
            format: statement.format.clone(),
            kilobytes: format!("{:.1} KiB", statement.file_bytes as f64 / 1024.0),
            status: desk_names::import_status(&statement.status, lang),
            imported: shanghai_wall_clock(utc(statement.imported_at)),
            lines_read: number("lines_read"),
            settled: yuan(number("settled_fen")),
            bad_lines: number("bad_lines"),
            error: report["error"].as_str().unwrap_or_default().to_owned(),
            outcomes,
        }
    }
}

/// One line of a statement.
#[derive(Debug, Serialize)]
struct LineShown {
    reference: String,
    paid: String,
    amount: String,
    due: String,
    decision_no: String,
    outcome: String,
    transaction_ref: String,
    reversed_by: String,
}

impl LineShown {
    fn of(line: &BankPaymentRow, lang: Lang) -> LineShown {
        LineShown {
            reference: line.reference.clone(),
            paid: shanghai_wall_clock(utc(line.paid_at)),
            amount: yuan(line.amount_fen),
            due: line.due_fen.map(yuan).unwrap_or_default(),
            decision_no: line.decision_no.clone().unwrap_or_default(),
            outcome: desk_names::outcome(&line.outcome, lang),
            transaction_ref: line.transaction_ref.clone().unwrap_or_default(),
            reversed_by: line.reversed_by.clone().unwrap_or_default(),
        }
    }
}
