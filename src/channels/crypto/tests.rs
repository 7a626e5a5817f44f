//! The published test vectors (WeChat Pay's request signature, JSAPI `paySign` and AES-256-GCM resource, Alipay's
//! RSA2 signature; see docs/channels.md) and the simulator's own keys.

use super::*;

const WECHAT_MOCK_KEY: &str = include_str!("../test_vectors/wechat_mock_private_key_pkcs8.pem");
const WECHAT_BODY: &str = r#"{"appid":"wx81be3101902f7cb2","mchid":"1601959334","description":"for testing","out_trade_no":"S20210124144305172434","time_expire":"2021-01-24T14:53:05+08:00","attach":"cipher code","notify_url":"https://luoji.live/notify","amount":{"total":1,"currency":"CNY"},"detail":{},"scene_info":{"payer_client_ip":"","store_info":{"id":""}}}"#;
const WECHAT_SIGNATURE: &str = "ItuRCG6nAf6ZUi5C5LPa0beCGrG7+G4NdaCHLTmym+UzuZHFgFeqRZ4zKQ0n93qehchFWfQ7s00pgABYvXcOMsV1ld7AUjDTZBPucJK6yhFKz9jd20wtRdDG4LRCZcaTowD2f7LtlixFm8F3/YQaBavxiOe54tc3RX/22flYRzy4YFOpBt+bmjSPZIdSFi53323u7cohwvdHwX+avQCtLZKAUNFJIob66u05BbDEITzYuHjakjpb5btvWemjoZBPxkiETzmd4Oa1y2U+rfFCPZyWT4EV7UxHeEizBL8DkubEBD3KXeArqRX6yoMAU4ywmdFeWDbv1EF0Ndy9hiddZQ==";

use crate::channels::simulator_fixture as sim;

#[test]
fn reproduces_the_wechat_request_signature_vector() {
    let key = RsaSigningKey::from_pem(WECHAT_MOCK_KEY).expect("PKCS#8 key");
    let message =
        format!("POST\n/v3/pay/transactions/native\n1611368330\nAF1404CC2980FB414C99C0B98883BD42\n{WECHAT_BODY}\n");
    assert_eq!(key.sign_base64(message.as_bytes()).expect("signs"), WECHAT_SIGNATURE);
}

#[test]
fn reproduces_the_jsapi_pay_sign_vector() {
    let key = RsaSigningKey::from_pem(WECHAT_MOCK_KEY).expect("PKCS#8 key");
    let message = crate::channels::JsapiParams::message(
        "wx2421b1c4370ec43b",
        "1395712654",
        "e61463f8efa94090b1f366cccfbbb444",
        "prepay_id=wx21201855730335ac86f8c43d1889123400",
    );
    assert_eq!(message.len(), 110);
    assert_eq!(
        key.sign_base64(message.as_bytes()).expect("signs"),
        "gwSrYbnztByyTv8Hr0S01bk6UGnbCFXbYLtS3SVx3KZVQUtRP3HlRyjxC+xhQDYaoOv5MhwMYNheG8SpsOqDrPWqX925+671sx1YP/GaGlYCsGg6rGSOpaH+SX+BaSRl9voSQGme0gqTyX41zD/y+avjjn8+PLkOJyqv7OzT+hcxyy3Uop43zPTBU4LcQxXu2XvSvS03ipH1A2xvZvH2g+tXA12UYpkJymDvwzhXH0V/mD6bYhyABpoG7RAzLhbewYWGFgTE6YZYoc+T0BX+TklPNJJc1b2cuApds+QJzV50cIi09fiHjzVxZY34BBS2VBbIrdGENXtj94yFnvc6gg=="
    );
}

#[test]
fn reproduces_the_wechat_aes_gcm_vector() {
    let ciphertext = BASE64
        .decode(include_str!("../test_vectors/wechat_certificate_ciphertext.b64").trim().as_bytes())
        .expect("Base64");
    let plain = aes_gcm_decrypt(b"AES256Key-32Characters1234567890", b"eabb3e044577", b"certificate", &ciphertext)
        .expect("opens");
    let pem = String::from_utf8(plain).expect("UTF-8");
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\nMIIDFDCC"), "{pem}");
    // The decrypted certificate parses; its serial is what `openssl x509 -serial` prints for it
    // (the mock response around it labels it 477ED0…, which is not the certificate's own serial).
    let cert = Certificate::from_pem(&pem).expect("a certificate");
    assert_eq!(cert.serial_hex, "9AD59953ADF1BABB");
    // Any change to the associated data, the nonce or one ciphertext byte is refused.
    assert_eq!(
        aes_gcm_decrypt(b"AES256Key-32Characters1234567890", b"eabb3e044577", b"transaction", &ciphertext),
        Err(CryptoError::Decrypt)
    );
    assert_eq!(
        aes_gcm_decrypt(b"AES256Key-32Characters1234567890", b"eabb3e044578", b"certificate", &ciphertext),
        Err(CryptoError::Decrypt)
    );
    let mut tampered = ciphertext.clone();
    tampered[10] ^= 1;
    assert_eq!(
        aes_gcm_decrypt(b"AES256Key-32Characters1234567890", b"eabb3e044577", b"certificate", &tampered),
        Err(CryptoError::Decrypt)
    );
    assert_eq!(
        aes_gcm_decrypt(b"short", b"eabb3e044577", b"certificate", &ciphertext),
        Err(CryptoError::AeadParameters)
    );
}

#[test]
fn aes_gcm_round_trips() {
    let key = b"0123456789abcdef0123456789abcdef";
    let sealed =
        aes_gcm_encrypt(key, b"nonce-12byte", b"transaction", b"{\"trade_state\":\"SUCCESS\"}").expect("seals");
    assert_eq!(
        aes_gcm_decrypt(key, b"nonce-12byte", b"transaction", &sealed).expect("opens"),
        b"{\"trade_state\":\"SUCCESS\"}"
    );
}

#[test]
fn signatures_verify_with_the_public_key_in_every_wrapping() {
    let key = RsaSigningKey::from_pem(&sim("wechat_platform.key.pem")).expect("key");
    let cert = Certificate::from_pem(&sim("wechat_platform.cert.pem")).expect("certificate");
    let signature = key.sign_base64(b"1611368330\nnonce\n{}\n").expect("signs");
    assert!(cert.public_key.verify_base64(b"1611368330\nnonce\n{}\n", &signature));
    assert!(!cert.public_key.verify_base64(b"1611368330\nnonce\n{ }\n", &signature), "one byte changed");
    assert!(
        !cert.public_key.verify_base64(b"1611368330\nnonce\n{}\n", "WECHATPAY/SIGNTEST/abc"),
        "probes never verify"
    );
    assert!(!cert.public_key.verify_base64(b"1611368330\nnonce\n{}\n", ""), "empty");
    // The same key read as SPKI ("BEGIN PUBLIC KEY") from the certificate's key.
    let other = Certificate::from_pem(&sim("wechat_merchant.cert.pem")).expect("certificate");
    assert!(!other.public_key.verify_base64(b"1611368330\nnonce\n{}\n", &signature), "another key refuses");
}

#[test]
fn the_simulated_unionpay_chain_verifies_and_names_itself() {
    let root = Certificate::from_pem(&sim("unionpay_root.cert.pem")).expect("root");
    let middle = Certificate::from_pem(&sim("unionpay_middle.cert.pem")).expect("middle");
    let sign = Certificate::from_pem(&sim("unionpay_sign.cert.pem")).expect("signing cert");
    assert!(middle.is_signed_by(&root));
    assert!(sign.is_signed_by(&middle));
    assert!(!sign.is_signed_by(&root), "the leaf is not signed by the root directly");
    assert_eq!(sign.subject_cn.split('@').nth(2), Some("中国银联股份有限公司"));
    assert!(sign.valid_at(1_800_000_000) && !sign.valid_at(1_000_000_000));
    assert!(!sign.serial_decimal.is_empty() && sign.serial_decimal.bytes().all(|b| b.is_ascii_digit()));
}

#[test]
fn serials_convert_to_decimal() {
    assert_eq!(decimal(&[0x01, 0x00]), "256");
    assert_eq!(decimal(&[0xFF; 4]), "4294967295");
    assert_eq!(decimal(&[0x00]), "0");
    assert_eq!(trim_sign_byte(&[0x00, 0x9A]), &[0x9A]);
}

#[test]
fn malformed_keys_are_errors_not_panics() {
    assert!(RsaSigningKey::from_pem("").is_err());
    assert!(RsaSigningKey::from_pem("-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----").is_err());
    assert!(RsaPublicKey::from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----").is_err());
    assert!(Certificate::from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----").is_err());
}
