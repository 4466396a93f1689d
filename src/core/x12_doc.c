/* The public X12 reader (openhets.h): the core's own reader behind an
 * opaque document, for tools that decode answers. */
#include <errno.h>
#include <string.h>

#include "alloc.h"
#include "x12.h"

struct ohets_x12_doc {
  ohets__x12 x;
};

int ohets_x12_read(const char *p, size_t n, ohets_x12_doc **out) {
  *out = NULL;
  ohets_x12_doc *doc = ohets__calloc(1, sizeof *doc);
  if (doc == NULL)
    return -ENOMEM;
  int rc = ohets__x12_parse(&doc->x, p, n);
  if (rc != 0) {
    ohets_x12_doc_free(doc);
    return rc;
  }
  *out = doc;
  return 0;
}

void ohets_x12_doc_free(ohets_x12_doc *doc) {
  if (doc == NULL)
    return;
  ohets__x12_free(&doc->x);
  ohets__free(doc);
}

ohets_x12_delims ohets_x12_delims_of(const ohets_x12_doc *doc) {
  ohets_x12_delims d = {doc->x.d.element, doc->x.d.repetition, doc->x.d.component,
                        doc->x.d.segment};
  return d;
}

size_t ohets_x12_segments(const ohets_x12_doc *doc) { return doc->x.nsegs; }

/* Out of range reads as an empty element of no segment. */
const char *ohets_x12_element(const ohets_x12_doc *doc, size_t seg, unsigned i,
                              size_t *len) {
  if (seg >= doc->x.nsegs) {
    *len = 0;
    return "";
  }
  return ohets__el(&doc->x, &doc->x.segs[seg], i, len);
}

int ohets_x12_element_is(const ohets_x12_doc *doc, size_t seg, unsigned i,
                         const char *v) {
  size_t n;
  const char *p = ohets_x12_element(doc, seg, i, &n);
  return n == strlen(v) && memcmp(p, v, n) == 0;
}

size_t ohets_x12_element_copy(const ohets_x12_doc *doc, size_t seg, unsigned i,
                              char *dst, size_t dstsz) {
  size_t n;
  const char *p = ohets_x12_element(doc, seg, i, &n);
  size_t c = n < dstsz - 1 ? n : dstsz - 1;
  memcpy(dst, p, c);
  dst[c] = '\0';
  return n;
}

const char *ohets_x12_split(const char *p, size_t n, char sep, unsigned k,
                            size_t *len) {
  return ohets__split(p, n, sep, k, len);
}

unsigned ohets_x12_count(const char *p, size_t n, char sep) {
  return ohets__count(p, n, sep);
}
