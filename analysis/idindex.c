/* idindex.c - open-addressing event id index (see idindex.h). */
#include "analysis/idindex.h"

#include <stdlib.h>
#include <string.h>

static uint64_t idindex_hash(int64_t id) {
    uint64_t x = (uint64_t)id;
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

/* The id stored in the caller's element at pos. */
static int64_t idindex_key(const void *base, size_t stride, uint32_t pos) {
    int64_t id;
    memcpy(&id, (const char *)base + (size_t)pos * stride, sizeof id);
    return id;
}

void idindex_init(idindex *ix) {
    ix->slots = NULL;
    ix->cap = 0;
    ix->count = 0;
}

void idindex_free(idindex *ix) {
    free(ix->slots);
    idindex_init(ix);
}

uint32_t idindex_find(const idindex *ix, int64_t id, const void *base, size_t stride) {
    if (ix->cap == 0) return IDINDEX_NONE;
    size_t mask = ix->cap - 1;
    for (size_t i = (size_t)idindex_hash(id) & mask;; i = (i + 1) & mask) {
        uint32_t s = ix->slots[i];
        if (s == 0) return IDINDEX_NONE;
        if (idindex_key(base, stride, s - 1) == id) return s - 1;
    }
}

/* Places pos into the first free slot of its probe sequence. */
static void idindex_place(uint32_t *slots, size_t cap, int64_t id, uint32_t pos) {
    size_t mask = cap - 1;
    size_t i = (size_t)idindex_hash(id) & mask;
    while (slots[i] != 0) i = (i + 1) & mask;
    slots[i] = pos + 1;
}

/* Doubles the slot array (or makes the first one) and re-places every position. */
static int idindex_grow(idindex *ix, const void *base, size_t stride) {
    size_t ncap = ix->cap ? ix->cap * 2 : 1024;
    uint32_t *ns = calloc(ncap, sizeof *ns);
    if (!ns) return -1;
    for (size_t i = 0; i < ix->cap; i++) {
        uint32_t s = ix->slots[i];
        if (s) idindex_place(ns, ncap, idindex_key(base, stride, s - 1), s - 1);
    }
    free(ix->slots);
    ix->slots = ns;
    ix->cap = ncap;
    return 0;
}

int idindex_insert(idindex *ix, int64_t id, uint32_t pos, const void *base, size_t stride) {
    if (pos > IDINDEX_MAX_POS) return -1;
    /* At most half full: short probe sequences even for clustered ids. */
    if ((ix->count + 1) * 2 > ix->cap && idindex_grow(ix, base, stride) != 0) return -1;
    idindex_place(ix->slots, ix->cap, id, pos);
    ix->count++;
    return 0;
}
