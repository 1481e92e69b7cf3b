// The kiosk's behaviour: navigation without history, the inactivity wipe,
// spoken prompts, the on-screen keyboard and keypad, and the voice recorder.
// Nothing is stored in the browser: no localStorage, no sessionStorage, no
// cookies; the draft lives on the kiosk's own server and is wiped there.
(function () {
  'use strict';
  var body = document.body;
  var sid = '';
  var idle = 60000;
  var pending = []; // uploads a form must wait for
  var screenInits = []; // what each new screen sets up

  function post(url, data, type) {
    var opt = {method: 'POST', headers: {'X-Kiosk': '1'}, credentials: 'same-origin', cache: 'no-store'};
    if (data !== undefined) {
      opt.body = data;
      if (type) opt.headers['Content-Type'] = type;
    }
    return fetch(url, opt);
  }

  // go shows the screen at url. Between the screens of a session the new
  // body replaces the old one in place: no new document, so a touch is
  // answered within a frame or a few, the spoken prompt may play (the touch
  // is a user gesture), and replaceState keeps the history at one entry.
  // The way back to the start screen (start over, finish, the inactivity
  // wipe), and anything unexpected, is a full load that leaves nothing of
  // the session in the page's memory.
  function go(url) {
    stopAudio();
    var u = new URL(url, location.href);
    if (u.pathname === '/') { location.replace(u.href); return; }
    fetch(u.href, {headers: {'X-Kiosk': '1'}, credentials: 'same-origin', cache: 'no-store'}).then(function (r) {
      if (!r.ok || new URL(r.url).pathname !== u.pathname) throw new Error('reload');
      return r.text();
    }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, 'text/html');
      if (!doc.body.dataset.sid) throw new Error('reload');
      doc.body.querySelectorAll('script').forEach(function (el) { el.remove(); });
      document.documentElement.lang = doc.documentElement.lang;
      document.title = doc.title;
      dropRecording();
      document.body.replaceWith(document.adoptNode(doc.body));
      history.replaceState(null, '', u.href);
      window.scrollTo(0, 0);
      setup();
    }).catch(function () { location.replace(u.href); });
  }

  // Navigation: forms are posted with fetch and the next screen replaces
  // this one.
  document.addEventListener('submit', function (e) {
    var form = e.target;
    e.preventDefault();
    if (body.classList.contains('busy')) return;
    body.classList.add('busy');
    var data = new URLSearchParams(new FormData(form, e.submitter));
    stopRecording().then(function () {
      return Promise.all(pending);
    }).then(function () {
      return post(form.action, data);
    }).then(function (r) {
      go(r.headers.get('X-Kiosk-Go') || r.url || '/');
    }).catch(function () {
      body.classList.remove('busy');
    });
  });
  document.addEventListener('click', function (e) {
    var a = e.target.closest && e.target.closest('a[href]');
    if (a && a.origin === location.origin) {
      e.preventDefault();
      if (body.classList.contains('busy')) return;
      body.classList.add('busy');
      stopRecording().then(function () { go(a.href); });
    }
  });

  // The inactivity wipe: a warning, then everything on screen is cleared,
  // the server forgets the session, and the start screen comes back.
  var warnTimer, wipeTimer, lastPing = Date.now();
  function wipe() {
    document.querySelectorAll('textarea,input').forEach(function (el) { el.value = ''; });
    wiping = true;
    if (recorder && recorder.state !== 'inactive') { try { recorder.stop(); } catch (err) {} }
    dropRecording();
    body.innerHTML = '';
    if (sid) post('/k/' + sid + '/wipe').catch(function () {});
    go('/');
  }
  function touched() {
    var box = document.getElementById('idle');
    clearTimeout(warnTimer);
    clearTimeout(wipeTimer);
    if (box) box.hidden = true;
    if (!sid) return; // the start screen holds nothing to wipe
    warnTimer = setTimeout(function () {
      box = document.getElementById('idle');
      if (!box) return;
      box.hidden = false;
      if (box.dataset.audio) say([box.dataset.audio]);
    }, idle - Math.min(15000, idle / 3));
    wipeTimer = setTimeout(wipe, idle);
    if (Date.now() - lastPing > idle / 4) {
      lastPing = Date.now();
      post('/k/' + sid + '/alive').then(function (r) {
        if (r.headers.get('X-Kiosk-Go') === '/') go('/');
      }).catch(function () {});
    }
  }
  ['pointerdown', 'keydown', 'input'].forEach(function (t) {
    document.addEventListener(t, touched, true);
  });
  // A long press must not open a menu, and nothing can be dragged away.
  document.addEventListener('contextmenu', function (e) { e.preventDefault(); });
  document.addEventListener('dragstart', function (e) { e.preventDefault(); });
  screenInits.push(function () {
    var idleGo = document.getElementById('idle-go');
    if (idleGo) idleGo.addEventListener('click', touched);
    touched();
  });

  // Spoken prompts: played when the screen opens (if the browser allows)
  // and again from the speaker button.
  var player = null, queue = [];
  function stopAudio() {
    queue = [];
    if (player) { player.pause(); player = null; }
  }
  function playNext() {
    if (!queue.length) { player = null; return; }
    player = new Audio(queue.shift());
    player.onended = playNext;
    player.onerror = playNext;
    player.play().catch(function () { player = null; queue = []; });
  }
  function say(list) {
    stopAudio();
    queue = list.slice();
    playNext();
  }
  screenInits.push(function () {
    var speaker = document.querySelector('.say');
    if (speaker && speaker.dataset.audio) {
      var prompts = speaker.dataset.audio.split(' ');
      speaker.addEventListener('click', function () { say(prompts); });
      say(prompts);
    }
    // Buttons that read something on the screen aloud (an answer).
    document.querySelectorAll('[data-say]').forEach(function (b) {
      b.addEventListener('click', function () { say([b.dataset.say]); });
    });
  });

  // The on-screen keyboard types into the last focused field of its form.
  var layouts = {
    kk: [['ә', 'і', 'ң', 'ғ', 'ү', 'ұ', 'қ', 'ө', 'һ'],
      ['й', 'ц', 'у', 'к', 'е', 'н', 'г', 'ш', 'щ', 'з', 'х', 'ъ'],
      ['ф', 'ы', 'в', 'а', 'п', 'р', 'о', 'л', 'д', 'ж', 'э'],
      ['я', 'ч', 'с', 'м', 'и', 'т', 'ь', 'б', 'ю', 'ё']],
    ru: [['й', 'ц', 'у', 'к', 'е', 'н', 'г', 'ш', 'щ', 'з', 'х', 'ъ'],
      ['ф', 'ы', 'в', 'а', 'п', 'р', 'о', 'л', 'д', 'ж', 'э'],
      ['я', 'ч', 'с', 'м', 'и', 'т', 'ь', 'б', 'ю', 'ё']],
    en: [['q', 'w', 'e', 'r', 't', 'y', 'u', 'i', 'o', 'p'],
      ['a', 's', 'd', 'f', 'g', 'h', 'j', 'k', 'l'],
      ['z', 'x', 'c', 'v', 'b', 'n', 'm', '\'']],
    code: [['1', '2', '3', '4', '5', '6', '7', '8', '9', '0'],
      ['Q', 'W', 'E', 'R', 'T', 'Y', 'U', 'I', 'O', 'P'],
      ['A', 'S', 'D', 'F', 'G', 'H', 'J', 'K', 'L', '-'],
      ['Z', 'X', 'C', 'V', 'B', 'N', 'M']],
    digits: [['1', '2', '3', '4', '5', '6', '7', '8', '9', '0'],
      ['-', '/', ':', ';', '(', ')', '"', '!', '?', '№'],
      ['.', ',', '+', '=', '%', '*', '\'']]
  };
  var kazakh = 'әіңғүұқөһ';
  var icons = {};

  function insert(field, text) {
    var s = field.selectionStart, e = field.selectionEnd;
    if (s == null) { s = e = field.value.length; }
    var atEnd = e === field.value.length;
    field.value = field.value.slice(0, s) + text + field.value.slice(e);
    field.selectionStart = field.selectionEnd = s + text.length;
    if (atEnd) field.scrollTop = field.scrollHeight;
    field.dispatchEvent(new Event('input', {bubbles: true}));
  }
  function erase(field) {
    var s = field.selectionStart, e = field.selectionEnd;
    if (s == null) { s = e = field.value.length; }
    if (s === e && s > 0) {
      var prev = Array.from(field.value.slice(0, s));
      prev.pop();
      s = prev.join('').length;
    }
    field.value = field.value.slice(0, s) + field.value.slice(e);
    field.selectionStart = field.selectionEnd = s;
    field.dispatchEvent(new Event('input', {bubbles: true}));
  }

  screenInits.push(function () {
    ['erase', 'shift'].forEach(function (n) {
      var t = document.getElementById('ic-' + n);
      if (t) icons[n] = t.innerHTML;
    });
    document.querySelectorAll('.kb').forEach(keyboard);
    document.querySelectorAll('.keypad').forEach(keypad);
    document.querySelectorAll('.voice').forEach(voice);
  });

  function keyboard(kb) {
    var form = kb.closest('form');
    var fields = form.querySelectorAll('textarea,input:not([type=hidden])');
    var field = fields[0];
    fields.forEach(function (f) { f.addEventListener('focus', function () { field = f; }); });
    var base = kb.dataset.layout, mode = base, shift = false;
    var letters = mode !== 'code';

    function capital() {
      if (!letters || mode === 'digits') return false;
      if (shift) return true;
      var before = field.value.slice(0, field.selectionStart == null ? field.value.length : field.selectionStart);
      return field.tagName === 'INPUT' ? /(^|\s)$/.test(before) && field.name === 'name' : /(^|[.!?]\s+|\n)$/.test(before);
    }
    function key(label, cls, act, name) {
      var b = document.createElement('button');
      b.type = 'button';
      b.className = 'key' + (cls ? ' ' + cls : '');
      b.dataset.k = act;
      if (name) {
        b.setAttribute('aria-label', name);
        b.innerHTML = label;
      } else {
        b.textContent = label;
      }
      return b;
    }
    function draw() {
      var up = capital();
      kb.textContent = '';
      layouts[mode].forEach(function (row) {
        var r = document.createElement('div');
        r.className = 'row';
        row.forEach(function (c) {
          var shown = up ? c.toUpperCase() : c;
          r.appendChild(key(shown, kazakh.indexOf(c) >= 0 ? 'kz' : '', c));
        });
        kb.appendChild(r);
      });
      var last = document.createElement('div');
      last.className = 'row';
      if (letters) {
        if (mode !== 'digits') {
          var sh = key((icons.shift || '⇧') + '<span>' + kb.dataset.shift + '</span>', 'fn' + (shift ? ' on' : ''), 'shift', kb.dataset.shift);
          sh.setAttribute('aria-pressed', shift ? 'true' : 'false');
          last.appendChild(sh);
        }
        last.appendChild(key(mode === 'digits' ? kb.dataset.letters : '123', 'fn', 'mode', mode === 'digits' ? kb.dataset.letters : kb.dataset.digits));
        last.appendChild(key(kb.dataset.space, 'fn space', 'space', kb.dataset.space));
        if (mode !== 'digits') {
          last.appendChild(key(',', '', ','));
          last.appendChild(key('.', '', '.'));
          last.appendChild(key('?', '', '?'));
        }
      }
      last.appendChild(key((icons.erase || '⌫') + '<span>' + kb.dataset.erase + '</span>', 'fn', 'erase', kb.dataset.erase));
      kb.appendChild(last);
    }
    // Keep the caret in the field: a key takes no focus.
    kb.addEventListener('pointerdown', function (e) { if (e.target.closest('.key')) e.preventDefault(); });
    kb.addEventListener('mousedown', function (e) { if (e.target.closest('.key')) e.preventDefault(); });
    kb.addEventListener('click', function (e) {
      var b = e.target.closest('.key');
      if (!b) return;
      var k = b.dataset.k;
      if (k === 'shift') { shift = !shift; draw(); return; }
      if (k === 'mode') { mode = mode === 'digits' ? base : 'digits'; draw(); return; }
      if (k === 'erase') erase(field);
      else if (k === 'space') insert(field, ' ');
      else insert(field, capital() ? k.toUpperCase() : k);
      shift = false;
      draw();
    });
    fields.forEach(function (f) { f.addEventListener('focus', draw); });
    draw();
  }

  // The keypad of the receipt code: digits only, shown in groups of four.
  function keypad(pad) {
    var input = document.getElementById(pad.dataset.for);
    var digits = '';
    function show() { input.value = digits.replace(/(\d{4})(?=\d)/g, '$1 '); }
    pad.addEventListener('click', function (e) {
      var b = e.target.closest('.key');
      if (!b) return;
      var d = b.dataset.d;
      if (d === 'clear') digits = '';
      else if (d === 'erase') digits = digits.slice(0, -1);
      else if (digits.length < 16) digits += d;
      show();
    });
  }

  // The voice recorder: Opus in WebM, sent to the kiosk's memory when the
  // person stops; the page keeps a copy only to play it back.
  var recorder = null, playback = null, blobURL = '', wiping = false, recorded = Promise.resolve();
  // stopRecording ends a recording in progress (the person touched Next
  // while speaking) and resolves when it has reached the kiosk's memory.
  function stopRecording() {
    if (recorder && recorder.state === 'recording') recorder.stop();
    return recorded;
  }
  function dropRecording() {
    if (playback) { playback.pause(); playback = null; }
    if (blobURL) { URL.revokeObjectURL(blobURL); blobURL = ''; }
  }
  function voice(v) {
    var url = v.dataset.url;
    function btn(a) { return v.querySelector('[data-act=' + a + ']'); }
    function state(s) {
      v.classList.toggle('recording', s === 'recording');
      v.querySelectorAll('.vstate').forEach(function (p) { p.hidden = p.dataset.state !== s; });
      btn('rec').hidden = s === 'recording' || s === 'done';
      btn('stop').hidden = s !== 'recording';
      btn('play').hidden = !(s === 'done' && blobURL);
      btn('del').hidden = s !== 'done';
    }
    state(v.dataset.has ? 'done' : '');
    var keepAlive;
    btn('rec').addEventListener('click', function () {
      if (!navigator.mediaDevices || !window.MediaRecorder) { state('nomic'); return; }
      navigator.mediaDevices.getUserMedia({audio: true}).then(function (stream) {
        var type = MediaRecorder.isTypeSupported('audio/webm;codecs=opus') ? 'audio/webm;codecs=opus' : '';
        recorder = new MediaRecorder(stream, type ? {mimeType: type, audioBitsPerSecond: 24000} : {});
        var chunks = [], done;
        recorded = new Promise(function (resolve) { done = resolve; });
        recorder.ondataavailable = function (e) { if (e.data.size) chunks.push(e.data); };
        recorder.onstop = function () {
          clearInterval(keepAlive);
          stream.getTracks().forEach(function (t) { t.stop(); });
          var blob = new Blob(chunks, {type: recorder.mimeType || 'audio/webm'});
          chunks = [];
          dropRecording();
          if (!blob.size || wiping) { state(''); done(); return; }
          blobURL = URL.createObjectURL(blob);
          post(url, blob, blob.type).then(function (r) {
            state(r.ok ? 'done' : 'nomic');
          }).catch(function () { state('nomic'); }).then(done);
        };
        recorder.start(1000);
        state('recording');
        // Speaking is not touching: keep the inactivity wipe away while
        // recording, for at most ten minutes.
        keepAlive = setInterval(touched, 5000);
        setTimeout(function () { if (recorder && recorder.state === 'recording') recorder.stop(); }, 600000);
      }).catch(function () { state('nomic'); });
    });
    btn('stop').addEventListener('click', function () {
      if (recorder && recorder.state !== 'inactive') recorder.stop();
    });
    btn('play').addEventListener('click', function () {
      if (!blobURL) return;
      stopAudio();
      if (playback) playback.pause();
      playback = new Audio(blobURL);
      playback.play().catch(function () {});
    });
    btn('del').addEventListener('click', function () {
      dropRecording();
      pending.push(post(url, new Blob([]), 'audio/webm').catch(function () {}));
      state('');
    });
  }
  window.addEventListener('pagehide', function () { stopAudio(); dropRecording(); });

  // setup reads the screen's settings and runs what each screen needs.
  function setup() {
    body = document.body;
    sid = body.dataset.sid || '';
    idle = +body.dataset.idle || 60000;
    pending = [];
    screenInits.forEach(function (f) { f(); });
  }
  setup();
})();
