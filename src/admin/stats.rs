//! The statistics: the database's grouped counts rolled up into totals, Beijing issue days and
//! districts, each split into issued / paid by QR per channel / paid at banks / outstanding /
//! void, with the headline — of the fines paid, the share paid online and the share at banks.

use super::{BadParam, day_param, period};
use crate::db::DbConnection;
use crate::db::stats::{self, GroupRow};
use crate::domain::{DistrictCode, Districts, FineStatus};
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::BTreeMap;

/// The period when none is asked for: this many days up to today.
pub(super) const DEFAULT_DAYS: u64 = 30;

/// Which fines to count: those issued on the Beijing days `from..=to`, of one district or all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StatsQuery {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub district: Option<DistrictCode>,
}

impl StatsQuery {
    /// From the raw `from`, `to` (YYYY-MM-DD) and `district` parameters, `today` being the
    /// Beijing date: by default the last 30 days up to today, or up to `to`.
    pub(crate) fn parse(
        from: Option<&str>,
        to: Option<&str>,
        district: Option<&str>,
        today: NaiveDate,
    ) -> Result<StatsQuery, BadParam> {
        let to = day_param("to", to)?.unwrap_or(today);
        let (from, to) = period(day_param("from", from)?, to, DEFAULT_DAYS)?;
        // An empty district (the form's "all districts") filters nothing.
        let district = district
            .filter(|raw| !raw.is_empty())
            .map(|raw| DistrictCode::parse(raw).map_err(|_| BadParam::new("district", "district is a 6-digit code")))
            .transpose()?;
        Ok(StatsQuery { from, to, district })
    }

    /// Every day of the period, in order.
    pub(crate) fn days(&self) -> impl Iterator<Item = NaiveDate> + use<> {
        self.from.iter_days().take_while({
            let to = self.to;
            move |day| *day <= to
        })
    }
}

/// A number of fines and their amount.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Tally {
    pub count: i64,
    pub fen: i64,
}

impl Tally {
    fn add(&mut self, count: i64, fen: i64) {
        self.count += count;
        self.fen += fen;
    }
}

/// Fines paid by scanning the QR code, by channel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct PaidByQr {
    pub wechat: Tally,
    pub alipay: Tally,
    pub unionpay: Tally,
    pub total: Tally,
}

/// Of the fines paid online (QR) or at a bank, how many each way, and each share in basis
/// points (1/100 of a percent; the two add up to 10000) — null when none was paid yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Share {
    pub paid: i64,
    pub online: i64,
    pub at_bank: i64,
    pub online_bp: Option<i64>,
    pub at_bank_bp: Option<i64>,
}

impl Share {
    fn of(online: i64, at_bank: i64) -> Share {
        let paid = online + at_bank;
        // The bank's share is the rest, so the two always add up to 100%.
        let online_bp = basis_points(online, paid);
        Share { paid, online, at_bank, online_bp, at_bank_bp: online_bp.map(|bp| 10_000 - bp) }
    }
}

/// `part` of `whole` in basis points, rounded half up; none of nothing.
pub(super) fn basis_points(part: i64, whole: i64) -> Option<i64> {
    (whole > 0).then(|| (part * 20_000 + whole) / (2 * whole))
}

/// The figures of one set of fines (all, one day's, one district's). Every fine is in exactly
/// one of `paid_qr`, `paid_bank`, `other`, `outstanding` and `void`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Figures {
    pub issued: Tally,
    pub paid_qr: PaidByQr,
    /// Paid at a bank (`paid_channel` = `bank`).
    pub paid_bank: Tally,
    /// Paid through a channel finepay does not list (none today).
    pub other: Tally,
    /// Awaiting payment or payable at a bank.
    pub outstanding: Tally,
    pub void: Tally,
    pub share: Share,
}

impl Figures {
    fn add(&mut self, row: &GroupRow) {
        let (count, fen) = (row.fines, row.fen);
        self.issued.add(count, fen);
        let qr = &mut self.paid_qr;
        let bucket = match (FineStatus::parse(&row.status), row.paid_channel.as_deref()) {
            (Some(FineStatus::Paid), Some("wechat")) => &mut qr.wechat,
            (Some(FineStatus::Paid), Some("alipay")) => &mut qr.alipay,
            (Some(FineStatus::Paid), Some("unionpay")) => &mut qr.unionpay,
            (Some(FineStatus::Paid), Some("bank")) => &mut self.paid_bank,
            (Some(FineStatus::AwaitingPayment | FineStatus::PayableAtBank), _) => &mut self.outstanding,
            (Some(FineStatus::Void), _) => &mut self.void,
            _ => &mut self.other,
        };
        bucket.add(count, fen);
        qr.total = Tally {
            count: qr.wechat.count + qr.alipay.count + qr.unionpay.count,
            fen: qr.wechat.fen + qr.alipay.fen + qr.unionpay.fen,
        };
        self.share = Share::of(qr.total.count, self.paid_bank.count);
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct DayFigures {
    pub date: NaiveDate,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct DistrictFigures {
    pub district_code: String,
    /// The configured name; null for a district no longer configured.
    pub name: Option<String>,
    #[serde(flatten)]
    pub figures: Figures,
}

/// The answer of `GET /admin/api/stats`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Stats {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub district: Option<DistrictCode>,
    /// Fines are counted on the day they were issued (Asia/Shanghai), whatever their later fate.
    pub grouped_by: &'static str,
    pub totals: Figures,
    /// Every day of the period, oldest first, days without fines included.
    pub days: Vec<DayFigures>,
    /// The districts that issued fines in the period, by code.
    pub districts: Vec<DistrictFigures>,
}

/// Counts the fines `query` names: grouped by the database, rolled up here.
pub(crate) fn load(conn: &mut DbConnection, districts: &Districts, query: &StatsQuery) -> diesel::QueryResult<Stats> {
    let district = query.district.as_ref().map(DistrictCode::as_str);
    let rows = stats::grouped(conn, query.from, query.to, district)?;
    Ok(roll_up(query, &rows, |code| districts.get(code).map(|d| d.name.clone())))
}

pub(super) fn roll_up(query: &StatsQuery, rows: &[GroupRow], name_of: impl Fn(&str) -> Option<String>) -> Stats {
    let mut totals = Figures::default();
    let mut days: Vec<DayFigures> = query.days().map(|date| DayFigures { date, figures: Figures::default() }).collect();
    let mut by_district: BTreeMap<&str, Figures> = BTreeMap::new();
    for row in rows {
        totals.add(row);
        let index = usize::try_from((row.day - query.from).num_days()).ok();
        if let Some(day) = index.and_then(|i| days.get_mut(i)) {
            day.figures.add(row);
        }
        by_district.entry(&row.district_code).or_default().add(row);
    }
    let districts = by_district
        .into_iter()
        .map(|(code, figures)| DistrictFigures { district_code: code.to_owned(), name: name_of(code), figures })
        .collect();
    Stats {
        from: query.from,
        to: query.to,
        district: query.district.clone(),
        grouped_by: "issue_day",
        totals,
        days,
        districts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    fn row(day: &str, district: &str, status: &str, channel: Option<&str>, fines: i64, fen: i64) -> GroupRow {
        GroupRow {
            day: date(day),
            district_code: district.into(),
            status: status.into(),
            paid_channel: channel.map(str::to_owned),
            fines,
            fen,
        }
    }

    #[test]
    fn the_period_defaults_to_thirty_days_up_to_today_and_is_checked() {
        let today = date("2026-11-21");
        let q = StatsQuery::parse(None, None, None, today).expect("default");
        assert_eq!((q.from, q.to, q.days().count()), (date("2026-10-23"), today, 30));
        let q = StatsQuery::parse(None, Some("2026-01-31"), Some("110105"), today).expect("to only");
        assert_eq!((q.from, q.district.as_ref().map(DistrictCode::as_str)), (date("2026-01-02"), Some("110105")));
        let year = StatsQuery::parse(Some("2025-11-21"), Some("2026-11-21"), None, today).expect("366 days");
        assert_eq!(year.days().count(), 366);
        for (from, to, district, field) in [
            (Some("2026-02-30"), None, None, "from"),
            (None, Some("21/11/2026"), None, "to"),
            (None, Some("+262142-01-01"), None, "to"),
            (Some("0-01-01"), None, None, "from"),
            (Some("2026-11-22"), Some("2026-11-21"), None, "from"),
            (Some("2025-11-20"), Some("2026-11-21"), None, "from"),
            (None, None, Some("11010"), "district"),
            (None, None, Some("1101050"), "district"),
            (None, None, Some("11010x"), "district"),
        ] {
            let refused = StatsQuery::parse(from, to, district, today).expect_err("refused");
            assert_eq!(refused.field, field, "{from:?} {to:?} {district:?}");
        }
    }

    #[test]
    fn each_fine_lands_in_one_bucket_by_status_and_channel() {
        let q = StatsQuery::parse(Some("2026-11-20"), Some("2026-11-22"), None, date("2026-11-22")).expect("q");
        let rows = [
            row("2026-11-20", "110105", "paid", Some("wechat"), 2, 40_000),
            row("2026-11-20", "110105", "paid", Some("bank"), 1, 20_000),
            row("2026-11-20", "110108", "awaiting_payment", None, 1, 1_000),
            row("2026-11-22", "110108", "paid", Some("alipay"), 1, 20_000),
            row("2026-11-22", "110108", "payable_at_bank", None, 3, 60_000),
            row("2026-11-22", "110108", "void", None, 1, 20_000),
            row("2026-11-22", "110108", "paid", Some("unionpay"), 1, 5_000),
            row("2026-11-22", "110108", "paid", Some("cash"), 1, 7_000),
        ];
        let stats = roll_up(&q, &rows, |code| (code == "110105").then(|| "Chaoyang".to_owned()));
        let t = &stats.totals;
        assert_eq!(t.issued, Tally { count: 11, fen: 173_000 });
        assert_eq!(t.paid_qr.wechat, Tally { count: 2, fen: 40_000 });
        assert_eq!(t.paid_qr.total, Tally { count: 4, fen: 65_000 });
        assert_eq!(t.paid_bank, Tally { count: 1, fen: 20_000 });
        assert_eq!(t.other, Tally { count: 1, fen: 7_000 });
        assert_eq!(t.outstanding, Tally { count: 4, fen: 61_000 });
        assert_eq!(t.void, Tally { count: 1, fen: 20_000 });
        assert_eq!(t.share, Share { paid: 5, online: 4, at_bank: 1, online_bp: Some(8000), at_bank_bp: Some(2000) });

        let days: Vec<(String, i64)> =
            stats.days.iter().map(|d| (d.date.to_string(), d.figures.issued.count)).collect();
        assert_eq!(days, [("2026-11-20".into(), 4), ("2026-11-21".into(), 0), ("2026-11-22".into(), 7)]);
        assert_eq!(stats.days[1].figures.share.online_bp, None, "no paid fines: no share");
        let districts: Vec<_> = stats
            .districts
            .iter()
            .map(|d| (d.district_code.as_str(), d.name.as_deref(), d.figures.issued.count))
            .collect();
        assert_eq!(districts, [("110105", Some("Chaoyang"), 3), ("110108", None, 8)]);
    }

    #[test]
    fn shares_round_half_up_and_add_up_to_the_whole() {
        let bp = |online, bank| {
            let s = Share::of(online, bank);
            (s.online_bp, s.at_bank_bp)
        };
        assert_eq!(bp(2, 1), (Some(6667), Some(3333)));
        assert_eq!(bp(1, 2), (Some(3333), Some(6667)));
        assert_eq!(bp(1, 7), (Some(1250), Some(8750)));
        assert_eq!(bp(1, 19_999), (Some(1), Some(9999)), "0.5 bp rounds up");
        assert_eq!(bp(0, 3), (Some(0), Some(10_000)));
        assert_eq!(bp(0, 0), (None, None));
    }
}
