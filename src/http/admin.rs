//! The admin API (role `admin`: a bearer token; the reads also take the desk's session): statistics of fines, the exceptions queue
//! and its resolution, a fine's audit trail, the reconciliation reports with the exceptions each
//! raised, and how each scheduled job last ran. The dashboard is `admin_page.rs`.

use super::admin_session::AdminReader;
use super::edge::{BearerToken, parse_json, query, read_body, with_conn};
use super::error::ApiError;
use crate::admin::{
    BadParam, ExceptionResolution, ExceptionView, StatsQuery, day_param, load_stats, period, resolve_exception,
};
use crate::channels::ChannelKind;
use crate::credentials::Role;
use crate::db::exceptions::{self, ListFilter, Resolution};
use crate::db::{audit, fines, leases};
use crate::domain::time::{rfc3339, shanghai_date, shanghai_day_bounds};
use crate::domain::{DecisionNo, DistrictCode};
use crate::http::AppState;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Deserialize)]
struct ReportQuery {
    from: Option<String>,
    to: Option<String>,
    channel: Option<String>,
}

/// `GET /admin/api/reconciliation?from=YYYY-MM-DD&to=YYYY-MM-DD&channel=…`: the reports of those
/// statement days (default: the last seven), oldest first.
pub(super) async fn reconciliation(
    ctx: web::Data<AppState>,
    req: HttpRequest,
    reader: AdminReader,
) -> Result<HttpResponse, ApiError> {
    // Parsed first, refused only after the credential is checked: 401 before 400.
    let parsed = report_query(&ctx, &req);
    let work_ctx = ctx.clone();
    let (from, to, reports) = with_conn(&ctx, move |conn| {
        reader.authorize(&work_ctx, conn)?;
        let (from, to, channel) = parsed?;
        Ok((from, to, crate::admin::reconciliation::reports(conn, from, to, channel)?))
    })
    .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "from": from, "to": to, "reports": reports })))
}

/// `GET /admin/api/jobs`: each job's lease and last run.
pub(super) async fn jobs(ctx: web::Data<AppState>, reader: AdminReader) -> Result<HttpResponse, ApiError> {
    let work_ctx = ctx.clone();
    let rows = with_conn(&ctx, move |conn| {
        reader.authorize(&work_ctx, conn)?;
        Ok(leases::all(conn)?)
    })
    .await?;
    let schedules: serde_json::Map<String, serde_json::Value> =
        ctx.schedules.iter().map(|(job, schedule)| (job.as_str().to_owned(), schedule.to_string().into())).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "schedules": schedules, "leases": rows })))
}

#[derive(Debug, Deserialize)]
pub(crate) struct StatsParams {
    from: Option<String>,
    to: Option<String>,
    district: Option<String>,
}

/// The stats query of a request's `?from=&to=&district=`, the default period ending today.
pub(crate) fn stats_query(ctx: &AppState, req: &HttpRequest) -> Result<StatsQuery, ApiError> {
    let params: StatsParams = query(req)?;
    let today = shanghai_date(ctx.clock.now());
    Ok(StatsQuery::parse(params.from.as_deref(), params.to.as_deref(), params.district.as_deref(), today)?)
}

/// `GET /admin/api/stats?from=&to=&district=`: the fines issued on those Beijing days, counted
/// and summed by the database, as totals, per day and per district (see `admin::stats`).
pub(super) async fn stats(
    ctx: web::Data<AppState>,
    req: HttpRequest,
    reader: AdminReader,
) -> Result<HttpResponse, ApiError> {
    // Parsed first, refused only after the credential is checked: 401 before 400.
    let parsed = stats_query(&ctx, &req);
    let work_ctx = ctx.clone();
    let stats = with_conn(&ctx, move |conn| {
        reader.authorize(&work_ctx, conn)?;
        Ok(load_stats(conn, &work_ctx.districts, &parsed?)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(stats))
}

/// The default and the largest page of the exceptions queue.
const DEFAULT_PAGE: i64 = 100;
const MAX_PAGE: i64 = 1000;

/// The exceptions queue's query, as the API and the desk's page take it.
#[derive(Debug, Deserialize)]
pub(super) struct ListParams {
    status: Option<String>,
    source: Option<String>,
    kind: Option<String>,
    district: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<String>,
    after_id: Option<String>,
}

/// [`ListFilter`] with its strings owned, to take to the database thread.
pub(super) struct ListQuery {
    resolution: Resolution,
    source: Option<String>,
    kind: Option<String>,
    district: Option<String>,
    /// The Beijing days the exceptions were raised on, both ends included.
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    after_id: i64,
    limit: i64,
}

/// The query as the desk's filter form shows it back.
#[derive(Debug, Serialize)]
pub(super) struct ShownQuery {
    status: &'static str,
    source: String,
    kind: String,
    district: String,
    from: String,
    to: String,
}

impl ListQuery {
    /// The filter this query asks for.
    pub(super) fn filter(&self) -> ListFilter<'_> {
        ListFilter {
            resolution: self.resolution,
            source: self.source.as_deref(),
            kind: self.kind.as_deref(),
            district: self.district.as_deref(),
            raised_from: self.from.map(|day| shanghai_day_bounds(day).0),
            raised_before: self.to.map(|day| shanghai_day_bounds(day).1),
            after_id: self.after_id,
            limit: self.limit,
        }
    }

    pub(super) fn shown(&self) -> ShownQuery {
        ShownQuery {
            status: match self.resolution {
                Resolution::Open => "open",
                Resolution::Resolved => "resolved",
                Resolution::All => "all",
            },
            source: self.source.clone().unwrap_or_default(),
            kind: self.kind.clone().unwrap_or_default(),
            district: self.district.clone().unwrap_or_default(),
            from: self.from.map(|d| d.to_string()).unwrap_or_default(),
            to: self.to.map(|d| d.to_string()).unwrap_or_default(),
        }
    }

    pub(super) fn parse(params: ListParams) -> Result<ListQuery, BadParam> {
        let resolution = match params.status.as_deref() {
            None | Some("open") => Resolution::Open,
            Some("resolved") => Resolution::Resolved,
            Some("all") => Resolution::All,
            Some(_) => return Err(BadParam::new("status", "status is open, resolved or all")),
        };
        // An empty value (a form's blank field) filters nothing.
        let text = |field: &'static str, raw: Option<String>| match raw.filter(|v| !v.is_empty()) {
            Some(v) if v.chars().count() > 64 => Err(BadParam::new(field, format!("{field} is at most 64 characters"))),
            other => Ok(other),
        };
        let number = |field: &'static str, raw: Option<String>, range: std::ops::RangeInclusive<i64>, default| {
            raw.map_or(Ok(default), |v| {
                v.parse::<i64>().ok().filter(|n| range.contains(n)).ok_or_else(|| {
                    BadParam::new(field, format!("{field} is a whole number from {} to {}", range.start(), range.end()))
                })
            })
        };
        let district = match params.district.filter(|v| !v.is_empty()) {
            None => None,
            Some(raw) => Some(
                DistrictCode::parse(&raw)
                    .map_err(|_| BadParam::new("district", "district is a 6-digit division code"))?
                    .as_str()
                    .to_owned(),
            ),
        };
        let day = |field, raw: Option<String>| day_param(field, raw.as_deref().filter(|v| !v.is_empty()));
        let (from, to) = (day("from", params.from)?, day("to", params.to)?);
        if let (Some(from), Some(to)) = (from, to)
            && from > to
        {
            return Err(BadParam::new("from", "from is after to"));
        }
        Ok(ListQuery {
            resolution,
            source: text("source", params.source)?,
            kind: text("kind", params.kind)?,
            district,
            from,
            to,
            after_id: number("after_id", params.after_id, 0..=i64::MAX, 0)?,
            limit: number("limit", params.limit, 1..=MAX_PAGE, DEFAULT_PAGE)?,
        })
    }
}

/// `GET /admin/api/exceptions?status=open|resolved|all&source=&kind=&limit=&after_id=`: a page
/// of the queue by id; `next_after_id` asks for the next page (null on the last).
pub(super) async fn exception_list(
    ctx: web::Data<AppState>,
    req: HttpRequest,
    reader: AdminReader,
) -> Result<HttpResponse, ApiError> {
    let parsed = query::<ListParams>(&req).and_then(|params| Ok(ListQuery::parse(params)?));
    let work_ctx = ctx.clone();
    let (rows, limit) = with_conn(&ctx, move |conn| {
        reader.authorize(&work_ctx, conn)?;
        let q = parsed?;
        // One more than a page tells whether another page follows.
        let filter = ListFilter { limit: q.limit + 1, ..q.filter() };
        Ok((exceptions::list(conn, &filter)?, q.limit))
    })
    .await?;
    let more = rows.len() as i64 > limit;
    let page: Vec<ExceptionView> = rows.into_iter().take(limit as usize).map(ExceptionView::from).collect();
    let next_after_id = if more { page.last().map(|e| e.id) } else { None };
    Ok(HttpResponse::Ok().json(json!({ "exceptions": page, "next_after_id": next_after_id })))
}

/// A resolution is at most 500 characters: a body past this is refused before it is parsed.
const RESOLVE_BODY_LIMIT: usize = 8 * 1024;

#[derive(Debug, Deserialize)]
struct ResolveRequest {
    resolution: String,
}

/// `POST /admin/api/exceptions/{id}/resolve` `{"resolution": "…"}`: the exception as resolved.
/// Bearer token only, never the dashboard's cookie, so a page on another site cannot make an
/// admin's browser resolve anything.
pub(super) async fn resolve(
    ctx: web::Data<AppState>,
    req: HttpRequest,
    token: BearerToken,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let id = path.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
        ApiError::invalid_request("the exception id is a positive whole number").with_details(json!({"field": "id"}))
    });
    let body = read_body(&req, payload, RESOLVE_BODY_LIMIT).await;
    let work_ctx = ctx.clone();
    let resolved = with_conn(&ctx, move |conn| {
        let principal = token.authorize(conn, &[Role::Admin])?;
        let id = id?;
        let (request, _) = parse_json::<ResolveRequest>(&body?)?;
        let now = work_ctx.clock.now();
        let decided = ExceptionResolution { decision: None, note: &request.resolution, money: None };
        Ok(resolve_exception(&work_ctx.pool, conn, now, &principal, id, &decided)?)
    })
    .await?;
    log::info!("exception {} resolved by {}", resolved.id, resolved.resolved_by.as_deref().unwrap_or(""));
    Ok(HttpResponse::Ok().json(ExceptionView::from(resolved)))
}

#[derive(Debug, Deserialize)]
struct AuditParams {
    decision_no: Option<String>,
}

#[derive(Debug, Serialize)]
struct AuditEntry {
    id: i64,
    at: String,
    actor: String,
    action: String,
    details: serde_json::Value,
}

/// `GET /admin/api/audit?decision_no=…`: everything done to a fine, oldest first.
pub(super) async fn audit_trail(
    ctx: web::Data<AppState>,
    req: HttpRequest,
    reader: AdminReader,
) -> Result<HttpResponse, ApiError> {
    let no = query::<AuditParams>(&req).and_then(|params| {
        let raw = params.decision_no.ok_or_else(|| {
            ApiError::invalid_request("decision_no is required").with_details(json!({"field": "decision_no"}))
        })?;
        DecisionNo::parse(&raw)
            .map_err(|e| ApiError::bad_decision_number(e).with_details(json!({"field": "decision_no"})))
    });
    let work_ctx = ctx.clone();
    let (no, rows) = with_conn(&ctx, move |conn| {
        reader.authorize(&work_ctx, conn)?;
        let no = no?;
        fines::find(conn, no.as_str())?.ok_or_else(ApiError::not_found)?;
        let rows = audit::for_fine(conn, no.as_str())?;
        Ok((no, rows))
    })
    .await?;
    let entries: Vec<AuditEntry> = rows
        .into_iter()
        .map(|row| AuditEntry {
            id: row.id,
            at: rfc3339(crate::domain::time::utc(row.at)),
            actor: row.actor,
            action: row.action,
            details: crate::db::json_value(&row.details),
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "decision_no": no.as_str(), "entries": entries })))
}

/// The statement days (default: the seven up to yesterday) and the channel a reconciliation
/// request asks for.
pub(super) fn report_query(
    ctx: &AppState,
    req: &HttpRequest,
) -> Result<(NaiveDate, NaiveDate, Option<&'static str>), ApiError> {
    let params: ReportQuery = query(req)?;
    let yesterday = shanghai_date(ctx.clock.now()) - chrono::Days::new(1);
    let to = day_param("to", params.to.as_deref())?.unwrap_or(yesterday);
    let (from, to) = period(day_param("from", params.from.as_deref())?, to, 7)?;
    let channel = match params.channel.as_deref() {
        None => None,
        Some(name) => Some(
            ChannelKind::parse(name)
                .ok_or_else(|| BadParam::new("channel", format!("channel {name:?} is not wechat, alipay or unionpay")))?
                .as_str(),
        ),
    };
    Ok((from, to, channel))
}
