/* Rows of a stack tool (ckb-offcpu, ckb-profile): a thread, its user and
 * kernel stacks, what was measured there.  Ordering, the --thread
 * filter, and the shared output pieces: JSON stacks, folded frames. */
#ifndef CKBTRACE_STACKREP_H
#define CKBTRACE_STACKREP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>

#include "flame.h"
#include "stacks.h"
#include "target.h"

struct stack_row {
	char thread[17];
	uint32_t tid;		/* 0: a row per thread name */
	char state;		/* 0: none */
	uint64_t ustack, kstack;	/* stack keys, or why not (stackid.h) */
	uint64_t count;		/* blocks or samples */
	uint64_t total_ns, max_ns, runq_ns;	/* off CPU; 0 for samples */
	uint64_t value;		/* what rows are ordered and folded by */
	/* how the user stack was walked, when a run mixes methods: "fp",
	 * "dwarf", NULL (one method); and how a DWARF walk ended when it
	 * did not reach the outermost frame ("truncated", ...), NULL */
	const char *method;
	const char *end;
};

struct stack_rows {
	struct stack_row *v;
	size_t n, cap;
	uint64_t filtered;	/* rows --thread left out */
	uint64_t filtered_value;
};

/* Add a row unless glob (may be NULL) does not match its thread name
 * (fnmatch).  0 or -ENOMEM. */
int stack_rows_add(struct stack_rows *r, const struct stack_row *row,
		   const char *glob);

/* Largest value first; ties by thread, tid, stacks. */
void stack_rows_sort(struct stack_rows *r);

/* Queue every row's stacks and name them (stacks_resolve()). */
int stack_rows_resolve(const struct stack_rows *r, struct stacks *st);

/* Merge the rows whose thread, state, method, end and stacks' functions
 * are the same (the stacks of two rows may differ in offsets only): counts, totals and
 * values add up, max is the larger; each merged row keeps the stack ids
 * of one of its rows.  Sorted again.  0 or -ENOMEM. */
int stack_rows_merge(struct stack_rows *r, const struct stacks *st);

uint64_t stack_rows_total(const struct stack_rows *r);

/* ,"user":[...],"kernel":[...] and, for a missing stack,
 * ,"user_missing":"why"; ,"method":"fp" and ,"user_end":"truncated"
 * when the row says (JSON members of a row object). */
void stack_rows_json(FILE *out, const struct stack_row *row,
		     const struct stacks *st);

/* Add each row's value to f: the thread name, "[fp]" for a user stack
 * walked by frame pointers in a run that mixes methods, "[end]" for a
 * walk that ended early, the user frames and the kernel frames from the
 * outermost in, then leaf (a label, may be NULL or return NULL) of the
 * row.  Rows of value 0 are skipped.  0, or the
 * first error of flame_add(). */
int stack_rows_fold(const struct stack_rows *r, const struct stacks *st,
		    struct flame *f,
		    const char *(*leaf)(const struct stack_row *row));

void stack_rows_free(struct stack_rows *r);

/* The counters of programs/stacks.bpf.h, summed over the CPUs. */
struct stack_counts {
	uint64_t v[STACKC_COUNT];	/* STACKC_* */
};

/* Read them from the stack_counts map: 0 or -errno. */
int stack_counts_read(int fd, struct stack_counts *c);

/* When the stack map was full: one line saying how many stacks it could
 * not keep, and the remedy (--stack-storage-size, now entries). */
void stack_counts_say(const struct stack_counts *c, uint64_t entries);

/* ,"stacks":{"kept":..,"full":{"user":..,"kernel":..},"none":{...}}
 * (a JSON member of a summary object). */
void stack_counts_json(FILE *out, const struct stack_counts *c);

/* ---- what both tools share on the command line and at the end ---- */

struct stack_opts {
	struct target_opts topt;
	const char *thread;	/* --thread GLOB, NULL: every thread */
	bool user_only, kernel_only;
	bool folded, json, ebpf;
	const char *flame_path;	/* --flame FILE */
	uint64_t top;		/* stacks in the text report, 0: all */
	uint64_t stack_entries;	/* --stack-storage-size */
	double duration;	/* 0: until a signal */
};

/* The long options both take; their letters are "p:t:UKfjn:d:vh" and
 * the values 'F'+256 (--flame), 'S'+256 (--stack-storage-size),
 * 'E' (--ebpf). */
#define STACK_OPT_FLAME (256 + 'F')
#define STACK_OPT_STORAGE (256 + 'S')
#define STACK_LONGS							\
	{ "pid", required_argument, NULL, 'p' },			\
	{ "thread", required_argument, NULL, 't' },			\
	{ "user-stacks-only", no_argument, NULL, 'U' },			\
	{ "kernel-stacks-only", no_argument, NULL, 'K' },		\
	{ "folded", no_argument, NULL, 'f' },				\
	{ "json", no_argument, NULL, 'j' },				\
	{ "flame", required_argument, NULL, STACK_OPT_FLAME },		\
	{ "top", required_argument, NULL, 'n' },			\
	{ "stack-storage-size", required_argument, NULL,		\
	  STACK_OPT_STORAGE },						\
	{ "duration", required_argument, NULL, 'd' },			\
	{ "verbose", no_argument, NULL, 'v' },				\
	{ "ebpf", no_argument, NULL, 'E' },				\
	{ "help", no_argument, NULL, 'h' }
#define STACK_SHORTS "p:t:UKfjn:d:vh"

void stack_opts_init(struct stack_opts *o);

/* Take one of the shared options (-h prints usage and exits 0; an
 * unknown option exits 2).  False when opt is the tool's own. */
bool stack_opt(struct stack_opts *o, int opt, const char *arg,
	       const char *usage, const char *own);

/* After the options: [duration], then the checks between options. */
void stack_opts_args(struct stack_opts *o, int argc, char **argv);

/* The -D flags of the shared options into buf[0..3] (WANT_USER,
 * WANT_KERNEL, STACK_ENTRIES, MAX_ROWS); returns 4. */
int stack_cflags(const struct stack_opts *o, char (*buf)[48],
		 const char **cflags);

/* From begin_ns (attached), wait until a signal sets *stop, the duration
 * passes, the target exits or exec()s, standard output fails (checked
 * once a second) or, after the first second, its pipe has no reader any
 * more; the reason ("signal", run_over()'s, "output"). */
const char *stack_wait(const struct stack_opts *o, const struct target *t,
		       volatile sig_atomic_t *stop, uint64_t begin_ns);

/* --flame: open the page's file now, so that a bad path fails before
 * anything is attached; 0, or 1 after saying why. */
int stack_flame_open(const struct stack_opts *o, FILE **out);

/* Write the page and close it; 0, or 1 after saying why (and removing
 * the partial file). */
int stack_flame_write(const struct stack_opts *o, FILE *out,
		      const struct flame *f, const char *title,
		      const char *unit, const char *note);

#endif
