import pytest
from datetime import date
from tests.services.devices_kit import *

def test_smoke(seeded):
    w = make_ward(seeded)
    r = receive(w, label(OXY_GTIN, serial="SN1", lot="L1", expiry=LATER))
    print(r)
    v = w.c.devices.bind_scan(w.run1.id, label(OXY_GTIN, serial="SN1", lot="L1", expiry=LATER))
    print(v.kind, v.user_message())
    v = w.c.devices.bind_scan(w.run2.id, label(OXY_GTIN, serial="SN1", lot="L1", expiry=LATER))
    print(v.kind, v.user_message())
    print(w.c.devices.trace_lot("L1"))
    print(w.c.devices.trace_serial("SN1"))
