//! The checks a fine passes before it is written: the officer's district, the catalogue, the
//! statutory ranges to their edges, the plate, the place, and how old the offence may be.

use super::*;
use crate::domain::{District, DistrictCode};
use chrono::TimeZone;

fn catalogue() -> Catalogue {
    Catalogue::from_toml(include_str!("../../../config/violations.toml")).expect("the shipped catalogue")
}

fn districts() -> Districts {
    let code = DistrictCode::parse("110105").expect("code");
    Districts::new(vec![District { code, name: "朝阳区".into(), qr_payment_from: None, banks: Vec::new() }])
        .expect("districts")
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 2, 0, 0).single().expect("a time")
}

fn request(violation: &str, kind: SubjectKind, plate: Option<&str>) -> IssueRequest {
    IssueRequest {
        violation_code: violation.into(),
        subject: SubjectRequest { kind, plate: plate.map(str::to_owned), plate_type: None },
        location: "朝阳区建国路与东三环交叉口".into(),
        occurred_at: now().fixed_offset(),
        delivery: None,
        amount_fen: None,
        district: None,
    }
}

fn parse(req: &IssueRequest, principal: &Principal) -> Result<IssueCommand, IssueError> {
    IssueCommand::parse(&catalogue(), &districts(), principal, req, now())
}

#[test]
fn a_motor_vehicle_fine_takes_the_catalogue_amount_and_prints() {
    let command =
        parse(&request("1625", SubjectKind::MotorVehicle, Some("京A12345")), &Principal::test_officer("110105"))
            .expect("a valid fine");
    assert_eq!(command.amount, Fen(20000));
    assert_eq!(command.points, 6);
    assert_eq!(command.delivery, Delivery::Print);
    assert_eq!(command.plate_type.as_deref(), Some("02"), "a car's plate type by default");
    let pedestrian =
        parse(&request("3001", SubjectKind::Pedestrian, None), &Principal::test_officer("110105")).expect("valid");
    assert_eq!(pedestrian.delivery, Delivery::Screen, "a pedestrian is shown the code");
    assert_eq!(pedestrian.plate, None);
}

#[test]
fn a_chosen_amount_must_lie_in_the_statutory_range_to_the_fen() {
    let principal = Principal::test_officer("110105");
    for (kind, code, plate, inside, outside) in [
        (SubjectKind::MotorVehicle, "1625", Some("京A12345"), [2000, 20000], [1999, 20001]),
        (SubjectKind::Pedestrian, "3001", None, [500, 5000], [499, 5001]),
    ] {
        for fen in inside {
            let mut req = request(code, kind, plate);
            req.amount_fen = Some(fen);
            assert_eq!(parse(&req, &principal).expect("inside the range").amount, Fen(fen));
        }
        for fen in outside {
            let mut req = request(code, kind, plate);
            req.amount_fen = Some(fen);
            assert!(matches!(parse(&req, &principal), Err(IssueError::AmountOutOfRange { .. })), "{fen} fen");
        }
    }
}

#[test]
fn an_offence_may_be_five_minutes_ahead_and_a_day_old_at_most() {
    let principal = Principal::test_officer("110105");
    let with_time = |at: DateTime<Utc>| {
        let mut req = request("1625", SubjectKind::MotorVehicle, Some("京A12345"));
        req.occurred_at = at.fixed_offset();
        parse(&req, &principal)
    };
    assert!(with_time(now() + Duration::minutes(5)).is_ok(), "a handheld's clock may run five minutes fast");
    assert!(matches!(with_time(now() + Duration::seconds(301)), Err(IssueError::InvalidOccurredAt(_))));
    assert!(with_time(now() - Duration::hours(24)).is_ok());
    assert!(matches!(
        with_time(now() - Duration::hours(24) - Duration::seconds(1)),
        Err(IssueError::InvalidOccurredAt(_))
    ));
}

#[test]
fn refusals_name_what_is_wrong() {
    let here = Principal::test_officer("110105");
    let refused = |req: &IssueRequest, principal: &Principal| parse(req, principal).expect_err("refused");
    assert!(matches!(
        refused(&request("9999", SubjectKind::MotorVehicle, Some("京A12345")), &here),
        IssueError::UnknownViolation(_)
    ));
    assert!(matches!(
        refused(&request("3001", SubjectKind::MotorVehicle, Some("京A12345")), &here),
        IssueError::NotApplicable { .. }
    ));
    assert!(matches!(refused(&request("1625", SubjectKind::MotorVehicle, None), &here), IssueError::MissingPlate));
    assert!(matches!(
        refused(&request("1625", SubjectKind::MotorVehicle, Some("ABC")), &here),
        IssueError::InvalidPlate(_)
    ));
    let mut elsewhere = request("1625", SubjectKind::MotorVehicle, Some("京A12345"));
    elsewhere.district = Some("110108".into());
    assert!(matches!(refused(&elsewhere, &here), IssueError::WrongDistrict { .. }));
    assert!(matches!(
        refused(&request("1625", SubjectKind::MotorVehicle, Some("京A12345")), &Principal::test_officer("110109")),
        IssueError::DistrictNotConfigured(_)
    ));
    let mut nowhere = request("1625", SubjectKind::MotorVehicle, Some("京A12345"));
    nowhere.location = " ".into();
    assert!(matches!(refused(&nowhere, &here), IssueError::InvalidLocation));
    let bank = Principal { credential_id: "b".into(), binding: Binding::Bank { bank_code: "ICBC".into() } };
    assert!(matches!(
        refused(&request("1625", SubjectKind::MotorVehicle, Some("京A12345")), &bank),
        IssueError::NotAnOfficer
    ));
}
