"""The process map as a self-contained SVG (no graphviz needed): steps top to bottom in
statutory order, directly-follows edges with their frequency and median wait."""

from __future__ import annotations

from html import escape

NODE_W, NODE_H, GAP, LEFT = 330, 36, 34, 30


def process_map_svg(nodes: list[dict], edges: list[dict]) -> str:
    """``nodes``: [{step, label, count}] in display order; ``edges``: [{source, target,
    count, median_s}]. Forward edges to the next step are straight; others are arcs."""
    pos = {n["step"]: i for i, n in enumerate(nodes)}
    top = max((e["count"] for e in edges), default=1) or 1
    arcs, boxes = [], []
    span = 0
    for e in edges:
        if e["source"] not in pos or e["target"] not in pos:
            continue
        a, b = pos[e["source"]], pos[e["target"]]
        width = 1 + 7 * e["count"] / top
        y1 = 20 + a * (NODE_H + GAP) + NODE_H
        y2 = 20 + b * (NODE_H + GAP)
        hours = (e.get("median_s") or 0) / 3600
        text = f"{e['count']} · {hours:.1f} h"
        cx = LEFT + NODE_W / 2
        if b == a + 1:
            arcs.append(
                f'<line x1="{cx}" y1="{y1}" x2="{cx}" y2="{y2}" stroke="#4a6fa5" '
                f'stroke-width="{width:.1f}" marker-end="url(#arrow)"/>'
                f'<text x="{cx + 8}" y="{(y1 + y2) / 2 + 4}" font-size="11">{text}</text>'
            )
            continue
        span += 1
        back = b <= a
        ys = 20 + a * (NODE_H + GAP) + NODE_H / 2
        ye = 20 + b * (NODE_H + GAP) + NODE_H / 2
        x0 = LEFT + NODE_W
        bend = x0 + 40 + 28 * min(abs(b - a), 8)
        color = "#c0392b" if back else "#7f8c8d"
        arcs.append(
            f'<path d="M {x0} {ys} C {bend} {ys}, {bend} {ye}, {x0} {ye}" fill="none" '
            f'stroke="{color}" stroke-width="{width:.1f}" stroke-opacity="0.7" '
            f'marker-end="url(#arrow)"/>'
            f'<text x="{bend - 20}" y="{(ys + ye) / 2}" font-size="11" fill="{color}">{text}</text>'
        )
    for i, n in enumerate(nodes):
        y = 20 + i * (NODE_H + GAP)
        boxes.append(
            f'<g><rect x="{LEFT}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="6" '
            f'fill="#eef3fa" stroke="#4a6fa5"/><text x="{LEFT + 8}" y="{y + 15}" '
            f'font-size="12" font-weight="bold">{escape(n["label"])}</text>'
            f'<text x="{LEFT + 8}" y="{y + 29}" font-size="11">{escape(n["step"])} · '
            f"{n['count']}</text></g>"
        )
    height = 40 + len(nodes) * (NODE_H + GAP)
    width = LEFT + NODE_W + 80 + 28 * 8 + 80
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="process-map" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif">'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" '
        'markerUnits="userSpaceOnUse" markerWidth="10" markerHeight="10" orient="auto">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker>'
        f"</defs>{''.join(arcs)}{''.join(boxes)}</svg>"
    )
