/* grow.c - growable arrays (see grow.h). */
#include "common/grow.h"

#include <stdlib.h>

void *grow_one(void *items, size_t n, size_t *cap, size_t elem_size, size_t first) {
    if (n < *cap) return items;
    size_t ncap = *cap ? *cap * 2 : first;
    void *p = realloc(items, ncap * elem_size);
    if (p) *cap = ncap;
    return p;
}
