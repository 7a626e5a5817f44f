//! The officer API used by handhelds: the catalogue and districts for the menus, issuing,
//! reading and voiding fines, and the QR code and bill images to print or show.

use super::edge::{BearerToken, idempotency_key, parse_json, read_body, with_conn};
use super::error::ApiError;
use crate::context::AppContext;
use crate::credentials::Role;
use crate::db::fines::{self, FineRow};
use crate::domain::time::{SHANGHAI, shanghai_date};
use crate::domain::{DecisionNo, Fen, FineStatus};
use crate::fines::issue::{self, IssueCommand, IssueRequest};
use crate::fines::issue_write::{self, IssueInput};
use crate::fines::view::{FineView, ViewContext};
use crate::fines::{readable_by, utc, void};
use crate::qr::bill::{BillContent, bill_png};
use crate::qr::cache::ImageKind;
use crate::qr::render::{QrMatrix, RenderError, to_png, to_svg};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

const READERS: &[Role] = &[Role::Officer, Role::Admin];

pub async fn violations(ctx: web::Data<AppContext>, token: BearerToken) -> Result<HttpResponse, ApiError> {
    with_conn(&ctx, move |conn| token.authorize(conn, READERS)).await?;
    let list: Vec<_> = ctx.settings.catalogue.all().collect();
    Ok(HttpResponse::Ok().json(list))
}

pub async fn districts(ctx: web::Data<AppContext>, token: BearerToken) -> Result<HttpResponse, ApiError> {
    with_conn(&ctx, move |conn| token.authorize(conn, READERS)).await?;
    let list: Vec<_> = ctx.settings.districts.all().collect();
    Ok(HttpResponse::Ok().json(list))
}

pub async fn issue_fine(
    ctx: web::Data<AppContext>,
    req: HttpRequest,
    token: BearerToken,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    // A bad body is reported only once the caller is known, so 401 and 403 always come first.
    let body = read_body(&req, payload, ctx.settings.server.max_body_bytes).await;
    let key = idempotency_key(&req);
    let parse_ctx = ctx.clone();
    let input = with_conn(&ctx, move |conn| {
        let principal = token.authorize(conn, &[Role::Officer])?;
        let idempotency_key = key?;
        let (request, raw) = parse_json::<IssueRequest>(&body?)?;
        let command = IssueCommand::parse(&parse_ctx.settings, &principal, &request, parse_ctx.clock.now())?;
        Ok(IssueInput { principal, idempotency_key, request_hash: issue::request_hash(&raw), command })
    })
    .await?;
    let outcome = issue_write::issue(&ctx.issues, input).await?;
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
async fn readable_fine(ctx: &web::Data<AppContext>, token: BearerToken, raw_no: &str) -> Result<FineRow, ApiError> {
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

pub async fn get_fine(
    ctx: web::Data<AppContext>,
    token: BearerToken,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let fine = readable_fine(&ctx, token, &path).await?;
    Ok(HttpResponse::Ok().json(FineView::from_row(&ViewContext::of(&ctx), &fine)))
}

#[derive(Debug, Deserialize)]
struct VoidRequest {
    reason: String,
}

pub async fn void_fine(
    ctx: web::Data<AppContext>,
    req: HttpRequest,
    token: BearerToken,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let no = DecisionNo::parse(&path).map_err(ApiError::bad_decision_number);
    let body = read_body(&req, payload, ctx.settings.server.max_body_bytes).await;
    let work_ctx = ctx.clone();
    let fine = with_conn(&ctx, move |conn| {
        let principal = token.authorize(conn, &[Role::Officer])?;
        let no = no?;
        let (request, _) = parse_json::<VoidRequest>(&body?)?;
        Ok(void::void(&work_ctx, conn, &principal, no.as_str(), &request.reason)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(FineView::from_row(&ViewContext::of(&ctx), &fine)))
}

/// The QR code is dead once the fine is paid or void: no image of it is handed out then.
fn check_printable(fine: &FineRow) -> Result<(), ApiError> {
    match FineStatus::parse(&fine.status) {
        Some(FineStatus::Paid) => Err(ApiError::new(StatusCode::CONFLICT, "already_paid", "the fine is paid")),
        Some(FineStatus::Void) => Err(ApiError::new(StatusCode::CONFLICT, "fine_void", "the fine is void")),
        _ => Ok(()),
    }
}

fn qr_matrix(ctx: &AppContext, fine: &FineRow) -> Result<Option<QrMatrix>, ApiError> {
    let Ok(no) = DecisionNo::parse(&fine.decision_no) else { return Ok(None) };
    match ViewContext::of(ctx).pay_url(&no, fine.qr_key_id) {
        Some(url) => QrMatrix::encode(&url).map(Some).map_err(ApiError::internal),
        None => Ok(None),
    }
}

fn image_response(content_type: &str, bytes: web::Bytes) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        // A fine's images never change; the handheld may keep them.
        .insert_header(("Cache-Control", "private, max-age=86400, immutable"))
        .body(bytes)
}

async fn render(
    ctx: web::Data<AppContext>,
    fine: FineRow,
    kind: ImageKind,
    draw: fn(&AppContext, &FineRow, ImageKind) -> Result<Vec<u8>, ApiError>,
) -> Result<web::Bytes, ApiError> {
    web::block(move || ctx.renders.get_or_render(&fine.decision_no, kind, || draw(&ctx, &fine, kind))).await?
}

fn draw_qr(ctx: &AppContext, fine: &FineRow, kind: ImageKind) -> Result<Vec<u8>, ApiError> {
    let matrix = qr_matrix(ctx, fine)?.ok_or_else(no_qr)?;
    match kind {
        ImageKind::Svg => Ok(to_svg(&matrix).into_bytes()),
        ImageKind::Png { module_px } => to_png(&matrix, module_px).map_err(render_failed),
        ImageKind::Bill => draw_bill(ctx, fine, kind),
    }
}

fn no_qr() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no_qr_code", "this fine has no QR code: it is paid at banks")
}

fn render_failed(e: RenderError) -> ApiError {
    ApiError::internal(e)
}

pub async fn qr_svg(
    ctx: web::Data<AppContext>,
    token: BearerToken,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let fine = readable_fine(&ctx, token, &path).await?;
    check_printable(&fine)?;
    let bytes = render(ctx, fine, ImageKind::Svg, draw_qr).await?;
    Ok(image_response("image/svg+xml", bytes))
}

#[derive(Debug, Deserialize)]
pub struct PngQuery {
    px: Option<String>,
}

pub async fn qr_png(
    ctx: web::Data<AppContext>,
    token: BearerToken,
    path: web::Path<String>,
    query: web::Query<PngQuery>,
) -> Result<HttpResponse, ApiError> {
    let module_px = match query.px.as_deref() {
        None => Ok(8),
        Some(raw) => raw.parse::<u32>().ok().filter(|px| (1..=32).contains(px)).ok_or_else(|| {
            ApiError::invalid_request("px is the module size in pixels, 1 to 32").with_details(json!({"field": "px"}))
        }),
    };
    let fine = readable_fine(&ctx, token, &path).await?;
    let module_px = module_px?;
    check_printable(&fine)?;
    let bytes = render(ctx, fine, ImageKind::Png { module_px }, draw_qr).await?;
    Ok(image_response("image/png", bytes))
}

pub async fn bill(
    ctx: web::Data<AppContext>,
    token: BearerToken,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let fine = readable_fine(&ctx, token, &path).await?;
    check_printable(&fine)?;
    let bytes = render(ctx, fine, ImageKind::Bill, draw_bill).await?;
    Ok(image_response("image/png", bytes))
}

/// The bill for a 58 mm thermal printer. Printer fonts differ; the bill is drawn in ASCII so
/// that it prints the same everywhere.
fn draw_bill(ctx: &AppContext, fine: &FineRow, _: ImageKind) -> Result<Vec<u8>, ApiError> {
    let matrix = qr_matrix(ctx, fine)?;
    let violation = ctx.settings.catalogue.get(&fine.violation_code);
    let violation_text =
        format!("{} {}", fine.violation_code, violation.map(|v| v.description_en.as_str()).unwrap_or_default());
    let deadline = match fine.qr_expires_at {
        Some(at) if matrix.is_some() => {
            format!("Pay by QR before {} (UTC+8)", utc(at).with_timezone(&SHANGHAI).format("%Y-%m-%d %H:%M:%S"))
        }
        _ => {
            let due = shanghai_date(utc(fine.issued_at)) + chrono::Days::new(15);
            format!("Pay at an agent bank by {due}")
        }
    };
    let header = format!("TRAFFIC FINE - DISTRICT {}", fine.district_code);
    let amount = Fen(fine.amount_fen).to_string();
    bill_png(&BillContent {
        header: &header,
        decision_no: &fine.decision_no,
        violation: &violation_text,
        amount: &amount,
        deadline: &deadline,
        qr: matrix.as_ref(),
        no_qr_note: "Pay at an agent bank or online banking with the decision number",
        verification_code: &fine.verification_code,
        footer: "After 15 days a surcharge of 3% of the fine per day applies, up to the fine.",
    })
    .map_err(render_failed)
}
