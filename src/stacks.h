/* The stacks a tool kept (programs/stacks.bpf.h: by content, under a
 * hash of their addresses), read once and named: user frames through the symbolizer (the process's maps and
 * ELF symbols, C++ and Rust names demangled), kernel frames through
 * /proc/kallsyms (src/ksyms.h).  The output forms the stack tools share:
 * indented text, JSON arrays and folded frames (src/flame.h). */
#ifndef CKBTRACE_STACKS_H
#define CKBTRACE_STACKS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "../programs/stackid.h"

struct sframe {
	const char *fn;		/* demangled function, or "[unknown]" */
	const char *mod;	/* module base name; NULL: a kernel frame */
	uint64_t off;		/* of the address in fn */
};

/* One stack, innermost frame first; n == 0 with why set when the key had
 * no stack ("no stack", "stack map full", "not taken", "not read"). */
struct sstack {
	int n;
	const struct sframe *f;
	const char *why;
	bool kernel;
};

struct stacks;

/* Stacks of map_fd (stack_ips of stacks.bpf.h), user frames of process
 * pid.  NULL when out of memory. */
struct stacks *stacks_new(int map_fd, pid_t pid);
void stacks_free(struct stacks *s);

/* Read the process's maps and the symbols of every file it maps now:
 * the first stacks are named without waiting, and the stacks of a
 * process that exits before the end are named all the same.  0 or
 * -ESRCH. */
int stacks_prepare(struct stacks *s);

/* The process exec()ed or exited: name its stacks in the maps read
 * before (symbolizer_keep()). */
void stacks_keep_maps(struct stacks *s);

/* Queue the stack of a key (a kept stack's key, or a STACK_* reason,
 * which needs nothing).  0 or -ENOMEM. */
int stacks_want(struct stacks *s, uint64_t id, bool kernel);

/* Keep a user stack walked here (src/unwind.h), n addresses innermost
 * first (the first an instruction, the others return addresses), and
 * queue it: *id, with STACK_OWN_BIT, is the same for the same addresses.
 * 0 or -ENOMEM. */
int stacks_put(struct stacks *s, const uint64_t *ips, int n, uint64_t *id);

/* Read every queued stack from the map and name its frames: kernel
 * stacks lose their leading tracing frames (__traceiter_*, perf_trace_*:
 * the tracepoint's own machinery), and kernel names come from one pass
 * over /proc/kallsyms.  0 or -ENOMEM; a stack that cannot be read, or
 * kernel symbols that cannot be (said once on stderr), leave "not read"
 * stacks and "[unknown]" frames. */
int stacks_resolve(struct stacks *s);

/* The stack of an id queued and resolved before (an unknown one has
 * why "not read"). */
struct sstack stacks_get(const struct stacks *s, uint64_t id, bool kernel);

/* Why a key is not a stack, in words; NULL for a stack. */
const char *stacks_why(uint64_t id);

/* Frame i of a stack as "fn+0x1f (module)" or, for a kernel frame,
 * "fn+0x1f"; strlen of the result. */
size_t stacks_frame_text(char *buf, size_t len, const struct sframe *f);

/* Print the frames one a line, innermost first, each after indent
 * spaces, as "fn+0x1f (module)" or without offsets "fn (module)"; a
 * missing stack prints "[<user|kernel> stack: why]" when stacks_shown()
 * says it is worth it. */
void stacks_print(FILE *out, const struct sstack *st, int indent,
		  bool offsets);

/* Does stacks_print() print anything for st?  A stack that was not
 * taken, or the kernel stack of a sample in user mode, prints nothing. */
bool stacks_shown(const struct sstack *st);

/* A JSON array of frame texts, innermost first (empty when missing). */
void stacks_json(FILE *out, const struct sstack *st);

/* The folded frames of a stack, outermost first (src/flame.h's frame
 * convention), into names[at..]: a missing stack is one label, "[user
 * stack: why]", when stacks_shown() says so.
 * Returns the new at (at most max). */
int stacks_fold(const struct sstack *st, char (*names)[256], int at,
		int max);

#endif
