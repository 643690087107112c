#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bpfsys.h"
#include "flame.h"
#include "ksyms.h"
#include "report.h"
#include "stacks.h"
#include "symbolize.h"
#include "util.h"

#define STACK_DEPTH STACK_MAX_DEPTH

static const char unknown[] = "[unknown]";

struct sent {
	uint64_t id;
	bool kernel;
	bool done;
	int n;
	struct sframe *f;
	const char *why;
	uint64_t *own;		/* stacks_put(): the addresses */
	int nown;
};

struct stacks {
	int fd;
	pid_t pid;
	struct sent *v;
	uint32_t n, cap;
	uint32_t *index;	/* 1 + index into v, 0: free; a power of two */
	uint32_t icap;		/* at most half full */
	uint32_t *owned;	/* the same for stacks_put()'s by content */
	uint32_t ocap, nowned;
	char **names;		/* interned strings, open addressing */
	uint32_t nnames, ncap;
	struct symbolizer *sym;
	struct ksyms *ks;
	bool ks_said;
};

struct stacks *stacks_new(int map_fd, pid_t pid)
{
	struct stacks *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->fd = map_fd;
	s->pid = pid;
	s->sym = symbolizer_new();
	s->ks = ksyms_new(NULL);
	if (!s->sym || !s->ks) {
		stacks_free(s);
		return NULL;
	}
	return s;
}

void stacks_free(struct stacks *s)
{
	uint32_t i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++) {
		free(s->v[i].f);
		free(s->v[i].own);
	}
	free(s->owned);
	for (i = 0; i < s->ncap; i++)
		free(s->names[i]);
	free(s->names);
	free(s->v);
	free(s->index);
	symbolizer_free(s->sym);
	ksyms_free(s->ks);
	free(s);
}

int stacks_prepare(struct stacks *s)
{
	return symbolizer_prepare(s->sym, s->pid);
}

void stacks_keep_maps(struct stacks *s)
{
	symbolizer_keep(s->sym, s->pid);
}

static uint32_t hash32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352d;
	x ^= x >> 15;
	x *= 0x846ca68b;
	return x ^ (x >> 16);
}

static uint32_t key_hash(uint64_t id, bool kernel)
{
	return hash32((uint32_t)(id ^ (id >> 32)) * 2 + kernel);
}

static bool is_stack(uint64_t id)
{
	return (id & (STACK_KEY_BIT | STACK_OWN_BIT)) != 0;
}

static struct sent *lookup(const struct stacks *s, uint64_t id, bool kernel)
{
	uint32_t i, k;

	if (!s->icap)
		return NULL;
	for (i = key_hash(id, kernel) & (s->icap - 1);; i = (i + 1) & (s->icap - 1)) {
		k = s->index[i];
		if (!k)
			return NULL;
		if (s->v[k - 1].id == id && s->v[k - 1].kernel == kernel)
			return &s->v[k - 1];
	}
}

static int index_grow(struct stacks *s)
{
	uint32_t cap = s->icap ? s->icap * 2 : 256, i, j, *n;
	struct sent *e;

	n = calloc(cap, sizeof(*n));
	if (!n)
		return -ENOMEM;
	for (i = 0; i < s->n; i++) {
		e = &s->v[i];
		for (j = key_hash(e->id, e->kernel) & (cap - 1); n[j];
		     j = (j + 1) & (cap - 1))
			;
		n[j] = i + 1;
	}
	free(s->index);
	s->index = n;
	s->icap = cap;
	return 0;
}

int stacks_want(struct stacks *s, uint64_t id, bool kernel)
{
	struct sent *v;
	uint32_t j;

	if (!is_stack(id) || lookup(s, id, kernel))
		return 0;
	if ((s->n + 1) * 2 > s->icap && index_grow(s) != 0)
		return -ENOMEM;
	if (s->n == s->cap) {
		uint32_t cap = s->cap ? s->cap * 2 : 256;

		v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n] = (struct sent){ .id = id, .kernel = kernel };
	for (j = key_hash(id, kernel) & (s->icap - 1); s->index[j];
	     j = (j + 1) & (s->icap - 1))
		;
	s->index[j] = ++s->n;
	return 0;
}

static uint32_t ips_hash(const uint64_t *ips, int n)
{
	uint64_t h = 1469598103934665603ull;
	int i;

	for (i = 0; i < n; i++)
		h = (h ^ ips[i]) * 1099511628211ull;
	return hash32((uint32_t)(h ^ (h >> 32)) ^ (uint32_t)n);
}

static int owned_grow(struct stacks *s)
{
	uint32_t cap = s->ocap ? s->ocap * 2 : 256, i, j, *n;
	struct sent *e;

	n = calloc(cap, sizeof(*n));
	if (!n)
		return -ENOMEM;
	for (i = 0; i < s->n; i++) {
		e = &s->v[i];
		if (!e->own)
			continue;
		for (j = ips_hash(e->own, e->nown) & (cap - 1); n[j];
		     j = (j + 1) & (cap - 1))
			;
		n[j] = i + 1;
	}
	free(s->owned);
	s->owned = n;
	s->ocap = cap;
	return 0;
}

int stacks_put(struct stacks *s, const uint64_t *ips, int n, uint64_t *id)
{
	uint32_t j, k;
	struct sent *e;
	int err;

	if (n < 0 || n > STACK_DEPTH)
		n = n < 0 ? 0 : STACK_DEPTH;
	if ((s->nowned + 1) * 2 > s->ocap && owned_grow(s) != 0)
		return -ENOMEM;
	for (j = ips_hash(ips, n) & (s->ocap - 1); (k = s->owned[j]);
	     j = (j + 1) & (s->ocap - 1)) {
		e = &s->v[k - 1];
		if (e->nown == n &&
		    memcmp(e->own, ips, (size_t)n * sizeof(*ips)) == 0) {
			*id = e->id;
			return 0;
		}
	}
	*id = STACK_OWN_BIT | s->nowned;
	err = stacks_want(s, *id, false);
	if (err)
		return err;
	e = lookup(s, *id, false);
	e->own = malloc((size_t)(n ? n : 1) * sizeof(*ips));
	if (!e->own)
		return -ENOMEM;
	memcpy(e->own, ips, (size_t)n * sizeof(*ips));
	e->nown = n;
	s->owned[j] = (uint32_t)(e - s->v) + 1;
	s->nowned++;
	return 0;
}

/* One copy of every function and module name. */
static const char *intern(struct stacks *s, const char *name)
{
	uint32_t h = 2166136261u, i, cap, k;
	const char *p;
	char **n;

	if ((s->nnames + 1) * 2 > s->ncap) {
		cap = s->ncap ? s->ncap * 2 : 1024;
		n = calloc(cap, sizeof(*n));
		if (!n)
			return unknown;
		for (k = 0; k < s->ncap; k++) {
			if (!s->names[k])
				continue;
			h = 2166136261u;
			for (p = s->names[k]; *p; p++)
				h = (h ^ (unsigned char)*p) * 16777619u;
			for (i = h & (cap - 1); n[i]; i = (i + 1) & (cap - 1))
				;
			n[i] = s->names[k];
		}
		free(s->names);
		s->names = n;
		s->ncap = cap;
		h = 2166136261u;
	}
	for (p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	for (i = h & (s->ncap - 1); s->names[i]; i = (i + 1) & (s->ncap - 1))
		if (strcmp(s->names[i], name) == 0)
			return s->names[i];
	s->names[i] = strdup(name);
	if (!s->names[i])
		return unknown;
	s->nnames++;
	return s->names[i];
}

/* Machinery of the tracepoint itself, above the function that hit it. */
static bool tracing_frame(const char *fn)
{
	static const char *const prefixes[] = {
		"__traceiter_", "__bpf_trace_", "perf_trace_", "bpf_trace_run",
		"trace_call_bpf",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (strncmp(fn, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}

/* Callers' addresses are return addresses: the call is the byte before,
 * which may be the last of another function (a noreturn call). */
static uint64_t lookup_addr(const uint64_t *ips, int i)
{
	return i ? ips[i] - 1 : ips[i];
}

static void name_user(struct stacks *s, struct sent *e, const uint64_t *ips,
		      int n)
{
	char buf[1024], mod[256], *plus;
	unsigned long long off;
	int i;

	for (i = 0; i < n; i++) {
		struct sframe *f = &e->f[i];

		symbolize(s->sym, s->pid, lookup_addr(ips, i), buf, sizeof(buf),
			  mod, sizeof(mod));
		off = 0;
		plus = strrchr(buf, '+');
		if (plus && strncmp(plus, "+0x", 3) == 0) {
			off = strtoull(plus + 3, NULL, 16);
			*plus = '\0';
		}
		f->fn = intern(s, buf);
		f->mod = intern(s, mod);
		f->off = strcmp(buf, unknown) ? off + (i ? 1 : 0) : 0;
	}
	e->n = n;
}

static void name_kernel(struct stacks *s, struct sent *e, const uint64_t *ips,
			int n)
{
	const char *fn;
	uint64_t off;
	int i, k = 0;

	for (i = 0; i < n; i++) {
		fn = ksyms_name(s->ks, lookup_addr(ips, i), &off);
		if (k == 0 && tracing_frame(fn))
			continue;
		e->f[k].fn = intern(s, fn);
		e->f[k].mod = NULL;
		e->f[k].off = fn != unknown && strcmp(fn, unknown) ?
			      off + (i ? 1 : 0) : 0;
		k++;
	}
	e->n = k;
}

/* Read each pending stack (from the map, or stacks_put()'s copy).  User
 * stacks are named at once; kernel stacks keep their addresses (only as
 * many as they have) in ips[i] until /proc/kallsyms has been read. */
static int read_pending(struct stacks *s, uint64_t **ips, int *depth)
{
	struct stack_ips kept;
	uint64_t *buf = (uint64_t *)kept.ip;
	uint32_t i;
	int d;

	for (i = 0; i < s->n; i++) {
		struct sent *e = &s->v[i];

		ips[i] = NULL;
		if (e->done)
			continue;
		memset(&kept, 0, sizeof(kept));
		if (e->own) {
			memcpy(buf, e->own, (size_t)e->nown * sizeof(uint64_t));
			kept.nr = (uint64_t)e->nown;
		} else if (bpf_map_get(s->fd, &e->id, &kept) != 0) {
			e->why = "not read";
			e->done = true;
			continue;
		}
		for (d = 0; d < STACK_DEPTH && (uint64_t)d < kept.nr && buf[d]; d++)
			if (e->kernel && ksyms_want(s->ks, lookup_addr(buf, d)))
				return -ENOMEM;
		e->f = calloc((size_t)d + 1, sizeof(*e->f));
		if (!e->f)
			return -ENOMEM;
		if (!e->kernel) {
			name_user(s, e, buf, d);
			e->done = true;
			continue;
		}
		ips[i] = malloc(((size_t)d + 1) * sizeof(uint64_t));
		if (!ips[i])
			return -ENOMEM;
		memcpy(ips[i], buf, (size_t)d * sizeof(uint64_t));
		depth[i] = d;
	}
	return 0;
}

int stacks_resolve(struct stacks *s)
{
	uint64_t **ips = calloc(s->n + 1, sizeof(*ips));
	int *depth = calloc(s->n + 1, sizeof(*depth));
	int err = ips && depth ? 0 : -ENOMEM, kerr;
	uint32_t i;

	if (!err)
		err = read_pending(s, ips, depth);
	if (!err) {
		kerr = ksyms_resolve(s->ks);
		/* the frames say "[unknown]"; why, only with -v: a tool run
		 * with CAP_BPF and CAP_PERFMON but not as root sees zeros */
		if (kerr && !s->ks_said) {
			s->ks_said = true;
			if (kerr == -EPERM)
				vmsg("kernel frames are [unknown]: /proc/kallsyms "
				    "shows no addresses (kernel.kptr_restrict); "
				    "run as root");
			else
				vmsg("kernel frames are [unknown]: cannot read "
				    "/proc/kallsyms: %s", strerror(-kerr));
		}
	}
	for (i = 0; !err && i < s->n; i++) {
		struct sent *e = &s->v[i];

		if (e->done || !ips[i])
			continue;
		name_kernel(s, e, ips[i], depth[i]);
		e->done = true;
	}
	for (i = 0; ips && i < s->n; i++)
		free(ips[i]);
	free(ips);
	free(depth);
	return err;
}

const char *stacks_why(uint64_t id)
{
	if (is_stack(id))
		return NULL;
	switch (id) {
	case STACK_NONE: return "no stack";
	case STACK_FULL: return "stack map full";
	case STACK_NOT_TAKEN: return "not taken";
	}
	return "not read";
}

struct sstack stacks_get(const struct stacks *s, uint64_t id, bool kernel)
{
	struct sstack st = { .kernel = kernel };
	const struct sent *e;

	if (!is_stack(id)) {
		st.why = stacks_why(id);
		return st;
	}
	e = lookup(s, id, kernel);
	if (!e || !e->done || e->why) {
		st.why = e && e->why ? e->why : "not read";
		return st;
	}
	st.n = e->n;
	st.f = e->f;
	return st;
}

size_t stacks_frame_text(char *buf, size_t len, const struct sframe *f)
{
	int n;

	if (strcmp(f->fn, unknown) == 0)
		n = snprintf(buf, len, "%s", f->fn);
	else
		n = snprintf(buf, len, "%s+0x%llx", f->fn,
			     (unsigned long long)f->off);
	if (f->mod && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, " (%s)", f->mod);
	if (n < 0)
		return 0;
	return (size_t)n < len ? (size_t)n : len - 1;
}

/* Is a missing stack worth a line or a frame?  Not when the tool was told
 * not to take it, nor a kernel stack of a sample in user mode. */
static bool missing_shown(const struct sstack *st)
{
	return !st->n && st->why && strcmp(st->why, "not taken") != 0 &&
	       !(st->kernel && strcmp(st->why, "no stack") == 0);
}

void stacks_print(FILE *out, const struct sstack *st, int indent,
		  bool offsets)
{
	char buf[1400];
	int i;

	if (missing_shown(st))
		fprintf(out, "%*s[%s stack: %s]\n", indent, "",
			st->kernel ? "kernel" : "user", st->why);
	for (i = 0; i < st->n; i++) {
		if (offsets)
			stacks_frame_text(buf, sizeof(buf), &st->f[i]);
		else if (st->kernel)
			snprintf(buf, sizeof(buf), "%s", st->f[i].fn);
		else
			snprintf(buf, sizeof(buf), "%s (%s)", st->f[i].fn,
				 st->f[i].mod);
		fprintf(out, "%*s%s\n", indent, "", buf);
	}
}

bool stacks_shown(const struct sstack *st)
{
	return st->n || missing_shown(st);
}

void stacks_json(FILE *out, const struct sstack *st)
{
	char buf[1400];
	int i;

	fputc('[', out);
	for (i = 0; i < st->n; i++) {
		stacks_frame_text(buf, sizeof(buf), &st->f[i]);
		if (i)
			fputc(',', out);
		json_string(out, buf);
	}
	fputc(']', out);
}

int stacks_fold(const struct sstack *st, char (*names)[256], int at, int max)
{
	char label[64];
	int i;

	if (!st->n) {
		if (!missing_shown(st) || at >= max)
			return at;
		snprintf(label, sizeof(label), "[%s stack: %s]",
			 st->kernel ? "kernel" : "user", st->why);
		flame_frame_label(names[at], 256, label);
		return at + 1;
	}
	for (i = st->n - 1; i >= 0 && at < max; i--, at++) {
		if (st->kernel)
			flame_frame_kernel(names[at], 256, st->f[i].fn);
		else
			flame_frame_user(names[at], 256, st->f[i].fn,
					 st->f[i].mod);
	}
	return at;
}
