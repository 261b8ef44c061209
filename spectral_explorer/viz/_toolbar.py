"""The toolbar of figures that need no zoom (images, small curves, diagrams): only *save*,
shown when the pointer is over the figure — every figure of every dashboard can be saved as PNG
(or SVG, with the page's figure-format switch) from its toolbar."""

#: HoloViews plot options: a save button, hidden until the pointer is over the plot
SAVE_ONLY = dict(toolbar="above", default_tools=["save"], backend_opts={"plot.toolbar.autohide": True})
