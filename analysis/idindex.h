/* idindex.h - an open-addressing hash index from event id to array position.
 *
 * The index stores only 32-bit positions (4 bytes a slot, at most half full),
 * not the keys: the id of position p is read from the caller's array, as the
 * int64_t at offset 0 of element p (base + p * stride). That keeps the cost of
 * indexing millions of events at 8-16 bytes each. Linear probing; ids are
 * mixed with the splitmix64 finalizer so sequential ids spread evenly. */
#ifndef GK_IDINDEX_H
#define GK_IDINDEX_H
#include <stddef.h>
#include <stdint.h>

#define IDINDEX_NONE UINT32_MAX /* "not found" position */
#define IDINDEX_MAX_POS (UINT32_MAX - 1u)

typedef struct {
    uint32_t *slots; /* position + 1, or 0 for an empty slot */
    size_t cap;      /* number of slots, a power of two (0 before the first insert) */
    size_t count;    /* positions stored */
} idindex;

/* Prepares an empty index (no allocation yet). */
void idindex_init(idindex *ix);

/* Frees the slots; the index is empty again afterwards. */
void idindex_free(idindex *ix);

/* Returns the position stored for id, or IDINDEX_NONE. base/stride describe
 * the caller's array as it is now (it may have moved since the insert). */
uint32_t idindex_find(const idindex *ix, int64_t id, const void *base, size_t stride);

/* Stores pos for id, which must not be in the index yet; the element at pos
 * must already hold id. Returns 0, or -1 if memory ran out or pos is too large. */
int idindex_insert(idindex *ix, int64_t id, uint32_t pos, const void *base, size_t stride);

#endif
