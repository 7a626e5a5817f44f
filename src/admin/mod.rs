//! The back office's use cases for finance and operations staff (role `admin`): statistics of
//! issued, paid and outstanding fines, the exceptions queue and its resolution, and the charts
//! the dashboard and the statistics page draw. The HTTP side is `http/admin.rs` (API) and the
//! desk's pages (`http/admin_page.rs`, `http/admin_statistics_page.rs`, …).

use chrono::NaiveDate;

mod charts;
mod dashboard;
mod exceptions;
mod fine_file;
mod money_decisions;
mod payment_times;
pub(crate) mod reconciliation;
mod statistics;
mod stats;
mod words;

pub(crate) use charts::{
    Bar as ChartBar, Chart, Series as ChartSeries, horizontal as horizontal_chart, vertical as vertical_chart,
};
pub(crate) use dashboard::{DistrictOption, percent, view as dashboard_view};
pub(crate) use exceptions::{
    ExceptionView, MoneyAction, Resolution as ExceptionResolution, ResolveError, note as exception_note,
    resolve as resolve_exception,
};
pub(crate) use fine_file::{Event as FineEvent, FineFile, Found, search as search_fines};
pub use money_decisions::Unfit;
pub(crate) use payment_times::{Delay, Delays};
pub(crate) use statistics::{BANK_SHARE_2017_BP, InWindow, Statistics, Taken, load as load_statistics};
pub(crate) use stats::{Figures, Share, Stats, StatsQuery, load as load_stats};
pub(crate) use words::{EN as WORDS_EN, ZH as WORDS_ZH};

/// A query parameter that does not parse: which one, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadParam {
    pub field: &'static str,
    pub message: String,
}

impl BadParam {
    pub fn new(field: &'static str, message: impl Into<String>) -> BadParam {
        BadParam { field, message: message.into() }
    }
}

/// The longest period of days one request may ask about.
pub(crate) const MAX_PERIOD_DAYS: i64 = 366;

/// A date parameter spelt YYYY-MM-DD. Four-digit years only, which both databases hold and
/// which leave room for date arithmetic (chrono alone would take years in the hundreds of
/// thousands, and subtracting days from those can overflow).
pub(crate) fn day_param(field: &'static str, raw: Option<&str>) -> Result<Option<NaiveDate>, BadParam> {
    raw.map(|raw| {
        Some(raw)
            .filter(|raw| raw.len() == 10)
            .and_then(|raw| NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok())
            .ok_or_else(|| BadParam::new(field, format!("{field} must be a date, YYYY-MM-DD")))
    })
    .transpose()
}

/// `from` (given, or else `days` days up to `to`) and `to`, checked to be a period of at most
/// [`MAX_PERIOD_DAYS`] days.
pub(crate) fn period(from: Option<NaiveDate>, to: NaiveDate, days: u64) -> Result<(NaiveDate, NaiveDate), BadParam> {
    let from = from
        .unwrap_or_else(|| to.checked_sub_days(chrono::Days::new(days.saturating_sub(1))).unwrap_or(NaiveDate::MIN));
    if from > to {
        return Err(BadParam::new("from", "from must not be after to"));
    }
    if (to - from).num_days() >= MAX_PERIOD_DAYS {
        return Err(BadParam::new("from", format!("a period is at most {MAX_PERIOD_DAYS} days")));
    }
    Ok((from, to))
}
