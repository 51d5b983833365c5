/* idset.c - runs of consecutive ids plus a hash map for the rest (see idset.h). */
#include "producer/idset.h"

#include <stdlib.h>

#define IDSET_FREE INT64_MIN
#define IDSET_MIN_CAP 1024
#define IDSET_MIN_RUNS 16

void idset_init(idset *s) { *s = (idset){0}; }

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
    idset n = *s;
    n.keys = nkeys;
    n.rows = nrows;
    n.cap = ncap;
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

/* How far id is from run r's first id (unsigned arithmetic: no overflow). */
static uint64_t idset_run_offset(const idset_run *r, int64_t id) {
    return (uint64_t)id - (uint64_t)r->first;
}

/* Finds id among the runs. Returns 1 and sets *row if it is there, else 0. */
static int idset_in_runs(const idset *s, int64_t id, uint32_t *row) {
    if (s->nruns == 0) return 0;
    const idset_run *last = &s->runs[s->nruns - 1];
    if (id >= last->first) { /* the common case: at or past the newest run */
        if (idset_run_offset(last, id) >= last->count) return 0;
        *row = last->row + (uint32_t)idset_run_offset(last, id);
        return 1;
    }
    size_t lo = 0, hi = s->nruns - 1; /* the last run with first <= id is before hi */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->runs[mid].first <= id) lo = mid + 1;
        else hi = mid;
    }
    if (lo == 0) return 0;
    const idset_run *r = &s->runs[lo - 1];
    if (idset_run_offset(r, id) >= r->count) return 0;
    *row = r->row + (uint32_t)idset_run_offset(r, id);
    return 1;
}

/* Finds id in the hash table. Returns 1 and sets *row if it is there, else 0. */
static int idset_in_table(const idset *s, int64_t id, uint32_t *row) {
    if (id == IDSET_FREE) {
        if (s->has_min) *row = s->min_row;
        return s->has_min;
    }
    if (s->count == 0) return 0;
    size_t i = idset_find(s, id);
    if (s->keys[i] != id) return 0;
    *row = s->rows[i];
    return 1;
}

/* Puts a new id into the hash table. Returns 0, or -1 if out of memory. */
static int idset_table_add(idset *s, int64_t id, uint32_t row) {
    if (id == IDSET_FREE) {
        s->has_min = true;
        s->min_row = row;
        return 0;
    }
    if ((s->count + 1) * 2 > s->cap && idset_grow(s) != 0) return -1;
    size_t i = idset_find(s, id);
    s->keys[i] = id;
    s->rows[i] = row;
    s->count++;
    return 0;
}

/* Starts a new run past all others. Returns 0, or -1 if out of memory. */
static int idset_run_add(idset *s, int64_t id, uint32_t row) {
    if (s->nruns == s->runs_cap) {
        size_t ncap = s->runs_cap ? s->runs_cap * 2 : IDSET_MIN_RUNS;
        idset_run *n = realloc(s->runs, ncap * sizeof *n);
        if (!n) return -1;
        s->runs = n;
        s->runs_cap = ncap;
    }
    s->runs[s->nruns++] = (idset_run){id, row, 1};
    s->in_runs++;
    return 0;
}

int idset_add(idset *s, int64_t id, uint32_t row, uint32_t *first_row) {
    uint32_t seen;
    if (idset_in_runs(s, id, &seen) || idset_in_table(s, id, &seen)) {
        if (first_row) *first_row = seen;
        return 1;
    }
    idset_run *last = s->nruns ? &s->runs[s->nruns - 1] : NULL;
    if (last && last->count < UINT32_MAX && idset_run_offset(last, id) == last->count &&
        row - last->row == last->count) {
        last->count++; /* the next id on the next row */
        s->in_runs++;
        return 0;
    }
    /* Past every run: a new run keeps them ascending; else the table. */
    if (!last || id > last->first)
        return idset_run_add(s, id, row);
    return idset_table_add(s, id, row);
}

size_t idset_size(const idset *s) { return s->in_runs + s->count + (s->has_min ? 1 : 0); }

size_t idset_bytes(const idset *s) {
    return s->runs_cap * sizeof *s->runs + s->cap * (sizeof *s->keys + sizeof *s->rows);
}

void idset_free(idset *s) {
    free(s->runs);
    free(s->keys);
    free(s->rows);
    idset_init(s);
}
