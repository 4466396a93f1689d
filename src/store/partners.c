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
                                           "max_connections", "certs"};

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
  qsort(t->partners, t->n, sizeof *t->partners, cmp_partner);
  for (i = 1; i < t->n; i++)
    if (strcmp(t->partners[i - 1].submitter, t->partners[i].submitter) == 0) {
      snprintf(err, errsz, "%s: submitter \"%s\" listed twice", path,
               t->partners[i].submitter);
      rc = -EINVAL;
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
  }
  free(t->partners);
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

int ohets_partner_npi_linked(const ohets_partner *p, const char *npi) {
  if (!p->has_npis)
    return 1;
  if (strlen(npi) != 10)
    return 0;
  return bsearch(npi, p->npis, p->n_npis, sizeof *p->npis, cmp_npi) != NULL;
}
