/* The core's allocator hooks (see ohets_set_alloc_funcs). */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

static ohets_malloc_fn do_malloc = malloc;
static ohets_realloc_fn do_realloc = realloc;
static ohets_free_fn do_free = free;

void ohets_set_alloc_funcs(ohets_malloc_fn m, ohets_realloc_fn r, ohets_free_fn f) {
  do_malloc = m ? m : malloc;
  do_realloc = r ? r : realloc;
  do_free = f ? f : free;
}

void *ohets__malloc(size_t n) { return do_malloc(n ? n : 1); }

void *ohets__calloc(size_t count, size_t size) {
  if (size != 0 && count > SIZE_MAX / size)
    return NULL;
  void *p = ohets__malloc(count * size);
  if (p != NULL)
    memset(p, 0, count * size);
  return p;
}

void *ohets__realloc(void *p, size_t n) { return do_realloc(p, n ? n : 1); }

void ohets__free(void *p) {
  if (p != NULL)
    do_free(p);
}
