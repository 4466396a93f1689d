/* The TLS engine: OpenSSL 3 over in-memory BIOs, for openhetsd's listeners
 * and for hets-query / hets-load (DESIGN §12).
 *
 * It owns no socket, no event loop and no thread.  Its owner moves bytes:
 *
 *   socket bytes in  ->  ohets_tls_feed()  ->  ohets_tls_read()  -> plaintext
 *   plaintext        ->  ohets_tls_write() ->  ohets_tls_out()   -> socket
 *
 * so a libuv loop can drive it without ever blocking.  The handshake is
 * driven by ohets_tls_read() (and, on a client, started by
 * ohets_tls_connect()); after every call that may have produced records
 * (read, write, connect, shutdown) the owner sends what ohets_tls_out()
 * returns.
 *
 * A transport's loop, in outline:
 *
 *   accept/connect: t = ohets_tls_new(ctx); client: ohets_tls_connect(t); flush
 *   bytes from the socket:
 *     ohets_tls_feed(t, buf, n);
 *     while ((r = ohets_tls_read(t, plain, sizeof plain)) > 0) give r bytes to the door;
 *     flush;  then r == OHETS_TLS_EOF: the peer closed; OHETS_TLS_EFAIL: close
 *   an answer: ohets_tls_write(t, p, n); flush
 *   flush: while ((k = ohets_tls_out(t, &q)) > 0) { send q[0..k); ohets_tls_out_consume(t, sent); }
 *
 * (ohets_tls_handshake_done() turning 1 after a read is the moment to log
 * the version, cipher and peer certificate.)
 *
 * One connection (ohets_tls) is used by one thread at a time; a context
 * (ohets_tls_ctx) may be shared by threads (hets-load's loops).  The
 * engine leaves the thread's OpenSSL error queue empty and clears it
 * itself if it finds something there.
 *
 * Functions return 0 or a negative errno unless they say otherwise.  No
 * error string ever holds application bytes (no PHI): only OpenSSL's
 * reason, the certificate check's reason and file names. */
#ifndef OHETS_TLS_TLS_H
#define OHETS_TLS_TLS_H

#include <stddef.h>

typedef struct ohets_tls_ctx ohets_tls_ctx; /* an SSL_CTX and its settings; reference counted */
typedef struct ohets_tls ohets_tls;         /* one connection */

typedef enum {
  OHETS_TLS_CLIENT_CERT_NONE,     /* no CertificateRequest */
  OHETS_TLS_CLIENT_CERT_OPTIONAL, /* asked for; none is fine, a bad one fails */
  OHETS_TLS_CLIENT_CERT_REQUIRED  /* the handshake fails without one that chains to ca */
} ohets_tls_client_cert;

typedef struct ohets_tls_settings {
  const char *cert, *key, *ca; /* PEM files; ca may be NULL (then client_cert must be NONE) */
  ohets_tls_client_cert client_cert;
  int min_version; /* 12 or 13 */
} ohets_tls_settings;

/* Statuses of ohets_tls_read(): negative, and far from any -errno. */
#define OHETS_TLS_EOF (-1001)  /* the peer's close_notify arrived */
#define OHETS_TLS_EFAIL (-1002) /* handshake or record failure; see ohets_tls_error() */

/* Pending ciphertext past this fails the connection (a hard stop for a peer
 * that makes us write without reading); ohets_tls_write() refuses a
 * plaintext that would cross it with -ENOBUFS.  The owner's own
 * backpressure (stop reading while its writes are queued) keeps far below. */
#define OHETS_TLS_OUT_MAX ((size_t)128 << 20)
/* Fed ciphertext not yet read past this: ohets_tls_feed() says -ENOBUFS. */
#define OHETS_TLS_IN_MAX ((size_t)4 << 20)

/* ------------------------------------------------------------ contexts */

/* Server context: certificate chain + key (checked to match; an encrypted
 * key is refused, never prompted for), CA for client certificates, TLS 1.2
 * minimum (1.3 preferred), the server's cipher preference, session tickets
 * on, renegotiation off, no compression.  On failure returns a negative
 * errno (-ENOENT, -EACCES for a file that cannot be opened, -EINVAL for a
 * bad file or setting, -ENOMEM) and writes one line into err naming the
 * file and OpenSSL's reason. */
int ohets_tls_ctx_server(ohets_tls_ctx **out, const ohets_tls_settings *s, char *err,
                         size_t errsz);

/* Client context for the tools: optional client certificate and key (both
 * or neither), ca to verify the server (NULL: the server is NOT verified,
 * any certificate is accepted), TLS 1.2 minimum.  Errors as above. */
int ohets_tls_ctx_client(ohets_tls_ctx **out, const char *cert, const char *key,
                         const char *ca, char *err, size_t errsz);

/* Client contexts only: keep the last session ticket the server sent and
 * offer it on the next ohets_tls_connect() (off by default, so each
 * connection makes a full handshake).  Call before sharing the context. */
void ohets_tls_ctx_set_resume(ohets_tls_ctx *c, int on);

/* References: SIGHUP swaps a listener's context; open connections keep
 * theirs.  hold returns c; release frees it with the last reference. */
ohets_tls_ctx *ohets_tls_ctx_hold(ohets_tls_ctx *c);
void ohets_tls_ctx_release(ohets_tls_ctx *c);

/* ------------------------------------------------------------ connections */

/* A connection, server or client by the context; holds a reference to it.
 * NULL when out of memory. */
ohets_tls *ohets_tls_new(ohets_tls_ctx *ctx);
void ohets_tls_free(ohets_tls *t);

/* Client: the name or address the server's certificate must carry (checked
 * only when the context has a ca); a name is also sent as SNI.  Before
 * ohets_tls_connect(). */
int ohets_tls_set_host(ohets_tls *t, const char *host);

/* Client: starts the handshake (the ClientHello goes into the out buffer). */
int ohets_tls_connect(ohets_tls *t);

/* Ciphertext read from the socket; copied.  Returns 0, -ENOMEM, or
 * -ENOBUFS past OHETS_TLS_IN_MAX unread (read first). */
int ohets_tls_feed(ohets_tls *t, const void *in, size_t n);

/* Drives the handshake and decrypts: copies up to cap plaintext bytes into
 * out.  Returns >0 bytes, 0 nothing more for now (feed more), or
 * OHETS_TLS_EOF (peer's close_notify) or OHETS_TLS_EFAIL (handshake or
 * record failure; ohets_tls_error() says why in one line).  Call it after
 * each feed until it returns <= 0 (plaintext can remain when cap is
 * filled); then send ohets_tls_out(), which may hold handshake records,
 * tickets, alerts.  EOF and EFAIL are sticky; after EFAIL the out buffer
 * may hold an alert for the peer (send it if you can, then close). */
long ohets_tls_read(ohets_tls *t, void *out, size_t cap);

/* Encrypts all of p[0..n) into the out buffer, or nothing: -EPIPE after a
 * failure or ohets_tls_shutdown(), -ENOBUFS past OHETS_TLS_OUT_MAX,
 * -ENOMEM, -EPROTO (ohets_tls_error() says why).  Before the handshake is
 * done the plaintext is kept (up to half OHETS_TLS_OUT_MAX) and encrypted
 * as soon as it is. */
int ohets_tls_write(ohets_tls *t, const void *p, size_t n);

/* Ciphertext to send: *p and the length of the oldest pending run (0, *p
 * NULL: nothing).  Several runs may be pending: send, consume, call again
 * until it returns 0.  Bytes returned stay at their address, unchanged,
 * until consumed, whatever else is called meanwhile (so they may be handed
 * to uv_write() and consumed in its callback). */
size_t ohets_tls_out(ohets_tls *t, const void **p);
/* Drops the first n pending bytes (sent). */
void ohets_tls_out_consume(ohets_tls *t, size_t n);
/* All ciphertext pending, in bytes. */
size_t ohets_tls_out_pending(const ohets_tls *t);

/* Queues close_notify (once; nothing before the handshake is done). Later
 * writes fail with -EPIPE; reading the peer's remaining bytes still works. */
void ohets_tls_shutdown(ohets_tls *t);

int ohets_tls_handshake_done(const ohets_tls *t);
/* 1 when the handshake resumed a session (a ticket) instead of a full one. */
int ohets_tls_resumed(const ohets_tls *t);
/* Why the connection failed, one line ("" before any failure). */
const char *ohets_tls_error(const ohets_tls *t);

/* After the handshake ("" before): "TLSv1.3", the cipher's name, and the
 * peer certificate's SHA-256 as 64 lower-case hex digits ("" when the peer
 * sent none).  On a resumed session the peer certificate is the one of the
 * original handshake. */
const char *ohets_tls_version(const ohets_tls *t);
const char *ohets_tls_cipher(const ohets_tls *t);
const char *ohets_tls_peer_sha256(const ohets_tls *t);


#endif
