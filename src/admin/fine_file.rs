//! Everything finepay knows about one fine, for the desk's fine page: the fine itself, its channel
//! orders, the payments (channel and bank) with their outcomes, the refunds, the exceptions raised
//! about it, and one timeline merging the audit trail with the orders' openings and closings
//! (which are not audited: an order is the channel's matter until money moves). And the desk's
//! search: a decision number, a receipt number or a plate (exact) find their fines.

use crate::db::audit::{self, AuditRow};
use crate::db::bank_payments::{self, BankPaymentRow};
use crate::db::channel_orders::{self, ChannelOrderRow};
use crate::db::exceptions::{self, ExceptionRow};
use crate::db::fines::{self, FineRow};
use crate::db::payments::{self, PaymentRow};
use crate::db::refunds::{self, RefundRow};
use crate::db::{DbConnection, json_value};
use crate::domain::DecisionNo;
use crate::domain::plate::Plate;
use chrono::NaiveDateTime;
use diesel::QueryResult;

/// The most fines one plate search lists.
pub(crate) const PLATE_MATCHES: i64 = 100;

/// One fine and everything recorded about it.
pub(crate) struct FineFile {
    pub fine: FineRow,
    pub orders: Vec<ChannelOrderRow>,
    pub payments: Vec<PaymentRow>,
    pub bank_payments: Vec<BankPaymentRow>,
    pub refunds: Vec<RefundRow>,
    pub exceptions: Vec<ExceptionRow>,
    pub timeline: Vec<Event>,
}

/// One thing that happened to a fine.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Event {
    pub at: NaiveDateTime,
    /// `system:<job>`, `cli`, `credential:<id> (<name>)`, or the channel for an order.
    pub actor: String,
    /// An audit action (`fine.paid`), or `order.opened` / `order.paid` / `order.closed`.
    pub action: String,
    pub details: serde_json::Value,
}

impl FineFile {
    /// The file of decision `no`; `None` when there is no such fine.
    pub(crate) fn load(conn: &mut DbConnection, no: &str) -> QueryResult<Option<FineFile>> {
        let Some(fine) = fines::find(conn, no)? else { return Ok(None) };
        let orders = channel_orders::for_fine(conn, no)?;
        let audit = audit::for_fine(conn, no)?;
        let timeline = timeline(audit, &orders);
        Ok(Some(FineFile {
            fine,
            payments: payments::for_fine(conn, no)?,
            bank_payments: bank_payments::for_fine(conn, no)?,
            refunds: refunds::for_fine(conn, no)?,
            exceptions: exceptions::for_fine(conn, no)?,
            orders,
            timeline,
        }))
    }
}

/// The audit trail and the orders' own times, in the order things happened (the audit trail's
/// order among entries of one instant).
fn timeline(audit: Vec<AuditRow>, orders: &[ChannelOrderRow]) -> Vec<Event> {
    let mut events: Vec<Event> = audit
        .into_iter()
        .map(|row| Event { at: row.at, actor: row.actor, action: row.action, details: json_value(&row.details) })
        .collect();
    for order in orders {
        let facts = serde_json::json!({
            "channel": order.channel,
            "flow": order.flow,
            "out_trade_no": order.out_trade_no,
            "amount_fen": order.amount_fen,
        });
        events.push(Event {
            at: order.opened_at,
            actor: order.channel.clone(),
            action: "order.opened".into(),
            details: facts.clone(),
        });
        let ended = match order.status.as_str() {
            "closed" => order.closed_at.map(|at| (at, "order.closed")),
            "paid" => Some((order.updated_at, "order.paid")),
            _ => None,
        };
        if let Some((at, action)) = ended {
            events.push(Event { at, actor: order.channel.clone(), action: action.into(), details: facts });
        }
    }
    // Within one instant, in the order things follow each other: the fine is issued, an order is
    // opened, money moves (the audit trail's own order), the order ends.
    let step = |event: &Event| match event.action.as_str() {
        "fine.issue" => 0,
        "order.opened" => 1,
        "order.paid" | "order.closed" => 3,
        _ => 2,
    };
    events.sort_by_key(|event| (event.at, step(event)));
    events
}

/// What a search at the desk found.
#[derive(Debug)]
pub(crate) enum Found {
    /// The one fine a decision or receipt number names.
    Fine(String),
    /// The fines issued to a plate, newest first (none, perhaps).
    Plate { plate: String, fines: Vec<FineRow> },
    /// A decision number or receipt number that names nothing.
    Nothing,
}

/// Finds what `query` names: a decision number (checked, its check letter and all), else a plate
/// (exact, after the same normalising the officer's form does), else a receipt number.
pub(crate) fn search(conn: &mut DbConnection, query: &str) -> QueryResult<Found> {
    let query = query.trim();
    if let Ok(no) = DecisionNo::parse(query) {
        return Ok(match fines::find(conn, no.as_str())? {
            Some(fine) => Found::Fine(fine.decision_no),
            None => Found::Nothing,
        });
    }
    if let Ok(plate) = Plate::parse(query) {
        let fines = fines::with_plate(conn, plate.as_str(), PLATE_MATCHES)?;
        return Ok(Found::Plate { plate: plate.as_str().to_owned(), fines });
    }
    Ok(match payments::by_receipt(conn, &query.to_ascii_uppercase())? {
        Some(payment) => Found::Fine(payment.decision_no),
        None => Found::Nothing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(hour: u32, minute: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 12, 6).and_then(|d| d.and_hms_opt(hour, minute, 0)).expect("time")
    }

    fn order(no: &str, status: &str, opened: NaiveDateTime, ended: NaiveDateTime) -> ChannelOrderRow {
        ChannelOrderRow {
            out_trade_no: no.into(),
            decision_no: "1101052612060000017".into(),
            channel: "wechat".into(),
            flow: "jsapi".into(),
            payer: None,
            amount_fen: 20000,
            pay_by: ended,
            opened_at: opened,
            pay_url: None,
            status: status.into(),
            closed_at: (status == "closed").then_some(ended),
            updated_at: ended,
        }
    }

    fn entry(id: i64, at: NaiveDateTime, action: &str) -> AuditRow {
        AuditRow {
            id,
            at,
            actor: "system:expire".into(),
            action: action.into(),
            decision_no: None,
            details: "{}".into(),
        }
    }

    #[test]
    fn the_timeline_merges_the_audit_trail_with_the_orders_in_time_order() {
        let audit = vec![entry(1, at(9, 0), "fine.issue"), entry(2, at(9, 20), "fine.paid")];
        let orders = [order("A", "closed", at(9, 5), at(9, 10)), order("B", "paid", at(9, 15), at(9, 20))];
        let actions: Vec<(NaiveDateTime, String)> =
            timeline(audit, &orders).into_iter().map(|e| (e.at, e.action)).collect();
        assert_eq!(
            actions,
            vec![
                (at(9, 0), "fine.issue".to_owned()),
                (at(9, 5), "order.opened".to_owned()),
                (at(9, 10), "order.closed".to_owned()),
                (at(9, 15), "order.opened".to_owned()),
                // The payment first: the order is marked paid because of it.
                (at(9, 20), "fine.paid".to_owned()),
                (at(9, 20), "order.paid".to_owned()),
            ]
        );
    }

    #[test]
    fn within_one_instant_an_order_opens_before_the_money_moves_and_ends_after() {
        let audit = vec![entry(1, at(9, 0), "fine.issue"), entry(2, at(9, 0), "fine.paid")];
        let orders = [order("A", "paid", at(9, 0), at(9, 0))];
        let actions: Vec<String> = timeline(audit, &orders).into_iter().map(|e| e.action).collect();
        assert_eq!(actions, ["fine.issue", "order.opened", "fine.paid", "order.paid"]);
    }

    #[test]
    fn an_open_order_has_no_end_yet() {
        let events = timeline(Vec::new(), &[order("A", "open", at(9, 5), at(13, 5))]);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].details["out_trade_no"], "A");
    }
}
