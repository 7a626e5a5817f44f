//! What a fine costs at a bank on a given day: the fine plus the statutory late surcharge counted
//! to that day (Asia/Shanghai), and the last day it can be paid without one.

use crate::domain::Fen;
use crate::domain::surcharge::SurchargeRule;
use crate::domain::time::shanghai_date;
use chrono::{DateTime, NaiveDate, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quote {
    pub fine_fen: i64,
    pub surcharge_fen: i64,
    pub total_fen: i64,
    /// The last day without surcharge.
    pub due_date: NaiveDate,
}

/// The amount due for a fine of `fine_fen` decided at `decided_at`, paid on `paid_on`.
pub fn amount_due(rule: &SurchargeRule, fine_fen: i64, decided_at: DateTime<Utc>, paid_on: NaiveDate) -> Quote {
    let decided_on = shanghai_date(decided_at);
    let surcharge = rule.surcharge(Fen(fine_fen), decided_on, paid_on).get();
    Quote {
        fine_fen,
        surcharge_fen: surcharge,
        // The surcharge never passes the fine, so only a fine above i64::MAX / 2 fen could
        // overflow the sum: saturate rather than panic (debug) or wrap (release).
        total_fen: fine_fen.saturating_add(surcharge),
        due_date: decided_on + chrono::Days::new(u64::try_from(rule.grace_days).unwrap_or(0)),
    }
}
