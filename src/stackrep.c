#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bpfsys.h"
#include "cli.h"
#include "stackrep.h"
#include "ticker.h"
#include "util.h"

#define MAX_FOLD 262	/* thread, 2 labels, 127 user, 127 kernel, leaf */

int stack_rows_add(struct stack_rows *r, const struct stack_row *row,
		   const char *glob)
{
	struct stack_row *n;

	if (glob && fnmatch(glob, row->thread, 0) != 0) {
		r->filtered++;
		r->filtered_value += row->value;
		return 0;
	}
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 256;

		n = realloc(r->v, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		r->v = n;
		r->cap = cap;
	}
	r->v[r->n++] = *row;
	return 0;
}

static int row_cmp(const void *a, const void *b)
{
	const struct stack_row *x = a, *y = b;
	int c;

	if (x->value != y->value)
		return x->value > y->value ? -1 : 1;
	c = strcmp(x->thread, y->thread);
	if (c)
		return c;
	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	if (x->ustack != y->ustack)
		return x->ustack < y->ustack ? -1 : 1;
	if (x->kstack != y->kstack)
		return x->kstack < y->kstack ? -1 : 1;
	return x->state - y->state;
}

void stack_rows_sort(struct stack_rows *r)
{
	if (r->n)
		qsort(r->v, r->n, sizeof(*r->v), row_cmp);
}

int stack_rows_resolve(const struct stack_rows *r, struct stacks *st)
{
	size_t i;
	int err = 0;

	for (i = 0; i < r->n && !err; i++) {
		err = stacks_want(st, r->v[i].ustack, false);
		if (!err)
			err = stacks_want(st, r->v[i].kstack, true);
	}
	return err ? err : stacks_resolve(st);
}

/* What makes rows the same once offsets are set aside: the thread, the
 * state and the functions of both stacks. */
static char *merge_key(const struct stack_row *row, const struct stacks *st)
{
	struct sstack s[2] = { stacks_get(st, row->ustack, false),
			       stacks_get(st, row->kstack, true) };
	char *mem = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&mem, &len);
	int i, k;

	if (!f)
		return NULL;
	fprintf(f, "%s\x1f%u\x1f%d\x1f%s\x1f%s", row->thread, row->tid,
		row->state, row->method ? row->method : "",
		row->end ? row->end : "");
	for (k = 0; k < 2; k++) {
		fprintf(f, "\x1f%s", s[k].n ? "" : s[k].why ? s[k].why : "");
		for (i = 0; i < s[k].n; i++)
			fprintf(f, "\x1e%s\x1d%s", s[k].f[i].fn,
				s[k].f[i].mod ? s[k].f[i].mod : "");
	}
	if (fclose(f) != 0) {
		free(mem);
		return NULL;
	}
	return mem;
}

struct keyed {
	char *key;
	size_t i;
};

static int keyed_cmp(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : (x->i > y->i) - (x->i < y->i);
}

int stack_rows_merge(struct stack_rows *r, const struct stacks *st)
{
	size_t i, n = 0, rows = r->n;
	struct keyed *k = calloc(rows + 1, sizeof(*k));
	struct stack_row *v = calloc(rows + 1, sizeof(*v)), *o;
	int err = k && v ? 0 : -ENOMEM;

	for (i = 0; !err && i < rows; i++) {
		k[i].i = i;
		k[i].key = merge_key(&r->v[i], st);
		if (!k[i].key)
			err = -ENOMEM;
	}
	if (!err) {
		qsort(k, rows, sizeof(*k), keyed_cmp);
		for (i = 0; i < rows; i++) {
			const struct stack_row *in = &r->v[k[i].i];

			if (n && strcmp(k[i - 1].key, k[i].key) == 0) {
				o = &v[n - 1];
				o->count += in->count;
				o->total_ns += in->total_ns;
				o->runq_ns += in->runq_ns;
				o->value += in->value;
				if (in->max_ns > o->max_ns)
					o->max_ns = in->max_ns;
			} else {
				v[n++] = *in;
			}
		}
		free(r->v);
		r->v = v;
		r->n = n;
		r->cap = rows + 1;
		v = NULL;
		stack_rows_sort(r);
	}
	for (i = 0; k && i < rows; i++)
		free(k[i].key);
	free(k);
	free(v);
	return err;
}

uint64_t stack_rows_total(const struct stack_rows *r)
{
	uint64_t t = 0;
	size_t i;

	for (i = 0; i < r->n; i++)
		t += r->v[i].value;
	return t;
}

static void json_stack(FILE *out, const char *name, const struct sstack *s)
{
	fprintf(out, ",\"%s\":", name);
	stacks_json(out, s);
	if (!s->n && s->why)
		fprintf(out, ",\"%s_missing\":\"%s\"", name, s->why);
}

void stack_rows_json(FILE *out, const struct stack_row *row,
		     const struct stacks *st)
{
	struct sstack u = stacks_get(st, row->ustack, false);
	struct sstack k = stacks_get(st, row->kstack, true);

	json_stack(out, "user", &u);
	json_stack(out, "kernel", &k);
	if (row->method)
		fprintf(out, ",\"method\":\"%s\"", row->method);
	if (row->end)
		fprintf(out, ",\"user_end\":\"%s\"", row->end);
}

int stack_rows_fold(const struct stack_rows *r, const struct stacks *st,
		    struct flame *f,
		    const char *(*leaf)(const struct stack_row *row))
{
	static char names[MAX_FOLD][256];
	const char *frames[MAX_FOLD], *l;
	char label[64];
	struct sstack u, k;
	size_t i;
	int n, j, err;

	for (i = 0; i < r->n; i++) {
		const struct stack_row *row = &r->v[i];

		if (!row->value)
			continue;
		u = stacks_get(st, row->ustack, false);
		k = stacks_get(st, row->kstack, true);
		flame_frame_label(names[0], sizeof(names[0]), row->thread);
		n = 1;
		if (row->method && strcmp(row->method, "fp") == 0)
			flame_frame_label(names[n++], sizeof(names[0]), "[fp]");
		if (row->end) {
			snprintf(label, sizeof(label), "[%s]", row->end);
			flame_frame_label(names[n++], sizeof(names[0]), label);
		}
		n = stacks_fold(&u, names, n, MAX_FOLD - 1);
		n = stacks_fold(&k, names, n, MAX_FOLD - 1);
		l = leaf ? leaf(row) : NULL;
		if (l)
			flame_frame_label(names[n++], sizeof(names[0]), l);
		for (j = 0; j < n; j++)
			frames[j] = names[j];
		err = flame_add(f, frames, (size_t)n, row->value);
		if (err)
			return err;
	}
	return 0;
}

void stack_rows_free(struct stack_rows *r)
{
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/* ---- options, the wait, the page ---- */

#define STACK_ENTRIES_DEFAULT 16384
#define STACK_ENTRIES_MAX (1u << 20)
#define ROWS_DEFAULT 16384

void stack_opts_init(struct stack_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->top = 10;
	o->stack_entries = STACK_ENTRIES_DEFAULT;
}

bool stack_opt(struct stack_opts *o, int opt, const char *arg,
	       const char *usage, const char *own)
{
	uint64_t v;

	if (opt != '?' && opt != ':' && opt < 256 && strchr(own, opt))
		return false;
	switch (opt) {
	case 'p': o->topt.pid = cli_pid(arg); return true;
	case 't':
		if (!*arg)
			usage_fail("empty --thread pattern");
		o->thread = arg;
		return true;
	case 'U': o->user_only = true; return true;
	case 'K': o->kernel_only = true; return true;
	case 'f': o->folded = true; return true;
	case 'j': o->json = true; return true;
	case STACK_OPT_FLAME:
		if (!*arg)
			usage_fail("empty --flame file name");
		o->flame_path = arg;
		return true;
	case 'n':
		if (parse_u64(arg, 0, 1000000, &o->top) != 0)
			usage_fail("bad --top '%s': want a whole number of "
				   "stacks (0: all)", arg);
		return true;
	case STACK_OPT_STORAGE:
		if (parse_u64(arg, 1, STACK_ENTRIES_MAX, &v) != 0)
			usage_fail("bad --stack-storage-size '%s': want 1 to "
				   "%u stacks", arg, STACK_ENTRIES_MAX);
		o->stack_entries = v;
		return true;
	case 'd': o->duration = cli_seconds("duration", arg); return true;
	case 'v': verbose = 1; return true;
	case 'E': o->ebpf = true; return true;
	case 'h':
		fputs(usage, stdout);
		exit(0);
	}
	fprintf(stderr, "%s: see %s --help\n", prog_name, prog_name);
	exit(EXIT_USAGE);
}

void stack_opts_args(struct stack_opts *o, int argc, char **argv)
{
	if (optind < argc) {
		if (o->duration)
			usage_fail("duration given twice ('%s' and -d)",
				   argv[optind]);
		o->duration = cli_seconds("duration", argv[optind++]);
	}
	if (optind < argc)
		usage_fail("unexpected argument '%s'", argv[optind]);
	if (o->user_only && o->kernel_only)
		usage_fail("-U and -K are exclusive");
	if (o->folded && o->json)
		usage_fail("-f and -j are exclusive");
}

int stack_cflags(const struct stack_opts *o, char (*buf)[48],
		 const char **cflags)
{
	int i;

	snprintf(buf[0], 48, "-DWANT_USER=%d", !o->kernel_only);
	snprintf(buf[1], 48, "-DWANT_KERNEL=%d", !o->user_only);
	snprintf(buf[2], 48, "-DSTACK_ENTRIES=%llu",
		 (unsigned long long)o->stack_entries);
	snprintf(buf[3], 48, "-DMAX_ROWS=%d", ROWS_DEFAULT);
	for (i = 0; i < 4; i++)
		cflags[i] = buf[i];
	return 4;
}

const char *stack_wait(const struct stack_opts *o, const struct target *t,
		       volatile sig_atomic_t *stop, uint64_t begin_ns)
{
	struct timespec nap = { 0, 50 * 1000 * 1000 };
	uint64_t checked = begin_ns, now;
	const char *reason;

	for (;;) {
		nanosleep(&nap, NULL);
		if (*stop)
			return "signal";
		now = mono_ns();
		reason = run_over(t, begin_ns, o->duration);
		/* a closed pipe ends the run after its first second, not in
		 * the moment the programs are attached */
		if (reason && (strcmp(reason, "output closed") != 0 ||
			       now - begin_ns >= 1000000000ull))
			return reason;
		/* once a second: did the JSON start line reach its place? */
		if (now - checked >= 1000000000ull) {
			checked = now;
			if (out_flush() != 0)
				return "output";
		}
	}
}

int stack_flame_open(const struct stack_opts *o, FILE **out)
{
	*out = NULL;
	if (!o->flame_path)
		return 0;
	*out = fopen(o->flame_path, "we");
	if (*out)
		return 0;
	msg("cannot write %s: %s; try another --flame path", o->flame_path,
	    strerror(errno));
	return 1;
}

int stack_flame_write(const struct stack_opts *o, FILE *out,
		      const struct flame *f, const char *title,
		      const char *unit, const char *note)
{
	struct flame_page page = { title, unit, note };
	int err = flame_write_html(f, out, &page);

	if (fclose(out) != 0 && !err)
		err = -errno;
	if (err) {
		/* no partial page is left to be opened */
		unlink(o->flame_path);
		msg("cannot write %s: %s; %s", o->flame_path, strerror(-err),
		    err == -ENOSPC || err == -EDQUOT ? "free some space or "
		    "write it elsewhere" : "try another --flame path");
		return 1;
	}
	return 0;
}

/* ---- the stacks' counters ---- */

int stack_counts_read(int fd, struct stack_counts *c)
{
	uint32_t i;
	int err;

	for (i = 0; i < STACKC_COUNT; i++) {
		err = bpf_map_sum_u64(fd, &i, &c->v[i]);
		if (err)
			return err;
	}
	return 0;
}

void stack_counts_say(const struct stack_counts *c, uint64_t entries)
{
	if (!c->v[STACKC_USER_FULL] && !c->v[STACKC_KERNEL_FULL])
		return;
	msg("%llu user and %llu kernel stacks not kept: the stack map was "
	    "full (%llu stacks); raise --stack-storage-size",
	    (unsigned long long)c->v[STACKC_USER_FULL],
	    (unsigned long long)c->v[STACKC_KERNEL_FULL],
	    (unsigned long long)entries);
}

void stack_counts_json(FILE *out, const struct stack_counts *c)
{
	fprintf(out, ",\"stacks\":{\"kept\":%llu,\"full\":{\"user\":%llu,"
		"\"kernel\":%llu},\"none\":{\"user\":%llu,\"kernel\":%llu}}",
		(unsigned long long)c->v[STACKC_KEPT],
		(unsigned long long)c->v[STACKC_USER_FULL],
		(unsigned long long)c->v[STACKC_KERNEL_FULL],
		(unsigned long long)c->v[STACKC_USER_NONE],
		(unsigned long long)c->v[STACKC_KERNEL_NONE]);
}
