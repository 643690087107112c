/* Folded stacks -> one self-contained, interactive HTML flame graph.
 *
 * Folded stacks, the format every ckbtrace tool's -f writes and ckb-flame
 * reads: one stack per line, frames root first, separated by ';', then
 * one space (or tab) and a whole number, the stack's value:
 *
 *     ckb-dbsim;main (ckb-dbsim);rocksdb_get_pinned_cf (ckb-dbsim);GET 50113
 *
 * The value's unit is the tool's (us of latency, samples, us off CPU); a
 * stack may appear on several lines, its values add up.  Empty lines are
 * skipped.  A frame is never empty and never holds ';' or a control
 * character; it may hold spaces (the value follows the last one).
 *
 * A frame says where it comes from by how it ends:
 *
 *     name_[k]         a kernel function (the suffix of flamegraph.pl and
 *                      BCC's profile -a)
 *     name (module)    a user-space function of a mapped file, module being
 *                      its base name ("libc.so.6", "ckb"); "[unknown]" for
 *                      an address with no symbol
 *     name             anything else: the thread or command name at the
 *                      root, an operation ("GET") at the leaf, a state
 *
 * Function names are demangled and carry no "+0x1f" offset, so that calls
 * from different lines of one function fold into one frame.  The kind a
 * frame is coloured by follows from this (flame_kind_of): kernel;
 * RocksDB (a name starting "rocksdb::" or "rocksdb_", or a librocksdb
 * module); a library (a module named like "*.so" or "*.so.*": libc, ld.so,
 * libstdc++); the program's own code (any other module: the node's
 * executable); other (no module).  Tools build frames with
 * flame_frame_user/kernel/label, which apply these rules. */
#ifndef CKBTRACE_FLAME_H
#define CKBTRACE_FLAME_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum flame_kind {
	FLAME_OTHER,
	FLAME_KERNEL,
	FLAME_PROGRAM,
	FLAME_ROCKSDB,
	FLAME_LIB,
	FLAME_NKINDS,
};

/* The largest value a line may carry: JavaScript's exact integers. */
#define FLAME_VALUE_MAX 9007199254740991ull

struct flame;

/* What the page says besides the graph.  title and unit are required
 * (unit as "us of latency", "samples"); note may be NULL. */
struct flame_page {
	const char *title;
	const char *unit;
	const char *note;
};

/* An empty set of stacks, or NULL when out of memory. */
struct flame *flame_new(void);
void flame_free(struct flame *f);

/* Add value to the stack frames[0] (root) .. frames[n-1]; 0, -EINVAL for
 * n == 0 or a frame that breaks the convention, -ENOMEM. */
int flame_add(struct flame *f, const char *const *frames, size_t n,
	      uint64_t value);

/* Add one folded line (no newline needed; a trailing "\r\n" is ignored);
 * 0, -ENODATA for an empty line (nothing added), -EINVAL when the line
 * is not a folded stack (*why, if given, says what is wrong), -ENOMEM. */
int flame_add_folded(struct flame *f, const char *line, const char **why);

/* Add every line of in; 0, or -EINVAL with *lineno (1-based) and *why
 * naming the first bad line, or -ENOMEM / -errno of the read. */
int flame_read(struct flame *f, FILE *in, unsigned long *lineno,
	       const char **why);

/* Sum of all values added. */
uint64_t flame_total(const struct flame *f);

/* Number of distinct stacks (lines flame_write_folded writes). */
size_t flame_stacks(const struct flame *f);

/* Every distinct stack with its summed value, one folded line each,
 * callers before callees; 0, -ENOMEM or -EIO. */
int flame_write_folded(const struct flame *f, FILE *out);

/* The whole page: HTML with the renderer, its styles and the stacks
 * inlined, nothing fetched; 0, -EIO, or -EINVAL for a broken template. */
int flame_write_html(const struct flame *f, FILE *out,
		     const struct flame_page *page);

/* The kind of a frame written by the convention above. */
enum flame_kind flame_kind_of(const char *frame);

/* "kernel", "program", "rocksdb", "lib", "other". */
const char *flame_kind_name(enum flame_kind k);

/* The frame of a symbolized user address into buf: sym ("fn+0x1f" or
 * "[unknown]") without its offset, then " (module)" when module is
 * given.  Returns strlen of the result (truncated to len - 1). */
size_t flame_frame_user(char *buf, size_t len, const char *sym,
			const char *module);

/* A kernel function's frame: "fn_[k]", offset dropped. */
size_t flame_frame_kernel(char *buf, size_t len, const char *sym);

/* A frame that is no function (thread name, operation) as it is, with
 * ';' and control characters replaced. */
size_t flame_frame_label(char *buf, size_t len, const char *text);

#endif
