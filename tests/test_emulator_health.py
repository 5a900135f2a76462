"""The emulator's tariff health endpoints over HTTP: ``/locations/{id}/status``, ``/events``
with its cursors and control endpoint, and Connect for an existing location's part."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tests.test_emulator_api import Api, _loopback, api  # noqa: F401  # fixtures

STATUS_PARTS = {
    "commodity_import",
    "commodity_export",
    "non_commodity_import",
    "non_commodity_export",
    "local",
}


async def raise_event(api: Api, kind: str, part: str = "commodity_import") -> dict[str, Any]:  # noqa: F811
    response = await api.client.post(
        "/_emulator/events", json={"type": kind, "location_id": api.location_id, "part": part}
    )
    assert response.status == 201, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def test_status_names_each_part(api: Api) -> None:  # noqa: F811
    body = await api.call("GET", f"/locations/{api.location_id}/status")
    assert body["object"] == "location_status"
    parts = body["tariff_status"]
    assert set(parts) == STATUS_PARTS
    imported = parts["commodity_import"]
    assert imported["status"] == "CONNECTED"
    assert imported["provider"]["display_name"] == "Demo Energy"
    assert imported["tariff"]["display_name"] == "Demo time of use"
    assert imported["tariff"]["structure_type"] == "TIME_OF_DAY"
    assert imported["tariff"]["contract_end_date"].endswith("Z")
    assert parts["non_commodity_import"] == {"status": "NOT_CONNECTED"}
    assert parts["local"] == {"status": "NOT_SUPPORTED"}
    await api.call("GET", "/locations/loc_nope/status", expect=404)


async def test_each_event_changes_the_status_as_documented(api: Api) -> None:  # noqa: F811
    path = f"/locations/{api.location_id}/status"
    await raise_event(api, "tariff.expiring")
    end = (await api.call("GET", path))["tariff_status"]["commodity_import"]["tariff"]
    assert end["contract_end_date"].startswith("2025-08-09")  # 8 days after the clock
    await raise_event(api, "tariff.fetch.failed")
    assert (await api.call("GET", path))["tariff_status"]["commodity_import"]["status"] == "ERROR"
    await raise_event(api, "tariff.connection.upgrade", "commodity_export")
    exported = (await api.call("GET", path))["tariff_status"]["commodity_export"]
    assert exported["connection_type"] == "MANUAL"
    response = await api.client.post(
        "/_emulator/events",
        json={
            "type": "tariff.expired",
            "location_id": api.location_id,
            "part": "non_commodity_import",
        },
    )
    assert response.status == 400  # no grid fees tariff to expire


async def test_events_list_newest_first_with_both_cursors(api: Api) -> None:  # noqa: F811
    raised = []
    for kind in ("tariff.expiring", "location.update", "tariff.expired"):
        raised.append(await raise_event(api, kind))
        api.clock.advance(60)
    listed = await api.call("GET", "/events")
    assert [e["id"] for e in listed["data"]] == [e["id"] for e in reversed(raised)]
    assert listed["data"][0]["data"]["tariff_id"].startswith("trf_")
    assert listed["data"][1]["data"]["id"] == api.location_id  # the location object
    newer = await api.call(
        "GET", "/events", params={"ending_before": raised[0]["id"], "limit": "1"}
    )
    assert [e["id"] for e in newer["data"]] == [raised[1]["id"]]  # the page next to the cursor
    assert newer["has_more"] is True
    older = await api.call("GET", "/events", params={"starting_after": raised[2]["id"]})
    assert [e["id"] for e in older["data"]] == [raised[1]["id"], raised[0]["id"]]
    only = await api.call("GET", "/events", params={"event_type": "location.update"})
    assert [e["id"] for e in only["data"]] == [raised[1]["id"]]
    mine = await api.call("GET", "/events", params={"object_id": api.location_id})
    assert len(mine["data"]) == 3
    assert (await api.call("GET", "/events", params={"object_id": "loc_other"}))["data"] == []
    one = await api.call("GET", f"/events/{raised[0]['id']}")
    assert one["type"] == "tariff.expiring"
    api.clock.advance(91 * 86400)
    await api.login()  # the token did not last that long
    assert (await api.call("GET", "/events"))["data"] == []  # 90 days of history
    await api.call("GET", "/events", params={"ending_before": raised[0]["id"]}, expect=400)


async def connect(api: Api, **body: Any) -> dict[str, Any]:  # noqa: F811
    token = await api.call(
        "POST",
        "/connect/token",
        {"connect_url": "http://x/connect", "callback_url": "https://ha.example/cb", **body},
    )
    return dict(token)


async def test_connect_for_an_existing_location_sets_one_part(api: Api) -> None:  # noqa: F811
    """An export session replaces only the export tariff; the import one stays; the
    completion tells connect_session.complete and location.update."""
    before = await api.call("GET", f"/locations/{api.location_id}/status")
    token = await connect(
        api,
        location_id=api.location_id,
        tariff_direction="EXPORT",
        tariff_type="COMMODITY",
        actions={"edit_tariff": True},
    )
    page = await api.client.get("/connect", params={"fp_cot": token["connect_token"]})
    assert "export tariff" in await page.text()
    response = await api.client.post(
        "/connect",
        data={"fp_cot": token["connect_token"], "tariff": "flat"},
        allow_redirects=False,
    )
    assert response.status == 302
    assert urlsplit(response.headers["Location"]).query == f"fp_cot={token['connect_token']}"
    after = await api.call("GET", f"/locations/{api.location_id}/status")
    assert after["tariff_status"]["commodity_import"] == before["tariff_status"]["commodity_import"]
    exported = after["tariff_status"]["commodity_export"]
    assert exported["tariff"]["id"] != before["tariff_status"]["commodity_export"]["tariff"]["id"]
    assert exported["connection_type"] == "DIRECT"
    result = await api.call(
        "GET", "/connect/tariff/token", params={"connect_token": token["connect_token"]}
    )
    assert result["complete_action"] == "SAVE"
    kinds = [e["type"] for e in (await api.call("GET", "/events"))["data"]]
    assert kinds[:2] == ["location.update", "connect_session.complete"]


async def test_connect_disconnects_a_part_without_a_page(api: Api) -> None:  # noqa: F811
    token = await connect(
        api,
        location_id=api.location_id,
        tariff_direction="EXPORT",
        actions={"disconnect_tariff": True},
    )
    response = await api.client.get(
        "/connect", params={"fp_cot": token["connect_token"]}, allow_redirects=False
    )
    assert response.status == 302
    status = await api.call("GET", f"/locations/{api.location_id}/status")
    assert status["tariff_status"]["commodity_export"] == {"status": "NOT_CONNECTED"}
    result = await api.call(
        "GET", "/connect/tariff/token", params={"connect_token": token["connect_token"]}
    )
    assert result["complete_action"] == "DISCONNECT"
    body = await api.call(
        "POST",
        "/connect/token",
        {"connect_url": "x", "callback_url": "https://h/cb", "tariff_direction": "LOCAL"},
        expect=400,
    )
    assert body["code"] == "tariff_direction_not_supported"
