//! `rate_limits`: the lookup page's limits where every instance sees them. Per (scope, key), the
//! moment the key's allowance is whole again; the arithmetic (the generic cell-rate algorithm)
//! is the caller's. Each change is a conditional write on the value read — an insert that only
//! happens if no row exists, an update that only happens if the row still holds what was read —
//! so two instances counting the same key at once cannot both spend the same allowance: the
//! loser reads again.

use super::DbConnection;
use super::schema::rate_limits;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// When `key`'s allowance in `scope` is whole again, if it has been spent at all.
pub fn refilled_at(conn: &mut DbConnection, scope: &str, key: &str) -> QueryResult<Option<NaiveDateTime>> {
    rate_limits::table.find((scope, key)).select(rate_limits::refilled_at).first(conn).optional()
}

/// Moves `key`'s moment from `read` (what [`refilled_at`] said) to `to`; false when another
/// writer changed it since (read again and decide again).
pub fn advance(
    conn: &mut DbConnection,
    scope: &str,
    key: &str,
    read: Option<NaiveDateTime>,
    to: NaiveDateTime,
) -> QueryResult<bool> {
    let changed = match read {
        None => {
            let row = (rate_limits::scope.eq(scope), rate_limits::key.eq(key), rate_limits::refilled_at.eq(to));
            match conn {
                DbConnection::Sqlite(c) => {
                    diesel::insert_into(rate_limits::table).values(row).on_conflict_do_nothing().execute(c)
                }
                DbConnection::Postgresql(c) => {
                    diesel::insert_into(rate_limits::table).values(row).on_conflict_do_nothing().execute(c)
                }
            }?
        }
        Some(read) => diesel::update(rate_limits::table.find((scope, key)).filter(rate_limits::refilled_at.eq(read)))
            .set(rate_limits::refilled_at.eq(to))
            .execute(conn)?,
    };
    Ok(changed == 1)
}

/// Deletes the rows whose allowance was whole again before `before`: they say nothing.
pub fn prune(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(rate_limits::table.filter(rate_limits::refilled_at.lt(before))).execute(conn)
}
