//! Rendered QR images, kept in memory. Encoding a QR symbol scores all eight masks (~0.4 ms), so
//! images are rendered on first request — never on the issue path — and kept. A fine's images
//! never change, so entries need no invalidation; the oldest are dropped when the cache is full.
//! Bills are not kept: each is tens of kilobytes, printed once or twice, and quick to draw.

use actix_web::web::Bytes;
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageKind {
    Svg,
    Png { module_px: u32 },
}

pub struct RenderCache {
    capacity: usize,
    inner: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    images: HashMap<(String, ImageKind), Bytes>,
    oldest_first: VecDeque<(String, ImageKind)>,
}

impl RenderCache {
    pub fn new(capacity: usize) -> Self {
        RenderCache { capacity, inner: Mutex::new(Entries::default()) }
    }

    /// The cached image, or `render`'s result, which is then cached. Rendering runs outside the
    /// lock; two concurrent misses may both render, and the result is the same.
    pub fn get_or_render<E>(
        &self,
        decision_no: &str,
        kind: ImageKind,
        render: impl FnOnce() -> Result<Vec<u8>, E>,
    ) -> Result<Bytes, E> {
        let key = (decision_no.to_owned(), kind);
        if let Some(hit) = self.lock().images.get(&key) {
            return Ok(hit.clone());
        }
        let image = Bytes::from(render()?);
        if self.capacity > 0 {
            let mut entries = self.lock();
            if entries.images.insert(key.clone(), image.clone()).is_none() {
                entries.oldest_first.push_back(key);
            }
            while entries.images.len() > self.capacity {
                match entries.oldest_first.pop_front() {
                    Some(old) => entries.images.remove(&old),
                    None => break,
                };
            }
        }
        Ok(image)
    }

    pub fn len(&self) -> usize {
        self.lock().images.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // The map stays consistent even if a holder panicked: every update is a single insert.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_once_and_evicts_the_oldest() {
        let cache = RenderCache::new(2);
        let mut calls = 0;
        let mut render = |n: u8| {
            calls += 1;
            Ok::<_, ()>(vec![n])
        };
        assert_eq!(cache.get_or_render("a", ImageKind::Svg, || render(1)), Ok(Bytes::from_static(&[1])));
        assert_eq!(cache.get_or_render("a", ImageKind::Svg, || render(9)), Ok(Bytes::from_static(&[1])));
        cache.get_or_render("b", ImageKind::Svg, || render(2)).expect("renders");
        cache.get_or_render("c", ImageKind::Png { module_px: 4 }, || render(3)).expect("renders");
        assert_eq!(cache.len(), 2);
        // "a" was evicted, so it renders again.
        assert_eq!(cache.get_or_render("a", ImageKind::Svg, || render(4)), Ok(Bytes::from_static(&[4])));
        assert_eq!(calls, 4);
    }

    #[test]
    fn errors_are_not_cached() {
        let cache = RenderCache::new(4);
        assert_eq!(
            cache.get_or_render("a", ImageKind::Png { module_px: 4 }, || Err::<Vec<u8>, _>("boom")),
            Err("boom")
        );
        assert!(cache.is_empty());
    }
}
