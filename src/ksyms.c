#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ksyms.h"

#define NAME_MAX_LEN 128	/* longer kernel names are cut */

static const char unknown[] = "[unknown]";

struct kent {
	uint64_t addr;		/* the address asked for */
	uint64_t sym;		/* start of the function holding it */
	char *name;		/* NULL: not resolved yet; unknown: none */
};

struct ksyms {
	char path[256];
	struct kent *v;		/* sorted by addr after each resolve */
	size_t n, cap;
	size_t sorted;		/* v[0..sorted) is sorted and unique */
};

struct ksyms *ksyms_new(const char *path)
{
	struct ksyms *k = calloc(1, sizeof(*k));

	if (k)
		snprintf(k->path, sizeof(k->path), "%s",
			 path ? path : "/proc/kallsyms");
	return k;
}

void ksyms_free(struct ksyms *k)
{
	size_t i;

	if (!k)
		return;
	for (i = 0; i < k->n; i++)
		if (k->v[i].name != unknown)
			free(k->v[i].name);
	free(k->v);
	free(k);
}

static const struct kent *find(const struct ksyms *k, uint64_t addr)
{
	size_t lo = 0, hi = k->sorted;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (k->v[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < k->sorted && k->v[lo].addr == addr ? &k->v[lo] : NULL;
}

int ksyms_want(struct ksyms *k, uint64_t addr)
{
	struct kent *n;

	if (find(k, addr))
		return 0;
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 256;

		n = realloc(k->v, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		k->v = n;
		k->cap = cap;
	}
	k->v[k->n++] = (struct kent){ .addr = addr };
	return 0;
}

static int kent_cmp(const void *a, const void *b)
{
	const struct kent *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	/* a resolved copy first, so that it is the one kept */
	return (y->name != NULL) - (x->name != NULL);
}

/* Sort v and drop duplicate addresses. */
static void sort_unique(struct ksyms *k)
{
	size_t i, out = 0;

	if (k->n > 1)	/* v is NULL before the first address */
		qsort(k->v, k->n, sizeof(*k->v), kent_cmp);
	for (i = 0; i < k->n; i++) {
		if (out && k->v[out - 1].addr == k->v[i].addr) {
			if (k->v[i].name && k->v[i].name != unknown)
				free(k->v[i].name);
			continue;
		}
		k->v[out++] = k->v[i];
	}
	k->n = k->sorted = out;
}

/* Index of the first of the n sorted addresses that is >= a. */
static size_t lower_bound(const uint64_t *addrs, size_t n, uint64_t a)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (addrs[mid] < a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* One line of kallsyms: "ffffffff81000000 T name [module]".  True for a
 * function (text) symbol, with its address and name. */
static bool parse_line(char *line, uint64_t *addr, char **name)
{
	char *p, *end;

	*addr = strtoull(line, &end, 16);
	if (end == line || *end != ' ')
		return false;
	p = end + 1;
	if (!strchr("tTwW", *p) || p[1] != ' ')
		return false;
	p += 2;
	p[strcspn(p, " \t\n")] = '\0';
	if (!*p)
		return false;
	*name = p;
	return true;
}

/* The best symbol found so far below each pending address. */
struct best {
	uint64_t sym;
	bool set;
	char name[NAME_MAX_LEN];
};

int ksyms_resolve(struct ksyms *k)
{
	uint64_t *addrs = NULL, a;
	struct best *best = NULL;
	size_t np = 0, i, j, *idx = NULL, cap = 0;
	char *line = NULL, *name;
	bool nonzero = false;
	int err = 0;
	FILE *f;

	sort_unique(k);
	for (i = 0; i < k->n; i++)
		np += !k->v[i].name;
	if (!np)
		return 0;
	addrs = calloc(np, sizeof(*addrs));
	idx = calloc(np, sizeof(*idx));
	best = calloc(np, sizeof(*best));
	if (!addrs || !idx || !best) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0, j = 0; i < k->n; i++)
		if (!k->v[i].name) {
			addrs[j] = k->v[i].addr;
			idx[j++] = i;
		}
	f = fopen(k->path, "re");
	if (!f) {
		err = -errno;
		goto out;
	}
	/* A symbol at a is the best so far for the first pending address
	 * at or above it; the addresses above that one get it through the
	 * running maximum below.  The file need not be sorted. */
	while (getline(&line, &cap, f) > 0) {
		if (!parse_line(line, &a, &name))
			continue;
		nonzero |= a != 0;
		j = lower_bound(addrs, np, a);
		if (j == np || (best[j].set && best[j].sym >= a))
			continue;
		best[j].sym = a;
		best[j].set = true;
		snprintf(best[j].name, sizeof(best[j].name), "%s", name);
	}
	if (ferror(f))
		err = -EIO;
	fclose(f);
	if (!err && !nonzero)
		err = -EPERM;
	if (err)
		goto out;
	for (j = 1; j < np; j++)
		if (best[j - 1].set &&
		    (!best[j].set || best[j - 1].sym > best[j].sym))
			best[j] = best[j - 1];
	for (j = 0; j < np; j++) {
		struct kent *e = &k->v[idx[j]];

		if (best[j].set && addrs[j] - best[j].sym < KSYMS_MAX_OFFSET) {
			e->sym = best[j].sym;
			e->name = strdup(best[j].name);
		}
		if (!e->name)
			e->name = (char *)unknown;
	}
out:
	free(line);
	free(addrs);
	free(idx);
	free(best);
	return err;
}

const char *ksyms_name(const struct ksyms *k, uint64_t addr, uint64_t *off)
{
	const struct kent *e = find(k, addr);

	*off = 0;
	if (!e || !e->name || e->name == unknown)
		return unknown;
	*off = addr - e->sym;
	return e->name;
}
