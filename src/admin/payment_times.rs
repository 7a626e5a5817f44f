//! How long after issue the fines were paid, online and at banks: counts in six spans (under 15
//! minutes, to an hour, to 4 hours, to a day, to a week, beyond) and the median. The database
//! counts paid fines per minute of delay under a day, per hour under a week and per day beyond, so
//! the spans are exact and the median is known to the minute, the hour or the day, with no fine
//! read one by one.

use crate::db::payment_stats::DelayRow;
use serde::Serialize;

/// Where each span ends, in seconds from issue (the last has no end).
const SPAN_ENDS: [i64; 5] = [15 * 60, 60 * 60, 4 * 60 * 60, 24 * 60 * 60, 7 * 24 * 60 * 60];
const SPANS: usize = SPAN_ENDS.len() + 1;

/// The database's units (see `DelayRow`): minutes under a day, hours under a week, days beyond.
const MINUTE_UNITS: i64 = 24 * 60;
const HOUR_UNITS_END: i64 = MINUTE_UNITS + (7 - 1) * 24;

/// A time to payment, as precisely as the database counted it: the start of its minute, hour or
/// day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "unit", content = "n", rename_all = "snake_case")]
pub(crate) enum Delay {
    Minutes(i64),
    Hours(i64),
    Days(i64),
}

impl Delay {
    fn of_unit(unit: i64) -> Delay {
        if unit < MINUTE_UNITS {
            Delay::Minutes(unit.max(0))
        } else if unit < HOUR_UNITS_END {
            Delay::Hours(24 + unit - MINUTE_UNITS)
        } else {
            Delay::Days(7 + unit - HOUR_UNITS_END)
        }
    }

    fn seconds(self) -> i64 {
        match self {
            Delay::Minutes(n) => n * 60,
            Delay::Hours(n) => n * 3600,
            Delay::Days(n) => n * 86_400,
        }
    }

    /// Which of the [`SPANS`] it falls in. A unit never straddles a span's end: each end is a
    /// whole number of the units counted there.
    fn span(self) -> usize {
        let at = self.seconds();
        SPAN_ENDS.iter().position(|end| at < *end).unwrap_or(SPAN_ENDS.len())
    }
}

/// The paid fines of one way of paying, by time to payment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Delays {
    pub spans: [i64; SPANS],
    pub paid: i64,
    /// The middle fine's delay (the earlier of the two middle ones for an even number); none
    /// while none is paid.
    pub median: Option<Delay>,
}

impl Delays {
    /// From `(unit, fines)` in any order.
    fn of(mut units: Vec<(i64, i64)>) -> Delays {
        units.sort_unstable();
        let mut delays = Delays { paid: units.iter().map(|(_, n)| n).sum(), ..Delays::default() };
        let middle = (delays.paid - 1) / 2;
        let mut before = 0;
        for (unit, fines) in units {
            let delay = Delay::of_unit(unit);
            delays.spans[delay.span()] += fines;
            if delays.median.is_none() && delays.paid > 0 && before + fines > middle {
                delays.median = Some(delay);
            }
            before += fines;
        }
        delays
    }
}

/// Time to payment online (a QR channel), at banks, and both together.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct PaymentTimes {
    pub online: Delays,
    pub at_bank: Delays,
    pub all: Delays,
}

impl PaymentTimes {
    /// From the database's rows; a channel that is neither a QR channel nor a bank is left out.
    pub(crate) fn of(rows: &[DelayRow]) -> PaymentTimes {
        let (mut online, mut at_bank) = (Vec::new(), Vec::new());
        for row in rows {
            match row.paid_channel.as_deref() {
                Some("wechat" | "alipay" | "unionpay") => online.push((row.unit, row.fines)),
                Some("bank") => at_bank.push((row.unit, row.fines)),
                _ => {}
            }
        }
        let all = online.iter().chain(&at_bank).copied().collect();
        PaymentTimes { online: Delays::of(online), at_bank: Delays::of(at_bank), all: Delays::of(all) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(channel: &str, unit: i64, fines: i64) -> DelayRow {
        DelayRow { paid_channel: Some(channel.into()), unit, fines }
    }

    #[test]
    fn units_are_minutes_hours_and_days_each_inside_one_span() {
        let cases = [
            (0, Delay::Minutes(0), 0),
            (14, Delay::Minutes(14), 0),
            (15, Delay::Minutes(15), 1),
            (59, Delay::Minutes(59), 1),
            (60, Delay::Minutes(60), 2),
            (239, Delay::Minutes(239), 2),
            (240, Delay::Minutes(240), 3),
            (1439, Delay::Minutes(1439), 3),
            (1440, Delay::Hours(24), 4),
            (1583, Delay::Hours(167), 4),
            (1584, Delay::Days(7), 5),
            (1600, Delay::Days(23), 5),
        ];
        for (unit, delay, span) in cases {
            assert_eq!((Delay::of_unit(unit), Delay::of_unit(unit).span()), (delay, span), "unit {unit}");
        }
        // The database's spelling of the units, checked against the seconds they start at.
        for (seconds, unit) in [(86_399, 1439), (86_400, 1440), (604_799, 1583), (604_800, 1584), (700_000, 1585)] {
            let db_unit = match seconds {
                s if s < 86_400 => s / 60,
                s if s < 604_800 => 1416 + s / 3600,
                s => 1577 + s / 86_400,
            };
            assert_eq!(db_unit, unit, "{seconds} s");
            assert!(Delay::of_unit(unit).seconds() <= seconds && seconds - Delay::of_unit(unit).seconds() < 86_400);
        }
    }

    #[test]
    fn spans_count_each_way_of_paying_and_the_median_is_the_middle_fines() {
        let rows = [
            row("wechat", 3, 2),
            row("alipay", 20, 1),
            row("unionpay", 1300, 1),
            row("bank", 1500, 1),
            row("bank", 1590, 2),
            DelayRow { paid_channel: None, unit: 0, fines: 9 },
        ];
        let times = PaymentTimes::of(&rows);
        assert_eq!(times.online.spans, [2, 1, 0, 1, 0, 0]);
        assert_eq!(times.at_bank.spans, [0, 0, 0, 0, 1, 2]);
        assert_eq!(times.all.spans, [2, 1, 0, 1, 1, 2]);
        assert_eq!((times.online.paid, times.at_bank.paid, times.all.paid), (4, 3, 7));
        // Online: 3, 3, 20, 1300 minutes: the earlier middle one is 3 minutes.
        assert_eq!(times.online.median, Some(Delay::Minutes(3)));
        assert_eq!(times.at_bank.median, Some(Delay::Days(13)));
        // All seven: the fourth is the 1300 minutes.
        assert_eq!(times.all.median, Some(Delay::Minutes(1300)));
        assert_eq!(PaymentTimes::of(&[]).all, Delays::default(), "nothing paid: no median");
        assert_eq!(PaymentTimes::of(&[row("bank", 2, 1)]).at_bank.median, Some(Delay::Minutes(2)));
    }
}
