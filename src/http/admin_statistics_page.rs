//! The desk's statistics, `GET /admin/statistics?from=&to=&district=`: of the fines issued on
//! those Beijing days, the share paid online and at banks against the 2017 share, then five
//! tables, each with its chart — by district, by issue day, what each channel took, time from
//! issue to payment, paid while the QR code worked — and `GET /admin/statistics.csv?table=` to
//! download any of them.

use super::admin::stats_query;
use super::admin_frame::{self, read_as_desk};
use super::admin_statistics_tables::{Period, Table, TableName, table};
use super::admin_statistics_texts::{self, StatisticsTexts};
use super::csv_file::{self, CsvCell};
use super::error::ApiError;
use super::i18n::Lang;
use super::pages::templates;
use crate::admin::{BANK_SHARE_2017_BP, DistrictOption, Statistics, load_statistics, percent};
use crate::domain::Districts;
use crate::http::AppState;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::context;
use serde::Serialize;
use serde_json::json;

/// `GET /admin/statistics?from=&to=&district=`: the page.
pub(super) async fn page(ctx: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let lang = admin_frame::lang_of(&req);
    // Parsed first, refused only after the credential is checked: 401 and 403 before 400.
    let parsed = stats_query(&ctx, &req);
    let read = read_as_desk(&ctx, &req, move |conn, ctx| {
        let query = parsed?;
        Ok(load_statistics(conn, &ctx.districts, &query)?)
    })
    .await;
    let (desk, statistics) = match read {
        Ok(read) => read,
        Err(page) => return page,
    };
    let view = PageView::of(&statistics, &ctx.districts, lang);
    let html = templates().get_template("admin_statistics.html").and_then(|template| {
        template.render(context! {
            w => texts(lang),
            v => view,
            ..admin_frame::frame(&req, lang, &desk, "statistics")
        })
    });
    admin_frame::html_response(StatusCode::OK, html)
}

/// `GET /admin/statistics.csv?table=&from=&to=&district=`: one of the page's tables as a CSV file,
/// headers in the page's language.
pub(super) async fn csv(ctx: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let lang = admin_frame::lang_of(&req);
    let parsed = stats_query(&ctx, &req);
    let name = table_param(&req);
    let read = read_as_desk(&ctx, &req, move |conn, ctx| {
        let name = name?;
        let query = parsed?;
        Ok((name, load_statistics(conn, &ctx.districts, &query)?))
    })
    .await;
    let (name, statistics) = match read {
        Ok((_, read)) => read,
        Err(page) => return page,
    };
    let stats = &statistics.stats;
    let (from, to) = (stats.from.to_string(), stats.to.to_string());
    let shown = table(name, &statistics, lang, texts(lang), &Period { from: &from, to: &to });
    let rows =
        shown.rows.iter().map(|row| row.cells.iter().map(|c| CsvCell { text: &c.text, number: c.number }).collect());
    let district = stats.district.as_ref().map(|d| format!("{}-", d.as_str())).unwrap_or_default();
    let filename = format!("finepay-{}-{district}{from}-{to}.csv", name.as_str());
    csv_file::response(&filename, csv_file::encode(&shown.headers, rows))
}

/// The `table` parameter: one of the page's tables.
fn table_param(req: &HttpRequest) -> Result<TableName, ApiError> {
    form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(key, _)| key == "table")
        .and_then(|(_, value)| TableName::parse(&value))
        .ok_or_else(|| {
            let names: Vec<&str> = TableName::ALL.iter().map(|name| name.as_str()).collect();
            ApiError::invalid_request(format!("table must be one of {}", names.join(", ")))
                .with_details(json!({"field": "table"}))
        })
}

fn texts(lang: Lang) -> &'static StatisticsTexts {
    match lang {
        Lang::En => &admin_statistics_texts::EN,
        Lang::Zh => &admin_statistics_texts::ZH,
    }
}

/// What the template shows.
#[derive(Debug, Serialize)]
struct PageView {
    from: String,
    to: String,
    district: String,
    districts: Vec<DistrictOption>,
    headline: Option<Headline>,
    tables: Vec<Shown>,
}

/// Of the fines paid, the shares online and at banks, and the bank share against 2017's.
#[derive(Debug, Serialize)]
struct Headline {
    online_pct: String,
    bank_pct: String,
    online: i64,
    at_bank: i64,
    paid: i64,
    bank_2017_pct: String,
    /// The bank share's change since 2017, in percentage points with a sign.
    change_points: String,
}

/// A table on the page, with its title, note and download.
#[derive(Debug, Serialize)]
struct Shown {
    #[serde(flatten)]
    table: Table,
    title: &'static str,
    note: Option<&'static str>,
    csv_url: String,
}

impl PageView {
    fn of(statistics: &Statistics, districts: &Districts, lang: Lang) -> PageView {
        let stats = &statistics.stats;
        let (from, to) = (stats.from.to_string(), stats.to.to_string());
        let district = stats.district.as_ref().map(|d| d.as_str().to_owned()).unwrap_or_default();
        let share = &stats.totals.share;
        let headline = share.online_bp.zip(share.at_bank_bp).map(|(online, bank)| Headline {
            online_pct: percent(online),
            bank_pct: percent(bank),
            online: share.online,
            at_bank: share.at_bank,
            paid: share.paid,
            bank_2017_pct: percent(BANK_SHARE_2017_BP),
            change_points: signed_points(bank - BANK_SHARE_2017_BP),
        });
        let t = texts(lang);
        let period = Period { from: &from, to: &to };
        let tables = TableName::ALL
            .into_iter()
            .map(|name| {
                let (title, note) = match name {
                    TableName::Districts => (t.districts_title, Some(t.districts_note)),
                    TableName::Days => (t.days_title, None),
                    TableName::Channels => (t.channels_title, Some(t.channels_note)),
                    TableName::Times => (t.times_title, Some(t.times_note)),
                    TableName::Window => (t.window_title, Some(t.window_note)),
                };
                let csv_url = csv_url(name, &period, &district, lang);
                Shown { table: table(name, statistics, lang, t, &period), title, note, csv_url }
            })
            .collect();
        PageView { districts: DistrictOption::all(districts, &district), from, to, district, headline, tables }
    }
}

/// The table's download, for the page's very period (the days shown, not the defaults they came
/// from), district (empty for all) and language.
fn csv_url(name: TableName, period: &Period<'_>, district: &str, lang: Lang) -> String {
    let mut params = form_urlencoded::Serializer::new(String::new());
    params.append_pair("table", name.as_str());
    params.append_pair("from", period.from);
    params.append_pair("to", period.to);
    if !district.is_empty() {
        params.append_pair("district", district);
    }
    params.append_pair("lang", lang.code());
    format!("/admin/statistics.csv?{}", params.finish())
}

/// Basis points as signed percentage points: `-38.20`, `+1.05`, `0.00`.
fn signed_points(bp: i64) -> String {
    let sign = match bp.signum() {
        -1 => "-",
        1 => "+",
        _ => "",
    };
    let abs = bp.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_change_since_2017_has_its_sign_and_the_download_its_period() {
        assert_eq!([signed_points(-3820), signed_points(105), signed_points(0)], ["-38.20", "+1.05", "0.00"]);
        let period = Period { from: "2026-11-01", to: "2026-11-30" };
        assert_eq!(
            csv_url(TableName::Times, &period, "110105", Lang::En),
            "/admin/statistics.csv?table=times&from=2026-11-01&to=2026-11-30&district=110105&lang=en"
        );
        assert_eq!(
            csv_url(TableName::Days, &period, "", Lang::Zh),
            "/admin/statistics.csv?table=days&from=2026-11-01&to=2026-11-30&lang=zh"
        );
    }
}
