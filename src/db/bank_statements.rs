//! `bank_statements`: each statement import — which bank, which file (name, SHA-256, size), how
//! it ended and its report. The lines themselves are `bank_payments` rows naming the import.

use super::DbConnection;
use super::schema::bank_statements;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = bank_statements)]
pub struct StatementRow {
    pub id: i64,
    pub bank_code: String,
    pub format: String,
    pub file_name: String,
    pub file_sha256: String,
    pub file_bytes: i64,
    pub status: String,
    #[serde(serialize_with = "crate::db::shown::json_text")]
    pub report: String,
    #[serde(serialize_with = "crate::db::shown::beijing")]
    pub imported_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = bank_statements)]
pub struct NewStatement<'a> {
    pub bank_code: &'a str,
    pub format: &'a str,
    pub file_name: &'a str,
    pub file_sha256: &'a str,
    pub file_bytes: i64,
    pub status: &'a str,
    pub report: &'a str,
    pub imported_at: NaiveDateTime,
}

/// Records an import as it starts (status `complete` until it ends otherwise); its id.
pub fn start(conn: &mut DbConnection, statement: &NewStatement<'_>) -> QueryResult<i64> {
    match conn {
        DbConnection::Sqlite(c) => {
            diesel::insert_into(bank_statements::table).values(statement).returning(bank_statements::id).get_result(c)
        }
        DbConnection::Postgresql(c) => {
            diesel::insert_into(bank_statements::table).values(statement).returning(bank_statements::id).get_result(c)
        }
    }
}

/// Writes the import's outcome and report once it has read the whole file (or given up on it).
pub fn finish(
    conn: &mut DbConnection,
    id: i64,
    format: &str,
    status: &str,
    sha256: &str,
    bytes: i64,
    report: &str,
) -> QueryResult<()> {
    diesel::update(bank_statements::table.find(id))
        .set((
            bank_statements::format.eq(format),
            bank_statements::status.eq(status),
            bank_statements::file_sha256.eq(sha256),
            bank_statements::file_bytes.eq(bytes),
            bank_statements::report.eq(report),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The latest imports, newest first.
pub fn latest(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<StatementRow>> {
    bank_statements::table.order(bank_statements::id.desc()).limit(limit).select(StatementRow::as_select()).load(conn)
}
