//! The statutory late surcharge (加处罚款): 3% of the fine per day once the 15 days to pay have
//! passed, counted from the day after the decision in Asia/Shanghai, and never more than the fine
//! itself (Administrative Penalty Law 2021 art. 72; Road Traffic Safety Law art. 109).

use super::money::Fen;
use chrono::NaiveDate;

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
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
