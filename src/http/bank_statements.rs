//! `POST /bank/v1/statements` (role `bank`): a bank uploads its end-of-day statement. The body is
//! spooled to a temporary file as it arrives (never held in memory; refused past
//! `bank.max_statement_bytes`), then imported as the calling bank's statement.
//!
//! An upload the network cut must be refused whole, not imported as far as it came: a CSV cut at
//! a line's end reads as a shorter statement. The HTTP server takes a connection closed mid-body
//! for the body's end, so the upload must declare its length (`Content-Length`; a chunked upload
//! without it gets 411) and is imported only when exactly that much arrived.

use super::edge::{BearerToken, declared_length, next_piece, with_conn};
use super::error::ApiError;
use crate::bank::{Format, ImportStatus, Importer};
use crate::credentials::{Binding, Role};
use crate::http::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use std::io::{BufReader, Seek, Write};

pub(super) async fn upload(
    ctx: web::Data<AppState>,
    req: HttpRequest,
    token: BearerToken,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    // Who it is comes first: nothing is spooled for a caller who may not upload.
    let principal = with_conn(&ctx, move |conn| token.authorize(conn, &[Role::Bank])).await?;
    let Binding::Bank { bank_code } = principal.binding.clone() else {
        return Err(ApiError::forbidden("only a bank credential may upload statements"));
    };
    let name = file_name(req.headers().get("X-File-Name").and_then(|v| v.to_str().ok()));
    receive_and_import(ctx, &req, payload, (bank_code, name), principal.actor()).await
}

/// Spools the request's body (its declared length, within the limit and in time) and imports it as
/// `bank_code`'s statement named `file_name`, as `actor`: the bank's upload, and the desk's on a
/// bank's behalf. The import's report, or why the file was refused.
pub(super) async fn receive_and_import(
    ctx: web::Data<AppState>,
    req: &HttpRequest,
    mut payload: web::Payload,
    (bank_code, file_name): (String, String),
    actor: String,
) -> Result<HttpResponse, ApiError> {
    let limit = ctx.bank.max_statement_bytes;
    let chunked = req.headers().contains_key(actix_web::http::header::TRANSFER_ENCODING);
    let declared = match declared_length(req) {
        Some(len) => len as u64,
        // Neither header: a request without a body (RFC 9112 §6.3).
        None if !chunked => 0,
        None => {
            return Err(ApiError::new(
                StatusCode::LENGTH_REQUIRED,
                "length_required",
                "a statement upload must declare its Content-Length, so that a cut upload is never taken for a whole one",
            ));
        }
    };
    if declared > limit {
        return Err(statement_too_large(limit));
    }
    if declared == 0 {
        return Err(ApiError::invalid_request("the body is empty: send the statement file"));
    }
    // No piece may take longer than `server.body_timeout`, and the whole no longer than that plus
    // a second per 64 KiB: a bank that trickles its upload holds a connection no longer.
    let idle = ctx.server.body_timeout;
    let deadline = tokio::time::Instant::now() + idle + std::time::Duration::from_secs(declared / MIN_BYTES_PER_SECOND);
    let mut spool = tempfile::tempfile().map_err(ApiError::internal)?;
    let mut received: u64 = 0;
    while let Some(chunk) = next_piece(&mut payload, deadline, idle).await? {
        received += chunk.len() as u64;
        if received > limit {
            return Err(statement_too_large(limit));
        }
        spool.write_all(&chunk).map_err(ApiError::internal)?;
    }
    if received != declared {
        return Err(ApiError::incomplete_body(received as usize, declared as usize));
    }
    spool.rewind().map_err(ApiError::internal)?;
    let content_type =
        req.headers().get(actix_web::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let work_ctx = ctx.clone();
    let report = web::block(move || {
        let mut input = BufReader::with_capacity(crate::bank::READ_BUFFER, spool);
        let head = std::io::BufRead::fill_buf(&mut input).map_err(ApiError::internal)?;
        let format = Format::detect(content_type.as_deref(), head);
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

/// The name the import records for an uploaded file: as given, if it is 1 to 200 bytes without
/// control characters, else `upload`.
pub(super) fn file_name(given: Option<&str>) -> String {
    given
        .filter(|name| (1..=200).contains(&name.len()) && !name.chars().any(char::is_control))
        .unwrap_or("upload")
        .into()
}

/// The slowest a statement upload may arrive on average.
const MIN_BYTES_PER_SECOND: u64 = 64 * 1024;

fn statement_too_large(limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("a statement may be at most {limit} bytes; larger files go through the inbox or `finepay bank import`"),
    )
    .with_details(serde_json::json!({"limit_bytes": limit}))
}
