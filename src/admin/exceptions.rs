//! Resolving an exception: one conditional update (only an open exception can be resolved, so of
//! two admins resolving at once exactly one wins), audited in the same transaction. And how an
//! exception is shown: times with their offset, `details` as JSON.

use super::money_decisions::{self, Unfit};
use crate::credentials::Principal;
use crate::db::exceptions::{self, ExceptionRow};
use crate::db::{DbConnection, DbPool, audit};
use crate::domain::surcharge::SurchargeRule;
use crate::domain::time::{rfc3339, utc};
use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use serde::Serialize;

/// The longest resolution accepted, in characters.
pub(super) const MAX_RESOLUTION_CHARS: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("no exception has this id")]
    NotFound,
    #[error("exception {id} was already resolved by {by} at {at}")]
    AlreadyResolved { id: i64, by: String, at: String, resolution: String },
    #[error("a resolution of 1 to 500 characters is required")]
    InvalidResolution,
    #[error("the decision does not fit this exception: {0:?}")]
    Unfit(Unfit),
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
}

/// What a person decided about an exception: the desk's decision (`handled`, `written_off`), if
/// any, and a note of 1 to 500 characters saying what was done.
pub(crate) struct Resolution<'a> {
    pub decision: Option<&'static str>,
    pub note: &'a str,
    /// The money the decision moves, in the same transaction (see `money_decisions`).
    pub money: Option<MoneyAction<'a>>,
}

/// What a decision does with the money of its exception.
pub(crate) enum MoneyAction<'a> {
    /// Settle this fine with the unmatched bank line.
    MatchTo { decision_no: &'a str, rule: &'a SurchargeRule },
    /// Send the held channel payment back to its payer.
    Refund,
}

/// Resolves exception `id` as `principal`. The stored resolution is the note, after the decision
/// when there is one (`written_off: …`).
pub(crate) fn resolve(
    pool: &DbPool,
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    principal: &Principal,
    id: i64,
    decided: &Resolution<'_>,
) -> Result<ExceptionRow, ResolveError> {
    let note = decided.note.trim();
    if note.is_empty() || note.chars().count() > MAX_RESOLUTION_CHARS {
        return Err(ResolveError::InvalidResolution);
    }
    let resolution = match decided.decision {
        Some(decision) => format!("{decision}: {note}"),
        None => note.to_owned(),
    };
    let resolution = resolution.as_str();
    let at = now.trunc_subsecs(0).naive_utc();
    let actor = principal.actor();
    pool.write(conn, |conn| {
        if !exceptions::resolve(conn, id, &actor, at, resolution)? {
            let row = exceptions::find(conn, id)?.ok_or(ResolveError::NotFound)?;
            // Not updated yet found: someone resolved it first (the update's guard).
            return Err(ResolveError::AlreadyResolved {
                id,
                by: row.resolved_by.unwrap_or_default(),
                at: row.resolved_at.map(|at| rfc3339(utc(at))).unwrap_or_default(),
                resolution: row.resolution.unwrap_or_default(),
            });
        }
        let row = exceptions::find(conn, id)?.ok_or(ResolveError::NotFound)?;
        // A refusal here rolls the resolution back with whatever the decision had written.
        let moved = match &decided.money {
            None => serde_json::Value::Null,
            Some(MoneyAction::MatchTo { decision_no, rule }) => {
                money_decisions::match_to_fine(conn, rule, &row, decision_no, &actor, at)?
                    .map_err(ResolveError::Unfit)?;
                serde_json::json!({ "matched_to": decision_no })
            }
            Some(MoneyAction::Refund) => {
                let out_refund_no =
                    money_decisions::refund_held(conn, &row, &actor, at)?.map_err(ResolveError::Unfit)?;
                serde_json::json!({ "out_refund_no": out_refund_no })
            }
        };
        // The fine a match named is the exception's now.
        let row = exceptions::find(conn, id)?.ok_or(ResolveError::NotFound)?;
        let mut details = serde_json::json!({
            "exception_id": id,
            "kind": row.kind,
            "source": row.source,
            "reference": row.reference,
            "resolution": resolution,
        });
        if let Some(decision) = decided.decision {
            details["decision"] = decision.into();
        }
        if let serde_json::Value::Object(moved) = moved {
            for (key, value) in moved {
                details[key] = value;
            }
        }
        let details = details.to_string();
        audit::record(
            conn,
            &audit::NewAuditEntry {
                at,
                actor: &actor,
                action: "exception.resolve",
                decision_no: row.decision_no.as_deref(),
                details: &details,
            },
        )?;
        Ok(row)
    })
}

/// An exception as the admin API shows it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ExceptionView {
    pub id: i64,
    pub kind: String,
    pub source: String,
    pub reference: String,
    pub decision_no: Option<String>,
    pub statement_date: Option<NaiveDate>,
    pub amount_fen: Option<i64>,
    pub expected_fen: Option<i64>,
    pub details: serde_json::Value,
    pub raised_at: String,
    pub resolved_at: Option<String>,
    pub resolved_by: Option<String>,
    pub resolution: Option<String>,
}

impl From<ExceptionRow> for ExceptionView {
    fn from(row: ExceptionRow) -> Self {
        ExceptionView {
            id: row.id,
            kind: row.kind,
            source: row.source,
            reference: row.reference,
            decision_no: row.decision_no,
            statement_date: row.statement_date,
            amount_fen: row.amount_fen,
            expected_fen: row.expected_fen,
            details: crate::db::json_value(&row.details),
            raised_at: rfc3339(utc(row.raised_at)),
            resolved_at: row.resolved_at.map(|at| rfc3339(utc(at))),
            resolved_by: row.resolved_by,
            resolution: row.resolution,
        }
    }
}

/// What a clerk needs from an exception's details: the payer's remittance texts (a bank line),
/// else the reason it was raised.
pub(crate) fn note(details: &str) -> String {
    let details = crate::db::json_value(details);
    match (&details["remittance"], &details["why"]) {
        (serde_json::Value::Array(texts), _) if !texts.is_empty() => {
            texts.iter().filter_map(|t| t.as_str()).collect::<Vec<_>>().join(" / ")
        }
        (_, serde_json::Value::String(why)) => why.clone(),
        _ => String::new(),
    }
}
