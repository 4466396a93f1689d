/* partners.json loader and the rules it answers. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "caqh/phc.h"
#include "openhets/openhets.h"
#include "store/partners.h"

static int cmp_partner(const void *a, const void *b) {
  return strcmp(((const ohets_partner *)a)->submitter,
                ((const ohets_partner *)b)->submitter);
}

static int cmp_submitter_key(const void *key, const void *partner) {
  return strcmp(key, ((const ohets_partner *)partner)->submitter);
}

static int cmp_npi(const void *a, const void *b) {
  return strcmp((const char *)a, (const char *)b);
}

int ohets_network_parse(const char *s, ohets_network *n) {
  char host[64];
  const char *slash = strchr(s, '/');
  size_t hl = slash ? (size_t)(slash - s) : strlen(s);
  if (hl == 0 || hl >= sizeof host)
    return -EINVAL;
  memcpy(host, s, hl);
  host[hl] = '\0';
  memset(n, 0, sizeof *n);
  unsigned bits;
  if (inet_pton(AF_INET, host, n->addr) == 1) {
    n->family = AF_INET;
    bits = 32;
  } else if (inet_pton(AF_INET6, host, n->addr) == 1) {
    n->family = AF_INET6;
    bits = 128;
  } else {
    return -EINVAL;
  }
  n->prefix = bits;
  if (slash) {
    char *end;
    unsigned long p = strtoul(slash + 1, &end, 10);
    if (slash[1] == '\0' || *end != '\0' || p > bits)
      return -EINVAL;
    n->prefix = (unsigned)p;
  }
  for (unsigned i = n->prefix; i < bits; i++)
    n->addr[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
  return 0;
}

/* A misspelt key must not load: "npi" for "npis" would silently lift the
 * NPI restriction. */
static const char *const partner_keys[] = {"submitter", "name", "networks", "npis",
                                           "max_connections", "certs", "users"};

/* A username names a partner in error lines and logs: one line, so no
 * control characters (and no NUL, which no request could match). */
static int username_ok(json_t *v) {
  const char *s = json_string_value(v);
  size_t n = json_string_length(v);
  if (s == NULL || n == 0)
    return 0;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
      return 0;
  return 1;
}

static int load_users(json_t *users, ohets_partner *p, char *why, size_t whysz) {
  size_t i;
  json_t *u;
  if (!json_is_array(users)) {
    snprintf(why, whysz, "\"users\" must be an array of {\"username\", \"password\"} objects");
    return -EINVAL;
  }
  p->users = calloc(json_array_size(users) + 1, sizeof *p->users);
  if (p->users == NULL) {
    snprintf(why, whysz, "out of memory");
    return -ENOMEM;
  }
  json_array_foreach(users, i, u) {
    const char *key;
    json_t *val;
    if (!json_is_object(u)) {
      snprintf(why, whysz, "\"users\"[%zu] must be an object {\"username\", \"password\"}", i);
      return -EINVAL;
    }
    json_object_foreach(u, key, val) {
      if (strcmp(key, "username") != 0 && strcmp(key, "password") != 0) {
        snprintf(why, whysz, "\"users\"[%zu]: unknown key \"%.60s\"", i, key);
        return -EINVAL;
      }
    }
    json_t *name = json_object_get(u, "username");
    if (!username_ok(name)) {
      snprintf(why, whysz, "\"users\"[%zu]: \"username\" must be a non-empty string "
               "without control characters", i);
      return -EINVAL;
    }
    /* Never echoed: a plain password written here by mistake must not
     * reach a log. */
    const char *pw = json_string_value(json_object_get(u, "password"));
    if (pw == NULL || ohets_caqh_phc_parse_ok(pw) != 0) {
      snprintf(why, whysz, "\"users\"[%zu]: \"password\" is not a scrypt PHC string "
               "($scrypt$ln=N,r=R,p=P$SALT$HASH; openhetsd --hash-password makes one)", i);
      return -EINVAL;
    }
    ohets_partner_user *pu = &p->users[p->n_users++];
    pu->username = strdup(json_string_value(name));
    pu->password = strdup(pw);
    if (pu->username == NULL || pu->password == NULL) {
      snprintf(why, whysz, "out of memory");
      return -ENOMEM;
    }
  }
  return 0;
}

static int load_partner(json_t *j, ohets_partner *p, char *why, size_t whysz) {
  const char *key;
  json_t *val;
  json_object_foreach(j, key, val) {
    size_t k = 0;
    while (k < sizeof partner_keys / sizeof partner_keys[0] &&
           strcmp(partner_keys[k], key) != 0)
      k++;
    if (k == sizeof partner_keys / sizeof partner_keys[0]) {
      snprintf(why, whysz, "unknown key \"%.60s\"", key);
      return -EINVAL;
    }
  }
  const char *sub = json_string_value(json_object_get(j, "submitter"));
  if (!json_is_object(j) || sub == NULL || sub[0] == '\0' ||
      strlen(sub) >= sizeof p->submitter) {
    snprintf(why, whysz, "\"submitter\" missing or longer than 15");
    return -EINVAL;
  }
  snprintf(p->submitter, sizeof p->submitter, "%s", sub);
  const char *name = json_string_value(json_object_get(j, "name"));
  snprintf(p->name, sizeof p->name, "%s", name ? name : "");

  json_t *nets = json_object_get(j, "networks");
  if (!json_is_array(nets) || json_array_size(nets) == 0) {
    snprintf(why, whysz, "\"networks\" must be a non-empty array of CIDR strings");
    return -EINVAL;
  }
  p->networks = calloc(json_array_size(nets), sizeof *p->networks);
  if (p->networks == NULL)
    return -ENOMEM;
  size_t i;
  json_t *v;
  json_array_foreach(nets, i, v) {
    const char *s = json_string_value(v);
    if (s == NULL || ohets_network_parse(s, &p->networks[i]) != 0) {
      snprintf(why, whysz, "\"networks\"[%zu] is not an address or CIDR", i);
      return -EINVAL;
    }
    p->n_networks++;
  }

  json_t *npis = json_object_get(j, "npis");
  if (npis != NULL) {
    if (!json_is_array(npis)) {
      snprintf(why, whysz, "\"npis\" must be an array");
      return -EINVAL;
    }
    p->has_npis = 1;
    p->npis = calloc(json_array_size(npis) + 1, sizeof *p->npis);
    if (p->npis == NULL)
      return -ENOMEM;
    json_array_foreach(npis, i, v) {
      const char *s = json_string_value(v);
      if (s == NULL || !ohets_npi_valid(s, strlen(s))) {
        snprintf(why, whysz, "\"npis\"[%zu] is not a valid NPI", i);
        return -EINVAL;
      }
      memcpy(p->npis[p->n_npis++], s, 11);
    }
    qsort(p->npis, p->n_npis, sizeof *p->npis, cmp_npi);
  }

  json_t *certs = json_object_get(j, "certs");
  if (certs != NULL) {
    if (!json_is_array(certs)) {
      snprintf(why, whysz, "\"certs\" must be an array of SHA-256 fingerprints");
      return -EINVAL;
    }
    p->certs = calloc(json_array_size(certs) + 1, sizeof *p->certs);
    if (p->certs == NULL)
      return -ENOMEM;
    json_array_foreach(certs, i, v) {
      const char *s = json_string_value(v);
      if (s == NULL || ohets_fingerprint_parse(s, p->certs[p->n_certs]) != 0) {
        snprintf(why, whysz, "\"certs\"[%zu] is not a SHA-256 fingerprint (64 hex digits)", i);
        return -EINVAL;
      }
      p->n_certs++;
    }
  }

  json_t *users = json_object_get(j, "users");
  if (users != NULL) {
    int rc = load_users(users, p, why, whysz);
    if (rc != 0)
      return rc;
  }

  json_t *mc = json_object_get(j, "max_connections");
  if (mc != NULL) {
    if (!json_is_integer(mc) || json_integer_value(mc) < 0 ||
        json_integer_value(mc) > 1000000) {
      snprintf(why, whysz, "\"max_connections\" must be an integer 0..1000000");
      return -EINVAL;
    }
    p->max_connections = (unsigned)json_integer_value(mc);
  }
  return 0;
}

static int cmp_bytes(const char *a, size_t an, const char *b, size_t bn) {
  int c = memcmp(a, b, an < bn ? an : bn);
  return c != 0 ? c : (an > bn) - (an < bn);
}

/* Where a user stands in its partner's list (ties, i.e. duplicates, only). */
static size_t user_pos(const ohets_partner_user_ix *x) {
  size_t k = 0;
  while (k < x->partner->n_users && x->partner->users[k].username != x->username)
    k++;
  return k;
}

/* By username, then in file order while the partners still are in it, so
 * of two entries for one username the second is the later one. */
static int cmp_user_ix(const void *a, const void *b) {
  const ohets_partner_user_ix *x = a, *y = b;
  int c = cmp_bytes(x->username, x->len, y->username, y->len);
  if (c != 0)
    return c;
  if (x->partner != y->partner)
    return x->partner < y->partner ? -1 : 1;
  size_t kx = user_pos(x), ky = user_pos(y);
  return (kx > ky) - (kx < ky);
}

static int cmp_user_key(const void *key, const void *ix) {
  const ohets_partner_user_ix *k = key, *x = ix;
  return cmp_bytes(k->username, k->len, x->username, x->len);
}

/* Built twice: before the partners are sorted, to name a duplicate's
 * entry by its place in the file, and after, for the pointers to hold. */
static int index_users(ohets_partner_table *t) {
  size_t total = 0;
  free(t->users);
  t->users = NULL;
  t->n_users = 0;
  for (size_t i = 0; i < t->n; i++)
    total += t->partners[i].n_users;
  t->users = calloc(total + 1, sizeof *t->users);
  if (t->users == NULL)
    return -ENOMEM;
  for (size_t i = 0; i < t->n; i++)
    for (size_t k = 0; k < t->partners[i].n_users; k++) {
      ohets_partner_user_ix *x = &t->users[t->n_users++];
      x->username = t->partners[i].users[k].username;
      x->len = strlen(x->username);
      x->phc = t->partners[i].users[k].password;
      x->partner = &t->partners[i];
    }
  qsort(t->users, t->n_users, sizeof *t->users, cmp_user_ix);
  return 0;
}

/* By fingerprint, then submitter (the partners are sorted by then). */
static int cmp_cert_ix(const void *a, const void *b) {
  const ohets_partner_cert_ix *x = a, *y = b;
  int c = strcmp(x->sha256, y->sha256);
  if (c != 0)
    return c;
  return x->partner == y->partner ? 0 : x->partner < y->partner ? -1 : 1;
}

static int index_certs(ohets_partner_table *t) {
  size_t total = 0;
  for (size_t i = 0; i < t->n; i++)
    total += t->partners[i].n_certs;
  t->certs = calloc(total + 1, sizeof *t->certs);
  if (t->certs == NULL)
    return -ENOMEM;
  for (size_t i = 0; i < t->n; i++)
    for (size_t k = 0; k < t->partners[i].n_certs; k++) {
      t->certs[t->n_certs].sha256 = t->partners[i].certs[k];
      t->certs[t->n_certs++].partner = &t->partners[i];
    }
  qsort(t->certs, t->n_certs, sizeof *t->certs, cmp_cert_ix);
  return 0;
}

static int submitter_printable(const char *s) {
  if (s == NULL || s[0] == '\0' || strlen(s) > 15)
    return 0;
  for (; *s != '\0'; s++)
    if (*s < 0x21 || *s > 0x7e)
      return 0;
  return 1;
}

int ohets_partners_load(const char *path, ohets_partner_table **out, char *err,
                        size_t errsz) {
  int rc = 0;
  char why[160] = "";
  json_error_t jerr;
  ohets_partner_table *t = NULL;
  json_t *root = NULL, *arr, *val, *v;
  const char *key;
  size_t i;
  /* Opened here, not by json_load_file: it words a missing file as "line -1"
   * and a directory as a syntax error at line 1. */
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    rc = -errno;
    snprintf(err, errsz, "%s: %s", path, strerror(errno));
    goto done;
  }
  if (S_ISDIR(st.st_mode)) {
    rc = -EISDIR;
    snprintf(err, errsz, "%s: is a directory", path);
    goto done;
  }
  root = json_loadfd(fd, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL) {
    rc = -EINVAL;
    snprintf(err, errsz, "%s: line %d: %s", path, jerr.line, jerr.text);
    goto done;
  }
  if (!json_is_object(root)) {
    rc = -EINVAL;
    snprintf(err, errsz, "%s: must hold one JSON object {\"partners\": [...]}", path);
    goto done;
  }
  json_object_foreach(root, key, val) {
    if (strcmp(key, "partners") != 0) {
      rc = -EINVAL;
      snprintf(err, errsz, "%s: unknown key \"%.60s\"", path, key);
      goto done;
    }
  }
  arr = json_object_get(root, "partners");
  if (!json_is_array(arr)) {
    snprintf(err, errsz, "%s: \"partners\" must be an array", path);
    rc = -EINVAL;
    goto done;
  }
  t = calloc(1, sizeof *t);
  if (t == NULL || (t->partners = calloc(json_array_size(arr) + 1,
                                         sizeof *t->partners)) == NULL) {
    rc = -ENOMEM;
    snprintf(err, errsz, "%s: out of memory", path);
    goto done;
  }
  json_array_foreach(arr, i, v) {
    t->n++;
    rc = load_partner(v, &t->partners[i], why, sizeof why);
    if (rc != 0) {
      /* The submitter, when it reads as one, finds the entry faster than
       * its index does. */
      const char *sub = json_string_value(json_object_get(v, "submitter"));
      if (submitter_printable(sub))
        snprintf(err, errsz, "%s: partner %zu (%s): %s", path, i, sub, why);
      else
        snprintf(err, errsz, "%s: partner %zu: %s", path, i, why);
      goto done;
    }
  }
  if (index_users(t) != 0) {
    rc = -ENOMEM;
    snprintf(err, errsz, "%s: out of memory", path);
    goto done;
  }
  /* A username names one partner: the door finds the partner by it. */
  for (i = 1; i < t->n_users; i++) {
    const ohets_partner_user_ix *x = &t->users[i];
    if (cmp_bytes(t->users[i - 1].username, t->users[i - 1].len, x->username, x->len) == 0) {
      snprintf(err, errsz, "%s: partner %zu (%s): \"users\"[%zu]: username \"%.60s\" listed twice",
               path, (size_t)(x->partner - t->partners), x->partner->submitter, user_pos(x),
               x->username);
      rc = -EINVAL;
      goto done;
    }
  }
  qsort(t->partners, t->n, sizeof *t->partners, cmp_partner);
  for (i = 1; i < t->n; i++)
    if (strcmp(t->partners[i - 1].submitter, t->partners[i].submitter) == 0) {
      snprintf(err, errsz, "%s: submitter \"%s\" listed twice", path,
               t->partners[i].submitter);
      rc = -EINVAL;
      goto done;
    }
  if (index_users(t) != 0 || index_certs(t) != 0) {
    rc = -ENOMEM;
    snprintf(err, errsz, "%s: out of memory", path);
    goto done;
  }
  *out = t;
  t = NULL;
done:
  ohets_partners_free(t);
  json_decref(root);
  if (fd >= 0)
    close(fd);
  return rc;
}

void ohets_partners_free(ohets_partner_table *t) {
  if (t == NULL)
    return;
  for (size_t i = 0; i < t->n; i++) {
    free(t->partners[i].networks);
    free(t->partners[i].npis);
    free(t->partners[i].certs);
    for (size_t k = 0; k < t->partners[i].n_users; k++) {
      free(t->partners[i].users[k].username);
      free(t->partners[i].users[k].password);
    }
    free(t->partners[i].users);
  }
  free(t->partners);
  free(t->users);
  free(t->certs);
  free(t);
}

const ohets_partner *ohets_partners_find(const ohets_partner_table *t,
                                         const char *submitter) {
  if (t == NULL)
    return NULL;
  /* The submitter string is the key: no copy into a partner per lookup. */
  return bsearch(submitter, t->partners, t->n, sizeof *t->partners, cmp_submitter_key);
}

static int in_network(const ohets_network *n, const uint8_t *a) {
  unsigned full = n->prefix / 8, rest = n->prefix % 8;
  if (memcmp(n->addr, a, full) != 0)
    return 0;
  if (rest == 0)
    return 1;
  uint8_t mask = (uint8_t)(0xFFu << (8 - rest));
  return (a[full] & mask) == n->addr[full];
}

int ohets_partner_allows_addr(const ohets_partner *p, const struct sockaddr *sa) {
  return ohets_networks_contain(p->networks, p->n_networks, sa);
}

int ohets_networks_contain(const ohets_network *nets, size_t n_nets, const struct sockaddr *sa) {
  uint8_t v4[4];
  const uint8_t *v6 = NULL;
  int family = sa->sa_family;
  if (family == AF_INET) {
    memcpy(v4, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
  } else if (family == AF_INET6) {
    v6 = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(v6, mapped, 12) == 0) { /* IPv4-mapped: match v4 networks */
      memcpy(v4, v6 + 12, 4);
      family = AF_INET;
    }
  } else {
    return 0;
  }
  for (size_t i = 0; i < n_nets; i++) {
    const ohets_network *n = &nets[i];
    if (n->family == family && in_network(n, family == AF_INET ? v4 : v6))
      return 1;
  }
  return 0;
}

int ohets_fingerprint_parse(const char *in, char out[65]) {
  size_t n = 0;
  out[0] = '\0';
  for (const char *c = in; c != NULL && *c != '\0'; c++) {
    char h = *c;
    if (h == ':')
      continue;
    if (h >= 'A' && h <= 'F')
      h = (char)(h - 'A' + 'a');
    if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f')) || n == 64) {
      out[0] = '\0';
      return -EINVAL;
    }
    out[n++] = h;
  }
  if (n != 64) {
    out[0] = '\0';
    return -EINVAL;
  }
  out[64] = '\0';
  return 0;
}

int ohets_partner_cert_allowed(const ohets_partner *p, const char *sha256) {
  if (p->certs == NULL)
    return 1;
  for (size_t i = 0; i < p->n_certs; i++)
    if (strcmp(p->certs[i], sha256) == 0)
      return 1;
  return 0;
}

int ohets_partner_lists_cert(const ohets_partner *p, const char *sha256) {
  if (p == NULL || sha256 == NULL)
    return 0;
  for (size_t i = 0; i < p->n_certs; i++)
    if (strcmp(p->certs[i], sha256) == 0)
      return 1;
  return 0;
}

const ohets_partner *ohets_partners_find_cert(const ohets_partner_table *t, const char *sha256) {
  if (t == NULL || sha256 == NULL)
    return NULL;
  /* The leftmost match: the first partner in submitter order. */
  size_t lo = 0, hi = t->n_certs;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (strcmp(t->certs[mid].sha256, sha256) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo < t->n_certs && strcmp(t->certs[lo].sha256, sha256) == 0)
    return t->certs[lo].partner;
  return NULL;
}

const ohets_partner *ohets_partners_find_user(const ohets_partner_table *t, const char *username,
                                              size_t n, const char **phc) {
  const ohets_partner_user_ix key = {.username = username, .len = n};
  const ohets_partner_user_ix *x = NULL;
  if (t != NULL && username != NULL && t->n_users > 0)
    x = bsearch(&key, t->users, t->n_users, sizeof *t->users, cmp_user_key);
  if (phc != NULL)
    *phc = x != NULL ? x->phc : NULL;
  return x != NULL ? x->partner : NULL;
}

int ohets_partner_npi_linked(const ohets_partner *p, const char *npi) {
  if (!p->has_npis)
    return 1;
  if (strlen(npi) != 10)
    return 0;
  return bsearch(npi, p->npis, p->n_npis, sizeof *p->npis, cmp_npi) != NULL;
}
