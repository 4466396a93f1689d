/* Small helpers shared by the command-line tools. */
#ifndef OHETS_TOOLS_TOOL_UTIL_H
#define OHETS_TOOLS_TOOL_UTIL_H

#include <stdio.h>

#include "openhets/openhets.h"

/* Prints "prog: message" on stderr. */
void ohets_tool_err(const char *prog, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Reads all of f into out (bounded by out->max).  0 or negative errno. */
int ohets_tool_read_all(FILE *f, ohets_buf *out);

/* "now" from the local clock; with today (YYYY-MM-DD) the date is pinned
 * and the time of day still comes from the clock.  -EINVAL on a bad date. */
int ohets_tool_now(const char *today, ohets_now *now);
/* The same for a clock reading the caller already has. */
struct timespec;
int ohets_tool_now_at(const char *today, const struct timespec *ts, ohets_now *now);

#endif
