"""The explorer's activity and path sliders: a readable, connected map of a wide log."""

from __future__ import annotations

from mining.discovery import readable_map


def test_top_activities_and_paths_keep_every_shown_activity_connected():
    # 300 activities in a chain with a frequent hub: a map of hundreds of boxes unless cut
    acts = {f"a{i:03d}": 1000 - i for i in range(300)} | {"hub": 5000}
    edges = [(f"a{i:03d}", f"a{i + 1:03d}", 10) for i in range(299)]
    edges += [("hub", f"a{i:03d}", 100 - i % 100) for i in range(300)]
    kept, picked = readable_map(acts, edges, max_activities=20, path_share=0.5)
    assert len(kept) == 20 and "hub" in kept
    shown = [edges[i] for i in picked]
    assert all(s in kept and t in kept for s, t, _ in shown)
    touched = {s for s, _, _ in shown} | {t for _, t, _ in shown}
    assert touched == kept  # no box left without a path
    every, all_edges = readable_map(acts, edges, None, 1.0)
    assert len(every) == 301 and len(all_edges) == len(edges)
