"""Vietnamese and English labels of the dashboard; ``t(key, lang)`` picks one."""

from __future__ import annotations

from typing import Any

LANGS = ("vi", "en")

TEXT: dict[str, tuple[str, str]] = {
    # key: (vi, en)
    "app.title": ("dvcflow — Khai phá quy trình thủ tục hành chính", "dvcflow — Procedure mining"),
    "nav.overview": ("Tổng quan", "Overview"),
    "nav.explorer": ("Quy trình", "Procedure explorer"),
    "nav.bottlenecks": ("Điểm nghẽn", "Bottlenecks"),
    "nav.reform": ("Cải cách", "Reform"),
    "nav.compare": ("So sánh đơn vị", "Compare units"),
    "nav.case": ("Hồ sơ", "Case"),
    # --- early warning page (dashboard/pages/warning.py) ---
    "nav.warning": ("Cảnh báo sớm", "Early warning"),
    "wn.pick": (
        "Chọn một thủ tục để xem hồ sơ có nguy cơ trễ hạn.",
        "Pick a procedure to see the dossiers at risk of running late.",
    ),
    "wn.list": ("Hồ sơ có nguy cơ trễ hạn", "Dossiers at risk of running late"),
    "wn.units": ("Theo đơn vị", "By unit"),
    "wn.quality": (
        "Chất lượng cảnh báo (kiểm tra theo thời gian)",
        "Warning quality (chronological test)",
    ),
    "wn.open": ("Hồ sơ đang xử lý", "Open dossiers"),
    "wn.flagged": ("Được cảnh báo", "Flagged"),
    "wn.trained": ("Học từ hồ sơ đã xong", "Learnt from finished dossiers"),
    "wn.method": ("Phương pháp", "Method"),
    "wn.method.model": ("Mô hình của thủ tục", "Procedure's model"),
    "wn.method.pooled": ("Mô hình chung", "Pooled model"),
    "wn.method.rule": ("Quy tắc sắp quá hạn", "At-risk rule"),
    "wn.as_of": ("Tại thời điểm", "As of"),
    "wn.model_at": ("Mô hình huấn luyện lúc", "Model trained at"),
    "wn.retraining": ("đang huấn luyện lại", "retraining"),
    "wn.rank": ("#", "#"),
    "wn.case": ("Mã hồ sơ", "Dossier"),
    "wn.prob": ("Xác suất trễ", "Probability late"),
    "wn.rule": ("Theo quy tắc", "Rule"),
    "wn.step": ("Bước", "Step"),
    "wn.unit": ("Đơn vị", "Unit"),
    "wn.waited": ("Đã chờ / thường", "Waited / usual"),
    "wn.due": ("Hạn trả", "Due"),
    "wn.finish": ("Dự kiến xong (khoảng)", "Expected finish (range)"),
    "wn.reasons": ("Lý do", "Reasons"),
    "wn.mean_prob": ("Xác suất trễ TB", "Mean probability late"),
    "wn.share": ("Thời điểm (% thời hạn)", "Point (% of deadline)"),
    "wn.dossiers": ("Hồ sơ", "Dossiers"),
    "wn.late": ("Trễ", "Late"),
    "wn.auc_model": ("AUC mô hình", "AUC model"),
    "wn.auc_rule": ("AUC quy tắc", "AUC rule"),
    "wn.brier_model": ("Brier mô hình", "Brier model"),
    "wn.brier_rule": ("Brier quy tắc", "Brier rule"),
    "wn.precision": ("Độ chính xác (cùng độ nhạy với quy tắc)", "Precision at the rule's recall"),
    "wn.lead": (
        "Cảnh báo trước hạn TB: mô hình {m}, quy tắc {r}; dự kiến xong sai lệch TB {e}.",
        "Mean warning before the due moment: model {m}, rule {r}; "
        "expected finish off by {e} on average.",
    ),
    "wn.st.within": ("Trong hạn", "Within"),
    "wn.st.at_risk": ("Sắp quá hạn", "At risk"),
    "wn.st.overdue": ("Quá hạn", "Overdue"),
    "f.procedure": ("Thủ tục", "Procedure"),
    "f.province": ("Tỉnh/thành", "Province"),
    "f.commune": ("Xã/phường", "Commune"),
    "f.dates": ("Ngày tiếp nhận", "Received between"),
    "f.channel": ("Kênh nộp", "Channel"),
    "f.all": ("Tất cả", "All"),
    "f.token": ("Mã truy cập", "Access token"),
    "ch.online": ("Trực tuyến", "Online"),
    "ch.counter": ("Trực tiếp", "Counter"),
    "ch.postal": ("Bưu chính", "Postal"),
    "ch.internal": ("Nội bộ", "Internal"),
    "ch.system": ("Hệ thống", "System"),
    "na.title": ("Chưa có số liệu", "Not available"),
    "na.body": (
        "Chức năng tính số liệu này chưa được cài đặt.",
        "The function that computes this figure is not installed yet.",
    ),
    "err.title": ("Không hiển thị được", "Cannot show this"),
    "loading": ("Đang tải…", "Loading…"),
    "empty": ("Không có dữ liệu cho bộ lọc này.", "No data for these filters."),
    "card.cases": ("Hồ sơ", "Dossiers"),
    "card.events": ("Sự kiện", "Events"),
    "card.service_index": ("Chỉ số phục vụ", "Service index"),
    "card.on_time": ("Đúng hạn", "On time"),
    "card.full_online": ("Toàn trình", "Full online"),
    "card.cycle": ("Thời gian xử lý TB (ngày)", "Mean cycle time (days)"),
    "ov.trend": ("Hồ sơ đang xử lý theo thời gian", "Dossiers in progress over time"),
    "ov.wip": ("Đang xử lý", "In progress"),
    "ov.ranking": ("Xếp hạng đơn vị", "Ranking of units"),
    "ov.stream": ("Luồng sự kiện trực tiếp", "Live event stream"),
    "ov.stream_off": (
        "Chưa có luồng sự kiện (sink chưa chạy).",
        "No stream yet (no sink running).",
    ),
    "st.status": ("Trạng thái", "State"),
    "st.state.ok": ("Đang chạy", "Running"),
    "st.state.rebalancing": ("Đang chia lại phân vùng", "Rebalancing"),
    "st.state.stopped": ("Đã dừng", "Stopped"),
    "st.in": ("Sự kiện/giây vào", "Events/s in"),
    "st.out": ("Sự kiện/giây ghi", "Events/s written"),
    "st.lag": ("Độ trễ", "Lag"),
    "st.dlq": ("Thư lỗi (DLQ)", "Dead letters"),
    "st.last": ("Ghi lần cuối", "Last write"),
    "ex.map": ("Bản đồ quy trình", "Process map"),
    "ex.overlay": ("Hiển thị", "Overlay"),
    "ex.freq": ("Tần suất", "Frequency"),
    "ex.time": ("Thời gian", "Time"),
    "ex.share": ("Tỷ lệ luồng hiển thị", "Share of paths shown"),
    "ex.activities": ("Số bước hiển thị (phổ biến nhất)", "Activities shown (most frequent)"),
    "ex.all": ("Tất cả", "All"),
    "ex.variants": ("Biến thể quy trình", "Variants"),
    "ex.distinct": ("Số biến thể khác nhau", "Distinct variants"),
    "ex.no_reference": (
        "Thủ tục không có trong danh mục: không có quy trình chuẩn để đối chiếu.",
        "The procedure is not in the catalog: there is no reference model to check against.",
    ),
    "ex.conformance": ("Tuân thủ quy trình chuẩn", "Conformance"),
    "ex.pick": ("Chọn một thủ tục để xem bản đồ quy trình.", "Pick a procedure to see its map."),
    "bn.steps": ("Bước chờ lâu nhất", "Steps ranked by delay"),
    "bn.handoffs": ("Chuyển giao giữa đơn vị", "Handoffs between units"),
    "bn.drill": ("Hồ sơ đằng sau con số", "Dossiers behind the number"),
    "bn.hint": ("Chọn một dòng để xem các hồ sơ.", "Select a row to see its dossiers."),
    "rf.candidates": ("Bước đề xuất cắt giảm", "Step candidates"),
    "rf.whatif": ("Giả lập: bỏ các bước", "What-if: remove steps"),
    "rf.run": ("Tính toán", "Compute"),
    "rf.pick": (
        "Đánh dấu các bước cần bỏ rồi bấm Tính toán.",
        "Tick steps to remove, then Compute.",
    ),
    "wi.cycle_mean": ("Thời gian xử lý TB (ngày làm việc)", "Mean cycle time (working days)"),
    "wi.cycle_median": ("Trung vị thời gian xử lý (ngày LV)", "Median cycle time (working days)"),
    "wi.affected": ("Số hồ sơ bị ảnh hưởng", "Dossiers affected"),
    "rf.readiness": ("Sẵn sàng toàn trình", "Full-online readiness"),
    "rf.impact": ("Tác động của cải cách đã thực hiện", "Impact of a reform already made"),
    "rf.impact_date": ("Ngày cải cách", "Reform date"),
    "rf.impact_change": ("Thay đổi bước thấy trong dữ liệu", "Step changes seen in the data"),
    "rf.impact_change_hint": (
        "Chọn để lấy ngày thay đổi (hoặc chọn ngày bên dưới)",
        "Pick one to use its date (or pick a date below)",
    ),
    "imp.stopped": (
        "{step}: không còn trong hồ sơ tiếp nhận từ {date}",
        "{step}: no longer done in dossiers received from {date}",
    ),
    "imp.started": (
        "{step}: có trong hồ sơ tiếp nhận từ {date}",
        "{step}: done in dossiers received from {date}",
    ),
    "rf.impact_run": ("So sánh trước / sau", "Compare before / after"),
    "rf.impact_pick": (
        "Chọn ngày áp dụng cải cách rồi bấm So sánh: hồ sơ tiếp nhận trước và sau ngày đó.",
        "Pick the date the reform took effect, then Compare: dossiers received before vs after.",
    ),
    "imp.improved": ("Cải thiện có ý nghĩa thống kê", "Significantly better"),
    "imp.worse": ("Xấu đi có ý nghĩa thống kê", "Significantly worse"),
    "imp.no_change": ("Không khác biệt có ý nghĩa", "No significant change"),
    "imp.mixed": ("Trái chiều", "Mixed"),
    "imp.unsupported": ("Không đủ hồ sơ để kết luận", "Too few dossiers to judge"),
    "imp.sides": ("Hồ sơ trước / sau", "Dossiers before / after"),
    "imp.days": ("ngày mỗi phía", "days each side"),
    "loading.compute": (
        "Đang tính số liệu… Lần đầu xem một thủ tục trên kho dữ liệu lớn có thể mất vài giây; "
        "các lần sau lấy từ bộ nhớ đệm.",
        "Computing the figures… The first view of a procedure on a large store can take a few "
        "seconds; later views come from the cache.",
    ),
    "cmp.by": ("So sánh theo", "Compare by"),
    "cmp.province": ("Tỉnh/thành", "Province"),
    "cmp.commune": ("Xã/phường", "Commune"),
    "case.id": ("Mã hồ sơ", "Dossier code"),
    "case.show": ("Xem", "Show"),
    "case.pick": (
        "Nhập mã hồ sơ để xem dòng thời gian.",
        "Enter a dossier code to see its timeline.",
    ),
    "case.timeline": ("Dòng thời gian", "Timeline"),
    "case.not_found": (
        "Không có hồ sơ {id} trong kho dữ liệu.",
        "Dossier {id} is not in the store.",
    ),
    "case.received": ("Tiếp nhận", "Received"),
    "case.processed": ("Kết thúc xử lý", "Processing ended"),
    "case.open_now": ("Đang xử lý", "In progress"),
    "case.now": ("Dữ liệu đến", "Data up to"),
    "ex.variants_limit": (
        "Thời gian giải quyết: từ tiếp nhận đến bước cuối, hồ sơ đã xong, so với thời hạn "
        "luật định {limit} (giờ ở cột chi tiết).",
        "Time from receipt to the last step of finished dossiers, against the legal limit "
        "of {limit} (hours as a detail).",
    ),
    "ex.variants_no_limit": (
        "Thời gian giải quyết: từ tiếp nhận đến bước cuối, hồ sơ đã xong, tính bằng ngày làm "
        "việc (giờ ở cột chi tiết).",
        "Time from receipt to the last step of finished dossiers, in working days (hours as "
        "a detail).",
    ),
    "case.paused": ("Chờ bổ sung (không tính)", "Waiting for supplements (not counted)"),
    "case.status": ("Tình trạng", "Status"),
    "case.used": ("Đã dùng", "Used"),
    "case.used_of": ("{share} thời hạn {limit}", "{share} of the {limit} limit"),
    "case.no_limit": ("Thủ tục không có thời hạn trong danh mục", "No legal limit in the catalog"),
    "case.no_due": ("Không có hạn", "No due date"),
    "case.due_rule": (
        "Cuối ngày làm việc thứ {n} sau ngày tiếp nhận",
        "End of the working day {n} after receipt",
    ),
    "case.due_source": ("Theo hạn do hệ thống nguồn ghi", "As the source system set it"),
    "case.supplement_out": (
        "không tính {days} chờ công dân bổ sung",
        "{days} waiting for the citizen's supplements not counted",
    ),
}


COLUMNS: dict[str, tuple[str, str]] = {
    "rank": ("Hạng", "Rank"),
    "step": ("Bước", "Step"),
    "activity": ("Bước", "Step"),
    "activities": ("Các bước", "Steps"),
    "recommendation": ("Đề xuất", "Recommendation"),
    "dossier_share": ("Tỷ lệ hồ sơ", "Share of dossiers"),
    "wait_hours": ("Chờ TB (giờ)", "Mean wait (h)"),
    "failure_rate": ("Tỷ lệ không đạt", "Failure rate"),
    "saving_working_days": ("Tiết kiệm (ngày LV)", "Saving (working days)"),
    "saving_visits": ("Bớt lượt đến", "Visits saved"),
    "score": ("Điểm", "Score"),
    "reasons": ("Lý do", "Reasons"),
    "reason": ("Lý do", "Reason"),
    "dossiers": ("Hồ sơ", "Dossiers"),
    "finished": ("Đã xong", "Finished"),
    "index_100": ("Chỉ số (100)", "Index (100)"),
    "on_time": ("Đúng hạn", "On time"),
    "online_submission": ("Nộp trực tuyến", "Submitted online"),
    "full_online": ("Toàn trình", "Full online"),
    "share_of_blocked": ("Tỷ lệ trong hồ sơ bị chặn", "Share of blocked"),
    "province": ("Tỉnh/thành", "Province"),
    "province_code": ("Tỉnh/thành", "Province"),
    "commune": ("Xã/phường", "Commune"),
    "commune_code": ("Xã/phường", "Commune"),
    "count": ("Số lần", "Count"),
    "share": ("Tỷ lệ", "Share"),
    "median_h": ("Trung vị (giờ)", "Median (h)"),
    "mean_h": ("TB (giờ)", "Mean (h)"),
    "p90_h": ("P90 (giờ)", "P90 (h)"),
    "total_h": ("Tổng (giờ)", "Total (h)"),
    "median_duration_h": ("Trung vị thời gian (giờ)", "Median duration (h)"),
    "on_time_rate": ("Tỷ lệ đúng hạn", "On-time rate"),
    "from_unit": ("Từ đơn vị", "From unit"),
    "to_unit": ("Đến đơn vị", "To unit"),
    "from_activity": ("Từ bước", "From step"),
    "to_activity": ("Đến bước", "To step"),
    "case_id": ("Mã hồ sơ", "Dossier"),
    "channel": ("Kênh", "Channel"),
    "first_ts": ("Tiếp nhận", "Received"),
    "last_ts": ("Sự kiện cuối", "Last event"),
    "duration_h": ("Thời gian (giờ)", "Duration (h)"),
    "outcome": ("Kết quả", "Outcome"),
    "timestamp": ("Thời điểm", "Time"),
    "lifecycle": ("Bắt đầu/xong", "Start/complete"),
    "org_unit": ("Đơn vị", "Org unit"),
    "resource": ("Mã cán bộ xử lý", "Handler code"),
    "measure": ("Chỉ tiêu", "Measure"),
    "baseline": ("Hiện tại", "Baseline"),
    "projected": ("Dự kiến", "Projected"),
    "before": ("Trước", "Before"),
    "after": ("Sau", "After"),
    "difference": ("Chênh lệch", "Difference"),
    "ci95": ("Khoảng tin cậy 95%", "95% interval"),
    "p_holm": ("p (Holm)", "p (Holm)"),
    "verdict": ("Kết luận", "Verdict"),
}


# --- reform page (issue 18): its own block, to merge easily -------------------------------
REFORM_TEXT: dict[str, tuple[str, str]] = {
    "rf.candidates": ("Đề xuất cải cách: bước, thời gian chờ, chuyển giao", "Reform candidates"),
    "rf.pick": (
        "Đánh dấu các dòng đề xuất ở bảng dưới rồi bấm Tính toán để xem kịch bản.",
        "Tick candidate rows below, then Compute to see the scenario.",
    ),
    "rf.savings_note": (
        "«Mỗi hồ sơ»: số ngày làm việc tiết kiệm trên một hồ sơ bị ảnh hưởng. «Tổng»: số ngày "
        "× số hồ sơ bị ảnh hưởng — dùng để xếp hạng. Bước do pháp luật quy định không bao giờ "
        "được đề xuất bãi bỏ hay gộp.",
        "'Per dossier': working days saved per affected dossier. 'Total': days × affected "
        "dossiers — the ranking. A step the law requires is never advised for removal or merge.",
    ),
    "rf.chart_title": (
        "Tổng số ngày làm việc tiết kiệm được của các đề xuất hàng đầu",
        "Total working days saved by the top candidates",
    ),
    "rf.total_days": ("Tổng ngày làm việc (ngày × hồ sơ)", "Total working days (days × dossiers)"),
    "rf.tick": ("Giả lập", "What-if"),
    "rf.rank": ("Hạng", "Rank"),
    "rf.what": ("Bước / chuyển giao — đơn vị", "Step / handoff — unit"),
    "rf.recommendation": ("Đề xuất", "Recommendation"),
    "rf.law": ("Căn cứ pháp lý", "Legal basis"),
    "rf.required": ("Bắt buộc theo", "Required by"),
    "rf.required_inferred": (
        "Coi là bắt buộc (suy ra từ dữ liệu)",
        "Treated as required (inferred from the log)",
    ),
    "rf.unverified": ("trích dẫn chưa kiểm chứng", "citation not verified"),
    "rf.per_dossier": ("Tiết kiệm mỗi hồ sơ", "Saved per dossier"),
    "rf.dossiers": ("Hồ sơ bị ảnh hưởng", "Dossiers affected"),
    "rf.total": ("Tổng tiết kiệm", "Total saved"),
    "rf.evidence": ("Căn cứ", "Evidence"),
    "rf.visits": ("Bớt lượt đến trực tiếp", "Visits saved"),
    "wi.visits": ("Lượt đến trực tiếp / hồ sơ", "Visits per dossier"),
    "wi.points": ("điểm %", "pp"),
    "wi.before": ("Hiện tại", "Now"),
    "wi.after": ("Sau cải cách", "After"),
    "wi.waterfall": (
        "Thời gian xử lý trung bình: hiện tại → từng thay đổi → sau cải cách",
        "Mean cycle time: now → each change → after",
    ),
    "wi.per_unit": ("Theo đơn vị", "Per unit"),
}
TEXT.update(REFORM_TEXT)
COLUMNS.update(
    {
        "unit": ("Đơn vị", "Unit"),
        "on_time_before": ("Đúng hạn hiện tại", "On time now"),
        "on_time_after": ("Đúng hạn dự kiến", "On time projected"),
    }
)


# --- officials' dashboard (issue 17): values, units of time, step × unit, map, cards --------
TEXT.update(
    {
        "out.approved": ("Đã trả kết quả", "Approved"),
        "out.rejected": ("Từ chối", "Rejected"),
        "out.returned": ("Trả lại", "Returned"),
        "out.withdrawn": ("Rút hồ sơ", "Withdrawn"),
        "lc.start": ("Bắt đầu", "Start"),
        "lc.complete": ("Hoàn thành", "Complete"),
        "st.early": ("Trước hạn", "Early"),
        "st.on_time": ("Đúng hạn", "On time"),
        "st.late": ("Quá hạn", "Late"),
        "st.within": ("Trong hạn", "Within limit"),
        "st.at_risk": ("Sắp quá hạn", "At risk"),
        "st.overdue": ("Đang quá hạn", "Overdue"),
        "f.search": ("Gõ tên để tìm (không cần dấu)", "Type a name to search"),
        "f.from": ("Từ ngày", "From"),
        "f.to": ("Đến ngày", "To"),
        "dates.empty": (
            "Không có hồ sơ nào khớp bộ lọc (ví dụ khoảng ngày đã chọn). Hãy chọn khoảng khác.",
            "No dossier matches these filters (e.g. the chosen dates). Pick another range.",
        ),
        "card.cycle_wd": ("Thời gian xử lý (trung vị)", "Cycle time (median)"),
        "card.limit": ("Thời hạn luật định: {limit}", "Legal limit: {limit}"),
        "card.same_day": ("trong ngày", "same day"),
        "card.too_few": (
            "Chưa đủ hồ sơ đã xong ({n} < {min})",
            "Not enough finished dossiers ({n} < {min})",
        ),
        "card.change": ("{sign}{delta} so với kỳ trước", "{sign}{delta} on the previous period"),
        "card.target": ("Mục tiêu {target}", "Target {target}"),
        "card.finished": ("{n} hồ sơ đã xong", "{n} finished"),
        "ov.map": ("Bản đồ tỉnh/thành", "Map of provinces"),
        "ov.map_communes": ("Xã/phường của {province}", "Communes of {province}"),
        "ov.map_kpi": ("Tô màu bản đồ theo", "Colour the map by"),
        "ov.map_note": (
            "Mỗi ô là một tỉnh/thành ở vị trí gần đúng (không phải ranh giới hành chính). "
            "Bấm một ô hoặc một dòng xếp hạng để lọc.",
            "Each square is a province in its rough position (not its boundary). "
            "Click a square or a ranking row to filter.",
        ),
        "ov.no_data": ("Không có hồ sơ", "No dossiers"),
        "bn.limit": (
            "Thời hạn luật định của thủ tục: {limit}. Thời gian chờ tính bằng ngày làm việc "
            "(giờ ở cột chi tiết).",
            "Legal time limit of the procedure: {limit}. Waits in working days (hours as a "
            "detail).",
        ),
        "bn.by_unit": ("Theo đơn vị ›", "By unit ›"),
        "bn.drill_count": (
            "{shown} trong {total} hồ sơ, chờ lâu nhất trước",
            "{shown} of {total} dossiers, longest wait first",
        ),
        "su.title": ("Thời gian chờ theo đơn vị", "Wait by unit"),
        "su.step": ("Bước", "Step"),
        "su.after": ("Sau bước", "After step"),
        "su.any": ("(bất kỳ bước nào)", "(any step)"),
        "su.province_median": ("Trung vị tỉnh", "Province median"),
        "su.national_median": ("Trung vị cả nước", "National median"),
        "su.axis": ("Thời gian chờ trung vị (ngày làm việc)", "Median wait (working days)"),
        "su.pick": (
            "Chọn một thủ tục và một bước (trong trang Điểm nghẽn, bấm “Theo đơn vị”).",
            "Pick a procedure and a step (on Bottlenecks, click “By unit”).",
        ),
        "nav.units": ("Chờ theo đơn vị", "Wait by unit"),
        "ex.legend": (
            "Màu: thời gian chờ trung vị (ngày làm việc)",
            "Colour: median wait (working days)",
        ),
        "ex.start": ("Bắt đầu", "Start"),
        "ex.legend_service": (
            "Màu ô: thời gian xử lý trung vị",
            "Node colour: median service time",
        ),
        "ex.end": ("Kết thúc", "End"),
        "ex.fitness": ("Mức khớp", "Fitness"),
        "ex.fitting_share": ("Hồ sơ khớp hoàn toàn", "Dossiers fitting fully"),
        "ex.replayed_share": ("Hồ sơ đối chiếu được", "Dossiers replayed"),
        "case.due": ("Hạn giải quyết", "Due"),
        "case.open": ("Mở hồ sơ", "Open dossier"),
        "case.time": ("Thời điểm (giờ địa phương)", "Time (local)"),
        "cmp.on_time": ("Đúng hạn", "On time"),
        "cmp.online": ("Nộp trực tuyến", "Submitted online"),
        "cmp.full_online": ("Toàn trình", "Full online"),
        "cmp.share": ("Tỷ lệ", "Share"),
        "ov.period": ("Kỳ", "Period"),
        "map.on_time": ("Đúng hạn", "On time"),
        "map.full_online": ("Toàn trình", "Full online"),
        "map.index_100": ("Chỉ số phục vụ", "Service index"),
    }
)
COLUMNS.update(
    {
        "median_wd": ("Chờ trung vị (ngày LV)", "Median wait (working days)"),
        "p90_wd": ("Chờ P90 (ngày LV)", "P90 wait (working days)"),
        "limit_share": ("% thời hạn", "% of legal limit"),
        "units": ("Theo đơn vị", "By unit"),
        "unit": ("Đơn vị", "Unit"),
        "waits": ("Số lượt chờ", "Waits"),
        "median_working_days": ("Chờ trung vị (ngày LV)", "Median wait (working days)"),
        "p90_working_days": ("Chờ P90 (ngày LV)", "P90 wait (working days)"),
        "median_hours": ("Chờ trung vị (giờ)", "Median wait (h)"),
        "wait_wd": ("Chờ ở bước (ngày LV)", "Wait at the step (working days)"),
        "duration_wd": ("Thời gian (ngày LV)", "Duration (working days)"),
        "mandatory": ("Bắt buộc", "Mandatory"),
        "skipped": ("Bị bỏ qua", "Skipped"),
        "skipped_share": ("Tỷ lệ bỏ qua", "Share skipped"),
        "out_of_order": ("Sai thứ tự", "Out of order"),
        "out_of_order_share": ("Tỷ lệ sai thứ tự", "Share out of order"),
        "distinct": ("Số biến thể", "Distinct"),
        "due_at": ("Hạn giải quyết", "Due"),
        "points": ("Điểm", "Points"),
        "cycle_wd": ("Thời gian giải quyết trung vị (ngày LV)", "Median time (working days)"),
        "position": ("STT", "No."),
    }
)


def column(name: str, lang: str | None) -> str:
    """A table column's header in ``lang`` (the field name when there is no label)."""
    pair = COLUMNS.get(name)
    if pair is None:
        return name.replace("_", " ")
    return pair[1] if lang == "en" else pair[0]


def t(key: str, lang: str | None) -> str:
    """The label of ``key`` in ``lang`` (Vietnamese by default; the key itself if unknown)."""
    pair = TEXT.get(key)
    if pair is None:
        return key
    return pair[1] if lang == "en" else pair[0]


def pick(value: Any, lang: str | None) -> str:
    """A bilingual value from mining ({"vi": …, "en": …}) in ``lang``; other values as text."""
    if isinstance(value, dict) and ("vi" in value or "en" in value):
        return str(value.get(lang or "vi") or value.get("vi") or value.get("en"))
    return "" if value is None else str(value)
