"""Own data in, results out — the page parts every explorer shares (used by :class:`._base.Explorer`).

- :class:`Upload`: Panel's chunked :class:`~panel.widgets.FileDropper` with the size limit of
  :mod:`spectral_explorer.uploads` checked *in the browser* (FilePond refuses a larger file with
  a message before a byte is sent) and again on the server per chunk (a client that skips the
  browser check is cut off after the first chunk, never buffered).  The bytes are handed over
  once and dropped from the widget.
- :func:`export_row`: *⬇ data (CSV)* (the explorer's :meth:`table`), *Show code* (the
  explorer's :meth:`as_code`, in a read-only box with a copy button) and what the plots' toolbar
  *save* button writes: PNG (the default: plots draw with WebGL or canvas) or SVG (Bokeh saves
  SVG only from plots drawn with its SVG backend, so the switch redraws the page's plots with
  it — :func:`set_figure_format`).
"""

from __future__ import annotations

import io

import panel as pn

from .. import uploads

__all__ = ["Upload", "upload_control", "export_row", "set_figure_format", "COPY_JS"]

#: Bokeh output backend per figure format of the toolbar's save button
FIGURE_BACKENDS = {"PNG": "webgl", "SVG": "svg"}


class Upload(pn.widgets.FileDropper):
    """A FileDropper that never buffers more than :data:`uploads.MAX_BYTES` and hands each file to
    ``on_file(name, data: bytes)`` once (the widget keeps nothing)."""

    def __init__(self, on_file=None, **params):
        params.setdefault("max_file_size", f"{uploads.MAX_UPLOAD_MB}MB")
        params.setdefault("multiple", False)
        params.setdefault("layout", "compact")
        super().__init__(**params)
        self._on_file = on_file

    def _process_event(self, event):
        data = event.data
        if event.event_name == "upload_event":
            total = int(data.get("total_chunks") or 1)
            if (total - 1) * int(self.chunk_size) >= uploads.MAX_BYTES:   # over the limit: drop unbuffered
                self._file_buffer.pop(data.get("name"), None)
                if data.get("chunk") == 1 and self._on_file is not None:
                    self._on_file(str(data.get("name")), None)
                return
        super()._process_event(event)
        if event.event_name == "upload_event" and data.get("chunk") == data.get("total_chunks"):
            name = data["name"]
            value = self.value.pop(name, None)
            self.mime_type.pop(name, None)
            if value is not None and self._on_file is not None:
                if isinstance(value, str):   # Panel decodes text/* files
                    value = value.encode("utf-8")
                self._on_file(name, value)


def upload_control(explorer, kind: str, on_load, label: str, notebook_hint: str = ""):
    """An upload box for ``kind`` (see :mod:`spectral_explorer.uploads`) with its formats and
    limits written beside it.  The file is parsed in a worker job ``"upload"``; the parsed object
    goes to ``on_load(obj, filename)`` on the event loop; any rejection shows in the page (the
    message names the file and what was expected).

    Outside a served page (a notebook, a script) there is no upload box — a notebook passes its
    objects to the ``from_*`` classmethods — only ``notebook_hint`` (e.g. "use
    ``HeatGeodesicExplorer.from_points(X)``"), or nothing."""
    doc = pn.state.curdoc
    if doc is None or doc.session_context is None:
        return pn.pane.Markdown(f"**{label}**: {notebook_hint}" if notebook_hint else "", margin=(5, 10),
                                visible=bool(notebook_hint), css_classes=["upload-hint"])
    def on_file(name, data):
        if data is None:
            explorer.set_error("upload", f"{name}: over the {uploads.MAX_UPLOAD_MB} MB limit; not uploaded")
            return
        explorer.set_error("upload", None)
        explorer.run("upload", lambda job: uploads.parse(kind, name, data), lambda obj: on_load(obj, name),
                     text=f"reading {name} …")

    drop = Upload(on_file=on_file, name=label, css_classes=[f"w-upload-{kind}"], sizing_mode="stretch_width")
    note = pn.pane.Markdown(uploads.describe_limits(kind), css_classes=["upload-limits"],
                            styles={"font-size": "0.85em", "color": "#444"}, margin=(0, 10))
    return pn.Column(drop, note, sizing_mode="stretch_width")   # the dropper shows ``label`` as its title


#: copy the code box's value: the Clipboard API where the page is a secure context (localhost,
#: https), else a selected temporary textarea and execCommand (a school's plain-http LAN address)
COPY_JS = """
const text = area.value;
function fallback() {
  const ta = document.createElement('textarea');
  ta.value = text; ta.setAttribute('readonly', ''); ta.style.position = 'fixed'; ta.style.opacity = '0';
  document.body.appendChild(ta); ta.select();
  try { document.execCommand('copy'); } catch (e) {}
  document.body.removeChild(ta);
}
if (navigator.clipboard && window.isSecureContext) {
  navigator.clipboard.writeText(text).catch(fallback);
} else { fallback(); }
button.label = '✓ copied';
setTimeout(() => { button.label = 'copy code'; }, 1500);
"""


def _apply_format(viewable, root, changed=None, old_models=None):
    """Panel pre-processing hook: a plot built after the switch draws with the session's backend."""
    doc = getattr(root, "document", None)
    backend = getattr(doc, "_spectral_backend", None) if doc is not None else None
    if backend is None:
        return
    from bokeh.models import Plot
    for plot in root.select({"type": Plot}):
        if plot.output_backend != backend:
            plot.output_backend = backend


def set_figure_format(fmt: str, doc=None):
    """Make the toolbar's save button of every plot of ``doc`` (the current session's document)
    write ``fmt`` ("PNG" or "SVG"), also for plots built later in the session."""
    from bokeh.models import Plot
    from panel.viewable import Viewable

    if fmt not in FIGURE_BACKENDS:
        raise ValueError(f"figure format must be one of {', '.join(FIGURE_BACKENDS)}; got {fmt!r}")
    doc = doc if doc is not None else pn.state.curdoc
    if doc is None:
        return
    if _apply_format not in Viewable._preprocessing_hooks:
        Viewable._preprocessing_hooks.append(_apply_format)
    backend = FIGURE_BACKENDS[fmt]
    doc._spectral_backend = backend
    for plot in doc.select({"type": Plot}):
        plot.output_backend = backend


def export_row(explorer):
    """*⬇ data (CSV)* and *Show code* for ``explorer`` (its :meth:`table` and :meth:`as_code`)."""
    def csv():
        try:
            frame = explorer.table()
            download.filename = f"{explorer.export_name()}.csv"
            explorer.set_error("export", None)
        except Exception as exc:  # noqa: BLE001 - shown in the page, never in the server log
            explorer.set_error("export", exc)
            return io.StringIO("")
        return io.StringIO(frame.to_csv(index=False))

    download = pn.widgets.FileDownload(callback=csv, filename=f"{explorer.export_name()}.csv", embed=False,
                                       label="⬇ data (CSV)", button_type="light", width=150,
                                       css_classes=["explorer-download"],
                                       description="Download the data of the main view as a CSV table")
    show = pn.widgets.Toggle(name="</> show code", button_type="light", width=130, css_classes=["explorer-show-code"])
    area = pn.widgets.TextAreaInput(name="Python code that rebuilds this view (read-only; the result is in `result`)",
                                    value="", visible=False, sizing_mode="stretch_width", height=260,
                                    css_classes=["explorer-code"],
                                    stylesheets=[":host textarea {font-family: monospace; font-size: 12px;}"])
    copy = pn.widgets.Button(name="copy code", button_type="light", width=100, visible=False,
                             css_classes=["explorer-copy"], description="Copy the code to the clipboard")
    copy.js_on_click(args={"area": area, "button": copy}, code=COPY_JS)
    state = {"code": ""}

    def refresh(*_):
        if not show.value:
            return
        try:
            state["code"] = explorer.as_code()
            explorer.set_error("export", None)
        except Exception as exc:  # noqa: BLE001
            explorer.set_error("export", exc)
            state["code"] = ""
        area.value = state["code"]

    def toggle(event):
        area.visible = copy.visible = bool(event.new)
        refresh()

    def keep(event):   # read-only: a typed edit goes back to the generated code
        if event.new != state["code"]:
            area.value = state["code"]

    show.param.watch(toggle, "value")
    area.param.watch(keep, "value")
    watched = [p for p in explorer.code_params() if p in explorer.param]
    if watched:
        explorer.param.watch(refresh, watched)
    figure_format = pn.widgets.RadioButtonGroup(options=list(FIGURE_BACKENDS), value="PNG", button_type="light",
                                                width=110, css_classes=["explorer-figure-format"],
                                                description="What the plots' toolbar save button writes")
    def switch(event):
        try:
            set_figure_format(event.new)
            explorer.set_error("export", None)
        except Exception as exc:  # noqa: BLE001 - shown in the page, never in the server log
            explorer.set_error("export", exc)
    figure_format.param.watch(switch, "value")
    return pn.Column(pn.Row(download, show, copy, pn.pane.Markdown("toolbar save writes", margin=(12, 2, 0, 20)),
                            figure_format), area, sizing_mode="stretch_width")
