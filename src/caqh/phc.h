/* Passwords for CORE's UsernameToken / MIME UserName+Password (DESIGN
 * §13): PHC strings `$scrypt$ln=N,r=R,p=P$SALT$HASH` (SALT and HASH in
 * unpadded standard base64), computed with OpenSSL's scrypt. */
#ifndef OHETS_CAQH_PHC_H
#define OHETS_CAQH_PHC_H

#include <stddef.h>
#include <stdint.h>

#define OHETS_CAQH_PHC_MAX 160
#define OHETS_CAQH_PHC_LN_DEFAULT 15 /* N = 32768 */
#define OHETS_CAQH_PHC_R_DEFAULT 8
#define OHETS_CAQH_PHC_P_DEFAULT 1

/* The PHC string of password under salt (8..64 bytes; 16 advised) and
 * these costs; a 32-byte hash.  -EINVAL for costs out of range (ln 1..20,
 * r 1..32, p 1..16; also OpenSSL's N < 2^(16 r), so r = 1 stops at ln 15,
 * and at most 256 MiB of scrypt memory, 128 r (N + 2 + p) bytes: ln 15,
 * r 8 takes 32 MiB), -ENOMEM when scrypt cannot allocate. */
int ohets_caqh_phc_hash(const char *password, size_t n, const uint8_t *salt, size_t salt_len,
                        unsigned ln, unsigned r, unsigned p, char out[OHETS_CAQH_PHC_MAX]);
/* 0 when the string is a well-formed scrypt PHC string within the cost
 * ranges above, its salt 8..64 and hash 16..64 bytes, parameters in the
 * order ln, r, p, base64 canonical (partners.json is checked with it at
 * load); -EINVAL. */
int ohets_caqh_phc_parse_ok(const char *phc);
/* 1 when password matches phc, 0 when not, -EINVAL for a bad phc string,
 * -ENOMEM.  The comparison takes the same time whatever bytes differ. */
int ohets_caqh_phc_verify(const char *phc, const char *password, size_t n);

#endif /* OHETS_CAQH_PHC_H */
