/* Trading partners (DESIGN §4): who may send, from where, for which NPIs. */
#ifndef OHETS_STORE_PARTNERS_H
#define OHETS_STORE_PARTNERS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct ohets_network {
  int family;          /* AF_INET or AF_INET6 */
  uint8_t addr[16];    /* network address, host bits cleared */
  unsigned prefix;     /* CIDR prefix length */
} ohets_network;

/* A CORE door login (DESIGN §13): password is a scrypt PHC string. */
typedef struct ohets_partner_user {
  char *username;
  char *password;
} ohets_partner_user;

typedef struct ohets_partner {
  char submitter[16];        /* ISA06 / GS02 */
  char name[61];
  ohets_network *networks;   /* peer networks its circuits come from */
  size_t n_networks;
  char (*npis)[11];          /* linked NPIs, sorted */
  size_t n_npis;
  int has_npis;              /* 0: "npis" absent, any valid NPI accepted */
  unsigned max_connections;  /* 0: no limit */
  char (*certs)[65];         /* TLS client certificates' SHA-256, lower-case hex; NULL: any */
  size_t n_certs;
  ohets_partner_user *users; /* "users", in file order; NULL when absent */
  size_t n_users;
} ohets_partner;

/* The table's indexes: every user by username, every listed cert by
 * fingerprint (then by submitter), each pointing at its partner. */
typedef struct ohets_partner_user_ix {
  const char *username;
  size_t len;
  const char *phc;
  const ohets_partner *partner;
} ohets_partner_user_ix;

typedef struct ohets_partner_cert_ix {
  const char *sha256;
  const ohets_partner *partner;
} ohets_partner_cert_ix;

typedef struct ohets_partner_table {
  ohets_partner *partners; /* sorted by submitter */
  size_t n;
  ohets_partner_user_ix *users; /* sorted by username, unique across partners */
  size_t n_users;
  ohets_partner_cert_ix *certs; /* sorted by fingerprint, then submitter */
  size_t n_certs;
} ohets_partner_table;

/* Loads partners.json.  On error returns a negative errno and writes one
 * line naming the problem (file, partner index and submitter, key) into
 * err; an unknown key, top level, in an entry or in a user, is an error,
 * and so are a user's empty username or malformed PHC password and a
 * username given twice anywhere in the file. */
int ohets_partners_load(const char *path, ohets_partner_table **out, char *err,
                        size_t errsz);
void ohets_partners_free(ohets_partner_table *t);
const ohets_partner *ohets_partners_find(const ohets_partner_table *t,
                                         const char *submitter);
/* An address or CIDR ("10.20.0.0/16", "::1"): 0, or -EINVAL. */
int ohets_network_parse(const char *s, ohets_network *n);
/* 1 when sa (IPv4-mapped IPv6 counts as IPv4) lies in one of the networks. */
int ohets_networks_contain(const ohets_network *nets, size_t n_nets, const struct sockaddr *sa);
/* 1 when sa lies in one of the partner's networks. */
int ohets_partner_allows_addr(const ohets_partner *p, const struct sockaddr *sa);
/* 1 when the partner lists no certs, or lists this one (64 lower-case hex
 * digits; "" for a connection without a client certificate). */
int ohets_partner_cert_allowed(const ohets_partner *p, const char *sha256);
/* A fingerprint as partners.json may write it (64 hex digits; ':' and case
 * ignored) into 64 lower-case hex digits; -EINVAL (out "") when it is not one. */
int ohets_fingerprint_parse(const char *in, char out[65]);
/* 1 only when the partner's "certs" list this one: unlike
 * ohets_partner_cert_allowed, a partner without "certs" lists nothing. */
int ohets_partner_lists_cert(const ohets_partner *p, const char *sha256);
/* The first partner, in submitter order, whose "certs" list this one;
 * NULL when none does. */
const ohets_partner *ohets_partners_find_cert(const ohets_partner_table *t, const char *sha256);
/* The partner with this username (n bytes; no NUL needed), *phc its
 * stored PHC string; NULL (and *phc NULL) when no partner has it. */
const ohets_partner *ohets_partners_find_user(const ohets_partner_table *t, const char *username,
                                              size_t n, const char **phc);
/* 1 when the partner lists no NPIs or lists this one. */
int ohets_partner_npi_linked(const ohets_partner *p, const char *npi);

#endif
