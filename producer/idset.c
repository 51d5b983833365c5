/* idset.c - int64 -> row hash map with linear probing (see idset.h). */
#include "producer/idset.h"

#include <stdlib.h>

#define IDSET_FREE INT64_MIN
#define IDSET_MIN_CAP 1024

void idset_init(idset *s) {
    s->keys = NULL;
    s->rows = NULL;
    s->cap = 0;
    s->count = 0;
    s->has_min = false;
    s->min_row = 0;
}

/* Fibonacci hashing spreads sequential ids (the common case) over the table. */
static size_t idset_slot(int64_t id, size_t cap) {
    uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 17) & (cap - 1);
}

/* Finds id's slot, or the free slot where it would go. */
static size_t idset_find(const idset *s, int64_t id) {
    size_t i = idset_slot(id, s->cap);
    while (s->keys[i] != IDSET_FREE && s->keys[i] != id) i = (i + 1) & (s->cap - 1);
    return i;
}

/* Doubles the table (or makes the first one). Returns 0 or -1 on OOM. */
static int idset_grow(idset *s) {
    size_t ncap = s->cap ? s->cap * 2 : IDSET_MIN_CAP;
    int64_t *nkeys = malloc(ncap * sizeof *nkeys);
    uint32_t *nrows = malloc(ncap * sizeof *nrows);
    if (!nkeys || !nrows) {
        free(nkeys);
        free(nrows);
        return -1;
    }
    for (size_t i = 0; i < ncap; i++) nkeys[i] = IDSET_FREE;
    idset n = {nkeys, nrows, ncap, s->count, s->has_min, s->min_row};
    for (size_t i = 0; i < s->cap; i++) {
        if (s->keys[i] == IDSET_FREE) continue;
        size_t j = idset_find(&n, s->keys[i]);
        n.keys[j] = s->keys[i];
        n.rows[j] = s->rows[i];
    }
    free(s->keys);
    free(s->rows);
    *s = n;
    return 0;
}

int idset_add(idset *s, int64_t id, uint32_t row, uint32_t *first_row) {
    if (id == IDSET_FREE) {
        if (s->has_min) {
            if (first_row) *first_row = s->min_row;
            return 1;
        }
        s->has_min = true;
        s->min_row = row;
        return 0;
    }
    if ((s->count + 1) * 2 > s->cap && idset_grow(s) != 0) return -1;
    size_t i = idset_find(s, id);
    if (s->keys[i] == id) {
        if (first_row) *first_row = s->rows[i];
        return 1;
    }
    s->keys[i] = id;
    s->rows[i] = row;
    s->count++;
    return 0;
}

size_t idset_size(const idset *s) { return s->count + (s->has_min ? 1 : 0); }

void idset_free(idset *s) {
    free(s->keys);
    free(s->rows);
    idset_init(s);
}
