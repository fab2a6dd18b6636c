"""A batch of descriptions through the API (issue 15): each document filed on its own as a PUT
of it would be; a bad document in the middle is reported and the rest filed; the limits named."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import auth
from .test_api_read import is_problem

ROOT = Path(__file__).resolve().parents[2]
CDC = sorted((ROOT / "examples" / "cdc-east").glob("*.ttl"))[:3]
DATA = Path(__file__).parent / "data"
REJECTED = DATA / "fused-mental-health-rejected.ttl"

pytestmark = pytest.mark.usefixtures("need_engine")


def doc(path: Path, name: str | None = None) -> dict:
    return {"name": name or path.name, "media_type": "text/turtle", "content": path.read_text(encoding="utf-8")}


def post(client, institution, documents, token_of=None):
    return client.post(f"/v1/institutions/{institution}/batches", json={"documents": documents},
                       headers=auth(token_of or institution))


def test_a_bad_document_in_the_middle_is_reported_and_the_rest_filed_and_posting_again_replaces(client):
    documents = [doc(CDC[0]), {"name": "broken.ttl", "content": "@prefix : <urn:x#> .\n:a :b \"never closed .\n"},
                 doc(REJECTED, "rejected.ttl"), doc(CDC[1]), doc(CDC[2])]
    r = post(client, "cdc-east", documents)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["summary"] == {"filed": 3, "refused": 1, "failed": 1, "datasets": 3}
    items = {i["name"]: i for i in body["items"]}
    assert [i["name"] for i in body["items"]] == [d["name"] for d in documents]  # in the order given
    assert items["broken.ttl"]["status"] == "failed" and "turtle syntax error" in items["broken.ttl"]["message"]
    assert items["broken.ttl"]["hint"]
    refused = items["rejected.ttl"]
    assert refused["status"] == "refused" and refused["code"] == "certification-rejected"
    assert any(r["verdict"] == "rejected" for r in refused["results"])
    filed = [i for i in body["items"] if i["status"] == "filed"]
    assert all(i["datasets"][0]["filing"]["number"].startswith("DC-") for i in filed)
    assert client.get("/v1/datasets", params={"institution": "cdc-east"}).json()["total"] == 3
    for item in filed:  # each one readable with its filing, as after a PUT
        [ds] = item["datasets"]
        assert client.get(f"/v1/filings/{ds['filing']['number']}").json()["id"] == ds["id"]

    again = post(client, "cdc-east", documents).json()
    assert again["summary"] == body["summary"]
    assert all(d["replaced"] for i in again["items"] if i["status"] == "filed" for d in i["datasets"])
    assert client.get("/v1/datasets", params={"institution": "cdc-east"}).json()["total"] == 3


def test_another_institutions_dataset_is_refused_alone(client):
    assert post(client, "hospital-a", [doc(CDC[0])]).json()["summary"]["filed"] == 1
    body = post(client, "hospital-b", [doc(CDC[0]), doc(CDC[1])]).json()
    assert [i["status"] for i in body["items"]] == ["refused", "filed"]
    assert body["items"][0]["code"] == "dataset-conflict"


def test_batches_need_the_institutions_own_token(client):
    is_problem(client.post("/v1/institutions/cdc-east/batches", json={"documents": [doc(CDC[0])]}), 401, "unauthorized")
    is_problem(post(client, "cdc-east", [doc(CDC[0])], token_of="hospital-a"), 403, "forbidden")
    assert client.get("/v1/datasets").json()["total"] == 0


def test_limits_and_malformed_batches_are_named(client, settings):
    settings.limits.batch_max_documents = 2
    r = post(client, "cdc-east", [doc(p) for p in CDC])
    is_problem(r, 413, "batch-too-large")
    assert "limits.batch_max_documents" in r.json()["detail"]
    settings.limits.batch_max_body_bytes = 100
    r = post(client, "cdc-east", [doc(CDC[0])])
    is_problem(r, 413, "input-too-large")
    assert "limits.batch_max_body_bytes" in r.json()["detail"]
    settings.limits.batch_max_body_bytes = 20_000_000
    is_problem(post(client, "cdc-east", []), 400, "invalid-request")
    is_problem(post(client, "cdc-east", [doc(CDC[0]), doc(CDC[1], CDC[0].name)]), 400, "invalid-request")
    r = client.post("/v1/institutions/cdc-east/batches", content=b"[1, 2]",
                    headers={**auth("cdc-east"), "Content-Type": "application/json"})
    is_problem(r, 400, "invalid-request")
    settings.limits.max_body_bytes = 100
    body = post(client, "cdc-east", [doc(CDC[0])]).json()
    assert body["items"][0]["status"] == "failed" and "limits.max_body_bytes" in body["items"][0]["message"]
    assert client.get("/v1/datasets").json()["total"] == 0


def test_documents_naming_the_same_dataset_are_each_judged_alone(client):
    """The same description twice in one batch: each is filed as a PUT of it would be (the second
    replaces the first), never judged on the other's facts."""
    body = post(client, "cdc-east", [doc(CDC[0]), doc(CDC[0], "again.ttl"), doc(CDC[1])]).json()
    assert [i["status"] for i in body["items"]] == ["filed", "filed", "filed"], body
    first, again, _ = (i["datasets"][0] for i in body["items"])
    assert first["dataset"] == again["dataset"] and again["replaced"] is True
    assert first["filing"]["sha256"] == again["filing"]["sha256"]
    assert client.get("/v1/datasets", params={"institution": "cdc-east"}).json()["total"] == 2
