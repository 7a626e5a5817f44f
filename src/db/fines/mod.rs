//! The `fines` table: one row per decision. Status changes are conditional updates guarded by
//! the expected current status; the caller learns from the row count whether it won.

use super::DbConnection;
mod statements;

use super::schema::fines;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use statements::{HandOver, MOVE, MOVE_RETURNING, MarkPaid, PICK, SettleManyAtBank};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = fines)]
pub struct FineRow {
    pub decision_no: String,
    pub district_code: String,
    pub verification_code: String,
    pub violation_code: String,
    pub subject_kind: String,
    pub plate: Option<String>,
    pub plate_type: Option<String>,
    pub location: String,
    pub occurred_at: NaiveDateTime,
    pub delivery: String,
    pub amount_fen: i64,
    pub points: i32,
    pub status: String,
    pub credential_id: String,
    pub officer_id: String,
    pub device_id: String,
    pub issued_at: NaiveDateTime,
    pub qr_expires_at: Option<NaiveDateTime>,
    pub qr_key_id: Option<i32>,
    pub paid_at: Option<NaiveDateTime>,
    pub paid_channel: Option<String>,
    pub voided_at: Option<NaiveDateTime>,
    pub void_reason: Option<String>,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = fines)]
// None is bound as NULL rather than rendered as DEFAULT, so the SQL is fixed and its
// prepared statement is cached.
#[diesel(treat_none_as_default_value = false)]
pub struct NewFine<'a> {
    pub decision_no: &'a str,
    pub district_code: &'a str,
    pub verification_code: &'a str,
    pub violation_code: &'a str,
    pub subject_kind: &'a str,
    pub plate: Option<&'a str>,
    pub plate_type: Option<&'a str>,
    pub location: &'a str,
    pub occurred_at: NaiveDateTime,
    pub delivery: &'a str,
    pub amount_fen: i64,
    pub points: i32,
    pub status: &'a str,
    pub credential_id: &'a str,
    pub officer_id: &'a str,
    pub device_id: &'a str,
    pub issued_at: NaiveDateTime,
    pub qr_expires_at: Option<NaiveDateTime>,
    pub qr_key_id: Option<i32>,
    pub updated_at: NaiveDateTime,
}

impl NewFine<'static> {
    /// A ¥200 motor-vehicle fine issued at `at`, awaiting payment, its window ending then: what
    /// the benchmarks and unit tests write directly, each with its own decision number (and
    /// times, where they matter).
    pub fn template(at: NaiveDateTime) -> NewFine<'static> {
        NewFine {
            decision_no: "",
            district_code: "110105",
            verification_code: "482913",
            violation_code: "1625",
            subject_kind: "motor_vehicle",
            plate: Some("京A12345"),
            plate_type: Some("02"),
            location: "朝阳区建国路与东三环交叉口",
            occurred_at: at,
            delivery: "print",
            amount_fen: 20000,
            points: 6,
            status: "awaiting_payment",
            credential_id: "bench",
            officer_id: "0001",
            device_id: "hh-01",
            issued_at: at,
            qr_expires_at: Some(at),
            qr_key_id: Some(1),
            updated_at: at,
        }
    }
}

pub fn insert(conn: &mut DbConnection, fine: &NewFine<'_>) -> QueryResult<()> {
    diesel::insert_into(fines::table).values(fine).execute(conn).map(|_| ())
}

/// Inserts many fines in one statement (a batch of the group-commit writer).
pub fn insert_many(conn: &mut DbConnection, rows: &[NewFine<'_>]) -> QueryResult<()> {
    // Multi-row inserts do not compile through MultiConnection.
    match conn {
        DbConnection::Sqlite(c) => diesel::insert_into(fines::table).values(rows).execute(c),
        DbConnection::Postgresql(c) => diesel::insert_into(fines::table).values(rows).execute(c),
    }
    .map(|_| ())
}

pub fn find(conn: &mut DbConnection, decision_no: &str) -> QueryResult<Option<FineRow>> {
    // Every page view runs this.
    super::on_concrete!(conn, |c| super::unique_row(fines::table.find(decision_no).select(FineRow::as_select()), c))
}

/// The fines one device of one district issued in `[from, to)`, newest first, at most `limit`:
/// the handheld's list of its day (index `fines_by_device`).
pub fn issued_by_device(
    conn: &mut DbConnection,
    district: &str,
    device: &str,
    (from, to): (NaiveDateTime, NaiveDateTime),
    limit: i64,
) -> QueryResult<Vec<FineRow>> {
    super::on_concrete!(conn, |c| {
        fines::table
            .filter(fines::district_code.eq(district))
            .filter(fines::device_id.eq(device))
            .filter(fines::issued_at.ge(from))
            .filter(fines::issued_at.lt(to))
            .order((fines::issued_at.desc(), fines::decision_no.desc()))
            .limit(limit)
            .select(FineRow::as_select())
            .load(c)
    })
}

/// The fines issued to `plate` (exact), newest first, at most `limit`: the desk's search
/// (index `fines_by_plate`).
pub fn with_plate(conn: &mut DbConnection, plate: &str, limit: i64) -> QueryResult<Vec<FineRow>> {
    fines::table
        .filter(fines::plate.eq(plate))
        .order((fines::issued_at.desc(), fines::decision_no.desc()))
        .limit(limit)
        .select(FineRow::as_select())
        .load(conn)
}

/// Moves a fine from `expected` to void. False when its status was no longer `expected`.
pub fn void(
    conn: &mut DbConnection,
    decision_no: &str,
    expected: &str,
    at: NaiveDateTime,
    reason: &str,
) -> QueryResult<bool> {
    let updated = diesel::update(fines::table.find(decision_no).filter(fines::status.eq(expected)))
        .set((
            fines::status.eq("void"),
            fines::voided_at.eq(Some(at)),
            fines::void_reason.eq(Some(reason)),
            fines::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(updated == 1)
}

/// Marks a fine paid by a QR payment the channel dated `paid_at`: only while nobody has paid or
/// voided it, and only if `paid_at` is inside its window — a late notification of a payment made
/// in time is honoured even after the fine went to the bank channel. False otherwise.
pub fn mark_paid_in_window(
    conn: &mut DbConnection,
    decision_no: &str,
    paid_at: NaiveDateTime,
    channel: &str,
    at: NaiveDateTime,
) -> QueryResult<bool> {
    // Once per payment, in the payment writer: written out, so prepared once per connection.
    let update = MarkPaid::<true> { decision_no, paid_at, channel, at };
    let updated = super::on_concrete!(conn, |c| update.execute(c))?;
    Ok(updated == 1)
}

/// Marks a fine paid by a bank payment dated `paid_at`: only while nobody has paid or voided it
/// (a bank takes a fine still in its QR window too). False otherwise.
pub fn settle_at_bank(
    conn: &mut DbConnection,
    decision_no: &str,
    paid_at: NaiveDateTime,
    at: NaiveDateTime,
) -> QueryResult<bool> {
    let update = MarkPaid::<false> { decision_no, paid_at, channel: "bank", at };
    let updated = super::on_concrete!(conn, |c| update.execute(c))?;
    Ok(updated == 1)
}

/// Settles each of `fines` (decision number, paid at) as [`settle_at_bank`] does — one conditional
/// update per fine — and returns those it settled: on PostgreSQL in one statement (one round
/// trip for a statement batch), on SQLite one prepared update after another (no round trips to
/// save, and the same rows to write).
pub fn settle_many_at_bank(
    conn: &mut DbConnection,
    fines: &[(&str, NaiveDateTime)],
    at: NaiveDateTime,
) -> QueryResult<Vec<String>> {
    match conn {
        DbConnection::Postgresql(c) => SettleManyAtBank::new(fines, at).load(c),
        DbConnection::Sqlite(_) => {
            let mut settled = Vec::with_capacity(fines.len());
            for (decision_no, paid_at) in fines {
                if settle_at_bank(conn, decision_no, *paid_at, at)? {
                    settled.push((*decision_no).to_owned());
                }
            }
            Ok(settled)
        }
    }
}

/// What settling a bank payment needs of a fine.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = fines)]
pub struct BankFacts {
    pub decision_no: String,
    pub status: String,
    pub amount_fen: i64,
    pub issued_at: NaiveDateTime,
    pub paid_channel: Option<String>,
}

pub fn bank_facts(conn: &mut DbConnection, decision_no: &str) -> QueryResult<Option<BankFacts>> {
    super::on_concrete!(conn, |c| super::unique_row(fines::table.find(decision_no).select(BankFacts::as_select()), c))
}

/// The fines of a statement batch, in one query per `super::BULK_CHUNK` numbers.
pub fn bank_facts_of(conn: &mut DbConnection, decision_nos: &[&str]) -> QueryResult<Vec<BankFacts>> {
    super::load_in_chunks(decision_nos, |chunk| {
        super::on_concrete!(&mut *conn, |c| {
            fines::table.filter(fines::decision_no.eq_any(chunk)).select(BankFacts::as_select()).load(c)
        })
    })
}

/// Undoes a bank settlement whose entry the bank reversed: the fine is payable at banks again.
/// Only a fine a bank paid; false otherwise.
pub fn reopen_at_bank(conn: &mut DbConnection, decision_no: &str, at: NaiveDateTime) -> QueryResult<bool> {
    let updated = diesel::update(
        fines::table.find(decision_no).filter(fines::status.eq("paid")).filter(fines::paid_channel.eq("bank")),
    )
    .set((
        fines::status.eq("payable_at_bank"),
        fines::paid_at.eq(None::<NaiveDateTime>),
        fines::paid_channel.eq(None::<String>),
        fines::updated_at.eq(at),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// What a bank needs of a fine payable at banks.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = fines)]
pub struct OutstandingFine {
    pub decision_no: String,
    pub district_code: String,
    pub amount_fen: i64,
    pub issued_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Fines payable at banks that became so at or after `since`, by decision number after `after`,
/// at most `limit` (keyset pages).
pub fn payable_at_bank(
    conn: &mut DbConnection,
    since: NaiveDateTime,
    after: &str,
    limit: i64,
) -> QueryResult<Vec<OutstandingFine>> {
    fines::table
        .filter(fines::status.eq("payable_at_bank"))
        .filter(fines::updated_at.ge(since))
        .filter(fines::decision_no.gt(after))
        .order(fines::decision_no)
        .limit(limit)
        .select(OutstandingFine::as_select())
        .load(conn)
}

/// A fine the expire job handed to the bank channel.
#[derive(Debug, Clone, QueryableByName)]
pub struct HandedOver {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub decision_no: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamp>)]
    pub qr_expires_at: Option<NaiveDateTime>,
}

/// Moves up to `limit` fines whose QR window ended at or before `now`, still awaiting payment and
/// with no channel order left open, to `payable_at_bank` — one set-based conditional update,
/// oldest window first. PostgreSQL skips rows another transaction has locked (a payment being
/// applied right now): the next run looks at them again.
pub fn hand_over_ended(conn: &mut DbConnection, now: NaiveDateTime, limit: i64) -> QueryResult<Vec<HandedOver>> {
    // Run batch after batch: each statement is prepared once per connection (planning it cost
    // more than moving a few fines).
    match conn {
        DbConnection::Sqlite(c) => {
            // SQLite's RETURNING costs a tenth of a millisecond per statement, more than the
            // small batches SQLite runs (see the expire job). Its single writer makes two
            // statements as good: the rows are read, then the same query moves the same rows,
            // nothing else can write in between.
            let picked: Vec<HandedOver> = HandOver::<PICK> { now, limit }.load(c)?;
            let moved = HandOver::<MOVE> { now, limit }.execute(c)?;
            if moved != picked.len() {
                return Err(diesel::result::Error::RollbackTransaction);
            }
            Ok(picked)
        }
        DbConnection::Postgresql(c) => HandOver::<MOVE_RETURNING> { now, limit }.load(c),
    }
}
