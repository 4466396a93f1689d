/* The server's "now" (now.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <time.h>

#include "server/now.h"
#include "common/common.h"

void ohets_srv_now(const ohets_srv_config *cfg, ohets_now *now) {
  /* Asked once per request; the calendar part changes once a second, so
   * each thread keeps it (no localtime_r, and its lock, per request).
   * cfg->today was validated when read, so this cannot fail. */
  static _Thread_local time_t sec = (time_t)-1;
  static _Thread_local ohets_now cached;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  if (ts.tv_sec != sec) { /* cfg never changes after startup */
    (void)ohets_common_now_at(cfg->today[0] ? cfg->today : NULL, &ts, &cached);
    sec = ts.tv_sec;
  }
  *now = cached;
  now->millisecond = (uint16_t)(ts.tv_nsec / 1000000);
}
