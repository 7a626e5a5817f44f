//! `POST /bank/v1/statements` (role `bank`): a bank uploads its end-of-day statement. The body is
//! spooled to a temporary file as it arrives (never held in memory; refused past
//! `bank.max_statement_bytes`), then imported as the calling bank's statement.

use super::edge::{BearerToken, with_conn};
use super::error::ApiError;
use crate::bank::{Format, ImportStatus, Importer};
use crate::credentials::{Binding, Role};
use crate::http::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use std::io::{BufReader, Seek, Write};

pub(super) async fn upload(
    ctx: web::Data<AppState>,
    req: HttpRequest,
    token: BearerToken,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    // Who it is comes first: nothing is spooled for a caller who may not upload.
    let principal = with_conn(&ctx, move |conn| token.authorize(conn, &[Role::Bank])).await?;
    let Binding::Bank { bank_code } = principal.binding.clone() else {
        return Err(ApiError::forbidden("only a bank credential may upload statements"));
    };
    let limit = ctx.bank.max_statement_bytes;
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(statement_too_large(limit));
    }
    let mut spool = tempfile::tempfile().map_err(ApiError::internal)?;
    let mut received: u64 = 0;
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::invalid_request(format!("reading the body: {e}")))?;
        received += chunk.len() as u64;
        if received > limit {
            return Err(statement_too_large(limit));
        }
        spool.write_all(&chunk).map_err(ApiError::internal)?;
    }
    if received == 0 {
        return Err(ApiError::invalid_request("the body is empty: send the statement file"));
    }
    spool.rewind().map_err(ApiError::internal)?;
    let content_type =
        req.headers().get(actix_web::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let file_name = req
        .headers()
        .get("X-File-Name")
        .and_then(|v| v.to_str().ok())
        .filter(|name| (1..=200).contains(&name.len()) && !name.chars().any(char::is_control))
        .unwrap_or("upload")
        .to_owned();
    let work_ctx = ctx.clone();
    let report = web::block(move || {
        let mut input = BufReader::with_capacity(crate::bank::READ_BUFFER, spool);
        let head = std::io::BufRead::fill_buf(&mut input).map_err(ApiError::internal)?;
        let format = Format::detect(content_type.as_deref(), head);
        let actor = principal.actor();
        let importer = Importer::new(&work_ctx.pool, &work_ctx.bank, &actor, work_ctx.clock.now());
        importer.import(&bank_code, &file_name, format, input, &mut |_| {}).map_err(ApiError::internal)
    })
    .await??;
    let body = serde_json::to_value(&report).map_err(ApiError::internal)?;
    match report.status {
        ImportStatus::Complete => Ok(HttpResponse::Ok().json(body)),
        ImportStatus::Malformed => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "malformed_statement",
            report.error.unwrap_or_else(|| "the statement broke off".into()),
        )
        .with_details(body)),
        ImportStatus::Refused => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_statement",
            report.error.unwrap_or_else(|| "not a statement".into()),
        )
        .with_details(body)),
    }
}

fn statement_too_large(limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("a statement may be at most {limit} bytes; larger files go through the inbox or `finepay bank import`"),
    )
    .with_details(serde_json::json!({"limit_bytes": limit}))
}
