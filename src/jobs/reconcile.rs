//! `reconcile`: each channel's daily statement against finepay's own payments, for the last
//! `scheduler.reconcile_days` Beijing days. A payment the channel booked that finepay never
//! recorded (its notification lost, nobody looked again — the "paid but not shown in the system"
//! failure) is confirmed by a query and applied; a payment finepay has that the channel does not,
//! or one whose amounts differ, is raised as an exception for a person. Each day and channel gets
//! a report, rewritten whole on every run; an exception is raised once however often it is found.

use super::lease::Lease;
use super::{JobEnv, JobError, read, write};
use crate::channels::{ChannelKind, PaymentChannel, StatementKind, StatementLine};
use crate::db::exceptions::{self, NewException};
use crate::db::reconciliation::{self, ReportRow};
use crate::db::{DbPool, channel_orders, payments, refunds};
use crate::domain::time::{shanghai_date, shanghai_day_bounds};
use crate::payments::{Recorded, settle_order};
use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

/// Exception kinds, as the admin API shows them.
pub(super) mod kind {
    /// The channel booked a payment finepay could not record (the query did not confirm it, or
    /// it names an order finepay never opened).
    pub(crate) const UNKNOWN_HERE: &str = "paid_at_channel_unknown_here";
    /// finepay recorded a payment the channel's statement does not have.
    pub(crate) const MISSING_AT_CHANNEL: &str = "missing_at_channel";
    pub(crate) const AMOUNT_MISMATCH: &str = "amount_mismatch";
    /// The channel booked a refund finepay never asked for.
    pub(crate) const REFUND_UNKNOWN_HERE: &str = "refund_unknown_here";
    pub(crate) const REFUND_AMOUNT_MISMATCH: &str = "refund_amount_mismatch";
}

#[derive(Debug, Default, Serialize)]
pub(super) struct ReconcileReport {
    /// One line per day and channel: `YYYY-MM-DD channel status`.
    pub reports: Vec<String>,
}

pub(super) async fn run(env: &JobEnv, lease: &Lease) -> Result<ReconcileReport, JobError> {
    let today = shanghai_date(env.clock.now());
    let mut summary = ReconcileReport::default();
    for back in 1..=env.settings.reconcile_days {
        let Some(day) = today.checked_sub_days(chrono::Days::new(u64::from(back))) else { break };
        for kind in env.channels.kinds() {
            let Some(channel) = env.channels.get(kind).cloned() else { continue };
            let report = reconcile_day(env, kind, channel, day).await?;
            summary.reports.push(format!("{day} {} {}", kind.as_str(), report.status));
            lease.renew_if_due().await?;
        }
    }
    Ok(summary)
}

/// Reconciles one channel's statement of one day and saves its report.
pub(super) async fn reconcile_day(
    env: &JobEnv,
    kind: ChannelKind,
    channel: Arc<dyn PaymentChannel>,
    day: NaiveDate,
) -> Result<ReportRow, JobError> {
    let now = env.clock.now().naive_utc();
    let mut report = empty_report(day, kind, now);
    match channel.statement(day).await {
        Ok(lines) => compare(env, kind, day, &lines, &mut report).await?,
        Err(e) => {
            log::warn!("reconcile: {} statement of {day}: {e}", kind.as_str());
            report.status = "unavailable".into();
            report.error = Some(crate::errors::chain(&e));
        }
    }
    let saved = report.clone();
    write(&env.pool, move |conn| reconciliation::save(conn, &saved)).await?;
    Ok(report)
}

fn empty_report(day: NaiveDate, kind: ChannelKind, now: NaiveDateTime) -> ReportRow {
    ReportRow {
        statement_date: day,
        channel: kind.as_str().into(),
        status: "balanced".into(),
        statement_payments: 0,
        statement_payments_fen: 0,
        statement_refunds: 0,
        statement_refunds_fen: 0,
        finepay_payments: 0,
        finepay_payments_fen: 0,
        matched: 0,
        applied: 0,
        exceptions: 0,
        error: None,
        reconciled_at: now,
    }
}

/// What one side says about a payment or refund that the other side disagrees with.
struct Finding {
    kind: &'static str,
    reference: String,
    decision_no: Option<String>,
    channel_fen: Option<i64>,
    finepay_fen: Option<i64>,
    why: String,
}

async fn compare(
    env: &JobEnv,
    kind: ChannelKind,
    day: NaiveDate,
    lines: &[StatementLine],
    report: &mut ReportRow,
) -> Result<(), JobError> {
    let (from, to) = shanghai_day_bounds(day);
    let channel_name = kind.as_str();
    let ours = read(&env.pool, move |conn| payments::of_channel_between(conn, channel_name, from, to)).await?;
    report.finepay_payments = ours.len() as i64;
    report.finepay_payments_fen = ours.iter().map(|p| p.amount_fen).sum();
    let ours: HashMap<&str, &payments::PaymentRow> = ours.iter().map(|p| (p.channel_txn_id.as_str(), p)).collect();

    let mut findings = Vec::new();
    let mut on_statement = std::collections::HashSet::new();
    for line in lines {
        match line.kind {
            StatementKind::Payment => {
                report.statement_payments += 1;
                report.statement_payments_fen += line.amount.get();
                on_statement.insert(line.channel_txn_id.as_str());
                let known = match ours.get(line.channel_txn_id.as_str()) {
                    Some(payment) => Some((*payment).clone()),
                    // Recorded, but dated another day (a payment at midnight): still ours.
                    None => find_payment(&env.pool, channel_name, &line.channel_txn_id).await?,
                };
                match known {
                    Some(payment) if payment.amount_fen == line.amount.get() => report.matched += 1,
                    Some(payment) => findings.push(Finding {
                        kind: kind::AMOUNT_MISMATCH,
                        reference: line.channel_txn_id.clone(),
                        decision_no: Some(payment.decision_no.clone()),
                        channel_fen: Some(line.amount.get()),
                        finepay_fen: Some(payment.amount_fen),
                        why: "the statement's amount differs from the recorded payment's".into(),
                    }),
                    None => match apply_unknown(env, line).await? {
                        Ok(()) => report.applied += 1,
                        Err(finding) => findings.push(finding),
                    },
                }
            }
            StatementKind::Refund => {
                report.statement_refunds += 1;
                report.statement_refunds_fen += line.amount.get();
                if let Some(finding) = check_refund(&env.pool, line).await? {
                    findings.push(finding);
                }
            }
        }
    }
    for (txn, payment) in &ours {
        if !on_statement.contains(txn) {
            findings.push(Finding {
                kind: kind::MISSING_AT_CHANNEL,
                reference: (*txn).to_owned(),
                decision_no: Some(payment.decision_no.clone()),
                channel_fen: None,
                finepay_fen: Some(payment.amount_fen),
                why: "finepay recorded this payment; the channel's statement does not have it".into(),
            });
        }
    }
    report.exceptions = findings.len() as i64;
    if !findings.is_empty() {
        report.status = "exceptions".into();
        raise(env, kind, day, findings).await?;
    }
    Ok(())
}

async fn find_payment(
    pool: &DbPool,
    channel: &'static str,
    txn: &str,
) -> Result<Option<payments::PaymentRow>, JobError> {
    let txn = txn.to_owned();
    read(pool, move |conn| payments::find(conn, channel, &txn)).await
}

/// A payment on the statement that finepay never recorded: confirmed by querying its order and
/// recorded exactly as a notification would have been.
async fn apply_unknown(env: &JobEnv, line: &StatementLine) -> Result<Result<(), Finding>, JobError> {
    let unknown = |why: String| Finding {
        kind: kind::UNKNOWN_HERE,
        reference: line.channel_txn_id.clone(),
        decision_no: None,
        channel_fen: Some(line.amount.get()),
        finepay_fen: None,
        why,
    };
    let number = line.out_trade_no.clone();
    let order = read(&env.pool, move |conn| channel_orders::find(conn, &number)).await?;
    let Some(order) = order else {
        return Ok(Err(unknown(format!("finepay never opened order {}", line.out_trade_no))));
    };
    Ok(match settle_order(&env.channels, &env.payments, &order).await {
        Ok(Some(Recorded::Applied { receipt_no, .. })) => {
            log::warn!(
                "reconcile: payment {} of fine {} was missing; applied ({receipt_no})",
                line.channel_txn_id,
                order.decision_no
            );
            Ok(())
        }
        Ok(Some(Recorded::Refunding { out_refund_no, reason })) => {
            log::warn!(
                "reconcile: payment {} of fine {} was missing; it cannot pay the fine ({reason}), refund {out_refund_no}",
                line.channel_txn_id,
                order.decision_no
            );
            Ok(())
        }
        Ok(Some(Recorded::Held { reason })) => {
            log::warn!(
                "reconcile: payment {} of fine {} was missing; dated {reason}, held as an exception",
                line.channel_txn_id,
                order.decision_no
            );
            Ok(())
        }
        Ok(Some(Recorded::AlreadyKnown)) => Ok(()),
        Ok(None) => Err(Finding {
            decision_no: Some(order.decision_no.clone()),
            ..unknown("the channel's query does not confirm the payment".into())
        }),
        Err(why) => {
            Err(Finding { decision_no: Some(order.decision_no.clone()), ..unknown(crate::errors::chain(&why)) })
        }
    })
}

/// A refund on the statement must be one finepay asked for, for the same amount.
async fn check_refund(pool: &DbPool, line: &StatementLine) -> Result<Option<Finding>, JobError> {
    let number = line.out_refund_no.clone().unwrap_or_default();
    let ours = read(pool, move |conn| refunds::find(conn, &number)).await?;
    let reference = line.out_refund_no.clone().unwrap_or_else(|| line.channel_txn_id.clone());
    Ok(match ours {
        Some(refund) if refund.amount_fen == line.amount.get() => None,
        Some(refund) => Some(Finding {
            kind: kind::REFUND_AMOUNT_MISMATCH,
            reference,
            decision_no: Some(refund.decision_no),
            channel_fen: Some(line.amount.get()),
            finepay_fen: Some(refund.amount_fen),
            why: "the statement's refund amount differs from the refund finepay asked for".into(),
        }),
        None => Some(Finding {
            kind: kind::REFUND_UNKNOWN_HERE,
            reference,
            decision_no: None,
            channel_fen: Some(line.amount.get()),
            finepay_fen: None,
            why: format!("a refund of payment {} that finepay never asked for", line.channel_txn_id),
        }),
    })
}

async fn raise(env: &JobEnv, kind: ChannelKind, day: NaiveDate, findings: Vec<Finding>) -> Result<(), JobError> {
    let at = env.clock.now().naive_utc();
    write(&env.pool, move |conn| {
        for finding in &findings {
            #[derive(Serialize)]
            struct Details<'a> {
                why: &'a str,
            }
            let details = serde_json::to_string(&Details { why: &finding.why }).unwrap_or_else(|_| "{}".into());
            let new = exceptions::raise(
                conn,
                &NewException {
                    kind: finding.kind,
                    source: kind.as_str(),
                    reference: &finding.reference,
                    decision_no: finding.decision_no.as_deref(),
                    statement_date: Some(day),
                    amount_fen: finding.channel_fen,
                    expected_fen: finding.finepay_fen,
                    details: &details,
                    raised_at: at,
                },
            )?;
            if new {
                log::warn!(
                    "reconcile: {} {day}: {} {}: {}",
                    kind.as_str(),
                    finding.kind,
                    finding.reference,
                    finding.why
                );
            }
        }
        Ok(())
    })
    .await
}
