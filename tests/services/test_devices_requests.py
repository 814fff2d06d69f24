"""Bedside requests to add a product (issue 9, point 9), on SQLite and PostgreSQL.

A nurse who scans a product the catalogue lacks may not add it; ``request_product`` records it for
the administrator (audited, one open request per product), the administrator's worklist lists it,
and the administrator answers by adding the product (which closes the request) or by declining
with a reason — both recorded on the request and in the audit trail.
"""

from __future__ import annotations

from datetime import date

import pytest

from ecmo_desktop.domain.devices import ProductInput, ProductRequestStatus, VerdictKind
from ecmo_desktop.domain.errors import PermissionDenied, ValidationError
from ecmo_desktop.domain.records import WorkKind
from tests.kit.devices import (  # noqa: F401 - the *_fixture names are fixtures
    OXY_GTIN,
    Ward,
    audit_head,
    audit_rows,
    gtin,
    label,
    ward_db_fixture,
    ward_fixture,
)

EXPIRY = date(2027, 6, 30)


def _requests(ward: Ward, kind: str = WorkKind.PRODUCT_REQUEST.value) -> list:
    return [i for i in ward.c.worklist.items() if i.kind == kind]


def test_a_nurse_requests_the_admin_adds_it_and_the_request_closes(ward: Ward) -> None:
    new_gtin = gtin(f"06901235{ward.tag[1:]:0>5}"[:13])
    code = label(new_gtin, serial=ward.t("NQ1"), lot="LQ", expiry=EXPIRY)
    assert ward.c.devices.bind_scan(ward.run1.id, code).kind is VerdictKind.UNKNOWN_PRODUCT
    since = audit_head(ward.c)
    request = ward.c.devices.request_product(ward.run1.id, code)
    assert (request.device_identifier, request.status, request.run_id) == (new_gtin, "open", ward.run1.id)
    assert request.requested_by_name == "陈静"
    created = audit_rows(ward.c, entity="device_product_request", since=since)
    assert [(e.action, e.entity_id, e.run_id, e.patient_id) for e in created] == [
        ("create", request.id, ward.run1.id, ward.patient1.id)
    ]
    # the same product scanned again (another bed, another nurse): the same open request, nothing new
    again = ward.c.devices.request_product(ward.run2.id, label(new_gtin, serial=ward.t("NQ2"), lot="LQ"))
    assert again.id == request.id
    assert len(audit_rows(ward.c, entity="device_product_request", since=since)) == 1
    # only an administrator sees or answers it
    assert _requests(ward) == []
    with pytest.raises(PermissionDenied):
        ward.c.devices.product_requests()
    with pytest.raises(PermissionDenied):
        ward.c.devices.dismiss_product_request(request.id, "不需要")

    ward.login("admin")
    listed = [i for i in _requests(ward) if i.entity_id == request.id]
    assert len(listed) == 1 and listed[0].run_id == ward.run1.id and new_gtin in listed[0].text()
    product = ward.c.devices.add_product(
        ProductInput(
            category="tubing_pack", name="ECMO 管路套包", gtin=new_gtin, nmpa_number="国械注准20203100001"
        )
    )
    closed = next(r for r in ward.c.devices.product_requests(open_only=False) if r.id == request.id)
    assert (closed.status, closed.product_id) == (ProductRequestStatus.ADDED.value, product.id)
    assert closed.resolved_at is not None and closed.resolved_by_id is not None
    assert [e.action for e in audit_rows(ward.c, entity="device_product_request", since=since)] == [
        "create",
        "resolve",
    ]
    assert [i for i in _requests(ward) if i.entity_id == request.id] == []
    ward.login("chenjing")
    assert (
        ward.c.devices.bind_scan(ward.run1.id, code).kind is VerdictKind.NOT_RECEIVED
    )  # known now (R7 next)


def test_the_admin_declines_with_a_reason_and_refusals(ward: Ward) -> None:
    new_gtin = gtin(f"06901236{ward.tag[1:]:0>5}"[:13])
    code = label(new_gtin, serial=ward.t("ND1"), lot="LD", expiry=EXPIRY)
    request = ward.c.devices.request_product(ward.run1.id, code)
    with pytest.raises(ValidationError, match="已在器械目录中"):
        ward.c.devices.request_product(ward.run1.id, label(OXY_GTIN, serial=ward.t("K1"), lot="L"))
    ward.login("admin")
    with pytest.raises(ValidationError, match="原因"):
        ward.c.devices.dismiss_product_request(request.id, "  ")
    since = audit_head(ward.c)
    done = ward.c.devices.dismiss_product_request(request.id, "非 ECMO 耗材，由普通库房管理")
    assert (done.status, done.resolution_note) == ("dismissed", "非 ECMO 耗材，由普通库房管理")
    rows = audit_rows(ward.c, entity="device_product_request", since=since)
    assert [(e.action, e.reason) for e in rows] == [("dismiss", "非 ECMO 耗材，由普通库房管理")]
    with pytest.raises(ValidationError, match="已处理"):
        ward.c.devices.dismiss_product_request(request.id, "再次")
    assert [i for i in _requests(ward) if i.entity_id == request.id] == []
