//! The token in a bill's pay URL: decision number (8 bytes) ‖ key id (1 byte) ‖ HMAC-SHA256 tag
//! truncated to 80 bits, in upper-case base32 so the whole URL stays in QR alphanumeric mode and
//! fits a version-3 symbol. The key id lets keys rotate without invalidating printed bills.

use crate::domain::{DecisionNo, Secret};
use data_encoding::BASE32_NOPAD;
use ring::hmac;
use std::collections::BTreeMap;

const TAG_LEN: usize = 10;
const PAYLOAD_LEN: usize = 8 + 1;
const RAW_LEN: usize = PAYLOAD_LEN + TAG_LEN;
/// Characters in a token: 19 bytes in base32 without padding.
pub(crate) const TOKEN_LEN: usize = (RAW_LEN * 8).div_ceil(5);
/// Separates these MACs from any other use of the same key.
const CONTEXT: &[u8] = b"finepay/qr-token/v1";

#[derive(Clone)]
pub struct QrSigner {
    current: u8,
    keys: BTreeMap<u8, hmac::Key>,
}

impl QrSigner {
    /// Signs new tokens with key `current`; verifies tokens made with any of `keys`.
    pub fn new(current: u8, keys: &BTreeMap<u8, Secret>) -> Self {
        let keys = keys.iter().map(|(id, secret)| (*id, hmac::Key::new(hmac::HMAC_SHA256, secret.expose()))).collect();
        QrSigner { current, keys }
    }

    pub fn current_key(&self) -> u8 {
        self.current
    }

    /// The token for `no` under key `key_id`; None when that key is no longer configured.
    pub fn sign_with(&self, no: &DecisionNo, key_id: u8) -> Option<String> {
        let key = self.keys.get(&key_id)?;
        let mut raw = [0u8; RAW_LEN];
        raw[..8].copy_from_slice(&no.to_u64().to_be_bytes());
        raw[8] = key_id;
        let tag = tag(key, &raw[..PAYLOAD_LEN]);
        raw[PAYLOAD_LEN..].copy_from_slice(&tag.as_ref()[..TAG_LEN]);
        Some(BASE32_NOPAD.encode(&raw))
    }

    /// The decision number a token stands for, if the token is genuine. Case-insensitive, since
    /// phones request the upper-case URL the QR code holds and people type lower case.
    pub fn verify(&self, token: &str) -> Option<DecisionNo> {
        if token.len() != TOKEN_LEN {
            return None;
        }
        let upper = token.to_ascii_uppercase();
        let raw = BASE32_NOPAD.decode(upper.as_bytes()).ok()?;
        if raw.len() != RAW_LEN {
            return None;
        }
        let key = self.keys.get(&raw[8])?;
        let expected = tag(key, &raw[..PAYLOAD_LEN]);
        if !constant_time_eq(&expected.as_ref()[..TAG_LEN], &raw[PAYLOAD_LEN..]) {
            return None;
        }
        let mut number = [0u8; 8];
        number.copy_from_slice(&raw[..8]);
        DecisionNo::from_u64(u64::from_be_bytes(number)).ok()
    }
}

fn tag(key: &hmac::Key, payload: &[u8]) -> hmac::Tag {
    let mut ctx = hmac::Context::with_key(key);
    ctx.update(CONTEXT);
    ctx.update(payload);
    ctx.sign()
}

/// Compares without an early exit, so timing does not reveal how much of a forged tag (or a
/// guessed code) was right.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod proptests;

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(current: u8, ids: &[u8]) -> QrSigner {
        let keys = ids.iter().map(|id| (*id, Secret::new(vec![*id; 32]))).collect();
        QrSigner::new(current, &keys)
    }

    fn no() -> DecisionNo {
        DecisionNo::parse("1101052611210000176").expect("valid")
    }

    #[test]
    fn tokens_round_trip_in_either_case() {
        let s = signer(1, &[1]);
        let token = s.sign_with(&no(), 1).expect("key 1 exists");
        assert_eq!(token.len(), TOKEN_LEN);
        assert_eq!(TOKEN_LEN, 31);
        assert!(token.chars().all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c)));
        assert_eq!(s.verify(&token), Some(no()));
        assert_eq!(s.verify(&token.to_ascii_lowercase()), Some(no()));
    }

    #[test]
    fn forged_or_damaged_tokens_are_refused() {
        let s = signer(1, &[1]);
        let token = s.sign_with(&no(), 1).expect("key 1 exists");
        for i in 0..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let damaged = String::from_utf8(bytes).expect("ascii");
            assert_eq!(s.verify(&damaged), None, "damaged at {i}");
        }
        assert_eq!(s.verify(""), None);
        assert_eq!(s.verify(&token[1..]), None);
        assert_eq!(s.verify("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"), None);
        // A token made with a key finepay does not hold.
        let other = signer(9, &[9]).sign_with(&no(), 9).expect("key 9 exists");
        assert_eq!(s.verify(&other), None);
    }

    #[test]
    fn old_keys_keep_verifying_after_rotation() {
        let before = signer(1, &[1]);
        let after = signer(2, &[1, 2]);
        let printed = before.sign_with(&no(), 1).expect("key 1");
        assert_eq!(after.verify(&printed), Some(no()));
        let retired = signer(2, &[2]);
        assert_eq!(retired.verify(&printed), None);
    }
}
