/* multipart/form-data (RFC 7578 over RFC 2046) for the MIME envelope: the
 * project's own reader (fuzzed: tests/fuzz/fuzz_multipart.c) and writer. */
#ifndef OHETS_CAQH_MULTIPART_H
#define OHETS_CAQH_MULTIPART_H

#include <stddef.h>

#include "caqh/envelope.h"

#define OHETS_CAQH_BOUNDARY_MAX 70 /* RFC 2046 */

/* The boundary parameter of a Content-Type value "multipart/form-data;
 * boundary=..." (type and parameter names case-insensitive, the value
 * quoted or not): 0 with out filled; -ENOTSUP when the type is not
 * multipart/form-data (the caller answers 415); -EINVAL when the boundary
 * is missing, empty, longer than 70 or has characters RFC 2046 forbids
 * (400). */
int ohets_caqh_mime_boundary(const char *content_type, size_t n,
                             char out[OHETS_CAQH_BOUNDARY_MAX + 1]);

/* Reads a multipart/form-data body into e: each part's
 * Content-Disposition `form-data; name="X"` (quoted or not) names it; a
 * part named for an envelope field (ohets_caqh_field_of) or UserName /
 * Password is stored, other names are skipped.  Part headers other than
 * Content-Disposition and Content-Transfer-Encoding are ignored; a
 * Content-Transfer-Encoding other than 7bit/8bit/binary is an error.
 * Preamble, epilogue and transport padding are ignored; part header lines
 * may end in CRLF or a bare LF, but a part ends only at an exact CRLF
 * "--" boundary line, so bytes that merely resemble one stay in the value.
 * Returns 0, or -EINVAL (-ENOMEM) with one line in err (no part values in
 * it: they may be PHI) naming what is wrong: no opening delimiter,
 * truncated (no closing delimiter), a part without a name, a duplicate
 * part (its name is said), headers without their blank line, more than 32
 * parts; e is then emptied (ohets_caqh_envelope_clear). */
int ohets_caqh_mime_read(const uint8_t *body, size_t n, const char *boundary,
                         ohets_caqh_envelope *e, char *err, size_t errsz);

/* Writes e's present fields, in envelope order, then UserName/Password
 * when set, as a multipart/form-data body with this boundary (CRLF line
 * ends, each part `Content-Disposition: form-data; name="X"`, the Payload
 * part with `Content-Type: text/plain; charset=utf-8`).  -EINVAL when the
 * boundary is not a valid one or a value holds CRLF "--" boundary. */
int ohets_caqh_mime_write(ohets_buf *out, const char *boundary, const ohets_caqh_envelope *e);

/* A boundary unlikely to occur in the values: "openhets-" then 32 hex
 * digits derived from seed (the caller's counter or random number). */
void ohets_caqh_mime_make_boundary(uint64_t seed, char out[OHETS_CAQH_BOUNDARY_MAX + 1]);

#endif /* OHETS_CAQH_MULTIPART_H */
