/* Kernel addresses -> function names through /proc/kallsyms.
 *
 * The table is never held in memory (it has 100k+ lines): the addresses
 * a tool needs are queued with ksyms_want(), and ksyms_resolve() names
 * every queued one in a single pass over the file.  Names stay cached,
 * so later passes read the file only for new addresses. */
#ifndef CKBTRACE_KSYMS_H
#define CKBTRACE_KSYMS_H

#include <stddef.h>
#include <stdint.h>

/* An address farther than this past the nearest symbol below it is not
 * named (no kernel function is this long). */
#define KSYMS_MAX_OFFSET (1u << 20)

struct ksyms;

/* A resolver reading path (NULL: /proc/kallsyms), or NULL when out of
 * memory. */
struct ksyms *ksyms_new(const char *path);
void ksyms_free(struct ksyms *k);

/* Queue addr for the next ksyms_resolve().  0 or -ENOMEM. */
int ksyms_want(struct ksyms *k, uint64_t addr);

/* Name every queued address in one pass over the file.  0; -EPERM when
 * the file shows only zero addresses (kptr_restrict: not root); -errno
 * when it cannot be read. */
int ksyms_resolve(struct ksyms *k);

/* The function holding addr: its name ("[unknown]" when none, or when
 * addr was never resolved) and, in *off, addr's offset in it.  The name
 * lives as long as k. */
const char *ksyms_name(const struct ksyms *k, uint64_t addr, uint64_t *off);

#endif
