/* Private: allocation through the caller's hooks. */
#ifndef OHETS_CORE_ALLOC_H
#define OHETS_CORE_ALLOC_H

#include <stddef.h>

#include "openhets/openhets.h"

void *ohets__malloc(size_t n);
void *ohets__calloc(size_t count, size_t size);
void *ohets__realloc(void *p, size_t n);
void ohets__free(void *p);

/* n more bytes at the end of b for the caller to fill: their address, or
 * NULL with *err set (-ENOBUFS past b's bound, -ENOMEM) and b unchanged. */
uint8_t *ohets__buf_extend(ohets_buf *b, size_t n, int *err);

#endif
