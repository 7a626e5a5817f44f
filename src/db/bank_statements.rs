//! `bank_statements`: each statement import — which bank, which file (name, SHA-256, size), how
//! it ended and its report. The lines themselves are `bank_payments` rows naming the import. An
//! import touches its row after every batch; one that stopped touching it was killed, and is
//! marked `interrupted` by whoever finds it (`mark_interrupted`), so none stays `importing`.

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
    pub touched_at: Option<NaiveDateTime>,
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

/// Says that import `id` is still alive.
pub fn touch(conn: &mut DbConnection, id: i64, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(bank_statements::table.find(id)).set(bank_statements::touched_at.eq(at)).execute(conn).map(|_| ())
}

/// Marks every import still `importing` that has not been touched since `stale_before` as
/// `interrupted` (one conditional update: an import that touches its row meanwhile stays live);
/// the ones marked.
pub fn mark_interrupted(conn: &mut DbConnection, stale_before: NaiveDateTime) -> QueryResult<Vec<StatementRow>> {
    let stale = bank_statements::status
        .eq("importing")
        .and(bank_statements::touched_at.is_null().or(bank_statements::touched_at.lt(stale_before)));
    let candidates: Vec<StatementRow> =
        bank_statements::table.filter(stale).order(bank_statements::id).select(StatementRow::as_select()).load(conn)?;
    let mut marked = Vec::with_capacity(candidates.len());
    for mut row in candidates {
        let updated = diesel::update(bank_statements::table.find(row.id).filter(stale))
            .set(bank_statements::status.eq("interrupted"))
            .execute(conn)?;
        if updated == 1 {
            row.status = "interrupted".into();
            marked.push(row);
        }
    }
    Ok(marked)
}

/// The latest imports, newest first.
pub fn latest(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<StatementRow>> {
    bank_statements::table.order(bank_statements::id.desc()).limit(limit).select(StatementRow::as_select()).load(conn)
}

/// The imports started in `[from, to)`, newest first, at most `limit`.
pub fn imported_between(
    conn: &mut DbConnection,
    (from, to): (NaiveDateTime, NaiveDateTime),
    limit: i64,
) -> QueryResult<Vec<StatementRow>> {
    bank_statements::table
        .filter(bank_statements::imported_at.ge(from))
        .filter(bank_statements::imported_at.lt(to))
        .order(bank_statements::id.desc())
        .limit(limit)
        .select(StatementRow::as_select())
        .load(conn)
}

pub fn find(conn: &mut DbConnection, id: i64) -> QueryResult<Option<StatementRow>> {
    super::unique_row(bank_statements::table.find(id).select(StatementRow::as_select()), conn)
}
