/* hets-query internals: decoding an answer into a JSON document
 * (query_decode.c), the code lists in words (query_codes.c), and the human
 * summary printed from that document (query_summary.c). */
#ifndef OHETS_TOOLS_QUERY_H
#define OHETS_TOOLS_QUERY_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

/* Decodes one answer payload (271, 999, TA1 interchange or HETS error
 * record) into a new JSON document (schema in docs/hets-query.md).
 * asked_mbi (may be NULL) names the beneficiary when the answer does not.
 * Returns NULL only when out of memory. */
json_t *ohets_query_decode(const char *payload, size_t len,
                           const char *asked_mbi);

/* Writes the human summary of a decoded document. */
void ohets_query_summary(FILE *out, const json_t *doc);

/* Code lists in words; NULL when the code is not in the list. */
const char *ohets_query_aaa_reason(const char *code);   /* AAA03 */
const char *ohets_query_aaa_hint(const char *code);     /* what to do */
const char *ohets_query_aaa_action(const char *code);   /* AAA04 */
const char *ohets_query_ik3_text(const char *code);     /* IK304 */
const char *ohets_query_ik4_text(const char *code);     /* IK403 */
const char *ohets_query_ik5_text(const char *code);     /* IK502 */
const char *ohets_query_ak9_text(const char *code);     /* AK905 */
const char *ohets_query_ack_status(const char *code);   /* IK501 / AK901 */
const char *ohets_query_ta1_text(const char *code);     /* TA105 */
const char *ohets_query_eb01_text(const char *code);    /* EB01 */
const char *ohets_query_period_text(const char *code);  /* EB06 */
const char *ohets_query_ins_type_text(const char *code); /* EB04 */
const char *ohets_query_stc_text(const char *code);     /* EB03 / EQ01 */

#endif
