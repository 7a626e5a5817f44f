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

/// The longest QR payload that still fits a version-3 symbol (29 modules) at level M in
/// alphanumeric mode: the small, quickly scanned code finepay aims for.
pub(crate) const QR_V3_M_ALPHANUMERIC_CAPACITY: usize = 61;
/// The same for version 4 (33 modules), the largest finepay prints: at 8 dots a module with its
/// quiet zone it is 41 mm, what a 58 mm roll's 48 mm print width holds with room to spare.
pub(crate) const QR_V4_M_ALPHANUMERIC_CAPACITY: usize = 90;
