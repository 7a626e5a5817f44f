//! `oauth_states`: the `state` of each WeChat OAuth trip a pay page starts, bound to its fine.
//! WeChat hands `state` back unchanged with the payer's `code`; finepay takes a return only for a
//! state it issued, for that fine, within its life, and once — by one conditional update — so a
//! replayed or forged return never opens an order.

use super::DbConnection;
use super::schema::oauth_states;
use chrono::NaiveDateTime;
use diesel::prelude::*;

/// Records a new `state` for the fine `decision_no`.
pub fn issue(conn: &mut DbConnection, state: &str, decision_no: &str, now: NaiveDateTime) -> QueryResult<()> {
    diesel::insert_into(oauth_states::table)
        .values((
            oauth_states::state.eq(state),
            oauth_states::decision_no.eq(decision_no),
            oauth_states::created_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// How many states were issued for `decision_no` after `since`.
pub fn issued_since(conn: &mut DbConnection, decision_no: &str, since: NaiveDateTime) -> QueryResult<i64> {
    oauth_states::table
        .filter(oauth_states::decision_no.eq(decision_no))
        .filter(oauth_states::created_at.gt(since))
        .count()
        .get_result(conn)
}

/// Uses `state` up, if it was issued for `decision_no` after `issued_after` and not used yet.
/// False for any other state: unknown, another fine's, too old or used.
pub fn take(
    conn: &mut DbConnection,
    state: &str,
    decision_no: &str,
    issued_after: NaiveDateTime,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let usable = oauth_states::table
        .find(state)
        .filter(oauth_states::decision_no.eq(decision_no))
        .filter(oauth_states::created_at.gt(issued_after))
        .filter(oauth_states::used_at.is_null());
    Ok(diesel::update(usable).set(oauth_states::used_at.eq(now)).execute(conn)? == 1)
}

/// Forgets states issued before `before` (used or not: they can no longer be taken).
pub fn prune(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(oauth_states::table.filter(oauth_states::created_at.lt(before))).execute(conn)
}
