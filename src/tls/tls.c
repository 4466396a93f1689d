/* The TLS engine (tls.h): OpenSSL 3 driven through an in-memory BIO.
 *
 * The BIO is the engine's own (a BIO_METHOD over two buffers in the
 * connection), not BIO_s_mem(), for four reasons that matter to the
 * server: ciphertext handed out by ohets_tls_out() must stay where it is
 * while more is produced, so the transport can give it to uv_write()
 * without a copy (a BUF_MEM moves when it grows); taking bytes off a
 * BIO_s_mem() costs a BIO_read() copy, ours advances an offset; BUF_MEM
 * zero-fills every extension before it is written; and a BUF_MEM keeps its
 * peak size for the life of the connection, where ours returns both
 * buffers when they drain, so an idle connection holds only OpenSSL's
 * state (SSL_MODE_RELEASE_BUFFERS frees OpenSSL's record buffers). */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "tls/tls.h"
#include "tls/tls_private.h"

/* AEAD suites with forward secrecy only; AES-128-GCM first because it is
 * the cheapest per byte with AES-NI and strong enough, which is what the
 * server's throughput is measured on.  The server's order decides. */
#define TLS12_CIPHERS                                                                    \
  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                          \
  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                          \
  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS13_SUITES "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

/* Record framing per 16 KiB of plaintext, generously (TLS 1.3 adds 22
 * bytes, TLS 1.2 GCM 29): only sizes the first output chunk of a write. */
#define RECORD_OVERHEAD 96
#define RECORD_PLAIN 16384
/* Smallest output chunk: a handshake flight or a typical answer fits. */
#define OUT_CHUNK_MIN 4096
/* First allocation of the input buffer. */
#define IN_MIN 4096

struct ohets_tls_ctx {
  atomic_int refs;
  SSL_CTX *ssl;
  BIO_METHOD *bio;     /* the engine BIO; per context so nothing is global */
  EVP_MD *sha256;      /* fetched once: an implicit fetch per handshake costs */
  int server;
  int resume;          /* client: offer the last ticket */
  CRYPTO_RWLOCK *lock; /* client: guards session (hets-load shares a context) */
  SSL_SESSION *session;
};

/* A run of ciphertext to send; never moved or grown past cap. */
typedef struct tls_chunk {
  struct tls_chunk *next;
  size_t off, len, cap; /* sent up to off, written up to len */
  unsigned char data[];
} tls_chunk;

struct ohets_tls {
  ohets_tls_ctx *ctx;
  SSL *ssl;
  /* Ciphertext fed and not yet taken by OpenSSL: in[in_off..in_len). */
  unsigned char *in;
  size_t in_off, in_len, in_cap;
  /* Ciphertext to send, oldest first. */
  tls_chunk *out_head, *out_tail;
  size_t out_pending;
  size_t out_hint; /* while a write runs: the room its records need */
  /* Plaintext written before the handshake finished. */
  unsigned char *early;
  size_t early_len;
  int bio_err;     /* why the BIO refused a write (-ENOMEM, -ENOBUFS), else 0 */
  unsigned char first_byte;
  unsigned seen_input : 1, started : 1, done : 1, eof : 1, failed : 1, shut : 1, sent_shut : 1;
  const char *version, *cipher; /* OpenSSL's static names, after the handshake */
  char peer_sha256[65];
  char error[160];
};

/* ------------------------------------------------------------ the BIO */

static int bio_create(BIO *b) {
  BIO_set_init(b, 1);
  return 1;
}

static int bio_destroy(BIO *b) {
  BIO_set_data(b, NULL);
  BIO_set_init(b, 0);
  return 1;
}

/* Appends to the last chunk while it has room, then to one new chunk big
 * enough for the rest (allocated before anything is copied, so a failure
 * leaves no half record behind). */
static int bio_write_ex(BIO *b, const char *data, size_t n, size_t *written) {
  ohets_tls *t = BIO_get_data(b);
  *written = 0;
  BIO_clear_retry_flags(b);
  if (t == NULL)
    return 0;
  if (n > OHETS_TLS_OUT_MAX - t->out_pending) {
    t->bio_err = -ENOBUFS;
    return 0;
  }
  tls_chunk *tail = t->out_tail;
  size_t room = tail ? tail->cap - tail->len : 0;
  tls_chunk *fresh = NULL;
  if (n > room) {
    size_t cap = n - room;
    if (cap < t->out_hint)
      cap = t->out_hint;
    if (cap < OUT_CHUNK_MIN)
      cap = OUT_CHUNK_MIN;
    fresh = malloc(sizeof *fresh + cap);
    if (fresh == NULL) {
      t->bio_err = -ENOMEM;
      return 0;
    }
    fresh->next = NULL;
    fresh->off = fresh->len = 0;
    fresh->cap = cap;
    t->out_hint = 0; /* the write's room is now reserved */
  }
  size_t k = n < room ? n : room;
  if (k > 0) {
    memcpy(tail->data + tail->len, data, k);
    tail->len += k;
  }
  if (fresh != NULL) {
    memcpy(fresh->data, data + k, n - k);
    fresh->len = n - k;
    if (tail != NULL)
      tail->next = fresh;
    else
      t->out_head = fresh;
    t->out_tail = fresh;
  }
  t->out_pending += n;
  *written = n;
  return 1;
}

static int bio_read_ex(BIO *b, char *out, size_t n, size_t *got) {
  ohets_tls *t = BIO_get_data(b);
  *got = 0;
  BIO_clear_retry_flags(b);
  if (t == NULL)
    return 0;
  size_t avail = t->in_len - t->in_off;
  if (avail == 0) {
    /* Not an end of file: the socket may bring more. */
    BIO_set_retry_read(b);
    return 0;
  }
  size_t k = n < avail ? n : avail;
  memcpy(out, t->in + t->in_off, k);
  t->in_off += k;
  *got = k;
  return 1;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr) {
  ohets_tls *t = BIO_get_data(b);
  (void)num;
  (void)ptr;
  switch (cmd) {
  case BIO_CTRL_FLUSH: /* OpenSSL flushes after each flight: nothing to do */
    return 1;
  case BIO_CTRL_PENDING:
    return t ? (long)(t->in_len - t->in_off) : 0;
  case BIO_CTRL_WPENDING:
    return t ? (long)t->out_pending : 0;
  default: /* kTLS, datagram and file controls: not this BIO */
    return 0;
  }
}

static BIO_METHOD *bio_method_new(void) {
  BIO_METHOD *m = BIO_meth_new(BIO_TYPE_SOURCE_SINK, "ohets_tls");
  if (m == NULL)
    return NULL;
  if (!BIO_meth_set_write_ex(m, bio_write_ex) || !BIO_meth_set_read_ex(m, bio_read_ex) ||
      !BIO_meth_set_ctrl(m, bio_ctrl) || !BIO_meth_set_create(m, bio_create) ||
      !BIO_meth_set_destroy(m, bio_destroy)) {
    BIO_meth_free(m);
    return NULL;
  }
  return m;
}

/* ------------------------------------------------------------ errors */

/* The oldest error on this thread's OpenSSL queue in words (the oldest
 * names the cause, later ones the callers), and an errno for it.  Empties
 * the queue. */
static int ssl_reason(char *buf, size_t n) {
  unsigned long e = ERR_get_error();
  int rc = -EINVAL;
  if (e == 0) {
    snprintf(buf, n, "unknown error");
  } else if (ERR_SYSTEM_ERROR(e)) {
    int en = ERR_GET_REASON(e);
    snprintf(buf, n, "%s", strerror(en));
    rc = en > 0 ? -en : -EIO;
  } else {
    const char *r = ERR_reason_error_string(e);
    if (r != NULL)
      snprintf(buf, n, "%s", r);
    else
      snprintf(buf, n, "OpenSSL error %08lx", e);
    if (ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE)
      rc = -ENOMEM;
  }
  ERR_clear_error();
  return rc;
}

/* SSL_get_error() reads this thread's error queue, so it must be empty
 * before each call into a connection; clearing it outright costs more than
 * a record's encryption in OpenSSL 3.0 (all its slots are wiped), so only
 * when something is there. */
static void err_reset(void) {
  if (ERR_peek_error() != 0)
    ERR_clear_error();
}

/* A first byte that can begin what a TLS peer sends first: a handshake or
 * alert record, or an SSLv2-format ClientHello (high bit set). */
static int tls_first_byte(unsigned char b) { return b == 0x15 || b == 0x16 || b >= 0x80; }

/* Marks t failed and says why in one line, from what the BIO saw, the
 * first byte, OpenSSL's queue and the certificate check. */
static void conn_fail(ohets_tls *t) {
  const char *phase = t->done ? "record" : "handshake";
  char why[120];
  if (t->bio_err == -ENOMEM) {
    snprintf(why, sizeof why, "out of memory");
  } else if (t->bio_err == -ENOBUFS) {
    snprintf(why, sizeof why, "more than %zu bytes of ciphertext unsent",
             (size_t)OHETS_TLS_OUT_MAX);
  } else if (!t->done && t->seen_input && !tls_first_byte(t->first_byte)) {
    snprintf(why, sizeof why, "not TLS (the peer's first byte is 0x%02x: plain text?)",
             t->first_byte);
  } else {
    unsigned long e = ERR_peek_error();
    int r = ERR_GET_LIB(e) == ERR_LIB_SSL ? ERR_GET_REASON(e) : 0;
    long v = SSL_get_verify_result(t->ssl);
    ssl_reason(why, sizeof why);
    if (r >= SSL_AD_REASON_OFFSET && r < SSL_AD_REASON_OFFSET + 256) {
      /* OpenSSL words a received alert "sslv3 alert bad certificate";
       * say plainly that the peer refused, and what. */
      const char *d = SSL_alert_desc_string_long(r - SSL_AD_REASON_OFFSET);
      const char *a = strstr(why, "alert ");
      char reason[80];
      /* OpenSSL 3.0 has no long name for TLS 1.3's alerts
       * (certificate_required): then its reason's words after "alert ". */
      snprintf(reason, sizeof reason, "%.79s",
               strcmp(d, "unknown") != 0 || a == NULL ? d : a + strlen("alert "));
      snprintf(why, sizeof why, "the peer sent alert \"%s\"", reason);
    } else if (r == SSL_R_CERTIFICATE_VERIFY_FAILED && v != X509_V_OK) {
      size_t l = strlen(why);
      snprintf(why + l, sizeof why - l, ": %s", X509_verify_cert_error_string(v));
    }
  }
  snprintf(t->error, sizeof t->error, "%s: %s", phase, why);
  t->failed = 1;
  ERR_clear_error();
}

/* ------------------------------------------------------------ contexts */

/* A daemon must never stop to ask a terminal for a passphrase: an
 * encrypted key simply fails to load, and the flag says why. */
static int no_password(char *buf, int size, int rwflag, void *u) {
  (void)buf;
  (void)size;
  (void)rwflag;
  if (u != NULL)
    *(int *)u = 1;
  return 0;
}

/* A directory opens and reads as an empty file, which OpenSSL reports as
 * "no start line": say what it is instead. */
static int check_file(const char *what, const char *path, char *err, size_t errsz) {
  struct stat st;
  if (stat(path, &st) != 0) {
    int e = errno;
    snprintf(err, errsz, "%s %s: %s", what, path, strerror(e));
    return -e;
  }
  if (S_ISDIR(st.st_mode)) {
    snprintf(err, errsz, "%s %s: %s", what, path, strerror(EISDIR));
    return -EISDIR;
  }
  return 0;
}

/* Client contexts: keeps the newest resumable session (a ticket) for the
 * next connection.  Returns 1 when it took the reference. */
static int on_new_session(SSL *s, SSL_SESSION *sess) {
  ohets_tls_ctx *c = SSL_CTX_get_app_data(SSL_get_SSL_CTX(s));
  if (c == NULL || !c->resume || !SSL_SESSION_is_resumable(sess))
    return 0;
  if (!CRYPTO_THREAD_write_lock(c->lock))
    return 0;
  SSL_SESSION *old = c->session;
  c->session = sess;
  CRYPTO_THREAD_unlock(c->lock);
  SSL_SESSION_free(old);
  return 1;
}

static void ctx_free(ohets_tls_ctx *c) {
  SSL_SESSION_free(c->session);
  SSL_CTX_free(c->ssl);
  BIO_meth_free(c->bio);
  EVP_MD_free(c->sha256);
  CRYPTO_THREAD_lock_free(c->lock);
  free(c);
}

/* What both sides share: TLS 1.2 at least, AEAD suites, no renegotiation
 * (refused both ways: a client's ClientHello after the handshake and a
 * server's HelloRequest), no compression, record buffers released while
 * idle. */
static int ctx_new(ohets_tls_ctx **out, int server, char *err, size_t errsz) {
  char why[120];
  int rc = -ENOMEM;
  ohets_tls_ctx *c = calloc(1, sizeof *c);
  *out = NULL;
  ERR_clear_error();
  if (c == NULL)
    goto done;
  atomic_init(&c->refs, 1);
  c->server = server;
  c->ssl = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  c->bio = bio_method_new();
  c->sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
  c->lock = CRYPTO_THREAD_lock_new();
  if (c->ssl == NULL || c->bio == NULL || c->sha256 == NULL || c->lock == NULL)
    goto done;
  SSL_CTX_set_app_data(c->ssl, c);
  SSL_CTX_set_default_passwd_cb(c->ssl, no_password);
  /* No chain built from the verify store: a server sends exactly what its
   * certificate file holds (a listener's client CA is not the server's
   * chain, and every client would decode it on every full handshake). */
  SSL_CTX_set_mode(c->ssl, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_NO_AUTO_CHAIN);
  SSL_CTX_set_options(c->ssl, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  if (!SSL_CTX_set_min_proto_version(c->ssl, TLS1_2_VERSION) ||
      !SSL_CTX_set_cipher_list(c->ssl, TLS12_CIPHERS) ||
      !SSL_CTX_set_ciphersuites(c->ssl, TLS13_SUITES)) {
    rc = ssl_reason(why, sizeof why);
    snprintf(err, errsz, "TLS settings: %s", why);
    goto done;
  }
  *out = c;
  c = NULL;
  rc = 0;
done:
  if (rc == -ENOMEM)
    snprintf(err, errsz, "TLS context: out of memory");
  if (c != NULL)
    ctx_free(c);
  ERR_clear_error();
  return rc;
}

static int load_cert_key(ohets_tls_ctx *c, const char *cert, const char *key, char *err,
                         size_t errsz) {
  char why[120];
  int asked = 0;
  int rc = check_file("certificate", cert, err, errsz);
  if (rc != 0 || (rc = check_file("key", key, err, errsz)) != 0)
    goto done;
  if (SSL_CTX_use_certificate_chain_file(c->ssl, cert) != 1) {
    rc = ssl_reason(why, sizeof why);
    snprintf(err, errsz, "certificate %s: %s", cert, why);
    goto done;
  }
  SSL_CTX_set_default_passwd_cb_userdata(c->ssl, &asked);
  int ok = SSL_CTX_use_PrivateKey_file(c->ssl, key, SSL_FILETYPE_PEM);
  SSL_CTX_set_default_passwd_cb_userdata(c->ssl, NULL);
  if (ok != 1) {
    unsigned long e = ERR_peek_error();
    rc = ssl_reason(why, sizeof why);
    if (asked)
      snprintf(err, errsz, "key %s is encrypted (give it without a passphrase; none is asked for)",
               key);
    else if (ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH)
      snprintf(err, errsz, "key %s does not match certificate %s", key, cert);
    else
      snprintf(err, errsz, "key %s: not a PEM private key (%s)", key, why);
    goto done;
  }
  /* A key of another type than the certificate's loads into a slot of
   * its own; this is where that mismatch shows. */
  if (SSL_CTX_check_private_key(c->ssl) != 1) {
    rc = ssl_reason(why, sizeof why);
    snprintf(err, errsz, "key %s does not match certificate %s (%s)", key, cert, why);
    goto done;
  }
done:
  ERR_clear_error();
  return rc;
}

static int load_ca(ohets_tls_ctx *c, const char *ca, char *err, size_t errsz) {
  char why[120];
  int rc = check_file("ca", ca, err, errsz);
  if (rc != 0)
    goto done;
  if (SSL_CTX_load_verify_file(c->ssl, ca) != 1) {
    rc = ssl_reason(why, sizeof why);
    snprintf(err, errsz, "ca %s: %s", ca, why);
    goto done;
  }
  if (c->server) {
    /* The CertificateRequest names the acceptable CAs, so a client with
     * several certificates can pick the right one. */
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca);
    if (names == NULL) {
      rc = ssl_reason(why, sizeof why);
      snprintf(err, errsz, "ca %s: %s", ca, why);
      goto done;
    }
    SSL_CTX_set_client_CA_list(c->ssl, names);
  }
done:
  ERR_clear_error();
  return rc;
}

int ohets_tls_ctx_server(ohets_tls_ctx **out, const ohets_tls_settings *s, char *err,
                         size_t errsz) {
  ohets_tls_ctx *c = NULL;
  int rc = -EINVAL;
  *out = NULL;
  if (s == NULL || s->cert == NULL || s->key == NULL) {
    snprintf(err, errsz, "TLS: a listener needs a certificate and a key");
    goto done;
  }
  if (s->min_version != 12 && s->min_version != 13) {
    snprintf(err, errsz, "TLS: min_version must be 1.2 or 1.3");
    goto done;
  }
  if (s->client_cert != OHETS_TLS_CLIENT_CERT_NONE &&
      s->client_cert != OHETS_TLS_CLIENT_CERT_OPTIONAL &&
      s->client_cert != OHETS_TLS_CLIENT_CERT_REQUIRED) {
    snprintf(err, errsz, "TLS: client_cert must be required, optional or none");
    goto done;
  }
  if (s->client_cert != OHETS_TLS_CLIENT_CERT_NONE && s->ca == NULL) {
    snprintf(err, errsz, "TLS: client_cert %s needs a ca to check certificates against",
             s->client_cert == OHETS_TLS_CLIENT_CERT_REQUIRED ? "required" : "optional");
    goto done;
  }
  rc = ctx_new(&c, 1, err, errsz);
  if (rc != 0)
    goto done;
  SSL_CTX_set_options(c->ssl, SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (s->min_version == 13)
    SSL_CTX_set_min_proto_version(c->ssl, TLS1_3_VERSION);
  rc = load_cert_key(c, s->cert, s->key, err, errsz);
  if (rc != 0)
    goto done;
  /* A ca with client_cert none is still loaded: a broken file should say
   * so at start, not when someone turns client certificates on. */
  if (s->ca != NULL && (rc = load_ca(c, s->ca, err, errsz)) != 0)
    goto done;
  if (s->client_cert != OHETS_TLS_CLIENT_CERT_NONE) {
    int mode = SSL_VERIFY_PEER;
    if (s->client_cert == OHETS_TLS_CLIENT_CERT_REQUIRED)
      mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(c->ssl, mode, NULL);
    /* A client certificate is for clients: one that only says serverAuth
     * fails ("unsuitable certificate purpose"). */
    SSL_CTX_set_purpose(c->ssl, X509_PURPOSE_SSL_CLIENT);
  }
  /* Resumption is by ticket only: a ticket carries the session (and the
   * client's certificate) sealed with this context's own key, so no cache
   * of sessions grows in the daemon, and a reload's new context makes the
   * old tickets worthless.  A session with a verified peer only resumes
   * in a context that names itself; the client_cert mode is in the name so
   * that, were ticket keys ever shared, a ticket from a listener that
   * asked for no certificate could not stand in where one is required.
   * One ticket per connection: each costs a record and a seal. */
  SSL_CTX_set_session_cache_mode(c->ssl, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(c->ssl, 1);
  unsigned char sid[] = {'o', 'h', 'e', 't', 's', '-', (unsigned char)('0' + s->client_cert)};
  if (!SSL_CTX_set_session_id_context(c->ssl, sid, sizeof sid)) {
    rc = -EINVAL;
    snprintf(err, errsz, "TLS: session id context refused");
    goto done;
  }
  *out = c;
  c = NULL;
done:
  if (c != NULL)
    ctx_free(c);
  ERR_clear_error();
  return rc;
}

int ohets_tls_ctx_client(ohets_tls_ctx **out, const char *cert, const char *key,
                         const char *ca, char *err, size_t errsz) {
  ohets_tls_ctx *c = NULL;
  int rc = -EINVAL;
  *out = NULL;
  if ((cert == NULL) != (key == NULL)) {
    snprintf(err, errsz, "TLS: a client certificate needs its key, and a key its certificate");
    goto done;
  }
  rc = ctx_new(&c, 0, err, errsz);
  if (rc != 0)
    goto done;
  if (cert != NULL && (rc = load_cert_key(c, cert, key, err, errsz)) != 0)
    goto done;
  if (ca != NULL) {
    if ((rc = load_ca(c, ca, err, errsz)) != 0)
      goto done;
    SSL_CTX_set_verify(c->ssl, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_purpose(c->ssl, X509_PURPOSE_SSL_SERVER);
  } else {
    /* Without a ca the server is not verified (the tools say so). */
    SSL_CTX_set_verify(c->ssl, SSL_VERIFY_NONE, NULL);
  }
  /* Tickets reach the application through the new-session callback only
   * when the client cache mode is on; nothing is stored inside OpenSSL. */
  SSL_CTX_set_session_cache_mode(c->ssl, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(c->ssl, on_new_session);
  *out = c;
  c = NULL;
done:
  if (c != NULL)
    ctx_free(c);
  ERR_clear_error();
  return rc;
}

void ohets_tls_ctx_set_resume(ohets_tls_ctx *c, int on) {
  if (!c->server)
    c->resume = on != 0;
}

ohets_tls_ctx *ohets_tls_ctx_hold(ohets_tls_ctx *c) {
  atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
  return c;
}

void ohets_tls_ctx_release(ohets_tls_ctx *c) {
  if (c == NULL)
    return;
  /* acq_rel: the last holder sees every other holder's use finished. */
  if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1)
    ctx_free(c);
}

/* ------------------------------------------------------------ connections */

ohets_tls *ohets_tls_new(ohets_tls_ctx *ctx) {
  ohets_tls *t = calloc(1, sizeof *t);
  BIO *b = NULL;
  if (t == NULL)
    goto fail;
  t->ssl = SSL_new(ctx->ssl);
  b = BIO_new(ctx->bio);
  if (t->ssl == NULL || b == NULL)
    goto fail;
  BIO_set_data(b, t);
  SSL_set_bio(t->ssl, b, b); /* one BIO both ways; the SSL owns it now */
  b = NULL;
  if (ctx->server)
    SSL_set_accept_state(t->ssl);
  else
    SSL_set_connect_state(t->ssl);
  t->ctx = ohets_tls_ctx_hold(ctx);
  return t;
fail:
  BIO_free(b);
  if (t != NULL)
    SSL_free(t->ssl);
  free(t);
  ERR_clear_error();
  return NULL;
}

void ohets_tls_free(ohets_tls *t) {
  if (t == NULL)
    return;
  /* OpenSSL marks the session of a connection freed without close_notify
   * not resumable, and a client's kept ticket is that same session: a
   * socket simply closed (the usual end) must not cost the next
   * connection its resumption.  A failed connection's session is dropped,
   * as it should be. */
  if (t->done && !t->failed)
    SSL_set_shutdown(t->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  SSL_free(t->ssl);
  for (tls_chunk *c = t->out_head, *next; c != NULL; c = next) {
    next = c->next;
    free(c);
  }
  free(t->in);
  free(t->early);
  ohets_tls_ctx_release(t->ctx);
  free(t);
}

SSL *ohets_tls__ssl(ohets_tls *t) { return t->ssl; }

int ohets_tls_set_host(ohets_tls *t, const char *host) {
  unsigned char addr[16];
  int rc = -EINVAL;
  if (t->ctx->server || t->started || host == NULL || host[0] == '\0')
    goto done;
  if (inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1) {
    /* An address is checked against the certificate's IP entries and is
     * never sent as SNI (RFC 6066 allows names only). */
    if (!X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), host))
      goto done;
  } else {
    /* SSL_set_tlsext_host_name() takes a char *: a copy, not a cast. */
    char name[256];
    if (strlen(host) >= sizeof name)
      goto done;
    memcpy(name, host, strlen(host) + 1);
    if (!SSL_set_tlsext_host_name(t->ssl, name) || !SSL_set1_host(t->ssl, name))
      goto done;
  }
  rc = 0;
done:
  ERR_clear_error();
  return rc;
}

/* Encrypts p[0..n) now, all of it or nothing past the bound check. */
static int write_now(ohets_tls *t, const void *p, size_t n) {
  size_t records = n / RECORD_PLAIN + 1;
  size_t room = OHETS_TLS_OUT_MAX - t->out_pending;
  if (n > room || records > (room - n) / RECORD_OVERHEAD)
    return -ENOBUFS;
  /* One chunk for the whole message, so ohets_tls_out() hands it out in
   * one piece (one socket write) however many records it makes. */
  t->out_hint = n + records * RECORD_OVERHEAD;
  err_reset();
  size_t w = 0;
  int ok = SSL_write_ex(t->ssl, p, n, &w);
  t->out_hint = 0;
  if (ok)
    return 0;
  int rc = t->bio_err != 0 ? t->bio_err : -EPROTO;
  conn_fail(t);
  return rc;
}

/* The handshake just finished: note what the peer showed, then send what
 * was written meanwhile and the close_notify asked for meanwhile. */
static int handshake_finished(ohets_tls *t) {
  int rc = 0;
  t->done = 1;
  t->version = SSL_get_version(t->ssl);
  t->cipher = SSL_get_cipher_name(t->ssl);
  X509 *peer = SSL_get0_peer_certificate(t->ssl);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  if (peer != NULL && X509_digest(peer, t->ctx->sha256, md, &mdlen) && mdlen == 32) {
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < 32; i++) {
      t->peer_sha256[2 * i] = hex[md[i] >> 4];
      t->peer_sha256[2 * i + 1] = hex[md[i] & 15];
    }
    t->peer_sha256[64] = '\0';
  }
  if (t->early_len > 0) {
    rc = write_now(t, t->early, t->early_len);
    free(t->early);
    t->early = NULL;
    t->early_len = 0;
    if (rc != 0) {
      if (!t->failed) { /* refused before OpenSSL saw it (out of room) */
        snprintf(t->error, sizeof t->error, "handshake: what was written meanwhile: %s",
                 strerror(-rc));
        t->failed = 1;
      }
      goto done;
    }
  }
  if (t->shut) {
    t->shut = 0;
    ohets_tls_shutdown(t);
  }
done:
  return rc;
}

int ohets_tls_connect(ohets_tls *t) {
  int rc = 0;
  if (t->ctx->server)
    return -EINVAL;
  if (t->started || t->failed)
    return t->failed ? -EPIPE : 0;
  t->started = 1;
  if (t->ctx->resume && CRYPTO_THREAD_read_lock(t->ctx->lock)) {
    if (t->ctx->session != NULL)
      SSL_set_session(t->ssl, t->ctx->session); /* takes its own reference */
    CRYPTO_THREAD_unlock(t->ctx->lock);
  }
  err_reset();
  int r = SSL_do_handshake(t->ssl);
  if (r == 1) {
    /* Not with the server's flight still to come; were it so, it is done. */
    rc = handshake_finished(t) == 0 ? 0 : -EPROTO;
  } else {
    int e = SSL_get_error(t->ssl, r);
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
      rc = t->bio_err != 0 ? t->bio_err : -EPROTO;
      conn_fail(t);
    }
  }
  err_reset();
  return rc;
}

int ohets_tls_feed(ohets_tls *t, const void *in, size_t n) {
  if (n == 0 || t->failed || t->eof)
    return 0; /* after the end nothing more is read: drop, do not keep */
  if (!t->seen_input) {
    t->seen_input = 1;
    t->first_byte = *(const unsigned char *)in;
  }
  size_t have = t->in_len - t->in_off;
  if (n > OHETS_TLS_IN_MAX - have)
    return -ENOBUFS;
  if (n > t->in_cap - t->in_len) {
    /* Slide the unread bytes down first; grow only if that is not enough. */
    if (t->in_off > 0) {
      memmove(t->in, t->in + t->in_off, have);
      t->in_off = 0;
      t->in_len = have;
    }
    if (n > t->in_cap - t->in_len) {
      size_t cap = t->in_cap ? t->in_cap : IN_MIN;
      while (cap < have + n)
        cap *= 2;
      if (cap > OHETS_TLS_IN_MAX)
        cap = OHETS_TLS_IN_MAX;
      unsigned char *p = realloc(t->in, cap);
      if (p == NULL)
        return -ENOMEM;
      t->in = p;
      t->in_cap = cap;
    }
  }
  memcpy(t->in + t->in_len, in, n);
  t->in_len += n;
  return 0;
}

long ohets_tls_read(ohets_tls *t, void *out, size_t cap) {
  long got = 0;
  if (t->failed)
    return OHETS_TLS_EFAIL;
  if (t->eof)
    return OHETS_TLS_EOF;
  if (cap > LONG_MAX)
    cap = LONG_MAX;
  err_reset();
  if (!t->done) {
    t->started = 1;
    int r = SSL_do_handshake(t->ssl);
    if (r != 1) {
      int e = SSL_get_error(t->ssl, r);
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
        conn_fail(t);
      goto done;
    }
    if (handshake_finished(t) != 0)
      goto done;
  }
  /* One SSL_read_ex() gives at most one record: loop to fill cap, but not
   * into a call that can only say "want read" (no input left, no
   * plaintext held): that call costs as much as a small record. */
  while ((size_t)got < cap) {
    size_t n = 0;
    if (t->in_off == t->in_len && SSL_pending(t->ssl) == 0 && t->done)
      break;
    if (SSL_read_ex(t->ssl, (unsigned char *)out + got, cap - (size_t)got, &n)) {
      got += (long)n;
      continue;
    }
    int e = SSL_get_error(t->ssl, 0);
    if (e == SSL_ERROR_ZERO_RETURN)
      t->eof = 1;
    else if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
      conn_fail(t);
    break;
  }
done:
  /* Give the input buffer back once OpenSSL has taken it all: an idle
   * connection holds none. */
  if (t->in_off == t->in_len && t->in != NULL) {
    free(t->in);
    t->in = NULL;
    t->in_off = t->in_len = t->in_cap = 0;
  }
  /* The queue is empty here: conn_fail() cleared what a failure left, and
   * nothing else leaves anything (checking again costs on every read). */
  if (got > 0)
    return got;
  return t->failed ? OHETS_TLS_EFAIL : t->eof ? OHETS_TLS_EOF : 0;
}

int ohets_tls_write(ohets_tls *t, const void *p, size_t n) {
  if (t->failed || t->shut || t->sent_shut)
    return -EPIPE;
  if (n == 0)
    return 0;
  if (t->done)
    return write_now(t, p, n);
  /* Before the handshake: kept, and encrypted when it finishes.  Half the
   * output bound, so its records always fit when they are made. */
  if (n > OHETS_TLS_OUT_MAX / 2 - t->early_len)
    return -ENOBUFS;
  unsigned char *e = realloc(t->early, t->early_len + n);
  if (e == NULL)
    return -ENOMEM;
  memcpy(e + t->early_len, p, n);
  t->early = e;
  t->early_len += n;
  return 0;
}

size_t ohets_tls_out(ohets_tls *t, const void **p) {
  tls_chunk *c = t->out_head;
  if (c == NULL) {
    *p = NULL;
    return 0;
  }
  *p = c->data + c->off;
  return c->len - c->off;
}

void ohets_tls_out_consume(ohets_tls *t, size_t n) {
  while (n > 0 && t->out_head != NULL) {
    tls_chunk *c = t->out_head;
    size_t k = c->len - c->off;
    if (k > n)
      k = n;
    c->off += k;
    t->out_pending -= k;
    n -= k;
    if (c->off < c->len)
      break;
    /* Drained: freed even when it is the last, so an idle connection
     * keeps no output buffer. */
    t->out_head = c->next;
    if (t->out_tail == c)
      t->out_tail = NULL;
    free(c);
  }
}

size_t ohets_tls_out_pending(const ohets_tls *t) { return t->out_pending; }

void ohets_tls_shutdown(ohets_tls *t) {
  if (t->sent_shut || t->failed)
    return;
  if (!t->done) {
    t->shut = 1; /* sent when the handshake finishes, after early writes */
    return;
  }
  t->sent_shut = 1;
  err_reset();
  (void)SSL_shutdown(t->ssl); /* 0: ours is queued, the peer's not yet read */
  err_reset();
}

int ohets_tls_handshake_done(const ohets_tls *t) { return t->done; }

int ohets_tls_resumed(const ohets_tls *t) { return t->done && SSL_session_reused(t->ssl); }

const char *ohets_tls_error(const ohets_tls *t) { return t->error; }

const char *ohets_tls_version(const ohets_tls *t) { return t->version ? t->version : ""; }

const char *ohets_tls_cipher(const ohets_tls *t) { return t->cipher ? t->cipher : ""; }

const char *ohets_tls_peer_sha256(const ohets_tls *t) { return t->peer_sha256; }

