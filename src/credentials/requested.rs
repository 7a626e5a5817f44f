//! A credential as someone asks for one — the command line's flags, the desk's form — checked
//! against the same rules wherever it comes from, so that neither door lets in a binding the other
//! would refuse.

use super::Binding;
use crate::domain::district::Districts;

/// The longest officer id, device id or admin name, in characters: what a person types, and what
/// the audit trail and the desk's table show.
pub const MAX_NAME_CHARS: usize = 64;

/// Who a new credential is for, as asked: not yet checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requested {
    Officer { officer: String, device: String, district: String },
    Bank { bank: String },
    Admin { name: String },
}

/// A text of a binding that a person types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameField {
    Officer,
    Device,
    Admin,
}

impl NameField {
    fn describe(self) -> &'static str {
        match self {
            NameField::Officer => "the officer's id",
            NameField::Device => "the device's id",
            NameField::Admin => "the admin's name",
        }
    }
}

/// Why a requested binding was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidBinding {
    #[error("district {district:?} is not configured; the districts are {known}")]
    UnknownDistrict { district: String, known: String },
    #[error("bank code {0:?} must be 1 to 16 letters or digits")]
    BankCode(String),
    #[error("{} must be 1 to {MAX_NAME_CHARS} characters, none of them a control character", .0.describe())]
    Name(NameField),
}

impl Requested {
    /// The binding asked for, its texts trimmed, when it keeps the rules: an officer's district is
    /// one of `districts`, a bank code is 1 to 16 letters or digits, and an officer's id, a
    /// device's id and an admin's name are 1 to [`MAX_NAME_CHARS`] characters without a control
    /// character.
    pub fn binding(self, districts: &Districts) -> Result<Binding, InvalidBinding> {
        match self {
            Requested::Officer { officer, device, district } => {
                let district = district.trim();
                if districts.get(district).is_none() {
                    let known = districts.all().map(|d| d.code.as_str()).collect::<Vec<_>>().join(", ");
                    return Err(InvalidBinding::UnknownDistrict { district: district.to_owned(), known });
                }
                Ok(Binding::Officer {
                    officer_id: name(&officer, NameField::Officer)?,
                    device_id: name(&device, NameField::Device)?,
                    district_code: district.to_owned(),
                })
            }
            Requested::Bank { bank } => {
                let bank = bank.trim();
                if !crate::domain::bank_code::valid_bank_code(bank) {
                    return Err(InvalidBinding::BankCode(bank.to_owned()));
                }
                Ok(Binding::Bank { bank_code: bank.to_owned() })
            }
            Requested::Admin { name: admin } => Ok(Binding::Admin { name: name(&admin, NameField::Admin)? }),
        }
    }
}

fn name(raw: &str, field: NameField) -> Result<String, InvalidBinding> {
    let trimmed = raw.trim();
    let length = trimmed.chars().count();
    if length == 0 || length > MAX_NAME_CHARS || trimmed.chars().any(char::is_control) {
        return Err(InvalidBinding::Name(field));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::district::{District, DistrictCode};

    fn districts() -> Districts {
        let chaoyang = District {
            code: DistrictCode::parse("110105").expect("a code"),
            name: "朝阳区 Chaoyang".into(),
            qr_payment_from: None,
            banks: Vec::new(),
        };
        Districts::new(vec![chaoyang]).expect("districts")
    }

    fn officer(officer: &str, device: &str, district: &str) -> Requested {
        Requested::Officer { officer: officer.into(), device: device.into(), district: district.into() }
    }

    #[test]
    fn a_binding_that_keeps_the_rules_is_taken_trimmed() {
        assert_eq!(
            officer(" 0042 ", "hh-07\t", "110105").binding(&districts()),
            Ok(Binding::Officer {
                officer_id: "0042".into(),
                device_id: "hh-07".into(),
                district_code: "110105".into()
            })
        );
        assert_eq!(
            Requested::Bank { bank: "ICBC".into() }.binding(&districts()),
            Ok(Binding::Bank { bank_code: "ICBC".into() })
        );
        let name = "财".repeat(MAX_NAME_CHARS);
        assert_eq!(Requested::Admin { name: name.clone() }.binding(&districts()), Ok(Binding::Admin { name }));
    }

    #[test]
    fn a_binding_that_breaks_them_is_refused_saying_which() {
        let unknown = officer("0042", "hh-07", "999999").binding(&districts());
        assert_eq!(
            unknown.map_err(|e| e.to_string()),
            Err("district \"999999\" is not configured; the districts are 110105".into())
        );
        assert_eq!(
            officer(" ", "hh-07", "110105").binding(&districts()),
            Err(InvalidBinding::Name(NameField::Officer))
        );
        assert_eq!(officer("0042", "", "110105").binding(&districts()), Err(InvalidBinding::Name(NameField::Device)));
        assert_eq!(
            officer("0042", "hh\u{7}07", "110105").binding(&districts()),
            Err(InvalidBinding::Name(NameField::Device))
        );
        for bad in ["", "IC-BC", "ABCDEFGHIJKLMNOPQ", "工商银行"] {
            assert_eq!(
                Requested::Bank { bank: bad.into() }.binding(&districts()),
                Err(InvalidBinding::BankCode(bad.into())),
                "{bad}"
            );
        }
        for bad in ["", "   ", "a\nb", &"x".repeat(MAX_NAME_CHARS + 1)] {
            assert_eq!(
                Requested::Admin { name: bad.into() }.binding(&districts()),
                Err(InvalidBinding::Name(NameField::Admin)),
                "{bad:?}"
            );
        }
        assert_eq!(
            InvalidBinding::Name(NameField::Admin).to_string(),
            "the admin's name must be 1 to 64 characters, none of them a control character"
        );
    }
}
