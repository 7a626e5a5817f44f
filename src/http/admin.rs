//! The admin API (role `admin`): the reconciliation reports, each with the exceptions it raised,
//! and how each scheduled job last ran. Read-only; the jobs write what these show.

use super::edge::{BearerToken, with_conn};
use super::error::ApiError;
use crate::channels::ChannelKind;
use crate::context::AppContext;
use crate::credentials::Role;
use crate::db::exceptions::{self, ExceptionRow};
use crate::db::leases;
use crate::db::reconciliation::{self, ReportRow};
use crate::domain::time::shanghai_date;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// The longest span one reconciliation request may cover.
const MAX_DAYS: i64 = 366;

#[derive(Debug, Deserialize)]
struct ReportQuery {
    from: Option<String>,
    to: Option<String>,
    channel: Option<String>,
}

#[derive(Serialize)]
struct ReportWithExceptions {
    #[serde(flatten)]
    report: ReportRow,
    exception_list: Vec<ExceptionRow>,
}

/// `GET /admin/api/reconciliation?from=YYYY-MM-DD&to=YYYY-MM-DD&channel=…`: the reports of those
/// statement days (default: the last seven), oldest first.
pub async fn reconciliation(
    ctx: web::Data<AppContext>,
    req: HttpRequest,
    token: BearerToken,
) -> Result<HttpResponse, ApiError> {
    let query = web::Query::<ReportQuery>::from_query(req.query_string())
        .map_err(|e| ApiError::invalid_request(format!("query: {e}")))?
        .into_inner();
    let yesterday = shanghai_date(ctx.clock.now()) - chrono::Days::new(1);
    let to = day_param("to", query.to.as_deref())?.unwrap_or(yesterday);
    let from = day_param("from", query.from.as_deref())?.unwrap_or(to - chrono::Days::new(6));
    if from > to || (to - from).num_days() >= MAX_DAYS {
        return Err(ApiError::invalid_request(format!(
            "from must not be after to, and at most {MAX_DAYS} days before it"
        )));
    }
    let channel = match query.channel.as_deref() {
        None => None,
        Some(name) => Some(
            ChannelKind::parse(name)
                .ok_or_else(|| {
                    ApiError::invalid_request(format!("channel {name:?} is not wechat, alipay or unionpay"))
                })?
                .as_str(),
        ),
    };
    let reports = with_conn(&ctx, move |conn| {
        token.authorize(conn, &[Role::Admin])?;
        let mut raised = exceptions::for_statements(conn, from, to)?;
        let reports = reconciliation::between(conn, from, to, channel)?;
        Ok(reports
            .into_iter()
            .map(|report| {
                let (mine, rest) = raised.drain(..).partition(|e: &ExceptionRow| {
                    e.source == report.channel && e.statement_date == Some(report.statement_date)
                });
                raised = rest;
                ReportWithExceptions { report, exception_list: mine }
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "from": from, "to": to, "reports": reports })))
}

/// `GET /admin/api/jobs`: each job's lease and last run.
pub async fn jobs(ctx: web::Data<AppContext>, token: BearerToken) -> Result<HttpResponse, ApiError> {
    let rows = with_conn(&ctx, move |conn| {
        token.authorize(conn, &[Role::Admin])?;
        Ok(leases::all(conn)?)
    })
    .await?;
    let schedules: serde_json::Map<String, serde_json::Value> = ctx
        .settings
        .jobs
        .schedules
        .iter()
        .map(|(job, schedule)| (job.as_str().to_owned(), schedule.to_string().into()))
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "schedules": schedules, "leases": rows })))
}

fn day_param(name: &str, raw: Option<&str>) -> Result<Option<NaiveDate>, ApiError> {
    raw.map(|raw| {
        NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .map_err(|_| ApiError::invalid_request(format!("{name} must be a date, YYYY-MM-DD")))
    })
    .transpose()
}
