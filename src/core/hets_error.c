/* HETS proprietary error record (DESIGN §3.2): fixed positions, ASCII.
 *
 *   0  "HETS"   4  trace (30, right-justified)   34 CCYYMMDD   42 HHMMSSsss
 *   51 " I"     53 code (8)                       61 " - " description
 *
 * The response code is " I" for every code: the one real record ever
 * published (a 2011 SBY00502) carries it, and DESIGN §3.2 says to use it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "openhets/openhets.h"

#define TRACE_WIDTH 30
#define CODE_WIDTH 8
#define RECORD_FIXED_LEN 61 /* everything before " - " */
#define RESPONSE_CODE " I"  /* offset 51, the same for every code */

/* The one list of HETS error codes this service answers with; the README
 * documents the same table. */
static const struct {
  const char *code;
  const char *text;
} hets_errors[] = {
    {"HTS00001", "The transmission wrapper is invalid: expected SOH, a "
                 "10-digit length, STX, the payload and ETX"},
    {"HTS00002", "The transmission exceeds the maximum size allowed"},
    {"HTS00003", "The transmission was not received in full within the time "
                 "allowed"},
    {"HTS00004", "The payload does not begin with a readable ISA segment"},
    {"SBY00502", "Authorization for this transaction cannot be validated"},
};

const char *ohets_hets_error_text(const char *code) {
  if (code == NULL)
    return NULL;
  for (size_t i = 0; i < sizeof hets_errors / sizeof hets_errors[0]; i++)
    if (strcmp(hets_errors[i].code, code) == 0)
      return hets_errors[i].text;
  return NULL;
}

int ohets_hets_error_write(ohets_buf *out, const char *code, const char *trace,
                           const ohets_now *now) {
  const char *text = ohets_hets_error_text(code);
  if (text == NULL || now == NULL)
    return -EINVAL;

  char trace_field[TRACE_WIDTH + 1];
  memset(trace_field, ' ', TRACE_WIDTH);
  trace_field[TRACE_WIDTH] = '\0';
  if (trace != NULL) {
    size_t n = strlen(trace);
    if (n > TRACE_WIDTH)
      n = TRACE_WIDTH;
    /* The trace comes from request bytes: keep the record plain ASCII. */
    for (size_t i = 0; i < n; i++) {
      unsigned char c = (unsigned char)trace[i];
      trace_field[TRACE_WIDTH - n + i] = c >= 0x20 && c < 0x7f ? (char)c : ' ';
    }
  }

  /* Every numeric field is reduced to its width so positions never move. */
  char record[RECORD_FIXED_LEN + 1];
  int n = snprintf(record, sizeof record, "HETS%s%04d%02u%02u%02u%02u%02u%03u" RESPONSE_CODE "%s",
                   trace_field, ((int)now->date.year % 10000 + 10000) % 10000,
                   now->date.month % 100u, now->date.day % 100u,
                   now->hour % 100u, now->minute % 100u, now->second % 100u,
                   now->millisecond % 1000u, code);
  if (n != RECORD_FIXED_LEN)
    return -EINVAL;

  size_t before = out->len;
  int rc = ohets_buf_append(out, record, RECORD_FIXED_LEN);
  if (rc == 0)
    rc = ohets_buf_puts(out, " - ");
  if (rc == 0)
    rc = ohets_buf_puts(out, text);
  if (rc != 0)
    out->len = before; /* never leave half a record */
  return rc;
}
