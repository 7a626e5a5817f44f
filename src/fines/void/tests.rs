//! Voiding: one conditional update from an unpaid state, audited; a paid fine is never voided;
//! a second void answers with the fine as it is; an officer reaches only their district's fines.

use super::*;
use crate::db::fines::NewFine;
use crate::db::testing::temp_pool;
use crate::domain::time::ManualClock;
use chrono::{NaiveDate, NaiveDateTime};

const FINE: &str = "1101052611210000176";

fn issued() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 11, 21).and_then(|d| d.and_hms_opt(1, 0, 0)).expect("a time")
}

fn with_fine(status: &str) -> (tempfile::TempDir, DbPool) {
    let (dir, pool) = temp_pool();
    let mut conn = pool.get().expect("connection");
    fines::insert(&mut conn, &NewFine { decision_no: FINE, status, ..NewFine::template(issued()) }).expect("fine");
    (dir, pool)
}

#[test]
fn an_unpaid_fine_is_voided_once_and_audited() {
    for status in ["awaiting_payment", "payable_at_bank"] {
        let (_dir, pool) = with_fine(status);
        let clock = ManualClock::new(issued().and_utc() + chrono::Duration::minutes(5));
        let mut conn = pool.get().expect("connection");
        let voided = void(&pool, &clock, &mut conn, &Principal::test_officer("110105"), FINE, " issued in error ")
            .expect("voided");
        assert_eq!(voided.status, "void");
        assert_eq!(voided.void_reason.as_deref(), Some("issued in error"));
        let again =
            void(&pool, &clock, &mut conn, &Principal::test_officer("110105"), FINE, "twice").expect("the same answer");
        assert_eq!(again.void_reason.as_deref(), Some("issued in error"), "the first void stands");
        let trail = audit::for_fine(&mut conn, FINE).expect("audit");
        assert_eq!(trail.iter().filter(|e| e.action == "fine.void").count(), 1);
    }
}

#[test]
fn a_paid_fine_is_never_voided() {
    let (_dir, pool) = with_fine("paid");
    let clock = ManualClock::new(issued().and_utc());
    let mut conn = pool.get().expect("connection");
    let refused = void(&pool, &clock, &mut conn, &Principal::test_officer("110105"), FINE, "too late");
    assert!(matches!(refused, Err(VoidError::AlreadyPaid)), "{refused:?}");
    assert_eq!(fines::find(&mut conn, FINE).expect("read").expect("fine").status, "paid");
}

#[test]
fn a_void_needs_a_reason_and_the_officers_own_district() {
    let (_dir, pool) = with_fine("awaiting_payment");
    let clock = ManualClock::new(issued().and_utc());
    let mut conn = pool.get().expect("connection");
    for reason in ["", "   ", &"x".repeat(501)] {
        let refused = void(&pool, &clock, &mut conn, &Principal::test_officer("110105"), FINE, reason);
        assert!(matches!(refused, Err(VoidError::InvalidReason)), "{reason:?}");
    }
    assert!(
        void(&pool, &clock, &mut conn, &Principal::test_officer("110105"), FINE, &"x".repeat(500)).is_ok(),
        "500 characters"
    );
    let (_dir, pool) = with_fine("awaiting_payment");
    let mut conn = pool.get().expect("connection");
    let elsewhere = void(&pool, &clock, &mut conn, &Principal::test_officer("110108"), FINE, "not mine");
    assert!(matches!(elsewhere, Err(VoidError::NotFound)), "{elsewhere:?}");
}
