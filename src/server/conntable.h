/* The connection table: every open session by its 64-bit id, so a worker's
 * result (which carries only the id) finds its session, or learns that it
 * closed.  Loop thread only. */
#ifndef OHETS_SERVER_CONNTABLE_H
#define OHETS_SERVER_CONNTABLE_H

#include <stddef.h>
#include <stdint.h>

typedef struct ohets_srv_conntable ohets_srv_conntable;

int ohets_srv_conntable_new(ohets_srv_conntable **out);
void ohets_srv_conntable_free(ohets_srv_conntable *t);
/* id must be new and never 0.  0 or -ENOMEM. */
int ohets_srv_conntable_put(ohets_srv_conntable *t, uint64_t id, void *item);
void *ohets_srv_conntable_get(const ohets_srv_conntable *t, uint64_t id);
void ohets_srv_conntable_del(ohets_srv_conntable *t, uint64_t id);
size_t ohets_srv_conntable_count(const ohets_srv_conntable *t);
/* The ids in the table now (a copy: entries may go while the caller walks
 * it); *n their number.  NULL when out of memory. */
uint64_t *ohets_srv_conntable_ids(const ohets_srv_conntable *t, size_t *n);

#endif /* OHETS_SERVER_CONNTABLE_H */
