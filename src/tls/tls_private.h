/* Private to src/tls and its unit test: the OpenSSL connection under an
 * engine, so a test can act as a misbehaving peer (renegotiate, cap the
 * version) with the same engine code on both ends.  Nothing else uses it. */
#ifndef OHETS_TLS_PRIVATE_H
#define OHETS_TLS_PRIVATE_H

#include <openssl/ssl.h>

#include "tls/tls.h"

SSL *ohets_tls__ssl(ohets_tls *t);

#endif
