/* Passwords already checked (DESIGN §13's UsernameToken and MIME
 * UserName/Password): scrypt costs tens of milliseconds of a worker on
 * purpose, so a keep-alive client sending its password with every request
 * pays it once per TTL, not per request.  Only successes are kept, as an
 * HMAC under a key made at start-up (never the password), keyed with the
 * stored PHC string too, so a partners.json that changes a password (SIGHUP)
 * misses.  Bounded: a fixed table, a newer entry replacing whatever held
 * its slot.  Any thread. */
#ifndef OHETS_SERVER_CREDCACHE_H
#define OHETS_SERVER_CREDCACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct ohets_srv_credcache ohets_srv_credcache;

#define OHETS_SRV_CREDCACHE_TTL_MS (5u * 60 * 1000)

/* slots: rounded up to a power of two. */
int ohets_srv_credcache_new(ohets_srv_credcache **out, size_t slots, uint64_t ttl_ms);
void ohets_srv_credcache_free(ohets_srv_credcache *c);
/* 1 when this user, password and PHC string passed within the TTL. */
int ohets_srv_credcache_hit(ohets_srv_credcache *c, const char *user, size_t user_len,
                            const char *password, size_t password_len, const char *phc,
                            uint64_t now_ms);
/* Remembers a success. */
void ohets_srv_credcache_add(ohets_srv_credcache *c, const char *user, size_t user_len,
                             const char *password, size_t password_len, const char *phc,
                             uint64_t now_ms);

#endif /* OHETS_SERVER_CREDCACHE_H */
