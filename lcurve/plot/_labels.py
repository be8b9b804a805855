"""Non-overlapping text labels for scatter points: a small greedy label placer.

:func:`place_labels` puts each label at the first of a ring of candidate offsets around its
point (nearest first, then wider rings) whose bounding box, measured by the figure's renderer,
overlaps no text already in the axes or placed before it, no marker, and stays inside the axes. A label that finds no
free place is left out and reported, so the figure never shows overlapping text.
Labels are placed in the order given: pass the most important first.
"""

from __future__ import annotations

import numpy as np

__all__ = ["place_labels", "text_overlaps"]

# unit directions tried at every radius: right, up-right, up, up-left, left, down-left, ...
_DIRECTIONS = [(1, 0.35), (1, 1), (0, 1), (-1, 1), (-1, 0.35), (-1, -1), (0, -1), (1, -1)]


def _boxes_overlap(a, b, pad: float = 1.0) -> bool:
    return not (a.x1 + pad <= b.x0 or b.x1 + pad <= a.x0 or a.y1 + pad <= b.y0
                or b.y1 + pad <= a.y0)


def _text_box(text, renderer):
    """The box of the text itself (an Annotation's own extent also covers its leader line)."""
    from matplotlib.text import Text

    if hasattr(text, "update_positions"):  # an Annotation places its text when drawn
        text.update_positions(renderer)
    return Text.get_window_extent(text, renderer)


def text_overlaps(texts, renderer=None) -> list[tuple[int, int]]:
    """Index pairs of ``texts`` (matplotlib ``Text``) whose rendered bounding boxes overlap."""
    texts = [t for t in texts if t.get_visible() and t.get_text()]
    if not texts:
        return []
    fig = texts[0].figure
    renderer = renderer or fig.canvas.get_renderer()
    boxes = [_text_box(t, renderer) for t in texts]
    return [(i, j) for i in range(len(boxes)) for j in range(i + 1, len(boxes))
            if _boxes_overlap(boxes[i], boxes[j], pad=0.0)]


def place_labels(ax, x, y, labels, *, radii=(4, 10, 18, 28, 40, 55), marker_px: float = 4.0,
                 obstacles=(), text_kwargs: dict | None = None,
                 leader_kwargs: dict | None = None):
    """Annotate points ``(x, y)`` with ``labels`` without any two labels overlapping.

    Parameters
    ----------
    ax : matplotlib Axes
        Axes whose limits are final. The figure's layout is computed once and then frozen
        (layout engine ``"none"``), since the placement is done in display pixels.
    x, y : array-like
        Data coordinates of the points.
    labels : list of str
    radii : tuple of float
        Offsets (points) tried around each point, nearest first.
    marker_px : float
        Half-size of the marker box (display pixels) that labels must not cover.
    obstacles : iterable of (x0, y0, x1, y1)
        Data-coordinate boxes labels should not cover (e.g. error bars): a label covers one
        only when no place clear of all of them is free.
    text_kwargs, leader_kwargs : dict, optional
        Passed to ``ax.annotate`` (font size, colour) and to its ``arrowprops`` (the thin line
        drawn to labels placed beyond the first ring).

    Returns
    -------
    placed : list of matplotlib.text.Annotation
    omitted : list of int
        Indices of labels that found no free place (not drawn).
    """
    from matplotlib.transforms import Bbox

    fig = ax.figure
    fig.draw_without_rendering()  # settle the layout, then freeze it: placement is in pixels
    fig.set_layout_engine("none")
    renderer = fig.canvas.get_renderer()
    points = ax.transData.transform(np.column_stack([np.asarray(x, float),
                                                     np.asarray(y, float)]))
    frame = ax.get_window_extent(renderer)
    taken = [Bbox.from_extents(px - marker_px, py - marker_px, px + marker_px, py + marker_px)
             for px, py in points if np.isfinite(px) and np.isfinite(py)]
    taken += [_text_box(t, renderer) for t in ax.texts if t.get_visible() and t.get_text()]
    soft = []
    for x0, y0, x1, y1 in obstacles:
        (a0, b0), (a1, b1) = ax.transData.transform([(x0, y0), (x1, y1)])
        if np.isfinite([a0, b0, a1, b1]).all():
            soft.append(Bbox.from_extents(min(a0, a1) - 1, min(b0, b1), max(a0, a1) + 1,
                                          max(b0, b1)))
    placed, omitted = [], []
    style = {"fontsize": 7, "color": "0.2", **(text_kwargs or {})}
    for k, (label, (px, py)) in enumerate(zip(labels, points)):
        if not (np.isfinite(px) and np.isfinite(py)):
            omitted.append(k)
            continue
        text = ax.annotate(str(label), (x[k], y[k]), textcoords="offset points",
                           xytext=(0, 0), **style)
        found = None
        # first a place clear of the obstacles too, else one clear of markers and text only
        for blocked in (taken + soft, taken):
            for ring, radius in enumerate(radii):
                for dx, dy in _DIRECTIONS:
                    norm = np.hypot(dx, dy)
                    offset = (radius * dx / norm, radius * dy / norm)
                    align = ("left" if dx > 0 else "right" if dx < 0 else "center",
                             "bottom" if dy > 0 else "top" if dy < 0 else "center")
                    text.set_ha(align[0])
                    text.set_va(align[1])
                    text.xyann = offset
                    box = _text_box(text, renderer)
                    inside = (box.x0 >= frame.x0 and box.x1 <= frame.x1
                              and box.y0 >= frame.y0 and box.y1 <= frame.y1)
                    if inside and not any(_boxes_overlap(box, other) for other in blocked):
                        found = (ring, offset, align)
                        break
                if found:
                    break
            if found:
                break
        text.remove()
        if found is None:
            omitted.append(k)
            continue
        ring, offset, align = found
        leader = ({"arrowprops": {"arrowstyle": "-", "color": "0.6", "lw": 0.5, "shrinkA": 0,
                                  "shrinkB": 2, **(leader_kwargs or {})}} if ring > 0 else {})
        text = ax.annotate(str(label), (x[k], y[k]), textcoords="offset points", xytext=offset,
                           ha=align[0], va=align[1], **leader, **style)
        taken.append(_text_box(text, renderer))
        placed.append(text)
    return placed, omitted
