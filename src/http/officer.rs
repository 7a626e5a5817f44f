//! The officer API used by handhelds: the catalogue and districts for the menus, issuing,
//! reading and voiding fines, and the QR code's images to show (the bill is `bill.rs`'s).

use super::edge::{BearerToken, idempotency_key, parse_json, query, read_body, with_conn};
use super::error::ApiError;
use crate::credentials::{self, Binding, Role};
use crate::db::fines::{self, FineRow};
use crate::domain::time::{shanghai_date, shanghai_day_bounds};
use crate::domain::{DecisionNo, FineStatus};
use crate::fines::{FineView, IssueError, IssueInput, IssueRequest, issue, readable_by, request_hash, void};
use crate::http::AppState;
use crate::qr::{ImageKind, QrMatrix, to_png, to_svg};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{Datelike, NaiveDate};
use serde::Deserialize;
use serde_json::json;

const READERS: &[Role] = &[Role::Officer, Role::Admin];

pub(super) async fn violations(ctx: web::Data<AppState>, token: BearerToken) -> Result<HttpResponse, ApiError> {
    with_conn(&ctx, move |conn| token.authorize(conn, READERS)).await?;
    let list: Vec<_> = ctx.catalogue.all().collect();
    Ok(HttpResponse::Ok().json(list))
}

pub(super) async fn districts(ctx: web::Data<AppState>, token: BearerToken) -> Result<HttpResponse, ApiError> {
    with_conn(&ctx, move |conn| token.authorize(conn, READERS)).await?;
    let list: Vec<_> = ctx.districts.all().collect();
    Ok(HttpResponse::Ok().json(list))
}

pub(super) async fn issue_fine(
    ctx: web::Data<AppState>,
    req: HttpRequest,
    token: BearerToken,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    // Nothing here touches the database: the request is parsed on this thread, and the writer
    // authorizes and checks it with the rest of its batch — 401 and 403 before a bad body.
    let body = match read_body(&req, payload, ctx.server.max_body_bytes).await {
        // A body that never came whole is the connection's failure, answered as such at once.
        Err(e) if e.ends_connection() && e.status != StatusCode::PAYLOAD_TOO_LARGE => return Err(e),
        body => body,
    };
    let input = IssueInput {
        token_hash: credentials::hash_token(&token.plausible()?),
        idempotency_key: idempotency_key(&req).map_err(|e| IssueError::BadIdempotencyKey(e.message)),
        request: body
            .and_then(|body| parse_json::<IssueRequest>(&body))
            .map(|(request, raw)| (request, request_hash(&raw)))
            .map_err(|e| match e.status {
                StatusCode::PAYLOAD_TOO_LARGE => IssueError::TooLarge(ctx.server.max_body_bytes),
                _ if e.code == "invalid_text" => {
                    let field = e.details["field"].as_str().unwrap_or_default().to_owned();
                    IssueError::InvalidText { field, message: e.message }
                }
                _ => IssueError::Malformed(e.message),
            }),
    };
    let outcome = issue(&ctx.issues, input).await?;
    let status = if outcome.created {
        ctx.metrics.fine_issued();
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(HttpResponse::build(status).content_type("application/json").body(outcome.body))
}

/// Loads a fine the caller may read. The credential is checked first (401/403), then the number
/// (422 for bad check digits); an unknown fine or one of another district is 404.
pub(super) async fn readable_fine(
    ctx: &web::Data<AppState>,
    token: BearerToken,
    raw_no: &str,
) -> Result<FineRow, ApiError> {
    let no = DecisionNo::parse(raw_no).map_err(ApiError::bad_decision_number);
    with_conn(ctx, move |conn| {
        let principal = token.authorize(conn, READERS)?;
        let fine = fines::find(conn, no?.as_str())?.ok_or_else(ApiError::not_found)?;
        if !readable_by(&fine, &principal) {
            return Err(ApiError::not_found());
        }
        Ok(fine)
    })
    .await
}

pub(super) async fn get_fine(
    ctx: web::Data<AppState>,
    token: BearerToken,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let fine = readable_fine(&ctx, token, &path).await?;
    let no = fine.decision_no.clone();
    let payments = with_conn(&ctx, move |conn| Ok(crate::fines::payments_of(conn, &no)?)).await?;
    Ok(HttpResponse::Ok().json(FineView { payments, ..FineView::from_row(&ctx.view(), &fine) }))
}

/// The most fines one list answer holds: far more than a handheld issues in a day.
const DAY_LIST_LIMIT: i64 = 500;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DayQuery {
    /// A Beijing date, `YYYY-MM-DD`; today when absent.
    date: Option<String>,
}

/// `GET /api/v1/fines?date=YYYY-MM-DD`: the fines the caller's handheld issued that Beijing day
/// (today by default), newest first — the officer app's list, with each fine's state.
pub(super) async fn device_fines(
    ctx: web::Data<AppState>,
    req: HttpRequest,
    token: BearerToken,
) -> Result<HttpResponse, ApiError> {
    let query = query::<DayQuery>(&req);
    let today = shanghai_date(ctx.clock.now());
    let view_ctx = ctx.clone();
    let (day, rows) = with_conn(&ctx, move |conn| {
        let principal = token.authorize(conn, &[Role::Officer])?;
        let Binding::Officer { device_id, district_code, .. } = &principal.binding else {
            return Err(ApiError::forbidden("only an officer's handheld has a list of its fines"));
        };
        let day = match query?.date {
            None => today,
            // Days finepay can have issued on: chrono's own range ends where a day's bounds overflow.
            Some(raw) => NaiveDate::parse_from_str(&raw, "%Y-%m-%d")
                .ok()
                .filter(|day| (2000..=2999).contains(&day.year()))
                .ok_or_else(|| {
                    ApiError::invalid_request("date is a day from 2000 on, YYYY-MM-DD")
                        .with_details(json!({"field": "date"}))
                })?,
        };
        let rows = fines::issued_by_device(conn, district_code, device_id, shanghai_day_bounds(day), DAY_LIST_LIMIT)?;
        Ok((day, rows))
    })
    .await?;
    let views: Vec<FineView> = rows.iter().map(|row| FineView::from_row(&view_ctx.view(), row)).collect();
    Ok(HttpResponse::Ok().json(json!({"date": day.format("%Y-%m-%d").to_string(), "fines": views})))
}

#[derive(Debug, Deserialize)]
struct VoidRequest {
    reason: String,
}

pub(super) async fn void_fine(
    ctx: web::Data<AppState>,
    req: HttpRequest,
    token: BearerToken,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let no = DecisionNo::parse(&path).map_err(ApiError::bad_decision_number);
    let body = read_body(&req, payload, ctx.server.max_body_bytes).await;
    let work_ctx = ctx.clone();
    let fine = with_conn(&ctx, move |conn| {
        let principal = token.authorize(conn, &[Role::Officer])?;
        let no = no?;
        let (request, _) = parse_json::<VoidRequest>(&body?)?;
        let fine = void(&work_ctx.pool, &*work_ctx.clock, conn, &principal, no.as_str(), &request.reason)?;
        let orders = crate::db::channel_orders::for_fine(conn, no.as_str())?;
        Ok((fine, orders))
    })
    .await?;
    let (fine, orders) = fine;
    ctx.closer.close_in_background(orders);
    Ok(HttpResponse::Ok().json(FineView::from_row(&ctx.view(), &fine)))
}

/// The QR code is dead once the fine is paid or void: no image of it is handed out then.
pub(super) fn check_printable(fine: &FineRow) -> Result<(), ApiError> {
    match FineStatus::parse(&fine.status) {
        Some(FineStatus::Paid) => Err(ApiError::new(StatusCode::CONFLICT, "already_paid", "the fine is paid")),
        Some(FineStatus::Void) => Err(ApiError::new(StatusCode::CONFLICT, "fine_void", "the fine is void")),
        _ => Ok(()),
    }
}

fn qr_matrix(ctx: &AppState, fine: &FineRow) -> Result<Option<QrMatrix>, ApiError> {
    let Ok(no) = DecisionNo::parse(&fine.decision_no) else { return Ok(None) };
    match ctx.view().pay_url(&no, fine.qr_key_id) {
        Some(url) => QrMatrix::encode(&url).map(Some).map_err(ApiError::internal),
        None => Ok(None),
    }
}

fn image_response(content_type: &str, bytes: web::Bytes) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        // The code dies when the fine is paid or voided: a handheld must ask again each time.
        .insert_header(("Cache-Control", "private, no-cache"))
        .body(bytes)
}

/// `?px=`: the module size in pixels, 1 to 32; 8 when absent.
fn module_size(query: &str) -> Result<u32, ApiError> {
    let mut px = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if name == "px" {
            if px.is_some() {
                return Err(bad_px());
            }
            px = Some(value.parse::<u32>().ok().filter(|px| (1..=32).contains(px)).ok_or_else(bad_px)?);
        }
    }
    Ok(px.unwrap_or(8))
}

fn bad_px() -> ApiError {
    ApiError::invalid_request("px is the module size in pixels, 1 to 32").with_details(json!({"field": "px"}))
}

/// The image of `kind` for a fine, from the cache or rendered on a blocking thread.
async fn render(ctx: web::Data<AppState>, fine: FineRow, kind: ImageKind) -> Result<web::Bytes, ApiError> {
    web::block(move || ctx.renders.get_or_render(&fine.decision_no, kind, || draw(&ctx, &fine, kind))).await?
}

fn draw(ctx: &AppState, fine: &FineRow, kind: ImageKind) -> Result<Vec<u8>, ApiError> {
    let matrix = qr_matrix(ctx, fine)?;
    let rendered = match (kind, &matrix) {
        (_, None) => return Err(no_qr()),
        (ImageKind::Svg, Some(m)) => Ok(to_svg(m).into_bytes()),
        (ImageKind::Png { module_px }, Some(m)) => to_png(m, module_px),
    };
    rendered.map_err(ApiError::internal)
}

fn no_qr() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no_qr_code", "this fine has no QR code: it is paid at banks")
}

pub(super) async fn qr_svg(
    ctx: web::Data<AppState>,
    token: BearerToken,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let fine = readable_fine(&ctx, token, &path).await?;
    check_printable(&fine)?;
    let bytes = render(ctx, fine, ImageKind::Svg).await?;
    Ok(image_response("image/svg+xml", bytes))
}

pub(super) async fn qr_png(
    ctx: web::Data<AppState>,
    req: HttpRequest,
    token: BearerToken,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    // Parsed here rather than by an extractor, so that the credential is checked first.
    let module_px = module_size(req.query_string());
    let fine = readable_fine(&ctx, token, &path).await?;
    let module_px = module_px?;
    check_printable(&fine)?;
    let bytes = render(ctx, fine, ImageKind::Png { module_px }).await?;
    Ok(image_response("image/png", bytes))
}
