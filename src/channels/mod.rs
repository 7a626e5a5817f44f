//! Payment channels: WeChat Pay v3, Alipay and UnionPay ACP on their real wire formats. This
//! module so far holds the cryptography they share; the channels themselves come next.

pub mod crypto;
