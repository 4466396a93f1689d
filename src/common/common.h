/* libohcommon: what the server, the tools and the benchmarks share that is
 * not the pure core: the clock turned into the core's "now", reading a
 * whole stream, and the one-line error printer.
 *
 * Includes nothing of the project but the public core header; functions
 * return 0 or a negative errno value unless they say otherwise. */
#ifndef OHETS_COMMON_COMMON_H
#define OHETS_COMMON_COMMON_H

#include <stdio.h>

#include "openhets/openhets.h"

struct timespec;

/* Prints "prog: message" and a newline on stderr. */
void ohets_common_err(const char *prog, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Reads all of f into out (bounded by out->max): 0, -ENOBUFS past the
 * bound, -ENOMEM, -EIO on a read error. */
int ohets_common_read_all(FILE *f, ohets_buf *out);

/* "now" from the local clock (CLOCK_REALTIME, local time); with today
 * (YYYY-MM-DD) the date is pinned and the time of day still comes from the
 * clock.  -EINVAL on a bad date. */
int ohets_common_now(const char *today, ohets_now *now);
/* The same for a clock reading the caller already has. */
int ohets_common_now_at(const char *today, const struct timespec *ts,
                        ohets_now *now);

#endif
