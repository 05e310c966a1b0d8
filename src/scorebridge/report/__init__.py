"""``scorebridge report``: one self-contained HTML file for marketing and sales (DESIGN §5.1).

Modules: ``build`` (gathers the backtest, the signals, the judged predictive score and the top
leads from the store, read-only), ``plots`` (matplotlib figures as inline SVG) and ``html``
(the page). matplotlib because its SVG is drawn into the file itself: no JavaScript, no fonts
or scripts fetched, so the report opens the same without network access, prints, and the same
results give the same bytes.
"""
