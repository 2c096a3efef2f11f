// The booth screen: new applications appear without reloading (polling every 3 s), and each is
// approved with one tap; the card number comes back on the same card.
(function () {
  var box = document.getElementById('booth');
  if (!box) return;
  var d = box.dataset, lastId = 0, state = document.getElementById('booth-state');
  // The union last chosen at this booth, {id, name}: the next card starts from it.
  var remembered = null;
  try { remembered = JSON.parse(localStorage.getItem('gh-booth-union-' + d.org) || 'null'); } catch (e) { remembered = null; }
  if (!remembered || !remembered.id) remembered = null;
  box.innerHTML = '';
  function esc(s) { return String(s == null ? '' : s).replace(/[&<>"']/g, function (c) { return '&#' + c.charCodeAt(0) + ';'; }); }
  function render(a, fresh) {
    var el = document.createElement('div');
    el.className = 'booth-item' + (a.state === 'approved' ? ' done' : '') + (fresh ? ' fresh' : '');
    el.dataset.id = a.id;
    var html = '<b>' + esc(a.name) + '</b> <span class="muted">' + esc(a.sexAge) + ' · ' + esc(a.idMasked) + ' · ' + esc(a.phone) + '</span>' +
      '<div>' + esc(a.employer) + ' <span class="muted">' + esc(a.createdAt) + '</span></div>';
    if (a.state !== 'pending' && a.state !== 'needsInfo') {
      html += '<div>' + esc(a.status) + (a.card ? ' · ' + esc(d.card) + ' <b>' + esc(a.card) + '</b>' : '') + '</div>';
    } else {
      html += '<form>' +
        '<button class="primary" type="submit">' + esc(d.approve) + '</button> <a href="/console/applications/' + a.id + '">' + esc(d.reject) + '</a></form>';
    }
    el.innerHTML = html;
    var form = el.querySelector('form');
    if (form) {
      // A search picker, not a select of every union in scope (400 at city scope, in every card).
      var picker = null;
      if (!a.orgIsUnion) {
        picker = window.GonghuiPicker.make({
          name: 'orgId', url: '/console/org-suggestions?kind=unions&under=' + encodeURIComponent(d.org),
          value: remembered ? remembered.id : '', label: remembered ? remembered.name : '', required: true, ariaLabel: d.union,
          placeholder: d.pickPlaceholder, empty: d.pickEmpty, chooseMessage: d.pickChoose
        });
        form.insertBefore(picker, form.firstChild);
      }
      form.addEventListener('submit', function (ev) {
        ev.preventDefault();
        var body = new URLSearchParams();
        body.set('_csrf', d.csrf);
        if (picker) {
          var chosen = { id: picker.querySelector('input[type=hidden]').value, name: picker.querySelector('input[type=search]').value };
          body.set('orgId', chosen.id);
          localStorage.setItem('gh-booth-union-' + d.org, JSON.stringify(chosen));
          remembered = chosen;
        }
        form.querySelector('button').disabled = true;
        fetch('/console/applications/' + a.id + '/approve', { method: 'POST', body: body, headers: { 'Accept': 'application/json' }, credentials: 'same-origin' })
          .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, j: j }; }); })
          .then(function (res) {
            if (!res.ok) { throw new Error((res.j.errors && res.j.errors[0] && res.j.errors[0].message) || res.j.detail || res.j.title); }
            a.state = 'approved'; a.status = d.approved; a.card = res.j.cardNumberGrouped || res.j.cardNumber;
            el.replaceWith(render(a, false));
          })
          .catch(function (e) { form.querySelector('button').disabled = false; alert(e.message || d.error); });
      });
    }
    return el;
  }
  function poll() {
    var url = '/console/booth/feed?org=' + encodeURIComponent(d.org) + (d.meeting ? '&meeting=' + encodeURIComponent(d.meeting) : '') + '&after=' + lastId;
    fetch(url, { headers: { 'Accept': 'application/json' }, credentials: 'same-origin' })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (j) {
        lastId = Math.max(lastId, j.cursor || 0);
        j.items.forEach(function (a) {
          var old = box.querySelector('[data-id="' + a.id + '"]');
          var el = render(a, !old && j.first !== true);
          if (old) old.replaceWith(el); else box.insertBefore(el, box.firstChild);
        });
        if (!box.children.length) box.innerHTML = '<p class="muted">' + esc(d.empty) + '</p>';
        else { var p = box.querySelector('p.muted'); if (p) p.remove(); }
        state.textContent = state.textContent.replace(/ ·.*$/, '') + ' · ' + new Date().toLocaleTimeString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false });
      })
      .catch(function () { state.textContent = d.error; })
      .then(function () { setTimeout(poll, 3000); });
  }
  poll();
})();
