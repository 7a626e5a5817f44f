//! The statistics page's five tables, each with the chart drawn from it: the page shows them, the
//! CSV export writes one, so the numbers are the same both ways — counts as integers, amounts in
//! yuan with two decimals, shares as percentages, words in the page's language.

use super::admin_statistics_texts::{StatisticsTexts, TableWords};
use super::i18n::Lang;
use crate::admin::{
    Chart, ChartBar, ChartSeries, Delay, Delays, Figures, InWindow, Share, Statistics, Taken, horizontal_chart,
    percent, vertical_chart,
};
use crate::domain::Fen;
use crate::domain::district::chinese_and_english;
use serde::Serialize;

/// The tables, by the name the CSV export takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TableName {
    /// Paid online and at banks, per district.
    Districts,
    /// The same per issue day.
    Days,
    /// What each channel took.
    Channels,
    /// Time from issue to payment.
    Times,
    /// Paid while the QR code worked, per district.
    Window,
}

impl TableName {
    pub(super) const ALL: [TableName; 5] =
        [TableName::Districts, TableName::Days, TableName::Channels, TableName::Times, TableName::Window];

    pub(super) fn as_str(self) -> &'static str {
        match self {
            TableName::Districts => "districts",
            TableName::Days => "days",
            TableName::Channels => "channels",
            TableName::Times => "times",
            TableName::Window => "window",
        }
    }

    pub(super) fn parse(raw: &str) -> Option<TableName> {
        TableName::ALL.into_iter().find(|name| name.as_str() == raw)
    }
}

/// One table with its chart.
#[derive(Debug, Serialize)]
pub(super) struct Table {
    pub(super) name: &'static str,
    pub(super) headers: Vec<&'static str>,
    /// Which columns hold numbers (right-aligned).
    pub(super) numeric: Vec<bool>,
    pub(super) rows: Vec<Row>,
    /// Inline SVG that `admin::charts` drew, every text in it escaped.
    pub(super) chart: String,
}

#[derive(Debug, Serialize)]
pub(super) struct Row {
    pub(super) cells: Vec<Cell>,
    /// The row that adds up the others (or the median under them).
    pub(super) total: bool,
}

#[derive(Debug, Serialize)]
pub(super) struct Cell {
    pub(super) text: String,
    /// Written by finepay as a number: right-aligned on the page.
    pub(super) number: bool,
}

/// The period as chart titles name it.
pub(super) struct Period<'a> {
    pub(super) from: &'a str,
    pub(super) to: &'a str,
}

impl Period<'_> {
    fn title(&self, template: &str) -> String {
        template.replace("{from}", self.from).replace("{to}", self.to)
    }
}

// Each colour at least 3:1 against the white card (WCAG 1.4.11), and apart from its neighbours.
const ONLINE: &str = "#1a7f37";
const AT_BANKS: &str = "#8c6d1f";
const NOT_PAID: &str = "#7d8896";
const FINE: &str = "#0b3d91";
const SURCHARGE: &str = "#b54708";

/// A table before its chart is drawn: the chart's title (with `{from}` and `{to}`), its parts
/// with their colours, and its bars.
struct Parts {
    headers: Vec<&'static str>,
    rows: Vec<Row>,
    chart_title: &'static str,
    series: Vec<(&'static str, &'static str)>,
    bars: Vec<ChartBar>,
    /// Bars standing on the axis (days), rather than growing to the right.
    vertical: bool,
}

/// The table `name` of `s`, in `lang`.
pub(super) fn table(
    name: TableName,
    s: &Statistics,
    lang: Lang,
    texts: &StatisticsTexts,
    period: &Period<'_>,
) -> Table {
    let w = &texts.words;
    let parts = match name {
        TableName::Districts => districts(s, lang, w),
        TableName::Days => days(s, w),
        TableName::Channels => channels(s, w),
        TableName::Times => times(s, w),
        TableName::Window => window(s, lang, w),
    };
    let chart = Chart {
        title: period.title(parts.chart_title),
        no_data: texts.no_data.to_owned(),
        series: parts.series.iter().map(|(name, color)| ChartSeries { name: (*name).to_owned(), color }).collect(),
        bars: parts.bars,
    };
    let chart = if parts.vertical { vertical_chart(&chart) } else { horizontal_chart(&chart) };
    let numeric = (0..parts.headers.len())
        .map(|column| parts.rows.iter().any(|row| row.cells.get(column).is_some_and(|cell| cell.number)))
        .collect();
    Table { name: name.as_str(), headers: parts.headers, numeric, rows: parts.rows, chart }
}

fn online_and_bank(w: &TableWords) -> Vec<(&'static str, &'static str)> {
    vec![(w.paid_online, ONLINE), (w.paid_at_banks, AT_BANKS)]
}

fn districts(s: &Statistics, lang: Lang, w: &TableWords) -> Parts {
    let mut rows: Vec<Row> = s
        .stats
        .districts
        .iter()
        .map(|d| {
            let mut cells = vec![text(&d.district_code), text(name_in(lang, d.name.as_deref()))];
            cells.extend(share_cells(&d.figures));
            Row { cells, total: false }
        })
        .collect();
    let mut total = vec![text(w.all), text("")];
    total.extend(share_cells(&s.stats.totals));
    rows.push(Row { cells: total, total: true });
    Parts {
        headers: vec![w.district_code, w.district, w.issued, w.paid_online, w.paid_at_banks, w.online_share],
        rows,
        chart_title: w.districts_chart,
        series: online_and_bank(w),
        bars: s
            .stats
            .districts
            .iter()
            .map(|d| bar(district_label(lang, &d.district_code, d.name.as_deref()), share_counts(&d.figures.share)))
            .collect(),
        vertical: false,
    }
}

fn days(s: &Statistics, w: &TableWords) -> Parts {
    let mut rows: Vec<Row> = s
        .stats
        .days
        .iter()
        .map(|d| {
            let mut cells = vec![text(&d.date.to_string())];
            cells.extend(share_cells(&d.figures));
            Row { cells, total: false }
        })
        .collect();
    let mut total = vec![text(w.all)];
    total.extend(share_cells(&s.stats.totals));
    rows.push(Row { cells: total, total: true });
    Parts {
        headers: vec![w.issue_day, w.issued, w.paid_online, w.paid_at_banks, w.online_share],
        rows,
        chart_title: w.days_chart,
        series: online_and_bank(w),
        bars: s
            .stats
            .days
            .iter()
            .map(|d| bar(d.date.format("%m-%d").to_string(), share_counts(&d.figures.share)))
            .collect(),
        vertical: true,
    }
}

fn channels(s: &Statistics, w: &TableWords) -> Parts {
    let t = &s.takings;
    let channels = [t.wechat, t.alipay, t.unionpay, t.bank];
    let mut rows: Vec<Row> = w
        .channels
        .iter()
        .zip(&channels)
        .map(|(name, taken)| Row { cells: taken_cells(name, taken), total: false })
        .collect();
    rows.push(Row { cells: taken_cells(w.all, &t.total), total: true });
    let whole_yuan = |fen: i64| u64::try_from(fen / 100).unwrap_or(0);
    Parts {
        headers: vec![w.channel, w.fines_paid, w.fines_yuan, w.surcharge_yuan, w.taken_yuan],
        rows,
        chart_title: w.channels_chart,
        series: vec![(w.fine_series, FINE), (w.surcharge_series, SURCHARGE)],
        bars: w
            .channels
            .iter()
            .zip(&channels)
            .map(|(name, t)| bar((*name).to_owned(), vec![whole_yuan(t.fines.fen), whole_yuan(t.surcharge_fen())]))
            .collect(),
        vertical: false,
    }
}

fn times(s: &Statistics, w: &TableWords) -> Parts {
    let times = &s.times;
    let ways = [&times.online, &times.at_bank, &times.all];
    let mut rows: Vec<Row> = w
        .spans
        .iter()
        .enumerate()
        .map(|(i, span)| Row {
            cells: [text(span)].into_iter().chain(ways.map(|d| count(d.spans[i]))).collect(),
            total: false,
        })
        .collect();
    rows.push(Row { cells: [text(w.all)].into_iter().chain(ways.map(|d| count(d.paid))).collect(), total: true });
    let medians = ways.map(|d: &Delays| text(&median(d.median, w)));
    rows.push(Row { cells: [text(w.median)].into_iter().chain(medians).collect(), total: true });
    Parts {
        headers: vec![w.time_to_payment, w.paid_online, w.paid_at_banks, w.all],
        rows,
        chart_title: w.times_chart,
        series: online_and_bank(w),
        bars: w
            .spans
            .iter()
            .enumerate()
            .map(|(i, span)| bar((*span).to_owned(), counts_of(&[times.online.spans[i], times.at_bank.spans[i]])))
            .collect(),
        vertical: false,
    }
}

fn window(s: &Statistics, lang: Lang, w: &TableWords) -> Parts {
    let mut rows: Vec<Row> = s
        .window
        .districts
        .iter()
        .map(|d| {
            let mut cells = vec![text(&d.district_code), text(name_in(lang, d.name.as_deref()))];
            cells.extend(window_cells(&d.figures));
            Row { cells, total: false }
        })
        .collect();
    let mut total = vec![text(w.all), text("")];
    total.extend(window_cells(&s.window.total));
    rows.push(Row { cells: total, total: true });
    Parts {
        headers: vec![
            w.district_code,
            w.district,
            w.with_code,
            w.paid_in_time,
            w.in_time_online,
            w.in_time_at_banks,
            w.paid_later,
            w.not_paid,
            w.share_in_time,
        ],
        rows,
        chart_title: w.window_chart,
        series: vec![(w.paid_in_time, ONLINE), (w.paid_later, AT_BANKS), (w.not_paid, NOT_PAID)],
        bars: s
            .window
            .districts
            .iter()
            .map(|d| {
                let (f, label) = (&d.figures, district_label(lang, &d.district_code, d.name.as_deref()));
                bar(label, counts_of(&[f.in_window(), f.paid_later, f.unpaid]))
            })
            .collect(),
        vertical: false,
    }
}

fn text(text: &str) -> Cell {
    Cell { text: text.to_owned(), number: false }
}

fn count(n: i64) -> Cell {
    Cell { text: n.to_string(), number: true }
}

fn yuan(fen: i64) -> Cell {
    Cell { text: Fen(fen).yuan_text(), number: true }
}

/// A share in basis points as a percentage; a dash for none.
fn share(bp: Option<i64>) -> Cell {
    match bp {
        Some(bp) => Cell { text: percent(bp), number: true },
        None => text("—"),
    }
}

/// Issued, paid online, paid at banks, the online share.
fn share_cells(f: &Figures) -> [Cell; 4] {
    [count(f.issued.count), count(f.share.online), count(f.share.at_bank), share(f.share.online_bp)]
}

fn share_counts(s: &Share) -> Vec<u64> {
    counts_of(&[s.online, s.at_bank])
}

fn counts_of(counts: &[i64]) -> Vec<u64> {
    counts.iter().map(|n| u64::try_from(*n).unwrap_or(0)).collect()
}

fn taken_cells(name: &str, t: &Taken) -> Vec<Cell> {
    vec![text(name), count(t.fines.count), yuan(t.fines.fen), yuan(t.surcharge_fen()), yuan(t.paid_fen)]
}

fn window_cells(f: &InWindow) -> [Cell; 7] {
    [
        count(f.with_code),
        count(f.in_window()),
        count(f.in_window_online),
        count(f.in_window_bank),
        count(f.paid_later),
        count(f.unpaid),
        share(f.share_bp),
    ]
}

fn bar(label: String, values: Vec<u64>) -> ChartBar {
    ChartBar { label, values }
}

/// A configured district's name in `lang` (the configured name is "朝阳区 Chaoyang").
fn name_in(lang: Lang, name: Option<&str>) -> &str {
    let (zh, en) = chinese_and_english(name.unwrap_or_default());
    if lang == Lang::En && !en.is_empty() { en } else { zh }
}

fn district_label(lang: Lang, code: &str, name: Option<&str>) -> String {
    format!("{code} {}", name_in(lang, name)).trim_end().to_owned()
}

fn median(median: Option<Delay>, w: &TableWords) -> String {
    let (template, n) = match median {
        None => return "—".to_owned(),
        Some(Delay::Minutes(0)) => return w.under_a_minute.to_owned(),
        Some(Delay::Minutes(n)) if n >= 60 => {
            return w.hours_minutes.replace("{h}", &(n / 60).to_string()).replace("{m}", &(n % 60).to_string());
        }
        Some(Delay::Minutes(n)) => (w.minutes, n),
        Some(Delay::Hours(n)) => (w.hours, n),
        Some(Delay::Days(n)) => (w.days, n),
    };
    template.replace("{n}", &n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::admin_statistics_texts::{EN, ZH};

    #[test]
    fn a_median_reads_in_its_unit_and_a_district_in_the_pages_language() {
        let cases = [
            (None, "—", "—"),
            (Some(Delay::Minutes(0)), "under 1 minute", "不到 1 分钟"),
            (Some(Delay::Minutes(12)), "12 min", "12 分钟"),
            (Some(Delay::Minutes(1200)), "20 h 0 min", "20 小时 0 分钟"),
            (Some(Delay::Minutes(125)), "2 h 5 min", "2 小时 5 分钟"),
            (Some(Delay::Hours(30)), "30 h", "30 小时"),
            (Some(Delay::Days(16)), "16 days", "16 天"),
        ];
        for (delay, en, zh) in cases {
            assert_eq!((median(delay, &EN.words), median(delay, &ZH.words)), (en.to_owned(), zh.to_owned()));
        }
        assert_eq!(district_label(Lang::En, "110105", Some("朝阳区 Chaoyang")), "110105 Chaoyang");
        assert_eq!(district_label(Lang::Zh, "110105", Some("朝阳区 Chaoyang")), "110105 朝阳区");
        assert_eq!(district_label(Lang::En, "110199", None), "110199", "no longer configured");
        assert_eq!(TableName::ALL.map(|name| TableName::parse(name.as_str())), TableName::ALL.map(Some));
        assert_eq!(TableName::parse("Districts"), None);
    }
}
