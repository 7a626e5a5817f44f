//! Operations endpoints, without credentials (bind them to loopback or a private network):
//! liveness, readiness (database reachable and migrations current), metrics, the OpenAPI document.

use super::edge::with_conn;
use super::error::ApiError;
use crate::db::migrate;
use crate::http::AppState;
use actix_web::{HttpResponse, web};
use serde_json::json;

pub(super) async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

pub(super) async fn readyz(ctx: web::Data<AppState>) -> HttpResponse {
    match with_conn(&ctx, |conn| migrate::is_current(conn).map_err(ApiError::unavailable)).await {
        Ok(true) => HttpResponse::Ok().json(json!({"status": "ready", "database": ctx.pool.backend().name()})),
        Ok(false) => HttpResponse::ServiceUnavailable().json(json!({"status": "migrations_pending"})),
        Err(e) => {
            log::warn!("readiness: {e}");
            HttpResponse::ServiceUnavailable().json(json!({"status": "database_unavailable"}))
        }
    }
}

pub(super) async fn metrics(ctx: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(ctx.metrics.render())
}

pub(super) async fn openapi() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(super::openapi::DOCUMENT)
}
