"""The CORE WSDL, requests and responses through python3-zeep.

    zeep_wsdl.py WORKDIR PRINT_WSDL

WORKDIR holds core.wsdl (print_wsdl's WSDL for
https://hets.example:8443/eligibility/realtime/soap?a=1&b=2) and
response.xml (a response envelope print_wsdl wrote).  zeep must load the
WSDL and find the service, port, binding and operation DESIGN §13 names;
the requests zeep builds from it (plain and with a WS-Security
UsernameToken) must pass ohets_caqh_soap_read (print_wsdl --read), fields
intact; and zeep must read our response envelope.
"""
import os
import subprocess
import sys

import zeep
from lxml import etree
from zeep.wsse.username import UsernameToken

ADDRESS = "https://hets.example:8443/eligibility/realtime/soap?a=1&b=2"
FIELDS = {
    "PayloadType": "X12_270_Request_005010X279A1",
    "ProcessingMode": "RealTime",
    "PayloadID": "f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
    "TimeStamp": "2026-11-29T10:20:34Z",
    "SenderID": "SUBMITTER1",
    "ReceiverID": "CMS",
    "CORERuleVersion": "2.2.0",
    "Payload": "ISA*00*          *00*<&>]]>~GS*HS~",
}


def fail(msg):
    print("zeep_wsdl.py: FAIL: " + msg)
    sys.exit(1)


def check_request(client, helper, path, want_user=None):
    node = client.create_message(client.service, "RealTimeTransaction", **FIELDS)
    with open(path, "wb") as f:
        f.write(etree.tostring(node, xml_declaration=True, encoding="UTF-8"))
    run = subprocess.run([helper, "--read", path], capture_output=True, text=True)
    if run.returncode != 0:
        fail("%s: our reader refused zeep's request: %s" % (path, run.stderr.strip()))
    got = dict(line.split("=", 1) for line in run.stdout.splitlines())
    for name, value in FIELDS.items():
        if got.get(name) != value:
            fail("%s: %s read as %r, sent %r" % (path, name, got.get(name), value))
    if want_user is not None and (got.get("username"), got.get("password")) != want_user:
        fail("%s: UsernameToken read as %r" % (path, (got.get("username"), got.get("password"))))
    print("ok: zeep's request %s passes ohets_caqh_soap_read" % os.path.basename(path))


def main():
    work, helper = sys.argv[1], sys.argv[2]
    client = zeep.Client(os.path.join(work, "core.wsdl"))
    service = client.wsdl.services.get("Core")
    if service is None:
        fail("no service Core")
    port = service.ports.get("CoreSoapPort")
    if port is None:
        fail("no port CoreSoapPort")
    if port.binding_options.get("address") != ADDRESS:
        fail("address %r" % port.binding_options.get("address"))
    binding = port.binding
    if binding.name.localname != "CoreSoapBinding" or type(binding).__name__ != "Soap12Binding":
        fail("binding %s (%s)" % (binding.name, type(binding).__name__))
    if binding.port_type.name.localname != "CORETransactions":
        fail("portType %s" % binding.port_type.name)
    op = binding.get("RealTimeTransaction")
    if op.soapaction != "RealTimeTransaction" or op.style != "document":
        fail("operation soapAction %r style %r" % (op.soapaction, op.style))
    print("ok: zeep loads the WSDL (service Core, port CoreSoapPort, Soap12Binding "
          "CoreSoapBinding, soapAction RealTimeTransaction)")

    check_request(client, helper, os.path.join(work, "request.xml"))
    secured = zeep.Client(os.path.join(work, "core.wsdl"),
                          wsse=UsernameToken("partner1", "pw&<1>"))
    check_request(secured, helper, os.path.join(work, "request_wsse.xml"),
                  ("partner1", "pw&<1>"))

    with open(os.path.join(work, "response.xml"), "rb") as f:
        envelope = etree.fromstring(f.read())
    result = op.process_reply(envelope)
    if (result.ErrorCode, result.ErrorMessage, result.Payload) != (
            "Success", "None", "ISA*00*]]>*271~\r\n"):
        fail("zeep read our response as %r" % (result,))
    print("ok: zeep reads our response envelope")
    print("3 passed, 0 failed")


if __name__ == "__main__":
    main()
