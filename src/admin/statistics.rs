//! The figures of the desk's statistics page, read in one snapshot: the dashboard's counts (the
//! online and bank shares, by district and by day), what each channel took with the banks'
//! surcharge, how long after issue fines were paid, and how many were paid while their QR code
//! worked — each grouped by the database, rolled up here — and the 2017 share the bureau compares
//! them with.

use super::payment_times::PaymentTimes;
use super::stats::{self, Stats, StatsQuery, Tally, basis_points};
use crate::db::payment_stats::{self, BankTakings, WindowRow};
use crate::db::{DbConnection, read_snapshot};
use crate::domain::{DistrictCode, Districts, FineStatus};
use serde::Serialize;
use std::collections::BTreeMap;

/// Of Beijing's on-the-spot fines paid in 2017, before the QR code, the share paid at bank
/// outlets, in basis points: 68.2 % (the Beijing Traffic Management Bureau, announcing the QR
/// code on bills on 2018-10-23). What the bank share is measured against.
pub(crate) const BANK_SHARE_2017_BP: i64 = 6820;

/// What the fines paid through one channel came to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Taken {
    /// Fines paid, and their amount as issued.
    pub fines: Tally,
    /// What was paid for them: the fines' amounts, and at banks the surcharge on top.
    pub paid_fen: i64,
}

impl Taken {
    fn at_face_value(fines: Tally) -> Taken {
        Taken { fines, paid_fen: fines.fen }
    }

    pub(crate) fn surcharge_fen(&self) -> i64 {
        self.paid_fen - self.fines.fen
    }
}

/// What each channel took for the period's fines. A QR payment is the fine's amount (the code
/// works only before any surcharge is due); a bank's is its settled entry's, surcharge included.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Takings {
    pub wechat: Taken,
    pub alipay: Taken,
    pub unionpay: Taken,
    pub bank: Taken,
    pub total: Taken,
}

impl Takings {
    fn of(stats: &Stats, bank: BankTakings) -> Takings {
        let qr = &stats.totals.paid_qr;
        let bank = Taken { fines: stats.totals.paid_bank, paid_fen: bank.fen };
        let [wechat, alipay, unionpay] = [qr.wechat, qr.alipay, qr.unionpay].map(Taken::at_face_value);
        let all = [wechat, alipay, unionpay, bank];
        let total = Taken {
            fines: Tally { count: all.iter().map(|t| t.fines.count).sum(), fen: all.iter().map(|t| t.fines.fen).sum() },
            paid_fen: all.iter().map(|t| t.paid_fen).sum(),
        };
        Takings { wechat, alipay, unionpay, bank, total }
    }
}

/// Of the fines issued with a QR code (void ones left out), how many were paid while it worked —
/// by QR or at a bank — how many later, and how many not yet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct InWindow {
    pub with_code: i64,
    pub in_window_online: i64,
    pub in_window_bank: i64,
    pub paid_later: i64,
    pub unpaid: i64,
    /// `in_window_online + in_window_bank` of `with_code`, in basis points; none without a code.
    pub share_bp: Option<i64>,
}

impl InWindow {
    pub(crate) fn in_window(&self) -> i64 {
        self.in_window_online + self.in_window_bank
    }

    fn add(&mut self, row: &WindowRow) {
        let n = row.fines;
        match (FineStatus::parse(&row.status), row.in_window == 1, row.paid_channel.as_deref()) {
            (Some(FineStatus::Void), _, _) => return,
            (Some(FineStatus::Paid), true, Some("bank")) => self.in_window_bank += n,
            (Some(FineStatus::Paid), true, _) => self.in_window_online += n,
            (Some(FineStatus::Paid), false, _) => self.paid_later += n,
            _ => self.unpaid += n,
        }
        self.with_code += n;
        self.share_bp = basis_points(self.in_window(), self.with_code);
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct DistrictInWindow {
    pub district_code: String,
    /// The configured name; none for a district no longer configured.
    pub name: Option<String>,
    #[serde(flatten)]
    pub figures: InWindow,
}

/// The QR window's figures in all and per district.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct QrWindow {
    pub total: InWindow,
    /// The districts that issued fines with a code in the period, by code.
    pub districts: Vec<DistrictInWindow>,
}

impl QrWindow {
    fn of(rows: &[WindowRow], name_of: impl Fn(&str) -> Option<String>) -> QrWindow {
        let mut total = InWindow::default();
        let mut by_district: BTreeMap<&str, InWindow> = BTreeMap::new();
        for row in rows {
            total.add(row);
            by_district.entry(&row.district_code).or_default().add(row);
        }
        let districts = by_district
            .into_iter()
            .filter(|(_, figures)| figures.with_code > 0)
            .map(|(code, figures)| DistrictInWindow { district_code: code.to_owned(), name: name_of(code), figures })
            .collect();
        QrWindow { total, districts }
    }
}

/// Everything the statistics page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Statistics {
    pub stats: Stats,
    pub takings: Takings,
    pub times: PaymentTimes,
    pub window: QrWindow,
}

/// Reads the figures of the fines `query` names, in one snapshot so that they agree.
pub(crate) fn load(
    conn: &mut DbConnection,
    districts: &Districts,
    query: &StatsQuery,
) -> diesel::QueryResult<Statistics> {
    let district = query.district.as_ref().map(DistrictCode::as_str);
    let (from, to) = (query.from, query.to);
    read_snapshot(conn, |conn| {
        let stats = stats::load(conn, districts, query)?;
        let bank = payment_stats::bank_takings(conn, from, to, district)?;
        let times = PaymentTimes::of(&payment_stats::delays(conn, from, to, district)?);
        let window = payment_stats::qr_window(conn, from, to, district)?;
        let window = QrWindow::of(&window, |code| districts.get(code).map(|d| d.name.clone()));
        Ok(Statistics { takings: Takings::of(&stats, bank), stats, times, window })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::stats::roll_up;
    use crate::db::stats::GroupRow;
    use chrono::NaiveDate;

    fn window_row(district: &str, status: &str, channel: Option<&str>, in_window: i32, fines: i64) -> WindowRow {
        WindowRow {
            district_code: district.into(),
            status: status.into(),
            paid_channel: channel.map(str::to_owned),
            in_window,
            fines,
        }
    }

    #[test]
    fn the_window_counts_fines_with_a_code_by_when_they_were_paid_leaving_void_ones_out() {
        let rows = [
            window_row("110105", "paid", Some("wechat"), 1, 5),
            window_row("110105", "paid", Some("bank"), 1, 1),
            window_row("110105", "paid", Some("bank"), 0, 2),
            window_row("110105", "awaiting_payment", None, 0, 1),
            window_row("110105", "payable_at_bank", None, 0, 3),
            window_row("110105", "void", None, 0, 4),
            window_row("110108", "paid", Some("alipay"), 1, 1),
            window_row("110109", "void", None, 0, 1),
        ];
        let window = QrWindow::of(&rows, |code| (code == "110105").then(|| "朝阳区 Chaoyang".to_owned()));
        let chaoyang = InWindow {
            with_code: 12,
            in_window_online: 5,
            in_window_bank: 1,
            paid_later: 2,
            unpaid: 4,
            share_bp: Some(5000),
        };
        assert_eq!(window.districts[0].figures, chaoyang);
        assert_eq!(window.districts[0].name.as_deref(), Some("朝阳区 Chaoyang"));
        assert_eq!(
            (window.districts[1].district_code.as_str(), window.districts[1].figures.share_bp),
            ("110108", Some(10_000))
        );
        assert_eq!(window.districts.len(), 2, "a district with only void fines has nothing to show");
        assert_eq!((window.total.with_code, window.total.in_window(), window.total.share_bp), (13, 7, Some(5385)));
        assert_eq!(QrWindow::of(&[], |_| None).total.share_bp, None);
    }

    #[test]
    fn qr_payments_take_the_fine_and_banks_the_surcharge_too() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 1).expect("date");
        let q = StatsQuery::parse(Some("2026-12-01"), Some("2026-12-01"), None, day).expect("query");
        let row = |status: &str, channel: Option<&str>, fines: i64, fen: i64| GroupRow {
            day,
            district_code: "110105".into(),
            status: status.into(),
            paid_channel: channel.map(str::to_owned),
            fines,
            fen,
        };
        let rows = [
            row("paid", Some("wechat"), 2, 40_000),
            row("paid", Some("unionpay"), 1, 5_000),
            row("paid", Some("bank"), 2, 40_000),
            row("awaiting_payment", None, 1, 20_000),
        ];
        let stats = roll_up(&q, &rows, |_| None);
        let takings = Takings::of(&stats, BankTakings { fen: 41_200 });
        assert_eq!(takings.wechat, Taken { fines: Tally { count: 2, fen: 40_000 }, paid_fen: 40_000 });
        assert_eq!(takings.alipay, Taken::default());
        assert_eq!(takings.bank.surcharge_fen(), 1_200);
        assert_eq!(takings.total, Taken { fines: Tally { count: 5, fen: 85_000 }, paid_fen: 86_200 });
    }
}
