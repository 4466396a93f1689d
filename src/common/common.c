/* libohcommon (common.h). */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "common/common.h"

void ohets_common_err(const char *prog, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "%s: ", prog);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

int ohets_common_read_all(FILE *f, ohets_buf *out) {
  char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
    int rc = ohets_buf_append(out, chunk, n);
    if (rc != 0)
      return rc;
  }
  return ferror(f) ? -EIO : 0;
}

int ohets_common_now(const char *today, ohets_now *now) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ohets_common_now_at(today, &ts, now);
}

int ohets_common_now_at(const char *today, const struct timespec *ts, ohets_now *now) {
  struct tm tm;
  localtime_r(&ts->tv_sec, &tm);
  memset(now, 0, sizeof *now);
  now->date.year = (int16_t)(tm.tm_year + 1900);
  now->date.month = (uint8_t)(tm.tm_mon + 1);
  now->date.day = (uint8_t)tm.tm_mday;
  now->hour = (uint8_t)tm.tm_hour;
  now->minute = (uint8_t)tm.tm_min;
  now->second = (uint8_t)(tm.tm_sec > 59 ? 59 : tm.tm_sec); /* leap second */
  now->millisecond = (uint16_t)(ts->tv_nsec / 1000000);
  if (today != NULL && ohets_date_parse_iso(today, strlen(today), &now->date) != 0)
    return -EINVAL;
  return 0;
}
