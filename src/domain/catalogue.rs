//! The violation catalogue (config/violations.toml) and the statutory on-the-spot ranges it must
//! keep: pedestrians and non-motor vehicles 5–50 yuan, motor vehicles 20–200 yuan (Road Traffic
//! Safety Law; Administrative Penalty Law art. 51 for the simplified procedure).

use super::money::Fen;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ops::RangeInclusive;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    MotorVehicle,
    NonMotorVehicle,
    Pedestrian,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::MotorVehicle => "motor_vehicle",
            SubjectKind::NonMotorVehicle => "non_motor_vehicle",
            SubjectKind::Pedestrian => "pedestrian",
        }
    }

    /// The kind a stored fine names (`as_str`'s inverse).
    pub fn parse(raw: &str) -> Option<SubjectKind> {
        [SubjectKind::MotorVehicle, SubjectKind::NonMotorVehicle, SubjectKind::Pedestrian]
            .into_iter()
            .find(|k| k.as_str() == raw)
    }

    /// The amounts an officer may impose on the spot for this kind of offender.
    pub fn statutory_range(self) -> RangeInclusive<Fen> {
        match self {
            SubjectKind::MotorVehicle => Fen::yuan(20)..=Fen::yuan(200),
            SubjectKind::NonMotorVehicle | SubjectKind::Pedestrian => Fen::yuan(5)..=Fen::yuan(50),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Violation {
    pub code: String,
    pub description_zh: String,
    pub description_en: String,
    pub amount_fen: Fen,
    pub points: u8,
    pub subjects: Vec<SubjectKind>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    violation: Vec<Violation>,
}

#[derive(Debug, Clone, Default)]
pub struct Catalogue(BTreeMap<String, Violation>);

const POINT_TIERS: [u8; 6] = [0, 1, 3, 6, 9, 12];

impl Catalogue {
    /// Parses and checks the catalogue; any entry that breaks a rule stops finepay at start.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let file: CatalogueFile = toml::from_str(text).map_err(|e| format!("violations catalogue: {e}"))?;
        let mut map = BTreeMap::new();
        for v in file.violation {
            v.check()?;
            let code = v.code.clone();
            if map.insert(code.clone(), v).is_some() {
                return Err(format!("violation {code} appears twice in the catalogue"));
            }
        }
        if map.is_empty() {
            return Err("the violations catalogue is empty".into());
        }
        Ok(Catalogue(map))
    }

    pub fn get(&self, code: &str) -> Option<&Violation> {
        self.0.get(code)
    }

    pub fn all(&self) -> impl Iterator<Item = &Violation> {
        self.0.values()
    }
}

impl Violation {
    fn check(&self) -> Result<(), String> {
        let code = &self.code;
        if !(4..=5).contains(&code.len()) || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("violation code {code:?} is not 4 or 5 digits"));
        }
        if self.description_zh.trim().is_empty() || self.description_en.trim().is_empty() {
            return Err(format!("violation {code} lacks a description"));
        }
        if !POINT_TIERS.contains(&self.points) {
            return Err(format!("violation {code}: {} points is not a tier of MPS Order 163", self.points));
        }
        if self.subjects.is_empty() {
            return Err(format!("violation {code} applies to no subject"));
        }
        for subject in &self.subjects {
            if !subject.statutory_range().contains(&self.amount_fen) {
                return Err(format!(
                    "violation {code}: {} is outside the on-the-spot range for {}",
                    self.amount_fen,
                    subject.as_str()
                ));
            }
        }
        Ok(())
    }

    pub fn applies_to(&self, kind: SubjectKind) -> bool {
        self.subjects.contains(&kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(amount_fen: i64, points: u8, subjects: &str) -> String {
        format!(
            "[[violation]]\ncode = \"1625\"\ndescription_zh = \"闯红灯\"\ndescription_en = \"Red light\"\n\
             amount_fen = {amount_fen}\npoints = {points}\nsubjects = [{subjects}]\n"
        )
    }

    #[test]
    fn accepts_amounts_inside_the_statutory_ranges() {
        assert!(Catalogue::from_toml(&entry(20000, 6, "\"motor_vehicle\"")).is_ok());
        assert!(Catalogue::from_toml(&entry(2000, 0, "\"motor_vehicle\"")).is_ok());
        assert!(Catalogue::from_toml(&entry(500, 0, "\"pedestrian\"")).is_ok());
    }

    #[test]
    fn refuses_amounts_points_and_subjects_that_break_the_rules() {
        assert!(Catalogue::from_toml(&entry(20001, 6, "\"motor_vehicle\"")).is_err());
        assert!(Catalogue::from_toml(&entry(1999, 6, "\"motor_vehicle\"")).is_err());
        assert!(Catalogue::from_toml(&entry(5001, 0, "\"non_motor_vehicle\"")).is_err());
        assert!(Catalogue::from_toml(&entry(10000, 0, "\"motor_vehicle\", \"pedestrian\"")).is_err());
        assert!(Catalogue::from_toml(&entry(20000, 2, "\"motor_vehicle\"")).is_err());
        assert!(Catalogue::from_toml(&entry(20000, 6, "")).is_err());
        let twice = format!("{}{}", entry(20000, 6, "\"motor_vehicle\""), entry(20000, 6, "\"motor_vehicle\""));
        assert!(Catalogue::from_toml(&twice).is_err());
    }

    #[test]
    fn the_shipped_catalogue_is_valid() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/violations.toml"))
            .expect("config/violations.toml is shipped");
        let catalogue = Catalogue::from_toml(&text).expect("shipped catalogue passes its own rules");
        for kind in [SubjectKind::MotorVehicle, SubjectKind::NonMotorVehicle, SubjectKind::Pedestrian] {
            assert!(catalogue.all().any(|v| v.applies_to(kind)), "{kind:?} has offences");
        }
    }
}
