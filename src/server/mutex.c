/* The mutex kind for the loop's hand-offs (mutex.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* PTHREAD_MUTEX_ADAPTIVE_NP */
#endif
#include <pthread.h>

#include "server/mutex.h"

void ohets_srv_mutex_init(pthread_mutex_t *mu) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
#ifdef PTHREAD_MUTEX_ADAPTIVE_NP
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
#endif
  pthread_mutex_init(mu, &attr);
  pthread_mutexattr_destroy(&attr);
}
