#!/usr/bin/env python3
"""Brings committed notebook outputs up to the current output format without
re-executing them (same data, so no measurement changes):

  - a result's data is under application/vnd.memwall.result+json
    (inspect.JSONMIME), not application/json;
  - every SVG picture is also in text/html as inspect.PictureHTML renders it
    (inline, plus a data-URI image that survives JupyterLab's sanitizer);
  - language_info names the shell editor mode and the bash lexer.

    python3 scripts/notebook-outputs.py notebooks/*.ipynb

Idempotent; prints how many outputs it changed in each file. Notebooks
re-executed with `make notebooks` need none of this.
"""
import base64
import json
import re
import sys


# Must match inspect.PictureHTML byte for byte.
def ph(svg):
    return ('<div class="memwall-svg"><style>.memwall-svg>div~img{display:none}</style>'
            '<div style="font-size:0;line-height:0">' + svg + '</div>'
            '<img alt="picture" src="data:image/svg+xml;base64,' + base64.b64encode(svg.encode()).decode() + '"></div>')
JOIN = re.compile(r'(<div style="margin:4px 0">)(<svg\b.*?</svg>\n?)(</div>)', re.S)
for f in sys.argv[1:]:
    nb = json.load(open(f, encoding='utf-8')); n = 0
    li = nb['metadata'].setdefault('language_info', {})
    li['codemirror_mode'] = 'shell'; li['pygments_lexer'] = 'bash'
    for c in nb['cells']:
        for o in c.get('outputs', []):
            d = o.get('data')
            if not d: continue
            if 'application/json' in d:
                d['application/vnd.memwall.result+json'] = d.pop('application/json'); n += 1
            html = ''.join(d.get('text/html', []))
            if 'memwall-svg' in html: continue
            if 'image/svg+xml' in d:
                d['text/html'] = (ph(''.join(d['image/svg+xml'])) + html).splitlines(True); n += 1
            elif '<svg' in html:
                new = JOIN.sub(lambda m: m.group(1) + ph(m.group(2)) + m.group(3), html)
                if new != html: d['text/html'] = new.splitlines(True); n += 1
    open(f, 'w', encoding='utf-8').write(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    print(f, n)
