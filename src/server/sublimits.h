/* Connections counted per submitter, for a partner's max_connections
 * (DESIGN §4).  Loop thread only. */
#ifndef OHETS_SERVER_SUBLIMITS_H
#define OHETS_SERVER_SUBLIMITS_H

typedef struct ohets_srv_sublimits ohets_srv_sublimits;

int ohets_srv_sublimits_new(ohets_srv_sublimits **out);
void ohets_srv_sublimits_free(ohets_srv_sublimits *s);
unsigned ohets_srv_sublimits_count(const ohets_srv_sublimits *s, const char *submitter);
/* Counts one more connection: 0, or -ENOMEM (then it is not counted). */
int ohets_srv_sublimits_add(ohets_srv_sublimits *s, const char *submitter);
void ohets_srv_sublimits_remove(ohets_srv_sublimits *s, const char *submitter);

#endif /* OHETS_SERVER_SUBLIMITS_H */
