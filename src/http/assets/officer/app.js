// The officer app: sign in with the handheld's token, issue a fine, print its bill (ESC/POS over
// Web Bluetooth or Web Serial, else the PDF through the browser's print) or show its code, list
// and void the handheld's fines of the day. Chinese first, English by switch.
//
// A flaky network never makes two fines of one stop: each issue request gets its Idempotency-Key
// on the device before the first try and is kept in IndexedDB (the outbox) until the server has
// answered; a request that failed is retried with the same key when the network is back (the
// `online` event, every 15 s, and when the app starts). The server answers a key it has seen
// with the fine it made, so however the retries fall there is one fine. Nothing prints before
// the server has answered: a fine has no bill until it has a decision number.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);

  const TEXTS = {
    zh: {
      title: '交警执法', online: '在线', offline: '离线', signin_title: '登录执法终端',
      signin_help: '输入本终端的执法令牌，或扫描管理员打印的二维码。令牌只保存在本终端上。',
      token: '执法令牌', signin: '登录', scan: '扫码登录', tab_issue: '开罚单', tab_today: '今日罚单',
      signout: '退出', queue_title: '待发送',
      queue_help: '网络恢复后自动重发（同一罚单不会重复开具）。未收到服务器答复前不打印。',
      violation: '违法行为', violation_search: '按代码或文字查找', kind: '当事人', kind_motor_vehicle: '机动车',
      kind_non_motor_vehicle: '非机动车', kind_pedestrian: '行人', plate: '号牌号码', plate_type: '号牌种类',
      location: '违法地点', occurred_at: '违法时间', delivery: '送达方式', delivery_print: '打印罚单',
      delivery_screen: '出示缴款码', issue: '开具罚单', issued: '罚单已开具', decision_no: '决定书编号',
      amount: '罚款金额', print: '打印罚单', show_code: '出示缴款码', new_fine: '再开一张', paper: '纸宽',
      bill_english: '罚单附英文', today_title: '本终端今日罚单', refresh: '刷新', pay_within: '剩余缴款时间',
      verification_code: '查询码', close: '关闭', void: '撤销', void_reason: '撤销原因', void_confirm: '确认撤销',
      discard: '放弃', retry: '重发', queued: '网络不通：罚单已保存在本终端，网络恢复后自动发送。',
      queued_item: '等待发送', refused_item: '服务器拒绝', sent_from_queue: '待发送的罚单已开具：',
      bad_token: '令牌无效或已吊销，请联系管理员。', no_network_signin: '没有网络，无法首次登录。',
      pick_violation: '请选择违法行为。', bad_plate: '号牌应为省份简称、发牌机关字母，再加5位或6位字母数字（不含I、O）。',
      bad_location: '请填写违法地点（最多200字）。', bad_time: '违法时间应在24小时内，且不晚于现在。',
      not_for_kind: '该违法行为不适用于此类当事人。', printing: '正在打印…', printed: '已发送到打印机。',
      print_failed: '打印失败：', pdf_opened: '已打开罚单PDF，请在打印对话框中打印。', none_today: '今天还没有开具罚单。',
      status_awaiting_payment: '待缴款', status_payable_at_bank: '银行缴款', status_paid: '已缴款', status_void: '已撤销',
      code_expired: '缴款码已过期，请到银行缴纳。', voided: '罚单已撤销。', confirm_signout: '还有未发送的罚单，退出将丢弃它们。再点一次退出以确认。',
      scan_unsupported: '本浏览器不能扫码，请输入令牌。', kind_label_pedestrian: '行人', kind_label_non_motor_vehicle: '非机动车',
      other_token: '由另一令牌保存，未发送', code_unavailable: '无法取得缴款码：',
    },
    en: {
      title: 'Traffic fines', online: 'Online', offline: 'Offline', signin_title: 'Sign in this handheld',
      signin_help: "Enter this handheld's officer token, or scan the QR code your administrator printed. The token stays on this device.",
      token: 'Officer token', signin: 'Sign in', scan: 'Scan to sign in', tab_issue: 'Issue', tab_today: "Today's fines",
      signout: 'Sign out', queue_title: 'Waiting to send',
      queue_help: 'Sent again by itself when the network is back (never twice as two fines). Nothing prints before the server has answered.',
      violation: 'Violation', violation_search: 'Find by code or words', kind: 'Offender', kind_motor_vehicle: 'Motor vehicle',
      kind_non_motor_vehicle: 'Non-motor vehicle', kind_pedestrian: 'Pedestrian', plate: 'Plate', plate_type: 'Plate type',
      location: 'Place', occurred_at: 'Time', delivery: 'Delivery', delivery_print: 'Print the bill',
      delivery_screen: 'Show the code', issue: 'Issue the fine', issued: 'Fine issued', decision_no: 'Decision no.',
      amount: 'Amount', print: 'Print the bill', show_code: 'Show the code', new_fine: 'Another fine', paper: 'Paper',
      bill_english: 'English on the bill', today_title: "This handheld's fines today", refresh: 'Refresh', pay_within: 'Time left to pay',
      verification_code: 'Verification code', close: 'Close', void: 'Void', void_reason: 'Reason', void_confirm: 'Void it',
      discard: 'Discard', retry: 'Send again', queued: 'No network: the fine is kept on this handheld and sent when the network is back.',
      queued_item: 'waiting', refused_item: 'refused by the server', sent_from_queue: 'A waiting fine was issued: ',
      bad_token: 'The token is not valid or was revoked; ask your administrator.', no_network_signin: 'No network: the first sign-in needs one.',
      pick_violation: 'Pick the violation.', bad_plate: "A plate is a province character, the authority's letter and 5 or 6 letters or digits (no I or O).",
      bad_location: 'Enter the place (at most 200 characters).', bad_time: 'The time must be within the last 24 hours and not later than now.',
      not_for_kind: 'This violation does not apply to this kind of offender.', printing: 'Printing…', printed: 'Sent to the printer.',
      print_failed: 'Printing failed: ', pdf_opened: "The bill's PDF is open: print it from the print dialog.", none_today: 'No fines issued today yet.',
      status_awaiting_payment: 'awaiting payment', status_payable_at_bank: 'payable at banks', status_paid: 'paid', status_void: 'void',
      code_expired: 'The code has expired: the fine is paid at banks.', voided: 'The fine is void.', confirm_signout: 'Fines are still waiting to be sent; signing out discards them. Tap Sign out again to confirm.',
      scan_unsupported: 'This browser cannot scan codes: enter the token.', kind_label_pedestrian: 'pedestrian', kind_label_non_motor_vehicle: 'non-motor vehicle',
      other_token: 'kept under another token, not sent', code_unavailable: 'The code could not be fetched: ',
    },
  };

  const PROVINCES = '京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼';
  const PLATE = new RegExp(`^[${PROVINCES}][A-HJ-NP-Z][A-HJ-NP-Z0-9]{5,6}$`);
  // GA 24.7 plate types, the common ones first.
  const PLATE_TYPES = [
    ['02', '小型汽车', 'small vehicle'], ['52', '小型新能源汽车', 'small new-energy vehicle'], ['01', '大型汽车', 'large vehicle'],
    ['51', '大型新能源汽车', 'large new-energy vehicle'], ['07', '普通摩托车', 'motorcycle'], ['08', '轻便摩托车', 'light motorcycle'],
    ['15', '挂车', 'trailer'], ['16', '教练汽车', 'learner vehicle'], ['13', '低速车', 'low-speed vehicle'], ['14', '拖拉机', 'tractor'],
    ['22', '临时行驶车', 'temporary plate'], ['20', '临时入境汽车', 'temporary entry vehicle'], ['05', '境外汽车', 'foreign vehicle'],
    ['06', '外籍汽车', 'foreign-owned vehicle'], ['03', '使馆汽车', 'embassy vehicle'], ['04', '领馆汽车', 'consulate vehicle'],
    ['23', '警用汽车', 'police vehicle'],
  ];
  const STORE = {
    token: 'finepay.officer.token', lang: 'finepay.officer.lang', catalogue: 'finepay.officer.catalogue',
    paper: 'finepay.officer.paper', english: 'finepay.officer.bill-english', province: 'finepay.officer.province',
  };
  // Bluetooth thermal printers' write services, as the common modules expose them.
  const PRINTER_SERVICES = [
    '000018f0-0000-1000-8000-00805f9b34fb', '0000ff00-0000-1000-8000-00805f9b34fb',
    'e7810a71-73ae-499d-8c15-faa9aef0c3f2', '49535343-fe7d-4ae5-8fa9-9fafd205e455',
  ];
  const RETRY_EVERY_MS = 15000;
  // A request unanswered this long counts as lost (and, for an issue, is kept to send again).
  const REQUEST_TIMEOUT_MS = 20000;

  const state = {
    lang: localStorage.getItem(STORE.lang) === 'en' ? 'en' : 'zh',
    token: localStorage.getItem(STORE.token),
    catalogue: [],
    fines: new Map(),
    current: null,
    printer: null,
    flushing: false,
    issuing: false,
    sending: new Set(),
    requests: new Set(),
    owner: null,
    countdown: null,
    confirmSignOut: false,
  };

  const t = (key) => TEXTS[state.lang][key] || TEXTS.zh[key] || key;
  const yuan = (fen) => `￥${(fen / 100).toFixed(2)}`;
  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (name === 'text') node.textContent = value;
      else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value);
    }
    node.append(...children.filter((c) => c !== null && c !== undefined));
    return node;
  };

  // ---- the outbox: issue requests kept until the server has answered --------------------------
  const outbox = {
    db: null,
    open() {
      if (this.db) return Promise.resolve(this.db);
      return new Promise((resolve, reject) => {
        const request = indexedDB.open('finepay-officer', 1);
        request.onupgradeneeded = () => request.result.createObjectStore('outbox', { keyPath: 'key' });
        request.onsuccess = () => { this.db = request.result; resolve(this.db); };
        request.onerror = () => reject(request.error);
      });
    },
    async run(mode, work) {
      const db = await this.open();
      return new Promise((resolve, reject) => {
        const tx = db.transaction('outbox', mode);
        const request = work(tx.objectStore('outbox'));
        tx.oncomplete = () => resolve(request ? request.result : undefined);
        tx.onerror = () => reject(tx.error);
      });
    },
    put(item) { return this.run('readwrite', (store) => store.put(item)); },
    remove(key) { return this.run('readwrite', (store) => store.delete(key)); },
    all() { return this.run('readonly', (store) => store.getAll()); },
    clear() { return this.run('readwrite', (store) => store.clear()); },
  };

  function newKey() {
    if (crypto.randomUUID) return `oa-${crypto.randomUUID()}`;
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return `oa-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
  }

  // ---- talking to finepay ---------------------------------------------------------------------
  /// A request to finepay with the handheld's token, given up after REQUEST_TIMEOUT_MS, and
  /// stopped at once when the officer signs out.
  function api(path, options = {}) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    state.requests.add(controller);
    const headers = { Authorization: `Bearer ${state.token}`, ...(options.headers || {}) };
    return fetch(path, { ...options, headers, cache: 'no-store', signal: controller.signal }).finally(() => {
      clearTimeout(timer);
      state.requests.delete(controller);
    });
  }

  /// Whose a kept request is: a digest of the token it was made under, so that it is only ever
  /// sent with that token (finepay keeps Idempotency-Keys per credential).
  async function ownerOf(token) {
    if (!window.crypto || !crypto.subtle) return token;
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token));
    return Array.from(new Uint8Array(digest).slice(0, 12), (b) => b.toString(16).padStart(2, '0')).join('');
  }

  async function messageOf(response) {
    try {
      const body = await response.json();
      return body.error.message || `HTTP ${response.status}`;
    } catch (_) {
      return `HTTP ${response.status}`;
    }
  }

  /// Sends one kept request. The answer: {fine}, {queued} (no answer: try again later) or
  /// {refused: message} (the server said no; trying again would not change it). A request already
  /// on its way (the form's first try while the timer flushes) is not sent beside itself.
  async function send(item) {
    if (state.sending.has(item.key)) return { queued: true };
    state.sending.add(item.key);
    try {
      return await sendOnce(item);
    } finally {
      state.sending.delete(item.key);
    }
  }

  async function sendOnce(item) {
    const token = state.token;
    // Unless the officer signed out meanwhile, which discarded the queue.
    const keep = async () => { if (state.token === token) await outbox.put(item); };
    let response;
    try {
      response = await api('/api/v1/fines', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Idempotency-Key': item.key },
        body: JSON.stringify(item.body),
      });
    } catch (_) {
      item.attempts += 1;
      await keep();
      return { queued: true };
    }
    if (response.status === 200 || response.status === 201) {
      const fine = await response.json();
      await outbox.remove(item.key);
      return { fine };
    }
    if (response.status >= 500 || response.status === 408 || response.status === 429) {
      item.attempts += 1;
      await keep();
      return { queued: true };
    }
    item.state = 'refused';
    item.error = await messageOf(response);
    await keep();
    return { refused: item.error };
  }

  /// Sends every waiting request again, oldest first, one at a time.
  async function flush() {
    if (state.flushing || !state.token) return;
    state.flushing = true;
    try {
      const waiting = (await outbox.all())
        .filter((i) => i.state === 'waiting' && i.owner === state.owner)
        .sort((a, b) => a.created - b.created);
      for (const item of waiting) {
        const outcome = await send(item);
        if (outcome.queued) break;
        if (outcome.fine) {
          // Into today's list, to print from there: the screen may be on the next stop by now.
          remember(outcome.fine);
          renderToday();
          notice(t('sent_from_queue') + outcome.fine.decision_no);
        }
      }
    } finally {
      state.flushing = false;
      await renderQueue();
    }
  }

  async function renderQueue() {
    const items = (await outbox.all()).sort((a, b) => a.created - b.created);
    const list = $('queue-list');
    list.replaceChildren(...items.map((item) => el('li', { 'data-key': item.key, 'data-state': item.state },
      el('div', { text: `${item.body.violation_code} · ${item.body.subject.plate || t(`kind_${item.body.subject.kind}`)} · ${item.body.location}` }),
      el('div', { class: item.state === 'refused' ? 'error' : '', text: queueState(item) }),
      el('div', { class: 'actions' },
        item.state === 'waiting' && item.owner === state.owner ? el('button', { type: 'button', class: 'small', text: t('retry'), onclick: flush }) : null,
        el('button', { type: 'button', class: 'small', text: t('discard'), onclick: async () => { await outbox.remove(item.key); await renderQueue(); } })),
    )));
    $('queue').hidden = items.length === 0 || !state.token;
  }

  function queueState(item) {
    if (item.owner !== state.owner) return t('other_token');
    return item.state === 'refused' ? `${t('refused_item')}: ${item.error}` : `${t('queued_item')} (${item.attempts})`;
  }

  // ---- signing in -----------------------------------------------------------------------------
  /// A token as typed, or out of the app's address that `credentials add --qr` draws.
  function tokenFrom(text) {
    const found = text.match(/#token=([^&\s]+)/);
    if (!found) return text.trim();
    try {
      return decodeURIComponent(found[1]).trim();
    } catch (_) {
      return found[1].trim();
    }
  }

  async function signIn(raw) {
    const token = tokenFrom(raw);
    if (!token) return;
    state.token = token;
    let response;
    try {
      response = await api('/api/v1/violations');
    } catch (_) {
      state.token = null;
      notice(t('no_network_signin'));
      return;
    }
    if (!response.ok) {
      state.token = null;
      notice(response.status === 401 || response.status === 403 ? t('bad_token') : await messageOf(response));
      return;
    }
    state.catalogue = await response.json();
    localStorage.setItem(STORE.catalogue, JSON.stringify(state.catalogue));
    localStorage.setItem(STORE.token, token);
    notice('');
    await enter();
  }

  async function signOut() {
    const waiting = (await outbox.all()).length;
    if (waiting > 0 && !state.confirmSignOut) {
      state.confirmSignOut = true;
      notice(t('confirm_signout'));
      return;
    }
    state.confirmSignOut = false;
    state.token = null;
    state.requests.forEach((request) => request.abort());
    await outbox.clear();
    for (const key of Object.values(STORE)) if (key !== STORE.lang) localStorage.removeItem(key);
    state.token = null;
    state.catalogue = [];
    state.fines.clear();
    notice('');
    show('signin');
  }

  async function scanToSignIn() {
    if (!('BarcodeDetector' in window) || !navigator.mediaDevices) {
      notice(t('scan_unsupported'));
      return;
    }
    const video = $('camera');
    const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
    video.srcObject = stream;
    video.hidden = false;
    await video.play();
    const detector = new window.BarcodeDetector({ formats: ['qr_code'] });
    const stop = () => { stream.getTracks().forEach((track) => track.stop()); video.hidden = true; };
    const look = async () => {
      const codes = await detector.detect(video).catch(() => []);
      if (codes.length > 0) {
        stop();
        await signIn(codes[0].rawValue);
      } else if (!video.hidden) {
        requestAnimationFrame(look);
      }
    };
    look();
  }

  // ---- the issue form -------------------------------------------------------------------------
  const form = () => $('issue-form');
  const kind = () => form().querySelector('input[name="kind"]:checked').value;

  function fillViolations() {
    const select = $('violation_code');
    const words = $('violation-search').value.trim().toLowerCase();
    const chosen = select.value;
    const fitting = state.catalogue.filter((v) => v.subjects.includes(kind()) && (!words
      || v.code.includes(words) || v.description_zh.includes(words) || v.description_en.toLowerCase().includes(words)));
    select.replaceChildren(...fitting.map((v) => {
      const option = el('option', { value: v.code, text: `${v.code} ${state.lang === 'en' ? v.description_en : v.description_zh} ${yuan(v.amount_fen)}` });
      option.selected = v.code === chosen;
      return option;
    }));
  }

  function fillPlateTypes() {
    const select = $('plate_type');
    const chosen = select.value || '02';
    select.replaceChildren(...PLATE_TYPES.map(([code, zh, en]) => {
      const option = el('option', { value: code, text: `${code} ${state.lang === 'en' ? en : zh}` });
      option.selected = code === chosen;
      return option;
    }));
  }

  function fillProvinces() {
    const grid = $('provinces');
    grid.replaceChildren(...Array.from(PROVINCES, (p) => el('button', {
      type: 'button', text: p, onclick: () => { setProvince(p); grid.hidden = true; $('plate').focus(); },
    })));
    setProvince(localStorage.getItem(STORE.province) || '京');
  }

  function setProvince(p) {
    $('province').textContent = p;
    localStorage.setItem(STORE.province, p);
  }

  /// `YYYY-MM-DDTHH:MM` of now on the device's clock, for the time input.
  function localNow() {
    const now = new Date();
    now.setMinutes(now.getMinutes() - now.getTimezoneOffset());
    return now.toISOString().slice(0, 16);
  }

  function resetForm() {
    form().reset();
    $('occurred_at').value = localNow();
    $('issue-error').hidden = true;
    fillViolations();
    fillPlateTypes();
    showVehicle();
  }

  function showVehicle() {
    $('vehicle').hidden = kind() !== 'motor_vehicle';
    const screen = form().querySelector('input[name="delivery"][value="screen"]');
    const print = form().querySelector('input[name="delivery"][value="print"]');
    // As the API: print for motor vehicles, the screen for the others, unless changed.
    (kind() === 'motor_vehicle' ? print : screen).checked = true;
    fillViolations();
  }

  /// The plate as typed, with the picked province in front unless one was typed.
  function plateOf() {
    const typed = $('plate').value.replace(/\s+/g, '').toUpperCase();
    return PROVINCES.includes(typed.charAt(0)) ? typed : $('province').textContent + typed;
  }

  /// The request, or the first thing wrong with it (as the API would say).
  function readForm() {
    const f = form();
    const code = $('violation_code').value;
    const violation = state.catalogue.find((v) => v.code === code);
    if (!violation) return { error: t('pick_violation') };
    if (!violation.subjects.includes(kind())) return { error: t('not_for_kind') };
    const subject = { kind: kind() };
    if (subject.kind === 'motor_vehicle') {
      subject.plate = plateOf();
      subject.plate_type = $('plate_type').value;
      if (!PLATE.test(subject.plate)) return { error: t('bad_plate') };
    }
    const location = f.location.value.trim();
    if (!location || Array.from(location).length > 200) return { error: t('bad_location') };
    const at = new Date(f.occurred_at.value);
    const now = Date.now();
    if (Number.isNaN(at.getTime()) || at.getTime() > now + 5 * 60000 || at.getTime() < now - 24 * 3600000) {
      return { error: t('bad_time') };
    }
    const delivery = f.querySelector('input[name="delivery"]:checked').value;
    return { body: { violation_code: code, subject, location, occurred_at: at.toISOString(), delivery } };
  }

  async function issue(event) {
    event.preventDefault();
    // One tap, one request: the button stays off until finepay has answered (or not).
    if (state.issuing) return;
    const button = form().querySelector('button[type="submit"]');
    state.issuing = true;
    button.disabled = true;
    try {
      await issueOnce();
    } finally {
      state.issuing = false;
      button.disabled = false;
    }
  }

  async function issueOnce() {
    const { body, error } = readForm();
    const problem = $('issue-error');
    problem.hidden = !error;
    problem.textContent = error || '';
    if (error) return;
    const item = { key: newKey(), owner: state.owner, body, created: Date.now(), attempts: 0, state: 'waiting' };
    // Kept before the first try: a request lost on the way is sent again with the same key.
    await outbox.put(item);
    await renderQueue();
    const outcome = await send(item);
    await renderQueue();
    if (outcome.fine) {
      remember(outcome.fine);
      showResult(outcome.fine);
      resetForm();
    } else if (outcome.queued) {
      notice(t('queued'));
      resetForm();
    } else {
      await outbox.remove(item.key);
      await renderQueue();
      problem.hidden = false;
      problem.textContent = outcome.refused;
    }
  }

  // ---- a fine once issued ---------------------------------------------------------------------
  function remember(fine) {
    state.fines.set(fine.decision_no, fine);
  }

  function showResult(fine) {
    state.current = fine;
    $('result-no').textContent = fine.decision_no;
    $('result').setAttribute('data-decision-no', fine.decision_no);
    $('result-amount').textContent = yuan(fine.amount_fen);
    $('result-violation').textContent = `${fine.violation.code} ${state.lang === 'en' ? fine.violation.description_en : fine.violation.description}`;
    $('result-show').hidden = !fine.pay_url;
    show('result');
  }

  async function fetchBytes(path) {
    const response = await api(path);
    if (!response.ok) throw new Error(await messageOf(response));
    return new Uint8Array(await response.arrayBuffer());
  }

  function billPath(no, form) {
    const lang = $('bill-english').checked ? 'zh-en' : 'zh';
    return `/api/v1/fines/${no}/bill.${form}?width=${$('paper').value}&lang=${lang}`;
  }

  /// The ESC/POS bill to a paired printer (Bluetooth, else a serial port); without either, the
  /// PDF to the browser's print dialog.
  async function print(fine) {
    notice(t('printing'));
    try {
      const sent = await printToPrinter(fine);
      if (sent) notice(t('printed'));
      else await printPdf(fine);
    } catch (error) {
      notice(t('print_failed') + (error && error.message ? error.message : error));
    }
  }

  /// True once the bill went to a printer; false when there is none to send it to (no Bluetooth
  /// or Serial, no adapter, or the officer closed the picker), so that the PDF goes instead.
  async function printToPrinter(fine) {
    const noPrinter = (error) => ['NotFoundError', 'NotAllowedError', 'SecurityError'].includes(error && error.name);
    const bluetooth = navigator.bluetooth
      && (!navigator.bluetooth.getAvailability || await navigator.bluetooth.getAvailability().catch(() => true));
    const send = bluetooth ? printOverBluetooth : navigator.serial ? printOverSerial : null;
    if (!send) return false;
    const bytes = await fetchBytes(billPath(fine.decision_no, 'escpos'));
    try {
      await send(bytes);
      return true;
    } catch (error) {
      if (noPrinter(error)) return false;
      throw error;
    }
  }

  async function printer() {
    if (state.printer && state.printer.device.gatt.connected) return state.printer;
    const device = state.printer ? state.printer.device
      : await navigator.bluetooth.requestDevice({ acceptAllDevices: true, optionalServices: PRINTER_SERVICES });
    const server = await device.gatt.connect();
    for (const uuid of PRINTER_SERVICES) {
      let service;
      try {
        service = await server.getPrimaryService(uuid);
      } catch (_) {
        continue;
      }
      const writable = (await service.getCharacteristics()).find((c) => c.properties.writeWithoutResponse || c.properties.write);
      if (writable) {
        state.printer = { device, characteristic: writable, chunk: 100 };
        return state.printer;
      }
    }
    throw new Error('no printer service');
  }

  /// Writes in chunks, each awaited; a printer that takes less than 100 bytes at once (a small
  /// Bluetooth MTU) gets 20.
  async function printOverBluetooth(bytes) {
    const target = await printer();
    const write = (part) => (target.characteristic.properties.writeWithoutResponse && target.characteristic.writeValueWithoutResponse
      ? target.characteristic.writeValueWithoutResponse(part) : target.characteristic.writeValue(part));
    for (let at = 0; at < bytes.length;) {
      const part = bytes.slice(at, at + target.chunk);
      try {
        await write(part);
        at += part.length;
      } catch (error) {
        if (target.chunk === 20) throw error;
        target.chunk = 20;
      }
    }
  }

  async function printOverSerial(bytes) {
    const port = await navigator.serial.requestPort();
    await port.open({ baudRate: 9600 });
    const writer = port.writable.getWriter();
    try {
      await writer.write(bytes);
    } finally {
      writer.releaseLock();
      await port.close();
    }
  }

  async function printPdf(fine) {
    const pdf = await fetchBytes(billPath(fine.decision_no, 'pdf'));
    const url = URL.createObjectURL(new Blob([pdf], { type: 'application/pdf' }));
    document.querySelectorAll('iframe[data-bill-pdf]').forEach((f) => f.remove());
    const frame = el('iframe', { 'data-bill-pdf': fine.decision_no, src: url, title: 'bill', hidden: '' });
    frame.addEventListener('load', () => {
      try {
        frame.contentWindow.print();
        frame.dataset.printed = 'dialog';
      } catch (_) {
        window.open(url, '_blank');
        frame.dataset.printed = 'tab';
      }
    });
    document.body.append(frame);
    notice(t('pdf_opened'));
  }

  /// The code full-screen for a pedestrian or cyclist: QR code, amount, countdown, decision
  /// number and verification code.
  async function showCode(fine) {
    const until = new Date(fine.qr_expires_at).getTime();
    if (!fine.pay_url || fine.status !== 'awaiting_payment' || !(until > Date.now())) {
      notice(t('code_expired'));
      return;
    }
    // Never another fine's code beside this fine's numbers: the old image goes first.
    const image = $('code-image');
    if (image.src.startsWith('blob:')) URL.revokeObjectURL(image.src);
    image.removeAttribute('src');
    let svg;
    try {
      svg = await fetchBytes(`/api/v1/fines/${fine.decision_no}/qr.svg`);
    } catch (error) {
      notice(t('code_unavailable') + (error && error.message ? error.message : error));
      return;
    }
    image.src = URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' }));
    image.alt = fine.decision_no;
    image.hidden = false;
    $('code-amount').textContent = yuan(fine.amount_fen);
    $('code-no').textContent = fine.decision_no;
    $('code-verification').textContent = fine.verification_code;
    $('code').setAttribute('data-decision-no', fine.decision_no);
    const tick = () => {
      const left = Math.max(0, Math.floor((until - Date.now()) / 1000));
      const pad = (n) => String(n).padStart(2, '0');
      $('code-countdown').textContent = left > 0
        ? `${Math.floor(left / 3600)}:${pad(Math.floor(left / 60) % 60)}:${pad(left % 60)}` : t('code_expired');
      // A dead code is not shown to be scanned.
      image.hidden = left === 0;
    };
    tick();
    clearInterval(state.countdown);
    state.countdown = setInterval(tick, 1000);
    $('code').hidden = false;
  }

  function closeCode() {
    clearInterval(state.countdown);
    $('code').hidden = true;
  }

  // ---- the handheld's fines of today ----------------------------------------------------------
  async function loadToday() {
    let response;
    try {
      response = await api('/api/v1/fines');
    } catch (_) {
      renderToday();
      return;
    }
    if (!response.ok) {
      notice(await messageOf(response));
      return;
    }
    const { fines } = await response.json();
    state.fines = new Map(fines.map((f) => [f.decision_no, f]));
    renderToday();
  }

  function renderToday() {
    const fines = Array.from(state.fines.values()).sort((a, b) => b.issued_at.localeCompare(a.issued_at));
    const list = $('today-list');
    if (fines.length === 0) {
      list.replaceChildren(el('li', { text: t('none_today') }));
      return;
    }
    list.replaceChildren(...fines.map((fine) => {
      const open = fine.status === 'awaiting_payment' || fine.status === 'payable_at_bank';
      const row = el('li', { 'data-decision-no': fine.decision_no },
        el('div', {},
          el('strong', { class: 'number', text: fine.decision_no }), ' ',
          el('span', { class: 'state', 'data-status': fine.status, text: t(`status_${fine.status}`) })),
        el('div', { text: `${fine.issued_at.slice(11, 16)} · ${fine.subject.plate || t(`kind_label_${fine.subject.kind}`)} · ${fine.violation.code} · ${yuan(fine.amount_fen)}` }),
        el('div', { class: 'actions' },
          open ? el('button', { type: 'button', class: 'small', 'data-action': 'print', text: t('print'), onclick: () => print(fine) }) : null,
          open && fine.pay_url && fine.status === 'awaiting_payment'
            ? el('button', { type: 'button', class: 'small', 'data-action': 'show', text: t('show_code'), onclick: () => showCode(fine) }) : null,
          open ? el('button', { type: 'button', class: 'small', 'data-action': 'void', text: t('void'), onclick: () => askVoid(row, fine) }) : null));
      return row;
    }));
  }

  function askVoid(row, fine) {
    if (row.querySelector('.void-form')) return;
    const reason = el('input', { name: 'reason', required: '', maxlength: '200', placeholder: t('void_reason') });
    const confirm = el('button', { type: 'submit', class: 'small', 'data-action': 'void-confirm', text: t('void_confirm') });
    const voidForm = el('form', { class: 'void-form' }, reason, confirm);
    voidForm.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (!reason.value.trim()) return;
      const response = await api(`/api/v1/fines/${fine.decision_no}/void`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ reason: reason.value.trim() }),
      }).catch(() => null);
      if (!response) { notice(t('offline')); return; }
      if (!response.ok) { notice(await messageOf(response)); return; }
      remember(await response.json());
      notice(t('voided'));
      renderToday();
    });
    row.append(voidForm);
    reason.focus();
  }

  // ---- the frame ------------------------------------------------------------------------------
  function notice(text) {
    $('notice').textContent = text;
    $('notice').hidden = !text;
    if (text) window.scrollTo(0, 0);
  }

  function show(view) {
    for (const id of ['signin', 'issue', 'result', 'today']) $(id).hidden = id !== view;
    $('tabs').hidden = view === 'signin';
    document.querySelectorAll('#tabs [data-view]').forEach((b) => {
      if (b.dataset.view === view || (view === 'result' && b.dataset.view === 'issue')) b.setAttribute('aria-current', 'page');
      else b.removeAttribute('aria-current');
    });
    if (view === 'today') loadToday();
    renderQueue();
  }

  function translate() {
    document.documentElement.lang = state.lang === 'en' ? 'en' : 'zh-CN';
    document.querySelectorAll('[data-i18n]').forEach((node) => { node.textContent = t(node.dataset.i18n); });
    document.querySelectorAll('[data-i18n-placeholder]').forEach((node) => { node.placeholder = t(node.dataset.i18nPlaceholder); });
    $('lang').textContent = state.lang === 'en' ? '中文' : 'English';
    $('lang').lang = state.lang === 'en' ? 'zh-CN' : 'en';
    networkState();
    fillViolations();
    fillPlateTypes();
    if (state.current) showResultTexts();
    renderToday();
    renderQueue();
  }

  function showResultTexts() {
    const fine = state.current;
    $('result-violation').textContent = `${fine.violation.code} ${state.lang === 'en' ? fine.violation.description_en : fine.violation.description}`;
  }

  function networkState() {
    const online = navigator.onLine;
    $('network').dataset.state = online ? 'online' : 'offline';
    $('network').textContent = t(online ? 'online' : 'offline');
  }

  async function enter() {
    state.owner = await ownerOf(state.token);
    try {
      state.catalogue = JSON.parse(localStorage.getItem(STORE.catalogue) || '[]');
    } catch (_) {
      state.catalogue = [];
    }
    resetForm();
    show('issue');
    refreshCatalogue();
    flush();
  }

  /// The catalogue kept on the device is used at once; a newer one replaces it when the network
  /// allows, and a revoked token is said so.
  async function refreshCatalogue() {
    const response = await api('/api/v1/violations').catch(() => null);
    if (!response) return;
    if (response.status === 401) {
      notice(t('bad_token'));
      return;
    }
    if (!response.ok) return;
    state.catalogue = await response.json();
    localStorage.setItem(STORE.catalogue, JSON.stringify(state.catalogue));
    fillViolations();
  }

  function start() {
    $('paper').value = localStorage.getItem(STORE.paper) === '80' ? '80' : '58';
    $('bill-english').checked = localStorage.getItem(STORE.english) === '1';
    fillProvinces();
    translate();

    $('lang').addEventListener('click', () => {
      state.lang = state.lang === 'en' ? 'zh' : 'en';
      localStorage.setItem(STORE.lang, state.lang);
      translate();
    });
    $('signin-form').addEventListener('submit', (event) => { event.preventDefault(); signIn($('token').value); });
    $('scan').hidden = !('BarcodeDetector' in window);
    $('scan').addEventListener('click', () => scanToSignIn().catch((e) => notice(String(e))));
    $('signout').addEventListener('click', signOut);
    document.querySelectorAll('#tabs [data-view]').forEach((b) => b.addEventListener('click', () => show(b.dataset.view)));
    $('issue-form').addEventListener('submit', issue);
    form().querySelectorAll('input[name="kind"]').forEach((r) => r.addEventListener('change', showVehicle));
    $('violation-search').addEventListener('input', fillViolations);
    $('province').addEventListener('click', () => { $('provinces').hidden = !$('provinces').hidden; });
    $('result-print').addEventListener('click', () => state.current && print(state.current));
    $('result-show').addEventListener('click', () => state.current && showCode(state.current));
    $('result-new').addEventListener('click', () => { resetForm(); show('issue'); });
    $('paper').addEventListener('change', () => localStorage.setItem(STORE.paper, $('paper').value));
    $('bill-english').addEventListener('change', () => localStorage.setItem(STORE.english, $('bill-english').checked ? '1' : '0'));
    $('today-refresh').addEventListener('click', loadToday);
    $('code-close').addEventListener('click', closeCode);
    window.addEventListener('online', () => { networkState(); flush(); });
    window.addEventListener('offline', networkState);
    setInterval(flush, RETRY_EVERY_MS);

    if ('serviceWorker' in navigator) navigator.serviceWorker.register('sw.js').catch(() => {});

    // The address `credentials add --qr` draws carries the token in its fragment.
    const fromAddress = tokenFrom(window.location.hash);
    if (window.location.hash.includes('token=') && fromAddress) {
      history.replaceState(null, '', window.location.pathname);
      signIn(fromAddress);
    } else if (state.token) {
      enter();
    } else {
      show('signin');
    }
  }

  start();
})();
