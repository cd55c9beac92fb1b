/**
 * The page's families table (part of the page's script, see dashboard-client.ts): one row per
 * family of keyed breakers, with how many keys are in each state and its open keys. Uses the
 * page's helpers (make, label, el, STATES). No backtick or dollar-brace may appear in it.
 */
export const DASHBOARD_FAMILIES_SCRIPT = String.raw`
  // ------------------------------------------------------------------ one row per family

  function renderFamilies(families) {
    var FAMILY_STATES = Object.keys(STATES);
    var table = el('families');
    el('families-section').hidden = families.length === 0;
    table.textContent = '';
    var head = make('tr');
    ['Family', 'Keys'].concat(FAMILY_STATES.map(label), ['Open keys']).forEach(function (text) {
      var th = make('th', null, text); th.scope = 'col'; head.append(th);
    });
    var thead = make('thead'); thead.append(head);
    var tbody = make('tbody');
    families.forEach(function (f) {
      var row = make('tr');
      row.dataset.family = f.name;
      var th = make('th', null, f.name); th.scope = 'row';
      row.append(th, make('td', null, f.keys + ' / ' + f.maxKeys));
      FAMILY_STATES.forEach(function (state) {
        var td = make('td', null, String(f.states[state] || 0));
        td.dataset.state = state;
        row.append(td);
      });
      var open = make('td', 'open-keys');
      if (f.openKeyCount === 0) open.append(make('span', 'muted', 'none'));
      f.openKeys.forEach(function (key, i) {
        if (i > 0) open.append(', ');
        open.append(make('span', 'open-key', key));
      });
      if (f.openKeyCount > f.openKeys.length) open.append(make('span', 'muted', ' and ' + (f.openKeyCount - f.openKeys.length) + ' more'));
      if (f.overflow) open.append(make('span', 'muted', ' (overflow breaker: ' + label(f.overflow) + ')'));
      row.append(open);
      tbody.append(row);
    });
    table.append(thead, tbody);
  }

`;
