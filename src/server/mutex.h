/* The mutex for the short hand-offs between the loop and the worker and log
 * threads. */
#ifndef OHETS_SERVER_MUTEX_H
#define OHETS_SERVER_MUTEX_H

#include <pthread.h>

/* Spins a little before it sleeps (glibc's adaptive type where there is
 * one), since a futex sleep costs far more than such a hold. */
void ohets_srv_mutex_init(pthread_mutex_t *mu);

#endif /* OHETS_SERVER_MUTEX_H */
