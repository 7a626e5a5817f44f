//! The append-only audit log: who did what to which fine, when. Rows are only ever inserted, in
//! the same transaction as the change they describe.

use super::DbConnection;
use super::schema::audit_log;
use chrono::NaiveDateTime;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::sql_types::{Array, Nullable, Text, Timestamp};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditRow {
    pub id: i64,
    pub at: NaiveDateTime,
    pub actor: String,
    pub action: String,
    pub decision_no: Option<String>,
    pub details: String,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = audit_log)]
// None is bound as NULL rather than rendered as DEFAULT, so the SQL is fixed and its
// prepared statement is cached.
#[diesel(treat_none_as_default_value = false)]
pub struct NewAuditEntry<'a> {
    pub at: NaiveDateTime,
    /// `credential:<id>`, `cli`, or `system:<job>`.
    pub actor: &'a str,
    pub action: &'a str,
    pub decision_no: Option<&'a str>,
    /// A JSON object with the facts of the change.
    pub details: &'a str,
}

pub fn record(conn: &mut DbConnection, entry: &NewAuditEntry<'_>) -> QueryResult<()> {
    super::on_concrete!(conn, |c| diesel::insert_into(audit_log::table).values(entry).execute(c)).map(|_| ())
}

/// Records the entries in order: on SQLite `super::BULK_CHUNK` to a multi-row insert, on
/// PostgreSQL all in one prepared statement.
pub fn record_many(conn: &mut DbConnection, entries: &[NewAuditEntry<'_>]) -> QueryResult<()> {
    // Multi-row inserts do not compile through MultiConnection.
    match conn {
        DbConnection::Sqlite(c) => {
            for chunk in entries.chunks(super::BULK_CHUNK) {
                diesel::insert_into(audit_log::table).values(chunk).execute(c)?;
            }
        }
        DbConnection::Postgresql(c) if !entries.is_empty() => {
            InsertAudit::new(entries).execute(c)?;
        }
        DbConnection::Postgresql(_) => {}
    }
    Ok(())
}

pub fn for_fine(conn: &mut DbConnection, decision_no: &str) -> QueryResult<Vec<AuditRow>> {
    audit_log::table
        .filter(audit_log::decision_no.eq(decision_no))
        .order(audit_log::id.asc())
        .select(AuditRow::as_select())
        .load(conn)
}

/// The details of every entry by `actor`, oldest first.
pub fn for_actor(conn: &mut DbConnection, actor: &str) -> QueryResult<Vec<String>> {
    audit_log::table.filter(audit_log::actor.eq(actor)).order(audit_log::id.asc()).select(audit_log::details).load(conn)
}

/// `audit_log` entries, in order (their ids follow the arrays').
struct InsertAudit<'a> {
    at: Vec<NaiveDateTime>,
    actor: Vec<&'a str>,
    action: Vec<&'a str>,
    decision_no: Vec<Option<&'a str>>,
    details: Vec<&'a str>,
}

impl<'a> InsertAudit<'a> {
    fn new(entries: &[NewAuditEntry<'a>]) -> Self {
        InsertAudit {
            at: entries.iter().map(|e| e.at).collect(),
            actor: entries.iter().map(|e| e.actor).collect(),
            action: entries.iter().map(|e| e.action).collect(),
            decision_no: entries.iter().map(|e| e.decision_no).collect(),
            details: entries.iter().map(|e| e.details).collect(),
        }
    }
}

impl QueryFragment<Pg> for InsertAudit<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "INSERT INTO audit_log (at, actor, action, decision_no, details) \
             SELECT at, actor, action, decision_no, details FROM unnest(",
        );
        out.push_bind_param::<Array<Timestamp>, _>(&self.at)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.actor)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.action)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.decision_no)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.details)?;
        out.push_sql(") WITH ORDINALITY AS e(at, actor, action, decision_no, details, n) ORDER BY n");
        Ok(())
    }
}

super::prepared_once_on_postgres!(InsertAudit);
