"""The CORE door (DESIGN §13): CAQH CORE SOAP 1.2 and MIME multipart
envelopes over HTTP/1.1 over TLS, against the real daemon.

Every test here starts its own daemon with a `"protocol":"core"` listener
(TLS always: the test CA's server certificate, client certificates
optional unless said) and, where an answer is compared, an Extranet
listener (plain TCP, wrapped) on the same daemon: the CORE door's X12
answer must be what the Extranet door answers for the same 270, apart from
the answer's own date/time and control numbers (harness.normalise).  The
tests use TLS themselves, so they run once (transports=("plain",)), not
again in the suite's TLS run.

Partners: tests/fixtures/partners.json's entries with client1's SHA-256
fingerprint added to `certs` of SUBMITTER01 and SUBMITTER02 (a certificate
several partners list answers for the SenderID named), so the conformance
cases' submitters authenticate by client certificate and UNKNOWNSUB is
refused on both doors (SBY00502 on the Extranet, UnAuthorized 403 here).

Clients: our own small one (ssl over memory BIOs through harness.Conn,
requests built by hand, SOAP escaped with &#13; for CR so payload bytes
survive XML's line-end normalisation), and clients nobody here wrote:
curl, python3-zeep (through /usr/bin/python3, core_zeep_client.py; a NOTE
says SKIPPED when zeep is not installed) and `openssl s_client`.
"""

import os
import re
import shutil
import subprocess
import time
import uuid
import xml.etree.ElementTree as ET

from harness import (ANSWER_TIMEOUT, SLACK_MS, Closed, Conn, Daemon, Fail, answer_kind, build_270,
                     check, describe_diff, hets_code, normalise, read_http, test, wrap)

ONCE = ("plain",)
SOAP_PATH = "/eligibility/realtime/soap"
MIME_PATH = "/eligibility/realtime/mime"
NS_SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
NS_SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
NS_CORE = "http://www.caqh.org/SOAP/WSDL/CORERule2.2.0.xsd"
NS_WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
PASSWORD_TEXT = ("http://docs.oasis-open.org/wss/2004/01/"
                 "oasis-200401-wss-username-token-profile-1.0#PasswordText")
PT_270 = "X12_270_Request_005010X279A1"
PT_BY_KIND = {"271": "X12_271_Response_005010X279A1", "999": "X12_999_Response_005010X231A1",
              "TA1": "X12_TA1_Response_00501X231A1"}
PT_ERROR = "CoreEnvelopeError"
REQUEST_FIELDS = ("PayloadType", "ProcessingMode", "PayloadID", "TimeStamp", "SenderID",
                  "ReceiverID", "CORERuleVersion", "Payload")
RESPONSE_FIELDS = REQUEST_FIELDS + ("ErrorCode", "ErrorMessage")
HIT = dict(mbi="1EG4TE5MK73", last="QUILLFEATHER", first="JANE", dob="19400101")
PASSWORD = "correct horse battery staple"
XML_SPACE = b" \t\r\n"
DATETIME_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
ZEEP_PYTHON = os.environ.get("OPENHETS_TEST_ZEEP_PYTHON", "/usr/bin/python3")  # Debian's, with python3-zeep


# ------------------------------------------------------------ requests

def now_stamp():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def new_id():
    return str(uuid.uuid4())


def isa06(payload):
    """ISA06 (trimmed) when the payload has a readable ISA header, else None."""
    if payload.startswith(b"ISA") and len(payload) >= 106:
        els = payload[:106].split(payload[3:4])
        if len(els) >= 7 and els[6].strip():
            return els[6].strip().decode("latin-1")
    return None


def fields_for(payload, sender=None, payload_id=None, **over):
    """The eight request fields in envelope order (name -> bytes); over
    replaces a field's value (None drops it)."""
    f = {"PayloadType": PT_270, "ProcessingMode": "RealTime",
         "PayloadID": payload_id or new_id(), "TimeStamp": now_stamp(),
         "SenderID": sender or isa06(payload) or "SUBMITTER01", "ReceiverID": "CMS",
         "CORERuleVersion": "2.2.0", "Payload": payload}
    f.update(over)
    return [(k, v if isinstance(v, bytes) or v is None else str(v).encode("utf-8"))
            for k, v in f.items()]


def xml_text(value):
    """Escaped element text; CR as &#13; so XML keeps it; other C0 controls
    as character references (not allowed in XML 1.0: the server refuses)."""
    out = []
    for ch in value.decode("latin-1"):
        o = ord(ch)
        if ch == "&":
            out.append("&amp;")
        elif ch == "<":
            out.append("&lt;")
        elif ch == ">":
            out.append("&gt;")
        elif ch == "\r" or (o < 32 and ch not in "\t\n"):
            out.append("&#%d;" % o)
        else:
            out.append(ch)
    return "".join(out)


def xml_safe(payload):
    """False when the payload has bytes XML 1.0 cannot carry at all."""
    return not any(b < 32 and b not in (9, 10, 13) for b in payload)


def soap_request(fields, username=None, password=None, ns_env=NS_SOAP12, ns_core=NS_CORE,
                 body_element="COREEnvelopeRealTimeRequest", extra_child=None):
    head = ""
    if username is not None:
        head = ('<soapenv:Header><wsse:Security xmlns:wsse="%s"><wsse:UsernameToken>'
                '<wsse:Username>%s</wsse:Username><wsse:Password Type="%s">%s</wsse:Password>'
                '</wsse:UsernameToken></wsse:Security></soapenv:Header>'
                % (NS_WSSE, xml_text(username.encode()), PASSWORD_TEXT,
                   xml_text(password.encode())))
    kids = "".join("<%s>%s</%s>" % (k, xml_text(v), k) for k, v in fields if v is not None)
    if extra_child:
        kids += extra_child
    doc = ('<?xml version="1.0" encoding="UTF-8"?>\n'
           '<soapenv:Envelope xmlns:soapenv="%s">%s<soapenv:Body>'
           '<cor:%s xmlns:cor="%s">%s</cor:%s></soapenv:Body></soapenv:Envelope>'
           % (ns_env, head, body_element, ns_core, kids, body_element))
    return doc.encode("utf-8")


def mime_request(fields, boundary, username=None, password=None):
    parts = list(fields)
    if username is not None:
        parts += [("UserName", username.encode()), ("Password", password.encode())]
    out = bytearray()
    for k, v in parts:
        if v is None:
            continue
        out += b"--" + boundary.encode() + b"\r\n"
        out += b'Content-Disposition: form-data; name="' + k.encode() + b'"\r\n'
        if k == "Payload":
            out += b"Content-Type: text/plain\r\n"
        out += b"\r\n" + v + b"\r\n"
    out += b"--" + boundary.encode() + b"--\r\n"
    return bytes(out)


def http_request(path, body, ctype, method="POST", extra=(), length=True, host="127.0.0.1"):
    head = ["%s %s HTTP/1.1" % (method, path), "Host: %s" % host]
    if ctype:
        head.append("Content-Type: %s" % ctype)
    if length:
        head.append("Content-Length: %d" % len(body))
    head += list(extra)
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def soap_http(fields, **kw):
    extra = kw.pop("extra", ())
    return http_request(SOAP_PATH, soap_request(fields, **kw),
                        "application/soap+xml; charset=utf-8", extra=extra)


def mime_http(fields, **kw):
    extra = kw.pop("extra", ())
    boundary = "openhets-test-" + uuid.uuid4().hex
    return http_request(MIME_PATH, mime_request(fields, boundary, **kw),
                        "multipart/form-data; boundary=%s" % boundary, extra=extra)


def envelope_http(kind, fields, **kw):
    return soap_http(fields, **kw) if kind == "soap" else mime_http(fields, **kw)


# ------------------------------------------------------------ responses

class Reply:
    """A parsed response: resp (harness.HttpResponse), kind ("soap", "mime",
    "fault", "plain"), fields (name -> str; Payload -> bytes), order (the
    field names as they came), fault_code ((namespace, local)) and
    fault_reason."""

    def __init__(self, resp):
        self.resp = resp
        self.status = resp.status
        self.fields, self.order = {}, []
        self.fault_code = self.fault_reason = None
        ctype = (resp.header("content-type") or "").lower()
        if ctype.startswith("application/soap+xml"):
            self._soap(resp.body)
        elif ctype.startswith("multipart/form-data"):
            self._mime(resp.body, resp.header("content-type"))
        else:
            self.kind = "plain"

    def _soap(self, body):
        try:
            root = ET.fromstring(body)
        except ET.ParseError as e:
            raise Fail("response is not XML (%s): %r" % (e, body[:200]))
        check(root.tag == "{%s}Envelope" % NS_SOAP12, "response root is %s" % root.tag)
        sbody = root.find("{%s}Body" % NS_SOAP12)
        check(sbody is not None and len(sbody) == 1, "response Body: %r" % body[:300])
        el = sbody[0]
        if el.tag == "{%s}Fault" % NS_SOAP12:
            self.kind = "fault"
            val = el.find("{%s}Code/{%s}Value" % (NS_SOAP12, NS_SOAP12))
            check(val is not None and val.text, "Fault without Code/Value: %r" % body[:300])
            prefix, _, local = val.text.strip().rpartition(":")
            m = re.search(rb'xmlns:' + re.escape(prefix.encode()) + rb'="([^"]*)"', body)
            self.fault_code = (m.group(1).decode() if m else None, local)
            txt = el.find("{%s}Reason/{%s}Text" % (NS_SOAP12, NS_SOAP12))
            self.fault_reason = txt.text if txt is not None else None
            return
        self.kind = "soap"
        check(el.tag == "{%s}COREEnvelopeRealTimeResponse" % NS_CORE,
              "response body element is %s" % el.tag)
        for child in el:
            check("}" not in child.tag, "qualified child %s in the response" % child.tag)
            self.order.append(child.tag)
            text = child.text or ""
            self.fields[child.tag] = text.encode("utf-8") if child.tag == "Payload" else text

    def _mime(self, body, ctype):
        self.kind = "mime"
        m = re.search(r'boundary="?([^";]+)"?', ctype)
        check(m is not None, "multipart answer without a boundary: %s" % ctype)
        delim = b"--" + m.group(1).encode()
        check(body.startswith(delim + b"\r\n"), "multipart answer does not start with its "
              "delimiter: %r" % body[:80])
        check(body.rstrip(b"\r\n").endswith(delim + b"--"), "multipart answer is not closed: %r"
              % body[-80:])
        for chunk in body.split(b"\r\n" + delim)[0:]:
            if chunk.startswith(delim):
                chunk = chunk[len(delim):]
            if chunk.startswith(b"--"):
                break
            chunk = chunk[2:] if chunk.startswith(b"\r\n") else chunk
            head, sep, value = chunk.partition(b"\r\n\r\n")
            check(sep, "multipart part without a blank line: %r" % chunk[:100])
            nm = re.search(rb'name="([^"]+)"', head)
            check(nm is not None, "part without a name: %r" % head[:100])
            name = nm.group(1).decode()
            check(name not in self.fields, "part %s twice in the answer" % name)
            self.order.append(name)
            self.fields[name] = value if name == "Payload" else value.decode("utf-8")

    def code(self):
        return self.fields.get("ErrorCode")

    def __repr__(self):
        shown = {k: (v[:40] if k == "Payload" else v) for k, v in self.fields.items()}
        return "HTTP %d %s %s%s" % (self.status, self.kind, shown,
                                    " fault %s %r" % (self.fault_code, self.fault_reason)
                                    if self.kind == "fault" else
                                    (" %r" % self.resp.body[:120] if self.kind == "plain" else ""))


def check_envelope(r, what, status=200, code="Success", payload_type=None, payload_id=None,
                   receiver=None, kind=None):
    """The response envelope's fields (§13): order, status, codes, echoes."""
    check(r.kind in ("soap", "mime") and (kind is None or r.kind == kind),
          "%s: want a %s response envelope, got %r" % (what, kind or "CORE", r))
    check(r.status == status and r.code() == code,
          "%s: want HTTP %d %s, got %r" % (what, status, code, r))
    want_order = [f for f in RESPONSE_FIELDS if f in r.fields]
    check(r.order == want_order, "%s: fields out of order: %s" % (what, r.order))
    for f in ("PayloadType", "ProcessingMode", "TimeStamp", "SenderID", "CORERuleVersion",
              "ErrorCode", "ErrorMessage"):
        check(r.fields.get(f), "%s: no %s in %r" % (what, f, r))
    check(r.fields["ProcessingMode"] == "RealTime" and r.fields["SenderID"] == "CMS"
          and r.fields["CORERuleVersion"] == "2.2.0", "%s: fixed fields wrong: %r" % (what, r))
    check(DATETIME_UTC.match(r.fields["TimeStamp"]), "%s: TimeStamp %r"
          % (what, r.fields["TimeStamp"]))
    if payload_id is not None:
        check(r.fields.get("PayloadID") == payload_id, "%s: PayloadID %r, sent %r"
              % (what, r.fields.get("PayloadID"), payload_id))
    if receiver is not None:
        check(r.fields.get("ReceiverID") == receiver, "%s: ReceiverID %r, want %r"
              % (what, r.fields.get("ReceiverID"), receiver))
    if code == "Success":
        check(r.fields["ErrorMessage"] == "None", "%s: ErrorMessage %r on Success"
              % (what, r.fields["ErrorMessage"]))
        check(r.fields.get("Payload"), "%s: Success without a Payload" % what)
        if payload_type:
            check(r.fields["PayloadType"] == payload_type, "%s: PayloadType %s, want %s"
                  % (what, r.fields["PayloadType"], payload_type))
    else:
        check(r.fields["PayloadType"] == PT_ERROR, "%s: PayloadType %s on an error, want %s"
              % (what, r.fields["PayloadType"], PT_ERROR))
        check("Payload" not in r.fields, "%s: an error answer carries a Payload" % what)
        check(r.fields["ErrorMessage"] not in ("", "None"), "%s: ErrorMessage %r"
              % (what, r.fields["ErrorMessage"]))


def check_fault(r, what):
    check(r.status == 400 and r.kind == "fault", "%s: want a SOAP Fault with 400, got %r"
          % (what, r))
    check(r.fault_code == (NS_SOAP12, "Sender"), "%s: Fault code %s, want env:Sender"
          % (what, r.fault_code))
    check(r.fault_reason, "%s: Fault without a reason" % what)


class _Bytes:
    """A finished byte string that read_http can read like a Conn."""

    def __init__(self, data):
        self.buf = bytearray(data)
        self.eof = True

    def _fill(self, deadline):
        return False


def parse_http_bytes(data):
    return read_http(_Bytes(data), timeout=0)


# ------------------------------------------------------------ daemons

def partners_with_certs(env, directory, extra=(), users=None):
    """The fixture partners with client1 listed by SUBMITTER01 and
    SUBMITTER02; users: SUBMITTER01's users list; extra: more entries."""
    fp = env.cert_sha256("client1")
    p1 = {"submitter": "SUBMITTER01", "name": "Example Clearinghouse",
          "networks": ["10.20.0.0/16", "127.0.0.0/8"], "npis": ["1234567893", "1987654328"],
          "max_connections": 200, "certs": [fp]}
    if users:
        p1["users"] = users
    p2 = {"submitter": "SUBMITTER02", "name": "Example Provider Group",
          "networks": ["127.0.0.0/8"], "certs": [fp]}
    return env.write_partners(directory, [p1, p2] + list(extra))


def core_daemon(env, name, listeners, partners=None, settings=None, args=(),
                no_partners=False):
    """A daemon from a settings file with these listeners (plus settings);
    no_partners: without --partners (everyone allowed, no authentication)."""
    work = env.scratch(name)
    s = {"listen": listeners}
    s.update(settings or {})
    path = env.write_settings(work, s)
    d = Daemon(env, name, listen=False, listeners=len(listeners), partners=partners,
               args=["-c", path] + list(args))
    if no_partners:
        i = d.cmd.index("--partners")
        del d.cmd[i:i + 2]
    return d.start()


def extranet_listener():
    return {"host": "127.0.0.1", "port": 0}


class CoreClient:
    """One keep-alive HTTPS connection to the CORE door (harness.Conn)."""

    def __init__(self, port, cert="client1"):
        self.conn = Conn(port, tls=True, cert=cert)

    def send(self, data):
        self.conn.send(data)

    def reply(self, timeout=None):
        return Reply(read_http(self.conn, timeout))

    def envelope(self, kind, fields, **kw):
        self.conn.send(envelope_http(kind, fields, **kw))
        return self.reply()

    def close(self):
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def extranet_answer(conn, payload):
    conn.send(wrap(payload))
    return conn.read_frame()


def same_x12(got, want, what):
    g, w = normalise(got), normalise(want)
    check(g == w, "%s: %s" % (what, describe_diff(g, w).replace("hets-respond", "the Extranet")))


def hit_270(n, **kw):
    args = dict(HIT, trace="CORE%05d" % n)
    args.update(kw)
    return build_270(control=7000 + n, **args)


def good_request(env, n, **kw):
    req = hit_270(n, **kw)
    env.note_request(req)
    return req


def requests_of(d, pred=lambda e: True):
    return [e for e in d.events("request") if e.get("door") == "core" and pred(e)]


# ============================================================ 1. other clients

@test("core: clients nobody here wrote: curl MIME (keep-alive, two requests), python3-zeep "
      "from the served WSDL, openssl s_client (cert: 200, none: 401)", transports=ONCE)
def core_foreign_clients(env, report):
    work = env.scratch("core-clients")
    partners = partners_with_certs(env, work)
    d = core_daemon(env, "core-clients", [env.core_listener(), extranet_listener()],
                    partners=partners)
    core_port, ext_port = d.ports
    failures = []

    def sub(name, fn):
        try:
            if fn() == "skipped":  # said in a NOTE line: not a pass
                return
            report("core/clients/" + name, True, None)
        except Fail as e:
            failures.append(name)
            report("core/clients/" + name, False, str(e))

    reqs = [good_request(env, 1), good_request(env, 2, trace="CURL2")]
    ext = Conn(ext_port, tls=False)
    want = [extranet_answer(ext, r) for r in reqs]
    ext.close()
    for i, r in enumerate(reqs):
        with open(os.path.join(work, "req%d.x12" % i), "wb") as f:
            f.write(r)
    tls_args = ["--cacert", env.cert("ca.pem"), "--cert", env.cert("client1.pem"),
                "--key", env.cert("client1.key")]
    url = "https://127.0.0.1:%d%s" % (core_port, MIME_PATH)

    def curl():
        if shutil.which("curl") is None:
            raise Fail("curl is missing (scripts/deps.sh installs it)")
        ids = [new_id(), new_id()]
        cmd = ["curl", "-sS", "--http1.1", "--max-time", "20"]
        for i in range(2):
            if i:
                cmd.append("--next")
            cmd += tls_args + ["-D", os.path.join(work, "h%d" % i),
                               "-o", os.path.join(work, "b%d" % i), url]
            for k, v in (("PayloadType", PT_270), ("ProcessingMode", "RealTime"),
                         ("PayloadID", ids[i]), ("TimeStamp", now_stamp()),
                         ("SenderID", "SUBMITTER01"), ("ReceiverID", "CMS"),
                         ("CORERuleVersion", "2.2.0")):
                cmd += ["-F", "%s=%s" % (k, v)]
            cmd += ["-F", "Payload=<%s" % os.path.join(work, "req%d.x12" % i)]
        run_env = dict(os.environ)
        run_env.pop("CURL_CA_BUNDLE", None)
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30,
                           env=run_env)
        check(r.returncode == 0, "curl exited %d: %s" % (r.returncode, r.stderr.decode()[-300:]))
        for i in range(2):
            with open(os.path.join(work, "h%d" % i), "rb") as f:
                head = f.read()
            with open(os.path.join(work, "b%d" % i), "rb") as f:
                body = f.read()
            rep = Reply(parse_http_bytes(head + body))
            check_envelope(rep, "curl request %d" % (i + 1), payload_type=PT_BY_KIND["271"],
                           payload_id=ids[i], receiver="SUBMITTER01", kind="mime")
            same_x12(rep.fields["Payload"], want[i], "curl request %d" % (i + 1))
        check(d.wait_count(lambda e: e.get("event") == "request" and e.get("payload_id") in ids,
                           2, 5), "the log lacks curl's two requests")
        evs = [e for e in requests_of(d) if e.get("payload_id") in ids]
        check(len(evs) == 2 and evs[0]["session"] == evs[1]["session"],
              "curl's two requests were not on one keep-alive session: %s"
              % [(e.get("session"), e.get("seq")) for e in evs])
        check([e.get("seq") for e in evs] == [1, 2] and
              all(e.get("envelope") == "mime" for e in evs), "curl's request lines: %s" % evs)

    def wsdl():
        with CoreClient(core_port) as c:
            c.send(b"GET %s?wsdl HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n"
                   % (SOAP_PATH.encode(), core_port))
            r = c.reply()
        check(r.status == 200 and (r.resp.header("content-type") or "").startswith("text/xml"),
              "GET ?wsdl: %r" % r)
        w, s12, xs = ("http://schemas.xmlsoap.org/wsdl/", "http://schemas.xmlsoap.org/wsdl/soap12/",
                      "http://www.w3.org/2001/XMLSchema")
        root = ET.fromstring(r.resp.body)
        check(root.tag == "{%s}definitions" % w and
              root.get("targetNamespace") == "http://www.caqh.org/SOAP/WSDL/",
              "WSDL root %s targetNamespace %s" % (root.tag, root.get("targetNamespace")))
        pt = root.find("{%s}portType[@name='CORETransactions']" % w)
        check(pt is not None and pt.find("{%s}operation[@name='RealTimeTransaction']" % w)
              is not None, "no portType CORETransactions with RealTimeTransaction")
        b = root.find("{%s}binding[@name='CoreSoapBinding']" % w)
        check(b is not None and b.find("{%s}binding" % s12) is not None,
              "no SOAP 1.2 binding CoreSoapBinding")
        op = b.find("{%s}operation[@name='RealTimeTransaction']/{%s}operation" % (w, s12))
        check(op is not None and op.get("soapAction") == "RealTimeTransaction",
              "binding operation soapAction: %s" % (op.attrib if op is not None else None))
        addr = root.find("{%s}service[@name='Core']/{%s}port[@name='CoreSoapPort']/{%s}address"
                         % (w, w, s12))
        check(addr is not None and addr.get("location") ==
              "https://127.0.0.1:%d%s" % (core_port, SOAP_PATH),
              "service Core port CoreSoapPort address: %s"
              % (addr.attrib if addr is not None else None))
        names = {e.get("name") for e in root.iter("{%s}element" % xs)
                 if e.get("name", "").startswith("COREEnvelope")}
        check(names == {"COREEnvelopeRealTimeRequest", "COREEnvelopeRealTimeResponse"},
              "WSDL types declare %s" % names)

    def zeep():
        probe = subprocess.run([ZEEP_PYTHON, "-c", "import zeep, requests"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60) \
            if os.access(ZEEP_PYTHON, os.X_OK) else None
        if probe is None or probe.returncode != 0:
            report("core/clients/zeep", None, "SKIPPED: %s cannot import zeep and requests "
                   "(Debian's python3-zeep; OPENHETS_TEST_ZEEP_PYTHON names another "
                   "interpreter)" % ZEEP_PYTHON)
            return "skipped"
        pid = new_id()
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "core_zeep_client.py")
        r = subprocess.run([ZEEP_PYTHON, script,
                            "https://127.0.0.1:%d%s?wsdl" % (core_port, SOAP_PATH),
                            env.cert("client1.pem"), env.cert("client1.key"), env.cert("ca.pem"),
                            os.path.join(work, "req0.x12"), "SUBMITTER01", pid, now_stamp()],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        check(r.returncode == 0, "zeep client exited %d: %s"
              % (r.returncode, r.stderr.decode(errors="replace").strip()[-400:]))
        import json
        out = json.loads(r.stdout)
        check(out["address"] == "https://127.0.0.1:%d%s" % (core_port, SOAP_PATH),
              "WSDL address %r" % out["address"])
        res = out["response"]
        check(res["ErrorCode"] == "Success" and res["PayloadType"] == PT_BY_KIND["271"]
              and res["PayloadID"] == pid and res["ReceiverID"] == "SUBMITTER01",
              "zeep got %s" % {k: v for k, v in res.items() if k != "Payload"})
        same_x12(res["Payload"].encode("utf-8"), want[0], "zeep's 271")
        ev = d.wait_event(lambda e: e.get("event") == "request" and e.get("payload_id") == pid, 5)
        check(ev is not None and ev.get("envelope") == "soap", "zeep's request line: %s" % ev)
        wsdl_ev = d.wait_event(lambda e: e.get("event") == "request"
                               and e.get("envelope") == "wsdl", 5)
        check(wsdl_ev is not None and wsdl_ev.get("http_status") == 200,
              "WSDL request line: %s" % wsdl_ev)

    def s_client(cert):
        if shutil.which("openssl") is None:
            raise Fail("the openssl command is missing")
        pid = new_id()
        req = soap_http(fields_for(reqs[0], payload_id=pid), extra=("Connection: close",))
        cmd = ["openssl", "s_client", "-quiet", "-connect", "127.0.0.1:%d" % core_port,
               "-CAfile", env.cert("ca.pem"), "-verify_return_error", "-ign_eof"]
        if cert:
            cmd += ["-cert", env.cert(cert + ".pem"), "-key", env.cert(cert + ".key")]
        r = subprocess.run(cmd, input=req, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30)
        check(r.stdout.startswith(b"HTTP/1.1 "), "s_client got %r (stderr %s)"
              % (r.stdout[:80], r.stderr.decode(errors="replace")[-300:]))
        rep = Reply(parse_http_bytes(r.stdout))
        if cert:
            check_envelope(rep, "s_client with %s" % cert, payload_type=PT_BY_KIND["271"],
                           payload_id=pid, receiver="SUBMITTER01", kind="soap")
            same_x12(rep.fields["Payload"], want[0], "s_client's 271")
        else:
            check_envelope(rep, "s_client without a certificate", status=401,
                           code="UnAuthorized", payload_id=pid, kind="soap")
            ev = d.wait_event(lambda e: e.get("event") == "request"
                              and e.get("payload_id") == pid, 5)
            check(ev is not None and ev.get("http_status") == 401 and ev.get("answer") is None
                  and ev.get("error_code") == "UnAuthorized", "401's request line: %s" % ev)

    try:
        sub("curl MIME, two requests on one keep-alive connection", curl)
        sub("GET ?wsdl: service, port, binding, operation, address (read here)", wsdl)
        sub("python3-zeep from ?wsdl, client certificate", zeep)
        sub("openssl s_client with client1: 200 Success 271", lambda: s_client("client1"))
        sub("openssl s_client without a certificate: 401 UnAuthorized", lambda: s_client(None))
        if failures:
            raise Fail("%d client check(s) failed (lines above)" % len(failures))
    finally:
        d.kill()


# ============================================================ 2. conformance

def conformance_expectation(payload, ext):
    """What the CORE door must answer for a case, from the Extranet's answer
    to the same bytes (door_core.c's mapping): (status, ErrorCode,
    PayloadType or None)."""
    if not payload.strip(XML_SPACE):
        return 200, "PayloadRequired", None
    if ext.startswith(b"HETS"):
        if hets_code(ext) == "SBY00502":
            return 403, "UnAuthorized", None
        return 200, "PayloadIllegal", None
    return 200, "Success", PT_BY_KIND.get(answer_kind(ext), "?" + answer_kind(ext))


@test("core: every conformance case through SOAP and MIME answers what the Extranet door "
      "answers (X12 byte-identical once normalised; HETS records as envelope errors)",
      transports=ONCE)
def core_conformance(env, report):
    """One daemon, one partners file (the fixture's plus client1 in certs):
    each case goes over the Extranet listener (wrapped, plain TCP), then
    through SOAP and MIME on one keep-alive TLS connection each with client1,
    SenderID = the case's ISA06 (SUBMITTER01 when it cannot be read).  A
    case holding bytes XML 1.0 cannot carry at all (99's GS separator 0x1D)
    is not XML once put in a SOAP envelope: a SOAP Fault there, MIME as
    usual."""
    cases = env.case_files()
    check(cases, "no conformance cases in %s" % env.cases_dir)
    work = env.scratch("core-conformance")
    d = core_daemon(env, "core-conformance", [env.core_listener(), extranet_listener()],
                    partners=partners_with_certs(env, work))
    ext = Conn(d.ports[1], tls=False)
    clients = {k: CoreClient(d.ports[0]) for k in ("soap", "mime")}
    sent = []  # (kind, payload_id, ErrorCode seen, answer kind or None)
    failures = 0
    try:
        for path in cases:
            base = os.path.basename(path)
            with open(path, "rb") as f:
                payload = f.read()
            want = extranet_answer(ext, payload)
            status, code, ptype = conformance_expectation(payload, want)
            for kind in ("soap", "mime"):
                name = "core/conformance/%s/%s" % (kind, base)
                pid = new_id()
                try:
                    c = clients[kind]
                    r = c.envelope(kind, fields_for(payload, payload_id=pid))
                    if kind == "soap" and not xml_safe(payload):
                        # Bytes XML 1.0 cannot hold (e.g. a GS separator):
                        # the document is not XML, so a Fault, never a guess.
                        check_fault(r, name)
                        sent.append((kind, pid, "env:Sender", None))
                        report(name, True, None)
                        continue
                    check_envelope(r, name, status=status, code=code, payload_type=ptype,
                                   payload_id=pid, kind=kind,
                                   receiver=fields_for(payload)[4][1].decode())
                    if code == "Success":
                        same_x12(r.fields["Payload"], want, name)
                        check(answer_kind(r.fields["Payload"]) == answer_kind(want),
                              "%s: answer kind %s, Extranet %s"
                              % (name, answer_kind(r.fields["Payload"]), answer_kind(want)))
                    sent.append((kind, pid, r.code(),
                                 answer_kind(r.fields["Payload"]) if code == "Success" else None))
                    report(name, True, None)
                except Closed as e:
                    failures += 1
                    report(name, False, "%s (connection closed; reconnecting)" % e)
                    clients[kind].close()
                    clients[kind] = CoreClient(d.ports[0])
                except Fail as e:
                    failures += 1
                    report(name, False, str(e))
        tally = {}
        for _, _, code, akind in sent:
            tally[akind or code] = tally.get(akind or code, 0) + 1
        report("core/conformance", None, "answers seen: %s" % ", ".join(
            "%s %d" % kv for kv in sorted(tally.items())))
        # The log: one request line per envelope, with what the client saw.
        ok = d.wait_count(lambda e: e.get("event") == "request" and e.get("door") == "core",
                          len(sent), 10)
        check(ok, "the log has %d core request lines for %d envelopes"
              % (len(requests_of(d)), len(sent)))
        by_id = {e.get("payload_id"): e for e in requests_of(d)}
        for kind, pid, code, akind in sent:
            if code == "env:Sender":  # no envelope was read: no payload_id to log
                continue
            ev = by_id.get(pid)
            check(ev is not None, "no request line with payload_id %s" % pid)
            check(ev.get("envelope") == kind and ev.get("error_code") == code,
                  "request line %s: envelope %s error_code %s, the client saw %s %s"
                  % (pid, ev.get("envelope"), ev.get("error_code"), kind, code))
            check(ev.get("answer") == akind, "request line %s: answer %r, the client saw %r"
                  % (pid, ev.get("answer"), akind))
        if failures:
            raise Fail("%d of %d envelopes differ (lines above)" % (failures, 2 * len(cases)))
    finally:
        ext.close()
        for c in clients.values():
            c.close()
        d.kill()


# ============================================================ 3. envelope rules

def rules_daemon(env, name):
    """SUBMITTER01: client1 and the user alice; SUBMITTER02: client1;
    SUBMITTER03: the user bob only; client2: no partner lists it."""
    work = env.scratch(name)
    phc = env.hash_password(PASSWORD)
    partners = partners_with_certs(
        env, work, users=[{"username": "alice", "password": phc}],
        extra=[{"submitter": "SUBMITTER03", "name": "Third", "networks": ["127.0.0.0/8"],
                "users": [{"username": "bob", "password": phc}]}])
    return core_daemon(env, name, [env.core_listener(), extranet_listener()], partners=partners)


# (field, value, ErrorCode, HTTP status); value None drops the field.
CORRUPT = [
    ("PayloadType", "X12_270_Request_005010X279A2", "PayloadTypeIllegal", 200),
    ("ProcessingMode", "Batch", "ProcessingModeIllegal", 200),
    ("PayloadID", "not-a-uuid-0000", "PayloadIDIllegal", 200),
    ("PayloadID", "f81d4fae7dec11d0a76500a0c91e6bf6", "PayloadIDIllegal", 200),
    ("TimeStamp", "2026-11-29 10:20:34", "TimeStampIllegal", 200),
    ("TimeStamp", "2026-02-30T10:20:34Z", "TimeStampIllegal", 200),
    ("SenderID", "SUBMITTER03", "UnAuthorized", 403),  # not client1's partner
    ("ReceiverID", "HHS", "ReceiverIDIllegal", 200),
    ("CORERuleVersion", "2.1.0", "VersionMismatch", 200),
    ("Payload", "hello", "PayloadIllegal", 200),
]


@test("core: envelope rules in SOAP and MIME: each <Field>Required / <Field>Illegal, "
      "VersionMismatch, PayloadIllegal, first failure wins", transports=ONCE)
def core_envelope_rules(env, report):
    d = rules_daemon(env, "core-rules")
    req = good_request(env, 10)
    failures = []
    table = []
    for f in REQUEST_FIELDS:
        table += [(f, None, f + "Required", 200), (f, "", f + "Required", 200),
                  (f, " \n\t ", f + "Required", 200)]
    table += CORRUPT
    # Two failures at once: the first in envelope order wins.
    multi = [({"ProcessingMode": "Batch", "PayloadID": "x", "Payload": "hello"},
              "ProcessingModeIllegal"),
             ({"PayloadType": None, "CORERuleVersion": "9"}, "PayloadTypeRequired"),
             ({"ReceiverID": "HHS", "CORERuleVersion": "9"}, "ReceiverIDIllegal"),
             ({"CORERuleVersion": "9", "Payload": "hello"}, "VersionMismatch")]
    try:
        for kind in ("soap", "mime"):
            with CoreClient(d.ports[0]) as c:
                for field, value, code, status in table:
                    name = "core/rules/%s/%s=%s" % (kind, field, "dropped" if value is None
                                                    else repr(value))
                    pid = new_id()
                    over = {field: value}
                    if field != "PayloadID":
                        over["PayloadID"] = pid
                    try:
                        r = c.envelope(kind, fields_for(req, **over))
                        check_envelope(r, name, status=status, code=code, kind=kind,
                                       payload_id=pid if field != "PayloadID" else None)
                        if field == "PayloadID" and value:
                            check(r.fields.get("PayloadID") == value.strip() or
                                  "PayloadID" not in r.fields,
                                  "%s: PayloadID %r" % (name, r.fields.get("PayloadID")))
                        report(name, True, None)
                    except Fail as e:
                        failures.append(name)
                        report(name, False, str(e))
                for over, code in multi:
                    name = "core/rules/%s/first-failure/%s" % (kind, code)
                    try:
                        r = c.envelope(kind, fields_for(req, **over))
                        check_envelope(r, name, code=code, kind=kind)
                        report(name, True, None)
                    except Fail as e:
                        failures.append(name)
                        report(name, False, str(e))
                # And the connection still serves a good envelope.
                pid = new_id()
                r = c.envelope(kind, fields_for(req, payload_id=pid))
                check_envelope(r, "good %s after the table" % kind,
                               payload_type=PT_BY_KIND["271"], payload_id=pid, kind=kind)
        n_sent = 2 * (len(table) + len(multi) + 1)
        d.wait_count(lambda e: e.get("event") == "request", n_sent, 5)
        errs = [e for e in requests_of(d) if e.get("error_code") not in (None, "Success")]
        check(len(errs) == n_sent - 2, "%d envelope errors logged, %d sent"
              % (len(errs), n_sent - 2))
        check(errs and all(e.get("answer") is None for e in errs),
              "envelope errors logged with an answer: %s" % [e for e in errs
                                                            if e.get("answer") is not None][:1])
        if failures:
            raise Fail("%d envelope rule(s) failed: %s" % (len(failures), failures[:5]))
    finally:
        d.kill()


@test("core: authentication: no credentials 401, unlisted certificate / SenderID not the "
      "partner / ISA06 not SenderID / wrong password 403; UsernameToken and MIME "
      "UserName/Password 200", transports=ONCE)
def core_authentication(env, report):
    d = rules_daemon(env, "core-auth")
    req = good_request(env, 11)
    req3 = good_request(env, 12, submitter="SUBMITTER03")
    ext = Conn(d.ports[1], tls=False)
    want = extranet_answer(ext, req)
    ext.close()
    # (name, client cert, fields overrides, payload, credentials, status, code)
    rows = [
        ("no credentials", None, {}, req, None, 401, "UnAuthorized"),
        ("client2, listed by no partner", "client2", {}, req, None, 403, "UnAuthorized"),
        ("client1, SenderID SUBMITTER03 (not its partner)", "client1", {}, req3, None, 403,
         "UnAuthorized"),
        ("client1, SenderID SUBMITTER02 (listed) but ISA06 SUBMITTER01", "client1",
         {"SenderID": "SUBMITTER02"}, req, None, 403, "UnAuthorized"),
        ("alice, good password", None, {}, req, ("alice", PASSWORD), 200, "Success"),
        ("alice, wrong password", None, {}, req, ("alice", PASSWORD + "!"), 403, "UnAuthorized"),
        ("alice, empty password", None, {}, req, ("alice", ""), 403, "UnAuthorized"),
        ("unknown user", None, {}, req, ("mallory", PASSWORD), 403, "UnAuthorized"),
        ("client1 with a wrong password: credentials first", "client1", {}, req,
         ("alice", "wrong"), 403, "UnAuthorized"),
        ("bob (SUBMITTER03) sending for SUBMITTER01", None, {}, req, ("bob", PASSWORD), 403,
         "UnAuthorized"),
        ("bob for SUBMITTER03", None, {}, req3, ("bob", PASSWORD), 200, None),
    ]
    failures = []
    try:
        for kind in ("soap", "mime"):
            for name, cert, over, payload, cred, status, code in rows:
                sub = "core/auth/%s/%s" % (kind, name)
                pid = new_id()
                kw = {}
                if cred:
                    kw = {"username": cred[0], "password": cred[1]}
                try:
                    with CoreClient(d.ports[0], cert=cert) as c:
                        r = c.envelope(kind, fields_for(payload, payload_id=pid, **over), **kw)
                    if code is None:  # whatever the core says, not an auth refusal
                        check(r.status == 200 and r.code() not in (None, "UnAuthorized"),
                              "%s: got %r" % (sub, r))
                    else:
                        check_envelope(r, sub, status=status, code=code, payload_id=pid,
                                       kind=kind, payload_type=PT_BY_KIND["271"])
                    if code == "Success":
                        same_x12(r.fields["Payload"], want, sub)
                    ev = d.wait_event(lambda e: e.get("event") == "request"
                                      and e.get("payload_id") == pid, 5)
                    check(ev is not None and ev.get("http_status") == r.status,
                          "%s: request line %s" % (sub, ev))
                    report(sub, True, None)
                except Fail as e:
                    failures.append(sub)
                    report(sub, False, str(e))
        text = "\n".join(t for t, _ in d.lines) + d.stderr_text()
        check(PASSWORD not in text, "the password appears in the log or on stderr")
        if failures:
            raise Fail("%d authentication row(s) failed: %s" % (len(failures), failures[:4]))
    finally:
        d.kill()


@test("core: a password changed in the partners file and SIGHUP: the old one is refused at "
      "once (even just accepted on a keep-alive connection), the new one taken", transports=ONCE)
def core_password_reload(env, report):
    import signal
    work = env.scratch("core-password-reload")
    old, new = PASSWORD, PASSWORD + " 2"
    entry = [{"submitter": "SUBMITTER03", "name": "Third", "networks": ["127.0.0.0/8"]}]
    partners = partners_with_certs(env, work, extra=entry,
                                   users=[{"username": "alice", "password": env.hash_password(old)}])
    d = core_daemon(env, "core-password-reload", [env.core_listener()], partners=partners)
    req = good_request(env, 19)
    try:
        with CoreClient(d.ports[0], cert=None) as c:
            for kind in ("soap", "mime"):  # twice each: the second may come from a cache
                for _ in range(2):
                    r = c.envelope(kind, fields_for(req), username="alice", password=old)
                    check_envelope(r, "old password before the change (%s)" % kind, kind=kind,
                                   payload_type=PT_BY_KIND["271"])
            partners_with_certs(env, work, extra=entry,
                                users=[{"username": "alice", "password": env.hash_password(new)}])
            d.send_signal(signal.SIGHUP)
            check(d.wait_event(lambda e: e.get("event") == "reload", 10) is not None,
                  "no reload event after SIGHUP")
            for kind in ("soap", "mime"):
                r = c.envelope(kind, fields_for(req), username="alice", password=old)
                check_envelope(r, "old password after the change (%s)" % kind, status=403,
                               code="UnAuthorized", kind=kind)
                r = c.envelope(kind, fields_for(req), username="alice", password=new)
                check_envelope(r, "new password (%s)" % kind, kind=kind,
                               payload_type=PT_BY_KIND["271"])
        text = "\n".join(t for t, _ in d.lines) + d.stderr_text()
        check(old not in text and new not in text, "a password in the log or on stderr")
    finally:
        d.kill()


@test("core: without a partners file nobody is authenticated and everyone is served, as on "
      "the Extranet (no certificate: 200, the Extranet's answer)", transports=ONCE)
def core_no_partners(env, report):
    d = core_daemon(env, "core-no-partners", [env.core_listener(), extranet_listener()],
                    no_partners=True)
    req = good_request(env, 21, submitter="SUBMITTER02")
    try:
        ext = Conn(d.ports[1], tls=False)
        want = extranet_answer(ext, req)
        ext.close()
        check(answer_kind(want) == "271", "Extranet without partners: %r" % want[:80])
        for kind in ("soap", "mime"):
            for cert in (None, "client2"):
                with CoreClient(d.ports[0], cert=cert) as c:
                    pid = new_id()
                    r = c.envelope(kind, fields_for(req, payload_id=pid))
                what = "%s, client certificate %s" % (kind, cert)
                check_envelope(r, what, payload_type=PT_BY_KIND["271"], payload_id=pid,
                               kind=kind, receiver="SUBMITTER02")
                same_x12(r.fields["Payload"], want, what)
    finally:
        d.kill()


@test("core: a core listener's \"submitters\" list applies to the authenticated submitter "
      "(client1 as SUBMITTER01 on a SUBMITTER02-only listener: 403 UnAuthorized)", transports=ONCE)
def core_listener_submitters(env, report):
    work = env.scratch("core-listener-subs")
    lst = env.core_listener()
    lst["submitters"] = ["SUBMITTER02"]
    d = core_daemon(env, "core-listener-subs", [lst, extranet_listener()],
                    partners=partners_with_certs(env, work))
    try:
        for sub, status, code in (("SUBMITTER01", 403, "UnAuthorized"),
                                  ("SUBMITTER02", 200, "Success")):
            req = good_request(env, 31, submitter=sub)
            with CoreClient(d.ports[0]) as c:
                r = c.envelope("mime", fields_for(req, payload_id=new_id()))
            check_envelope(r, "%s on a SUBMITTER02-only listener" % sub, status=status, code=code)
    finally:
        d.kill()


@test("core: PayloadID replay: same id and payload again gives the identical answer (same "
      "TimeStamp); same id, other payload: PayloadIDIllegal", transports=ONCE)
def core_replay(env, report):
    d = rules_daemon(env, "core-replay")
    req, other = good_request(env, 13), good_request(env, 14)
    req2 = good_request(env, 17, submitter="SUBMITTER02")
    try:
        with CoreClient(d.ports[0]) as c:
            for kind in ("soap", "mime"):
                pid = new_id()
                first = c.envelope(kind, fields_for(req, payload_id=pid))
                check_envelope(first, "first %s" % kind, payload_type=PT_BY_KIND["271"],
                               payload_id=pid, kind=kind)
                # Let the wall clock's second turn, so a fresh answer would
                # carry another TimeStamp (and ISA09/ISA10 may move too).
                t_end = time.time()
                time.sleep(max(0.0, 1.05 - (t_end - int(t_end))))
                again = c.envelope(kind, fields_for(req, payload_id=pid,
                                                    TimeStamp=now_stamp()))
                check_envelope(again, "replayed %s" % kind, payload_type=PT_BY_KIND["271"],
                               payload_id=pid, kind=kind)
                check(again.fields["TimeStamp"] == first.fields["TimeStamp"],
                      "%s replay: TimeStamp %s, first %s" % (kind, again.fields["TimeStamp"],
                                                              first.fields["TimeStamp"]))
                check(again.fields == first.fields, "%s replay: fields differ" % kind)
                if kind == "soap":
                    check(again.resp.body == first.resp.body, "SOAP replay: bodies differ")
                check(now_stamp() != first.fields["TimeStamp"], "the clock did not move")
                diff = c.envelope(kind, fields_for(other, payload_id=pid))
                check_envelope(diff, "%s same id, other payload" % kind,
                               code="PayloadIDIllegal", payload_id=pid, kind=kind)
                # A fresh id with that other payload is served normally.
                pid2 = new_id()
                fresh = c.envelope(kind, fields_for(other, payload_id=pid2))
                check_envelope(fresh, "%s fresh id" % kind, payload_id=pid2, kind=kind,
                               payload_type=PT_BY_KIND["271"])
                check(fresh.fields["TimeStamp"] != first.fields["TimeStamp"],
                      "a fresh id got the old TimeStamp")
                # Authentication comes before the cache: no credentials get a
                # 401, never the cached 271.
                with CoreClient(d.ports[0], cert=None) as anon:
                    r = anon.envelope(kind, fields_for(req, payload_id=pid))
                check_envelope(r, "%s replayed id without credentials" % kind, status=401,
                               code="UnAuthorized", payload_id=pid, kind=kind)
                # The cache is per submitter: SUBMITTER02 may use the same id.
                r = c.envelope(kind, fields_for(req2, payload_id=pid))
                check_envelope(r, "%s same id from SUBMITTER02" % kind, payload_id=pid,
                               kind=kind, receiver="SUBMITTER02")
                check(r.fields["PayloadType"] != PT_ERROR, "%s: SUBMITTER02 got %r" % (kind, r))
            d.wait_count(lambda e: e.get("event") == "request", 12, 5)
            ids = [e.get("error_code") for e in requests_of(d)]
            check(ids.count("PayloadIDIllegal") == 2, "log error codes: %s" % ids)
    finally:
        d.kill()


def soap_dialect(fields, variant):
    """The same request as other SOAP stacks write it."""
    def kids(cdata=False, indent="", attr=""):
        return "".join("%s<%s%s>%s</%s>" % (indent, k, attr, "<![CDATA[%s]]>" % v.decode()
                                              if cdata and k == "Payload" else xml_text(v), k)
                       for k, v in fields if v is not None)
    body = {
        "Payload in CDATA": '<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="%s">'
                            '<s:Body><c:COREEnvelopeRealTimeRequest xmlns:c="%s">%s'
                            '</c:COREEnvelopeRealTimeRequest></s:Body></s:Envelope>'
                            % (NS_SOAP12, NS_CORE, kids(cdata=True)),
        "pretty-printed, a comment, an empty Header": '<?xml version="1.0"?>\n<!-- hi -->\n'
                            '<soap:Envelope xmlns:soap="%s">\n  <soap:Header/>\n  <soap:Body>\n'
                            '    <ns1:COREEnvelopeRealTimeRequest xmlns:ns1="%s">%s\n'
                            '    </ns1:COREEnvelopeRealTimeRequest>\n  </soap:Body>\n'
                            '</soap:Envelope>\n' % (NS_SOAP12, NS_CORE, kids(True, "\n      ")),
        "a byte order mark, no XML declaration": '\ufeff<s:Envelope xmlns:s="%s"><s:Body>'
                            '<c:COREEnvelopeRealTimeRequest xmlns:c="%s">%s'
                            '</c:COREEnvelopeRealTimeRequest></s:Body></s:Envelope>'
                            % (NS_SOAP12, NS_CORE, kids()),
        "default namespaces, children xmlns=\"\"": '<Envelope xmlns="%s"><Body>'
                            '<COREEnvelopeRealTimeRequest xmlns="%s">%s'
                            '</COREEnvelopeRealTimeRequest></Body></Envelope>'
                            % (NS_SOAP12, NS_CORE, kids(attr=' xmlns=""')),
    }[variant]
    return body.encode("utf-8")


SOAP_DIALECTS = ("Payload in CDATA", "pretty-printed, a comment, an empty Header",
                 "a byte order mark, no XML declaration", "default namespaces, children xmlns=\"\"")


@test("core: SOAP Fault (400, env:Sender) for not XML, wrong namespace, unknown element, "
      "fields out of order, SOAP 1.1, qualified fields; other SOAP stacks' dialects answered",
      transports=ONCE)
def core_soap_faults(env, report):
    d = rules_daemon(env, "core-faults")
    req = good_request(env, 15)
    ext = Conn(d.ports[1], tls=False)
    want = extranet_answer(ext, req)
    ext.close()
    fields = fields_for(req)
    swapped = [fields[1], fields[0]] + fields[2:]
    bodies = [
        ("not XML", b"hello"),
        ("truncated XML", soap_request(fields)[:-30]),
        ("wrong namespace of the body element", soap_request(fields, ns_core="urn:not-core")),
        ("unknown body element", soap_request(fields, body_element="COREEnvelopeBatchRequest")),
        ("unknown child element", soap_request(fields, extra_child="<Extra>1</Extra>")),
        ("fields out of order", soap_request(swapped)),
        ("SOAP 1.1 envelope", soap_request(fields, ns_env=NS_SOAP11)),
        ("empty body", b""),
        ("namespace-qualified fields", soap_request(fields).replace(b"<PayloadType>",
                                                                    b"<cor:PayloadType>")
         .replace(b"</PayloadType>", b"</cor:PayloadType>")),
    ]

    failures = []
    try:
        with CoreClient(d.ports[0]) as c:
            for name, body in bodies:
                sub = "core/fault/" + name
                try:
                    c.send(http_request(SOAP_PATH, body, "application/soap+xml; charset=utf-8"))
                    check_fault(c.reply(), sub)
                    report(sub, True, None)
                except Fail as e:
                    failures.append(sub)
                    report(sub, False, str(e))
            pid = new_id()
            r = c.envelope("soap", fields_for(req, payload_id=pid))
            check_envelope(r, "good SOAP after the Faults on the same connection",
                           payload_type=PT_BY_KIND["271"], payload_id=pid)
            # What other SOAP stacks send is taken: the same 271.
            for variant in SOAP_DIALECTS:
                sub = "core/soap-dialect/" + variant
                pid = new_id()
                try:
                    c.send(http_request(SOAP_PATH, soap_dialect(fields_for(req, payload_id=pid),
                                                                variant),
                                        'application/soap+xml; charset=utf-8; '
                                        'action="RealTimeTransaction"'))
                    r = c.reply()
                    check_envelope(r, sub, payload_type=PT_BY_KIND["271"], payload_id=pid)
                    same_x12(r.fields["Payload"], want, sub)
                    report(sub, True, None)
                except Fail as e:
                    failures.append(sub)
                    report(sub, False, str(e))
        d.wait_count(lambda e: e.get("event") == "request" and e.get("http_status") == 400,
                     len(bodies), 5)
        faults = [e for e in requests_of(d) if e.get("http_status") == 400]
        check(len(faults) >= len(bodies) - len(failures) and
              all(e.get("error_code") == "env:Sender" and e.get("envelope") == "soap"
                  for e in faults), "Fault request lines: %s" % faults[:2])
        if failures:
            raise Fail("%d Fault case(s) failed: %s" % (len(failures), failures))
    finally:
        d.kill()


@test("core: every SOAP response envelope has each element the response XSD requires "
      "(PayloadID, ReceiverID even when the request lacked them); zeep reads such an answer",
      transports=ONCE)
def core_response_schema(env, report):
    """src/caqh/CORERule2.2.0.xsd (inline in the WSDL) makes every field of
    COREEnvelopeRealTimeResponse but Payload required; a client generated
    from the WSDL (zeep) refuses an answer that leaves one out."""
    d = rules_daemon(env, "core-response-schema")
    req = good_request(env, 16)
    required = [f for f in RESPONSE_FIELDS if f != "Payload"]
    failures = []
    rows = [("PayloadID dropped", {"PayloadID": None}), ("PayloadID empty", {"PayloadID": ""}),
            ("SenderID dropped", {"SenderID": None}), ("everything but PayloadType dropped",
                                                       {f: None for f in REQUEST_FIELDS[1:]})]
    try:
        with CoreClient(d.ports[0]) as c:
            for name, over in rows:
                sub = "core/response-schema/" + name
                try:
                    r = c.envelope("soap", fields_for(req, **over))
                    check(r.kind == "soap" and r.fields.get("PayloadType") == PT_ERROR,
                          "got %r" % r)
                    missing = [f for f in required if f not in r.fields]
                    check(not missing, "%s answer lacks %s (required by the response XSD); "
                          "it has %s" % (r.code(), ", ".join(missing), ", ".join(r.order)))
                    report(sub, True, None)
                except Fail as e:
                    failures.append(name)
                    report(sub, False, str(e))
        sub = "core/response-schema/zeep reads the answer to an empty PayloadID"
        if not os.access(ZEEP_PYTHON, os.X_OK) or subprocess.run(
                [ZEEP_PYTHON, "-c", "import zeep, requests"], stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, timeout=60).returncode != 0:
            report(sub, None, "SKIPPED: %s cannot import zeep and requests" % ZEEP_PYTHON)
        else:
            work = env.scratch("core-response-schema-zeep")
            path = os.path.join(work, "req.x12")
            with open(path, "wb") as f:
                f.write(req)
            script = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                  "core_zeep_client.py")
            z = subprocess.run([ZEEP_PYTHON, script,
                                "https://127.0.0.1:%d%s?wsdl" % (d.ports[0], SOAP_PATH),
                                env.cert("client1.pem"), env.cert("client1.key"),
                                env.cert("ca.pem"), path, "SUBMITTER01", "", now_stamp()],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
            err = z.stderr.decode(errors="replace").strip().splitlines()
            if z.returncode == 0 and b'"PayloadIDRequired"' in z.stdout:
                report(sub, True, None)
            else:
                failures.append("zeep")
                report(sub, False, "zeep exited %d: %s" % (z.returncode,
                                                          err[-1] if err else z.stdout[:200]))
        if failures:
            raise Fail("%d response(s) do not fit the response XSD: %s" % (len(failures),
                                                                          failures))
    finally:
        d.kill()


@test("core: a mustUnderstand header block the server does not know gets Fault code "
      "env:MustUnderstand (SOAP 1.2 Part 1, 5.4.8), and the connection still serves",
      transports=ONCE)
def core_must_understand(env, report):
    """Not in DESIGN §13's list: SOAP 1.2 itself fixes this code for a
    mandatory header block not understood (env:Sender is for a bad message)."""
    d = rules_daemon(env, "core-must-understand")
    req = good_request(env, 18)
    kids = "".join("<%s>%s</%s>" % (k, xml_text(v), k) for k, v in fields_for(req))
    must = ('<s:Envelope xmlns:s="%s"><s:Header><x:T xmlns:x="urn:x" s:mustUnderstand="true"/>'
            '</s:Header><s:Body><c:COREEnvelopeRealTimeRequest xmlns:c="%s">%s'
            '</c:COREEnvelopeRealTimeRequest></s:Body></s:Envelope>'
            % (NS_SOAP12, NS_CORE, kids)).encode()
    try:
        with CoreClient(d.ports[0]) as c:
            c.send(http_request(SOAP_PATH, must, "application/soap+xml; charset=utf-8"))
            r = c.reply()
            check(r.status == 400 and r.kind == "fault", "got %r" % r)
            check(r.fault_code == (NS_SOAP12, "MustUnderstand"),
                  "Fault code %s (reason %r), want env:MustUnderstand"
                  % (r.fault_code, r.fault_reason))
            pid = new_id()
            check_envelope(c.envelope("soap", fields_for(req, payload_id=pid)), "after it",
                           payload_type=PT_BY_KIND["271"], payload_id=pid)
    finally:
        d.kill()


# ============================================================ 4. bad HTTP, hostile input

BILLION_LAUGHS = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1
                                                             else b"&lol;") * 10)
                             for i in range(1, 10))
                  + b']>\n<soapenv:Envelope xmlns:soapenv="' + NS_SOAP12.encode()
                  + b'"><soapenv:Body><cor:COREEnvelopeRealTimeRequest xmlns:cor="'
                  + NS_CORE.encode() + b'"><PayloadType>&lol9;</PayloadType>'
                  b'</cor:COREEnvelopeRealTimeRequest></soapenv:Body></soapenv:Envelope>')


def xxe_body(fields):
    doc = soap_request(fields).decode()
    doc = doc.replace('<?xml version="1.0" encoding="UTF-8"?>\n',
                      '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE e [<!ENTITY xxe '
                      'SYSTEM "file:///etc/passwd">]>\n')
    doc = doc.replace("<ReceiverID>CMS</ReceiverID>", "<ReceiverID>&xxe;</ReceiverID>")
    return doc.encode()


@test("core: bad HTTP and hostile input: 400/404/405/408/411/413/415/431, 100-continue, "
      "chunked, broken multipart, two envelopes, UTF-16, billion laughs, XXE, pipelining; "
      "the server stays up", transports=ONCE)
def core_hostile(env, report):
    work = env.scratch("core-hostile")
    d = core_daemon(env, "core-hostile", [env.core_listener()],
                    partners=partners_with_certs(env, work),
                    settings={"frame_deadline_ms": 1000, "max_body_bytes": 65536})
    port = d.port
    req = good_request(env, 20)
    soap_ct = "application/soap+xml; charset=utf-8"
    good_soap = lambda pid=None: soap_request(fields_for(req, payload_id=pid))  # noqa: E731
    failures = []

    def still_up(what):
        pid = new_id()
        with CoreClient(port) as c:
            r = c.envelope("soap", fields_for(req, payload_id=pid))
        check_envelope(r, "good request after %s" % what, payload_type=PT_BY_KIND["271"],
                       payload_id=pid)

    def http_error(data, status, close=True, after=None):
        def run():
            with CoreClient(port) as c:
                c.send(data)
                if after:
                    after(c)
                r = c.reply()
                check(r.status == status and r.kind == "plain",
                      "want a plain HTTP %d, got %r" % (status, r))
                if close:
                    c.conn.wait_closed(5)
        return run

    def case(name, fn):
        sub = "core/hostile/" + name
        try:
            fn()
            still_up(name)
            report(sub, True, None)
        except Fail as e:
            failures.append(name)
            report(sub, False, str(e))

    def deadline_408():
        with CoreClient(port) as c:
            full = http_request(SOAP_PATH, good_soap(), soap_ct)
            t0 = time.monotonic()
            c.send(full[:len(full) // 2])
            r = c.reply(timeout=5)
            took = (time.monotonic() - t0) * 1000
            check(r.status == 408, "half a request: want 408, got %r" % r)
            check(900 <= took <= 2500 + SLACK_MS, "408 came %.0f ms after the first byte, "
                  "frame_deadline_ms is 1000" % took)
            c.conn.wait_closed(5)

    def chunked_413():
        with CoreClient(port) as c:
            c.send(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\n"
                   b"Transfer-Encoding: chunked\r\n\r\n" % (SOAP_PATH.encode(), soap_ct.encode()))
            chunk = b"%x\r\n%s\r\n" % (8192, b"<" * 8192)
            for _ in range(40):  # 320 KiB at most, the limit is 64 KiB
                try:
                    c.send(chunk)
                except Closed:
                    break
                c.conn._fill(time.monotonic())  # an answer already?
                if c.conn.buf or c.conn.eof:
                    break
            r = c.reply()
            check(r.status == 413, "a chunked body past max_body_bytes: %r" % r)
            c.conn.wait_closed(5)

    def continue_100():
        with CoreClient(port) as c:
            pid = new_id()
            body = good_soap(pid)
            c.send(http_request(SOAP_PATH, b"", soap_ct, length=False,
                                extra=("Content-Length: %d" % len(body), "Expect: 100-continue")))
            r = c.reply(timeout=5)
            check(r.status == 100, "want 100 Continue before the body, got %r" % r)
            c.send(body)
            check_envelope(c.reply(), "after 100 Continue", payload_type=PT_BY_KIND["271"],
                           payload_id=pid)

    def chunked_ok():
        with CoreClient(port) as c:
            pid = new_id()
            body = good_soap(pid)
            thirds = [body[:100], body[100:700], body[700:]]
            data = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in thirds) + b"0\r\n\r\n"
            c.send(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\n"
                   b"Transfer-Encoding: chunked\r\n\r\n" % (SOAP_PATH.encode(), soap_ct.encode()))
            c.send(data[:50])
            c.send(data[50:])
            check_envelope(c.reply(), "chunked body", payload_type=PT_BY_KIND["271"],
                           payload_id=pid)

    def mime_400(body, ctype):
        def run():
            with CoreClient(port) as c:
                c.send(http_request(MIME_PATH, body, ctype))
                r = c.reply()
                check(r.status == 400, "want 400, got %r" % r)
        return run

    def mime_ok(body, ctype):
        def run():
            with CoreClient(port) as c:
                c.send(http_request(MIME_PATH, body, ctype))
                check_envelope(c.reply(), "MIME", payload_type=PT_BY_KIND["271"], kind="mime")
        return run

    def soap_fault(body, ctype=soap_ct):
        def run():
            with CoreClient(port) as c:
                c.send(http_request(SOAP_PATH, body, ctype))
                check_fault(c.reply(), "fault")
        return run

    def xxe():
        with CoreClient(port) as c:
            c.send(http_request(SOAP_PATH, xxe_body(fields_for(req)), soap_ct))
            r = c.reply()
            check(b"root:" not in r.resp.body and b"root:" not in r.resp.raw_head,
                  "XXE: /etc/passwd in the response")
            check_fault(r, "XXE")

    def pipelined():
        ids = [new_id(), new_id(), new_id()]
        data = (soap_http(fields_for(req, payload_id=ids[0]))
                + mime_http(fields_for(req, payload_id=ids[1]))
                + soap_http(fields_for(req, payload_id=ids[2], ReceiverID="HHS")))
        with CoreClient(port) as c:
            c.send(data)
            got = [c.reply() for _ in ids]
        check_envelope(got[0], "pipelined 1", payload_id=ids[0], kind="soap",
                       payload_type=PT_BY_KIND["271"])
        check_envelope(got[1], "pipelined 2", payload_id=ids[1], kind="mime",
                       payload_type=PT_BY_KIND["271"])
        check_envelope(got[2], "pipelined 3", payload_id=ids[2], kind="soap",
                       code="ReceiverIDIllegal")

    def close_then_pipelined():
        # RFC 9112 9.6: nothing after a request saying "Connection: close"
        # is processed; its answer says close and the connection ends.
        first = (b"GET %s?wsdl HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
                 % SOAP_PATH.encode())
        with CoreClient(port) as c:
            c.send(first + soap_http(fields_for(req, payload_id=new_id())))
            r = c.reply()
            check(r.status == 200 and b"wsdl:definitions" in r.resp.body,
                  "the request with Connection: close: %r" % r)
            check(b"connection: close" in r.resp.raw_head.lower(),
                  "its answer does not say Connection: close")
            c.conn.wait_closed(5)

    def wsdl_host():
        with CoreClient(port) as c:
            c.send(b'GET %s?wsdl HTTP/1.1\r\nHost: evil"><x>\r\n\r\n' % SOAP_PATH.encode())
            r = c.reply()
        check(r.status == 200 and b"wsdl:definitions" in r.resp.body,
              "WSDL with a hostile Host: %r" % r)
        check(b"evil" not in r.resp.body and b"<x>" not in r.resp.body,
              "the hostile Host is echoed into the WSDL")

    smuggle = (b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: 4\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" % (SOAP_PATH.encode(), soap_ct.encode())
               + http_request(SOAP_PATH, b"hello", soap_ct))
    b = "openhets-test-b"
    good_mime = mime_request(fields_for(req), b)
    dup = mime_request(fields_for(req) + [("SenderID", b"SUBMITTER01")], b)
    two_env = good_soap() + good_soap()[len(b'<?xml version="1.0" encoding="UTF-8"?>\n'):]
    utf16 = good_soap().decode().replace('encoding="UTF-8"', 'encoding="UTF-16"') \
        .encode("utf-16")
    try:
        case("400 malformed request line", http_error(b"GARBAGE\r\n\r\n", 400))
        case("400 bad header line", http_error(b"POST %s HTTP/1.1\r\nHost x\r\n\r\n"
                                               % SOAP_PATH.encode(), 400))
        case("400 Content-Length and chunked together (smuggling)", http_error(smuggle, 400))
        case("400 two different Content-Lengths", http_error(
            http_request(SOAP_PATH, b"hello", soap_ct, extra=("Content-Length: 6",)), 400))
        case("505 HTTP/2.0", http_error(b"POST %s HTTP/2.0\r\nHost: x\r\n\r\n"
                                        % SOAP_PATH.encode(), 505))
        case("501 Transfer-Encoding: gzip, chunked", http_error(
            b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\n"
            b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n"
            % (SOAP_PATH.encode(), soap_ct.encode()), 501))
        case("400 HTTP/1.1 without Host", http_error(b"GET %s?wsdl HTTP/1.1\r\n\r\n"
                                                     % SOAP_PATH.encode(), 400))
        case("WSDL: a hostile Host is not echoed", wsdl_host)
        case("Connection: close, then a pipelined request: not answered", close_then_pipelined)
        case("404 unknown path", http_error(http_request("/eligibility/realtime/x", b"x",
                                                         soap_ct), 404))
        case("404 GET without ?wsdl", http_error(http_request(SOAP_PATH, b"", None, "GET",
                                                              length=False), 404))
        case("405 PUT", http_error(http_request(SOAP_PATH, b"x", soap_ct, "PUT"), 405))
        case("405 GET on the MIME path", http_error(http_request(MIME_PATH, b"", None, "GET",
                                                                 length=False), 405))
        case("408 half a request under frame_deadline_ms 1000", deadline_408)
        case("411 POST without a length", http_error(http_request(SOAP_PATH, b"", soap_ct,
                                                                  length=False), 411))
        case("413 Content-Length of 10 MB", http_error(
            http_request(SOAP_PATH, b"", soap_ct, length=False,
                         extra=("Content-Length: 10485760",)), 413))
        case("413 chunked body growing past max_body_bytes", chunked_413)
        case("415 text/xml on the SOAP path", http_error(
            http_request(SOAP_PATH, good_soap(), "text/xml; charset=utf-8"), 415))
        case("415 application/json on the MIME path", http_error(
            http_request(MIME_PATH, b"{}", "application/json"), 415))
        case("431 17 KiB of headers", http_error(
            http_request(SOAP_PATH, good_soap(), soap_ct,
                         extra=["X-Filler-%d: %s" % (i, "a" * 1000) for i in range(17)]), 431))
        case("Expect: 100-continue", continue_100)
        case("chunked body answered", chunked_ok)
        case("truncated multipart", mime_400(good_mime[:-40],
                                             "multipart/form-data; boundary=%s" % b))
        case("duplicate parts", mime_400(dup, "multipart/form-data; boundary=%s" % b))
        case("multipart without a boundary", mime_400(good_mime, "multipart/form-data"))
        mct = "multipart/form-data; boundary=%s" % b
        f = fields_for(req)
        case("MIME parts in reverse order", mime_ok(mime_request(list(reversed(f)), b), mct))
        case("MIME with an unknown extra part", mime_ok(mime_request(f + [("Other", b"x")], b),
                                                        mct))
        case("MIME with a quoted boundary holding a space",
             mime_ok(mime_request(f, "a b"), 'multipart/form-data; boundary="a b"'))
        case("MIME with a preamble and an epilogue",
             mime_ok(b"preamble\r\n" + mime_request(f, b) + b"epilogue", mct))
        case("MIME Payload part with a filename", mime_ok(
            mime_request(f, b).replace(b'name="Payload"', b'name="Payload"; filename="a.x12"'),
            mct))
        case("MIME base64 Content-Transfer-Encoding", mime_400(
            mime_request(f, b).replace(b'name="Payload"\r\n', b'name="Payload"\r\n'
                                       b'Content-Transfer-Encoding: base64\r\n'), mct))
        case("MIME with 40 parts", mime_400(
            mime_request(f + [("X%d" % i, b"x") for i in range(32)], b), mct))
        case("two envelopes in one SOAP body", soap_fault(two_env))
        case("UTF-16 document", soap_fault(utf16))
        case("billion laughs", soap_fault(BILLION_LAUGHS))
        case("XXE naming /etc/passwd", xxe)
        case("three requests pipelined in one write, answered in order", pipelined)
        check(d.alive(), "the daemon is gone")
        text = "\n".join(t for t, _ in d.lines) + d.stderr_text()
        check("root:" not in text, "/etc/passwd's content in the log or on stderr")
        if failures:
            raise Fail("%d hostile case(s) failed: %s" % (len(failures), failures))
    finally:
        d.kill()


@test("core: 32 connections at once, SOAP and MIME, each gets its own answer (PayloadID, "
      "trace) equal to the Extranet's", transports=ONCE)
def core_concurrent(env, report):
    import threading
    work = env.scratch("core-concurrent")
    d = core_daemon(env, "core-concurrent", [env.core_listener(), extranet_listener()],
                    partners=partners_with_certs(env, work), args=["--workers", "4"])
    n = 32
    reqs = [good_request(env, 100 + i, trace="PAR%05d" % i) for i in range(n)]
    try:
        ext = Conn(d.ports[1], tls=False)
        want = [extranet_answer(ext, r) for r in reqs]
        ext.close()
        clients = [CoreClient(d.ports[0]) for _ in range(n)]
        errors = [None] * n
        start = threading.Barrier(n)

        def one(i):
            try:
                kind = "soap" if i % 2 else "mime"
                pid = new_id()
                data = envelope_http(kind, fields_for(reqs[i], payload_id=pid))
                start.wait(10)
                clients[i].send(data)
                r = clients[i].reply()
                check_envelope(r, "connection %d" % i, payload_type=PT_BY_KIND["271"],
                               payload_id=pid, kind=kind)
                same_x12(r.fields["Payload"], want[i], "connection %d" % i)
            except Exception as e:  # noqa: BLE001 (reported below)
                errors[i] = "%s: %s" % (e.__class__.__name__, e)

        threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(ANSWER_TIMEOUT + 15)
        for c in clients:
            c.close()
        bad = [(i, e) for i, e in enumerate(errors) if e]
        check(not any(t.is_alive() for t in threads), "a client thread is still waiting")
        check(not bad, "%d of %d connections failed, first: %s" % (len(bad), n, bad[:1]))
    finally:
        d.kill()


# ============================================================ 5. idle

@test("core: idle keep-alive closes at the listener's idle_timeout_ms (300 ms); a core "
      "listener's default is 60 s (open at 6 s where the Extranet's 5 s closes)",
      transports=ONCE)
def core_idle(env, report):
    work = env.scratch("core-idle")
    d = core_daemon(env, "core-idle", [env.core_listener(idle_timeout_ms=300),
                                       env.core_listener(), extranet_listener()],
                    partners=partners_with_certs(env, work))
    req = good_request(env, 30)
    try:
        short = CoreClient(d.ports[0])
        pid = new_id()
        check_envelope(short.envelope("soap", fields_for(req, payload_id=pid)), "short idle",
                       payload_type=PT_BY_KIND["271"], payload_id=pid)
        t_ans = short.conn.t_last_rx
        t_eof = short.conn.wait_closed(5)
        idle = (t_eof - t_ans) * 1000
        short.close()
        check(299 <= idle <= 450 + SLACK_MS, "idle_timeout_ms 300: closed %.0f ms after the "
              "answer" % idle)
        port = short.conn.local_port
        op = d.wait_event(lambda e: e.get("event") == "open"
                          and str(e.get("peer", "")).endswith(":%d" % port), 5)
        check(op is not None, "no open event for the client on port %d" % port)
        ev = d.wait_event(lambda e: e.get("event") == "close"
                          and e.get("session") == op["session"], 5)
        check(ev is not None and ev.get("reason") == "idle",
              "the short-idle connection's close: %s" % ev)

        # Default: the core listener stays open past the Extranet's 5 s.
        core = CoreClient(d.ports[1])
        ext = Conn(d.ports[2], tls=False)
        r = core.envelope("soap", fields_for(req))
        check(r.code() == "Success", "default core listener: %r" % r)
        extranet_answer(ext, req)
        t_ext = ext.t_last_rx
        t_eof = ext.wait_closed(7)
        check(4900 <= (t_eof - t_ext) * 1000 <= 5600, "Extranet idle close after %.0f ms"
              % ((t_eof - t_ext) * 1000))
        left = 6.0 - (time.monotonic() - core.conn.t_last_rx)
        check(core.conn.still_open_after(max(left, 0)), "the core listener closed before 6 s "
              "(its default idle timeout is 60 s)")
        pid = new_id()
        check_envelope(core.envelope("soap", fields_for(req, payload_id=pid)),
                       "core connection after 6 s idle", payload_id=pid,
                       payload_type=PT_BY_KIND["271"])
        core.close()
        ext.close()
    finally:
        d.kill()


# ============================================================ 6. log

@test("core: request lines carry door, envelope, payload_id, http_status, error_code; no PHI "
      "or password in any core test's log", transports=ONCE)
def core_log(env, report):
    daemons = [d for d in env.daemons if d.name.startswith("core-")]
    if not daemons:  # run alone: make some traffic of our own
        d = rules_daemon(env, "core-log")
        req = good_request(env, 40)
        with CoreClient(d.ports[0]) as c:
            for kind in ("soap", "mime"):
                c.envelope(kind, fields_for(req))
                c.envelope(kind, fields_for(req, ReceiverID="HHS"))
        with CoreClient(d.ports[0], cert=None) as c:
            c.envelope("soap", fields_for(req))
        d.wait_count(lambda e: e.get("event") == "request", 5, 5)
        d.kill()
        daemons = [d]
    seen_env = set()
    n = 0
    for d in daemons:
        for e in d.events("request"):
            door = e.get("door")
            check(door in ("core", "extranet"), "%s: request line door %r" % (d.name, door))
            if door != "core":
                check("envelope" not in e and "http_status" not in e,
                      "%s: an Extranet request line with core fields: %s" % (d.name, e))
                continue
            n += 1
            check(isinstance(e.get("http_status"), int), "%s: core request line without "
                  "http_status: %s" % (d.name, e))
            if "envelope" in e:
                seen_env.add(e["envelope"])
                check(e["envelope"] in ("soap", "mime", "wsdl"), "%s: envelope %r"
                      % (d.name, e["envelope"]))
                # Every envelope or Fault answered names its ErrorCode (a
                # MIME body that is not multipart gets plain HTTP 400).
                if e["envelope"] != "wsdl" and not (e["envelope"] == "mime"
                                                    and e["http_status"] == 400):
                    check(e.get("error_code"), "%s: no error_code: %s" % (d.name, e))
                if e.get("error_code") == "Success":
                    check(re.match(r"^[0-9a-fA-F-]{36}$", e.get("payload_id") or ""),
                          "%s: Success without a payload_id: %s" % (d.name, e))
                    check(e.get("answer") in ("271", "999", "TA1") and e.get("submitter"),
                          "%s: Success line: %s" % (d.name, e))
        lines = "\n".join(t for t, _ in d.lines) + "\n" + d.stderr_text()
        for v in sorted(env.phi):
            check(v not in lines, "%s: PHI %r in the log or on stderr" % (d.name, v))
        check(PASSWORD not in lines and "root:" not in lines,
              "%s: a password or /etc/passwd in the log" % d.name)
    check(n > 0 and {"soap", "mime"} <= seen_env, "core request lines: %d, envelopes %s"
          % (n, seen_env))
