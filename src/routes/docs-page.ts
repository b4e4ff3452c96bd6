/**
 * The browser side of /api/docs: plain JavaScript, no external resources. It reads the OpenAPI
 * document and renders every operation, grouped by tag, with a form that sends real requests.
 * (Written without backticks or dollar-braces so that it can live inside a template string.)
 */
export const DOCS_SCRIPT = String.raw`
(function () {
  'use strict';
  var specUrl = document.body.getAttribute('data-spec');
  var main = document.getElementById('ops');
  var nav = document.getElementById('nav');
  var tokenInput = document.getElementById('token');
  var defs = {};
  var spec;

  tokenInput.value = sessionStorage.getItem('edgepulse.token') || '';
  tokenInput.addEventListener('input', function () { sessionStorage.setItem('edgepulse.token', tokenInput.value); });

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') node.textContent = attrs[k];
      else if (k === 'cls') node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return node;
  }

  // Every $defs block anywhere in the document, so '#/$defs/X' resolves wherever it appears.
  function collectDefs(node) {
    if (!node || typeof node !== 'object') return;
    if (node.$defs && typeof node.$defs === 'object') Object.keys(node.$defs).forEach(function (k) { defs[k] = node.$defs[k]; });
    Object.keys(node).forEach(function (k) { collectDefs(node[k]); });
  }

  function deref(schema) {
    var seen = 0;
    while (schema && schema.$ref && seen++ < 20) {
      var ref = schema.$ref;
      if (ref.indexOf('#/$defs/') === 0) schema = defs[ref.slice(8)];
      else schema = ref.slice(2).split('/').reduce(function (o, p) { return o && o[decodeURIComponent(p)]; }, spec);
    }
    return schema || {};
  }

  function refName(schema) {
    return schema && schema.$ref ? schema.$ref.split('/').pop() : '';
  }

  function constraints(s, noDescription) {
    var out = [];
    if (s.format) out.push(s.format);
    if (s.enum && !noDescription) out.push('one of ' + s.enum.map(function (v) { return JSON.stringify(v); }).join(', '));
    if (s.const !== undefined) out.push('= ' + JSON.stringify(s.const));
    if (s.minLength !== undefined) out.push('min length ' + s.minLength);
    if (s.maxLength !== undefined) out.push('max length ' + s.maxLength);
    if (s.minimum !== undefined) out.push('≥ ' + s.minimum);
    if (s.maximum !== undefined && s.maximum < 9007199254740991) out.push('≤ ' + s.maximum);
    if (s.minItems !== undefined) out.push('min ' + s.minItems + ' items');
    if (s.maxItems !== undefined) out.push('max ' + s.maxItems + ' items');
    if (s.maxProperties !== undefined) out.push('max ' + s.maxProperties + ' keys');
    if (s.pattern) out.push('pattern ' + s.pattern);
    if (s.default !== undefined) out.push('default ' + JSON.stringify(s.default));
    var d = noDescription ? '' : s.description || '';
    return out.length ? '  // ' + out.join('; ') + (d ? ' — ' + d : '') : (d ? '  // ' + d : '');
  }

  // A schema as readable, TypeScript-like text.
  function typeText(schema, pad, depth) {
    var s = deref(schema);
    if (depth > 6) return refName(schema) || 'object';
    var alts = s.anyOf || s.oneOf;
    if (alts) {
      var texts = alts.map(function (a) { return typeText(a, pad, depth + 1); });
      var multiline = texts.some(function (x) { return x.indexOf('\n') >= 0; });
      return texts.join(multiline ? '\n' + pad + '| ' : ' | ');
    }
    if (s.allOf) return s.allOf.map(function (a) { return typeText(a, pad, depth + 1); }).join(' & ');
    var t = Array.isArray(s.type) ? s.type.join(' | ') : s.type;
    if (s.enum) return s.enum.map(function (v) { return JSON.stringify(v); }).join(' | ');
    if (t === 'array') return typeText(s.items || {}, pad, depth + 1) + '[]';
    if (t === 'object' || s.properties) {
      var props = s.properties || {};
      var req = s.required || [];
      var keys = Object.keys(props);
      if (!keys.length) return s.additionalProperties ? '{ [key: string]: ' + typeText(s.additionalProperties, pad, depth + 1) + ' }' : 'object';
      var inner = pad + '  ';
      return '{\n' + keys.map(function (k) {
        var p = deref(props[k]);
        return inner + k + (req.indexOf(k) >= 0 ? '' : '?') + ': ' + typeText(props[k], inner, depth + 1) + constraints(p);
      }).join('\n') + '\n' + pad + '}';
    }
    return t || 'any';
  }

  // A small valid-looking example body, for the try-it form.
  function example(schema, depth) {
    var s = deref(schema);
    if (depth > 5) return null;
    if (s.example !== undefined) return s.example;
    if (s.examples && s.examples.length) return s.examples[0];
    if (s.default !== undefined) return s.default;
    if (s.const !== undefined) return s.const;
    if (s.enum) return s.enum[0];
    var alts = s.anyOf || s.oneOf;
    if (alts) return example(alts[0], depth + 1);
    var t = Array.isArray(s.type) ? s.type[0] : s.type;
    if (t === 'array') return [example(s.items || {}, depth + 1)];
    if (t === 'object' || s.properties) {
      var out = {};
      var props = s.properties || {};
      var keys = (s.required && s.required.length) ? s.required : Object.keys(props).slice(0, 3);
      keys.forEach(function (k) { if (props[k]) out[k] = example(props[k], depth + 1); });
      return out;
    }
    if (t === 'integer' || t === 'number') return s.minimum || 0;
    if (t === 'boolean') return false;
    if (s.format === 'date-time') return new Date().toISOString();
    return 'string';
  }

  function pretty(text) {
    try { return JSON.stringify(JSON.parse(text), null, 2); } catch (e) { return text; }
  }

  function paramsTable(params) {
    if (!params.length) return null;
    var rows = params.map(function (p) {
      var s = deref(p.schema || {});
      return el('tr', {}, [
        el('td', {}, [el('code', { text: p.name }), p.required ? el('span', { cls: 'req', text: ' required' }) : null]),
        el('td', { text: p.in }),
        el('td', {}, [el('code', { text: typeText(s, '', 0) })]),
        el('td', { text: [p.description || s.description || '', constraints(s, true).replace('  // ', '')].filter(Boolean).join(' · ') }),
      ]);
    });
    return el('table', {}, [el('tr', {}, ['name', 'in', 'type', 'notes'].map(function (h) { return el('th', { text: h }); }))].concat(rows));
  }

  function tryForm(method, path, op, params) {
    var inputs = {};
    var fields = params.map(function (p) {
      var s = deref(p.schema || {});
      var input = el('input', { placeholder: p.in + (p.required ? ', required' : ''), value: s.example !== undefined ? String(s.example) : '' });
      inputs[p.name] = { param: p, input: input };
      return el('label', {}, [el('span', { text: p.name }), input]);
    });
    var content = op.requestBody && op.requestBody.content;
    var mediaType = content ? (content['application/json'] ? 'application/json' : Object.keys(content)[0]) : null;
    var body = mediaType ? el('textarea', { rows: '6', spellcheck: 'false' }) : null;
    if (body) {
      var ex = example(content[mediaType].schema || {}, 0);
      body.value = typeof ex === 'string' && mediaType !== 'application/json' ? ex : JSON.stringify(ex, null, 2);
    }
    var out = el('pre', { cls: 'out', text: '' });
    var button = el('button', { type: 'button', text: 'Send ' + method.toUpperCase() });
    button.addEventListener('click', function () {
      var url = path;
      var query = [];
      Object.keys(inputs).forEach(function (name) {
        var p = inputs[name].param;
        var v = inputs[name].input.value;
        if (p.in === 'path') url = url.split('{' + name + '}').join(encodeURIComponent(v));
        else if (p.in === 'query' && v !== '') query.push(encodeURIComponent(name) + '=' + encodeURIComponent(v));
      });
      if (query.length) url += '?' + query.join('&');
      var headers = {};
      if (tokenInput.value.trim()) headers.authorization = 'Bearer ' + tokenInput.value.trim();
      var init = { method: method.toUpperCase(), headers: headers };
      if (body && body.value.trim()) { headers['content-type'] = mediaType; init.body = body.value; }
      out.textContent = '…';
      var started = performance.now();
      fetch(url, init).then(function (res) {
        return res.text().then(function (text) {
          out.className = 'out ' + (res.ok ? 'ok' : 'bad');
          out.textContent = res.status + ' ' + res.statusText + '  (' + Math.round(performance.now() - started) + ' ms)\n\n' + pretty(text);
        });
      }, function (err) { out.className = 'out bad'; out.textContent = String(err); });
    });
    return el('details', { cls: 'try' }, [el('summary', { text: 'Try it' }), el('div', { cls: 'fields' }, fields),
      body ? el('label', { cls: 'body' }, [el('span', { text: 'body (' + mediaType + ')' }), body]) : null, button, out]);
  }

  function operation(method, path, op, pathParams) {
    var params = (pathParams || []).concat(op.parameters || []).map(deref);
    var id = (method + path).replace(/[^A-Za-z0-9]+/g, '-');
    var parts = [
      el('h3', {}, [el('span', { cls: 'm ' + method, text: method.toUpperCase() }), el('code', { text: path }),
        op.security && op.security.length ? el('span', { cls: 'lock', title: 'needs a bearer credential', text: '🔒' }) : null]),
      op.summary ? el('p', { cls: 'sum', text: op.summary }) : null,
      op.description ? el('p', { cls: 'desc', text: op.description }) : null,
      params.length ? el('h4', { text: 'Parameters' }) : null,
      paramsTable(params),
    ];
    var content = op.requestBody && op.requestBody.content;
    if (content) {
      parts.push(el('h4', { text: 'Request body' + (op.requestBody.required ? ' (required)' : '') }));
      Object.keys(content).forEach(function (type) {
        parts.push(el('div', { cls: 'mt', text: type }), el('pre', { text: typeText(content[type].schema || {}, '', 0) }));
      });
    }
    parts.push(el('h4', { text: 'Responses' }));
    Object.keys(op.responses || {}).forEach(function (status) {
      var r = deref(op.responses[status]);
      var c = r.content && (r.content['application/json'] || r.content[Object.keys(r.content)[0]]);
      var head = el('summary', {}, [el('span', { cls: 'st s' + status[0], text: status }), ' ' + (r.description || '')]);
      parts.push(c && c.schema ? el('details', { cls: 'resp' }, [head, el('pre', { text: typeText(c.schema, '', 0) })]) : el('div', { cls: 'resp' }, [head]));
    });
    parts.push(tryForm(method, path, op, params));
    return el('section', { cls: 'op', id: id }, parts);
  }

  function render() {
    collectDefs(spec);
    document.getElementById('title').textContent = (spec.info && spec.info.title || 'API') + ' ' + (spec.info && spec.info.version || '');
    document.getElementById('intro').textContent = spec.info && spec.info.description || '';
    var groups = {};
    var order = (spec.tags || []).map(function (t) { return t.name; });
    Object.keys(spec.paths || {}).forEach(function (path) {
      var item = spec.paths[path];
      ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'].forEach(function (m) {
        if (!item[m]) return;
        var tag = (item[m].tags && item[m].tags[0]) || 'Other';
        if (order.indexOf(tag) < 0) order.push(tag);
        (groups[tag] = groups[tag] || []).push(operation(m, path, item[m], item.parameters));
      });
    });
    order.filter(function (t) { return groups[t]; }).forEach(function (tag) {
      var anchor = 'tag-' + tag.replace(/[^A-Za-z0-9]+/g, '-');
      nav.appendChild(el('a', { href: '#' + anchor, text: tag + ' (' + groups[tag].length + ')' }));
      main.appendChild(el('h2', { id: anchor, text: tag }));
      groups[tag].forEach(function (node) { main.appendChild(node); });
    });
  }

  fetch(specUrl).then(function (res) {
    if (!res.ok) throw new Error(specUrl + ' answered ' + res.status);
    return res.json();
  }).then(function (doc) { spec = doc; render(); }, function (err) {
    main.appendChild(el('p', { cls: 'bad', text: 'Could not load the OpenAPI document: ' + err }));
  });
})();
`;
