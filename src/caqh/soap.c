/* The SOAP 1.2 envelope, its XSD and the WSDL (soap.h), with libxml2.
 *
 * Reading is defensive: no network, no DTD (a DOCTYPE anywhere is refused
 * before and after parsing, so there are no entities to expand), UTF-8
 * forced, and libxml2's messages caught per call on the calling thread
 * (workers must not print).  The schema is parsed once and only read
 * afterwards; each call validates with a context of its own. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>

#include "caqh/soap.h"

/* caqh_xsd.c, generated from src/caqh/CORERule2.2.0.xsd by soap.mk. */
extern const char ohets_caqh_xsd[];

#define NS_SOAP11 "http://schemas.xmlsoap.org/soap/envelope/"
#define NS_WSSE "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
#define PW_TEXT                                                                         \
  "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0" \
  "#PasswordText"
#define EL_REQUEST "COREEnvelopeRealTimeRequest"
#define EL_RESPONSE "COREEnvelopeRealTimeResponse"

/* Read-only once init returns: every thread validates against it. */
static xmlSchemaPtr schema;

/* Each thread keeps its parser and validation contexts between documents
 * (a worker reads one envelope per request): made on first use, freed when
 * the thread ends or at cleanup. */
typedef struct thread_ctx {
  xmlParserCtxtPtr parser;
  xmlSchemaValidCtxtPtr valid;
} thread_ctx;

static pthread_key_t ctx_key;
static int ctx_key_made;

static void thread_ctx_free(void *p) {
  thread_ctx *t = p;
  if (t == NULL)
    return;
  if (t->parser != NULL)
    xmlFreeParserCtxt(t->parser);
  if (t->valid != NULL)
    xmlSchemaFreeValidCtxt(t->valid);
  free(t);
}

/* This thread's contexts; NULL when they cannot be made. */
static thread_ctx *thread_ctx_get(void) {
  if (!ctx_key_made)
    return NULL;
  thread_ctx *t = pthread_getspecific(ctx_key);
  if (t != NULL)
    return t;
  t = calloc(1, sizeof *t);
  if (t == NULL)
    return NULL;
  t->parser = xmlNewParserCtxt();
  t->valid = xmlSchemaNewValidCtxt(schema);
  if (t->parser == NULL || t->valid == NULL || pthread_setspecific(ctx_key, t) != 0) {
    thread_ctx_free(t);
    return NULL;
  }
  return t;
}

#define X(s) ((const xmlChar *)(s))

/* ------------------------------------------------------------ quiet */

/* libxml2's error handlers are per thread (the main thread's are the
 * globals); a call swaps in its own for its duration so nothing reaches
 * stderr and the first error's code can be reported. */
typedef struct quiet {
  xmlStructuredErrorFunc old_s;
  void *old_s_ctx;
  xmlGenericErrorFunc old_g;
  void *old_g_ctx;
  int errors, code, line;
} quiet;

static void on_structured(void *ctx, xmlErrorPtr err) {
  quiet *q = ctx;
  if (q->errors++ == 0 && err != NULL) {
    q->code = err->code;
    q->line = err->line;
  }
}

static void on_generic(void *ctx, const char *msg, ...) {
  quiet *q = ctx;
  (void)msg;
  q->errors++;
}

static void quiet_begin(quiet *q) {
  memset(q, 0, sizeof *q);
  q->old_s = xmlStructuredError;
  q->old_s_ctx = xmlStructuredErrorContext;
  q->old_g = xmlGenericError;
  q->old_g_ctx = xmlGenericErrorContext;
  xmlSetStructuredErrorFunc(q, on_structured);
  xmlSetGenericErrorFunc(q, on_generic);
}

static void quiet_end(quiet *q) {
  xmlSetStructuredErrorFunc(q->old_s_ctx, q->old_s);
  xmlSetGenericErrorFunc(q->old_g_ctx, q->old_g);
}

/* ------------------------------------------------------------ init */

int ohets_caqh_soap_init(void) {
  int rc = 0;
  quiet q;
  if (schema != NULL)
    return 0;
  xmlInitParser();
  quiet_begin(&q);
  xmlSchemaParserCtxtPtr pc = xmlSchemaNewMemParserCtxt(ohets_caqh_xsd, (int)strlen(ohets_caqh_xsd));
  if (pc == NULL) {
    rc = -ENOMEM;
    goto out;
  }
  schema = xmlSchemaParse(pc);
  xmlSchemaFreeParserCtxt(pc);
  if (schema == NULL)
    rc = -EINVAL;
  else if (!ctx_key_made && pthread_key_create(&ctx_key, thread_ctx_free) == 0)
    ctx_key_made = 1;
out:
  quiet_end(&q);
  return rc;
}

void ohets_caqh_soap_cleanup(void) {
  if (ctx_key_made) { /* other threads freed theirs when they ended */
    thread_ctx_free(pthread_getspecific(ctx_key));
    pthread_setspecific(ctx_key, NULL);
    pthread_key_delete(ctx_key);
    ctx_key_made = 0;
  }
  if (schema != NULL)
    xmlSchemaFree(schema);
  schema = NULL;
  xmlCleanupParser();
}

const char *ohets_caqh_xsd_text(void) { return ohets_caqh_xsd; }

/* ------------------------------------------------------------ helpers */

static int named(const xmlNode *n, const char *ns, const char *name) {
  if (n == NULL || n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, name) != 0)
    return 0;
  if (ns == NULL)
    return n->ns == NULL;
  return n->ns != NULL && n->ns->href != NULL && strcmp((const char *)n->ns->href, ns) == 0;
}

static int blank(const xmlChar *s) {
  for (; s != NULL && *s; s++)
    if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
      return 0;
  return 1;
}

/* Text and CDATA that is not whitespace: content where only elements may
 * stand (comments and processing instructions are harmless). */
static int stray_text(const xmlNode *n) {
  return (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) && !blank(n->content);
}

static int has_element_child(const xmlNode *n) {
  for (const xmlNode *c = n->children; c != NULL; c = c->next)
    if (c->type == XML_ELEMENT_NODE)
      return 1;
  return 0;
}

/* Concatenated text and CDATA children, comments skipped. */
static char *text_of(const xmlNode *n, size_t *len) {
  size_t total = 0;
  for (const xmlNode *c = n->children; c != NULL; c = c->next)
    if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content != NULL)
      total += strlen((const char *)c->content);
  char *s = malloc(total + 1);
  if (s == NULL)
    return NULL;
  size_t at = 0;
  for (const xmlNode *c = n->children; c != NULL; c = c->next)
    if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content != NULL) {
      size_t k = strlen((const char *)c->content);
      memcpy(s + at, c->content, k);
      at += k;
    }
  s[at] = '\0';
  *len = at;
  return s;
}

/* A name from the input, made safe for a message: printable ASCII, short. */
static void safe_copy(char *dst, size_t dstsz, const char *src, size_t max) {
  size_t i = 0;
  for (; src != NULL && src[i] && i < max && i + 1 < dstsz; i++)
    dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
  if (dstsz > 0)
    dst[i < dstsz ? i : dstsz - 1] = '\0';
}

static ohets_caqh_soap_status fault(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static ohets_caqh_soap_status fault(char *err, size_t errsz, const char *fmt, ...) {
  if (err != NULL && errsz > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
  }
  return OHETS_CAQH_SOAP_FAULT;
}

/* ------------------------------------------------------------ read */

static int contains(const uint8_t *p, size_t n, const char *needle) {
  size_t k = strlen(needle);
  for (size_t i = 0; k <= n && i <= n - k; i++)
    if (p[i] == (uint8_t)needle[0] && memcmp(p + i, needle, k) == 0)
      return 1;
  return 0;
}

static ohets_caqh_soap_status read_security(const xmlNode *sec, ohets_caqh_envelope *e, char *err,
                                            size_t errsz) {
  for (const xmlNode *t = sec->children; t != NULL; t = t->next) {
    if (!named(t, NS_WSSE, "UsernameToken"))
      continue;
    if (e->username != NULL || e->password != NULL)
      return fault(err, errsz, "more than one UsernameToken");
    for (const xmlNode *c = t->children; c != NULL; c = c->next) {
      char **dst;
      size_t *dst_len;
      if (named(c, NS_WSSE, "Username")) {
        dst = &e->username;
        dst_len = &e->username_len;
      } else if (named(c, NS_WSSE, "Password")) {
        xmlChar *type = xmlGetNoNsProp(c, X("Type"));
        const char *ty = (const char *)type;
        size_t tl = ty != NULL ? strlen(ty) : 0;
        int digest = tl >= 15 && strcmp(ty + tl - 15, "#PasswordDigest") == 0;
        int text = ty == NULL || (tl >= 13 && strcmp(ty + tl - 13, "#PasswordText") == 0);
        xmlFree(type);
        if (digest)
          return fault(err, errsz, "PasswordDigest not supported");
        if (!text)
          return fault(err, errsz, "unsupported UsernameToken Password Type");
        dst = &e->password;
        dst_len = &e->password_len;
      } else {
        continue; /* Nonce, Created: nothing to check with PasswordText */
      }
      if (*dst != NULL)
        return fault(err, errsz, "UsernameToken with a repeated %s", (const char *)c->name);
      if (has_element_child(c))
        return fault(err, errsz, "UsernameToken %s has element children", (const char *)c->name);
      *dst = text_of(c, dst_len);
      if (*dst == NULL)
        return fault(err, errsz, "out of memory");
    }
  }
  return OHETS_CAQH_SOAP_OK;
}

static ohets_caqh_soap_status read_header(const xmlNode *h, ohets_caqh_envelope *e, char *err,
                                          size_t errsz) {
  for (const xmlNode *b = h->children; b != NULL; b = b->next) {
    if (b->type != XML_ELEMENT_NODE)
      continue;
    if (named(b, NS_WSSE, "Security")) {
      ohets_caqh_soap_status st = read_security(b, e, err, errsz);
      if (st != OHETS_CAQH_SOAP_OK)
        return st;
      continue;
    }
    xmlChar *mu = xmlGetNsProp(b, X("mustUnderstand"), X(OHETS_CAQH_NS_SOAP12));
    int must = 0;
    if (mu != NULL) {
      const char *s = (const char *)mu;
      while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
      size_t k = strcspn(s, " \t\r\n");
      must = (k == 4 && memcmp(s, "true", 4) == 0) || (k == 1 && *s == '1');
      xmlFree(mu);
    }
    if (must) {
      char name[48];
      safe_copy(name, sizeof name, (const char *)b->name, 40);
      (void)fault(err, errsz, "MustUnderstand: header block %s is not understood", name);
      return OHETS_CAQH_SOAP_MUST_UNDERSTAND;
    }
  }
  return OHETS_CAQH_SOAP_OK;
}

/* The reason of a SOAP 1.2 Fault, for a client's message. */
static ohets_caqh_soap_status read_fault(const xmlNode *f, char *err, size_t errsz) {
  char reason[200] = "(no reason)";
  for (const xmlNode *r = f->children; r != NULL; r = r->next) {
    if (!named(r, OHETS_CAQH_NS_SOAP12, "Reason"))
      continue;
    for (const xmlNode *t = r->children; t != NULL; t = t->next)
      if (named(t, OHETS_CAQH_NS_SOAP12, "Text")) {
        size_t len;
        char *s = text_of(t, &len);
        if (s != NULL) {
          safe_copy(reason, sizeof reason, s, sizeof reason - 1);
          free(s);
        }
        break;
      }
    break;
  }
  return fault(err, errsz, "SOAP Fault: %s", reason);
}

/* The body element's children: known, unqualified, element-free fields in
 * envelope order, each once.  present[f] says which appeared. */
static ohets_caqh_soap_status check_fields(const xmlNode *el, int nfields, int present[], char *err,
                                           size_t errsz) {
  int last = -1;
  for (const xmlNode *c = el->children; c != NULL; c = c->next) {
    if (stray_text(c))
      return fault(err, errsz, "text between the envelope fields");
    if (c->type != XML_ELEMENT_NODE)
      continue;
    char name[48];
    safe_copy(name, sizeof name, (const char *)c->name, 40);
    if (c->ns != NULL)
      return fault(err, errsz, "field %s is namespace-qualified (fields are unqualified)", name);
    const char *n = (const char *)c->name;
    int f = ohets_caqh_field_of(n, strlen(n));
    if (f < 0 || f >= nfields)
      return fault(err, errsz, "unknown element %s in the envelope", name);
    if (present[f])
      return fault(err, errsz, "field %s appears twice", name);
    if (f < last)
      return fault(err, errsz, "field %s is out of order", name);
    if (has_element_child(c))
      return fault(err, errsz, "field %s has element children", name);
    present[f] = 1;
    last = f;
  }
  return OHETS_CAQH_SOAP_OK;
}

/* 0 valid, 1 invalid, -1 libxml2 could not validate. */
static int validate(xmlNodePtr el) {
  thread_ctx *t = thread_ctx_get();
  xmlSchemaValidCtxtPtr vc = t != NULL ? t->valid : xmlSchemaNewValidCtxt(schema);
  if (vc == NULL)
    return -1;
  int r = xmlSchemaValidateOneElement(vc, el);
  if (t == NULL)
    xmlSchemaFreeValidCtxt(vc);
  return r == 0 ? 0 : r > 0 ? 1 : -1;
}

/* Adds an empty element for every missing field, where it belongs, so
 * that a second validation tells whether missing fields were all that
 * was wrong. */
static int fill_missing(xmlDocPtr doc, xmlNodePtr el, int nfields, const int present[]) {
  for (int f = 0; f < nfields; f++) {
    if (present[f])
      continue;
    xmlNodePtr add = xmlNewDocNode(doc, NULL, X(ohets_caqh_field_name((ohets_caqh_field)f)), NULL);
    if (add == NULL)
      return -ENOMEM;
    xmlNodePtr before = NULL;
    for (xmlNodePtr c = el->children; c != NULL && before == NULL; c = c->next) {
      const char *n = (const char *)c->name;
      if (c->type == XML_ELEMENT_NODE && ohets_caqh_field_of(n, strlen(n)) > f)
        before = c;
    }
    if ((before != NULL ? xmlAddPrevSibling(before, add) : xmlAddChild(el, add)) == NULL) {
      xmlFreeNode(add);
      return -ENOMEM;
    }
  }
  return 0;
}

static ohets_caqh_soap_status read_doc(xmlDocPtr doc, int response, ohets_caqh_envelope *e,
                                       char *err, size_t errsz) {
  ohets_caqh_soap_status st;
  xmlNodePtr root = xmlDocGetRootElement(doc);
  if (doc->intSubset != NULL || doc->extSubset != NULL)
    return fault(err, errsz, "malformed: a DOCTYPE is not allowed");
  if (root == NULL)
    return fault(err, errsz, "malformed: no root element");
  if (named(root, NS_SOAP11, "Envelope"))
    return fault(err, errsz, "VersionMismatch: a SOAP 1.1 envelope (SOAP 1.2 is required)");
  if (!named(root, OHETS_CAQH_NS_SOAP12, "Envelope"))
    return fault(err, errsz, "not a SOAP 1.2 Envelope");

  xmlNodePtr header = NULL, body = NULL;
  for (xmlNodePtr c = root->children; c != NULL; c = c->next) {
    if (stray_text(c))
      return fault(err, errsz, "text in the Envelope");
    if (c->type != XML_ELEMENT_NODE)
      continue;
    if (named(c, OHETS_CAQH_NS_SOAP12, "Header") && header == NULL && body == NULL)
      header = c;
    else if (named(c, OHETS_CAQH_NS_SOAP12, "Body") && body == NULL)
      body = c;
    else
      return fault(err, errsz, "unexpected element in the Envelope (Header?, Body only)");
  }
  if (body == NULL)
    return fault(err, errsz, "no Body in the Envelope");

  xmlNodePtr el = NULL;
  for (xmlNodePtr c = body->children; c != NULL; c = c->next) {
    if (stray_text(c))
      return fault(err, errsz, "text in the Body");
    if (c->type != XML_ELEMENT_NODE)
      continue;
    if (el != NULL)
      return fault(err, errsz, "more than one element in the Body");
    el = c;
  }
  if (el == NULL)
    return fault(err, errsz, "empty Body");
  if (response && named(el, OHETS_CAQH_NS_SOAP12, "Fault"))
    return read_fault(el, err, errsz);
  const char *want = response ? EL_RESPONSE : EL_REQUEST;
  if (!named(el, OHETS_CAQH_NS_CORE, want))
    return fault(err, errsz, "the Body element is not {" OHETS_CAQH_NS_CORE "}%s", want);

  if (header != NULL && (st = read_header(header, e, err, errsz)) != OHETS_CAQH_SOAP_OK)
    return st;

  int nfields = response ? OHETS_CAQH_N_FIELDS : OHETS_CAQH_N_REQUEST_FIELDS;
  int present[OHETS_CAQH_N_FIELDS] = {0};
  if ((st = check_fields(el, nfields, present, err, errsz)) != OHETS_CAQH_SOAP_OK)
    return st;

  for (xmlNodePtr c = el->children; c != NULL; c = c->next) {
    if (c->type != XML_ELEMENT_NODE)
      continue;
    const char *n = (const char *)c->name;
    int f = ohets_caqh_field_of(n, strlen(n));
    size_t len;
    char *v = text_of(c, &len);
    if (v == NULL)
      return fault(err, errsz, "out of memory");
    /* The envelope owns a copy; the scratch one is wiped (it may be PHI). */
    int rc = ohets_caqh_envelope_set(e, (ohets_caqh_field)f, v, len);
    memset(v, 0, len);
    free(v);
    if (rc != 0)
      return fault(err, errsz, "out of memory");
  }

  int v = validate(el);
  if (v == 1) {
    int missing = 0;
    for (int f = 0; f < nfields; f++)
      missing |= !present[f];
    /* Only a missing field may explain the failure: add them empty and
     * ask again. */
    if (missing && fill_missing(doc, el, nfields, present) == 0)
      v = validate(el);
  }
  if (v < 0)
    return fault(err, errsz, "the envelope could not be validated");
  if (v > 0)
    return fault(err, errsz, "the %s does not match the envelope schema", want);
  return OHETS_CAQH_SOAP_OK;
}

ohets_caqh_soap_status ohets_caqh_soap_read(const uint8_t *body, size_t n, int response,
                                            ohets_caqh_envelope *e, char *err, size_t errsz) {
  ohets_caqh_soap_status st;
  xmlDocPtr doc = NULL;
  quiet q;
  ohets_caqh_envelope_clear(e);
  if (err != NULL && errsz > 0)
    err[0] = '\0';
  quiet_begin(&q);
  if (schema == NULL) {
    st = fault(err, errsz, "SOAP reader not initialised");
    goto out;
  }
  if (n == 0 || body == NULL) {
    st = fault(err, errsz, "malformed: empty document");
    goto out;
  }
  if (n > INT_MAX) {
    st = fault(err, errsz, "document too large");
    goto out;
  }
  /* UTF-16 and UTF-32 (with or without a byte-order mark) hold NULs or
   * start with FF FE / FE FF; only UTF-8 is read. */
  if (memchr(body, 0, n) != NULL ||
      (n >= 2 && ((body[0] == 0xFF && body[1] == 0xFE) || (body[0] == 0xFE && body[1] == 0xFF)))) {
    st = fault(err, errsz, "not UTF-8 (UTF-16 and UTF-32 are not accepted)");
    goto out;
  }
  /* No DTD means no entities to expand or fetch: refused unparsed. */
  if (contains(body, n, "<!DOCTYPE")) {
    st = fault(err, errsz, "malformed: a DOCTYPE is not allowed");
    goto out;
  }
  const int opts = XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_NOERROR |
                   XML_PARSE_NOWARNING | XML_PARSE_IGNORE_ENC;
  thread_ctx *t = thread_ctx_get();
  doc = t != NULL ? xmlCtxtReadMemory(t->parser, (const char *)body, (int)n, NULL, "UTF-8", opts)
                  : xmlReadMemory((const char *)body, (int)n, NULL, "UTF-8", opts);
  if (doc == NULL) {
    st = fault(err, errsz, "malformed XML (libxml2 error %d, line %d)", q.code, q.line);
    goto out;
  }
  st = read_doc(doc, response, e, err, errsz);
out:
  if (doc != NULL)
    xmlFreeDoc(doc);
  quiet_end(&q);
  if (st != OHETS_CAQH_SOAP_OK)
    ohets_caqh_envelope_clear(e);
  return st;
}

/* ------------------------------------------------------------ write */

/* XML 1.0 Chars in well-formed UTF-8: anything else cannot be written. */
static int xml_text_ok(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < n) {
    unsigned c = p[i], cp, k;
    if (c < 0x80) {
      if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
        return 0;
      i++;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF) {
      cp = c & 0x1F;
      k = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      cp = c & 0x0F;
      k = 2;
    } else if (c >= 0xF0 && c <= 0xF4) {
      cp = c & 0x07;
      k = 3;
    } else {
      return 0;
    }
    if (n - i <= k)
      return 0;
    for (unsigned j = 1; j <= k; j++) {
      if ((p[i + j] & 0xC0) != 0x80)
        return 0;
      cp = (cp << 6) | (p[i + j] & 0x3F);
    }
    if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFE || cp == 0xFFFF)
      return 0;
    i += k + 1;
  }
  return 1;
}

static int dump(xmlDocPtr doc, ohets_buf *out) {
  xmlChar *mem = NULL;
  int len = 0;
  xmlDocDumpMemoryEnc(doc, &mem, &len, "UTF-8");
  if (mem == NULL || len < 0) {
    xmlFree(mem);
    return -ENOMEM;
  }
  int rc = ohets_buf_append(out, mem, (size_t)len);
  /* The text may hold a payload (PHI) or a password: wiped. */
  memset(mem, 0, (size_t)len);
  xmlFree(mem);
  return rc;
}

static xmlNodePtr add_el(xmlNodePtr parent, xmlNsPtr ns, const char *name) {
  xmlNodePtr n = xmlNewDocNode(parent->doc, ns, X(name), NULL);
  if (n != NULL && xmlAddChild(parent, n) == NULL) {
    xmlFreeNode(n);
    n = NULL;
  }
  return n;
}

static int add_text(xmlNodePtr parent, int cdata, const char *s, size_t n) {
  if (n == 0)
    return 0;
  if (n > INT_MAX)
    return -EOVERFLOW;
  xmlNodePtr t = cdata ? xmlNewCDataBlock(parent->doc, X(s), (int)n)
                       : xmlNewDocTextLen(parent->doc, X(s), (int)n);
  if (t == NULL)
    return -ENOMEM;
  if (xmlAddChild(parent, t) == NULL) {
    xmlFreeNode(t);
    return -ENOMEM;
  }
  return 0;
}

/* A text-only element: escaped text, or CDATA sections for the payload.
 * A CDATA section cannot hold "]]>" (split after "]]") nor keep a CR
 * (XML reads it as LF), so a CR goes between sections as escaped text. */
static int add_field(xmlNodePtr parent, const char *name, const char *v, size_t n, int cdata) {
  xmlNodePtr el = add_el(parent, NULL, name);
  if (el == NULL)
    return -ENOMEM;
  if (!cdata)
    return add_text(el, 0, v, n);
  size_t start = 0;
  for (size_t i = 0; i < n; i++) {
    int rc = 0;
    if (v[i] == '\r') {
      if ((rc = add_text(el, 1, v + start, i - start)) == 0)
        rc = add_text(el, 0, "\r", 1);
      start = i + 1;
    } else if (i + 2 < n && v[i] == ']' && v[i + 1] == ']' && v[i + 2] == '>') {
      rc = add_text(el, 1, v + start, i + 2 - start);
      start = i + 2;
    }
    if (rc != 0)
      return rc;
  }
  return add_text(el, 1, v + start, n - start);
}

/* A document whose root is soap:Envelope; *env_ns set. */
static xmlDocPtr new_envelope(xmlNsPtr *env_ns) {
  xmlDocPtr doc = xmlNewDoc(X("1.0"));
  if (doc == NULL)
    return NULL;
  xmlNodePtr root = xmlNewDocNode(doc, NULL, X("Envelope"), NULL);
  if (root == NULL) {
    xmlFreeDoc(doc);
    return NULL;
  }
  xmlDocSetRootElement(doc, root);
  *env_ns = xmlNewNs(root, X(OHETS_CAQH_NS_SOAP12), X("soap"));
  if (*env_ns == NULL) {
    xmlFreeDoc(doc);
    return NULL;
  }
  xmlSetNs(root, *env_ns);
  return doc;
}

static int valid_value(const char *v, size_t n) {
  return v == NULL || (strlen(v) == n && xml_text_ok(v, n));
}

int ohets_caqh_soap_write(ohets_buf *out, const ohets_caqh_envelope *e, int response) {
  int rc = -ENOMEM;
  xmlNsPtr env;
  quiet q;
  int nfields = response ? OHETS_CAQH_N_FIELDS : OHETS_CAQH_N_REQUEST_FIELDS;
  int with_token = !response && e->username != NULL;
  for (int f = 0; f < nfields; f++)
    if (!valid_value(e->value[f], e->len[f]))
      return -EINVAL;
  if (with_token && (!valid_value(e->username, e->username_len) ||
                     !valid_value(e->password, e->password_len)))
    return -EINVAL;
  quiet_begin(&q);
  xmlDocPtr doc = new_envelope(&env);
  if (doc == NULL)
    goto out;
  xmlNodePtr root = xmlDocGetRootElement(doc);
  if (with_token) {
    xmlNodePtr h = add_el(root, env, "Header");
    xmlNodePtr sec = h != NULL ? add_el(h, NULL, "Security") : NULL;
    xmlNsPtr wsse = sec != NULL ? xmlNewNs(sec, X(NS_WSSE), X("wsse")) : NULL;
    if (wsse == NULL)
      goto out;
    xmlSetNs(sec, wsse);
    xmlNodePtr tok = add_el(sec, wsse, "UsernameToken");
    xmlNodePtr user = tok != NULL ? add_el(tok, wsse, "Username") : NULL;
    if (user == NULL || xmlSetNsProp(sec, env, X("mustUnderstand"), X("true")) == NULL ||
        add_text(user, 0, e->username, e->username_len) != 0)
      goto out;
    if (e->password != NULL) {
      xmlNodePtr pw = add_el(tok, wsse, "Password");
      if (pw == NULL || xmlSetProp(pw, X("Type"), X(PW_TEXT)) == NULL ||
          add_text(pw, 0, e->password, e->password_len) != 0)
        goto out;
    }
  }
  xmlNodePtr body = add_el(root, env, "Body");
  xmlNodePtr el = body != NULL ? add_el(body, NULL, response ? EL_RESPONSE : EL_REQUEST) : NULL;
  xmlNsPtr core = el != NULL ? xmlNewNs(el, X(OHETS_CAQH_NS_CORE), X("core")) : NULL;
  if (core == NULL)
    goto out;
  xmlSetNs(el, core);
  for (int f = 0; f < nfields; f++) {
    if (e->value[f] == NULL)
      continue;
    rc = add_field(el, ohets_caqh_field_name((ohets_caqh_field)f), e->value[f], e->len[f],
                   f == OHETS_CAQH_PAYLOAD);
    if (rc != 0)
      goto out;
  }
  rc = dump(doc, out);
out:
  if (doc != NULL)
    xmlFreeDoc(doc);
  quiet_end(&q);
  return rc;
}

int ohets_caqh_soap_write_fault(ohets_buf *out, int code, const char *reason) {
  int rc = -ENOMEM;
  xmlNsPtr env;
  quiet q;
  if (reason == NULL || !xml_text_ok(reason, strlen(reason)))
    return -EINVAL;
  quiet_begin(&q);
  xmlDocPtr doc = new_envelope(&env);
  if (doc == NULL)
    goto out;
  xmlNodePtr body = add_el(xmlDocGetRootElement(doc), env, "Body");
  xmlNodePtr f = body != NULL ? add_el(body, env, "Fault") : NULL;
  xmlNodePtr code_el = f != NULL ? add_el(f, env, "Code") : NULL;
  xmlNodePtr value = code_el != NULL ? add_el(code_el, env, "Value") : NULL;
  xmlNodePtr why = value != NULL ? add_el(f, env, "Reason") : NULL;
  xmlNodePtr text = why != NULL ? add_el(why, env, "Text") : NULL;
  if (text == NULL)
    goto out;
  const char *cv = code == OHETS_CAQH_FAULT_MUST_UNDERSTAND ? "soap:MustUnderstand"
                   : code == OHETS_CAQH_FAULT_SENDER        ? "soap:Sender"
                                                            : "soap:Receiver";
  if (add_text(value, 0, cv, strlen(cv)) != 0 || add_text(text, 0, reason, strlen(reason)) != 0)
    goto out;
  xmlNodeSetLang(text, X("en"));
  rc = dump(doc, out);
out:
  if (doc != NULL)
    xmlFreeDoc(doc);
  quiet_end(&q);
  return rc;
}

/* ------------------------------------------------------------ WSDL */

/* Fixed text; the schema (from the XSD) and the address are put in with
 * the tree API, so the address is escaped. */
static const char wsdl_skeleton[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<wsdl:definitions xmlns:wsdl=\"http://schemas.xmlsoap.org/wsdl/\"\n"
    "  xmlns:soap12=\"http://schemas.xmlsoap.org/wsdl/soap12/\"\n"
    "  xmlns:tns=\"" OHETS_CAQH_NS_WSDL "\"\n"
    "  xmlns:core=\"" OHETS_CAQH_NS_CORE "\"\n"
    "  targetNamespace=\"" OHETS_CAQH_NS_WSDL "\" name=\"CORE\">\n"
    "  <wsdl:types/>\n"
    "  <wsdl:message name=\"RealTimeRequestMessage\">\n"
    "    <wsdl:part name=\"body\" element=\"core:" EL_REQUEST "\"/>\n"
    "  </wsdl:message>\n"
    "  <wsdl:message name=\"RealTimeResponseMessage\">\n"
    "    <wsdl:part name=\"body\" element=\"core:" EL_RESPONSE "\"/>\n"
    "  </wsdl:message>\n"
    "  <wsdl:portType name=\"CORETransactions\">\n"
    "    <wsdl:operation name=\"RealTimeTransaction\">\n"
    "      <wsdl:input message=\"tns:RealTimeRequestMessage\"/>\n"
    "      <wsdl:output message=\"tns:RealTimeResponseMessage\"/>\n"
    "    </wsdl:operation>\n"
    "  </wsdl:portType>\n"
    "  <wsdl:binding name=\"CoreSoapBinding\" type=\"tns:CORETransactions\">\n"
    "    <soap12:binding style=\"document\" transport=\"http://schemas.xmlsoap.org/soap/http\"/>\n"
    "    <wsdl:operation name=\"RealTimeTransaction\">\n"
    "      <soap12:operation soapAction=\"RealTimeTransaction\" style=\"document\"/>\n"
    "      <wsdl:input><soap12:body use=\"literal\"/></wsdl:input>\n"
    "      <wsdl:output><soap12:body use=\"literal\"/></wsdl:output>\n"
    "    </wsdl:operation>\n"
    "  </wsdl:binding>\n"
    "  <wsdl:service name=\"Core\">\n"
    "    <wsdl:port name=\"CoreSoapPort\" binding=\"tns:CoreSoapBinding\">\n"
    "      <soap12:address/>\n"
    "    </wsdl:port>\n"
    "  </wsdl:service>\n"
    "</wsdl:definitions>\n";

static xmlNodePtr find(xmlNodePtr n, const char *name) {
  for (; n != NULL; n = n->next) {
    if (n->type != XML_ELEMENT_NODE)
      continue;
    if (strcmp((const char *)n->name, name) == 0)
      return n;
    xmlNodePtr in = find(n->children, name);
    if (in != NULL)
      return in;
  }
  return NULL;
}

int ohets_caqh_wsdl_write(ohets_buf *out, const char *address) {
  int rc = -ENOMEM;
  xmlDocPtr wsdl = NULL, xsd = NULL;
  quiet q;
  if (address == NULL || !xml_text_ok(address, strlen(address)))
    return -EINVAL;
  quiet_begin(&q);
  int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOBLANKS;
  wsdl = xmlReadMemory(wsdl_skeleton, (int)sizeof wsdl_skeleton - 1, NULL, "UTF-8", opts);
  xsd = xmlReadMemory(ohets_caqh_xsd, (int)strlen(ohets_caqh_xsd), NULL, "UTF-8", opts);
  if (wsdl == NULL || xsd == NULL)
    goto out;
  xmlNodePtr types = find(xmlDocGetRootElement(wsdl), "types");
  xmlNodePtr addr = find(xmlDocGetRootElement(wsdl), "address");
  xmlNodePtr schema_el = xmlDocCopyNode(xmlDocGetRootElement(xsd), wsdl, 1);
  if (types == NULL || addr == NULL || schema_el == NULL) {
    xmlFreeNode(schema_el);
    goto out;
  }
  if (xmlAddChild(types, schema_el) == NULL) {
    xmlFreeNode(schema_el);
    goto out;
  }
  if (xmlSetProp(addr, X("location"), X(address)) == NULL)
    goto out;
  xmlChar *mem = NULL;
  int len = 0;
  xmlDocDumpFormatMemoryEnc(wsdl, &mem, &len, "UTF-8", 1);
  if (mem == NULL || len < 0) {
    xmlFree(mem);
    goto out;
  }
  rc = ohets_buf_append(out, mem, (size_t)len);
  xmlFree(mem);
out:
  if (wsdl != NULL)
    xmlFreeDoc(wsdl);
  if (xsd != NULL)
    xmlFreeDoc(xsd);
  quiet_end(&q);
  return rc;
}
