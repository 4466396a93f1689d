"""A CAQH CORE SOAP client nobody here wrote: python3-zeep (Debian's
package) loads the WSDL openhetsd serves and calls RealTimeTransaction.
Run by test_core.py with /usr/bin/python3 (the interpreter that has zeep);
standard library plus zeep and requests.

usage: core_zeep_client.py WSDL_URL CERT KEY CA PAYLOAD_FILE SENDER PAYLOAD_ID TIMESTAMP

Prints one JSON object: "service", "port", "operation", "address" (what
zeep read from the WSDL) and "response" (the response's fields, Payload
as text), or exits 2 with one line on stderr.
"""

import json
import sys

import requests
import zeep
from zeep.transports import Transport

FIELDS = ("PayloadType", "ProcessingMode", "PayloadID", "TimeStamp", "SenderID", "ReceiverID",
          "CORERuleVersion", "Payload", "ErrorCode", "ErrorMessage")


def main(argv):
    if len(argv) != 8:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    wsdl, cert, key, ca, payload_file, sender, payload_id, timestamp = argv
    session = requests.Session()
    # The machine may set REQUESTS_CA_BUNDLE, which would override verify.
    session.trust_env = False
    session.verify = ca
    session.cert = (cert, key)
    client = zeep.Client(wsdl, transport=Transport(session=session, timeout=20,
                                                   operation_timeout=20))
    service = client.wsdl.services.get("Core")
    port = service.ports.get("CoreSoapPort") if service is not None else None
    if port is None:
        print("core_zeep_client: the WSDL has no service Core / port CoreSoapPort",
              file=sys.stderr)
        return 2
    with open(payload_file, encoding="ascii") as f:
        payload = f.read()
    res = client.service.RealTimeTransaction(
        PayloadType="X12_270_Request_005010X279A1", ProcessingMode="RealTime",
        PayloadID=payload_id, TimeStamp=timestamp, SenderID=sender, ReceiverID="CMS",
        CORERuleVersion="2.2.0", Payload=payload)
    out = {}
    for name in FIELDS:
        try:
            v = res[name]
        except (KeyError, TypeError, AttributeError, IndexError):
            v = getattr(res, name, None)
        out[name] = v if v is None else str(v)
    print(json.dumps({"service": service.name, "port": port.name,
                      "operation": port.binding.get("RealTimeTransaction").name,
                      "address": port.binding_options.get("address"), "response": out}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
