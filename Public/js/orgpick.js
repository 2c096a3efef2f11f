// The organisation picker: while the user types a name, the matches in their subtree replace the
// select's options (GET /console/orgs/pick). Without JavaScript the search button posts the form
// and the page comes back with the same matches.
(function () {
  document.querySelectorAll('.org-pick[data-pick]').forEach(function (box) {
    var select = box.querySelector('select'), input = box.querySelector('input[type=search]');
    var button = box.querySelector('button[name=findOrg]'), status = box.querySelector('[role=status]');
    var form = box.closest('form'), timer = null, asked = 0;
    if (!select || !input || !form) return;
    function role() {
      var field = box.dataset.roleField && form.elements[box.dataset.roleField];
      return field ? field.value : '';
    }
    function find() {
      var q = input.value.trim(), n = ++asked;
      if (!q) return;
      var url = box.dataset.pick + '?q=' + encodeURIComponent(q) + (role() ? '&role=' + encodeURIComponent(role()) : '');
      fetch(url, { headers: { 'Accept': 'application/json' }, credentials: 'same-origin' })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (j) {
          if (!j || n !== asked) return;
          // The earlier choice stays on top; the first match is chosen, as after a search without JavaScript.
          var keep = select.value ? select.options[select.selectedIndex] : null, first = null;
          while (select.options.length) select.remove(0);
          if (keep) select.add(keep);
          j.items.forEach(function (o) {
            if (keep && String(o.id) === keep.value) { first = first || keep; return; }
            var opt = new Option(o.context ? o.name + ' · ' + o.context : o.name, String(o.id));
            select.add(opt);
            first = first || opt;
          });
          if (first) first.selected = true;
          if (status) status.textContent = j.items.length ? (j.more ? box.dataset.more || '' : '') : (box.dataset.none || '');
        })
        .catch(function () {});
    }
    input.addEventListener('input', function () { clearTimeout(timer); timer = setTimeout(find, 250); });
    input.addEventListener('keydown', function (e) { if (e.key === 'Enter') { e.preventDefault(); find(); } });
    if (button) button.addEventListener('click', function (e) { e.preventDefault(); find(); });
  });
})();
