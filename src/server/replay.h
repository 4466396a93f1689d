/* CORE's PayloadID rule (DESIGN §13): the same PayloadID from the same
 * submitter within ten minutes gets the same answer; with a different
 * payload it is PayloadIDIllegal.  A bounded in-memory cache shared by the
 * workers (one mutex; entries expire oldest first, and the oldest go early
 * when the count or byte bound is reached). */
#ifndef OHETS_SERVER_REPLAY_H
#define OHETS_SERVER_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "caqh/envelope.h"

typedef struct ohets_srv_replay ohets_srv_replay;

#define OHETS_SRV_REPLAY_TTL_MS (10u * 60 * 1000)

int ohets_srv_replay_new(ohets_srv_replay **out, size_t max_entries, size_t max_bytes,
                         uint64_t ttl_ms);
void ohets_srv_replay_free(ohets_srv_replay *r);

typedef enum ohets_srv_replay_result {
  OHETS_SRV_REPLAY_MISS = 0,
  OHETS_SRV_REPLAY_SAME,     /* seen with this payload: *answer filled */
  OHETS_SRV_REPLAY_DIFFERENT /* seen with another payload */
} ohets_srv_replay_result;

/* Any thread.  payload_sha256: the request Payload's digest. */
ohets_srv_replay_result ohets_srv_replay_get(ohets_srv_replay *r, const char *submitter,
                                             const char *payload_id, size_t id_len,
                                             const uint8_t payload_sha256[32], uint64_t now_ms,
                                             ohets_caqh_envelope *answer);
/* Remembers answer (every field copied); 0, or -ENOMEM (then not cached). */
int ohets_srv_replay_put(ohets_srv_replay *r, const char *submitter, const char *payload_id,
                         size_t id_len, const uint8_t payload_sha256[32], uint64_t now_ms,
                         const ohets_caqh_envelope *answer);
/* Entries held now (metrics, tests). */
size_t ohets_srv_replay_count(ohets_srv_replay *r);

#endif /* OHETS_SERVER_REPLAY_H */
