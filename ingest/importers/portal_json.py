"""The national public-service portal's dossier synchronisation JSON, as events.

A file holds dossiers: a JSON array, an object with a ``HoSo`` / ``data`` array, or one
dossier per line (JSON Lines). Each dossier (``MaHoSo``, ``MaTTHC``, ``NgayTiepNhan``,
``NgayHenTra``, ``NgayKetThucXuLy``, ``NgayTra``, ``TrangThaiHoSo``, ``KenhThucHien``,
``DonViXuLy``, ...) carries its progress updates in ``QuaTrinhXuLy`` (``ThoiDiemXuLy``,
``NguoiXuLy``, ``ChucDanh``, ``PhongBanXuLy``, ``NoiDungXuLy``, ``TrangThai``,
``NgayBatDau``, ``NgayKetThucTheoQuyDinh``). Dates are ``yyyyMMddHHmmss`` in local time.

The mapping (README "Importing logs" documents it for users):
- each progress update -> one ``complete`` event whose activity is its status
  (``STATUS_ACTIVITY``); with ``NgayBatDau`` before it, also a ``start`` event;
- ``NgayTiepNhan`` -> ``receive`` (channel = ``KenhThucHien``), ``NgayKetThucXuLy`` ->
  ``finish_processing``, ``NgayTra`` -> ``return_result``, unless an update with that status
  already says so;
- ``NgayHenTra`` -> ``attributes.due_date`` on the first event; the final ``TrangThaiHoSo``
  gives the last event's ``outcome`` (``STATUS_OUTCOME``);
- ``HinhThucTra`` (1 counter, 2 online, 3 postal) -> channel of ``return_result``;
  ``DanhSachLePhi[].MucPhi`` -> ``attributes.fee`` (total);
- ``MaDoiTuong`` (citizen/business id) -> ``applicant_id``, pseudonymised at ingest; names,
  phone numbers, e-mail and addresses of the applicant are never read, and a citizen's own
  updates (statuses 1 and 7) carry no ``resource``.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from dvcflow.errors import InputFileError
from ingest.importers.source import SourceFrame, open_bytes
from ingest.schema import WIRE_FIELDS

STATUS_ACTIVITY = {
    1: "register",  # Mới đăng ký: submitted, not yet received
    2: "receive",  # Đã tiếp nhận
    3: "refuse_intake",  # Không được tiếp nhận
    4: "process",  # Đang xử lý
    5: "request_supplement",  # Yêu cầu bổ sung hồ sơ
    6: "request_payment",  # Yêu cầu thực hiện nghĩa vụ tài chính
    7: "withdraw",  # Công dân yêu cầu rút hồ sơ
    8: "stop_processing",  # Dừng xử lý
    9: "finish_processing",  # Đã xử lý xong
    10: "return_result",  # Đã trả kết quả
}
STATUS_OUTCOME = {3: "rejected", 7: "withdrawn", 8: "rejected", 9: "approved", 10: "approved"}
STATUS_ACTOR = {1: "citizen", 7: "citizen"}
CHANNELS = {1: "counter", 2: "online", 3: "postal"}

_DATE = re.compile(r"^\d{14}$")


def _date(value: Any) -> str | None:
    """``yyyyMMddHHmmss`` -> naive ISO text (read in local time later); else as given."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    if _DATE.match(text):
        return f"{text[0:4]}-{text[4:6]}-{text[6:8]}T{text[8:10]}:{text[10:12]}:{text[12:14]}"
    return text  # not the portal's format: the mapper reports it, naming the dossier


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _fee(items: Any) -> float | None:
    """Total of ``DanhSachLePhi[].MucPhi``, when the dossier lists fees."""
    if not isinstance(items, list):
        return None
    amounts = [_int(i.get("MucPhi")) for i in items if isinstance(i, dict)]
    return float(sum(a for a in amounts if a is not None)) if amounts else None


def _dossiers(path: Path) -> list[Any]:
    data = open_bytes(path).removeprefix(b"\xef\xbb\xbf")
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        doc = None
    if doc is None:  # JSON Lines?
        out = []
        for line_no, line in enumerate(data.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                out.append(orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                raise InputFileError(f"{path}: line {line_no} is not valid JSON ({exc}).") from None
        return out
    if isinstance(doc, dict):
        for key in ("HoSo", "hoSo", "data", "DanhSachHoSo"):
            if isinstance(doc.get(key), list):
                return doc[key]
        if "MaHoSo" in doc:
            return [doc]
        raise InputFileError(f"{path}: a JSON object with no HoSo list and no MaHoSo field.")
    if isinstance(doc, list):
        return doc
    raise InputFileError(f"{path}: expected dossiers (a JSON array or object), got {doc!r:.40}.")


def _event_id(case: str, index: int, activity: str, when: str | None, life: str) -> str:
    key = f"portal\x1f{case}\x1f{index}\x1f{activity}\x1f{when}\x1f{life}".encode()
    return "dvc-" + hashlib.sha256(key).hexdigest()[:32]


def _dossier_events(d: dict, number: int) -> tuple[list[dict], list[str]]:
    case = d.get("MaHoSo")
    case = str(case).strip() if case not in (None, "") else None
    where = f"dossier {number}" + (f" (MaHoSo {case})" if case else "")
    channel = CHANNELS.get(_int(d.get("KenhThucHien")))
    result_channel = CHANNELS.get(_int(d.get("HinhThucTra")))
    common = {
        "case_id": case,
        "procedure_code": d.get("MaTTHC"),
        "org_unit": d.get("DonViXuLy"),
        "province_code": d.get("MaTinh"),
        "commune_code": d.get("MaXa"),
        "applicant_id": d.get("MaDoiTuong"),
    }
    events: list[dict] = []
    labels: list[str] = []
    updates = d.get("QuaTrinhXuLy") or d.get("TienDoXuLy") or []
    seen_status = set()
    for k, u in enumerate(updates if isinstance(updates, list) else [], start=1):
        if not isinstance(u, dict):
            continue
        status = _int(u.get("TrangThai"))
        seen_status.add(status)
        activity = STATUS_ACTIVITY.get(status, f"status_{u.get('TrangThai')}")
        attrs = {
            "status_code": status,
            "department": u.get("PhongBanXuLy"),
            "title": u.get("ChucDanh"),
            "content": u.get("NoiDungXuLy"),
            "step_due": _date(u.get("NgayKetThucTheoQuyDinh")),
        }
        base = {
            **common,
            "activity": activity,
            # a citizen's own action names no officer; never copy their id as a resource
            "resource": None if status in STATUS_ACTOR else u.get("NguoiXuLy"),
            "actor_role": STATUS_ACTOR.get(status, "officer"),
            "channel": channel if status in (1, 2) else result_channel if status == 10 else None,
        }
        started, done = _date(u.get("NgayBatDau")), _date(u.get("ThoiDiemXuLy"))
        if started and done and started < done:
            events.append(
                {
                    **base,
                    "timestamp": started,
                    "lifecycle": "start",
                    "attributes": {"status_code": status},
                }
            )
            labels.append(f"{where} QuaTrinhXuLy[{k}].NgayBatDau")
        events.append({**base, "timestamp": done, "lifecycle": "complete", "attributes": attrs})
        labels.append(f"{where} QuaTrinhXuLy[{k}].ThoiDiemXuLy")
    for key, status in (("NgayTiepNhan", 2), ("NgayKetThucXuLy", 9), ("NgayTra", 10)):
        when = _date(d.get(key))
        if when is None or status in seen_status:
            continue
        events.append(
            {
                **common,
                "activity": STATUS_ACTIVITY[status],
                "timestamp": when,
                "actor_role": "officer",
                "channel": channel if status == 2 else result_channel if status == 10 else None,
                "attributes": {"status_code": status},
            }
        )
        labels.append(f"{where} {key}")
    if not events:
        return events, labels
    order = sorted(range(len(events)), key=lambda i: (events[i]["timestamp"] or "", i))
    events = [events[i] for i in order]
    labels = [labels[i] for i in order]
    first, last = events[0], events[-1]
    first["attributes"] = {
        **first["attributes"],
        "due_date": _date(d.get("NgayHenTra")),
        "procedure_name": d.get("TenTTHC"),
        "final_status": _int(d.get("TrangThaiHoSo")),
        "fee": _fee(d.get("DanhSachLePhi")),
    }
    outcome = STATUS_OUTCOME.get(_int(d.get("TrangThaiHoSo")))
    if outcome and last["activity"] in (
        "refuse_intake",
        "withdraw",
        "stop_processing",
        "finish_processing",
        "return_result",
    ):
        last["outcome"] = outcome
    for i, e in enumerate(events):
        e["event_id"] = _event_id(
            case or "", i, e["activity"], e["timestamp"], e.get("lifecycle", "")
        )
        e["attributes"] = {k: v for k, v in e["attributes"].items() if v not in (None, "")}
    return events, labels


def read_portal_json(path: Path) -> SourceFrame:
    rows: list[dict] = []
    labels: list[str] = []
    for number, dossier in enumerate(_dossiers(path), start=1):
        if not isinstance(dossier, dict):
            raise InputFileError(f"{path}: dossier {number} is not a JSON object.")
        events, where = _dossier_events(dossier, number)
        rows.extend(events)
        labels.extend(where)
    frame = pd.DataFrame(rows, columns=list(WIRE_FIELDS)).astype(object)
    frame = frame.where(frame.notna(), None)
    return SourceFrame(frame=frame, label=lambda i: labels[i], notes=[])
