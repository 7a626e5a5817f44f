//! The `credentials` table: bearer tokens for officers, banks and admins, stored only as hashes.

use super::DbConnection;
use super::schema::credentials;
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = credentials)]
pub struct CredentialRow {
    pub id: String,
    pub role: String,
    pub token_hash: String,
    pub officer_id: Option<String>,
    pub device_id: Option<String>,
    pub district_code: Option<String>,
    pub bank_code: Option<String>,
    pub name: Option<String>,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = credentials)]
// None is bound as NULL rather than rendered as DEFAULT, so the SQL is fixed and its
// prepared statement is cached.
#[diesel(treat_none_as_default_value = false)]
pub struct NewCredential<'a> {
    pub id: &'a str,
    pub role: &'a str,
    pub token_hash: &'a str,
    pub officer_id: Option<&'a str>,
    pub device_id: Option<&'a str>,
    pub district_code: Option<&'a str>,
    pub bank_code: Option<&'a str>,
    pub name: Option<&'a str>,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, new: &NewCredential<'_>) -> QueryResult<()> {
    diesel::insert_into(credentials::table).values(new).execute(conn).map(|_| ())
}

/// The live (not revoked) credential whose token hashes to `hash`.
pub fn find_active_by_hash(conn: &mut DbConnection, hash: &str) -> QueryResult<Option<CredentialRow>> {
    // Every authenticated request runs this.
    super::on_concrete!(conn, |c| {
        super::unique_row(
            credentials::table
                .filter(credentials::token_hash.eq(hash))
                .filter(credentials::revoked_at.is_null())
                .select(CredentialRow::as_select()),
            c,
        )
    })
}

/// The live credentials among `hashes`, in one query (a batch of the group-commit writer).
/// The credential `id`, if it is not revoked.
pub fn find_active(conn: &mut DbConnection, id: &str) -> QueryResult<Option<CredentialRow>> {
    super::unique_row(
        credentials::table.find(id).filter(credentials::revoked_at.is_null()).select(CredentialRow::as_select()),
        conn,
    )
}

pub fn find_active_by_hashes(conn: &mut DbConnection, hashes: &[&str]) -> QueryResult<Vec<CredentialRow>> {
    // `IN` lists bind differently per backend (arrays on PostgreSQL).
    macro_rules! query {
        ($c:expr) => {
            credentials::table
                .filter(credentials::token_hash.eq_any(hashes))
                .filter(credentials::revoked_at.is_null())
                .select(CredentialRow::as_select())
                .load($c)
        };
    }
    match conn {
        DbConnection::Sqlite(c) => query!(c),
        DbConnection::Postgresql(c) => query!(c),
    }
}

/// Which credentials a listing shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct ListFilter<'a> {
    /// Of this role only (`officer`, `bank`, `admin`).
    pub role: Option<&'a str>,
    /// Only the revoked ones (`Some(true)`) or only the live ones (`Some(false)`).
    pub revoked: Option<bool>,
}

/// The credentials `filter` keeps, oldest first.
pub fn list(conn: &mut DbConnection, filter: &ListFilter<'_>) -> QueryResult<Vec<CredentialRow>> {
    let mut query = credentials::table.into_boxed();
    if let Some(role) = filter.role {
        query = query.filter(credentials::role.eq(role));
    }
    query = match filter.revoked {
        Some(true) => query.filter(credentials::revoked_at.is_not_null()),
        Some(false) => query.filter(credentials::revoked_at.is_null()),
        None => query,
    };
    query.order((credentials::created_at.asc(), credentials::id.asc())).select(CredentialRow::as_select()).load(conn)
}

/// The credential `id`, live or revoked.
pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<CredentialRow>> {
    super::unique_row(credentials::table.find(id).select(CredentialRow::as_select()), conn)
}

/// Revokes a live credential; false when there is none with that id or it was revoked already.
pub fn revoke(conn: &mut DbConnection, id: &str, at: NaiveDateTime) -> QueryResult<bool> {
    let updated = diesel::update(credentials::table.find(id).filter(credentials::revoked_at.is_null()))
        .set(credentials::revoked_at.eq(Some(at)))
        .execute(conn)?;
    Ok(updated == 1)
}

/// The bank codes of the live bank credentials, in order: the banks finepay takes statements of.
pub fn bank_codes(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
    let codes: Vec<Option<String>> = credentials::table
        .filter(credentials::role.eq("bank"))
        .filter(credentials::revoked_at.is_null())
        .select(credentials::bank_code)
        .distinct()
        .order(credentials::bank_code)
        .load(conn)?;
    Ok(codes.into_iter().flatten().collect())
}
