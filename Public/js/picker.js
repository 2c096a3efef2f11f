// The search picker: a <span class="picker" data-suggest="URL"> around a small <select> (the value
// already chosen, and what a search without JavaScript found) becomes a text field that suggests
// organisations from URL&q=… as one types. The chosen id travels in a hidden field of the select's
// name, so the form posts what it did before. GonghuiPicker.make builds one for pages drawn by script.
(function () {
  var counter = 0;

  function build(opts) {
    var box = document.createElement('span');
    box.className = 'picker';
    var hidden = document.createElement('input');
    hidden.type = 'hidden';
    hidden.name = opts.name;
    hidden.value = opts.value || '';
    var text = document.createElement('input');
    text.type = 'search';
    text.value = opts.label || '';
    text.autocomplete = 'off';
    text.placeholder = opts.placeholder || '';
    if (opts.ariaLabel) text.setAttribute('aria-label', opts.ariaLabel);
    if (opts.required) text.required = true;
    var list = document.createElement('ul');
    list.className = 'picker-list';
    list.id = 'picker-list-' + (++counter);
    list.setAttribute('role', 'listbox');
    list.hidden = true;
    text.setAttribute('role', 'combobox');
    text.setAttribute('aria-autocomplete', 'list');
    text.setAttribute('aria-expanded', 'false');
    text.setAttribute('aria-controls', list.id);
    box.appendChild(hidden);
    box.appendChild(text);
    box.appendChild(list);

    var items = [], active = -1, seq = 0, timer = null, chosenLabel = text.value;
    function close() { list.hidden = true; text.setAttribute('aria-expanded', 'false'); active = -1; }
    function mark() {
      Array.prototype.forEach.call(list.children, function (li, i) { li.setAttribute('aria-selected', i === active ? 'true' : 'false'); });
      if (active >= 0 && list.children[active]) {
        text.setAttribute('aria-activedescendant', list.children[active].id);
        list.children[active].scrollIntoView({ block: 'nearest' });
      }
    }
    function choose(i) {
      var it = items[i];
      if (!it) return;
      hidden.value = String(it.id);
      text.value = chosenLabel = it.name;
      text.setCustomValidity('');
      close();
      hidden.dispatchEvent(new Event('change', { bubbles: true }));
    }
    function show(found) {
      items = found;
      list.innerHTML = '';
      if (!found.length) {
        var none = document.createElement('li');
        none.className = 'muted';
        none.textContent = opts.empty || '—';
        list.appendChild(none);
      }
      found.forEach(function (it, i) {
        var li = document.createElement('li');
        li.id = list.id + '-' + i;
        li.setAttribute('role', 'option');
        li.textContent = it.name;
        if (it.parent) {
          var p = document.createElement('span');
          p.className = 'muted';
          p.textContent = ' · ' + it.parent;
          li.appendChild(p);
        }
        // mousedown, not click: it comes before the field loses focus.
        li.addEventListener('mousedown', function (ev) { ev.preventDefault(); choose(i); });
        list.appendChild(li);
      });
      active = found.length ? 0 : -1;
      list.hidden = false;
      text.setAttribute('aria-expanded', 'true');
      mark();
    }
    function ask() {
      var mine = ++seq;
      var url = opts.url + (opts.url.indexOf('?') < 0 ? '?' : '&') + 'q=' + encodeURIComponent(text.value.trim());
      fetch(url, { headers: { 'Accept': 'application/json' }, credentials: 'same-origin' })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(function (j) { if (mine === seq && document.activeElement === text) show(j.items || []); })
        .catch(function () { if (mine === seq) close(); });
    }
    text.addEventListener('input', function () {
      // A changed text no longer names the chosen one: nothing is sent until one is picked again.
      if (text.value !== chosenLabel) hidden.value = '';
      if (opts.required) text.setCustomValidity(hidden.value ? '' : (opts.chooseMessage || ' '));
      clearTimeout(timer);
      timer = setTimeout(ask, 150);
    });
    text.addEventListener('focus', function () { if (!text.value || !hidden.value) ask(); });
    text.addEventListener('blur', close);
    text.addEventListener('keydown', function (ev) {
      if (list.hidden) { if (ev.key === 'ArrowDown') { ask(); ev.preventDefault(); } return; }
      if (ev.key === 'ArrowDown') { active = Math.min(items.length - 1, active + 1); mark(); ev.preventDefault(); }
      else if (ev.key === 'ArrowUp') { active = Math.max(0, active - 1); mark(); ev.preventDefault(); }
      else if (ev.key === 'Enter') { if (active >= 0) { choose(active); ev.preventDefault(); } }
      else if (ev.key === 'Escape') { close(); }
    });
    if (opts.required && !hidden.value) text.setCustomValidity(opts.chooseMessage || ' ');
    return box;
  }

  // Replaces the server-drawn <select> inside each .picker with the text field.
  function attach(span) {
    var select = span.querySelector('select');
    if (!select || span.dataset.ready) return;
    span.dataset.ready = '1';
    var chosen = select.options[select.selectedIndex];
    var made = build({
      name: select.name, url: span.dataset.suggest, value: chosen ? chosen.value : '',
      label: chosen && chosen.value ? chosen.textContent.trim() : '', required: select.required,
      placeholder: span.dataset.placeholder, ariaLabel: select.getAttribute('aria-label'),
      empty: span.dataset.empty, chooseMessage: span.dataset.choose
    });
    while (made.firstChild) span.appendChild(made.firstChild);
    select.remove();
  }

  window.GonghuiPicker = { make: build, attach: attach };
  // A search form kept for pages seen without JavaScript is not needed beside a picker.
  Array.prototype.forEach.call(document.querySelectorAll('.picker-fallback'), function (f) { f.hidden = true; });
  Array.prototype.forEach.call(document.querySelectorAll('.picker[data-suggest]'), attach);
})();
