//! What the dashboard shows, ready for its template: the headline share, the figures table, the
//! two charts drawn from the statistics, the open exceptions and the latest reconciliation
//! reports, with money in yuan and times in Beijing time.

use super::charts::{self, Bar, Chart, Series};
use super::stats::{Figures, Stats};
use super::words::DashboardWords;
use crate::db::exceptions::ExceptionRow;
use crate::db::reconciliation::ReportRow;
use crate::domain::time::{shanghai_wall_clock, utc};
use crate::domain::{Districts, Fen};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub(crate) struct DashboardView {
    pub from: String,
    pub to: String,
    pub district: String,
    pub districts: Vec<DistrictOption>,
    pub headline: Option<Headline>,
    pub figures: Vec<FigureRow>,
    /// Inline SVG, escaped by the chart code.
    pub day_chart: String,
    pub district_chart: String,
    pub exceptions: Vec<ExceptionLine>,
    /// More exceptions are open than the table shows.
    pub more_exceptions: bool,
    pub reports_from: String,
    pub reports_to: String,
    pub reports: Vec<ReportLine>,
}

#[derive(Debug, Serialize)]
pub(crate) struct DistrictOption {
    pub code: String,
    pub name: String,
    pub selected: bool,
}

impl DistrictOption {
    /// Every configured district, `selected` marked (empty: none, that is all districts).
    pub(crate) fn all(districts: &Districts, selected: &str) -> Vec<DistrictOption> {
        districts
            .all()
            .map(|d| DistrictOption {
                code: d.code.as_str().to_owned(),
                name: d.name.clone(),
                selected: d.code.as_str() == selected,
            })
            .collect()
    }
}

/// Of the fines paid in the period, the share paid online and at banks.
#[derive(Debug, Serialize)]
pub(crate) struct Headline {
    pub online_pct: String,
    pub bank_pct: String,
    pub online: i64,
    pub at_bank: i64,
    pub paid: i64,
}

#[derive(Debug, Serialize)]
pub(crate) struct FigureRow {
    pub label: &'static str,
    pub count: i64,
    pub amount: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct ExceptionLine {
    pub id: i64,
    pub raised: String,
    pub source: String,
    pub kind: String,
    pub reference: String,
    pub decision_no: String,
    pub amount: String,
    pub expected: String,
    /// The payer's remittance texts of a bank line (what they wrote, which may name the fine),
    /// or why the system raised it.
    pub note: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct ReportLine {
    pub date: String,
    pub channel: String,
    pub status: String,
    pub statement_payments: i64,
    pub statement_amount: String,
    pub finepay_payments: i64,
    pub matched: i64,
    pub applied: i64,
    pub exceptions: i64,
}

/// The parts of each bar, bottom first: paid by QR per channel, paid at banks, outstanding.
/// Void fines (and any paid otherwise) are in the figures table, not in the bars.
fn series(words: &DashboardWords) -> Vec<Series> {
    // Each colour at least 3:1 against the white card (WCAG 1.4.11), the channels' own hues.
    let colors = ["#07a35a", "#1677ff", "#d7000f", "#8c6d1f", "#7d8896"];
    words.series.iter().zip(colors).map(|(name, color)| Series { name: (*name).to_owned(), color }).collect()
}

fn title(template: &str, stats: &Stats) -> String {
    template.replace("{from}", &stats.from.to_string()).replace("{to}", &stats.to.to_string())
}

fn bar(label: String, f: &Figures) -> Bar {
    let counts = [f.paid_qr.wechat, f.paid_qr.alipay, f.paid_qr.unionpay, f.paid_bank, f.outstanding];
    Bar { label, values: counts.iter().map(|t| u64::try_from(t.count).unwrap_or(0)).collect() }
}

pub(super) fn day_chart(stats: &Stats, words: &DashboardWords) -> Chart {
    Chart {
        title: title(words.day_title, stats),
        no_data: words.no_data.to_owned(),
        series: series(words),
        bars: stats.days.iter().map(|d| bar(d.date.format("%m-%d").to_string(), &d.figures)).collect(),
    }
}

pub(super) fn district_chart(stats: &Stats, words: &DashboardWords) -> Chart {
    Chart {
        title: title(words.district_title, stats),
        no_data: words.no_data.to_owned(),
        series: series(words),
        bars: stats
            .districts
            .iter()
            .map(|d| {
                let label = match &d.name {
                    Some(name) => format!("{} {name}", d.district_code),
                    None => d.district_code.clone(),
                };
                bar(label, &d.figures)
            })
            .collect(),
    }
}

/// Basis points as a percentage with two decimals.
pub(crate) fn percent(bp: i64) -> String {
    format!("{}.{:02}%", bp / 100, bp % 100)
}

fn yuan(fen: i64) -> String {
    crate::domain::money::format_yuan(Fen(fen))
}

fn figure_rows(t: &Figures, words: &DashboardWords) -> Vec<FigureRow> {
    let [issued, wechat, alipay, unionpay, qr, bank, outstanding, void, other] = words.figures;
    let mut rows = vec![
        (issued, t.issued),
        (wechat, t.paid_qr.wechat),
        (alipay, t.paid_qr.alipay),
        (unionpay, t.paid_qr.unionpay),
        (qr, t.paid_qr.total),
        (bank, t.paid_bank),
        (outstanding, t.outstanding),
        (void, t.void),
    ];
    if t.other.count > 0 {
        rows.push((other, t.other));
    }
    rows.into_iter().map(|(label, tally)| FigureRow { label, count: tally.count, amount: yuan(tally.fen) }).collect()
}

pub(crate) fn view(
    stats: &Stats,
    districts: &Districts,
    open: &[ExceptionRow],
    more_exceptions: bool,
    reports: (chrono::NaiveDate, chrono::NaiveDate, &[ReportRow]),
    words: &DashboardWords,
) -> DashboardView {
    let share = &stats.totals.share;
    let headline = share.online_bp.zip(share.at_bank_bp).map(|(online, bank)| Headline {
        online_pct: percent(online),
        bank_pct: percent(bank),
        online: share.online,
        at_bank: share.at_bank,
        paid: share.paid,
    });
    let district = stats.district.as_ref().map(|d| d.as_str().to_owned()).unwrap_or_default();
    let optional_yuan = |fen: Option<i64>| fen.map(yuan).unwrap_or_default();
    DashboardView {
        from: stats.from.to_string(),
        to: stats.to.to_string(),
        districts: DistrictOption::all(districts, &district),
        district,
        headline,
        figures: figure_rows(&stats.totals, words),
        day_chart: charts::vertical(&day_chart(stats, words)),
        district_chart: charts::horizontal(&district_chart(stats, words)),
        exceptions: open
            .iter()
            .map(|e| ExceptionLine {
                id: e.id,
                raised: shanghai_wall_clock(utc(e.raised_at)),
                source: e.source.clone(),
                kind: e.kind.clone(),
                reference: e.reference.clone(),
                decision_no: e.decision_no.clone().unwrap_or_default(),
                amount: optional_yuan(e.amount_fen),
                expected: optional_yuan(e.expected_fen),
                note: super::exceptions::note(&e.details),
            })
            .collect(),
        more_exceptions,
        reports_from: reports.0.to_string(),
        reports_to: reports.1.to_string(),
        reports: reports
            .2
            .iter()
            .map(|r| ReportLine {
                date: r.statement_date.to_string(),
                channel: r.channel.clone(),
                status: r.status.clone(),
                statement_payments: r.statement_payments,
                statement_amount: yuan(r.statement_payments_fen),
                finepay_payments: r.finepay_payments,
                matched: r.matched,
                applied: r.applied,
                exceptions: r.exceptions,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::stats::{StatsQuery, roll_up};
    use crate::db::stats::GroupRow;

    #[test]
    fn the_charts_stack_each_day_and_district_by_what_became_of_its_fines() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 21).expect("date");
        let q = StatsQuery::parse(Some("2026-11-20"), Some("2026-11-21"), None, day).expect("query");
        let row = |status: &str, channel: Option<&str>, fines| GroupRow {
            day,
            district_code: "110105".into(),
            status: status.into(),
            paid_channel: channel.map(str::to_owned),
            fines,
            fen: fines * 20_000,
        };
        let rows = [
            row("paid", Some("alipay"), 2),
            row("paid", Some("bank"), 1),
            row("awaiting_payment", None, 3),
            row("void", None, 4),
        ];
        let stats = roll_up(&q, &rows, |_| Some("Chaoyang".to_owned()));
        let days = day_chart(&stats, &super::super::words::EN);
        let values: Vec<(&str, &[u64])> = days.bars.iter().map(|b| (b.label.as_str(), b.values.as_slice())).collect();
        assert_eq!(values, [("11-20", &[0u64, 0, 0, 0, 0][..]), ("11-21", &[0, 2, 0, 1, 3][..])]);
        let districts = district_chart(&stats, &super::super::words::ZH);
        assert_eq!(districts.bars[0].label, "110105 Chaoyang");
        assert_eq!(districts.bars[0].values, [0, 2, 0, 1, 3], "void fines are not drawn");
        assert_eq!((percent(6667), percent(0), percent(10_000)), ("66.67%".into(), "0.00%".into(), "100.00%".into()));
    }
}
