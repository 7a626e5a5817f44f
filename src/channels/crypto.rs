//! The cryptography the payment channels speak: RSA PKCS#1 v1.5 with SHA-256 (WeChat Pay v3,
//! Alipay RSA2, UnionPay ACP), AES-256-GCM (WeChat notification resources), and the key and
//! certificate formats they come in. ring does the mathematics; it only takes PKCS#8 private keys
//! and PKCS#1 public keys, so PEM, SubjectPublicKeyInfo and X.509 are unwrapped here first.

use crate::errors::Why;
use data_encoding::{BASE64, HEXUPPER};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair, UnparsedPublicKey};
use x509_cert::Certificate as X509;
use x509_cert::der::{Decode, DecodePem, Encode};
use x509_cert::spki::SubjectPublicKeyInfoOwned;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("not a PEM block labelled {0}")]
    Pem(&'static str),
    #[error("the key is not a usable RSA key: {0}")]
    Key(#[source] Why),
    #[error("the certificate cannot be read: {0}")]
    Certificate(#[source] Why),
    #[error("signing failed")]
    Sign,
    #[error("decryption failed: wrong key, nonce, associated data, or a tampered ciphertext")]
    Decrypt,
    #[error("the AES key must be 32 bytes and the nonce 12")]
    AeadParameters,
}

/// The bytes inside a PEM block with `label` ("PRIVATE KEY", "CERTIFICATE", …).
pub(super) fn pem_decode(pem: &str, label: &'static str) -> Result<Vec<u8>, CryptoError> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin).ok_or(CryptoError::Pem(label))? + begin.len();
    let stop = pem[start..].find(&end).ok_or(CryptoError::Pem(label))? + start;
    let body: String = pem[start..stop].chars().filter(|c| !c.is_whitespace()).collect();
    BASE64.decode(body.as_bytes()).map_err(|_| CryptoError::Pem(label))
}

/// A private key that signs with SHA256withRSA, PKCS#1 v1.5 padding.
pub struct RsaSigningKey {
    pair: RsaKeyPair,
    rng: SystemRandom,
}

impl std::fmt::Debug for RsaSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RsaSigningKey([redacted])")
    }
}

impl RsaSigningKey {
    /// From `BEGIN PRIVATE KEY` (PKCS#8, as WeChat issues) or `BEGIN RSA PRIVATE KEY` (PKCS#1, as
    /// Alipay's tools emit).
    pub fn from_pem(pem: &str) -> Result<Self, CryptoError> {
        let pair = if let Ok(der) = pem_decode(pem, "PRIVATE KEY") {
            RsaKeyPair::from_pkcs8(&der)
        } else {
            RsaKeyPair::from_der(&pem_decode(pem, "RSA PRIVATE KEY")?)
        }
        .map_err(|e| CryptoError::Key(format!("ring refused it: {e}").into()))?;
        Ok(RsaSigningKey { pair, rng: SystemRandom::new() })
    }

    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut signature = vec![0; self.pair.public().modulus_len()];
        self.pair.sign(&RSA_PKCS1_SHA256, &self.rng, message, &mut signature).map_err(|_| CryptoError::Sign)?;
        Ok(signature)
    }

    /// The matching public key (what a merchant uploads to a channel).
    pub fn public_key(&self) -> RsaPublicKey {
        RsaPublicKey(self.pair.public().as_ref().to_vec())
    }

    /// The signature in standard Base64, as every channel sends it.
    pub fn sign_base64(&self, message: &[u8]) -> Result<String, CryptoError> {
        Ok(BASE64.encode(&self.sign(message)?))
    }
}

/// A public key that verifies SHA256withRSA signatures; held as the PKCS#1 `RSAPublicKey` DER that
/// ring expects (an SPKI key fails to verify silently if it is not unwrapped first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsaPublicKey(Vec<u8>);

impl RsaPublicKey {
    /// From `BEGIN PUBLIC KEY` (SPKI, as WeChat Pay and Alipay publish) or `BEGIN RSA PUBLIC KEY`.
    pub fn from_pem(pem: &str) -> Result<Self, CryptoError> {
        if let Ok(der) = pem_decode(pem, "PUBLIC KEY") {
            let spki = SubjectPublicKeyInfoOwned::from_der(&der).map_err(|e| CryptoError::Key(Why::of(e)))?;
            return Self::from_spki(&spki);
        }
        Ok(RsaPublicKey(pem_decode(pem, "RSA PUBLIC KEY")?))
    }

    fn from_spki(spki: &SubjectPublicKeyInfoOwned) -> Result<Self, CryptoError> {
        const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
        if spki.algorithm.oid.to_string() != RSA_ENCRYPTION {
            return Err(CryptoError::Key(format!("algorithm {} is not RSA", spki.algorithm.oid).into()));
        }
        let bits = spki.subject_public_key.as_bytes().ok_or_else(|| CryptoError::Key("unaligned key bits".into()))?;
        Ok(RsaPublicKey(bits.to_vec()))
    }

    /// True only for a valid signature over exactly `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &self.0).verify(message, signature).is_ok()
    }

    /// As [`RsaPublicKey::verify`], for a Base64 signature; anything that is not Base64 (such as
    /// WeChat's `WECHATPAY/SIGNTEST/` probes) is simply not a valid signature.
    pub fn verify_base64(&self, message: &[u8], signature: &str) -> bool {
        BASE64.decode(signature.trim().as_bytes()).is_ok_and(|sig| self.verify(message, &sig))
    }
}

/// An X.509 certificate: the fields the channels use, and its signature for chain checks.
#[derive(Debug, Clone)]
pub struct Certificate {
    /// Upper-case hex, as WeChat Pay names certificates (`Wechatpay-Serial`).
    pub serial_hex: String,
    /// Decimal, as UnionPay names certificates (`certId`).
    pub serial_decimal: String,
    pub subject_cn: String,
    pub not_before_unix: u64,
    pub not_after_unix: u64,
    pub public_key: RsaPublicKey,
    tbs_der: Vec<u8>,
    signature: Vec<u8>,
    signature_oid: String,
}

impl Certificate {
    pub fn from_pem(pem: &str) -> Result<Self, CryptoError> {
        let cert = X509::from_pem(pem.trim().as_bytes()).map_err(|e| CryptoError::Certificate(Why::of(e)))?;
        let tbs = cert.tbs_certificate();
        let serial = tbs.serial_number().as_bytes();
        let subject_cn = tbs
            .subject()
            .common_name()
            .map_err(|e| CryptoError::Certificate(Why::of(e)))?
            .map(String::from)
            .unwrap_or_default();
        let validity = tbs.validity();
        Ok(Certificate {
            serial_hex: HEXUPPER.encode(trim_sign_byte(serial)),
            serial_decimal: decimal(trim_sign_byte(serial)),
            subject_cn,
            not_before_unix: validity.not_before.to_unix_duration().as_secs(),
            not_after_unix: validity.not_after.to_unix_duration().as_secs(),
            public_key: RsaPublicKey::from_spki(tbs.subject_public_key_info())?,
            tbs_der: tbs.to_der().map_err(|e| CryptoError::Certificate(Why::of(e)))?,
            signature: cert.signature().raw_bytes().to_vec(),
            signature_oid: cert.signature_algorithm().oid.to_string(),
        })
    }

    pub fn valid_at(&self, unix_seconds: u64) -> bool {
        (self.not_before_unix..=self.not_after_unix).contains(&unix_seconds)
    }

    /// Whether `issuer`'s key signed this certificate (sha256WithRSAEncryption only).
    pub fn is_signed_by(&self, issuer: &Certificate) -> bool {
        const SHA256_WITH_RSA: &str = "1.2.840.113549.1.1.11";
        self.signature_oid == SHA256_WITH_RSA && issuer.public_key.verify(&self.tbs_der, &self.signature)
    }
}

/// DER integers carry a leading zero byte when the high bit is set; serials are named without it.
fn trim_sign_byte(bytes: &[u8]) -> &[u8] {
    match bytes {
        [0, rest @ ..] if !rest.is_empty() => rest,
        other => other,
    }
}

/// A big-endian unsigned integer in decimal (serials exceed u128).
fn decimal(bytes: &[u8]) -> String {
    let mut digits: Vec<u8> = vec![0];
    for &byte in bytes {
        let mut carry = u32::from(byte);
        for d in digits.iter_mut() {
            let v = u32::from(*d) * 256 + carry;
            *d = (v % 10) as u8;
            carry = v / 10;
        }
        while carry > 0 {
            digits.push((carry % 10) as u8);
            carry /= 10;
        }
    }
    digits.iter().rev().map(|d| char::from(b'0' + d)).collect()
}

/// AES-256-GCM open: `ciphertext_and_tag` is the ciphertext with its 16-byte tag appended.
pub(super) fn aes_gcm_decrypt(
    key: &[u8],
    nonce: &[u8],
    aad: &[u8],
    ciphertext_and_tag: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).map_err(|_| CryptoError::AeadParameters)?);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::AeadParameters)?;
    let mut buffer = ciphertext_and_tag.to_vec();
    let plain = key.open_in_place(nonce, Aad::from(aad), &mut buffer).map_err(|_| CryptoError::Decrypt)?;
    Ok(plain.to_vec())
}

/// AES-256-GCM seal, returning the ciphertext with its tag appended (the simulator's side).
pub(super) fn aes_gcm_encrypt(key: &[u8], nonce: &[u8], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).map_err(|_| CryptoError::AeadParameters)?);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::AeadParameters)?;
    let mut buffer = plaintext.to_vec();
    key.seal_in_place_append_tag(nonce, Aad::from(aad), &mut buffer).map_err(|_| CryptoError::Decrypt)?;
    Ok(buffer)
}

#[cfg(test)]
mod tests;
