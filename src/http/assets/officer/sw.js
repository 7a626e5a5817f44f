// The officer app's service worker: keeps the app shell (page, script, style sheet, manifest,
// icons) so that the app opens without a network. It never answers for /api/: fines, the queue
// and the catalogue are the page's own business (IndexedDB and localStorage), and a request the
// network cannot carry must fail where the page sees it, to be queued.
'use strict';

const CACHE = 'finepay-officer-__SHELL__';
const SHELL = [
  '/officer/',
  '/officer/app.js?v=__SCRIPT__',
  '/officer/app.css?v=__STYLE__',
  '/officer/manifest.webmanifest',
  '/officer/icon-192.png?v=__ICON192__',
  '/officer/icon-512.png?v=__ICON512__',
];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('finepay-officer-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin || !url.pathname.startsWith('/officer/')) {
    return;
  }
  // The network first, so a new build shows at once; the kept shell when there is none.
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok && SHELL.includes(url.pathname + url.search)) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(event.request, copy));
        }
        return response;
      })
      .catch(() => caches.match(event.request, { ignoreVary: true }).then((hit) => hit || caches.match('/officer/'))),
  );
});
