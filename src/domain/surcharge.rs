//! The statutory late surcharge (加处罚款): 3% of the fine per day once the 15 days to pay have
//! passed, counted from the day after the decision in Asia/Shanghai, and never more than the fine
//! itself (Administrative Penalty Law 2021 art. 72; Road Traffic Safety Law art. 109).

use super::money::Fen;
use super::time::shanghai_date;
use chrono::{DateTime, NaiveDate, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SurchargeRule {
    /// Days after the decision that are free of surcharge (the surcharge starts the day after).
    pub grace_days: i64,
    /// Per-day rate in basis points of the fine (300 = 3%).
    pub daily_rate_bp: i64,
    /// Round the accumulated surcharge half-up to whole yuan (the common local rule), or keep fen.
    pub round_to_yuan: bool,
}

impl Default for SurchargeRule {
    fn default() -> Self {
        SurchargeRule { grace_days: 15, daily_rate_bp: 300, round_to_yuan: true }
    }
}

impl SurchargeRule {
    /// Days of surcharge owed when paying on `paid_on` for a decision made on `decided_on`.
    pub fn overdue_days(&self, decided_on: NaiveDate, paid_on: NaiveDate) -> i64 {
        ((paid_on - decided_on).num_days() - self.grace_days).max(0)
    }

    pub fn surcharge(&self, fine: Fen, decided_on: NaiveDate, paid_on: NaiveDate) -> Fen {
        let days = self.overdue_days(decided_on, paid_on);
        // fen × bp × days / 10 000, in i128 so no realistic input can overflow.
        let raw_basis = i128::from(fine.get()) * i128::from(self.daily_rate_bp) * i128::from(days);
        let fen =
            if self.round_to_yuan { (raw_basis + 500_000) / 1_000_000 * 100 } else { (raw_basis + 5_000) / 10_000 };
        let capped = fen.min(i128::from(fine.get()));
        Fen(i64::try_from(capped).unwrap_or(fine.get()))
    }

    /// What a fine of `fine_fen` decided at `decided_at` costs when paid on `paid_on` (a Shanghai
    /// date): the fine, the surcharge counted to that day, and the last day without one.
    pub fn amount_due(&self, fine_fen: i64, decided_at: DateTime<Utc>, paid_on: NaiveDate) -> Quote {
        let decided_on = shanghai_date(decided_at);
        let surcharge = self.surcharge(Fen(fine_fen), decided_on, paid_on).get();
        Quote {
            fine_fen,
            surcharge_fen: surcharge,
            // The surcharge never passes the fine, so only a fine above i64::MAX / 2 fen could
            // overflow the sum: saturate rather than panic (debug) or wrap (release).
            total_fen: fine_fen.saturating_add(surcharge),
            due_date: self.due_date(decided_on),
        }
    }

    /// The last day free of surcharge for a decision made on `decided_on`.
    pub fn due_date(&self, decided_on: NaiveDate) -> NaiveDate {
        decided_on + chrono::Days::new(u64::try_from(self.grace_days).unwrap_or(0))
    }
}

/// What a fine costs at a bank on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quote {
    pub fine_fen: i64,
    pub surcharge_fen: i64,
    pub total_fen: i64,
    /// The last day without surcharge.
    pub due_date: NaiveDate,
}

/// Basis points as a percentage without trailing zeros, as bills and pages print the daily
/// rate: 300 → "3", 250 → "2.5".
pub fn percent(bp: i64) -> String {
    let whole = bp / 100;
    match bp % 100 {
        0 => whole.to_string(),
        r if r % 10 == 0 => format!("{whole}.{}", r / 10),
        r => format!("{whole}.{r:02}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_print_without_trailing_zeros() {
        assert_eq!(percent(300), "3");
        assert_eq!(percent(250), "2.5");
        assert_eq!(percent(5), "0.05");
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, 1)
            .and_then(|x| x.checked_add_days(chrono::Days::new(u64::from(d))))
            .expect("valid")
    }

    #[test]
    fn worked_example_of_a_200_yuan_fine() {
        let rule = SurchargeRule::default();
        let fine = Fen::yuan(200);
        assert_eq!(rule.surcharge(fine, day(0), day(15)), Fen(0), "day 15 is the last free day");
        assert_eq!(rule.surcharge(fine, day(0), day(16)), Fen::yuan(6), "day 16 is the first overdue day");
        assert_eq!(rule.surcharge(fine, day(0), day(15 + 33)), Fen::yuan(198));
        assert_eq!(rule.surcharge(fine, day(0), day(15 + 34)), Fen::yuan(200), "capped at the fine");
        assert_eq!(rule.surcharge(fine, day(0), day(400)), Fen::yuan(200));
    }

    #[test]
    fn rounds_half_up_to_whole_yuan_or_keeps_fen() {
        // A 50-yuan fine accrues 1.50 yuan a day.
        let fine = Fen::yuan(50);
        assert_eq!(SurchargeRule::default().surcharge(fine, day(0), day(16)), Fen::yuan(2));
        let exact = SurchargeRule { round_to_yuan: false, ..SurchargeRule::default() };
        assert_eq!(exact.surcharge(fine, day(0), day(16)), Fen(150));
        assert_eq!(exact.surcharge(fine, day(0), day(17)), Fen(300));
    }

    fn instant(text: &str) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::parse_from_rfc3339(text).expect("an RFC 3339 time").to_utc()
    }

    fn date(text: &str) -> NaiveDate {
        text.parse().expect("a YYYY-MM-DD date")
    }

    /// Through the bank quote, as a bank is asked to collect it: the decision instant (its day is
    /// Shanghai's, whatever the UTC date) and the day paid.
    #[test]
    fn surcharge_by_fine_decision_time_day_paid_and_rule() {
        let yuan = SurchargeRule::default();
        let fen = SurchargeRule { round_to_yuan: false, ..yuan };
        let one_percent = SurchargeRule { daily_rate_bp: 100, ..yuan };
        let month_half_percent = SurchargeRule { grace_days: 30, daily_rate_bp: 50, round_to_yuan: true };
        let from_next_day = SurchargeRule { grace_days: 0, ..yuan };
        let all_at_once = SurchargeRule { grace_days: 0, daily_rate_bp: 10_000, round_to_yuan: false };
        // Decided on 1 January in Shanghai: 16 January is day 15, 17 January day 16.
        let jan1 = "2026-01-01T10:00:00+08:00";
        let last_second = "2026-01-01T23:59:59+08:00";
        let midnight = "2026-01-02T00:00:00+08:00";
        let huge = 1_000_000_000_000_000; // 10^15 fen, ten trillion yuan
        let cases: [(&str, i64, &str, &str, SurchargeRule, i64); 37] = [
            // The worked example: a 200-yuan fine.
            ("day 15 is the last free day", 20_000, jan1, "2026-01-16", yuan, 0),
            ("day 16: 3% = 6 yuan", 20_000, jan1, "2026-01-17", yuan, 600),
            ("day 17: 12 yuan", 20_000, jan1, "2026-01-18", yuan, 1_200),
            ("33 overdue days: 198 yuan", 20_000, jan1, "2026-02-18", yuan, 19_800),
            ("the 34th overdue day: capped at the fine", 20_000, jan1, "2026-02-19", yuan, 20_000),
            ("a year late: still the fine", 20_000, jan1, "2027-01-01", yuan, 20_000),
            ("paid the day of the decision", 20_000, jan1, "2026-01-01", yuan, 0),
            ("paid 'before' the decision (a bank's clock behind)", 20_000, jan1, "2025-12-31", yuan, 0),
            // The decision's day is Shanghai's: one second apart, one day apart.
            ("decided 23:59:59 +08:00: 17 Jan is day 16", 20_000, last_second, "2026-01-17", yuan, 600),
            ("decided 00:00:00 +08:00 the next day: 17 Jan is day 15", 20_000, midnight, "2026-01-17", yuan, 0),
            ("decided 00:00:00 +08:00 the next day: 18 Jan is day 16", 20_000, midnight, "2026-01-18", yuan, 600),
            ("15:59:59Z is 23:59:59 in Shanghai, 1 Jan", 20_000, "2026-01-01T15:59:59Z", "2026-01-17", yuan, 600),
            ("16:00:00Z on 1 Jan is already 2 Jan in Shanghai", 20_000, "2026-01-01T16:00:00Z", "2026-01-17", yuan, 0),
            ("16:30Z on 31 Dec is 1 Jan in Shanghai", 20_000, "2025-12-31T16:30:00Z", "2026-01-17", yuan, 600),
            // Rounding, half up, of the total (never day by day).
            ("1.50 yuan a day rounds up to 2 yuan", 5_000, jan1, "2026-01-17", yuan, 200),
            ("1.50 yuan a day kept in fen", 5_000, jan1, "2026-01-17", fen, 150),
            ("0.50 yuan rounds up to 1 yuan", 5_000, jan1, "2026-01-17", one_percent, 100),
            ("0.49 yuan rounds down to nothing", 4_900, jan1, "2026-01-17", one_percent, 0),
            ("0.30 yuan on day 16 of a 10-yuan fine: nothing", 1_000, jan1, "2026-01-17", yuan, 0),
            ("0.60 yuan on day 17 of a 10-yuan fine: 1 yuan", 1_000, jan1, "2026-01-18", yuan, 100),
            ("4.5 fen rounds up to 5", 150, jan1, "2026-01-17", fen, 5),
            ("4.47 fen rounds down to 4", 149, jan1, "2026-01-17", fen, 4),
            // A fine of odd fen, 123.45 yuan: 370.35 fen a day.
            ("odd fen, day 16, fen: 370.35 -> 370", 12_345, jan1, "2026-01-17", fen, 370),
            ("odd fen, day 17, fen: 740.70 -> 741, not 2 x 370", 12_345, jan1, "2026-01-18", fen, 741),
            ("odd fen, day 16, yuan: 3.7035 -> 4 yuan", 12_345, jan1, "2026-01-17", yuan, 400),
            ("odd fen, day 17, yuan: 7.407 -> 7 yuan", 12_345, jan1, "2026-01-18", yuan, 700),
            ("odd fen capped in fen: the fine exactly", 12_345, jan1, "2027-01-01", fen, 12_345),
            ("odd fen capped in yuan: the fine, not rounded up", 12_345, jan1, "2027-01-01", yuan, 12_345),
            // Another local rule: 30 free days, 0.5% a day.
            ("30 free days: day 30 is free", 20_000, jan1, "2026-01-31", month_half_percent, 0),
            ("30 free days: day 31 is charged 1 yuan", 20_000, jan1, "2026-02-01", month_half_percent, 100),
            ("30 free days: day 32, 2 yuan", 20_000, jan1, "2026-02-02", month_half_percent, 200),
            ("no free days: the decision's day is free", 20_000, jan1, "2026-01-01", from_next_day, 0),
            ("no free days: charged from the next day", 20_000, jan1, "2026-01-02", from_next_day, 600),
            // Huge fines: no step of the arithmetic overflows.
            ("ten trillion yuan, day 16", huge, jan1, "2026-01-17", yuan, 30_000_000_000_000),
            ("i64::MAX fen, a century late", i64::MAX, jan1, "2126-01-01", yuan, i64::MAX),
            ("i64::MAX fen at 100% a day, fen", i64::MAX, jan1, "2026-01-02", all_at_once, i64::MAX),
            ("i64::MAX / 2 fen capped: the total just fits", i64::MAX / 2, jan1, "2126-01-01", yuan, i64::MAX / 2),
        ];
        for (what, fine_fen, decided_at, paid_on, rule, expected) in cases {
            let quote = rule.amount_due(fine_fen, instant(decided_at), date(paid_on));
            assert_eq!(quote.surcharge_fen, expected, "{what}");
            assert_eq!(quote.fine_fen, fine_fen, "{what}");
            assert_eq!(quote.total_fen, fine_fen.saturating_add(expected), "{what}");
        }
    }

    /// The last day without surcharge is counted from the decision's day in Shanghai too.
    #[test]
    fn the_due_date_is_the_last_free_day_in_shanghai() {
        let month = SurchargeRule { grace_days: 30, ..SurchargeRule::default() };
        let cases = [
            ("2026-01-01T23:59:59+08:00", SurchargeRule::default(), "2026-01-16"),
            ("2026-01-02T00:00:00+08:00", SurchargeRule::default(), "2026-01-17"),
            ("2026-01-01T16:00:00Z", SurchargeRule::default(), "2026-01-17"),
            ("2026-01-01T10:00:00+08:00", month, "2026-01-31"),
        ];
        for (decided_at, rule, due) in cases {
            let quote = rule.amount_due(20_000, instant(decided_at), date("2026-01-01"));
            assert_eq!(quote.due_date, date(due), "decided {decided_at}");
        }
    }
}
