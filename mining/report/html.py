"""The reform brief as one self-contained HTML file (inline SVG map, no scripts)."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, select_autoescape

from mining.reform.text import num, pct

_TEMPLATE = """<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8">
<title>Báo cáo cải cách / Reform brief — {{ b.procedure }}</title>
<style>
body{font-family:sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:4px 8px;
font-size:13px;vertical-align:top}th{background:#eef3fa}.en{color:#666;font-size:12px}
.num{text-align:right}
</style></head><body>
<h1>{{ b.name.vi }} <span class="en">/ {{ b.name.en }}</span> ({{ b.procedure }})</h1>
<p>{{ b.dossiers }} hồ sơ / dossiers · {{ b.filter }} · {{ b.generated_at }}</p>

<h2>Sơ đồ quy trình <span class="en">/ Process map</span></h2>
{{ b.process_map_svg | safe }}

<h2>Điểm nghẽn <span class="en">/ Bottlenecks</span></h2>
<table id="bottlenecks"><tr><th>Bước / step</th><th>Lần / count</th>
<th>Chờ trung vị (giờ) / median wait (h)</th><th>Tổng chờ (giờ) / total wait (h)</th></tr>
{% for w in b.bottlenecks %}<tr><td>{{ w.activity }}</td><td class="num">{{ w.count }}</td>
<td class="num">{{ hours(w.median_s) }}</td><td class="num">{{ hours(w.total_s) }}</td></tr>
{% endfor %}</table>

<h2>Mức sẵn sàng toàn trình <span class="en">/ Full-online readiness</span></h2>
<p>{{ pct(b.readiness.full_online_share, 'vi') }} hồ sơ toàn trình
<span class="en">/ {{ pct(b.readiness.full_online_share) }} of {{ b.readiness.judged }}
dossiers with a returned result were full-online</span></p>
<table id="blockers"><tr><th>Bước cản trở / blocking step</th><th>Lý do / reason</th>
<th>Hồ sơ / dossiers</th></tr>
{% for x in b.readiness.blockers %}<tr><td>{{ x.label.vi }}<div class="en">{{ x.label.en }}</div>
</td><td>{{ x.reason_label.vi }}<div class="en">{{ x.reason_label.en }}</div></td>
<td class="num">{{ x.dossiers }}</td></tr>{% endfor %}</table>

<h2>Đề xuất cắt giảm <span class="en">/ Reform candidates</span></h2>
<table id="candidates"><tr><th>#</th><th>Bước, chờ, chuyển giao / step, wait, handoff</th>
<th>Đơn vị / unit</th><th>Đề xuất / recommendation</th>
<th>Ngày LV tiết kiệm / hồ sơ bị ảnh hưởng<br><span class="en">working days saved per
affected dossier</span></th><th>Hồ sơ / dossiers</th>
<th>Tổng ngày LV (ngày × hồ sơ)<br><span class="en">total working days (days × dossiers)
</span></th><th>Căn cứ / evidence</th></tr>
{% for c in b.candidates %}<tr class="candidate" data-step="{{ c.step }}"><td>{{ c.rank }}</td>
<td>{{ c.label.vi }}<div class="en">{{ c.label.en }} ({{ c.step }})</div></td>
<td>{{ c.unit_name.vi if c.unit_name else 'Tất cả / all' }}</td>
<td>{{ c.recommendation_label.vi }}<div class="en">{{ c.recommendation_label.en }}</div></td>
<td class="num">{{ num(c.saving.working_days_per_affected_dossier, 1) }}</td>
<td class="num">{{ c.saving.affected_dossiers }}</td>
<td class="num">{{ num(c.saving.working_days_total, 1) }}</td>
<td><ul>{% for r in c.reasons %}<li>{{ r.vi }}<div class="en">{{ r.en }}</div></li>{% endfor %}
</ul></td></tr>{% endfor %}</table>
<p class="en">{{ b.method.vi }} / {{ b.method.en }}</p>

<h2>Mô phỏng nếu… <span class="en">/ What-if</span></h2>
<table id="whatif"><tr><th>Thay đổi / change</th><th>Hồ sơ ảnh hưởng / affected</th>
<th>Ngày LV tiết kiệm / hồ sơ<br><span class="en">working days saved per affected dossier
</span></th><th>Trung vị ngày làm việc / median working days</th>
<th>Đúng hạn / on-time</th><th>Toàn trình / full-online</th></tr>
{% for w in b.whatif %}<tr><td>{{ w.action }}: {{ w.label.vi }}<div class="en">{{ w.step }}</div>
</td><td class="num">{{ w.affected_dossiers }}</td>
<td class="num">{{ num(w.saving_working_days_per_affected_dossier, 1) }}</td>
<td class="num">{{ num(w.baseline.cycle_working_days.median, 2) }} →
{{ num(w.scenario.cycle_working_days.median, 2) }}</td>
<td class="num">{{ pct(w.baseline.on_time_rate) }} → {{ pct(w.scenario.on_time_rate) }}</td>
<td class="num">{{ pct(w.baseline.full_online_share) }} →
{{ pct(w.scenario.full_online_share) }}</td></tr>{% endfor %}</table>
<ul>{% for a in b.whatif_assumptions %}<li>{{ a.vi }}<div class="en">{{ a.en }}</div></li>
{% endfor %}</ul>

<h2>Chỉ số phục vụ <span class="en">/ Service index</span></h2>
<table id="kpi"><tr><th>Đơn vị / unit</th><th>Hồ sơ / dossiers</th><th>Điểm /100 / index</th>
{% for c in b.kpi.overall.components %}<th>{{ c.label.vi }}<div class="en">{{ c.label.en }}
</div></th>{% endfor %}</tr>
{% for r in [dict(b.kpi.overall, unit='∑')] + b.kpi.rows %}<tr><td>{{ r['org-unit'] or r.unit }}
</td><td class="num">{{ r.dossiers }}</td><td class="num">{{ num(r.index_100, 1) }}</td>
{% for c in r.components %}<td class="num">{{ pct(c.share) }}</td>{% endfor %}</tr>
{% endfor %}</table>
<ul>{% for c in b.kpi.overall.components if not c.supported %}<li>{{ c.label.vi }}:
{{ c.note.vi }}<div class="en">{{ c.label.en }}: {{ c.note.en }}</div></li>{% endfor %}</ul>
<p class="en">{{ b.kpi.note.vi }} / {{ b.kpi.note.en }}</p>
</body></html>
"""


def _hours(seconds: float | None) -> str:
    return "–" if seconds is None else num(seconds / 3600, 1)


def render_html(brief: dict) -> str:
    env = Environment(autoescape=select_autoescape(default=True))
    env.globals.update(num=num, pct=pct, hours=_hours, dict=dict)
    return env.from_string(_TEMPLATE).render(b=brief)


def write_html(brief: dict, path: Path) -> Path:
    path = Path(path)
    path.write_text(render_html(brief), encoding="utf-8")
    return path
