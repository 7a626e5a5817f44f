//! What QR tokens are signed and their windows drawn with (`[qr]`).

use crate::domain::QrWindowPolicy;
use crate::domain::secret::Secret;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct QrSettings {
    pub policy: QrWindowPolicy,
    pub current_key: u8,
    pub keys: BTreeMap<u8, Secret>,
    pub render_cache_entries: usize,
}

/// The longest QR payload that still fits a version-3 symbol at level M in alphanumeric mode.
pub(crate) const QR_V3_M_ALPHANUMERIC_CAPACITY: usize = 61;
