/* Connections per submitter: a small array, since only partners with a
 * max_connections are counted and there are few of them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/config.h"
#include "server/sublimits.h"

typedef struct subcount {
  char submitter[OHETS_SRV_SUBMITTER_LEN];
  unsigned conns;
} subcount;

struct ohets_srv_sublimits {
  subcount *subs;
  size_t n, cap;
};

int ohets_srv_sublimits_new(ohets_srv_sublimits **out) {
  *out = calloc(1, sizeof **out);
  return *out != NULL ? 0 : -ENOMEM;
}

void ohets_srv_sublimits_free(ohets_srv_sublimits *s) {
  if (s == NULL)
    return;
  free(s->subs);
  free(s);
}

static subcount *find(const ohets_srv_sublimits *s, const char *submitter) {
  for (size_t i = 0; i < s->n; i++)
    if (strcmp(s->subs[i].submitter, submitter) == 0)
      return &s->subs[i];
  return NULL;
}

unsigned ohets_srv_sublimits_count(const ohets_srv_sublimits *s, const char *submitter) {
  const subcount *c = find(s, submitter);
  return c ? c->conns : 0;
}

int ohets_srv_sublimits_add(ohets_srv_sublimits *s, const char *submitter) {
  subcount *c = find(s, submitter);
  if (c == NULL) {
    if (s->n == s->cap) {
      size_t cap = s->cap ? s->cap * 2 : 16;
      subcount *more = realloc(s->subs, cap * sizeof *more);
      if (more == NULL)
        return -ENOMEM;
      s->subs = more;
      s->cap = cap;
    }
    c = &s->subs[s->n++];
    snprintf(c->submitter, sizeof c->submitter, "%s", submitter);
    c->conns = 0;
  }
  c->conns++;
  return 0;
}

void ohets_srv_sublimits_remove(ohets_srv_sublimits *s, const char *submitter) {
  subcount *c = find(s, submitter);
  if (c == NULL || --c->conns > 0)
    return;
  *c = s->subs[--s->n];
}
