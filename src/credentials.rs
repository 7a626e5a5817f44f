//! Credentials for the three roles that call finepay: officers (bound to one officer, device and
//! district), banks (bound to a bank code) and admins. A token is printed once, at creation, and
//! stored only as its SHA-256: tokens are 160 random bits, so a fast hash is enough.

use crate::db::credentials::{self as table, CredentialRow, NewCredential};
use crate::db::{DbConnection, DbPool, audit};
use crate::domain::time::{shanghai_wall_clock, utc};
use chrono::{DateTime, NaiveDateTime, Utc};
use data_encoding::{BASE32_NOPAD, HEXLOWER};
use ring::digest::{SHA256, digest};
use ring::rand::{SecureRandom, SystemRandom};
use serde::Serialize;
use std::collections::HashMap;

mod requested;

pub use requested::{InvalidBinding, MAX_NAME_CHARS, NameField, Requested};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Officer,
    Bank,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Officer => "officer",
            Role::Bank => "bank",
            Role::Admin => "admin",
        }
    }

    pub fn parse(raw: &str) -> Option<Role> {
        match raw {
            "officer" => Some(Role::Officer),
            "bank" => Some(Role::Bank),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// What a credential is bound to, by role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    Officer { officer_id: String, device_id: String, district_code: String },
    Bank { bank_code: String },
    Admin { name: String },
}

impl Binding {
    pub fn role(&self) -> Role {
        match self {
            Binding::Officer { .. } => Role::Officer,
            Binding::Bank { .. } => Role::Bank,
            Binding::Admin { .. } => Role::Admin,
        }
    }
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub credential_id: String,
    pub binding: Binding,
}

impl Principal {
    /// Officer 0042's handheld hh-07, issuing in `district`: the caller unit tests act as.
    #[cfg(test)]
    pub(crate) fn test_officer(district: &str) -> Principal {
        Principal {
            credential_id: "c1".into(),
            binding: Binding::Officer {
                officer_id: "0042".into(),
                device_id: "hh-07".into(),
                district_code: district.into(),
            },
        }
    }

    /// How the audit log names this caller: the credential, and an admin's name with it (the
    /// desk's actions carry who did them).
    pub fn actor(&self) -> String {
        match &self.binding {
            Binding::Admin { name } if !name.is_empty() => format!("credential:{} ({name})", self.credential_id),
            _ => format!("credential:{}", self.credential_id),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("the system random source failed")]
    Random,
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

/// Whether `token` looks like one `create` makes: `fp` + role letter + `_` + 32 base32 letters.
pub fn plausible_token(token: &str) -> bool {
    let Some((prefix, secret)) = token.split_once('_') else { return false };
    matches!(prefix, "fpo" | "fpb" | "fpa")
        && secret.len() == 32
        && secret.bytes().all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b))
}

pub fn hash_token(token: &str) -> String {
    HEXLOWER.encode(digest(&SHA256, token.as_bytes()).as_ref())
}

fn random_bytes<const N: usize>() -> Result<[u8; N], CredentialError> {
    let mut bytes = [0u8; N];
    SystemRandom::new().fill(&mut bytes).map_err(|_| CredentialError::Random)?;
    Ok(bytes)
}

/// Creates a credential as `actor` (`cli`, or the desk's admin), through the pool's single writer
/// and audited in the same transaction; returns its id and the token, which is never stored or
/// shown again.
pub fn create(
    pool: &DbPool,
    conn: &mut DbConnection,
    binding: &Binding,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(String, String), CredentialError> {
    let role = binding.role();
    let id = format!("cred_{}", HEXLOWER.encode(&random_bytes::<8>()?));
    // The prefix tells a leaked token's role at a glance (and lets secret scanners find it).
    let token =
        format!("fp{}_{}", &role.as_str()[..1], BASE32_NOPAD.encode(&random_bytes::<20>()?).to_ascii_lowercase());
    let hash = hash_token(&token);
    let (officer_id, device_id, district_code, bank_code, name) = match binding {
        Binding::Officer { officer_id, device_id, district_code } => {
            (Some(officer_id.as_str()), Some(device_id.as_str()), Some(district_code.as_str()), None, None)
        }
        Binding::Bank { bank_code } => (None, None, None, Some(bank_code.as_str()), None),
        Binding::Admin { name } => (None, None, None, None, Some(name.as_str())),
    };
    let at = now.naive_utc();
    pool.write(conn, |conn| {
        table::insert(
            conn,
            &NewCredential {
                id: &id,
                role: role.as_str(),
                token_hash: &hash,
                officer_id,
                device_id,
                district_code,
                bank_code,
                name,
                created_at: at,
            },
        )?;
        audit_change(conn, actor, "credential.create", &id, role.as_str(), at)?;
        Ok::<_, CredentialError>(())
    })?;
    Ok((id, token))
}

/// The caller a bearer token belongs to, if it is live.
pub fn authenticate(conn: &mut DbConnection, token: &str) -> Result<Option<Principal>, diesel::result::Error> {
    authenticate_hash(conn, &hash_token(token))
}

/// The caller whose token hashes to `hash`, if it is live.
pub fn authenticate_hash(conn: &mut DbConnection, hash: &str) -> Result<Option<Principal>, diesel::result::Error> {
    Ok(table::find_active_by_hash(conn, hash)?.and_then(principal_of))
}

/// The caller credential `id` names, if it is live.
pub fn principal_by_id(conn: &mut DbConnection, id: &str) -> Result<Option<Principal>, diesel::result::Error> {
    Ok(table::find_active(conn, id)?.and_then(principal_of))
}

/// The live callers among many token hashes, by hash, in one query.
pub fn authenticate_hashes(
    conn: &mut DbConnection,
    hashes: &[&str],
) -> Result<HashMap<String, Principal>, diesel::result::Error> {
    Ok(table::find_active_by_hashes(conn, hashes)?
        .into_iter()
        .filter_map(|row| {
            let hash = row.token_hash.clone();
            principal_of(row).map(|p| (hash, p))
        })
        .collect())
}

fn principal_of(row: CredentialRow) -> Option<Principal> {
    let binding = match Role::parse(&row.role)? {
        Role::Officer => Binding::Officer {
            officer_id: row.officer_id?,
            device_id: row.device_id?,
            district_code: row.district_code?,
        },
        Role::Bank => Binding::Bank { bank_code: row.bank_code? },
        Role::Admin => Binding::Admin { name: row.name.unwrap_or_default() },
    };
    Some(Principal { credential_id: row.id, binding })
}

/// The credentials `filter` keeps, oldest first (their token hashes are for no one to show).
pub fn list(
    conn: &mut DbConnection,
    filter: &table::ListFilter<'_>,
) -> Result<Vec<CredentialRow>, diesel::result::Error> {
    table::list(conn, filter)
}

/// The credentials as a text table for the command line: ids, roles and bindings, never tokens.
pub fn table(rows: &[CredentialRow]) -> String {
    let mut out = format!("{:<22} {:<8} {:<44} {:<20} STATUS\n", "ID", "ROLE", "BOUND TO", "CREATED (+08:00)");
    for c in rows {
        let or_none = |v: &Option<String>| v.clone().unwrap_or_default();
        let bound = match c.role.as_str() {
            "officer" => format!(
                "officer {} device {} district {}",
                or_none(&c.officer_id),
                or_none(&c.device_id),
                or_none(&c.district_code)
            ),
            "bank" => format!("bank {}", or_none(&c.bank_code)),
            _ => format!("admin {}", or_none(&c.name)),
        };
        let status = c.revoked_at.map_or("active".to_owned(), |at| format!("revoked {}", shanghai_wall_clock(utc(at))));
        let created = shanghai_wall_clock(utc(c.created_at));
        out.push_str(&format!("{:<22} {:<8} {bound:<44} {created:<20} {status}\n", c.id, c.role));
    }
    out
}

/// What came of revoking a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    /// Revoked now: its token, and any desk session signed in with it, stop working at once.
    Revoked,
    /// It had been revoked at this time; nothing changed.
    AlreadyRevoked { at: DateTime<Utc> },
    /// No credential has this id.
    NotFound,
}

/// Revokes credential `id` as `actor`, once (a conditional update, so of two revoking at once one
/// does it and the other is told when), through the pool's single writer and audited in the same
/// transaction.
pub fn revoke(
    pool: &DbPool,
    conn: &mut DbConnection,
    id: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Revocation, diesel::result::Error> {
    let at = now.naive_utc();
    pool.write(conn, |conn| {
        let revoked = table::revoke(conn, id, at)?;
        let Some(row) = table::find(conn, id)? else { return Ok(Revocation::NotFound) };
        if !revoked {
            // There, yet not updated: revoked before (the update's guard).
            return Ok(Revocation::AlreadyRevoked { at: row.revoked_at.map_or(now, utc) });
        }
        audit_change(conn, actor, "credential.revoke", id, &row.role, at)?;
        Ok(Revocation::Revoked)
    })
}

/// A credential made or revoked, in the audit log under who did it.
fn audit_change(
    conn: &mut DbConnection,
    actor: &str,
    action: &str,
    id: &str,
    role: &str,
    at: NaiveDateTime,
) -> Result<(), diesel::result::Error> {
    let details = serde_json::json!({"credential_id": id, "role": role}).to_string();
    audit::record(conn, &audit::NewAuditEntry { at, actor, action, decision_no: None, details: &details })
}

#[cfg(test)]
mod proptests;
